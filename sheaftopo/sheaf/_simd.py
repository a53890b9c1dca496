"""The row operations of the assembly kernels: hand-written LLVM IR, or plain numba.

:mod:`sheaftopo.sheaf._assembly` sums four products of a matrix row at a
time and prefetches the maps of edges it will read soon. numba leaves LLVM's
SLP vectoriser off, so the fast path writes that IR by hand (``<4 x double>``
loads, multiplies, adds and stores, and ``llvm.prefetch``) through llvmlite's
IR builder. That builder's API has changed between llvmlite releases (typed
and opaque pointers, intrinsic declaration), so :func:`row_ops` is the one
place that decides which implementation the kernels get: it first emits the
same IR into a throwaway module and has LLVM verify it; when anything fails
(an import, a missing method, invalid IR) it returns plain numba functions
instead. The decision is made once, when the kernels are first loaded,
never while they run. Both give the same results bit for bit: each lane is a
multiply followed by an add in either version (no fused multiply-add).

numba's disk cache does not record which operations a kernel was compiled
with: a cached kernel is reused until ``_assembly.py`` (or numba) changes.
Either one is correct; a test that forces the fallback therefore compiles in
a process of its own with its own ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba as nb
import numpy as np

__all__ = ["WIDTH", "RowOps", "llvm_ir_builds", "row_ops"]

#: sums held in one vector (4: measured faster here than 8); the plain path has this width
WIDTH = 4

_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)


class RowOps(NamedTuple):
    """The three operations the kernels call (numba functions usable in ``@njit`` code).

    Attributes
    ----------
    prefetch : (arr, i) -> None
        Hint the CPU to fetch ``arr[i]``'s cache line (the plain version does nothing).
    row_axpy : (acc, a, B, b) -> tuple
        ``acc + a * B[b : b + 4]`` for a tuple ``acc`` of four float64 sums.
    row_add : (out, o, w, acc) -> None
        ``out[o : o + 4] += w * acc``.
    fast : bool
        True for the hand-written LLVM IR, False for the plain numba fallback.
    """

    prefetch: Any
    row_axpy: Any
    row_add: Any
    fast: bool


def row_ops(*, plain: bool = False) -> RowOps:
    """The kernels' row operations: the LLVM-IR ones when this llvmlite builds them, else plain.

    Parameters
    ----------
    plain : bool
        Return the plain numba versions without trying the fast ones.

    Returns
    -------
    RowOps
        ``fast`` says which implementation was chosen.
    """
    if not plain and llvm_ir_builds():
        try:
            return _fast_ops()
        except Exception:  # an API difference the probe did not reach: use the plain path
            pass
    return RowOps(_plain_prefetch, _plain_row_axpy, _plain_row_add, False)


def llvm_ir_builds() -> bool:
    """True when the IR of the fast row operations builds and verifies with this llvmlite.

    Emits, with the same helpers the intrinsics use, a function doing one
    vector multiply-add and one prefetch into a throwaway module, and has
    LLVM parse and verify it (a few milliseconds; no numba compilation).
    """
    try:
        from llvmlite import binding as llvm
        from llvmlite import ir

        module = ir.Module(name="sheaftopo_row_ops_probe")
        dbl = ir.DoubleType()
        vt = ir.VectorType(dbl, WIDTH)
        fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [dbl.as_pointer(), dbl]), "probe")
        builder = ir.IRBuilder(fn.append_basic_block())
        ptr, x = fn.args
        tup = ir.Constant(ir.LiteralStructType([dbl] * WIDTH), [0.0] * WIDTH)
        vptr = builder.bitcast(ptr, vt.as_pointer())
        y = builder.load(vptr, align=8)
        builder.store(
            _plus_scaled(builder, y, x, _tuple_to_vector(builder, tup, vt)), vptr, align=8
        )
        _emit_prefetch(builder, ptr)
        builder.ret_void()
        llvm.parse_assembly(str(module)).verify()
    except Exception:
        return False
    return True


# ----------------------------------------------------------------------------
# the IR both the probe and the intrinsics emit
# ----------------------------------------------------------------------------


def _emit_prefetch(builder: Any, ptr: Any) -> None:
    """``llvm.prefetch(ptr, read, locality 3, data cache)``."""
    from llvmlite import ir

    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    # declare_intrinsic mangles the name from the pointer type itself
    # ("llvm.prefetch.p0i8" with typed pointers, "llvm.prefetch.p0" with opaque ones)
    fn = builder.module.declare_intrinsic(
        "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
    )
    builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])


def _tuple_to_vector(builder: Any, tup: Any, vt: Any) -> Any:
    from llvmlite import ir

    v = ir.Constant(vt, ir.Undefined)
    for c in range(vt.count):
        v = builder.insert_element(v, builder.extract_value(tup, c), ir.IntType(32)(c))
    return v


def _plus_scaled(builder: Any, y: Any, x: Any, v: Any) -> Any:
    """y + x * v, lane by lane, for vectors y, v and a scalar x (a multiply, then an add)."""
    from llvmlite import ir

    vt = v.type
    s = builder.insert_element(ir.Constant(vt, ir.Undefined), x, ir.IntType(32)(0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vt.count), [0] * vt.count)
    s = builder.shuffle_vector(s, ir.Constant(vt, ir.Undefined), zeros)
    return builder.fadd(y, builder.fmul(s, v))


# ----------------------------------------------------------------------------
# the fast path: numba intrinsics emitting that IR
# ----------------------------------------------------------------------------


def _fast_ops() -> RowOps:
    """The intrinsics (built here, so that an import or API failure reaches :func:`row_ops`)."""
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic

    def item_pointer(context, builder, arrty, arr, idx):
        ary = context.make_array(arrty)(context, builder, arr)
        return cgutils.get_item_pointer(context, builder, arrty, ary, [idx], wraparound=False)

    def vector_type(count):
        return ir.VectorType(ir.DoubleType(), count)

    @intrinsic
    def prefetch(typingctx, arr, i):
        """Hint the CPU to fetch ``arr[i]``'s cache line (a no-op for the result)."""

        def codegen(context, builder, signature, args):
            _emit_prefetch(builder, item_pointer(context, builder, signature.args[0], *args))
            return context.get_dummy_value()

        return nb.types.void(arr, i), codegen

    @intrinsic
    def row_axpy(typingctx, acc, a, B, b):
        """acc + a * B[b : b + W] for a tuple acc of W float64 sums (lane by lane)."""
        _check_row_types(acc, B)

        def codegen(context, builder, signature, args):
            tup, x, arr, idx = args
            vt = vector_type(signature.args[0].count)
            ptr = item_pointer(context, builder, signature.args[2], arr, idx)
            row = builder.load(builder.bitcast(ptr, vt.as_pointer()), align=8)
            r = _plus_scaled(builder, _tuple_to_vector(builder, tup, vt), x, row)
            out = context.get_constant_undef(signature.return_type)
            for c in range(vt.count):
                out = builder.insert_value(out, builder.extract_element(r, ir.IntType(32)(c)), c)
            return out

        return acc(acc, a, B, b), codegen

    @intrinsic
    def row_add(typingctx, out, o, w, acc):
        """out[o : o + W] += w * acc for a tuple acc of W float64 sums."""
        _check_row_types(acc, out)

        def codegen(context, builder, signature, args):
            arr, idx, x, tup = args
            vt = vector_type(signature.args[3].count)
            ptr = item_pointer(context, builder, signature.args[0], arr, idx)
            vptr = builder.bitcast(ptr, vt.as_pointer())
            y = builder.load(vptr, align=8)
            builder.store(
                _plus_scaled(builder, y, x, _tuple_to_vector(builder, tup, vt)), vptr, align=8
            )
            return context.get_dummy_value()

        return nb.types.void(out, o, w, acc), codegen

    return RowOps(prefetch, row_axpy, row_add, True)


