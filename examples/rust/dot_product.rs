//! # dot_product — the guide's example 2, three ways, checked exactly
//!
//! The Rust mirror of `examples/python/dot_product.py`. `a[i] = i` and
//! `b[i] = 2` for `i < N`, so `a·b = 2·(0 + … + N-1) = N·(N-1)`; every term
//! and partial sum is an integer below 2^53, so the `f64` result must equal
//! it exactly. Computed three ways: a loop over the local blocks (global
//! index `local_offset() + l`) and one `allreduce_scalar`
//! (`MPI_Allreduce`); [`DistributedVector::dot`] (collective); and the same
//! in `i64` (exact in any order). Every rank checks its results and exits
//! with status 1 if any differs (they are the same on every rank).
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/dot_product
//! ```

use dtl_core::{Context, DistributedVector, ReduceOp};
use dtl_examples::{err, run_example};

const N: usize = 100_000;

fn main() {
    run_example("dot_product", run);
}

fn run(ctx: &Context) -> Result<(), String> {
    // Two block-partitioned vectors (collective); fill this rank's blocks.
    let mut a = DistributedVector::<f64>::new(ctx, N).map_err(err)?;
    let b = DistributedVector::<f64>::with_value(ctx, N, 2.0).map_err(err)?;
    let off = a.local_offset();
    for (l, x) in a.local_mut().iter_mut().enumerate() {
        *x = (off + l) as f64;
    }

    // Local dot product, then the global sum.
    let local: f64 = a.local().iter().zip(b.local()).map(|(x, y)| x * y).sum();
    let by_hand = ctx.allreduce_scalar(local, ReduceOp::Sum).map_err(err)?;
    // dtl's algorithm: pairwise local sums combined over the ranks.
    let by_dtl = a.dot(&b).map_err(err)?;
    // In integers.
    let mut ai = DistributedVector::<i64>::new(ctx, N).map_err(err)?;
    ai.iota(0); // ai[i] = i
    let bi = DistributedVector::<i64>::with_value(ctx, N, 2).map_err(err)?;
    let by_int = ai.dot(&bi).map_err(err)?;

    let expected = (N * (N - 1)) as f64;
    if ctx.is_root() {
        println!("dot product on {} rank(s): {by_hand:.0} (allreduce), {by_dtl:.0} (dot), {by_int} (i64)", ctx.size());
        println!("expected N (N - 1) = {expected:.0}");
    }
    if by_hand == expected && by_dtl == expected && by_int == (N * (N - 1)) as i64 {
        Ok(())
    } else {
        Err(format!("rank {}: got {by_hand}, {by_dtl}, {by_int}; want {expected}", ctx.rank()))
    }
}
