"""dtl — distributed containers, collectives and algorithms over MPI.

A Python face of the dtl Rust library, following the DTL Python bindings
guide name for name::

    import dtl
    import numpy as np

    with dtl.Context() as ctx:
        vec = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
        local = vec.local_view()                 # zero-copy NumPy view
        local[:] = np.arange(len(local)) + vec.local_offset
        total = dtl.allreduce(ctx, np.sum(local), op=dtl.SUM)

Run under MPI with ``mpirun -np 4 python script.py``. The native module is
``dtl._dtl``; this package re-exports it and adds the argument shaping.
"""

from __future__ import annotations

import atexit as _atexit
from enum import IntEnum
from typing import Any as _Any

from . import _async, _dtl
from ._algorithms import (
    EXEC_PAR,
    EXEC_SEQ,
    ExecutionPolicy,
    all_of,
    any_of,
    copy,
    count,
    count_if,
    dot,
    exclusive_scan,
    exclusive_scan_local,
    fill,
    find,
    find_if,
    for_each,
    generate,
    inclusive_scan,
    inclusive_scan_local,
    inner_product,
    iota,
    is_sorted,
    max_element,
    median,
    min_element,
    minmax,
    none_of,
    nth_element,
    percentile,
    reduce,
    reduce_local,
    replace,
    sort,
    sort_local,
    stable_sort,
    transform,
    transform_reduce,
)
from ._async import (
    Future,
    async_for_each,
    async_reduce,
    async_sort,
    async_transform,
    when_all,
    when_any,
)
from ._collectives import (
    BAND,
    BOR,
    BXOR,
    LAND,
    LOR,
    LXOR,
    MAX,
    MIN,
    PROD,
    SUM,
    allgather,
    allgatherv,
    allreduce,
    alltoall,
    barrier,
    broadcast,
    exscan,
    gather,
    reduce_scatter,
    scan,
    scatter,
)
from ._dtl import (
    Context,
    DistributedArray,
    DistributedMap,
    DistributedTensor,
    DistributedVector,
    Environment,
    Topology,
    cuda_status,
    has_cuda,
    has_mpi,
    has_nccl,
    nccl_supports_hybrid,
    nccl_supports_native,
    placement_available,
    status_name,
    wtime,
)
from ._errors import (
    BackendError,
    BoundsError,
    CommunicationError,
    DTLError,
    InvalidArgumentError,
    KeyTypeError,
    MemoryError,
    NotSupportedError,
)
from ._gpu import to_device, to_host
from ._info import info, info_text
from ._rma import (
    NO_OP,
    REPLACE,
    Epoch,
    Window,
    rma_accumulate,
    rma_compare_and_swap,
    rma_fetch_and_add,
    rma_fetch_and_op,
    rma_get,
    rma_get_accumulate,
    rma_put,
)
from ._span import DistributedSpan

__version__: str = _dtl.__version__


