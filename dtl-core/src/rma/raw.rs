//! Every raw MPI RMA call of dtl, quarantined here (rsmpi wraps no RMA).
//!
//! [`RawWin`] is a thin handle over an `MPI_Win` that sets
//! `MPI_ERRORS_RETURN` on the window as soon as it exists and turns every
//! return code into an [`Error::Communication`] naming the MPI call. It does
//! not free itself: the owner decides when the collective `MPI_Win_free`
//! runs ([`RawWin::free`]).

use std::os::raw::{c_int, c_void};

use mpi::ffi;
use mpi::traits::*;

use crate::error::{Error, Result};
use crate::raw::{check, RawComm};

/// An MPI window handle with `MPI_ERRORS_RETURN` set.
#[derive(Debug)]
pub(crate) struct RawWin {
    win: ffi::MPI_Win,
}

// SAFETY: an MPI window handle is a process-wide identifier; dtl runs MPI
// with MPI_THREAD_MULTIPLE, which allows RMA calls from several threads.
unsafe impl Send for RawWin {}
// SAFETY: as above; the handle itself is never mutated after creation.
unsafe impl Sync for RawWin {}

/// Runs `f` with `MPI_ERRORS_RETURN` installed on `comm` (restoring the
/// previous handler afterwards), so that an error raised on the
/// communicator by a window-creation call comes back as a code instead of
/// aborting the job.
fn with_errors_return(comm: RawComm, f: impl FnOnce() -> c_int) -> Result<c_int> {
    // SAFETY: `comm` is a live communicator owned by the caller's context.
    let mut old: ffi::MPI_Errhandler = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer; `comm` is live.
    check(unsafe { ffi::MPI_Comm_get_errhandler(comm, &mut old) }, "MPI_Comm_get_errhandler")?;
    // SAFETY: ERRORS_RETURN is a predefined handler; `comm` is live.
    check(unsafe { ffi::MPI_Comm_set_errhandler(comm, ffi::RSMPI_ERRORS_RETURN) }, "MPI_Comm_set_errhandler")?;
    let rc = f();
    // SAFETY: restores the handler read above, then releases our reference
    // to it (MPI_Comm_get_errhandler returned a new reference).
    let restored = unsafe { ffi::MPI_Comm_set_errhandler(comm, old) };
    // SAFETY: `old` is the reference obtained above.
    let freed = unsafe { ffi::MPI_Errhandler_free(&mut old) };
    check(restored, "MPI_Comm_set_errhandler")?;
    check(freed, "MPI_Errhandler_free")?;
    Ok(rc)
}

/// Runs the window-creating call `f` (collective over `comm`) while no other
/// communicator on the same node creates a window. Collective over `comm`.
///
/// Open MPI 4.1's `osc/rdma` names the shared-memory file behind every
/// window after the communicator's context id
/// (`/dev/shm/osc_rdma.<host>.<jobid>.<cid>`), and disjoint communicators —
/// the two halves of a split — get the same context id. When two of them
/// create windows at the same moment, their node leaders open the same file:
/// the windows share their state, one leader's `unlink` removes the other's
/// file ("A system call failed during shared memory initialization …
/// unlink(2)"), and the job may crash later in `MPI_Win_detach`/`free`.
///
/// So one rank per node and communicator takes an exclusive lock on a
/// per-user lock file in the node's temporary directory around the
/// creation. It only *tries* the lock, and the ranks agree (`MPI_Allreduce`)
/// whether every node leader got it; if not, the ones that did let go and
/// all retry after a short random pause. No rank ever waits on the lock
/// while holding it elsewhere, so communicators that span several nodes
/// cannot deadlock each other, and since every rank has already arrived,
/// the lock is held only for the creation itself. A closing `MPI_Barrier`
/// keeps the lock until every rank — including Open MPI's node leader,
/// which removes the file — has returned. Where the lock file cannot be
/// opened the creation runs unserialised. Cost: an `MPI_Allgather` of a
/// node id, one `MPI_Allreduce` per try and one `MPI_Barrier`, once per
/// window.
fn node_serialised<C: Communicator, R>(comm: &C, f: impl FnOnce() -> R) -> R {
    let node = node_id();
    let mut nodes = vec![0u64; comm.size() as usize];
    comm.all_gather_into(&node, &mut nodes[..]);
    let rank = comm.rank() as usize;
    let leader = nodes.iter().position(|&n| n == node) == Some(rank);
    let file = if leader { lock_file() } else { None };
    let mut attempt = 0u32;
    loop {
        let got = match &file {
            Some(f) => flock(f, libc::LOCK_EX | libc::LOCK_NB),
            None => true,
        };
        let mut all = 0u8;
        comm.all_reduce_into(&u8::from(got), &mut all, mpi::collective::SystemOperation::min());
        if all == 1 {
            break;
        }
        if let (true, Some(f)) = (got, &file) {
            flock(f, libc::LOCK_UN);
        }
        attempt = attempt.saturating_add(1);
        // A pause of 0.1–3 ms (growing with the attempts), different per rank.
        let spread = u64::from(attempt.min(30)) * 100;
        let jitter =
            (node ^ (rank as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt) << 40) % spread.max(1);
        std::thread::sleep(std::time::Duration::from_micros(100 + jitter));
    }
    let out = f();
    comm.barrier();
    if let Some(f) = &file {
        flock(f, libc::LOCK_UN);
    }
    out
}

