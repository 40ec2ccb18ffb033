//! User RMA windows: [`Window`] and its epochs.
//!
//! A window exposes `size` bytes of every rank's memory to one-sided
//! access by the other ranks of a context: memory MPI allocates
//! ([`Window::allocate`], `MPI_Win_allocate`) or memory the caller owns
//! ([`Window::create`], `MPI_Win_create`: a slice, a container's local
//! part). Offsets and lengths are in **bytes** from the start of the
//! target's window, as in the DTL guide; every rank's size is exchanged at
//! creation, so each operation is checked against its target's window
//! (target rank in `0..size`, `offset + bytes <= size_of(target)`, offset
//! a multiple of the element's alignment) before MPI sees it.
//!
//! **Epochs are types.** Operations exist only on epoch guards, so an
//! access outside an epoch does not compile:
//!
//! | guard | opened by (MPI) | closed by |
//! | --- | --- | --- |
//! | [`LockEpoch`] (one target) | [`Window::lock`] (`MPI_Win_lock`) | `unlock()` or drop (`MPI_Win_unlock`) |
//! | [`LockAllEpoch`] | [`Window::lock_all`] (`MPI_Win_lock_all`) | `unlock_all()` or drop |
//! | [`FenceEpoch`] | [`Window::fence`] (`MPI_Win_fence`, collective) | `fence()` (next epoch) or `end()` |
//! | [`AccessEpoch`] (PSCW origin) | [`Window::start`] (`MPI_Win_start`) | `complete()` or drop |
//! | [`ExposureEpoch`] (PSCW target) | [`Window::post`] (`MPI_Win_post`) | `wait()`/`test()` or drop |
//!
//! Buffers handed to an operation are borrowed for the guard's lifetime
//! `'e`: MPI may read or write them until the epoch ends, so Rust lets
//! nobody touch them before. Passive-target guards also offer
//! `*_now` forms that complete at once (`MPI_Win_flush_local`) and return
//! values.
//!
//! Bindings (Python, C), which cannot express epochs in types, use the
//! run-time checked [`Window::dynamic`] interface instead: the window
//! tracks open epochs itself and an access outside one is an
//! [`Error::InvalidState`].
//!
//! **One rank.** Open MPI 4.1 has no one-sided component for
//! `MPI_Win_create` (nor `MPI_Win_create_dynamic`) on a one-rank
//! communicator; only `MPI_Win_allocate` works there (osc/sm). A window on
//! a one-rank context therefore never calls MPI: its operations are
//! plain memory operations on the rank's own memory, under a lock, with the
//! same checks and results.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use mpi::ffi;

use super::raw::{rma_op, RawGroup, RawWin};
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::ReduceOp;

/// The combining operation of `accumulate`, `get_accumulate` and
/// `fetch_and_op` (MPI's predefined ops valid in RMA). Bitwise ops are for
/// integer dtypes only. Numeric codes are stable (Python / C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum RmaOp {
    /// `MPI_SUM`.
    Sum = 0,
    /// `MPI_PROD`.
    Prod = 1,
    /// `MPI_MIN`.
    Min = 2,
    /// `MPI_MAX`.
    Max = 3,
    /// `MPI_BAND` (integers).
    BAnd = 7,
    /// `MPI_BOR` (integers).
    BOr = 8,
    /// `MPI_BXOR` (integers).
    BXor = 9,
    /// `MPI_REPLACE`: an atomic put.
    Replace = 10,
    /// `MPI_NO_OP`: with `get_accumulate`/`fetch_and_op`, an atomic get.
    NoOp = 11,
}

impl RmaOp {
    /// The op for a stable code (a [`ReduceOp`] code, 10 = replace,
    /// 11 = no-op).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the valid ops, for logical ops
    /// (not allowed in MPI RMA) and unknown codes.
    pub fn from_code(code: i64) -> Result<RmaOp> {
        use RmaOp::*;
        [Sum, Prod, Min, Max, BAnd, BOr, BXor, Replace, NoOp].into_iter().find(|o| *o as i64 == code).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "op: RMA supports sum, prod, min, max, band, bor, bxor, replace and no_op (codes 0-3, 7-11); got code {code}"
            ))
        })
    }

    /// Lower-case name (`"sum"`, `"replace"`, …).
    pub fn name(self) -> &'static str {
        match self {
            RmaOp::Replace => "replace",
            RmaOp::NoOp => "no_op",
            o => o.reduce().map_or("?", ReduceOp::name),
        }
    }

    fn reduce(self) -> Option<ReduceOp> {
        Some(match self {
            RmaOp::Sum => ReduceOp::Sum,
            RmaOp::Prod => ReduceOp::Prod,
            RmaOp::Min => ReduceOp::Min,
            RmaOp::Max => ReduceOp::Max,
            RmaOp::BAnd => ReduceOp::BAnd,
            RmaOp::BOr => ReduceOp::BOr,
            RmaOp::BXor => ReduceOp::BXor,
            RmaOp::Replace | RmaOp::NoOp => return None,
        })
    }

    fn check_for<T: Element>(self) -> Result<()> {
        self.reduce().map_or(Ok(()), |o| o.check_for::<T>())
    }

    /// `old op value` as the target computes it.
    fn combine<T: Element>(self, old: T, value: T) -> T {
        match self {
            RmaOp::Replace => value,
            RmaOp::NoOp => old,
            o => o.reduce().map_or(old, |r| r.apply(old, value)),
        }
    }
}

/// `MPI_LOCK_EXCLUSIVE` or `MPI_LOCK_SHARED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// No other origin holds a lock on the target meanwhile.
    Exclusive,
    /// Other origins may hold shared locks too (use atomics: accumulate,
    /// fetch-and-op, compare-and-swap).
    Shared,
}

