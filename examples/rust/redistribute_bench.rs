//! # redistribute_bench — what `redistribute` costs, against raw MPI
//!
//! Times [`DistributedVector::redistribute`] of an `f64` vector of `N`
//! elements (default 10^7) from block to cyclic and from cyclic to block,
//! and, in the same run, two hand-written rsmpi baselines:
//!
//! * `raw MPI (Alltoallv only)`: one `all_to_all_varcount_into`
//!   (`MPI_Alltoallv`) with exactly the per-rank counts dtl's exchange
//!   uses, on preallocated buffers: the transfer alone, a lower bound no
//!   redistribution reaches (the data must be grouped by destination).
//! * `raw MPI + pack`: what a user writes by hand with the counts known in
//!   closed form: a strided gather into a new send buffer (block -> cyclic;
//!   cyclic -> block sends the local part as it is), the `MPI_Alltoallv`
//!   into a new receive buffer, and a strided scatter into a new local part
//!   (cyclic -> block; block -> cyclic receives it in order). This is the
//!   honest floor for dtl, which also returns a freshly allocated part.
//!
//! dtl's time on top of "raw MPI + pack" is its own overhead: the
//! agreement check, the `MPI_Alltoall` of the counts, and zeroing the
//! receive buffer.
//!
//! Each figure is the median of 5 timed runs after one warm-up run, the
//! three implementations taking turns inside every run; a run's time is
//! `MPI_Wtime` around the call, the maximum over the ranks (after a
//! barrier). "moved" is the data that changes owner: the number of
//! elements whose owner differs between the two layouts, summed over the
//! ranks, times 8 bytes; GB/s is moved bytes / time (10^9 bytes). At np 1
//! nothing changes owner, so only the times are meaningful. The result of
//! every dtl and "raw + pack" run is checked (each element holds its global
//! index); a mismatch exits with status 1. `--json PATH` also writes the
//! figures in the schema of `bench/report.py` (`bytes` there is the whole
//! vector, `N * 8`).
//!
//! Not part of `make test` (`make bench-rust` runs it at np 2 and 4). Run it by hand:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 2 target/release/examples/redistribute_bench            # N = 10^7
//! mpirun -np 4 target/release/examples/redistribute_bench 1000000    # another N
//! mpirun -np 2 target/release/examples/redistribute_bench --json bench/results/rust_redistribute_np2.json
//! ```

use dtl_core::partition::{Layout, Partition, PartitionSpec};
use dtl_core::{Context, DistributedVector, Environment, ReduceOp};
use dtl_examples::bench::{self, Report, Row};
use dtl_examples::run_example;
use mpi::datatype::{Partition as Parts, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

const RUNS: usize = 5;
const GROUP: &str = "redistribute (Rust)";
const DTL: &str = "dtl (rust)";
const RAW: &str = "raw MPI (Alltoallv only)";
const RAW_PACK: &str = "raw MPI + pack";

fn main() {
    let (json, rest) = bench::args().unwrap_or_else(|e| {
        eprintln!("redistribute_bench: {e}");
        std::process::exit(2);
    });
    let n: usize = match rest.first().map(|a| a.parse()) {
        None => 10_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("redistribute_bench: the argument must be the vector length N: {e}");
            std::process::exit(2);
        }
    };
    run_example("redistribute_bench", |ctx| run(ctx, n, json.as_deref()));
}

