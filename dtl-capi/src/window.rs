//! `dtl_window_t`: MPI RMA windows (see dtl_core::rma), on the run-time
//! checked interface `Window::dynamic()`.
//!
//! Decisions (the doc comments below are what C users read):
//!
//! * Buffers are the caller's. An operation hands MPI a pointer and
//!   returns; MPI may read or write the buffer until the operation
//!   completes (the epoch's end, or a flush in passive-target epochs), as
//!   in MPI itself. Rust only forms slices over the buffers for the duration
//!   of the call, so nothing in dtl aliases them afterwards.
//! * The collective calls that the core runs without an agreement step
//!   (window creation, fence, destroy) get one here (`agree_or_reject`, one
//!   small `MPI_Allreduce`), so that an error on one rank (an open lock, a
//!   NULL out) is returned on every rank instead of leaving the others in
//!   `MPI_Win_fence` / `MPI_Win_free`.
//! * `dtl_window_destroy` refuses (on every rank) while a rank has lock,
//!   lock_all, start or post epochs open; the handle then stays valid.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use dtl_core::rma::{LockMode, RmaOp, Window};
use dtl_core::{dispatch_dtype, Context, Element, Error, Result};

use crate::context::{context_arg, dtl_context_t, null_out, reject_collectively};
use crate::error::guard;
use crate::handle::{destroy_handle, handle_ref, new_handle, out_ptr, Handle};
use crate::types::{dtl_dtype_code, dtl_status, parse_dtype, size_arg};

/// Combining operation of dtl_window_accumulate(),
/// dtl_window_get_accumulate() and dtl_window_fetch_and_op() (MPI's
/// predefined operations allowed in RMA). Functions take it as an int32_t
/// (the dtl_rma_op typedef); other codes are rejected with
/// DTL_ERROR_INVALID_ARGUMENT. The codes of SUM .. MAX and BAND .. BXOR are
/// those of dtl_op, so DTL_OP_SUM etc. may be passed too; the logical ops
/// (codes 4..6) do not exist in MPI RMA. Results are element-wise and
/// atomic per element.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_rma_op {
    /// target = target + origin (MPI_SUM; wrapping for integers).
    Sum = 0,
    /// target = target * origin (MPI_PROD).
    Prod = 1,
    /// target = min(target, origin) (MPI_MIN).
    Min = 2,
    /// target = max(target, origin) (MPI_MAX).
    Max = 3,
    /// Bitwise and (MPI_BAND; integer dtypes only).
    Band = 7,
    /// Bitwise or (MPI_BOR; integer dtypes only).
    Bor = 8,
    /// Bitwise exclusive or (MPI_BXOR; integer dtypes only).
    Bxor = 9,
    /// target = origin (MPI_REPLACE): an atomic put.
    Replace = 10,
    /// target unchanged (MPI_NO_OP): with dtl_window_get_accumulate() and
    /// dtl_window_fetch_and_op() an atomic get. Not valid in
    /// dtl_window_accumulate().
    NoOp = 11,
}

/// Lock type of dtl_window_lock(). Functions take it as an int32_t (the
/// dtl_lock_mode typedef); other codes are rejected with
/// DTL_ERROR_INVALID_ARGUMENT.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_lock_mode {
    /// No other origin holds a lock on the target meanwhile
    /// (MPI_LOCK_EXCLUSIVE).
    Exclusive = 0,
    /// Other origins may hold shared locks on the target too
    /// (MPI_LOCK_SHARED); concurrent updates should then use the atomic
    /// operations (accumulate, get_accumulate, fetch_and_op,
    /// compare_and_swap).
    Shared = 1,
}

/// A `dtl_rma_op` as it crosses the ABI (see `dtl_dtype_code`); spelled
/// `dtl_rma_op` in dtl.h.
pub type dtl_rma_op_code = i32;

/// A `dtl_lock_mode` as it crosses the ABI; spelled `dtl_lock_mode` in dtl.h.
pub type dtl_lock_mode_code = i32;

// The C codes are dtl-core's codes.
const _: () = {
    assert!(dtl_rma_op::Sum as i32 == RmaOp::Sum as i32);
    assert!(dtl_rma_op::Prod as i32 == RmaOp::Prod as i32);
    assert!(dtl_rma_op::Min as i32 == RmaOp::Min as i32);
    assert!(dtl_rma_op::Max as i32 == RmaOp::Max as i32);
    assert!(dtl_rma_op::Band as i32 == RmaOp::BAnd as i32);
    assert!(dtl_rma_op::Bor as i32 == RmaOp::BOr as i32);
    assert!(dtl_rma_op::Bxor as i32 == RmaOp::BXor as i32);
    assert!(dtl_rma_op::Replace as i32 == RmaOp::Replace as i32);
    assert!(dtl_rma_op::NoOp as i32 == RmaOp::NoOp as i32);
};

/// Parses a `dtl_rma_op` code.
fn parse_rma_op(code: dtl_rma_op_code) -> Result<RmaOp> {
    RmaOp::from_code(i64::from(code)).map_err(|_| {
        Error::InvalidArgument(format!(
            "op must be a dtl_rma_op code in 0..=3 or 7..=11 (DTL_RMA_OP_SUM .. DTL_RMA_OP_MAX, \
             DTL_RMA_OP_BAND .. DTL_RMA_OP_NO_OP; the logical ops 4..=6 do not exist in MPI RMA), got {code}"
        ))
    })
}

/// Parses a `dtl_lock_mode` code.
fn parse_lock_mode(code: dtl_lock_mode_code) -> Result<LockMode> {
    match code {
        0 => Ok(LockMode::Exclusive),
        1 => Ok(LockMode::Shared),
        _ => Err(Error::InvalidArgument(format!(
            "mode must be a dtl_lock_mode code: 0 (DTL_LOCK_MODE_EXCLUSIVE) or 1 (DTL_LOCK_MODE_SHARED), got {code}"
        ))),
    }
}

/// Alignment required of the memory of dtl_window_create(): the largest
/// alignment of the ten dtypes, so that every aligned offset is aligned in
/// memory too.
const BASE_ALIGN: usize = 8;

