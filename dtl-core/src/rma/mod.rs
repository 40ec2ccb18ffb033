//! One-sided communication (MPI RMA) underneath dtl.
//!
//! rsmpi has no RMA, so every raw call lives in the crate-internal `raw` module,
//! with `MPI_ERRORS_RETURN` on every window and every return code checked.
//!
//! This module also gives every 1-D container its remote element access
//! ([`get`](crate::containers::Distributed1D::get) /
//! [`set`](crate::containers::Distributed1D::set)) without making container
//! *destruction* collective:
//!
//! * each communicator dtl owns gets, on the first container built on it,
//!   one **dynamic window** (`MPI_Win_create_dynamic`, collective, in the
//!   constructor that every rank calls anyway);
//! * each container **attaches** its local part (`MPI_Win_attach`, local)
//!   and the ranks exchange the parts' base addresses (`MPI_Allgather` of
//!   one `u64`) — again inside the collective constructor, and again after
//!   `resize` or `redistribute` moves the local part;
//! * dropping a container only **detaches** it (`MPI_Win_detach`, local), so
//!   ranks may drop containers in any order (as Python's garbage collector
//!   does);
//! * the windows are freed (`MPI_Win_free`, collective and synchronising)
//!   when the communicator is — when the last context handle *and* the last
//!   container on it are gone — or by `MPI_Finalize`.
//!
//! MPI libraries cap the regions attached to one dynamic window (Open MPI
//! 4.1: `osc_rdma_max_attach`, 64 by default). When an attach fails on any
//! rank, the ranks agree (the address exchange carries the failure) and
//! open one more dynamic window for the next containers, up to
//! [`MAX_WINDOWS`] per communicator.
//!
//! One-rank communicators need no window (every element is local) — Open
//! MPI 4.1 cannot create a dynamic window on one anyway. Where the MPI
//! library offers no one-sided support at all, containers still work and
//! `get`/`set` of a remote element return [`Error::NotSupported`] naming
//! the failed MPI call.

pub(crate) mod raw;
pub mod window;

pub use window::{AccessEpoch, Dynamic, ExposureEpoch, FenceEpoch, LockAllEpoch, LockEpoch, LockMode, RmaOp, Window};

use std::collections::BTreeMap;
use std::os::raw::c_void;
use std::sync::{Arc, Mutex};

use mpi::traits::*;

use crate::context::Context;
use crate::error::{Error, Result};
use raw::RawWin;

/// Most dynamic windows one communicator opens for container access.
pub const MAX_WINDOWS: usize = 64;

/// The address a rank publishes for an empty local part (nothing attached).
const EMPTY: u64 = u64::MAX;
/// The address a rank publishes when its attach failed.
const FAILED: u64 = 0;

/// One dynamic window of a pool, with the page runs attached to it.
#[derive(Debug)]
pub(crate) struct PoolWin {
    win: RawWin,
    /// Attached page runs: start address -> (end address, containers using
    /// it). Disjoint and page-aligned (see [`PoolWin::attach`]).
    runs: Mutex<BTreeMap<usize, (usize, usize)>>,
}

/// The system page size (the granularity at which MPI libraries register
/// attached memory).
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096)
}

impl PoolWin {
    /// Makes `[base, base + bytes)` reachable through the window and returns
    /// the starts of the page runs it now uses, or `None` if the MPI library
    /// refused an attach (the window is full; nothing changed).
    ///
    /// Containers' buffers share pages, and Open MPI 4.1 rounds every
    /// attached region out to pages, merging a region into an existing one
    /// only when it is contained in it; overlapping-but-not-contained
    /// regions then make `MPI_Win_detach` remove the wrong one, and later
    /// accesses fail with `MPI_ERR_RMA_RANGE`. So dtl attaches only whole,
    /// disjoint page runs, counts their users itself, and detaches a run
    /// when its last user goes — the MPI library never sees two regions
    /// that overlap.
    ///
    /// # Safety
    /// The byte range must stay allocated until [`release`](Self::release).
    unsafe fn attach(&self, base: usize, bytes: usize) -> Result<Option<Vec<usize>>> {
        let page = page_size();
        let (lo, hi) = (base & !(page - 1), (base + bytes).div_ceil(page) * page);
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let (mut used, mut gaps, mut p) = (Vec::new(), Vec::new(), lo);
        while p < hi {
            if let Some((&s, &(end, _))) = runs.range(..=p).next_back().filter(|(_, &(end, _))| end > p) {
                used.push(s);
                p = end;
            } else {
                let next = runs.range(p + 1..).next().map_or(hi, |(&s, _)| s.min(hi));
                gaps.push((p, next));
                p = next;
            }
        }
        let mut made: Vec<(usize, usize)> = Vec::new();
        for &(a, b) in &gaps {
            // SAFETY: whole pages around the caller's range; the caller keeps
            // that range allocated, and the run stays attached only while a
            // user of one of its pages lives.
            if unsafe { self.win.attach(a as *mut c_void, b - a) }.is_err() {
                for &(a, _) in &made {
                    self.win.detach(a as *const c_void)?;
                }
                return Ok(None);
            }
            made.push((a, b));
        }
        for (a, b) in made {
            runs.insert(a, (b, 0));
            used.push(a);
        }
        for s in &used {
            if let Some(r) = runs.get_mut(s) {
                r.1 += 1;
            }
        }
        Ok(Some(used))
    }

