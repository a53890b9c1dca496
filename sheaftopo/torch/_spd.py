r"""SPD matrix functions with an accurate backward pass, finite at repeated eigenvalues.

For a symmetric :math:`A = U\,\mathrm{diag}(\lambda)\,U^\top` and a scalar
function :math:`f`, :math:`f(A) = U\,\mathrm{diag}(f(\lambda))\,U^\top` and
(Daleckii–Krein)

.. math::

    \mathrm{d}f(A)[E] = U\big(K \circ (U^\top E U)\big)U^\top, \qquad
    K_{ij} = \frac{f(\lambda_i) - f(\lambda_j)}{\lambda_i - \lambda_j}
    \ (\lambda_i \ne \lambda_j), \quad K_{ii} = f'(\lambda_i).

Autograd through ``torch.linalg.eigh`` divides by :math:`\lambda_i -
\lambda_j` and returns NaN or inf when two eigenvalues coincide (at the
identity, for instance), and the plain divided difference loses every digit
to cancellation when they nearly do. Here each divided difference is
evaluated by a closed form that has no cancellation for *any* pair
(:math:`a = \max`, :math:`b = \min` of the pair, :math:`\delta = a - b \ge 0`):

* :math:`\log`: :math:`\mathrm{log1p}(\delta / b) / \delta`;
* :math:`\sqrt{\cdot}`: :math:`1 / (\sqrt a + \sqrt b)`;
* :math:`1/\sqrt{\cdot}`: :math:`-1 / \big(\sqrt a\sqrt b(\sqrt a + \sqrt b)\big)`;
* :math:`\exp`: :math:`e^{a}\,(-\mathrm{expm1}(-\delta)) / \delta`,

each equal to :math:`f'` in the limit :math:`\delta \to 0` (used at
:math:`\delta = 0`). So the gradient is accurate to a few units of rounding
in the kernel :math:`K` whatever the spacing of the spectrum — clustered,
tiny or ill-conditioned — and finite and exact at repeated eigenvalues.

Every matrix is divided by a power of two (exact) before ``eigh``, and the
homogeneity of :math:`\log`, :math:`\sqrt{\cdot}` and :math:`1/\sqrt{\cdot}`
is used to scale back, so entries anywhere in the floating-point range work.
A result (or gradient) that does not fit the dtype — :math:`e^{1000}`, say —
raises ``ValueError`` naming ``A``.

References
----------
.. [1] Ju. L. Daleckii, S. G. Krein, "Integration and differentiation of
   functions of Hermitian operators", 1965; N. J. Higham, *Functions of
   Matrices*, SIAM 2008, Thm. 3.11 and §11.3 (divided differences).
.. [2] X. Pennec, P. Fillard, N. Ayache, "A Riemannian framework for tensor
   computing", IJCV 66, 2006 (affine-invariant metric).
.. [3] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus
   on diffusion tensors", MRM 56, 2006.
.. [4] R. Bhatia, T. Jain, Y. Lim, "On the Bures–Wasserstein distance between
   positive definite matrices", Expo. Math. 37, 2019.
.. [5] S. Sra, "Positive definite matrices and the S-divergence", Proc. AMS
   144, 2016.
"""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_choice
from ._checks import (
    as_matrix_batch,
    check_same_device,
    check_same_dtype,
    check_value,
    guard_grad,
)

__all__ = ["expm", "invsqrtm", "logm", "spd_distance", "sqrtm", "stein_divergence"]

SPD_METRICS = ("affine", "log_euclidean", "bures")

#: matrix functions that need positive eigenvalues
_POSITIVE = {"log": True, "sqrt": True, "invsqrt": True, "exp": False}

_WHAT = {"log": "logm", "sqrt": "sqrtm", "invsqrt": "invsqrtm", "exp": "expm"}


def _sym(A: torch.Tensor) -> torch.Tensor:
    return 0.5 * (A + A.mT)


def _even_power_of_two(A: torch.Tensor) -> torch.Tensor:
    """Per matrix, s = 4**k with max|A| / s in [1, 4) (1 for a zero matrix); shape (..., 1).

    The exponent is even, so sqrt(s) is a power of two too, and s stays finite
    for every finite A (subnormal entries included).
    """
    return _even_power_of_two_of(A.detach().abs().amax(dim=(-2, -1))).unsqueeze(-1)