/// A hash of this host's name (`MPI_Get_processor_name`): equal on the
/// ranks of one node.
fn node_id() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    mpi::environment::processor_name().unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Whether every rank of `comm` runs on this node (same processor name).
/// Collective over `comm`.
pub(crate) fn on_one_node<C: Communicator>(comm: &C) -> bool {
    let node = node_id();
    let (mut lo, mut hi) = (0u64, 0u64);
    comm.all_reduce_into(&node, &mut lo, mpi::collective::SystemOperation::min());
    comm.all_reduce_into(&node, &mut hi, mpi::collective::SystemOperation::max());
    lo == hi
}

/// `flock(2)` on `file`; whether it succeeded.
fn flock(file: &std::fs::File, op: c_int) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; flock has no memory effects.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

/// The per-user lock file that serialises window creation on this node, or
/// `None` if it cannot be opened.
fn lock_file() -> Option<std::fs::File> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join(format!("dtl-win-create-{uid}.lock")))
        .ok()
}

impl RawWin {
    fn adopt(win: ffi::MPI_Win) -> Result<RawWin> {
        let w = RawWin { win };
        // SAFETY: `win` is the live window just created; ERRORS_RETURN is a
        // predefined handler.
        check(unsafe { ffi::MPI_Win_set_errhandler(w.win, ffi::RSMPI_ERRORS_RETURN) }, "MPI_Win_set_errhandler")?;
        Ok(w)
    }

    /// A window with no memory yet, to which each rank attaches regions
    /// later (`MPI_Win_create_dynamic`). Collective over `comm`.
    ///
    /// # Errors
    /// [`Error::Communication`] if MPI cannot create it (Open MPI 4.1, for
    /// instance, has no one-sided component for a one-rank communicator).
    ///
    /// The creation is serialised node-wide (see [`node_serialised`]).
    pub(crate) fn create_dynamic<C: Communicator + AsRaw<Raw = RawComm>>(comm: &C) -> Result<RawWin> {
        // SAFETY: reading an immutable constant exported by rsmpi's C shim.
        let mut win: ffi::MPI_Win = unsafe { ffi::RSMPI_WIN_NULL };
        let raw = comm.as_raw();
        let rc = node_serialised(comm, || {
            // SAFETY: `raw` is a live intra-communicator; `win` receives a new handle.
            with_errors_return(raw, || unsafe { ffi::MPI_Win_create_dynamic(ffi::RSMPI_INFO_NULL, raw, &mut win) })
        })?;
        check(rc, "MPI_Win_create_dynamic")?;
        RawWin::adopt(win)
    }

