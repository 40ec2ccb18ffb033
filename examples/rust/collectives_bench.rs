//! # collectives_bench — dtl's collectives from Rust, against raw rsmpi
//!
//! Times [`Context::allreduce_into`] (sum), [`Context::broadcast`] (root 0),
//! [`Context::allgather_into`] and [`Context::alltoall_into`] on `f64` buffers of
//! 8 B to 64 MiB per rank, and, in the same run, the raw rsmpi calls a user
//! would write instead on preallocated buffers: `all_reduce_into`
//! (`MPI_Allreduce`), `broadcast_into` (`MPI_Bcast`), `all_gather_into`
//! (`MPI_Allgather`) and `all_to_all_into` (`MPI_Alltoall`). A third
//! implementation repeats dtl's call with
//! [`Context::set_collective_checks(false)`](Context::set_collective_checks),
//! which skips the agreement step (one small `MPI_Allgather` that checks
//! every rank passed the same type, length, root and operation), so its
//! cost is visible on its own.
//!
//! Sizes are of each rank's send buffer: `allgather` receives `np` times
//! that, `alltoall` sends `bytes / np` to each rank. Every dtl call writes
//! into a buffer allocated once, like the raw calls.
//!
//! Timing: per size, a batch of calls (enough for about 4 MiB of traffic,
//! 1 to 200 calls) is timed with `MPI_Wtime` after a barrier; a batch's
//! time per call is the maximum over the ranks; the figure is the median of
//! `REPEATS` batches after one warm-up batch, the three implementations
//! taking turns inside every repetition. Each implementation's result is
//! checked once per size against the closed form before timing; a wrong
//! result exits with status 1 on every rank.
//!
//! Not part of `make test` (`make bench-rust` runs it at np 1, 2 and 4):
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 2 target/release/examples/collectives_bench --json bench/results/rust_collectives_np2.json
//! mpirun -np 2 target/release/examples/collectives_bench 1048576   # largest size in bytes (default 64 MiB)
//! ```

use dtl_core::{Context, ReduceOp};
use dtl_examples::bench::{self, Report, Row};
use dtl_examples::{err, run_example};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

const REPEATS: usize = 7;
const GROUP: &str = "collectives (Rust)";
const DTL: &str = "dtl (rust)";
const DTL_NOCHECK: &str = "dtl (rust, checks off)";
const RAW: &str = "raw MPI (rsmpi)";

fn main() {
    let (json, rest) = bench::args().unwrap_or_else(|e| {
        eprintln!("collectives_bench: {e}");
        std::process::exit(2);
    });
    let max_bytes: usize = match rest.first().map(|a| a.parse()) {
        None => 64 << 20,
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            eprintln!("collectives_bench: the argument must be the largest size in bytes: {e}");
            std::process::exit(2);
        }
    };
    run_example("collectives_bench", |ctx| run(ctx, max_bytes, json.as_deref()));
}

/// The operations, in table order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Allreduce,
    Broadcast,
    Allgather,
    Alltoall,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Allreduce => "allreduce",
            Op::Broadcast => "broadcast",
            Op::Allgather => "allgather",
            Op::Alltoall => "alltoall",
        }
    }
}

/// Buffers of one (operation, size): the send buffer, the raw receive
/// buffer, and dtl's last result.
struct Bufs {
    send: Vec<f64>,
    recv: Vec<f64>,
    out: Vec<f64>,
}

