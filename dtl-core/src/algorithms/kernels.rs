//! Local kernels of the algorithms: pairwise summation, NaN-aware folds,
//! chunked parallel execution on rayon. Pure (no MPI).

use std::ops::Range;

use rayon::prelude::*;

use super::Execution;
use crate::collective::ReduceOp;
use crate::element::Element;

/// Elements per parallel chunk. Chunk boundaries depend only on the
/// slice length, never on the thread count, so `Seq` and `Par` give
/// bitwise-identical results.
pub(crate) const CHUNK: usize = 1 << 15;

/// Below this many elements `Par` runs sequentially (spawning costs more
/// than it saves).
pub(crate) const PAR_MIN: usize = 1 << 16;

/// Whether `exec` runs a slice of `n` elements on rayon.
pub(crate) fn parallel(exec: Execution, n: usize) -> bool {
    exec == Execution::Par && n >= PAR_MIN
}

/// Combines two partial results of `op` as NumPy does: like
/// [`ReduceOp::apply`], except that `Min`/`Max` propagate NaN.
pub(crate) fn combine<T: Element>(op: ReduceOp, a: T, b: T) -> T {
    match op {
        ReduceOp::Min | ReduceOp::Max if a.is_nan() => a,
        ReduceOp::Min | ReduceOp::Max if b.is_nan() => b,
        _ => op.apply(a, b),
    }
}

/// NumPy's pairwise summation (`pairwise_sum` in `loops_utils.h`): blocks
/// of at most 128 elements summed with 8 accumulators, halves summed
/// recursively; the rounding error grows as O(log n) instead of O(n).
pub(crate) fn pairwise_sum<T: Element>(x: &[T]) -> T {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { pairwise_avx2(x) };
        }
    }
    pairwise_base(x)
}

/// [`pairwise_sum`] compiled for AVX2: the same additions in the same
/// order (the eight accumulators are independent lanes, and Rust never
/// contracts into FMA), so the same bits — just twice as wide.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairwise_avx2<T: Element>(x: &[T]) -> T {
    if x.len() <= 128 {
        return pairwise_leaf(x);
    }
    let half = (x.len() / 2) & !7;
    // SAFETY: the caller's CPU check holds for the halves.
    unsafe { pairwise_avx2(&x[..half]).add(pairwise_avx2(&x[half..])) }
}

/// [`pairwise_sum`] for the baseline target.
fn pairwise_base<T: Element>(x: &[T]) -> T {
    if x.len() <= 128 {
        return pairwise_leaf(x);
    }
    let half = (x.len() / 2) & !7;
    pairwise_base(&x[..half]).add(pairwise_base(&x[half..]))
}

/// NumPy's pairwise leaf (at most 128 elements): eight accumulators, then
/// `((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))`, then the tail in order; fewer than
/// eight elements are summed left to right.
#[inline(always)]
fn pairwise_leaf<T: Element>(x: &[T]) -> T {
    if x.len() < 8 {
        return x.iter().fold(T::ZERO, |s, &v| s.add(v));
    }
    let mut r = [T::ZERO; 8];
    r.copy_from_slice(&x[..8]);
    let mut blocks = x[8..].chunks_exact(8);
    for b in &mut blocks {
        for k in 0..8 {
            r[k] = r[k].add(b[k]);
        }
    }
    let mut s = (r[0].add(r[1])).add(r[2].add(r[3])).add((r[4].add(r[5])).add(r[6].add(r[7])));
    for &v in blocks.remainder() {
        s = s.add(v);
    }
    s
}

/// Runs `one` on the fixed chunks `0..n` in steps of [`CHUNK`] (on rayon
/// when `exec` says so) and combines the chunk results pairwise with `op`
/// (its identity if `n == 0`).
pub(crate) fn chunked<U: Element>(
    n: usize,
    op: ReduceOp,
    exec: Execution,
    one: impl Fn(Range<usize>) -> U + Sync,
) -> U {
    let chunk = |k: usize| one(k * CHUNK..((k + 1) * CHUNK).min(n));
    let chunks = n.div_ceil(CHUNK);
    let parts: Vec<U> = if parallel(exec, n) {
        (0..chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..chunks).map(chunk).collect()
    };
    tree(&parts, op)
}

