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
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

_AHEAD = 2  # incidences between a prefetch and the use of its maps


@intrinsic
def _prefetch(typingctx, arr, i):
    """Hint the CPU to fetch ``arr[i]``'s cache line (a no-op for the result)."""
    sig = nb.types.void(arr, i)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        # declare_intrinsic mangles the name from the pointer type itself
        # ("llvm.prefetch.p0i8" with typed pointers, "llvm.prefetch.p0" with opaque ones)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        )
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@nb.njit(cache=True, inline="always")
def _prefetch_range(arr, lo, hi):
    """Prefetch the cache lines of ``arr[lo:hi]``."""
    for b in range(lo, hi, 8):
        _prefetch(arr, b)
    if hi > lo:
        _prefetch(arr, hi - 1)


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


@nb.njit(cache=True)
def incidence(u, v, n):
    """Per vertex, its incident edges sorted by neighbour, by two counting sorts (O(n + m)).

    Returns ``(ptr, dst, eid, side)``: vertex p's incidences are
    ``ptr[p]:ptr[p + 1]``, each the neighbour, the edge and whether p is the
    edge's tail (0) or head (1). Incidence ``i < m`` is edge i seen from its
    tail, ``i >= m`` edge ``i - m`` from its head; sorting them by neighbour
    (least significant key) and then, stably, by vertex orders every row by
    neighbour (the graph is simple: no ties).
    """
    m = u.shape[0]
    cnt = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        cnt[v[e] + 1] += 1
        cnt[u[e] + 1] += 1
    for p in range(n):
        cnt[p + 1] += cnt[p]
    ptr = cnt.copy()
    by_dst = np.empty(2 * m, dtype=np.int64)
    for i in range(2 * m):
        d = v[i] if i < m else u[i - m]
        by_dst[cnt[d]] = i
        cnt[d] += 1
    # the same counts by source: a vertex's degree is its count either way
    cnt[:] = ptr
    dst = np.empty(2 * m, dtype=np.int64)
    eid = np.empty(2 * m, dtype=np.int64)
    side = np.empty(2 * m, dtype=np.int64)
    for i in by_dst:
        if i < m:
            src, d, e, s = u[i], v[i], i, 0
        else:
            src, d, e, s = v[i - m], u[i - m], i - m, 1
        pos = cnt[src]
        cnt[src] += 1
        dst[pos] = d
        eid[pos] = e
        side[pos] = s
    return ptr, dst, eid, side


@nb.njit(cache=True, inline="always")
def _sandwich(S, soff, a, da, B, b, db, tmp):
    """B <- S_a @ B @ S_b, B (da x db) row-major in a flat array, S_x row-major at S[soff[x]:]."""
    for i in range(da):
        for j in range(db):
            acc = 0.0
            for t in range(da):
                acc += S[soff[a] + i * da + t] * B[t * db + j]
            tmp[i * db + j] = acc
    for i in range(da):
        for j in range(db):
            acc = 0.0
            for t in range(db):
                acc += tmp[i * db + t] * S[soff[b] + t * db + j]
            B[i * db + j] = acc


@nb.njit(cache=True)
def _max_dims(voff, eoff):
    dmax = 0
    for p in range(voff.shape[0] - 1):
        dmax = max(dmax, voff[p + 1] - voff[p])
    emax = 0
    for e in range(eoff.shape[0] - 1):
        emax = max(emax, eoff[e + 1] - eoff[e])
    return max(dmax, 1), max(emax, 1)


@nb.njit(cache=True, inline="always")
def _map_at(tail, toff, head, hoff, e, side, size):
    """F_{x<=e} (flat, row-major, ``size`` numbers), x the tail (side 0) or head (side 1) of e."""
    if side == 0:
        return tail[toff[e] : toff[e] + size]
    return head[hoff[e] : hoff[e] + size]


@nb.njit(cache=True, parallel=True)
def vertex_blocks(voff, adj_ptr, adj_eid, adj_side, eoff, tail, toff, head, hoff, w, boff, out):
    """Diagonal blocks D_v = sum_e w_e F_{v<=e}^T F_{v<=e}, row-major at ``out[boff[v]:]``."""
    n = voff.shape[0] - 1
    for p in nb.prange(n):
        dp = voff[p + 1] - voff[p]
        o = boff[p]
        for i in range(dp * dp):
            out[o + i] = 0.0
        for t in range(adj_ptr[p], adj_ptr[p + 1]):
            e = adj_eid[t]
            de = eoff[e + 1] - eoff[e]
            Fp = _map_at(tail, toff, head, hoff, e, adj_side[t], de * dp)
            we = w[e]
            for k in range(de):
                for i in range(dp):
                    fi = we * Fp[k * dp + i]
                    for j in range(dp):
                        out[o + i * dp + j] += fi * Fp[k * dp + j]


