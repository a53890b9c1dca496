"""Weighted Fréchet (Karcher) means of SPD matrices for the metrics of
:mod:`sheaftopo.geometry._spd`, batched over stacks: closed forms (the flat
metrics of :mod:`~sheaftopo.geometry._spd_metrics`), Riemannian gradient
descent (affine-invariant), the fixed-point iteration of Álvarez-Esteban et
al. (Bures–Wasserstein) and the log-det (Stein) mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_weights, check_int, check_real
from ._checks import (
    as_spd,
    cholesky,
    matrix_scale_exponents,
    not_positive_definite,
)
from ._spd_linalg import (
    _SCALE_SPAN,
    _chol_inv,
    _spd_exp_sym,
    _sym,
    _t,
    _whitened_eigh,
)
from ._spd_metrics import FLAT_METRICS, SPD_METRICS, flat_mean, metric_args

__all__ = ["SPDMean", "spd_mean"]


@dataclass(frozen=True)
class SPDMean:
    """A weighted Fréchet (Karcher) mean of SPD matrices, with solver diagnostics.

    For a stack of shape (N, n, n) the fields are scalars; for a batch of
    stacks, shape (..., N, n, n), every field is an array over the batch
    shape ``...`` (one mean, iteration count, convergence flag and gradient
    norm per stack).

    Attributes
    ----------
    mean : ndarray, shape (..., n, n)
        The mean(s), exactly symmetric.
    n_iter : int or ndarray of int, shape (...)
        Iterations performed (0 for closed forms).
    converged : bool or ndarray of bool, shape (...)
        Whether the gradient norm fell to ``tol`` within ``max_iter``
        iterations (always True for closed forms).
    gradient_norm : float or ndarray, shape (...)
        Norm of the gradient of the objective at the returned mean: for a
        metric, the Riemannian norm of the gradient of :math:`\\tfrac12
        \\sum_i w_i d^2(M, P_i)`, i.e. :math:`\\|\\sum_i w_i
        \\operatorname{Log}_M(P_i)\\|_M` (for the flat metrics,
        :math:`\\|\\sum_i w_i \\varphi(P_i) - \\varphi(M)\\|_F`, rounding
        only); for ``"stein"``, :math:`\\|L^T J L - I\\|_F` with
        :math:`M = L L^T` and :math:`J = \\sum_i w_i ((M + P_i)/2)^{-1}`.
    metric : str
        The metric (or ``"stein"``) used.
    """

    mean: np.ndarray
    n_iter: Any
    converged: Any
    gradient_norm: Any
    metric: str


def _weighted_sum(w: np.ndarray, f: np.ndarray, U: np.ndarray) -> np.ndarray:
    """``sum_k w_k U_k diag(f_k) U_k^T`` over axis -3 of the stacks, exactly symmetric."""
    return _sym(np.einsum("k,...kij->...ij", w, (U * f[..., None, :]) @ _t(U)))


def _affine_gradient(
    P: np.ndarray, w: np.ndarray, M: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cholesky factors ``L`` of ``M``, ``G = sum_i w_i log(L^{-1} P_i L^{-T})`` and ``||G||_F``."""
    L, Linv = _chol_inv(M, "the current mean")
    lam, U = _whitened_eigh(Linv[..., None, :, :], P, "P")
    if not (lam[..., 0] > 0).all():
        raise not_positive_definite(P, "P")
    G = _weighted_sum(w, np.log(lam), U)
    return L, G, np.linalg.norm(G, axis=(-2, -1))


def _put(mask: np.ndarray, new: tuple, old: tuple) -> tuple:
    """Elementwise (over the batch) choice between two tuples of arrays."""
    return tuple(
        np.where(mask.reshape(mask.shape + (1,) * (a.ndim - mask.ndim)), a, b)
        for a, b in zip(new, old, strict=True)
    )


def _affine_step(P, w, L, G, g, step, todo):
    """One Riemannian gradient step of length ``step`` from ``L L^T`` along ``G``, halved
    (from the same point) where the gradient norm would grow; only where ``todo``."""
    out = (L @ _t(L), L, G, g)
    trial = step.copy()
    while todo.any():
        Mt = _sym(L @ _spd_exp_sym(trial[..., None, None] * G) @ _t(L))
        Lt, Gt, gt = _affine_gradient(P, w, Mt)
        ok = todo & ((gt <= g) | (trial < 1e-6))
        out = _put(ok, (Mt, Lt, Gt, gt), out)
        todo = todo & ~ok
        trial = np.where(todo, 0.5 * trial, trial)
    return out, trial