impl LockMode {
    /// Parses `"exclusive"` / `"shared"` (case-insensitive).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the valid modes.
    pub fn from_name(mode: &str) -> Result<LockMode> {
        match mode.trim().to_ascii_lowercase().as_str() {
            "exclusive" | "mpi_lock_exclusive" => Ok(LockMode::Exclusive),
            "shared" | "mpi_lock_shared" => Ok(LockMode::Shared),
            _ => Err(Error::InvalidArgument(format!("mode must be \"exclusive\" or \"shared\", got {mode:?}"))),
        }
    }
}

/// Open epochs of a window on this rank.
#[derive(Debug, Default)]
struct State {
    locks: BTreeMap<usize, LockMode>,
    lock_all: bool,
    fence: bool,
    /// The group of an open `start` epoch.
    access: Option<Vec<usize>>,
    /// The group of an open `post` epoch.
    exposure: Option<Vec<usize>>,
    freed: bool,
}

impl State {
    fn can_access(&self, target: usize) -> bool {
        self.lock_all
            || self.fence
            || self.locks.contains_key(&target)
            || self.access.as_ref().is_some_and(|g| g.contains(&target))
    }

    fn describe(&self) -> String {
        let mut open = Vec::new();
        if self.fence {
            open.push("a fence epoch".to_string());
        }
        if self.lock_all {
            open.push("lock_all".to_string());
        }
        if !self.locks.is_empty() {
            open.push(format!("locks on {:?}", self.locks.keys().collect::<Vec<_>>()));
        }
        if let Some(g) = &self.access {
            open.push(format!("a start epoch to {g:?}"));
        }
        if open.is_empty() {
            "no access epoch is open".into()
        } else {
            format!("open: {}", open.join(", "))
        }
    }
}

#[derive(Debug)]
enum Backend {
    Mpi(RawWin),
    /// One-rank communicator: plain memory (see the module docs).
    Local,
}

#[derive(Debug)]
struct Inner {
    ctx: Context,
    backend: Backend,
    /// This rank's window memory.
    base: *mut u8,
    /// Every rank's window size in bytes.
    sizes: Vec<usize>,
    /// Memory dtl allocated for a one-rank `allocate` window.
    _owned: Option<Vec<u64>>,
    /// 8-byte `MPI_Compare_and_swap` would crash (see [`cas8_crashes`]).
    no_cas8: bool,
    state: Mutex<State>,
}

// SAFETY: `base` points at memory that lives as long as the window (MPI's,
// ours, or the borrowed memory of `Window<'a>`); every access to it from
// dtl goes through MPI or through `state`'s lock, and MPI runs with
// MPI_THREAD_MULTIPLE.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

/// An RMA window: `size_of(r)` bytes of every rank `r`'s memory, open to
/// one-sided operations of the other ranks of the context. See the [module
/// docs](self). `'a` is the lifetime of the memory it exposes.
///
/// Freeing is collective (`MPI_Win_free`): call [`free`](Self::free) on
/// every rank; dropping a window frees it the same way, so every rank must
/// drop it.
#[derive(Debug)]
pub struct Window<'a> {
    inner: Arc<Inner>,
    _mem: PhantomData<&'a mut [u8]>,
}

impl Window<'static> {
    /// A window over `bytes` zeroed bytes that MPI allocates on this rank
    /// (`MPI_Win_allocate`, then an `MPI_Allgather` of the sizes; ranks may
    /// pass different sizes, including 0). Collective.
    ///
    /// # Errors
    /// [`Error::Communication`] if MPI cannot create the window.
    pub fn allocate(ctx: &Context, bytes: usize) -> Result<Window<'static>> {
        if ctx.size() == 1 {
            let mut mem = vec![0u64; bytes.div_ceil(8)];
            let base = mem.as_mut_ptr().cast();
            return Window::build(ctx, Backend::Local, base, bytes, Some(mem), true);
        }
        let (win, base) = RawWin::allocate(ctx.comm(), bytes)?;
        if bytes > 0 {
            // SAFETY: MPI allocated `bytes` bytes at `base`; nobody can
            // reach them before the size exchange below completes.
            unsafe { std::ptr::write_bytes(base, 0, bytes) };
        }
        Window::build(ctx, Backend::Mpi(win), base, bytes, None, true)
    }

    /// A window over `bytes` bytes at `base` that the caller keeps alive
    /// (for bindings that hold the owner, e.g. a NumPy array). Collective.
    ///
    /// # Safety
    /// `base..base + bytes` must stay allocated, unmoved and otherwise
    /// unaliased by Rust references while the window lives.
    ///
    /// # Errors
    /// As for [`create`](Window::create).
    pub unsafe fn from_raw_parts(ctx: &Context, base: *mut u8, bytes: usize) -> Result<Window<'static>> {
        // SAFETY: the caller's contract.
        unsafe { Window::create_raw(ctx, base, bytes) }
    }
}

impl<'a> Window<'a> {
    /// A window over `memory` (`MPI_Win_create` with displacement unit 1:
    /// offsets are bytes), which stays borrowed until the window is freed.
    /// Collective; ranks may pass slices of different lengths.
    ///
    /// # Errors
    /// [`Error::Communication`] if MPI cannot create the window.
    pub fn create<T: Element>(ctx: &Context, memory: &'a mut [T]) -> Result<Window<'a>> {
        let bytes = std::mem::size_of_val(memory);
        // SAFETY: `memory` is borrowed mutably for `'a`, the window's lifetime.
        unsafe { Window::create_raw(ctx, memory.as_mut_ptr().cast(), bytes) }
    }

    unsafe fn create_raw(ctx: &Context, base: *mut u8, bytes: usize) -> Result<Window<'a>> {
        if ctx.size() == 1 {
            return Window::build(ctx, Backend::Local, base, bytes, None, false);
        }
        // SAFETY: the caller's contract.
        let win = unsafe { RawWin::create(ctx.comm(), base, bytes)? };
        Window::build(ctx, Backend::Mpi(win), base, bytes, None, false)
    }