fn run(ctx: &Context, max_bytes: usize, json: Option<&str>) -> Result<(), String> {
    let (me, p) = (ctx.rank(), ctx.size());
    let world = SimpleCommunicator::world();
    let mut report = Report::new("rust_collectives", p);
    // 8 B, 64 B, ..., 16 MiB (powers of 8), then 64 MiB: in f64 elements.
    let mut sizes: Vec<usize> = (0..).map(|k| 8usize.pow(k)).take_while(|&n| n * 8 <= max_bytes).collect();
    if max_bytes >= 64 << 20 {
        sizes.push(8 << 20);
    }
    if ctx.is_root() {
        println!("collectives_bench: np = {p}, f64, median of {REPEATS} batches after 1 warm-up (slowest rank)");
        println!(
            "{:<10} {:>10} {:>12} {:>12} {:>12} {:>9}",
            "op", "bytes", "dtl us", "no-check us", "raw us", "raw/dtl"
        );
    }
    for op in [Op::Allreduce, Op::Broadcast, Op::Allgather, Op::Alltoall] {
        for &n0 in &sizes {
            // alltoall: a whole number of elements per destination.
            let n = if op == Op::Alltoall { (n0 / p).max(1) * p } else { n0 };
            let bytes = n * 8;
            let recv_len = match op {
                Op::Allreduce | Op::Alltoall => n,
                Op::Broadcast => 0,
                Op::Allgather => n * p,
            };
            let mut b = Bufs { send: fill_send(op, n, me, p), recv: vec![0.0; recv_len.max(1)], out: Vec::new() };
            // Check each implementation once (this is also a warm-up).
            for imp in [DTL, DTL_NOCHECK, RAW] {
                reset(op, &mut b, n, me, p);
                call(op, imp, ctx, &world, &mut b, n)?;
                let got: &[f64] = if imp == RAW && op != Op::Broadcast {
                    &b.recv[..recv_len]
                } else if op == Op::Broadcast {
                    &b.send
                } else {
                    &b.out
                };
                let bad = first_wrong(op, got, n, me, p);
                let any = ctx.allreduce_scalar(i32::from(bad.is_some()), ReduceOp::Max).map_err(err)?;
                if any != 0 {
                    return Err(format!("{} of {n} f64 by {imp}: wrong result (rank {me}: {bad:?})", op.name()));
                }
            }
            let batch = ((4usize << 20) / bytes).clamp(1, 200);
            let mut times = [Vec::new(), Vec::new(), Vec::new()];
            for rep in 0..=REPEATS {
                for (k, imp) in [DTL, DTL_NOCHECK, RAW].into_iter().enumerate() {
                    world.barrier();
                    let t0 = mpi::time();
                    for _ in 0..batch {
                        call(op, imp, ctx, &world, &mut b, n)?;
                    }
                    let dt = (mpi::time() - t0) / batch as f64;
                    let mut slowest = 0.0;
                    world.all_reduce_into(&dt, &mut slowest, SystemOperation::max());
                    if rep > 0 {
                        times[k].push(slowest);
                    }
                }
            }
            let note = format!("batch of {batch} calls; {}", what(op));
            let med: Vec<f64> = times.iter_mut().map(|t| bench::median(t)).collect();
            for (k, imp) in [DTL, DTL_NOCHECK, RAW].into_iter().enumerate() {
                report.row(Row {
                    group: GROUP.into(),
                    case: op.name().into(),
                    imp: imp.into(),
                    n: Some(n),
                    bytes: Some(bytes),
                    time_s: med[k],
                    repeats: REPEATS,
                    note: note.clone(),
                });
            }
            // The bounds issue 9 sets for Python's allreduce, applied to Rust.
            let target = (op == Op::Allreduce).then_some(if bytes >= 1 << 20 { 1.0 / 1.05 } else { 1.0 / 1.2 });
            let ratio = report.ratio(GROUP, op.name(), Some(n), RAW, DTL, target).unwrap_or(f64::NAN);
            report.ratio(GROUP, op.name(), Some(n), RAW, DTL_NOCHECK, None);
            if ctx.is_root() {
                println!(
                    "{:<10} {:>10} {:>12.2} {:>12.2} {:>12.2} {:>8.2}x",
                    op.name(),
                    bytes,
                    med[0] * 1e6,
                    med[1] * 1e6,
                    med[2] * 1e6,
                    ratio
                );
            }
        }
    }
    if let (Some(path), true) = (json, ctx.is_root()) {
        report.write(path)?;
        println!("collectives_bench: wrote {path}");
    }
    Ok(())
}

