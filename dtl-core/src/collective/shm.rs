//! The shared-memory path of large `allreduce` and `broadcast` for the
//! ranks of one node.
//!
//! When every rank of a context runs on one node (and there are at most
//! [`MAX_RANKS`] of them), dtl keeps one MPI-3 shared-memory window per
//! communicator (`MPI_Win_allocate_shared`, [`SLOT`] × 2 bytes per rank,
//! made on first use and freed with the communicator). A large collective
//! then goes through that window in chunks of [`SLOT`] bytes, which stay in
//! the caches:
//!
//! * **allreduce**: each rank copies its chunk into its own slot; one
//!   `MPI_Barrier` (between two `MPI_Win_sync`s); then every rank reads the
//!   other ranks' slots directly and folds them, in rank order, into its
//!   receive buffer. Every rank computes the same additions in the same
//!   order, so the results are bitwise identical on all ranks (and
//!   independent of how MPI would have paired them).
//! * **broadcast**: the root copies its chunk into its slot; barrier; every
//!   other rank copies it out.
//!
//! Each rank's data crosses between cores once, and no rank waits for a
//! message to be matched: one barrier per chunk is the only synchronisation.
//! Slots are double-buffered, with the buffer index carried over from call
//! to call: the barrier of chunk *k + 1* proves every rank has finished
//! reading chunk *k*, so the writes of chunk *k + 2* into the same buffer
//! are safe without a second barrier.
//!
//! The plain MPI path (`MPI_Allreduce`, `MPI_Bcast`) stays for small
//! messages (below the threshold), for contexts that span several nodes or
//! more than [`MAX_RANKS`] ranks, and when the path is switched off
//! ([`Context::set_shm_collectives`], or `DTL_SHM_COLLECTIVES=0` in the
//! environment of every rank).

use std::sync::Mutex;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rma::raw::{on_one_node, RawWin};

use super::ReduceOp;

/// Default bytes of one slot (one chunk of one rank); each rank holds two.
/// `DTL_SHM_SLOT=<bytes>` overrides it (rounded up to 4 KiB; the largest
/// value over the ranks wins).
pub const SLOT: usize = 256 * 1024;

/// The most ranks for which the shared-memory path is used: every rank
/// reads every other rank's chunk, so the memory traffic per rank grows
/// with the number of ranks.
pub const MAX_RANKS: usize = 8;

/// Default smallest message, in bytes, that takes the shared-memory path
/// (below it `MPI_Allreduce`/`MPI_Bcast` are as fast or faster).
/// `DTL_SHM_THRESHOLD=<bytes>` overrides it (the largest value over the
/// ranks wins).
pub const DEFAULT_THRESHOLD: usize = 16 * 1024;

/// The window and the addresses of every rank's slots.
pub(crate) struct Arena {
    win: RawWin,
    bases: Vec<*mut u8>,
    /// Which of the two slots the next chunk uses (0 or 1); identical on
    /// every rank because every rank runs the same chunks.
    parity: usize,
    threshold: usize,
    slot: usize,
}

// SAFETY: the pointers address MPI-allocated shared memory that lives as
// long as the window; the arena is only used under the `Shm` mutex.
unsafe impl Send for Arena {}

enum State {
    /// Not decided yet (decided collectively on first use).
    Unknown,
    /// Not applicable to this communicator (several nodes, too many ranks,
    /// switched off in the environment, or the window could not be made).
    Off,
    On(Arena),
}

/// Per-communicator state of the shared-memory path.
pub(crate) struct Shm {
    state: Mutex<State>,
}

impl Default for Shm {
    fn default() -> Self {
        Shm { state: Mutex::new(State::Unknown) }
    }
}

impl Shm {
    /// Frees the window if one was made (`MPI_Win_unlock_all`,
    /// `MPI_Win_free`). Collective (called when the communicator is freed).
    pub(crate) fn free(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let State::On(arena) = std::mem::replace(&mut *st, State::Off) {
            let _ = arena.win.unlock_all();
            let _ = arena.win.free();
        }
    }
}

fn env_flag() -> bool {
    match std::env::var("DTL_SHM_COLLECTIVES") {
        Ok(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "off" | "false" | "no"),
        Err(_) => true,
    }
}

