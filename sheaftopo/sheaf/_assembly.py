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

_AHEAD = 2  # incidences between the prefetch of an edge's maps and their use
_META_AHEAD = 6  # the same for the edge's offsets and weight (read to find its maps)


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


@nb.njit(cache=True, inline="always")
def _prefetch_ahead(t, last, adj_eid, eoff, tail, toff, head, hoff, w):
    """Prefetch what incidence t + _AHEAD (its maps) and t + _META_AHEAD (its offsets) read.

    The edges of a vertex lie at random places in the edge arrays; waiting
    for them, not arithmetic, took most of the assembly time.
    """
    if t + _META_AHEAD < last:
        f = adj_eid[t + _META_AHEAD]
        _prefetch(toff, f)
        _prefetch(hoff, f)
        _prefetch(eoff, f + 1)
        _prefetch(w, f)
    if t + _AHEAD < last:
        f = adj_eid[t + _AHEAD]
        _prefetch_range(tail, toff[f], toff[f + 1])
        _prefetch_range(head, hoff[f], hoff[f + 1])


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


_ONE = np.uint64(1)
_TWO = np.uint64(2)
_THREE = np.uint64(3)
_FOUR = np.uint64(4)


@nb.njit(cache=True, inline="always")
def _dot4(A, a0, lda, B, b0, ldb, n, w, s0, s1, s2, s3):
    """Add sum_{k < n} (w A[a0 + k lda]) B[b0 + k ldb + c] to s_c, c = 0..3.

    Offsets are uint64 (numba then indexes without the negative-index fix-up,
    which blocks vectorisation) and the four sums stay in registers.
    """
    for k in range(n):
        a = w * A[a0 + k * lda]
        r = b0 + k * ldb
        s0 += a * B[r]
        s1 += a * B[r + _ONE]
        s2 += a * B[r + _TWO]
        s3 += a * B[r + _THREE]
    return s0, s1, s2, s3


@nb.njit(cache=True, inline="always")
def _dot1(A, a0, lda, B, b0, ldb, n, w, s):
    """Add sum_{k < n} (w A[a0 + k lda]) B[b0 + k ldb] to s."""
    for k in range(n):
        s += (w * A[a0 + k * lda]) * B[b0 + k * ldb]
    return s


@nb.njit(cache=True, inline="always")
def _side_map(tail, toff, head, hoff, e, side):
    """(array, uint64 offset) of F_{x<=e}, x the tail (side 0) or head (side 1) of e."""
    if side == 0:
        return tail, np.uint64(toff[e])
    return head, np.uint64(hoff[e])


@nb.njit(cache=True, inline="always")
def _gram_row(out, base, i, dq, A, a0, lda, B, b0, ldb, de, w):
    """Row i of w A^T B (A: de x lda at a0, B: de x ldb at b0) added to out[base + i dq:][:dq]."""
    o = base + i * dq
    j = np.uint64(0)
    while j + _FOUR <= dq:
        s0, s1, s2, s3 = _dot4(A, a0 + i, lda, B, b0 + j, ldb, de, w,
                               out[o + j], out[o + j + _ONE], out[o + j + _TWO],
                               out[o + j + _THREE])
        out[o + j] = s0
        out[o + j + _ONE] = s1
        out[o + j + _TWO] = s2
        out[o + j + _THREE] = s3
        j += _FOUR
    while j < dq:
        out[o + j] = _dot1(A, a0 + i, lda, B, b0 + j, ldb, de, w, out[o + j])
        j += _ONE


@nb.njit(cache=True, inline="always")
def _put_block(blk, dp, dq, sign, col0, indptr, r0, row_len, c0, indices, data):
    """Write sign * blk (dp x dq) into rows r0 + i row_len, from column slot c0; column ids col0 + j."""
    for i in range(dp):
        base = r0 + i * row_len + c0
        o = i * dq
        for j in range(dq):
            indices[base + j] = col0 + j
            data[base + j] = sign * blk[o + j]


