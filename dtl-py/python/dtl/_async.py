"""Asynchronous algorithms: start a sort or a reduction, keep computing (or
communicating) on the calling thread, and collect the result from a
:class:`Future`::

    import dtl
    import numpy as np

    with dtl.Context() as ctx:
        v = dtl.DistributedVector(ctx, size=10_000_000, dtype=np.float64)
        v.local_view()[:] = np.random.default_rng(ctx.rank).random(v.local_size)
        fut = dtl.async_sort(v)                        # collective: every rank calls it
        other = dtl.allreduce(ctx, ctx.rank)           # meanwhile, on ctx itself
        fut.get()                                      # waits; re-raises the job's error
        total = dtl.async_reduce(v, op=dtl.SUM).get()  # the same NumPy scalar on every rank

**How it runs.** Each communicator has one *async worker*: a single
thread (started by the first job) that runs the asynchronous jobs of every context over
that communicator in submission order. The collective ones
(:func:`async_reduce`, :func:`async_sort`) run in the Rust core with the
GIL released, on the communicator's **async lane**: a duplicate
communicator (``MPI_Comm_dup``, made on the calling thread by the first
collective async call, which is then collective like every later one), so
that their collectives never meet those the caller makes meanwhile on the
container's own context (MPI matches collectives on a communicator by call
order). Every rank must call them in the same order, as any collective.
:func:`async_for_each` and :func:`async_transform` are local (not
collective); they run :func:`dtl.for_each` / :func:`dtl.transform` on the
same worker, in order with the collective jobs. A NumPy ufunc releases the
GIL while it runs and really overlaps with the caller; a Python callable
holds the GIL, so it overlaps only with the caller's waits (MPI calls,
NumPy, I/O).

**Do not use the container until its future is done** — except to pass
it to more async calls, which queue behind the first on the same worker
and run in order (``async_sort(v)`` then ``async_reduce(v)`` reduces the
sorted data). While a collective job runs, the container is borrowed by
it: any other call on it raises ``RuntimeError`` (``Already borrowed``),
which is safe. Local views taken before the call, and the local jobs, are
not guarded: reading or writing them meanwhile races with the job.

**Errors** surface when the future is consumed: :meth:`Future.get` re-raises
the job's exception (for the collective jobs on every rank, as the
synchronous calls raise), :func:`when_all` the first one.

Without ``MPI_THREAD_MULTIPLE`` (see ``Environment().thread_level``) every
async call runs synchronously, inside the call, and returns a future that is
already done.
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Any, Callable, Generic, List, Optional, Sequence, TypeVar

from . import _dtl
from ._algorithms import (
    _execution,
    _policy,
    _target,
    for_each,
    transform,
)
from ._collectives import SUM
from ._dtl import Context
from ._errors import DTLError, _invalid

__all__ = [
    "Future",
    "async_for_each",
    "async_transform",
    "async_reduce",
    "async_sort",
    "when_all",
    "when_any",
]

R = TypeVar("R")


class _State:
    """What a job hands back to its :class:`Future`: the result or the
    exception, and the job's callable (which holds the containers), so that
    they are released on the future's side, never by the worker."""

    __slots__ = ("result", "exc", "keep")

    def __init__(self) -> None:
        self.result: Any = None
        self.exc: Optional[BaseException] = None
        self.keep: Any = None


class _Job:
    """What the worker holds: ``box`` = ``[(call, state)]`` (emptied when the
    job starts), and the event it sets when done."""

    __slots__ = ("box", "done")

    def __init__(self, call: Callable[[], Any], state: _State) -> None:
        self.box = [(call, state)]
        self.done = threading.Event()


# Notified whenever a job ends (for when_any).
_ended = threading.Condition()


def _run(job: _Job) -> None:
    """Runs one job. Every reference it takes (the callable, the state, the
    exception) is released here *before* the job is marked done: the
    future's side then holds the last ones, so that containers (whose last
    release may free MPI windows and communicators, collectively) are never
    freed on the worker thread."""
    call, state = job.box.pop()
    try:
        state.result = call()
    except BaseException as e:  # re-raised by Future.get()
        state.exc = e
    state.keep = call
    del call, state
    with _ended:
        job.done.set()
        _ended.notify_all()


def _work(q: queue.SimpleQueue[Optional[_Job]]) -> None:
    """The worker thread's loop: jobs in submission order; ``None`` stops it."""
    while True:
        job = q.get()
        if job is None:
            return
        _run(job)
        del job


