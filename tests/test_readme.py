"""The README's two commands are the ones the project runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_test_command():
    blocks = _bash_blocks((ROOT / "README.md").read_text())
    test_cmds = [b for b in blocks if "pytest" in b]
    assert len(test_cmds) == 1, test_cmds
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == test_cmds[0]


def test_readme_main_job_command_is_the_installed_analyze_demo():
    blocks = _bash_blocks((ROOT / "README.md").read_text())
    main = next(b for b in blocks if "pytest" not in b)
    assert main == 'python -m pip install -e . && sheaftopo analyze --demo'
    assert 'sheaftopo = "sheaftopo.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_readme_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:  # one namespace: later blocks use earlier imports
        exec(compile(block, "README.md", "exec"), namespace)
    res = namespace["res"]
    assert res.distance <= res.bound
    assert namespace["xt"].shape == (200, 8)
    cex = namespace["cex"]  # the planted false statement is refuted and shrunk
    assert cex.measurement.ratio > 1 and len(cex.instance["A"]) == len(cex.instance["B"]) == 1
    assert namespace["check"](namespace["claim"], namespace["small"], n=100).holds
    assert namespace["dg"].dgms[1].shape == (1, 2)  # the circle's one loop
    assert namespace["m"].pairs.tolist() == [[0, -1]]
    assert namespace["feats"].shape == (4, 3)
