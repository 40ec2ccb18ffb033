//! # distributed_sort — sort random data of several types, checked
//!
//! The Rust mirror of `examples/python/distributed_sort.py`. Shows
//! `sort` (a sample sort: each rank sorts its part, the ranks agree on
//! exact splitters with a few small `MPI_Allgather`/`MPI_Allreduce` rounds,
//! one `MPI_Alltoallv` moves every element to its final owner, each rank
//! merges), `sort(reverse = true)`, `is_sorted` and `nth_element` on a
//! [`DistributedVector`].
//!
//! Each rank makes a different number of pseudo-random elements (splitmix64
//! seeded by type and rank) of `f64` (with `-0.0`, `0.0` and NaN among
//! them), `f32`, `i64`, `i32` (full range), `u8` (many duplicates) and
//! `u64`. The vector is built with `from_local_with` and a weighted
//! partition whose counts are the ranks' counts (`allgather`), so each
//! rank's elements stay where they are and the parts are uneven.
//!
//! Checks, for every type, on every rank: the sorted vector gathered
//! (`gather_all`) equals the gathered input sorted in one process with
//! `total_cmp` (numbers ascending, `-0.0` before `0.0`, NaN last: dtl's
//! order) or `Ord`; the descending sort is that reversed with NaN still
//! last; each rank keeps its number of elements; `is_sorted` holds;
//! `nth_element(k)` is element `k` of the reference. One `allreduce` of the
//! failure count gives every rank the verdict (exit status 1 if any).
//!
//! ```text
//! cargo build --release -p dtl-examples --examples
//! mpirun -np 4 target/release/examples/distributed_sort
//! ```

use std::cmp::Ordering;

use dtl_core::partition::{PartitionSpec, Weights};
use dtl_core::{Context, DistributedVector, Element, Environment, ReduceOp};
use dtl_examples::{err, run_example, splitmix64};

const MEAN_PER_RANK: u64 = 20_000;

/// What the sort needs of an element type: a total order (dtl's) and a way
/// to make random values.
trait Sortable: Element + std::fmt::Debug {
    /// dtl's order: `total_cmp` for floats (NaN last), `Ord` for integers.
    fn order(a: &Self, b: &Self) -> Ordering;
    /// A pseudo-random value from 64 random bits.
    fn from_bits(bits: u64) -> Self;
    fn is_nan_(&self) -> bool {
        false
    }
}

impl Sortable for f64 {
    fn order(a: &Self, b: &Self) -> Ordering {
        a.total_cmp(b)
    }
    fn from_bits(bits: u64) -> Self {
        match bits % 1000 {
            0 => f64::NAN,
            1 => -0.0,
            2 => 0.0,
            _ => ((bits >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e6,
        }
    }
    fn is_nan_(&self) -> bool {
        self.is_nan()
    }
}

impl Sortable for f32 {
    fn order(a: &Self, b: &Self) -> Ordering {
        a.total_cmp(b)
    }
    fn from_bits(bits: u64) -> Self {
        ((bits >> 40) as f32 / (1u32 << 24) as f32 - 0.5) * 100.0
    }
}

macro_rules! sortable_int {
    ($($t:ty => $make:expr),*) => {$(
        impl Sortable for $t {
            fn order(a: &Self, b: &Self) -> Ordering {
                a.cmp(b)
            }
            fn from_bits(bits: u64) -> Self {
                let f: fn(u64) -> $t = $make;
                f(bits)
            }
        }
    )*};
}

sortable_int!(
    i64 => |b| b as i64,
    i32 => |b| (b >> 32) as i32,
    u8 => |b| (b % 8) as u8,
    u64 => |b| b
);

/// True if `a` and `b` hold the same elements in the same order (NaN equal to NaN).
fn same<T: Sortable>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| T::order(x, y) == Ordering::Equal)
}

/// Sorts, checks and reports one type; returns the failed checks.
fn check_type<T: Sortable>(ctx: &Context, name: &str, salt: u64) -> Result<Vec<String>, String> {
    let mut failures = Vec::new();
    let rank = ctx.rank();
    let mut state = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (rank as u64 + 1);
    let n_local = (MEAN_PER_RANK / 2 + splitmix64(&mut state) % MEAN_PER_RANK) as usize;
    let local: Vec<T> = (0..n_local).map(|_| T::from_bits(splitmix64(&mut state))).collect();

    // Every rank's count (collective), then a layout that keeps the elements in place.
    let counts: Vec<usize> = ctx.allgather(&[n_local as u64]).map_err(err)?.iter().map(|&c| c as usize).collect();
    let spec = PartitionSpec::Weighted(Weights::Counts(counts.clone()));
    let mut v = DistributedVector::<T>::from_local_with(ctx, local, &spec).map_err(err)?;
    let before = v.gather_all().map_err(err)?; // collective: the whole input on every rank
    let mut reference = before.clone();
    reference.sort_by(T::order);

    let t0 = Environment::wtime();
    v.sort(false).map_err(err)?; // collective
    let elapsed = Environment::wtime() - t0;
    if !same(&v.gather_all().map_err(err)?, &reference) {
        failures.push(format!("{name}: the sorted vector differs from the one-process sort"));
    }
    if v.local_size() != n_local {
        failures.push(format!("{name}: this rank holds {} elements after the sort, {n_local} before", v.local_size()));
    }
    if !v.is_sorted(false).map_err(err)? {
        failures.push(format!("{name}: is_sorted(false) is false after sort"));
    }
    let k = reference.len() / 3;
    let kth = v.nth_element(k).map_err(err)?; // collective; the vector is unchanged
    if T::order(&kth, &reference[k]) != Ordering::Equal {
        failures.push(format!("{name}: nth_element({k}) = {kth:?}, want {:?}", reference[k]));
    }

    v.sort(true).map_err(err)?; // descending, NaN still last
    let nan = reference.iter().filter(|x| x.is_nan_()).count();
    let mut descending: Vec<T> = reference[..reference.len() - nan].iter().rev().copied().collect();
    descending.extend_from_slice(&reference[reference.len() - nan..]);
    if !same(&v.gather_all().map_err(err)?, &descending) {
        failures.push(format!("{name}: the descending sort is not the ascending one reversed"));
    }
    if !v.is_sorted(true).map_err(err)? {
        failures.push(format!("{name}: is_sorted(true) is false after sort(true)"));
    }
    if ctx.is_root() {
        println!(
            "{name:>4}: {:>7} elements on {} rank(s), counts {counts:?}, sorted in {elapsed:.3} s",
            before.len(),
            ctx.size()
        );
    }
    Ok(failures)
}

fn main() {
    run_example("distributed_sort", run);
}

fn run(ctx: &Context) -> Result<(), String> {
    let mut failures = Vec::new();
    failures.extend(check_type::<f64>(ctx, "f64", 1)?);
    failures.extend(check_type::<f32>(ctx, "f32", 2)?);
    failures.extend(check_type::<i64>(ctx, "i64", 3)?);
    failures.extend(check_type::<i32>(ctx, "i32", 4)?);
    failures.extend(check_type::<u8>(ctx, "u8", 5)?);
    failures.extend(check_type::<u64>(ctx, "u64", 6)?);
    for f in &failures {
        eprintln!("rank {}: {f}", ctx.rank());
    }
    let bad = ctx.allreduce_scalar(failures.len() as u64, ReduceOp::Sum).map_err(err)?; // collective
    if ctx.is_root() {
        println!("every type sorted as the one-process sort sorts it -> {}", if bad == 0 { "OK" } else { "WRONG" });
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(format!("{bad} check(s) failed over all ranks"))
    }
}
