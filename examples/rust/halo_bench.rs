//! # halo_bench — what a halo exchange costs, against raw MPI
//!
//! Times [`DistributedTensor::halo_exchange`] of a `ROWS × COLS` `f64`
//! tensor (default 4096 × 4096, block partition of the rows), width 1, not
//! periodic and periodic, and, in the same run, the exchange a user would
//! write with rsmpi: one `MPI_Irecv` per neighbour into a preallocated row
//! buffer and one `MPI_Isend` of the edge row, then wait on all. The ratio
//! of the two is dtl's overhead: the argument check (one small
//! `MPI_Allreduce`), computing which rows come from whom, and allocating the
//! returned halo arrays. `checks off` repeats the dtl case with
//! [`Context::set_collective_checks(false)`](Context::set_collective_checks)
//! (no `MPI_Allreduce`).
//!
//! Each figure is the median over 7 batches of `REPS` exchanges (after a
//! warm-up batch): a batch's time is `MPI_Wtime` around it, the maximum over
//! the ranks, divided by `REPS`. "bytes in" is the most any rank receives
//! per exchange (`2 · width · COLS · 8` for a rank with a neighbour on
//! each side; half that for both ranks at np 2 when not periodic). The halos dtl returns are checked against
//! the rows they must hold; a mismatch exits with status 1.
//!
//! Not part of `make test`. Run it by hand:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 2 target/release/examples/halo_bench              # 4096 x 4096
//! mpirun -np 4 target/release/examples/halo_bench 1024 256      # ROWS COLS
//! ```

use std::process::exit;

use dtl_core::{Context, DistributedTensor, Environment, HaloSpec, ReduceOp};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

const BATCHES: usize = 7;
const REPS: usize = 200;

fn main() {
    let args: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("halo_bench: the arguments must be ROWS and COLS: {e}");
            exit(2);
        }
    };
    let rows = args.first().copied().unwrap_or(4096);
    let cols = args.get(1).copied().unwrap_or(rows);
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("halo_bench: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().unwrap_or_else(|e| {
        eprintln!("halo_bench: cannot create the world context: {e}");
        exit(1);
    });
    let verdict = run(&ctx, rows, cols);
    drop(ctx);
    drop(env); // MPI_Finalize
    if let Err(msg) = verdict {
        eprintln!("halo_bench: FAILED: {msg}");
        exit(1);
    }
}

/// Value of global element (i, j).
fn val(i: usize, j: usize, cols: usize) -> f64 {
    (i * cols + j) as f64
}

