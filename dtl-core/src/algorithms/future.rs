//! Asynchronous algorithms: start a sort, a reduction or an element-wise
//! pass, keep computing, and collect the result through a [`Future`].
//!
//! ```
//! use dtl_core::algorithms::{async_reduce, async_sort, when_all};
//! use dtl_core::{Context, DistributedVector, ReduceOp};
//!
//! let ctx = Context::world()?;
//! let mut v = DistributedVector::<f64>::new(&ctx, 1_000)?;
//! v.iota(0.0);
//! let sorting = async_sort(v, true)?;            // collective: every rank calls it
//! let other = ctx.allreduce_scalar(1.0, ReduceOp::Sum)?; // meanwhile, on `ctx` itself
//! let v = sorting.get()?;                        // the container comes back, sorted
//! assert_eq!(v.local()[0], 999.0 - v.local_offset() as f64);
//! let (v, total) = async_reduce(v, ReduceOp::Sum)?.get()?;
//! assert_eq!(total, 999.0 * 1000.0 / 2.0);
//! assert_eq!(other, ctx.size() as f64);
//! # let _ = (v, when_all::<()>(Vec::new())?);
//! # Ok::<(), dtl_core::Error>(())
//! ```
//!
//! # How it runs
//!
//! The functions take the container **by value** (a [`DistributedVector`],
//! a [`DistributedArray`], or anything else that derefs mutably to a
//! [`Distributed1D`]) and give it back through the future, so nothing can
//! touch it while the job runs.
//!
//! * **Local** jobs ([`async_for_each`], [`async_transform`]) are not
//!   collective and make no MPI call: each runs on a thread of its own
//!   (`std::thread::spawn`), its element loop on rayon as the container's
//!   [`Execution`](crate::Execution) policy says.
//! * **Collective** jobs ([`async_reduce`], [`async_sort`]) run on the
//!   *async lane* of the container's communicator: a duplicate
//!   communicator (`MPI_Comm_dup`, made on the calling thread by the first
//!   collective async call, which is then collective like every later one)
//!   and **one worker thread** that runs the lane's jobs in submission
//!   order. Since every rank submits its collective async calls in the same
//!   order, the workers run their collectives in the same order everywhere;
//!   since they run on the duplicate, they never meet the collectives the
//!   caller makes on the container's own context meanwhile (MPI matches
//!   collectives on a communicator by call order, which two threads would
//!   scramble). The lane lives as long as the communicator; when the last
//!   context of the communicator goes, the lane's worker is joined and its
//!   communicator freed (`MPI_Comm_free`) before the communicator itself.
//!   [`Context::async_context`] gives the lane's context.
//!
//! This needs `MPI_THREAD_MULTIPLE`, which dtl asks for. Where MPI granted
//! less ([`Environment::thread_level`](crate::Environment::thread_level)),
//! collective jobs run synchronously, on the calling thread, inside the
//! `async_*` call, which returns a future that is already done (local jobs
//! make no MPI call and still run in the background).
//!
//! A [`Future`] is waited on with [`wait`](Future::wait), polled with
//! [`done`](Future::done) / [`test`](Future::test), and consumed by
//! [`get`](Future::get), which returns the job's error if it failed (on
//! every rank, for the collective jobs, as their synchronous versions do).
//! **Dropping a future waits for its job** (as C++'s `std::async` futures
//! do), so that the container is always dropped on the thread that owns the
//! future. [`when_all`] and [`when_any`] wait for several.
//!
//! [`DistributedVector`]: crate::DistributedVector
//! [`DistributedArray`]: crate::DistributedArray

use std::any::Any;
use std::ops::DerefMut;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::collective::ReduceOp;
use crate::containers::Distributed1D;
use crate::context::Context;
use crate::element::Element;
use crate::environment::{granted_thread_level, ThreadLevel};
use crate::error::{Error, Result};

// ------------------------------------------------------------------ futures

/// Wakes a [`when_any`] waiting on several futures.
#[derive(Default)]
struct Signal {
    fired: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    fn fire(&self) {
        *lock(&self.fired) = true;
        self.cv.notify_all();
    }
}

struct State<R> {
    /// Set once, when the job ends.
    done: bool,
    /// The job's outcome, until [`Future::get`] takes it.
    result: Option<Result<R>>,
    /// What else the job hands back to be dropped on the future's thread
    /// (the container, when the job failed).
    leftover: Option<Box<dyn Any + Send>>,
    /// [`when_any`] calls waiting on this future.
    watchers: Vec<Arc<Signal>>,
}