    /// Exposes `bytes` bytes at `base` through this dynamic window
    /// (`MPI_Win_attach`). Local.
    ///
    /// # Safety
    /// The region must stay allocated until [`detach`](Self::detach) is
    /// called with the same `base`.
    ///
    /// # Errors
    /// [`Error::Communication`], e.g. when the MPI library's limit on
    /// attached regions is reached (`MPI_ERR_RMA_ATTACH`).
    pub(crate) unsafe fn attach(&self, base: *mut c_void, bytes: usize) -> Result<()> {
        let size = ffi::MPI_Aint::try_from(bytes)
            .map_err(|_| Error::InvalidArgument(format!("cannot attach {bytes} bytes to an MPI window")))?;
        // SAFETY: live window; the region's lifetime is the caller's contract.
        check(unsafe { ffi::MPI_Win_attach(self.win, base, size) }, "MPI_Win_attach")
    }

    /// Withdraws a region attached at `base` (`MPI_Win_detach`). Local.
    pub(crate) fn detach(&self, base: *const c_void) -> Result<()> {
        // SAFETY: live window; MPI checks that `base` was attached.
        check(unsafe { ffi::MPI_Win_detach(self.win, base) }, "MPI_Win_detach")
    }

    /// Opens a passive-target access epoch on `target` (`MPI_Win_lock`,
    /// `MPI_LOCK_EXCLUSIVE` or `MPI_LOCK_SHARED`). Local; may wait for
    /// another origin's exclusive lock to be released.
    pub(crate) fn lock(&self, target: usize, exclusive: bool) -> Result<()> {
        let kind = if exclusive { ffi::MPI_LOCK_EXCLUSIVE } else { ffi::MPI_LOCK_SHARED } as c_int;
        // SAFETY: live window; `target` was range-checked by the caller.
        check(unsafe { ffi::MPI_Win_lock(kind, target as c_int, 0, self.win) }, "MPI_Win_lock")
    }

