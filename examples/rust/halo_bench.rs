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
//! The implementations take turns inside every batch round (so they see
//! the same machine). `--json PATH` also writes the figures in the schema of
//! `bench/report.py` (see `dtl_examples::bench`).
//!
//! Not part of `make test` (`make bench-rust` runs it at np 2 and 4). Run it by hand:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 2 target/release/examples/halo_bench              # 4096 x 4096
//! mpirun -np 4 target/release/examples/halo_bench 1024 256      # ROWS COLS
//! mpirun -np 2 target/release/examples/halo_bench --json bench/results/rust_halo_np2.json
//! ```

use dtl_core::{Context, DistributedTensor, Environment, HaloSpec, ReduceOp};
use dtl_examples::bench::{self, Report, Row};
use dtl_examples::run_example;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

const BATCHES: usize = 7;
const REPS: usize = 200;
const GROUP: &str = "halo exchange (Rust)";
const DTL: &str = "dtl (rust)";
const DTL_NOCHECK: &str = "dtl (rust, checks off)";
const RAW: &str = "raw MPI (rsmpi)";

fn main() {
    let parsed = bench::args().and_then(|(json, rest)| {
        let nums: Vec<usize> = rest
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the arguments must be ROWS and COLS: {e}"))?;
        Ok((json, nums))
    });
    let (json, args) = parsed.unwrap_or_else(|e| {
        eprintln!("halo_bench: {e}");
        std::process::exit(2);
    });
    let rows = args.first().copied().unwrap_or(4096);
    let cols = args.get(1).copied().unwrap_or(rows);
    run_example("halo_bench", |ctx| run(ctx, rows, cols, json.as_deref()));
}

/// Value of global element (i, j).
fn val(i: usize, j: usize, cols: usize) -> f64 {
    (i * cols + j) as f64
}

fn run(ctx: &Context, rows: usize, cols: usize, json: Option<&str>) -> Result<(), String> {
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
    let mut report = Report::new("rust_halo", p);
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

        // Raw rsmpi: the same rows, preallocated buffers, one message per neighbour.
        let below = if periodic { Some((me + p - 1) % p) } else { me.checked_sub(1) };
        let above = if periodic { Some((me + 1) % p) } else { (me + 1 < p).then_some(me + 1) };
        let mut lower = vec![0.0f64; cols];
        let mut upper = vec![0.0f64; cols];
        let local = t.local();
        let (first, last) = (&local[..cols], &local[(nloc - 1) * cols..]);
        let tref = &t;
        let mut dtl_f = || tref.halo_exchange_spec(spec).map(|_| ()).map_err(err);
        let mut unchecked_f = || {
            ctx.set_collective_checks(false);
            let r = tref.halo_exchange_spec(spec).map(|_| ()).map_err(err);
            ctx.set_collective_checks(true);
            r
        };
        let mut raw_f = || {
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
        };
        let [dtl, unchecked, raw] = time_all(ctx, [&mut dtl_f, &mut unchecked_f, &mut raw_f])?;
        let kind = if periodic { "periodic" } else { "not periodic" };
        let case = format!("{rows}x{cols} width 1, {kind}");
        for (imp, secs) in [(DTL, dtl), (DTL_NOCHECK, unchecked), (RAW, raw)] {
            report.row(Row {
                group: GROUP.into(),
                case: case.clone(),
                imp: imp.into(),
                n: Some(rows * cols),
                bytes: Some(bytes_in),
                time_s: secs,
                repeats: BATCHES,
                note: format!("per exchange, batches of {REPS}; bytes = most any rank receives"),
            });
        }
        report.ratio(GROUP, &case, Some(rows * cols), RAW, DTL, None);
        report.ratio(GROUP, &case, Some(rows * cols), RAW, DTL_NOCHECK, None);
        if ctx.is_root() {
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
    if let (Some(path), true) = (json, ctx.is_root()) {
        report.write(path)?;
        println!("halo_bench: wrote {path}");
    }
    Ok(())
}

/// Median over the batches of the per-exchange time (the slowest rank's),
/// for each implementation; they take turns inside every batch round.
fn time_all<const K: usize>(
    ctx: &Context,
    mut fs: [&mut dyn FnMut() -> Result<(), String>; K],
) -> Result<[f64; K], String> {
    let mut times: [Vec<f64>; K] = std::array::from_fn(|_| Vec::new());
    for batch in 0..=BATCHES {
        for (f, ts) in fs.iter_mut().zip(times.iter_mut()) {
            ctx.barrier().map_err(|e| e.to_string())?;
            let t0 = Environment::wtime();
            for _ in 0..REPS {
                f()?;
            }
            let dt = (Environment::wtime() - t0) / REPS as f64;
            let dt = ctx.allreduce_scalar(dt, ReduceOp::Max).map_err(|e| e.to_string())?;
            if batch > 0 {
                ts.push(dt);
            }
        }
    }
    Ok(times.map(|mut t| bench::median(&mut t)))
}
