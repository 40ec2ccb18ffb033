"""Distributed algorithms on dtl containers (the guide's "Algorithm Operations").

Every function takes a :class:`DistributedVector` or :class:`DistributedArray`
(most also a :class:`DistributedSpan` of one; see each docstring) and follows
one rule: **element-wise** algorithms (``for_each``, ``transform``, ``fill``,
``copy``, ``iota``, ``replace``, ``generate``) work on each rank's local part
and are *not* collective (call them on every rank to cover the whole
container); **queries, reductions and scans** (``find``, ``count``,
``reduce``, ``min_element``, ``inclusive_scan``, …) are *collective*: every
rank of the container's context calls them, in the same order, and every
rank gets the same answer, about the whole container (global indices,
global order)::

    import dtl
    import numpy as np

    with dtl.Context() as ctx:
        v = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
        dtl.iota(v)                                   # v[i] = i
        dtl.transform(v, np.sqrt)                     # in place, NumPy ufunc
        total = dtl.reduce(v, op=dtl.SUM)             # same value on every rank
        first = dtl.find_if(v, lambda x: x > 10.0)    # global index or None
        dtl.inclusive_scan(v)                         # prefix sums, global order

The algorithms on values of the container's dtype (``reduce``, ``find``,
``count``, ``min_element``, the scans, ``dot``, ``iota``, ``replace``,
``fill``, ``copy``) run in the Rust core (``dtl_core::algorithms``) with the
GIL released; those taking a Python callable (``for_each``, ``transform``,
``generate``, ``find_if``, ``count_if``, ``all_of``/``any_of``/``none_of``,
``transform_reduce``) evaluate it here, on the local NumPy view, then (for
the collective ones) combine the ranks' results with one ``MPI_Allgather``.

**Callables.** A NumPy ufunc is applied to the whole local view
(``func(src_local, out=dst_local)``). Any other callable is first tried on
the whole local view (``func(view)``; the view passed in is read-only
except for ``for_each``); the result is accepted if it is an array or
scalar that broadcasts to the local shape. If that call raises
``TypeError`` or ``ValueError`` (``math.sqrt``, ``lambda x: x if x > 0 else
0``) or returns something else, ``func`` is called once per element (on
NumPy scalars of the dtype). ``vectorized=True`` / ``False`` forces one
path. In the automatic mode a function may thus run once on the whole view
and then per element: keep side effects out of it. Results are written as
NumPy assignment writes them (``dst[...] = result``: cast to the
destination dtype).

**Execution policy.** ``execution=EXEC_SEQ`` / ``EXEC_PAR`` sets the
container's policy (:attr:`DistributedVector.execution`) for one call and
restores it after: the core runs local work of at least 65 536 elements on
rayon's threads under ``EXEC_PAR`` (the default) and on the calling thread
under ``EXEC_SEQ``; results are the same bits either way. Python callables
always run on the calling thread.

**Errors.** A bad argument of a collective call (an unknown op, a bitwise op
on floats, a value that is not a number, containers that do not match, a
callable that raises on some rank) raises on *every* rank: the rank where it
failed raises the original error, the others an ``InvalidArgumentError``
naming the call and the failing ranks.

**Tensors.** A ``DistributedTensor`` is taken as the sequence of its
elements in global C order, as ``tensor.ravel()`` in NumPy: global indices
(``find``, ``min_element``, ``with_index=True``, ``iota``, ``generate``) are
flat indices (``numpy.unravel_index(i, shape)`` gives the multi-index),
``inclusive_scan`` is ``np.cumsum`` of the flattened tensor, ``sort`` is
``np.sort(t, axis=None)`` reshaped, and callables receive the flattened
local block. Tensors split along axis 0 (any partition) run every algorithm
in place; tensors split along an inner axis run the order-dependent ones
(``find``, ``min_element`` & co, scans, ``sort``, ``is_sorted``,
deterministic ``reduce``) on a copy moved to axis 0 (one ``MPI_Alltoallv``,
and one back for those that modify it). Spans of tensors are not supported
(``NotSupportedError``).
"""

from __future__ import annotations

import contextlib
import operator
from enum import IntEnum
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, Union, cast, overload

import numpy as np

from . import _collectives, _dtl
from ._collectives import SUM, _op_code
from ._dtl import Context, DistributedArray, DistributedTensor, DistributedVector
from ._errors import DTLError, NotSupportedError, _invalid
from ._span import DistributedSpan


class ExecutionPolicy(IntEnum):
    """Where the local work of an algorithm runs: on the calling thread
    (``SEQ``) or on rayon's thread pool (``PAR``, the default)."""

    SEQ = 0
    PAR = 1


EXEC_SEQ = ExecutionPolicy.SEQ
EXEC_PAR = ExecutionPolicy.PAR

Container = Union[DistributedVector, DistributedArray, DistributedTensor]
"""A container the algorithms take (a tensor as its flattened elements)."""
Target = Union[DistributedVector, DistributedArray, DistributedTensor, DistributedSpan]
"""A container, or a span of a 1-D one."""
Located = Tuple[int, Any]
"""``(global_index, value)`` of ``min_element`` / ``max_element``."""

__all__ = [
    "ExecutionPolicy",
    "EXEC_SEQ",
    "EXEC_PAR",
    "for_each",
    "transform",
    "fill",
    "copy",
    "iota",
    "replace",
    "generate",
    "find",
    "find_if",
    "count",
    "count_if",
    "all_of",
    "any_of",
    "none_of",
    "min_element",
    "max_element",
    "minmax",
    "reduce",
    "reduce_local",
    "transform_reduce",
    "dot",
    "inner_product",
    "inclusive_scan",
    "exclusive_scan",
    "inclusive_scan_local",
    "exclusive_scan_local",
    "sort",
    "stable_sort",
    "sort_local",
    "is_sorted",
    "nth_element",
    "median",
    "percentile",
]