    /// Closes the access epoch on `target`, completing its operations at
    /// origin and target (`MPI_Win_unlock`). Local.
    pub(crate) fn unlock(&self, target: usize) -> Result<()> {
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_unlock(target as c_int, self.win) }, "MPI_Win_unlock")
    }

    /// Reads `out.len()` elements from `target` at displacement `disp`
    /// (`MPI_Get`); complete only after [`unlock`](Self::unlock).
    ///
    /// # Safety
    /// Inside an access epoch on `target`; the target region must be
    /// exposed; `out` must not be touched until the epoch ends.
    pub(crate) unsafe fn get<T: Equivalence>(&self, out: &mut [T], target: usize, disp: ffi::MPI_Aint) -> Result<()> {
        let n = count(out.len())?;
        let dt = T::equivalent_datatype().as_raw();
        // SAFETY: per the caller's contract; `out` holds `n` elements of `dt`.
        let rc = unsafe { ffi::MPI_Get(out.as_mut_ptr().cast(), n, dt, target as c_int, disp, n, dt, self.win) };
        check(rc, "MPI_Get")
    }

    /// Writes `data` to `target` at displacement `disp` (`MPI_Put`);
    /// complete only after [`unlock`](Self::unlock).
    ///
    /// # Safety
    /// As for [`get`](Self::get).
    pub(crate) unsafe fn put<T: Equivalence>(&self, data: &[T], target: usize, disp: ffi::MPI_Aint) -> Result<()> {
        let n = count(data.len())?;
        let dt = T::equivalent_datatype().as_raw();
        // SAFETY: per the caller's contract; `data` holds `n` elements of `dt`.
        let rc = unsafe { ffi::MPI_Put(data.as_ptr().cast(), n, dt, target as c_int, disp, n, dt, self.win) };
        check(rc, "MPI_Put")
    }

    /// A window over `bytes` bytes that MPI allocates on this rank
    /// (`MPI_Win_allocate`, displacement unit 1), and the address of that
    /// memory. Collective over `comm`; serialised node-wide (see
    /// [`node_serialised`]).
    ///
    /// When every rank runs on one node it calls `MPI_Win_allocate_shared`
    /// instead — the same window semantics, served by Open MPI's `osc/sm`
    /// (load/store and CPU atomics) rather than `osc/rdma`, whose 8-byte
    /// `MPI_Compare_and_swap` crashes in Open MPI 4.1 over the `vader`
    /// shared-memory transport (also from mpi4py).
    ///
    /// # Errors
    /// [`Error::Communication`] if MPI cannot create it.
    pub(crate) fn allocate<C: Communicator + AsRaw<Raw = RawComm>>(
        comm: &C,
        bytes: usize,
    ) -> Result<(RawWin, *mut u8)> {
        let size = aint(bytes)?;
        // SAFETY: reading an immutable constant exported by rsmpi's C shim.
        let mut win: ffi::MPI_Win = unsafe { ffi::RSMPI_WIN_NULL };
        let mut base: *mut c_void = std::ptr::null_mut();
        let raw = comm.as_raw();
        let shared = on_one_node(comm);
        let rc = node_serialised(comm, || {
            with_errors_return(raw, || {
                let basep = (&mut base as *mut *mut c_void).cast();
                // SAFETY: `raw` is a live intra-communicator; `base` receives
                // the address of the memory MPI allocates (a `void *` written
                // through the `void *` baseptr argument), `win` the handle.
                unsafe {
                    if shared {
                        ffi::MPI_Win_allocate_shared(size, 1, ffi::RSMPI_INFO_NULL, raw, basep, &mut win)
                    } else {
                        ffi::MPI_Win_allocate(size, 1, ffi::RSMPI_INFO_NULL, raw, basep, &mut win)
                    }
                }
            })
        })?;
        check(rc, if shared { "MPI_Win_allocate_shared" } else { "MPI_Win_allocate" })?;
        Ok((RawWin::adopt(win)?, base.cast()))
    }

    /// The address of `rank`'s segment of a window made by
    /// `MPI_Win_allocate_shared` (`MPI_Win_shared_query`), directly
    /// addressable by this process. Local.
    ///
    /// # Errors
    /// [`Error::Communication`] if the window is not a shared-memory one.
    pub(crate) fn shared_query(&self, rank: usize) -> Result<*mut u8> {
        let mut size: ffi::MPI_Aint = 0;
        let mut unit: c_int = 0;
        let mut base: *mut c_void = std::ptr::null_mut();
        // SAFETY: live window; the out-pointers are valid locals (the base
        // is written through the `void *` baseptr argument).
        let rc = unsafe {
            ffi::MPI_Win_shared_query(
                self.win,
                rank as c_int,
                &mut size,
                &mut unit,
                (&mut base as *mut *mut c_void).cast(),
            )
        };
        check(rc, "MPI_Win_shared_query")?;
        Ok(base.cast())
    }

    /// A window over `bytes` bytes at `base` (`MPI_Win_create`,
    /// displacement unit 1). Collective over `comm`; serialised node-wide.
    ///
    /// # Safety
    /// The memory must stay allocated, and not move, until the window is
    /// freed.
    ///
    /// # Errors
    /// [`Error::Communication`] if MPI cannot create it (Open MPI 4.1 has
    /// no component for `MPI_Win_create` on a one-rank communicator).
    pub(crate) unsafe fn create<C: Communicator + AsRaw<Raw = RawComm>>(
        comm: &C,
        base: *mut u8,
        bytes: usize,
    ) -> Result<RawWin> {
        let size = aint(bytes)?;
        // SAFETY: reading an immutable constant exported by rsmpi's C shim.
        let mut win: ffi::MPI_Win = unsafe { ffi::RSMPI_WIN_NULL };
        let raw = comm.as_raw();
        let rc = node_serialised(comm, || {
            // SAFETY: live communicator; the memory's lifetime is the caller's contract.
            with_errors_return(raw, || unsafe {
                ffi::MPI_Win_create(base.cast(), size, 1, ffi::RSMPI_INFO_NULL, raw, &mut win)
            })
        })?;
        check(rc, "MPI_Win_create")?;
        RawWin::adopt(win)
    }

    /// `MPI_Win_fence`; `last` passes `MPI_MODE_NOSUCCEED` (no epoch
    /// follows). Collective over the window's communicator.
    pub(crate) fn fence(&self, last: bool) -> Result<()> {
        // SAFETY: the shim returns a constant.
        let assert = if last { unsafe { dtl_mpi_mode_nosucceed() } } else { 0 };
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_fence(assert, self.win) }, "MPI_Win_fence")
    }

    /// `MPI_Win_lock_all` (shared locks on every rank). Local.
    pub(crate) fn lock_all(&self) -> Result<()> {
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_lock_all(0, self.win) }, "MPI_Win_lock_all")
    }

    /// `MPI_Win_unlock_all`. Local.
    pub(crate) fn unlock_all(&self) -> Result<()> {
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_unlock_all(self.win) }, "MPI_Win_unlock_all")
    }

    /// `MPI_Win_flush` (`local`: `MPI_Win_flush_local`) on one target,
    /// or on all (`target: None`: `MPI_Win_flush_all` /
    /// `MPI_Win_flush_local_all`). Local.
    pub(crate) fn flush(&self, target: Option<usize>, local: bool) -> Result<()> {
        // SAFETY: live window; targets were range-checked by the caller.
        let (rc, call) = unsafe {
            match (target, local) {
                (Some(t), false) => (ffi::MPI_Win_flush(t as c_int, self.win), "MPI_Win_flush"),
                (Some(t), true) => (ffi::MPI_Win_flush_local(t as c_int, self.win), "MPI_Win_flush_local"),
                (None, false) => (ffi::MPI_Win_flush_all(self.win), "MPI_Win_flush_all"),
                (None, true) => (ffi::MPI_Win_flush_local_all(self.win), "MPI_Win_flush_local_all"),
            }
        };
        check(rc, call)
    }

    /// `MPI_Win_sync` (public and private copies of the local window
    /// memory agree). Local.
    pub(crate) fn sync(&self) -> Result<()> {
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_sync(self.win) }, "MPI_Win_sync")
    }

    /// `MPI_Win_start`: an access epoch to the ranks of `group`. Local;
    /// may wait for their `MPI_Win_post`.
    pub(crate) fn start(&self, group: &RawGroup) -> Result<()> {
        // SAFETY: live window and group.
        check(unsafe { ffi::MPI_Win_start(group.0, 0, self.win) }, "MPI_Win_start")
    }

    /// `MPI_Win_complete`: ends the access epoch of [`start`](Self::start).
    pub(crate) fn complete(&self) -> Result<()> {
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_complete(self.win) }, "MPI_Win_complete")
    }

    /// `MPI_Win_post`: an exposure epoch to the ranks of `group`. Local.
    pub(crate) fn post(&self, group: &RawGroup) -> Result<()> {
        // SAFETY: live window and group.
        check(unsafe { ffi::MPI_Win_post(group.0, 0, self.win) }, "MPI_Win_post")
    }

    /// `MPI_Win_wait`: ends the exposure epoch of [`post`](Self::post)
    /// once every origin has called `MPI_Win_complete`.
    pub(crate) fn wait(&self) -> Result<()> {
        // SAFETY: live window.
        check(unsafe { ffi::MPI_Win_wait(self.win) }, "MPI_Win_wait")
    }

    /// `MPI_Win_test`: [`wait`](Self::wait) without blocking; whether the
    /// exposure epoch has ended.
    pub(crate) fn test(&self) -> Result<bool> {
        let mut flag: c_int = 0;
        // SAFETY: live window; valid out-pointer.
        check(unsafe { ffi::MPI_Win_test(self.win, &mut flag) }, "MPI_Win_test")?;
        Ok(flag != 0)
    }

    /// `MPI_Accumulate` of `data` into `target` at `disp` with `op`. A
    /// 1- or 2-byte integer `MPI_SUM` goes out in pieces this MPI library
    /// adds correctly (see [`sum_chunk`]).
    ///
    /// # Safety
    /// As for [`get`](Self::get).
    pub(crate) unsafe fn accumulate<T: Equivalence>(
        &self,
        data: &[T],
        target: usize,
        disp: ffi::MPI_Aint,
        op: ffi::MPI_Op,
    ) -> Result<()> {
        let chunk = sum_chunk::<T>(op, data.len())?;
        let dt = T::equivalent_datatype().as_raw();
        for (i, piece) in data.chunks(chunk).enumerate() {
            let n = count(piece.len())?;
            let d = disp + (i * chunk * std::mem::size_of::<T>()) as ffi::MPI_Aint;
            // SAFETY: per the caller's contract; `piece` lies within `data`.
            let rc =
                unsafe { ffi::MPI_Accumulate(piece.as_ptr().cast(), n, dt, target as c_int, d, n, dt, op, self.win) };
            check(rc, "MPI_Accumulate")?;
        }
        Ok(())
    }

    /// `MPI_Get_accumulate`: `result` receives the target's old values,
    /// then `data` is combined in with `op` (`MPI_NO_OP`: an atomic read).
    /// Split as [`accumulate`](Self::accumulate).
    ///
    /// # Safety
    /// As for [`get`](Self::get); `data` and `result` have the same length.
    pub(crate) unsafe fn get_accumulate<T: Equivalence>(
        &self,
        data: &[T],
        result: &mut [T],
        target: usize,
        disp: ffi::MPI_Aint,
        op: ffi::MPI_Op,
    ) -> Result<()> {
        let chunk = sum_chunk::<T>(op, result.len())?;
        let dt = T::equivalent_datatype().as_raw();
        for (i, (piece, res)) in data.chunks(chunk).zip(result.chunks_mut(chunk)).enumerate() {
            let n = count(res.len())?;
            let d = disp + (i * chunk * std::mem::size_of::<T>()) as ffi::MPI_Aint;
            // SAFETY: per the caller's contract; both pieces lie within
            // their buffers and have `n` elements.
            let rc = unsafe {
                ffi::MPI_Get_accumulate(
                    piece.as_ptr().cast(),
                    n,
                    dt,
                    res.as_mut_ptr().cast(),
                    n,
                    dt,
                    target as c_int,
                    d,
                    n,
                    dt,
                    op,
                    self.win,
                )
            };
            check(rc, "MPI_Get_accumulate")?;
        }
        Ok(())
    }

    /// `MPI_Fetch_and_op` of one element.
    ///
    /// # Safety
    /// As for [`get`](Self::get).
    pub(crate) unsafe fn fetch_and_op<T: Equivalence>(
        &self,
        value: &T,
        result: &mut T,
        target: usize,
        disp: ffi::MPI_Aint,
        op: ffi::MPI_Op,
    ) -> Result<()> {
        let dt = T::equivalent_datatype().as_raw();
        // SAFETY: per the caller's contract.
        let rc = unsafe {
            ffi::MPI_Fetch_and_op(
                (value as *const T).cast(),
                (result as *mut T).cast(),
                dt,
                target as c_int,
                disp,
                op,
                self.win,
            )
        };
        check(rc, "MPI_Fetch_and_op")
    }

    /// `MPI_Compare_and_swap` of one element.
    ///
    /// # Safety
    /// As for [`get`](Self::get).
    pub(crate) unsafe fn compare_and_swap<T: Equivalence>(
        &self,
        swap: &T,
        compare: &T,
        result: &mut T,
        target: usize,
        disp: ffi::MPI_Aint,
    ) -> Result<()> {
        let dt = T::equivalent_datatype().as_raw();
        // SAFETY: per the caller's contract.
        let rc = unsafe {
            ffi::MPI_Compare_and_swap(
                (swap as *const T).cast(),
                (compare as *const T).cast(),
                (result as *mut T).cast(),
                dt,
                target as c_int,
                disp,
                self.win,
            )
        };
        check(rc, "MPI_Compare_and_swap")
    }

    /// Frees the window (`MPI_Win_free`) through a shared reference; the
    /// caller never uses this handle again. Collective.
    pub(crate) fn free_in_place(&self) -> Result<()> {
        let mut w = self.win;
        // SAFETY: live window, freed once (the caller's contract).
        check(unsafe { ffi::MPI_Win_free(&mut w) }, "MPI_Win_free")
    }

    /// Frees the window (`MPI_Win_free`). Collective over the window's
    /// communicator, and synchronising in Open MPI (it waits for every rank).
    pub(crate) fn free(mut self) -> Result<()> {
        // SAFETY: live window, freed exactly once (consumes `self`).
        check(unsafe { ffi::MPI_Win_free(&mut self.win) }, "MPI_Win_free")
    }
}

