//! Multi-rank test suite of dtl-core: collectives, contexts, partitions and
//! containers, checked against closed forms and brute-force models.
//!
//! A tiny sequential runner (no test harness: `harness = false`): one
//! [`Environment`] and one world [`Context`] live for the whole run, every
//! test runs in a fixed order on every rank, a panic is caught, and after each
//! test the ranks agree on the verdict with one `MPI_Allreduce(MIN)`. Rank 0
//! prints `ok NAME` or `FAILED NAME: ...` (with the failure messages of every
//! failing rank) per test, then `N passed, M failed`; the process exits
//! non-zero if any test failed.
//!
//! ```text
//! cargo test --release -p dtl-core --test mpi                      # np = 1
//! cargo test --release -p dtl-core --test mpi \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','3']"
//! cargo test --release -p dtl-core --test mpi -- tensor halo       # only names containing a word
//! ```
//!
//! Set `DTL_MPI_TEST_TIMES=1` to append each test's wall time to its line.
//!
//! Checks inside a test record failures and go on (so every rank keeps
//! taking part in the same collectives); an unexpected `Err` from a call
//! that must succeed panics, which dtl makes consistent across ranks because
//! it returns the same error on every rank.

#[macro_use]
mod common;

use common::{fail, Suite};
use std::ops::Range;

use dtl_core::containers::Distributed1D;
use dtl_core::partition::{PartitionSpec, Weights};
use dtl_core::{
    Context, DistributedArray, DistributedTensor, DistributedVector, Element, Environment, Error, Partition,
    PartitionKind, ReduceOp, ThreadLevel,
};
use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, Slice};

fn main() {
    common::run(|env, _| all_tests(env), |_| {});
}

fn all_tests(env: &Environment) -> Suite {
    let mut s = Suite { tests: Vec::new() };
    let e = env.clone();
    s.add("environment", move |c: &Context| t_environment(&e, c));
    s.add("context::rank_size_root", t_rank_size_root);
    s.add("context::dup", t_dup);
    s.add("context::self_only", t_self_only);
    s.add("context::split_parity_key", t_split_parity);
    s.add("context::split_none", t_split_none);
    s.add("context::split_negative_color", t_split_negative);
    s.add("context::collective_checks_off", t_checks_off);
    s.add("collective::barrier", t_barrier);
    per_dtype!(s, "collective::broadcast", t_broadcast);
    per_dtype!(s, "collective::reduce", t_reduce);
    per_dtype!(s, "collective::allreduce", t_allreduce);
    s.add("collective::overflowing_ops", t_overflowing_ops);
    per_dtype!(s, "collective::scan_exscan", t_scan);
    per_dtype!(s, "collective::gather", t_gather);
    per_dtype!(s, "collective::gatherv", t_gatherv);
    per_dtype!(s, "collective::scatter", t_scatter);
    per_dtype!(s, "collective::scatterv", t_scatterv);
    per_dtype!(s, "collective::allgather", t_allgather);
    per_dtype!(s, "collective::allgatherv", t_allgatherv);
    per_dtype!(s, "collective::alltoall", t_alltoall);
    per_dtype!(s, "collective::alltoallv", t_alltoallv);
    s.add("errors::length_mismatch", t_err_length_mismatch);
    s.add("errors::dtype_op_root_mismatch", t_err_arg_mismatch);
    s.add("errors::scatter_not_multiple", t_err_scatter);
    s.add("errors::root_out_of_range", t_err_root_range);
    s.add("errors::float_bitwise_ops<f32>", t_err_float_ops::<f32>);
    s.add("errors::float_bitwise_ops<f64>", t_err_float_ops::<f64>);
    s.add("errors::alltoall_bad_counts", t_err_alltoall);
    s.add("errors::container_mismatch", t_err_containers);
    per_dtype!(s, "vector::partition_gather_fill", t_vector_partition);
    per_dtype!(s, "array::partition_gather_fill", t_array_partition);
    per_dtype!(s, "vector::from_local_uneven", t_from_local);
    per_dtype!(s, "vector::from_global_scatter_from", t_from_global_scatter);
    per_dtype!(s, "vector::resize", t_resize);
    per_dtype!(s, "tensor::layout_gather", t_tensor_basic);
    per_dtype!(s, "tensor::scatter_from", t_tensor_scatter);
    per_dtype!(s, "tensor::halo_exchange", t_tensor_halo);
    per_dtype!(@ s, "policy::layout_queries_gather", t_policy_layout, u8 i32 f64);
    per_dtype!(@ s, "policy::from_global_scatter_from_local", t_policy_construct, u8 i32 f64);
    per_dtype!(@ s, "policy::resize_keeps_policy", t_policy_resize, u8 i32 f64);
    per_dtype!(@ s, "policy::redistribute_every_pair", t_policy_redistribute, u8 i32 f64);
    per_dtype!(@ s, "policy::redistribute_long_runs", t_policy_redistribute_long, i32 f64);
    per_dtype!(@ s, "policy::tensor_any_axis", t_policy_tensor, u8 f64);
    per_dtype!(@ s, "policy::tensor_redistribute_axes", t_policy_tensor_redistribute, u8 f64);
    s.add("policy::tensor_halo_weighted", t_policy_halo);
    s.add("errors::partition_arguments", t_err_partition_args);
    s.add("errors::partition_mismatch", t_err_partition_mismatch);
    s.add("containers::from_layout", t_from_layout);
    s
}

// ------------------------------------------------------------------ helpers

/// Facts about the element types, written independently of dtl's `Element`
/// constants (for the reduction identities).
trait Ty: Element {
    const FLOAT: bool;
    const SIGNED: bool;
    /// Largest value (`+inf` for floats): identity of MIN.
    fn hi() -> Self;
    /// Smallest value (`-inf` for floats): identity of MAX.
    fn lo() -> Self;
    /// All bits set (integers): identity of BAND.
    fn ones() -> Self;
}

macro_rules! ty_int {
    ($($t:ty => $signed:expr),*) => {$(
        impl Ty for $t {
            const FLOAT: bool = false;
            const SIGNED: bool = $signed;
            fn hi() -> Self { <$t>::MAX }
            fn lo() -> Self { <$t>::MIN }
            fn ones() -> Self { !0 }
        }
    )*};
}
ty_int!(i8 => true, i16 => true, i32 => true, i64 => true, u8 => false, u16 => false, u32 => false, u64 => false);

macro_rules! ty_float {
    ($($t:ty),*) => {$(
        impl Ty for $t {
            const FLOAT: bool = true;
            const SIGNED: bool = true;
            fn hi() -> Self { <$t>::INFINITY }
            fn lo() -> Self { <$t>::NEG_INFINITY }
            fn ones() -> Self { unreachable!("no bitwise ops on floats") }
        }
    )*};
}
ty_float!(f32, f64);

/// A small, exactly representable value for index `x` (fits every dtype;
/// floats get a fractional part).
fn w<T: Ty>(x: usize) -> T {
    let v = (x % 120) as f64 + if T::FLOAT { 0.25 } else { 0.0 };
    let t = T::from_f64(v);
    assert_eq!(t.to_f64(), v, "test value {v} not representable");
    t
}

fn ws<T: Ty>(xs: impl IntoIterator<Item = usize>) -> Vec<T> {
    xs.into_iter().map(w::<T>).collect()
}

fn f64s<T: Element>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

fn from_f64s<T: Ty>(v: &[f64]) -> Vec<T> {
    v.iter()
        .map(|&x| {
            let t = T::from_f64(x);
            assert_eq!(t.to_f64(), x, "test value {x} not representable in {}", T::DTYPE);
            t
        })
        .collect()
}

/// Distinct roots to try: 0 and the last rank.
fn roots(ctx: &Context) -> Vec<usize> {
    let mut v = vec![0, ctx.size() - 1];
    v.dedup();
    v
}

/// Global sizes that exercise the block partition's corner cases.
fn sizes(ctx: &Context) -> Vec<usize> {
    let p = ctx.size();
    let mut v = vec![0, 1, p - 1, p, p + 1, 7, 100];
    v.sort_unstable();
    v.dedup();
    v
}

/// Block partition, brute force: deal `n` indices out in order, one more to
/// each of the first `n % p` ranks.
fn block_sizes(n: usize, p: usize) -> Vec<usize> {
    let mut s = vec![0usize; p];
    let mut left = n;
    let mut r = 0;
    // Round robin one at a time gives the same counts as "remainder to the
    // lowest ranks".
    while left > 0 {
        s[r] += 1;
        left -= 1;
        r = (r + 1) % p;
    }
    s
}

fn block_range(n: usize, p: usize, r: usize) -> Range<usize> {
    let s = block_sizes(n, p);
    let start: usize = s[..r].iter().sum();
    start..start + s[r]
}

fn block_owner(n: usize, p: usize, g: usize) -> Option<usize> {
    (0..p).find(|&r| block_range(n, p, r).contains(&g))
}

fn prefix(counts: &[usize], r: usize) -> usize {
    counts[..r].iter().sum()
}

fn ops_for<T: Ty>() -> Vec<ReduceOp> {
    use ReduceOp::*;
    if T::FLOAT {
        vec![Sum, Prod, Min, Max]
    } else {
        vec![Sum, Prod, Min, Max, LAnd, LOr, LXor, BAnd, BOr, BXor]
    }
}

/// Rank `r`'s input for `op`: small values that keep sums, products and
/// bit patterns within every dtype.
fn rvals<T: Ty>(op: ReduceOp, r: usize, len: usize) -> Vec<f64> {
    use ReduceOp::*;
    (0..len)
        .map(|i| match op {
            Sum | Min | Max => {
                let b = ((r * 5 + i * 3) % 9) as f64;
                let b = if T::SIGNED { b - 4.0 } else { b };
                if T::FLOAT {
                    b + 0.5
                } else {
                    b
                }
            }
            Prod => {
                let b = ((r + i) % 3 + 1) as f64;
                let b = if T::SIGNED && (r + 2 * i) % 4 == 1 { -b } else { b };
                if T::FLOAT {
                    b + 0.5
                } else {
                    b
                }
            }
            LAnd | LOr | LXor => {
                if i % (r + 2) == 0 {
                    0.0
                } else {
                    let b = ((i + r) % 3 + 1) as f64;
                    if T::SIGNED && r % 2 == 1 {
                        -b
                    } else {
                        b
                    }
                }
            }
            BAnd | BOr | BXor => {
                let b = ((r * 7 + i * 5 + 3) % 16) as f64;
                if T::SIGNED {
                    b - 8.0
                } else {
                    b
                }
            }
        })
        .collect()
}

/// Reference semantics of the MPI ops, on exact small values.
fn ref_op(op: ReduceOp, a: f64, b: f64) -> f64 {
    use ReduceOp::*;
    let t = |x: bool| if x { 1.0 } else { 0.0 };
    match op {
        Sum => a + b,
        Prod => a * b,
        Min => a.min(b),
        Max => a.max(b),
        LAnd => t(a != 0.0 && b != 0.0),
        LOr => t(a != 0.0 || b != 0.0),
        LXor => t((a != 0.0) != (b != 0.0)),
        BAnd => ((a as i64) & (b as i64)) as f64,
        BOr => ((a as i64) | (b as i64)) as f64,
        BXor => ((a as i64) ^ (b as i64)) as f64,
    }
}

/// `op` folded over the inputs of `ranks` (non-empty), element-wise. A
/// logical op gives 0 or 1 even over a single contribution.
fn fold<T: Ty>(op: ReduceOp, ranks: Range<usize>, len: usize) -> Vec<f64> {
    let mut acc = rvals::<T>(op, ranks.start, len);
    for r in ranks.start + 1..ranks.end {
        for (a, b) in acc.iter_mut().zip(rvals::<T>(op, r, len)) {
            *a = ref_op(op, *a, b);
        }
    }
    if matches!(op, ReduceOp::LAnd | ReduceOp::LOr | ReduceOp::LXor) {
        acc.iter_mut().for_each(|a| *a = if *a != 0.0 { 1.0 } else { 0.0 });
    }
    acc
}

fn identity<T: Ty>(op: ReduceOp) -> T {
    use ReduceOp::*;
    match op {
        Sum | LOr | LXor | BOr | BXor => T::from_f64(0.0),
        Prod | LAnd => T::from_f64(1.0),
        Min => T::hi(),
        Max => T::lo(),
        BAnd => T::ones(),
    }
}

