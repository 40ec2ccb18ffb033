//! Vectorised global element access on the 1-D containers:
//! [`Distributed1D::gather_indices`] and [`Distributed1D::scatter_indices`].
//!
//! Both are **collective**: every rank passes its own list of global
//! indices (any length, duplicates allowed, any order) and the ranks
//! exchange requests with their owners, one `MPI_Alltoall` of the counts
//! and `MPI_Alltoallv`s of the payload (for `gather_indices` one of
//! requests and one of replies).
//!
//! Before anything moves, one `MPI_Allreduce` settles whether every rank's
//! arguments are valid (and, with collective checks on, that the ranks
//! agree on the container's dtype, size and partition). An out-of-range
//! index on any rank makes the call return [`Error::Bounds`] on **every**
//! rank, naming the index, its position and rank, and the valid range
//! `0..global_size`; nothing is read or written. The check runs even when
//! the context's collective checks are off, so a bad index never leaves
//! the other ranks waiting.

use mpi::collective::SystemOperation;
use mpi::datatype::{Partition as MpiPartition, PartitionMut};
use mpi::traits::*;

use super::Distributed1D;
use crate::context::Context;
use crate::element::{DType, Element};
use crate::error::{status, status_name, Error, Result};
use crate::partition::{Layout, Partition};

/// An integer type usable as a global index: `usize`, `u64`, `u32`, `i64`
/// or `i32`. Signed types let bindings pass negative indices through to the
/// collective range check (they are out of range like any other).
pub trait GlobalIndex: Copy + std::fmt::Display + Send + Sync {
    /// The index as a `usize`; `None` if negative or too large.
    fn to_index(self) -> Option<usize>;
}