def _affine_mean(P: np.ndarray, w: np.ndarray, M: np.ndarray, tol: float, max_iter: int) -> tuple:
    L, G, g = _affine_gradient(P, w, M)
    it = np.zeros(g.shape, dtype=np.int64)
    step = np.ones(g.shape)
    prev: tuple[np.ndarray, np.ndarray] | None = None
    active = g > tol
    while active.any() and int(it.max()) < max_iter:
        if prev is not None:
            # Barzilai-Borwein step from the last two gradients, in the whitened
            # coordinates of their base points, clamped to [0.1, 2].
            s_vec = prev[1][..., None, None] * prev[0]
            y_vec = prev[0] - G
            sy = np.einsum("...ij,...ij->...", s_vec, y_vec)
            ss = np.einsum("...ij,...ij->...", s_vec, s_vec)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(sy > 0, np.clip(ss / np.where(sy > 0, sy, 1.0), 0.1, 2.0), 1.0)
        (M, L_new, G_new, g), used = _affine_step(P, w, L, G, g, step, active)
        prev = (G, used)
        L, G = L_new, G_new
        it += active
        active = active & (g > tol)
    return M, it, g


def _fixed_point(update, S: np.ndarray, tol: float, max_iter: int) -> tuple:
    """Batched ``S <- update(S)`` until each batch element's gradient norm is at most ``tol``.

    ``update(S)`` returns the next iterate and the gradient norm at ``S``;
    converged elements are left as they are.
    """
    nxt, g = update(S)
    it = np.zeros(g.shape, dtype=np.int64)
    active = g > tol
    while active.any() and int(it.max()) < max_iter:
        (S,) = _put(active, (nxt,), (S,))
        it += active
        nxt, g = update(S)
        active = active & (g > tol)
    return S, it, g


