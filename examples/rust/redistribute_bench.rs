//! # redistribute_bench — what `redistribute` costs, against raw MPI
//!
//! Times [`DistributedVector::redistribute`] of an `f64` vector of `N`
//! elements (default 10^7) from block to cyclic and from cyclic to block,
//! and, in the same run, a plain rsmpi `all_to_all_varcount_into`
//! (`MPI_Alltoallv`) with exactly the per-rank counts dtl's exchange
//! uses, on preallocated buffers. The ratio of the two is dtl's overhead:
//! computing destinations, packing, unpacking, allocating the new local
//! part, the agreement check and the `MPI_Alltoall` of the counts.
//!
//! Each figure is the median of 5 timed runs after one warm-up run; a run's
//! time is `MPI_Wtime` around the call, the maximum over the ranks (after a
//! barrier). "moved" is the data that changes owner: the number of elements
//! whose owner differs between the two layouts, summed over the ranks, times
//! 8 bytes; GB/s is moved bytes / time (10^9 bytes). At np 1 nothing
//! changes owner (every element stays on rank 0), so the moved rate is 0
//! and only the times are meaningful. The result of every dtl run is
//! checked (each element holds its global index); a mismatch exits with
//! status 1.
//!
//! Not part of `make test`. Run it by hand:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 2 target/release/examples/redistribute_bench            # N = 10^7
//! mpirun -np 4 target/release/examples/redistribute_bench 1000000    # another N
//! ```

use std::process::exit;

use dtl_core::partition::{Layout, Partition, PartitionSpec};
use dtl_core::{Context, DistributedVector, Environment, ReduceOp};
use mpi::datatype::{Partition as Parts, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

const RUNS: usize = 5;

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("redistribute_bench: the argument must be the vector length N: {e}");
            exit(2);
        }
    };
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("redistribute_bench: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().unwrap_or_else(|e| {
        eprintln!("redistribute_bench: cannot create the world context: {e}");
        exit(1);
    });
    let verdict = run(&ctx, n);
    drop(ctx);
    drop(env); // MPI_Finalize
    if let Err(msg) = verdict {
        eprintln!("redistribute_bench: FAILED: {msg}");
        exit(1);
    }
}

fn run(ctx: &Context, n: usize) -> Result<(), String> {
    let err = |e: dtl_core::Error| e.to_string();
    let (me, p) = (ctx.rank(), ctx.size());
    let world = SimpleCommunicator::world();
    let mut v = DistributedVector::<f64>::with_layout(ctx, n, 0.0, &PartitionSpec::Block).map_err(err)?;
    let off = v.local_offset();
    for (l, x) in v.local_mut().iter_mut().enumerate() {
        *x = (off + l) as f64;
    }
    if ctx.is_root() {
        println!("redistribute_bench: N = {n} f64 ({:.1} MB), np = {p}, median of {RUNS} after 1 warm-up", mb(n * 8));
        println!(
            "{:<16} {:>12} {:>11} {:>9} {:>11} {:>9} {:>9}",
            "direction", "moved MB", "dtl ms", "dtl GB/s", "raw MPI ms", "raw GB/s", "dtl/raw"
        );
    }
    let cases = [
        ("block -> cyclic", PartitionSpec::Block, PartitionSpec::Cyclic),
        ("cyclic -> block", PartitionSpec::Cyclic, PartitionSpec::Block),
    ];
    for (name, from, to) in cases {
        let src = from.layout(n, p).map_err(err)?;
        let dst = to.layout(n, p).map_err(err)?;
        // What dtl's exchange sends: my source elements, by target owner.
        let mut send_counts = vec![0usize; p];
        for g in src.local_indices(me) {
            send_counts[dst.owner(g).map_err(err)?] += 1;
        }
        let mut recv_counts = vec![0usize; p];
        for g in dst.local_indices(me) {
            recv_counts[src.owner(g).map_err(err)?] += 1;
        }
        let moved_here = send_counts.iter().enumerate().filter(|&(d, _)| d != me).map(|(_, c)| c).sum::<usize>();
        let moved = ctx.allreduce_scalar(moved_here as u64, ReduceOp::Sum).map_err(err)? as usize * 8;

        // dtl: v starts in `from` for every run (moving back is not timed).
        let mut dtl_times = Vec::new();
        for run in 0..=RUNS {
            v.redistribute(&from).map_err(err)?;
            ctx.barrier().map_err(err)?;
            let t0 = Environment::wtime();
            v.redistribute(&to).map_err(err)?;
            let dt = Environment::wtime() - t0;
            let dt = ctx.allreduce_scalar(dt, ReduceOp::Max).map_err(err)?;
            if run > 0 {
                dtl_times.push(dt);
            }
            check(ctx, &v, &dst)?;
        }

        // Raw MPI: one MPI_Alltoallv with the same counts, buffers ready.
        // (At least one element allocated: Open MPI reads the dangling
        // pointer of an empty Vec as MPI_IN_PLACE.)
        let (ns, nr) = (src.local_size(me), dst.local_size(me));
        let send: Vec<f64> = vec![1.0; ns.max(1)];
        let mut recv: Vec<f64> = vec![0.0; nr.max(1)];
        let (sc, sd) = counts_displs(&send_counts)?;
        let (rc, rd) = counts_displs(&recv_counts)?;
        let mut raw_times = Vec::new();
        for run in 0..=RUNS {
            world.barrier();
            let t0 = mpi::time();
            {
                let sp = Parts::new(&send[..ns], &sc[..], &sd[..]);
                let mut rp = PartitionMut::new(&mut recv[..nr], &rc[..], &rd[..]);
                world.all_to_all_varcount_into(&sp, &mut rp);
            }
            let dt = mpi::time() - t0;
            let dt = ctx.allreduce_scalar(dt, ReduceOp::Max).map_err(err)?;
            if run > 0 {
                raw_times.push(dt);
            }
        }
        let (td, tr) = (median(&mut dtl_times), median(&mut raw_times));
        if ctx.is_root() {
            println!(
                "{name:<16} {:>12.1} {:>11.2} {:>9.2} {:>11.2} {:>9.2} {:>8.2}x",
                mb(moved),
                td * 1e3,
                moved as f64 / td / 1e9,
                tr * 1e3,
                moved as f64 / tr / 1e9,
                td / tr
            );
        }
    }
    Ok(())
}

/// Every local element must hold its global index under `layout`.
fn check(ctx: &Context, v: &DistributedVector<f64>, layout: &Layout) -> Result<(), String> {
    let me = ctx.rank();
    let bad = v.partition() != layout
        || v.local().len() != layout.local_size(me)
        || v.local().iter().zip(layout.local_indices(me)).any(|(&x, g)| x != g as f64);
    let any_bad = ctx.allreduce_scalar(i32::from(bad), ReduceOp::Max).map_err(|e| e.to_string())?;
    if any_bad != 0 {
        return Err(format!("redistribute to {:?} gave wrong local data (rank {me}: {bad})", layout.kind()));
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

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}
