r"""Learning restriction maps from paired data: closed-form comparison spaces.

SheafAlign (arXiv:2510.20540) aligns modalities pairwise: every edge ``{u, v}``
of a graph of modalities gets its own *comparison space* (the edge stalk) and
two restriction maps into it, trained so that paired samples land on the same
point. SheafAlign trains those maps (with neural encoders) by contrastive and
reconstruction losses. This module solves the linear, non-neural version of
the problem exactly: with the quadratic inconsistency
:math:`\operatorname{mean}_i \|F_u x_u^i - F_v x_v^i\|^2` as the loss and a
whitening normalisation to exclude the trivial solution ``F = 0``, the optimum
is canonical correlation analysis (CCA), computed in closed form.

See ``theory/sheaf-learned-maps.md`` for the statement and proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.cca import signed_svd, whiten
from .._validation import (
    as_dims,
    as_float_array,
    as_points,
    check_int,
    check_real,
)
from ._layouts import offsets
from ._networkx import graph_of
from ._sheaf import CellularSheaf

__all__ = ["RestrictionFit", "fit_restriction_maps", "learn_sheaf"]

# gathered per-edge feature blocks are processed in chunks of about this size
_CHUNK_BYTES = 1 << 25


@dataclass(frozen=True, eq=False)
class RestrictionFit:
    r"""The restriction maps of one edge learned by :func:`fit_restriction_maps`.

    All arrays are float64 and read-only.

    Attributes
    ----------
    tail : ndarray, shape (k, d_u)
        :math:`F_u`, the map of the first data set (the edge's tail) into the
        k-dimensional edge stalk.
    head : ndarray, shape (k, d_v)
        :math:`F_v`, the map of the second data set (the edge's head).
    correlations : ndarray, shape (k,)
        The top-k canonical correlations :math:`\rho_1 \ge \dots \ge \rho_k`
        (in [0, 1] up to rounding) of the regularised covariances; row i of
        ``tail`` and ``head`` is the i-th pair of canonical directions.
    objective : float
        The attained mean squared inconsistency on the training data,
        :math:`\frac1N \sum_i \|F_u (x_u^i - \mu_u) - F_v (x_v^i - \mu_v)\|^2`,
        computed from the data. It equals :math:`2(k - \sum_i \rho_i) -
        \lambda_u \|F_u\|_F^2 - \lambda_v \|F_v\|_F^2` (λ the ridges actually
        added), hence exactly :math:`2(k - \sum_i \rho_i)` when ``reg = 0``.
    mean_u : ndarray, shape (d_u,)
        :math:`\mu_u`, the column means of ``X_u`` (zeros if ``center=False``).
    mean_v : ndarray, shape (d_v,)
        :math:`\mu_v`, likewise for ``X_v``.
    """

    tail: np.ndarray
    head: np.ndarray
    correlations: np.ndarray
    objective: float
    mean_u: np.ndarray
    mean_v: np.ndarray

    def __post_init__(self) -> None:
        for name in ("tail", "head", "correlations", "mean_u", "mean_v"):
            getattr(self, name).setflags(write=False)

    def __repr__(self) -> str:
        k, du = self.tail.shape
        rho = np.array2string(self.correlations, precision=4, threshold=8)
        return (
            f"RestrictionFit(edge_dim={k}, d_u={du}, d_v={self.head.shape[1]}, "
            f"correlations={rho}, objective={self.objective:.6g})"
        )


# ----------------------------------------------------------------------
# the cross-covariance step shared by fit_restriction_maps and learn_sheaf
# (whitening and the signed SVD are sheaftopo._core.cca's)
# ----------------------------------------------------------------------


def _cross(Zu: np.ndarray, iu: np.ndarray, Zv: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """Whitened cross-covariances M_e = Zu[iu[e]]^T Zv[iv[e]] / N, shape (g, d_u, d_v).

    Blocks are gathered in chunks of edges, never all (g, N, d) at once.
    """
    g = len(iu)
    N, du, dv = Zu.shape[1], Zu.shape[2], Zv.shape[2]
    out = np.empty((g, du, dv))
    chunk = max(1, _CHUNK_BYTES // (8 * N * (du + dv)))
    for s in range(0, g, chunk):
        A = Zu[iu[s : s + chunk]]
        B = Zv[iv[s : s + chunk]]
        np.matmul(A.transpose(0, 2, 1), B, out=out[s : s + chunk])
    out /= N
    return out


def _check_center(center: Any) -> bool:
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"center must be True or False; got {center!r}")
    return bool(center)


# ----------------------------------------------------------------------
# one edge
# ----------------------------------------------------------------------


def fit_restriction_maps(
    X_u: Any, X_v: Any, edge_dim: int, *, reg: float = 1e-6, center: bool = True
) -> RestrictionFit:
    r"""Restriction maps into a k-dimensional comparison space from paired data (CCA).

    Finds :math:`F_u \in \mathbb{R}^{k \times d_u}`, :math:`F_v \in
    \mathbb{R}^{k \times d_v}` minimising the mean squared inconsistency

    .. math:: J(F_u, F_v) = \frac1N \sum_{i=1}^N \|F_u x_u^i - F_v x_v^i\|^2

    of the N pairs (rows of ``X_u``, ``X_v``, centred when ``center=True``)
    subject to the **whitening normalisation**

    .. math:: F_u \Sigma_{uu} F_u^\top = I_k, \qquad F_v \Sigma_{vv} F_v^\top = I_k .

    The normalisation is needed because J is a homogeneous quadratic: without
    it, ``F_u = F_v = 0`` attains J = 0 and is optimal, and any rescaling of a
    solution by t < 1 improves it. The constraint fixes the scale in each
    stalk and makes the k output coordinates uncorrelated, so J measures how
    well k independent directions of the two data sets can be made to agree.

    The optimum is canonical correlation analysis: with
    :math:`W_u = \Sigma_{uu}^{-1/2}`, :math:`W_v = \Sigma_{vv}^{-1/2}` and the
    SVD :math:`W_u \Sigma_{uv} W_v = U S V^\top`,
    :math:`F_u = U_k^\top W_u` and :math:`F_v = V_k^\top W_v`, with optimal
    value :math:`2(k - \sum_{i \le k} \rho_i)`, :math:`\rho_i = S_{ii}` the
    canonical correlations.

    **Uniqueness.** For any :math:`Q \in O(k)`, :math:`(Q F_u, Q F_v)`
    satisfies the constraints and has the same objective (a common rotation or
    reflection of the edge stalk). When :math:`\rho_k > \rho_{k+1}`
    (:math:`\rho_{k+1} := 0` if k = min(d_u, d_v)) — in particular when the
    correlations are distinct and non-zero — these are the only optima; the
    returned representative is made deterministic by fixing the sign of each
    canonical pair (each column of U has its largest entry positive).

    Parameters
    ----------
    X_u : array_like, shape (N, d_u)
        Samples of the first modality (the edge's tail vertex).
    X_v : array_like, shape (N, d_v)
        The paired samples of the second modality (the head); row i of both
        describes the same event.
    edge_dim : int
        k, the dimension of the comparison space, 1 <= k <= min(d_u, d_v).
    reg : float, default 1e-6
        Ridge, relative: :math:`\lambda = \mathrm{reg} \cdot \operatorname{tr}
        \hat\Sigma / d` (reg times the mean eigenvalue of the sample covariance
        :math:`\hat\Sigma`) is added to the diagonal of each covariance,
        :math:`\Sigma = \hat\Sigma + \lambda I`. Makes the problem well posed when
        N <= d or features are collinear; reg = 0 solves the exact problem.
    center : bool, default True
        Centre both data sets (covariances); if False, use raw second moments
        :math:`X^\top X / N` and leave the data uncentred in J.

    Returns
    -------
    RestrictionFit
        ``tail`` (k, d_u), ``head`` (k, d_v), ``correlations`` (k,),
        ``objective``, ``mean_u`` (d_u,), ``mean_v`` (d_v,).

    Raises
    ------
    ValueError
        Row counts differ, N < 2, non-finite entries, edge_dim out of range,
        reg < 0, a constant data set, or a singular covariance with reg = 0.

    Notes
    -----
    With reg > 0 the maps minimise the ridge-penalised objective
    :math:`J + \lambda_u \|F_u\|_F^2 + \lambda_v \|F_v\|_F^2` under the
    regularised constraints (the penalties are exactly what the ridge adds to
    the constraint), so the attained J is below :math:`2(k - \sum \rho_i)` by
    those penalties. Covariances use the 1/N normalisation so that J is a mean.

    The maps are linear and act on centred data: apply them to ``x - mean_u``
    and ``x - mean_v``. Small samples overfit: the centred columns of ``X_u``
    and ``X_v`` span subspaces of dimensions d_u and d_v of the (N - 1)-dimensional
    space of centred N-vectors, so when N - 1 < d_u + d_v they intersect in
    dimension at least d_u + d_v - N + 1 and that many sample canonical
    correlations are 1 whatever the data (up to the ridge). Use N well above
    d_u + d_v, and judge the maps on held-out pairs.

    References
    ----------
    .. [1] H. Hotelling, "Relations between two sets of variates",
       Biometrika 28 (1936) 321-377.
    .. [2] A. Ghalkha, Z. Tian, C. Ben Issaid, M. Bennis, "SheafAlign: A
       sheaf-theoretic framework for decentralized multimodal alignment",
       arXiv:2510.20540 (2025).
    .. [3] J. Hansen, R. Ghrist, "Learning sheaf Laplacians from smooth
       signals", ICASSP 2019.

    Examples
    --------
    Two views of a shared 2-dimensional latent, plus noise:

    >>> import numpy as np
    >>> from sheaftopo.sheaf._learn import fit_restriction_maps
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((500, 2))
    >>> A_u, A_v = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    >>> X_u = z @ A_u.T + 1e-3 * rng.standard_normal((500, 5))
    >>> X_v = z @ A_v.T + 1e-3 * rng.standard_normal((500, 4))
    >>> fit = fit_restriction_maps(X_u, X_v, 2)
    >>> fit.tail.shape, fit.head.shape
    ((2, 5), (2, 4))
    >>> bool(np.all(fit.correlations > 0.999))
    True
    >>> bool(np.allclose(fit.tail @ A_u, fit.head @ A_v, atol=1e-2))  # agree on the latent
    True
    >>> bool(np.isclose(fit.objective, 2 * (2 - fit.correlations.sum()), atol=1e-5))
    True
    """
    Xu = as_points(X_u, "X_u", dtype=np.float64)
    Xv = as_points(X_v, "X_v", dtype=np.float64)
    N, du = Xu.shape
    dv = Xv.shape[1]
    if Xv.shape[0] != N:
        raise ValueError(
            f"X_u and X_v must hold the same number of paired samples (rows); got "
            f"{N} and {Xv.shape[0]}"
        )
    if N < 2:
        raise ValueError(
            f"X_u and X_v need at least 2 paired samples to estimate covariances; got {N}"
        )
    k = check_int(edge_dim, "edge_dim", minimum=1)
    if k > min(du, dv):
        raise ValueError(
            f"edge_dim must be <= min(d_u, d_v) = min({du}, {dv}) = {min(du, dv)}; got {k}"
        )
    reg = check_real(reg, "reg", low=0.0)
    center = _check_center(center)

    mu_u, W_u, Z_u = whiten(Xu[None], reg, center, lambda i: "X_u")
    mu_v, W_v, Z_v = whiten(Xv[None], reg, center, lambda i: "X_v")
    zero = np.zeros(1, dtype=np.int64)
    U, s, Vh = signed_svd(_cross(Z_u, zero, Z_v, zero))
    F_u = U[0, :, :k].T @ W_u[0]
    F_v = Vh[0, :k, :] @ W_v[0]
    R = (Xu - mu_u[0]) @ F_u.T - (Xv - mu_v[0]) @ F_v.T
    objective = float(np.einsum("ij,ij->", R, R) / N)
    return RestrictionFit(
        tail=np.ascontiguousarray(F_u),
        head=np.ascontiguousarray(F_v),
        correlations=s[0, :k].copy(),
        objective=objective,
        mean_u=mu_u[0],
        mean_v=mu_v[0],
    )


# ----------------------------------------------------------------------
# a whole graph
# ----------------------------------------------------------------------


def _as_features(features: Any, n: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Per distinct vertex dimension d: (vertex indices, data (n_d, N, d) float64).

    Returns the groups and the vertex dimensions (n,).
    """
    if isinstance(features, np.ndarray) or (
        not isinstance(features, (list, tuple)) and hasattr(features, "__array__")
    ):
        arr = as_float_array(features, "features", dtype=np.float64)
        if arr.ndim != 3 or arr.shape[0] != n:
            raise ValueError(
                f"features must have shape (n_vertices={n}, N, d) or be a sequence of {n} "
                f"arrays of shape (N, d_v); got an array of shape {arr.shape}"
            )
        if arr.shape[1] < 2:
            raise ValueError(
                f"features must hold at least 2 samples per vertex; got shape {arr.shape}"
            )
        if arr.shape[2] < 1:
            raise ValueError(f"features must have at least one feature; got shape {arr.shape}")
        bad = ~np.isfinite(arr)
        if bad.any():
            v, i, j = (int(t) for t in np.argwhere(bad)[0])
            raise ValueError(
                f"features must be finite; features[{v}, {i}, {j}] = {arr[v, i, j]!r} "
                f"({int(bad.sum())} such entries)"
            )
        return [(np.arange(n), arr)], np.full(n, arr.shape[2], dtype=np.int64)
    if not isinstance(features, Sequence) or isinstance(features, (str, bytes)):
        raise TypeError(
            "features must be an array of shape (n_vertices, N, d) or a sequence of "
            f"n_vertices arrays of shape (N, d_v); got {type(features).__name__}"
        )
    if len(features) != n:
        raise ValueError(
            f"features must hold one (N, d_v) array per vertex, {n} in all; got {len(features)}"
        )
    mats = [as_points(f, f"features[{v}]", dtype=np.float64) for v, f in enumerate(features)]
    if n == 0:
        return [], np.zeros(0, dtype=np.int64)
    counts = np.array([f.shape[0] for f in mats])
    if (counts != counts[0]).any():
        v = int(np.flatnonzero(counts != counts[0])[0])
        raise ValueError(
            f"every vertex must have the same number N of paired samples; features[0] has "
            f"{counts[0]} rows but features[{v}] has {counts[v]}"
        )
    if counts[0] < 2:
        raise ValueError(f"features must hold at least 2 samples per vertex; got N = {counts[0]}")
    dims = np.array([f.shape[1] for f in mats], dtype=np.int64)
    groups = []
    for d in np.unique(dims):
        verts = np.flatnonzero(dims == d)
        groups.append((verts, np.stack([mats[v] for v in verts])))
    return groups, dims


def learn_sheaf(
    graph: Any,
    features: Any,
    edge_dim: Any,
    *,
    reg: float = 1e-6,
    center: bool = True,
    n_vertices: int | None = None,
    weight: str | None = "weight",
) -> CellularSheaf:
    r"""A cellular sheaf whose restriction maps are learned from paired data on every edge.

    Every edge e = (u, v) gets the maps of :func:`fit_restriction_maps`
    applied to the features of u and v: ``tail_map(e)`` :math:`= F_u` and
    ``head_map(e)`` :math:`= F_v`, maps into an edge stalk of dimension
    ``edge_dim[e]`` that minimise the mean squared inconsistency of the paired
    samples under the whitening normalisation (canonical correlation analysis;
    see :func:`fit_restriction_maps` for the objective, the normalisation and
    the O(k) non-uniqueness). The coboundary of the sheaf is then the learned
    disagreement: the mean Dirichlet energy of the centred data cochains is
    :math:`\sum_e 2(k_e - \sum_i \rho_{e,i})` (reg = 0).

    Each vertex's covariance and whitening matrix is computed once, with one
    batched ``eigh`` per distinct vertex dimension; cross-covariances and SVDs
    are batched over all edges sharing (d_u, d_v).

    Parameters
    ----------
    graph : networkx graph or array_like of int, shape (m, 2)
        The graph of modalities; edge ``(u, v)`` has tail u and head v. A
        networkx graph's nodes are numbered in ``graph.nodes`` order (and its
        labels kept in :attr:`CellularSheaf.vertex_labels`; the edge
        attribute ``weight`` becomes :attr:`CellularSheaf.edge_weights`, as in
        :meth:`CellularSheaf.constant`).
    features : array_like, shape (n, N, d), or sequence of n arrays (N, d_v)
        ``features[v]`` holds vertex v's N samples; row i of every vertex
        describes the same event. The sequence form allows a different
        dimension at every vertex; N must be the same everywhere.
    edge_dim : int or array_like of int, shape (m,)
        k_e, the edge stalk dimensions, 1 <= k_e <= min(d_u, d_v).
    reg : float, default 1e-6
        Relative ridge, as in :func:`fit_restriction_maps`.
    center : bool, default True
        Centre every vertex's features (the means are not part of the sheaf:
        its maps act on centred features).
    n_vertices : int, optional
        Number of vertices for an edge list (isolated vertices allowed; they
        still need features).

    Returns
    -------
    CellularSheaf
        Vertex stalk dimensions d_v from the features, edge stalk dimensions
        ``edge_dim``.

    Raises
    ------
    ValueError
        Feature shapes that disagree with the graph or with each other, N < 2,
        non-finite features, edge_dim out of range on some edge, reg < 0, or a
        vertex with constant or (reg = 0) singular-covariance features.

    References
    ----------
    .. [1] A. Ghalkha, Z. Tian, C. Ben Issaid, M. Bennis, "SheafAlign: A
       sheaf-theoretic framework for decentralized multimodal alignment",
       arXiv:2510.20540 (2025).
    .. [2] H. Hotelling, "Relations between two sets of variates",
       Biometrika 28 (1936) 321-377.

    Examples
    --------
    Three modalities on a path, each a noisy linear view of a common latent:

    >>> import numpy as np
    >>> from sheaftopo.sheaf import dirichlet_energy
    >>> from sheaftopo.sheaf._learn import learn_sheaf
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((400, 2))
    >>> A = rng.standard_normal((3, 4, 2))
    >>> X = np.einsum("vdk,nk->vnd", A, z) + 1e-3 * rng.standard_normal((3, 400, 4))
    >>> F = learn_sheaf([[0, 1], [1, 2]], X, 2)
    >>> F.tail_maps.shape
    (2, 2, 4)
    >>> x = A @ np.array([0.3, -1.2])          # a new event seen by every modality
    >>> bool(dirichlet_energy(F, x) < 1e-4 * np.sum(x**2))
    True
    """
    edges, n, labels, w = graph_of(graph, n_vertices, weight)
    m = len(edges)
    groups, vd = _as_features(features, n)
    u, v = edges[:, 0], edges[:, 1]
    ks = as_dims(edge_dim, m, "edge_dim")
    cap = np.minimum(vd[u], vd[v])
    over = ks > cap
    if over.any():
        e = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"edge_dim must be <= min(d_u, d_v) on every edge; edge {e} = ({u[e]}, {v[e]}) "
            f"joins stalks of dimensions {vd[u[e]]} and {vd[v[e]]} but edge_dim[{e}] = {ks[e]}"
        )
    reg = check_real(reg, "reg", low=0.0)
    center = _check_center(center)

    toff = offsets(ks * vd[u])
    hoff = offsets(ks * vd[v])
    tail = np.empty(int(toff[-1]))
    head = np.empty(int(hoff[-1]))
    if m == 0:
        return CellularSheaf(n, edges, vd, ks, tail, head, vertex_labels=labels, edge_weights=w)

    names = labels if labels is not None else list(range(n))
    used = np.zeros(n, dtype=bool)
    used[edges.ravel()] = True
    pos = np.full(n, -1, dtype=np.int64)  # row of vertex v in its group's W and Z
    W: dict[int, np.ndarray] = {}
    Z: dict[int, np.ndarray] = {}
    for verts, data in groups:
        local = np.flatnonzero(used[verts])
        if len(local) == 0:
            continue
        N, d = data.shape[1], data.shape[2]
        gv = verts[local]
        pos[gv] = np.arange(len(gv))
        Wd = np.empty((len(gv), d, d))
        Zd = np.empty((len(gv), N, d))
        chunk = max(1, _CHUNK_BYTES // (8 * N * d))
        for s in range(0, len(gv), chunk):
            sl = slice(s, s + chunk)
            block_verts = gv[sl]

            def describe(i: int, block_verts: np.ndarray = block_verts) -> str:
                w = int(block_verts[i])
                return f"features[{w}] (vertex {names[w]!r})"

            _, Wd[sl], Zd[sl] = whiten(data[local[sl]], reg, center, describe)
        W[int(d)], Z[int(d)] = Wd, Zd

    shapes = np.stack([vd[u], vd[v]], axis=1)
    uniq, inverse = np.unique(shapes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for g, (du, dv) in enumerate(uniq.tolist()):
        idx = np.flatnonzero(inverse == g)
        pu, pv = pos[u[idx]], pos[v[idx]]
        U, _, Vh = signed_svd(_cross(Z[du], pu, Z[dv], pv))
        kg = ks[idx]
        for k in np.unique(kg).tolist():
            sel = np.flatnonzero(kg == k)
            eids = idx[sel]
            F_u = np.matmul(U[sel, :, :k].transpose(0, 2, 1), W[du][pu[sel]])
            F_v = np.matmul(Vh[sel, :k, :], W[dv][pv[sel]])
            tail[toff[eids][:, None] + np.arange(k * du)] = F_u.reshape(len(eids), -1)
            head[hoff[eids][:, None] + np.arange(k * dv)] = F_v.reshape(len(eids), -1)
    return CellularSheaf(n, edges, vd, ks, tail, head, vertex_labels=labels, edge_weights=w)
