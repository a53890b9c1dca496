"""numba kernels that assemble sheaf operators straight into CSR arrays.

Every kernel takes the sheaf as a :class:`~sheaftopo.sheaf._layouts.SheafLayout`
(see :class:`~sheaftopo.sheaf.CellularSheaf`) and writes into a
:class:`~sheaftopo.sheaf._layouts.CSRArrays`; its arrays are read by name:

* vertex ``v`` owns the coordinates ``vertex_offsets[v] : vertex_offsets[v + 1]``
  of a 0-cochain (d_v of them), edge ``e`` the coordinates
  ``edge_offsets[e] : edge_offsets[e + 1]`` of a 1-cochain;
* the maps of edge ``e = (u, v)`` are stored row-major in flat arrays:
  ``F_{u<=e}`` (d_e x d_u) at ``tail[tail_offsets[e]:]``, ``F_{v<=e}`` (d_e x d_v)
  at ``head[head_offsets[e]:]``;
* ``(delta x)_e = F_{v<=e} x_v - F_{u<=e} x_u`` (head minus tail).

Inside the kernels these arrays get the short local names ``voff``, ``eoff``,
``toff``, ``hoff``. Every row of every output lists its column indices in
increasing order, so the arrays form a canonical CSR matrix without any
sorting pass. The vector row operations and the prefetch come from
:func:`~sheaftopo.sheaf._simd.row_ops` (hand-written LLVM IR, or plain numba).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numba as nb
import numpy as np

from ._simd import row_ops

_AHEAD = 2  # incidences between the prefetch of an edge's maps and their use
_SEG = 256  # columns of a block row computed before they are written out
_META_AHEAD = 6  # the same for the edge's offsets and weight (read to find its maps)
_ONE = np.uint64(1)
_FOUR = np.uint64(4)
_EIGHT = np.uint64(8)

#: the row operations every kernel below calls, chosen once when this module loads
ROW_OPS = row_ops()
_prefetch = ROW_OPS.prefetch
_row_axpy = ROW_OPS.row_axpy
_row_add = ROW_OPS.row_add


class Scratch(NamedTuple):
    """Per-thread work arrays of the Laplacian kernel (float64 unless said).

    ``buf`` (dmax x seg): off-diagonal blocks of a block row before they are
    written out; ``ibuf`` (seg, the index dtype): their column ids; ``diag``
    (dmax x dmax): the diagonal block; ``tmp`` (dmax x dmax): S_a B in the
    normalised sandwich.
    """

    buf: np.ndarray
    ibuf: np.ndarray
    diag: np.ndarray
    tmp: np.ndarray


@nb.njit(cache=True, inline="always")
def _prefetch_range(arr, lo, hi):
    """Prefetch the cache lines of ``arr[lo:hi]`` (uint64 bounds)."""
    for b in range(lo, hi, _EIGHT):
        _prefetch(arr, b)
    if hi > lo:
        _prefetch(arr, hi - _ONE)


@nb.njit(cache=True, inline="always")
def _dim_at(off, x, u):
    """Size of cell x: ``u`` when every cell has that size (u > 0), else from the offsets."""
    if u > 0:
        return u
    return np.uint64(off[x + 1] - off[x])


@nb.njit(cache=True, inline="always")
def _start_at(off, x, u):
    """Start of cell x: ``u x`` when every cell has size u (u > 0), else ``off[x]``.

    With uniform stalks the offsets are arithmetic: reading them at random
    edges cost a third of the Laplacian kernel (each read a cache miss that
    the map reads waited for).
    """
    if u > 0:
        return u * np.uint64(x)
    return np.uint64(off[x])


@nb.njit(cache=True, inline="always")
def _prefetch_ahead(t, last, eid, eoff, tail, toff, head, hoff, w, usz):
    """Prefetch what incidence t + _AHEAD (its maps) and t + _META_AHEAD (its offsets) read.

    ``eid`` (``last`` entries) is the incidences' edge ids (:class:`Incidence`), the
    other arrays the sheaf's (:class:`SheafLayout`) and the weights. The edges of
    a vertex lie at random places in the edge arrays; waiting for them, not
    arithmetic, took most of the assembly time. ``usz`` is the size of every
    map when all are equal (their offsets are then not read), else 0.

    Like the other inlined helpers it takes plain arrays: the kernels unpack
    their named layouts once, before their parallel loops (reading the
    fields of a NamedTuple inside a ``prange`` body made the vertex-block
    kernel about 17% slower).
    """
    if t + _META_AHEAD < last:
        f = eid[t + _META_AHEAD]
        if usz == 0:
            _prefetch(toff, f)
            _prefetch(hoff, f)
            _prefetch(eoff, f + 1)
        _prefetch(w, f)
    if t + _AHEAD < last:
        f = eid[t + _AHEAD]
        a = _start_at(toff, f, usz)
        _prefetch_range(tail, a, a + _dim_at(toff, f, usz))
        b = _start_at(hoff, f, usz)
        _prefetch_range(head, b, b + _dim_at(hoff, f, usz))


@nb.njit(cache=True, inline="always")
def _put_map_row(M, m0, n, sign, col0, indices, data, pos):
    """Write sign * M[m0 : m0 + n] to data[pos:], column ids col0 + j (uint64 offsets)."""
    for j in range(n):
        indices[pos + j] = col0 + j
        data[pos + j] = sign * M[m0 + j]


@nb.njit(cache=True, parallel=True)
def coboundary_csr(lay, estart, out):
    """Fill the CSR arrays ``out`` of the coboundary (rows: edge stalks, columns: vertex stalks).

    Row i of edge e = (a, b) is -F_{a<=e}[i] at a's columns and F_{b<=e}[i]
    at b's, the lower-numbered vertex first (columns in increasing order).
    Edge e's entries start at ``estart[e]`` (``estart[m]`` = nnz); ``out.indptr``
    is written here, in its own dtype.
    """
    edges, voff, eoff = lay.edges, lay.vertex_offsets, lay.edge_offsets
    tail, toff, head, hoff = lay.tail, lay.tail_offsets, lay.head, lay.head_offsets
    indptr, indices, data = out.indptr, out.indices, out.data
    m = edges.shape[0]
    indptr[eoff[m]] = estart[m]
    for e in nb.prange(m):
        a = edges[e, 0]
        b = edges[e, 1]
        da = np.uint64(voff[a + 1] - voff[a])
        db = np.uint64(voff[b + 1] - voff[b])
        ta = np.uint64(toff[e])
        hb = np.uint64(hoff[e])
        for i in range(np.uint64(eoff[e + 1] - eoff[e])):
            pos = np.uint64(estart[e]) + i * (da + db)
            indptr[np.uint64(eoff[e]) + i] = pos
            if a < b:
                _put_map_row(tail, ta + i * da, da, -1.0, np.uint64(voff[a]), indices, data, pos)
                _put_map_row(
                    head, hb + i * db, db, 1.0, np.uint64(voff[b]), indices, data, pos + da
                )
            else:
                _put_map_row(head, hb + i * db, db, 1.0, np.uint64(voff[b]), indices, data, pos)
                _put_map_row(
                    tail, ta + i * da, da, -1.0, np.uint64(voff[a]), indices, data, pos + db
                )


@nb.njit(cache=True, parallel=True)
def _counting_order(keys, n):
    """Stable counting sort of ``keys`` (values in [0, n)): ``(order, starts)`` with
    ``keys[order]`` non-decreasing, equal keys in their input order, and key k's
    run at ``starts[k]:starts[k + 1]``.

    Contiguous chunks of the input are counted and scattered in parallel, each
    into its own slots (the counts are prefix-summed key by key, chunk by chunk);
    the result does not depend on the chunks.
    """
    N = keys.shape[0]
    # at most 8 chunks, of 64k keys or more, and counts no larger than the input
    nchunks = max(1, min(8, N // 65536, N // max(n, 1)))
    cnt = np.zeros((nchunks, n), dtype=np.int64)
    for c in nb.prange(nchunks):
        for j in range(N * c // nchunks, N * (c + 1) // nchunks):
            cnt[c, keys[j]] += 1
    starts = np.empty(n + 1, dtype=np.int64)
    total = 0
    for k in range(n):
        starts[k] = total
        for c in range(nchunks):
            here = cnt[c, k]
            cnt[c, k] = total
            total += here
    starts[n] = total
    order = np.empty(N, dtype=np.int64)
    for c in nb.prange(nchunks):
        for j in range(N * c // nchunks, N * (c + 1) // nchunks):
            k = keys[j]
            order[cnt[c, k]] = j
            cnt[c, k] += 1
    return order, starts


@nb.njit(cache=True, parallel=True)
def incidence(edges, n):
    """Per vertex, its incident edges sorted by neighbour, by two counting sorts (O(n + m)).

    ``edges`` (m, 2): ``(tail, head)`` of every edge, vertices in [0, n).
    Returns ``(ptr, dst, eid, side)`` (the fields of :class:`Incidence`):
    vertex p's incidences are ``ptr[p]:ptr[p + 1]``, each the neighbour, the
    edge and whether p is the edge's tail (0) or head (1). Incidence
    ``i < m`` is edge i seen from its tail, ``i >= m`` edge ``i - m`` from its
    head; sorting them by neighbour (least significant key) and then, stably,
    by vertex orders every row by neighbour (the graph is simple: no ties).
    """
    m = edges.shape[0]
    keys = np.empty(2 * m, dtype=np.int64)
    for i in nb.prange(2 * m):
        keys[i] = edges[i, 1] if i < m else edges[i - m, 0]
    by_dst, _ = _counting_order(keys, n)
    for j in nb.prange(2 * m):
        i = by_dst[j]
        keys[j] = edges[i, 0] if i < m else edges[i - m, 1]
    by_src, ptr = _counting_order(keys, n)
    dst = np.empty(2 * m, dtype=np.int64)
    eid = np.empty(2 * m, dtype=np.int64)
    side = np.empty(2 * m, dtype=np.int64)
    for pos in nb.prange(2 * m):
        i = by_dst[by_src[pos]]
        if i < m:
            dst[pos], eid[pos], side[pos] = edges[i, 1], i, 0
        else:
            dst[pos], eid[pos], side[pos] = edges[i - m, 0], i - m, 1
    return ptr, dst, eid, side


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
def _gram_row(out, o, j, dq, A, a0, lda, B, b0, ldb, de, w):
    """out[o + c] += w (A^T B)[i, c] for c = j .. dq - 1: row i of the Gram-type product
    of A (de x lda, column i at a0) and B (de x ldb at b0).

    Offsets are uint64 (numba then indexes without the negative-index
    fix-up); four sums at a time stay in a vector register.
    """
    while j + _FOUR <= dq:
        acc = (0.0, 0.0, 0.0, 0.0)
        for k in range(de):
            acc = _row_axpy(acc, A[a0 + k * lda], B, b0 + j + k * ldb)
        _row_add(out, o + j, w, acc)
        j += _FOUR
    while j < dq:
        s = 0.0
        for k in range(de):
            s += A[a0 + k * lda] * B[b0 + j + k * ldb]
        out[o + j] += w * s
        j += _ONE


@nb.njit(cache=True, inline="always")
def _sandwich(S, soff, a, da, B, base, ld, b, db, tmp):
    """B <- S_a B S_b for the da x db block at B[base + i ld + j] (uint64 sizes and offsets).

    S_x (symmetric, d_x x d_x) is row-major at S[soff[x]:]; ``tmp`` holds
    S_a B. Both products run on :func:`_gram_row`'s vector rows.
    """
    zero = np.uint64(0)
    sa = np.uint64(soff[a])
    sb = np.uint64(soff[b])
    for i in range(da):
        o = i * db
        for j in range(db):
            tmp[o + j] = 0.0
        _gram_row(tmp, o, zero, db, S, sa + i, da, B, base, ld, da, 1.0)  # S_a^T B = S_a B
    for i in range(da):
        o = base + i * ld
        for j in range(db):
            B[o + j] = 0.0
        _gram_row(B, o, zero, db, tmp, i * db, np.uint64(1), S, sb, db, db, 1.0)


@nb.njit(cache=True, inline="always")
def _incidence_blocks(A, a0, B, b0, dp, dq, de, w, buf, o, ld, diag):
    """For one incidence (p, e, q), A = F_{p<=e} (de x dp), B = F_{q<=e} (de x dq):
    buf[o + i ld + j] = w (A^T B)[i, j], and diag += w A^T A on and above its
    diagonal (in tiles: a few entries below it too)."""
    for i in range(dp):
        r = o + i * ld
        for j in range(dq):
            buf[r + j] = 0.0
        _gram_row(buf, r, np.uint64(0), dq, A, a0 + i, dp, B, b0, dq, de, w)
    for i in range(dp):
        _gram_row(diag, i * dp, i - i % _FOUR, dp, A, a0 + i, dp, A, a0, dp, de, w)


@nb.njit(cache=True, inline="always")
def _mirror(D, o, d):
    """Copy the upper triangle of the d x d block at D[o:] onto the lower one."""
    for i in range(d):
        for j in range(i):
            D[o + i * d + j] = D[o + j * d + i]


@nb.njit(cache=True, inline="always")
def _flush(buf, ibuf, seg, fill, dp, r0, row_len, c0, indices, data):
    """Write -buf[:, :fill] (dp rows of stride seg) and the column ids ibuf[:fill] to the
    dp CSR rows r0 + i row_len, from column slot c0: dp contiguous runs."""
    for i in range(dp):
        pos = r0 + i * row_len + c0
        o = i * seg
        for j in range(fill):
            indices[pos + j] = ibuf[j]
            data[pos + j] = -buf[o + j]


@nb.njit(cache=True)
def _block_row(p, lay, inc, w, udv, ude, norm, scratch, r0, row_len, out):
    """Block row p of L: the off-diagonal blocks -w_e F_{p<=e}^T F_{q<=e} written to
    the CSR arrays ``out`` (each made S_p B S_q if ``norm.use``), D_p summed into
    ``scratch.diag`` (dp x dp).

    Off-diagonal blocks are computed side by side into ``scratch.buf`` (dp rows
    of ``seg`` columns) and written out as dp contiguous runs whenever it is
    full or the diagonal's slot comes (writing each block's dp short rows
    straight to the output cost three times as much). Returns the diagonal's
    column slot.
    """
    voff, eoff = lay.vertex_offsets, lay.edge_offsets
    tail, toff, head, hoff = lay.tail, lay.tail_offsets, lay.head, lay.head_offsets
    ptr, dst, eid, side = inc.ptr, inc.dst, inc.eid, inc.side
    buf, ibuf, diag = scratch.buf, scratch.ibuf, scratch.diag
    indices, data = out.indices, out.data
    last = eid.shape[0]
    dp = _dim_at(voff, p, udv)
    usz = udv * ude
    zero = np.uint64(0)
    seg = np.uint64(ibuf.shape[0])
    col = zero  # the column slot (within the row) of the next block
    c0 = zero  # the slot where buf's first column goes
    fill = zero  # columns in buf
    diag_col = zero
    diag_seen = False
    for i in range(dp * dp):
        diag[i] = 0.0
    for t in range(ptr[p], ptr[p + 1]):
        _prefetch_ahead(t, last, eid, eoff, tail, toff, head, hoff, w, usz)
        q = dst[t]
        e = eid[t]
        dq = _dim_at(voff, q, udv)
        de = _dim_at(eoff, e, ude)
        if (not diag_seen and q > p) or fill + dq > seg:
            _flush(buf, ibuf, seg, fill, dp, r0, row_len, c0, indices, data)
            if not diag_seen and q > p:
                diag_col = col
                diag_seen = True
                col += dp
            c0 = col
            fill = zero
        _add_incidence(
            side[t],
            _start_at(toff, e, usz),
            _start_at(hoff, e, usz),
            tail,
            head,
            dp,
            dq,
            de,
            w[e],
            buf,
            fill,
            seg,
            diag,
        )
        if norm.use:
            _sandwich(norm.S, norm.soff, p, dp, buf, fill, seg, q, dq, scratch.tmp)
        q0 = _start_at(voff, q, udv)
        for j in range(dq):
            ibuf[fill + j] = q0 + j
        fill += dq
        col += dq
    _mirror(diag, zero, dp)
    _flush(buf, ibuf, seg, fill, dp, r0, row_len, c0, indices, data)
    return diag_col if diag_seen else col


@nb.njit(cache=True, inline="always")
def _add_incidence(side, ta, ha, tail, head, dp, dq, de, w, buf, o, ld, diag):
    """:func:`_incidence_blocks` for an incidence on the tail (side 0) or head side of an
    edge whose maps start at tail[ta] and head[ha]: two calls rather than one on a
    chosen array, so that each reads fixed arrays."""
    if side == 0:
        _incidence_blocks(tail, ta, head, ha, dp, dq, de, w, buf, o, ld, diag)
    else:
        _incidence_blocks(head, ha, tail, ta, dp, dq, de, w, buf, o, ld, diag)


@nb.njit(cache=True, parallel=True)
def vertex_blocks(lay, inc, w, udv, ude, boff, out):
    """Diagonal blocks D_v = sum_e w_e F_{v<=e}^T F_{v<=e}, row-major at ``out[boff[v]:]``.

    ``inc``: the sheaf's :class:`Incidence`; ``udv``, ``ude`` (uint64): the vertex
    and edge stalk dimensions when all are equal, else 0.
    """
    voff, eoff = lay.vertex_offsets, lay.edge_offsets
    tail, toff, head, hoff = lay.tail, lay.tail_offsets, lay.head, lay.head_offsets
    ptr, eid, side = inc.ptr, inc.eid, inc.side
    n = voff.shape[0] - 1
    last = eid.shape[0]
    none = np.empty(0)
    zero = np.uint64(0)
    usz = udv * ude
    for p in nb.prange(n):
        dp = _dim_at(voff, p, udv)
        o = np.uint64(boff[p])
        D = out[o : o + dp * dp]
        D[:] = 0.0
        for t in range(ptr[p], ptr[p + 1]):
            _prefetch_ahead(t, last, eid, eoff, tail, toff, head, hoff, w, usz)
            e = eid[t]
            _add_incidence(
                side[t],
                _start_at(toff, e, usz),
                _start_at(hoff, e, usz),
                tail,
                head,
                dp,
                zero,
                _dim_at(eoff, e, ude),
                w[e],
                none,
                zero,
                zero,
                D,
            )
        _mirror(D, zero, dp)


@functools.cache
def laplacian_kernel(udv: int, ude: int):
    """The kernel that fills the CSR arrays of L, with the stalk dimensions fixed.

    ``udv``, ``ude``: the vertex and edge stalk dimension when every stalk
    has it, else 0 (then read from the offsets). They are compile-time
    constants of the returned kernel: its offsets become arithmetic and its
    loops of known length. Each pair compiles once per machine (a few seconds;
    cached on disk).
    """
    dv = np.uint64(udv)
    de = np.uint64(ude)

    @nb.njit(cache=True, parallel=True)
    def laplacian_csr(lay, inc, w, norm, out):
        """Fill the CSR arrays ``out`` of L = delta^T W delta (or S L S), block row by block row.

        ``lay``: the sheaf's :class:`SheafLayout` (maps possibly rescaled);
        ``inc``: its :class:`Incidence` (every vertex's incident edges sorted by
        neighbour); ``w``: the edge weights; ``norm``: a :class:`Normalisation`;
        ``out.indptr`` (int64) is given, ``out.indices`` and ``out.data`` are filled.

        Block (p, p) is sum_e w_e F_{p<=e}^T F_{p<=e}; block (p, q) for the edge e
        joining them is -w_e F_{p<=e}^T F_{q<=e}. With ``norm.use`` every block
        (p, q) becomes S_p B S_q (the normalised Laplacian, S = D^{+1/2}).

        Every row of block row p has the same column pattern. Each block is
        computed once from the maps where they lie (those of the incidence
        ``_AHEAD`` places on are prefetched: they are scattered in memory and
        waiting for them took half the time), four entries of a row at a time in
        a vector register, and every entry is ``w_e * sum_k F[k, i] G[k, j]`` (so
        L is exactly symmetric for any weights; D_p is summed on and above its
        diagonal and mirrored). The results do not depend on the thread count.
        Block rows go to the threads in contiguous chunks, each chunk with its
        own scratch; the output is first touched there, by all threads.
        """
        voff = lay.vertex_offsets
        indptr, indices, data = out.indptr, out.indices, out.data
        S, soff, use_s = norm.S, norm.soff, norm.use
        n = voff.shape[0] - 1
        dmax, _ = _max_dims(voff, lay.edge_offsets)
        seg = max(_SEG, dmax)
        nchunks = min(n, 1024)
        for c in nb.prange(nchunks):
            scratch = Scratch(
                np.empty(dmax * seg),
                np.empty(seg, dtype=indices.dtype),
                np.empty(dmax * dmax),
                np.empty(dmax * dmax),
            )
            for p in range(n * c // nchunks, n * (c + 1) // nchunks):
                dp = _dim_at(voff, p, dv)
                if dp == 0:
                    continue
                p0 = _start_at(voff, p, dv)
                r0 = np.uint64(indptr[p0])
                row_len = np.uint64(indptr[p0 + _ONE]) - r0
                dc = _block_row(p, lay, inc, w, dv, de, norm, scratch, r0, row_len, out)
                diag = scratch.diag
                if use_s:
                    _sandwich(S, soff, p, dp, diag, np.uint64(0), dp, p, dp, scratch.tmp)
                for i in range(dp):
                    _put_map_row(diag, i * dp, dp, 1.0, p0, indices, data, r0 + i * row_len + dc)

    return laplacian_csr


@nb.njit(cache=True, parallel=True)
def csr_matmat(A, X, out):
    """out = A @ X for A given by its :class:`CSRArrays` and a dense (n, k) block, rows in
    parallel."""
    indptr, indices, data = A.indptr, A.indices, A.data
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
