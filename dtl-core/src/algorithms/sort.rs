//! Distributed sort and order statistics of the 1-D containers; see
//! the [algorithms module docs](crate::algorithms#sorting).

use std::cmp::Ordering;

use rayon::prelude::*;

use super::kernels::parallel;
use super::Execution;
use crate::containers::redistribute::redistribute_1d;
use crate::containers::Distributed1D;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Partition, PartitionSpec};
use crate::ReduceOp;

/// Below this many elements per side a merge runs sequentially.
const MERGE_PAR_MIN: usize = 1 << 15;

/// Safety net: rounds of the splitter search (each round removes a
/// constant fraction of the candidates; 200 is never reached in practice).
const MAX_ROUNDS: usize = 200;

/// The sort order, a total order: NaN last (in both directions), numbers
/// by [`Element::order_key`] (numeric, with `-0.0` just before `0.0`).
#[inline]
fn order<T: Element>(a: &T, b: &T, reverse: bool) -> Ordering {
    let k = |x: &T| (x.is_nan(), if reverse { !x.order_key() } else { x.order_key() });
    k(a).cmp(&k(b))
}

/// The numeric order of `is_sorted`: like [`order`], but `-0.0 == 0.0`.
#[inline]
fn numeric<T: Element>(a: &T, b: &T, reverse: bool) -> Ordering {
    match a.partial_cmp(b) {
        Some(o) if reverse => o.reverse(),
        Some(o) => o,
        None => a.is_nan().cmp(&b.is_nan()),
    }
}

/// Sorts `x` locally in the sort [`order`]: NaNs (bit for bit, in their
/// order) set apart at the end, the numbers converted to their
/// [`Element::order_key`]s (flipped for `reverse`), the keys sorted with
/// pdqsort — rayon's parallel one under `Par` — and converted back
/// (integer comparisons are faster than float ones; one key buffer of
/// 8 bytes per element). Equal keys are identical values, so the result
/// is also what a stable sort gives.
fn local_sort<T: Element>(x: &mut [T], reverse: bool, exec: Execution) {
    let flip = if reverse { u64::MAX } else { 0 };
    let m = nan_last(x);
    let numbers = &mut x[..m];
    if parallel(exec, m) {
        let mut keys: Vec<u64> = crate::memory::with_capacity(m);
        numbers.par_iter().map(|v| v.order_key() ^ flip).collect_into_vec(&mut keys);
        keys.par_sort_unstable();
        numbers.par_iter_mut().zip(keys.par_iter()).for_each(|(v, &k)| *v = T::from_order_key(k ^ flip));
    } else {
        let mut keys: Vec<u64> = crate::memory::with_capacity(m);
        keys.extend(numbers.iter().map(|v| v.order_key() ^ flip));
        keys.sort_unstable();
        numbers.iter_mut().zip(&keys).for_each(|(v, &k)| *v = T::from_order_key(k ^ flip));
    }
}

/// Turns `x`, sorted in ascending numeric order with NaNs last, into the
/// sort [`order`]: `-0.0` before `0.0` among the zeros, then the numbers
/// reversed for `reverse`.
fn presorted<T: Element>(x: &mut [T], reverse: bool) {
    let m = x.partition_point(|v| !v.is_nan());
    if T::DTYPE.is_float() {
        let lo = x[..m].partition_point(|v| *v < T::ZERO);
        let hi = x[..m].partition_point(|v| *v <= T::ZERO);
        let neg_zero = T::from_order_key(T::ZERO.order_key() - 1);
        let negs = x[lo..hi].iter().filter(|v| v.order_key() == neg_zero.order_key()).count();
        x[lo..lo + negs].fill(neg_zero);
        x[lo + negs..hi].fill(T::ZERO);
    }
    if reverse {
        x[..m].reverse();
    }
}

/// True if `x` is in ascending numeric order with NaNs last (`-0.0` and
/// `0.0` in any order). Counts the offending neighbours instead of
/// stopping at the first, so that the loop vectorises (about 1 ns per
/// element).
fn ascending_nan_last<T: Element>(x: &[T]) -> bool {
    let n = x.len().saturating_sub(1);
    let bad = |p: &T, q: &T| usize::from(*p > *q) | usize::from(p.is_nan() & !q.is_nan());
    x[..n].iter().zip(&x[n.min(1)..]).map(|(p, q)| bad(p, q)).sum::<usize>() == 0
}

/// Moves the NaNs of `x` to its end, keeping the order of the numbers and
/// of the NaNs; returns the number of numbers.
fn nan_last<T: Element>(x: &mut [T]) -> usize {
    if !T::DTYPE.is_float() {
        return x.len();
    }
    let nans: Vec<T> = x.iter().copied().filter(|v| v.is_nan()).collect();
    if nans.is_empty() {
        return x.len();
    }
    let mut w = 0;
    for r in 0..x.len() {
        if !x[r].is_nan() {
            x[w] = x[r];
            w += 1;
        }
    }
    x[w..].copy_from_slice(&nans);
    w
}

