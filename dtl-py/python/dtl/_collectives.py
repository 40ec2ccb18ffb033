"""Collective operations with the DTL guide's shapes and scalar rule.

Every function here is collective: every rank of ``ctx`` calls it, in the
same order. A scalar in gives a scalar out; an array in gives an array out.
Ranks that pass mismatched sizes or dtypes get the same
``InvalidArgumentError`` on every rank instead of a hang.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union, cast

import numpy as np

from . import _dtl
from ._dtl import Context
from ._errors import DTLError, _invalid


def _gpu(data: Any) -> bool:
    """True for a dtl container whose local parts live on a GPU."""
    return (
        isinstance(data, (_dtl.DistributedVector, _dtl.DistributedArray))
        and data.placement_policy in (1, 2)
    )


def _device(ctx: Context, data: Any, kind: str, op: Any = None, root: int = 0) -> Any:
    """A collective over a GPU container's local parts (NCCL when ``ctx``
    has it, else MPI with host staging): in place for allreduce / reduce /
    broadcast (returns the container), a new GPU vector for allgather /
    reduce_scatter."""
    if ctx._comm_id != data.context._comm_id:
        raise _invalid("ctx must be the context the container was made on (or its with_nccl copy)")
    out = data._device_collective(ctx, kind, op, root)
    return data if out is None else out

SUM = "sum"
PROD = "prod"
MIN = "min"
MAX = "max"
LAND = "land"
LOR = "lor"
LXOR = "lxor"
BAND = "band"
BOR = "bor"
BXOR = "bxor"

_OPS = {"sum": 0, "prod": 1, "min": 2, "max": 3, "land": 4, "lor": 5, "lxor": 6, "band": 7, "bor": 8, "bxor": 9}
_OP_ALIASES = {"product": "prod", "minimum": "min", "maximum": "max"}

ArrayLike = Union[np.ndarray, float, int, np.generic]


def _op_code(op: Any) -> int:
    if isinstance(op, str):
        name = op.strip().lower()
        if name.startswith("mpi_"):
            name = name[4:]
        name = _OP_ALIASES.get(name, name)
        if name in _OPS:
            return _OPS[name]
    elif isinstance(op, (int, np.integer)) and not isinstance(op, bool) and 0 <= int(op) <= 9:
        return int(op)
    raise _invalid(
        f"op must be one of dtl.SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND, BOR, BXOR "
        f"(or their names as strings); got {op!r}"
    )


def _check_ctx(ctx: Any) -> Context:
    if not isinstance(ctx, Context):
        raise _invalid(
            f"ctx must be a dtl.Context, got {type(ctx).__name__}"
        )
    return ctx


def _root(ctx: Context, root: Any) -> int:
    """Type check only: the range check happens in the core, after the ranks
    agree on the root, so that no rank can leave the call early alone."""
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or int(root) < 0:
        raise _invalid(f"root must be an int in 0..{ctx.size - 1}, got {root!r}")
    return int(root)


def _as_array(data: Any) -> Tuple[np.ndarray, bool, bool]:
    """(C-contiguous array, was_scalar, was_python_scalar)."""
    py_scalar = isinstance(data, (int, float)) and not isinstance(data, bool)
    arr = np.asarray(data)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.ndim > 0:
        arr = np.ascontiguousarray(arr)
    if arr.dtype == np.bool_:
        raise _invalid(
            "bool data is not supported; convert to an integer dtype (e.g. .astype(np.uint8))"
        )
    return arr, arr.ndim == 0, py_scalar


def _result(flat: np.ndarray, shape: Tuple[int, ...], scalar: bool, py_scalar: bool) -> Any:
    out = flat.reshape(shape)
    if scalar:
        value = out[()]
        return value.item() if py_scalar else value
    return out


def _shape_agree(ctx: Context, what: str, arr: np.ndarray) -> None:
    """All ranks pass the same shape (one small MPI_Allreduce)."""
    # A fixed number of fields on every rank: the agreement is one
    # MPI_Allreduce whose count must not depend on the local ndim.
    names = ["ndim"] + [f"shape[{k}]" for k in range(8)]
    values = [arr.ndim] + [int(arr.shape[k]) if k < arr.ndim else -1 for k in range(8)]
    _dtl._agree(ctx, what, names, values)


def _out_error(out: Any, arr: np.ndarray, shape: Optional[Tuple[int, ...]] = None,
               what: str = "the shape of data") -> Optional[str]:
    """Why ``out`` cannot receive a result of ``arr``'s dtype and ``shape``
    (default ``arr.shape``), or None."""
    shape = arr.shape if shape is None else shape
    if not isinstance(out, np.ndarray):
        return f"out must be a numpy.ndarray, got {type(out).__name__}"
    if out.shape != shape:
        return f"out has shape {out.shape}; it must have {what}, {shape}"
    if out.dtype != arr.dtype:
        return f"out has dtype {out.dtype}; it must have the dtype of data, {arr.dtype}"
    if not out.flags.c_contiguous:
        return "out must be C-contiguous"
    if not out.flags.writeable:
        return "out is read-only"
    return None


def allreduce(ctx: Context, data: ArrayLike, op: Any = SUM, out: Optional[np.ndarray] = None) -> Any:
    """Reduce ``data`` element-wise over all ranks; the result on every rank.

    ``data`` is a scalar or an array (same shape and dtype on every rank);
    the result has the same shape (a scalar for a scalar). With ``out`` (an
    array of that shape and dtype, C-contiguous and writeable) the result
    is written there and ``out`` is returned, with no new allocation.
    Raises ``InvalidArgumentError`` on every rank for mismatched shapes or
    dtypes, a bad ``out`` on any rank, and bitwise/logical ops on floats.

    Underneath (the same choice on every rank): up to 64 bytes, one
    ``MPI_Allgather`` that carries the agreement step and the data
    together; from 16 KiB on ranks that share one node, dtl's
    shared-memory path (``MPI_Win_allocate_shared``; see
    ``Context.shm_collectives``); otherwise ``MPI_Allreduce``. The GIL is
    released while MPI runs. Collective.
    """
    fast = _dtl._allreduce_fast(ctx, data, op, out)
    if fast is not NotImplemented:
        return fast
    _check_ctx(ctx)
    if _gpu(data):
        return _device(ctx, data, "allreduce", op)
    try:
        arr, scalar, py = _as_array(data)
        code = _op_code(op)
    except DTLError as e:
        # Take part in the agreement step with the complaint, so that the
        # other ranks raise too instead of waiting.
        try:
            _dtl._allreduce(ctx, np.zeros(0, dtype=np.uint8), 0, None, None, str(e))
        except DTLError:
            pass
        raise
    shape = list(arr.shape)
    if out is None:
        return _result(_dtl._allreduce(ctx, arr.reshape(-1), code, shape), arr.shape, scalar, py)
    err = _out_error(out, arr)
    if err is None and np.may_share_memory(out, arr):
        arr = arr.copy()
    _dtl._allreduce(ctx, arr.reshape(-1), code, shape, out.reshape(-1) if err is None else None, err)
    return out


def reduce(ctx: Any, data: Any = None, op: Any = SUM, root: int = 0) -> Any:
    """Reduce ``data`` element-wise over all ranks onto ``root``.

    Returns the result (same shape as ``data``) on ``root`` and ``None`` on
    the other ranks. ``MPI_Reduce``. Collective.
    """
    _check_ctx(ctx)
    r = _root(ctx, root)
    if _gpu(data):
        return _device(ctx, data, "reduce", op, r)
    arr, scalar, py = _as_array(data)
    code = _op_code(op)
    if arr.ndim > 1:
        _shape_agree(ctx, "reduce", arr)
    out = _dtl._reduce(ctx, arr.reshape(-1), code, r)
    return None if out is None else _result(out, arr.shape, scalar, py)


def broadcast(ctx: Context, data: Any, root: int = 0) -> Any:
    """Send ``root``'s ``data`` to every rank and return it.

    Shape and dtype come from the root; other ranks' ``data`` is only a
    placeholder (it may be ``None``). On the root the result is ``data``
    itself when it already is a C-contiguous, writeable array (as
    mpi4py's ``bcast`` returns the root's object); other ranks get a new
    array. One ``MPI_Bcast`` of a header (dtype, shape, and data up to 64
    bytes) after the agreement step on the root; larger data follows in a
    second ``MPI_Bcast``, or through dtl's shared-memory path from 16 KiB
    when the ranks share one node. Collective.
    """
    _check_ctx(ctx)
    r = _root(ctx, root)
    if _gpu(data):
        return _device(ctx, data, "broadcast", None, r)
    arr: Optional[np.ndarray] = None
    scalar = py = False
    if ctx.rank == r:
        try:
            arr, scalar, py = _as_array(data)
        except DTLError:
            # Still take part (with no data: rejected), so that every rank raises.
            try:
                _dtl._broadcast_array(ctx, None, r)
            except DTLError:
                pass
            raise
        if not arr.flags.writeable:
            arr = arr.copy()
    out, scalar, py = _dtl._broadcast_array(ctx, arr, r, scalar, py)
    if scalar:
        value = out[()]
        return value.item() if py else value
    return out


def gather(ctx: Context, data: ArrayLike, root: int = 0) -> Optional[np.ndarray]:
    """Collect every rank's ``data`` (same shape on all) on ``root``.

    On ``root`` returns an array of shape ``(size, *data.shape)`` (rank order);
    ``None`` elsewhere. ``MPI_Gather``. Collective.
    """
    _check_ctx(ctx)
    r = _root(ctx, root)
    arr, _, _ = _as_array(data)
    _shape_agree(ctx, "gather", arr)
    out = _dtl._gather(ctx, arr.reshape(-1), r)
    return None if out is None else out.reshape((ctx.size,) + arr.shape)


def scatter(ctx: Context, data: Any, root: int = 0) -> Any:
    """Split ``root``'s ``data`` along its first axis and give row ``r`` to rank ``r``.

    On ``root``, ``data.shape[0]`` must equal ``ctx.size``; each rank gets an
    array of shape ``data.shape[1:]`` (a scalar if ``data`` is 1-D). Other
    ranks' ``data`` is ignored. ``MPI_Scatter``. Collective. Raises
    ``InvalidArgumentError`` on every rank if the root's leading dimension is
    not ``size``.
    """
    _check_ctx(ctx)
    r = _root(ctx, root)
    if ctx.rank == r:
        arr, _, _ = _as_array(data)
        ok = arr.ndim >= 1 and arr.shape[0] == ctx.size
        hdr = np.array([int(ok), arr.ndim, arr.shape[0] if arr.ndim else -1] + list(arr.shape[1:]), dtype=np.int64)
    else:
        arr = np.zeros(0, dtype=np.int64)
        hdr = np.zeros(0, dtype=np.int64)
    hdr = _dtl._broadcast(ctx, hdr, r)
    if not hdr[0]:
        lead = "a 0-d array" if hdr[1] == 0 else f"leading dimension {int(hdr[2])}"
        raise _invalid(
            f"scatter: the root's data must have leading dimension equal to the context size "
            f"{ctx.size}; got {lead}"
        )
    chunk_shape = tuple(int(d) for d in hdr[3:])
    out = _dtl._scatter(ctx, arr.reshape(-1), r)
    res = out.reshape(chunk_shape)
    return res[()] if res.ndim == 0 else res


def allgather(ctx: Context, data: ArrayLike, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Collect every rank's ``data`` (same shape and dtype on all) on every rank.

    Returns an array of shape ``(size, *data.shape)`` in rank order. With
    ``out`` (an array of that shape and of ``data``'s dtype, C-contiguous
    and writeable) the result is written there and ``out`` is returned,
    with no new allocation. Raises ``InvalidArgumentError`` on every rank
    for mismatched shapes or dtypes or a bad ``out`` on any rank. One
    agreement step, then ``MPI_Allgather`` with the GIL released.
    Collective.
    """
    _check_ctx(ctx)
    if _gpu(data):
        return _device(ctx, data, "allgather")  # type: ignore[no-any-return]
    try:
        arr, _, _ = _as_array(data)
    except DTLError as e:
        _dtl._allgather_nd(ctx, np.zeros(0), str(e))  # raises on every rank
        raise
    if out is None:
        return _dtl._allgather_nd(ctx, arr)
    err = _out_error(out, arr, (ctx.size, *arr.shape), "shape (size, *data.shape)")
    if err is not None:
        _dtl._allgather_nd(ctx, arr, err)  # raises on every rank
    if np.may_share_memory(out, arr):
        arr = arr.copy()
    return _dtl._allgather_nd(ctx, arr, None, out)