def _bures_update(P: np.ndarray, w: np.ndarray):
    n = P.shape[-1]

    def update(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L, Linv = _chol_inv(S, "the current mean")
        Lb = L[..., None, :, :]
        lam, U = np.linalg.eigh(_t(Lb) @ P @ Lb)
        if not (lam[..., 0] > 0).all():
            raise not_positive_definite(P, "P")
        root = _weighted_sum(w, np.sqrt(lam), U)
        T = _sym(_t(Linv) @ root @ Linv)  # sum_i w_i T_{S -> P_i}
        D = (T - np.eye(n)) @ L
        # ||grad||_S = tr((T - I) S (T - I))^{1/2}, relative to tr(S)^{1/2}
        trace = np.trace(S, axis1=-2, axis2=-1)
        return _sym(T @ S @ T), np.linalg.norm(D, axis=(-2, -1)) / np.sqrt(trace)

    return update


def _stein_update(P: np.ndarray, w: np.ndarray):
    n = P.shape[-1]

    def update(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inv = np.linalg.inv(cholesky(0.5 * (M[..., None, :, :] + P), "P"))
        J = np.einsum("k,...kij->...ij", w, _t(inv) @ inv)  # sum_i w_i ((M + P_i)/2)^{-1}
        L = cholesky(M, "the current mean")
        G = _t(L) @ J @ L - np.eye(n)
        Jinv = np.linalg.inv(cholesky(_sym(J), "the current mean"))
        return _sym(_t(Jinv) @ Jinv), np.linalg.norm(G, axis=(-2, -1))

    return update


def spd_mean(
    P: Any,
    *,
    metric: str = "affine",
    power: Any = None,
    weights: Any = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    init: Any = None,
) -> SPDMean:
    r"""Weighted Fréchet (Karcher) mean :math:`\arg\min_M \sum_i w_i\, d^2(M, P_i)`, batched.

    * The flat metrics (``"log_euclidean"``, ``"power"``, ``"euclidean"``,
      ``"log_cholesky"``, see :func:`spd_distance`): the closed form
      :math:`\varphi^{-1}(\sum_i w_i \varphi(P_i))`, e.g.
      :math:`\exp(\sum_i w_i \log P_i)`, :math:`(\sum_i w_i P_i^\alpha)^{1/\alpha}`
      (pyRiemann's ``mean_poweuclid``; ``power=-1`` is the **harmonic mean**
      :math:`(\sum_i w_i P_i^{-1})^{-1}`, ``power=1`` the arithmetic mean),
      and Lin's log-Cholesky mean.
    * ``"affine"``: Riemannian gradient descent
      :math:`M \leftarrow \operatorname{Exp}_M(\tau \sum_i w_i
      \operatorname{Log}_M(P_i))` started at the arithmetic mean (or
      ``init``), with :math:`\tau = 1` (the Karcher flow) for the first step
      and Barzilai–Borwein steps (clamped to :math:`[0.1, 2]`) after, each
      halved from the same point while the gradient norm would grow. The
      mean exists and is unique (the manifold has non-positive curvature).
      When the :math:`P_i` commute, the first step from their (commuting)
      arithmetic mean lands on the closed form :math:`\exp(\sum_i w_i \log
      P_i)`. Stops when :math:`\|\sum_i w_i \log(M^{-1/2} P_i M^{-1/2})\|_F \le`
      ``tol`` (the Riemannian gradient norm, dimensionless).
    * ``"bures"``: the fixed-point iteration
      :math:`S \leftarrow \bar T S \bar T`, :math:`\bar T = \sum_i w_i T_{S \to P_i}`
      of Álvarez-Esteban et al. [3]_, which converges from any SPD start (the
      arithmetic mean by default). Stops when the Riemannian gradient norm
      :math:`\operatorname{tr}((\bar T - I) S (\bar T - I))^{1/2}` is at most
      ``tol`` times :math:`(\operatorname{tr} S)^{1/2}` (relative, as the
      Bures distance scales like the square root of the matrices).
    * ``"stein"``: the **log-det mean**, the minimiser of :math:`\sum_i w_i
      S(M, P_i)` for the Stein (S-) divergence :math:`S(X, Y) = \log\det
      \frac{X + Y}{2} - \frac12 \log\det(XY)` (:func:`stein_divergence`),
      by the fixed-point iteration :math:`M \leftarrow (\sum_i w_i ((M +
      P_i)/2)^{-1})^{-1}` of pyRiemann's ``mean_logdet`` [4]_. Stops when
      :math:`\|L^T J L - I\|_F \le` ``tol`` (:math:`M = LL^T`, :math:`J` the
      sum above: the relative gradient, dimensionless). The iteration
      converges linearly, slowly for ill-conditioned stacks (raise
      ``max_iter`` there; ``converged`` tells).

    A batch of stacks, shape (..., N, n, n), is averaged over its N axis for
    every batch index at once (vectorised iterations; each stack stops on its
    own, and the result's fields are arrays over the batch shape).

    Parameters
    ----------
    P : array_like, shape (..., N, n, n)
        The SPD matrices (N >= 1 per stack).
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``, ``"stein"``.
    power : float, optional
        The exponent :math:`\alpha \in [-10, 10]` of ``metric="power"`` (required
        there, refused with the other metrics).
    weights : array_like, shape (N,), optional
        Non-negative weights summing to one (within 1e-6; they are refused
        otherwise, not renormalised); uniform by default. The same for every
        stack of a batch.
    tol : float, default 1e-10
        Gradient-norm tolerance, see above.
    max_iter : int, default 100
        Iteration limit; ``converged`` is False when it is reached first.
    init : array_like, shape (..., n, n), optional
        Starting point(s) of the iterative methods (ignored by the closed
        forms); broadcast over the batch.

    Returns
    -------
    SPDMean
        The mean with ``n_iter``, ``converged`` and ``gradient_norm`` (scalars
        for one stack, arrays over the batch shape otherwise).

    Raises
    ------
    ValueError
        On invalid matrices, an input that is not (..., N, n, n), bad weights,
        ``tol <= 0``, ``max_iter < 0``, ``power`` missing for or given to the
        wrong metric, or a closed-form mean that leaves the cone.

    References
    ----------
    .. [1] H. Karcher, "Riemannian center of mass and mollifier smoothing",
       Comm. Pure Appl. Math. 30(5), 1977.
    .. [2] M. Moakher, "A differential geometric approach to the geometric mean
       of symmetric positive-definite matrices", SIAM J. Matrix Anal. Appl.
       26(3), 2005.
    .. [3] P. C. Álvarez-Esteban, E. del Barrio, J. A. Cuesta-Albertos,
       C. Matrán, "A fixed-point approach to barycenters in Wasserstein
       space", J. Math. Anal. Appl. 441(2), 2016.
    .. [4] Z. Chebbi, M. Moakher, "Means of Hermitian positive-definite
       matrices based on the log-determinant alpha-divergence function",
       Linear Algebra Appl. 436(7), 2012.

    Examples
    --------
    For commuting matrices every mean has a closed form; the affine one is
    the geometric mean, the power mean with ``power=-1`` the harmonic one:

    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_mean
    >>> P = np.stack([np.diag([1.0, 4.0]), np.diag([4.0, 1.0])])
    >>> res = spd_mean(P)
    >>> res.mean, res.n_iter, res.converged
    (array([[2., 0.],
           [0., 2.]]), 1, True)
    >>> spd_mean(P, metric="bures").mean  # ((1 + 2) / 2)^2
    array([[2.25, 0.  ],
           [0.  , 2.25]])
    >>> spd_mean(P, metric="power", power=-1).mean  # 2 / (1 + 1/4)
    array([[1.6, 0. ],
           [0. , 1.6]])
    >>> spd_mean(np.stack([P, 2 * P])).mean.shape  # two stacks, two means
    (2, 2, 2)
    """
    metric, alpha = metric_args(metric, power, (*SPD_METRICS, "stein"))
    P = _as_stacks(P)
    w = as_weights(weights, P.shape[-3], "weights")
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    M0 = None if init is None else _as_init(init, P)
    # Every mean is scale-equivariant (mean(cP) = c mean(P)): compute each stack at
    # its unit scale 4^-k (exact) and scale back.
    e = _stack_exponents(P)
    P = np.ldexp(P, -e[..., None, None, None])
    if M0 is not None:
        M0 = np.ldexp(M0, -e[..., None, None])
        cholesky(M0, "init")
    if metric in FLAT_METRICS:
        M, g = flat_mean(P, w, metric, alpha)
        it, g_ok = np.zeros(g.shape, dtype=np.int64), g
    else:
        start = _sym(np.einsum("k,...kij->...ij", w, P)) if M0 is None else M0
        if metric == "affine":
            M, it, g = _affine_mean(P, w, start, tol, max_iter)
        else:
            update = (_bures_update if metric == "bures" else _stein_update)(P, w)
            M, it, g = _fixed_point(update, start, tol, max_iter)
        g_ok = g
        if metric == "bures":  # relative to tr(S)^{1/2} in the iteration: absolute here
            g = np.ldexp(g * np.sqrt(np.trace(M, axis1=-2, axis2=-1)), e // 2)
    converged = np.ones(g.shape, dtype=bool) if metric in FLAT_METRICS else g_ok <= tol
    mean = np.ldexp(M, e[..., None, None])
    if mean.ndim == 2:
        return SPDMean(mean, int(it), bool(converged), float(g), metric)
    return SPDMean(mean, it, converged, g, metric)


def _as_stacks(P: Any) -> np.ndarray:
    """SPD stacks of shape (..., N, n, n), N >= 1."""
    arr = as_spd(P, "P")
    if arr.ndim < 3:
        raise ValueError(
            "P must be a stack of matrices of shape (n_matrices, n, n) or a batch of stacks "
            f"(..., n_matrices, n, n); got shape {arr.shape}"
        )
    if arr.shape[-3] == 0 or arr.size == 0:
        raise ValueError(f"P must hold at least one matrix per stack; got shape {arr.shape}")
    return arr


def _as_init(init: Any, P: np.ndarray) -> np.ndarray:
    M0 = as_spd(init, "init")
    try:
        shape = np.broadcast_shapes(M0.shape, P.shape[:-3] + P.shape[-2:])
    except ValueError:
        shape = None
    if M0.shape[-2:] != P.shape[-2:] or shape != P.shape[:-3] + P.shape[-2:]:
        raise ValueError(
            f"init must have shape {P.shape[-2:]} or {P.shape[:-3] + P.shape[-2:]}; "
            f"got shape {M0.shape}"
        )
    return np.broadcast_to(M0, shape)


def _stack_exponents(P: np.ndarray) -> np.ndarray:
    """Even exponents per stack (batch shape) of its largest matrix; refuses too wide spans."""
    e_each = matrix_scale_exponents(P, even=True)
    e = e_each.max(axis=-1)
    span = e - e_each.min(axis=-1)
    if (span > _SCALE_SPAN).any():
        b = np.unravel_index(int(np.argmax(span)), span.shape) if span.ndim else ()
        row = e_each[b]
        i, j = int(np.argmax(row)), int(np.argmin(row))
        raise ValueError(
            f"P holds matrices of too different scales for a mean in float64: P[{i}] is "
            f"about 2^{row[i]} and P[{j}] about 2^{row[j]} (ratio above 2^{_SCALE_SPAN})"
        )
    return e
