"""Figures of the per-item and per-class views (issue 18; being written by helper I)."""

from __future__ import annotations

from typing import Any

__all__ = ["class_bars", "joint_projection"]


def joint_projection(result: Any) -> bytes | None:
    return None


def class_bars(result: Any) -> bytes | None:
    return None
