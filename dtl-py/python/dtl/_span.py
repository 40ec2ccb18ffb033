"""``dtl.DistributedSpan``: a non-owning view of a global index range of a
distributed container.

A span names the global indices ``offset .. offset + len(span)`` of a
:class:`DistributedVector`, :class:`DistributedArray` or
:class:`DistributedTensor` (for a tensor, indices along its split axis,
every other axis whole). It holds a reference to its container, so the
container lives as long as the span. Each rank sees the span's elements it
holds; every partition keeps local order monotone in global order, so they
form one contiguous range of local indices, and :meth:`DistributedSpan.local_view`
is a plain NumPy slice of the container's local view (zero-copy)::

    vec = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
    span = dtl.DistributedSpan(vec)
    local = span.local_view()        # zero-copy local NumPy view
    copy = span.to_numpy()           # explicit copy
    sub = span.subspan(10, 20)       # global indices 10..30, non-owning

Nothing here communicates: spans are pure, per-rank objects. The span reads
the container's layout each time it is asked, so after a collective
``resize`` or ``redistribute`` of the container it still names the same
global range (and raises ``BoundsError`` if that range no longer exists).
"""

from __future__ import annotations

import operator
from typing import Any, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._dtl import Context, DistributedArray, DistributedTensor, DistributedVector
from ._errors import BoundsError, DTLError, _invalid

SpanSource = Union[DistributedVector, DistributedArray, DistributedTensor]

__all__ = ["DistributedSpan", "SpanSource"]


def _bounds(message: str) -> BoundsError:
    """A ``BoundsError`` shaped like the native ones (status 301)."""
    err = BoundsError(f"index out of bounds: {message} [DTL_ERROR_BOUNDS]")
    err.status = 301
    err.status_name = "DTL_ERROR_BOUNDS"
    return err


