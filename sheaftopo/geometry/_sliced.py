"""Sliced optimal transport between weighted point clouds (conventions of
:mod:`sheaftopo.geometry._transport`): the mean 1-D transport cost over
projections, computed by POT on clouds at unit scale.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .._validation import (
    as_float_array,
    check_int,
    check_random_state,
)
from ._checks import (
    as_pair,
    check_order,
)
from ._transport import (
    TransportResult,
    _log2,
    _overflow_error,
    _times_pow2,
    _unit_scale,
    transport_weights,
)

__all__ = ["sliced_transport"]


def sliced_transport(
    X: Any,
    Y: Any,
    *,
    a: Any = None,
    b: Any = None,
    p: float = 2.0,
    n_projections: int = 50,
    seed: Any = 0,
    directions: Any = None,
) -> TransportResult:
    r"""Sliced Wasserstein cost between two weighted point clouds (POT).

    Formerly ``sliced_wasserstein``: the old name still works, with a
    ``DeprecationWarning``, and will be removed in sheaftopo 0.3. It sits with
    :func:`exact_transport` and :func:`entropic_transport`, whose results it
    shares, and is a different quantity from
    :func:`sheaftopo.persistence.sliced_wasserstein` (persistence diagrams,
    a float).

    .. math::

        SW_p^p(\mu, \nu) = \frac{1}{M} \sum_{k=1}^{M}
        W_p^p\big(\langle\theta_k, \cdot\rangle_\# \mu,
        \langle\theta_k, \cdot\rangle_\# \nu\big),

    the mean over :math:`M` unit directions :math:`\theta_k` of the 1-D
    transport costs of the projected measures (quantile functions).
    ``cost`` is :math:`SW_p^p`, in the same units as
    ``exact_transport(..., p=p).cost`` (:math:`W_p^p`), and never exceeds it
    (projections are 1-Lipschitz). ``cost ** (1 / p)`` is what
    ``ot.sliced_wasserstein_distance`` returns. The directions are drawn here
    (Gaussian vectors normalised, from ``seed``) and passed to POT as
    ``projections``, so results are reproducible.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)
    a, b : array_like, optional
        Weights, as for :func:`exact_transport`.
    p : float, default 2.0
        Order :math:`p \ge 1`.
    n_projections : int, default 50
        Number :math:`M` of random directions (ignored with ``directions``).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator, default 0
        Source of the directions. The default ``0`` gives the same directions
        on every call; in a training loop pass one ``numpy.random.Generator``
        so that each call draws fresh directions. ``None`` draws from fresh
        OS entropy. Must be left at its default when ``directions`` is given.
    directions : array_like, shape (M, d), optional
        Directions used exactly as given, after normalising each row to unit
        length (rows must be non-zero).

    Returns
    -------
    TransportResult
        ``cost = linear_cost`` :math:`= SW_p^p`; ``plan = None``,
        ``n_iter = None``, ``converged = True``, ``marginal_error = 0.0``.

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, bad weights, ``p < 1``,
        ``n_projections < 1``, zero or wrongly shaped ``directions``, a
        ``seed`` given together with ``directions``, or a cost above the
        float64 range (the clouds are projected at unit scale, exact, and the
        cost scaled back).

    References
    ----------
    .. [1] N. Bonneel, J. Rabin, G. Peyré, H. Pfister, "Sliced and Radon
       Wasserstein barycenters of measures", J. Math. Imaging Vis. 51, 2015.

    Examples
    --------
    Along the only direction of a line the sliced cost is the exact one:

    >>> import numpy as np
    >>> from sheaftopo.geometry import sliced_transport
    >>> X = np.array([[0.0], [1.0]])
    >>> sliced_transport(X, X + 2.0).cost
    4.0
    >>> sliced_transport(np.zeros((1, 2)), [[3.0, 4.0]], directions=[[1.0, 0.0]]).cost
    9.0
    """
    import ot

    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    a = transport_weights(a, X.shape[0], "a")
    b = transport_weights(b, Y.shape[0], "b")
    p = check_order(p)
    d = X.shape[1]
    if directions is None:
        M = check_int(n_projections, "n_projections", minimum=1)
        rng = check_random_state(seed)
        theta = rng.standard_normal((d, M))
        norms = np.linalg.norm(theta, axis=0)
        while (norms == 0).any():  # pragma: no cover - probability zero
            zero = norms == 0
            theta[:, zero] = rng.standard_normal((d, int(zero.sum())))
            norms = np.linalg.norm(theta, axis=0)
        theta /= norms
    else:
        if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed == 0):
            raise ValueError(
                f"seed has no effect when directions is given; pass one of them (got seed = "
                f"{seed!r})"
            )
        D = as_float_array(directions, "directions", dtype=np.float64)
        if D.ndim != 2 or D.shape[1] != d or D.shape[0] == 0:
            raise ValueError(
                f"directions must have shape (n_directions, {d}) with at least one row; got "
                f"shape {D.shape}"
            )
        if not np.isfinite(D).all():
            raise ValueError("directions must not contain NaN or inf")
        norms = np.linalg.norm(D, axis=1)
        if (norms == 0).any():
            raise ValueError(f"directions has a zero row (row {int(np.argmin(norms))})")
        theta = (D / norms[:, None]).T.copy()
    # SW_p^p is homogeneous of degree p: project the clouds at unit scale (powers of
    # two, exact) and scale back; each 1-D cost is at most 2^p there
    s = _unit_scale(X, Y)
    with np.errstate(under="ignore"):
        _, log = ot.sliced_wasserstein_distance(
            X / s, Y / s, a, b, p=p, projections=theta, log=True
        )
        cost = float(_times_pow2(float(np.mean(log["projected_emds"])), p * _log2(s)))
    if not math.isfinite(cost):
        raise _overflow_error("the sliced Wasserstein cost", p * (_log2(s) + 1), p)
    return TransportResult(
        cost=cost,
        linear_cost=cost,
        plan=None,
        n_iter=None,
        converged=True,
        marginal_error=0.0,
        message="closed form per direction",
    )