    fn build(
        ctx: &Context,
        backend: Backend,
        base: *mut u8,
        bytes: usize,
        owned: Option<Vec<u64>>,
        allocated: bool,
    ) -> Result<Window<'a>> {
        let sizes = ctx.allgather(&[bytes as u64])?.into_iter().map(|s| s as usize).collect();
        let no_cas8 = owned.is_none() && matches!(backend, Backend::Mpi(_)) && !allocated && cas8_crashes();
        let inner = Inner {
            ctx: ctx.clone(),
            backend,
            base,
            sizes,
            _owned: owned,
            no_cas8,
            state: Mutex::new(State::default()),
        };
        Ok(Window { inner: Arc::new(inner), _mem: PhantomData })
    }

    /// This rank's window size in bytes.
    pub fn size(&self) -> usize {
        self.inner.sizes[self.inner.ctx.rank()]
    }

    /// Rank `rank`'s window size in bytes (exchanged at creation).
    ///
    /// # Errors
    /// [`Error::Bounds`] if `rank` is not in `0..size`.
    pub fn size_of(&self, rank: usize) -> Result<usize> {
        self.inner.sizes.get(rank).copied().ok_or_else(|| self.bad_target(rank))
    }

    /// The address of this rank's window memory.
    pub fn base(&self) -> usize {
        self.inner.base as usize
    }

    /// The context the window spans.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// This rank's window memory. Reading it races with remote writes
    /// unless the epochs say otherwise (e.g. after a closing fence).
    /// `&mut self` keeps epoch guards (which borrow the window) closed.
    pub fn local_mut(&mut self) -> &mut [u8] {
        let n = self.size();
        if n == 0 {
            return &mut [];
        }
        // SAFETY: `base` holds `n` bytes for the window's lifetime, and the
        // exclusive borrow excludes this rank's own epochs.
        unsafe { std::slice::from_raw_parts_mut(self.inner.base, n) }
    }

    fn bad_target(&self, rank: usize) -> Error {
        Error::Bounds(format!("target must be a rank in 0..{}, got {rank}", self.inner.sizes.len()))
    }

    /// Opens a passive-target access epoch on `target` (`MPI_Win_lock`).
    /// Local (may wait while another origin holds an exclusive lock).
    ///
    /// # Errors
    /// [`Error::Bounds`] for a bad target; [`Error::InvalidState`] if this
    /// rank already has a lock on `target` or a `lock_all` epoch.
    pub fn lock(&self, target: usize, mode: LockMode) -> Result<LockEpoch<'_, 'a>> {
        self.dynamic().lock(target, mode)?;
        Ok(LockEpoch { win: self, target, open: true })
    }

    /// Opens a shared passive-target epoch on every rank
    /// (`MPI_Win_lock_all`). Local.
    ///
    /// # Errors
    /// [`Error::InvalidState`] if locks are already held.
    pub fn lock_all(&self) -> Result<LockAllEpoch<'_, 'a>> {
        self.dynamic().lock_all()?;
        Ok(LockAllEpoch { win: self, open: true })
    }

    /// `MPI_Win_fence`: opens an active-target epoch in which every rank
    /// may access every rank. **Collective**.
    ///
    /// # Errors
    /// [`Error::InvalidState`] while passive-target or PSCW epochs are
    /// open on this rank.
    pub fn fence(&self) -> Result<FenceEpoch<'_, 'a>> {
        self.dynamic().fence(false)?;
        Ok(FenceEpoch { win: self })
    }

    /// `MPI_Win_start`: an access epoch to the ranks in `group` (which
    /// must post a matching exposure epoch). Local; may wait for them.
    ///
    /// # Errors
    /// [`Error::Bounds`] for a rank outside `0..size`; [`Error::InvalidState`]
    /// if another access epoch is open.
    pub fn start(&self, group: &[usize]) -> Result<AccessEpoch<'_, 'a>> {
        self.dynamic().start(group)?;
        Ok(AccessEpoch { win: self, open: true })
    }

    /// `MPI_Win_post`: exposes this rank's window to the ranks in `group`
    /// (which must start matching access epochs). Local.
    ///
    /// # Errors
    /// As for [`start`](Self::start).
    pub fn post(&self, group: &[usize]) -> Result<ExposureEpoch<'_, 'a>> {
        self.dynamic().post(group)?;
        Ok(ExposureEpoch { win: self, open: true })
    }

    /// The run-time checked interface for bindings (see the module docs).
    pub fn dynamic(&self) -> Dynamic<'_> {
        Dynamic { inner: &self.inner }
    }

    /// Frees the window (`MPI_Win_free`). **Collective** and synchronising.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn free(self) -> Result<()> {
        self.dynamic().free()
    }
}

impl Drop for Window<'_> {
    fn drop(&mut self) {
        let _ = self.dynamic().free();
    }
}

/// The run-time checked window interface (see the [module docs](self)):
/// the window records which epochs this rank has open and refuses an
/// operation on a target outside them with [`Error::InvalidState`].
#[derive(Debug, Clone, Copy)]
pub struct Dynamic<'w> {
    inner: &'w Inner,
}

