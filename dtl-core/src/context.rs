//! Execution contexts: a communicator dtl owns, plus a placement domain.
//!
//! Every context holds its *own* communicator, made by one `MPI_Comm_dup`,
//! so that dtl's traffic can never match a message of the user's. A
//! [`Context`] is cheap to clone (an `Arc`); clones share the communicator.
//!
//! ```
//! use dtl_core::Context;
//! let ctx = Context::world()?;                 // MPI_Comm_dup(MPI_COMM_WORLD)
//! let half = ctx.split(Some((ctx.rank() % 2) as i32), 0)?.unwrap();
//! println!("world rank {} is rank {} of {} in its half", ctx.rank(), half.rank(), half.size());
//! # Ok::<(), dtl_core::Error>(())
//! ```

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;

use crate::algorithms::future::{AsyncLane, Job};
use crate::collective::shm::Shm;
use crate::environment::MpiHold;
use crate::error::{Error, Result};
use crate::raw::{self, RawComm};
use crate::rma::WinPool;

/// A communicator owned by dtl, with the dynamic RMA windows its containers
/// attach to (see [`crate::rma`]) and, once an asynchronous collective has
/// used it, its async lane (see [`crate::algorithms::future`]). On drop:
/// shuts the lane down (joins its worker, frees its duplicate
/// communicator); then, unless MPI is already finalised (e.g. Python
/// objects dropped at interpreter exit), frees the windows (`MPI_Win_free`)
/// and the communicator (`MPI_Comm_free`).
pub(crate) struct Comm {
    comm: ManuallyDrop<SimpleCommunicator>,
    rma: WinPool,
    lane: Mutex<Option<AsyncLane>>,
    shm: Shm,
}

// SAFETY: an MPI communicator handle is a process-wide identifier; MPI calls
// on it from several threads are allowed when MPI grants MPI_THREAD_MULTIPLE,
// which dtl requests. dtl never hands out `&mut` access to the handle.
unsafe impl Send for Comm {}
// SAFETY: as above.
unsafe impl Sync for Comm {}

impl Drop for Comm {
    fn drop(&mut self) {
        // The lane first: its worker may not outlive the communicator.
        drop(self.lane.get_mut().unwrap_or_else(|p| p.into_inner()).take());
        if !mpi::environment::is_finalized() {
            self.shm.free();
            self.rma.free_all();
            // SAFETY: dropped exactly once, here.
            unsafe { ManuallyDrop::drop(&mut self.comm) }
        }
    }
}

struct Inner {
    // Field order matters: the communicator is freed before the MPI hold
    // is released (which may finalise MPI). Shared by contexts that differ
    // only in their device (`with_device`).
    comm: Arc<Comm>,
    rank: usize,
    size: usize,
    device_id: Option<i32>,
    checks: AtomicBool,
    shm_on: AtomicBool,
    _hold: MpiHold,
}

/// A communicator plus a placement domain; every container and collective
/// takes one. See the [module docs](self).
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("rank", &self.rank())
            .field("size", &self.size())
            .field("device_id", &self.inner.device_id)
            .finish()
    }
}

impl Context {
    fn from_comm(comm: SimpleCommunicator, hold: MpiHold, device_id: Option<i32>) -> Context {
        let rank = comm.rank() as usize;
        let size = comm.size() as usize;
        Context {
            inner: Arc::new(Inner {
                comm: Arc::new(Comm {
                    comm: ManuallyDrop::new(comm),
                    rma: WinPool::default(),
                    lane: Mutex::new(None),
                    shm: Shm::default(),
                }),
                rank,
                size,
                device_id,
                checks: AtomicBool::new(true),
                shm_on: AtomicBool::new(true),
                _hold: hold,
            }),
        }
    }

    /// A context over all ranks: `MPI_Comm_dup(MPI_COMM_WORLD)`. Initialises
    /// MPI if needed (see [`Environment`](crate::Environment)). Collective
    /// over `MPI_COMM_WORLD`.
    ///
    /// # Errors
    /// [`Error::Backend`] if MPI was already finalised.
    pub fn world() -> Result<Context> {
        let hold = MpiHold::acquire()?;
        let comm = SimpleCommunicator::world().duplicate();
        Ok(Context::from_comm(comm, hold, None))
    }

    /// A one-rank context over `MPI_COMM_SELF` (duplicated). Not collective.
    pub fn self_only() -> Result<Context> {
        let hold = MpiHold::acquire()?;
        let comm = SimpleCommunicator::self_comm().duplicate();
        Ok(Context::from_comm(comm, hold, None))
    }