/// Stable merge of `a` and `b`, each in the sort [`order`], into `out`
/// (ties: `a` first): the numbers by their keys (integer comparisons, split
/// in parallel — merge path — when large), then `a`'s NaNs, then `b`'s.
fn merge<T: Element>(a: &[T], b: &[T], out: &mut [T], reverse: bool, par: bool) {
    debug_assert_eq!(a.len() + b.len(), out.len());
    let (na, nb) = (a.partition_point(|v| !v.is_nan()), b.partition_point(|v| !v.is_nan()));
    let (numbers, nans) = out.split_at_mut(na + nb);
    merge_numbers(&a[..na], &b[..nb], numbers, if reverse { u64::MAX } else { 0 }, par);
    let (from_a, from_b) = nans.split_at_mut(a.len() - na);
    from_a.copy_from_slice(&a[na..]);
    from_b.copy_from_slice(&b[nb..]);
}

/// [`merge`] of NaN-free runs sorted by `order_key() ^ flip`.
fn merge_numbers<T: Element>(a: &[T], b: &[T], out: &mut [T], flip: u64, par: bool) {
    if par && a.len() + b.len() > 2 * MERGE_PAR_MIN {
        let (ma, mb) = merge_path(a, b, (a.len() + b.len()) / 2, flip);
        let (lo, hi) = out.split_at_mut(ma + mb);
        rayon::join(
            || merge_numbers(&a[..ma], &b[..mb], lo, flip, par),
            || merge_numbers(&a[ma..], &b[mb..], hi, flip, par),
        );
        return;
    }
    merge_lanes(a, b, out, flip);
}

/// Where the merge of `a` and `b` (ties: `a` first) has written `d`
/// elements: how many came from `a` and how many from `b` (a binary
/// search along the "merge path").
fn merge_path<T: Element>(a: &[T], b: &[T], d: usize, flip: u64) -> (usize, usize) {
    let key = |x: &T| x.order_key() ^ flip;
    let (mut lo, mut hi) = (d.saturating_sub(b.len()), d.min(a.len()));
    while lo < hi {
        let i = lo + (hi - lo) / 2;
        // `a[i]` is among the first `d` if it does not come after `b[d-i-1]`.
        if key(&a[i]) <= key(&b[d - i - 1]) {
            lo = i + 1;
        } else {
            hi = i;
        }
    }
    (lo, d - lo)
}

/// Independent merges interleaved by [`merge_lanes`].
const LANES: usize = 4;

/// The sequential merge kernel: the output is cut into [`LANES`] pieces
/// along the merge path and the pieces are merged in one interleaved
/// loop, branch-free (the smaller key is selected, not branched on). A
/// plain merge is bound by one compare → load chain per element and by
/// mispredicted branches on random data; four independent chains run
/// about 4× faster (2 ns per f64 element on this machine).
fn merge_lanes<T: Element>(a: &[T], b: &[T], out: &mut [T], flip: u64) {
    assert_eq!(a.len() + b.len(), out.len(), "merge: output length");
    let n = out.len();
    // Per lane: next index in `a`, its end, next in `b`, its end, next out.
    let mut lane = [[0usize; 5]; LANES];
    let mut from = (0, 0);
    for (l, st) in lane.iter_mut().enumerate() {
        let to = if l + 1 == LANES { (a.len(), b.len()) } else { merge_path(a, b, n * (l + 1) / LANES, flip) };
        *st = [from.0, to.0, from.1, to.1, from.0 + from.1];
        from = to;
    }
    let step = |st: &mut [usize; 5], x: T, y: T| -> T {
        let (kx, ky) = (x.order_key() ^ flip, y.order_key() ^ flip);
        let take_b = usize::from(ky < kx);
        st[0] += 1 - take_b;
        st[2] += take_b;
        st[4] += 1;
        // Equal keys are equal values, so the smaller key is the element.
        T::from_order_key(kx.min(ky) ^ flip)
    };
    while lane.iter().all(|st| st[0] < st[1] && st[2] < st[3]) {
        for st in lane.iter_mut() {
            let o = st[4];
            // SAFETY: the loop condition holds `st[0] < st[1] <= a.len()`
            // and `st[2] < st[3] <= b.len()` (lane ends come from
            // `merge_path`, which stays within the runs), and
            // `st[4] = st[0] + st[2] < a.len() + b.len() = out.len()`.
            let (x, y) = unsafe { (*a.get_unchecked(st[0]), *b.get_unchecked(st[2])) };
            let v = step(st, x, y);
            unsafe { *out.get_unchecked_mut(o) = v };
        }
    }
    // Finish each lane on its own, then copy what is left of its runs.
    for st in lane.iter_mut() {
        while st[0] < st[1] && st[2] < st[3] {
            let o = st[4];
            out[o] = step(st, a[st[0]], b[st[2]]);
        }
        let [i, ie, j, je, o] = *st;
        out[o..o + ie - i].copy_from_slice(&a[i..ie]);
        out[o + ie - i..o + ie - i + je - j].copy_from_slice(&b[j..je]);
    }
}

