r"""Multi-view data for SheafAlign: mfeat, three views of scikit-learn's digits, a PID generator.

Every loader returns :class:`sheaftopo.datasets.MultiViewData` (views with
paired rows, labels); :func:`load_views` splits one into training and test
parts, stratified by label, and standardises each feature with the training
statistics only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._validation import check_choice, check_int, check_random_state, check_real
from ...datasets import MFEAT_VIEWS, MultiViewData, load_mfeat

__all__ = [
    "DATASETS",
    "MultiViewSplit",
    "load_digits_views",
    "load_views",
    "make_pid_views",
    "split_views",
]

#: Data set names :func:`load_views` knows.
DATASETS = ("mfeat", "digits", "synthetic")

_DIGIT_COLUMNS = {"left": slice(0, 3), "middle": slice(3, 5), "right": slice(5, 8)}


@dataclass(frozen=True)
class MultiViewSplit:
    """Paired views split into training and test rows.

    Attributes
    ----------
    names : tuple of str
        One per view (node), in node order.
    train, test : tuple of ndarray, shape (n_train, d_i) and (n_test, d_i)
        float64, standardised with the training mean and standard deviation.
    y_train, y_test : ndarray of int64
        Class labels of the rows.
    description : str
        Where the data come from.
    """

    names: tuple[str, ...]
    train: tuple[np.ndarray, ...]
    test: tuple[np.ndarray, ...]
    y_train: np.ndarray
    y_test: np.ndarray
    description: str = field(repr=False, default="")

    @property
    def input_dims(self) -> tuple[int, ...]:
        """Feature count of every view."""
        return tuple(int(X.shape[1]) for X in self.train)

    @property
    def n_views(self) -> int:
        return len(self.names)


def load_digits_views() -> MultiViewData:
    """scikit-learn's 8x8 digits seen as three views: left, middle and right columns.

    1,797 images; view ``left`` holds pixel columns 0-2 (24 features),
    ``middle`` columns 3-4 (16), ``right`` columns 5-7 (24). The views share
    the digit's identity and overlapping strokes but no pixel.

    Returns
    -------
    MultiViewData

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import load_digits_views
    >>> d = load_digits_views()
    >>> [d[name].shape for name in ("left", "middle", "right")]
    [(1797, 24), (1797, 16), (1797, 24)]
    """
    from sklearn.datasets import load_digits

    raw = load_digits()
    images = np.asarray(raw.images, dtype=np.float64)
    views = {
        name: np.ascontiguousarray(images[:, :, cols].reshape(len(images), -1))
        for name, cols in _DIGIT_COLUMNS.items()
    }
    return MultiViewData(
        views=views,
        labels=np.asarray(raw.target, dtype=np.int64),
        description="scikit-learn digits (UCI optical recognition of handwritten digits), "
        "8x8 images split into left/middle/right pixel columns",
    )


def make_pid_views(
    n_samples: int = 1500,
    n_views: int = 3,
    *,
    shared_dim: int = 0,
    pairwise_dim: int = 4,
    unique_dim: int = 4,
    extra_dim: int = 4,
    noise: float = 0.1,
    n_classes: int = 10,
    class_sep: float = 1.0,
    seed: Any = 0,
) -> MultiViewData:
    r"""Views with planted shared, pairwise-redundant and unique components (a PID knob).

    Latent factors, each coordinate :math:`\mathrm{class\_sep}\,\mu_{y} + N(0, 1)`
    with random class means :math:`\mu`:

    * ``s`` of dimension ``shared_dim``, seen by every view (fully redundant);
    * ``r_ij`` of dimension ``pairwise_dim`` for every pair i < j, seen by
      views i and j only (pairwise redundant);
    * ``u_i`` of dimension ``unique_dim``, seen by view i only (unique).

    View i is ``[s, r_ij (j != i), u_i] M_i^T + noise * N(0, I)``, with
    ``M_i`` a random matrix with orthonormal columns into
    ``k_i + extra_dim`` features (``k_i`` the view's latent count).

    **Why a single shared space provably loses here.** Let the single space be
    anchored at view a (ImageBind: every view aligned to the anchor by
    InfoNCE). Perfect alignment, :math:`f_i(x_i) = f_a(x_a)` almost surely,
    forces :math:`f_i(x_i)` to be a function of what x_i and x_a have in
    common, ``(s, r_ai)`` (with noise-free views; noise only removes more).
    For two non-anchor views i, j the embeddings are then functions of
    ``(s, r_ai)`` and ``(s, r_aj)``, which given the label and ``s`` are
    independent: with ``shared_dim = 0`` the baseline cannot match an item of
    view i to its own item of view j better than chance among items of the
    same class, although ``r_ij`` identifies it. A sheaf on the complete graph
    gives the edge {i, j} its own comparison space, where ``r_ij`` is the
    common information to align. (``theory/sheafalign-single-space.md``
    states and proves this for the linear-Gaussian population version, and
    ``verification`` checks it.)

    Parameters
    ----------
    n_samples, n_views : int
        At least 2 of each.
    shared_dim, pairwise_dim, unique_dim : int
        Dimensions of the three kinds of component (>= 0; not all zero).
    extra_dim : int, default 4
        Features per view beyond its latent count (pure noise directions).
    noise : float, default 0.1
        Standard deviation of the feature noise.
    n_classes : int, default 10
    class_sep : float, default 1.0
        Scale of the class means in every latent coordinate (0: labels carry
        no signal).
    seed : int or Generator

    Returns
    -------
    MultiViewData
        Views named ``"v0"``, ``"v1"``, ...

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import make_pid_views
    >>> d = make_pid_views(100, 3, shared_dim=2, pairwise_dim=3, unique_dim=1, extra_dim=2)
    >>> d["v0"].shape          # 2 shared + 2 x 3 pairwise + 1 unique + 2 extra
    (100, 11)
    """
    n = check_int(n_samples, "n_samples", minimum=2)
    v = check_int(n_views, "n_views", minimum=2)
    ds = check_int(shared_dim, "shared_dim", minimum=0)
    dp = check_int(pairwise_dim, "pairwise_dim", minimum=0)
    du = check_int(unique_dim, "unique_dim", minimum=0)
    dx = check_int(extra_dim, "extra_dim", minimum=0)
    if ds + dp + du == 0:
        raise ValueError("shared_dim, pairwise_dim and unique_dim cannot all be 0")
    sigma = check_real(noise, "noise", low=0.0)
    c = check_int(n_classes, "n_classes", minimum=1)
    sep = check_real(class_sep, "class_sep", low=0.0)
    rng = check_random_state(seed, "seed")
    y = rng.integers(0, c, n)

    def block(dim: int) -> np.ndarray:
        mu = rng.standard_normal((c, dim))
        return sep * mu[y] + rng.standard_normal((n, dim))

    s = block(ds)
    r = {pair: block(dp) for pair in itertools.combinations(range(v), 2)}
    u = [block(du) for _ in range(v)]
    views = {}
    for i in range(v):
        parts = [s] + [r[(min(i, j), max(i, j))] for j in range(v) if j != i] + [u[i]]
        latent = np.concatenate(parts, axis=1)
        k = latent.shape[1]
        M, _ = np.linalg.qr(rng.standard_normal((k + dx, k)))
        views[f"v{i}"] = latent @ M.T + sigma * rng.standard_normal((n, k + dx))
    desc = (
        f"synthetic PID views: {v} views, shared {ds}, pairwise {dp}, unique {du}, "
        f"noise {sigma:g}, {c} classes (class_sep {sep:g})"
    )
    return MultiViewData(views=views, labels=y.astype(np.int64), description=desc)


def split_views(
    data: MultiViewData,
    *,
    names: Sequence[str] | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    standardize: bool = True,
) -> MultiViewSplit:
    """Stratified train/test split of paired views, standardised with training statistics.

    Parameters
    ----------
    data : MultiViewData
    names : sequence of str, optional
        Views to keep, in node order (default: all, in ``data.views`` order).
    test_size : float, default 0.25
        Fraction of rows held out (0 < test_size < 1).
    seed : int
    standardize : bool, default True
        Centre and scale every feature by the training mean and standard
        deviation (constant features are only centred).

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import make_pid_views, split_views
    >>> s = split_views(make_pid_views(200), test_size=0.25)
    >>> s.names, s.train[0].shape, s.test[0].shape
    (('v0', 'v1', 'v2'), (150, 16), (50, 16))
    """
    from sklearn.model_selection import train_test_split

    keep = list(data.views) if names is None else [str(x) for x in names]
    if not keep:
        raise ValueError("names must select at least one view")
    for name in keep:
        if name not in data.views:
            raise ValueError(f"no view named {name!r}; the views are {list(data.views)}")
    frac = check_real(
        test_size, "test_size", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    y = np.asarray(data.labels)
    idx = np.arange(len(y))
    _, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 else None
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    tr, te = train_test_split(idx, test_size=frac, random_state=seed, stratify=stratify)
    tr, te = np.sort(tr), np.sort(te)
    train, test = [], []
    for name in keep:
        X = np.asarray(data.views[name], dtype=np.float64)
        A, B = X[tr].copy(), X[te].copy()
        if standardize:
            mu = A.mean(axis=0)
            sd = A.std(axis=0)
            sd[sd == 0] = 1.0
            A = (A - mu) / sd
            B = (B - mu) / sd
        train.append(A)
        test.append(B)
    return MultiViewSplit(
        names=tuple(keep),
        train=tuple(train),
        test=tuple(test),
        y_train=y[tr].astype(np.int64),
        y_test=y[te].astype(np.int64),
        description=data.description,
    )


def load_views(
    dataset: str = "mfeat",
    *,
    nodes: Sequence[str] | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    standardize: bool = True,
    synthetic: dict[str, Any] | None = None,
) -> MultiViewSplit:
    """Load a data set by name and split it (see :func:`split_views`).

    Parameters
    ----------
    dataset : {"mfeat", "digits", "synthetic"}
        ``"mfeat"``: the six UCI multi-view digits views
        (:func:`sheaftopo.datasets.load_mfeat`); ``"digits"``:
        :func:`load_digits_views`; ``"synthetic"``: :func:`make_pid_views`.
    nodes : sequence of str, optional
        Views to keep, in node order (mfeat: any of fou, fac, kar, pix, zer,
        mor; digits: left, middle, right; synthetic: v0, v1, ...).
    test_size, seed, standardize
        As in :func:`split_views`; ``seed`` also seeds the synthetic generator.
    synthetic : dict, optional
        Keyword arguments of :func:`make_pid_views`.

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import load_views
    >>> s = load_views("mfeat", nodes=["fou", "kar"])
    >>> s.names, s.input_dims, len(s.y_train) + len(s.y_test)
    (('fou', 'kar'), (76, 64), 2000)
    """
    dataset = check_choice(dataset, "dataset", DATASETS)
    if dataset == "mfeat":
        names = list(MFEAT_VIEWS) if nodes is None else list(nodes)
        for name in names:
            check_choice(name, "nodes", tuple(MFEAT_VIEWS))
        data = load_mfeat(names)
    elif dataset == "digits":
        data = load_digits_views()
    else:
        options = dict(synthetic or {})
        options.setdefault("seed", seed)
        data = make_pid_views(**options)
    return split_views(data, names=nodes, test_size=test_size, seed=seed, standardize=standardize)