fn what(op: Op) -> &'static str {
    match op {
        Op::Allreduce => "sum, into a preallocated buffer",
        Op::Broadcast => "from rank 0, in place",
        Op::Allgather => "bytes per rank; dtl returns a new Vec of np x bytes",
        Op::Alltoall => "bytes per rank (bytes/np to each); dtl returns a new Vec",
    }
}

/// One call of `op` by implementation `imp` on the buffers.
fn call(op: Op, imp: &str, ctx: &Context, world: &SimpleCommunicator, b: &mut Bufs, n: usize) -> Result<(), String> {
    if imp == RAW {
        match op {
            Op::Allreduce => world.all_reduce_into(&b.send[..], &mut b.recv[..n], SystemOperation::sum()),
            Op::Broadcast => world.process_at_rank(0).broadcast_into(&mut b.send[..]),
            Op::Allgather => world.all_gather_into(&b.send[..], &mut b.recv[..]),
            Op::Alltoall => world.all_to_all_into(&b.send[..], &mut b.recv[..n]),
        }
        return Ok(());
    }
    let checks = imp == DTL;
    if !checks {
        ctx.set_collective_checks(false);
    }
    let r = match op {
        Op::Allreduce => {
            b.out.resize(n, 0.0);
            ctx.allreduce_into(&b.send, &mut b.out, ReduceOp::Sum)
        }
        Op::Broadcast => ctx.broadcast(&mut b.send, 0),
        Op::Allgather => {
            b.out.resize(n * ctx.size(), 0.0);
            ctx.allgather_into(&b.send, &mut b.out)
        }
        Op::Alltoall => {
            b.out.resize(n, 0.0);
            ctx.alltoall_into(&b.send, &mut b.out)
        }
    };
    if !checks {
        ctx.set_collective_checks(true);
    }
    r.map_err(err)
}

/// Rank `me`'s send buffer: exact small integers in `f64`, distinct per
/// rank and position.
fn fill_send(op: Op, n: usize, me: usize, p: usize) -> Vec<f64> {
    match op {
        Op::Allreduce => (0..n).map(|i| (me + 1) as f64 + (i % 7) as f64).collect(),
        Op::Broadcast => (0..n).map(|i| if me == 0 { (i % 1000) as f64 } else { -1.0 }).collect(),
        Op::Allgather => (0..n).map(|i| (me as f64) * 1e7 + i as f64).collect(),
        Op::Alltoall => {
            let m = n / p;
            (0..n).map(|i| ((me * p + i / m) as f64) * 1e7 + (i % m) as f64).collect()
        }
    }
}

/// Restores the inputs before a checked call (broadcast overwrites them).
fn reset(op: Op, b: &mut Bufs, n: usize, me: usize, p: usize) {
    if op == Op::Broadcast {
        b.send = fill_send(op, n, me, p);
    }
    b.recv.iter_mut().for_each(|x| *x = f64::NAN);
    b.out.clear();
}

/// The first wrong position of a result, checked against the closed form.
fn first_wrong(op: Op, got: &[f64], n: usize, me: usize, p: usize) -> Option<usize> {
    let want = |i: usize| -> f64 {
        match op {
            Op::Allreduce => (p * (p + 1) / 2) as f64 + (p * (i % 7)) as f64,
            Op::Broadcast => (i % 1000) as f64,
            Op::Allgather => ((i / n) as f64) * 1e7 + (i % n) as f64,
            Op::Alltoall => {
                let m = n / p;
                (((i / m) * p + me) as f64) * 1e7 + (i % m) as f64
            }
        }
    };
    let len = if op == Op::Allgather { n * p } else { n };
    if got.len() != len {
        return Some(usize::MAX);
    }
    got.iter().enumerate().position(|(i, &x)| x != want(i))
}
