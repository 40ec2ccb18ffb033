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
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    mpi::environment::processor_name().unwrap_or_default().hash(&mut h);
    let node = h.finish();
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

    /// Frees the window (`MPI_Win_free`). Collective over the window's
    /// communicator, and synchronising in Open MPI (it waits for every rank).
    pub(crate) fn free(mut self) -> Result<()> {
        // SAFETY: live window, freed exactly once (consumes `self`).
        check(unsafe { ffi::MPI_Win_free(&mut self.win) }, "MPI_Win_free")
    }
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
