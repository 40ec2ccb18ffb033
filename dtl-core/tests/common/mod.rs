//! The sequential multi-rank test runner shared by the `harness = false`
//! suites (`mpi.rs`, `mpi_access.rs`, `mpi_map.rs`, `mpi_io.rs`).
//!
//! Every test runs in a fixed order on every rank; a panic is caught; a
//! `check*!` failure is recorded and the test goes on, so that every rank
//! keeps taking part in the same collectives. After each test the ranks
//! agree on the verdict with one `MPI_Allreduce(MIN)`; rank 0 prints
//! `ok NAME` or `FAILED NAME: [rank r] message; …`, and at the end the line
//! `N passed, M failed`. Words after `--` select tests by name;
//! `DTL_MPI_TEST_TIMES=1` adds timings.
#![allow(dead_code, unused_macros)]

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use dtl_core::partition::{PartitionSpec, Weights};
use dtl_core::{Context, Environment, ReduceOp};

thread_local! {
    static FAILS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static PANIC_MSG: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub fn fail(msg: String) {
    FAILS.with(|f| f.borrow_mut().push(msg));
}

/// Records a failure (and goes on) unless `cond` holds.
macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {{
        let ok: bool = $cond;
        if !ok {
            $crate::common::fail(format!("{} (at {}:{})", format!($($fmt)+), file!(), line!()));
        }
    }};
}

/// Records a failure (and goes on) unless `got == expected`.
macro_rules! check_eq {
    ($got:expr, $expected:expr, $($fmt:tt)+) => {{
        match (&$got, &$expected) {
            (g, e) => {
                if g != e {
                    $crate::common::fail(format!("{}: got {:?}, expected {:?} (at {}:{})", format!($($fmt)+), g, e, file!(), line!()));
                }
            }
        }
    }};
}

/// Records a failure unless `$r` is an `Err` matching `$p`.
macro_rules! check_err {
    ($r:expr, $p:pat, $($fmt:tt)+) => {{
        match $r {
            Err($p) => {}
            other => $crate::common::fail(format!(
                "{}: expected Err({}), got {:?} (at {}:{})",
                format!($($fmt)+),
                stringify!($p),
                other.map(|_| "Ok(..)"),
                file!(),
                line!()
            )),
        }
    }};
}

/// [`check_err!`], and the error's status is the same on every rank (two
/// `MPI_Allreduce`s; collective).
macro_rules! check_err_same {
    ($ctx:expr, $r:expr, $p:pat, $($fmt:tt)+) => {{
        let r = $r;
        let code = match &r {
            Ok(_) => 0,
            Err(e) => e.status(),
        };
        let lo = $ctx.allreduce_scalar(code, dtl_core::ReduceOp::Min).unwrap();
        let hi = $ctx.allreduce_scalar(code, dtl_core::ReduceOp::Max).unwrap();
        if lo != hi {
            $crate::common::fail(format!("{}: status differs across ranks ({lo}..{hi}) (at {}:{})", format!($($fmt)+), file!(), line!()));
        }
        check_err!(r, $p, $($fmt)+);
    }};
}

pub type TestFn = Box<dyn Fn(&Context)>;

pub struct Suite {
    pub tests: Vec<(String, TestFn)>,
}

impl Suite {
    /// An empty suite.
    pub fn new() -> Suite {
        Suite { tests: Vec::new() }
    }

    /// Registers a test.
    pub fn add(&mut self, name: impl Into<String>, f: impl Fn(&Context) + 'static) {
        self.tests.push((name.into(), Box::new(f)));
    }
}

/// Registers `$f::<T>` for every dtype, as `NAME<T>`.
macro_rules! per_dtype {
    ($s:expr, $name:expr, $f:ident) => {
        per_dtype!(@ $s, $name, $f, i8 i16 i32 i64 u8 u16 u32 u64 f32 f64)
    };
    (@ $s:expr, $name:expr, $f:ident, $($t:ty)*) => {
        $( $s.add(format!("{}<{}>", $name, stringify!($t)), |c: &Context| $f::<$t>(c)); )*
    };
}

pub fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_string()
        };
        let at = info.location().map(|l| format!(" (at {}:{})", l.file(), l.line())).unwrap_or_default();
        PANIC_MSG.with(|p| *p.borrow_mut() = Some(format!("panicked: {msg}{at}")));
    }));
}

