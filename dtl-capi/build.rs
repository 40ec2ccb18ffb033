//! Generates `dtl.h` from the crate sources with cbindgen, into `OUT_DIR`,
//! and gives `libdtl.so` its SONAME.
//!
//! The path of the generated header is exported to the crate's targets as
//! the compile-time variable `DTL_GENERATED_HEADER`; `tests/header.rs`
//! compares it with the checked-in `include/dtl.h` (and rewrites that file
//! when run with `DTL_BLESS=1`).
//!
//! The shared library is linked with `-soname libdtl.so.<major>` (so
//! `libdtl.so.0` for 0.x), the name programs record and look for at run
//! time. `make install` installs `libdtl.so.<version>` with the links
//! `libdtl.so.<major>` and `libdtl.so`; the C Makefiles put a
//! `libdtl.so.<major>` link next to cargo's `target/release/libdtl.so`.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let config_path = crate_dir.join("cbindgen.toml");
    let header = out_dir.join("dtl.h");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");

    let config = cbindgen::Config::from_file(&config_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", config_path.display()));
    // Parse the sources directly (following `mod` declarations) rather than
    // through `cargo metadata`: no nested cargo call, no network, no lock.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed to generate dtl.h: {e}"));
    bindings.write_to_file(&header);
    println!("cargo:rustc-env=DTL_GENERATED_HEADER={}", header.display());

    // SONAME of the cdylib (ELF platforms; cargo passes this to the cdylib
    // link only, not to tests or the rlib).
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os.ends_with("bsd") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR is set by cargo");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdtl.so.{major}");
    }
}