# The ten dtypes, numbered for the cross-rank checks (any fixed order).
_DTYPES = [np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                 np.uint64, np.float32, np.float64)]
_NO_INDEX = np.iinfo(np.int64).max
_OP_NAMES = ["sum", "prod", "min", "max", "land", "lor", "lxor", "band", "bor", "bxor"]


# ---------------------------------------------------------------- arguments


def _not_supported(message: str) -> NotSupportedError:
    err = NotSupportedError(f"not supported: {message} [DTL_ERROR_NOT_SUPPORTED]")
    err.status = 401
    err.status_name = "DTL_ERROR_NOT_SUPPORTED"
    return err


def _target(obj: Any, what: str, arg: str = "container", spans: bool = True) -> Tuple[Container, Optional[DistributedSpan]]:
    """``(container, span or None)`` for an algorithm argument."""
    if isinstance(obj, (DistributedVector, DistributedArray, DistributedTensor)):
        return obj, None
    if isinstance(obj, DistributedSpan):
        src = obj.source
        if isinstance(src, DistributedTensor):
            raise _not_supported(f"{what}: spans of a DistributedTensor are not supported by the algorithms")
        if not spans:
            raise _not_supported(
                f"{what} does not take a DistributedSpan in this release; pass the container (span.source), "
                f"or work on span.local_view() with NumPy"
            )
        return src, obj
    kinds = ("DistributedVector, DistributedArray, DistributedTensor or DistributedSpan" if spans
             else "DistributedVector, DistributedArray or DistributedTensor")
    raise _invalid(f"{what}: {arg} must be a dtl.{kinds}, got {type(obj).__name__}")


def _execution(execution: Any) -> Optional[int]:
    if execution is None:
        return None
    if isinstance(execution, (bool, np.bool_)):
        code = -1
    else:
        try:
            code = operator.index(execution)
        except TypeError:
            code = -1
    if code not in (0, 1):
        raise _invalid(f"execution must be dtl.EXEC_SEQ (0), dtl.EXEC_PAR (1) or None, got {execution!r}")
    return code


@contextlib.contextmanager
def _policy(container: Container, code: Optional[int]) -> Iterator[None]:
    """Sets the container's execution policy for one call, then restores it."""
    if code is None:
        yield
        return
    old = container.execution
    container.execution = code
    try:
        yield
    finally:
        container.execution = old


def _native_collective(container: Container, what: str, execution: Any, call: Callable[[], Any]) -> Any:
    """Runs a collective core call under ``execution``; a bad ``execution``
    on this rank still takes part in the call's agreement step, so that every
    rank raises."""
    try:
        code = _execution(execution)
    except DTLError as e:
        _dtl._reject(container.context, what, e.status, str(e))
        raise
    with _policy(container, code):
        return call()


def _dtype_code(dt: Any) -> int:
    d = np.dtype(dt)
    for k, t in enumerate(_DTYPES):
        if d == t:
            return k
    return -1


def _result_dtype(dt: Any, what: str) -> np.dtype[Any]:
    d: np.dtype[Any] = np.dtype(dt)
    if d == np.bool_:
        return np.dtype(np.int64)
    if _dtype_code(d) < 0:
        raise _invalid(
            f"{what}: func gives values of dtype {d}, which dtl does not support; pass dtype= one of "
            f"{', '.join(str(t) for t in _DTYPES)}"
        )
    return d


def _number(value: Any, what: str) -> Any:
    a = np.asarray(value)
    if a.ndim != 0 or a.dtype.kind not in "biuf":
        raise _invalid(f"{what} must be a real number (a scalar), got {value!r}")
    return value


def _local(container: Container, span: Optional[DistributedSpan]) -> np.ndarray:
    """The local view of the container or span (zero-copy; a tensor's
    flattened, in C order)."""
    if span is not None:
        return span.local_view()
    view = container.local_view()
    return view.reshape(-1) if isinstance(container, DistributedTensor) else view


def _readonly(view: np.ndarray) -> np.ndarray:
    ro = view.view()
    ro.flags.writeable = False
    return ro


def _indices(container: Container, span: Optional[DistributedSpan]) -> np.ndarray:
    """The global indices of the local elements (span-relative for a span)."""
    if span is None:
        if isinstance(container, DistributedTensor):
            return container.local_flat_indices()
        return container.local_indices()
    lo, hi = span.local_range()
    # Spans are over vectors and arrays (1-D) only.
    return cast("_dtl._Distributed1D", container).local_indices()[lo:hi] - span.offset


def _global_index(container: Container, span: Optional[DistributedSpan], k: int) -> int:
    """The global index of local element ``k`` of the view (span-relative)."""
    if span is None:
        return int(container.to_global(k))
    lo, _ = span.local_range()
    return int(container.to_global(lo + k)) - span.offset


def _is_replicated(container: Container) -> bool:
    return int(container.partition_policy) == 4


def _layout(c: Container) -> str:
    """The layout of a container, for messages."""
    if isinstance(c, DistributedTensor):
        return (f"shape {c.shape}, split axis {c.axis}, partition {int(c.partition_policy)}, local shape "
                f"{c.local_shape}")
    return f"{c.global_size} elements, partition {int(c.partition_policy)}, local sizes {c.local_sizes}"


def _same_layout(a: Container, b: Container) -> bool:
    ta, tb = isinstance(a, DistributedTensor), isinstance(b, DistributedTensor)
    if ta or tb:
        # Shapes and layouts are agreed across ranks, so a local check decides alike everywhere.
        return (ta and tb and tuple(a.shape) == tuple(b.shape) and a.axis == b.axis  # type: ignore[union-attr]
                and int(a.partition_policy) == int(b.partition_policy)
                and tuple(a.local_shape) == tuple(b.local_shape))
    return (
        a.context.size == b.context.size
        and a.global_size == b.global_size
        and int(a.partition_policy) == int(b.partition_policy)
        and cast("_dtl._Distributed1D", a).block_size == cast("_dtl._Distributed1D", b).block_size
        and list(cast("_dtl._Distributed1D", a).local_sizes) == list(cast("_dtl._Distributed1D", b).local_sizes)
    )