/// Row-major flat index of `idx` in `shape`.
fn flat(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

/// The global tensor the tensor tests expect: element = w(flat index + 1).
fn expected_tensor<T: Ty>(shape: &[usize]) -> ArrayD<T> {
    ArrayD::from_shape_fn(IxDyn(shape), |idx| w::<T>(flat(idx.slice(), shape) + 1))
}

fn rows<T: Ty>(a: &ArrayD<T>, r: Range<usize>) -> ArrayD<T> {
    a.slice_axis(Axis(0), Slice::from(r)).to_owned()
}

// ------------------------------------------------------------------ environment and contexts

fn t_environment(env: &Environment, ctx: &Context) {
    check!(Environment::is_initialized(), "is_initialized");
    check!(Environment::mpi_active(), "mpi_active");
    check!(!Environment::is_adopted(), "dtl initialised MPI itself, so it is not adopted");
    let before = Environment::ref_count();
    check!(before >= 2, "ref_count {before} (main's handle and the suite's clone)");
    let extra = env.clone();
    check_eq!(Environment::ref_count(), before + 1, "ref_count after clone");
    drop(extra);
    check_eq!(Environment::ref_count(), before, "ref_count after drop");
    check!(env.has_mpi(), "has_mpi");
    let (major, _minor) = env.mpi_version();
    check!(major >= 3, "MPI standard version {major}");
    check!(!env.mpi_library_version().is_empty(), "library version");
    check!(!env.processor_name().is_empty(), "processor name");
    check!(env.thread_level() >= ThreadLevel::Single, "thread level");
    let t0 = Environment::wtime();
    check!(Environment::wtime() >= t0, "wtime is monotone");
    // A second world context is independent of the first and works.
    let c2 = env.make_world_context().unwrap();
    check_eq!((c2.rank(), c2.size()), (ctx.rank(), ctx.size()), "second world context");
    let cpu = env.make_cpu_context().unwrap();
    check_eq!((cpu.rank(), cpu.size()), (0, 1), "cpu context");
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn t_rank_size_root(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    // What the launcher says (absent for a singleton run).
    check_eq!(me, env_usize("OMPI_COMM_WORLD_RANK").unwrap_or(0), "rank vs OMPI_COMM_WORLD_RANK");
    check_eq!(p, env_usize("OMPI_COMM_WORLD_SIZE").unwrap_or(1), "size vs OMPI_COMM_WORLD_SIZE");
    check!(me < p, "rank {me} < size {p}");
    check_eq!(ctx.is_root(), me == 0, "is_root");
    check_eq!(ctx.device_id(), None, "device_id");
    let all = ctx.allgather(&[me as u32]).unwrap();
    check_eq!(all, (0..p as u32).collect::<Vec<_>>(), "ranks are 0..size in order");
    let roots = ctx.allreduce_scalar(ctx.is_root() as i32, ReduceOp::Sum).unwrap();
    check_eq!(roots, 1, "exactly one root");
}

/// `MPI_Comm_compare` of two raw handles.
fn compare(a: dtl_core::raw::RawComm, b: dtl_core::raw::RawComm) -> i32 {
    let mut res: std::os::raw::c_int = -1;
    // SAFETY: both are live communicators of this MPI library.
    let rc = unsafe { mpi::ffi::MPI_Comm_compare(a, b, &mut res) };
    assert_eq!(rc, 0, "MPI_Comm_compare failed");
    res
}

fn t_dup(ctx: &Context) {
    let d = ctx.dup().unwrap();
    check_eq!((d.rank(), d.size()), (ctx.rank(), ctx.size()), "dup rank/size");
    // SAFETY: reading constants exported by the MPI shim.
    let (ident, congruent) = unsafe { (mpi::ffi::RSMPI_IDENT, mpi::ffi::RSMPI_CONGRUENT) };
    check_eq!(compare(d.raw_comm(), ctx.raw_comm()), congruent, "dup is a new communicator over the same group");
    check_eq!(compare(ctx.raw_comm(), dtl_core::raw::comm_world()), congruent, "world context is a dup of WORLD");
    let clone = ctx.clone();
    check_eq!(compare(clone.raw_comm(), ctx.raw_comm()), ident, "a clone shares the communicator");
    // Both work, interleaved.
    let p = ctx.size() as i64;
    let a = d.allreduce_scalar(1i64, ReduceOp::Sum).unwrap();
    let b = ctx.allreduce_scalar(2i64, ReduceOp::Sum).unwrap();
    check_eq!((a, b), (p, 2 * p), "collectives on dup and original");
    // A dup of the dup, then dropping the first: the second still works.
    let dd = d.dup().unwrap();
    drop(d);
    let c = dd.allgather(&[ctx.rank() as i16]).unwrap();
    check_eq!(c, (0..ctx.size() as i16).collect::<Vec<_>>(), "dup of dup after dropping the first");
    check_err!(ctx.with_device(-1), Error::InvalidArgument(_), "with_device(-1)");
    let g = ctx.with_device(0).unwrap();
    check_eq!(g.device_id(), Some(0), "with_device(0)");
    check_eq!(compare(g.raw_comm(), ctx.raw_comm()), ident, "with_device shares the communicator");
    check_eq!((g.rank(), g.size()), (ctx.rank(), ctx.size()), "with_device rank/size");
}

fn t_self_only(ctx: &Context) {
    let s = Context::self_only().unwrap();
    check_eq!((s.rank(), s.size(), s.is_root()), (0, 1, true), "self context");
    let x = s.allreduce_scalar(ctx.rank() as i32 + 5, ReduceOp::Sum).unwrap();
    check_eq!(x, ctx.rank() as i32 + 5, "allreduce over one rank");
    let v = DistributedVector::<i32>::from_global(&s, &[1, 2, 3]).unwrap();
    check_eq!(v.local(), &[1, 2, 3][..], "a one-rank vector holds everything");
}

fn t_split_parity(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    // Key reverses the order inside each half.
    let key = (p - me) as i32;
    let sub = ctx.split(Some((me % 2) as i32), key).unwrap().expect("a coloured rank gets a context");
    let mut members: Vec<usize> = (0..p).filter(|r| r % 2 == me % 2).collect();
    members.sort_by_key(|&r| p - r);
    let pos = members.iter().position(|&r| r == me).unwrap();
    check_eq!(sub.size(), members.len(), "sub size");
    check_eq!(sub.rank(), pos, "sub rank (ordered by key)");
    check_eq!(sub.is_root(), pos == 0, "sub is_root");
    let world_ranks = sub.allgather(&[me as u64]).unwrap();
    check_eq!(world_ranks, members.iter().map(|&r| r as u64).collect::<Vec<_>>(), "members in sub-rank order");
    // Same key everywhere: order by world rank.
    let sub2 = ctx.split(Some((me % 2) as i32), 0).unwrap().unwrap();
    let members2: Vec<usize> = (0..p).filter(|r| r % 2 == me % 2).collect();
    check_eq!(sub2.rank(), members2.iter().position(|&r| r == me).unwrap(), "equal keys: by rank");
    // A context on a sub-communicator runs containers.
    let v = DistributedVector::<i64>::new(&sub2, 10).unwrap();
    check_eq!(v.local_size(), block_sizes(10, members2.len())[sub2.rank()], "vector on the sub-context");
}

fn t_split_none(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let member = |r: usize| r % 3 != 2;
    let color = if member(me) { Some(7) } else { None };
    let sub = ctx.split(color, 0).unwrap();
    let members: Vec<usize> = (0..p).filter(|&r| member(r)).collect();
    match sub {
        Some(s) => {
            check!(member(me), "rank {me} passed None but got a context");
            check_eq!(s.size(), members.len(), "sub size");
            check_eq!(s.rank(), members.iter().position(|&r| r == me).unwrap(), "sub rank");
            let sum = s.allreduce_scalar(me as i32, ReduceOp::Sum).unwrap();
            check_eq!(sum, members.iter().sum::<usize>() as i32, "sum of world ranks in sub");
        }
        None => check!(!member(me), "rank {me} passed a colour but got None"),
    }
    // Everybody None.
    check!(ctx.split(None, 0).unwrap().is_none(), "split(None) everywhere");
}

fn t_split_negative(ctx: &Context) {
    let me = ctx.rank();
    check_err!(ctx.split(Some(-1), 0), Error::InvalidArgument(_), "negative colour everywhere");
    // Only rank 0 negative: it gets the error, the others a context without it.
    let r = ctx.split(Some(if me == 0 { -3 } else { 1 }), 0);
    if me == 0 {
        check_err!(r, Error::InvalidArgument(_), "negative colour on rank 0");
    } else {
        match r {
            Ok(Some(s)) => {
                check_eq!((s.rank(), s.size()), (me - 1, ctx.size() - 1), "others' context");
            }
            other => fail(format!("rank {me}: expected Ok(Some), got {other:?}")),
        }
    }
    // The context still works afterwards.
    ctx.barrier().unwrap();
}

fn t_checks_off(ctx: &Context) {
    let d = ctx.dup().unwrap();
    check!(d.collective_checks(), "checks are on by default");
    d.set_collective_checks(false);
    check!(!d.collective_checks(), "checks off");
    check!(ctx.collective_checks(), "a dup has its own setting");
    let p = ctx.size() as f64;
    let s = d.allreduce_scalar(1.5f64, ReduceOp::Sum).unwrap();
    check_eq!(s, 1.5 * p, "allreduce with checks off");
    let g = d.allgather(&[ctx.rank() as u8]).unwrap();
    check_eq!(g, (0..ctx.size() as u8).collect::<Vec<_>>(), "allgather with checks off");
}

fn t_barrier(ctx: &Context) {
    for _ in 0..3 {
        ctx.barrier().unwrap();
    }
    // A barrier on a dup between collectives on the original.
    let d = ctx.dup().unwrap();
    let a = ctx.allreduce_scalar(1u32, ReduceOp::Sum).unwrap();
    d.barrier().unwrap();
    let b = ctx.allreduce_scalar(1u32, ReduceOp::Sum).unwrap();
    check_eq!((a, b), (ctx.size() as u32, ctx.size() as u32), "collectives around a barrier");
}

// ------------------------------------------------------------------ collectives (every dtype)

fn t_broadcast<T: Ty>(ctx: &Context) {
    let me = ctx.rank();
    for root in roots(ctx) {
        for len in [0usize, 1, 5] {
            let expected: Vec<T> = ws((0..len).map(|i| root * 11 + i * 3 + 1));
            let mut buf: Vec<T> = if me == root { expected.clone() } else { ws((0..len).map(|i| 70 + i)) };
            ctx.broadcast(&mut buf, root).unwrap();
            check_eq!(buf, expected, "broadcast root={root} len={len}");
        }
        for len in [0usize, 3, 9] {
            let expected: Vec<T> = ws((0..len).map(|i| root * 13 + i * 2 + 5));
            // Non-root data is ignored, whatever its length.
            let data: Vec<T> = if me == root { expected.clone() } else { ws((0..me + 1).map(|i| 90 + i)) };
            let got = ctx.broadcast_vec(&data, root).unwrap();
            check_eq!(got, expected, "broadcast_vec root={root} len={len}");
        }
    }
}

fn t_reduce<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    const LEN: usize = 12;
    for op in ops_for::<T>() {
        let mine: Vec<T> = from_f64s(&rvals::<T>(op, me, LEN));
        let expected = fold::<T>(op, 0..p, LEN);
        for root in roots(ctx) {
            let got = ctx.reduce(&mine, op, root).unwrap();
            if me == root {
                match got {
                    Some(v) => check_eq!(f64s(&v), expected, "reduce {op} root={root}"),
                    None => fail(format!("reduce {op}: root {root} got None")),
                }
            } else {
                check!(got.is_none(), "reduce {op}: non-root got Some");
            }
        }
        let empty = ctx.reduce::<T>(&[], op, p - 1).unwrap();
        check_eq!(empty.map(|v| v.len()), if me == p - 1 { Some(0) } else { None }, "empty reduce {op}");
    }
}

fn t_allreduce<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    const LEN: usize = 12;
    for op in ops_for::<T>() {
        let mine: Vec<T> = from_f64s(&rvals::<T>(op, me, LEN));
        let expected = fold::<T>(op, 0..p, LEN);
        let got = ctx.allreduce(&mine, op).unwrap();
        check_eq!(f64s(&got), expected, "allreduce {op}");
        let mut into = vec![T::from_f64(0.0); LEN];
        ctx.allreduce_into(&mine, &mut into, op).unwrap();
        check_eq!(f64s(&into), expected, "allreduce_into {op}");
        // Scalars: positions 1 and 2 of the same inputs.
        for i in [1usize, 2] {
            let s = ctx.allreduce_scalar(mine[i], op).unwrap();
            check_eq!(s.to_f64(), expected[i], "allreduce_scalar {op} (position {i})");
        }
        check_eq!(ctx.allreduce::<T>(&[], op).unwrap().len(), 0, "empty allreduce {op}");
    }
    // Every path: the fused agreement (data inside the agreement record, up
    // to FUSED_PAYLOAD bytes), MPI_Allreduce, and the shared-memory path
    // (from 16 KiB, in chunks of 256 KiB: lengths that end mid-chunk),
    // with checks and the shared-memory path on and off. The result must
    // also be bitwise the same on every rank.
    let slot = dtl_core::collective::shm::SLOT / std::mem::size_of::<T>();
    let lens = [1usize, 3, 8, 9, 17, 70_000 / std::mem::size_of::<T>(), 2 * slot + 5, 3 * slot];
    let d = ctx.dup().unwrap();
    for (checks, shm) in [(true, true), (false, true), (true, false), (false, false)] {
        d.set_collective_checks(checks);
        d.set_shm_collectives(shm);
        for op in ops_for::<T>() {
            for len in lens {
                let mine: Vec<T> = from_f64s(&rvals::<T>(op, me, len));
                let expected = fold::<T>(op, 0..p, len);
                let got = d.allreduce(&mine, op).unwrap();
                let what = format!("allreduce {op} len={len} checks={checks} shm={shm}");
                check_eq!(f64s(&got), expected, "{what}");
                let bits: Vec<u8> = got.iter().flat_map(|x| x.to_f64().to_le_bytes()).collect();
                let h =
                    bits.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                let lo = d.allreduce_scalar(h, ReduceOp::Min).unwrap();
                let hi = d.allreduce_scalar(h, ReduceOp::Max).unwrap();
                check_eq!(lo, hi, "{what}: same bits on every rank");
            }
        }
        for root in roots(&d) {
            for len in [5usize, 70_000 / std::mem::size_of::<T>(), 2 * slot + 3] {
                let expected: Vec<T> = ws((0..len).map(|i| root * 11 + i * 3 + 1));
                let mut buf: Vec<T> = if me == root { expected.clone() } else { ws((0..len).map(|i| 70 + i)) };
                d.broadcast(&mut buf, root).unwrap();
                check_eq!(buf == expected, true, "broadcast root={root} len={len} shm={shm}");
                let data: Vec<T> = if me == root { expected.clone() } else { Vec::new() };
                let got = d.broadcast_vec(&data, root).unwrap();
                check_eq!(got == expected, true, "broadcast_vec root={root} len={len} shm={shm}");
            }
        }
    }
}

