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
        let mut keys: Vec<u64> = numbers.par_iter().map(|v| v.order_key() ^ flip).collect();
        keys.par_sort_unstable();
        numbers.par_iter_mut().zip(keys.par_iter()).for_each(|(v, &k)| *v = T::from_order_key(k ^ flip));
    } else {
        let mut keys: Vec<u64> = numbers.iter().map(|v| v.order_key() ^ flip).collect();
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
    let key = |x: &T| x.order_key() ^ flip;
    if par && a.len() + b.len() > 2 * MERGE_PAR_MIN {
        // Cut the longer run in half, the other where its keys stop being
        // smaller (strictly for `b`, so ties stay with `a` first).
        let (ma, mb) = if a.len() >= b.len() {
            let ma = a.len() / 2;
            let k = key(&a[ma]);
            (ma, b.partition_point(|x| key(x) < k))
        } else {
            let mb = b.len() / 2;
            let k = key(&b[mb]);
            (a.partition_point(|x| key(x) <= k), mb)
        };
        let (lo, hi) = out.split_at_mut(ma + mb);
        rayon::join(
            || merge_numbers(&a[..ma], &b[..mb], lo, flip, par),
            || merge_numbers(&a[ma..], &b[mb..], hi, flip, par),
        );
        return;
    }
    let (mut i, mut j) = (0, 0);
    for o in out.iter_mut() {
        if j < b.len() && (i == a.len() || key(&b[j]) < key(&a[i])) {
            *o = b[j];
            j += 1;
        } else {
            *o = a[i];
            i += 1;
        }
    }
}

/// Merges sorted runs (given by their lengths, in rank order) of `data`
/// into one sorted vector; ties keep the run order.
fn merge_runs<T: Element>(data: Vec<T>, lens: &[usize], reverse: bool, par: bool) -> Vec<T> {
    let mut bounds = vec![0];
    for &l in lens.iter().filter(|&&l| l > 0) {
        bounds.push(bounds[bounds.len() - 1] + l);
    }
    let mut src = data;
    let mut dst = if bounds.len() > 2 { vec![T::ZERO; src.len()] } else { Vec::new() };
    // Merge neighbouring runs pairwise until one is left (log2(runs) passes).
    while bounds.len() > 2 {
        let runs = bounds.len() - 1;
        let mut next = vec![0];
        let mut jobs = Vec::with_capacity(runs.div_ceil(2));
        let mut rest = &mut dst[..];
        for j in (0..runs).step_by(2) {
            let (s, m) = (bounds[j], bounds[j + 1]);
            let e = if j + 1 < runs { bounds[j + 2] } else { m };
            let (head, tail) = rest.split_at_mut(e - s);
            rest = tail;
            jobs.push((s, m, e, head));
            next.push(e);
        }
        let src_ref = &src;
        let run =
            |(s, m, e, out): (usize, usize, usize, &mut [T])| merge(&src_ref[s..m], &src_ref[m..e], out, reverse, par);
        if par {
            jobs.into_par_iter().for_each(run);
        } else {
            jobs.into_iter().for_each(run);
        }
        bounds = next;
        std::mem::swap(&mut src, &mut dst);
    }
    src
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
        let unsorted = (!self.data.windows(2).all(|w| numeric(&w[0], &w[1], false) != Ordering::Greater)).then(|| {
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
            let sorted = exchange_sorted(&ctx, &self.data, &targets, exec, reverse)?;
            self.data.copy_from_slice(&sorted);
            return Ok(());
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
        let sorted = exchange_sorted(&ctx, &part, &targets, exec, reverse)?;
        drop(part);
        let back = redistribute_1d(&ctx, sorted, &block, &self.part, T::ZERO)?;
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
        let sorted = |x: &[T]| x.windows(2).all(|w| cmp(&w[0], &w[1]) != Ordering::Greater);
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
        let a = self.select((n - 1) / 2)?.to_f64();
        if n % 2 == 1 {
            return Ok(a);
        }
        let b = self.select(n / 2)?.to_f64();
        Ok((a + b) / 2.0)
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
        let a = self.select(i)?.to_f64();
        if t == 0.0 || i + 1 >= n {
            return Ok(a);
        }
        let b = self.select(i + 1)?.to_f64();
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
    fn select(&self, mut k: usize) -> Result<T> {
        let cmp = |a: &T, b: &T| order(a, b, false);
        let mut cand = self.data.clone();
        if self.local_answers() {
            return Ok(*cand.select_nth_unstable_by(k, cmp).1);
        }
        for _round in 0..MAX_ROUNDS {
            // This rank's proposal: the median of its candidates.
            let (prop, w) = if cand.is_empty() {
                (T::ZERO, 0u64)
            } else {
                let m = cand.len() / 2;
                (*cand.select_nth_unstable_by(m, cmp).1, cand.len() as u64)
            };
            let props = self.ctx.allgather(&[prop])?;
            let weights = self.ctx.allgather(&[w])?;
            let mut c: Vec<(T, u64)> = props.into_iter().zip(weights).filter(|p| p.1 > 0).collect();
            c.sort_by(|x, y| cmp(&x.0, &y.0));
            let total: u64 = c.iter().map(|p| p.1).sum();
            let mut acc = 0;
            let pivot = c[c
                .iter()
                .position(|p| {
                    acc += p.1;
                    2 * acc >= total
                })
                .unwrap_or(0)]
            .0;
            let less = cand.iter().filter(|x| cmp(x, &pivot) == Ordering::Less).count() as u64;
            let equal = cand.iter().filter(|x| cmp(x, &pivot) == Ordering::Equal).count() as u64;
            let tot = self.ctx.allreduce(&[less, equal], ReduceOp::Sum)?;
            let (l, e) = (tot[0] as usize, tot[1] as usize);
            if k < l {
                cand.retain(|x| cmp(x, &pivot) == Ordering::Less);
            } else if k < l + e {
                return Ok(pivot);
            } else {
                k -= l + e;
                cand.retain(|x| cmp(x, &pivot) == Ordering::Greater);
            }
        }
        Err(Error::Internal(format!("nth_element: selection did not converge in {MAX_ROUNDS} rounds")))
    }
}

/// Moves this rank's sorted part `a` so that rank `r` receives the global
/// positions `targets[r-1]..targets[r]` (exact splitters, one
/// `MPI_Alltoallv`) and merges what arrives. Collective.
fn exchange_sorted<T: Element>(
    ctx: &crate::Context,
    a: &[T],
    targets: &[usize],
    exec: Execution,
    reverse: bool,
) -> Result<Vec<T>> {
    let splits = exact_splits(ctx, a, targets, &|x: &T, y: &T| order(x, y, reverse))?;
    let mut counts = Vec::with_capacity(ctx.size());
    let mut prev = 0;
    for &s in splits.iter().chain(std::iter::once(&a.len())) {
        counts.push(s - prev);
        prev = s;
    }
    let (recv, lens) = ctx.alltoallv(a, &counts)?;
    let par = parallel(exec, recv.len());
    Ok(merge_runs(recv, &lens, reverse, par))
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
            assert_eq!(merge_runs(data.clone(), &lens, false, par), want);
            let desc: Vec<Vec<i64>> = runs.iter().map(|r| r.iter().rev().copied().collect()).collect();
            want.reverse();
            assert_eq!(merge_runs(desc.concat(), &lens, true, par), want);
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