fn run(ctx: &Context, n: usize, json: Option<&str>) -> Result<(), String> {
    let err = |e: dtl_core::Error| e.to_string();
    let (me, p) = (ctx.rank(), ctx.size());
    let world = SimpleCommunicator::world();
    let mut report = Report::new("rust_redistribute", p);
    let mut v = DistributedVector::<f64>::with_layout(ctx, n, 0.0, &PartitionSpec::Block).map_err(err)?;
    let off = v.local_offset();
    for (l, x) in v.local_mut().iter_mut().enumerate() {
        *x = (off + l) as f64;
    }
    if ctx.is_root() {
        println!("redistribute_bench: N = {n} f64 ({:.1} MB), np = {p}, median of {RUNS} after 1 warm-up", mb(n * 8));
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}",
            "direction", "moved MB", "dtl ms", "dtl GB/s", "raw+pack ms", "Alltoallv ms", "pack/dtl", "raw/dtl"
        );
    }
    let cases = [
        ("block -> cyclic", PartitionSpec::Block, PartitionSpec::Cyclic),
        ("cyclic -> block", PartitionSpec::Cyclic, PartitionSpec::Block),
    ];
    for (name, from, to) in cases {
        let src = from.layout(n, p).map_err(err)?;
        let dst = to.layout(n, p).map_err(err)?;
        // What any exchange sends: my source elements, by target owner
        // (closed forms: between block and cyclic, rank d's share of a
        // contiguous range a..b is the count of indices = d mod p in it).
        let block_range = |r: usize| {
            let b = dtl_core::partition::Block::new(n, p);
            b.range(r)
        };
        let in_range = |r: std::ops::Range<usize>, d: usize| -> usize {
            let below = |x: usize| x / p + usize::from(x % p > d);
            below(r.end) - below(r.start)
        };
        let to_cyclic = matches!(to, PartitionSpec::Cyclic);
        let (send_counts, recv_counts): (Vec<usize>, Vec<usize>) = if to_cyclic {
            (
                (0..p).map(|d| in_range(block_range(me), d)).collect(),
                (0..p).map(|s| in_range(block_range(s), me)).collect(),
            )
        } else {
            (
                (0..p).map(|d| in_range(block_range(d), me)).collect(),
                (0..p).map(|s| in_range(block_range(me), s)).collect(),
            )
        };
        let moved_here = send_counts.iter().enumerate().filter(|&(d, _)| d != me).map(|(_, c)| c).sum::<usize>();
        let moved = ctx.allreduce_scalar(moved_here as u64, ReduceOp::Sum).map_err(err)? as usize * 8;
        let (sc, sd) = counts_displs(&send_counts)?;
        let (rc, rd) = counts_displs(&recv_counts)?;
        let (ns, nr) = (src.local_size(me), dst.local_size(me));
        let src_block = block_range(me);

        // Raw MPI buffers, preallocated (at least one element: Open MPI reads
        // the dangling pointer of an empty Vec as MPI_IN_PLACE).
        let raw_send: Vec<f64> = vec![1.0; ns.max(1)];
        let mut raw_recv: Vec<f64> = vec![0.0; nr.max(1)];
        // This rank's source data for "raw + pack" (global indices as values).
        let mine: Vec<f64> = src.local_indices(me).map(|g| g as f64).collect();

        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        for run in 0..=RUNS {
            // dtl: v starts in `from` for every run (moving back is not timed).
            v.redistribute(&from).map_err(err)?;
            ctx.barrier().map_err(err)?;
            let t0 = Environment::wtime();
            v.redistribute(&to).map_err(err)?;
            let t_dtl = Environment::wtime() - t0;
            check(ctx, v.local(), v.partition() == &dst, &dst, "dtl")?;

            // Raw MPI + pack, everything allocated afresh as dtl does.
            world.barrier();
            let t0 = mpi::time();
            let out = if to_cyclic {
                // Strided gather per destination, then the new part arrives in order.
                let mut send = Vec::with_capacity(ns.max(1));
                for d in 0..p {
                    let s = src_block.start;
                    let g0 = s + (d + p - s % p) % p;
                    if g0 < src_block.end {
                        send.extend(mine[g0 - s..].iter().step_by(p).copied());
                    }
                }
                let mut recv = vec![0.0f64; nr.max(1)];
                alltoallv(&world, &send[..ns], &sc, &sd, &mut recv[..nr], &rc, &rd);
                recv.truncate(nr);
                recv
            } else {
                // The cyclic part goes out as it is; strided scatter on arrival.
                let mut recv = vec![0.0f64; nr.max(1)];
                alltoallv(&world, &mine[..ns], &sc, &sd, &mut recv[..nr], &rc, &rd);
                let mut out = vec![0.0f64; nr];
                let s = block_range(me).start;
                let mut at = 0;
                for (r, &c) in recv_counts.iter().enumerate() {
                    let g0 = s + (r + p - s % p) % p;
                    if c > 0 {
                        for (y, x) in out[g0 - s..].iter_mut().step_by(p).zip(&recv[at..at + c]) {
                            *y = *x;
                        }
                    }
                    at += c;
                }
                out
            };
            let t_pack = mpi::time() - t0;
            check(ctx, &out, true, &dst, "raw MPI + pack")?;
            drop(out);

            // Raw MPI: the Alltoallv alone, buffers ready.
            world.barrier();
            let t0 = mpi::time();
            alltoallv(&world, &raw_send[..ns], &sc, &sd, &mut raw_recv[..nr], &rc, &rd);
            let t_raw = mpi::time() - t0;

            for (k, dt) in [t_dtl, t_pack, t_raw].into_iter().enumerate() {
                let dt = ctx.allreduce_scalar(dt, ReduceOp::Max).map_err(err)?;
                if run > 0 {
                    times[k].push(dt);
                }
            }
        }
        let [td, tp, tr] = times.map(|mut t| bench::median(&mut t));
        for (imp, secs, note) in [
            (DTL, td, "DistributedVector::redistribute (new local part)"),
            (RAW_PACK, tp, "hand-written strided pack + MPI_Alltoallv + unpack, closed-form counts, fresh buffers"),
            (RAW, tr, "MPI_Alltoallv alone on preallocated buffers (lower bound)"),
        ] {
            report.row(Row {
                group: GROUP.into(),
                case: name.into(),
                imp: imp.into(),
                n: Some(n),
                bytes: Some(n * 8),
                time_s: secs,
                repeats: RUNS,
                note: format!("{note}; {:.1} MB change owner", mb(moved)),
            });
        }
        report.ratio(GROUP, name, Some(n), RAW_PACK, DTL, Some(1.0 / 1.3));
        report.ratio(GROUP, name, Some(n), RAW, DTL, None);
        if ctx.is_root() {
            println!(
                "{name:<16} {:>9.1} {:>9.2} {:>9.2} {:>11.2} {:>12.2} {:>8.2}x {:>8.2}x",
                mb(moved),
                td * 1e3,
                moved as f64 / td / 1e9,
                tp * 1e3,
                tr * 1e3,
                tp / td,
                tr / td
            );
        }
    }
    if let (Some(path), true) = (json, ctx.is_root()) {
        report.write(path)?;
        println!("redistribute_bench: wrote {path}");
    }
    Ok(())
}

