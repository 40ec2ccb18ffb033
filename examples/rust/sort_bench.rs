//! # sort_bench — the distributed sort against one process sorting everything
//!
//! Times [`DistributedVector::sort`] of `N` random `f64` (default 10^7,
//! uniform in [0, 1), block partition) and, in the same run on rank 0, a
//! sequential `sort_unstable_by` of all `N` values in one process (what
//! `numpy.sort` does). Each figure is the median of 5 timed runs after one
//! warm-up; a dtl run's time is `MPI_Wtime` around the call (maximum over
//! the ranks, after a barrier), including the refill of the unsorted data
//! outside the timed region. Every result is checked with `is_sorted` and
//! against the serial sort; a mismatch exits with status 1.
//!
//! Not part of `make test` (`make bench` runs the Python comparison with
//! NumPy and mpi4py). By hand:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 2 target/release/examples/sort_bench            # N = 10^7
//! mpirun -np 4 target/release/examples/sort_bench 1000000
//! ```

use std::process::exit;

use dtl_core::{DistributedVector, Environment, ReduceOp};

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

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("sort_bench: the argument must be the vector length N: {e}");
            exit(2);
        }
    };
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("sort_bench: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().expect("world context");
    let mut v = DistributedVector::<f64>::new(&ctx, n).expect("vector");
    let mut times = Vec::new();
    for run in 0..=RUNS {
        v.generate(|g| rnd(g as u64));
        ctx.barrier().unwrap();
        let t0 = Environment::wtime();
        v.sort(false).expect("sort");
        let dt = ctx.allreduce_scalar(Environment::wtime() - t0, ReduceOp::Max).unwrap();
        if run > 0 {
            times.push(dt);
        }
        if !v.is_sorted(false).unwrap() {
            eprintln!("sort_bench: result not sorted");
            exit(1);
        }
    }
    let dtl = median(times);
    let sorted = v.gather(0).unwrap();
    if let Some(got) = sorted {
        let mut serial_times = Vec::new();
        let mut want = Vec::new();
        for run in 0..=RUNS {
            want = (0..n as u64).map(rnd).collect::<Vec<f64>>();
            let t0 = Environment::wtime();
            want.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap());
            if run > 0 {
                serial_times.push(Environment::wtime() - t0);
            }
        }
        if got != want {
            eprintln!("sort_bench: dtl's result differs from the serial sort");
            exit(1);
        }
        let serial = median(serial_times);
        println!(
            "sort of {n} f64 at np {}: dtl {:.1} ms, one process {:.1} ms, ratio {:.2}x",
            ctx.size(),
            dtl * 1e3,
            serial * 1e3,
            serial / dtl
        );
    }
}
