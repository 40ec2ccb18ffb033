//! Multi-rank tests of `DistributedMap` (hash-partitioned key → value map),
//! checked against a sequential model built from the same deterministic
//! inputs on every rank.
//!
//! The same tiny sequential runner as `tests/mpi.rs` (no test harness:
//! `harness = false`): one [`Environment`] and one world [`Context`] for the
//! whole run, every test in a fixed order on every rank, panics caught, and
//! after each test the ranks agree on the verdict with one
//! `MPI_Allreduce(MIN)`. Rank 0 prints `ok NAME` / `FAILED NAME: ...`, then
//! `N passed, M failed`; the exit status is non-zero if a test failed.
//!
//! ```text
//! cargo test --release -p dtl-core --test mpi_map                  # np = 1
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_map \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! cargo test --release -p dtl-core --test mpi_map -- workload      # only names containing a word
//! ```
//!
//! Set `DTL_MPI_TEST_TIMES=1` to append each test's wall time to its line.

#[macro_use]
mod common;

use common::Suite;
use std::collections::{BTreeMap, HashMap, HashSet};

use dtl_core::partition::HashPartition;
use dtl_core::{Context, DistributedMap, Element, Error, ReduceOp};

/// Registers `$f::<K, V>` for every pair of dtypes, as `NAME<K,V>`.
macro_rules! per_pair {
    ($s:expr, $name:expr, $f:ident) => {
        per_pair!(@k $s, $name, $f, [i8 i16 i32 i64 u8 u16 u32 u64 f32 f64])
    };
    (@k $s:expr, $name:expr, $f:ident, [$($k:ty)*]) => {
        $( per_pair!(@v $s, $name, $f, $k, [i8 i16 i32 i64 u8 u16 u32 u64 f32 f64]); )*
    };
    (@v $s:expr, $name:expr, $f:ident, $k:ty, [$($v:ty)*]) => {
        $( $s.add(format!("{}<{},{}>", $name, stringify!($k), stringify!($v)), |c: &Context| $f::<$k, $v>(c)); )*
    };
}

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite { tests: Vec::new() };
    s.add("map::empty", t_empty);
    s.add("map::owner_stable", t_owner);
    per_pair!(s, "map::workload", t_workload);
    s.add("map::queued_until_flush", t_queued);
    s.add("map::conflicting_writes_order", t_conflicts);
    s.add("map::insert_erase_sequences", t_sequences);
    s.add("map::find_many_batches", t_find_many);
    s.add("map::insert_many_erase_many", t_many);
    s.add("map::float_keys<f32>", t_float_keys::<f32>);
    s.add("map::float_keys<f64>", t_float_keys::<f64>);
    s.add("map::dtype_mismatch", t_dtype_mismatch);
    s.add("map::large", t_large);
    s
}

// ------------------------------------------------------------------ model

/// Little-endian bytes, written independently of dtl (for the owner map).
trait Le: Element {
    fn le(self) -> Vec<u8>;
}
macro_rules! le_impl {
    ($($t:ty)*) => {$( impl Le for $t { fn le(self) -> Vec<u8> { self.to_le_bytes().to_vec() } } )*};
}
le_impl!(i8 i16 i32 i64 u8 u16 u32 u64 f32 f64);

fn owner_of<K: Le>(k: K, size: usize) -> usize {
    HashPartition::new(size).owner_of_bytes(&k.le())
}

/// A small integer as an element (exact for ids below 127 in every dtype).
fn el<T: Element>(id: u32) -> T {
    T::from_f64(f64::from(id))
}

/// One write of the workload, by key id and value id.
#[derive(Debug, Clone, Copy)]
enum Op {
    Ins(u32, u32),
    Era(u32),
}

impl Op {
    fn key(self) -> u32 {
        match self {
            Op::Ins(k, _) | Op::Era(k) => k,
        }
    }
}

const M: u32 = 100;

/// Rank `r`'s writes: overlapping inserts, some erases, some re-inserts.
fn ops_of(r: u32) -> Vec<Op> {
    let mut ops = Vec::new();
    for i in 0..40 {
        ops.push(Op::Ins((i * (r + 1) + r) % M, (r * 31 + i) % 120));
    }
    for i in (0..40).step_by(5) {
        ops.push(Op::Era((i * (r + 1)) % M));
    }
    for i in 0..5 {
        ops.push(Op::Ins((i * 7 + r) % M, (r + i * 3) % 120));
    }
    ops
}