/// Opaque RMA window: bytes of every rank's memory open to one-sided
/// access (put, get, atomics) by the ranks of a context. Create it with
/// dtl_window_allocate() (memory MPI allocates) or dtl_window_create()
/// (memory the caller owns); destroy it with dtl_window_destroy().
///
/// Offsets are in BYTES from the start of the target rank's window (MPI
/// displacement unit 1); counts are in elements of the dtype. Ranks may
/// expose different sizes; every rank's size is exchanged at creation, and
/// each operation is checked before MPI sees it: the target rank
/// (DTL_ERROR_BOUNDS), offset + count * dtype size against the target's
/// window (DTL_ERROR_BOUNDS), the offset's alignment for the dtype
/// (DTL_ERROR_INVALID_ARGUMENT), and an open access epoch covering the
/// target (DTL_ERROR_INVALID_STATE).
///
/// Epochs. Operations need an access epoch, opened and closed by:
/// dtl_window_fence() (collective; every rank may access every rank),
/// dtl_window_lock()/dtl_window_unlock() (one target) and
/// dtl_window_lock_all()/dtl_window_unlock_all() (passive target), and
/// dtl_window_start()/dtl_window_complete() at the origin with
/// dtl_window_post()/dtl_window_wait() at the targets (PSCW).
///
/// Completion and buffers. As in MPI, an operation only starts the
/// transfer: the origin, compare and result buffers belong to MPI until the
/// operation completes. In a fence or start/complete epoch that is the end
/// of the epoch (the next dtl_window_fence(), dtl_window_complete()); under
/// dtl_window_lock()/dtl_window_lock_all() it is dtl_window_unlock(),
/// dtl_window_unlock_all(), or a flush (dtl_window_flush_local() makes the
/// buffers reusable; dtl_window_flush() also completes the operations at
/// the target). Until then, do not modify origin buffers, do not read
/// result buffers, and keep all of them allocated. The same rule holds for
/// this rank's own window memory (dtl_window_base()): do not access it
/// locally while remote operations may update it in the same epoch.
///
/// One rank. Open MPI 4.1 cannot create windows over existing memory on a
/// one-rank communicator, so a window on a one-rank context makes no MPI
/// call: its operations are plain memory operations with the same checks
/// and results, and complete at once.
///
/// A window keeps its context's communicator alive (like a vector): the
/// context handle may be destroyed first, and MPI is not finalized while a
/// window is alive.
pub struct dtl_window {
    tag: u64,
    pub(crate) win: Window<'static>,
    /// Whether this rank's last successful fence opened an epoch (so that
    /// destroy and fence can tell a fence epoch, which does not block them,
    /// from start/post epochs, which do).
    fence_open: AtomicBool,
}

/// Handle to an RMA window (NULL is never a valid window).
pub type dtl_window_t = *mut dtl_window;

impl Handle for dtl_window {
    const TAG: u64 = u64::from_be_bytes(*b"dtl_win!");
    const C_TYPE: &'static str = "dtl_window_t";
    fn tag(&self) -> u64 {
        self.tag
    }
    fn set_tag(&mut self, tag: u64) {
        self.tag = tag;
    }
}

impl dtl_window {
    /// Why this rank cannot take part in a fence or free now: the
    /// passive-target and PSCW epochs it has open (an open fence epoch is
    /// fine for both); `None` if there are none.
    fn blocking_epochs(&self, what: &str) -> Option<Error> {
        let d = self.win.dynamic();
        let n = self.win.context().size();
        let locked: Vec<usize> = (0..n).filter(|&t| d.passive(t)).collect();
        let open = if !locked.is_empty() {
            format!("lock or lock_all epochs on ranks {locked:?}; close them with dtl_window_unlock / dtl_window_unlock_all")
        } else if !self.fence_open.load(Ordering::Relaxed) && d.any_epoch() {
            // A fence epoch excludes start and post, so with none open
            // any_epoch() means a start or post epoch.
            "a start or post epoch; close it with dtl_window_complete / dtl_window_wait".to_string()
        } else {
            return None;
        };
        Some(Error::InvalidState(format!("{what}: this rank has {open}")))
    }
}

/// The window behind a C handle argument `win`.
///
/// # Safety
/// See `handle_ref`.
unsafe fn window_arg<'a>(p: dtl_window_t) -> Result<&'a dtl_window> {
    // SAFETY: forwarded.
    unsafe { handle_ref(p, "win") }
}

/// Runs the agreement step of a collective window call on `ctx`: every rank
/// passes its local verdict; an error on any rank becomes an error on every
/// rank (see `Context::agree_or_reject`).
fn agreed<T>(ctx: &Context, op_name: &str, fields: &[(&str, i64)], local: Result<T>) -> Result<T> {
    match local {
        Ok(v) => ctx.agree_or_reject(op_name, fields, None).map(|()| v),
        Err(e) => Err(reject_collectively(ctx, op_name, fields, e)),
    }
}

/// A window size from the ABI.
fn bytes_arg(bytes: u64) -> Result<usize> {
    let n = size_arg(bytes, "bytes")?;
    if n > isize::MAX as usize {
        return Err(Error::InvalidArgument(format!("bytes = {bytes} exceeds the largest object size, {}", isize::MAX)));
    }
    Ok(n)
}

/// A rank argument: `0..size` of the window's context.
fn rank_arg(w: &Window<'_>, rank: i32, what: &str) -> Result<usize> {
    let n = w.context().size();
    match usize::try_from(rank) {
        Ok(r) if r < n => Ok(r),
        _ => Err(Error::Bounds(format!("{what} must be a rank in 0..{n}, got {rank}"))),
    }
}

/// The ranks of a group argument (`n` int32_t at `p`).
///
/// # Safety
/// `p` must be NULL or point to `n` readable int32_t.
unsafe fn group_arg(w: &Window<'_>, p: *const i32, n: u64) -> Result<Vec<usize>> {
    let n = size_arg(n, "n")?;
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("group is NULL but n is {n}")));
    }
    if !p.is_aligned() {
        return Err(Error::InvalidArgument(format!("group ({p:p}) is not aligned to 4 bytes")));
    }
    if n > isize::MAX as usize / 4 {
        return Err(Error::InvalidArgument(format!("n = {n} is too large")));
    }
    // SAFETY: non-NULL, aligned, `n` elements per the caller's contract.
    let g = unsafe { std::slice::from_raw_parts(p, n) };
    let size = w.context().size();
    g.iter()
        .enumerate()
        .map(|(i, &r)| match usize::try_from(r) {
            Ok(u) if u < size => Ok(u),
            _ => Err(Error::Bounds(format!("group[{i}] = {r} is not a rank in 0..{size}"))),
        })
        .collect()
}

