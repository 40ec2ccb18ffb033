//! Criterion micro-benchmarks of dtl's local kernels against the obvious
//! single-threaded Rust baseline, on one rank.
//!
//! dtl's kernels (`dtl-core/src/algorithms/kernels.rs`) are reached through
//! the public local API of a [`DistributedVector`] on a one-rank context
//! (this bench process is an MPI singleton: `cargo bench` runs it without
//! `mpirun`; `Environment::new` initialises MPI). The vectors run with
//! [`Execution::Seq`], so both sides use one thread and the ratio is the
//! kernel's own. Each criterion group has a `dtl` function and a
//! `baseline: …` function over the same data, `n` = 10^4 and 10^6 `f64`:
//!
//! | group | dtl | baseline |
//! |---|---|---|
//! | sum | `reduce_local(Sum)` (pairwise, AVX2) | `iter().sum()` |
//! | max | `reduce_local(Max)` | `iter().fold(f64::NEG_INFINITY, f64::max)` |
//! | dot | `dot_local` | `zip().map(a * b).sum()` |
//! | inclusive scan | `inclusive_scan_local(Sum)` | a running-sum loop |
//! | transform | `transform(2x + 1)` | `iter_mut` loop |
//! | fill | `fill(v)` | `slice::fill` |
//! | iota | `iota(0)` | `enumerate` loop |
//! | sort | `sort_local` (random data) | `sort_unstable_by(total_cmp)` |
//! | is_sorted | `is_sorted` (collective: a one-rank `MPI_Allreduce`) | `windows(2).all(a <= b)` |
//!
//! Criterion reports time per call and bytes per second (`8 n` bytes).
//! Run with `make bench-rust` (or `cargo bench -p dtl-core --bench kernels`);
//! `bench/criterion_json.py` turns the results into
//! `bench/results/rust_criterion.json` with one ratio (baseline / dtl) per
//! group and size.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use dtl_core::{Context, DistributedVector, Environment, Execution, ReduceOp};

const SIZES: [usize; 2] = [10_000, 1_000_000];

/// Deterministic pseudo-random `f64` in [0, 1) (splitmix64).
fn data(n: usize) -> Vec<f64> {
    let mut s = 0x1234_5678_9abc_def0u64;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn vector(ctx: &Context, x: &[f64]) -> DistributedVector<f64> {
    let mut v = DistributedVector::<f64>::new(ctx, x.len()).expect("vector");
    v.set_execution(Execution::Seq);
    v.local_mut().copy_from_slice(x);
    v
}

/// A criterion group `kernel NAME` with a throughput of `8 n` bytes.
fn group<'a>(c: &'a mut Criterion, name: &str, n: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(format!("kernel {name}"));
    g.throughput(Throughput::Bytes(8 * n as u64));
    g
}

fn bench_kernels(c: &mut Criterion, ctx: &Context) {
    for n in SIZES {
        let x = data(n);
        let y = data(n).into_iter().rev().collect::<Vec<_>>();
        let v = vector(ctx, &x);
        let w = vector(ctx, &y);
        let mut sorted = x.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let vs = vector(ctx, &sorted);
        let id = |f: &str| BenchmarkId::new(f.to_string(), n);

        let mut g = group(c, "sum", n);
        g.bench_function(id("dtl"), |b| b.iter(|| v.reduce_local(ReduceOp::Sum).expect("sum")));
        g.bench_function(id("baseline: iter().sum()"), |b| b.iter(|| black_box(&x).iter().sum::<f64>()));
        g.finish();

        let mut g = group(c, "max", n);
        g.bench_function(id("dtl"), |b| b.iter(|| v.reduce_local(ReduceOp::Max).expect("max")));
        g.bench_function(id("baseline: fold(f64::max)"), |b| {
            b.iter(|| black_box(&x).iter().copied().fold(f64::NEG_INFINITY, f64::max))
        });
        g.finish();

        let mut g = group(c, "dot", n);
        g.bench_function(id("dtl"), |b| b.iter(|| v.dot_local(&w).expect("dot")));
        g.bench_function(id("baseline: zip().map(a*b).sum()"), |b| {
            b.iter(|| black_box(&x).iter().zip(black_box(&y)).map(|(a, b)| a * b).sum::<f64>())
        });
        g.finish();

        let mut g = group(c, "inclusive scan", n);
        let mut vm = vector(ctx, &x);
        g.bench_function(id("dtl"), |b| {
            b.iter(|| {
                vm.inclusive_scan_local(ReduceOp::Sum).expect("scan");
                vm.local()[n - 1]
            })
        });
        let mut xm = x.clone();
        g.bench_function(id("baseline: running-sum loop"), |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for e in black_box(&mut xm).iter_mut() {
                    acc += *e;
                    *e = acc;
                }
                acc
            })
        });
        g.finish();

        let mut g = group(c, "transform", n);
        g.bench_function(id("dtl"), |b| b.iter(|| vm.transform(|e| 2.0 * e + 1.0)));
        g.bench_function(id("baseline: iter_mut loop"), |b| {
            b.iter(|| black_box(&mut xm).iter_mut().for_each(|e| *e = 2.0 * *e + 1.0))
        });
        g.finish();

        let mut g = group(c, "fill", n);
        g.bench_function(id("dtl"), |b| b.iter(|| vm.fill(black_box(0.5))));
        g.bench_function(id("baseline: slice::fill"), |b| b.iter(|| black_box(&mut xm).fill(black_box(0.5))));
        g.finish();

        let mut g = group(c, "iota", n);
        g.bench_function(id("dtl"), |b| b.iter(|| vm.iota(black_box(0.0))));
        g.bench_function(id("baseline: enumerate loop"), |b| {
            b.iter(|| black_box(&mut xm).iter_mut().enumerate().for_each(|(i, e)| *e = i as f64))
        });
        g.finish();

        let mut g = group(c, "sort", n);
        g.bench_function(id("dtl"), |b| {
            b.iter_batched_ref(|| vector(ctx, &x), |v| v.sort_local(false), BatchSize::LargeInput)
        });
        g.bench_function(id("baseline: sort_unstable_by(total_cmp)"), |b| {
            b.iter_batched_ref(|| x.clone(), |x| x.sort_unstable_by(f64::total_cmp), BatchSize::LargeInput)
        });
        g.finish();

        let mut g = group(c, "is_sorted", n);
        g.bench_function(id("dtl"), |b| b.iter(|| vs.is_sorted(false).expect("is_sorted")));
        g.bench_function(id("baseline: windows(2).all(a <= b)"), |b| {
            b.iter(|| black_box(&sorted).windows(2).all(|p| p[0] <= p[1]))
        });
        g.finish();
    }
}

fn main() {
    let env = Environment::new().expect("cannot initialise MPI");
    let ctx = env.make_world_context().expect("cannot create the world context");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();
    bench_kernels(&mut c, &ctx);
    c.final_summary();
    drop(ctx);
    drop(env);
}