fn apply_op(m: &mut BTreeMap<u32, u32>, op: Op) {
    match op {
        Op::Ins(k, v) => {
            m.insert(k, v);
        }
        Op::Era(k) => {
            m.remove(&k);
        }
    }
}

/// The documented semantics: each owner applies its own writes at once;
/// a flush then applies the others' in (source rank, queue order).
/// `flushed = false` gives the state before any flush.
fn model<K: Le>(size: usize, flushed: bool) -> BTreeMap<u32, u32> {
    let all: Vec<Vec<Op>> = (0..size as u32).map(ops_of).collect();
    let mut m = BTreeMap::new();
    for (r, ops) in all.iter().enumerate() {
        for &op in ops.iter().filter(|op| owner_of(el::<K>(op.key()), size) == r) {
            apply_op(&mut m, op);
        }
    }
    if flushed {
        for (r, ops) in all.iter().enumerate() {
            for &op in ops.iter().filter(|op| owner_of(el::<K>(op.key()), size) != r) {
                apply_op(&mut m, op);
            }
        }
    }
    m
}

fn as_pairs<K: Element, V: Element>(m: &BTreeMap<u32, u32>, keep: impl Fn(u32) -> bool) -> Vec<(K, V)> {
    m.iter().filter(|(&k, _)| keep(k)).map(|(&k, &v)| (el::<K>(k), el::<V>(v))).collect()
}

// ------------------------------------------------------------------ tests

fn t_empty(ctx: &Context) {
    let mut m = DistributedMap::<i64, f64>::new(ctx).unwrap();
    check_eq!(m.local_size(), 0, "local_size");
    check_eq!(m.pending(), 0, "pending");
    check!(m.empty().unwrap(), "empty()");
    check_eq!(m.global_size().unwrap(), 0, "global_size");
    check_eq!(m.size().unwrap(), 0, "size");
    check_eq!(m.global_view().unwrap(), vec![], "global_view");
    check_eq!(m.find(&(ctx.rank() as i64)).unwrap(), None, "find");
    check!(!m.contains(&-1).unwrap(), "contains");
    check_eq!(m.find_many(&[]).unwrap(), vec![], "find_many(&[])");
    m.flush().unwrap();
    m.erase(5).unwrap();
    m.flush().unwrap();
    check!(m.empty().unwrap(), "empty() after erasing a missing key");
    check_eq!(m.local_pairs(), vec![], "local_pairs");
    check_eq!(m.local_iter().count(), 0, "local_iter");
}

fn t_owner(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let m = DistributedMap::<u64, i32>::new(ctx).unwrap();
    let owners: Vec<u64> = (0..200u64).map(|k| m.owner(&k).unwrap() as u64).collect();
    for (k, &o) in owners.iter().enumerate() {
        check_eq!(o as usize, owner_of(k as u64, p), "owner of {k}");
        check!((o as usize) < p, "owner {o} out of range");
        check_eq!(m.is_local(&(k as u64)), o as usize == me, "is_local({k})");
    }
    // Every rank computes the same owners.
    let all = ctx.allgather(&owners).unwrap();
    for r in 0..p {
        check_eq!(&all[r * 200..(r + 1) * 200], &owners[..], "owners seen by rank {r}");
    }
    // Different key dtypes hash different byte strings: 5i32 and 5i64 may differ.
    let m32 = DistributedMap::<i32, i32>::new(ctx).unwrap();
    check_eq!(m32.owner(&5).unwrap(), owner_of(5i32, p), "i32 owner");
    if p > 1 {
        let used: HashSet<u64> = owners.iter().copied().collect();
        check_eq!(used.len(), p, "200 keys spread over every rank");
    }
}