impl Dynamic<'_> {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mpi(&self) -> Option<&RawWin> {
        match &self.inner.backend {
            Backend::Mpi(w) => Some(w),
            Backend::Local => None,
        }
    }

    fn live(&self, st: &State) -> Result<()> {
        if st.freed {
            return Err(Error::InvalidState("window: the window has been freed".into()));
        }
        Ok(())
    }

    fn target(&self, target: usize) -> Result<()> {
        if target >= self.inner.sizes.len() {
            return Err(Error::Bounds(format!("target must be a rank in 0..{}, got {target}", self.inner.sizes.len())));
        }
        Ok(())
    }

    fn group(&self, group: &[usize]) -> Result<Vec<usize>> {
        for &r in group {
            self.target(r)?;
        }
        let mut g = group.to_vec();
        g.sort_unstable();
        g.dedup();
        Ok(g)
    }

    /// Checks an access of `bytes` bytes at `offset` on `target` for
    /// elements of `T`, inside an access epoch; the MPI displacement.
    fn access<T: Element>(&self, what: &str, target: usize, offset: usize, count: usize) -> Result<ffi::MPI_Aint> {
        self.target(target)?;
        let size = self.inner.sizes[target];
        let bytes = count.checked_mul(std::mem::size_of::<T>());
        if bytes.and_then(|b| b.checked_add(offset)).is_none_or(|end| end > size) {
            return Err(Error::Bounds(format!(
                "{what}: offset {offset} + {count} x {}-byte {} exceeds rank {target}'s window of {size} bytes",
                std::mem::size_of::<T>(),
                T::DTYPE
            )));
        }
        if offset % std::mem::align_of::<T>() != 0 {
            return Err(Error::InvalidArgument(format!(
                "{what}: offset {offset} is not a multiple of {}'s alignment ({} bytes)",
                T::DTYPE,
                std::mem::align_of::<T>()
            )));
        }
        let st = self.state();
        self.live(&st)?;
        if !st.can_access(target) {
            return Err(Error::InvalidState(format!(
                "{what}: no access epoch covers rank {target} ({}); open one with lock, lock_all, fence or start",
                st.describe()
            )));
        }
        ffi::MPI_Aint::try_from(offset).map_err(|_| Error::Bounds(format!("{what}: offset {offset} is too large")))
    }

    /// Runs `f` on the local backend's bytes `offset..offset + len`.
    fn local<R>(&self, offset: usize, len: usize, f: impl FnOnce(*mut u8) -> R) -> R {
        let _guard = self.state();
        debug_assert!(offset + len <= self.inner.sizes[0]);
        // SAFETY: checked against the window size by `access`; the state
        // lock serialises dtl's accesses to the memory.
        f(unsafe { self.inner.base.add(offset) })
    }

    /// Whether a passive-target epoch (a lock on `target`, or `lock_all`)
    /// covers `target`: operations can then be completed at once with
    /// [`flush`](Self::flush); in fence and PSCW epochs they complete at
    /// the epoch's end.
    pub fn passive(&self, target: usize) -> bool {
        let st = self.state();
        st.lock_all || st.locks.contains_key(&target)
    }

    /// Whether this rank has any epoch open (lock, lock_all, fence,
    /// start, post).
    pub fn any_epoch(&self) -> bool {
        let st = self.state();
        st.lock_all || st.fence || !st.locks.is_empty() || st.access.is_some() || st.exposure.is_some()
    }

    /// `MPI_Win_lock` on `target` (see [`Window::lock`]).
    ///
    /// # Errors
    /// As for [`Window::lock`].
    pub fn lock(&self, target: usize, mode: LockMode) -> Result<()> {
        self.target(target)?;
        let mut st = self.state();
        self.live(&st)?;
        if st.lock_all || st.locks.contains_key(&target) {
            return Err(Error::InvalidState(format!(
                "lock: rank {target} is already locked by this rank ({})",
                st.describe()
            )));
        }
        if let Some(w) = self.mpi() {
            w.lock(target, mode == LockMode::Exclusive)?;
        }
        st.locks.insert(target, mode);
        Ok(())
    }

    /// `MPI_Win_unlock` on `target`: completes its operations.
    ///
    /// # Errors
    /// [`Error::InvalidState`] if this rank holds no lock on `target`.
    pub fn unlock(&self, target: usize) -> Result<()> {
        self.target(target)?;
        let mut st = self.state();
        if st.locks.remove(&target).is_none() {
            return Err(Error::InvalidState(format!(
                "unlock: this rank holds no lock on rank {target} ({})",
                st.describe()
            )));
        }
        match self.mpi() {
            Some(w) => w.unlock(target),
            None => Ok(()),
        }
    }

    /// `MPI_Win_lock_all`.
    ///
    /// # Errors
    /// As for [`Window::lock_all`].
    pub fn lock_all(&self) -> Result<()> {
        let mut st = self.state();
        self.live(&st)?;
        if st.lock_all || !st.locks.is_empty() {
            return Err(Error::InvalidState(format!("lock_all: locks are already held ({})", st.describe())));
        }
        if let Some(w) = self.mpi() {
            w.lock_all()?;
        }
        st.lock_all = true;
        Ok(())
    }

    /// `MPI_Win_unlock_all`.
    ///
    /// # Errors
    /// [`Error::InvalidState`] without an open `lock_all`.
    pub fn unlock_all(&self) -> Result<()> {
        let mut st = self.state();
        if !st.lock_all {
            return Err(Error::InvalidState("unlock_all: no lock_all epoch is open".into()));
        }
        st.lock_all = false;
        match self.mpi() {
            Some(w) => w.unlock_all(),
            None => Ok(()),
        }
    }

    /// `MPI_Win_fence`; `last` passes `MPI_MODE_NOSUCCEED` and closes the
    /// fence epoch. **Collective**.
    ///
    /// # Errors
    /// [`Error::InvalidState`] while locks or PSCW epochs are open.
    pub fn fence(&self, last: bool) -> Result<()> {
        let mut st = self.state();
        self.live(&st)?;
        if st.lock_all || !st.locks.is_empty() || st.access.is_some() || st.exposure.is_some() {
            return Err(Error::InvalidState(format!(
                "fence: close passive-target and post/start epochs first ({})",
                st.describe()
            )));
        }
        if let Some(w) = self.mpi() {
            w.fence(last)?;
        }
        st.fence = !last;
        Ok(())
    }

    /// `MPI_Win_start` to `group`.
    ///
    /// # Errors
    /// As for [`Window::start`].
    pub fn start(&self, group: &[usize]) -> Result<()> {
        let g = self.group(group)?;
        let mut st = self.state();
        self.live(&st)?;
        if st.access.is_some() || st.fence {
            return Err(Error::InvalidState(format!("start: an access epoch is already open ({})", st.describe())));
        }
        if let Some(w) = self.mpi() {
            w.start(&RawGroup::of(self.inner.ctx.raw_comm(), &g)?)?;
        }
        st.access = Some(g);
        Ok(())
    }

    /// `MPI_Win_complete`: ends the `start` epoch.
    ///
    /// # Errors
    /// [`Error::InvalidState`] without an open `start` epoch.
    pub fn complete(&self) -> Result<()> {
        let mut st = self.state();
        if st.access.take().is_none() {
            return Err(Error::InvalidState("complete: no start epoch is open".into()));
        }
        match self.mpi() {
            Some(w) => w.complete(),
            None => Ok(()),
        }
    }

    /// `MPI_Win_post` to `group`.
    ///
    /// # Errors
    /// As for [`Window::post`].
    pub fn post(&self, group: &[usize]) -> Result<()> {
        let g = self.group(group)?;
        let mut st = self.state();
        self.live(&st)?;
        if st.exposure.is_some() || st.fence {
            return Err(Error::InvalidState(format!("post: an exposure epoch is already open ({})", st.describe())));
        }
        if let Some(w) = self.mpi() {
            w.post(&RawGroup::of(self.inner.ctx.raw_comm(), &g)?)?;
        }
        st.exposure = Some(g);
        Ok(())
    }

    /// `MPI_Win_wait`: ends the `post` epoch once every origin completed.
    ///
    /// # Errors
    /// [`Error::InvalidState`] without an open `post` epoch.
    pub fn wait(&self) -> Result<()> {
        let w = {
            let mut st = self.state();
            if st.exposure.take().is_none() {
                return Err(Error::InvalidState("wait: no post epoch is open".into()));
            }
            self.mpi()
        };
        // Outside the state lock: this rank's own `start`/`complete` (from
        // another thread) must be able to proceed meanwhile.
        match w {
            Some(w) => w.wait(),
            None => Ok(()),
        }
    }

    /// `MPI_Win_test`: like [`wait`](Self::wait) without blocking; whether
    /// the `post` epoch has ended (then it is closed).
    ///
    /// # Errors
    /// [`Error::InvalidState`] without an open `post` epoch.
    pub fn test(&self) -> Result<bool> {
        let mut st = self.state();
        if st.exposure.is_none() {
            return Err(Error::InvalidState("test: no post epoch is open".into()));
        }
        let done = match self.mpi() {
            Some(w) => w.test()?,
            None => true,
        };
        if done {
            st.exposure = None;
        }
        Ok(done)
    }

    /// `MPI_Win_flush` / `MPI_Win_flush_local` on `target`, or on every
    /// rank with `None` (`*_all`). Needs a passive-target epoch.
    ///
    /// # Errors
    /// [`Error::InvalidState`] without a lock covering the target(s).
    pub fn flush(&self, target: Option<usize>, local: bool) -> Result<()> {
        if let Some(t) = target {
            self.target(t)?;
        }
        let st = self.state();
        let ok = st.lock_all || target.map_or(!st.locks.is_empty(), |t| st.locks.contains_key(&t));
        if !ok {
            return Err(Error::InvalidState(format!("flush: needs a lock or lock_all epoch ({})", st.describe())));
        }
        match self.mpi() {
            Some(w) => w.flush(target, local),
            None => Ok(()),
        }
    }

    /// `MPI_Win_sync`. Local.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn sync(&self) -> Result<()> {
        match self.mpi() {
            Some(w) => w.sync(),
            None => Ok(()),
        }
    }

    /// `MPI_Put` of `data` to `target` at byte `offset`.
    ///
    /// # Safety
    /// `data` must stay unchanged until the operation completes (epoch
    /// end, or a flush).
    ///
    /// # Errors
    /// [`Error::Bounds`] / [`Error::InvalidArgument`] for a bad target,
    /// range or alignment; [`Error::InvalidState`] outside an epoch.
    pub unsafe fn put<T: Element>(&self, target: usize, offset: usize, data: &[T]) -> Result<()> {
        let disp = self.access::<T>("put", target, offset, data.len())?;
        match self.mpi() {
            // SAFETY: checked range, open epoch; buffer lifetime per contract.
            Some(w) if !data.is_empty() => unsafe { w.put(data, target, disp) },
            Some(_) => Ok(()),
            None => {
                let n = std::mem::size_of_val(data);
                // SAFETY: `n` bytes checked against the window.
                self.local(offset, n, |p| unsafe { std::ptr::copy_nonoverlapping(data.as_ptr().cast(), p, n) });
                Ok(())
            }
        }
    }

    /// `MPI_Get` from `target` at byte `offset` into `out`.
    ///
    /// # Safety
    /// `out` must not be read or written until the operation completes.
    ///
    /// # Errors
    /// As for [`put`](Self::put).
    pub unsafe fn get<T: Element>(&self, target: usize, offset: usize, out: &mut [T]) -> Result<()> {
        let disp = self.access::<T>("get", target, offset, out.len())?;
        match self.mpi() {
            // SAFETY: as for `put`.
            Some(w) if !out.is_empty() => unsafe { w.get(out, target, disp) },
            Some(_) => Ok(()),
            None => {
                let n = std::mem::size_of_val(out);
                // SAFETY: `n` bytes checked against the window.
                self.local(offset, n, |p| unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr().cast(), n) });
                Ok(())
            }
        }
    }

    /// `MPI_Accumulate`: `target[offset..] = target op data`, element-wise
    /// and atomically per element.
    ///
    /// # Safety
    /// As for [`put`](Self::put).
    ///
    /// # Errors
    /// As for [`put`](Self::put); [`Error::InvalidArgument`] for a bitwise
    /// op on floats.
    pub unsafe fn accumulate<T: Element>(&self, target: usize, offset: usize, data: &[T], op: RmaOp) -> Result<()> {
        op.check_for::<T>()?;
        let disp = self.access::<T>("accumulate", target, offset, data.len())?;
        match self.mpi() {
            // SAFETY: as for `put`.
            Some(w) if !data.is_empty() => unsafe { w.accumulate(data, target, disp, rma_op(op)) },
            Some(_) => Ok(()),
            None => {
                self.local_update(offset, data, None, op);
                Ok(())
            }
        }
    }

    /// `MPI_Get_accumulate`: `result` receives the old values, then
    /// `data` is combined in (`RmaOp::NoOp`: an atomic read).
    ///
    /// # Safety
    /// As for [`put`](Self::put) and [`get`](Self::get).
    ///
    /// # Errors
    /// As for [`accumulate`](Self::accumulate); [`Error::InvalidArgument`]
    /// if `data` and `result` differ in length.
    pub unsafe fn get_accumulate<T: Element>(
        &self,
        target: usize,
        offset: usize,
        data: &[T],
        result: &mut [T],
        op: RmaOp,
    ) -> Result<()> {
        if data.len() != result.len() {
            return Err(Error::InvalidArgument(format!(
                "get_accumulate: data has {} elements but result has {}",
                data.len(),
                result.len()
            )));
        }
        op.check_for::<T>()?;
        let disp = self.access::<T>("get_accumulate", target, offset, data.len())?;
        match self.mpi() {
            // SAFETY: as for `put`.
            Some(w) if !data.is_empty() => unsafe { w.get_accumulate(data, result, target, disp, rma_op(op)) },
            Some(_) => Ok(()),
            None => {
                self.local_update(offset, data, Some(result), op);
                Ok(())
            }
        }
    }

    /// `MPI_Fetch_and_op` of one element: `result` receives the old value.
    ///
    /// # Safety
    /// As for [`get_accumulate`](Self::get_accumulate).
    ///
    /// # Errors
    /// As for [`accumulate`](Self::accumulate).
    pub unsafe fn fetch_and_op<T: Element>(
        &self,
        target: usize,
        offset: usize,
        value: &T,
        result: &mut T,
        op: RmaOp,
    ) -> Result<()> {
        op.check_for::<T>()?;
        let disp = self.access::<T>("fetch_and_op", target, offset, 1)?;
        match self.mpi() {
            // SAFETY: as for `put`.
            Some(w) => unsafe { w.fetch_and_op(value, result, target, disp, rma_op(op)) },
            None => {
                self.local_update(offset, std::slice::from_ref(value), Some(std::slice::from_mut(result)), op);
                Ok(())
            }
        }
    }

    /// `MPI_Compare_and_swap` of one element: if the target's value equals
    /// `compare` (bit for bit) it becomes `swap`; `result` receives the
    /// old value.
    ///
    /// # Safety
    /// As for [`get_accumulate`](Self::get_accumulate).
    ///
    /// # Errors
    /// As for [`put`](Self::put).
    pub unsafe fn compare_and_swap<T: Element>(
        &self,
        target: usize,
        offset: usize,
        compare: &T,
        swap: &T,
        result: &mut T,
    ) -> Result<()> {
        if self.inner.no_cas8 && std::mem::size_of::<T>() == 8 {
            return Err(Error::NotSupported(format!(
                "compare_and_swap of {} on a window over caller memory: Open MPI 4.1's osc/rdma crashes on \
                 8-byte MPI_Compare_and_swap; use a window from Window(ctx, size=...) (MPI-allocated), \
                 a 4-byte dtype, or Open MPI 5",
                T::DTYPE
            )));
        }
        let disp = self.access::<T>("compare_and_swap", target, offset, 1)?;
        match self.mpi() {
            // SAFETY: as for `put`.
            Some(w) => unsafe { w.compare_and_swap(swap, compare, result, target, disp) },
            None => {
                let n = std::mem::size_of::<T>();
                self.local(offset, n, |p| {
                    // SAFETY: `n` bytes checked against the window and aligned.
                    let cell = p.cast::<T>();
                    let old = unsafe { cell.read() };
                    *result = old;
                    if old.order_key() == compare.order_key() && old.is_nan() == compare.is_nan() {
                        // SAFETY: as above.
                        unsafe { cell.write(*swap) };
                    }
                });
                Ok(())
            }
        }
    }

    /// The local backend's accumulate: old values to `result`, then
    /// `old op data`.
    fn local_update<T: Element>(&self, offset: usize, data: &[T], result: Option<&mut [T]>, op: RmaOp) {
        let n = std::mem::size_of_val(data);
        self.local(offset, n, |p| {
            let cells = p.cast::<T>();
            let mut result = result;
            for (i, &v) in data.iter().enumerate() {
                // SAFETY: `n` bytes checked against the window and aligned.
                let old = unsafe { cells.add(i).read() };
                if let Some(r) = result.as_deref_mut() {
                    r[i] = old;
                }
                // SAFETY: as above.
                unsafe { cells.add(i).write(op.combine(old, v)) };
            }
        });
    }

    /// `MPI_Win_free`. **Collective**. A second call is a no-op.
    ///
    /// # Errors
    /// [`Error::InvalidState`] while this rank has epochs open (the
    /// window is not freed); [`Error::Communication`] from MPI.
    pub fn free(&self) -> Result<()> {
        let mut st = self.state();
        if st.freed {
            return Ok(());
        }
        if st.lock_all || !st.locks.is_empty() || st.access.is_some() || st.exposure.is_some() {
            return Err(Error::InvalidState(format!("free: close the open epochs first ({})", st.describe())));
        }
        st.freed = true;
        if let Backend::Mpi(w) = &self.inner.backend {
            w.free_in_place()?;
        }
        Ok(())
    }
}

