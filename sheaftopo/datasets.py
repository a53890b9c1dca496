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

from collections.abc import Iterable, Mapping
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

    def __post_init__(self) -> None:
        if not isinstance(self.views, Mapping) or not self.views:
            raise TypeError(
                f"views must be a non-empty dict of view name to array; got "
                f"{type(self.views).__name__}"
            )
        labels = np.asarray(self.labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D, one per item; got shape {labels.shape}")
        for name, X in self.views.items():
            shape = getattr(X, "shape", None)
            if shape is None or len(shape) != 2 or shape[0] != labels.shape[0]:
                raise ValueError(
                    f"views[{name!r}] must be a 2-D array with one row per label "
                    f"({labels.shape[0]}); got shape {shape}"
                )

    @property
    def n_samples(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.views:
            raise KeyError(f"no view named {name!r}; the views are {sorted(self.views)}")
        return self.views[name]


def _view_names(views: Any) -> list[str]:
    """The requested mfeat views, in order, each once."""
    choices = tuple(MFEAT_VIEWS)
    if views is None:
        return list(choices)
    if isinstance(views, str):
        return [check_choice(views, "views", choices)]
    if not isinstance(views, Iterable) or isinstance(views, (bytes, Mapping)):
        raise TypeError(
            f"views must be a view name or a list of view names ({', '.join(choices)}); got "
            f"{views!r} of type {type(views).__name__}"
        )
    names = [check_choice(v, "views", choices) for v in views]
    if not names:
        raise ValueError("views must name at least one view; got an empty sequence")
    if len(set(names)) != len(names):
        dup = next(v for v in names if names.count(v) > 1)
        raise ValueError(f"views must name each view once; {dup!r} is given twice")
    return names


def load_mfeat(views: Any = None, *, standardize: bool = False) -> MultiViewData:
    """Load the UCI multi-view handwritten digits (mfeat).

    2,000 digits, 200 per class 0-9, each described by six feature extractors:
    ``fou`` (76 Fourier coefficients of the contour), ``fac`` (216 profile
    correlations), ``kar`` (64 Karhunen-Loeve coefficients), ``pix`` (240 pixel
    averages), ``zer`` (47 Zernike moments), ``mor`` (6 morphological features).

    Parameters
    ----------
    views : str or sequence of str, optional
        The views to return (default: all six), each named once.
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
    names = _view_names(views)
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(
            f"standardize must be True or False; got {standardize!r} of type "
            f"{type(standardize).__name__}"
        )
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