fn t_workload<K: Le, V: Element>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<K, V>::new(ctx).unwrap();
    let ops = ops_of(me as u32);
    for &op in &ops {
        match op {
            Op::Ins(k, v) => m.insert(el(k), el(v)).unwrap(),
            Op::Era(k) => m.erase(el(k)).unwrap(),
        }
    }
    let mine = |k: u32| owner_of(el::<K>(k), p) == me;
    // Before any flush: only the writes this rank owns are applied here.
    let before = model::<K>(p, false);
    check_eq!(m.local_pairs(), as_pairs::<K, V>(&before, mine), "local pairs before flush");
    check_eq!(m.local_size(), before.keys().filter(|&&k| mine(k)).count(), "local_size before flush");
    let remote = ops.iter().filter(|op| !mine(op.key())).count();
    check_eq!(m.pending(), remote, "pending before flush");
    // A collective read flushes: every rank sees the full model.
    let after = model::<K>(p, true);
    let ids: Vec<u32> = (0..M).collect();
    let keys: Vec<K> = ids.iter().map(|&k| el(k)).collect();
    let found = m.find_many(&keys).unwrap();
    for (&k, got) in ids.iter().zip(&found) {
        check_eq!(*got, after.get(&k).map(|&v| el::<V>(v)), "find_many key {k}");
    }
    check_eq!(m.pending(), 0, "pending after a collective read");
    check_eq!(m.local_pairs(), as_pairs::<K, V>(&after, mine), "local pairs after flush");
    check_eq!(m.global_view().unwrap(), as_pairs::<K, V>(&after, |_| true), "global_view");
    check_eq!(m.global_size().unwrap(), after.len(), "global_size");
    check_eq!(m.empty().unwrap(), after.is_empty(), "empty");
    let sum = ctx.allreduce_scalar(m.local_size() as u64, ReduceOp::Sum).unwrap();
    check_eq!(sum as usize, after.len(), "sum of local sizes");
    // Single-key reads, one key per rank.
    let k = (me as u32 * 13) % M;
    check_eq!(m.find(&el(k)).unwrap(), after.get(&k).map(|&v| el::<V>(v)), "find({k})");
    let k2 = (me as u32 * 17 + 3) % M;
    check_eq!(m.contains(&el(k2)).unwrap(), after.contains_key(&k2), "contains({k2})");
}

fn t_queued(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<i64, f64>::new(ctx).unwrap();
    let key = 1000 + me as i64;
    m.insert(key, me as f64 * 0.5).unwrap();
    let local = owner_of(key, p) == me;
    check_eq!(m.pending(), usize::from(!local), "pending after one insert");
    // Without a flush, only owner-local inserts are stored anywhere.
    let stored = ctx.allreduce_scalar(m.local_size() as u64, ReduceOp::Sum).unwrap();
    let owned = ctx.allreduce_scalar(u64::from(local), ReduceOp::Sum).unwrap();
    check_eq!(stored, owned, "stored pairs before flush");
    // Each rank reads the key of the previous rank (a remote key in general).
    let prev = (me + p - 1) % p;
    check_eq!(m.find(&(1000 + prev as i64)).unwrap(), Some(prev as f64 * 0.5), "find of the previous rank's key");
    check_eq!(m.pending(), 0, "pending after find");
    check_eq!(ctx.allreduce_scalar(m.local_size() as u64, ReduceOp::Sum).unwrap() as usize, p, "stored after find");
    // Erase the next rank's key; visible to everyone after a flush.
    let next = (me + 1) % p;
    m.erase(1000 + next as i64).unwrap();
    m.flush().unwrap();
    check_eq!(m.pending(), 0, "pending after flush");
    check!(!m.contains(&(1000 + me as i64)).unwrap(), "own key erased by the next rank");
    check!(m.empty().unwrap(), "empty after erasing everything");
    // An explicit flush followed by local reads of owned keys.
    m.insert(key, 1.0).unwrap();
    m.flush().unwrap();
    let here: Vec<i64> = m.local_pairs().into_iter().map(|(k, _)| k).collect();
    for k in &here {
        check_eq!(owner_of(*k, p), me, "stored key {k} lives on its owner");
    }
    check_eq!(m.global_size().unwrap(), p, "global size");
}