/// Whether this MPI library is Open MPI 4.x, whose `osc/rdma` component
/// (the one serving `MPI_Win_create` windows) segfaults on 8-byte
/// `MPI_Compare_and_swap` over its `vader` shared-memory transport, in
/// every synchronisation mode (reproduced with mpi4py; 4-byte CAS and
/// every other operation work).
fn cas8_crashes() -> bool {
    let v = mpi::environment::library_version().unwrap_or_default();
    v.contains("Open MPI v4.")
}

/// The deferred operations of an access epoch: buffers stay borrowed for
/// the epoch (`'w`), results are valid once it ends. `$fixed` is the
/// epoch's one target, if any.
macro_rules! deferred_ops {
    () => {
        /// `MPI_Put` of `data` at byte `offset` of `target`'s window;
        /// complete when the epoch ends.
        ///
        /// # Errors
        /// [`Error::Bounds`] for a target outside the epoch's or a range
        /// outside the window; [`Error::InvalidArgument`] for a misaligned
        /// offset.
        pub fn put<T: Element>(&self, target: usize, offset: usize, data: &'w [T]) -> Result<()> {
            self.covers(target)?;
            // SAFETY: `data` stays borrowed until the epoch ends.
            unsafe { self.win.dynamic().put(target, offset, data) }
        }

        /// `MPI_Get` into `out` from byte `offset` of `target`'s window;
        /// `out` is filled when the epoch ends.
        ///
        /// # Errors
        /// As for `put`.
        pub fn get<T: Element>(&self, target: usize, offset: usize, out: &'w mut [T]) -> Result<()> {
            self.covers(target)?;
            // SAFETY: `out` stays borrowed until the epoch ends.
            unsafe { self.win.dynamic().get(target, offset, out) }
        }

        /// `MPI_Accumulate` of `data` with `op`.
        ///
        /// # Errors
        /// As for `put`; bitwise ops on floats are [`Error::InvalidArgument`].
        pub fn accumulate<T: Element>(&self, target: usize, offset: usize, data: &'w [T], op: RmaOp) -> Result<()> {
            self.covers(target)?;
            // SAFETY: `data` stays borrowed until the epoch ends.
            unsafe { self.win.dynamic().accumulate(target, offset, data, op) }
        }

        /// `MPI_Get_accumulate`: `result` gets the old values when the
        /// epoch ends.
        ///
        /// # Errors
        /// As for `accumulate`.
        pub fn get_accumulate<T: Element>(
            &self,
            target: usize,
            offset: usize,
            data: &'w [T],
            result: &'w mut [T],
            op: RmaOp,
        ) -> Result<()> {
            self.covers(target)?;
            // SAFETY: both buffers stay borrowed until the epoch ends.
            unsafe { self.win.dynamic().get_accumulate(target, offset, data, result, op) }
        }

        /// `MPI_Fetch_and_op` of one element; `result` is set when the
        /// epoch ends.
        ///
        /// # Errors
        /// As for `accumulate`.
        pub fn fetch_and_op<T: Element>(
            &self,
            target: usize,
            offset: usize,
            value: &'w T,
            result: &'w mut T,
            op: RmaOp,
        ) -> Result<()> {
            self.covers(target)?;
            // SAFETY: both stay borrowed until the epoch ends.
            unsafe { self.win.dynamic().fetch_and_op(target, offset, value, result, op) }
        }

        /// `MPI_Compare_and_swap` of one element; `result` is set when the
        /// epoch ends.
        ///
        /// # Errors
        /// As for `put`.
        pub fn compare_and_swap<T: Element>(
            &self,
            target: usize,
            offset: usize,
            compare: &'w T,
            swap: &'w T,
            result: &'w mut T,
        ) -> Result<()> {
            self.covers(target)?;
            // SAFETY: all stay borrowed until the epoch ends.
            unsafe { self.win.dynamic().compare_and_swap(target, offset, compare, swap, result) }
        }
    };
}