/// Merges sorted runs (given by their lengths, in rank order) of `data`
/// into `out`, sorted; ties keep the run order. Pairwise passes
/// (log2(runs) of them) alternate between `data` and `out` so that the
/// last one writes `out` (one extra copy when the number of passes is even).
fn merge_runs<T: Element>(data: Vec<T>, lens: &[usize], out: &mut [T], reverse: bool, par: bool) {
    assert_eq!(data.len(), out.len(), "merge_runs: output length");
    let mut bounds = vec![0];
    for &l in lens.iter().filter(|&&l| l > 0) {
        bounds.push(bounds[bounds.len() - 1] + l);
    }
    let passes = (bounds.len() - 1).next_power_of_two().trailing_zeros();
    if passes == 0 {
        out.copy_from_slice(&data);
        return;
    }
    let mut src = data;
    // `true` while the latest merged data is in `src`.
    let mut in_src = true;
    while bounds.len() > 2 {
        let runs = bounds.len() - 1;
        let (from, to): (&[T], &mut [T]) = if in_src { (&src, &mut *out) } else { (&*out, &mut src) };
        let mut next = vec![0];
        let mut jobs = Vec::with_capacity(runs.div_ceil(2));
        let mut rest = to;
        for j in (0..runs).step_by(2) {
            let (s, m) = (bounds[j], bounds[j + 1]);
            let e = if j + 1 < runs { bounds[j + 2] } else { m };
            let (head, tail) = rest.split_at_mut(e - s);
            rest = tail;
            jobs.push((s, m, e, head));
            next.push(e);
        }
        let run = |(s, m, e, o): (usize, usize, usize, &mut [T])| merge(&from[s..m], &from[m..e], o, reverse, par);
        if par {
            jobs.into_par_iter().for_each(run);
        } else {
            jobs.into_iter().for_each(run);
        }
        bounds = next;
        in_src = !in_src;
    }
    if in_src {
        out.copy_from_slice(&src);
    }
}

/// A position in the global order: value, then rank, then index in that
/// rank's sorted part (a strict total order over all elements).
#[derive(Clone, Copy)]
struct Key<T> {
    value: T,
    rank: usize,
    index: usize,
}

/// How many of rank `me`'s sorted elements `a` come before `k`.
fn count_before<T: Element>(a: &[T], me: usize, k: &Key<T>, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    match me.cmp(&k.rank) {
        Ordering::Less => a.partition_point(|x| cmp(x, &k.value) != Ordering::Greater),
        Ordering::Equal => k.index,
        Ordering::Greater => a.partition_point(|x| cmp(x, &k.value) == Ordering::Less),
    }
}

/// For every target `targets[b]` (a global count, non-decreasing), the
/// number of this rank's sorted elements `a` that fall among the first
/// `targets[b]` of the global order. Collective.
fn exact_splits<T: Element>(
    ctx: &crate::Context,
    a: &[T],
    targets: &[usize],
    cmp: &impl Fn(&T, &T) -> Ordering,
) -> Result<Vec<usize>> {
    let (me, nb) = (ctx.rank(), targets.len());
    let mut lo = vec![0usize; nb];
    let mut hi = vec![a.len(); nb];
    let n: usize = ctx.allreduce_scalar(a.len() as u64, ReduceOp::Sum)? as usize;
    let mut done: Vec<bool> = targets.iter().map(|&t| t == 0 || t >= n).collect();
    for (b, &t) in targets.iter().enumerate() {
        if t >= n {
            lo[b] = a.len();
        } else if t == 0 {
            hi[b] = 0;
        }
    }
    let mut interpolate = vec![true; nb];
    let mut last_weight = vec![u64::MAX; nb];
    for _round in 0..MAX_ROUNDS {
        if done.iter().all(|&d| d) {
            return Ok(lo);
        }
        // Global sums of the lower bounds and of the range widths.
        let mut mine: Vec<u64> = lo.iter().map(|&l| l as u64).collect();
        mine.extend((0..nb).map(|b| (hi[b] - lo[b]) as u64));
        let tot = ctx.allreduce(&mine, ReduceOp::Sum)?;
        let (sums, widths) = tot.split_at(nb);
        // Each rank's proposal per boundary: the element of its range at
        // the fraction of the range the target still needs.
        let mut vals = vec![T::ZERO; nb];
        let mut meta = vec![0u64; 2 * nb];
        for b in 0..nb {
            let w = hi[b] - lo[b];
            if done[b] || w == 0 {
                continue;
            }
            let frac = if interpolate[b] && widths[b] > 0 {
                ((targets[b] as f64 - sums[b] as f64) / widths[b] as f64).clamp(0.0, 1.0)
            } else {
                0.5
            };
            let i = lo[b] + ((frac * w as f64) as usize).min(w - 1);
            vals[b] = a[i];
            meta[2 * b] = i as u64;
            meta[2 * b + 1] = w as u64;
        }
        let all_vals = ctx.allgather(&vals)?;
        let all_meta = ctx.allgather(&meta)?;
        let mut counts = vec![0u64; nb];
        let mut pivots: Vec<Option<Key<T>>> = vec![None; nb];
        for b in 0..nb {
            if done[b] {
                continue;
            }
            let mut cands: Vec<(Key<T>, u64)> = (0..ctx.size())
                .filter(|&r| all_meta[r * 2 * nb + 2 * b + 1] > 0)
                .map(|r| {
                    let key =
                        Key { value: all_vals[r * nb + b], rank: r, index: all_meta[r * 2 * nb + 2 * b] as usize };
                    (key, all_meta[r * 2 * nb + 2 * b + 1])
                })
                .collect();
            if cands.is_empty() {
                // Every range is closed: the splits are the lower bounds.
                done[b] = true;
                continue;
            }
            cands.sort_by(|(x, _), (y, _)| cmp(&x.value, &y.value).then(x.rank.cmp(&y.rank)));
            let total: u64 = cands.iter().map(|c| c.1).sum();
            // A weighted median of the proposals: at least half the
            // candidate weight lies on each side of it.
            let mut acc = 0;
            let pick = cands.iter().position(|c| {
                acc += c.1;
                2 * acc >= total
            });
            let pivot = cands[pick.unwrap_or(0)].0;
            // Fall back to plain medians while interpolation is not
            // halving the candidates.
            interpolate[b] = 2 * widths[b] <= last_weight[b];
            last_weight[b] = widths[b];
            counts[b] = count_before(a, me, &pivot, cmp) as u64;
            pivots[b] = Some(pivot);
        }
        let below = ctx.allreduce(&counts, ReduceOp::Sum)?;
        for b in 0..nb {
            let Some(p) = pivots[b] else { continue };
            let c = counts[b] as usize;
            match (below[b] as usize).cmp(&targets[b]) {
                Ordering::Equal => {
                    lo[b] = c;
                    hi[b] = c;
                    done[b] = true;
                }
                // The pivot and everything before it are in the prefix.
                Ordering::Less => lo[b] = lo[b].max(c + usize::from(me == p.rank)),
                // Everything from the pivot on is out.
                Ordering::Greater => hi[b] = hi[b].min(c),
            }
            debug_assert!(lo[b] <= hi[b]);
        }
    }
    Err(Error::Internal(format!("sort: splitter search did not converge in {MAX_ROUNDS} rounds")))
}