    /// A context over a communicator the caller owns (from mpi4py or C):
    /// dtl duplicates it (`MPI_Comm_dup`) and never frees the caller's
    /// handle. Collective over `raw`.
    ///
    /// # Safety
    /// `raw` must be a live communicator handle of the MPI library dtl is
    /// linked against, and MPI must be initialised.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `MPI_COMM_NULL` or an
    /// inter-communicator; [`Error::Communication`] if `MPI_Comm_dup` fails.
    pub unsafe fn from_raw(raw: RawComm) -> Result<Context> {
        let hold = MpiHold::acquire()?;
        // SAFETY: forwarded from the caller's contract.
        let comm = unsafe { raw::dup_borrowed(raw)? };
        Ok(Context::from_comm(comm, hold, None))
    }

    /// This process's rank in the context, `0..size`.
    pub fn rank(&self) -> usize {
        self.inner.rank
    }

    /// Number of ranks in the context.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// True on rank 0.
    pub fn is_root(&self) -> bool {
        self.inner.rank == 0
    }

    /// The GPU this context places device data on, `None` for CPU only.
    pub fn device_id(&self) -> Option<i32> {
        self.inner.device_id
    }

    /// A copy of this context bound to GPU `device_id`, sharing this
    /// context's communicator (no MPI call; not collective). The id is
    /// validated when device memory is first allocated.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `device_id < 0`.
    pub fn with_device(&self, device_id: i32) -> Result<Context> {
        if device_id < 0 {
            return Err(Error::InvalidArgument(format!("device_id must be >= 0, got {device_id}")));
        }
        Ok(Context {
            inner: Arc::new(Inner {
                comm: Arc::clone(&self.inner.comm),
                rank: self.inner.rank,
                size: self.inner.size,
                device_id: Some(device_id),
                checks: AtomicBool::new(self.collective_checks()),
                shm_on: AtomicBool::new(self.shm_collectives()),
                _hold: MpiHold::acquire()?,
            }),
        })
    }

    /// Blocks until every rank has called it (`MPI_Barrier`). Collective.
    pub fn barrier(&self) -> Result<()> {
        self.comm().barrier();
        Ok(())
    }

    /// A context with a new communicator over the same ranks
    /// (`MPI_Comm_dup`). Collective.
    pub fn dup(&self) -> Result<Context> {
        let comm = self.comm().duplicate();
        Ok(Context::from_comm(comm, MpiHold::acquire()?, self.inner.device_id))
    }

    /// The context of this communicator's **async lane**: a duplicate
    /// communicator whose collectives the asynchronous algorithms
    /// ([`async_reduce`](crate::algorithms::async_reduce),
    /// [`async_sort`](crate::algorithms::async_sort)) run on their worker
    /// thread, so that they never meet the collectives made on this context
    /// meanwhile (see [`crate::algorithms::future`]). Made on first use
    /// (`MPI_Comm_dup`: **collective** then, like the first asynchronous
    /// collective algorithm that makes it); later calls only return it. The
    /// lane is shared by every context over this communicator (clones,
    /// [`with_device`](Self::with_device) copies) and lives until the last
    /// of them is dropped. The returned context has this context's device
    /// and collective-check setting (changing them on it does not change
    /// this context's).
    ///
    /// Bindings that run collective jobs on threads of their own use it as
    /// the context to run them on, one job at a time, in the same order on
    /// every rank.
    ///
    /// # Errors
    /// [`Error::Communication`] if `MPI_Comm_dup` fails.
    pub fn async_context(&self) -> Result<Context> {
        let mut lane = self.inner.comm.lane.lock().unwrap_or_else(|p| p.into_inner());
        if lane.is_none() {
            *lane = Some(AsyncLane::new(self)?);
        }
        let lane_ctx = lane.as_ref().map(|l| l.context().clone()).ok_or_else(|| Error::Internal("no lane".into()))?;
        drop(lane);
        Ok(Context {
            inner: Arc::new(Inner {
                comm: Arc::clone(&lane_ctx.inner.comm),
                rank: self.inner.rank,
                size: self.inner.size,
                device_id: self.inner.device_id,
                checks: AtomicBool::new(self.collective_checks()),
                shm_on: AtomicBool::new(self.shm_collectives()),
                _hold: MpiHold::acquire()?,
            }),
        })
    }

    /// Queues `job` on this communicator's async lane (made by
    /// [`async_context`](Self::async_context) before), or gives it back to
    /// be run on the calling thread (no `MPI_THREAD_MULTIPLE`, or no thread).
    pub(crate) fn submit_async(&self, job: Job) -> Result<Option<Job>> {
        let mut lane = self.inner.comm.lane.lock().unwrap_or_else(|p| p.into_inner());
        match lane.as_mut() {
            Some(l) => Ok(l.submit(job)),
            None => Err(Error::Internal("submit_async before async_context".into())),
        }
    }

