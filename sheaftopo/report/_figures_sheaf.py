"""The figure of the sheaf section (issue 18; being written by helper S)."""

from __future__ import annotations

from typing import Any

__all__ = ["sheaf_graph"]


def sheaf_graph(result: Any) -> bytes | None:
    return None
