"""The sheaftopo command: a full run; bad input (one line, exit 2, nothing left); verify; bench."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from sheaftopo.cli import _checkout, main
from sheaftopo.report import FIGURES, SECTIONS

FAST = ["-q", "--dense-max-points", "80", "-k", "5"]


class ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.section_ids: list[str] = []
        self.images: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section_ids.append(a.get("id", ""))
        if tag == "img":
            self.images.append((a.get("alt", ""), a.get("src", "")))


def expected_figures(n_sets: int, labels: bool) -> set[str]:
    """The figures a report draws: all of FIGURES but those that do not apply.

    sheaf_graph.png needs three or more sets, class_bars.png labels;
    joint_projection.png and every other figure are always drawn.
    """
    names = set(FIGURES)
    if n_sets < 3:
        names.discard("sheaf_graph.png")
    if not labels:
        names.discard("class_bars.png")
    return names


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".partial"))


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ----------------------------------------------------------------------
# a full run
# ----------------------------------------------------------------------


@pytest.fixture
def report_dir(tmp_path, paired_files, capsys):
    fa, fb, fl = paired_files
    out = tmp_path / "report"
    rc = main(["analyze", str(fa), str(fb), "--labels", str(fl), "--out", str(out), *FAST])
    assert rc == 0, capsys.readouterr().err
    assert "report written to" in capsys.readouterr().out
    return out


def test_analyze_writes_every_file(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    figures = expected_figures(2, labels=True)
    assert "joint_projection.png" in figures and "class_bars.png" in figures
    assert "sheaf_graph.png" not in figures and "death_cdfs.png" in figures
    assert names == {"report.html", "report.json", *figures}
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert report_dir.stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's private 0o700
    for name in figures:
        assert (report_dir / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert not leftovers(report_dir.parent)


def test_html_has_every_section_and_embeds_every_figure(report_dir):
    import base64

    parser = ReportParser()
    parser.feed((report_dir / "report.html").read_text(encoding="utf-8"))
    assert parser.section_ids == [sid for sid, _ in SECTIONS]
    embedded = {alt: src for alt, src in parser.images}
    assert set(embedded) == expected_figures(2, labels=True)
    for name, src in embedded.items():
        assert src.startswith("data:image/png;base64,"), name
        png = base64.b64decode(src.split(",", 1)[1])
        assert png == (report_dir / name).read_bytes()


def test_json_records_parameters_version_seed_and_units(report_dir):
    import sheaftopo

    data = json.loads((report_dir / "report.json").read_text())
    assert data["meta"]["sheaftopo_version"] == sheaftopo.__version__
    assert data["meta"]["seed"] == 0 and data["parameters"]["seed"] == 0
    assert data["meta"]["command"].startswith("sheaftopo analyze ")
    assert data["parameters"]["dense_max_points"] == 80 and data["parameters"]["k"] == 5
    assert data["inputs"]["sets"][0]["source"].endswith("image.npy")
    assert data["inputs"]["labels"]["n_classes"]["value"] == 3
    assert data["inputs"]["dense_subsample"]["size"]["value"] == 80
    assert len(data["inputs"]["dense_subsample"]["positions"]) == 80
    (pair,) = data["pairs"]
    assert pair["shared_space"]["kind"] == "cca"  # 12 vs 7 dimensions
    assert set(data["files"]) == {"report.html", "report.json", *expected_figures(2, True)}

    def walk(d):
        if isinstance(d, dict):
            if "value" in d:
                assert isinstance(d.get("unit"), str) and d["unit"], d
            for v in d.values():
                walk(v)
        elif isinstance(d, list):
            for v in d:
                walk(v)

    walk(data)


def test_rerun_replaces_the_report_and_keeps_other_files(tmp_path, paired_files, report_dir):
    fa, fb, _ = paired_files
    (report_dir / "mine.txt").write_text("keep me")
    (report_dir / "report.json").write_text(json.dumps({"files": {"old_figure.png": "x"}}))
    (report_dir / "old_figure.png").write_bytes(b"stale")
    assert main(["analyze", str(fa), str(fb), "--out", str(report_dir), *FAST]) == 0
    names = {p.name for p in report_dir.iterdir()}
    assert "mine.txt" in names and "old_figure.png" not in names
    data = json.loads((report_dir / "report.json").read_text())
    assert data["inputs"]["labels"] is None
    # without labels no class bars
    assert set(data["files"]) == {"report.html", "report.json", *expected_figures(2, False)}


def test_three_sets_draw_the_sheaf_graph(tmp_path, paired, capsys):
    A, B, _ = paired
    files = []
    for name, X in (("a", A), ("b", B), ("c", A[:, ::-1] + 0.1)):
        np.save(tmp_path / f"{name}.npy", X)
        files.append(str(tmp_path / f"{name}.npy"))
    out = tmp_path / "three"
    assert main(["analyze", *files, "--out", str(out), *FAST]) == 0, capsys.readouterr().err
    figures = expected_figures(3, labels=False)
    assert "sheaf_graph.png" in figures and "class_bars.png" not in figures
    assert {p.name for p in out.iterdir()} == {"report.html", "report.json", *figures}


def test_subsample_keeps_pairs_and_is_recorded(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    out = tmp_path / "sub"
    assert (
        main(
            [
                "analyze",
                str(fa),
                str(fb),
                "--out",
                str(out),
                "--max-points",
                "60",
                "--seed",
                "3",
                *FAST,
            ]
        )
        == 0
    )
    data = json.loads((out / "report.json").read_text())
    sub = data["inputs"]["subsample"]
    assert sub["applied"] and sub["seed"] == 3 and len(sub["indices"]) == 60
    assert data["inputs"]["n_rows_analysed"]["value"] == 60
    idx = np.asarray(sub["indices"])
    assert np.all(np.diff(idx) > 0)
    from sheaftopo.report import paired_subsample

    assert np.array_equal(idx, paired_subsample(150, 60, np.random.default_rng(3)))


def test_one_npz_holding_the_sets_and_the_labels(tmp_path, paired, capsys):
    A, B, labels = paired
    f = tmp_path / "all.npz"
    np.savez(f, image=A, text=B, labels=labels)
    out = tmp_path / "r"
    assert main(["analyze", str(f), "--labels", f"{f}:labels", "--out", str(out), *FAST]) == 0
    data = json.loads((out / "report.json").read_text())
    assert list(data["sets"]) == ["image", "text"]
    assert "labels" in data["sets"]["image"]


def test_progress_and_summary_are_shown_unless_quiet(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    out = tmp_path / "loud"
    assert main(["analyze", str(fa), str(fb), "--out", str(out), "--dense-max-points", "80"]) == 0
    captured = capsys.readouterr()
    assert "H0 persistence: image" in captured.err and "[1/" in captured.err
    assert "image | text" in captured.out and "R@1" in captured.out


def test_python_dash_m_sheaftopo(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "sheaftopo", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    import sheaftopo

    assert out.returncode == 0 and out.stdout.strip() == f"sheaftopo {sheaftopo.__version__}"


# ----------------------------------------------------------------------
# bad input: one line on stderr naming the file, exit 2, no report left behind
# ----------------------------------------------------------------------


def run_bad(capsys, tmp_path, args) -> str:
    out = tmp_path / "out"
    rc = main(["analyze", *args, "--out", str(out), *FAST])
    assert rc == 2
    line = error_line(capsys)
    assert line.startswith("sheaftopo analyze: error: ")
    assert not out.exists()
    assert not leftovers(tmp_path)
    return line


def test_missing_file(tmp_path, paired_files, capsys):
    fa, _, _ = paired_files
    line = run_bad(capsys, tmp_path, [str(fa), str(tmp_path / "nope.npy")])
    assert f"{tmp_path / 'nope.npy'}: no such file" in line


def test_unknown_format(tmp_path, paired_files, capsys):
    fa, _, _ = paired_files
    bad = tmp_path / "emb.h5"
    bad.write_bytes(b"x")
    line = run_bad(capsys, tmp_path, [str(fa), str(bad)])
    assert str(bad) in line and "unknown format '.h5'" in line


def test_mismatched_row_counts(tmp_path, paired, capsys):
    A, B, _ = paired
    fa, fb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(fa, A)
    np.save(fb, B[:-1])
    line = run_bad(capsys, tmp_path, [str(fa), str(fb)])
    assert f"{fb}: has 149 rows but {fa} has 150" in line


def test_nan_rows(tmp_path, paired, capsys):
    A, B, _ = paired
    B = B.copy()
    B[7, 2] = np.nan
    fa, fb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(fa, A)
    np.save(fb, B)
    line = run_bad(capsys, tmp_path, [str(fa), str(fb)])
    assert str(fb) in line and "row 7 holds nan" in line


def test_one_dimensional_array(tmp_path, paired, capsys):
    A, _, _ = paired
    fa, fb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(fa, A)
    np.save(fb, A[:, 0])
    line = run_bad(capsys, tmp_path, [str(fa), str(fb)])
    assert str(fb) in line and "is 1-D" in line


def test_labels_of_the_wrong_length(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    fl = tmp_path / "short.npy"
    np.save(fl, np.zeros(10, dtype=int))
    line = run_bad(capsys, tmp_path, [str(fa), str(fb), "--labels", str(fl)])
    assert f"{fl}: has 10 labels but the embedding sets have 150 rows" in line


def test_labels_with_a_single_class(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    fl = tmp_path / "one.txt"
    fl.write_text("cat\n" * 150)
    line = run_bad(capsys, tmp_path, [str(fa), str(fb), "--labels", str(fl)])
    assert f"{fl}: every row has the same label" in line


def test_constant_set(tmp_path, paired, capsys):
    A, _, _ = paired
    fa, fb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(fa, A)
    np.save(fb, np.ones((150, 3)))
    line = run_bad(capsys, tmp_path, [str(fa), str(fb)])
    assert str(fb) in line and "same vector" in line


def test_output_directory_that_cannot_be_written(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    for out in (blocker, blocker / "report"):
        rc = main(["analyze", str(fa), str(fb), "--out", str(out), *FAST])
        assert rc == 2
        line = error_line(capsys)
        assert line.startswith("sheaftopo analyze: error: ") and str(blocker) in line
    assert blocker.read_text() == "not a directory"
    assert not leftovers(tmp_path)


def test_failure_during_writing_leaves_nothing(tmp_path, paired_files, capsys, monkeypatch):
    fa, fb, _ = paired_files
    out = tmp_path / "out"

    def boom(result, directory):
        (Path(directory) / "report.json").write_text("{partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sheaftopo.report.write_report", boom)
    rc = main(["analyze", str(fa), str(fb), "--out", str(out), *FAST])
    assert rc == 2 and "No space left on device" in error_line(capsys)
    assert not out.exists() and not leftovers(tmp_path)


def test_no_files_and_demo_with_files(tmp_path, paired_files, capsys):
    assert main(["analyze", "--out", str(tmp_path / "o")]) == 2
    assert "give two or more embedding files" in error_line(capsys)
    fa, _, _ = paired_files
    assert main(["analyze", "--demo", str(fa), "--out", str(tmp_path / "o")]) == 2
    assert "--demo uses the shipped data" in error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_bad_option_values(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    assert main(["analyze", str(fa), str(fb), "--max-points", "-1"]) == 2
    assert "--max-points must be >= 0" in error_line(capsys)
    # argparse's usage errors: one line too, and main returns the status
    assert main(["analyze", str(fa), str(fb), "--shared-space", "nope"]) == 2
    line = error_line(capsys)
    assert line.startswith("sheaftopo analyze: error: argument --shared-space") and "--help" in line
    out = tmp_path / "raw"
    assert (
        main(["analyze", str(fa), str(fb), "--shared-space", "raw", "--out", str(out), *FAST]) == 2
    )
    assert "needs sets of equal dimension" in error_line(capsys)
    assert not out.exists()


# ----------------------------------------------------------------------
# verify and bench
# ----------------------------------------------------------------------


def test_verify_lists_and_runs_checks(capsys):
    assert main(["verify", "--list"]) == 0
    assert "h0-rips-mst" in capsys.readouterr().out
    assert main(["verify", "--quick", "h0-rips-mst"]) == 0
    out = capsys.readouterr().out
    assert "h0-rips-mst" in out and "pass" in out and "all 1 checks hold" in out


def test_verify_without_a_checkout_says_so(monkeypatch, capsys):
    monkeypatch.setattr(_checkout, "checkout_root", lambda: None)
    assert main(["verify"]) == 2
    assert "needs a source checkout" in error_line(capsys)
    assert main(["bench", "--list"]) == 2
    assert "needs a source checkout" in error_line(capsys)


def test_verify_usage_errors_are_one_line(capsys):
    assert main(["verify", "--jobs", "0"]) == 2
    line = error_line(capsys)
    assert line.startswith("sheaftopo verify: error: argument --jobs") and "--help" in line
    assert main(["--bogus", "verify"]) == 2  # an option before the command is not passed on
    assert error_line(capsys).startswith("sheaftopo verify: error: unrecognized arguments")


def test_bench_lists_and_refuses_unknown_names(capsys):
    assert main(["bench", "--list"]) == 0
    names = capsys.readouterr().out.split()
    assert "persistence" in names
    assert main(["bench", "no_such_benchmark"]) == 2
    assert "no benchmark named 'no_such_benchmark'" in error_line(capsys)
    # unknown options go to the benchmark; its usage error ends the command on one line
    assert main(["bench", "diagram_distances", "--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert captured.out.strip() == "== benchmarks.diagram_distances --no-such-option"
    assert captured.err.strip().splitlines() == [
        "sheaftopo bench: error: unrecognized arguments: --no-such-option "
        "(see 'sheaftopo bench --help')"
    ]


def test_cli_io_and_report_import_light():
    code = (
        "import sys, sheaftopo.cli, sheaftopo.io, sheaftopo.report; "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    heavy = {"torch", "gudhi", "ot", "numba", "matplotlib", "pandas", "pyarrow", "sklearn", "rich"}
    assert not heavy & loaded, heavy & loaded


def test_sheafalign_subcommand_parses_and_reports_on_one_line(capsys):
    pytest.importorskip("torch")
    assert main(["sheafalign", "--help"]) == 0
    assert "experiment" in capsys.readouterr().out
    assert main(["sheafalign", "experiment", "--dataset", "digits", "--epochs", "0"]) == 2
    assert error_line(capsys) == "sheaftopo sheafalign: error: epochs must be >= 1; got 0"
    assert main(["sheafalign", "experiment", "--graph", "nope"]) == 2
    assert error_line(capsys).startswith(
        "sheaftopo sheafalign experiment: error: argument --graph: invalid choice"
    )
    assert main(["sheafalign", "node", "--out", "x"]) == 2  # not under torchrun
    assert "runs under torchrun (RANK and WORLD_SIZE must be set)" in error_line(capsys)


def test_old_sheafalign_entry_points_warn_and_run_the_subcommand(capsys):
    pytest.importorskip("torch")
    import sheaftopo.torch.sheafalign as sa
    from sheaftopo.cli import sheafalign

    argv = ["experiment", "--dataset", "digits", "--epochs", "0"]
    with pytest.warns(DeprecationWarning, match=r"sheafalign\.main .* removed in sheaftopo 0\.3"):
        old_main = sa.main
    assert old_main(argv) == 2 and error_line(capsys) == (
        "sheaftopo sheafalign: error: epochs must be >= 1; got 0"
    )
    with pytest.warns(DeprecationWarning, match="sheafalign.build_parser"):
        old_parser = sa.build_parser()
    assert vars(old_parser.parse_args(argv)) == vars(sheafalign.build_parser().parse_args(argv))
    assert "main" not in sa.__all__ and "build_parser" not in sa.__all__
    out = subprocess.run(
        [sys.executable, "-m", "sheaftopo.torch.sheafalign", *argv],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "DeprecationWarning: python -m sheaftopo.torch.sheafalign is deprecated" in out.stderr
    assert out.stderr.strip().endswith("sheaftopo sheafalign: error: epochs must be >= 1; got 0")


# ----------------------------------------------------------------------
# the programs verify and bench run: output relayed, usage errors on one line, Ctrl-C
# ----------------------------------------------------------------------

PROGRAM = """
import argparse, os, sys, time
print("to stdout")
print("to stderr", file=sys.stderr)
parser = argparse.ArgumentParser(prog="python -m prog")
parser.add_argument("--status", type=int, default=0)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--pid-file")
parser.add_argument("--lines", type=int, default=0)
args = parser.parse_args()
for _ in range(args.lines):
    print("x" * 99)
