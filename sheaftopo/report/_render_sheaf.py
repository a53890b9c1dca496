"""HTML of the sheaf section (issue 18; being written by helper S)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["sheaf_html"]


def sheaf_html(data: dict[str, Any], fig: Callable[[str], str]) -> str:
    return ""