@nb.njit(cache=True)
def _laplacian_block_row(p, voff, adj_ptr, adj_dst, adj_eid, adj_side, eoff, tail, toff, head,
                         hoff, w, S, soff, use_s, indptr, indices, data, blk, diag, tmp):
    """Block row p of :func:`laplacian_csr`."""
    dp = voff[p + 1] - voff[p]
    if dp == 0:
        return
    r0 = indptr[voff[p]]
    row_len = indptr[voff[p] + 1] - r0
    for i in range(dp * dp):
        diag[i] = 0.0
    col = 0
    diag_col = -1
    for t in range(adj_ptr[p], adj_ptr[p + 1]):
        if t + _AHEAD < adj_eid.shape[0]:
            # the maps of a later incidence lie at a random place: ask for them now
            nxt = adj_eid[t + _AHEAD]
            _prefetch_range(tail, toff[nxt], toff[nxt + 1])
            _prefetch_range(head, hoff[nxt], hoff[nxt + 1])
        q = adj_dst[t]
        e = adj_eid[t]
        dq = voff[q + 1] - voff[q]
        de = eoff[e + 1] - eoff[e]
        if diag_col < 0 and q > p:
            diag_col = col
            col += dp
        # views: indices from fixed ranges are known non-negative (no wraparound code)
        Fp = _map_at(tail, toff, head, hoff, e, adj_side[t], de * dp)
        Fq = _map_at(tail, toff, head, hoff, e, 1 - adj_side[t], de * dq)
        we = w[e]
        for i in range(dp * dq):
            blk[i] = 0.0
        for k in range(de):
            for i in range(dp):
                fi = we * Fp[k * dp + i]
                for j in range(dp):
                    diag[i * dp + j] += fi * Fp[k * dp + j]
                for j in range(dq):
                    blk[i * dq + j] += fi * Fq[k * dq + j]
        if use_s:
            _sandwich(S, soff, p, dp, blk, q, dq, tmp)
        for i in range(dp):
            base = r0 + i * row_len + col
            for j in range(dq):
                indices[base + j] = voff[q] + j
                data[base + j] = -blk[i * dq + j]
        col += dq
    if diag_col < 0:
        diag_col = col
    if use_s:
        _sandwich(S, soff, p, dp, diag, p, dp, tmp)
    for i in range(dp):
        base = r0 + i * row_len + diag_col
        for j in range(dp):
            indices[base + j] = voff[p] + j
            data[base + j] = diag[i * dp + j]


@nb.njit(cache=True, parallel=True)
def laplacian_csr(voff, adj_ptr, adj_dst, adj_eid, adj_side, eoff, tail, toff, head, hoff,
                  w, S, soff, use_s, indptr, indices, data):
    """Fill the CSR arrays of L = delta^T W delta (or S L S), block row by block row.

    Block (p, p) is sum_e w_e F_{p<=e}^T F_{p<=e}; block (p, q) for the edge e
    joining them is -w_e F_{p<=e}^T F_{q<=e}. With ``use_s`` every block
    (p, q) becomes S_p B S_q (the normalised Laplacian, S = D^{+1/2}).
    ``adj_*`` list, for every vertex, its incident edges sorted by neighbour.

    Every row of block row p has the same column pattern; each block is
    computed once, reading the maps where they lie (those of the incidence
    ``_AHEAD`` places on are prefetched: they are scattered in memory and
    waiting for them took half the time), and written straight to its final
    place (the diagonal block goes between the neighbours below p and those
    above). Each entry is summed in the order of the textbook loop (edges by
    neighbour, then the rows k of the maps), whatever the thread count.
    Block rows go to the threads in contiguous chunks, each chunk with
    its own scratch; the output is first touched there, by all threads.
    """
    n = voff.shape[0] - 1
    dmax, _ = _max_dims(voff, eoff)
    nchunks = min(n, 1024)
    for c in nb.prange(nchunks):
        blk = np.empty(dmax * dmax)
        diag = np.empty(dmax * dmax)
        tmp = np.empty(dmax * dmax)
        for p in range(n * c // nchunks, n * (c + 1) // nchunks):
            _laplacian_block_row(p, voff, adj_ptr, adj_dst, adj_eid, adj_side, eoff, tail, toff,
                                 head, hoff, w, S, soff, use_s, indptr, indices, data,
                                 blk, diag, tmp)


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