/// The completed-at-once operations of passive-target epochs (each ends
/// with `MPI_Win_flush_local` on its target).
macro_rules! immediate_ops {
    () => {
        /// `MPI_Get` + `MPI_Win_flush_local`: the `count` elements at byte
        /// `offset` of `target`'s window.
        ///
        /// # Errors
        /// As for `put`.
        pub fn get_now<T: Element>(&self, target: usize, offset: usize, count: usize) -> Result<Vec<T>> {
            self.covers(target)?;
            let mut out = vec![T::ZERO; count];
            let d = self.win.dynamic();
            // SAFETY: `out` lives until the flush below completes the get.
            unsafe { d.get(target, offset, &mut out)? };
            d.flush(Some(target), true)?;
            Ok(out)
        }

        /// `MPI_Put` + `MPI_Win_flush_local` (`data` is reusable on
        /// return; visible at the target after a flush or the epoch end).
        ///
        /// # Errors
        /// As for `put`.
        pub fn put_now<T: Element>(&self, target: usize, offset: usize, data: &[T]) -> Result<()> {
            self.covers(target)?;
            let d = self.win.dynamic();
            // SAFETY: the flush below completes the put at the origin.
            unsafe { d.put(target, offset, data)? };
            d.flush(Some(target), true)
        }

        /// `MPI_Accumulate` + `MPI_Win_flush_local`.
        ///
        /// # Errors
        /// As for `accumulate`.
        pub fn accumulate_now<T: Element>(&self, target: usize, offset: usize, data: &[T], op: RmaOp) -> Result<()> {
            self.covers(target)?;
            let d = self.win.dynamic();
            // SAFETY: the flush below completes the operation at the origin.
            unsafe { d.accumulate(target, offset, data, op)? };
            d.flush(Some(target), true)
        }

        /// `MPI_Get_accumulate` + flush: the old values.
        ///
        /// # Errors
        /// As for `accumulate`.
        pub fn get_accumulate_now<T: Element>(
            &self,
            target: usize,
            offset: usize,
            data: &[T],
            op: RmaOp,
        ) -> Result<Vec<T>> {
            self.covers(target)?;
            let mut out = vec![T::ZERO; data.len()];
            let d = self.win.dynamic();
            // SAFETY: the flush below completes the operation.
            unsafe { d.get_accumulate(target, offset, data, &mut out, op)? };
            d.flush(Some(target), true)?;
            Ok(out)
        }

        /// `MPI_Fetch_and_op` + flush: the old value.
        ///
        /// # Errors
        /// As for `accumulate`.
        pub fn fetch_and_op_now<T: Element>(&self, target: usize, offset: usize, value: T, op: RmaOp) -> Result<T> {
            self.covers(target)?;
            let mut old = T::ZERO;
            let d = self.win.dynamic();
            // SAFETY: the flush below completes the operation.
            unsafe { d.fetch_and_op(target, offset, &value, &mut old, op)? };
            d.flush(Some(target), true)?;
            Ok(old)
        }

        /// `MPI_Compare_and_swap` + flush: the old value.
        ///
        /// # Errors
        /// As for `put`.
        pub fn compare_and_swap_now<T: Element>(&self, target: usize, offset: usize, compare: T, swap: T) -> Result<T> {
            self.covers(target)?;
            let mut old = T::ZERO;
            let d = self.win.dynamic();
            // SAFETY: the flush below completes the operation.
            unsafe { d.compare_and_swap(target, offset, &compare, &swap, &mut old)? };
            d.flush(Some(target), true)?;
            Ok(old)
        }

        /// `MPI_Win_flush` on `target`: its operations are complete at the
        /// target too.
        ///
        /// # Errors
        /// As for `put`.
        pub fn flush(&self, target: usize) -> Result<()> {
            self.covers(target)?;
            self.win.dynamic().flush(Some(target), false)
        }

        /// `MPI_Win_flush_local` on `target`: origin buffers are reusable.
        ///
        /// # Errors
        /// As for `put`.
        pub fn flush_local(&self, target: usize) -> Result<()> {
            self.covers(target)?;
            self.win.dynamic().flush(Some(target), true)
        }
    };
}