struct Slot<R> {
    state: Mutex<State<R>>,
    ready: Condvar,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // A poisoned lock only means that a panic happened while it was held;
    // the state is set in single statements and stays consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The result of an asynchronous algorithm, available when its job ends.
///
/// [`wait`](Self::wait) blocks until then; [`done`](Self::done) and
/// [`test`](Self::test) tell without blocking; [`get`](Self::get) waits and
/// returns the result, or the job's error (a panic in the job becomes
/// [`Error::Internal`]). Dropping a future that is not done **waits** for
/// its job: the container the job holds is dropped on the future's thread.
/// Futures are `Send` and `Sync` (for `Send` results): any thread may wait.
pub struct Future<R> {
    slot: Arc<Slot<R>>,
}

impl<R> std::fmt::Debug for Future<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Future").field("done", &self.done()).finish()
    }
}

/// The job's end of a [`Future`]. Dropped without [`Promise::set`] (a job
/// that never ran), it completes the future with [`Error::Internal`].
struct Promise<R> {
    slot: Option<Arc<Slot<R>>>,
}

fn pair<R>() -> (Promise<R>, Future<R>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(State { done: false, result: None, leftover: None, watchers: Vec::new() }),
        ready: Condvar::new(),
    });
    (Promise { slot: Some(Arc::clone(&slot)) }, Future { slot })
}

impl<R> Promise<R> {
    /// Completes the future with `result`; `leftover` is dropped by the
    /// future's thread (never by the job's).
    fn set(mut self, result: Result<R>, leftover: Option<Box<dyn Any + Send>>) {
        if let Some(slot) = self.slot.take() {
            let watchers = {
                let mut st = lock(&slot.state);
                st.result = Some(result);
                st.leftover = leftover;
                st.done = true;
                std::mem::take(&mut st.watchers)
            };
            slot.ready.notify_all();
            watchers.iter().for_each(|w| w.fire());
        }
    }
}

impl<R> Drop for Promise<R> {
    fn drop(&mut self) {
        if self.slot.is_some() {
            let p = Promise { slot: self.slot.take() };
            p.set(Err(Error::Internal("an asynchronous job ended without a result".into())), None);
        }
    }
}

impl<R> Future<R> {
    /// A future that is already done with `result`.
    pub fn ready(result: Result<R>) -> Future<R> {
        let (p, f) = pair();
        p.set(result, None);
        f
    }

    /// Blocks until the job has ended. Not collective.
    pub fn wait(&self) {
        let mut st = lock(&self.slot.state);
        while !st.done {
            st = self.slot.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// True once the job has ended (never blocks). Not collective.
    pub fn done(&self) -> bool {
        lock(&self.slot.state).done
    }

    /// Same as [`done`](Self::done): true once the job has ended, without
    /// blocking (the name of `MPI_Test`). Not collective.
    pub fn test(&self) -> bool {
        self.done()
    }

    /// Waits for the job and returns its result. Not collective (the job's
    /// collectives ran on the lane).
    ///
    /// # Errors
    /// The job's error; [`Error::Internal`] if it panicked.
    pub fn get(self) -> Result<R> {
        self.wait();
        let (result, leftover) = {
            let mut st = lock(&self.slot.state);
            (st.result.take(), st.leftover.take())
        };
        drop(leftover);
        result.unwrap_or_else(|| Err(Error::Internal("the future's result was already taken".into())))
    }
}

impl<R> Drop for Future<R> {
    fn drop(&mut self) {
        self.wait();
        let taken = {
            let mut st = lock(&self.slot.state);
            (st.result.take(), st.leftover.take())
        };
        drop(taken);
    }
}

/// Waits for every future and returns their results in order. Not
/// collective.
///
/// # Errors
/// The first error in the order of `futures`, after all have ended.
pub fn when_all<R>(futures: Vec<Future<R>>) -> Result<Vec<R>> {
    let results: Vec<Result<R>> = futures.into_iter().map(Future::get).collect();
    results.into_iter().collect()
}

/// Waits until at least one of `futures` has ended and returns the index of
/// one that has (the lowest such index at the time it looks). Not
/// collective.
///
/// # Errors
/// [`Error::InvalidArgument`] if `futures` is empty.
pub fn when_any<R>(futures: &[Future<R>]) -> Result<usize> {
    if futures.is_empty() {
        return Err(Error::InvalidArgument("when_any needs at least one future, got none".into()));
    }
    let signal = Arc::new(Signal::default());
    let mut found = None;
    for (i, f) in futures.iter().enumerate() {
        let mut st = lock(&f.slot.state);
        if st.done {
            found = Some(i);
            break;
        }
        st.watchers.push(Arc::clone(&signal));
    }
    if found.is_none() {
        let mut fired = lock(&signal.fired);
        while !*fired {
            fired = signal.cv.wait(fired).unwrap_or_else(|p| p.into_inner());
        }
        drop(fired);
        found = futures.iter().position(Future::done);
    }
    for f in futures {
        lock(&f.slot.state).watchers.retain(|w| !Arc::ptr_eq(w, &signal));
    }
    found.ok_or_else(|| Error::Internal("when_any woke up with no future done".into()))
}

/// The error of a panicked job.
fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into());
    Error::Internal(format!("an asynchronous job panicked: {msg}"))
}

