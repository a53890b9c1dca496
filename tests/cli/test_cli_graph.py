"""``sheaftopo analyze --graph FILE``: the modality graph of the sheaf section, end to end.

A good file gives the sheaf section those edges (and the HTML says so); a bad
one (unknown set, self-loop, repeated edge, no edge, a line that is not two
names, a missing file) exits 2 with one line on stderr and leaves no report.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sheaftopo.cli import main

FAST = ["-q", "--dense-max-points", "80", "-k", "5"]


@pytest.fixture
def three_files(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((150, 2))
    paths = []
    for name in ("img", "txt", "aud"):
        X = z @ rng.standard_normal((2, 5)) + 0.3 * rng.standard_normal((150, 5))
        path = tmp_path / f"{name}.npy"
        np.save(path, X)
        paths.append(str(path))
    return paths


def write_graph(tmp_path, text: str) -> str:
    path = tmp_path / "graph.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("sheaftopo analyze: error: ")
    return lines[0]


def test_graph_file_sets_the_sheaf_edges(tmp_path, three_files, capsys):
    graph = write_graph(tmp_path, "# a path\nimg txt\n\ntxt, aud  # comma works too\n")
    out = tmp_path / "report"
    rc = main(["analyze", *three_files, "--graph", graph, "--out", str(out), *FAST])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    sheaf = data["sheaf"]
    assert [e["key"] for e in sheaf["edges"]] == ["img | txt", "txt | aud"]
    assert not sheaf["graph"]["complete"]
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html.split("<section id='sheaf'>", 1)[1].split("</section>", 1)[0]
    assert "the graph given, 2 edges" in section and "alt='sheaf_graph.png'" in section
    assert (out / "sheaf_graph.png").exists()


def test_without_graph_every_pair_is_an_edge(tmp_path, three_files, capsys):
    out = tmp_path / "report"
    assert main(["analyze", *three_files, "--out", str(out), *FAST]) == 0
    sheaf = json.loads((out / "report.json").read_text(encoding="utf-8"))["sheaf"]
    assert len(sheaf["edges"]) == 3 and sheaf["graph"]["complete"]


def test_two_sets_have_no_sheaf_section(tmp_path, three_files, capsys):
    out = tmp_path / "report"
    assert main(["analyze", *three_files[:2], "--out", str(out), *FAST]) == 0
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["sheaf"] is None
    assert not (out / "sheaf_graph.png").exists()
    assert "needs three or more sets" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("img txt\ntxt dog\n", "'dog'"),
        ("img img\n", "self-loop"),
        ("img txt\ntxt img\n", "twice"),
        ("# nothing\n\n", "no edge"),
        ("img txt aud\n", "line 1"),
        ("img\n", "line 1"),
    ],
)
def test_bad_graph_file_exits_2_with_one_line(tmp_path, three_files, capsys, text, expected):
    graph = write_graph(tmp_path, text)
    out = tmp_path / "report"
    rc = main(["analyze", *three_files, "--graph", graph, "--out", str(out), *FAST])
    assert rc == 2
    assert expected in one_error_line(capsys)
    assert not out.exists()


def test_missing_graph_file(tmp_path, three_files, capsys):
    out = tmp_path / "report"
    missing = tmp_path / "nope.txt"
    rc = main(["analyze", *three_files, "--graph", str(missing), "--out", str(out), *FAST])
    assert rc == 2
    line = one_error_line(capsys)
    assert "--graph" in line and str(missing) in line
    assert not out.exists()


def test_undecodable_graph_file(tmp_path, three_files, capsys):
    path = tmp_path / "graph.bin"
    path.write_bytes(b"\xff\xfe\x00img txt")
    rc = main(["analyze", *three_files, "--graph", str(path), "--out", str(tmp_path / "r"), *FAST])
    assert rc == 2
    assert "cannot read" in one_error_line(capsys)