/// A passive-target epoch on one target ([`Window::lock`]); unlocks on
/// drop (errors then ignored: call [`unlock`](Self::unlock) to see them).
#[derive(Debug)]
pub struct LockEpoch<'w, 'a> {
    win: &'w Window<'a>,
    target: usize,
    open: bool,
}

impl<'w> LockEpoch<'w, '_> {
    fn covers(&self, target: usize) -> Result<()> {
        if target != self.target {
            return Err(Error::Bounds(format!("this epoch locks rank {} only, got target {target}", self.target)));
        }
        Ok(())
    }

    /// The locked rank.
    pub fn target(&self) -> usize {
        self.target
    }

    deferred_ops!();
    immediate_ops!();

    /// `MPI_Win_unlock`: completes every operation of the epoch.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn unlock(mut self) -> Result<()> {
        self.open = false;
        self.win.dynamic().unlock(self.target)
    }
}

impl Drop for LockEpoch<'_, '_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.win.dynamic().unlock(self.target);
        }
    }
}

/// A shared passive-target epoch on every rank ([`Window::lock_all`]);
/// unlocks on drop.
#[derive(Debug)]
pub struct LockAllEpoch<'w, 'a> {
    win: &'w Window<'a>,
    open: bool,
}

impl<'w> LockAllEpoch<'w, '_> {
    fn covers(&self, target: usize) -> Result<()> {
        self.win.dynamic().target(target)
    }

    deferred_ops!();
    immediate_ops!();

    /// `MPI_Win_flush_all`.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn flush_all(&self) -> Result<()> {
        self.win.dynamic().flush(None, false)
    }

    /// `MPI_Win_flush_local_all`.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn flush_local_all(&self) -> Result<()> {
        self.win.dynamic().flush(None, true)
    }

    /// `MPI_Win_unlock_all`: completes every operation of the epoch.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn unlock_all(mut self) -> Result<()> {
        self.open = false;
        self.win.dynamic().unlock_all()
    }
}