fn env_bytes(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// Decides, collectively, whether the path applies, and makes the window.
/// One `MPI_Allreduce` of three integers (so that ranks with different
/// environments agree), `on_one_node`'s two, and the window creation.
fn init(comm: &SimpleCommunicator) -> Result<State> {
    let size = comm.size() as usize;
    let thr = env_bytes("DTL_SHM_THRESHOLD", DEFAULT_THRESHOLD).min(1 << 40) as i64;
    let slot = env_bytes("DTL_SHM_SLOT", SLOT).clamp(4096, 1 << 30).next_multiple_of(4096) as i64;
    // [min of enabled, min of -threshold (= -max), min of -slot (= -max)]
    let send = [i64::from(env_flag()), -thr, -slot];
    let mut recv = [0i64; 3];
    comm.all_reduce_into(&send[..], &mut recv[..], mpi::collective::SystemOperation::min());
    if recv[0] == 0 || !(2..=MAX_RANKS).contains(&size) || !on_one_node(comm) {
        return Ok(State::Off);
    }
    let threshold = (-recv[1]) as usize;
    let slot = (-recv[2]) as usize;
    // Open MPI's segments start 8-byte aligned (after a small header):
    // each rank rounds its base up to a cache line, within 64 spare bytes.
    let (win, _) = match RawWin::allocate(comm, 2 * slot + 64) {
        Ok(w) => w,
        Err(_) => return Ok(State::Off),
    };
    win.lock_all()?;
    let mut bases = Vec::with_capacity(size);
    for r in 0..size {
        let b = win.shared_query(r)?;
        bases.push(b.wrapping_add(b.align_offset(64)));
    }
    Ok(State::On(Arena { win, bases, parity: 0, threshold, slot }))
}

impl Arena {
    fn slot<T>(&self, rank: usize, which: usize) -> *mut T {
        // SAFETY (of the arithmetic): each segment is 2 * slot bytes.
        self.bases[rank].wrapping_add(which * self.slot).cast()
    }

    /// The next chunk's buffer index.
    fn next(&mut self) -> usize {
        let b = self.parity;
        self.parity ^= 1;
        b
    }

    /// Makes every rank's writes to its slot visible to the others:
    /// `MPI_Win_sync`, `MPI_Barrier`, `MPI_Win_sync`.
    fn sync(&self, comm: &SimpleCommunicator) -> Result<()> {
        self.win.sync()?;
        comm.barrier();
        self.win.sync()
    }

    fn allreduce<T: Element>(
        &mut self,
        comm: &SimpleCommunicator,
        send: &[T],
        recv: &mut [T],
        op: ReduceOp,
    ) -> Result<()> {
        let rank = comm.rank() as usize;
        let size = comm.size() as usize;
        let per = self.slot / std::mem::size_of::<T>();
        let mut start = 0;
        while start < send.len() {
            let len = per.min(send.len() - start);
            let b = self.next();
            let mine = &send[start..start + len];
            // SAFETY: this rank's slot holds `slot` bytes >= len elements; no
            // other rank reads it until the barrier below, and nobody reads
            // buffer `b` of the previous-but-one chunk any more (see the
            // module docs).
            unsafe { std::ptr::copy_nonoverlapping(mine.as_ptr(), self.slot::<T>(rank, b), len) };
            self.sync(comm)?;
            let src = |q: usize| -> &[T] {
                if q == rank {
                    mine
                } else {
                    // SAFETY: rank q wrote `len` elements there before the
                    // barrier and will not write buffer `b` again before the
                    // next chunk's barrier, which this rank has not reached.
                    unsafe { std::slice::from_raw_parts(self.slot::<T>(q, b), len) }
                }
            };
            let out = &mut recv[start..start + len];
            combine(op, src(0), src(1), out);
            for q in 2..size {
                combine_into(op, out, src(q));
            }
            start += len;
        }
        Ok(())
    }

    fn broadcast<T: Element>(&mut self, comm: &SimpleCommunicator, buf: &mut [T], root: usize) -> Result<()> {
        let rank = comm.rank() as usize;
        let per = self.slot / std::mem::size_of::<T>();
        let mut start = 0;
        while start < buf.len() {
            let len = per.min(buf.len() - start);
            let b = self.next();
            let chunk = &mut buf[start..start + len];
            let slot = self.slot::<T>(root, b);
            if rank == root {
                // SAFETY: as in `allreduce`: the root's slot, not read
                // before the barrier.
                unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), slot, len) };
            }
            self.sync(comm)?;
            if rank != root {
                // SAFETY: the root wrote `len` elements before the barrier.
                unsafe { std::ptr::copy_nonoverlapping(slot as *const T, chunk.as_mut_ptr(), len) };
            }
            start += len;
        }
        Ok(())
    }
}

