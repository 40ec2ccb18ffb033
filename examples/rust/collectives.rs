//! # collectives — every collective of a dtl `Context`, checked locally
//!
//! The Rust mirror of `examples/python/collectives.py`. Shows the
//! collectives of [`Context`] (`allreduce` with every [`ReduceOp`],
//! `allreduce_scalar`, `reduce`, `broadcast`, `broadcast_vec`, `gather`,
//! `gatherv`, `scatter`, `scatterv`, `allgather`, `allgatherv`, `alltoall`,
//! `alltoallv`, `scan`, `exscan`, `barrier`) and the collective calls of a
//! [`DistributedVector`] (`from_local`, `gather`, `gather_all`, `reduce`,
//! `dot`, `inclusive_scan`, `exclusive_scan`). Every call is collective:
//! every rank makes it, in the same order.
//!
//! Check: rank `r`'s data is a function of `r` alone ([`contribution`]:
//! splitmix64 seeded with `1000 + r`, integers in -20..=20; the `f64` copy
//! holds multiples of 1/4, so every sum is exact in any order), so each
//! rank rebuilds every rank's data and computes each expected result with
//! plain loops, without communication; results must be equal exactly.
//! The failures of all ranks are summed with one final `allreduce`, and
//! every rank exits with status 1 if there was any.
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/collectives
//! ```

use dtl_core::{Context, DistributedVector, ReduceOp};
use dtl_examples::{err, run_example, splitmix64};

/// Elements per rank in the array collectives.
const K: usize = 6;

/// Rank `r`'s K integers in -20..=20, the same on every rank that asks.
fn contribution(r: usize) -> Vec<i64> {
    let mut s = 1000 + r as u64;
    (0..K).map(|_| (splitmix64(&mut s) % 41) as i64 - 20).collect()
}

/// Collects failed checks.
struct Checks(Vec<String>);

impl Checks {
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
}

/// Element-wise fold of every rank's data.
fn fold<T: Copy>(all: &[Vec<T>], f: impl Fn(T, T) -> T) -> Vec<T> {
    (0..all[0].len()).map(|i| all.iter().skip(1).fold(all[0][i], |a, v| f(a, v[i]))).collect()
}

fn main() {
    run_example("collectives", run);
}

