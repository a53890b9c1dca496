"""report.json's text: :func:`render_json` (no NaN, one line per list of plain values)."""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

from ._config import check_result

__all__ = ["render_json"]


def _clean(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None (JSON has no NaN), tuples lists."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # NumPy scalars
        return _clean(obj.item())
    return obj


def render_json(result: Any, *, files: dict[str, str] | None = None) -> str:
    """``result.data`` (plus the list of written files) as indented JSON text.

    NaN and infinities are written as ``null``. Objects are indented; a list of
    plain values (numbers, strings, null) is written on one line, so that the
    per-item curves (n values per pair) take one line each instead of n.
    """
    data = dict(check_result(result).data)
    if files is not None:
        data["files"] = files
    flat: list[str] = []
    tag = secrets.token_hex(8)  # placeholders "<tag>:<i>": no value of the report holds one
    text = json.dumps(_flat_lists(_clean(data), flat, tag), indent=2, allow_nan=False)
    return re.sub(f'"{tag}:(\\d+)"', lambda m: flat[int(m.group(1))], text) + "\n"


def _flat_lists(obj: Any, flat: list[str], tag: str) -> Any:
    """``obj`` with every list of plain values replaced by a placeholder (its text in ``flat``)."""
    if isinstance(obj, dict):
        return {k: _flat_lists(v, flat, tag) for k, v in obj.items()}
    if isinstance(obj, list):
        if all(v is None or isinstance(v, (bool, int, float, str)) for v in obj):
            flat.append(json.dumps(obj, allow_nan=False))
            return f"{tag}:{len(flat) - 1}"
        return [_flat_lists(v, flat, tag) for v in obj]
    return obj