# ---------------------------------------------------------------- callables


def _broadcasts(result: Any, shape: Tuple[int, ...]) -> bool:
    if not isinstance(result, (np.ndarray, np.generic, int, float, bool)):
        return False
    try:
        return np.broadcast_shapes(np.shape(result), shape) == shape
    except ValueError:
        return False


_MISSING = object()


def _vectorised(func: Callable[..., Any], args: Sequence[Any], shape: Tuple[int, ...], vectorized: Optional[bool],
                what: str, none_ok: bool = False) -> Any:
    """``func(*args)`` on whole arrays, or ``_MISSING`` when the per-element
    path must run instead (automatic mode only)."""
    if vectorized is False:
        return _MISSING
    try:
        result = func(*args)
    except (TypeError, ValueError):
        if vectorized:
            raise
        return _MISSING
    if (none_ok and result is None) or _broadcasts(result, shape):
        return result
    if vectorized:
        raise _invalid(
            f"{what}: func returned {type(result).__name__} of shape {np.shape(result)}, which does not broadcast "
            f"to the local shape {shape} (with vectorized=True func must map the local array to an array)"
        )
    return _MISSING


def _ufunc_arity(func: np.ufunc, nin: int, what: str) -> None:
    if func.nin != nin or func.nout != 1:
        raise _invalid(
            f"{what}: the ufunc {func.__name__} takes {func.nin} input(s) and gives {func.nout} output(s); "
            f"{what} needs one taking {nin} and giving 1 (wrap it, e.g. lambda x: np.{func.__name__}(x, 2))"
        )


def _check_vectorized(vectorized: Any) -> Optional[bool]:
    if vectorized is None or isinstance(vectorized, (bool, np.bool_)):
        return None if vectorized is None else bool(vectorized)
    raise _invalid(f"vectorized must be True, False or None, got {vectorized!r}")


def _mapped(func: Optional[Callable[..., Any]], view: np.ndarray, vectorized: Optional[bool],
            what: str) -> Optional[np.ndarray]:
    """``func`` over the local view as an array of the local shape (``None``
    for an empty view on the per-element path: no result, no dtype)."""
    if func is None:
        return view
    shape = view.shape
    if isinstance(func, np.ufunc) and vectorized is not False:
        _ufunc_arity(func, 1, what)
        return np.broadcast_to(np.asarray(func(view)), shape)
    r = _vectorised(func, (_readonly(view),), shape, vectorized, what)
    if r is not _MISSING:
        return np.broadcast_to(np.asarray(r), shape)
    out = [func(x) for x in view]
    # No element, no result to take a dtype from: None (the other ranks decide).
    return np.asarray(out) if out else None


def _mask(pred: Callable[..., Any], view: np.ndarray, vectorized: Optional[bool], what: str) -> np.ndarray:
    """``pred`` over the local view as a boolean array (truthiness)."""
    shape = view.shape
    if isinstance(pred, np.ufunc) and vectorized is not False:
        _ufunc_arity(pred, 1, what)
        return np.broadcast_to(np.asarray(pred(view)).astype(bool), shape)
    r = _vectorised(pred, (_readonly(view),), shape, vectorized, what)
    if r is not _MISSING:
        return np.broadcast_to(np.asarray(r).astype(bool), shape)
    return np.array([bool(pred(x)) for x in view], dtype=bool).reshape(shape)


# ---------------------------------------------------------------- one collective step


def _exchange(container: Container, span: Optional[DistributedSpan], what: str, err: Optional[BaseException],
              payload: Sequence[int]) -> np.ndarray:
    """The collective step of the Python-level algorithms: every rank sends
    one int64 row ``[failed, global size, partition, dtype, span offset,
    span length, *payload]`` (one ``MPI_Allgather``, after dtl's agreement
    step); returns the ``(size, len(row))`` rows in rank order. Raises on
    every rank if any rank failed (the failing rank its own error) or the
    container arguments differ between ranks."""
    ctx = container.context
    off, length = (span.offset, len(span)) if span is not None else (0, container.global_size)
    row = [int(err is not None), container.global_size, int(container.partition_policy),
           _dtype_code(container.dtype), off, length]
    rows = _dtl._allgather(ctx, np.array(row + [int(p) for p in payload], dtype=np.int64)).reshape(ctx.size, -1)
    failed = [int(r) for r in np.flatnonzero(rows[:, 0])]
    if failed:
        if err is not None:
            raise err
        raise _invalid(f"{what} failed on rank(s) {failed}; see the error raised there")
    for col, name in enumerate(("global size", "partition", "dtype", "span offset", "span length"), start=1):
        lo, hi = int(rows[:, col].min()), int(rows[:, col].max())
        if lo != hi:
            raise _invalid(f"{what}: the container's {name} differs across ranks (min {lo}, max {hi}); every rank "
                           f"must pass the same container")
    return rows


def _pack(x: Any, dt: np.dtype[Any]) -> int:
    b = np.zeros(8, dtype=np.uint8)
    b[: dt.itemsize] = np.array([x], dtype=dt).view(np.uint8)
    return int(b.view(np.int64)[0])


def _unpack(bits: int, dt: np.dtype[Any]) -> Any:
    return np.array([bits], dtype=np.int64).view(np.uint8)[: dt.itemsize].view(dt)[0]


def _identity(op: str, dt: np.dtype[Any]) -> Any:
    """The op's identity in ``dt`` (what the core returns for no elements)."""
    if op in ("sum", "lor", "lxor", "bor", "bxor"):
        v: Any = 0
    elif op in ("prod", "land"):
        v = 1
    elif op == "band":
        return np.array([-1]).astype(dt)[0]
    elif dt.kind == "f":
        v = np.inf if op == "min" else -np.inf
    else:
        info = np.iinfo(dt)
        v = info.max if op == "min" else info.min
    return np.array([v], dtype=dt)[0]