/// Sums that overflow 8- and 16-bit integers wrap (as in C and NumPy) and
/// `u64` MIN/MAX compare unsigned, on every path of every reducing
/// collective. Open MPI 4.1.4's AVX kernels get both wrong from 64 (sum)
/// and 7 (min/max) elements: dtl replaces those ops with its own.
fn t_overflowing_ops(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let d = ctx.dup().unwrap();
    d.set_shm_collectives(false);
    fn vals(r: usize, n: usize) -> Vec<u64> {
        (0..n as u64)
            .map(|i| (i * 0x9E37_79B9 + r as u64 * 0x7F4A_7C15 + 0xFFFF_FFF0_0000_0000 * (i % 2)) ^ (i << 56))
            .collect()
    }
    fn check_all<T: Element>(
        d: &Context,
        me: usize,
        p: usize,
        n: usize,
        conv: impl Fn(u64) -> T,
        op: ReduceOp,
        f: impl Fn(T, T) -> T,
    ) {
        let mine: Vec<T> = vals(me, n).into_iter().map(&conv).collect();
        let ranks: Vec<Vec<T>> = (0..p).map(|r| vals(r, n).into_iter().map(&conv).collect()).collect();
        let fold = |upto: usize| -> Vec<T> {
            let mut acc = ranks[0].clone();
            for v in &ranks[1..upto] {
                for (a, &b) in acc.iter_mut().zip(v) {
                    *a = f(*a, b);
                }
            }
            acc
        };
        let all = fold(p);
        check!(d.allreduce(&mine, op).unwrap() == all, "allreduce {op} {} n={n}", T::DTYPE);
        let root = p - 1;
        let r = d.reduce(&mine, op, root).unwrap();
        if me == root {
            check!(r.as_deref() == Some(&all[..]), "reduce {op} {} n={n}", T::DTYPE);
        }
        check!(d.scan(&mine, op).unwrap() == fold(me + 1), "scan {op} {} n={n}", T::DTYPE);
    }
    for n in [1usize, 7, 64, 1000] {
        check_all(&d, me, p, n, |x| x as i8, ReduceOp::Sum, |a: i8, b| a.wrapping_add(b));
        check_all(&d, me, p, n, |x| x as u8, ReduceOp::Sum, |a: u8, b| a.wrapping_add(b));
        check_all(&d, me, p, n, |x| x as i16, ReduceOp::Sum, |a: i16, b| a.wrapping_add(b));
        check_all(&d, me, p, n, |x| x as u16, ReduceOp::Sum, |a: u16, b| a.wrapping_add(b));
        check_all(&d, me, p, n, |x| x as i32, ReduceOp::Sum, |a: i32, b| a.wrapping_add(b));
        check_all(&d, me, p, n, |x| x, ReduceOp::Min, |a: u64, b| a.min(b));
        check_all(&d, me, p, n, |x| x, ReduceOp::Max, |a: u64, b| a.max(b));
        check_all(&d, me, p, n, |x| x as i64, ReduceOp::Max, |a: i64, b| a.max(b));
        check_all(&d, me, p, n, |x| x as u32, ReduceOp::Min, |a: u32, b| a.min(b));
    }
}

fn t_scan<T: Ty>(ctx: &Context) {
    let me = ctx.rank();
    const LEN: usize = 12;
    for op in ops_for::<T>() {
        let mine: Vec<T> = from_f64s(&rvals::<T>(op, me, LEN));
        let got = ctx.scan(&mine, op).unwrap();
        check_eq!(f64s(&got), fold::<T>(op, 0..me + 1, LEN), "scan {op}");
        let ex = ctx.exscan(&mine, op).unwrap();
        if me == 0 {
            check_eq!(ex, vec![identity::<T>(op); LEN], "exscan {op} on rank 0 is the identity");
        } else {
            check_eq!(f64s(&ex), fold::<T>(op, 0..me, LEN), "exscan {op}");
        }
    }
}

fn t_gather<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for root in roots(ctx) {
        for len in [0usize, 3] {
            let mine: Vec<T> = ws((0..len).map(|i| me * 10 + i));
            let expected: Vec<T> = ws((0..p).flat_map(|r| (0..len).map(move |i| r * 10 + i)));
            let got = ctx.gather(&mine, root).unwrap();
            check_eq!(got, if me == root { Some(expected) } else { None }, "gather root={root} len={len}");
        }
    }
}

/// Per-rank counts for the v-collectives, with zeros in various places.
fn count_patterns(p: usize) -> Vec<Vec<usize>> {
    vec![
        (0..p).map(|r| (r + 2) % 3).collect(), // rank 1 (and 4, ...) sends 0
        (0..p).collect(),                      // rank 0 sends 0
        vec![0; p],                            // nobody sends
        (0..p).map(|r| if r == p - 1 { 5 } else { 0 }).collect(),
    ]
}

fn t_gatherv<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for counts in count_patterns(p) {
        for root in roots(ctx) {
            let mine: Vec<T> = ws((0..counts[me]).map(|i| me * 10 + i + 1));
            let expected: Vec<T> = ws((0..p).flat_map(|r| (0..counts[r]).map(move |i| r * 10 + i + 1)));
            let got = ctx.gatherv(&mine, root).unwrap();
            if me == root {
                check_eq!(got, Some((expected, counts.clone())), "gatherv counts={counts:?} root={root}");
            } else {
                check!(got.is_none(), "gatherv: non-root got Some");
            }
        }
    }
}

fn t_scatter<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for root in roots(ctx) {
        for chunk in [0usize, 1, 3] {
            let all: Vec<T> = ws((0..p * chunk).map(|i| i + root + 1));
            // Non-root data is ignored, even with a length that is not a multiple of size.
            let send = if me == root { all.clone() } else { ws(0..p + 1) };
            let got = ctx.scatter(&send, root).unwrap();
            check_eq!(got, all[me * chunk..(me + 1) * chunk].to_vec(), "scatter root={root} chunk={chunk}");
        }
    }
}

fn t_scatterv<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for counts in count_patterns(p) {
        for root in roots(ctx) {
            let total: usize = counts.iter().sum();
            let all: Vec<T> = ws((0..total).map(|i| i * 2 + 1));
            let (send, c) = if me == root { (all.clone(), counts.clone()) } else { (Vec::new(), Vec::new()) };
            let got = ctx.scatterv(&send, &c, root).unwrap();
            let off = prefix(&counts, me);
            check_eq!(got, all[off..off + counts[me]].to_vec(), "scatterv counts={counts:?} root={root}");
        }
    }
}

fn t_allgather<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for len in [0usize, 1, 2] {
        let mine: Vec<T> = ws((0..len).map(|i| me * 7 + i + 3));
        let expected: Vec<T> = ws((0..p).flat_map(|r| (0..len).map(move |i| r * 7 + i + 3)));
        check_eq!(ctx.allgather(&mine).unwrap(), expected, "allgather len={len}");
    }
}

fn t_allgatherv<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for counts in count_patterns(p) {
        let mine: Vec<T> = ws((0..counts[me]).map(|i| me * 9 + i + 2));
        let expected: Vec<T> = ws((0..p).flat_map(|r| (0..counts[r]).map(move |i| r * 9 + i + 2)));
        check_eq!(ctx.allgatherv(&mine).unwrap(), (expected, counts.clone()), "allgatherv counts={counts:?}");
    }
}

/// The value rank `src` sends to rank `dst` at position `k`.
fn enc(src: usize, dst: usize, k: usize) -> usize {
    src * 16 + dst * 4 + k
}

fn t_alltoall<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for chunk in [0usize, 1, 2] {
        let send: Vec<T> = ws((0..p).flat_map(|d| (0..chunk).map(move |k| enc(me, d, k))));
        let expected: Vec<T> = ws((0..p).flat_map(|s| (0..chunk).map(move |k| enc(s, me, k))));
        check_eq!(ctx.alltoall(&send).unwrap(), expected, "alltoall chunk={chunk}");
    }
}

fn t_alltoallv<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let patterns: Vec<Box<dyn Fn(usize, usize) -> usize>> = vec![
        Box::new(|s, d| (s + d) % 3),
        Box::new(|s, d| usize::from(s == d) * 2),
        Box::new(|s, _| if s == 0 { 3 } else { 0 }),
        Box::new(|_, _| 0),
    ];
    for (k, cnt) in patterns.iter().enumerate() {
        let send_counts: Vec<usize> = (0..p).map(|d| cnt(me, d)).collect();
        let send: Vec<T> = ws((0..p).flat_map(|d| (0..cnt(me, d)).map(move |i| enc(me, d, i))));
        let recv_counts: Vec<usize> = (0..p).map(|s| cnt(s, me)).collect();
        let expected: Vec<T> = ws((0..p).flat_map(|s| (0..cnt(s, me)).map(move |i| enc(s, me, i))));
        check_eq!(ctx.alltoallv(&send, &send_counts).unwrap(), (expected, recv_counts), "alltoallv pattern {k}");
    }
}

// ------------------------------------------------------------------ error paths