fn t_conflicts(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<u32, i64>::new(ctx).unwrap();
    for key in 0..20u32 {
        m.insert(key, me as i64 + 1).unwrap();
    }
    m.flush().unwrap();
    let keys: Vec<u32> = (0..20).collect();
    let got = m.find_many(&keys).unwrap();
    for (&key, g) in keys.iter().zip(&got) {
        let o = owner_of(key, p);
        // Owner's write first, then the others by rank: the highest non-owner wins.
        let winner = (0..p).rev().find(|&r| r != o).unwrap_or(o);
        check_eq!(*g, Some(winner as i64 + 1), "value of contested key {key} (owner {o})");
    }
    // Every rank erases, then the last rank re-inserts. The last rank's
    // insert comes after every other rank's erase, unless the last rank owns
    // the key: then its insert is applied at once and the others' queued
    // erases after it.
    for key in 0..20u32 {
        m.erase(key).unwrap();
        if me == p - 1 {
            m.insert(key, 77).unwrap();
        }
    }
    let got = m.find_many(&keys).unwrap();
    for (&key, g) in keys.iter().zip(&got) {
        let o = owner_of(key, p);
        let want = (p == 1 || o != p - 1).then_some(77);
        check_eq!(*g, want, "key {key} (owner {o}) after erase everywhere + insert by the last rank");
    }
}

fn t_sequences(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<i32, u16>::new(ctx).unwrap();
    // Per rank, a key family of its own: insert, erase, insert (kept); insert,
    // erase (gone); erase of a missing key (nothing).
    let base = 100 * me as i32;
    for j in 0..10 {
        m.insert(base + j, 1).unwrap();
        m.erase(base + j).unwrap();
        m.insert(base + j, 2 + j as u16).unwrap();
        m.insert(base + 50 + j, 9).unwrap();
        m.erase(base + 50 + j).unwrap();
        m.erase(base + 80 + j).unwrap();
    }
    let mut expect = BTreeMap::new();
    for r in 0..p as i32 {
        for j in 0..10 {
            expect.insert(100 * r + j, 2 + j as u16);
        }
    }
    check_eq!(m.global_view().unwrap(), expect.into_iter().collect::<Vec<_>>(), "global_view");
    check_eq!(m.global_size().unwrap(), 10 * p, "global_size");
}

fn t_find_many(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<u64, f32>::new(ctx).unwrap();
    if me == 0 {
        for k in 0..50u64 {
            m.insert(k * 2, k as f32).unwrap();
        }
    }
    // Rank r asks r keys (rank 0 none), with duplicates and absent keys.
    let batch: Vec<u64> = (0..me as u64).map(|i| (i * 3) % 7).chain((0..me as u64).map(|i| (i * 3) % 7)).collect();
    let got = m.find_many(&batch).unwrap();
    check_eq!(got.len(), batch.len(), "answers");
    for (&k, g) in batch.iter().zip(&got) {
        let want = (k % 2 == 0 && k < 100).then_some((k / 2) as f32);
        check_eq!(*g, want, "find_many key {k}");
    }
    // Big batches on one rank only.
    let batch: Vec<u64> = if me == p - 1 { (0..1000).collect() } else { Vec::new() };
    let got = m.find_many(&batch).unwrap();
    check_eq!(got.iter().filter(|g| g.is_some()).count(), if me == p - 1 { 50 } else { 0 }, "found in a big batch");
}

fn t_many(ctx: &Context) {
    let me = ctx.rank();
    let mut a = DistributedMap::<i64, i8>::new(ctx).unwrap();
    let mut b = DistributedMap::<i64, i8>::new(ctx).unwrap();
    let keys: Vec<i64> = (0..60).map(|i| (i * (me as i64 + 2)) % 97).collect();
    let vals: Vec<i8> = (0..60).map(|i| ((i + me as i64) % 100) as i8).collect();
    a.insert_many(&keys, &vals).unwrap();
    for (&k, &v) in keys.iter().zip(&vals) {
        b.insert(k, v).unwrap();
    }
    a.erase_many(&keys[..10]).unwrap();
    for &k in &keys[..10] {
        b.erase(k).unwrap();
    }
    check_eq!(a.pending(), b.pending(), "pending");
    check_eq!(a.global_view().unwrap(), b.global_view().unwrap(), "insert_many/erase_many = the single calls");
    // Length mismatch: a local error, nothing changed.
    let before = (a.local_size(), a.pending());
    check_err!(a.insert_many(&[1, 2, 3], &[1, 2]), Error::InvalidArgument(_), "insert_many length mismatch");
    check_eq!((a.local_size(), a.pending()), before, "unchanged after a rejected insert_many");
    check_eq!(a.global_size().unwrap(), b.global_size().unwrap(), "global sizes");
}