fn run(ctx: &Context, rows: usize, cols: usize) -> Result<(), String> {
    let err = |e: dtl_core::Error| e.to_string();
    let (me, p) = (ctx.rank(), ctx.size());
    if rows < p {
        return Err(format!("ROWS ({rows}) must be at least the number of ranks ({p})"));
    }
    let mut t = DistributedTensor::<f64>::new(ctx, &[rows, cols]).map_err(err)?;
    let off = t.local_offset();
    for (k, x) in t.local_mut().iter_mut().enumerate() {
        *x = val(off + k / cols, k % cols, cols);
    }
    let nloc = t.local_shape()[0];
    if ctx.is_root() {
        println!(
            "halo_bench: {rows} x {cols} f64 ({:.1} MB), np = {p}, width 1, median of {BATCHES} batches of {REPS}",
            (rows * cols * 8) as f64 / 1e6
        );
        println!("{:<30} {:>10} {:>10} {:>10} {:>9}", "case", "bytes in", "us/exch", "GB/s", "vs raw");
    }
    let world = SimpleCommunicator::world();
    for periodic in [false, true] {
        let spec = if periodic { HaloSpec::symmetric(1).periodic() } else { HaloSpec::symmetric(1) };
        // Correctness of what dtl returns (rows off-1 and off+nloc).
        let h = t.halo_exchange_spec(spec).map_err(err)?;
        let want =
            |g: Option<usize>| -> Vec<f64> { g.map_or(Vec::new(), |g| (0..cols).map(|j| val(g, j, cols)).collect()) };
        let wrap = |g: isize| -> Option<usize> {
            if periodic {
                Some(g.rem_euclid(rows as isize) as usize)
            } else {
                (0..rows as isize).contains(&g).then_some(g as usize)
            }
        };
        let lo = want(wrap(off as isize - 1));
        let hi = want(wrap((off + nloc) as isize));
        if h.lower.iter().copied().collect::<Vec<_>>() != lo || h.upper.iter().copied().collect::<Vec<_>>() != hi {
            return Err(format!("rank {me}: wrong halo rows (periodic {periodic})"));
        }
        let mine = ((h.lower.len() + h.upper.len()) * 8) as u64;
        let bytes_in = ctx.allreduce_scalar(mine, ReduceOp::Max).map_err(err)? as usize;

        let dtl = time(ctx, || t.halo_exchange_spec(spec).map(|_| ()).map_err(err))?;
        ctx.set_collective_checks(false);
        let unchecked = time(ctx, || t.halo_exchange_spec(spec).map(|_| ()).map_err(err));
        ctx.set_collective_checks(true);
        let unchecked = unchecked?;

        // Raw rsmpi: the same rows, preallocated buffers, one message per neighbour.
        let below = if periodic { Some((me + p - 1) % p) } else { me.checked_sub(1) };
        let above = if periodic { Some((me + 1) % p) } else { (me + 1 < p).then_some(me + 1) };
        let mut lower = vec![0.0f64; cols];
        let mut upper = vec![0.0f64; cols];
        let local = t.local();
        let (first, last) = (&local[..cols], &local[(nloc - 1) * cols..]);
        let raw = time(ctx, || {
            mpi::request::scope(|scope| {
                let mut reqs = Vec::new();
                if let Some(b) = below {
                    reqs.push(world.process_at_rank(b as i32).immediate_receive_into_with_tag(
                        scope,
                        &mut lower[..],
                        7,
                    ));
                }
                if let Some(a) = above {
                    reqs.push(world.process_at_rank(a as i32).immediate_receive_into_with_tag(
                        scope,
                        &mut upper[..],
                        7,
                    ));
                }
                let mut sends = Vec::new();
                if let Some(a) = above {
                    sends.push(world.process_at_rank(a as i32).immediate_send_with_tag(scope, last, 7));
                }
                if let Some(b) = below {
                    sends.push(world.process_at_rank(b as i32).immediate_send_with_tag(scope, first, 7));
                }
                reqs.into_iter().chain(sends).for_each(|r| {
                    r.wait();
                });
            });
            Ok(())
        })?;
        if ctx.is_root() {
            let kind = if periodic { "periodic" } else { "not periodic" };
            for (case, secs) in [(format!("dtl, {kind}"), dtl), (format!("dtl checks off, {kind}"), unchecked)] {
                println!(
                    "{case:<30} {bytes_in:>10} {:>10.1} {:>10.2} {:>8.2}x",
                    secs * 1e6,
                    bytes_in as f64 / secs / 1e9,
                    secs / raw
                );
            }
            println!(
                "{:<30} {bytes_in:>10} {:>10.1} {:>10.2}",
                format!("raw MPI, {kind}"),
                raw * 1e6,
                bytes_in as f64 / raw / 1e9
            );
        }
    }
    Ok(())
}

/// Median over the batches of the per-exchange time (the slowest rank's).
fn time(ctx: &Context, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut times = Vec::new();
    for batch in 0..=BATCHES {
        ctx.barrier().map_err(|e| e.to_string())?;
        let t0 = Environment::wtime();
        for _ in 0..REPS {
            f()?;
        }
        let dt = (Environment::wtime() - t0) / REPS as f64;
        let dt = ctx.allreduce_scalar(dt, ReduceOp::Max).map_err(|e| e.to_string())?;
        if batch > 0 {
            times.push(dt);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}
