"""Shared machinery of the bad-input (adversarial) suite.

Every public function of sheaftopo promises: a correct finite result, or a
``ValueError`` / ``TypeError`` that names the offending argument. Never a
hang, never a NaN, never an internal error type (``OverflowError``,
``ZeroDivisionError``, ``AttributeError``, ``IndexError``, numba's
``TypingError``, scipy's ``LinAlgError``, ...).

The test modules ``tests/*/test_*_adversarial.py`` feed each public function
the inputs drawn by :func:`bad_arrays` (and their own, function-specific
ones) and hand every call to :func:`check_call`, which

* bounds the call in time (``signal.alarm`` for Python-level loops, and a
  ``faulthandler`` watchdog that aborts the run with a traceback if a
  compiled kernel never returns, so a hang can never pass silently);
* accepts a finite result (arrays, scalars, tensors, tuples, dataclasses and
  result objects are walked recursively; ``+inf`` is allowed only where the
  caller says so, e.g. essential deaths) or a ``ValueError`` / ``TypeError``
  whose message names one of the given argument names;
* counts the case for its subpackage; ``tests/conftest.py`` prints the counts
  at the end of the run.

Two profiles: ``quick`` (the default, what CI runs) and ``thorough``
(``pytest --adversarial=thorough`` or ``SHEAFTOPO_ADVERSARIAL=thorough``),
which draws many more examples per function.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import faulthandler
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from hypothesis import strategies as st

#: cases tried, per subpackage (filled by check_call, printed by conftest)
CASES: collections.Counter[str] = collections.Counter()

#: seconds one case may take before it counts as a hang
CASE_SECONDS = 60.0


def profile() -> str:
    return os.environ.get("SHEAFTOPO_ADVERSARIAL", "quick")


def examples(quick: int = 20, thorough: int = 400) -> int:
    """How many hypothesis examples a bad-input test draws in the active profile."""
    return thorough if profile() == "thorough" else quick


class CaseTimeout(Exception):
    """A case ran past CASE_SECONDS (raised from the alarm handler)."""


@contextlib.contextmanager
def _bounded(seconds: float, what: str):
    use_alarm = hasattr(signal, "SIGALRM")
    if use_alarm:
        def handler(signum, frame):  # pragma: no cover - only on a hang
            raise CaseTimeout(f"{what} did not return within {seconds:.0f} s")

        old = signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    # a compiled kernel that never returns never reaches the alarm handler:
    # the watchdog dumps every thread's stack and ends the run instead
    faulthandler.dump_traceback_later(4 * seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _leaves(obj: Any, path: str, seen: set[int]) -> Iterable[tuple[str, Any]]:
    if id(obj) in seen:
        return
    if obj is None or isinstance(obj, (str, bytes, bool)):
        return
    if isinstance(obj, (int, np.integer)):
        return
    if isinstance(obj, (float, np.floating, complex, np.complexfloating)):
        yield path, np.asarray(obj)
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            yield path, obj
        elif obj.dtype.kind == "O":
            seen.add(id(obj))
            for k, v in enumerate(obj.ravel()[:10_000]):
                yield from _leaves(v, f"{path}[{k}]", seen)
        return
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        t = obj.detach()
        if t.is_sparse:
            t = t.coalesce().values()
        elif t.layout != __import__("torch").strided:  # CSR / CSC / BSR
            t = t.values()
        if t.is_floating_point() or t.is_complex():
            yield path, t.cpu().double().numpy() if not t.is_complex() else t.cpu().numpy()
        return
    if type(obj).__module__.startswith("scipy.sparse") or hasattr(obj, "tocsr"):
        data = getattr(obj, "data", None)
        if isinstance(data, np.ndarray) and data.dtype.kind in "fc":
            yield path + ".data", data
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{path}[{k!r}]", seen)
    elif isinstance(obj, (list, tuple)):
        for k, v in enumerate(obj[:10_000]):
            yield from _leaves(v, f"{path}[{k}]", seen)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _leaves(getattr(obj, f.name, None), f"{path}.{f.name}", seen)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("sheaftopo"):
        for k, v in vars(obj).items():
            if not k.startswith("_"):
                yield from _leaves(v, f"{path}.{k}", seen)


def assert_finite(result: Any, *, allow_posinf: bool = False, what: str = "result") -> None:
    """No NaN anywhere in ``result`` (and no inf unless ``allow_posinf`` allows +inf)."""
    for path, arr in _leaves(result, what, set()):
        a = np.asarray(arr)
        if a.dtype.kind == "c":
            a = np.concatenate([a.real.ravel(), a.imag.ravel()])
        if np.isnan(a).any():
            raise AssertionError(f"{path} contains NaN")
        if allow_posinf:
            if np.isneginf(a).any():
                raise AssertionError(f"{path} contains -inf")
        elif np.isinf(a).any():
            raise AssertionError(f"{path} contains inf")


#: error types a bad input may legitimately end in (subclasses included)
CLEAR_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError)


def check_call(
    subpackage: str,
    fn: Callable[..., Any],
    *args: Any,
    names: str | Iterable[str] = (),
    allow_posinf: bool = False,
    seconds: float | None = None,
    check: Callable[[Any], None] | None = None,
    **kwargs: Any,
) -> tuple[str, Any]:
    """Call ``fn(*args, **kwargs)`` as one bad-input case and judge its outcome.

    Parameters
    ----------
    subpackage : str
        Where the case is counted (``"persistence"``, ``"sheaf"``, ...).
    names : str or iterable of str
        Argument names any one of which an error message must mention. Empty:
        any ``ValueError`` / ``TypeError`` is accepted.
    allow_posinf : bool
        Whether ``+inf`` may appear in the result (essential deaths).
    check : callable, optional
        Called with the result when the call returns, to assert correctness.

    Returns
    -------
    ("ok", result) or ("error", exception)
    """
    CASES[subpackage] += 1
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    what = getattr(fn, "__qualname__", repr(fn))
    try:
        with _bounded(seconds or CASE_SECONDS, what):
            result = fn(*args, **kwargs)
    except CaseTimeout as exc:
        raise AssertionError(str(exc)) from None
    except CLEAR_ERRORS as exc:
        # numba's TypingError is a TypeError subclass that leaks internals
        mod = type(exc).__module__
        if mod.startswith(("numba", "scipy", "numpy", "torch")) and not mod.startswith(
            "numpy.exceptions"
        ):
            raise AssertionError(f"{what} leaked an internal {type(exc).__name__}: {exc}") from exc
        msg = str(exc)
        if "please report" in msg.lower() or "internal error" in msg.lower():
            raise AssertionError(f"{what} leaked an internal error: {msg}") from exc
        if names and not any(n in msg for n in names):
            raise AssertionError(
                f"{what} raised {type(exc).__name__} naming none of {names}: {msg}"
            ) from exc
        return "error", exc
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise AssertionError(
            f"{what} raised {type(exc).__module__}.{type(exc).__name__} instead of a "
            f"ValueError/TypeError: {exc}"
        ) from exc
    assert_finite(result, allow_posinf=allow_posinf, what=f"{what}(...)")
    if check is not None:
        check(result)
    return "ok", result


# --------------------------------------------------------------------------
# strategies

MAGNITUDES = (1e-300, 1e-170, 1e-160, 1e-8, 1.0, 1e8, 1e154, 1e160, 1e200, 1e300)


def _layouts(arr: np.ndarray) -> list[np.ndarray]:
    """The same values as C, Fortran, strided and read-only arrays."""
    out = [arr]
    if arr.ndim >= 1 and arr.size:
        out.append(np.asfortranarray(arr))
        big = np.repeat(arr, 2, axis=0)[::2]
        out.append(big)
        ro = arr.copy()
        ro.flags.writeable = False
        out.append(ro)
    return out


@st.composite
def point_clouds(
    draw,
    *,
    min_rows: int = 1,
    max_rows: int = 12,
    min_cols: int = 1,
    max_cols: int = 4,
    layouts: bool = True,
) -> np.ndarray:
    """Finite point clouds at extreme magnitudes, with duplicates and ties, in odd layouts."""
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(min_cols, max_cols))
    kind = draw(st.sampled_from(["random", "grid", "duplicates", "identical", "line"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "random":
        X = rng.standard_normal((n, d))
    elif kind == "grid":
        X = rng.integers(-2, 3, size=(n, d)).astype(float)  # many exact ties
    elif kind == "duplicates":
        base = rng.standard_normal((max(1, n // 2), d))
        X = base[rng.integers(0, len(base), size=n)]
    elif kind == "identical":
        X = np.tile(rng.standard_normal((1, d)), (n, 1))
    else:
        X = np.outer(np.arange(n, dtype=float), rng.standard_normal(d))
    X = X * draw(st.sampled_from(MAGNITUDES))
    if draw(st.booleans()):
        X = X.astype(np.float32) if np.all(np.abs(X) < 1e30) and np.all(
            (X == 0) | (np.abs(X) > 1e-30)
        ) else X
    if layouts:
        X = draw(st.sampled_from(_layouts(np.ascontiguousarray(X))))
    return X


def bad_arrays(shape: tuple[int, ...] = (5, 3)) -> st.SearchStrategy[Any]:
    """Inputs that must be refused where an array of real numbers of ``shape`` is expected."""
    n = shape[0] if shape else 1
    finite = np.arange(int(np.prod(shape)) or 1, dtype=float).reshape(shape or ())
    nan = finite.copy()
    if nan.size:
        nan.flat[nan.size // 2] = np.nan
    pinf = finite.copy()
    if pinf.size:
        pinf.flat[0] = np.inf
    ninf = finite.copy()
    if ninf.size:
        ninf.flat[-1] = -np.inf
    cases: list[Any] = [
        None,
        "abc",
        nan,
        pinf,
        ninf,
        np.zeros((0, *tuple(shape[1:]))),
        np.zeros((n,) * 0),
        finite.reshape(-1)[:, None, None] if finite.ndim != 3 else finite.reshape(-1),
        finite.astype(complex) + 1j,
        finite.astype(object),
        finite.astype(str),
        {"a": 1},
    ]
    return st.sampled_from(cases)


def arrays_in_layouts(arr: np.ndarray) -> st.SearchStrategy[np.ndarray]:
    return st.sampled_from(_layouts(np.ascontiguousarray(arr)))


BAD_SCALARS: tuple[Any, ...] = (
    None, "1", True, float("nan"), float("inf"), -float("inf"), -1, 0, 1e300, -1e300, [1], 1j,
)


def bad_scalars() -> st.SearchStrategy[Any]:
    """Values that a positive real hyperparameter must either accept correctly or refuse."""
    return st.sampled_from(BAD_SCALARS)


def isclose_rel(a: float, b: float, rtol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0) or a == b