fn aint(bytes: usize) -> Result<ffi::MPI_Aint> {
    ffi::MPI_Aint::try_from(bytes)
        .map_err(|_| Error::InvalidArgument(format!("window size {bytes} bytes is too large")))
}

unsafe extern "C" {
    fn dtl_mpi_op_replace() -> ffi::MPI_Op;
    fn dtl_mpi_op_no_op() -> ffi::MPI_Op;
    fn dtl_mpi_mode_nosucceed() -> c_int;
}

/// The `MPI_Op` of an RMA operation.
pub(crate) fn rma_op(op: super::RmaOp) -> ffi::MPI_Op {
    use super::RmaOp::*;
    // SAFETY: constants exported by rsmpi's shim and by ours.
    unsafe {
        match op {
            Sum => ffi::RSMPI_SUM,
            Prod => ffi::RSMPI_PROD,
            Min => ffi::RSMPI_MIN,
            Max => ffi::RSMPI_MAX,
            BAnd => ffi::RSMPI_BAND,
            BOr => ffi::RSMPI_BOR,
            BXor => ffi::RSMPI_BXOR,
            Replace => dtl_mpi_op_replace(),
            NoOp => dtl_mpi_op_no_op(),
        }
    }
}

/// An MPI group of some ranks of a communicator (`MPI_Comm_group` +
/// `MPI_Group_incl`), freed on drop.
#[derive(Debug)]
pub(crate) struct RawGroup(ffi::MPI_Group);