/// Runs one test on every rank; returns the verdict all ranks agree on.
fn run_one(ctx: &Context, name: &str, f: &TestFn, times: bool) -> bool {
    FAILS.with(|x| x.borrow_mut().clear());
    PANIC_MSG.with(|p| *p.borrow_mut() = None);
    let t0 = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| f(ctx)));
    let dt = t0.elapsed().as_secs_f64();
    let mut msgs = FAILS.with(|x| std::mem::take(&mut *x.borrow_mut()));
    if result.is_err() {
        msgs.push(PANIC_MSG.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panicked".into()));
    }
    let ok = msgs.is_empty();
    let all_ok = ctx.allreduce_scalar(ok as i32, ReduceOp::Min).expect("verdict allreduce") == 1;
    let suffix = if times { format!(" ({dt:.3} s)") } else { String::new() };
    if all_ok {
        if ctx.is_root() {
            println!("ok {name}{suffix}");
        }
        return true;
    }
    // Collect every failing rank's first message on rank 0. Every rank sends
    // at least one byte (a passing rank sends "-").
    let mine = if ok {
        "-".to_string()
    } else {
        let more = if msgs.len() > 1 { format!(" (+{} more)", msgs.len() - 1) } else { String::new() };
        format!("[rank {}] {}{}", ctx.rank(), msgs[0], more)
    };
    let gathered = ctx.gatherv(mine.as_bytes(), 0).expect("failure message gatherv");
    if let Some((bytes, counts)) = gathered {
        let mut parts = Vec::new();
        let mut at = 0;
        for c in counts {
            if c > 0 && &bytes[at..at + c] != b"-" {
                parts.push(String::from_utf8_lossy(&bytes[at..at + c]).into_owned());
            }
            at += c;
        }
        println!("FAILED {name}: {}{suffix}", parts.join("; "));
    }
    false
}

/// Runs a suite as a program: initialises MPI, lets `build` make the suite
/// (after any shared set-up), runs the selected tests, lets `finish` clean up
/// (collective: every rank calls it), prints the summary on rank 0, finalises
/// MPI and exits non-zero if a test failed.
pub fn run(build: impl FnOnce(&Environment, &Context) -> Suite, finish: impl FnOnce(&Context)) {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let times = std::env::var_os("DTL_MPI_TEST_TIMES").is_some_and(|v| v != "0");
    install_panic_hook();
    let env = Environment::new().expect("cannot initialise MPI");
    let ctx = env.make_world_context().expect("cannot create the world context");
    let suite = build(&env, &ctx);
    let t0 = Instant::now();
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, f) in &suite.tests {
        if !filters.is_empty() && !filters.iter().any(|w| name.contains(w.as_str())) {
            continue;
        }
        if run_one(&ctx, name, f, times) {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    finish(&ctx);
    if ctx.is_root() {
        if times {
            println!("np={} total {:.2} s", ctx.size(), t0.elapsed().as_secs_f64());
        }
        println!("{passed} passed, {failed} failed");
    }
    drop(suite);
    drop(ctx);
    drop(env); // MPI_Finalize
    if failed > 0 {
        std::process::exit(1);
    }
}

// ------------------------------------------------------------------ partition models

/// Every partition to test, for `n` elements over `size` ranks.
pub fn specs(n: usize, size: usize) -> Vec<(&'static str, PartitionSpec)> {
    let mut half = vec![0; size];
    half[size - 1] = n / 2;
    half[0] += n - n / 2;
    let mut last = vec![0; size];
    last[size - 1] = n;
    vec![
        ("block", PartitionSpec::Block),
        ("cyclic", PartitionSpec::Cyclic),
        ("block_cyclic3", PartitionSpec::BlockCyclic(3)),
        ("weighted_half", PartitionSpec::Weighted(Weights::Counts(half))),
        ("weighted_last", PartitionSpec::Weighted(Weights::Counts(last))),
        ("replicated", PartitionSpec::Replicated),
    ]
}

/// Brute-force model: the global indices each rank holds, in local order,
/// dealt out as each policy describes.
pub fn model(spec: &PartitionSpec, n: usize, size: usize) -> Vec<Vec<usize>> {
    let mut owned = vec![Vec::new(); size];
    match spec {
        PartitionSpec::Block => {
            let mut next = 0;
            for (r, part) in owned.iter_mut().enumerate() {
                let take = n / size + usize::from(r < n % size);
                part.extend(next..next + take);
                next += take;
            }
        }
        PartitionSpec::Cyclic => (0..n).for_each(|i| owned[i % size].push(i)),
        PartitionSpec::BlockCyclic(b) => (0..n).for_each(|i| owned[(i / b) % size].push(i)),
        PartitionSpec::Weighted(Weights::Counts(c)) => {
            let mut next = 0;
            for (part, &k) in owned.iter_mut().zip(c) {
                part.extend(next..next + k);
                next += k;
            }
        }
        PartitionSpec::Weighted(Weights::Fractions(_)) => unreachable!(),
        PartitionSpec::Replicated => owned.iter_mut().for_each(|p| p.extend(0..n)),
    }
    owned
}

/// splitmix64: reproducible pseudo-random bits for global index `g`.
pub fn mix(g: u64) -> u64 {
    let mut z = g.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sort-test data at global index `g`: values in 0..100 with repeats (every
/// dtype holds them), negative and fractional for floats.
pub fn sort_val<T: dtl_core::Element>(g: usize) -> T {
    let r = (mix(g as u64) % 100) as f64;
    T::from_f64(if T::DTYPE.is_float() { r / 4.0 - 10.0 } else { r })
}

/// `sort_val` for global indices `0..n`.
pub fn sort_data<T: dtl_core::Element>(n: usize) -> Vec<T> {
    (0..n).map(sort_val).collect()
}

/// The model order of the sort tests (data without NaN).
pub fn sorted<T: dtl_core::Element>(mut g: Vec<T>, reverse: bool) -> Vec<T> {
    g.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if reverse {
        g.reverse();
    }
    g
}
