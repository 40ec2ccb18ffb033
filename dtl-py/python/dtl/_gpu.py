"""Moving containers between host memory and GPUs: ``dtl.to_device`` and
``dtl.to_host``. The device-side containers themselves are the usual
``DistributedVector``/``DistributedArray``/``DistributedTensor`` classes
with ``placement=PLACEMENT_DEVICE`` or ``PLACEMENT_UNIFIED``."""

from __future__ import annotations

from typing import Optional, TypeVar

from . import _dtl
from ._errors import InvalidArgumentError

C = TypeVar("C", _dtl.DistributedVector, _dtl.DistributedArray, _dtl.DistributedTensor)


def _check(ctx: _dtl.Context, container: object) -> None:
    if not isinstance(container, (_dtl.DistributedVector, _dtl.DistributedArray, _dtl.DistributedTensor)):
        raise InvalidArgumentError(
            f"container must be a DistributedVector, DistributedArray or DistributedTensor, got {type(container).__name__}"
        )
    if not isinstance(ctx, _dtl.Context) or ctx._comm_id != container.context._comm_id:
        raise InvalidArgumentError("ctx must be the context the container was made on")


def to_device(ctx: _dtl.Context, container: C, device_id: Optional[int] = None, placement: int = 1) -> C:
    """A copy of ``container`` whose local parts live on a GPU: same class,
    shape, partition and dtype; ``placement`` is ``PLACEMENT_DEVICE``
    (default) or ``PLACEMENT_UNIFIED``; the device is ``device_id``, else the
    context's, else this rank's rank on the node modulo the GPUs.

    **Collective** over the container's context (one host→device copy per
    rank, ``cuMemcpyHtoD``). Raises ``InvalidArgumentError`` ("not
    available") without CUDA or for a bad ``device_id``, on every rank."""
    _check(ctx, container)
    return container._to_device(device_id, int(placement))


def to_host(ctx: _dtl.Context, container: C) -> C:
    """A copy of ``container`` in host memory (same class, shape, partition,
    dtype), whatever its placement. **Collective** (one device→host copy per
    rank, ``cuMemcpyDtoH``, and the new container's RMA exposure)."""
    _check(ctx, container)
    return container._to_host()
