"""Weighted Fréchet (Karcher) means of SPD matrices for the three metrics of
:mod:`sheaftopo.geometry._spd`: closed form (log-Euclidean), Riemannian
gradient descent (affine-invariant) and the fixed-point iteration of
Álvarez-Esteban et al. (Bures–Wasserstein).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_weights, check_choice, check_int, check_real
from ._checks import (
    as_spd,
    as_spd_batch,
    cholesky,
    matrix_scale_exponents,
    not_positive_definite,
)
from ._spd_linalg import (
    _SCALE_SPAN,
    METRICS,
    _chol_inv,
    _spd_exp_sym,
    _spd_log,
    _sym,
    _t,
    _weighted_sum_from_eig,
    _whitened_eigh,
)

__all__ = ["SPDMean", "spd_mean"]


@dataclass(frozen=True)
class SPDMean:
    """A weighted Fréchet (Karcher) mean of SPD matrices, with solver diagnostics.

    Attributes
    ----------
    mean : ndarray, shape (n, n)
        The mean, exactly symmetric.
    n_iter : int
        Iterations performed (0 for closed forms).
    converged : bool
        Whether the gradient norm fell to ``tol`` within ``max_iter``
        iterations (always True for closed forms).
    gradient_norm : float
        Riemannian norm of the gradient of :math:`\\tfrac12 \\sum_i w_i
        d^2(M, P_i)` at the returned mean, i.e. :math:`\\|\\sum_i w_i
        \\operatorname{Log}_M(P_i)\\|_M` (for ``"log_euclidean"``,
        :math:`\\|\\sum_i w_i \\log P_i - \\log M\\|_F`).
    metric : str
        The metric used.
    """

    mean: np.ndarray
    n_iter: int
    converged: bool
    gradient_norm: float
    metric: str


def _affine_gradient(
    P: np.ndarray, w: np.ndarray, M: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Cholesky factor ``L`` of ``M``, ``G = sum_i w_i log(L^{-1} P_i L^{-T})`` and ``||G||_F``."""
    L, Linv = _chol_inv(M, "the current mean")
    lam, U = _whitened_eigh(Linv, P, "P")
    if not (lam[:, 0] > 0).all():
        raise not_positive_definite(P, "P")
    G = _weighted_sum_from_eig(w, np.log(lam), U)
    return L, G, float(np.linalg.norm(G))


def _affine_mean(P: np.ndarray, w: np.ndarray, M: np.ndarray, tol: float, max_iter: int) -> SPDMean:
    L, G, gnorm = _affine_gradient(P, w, M)
    step, it = 1.0, 0
    prev: tuple[np.ndarray, float] | None = None
    while gnorm > tol and it < max_iter:
        it += 1
        if prev is not None:
            # Barzilai-Borwein step from the last two gradients, in the whitened
            # coordinates of their base points, clamped to [0.1, 2].
            s_vec = prev[1] * prev[0]
            y_vec = prev[0] - G
            sy = float(np.vdot(s_vec, y_vec))
            step = min(max(float(np.vdot(s_vec, s_vec)) / sy, 0.1), 2.0) if sy > 0 else 1.0
        # Riemannian gradient step M <- Exp_M(step * sum_i w_i Log_M(P_i)); the step is
        # halved (from the same point) while the gradient norm would grow.
        while True:
            M_new = _sym(L @ _spd_exp_sym(step * G) @ _t(L))
            L_new, G_new, g_new = _affine_gradient(P, w, M_new)
            if g_new <= gnorm or step < 1e-6:
                break
            step *= 0.5
        prev = (G, step)
        M, L, G, gnorm = M_new, L_new, G_new, g_new
    return SPDMean(M, it, gnorm <= tol, gnorm, "affine")


