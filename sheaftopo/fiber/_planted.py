"""Paired data with planted shared and modality-specific subspaces (Tucker's
inter-battery factor model), the ground truth against which
:func:`~sheaftopo.fiber.subspace_decomposition` is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, check_int, check_random_state, check_real
from ._numeric import check_allocation
from ._subspaces import _ro

__all__ = ["PlantedSubspaces", "make_planted_subspaces"]


@dataclass(frozen=True, eq=False)
class PlantedSubspaces:
    r"""Paired data with planted shared and specific subspaces.

    Attributes
    ----------
    X : ndarray, shape (N, d_x)
    Y : ndarray, shape (N, d_y)
    shared_x, specific_x : ndarray, shapes (d_x, k), (d_x, r_x)
        Orthonormal bases of the planted :math:`Z_s` and :math:`Z_I` in X's
        space (mutually orthogonal).
    shared_y, specific_y : ndarray, shapes (d_y, k), (d_y, r_y)
        The same in Y's space (``shared_y`` equals ``shared_x`` in a common space).
    correlations : ndarray, shape (k,)
        Correlation of the i-th shared latent between the modalities.
    canonical_correlations : ndarray, shape (k,)
        The population canonical correlations :math:`\rho_i / (1 + \sigma^2)`.
    noise : float
    common_space : bool
    """

    X: np.ndarray
    Y: np.ndarray
    shared_x: np.ndarray
    specific_x: np.ndarray
    shared_y: np.ndarray
    specific_y: np.ndarray
    correlations: np.ndarray
    canonical_correlations: np.ndarray
    noise: float
    common_space: bool


def _random_orthonormal(rng: np.random.Generator, d: int, k: int) -> np.ndarray:
    if k == 0:
        return np.zeros((d, 0))
    Q, R = np.linalg.qr(rng.standard_normal((d, k)))
    return Q * np.sign(np.diag(R))


def _correlations(correlation: Any, k: int) -> np.ndarray:
    """The k correlations rho_i in (0, 1]: a real scalar or a real array of shape (k,)."""
    if isinstance(correlation, (bool, np.bool_, str, bytes)):
        raise TypeError(
            f"correlation must be a real number or a real array of shape ({k},); got "
            f"{correlation!r} of type {type(correlation).__name__}"
        )
    arr = as_float_array(correlation, "correlation", dtype=np.float64)
    if arr.dtype.kind == "b" or np.asarray(correlation).dtype.kind == "b":
        raise TypeError("correlation must hold real numbers, not booleans")
    if arr.ndim == 0:
        arr = np.full(k, float(arr))
    elif arr.shape != (k,):
        raise ValueError(
            f"correlation must be a scalar or have shape ({k},) (one per shared latent, "
            f"n_shared = {k}); got shape {arr.shape}"
        )
    else:
        arr = arr.copy()
    if k and (not np.isfinite(arr).all() or (arr <= 0).any() or (arr > 1).any()):
        raise ValueError(f"correlation must be in (0, 1]; got {correlation!r}")
    return arr


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False; got {value!r} of type {type(value).__name__}"
        )
    return bool(value)


def _check_planted_sizes(common: bool, dx: int, dy: int, k: int, rx: int, ry: int) -> None:
    """Refuse subspace dimensions that do not fit in the modalities' spaces."""
    if common:
        if dx != dy:
            raise ValueError(
                f"common_space=True needs dim_x == dim_y (one space Z); got {dx} and {dy}"
            )
        if k + rx + ry > dx:
            raise ValueError(
                f"in a common space n_shared + n_specific_x + n_specific_y must be <= {dx}; "
                f"got {k} + {rx} + {ry}"
            )
    elif k + rx > dx or k + ry > dy:
        raise ValueError(
            f"need n_shared + n_specific_x <= dim_x and n_shared + n_specific_y <= dim_y; "
            f"got {k} + {rx} vs {dx} and {k} + {ry} vs {dy}"
        )


