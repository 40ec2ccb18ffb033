//! # heat_halo — Jacobi heat diffusion with halo exchange
//!
//! Shows a stencil code on a [`DistributedTensor`]: a `ROWS × COLS` grid is
//! split by rows over the ranks; each Jacobi step every rank takes its block
//! padded with one ghost row above and below (the neighbours' rows, from
//! [`local_padded`](DistributedTensor::local_padded), which runs the halo
//! exchange: `MPI_Isend`/`MPI_Irecv` between neighbours) and updates its
//! interior points to the average of their four neighbours. Boundary values
//! stay fixed (top edge 100, the other edges 0); the interior starts from
//! `50·sin(πi/(ROWS-1))·sin(πj/(COLS-1))`, so every block boundary carries
//! information from the first step.
//!
//! After `STEPS` iterations the grid is gathered on rank 0 and compared with
//! the same iteration computed serially with `ndarray`: the maximum
//! absolute difference must be below `1e-12`, or the program exits with
//! status 1.
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/heat_halo
//! ```

use std::f64::consts::PI;
use std::process::exit;

use dtl_core::{Boundary, Context, DistributedTensor, Environment};
use ndarray::{Array2, Ix2};

const ROWS: usize = 64;
const COLS: usize = 32;
const STEPS: usize = 50;

/// Initial temperature, including the fixed boundary values.
fn initial(i: usize, j: usize) -> f64 {
    if i == 0 {
        100.0
    } else if i == ROWS - 1 || j == 0 || j == COLS - 1 {
        0.0
    } else {
        50.0 * (PI * i as f64 / (ROWS - 1) as f64).sin() * (PI * j as f64 / (COLS - 1) as f64).sin()
    }
}

/// One Jacobi update of an interior point from its four neighbours.
fn jacobi(up: f64, down: f64, left: f64, right: f64) -> f64 {
    0.25 * (up + down + left + right)
}

fn main() {
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("heat_halo: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().unwrap_or_else(|e| {
        eprintln!("heat_halo: cannot create the world context: {e}");
        exit(1);
    });
    let verdict = run(&ctx);
    drop(ctx);
    drop(env); // MPI_Finalize
    if let Err(msg) = verdict {
        eprintln!("heat_halo: FAILED: {msg}");
        exit(1);
    }
}

fn run(ctx: &Context) -> Result<(), String> {
    let err = |e: dtl_core::Error| e.to_string();
    let t0 = Environment::wtime();

    let mut grid = DistributedTensor::<f64>::new(ctx, &[ROWS, COLS]).map_err(err)?;
    let off = grid.local_offset();
    let nloc = grid.local_shape()[0];
    for ((i, j), t) in grid.local_view_mut().into_dimensionality::<Ix2>().map_err(|e| e.to_string())?.indexed_iter_mut()
    {
        *t = initial(off + i, j);
    }

    for _ in 0..STEPS {
        // Padded block: row l + 1 is global row off + l; row 0 is global row
        // off - 1 and row nloc + 1 global row off + nloc (from the neighbours;
        // outside the grid the constant, never read: edge rows stay fixed).
        let p = grid
            .local_padded(&[(1, 1), (0, 0)], Boundary::Constant(0.0))
            .map_err(err)?
            .into_dimensionality::<Ix2>()
            .map_err(|e| e.to_string())?;
        let mut block = grid.local_view_mut().into_dimensionality::<Ix2>().map_err(|e| e.to_string())?;
        for l in 0..nloc {
            let g = off + l;
            if g == 0 || g == ROWS - 1 {
                continue; // fixed boundary rows
            }
            for j in 1..COLS - 1 {
                block[[l, j]] = jacobi(p[[l, j]], p[[l + 2, j]], p[[l + 1, j - 1]], p[[l + 1, j + 1]]);
            }
        }
    }
    let gathered = grid.gather(0).map_err(err)?;
    let dt = Environment::wtime() - t0;

    if let Some(parallel) = gathered {
        let parallel = parallel.into_dimensionality::<Ix2>().map_err(|e| e.to_string())?;
        // The same iteration, serially, on the whole grid.
        let mut u = Array2::from_shape_fn((ROWS, COLS), |(i, j)| initial(i, j));
        for _ in 0..STEPS {
            let old = u.clone();
            for i in 1..ROWS - 1 {
                for j in 1..COLS - 1 {
                    u[[i, j]] = jacobi(old[[i - 1, j]], old[[i + 1, j]], old[[i, j - 1]], old[[i, j + 1]]);
                }
            }
        }
        let max_diff = parallel.iter().zip(u.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let total: f64 = parallel.iter().sum();
        println!("heat_halo: {ROWS}x{COLS} grid, {STEPS} Jacobi steps on {} rank(s) ({dt:.4} s)", ctx.size());
        println!(
            "  T[1][{}] = {:.6}, T[{}][{}] = {:.6}, total heat {total:.6}",
            COLS / 2,
            parallel[[1, COLS / 2]],
            ROWS / 2,
            COLS / 2,
            parallel[[ROWS / 2, COLS / 2]]
        );
        println!("  max |parallel - serial| = {max_diff:.3e}");
        if max_diff.is_nan() || max_diff >= 1e-12 {
            return Err(format!("parallel and serial results differ by {max_diff:e} (limit 1e-12)"));
        }
        println!("  ok");
    }
    Ok(())
}
