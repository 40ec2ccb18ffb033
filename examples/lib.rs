//! This package hosts the Rust examples under `rust/` (each a binary of this
//! package; run them under `mpirun`), the helpers they share, and, in doctest
//! builds only, the Rust code blocks of the book (`docs/src/*.md`).
//!
//! `cargo test --release -p dtl-examples --doc` compiles every ```` ```rust ````
//! block of every page and runs those not marked `no_run`, each as its own
//! process: an MPI singleton (one rank), as dtl-core's own doctests run.
//! Blocks that need several ranks are ```` ```rust,no_run ```` (compiled only).
//! Python and C blocks are run by `docs/check_snippets.py`; `make test-docs`
//! does both.

use std::process::exit;

use dtl_core::{Context, Environment};

/// Runs an example: creates the [`Environment`] (initialises MPI) and the
/// world [`Context`] (collective: `MPI_Comm_dup` of `MPI_COMM_WORLD`), calls
/// `body`, drops both (`MPI_Finalize`) and exits with status 1 if `body`
/// returned an error, after printing it as `name: FAILED: …`. Every rank
/// must call it. `body` returns an error on every rank where a check
/// failed; the examples agree on the verdict with a collective first, so
/// that all ranks exit alike.
pub fn run_example(name: &str, body: impl FnOnce(&Context) -> Result<(), String>) {
    let env = Environment::new().unwrap_or_else(|e| {
        eprintln!("{name}: cannot initialise MPI: {e}");
        exit(1);
    });
    let ctx = env.make_world_context().unwrap_or_else(|e| {
        eprintln!("{name}: cannot create the world context: {e}");
        exit(1);
    });
    let verdict = body(&ctx);
    drop(ctx);
    drop(env); // MPI_Finalize
    if let Err(msg) = verdict {
        eprintln!("{name}: FAILED: {msg}");
        exit(1);
    }
}

/// One step of splitmix64 (Steele, Lea and Flood, 2014): advances `state`
/// and returns 64 pseudo-random bits. The examples seed one stream per rank
/// (or per chunk) so that any process can regenerate any rank's data.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform `f64` in `[0, 1)` from the top 53 bits of [`splitmix64`].
pub fn uniform(state: &mut u64) -> f64 {
    (splitmix64(state) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Turns a `dtl_core::Error` into the `String` the examples report.
pub fn err(e: dtl_core::Error) -> String {
    e.to_string()
}

/// The book's pages, one item per page (listed by `build.rs`, so a new page
/// needs no edit here). A failing doctest is named after its page and the
/// line of the block's opening fence, e.g. `book::partitions (line 373)`.
/// Info strings such as `python,np=3` are not rustdoc's: their warning is off.
#[cfg(doctest)]
pub mod book {
    include!(concat!(env!("OUT_DIR"), "/book_pages.rs"));
}
