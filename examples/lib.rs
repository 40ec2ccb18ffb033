//! Shared nothing: this package only hosts the Rust examples under `rust/`.