/// The pairwise sum of `f(0), …, f(n-1)`, computed 128 values at a time
/// (no allocation of `n` values).
pub(crate) fn pairwise_sum_of<U: Element>(n: usize, f: impl Fn(usize) -> U) -> U {
    let mut buf = [U::ZERO; 128];
    let mut parts = Vec::with_capacity(n.div_ceil(128));
    for start in (0..n).step_by(128) {
        let len = 128.min(n - start);
        for (k, b) in buf[..len].iter_mut().enumerate() {
            *b = f(start + k);
        }
        parts.push(pairwise_sum(&buf[..len]));
    }
    pairwise_sum(&parts)
}

/// `op` over `x` (its identity if empty): pairwise for sums, a NaN-aware
/// fold otherwise, in [`chunked`] structure.
pub(crate) fn reduce_slice<T: Element>(x: &[T], op: ReduceOp, exec: Execution) -> T {
    chunked(x.len(), op, exec, |r| reduce_chunk(&x[r], op))
}

/// `op` over one chunk (its identity if empty): pairwise for sums, a
/// NaN-aware fold otherwise.
pub(crate) fn reduce_chunk<T: Element>(x: &[T], op: ReduceOp) -> T {
    match op {
        ReduceOp::Sum => pairwise_sum(x),
        _ => fold(x, op).unwrap_or(op.identity()),
    }
}

/// `op` folded left to right, `None` if `x` is empty; a lone element is
/// [lifted](ReduceOp::lift) (0 or 1 for the logical ops).
pub(crate) fn fold<T: Element>(x: &[T], op: ReduceOp) -> Option<T> {
    let (&first, rest) = x.split_first()?;
    if matches!(op, ReduceOp::Min | ReduceOp::Max) {
        if let Some(m) = min_max_fast(first, rest, op == ReduceOp::Max) {
            return Some(m);
        }
    }
    Some(rest.iter().fold(op.lift(first), |a, &b| combine(op, a, b)))
}

/// Min or max of `first` and `rest` in 8 independent lanes (one
/// compare-and-select per element, no branch on NaN), or `None` when the
/// exact left fold must decide: a NaN is present (the fold returns the
/// first one), or the result compares equal to zero (`-0.0` and `0.0` tie,
/// and which one the fold keeps depends on the order). Otherwise every
/// value equal to the result has the same bits, so the lanes give exactly
/// the fold's result.
fn min_max_fast<T: Element>(first: T, rest: &[T], max: bool) -> Option<T> {
    const L: usize = 8;
    let better = |b: T, a: T| if max { b > a } else { b < a };
    let mut lanes = [first; L];
    let mut nan = [first.is_nan(); L];
    let chunks = rest.chunks_exact(L);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..L {
            nan[k] |= c[k].is_nan();
            lanes[k] = if better(c[k], lanes[k]) { c[k] } else { lanes[k] };
        }
    }
    let mut m = first;
    for &b in lanes.iter().chain(tail) {
        nan[0] |= b.is_nan();
        m = if better(b, m) { b } else { m };
    }
    (!nan.iter().any(|&x| x) && m != T::ZERO).then_some(m)
}

/// Combines `parts` pairwise in a fixed tree (identity if empty).
pub(crate) fn tree<T: Element>(parts: &[T], op: ReduceOp) -> T {
    match parts.len() {
        0 => op.identity(),
        1 => parts[0],
        n => combine(op, tree(&parts[..n / 2], op), tree(&parts[n / 2..], op)),
    }
}

/// `map` then `op` over `x`, in the chunk structure of [`reduce_slice`].
pub(crate) fn map_reduce_slice<T: Element, U: Element>(
    x: &[T],
    map: impl Fn(T) -> U + Sync,
    op: ReduceOp,
    exec: Execution,
) -> U {
    chunked(x.len(), op, exec, |r| {
        let c = &x[r];
        match op {
            ReduceOp::Sum => pairwise_sum_of(c.len(), |k| map(c[k])),
            _ => c
                .iter()
                .map(|&v| map(v))
                .fold(None, |a, b| Some(a.map_or(op.lift(b), |a| combine(op, a, b))))
                .unwrap_or(op.identity()),
        }
    })
}

