r"""The sliced Wasserstein kernel between lists of persistence diagrams (a Gram matrix).

Every diagram is projected onto the directions once; the pairs are then
compared in blocks, vectorised (one sort per block of pairs), as
:func:`~sheaftopo.persistence.sliced_wasserstein` compares one pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.slicing import angles
from .._validation import as_diagram, check_int, check_real
from ._diagram_common import coordinate_scale

__all__ = ["sliced_wasserstein_kernel"]

#: float64 entries of the working arrays of one block of pairs (about 64 MiB)
_BLOCK_ENTRIES = 1 << 23


def _as_diagram_list(dgms: Any, name: str) -> list[np.ndarray]:
    """A list of finite diagrams, each validated and named ``name[k]``."""
    if (
        (isinstance(dgms, np.ndarray) and dgms.ndim == 2)
        or not isinstance(dgms, (Sequence, np.ndarray))
        or isinstance(dgms, (str, bytes))
    ):
        raise TypeError(
            f"{name} must be a list of persistence diagrams (arrays of shape (k, 2)); "
            f"got {type(dgms).__name__}"
            + (f" of shape {dgms.shape}" if isinstance(dgms, np.ndarray) else "")
        )
    out = [as_diagram(d, f"{name}[{k}]") for k, d in enumerate(dgms)]
    for k, d in enumerate(out):
        if np.isinf(d[:, 1]).any():
            raise ValueError(
                f"{name}[{k}] has essential points (death = +inf), whose projections are "
                "infinite; remove them first (dgm[np.isfinite(dgm[:, 1])]), as "
                "GUDHI's DiagramSelector(use=True) does"
            )
    return out


def _projections(dgms: list[np.ndarray], width: int, U: np.ndarray, c: float) -> tuple:
    """Projections ``(P, Q)``, shape (N, width, M), of the points and of their diagonal projections.

    Diagrams are padded with points ``(0, 0)`` on the diagonal, which project
    to 0 in both, and so change no 1-D transport cost of order 1.
    """
    pad = np.zeros((len(dgms), width, 2))
    sizes = np.array([len(d) for d in dgms], dtype=np.int64)
    rows = np.repeat(np.arange(len(dgms)), sizes)
    cols = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    if len(rows):
        pad[rows, cols] = np.concatenate(dgms) / c
    mid = 0.5 * pad.sum(axis=2, keepdims=True)
    return pad @ U.T, mid @ U.sum(axis=1)[None, :]


def _sw_block(Px, Qx, Py, Qy) -> np.ndarray:
    """Sliced Wasserstein distances (p = 1) between every x of a block and every y."""
    bx, by = len(Px), len(Py)
    A = np.concatenate(
        [
            np.broadcast_to(Px[:, None], (bx, by, *Px.shape[1:])),
            np.broadcast_to(Qy[None, :], (bx, by, *Qy.shape[1:])),
        ],
        axis=2,
    )
    B = np.concatenate(
        [
            np.broadcast_to(Py[None, :], (bx, by, *Py.shape[1:])),
            np.broadcast_to(Qx[:, None], (bx, by, *Qx.shape[1:])),
        ],
        axis=2,
    )
    A.sort(axis=2)
    B.sort(axis=2)
    np.subtract(A, B, out=A)
    return np.abs(A, out=A).sum(axis=2).mean(axis=2)


def sliced_wasserstein_kernel(
    dgms_x: Any,
    dgms_y: Any = None,
    *,
    bandwidth: float = 1.0,
    n_directions: int = 50,
    seed: Any = None,
    directions: Any = None,
) -> np.ndarray:
    r"""The sliced Wasserstein kernel matrix between two lists of persistence diagrams.

    .. math::

        K_{ab} = \exp\Big(-\frac{SW(D_a, D'_b)}{2\sigma^2}\Big),

    with :math:`SW` the sliced Wasserstein distance of Carrière, Cuturi and
    Oudot [1]_ (``kind="diagram"``, :math:`p = 1`, of
    :func:`~sheaftopo.persistence.sliced_wasserstein`, same directions) and
    :math:`\sigma` = ``bandwidth``, the definition of [1]_ (a positive
    definite kernel, Thm. 3.5). ``gudhi.representations.SlicedWassersteinKernel``
    [2]_ computes :math:`\exp(-SW/b)` with its ``bandwidth`` :math:`b`, i.e. our
    kernel with :math:`b = 2\sigma^2` (see the Notes).

    Parameters
    ----------
    dgms_x : sequence of array_like, each of shape (k_a, 2)
        The diagrams :math:`D_a` (rows ``(birth, death)``, finite: remove
        essential points first). Diagrams may be empty (``[]``).
    dgms_y : sequence of array_like, optional
        The diagrams :math:`D'_b`; default ``dgms_x`` (a symmetric Gram
        matrix with ones on its diagonal).
    bandwidth : float, default 1.0
        :math:`\sigma > 0`.
    n_directions, seed, directions
        The directions, as in :func:`~sheaftopo.persistence.sliced_wasserstein`
        (default 50 evenly spaced angles).

    Returns
    -------
    ndarray, shape (len(dgms_x), len(dgms_y))
        The kernel values, in :math:`(0, 1]`.

    Raises
    ------
    ValueError
        On a malformed diagram or one with essential points (the message
        names it, e.g. ``dgms_x[3]``), or bad ``bandwidth`` / directions.
    TypeError
        When ``dgms_x`` or ``dgms_y`` is not a sequence of diagrams (a single
        ``(k, 2)`` array is refused: wrap it in a list).

    Notes
    -----
    Every diagram is projected onto the :math:`M` directions once; each
    block of pairs is then compared by one sort of an array of shape
    (pairs, :math:`2k`, :math:`M`), :math:`k` the largest diagram (smaller
    ones are padded with points on the diagonal, which change no distance
    of order 1). Time :math:`O(N_x N_y M k \log k)`, memory bounded by
    blocks of about 64 MiB. Coordinates are divided by a power of two first
    (exact), so diagrams from 1e-300 to 1e300 work.

    GUDHI's ``SlicedWassersteinKernel(num_directions=M, bandwidth=b)`` uses
    the :math:`M - 1` angles ``np.linspace(-pi/2, pi/2, M, endpoint=False)[:-1]``
    and divides by :math:`b` rather than :math:`2\sigma^2`; passing those
    angles as ``directions`` and ``bandwidth=sqrt(b / 2)`` reproduces its
    values to rounding (tested).

    References
    ----------
    .. [1] M. Carrière, M. Cuturi, S. Oudot, "Sliced Wasserstein Kernel for
       Persistence Diagrams", Proceedings of the 34th International Conference
       on Machine Learning (ICML), PMLR 70, pp. 664–673, 2017.
    .. [2] The GUDHI Project, GUDHI User and Reference Manual, module
       ``representations``, https://gudhi.inria.fr/python/latest/representations.html.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import sliced_wasserstein, sliced_wasserstein_kernel
    >>> dgms = [np.array([[0.0, 1.0]]), np.array([[0.0, 2.0], [1.0, 3.0]]), []]
    >>> K = sliced_wasserstein_kernel(dgms, bandwidth=1.0)
    >>> K.shape, bool(np.allclose(np.diag(K), 1.0)), bool(np.allclose(K, K.T))
    ((3, 3), True, True)
    >>> sw = sliced_wasserstein(dgms[0], dgms[1])
    >>> bool(np.isclose(K[0, 1], np.exp(-sw / 2.0)))
    True
    """
    xs = _as_diagram_list(dgms_x, "dgms_x")
    ys = xs if dgms_y is None else _as_diagram_list(dgms_y, "dgms_y")
    bandwidth = check_real(bandwidth, "bandwidth", low=0.0, low_inclusive=False)
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    theta = angles(n_directions, seed, directions)
    U = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    every = xs + ys
    c = coordinate_scale(np.concatenate(every) if every else np.zeros((0, 2)), np.zeros((0, 2)))
    width = max([len(d) for d in every], default=0)
    SW = np.zeros((len(xs), len(ys)))
    if width and len(xs) and len(ys):
        Px, Qx = _projections(xs, width, U, c)
        Py, Qy = (Px, Qx) if dgms_y is None else _projections(ys, width, U, c)
        per_x = 4 * len(ys) * width * len(theta)  # entries of A and B (and temporaries)
        bx = max(1, _BLOCK_ENTRIES // per_x)
        for start in range(0, len(xs), bx):
            stop = min(start + bx, len(xs))
            SW[start:stop] = _sw_block(Px[start:stop], Qx[start:stop], Py, Qy)
    with np.errstate(over="ignore"):
        return np.exp(-(SW * c) / (2.0 * bandwidth * bandwidth))
