"""How the report writes a number or a text for humans (terminal and HTML)."""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["escape", "fmt"]


def escape(s: Any) -> str:
    """``str(s)`` escaped for HTML text and attribute values."""
    return html.escape(str(s))


def fmt(v: Any) -> str:
    """A number for humans: 4 significant digits, integers exact, None as a dash."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a" if math.isnan(v) else ("∞" if v > 0 else "-∞")
        if v == 0:
            return "0"
        if 1e-3 <= abs(v) < 1e5:
            return f"{v:.4g}"
        return f"{v:.3e}"
    return str(v)
