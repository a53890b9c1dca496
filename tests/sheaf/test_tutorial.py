"""The sheaf tutorial's code blocks run, in order, as one script."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "sheaves.md"


def test_sheaf_tutorial_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for k, code in enumerate(blocks):
        exec(compile(code, f"{PAGE.name}[block {k}]", "exec"), namespace)
    out = capsys.readouterr().out.split("\n")
    # the printed results the page states in its comments
    assert out[0] == "3 3 6 6"
    assert out[1] == "(3, 3)"
    assert out[2:4] == ["3", "1"]
    assert out[4] == "6"
