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
    let size = ctx.size();
    move_1d(ctx, data, &Shape::of(old, size), &Shape::of(new, size), fill)
}

/// How a non-replicated 1-D layout lays out its runs of consecutive global
/// indices, which is all the 1-D move needs to know.
#[derive(Debug)]
enum Runs {
    /// Contiguous parts in rank order (block, weighted): rank `r` holds
    /// `offsets[r]..offsets[r + 1]` (`size + 1` entries).
    Ranges(Vec<usize>),
    /// Blocks of `b` consecutive indices dealt round robin (cyclic: `b = 1`;
    /// block-cyclic): block `k` lives on rank `k % size`.
    Periodic(usize),
}

/// A 1-D layout of `n` indices over `p` ranks, as runs.
#[derive(Debug)]
struct Shape {
    n: usize,
    p: usize,
    runs: Runs,
}

impl Shape {
    fn of(l: &Layout, p: usize) -> Shape {
        let runs = match l {
            Layout::Cyclic(_) => Runs::Periodic(1),
            Layout::BlockCyclic(bc) => Runs::Periodic(bc.block_size()),
            _ => Runs::Ranges((0..=p).map(|r| l.local_offset(r).min(l.global_size())).collect()),
        };
        Shape { n: l.global_size(), p, runs }
    }

    /// Number of `rank`'s indices below `limit` (closed form).
    fn count_below(&self, rank: usize, limit: usize) -> usize {
        let m = limit.min(self.n);
        match &self.runs {
            Runs::Ranges(o) => o[rank + 1].min(m).saturating_sub(o[rank]),
            Runs::Periodic(b) => {
                let period = b * self.p;
                (m / period) * b + (m % period).saturating_sub(rank * b).min(*b)
            }
        }
    }

    /// Number of `rank`'s indices in `lo..hi`.
    fn count_in(&self, rank: usize, lo: usize, hi: usize) -> usize {
        self.count_below(rank, hi) - self.count_below(rank, lo.min(hi))
    }

    /// Calls `f(start, len, owner)` for the maximal pieces of `a..e` (in
    /// ascending order) over which the owner is constant.
    fn split(&self, a: usize, e: usize, mut f: impl FnMut(usize, usize, usize)) {
        let mut g = a;
        match &self.runs {
            Runs::Ranges(o) => {
                while g < e {
                    let r = o.partition_point(|&x| x <= g) - 1;
                    let end = o[r + 1].min(e);
                    f(g, end - g, r);
                    g = end;
                }
            }
            Runs::Periodic(b) => {
                while g < e {
                    let k = g / b;
                    let end = ((k + 1) * b).min(e);
                    f(g, end - g, k % self.p);
                    g = end;
                }
            }
        }
    }

    /// Calls `f(start, len)` for the runs of `rank`'s indices below `limit`,
    /// in ascending (= local) order.
    fn runs_of(&self, rank: usize, limit: usize, mut f: impl FnMut(usize, usize)) {
        let m = limit.min(self.n);
        match &self.runs {
            Runs::Ranges(o) => {
                let (a, e) = (o[rank], o[rank + 1].min(m));
                if a < e {
                    f(a, e - a);
                }
            }
            Runs::Periodic(b) => {
                let mut s = rank * b;
                while s < m {
                    f(s, (s + b).min(m) - s);
                    s += b * self.p;
                }
            }
        }
    }
}

/// First index `>= s` congruent to `r` modulo `p`.
fn first_congruent(s: usize, r: usize, p: usize) -> usize {
    s + (r + p - s % p) % p
}

/// `len` received elements from `cursor` on, or an error if the exchange
/// delivered fewer than the layouts imply.
fn take<T>(recv: &[T], cursor: usize, len: usize) -> Result<&[T]> {
    recv.get(cursor..cursor + len)
        .ok_or_else(|| Error::Internal("redistribute: received fewer elements than expected".into()))
}