/// One `MPI_Alltoallv` of `send` (counts and displacements `sc`, `sd`)
/// into `recv` (`rc`, `rd`).
fn alltoallv(w: &SimpleCommunicator, send: &[f64], sc: &[i32], sd: &[i32], recv: &mut [f64], rc: &[i32], rd: &[i32]) {
    // Empty slices would reach MPI as dangling pointers (MPI_IN_PLACE for
    // Open MPI): give it a one-element scratch instead.
    let (s1, mut r1) = ([0.0f64], [0.0f64]);
    let send = if send.is_empty() { &s1[..0] } else { send };
    let recv = if recv.is_empty() { &mut r1[..0] } else { recv };
    let sp = Parts::new(send, sc, sd);
    let mut rp = PartitionMut::new(recv, rc, rd);
    w.all_to_all_varcount_into(&sp, &mut rp);
}

/// Every local element must hold its global index under `layout` (and
/// `layout_ok` must hold on every rank).
fn check(ctx: &Context, local: &[f64], layout_ok: bool, layout: &Layout, who: &str) -> Result<(), String> {
    let me = ctx.rank();
    let bad = !layout_ok
        || local.len() != layout.local_size(me)
        || local.iter().zip(layout.local_indices(me)).any(|(&x, g)| x != g as f64);
    let any_bad = ctx.allreduce_scalar(i32::from(bad), ReduceOp::Max).map_err(|e| e.to_string())?;
    if any_bad != 0 {
        return Err(format!("{who}: redistribute to {:?} gave wrong local data (rank {me}: {bad})", layout.kind()));
    }
    Ok(())
}

fn counts_displs(counts: &[usize]) -> Result<(Vec<i32>, Vec<i32>), String> {
    let c: Vec<i32> = counts
        .iter()
        .map(|&x| i32::try_from(x).map_err(|_| "count over 2^31".to_string()))
        .collect::<Result<_, _>>()?;
    let mut d = Vec::with_capacity(c.len());
    let mut at = 0i32;
    for &x in &c {
        d.push(at);
        at = at.checked_add(x).ok_or("displacement over 2^31")?;
    }
    Ok((c, d))
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}
