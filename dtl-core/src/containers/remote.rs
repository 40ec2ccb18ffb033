//! One-sided single-element access on the 1-D containers:
//! [`Distributed1D::get`] and [`Distributed1D::set`].
//!
//! Both are **not collective**: any rank may call them at any time, and the
//! owner of the element takes no part (MPI passive-target RMA on the
//! context's dynamic window, see [`crate::rma`]). Each remote call costs one
//! lock/transfer/unlock round trip — a few microseconds on one node, a
//! network latency or more across nodes — so they are for scattered,
//! occasional access; for many elements use the collective, batched
//! [`gather_indices`](Distributed1D::gather_indices) /
//! [`scatter_indices`](Distributed1D::scatter_indices), or the local part.
//!
//! Memory model: a remote `set` is complete at the target when `set`
//! returns, but the target sees it in its local part only after a
//! synchronisation such as [`Context::barrier`](crate::Context::barrier);
//! a rank must not write an element locally while another rank reads or
//! writes it remotely (as in MPI, conflicting accesses in the same phase
//! give undefined values). Remote `set`s from different ranks to the same
//! rank are serialised by an exclusive lock.
//!
//! Lifetime: dropping a container is local (its part is only detached from
//! the window), so a rank must not drop — or `resize`/`redistribute` — a
//! container while other ranks may still `get`/`set` its elements: put a
//! collective call (e.g. a barrier) between the last remote access and the
//! drop, as MPI's own `MPI_Win_free` would. A late access then fails with
//! [`Error::Communication`](crate::Error::Communication)
//! (`MPI_ERR_RMA_RANGE`) instead of reading stale data.
//!
//! ```
//! use dtl_core::{Context, DistributedVector};
//! let ctx = Context::world()?;
//! let mut v = DistributedVector::<i64>::new(&ctx, 10)?; // collective: attaches the local part
//! if ctx.is_root() {
//!     v.set(9, 42)?; // owned by the last rank: one MPI_Put
//! }
//! ctx.barrier()?; // the owner sees the write after a synchronisation
//! assert_eq!(v.get(9)?, 42); // every rank reads it: one MPI_Get (or a local load)
//! ctx.barrier()?; // drop `v` only once no rank still reads it
//! # Ok::<(), dtl_core::Error>(())
//! ```

use super::Distributed1D;
use crate::element::Element;
use crate::error::Result;
use crate::partition::Partition;

impl<T: Element> Distributed1D<T> {
    /// The element at global index `i`, whichever rank owns it. Not
    /// collective. A local element (and every element of a replicated
    /// container) is read from the local part; a remote one with
    /// `MPI_Win_lock(MPI_LOCK_SHARED)`, `MPI_Get` of one element and
    /// `MPI_Win_unlock` on the owner (one round trip; the owner need not
    /// call anything). See the [module docs](super::remote) for the memory
    /// model.
    ///
    /// # Errors
    /// [`Error::Bounds`](crate::Error::Bounds) if `i >= global_size`
    /// (the message gives the valid range);
    /// [`Error::NotSupported`](crate::Error::NotSupported) if the MPI
    /// library offers no one-sided support for this communicator;
    /// [`Error::Communication`](crate::Error::Communication) if an MPI call
    /// fails (naming it).
    pub fn get(&self, i: usize) -> Result<T> {
        if let Some(l) = self.to_local(i) {
            return Ok(self.data[l]);
        }
        let (owner, l) = self.part.global_to_local(i)?;
        self.remote.get(owner, l)
    }

    /// Writes `value` at global index `i`, whichever rank owns it. Not
    /// collective. A local element is stored directly; a remote one with
    /// `MPI_Win_lock(MPI_LOCK_EXCLUSIVE)`, `MPI_Put` of one element and
    /// `MPI_Win_unlock` on the owner. For a replicated container every
    /// rank's copy is written (the local one, then one put per other rank),
    /// so the copies stay equal. See the [module docs](super::remote) for
    /// when the owner sees the value.
    ///
    /// # Errors
    /// As for [`get`](Self::get).
    pub fn set(&mut self, i: usize, value: T) -> Result<()> {
        let (owner, l) = self.part.global_to_local(i)?;
        if self.part.is_replicated() {
            self.data[l] = value;
            let me = self.ctx.rank();
            for r in (0..self.ctx.size()).filter(|&r| r != me) {
                self.remote.put(r, l, value)?;
            }
            return Ok(());
        }
        if owner == self.ctx.rank() {
            self.data[l] = value;
            return Ok(());
        }
        self.remote.put(owner, l, value)
    }
}