fn t_err_length_mismatch(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let len = 1 + me % 2;
    let data = vec![1.0f64; len];
    if p == 1 {
        // Nothing can disagree on one rank.
        check_eq!(ctx.allreduce(&data, ReduceOp::Sum).unwrap(), data, "np=1 allreduce");
        return;
    }
    check_err!(ctx.allreduce(&data, ReduceOp::Sum), Error::Mismatch(_), "allreduce lengths");
    let mut out = vec![0.0; len];
    check_err!(ctx.allreduce_into(&data, &mut out, ReduceOp::Max), Error::Mismatch(_), "allreduce_into lengths");
    check_err!(ctx.reduce(&data, ReduceOp::Sum, 0), Error::Mismatch(_), "reduce lengths");
    let mut b = data.clone();
    check_err!(ctx.broadcast(&mut b, 0), Error::Mismatch(_), "broadcast lengths");
    check_err!(ctx.gather(&data, p - 1), Error::Mismatch(_), "gather lengths");
    check_err!(ctx.allgather(&data), Error::Mismatch(_), "allgather lengths");
    check_err!(ctx.scan(&data, ReduceOp::Sum), Error::Mismatch(_), "scan lengths");
    check_err!(ctx.exscan(&data, ReduceOp::Sum), Error::Mismatch(_), "exscan lengths");
    // allreduce_into with recv != send on every rank: an argument error everywhere.
    let mut long = vec![0.0; 3];
    check_err!(ctx.allreduce_into(&[1.0; 2], &mut long, ReduceOp::Sum), Error::InvalidArgument(_), "recv length");
    // The context is still usable.
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

fn t_err_arg_mismatch(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    if p == 1 {
        return;
    }
    // Different dtypes of the same width.
    let r: Result<(), Error> = if me == 0 {
        ctx.allreduce(&[1.0f64], ReduceOp::Sum).map(|_| ())
    } else {
        ctx.allreduce(&[1i64], ReduceOp::Sum).map(|_| ())
    };
    check_err!(r, Error::Mismatch(_), "allreduce dtypes");
    let r: Result<(), Error> =
        if me == 0 { ctx.broadcast_vec(&[1u32], 0).map(|_| ()) } else { ctx.broadcast_vec(&[1i32], 0).map(|_| ()) };
    check_err!(r, Error::Mismatch(_), "broadcast_vec dtypes");
    let r: Result<(), Error> =
        if me == 0 { ctx.gatherv(&[1.0f32; 2], 0).map(|_| ()) } else { ctx.gatherv(&[1.0f64; 2], 0).map(|_| ()) };
    check_err!(r, Error::Mismatch(_), "gatherv dtypes");
    let r: Result<(), Error> =
        if me == 0 { ctx.allgatherv(&[1u16; 2]).map(|_| ()) } else { ctx.allgatherv(&[1i16; 2]).map(|_| ()) };
    check_err!(r, Error::Mismatch(_), "allgatherv dtypes");
    // A bad recv buffer on one rank only: every rank gets the same error, and
    // the next collective still pairs up.
    let mut out = vec![0.0f64; if me == 0 { 2 } else { 1 }];
    check_err!(
        ctx.allreduce_into(&[1.0], &mut out, ReduceOp::Sum),
        Error::Mismatch(_),
        "allreduce_into recv on rank 0"
    );
    check_eq!(ctx.allreduce_scalar(3i32, ReduceOp::Sum).unwrap(), 3 * p as i32, "allreduce after the bad recv");
    // Different ops.
    let op = if me == 0 { ReduceOp::Sum } else { ReduceOp::Max };
    check_err!(ctx.allreduce_scalar(1i32, op), Error::Mismatch(_), "allreduce ops");
    check_err!(ctx.reduce(&[1i32], op, 0), Error::Mismatch(_), "reduce ops");
    check_err!(ctx.scan(&[1i32], op), Error::Mismatch(_), "scan ops");
    // Different roots.
    let root = me % 2;
    let mut b = [1u8; 2];
    check_err!(ctx.broadcast(&mut b, root), Error::Mismatch(_), "broadcast roots");
    check_err!(ctx.gather(&[1u8], root), Error::Mismatch(_), "gather roots");
    check_err!(ctx.gatherv(&[1u8], root), Error::Mismatch(_), "gatherv roots");
    check_err!(ctx.scatter(&[1u8; 8], root), Error::Mismatch(_), "scatter roots");
    check_err!(ctx.reduce(&[1u8], ReduceOp::Sum, root), Error::Mismatch(_), "reduce roots");
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

fn t_err_scatter(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for root in roots(ctx) {
        let send: Vec<i32> = if me == root { (0..2 * p as i32 + 1).collect() } else { Vec::new() };
        let r = ctx.scatter(&send, root);
        if p == 1 {
            check_eq!(r.unwrap(), vec![0, 1, 2], "np=1: every length is a multiple of 1");
        } else {
            check_err!(r, Error::InvalidArgument(_), "scatter of {} elements over {p} ranks, root={root}", 2 * p + 1);
        }
        // scatterv: wrong number of counts, and counts not summing to the length.
        let (send, counts) =
            if me == root { (vec![1u16; 4], vec![1usize; p + 1]) } else { (Vec::new(), vec![0usize; p]) };
        check_err!(ctx.scatterv(&send, &counts, root), Error::InvalidArgument(_), "scatterv with size+1 counts");
        let (send, counts) = if me == root { (vec![1u16; 4], vec![1usize; p]) } else { (Vec::new(), Vec::new()) };
        let r = ctx.scatterv(&send, &counts, root);
        if p == 4 {
            check_eq!(r.unwrap(), vec![1u16], "np=4: counts do sum to 4");
        } else {
            check_err!(r, Error::InvalidArgument(_), "scatterv counts summing to {p} for 4 elements");
        }
        // Tensor and vector scatter: the root passes nothing / a 0-d array.
        let r = DistributedTensor::<f32>::scatter_from(ctx, None, root);
        check_err!(r, Error::InvalidArgument(_), "tensor scatter_from: root passes None");
        let zero_d = ArrayD::<f32>::zeros(IxDyn(&[]));
        let r = DistributedTensor::<f32>::scatter_from(ctx, Some(zero_d.view()), root);
        check_err!(r, Error::InvalidArgument(_), "tensor scatter_from: 0-d array");
    }
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

fn t_err_root_range(ctx: &Context) {
    let p = ctx.size();
    for root in [p, p + 5] {
        let mut b = [0i32; 3];
        check_err!(ctx.broadcast(&mut b, root), Error::InvalidArgument(_), "broadcast root={root}");
        check_err!(ctx.broadcast_vec(&[1i32], root), Error::InvalidArgument(_), "broadcast_vec root={root}");
        check_err!(ctx.reduce(&[1i32], ReduceOp::Sum, root), Error::InvalidArgument(_), "reduce root={root}");
        check_err!(ctx.gather(&[1i32], root), Error::InvalidArgument(_), "gather root={root}");
        check_err!(ctx.gatherv(&[1i32], root), Error::InvalidArgument(_), "gatherv root={root}");
        check_err!(ctx.scatter(&vec![1i32; p], root), Error::InvalidArgument(_), "scatter root={root}");
        check_err!(ctx.scatterv(&[1i32], &[1], root), Error::InvalidArgument(_), "scatterv root={root}");
        let data = vec![1.0f64; 5];
        check_err!(DistributedVector::scatter_from(ctx, &data, root), Error::InvalidArgument(_), "vector scatter_from");
        check_err!(DistributedArray::scatter_from(ctx, &data, root), Error::InvalidArgument(_), "array scatter_from");
        let a = ArrayD::<f64>::zeros(IxDyn(&[4, 2]));
        check_err!(
            DistributedTensor::scatter_from(ctx, Some(a.view()), root),
            Error::InvalidArgument(_),
            "tensor scatter_from"
        );
        let v = DistributedVector::<f64>::new(ctx, 5).unwrap();
        check_err!(v.gather(root), Error::InvalidArgument(_), "vector gather root={root}");
        let t = DistributedTensor::<f64>::new(ctx, &[5, 2]).unwrap();
        check_err!(t.gather(root), Error::InvalidArgument(_), "tensor gather root={root}");
    }
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

fn t_err_float_ops<T: Ty>(ctx: &Context) {
    use ReduceOp::*;
    let x = [T::from_f64(1.0); 3];
    for op in [LAnd, LOr, LXor, BAnd, BOr, BXor] {
        check_err!(ctx.reduce(&x, op, 0), Error::InvalidArgument(_), "reduce {op}");
        check_err!(ctx.allreduce(&x, op), Error::InvalidArgument(_), "allreduce {op}");
        check_err!(ctx.allreduce_scalar(x[0], op), Error::InvalidArgument(_), "allreduce_scalar {op}");
        check_err!(ctx.scan(&x, op), Error::InvalidArgument(_), "scan {op}");
        check_err!(ctx.exscan(&x, op), Error::InvalidArgument(_), "exscan {op}");
    }
    check_eq!(ctx.allreduce_scalar(1i32, Sum).unwrap(), ctx.size() as i32, "after the errors");
}

fn t_err_alltoall(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    if p > 1 {
        // Not a multiple of size, everywhere.
        check_err!(ctx.alltoall(&vec![1u8; 2 * p + 1]), Error::InvalidArgument(_), "alltoall, all ranks bad");
        // Only the last rank is bad, or chunk lengths differ.
        let n = if me == p - 1 { 2 * p + 1 } else { 2 * p };
        // The bad rank reports its own error; the others an error of the same kind.
        check_err!(ctx.alltoall(&vec![1u8; n]), Error::InvalidArgument(_), "alltoall, last rank bad");
        check_err!(ctx.alltoall(&vec![1u8; p * (1 + me % 2)]), Error::Mismatch(_), "alltoall chunk lengths");
    }
    // Wrong number of counts on every rank.
    check_err!(ctx.alltoallv(&[1i64; 2], &vec![0; p + 1]), Error::InvalidArgument(_), "alltoallv, size+1 counts");
    // Counts not summing to the length on every rank.
    check_err!(
        ctx.alltoallv(&vec![1i64; p + 1], &vec![1; p]),
        Error::InvalidArgument(_),
        "alltoallv, counts sum != len"
    );
    // Only the last rank is bad: every rank must get the same error.
    let counts = if me == p - 1 { vec![3; p] } else { vec![1; p] };
    let r = ctx.alltoallv(&vec![1i64; p], &counts);
    let code = match &r {
        Ok(_) => 0,
        Err(e) => e.status(),
    };
    let lo = ctx.allreduce_scalar(code, ReduceOp::Min).unwrap();
    let hi = ctx.allreduce_scalar(code, ReduceOp::Max).unwrap();
    check!(lo == hi, "alltoallv, last rank bad: status codes differ across ranks ({lo}..{hi})");
    if p == 1 {
        check_err!(r, Error::InvalidArgument(_), "alltoallv, np=1 bad counts");
    } else {
        check_err!(r, Error::Mismatch(_) | Error::InvalidArgument(_), "alltoallv, last rank bad");
    }
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

fn t_err_containers(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let n = 5 + me;
    let r = DistributedVector::<f64>::new(ctx, n);
    let ra = DistributedArray::<i32>::with_value(ctx, n, 3);
    let rt = DistributedTensor::<u8>::new(ctx, &[4, 2 + me]);
    let rt2 = DistributedTensor::<u8>::new(ctx, &vec![4; 1 + me]);
    let rg = DistributedVector::<i16>::from_global(ctx, &vec![1; n]);
    if p == 1 {
        check!(r.is_ok() && ra.is_ok() && rt.is_ok() && rt2.is_ok() && rg.is_ok(), "np=1: nothing can disagree");
    } else {
        check_err!(r, Error::Mismatch(_), "vector sizes");
        check_err!(ra, Error::Mismatch(_), "array sizes");
        check_err!(rt, Error::Mismatch(_), "tensor shapes");
        check_err!(rt2, Error::Mismatch(_), "tensor ndims");
        let r0: Vec<usize> = if me == 0 { Vec::new() } else { vec![4] };
        // Invalid on rank 0 only: rank 0 reports it, the others get the same kind.
        check_err!(DistributedTensor::<u8>::new(ctx, &r0), Error::InvalidArgument(_), "0-d shape on rank 0 only");
        check_err!(rg, Error::Mismatch(_), "from_global lengths");
        let mut v = DistributedVector::<f64>::new(ctx, 6).unwrap();
        check_err!(v.resize(3 + me), Error::Mismatch(_), "resize sizes");
        check_eq!(v.global_size(), 6, "a failed resize leaves the vector as it was");
        let t = DistributedTensor::<f64>::new(ctx, &[6, 2]).unwrap();
        check_err!(t.halo_exchange(1 + me), Error::Mismatch(_), "halo widths");
    }
    check_err!(DistributedTensor::<f64>::new(ctx, &[]), Error::InvalidArgument(_), "0-d tensor");
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

// ------------------------------------------------------------------ 1-D containers

/// The partition queries of a 1-D container of `n` elements.
fn check_layout(
    what: &str,
    ctx: &Context,
    n: usize,
    part: &dtl_core::partition::Layout,
    (local_size, local_offset): (usize, usize),
    owner: impl Fn(usize) -> Result<usize, Error>,
    is_local: impl Fn(usize) -> bool,
) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mine = block_range(n, p, me);
    check_eq!(local_size, mine.len(), "{what} n={n}: local_size");
    check_eq!(local_offset, mine.start, "{what} n={n}: local_offset");
    check_eq!(part.global_size(), n, "{what} n={n}: partition global_size");
    check_eq!(part.num_ranks(), p, "{what} n={n}: partition num_ranks");
    for r in 0..p {
        check_eq!(part.local_size(r), block_sizes(n, p)[r], "{what} n={n}: partition local_size({r})");
        let lo = part.local_offset(r);
        check_eq!(lo..lo + part.local_size(r), block_range(n, p, r), "{what} n={n}: partition range({r})");
    }
    for g in 0..n + 3 {
        match block_owner(n, p, g) {
            Some(o) => check_eq!(owner(g), Ok(o), "{what} n={n}: owner({g})"),
            None => check!(matches!(owner(g), Err(Error::Bounds(_))), "{what} n={n}: owner({g}) out of range"),
        }
        check_eq!(is_local(g), block_owner(n, p, g) == Some(me), "{what} n={n}: is_local({g})");
    }
}

fn t_vector_partition<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for n in sizes(ctx) {
        let mut v = DistributedVector::<T>::new(ctx, n).unwrap();
        check_eq!(v.global_size(), n, "n={n}: global_size");
        check_layout(
            "vector",
            ctx,
            n,
            v.partition(),
            (v.local_size(), v.local_offset()),
            |g| v.owner(g),
            |g| v.is_local(g),
        );
        check!(v.local().iter().all(|&x| x == T::from_f64(0.0)), "n={n}: new() is zero");
        let mine = block_range(n, p, me);
        for (l, g) in mine.clone().enumerate() {
            check_eq!(v.to_global(l), Ok(g), "n={n}: to_global({l})");
            check_eq!(v.to_local(g), Some(l), "n={n}: to_local({g})");
        }
        check!(v.to_global(mine.len()).is_err(), "n={n}: to_global past the end");
        for g in (0..n).filter(|g| !mine.contains(g)) {
            check_eq!(v.to_local(g), None, "n={n}: to_local({g}) of a remote index");
        }
        // Every rank writes f(global index) into its part.
        let off = v.local_offset();
        for (l, x) in v.local_mut().iter_mut().enumerate() {
            *x = w(off + l + 1);
        }
        let expected: Vec<T> = ws((0..n).map(|g| g + 1));
        check_eq!(v.local(), &expected[mine.clone()], "n={n}: local after writing");
        for root in roots(ctx) {
            let got = v.gather(root).unwrap();
            check_eq!(got, if me == root { Some(expected.clone()) } else { None }, "n={n}: gather({root})");
        }
        check_eq!(v.gather_all().unwrap(), expected, "n={n}: gather_all");
        v.fill(w(7));
        check_eq!(v.gather_all().unwrap(), vec![w::<T>(7); n], "n={n}: gather_all after fill");
        let v2 = DistributedVector::<T>::with_value(ctx, n, w(9)).unwrap();
        check_eq!(v2.local(), &vec![w::<T>(9); mine.len()][..], "n={n}: with_value");
    }
}

fn t_array_partition<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for n in sizes(ctx) {
        let a0 = DistributedArray::<T>::new(ctx, n).unwrap();
        check_layout(
            "array",
            ctx,
            n,
            a0.partition(),
            (a0.local_size(), a0.local_offset()),
            |g| a0.owner(g),
            |g| a0.is_local(g),
        );
        let mut a = DistributedArray::<T>::with_value(ctx, n, w(3)).unwrap();
        check_eq!(a.gather_all().unwrap(), vec![w::<T>(3); n], "n={n}: with_value gather_all");
        let off = a.local_offset();
        for (l, x) in a.local_mut().iter_mut().enumerate() {
            *x = w(2 * (off + l));
        }
        let expected: Vec<T> = ws((0..n).map(|g| 2 * g));
        check_eq!(a.local(), &expected[block_range(n, p, me)], "n={n}: local");
        for root in roots(ctx) {
            let got = a.gather(root).unwrap();
            check_eq!(got, if me == root { Some(expected.clone()) } else { None }, "n={n}: gather({root})");
        }
        check_eq!(a.gather_all().unwrap(), expected, "n={n}: gather_all");
        a.fill(w(5));
        check_eq!(a.gather_all().unwrap(), vec![w::<T>(5); n], "n={n}: fill");
    }
}

fn t_from_local<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let patterns: Vec<Vec<usize>> = vec![
        (0..p).map(|r| (r * 5 + 3) % 7).collect(),
        (0..p).map(|r| if r == 0 { 9 } else { 0 }).collect(),
        (0..p).map(|r| if r == p - 1 { 11 } else { 0 }).collect(),
        (0..p).collect(),
        block_sizes(10, p), // already the block layout
        vec![0; p],
        (0..p).map(|r| 3 * (p - r)).collect(),
    ];
    for lens in patterns {
        let total: usize = lens.iter().sum();
        let off = prefix(&lens, me);
        let local: Vec<T> = ws((0..lens[me]).map(|i| off + i + 1));
        let expected: Vec<T> = ws((0..total).map(|g| g + 1));
        let mine = block_range(total, p, me);
        let v = DistributedVector::from_local(ctx, local.clone()).unwrap();
        check_eq!(v.global_size(), total, "lens={lens:?}: global_size");
        check_eq!(v.local_size(), mine.len(), "lens={lens:?}: local_size (block layout)");
        check_eq!(v.local_offset(), mine.start, "lens={lens:?}: local_offset");
        check_eq!(v.local(), &expected[mine.clone()], "lens={lens:?}: local data moved to the block layout");
        check_eq!(v.gather_all().unwrap(), expected, "lens={lens:?}: gather_all keeps global order");
        let a = DistributedArray::from_local(ctx, local).unwrap();
        check_eq!(a.local(), &expected[mine], "lens={lens:?}: array from_local");
    }
}

fn t_from_global_scatter<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for n in sizes(ctx) {
        let global: Vec<T> = ws((0..n).map(|g| 3 * g + 1));
        let mine = block_range(n, p, me);
        let v = DistributedVector::from_global(ctx, &global).unwrap();
        check_eq!(v.global_size(), n, "n={n}: from_global global_size");
        check_eq!(v.local(), &global[mine.clone()], "n={n}: from_global local");
        let a = DistributedArray::from_global(ctx, &global).unwrap();
        check_eq!(a.local(), &global[mine.clone()], "n={n}: array from_global local");
        for root in roots(ctx) {
            // Non-root data is ignored.
            let data: Vec<T> = if me == root { global.clone() } else { ws(0..me + 2) };
            let v = DistributedVector::scatter_from(ctx, &data, root).unwrap();
            check_eq!(v.global_size(), n, "n={n}: scatter_from({root}) global_size");
            check_eq!(v.local(), &global[mine.clone()], "n={n}: scatter_from({root}) local");
            let a = DistributedArray::scatter_from(ctx, &data, root).unwrap();
            check_eq!(a.local(), &global[mine.clone()], "n={n}: array scatter_from({root}) local");
        }
    }
}

fn t_resize<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let n0 = p + 2;
    let mut v = DistributedVector::<T>::new(ctx, n0).unwrap();
    let mut model: Vec<T> = vec![T::from_f64(0.0); n0];
    let steps = [n0 + p + 3, 2, 0, 1, p, 11, 100, 5, 5, 37];
    for (k, &n) in steps.iter().enumerate() {
        // Fresh values before each resize, so moved data is distinguishable.
        let off = v.local_offset();
        for (l, x) in v.local_mut().iter_mut().enumerate() {
            *x = w((off + l) * 3 + k);
        }
        for (g, x) in model.iter_mut().enumerate() {
            *x = w(g * 3 + k);
        }
        let old = model.len();
        if k % 3 == 2 {
            v.resize(n).unwrap();
            model.resize(n, T::from_f64(0.0));
        } else {
            let c: T = w(100 + k);
            v.resize_with(n, c).unwrap();
            model.resize(n, c);
        }
        let mine = block_range(n, p, me);
        check_eq!(v.global_size(), n, "step {k} ({old} -> {n}): global_size");
        check_eq!(v.local_size(), mine.len(), "step {k} ({old} -> {n}): local_size");
        check_eq!(v.local_offset(), mine.start, "step {k} ({old} -> {n}): local_offset");
        check_eq!(v.local(), &model[mine], "step {k} ({old} -> {n}): local");
        check_eq!(v.gather_all().unwrap(), model, "step {k} ({old} -> {n}): gather_all");
    }
}