fn t_float_keys<K: Le + Element>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<K, i32>::new(ctx).unwrap();
    let neg_zero = K::from_f64(-0.0);
    let nan = K::from_f64(f64::NAN);
    check_err!(m.insert(nan, 1), Error::InvalidArgument(_), "insert NaN");
    check_err!(m.erase(nan), Error::InvalidArgument(_), "erase NaN");
    check_err!(m.owner(&nan), Error::InvalidArgument(_), "owner NaN");
    check!(!m.is_local(&nan), "is_local NaN");
    check_err!(m.insert_many(&[K::ONE, nan], &[1, 2]), Error::InvalidArgument(_), "insert_many with a NaN key");
    check_eq!((m.local_size(), m.pending()), (0, 0), "nothing changed after rejected writes");
    // -0.0 and 0.0 are one key, owned by the owner of +0.0.
    check_eq!(m.owner(&neg_zero).unwrap(), owner_of(K::ZERO, p), "owner of -0.0");
    if me == p - 1 {
        m.insert(neg_zero, 5).unwrap();
        m.insert(K::from_f64(f64::INFINITY), 6).unwrap();
        m.insert(K::from_f64(f64::NEG_INFINITY), 7).unwrap();
        m.insert(K::from_f64(-1.5), 8).unwrap();
    }
    check_eq!(m.find(&K::ZERO).unwrap(), Some(5), "find 0.0 after insert -0.0");
    check!(m.contains(&neg_zero).unwrap(), "contains -0.0");
    let view = m.global_view().unwrap();
    let want = vec![
        (K::from_f64(f64::NEG_INFINITY), 7),
        (K::from_f64(-1.5), 8),
        (K::ZERO, 5),
        (K::from_f64(f64::INFINITY), 6),
    ];
    check_eq!(view, want, "global_view sorted by key");
    check!(view[2].0.to_f64().is_sign_positive(), "stored zero is +0.0");
    // A NaN query on the last rank only: every rank fails, with the same kind.
    let q = if me == p - 1 { nan } else { K::ONE };
    check_err!(m.find(&q), Error::InvalidArgument(_), "find with NaN on the last rank");
    check_err!(m.find_many(&[K::ONE, q]), Error::InvalidArgument(_), "find_many with NaN on the last rank");
    check_eq!(m.find(&K::from_f64(-1.5)).unwrap(), Some(8), "find after a rejected read");
}

fn t_dtype_mismatch(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    if p == 1 {
        return;
    }
    let r = if me == 0 {
        DistributedMap::<i64, f64>::new(ctx).map(|_| ())
    } else {
        DistributedMap::<i64, f32>::new(ctx).map(|_| ())
    };
    check_err!(r, Error::Mismatch(_), "value dtypes differ");
    let r = if me == 0 {
        DistributedMap::<i64, f64>::new(ctx).map(|_| ())
    } else {
        DistributedMap::<u64, f64>::new(ctx).map(|_| ())
    };
    check_err!(r, Error::Mismatch(_), "key dtypes differ");
}

fn t_large(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut m = DistributedMap::<u64, u64>::new(ctx).unwrap();
    let n = 20_000u64;
    let key = |r: u64, i: u64| (i * 7919 + r * 104_729) % 50_000;
    let mut model: HashMap<u64, u64> = HashMap::new();
    for r in 0..p as u64 {
        for i in 0..n {
            // Values depend only on the key, so the order does not matter here.
            model.insert(key(r, i), key(r, i) * 3 + 1);
        }
    }
    let keys: Vec<u64> = (0..n).map(|i| key(me as u64, i)).collect();
    let vals: Vec<u64> = keys.iter().map(|k| k * 3 + 1).collect();
    m.insert_many(&keys, &vals).unwrap();
    check_eq!(m.global_size().unwrap(), model.len(), "global_size");
    let probe: Vec<u64> = (0..5000).map(|i| (i * 13 + me as u64) % 60_000).collect();
    let got = m.find_many(&probe).unwrap();
    for (&k, g) in probe.iter().zip(&got) {
        check_eq!(*g, model.get(&k).copied(), "find_many key {k}");
    }
    let view = m.global_view().unwrap();
    check_eq!(view.len(), model.len(), "global_view length");
    check!(view.iter().all(|(k, v)| model.get(k) == Some(v)), "global_view pairs");
}
