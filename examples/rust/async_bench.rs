//! # async_bench — how much of a distributed sort `async_sort` hides
//!
//! Sorts `N` random `f64` (default 10^7, block partition) while the caller
//! does unrelated work of its own, and compares the total time with doing
//! the two one after the other:
//!
//! * `sort`: [`DistributedVector::sort`] alone;
//! * `work`: the caller's work alone — `K` passes of `x = sqrt(x + 1)` over
//!   a private 2^20-element buffer, then one `MPI_Allreduce` of its sum on
//!   the same context as the vector (K is chosen so that the work takes
//!   about as long as the sort);
//! * `sequential` = `sort` + `work`, measured as such;
//! * `overlapped`: [`async_sort`], the work, then [`Future::get`].
//!
//! Each figure is the median of 5 runs after a warm-up, `MPI_Wtime` around
//! the region, the maximum over the ranks. The sorted result is checked
//! (`is_sorted`); a failure exits with status 1. `seq` as a second
//! argument runs the sort's local work on one thread (`Execution::Seq`)
//! instead of rayon's pool, which on small machines competes with the
//! caller for cores.
//!
//! Overlap needs a free core for the lane's worker thread: `mpirun` binds
//! each rank to one core by default (up to 2 ranks), where the worker and
//! the caller take turns and nothing is hidden; give each rank room
//! (`--bind-to none`, or `--map-by slot:PE=2` where there are cores).
//!
//! Not part of `make test`. By hand:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun --bind-to none -np 2 target/release/examples/async_bench            # N = 10^7
//! mpirun --bind-to none -np 1 target/release/examples/async_bench 10000000 seq
//! ```

use std::process::exit;

use dtl_core::algorithms::{async_sort, Future};
use dtl_core::{Context, DistributedVector, Environment, Execution, ReduceOp};

const RUNS: usize = 5;

fn rnd(g: u64) -> f64 {
    let mut z = g.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}

/// The caller's work: `k` passes over a private buffer, then one collective
/// on `ctx` (so that it really runs next to the sort's collectives).
fn work(ctx: &Context, buf: &mut [f64], k: usize) -> f64 {
    for _ in 0..k {
        buf.iter_mut().for_each(|x| *x = (*x + 1.0).sqrt());
    }
    ctx.allreduce_scalar(buf.iter().sum::<f64>(), ReduceOp::Sum).unwrap()
}

/// Median over RUNS (after a warm-up) of the slowest rank's time of `f`.
fn timed(ctx: &Context, mut f: impl FnMut()) -> f64 {
    let mut t = Vec::new();
    for run in 0..=RUNS {
        ctx.barrier().unwrap();
        let t0 = Environment::wtime();
        f();
        let dt = ctx.allreduce_scalar(Environment::wtime() - t0, ReduceOp::Max).unwrap();
        if run > 0 {
            t.push(dt);
        }
    }
    median(t)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = match args.next().map(|a| a.parse()) {
        None => 10_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("async_bench: the first argument must be the vector length N: {e}");
            exit(2);
        }
    };
    let exec = if args.next().as_deref() == Some("seq") { Execution::Seq } else { Execution::Par };
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("async_bench: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().expect("world context");
    let mut v = DistributedVector::<f64>::new(&ctx, n).expect("vector");
    v.set_execution(exec);
    let mut buf = vec![0.5f64; 1 << 20];

    let sort = timed(&ctx, || {
        v.generate(|g| rnd(g as u64));
        v.sort(false).expect("sort");
    });
    let fill = timed(&ctx, || v.generate(|g| rnd(g as u64)));
    let sort = sort - fill;
    // K passes so that the work takes about as long as the sort.
    let one = timed(&ctx, || {
        work(&ctx, &mut buf, 1);
    });
    let k = ((sort / one).round() as usize).max(1);
    let k = ctx.allreduce_scalar(k as u64, ReduceOp::Max).unwrap() as usize;
    let w = timed(&ctx, || {
        work(&ctx, &mut buf, k);
    });
    let sequential = timed(&ctx, || {
        v.generate(|g| rnd(g as u64));
        v.sort(false).expect("sort");
        work(&ctx, &mut buf, k);
    }) - fill;
    let mut slot = Some(v);
    let overlapped = timed(&ctx, || {
        let mut v = slot.take().expect("the vector");
        v.generate(|g| rnd(g as u64));
        let f: Future<DistributedVector<f64>> = async_sort(v, false).expect("async_sort");
        work(&ctx, &mut buf, k);
        slot = Some(f.get().expect("async_sort result"));
    }) - fill;
    let v = slot.expect("the vector");
    if !v.is_sorted(false).unwrap() {
        eprintln!("async_bench: the result is not sorted");
        exit(1);
    }
    if ctx.is_root() {
        println!(
            "np={} N={n} exec={exec:?}: sort {:.3} s, work {:.3} s (K={k}), sequential {:.3} s, \
             overlapped {:.3} s ({:.0}% of the shorter one hidden)",
            ctx.size(),
            sort,
            w,
            sequential,
            overlapped,
            100.0 * (sequential - overlapped) / sort.min(w)
        );
    }
}
