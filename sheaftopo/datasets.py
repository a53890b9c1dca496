"""Data sets shipped with sheaftopo, and generators of data with planted structure.

``load_mfeat``
    The UCI Multiple Features handwritten digits: 2,000 digits seen through six
    feature extractors (views) with paired rows. Shipped as package data
    (CC BY 4.0; see ``sheaftopo/data/README.md`` for the source).
``make_planted_subspaces``
    Paired views with planted shared and view-specific subspaces
    (:func:`sheaftopo.fiber.make_planted_subspaces`, re-exported here).

SheafAlign's generators (three-view digits, partial-information-decomposition
views) need torch only for training, and live in
:mod:`sheaftopo.torch.sheafalign`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from ._validation import check_choice
from .fiber import PlantedSubspaces, make_planted_subspaces

__all__ = [
    "MFEAT_VIEWS",
    "MultiViewData",
    "PlantedSubspaces",
    "load_mfeat",
    "make_planted_subspaces",
]

#: The six views of the multi-view digits, with their feature counts.
MFEAT_VIEWS: dict[str, int] = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}


@dataclass(frozen=True)
class MultiViewData:
    """Several views of the same items, with paired rows.

    Attributes
    ----------
    views : dict of str to ndarray, each of shape (n_samples, n_features_view)
        Row ``i`` of every view describes item ``i``.
    labels : ndarray of int, shape (n_samples,)
        Class of each item.
    description : str
        Where the data come from and their licence.
    """

    views: dict[str, np.ndarray]
    labels: np.ndarray
    description: str = field(repr=False, default="")

    @property
    def n_samples(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.views:
            raise KeyError(f"no view named {name!r}; the views are {sorted(self.views)}")
        return self.views[name]


def load_mfeat(views: Any = None, *, standardize: bool = False) -> MultiViewData:
    """Load the UCI multi-view handwritten digits (mfeat).

    2,000 digits, 200 per class 0-9, each described by six feature extractors:
    ``fou`` (76 Fourier coefficients of the contour), ``fac`` (216 profile
    correlations), ``kar`` (64 Karhunen-Loeve coefficients), ``pix`` (240 pixel
    averages), ``zer`` (47 Zernike moments), ``mor`` (6 morphological features).

    Parameters
    ----------
    views : str or sequence of str, optional
        The views to return (default: all six).
    standardize : bool, default False
        Centre each feature and scale it to unit variance (features with zero
        variance are only centred). The views' raw scales differ by orders of
        magnitude.

    Returns
    -------
    MultiViewData
        ``views`` maps each name to a float64 array of shape (2000, d_view);
        fresh arrays, owned by the caller.

    References
    ----------
    M. van Breukelen, R. P. W. Duin, D. M. J. Tax, J. E. den Hartog,
    "Handwritten digit recognition by combined classifiers", Kybernetika
    34(4):381-386, 1998. UCI Machine Learning Repository, "Multiple Features",
    CC BY 4.0.

    Examples
    --------
    >>> data = load_mfeat(["fou", "kar"])
    >>> data["fou"].shape, data["kar"].shape, data.n_samples
    ((2000, 76), (2000, 64), 2000)
    >>> sorted(set(data.labels.tolist())) == list(range(10))
    True
    """
    if views is None:
        names = list(MFEAT_VIEWS)
    elif isinstance(views, str):
        names = [check_choice(views, "views", tuple(MFEAT_VIEWS))]
    else:
        names = [check_choice(v, "views", tuple(MFEAT_VIEWS)) for v in views]
        if not names:
            raise ValueError("views must name at least one view; got an empty sequence")
    with resources.files("sheaftopo").joinpath("data/mfeat.npz").open("rb") as fh:
        with np.load(fh) as npz:
            out = {name: np.array(npz[name], dtype=np.float64) for name in names}
            labels = np.array(npz["labels"], dtype=np.int64)
    if standardize:
        for X in out.values():
            X -= X.mean(axis=0)
            sd = X.std(axis=0)
            sd[sd == 0] = 1.0
            X /= sd
    desc = (
        "UCI Multiple Features (mfeat) handwritten digits, 2,000 items, 10 classes; "
        "van Breukelen et al., Kybernetika 1998; CC BY 4.0"
    )
    return MultiViewData(views=out, labels=labels, description=desc)