def _reduce_array(x: np.ndarray, op: str, dt: np.dtype[Any]) -> Any:
    """``op`` over a non-empty array, in ``dt`` (integers wrap; MIN/MAX
    propagate NaN; logical ops give 0 or 1)."""
    if op in ("land", "lor", "lxor"):
        logical: Any = {"land": np.logical_and, "lor": np.logical_or, "lxor": np.logical_xor}[op]
        return np.array([logical.reduce(np.asarray(x).astype(bool))], dtype=dt)[0]
    f: Any = {"sum": np.add, "prod": np.multiply, "min": np.minimum, "max": np.maximum, "band": np.bitwise_and,
         "bor": np.bitwise_or, "bxor": np.bitwise_xor}[op]
    return f.reduce(np.asarray(x, dtype=dt), dtype=dt)


def _op_name(op: Any) -> str:
    """The op's lower-case name (``None``: ``"sum"``, as the native methods take it)."""
    return "sum" if op is None else _OP_NAMES[_op_code(op)]


def _check_op_dtype(op: str, dt: np.dtype[Any], what: str) -> None:
    if dt.kind == "f" and op not in ("sum", "prod", "min", "max"):
        raise _invalid(f"{what}: op {op} is defined for integer dtypes only, got {dt}; valid ops for {dt} are "
                       f"sum, prod, min, max")


def _combine(container: Container, span: Optional[DistributedSpan], what: str, op: Any,
             values: Callable[[], Optional[np.ndarray]], dtype: Any) -> Any:
    """``op`` over ``values()`` (this rank's mapped elements) on all ranks:
    each rank reduces its part, one ``MPI_Allgather`` exchanges the partial
    results, which are combined in rank order (a replicated container
    answers from its own copy). Collective."""
    err: Optional[BaseException] = None
    code, has, bits = -1, 0, 0
    name = "sum"
    try:
        name = _op_name(op)
        vals = values()
        if dtype is not None or vals is not None:
            dt = _result_dtype(dtype if dtype is not None else vals.dtype, what)  # type: ignore[union-attr]
            code = _dtype_code(dt)
        if vals is not None and vals.size and not (dt.kind == "f" and name not in ("sum", "prod", "min", "max")):
            has, bits = 1, _pack(_reduce_array(vals, name, dt), dt)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank by _exchange
        err = e
    rows = _exchange(container, span, what, err, [code, has, bits])
    codes = sorted({int(c) for c in rows[:, -3] if c >= 0})
    if len(codes) > 1:
        raise _invalid(f"{what}: func gives different dtypes on different ranks "
                       f"({', '.join(str(_DTYPES[c]) for c in codes)}); pass dtype= to fix the result dtype")
    dt = _DTYPES[codes[0]] if codes else np.dtype(container.dtype if dtype is None else dtype)
    _check_op_dtype(name, dt, what)
    mine = [rows[container.context.rank]] if _is_replicated(container) else list(rows)
    parts = [_unpack(int(r[-1]), dt) for r in mine if r[-2]]
    if not parts:
        return _identity(name, dt)
    return _reduce_array(np.array(parts, dtype=dt), name, dt)


# ---------------------------------------------------------------- element-wise (local)


def for_each(container: Target, func: Callable[..., Any], *, with_index: bool = False,
             vectorized: Optional[bool] = None, execution: Any = None) -> None:
    """Applies ``func`` to every local element, in place. **Not collective**:
    each rank works on its part (call it on every rank to cover the whole
    container).

    ``func(x)`` (or ``func(i, x)`` with ``with_index=True``, ``i`` the
    global index, span-relative for a span) may return a new value, which is
    written back (cast to the dtype as NumPy assignment does), or ``None``
    (it then only observes, or modifies the view it was given in place).
    A NumPy ufunc runs as ``func(view, out=view)`` (``func(i, view,
    out=view)`` with ``with_index``); other callables are tried on the whole
    local view, which they may modify (``def f(v): v *= 2``), then per
    element (see the module docs; ``vectorized=`` forces a path).
    ``execution=`` is accepted and checked; Python callables run on the
    calling thread. Takes a container or a :class:`DistributedSpan`.
    """
    c, span = _target(container, "for_each")
    _execution(execution)
    vectorized = _check_vectorized(vectorized)
    view = _local(c, span)
    shape = view.shape
    idx = _indices(c, span) if with_index else None
    args: Tuple[Any, ...] = (idx, view) if with_index else (view,)
    if isinstance(func, np.ufunc) and vectorized is not False:
        _ufunc_arity(func, len(args), "for_each")
        try:
            func(*args, out=view)
        except TypeError:  # an output cast NumPy refuses: assign instead
            view[...] = func(*args)
        return
    r = _vectorised(func, args, shape, vectorized, "for_each", none_ok=True)
    if r is not _MISSING:
        if r is not None:
            view[...] = r
        return
    idx_list = idx.tolist() if idx is not None else None
    for k in range(shape[0]):
        x = view[k]
        out = func(idx_list[k], x) if idx_list is not None else func(x)
        if out is not None:
            view[k] = out


@overload
def transform(src: Target, dst_or_func: Callable[..., Any], func: None = None, *,
              vectorized: Optional[bool] = None, execution: Any = None) -> None: ...
@overload
def transform(src: Target, dst_or_func: Target, func: Callable[..., Any], *,
              vectorized: Optional[bool] = None, execution: Any = None) -> None: ...