/// A checked access of `count` elements of `T` at byte `offset` of
/// `target`'s window (the core checks the same again, plus alignment and
/// the epoch): (target, offset, count, bytes).
fn access_arg<T: Element>(
    w: &Window<'_>,
    what: &str,
    target: i32,
    offset: u64,
    count: u64,
) -> Result<(usize, usize, usize, usize)> {
    let t = rank_arg(w, target, "target")?;
    let size = w.size_of(t)?;
    let elem = std::mem::size_of::<T>();
    let fits = usize::try_from(offset).ok().zip(usize::try_from(count).ok()).and_then(|(o, c)| {
        let bytes = c.checked_mul(elem)?;
        (o.checked_add(bytes)? <= size).then_some((o, c, bytes))
    });
    let (o, c, bytes) = fits.ok_or_else(|| {
        Error::Bounds(format!(
            "{what}: offset {offset} + {count} x {elem}-byte {} exceeds rank {t}'s window of {size} bytes",
            T::DTYPE
        ))
    })?;
    Ok((t, o, c, bytes))
}

/// Checks a caller buffer of `n` elements of `T`: non-NULL unless `n` is
/// 0, and aligned. `n * size_of::<T>()` is known to fit a window.
fn check_buffer<T: Element>(p: *const c_void, n: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(Error::InvalidArgument(format!(
            "{what} is NULL but {n} element{} of {} are needed",
            if n == 1 { "" } else { "s" },
            T::DTYPE
        )));
    }
    if !p.cast::<T>().is_aligned() {
        return Err(Error::InvalidArgument(format!(
            "{what} ({p:p}) is not aligned to {} bytes, as {} elements must be",
            std::mem::align_of::<T>(),
            T::DTYPE
        )));
    }
    Ok(())
}

/// Whether the byte ranges `[a, a + la)` and `[b, b + lb)` overlap.
fn overlap(a: *const c_void, la: usize, b: *const c_void, lb: usize) -> bool {
    let (a, b) = (a as usize, b as usize);
    la > 0 && lb > 0 && a < b.saturating_add(lb) && b < a.saturating_add(la)
}

/// Rejects buffers that overlap each other where MPI requires them
/// disjoint, or that overlap the target range when the target is this
/// rank's own window.
fn check_disjoint(
    w: &Window<'_>,
    target: usize,
    offset: usize,
    bytes: usize,
    bufs: &[(*const c_void, &str)],
    disjoint_pairs: &[(usize, usize)],
) -> Result<()> {
    for &(i, j) in disjoint_pairs {
        let ((a, na), (b, nb)) = (bufs[i], bufs[j]);
        if overlap(a, bytes, b, bytes) {
            return Err(Error::InvalidArgument(format!("{na} and {nb} overlap; MPI requires them to be disjoint")));
        }
    }
    if target == w.context().rank() {
        let win = (w.base() + offset) as *const c_void;
        for &(p, name) in bufs {
            if overlap(p, bytes, win, bytes) {
                return Err(Error::InvalidArgument(format!(
                    "{name} overlaps the bytes {offset}..{} of this rank's own window that the operation accesses",
                    offset + bytes
                )));
            }
        }
    }
    Ok(())
}

/// `count` elements of `T` at `p` (an empty slice when `count` is 0).
///
/// # Safety
/// Checked by `check_buffer`; `count` readable elements at `p`.
unsafe fn in_slice<'a, T>(p: *const c_void, count: usize) -> &'a [T] {
    if count == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(p.cast::<T>(), count) }
}

/// As `in_slice`, writable.
///
/// # Safety
/// Checked by `check_buffer`; `count` writable elements at `p`, not
/// aliased by another argument.
unsafe fn out_slice<'a, T>(p: *mut c_void, count: usize) -> &'a mut [T] {
    if count == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts_mut(p.cast::<T>(), count) }
}

/// Eight zero bytes, aligned for every dtype (no dtype is larger or more
/// aligned than u64): the origin of a dtl_window_fetch_and_op() with
/// DTL_RMA_OP_NO_OP and a NULL origin (MPI ignores it; a static outlives
/// any epoch).
static ZERO: u64 = 0;

fn new_window(win: Window<'static>) -> dtl_window_t {
    new_handle(dtl_window { tag: dtl_window::TAG, win, fence_open: AtomicBool::new(false) })
}

/// Creates a window over bytes zero-initialized bytes that MPI allocates on
/// this rank (MPI_Win_allocate, or MPI_Win_allocate_shared when all ranks
/// share a node), then exchanges every rank's size (MPI_Allgather). Ranks
/// may pass different sizes, including 0. The memory is freed with the
/// window; dtl_window_base() gives its address (aligned to at least 8
/// bytes).
///
/// Collective over ctx: one small MPI_Allreduce first checks that every rank
/// is ready (unless the size is 1). Units: bytes.
///
/// On success *out is the new window; on failure *out is set to NULL.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL out or bytes over PTRDIFF_MAX (then every rank
/// returns DTL_ERROR_INVALID_ARGUMENT); DTL_ERROR_MISMATCH if some ranks
/// call dtl_window_create() meanwhile; DTL_ERROR_MEMORY if a one-rank
/// window cannot be allocated; DTL_ERROR_COMMUNICATION if MPI cannot create
/// the window.
///
/// # Safety
/// out must be NULL or point to writable storage for a dtl_window_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_allocate(ctx: dtl_context_t, bytes: u64, out: *mut dtl_window_t) -> dtl_status {
    guard("dtl_window_allocate", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }.map(null_out);
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let local = out.and_then(|o| {
            let n = bytes_arg(bytes)?;
            if c.size() == 1 {
                // The one-rank window is a Rust allocation, whose failure
                // would abort: try it first.
                Vec::<u64>::new()
                    .try_reserve_exact(n.div_ceil(8))
                    .map_err(|_| Error::Memory(format!("cannot allocate a window of {bytes} bytes")))?;
            }
            Ok((o, n))
        });
        let (out, n) = agreed(c, "window creation", &[("kind (0 allocate, 1 create)", 0)], local)?;
        *out = new_window(Window::allocate(c, n)?);
        Ok(())
    })
}