impl RawGroup {
    /// The group of `ranks` (ranks of `comm`, checked by the caller).
    pub(crate) fn of(comm: RawComm, ranks: &[usize]) -> Result<RawGroup> {
        // SAFETY: reading an immutable constant exported by rsmpi's C shim.
        let mut all: ffi::MPI_Group = unsafe { ffi::RSMPI_GROUP_NULL };
        // SAFETY: live communicator; valid out-pointer.
        check(unsafe { ffi::MPI_Comm_group(comm, &mut all) }, "MPI_Comm_group")?;
        let all = RawGroup(all);
        let r: Vec<c_int> = ranks.iter().map(|&r| r as c_int).collect();
        // SAFETY: as above.
        let mut g: ffi::MPI_Group = unsafe { ffi::RSMPI_GROUP_NULL };
        // SAFETY: live group; `r` holds `r.len()` ranks.
        check(unsafe { ffi::MPI_Group_incl(all.0, r.len() as c_int, r.as_ptr(), &mut g) }, "MPI_Group_incl")?;
        Ok(RawGroup(g))
    }
}

impl Drop for RawGroup {
    fn drop(&mut self) {
        // SAFETY: a group this value owns, freed once.
        unsafe { ffi::MPI_Group_free(&mut self.0) };
    }
}