def _check_row_types(acc: Any, arr: Any) -> None:
    """The intrinsics load W consecutive doubles: 1-D float64 arrays of unit stride only
    (C-contiguous, or slices of such arrays with step 1: all the kernels here pass)."""
    ok = (
        isinstance(acc, nb.types.UniTuple)
        and acc.dtype == nb.types.float64
        and isinstance(arr, nb.types.Array)
        and arr.dtype == nb.types.float64
        and arr.ndim == 1
    )
    if not ok:
        raise nb.core.errors.TypingError("expected a float64 tuple and a 1-D float64 array")


# ----------------------------------------------------------------------------
# the plain path: the same arithmetic in numba, lane by lane
# ----------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _plain_prefetch(arr, i):
    """No prefetch hint (the fallback only loses the hint's speed)."""
    return None


@nb.njit(cache=True, inline="always")
def _plain_row_axpy(acc, a, B, b):
    """acc + a * B[b : b + 4] for a tuple acc of four float64 sums (b uint64)."""
    return (
        acc[0] + a * B[b],
        acc[1] + a * B[b + _U1],
        acc[2] + a * B[b + _U2],
        acc[3] + a * B[b + _U3],
    )


@nb.njit(cache=True, inline="always")
def _plain_row_add(out, o, w, acc):
    """out[o : o + 4] += w * acc for a tuple acc of four float64 sums (o uint64)."""
    out[o] += w * acc[0]
    out[o + _U1] += w * acc[1]
    out[o + _U2] += w * acc[2]
    out[o + _U3] += w * acc[3]
