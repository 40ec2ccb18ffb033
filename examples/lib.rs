//! This package hosts the Rust examples under `rust/` and, in doctest builds
//! only, the Rust code blocks of the book (`docs/src/*.md`).
//!
//! `cargo test --release -p dtl-examples --doc` compiles every ```` ```rust ````
//! block of every page and runs those not marked `no_run`, each as its own
//! process: an MPI singleton (one rank), as dtl-core's own doctests run.
//! Blocks that need several ranks are ```` ```rust,no_run ```` (compiled only).
//! Python and C blocks are run by `docs/check_snippets.py`; `make test-docs`
//! does both.

/// The book's pages, one item per page (listed by `build.rs`, so a new page
/// needs no edit here). A failing doctest is named after its page and the
/// line of the block's opening fence, e.g. `book::partitions (line 373)`.
/// Info strings such as `python,np=3` are not rustdoc's: their warning is off.
#[cfg(doctest)]
pub mod book {
    include!(concat!(env!("OUT_DIR"), "/book_pages.rs"));
}