/// The number of elements of `T` to send per `MPI_Accumulate` /
/// `MPI_Get_accumulate` call with `op` for `n` elements: `n` (at least 1)
/// unless `op` is `MPI_SUM` of a 1- or 2-byte integer and this MPI library
/// gets that sum wrong from some count on.
///
/// Open MPI 4.1's vectorised op kernels (`op/avx`), which its one-sided
/// components call on the target, **saturate** 8- and 16-bit integer sums
/// instead of wrapping (`int8` 100 + 100 gives 127, not −56) from 16
/// (8-bit) or 8 (16-bit) elements on; a collective can use its own
/// `MPI_Op`, but `MPI_Accumulate` only takes predefined ones. The first
/// call per datatype probes the library with `MPI_Reduce_local` (no
/// communication) for the smallest count it gets wrong, up to 64; shorter
/// pieces are added by its scalar code, correctly. Libraries without the
/// bug (MPICH, Open MPI 5, Open MPI run with `--mca op ^avx`) keep one
/// call.
///
/// # Errors
/// [`Error::NotSupported`] if even one element is summed wrongly;
/// [`Error::Communication`] if the probe fails.
fn sum_chunk<T: Equivalence>(op: ffi::MPI_Op, n: usize) -> Result<usize> {
    use std::sync::Mutex;
    static PROBED: Mutex<Vec<(&str, usize)>> = Mutex::new(Vec::new());
    let size = std::mem::size_of::<T>();
    // SAFETY: reads a predefined handle.
    if n == 0 || size > 2 || op != unsafe { ffi::RSMPI_SUM } {
        return Ok(n.max(1));
    }
    let dt = T::equivalent_datatype().as_raw();
    let key = std::any::type_name::<T>();
    let mut probed = PROBED.lock().unwrap_or_else(|e| e.into_inner());
    let safe = match probed.iter().find(|&&(k, _)| k == key) {
        Some(&(_, safe)) => safe,
        None => {
            let safe = probe_sum(dt, size)?;
            probed.push((key, safe));
            safe
        }
    };
    if safe == 0 {
        return Err(Error::NotSupported(
            "accumulate: this MPI library saturates MPI_SUM of 8/16-bit integers instead of wrapping; \
             run Open MPI with --mca op ^avx"
                .into(),
        ));
    }
    Ok(n.min(safe))
}