def _bures_mean(P: np.ndarray, w: np.ndarray, S: np.ndarray, tol: float, max_iter: int) -> SPDMean:
    n = P.shape[-1]
    eye = np.eye(n)

    def mean_map(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        L, Linv = _chol_inv(S, "the current mean")
        lam, U = np.linalg.eigh(_t(L) @ P @ L)
        if not (lam[:, 0] > 0).all():
            raise not_positive_definite(P, "P")
        root = _weighted_sum_from_eig(w, np.sqrt(lam), U)
        T = _sym(_t(Linv) @ root @ Linv)  # sum_i w_i T_{S -> P_i}
        D = (T - eye) @ L
        # ||grad||_S = tr((T - I) S (T - I))^{1/2}, relative to tr(S)^{1/2}
        return T, D, float(np.linalg.norm(D) / math.sqrt(np.trace(S)))

    T, _, gnorm = mean_map(S)
    it = 0
    while gnorm > tol and it < max_iter:
        it += 1
        S = _sym(T @ S @ T)  # the fixed-point map of Álvarez-Esteban et al.
        T, _, gnorm = mean_map(S)
    return SPDMean(S, it, gnorm <= tol, gnorm * math.sqrt(np.trace(S)), "bures")


def spd_mean(
    P: Any,
    *,
    metric: str = "affine",
    weights: Any = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    init: Any = None,
) -> SPDMean:
    r"""Weighted Fréchet (Karcher) mean :math:`\arg\min_M \sum_i w_i\, d^2(M, P_i)`.

    * ``"log_euclidean"``: the closed form :math:`\exp(\sum_i w_i \log P_i)`.
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

    Parameters
    ----------
    P : array_like, shape (N, n, n)
        The SPD matrices.
    metric : {"affine", "log_euclidean", "bures"}, default "affine"
    weights : array_like, shape (N,), optional
        Non-negative weights summing to one (within 1e-6; they are refused
        otherwise, not renormalised); uniform by default.
    tol : float, default 1e-10
        Gradient-norm tolerance, see above.
    max_iter : int, default 100
        Iteration limit; ``converged`` is False when it is reached first.
    init : array_like, shape (n, n), optional
        Starting point of the iterative methods (ignored for
        ``"log_euclidean"``).

    Returns
    -------
    SPDMean
        The mean with ``n_iter``, ``converged`` and ``gradient_norm``.

    Raises
    ------
    ValueError
        On invalid matrices, a stack that is not (N, n, n), bad weights,
        ``tol <= 0`` or ``max_iter < 0``.

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

    Examples
    --------
    For commuting matrices every mean has a closed form; the affine one is
    the geometric mean:

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
    """
    metric = check_choice(metric, "metric", METRICS)
    P = as_spd_batch(P, "P")
    w = as_weights(weights, P.shape[0], "weights")
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    M0 = None
    if init is not None:
        M0 = as_spd(init, "init")
        if M0.shape != P.shape[1:]:
            raise ValueError(f"init must have shape {P.shape[1:]}; got shape {M0.shape}")
    # Every mean is scale-equivariant (mean(cP) = c mean(P)): compute at the common
    # unit scale 4^-k (exact) and scale back.
    e_each = matrix_scale_exponents(P, even=True)
    e = int(e_each.max())
    if e - int(e_each.min()) > _SCALE_SPAN:
        i, j = int(np.argmax(e_each)), int(np.argmin(e_each))
        raise ValueError(
            f"P holds matrices of too different scales for a mean in float64: P[{i}] is "
            f"about 2^{e_each[i]} and P[{j}] about 2^{e_each[j]} (ratio above 2^{_SCALE_SPAN})"
        )
    P = np.ldexp(P, -e)
    if M0 is not None:
        M0 = np.ldexp(M0, -e)
        cholesky(M0, "init")
    if metric == "log_euclidean":
        target = np.tensordot(w, _spd_log(P, "P")[0], axes=1)
        M = _spd_exp_sym(target)
        gnorm = float(np.linalg.norm(target - _spd_log(M, "the mean")[0]))
        return SPDMean(np.ldexp(M, e), 0, True, gnorm, "log_euclidean")
    start = _sym(np.tensordot(w, P, axes=1)) if M0 is None else M0
    if metric == "bures":
        res = _bures_mean(P, w, start, tol, max_iter)
        return SPDMean(
            np.ldexp(res.mean, e),
            res.n_iter,
            res.converged,
            math.ldexp(res.gradient_norm, e // 2),
            "bures",
        )
    res = _affine_mean(P, w, start, tol, max_iter)
    return SPDMean(np.ldexp(res.mean, e), res.n_iter, res.converged, res.gradient_norm, "affine")
