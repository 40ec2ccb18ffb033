//! The checked-in `include/dtl.h` must equal the header cbindgen generates
//! that cbindgen generates from the current sources (`src/`, `cbindgen.toml`).
//!
//! After changing the C API, refresh the checked-in copy with
//!
//! ```text
//! DTL_BLESS=1 cargo test --release -p dtl-capi --test header
//! ```

use std::path::Path;

const BLESS: &str = "DTL_BLESS=1 cargo test --release -p dtl-capi --test header";

#[test]
fn checked_in_header_matches_generated() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed_path = crate_dir.join("include").join("dtl.h");
    let config_path = crate_dir.join("cbindgen.toml");
    let config = cbindgen::Config::from_file(&config_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", config_path.display()));
    // Parse the sources directly (following `mod` declarations) rather than
    // through `cargo metadata`: no nested cargo call, no network, no lock.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed to generate dtl.h: {e}"));
    let mut buffer = Vec::new();
    bindings.write(&mut buffer);
    let generated = String::from_utf8(buffer).expect("cbindgen writes UTF-8");

    if std::env::var("DTL_BLESS").as_deref() == Ok("1") {
        std::fs::write(&committed_path, &generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", committed_path.display()));
        eprintln!("DTL_BLESS=1: wrote {}", committed_path.display());
        return;
    }

    let committed = match std::fs::read_to_string(&committed_path) {
        Ok(s) => s,
        Err(e) => panic!("cannot read {}: {e}\nCreate it with:\n    {BLESS}", committed_path.display()),
    };
    if committed == generated {
        return;
    }
    let first_diff = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
    let line = |s: &str| s.lines().nth(first_diff).unwrap_or("<end of file>").to_string();
    panic!(
        "{} is out of date with the C API in dtl-capi/src.\n\
         First difference at line {}:\n  checked in: {}\n  generated:  {}\n\
         If the API change is intended, refresh the checked-in header with:\n    {BLESS}",
        committed_path.display(),
        first_diff + 1,
        line(&committed),
        line(&generated),
    );
}