impl<T: Element> Distributed1D<T> {
    /// Sorts the container in global index order (ascending, or descending
    /// with `reverse`; NaN last either way). Afterwards every rank holds
    /// the same number of elements as before (its partition's local size),
    /// and element `i` is the `i`-th of the sorted sequence. Elements the
    /// order calls equal are bitwise identical (it tells `-0.0` from
    /// `0.0`), except NaNs with different bits, whose relative order only
    /// [`stable_sort`](Self::stable_sort) promises to keep. Exact-splitter
    /// sample sort with one `MPI_Alltoallv` (see the [algorithms module
    /// docs](crate::algorithms#sorting)).
    /// Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if ranks pass different `reverse` or containers
    /// of different shapes; MPI failures as [`Error::Communication`].
    pub fn sort(&mut self, reverse: bool) -> Result<()> {
        self.sort_impl(reverse, false)
    }

    /// Like [`sort`](Self::sort), keeping equal elements in their original
    /// global order (NumPy's `kind="stable"`; for numbers this is visible
    /// only among NaNs with different bits). Block and weighted containers
    /// cost the same as `sort`; cyclic and block-cyclic ones move to the
    /// block layout first (one more `MPI_Alltoallv`). Collective.
    ///
    /// # Errors
    /// As for [`sort`](Self::sort).
    pub fn stable_sort(&mut self, reverse: bool) -> Result<()> {
        self.sort_impl(reverse, true)
    }

    /// Sorts this rank's part only (ascending or descending, NaN last).
    /// Not collective.
    pub fn sort_local(&mut self, reverse: bool) {
        local_sort(&mut self.data, reverse, self.exec);
    }

    /// Like [`sort`](Self::sort), for a caller that has already sorted
    /// this rank's part in ascending numeric order with NaNs last — e.g.
    /// with NumPy's SIMD `ndarray.sort()` from Python, several times faster
    /// than dtl's own local sort on AVX-512 machines. dtl checks that (one
    /// pass), puts `-0.0` before `0.0` among the zeros, reverses for
    /// `reverse`, then runs the splitter search, the one `MPI_Alltoallv`
    /// and the merge of [`sort`](Self::sort). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if some rank's part is not
    /// sorted; otherwise as for [`sort`](Self::sort).
    pub fn sort_presorted(&mut self, reverse: bool) -> Result<()> {
        let unsorted = (!ascending_nan_last(&self.data)).then(|| {
            Error::InvalidArgument(format!(
                "sort_presorted: rank {}'s part is not sorted in ascending order with NaNs last",
                self.ctx.rank()
            ))
        });
        self.collective_with("sort", None, &[("reverse", reverse as i64)], unsorted)?;
        presorted(&mut self.data, reverse);
        self.sort_checked(reverse, false, true)
    }

    fn sort_impl(&mut self, reverse: bool, stable: bool) -> Result<()> {
        let what = if stable { "stable_sort" } else { "sort" };
        self.collective_with(what, None, &[("reverse", reverse as i64)], None)?;
        self.sort_checked(reverse, stable, false)
    }

