//! # distributed_mean — the guide's "distributed mean" and "dot product"
//!
//! The Rust version of examples 1 and 2 of the DTL guide (the Python ones are
//! `examples/python/distributed_mean.py` and `dot_product.py`). Shows the
//! basic dtl pattern: create a [`DistributedVector`] (each rank owns one
//! contiguous block), fill the local block from global indices
//! (`local_offset() + l`), reduce locally, then combine the partial results
//! with `allreduce`.
//!
//! * **Mean**: `x[i] = 2 + sin(0.001·i)` for `i < N = 1 000 000`. The global
//!   mean is checked against a serial loop over the same formula and against
//!   the closed form `2 + sin(N·a/2)·sin((N-1)·a/2) / (N·sin(a/2))`
//!   (`a = 0.001`), both to a relative tolerance of `1e-9`.
//! * **Dot product**: `a[i] = i`, `b[i] = 2`, so `a·b = N·(N-1)` exactly
//!   (every partial sum is an integer below 2^53, hence exact in `f64`).
//!
//! * **The same with dtl's algorithms**: `iota`, `dot` and `reduce` (see
//!   `dtl_core::algorithms`) must give the same answers, and the one-sided
//!   `get(N - 1)` must read `N - 1` from the last rank on every rank.
//!
//! Rank 0 prints the results; any mismatch exits with status 1.
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/distributed_mean
//! ```

use std::process::exit;

use dtl_core::{Context, DistributedVector, Environment, ReduceOp};

const N: usize = 1_000_000;
const A: f64 = 0.001;

fn x(i: usize) -> f64 {
    2.0 + (A * i as f64).sin()
}

fn main() {
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("distributed_mean: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().unwrap_or_else(|e| {
        eprintln!("distributed_mean: cannot create the world context: {e}");
        exit(1);
    });
    let verdict = run(&ctx);
    drop(ctx);
    drop(env); // MPI_Finalize
    if let Err(msg) = verdict {
        eprintln!("distributed_mean: FAILED: {msg}");
        exit(1);
    }
}

fn run(ctx: &Context) -> Result<(), String> {
    let err = |e: dtl_core::Error| e.to_string();
    let t0 = Environment::wtime();

    // ---- distributed mean
    let mut v = DistributedVector::<f64>::new(ctx, N).map_err(err)?;
    let off = v.local_offset();
    for (l, xi) in v.local_mut().iter_mut().enumerate() {
        *xi = x(off + l);
    }
    // Local sum and count, then one global reduction of each.
    let local_sum: f64 = v.local().iter().sum();
    let local_count = v.local_size() as u64;
    let global_sum = ctx.allreduce_scalar(local_sum, ReduceOp::Sum).map_err(err)?;
    let global_count = ctx.allreduce_scalar(local_count, ReduceOp::Sum).map_err(err)?;
    if global_count != N as u64 {
        return Err(format!("rank {}: the local sizes add up to {global_count}, not {N}", ctx.rank()));
    }
    let mean = global_sum / global_count as f64;

    let serial = (0..N).map(x).sum::<f64>() / N as f64;
    let n = N as f64;
    let closed = 2.0 + (n * A / 2.0).sin() * ((n - 1.0) * A / 2.0).sin() / (n * (A / 2.0).sin());
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    if rel(mean, serial) > 1e-9 {
        return Err(format!("rank {}: mean {mean:.15} differs from the serial {serial:.15}", ctx.rank()));
    }
    if rel(mean, closed) > 1e-9 {
        return Err(format!("rank {}: mean {mean:.15} differs from the closed form {closed:.15}", ctx.rank()));
    }

    // ---- dot product
    let mut a = DistributedVector::<f64>::new(ctx, N).map_err(err)?;
    let b = DistributedVector::<f64>::with_value(ctx, N, 2.0).map_err(err)?;
    let off = a.local_offset();
    for (l, ai) in a.local_mut().iter_mut().enumerate() {
        *ai = (off + l) as f64;
    }
    let local_dot: f64 = a.local().iter().zip(b.local()).map(|(x, y)| x * y).sum();
    let dot = ctx.allreduce_scalar(local_dot, ReduceOp::Sum).map_err(err)?;
    let exact = (N * (N - 1)) as f64;
    if dot != exact {
        return Err(format!("rank {}: dot product {dot} != N*(N-1) = {exact}", ctx.rank()));
    }

    // ---- the same with dtl's algorithms and one-sided access
    let mut c = DistributedVector::<f64>::new(ctx, N).map_err(err)?;
    c.iota(0.0); // c[i] = i, on every rank's part
    let dot2 = c.dot(&b).map_err(err)?; // collective: pairwise local sums, combined in rank order
    let mean2 = v.reduce(ReduceOp::Sum).map_err(err)? / n;
    let last = c.get(N - 1).map_err(err)?; // one-sided: an MPI_Get from the last rank
    ctx.barrier().map_err(err)?; // nobody drops `c` while another rank still reads it
    if dot2 != exact || rel(mean2, serial) > 1e-9 || last != (N - 1) as f64 {
        return Err(format!(
            "rank {}: algorithms gave dot {dot2} (want {exact}), mean {mean2} (want {serial}), c[N-1] = {last}",
            ctx.rank()
        ));
    }
    let dt = Environment::wtime() - t0;

    if ctx.is_root() {
        println!("distributed_mean on {} rank(s), N = {N}", ctx.size());
        println!("  mean of 2 + sin(0.001 i) = {mean:.12} (serial {serial:.12}, closed form {closed:.12})");
        println!("  dot(i, 2) = {dot:.0} = N*(N-1) exactly");
        println!("  the same with iota/dot/reduce, and get(N-1) = {last}: agree");
        println!("  ok ({dt:.3} s)");
    }
    Ok(())
}