class _Worker:
    """One communicator's async worker: a thread (started by the first job)
    running the jobs in submission order. Stops when collected or at exit."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[Optional[_Job]] = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._start = threading.Lock()

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        state = _State()
        job = _Job(call, state)
        with self._start:
            if self._thread is None:
                # A daemon thread: `_shutdown` (atexit) stops and joins it.
                self._thread = threading.Thread(target=_work, args=(self._q,), name="dtl-async", daemon=True)
                self._thread.start()
            ident = self._thread.ident
        self._q.put(job)
        return Future(state, job.done, ident)

    def shutdown(self) -> None:
        with self._start:
            t, self._thread = self._thread, None
        if t is not None:
            self._q.put(None)
            if t is not threading.current_thread():
                t.join()

    def __del__(self) -> None:
        if self._thread is not None:
            self._q.put(None)


class Future(Generic[R]):
    """The result of an asynchronous algorithm, available when its job ends.

    ``wait()`` blocks until then, ``done()`` / ``test()`` tell without
    blocking, ``get()`` waits and returns the result or re-raises the job's
    exception. None of them is collective. Dropping a future whose job is
    still running waits for the job (so that what the job holds is released
    by the thread that owns the future).
    """

    __slots__ = ("_state", "_done", "_worker")

    def __init__(self, state: _State, done: threading.Event, worker: Optional[int]) -> None:
        self._state = state
        self._done = done
        self._worker = worker

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the job has ended (or ``timeout`` seconds have
        passed); returns whether it has ended."""
        return self._done.wait(timeout)

    def get(self, timeout: Optional[float] = None) -> R:
        """Waits for the job and returns its result (``None`` for
        ``async_sort``, ``async_for_each``, ``async_transform``; the NumPy
        scalar for ``async_reduce``). Re-raises the job's exception. Raises
        ``TimeoutError`` if ``timeout`` seconds pass first."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"the job did not end within {timeout} s")
        self._state.keep = None  # the job's references go here, now
        if self._state.exc is not None:
            raise self._state.exc
        return self._state.result  # type: ignore[no-any-return]

    def done(self) -> bool:
        """``True`` once the job has ended (never blocks)."""
        return self._done.is_set()

    def test(self) -> bool:
        """Same as :meth:`done` (the name of ``MPI_Test``)."""
        return self._done.is_set()

    def __repr__(self) -> str:
        return f"<dtl.Future {'done' if self.done() else 'pending'}>"

    def __del__(self, _ident: Callable[[], int] = threading.get_ident) -> None:
        if _ident() != self._worker:
            self._done.wait()


# ---------------------------------------------------------------- workers

_lock = threading.Lock()
# One worker per communicator: the contexts over it share it (weakly here;
# each context that used it holds it strongly).
_by_comm: weakref.WeakValueDictionary[int, _Worker] = weakref.WeakValueDictionary()
_by_ctx: weakref.WeakKeyDictionary[Context, _Worker] = weakref.WeakKeyDictionary()
_all: weakref.WeakSet[_Worker] = weakref.WeakSet()
# The context of every container an async call was given, so that later
# calls find it while a job holds the container (and refuses any use).
_contexts: weakref.WeakKeyDictionary[Any, Context] = weakref.WeakKeyDictionary()


def _context_of(c: Any) -> Context:
    with _lock:
        ctx = _contexts.get(c)
    if ctx is None:
        ctx = c.context
        with _lock:
            _contexts[c] = ctx
    return ctx


def _worker_of(ctx: Context) -> _Worker:
    """The async worker of ``ctx``'s communicator (made on first use)."""
    with _lock:
        w = _by_ctx.get(ctx)
        if w is None:
            w = _by_comm.get(ctx._comm_id)
            if w is None:
                w = _Worker()
                _by_comm[ctx._comm_id] = w
                _all.add(w)
            _by_ctx[ctx] = w
        return w


def _shutdown() -> None:
    """Lets every queued job end and stops the workers. Registered with
    ``atexit`` by ``dtl/__init__.py`` to run before MPI is finalised."""
    with _lock:
        ws = list(_all)
    for w in ws:
        w.shutdown()


def _done(call: Callable[[], R]) -> Future[R]:
    """Runs ``call`` here and returns a future that is already done."""
    state = _State()
    job = _Job(call, state)
    _run(job)
    return Future(state, job.done, None)


def _submit_local(ctx: Context, call: Callable[[], R]) -> Future[R]:
    if not _dtl._async_threads():
        return _done(call)
    return _worker_of(ctx).submit(call)


def _submit_collective(c: Any, what: str, execution: Any, call: Callable[[Context], R]) -> Future[R]:
    """Runs ``call(lane_context)`` on the async worker, with the
    container's execution policy set for the call. A bad ``execution`` on
    this rank becomes a job that takes part in the call's agreement step on
    the lane (so that every rank's job raises) and raises."""
    ctx = _context_of(c)
    threads = _dtl._async_threads()
    lane = ctx._async_context() if threads else ctx  # collective on first use
    try:
        code = _execution(execution)
    except DTLError as e:
        err = e

        def reject() -> R:
            _dtl._reject(lane, what, err.status, str(err))
            raise err

        job: Callable[[], R] = reject
    else:

        def job() -> R:
            with _policy(c, code):
                return call(lane)

    if not threads:
        return _done(job)
    return _worker_of(ctx).submit(job)