/// Creates a window over bytes bytes of memory the caller owns, starting at
/// base (MPI_Win_create with displacement unit 1), then exchanges every
/// rank's size (MPI_Allgather). Ranks may pass different sizes, including
/// 0 (base may then be NULL). The memory keeps its contents; remote
/// operations read and write it in place.
///
/// Collective over ctx: one small MPI_Allreduce first checks that every rank
/// is ready (unless the size is 1). Units: bytes.
///
/// On success *out is the new window; on failure *out is set to NULL.
///
/// Open MPI 4.1 crashes on 8-byte MPI_Compare_and_swap over windows made by
/// MPI_Win_create (osc/rdma), so with Open MPI 4.x and more than one rank,
/// dtl_window_compare_and_swap() of an 8-byte dtype on such a window
/// returns DTL_ERROR_NOT_SUPPORTED; use dtl_window_allocate() for 8-byte
/// compare-and-swap.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid ctx (at once, without
/// communication), a NULL out, a NULL base with bytes > 0, a base not
/// aligned to 8 bytes (as malloc's memory is; needed so that every aligned
/// offset is aligned for its dtype), or bytes over PTRDIFF_MAX (then every
/// rank returns DTL_ERROR_INVALID_ARGUMENT); DTL_ERROR_MISMATCH if some
/// ranks call dtl_window_allocate() meanwhile; DTL_ERROR_COMMUNICATION if
/// MPI cannot create the window.
///
/// # Safety
/// base must point to bytes bytes of readable and writable memory that stays
/// allocated, and is not freed or reused for anything else, until
/// dtl_window_destroy() has returned successfully; local accesses to it
/// follow the epoch rules of dtl_window_t. out must be NULL or point to
/// writable storage for a dtl_window_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_create(
    ctx: dtl_context_t,
    base: *mut c_void,
    bytes: u64,
    out: *mut dtl_window_t,
) -> dtl_status {
    guard("dtl_window_create", || {
        // SAFETY: caller's contract.
        let out = unsafe { out_ptr(out, "out") }.map(null_out);
        // SAFETY: caller's contract.
        let c = unsafe { context_arg(ctx, "ctx") }?;
        let local = out.and_then(|o| {
            let n = bytes_arg(bytes)?;
            if n > 0 && base.is_null() {
                return Err(Error::InvalidArgument(format!("base is NULL but bytes is {n}")));
            }
            if n > 0 && base as usize % BASE_ALIGN != 0 {
                return Err(Error::InvalidArgument(format!(
                    "base ({base:p}) is not aligned to {BASE_ALIGN} bytes (as memory from malloc is), \
                     so offsets aligned for a dtype could be misaligned in memory"
                )));
            }
            Ok((o, n))
        });
        let (out, n) = agreed(c, "window creation", &[("kind (0 allocate, 1 create)", 1)], local)?;
        // An empty window gets a dangling, aligned base rather than NULL
        // (never dereferenced: every access is checked against 0 bytes).
        let base = if n == 0 { ptr::NonNull::<u64>::dangling().as_ptr().cast() } else { base.cast::<u8>() };
        // SAFETY: the caller keeps the memory alive and unaliased by Rust
        // until the window is destroyed.
        *out = new_window(unsafe { Window::from_raw_parts(c, base, n) }?);
        Ok(())
    })
}

/// Frees the window (MPI_Win_free) and destroys the handle. The memory of
/// a dtl_window_allocate() window is freed; that of a dtl_window_create()
/// window is the caller's again once this returns DTL_SUCCESS. If the window
/// held the last reference to its communicator, the communicator is freed;
/// if it was the last dtl object and there is no dtl_init() hold, MPI is
/// finalized when dtl initialized it.
///
/// Every rank must first close its lock, lock_all, start and post epochs
/// (an open fence epoch is fine, after a dtl_window_fence() that completed
/// the last operations). If some rank has not, no rank frees the window:
/// every rank returns DTL_ERROR_INVALID_STATE and the handle stays valid, so
/// the program can close the epochs and call dtl_window_destroy() again.
///
/// Collective over the window's context: one small MPI_Allreduce (unless
/// the size is 1), then MPI_Win_free, which synchronizes the ranks.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT if win is NULL, not a window, or
/// already destroyed (at once, without communication; a double destroy is
/// detected and harmless); DTL_ERROR_INVALID_STATE if epochs are open on
/// some rank (see above); DTL_ERROR_COMMUNICATION if MPI_Win_free fails.
///
/// # Safety
/// No other thread may use win during or after this call; pointers from
/// dtl_window_base() become invalid (allocated windows).
#[no_mangle]
pub unsafe extern "C" fn dtl_window_destroy(win: dtl_window_t) -> dtl_status {
    guard("dtl_window_destroy", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let local = h.blocking_epochs("dtl_window_destroy").map_or(Ok(()), Err);
        agreed(h.win.context(), "window destroy", &[], local)?;
        h.win.dynamic().free()?;
        // SAFETY: caller's contract; the window is freed, so dropping it
        // makes no MPI call on the window.
        unsafe { destroy_handle(win, "win") }
    })
}

/// Writes the size of this rank's window to *bytes.
///
/// Not collective; no communication. Units: bytes.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win or a NULL bytes.
///
/// # Safety
/// bytes must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_size(win: dtl_window_t, bytes: *mut u64) -> dtl_status {
    guard("dtl_window_size", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        // SAFETY: caller's contract.
        *unsafe { out_ptr(bytes, "bytes") }? = h.win.size() as u64;
        Ok(())
    })
}

/// Writes the size of rank rank's window to *bytes (the sizes are
/// exchanged at creation).
///
/// Not collective; no communication. Units: bytes.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win or a NULL bytes;
/// DTL_ERROR_BOUNDS if rank is not in 0 .. size-1 of the context.
///
/// # Safety
/// bytes must be NULL or point to a writable uint64_t.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_size_of(win: dtl_window_t, rank: i32, bytes: *mut u64) -> dtl_status {
    guard("dtl_window_size_of", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        // SAFETY: caller's contract.
        let bytes = unsafe { out_ptr(bytes, "bytes") }?;
        *bytes = h.win.size_of(rank_arg(&h.win, rank, "rank")?)? as u64;
        Ok(())
    })
}