def _planted_loadings(
    rng: np.random.Generator, common: bool, dx: int, dy: int, k: int, rx: int, ry: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal loadings (A_s, A_I, B_s, B_T); in a common space B_s = A_s."""
    if common:
        Q = _random_orthonormal(rng, dx, k + rx + ry)
        As, Ai, Bt = Q[:, :k], Q[:, k : k + rx], Q[:, k + rx :]
        return As, Ai, As, Bt
    Qx = _random_orthonormal(rng, dx, k + rx)
    Qy = _random_orthonormal(rng, dy, k + ry)
    return Qx[:, :k], Qx[:, k:], Qy[:, :k], Qy[:, k:]


def make_planted_subspaces(
    n_samples: int,
    *,
    dim_x: int = 16,
    dim_y: int = 12,
    n_shared: int = 3,
    n_specific_x: int = 2,
    n_specific_y: int = 2,
    correlation: Any = 0.9,
    noise: float = 0.3,
    common_space: bool = False,
    exact_moments: bool = False,
    seed: Any = None,
) -> PlantedSubspaces:
    r"""Paired data X, Y with planted shared and modality-specific subspaces.

    The model (Tucker's inter-battery factor model with orthonormal loadings):

    .. math::
        x = A_s s + A_I u + \sigma e_x, \qquad y = B_s s' + B_T v + \sigma e_y,
        \qquad s'_i = \rho_i s_i + \sqrt{1 - \rho_i^2}\, w_i,

    with independent standard normal latents s, w (k each), u (r_x), v (r_y),
    noise e_x (d_x), e_y (d_y), a random offset per modality, and orthonormal
    :math:`[A_s\ A_I]`, :math:`[B_s\ B_T]`. With ``common_space=True``
    (d_x = d_y = d) both modalities live in one :math:`Z = \mathbb{R}^d` with
    :math:`B_s = A_s` and :math:`Z_s, Z_I, Z_T` mutually orthogonal.

    Parameters
    ----------
    n_samples : int
        N.
    dim_x, dim_y : int
        d_x, d_y.
    n_shared, n_specific_x, n_specific_y : int
        k, r_x, r_y (k + r_x <= d_x, k + r_y <= d_y; in a common space
        k + r_x + r_y <= d).
    correlation : float or array_like, shape (k,)
        :math:`\rho_i \in (0, 1]`, the correlation strength of each shared
        latent (real numbers: strings and booleans raise ``TypeError``).
    noise : float
        σ >= 0, isotropic noise level (``ValueError`` if the data overflow).
    common_space : bool
        Embed both modalities in one space (see above).
    exact_moments : bool
        Whiten the latents so that the sample covariance of the data equals
        the population covariance exactly (needs
        N > 2k + r_x + r_y + d_x + d_y); the estimators then recover the
        planted subspaces up to rounding.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    PlantedSubspaces

    Raises
    ------
    ValueError
        Sizes out of range or inconsistent, correlations outside (0, 1], or a
        working set larger than the machine's physical memory (refused before
        anything is drawn).
    TypeError
        Non-integer sizes, non-real correlations, non-boolean flags.

    Examples
    --------
    >>> from sheaftopo.fiber import make_planted_subspaces
    >>> data = make_planted_subspaces(1000, dim_x=8, dim_y=6, n_shared=2, seed=0)
    >>> data.X.shape, data.Y.shape, data.shared_x.shape, data.specific_y.shape
    ((1000, 8), (1000, 6), (8, 2), (6, 2))
    >>> data.canonical_correlations.round(4)
    array([0.8257, 0.8257])
    """
    n = check_int(n_samples, "n_samples", minimum=3)
    dx = check_int(dim_x, "dim_x", minimum=1)
    dy = check_int(dim_y, "dim_y", minimum=1)
    k = check_int(n_shared, "n_shared", minimum=0)
    rx = check_int(n_specific_x, "n_specific_x", minimum=0)
    ry = check_int(n_specific_y, "n_specific_y", minimum=0)
    sigma = check_real(noise, "noise", low=0.0)
    common_space = _check_flag(common_space, "common_space")
    exact_moments = _check_flag(exact_moments, "exact_moments")
    _check_planted_sizes(common_space, dx, dy, k, rx, ry)
    widths = [k, k, rx, ry, dx, dy]
    total = sum(widths)
    if exact_moments and n <= total:
        raise ValueError(
            f"exact_moments needs n_samples > 2 n_shared + n_specific_x + n_specific_y + "
            f"dim_x + dim_y = {total}; got {n}"
        )
    # the latents, X, Y and their temporaries, all float64 (k, r_x, r_y <= d_x + d_y)
    check_allocation(
        8 * (n * (2 * total + 2 * (dx + dy)) + (dx + dy) ** 2),
        f"n_samples={n}, dim_x={dx}, dim_y={dy}",
    )
    rho = _correlations(correlation, k)
    rng = check_random_state(seed)
    As, Ai, Bs, Bt = _planted_loadings(rng, common_space, dx, dy, k, rx, ry)
    Lat = rng.standard_normal((n, total))
    if exact_moments:
        Lat -= Lat.mean(axis=0)
        Qm, Rm = np.linalg.qr(Lat)
        Lat = Qm * np.sign(np.diag(Rm)) * np.sqrt(n)
    s, w, u, v, ex, ey = np.split(Lat, np.cumsum(widths)[:-1], axis=1)
    s2 = s * rho + w * np.sqrt(1.0 - rho**2)
    with np.errstate(over="ignore", invalid="ignore"):
        X = s @ As.T + u @ Ai.T + sigma * ex + rng.normal(0.0, 3.0, dx)
        Y = s2 @ Bs.T + v @ Bt.T + sigma * ey + rng.normal(0.0, 3.0, dy)
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ValueError(f"noise = {sigma!r} is so large that the data overflow float64")
    # rho / (1 + sigma^2) without overflowing sigma^2 (it is 0 to float64 precision there)
    canonical = rho / (1.0 + sigma**2) if sigma < 1e150 else np.zeros_like(rho)
    return PlantedSubspaces(
        X=X,
        Y=Y,
        shared_x=_ro(As),
        specific_x=_ro(Ai),
        shared_y=_ro(Bs),
        specific_y=_ro(Bt),
        correlations=_ro(rho),
        canonical_correlations=_ro(canonical),
        noise=sigma,
        common_space=bool(common_space),
    )