impl Drop for LockAllEpoch<'_, '_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.win.dynamic().unlock_all();
        }
    }
}

/// An active-target epoch opened by a fence ([`Window::fence`]). The next
/// fence ends it; dropping it without one leaves MPI's fence epoch open
/// (no collective call runs in a destructor).
#[derive(Debug)]
pub struct FenceEpoch<'w, 'a> {
    win: &'w Window<'a>,
}

impl<'w, 'a> FenceEpoch<'w, 'a> {
    fn covers(&self, target: usize) -> Result<()> {
        self.win.dynamic().target(target)
    }

    deferred_ops!();

    /// `MPI_Win_fence`: completes this epoch's operations everywhere and
    /// opens the next. **Collective**.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn fence(self) -> Result<FenceEpoch<'w, 'a>> {
        self.win.dynamic().fence(false)?;
        Ok(FenceEpoch { win: self.win })
    }

    /// `MPI_Win_fence(MPI_MODE_NOSUCCEED)`: completes this epoch's
    /// operations and opens none. **Collective**.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn end(self) -> Result<()> {
        self.win.dynamic().fence(true)
    }
}

/// A PSCW access epoch ([`Window::start`]); completes on drop.
#[derive(Debug)]
pub struct AccessEpoch<'w, 'a> {
    win: &'w Window<'a>,
    open: bool,
}

impl<'w> AccessEpoch<'w, '_> {
    fn covers(&self, target: usize) -> Result<()> {
        self.win.dynamic().target(target)
    }

    deferred_ops!();

    /// `MPI_Win_complete`: completes the epoch's operations at the origin.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn complete(mut self) -> Result<()> {
        self.open = false;
        self.win.dynamic().complete()
    }
}

impl Drop for AccessEpoch<'_, '_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.win.dynamic().complete();
        }
    }
}

/// A PSCW exposure epoch ([`Window::post`]); waits on drop.
#[derive(Debug)]
pub struct ExposureEpoch<'w, 'a> {
    win: &'w Window<'a>,
    open: bool,
}

impl ExposureEpoch<'_, '_> {
    /// `MPI_Win_wait`: returns once every origin in the group completed.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn wait(mut self) -> Result<()> {
        self.open = false;
        self.win.dynamic().wait()
    }

    /// `MPI_Win_test`: `Ok(None)` once the epoch has ended, otherwise the
    /// epoch back.
    ///
    /// # Errors
    /// [`Error::Communication`] from MPI.
    pub fn test(mut self) -> Result<Option<Self>> {
        if self.win.dynamic().test()? {
            self.open = false;
            Ok(None)
        } else {
            Ok(Some(self))
        }
    }
}

impl Drop for ExposureEpoch<'_, '_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.win.dynamic().wait();
        }
    }
}