def transform(src: Target, dst_or_func: Any, func: Optional[Callable[..., Any]] = None, *,
              vectorized: Optional[bool] = None, execution: Any = None) -> None:
    """``dst[i] = func(src[i])`` for every element: ``transform(src, dst,
    func)``, or in place with ``transform(container, func)``. **Not
    collective**: each rank transforms its part.

    ``dst`` must have the same global size and partition as ``src`` (its
    dtype may differ: results are cast as NumPy assignment casts); spans must
    also start at the same offset. A NumPy ufunc runs as ``func(src_local,
    out=dst_local)``; other callables are tried on the whole (read-only)
    local view, then per element (module docs; ``vectorized=`` forces a
    path). Raises ``InvalidArgumentError`` for mismatched containers,
    ``NotSupportedError`` for tensors.
    """
    if func is None:
        if not callable(dst_or_func):
            raise _invalid(f"transform(container, func): func must be callable, got {type(dst_or_func).__name__}")
        func, dst = dst_or_func, src
    else:
        dst = dst_or_func
        if not callable(func):
            raise _invalid(f"transform(src, dst, func): func must be callable, got {type(func).__name__}")
    if getattr(src, "placement_policy", 0) in (1, 2) or getattr(dst, "placement_policy", 0) in (1, 2):
        # GPU containers: a built-in device kernel for the ufunc (module docs).
        name = getattr(func, "__name__", repr(func))
        if not isinstance(src, (DistributedVector, DistributedArray)):
            raise NotSupportedError(
                f"transform: device kernels run on GPU vectors and arrays, not on {type(src).__name__}; "
                "copy it to the host first (dtl.to_host)"
            )
        if dst is src:
            src._device_transform_inplace(name)
        else:
            src._device_transform_into(dst, name)
        return
    s, sspan = _target(src, "transform", "src")
    d, dspan = _target(dst, "transform", "dst")
    _execution(execution)
    vectorized = _check_vectorized(vectorized)
    _check_pair(s, sspan, d, dspan, "transform")
    sv, dv = _local(s, sspan), _local(d, dspan)
    shape = sv.shape
    if isinstance(func, np.ufunc) and vectorized is not False:
        _ufunc_arity(func, 1, "transform")
        try:
            func(sv, out=dv)
        except TypeError:  # an output cast NumPy refuses: assign instead (as below)
            dv[...] = func(sv)
        return
    r = _vectorised(func, (_readonly(sv),), shape, vectorized, "transform")
    if r is not _MISSING:
        dv[...] = r
        return
    for k in range(shape[0]):
        dv[k] = func(sv[k])


def _check_pair(s: Container, sspan: Optional[DistributedSpan], d: Container, dspan: Optional[DistributedSpan],
                what: str) -> None:
    """src and dst cover the same global indices on every rank."""
    s_off, s_len = (sspan.offset, len(sspan)) if sspan is not None else (0, s.global_size)
    d_off, d_len = (dspan.offset, len(dspan)) if dspan is not None else (0, d.global_size)
    if s_len != d_len:
        raise _invalid(f"{what}: src has {s_len} elements, dst {d_len}; they must have the same size")
    if not _same_layout(s, d) or s_off != d_off:
        raise _invalid(
            f"{what}: dst must have the same partition as src (src: {_layout(s)}, span offset {s_off}; dst: "
            f"{_layout(d)}, span offset {d_off}); redistribute one first"
        )


def fill(container: Target, value: Any, *, execution: Any = None) -> None:
    """Sets every local element to ``value`` (converted with NumPy's rules;
    an integer out of the dtype's range raises ``InvalidArgumentError``).
    **Not collective**. Takes a container or a span."""
    c, span = _target(container, "fill")
    code = _execution(execution)
    if span is None:
        with _policy(c, code):
            c.fill(value)
        return
    _number(value, "value")
    try:
        x = np.asarray(value, dtype=c.dtype)
    except (OverflowError, ValueError) as e:
        raise _invalid(f"value = {value!r} cannot be converted to {c.dtype}: {e}") from None
    span.local_view()[...] = x


def copy(src: Target, dst: Target, *, execution: Any = None) -> None:
    """Copies every element of ``src`` into ``dst`` (same global size).

    Same dtype, containers: any two partitions (``dst`` keeps its own);
    same partition is a local copy (not collective), different partitions
    one ``MPI_Alltoallv`` (**collective**). Different dtypes, or spans: both
    must have the same partition (and span offset), and each rank copies its
    part, cast as NumPy assignment casts (not collective). Raises
    ``InvalidArgumentError`` on a size mismatch or, for those cases, a
    partition mismatch.
    """
    s, sspan = _target(src, "copy", "src")
    d, dspan = _target(dst, "copy", "dst")
    code = _execution(execution)
    if sspan is None and dspan is None and s.dtype == d.dtype:
        if s.global_size != d.global_size:
            raise _invalid(f"copy: src has {s.global_size} elements, dst {d.global_size}; they must have the same "
                           f"global size")
        with _policy(d, code):
            d.copy_from(s)  # type: ignore[arg-type]  # same class: layouts were checked above
        return
    _check_pair(s, sspan, d, dspan, "copy")
    _local(d, dspan)[...] = _local(s, sspan)


def iota(container: Target, start: Any = 0, *, execution: Any = None) -> None:
    """Sets element ``i`` to ``start + i`` (``i`` the global index, or the
    index within a span), computed in the dtype (integers wrap, as
    ``np.arange(n).astype(dtype) + start``). **Not collective**. Raises
    ``InvalidArgumentError`` if ``start`` does not fit the dtype."""
    c, span = _target(container, "iota")
    code = _execution(execution)
    if span is None:
        with _policy(c, code):
            c.iota(start)
        return
    _number(start, "start")
    try:
        s = np.asarray(start, dtype=c.dtype)
    except (OverflowError, ValueError) as e:
        raise _invalid(f"start = {start!r} cannot be converted to {c.dtype}: {e}") from None
    view = span.local_view()
    with np.errstate(over="ignore"):
        view[...] = _indices(c, span).astype(c.dtype) + s


def replace(container: Target, old: Any, new: Any, *, execution: Any = None) -> None:
    """Replaces every local element equal to ``old`` (compared as NumPy's
    ``==``; NaN equals nothing) by ``new``. **Not collective**. Raises
    ``InvalidArgumentError`` if ``new`` does not fit the dtype."""
    c, span = _target(container, "replace")
    code = _execution(execution)
    if span is None:
        with _policy(c, code):
            c.replace(old, new)
        return
    _number(old, "old")
    _number(new, "new")
    try:
        n = np.asarray(new, dtype=c.dtype)
    except (OverflowError, ValueError) as e:
        raise _invalid(f"new = {new!r} cannot be converted to {c.dtype}: {e}") from None
    view = span.local_view()
    view[view == old] = n