fn run(ctx: &Context) -> Result<(), String> {
    let (rank, size) = (ctx.rank(), ctx.size());
    let last = size - 1;
    let mut c = Checks(Vec::new());
    let ints = contribution(rank);
    let floats: Vec<f64> = ints.iter().map(|&x| x as f64 / 4.0).collect();
    let all_ints: Vec<Vec<i64>> = (0..size).map(contribution).collect();
    let all_floats: Vec<Vec<f64>> = all_ints.iter().map(|v| v.iter().map(|&x| x as f64 / 4.0).collect()).collect();

    // ---- allreduce (MPI_Allreduce), every op
    c.eq("allreduce sum f64", ctx.allreduce(&floats, ReduceOp::Sum).map_err(err)?, fold(&all_floats, |a, b| a + b));
    c.eq("allreduce min f64", ctx.allreduce(&floats, ReduceOp::Min).map_err(err)?, fold(&all_floats, f64::min));
    c.eq("allreduce max i64", ctx.allreduce(&ints, ReduceOp::Max).map_err(err)?, fold(&all_ints, i64::max));
    let clamp = |v: &Vec<i64>| v.iter().map(|x| x.clamp(&-3, &3)).copied().collect::<Vec<i64>>();
    let all_small: Vec<Vec<i64>> = all_ints.iter().map(clamp).collect();
    c.eq("allreduce prod", ctx.allreduce(&clamp(&ints), ReduceOp::Prod).map_err(err)?, fold(&all_small, |a, b| a * b));
    let bits = |v: &Vec<i64>| v.iter().map(|&x| (x & 0xFF) as u16).collect::<Vec<u16>>();
    let all_bits: Vec<Vec<u16>> = all_ints.iter().map(bits).collect();
    let my_bits = bits(&ints);
    c.eq("allreduce band", ctx.allreduce(&my_bits, ReduceOp::BAnd).map_err(err)?, fold(&all_bits, |a, b| a & b));
    c.eq("allreduce bor", ctx.allreduce(&my_bits, ReduceOp::BOr).map_err(err)?, fold(&all_bits, |a, b| a | b));
    c.eq("allreduce bxor", ctx.allreduce(&my_bits, ReduceOp::BXor).map_err(err)?, fold(&all_bits, |a, b| a ^ b));
    let truth = |v: &Vec<i64>| v.iter().map(|&x| i32::from(x > 0)).collect::<Vec<i32>>();
    let all_truth: Vec<Vec<i32>> = all_ints.iter().map(truth).collect();
    let my_truth = truth(&ints);
    c.eq("allreduce land", ctx.allreduce(&my_truth, ReduceOp::LAnd).map_err(err)?, fold(&all_truth, |a, b| a & b));
    c.eq("allreduce lor", ctx.allreduce(&my_truth, ReduceOp::LOr).map_err(err)?, fold(&all_truth, |a, b| a | b));
    c.eq("allreduce lxor", ctx.allreduce(&my_truth, ReduceOp::LXor).map_err(err)?, fold(&all_truth, |a, b| a ^ b));
    c.eq("allreduce_scalar", ctx.allreduce_scalar(1u64, ReduceOp::Sum).map_err(err)?, size as u64);

    // ---- reduce (MPI_Reduce) onto the last rank: None elsewhere
    let got = ctx.reduce(&floats, ReduceOp::Sum, last).map_err(err)?;
    c.eq("reduce", got, (rank == last).then(|| fold(&all_floats, |a, b| a + b)));

    // ---- broadcast (MPI_Bcast) in place, and broadcast_vec (the length too)
    let mut buf: Vec<f32> = if rank == last { (0..12).map(|i| (i + last) as f32).collect() } else { vec![0.0; 12] };
    ctx.broadcast(&mut buf, last).map_err(err)?;
    c.eq("broadcast", buf, (0..12).map(|i| (i + last) as f32).collect());
    let root_data: Vec<u32> = if rank == 0 { (0..(size as u32 + 5)).collect() } else { Vec::new() };
    c.eq("broadcast_vec", ctx.broadcast_vec(&root_data, 0).map_err(err)?, (0..(size as u32 + 5)).collect());

    // ---- gather / allgather (every rank's K elements in rank order), gatherv / allgatherv
    let cat_ints: Vec<i64> = all_ints.concat();
    c.eq("gather", ctx.gather(&ints, 0).map_err(err)?, (rank == 0).then(|| cat_ints.clone()));
    c.eq("allgather", ctx.allgather(&ints).map_err(err)?, cat_ints.clone());
    let mine = &ints[..rank % K + 1]; // rank r sends r % K + 1 elements
    let want_v: Vec<i64> = (0..size).flat_map(|r| all_ints[r][..r % K + 1].to_vec()).collect();
    let want_counts: Vec<usize> = (0..size).map(|r| r % K + 1).collect();
    c.eq("allgatherv", ctx.allgatherv(mine).map_err(err)?, (want_v.clone(), want_counts.clone()));
    c.eq("gatherv", ctx.gatherv(mine, last).map_err(err)?, (rank == last).then_some((want_v, want_counts)));

    // ---- scatter / scatterv (MPI_Scatter, MPI_Scatterv) from rank 0
    let table: Vec<i32> = (0..3 * size as i32).map(|i| 10 * i).collect();
    let send = if rank == 0 { table.clone() } else { Vec::new() };
    c.eq("scatter", ctx.scatter(&send, 0).map_err(err)?, table[3 * rank..3 * rank + 3].to_vec());
    let counts: Vec<usize> = (0..size).map(|r| r + 1).collect(); // rank r gets r + 1 elements
    let flat: Vec<i32> = (0..counts.iter().sum::<usize>() as i32).collect();
    let start = rank * (rank + 1) / 2;
    let (send, cnt) = if rank == 0 { (flat.clone(), counts.clone()) } else { (Vec::new(), Vec::new()) };
    c.eq("scatterv", ctx.scatterv(&send, &cnt, 0).map_err(err)?, flat[start..start + rank + 1].to_vec());

    // ---- alltoall / alltoallv (MPI_Alltoall, MPI_Alltoallv)
    let out: Vec<i64> = (0..size).flat_map(|d| [(100 * rank + d) as i64, -(d as i64)]).collect();
    let want: Vec<i64> = (0..size).flat_map(|s| [(100 * s + rank) as i64, -(rank as i64)]).collect();
    c.eq("alltoall", ctx.alltoall(&out).map_err(err)?, want);
    // Rank s sends d + 1 copies of 100 s + d to rank d.
    let send_counts: Vec<usize> = (0..size).map(|d| d + 1).collect();
    let out: Vec<i64> = (0..size).flat_map(|d| vec![(100 * rank + d) as i64; d + 1]).collect();
    let want: Vec<i64> = (0..size).flat_map(|s| vec![(100 * s + rank) as i64; rank + 1]).collect();
    c.eq("alltoallv", ctx.alltoallv(&out, &send_counts).map_err(err)?, (want, vec![rank + 1; size]));

    // ---- scan / exscan (MPI_Scan, MPI_Exscan): prefixes over ranks
    c.eq("scan sum", ctx.scan(&floats, ReduceOp::Sum).map_err(err)?, fold(&all_floats[..=rank], |a, b| a + b));
    c.eq("scan max", ctx.scan(&ints, ReduceOp::Max).map_err(err)?, fold(&all_ints[..=rank], i64::max));
    let prefix = if rank == 0 { vec![0; K] } else { fold(&all_ints[..rank], |a, b| a + b) };
    c.eq("exscan sum", ctx.exscan(&ints, ReduceOp::Sum).map_err(err)?, prefix); // rank 0: the identity

    ctx.barrier().map_err(err)?; // MPI_Barrier

    // ---- containers: the global vector is rank 0's elements, then rank 1's, ...
    let whole: Vec<f64> = all_floats.concat();
    let mut v = DistributedVector::<f64>::from_local(ctx, floats.clone()).map_err(err)?;
    c.eq("vector gather", v.gather(0).map_err(err)?, (rank == 0).then(|| whole.clone()));
    c.eq("vector gather_all", v.gather_all().map_err(err)?, whole.clone());
    c.eq("vector reduce sum", v.reduce(ReduceOp::Sum).map_err(err)?, whole.iter().sum::<f64>());
    c.eq("vector reduce max", v.reduce(ReduceOp::Max).map_err(err)?, whole.iter().copied().fold(f64::MIN, f64::max));
    let halves = DistributedVector::<f64>::with_value(ctx, whole.len(), 0.5).map_err(err)?;
    c.eq("vector dot", v.dot(&halves).map_err(err)?, whole.iter().map(|x| x * 0.5).sum::<f64>());
    v.inclusive_scan(ReduceOp::Sum).map_err(err)?;
    let cumsum: Vec<f64> = whole
        .iter()
        .scan(0.0, |s, x| {
            *s += x;
            Some(*s)
        })
        .collect();
    c.eq("vector inclusive_scan", v.gather_all().map_err(err)?, cumsum);
    let mut w = DistributedVector::<i64>::from_local(ctx, ints.clone()).map_err(err)?;
    w.exclusive_scan(ReduceOp::Sum, 0).map_err(err)?;
    let excl: Vec<i64> = cat_ints
        .iter()
        .scan(0, |s, x| {
            let before = *s;
            *s += x;
            Some(before)
        })
        .collect();
    c.eq("vector exclusive_scan", w.gather_all().map_err(err)?, excl);

    // ---- verdict: the failures of every rank, on every rank
    for f in &c.0 {
        eprintln!("rank {rank}: {f}");
    }
    let bad = ctx.allreduce_scalar(c.0.len() as u64, ReduceOp::Sum).map_err(err)?;
    if ctx.is_root() {
        println!(
            "collectives on {size} rank(s): every result equals the local computation -> {}",
            if bad == 0 { "OK" } else { "WRONG" }
        );
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(format!("{bad} check(s) failed over all ranks"))
    }
}