/// Writes the address of this rank's window memory to *base: the memory
/// MPI allocated (dtl_window_allocate()) or the caller's base
/// (dtl_window_create()); NULL when this rank's window has 0 bytes. Local
/// loads and stores through it must follow the epoch rules of dtl_window_t
/// (e.g. read it after the fence that completes the remote puts, or inside
/// dtl_window_lock() of this rank followed by dtl_window_sync()). Valid
/// until the window is destroyed.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win or a NULL base.
///
/// # Safety
/// base must be NULL or point to a writable void*.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_base(win: dtl_window_t, base: *mut *mut c_void) -> dtl_status {
    guard("dtl_window_base", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        // SAFETY: caller's contract.
        let base = unsafe { out_ptr(base, "base") }?;
        *base = if h.win.size() == 0 { ptr::null_mut() } else { h.win.base() as *mut c_void };
        Ok(())
    })
}

/// Synchronizes RMA on the window (MPI_Win_fence): completes every
/// operation of the current fence epoch, at origins and targets, and opens
/// the next one, in which every rank may access every rank. The first fence
/// opens the first epoch. With last != 0 (MPI_MODE_NOSUCCEED) it opens none:
/// use it after the last fence epoch, before locks or PSCW epochs. Buffers
/// of the completed epoch's operations are the caller's again on return.
///
/// Collective over the window's context: every rank must pass the same last
/// (0 or not); one small MPI_Allreduce first checks that (unless the size
/// is 1), so that a rank that cannot fence makes every rank return an error
/// instead of waiting in MPI_Win_fence.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win (at once, without
/// communication); DTL_ERROR_INVALID_STATE, on every rank, if some rank has
/// lock, lock_all, start or post epochs open; DTL_ERROR_MISMATCH if ranks
/// pass different last; DTL_ERROR_COMMUNICATION if MPI_Win_fence fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_fence(win: dtl_window_t, last: i32) -> dtl_status {
    guard("dtl_window_fence", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let last = last != 0;
        let local = h.blocking_epochs("dtl_window_fence").map_or(Ok(()), Err);
        agreed(h.win.context(), "window fence", &[("last", i64::from(last))], local)?;
        h.win.dynamic().fence(last)?;
        h.fence_open.store(!last, Ordering::Relaxed);
        Ok(())
    })
}

/// Opens a passive-target access epoch on target (MPI_Win_lock): this rank
/// may then access target's window until dtl_window_unlock(win, target).
/// mode is DTL_LOCK_MODE_EXCLUSIVE or DTL_LOCK_MODE_SHARED. Operations in
/// the epoch complete at dtl_window_unlock() or a flush.
///
/// Not collective (passive target: target makes no call). May wait while
/// another rank holds a conflicting lock (Open MPI may also defer the wait
/// to the first operation or the unlock).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win or a mode other
/// than DTL_LOCK_MODE_EXCLUSIVE (0) or DTL_LOCK_MODE_SHARED (1);
/// DTL_ERROR_BOUNDS if target is not in 0 .. size-1; DTL_ERROR_INVALID_STATE
/// if this rank already locks target or holds dtl_window_lock_all();
/// DTL_ERROR_COMMUNICATION if MPI_Win_lock fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_lock(win: dtl_window_t, target: i32, mode: dtl_lock_mode_code) -> dtl_status {
    guard("dtl_window_lock", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let mode = parse_lock_mode(mode)?;
        h.win.dynamic().lock(rank_arg(&h.win, target, "target")?, mode)
    })
}

/// Closes the passive-target epoch on target (MPI_Win_unlock): every
/// operation this rank issued to target in the epoch is complete, at the
/// origin and at the target; their buffers are the caller's again.
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win; DTL_ERROR_BOUNDS
/// if target is not in 0 .. size-1; DTL_ERROR_INVALID_STATE if this rank
/// holds no dtl_window_lock() on target; DTL_ERROR_COMMUNICATION if
/// MPI_Win_unlock fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_unlock(win: dtl_window_t, target: i32) -> dtl_status {
    guard("dtl_window_unlock", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        h.win.dynamic().unlock(rank_arg(&h.win, target, "target")?)
    })
}

/// Opens a shared passive-target access epoch on every rank
/// (MPI_Win_lock_all), until dtl_window_unlock_all(). Operations complete
/// at dtl_window_unlock_all() or a flush.
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win;
/// DTL_ERROR_INVALID_STATE if this rank already holds locks on the window;
/// DTL_ERROR_COMMUNICATION if MPI_Win_lock_all fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_lock_all(win: dtl_window_t) -> dtl_status {
    guard("dtl_window_lock_all", || {
        // SAFETY: caller's contract.
        unsafe { window_arg(win) }?.win.dynamic().lock_all()
    })
}

/// Closes the dtl_window_lock_all() epoch (MPI_Win_unlock_all): every
/// operation of the epoch is complete at origin and targets.
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win;
/// DTL_ERROR_INVALID_STATE without an open dtl_window_lock_all();
/// DTL_ERROR_COMMUNICATION if MPI_Win_unlock_all fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_unlock_all(win: dtl_window_t) -> dtl_status {
    guard("dtl_window_unlock_all", || {
        // SAFETY: caller's contract.
        unsafe { window_arg(win) }?.win.dynamic().unlock_all()
    })
}

/// Opens a PSCW access epoch to the n ranks listed in group
/// (MPI_Win_start), until dtl_window_complete(). Every rank in group must
/// open a matching exposure epoch with dtl_window_post() naming this rank.
/// Duplicate entries are ignored; n may be 0 (group may then be NULL).
///
/// Not collective; may wait until the ranks in group have posted (Open MPI
/// may defer that wait to the first operation or dtl_window_complete()).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win, or a NULL or
/// misaligned group with n > 0; DTL_ERROR_BOUNDS if an entry of group is
/// not in 0 .. size-1; DTL_ERROR_INVALID_STATE if a start or fence epoch is
/// already open on this rank; DTL_ERROR_COMMUNICATION if MPI fails.
///
/// # Safety
/// group must be NULL or point to n readable int32_t (only read during the
/// call); win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_start(win: dtl_window_t, group: *const i32, n: u64) -> dtl_status {
    guard("dtl_window_start", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        // SAFETY: caller's contract.
        let g = unsafe { group_arg(&h.win, group, n) }?;
        h.win.dynamic().start(&g)
    })
}