def generate(container: Target, func: Callable[..., Any], *, vectorized: Optional[bool] = None,
             execution: Any = None) -> None:
    """Sets every element to ``func(i)``, ``i`` its global index (the index
    within a span for a span). ``func`` is first called once with the int64
    array of this rank's indices (``lambda i: i * 0.5``), else once per
    index with a Python int (module docs). **Not collective**."""
    c, span = _target(container, "generate")
    _execution(execution)
    vectorized = _check_vectorized(vectorized)
    view = _local(c, span)
    idx = _indices(c, span)
    if isinstance(func, np.ufunc) and vectorized is not False:
        _ufunc_arity(func, 1, "generate")
        try:
            func(idx, out=view)
        except TypeError:  # an output cast NumPy refuses: assign instead
            view[...] = func(idx)
        return
    r = _vectorised(func, (idx,), view.shape, vectorized, "generate")
    if r is not _MISSING:
        view[...] = r
        return
    for k, i in enumerate(idx.tolist()):
        view[k] = func(i)


# ---------------------------------------------------------------- queries (collective)


def find(container: Target, value: Any, *, execution: Any = None) -> Optional[int]:
    """The smallest global index (span-relative for a span) whose element
    equals ``value`` (NumPy's ``==``: a Python float compares at the
    container's precision; NaN matches nothing; a value no element can hold,
    such as 300 in uint8, matches nothing), or ``None``, on every rank.
    **Collective**: one ``MPI_Allreduce(MIN)`` of the ranks' first hits.
    Raises ``InvalidArgumentError`` on every rank if ``value`` is not a real
    number."""
    c, span = _target(container, "find")
    if span is None:
        return _native_collective(c, "find", execution, lambda: c.find(value))  # type: ignore[no-any-return]
    return _find_mask(c, span, "find", lambda: _local(c, span) == _number(value, "value"), execution)


def count(container: Target, value: Any, *, execution: Any = None) -> int:
    """How many elements equal ``value`` (as :func:`find` compares), on every
    rank. **Collective** (one ``MPI_Allreduce(SUM)``)."""
    c, span = _target(container, "count")
    if span is None:
        return _native_collective(c, "count", execution, lambda: c.count(value))  # type: ignore[no-any-return]
    return _count_mask(c, span, "count", lambda: _local(c, span) == _number(value, "value"), execution)[0]


def _find_mask(c: Container, span: Optional[DistributedSpan], what: str, mask: Callable[[], np.ndarray],
               execution: Any) -> Optional[int]:
    err: Optional[BaseException] = None
    cand = _NO_INDEX
    try:
        _execution(execution)
        m = mask()
        hit = np.flatnonzero(m)
        if hit.size:
            cand = _global_index(c, span, int(hit[0]))
    except Exception as e:  # noqa: BLE001 - re-raised on this rank by _exchange
        err = e
    rows = _exchange(c, span, what, err, [cand])
    best = int(rows[:, -1].min())
    return None if best == _NO_INDEX else best


def _count_mask(c: Container, span: Optional[DistributedSpan], what: str, mask: Callable[[], np.ndarray],
                execution: Any) -> Tuple[int, int]:
    """``(true, false)`` counts of the mask over all elements."""
    err: Optional[BaseException] = None
    yes = no = 0
    try:
        _execution(execution)
        m = mask()
        yes = int(np.count_nonzero(m))
        no = int(m.size) - yes
    except Exception as e:  # noqa: BLE001 - re-raised on this rank by _exchange
        err = e
    rows = _exchange(c, span, what, err, [yes, no])
    if _is_replicated(c):
        return yes, no
    return int(rows[:, -2].sum()), int(rows[:, -1].sum())


def find_if(container: Target, pred: Callable[..., Any], *, vectorized: Optional[bool] = None,
            execution: Any = None) -> Optional[int]:
    """The smallest global index (span-relative for a span) whose element
    satisfies ``pred`` (truthiness of its result), or ``None``, on every
    rank. ``pred`` is evaluated on the local view (vectorised, else per
    element; module docs). **Collective**: one ``MPI_Allgather`` of each
    rank's first hit (its global index, for every partition). If ``pred``
    raises on some rank, that rank re-raises it and the others raise
    ``InvalidArgumentError``."""
    c, span = _target(container, "find_if")
    vec = _check_vectorized(vectorized)
    return _find_mask(c, span, "find_if", lambda: _mask(pred, _local(c, span), vec, "find_if"), execution)


def count_if(container: Target, pred: Callable[..., Any], *, vectorized: Optional[bool] = None,
             execution: Any = None) -> int:
    """How many elements satisfy ``pred``, on every rank. **Collective**
    (one ``MPI_Allgather``; a replicated container counts its copy). Errors
    as :func:`find_if`."""
    c, span = _target(container, "count_if")
    vec = _check_vectorized(vectorized)
    return _count_mask(c, span, "count_if", lambda: _mask(pred, _local(c, span), vec, "count_if"), execution)[0]


def all_of(container: Target, pred: Callable[..., Any], *, vectorized: Optional[bool] = None,
           execution: Any = None) -> bool:
    """``True`` if every element satisfies ``pred`` (``True`` when empty).
    **Collective**, as :func:`count_if`."""
    c, span = _target(container, "all_of")
    vec = _check_vectorized(vectorized)
    return _count_mask(c, span, "all_of", lambda: _mask(pred, _local(c, span), vec, "all_of"), execution)[1] == 0


def any_of(container: Target, pred: Callable[..., Any], *, vectorized: Optional[bool] = None,
           execution: Any = None) -> bool:
    """``True`` if some element satisfies ``pred``. **Collective**."""
    c, span = _target(container, "any_of")
    vec = _check_vectorized(vectorized)
    return _count_mask(c, span, "any_of", lambda: _mask(pred, _local(c, span), vec, "any_of"), execution)[0] > 0


