//! Lists the book's pages (docs/src/*.md) for the doctest module of lib.rs,
//! so that a new page's Rust blocks are tested without editing lib.rs. Each
//! page becomes a file `<page>.md.rs` in OUT_DIR whose first line is the
//! page's doc attribute: a failing doctest reads
//! `.../<page>.md.rs - book::<page> (line N)`, N the line of the block's
//! opening fence in the page.

use std::{env, fs, path::Path};

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    println!("cargo:rerun-if-changed={}", src.display());
    let mut pages: Vec<_> =
        fs::read_dir(&src).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    pages.retain(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("SUMMARY.md"));
    pages.sort();
    let mut list = String::new();
    for p in &pages {
        println!("cargo:rerun-if-changed={}", p.display());
        let file = p.file_name().unwrap().to_string_lossy().into_owned();
        let name: String = p
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let item = format!(
            "#[doc = include_str!({:?})]\n#[allow(non_camel_case_types, rustdoc::invalid_codeblock_attributes)]\npub struct {name};\n",
            p.canonicalize().unwrap()
        );
        fs::write(out.join(format!("{file}.rs")), item).unwrap();
        list += &format!("include!(concat!(env!(\"OUT_DIR\"), \"/{file}.rs\"));\n");
    }
    fs::write(out.join("book_pages.rs"), list).unwrap();
}
