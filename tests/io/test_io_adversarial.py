"""Bad and extreme input through sheaftopo.io, sheaftopo.datasets, sheaftopo.report and the CLI.

Issue 14. Two parts: ``test_regression_*`` pin each defect the issue lists for
these modules (each failed on the code as it was); the hypothesis tests feed
every public name (``make_planted_subspaces`` and ``PlantedSubspaces`` belong
to sheaftopo.fiber and are tested there) NaN, inf, empty, one-row, wrongly
typed, strided and read-only input, magnitudes 1e-300 .. 1e300, duplicates
and absurd hyperparameters through :func:`_adversarial.check_call`, and check
every finite result: files read back equal to what was written, the report's
measures equal a brute-force oracle on the same problem at unit scale (they
are homogeneous or scale-free, so the power-of-two rescaling is exact).
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _adversarial import (
    BAD_SCALARS,
    MAGNITUDES,
    bad_arrays,
    bad_scalars,
    check_call,
    examples,
    point_clouds,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from sheaftopo import datasets, io, report
from sheaftopo.cli import main
from sheaftopo.datasets import MFEAT_VIEWS, MultiViewData, load_mfeat
from sheaftopo.io import (
    EMBEDDING_SUFFIXES,
    EmbeddingFileError,
    check_distinct_rows,
    check_paired,
    load_embedding_sets,
    load_embeddings,
    load_labels,
    read_arrays,
    split_spec,
    unique_name,
)
from sheaftopo.report import (
    AnalysisConfig,
    AnalysisResult,
    DaskOptions,
    Progress,
    analyze,
    count_steps,
    distance_alignment,
    paired_subsample,
    preprocess,
    print_summary,
    render_figures,
    render_html,
    render_json,
    retrieval_recall,
    rms_pairwise_distance,
    staged_directory,
    summary_rows,
    write_items_csv,
    write_report,
)

EPS = np.finfo(np.float64).eps
RNG = np.random.default_rng(14)
A0 = RNG.standard_normal((20, 3))
B0 = A0 @ RNG.standard_normal((3, 3)) + 0.1 * RNG.standard_normal((20, 3))
FAST = ["-q", "--dense-max-points", "20", "-k", "2"]
_names = itertools.count()


def pow2(X) -> float:
    """A power of two near max|X| (the exact scale of the unit-scale oracle problem)."""
    top = float(np.max(np.abs(X))) if np.size(X) else 0.0
    return 1.0 if top == 0 else float(2.0 ** np.frexp(top)[1])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("adversarial_io")


def fresh(workdir: Path, suffix: str) -> Path:
    return workdir / f"f{next(_names)}{suffix}"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ----------------------------------------------------------------------
# writing arrays in every format (None: the format cannot hold this value)
# ----------------------------------------------------------------------


def write(fmt: str, path: Path, arr) -> Path | None:
    try:
        if fmt == ".npy":
            np.save(path, arr, allow_pickle=True)  # objects get pickled: the reader must refuse
        elif fmt == ".npz":
            np.savez(path, emb=arr)
        elif fmt == ".pt":
            import torch

            torch.save(torch.from_numpy(np.ascontiguousarray(arr)), path)
        elif fmt == ".safetensors":
            from safetensors.numpy import save_file

            save_file({"emb": np.ascontiguousarray(arr)}, str(path))
        else:
            import pandas as pd

            a = np.asarray(arr)
            if a.ndim == 1:
                df = pd.DataFrame({"v": a})
            elif a.ndim == 2:
                df = pd.DataFrame(a, columns=[f"c{j}" for j in range(a.shape[1])])
            else:
                return None
            if fmt == ".parquet":
                df.to_parquet(path)
            else:
                df.to_csv(path, index=False)
    except Exception:  # the format cannot store it: nothing to read back
        return None
    return path


FORMATS = tuple(EMBEDDING_SUFFIXES)


# ----------------------------------------------------------------------
# regressions (each failed on the code as it was)
# ----------------------------------------------------------------------


def test_regression_exclude_matches_whole_names_and_a_string_is_one_name(tmp_path):
    f = tmp_path / "sets.npz"
    np.savez(f, image=np.ones((5, 8)), text=np.ones((5, 3)), label_emb=np.ones((5, 2)))
    # a str is one name (was: a set of its characters, so nothing was excluded)
    assert list(load_embedding_sets([f], exclude="label_emb")) == ["image", "text"]
    # a part of a name excludes nothing
    assert list(load_embedding_sets([f], exclude="lab")) == ["image", "text", "label_emb"]
    assert list(load_embedding_sets([f], exclude=["lab", "text"])) == ["image", "label_emb"]
    with pytest.raises(TypeError, match="exclude"):
        load_embedding_sets([f], exclude=[1])


def test_regression_a_single_path_is_not_iterated_character_by_character(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.ones((3, 2)))
    for spec in (str(f), f):
        with pytest.raises(TypeError, match="specs must be a list") as e:
            load_embedding_sets(spec)
        assert str(f) in str(e.value)


def test_regression_load_mfeat_checks_its_arguments():
    with pytest.raises(TypeError, match="views"):
        load_mfeat(5)
    with pytest.raises(ValueError, match="views"):
        load_mfeat(["fou", 3])
    with pytest.raises(ValueError, match="views"):
        load_mfeat(["fou", "fou"])
    with pytest.raises(TypeError, match="standardize"):
        load_mfeat("mor", standardize="yes")


def test_regression_check_paired_of_a_list_is_a_clear_error():
    X = np.zeros((3, 2))
    with pytest.raises(TypeError, match="sets must be a mapping"):
        check_paired([X, X])
    with pytest.raises(TypeError, match="sets\\['b'\\]"):
        check_paired({"a": X, "b": 3})


def test_regression_damaged_npz_names_the_file(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, a=RNG.standard_normal((50, 40)))
    data = good.read_bytes()
    cases = {
        "garbage.npz": b"PK\x03\x04garbage",  # zipfile.BadZipFile
        "truncated.npz": data[: len(data) // 2],
        "mangled.npz": data[:200] + b"x" * 60 + data[260:],  # a damaged member
    }
    for name, content in cases.items():
        f = tmp_path / name
        f.write_bytes(content)
        with pytest.raises(EmbeddingFileError) as e:
            load_embeddings(f)
        assert str(e.value).startswith(str(f)) and "\n" not in str(e.value)
        assert "damaged or truncated" in str(e.value)


def test_regression_npz_without_arrays_says_so(tmp_path):
    f = tmp_path / "empty.npz"
    np.savez(f)
    for reader in (load_embeddings, read_arrays, load_labels):
        with pytest.raises(EmbeddingFileError, match="archive that holds no arrays"):
            reader(f)


def test_regression_tables_with_only_a_header_and_missing_labels(tmp_path):
    f = tmp_path / "header.csv"
    f.write_text("a,b\n")
    with pytest.raises(EmbeddingFileError, match="has no rows"):
        load_embeddings(f)
    lab = tmp_path / "labels.csv"
    pd = pytest.importorskip("pandas")
    pd.DataFrame({"y": ["cat", None, "dog"]}).to_csv(lab, index=False)
    with pytest.raises(EmbeddingFileError, match="label 1 is missing"):
        load_labels(lab)
    with pytest.raises(TypeError, match="n_rows"):
        load_labels(lab, n_rows="3")


def test_regression_one_row_parquet_reads_back_writeable(tmp_path):
    pd = pytest.importorskip("pandas")
    f = tmp_path / "one.parquet"
    pd.DataFrame({"c0": [1.5e-301]}).to_parquet(f)  # pyarrow hands out a read-only buffer
    for X in (load_embeddings(f), read_arrays(f)["one"], read_arrays(f"{f}:c0")["c0"]):
        assert X.flags.writeable and X.flags.owndata


def test_regression_report_measures_at_extreme_magnitudes():
    ref_rms = rms_pairwise_distance(A0)
    ref = distance_alignment(A0, B0)
    ranks = {m: retrieval_recall(A0, B0, metric=m).ranks_ab for m in ("cosine", "euclidean")}
    for m in (2.0**-1000, 2.0**-560, 2.0**530, 2.0**1000):
        assert rms_pairwise_distance(A0 * m) == ref_rms * m  # was inf / 0
        r = distance_alignment(A0 * m, B0)  # was NaN
        assert (r.correlation, r.rms_error, r.scale_a) == (
            ref.correlation,
            ref.rms_error,
            ref.scale_a * m,
        )
        for metric, want in ranks.items():  # cosine at 1e300 ranked every partner first
            np.testing.assert_array_equal(
                retrieval_recall(A0 * m, B0 * m, metric=metric).ranks_ab, want
            )
        np.testing.assert_array_equal(preprocess(A0 * m, "l2"), preprocess(A0, "l2"))
        np.testing.assert_allclose(
            preprocess(A0 * m, "standardize"), preprocess(A0, "standardize"), rtol=1e-12
        )
    with pytest.raises(ValueError, match="exceeds the float64 range"):
        rms_pairwise_distance(np.array([[1e308], [-1e308]]))


def test_regression_distance_alignment_refuses_instead_of_nan():
    with pytest.raises(ValueError, match="A: every row is the same point"):
        distance_alignment(np.ones((4, 2)), A0[:4])
    with pytest.raises(ValueError, match="A: all pairwise distances are equal"):
        distance_alignment(np.eye(3), A0[:3])  # a regular simplex
    with pytest.raises(ValueError, match="at least 3 rows"):
        distance_alignment(A0[:2], B0[:2])


def test_regression_report_helpers_check_their_arguments():
    with pytest.raises(TypeError, match="n must be an integer"):
        paired_subsample("5", 3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        paired_subsample(10, 3, "seed")
    with pytest.raises(TypeError, match="result must be an AnalysisResult"):
        render_json({"data": 1})
    with pytest.raises(TypeError, match="X must hold real numbers"):
        preprocess(np.array([["a"]]), "l2")


def test_regression_analyze_labels_of_mixed_types_are_refused_up_front():
    labels = np.array([1, "a"] * 10, dtype=object)
    with pytest.raises(TypeError, match="labels must be integers or strings"):
        analyze({"a": A0, "b": B0}, labels=labels)
    with pytest.raises(ValueError, match="labels must take between 2 and"):
        analyze({"a": A0, "b": B0}, labels=np.zeros(20))


# ---- the command ----------------------------------------------------


def test_regression_cli_damaged_npz_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04garbage")
    good = tmp_path / "good.npy"
    np.save(good, A0)
    assert main(["analyze", str(bad), str(good), "--out", str(tmp_path / "o"), *FAST]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"sheaftopo analyze: error: {bad}: ")
    empty = tmp_path / "empty.npz"
    np.savez(empty)
    assert main(["analyze", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "holds no arrays" in one_line_error(capsys)


def test_regression_unwritable_out_names_the_users_path(tmp_path, capsys, monkeypatch):
    fa, fb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(fa, A0)
    np.save(fb, B0)
    out = tmp_path / "report"

    # the parent refuses new entries: mkdtemp fails naming its own (staging) directory
    def refuse(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2{suffix}")

    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    assert main(["analyze", str(fa), str(fb), "--out", str(out), *FAST]) == 2
    line = one_line_error(capsys)
    assert f"error: {out}: cannot write the report" in line and ".partial" not in line
    monkeypatch.undo()

    # writing a file of the report fails: the message names its place in --out
    def boom(result, directory):
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(directory) / "r.json"))

    monkeypatch.setattr("sheaftopo.report.write_report", boom)
    assert main(["analyze", str(fa), str(fb), "--out", str(out), *FAST]) == 2
    line = one_line_error(capsys)
    assert f"error: {out / 'r.json'}: cannot write the report (Permission denied)" in line
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's read-only /sys")
def test_regression_really_unwritable_out(tmp_path, capsys):
    fa, fb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(fa, A0)
    np.save(fb, B0)
    assert main(["analyze", str(fa), str(fb), "--out", "/sys/sheaftopo-report", *FAST]) == 2
    line = one_line_error(capsys)
    assert "/sys/sheaftopo-report: cannot write the report" in line and ".partial" not in line


@pytest.mark.parametrize(
    "argv, start",
    [
        (["analyze", "a.npy", "b.npy", "--max-points", "abc"], "sheaftopo analyze: error: "),
        (["analyze", "--no-such-flag"], "sheaftopo analyze: error: "),
        (["frobnicate"], "sheaftopo: error: "),
        ([], "sheaftopo: error: "),
        (["verify", "--no-such-flag"], "sheaftopo verify: error: "),
        (["bench", "--no-such-flag"], "sheaftopo bench: error: "),
    ],
)
def test_regression_usage_errors_are_one_line_exit_2(argv, start, capsys):
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert line.startswith(start) and "--help" in line


@pytest.fixture(scope="module")
def big_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("big_pair")
    rng = np.random.default_rng(0)
    fa, fb = d / "a.npy", d / "b.npy"
    np.save(fa, rng.standard_normal((4000, 16)))  # many seconds of work: still running
    np.save(fb, rng.standard_normal((4000, 16)))
    return fa, fb


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# 0.2 s in, the analysis is still importing (scipy runs exec() of strings then: CPython would
# end the process by SIGINT, status -2, though main handled the interrupt); later, computing
@pytest.mark.parametrize("after", [0.0, 0.2, 1.0])
def test_regression_ctrl_c_exits_130_on_one_line_leaving_nothing(tmp_path, big_pair, after):
    fa, fb = big_pair
    out = tmp_path / "reports" / "report"
    out.parent.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheaftopo", "analyze", str(fa), str(fb), "--out", str(out), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell without job control starts background jobs with SIGINT ignored, and the
        # child would inherit that (and rightly ignore Ctrl-C): give it the default disposition
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(out.parent.glob("*.partial")):  # the analysis has started
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "analyze never started"
            time.sleep(0.05)
        time.sleep(after)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert stderr.strip().splitlines() == ["sheaftopo analyze: interrupted"], stderr
    assert list(out.parent.iterdir()) == []  # no staging directory, no partial report


def test_regression_ctrl_c_inside_numba_is_deferred(monkeypatch, sigint_handled):
    """A KeyboardInterrupt raised in numba's callbacks from compiled code (constants unpickled
    on a first call) or mid-compilation ended the process by a segmentation fault."""
    import types

    from sheaftopo.cli._interrupt import interrupt_handler, on_sigint

    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    inside = os.path.join(os.sep, "site-packages", "numba", "core", "serialize.py")
    frame = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=inside, co_name="f"))
    with interrupt_handler():
        on_sigint(signal.SIGINT, frame)  # no KeyboardInterrupt now: the signal comes again
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sent == [(os.getpid(), signal.SIGINT)]
        with pytest.raises(KeyboardInterrupt):
            on_sigint(signal.SIGINT, sys._getframe())


@pytest.mark.parametrize(
    ("filename", "function"),
    [("<frozen importlib._bootstrap>", "cb"), ("/somewhere/module.py", "__del__")],
)
def test_regression_ctrl_c_where_python_drops_it_is_deferred(
    monkeypatch, sigint_handled, filename, function
):
    """A KeyboardInterrupt raised in the import system's module-lock weakref callback is printed
    as "Exception ignored" and dropped: the Ctrl-C was lost and the analysis ran to exit 0 (CI)."""
    import types

    from sheaftopo.cli._interrupt import interrupt_handler, on_sigint

    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    code = types.SimpleNamespace(co_filename=filename, co_name=function)
    with interrupt_handler():
        on_sigint(signal.SIGINT, types.SimpleNamespace(f_code=code))  # no KeyboardInterrupt now
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.01)
    assert sent == [(os.getpid(), signal.SIGINT)]


def test_regression_a_swallowed_ctrl_c_comes_again_until_it_ends_the_command(
    monkeypatch, sigint_handled
):
    """Some C code clears the KeyboardInterrupt raised while it runs (CPython's ABC registration
    during an import, seen in CI): the analysis then ran on and exited 0."""
    from sheaftopo.cli._interrupt import interrupt_handler, on_sigint

    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    with interrupt_handler():
        try:
            on_sigint(signal.SIGINT, sys._getframe())
        except KeyboardInterrupt:
            pass  # swallowed, as that C code does
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sent == [(os.getpid(), signal.SIGINT)]  # it comes again
    # once the interrupt has left the command, nothing more is sent and SIGINT is ignored
    # until the previous handler is back
    with pytest.raises(KeyboardInterrupt), interrupt_handler():
        on_sigint(signal.SIGINT, sys._getframe())
    time.sleep(0.4)
    assert len(sent) == 1
    assert on_sigint(signal.SIGINT, sys._getframe()) is None  # handler not in force: no raise


def test_regression_ctrl_c_in_any_command_is_one_line_130(monkeypatch, capsys):
    import sheaftopo.cli as cli

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    for command in ("verify", "bench", "analyze", "sheafalign"):
        monkeypatch.setattr(cli.COMMANDS[command], "run", interrupt)
        assert main([command]) == 130
        assert one_line_error(capsys) == f"sheaftopo {command}: interrupted"


# ----------------------------------------------------------------------
# sheaftopo.io: every format, every bad array
# ----------------------------------------------------------------------

BAD_FILE_ARRAYS = bad_arrays((5, 3))


@settings(max_examples=examples(24, 300))
@given(arr=BAD_FILE_ARRAYS, fmt=st.sampled_from(FORMATS))
def test_embedding_readers_refuse_bad_arrays_naming_the_file(workdir, arr, fmt):
    path = write(fmt, fresh(workdir, fmt), arr)
    if path is None:
        return

    def same_numbers(X):  # a table of numbers written as text may read back: the same numbers
        want = np.asarray(arr, dtype=np.float64)
        np.testing.assert_array_equal(X, want.reshape(X.shape))

    for fn in (load_embeddings, read_arrays):
        check_call(
            "io", fn, path, names=str(path), check=same_numbers if fn is load_embeddings else None
        )
    check_call("io", load_labels, path, names=str(path))


@settings(max_examples=examples(30, 400))
@given(X=point_clouds(max_rows=8), fmt=st.sampled_from(FORMATS))
def test_embeddings_read_back_equal_in_every_format(workdir, X, fmt):
    path = write(fmt, fresh(workdir, fmt), X)
    assert path is not None

    def equal(Y):
        assert Y.shape == X.shape and Y.flags.writeable and Y.flags.c_contiguous
        if fmt == ".csv" and X.dtype == np.float32:
            np.testing.assert_allclose(Y, X, rtol=1e-7)  # float32's shortest text, read as f8
        elif fmt == ".csv":
            np.testing.assert_allclose(Y, X, rtol=4 * EPS, atol=0)
        else:
            np.testing.assert_array_equal(Y, X)
            if fmt in (".npy", ".npz", ".pt", ".safetensors"):
                assert Y.dtype == X.dtype
        assert not np.shares_memory(Y, X)

    check_call("io", load_embeddings, path, check=equal)
    check_call("io", load_embeddings, str(path), check=equal)


@settings(max_examples=examples(20, 300))
@given(
    specs=st.sampled_from(
        [None, 5, 1.5, b"a.npy", {"a": 1}, [], [None], [5, 6], ["missing.npy", "other.npy"], "x"]
    ),
    exclude=st.sampled_from([(), "labels", ["labels"], 5, [None], b"x", {"a": 1}]),
)
def test_load_embedding_sets_bad_specs_and_exclude(specs, exclude):
    try:
        check_call(
            "io",
            load_embedding_sets,
            specs,
            exclude=exclude,
            names=("specs", "exclude", "spec", "missing.npy"),
        )
    except AssertionError as e:  # FileNotFoundError is the documented error for a missing file
        assert isinstance(e.__cause__, FileNotFoundError) and "missing.npy" in str(e.__cause__)


@settings(max_examples=examples(15, 200))
@given(X=point_clouds(min_rows=2, max_rows=6), n_sets=st.integers(2, 3))
def test_load_embedding_sets_reads_paired_sets_back(workdir, X, n_sets):
    files = []
    for k in range(n_sets):
        f = fresh(workdir, ".npy")
        np.save(f, X * (k + 1))
        files.append(f)

    def equal(sets):
        assert list(sets) == [f.stem for f in files]
        for k, Y in enumerate(sets.values()):
            np.testing.assert_array_equal(Y, X * (k + 1))

    check_call("io", load_embedding_sets, files, check=equal)
    short = fresh(workdir, ".npy")
    np.save(short, X[:-1])
    check_call("io", load_embedding_sets, [files[0], short], names=str(short))
    box = fresh(workdir, ".npz")
    np.savez(box, **{f"s{k}": X * (k + 1) for k in range(n_sets)}, y=np.arange(len(X)))
    check_call("io", load_embedding_sets, [box], exclude="y", check=equal_npz(X, n_sets))


def equal_npz(X, n_sets):
    def check(sets):
        assert list(sets) == [f"s{k}" for k in range(n_sets)]
        for k, Y in enumerate(sets.values()):
            np.testing.assert_array_equal(Y, X * (k + 1))

    return check


@settings(max_examples=examples(20, 300))
@given(
    n_rows=bad_scalars(),
    labels=st.sampled_from(
        [
            np.array([0, 1, 1, 0, 2]),
            np.array(["a", "b", "a", "b", "c"]),
            np.array([0.0, 1.0, 1.0, 0.0, 2.0]),
        ]
    ),
)
def test_load_labels_checks_n_rows_and_reads_labels_back(workdir, n_rows, labels):
    f = fresh(workdir, ".npy")
    np.save(f, labels)

    def equal(y):
        assert y.shape == (5,)
        if labels.dtype.kind == "f":
            assert y.dtype == np.int64
        np.testing.assert_array_equal(y, labels)

    check_call("io", load_labels, f, n_rows=n_rows, names=("n_rows", str(f)), check=equal)
    txt = fresh(workdir, ".txt")
    txt.write_text("\n".join(str(v) for v in labels.tolist()) + "\n")
    check_call(
        "io",
        load_labels,
        txt,
        n_rows=5,
        check=lambda y: np.testing.assert_array_equal(
            y.astype(str), np.array([str(v) for v in labels.tolist()])
        ),
    )


@settings(max_examples=examples(20, 300))
@given(
    spec=st.one_of(
        st.sampled_from([None, 5, 1.5, b"a.npz", ["a.npz"], {"a": 1}, object()]),
        st.text(max_size=20),
    )
)
def test_split_spec(spec):
    def right(res):
        path, key = res
        if key is not None:
            assert f"{path}:{key}" == spec and path.suffix.lower() in (*EMBEDDING_SUFFIXES, ".txt")
        else:
            assert path == Path(spec)

    check_call("io", split_spec, spec, names="spec", check=right)
    check_call(
        "io", split_spec, "runs/emb.npz:text", check=lambda r: r == (Path("runs/emb.npz"), "text")
    )


@settings(max_examples=examples(20, 300))
@given(
    sets=st.sampled_from(
        [
            None,
            [np.zeros((3, 2))] * 2,
            "ab",
            {"a": np.zeros((3, 2)), "b": None},
            {"a": np.zeros((3, 2)), "b": 5},
            {"a": np.zeros((3, 2)), "b": np.zeros((4, 2))},
            {"a": np.zeros((3, 2)), "b": np.zeros((3, 7))},
            {},
        ]
    )
)
def test_check_paired(sets):
    status, _ = check_call("io", check_paired, sets, names=("sets", "b"))
    if isinstance(sets, dict) and len(sets) == 2 and np.shape(sets["b"]) == (4, 2):
        assert status == "error"


@settings(max_examples=examples(20, 200))
@given(
    X=st.sampled_from(
        [
            None,
            "ab",
            3,
            [[1.0, 2.0]],
            np.float64(1.0),
            np.zeros(0),
            np.zeros((0, 2)),
            np.ones((3, 2)),
            np.eye(3),
            np.array([[np.nan, 1.0], [np.nan, 1.0]]),
            np.zeros((2, 0)),
            np.ones(4),
        ]
    )
)
def test_check_distinct_rows(X):
    status, _ = check_call("io", check_distinct_rows, X, "a.npy", names=("X", "a.npy"))
    rows = np.shape(X)[0] if isinstance(X, np.ndarray) and X.ndim else 0
    if isinstance(X, np.ndarray) and rows and np.all(X == X[0]):
        assert status == "error"
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] > 1 and not np.all(X == X[0]):
        assert status == "ok"


def test_check_distinct_rows_names_the_set_and_what_a_row_is():
    with pytest.raises(
        EmbeddingFileError, match=r"^set 'a': every analysed row is the same vector"
    ):
        check_distinct_rows(np.ones((4, 2)), "set 'a'", rows="analysed row")


@settings(max_examples=examples(20, 200))
@given(
    name=st.sampled_from(["emb", "emb#2", "", None, 3, b"emb"]),
    taken=st.sampled_from([(), {"emb"}, {"emb", "emb#2"}, ["emb", "emb#3"], {"": 1}]),
)
def test_unique_name(name, taken):
    def right(r):
        assert r not in taken and r.startswith(name)

    status, _ = check_call("io", unique_name, name, taken, names="name", check=right)
    assert status == ("ok" if isinstance(name, str) else "error")


def test_embedding_file_error_is_one_line_and_names_the_file():
    e = EmbeddingFileError(Path("x/a.npy"), "line one\n  line two")
    assert str(e) == "x/a.npy: line one line two" and e.path == "x/a.npy"
    assert isinstance(e, ValueError)


# ----------------------------------------------------------------------
# sheaftopo.datasets
# ----------------------------------------------------------------------


@settings(max_examples=examples(20, 200))
@given(
    views=st.one_of(
        st.sampled_from(BAD_SCALARS),
        st.sampled_from(
            [
                None,
                "mor",
                ["mor", "zer"],
                ("zer",),
                [],
                ["mor", "mor"],
                ["nope"],
                [3],
                b"mor",
                {"mor": 1},
            ]
        ),
    ),
    standardize=st.sampled_from([False, True, np.True_, "yes", 1, None, float("nan")]),
)
def test_load_mfeat(views, standardize):
    def right(data):
        names = (
            list(MFEAT_VIEWS)
            if views is None
            else ([views] if isinstance(views, str) else list(views))
        )
        assert list(data.views) == names and data.n_samples == 2000
        for name, X in data.views.items():
            assert X.shape == (2000, MFEAT_VIEWS[name]) and X.dtype == np.float64
            if standardize:
                raw = load_mfeat(name).views[name]
                sd = raw.std(axis=0)
                want = (raw - raw.mean(axis=0)) / np.where(sd == 0, 1.0, sd)
                np.testing.assert_allclose(X, want, rtol=1e-12, atol=1e-12)
        X = next(iter(data.views.values()))
        X[:] = 0  # fresh arrays: the next load is unaffected
        assert np.any(load_mfeat(next(iter(data.views))).views[next(iter(data.views))] != 0)

    check_call(
        "datasets",
        load_mfeat,
        views,
        standardize=standardize,
        names=("views", "standardize"),
        check=right,
    )


@pytest.mark.parametrize(
    "views, labels",
    [
        ({}, np.zeros(3)),
        ([np.zeros((3, 2))], np.zeros(3)),
        ({"a": np.zeros((4, 2))}, np.zeros(3)),
        ({"a": np.zeros(3)}, np.zeros(3)),
        ({"a": np.zeros((3, 2))}, np.zeros((3, 1))),
    ],
)
def test_multiview_data_checks_its_fields(views, labels):
    check_call("datasets", MultiViewData, views, labels, names=("views", "labels"))
    with pytest.raises((ValueError, TypeError)):
        MultiViewData(views, labels)


def test_multiview_data_getitem_names_the_views():
    data = MultiViewData({"a": np.zeros((3, 2))}, np.zeros(3))
    assert data["a"].shape == (3, 2) and data.n_samples == 3
    with pytest.raises(KeyError, match="the views are"):
        data["b"]


def test_every_public_name_is_covered():
    """A new public name fails here until this file covers it."""
    assert set(io.__all__) == {
        "EMBEDDING_SUFFIXES",
        "EmbeddingFileError",
        "check_distinct_rows",
        "check_paired",
        "load_embedding_sets",
        "load_embeddings",
        "load_labels",
        "read_arrays",
        "split_spec",
        "unique_name",
    }
    assert set(datasets.__all__) == {
        "MFEAT_VIEWS",
        "MultiViewData",
        "load_mfeat",
        "PlantedSubspaces",
        "make_planted_subspaces",  # sheaftopo.fiber's: tested in tests/fiber
    }
    assert set(report.__all__) == {
        "FIGURES",
        "PAIR_STEPS",
        "SECTIONS",  # constants
        "AnalysisConfig",
        "AnalysisResult",
        "DaskOptions",
        "DistanceAlignment",
        "Progress",
        "Retrieval",
        "analyze",
        "count_steps",
        "distance_alignment",
        "paired_subsample",
        "preprocess",
        "print_summary",
        "render_figures",
        "render_html",
        "render_json",
        "retrieval_recall",
        "rms_pairwise_distance",
        "staged_directory",
        "summary_rows",
        "write_items_csv",
        "write_report",
    }


# ----------------------------------------------------------------------
# sheaftopo.report: measures against an oracle on the unit-scale problem
# ----------------------------------------------------------------------


def rms_oracle(X) -> float:
    s = pow2(X)
    Y = np.asarray(X, dtype=np.float64) / s
    return float(np.sqrt(np.mean(pdist(Y) ** 2))) * s if len(Y) > 1 else 0.0


@settings(max_examples=examples(40, 500))
@given(X=st.one_of(point_clouds(max_rows=10), bad_arrays((5, 3))))
def test_rms_pairwise_distance(X):
    def right(r):
        want = rms_oracle(X)
        assert abs(r - want) <= 1e-12 * max(want, pow2(X)), (r, want)

    check_call("report", rms_pairwise_distance, X, names="X", check=right)


def alignment_oracle(A, B):
    dA = pdist(np.asarray(A, dtype=np.float64) / pow2(A))
    dB = pdist(np.asarray(B, dtype=np.float64) / pow2(B))
    sa, sb = np.sqrt(np.mean(dA**2)), np.sqrt(np.mean(dB**2))
    x, y = dA / sa, dB / sb
    return x, y, float(np.corrcoef(x, y)[0, 1]), float(np.sqrt(np.mean((x - y) ** 2)))


@settings(max_examples=examples(40, 500))
@given(
    A=point_clouds(min_rows=2, max_rows=9),
    other=st.sampled_from(["rotated", "noisy", "own"]),
    seed=st.integers(0, 2**16),
    m=st.sampled_from(MAGNITUDES),
)
def test_distance_alignment(A, other, seed, m):
    rng = np.random.default_rng(seed)
    A64 = np.asarray(A, dtype=np.float64)
    if other == "rotated":
        Q, _ = np.linalg.qr(rng.standard_normal((A.shape[1], A.shape[1])))
        B = (A64 / pow2(A64)) @ Q * m
    elif other == "noisy":
        B = (A64 / pow2(A64) + 0.3 * rng.standard_normal(A.shape)) * m
    else:
        B = rng.standard_normal((A.shape[0], 2)) * m
    loose = A.dtype == np.float32 and B.dtype == np.float32

    def right(r):
        x, _, corr, err = alignment_oracle(A, B)
        tol = 1e-2 if loose else 1e-6
        assert abs(r.correlation - corr) <= tol and abs(r.rms_error - err) <= tol, (r, corr, err)
        assert abs(r.scale_a - rms_oracle(A)) <= 1e-9 * rms_oracle(A)
        assert r.n_pairs == len(x)
        if other == "rotated" and not loose:
            assert r.rms_error <= 1e-6 and r.correlation >= 1 - 1e-6

    status, res = check_call("report", distance_alignment, A, B, names=("A", "B"), check=right)
    if status == "error" and A.shape[0] >= 3:  # refused as undefined: the oracle agrees
        spreads = []
        for X in (A, B):
            d = pdist(np.asarray(X, dtype=np.float64) / pow2(X))
            spreads.append(0.0 if d.max() == 0 else d.std() / np.sqrt(np.mean(d**2)))
        assert min(spreads) < 1e-6, (res, spreads)


@settings(max_examples=examples(20, 300))
@given(bad=bad_arrays((5, 3)), first=st.booleans())
def test_distance_alignment_and_retrieval_refuse_bad_arrays(bad, first):
    good = np.arange(15.0).reshape(5, 3) ** 1.5
    args = (bad, good) if first else (good, bad)
    check_call("report", distance_alignment, *args, names=("A", "B"))
    check_call("report", retrieval_recall, *args, names=("A", "B"))


def retrieval_oracle(A, B, metric):
    """Brute-force ranks on the unit-scale problem, and rows whose ranks are not near a tie."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if metric == "cosine":
        A = A / np.abs(A).max(axis=1, keepdims=True)
        B = B / np.abs(B).max(axis=1, keepdims=True)
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        B = B / np.linalg.norm(B, axis=1, keepdims=True)
        S = A @ B.T
    else:
        s = max(pow2(A), pow2(B))
        A, B = A / s, B / s
        S = -((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2)
    own = np.diag(S)
    gap = np.abs(S - own[:, None])
    gap[np.arange(len(S)), np.arange(len(S))] = np.inf
    clear = gap.min(axis=1) > 1e-9
    return (S > own[:, None]).sum(axis=1), clear


@settings(max_examples=examples(40, 500))
@given(
    A=point_clouds(max_rows=9),
    seed=st.integers(0, 2**16),
    m=st.sampled_from(MAGNITUDES),
    metric=st.sampled_from(["cosine", "euclidean"]),
    ks=st.sampled_from([(1, 5), 3, [1, 2, 10**30]]),
)
def test_retrieval_recall(A, seed, m, metric, ks):
    rng = np.random.default_rng(seed)
    A64 = np.asarray(A, dtype=np.float64)
    B = (A64 / pow2(A64) + 0.2 * rng.standard_normal(A.shape)) * m

    def right(r):
        ranks, clear = retrieval_oracle(A, B, metric)
        np.testing.assert_array_equal(r.ranks_ab[clear], ranks[clear])
        for k, v in r.recall_ab.items():
            assert v == np.mean(r.ranks_ab < k)
        assert 0 < r.mrr_ab <= 1 and 0 < r.mrr_ba <= 1

    check_call(
        "report", retrieval_recall, A, B, metric=metric, ks=ks, names=("A", "B"), check=right
    )


@settings(max_examples=examples(20, 200))
@given(
    ks=st.sampled_from([*BAD_SCALARS, (), (0,), (1.5,), "abc", [[1, 2]]]),
    metric=st.sampled_from(["cosine", "euclidean", "manhattan", None, 3]),
)
def test_retrieval_recall_bad_hyperparameters(ks, metric):
    check_call("report", retrieval_recall, A0, B0, ks=ks, metric=metric, names=("ks", "metric"))


@settings(max_examples=examples(40, 400))
@given(
    X=st.one_of(point_clouds(max_rows=8), bad_arrays((5, 3))),
    how=st.sampled_from(["none", "center", "l2", "standardize", "zscore", None]),
)
def test_preprocess(X, how):
    def right(Y):
        X64 = np.asarray(X, dtype=np.float64)
        assert Y.shape == X64.shape and not np.shares_memory(Y, X)
        s = pow2(X64)
        Z = X64 / s
        if how == "none":
            np.testing.assert_array_equal(Y, X)
        elif how == "l2":
            want = Z / np.linalg.norm(Z, axis=1, keepdims=True)
            np.testing.assert_allclose(Y, want, rtol=1e-12, atol=1e-15)
        elif how == "center":
            np.testing.assert_allclose(Y / s, Z - Z.mean(axis=0), rtol=0, atol=8 * EPS)
        else:
            mean = Z.mean(axis=0)
            sd = (Z - mean).std(axis=0)
            flat = sd <= 64 * EPS * np.abs(mean)
            np.testing.assert_allclose(Y[:, ~flat].std(axis=0), 1.0, rtol=1e-9)
            np.testing.assert_allclose(Y[:, flat], (Z - mean)[:, flat], atol=8 * EPS)

    check_call("report", preprocess, X, how, names=("X", "how"), check=right)


@settings(max_examples=examples(30, 300))
@given(
    n=st.one_of(st.integers(0, 50), bad_scalars()),
    max_points=st.one_of(st.integers(0, 60), bad_scalars()),
    rng=st.sampled_from([0, None, np.random.default_rng(3), "seed", -1, 1.5]),
)
def test_paired_subsample(n, max_points, rng):
    def right(idx):
        if idx is None:
            assert max_points == 0 or n <= max_points
            return
        assert len(idx) == max_points and idx.dtype == np.int64
        assert np.all(np.diff(idx) > 0) and idx[0] >= 0 and idx[-1] < n

    check_call(
        "report",
        paired_subsample,
        n,
        max_points,
        rng,
        names=("n", "max_points", "rng"),
        check=right,
    )


@settings(max_examples=examples(20, 200))
@given(
    n_sets=st.one_of(st.integers(0, 6), bad_scalars()),
    has_labels=st.sampled_from([True, False, None, 1, "yes"]),
)
def test_count_steps(n_sets, has_labels):
    def right(total):
        per_set = 2 + int(has_labels)
        group = int(n_sets >= 3)  # the sheaf section, once over three or more sets
        pairs = n_sets * (n_sets - 1) // 2 * len(report.PAIR_STEPS)
        assert total == n_sets * per_set + pairs + group

    check_call(
        "report", count_steps, n_sets, has_labels, names=("n_sets", "has_labels"), check=right
    )


@settings(max_examples=examples(15, 100))
@given(
    total=st.one_of(st.integers(0, 5), bad_scalars()),
    backend=st.sampled_from(["plain", "auto", "nope", None]),
)
def test_progress(total, backend):
    import io as stdio

    def run():
        out = stdio.StringIO()
        with Progress(total, stream=out, backend=backend) as p:
            with p.step("one"):
                pass
        return out.getvalue(), p.timings

    check_call("report", run, names=("total", "backend"))


FIELDS = [f for f in AnalysisConfig.__dataclass_fields__]


@settings(max_examples=examples(30, 300))
@given(
    field=st.sampled_from(FIELDS),
    value=st.sampled_from([*BAD_SCALARS, "raw", "cca", "l2", (), (0,), ("a",), -5, 10**30]),
)
def test_analysis_config(field, value):
    names = (field, "ks") if field == "ks" else (field,)
    check_call("report", AnalysisConfig(**{field: value}).validated, names=names)


@settings(max_examples=examples(20, 200))
@given(field=st.sampled_from(["block_rows", "memory_budget", "timeout"]), value=bad_scalars())
def test_dask_options(field, value):
    check_call("report", DaskOptions(**{field: value}).validated, names=field)


@settings(max_examples=examples(25, 200))
@given(
    sets=st.sampled_from(
        [
            None,
            [A0, B0],
            {"a": A0},
            {"a": A0, "b": B0[:-1]},
            {"a": A0, "b": "abc"},
            {"a": A0, "b": np.full_like(B0, np.nan)},
            {"a": A0, "b": B0.astype(complex)},
            {"a": A0[:3], "b": B0[:3]},
            {"a": A0, "b": np.ones_like(B0)},
        ]
    ),
    labels=st.one_of(st.none(), bad_arrays((20,))),
    extra=st.sampled_from([{}, {"config": {"k": 2}}, {"progress": "yes"}, {"sources": ["a"]}]),
)
def test_analyze_refuses_bad_input_before_computing(sets, labels, extra):
    check_call(
        "report",
        analyze,
        sets,
        labels=labels,
        **extra,
        names=("set", "sets", "labels", "config", "progress", "sources", "k + 2"),
    )


@pytest.mark.parametrize("m", [1e-300, 1.0, 1e300])
def test_analyze_tiny_sets_at_every_magnitude(m):
    """A full analysis of 10 rows: finite numbers or a clear error, and scale-free numbers
    equal to the unit-scale analysis (where the library functions it calls manage)."""
    A, B = A0[:10], B0[:10, :2]
    cfg = AnalysisConfig(k=2, n_eps=4, sw_directions=4, max_points=0)
    base = analyze({"a": A, "b": B}, config=cfg, labels=np.arange(10) % 3)

    def right(res):
        for key in ("correlation", "rms_error"):
            got = res.pair("a", "b")["distance_alignment"][key]["value"]
            want = base.pair("a", "b")["distance_alignment"][key]["value"]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
        s = res.data["sets"]["a"]["persistence"]["rms_pairwise_distance"]["value"]
        assert s == pytest.approx(rms_pairwise_distance(A) * m, rel=1e-12)

    check_call(
        "report",
        analyze,
        {"a": A * m, "b": B},
        config=cfg,
        labels=np.arange(10) % 3,
        check=right,
        names=("X", "D", "set", "eps", "A", "B"),
        allow_posinf=True,
    )


@pytest.fixture(scope="module")
def tiny_result():
    cfg = AnalysisConfig(k=2, n_eps=4, sw_directions=4, dense_max_points=10)
    return analyze({"a": A0[:10], "b": B0[:10]}, config=cfg)


@pytest.mark.parametrize("bad", [None, "abc", {"data": {}}, 5, np.zeros(3)])
def test_renderers_refuse_what_is_not_a_result(bad, tmp_path):
    for fn, args in (
        (render_json, (bad,)),
        (render_html, (bad, {})),
        (summary_rows, (bad,)),
        (print_summary, (bad,)),
        (render_figures, (bad,)),
        (write_report, (bad, tmp_path)),
    ):
        check_call("report", fn, *args, names="result")


def test_renderers_and_staged_directory_on_a_real_result(tiny_result, tmp_path, capsys):
    import json

    assert isinstance(tiny_result, AnalysisResult)
    for figures in (None, [b"x"], {"a.png": "not bytes"}):
        check_call("report", render_html, tiny_result, figures, names="figures")
    for out_dir in (None, 5, ["x"]):
        check_call("report", lambda d: staged_directory(d).__enter__(), out_dir, names="out_dir")
    out = tmp_path / "r"
    with staged_directory(out) as stage:
        files = write_report(tiny_result, stage)
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    data = json.loads((out / "report.json").read_text())
    assert data["pairs"][0]["key"] == "a | b"
    print_summary(tiny_result)
    assert "a | b" in capsys.readouterr().out
    check_call("report", write_report, tiny_result, 5, names="directory")
    with pytest.raises(KeyboardInterrupt):  # an interrupt leaves nothing behind
        with staged_directory(tmp_path / "s"):
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_write_items_csv_refuses_bad_input_and_writes_every_item(tiny_result, tmp_path):
    import csv

    for bad in (None, "abc", {"data": {}}, 5, np.zeros(3)):
        check_call("report", write_items_csv, bad, tmp_path / "x.csv", names="result")
    for path in (None, 5, ["x"], b"x.csv", tmp_path, tmp_path / "missing" / "x.csv"):
        check_call("report", write_items_csv, tiny_result, path, names="path")
    no_items = AnalysisResult(
        data={**tiny_result.data, "pairs": [{**tiny_result.data["pairs"][0], "items": {}}]}
    )
    check_call("report", write_items_csv, no_items, tmp_path / "x.csv", names="result")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no temp file

    def right(n):
        with open(tmp_path / "x.csv", newline="") as f:
            lines = list(csv.reader(f))
        assert n == len(lines) - 1 == 10 and lines[0][:3] == ["pair", "row", "label"]
        assert sorted(int(r[1]) for r in lines[1:]) == list(range(10))

    check_call("report", write_items_csv, tiny_result, str(tmp_path / "x.csv"), check=right)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


# ----------------------------------------------------------------------
# the command: bad files of every kind, one line, exit 2
# ----------------------------------------------------------------------


@settings(max_examples=examples(12, 150))
@given(
    arr=BAD_FILE_ARRAYS,
    fmt=st.sampled_from([".npy", ".npz", ".csv"]),
    role=st.sampled_from(["set", "labels"]),
)
def test_cli_bad_files_are_one_line_exit_2(workdir, arr, fmt, role):
    import contextlib
    import io as stdio

    path = write(fmt, fresh(workdir, fmt), arr)
    if path is None:
        return
    good = fresh(workdir, ".npy")
    np.save(good, A0[:5])
    out = fresh(workdir, "")
    argv = (
        ["analyze", str(path), str(good)]
        if role == "set"
        else ["analyze", str(good), str(good), "--labels", str(path)]
    )
    err = stdio.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(stdio.StringIO()):
        rc = main([*argv, "--out", str(out), *FAST])
    if rc == 0:  # e.g. a csv of numbers written as text: a valid input after all
        return
    assert rc == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sheaftopo analyze: error: "), lines
    assert str(path) in lines[0] or role == "labels"
    assert not out.exists() and not list(workdir.glob("*.partial"))
