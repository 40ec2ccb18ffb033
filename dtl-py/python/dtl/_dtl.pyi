"""Type stubs for the native module ``dtl._dtl`` (PEP 561)."""

import os
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

# ``width=`` of the halo methods: ghost rows on both sides, or (lower, upper).
_HaloWidth = Union[int, Tuple[int, int], Sequence[int]]
# DistributedTensor.local_with_halo also takes one (lower, upper) pair per axis.
_HaloWidthND = Union[_HaloWidth, Sequence[Tuple[int, int]], Sequence[Sequence[int]]]

def has_mpi() -> bool: ...
def has_cuda() -> bool: ...
def cuda_status() -> str: ...
def status_name(code: int) -> str: ...
def wtime() -> float: ...
def placement_available(p: int) -> bool: ...
def _finalize() -> None: ...
def _async_threads() -> bool:
    """True if MPI granted MPI_THREAD_MULTIPLE (async jobs then run on a
    worker thread; else synchronously, inside the call)."""
def _reject(ctx: "Context", what: str, status: int, message: str) -> None: ...

class Environment:
    """Reference-counted handle on dtl's backends; initialises or adopts MPI."""

    def __init__(self) -> None: ...
    def __enter__(self) -> "Environment": ...
    def __exit__(self, *exc: Any) -> None: ...
    def make_world_context(self, device_id: Optional[int] = None) -> "Context": ...
    def make_cpu_context(self) -> "Context": ...
    @property
    def has_mpi(self) -> bool: ...
    @property
    def has_cuda(self) -> bool: ...
    @property
    def has_hip(self) -> bool: ...
    @property
    def has_nccl(self) -> bool: ...
    @property
    def has_shmem(self) -> bool: ...
    @property
    def thread_level(self) -> str: ...
    @property
    def mpi_library_version(self) -> str: ...
    @property
    def mpi_version(self) -> Tuple[int, int]: ...
    @staticmethod
    def is_initialized() -> bool: ...
    @staticmethod
    def ref_count() -> int: ...