/// Closes the dtl_window_start() epoch (MPI_Win_complete): its operations
/// are complete at the origin (buffers are the caller's again); the targets
/// see them once their dtl_window_wait() returns.
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win;
/// DTL_ERROR_INVALID_STATE without an open start epoch;
/// DTL_ERROR_COMMUNICATION if MPI_Win_complete fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_complete(win: dtl_window_t) -> dtl_status {
    guard("dtl_window_complete", || {
        // SAFETY: caller's contract.
        unsafe { window_arg(win) }?.win.dynamic().complete()
    })
}

/// Opens a PSCW exposure epoch (MPI_Win_post): the n ranks listed in group
/// may access this rank's window in their dtl_window_start() epochs, until
/// dtl_window_wait() or a successful dtl_window_test(). Duplicate entries
/// are ignored; n may be 0 (group may then be NULL).
///
/// Not collective; does not wait.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win, or a NULL or
/// misaligned group with n > 0; DTL_ERROR_BOUNDS if an entry of group is
/// not in 0 .. size-1; DTL_ERROR_INVALID_STATE if a post or fence epoch is
/// already open on this rank; DTL_ERROR_COMMUNICATION if MPI fails.
///
/// # Safety
/// group must be NULL or point to n readable int32_t (only read during the
/// call); win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_post(win: dtl_window_t, group: *const i32, n: u64) -> dtl_status {
    guard("dtl_window_post", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        // SAFETY: caller's contract.
        let g = unsafe { group_arg(&h.win, group, n) }?;
        h.win.dynamic().post(&g)
    })
}

/// Closes the dtl_window_post() epoch (MPI_Win_wait): waits until every
/// rank of its group has called dtl_window_complete(); their operations on
/// this rank's window are then complete and visible locally.
///
/// Not collective; blocks until the origins complete.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win;
/// DTL_ERROR_INVALID_STATE without an open post epoch;
/// DTL_ERROR_COMMUNICATION if MPI_Win_wait fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_wait(win: dtl_window_t) -> dtl_status {
    guard("dtl_window_wait", || {
        // SAFETY: caller's contract.
        unsafe { window_arg(win) }?.win.dynamic().wait()
    })
}

/// dtl_window_wait() without blocking (MPI_Win_test): *done is 1 if every
/// origin of the post epoch has completed (the epoch is then closed, as by
/// dtl_window_wait()), 0 if not (the epoch stays open: call it again, or
/// dtl_window_wait()).
///
/// Not collective; does not block.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win or a NULL done;
/// DTL_ERROR_INVALID_STATE without an open post epoch;
/// DTL_ERROR_COMMUNICATION if MPI_Win_test fails.
///
/// # Safety
/// done must be NULL or point to a writable int32_t; win must not be
/// destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_test(win: dtl_window_t, done: *mut i32) -> dtl_status {
    guard("dtl_window_test", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        // SAFETY: caller's contract.
        let done = unsafe { out_ptr(done, "done") }?;
        *done = i32::from(h.win.dynamic().test()?);
        Ok(())
    })
}

/// Shared body of the four flushes.
///
/// # Safety
/// See the flushes.
unsafe fn flush(win: dtl_window_t, target: Option<i32>, local: bool) -> Result<()> {
    // SAFETY: caller's contract.
    let h = unsafe { window_arg(win) }?;
    let t = target.map(|t| rank_arg(&h.win, t, "target")).transpose()?;
    h.win.dynamic().flush(t, local)
}

/// Completes every operation this rank issued to target in the current
/// passive-target epoch, at the origin and at the target (MPI_Win_flush);
/// the epoch stays open. Results are then in the result buffers and origin
/// buffers are reusable.
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win; DTL_ERROR_BOUNDS
/// if target is not in 0 .. size-1; DTL_ERROR_INVALID_STATE unless a
/// dtl_window_lock() of target or dtl_window_lock_all() is open;
/// DTL_ERROR_COMMUNICATION if MPI_Win_flush fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_flush(win: dtl_window_t, target: i32) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_window_flush", || unsafe { flush(win, Some(target), false) })
}

/// Completes every operation this rank issued to target in the current
/// passive-target epoch at the origin only (MPI_Win_flush_local): origin
/// buffers are reusable and results are in the result buffers, but puts and
/// accumulates may not be visible at the target yet.
///
/// Not collective.
///
/// Errors: as dtl_window_flush() (MPI_Win_flush_local).
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_flush_local(win: dtl_window_t, target: i32) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_window_flush_local", || unsafe { flush(win, Some(target), true) })
}

/// dtl_window_flush() to every rank (MPI_Win_flush_all).
///
/// Not collective.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win;
/// DTL_ERROR_INVALID_STATE unless a dtl_window_lock() or
/// dtl_window_lock_all() is open; DTL_ERROR_COMMUNICATION if MPI fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_flush_all(win: dtl_window_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_window_flush_all", || unsafe { flush(win, None, false) })
}

/// dtl_window_flush_local() to every rank (MPI_Win_flush_local_all).
///
/// Not collective.
///
/// Errors: as dtl_window_flush_all() (MPI_Win_flush_local_all).
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_flush_local_all(win: dtl_window_t) -> dtl_status {
    // SAFETY: caller's contract.
    guard("dtl_window_flush_local_all", || unsafe { flush(win, None, true) })
}

/// Synchronizes the public and private copies of this rank's window
/// (MPI_Win_sync), e.g. before reading local memory that remote ranks
/// updated under passive-target locks. Any epoch state.
///
/// Not collective; no communication.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win;
/// DTL_ERROR_COMMUNICATION if MPI_Win_sync fails.
///
/// # Safety
/// win must not be destroyed concurrently.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_sync(win: dtl_window_t) -> dtl_status {
    guard("dtl_window_sync", || {
        // SAFETY: caller's contract.
        unsafe { window_arg(win) }?.win.dynamic().sync()
    })
}