// ------------------------------------------------------------------ tensors

fn tensor_shapes(ctx: &Context) -> Vec<Vec<usize>> {
    let p = ctx.size();
    let mut ns = vec![0, 1, 2, p - 1, p + 1, 10];
    ns.sort_unstable();
    ns.dedup();
    ns.iter().flat_map(|&n| [vec![n, 3], vec![n, 2, 2]]).collect()
}

fn t_tensor_basic<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for shape in tensor_shapes(ctx) {
        let n = shape[0];
        let rl: usize = shape[1..].iter().product();
        let mine = block_range(n, p, me);
        let mut t = DistributedTensor::<T>::new(ctx, &shape).unwrap();
        let mut lshape = shape.clone();
        lshape[0] = mine.len();
        check_eq!(t.shape(), &shape[..], "{shape:?}: shape");
        check_eq!(t.ndim(), shape.len(), "{shape:?}: ndim");
        check_eq!(t.global_size(), n * rl, "{shape:?}: global_size");
        check_eq!(t.local_shape(), lshape, "{shape:?}: local_shape");
        check_eq!(t.local_size(), mine.len() * rl, "{shape:?}: local_size");
        check_eq!(t.local_offset(), mine.start, "{shape:?}: local_offset");
        let lo = t.partition().local_offset(me);
        check_eq!(lo..lo + t.partition().local_size(me), mine.clone(), "{shape:?}: partition range");
        for row in 0..n + 2 {
            match block_owner(n, p, row) {
                Some(o) => check_eq!(t.owner(row), Ok(o), "{shape:?}: owner({row})"),
                None => check!(matches!(t.owner(row), Err(Error::Bounds(_))), "{shape:?}: owner({row})"),
            }
            check_eq!(t.is_local(row), mine.contains(&row), "{shape:?}: is_local({row})");
        }
        check_eq!(t.local_view().shape(), &lshape[..], "{shape:?}: local_view shape");
        check!(t.local_view().iter().all(|&x| x == T::from_f64(0.0)), "{shape:?}: new() is zero");
        // Write f(global multi-index) through the writable view.
        let off = mine.start;
        for (idx, x) in t.local_view_mut().indexed_iter_mut() {
            let mut g = idx.slice().to_vec();
            g[0] += off;
            *x = w(flat(&g, &shape) + 1);
        }
        let expected = expected_tensor::<T>(&shape);
        let my_rows = rows(&expected, mine.clone());
        check_eq!(t.local_view().to_owned(), my_rows, "{shape:?}: local_view after writing");
        check_eq!(t.local(), my_rows.as_slice().unwrap(), "{shape:?}: local() is the row-major block");
        for root in roots(ctx) {
            let got = t.gather(root).unwrap();
            check_eq!(got, if me == root { Some(expected.clone()) } else { None }, "{shape:?}: gather({root})");
        }
        check_eq!(t.gather_all().unwrap(), expected, "{shape:?}: gather_all");
        // Writes through local_mut() land in the same places.
        for (l, x) in t.local_mut().iter_mut().enumerate() {
            *x = w(off * rl + l + 2);
        }
        let shifted = ArrayD::from_shape_fn(IxDyn(&shape), |idx| w::<T>(flat(idx.slice(), &shape) + 2));
        check_eq!(t.gather_all().unwrap(), shifted, "{shape:?}: gather_all after local_mut writes");
        t.fill(w(9));
        check_eq!(t.gather_all().unwrap(), ArrayD::from_elem(IxDyn(&shape), w::<T>(9)), "{shape:?}: fill");
        let t2 = DistributedTensor::<T>::with_value(ctx, &shape, w(4)).unwrap();
        check_eq!(t2.local_view().to_owned(), ArrayD::from_elem(IxDyn(&lshape), w::<T>(4)), "{shape:?}: with_value");
    }
    // 1-D tensors too.
    let t = DistributedTensor::<T>::with_value(ctx, &[p + 3], w(1)).unwrap();
    check_eq!(t.local_shape(), vec![block_sizes(p + 3, p)[me]], "1-D local_shape");
}

fn t_tensor_scatter<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for shape in tensor_shapes(ctx) {
        let expected = expected_tensor::<T>(&shape);
        let mine = block_range(shape[0], p, me);
        for root in roots(ctx) {
            let data = if me == root { Some(expected.view()) } else { None };
            let t = DistributedTensor::scatter_from(ctx, data, root).unwrap();
            check_eq!(t.shape(), &shape[..], "{shape:?}: scatter_from({root}) shape on every rank");
            check_eq!(t.local_view().to_owned(), rows(&expected, mine.clone()), "{shape:?}: scatter_from({root})");
        }
        // A non-standard layout on the root: the transpose of a [rest.., n] array.
        if shape.len() == 2 {
            let n = shape[0];
            let base = ArrayD::from_shape_fn(IxDyn(&[shape[1], n]), |idx| w::<T>(flat(&[idx[1], idx[0]], &shape) + 1));
            let tv: ArrayViewD<'_, T> = base.t();
            let root = p - 1;
            let t = DistributedTensor::scatter_from(ctx, if me == root { Some(tv) } else { None }, root).unwrap();
            check_eq!(
                t.local_view().to_owned(),
                rows(&expected, mine.clone()),
                "{shape:?}: scatter of a transposed view"
            );
        }
    }
}

fn t_tensor_halo<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let mut shapes = tensor_shapes(ctx);
    shapes.push(vec![2 * p + 1, 1]);
    for shape in shapes {
        let n = shape[0];
        let expected = expected_tensor::<T>(&shape);
        let mine = block_range(n, p, me);
        let t = tensor_with_rows(ctx, &shape, &expected, mine.clone());
        for width in [0usize, 1, 2, 3] {
            let (lo, hi) = if mine.is_empty() {
                (0..0, 0..0)
            } else {
                (mine.start.saturating_sub(width)..mine.start, mine.end..(mine.end + width).min(n))
            };
            let h = t.halo_exchange(width).unwrap();
            check_eq!(h.width, width, "{shape:?} w={width}: halo width");
            check_eq!(h.lower, rows(&expected, lo.clone()), "{shape:?} w={width}: lower halo (rows {lo:?})");
            check_eq!(h.upper, rows(&expected, hi.clone()), "{shape:?} w={width}: upper halo (rows {hi:?})");
            let full = t.local_with_halo(width).unwrap();
            let want = if mine.is_empty() { rows(&expected, 0..0) } else { rows(&expected, lo.start..hi.end) };
            check_eq!(full, want, "{shape:?} w={width}: local_with_halo");
        }
    }
}

/// A tensor of `shape` whose local block is set (through `local_view_mut`)
/// to rows `mine` of `expected`.
fn tensor_with_rows<T: Ty>(
    ctx: &Context,
    shape: &[usize],
    expected: &ArrayD<T>,
    mine: Range<usize>,
) -> DistributedTensor<T> {
    let mut t = DistributedTensor::<T>::new(ctx, shape).unwrap();
    t.local_view_mut().assign(&rows(expected, mine));
    t
}

// ------------------------------------------------------------------ partition policies

/// A partition policy under test. Its spec depends on `(n, p)` for the
/// weighted ones; [`Pol::owned`] is the brute-force model of who holds what.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pol {
    Block,
    Cyclic,
    BlockCyclic(usize),
    /// Weighted counts, uneven and with an empty rank (see [`uneven_counts`]).
    Counts,
    /// Weighted counts, everything on the last rank.
    CountsLast,
    /// Weighted fractions in eighths (exact in binary floating point).
    Fractions,
    Replicated,
}

