"""The matplotlib plumbing every figure module of the report shares (Agg, no pyplot).

Figures are ``matplotlib.figure.Figure`` objects saved through the Agg canvas:
nothing opens a window and the process's pyplot state is left alone.
"""

from __future__ import annotations

import io
import math
from typing import Any

__all__ = ["grid_axes", "new_figure", "single_axes", "to_png"]


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def single_axes() -> tuple[Any, Any]:
    fig = new_figure(6.4, 3.8)
    return fig, fig.subplots()


def grid_axes(n: int, width: float = 4.2, height: float = 3.4) -> tuple[Any, list[Any]]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = new_figure(width * cols, height * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]
