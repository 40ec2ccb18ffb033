//! The one data-movement engine behind redistribution, resize, scatter,
//! gather and building from local parts.
//!
//! An N-d row-major array of global `shape` is split along one axis by a
//! [`Layout`] of that axis' indices; each rank holds its local block in
//! row-major order. Moving to another layout (and/or another split axis)
//! is one `MPI_Alltoallv` (or one `MPI_Allgatherv` when the target is
//! replicated), with no index traffic: both sides enumerate the moved
//! elements in ascending global row-major order, which is also every
//! rank's local order, because every partition keeps local order monotone
//! in global order.
//!
//! Memory: the old block is packed into the send buffer and then dropped,
//! the receive buffer is unpacked into the new block and then dropped, so
//! at most about twice the larger local part is alive at any time.

use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Layout, Partition};

/// Where the data is and where it should go.
pub(crate) struct Move<'a> {
    /// Global shape before the move.
    pub old_shape: &'a [usize],
    /// Split axis before the move.
    pub old_axis: usize,
    /// Layout of `old_shape[old_axis]` before the move.
    pub old: &'a Layout,
    /// Global shape after the move: equal to `old_shape` except, for 1-D
    /// resizes, along the split axis (indices missing before are filled).
    pub new_shape: &'a [usize],
    /// Split axis after the move.
    pub new_axis: usize,
    /// Layout of `new_shape[new_axis]` after the move.
    pub new: &'a Layout,
}

/// Number of units (multi-indices) of a shape prefix.
fn units(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Decodes unit `k` of `dims` (row-major) into `idx`.
fn decode(mut k: usize, dims: &[usize], idx: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        let n = dims[d].max(1);
        idx[d] = k % n;
        k /= n;
    }
}

impl Move<'_> {
    /// Number of leading dims that index units (the rest move together).
    fn unit_dims(&self) -> usize {
        self.old_axis.max(self.new_axis) + 1
    }
    fn inner(&self) -> usize {
        self.new_shape[self.unit_dims()..].iter().product()
    }
    fn local_dims(shape: &[usize], axis: usize, layout: &Layout, rank: usize, upto: usize) -> Vec<usize> {
        let mut d = shape[..upto].to_vec();
        d[axis] = layout.local_size(rank);
        d
    }
}

/// Performs the move of this rank's block `data`; returns the new local
/// block. New elements (a 1-D resize that grows) are `fill`. Collective.
pub(crate) fn redistribute<T: Element>(ctx: &Context, data: Vec<T>, mv: &Move<'_>, fill: T) -> Result<Vec<T>> {
    let me = ctx.rank();
    let size = ctx.size();
    let ud = mv.unit_dims();
    let inner = mv.inner();
    let old_dims = Move::local_dims(mv.old_shape, mv.old_axis, mv.old, me, ud);
    let new_dims = Move::local_dims(mv.new_shape, mv.new_axis, mv.new, me, ud);
    let old_units = units(&old_dims);
    let new_units = units(&new_dims);
    if data.len() != old_units * inner {
        return Err(Error::Internal(format!(
            "redistribute: local block has {} elements, the layout says {}",
            data.len(),
            old_units * inner
        )));
    }
    // Global index of a unit along `axis`, given its local multi-index.
    let global_along = |idx: &[usize], axis: usize, layout: &Layout, local_axis: usize| -> usize {
        if axis == local_axis {
            layout.local_to_global(me, idx[axis]).unwrap_or(usize::MAX)
        } else {
            idx[axis]
        }
    };
    let mut idx = vec![0usize; ud];

    // The old layout is replicated: every rank already has everything.
    if mv.old.is_replicated() {
        let mut out = Vec::with_capacity(new_units * inner);
        for k in 0..new_units {
            decode(k, &new_dims, &mut idx);
            let g_new = global_along(&idx, mv.new_axis, mv.new, mv.new_axis);
            let mut gidx = idx.clone();
            gidx[mv.new_axis] = g_new;
            // In the old (full) block the split axis is global already.
            let exists = gidx[mv.old_axis] < mv.old_shape[mv.old_axis];
            if exists {
                let k_old = gidx.iter().zip(&mv.old_shape[..ud]).fold(0, |k, (&i, &d)| k * d + i);
                out.extend_from_slice(&data[k_old * inner..(k_old + 1) * inner]);
            } else {
                out.extend(std::iter::repeat_n(fill, inner));
            }
        }
        return Ok(out);
    }

    // Sender: destination of every old unit; units beyond the new extent of
    // the split axis are dropped (1-D shrink).
    let dest_of = |idx: &[usize]| -> Option<usize> {
        let g_new_axis = global_along(idx, mv.new_axis, mv.old, mv.old_axis);
        if g_new_axis >= mv.new_shape[mv.new_axis] {
            return None;
        }
        mv.new.owner(g_new_axis).ok()
    };
    let (recv, recv_counts) = if mv.new.is_replicated() {
        // Everyone gets everything: one MPI_Allgatherv of the kept units.
        let mut keep = Vec::with_capacity(data.len());
        for k in 0..old_units {
            decode(k, &old_dims, &mut idx);
            if dest_of(&idx).is_some() {
                keep.extend_from_slice(&data[k * inner..(k + 1) * inner]);
            }
        }
        drop(data);
        ctx.allgatherv(&keep)?
    } else {
        let mut counts = vec![0usize; size];
        let mut dests = Vec::with_capacity(old_units);
        for k in 0..old_units {
            decode(k, &old_dims, &mut idx);
            let d = dest_of(&idx);
            if let Some(d) = d {
                counts[d] += inner;
            }
            dests.push(d.map_or(u32::MAX, |d| d as u32));
        }
        let mut offs = vec![0usize; size];
        for r in 1..size {
            offs[r] = offs[r - 1] + counts[r - 1];
        }
        let total: usize = counts.iter().sum();
        let mut send = crate::memory::with_capacity(total.max(1));
        send.resize(total, T::default());
        for (k, &d) in dests.iter().enumerate() {
            if d != u32::MAX {
                let o = offs[d as usize];
                send[o..o + inner].copy_from_slice(&data[k * inner..(k + 1) * inner]);
                offs[d as usize] += inner;
            }
        }
        drop(dests);
        drop(data);
        ctx.alltoallv(&send, &counts)?
    };
    // Receiver: take units from each source in order.
    let mut cursor = vec![0usize; size];
    for r in 1..size {
        cursor[r] = cursor[r - 1] + recv_counts[r - 1];
    }
    let mut out = Vec::with_capacity(new_units * inner);
    for k in 0..new_units {
        decode(k, &new_dims, &mut idx);
        let g_old_axis = global_along(&idx, mv.old_axis, mv.new, mv.new_axis);
        if g_old_axis >= mv.old_shape[mv.old_axis] {
            out.extend(std::iter::repeat_n(fill, inner));
            continue;
        }
        let s = mv.old.owner(g_old_axis)?;
        let c = cursor[s];
        if c + inner > recv.len() {
            return Err(Error::Internal("redistribute: received fewer elements than expected".into()));
        }
        out.extend_from_slice(&recv[c..c + inner]);
        cursor[s] += inner;
    }
    Ok(out)
}