const POLS: [Pol; 9] = [
    Pol::Block,
    Pol::Cyclic,
    Pol::BlockCyclic(1),
    Pol::BlockCyclic(2),
    Pol::BlockCyclic(5),
    Pol::Counts,
    Pol::CountsLast,
    Pol::Fractions,
    Pol::Replicated,
];

/// Weighted counts for `n` over `p` ranks in proportion 2 : 3 : 0 : 1 (cycling),
/// rounded down, the leftover to rank 0: uneven, with an empty rank from p = 3.
fn uneven_counts(n: usize, p: usize) -> Vec<usize> {
    const PAT: [usize; 4] = [2, 3, 0, 1];
    let wsum: usize = (0..p).map(|r| PAT[r % 4]).sum();
    let mut c: Vec<usize> = (0..p).map(|r| n * PAT[r % 4] / wsum).collect();
    c[0] += n - c.iter().sum::<usize>();
    c
}

/// Per-rank weights in eighths (sum 8), with a zero from p = 3.
fn eighths(p: usize) -> Vec<u64> {
    match p {
        1 => vec![8],
        2 => vec![6, 2],
        3 => vec![2, 0, 6],
        4 => vec![1, 4, 0, 3],
        _ => (0..p).map(|r| if r == 0 { 8 } else { 0 }).collect(),
    }
}

/// Largest-remainder apportionment of `n` in proportion to `w`, in exact
/// integer arithmetic: every rank gets the floor of its share, then the
/// ranks with the largest remainders one more each, ties to the lowest rank.
fn apportion(w: &[u64], n: usize) -> Vec<usize> {
    let total: u64 = w.iter().sum();
    let n64 = n as u64;
    let mut c: Vec<usize> = w.iter().map(|&x| (x * n64 / total) as usize).collect();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by_key(|&r| (std::cmp::Reverse(w[r] * n64 % total), r));
    let left = n - c.iter().sum::<usize>();
    for &r in &order[..left] {
        c[r] += 1;
    }
    c
}

/// Consecutive ranges of the given lengths, as index lists.
fn runs(counts: &[usize]) -> Vec<Vec<usize>> {
    let mut at = 0;
    counts
        .iter()
        .map(|&k| {
            at += k;
            (at - k..at).collect()
        })
        .collect()
}

impl Pol {
    fn spec(self, n: usize, p: usize) -> PartitionSpec {
        match self {
            Pol::Block => PartitionSpec::Block,
            Pol::Cyclic => PartitionSpec::Cyclic,
            Pol::BlockCyclic(b) => PartitionSpec::BlockCyclic(b),
            Pol::Counts | Pol::CountsLast => PartitionSpec::Weighted(Weights::Counts(self.counts(n, p))),
            Pol::Fractions => {
                PartitionSpec::Weighted(Weights::Fractions(eighths(p).iter().map(|&e| e as f64 / 8.0).collect()))
            }
            Pol::Replicated => PartitionSpec::Replicated,
        }
    }

    /// Per-rank counts of the weighted policies.
    fn counts(self, n: usize, p: usize) -> Vec<usize> {
        match self {
            Pol::Counts => uneven_counts(n, p),
            Pol::CountsLast => (0..p).map(|r| if r == p - 1 { n } else { 0 }).collect(),
            Pol::Fractions => apportion(&eighths(p), n),
            _ => unreachable!("not a weighted policy"),
        }
    }

    fn kind(self) -> PartitionKind {
        match self {
            Pol::Block => PartitionKind::Block,
            Pol::Cyclic => PartitionKind::Cyclic,
            Pol::BlockCyclic(_) => PartitionKind::BlockCyclic,
            Pol::Counts | Pol::CountsLast | Pol::Fractions => PartitionKind::Weighted,
            Pol::Replicated => PartitionKind::Replicated,
        }
    }

    /// Each rank's part is one contiguous global range.
    fn contiguous(self) -> bool {
        matches!(self, Pol::Block | Pol::Counts | Pol::CountsLast | Pol::Fractions)
    }

    /// The global indices every rank holds, in local order, dealt out by
    /// brute force as the policy is described.
    fn owned(self, n: usize, p: usize) -> Vec<Vec<usize>> {
        match self {
            Pol::Block => runs(&block_sizes(n, p)),
            Pol::Cyclic => (0..p).map(|r| (0..n).filter(|i| i % p == r).collect()).collect(),
            Pol::BlockCyclic(b) => (0..p).map(|r| (0..n).filter(|i| (i / b) % p == r).collect()).collect(),
            Pol::Counts | Pol::CountsLast | Pol::Fractions => runs(&self.counts(n, p)),
            Pol::Replicated => vec![(0..n).collect(); p],
        }
    }
}

/// Global sizes for the policy tests.
fn psizes(ctx: &Context) -> Vec<usize> {
    let p = ctx.size();
    let mut v = vec![0, 1, p - 1, p + 1, 7, 40];
    v.sort_unstable();
    v.dedup();
    v
}

/// The value the policy tests store at global index `g` (with a salt).
fn gv<T: Ty>(g: usize, salt: usize) -> T {
    w(g * 3 + salt)
}

fn gvs<T: Ty>(idx: &[usize], salt: usize) -> Vec<T> {
    idx.iter().map(|&g| gv(g, salt)).collect()
}

/// Writes `gv(g, salt)` for the model's indices of this rank into `local`
/// (never panics on a length mismatch, so every rank keeps taking part in
/// the collectives; the length itself is checked elsewhere).
fn write_model<T: Ty>(local: &mut [T], mine: &[usize], salt: usize) {
    for (l, x) in local.iter_mut().enumerate() {
        *x = gv(mine.get(l).copied().unwrap_or(1000), salt);
    }
}

/// Every partition query of a 1-D container against the model `owned`.
fn check_1d<T: Ty>(what: &str, v: &Distributed1D<T>, kind: PartitionKind, owned: &[Vec<usize>], contiguous: bool) {
    let ctx = v.context();
    let (me, p) = (ctx.rank(), ctx.size());
    let n = v.global_size();
    let part = v.partition();
    let replicated = kind == PartitionKind::Replicated;
    check_eq!(v.partition_kind(), kind, "{what}: partition_kind");
    check_eq!(part.num_ranks(), p, "{what}: num_ranks");
    check_eq!(v.local_size(), owned[me].len(), "{what}: local_size");
    // is_contiguous: true for block, weighted and replicated, and never
    // claimed for a layout whose parts are not consecutive ranges.
    if matches!(kind, PartitionKind::Block | PartitionKind::Weighted | PartitionKind::Replicated) {
        check!(part.is_contiguous(), "{what}: is_contiguous");
    }
    if part.is_contiguous() {
        check!(
            owned.iter().all(|o| o.windows(2).all(|x| x[1] == x[0] + 1)),
            "{what}: is_contiguous but a part has gaps"
        );
    }
    for r in 0..p {
        check_eq!(part.local_size(r), owned[r].len(), "{what}: local_size({r})");
        check_eq!(part.local_indices(r).collect::<Vec<_>>(), owned[r], "{what}: local_indices({r})");
        let off = match owned[r].first() {
            Some(&g) => g,
            None if contiguous => owned[..r].iter().map(Vec::len).sum(),
            None => n,
        };
        check_eq!(part.local_offset(r), off, "{what}: local_offset({r})");
        for (l, &g) in owned[r].iter().enumerate() {
            check_eq!(part.local_to_global(r, l), Ok(g), "{what}: local_to_global({r}, {l})");
        }
        check!(part.local_to_global(r, owned[r].len()).is_err(), "{what}: local_to_global({r}) past the end");
    }
    check_eq!(v.local_offset(), part.local_offset(me), "{what}: local_offset");
    let mine = &owned[me];
    for g in 0..n + 2 {
        let holders: Vec<usize> = (0..p).filter(|&r| owned[r].contains(&g)).collect();
        if g >= n {
            check!(matches!(v.owner(g), Err(Error::Bounds(_))), "{what}: owner({g}) out of range");
            check!(!v.is_local(g), "{what}: is_local({g}) out of range");
            check_eq!(v.to_local(g), None, "{what}: to_local({g}) out of range");
            continue;
        }
        check_eq!(holders.len(), if replicated { p } else { 1 }, "{what}: model holders of {g}");
        let want = if replicated { 0 } else { holders[0] };
        check_eq!(v.owner(g), Ok(want), "{what}: owner({g})");
        check_eq!(v.is_local(g), holders.contains(&me), "{what}: is_local({g})");
        check_eq!(v.to_local(g), mine.iter().position(|&x| x == g), "{what}: to_local({g})");
        if !replicated {
            let l = owned[want].iter().position(|&x| x == g).unwrap_or(usize::MAX);
            check_eq!(part.global_to_local(g), Ok((want, l)), "{what}: global_to_local({g})");
        }
    }
    for (l, &g) in mine.iter().enumerate() {
        check_eq!(v.to_global(l), Ok(g), "{what}: to_global({l})");
    }
    check!(v.to_global(mine.len()).is_err(), "{what}: to_global past the end");
}

/// Gathers at roots 0 and size-1, and gather_all, against `global`.
fn check_gathers<T: Ty>(what: &str, v: &Distributed1D<T>, global: &[T]) {
    let me = v.context().rank();
    for root in roots(v.context()) {
        let got = v.gather(root).unwrap();
        check_eq!(got, if me == root { Some(global.to_vec()) } else { None }, "{what}: gather({root})");
    }
    check_eq!(v.gather_all().unwrap(), global, "{what}: gather_all");
}

fn t_policy_layout<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for pol in POLS {
        for n in psizes(ctx) {
            let what = format!("{pol:?} n={n}");
            let owned = pol.owned(n, p);
            let mut v = DistributedVector::<T>::with_layout(ctx, n, w(5), &pol.spec(n, p)).unwrap();
            check_1d(&what, &v, pol.kind(), &owned, pol.contiguous());
            check!(v.local().iter().all(|&x| x == w(5)), "{what}: with_layout value");
            write_model(v.local_mut(), &owned[me], 1);
            check_gathers(&what, &v, &gvs::<T>(&(0..n).collect::<Vec<_>>(), 1));
            let mut a = DistributedArray::<T>::with_layout(ctx, n, w(6), &pol.spec(n, p)).unwrap();
            check_1d(&format!("array {what}"), &a, pol.kind(), &owned, pol.contiguous());
            check_eq!(a.gather_all().unwrap(), vec![w::<T>(6); n], "array {what}: gather_all");
            write_model(a.local_mut(), &owned[me], 2);
            check_gathers(&format!("array {what}"), &a, &gvs::<T>(&(0..n).collect::<Vec<_>>(), 2));
        }
    }
}

fn t_policy_construct<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for pol in POLS {
        for n in psizes(ctx) {
            let what = format!("{pol:?} n={n}");
            let owned = pol.owned(n, p);
            let spec = pol.spec(n, p);
            let global: Vec<T> = gvs(&(0..n).collect::<Vec<_>>(), 4);
            let v = DistributedVector::from_global_with(ctx, &global, &spec).unwrap();
            check_1d(&format!("from_global {what}"), &v, pol.kind(), &owned, pol.contiguous());
            check_eq!(v.local(), &gvs::<T>(&owned[me], 4)[..], "from_global {what}: local");
            check_gathers(&format!("from_global {what}"), &v, &global);
            for root in roots(ctx) {
                // Non-root data is ignored.
                let data: Vec<T> = if me == root { global.clone() } else { ws(0..me + 2) };
                let v = DistributedVector::scatter_from_with(ctx, &data, root, &spec).unwrap();
                let what = format!("scatter_from({root}) {what}");
                check_1d(&what, &v, pol.kind(), &owned, pol.contiguous());
                check_eq!(v.local(), &gvs::<T>(&owned[me], 4)[..], "{what}: local");
                check_eq!(v.gather_all().unwrap(), global, "{what}: gather_all");
                let a = DistributedArray::scatter_from_with(ctx, &data, root, &spec).unwrap();
                check_eq!(a.local(), &gvs::<T>(&owned[me], 4)[..], "array {what}: local");
            }
        }
        // from_local_with: uneven local parts, concatenated in rank order.
        let patterns: Vec<Vec<usize>> = vec![
            (0..p).map(|r| (r * 5 + 3) % 7).collect(),
            (0..p).map(|r| if r == 0 { 9 } else { 0 }).collect(),
            (0..p).map(|r| if r == p - 1 { 11 } else { 0 }).collect(),
            (0..p).map(|r| 3 * (p - r)).collect(),
            vec![0; p],
        ];
        for lens in patterns {
            let total: usize = lens.iter().sum();
            let what = format!("from_local {pol:?} lens={lens:?}");
            let owned = pol.owned(total, p);
            let off = prefix(&lens, me);
            let local: Vec<T> = gvs(&(off..off + lens[me]).collect::<Vec<_>>(), 5);
            let v = DistributedVector::from_local_with(ctx, local.clone(), &pol.spec(total, p)).unwrap();
            check_1d(&what, &v, pol.kind(), &owned, pol.contiguous());
            check_eq!(v.local(), &gvs::<T>(&owned[me], 5)[..], "{what}: local");
            check_eq!(v.gather_all().unwrap(), gvs::<T>(&(0..total).collect::<Vec<_>>(), 5), "{what}: gather_all");
            let a = DistributedArray::from_local_with(ctx, local, &pol.spec(total, p)).unwrap();
            check_eq!(a.local(), &gvs::<T>(&owned[me], 5)[..], "array {what}: local");
        }
    }
}