# ---------------------------------------------------------------- algorithms


def async_for_each(container: Any, func: Callable[..., Any], *, with_index: bool = False,
                   vectorized: Optional[bool] = None, execution: Any = None) -> Future[None]:
    """:func:`dtl.for_each` in the background: ``func`` applied to every
    local element, in place. **Not collective** (no MPI call): each rank
    works on its part. Runs on the communicator's async worker thread, after
    the async jobs submitted before it. Takes a container or a
    :class:`DistributedSpan`. Argument errors are raised by ``get()``.
    Do not use the container until the future is done."""
    c, _ = _target(container, "async_for_each")
    return _submit_local(
        _context_of(c),
        lambda: for_each(container, func, with_index=with_index, vectorized=vectorized, execution=execution),
    )


def async_transform(src: Any, dst_or_func: Any, func: Optional[Callable[..., Any]] = None, *,
                    vectorized: Optional[bool] = None, execution: Any = None) -> Future[None]:
    """:func:`dtl.transform` in the background: ``async_transform(src, dst,
    func)`` or in place ``async_transform(container, func)``. **Not
    collective**, as :func:`async_for_each`. Argument errors are raised by
    ``get()``. Do not use the containers until the future is done."""
    c, _ = _target(src, "async_transform", "src")
    return _submit_local(
        _context_of(c),
        lambda: transform(src, dst_or_func, func, vectorized=vectorized, execution=execution),
    )


def async_reduce(container: Any, op: Any = SUM, *, deterministic: bool = False,
                 execution: Any = None) -> Future[Any]:
    """:func:`dtl.reduce` of a vector, array or tensor (split along axis 0)
    in the background; ``get()``
    gives the same NumPy scalar on every rank. **Collective**: every rank
    calls it, in the same order as its other collective async calls on the
    container's communicator. The first one makes the async lane
    (``MPI_Comm_dup``, on the calling thread); the reduction's
    ``MPI_Allreduce`` (agreement check) and ``MPI_Allgather`` run on the
    async worker thread over the lane, with the GIL released. ``get()``
    raises ``InvalidArgumentError`` on every rank for an unknown op, a
    logical or bitwise op on floats, or ranks passing different ops.
    ``deterministic=True`` as for :func:`dtl.reduce`."""
    c, _ = _target(container, "async_reduce", spans=False)
    return _submit_collective(c, "reduce", execution,
                              lambda lane: c._reduce_on(lane, op, deterministic=bool(deterministic)))


def async_sort(container: Any, reverse: bool = False, *, stable: bool = False,
               execution: Any = None) -> Future[None]:
    """:func:`dtl.sort` of a vector, array or tensor (split along axis 0) in
    the background (ascending,
    or descending with ``reverse``; NaN last; ``stable=True`` as for
    :func:`dtl.sort`). **Collective**, as :func:`async_reduce`: the local
    sorts, the splitter rounds (``MPI_Allreduce``, ``MPI_Allgather``) and the
    ``MPI_Alltoallv`` run on the async worker thread over the lane, with the
    GIL released. ``get()`` returns ``None`` and raises
    ``InvalidArgumentError`` on every rank if ranks pass different
    ``reverse``."""
    c, _ = _target(container, "async_sort", spans=False)
    return _submit_collective(c, "stable_sort" if stable else "sort", execution,
                              lambda lane: c._sort_on(lane, bool(reverse), bool(stable)))


def when_all(futures: Sequence[Future[Any]]) -> List[Any]:
    """Waits for every future and returns their results, in order. If jobs
    failed, re-raises the first failure (in the order of ``futures``) once
    all have ended. Not collective."""
    fs = list(futures)
    _check_futures(fs, "when_all")
    for f in fs:
        f.wait()
    return [f.get() for f in fs]


def when_any(futures: Sequence[Future[Any]]) -> int:
    """Waits until at least one future has ended and returns the index of
    one that has (the lowest). Not collective. Raises
    ``InvalidArgumentError`` for an empty sequence."""
    fs = list(futures)
    _check_futures(fs, "when_any")
    if not fs:
        raise _invalid("when_any needs at least one future, got none")
    with _ended:
        while True:
            for i, f in enumerate(fs):
                if f.done():
                    return i
            _ended.wait()


def _check_futures(fs: List[Any], what: str) -> None:
    for f in fs:
        if not isinstance(f, Future):
            raise _invalid(f"{what}: every element must be a dtl.Future, got {type(f).__name__}")