/// `out[i] = f(a[i], b[i])`, monomorphised per op so the loop vectorises.
#[inline(always)]
fn zip2<T: Copy>(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

#[inline(always)]
fn zip_into<T: Copy>(acc: &mut [T], b: &[T], f: impl Fn(T, T) -> T) {
    for (o, &y) in acc.iter_mut().zip(b) {
        *o = f(*o, y);
    }
}

/// `out = a op b`, element-wise (`a` from the lower rank).
pub(crate) fn combine<T: Element>(op: ReduceOp, a: &[T], b: &[T], out: &mut [T]) {
    match op {
        ReduceOp::Sum => zip2(a, b, out, |x, y| x.add(y)),
        ReduceOp::Prod => zip2(a, b, out, |x, y| x.mul(y)),
        ReduceOp::Min => zip2(a, b, out, |x, y| if y < x { y } else { x }),
        ReduceOp::Max => zip2(a, b, out, |x, y| if y > x { y } else { x }),
        _ => zip2(a, b, out, |x, y| op.apply(x, y)),
    }
}

/// `acc = acc op b`, element-wise (`b` from the higher rank).
pub(crate) fn combine_into<T: Element>(op: ReduceOp, acc: &mut [T], b: &[T]) {
    match op {
        ReduceOp::Sum => zip_into(acc, b, |x, y| x.add(y)),
        ReduceOp::Prod => zip_into(acc, b, |x, y| x.mul(y)),
        ReduceOp::Min => zip_into(acc, b, |x, y| if y < x { y } else { x }),
        ReduceOp::Max => zip_into(acc, b, |x, y| if y > x { y } else { x }),
        _ => zip_into(acc, b, |x, y| op.apply(x, y)),
    }
}

impl Context {
    /// Runs `f` on the arena if the shared-memory path applies to a
    /// message of `bytes` bytes; `None` if it does not (then the caller
    /// takes the MPI path). Collective: every rank must pass the same
    /// `bytes` (guaranteed by the agreement step that precedes it).
    pub(crate) fn with_shm<R>(
        &self,
        bytes: usize,
        f: impl FnOnce(&mut Arena, &SimpleCommunicator) -> Result<R>,
    ) -> Result<Option<R>> {
        if self.size() < 2 || self.size() > MAX_RANKS || !self.shm_collectives() || bytes < 1024 {
            return Ok(None);
        }
        let mut st =
            self.shm().state.lock().map_err(|_| Error::Internal("shared-memory arena lock poisoned".into()))?;
        if matches!(*st, State::Unknown) {
            *st = init(self.comm())?;
        }
        match &mut *st {
            State::On(arena) if bytes >= arena.threshold => f(arena, self.comm()).map(Some),
            _ => Ok(None),
        }
    }

    /// The shared-memory allreduce, if it applies (see the module docs).
    pub(crate) fn shm_allreduce<T: Element>(&self, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<bool> {
        let bytes = std::mem::size_of_val(send);
        Ok(self.with_shm(bytes, |a, c| a.allreduce(c, send, recv, op))?.is_some())
    }

    /// The shared-memory broadcast, if it applies (see the module docs).
    pub(crate) fn shm_broadcast<T: Element>(&self, buf: &mut [T], root: usize) -> Result<bool> {
        let bytes = std::mem::size_of_val(buf);
        Ok(self.with_shm(bytes, |a, c| a.broadcast(c, buf, root))?.is_some())
    }
}