@nb.njit(cache=True, inline="always")
def _diag_block(p, dp, adj_ptr, adj_eid, adj_side, eoff, tail, toff, head, hoff, w, out, o):
    """D_p = sum_e w_e F_{p<=e}^T F_{p<=e} (dp x dp, row-major) into out[o:].

    Each entry is summed over p's incidences in order, then over the rows k
    of the maps: the order of the textbook loop.
    """
    for i in range(dp * dp):
        out[o + i] = 0.0
    last = adj_eid.shape[0]
    for t in range(adj_ptr[p], adj_ptr[p + 1]):
        _prefetch_ahead(t, last, adj_eid, eoff, tail, toff, head, hoff, w)
        e = adj_eid[t]
        A, a0 = _side_map(tail, toff, head, hoff, e, adj_side[t])
        de = np.uint64(eoff[e + 1] - eoff[e])
        for i in range(dp):
            _gram_row(out, o, i, dp, A, a0, dp, A, a0, dp, de, w[e])


@nb.njit(cache=True, parallel=True)
def vertex_blocks(voff, adj_ptr, adj_eid, adj_side, eoff, tail, toff, head, hoff, w, boff, out):
    """Diagonal blocks D_v = sum_e w_e F_{v<=e}^T F_{v<=e}, row-major at ``out[boff[v]:]``."""
    n = voff.shape[0] - 1
    for p in nb.prange(n):
        _diag_block(p, np.uint64(voff[p + 1] - voff[p]), adj_ptr, adj_eid, adj_side, eoff, tail,
                    toff, head, hoff, w, out, np.uint64(boff[p]))


@nb.njit(cache=True)
def _laplacian_block_row(p, voff, adj_ptr, adj_dst, adj_eid, adj_side, eoff, tail, toff, head,
                         hoff, w, S, soff, use_s, indptr, indices, data, blk, diag, tmp):
    """Block row p of :func:`laplacian_csr`."""
    dp = np.uint64(voff[p + 1] - voff[p])
    if dp == 0:
        return
    r0 = np.uint64(indptr[voff[p]])
    row_len = np.uint64(indptr[voff[p] + 1]) - r0
    zero = np.uint64(0)
    col = zero
    diag_col = zero
    diag_seen = False
    for i in range(dp * dp):
        diag[i] = 0.0
    last = adj_eid.shape[0]
    for t in range(adj_ptr[p], adj_ptr[p + 1]):
        _prefetch_ahead(t, last, adj_eid, eoff, tail, toff, head, hoff, w)
        q = adj_dst[t]
        e = adj_eid[t]
        dq = np.uint64(voff[q + 1] - voff[q])
        de = np.uint64(eoff[e + 1] - eoff[e])
        if not diag_seen and q > p:
            diag_col = col
            diag_seen = True
            col += dp
        A, a0 = _side_map(tail, toff, head, hoff, e, adj_side[t])
        B, b0 = _side_map(tail, toff, head, hoff, e, 1 - adj_side[t])
        for i in range(dp * dq):
            blk[i] = 0.0
        for i in range(dp):
            _gram_row(blk, zero, i, dq, A, a0, dp, B, b0, dq, de, w[e])
        # D_p accumulates over p's incidences in order, then over k (the textbook order)
        for i in range(dp):
            _gram_row(diag, zero, i, dp, A, a0, dp, A, a0, dp, de, w[e])
        if use_s:
            _sandwich(S, soff, p, np.int64(dp), blk, q, np.int64(dq), tmp)
        _put_block(blk, dp, dq, -1.0, np.uint64(voff[q]), indptr, r0, row_len, col, indices, data)
        col += dq
    if not diag_seen:
        diag_col = col
    if use_s:
        _sandwich(S, soff, p, np.int64(dp), diag, p, np.int64(dp), tmp)
    _put_block(diag, dp, dp, 1.0, np.uint64(voff[p]), indptr, r0, row_len, diag_col,
               indices, data)


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
    waiting for them took half the time), four entries of a row at a time in
    registers, and written straight to its final place (the diagonal block
    goes between the neighbours below p and those above). Each entry is
    summed in the order of the textbook loop (edges by neighbour, then the
    rows k of the maps), whatever the thread count. Block rows go to the
    threads in contiguous chunks, each chunk with its own scratch; the output
    is first touched there, by all threads.
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
