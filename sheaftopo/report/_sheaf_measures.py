r"""The measures of the ``sheaf`` section: the modalities as a learned cellular sheaf.

Three or more embedding sets of the same N items are the vertices of a graph
(the modality graph). Every edge e = (u, v) gets a comparison space (its
stalk, dimension k_e) and two restriction maps learned in closed form from the
paired rows (:func:`sheaftopo.sheaf.fit_restriction_maps` for the canonical
correlations that choose k_e, :func:`sheaftopo.sheaf.learn_sheaf` for the
sheaf; canonical correlation analysis under the whitening normalisation
:math:`F_u \Sigma_{uu} F_u^\top = I`). From that sheaf:

* **edge inconsistency** :math:`c_e = \frac{1}{2 k_e} \operatorname{mean}_i
  \|F_v x_v^i - F_u x_u^i\|^2` (centred rows), which is :math:`1 -
  \operatorname{mean}_{j \le k_e} \rho_{e,j}` up to the ridge: 0 when the two
  sets agree exactly in the stalk, 1 when they are uncorrelated there (2 when
  anti-correlated, which canonical correlations exclude);
* **item inconsistency** :math:`c^i = \frac{1}{m} \sum_e \frac{1}{2 k_e}
  \|(\delta x^i)_e\|^2`, the Dirichlet energy :math:`x^{i\top} L_w x^i` of
  item i's 0-cochain (its centred rows in every set) with edge weights
  :math:`w_e = 1/(2 m k_e)`: its mean over the items is the mean edge
  inconsistency; split by edge into the m terms;
* **approximate global sections**: readouts :math:`a_v^\top x_v` of every set
  from the span of the rows of its restriction maps, chosen so that the items'
  readouts agree across every edge: the eigenvalues of
  :math:`D^{-1/2} Q D^{-1/2}` with :math:`Q(a) = \operatorname{mean}_i \sum_e
  (a_u^\top x_u^i - a_v^\top x_v^i)^2` (the mean Dirichlet energy of the
  readouts as 0-cochains of the constant sheaf on the graph) and
  :math:`D(a) = \sum_v \deg(v) \operatorname{var}(a_v^\top x_v)`. An
  eigenvalue λ is one minus the degree-weighted mean correlation of the
  readouts over the edges (λ = 1 − ρ when every edge correlates at ρ). The
  dimension counts the eigenvectors with λ below ``1 - threshold`` whose
  readouts correlate at ``threshold`` or above on *every* edge: a direction
  that s of the n sets of a complete graph share exactly has
  λ = (n − s)/(n − 1) (1/2 for two sets of three), so the eigenvalue alone
  does not tell "all sets" from "all but one";
* **pair-specific dimensions** of an edge (u, v): of the pair's significant
  canonical directions (correlation at or above the threshold and the chance
  level; their variates averaged over u and v), those that no other set sees:
  the canonical correlations between them and every other set, concatenated
  (ridge least squares of the variates on the other sets' rows), below the
  threshold or the chance level. Partial canonical correlations (u and v
  regressed on the others first) would call a direction every set carries
  pair-specific as soon as the others measure it with noise: the noise left
  in the regression is shared by u and v.

Everything costs O(N d²) time and O(N d) memory (d x d covariances, never an
N x N matrix); the item energies are computed in blocks of rows.

References
----------
.. [1] A. Ghalkha, Z. Tian, C. Ben Issaid, M. Bennis, "SheafAlign: A
   sheaf-theoretic framework for decentralized multimodal alignment",
   arXiv:2510.20540 (2025).
.. [2] J. Hansen, R. Ghrist, "Toward a spectral theory of cellular sheaves",
   J. Appl. Comput. Topol. 3 (2019) 315-358.
.. [3] J. R. Kettenring, "Canonical analysis of several sets of variables",
   Biometrika 58 (1971) 433-451.
.. [4] K. W. Wachter, "The limiting empirical measure of multiple discriminant
   ratios", Ann. Statist. 8 (1980) 937-957.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._validation import as_points, check_int, check_real

__all__ = ["SheafMeasures", "chance_correlation", "measure_sheaf"]

#: most stalk dimensions per edge (768-d sets stay fast)
MAX_EDGE_DIM = 32
#: relative ridge of the restriction maps (the library's default)
MAP_REG = 1e-6
#: relative ridge of the regression on the other sets (pair-specific dimensions)
RIDGE = 1e-3
#: items per block of the coboundary product
_BLOCK_BYTES = 1 << 25


@dataclass(frozen=True)
class SheafMeasures:
    """What :func:`measure_sheaf` found (arrays are float64 unless said).

    Attributes
    ----------
    edges : ndarray of int64, shape (m, 2)
    edge_dims : ndarray of int64, shape (m,)
        k_e.
    correlations : list of ndarray
        The canonical correlations of each edge (top ``min(d_u, d_v, cap)``).
    chance : ndarray, shape (m,)
        Chance level of each edge's largest canonical correlation.
    edge_inconsistency : ndarray, shape (m,)
        c_e.
    item_edge : ndarray, shape (m, N)
        Per item and edge, ``||(δx^i)_e||² / (2 k_e)``.
    item_total : ndarray, shape (N,)
        c^i, the mean of ``item_edge`` over the edges.
    section_eigenvalues : ndarray, shape (r,)
        Ascending eigenvalues of the global-section problem, in [0, 2].
    section_weakest_edge : ndarray, shape (r,)
        Each eigenvector's smallest readout correlation over the edges.
    n_sections : int
        Eigenvectors with eigenvalue below ``1 - threshold`` whose readouts
        correlate at ``threshold`` or above on every edge.
    n_significant : ndarray of int64, shape (m,)
        Canonical correlations at or above ``max(threshold, chance)``.
    seen_by_others : list of ndarray
        Per edge, descending: the canonical correlations between its
        significant directions (the pair's averaged canonical variates) and
        every other set (ridge regression); empty when none is significant.
    seen_chance : ndarray, shape (m,)
        Chance level of those correlations.
    n_specific : ndarray of int64, shape (m,)
        Significant directions of the pair that no other set sees:
        ``n_significant`` minus the ``seen_by_others`` at or above
        ``max(threshold, seen_chance)``; 0 when ``seen_chance`` is 1 (the
        other sets have so many dimensions that they fit any variate of so
        few rows: not determined).
    """

    edges: np.ndarray
    edge_dims: np.ndarray
    correlations: list[np.ndarray]
    chance: np.ndarray
    n_significant: np.ndarray
    edge_inconsistency: np.ndarray
    item_edge: np.ndarray
    item_total: np.ndarray
    section_eigenvalues: np.ndarray
    section_weakest_edge: np.ndarray
    n_sections: int
    seen_by_others: list[np.ndarray]
    seen_chance: np.ndarray
    n_specific: np.ndarray


def chance_correlation(p: int, q: int, n: int) -> float:
    r"""The largest canonical correlation expected between independent data of these sizes.

    Wachter's limit of the largest sample canonical correlation of independent
    Gaussian sets of p and q variables on n degrees of freedom:
    :math:`\rho^2 = (\sqrt{a(1-b)} + \sqrt{b(1-a)})^2`, a = p/n, b = q/n
    (1 when a + b >= 1: the sample then has exactly correlated directions).

    Parameters
    ----------
    p, q : int
        The two sets' dimensions, >= 1.
    n : int
        Degrees of freedom (rows minus one, minus the regressors' dimension
        for partial correlations), >= 0.

    Returns
    -------
    float in [0, 1]

    References
    ----------
    .. [1] K. W. Wachter, "The limiting empirical measure of multiple
       discriminant ratios", Ann. Statist. 8 (1980) 937-957.

    Examples
    --------
    >>> from sheaftopo.report._sheaf_measures import chance_correlation
    >>> round(chance_correlation(768, 768, 19_999), 3)
    0.384
    >>> chance_correlation(10, 10, 15)
    1.0
    """
    p = check_int(p, "p", minimum=1)
    q = check_int(q, "q", minimum=1)
    n = check_int(n, "n", minimum=0)
    if p + q >= n:
        return 1.0
    a, b = p / n, q / n
    rho2 = (np.sqrt(a * (1 - b)) + np.sqrt(b * (1 - a))) ** 2
    return float(min(1.0, np.sqrt(rho2)))


def _centred(X: Sequence[Any], n_sets: int) -> list[np.ndarray]:
    """Every set as float64, centred, divided by a power of two (exact; scale-free measures)."""
    out = []
    for v in range(n_sets):
        M = as_points(X[v], f"X[{v}]", dtype=np.float64)
        if out and M.shape[0] != out[0].shape[0]:
            raise ValueError(
                f"X[{v}] must have the {out[0].shape[0]} rows of X[0] (paired rows); "
                f"got {M.shape[0]}"
            )
        top = float(np.abs(M).max(initial=0.0))
        M = np.ldexp(M, -int(np.frexp(top)[1])) if top > 0 else M.copy()
        M -= M.mean(axis=0)
        out.append(M)
    return out


def _edge_list(edges: Any, n_sets: int) -> np.ndarray:
    arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(arr) == 0:
        raise ValueError("edges must hold at least one edge (u, v); got none")
    if arr.min() < 0 or arr.max() >= n_sets or (arr[:, 0] == arr[:, 1]).any():
        raise ValueError(
            f"edges must join two different sets among 0..{n_sets - 1}; got {arr.tolist()}"
        )
    return arr


def _significant(rho: np.ndarray, threshold: float, chance: float) -> int:
    """Correlations at or above both the threshold and the chance level."""
    return int(np.count_nonzero(rho >= max(threshold, chance)))


class _Variates(NamedTuple):
    """Each edge's canonical variates ``(x_u - mu_u) F_u^T`` and ``(x_v - mu_v) F_v^T``."""

    tail: list[np.ndarray]  # (N, min(d_u, d_v, cap)) per edge
    head: list[np.ndarray]
    correlations: list[np.ndarray]  # descending, in [0, 1]


def _edge_variates(Xc: list[np.ndarray], edges: np.ndarray, cap: int) -> _Variates:
    """Learn the sheaf with ``min(d_u, d_v, cap)`` dimensions per edge and map the rows.

    The learned maps are canonical directions (whitened: ``F Σ F^T = I``), so
    the mean product of an edge's two variates is its canonical correlation,
    and the sheaf with k_e <= that dimension has the first k_e rows of these
    maps (the same signed SVD): one fit serves every choice of k_e.
    """
    from ..sheaf import learn_sheaf

    d = np.array([M.shape[1] for M in Xc])
    top = np.minimum(np.minimum(d[edges[:, 0]], d[edges[:, 1]]), cap)
    sheaf = learn_sheaf(edges, Xc, top, reg=MAP_REG, n_vertices=len(Xc))
    tails, heads, rhos = [], [], []
    for e, (u, v) in enumerate(edges.tolist()):
        tails.append(Xc[u] @ sheaf.tail_map(e).T)
        heads.append(Xc[v] @ sheaf.head_map(e).T)
        rhos.append(np.clip(np.einsum("ij,ij->j", tails[-1], heads[-1]) / len(Xc[u]), 0.0, 1.0))
    return _Variates(tails, heads, rhos)


def _edge_dims(
    Xc: list[np.ndarray], edges: np.ndarray, rhos: list[np.ndarray], threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each edge's chance level and number of significant canonical correlations."""
    n = Xc[0].shape[0]
    chance = np.array(
        [chance_correlation(Xc[u].shape[1], Xc[v].shape[1], n - 1) for u, v in edges.tolist()]
    )
    n_sig = np.array([_significant(r, threshold, c) for r, c in zip(rhos, chance, strict=True)])
    return chance, n_sig.astype(np.int64)


def _item_energies(var: _Variates, dims: np.ndarray) -> np.ndarray:
    """``||(δx^i)_e||² / (2 k_e)`` for every edge and item, shape (m, N).

    ``(δx^i)_e = F_v x_v^i - F_u x_u^i`` in the k_e-dimensional stalk: the
    difference of the edge's first k_e canonical variates.
    """
    out = np.empty((len(dims), var.tail[0].shape[0]))
    for e, k in enumerate(dims.tolist()):
        diff = var.head[e][:, :k] - var.tail[e][:, :k]
        out[e] = np.einsum("ij,ij->i", diff, diff) / (2.0 * k)
    return out


def _readout_bases(
    var: _Variates, edges: np.ndarray, dims: np.ndarray, n: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per set: orthonormal readouts spanning its stalk variates, (N, r_v); and degrees."""
    parts: list[list[np.ndarray]] = [[] for _ in range(n)]
    for e, (u, v) in enumerate(edges.tolist()):
        parts[u].append(var.tail[e][:, : dims[e]])
        parts[v].append(var.head[e][:, : dims[e]])
    N = var.tail[0].shape[0]
    S = []
    for v in range(n):
        if not parts[v]:
            S.append(np.zeros((N, 0)))
            continue
        R = np.concatenate(parts[v], axis=1)  # unit-variance readouts of set v
        w, V = np.linalg.eigh(R.T @ R / N)
        keep = w > 1e-10 * max(float(w[-1]), np.finfo(float).tiny)
        S.append(R @ (V[:, keep] / np.sqrt(w[keep])))
    return S, np.array([len(p) for p in parts])


def _global_sections(
    var: _Variates, edges: np.ndarray, dims: np.ndarray, n: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Eigenvalues of ``D^{-1/2} Q D^{-1/2}`` (ascending), each one's weakest edge, the count.

    The weakest edge of an eigenvector is the smallest correlation, over the
    edges, between its two sets' readouts (0 where a set does not read it).
    Counted: eigenvalue below ``1 - threshold`` and weakest edge at or above
    ``threshold``.
    """
    S, deg = _readout_bases(var, edges, dims, n)
    off = np.concatenate([[0], np.cumsum([s.shape[1] for s in S])])
    N = var.tail[0].shape[0]
    M = np.eye(int(off[-1]))
    K = {}
    for u, v in edges.tolist():
        K[(u, v)] = S[u].T @ S[v] / N
        block = -K[(u, v)] / np.sqrt(deg[u] * deg[v])
        M[off[u] : off[u + 1], off[v] : off[v + 1]] = block
        M[off[v] : off[v + 1], off[u] : off[u + 1]] = block.T
    eig, W = np.linalg.eigh(M)
    weakest = np.full(len(eig), np.inf)
    tiny = np.finfo(float).tiny
    for (u, v), Kuv in K.items():
        Wu, Wv = W[off[u] : off[u + 1]], W[off[v] : off[v + 1]]
        norms = np.sqrt(np.einsum("ij,ij->j", Wu, Wu) * np.einsum("ij,ij->j", Wv, Wv))
        corr = np.einsum("ij,ij->j", Wu, Kuv @ Wv) / np.maximum(norms, tiny)
        weakest = np.minimum(weakest, np.where(norms > 1e-12, corr, 0.0))
    eig = np.clip(eig, 0.0, 2.0)
    weakest = np.clip(weakest, -1.0, 1.0)
    count = int(np.count_nonzero((eig < 1.0 - threshold) & (weakest >= threshold)))
    return eig, weakest, count


class _Grams:
    """Cross products ``Xc[a].T @ Xc[b]`` of the sets, each computed once when first asked."""

    def __init__(self, Xc: list[np.ndarray]) -> None:
        self.Xc = Xc
        self.memo: dict[tuple[int, int], np.ndarray] = {}

    def block(self, a: int, b: int) -> np.ndarray:
        if a > b:
            return self.block(b, a).T
        if (a, b) not in self.memo:
            self.memo[(a, b)] = self.Xc[a].T @ self.Xc[b]
        return self.memo[(a, b)]

    def gram(self, sets: list[int]) -> np.ndarray:
        return np.block([[self.block(a, b) for b in sets] for a in sets])


def _pair_variates(var: _Variates, e: int, k: int) -> np.ndarray:
    """The edge's k significant canonical variates, averaged over its two sets, (N, k)."""
    rho = var.correlations[e][:k]
    return (var.tail[e][:, :k] + var.head[e][:, :k]) / np.sqrt(2.0 * (1.0 + rho))


def _seen_by_others(
    Xc: list[np.ndarray], G: _Grams, Y: np.ndarray, u: int, v: int
) -> tuple[np.ndarray, int]:
    """Canonical correlations of Y with every other set (ridge regression), descending; d_W."""
    from scipy.linalg import eigh

    others = [w for w in range(len(Xc)) if w not in (u, v)]
    Gww = G.gram(others)
    dw = Gww.shape[0]
    Gww[np.diag_indices(dw)] += RIDGE * max(float(np.trace(Gww)) / dw, np.finfo(float).tiny)
    Gwy = np.concatenate([Xc[w].T @ Y for w in others])  # (d_W, k)
    explained = Gwy.T @ np.linalg.solve(Gww, Gwy)  # ridge-fitted sums of squares, (k, k)
    tau2 = eigh((explained + explained.T) / 2, Y.T @ Y, eigvals_only=True)
    return np.sqrt(np.clip(tau2[::-1], 0.0, 1.0)), dw


def _pair_specific(
    Xc: list[np.ndarray], edges: np.ndarray, var: _Variates, n_sig: np.ndarray, threshold: float
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per edge: how the other sets see its significant directions; chance; specific count."""
    G = _Grams(Xc)
    N = Xc[0].shape[0]
    seen, chance = [], np.ones(len(edges))
    count = np.zeros(len(edges), dtype=np.int64)
    for e, (u, v) in enumerate(edges.tolist()):
        k = int(n_sig[e])
        if k == 0:
            seen.append(np.zeros(0))
            continue
        tau, dw = _seen_by_others(Xc, G, _pair_variates(var, e, k), u, v)
        chance[e] = chance_correlation(k, dw, N - 1)
        seen.append(tau)
        if chance[e] < 1.0:  # else too few rows for the others' dimensions: not determined
            count[e] = k - _significant(tau, threshold, chance[e])
    return seen, chance, count


def measure_sheaf(
    X: Sequence[Any], edges: Any, *, threshold: float = 0.5, cap: int = MAX_EDGE_DIM
) -> SheafMeasures:
    """Learn the sheaf of the modalities and measure where it is inconsistent.

    Parameters
    ----------
    X : sequence of array_like, each of shape (N, d_v)
        Three or more sets of the same N items (row i of each is item i).
    edges : array_like of int, shape (m, 2)
        The modality graph: pairs of indices into ``X``.
    threshold : float in [0, 1], default 0.5
        Correlation threshold: of the stalk dimensions and pair-specific
        dimensions (with the chance level), and of the global sections
        (eigenvalues below ``1 - threshold``).
    cap : int, default 32
        Most stalk dimensions per edge.

    Returns
    -------
    SheafMeasures

    Raises
    ------
    ValueError
        Fewer than 3 sets, rows that differ, fewer than 3 rows, non-finite
        entries, a constant set, or bad edges.

    References
    ----------
    .. [1] SheafAlign, arXiv:2510.20540 (2025).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report._sheaf_measures import measure_sheaf
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((500, 1))
    >>> X = [z @ rng.standard_normal((1, 4)) + 0.1 * rng.standard_normal((500, 4)) for _ in "abc"]
    >>> m = measure_sheaf(X, [(0, 1), (0, 2), (1, 2)])
    >>> m.edge_dims.tolist(), m.n_sections, m.n_specific.tolist()
    ([1, 1, 1], 1, [0, 0, 0])
    """
    if isinstance(X, (str, bytes, np.ndarray)) or not isinstance(X, Sequence) or len(X) < 3:
        raise ValueError(
            f"X must be a sequence of three or more (N, d) arrays; got {type(X).__name__}"
            + (f" of length {len(X)}" if isinstance(X, Sequence) else "")
        )
    threshold = check_real(threshold, "threshold", low=0.0, high=1.0)
    cap = check_int(cap, "cap", minimum=1)
    Xc = _centred(X, len(X))
    if Xc[0].shape[0] < 3:
        raise ValueError(f"X needs at least 3 rows (items); got {Xc[0].shape[0]}")
    E = _edge_list(edges, len(Xc))
    var = _edge_variates(Xc, E, cap)
    chance, n_sig = _edge_dims(Xc, E, var.correlations, threshold)
    dims = np.maximum(n_sig, 1)
    item_edge = _item_energies(var, dims)
    eig, weakest, n_sections = _global_sections(var, E, dims, len(Xc), threshold)
    seen, seen_chance, n_specific = _pair_specific(Xc, E, var, n_sig, threshold)
    return SheafMeasures(
        edges=E,
        edge_dims=dims,
        correlations=var.correlations,
        chance=chance,
        n_significant=n_sig,
        edge_inconsistency=item_edge.mean(axis=1),
        item_edge=item_edge,
        item_total=item_edge.mean(axis=0),
        section_eigenvalues=eig,
        section_weakest_edge=weakest,
        n_sections=n_sections,
        seen_by_others=seen,
        seen_chance=seen_chance,
        n_specific=n_specific,
    )