// ------------------------------------------------------------------ the lane

/// A job of the lane's worker.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The async lane of a communicator (see the [module docs](self)): a
/// duplicate communicator and one worker thread, started by the first job,
/// running the jobs in submission order. Stored in the communicator it
/// serves; dropped (worker joined, then the duplicate freed) before it.
pub(crate) struct AsyncLane {
    ctx: Context,
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
}

impl AsyncLane {
    /// A lane for `parent`'s communicator: `MPI_Comm_dup`. Collective over
    /// `parent`; call it on the thread that makes `parent`'s collectives.
    pub(crate) fn new(parent: &Context) -> Result<AsyncLane> {
        Ok(AsyncLane { ctx: parent.dup()?, jobs: None, worker: None })
    }

    /// The lane's context (the duplicate communicator).
    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    /// Queues `job` for the worker (started here the first time), or gives
    /// it back to be run on the calling thread: when MPI granted less than
    /// `MPI_THREAD_MULTIPLE`, or when no thread can be started.
    pub(crate) fn submit(&mut self, job: Job) -> Option<Job> {
        if granted_thread_level() < ThreadLevel::Multiple {
            return Some(job);
        }
        if self.jobs.is_none() {
            let (tx, rx) = mpsc::channel::<Job>();
            let spawned = std::thread::Builder::new().name("dtl-async-lane".into()).spawn(move || {
                // Every job catches its own panics, so the worker outlives them.
                for job in rx {
                    job();
                }
            });
            match spawned {
                Ok(handle) => {
                    self.jobs = Some(tx);
                    self.worker = Some(handle);
                }
                Err(_) => return Some(job),
            }
        }
        match &self.jobs {
            Some(tx) => tx.send(job).err().map(|mpsc::SendError(job)| job),
            None => Some(job),
        }
    }
}