/// 1-D convenience: moves `data` from `old` to `new` (global sizes may
/// differ: the first `min` elements are kept, the rest filled). Collective.
pub(crate) fn redistribute_1d<T: Element>(
    ctx: &Context,
    data: Vec<T>,
    old: &Layout,
    new: &Layout,
    fill: T,
) -> Result<Vec<T>> {
    if old == new {
        return Ok(data);
    }
    if ctx.size() == 1 && !old.is_replicated() && !new.is_replicated() {
        // One rank holds everything in global order under every layout.
        let mut data = data;
        data.resize(new.global_size(), fill);
        return Ok(data);
    }
    if old.is_replicated() || new.is_replicated() {
        let os = [old.global_size()];
        let ns = [new.global_size()];
        let mv = Move { old_shape: &os, old_axis: 0, old, new_shape: &ns, new_axis: 0, new };
        return redistribute(ctx, data, &mv, fill);
    }
    // Dispatch once on the pair of concrete layouts, so that the per-element
    // index arithmetic below is monomorphised and inlined.
    macro_rules! concrete {
        ($l:expr, $p:ident => $e:expr) => {
            match $l {
                Layout::Block($p) => $e,
                Layout::Cyclic($p) => $e,
                Layout::BlockCyclic($p) => $e,
                Layout::Weighted($p) => $e,
                Layout::Replicated($p) => $e,
            }
        };
    }
    concrete!(old, o => concrete!(new, n => move_1d(ctx, data, o, n, fill)))
}

/// The 1-D, non-replicated case of [`redistribute`], generic over the two
/// concrete partitions. Collective.
fn move_1d<T: Element, P: Partition, Q: Partition>(
    ctx: &Context,
    data: Vec<T>,
    old: &P,
    new: &Q,
    fill: T,
) -> Result<Vec<T>> {
    let me = ctx.rank();
    let size = ctx.size();
    let (n_old, n_new) = (old.global_size(), new.global_size());
    // Sender: destination of each local element (dropped beyond n_new).
    let mut counts = vec![0usize; size];
    let mut dests: Vec<u32> = Vec::with_capacity(data.len());
    for l in 0..data.len() {
        let g = old.local_to_global(me, l)?;
        let d = if g < n_new { new.owner(g)? as u32 } else { u32::MAX };
        if d != u32::MAX {
            counts[d as usize] += 1;
        }
        dests.push(d);
    }
    let mut offs = vec![0usize; size];
    for r in 1..size {
        offs[r] = offs[r - 1] + counts[r - 1];
    }
    let total: usize = counts.iter().sum();
    let mut send = Vec::with_capacity(total.max(1));
    send.resize(total, T::default());
    for (x, &d) in data.iter().zip(&dests) {
        if d != u32::MAX {
            send[offs[d as usize]] = *x;
            offs[d as usize] += 1;
        }
    }
    drop(dests);
    drop(data);
    let (recv, recv_counts) = ctx.alltoallv(&send, &counts)?;
    drop(send);
    // Receiver: element l of the new part comes from the old owner of its
    // global index, in ascending order from each source.
    let mut cursor = vec![0usize; size];
    for r in 1..size {
        cursor[r] = cursor[r - 1] + recv_counts[r - 1];
    }
    let n_local = new.local_size(me);
    let mut out = Vec::with_capacity(n_local.max(1));
    for l in 0..n_local {
        let g = new.local_to_global(me, l)?;
        if g >= n_old {
            out.push(fill);
            continue;
        }
        let s = old.owner(g)?;
        let c = cursor[s];
        let x = *recv
            .get(c)
            .ok_or_else(|| Error::Internal("redistribute: received fewer elements than expected".into()))?;
        out.push(x);
        cursor[s] = c + 1;
    }
    Ok(out)
}
