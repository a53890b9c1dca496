"""HTML of the per-item and per-class sections (issue 18; being written by helper I)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["classes_html", "items_html"]


def items_html(data: dict[str, Any], fig: Callable[[str], str]) -> str:
    return ""


def classes_html(data: dict[str, Any], fig: Callable[[str], str]) -> str:
    return ""
