"""Hypothesis strategies for the instances of :mod:`sheaftopo.verify`.

Each strategy draws the same dict instances as the matching family
(:func:`~sheaftopo.verify.point_clouds`, :func:`~sheaftopo.verify.spd_pairs`,
...), so one :class:`~sheaftopo.verify.Statement` serves both: the families
for seeded sweeps and adversarial search, these strategies for property-based
tests that Hypothesis shrinks itself.

Needs ``hypothesis`` (``pip install sheaftopo[dev]``).

Examples
--------
>>> from hypothesis import given, settings
>>> from sheaftopo.verify import strategies
>>> @settings(max_examples=20, deadline=None)
... @given(strategies.point_clouds(n=(1, 6), dim=(1, 3)))
... def test_rows(inst):
...     assert inst["X"].shape[0] >= 1
>>> test_rows()
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as exc:  # pragma: no cover - hypothesis is a dev extra
    raise ImportError(
        "sheaftopo.verify.strategies needs hypothesis: pip install 'sheaftopo[dev]'"
    ) from exc

from ._generators import _check_range

__all__ = ["diagrams", "paired_embeddings", "point_clouds", "sheaves_on_graphs", "spd_pairs"]


def _floats(low: float, high: float) -> Any:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def point_clouds(draw: Any, n: Any = (1, 30), dim: Any = (1, 5), *, max_exponent: int = 8) -> dict:
    """Point clouds ``{"X": (n, dim)}`` with ties, duplicates and scales 10^±max_exponent.

    Kinds: free floats, integer grid points (exact distance ties), rows drawn
    from a few base rows (duplicates), and any of these times 10^k.
    """
    nr, dr = _check_range(n, "n", 1), _check_range(dim, "dim", 1)
    rows = draw(st.integers(*nr))
    d = draw(st.integers(*dr))
    kind = draw(st.sampled_from(("free", "grid", "duplicates")))
    if kind == "grid":
        X = draw(hnp.arrays(np.float64, (rows, d), elements=st.integers(-3, 3).map(float)))
    else:
        base = rows if kind == "free" else draw(st.integers(1, max(1, rows // 2)))
        B = draw(hnp.arrays(np.float64, (base, d), elements=_floats(-10, 10)))
        idx = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, base - 1)))
        X = B[idx] if kind == "duplicates" else B
    scale = 10.0 ** draw(st.integers(-max_exponent, max_exponent))
    return {"X": X * scale, "kind": kind}


@st.composite
def _spd(draw: Any, d: int, cond: float) -> np.ndarray:
    half = 0.5 * math.log(cond)
    logs = np.array(draw(st.lists(_floats(-half, half), min_size=d, max_size=d)))
    if d >= 2 and draw(st.booleans()):
        logs[0], logs[1] = -half, half  # the full condition number
    G = draw(hnp.arrays(np.float64, (d, d), elements=_floats(-1, 1)))
    Q, _ = np.linalg.qr(G + 3.0 * np.eye(d))
    P = (Q * np.exp(logs)) @ Q.T
    return 0.5 * (P + P.T)


@st.composite
def spd_pairs(draw: Any, dim: Any = (1, 6), *, cond: float = 1e6) -> dict:
    """Pairs ``{"P", "Q"}`` of SPD matrices with condition number at most ``cond``."""
    dr = _check_range(dim, "dim", 1)
    d = draw(st.integers(*dr))
    return {"P": draw(_spd(d, cond)), "Q": draw(_spd(d, cond)), "cond": float(cond)}


@st.composite
def _diagram(draw: Any, m: int) -> np.ndarray:
    births = draw(hnp.arrays(np.float64, m, elements=_floats(-5, 5)))
    life = draw(hnp.arrays(np.float64, m, elements=st.one_of(st.just(0.0), _floats(0, 5))))
    return np.stack([births, births + life], 1).reshape(m, 2)


@st.composite
def diagrams(draw: Any, n: Any = (0, 12)) -> dict:
    """Pairs ``{"A", "B"}`` of finite diagrams, with diagonal points and ties."""
    nr = _check_range(n, "n", 0)
    A = draw(_diagram(draw(st.integers(*nr))))
    B = draw(st.one_of(st.just(A.copy()), _diagram(draw(st.integers(*nr)))))
    return {"A": A, "B": B}


@st.composite
def paired_embeddings(draw: Any, n: Any = (2, 20), dim: Any = (1, 6)) -> dict:
    """Paired embeddings ``{"X", "Y"}`` (row i of both is the same object)."""
    nr, dr = _check_range(n, "n", 1), _check_range(dim, "dim", 1)
    m, d = draw(st.integers(*nr)), draw(st.integers(*dr))
    X = draw(hnp.arrays(np.float64, (m, d), elements=_floats(-10, 10)))
    noise = draw(hnp.arrays(np.float64, (m, d), elements=_floats(-1, 1)))
    Y = draw(st.sampled_from((X, X + noise, noise)))
    return {"X": X, "Y": np.array(Y)}


@st.composite
def sheaves_on_graphs(
    draw: Any, n_vertices: Any = (1, 7), stalk_dim: Any = (1, 3), edge_dim: Any = None
) -> dict:
    """Sheaves ``{"edges", "n_vertices", "tail", "head"}`` (see ``sheaves_on_graphs``).

    Edges are distinct unordered pairs in random orientation; maps have
    entries in [-2, 2] and include exact zeros (rank-deficient maps).
    """
    vr, sr = _check_range(n_vertices, "n_vertices", 1), _check_range(stalk_dim, "stalk_dim", 1)
    er = sr if edge_dim is None else _check_range(edge_dim, "edge_dim", 1)
    n = draw(st.integers(*vr))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    flips = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    E = np.array(
        [(b, a) if f else (a, b) for (a, b), f in zip(chosen, flips, strict=True)], dtype=np.int64
    ).reshape(-1, 2)
    d, de = draw(st.integers(*sr)), draw(st.integers(*er))
    entries = st.one_of(st.just(0.0), _floats(-2, 2))
    tail = draw(hnp.arrays(np.float64, (len(E), de, d), elements=entries))
    head = draw(hnp.arrays(np.float64, (len(E), de, d), elements=entries))
    return {"edges": E, "n_vertices": n, "tail": tail, "head": head}
