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

/// The JSON output of the benchmark examples (`--json PATH`), in the schema
/// `bench/report.py` reads: one object with `bench`, `np`, `date`,
/// `machine`, `rows` (one per group, case, implementation and size: the
/// median over repeats of the slowest rank's time per call) and `ratios`
/// (baseline time / dtl time, each from rows of the same run; `> 1` means
/// dtl is faster). Local: only the caller (rank 0) writes the file.
pub mod bench {
    use serde_json::{json, Value};

    /// Splits the command line into the value of `--json PATH` (if given)
    /// and the remaining positional arguments.
    ///
    /// # Errors
    /// A message when `--json` has no value.
    pub fn args() -> Result<(Option<String>, Vec<String>), String> {
        let mut json = None;
        let mut rest = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if a == "--json" {
                json = Some(it.next().ok_or("--json needs a PATH")?);
            } else if let Some(p) = a.strip_prefix("--json=") {
                json = Some(p.to_string());
            } else {
                rest.push(a);
            }
        }
        Ok((json, rest))
    }

    /// Median of `v` (sorted in place; the upper median for even lengths).
    /// `NaN` for an empty slice.
    pub fn median(v: &mut [f64]) -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// One measured figure (see the module docs).
    #[derive(Debug, Clone)]
    pub struct Row {
        /// Table the figure belongs to, e.g. `"collectives (Rust)"`.
        pub group: String,
        /// Operation, e.g. `"allreduce"`.
        pub case: String,
        /// Implementation, e.g. `"dtl (rust)"` or `"raw MPI (rsmpi)"`.
        pub imp: String,
        /// Elements, if meaningful.
        pub n: Option<usize>,
        /// Message or data size in bytes, if meaningful.
        pub bytes: Option<usize>,
        /// Median over `repeats` of the slowest rank's seconds per call.
        pub time_s: f64,
        /// Number of timed repetitions.
        pub repeats: usize,
        /// Free text (what exactly was timed).
        pub note: String,
    }

    /// A benchmark's results, written as JSON by [`Report::write`].
    #[derive(Debug)]
    pub struct Report {
        bench: String,
        np: usize,
        rows: Vec<Row>,
        ratios: Vec<Value>,
    }

    impl Report {
        /// An empty report of program `bench` run on `np` ranks.
        pub fn new(bench: &str, np: usize) -> Report {
            Report { bench: bench.to_string(), np, rows: Vec::new(), ratios: Vec::new() }
        }

        /// Adds a figure.
        pub fn row(&mut self, row: Row) {
            self.rows.push(row);
        }

        /// The time of the row with this group, case, implementation and `n`.
        pub fn time_of(&self, group: &str, case: &str, imp: &str, n: Option<usize>) -> Option<f64> {
            self.rows.iter().find(|r| r.group == group && r.case == case && r.imp == imp && r.n == n).map(|r| r.time_s)
        }

        /// Adds the ratio `baseline time / dtl time` of two rows already
        /// added (same group, case and `n`), with an optional target bound
        /// on the ratio; returns it (`None` if a row is missing).
        pub fn ratio(
            &mut self,
            group: &str,
            case: &str,
            n: Option<usize>,
            baseline: &str,
            dtl: &str,
            target: Option<f64>,
        ) -> Option<f64> {
            let tb = self.time_of(group, case, baseline, n)?;
            let td = self.time_of(group, case, dtl, n)?;
            let bytes = self.rows.iter().find(|r| r.group == group && r.case == case && r.n == n).and_then(|r| r.bytes);
            let ratio = tb / td;
            self.ratios.push(json!({
                "group": group, "case": case, "n": n, "bytes": bytes, "np": self.np,
                "baseline": baseline, "dtl": dtl, "ratio": ratio,
                "target": target, "meets": target.map(|t| ratio >= t),
            }));
            Some(ratio)
        }

        /// The report as a JSON value (date, machine description included).
        pub fn to_json(&self) -> Value {
            let rows: Vec<Value> = self
                .rows
                .iter()
                .map(|r| {
                    json!({
                        "group": r.group, "case": r.case, "impl": r.imp, "n": r.n, "bytes": r.bytes,
                        "time_s": r.time_s, "repeats": r.repeats,
                        "gbps": r.bytes.map(|b| b as f64 / r.time_s / 1e9),
                        "note": r.note,
                    })
                })
                .collect();
            json!({
                "bench": self.bench, "np": self.np, "date": utc_now(), "machine": machine(),
                "rows": rows, "ratios": self.ratios,
            })
        }

        /// Writes [`Report::to_json`] to `path` (creating its directory).
        ///
        /// # Errors
        /// A message if the file cannot be written.
        pub fn write(&self, path: &str) -> Result<(), String> {
            let p = std::path::Path::new(path);
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let text = serde_json::to_string_pretty(&self.to_json()).map_err(|e| e.to_string())?;
            std::fs::write(p, text + "\n").map_err(|e| format!("cannot write {path}: {e}"))
        }
    }

    /// The machine, as the schema describes it (`numpy` is null: no Python).
    pub fn machine() -> Value {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_default();
        // Cores of the machine (not of this rank's binding, which mpirun narrows).
        let cores = std::fs::read_to_string("/proc/cpuinfo")
            .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
            .ok()
            .filter(|&c| c > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse::<f64>().ok()));
        let mpi = mpi::environment::library_version().unwrap_or_default();
        let mpi = mpi.split(',').next().unwrap_or("").trim().to_string();
        json!({"cpu": cpu, "cores": cores, "mpi": mpi, "numpy": null, "load_avg": load})
    }

    /// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn utc_now() -> String {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
    }
}