def allgatherv(ctx: Context, data: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    """Concatenate every rank's 1-D ``data`` (lengths may differ) on every rank.

    Returns ``(data, counts)``: the concatenation in rank order and each
    rank's count. ``MPI_Allgatherv``. Collective.
    """
    if _gpu(data):
        _check_ctx(ctx)
        sizes = allgather(ctx, np.array([cast(Any, data).local_size], dtype=np.int64)).reshape(-1)
        return _device(ctx, data, "allgatherv"), sizes
    _check_ctx(ctx)
    arr, _, _ = _as_array(data)
    out, counts = _dtl._allgatherv(ctx, arr.reshape(-1))
    return out, np.asarray(counts, dtype=np.int64)


def alltoall(ctx: Context, data: ArrayLike, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Personalised exchange: row ``r`` of ``data`` (shape ``(size, ...)``) goes to rank ``r``.

    Returns an array of the same shape whose row ``s`` came from rank ``s``.
    With ``out`` (same shape and dtype as ``data``, C-contiguous and
    writeable; it may not be ``data``) the result is written there and
    ``out`` is returned, with no new allocation. Raises
    ``InvalidArgumentError`` on every rank for a leading dimension other
    than ``size``, mismatched shapes or dtypes, or a bad ``out`` on any
    rank. One agreement step, then ``MPI_Alltoall`` with the GIL released.
    Collective.
    """
    _check_ctx(ctx)
    try:
        arr, _, _ = _as_array(data)
    except DTLError as e:
        _dtl._alltoall_nd(ctx, np.zeros(0), str(e))  # raises on every rank
        raise
    if arr.ndim == 0 or arr.shape[0] != ctx.size:
        _dtl._alltoall_nd(
            ctx,
            arr,
            f"alltoall: data must have leading dimension equal to the context size {ctx.size}; "
            f"got shape {arr.shape}",
        )
    if out is None:
        return _dtl._alltoall_nd(ctx, arr)
    err = _out_error(out, arr)
    if err is not None:
        _dtl._alltoall_nd(ctx, arr, err)  # raises on every rank
    if np.may_share_memory(out, arr):
        arr = arr.copy()
    return _dtl._alltoall_nd(ctx, arr, None, out)


def scan(ctx: Context, data: ArrayLike, op: Any = SUM) -> Any:
    """Inclusive prefix reduction over ranks: rank ``r`` gets ``data_0 op ... op data_r``.

    ``MPI_Scan``. Collective.
    """
    _check_ctx(ctx)
    arr, scalar, py = _as_array(data)
    return _result(_dtl._scan(ctx, arr.reshape(-1), _op_code(op), False), arr.shape, scalar, py)


def exscan(ctx: Context, data: ArrayLike, op: Any = SUM) -> Any:
    """Exclusive prefix reduction over ranks: rank ``r > 0`` gets ``data_0 op ... op data_{r-1}``.

    Rank 0 gets the op's identity (0 for SUM, 1 for PROD, …). ``MPI_Exscan``.
    Collective.
    """
    _check_ctx(ctx)
    arr, scalar, py = _as_array(data)
    return _result(_dtl._scan(ctx, arr.reshape(-1), _op_code(op), True), arr.shape, scalar, py)


def barrier(ctx: Context) -> None:
    """Block until every rank of ``ctx`` has called it (``MPI_Barrier``)."""
    _check_ctx(ctx).barrier()


def reduce_scatter(ctx: Context, data: Any, op: Any = SUM) -> Any:
    """Reduce every rank's ``data`` element-wise and give rank ``r`` block
    ``r`` of the result (``MPI_Reduce_scatter_block`` semantics; the length
    must be a multiple of ``ctx.size``).

    ``data`` is a 1-D array (the result is a NumPy array of ``len // size``
    elements, through ``MPI_Allreduce``) or a GPU container (the result is a
    new GPU vector, block-partitioned, through ``ncclReduceScatter`` on an
    NCCL context). Collective. Raises ``InvalidArgumentError`` on every
    rank for a length that is not a multiple of the number of ranks.
    """
    _check_ctx(ctx)
    if _gpu(data):
        return _device(ctx, data, "reduce_scatter", op)
    arr, _, _ = _as_array(data)
    flat = arr.reshape(-1)
    bad = flat.size % ctx.size
    if _dtl._allreduce(ctx, np.array([bad], dtype=np.int64), 3)[0] != 0:
        raise _invalid(f"reduce_scatter: the length ({flat.size}) must be a multiple of the number of ranks ({ctx.size}) on every rank")
    total = allreduce(ctx, flat, op)
    k = flat.size // ctx.size
    return np.asarray(total)[ctx.rank * k : (ctx.rank + 1) * k].copy()