macro_rules! global_index {
    ($($t:ty)*) => {$(
        impl GlobalIndex for $t {
            fn to_index(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
        }
    )*};
}
global_index!(usize u64 u32 i64 i32);

/// Converts and range-checks `idx`; the first offending index becomes the
/// error (not yet returned: the ranks first agree on a verdict).
fn checked_indices<I: GlobalIndex>(op: &str, idx: &[I], n: usize) -> (Vec<usize>, Option<Error>) {
    if idx.len() > i32::MAX as usize {
        let e = Error::InvalidArgument(format!(
            "{op}: {} indices on one rank; at most {} per call in this release",
            idx.len(),
            i32::MAX
        ));
        return (Vec::new(), Some(e));
    }
    let mut out = Vec::with_capacity(idx.len());
    for (p, &i) in idx.iter().enumerate() {
        match i.to_index().filter(|&g| g < n) {
            Some(g) => out.push(g),
            None => {
                let e = Error::Bounds(format!("{op}: global index {i} (position {p}) is out of range 0..{n}"));
                return (Vec::new(), Some(e));
            }
        }
    }
    (out, None)
}

/// The collective verdict on the arguments: one `MPI_Allreduce(MAX)` of
/// this rank's error status, its rank if it failed, and (with collective
/// checks on) the `fields` every rank must pass equal. If any rank failed,
/// the lowest failing rank broadcasts its error (status and message), so
/// every rank returns an error of the same kind naming the cause; a failing
/// rank returns its own error. Runs whatever the collective-checks setting.
fn verdict(ctx: &Context, op: &str, fields: &[(&str, i64)], local: Option<Error>) -> Result<()> {
    if ctx.size() == 1 {
        return local.map_or(Ok(()), Err);
    }
    let nf = if ctx.collective_checks() { fields.len() } else { 0 };
    let mut send = vec![0i64; 2 + 2 * nf];
    send[0] = local.as_ref().map_or(0, |e| i64::from(e.status()));
    send[1] = if local.is_some() { -(ctx.rank() as i64) } else { i64::MIN };
    for (k, &(_, v)) in fields.iter().take(nf).enumerate() {
        send[2 + 2 * k] = v;
        send[3 + 2 * k] = v.wrapping_neg();
    }
    let mut recv = vec![0i64; send.len()];
    ctx.comm().all_reduce_into(&send[..], &mut recv[..], SystemOperation::max());
    if recv[0] > 0 {
        // Error path only: every rank knows some rank failed.
        let first = (-recv[1]) as usize;
        let mut msg = Vec::new();
        if ctx.rank() == first {
            let e = local.as_ref().expect("the lowest failing rank has an error");
            msg.extend_from_slice(&e.status().to_le_bytes());
            msg.extend_from_slice(e.detail().as_bytes());
        }
        let got = ctx.broadcast_vec(&msg, first)?;
        if let Some(e) = local {
            return Err(e);
        }
        let code = got.get(..4).map_or(status::INTERNAL, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let detail = String::from_utf8_lossy(got.get(4..).unwrap_or_default());
        return Err(Error::from_status(code, format!("{detail} [on rank {first}; {}]", status_name(code))));
    }
    for (k, &(name, _)) in fields.iter().take(nf).enumerate() {
        let (max, min) = (recv[2 + 2 * k], recv[3 + 2 * k].wrapping_neg());
        if max != min {
            let show = |c: i64| match name {
                "dtype" => DType::from_code(c as i32).map_or(c.to_string(), |d| d.name().to_string()),
                _ => c.to_string(),
            };
            return Err(Error::Mismatch(format!(
                "{op}: {name} differs across ranks (min {}, max {}); every rank must call it on the same container",
                show(min),
                show(max)
            )));
        }
    }
    Ok(())
}

fn counts_i32(c: &[usize]) -> Result<Vec<i32>> {
    c.iter()
        .map(|&x| {
            i32::try_from(x).map_err(|_| {
                Error::InvalidArgument(format!("a message of {x} elements exceeds {} in this release", i32::MAX))
            })
        })
        .collect()
}

fn displs(c: &[i32]) -> Result<Vec<i32>> {
    let mut acc = 0i64;
    c.iter()
        .map(|&x| {
            let d = i32::try_from(acc).map_err(|_| {
                Error::InvalidArgument(format!("a message of {acc}+ elements exceeds {} in this release", i32::MAX))
            })?;
            acc += i64::from(x);
            Ok(d)
        })
        .collect()
}

/// A buffer of `n` default values whose pointer is a real allocation even
/// when `n == 0` (Open MPI reads the dangling pointer of an empty `Vec`,
/// address 1, as `MPI_IN_PLACE`).
fn buffer<U: Copy + Default>(n: usize) -> Vec<U> {
    let mut v = Vec::with_capacity(n.max(1));
    v.resize(n, U::default());
    v
}

/// `MPI_Alltoall` of per-destination counts: what each rank will send here.
fn exchange_counts(ctx: &Context, send_counts: &[usize]) -> Vec<usize> {
    let sc: Vec<u64> = send_counts.iter().map(|&c| c as u64).collect();
    let mut rc = vec![0u64; ctx.size()];
    ctx.comm().all_to_all_into(&sc[..], &mut rc[..]);
    rc.into_iter().map(|c| c as usize).collect()
}

/// `MPI_Alltoallv` with counts known on both sides (no count exchange, no
/// agreement step: the callers have done both).
fn exchange<U: Equivalence + Copy + Default>(ctx: &Context, send: &[U], sc: &[usize], rc: &[usize]) -> Result<Vec<U>> {
    let (sci, rci) = (counts_i32(sc)?, counts_i32(rc)?);
    let (sd, rd) = (displs(&sci)?, displs(&rci)?);
    let mut out = buffer::<U>(rc.iter().sum());
    let scratch = [U::default()];
    let send = if send.is_empty() { &scratch[..0] } else { send };
    {
        let sp = MpiPartition::new(send, &sci[..], &sd[..]);
        let mut rp = PartitionMut::new(&mut out[..], &rci[..], &rd[..]);
        ctx.comm().all_to_all_varcount_into(&sp, &mut rp);
    }
    Ok(out)
}

/// `MPI_Allgather` of the counts, then `MPI_Allgatherv`, for a
/// `(local index, value)` list: every rank's pairs in rank order.
fn allgather_pairs<T: Element>(ctx: &Context, idx: &[u64], values: &[T]) -> Result<(Vec<u64>, Vec<T>)> {
    let mut c64 = vec![0u64; ctx.size()];
    ctx.comm().all_gather_into(&[idx.len() as u64][..], &mut c64[..]);
    let counts: Vec<usize> = c64.into_iter().map(|c| c as usize).collect();
    let ci = counts_i32(&counts)?;
    let d = displs(&ci)?;
    fn gatherv<U: Equivalence + Copy + Default>(ctx: &Context, send: &[U], ci: &[i32], d: &[i32]) -> Vec<U> {
        let mut out = buffer::<U>(ci.iter().map(|&c| c as usize).sum());
        let scratch = [U::default()];
        let send = if send.is_empty() { &scratch[..0] } else { send };
        let mut part = PartitionMut::new(&mut out[..], ci, d);
        ctx.comm().all_gather_varcount_into(send, &mut part);
        out
    }
    Ok((gatherv(ctx, idx, &ci, &d), gatherv(ctx, values, &ci, &d)))
}

/// Requests grouped by owner: `counts[r]` go to rank `r`; position `p` of
/// the caller's list is slot `slot[p]` of the send buffer, whose entry
/// `local[slot[p]]` is the owner's local index.
struct Routes {
    counts: Vec<usize>,
    slot: Vec<usize>,
    local: Vec<u64>,
}

fn route(part: &Layout, size: usize, gidx: &[usize]) -> Result<Routes> {
    let mut owner_local = Vec::with_capacity(gidx.len());
    let mut counts = vec![0usize; size];
    for &g in gidx {
        let (o, l) = part.global_to_local(g)?;
        counts[o] += 1;
        owner_local.push((o, l));
    }
    let mut next = vec![0usize; size];
    for r in 1..size {
        next[r] = next[r - 1] + counts[r - 1];
    }
    let mut slot = Vec::with_capacity(gidx.len());
    let mut local = vec![0u64; gidx.len()];
    for &(o, l) in &owner_local {
        slot.push(next[o]);
        local[next[o]] = l as u64;
        next[o] += 1;
    }
    Ok(Routes { counts, slot, local })
}

impl<T: Element> Distributed1D<T> {
    fn access_fields(&self) -> [(&'static str, i64); 5] {
        let sig = self.part.spec().signature();
        [
            ("dtype", T::DTYPE as i64),
            ("global size", self.global_size() as i64),
            ("partition", sig[0]),
            ("partition parameter", sig[1]),
            ("weights", sig[2]),
        ]
    }

    /// The values at global indices `idx`, in the order given (duplicates
    /// allowed). Every rank passes its own indices and gets its own values.
    /// A replicated container answers from the local copy (no data
    /// moves); otherwise one `MPI_Alltoall` of counts, one `MPI_Alltoallv`
    /// of requests (local indices at the owners) and one of replies.
    /// Collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] on every rank if any rank passes an index outside
    /// `0..global_size` (naming the index, its position and the rank;
    /// checked even with collective checks off, and nothing moves);
    /// [`Error::Mismatch`] if the ranks call it on containers that differ
    /// in dtype, size or partition (with collective checks on).
    ///
    /// ```
    /// use dtl_core::{Context, DistributedVector};
    /// let ctx = Context::world()?;
    /// let mut v = DistributedVector::<f64>::from_global(&ctx, &[0.0, 10.0, 20.0, 30.0, 40.0])?;
    /// assert_eq!(v.gather_indices(&[4usize, 0, 4])?, vec![40.0, 0.0, 40.0]);   // collective
    /// v.scatter_indices(&[1usize], &[-1.0])?;                                   // collective
    /// assert_eq!(v.gather_all()?, vec![0.0, -1.0, 20.0, 30.0, 40.0]);
    /// assert!(v.gather_indices(&[5usize]).is_err());                           // Error::Bounds, every rank
    /// # Ok::<(), dtl_core::Error>(())
    /// ```
    pub fn gather_indices<I: GlobalIndex>(&self, idx: &[I]) -> Result<Vec<T>> {
        self.gather_indices_or_reject(idx, None)
    }

    /// [`gather_indices`](Self::gather_indices) for a call whose arguments
    /// already failed validation on this rank (`local = Some(err)`, e.g. a
    /// binding's type conversion): the rank still takes part in the
    /// verdict, so every rank returns an error instead of hanging, and this
    /// rank returns `err`. With `local = None` it is `gather_indices`.
    /// Collective.
    ///
    /// # Errors
    /// As [`gather_indices`](Self::gather_indices); `err` on this rank.
    pub fn gather_indices_or_reject<I: GlobalIndex>(&self, idx: &[I], local: Option<Error>) -> Result<Vec<T>> {
        const OP: &str = "gather_indices";
        let (gidx, bad) = checked_indices(OP, idx, self.global_size());
        verdict(&self.ctx, OP, &self.access_fields(), local.or(bad))?;
        let size = self.ctx.size();
        if self.part.is_replicated() || size == 1 {
            return gidx.iter().map(|&g| Ok(self.data[self.part.global_to_local(g)?.1])).collect();
        }
        let routes = route(&self.part, size, &gidx)?;
        let rc = exchange_counts(&self.ctx, &routes.counts);
        let requests = exchange(&self.ctx, &routes.local, &routes.counts, &rc)?;
        // Local indices come from ranks that agreed on the partition; a
        // container mismatch with checks off yields zeros, not a panic.
        let answers: Vec<T> = requests.iter().map(|&l| self.data.get(l as usize).copied().unwrap_or(T::ZERO)).collect();
        drop(requests);
        let replies = exchange(&self.ctx, &answers, &rc, &routes.counts)?;
        Ok(routes.slot.iter().map(|&s| replies[s]).collect())
    }

    /// Writes `values[k]` at global index `idx[k]`, on its owner (on every
    /// rank for a replicated container, so the copies stay equal). Every
    /// rank passes its own (possibly empty) lists.
    ///
    /// Duplicate indices, within a rank or across ranks: the last writer in
    /// (rank, position) order wins — rank 2's write beats rank 1's, and
    /// within a rank a later position beats an earlier one.
    ///
    /// One `MPI_Alltoall` of counts and two `MPI_Alltoallv` (local indices,
    /// values); for a replicated container one `MPI_Allgather` of counts and
    /// two `MPI_Allgatherv`. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if any rank's `idx` and
    /// `values` differ in length; [`Error::Bounds`] on every rank for an
    /// index outside `0..global_size`; [`Error::Mismatch`] as
    /// [`gather_indices`](Self::gather_indices). Nothing is written on any
    /// rank when an error is returned.
    pub fn scatter_indices<I: GlobalIndex>(&mut self, idx: &[I], values: &[T]) -> Result<()> {
        self.scatter_indices_or_reject(idx, values, None)
    }

    /// [`scatter_indices`](Self::scatter_indices) for a call whose
    /// arguments already failed validation on this rank (see
    /// [`gather_indices_or_reject`](Self::gather_indices_or_reject)).
    /// Collective.
    ///
    /// # Errors
    /// As [`scatter_indices`](Self::scatter_indices); `err` on this rank.
    pub fn scatter_indices_or_reject<I: GlobalIndex>(
        &mut self,
        idx: &[I],
        values: &[T],
        local: Option<Error>,
    ) -> Result<()> {
        const OP: &str = "scatter_indices";
        let (gidx, mut bad) = checked_indices(OP, idx, self.global_size());
        if idx.len() != values.len() {
            bad = Some(Error::InvalidArgument(format!(
                "{OP}: idx has {} entries but values has {}; they must have the same length",
                idx.len(),
                values.len()
            )));
        }
        verdict(&self.ctx, OP, &self.access_fields(), local.or(bad))?;
        let size = self.ctx.size();
        if size == 1 {
            for (&g, &x) in gidx.iter().zip(values) {
                let l = self.part.global_to_local(g)?.1;
                self.data[l] = x;
            }
            return Ok(());
        }
        if self.part.is_replicated() {
            // Local index = global index on every rank.
            let g64: Vec<u64> = gidx.iter().map(|&g| g as u64).collect();
            let (all_idx, all_val) = allgather_pairs(&self.ctx, &g64, values)?;
            for (&l, &x) in all_idx.iter().zip(&all_val) {
                if let Some(d) = self.data.get_mut(l as usize) {
                    *d = x;
                }
            }
            return Ok(());
        }
        let routes = route(&self.part, size, &gidx)?;
        let mut vals = buffer::<T>(values.len());
        for (p, &s) in routes.slot.iter().enumerate() {
            vals[s] = values[p];
        }
        let rc = exchange_counts(&self.ctx, &routes.counts);
        let got_idx = exchange(&self.ctx, &routes.local, &routes.counts, &rc)?;
        let got_val = exchange(&self.ctx, &vals, &routes.counts, &rc)?;
        // Received in source-rank order, each source's writes in position
        // order: applying them in sequence makes the last writer win.
        for (&l, &x) in got_idx.iter().zip(&got_val) {
            if let Some(d) = self.data.get_mut(l as usize) {
                *d = x;
            }
        }
        Ok(())
    }
}