fn t_policy_resize<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for pol in POLS {
        // The model's layout at size n: weighted policies keep their counts
        // as proportions (`counts`); with no element left they fall back to
        // block.
        let layout = |counts: &Option<Vec<usize>>, n: usize| match counts {
            Some(c) => (PartitionKind::Weighted, runs(c), true),
            None if pol.kind() == PartitionKind::Weighted => (PartitionKind::Block, Pol::Block.owned(n, p), true),
            None => (pol.kind(), pol.owned(n, p), pol.contiguous()),
        };
        // 8 elements: the fractions (eighths) are exact counts at the start.
        let n0 = 8;
        let mut v = DistributedVector::<T>::with_layout(ctx, n0, w(0), &pol.spec(n0, p)).unwrap();
        let mut model: Vec<T> = vec![w(0); n0];
        let mut counts: Option<Vec<usize>> = (pol.kind() == PartitionKind::Weighted).then(|| pol.counts(n0, p));
        let steps = [n0 + p + 3, 2, 3, 40, 7, 7, p + 1, 0, 5, 1, 0];
        for (k, &n) in steps.iter().enumerate() {
            // Fresh values before each resize, so moved data is distinguishable.
            let (_, owned, _) = layout(&counts, model.len());
            write_model(v.local_mut(), &owned[me], k);
            for (g, x) in model.iter_mut().enumerate() {
                *x = gv(g, k);
            }
            let old = model.len();
            let fill: T = w(100 + k);
            if k % 3 == 2 {
                v.resize(n).unwrap();
                model.resize(n, T::from_f64(0.0));
            } else {
                v.resize_with(n, fill).unwrap();
                model.resize(n, fill);
            }
            counts = match counts.take() {
                Some(c) if c.iter().sum::<usize>() > 0 => {
                    Some(apportion(&c.iter().map(|&x| x as u64).collect::<Vec<_>>(), n))
                }
                _ => None,
            };
            let (kind, owned, contiguous) = layout(&counts, n);
            let what = format!("{pol:?} step {k} ({old} -> {n})");
            check_eq!(v.global_size(), n, "{what}: global_size");
            check_1d(&what, &v, kind, &owned, contiguous);
            let want: Vec<T> = owned[me].iter().map(|&g| model[g]).collect();
            check_eq!(v.local(), &want[..], "{what}: local");
            check_eq!(v.gather_all().unwrap(), model, "{what}: gather_all");
        }
    }
}

fn t_policy_redistribute<T: Ty>(ctx: &Context) {
    policy_redistribute::<T>(ctx, &psizes(ctx));
}

/// Every policy pair again at sizes with many runs of every length and an
/// uneven tail (redistribute packs and unpacks in runs and strides: block
/// to cyclic is a strided gather, cyclic to block a strided scatter), and
/// resizes across them.
fn t_policy_redistribute_long<T: Ty>(ctx: &Context) {
    let p = ctx.size();
    policy_redistribute::<T>(ctx, &[5 * p * 7 + 3, 1000 + p]);
    for pol in POLS {
        if pol.kind() == PartitionKind::Weighted {
            continue; // resizing weighted layouts re-apportions: t_policy_resize
        }
        let mut n = 3 * p * 5 + 2;
        let mut v = DistributedVector::<T>::with_layout(ctx, n, w(0), &pol.spec(n, p)).unwrap();
        for next in [n + 4 * p + 1, 11 * p + 3, 2, 6 * p + 5, 0, 5 * p + 1] {
            let owned = pol.owned(n, p);
            write_model(v.local_mut(), &owned[ctx.rank()], 9);
            let mut model: Vec<T> = (0..n).map(|g| gv(g, 9)).collect();
            model.resize(next, w(77));
            v.resize_with(next, w(77)).unwrap();
            let what = format!("{pol:?} resize {n} -> {next}");
            let owned = pol.owned(next, p);
            check_1d(&what, &v, pol.kind(), &owned, pol.contiguous());
            let want: Vec<T> = owned[ctx.rank()].iter().map(|&g| model[g]).collect();
            check_eq!(v.local(), &want[..], "{what}: local");
            n = next;
        }
    }
}

fn policy_redistribute<T: Ty>(ctx: &Context, sizes: &[usize]) {
    let (me, p) = (ctx.rank(), ctx.size());
    for &n in sizes {
        let global: Vec<T> = gvs(&(0..n).collect::<Vec<_>>(), 7);
        for from in POLS {
            for to in POLS {
                let what = format!("n={n} {from:?} -> {to:?}");
                let mut v = DistributedVector::from_global_with(ctx, &global, &from.spec(n, p)).unwrap();
                v.redistribute(&to.spec(n, p)).unwrap();
                let owned = to.owned(n, p);
                check_1d(&what, &v, to.kind(), &owned, to.contiguous());
                check_eq!(v.local(), &gvs::<T>(&owned[me], 7)[..], "{what}: local");
                check_eq!(v.gather_all().unwrap(), global, "{what}: gather_all");
            }
        }
        // A chain through every policy, on an array.
        let mut a = DistributedArray::from_global_with(ctx, &global, &PartitionSpec::Block).unwrap();
        for to in POLS.iter().rev().chain(POLS.iter()) {
            a.redistribute(&to.spec(n, p)).unwrap();
            let owned = to.owned(n, p);
            check_eq!(a.local(), &gvs::<T>(&owned[me], 7)[..], "n={n} array chain -> {to:?}: local");
        }
        check_gathers(&format!("n={n} array chain"), &a, &global);
    }
}

/// `a` restricted to the indices `idx` along `axis` (in that order).
fn select_along<T: Ty>(a: &ArrayD<T>, axis: usize, idx: &[usize]) -> ArrayD<T> {
    let mut shape = a.shape().to_vec();
    shape[axis] = idx.len();
    ArrayD::from_shape_fn(IxDyn(&shape), |i| {
        let mut j = i.slice().to_vec();
        j[axis] = idx[j[axis]];
        a[IxDyn(&j)]
    })
}

/// A tensor's layout queries and local block against the model.
fn check_tensor<T: Ty>(what: &str, t: &DistributedTensor<T>, pol: Pol, axis: usize, expected: &ArrayD<T>) {
    let ctx = t.context();
    let (me, p) = (ctx.rank(), ctx.size());
    let shape = expected.shape();
    let n = shape[axis];
    let owned = pol.owned(n, p);
    check_eq!(t.shape(), shape, "{what}: shape");
    check_eq!(t.split_axis(), axis, "{what}: split_axis");
    check_eq!(t.partition().kind(), pol.kind(), "{what}: partition kind");
    let mut ls = shape.to_vec();
    ls[axis] = owned[me].len();
    check_eq!(t.local_shape(), ls, "{what}: local_shape");
    check_eq!(t.local_size(), ls.iter().product::<usize>(), "{what}: local_size");
    for (r, o) in owned.iter().enumerate() {
        check_eq!(t.partition().local_indices(r).collect::<Vec<_>>(), *o, "{what}: local_indices({r})");
    }
    if let Some(&first) = owned[me].first() {
        check_eq!(t.local_offset(), first, "{what}: local_offset");
    }
    for i in 0..n + 1 {
        let holders: Vec<usize> = (0..p).filter(|&r| owned[r].contains(&i)).collect();
        match holders.first() {
            Some(&o) => {
                let want = if pol == Pol::Replicated { 0 } else { o };
                check_eq!(t.owner(i), Ok(want), "{what}: owner({i})");
            }
            None => check!(matches!(t.owner(i), Err(Error::Bounds(_))), "{what}: owner({i}) out of range"),
        }
        check_eq!(t.is_local(i), holders.contains(&me), "{what}: is_local({i})");
    }
    let want: Vec<T> = select_along(expected, axis, &owned[me]).iter().copied().collect();
    check_eq!(t.local(), &want[..], "{what}: local block");
}

/// Sets a tensor's local block to the model's slices of `expected` (no
/// panic on a length mismatch).
fn write_tensor_model<T: Ty>(t: &mut DistributedTensor<T>, pol: Pol, expected: &ArrayD<T>) {
    let (me, p) = (t.context().rank(), t.context().size());
    let axis = t.split_axis();
    let owned = pol.owned(expected.shape()[axis], p);
    let src = select_along(expected, axis, &owned[me]);
    for (x, y) in t.local_mut().iter_mut().zip(src.iter()) {
        *x = *y;
    }
}

fn policy_tensor_shapes(ctx: &Context) -> Vec<Vec<usize>> {
    let p = ctx.size();
    vec![vec![5, 4, 3], vec![7, 2], vec![2, 0, 3], vec![p + 1, 2]]
}

fn t_policy_tensor<T: Ty>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for shape in policy_tensor_shapes(ctx) {
        let expected = expected_tensor::<T>(&shape);
        for axis in 0..shape.len() {
            for pol in POLS {
                let n = shape[axis];
                let spec = pol.spec(n, p);
                let what = format!("{shape:?} axis {axis} {pol:?}");
                let mut t = DistributedTensor::<T>::with_layout(ctx, &shape, w(3), axis, &spec).unwrap();
                check!(t.local().iter().all(|&x| x == w(3)), "{what}: with_layout value");
                write_tensor_model(&mut t, pol, &expected);
                check_tensor(&what, &t, pol, axis, &expected);
                check_eq!(t.local_view().shape(), &t.local_shape()[..], "{what}: local_view shape");
                for root in roots(ctx) {
                    let got = t.gather(root).unwrap();
                    check_eq!(got, if me == root { Some(expected.clone()) } else { None }, "{what}: gather({root})");
                }
                check_eq!(t.gather_all().unwrap(), expected, "{what}: gather_all");
                for root in roots(ctx) {
                    let data = if me == root { Some(expected.view()) } else { None };
                    let t = DistributedTensor::scatter_from_with(ctx, data, root, axis, &spec).unwrap();
                    check_tensor(&format!("scatter_from({root}) {what}"), &t, pol, axis, &expected);
                }
            }
        }
    }
}

fn t_policy_tensor_redistribute<T: Ty>(ctx: &Context) {
    let p = ctx.size();
    for shape in [vec![5, 4, 3], vec![7, 2]] {
        let expected = expected_tensor::<T>(&shape);
        for from_axis in 0..shape.len() {
            for from in POLS {
                for to_axis in 0..shape.len() {
                    for to in POLS {
                        let what = format!("{shape:?} {from:?}@{from_axis} -> {to:?}@{to_axis}");
                        let spec = from.spec(shape[from_axis], p);
                        let mut t = DistributedTensor::<T>::with_layout(ctx, &shape, w(0), from_axis, &spec).unwrap();
                        write_tensor_model(&mut t, from, &expected);
                        t.redistribute(to_axis, &to.spec(shape[to_axis], p)).unwrap();
                        check_tensor(&what, &t, to, to_axis, &expected);
                        check_eq!(t.gather_all().unwrap(), expected, "{what}: gather_all");
                    }
                }
            }
        }
    }
}

fn t_policy_halo(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let shape = [9usize, 2];
    let expected = expected_tensor::<f64>(&shape);
    for pol in [Pol::Block, Pol::Counts, Pol::CountsLast, Pol::Fractions] {
        let owned = pol.owned(9, p);
        let mut t = DistributedTensor::<f64>::with_layout(ctx, &shape, 0.0, 0, &pol.spec(9, p)).unwrap();
        write_tensor_model(&mut t, pol, &expected);
        let mine = owned[me].first().map_or(0..0, |&a| a..a + owned[me].len());
        for width in [0usize, 1, 2, 4] {
            let (lo, hi) = if mine.is_empty() {
                (0..0, 0..0)
            } else {
                (mine.start.saturating_sub(width)..mine.start, mine.end..(mine.end + width).min(9))
            };
            let h = t.halo_exchange(width).unwrap();
            check_eq!(h.lower, rows(&expected, lo.clone()), "{pol:?} w={width}: lower halo (rows {lo:?})");
            check_eq!(h.upper, rows(&expected, hi.clone()), "{pol:?} w={width}: upper halo (rows {hi:?})");
        }
    }
    // Not a contiguous axis-0 split: refused on every rank.
    let mut refused = vec![(Pol::Replicated, 0), (Pol::Block, 1)];
    if p > 1 {
        refused.push((Pol::Cyclic, 0));
    }
    for (pol, axis) in refused {
        let t = DistributedTensor::<f64>::with_layout(ctx, &shape, 0.0, axis, &pol.spec(shape[axis], p)).unwrap();
        check_err!(t.halo_exchange(1), Error::NotSupported(_), "halo_exchange on {pol:?} along axis {axis}");
    }
}