def __getattr__(name: str) -> _Any:
    # ``dtl.topology`` is imported on first use, not here: ``python -m
    # dtl.topology`` would otherwise find it imported before it runs.
    if name == "topology":
        import importlib

        return importlib.import_module(".topology", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PartitionPolicy(IntEnum):
    """How elements are spread over ranks (values match the C ABI)."""

    BLOCK = 0
    CYCLIC = 1
    BLOCK_CYCLIC = 2
    HASH = 3
    REPLICATED = 4
    WEIGHTED = 5


class PlacementPolicy(IntEnum):
    """Where a rank keeps its local part (values match the C ABI)."""

    HOST = 0
    DEVICE = 1
    UNIFIED = 2
    DEVICE_PREFERRED = 3


PARTITION_BLOCK = PartitionPolicy.BLOCK
PARTITION_CYCLIC = PartitionPolicy.CYCLIC
PARTITION_BLOCK_CYCLIC = PartitionPolicy.BLOCK_CYCLIC
PARTITION_HASH = PartitionPolicy.HASH
PARTITION_REPLICATED = PartitionPolicy.REPLICATED
PARTITION_WEIGHTED = PartitionPolicy.WEIGHTED
PLACEMENT_HOST = PlacementPolicy.HOST
PLACEMENT_DEVICE = PlacementPolicy.DEVICE
PLACEMENT_UNIFIED = PlacementPolicy.UNIFIED
PLACEMENT_DEVICE_PREFERRED = PlacementPolicy.DEVICE_PREFERRED

DTL_NCCL_MODE_NATIVE_ONLY = 0
DTL_NCCL_MODE_HYBRID_PARITY = 1
# DTL_NCCL_OP_*: the collectives, for Context.nccl_supports_native/_hybrid
# (values defined by the extension, dtl_gpu::NcclOp).
DTL_NCCL_OP_ALLREDUCE: int = _dtl.DTL_NCCL_OP_ALLREDUCE
DTL_NCCL_OP_BROADCAST: int = _dtl.DTL_NCCL_OP_BROADCAST
DTL_NCCL_OP_REDUCE: int = _dtl.DTL_NCCL_OP_REDUCE
DTL_NCCL_OP_ALLGATHER: int = _dtl.DTL_NCCL_OP_ALLGATHER
DTL_NCCL_OP_REDUCE_SCATTER: int = _dtl.DTL_NCCL_OP_REDUCE_SCATTER
DTL_NCCL_OP_SEND: int = _dtl.DTL_NCCL_OP_SEND
DTL_NCCL_OP_RECV: int = _dtl.DTL_NCCL_OP_RECV
DTL_NCCL_OP_BARRIER: int = _dtl.DTL_NCCL_OP_BARRIER
DTL_NCCL_OP_GATHER: int = _dtl.DTL_NCCL_OP_GATHER
DTL_NCCL_OP_SCATTER: int = _dtl.DTL_NCCL_OP_SCATTER
DTL_NCCL_OP_ALLTOALL: int = _dtl.DTL_NCCL_OP_ALLTOALL
DTL_NCCL_OP_VCOLLECTIVES: int = _dtl.DTL_NCCL_OP_VCOLLECTIVES
DTL_NCCL_OP_SCAN: int = _dtl.DTL_NCCL_OP_SCAN
DTL_NCCL_OP_EXSCAN: int = _dtl.DTL_NCCL_OP_EXSCAN
DTL_NCCL_OP_LOGICAL_REDUCE: int = _dtl.DTL_NCCL_OP_LOGICAL_REDUCE

# MPI stays up for the whole interpreter; finalise it at exit if dtl (not
# mpi4py or the host program) initialised it.
_atexit.register(_dtl._finalize)
# Registered after `_finalize`, so run before it (atexit is last in, first
# out): the async jobs end before MPI does.
_atexit.register(_async._shutdown)

__all__ = [
    "__version__",
    "Environment",
    "Context",
    "Topology",
    "DistributedVector",
    "DistributedArray",
    "DistributedTensor",
    "DistributedMap",
    "DistributedSpan",
    "allreduce",
    "reduce",
    "broadcast",
    "gather",
    "scatter",
    "allgather",
    "allgatherv",
    "reduce_scatter",
    "alltoall",
    "scan",
    "exscan",
    "barrier",
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
    "reduce_local",
    "transform_reduce",
    "dot",
    "inner_product",
    "inclusive_scan",
    "exclusive_scan",
    "inclusive_scan_local",
    "exclusive_scan_local",
    "sort",
    "sort_local",
    "stable_sort",
    "is_sorted",
    "nth_element",
    "median",
    "percentile",
    "Future",
    "async_for_each",
    "async_transform",
    "async_reduce",
    "async_sort",
    "when_all",
    "when_any",
    "SUM",
    "REPLACE",
    "NO_OP",
    "Window",
    "Epoch",
    "rma_put",
    "rma_get",
    "rma_accumulate",
    "rma_get_accumulate",
    "rma_fetch_and_op",
    "rma_fetch_and_add",
    "rma_compare_and_swap",
    "PROD",
    "MIN",
    "MAX",
    "LAND",
    "LOR",
    "LXOR",
    "BAND",
    "BOR",
    "BXOR",
    "PartitionPolicy",
    "PlacementPolicy",
    "PARTITION_BLOCK",
    "PARTITION_CYCLIC",
    "PARTITION_BLOCK_CYCLIC",
    "PARTITION_HASH",
    "PARTITION_REPLICATED",
    "PARTITION_WEIGHTED",
    "ExecutionPolicy",
    "EXEC_SEQ",
    "EXEC_PAR",
    "placement_available",
    "PLACEMENT_HOST",
    "PLACEMENT_DEVICE",
    "PLACEMENT_UNIFIED",
    "PLACEMENT_DEVICE_PREFERRED",
    "DTL_NCCL_MODE_NATIVE_ONLY",
    "DTL_NCCL_MODE_HYBRID_PARITY",
    "DTL_NCCL_OP_ALLREDUCE",
    "DTL_NCCL_OP_BROADCAST",
    "DTL_NCCL_OP_REDUCE",
    "DTL_NCCL_OP_ALLGATHER",
    "DTL_NCCL_OP_REDUCE_SCATTER",
    "DTL_NCCL_OP_SEND",
    "DTL_NCCL_OP_RECV",
    "DTL_NCCL_OP_BARRIER",
    "DTL_NCCL_OP_GATHER",
    "DTL_NCCL_OP_SCATTER",
    "DTL_NCCL_OP_ALLTOALL",
    "DTL_NCCL_OP_VCOLLECTIVES",
    "DTL_NCCL_OP_SCAN",
    "DTL_NCCL_OP_EXSCAN",
    "DTL_NCCL_OP_LOGICAL_REDUCE",
    "has_nccl",
    "to_device",
    "to_host",
    "nccl_supports_native",
    "nccl_supports_hybrid",
    "has_mpi",
    "has_cuda",
    "cuda_status",
    "info",
    "info_text",
    "status_name",
    "wtime",
    "DTLError",
    "CommunicationError",
    "MemoryError",
    "BoundsError",
    "InvalidArgumentError",
    "BackendError",
    "NotSupportedError",
    "KeyTypeError",
]