def _integer(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise _invalid(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise _invalid(f"{what} must be an integer, got {type(value).__name__} {value!r}") from None


class DistributedSpan:
    """A non-owning view of the global index range ``offset .. offset + len``
    of a distributed container (the whole container when made with
    ``DistributedSpan(container)``). See the module docs.

    Raises ``InvalidArgumentError`` for anything but a
    :class:`DistributedVector`, :class:`DistributedArray` or
    :class:`DistributedTensor`.
    """

    __slots__ = ("_source", "_axis", "_start", "_stop")

    _source: SpanSource
    _axis: int
    _start: int
    _stop: int

    def __init__(self, container: SpanSource) -> None:
        if not isinstance(container, (DistributedVector, DistributedArray, DistributedTensor)):
            raise _invalid(
                "DistributedSpan needs a DistributedVector, DistributedArray or DistributedTensor, "
                f"got {type(container).__name__}"
            )
        self._source = container
        self._axis = container.axis if isinstance(container, DistributedTensor) else 0
        self._start = 0
        self._stop = container.shape[self._axis]

    def _narrowed(self, start: int, stop: int) -> DistributedSpan:
        out = object.__new__(DistributedSpan)
        out._source = self._source
        out._axis = self._axis
        out._start = start
        out._stop = stop
        return out

    def _local_range(self) -> Tuple[int, int]:
        src = self._source
        if isinstance(src, DistributedTensor) and src.axis != self._axis:
            err = DTLError(
                f"invalid state: the tensor is now split along axis {src.axis}, but this span ranges over "
                f"axis {self._axis}; make a new span [DTL_ERROR_INVALID_STATE]"
            )
            err.status = 500
            err.status_name = "DTL_ERROR_INVALID_STATE"
            raise err
        return src.local_range(self._start, self._stop)

    def _per_index(self) -> int:
        """Elements per index of the span's axis (product of the other axes)."""
        shape = self._source.shape
        return int(np.prod([d for k, d in enumerate(shape) if k != self._axis], dtype=np.int64))

    def _index(self, lo: int, hi: int) -> Tuple[slice, ...]:
        return (slice(None),) * self._axis + (slice(lo, hi),)

    # ------------------------------------------------------------ narrowing

    def subspan(self, offset: int, count: int) -> DistributedSpan:
        """The ``count`` indices starting ``offset`` indices into this span
        (non-owning). Raises ``BoundsError`` unless
        ``0 <= offset`` and ``offset + count <= len(self)``."""
        off = _integer(offset, "offset")
        cnt = _integer(count, "count")
        n = len(self)
        if off < 0 or cnt < 0 or off + cnt > n:
            raise _bounds(
                f"subspan: offset {off} with count {cnt} is out of range for a span of length {n} "
                f"(need 0 <= offset, 0 <= count, offset + count <= {n}; valid offsets 0..={n})"
            )
        return self._narrowed(self._start + off, self._start + off + cnt)

    def first(self, n: int) -> DistributedSpan:
        """The first ``n`` indices of this span. Raises ``BoundsError``
        unless ``0 <= n <= len(self)``."""
        k = _integer(n, "n")
        if not 0 <= k <= len(self):
            raise _bounds(f"first({k}): n must be in 0..={len(self)} (the span's length)")
        return self._narrowed(self._start, self._start + k)

    def last(self, n: int) -> DistributedSpan:
        """The last ``n`` indices of this span. Raises ``BoundsError``
        unless ``0 <= n <= len(self)``."""
        k = _integer(n, "n")
        if not 0 <= k <= len(self):
            raise _bounds(f"last({k}): n must be in 0..={len(self)} (the span's length)")
        return self._narrowed(self._stop - k, self._stop)

    # ------------------------------------------------------------ metadata

    @property
    def source(self) -> SpanSource:
        """The container the span views (kept alive by the span)."""
        return self._source

    @property
    def offset(self) -> int:
        """Global index (along the split axis) of the span's first index."""
        return self._start

    @property
    def axis(self) -> int:
        """The axis the span ranges over: the container's split axis (0 for 1-D)."""
        return self._axis

    @property
    def global_size(self) -> int:
        """Number of elements in the span over all ranks (its length times
        the other axes' extents for a tensor). Each element counts once,
        also for a replicated container."""
        return len(self) * self._per_index()

    @property
    def local_size(self) -> int:
        """Number of the span's elements on this rank."""
        lo, hi = self._local_range()
        return (hi - lo) * self._per_index()

    @property
    def size_bytes(self) -> int:
        """Bytes of the span's elements on **this rank**
        (``local_size * dtype.itemsize``, the ``nbytes`` of
        :meth:`local_view`). The whole span is ``global_size * dtype.itemsize``."""
        return self.local_size * self.dtype.itemsize

    @property
    def rank(self) -> int:
        """This process's rank in the container's context."""
        return self.context.rank

    @property
    def num_ranks(self) -> int:
        """Number of ranks of the container's context."""
        return self.context.size

    @property
    def context(self) -> Context:
        """The container's :class:`Context`."""
        return self._source.context

    @property
    def dtype(self) -> np.dtype[Any]:
        """The NumPy dtype of the elements."""
        return self._source.dtype

    @property
    def shape(self) -> Tuple[int, ...]:
        """The span's global shape (the container's, with the split axis
        replaced by ``len(span)``)."""
        s = list(self._source.shape)
        s[self._axis] = len(self)
        return tuple(s)

    @property
    def local_shape(self) -> Tuple[int, ...]:
        """The shape of :meth:`local_view` on this rank."""
        lo, hi = self._local_range()
        s = list(self._source.shape)
        s[self._axis] = hi - lo
        return tuple(s)

    def local_range(self) -> Tuple[int, int]:
        """``(lo, hi)``: the local indices along the split axis of this
        rank's elements in the span (``local_view()`` is the container's
        local view sliced ``lo:hi`` along that axis)."""
        return self._local_range()

    def __len__(self) -> int:
        """Number of indices of the span along the split axis (global)."""
        return self._stop - self._start

    def __repr__(self) -> str:
        return (
            f"<dtl.DistributedSpan of {type(self._source).__name__} offset={self._start} len={len(self)} "
            f"axis={self._axis} global_size={self.global_size} local_size={self.local_size} "
            f"rank={self.rank}/{self.num_ranks} dtype={self.dtype}>"
        )

    # ------------------------------------------------------------ data

    def local_view(self) -> npt.NDArray[Any]:
        """The span's elements on this rank as a NumPy array sharing the
        container's memory (zero-copy; writes go to the container; strided
        for a tensor split along a later axis). Its base chain keeps the
        container alive. Not collective."""
        lo, hi = self._local_range()
        view: npt.NDArray[Any] = self._source.local_view()[self._index(lo, hi)]
        return view

    def to_numpy(self) -> npt.NDArray[Any]:
        """A copy of the span's elements on this rank (C order). Not collective."""
        return self.local_view().copy()

    def from_numpy(self, array: npt.ArrayLike) -> None:
        """Copies ``array`` (``local_size`` elements, any shape, cast to the
        dtype with NumPy's rules) into the span's elements on this rank.
        Raises ``InvalidArgumentError`` on a size mismatch. Not collective."""
        a = np.asarray(array)
        view = self.local_view()
        if a.size != view.size:
            raise _invalid(
                f"from_numpy: the array has {a.size} elements (shape {a.shape}) but the span's local part "
                f"has {view.size} (local_shape {view.shape})"
            )
        view[...] = a.astype(view.dtype, copy=False).reshape(view.shape)