    /// The sort after the agreement; `ready`: the local part is already in
    /// the sort order.
    fn sort_checked(&mut self, reverse: bool, stable: bool, ready: bool) -> Result<()> {
        let exec = self.exec;
        let sort_part = |x: &mut [T]| {
            if !ready {
                local_sort(x, reverse, exec)
            }
        };
        if self.local_answers() {
            sort_part(&mut self.data);
            return Ok(());
        }
        let n = self.global_size();
        let ctx = self.ctx.clone();
        if self.part.is_contiguous() {
            let targets: Vec<usize> = (1..ctx.size()).map(|r| self.part.local_offset(r)).collect();
            sort_part(&mut self.data);
            // Every rank receives its own local size: no reallocation, so
            // the exposed local part stays where it is.
            return exchange_sorted(&ctx, &mut self.data, &targets, exec, reverse);
        }
        let block = PartitionSpec::Block.layout(n, ctx.size())?;
        let mut part = if stable {
            redistribute_1d(&ctx, self.data.clone(), &self.part, &block, T::ZERO)?
        } else {
            self.data.clone()
        };
        if stable {
            local_sort(&mut part, reverse, exec);
        } else {
            sort_part(&mut part);
        }
        let targets: Vec<usize> = (1..ctx.size()).map(|r| block.local_offset(r)).collect();
        exchange_sorted(&ctx, &mut part, &targets, exec, reverse)?;
        let back = redistribute_1d(&ctx, part, &block, &self.part, T::ZERO)?;
        self.data.copy_from_slice(&back);
        Ok(())
    }

    /// True if the elements are in sorted order (ascending, or descending
    /// with `reverse`; NaN last, as [`sort`](Self::sort) leaves them), on
    /// every rank. Contiguous partitions: a local check and one
    /// `MPI_Allgather` of each rank's ends; cyclic and block-cyclic check a
    /// block copy (`MPI_Alltoallv`). Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if ranks pass different `reverse`.
    pub fn is_sorted(&self, reverse: bool) -> Result<bool> {
        self.collective_with("is_sorted", None, &[("reverse", reverse as i64)], None)?;
        let cmp = |a: &T, b: &T| numeric(a, b, reverse);
        // Plain comparisons first (no NaN handling): when they all hold
        // there is no NaN and the numeric order agrees; otherwise the
        // NaN-aware check decides.
        let plain = |x: &[T]| {
            if reverse {
                x.windows(2).all(|w| w[0] >= w[1])
            } else {
                x.windows(2).all(|w| w[0] <= w[1])
            }
        };
        let sorted = |x: &[T]| plain(x) || x.windows(2).all(|w| cmp(&w[0], &w[1]) != Ordering::Greater);
        if self.local_answers() {
            return Ok(sorted(&self.data));
        }
        let block;
        let data: &[T] = if self.part.is_contiguous() {
            &self.data
        } else {
            let layout = PartitionSpec::Block.layout(self.global_size(), self.ctx.size())?;
            block = redistribute_1d(&self.ctx, self.data.clone(), &self.part, &layout, T::ZERO)?;
            &block
        };
        let ok = sorted(data) as u64;
        let flags = self.ctx.allgather(&[ok, !data.is_empty() as u64])?;
        let ends =
            self.ctx.allgather(&[data.first().copied().unwrap_or(T::ZERO), data.last().copied().unwrap_or(T::ZERO)])?;
        let mut prev_last: Option<T> = None;
        for r in 0..self.ctx.size() {
            if flags[2 * r] == 0 {
                return Ok(false);
            }
            if flags[2 * r + 1] == 0 {
                continue;
            }
            if prev_last.is_some_and(|p| cmp(&p, &ends[2 * r]) == Ordering::Greater) {
                return Ok(false);
            }
            prev_last = Some(ends[2 * r + 1]);
        }
        Ok(true)
    }

    /// The `k`-th smallest element (0-based; the element a sort would put
    /// at global index `k`, NaN last), on every rank; the container is not
    /// modified. A distributed selection: rounds of (local partition
    /// around a weighted median of the ranks' medians, `MPI_Allgather` of
    /// the proposals, `MPI_Allreduce` of the counts); expected O(n / size)
    /// work per rank. Collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] on every rank if `k >= global_size`;
    /// [`Error::Mismatch`] if ranks pass different `k`.
    pub fn nth_element(&self, k: usize) -> Result<T> {
        let n = self.global_size();
        let bad = (k >= n).then(|| Error::Bounds(format!("nth_element: k = {k} is out of range 0..{n}")));
        self.collective_with("nth_element", None, &[("k", k as i64)], bad)?;
        self.select(k)
    }

    /// The median of all elements as `f64` (the mean of the two middle
    /// elements when `global_size` is even), like `numpy.median`: NaN if
    /// any element is NaN or the container is empty. Collective (see
    /// [`nth_element`](Self::nth_element)).
    ///
    /// # Errors
    /// [`Error::Mismatch`] if the containers differ across ranks.
    pub fn median(&self) -> Result<f64> {
        self.collective("median", None, None)?;
        let n = self.global_size();
        if n == 0 || self.has_nan()? {
            return Ok(f64::NAN);
        }
        let (a, b) = self.select_pair((n - 1) / 2, n / 2)?;
        Ok(if n % 2 == 1 { a.to_f64() } else { (a.to_f64() + b.to_f64()) / 2.0 })
    }