if args.pid_file:
    with open(args.pid_file, "w") as f:
        f.write(str(os.getpid()))
time.sleep(args.sleep)
sys.exit(args.status)
"""


@pytest.fixture
def program(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    return tmp_path


def test_program_output_and_status_are_relayed(program, capsys):
    assert _checkout.run_module("prog", ["--status", "3"], root=program, command="x") == 3
    captured = capsys.readouterr()
    assert captured.out == "to stdout\n" and captured.err == "to stderr\n"


def test_program_usage_error_is_one_line(program, capsys):
    with pytest.raises(SystemExit) as e:
        _checkout.run_module("prog", ["--status", "x"], root=program, command="x")
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "to stdout\n"
    assert captured.err.splitlines() == [
        "to stderr",
        "sheaftopo x: error: argument --status: invalid int value: 'x' (see 'sheaftopo x --help')",
    ]
    # exit status 2 without a usage error: the program's own message, as it wrote it
    assert _checkout.run_module("prog", ["--status", "2"], root=program, command="x") == 2
    assert capsys.readouterr().err == "to stderr\n"


def test_a_closed_stdout_does_not_block_the_program(program, monkeypatch):
    import io

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    # 200 kB: more than a pipe holds, so the program would wait forever for a reader
    assert _checkout.run_module("prog", ["--lines", "2000"], root=program, command="x") == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_the_program_at_once(program, capsys, sigint_handled):
    import os
    import signal
    import threading
    import time

    pid_file = program / "pid"
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _checkout.run_module(
            "prog", ["--sleep", "60", "--pid-file", str(pid_file)], root=program, command="x"
        )
    assert time.monotonic() - t0 < 30
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone (and reaped)
