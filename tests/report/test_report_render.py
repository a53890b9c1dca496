"""Rendering pieces: all-or-nothing output directories, JSON without NaN, progress, summary."""

from __future__ import annotations

import io
import json
import sys

import pytest

from sheaftopo.report import (
    AnalysisConfig,
    Progress,
    analyze,
    print_summary,
    render_json,
    staged_directory,
    summary_rows,
)
from sheaftopo.report._render import fmt


@pytest.fixture(scope="module")
def small(paired):
    A, B, _ = paired
    cfg = AnalysisConfig(k=5, dense_max_points=50, n_permutations=9)
    return analyze({"img": A, "txt": B}, config=cfg)


def test_staged_directory_moves_files_on_success(tmp_path):
    out = tmp_path / "deep" / "out"
    with staged_directory(out) as stage:
        assert stage.parent == out.parent and stage != out
        (stage / "a.txt").write_text("a")
    assert (out / "a.txt").read_text() == "a"
    assert [p.name for p in out.parent.iterdir()] == ["out"]


def test_staged_directory_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_directory(out) as stage:
        (stage / "half.json").write_text("{")
        raise RuntimeError("analysis failed")
    assert list(tmp_path.iterdir()) == []


def test_staged_directory_into_an_existing_directory(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("k")
    (out / "a.txt").write_text("old")
    with staged_directory(out) as stage:
        (stage / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new" and (out / "keep.txt").read_text() == "k"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_directory_refuses_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"), staged_directory(f):
        pass


def test_regression_ctrl_c_inside_mkdtemp_leaves_nothing(tmp_path, monkeypatch, sigint_handled):
    # CI caught it: a Ctrl-C landing after mkdtemp's mkdir but before its
    # result was bound left a ".out.*.partial" directory behind
    import signal
    import tempfile

    real = tempfile.mkdtemp

    def interrupted_mkdtemp(*args, **kwargs):
        made = real(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return made

    monkeypatch.setattr(tempfile, "mkdtemp", interrupted_mkdtemp)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), staged_directory(out):
        pytest.fail("the body ran although Ctrl-C came first")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_publishing_moves_every_file_or_none(tmp_path, monkeypatch, sigint_handled):
    import os
    import signal

    import sheaftopo.report._staging as staging

    out = tmp_path / "out"
    out.mkdir()
    for name in "abc":
        (out / f"{name}.txt").write_text("old")
    real = os.replace
    moved = []

    def interrupted_replace(src, dst):
        real(src, dst)
        moved.append(dst)
        if len(moved) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(staging.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt), staged_directory(out) as stage:
        for name in "abc":
            (stage / f"{name}.txt").write_text("new")
    assert [(out / f"{n}.txt").read_text() for n in "abc"] == ["new"] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_deferred_ctrl_c_outside_the_main_thread_changes_nothing(tmp_path):
    import threading

    box = []

    def work():
        with staged_directory(tmp_path / "out") as stage:
            (stage / "a.txt").write_text("a")
        box.append((tmp_path / "out" / "a.txt").read_text())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert box == ["a"]


def test_json_has_no_nan_and_lists_files(small):
    small.data["pairs"][0]["distance_alignment"]["correlation"]["value"] = float("nan")
    try:
        text = render_json(small, files={"report.html": "x"})
    finally:
        small.data["pairs"][0]["distance_alignment"]["correlation"]["value"] = 0.5
    data = json.loads(text)
    assert data["pairs"][0]["distance_alignment"]["correlation"]["value"] is None
    assert data["files"] == {"report.html": "x"}
    assert "NaN" not in text


def test_numbers_for_humans():
    assert fmt(None) == "—" and fmt(3) == "3" and fmt(0.0) == "0"
    assert fmt(0.123456) == "0.1235" and fmt(1.5e-7) == "1.500e-07"
    assert fmt(float("nan")) == "n/a" and fmt(float("inf")) == "∞"


def test_summary_table_plain_and_rich(small, monkeypatch):
    header, rows = summary_rows(small)
    assert header[0] == "pair" and rows[0][0] == "img | txt" and len(rows[0]) == len(header)
    buf = io.StringIO()
    print_summary(small, buf)
    assert "img | txt" in buf.getvalue()
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    monkeypatch.setitem(sys.modules, "rich.table", None)
    plain = io.StringIO()
    print_summary(small, plain)
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("pair") and lines[1].startswith("img | txt")


def test_progress_plain_lines_and_silence():
    out = io.StringIO()
    with Progress(2, stream=out, backend="plain") as p:
        with p.step("one"):
            pass
        with p.step("two"):
            pass
    lines = out.getvalue().splitlines()
    assert [ln.split(" (")[0] for ln in lines] == ["[1/2] one", "[2/2] two"]
    assert set(p.timings) == {"one", "two"}
    quiet = io.StringIO()
    with Progress(1, stream=quiet, enabled=False) as p, p.step("x"):
        pass
    assert quiet.getvalue() == "" and "x" in p.timings
    with pytest.raises(ValueError, match="backend must be one of"):
        Progress(1, backend="fancy")


def test_progress_not_a_terminal_falls_back_to_plain_lines():
    out = io.StringIO()  # isatty() is False
    p = Progress(1, stream=out)
    with p.step("only"):
        pass
    p.close()
    assert out.getvalue().startswith("[1/1] only")


def test_progress_rich_bar():
    pytest.importorskip("rich")
    out = io.StringIO()
    with Progress(1, stream=out, backend="rich") as p, p.step("drawing"):
        pass
    assert p.done == 1


def test_json_writes_each_list_of_plain_values_on_one_line_and_round_trips(small):
    text = render_json(small)
    data = json.loads(text)
    assert data == json.loads(json.dumps(render_json.__globals__["_clean"](small.data)))
    n = small.data["pairs"][0]["items"]["n_items"]["value"]
    assert n >= 50
    # the per-item curves take one line each, not n
    assert len(text.splitlines()) < 2000
    line = next(ln for ln in text.splitlines() if '"values": [' in ln and ln.count(",") >= n - 1)
    assert line.rstrip().endswith("],") or line.rstrip().endswith("]")


def test_json_placeholders_cannot_collide_with_values():
    from sheaftopo.report import AnalysisResult

    tricky = {"a": ["x", None, 1.5, True], "b": "\u00000", "c": [[1, 2], []], "d": {"e": [0]}}
    assert json.loads(render_json(AnalysisResult(data=tricky))) == tricky