    /// The `q`-th percentile (`0 <= q <= 100`) as `f64`, with NumPy's
    /// default linear interpolation between the two nearest elements
    /// (`numpy.percentile(x, q)`): NaN if any element is NaN or the
    /// container is empty. Collective (two selections).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if `q` is outside
    /// `[0, 100]` or NaN; [`Error::Mismatch`] if ranks pass different `q`.
    pub fn percentile(&self, q: f64) -> Result<f64> {
        let bad = (!(0.0..=100.0).contains(&q))
            .then(|| Error::InvalidArgument(format!("percentile: q must be in [0, 100], got {q}")));
        self.collective_with("percentile", None, &[("q", q.to_bits() as i64)], bad)?;
        let n = self.global_size();
        if n == 0 || self.has_nan()? {
            return Ok(f64::NAN);
        }
        let pos = (q / 100.0) * (n - 1) as f64;
        let i = (pos.floor() as usize).min(n - 1);
        let t = pos - i as f64;
        let (a, b) = self.select_pair(i, (i + 1).min(n - 1))?;
        let (a, b) = (a.to_f64(), b.to_f64());
        if t == 0.0 || i + 1 >= n {
            return Ok(a);
        }
        // numpy's `_lerp`.
        let d = b - a;
        Ok(if t >= 0.5 { b - d * (1.0 - t) } else { a + d * t })
    }

    /// Whether any element is NaN (false for integers). Collective for
    /// floats.
    fn has_nan(&self) -> Result<bool> {
        if !T::DTYPE.is_float() {
            return Ok(false);
        }
        let mine = self.data.iter().any(|x| x.is_nan()) as u64;
        Ok(if self.local_answers() { mine } else { self.ctx.allreduce_scalar(mine, ReduceOp::Max)? } == 1)
    }

    /// The `k`-th smallest element (`k < global_size`, checked by the
    /// caller). Collective.
    fn select(&self, k: usize) -> Result<T> {
        Ok(self.select_pair(k, k)?.0)
    }

    /// The elements at sorted positions `k0` and `k1` (`k1` is `k0` or
    /// `k0 + 1`, `< global_size`; checked by the callers). Collective.
    ///
    /// A distributed Floyd–Rivest selection: the ranks draw a random
    /// sample of about [`SELECT_SAMPLE`] of the candidates (one
    /// `MPI_Allgatherv`), pick from it two pivots that bracket positions
    /// `k0..=k1` with high probability, count the candidates below, equal
    /// to and between them in one pass (one `MPI_Allreduce`), and keep only
    /// the part that holds the targets — about `4 / sqrt(sample)` of them
    /// (4 % here). Two or three rounds bring 10^7 elements under
    /// [`SELECT_GATHER`], and those are gathered and selected on every
    /// rank. Each round removes at least the pivots, so it terminates for
    /// any input, duplicates included.
    fn select_pair(&self, k0: usize, k1: usize) -> Result<(T, T)> {
        debug_assert!(k1 == k0 || k1 == k0 + 1);
        let cmp = |a: &T, b: &T| order(a, b, false);
        let pick = |mut all: Vec<T>, k0: usize, k1: usize| {
            let (_, v0, right) = all.select_nth_unstable_by(k0, cmp);
            let v0 = *v0;
            let v1 = if k1 == k0 { v0 } else { *right.iter().min_by(|a, b| cmp(a, b)).unwrap_or(&v0) };
            (v0, v1)
        };
        // One rank (or a replicated container) runs the same rounds on its
        // own part, without communication.
        let (ctx, local) = (&self.ctx, self.local_answers());
        let gather = |c: &[T]| if local { Ok(c.to_vec()) } else { ctx.allgatherv(c).map(|r| r.0) };
        let sum = |c: &[u64]| if local { Ok(c.to_vec()) } else { ctx.allreduce(c, ReduceOp::Sum) };
        let (mut k0, mut k1, mut total) = (k0, k1, if local { self.data.len() } else { self.global_size() });
        // Known answers (positions that fell on a pivot's equal range).
        let (mut v0, mut v1): (Option<T>, Option<T>) = (None, None);
        // Candidates: `None` is this rank's whole part (not copied).
        let mut cand: Option<Vec<T>> = None;
        let mut rng = SplitMix(0x5EED ^ ctx.rank() as u64);
        for _round in 0..MAX_ROUNDS {
            if let (Some(a), Some(b)) = (v0, v1) {
                return Ok((a, b));
            }
            let c: &[T] = cand.as_deref().unwrap_or(&self.data);
            if total <= SELECT_GATHER {
                let (a, b) = pick(gather(c)?, k0, k1);
                return Ok((v0.unwrap_or(a), v1.unwrap_or(b)));
            }
            // This rank's share of the sample, drawn with replacement.
            let share = (SELECT_SAMPLE * c.len()).div_ceil(total);
            let mine: Vec<T> = (0..share).map(|_| c[rng.below(c.len())]).collect();
            let mut sample = gather(&mine)?;
            sample.sort_unstable_by(cmp);
            // Sample positions of the targets, widened by two standard
            // deviations of a binomial count on each side.
            let m = sample.len() as f64;
            let slack = 2.0 * m.sqrt() + 1.0;
            let at = |k: usize, d: f64| ((k as f64 + 0.5) / total as f64 * m + d).clamp(0.0, m - 1.0) as usize;
            let (lo, hi) = (sample[at(k0, -slack)], sample[at(k1, slack)]);
            // Global counts below `lo`, up to `lo`, below `hi`, up to `hi`.
            let mut counts = [0u64; 4];
            for x in c {
                let (l, h) = (cmp(x, &lo), cmp(x, &hi));
                counts[0] += u64::from(l == Ordering::Less);
                counts[1] += u64::from(l != Ordering::Greater);
                counts[2] += u64::from(h == Ordering::Less);
                counts[3] += u64::from(h != Ordering::Greater);
            }
            let t = sum(&counts)?;
            let t: Vec<usize> = t.iter().map(|&x| x as usize).collect();
            // Regions of the candidates' sorted order: 0 = below `lo`,
            // 1 = equal to `lo`, 2 = between, 3 = equal to `hi`, 4 = above.
            let region = |k: usize| t.iter().position(|&e| k < e).unwrap_or(4);
            let (r0, r1) = (region(k0), region(k1));
            for (v, r) in [(&mut v0, r0), (&mut v1, r1)] {
                if v.is_none() && (r == 1 || r == 3) {
                    *v = Some(if r == 1 { lo } else { hi });
                }
            }
            // The unresolved targets lie in one open region (equal ranges,
            // never empty, separate any two others).
            let r = if v0.is_none() { r0 } else { r1 };
            if v0.is_some() && v1.is_some() {
                continue;
            }
            let start = match r {
                0 => 0,
                2 => t[1],
                _ => t[3],
            };
            let end = match r {
                0 => t[0],
                2 => t[2],
                _ => total,
            };
            let keep = |x: &T| match r {
                0 => cmp(x, &lo) == Ordering::Less,
                2 => cmp(x, &lo) == Ordering::Greater && cmp(x, &hi) == Ordering::Less,
                _ => cmp(x, &hi) == Ordering::Greater,
            };
            let next: Vec<T> = c.iter().copied().filter(|x| keep(x)).collect();
            cand = Some(next);
            // Positions already resolved move along harmlessly (clamped).
            k0 = k0.saturating_sub(start).min(end - start - 1);
            k1 = k1.saturating_sub(start).min(end - start - 1);
            total = end - start;
        }
        Err(Error::Internal(format!("nth_element: selection did not converge in {MAX_ROUNDS} rounds")))
    }
}