def none_of(container: Target, pred: Callable[..., Any], *, vectorized: Optional[bool] = None,
            execution: Any = None) -> bool:
    """``True`` if no element satisfies ``pred``. **Collective**."""
    return not any_of(container, pred, vectorized=vectorized, execution=execution)


def min_element(container: Container, *, execution: Any = None) -> Optional[Located]:
    """``(global_index, value)`` of the first smallest element (as
    ``numpy.argmin``: a NaN counts as smallest, the first NaN wins), or
    ``None`` when empty, on every rank. **Collective** (``MPI_Allgather`` of
    one candidate per rank). Containers only."""
    c, _ = _target(container, "min_element", spans=False)
    return _native_collective(c, "min_element", execution, c.min_element)  # type: ignore[no-any-return]


def max_element(container: Container, *, execution: Any = None) -> Optional[Located]:
    """``(global_index, value)`` of the first largest element (as
    ``numpy.argmax``), or ``None``. **Collective**. Containers only."""
    c, _ = _target(container, "max_element", spans=False)
    return _native_collective(c, "max_element", execution, c.max_element)  # type: ignore[no-any-return]


def minmax(container: Container, *, execution: Any = None) -> Optional[Tuple[Located, Located]]:
    """``(min_element, max_element)``, or ``None`` when empty.
    **Collective**. Containers only."""
    c, _ = _target(container, "minmax", spans=False)
    return _native_collective(c, "min_element", execution, c.minmax)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- reductions


def _reduce_container(container: Any, op: Any = SUM, *, execution: Any = None, deterministic: bool = False) -> Any:
    c, span = _target(container, "reduce", spans=not deterministic)
    if span is None:
        return _native_collective(c, "reduce", execution, lambda: c.reduce(op, deterministic=bool(deterministic)))

    def values() -> np.ndarray:
        _execution(execution)
        return _local(c, span)

    return _combine(c, span, "reduce", op, values, c.dtype)


@overload
def reduce(target: Context, data: Any = None, op: Any = SUM, root: int = 0) -> Any: ...
@overload
def reduce(target: Target, op: Any = SUM, *, execution: Any = None, deterministic: bool = False) -> Any: ...


def reduce(target: Any, *args: Any, **kwargs: Any) -> Any:
    """Two calls under one name, told apart by the first argument:

    * ``dtl.reduce(ctx, data, op=SUM, root=0)`` — the **collective** of the
      guide's "Collective Operations": ``data`` reduced element-wise over the
      ranks onto ``root`` (``MPI_Reduce``); ``None`` on the other ranks.
    * ``dtl.reduce(container, op=SUM, *, execution=None)`` — the
      **algorithm**: ``op`` over all elements of a vector, array or span, the
      same NumPy scalar (of the container's dtype) on every rank; the op's
      identity when empty (0 for ``SUM``, 1 for ``PROD``, the dtype's largest
      value or ``inf`` for ``MIN``, …). Integers wrap; float sums are
      pairwise like ``numpy.sum``; ``MIN``/``MAX`` propagate NaN; logical ops
      give 0 or 1. **Collective**: each rank reduces its part, one
      ``MPI_Allgather`` exchanges the partial results, combined in rank order
      (a replicated container answers from its copy). Raises
      ``InvalidArgumentError`` on every rank for an unknown op, a logical or
      bitwise op on floats, or ranks passing different ops.
      ``deterministic=True`` (containers, not spans) gives the bits one process
      gets, at any number of ranks and under any partition: fixed global
      chunks of 32 768 elements reduced whole and combined in a fixed tree,
      for two more small ``MPI_Allgatherv`` (and a copy to the block layout
      for cyclic and block-cyclic containers).
    """
    if isinstance(target, Context):
        return _collectives.reduce(target, *args, **kwargs)
    if isinstance(target, (DistributedVector, DistributedArray, DistributedSpan, DistributedTensor)):
        return _reduce_container(target, *args, **kwargs)
    raise _invalid(
        f"reduce: the first argument must be a dtl.Context (the collective reduce(ctx, data, op, root)) or a "
        f"container (the algorithm reduce(container, op)), got {type(target).__name__}"
    )


def reduce_local(container: Target, op: Any = SUM) -> Any:
    """``op`` over this rank's elements only (the op's identity if none), a
    NumPy scalar of the dtype. **Not collective**."""
    c, span = _target(container, "reduce_local")
    if span is None:
        return c.reduce_local(op)
    name = _op_name(op)
    dt = np.dtype(c.dtype)
    _check_op_dtype(name, dt, "reduce_local")
    view = span.local_view()
    return _reduce_array(view, name, dt) if view.size else _identity(name, dt)


def transform_reduce(container: Target, func: Optional[Callable[..., Any]], op: Any = SUM, *,
                     dtype: Any = None, vectorized: Optional[bool] = None, execution: Any = None) -> Any:
    """``op`` over ``func(x)`` for every element ``x`` (e.g.
    ``transform_reduce(v, np.square)``, a sum of squares), the same NumPy
    scalar on every rank. The result dtype is ``dtype`` if given, else that
    of ``func``'s results (bool counts as int64; the container's dtype if no
    rank has a result to look at); the reduction runs in it
    (as :func:`reduce`: integers wrap, MIN/MAX propagate NaN, the identity
    when empty). ``func`` is evaluated on the local view as the module docs
    say (``func=None``: the elements themselves). **Collective**: one
    ``MPI_Allgather`` of the partial results. Raises on every rank if
    ``func`` raises on some rank, gives different dtypes on different ranks,
    or ``op`` does not suit the result dtype."""
    c, span = _target(container, "transform_reduce")
    vec = _check_vectorized(vectorized)

    def values() -> Optional[np.ndarray]:
        _execution(execution)
        if dtype is not None:
            _result_dtype(dtype, "transform_reduce")
        return _mapped(func, _local(c, span), vec, "transform_reduce")

    return _combine(c, span, "transform_reduce", op, values, dtype)