/// The largest count up to which `MPI_Reduce_local(MPI_SUM)` of `size`-byte
/// integers of datatype `dt` wraps correctly for every shorter count
/// (`usize::MAX` if it does up to 64). Two patterns per count: one that
/// overflows as signed, one as unsigned.
fn probe_sum(dt: ffi::MPI_Datatype, size: usize) -> Result<usize> {
    const MAX: usize = 64;
    let patterns: [u16; 2] = if size == 1 { [0x64, 0xC8] } else { [0x7530, 0xEA60] };
    for n in 1..=MAX {
        for &p in &patterns {
            let elem = |v: u16| if size == 1 { vec![v as u8] } else { v.to_ne_bytes().to_vec() };
            let src: Vec<u8> = (0..n).flat_map(|_| elem(p)).collect();
            let mut acc = src.clone();
            let want: Vec<u8> =
                (0..n).flat_map(|_| elem(if size == 1 { (p + p) & 0xFF } else { p.wrapping_add(p) })).collect();
            // SAFETY: both buffers hold `n` elements of `size` bytes, the
            // extent of `dt`; MPI_SUM is predefined.
            let rc = unsafe {
                ffi::MPI_Reduce_local(src.as_ptr().cast(), acc.as_mut_ptr().cast(), n as c_int, dt, ffi::RSMPI_SUM)
            };
            check(rc, "MPI_Reduce_local")?;
            if acc != want {
                return Ok(n - 1);
            }
        }
    }
    Ok(usize::MAX)
}

fn count(n: usize) -> Result<c_int> {
    c_int::try_from(n)
        .map_err(|_| Error::InvalidArgument(format!("{n} elements in one RMA call; at most {}", c_int::MAX)))
}

/// The absolute address of `p` as MPI sees it (`MPI_Get_address`), the
/// target displacement of a region attached to a dynamic window.
pub(crate) fn address_of(p: *const c_void) -> Result<u64> {
    let mut a: ffi::MPI_Aint = 0;
    // SAFETY: MPI only computes the address; nothing is dereferenced.
    check(unsafe { ffi::MPI_Get_address(p, &mut a) }, "MPI_Get_address")?;
    Ok(a as u64)
}