/// Invalid partition arguments that every rank passes alike: the same
/// error everywhere, and nothing changes.
fn t_err_partition_args(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let bc0 = PartitionSpec::BlockCyclic(0);
    let short = PartitionSpec::Weighted(Weights::Counts(vec![1; p])); // sums to p, not 10
    let long = PartitionSpec::Weighted(Weights::Counts(vec![10; p + 1])); // one entry too many
    let half = PartitionSpec::Weighted(Weights::Fractions(vec![0.5 / p as f64; p])); // sums to 0.5
    let neg = PartitionSpec::Weighted(Weights::Fractions(
        (0..p).map(|r| if r == 0 { 2.0 } else { -1.0 / (p - 1) as f64 }).collect(),
    ));
    let global: Vec<f64> = (0..10).map(|g| g as f64).collect();
    let mut bad = vec![
        ("block_size 0", bc0),
        ("counts summing to p", short),
        ("p+1 counts", long),
        ("fractions summing to 0.5", half),
    ];
    if p > 1 {
        bad.push(("negative fraction", neg));
    }
    for (what, spec) in &bad {
        check_err_same!(
            ctx,
            DistributedVector::<f64>::with_layout(ctx, 10, 0.0, spec),
            Error::InvalidArgument(_),
            "with_layout {what}"
        );
        check_err_same!(
            ctx,
            DistributedArray::<f64>::with_layout(ctx, 10, 0.0, spec),
            Error::InvalidArgument(_),
            "array with_layout {what}"
        );
        check_err_same!(
            ctx,
            DistributedVector::from_global_with(ctx, &global, spec),
            Error::InvalidArgument(_),
            "from_global_with {what}"
        );
        let local = if me == 0 { global.clone() } else { Vec::new() };
        check_err_same!(
            ctx,
            DistributedVector::from_local_with(ctx, local, spec),
            Error::InvalidArgument(_),
            "from_local_with {what}"
        );
        for root in roots(ctx) {
            check_err_same!(
                ctx,
                DistributedVector::scatter_from_with(ctx, &global, root, spec),
                Error::InvalidArgument(_),
                "scatter_from_with({root}) {what}"
            );
        }
        let mut v = DistributedVector::from_global_with(ctx, &global, &PartitionSpec::Cyclic).unwrap();
        check_err_same!(ctx, v.redistribute(spec), Error::InvalidArgument(_), "redistribute {what}");
        check_eq!(v.partition_kind(), PartitionKind::Cyclic, "a failed redistribute leaves the layout");
        check_eq!(v.gather_all().unwrap(), global, "a failed redistribute leaves the data");
        check_err_same!(
            ctx,
            DistributedTensor::<f64>::with_layout(ctx, &[10, 2], 0.0, 0, spec),
            Error::InvalidArgument(_),
            "tensor with_layout {what}"
        );
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 10]), |i| (i[0] * 10 + i[1]) as f64);
        check_err_same!(
            ctx,
            DistributedTensor::scatter_from_with(ctx, (me == 0).then(|| a.view()), 0, 1, spec),
            Error::InvalidArgument(_),
            "tensor scatter_from_with {what}"
        );
        let mut t = DistributedTensor::<f64>::with_layout(ctx, &[3, 10], 1.0, 0, &PartitionSpec::Block).unwrap();
        check_err_same!(ctx, t.redistribute(1, spec), Error::InvalidArgument(_), "tensor redistribute {what}");
        check_eq!(t.split_axis(), 0, "a failed tensor redistribute leaves the axis");
    }
    // HASH is for maps: no spec for index containers.
    check_err!(PartitionSpec::from_kind(PartitionKind::Hash, None, None), Error::InvalidArgument(_), "from_kind(HASH)");
    check_err!(
        PartitionSpec::from_kind(PartitionKind::BlockCyclic, Some(0), None),
        Error::InvalidArgument(_),
        "from_kind block_size 0"
    );
    check_err!(
        PartitionSpec::from_kind(PartitionKind::Cyclic, Some(2), None),
        Error::InvalidArgument(_),
        "from_kind cyclic with block_size"
    );
    // axis >= ndim.
    let a = ArrayD::<f64>::zeros(IxDyn(&[4, 3]));
    for axis in [2usize, 7] {
        check_err_same!(
            ctx,
            DistributedTensor::<f64>::with_layout(ctx, &[4, 3], 0.0, axis, &PartitionSpec::Block),
            Error::InvalidArgument(_),
            "with_layout axis {axis}"
        );
        check_err_same!(
            ctx,
            DistributedTensor::scatter_from_with(
                ctx,
                (me == p - 1).then(|| a.view()),
                p - 1,
                axis,
                &PartitionSpec::Cyclic
            ),
            Error::InvalidArgument(_),
            "scatter_from_with axis {axis}"
        );
        let mut t = DistributedTensor::<f64>::with_layout(ctx, &[4, 3], 2.0, 1, &PartitionSpec::Cyclic).unwrap();
        check_err_same!(
            ctx,
            t.redistribute(axis, &PartitionSpec::Block),
            Error::InvalidArgument(_),
            "redistribute axis {axis}"
        );
        check_eq!(t.split_axis(), 1, "a failed redistribute leaves the axis");
        check_eq!(
            t.gather_all().unwrap(),
            ArrayD::from_elem(IxDyn(&[4, 3]), 2.0),
            "a failed redistribute leaves the data"
        );
    }
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

/// Ranks that pass different specs (or one rank an invalid one): the same
/// kind of error on every rank, never a hang.
fn t_err_partition_mismatch(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    if p == 1 {
        return;
    }
    let n = 12;
    let counts_a: Vec<usize> = block_sizes(n, p);
    let mut counts_b = counts_a.clone();
    counts_b[0] += counts_b[p - 1];
    counts_b[p - 1] = 0;
    let pick = |a: PartitionSpec, b: PartitionSpec| if me == p - 1 { b } else { a };
    let cases: Vec<(&str, PartitionSpec)> = vec![
        ("kinds", pick(PartitionSpec::Block, PartitionSpec::Cyclic)),
        ("block sizes", pick(PartitionSpec::BlockCyclic(2), PartitionSpec::BlockCyclic(3))),
        (
            "weight counts",
            pick(
                PartitionSpec::Weighted(Weights::Counts(counts_a.clone())),
                PartitionSpec::Weighted(Weights::Counts(counts_b.clone())),
            ),
        ),
        (
            "counts vs fractions",
            pick(
                PartitionSpec::Weighted(Weights::Counts(counts_a.clone())),
                PartitionSpec::Weighted(Weights::Fractions(vec![1.0 / p as f64; p])),
            ),
        ),
        ("replicated vs block", pick(PartitionSpec::Replicated, PartitionSpec::Block)),
    ];
    let global: Vec<i32> = (0..n as i32).collect();
    let arr = ArrayD::from_shape_fn(IxDyn(&[n, 2]), |i| (i[0] * 2 + i[1]) as i32);
    for (what, spec) in &cases {
        check_err_same!(
            ctx,
            DistributedVector::<i32>::with_layout(ctx, n, 0, spec),
            Error::Mismatch(_),
            "with_layout {what}"
        );
        check_err_same!(
            ctx,
            DistributedVector::from_global_with(ctx, &global, spec),
            Error::Mismatch(_),
            "from_global_with {what}"
        );
        let local: Vec<i32> = global[block_range(n, p, me)].to_vec();
        check_err_same!(
            ctx,
            DistributedVector::from_local_with(ctx, local, spec),
            Error::Mismatch(_),
            "from_local_with {what}"
        );
        check_err_same!(
            ctx,
            DistributedVector::scatter_from_with(ctx, &global, 0, spec),
            Error::Mismatch(_),
            "scatter_from_with {what}"
        );
        let mut v = DistributedVector::from_global(ctx, &global).unwrap();
        check_err_same!(ctx, v.redistribute(spec), Error::Mismatch(_), "redistribute {what}");
        check_eq!(v.partition_kind(), PartitionKind::Block, "a failed redistribute leaves the layout");
        check_eq!(v.gather_all().unwrap(), global, "a failed redistribute leaves the data");
        check_err_same!(
            ctx,
            DistributedTensor::<i32>::with_layout(ctx, &[n, 2], 0, 0, spec),
            Error::Mismatch(_),
            "tensor with_layout {what}"
        );
        check_err_same!(
            ctx,
            DistributedTensor::scatter_from_with(ctx, (me == 0).then(|| arr.view()), 0, 0, spec),
            Error::Mismatch(_),
            "tensor scatter_from_with {what}"
        );
        let mut t = DistributedTensor::<i32>::with_layout(ctx, &[n, 2], 1, 1, &PartitionSpec::Block).unwrap();
        check_err_same!(ctx, t.redistribute(0, spec), Error::Mismatch(_), "tensor redistribute {what}");
        check_eq!(
            (t.split_axis(), t.partition().kind()),
            (1, PartitionKind::Block),
            "a failed tensor redistribute leaves the layout"
        );
    }
    // Different axes.
    let axis = me % 2;
    check_err_same!(
        ctx,
        DistributedTensor::<i32>::with_layout(ctx, &[n, 2], 0, axis, &PartitionSpec::Block),
        Error::Mismatch(_),
        "tensor with_layout axes"
    );
    check_err_same!(
        ctx,
        DistributedTensor::scatter_from_with(ctx, (me == 0).then(|| arr.view()), 0, axis, &PartitionSpec::Block),
        Error::Mismatch(_),
        "tensor scatter_from_with axes"
    );
    let mut t = DistributedTensor::<i32>::with_layout(ctx, &[n, 2], 1, 0, &PartitionSpec::Cyclic).unwrap();
    check_err_same!(ctx, t.redistribute(axis, &PartitionSpec::Block), Error::Mismatch(_), "tensor redistribute axes");
    // An invalid spec on the last rank only: every rank gets InvalidArgument.
    let bad = pick(PartitionSpec::BlockCyclic(2), PartitionSpec::BlockCyclic(0));
    check_err_same!(
        ctx,
        DistributedVector::<i32>::with_layout(ctx, n, 0, &bad),
        Error::InvalidArgument(_),
        "with_layout invalid on one rank"
    );
    check_err_same!(
        ctx,
        DistributedVector::from_global_with(ctx, &global, &bad),
        Error::InvalidArgument(_) | Error::Mismatch(_),
        "from_global_with invalid on one rank"
    );
    let local: Vec<i32> = global[block_range(n, p, me)].to_vec();
    check_err_same!(
        ctx,
        DistributedVector::from_local_with(ctx, local, &bad),
        Error::InvalidArgument(_) | Error::Mismatch(_),
        "from_local_with invalid on one rank"
    );
    check_err_same!(
        ctx,
        DistributedVector::scatter_from_with(ctx, &global, 0, &bad),
        Error::InvalidArgument(_),
        "scatter_from_with invalid on one rank"
    );
    let mut v = DistributedVector::from_global(ctx, &global).unwrap();
    check_err_same!(ctx, v.redistribute(&bad), Error::InvalidArgument(_), "redistribute invalid on one rank");
    check_err_same!(
        ctx,
        DistributedTensor::<i32>::with_layout(ctx, &[n, 2], 0, 0, &bad),
        Error::InvalidArgument(_),
        "tensor with_layout invalid on one rank"
    );
    check_err_same!(
        ctx,
        DistributedTensor::scatter_from_with(ctx, (me == 0).then(|| arr.view()), 0, 0, &bad),
        Error::InvalidArgument(_),
        "tensor scatter_from_with invalid on one rank"
    );
    check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), p as i32, "after the errors");
}

/// `from_layout` adopts each rank's part of any layout without moving data,
/// for vectors, arrays and tensors, and rejects a wrong part on every rank.
fn t_from_layout(ctx: &Context) {
    let size = ctx.size();
    for n in [0usize, 1, 7, 100] {
        for spec in [PartitionSpec::Block, PartitionSpec::Cyclic, PartitionSpec::BlockCyclic(3)] {
            let g: Vec<i64> = (0..n as i64).map(|i| i * i - 5).collect();
            let src = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
            let v = DistributedVector::from_layout(ctx, src.partition().clone(), src.local().to_vec()).unwrap();
            check_eq!(v.gather_all().unwrap(), g, "vector from_layout {spec:?} n={n}");
            let a = DistributedArray::from_layout(ctx, src.partition().clone(), src.local().to_vec()).unwrap();
            check_eq!(a.gather_all().unwrap(), g, "array from_layout {spec:?} n={n}");
            let mut short = src.local().to_vec();
            if ctx.rank() == size - 1 {
                short.push(1);
            }
            let r = DistributedVector::from_layout(ctx, src.partition().clone(), short);
            check_err_same!(ctx, r, Error::InvalidArgument(_), "wrong local length on the last rank");
        }
    }
    for axis in [0, 1] {
        let t = DistributedTensor::<f32>::with_layout(ctx, &[5, 4], 2.5, axis, &PartitionSpec::Cyclic).unwrap();
        let u = DistributedTensor::from_layout(ctx, &[5, 4], axis, t.partition().clone(), t.local().to_vec()).unwrap();
        check_eq!(u.local_shape(), t.local_shape(), "tensor from_layout axis {axis}");
        check_eq!(u.gather_all().unwrap(), t.gather_all().unwrap(), "tensor from_layout gathered, axis {axis}");
        let r = DistributedTensor::from_layout(ctx, &[5, 4], 2, t.partition().clone(), t.local().to_vec());
        check_err_same!(ctx, r, Error::InvalidArgument(_), "tensor axis out of range");
    }
}