/// Writes count elements of dtype from origin into target's window,
/// starting offset bytes from its start (MPI_Put). The transfer completes
/// at the end of the epoch or at a flush: until then, do not modify origin.
///
/// Not collective; needs an access epoch covering target (fence, lock of
/// target, lock_all, or a start epoch including target). Units: offset in
/// bytes, count in elements (count may be 0; origin may then be NULL).
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win, a dtype code
/// outside 0..9, a NULL or misaligned (for the dtype) origin, an offset that
/// is not a multiple of the dtype's alignment, or an origin overlapping the
/// accessed bytes when target is this rank; DTL_ERROR_BOUNDS if target is
/// not in 0 .. size-1 or offset + count * dtype size exceeds target's
/// window; DTL_ERROR_INVALID_STATE if no epoch covers target;
/// DTL_ERROR_COMMUNICATION if MPI_Put fails.
///
/// # Safety
/// origin must point to count readable elements of dtype that stay
/// allocated and unmodified until the operation completes.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_put(
    win: dtl_window_t,
    origin: *const c_void,
    count: u64,
    dtype: dtl_dtype_code,
    target: i32,
    offset: u64,
) -> dtl_status {
    guard("dtl_window_put", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let w = &h.win;
        dispatch_dtype!(parse_dtype(dtype)?, T => {
            let (t, o, n, bytes) = access_arg::<T>(w, "put", target, offset, count)?;
            check_buffer::<T>(origin, n, "origin")?;
            check_disjoint(w, t, o, bytes, &[(origin, "origin")], &[])?;
            // SAFETY: checked buffer; it stays valid until completion per
            // the caller's contract.
            unsafe { w.dynamic().put(t, o, in_slice::<T>(origin, n)) }
        })
    })
}

/// Reads count elements of dtype from target's window, starting offset
/// bytes from its start, into result (MPI_Get). result is filled when the
/// operation completes (the end of the epoch, or a flush): do not read or
/// modify it before.
///
/// Not collective; needs an access epoch covering target. Units: offset in
/// bytes, count in elements (count may be 0; result may then be NULL).
///
/// Errors: as dtl_window_put(), for result (MPI_Get).
///
/// # Safety
/// result must point to count writable elements of dtype that stay
/// allocated, and are not otherwise accessed, until the operation completes.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_get(
    win: dtl_window_t,
    result: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    target: i32,
    offset: u64,
) -> dtl_status {
    guard("dtl_window_get", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let w = &h.win;
        dispatch_dtype!(parse_dtype(dtype)?, T => {
            let (t, o, n, bytes) = access_arg::<T>(w, "get", target, offset, count)?;
            check_buffer::<T>(result, n, "result")?;
            check_disjoint(w, t, o, bytes, &[(result, "result")], &[])?;
            // SAFETY: checked buffer, valid until completion per the
            // caller's contract.
            unsafe { w.dynamic().get(t, o, out_slice::<T>(result, n)) }
        })
    })
}

/// Combines count elements of dtype from origin into target's window,
/// starting offset bytes from its start: target[i] = target[i] op
/// origin[i], atomically per element with respect to other accumulate-type
/// operations (MPI_Accumulate). op is a dtl_rma_op other than
/// DTL_RMA_OP_NO_OP; DTL_RMA_OP_REPLACE is an atomic put. Completes like
/// dtl_window_put(): do not modify origin until then.
///
/// Not collective; needs an access epoch covering target. Units: offset in
/// bytes, count in elements.
///
/// Errors: as dtl_window_put(), and DTL_ERROR_INVALID_ARGUMENT for an op
/// code that is not a dtl_rma_op, DTL_RMA_OP_NO_OP, or a bitwise op on a
/// float dtype (MPI_Accumulate).
///
/// # Safety
/// As dtl_window_put().
#[no_mangle]
pub unsafe extern "C" fn dtl_window_accumulate(
    win: dtl_window_t,
    origin: *const c_void,
    count: u64,
    dtype: dtl_dtype_code,
    target: i32,
    offset: u64,
    op: dtl_rma_op_code,
) -> dtl_status {
    guard("dtl_window_accumulate", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let w = &h.win;
        let dtype = parse_dtype(dtype)?;
        let op = parse_rma_op(op)?;
        if op == RmaOp::NoOp {
            return Err(Error::InvalidArgument(
                "op DTL_RMA_OP_NO_OP is not valid in accumulate (MPI_Accumulate); use it with \
                 dtl_window_get_accumulate or dtl_window_fetch_and_op"
                    .into(),
            ));
        }
        dispatch_dtype!(dtype, T => {
            let (t, o, n, bytes) = access_arg::<T>(w, "accumulate", target, offset, count)?;
            check_buffer::<T>(origin, n, "origin")?;
            check_disjoint(w, t, o, bytes, &[(origin, "origin")], &[])?;
            // SAFETY: as for dtl_window_put.
            unsafe { w.dynamic().accumulate(t, o, in_slice::<T>(origin, n), op) }
        })
    })
}

/// Atomically, per element, reads count elements of dtype from target's
/// window at byte offset into result and combines origin into them with op
/// (MPI_Get_accumulate): result[i] = old target[i]; target[i] = old op
/// origin[i]. With DTL_RMA_OP_NO_OP it is an atomic read (origin is not
/// used but must still be a valid buffer of count elements; result itself
/// may not be passed, see below). Completes like dtl_window_get(): do not
/// touch origin or result until then.
///
/// Not collective; needs an access epoch covering target. Units: offset in
/// bytes, count in elements.
///
/// Errors: as dtl_window_accumulate() (DTL_RMA_OP_NO_OP allowed), and
/// DTL_ERROR_INVALID_ARGUMENT if origin and result overlap (MPI requires
/// them disjoint) (MPI_Get_accumulate).
///
/// # Safety
/// origin as in dtl_window_put(), result as in dtl_window_get(), for count
/// elements each.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtl_window_get_accumulate(
    win: dtl_window_t,
    origin: *const c_void,
    result: *mut c_void,
    count: u64,
    dtype: dtl_dtype_code,
    target: i32,
    offset: u64,
    op: dtl_rma_op_code,
) -> dtl_status {
    guard("dtl_window_get_accumulate", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let w = &h.win;
        let dtype = parse_dtype(dtype)?;
        let op = parse_rma_op(op)?;
        dispatch_dtype!(dtype, T => {
            let (t, o, n, bytes) = access_arg::<T>(w, "get_accumulate", target, offset, count)?;
            check_buffer::<T>(origin, n, "origin")?;
            check_buffer::<T>(result, n, "result")?;
            check_disjoint(w, t, o, bytes, &[(origin, "origin"), (result.cast_const(), "result")], &[(0, 1)])?;
            // SAFETY: checked, disjoint buffers, valid until completion per
            // the caller's contract.
            unsafe { w.dynamic().get_accumulate(t, o, in_slice::<T>(origin, n), out_slice::<T>(result, n), op) }
        })
    })
}

