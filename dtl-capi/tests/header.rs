//! The checked-in `include/dtl.h` must equal the header cbindgen generates
//! from the current sources (build.rs writes it to OUT_DIR).
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
    let generated_path = Path::new(env!("DTL_GENERATED_HEADER"));
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include").join("dtl.h");
    let generated = std::fs::read_to_string(generated_path)
        .unwrap_or_else(|e| panic!("cannot read the generated header {}: {e}", generated_path.display()));

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
         Generated header: {}\n\
         If the API change is intended, refresh the checked-in header with:\n    {BLESS}",
        committed_path.display(),
        first_diff + 1,
        line(&committed),
        line(&generated),
        generated_path.display(),
    );
}