/// Candidates sampled per round of [`Distributed1D::select_pair`], over
/// all ranks.
const SELECT_SAMPLE: usize = 1 << 13;

/// At most this many candidates left, [`Distributed1D::select_pair`]
/// gathers them on every rank (512 KiB of `f64`).
const SELECT_GATHER: usize = 1 << 16;

/// A small deterministic generator (SplitMix64) for the selection's
/// samples; the pivots need no quality beyond evenness.
struct SplitMix(u64);

impl SplitMix {
    /// A uniform index in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z as u128 * n as u128) >> 64) as usize
    }
}

/// Moves this rank's sorted part `a` so that rank `r` receives the global
/// positions `targets[r-1]..targets[r]` (exact splitters, one
/// `MPI_Alltoallv`) and merges what arrives into `a`'s storage (`a` is
/// not read after the exchange; it is reallocated only if this rank
/// receives a different number of elements than it sent). Collective.
fn exchange_sorted<T: Element>(
    ctx: &crate::Context,
    a: &mut Vec<T>,
    targets: &[usize],
    exec: Execution,
    reverse: bool,
) -> Result<()> {
    let splits = exact_splits(ctx, a, targets, &|x: &T, y: &T| order(x, y, reverse))?;
    let mut counts = Vec::with_capacity(ctx.size());
    let mut prev = 0;
    for &s in splits.iter().chain(std::iter::once(&a.len())) {
        counts.push(s - prev);
        prev = s;
    }
    let (recv, lens) = ctx.alltoallv(a, &counts)?;
    let par = parallel(exec, recv.len());
    if recv.len() != a.len() {
        *a = crate::memory::zeroed(recv.len());
    }
    merge_runs(recv, &lens, a, reverse, par);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_puts_nan_last_both_ways() {
        let mut x = [3.0, f64::NAN, -1.0, 2.0, f64::NAN, 0.0];
        x.sort_by(|a, b| order(a, b, false));
        assert_eq!(&x[..4], &[-1.0, 0.0, 2.0, 3.0]);
        assert!(x[4].is_nan() && x[5].is_nan());
        x.sort_by(|a, b| order(a, b, true));
        assert_eq!(&x[..4], &[3.0, 2.0, 0.0, -1.0]);
        assert!(x[4].is_nan() && x[5].is_nan());
    }

    #[test]
    fn local_sort_matches_comparison_sort() {
        fn check<T: Element>(x: Vec<T>) {
            for reverse in [false, true] {
                for exec in [Execution::Seq, Execution::Par] {
                    let mut got = x.clone();
                    local_sort(&mut got, reverse, exec);
                    let mut want = x.clone();
                    want.sort_by(|a, b| order(a, b, reverse));
                    let same = got.iter().zip(&want).all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
                    assert!(same, "{:?} reverse={reverse} {exec:?}", T::DTYPE);
                }
            }
        }
        let r = |i: u64| {
            let z = (i ^ 0x5DEECE66D).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z ^ (z >> 29)
        };
        for n in [0u64, 1, 100, 5000, 200_000] {
            check((0..n).map(|i| r(i) as i8).collect());
            check((0..n).map(|i| r(i) as i16).collect());
            check((0..n).map(|i| r(i) as i32).collect());
            check((0..n).map(|i| r(i) as i64).collect());
            check((0..n).map(|i| r(i) as u8).collect());
            check((0..n).map(|i| (r(i) % 1000) as u16).collect());
            check((0..n).map(|i| r(i) as u32).collect());
            check((0..n).map(r).collect());
            let special = [f64::NAN, -0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, -f64::MAX];
            let f = |i: u64| if i % 17 == 0 { special[(i / 17) as usize % 7] } else { (r(i) as i64) as f64 / 1e9 };
            check((0..n).map(f).collect());
            check((0..n).map(|i| f(i) as f32).collect());
        }
    }

    #[test]
    fn merge_lanes_matches_a_sort() {
        // Random runs of every length up to a few lanes' worth, ties
        // across the runs, both directions.
        let mut s = 7u64;
        let mut rnd = |m: u64| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) % m
        };
        for (na, nb) in [(0, 0), (0, 5), (5, 0), (1, 1), (3, 17), (40, 41), (1000, 7), (999, 1001)] {
            for flip in [0, u64::MAX] {
                let mut run = |n: usize| {
                    let mut v: Vec<i32> = (0..n).map(|_| rnd(50) as i32 - 25).collect();
                    v.sort_by_key(|x| x.order_key() ^ flip);
                    v
                };
                let (a, b) = (run(na), run(nb));
                let mut out = vec![0; na + nb];
                merge_lanes(&a, &b, &mut out, flip);
                let mut want = [a.clone(), b.clone()].concat();
                want.sort_by_key(|x| x.order_key() ^ flip);
                assert_eq!(out, want, "{na}+{nb} flip {flip}");
            }
        }
        assert!(ascending_nan_last(&[-1.0, -0.0, 0.0, -0.0, 2.0, f64::NAN, f64::NAN]));
        assert!(ascending_nan_last::<f64>(&[]) && ascending_nan_last(&[f64::NAN]));
        assert!(!ascending_nan_last(&[1.0, f64::NAN, 2.0]) && !ascending_nan_last(&[2.0, 1.0]));
    }

    #[test]
    fn presorted_matches_local_sort() {
        let x = [3.0, -0.0, f64::NAN, 0.0, -1.0, -0.0, 0.0, 2.0];
        for reverse in [false, true] {
            let mut a = x;
            a.sort_by(|p, q| numeric(p, q, false));
            presorted(&mut a, reverse);
            let mut b = x;
            local_sort(&mut b, reverse, Execution::Seq);
            let bits = |v: &[f64]| v.iter().map(|f| if f.is_nan() { 0 } else { f.to_bits() }).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "reverse={reverse}");
        }
    }

    #[test]
    fn merge_runs_is_sorted_and_keeps_nan_order() {
        let runs = [vec![1i64, 2, 2, 9], vec![], vec![0, 2, 4], vec![-5, 2, 2, 2, 50], vec![3]];
        let lens: Vec<usize> = runs.iter().map(Vec::len).collect();
        let data: Vec<i64> = runs.concat();
        for par in [false, true] {
            let mut want = data.clone();
            want.sort();
            let mut out = vec![0; data.len()];
            merge_runs(data.clone(), &lens, &mut out, false, par);
            assert_eq!(out, want);
            let desc: Vec<Vec<i64>> = runs.iter().map(|r| r.iter().rev().copied().collect()).collect();
            want.reverse();
            merge_runs(desc.concat(), &lens, &mut out, true, par);
            assert_eq!(out, want);
            // Every number of runs: odd and even numbers of passes.
            for k in 0..runs.len() {
                let mut want = runs[..k].concat();
                merge_runs(want.clone(), &lens[..k], &mut out[..want.len()], false, par);
                want.sort();
                assert_eq!(out[..want.len()], want[..], "{k} runs");
            }
        }
        // NaNs with different bits keep the run order (stable), after the numbers.
        let nan = |k: u64| f64::from_bits(f64::NAN.to_bits() | k);
        let a = [1.0, 3.0, nan(1), nan(2)];
        let b = [2.0, 3.0, nan(3)];
        let mut out = [0.0; 7];
        merge(&a, &b, &mut out, false, false);
        assert_eq!(&out[..4], &[1.0, 2.0, 3.0, 3.0]);
        let bits: Vec<u64> = out[4..].iter().map(|x| x.to_bits() & 7).collect();
        assert_eq!(bits, [1, 2, 3]);
        // Large runs exercise the parallel split.
        let a: Vec<i64> = (0..100_000).map(|i| i / 3 * 10).collect();
        let b: Vec<i64> = (0..70_000).map(|i| i / 2 * 10 + 1).collect();
        let mut out = vec![0; a.len() + b.len()];
        merge(&a, &b, &mut out, false, true);
        let mut want = [a.clone(), b.clone()].concat();
        want.sort();
        assert_eq!(out, want);
    }
}
