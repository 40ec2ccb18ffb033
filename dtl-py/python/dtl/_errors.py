"""DTL exception classes, mapped from the core's stable status codes."""

from __future__ import annotations

import builtins


class DTLError(Exception):
    """Base class for DTL exceptions. ``status`` is the numeric ``dtl_status``,
    ``status_name`` its symbolic name (also at the end of the message)."""

    status: int = 0
    status_name: str = "DTL_ERROR_UNKNOWN"


class CommunicationError(DTLError):
    """MPI/communication failure (status 100)."""


class MemoryError(DTLError, builtins.MemoryError):  # noqa: A001 - name fixed by the DTL guide
    """Memory allocation failure (status 200). Also a builtin ``MemoryError``."""


class BoundsError(DTLError, IndexError):
    """Index out of bounds (status 301). Also an ``IndexError``."""


class InvalidArgumentError(DTLError, ValueError):
    """Invalid argument (status 300), or ranks disagreeing on the arguments of
    a collective call (status 302). Also a ``ValueError``."""


class BackendError(DTLError):
    """Backend (MPI/CUDA/NCCL) failure or unavailability (status 400)."""


class NotSupportedError(BackendError, NotImplementedError):
    """A feature this build or release does not support yet (status 401).
    Also a ``BackendError`` and a ``NotImplementedError``."""


class KeyTypeError(DTLError, TypeError):
    """A key of the wrong type for a ``DistributedMap``: a float or a string
    for an integer map, an integer outside the key dtype's range, an integer
    beyond 2**53 in magnitude for a float64 map (status 300,
    ``DTL_ERROR_INVALID_ARGUMENT``). Also a ``TypeError``, as for a dict
    given an unhashable key."""

    status = 300
    status_name = "DTL_ERROR_INVALID_ARGUMENT"


_BY_STATUS: dict[int, type[DTLError]] = {
    100: CommunicationError,
    200: MemoryError,
    300: InvalidArgumentError,
    301: BoundsError,
    302: InvalidArgumentError,
    400: BackendError,
    401: NotSupportedError,
}


def _class_for_status(status: int) -> type[DTLError]:
    return _BY_STATUS.get(status, DTLError)


def _invalid(message: str) -> InvalidArgumentError:
    """An ``InvalidArgumentError`` raised by the Python layer, shaped like the
    ones from the native module (status 300, status name in the message)."""
    err = InvalidArgumentError(f"invalid argument: {message} [DTL_ERROR_INVALID_ARGUMENT]")
    err.status = 300
    err.status_name = "DTL_ERROR_INVALID_ARGUMENT"
    return err