impl Drop for AsyncLane {
    fn drop(&mut self) {
        // Closing the channel ends the worker once the queue is empty; it
        // is empty by then (queued jobs hold the parent communicator, which
        // is being dropped). The lane's context (the duplicate) goes after.
        drop(self.jobs.take());
        if let Some(handle) = self.worker.take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

// ------------------------------------------------------------------ algorithms

/// Runs `work` on the container on a new thread (or here, if none can be
/// started); the future gives the container back. Local: no MPI call.
fn run_local<T, C>(c: C, work: impl FnOnce(&mut Distributed1D<T>) + Send + 'static) -> Future<C>
where
    T: Element,
    C: DerefMut<Target = Distributed1D<T>> + Send + 'static,
{
    let (promise, future) = pair();
    let job = move || {
        let mut c = c;
        let r = catch_unwind(AssertUnwindSafe(|| work(&mut c)));
        match r {
            Ok(()) => promise.set(Ok(c), None),
            Err(p) => promise.set(Err(panic_error(p)), Some(Box::new(c))),
        }
    };
    // Shared with the thread, so that the job can still run here if the
    // thread cannot be started (`spawn` drops its closure then).
    let shared: Arc<Mutex<Option<Job>>> = Arc::new(Mutex::new(Some(Box::new(job))));
    let theirs = Arc::clone(&shared);
    let spawned = std::thread::Builder::new().name("dtl-async-local".into()).spawn(move || {
        if let Some(job) = lock(&theirs).take() {
            job();
        }
    });
    if spawned.is_err() {
        if let Some(job) = lock(&shared).take() {
            job();
        }
    }
    future
}

/// Runs `work` on the container, on the async lane of its communicator
/// (created here on first use: collective), with the container lent the
/// lane's context; completes the future with `finish(c, r)`.
fn run_on_lane<T, C, R, Out>(
    c: C,
    work: impl FnOnce(&mut Distributed1D<T>) -> Result<R> + Send + 'static,
    finish: impl FnOnce(C, R) -> Out + Send + 'static,
) -> Result<Future<Out>>
where
    T: Element,
    C: DerefMut<Target = Distributed1D<T>> + Send + 'static,
    R: Send + 'static,
    Out: Send + 'static,
{
    let ctx = c.context().clone();
    // On the calling thread: `MPI_Comm_dup` the first time.
    let lane_ctx = ctx.async_context()?;
    let (promise, future) = pair();
    let job: Job = Box::new(move || {
        let mut c = c;
        let r = catch_unwind(AssertUnwindSafe(|| c.with_context(&lane_ctx, work)));
        // The job's handle on the lane goes before the future completes.
        drop(lane_ctx);
        match r {
            Ok(Ok(Ok(r))) => promise.set(Ok(finish(c, r)), None),
            Ok(Ok(Err(e)) | Err(e)) => promise.set(Err(e), Some(Box::new(c))),
            Err(p) => promise.set(Err(panic_error(p)), Some(Box::new(c))),
        }
    });
    if let Some(job) = ctx.submit_async(job)? {
        job();
    }
    Ok(future)
}

/// Calls `f` on every local element, in the background; the future gives
/// the container back. Local, **not collective** (each rank works on its
/// own part: call it on every rank to cover the container), no MPI call:
/// the job runs on a new thread, its loop on rayon under
/// [`Execution::Par`](crate::Execution::Par), like
/// [`Distributed1D::for_each`].
///
/// # Errors
/// None of its own; [`Future::get`] returns [`Error::Internal`] if `f`
/// panicked (the container is then dropped).
pub fn async_for_each<T, C>(c: C, f: impl Fn(&mut T) + Sync + Send + 'static) -> Future<C>
where
    T: Element,
    C: DerefMut<Target = Distributed1D<T>> + Send + 'static,
{
    run_local(c, move |d: &mut Distributed1D<T>| d.for_each(f))
}

/// Replaces every local element `x` by `f(x)`, in the background; the
/// future gives the container back. Local and not collective, as
/// [`async_for_each`] (and [`Distributed1D::transform`]).
///
/// # Errors
/// As [`async_for_each`].
pub fn async_transform<T, C>(c: C, f: impl Fn(T) -> T + Sync + Send + 'static) -> Future<C>
where
    T: Element,
    C: DerefMut<Target = Distributed1D<T>> + Send + 'static,
{
    run_local(c, move |d: &mut Distributed1D<T>| d.transform(f))
}

/// Starts [`Distributed1D::reduce`] (`op` over all elements) on the async
/// lane; the future gives back the container and the result, the same on
/// every rank. **Collective**: every rank of the container's context calls
/// it, in the same order as their other collective async calls on that
/// context. The first such call makes the lane (`MPI_Comm_dup` on the
/// calling thread); the reduction's `MPI_Allreduce` (agreement check) and
/// `MPI_Allgather` (partial results) run on the lane's worker thread, over
/// the lane's communicator, while the caller goes on.
///
/// # Errors
/// Here: an error of `MPI_Comm_dup`. From [`Future::get`], on every rank:
/// those of `reduce` ([`Error::InvalidArgument`] for an op invalid for `T`,
/// e.g. a bitwise op on floats; [`Error::Mismatch`] if ranks pass different
/// ops or containers of different shapes). The container is dropped when
/// the job fails.
pub fn async_reduce<T, C>(c: C, op: ReduceOp) -> Result<Future<(C, T)>>
where
    T: Element,
    C: DerefMut<Target = Distributed1D<T>> + Send + 'static,
{
    run_on_lane(c, move |d: &mut Distributed1D<T>| d.reduce(op), |c, x| (c, x))
}

/// Starts [`Distributed1D::sort`] (ascending, or descending with
/// `reverse`; NaN last) on the async lane; the future gives back the
/// sorted container. **Collective**, as [`async_reduce`]: the local sorts
/// (rayon), the splitter rounds (`MPI_Allreduce`, `MPI_Allgather`) and the
/// `MPI_Alltoallv` all run on the lane's worker thread and communicator.
///
/// # Errors
/// Here: an error of `MPI_Comm_dup`. From [`Future::get`], on every rank:
/// those of `sort` ([`Error::Mismatch`] if ranks pass different `reverse`).
/// The container is dropped when the job fails.
pub fn async_sort<T, C>(c: C, reverse: bool) -> Result<Future<C>>
where
    T: Element,
    C: DerefMut<Target = Distributed1D<T>> + Send + 'static,
{
    run_on_lane(c, move |d: &mut Distributed1D<T>| d.sort(reverse), |c, ()| c)
}
