"""The verification tutorial's code blocks run, in order, and print what the page says."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "verify.md"


def test_verify_tutorial_blocks_run(capsys):
    from verification import MUTANTS, REGISTRY

    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 8
    checks, mutants = set(REGISTRY), set(MUTANTS)
    namespace: dict = {}
    try:
        for k, code in enumerate(blocks):
            exec(compile(code, f"{PAGE.name}[block {k}]", "exec"), namespace)
    finally:  # the tutorial registers a check and a mutant of its own
        for name in set(REGISTRY) - checks:
            del REGISTRY[name]
        for name in set(MUTANTS) - mutants:
            del MUTANTS[name]
    out = capsys.readouterr().out.split("\n")
    # the printed results the page states in its comments and its text block
    assert out[0] == "True 1.000"
    assert out[1:4] == ["gaussian + noise       0.675", "lattice + noise        1.000",
                        "duplicates + noise     1.000"]
    assert out[4] == "1.000"
    assert out[5] == "True"  # random diagrams never refute SW <= W1
    assert out[6:9] == ["True", "1 1", "True"]  # search refutes it; one point per diagram
    assert out[9] == "True True"  # SW <= 2 W1 survives the same search
    assert out[10] == "True"  # the registered check passes
