//! # monte_carlo_pi — pi from random points, reproducible and checked
//!
//! The Rust mirror of `examples/python/monte_carlo_pi.py`. The `N` samples
//! are split over the ranks as a block partition splits `N` elements
//! (rank `r` draws `n_r`, the first `N mod size` ranks one more); each rank
//! counts the points of the unit square inside the quarter circle, and
//! `allreduce_scalar` (`MPI_Allreduce`) adds the counts:
//! `pi ≈ 4 · hits / N`.
//!
//! Reproducible per-rank streams: rank `r` draws from splitmix64 whose
//! state starts at [`stream_seed`]`(r)`, so any process can regenerate any
//! rank's points.
//!
//! Checks (rank 0 decides, a `broadcast` gives every rank the verdict; exit
//! status 1 if wrong):
//! * statistical: hits is Binomial(N, pi/4), so the estimate's standard
//!   deviation is `4·sqrt(p(1-p)/N)`; the estimate must be within 5 of
//!   them of pi;
//! * exact: rank 0 regenerates every rank's stream in one process and must
//!   find the same per-rank counts (`gather`) and the same total.
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/monte_carlo_pi [N]
//! ```

use std::f64::consts::PI;

use dtl_core::{Context, Environment, ReduceOp};
use dtl_examples::{err, run_example, splitmix64, uniform};

const SEED: u64 = 20_240_611;

/// The starting state of rank `r`'s stream (a splitmix64 output, so that
/// neighbouring ranks' streams are unrelated).
fn stream_seed(r: usize) -> u64 {
    let mut s = SEED.wrapping_add((r as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    splitmix64(&mut s)
}

/// Points drawn by `rank`: `n` split as a block partition splits n elements.
fn share(n: u64, size: usize, rank: usize) -> u64 {
    n / size as u64 + u64::from((rank as u64) < n % size as u64)
}

/// Hits among `n` points of the stream that starts at `seed`.
fn count_hits(seed: u64, n: u64) -> u64 {
    let mut s = seed;
    (0..n)
        .filter(|_| {
            let (x, y) = (uniform(&mut s), uniform(&mut s));
            x * x + y * y < 1.0
        })
        .count() as u64
}

fn main() {
    run_example("monte_carlo_pi", run);
}

fn run(ctx: &Context) -> Result<(), String> {
    let n: u64 = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|e| format!("N must be a positive integer: {e}"))?,
        None => 4_000_000,
    };
    let (rank, size) = (ctx.rank(), ctx.size());
    let t0 = Environment::wtime();
    let local = count_hits(stream_seed(rank), share(n, size, rank));
    let hits = ctx.allreduce_scalar(local, ReduceOp::Sum).map_err(err)?; // collective
    let elapsed = Environment::wtime() - t0;
    let per_rank = ctx.gather(&[local], 0).map_err(err)?; // collective: Some on rank 0

    let mut verdict = [0u8];
    if let Some(per_rank) = per_rank {
        let estimate = 4.0 * hits as f64 / n as f64;
        let p = PI / 4.0;
        let sigma = 4.0 * (p * (1.0 - p) / n as f64).sqrt();
        let within = (estimate - PI).abs() <= 5.0 * sigma;
        let serial: Vec<u64> = (0..size).map(|r| count_hits(stream_seed(r), share(n, size, r))).collect();
        let same = serial == per_rank && serial.iter().sum::<u64>() == hits;
        println!("pi ~= {estimate:.6} from {n} samples on {size} rank(s) ({elapsed:.3} s)");
        println!(
            "  |estimate - pi| = {:.2e}, 5 sigma = {:.2e} -> {}",
            (estimate - PI).abs(),
            5.0 * sigma,
            if within { "OK" } else { "WRONG" }
        );
        println!(
            "  one-process recount of the same samples: {} hits -> {}",
            serial.iter().sum::<u64>(),
            if same { "OK" } else { "WRONG" }
        );
        verdict[0] = u8::from(!(within && same));
    }
    ctx.broadcast(&mut verdict, 0).map_err(err)?; // collective: rank 0's verdict everywhere
    if verdict[0] == 0 {
        Ok(())
    } else {
        Err("the estimate or the recount is wrong (see rank 0)".into())
    }
}
