//! # word_count — count the words of Python's standard library in a `DistributedMap`
//!
//! The Rust mirror of `examples/python/word_count.py`. The corpus is real
//! text: the first `FILES` `.py` files (sorted by path) under Python's
//! standard library (the directory `python3` reports as
//! `sysconfig.get_paths()["stdlib"]`, `site-packages` left out), or under
//! the directory given as the first argument. Files are dealt to the
//! ranks cyclically; each rank splits its files into words (runs of
//! `[A-Za-z_][A-Za-z0-9_]*`) and counts them in a `HashMap`.
//!
//! A [`DistributedMap`]`<u64, u64>` holds the global counts, keyed by the
//! word's 64-bit FNV-1a hash; every key lives on one owner rank.
//! `insert` replaces a value (there is no combining insert), so the ranks
//! merge their counts in turn: in round `r`, rank `r` reads the current
//! counts of its words with the collective `find_many` (the other ranks
//! ask for no key), adds its own and `insert_many`-s the sums, which the
//! next collective call ships to the owners (one `MPI_Alltoallv`).
//! `global_view` (collective, `MPI_Allgatherv`) then gives every rank the
//! whole map; the 20 most frequent words are printed, spelled by the
//! ranks that saw them (an `allgatherv` of bytes).
//!
//! Check: rank 0 counts all the files in one process and compares every
//! count, the number of distinct words with the map's `global_size`, and
//! that no two words share a key; a `broadcast` gives every rank the
//! verdict (exit status 1 if wrong).
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/word_count [DIR [FILES]]
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dtl_core::{Context, DistributedMap, Environment};
use dtl_examples::{err, run_example};

const FILES: usize = 250;
const TOP: usize = 20;

/// Python's standard library directory, as `python3` reports it.
fn stdlib_dir() -> Result<PathBuf, String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .map_err(|e| format!("cannot run python3 to find the corpus: {e}"))?;
    if !out.status.success() {
        return Err("python3 could not report its stdlib directory".into());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Every `.py` file under `dir` (recursively, `site-packages` left out).
fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() && e.file_name() != "site-packages" {
            python_files(&p, out);
        } else if kind.is_file() && p.extension().is_some_and(|x| x == "py") {
            out.push(p);
        }
    }
}

/// The words of `text`: maximal runs of `[A-Za-z_][A-Za-z0-9_]*`.
fn words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut i = 0;
    std::iter::from_fn(move || {
        // Skip to the next byte that can start a word (as a regex search does).
        while i < text.len() && !(text[i].is_ascii_alphabetic() || text[i] == b'_') {
            i += 1;
        }
        if i >= text.len() {
            return None;
        }
        let start = i;
        while i < text.len() && (text[i].is_ascii_alphanumeric() || text[i] == b'_') {
            i += 1;
        }
        Some(&text[start..i])
    })
}

/// Word counts of `files`.
fn count_words(files: &[PathBuf]) -> Result<HashMap<Vec<u8>, u64>, String> {
    let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
    for f in files {
        let text = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        for w in words(&text) {
            *counts.entry(w.to_vec()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// The map key of a word: its 64-bit FNV-1a hash.
fn key_of(word: &[u8]) -> u64 {
    word.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn main() {
    run_example("word_count", run);
}

fn run(ctx: &Context) -> Result<(), String> {
    let (rank, size) = (ctx.rank(), ctx.size());
    let mut args = std::env::args().skip(1);
    let dir = match args.next() {
        Some(d) => PathBuf::from(d),
        None => stdlib_dir()?,
    };
    let n_files = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("FILES must be a number: {e}"))?,
        None => FILES,
    };
    let mut files = Vec::new();
    python_files(&dir, &mut files);
    files.sort();
    files.truncate(n_files);

    let t0 = Environment::wtime();
    let mine: Vec<PathBuf> = files.iter().skip(rank).step_by(size).cloned().collect();
    let local = count_words(&mine)?;
    let spelled: Vec<&Vec<u8>> = local.keys().collect();
    let keys: Vec<u64> = spelled.iter().map(|w| key_of(w)).collect();
    let counts: Vec<u64> = spelled.iter().map(|w| local[*w]).collect();
    let spelling: HashMap<u64, &Vec<u8>> = keys.iter().copied().zip(spelled.iter().copied()).collect();

    let mut m = DistributedMap::<u64, u64>::new(ctx).map_err(err)?; // collective
    for r in 0..size {
        // One round per rank: read, add, write back.
        let ask: &[u64] = if rank == r { &keys } else { &[] };
        let current = m.find_many(ask).map_err(err)?; // collective: flushes the last round first
        if rank == r {
            let sums: Vec<u64> = current.iter().zip(&counts).map(|(c, n)| c.unwrap_or(0) + n).collect();
            m.insert_many(ask, &sums).map_err(err)?; // local: queued for the owners
        }
    }
    let everything = m.global_view().map_err(err)?; // collective: every pair, sorted by key
    let distinct = m.global_size().map_err(err)?; // collective
    let elapsed = Environment::wtime() - t0;

    // The TOP largest counts (ties by key), spelled by whichever rank saw them.
    let mut top = everything.clone();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(TOP);
    let known: Vec<u8> =
        top.iter().map(|(k, _)| spelling.get(k).map_or(&b""[..], |w| &w[..])).collect::<Vec<_>>().join(&b'\n');
    let (blob, lens) = ctx.allgatherv(&known).map_err(err)?; // collective
    let mut names = vec![String::new(); top.len()];
    let mut start = 0;
    for len in lens {
        for (i, w) in blob[start..start + len].split(|&b| b == b'\n').enumerate().take(top.len()) {
            if names[i].is_empty() && !w.is_empty() {
                names[i] = String::from_utf8_lossy(w).into_owned();
            }
        }
        start += len;
    }

    let mut verdict = [0u8];
    if ctx.is_root() {
        let total: u64 = everything.iter().map(|p| p.1).sum();
        println!(
            "{total} words, {distinct} distinct, in {} files of {} on {size} rank(s) ({elapsed:.2} s)",
            files.len(),
            dir.display()
        );
        for ((_, c), w) in top.iter().zip(&names) {
            println!("  {c:>7}  {w}");
        }
        let reference = count_words(&files)?; // every file, one process
        let ref_keys: HashMap<u64, u64> = reference.iter().map(|(w, &c)| (key_of(w), c)).collect();
        let got: HashMap<u64, u64> = everything.into_iter().collect();
        let mut errors = Vec::new();
        if ref_keys.len() != reference.len() {
            errors.push("two words share a key".to_string());
        }
        if distinct != reference.len() {
            errors.push(format!("{distinct} keys in the map, {} distinct words", reference.len()));
        }
        let wrong = reference.iter().filter(|(w, &c)| got.get(&key_of(w)) != Some(&c)).count();
        if wrong > 0 {
            errors.push(format!("{wrong} counts differ"));
        }
        for e in &errors {
            eprintln!("WRONG: {e}");
        }
        println!(
            "every count agrees with a one-process count of all files -> {}",
            if errors.is_empty() { "OK" } else { "WRONG" }
        );
        verdict[0] = u8::from(!errors.is_empty());
    }
    ctx.broadcast(&mut verdict, 0).map_err(err)?; // collective
    if verdict[0] == 0 {
        Ok(())
    } else {
        Err("the map's counts are wrong (see rank 0)".into())
    }
}
