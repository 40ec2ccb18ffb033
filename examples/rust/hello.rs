//! # hello — the MPI environment dtl runs on, and a first collective
//!
//! Shows how a dtl program starts: one [`Environment`] (initialises MPI,
//! asking for `MPI_THREAD_MULTIPLE`) and one world [`Context`] (dtl's own
//! duplicate of `MPI_COMM_WORLD`). Rank 0 prints the dtl and MPI versions,
//! the thread level MPI granted, and one line per rank with its rank, the
//! size and its processor name (collected with `gatherv`). Then every rank
//! takes part in an `allgather` of the ranks, which must give `0, 1, …,
//! size-1` on every rank; the program checks that (and the closed form
//! `size·(size-1)/2` of an `allreduce` sum) and exits with status 1 if not.
//!
//! Run it with any number of ranks:
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/hello
//! ```

use std::process::exit;

use dtl_core::{Context, Environment, ReduceOp};

fn main() {
    let env = match Environment::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("hello: cannot initialise MPI: {e}");
            exit(1);
        }
    };
    let ctx = match env.make_world_context() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hello: cannot create the world context: {e}");
            exit(1);
        }
    };
    let verdict = run(&env, &ctx);
    drop(ctx);
    drop(env); // MPI_Finalize
    match verdict {
        Ok(()) => {}
        Err(msg) => {
            eprintln!("hello: FAILED: {msg}");
            exit(1);
        }
    }
}

fn run(env: &Environment, ctx: &Context) -> Result<(), String> {
    let (rank, size) = (ctx.rank(), ctx.size());

    if ctx.is_root() {
        let (major, minor) = env.mpi_version();
        let library = env.mpi_library_version();
        println!("dtl {} on MPI {major}.{minor}", dtl_core::VERSION);
        println!("MPI library: {}", library.lines().next().unwrap_or("unknown").trim());
        println!("thread level: {:?}", env.thread_level());
    }

    // One line per rank, printed in rank order by rank 0.
    let line = format!("rank {rank} of {size} on {}", env.processor_name());
    let gathered = ctx.gatherv(line.as_bytes(), 0).map_err(|e| e.to_string())?;
    if let Some((bytes, counts)) = gathered {
        let mut at = 0;
        for c in counts {
            println!("  {}", String::from_utf8_lossy(&bytes[at..at + c]));
            at += c;
        }
    }

    // Every rank contributes its rank; everyone gets all of them, in order.
    let ranks = ctx.allgather(&[rank as i32]).map_err(|e| e.to_string())?;
    let expected: Vec<i32> = (0..size as i32).collect();
    if ranks != expected {
        return Err(format!("rank {rank}: allgather of ranks gave {ranks:?}, expected {expected:?}"));
    }
    let sum = ctx.allreduce_scalar(rank as u64, ReduceOp::Sum).map_err(|e| e.to_string())?;
    let closed = (size * (size - 1) / 2) as u64;
    if sum != closed {
        return Err(format!("rank {rank}: sum of ranks is {sum}, expected size*(size-1)/2 = {closed}"));
    }
    if ctx.is_root() {
        println!("allgather of ranks: {ranks:?} (sum {sum} = {size}*{}/2) ok", size - 1);
    }
    Ok(())
}
