"""The figure of the sheaf section: the modality graph, edge widths by agreement."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._config import check_result
from ._plotting import new_figure, to_png

__all__ = ["sheaf_graph"]


def _positions(n: int) -> np.ndarray:
    """n points on the unit circle, the first at the top, clockwise; shape (n, 2)."""
    angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


def _draw_edges(ax: Any, sheaf: dict[str, Any], pos: dict[str, np.ndarray]) -> None:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    order = {name: i for i, name in enumerate(pos)}
    n = len(pos)
    for e in sheaf["edges"]:
        agree = min(max(float(e["agreement"]["value"]), 0.0), 1.0)
        (x0, y0), (x1, y1) = pos[e["a"]], pos[e["b"]]
        own = e["pair_specific"]["value"]
        ax.plot([x0, x1], [y0, y1], color=cmap(agree), linewidth=1.0 + 10.0 * agree**2, zorder=1)
        if own:
            ax.plot([x0, x1], [y0, y1], color="crimson", linewidth=1.2, ls="--", zorder=1.5)
        # neighbours on the circle: label at the middle; chords nearer the first end, so
        # that the chords crossing at the centre keep their labels apart
        gap = abs(order[e["a"]] - order[e["b"]])
        t = 0.5 if gap in (1, n - 1) else 0.3
        text = f"k={e['edge_dim']['value']}" + (f", {own} own" if own else "")
        ax.text(
            x0 + t * (x1 - x0),
            y0 + t * (y1 - y0),
            text,
            fontsize=8,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            zorder=3,
        )


def sheaf_graph(result: Any) -> bytes | None:
    """The modality graph of ``result``'s sheaf section as PNG bytes (None with < 3 sets).

    Sets on a circle; an edge's colour follows its agreement a (1 -
    inconsistency: 1 = the two sets agree exactly in the edge's comparison
    space, 0 = uncorrelated) and its width 1 + 10 a² points; its label gives
    k_e and the number of pair-specific directions (a red dashed line marks
    the edges that have any).

    Parameters
    ----------
    result : AnalysisResult
        What :func:`sheaftopo.report.analyze` returned.

    Returns
    -------
    bytes or None

    Raises
    ------
    TypeError
        ``result`` is not an :class:`~sheaftopo.report.AnalysisResult`.

    References
    ----------
    .. [1] SheafAlign, arXiv:2510.20540 (2025).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import AnalysisConfig, analyze
    >>> from sheaftopo.report._figures_sheaf import sheaf_graph
    >>> A = np.random.default_rng(0).standard_normal((60, 3))
    >>> res = analyze({"a": A, "b": A[:, ::-1].copy()}, config=AnalysisConfig(k=3))
    >>> sheaf_graph(res) is None
    True
    """
    sheaf = check_result(result).data.get("sheaf")
    if sheaf is None:
        return None
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    names = sheaf["graph"]["sets"]
    xy = _positions(len(names))
    pos = dict(zip(names, xy, strict=True))
    fig = new_figure(5.6, 5.0)
    ax = fig.subplots()
    _draw_edges(ax, sheaf, pos)
    ax.scatter(xy[:, 0], xy[:, 1], s=900, c="white", edgecolors="black", zorder=2)
    for name, (x, y) in pos.items():
        ax.text(x, y, name, ha="center", va="center", fontsize=9, zorder=4)
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    bar = ScalarMappable(norm=Normalize(0.0, 1.0), cmap=colormaps["viridis"])
    fig.colorbar(bar, ax=ax, shrink=0.7, label="agreement = 1 - inconsistency")
    ax.set_title("sheaf of the modalities (width: agreement)")
    return to_png(fig)
