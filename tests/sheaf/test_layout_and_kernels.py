"""The sheaf's read-only layout and cache, and the kernels' two row-operation paths."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numba as nb
import numpy as np
import pytest

import sheaftopo
from sheaftopo.sheaf import CellularSheaf, SheafLayout, _simd, coboundary, laplacian, vertex_blocks

RAGGED = CellularSheaf.random([[0, 1], [1, 2], [2, 0], [2, 3]], [1, 2, 3, 2], [2, 1, 3, 1], seed=0)


def test_layout_is_the_sheafs_storage_read_only_and_named():
    F = RAGGED
    lay = F.layout
    assert isinstance(lay, SheafLayout) and lay is F.layout
    np.testing.assert_array_equal(lay.edges, F.edges)
    np.testing.assert_array_equal(lay.vertex_offsets, F.vertex_offsets)
    np.testing.assert_array_equal(lay.edge_offsets, F.edge_offsets)
    for e in range(F.n_edges):
        t = lay.tail[lay.tail_offsets[e] : lay.tail_offsets[e + 1]]
        h = lay.head[lay.head_offsets[e] : lay.head_offsets[e + 1]]
        np.testing.assert_array_equal(t, F.tail_map(e).ravel())
        np.testing.assert_array_equal(h, F.head_map(e).ravel())
    for name, arr in lay._asdict().items():
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0
    with pytest.raises(AttributeError):
        F.layout = lay


def test_cached_builds_once_and_clear_cache_drops_everything():
    F = CellularSheaf.random([[0, 1], [1, 2]], 2, 2, seed=1)
    calls = []

    def build():
        calls.append(1)
        return object()

    first = F.cached("thing", build)
    assert F.cached("thing", build) is first and len(calls) == 1
    delta = coboundary(F)
    assert coboundary(F) is delta  # the operators go through the same cache
    L = laplacian(F)
    F.clear_cache()
    assert F.cached("thing", build) is not first and len(calls) == 2
    assert coboundary(F) is not delta
    np.testing.assert_array_equal(coboundary(F).toarray(), delta.toarray())
    np.testing.assert_array_equal(laplacian(F).toarray(), L.toarray())


def test_failed_build_stores_nothing():
    F = CellularSheaf.constant([[0, 1]], 1)

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        F.cached("x", fail)
    assert F.cached("x", lambda: 3) == 3


def _row_kernels(ops):
    axpy, add = ops.row_axpy, ops.row_add

    @nb.njit
    def run(B, out, a, w):
        acc = (0.0, 0.0, 0.0, 0.0)
        for k in range(B.shape[0] // 4):
            acc = axpy(acc, a[k], B, np.uint64(4 * k))
        for k in range(out.shape[0] // 4):
            add(out, np.uint64(4 * k), w[k], acc)
        return acc

    return run


def test_row_ops_fast_and_plain_agree_bit_for_bit():
    fast, plain = _simd.row_ops(), _simd.row_ops(plain=True)
    assert fast.fast is _simd.llvm_ir_builds() and plain.fast is False
    rng = np.random.default_rng(5)
    B = rng.standard_normal(64) * np.exp(rng.uniform(-30, 30, 64))
    a = rng.standard_normal(16)
    w = rng.standard_normal(8)
    base = rng.standard_normal(32)
    results = []
    for ops in (fast, plain):
        out = base.copy()
        acc = _row_kernels(ops)(B, out, a, w)
        results.append((np.array(acc), out))
    for x, y in zip(results[0], results[1], strict=True):
        assert np.array_equal(x, y)
    acc = np.zeros(4)
    for k in range(16):
        acc = acc + a[k] * B[4 * k : 4 * k + 4]
    assert np.array_equal(results[0][0], acc)  # a multiply, then an add, lane by lane


def test_probe_refuses_a_changed_llvmlite_api(monkeypatch):
    from llvmlite import ir

    assert _simd.llvm_ir_builds()  # this environment's llvmlite builds the fast path

    def missing(*args, **kwargs):
        raise AttributeError("shuffle_vector changed")

    monkeypatch.setattr(ir.IRBuilder, "shuffle_vector", missing)
    assert not _simd.llvm_ir_builds()
    assert _simd.row_ops().fast is False


_FALLBACK_SCRIPT = """
import sys
import numpy as np
from llvmlite import ir

saved = ir.IRBuilder.shuffle_vector
del ir.IRBuilder.shuffle_vector  # an llvmlite whose IR API differs
from sheaftopo.sheaf import _assembly
ir.IRBuilder.shuffle_vector = saved
assert _assembly.ROW_OPS.fast is False, "the fallback was not chosen"
sys.path.insert(0, sys.argv[2])
from test_layout_and_kernels import operators_of_samples
np.savez(sys.argv[1], *operators_of_samples())
"""


def _hub(d, de, seed):
    edges = [(0, i) for i in range(1, 70)] + [(i, i + 1) for i in range(1, 69)]
    return CellularSheaf.random(edges, d, de, seed=seed)


def operators_of_samples() -> list[np.ndarray]:
    """Laplacians (plain, weighted, normalised) and vertex blocks of sheaves whose rows take
    the vector tiles, the scalar remainder and the buffer flush."""
    out = []
    for F in (_hub(8, 8, 1), _hub(5, 3, 2), RAGGED):
        w = np.random.default_rng(3).uniform(0.1, 2.0, F.n_edges)
        for L in (laplacian(F), laplacian(F, weights=w, normalized=True)):
            out += [L.indptr, L.indices, L.data]
        out.append(np.concatenate([np.ravel(b) for b in vertex_blocks(F, weights=w)]))
    return out


def test_kernels_on_the_plain_fallback_match_the_fast_path(tmp_path):
    """A fresh process whose llvmlite lacks an IR method the fast path uses compiles the
    kernels on the plain row operations (its own numba cache: never mixed with this one's)
    and gets the same Laplacians and vertex blocks, bit for bit."""
    from sheaftopo.sheaf import _assembly

    assert _assembly.ROW_OPS.fast  # this process: the hand-written IR
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        PYTHONPATH=str(Path(sheaftopo.__file__).parents[1]),
    )
    result = tmp_path / "plain.npz"
    script = textwrap.dedent(_FALLBACK_SCRIPT)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(result), str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(result) as plain:
        got = [plain[f"arr_{i}"] for i in range(len(plain.files))]
    expected = operators_of_samples()
    assert len(got) == len(expected)
    for a, b in zip(expected, got, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
