//! Multi-rank tests of the distributed sort and order statistics
//! (`sort`, `stable_sort`, `is_sorted`, `nth_element`, `median`,
//! `percentile`) over every partition, sizes 0 to 100 000, every dtype,
//! checked against `slice::sort_by` / closed forms on the gathered data.
//!
//! ```text
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_sort \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! ```

#[macro_use]
mod common;

use common::{mix, sort_data, sort_val, sorted, specs, Suite};

use dtl_core::partition::PartitionSpec;
use dtl_core::{Context, DistributedArray, DistributedVector, Element, Error, Execution};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite::new();
    per_dtype!(s, "sort::every_partition", t_sort);
    per_dtype!(s, "sort::order_statistics", t_select);
    s.add("sort::nan_last_both_ways", t_nan);
    s.add("sort::duplicates_and_constant", t_duplicates);
    s.add("sort::large_random", t_large);
    s.add("sort::large_selection", t_select_large);
    s.add("sort::is_sorted_at_rank_boundaries", t_is_sorted);
    s.add("sort::array_and_seq", t_array_seq);
    s.add("sort::errors_on_every_rank", t_errors);
    s.add("sort::presorted_parts", t_presorted);
    s
}

const SIZES: [usize; 6] = [0, 1, 2, 5, 40, 1001];

fn t_sort<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = sort_data::<T>(n);
        for (name, spec) in specs(n, ctx.size()) {
            for reverse in [false, true] {
                for stable in [false, true] {
                    let mut v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                    let before = v.local_size();
                    let r = if stable { v.stable_sort(reverse) } else { v.sort(reverse) };
                    let what = format!("{name} n={n} reverse={reverse} stable={stable}");
                    check!(r.is_ok(), "{what}: {r:?}");
                    check_eq!(v.local_size(), before, "{what}: local size kept");
                    check_eq!(v.gather_all().unwrap(), sorted(g.clone(), reverse), "{what}");
                    check_eq!(v.is_sorted(reverse).unwrap(), true, "{what}: is_sorted");
                    if n > 2 {
                        check_eq!(v.is_sorted(!reverse).unwrap(), false, "{what}: is_sorted(!reverse)");
                    }
                }
            }
        }
    }
}

/// NumPy's `percentile(x, q)` (method "linear") on sorted `s`.
fn model_percentile(s: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (s.len() - 1) as f64;
    let i = pos.floor() as usize;
    let t = pos - i as f64;
    if i + 1 >= s.len() {
        return s[i];
    }
    let (a, b) = (s[i], s[i + 1]);
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

fn t_select<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = sort_data::<T>(n);
        let s = sorted(g.clone(), false);
        let sf: Vec<f64> = s.iter().map(|x| x.to_f64()).collect();
        for (name, spec) in specs(n, ctx.size()) {
            let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
            for k in [0, n / 3, n / 2, n.saturating_sub(1)] {
                if k < n {
                    check_eq!(v.nth_element(k).unwrap(), s[k], "{name} n={n}: nth_element({k})");
                }
            }
            let med = v.median().unwrap();
            if n == 0 {
                check!(med.is_nan(), "{name}: median of nothing is NaN, got {med}");
            } else {
                let want = if n % 2 == 1 { sf[n / 2] } else { (sf[n / 2 - 1] + sf[n / 2]) / 2.0 };
                check_eq!(med, want, "{name} n={n}: median");
                for q in [0.0, 12.5, 50.0, 90.0, 99.9, 100.0] {
                    check_eq!(v.percentile(q).unwrap(), model_percentile(&sf, q), "{name} n={n}: percentile({q})");
                }
            }
            check_eq!(v.gather_all().unwrap(), g, "{name} n={n}: selection leaves the data alone");
        }
    }
}

fn t_nan(ctx: &Context) {
    for n in [1usize, 7, 300] {
        // Every fifth element NaN.
        let g: Vec<f64> = (0..n).map(|i| if i % 5 == 2 { f64::NAN } else { sort_val::<f64>(i) }).collect();
        let nans = g.iter().filter(|x| x.is_nan()).count();
        let numbers: Vec<f64> = g.iter().copied().filter(|x| !x.is_nan()).collect();
        for (name, spec) in specs(n, ctx.size()) {
            for reverse in [false, true] {
                let mut v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                v.sort(reverse).unwrap();
                let got = v.gather_all().unwrap();
                let k = n - nans;
                check_eq!(got[..k].to_vec(), sorted(numbers.clone(), reverse), "{name} n={n} reverse={reverse}");
                check!(got[k..].iter().all(|x| x.is_nan()), "{name} n={n} reverse={reverse}: NaN last");
                check!(v.is_sorted(reverse).unwrap(), "{name}: sorted with NaN last");
                if nans > 0 {
                    check!(v.median().unwrap().is_nan(), "{name}: median with NaN");
                    check!(v.percentile(50.0).unwrap().is_nan(), "{name}: percentile with NaN");
                    check!(v.nth_element(n - 1).unwrap().is_nan(), "{name}: the largest is NaN");
                }
            }
        }
        // f32 too.
        let g32: Vec<f32> = g.iter().map(|&x| x as f32).collect();
        let mut v = DistributedVector::from_global_with(ctx, &g32, &PartitionSpec::Cyclic).unwrap();
        v.sort(false).unwrap();
        let got = v.gather_all().unwrap();
        check!(got[n - nans..].iter().all(|x| x.is_nan()), "f32 n={n}: NaN last");
    }
}

fn t_duplicates(ctx: &Context) {
    // All equal, and two values: ties split anywhere without unbalancing.
    for n in [10usize, 999, 20_000] {
        for (gname, g) in [
            ("constant", vec![7i64; n]),
            ("two values", (0..n).map(|i| (mix(i as u64) % 2) as i64).collect::<Vec<_>>()),
            ("descending", (0..n as i64).rev().collect()),
        ] {
            for (name, spec) in specs(n, ctx.size()) {
                let mut v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                let before = v.local_size();
                v.sort(false).unwrap();
                check_eq!(v.local_size(), before, "{gname} {name} n={n}: local size");
                check_eq!(v.gather_all().unwrap(), sorted(g.clone(), false), "{gname} {name} n={n}");
                check_eq!(v.nth_element(n / 2).unwrap(), sorted(g.clone(), false)[n / 2], "{gname} {name}: nth");
            }
        }
    }
}

fn t_large(ctx: &Context) {
    let n = 100_003;
    let g: Vec<f64> = (0..n).map(|i| (mix(i as u64) >> 11) as f64 / (1u64 << 53) as f64 - 0.5).collect();
    let want = sorted(g.clone(), false);
    for (name, spec) in specs(n, ctx.size()) {
        let mut v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
        v.sort(false).unwrap();
        check_eq!(v.gather_all().unwrap() == want, true, "{name}: 100 003 random f64 sorted");
        let mut u = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
        u.stable_sort(true).unwrap();
        let mut rev = want.clone();
        rev.reverse();
        check_eq!(u.gather_all().unwrap() == rev, true, "{name}: stable, reversed");
        check_eq!(u.nth_element(12_345).unwrap(), want[12_345], "{name}: nth_element");
    }
}

/// Selections over more elements than are gathered at once (the sampled
/// rounds): random, few distinct values, two values, NaN tail, odd and
/// even sizes, block and cyclic.
fn t_select_large(ctx: &Context) {
    type Case = (&'static str, usize, fn(usize) -> f64);
    let cases: [Case; 4] = [
        ("random", 300_001, |i| (mix(i as u64) >> 11) as f64 / (1u64 << 53) as f64),
        ("100 values", 300_000, |i| (mix(i as u64) % 100) as f64),
        ("two values", 200_000, |i| (mix(i as u64) % 2) as f64),
        ("NaN tail", 150_001, |i| if i % 3 == 0 { f64::NAN } else { (mix(i as u64) % 1000) as f64 }),
    ];
    for (what, n, f) in cases {
        let g: Vec<f64> = (0..n).map(f).collect();
        let mut s = g.clone();
        s.sort_by(f64::total_cmp); // NaN (positive) last
        for spec in [PartitionSpec::Block, PartitionSpec::Cyclic] {
            let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
            for k in [0, 1, n / 7, n / 2 - 1, n / 2, n - 2, n - 1] {
                let got = v.nth_element(k).unwrap();
                check!(
                    got.to_bits() == s[k].to_bits() || got.is_nan() && s[k].is_nan(),
                    "{what} {spec:?}: nth_element({k}) = {got}, want {}",
                    s[k]
                );
            }
            if s[n - 1].is_nan() {
                check!(v.median().unwrap().is_nan(), "{what}: median with NaN");
                continue;
            }
            let want = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
            check_eq!(v.median().unwrap(), want, "{what} {spec:?}: median");
            for q in [0.0, 0.1, 33.3, 50.0, 75.0, 100.0] {
                check_eq!(v.percentile(q).unwrap(), model_percentile(&s, q), "{what} {spec:?}: percentile({q})");
            }
        }
    }
    // Integers with many duplicates.
    let n = 250_001;
    let g: Vec<i32> = (0..n).map(|i| (mix(i as u64) % 37) as i32 - 18).collect();
    let s = sorted(g.clone(), false);
    let v = DistributedVector::from_global(ctx, &g).unwrap();
    for k in [0, n / 3, n / 2, n - 1] {
        check_eq!(v.nth_element(k).unwrap(), s[k], "i32 duplicates: nth_element({k})");
    }
}

fn t_is_sorted(ctx: &Context) {
    let p = ctx.size();
    let n = 4 * p + 1;
    let asc: Vec<i32> = (0..n as i32).collect();
    for (name, spec) in specs(n, p) {
        let v = DistributedVector::from_global_with(ctx, &asc, &spec).unwrap();
        check!(v.is_sorted(false).unwrap(), "{name}: ascending");
        check!(!v.is_sorted(true).unwrap() || n < 2, "{name}: not descending");
        // Swap each pair around a block boundary in turn.
        for cut in 1..n {
            let mut g = asc.clone();
            g.swap(cut - 1, cut);
            let w = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
            check!(!w.is_sorted(false).unwrap(), "{name}: swap at {cut} detected");
        }
    }
    let empty = DistributedVector::<f32>::new(ctx, 0).unwrap();
    check!(empty.is_sorted(false).unwrap() && empty.is_sorted(true).unwrap(), "empty is sorted");
}

fn t_array_seq(ctx: &Context) {
    let n = 150_000;
    let g: Vec<u32> = (0..n).map(|i| (mix(i as u64) % 1_000_000) as u32).collect();
    let want = sorted(g.clone(), false);
    for exec in [Execution::Seq, Execution::Par] {
        let mut a = DistributedArray::from_global_with(ctx, &g, &PartitionSpec::Block).unwrap();
        a.set_execution(exec);
        a.sort(false).unwrap();
        check_eq!(a.gather_all().unwrap() == want, true, "{exec:?}");
        check_eq!(
            a.percentile(25.0).unwrap(),
            model_percentile(&want.iter().map(|&x| x as f64).collect::<Vec<_>>(), 25.0),
            "{exec:?}"
        );
    }
    // sort_local sorts each part only.
    let mut v = DistributedVector::from_global_with(ctx, &g, &PartitionSpec::Cyclic).unwrap();
    let mut mine = v.local().to_vec();
    v.sort_local(true);
    mine.sort_by(|a, b| b.cmp(a));
    check_eq!(v.local().to_vec(), mine, "sort_local");
}

fn t_errors(ctx: &Context) {
    let v = DistributedVector::from_global(ctx, &sort_data::<f64>(10)).unwrap();
    check_err_same!(ctx, v.nth_element(10), Error::Bounds(_), "nth_element(n)");
    check_err_same!(ctx, v.percentile(100.5), Error::InvalidArgument(_), "percentile(100.5)");
    check_err_same!(ctx, v.percentile(f64::NAN), Error::InvalidArgument(_), "percentile(NaN)");
    check_err_same!(ctx, v.percentile(-1.0), Error::InvalidArgument(_), "percentile(-1)");
    // Ranks disagreeing on `reverse` fail on every rank instead of hanging.
    if ctx.size() > 1 {
        let mut w = DistributedVector::from_global(ctx, &sort_data::<f64>(10)).unwrap();
        check_err_same!(ctx, w.sort(ctx.rank() == 0), Error::Mismatch(_), "reverse differs");
        let k = if ctx.rank() == 0 { 1 } else { 2 };
        check_err_same!(ctx, v.nth_element(k), Error::Mismatch(_), "k differs");
    }
}

/// `sort_presorted` after each rank sorted its part (as NumPy would, -0.0
/// and 0.0 in any order): the same result as `sort`; an unsorted part is an
/// error on every rank.
fn t_presorted(ctx: &Context) {
    for n in [0usize, 3, 41, 5000] {
        let mut g: Vec<f64> = (0..n).map(sort_val::<f64>).collect();
        for (i, x) in g.iter_mut().enumerate() {
            match i % 9 {
                1 => *x = -0.0,
                2 => *x = 0.0,
                4 => *x = f64::NAN,
                _ => {}
            }
        }
        for (name, spec) in specs(n, ctx.size()) {
            for reverse in [false, true] {
                let mut want = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                want.sort(reverse).unwrap();
                let mut v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                v.local_mut().sort_by(|a, b| a.partial_cmp(b).unwrap_or_else(|| a.is_nan().cmp(&b.is_nan())));
                v.sort_presorted(reverse).unwrap();
                let bits =
                    |x: Vec<f64>| x.into_iter().map(|f| if f.is_nan() { 1 } else { f.to_bits() }).collect::<Vec<_>>();
                check_eq!(
                    bits(v.gather_all().unwrap()),
                    bits(want.gather_all().unwrap()),
                    "{name} n={n} reverse={reverse}"
                );
            }
        }
    }
    let mut v = DistributedVector::from_global(ctx, &(0..40).rev().collect::<Vec<i32>>()).unwrap();
    check_err_same!(ctx, v.sort_presorted(false), Error::InvalidArgument(_), "unsorted parts");
}