class Context:
    """A communicator dtl owns (one MPI_Comm_dup) plus a placement domain."""

    def __init__(self, comm: Any = None, device_id: Optional[int] = None) -> None: ...
    def __enter__(self) -> "Context": ...
    def __exit__(self, *exc: Any) -> None: ...
    @property
    def rank(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def is_root(self) -> bool: ...
    @property
    def device_id(self) -> int: ...
    @property
    def has_device(self) -> bool: ...
    @property
    def has_mpi(self) -> bool: ...
    @property
    def has_cuda(self) -> bool: ...
    @property
    def has_nccl(self) -> bool: ...
    @property
    def nccl_mode(self) -> int: ...
    collective_checks: bool
    def barrier(self) -> None: ...
    def fence(self) -> None: ...
    def dup(self) -> "Context": ...
    def split(self, color: Optional[int], key: int = 0) -> Optional["Context"]: ...
    def with_cuda(self, device_id: int) -> "Context": ...
    def _async_context(self) -> "Context":
        """The context of this communicator's async lane (a duplicate made by
        MPI_Comm_dup on first use: collective then), with this context's
        device and collective checks."""
    @property
    def _comm_id(self) -> int:
        """Equal for contexts sharing a communicator (``with_cuda`` copies)."""
    @property
    def _has_async_lane(self) -> bool:
        """True once an async collective made this communicator's lane."""

_DTypeLike = Union[npt.DTypeLike, None]
_PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_Index = Union[int, np.integer[Any]]
_Op = Union[str, int, None]

class _Distributed1D:
    def __init__(
        self,
        ctx: Context,
        size: _Index,
        dtype: _DTypeLike = None,
        fill: Any = None,
        partition: int = 0,
        placement: int = 0,
        block_size: Optional[int] = None,
        device_id: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> None: ...
    @property
    def context(self) -> Context: ...
    @property
    def global_size(self) -> int: ...
    @property
    def local_size(self) -> int: ...
    @property
    def local_offset(self) -> int: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def shape(self) -> Tuple[int]: ...
    @property
    def local_shape(self) -> Tuple[int]: ...
    @property
    def ndim(self) -> int: ...
    @property
    def partition_policy(self) -> int: ...
    @property
    def placement_policy(self) -> int: ...
    def owner(self, i: int) -> int: ...
    def is_local(self, i: int) -> bool: ...
    def local_view(self) -> npt.NDArray[Any]: ...
    def to_numpy(self) -> npt.NDArray[Any]: ...
    def from_numpy(self, array: npt.ArrayLike) -> None: ...
    def fill(self, value: Any) -> None: ...
    def gather(self, root: int = 0) -> Optional[npt.NDArray[Any]]: ...
    def gather_all(self) -> npt.NDArray[Any]: ...
    def redistribute(
        self, partition: int, block_size: Optional[int] = None, weights: Optional[Sequence[float]] = None
    ) -> None: ...
    @property
    def block_size(self) -> Optional[int]: ...
    @property
    def local_sizes(self) -> list[int]: ...
    def local_indices(self) -> npt.NDArray[np.int64]: ...
    def save(self, path: _PathLike) -> None:
        """Write to a 1-d ``.npy`` file (what ``numpy.save`` writes for the
        gathered array), via MPI-IO. Collective."""
    def gather_indices(self, idx: npt.ArrayLike) -> npt.NDArray[Any]: ...
    def scatter_indices(self, idx: npt.ArrayLike, values: npt.ArrayLike) -> None: ...
    def get(self, i: int) -> Any:
        """The element at global index ``i`` (a NumPy scalar). Not collective:
        one-sided (MPI_Get under a shared lock) when another rank owns it."""
    def set(self, i: int, value: Any) -> None:
        """Write ``value`` at global index ``i``. Not collective: one-sided
        (MPI_Put under an exclusive lock) when another rank owns it."""
    def local_range(self, start: int, stop: int) -> Tuple[int, int]: ...
    def to_global(self, l: int) -> int:
        """The global index of local element ``l``. Pure; ``BoundsError``
        unless ``0 <= l < local_size``."""
    def to_local(self, i: int) -> Optional[int]:
        """The local index of global index ``i`` on this rank, else ``None``. Pure."""
    # Algorithms (see dtl._algorithms for the module-level functions).
    execution: int
    """``EXEC_SEQ`` (0) or ``EXEC_PAR`` (1, default): where the core runs
    local work. Local; other values raise ``InvalidArgumentError``."""
    def reduce(self, op: _Op = None, deterministic: bool = False) -> Any:
        """``op`` (default SUM) over all elements, a NumPy scalar on every rank
        (the op's identity when empty). Collective (MPI_Allgather).
        ``deterministic=True``: the bits one process gets, at any number of
        ranks and under any partition."""
    def sort(self, reverse: bool = False, stable: bool = False) -> None:
        """Sorts in global order (NaN last); local sizes kept. Collective
        (exact-splitter sample sort, one MPI_Alltoallv)."""
    def _sort_presorted(self, reverse: bool = False) -> None:
        """``sort`` of parts each rank has already sorted ascending (NaN last)."""
    def sort_local(self, reverse: bool = False) -> None:
        """Sorts this rank's part only. Not collective."""
    def _reduce_on(self, ctx: Context, op: _Op = None, deterministic: bool = False) -> Any:
        """For ``dtl.async_reduce``: ``reduce`` with the container lent ``ctx``
        (the async lane); the container stays borrowed for the call.
        Collective over ``ctx``."""
    def _sort_on(self, ctx: Context, reverse: bool = False, stable: bool = False) -> None:
        """For ``dtl.async_sort``: ``sort`` with the container lent ``ctx``
        (the async lane). Collective over ``ctx``."""
    def is_sorted(self, reverse: bool = False) -> bool:
        """True if sorted in global order (NaN last). Collective."""
    def nth_element(self, k: int) -> Any:
        """The element a sort would put at index ``k`` (NumPy scalar).
        Collective; the container is unchanged."""
    def median(self) -> float:
        """``numpy.median`` of all elements. Collective."""
    def percentile(self, q: float) -> float:
        """``numpy.percentile(x, q)``, linear interpolation. Collective."""
    def reduce_local(self, op: _Op = None) -> Any:
        """``op`` over this rank's elements. Not collective."""
    def dot(self, other: "_Distributed1D") -> Any:
        """Inner product with a container of the same dtype, size and
        partition, on every rank. Collective (MPI_Allgather)."""
    def dot_local(self, other: "_Distributed1D") -> Any:
        """Inner product of this rank's elements. Not collective."""
    def inclusive_scan(self, op: _Op = None) -> None:
        """In-place prefix ``op`` in global order. Collective."""
    def exclusive_scan(self, op: _Op = None, init: Any = None) -> None:
        """In-place exclusive prefix ``op`` (element 0 becomes ``init``, the
        op's identity if ``None``). Collective."""
    def inclusive_scan_local(self, op: _Op = None) -> None:
        """``inclusive_scan`` of this rank's part alone. Not collective."""
    def exclusive_scan_local(self, op: _Op = None, init: Any = None) -> None:
        """``exclusive_scan`` of this rank's part alone. Not collective."""
    def find(self, value: Any) -> Optional[int]:
        """Smallest global index holding ``value`` (NumPy ``==``), or None.
        Collective (MPI_Allreduce MIN)."""
    def count(self, value: Any) -> int:
        """Number of elements equal to ``value``. Collective (MPI_Allreduce SUM)."""
    def min_element(self) -> Optional[Tuple[int, Any]]:
        """``(index, value)`` of the first minimum (first NaN wins), or None
        when empty. Collective (MPI_Allgather)."""
    def max_element(self) -> Optional[Tuple[int, Any]]:
        """``(index, value)`` of the first maximum, or None. Collective."""
    def minmax(self) -> Optional[Tuple[Tuple[int, Any], Tuple[int, Any]]]:
        """``(min_element(), max_element())``, or None. Collective."""
    def iota(self, start: Any = None) -> None:
        """Element ``i`` becomes ``start + i`` (global index). Not collective."""
    def replace(self, old: Any, new: Any) -> None:
        """Local elements equal to ``old`` become ``new``. Not collective."""
    def copy_from(self, src: "_Distributed1D") -> None:
        """Copy of ``src`` (same dtype and size, any partition). Collective
        (MPI_Alltoallv) when the partitions differ, else local."""
    def halo_exchange(
        self, width: _HaloWidth = 1, periodic: bool = False
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """``(lower, upper)``: new 1-D arrays of the ghost elements just before
        this rank's first element and just after its last (``width`` an int or
        a ``(lower, upper)`` pair). Shorter at the global edges unless
        ``periodic`` (a ring; widths ``<= global_size``); empty on a rank with
        no elements. Block or weighted partitions only (else
        ``NotSupportedError``). Collective: ``MPI_Allreduce`` of the
        arguments, then ``MPI_Isend``/``MPI_Irecv`` between owners."""
    def local_with_halo(
        self, width: _HaloWidth = 1, periodic: bool = False, boundary: Any = None
    ) -> npt.NDArray[Any]:
        """``lower + local + upper`` as a new 1-D array; with ``boundary`` (not
        periodic), always the full widths, ghosts outside the array set to
        ``boundary``. Collective, as ``halo_exchange``."""
    def __len__(self) -> int: ...

class DistributedVector(_Distributed1D):
    """A resizable 1-D distributed container (block partition)."""

    @classmethod
    def scatter_from(
        cls, ctx: Context, data: Any, root: int = 0, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> "DistributedVector": ...
    @classmethod
    def from_local(
        cls, ctx: Context, local: npt.ArrayLike, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> "DistributedVector": ...
    @classmethod
    def from_global(
        cls, ctx: Context, data: npt.ArrayLike, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> "DistributedVector": ...
    @classmethod
    def load(
        cls, ctx: Context, path: _PathLike, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None, dtype: _DTypeLike = None,
    ) -> "DistributedVector":
        """Read a 1-d ``.npy`` file into a new container (dtype from the file;
        ``dtype=`` makes another dtype an error). Collective."""
    def resize(self, new_size: _Index, fill: Any = None) -> None: ...

class DistributedArray(_Distributed1D):
    """A fixed-size 1-D distributed container (block partition)."""

    @classmethod
    def scatter_from(
        cls, ctx: Context, data: Any, root: int = 0, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> "DistributedArray": ...
    @classmethod
    def from_local(
        cls, ctx: Context, local: npt.ArrayLike, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> "DistributedArray": ...
    @classmethod
    def from_global(
        cls, ctx: Context, data: npt.ArrayLike, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> "DistributedArray": ...
    @classmethod
    def load(
        cls, ctx: Context, path: _PathLike, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None, dtype: _DTypeLike = None,
    ) -> "DistributedArray":
        """Read a 1-d ``.npy`` file into a new container (dtype from the file;
        ``dtype=`` makes another dtype an error). Collective."""

class DistributedTensor:
    """An N-d distributed array split along axis 0."""

    def __init__(
        self,
        ctx: Context,
        shape: Union[_Index, Sequence[_Index]],
        dtype: _DTypeLike = None,
        fill: Any = None,
        partition: int = 0,
        placement: int = 0,
        block_size: Optional[int] = None,
        device_id: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
        axis: int = 0,
    ) -> None: ...
    @classmethod
    def scatter_from(
        cls, ctx: Context, data: Any, root: int = 0, partition: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None, axis: int = 0,
    ) -> "DistributedTensor": ...
    @classmethod
    def load(
        cls, ctx: Context, path: _PathLike, partition: int = 0, axis: int = 0, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None, dtype: _DTypeLike = None,
    ) -> "DistributedTensor":
        """Read a ``.npy`` file (1 to 8 dims, C or Fortran order, either byte
        order) into a new tensor split along ``axis``. Collective."""
    def save(self, path: _PathLike) -> None:
        """Write to a C-order ``.npy`` file (what ``numpy.save`` writes for the
        gathered array), via MPI-IO. Collective."""
    @property
    def axis(self) -> int: ...
    def redistribute(
        self, partition: int = 0, axis: Optional[int] = None, block_size: Optional[int] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> None: ...
    @property
    def context(self) -> Context: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def local_shape(self) -> Tuple[int, ...]: ...
    @property
    def ndim(self) -> int: ...
    @property
    def global_size(self) -> int: ...
    @property
    def local_size(self) -> int: ...
    @property
    def local_offset(self) -> int: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def partition_policy(self) -> int: ...
    @property
    def placement_policy(self) -> int: ...
    def owner(self, row: int) -> int: ...
    def is_local(self, row: int) -> bool: ...
    def local_range(self, start: int, stop: int) -> Tuple[int, int]: ...
    def local_view(self) -> npt.NDArray[Any]: ...
    def to_numpy(self) -> npt.NDArray[Any]: ...
    def from_numpy(self, array: npt.ArrayLike) -> None: ...
    def fill(self, value: Any) -> None: ...
    def gather(self, root: int = 0) -> Optional[npt.NDArray[Any]]: ...
    def gather_all(self) -> npt.NDArray[Any]: ...
    def halo_exchange(
        self, width: _HaloWidth = 1, periodic: bool = False
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """``(lower, upper)``: new arrays of shape ``(rows, *shape[1:])``, the
        ghost rows just before this rank's first row and just after its last
        (``width`` an int or a ``(lower, upper)`` pair). Shorter at the global
        edges unless ``periodic`` (axis 0 a ring; widths ``<= shape[0]``);
        empty on a rank with no rows. Needs a split along axis 0 by a block
        or weighted partition (else ``NotSupportedError``). Collective:
        ``MPI_Allreduce`` of the arguments, then ``MPI_Isend``/``MPI_Irecv``
        between owners."""
    def local_with_halo(
        self, width: _HaloWidthND = 1, periodic: bool = False, boundary: Any = None
    ) -> npt.NDArray[Any]:
        """The local block with ghost cells, a new array. ``width`` an int or
        ``(lower, upper)``: ghost rows along axis 0 (``lower + local + upper``;
        with ``boundary``, always full widths, rows outside the array set to
        ``boundary``). ``width`` one ``(lower, upper)`` pair per axis: padded
        on every axis like ``numpy.pad`` of the global array restricted to
        this rank's rows, ``mode="constant"`` with ``boundary`` (default 0) or
        ``mode="wrap"`` with ``periodic=True``. Collective."""
    def __len__(self) -> int: ...

_MapScalar = Union[int, float, np.integer[Any], np.floating[Any]]

class DistributedMap:
    """Hash-partitioned key -> value map. Keys: int32, int64, uint32, uint64,
    float64; values: any dtl dtype. insert/erase are local (queued for
    remote owners); flush, find, contains, ``in``, find_many, size,
    global_size, empty, ``len()`` and global_view are collective."""

    def __init__(self, ctx: Context, key_dtype: _DTypeLike = None, value_dtype: _DTypeLike = None) -> None: ...
    @property
    def context(self) -> Context: ...
    @property
    def key_dtype(self) -> np.dtype[Any]: ...
    @property
    def value_dtype(self) -> np.dtype[Any]: ...
    def insert(self, key: _MapScalar, value: _MapScalar) -> None: ...
    def erase(self, key: _MapScalar) -> None: ...
    def insert_many(self, keys: npt.ArrayLike, values: npt.ArrayLike) -> None: ...
    def erase_many(self, keys: npt.ArrayLike) -> None: ...
    def flush(self) -> None: ...
    def find(self, key: _MapScalar) -> Optional[Union[int, float]]: ...
    def contains(self, key: _MapScalar) -> bool: ...
    def __contains__(self, key: object) -> bool: ...
    def find_many(self, keys: npt.ArrayLike) -> Tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]: ...
    @property
    def global_size(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def empty(self) -> bool: ...
    @property
    def local_size(self) -> int: ...
    @property
    def pending(self) -> int: ...
    def owner(self, key: _MapScalar) -> int: ...
    def is_local(self, key: _MapScalar) -> bool: ...
    def local_view(self) -> dict[Union[int, float], Union[int, float]]: ...
    def global_view(self) -> dict[Union[int, float], Union[int, float]]: ...
    def __len__(self) -> int: ...

def _allreduce(ctx: Context, arr: npt.NDArray[Any], op: int) -> npt.NDArray[Any]: ...
def _reduce(ctx: Context, arr: npt.NDArray[Any], op: int, root: int) -> Optional[npt.NDArray[Any]]: ...
def _broadcast(ctx: Context, arr: npt.NDArray[Any], root: int) -> npt.NDArray[Any]: ...
def _gather(ctx: Context, arr: npt.NDArray[Any], root: int) -> Optional[npt.NDArray[Any]]: ...
def _scatter(ctx: Context, arr: npt.NDArray[Any], root: int) -> npt.NDArray[Any]: ...
def _allgather(ctx: Context, arr: npt.NDArray[Any]) -> npt.NDArray[Any]: ...
def _allgatherv(ctx: Context, arr: npt.NDArray[Any]) -> Tuple[npt.NDArray[Any], list[int]]: ...
def _alltoall(ctx: Context, arr: npt.NDArray[Any]) -> npt.NDArray[Any]: ...
def _scan(ctx: Context, arr: npt.NDArray[Any], op: int, exclusive: bool) -> npt.NDArray[Any]: ...
def _agree(ctx: Context, what: str, names: list[str], values: list[int]) -> None: ...
