"""One-sided communication (the guide's "RMA Operations").

``dtl.Window`` exposes memory of every rank; the ``rma_*`` functions
access another rank's window inside an epoch (``win.fence()``,
``win.lock(target)`` / ``with win.lock(target):``, ``win.lock_all()``,
``win.post``/``start``/``complete``/``wait``). Offsets and sizes are in
**bytes** from the start of the target's window; each call is checked
against the target's window size (``BoundsError``), the dtype's alignment
(``InvalidArgumentError``) and the open epochs (``DTLError``, invalid
state) before MPI sees it.

Completion: inside ``lock``/``lock_all`` every call completes before it
returns (``MPI_Win_flush_local``) and results are final. Inside a fence or
post/start epoch MPI completes operations only when the epoch ends:
``rma_get`` then returns the array MPI fills at the next ``fence()`` /
``complete()``, and the atomics return a 1-element array, likewise filled
then (the window keeps every buffer alive until then).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtl
from ._collectives import _OPS
from ._dtl import Epoch, Window
from ._errors import _invalid

#: ``MPI_REPLACE`` for :func:`rma_accumulate` & co (an atomic put).
REPLACE = "replace"
#: ``MPI_NO_OP`` for :func:`rma_get_accumulate` / :func:`rma_fetch_and_op` (an atomic get).
NO_OP = "no_op"

_RMA_OPS = {**{k: v for k, v in _OPS.items() if k not in ("land", "lor", "lxor")}, "replace": 10, "no_op": 11}


def _rma_op(op: Any) -> int:
    code = _RMA_OPS.get(op) if isinstance(op, str) else None
    if code is not None:
        return code
    if isinstance(op, str):
        name = op.strip().lower()
        name = name[4:] if name.startswith("mpi_") else name
        if name in _RMA_OPS:
            return _RMA_OPS[name]
    raise _invalid(
        "op must be one of dtl.SUM, PROD, MIN, MAX, BAND, BOR, BXOR, REPLACE, NO_OP "
        f"(or their names); got {op!r}"
    )


def _window(win: Any) -> Window:
    if type(win) is not Window and not isinstance(win, Window):
        raise _invalid(f"win must be a dtl.Window, got {type(win).__name__}")
    return win


def _index(value: Any, what: str) -> int:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise _invalid(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)


def _data(data: Any) -> np.ndarray:
    if type(data) is np.ndarray and data.ndim == 1 and data.flags.c_contiguous:
        return data
    a = np.ascontiguousarray(data)
    if a.ndim == 0:
        a = a.reshape(1)
    return a


def rma_put(win: Window, target: int, offset: int, data: Any) -> None:
    """Writes ``data`` (array or scalar, its own dtype) at byte ``offset``
    of rank ``target``'s window (``MPI_Put``). Not collective; inside an
    epoch covering ``target``."""
    _dtl._rma_put(_window(win), _index(target, "target"), _index(offset, "offset"), _data(data))


def rma_get(win: Window, target: int, offset: int, size: int, dtype: Any = np.float64) -> np.ndarray:
    """Reads ``size`` **bytes** (a multiple of the dtype's size) at byte
    ``offset`` of rank ``target``'s window as an array of ``dtype``
    (``MPI_Get``). Not collective; inside an epoch covering ``target``."""
    out: np.ndarray = _dtl._rma_get(_window(win), _index(target, "target"), _index(offset, "offset"),
                                    _index(size, "size"), dtype)
    return out


def rma_accumulate(win: Window, target: int, offset: int, data: Any, op: Any = "sum") -> None:
    """Combines ``data`` into rank ``target``'s window at byte ``offset``
    with ``op`` (``SUM``, ``PROD``, ``MIN``, ``MAX``, ``BAND``, ``BOR``,
    ``BXOR``, ``REPLACE``), atomically per element (``MPI_Accumulate``)."""
    _dtl._rma_accumulate(_window(win), _index(target, "target"), _index(offset, "offset"), _data(data),
                         _rma_op(op))


def rma_get_accumulate(win: Window, target: int, offset: int, data: Any, op: Any = "sum") -> np.ndarray:
    """Returns the old values at byte ``offset`` of rank ``target``'s window
    and combines ``data`` in with ``op`` (``NO_OP``: an atomic read), as one
    atomic operation per element (``MPI_Get_accumulate``)."""
    out: np.ndarray = _dtl._rma_get_accumulate(_window(win), _index(target, "target"), _index(offset, "offset"),
                                               _data(data), _rma_op(op))
    return out


def rma_fetch_and_op(win: Window, target: int, offset: int, value: Any, op: Any = "sum",
                     dtype: Any = np.float64) -> Any:
    """Atomically combines ``value`` (converted to ``dtype``) into the
    element at byte ``offset`` of rank ``target``'s window and returns the
    old value (``MPI_Fetch_and_op``; ``op`` ``NO_OP`` reads atomically)."""
    return _dtl._rma_atomic(_window(win), _index(target, "target"), _index(offset, "offset"), value,
                            _rma_op(op), dtype)


def rma_fetch_and_add(win: Window, target: int, offset: int, addend: Any, dtype: Any = np.float64) -> Any:
    """:func:`rma_fetch_and_op` with ``SUM``: the guide's atomic counter."""
    return _dtl._rma_atomic(_window(win), _index(target, "target"), _index(offset, "offset"), addend, 0, dtype)


def rma_compare_and_swap(win: Window, target: int, offset: int, compare: Any, swap: Any,
                         dtype: Any = np.float64) -> Any:
    """If the element at byte ``offset`` of rank ``target``'s window equals
    ``compare`` (bit for bit) it becomes ``swap``; returns the old value
    (``MPI_Compare_and_swap``)."""
    return _dtl._rma_atomic(_window(win), _index(target, "target"), _index(offset, "offset"), swap, 0, dtype,
                            compare)


__all__ = [
    "Epoch",
    "NO_OP",
    "REPLACE",
    "Window",
    "rma_accumulate",
    "rma_compare_and_swap",
    "rma_fetch_and_add",
    "rma_fetch_and_op",
    "rma_get",
    "rma_get_accumulate",
    "rma_put",
]