def dot(a: Container, b: Container, *, execution: Any = None) -> Any:
    """The inner product ``sum(a[i] * b[i])`` over all elements (products in
    the dtype, a pairwise sum), the same NumPy scalar on every rank. ``a``
    and ``b``: vectors or arrays of the same dtype, global size and
    partition. **Collective** (one ``MPI_Allgather``). Raises
    ``InvalidArgumentError`` on every rank otherwise."""
    x, _ = _target(a, "dot", "a", spans=False)
    return _native_collective(x, "dot", execution, lambda: x.dot(b))  # type: ignore[arg-type]  # b's class is checked by dot


inner_product = dot


def inclusive_scan(container: Container, op: Any = SUM, *, execution: Any = None) -> None:
    """In place: element ``i`` becomes ``op`` over elements ``0..=i`` in
    global order (``SUM``: ``numpy.cumsum``). **Collective**: block and
    weighted layouts scan locally and exchange rank totals (one
    ``MPI_Allgather``); cyclic and block-cyclic ones scan a block copy (two
    ``MPI_Alltoallv`` more); a replicated container scans each copy. Local
    views stay valid. Errors as :func:`reduce`. Containers only."""
    c, _ = _target(container, "inclusive_scan", spans=False)
    _native_collective(c, "inclusive_scan", execution, lambda: c.inclusive_scan(op))


def exclusive_scan(container: Container, op: Any = SUM, init: Any = None, *, execution: Any = None) -> None:
    """In place: element ``i`` becomes ``init op x[0] op … op x[i-1]`` in
    global order; element 0 becomes ``init`` (``None``: the op's identity, 0
    for ``SUM``). **Collective**, as :func:`inclusive_scan`."""
    c, _ = _target(container, "exclusive_scan", spans=False)
    _native_collective(c, "exclusive_scan", execution, lambda: c.exclusive_scan(op, init))


def inclusive_scan_local(container: Container, op: Any = SUM, *, execution: Any = None) -> None:
    """:func:`inclusive_scan` of this rank's part alone. **Not collective**."""
    c, _ = _target(container, "inclusive_scan_local", spans=False)
    with _policy(c, _execution(execution)):
        c.inclusive_scan_local(op)


def exclusive_scan_local(container: Container, op: Any = SUM, init: Any = None, *, execution: Any = None) -> None:
    """:func:`exclusive_scan` of this rank's part alone. **Not collective**."""
    c, _ = _target(container, "exclusive_scan_local", spans=False)
    with _policy(c, _execution(execution)):
        c.exclusive_scan_local(op, init)


def sort(container: Container, reverse: bool = False, *, stable: bool = False, execution: Any = None) -> None:
    """Sorts the container in place, in global order: ascending, or
    descending with ``reverse=True``; NaN last either way (like
    ``numpy.sort``). Every rank keeps its local size, and local views stay
    valid. ``stable=True`` keeps equal elements in their original global
    order (for numbers, visible only among NaNs with different bits).
    **Collective**: each rank sorts its part (with NumPy's SIMD sort;
    ``stable=True`` with dtl's own, on rayon under ``EXEC_PAR``),
    the ranks find exact splitters in a few rounds of small
    ``MPI_Allgather``/``MPI_Allreduce``, one ``MPI_Alltoallv`` moves every
    element to its final owner, and each rank merges what it received.
    Cyclic and block-cyclic containers sort through the block layout (one
    more ``MPI_Alltoallv``). Containers, not spans; a tensor sorts its
    flattened elements (``np.sort(t, axis=None)`` reshaped, local shapes kept).
    Raises ``InvalidArgumentError`` on every rank if ranks pass different
    ``reverse``."""
    c, _ = _target(container, "sort", spans=False)
    if stable:
        _native_collective(c, "sort", execution, lambda: c.sort(bool(reverse), True))
        return

    def presorted() -> None:
        # NumPy's SIMD sort of this rank's part (in place, NaN last), then
        # dtl's splitters, exchange and merge.
        _local(c, None).sort()
        c._sort_presorted(bool(reverse))

    _native_collective(c, "sort", execution, presorted)


def stable_sort(container: Container, reverse: bool = False, *, execution: Any = None) -> None:
    """:func:`sort` with ``stable=True``. **Collective**."""
    sort(container, reverse, stable=True, execution=execution)


def sort_local(container: Container, reverse: bool = False, *, execution: Any = None) -> None:
    """Sorts this rank's part only (NaN last). **Not collective**."""
    c, _ = _target(container, "sort_local", spans=False)
    with _policy(c, _execution(execution)):
        c.sort_local(bool(reverse))


def is_sorted(container: Container, reverse: bool = False) -> bool:
    """``True`` if the elements are sorted in global order (ascending, or
    descending with ``reverse``; NaN last), on every rank. **Collective**."""
    c, _ = _target(container, "is_sorted", spans=False)
    return bool(c.is_sorted(bool(reverse)))


def nth_element(container: Container, k: int) -> Any:
    """The element :func:`sort` would put at global index ``k`` (negative
    ``k`` counts from the end), a NumPy scalar of the dtype, on every rank;
    the container is unchanged. **Collective**: a distributed selection
    (expected O(n / size) work per rank, no sort). Raises ``BoundsError`` on
    every rank for ``k`` outside ``-n..n``."""
    c, _ = _target(container, "nth_element", spans=False)
    return c.nth_element(operator.index(k))


def median(container: Container) -> float:
    """The median of all elements as a float, like ``numpy.median``: the
    mean of the two middle elements for an even count; NaN if any element
    is NaN or the container is empty. **Collective**."""
    c, _ = _target(container, "median", spans=False)
    return float(c.median())


def percentile(container: Container, q: float) -> float:
    """The ``q``-th percentile (``0 <= q <= 100``) with NumPy's default
    linear interpolation, as ``numpy.percentile(x, q)``; NaN if any element
    is NaN or the container is empty. **Collective**. Raises
    ``InvalidArgumentError`` on every rank for ``q`` outside ``[0, 100]``."""
    c, _ = _target(container, "percentile", spans=False)
    return float(c.percentile(float(q)))