/// Inclusive scan of `x` in place with `op` (sequential order, as
/// `numpy.cumsum` does), continuing from `carry` (`None`: nothing before).
pub(crate) fn scan_in_place<T: Element>(x: &mut [T], op: ReduceOp, carry: Option<T>, exec: Execution) {
    let run = |c: &mut [T], mut acc: Option<T>| {
        for v in c.iter_mut() {
            let a = acc.map_or(op.lift(*v), |a| combine(op, a, *v));
            *v = a;
            acc = Some(a);
        }
    };
    if !parallel(exec, x.len()) {
        return run(x, carry);
    }
    // Two passes over fixed chunks: chunk totals, then each chunk scanned
    // from its carry.
    let totals: Vec<Option<T>> = x.par_chunks(CHUNK).map(|c| fold(c, op)).collect();
    let mut carries = Vec::with_capacity(totals.len());
    let mut acc = carry;
    for t in totals {
        carries.push(acc);
        acc = match (acc, t) {
            (Some(a), Some(t)) => Some(combine(op, a, t)),
            (a, t) => a.or(t),
        };
    }
    x.par_chunks_mut(CHUNK).zip(carries).for_each(|(c, a)| run(c, a));
}

/// The position of the first element equal to `arg`'s best under `better`
/// (NumPy's argmin/argmax: first occurrence; the first NaN wins).
pub(crate) fn arg_best<T: Element>(x: &[T], better: impl Fn(T, T) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Some(i);
        }
        match best {
            None => best = Some(i),
            Some(b) if better(v, x[b]) => best = Some(i),
            _ => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_matches_exact_small_sums() {
        for n in [0usize, 1, 7, 8, 9, 127, 128, 129, 1000, 100_000] {
            let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let want = (n * n.saturating_sub(1) / 2) as f64;
            assert_eq!(pairwise_sum(&x), want, "n={n}");
            assert_eq!(reduce_slice(&x, ReduceOp::Sum, Execution::Par), want);
            assert_eq!(reduce_slice(&x, ReduceOp::Sum, Execution::Seq), want);
        }
    }

    #[test]
    fn pairwise_is_accurate() {
        // 10^6 copies of 0.1: naive summation drifts by ~1e-6 relative.
        let x = vec![0.1f64; 1_000_000];
        let s = reduce_slice(&x, ReduceOp::Sum, Execution::Par);
        assert!((s - 100_000.0).abs() < 1e-8, "{s}");
    }

    #[test]
    fn nan_propagates_through_min_max() {
        let x = [3.0f64, f64::NAN, 1.0];
        assert!(reduce_slice(&x, ReduceOp::Min, Execution::Seq).is_nan());
        assert!(reduce_slice(&x, ReduceOp::Max, Execution::Seq).is_nan());
        assert_eq!(arg_best(&x, |a, b| a < b), Some(1));
        assert_eq!(arg_best(&[2, 1, 1, 3], |a: i32, b| a < b), Some(1));
        assert_eq!(arg_best::<i32>(&[], |a, b| a < b), None);
    }

    #[test]
    fn parallel_scan_matches_sequential() {
        let x: Vec<i64> = (0..300_000).map(|i| i % 7 - 3).collect();
        let (mut a, mut b) = (x.clone(), x.clone());
        scan_in_place(&mut a, ReduceOp::Sum, Some(5), Execution::Seq);
        scan_in_place(&mut b, ReduceOp::Sum, Some(5), Execution::Par);
        assert_eq!(a, b);
        let mut c = vec![f64::INFINITY, 2.0, f64::INFINITY];
        scan_in_place(&mut c, ReduceOp::Min, None, Execution::Seq);
        assert_eq!(c, [f64::INFINITY, 2.0, 2.0]);
        assert_eq!(reduce_slice(&[f64::INFINITY; 3], ReduceOp::Min, Execution::Seq), f64::INFINITY);
    }
}
