//! # rma_counter — a shared counter with one-sided atomics
//!
//! The Rust mirror of `examples/python/rma_counter.py` (the DTL guide's
//! distributed counter). Every rank exposes 8 bytes in an RMA [`Window`]
//! (`Window::allocate`, collective: `MPI_Win_allocate`); rank 0's are the
//! counter. Each rank then increments it `INCREMENTS` times with
//! `fetch_and_op_now(.., 1, RmaOp::Sum)` (`MPI_Fetch_and_op`) inside an
//! exclusive lock epoch on rank 0 (`MPI_Win_lock` / `MPI_Win_unlock`),
//! remembering the old values it saw. Rank 0 takes no active part: the
//! operations are one-sided.
//!
//! Checks, on every rank, after a barrier: the counter read back under a
//! shared lock (`MPI_Get`) is `INCREMENTS × size`, and the old values seen
//! by all ranks (`allgatherv`) are exactly `0 .. INCREMENTS × size - 1`,
//! each once, so no increment was lost or applied twice. Exit status 1 if
//! not. The window is freed collectively (`MPI_Win_free`).
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/rma_counter
//! ```

use dtl_core::rma::{LockMode, RmaOp, Window};
use dtl_core::Context;
use dtl_examples::{err, run_example};

const INCREMENTS: i64 = 100;

fn main() {
    run_example("rma_counter", run);
}

fn run(ctx: &Context) -> Result<(), String> {
    let win = Window::allocate(ctx, std::mem::size_of::<i64>()).map_err(err)?; // collective, zeroed
    let mut seen = Vec::with_capacity(INCREMENTS as usize);
    for _ in 0..INCREMENTS {
        let epoch = win.lock(0, LockMode::Exclusive).map_err(err)?; // MPI_Win_lock on rank 0
        seen.push(epoch.fetch_and_op_now(0, 0, 1i64, RmaOp::Sum).map_err(err)?);
        epoch.unlock().map_err(err)?; // MPI_Win_unlock: the increment is done at rank 0
    }
    ctx.barrier().map_err(err)?; // every increment has been issued and completed

    let epoch = win.lock(0, LockMode::Shared).map_err(err)?;
    let total = epoch.get_now::<i64>(0, 0, 1).map_err(err)?[0];
    epoch.unlock().map_err(err)?;
    let (mut everyone, _) = ctx.allgatherv(&seen).map_err(err)?; // collective
    ctx.barrier().map_err(err)?; // nobody frees the window while another rank still reads it
    win.free().map_err(err)?; // collective: MPI_Win_free

    everyone.sort_unstable();
    let want = INCREMENTS * ctx.size() as i64;
    let all_once = everyone.iter().copied().eq(0..want);
    if ctx.is_root() {
        println!(
            "final counter value: {total} (= {INCREMENTS} x {} ranks); every old value seen once: {all_once}",
            ctx.size()
        );
    }
    if total == want && all_once {
        Ok(())
    } else {
        Err(format!("rank {}: counter {total} (want {want}), old values each seen once: {all_once}", ctx.rank()))
    }
}