/// The 1-D, non-replicated case of [`redistribute`]: one `MPI_Alltoallv`
/// (through [`Context::alltoallv`]) with packing and unpacking done in runs
/// of consecutive indices, never per element through `owner()`:
///
/// * to a contiguous layout (block, weighted) the send buffer is the local
///   part itself (its elements are already grouped by destination, in
///   rank order); from a contiguous layout the receive buffer is already
///   the new local part (sources arrive in rank order = global order);
/// * contiguous to cyclic is a strided gather per destination, cyclic to
///   contiguous a strided scatter per source;
/// * any other pair walks the runs of one side split at the run
///   boundaries of the other (one `copy_from_slice` per piece).
///
/// Counts come from closed forms except in the last case (one counting
/// walk). Collective.
fn move_1d<T: Element>(ctx: &Context, data: Vec<T>, old: &Shape, new: &Shape, fill: T) -> Result<Vec<T>> {
    let me = ctx.rank();
    let p = ctx.size();
    let keep = old.n.min(new.n); // indices that exist on both sides
    let n_local_new = match &new.runs {
        Runs::Ranges(o) => o[me + 1] - o[me],
        Runs::Periodic(_) => new.count_below(me, new.n),
    };
    if data.len() != old.count_below(me, old.n) {
        return Err(Error::Internal(format!(
            "redistribute: local block has {} elements, the layout says {}",
            data.len(),
            old.count_below(me, old.n)
        )));
    }
    let kept_here = old.count_below(me, keep); // a prefix of `data`

    // ---- sender: group my kept elements by destination, ascending.
    let mut counts = vec![0usize; p];
    let packed: Option<Vec<T>> = match (&old.runs, &new.runs) {
        (_, Runs::Ranges(o)) => {
            for (d, c) in counts.iter_mut().enumerate() {
                *c = old.count_in(me, o[d], o[d + 1]);
            }
            None // send = data[..kept_here] as it is
        }
        (Runs::Ranges(o), Runs::Periodic(1)) => {
            let (s, e) = (o[me], o[me] + kept_here);
            let mut send = crate::memory::with_capacity(kept_here.max(1));
            for (d, c) in counts.iter_mut().enumerate() {
                let g0 = first_congruent(s, d, p);
                if g0 < e {
                    let before = send.len();
                    send.extend(data[g0 - s..e - s].iter().step_by(p).copied());
                    *c = send.len() - before;
                }
            }
            Some(send)
        }
        _ => {
            if let Runs::Ranges(o) = &old.runs {
                let (s, e) = (o[me], o[me] + kept_here);
                for (d, c) in counts.iter_mut().enumerate() {
                    *c = new.count_in(d, s, e);
                }
            } else {
                old.runs_of(me, keep, |a, len| new.split(a, a + len, |_, l, d| counts[d] += l));
            }
            let mut offs = vec![0usize; p];
            for r in 1..p {
                offs[r] = offs[r - 1] + counts[r - 1];
            }
            let mut send = crate::memory::with_capacity(kept_here.max(1));
            send.resize(kept_here, T::default());
            let mut l = 0usize; // local index of the run's first element
            old.runs_of(me, keep, |a, len| {
                new.split(a, a + len, |g, n, d| {
                    let at = l + (g - a);
                    send[offs[d]..offs[d] + n].copy_from_slice(&data[at..at + n]);
                    offs[d] += n;
                });
                l += len;
            });
            Some(send)
        }
    };
    let (recv, recv_counts) = match packed {
        Some(send) => {
            drop(data);
            ctx.alltoallv(&send, &counts)?
        }
        None => {
            let r = ctx.alltoallv(&data[..kept_here], &counts)?;
            drop(data);
            r
        }
    };

    // ---- receiver: my new local part, in ascending global order.
    let recv_here = new.count_below(me, keep);
    if recv.len() != recv_here {
        return Err(Error::Internal(format!(
            "redistribute: received {} elements, the layouts imply {recv_here}",
            recv.len()
        )));
    }
    if let Runs::Ranges(_) = old.runs {
        // Sources in rank order are in global order: recv is the new part.
        let mut out = recv;
        out.resize(n_local_new, fill);
        return Ok(out);
    }
    let mut cursor = vec![0usize; p];
    for r in 1..p {
        cursor[r] = cursor[r - 1] + recv_counts[r - 1];
    }
    let mut out = crate::memory::with_capacity(n_local_new.max(1));
    out.resize(n_local_new, fill);
    match (&old.runs, &new.runs) {
        (Runs::Periodic(1), Runs::Ranges(o)) => {
            let (s, e) = (o[me], o[me] + recv_here);
            for (r, &c) in cursor.iter().enumerate() {
                let g0 = first_congruent(s, r, p);
                if g0 < e {
                    let src = take(&recv, c, recv_counts[r])?;
                    let dst = out[g0 - s..e - s].iter_mut().step_by(p);
                    if dst.len() != src.len() {
                        return Err(Error::Internal("redistribute: a source sent an unexpected count".into()));
                    }
                    for (y, x) in dst.zip(src) {
                        *y = *x;
                    }
                }
            }
        }
        _ => {
            let mut l = 0usize;
            let mut bad = false;
            new.runs_of(me, keep, |a, len| {
                old.split(a, a + len, |g, n, s| match take(&recv, cursor[s], n) {
                    Ok(src) => {
                        let at = l + (g - a);
                        out[at..at + n].copy_from_slice(src);
                        cursor[s] += n;
                    }
                    Err(_) => bad = true,
                });
                l += len;
            });
            if bad {
                return Err(Error::Internal("redistribute: received fewer elements than expected".into()));
            }
        }
    }
    Ok(out)
}