    /// True if this context's communicator has an async lane (an
    /// asynchronous collective or [`async_context`](Self::async_context)
    /// was used on it). Not collective.
    pub fn has_async_lane(&self) -> bool {
        self.inner.comm.lane.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// An identifier of this context's communicator: equal for contexts
    /// that share it (clones, [`with_device`](Self::with_device) copies),
    /// different for live contexts that do not. Not collective. Bindings
    /// key their per-communicator state by it.
    pub fn comm_id(&self) -> usize {
        Arc::as_ptr(&self.inner.comm) as usize
    }

    /// True if `other`'s communicator has the same processes in the same
    /// rank order as this one's (`MPI_Comm_compare` gives identical or
    /// congruent). Not collective.
    pub fn congruent(&self, other: &Context) -> bool {
        use mpi::topology::CommunicatorRelation as R;
        matches!(self.comm().compare(other.comm()), R::Identical | R::Congruent)
    }

    /// Splits the ranks into sub-contexts by `color`, ordered by `key` then
    /// by rank (`MPI_Comm_split`). A rank passing `color = None`
    /// (`MPI_UNDEFINED`) gets `Ok(None)`. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `color` is negative.
    pub fn split(&self, color: Option<i32>, key: i32) -> Result<Option<Context>> {
        let c = match color {
            Some(c) if c < 0 => {
                // Still take part in the collective so other ranks do not hang.
                let _ = self.comm().split_by_color_with_key(Color::undefined(), key);
                return Err(Error::InvalidArgument(format!("color must be >= 0 (or None for no membership), got {c}")));
            }
            Some(c) => Color::with_value(c),
            None => Color::undefined(),
        };
        match self.comm().split_by_color_with_key(c, key) {
            Some(comm) => Ok(Some(Context::from_comm(comm, MpiHold::acquire()?, self.inner.device_id))),
            None => Ok(None),
        }
    }

    /// The context of the ranks of this context that share memory with this
    /// rank — in practice, the ranks on this node — ranked in this context's
    /// rank order (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)` with key =
    /// rank). Keeps this context's device and collective-check setting.
    /// Collective. See [`crate::topology::NodeMap`] for the node numbering
    /// built on it.
    pub fn split_shared(&self) -> Result<Context> {
        let key = i32::try_from(self.rank())
            .map_err(|_| Error::Internal(format!("rank {} does not fit an MPI int", self.rank())))?;
        let comm = self.comm().split_shared(key);
        let ctx = Context::from_comm(comm, MpiHold::acquire()?, self.inner.device_id);
        ctx.set_collective_checks(self.collective_checks());
        ctx.set_shm_collectives(self.shm_collectives());
        Ok(ctx)
    }

    /// Turns the cross-rank agreement checks of collectives on or off for
    /// this context and its clones (on by default). Each check is one small
    /// `MPI_Allreduce`; turning them off trades safety (a mismatched call may
    /// hang or truncate) for latency. Not collective, but every rank should
    /// set the same value.
    pub fn set_collective_checks(&self, on: bool) {
        self.inner.checks.store(on, Ordering::Relaxed);
    }

    /// Whether collective agreement checks are on.
    pub fn collective_checks(&self) -> bool {
        self.inner.checks.load(Ordering::Relaxed)
    }

    /// Turns the shared-memory path of large `allreduce` and `broadcast`
    /// on or off for this context and its clones (on by default; see
    /// [`crate::collective::shm`]). It applies only when every rank is on
    /// one node; off, those collectives always call `MPI_Allreduce` /
    /// `MPI_Bcast`. Not collective, but every rank must set the same value
    /// before the next collective (a difference hangs it).
    /// `DTL_SHM_COLLECTIVES=0` in the environment switches the path off for
    /// every context of the process.
    pub fn set_shm_collectives(&self, on: bool) {
        self.inner.shm_on.store(on, Ordering::Relaxed);
    }

    /// Whether the shared-memory path of large collectives may be used.
    pub fn shm_collectives(&self) -> bool {
        self.inner.shm_on.load(Ordering::Relaxed)
    }

    /// The shared-memory collective state of the communicator (crate-internal).
    pub(crate) fn shm(&self) -> &Shm {
        &self.inner.comm.shm
    }

    /// The raw handle of dtl's own communicator, for interoperability (pass
    /// it to C code or wrap it in mpi4py). Do not free it.
    pub fn raw_comm(&self) -> RawComm {
        self.comm().as_raw()
    }

    /// The rsmpi communicator (crate-internal).
    pub(crate) fn comm(&self) -> &SimpleCommunicator {
        &self.inner.comm.comm
    }

    /// The dynamic RMA windows of this context's communicator (crate-internal).
    pub(crate) fn rma_pool(&self) -> &WinPool {
        &self.inner.comm.rma
    }

    /// Validates a rank argument named `what` against `0..size` (not collective).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `what` and the valid range.
    pub fn check_rank(&self, rank: usize, what: &str) -> Result<()> {
        if rank >= self.size() {
            return Err(Error::InvalidArgument(format!(
                "{what} must be in 0..{} (the context size), got {rank}",
                self.size()
            )));
        }
        Ok(())
    }
}