    /// Gives up the page runs `used`, detaching those nobody else uses.
    fn release(&self, used: &[usize]) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        for s in used {
            if let Some(r) = runs.get_mut(s) {
                r.1 -= 1;
                if r.1 == 0 {
                    runs.remove(s);
                    let _ = self.win.detach(*s as *const c_void);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct PoolState {
    /// Open windows; new containers attach to the last one.
    windows: Vec<Arc<PoolWin>>,
    /// Why remote access is unavailable on this communicator, if it is.
    unavailable: Option<String>,
}

/// The dynamic windows of one communicator (see the [module docs](self)).
#[derive(Debug, Default)]
pub(crate) struct WinPool {
    state: Mutex<PoolState>,
}

impl WinPool {
    /// Frees every window (`MPI_Win_free`). Collective over the
    /// communicator; called just before the communicator is freed.
    pub(crate) fn free_all(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for w in st.windows.drain(..) {
            // A window still referenced by a live exposure cannot be freed
            // safely; that cannot happen (containers hold the context, and
            // with it the communicator) but leaking beats a crash.
            if let Ok(w) = Arc::try_unwrap(w) {
                let _ = w.win.free();
            }
        }
    }
}

/// Opens one more dynamic window on `ctx`'s communicator (collective) and
/// agrees across ranks whether every rank got one.
fn grow(ctx: &Context, st: &mut PoolState) -> Result<()> {
    let made = RawWin::create_dynamic(ctx.comm());
    let ok = u8::from(made.is_ok());
    let mut all_ok = 0u8;
    ctx.comm().all_reduce_into(&ok, &mut all_ok, mpi::collective::SystemOperation::min());
    match made {
        Ok(win) if all_ok == 1 => {
            st.windows.push(Arc::new(PoolWin { win, runs: Mutex::default() }));
            Ok(())
        }
        // Another rank failed: this rank's window cannot be freed
        // collectively any more; leak it (RawWin never frees itself; a
        // one-time cost).
        Ok(_leaked) => Err(Error::NotSupported("MPI_Win_create_dynamic failed on another rank".into())),
        Err(e) => Err(Error::NotSupported(format!("remote element access needs MPI RMA: {e}"))),
    }
}

/// How one container's local part is reachable by the other ranks.
#[derive(Debug)]
pub(crate) enum Exposure {
    /// One-rank communicator: every element is local.
    Local,
    /// Attached to a dynamic window of the communicator.
    Attached {
        /// The window.
        win: Arc<PoolWin>,
        /// The page runs this rank's part uses (empty if it is empty).
        runs: Vec<usize>,
        /// Every rank's base address (its target displacement 0; [`EMPTY`]
        /// for an empty part).
        bases: Vec<u64>,
    },
    /// No one-sided support: why.
    Unavailable(String),
}

impl Drop for Exposure {
    fn drop(&mut self) {
        if let Exposure::Attached { win, runs, .. } = self {
            if !mpi::environment::is_finalized() {
                win.release(runs);
            }
        }
    }
}

impl Exposure {
    /// Exposes `bytes` bytes at `base` (this rank's local part) to the
    /// other ranks of `ctx`: `MPI_Win_attach` of the page runs not yet
    /// attached, plus one `MPI_Allgather` of the base addresses (plus
    /// `MPI_Win_create_dynamic` on first use or when a window is full).
    /// **Collective.**
    ///
    /// Never fails for lack of RMA support: that yields
    /// [`Exposure::Unavailable`], reported when a remote element is
    /// accessed.
    ///
    /// # Safety
    /// The region must stay allocated, at the same address, for as long as
    /// the returned exposure lives.
    pub(crate) unsafe fn new(ctx: &Context, base: *mut c_void, bytes: usize) -> Result<Exposure> {
        if ctx.size() == 1 {
            return Ok(Exposure::Local);
        }
        let mut st = ctx.rma_pool().state.lock().unwrap_or_else(|e| e.into_inner());
        if st.windows.is_empty() && st.unavailable.is_none() {
            if let Err(e) = grow(ctx, &mut st) {
                st.unavailable = Some(e.to_string());
            }
        }
        if let Some(why) = &st.unavailable {
            return Ok(Exposure::Unavailable(why.clone()));
        }
        loop {
            let win = Arc::clone(st.windows.last().expect("a window exists"));
            let (mine, runs) = if bytes == 0 {
                (EMPTY, Some(Vec::new()))
            } else {
                // SAFETY: the region's lifetime is the caller's contract.
                match unsafe { win.attach(base as usize, bytes)? } {
                    Some(runs) => (raw::address_of(base)?, Some(runs)),
                    None => (FAILED, None),
                }
            };
            let mut all = vec![0u64; ctx.size()];
            ctx.comm().all_gather_into(&mine, &mut all[..]);
            match runs {
                Some(runs) if !all.contains(&FAILED) => return Ok(Exposure::Attached { win, runs, bases: all }),
                // Some rank's window is full: undo, and every rank moves on
                // to a fresh window together.
                Some(runs) => win.release(&runs),
                None => {}
            }
            if st.windows.len() >= MAX_WINDOWS {
                return Ok(Exposure::Unavailable(format!(
                    "all {MAX_WINDOWS} dynamic windows of this communicator are full (MPI_Win_attach failed); \
                     free containers or raise the MPI library's limit (Open MPI: OMPI_MCA_osc_rdma_max_attach)"
                )));
            }
            if let Err(e) = grow(ctx, &mut st) {
                return Ok(Exposure::Unavailable(e.to_string()));
            }
        }
    }

    /// The window and `target`'s base address, or why there is none.
    fn target(&self, target: usize) -> Result<(&RawWin, u64)> {
        match self {
            Exposure::Attached { win, bases, .. } => Ok((&win.win, bases[target])),
            Exposure::Unavailable(why) => Err(Error::NotSupported(why.clone())),
            Exposure::Local => Err(Error::Internal("remote access on a one-rank context".into())),
        }
    }

    /// Reads element `local` (of type `T`) of `target`'s part under a
    /// shared lock: `MPI_Win_lock(SHARED)`, `MPI_Get`, `MPI_Win_unlock`.
    /// Not collective.
    pub(crate) fn get<T: crate::Element>(&self, target: usize, local: usize) -> Result<T> {
        let (win, base) = self.target(target)?;
        let disp = displacement::<T>(base, local)?;
        let mut out = [T::ZERO];
        win.lock(target, false)?;
        // SAFETY: inside the epoch just opened; `out` is untouched until unlock.
        let r = unsafe { win.get(&mut out, target, disp) };
        let u = win.unlock(target);
        r.and(u)?;
        Ok(out[0])
    }

    /// Writes `value` at element `local` of `target`'s part under an
    /// exclusive lock: `MPI_Win_lock(EXCLUSIVE)`, `MPI_Put`,
    /// `MPI_Win_unlock`. Not collective.
    pub(crate) fn put<T: crate::Element>(&self, target: usize, local: usize, value: T) -> Result<()> {
        let (win, base) = self.target(target)?;
        let disp = displacement::<T>(base, local)?;
        let data = [value];
        win.lock(target, true)?;
        // SAFETY: inside the epoch just opened; `data` lives past unlock.
        let r = unsafe { win.put(&data, target, disp) };
        let u = win.unlock(target);
        r.and(u)
    }
}

fn displacement<T>(base: u64, local: usize) -> Result<mpi::ffi::MPI_Aint> {
    if base == EMPTY {
        return Err(Error::Internal("remote access to an empty local part".into()));
    }
    let off = (local as u64).checked_mul(std::mem::size_of::<T>() as u64).and_then(|o| base.checked_add(o));
    off.and_then(|a| mpi::ffi::MPI_Aint::try_from(a).ok()).ok_or_else(|| {
        Error::Internal(format!("target displacement overflows MPI_Aint (base {base:#x}, element {local})"))
    })
}
