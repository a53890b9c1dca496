"""numba kernels that assemble sheaf operators straight into CSR arrays.

Layout shared by every kernel (see :class:`~sheaftopo.sheaf.CellularSheaf`):

* vertex ``v`` owns the coordinates ``voff[v] : voff[v + 1]`` of a 0-cochain
  (``voff[v + 1] - voff[v] = d_v``), edge ``e`` the coordinates
  ``eoff[e] : eoff[e + 1]`` of a 1-cochain;
* the maps of edge ``e = (u, v)`` are stored row-major in flat arrays:
  ``F_{u<=e}`` (d_e x d_u) at ``tail[toff[e]:]``, ``F_{v<=e}`` (d_e x d_v) at
  ``head[hoff[e]:]``;
* ``(delta x)_e = F_{v<=e} x_v - F_{u<=e} x_u`` (head minus tail).

Every row of every output lists its column indices in increasing order, so
the arrays form a canonical CSR matrix without any sorting pass.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def coboundary_csr(u, v, voff, eoff, tail, toff, head, hoff, indptr, indices, data):
    """Fill the CSR arrays of the coboundary (rows: edge stalks, columns: vertex stalks)."""
    m = u.shape[0]
    for e in nb.prange(m):
        a = u[e]
        b = v[e]
        da = voff[a + 1] - voff[a]
        db = voff[b + 1] - voff[b]
        de = eoff[e + 1] - eoff[e]
        for i in range(de):
            pos = indptr[eoff[e] + i]
            # columns in increasing order: the lower-numbered endpoint first
            for side in range(2):
                first_is_tail = a < b
                is_tail = first_is_tail if side == 0 else not first_is_tail
                if is_tail:
                    for j in range(da):
                        indices[pos] = voff[a] + j
                        data[pos] = -tail[toff[e] + i * da + j]
                        pos += 1
                else:
                    for j in range(db):
                        indices[pos] = voff[b] + j
                        data[pos] = head[hoff[e] + i * db + j]
                        pos += 1


@nb.njit(cache=True, inline="always")
def _load(tail, toff, head, hoff, e, side, de, dx, out):
    """Copy F_{x<=e} (de x dx), x the tail (side 0) or head (side 1) of e, into ``out``."""
    src = tail if side == 0 else head
    off = toff[e] if side == 0 else hoff[e]
    for k in range(de):
        for j in range(dx):
            out[k, j] = src[off + k * dx + j]


@nb.njit(cache=True, inline="always")
def _sandwich(S, soff, a, da, B, b, db, tmp):
    """B[:da, :db] <- S_a @ B @ S_b (S_x row-major at S[soff[x]:])."""
    for i in range(da):
        for j in range(db):
            acc = 0.0
            for t in range(da):
                acc += S[soff[a] + i * da + t] * B[t, j]
            tmp[i, j] = acc
    for i in range(da):
        for j in range(db):
            acc = 0.0
            for t in range(db):
                acc += tmp[i, t] * S[soff[b] + t * db + j]
            B[i, j] = acc


@nb.njit(cache=True)
def _vertex_block(p, dp, adj_ptr, adj_eid, adj_side, eoff, tail, toff, head, hoff, w, out, Fp):
    """out[:dp, :dp] = sum over edges e at p of w_e F_{p<=e}^T F_{p<=e}."""
    for i in range(dp):
        for j in range(dp):
            out[i, j] = 0.0
    for t in range(adj_ptr[p], adj_ptr[p + 1]):
        e = adj_eid[t]
        de = eoff[e + 1] - eoff[e]
        _load(tail, toff, head, hoff, e, adj_side[t], de, dp, Fp)
        we = w[e]
        for k in range(de):
            for i in range(dp):
                fi = we * Fp[k, i]
                if fi != 0.0:
                    for j in range(dp):
                        out[i, j] += fi * Fp[k, j]


@nb.njit(cache=True)
def _max_dims(voff, eoff):
    dmax = 0
    for p in range(voff.shape[0] - 1):
        dmax = max(dmax, voff[p + 1] - voff[p])
    emax = 0
    for e in range(eoff.shape[0] - 1):
        emax = max(emax, eoff[e + 1] - eoff[e])
    return max(dmax, 1), max(emax, 1)


@nb.njit(cache=True, parallel=True)
def vertex_blocks(voff, adj_ptr, adj_eid, adj_side, eoff, tail, toff, head, hoff, w, boff, out):
    """Diagonal blocks D_v = sum_e w_e F_{v<=e}^T F_{v<=e}, row-major at ``out[boff[v]:]``."""
    n = voff.shape[0] - 1
    dmax, emax = _max_dims(voff, eoff)
    for p in nb.prange(n):
        dp = voff[p + 1] - voff[p]
        blk = np.empty((dp, dp))
        Fp = np.empty((emax, dmax))
        _vertex_block(p, dp, adj_ptr, adj_eid, adj_side, eoff, tail, toff, head, hoff, w, blk,
                      Fp)
        for i in range(dp):
            for j in range(dp):
                out[boff[p] + i * dp + j] = blk[i, j]


@nb.njit(cache=True, parallel=True)
def laplacian_csr(voff, adj_ptr, adj_dst, adj_eid, adj_side, eoff, tail, toff, head, hoff,
                  w, S, soff, use_s, indptr, indices, data):
    """Fill the CSR arrays of L = delta^T W delta (or S L S), block row by block row.

    Block (p, p) is sum_e w_e F_{p<=e}^T F_{p<=e}; block (p, q) for the edge e
    joining them is -w_e F_{p<=e}^T F_{q<=e}. With ``use_s`` every block
    (p, q) becomes S_p B S_q (the normalised Laplacian, S = D^{+1/2}).
    ``adj_*`` list, for every vertex, its incident edges sorted by neighbour.
    Every row of block row p has the same column pattern, so each block is
    computed once and written row by row; p's own maps are read once (they
    are scattered in memory: the reads, not the arithmetic, bound this kernel).
    """
    n = voff.shape[0] - 1
    dmax, emax = _max_dims(voff, eoff)
    for p in nb.prange(n):
        dp = voff[p + 1] - voff[p]
        a0 = adj_ptr[p]
        deg = adj_ptr[p + 1] - a0
        Fps = np.empty((max(deg, 1), emax, dmax))
        Fq = np.empty((emax, dmax))
        blk = np.empty((dmax, dmax))
        tmp = np.empty((dmax, dmax))
        diag = np.zeros((dmax, dmax))
        for t in range(deg):
            e = adj_eid[a0 + t]
            de = eoff[e + 1] - eoff[e]
            _load(tail, toff, head, hoff, e, adj_side[a0 + t], de, dp, Fps[t])
            we = w[e]
            for k in range(de):
                for i in range(dp):
                    fi = we * Fps[t, k, i]
                    if fi != 0.0:
                        for j in range(dp):
                            diag[i, j] += fi * Fps[t, k, j]
        if use_s:
            _sandwich(S, soff, p, dp, diag, p, dp, tmp)
        col = 0
        wrote_diag = False
        for t in range(deg + 1):
            if not wrote_diag and (t == deg or adj_dst[a0 + t] > p):
                for i in range(dp):
                    base = indptr[voff[p] + i] + col
                    for j in range(dp):
                        indices[base + j] = voff[p] + j
                        data[base + j] = diag[i, j]
                col += dp
                wrote_diag = True
            if t == deg:
                break
            q = adj_dst[a0 + t]
            e = adj_eid[a0 + t]
            de = eoff[e + 1] - eoff[e]
            dq = voff[q + 1] - voff[q]
            _load(tail, toff, head, hoff, e, 1 - adj_side[a0 + t], de, dq, Fq)
            for i in range(dp):
                for j in range(dq):
                    blk[i, j] = 0.0
            we = w[e]
            for k in range(de):
                for i in range(dp):
                    fi = we * Fps[t, k, i]
                    if fi != 0.0:
                        for j in range(dq):
                            blk[i, j] += fi * Fq[k, j]
            if use_s:
                _sandwich(S, soff, p, dp, blk, q, dq, tmp)
            for i in range(dp):
                base = indptr[voff[p] + i] + col
                for j in range(dq):
                    indices[base + j] = voff[q] + j
                    data[base + j] = -blk[i, j]
            col += dq


@nb.njit(cache=True, parallel=True)
def csr_matmat(indptr, indices, data, X, out):
    """out = A @ X for A in CSR and a dense (n, k) block, rows in parallel."""
    n = indptr.shape[0] - 1
    k = X.shape[1]
    for r in nb.prange(n):
        for c in range(k):
            out[r, c] = 0.0
        for t in range(indptr[r], indptr[r + 1]):
            a = data[t]
            j = indices[t]
            for c in range(k):
                out[r, c] += a * X[j, c]