/// Atomically reads one element of dtype from target's window at byte
/// offset into *result and combines *origin into it with op
/// (MPI_Fetch_and_op): *result = old; target = old op *origin. With
/// DTL_RMA_OP_SUM it is a fetch-and-add (a distributed counter); with
/// DTL_RMA_OP_NO_OP an atomic read, and origin may be NULL. Completes like
/// dtl_window_get(): *result holds the old value after the epoch's end or a
/// flush (e.g. dtl_window_flush_local(win, target) inside a lock).
///
/// Not collective; needs an access epoch covering target. Units: offset in
/// bytes.
///
/// Errors: as dtl_window_accumulate() for one element (DTL_RMA_OP_NO_OP
/// allowed), and DTL_ERROR_INVALID_ARGUMENT for a NULL result or origin
/// (unless DTL_RMA_OP_NO_OP), or if they overlap (MPI_Fetch_and_op).
///
/// # Safety
/// origin must be NULL or point to one readable element of dtype, result
/// to one writable element, both valid and untouched until the operation
/// completes.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_fetch_and_op(
    win: dtl_window_t,
    origin: *const c_void,
    result: *mut c_void,
    dtype: dtl_dtype_code,
    target: i32,
    offset: u64,
    op: dtl_rma_op_code,
) -> dtl_status {
    guard("dtl_window_fetch_and_op", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let w = &h.win;
        let dtype = parse_dtype(dtype)?;
        let op = parse_rma_op(op)?;
        let origin = if origin.is_null() && op == RmaOp::NoOp { ptr::from_ref(&ZERO).cast() } else { origin };
        dispatch_dtype!(dtype, T => {
            let (t, o, _, bytes) = access_arg::<T>(w, "fetch_and_op", target, offset, 1)?;
            check_buffer::<T>(origin, 1, "origin")?;
            check_buffer::<T>(result, 1, "result")?;
            check_disjoint(w, t, o, bytes, &[(origin, "origin"), (result.cast_const(), "result")], &[(0, 1)])?;
            // SAFETY: checked, disjoint, one element each, valid until
            // completion per the caller's contract (ZERO is static).
            unsafe {
                w.dynamic().fetch_and_op(t, o, &*origin.cast::<T>(), &mut *result.cast::<T>(), op)
            }
        })
    })
}

/// Atomically compares one element of dtype in target's window at byte
/// offset with *compare and, if they are equal (bit for bit), replaces it
/// with *origin; *result receives the old value either way
/// (MPI_Compare_and_swap). Completes like dtl_window_get(). The float dtypes
/// compare bit patterns (so 0.0 and -0.0 differ).
///
/// Not collective; needs an access epoch covering target. Units: offset in
/// bytes.
///
/// Open MPI 4.x crashes on 8-byte MPI_Compare_and_swap over a window made
/// by dtl_window_create() on more than one rank (osc/rdma over shared
/// memory), so that case returns DTL_ERROR_NOT_SUPPORTED without calling
/// MPI; windows from dtl_window_allocate(), 1-, 2- and 4-byte dtypes, and
/// one-rank windows work.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid win, a dtype code
/// outside 0..9, a NULL or misaligned origin, compare or result, a result
/// overlapping origin or compare, or a misaligned offset; DTL_ERROR_BOUNDS
/// for a target or offset outside the window; DTL_ERROR_INVALID_STATE if no
/// epoch covers target; DTL_ERROR_NOT_SUPPORTED as above;
/// DTL_ERROR_COMMUNICATION if MPI_Compare_and_swap fails.
///
/// # Safety
/// origin and compare must point to one readable element of dtype each,
/// result to one writable element, all valid and untouched until the
/// operation completes.
#[no_mangle]
pub unsafe extern "C" fn dtl_window_compare_and_swap(
    win: dtl_window_t,
    origin: *const c_void,
    compare: *const c_void,
    result: *mut c_void,
    dtype: dtl_dtype_code,
    target: i32,
    offset: u64,
) -> dtl_status {
    guard("dtl_window_compare_and_swap", || {
        // SAFETY: caller's contract.
        let h = unsafe { window_arg(win) }?;
        let w = &h.win;
        dispatch_dtype!(parse_dtype(dtype)?, T => {
            let (t, o, _, bytes) = access_arg::<T>(w, "compare_and_swap", target, offset, 1)?;
            check_buffer::<T>(origin, 1, "origin")?;
            check_buffer::<T>(compare, 1, "compare")?;
            check_buffer::<T>(result, 1, "result")?;
            let bufs = [(origin, "origin"), (compare, "compare"), (result.cast_const(), "result")];
            check_disjoint(w, t, o, bytes, &bufs, &[(0, 2), (1, 2)])?;
            // SAFETY: checked, result disjoint from the inputs, one element
            // each, valid until completion per the caller's contract.
            let r = unsafe {
                w.dynamic().compare_and_swap(t, o, &*compare.cast::<T>(), &*origin.cast::<T>(), &mut *result.cast::<T>())
            };
            r.map_err(|e| match e {
                Error::NotSupported(_) => Error::NotSupported(format!(
                    "compare_and_swap of {} on a window from dtl_window_create: Open MPI 4's osc/rdma crashes \
                     on 8-byte MPI_Compare_and_swap; use a window from dtl_window_allocate, a 4-byte dtype, \
                     or Open MPI 5",
                    T::DTYPE
                )),
                e => e,
            })
        })
    })
}