def _even_power_of_two_of(top: torch.Tensor) -> torch.Tensor:
    """Elementwise 4**k with top / 4**k in [1, 4) (1 where top is 0), same shape as ``top``."""
    _, e = torch.frexp(torch.where(top > 0, top, torch.ones_like(top)))
    e = e - 1 - ((e - 1) % 2)  # top = m 2**e, m in [1/2, 1): 2**(e-1) <= top < 2**e
    return torch.ldexp(torch.ones_like(top), e)


def _values(name: str, mu: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """f(mu * s) from the eigenvalues ``mu`` of A / s, without forming mu * s where it matters."""
    if name == "log":
        return torch.log(mu) + torch.log(s)
    if name == "sqrt":
        return torch.sqrt(mu) * torch.sqrt(s)
    if name == "invsqrt":
        return torch.rsqrt(mu) / torch.sqrt(s)
    return torch.exp(mu * s)


def _divided_differences(name: str, mu: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The Daleckii–Krein kernel K of f at the eigenvalues lam = mu * s, cancellation-free.

    Every factor is formed at the scale of lam (sqrt(lam), 1/sqrt(lam), lam_a -
    lam_b), never of mu with a power of s applied last, so that no intermediate
    overflows where K itself fits (a spectrum spanning 1e-150 .. 1e150, say).
    """
    a = torch.maximum(mu.unsqueeze(-1), mu.unsqueeze(-2))
    b = torch.minimum(mu.unsqueeze(-1), mu.unsqueeze(-2))
    s = s.unsqueeze(-1)
    if name in ("sqrt", "invsqrt"):
        root = torch.sqrt(s)
        sa, sb = torch.sqrt(a) * root, torch.sqrt(b) * root  # sqrt(lam_a), sqrt(lam_b)
        if name == "sqrt":
            return 1.0 / (sa + sb)
        ra, rb = torch.rsqrt(a) / root, torch.rsqrt(b) / root  # 1 / sqrt(lam)
        return -ra * (rb / (sa + sb))
    if name == "exp":
        a, b = a * s, b * s
    delta = a - b
    same = delta == 0
    safe = torch.where(same, torch.ones_like(delta), delta)
    if name == "exp":
        return torch.exp(a) * torch.where(same, torch.ones_like(delta), -torch.expm1(-safe) / safe)
    # log: log(a / b) / (a - b) = log1p(delta / b) / delta, with 1 / a at delta = 0; when
    # delta / b overflows (a spectrum wider than the dtype), log a - log b has no cancellation
    ratio = delta / b
    wide = torch.isinf(ratio)
    num = torch.where(
        wide,
        torch.log(a) - torch.log(b),
        torch.log1p(torch.where(wide, torch.zeros_like(ratio), ratio)),
    )
    return torch.where(same, 1.0 / (a * s), num / (safe * s))


class _EighFunction(torch.autograd.Function):
    """f(A) for symmetric A through eigh, with the cancellation-free Daleckii–Krein backward."""

    @staticmethod
    def forward(ctx: Any, A: torch.Tensor, name: str, argname: str = "A") -> torch.Tensor:
        s = _even_power_of_two(A)
        mu, U = torch.linalg.eigh(A / s.unsqueeze(-1))
        if _POSITIVE[name] and bool((mu <= 0).any()):
            smallest = float((mu * s).min())
            raise ValueError(
                f"{_WHAT[name]} needs a positive definite {argname}; got a smallest "
                f"eigenvalue of {smallest:.3g}"
            )
        flam = _values(name, mu, s)
        if not bool(torch.isfinite(flam).all()):
            lam = mu * s
            raise ValueError(
                f"{_WHAT[name]}({argname}) does not fit in {A.dtype}: {argname} has "
                f"eigenvalues in [{float(lam.min()):.3g}, {float(lam.max()):.3g}]"
            )
        ctx.save_for_backward(mu, U, s)
        ctx.name = name
        ctx.argname = argname
        return (U * flam.unsqueeze(-2)) @ U.mT

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        mu, U, s = ctx.saved_tensors
        K = _divided_differences(ctx.name, mu, s)
        grad = U @ (K * (U.mT @ _sym(G) @ U)) @ U.mT
        if not bool(torch.isfinite(grad).all()) and bool(torch.isfinite(G).all()):
            lam = mu * s
            raise ValueError(
                f"the gradient of {_WHAT[ctx.name]} with respect to {ctx.argname} does not "
                f"fit in {G.dtype}: {ctx.argname} has eigenvalues in "
                f"[{float(lam.min()):.3g}, {float(lam.max()):.3g}]"
            )
        return grad, None, None


def _apply(A: Any, name: str, argname: str) -> torch.Tensor:
    A = as_matrix_batch(A, argname)
    return _EighFunction.apply(_sym(A), name)


def logm(A: torch.Tensor) -> torch.Tensor:
    r"""Matrix logarithm of SPD matrices, batched over leading dimensions.

    Parameters
    ----------
    A : Tensor, shape (..., n, n)
        Symmetric positive definite (the symmetric part is used).

    Returns
    -------
    Tensor, shape (..., n, n)
        Symmetric. The gradient is finite at repeated eigenvalues.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import logm
    >>> A = torch.eye(2, dtype=torch.float64, requires_grad=True)
    >>> logm(A).sum().backward()
    >>> A.grad
    tensor([[1., 1.],
            [1., 1.]], dtype=torch.float64)
    """
    return _apply(A, "log", "A")


def sqrtm(A: torch.Tensor) -> torch.Tensor:
    """Principal square root of SPD matrices, batched; finite gradient at repeated eigenvalues.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sqrtm
    >>> sqrtm(torch.diag(torch.tensor([4.0, 9.0])))
    tensor([[2., 0.],
            [0., 3.]])
    """
    return _apply(A, "sqrt", "A")


def invsqrtm(A: torch.Tensor) -> torch.Tensor:
    r"""Inverse principal square root :math:`A^{-1/2}` of SPD matrices, batched.

    Works at any magnitude of ``A`` (computed at unit scale); the gradient,
    of order :math:`\lambda_{\min}^{-3/2}`, can exceed the dtype where the
    value does not (``A = 1e-300 I``): the backward then raises ``ValueError``
    naming ``A``.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import invsqrtm
    >>> invsqrtm(torch.diag(torch.tensor([4.0, 0.25])))
    tensor([[0.5000, 0.0000],
            [0.0000, 2.0000]])
    """
    return _apply(A, "invsqrt", "A")


def expm(A: torch.Tensor) -> torch.Tensor:
    """Matrix exponential of symmetric matrices (result SPD), batched, via eigh.

    An eigenvalue above ``log`` of the dtype's largest number (about 709.8
    in float64, 88.7 in float32) makes the result overflow: ``ValueError``
    naming ``A``, never inf.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import expm, logm
    >>> A = torch.tensor([[1.0, 0.5], [0.5, 2.0]], dtype=torch.float64)
    >>> torch.allclose(logm(expm(A)), A)
    True
    """
    return _apply(A, "exp", "A")


def _as_spd(A: Any, name: str) -> torch.Tensor:
    """Symmetric (to a relative tolerance) positive definite; returns the symmetric part."""
    A = guard_grad(as_matrix_batch(A, name), name)
    tol = 1e3 * torch.finfo(A.dtype).eps
    Ad = A.detach()
    asym = float((Ad - Ad.mT).abs().amax()) if A.numel() else 0.0
    size = float(Ad.abs().amax()) if A.numel() else 0.0
    if asym > tol * max(size, 1e-300):
        raise ValueError(
            f"{name} must be symmetric; the largest |{name} - {name}^T| is {asym:.3g}, above "
            f"{tol:.1e} times the largest entry"
        )
    Ad = Ad / _even_power_of_two(Ad).unsqueeze(-1)  # exact; subnormal entries at unit scale
    _, info = torch.linalg.cholesky_ex(Ad)
    if bool((info > 0).any()):
        bad = tuple((info > 0).nonzero()[0].tolist())
        where = f" (batch index {bad})" if A.ndim > 2 else ""
        raise ValueError(f"{name} must be positive definite; a matrix is not{where}")
    return _sym(A)


def _pair_at_unit_scale(
    P: torch.Tensor, Q: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """P / s, Q / s and s: one power of four per pair (exact), largest entry in [1, 4).

    The squared Bures distance scales by ``s``; no factor or gradient then
    under- or overflows for matrices anywhere in the floating-point range.
    (The affine-invariant and log-Euclidean distances and the Stein divergence
    scale each matrix separately.)
    """
    top = torch.maximum(P.detach().abs().amax(dim=(-2, -1)), Q.detach().abs().amax(dim=(-2, -1)))
    scale = _even_power_of_two_of(top)
    return P / scale[..., None, None], Q / scale[..., None, None], scale


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    pos = s > 0
    return torch.where(pos, torch.where(pos, s, torch.ones_like(s)).sqrt(), torch.zeros_like(s))


def spd_distance(
    P: torch.Tensor, Q: torch.Tensor, *, metric: str = "affine", squared: bool = False
) -> torch.Tensor:
    r"""Riemannian distances between batches of SPD matrices, differentiable.

    ``"affine"`` (affine-invariant):
    :math:`d(P, Q) = \|\log(P^{-1/2} Q P^{-1/2})\|_F
    = \big(\sum_i \log^2 \lambda_i(P^{-1}Q)\big)^{1/2}`, computed from the
    generalized eigenvalues with a Cholesky factor of :math:`P`.
    ``"log_euclidean"``: :math:`\|\log P - \log Q\|_F`.
    ``"bures"`` (Bures–Wasserstein):
    :math:`\big(\mathrm{tr} P + \mathrm{tr} Q - 2\,\mathrm{tr}(P^{1/2} Q P^{1/2})^{1/2}\big)^{1/2}`,
    the 2-Wasserstein distance between centred Gaussians with these covariances.

    Parameters
    ----------
    P, Q : Tensor, shape (..., n, n)
        SPD matrices; leading dimensions broadcast. Symmetric to a relative
        tolerance of ``1e3 * eps`` of the dtype (the symmetric part is used).
    metric : {"affine", "log_euclidean", "bures"}
    squared : bool, default False
        Return :math:`d^2`, which is smooth at ``P == Q`` (where :math:`d`
        itself is not differentiable; its gradient is returned as 0 there).

    Returns
    -------
    Tensor, shape (...)

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import spd_distance
    >>> P = torch.eye(2, dtype=torch.float64)
    >>> Q = torch.diag(torch.tensor([1.0, torch.e ** 2], dtype=torch.float64))
    >>> float(spd_distance(P, Q))
    2.0
    >>> round(float(spd_distance(P, 4 * P, metric="bures")), 12)  # sqrt(2) * (2 - 1)
    1.414213562373
    """
    P = _as_spd(P, "P")
    Q = _as_spd(Q, "Q")
    check_same_device({"P": P, "Q": Q})
    check_same_dtype({"P": P, "Q": Q})
    if P.shape[-1] != Q.shape[-1]:
        raise ValueError(
            f"P and Q must be matrices of the same size; got shapes {tuple(P.shape)} and "
            f"{tuple(Q.shape)}"
        )
    try:
        torch.broadcast_shapes(P.shape[:-2], Q.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"the batch shapes of P {tuple(P.shape[:-2])} and Q {tuple(Q.shape[:-2])} do "
            "not broadcast"
        ) from exc
    metric = check_choice(metric, "metric", SPD_METRICS)
    if metric == "affine":
        # each matrix at its own unit scale: lambda(P^-1 Q) = (s_Q / s_P) lambda(Ps^-1 Qs)
        sp, sq_ = _even_power_of_two(P), _even_power_of_two(Q)
        L = torch.linalg.cholesky(P / sp.unsqueeze(-1))
        X = torch.linalg.solve_triangular(L, Q / sq_.unsqueeze(-1), upper=False)
        M = torch.linalg.solve_triangular(L, X.mT, upper=False)  # L^-1 Qs L^-T
        lam = torch.linalg.eigvalsh(_sym(M))
        if bool((lam <= 0).any()):
            raise ValueError(
                "P and Q must be positive definite relative to each other: P^-1 Q has a "
                f"numerically zero eigenvalue (smallest {float(lam.min()):.3g} at unit scale)"
            )
        sq = (torch.log(lam) + (torch.log(sq_) - torch.log(sp))).square().sum(dim=-1)
        return sq if squared else _safe_sqrt(sq)
    if metric == "log_euclidean":
        # each at its own unit scale: log P - log Q = log Ps - log Qs + log(s_P / s_Q) I,
        # the shift exactly 0 when the scales agree
        sp, sq_ = _even_power_of_two(P), _even_power_of_two(Q)
        shift = (torch.log(sp) - torch.log(sq_)).unsqueeze(-1)
        eye = torch.eye(P.shape[-1], dtype=P.dtype, device=P.device)
        diff = (
            _EighFunction.apply(P / sp.unsqueeze(-1), "log", "P")
            - _EighFunction.apply(Q / sq_.unsqueeze(-1), "log", "Q")
            + shift * eye
        )
        sq = diff.square().sum(dim=(-2, -1))
        return sq if squared else _safe_sqrt(sq)
    P, Q, scale = _pair_at_unit_scale(P, Q)
    try:
        sq = check_value(_bures_squared(P, Q) * scale, "the squared Bures distance", ("P", "Q"))
    except ValueError as err:
        raise ValueError(
            f"P and Q are too far apart in scale for the {metric} distance in {P.dtype}: at "
            f"their common scale one is numerically singular ({err})"
        ) from None
    return sq if squared else _safe_sqrt(sq)


def _bures_squared(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    r"""Squared Bures distance :math:`\min_O \|L_P - L_Q O\|_F^2` over orthogonal O.

    Equal to :math:`\mathrm{tr} P + \mathrm{tr} Q - 2\,\mathrm{tr}(P^{1/2}QP^{1/2})^{1/2}`
    without its cancellation (which left ~sqrt(eps tr P) in the distance of a
    matrix to itself). The optimal O (the polar factor of :math:`L_Q^\top L_P`)
    is found without gradient: by the envelope theorem the gradient of the
    minimum is that of :math:`\|L_P - L_Q O\|^2` at fixed optimal O.
    """
    A, info_p = torch.linalg.cholesky_ex(P)
    B, info_q = torch.linalg.cholesky_ex(Q)
    if bool((info_p > 0).any()) or bool((info_q > 0).any()):
        raise ValueError("a Cholesky factorisation failed")
    with torch.no_grad():
        W, _, Vh = torch.linalg.svd(B.mT @ A)
        O = W @ Vh
    return (A - B @ O).square().sum(dim=(-2, -1))


def stein_divergence(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    r"""The Jensen–Bregman log-det (Stein) divergence of SPD matrices, batched.

    :math:`S(P, Q) = \log\det\frac{P + Q}{2} - \tfrac12\log\det(PQ)`: zero
    iff :math:`P = Q`, symmetric, invariant under :math:`P \mapsto APA^\top`,
    and :math:`\sqrt{S}` is a metric (Sra 2016). Computed with Cholesky
    factors only (no eigendecomposition), so it and its gradient are cheap
    and finite everywhere on SPD inputs.

    Parameters
    ----------
    P, Q : Tensor, shape (..., n, n)

    Returns
    -------
    Tensor, shape (...)

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import stein_divergence
    >>> P = torch.eye(3, dtype=torch.float64)
    >>> float(stein_divergence(P, P))
    0.0
    >>> round(float(stein_divergence(P, 4 * P)), 12)  # 3 * (log 2.5 - log 2)
    0.669430653943
    """
    P = _as_spd(P, "P")
    Q = _as_spd(Q, "Q")
    check_same_device({"P": P, "Q": Q})
    check_same_dtype({"P": P, "Q": Q})
    if P.shape[-1] != Q.shape[-1]:
        raise ValueError(
            f"P and Q must be matrices of the same size; got shapes {tuple(P.shape)} and "
            f"{tuple(Q.shape)}"
        )

    def logdet(A: torch.Tensor) -> torch.Tensor:
        L, info = torch.linalg.cholesky_ex(A)
        if bool((info > 0).any()):
            raise ValueError(
                "P and Q are too far apart in scale for the Stein divergence: (P + Q) / 2 is "
                "numerically singular at their common scale"
            )
        return 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)

    # each matrix at its own unit scale s_P, s_Q (powers of four), the mean at the larger:
    # log det is exact up to n log s, and the log s terms cancel exactly when s_P = s_Q
    sp, sq = _even_power_of_two(P), _even_power_of_two(Q)
    s = torch.maximum(sp, sq)
    n = P.shape[-1]
    shift = n * (torch.log(s) - 0.5 * (torch.log(sp) + torch.log(sq))).squeeze(-1)
    mean = 0.5 * (P / s.unsqueeze(-1) + Q / s.unsqueeze(-1))
    value = (
        logdet(mean) + shift - 0.5 * (logdet(P / sp.unsqueeze(-1)) + logdet(Q / sq.unsqueeze(-1)))
    )
    return value.clamp_min(0.0)
