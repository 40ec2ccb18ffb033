//! Multi-rank tests of [`DistributedSpan`] / [`DistributedSpanMut`], of
//! the vectorised global access `gather_indices` / `scatter_indices` and of
//! the one-sided single-element `get` / `set`, over
//! every partition (block, cyclic, block-cyclic, weighted, replicated) and
//! sizes 0, 1, 5, 40, checked against a brute-force model of each
//! partition written here (not dtl's own index maps).
//!
//! The same tiny sequential runner as `tests/mpi.rs` (`harness = false`):
//! every test runs in a fixed order on every rank, a panic is caught, and
//! the ranks agree on each verdict with one `MPI_Allreduce(MIN)`; rank 0
//! prints `ok NAME` / `FAILED NAME: ...`, then `N passed, M failed`.
//!
//! ```text
//! cargo test --release -p dtl-core --test mpi_access                      # np = 1
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_access \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! cargo test --release -p dtl-core --test mpi_access -- span              # only names containing a word
//! ```

#[macro_use]
mod common;

use common::{fail, model, specs, Suite};

use dtl_core::partition::PartitionSpec;
use dtl_core::{
    Context, DistributedArray, DistributedSpan, DistributedSpanMut, DistributedTensor, DistributedVector, Element,
    Error, ReduceOp,
};
use ndarray::{ArrayD, Axis, IxDyn, Slice};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite { tests: Vec::new() };
    per_dtype!(s, "span::vector_every_partition", t_span_vector);
    s.add("span::array_every_partition", t_span_array);
    s.add("span::bounds_errors", t_span_bounds);
    per_dtype!(s, "span::mut_fill_and_local_mut", t_span_mut);
    s.add("span::tensor_every_axis<f64>", t_span_tensor::<f64>);
    s.add("span::tensor_every_axis<i16>", t_span_tensor::<i16>);
    s.add("span::tensor_mut<f32>", t_span_tensor_mut::<f32>);
    per_dtype!(s, "access::gather_indices", t_gather_indices);
    s.add("access::gather_indices_array_and_index_types", t_gather_index_types);
    per_dtype!(s, "access::scatter_indices", t_scatter_indices);
    s.add("access::scatter_indices_array", t_scatter_array);
    s.add("access::out_of_range_every_rank", t_err_out_of_range);
    s.add("access::out_of_range_checks_off", t_err_checks_off);
    s.add("access::scatter_length_mismatch", t_err_scatter_length);
    s.add("access::container_mismatch", t_err_container_mismatch);
    s.add("access::or_reject", t_err_or_reject);
    per_dtype!(s, "remote::get_every_partition", t_get);
    per_dtype!(s, "remote::set_every_partition", t_set);
    s.add("remote::bounds_on_calling_rank_only", t_get_set_bounds);
    s.add("remote::more_containers_than_one_window_holds", t_many_containers);
    s.add("remote::one_rank_subcontext_and_checks_off", t_get_set_subcontexts);
    s
}

// ------------------------------------------------------------------ models

const SIZES: [usize; 4] = [0, 1, 5, 40];

fn is_replicated(spec: &PartitionSpec) -> bool {
    matches!(spec, PartitionSpec::Replicated)
}

/// The value stored at global (flat) index `g`: fits every dtype.
fn val<T: Element>(g: usize) -> T {
    T::from_f64(((g * 7 + 3) % 101) as f64)
}

fn global<T: Element>(n: usize) -> Vec<T> {
    (0..n).map(val).collect()
}

/// A few windows `a..b` of `0..n`, including empty ones and the whole.
fn windows(n: usize) -> Vec<(usize, usize)> {
    let mut w = vec![(0, n), (n / 3, (n / 2 + 1).min(n)), (1.min(n), n.saturating_sub(1).max(1.min(n))), (n, n)];
    w.push((n / 2, n / 2));
    w.push((0, 1.min(n)));
    w.push((n.saturating_sub(3), n));
    w
}

fn sum_all(ctx: &Context, x: usize) -> usize {
    ctx.allreduce_scalar(x as u64, ReduceOp::Sum).expect("allreduce") as usize
}

// ------------------------------------------------------------------ spans, 1-D

/// Checks every query of `span` (the whole container of `n` elements whose
/// rank-local global indices are `mine`) and of its subspans.
fn check_span_1d<T: Element>(
    ctx: &Context,
    span: &DistributedSpan<'_, T>,
    n: usize,
    spec: &PartitionSpec,
    mine: &[usize],
    what: &str,
) {
    let all = global::<T>(n);
    check_eq!(span.len(), n, "{what}: len");
    check_eq!(span.is_empty(), n == 0, "{what}: is_empty");
    check_eq!(span.global_size(), n, "{what}: global_size");
    check_eq!(span.global_offset(), 0, "{what}: global_offset");
    check_eq!(span.rank(), ctx.rank(), "{what}: rank");
    check_eq!(span.num_ranks(), ctx.size(), "{what}: num_ranks");
    check_eq!(span.split_axis(), 0, "{what}: split_axis");
    check_eq!(span.shape(), vec![n], "{what}: shape");
    let want: Vec<T> = mine.iter().map(|&g| all[g]).collect();
    check_eq!(span.local().unwrap().to_vec(), want, "{what}: local");
    check_eq!(span.local_size(), mine.len(), "{what}: local_size");
    check_eq!(span.size_bytes(), mine.len() * std::mem::size_of::<T>(), "{what}: size_bytes (local)");
    for (a, b) in windows(n) {
        let w = format!("{what} window {a}..{b}");
        let sub = span.subspan(a, b - a).unwrap();
        let idx: Vec<usize> = mine.iter().copied().filter(|g| (a..b).contains(g)).collect();
        let want: Vec<T> = idx.iter().map(|&g| all[g]).collect();
        check_eq!(sub.local().unwrap().to_vec(), want, "{w}: local");
        check_eq!(sub.to_vec(), want, "{w}: to_vec");
        check_eq!(sub.local_view().iter().copied().collect::<Vec<T>>(), want, "{w}: local_view");
        check_eq!(sub.local_shape(), vec![idx.len()], "{w}: local_shape");
        check_eq!(sub.local_size(), idx.len(), "{w}: local_size");
        check_eq!(sub.size_bytes(), idx.len() * std::mem::size_of::<T>(), "{w}: size_bytes");
        check_eq!(sub.global_size(), b - a, "{w}: global_size");
        check_eq!(sub.global_offset(), a, "{w}: global_offset");
        check_eq!(sub.global_range(), a..b, "{w}: global_range");
        check_eq!(sub.shape(), vec![b - a], "{w}: shape");
        // The local slice lies inside the container's local data.
        let (lr, local) = (sub.local_range(), span.local().unwrap());
        check_eq!(sub.local().unwrap(), &local[lr.clone()], "{w}: local_range");
        // The same range reached by first/last.
        let fl = span.first(b).unwrap().last(b - a).unwrap();
        check_eq!((fl.global_offset(), fl.len(), fl.to_vec()), (a, b - a, want.clone()), "{w}: first/last");
        // Nested: drop one index at each end.
        if b - a >= 2 {
            let inner = sub.subspan(1, b - a - 2).unwrap();
            let want: Vec<T> = idx.iter().filter(|&&g| g > a && g + 1 < b).map(|&g| all[g]).collect();
            check_eq!(inner.to_vec(), want, "{w}: nested subspan");
            check_eq!(inner.global_offset(), a + 1, "{w}: nested offset");
        }
        // Collective: the ranks' parts add up to the span.
        let copies = if is_replicated(spec) { ctx.size() } else { 1 };
        check_eq!(sum_all(ctx, sub.local_size()), (b - a) * copies, "{w}: sum of local sizes");
    }
}

fn t_span_vector<T: Element>(ctx: &Context) {
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let v = DistributedVector::<T>::from_global_with(ctx, &global::<T>(n), &spec).unwrap();
            let mine = &model(&spec, n, ctx.size())[ctx.rank()];
            check_span_1d(ctx, &DistributedSpan::new(&v), n, &spec, mine, &format!("vector {name} n={n}"));
            // From the shared 1-D core too.
            check_span_1d(ctx, &DistributedSpan::from(&*v), n, &spec, mine, &format!("core {name} n={n}"));
        }
    }
}

fn t_span_array(ctx: &Context) {
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let a = DistributedArray::<u16>::from_global_with(ctx, &global::<u16>(n), &spec).unwrap();
            let mine = &model(&spec, n, ctx.size())[ctx.rank()];
            check_span_1d(ctx, &DistributedSpan::new(&a), n, &spec, mine, &format!("array {name} n={n}"));
        }
    }
}

fn t_span_bounds(ctx: &Context) {
    for n in SIZES {
        let v = DistributedVector::<f64>::new(ctx, n).unwrap();
        let span = DistributedSpan::new(&v);
        for (off, count) in [(n + 1, 0), (0, n + 1), (n, 1), (1, n), (usize::MAX, 2), (2, usize::MAX)] {
            match span.subspan(off, count) {
                Err(Error::Bounds(m)) => {
                    let named = m.contains(&format!("offset {off}"))
                        && m.contains(&format!("count {count}"))
                        && m.contains(&format!("0..={n}"));
                    check!(named, "n={n}: subspan({off}, {count}) message does not name offset, count and range: {m}");
                }
                other => fail(format!("n={n}: subspan({off}, {count}) gave {other:?}, expected Err(Bounds)")),
            }
        }
        check_err!(span.first(n + 1), Error::Bounds(_), "n={n}: first(n+1)");
        check_err!(span.last(n + 1), Error::Bounds(_), "n={n}: last(n+1)");
        check!(span.first(n).is_ok() && span.last(n).is_ok() && span.subspan(n, 0).is_ok(), "n={n}: edge ranges");
        if n >= 5 {
            let sub = span.subspan(1, 3).unwrap();
            check_err!(sub.subspan(2, 2), Error::Bounds(_), "n={n}: subspan beyond its parent");
            check_err!(sub.first(4), Error::Bounds(_), "n={n}: first beyond its parent");
            check!(sub.last(3).is_ok(), "n={n}: last(len)");
        }
    }
    ctx.barrier().unwrap();
}

fn t_span_mut<T: Element>(ctx: &Context) {
    let mark = T::from_f64(111.0);
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            for (a, b) in windows(n) {
                let what = format!("{name} n={n} window {a}..{b}");
                let mut v = DistributedVector::<T>::from_global_with(ctx, &global::<T>(n), &spec).unwrap();
                {
                    let mut w = DistributedSpanMut::new(&mut v);
                    check_eq!(w.len(), n, "{what}: len");
                    let mut sub = w.subspan(a, b - a).unwrap();
                    check_eq!(sub.global_offset(), a, "{what}: offset");
                    sub.fill(mark);
                    // local_mut of the first index (if this rank has it) doubles as a write path.
                    if b > a {
                        let mut one = sub.first(1).unwrap();
                        for x in one.local_mut().unwrap() {
                            *x = T::from_f64(7.0);
                        }
                    }
                }
                let mut want = global::<T>(n);
                want[a..b].fill(mark);
                if b > a {
                    want[a] = T::from_f64(7.0);
                }
                check_eq!(v.gather_all().unwrap(), want, "{what}: gather_all after fill");
                let mine = &model(&spec, n, ctx.size())[ctx.rank()];
                let local: Vec<T> = mine.iter().map(|&g| want[g]).collect();
                check_eq!(v.local().to_vec(), local, "{what}: local after fill");
                // into_local_mut keeps the container's lifetime.
                let all = DistributedSpanMut::new(&mut v).into_local_mut().unwrap();
                check_eq!(all.len(), mine.len(), "{what}: into_local_mut");
            }
        }
    }
}

// ------------------------------------------------------------------ spans, tensors

/// Shapes and split axes: every axis of a 3-d shape, long axes of 2-d ones,
/// and zero-length dimensions.
fn tensor_cases() -> Vec<(Vec<usize>, usize)> {
    let mut v = Vec::new();
    for axis in 0..3 {
        v.push((vec![3, 5, 2], axis));
    }
    v.push((vec![40, 2], 0));
    v.push((vec![2, 40], 1));
    v.push((vec![1, 5, 3], 1));
    v.push((vec![0, 4], 1));
    v.push((vec![4, 0], 0));
    v.push((vec![5], 0));
    v
}

fn global_array<T: Element>(shape: &[usize]) -> ArrayD<T> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), global::<T>(n)).unwrap()
}

fn t_span_tensor<T: Element>(ctx: &Context) {
    for (shape, axis) in tensor_cases() {
        let extent = shape[axis];
        let per: usize = shape.iter().enumerate().filter(|&(k, _)| k != axis).map(|(_, &d)| d).product();
        let before: usize = shape[..axis].iter().product();
        let after: usize = shape[axis + 1..].iter().product();
        for (name, spec) in specs(extent, ctx.size()) {
            let g = global_array::<T>(&shape);
            let t = DistributedTensor::<T>::scatter_from_with(ctx, Some(g.view()), 0, axis, &spec).unwrap();
            let mine = &model(&spec, extent, ctx.size())[ctx.rank()];
            let span = DistributedSpan::new(&t);
            let what = format!("{name} shape {shape:?} axis {axis}");
            check_eq!(span.split_axis(), axis, "{what}: split_axis");
            check_eq!(span.len(), extent, "{what}: len");
            check_eq!(span.global_size(), shape.iter().product::<usize>(), "{what}: global_size");
            check_eq!(span.shape(), shape.clone(), "{what}: shape");
            for (a, b) in windows(extent) {
                let w = format!("{what} window {a}..{b}");
                let sub = span.subspan(a, b - a).unwrap();
                let idx: Vec<usize> = mine.iter().copied().filter(|i| (a..b).contains(i)).collect();
                let want = g.select(Axis(axis), &idx);
                check_eq!(sub.local_view().to_owned(), want, "{w}: local_view");
                check_eq!(sub.to_vec(), want.iter().copied().collect::<Vec<T>>(), "{w}: to_vec");
                check_eq!(sub.local_shape(), want.shape().to_vec(), "{w}: local_shape");
                check_eq!(sub.local_size(), idx.len() * per, "{w}: local_size");
                check_eq!(sub.size_bytes(), idx.len() * per * std::mem::size_of::<T>(), "{w}: size_bytes");
                check_eq!(sub.global_size(), (b - a) * per, "{w}: global_size");
                let mut s = shape.clone();
                s[axis] = b - a;
                check_eq!(sub.shape(), s, "{w}: shape");
                let contiguous = idx.is_empty() || before <= 1 || after == 0 || idx.len() == mine.len();
                match sub.local() {
                    Ok(sl) => {
                        check!(contiguous, "{w}: local() succeeded on strided elements");
                        check_eq!(sl.to_vec(), want.iter().copied().collect::<Vec<T>>(), "{w}: local");
                    }
                    Err(Error::NotSupported(_)) => check!(!contiguous, "{w}: local() refused contiguous elements"),
                    Err(e) => fail(format!("{w}: local() gave {e}")),
                }
                let copies = if is_replicated(&spec) { ctx.size() } else { 1 };
                check_eq!(sum_all(ctx, sub.local_size()), (b - a) * per * copies, "{w}: sum of local sizes");
            }
            check_err!(span.subspan(0, extent + 1), Error::Bounds(_), "{what}: subspan beyond the axis");
        }
    }
}

fn t_span_tensor_mut<T: Element>(ctx: &Context) {
    let mark = T::from_f64(111.0);
    for (shape, axis) in tensor_cases() {
        let extent = shape[axis];
        for (name, spec) in specs(extent, ctx.size()) {
            let (a, b) = (extent / 3, (extent / 3 + 2).min(extent));
            let g = global_array::<T>(&shape);
            let mut t = DistributedTensor::<T>::scatter_from_with(ctx, Some(g.view()), 0, axis, &spec).unwrap();
            DistributedSpanMut::new(&mut t).subspan(a, b - a).unwrap().fill(mark);
            let mut want = g.clone();
            want.slice_axis_mut(Axis(axis), Slice::from(a..b)).fill(mark);
            check_eq!(t.gather_all().unwrap(), want, "{name} shape {shape:?} axis {axis}: gather_all after fill");
        }
    }
}

// ------------------------------------------------------------------ gather / scatter by index

/// Rank `r`'s request list for `n` elements: duplicates, both ends, any
/// order; empty on some ranks.
fn requests(r: usize, n: usize) -> Vec<usize> {
    if n == 0 || r % 4 == 2 {
        return Vec::new();
    }
    let k = [9, 3, 0, 14][r % 4] + n % 3;
    let mut v: Vec<usize> = (0..k).map(|j| (j * 17 + r * 5 + 3) % n).collect();
    v.push(n - 1);
    v.push(0);
    v.push(v[0]);
    v
}

fn t_gather_indices<T: Element>(ctx: &Context) {
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let all = global::<T>(n);
            let v = DistributedVector::<T>::from_global_with(ctx, &all, &spec).unwrap();
            let idx = requests(ctx.rank(), n);
            let want: Vec<T> = idx.iter().map(|&g| all[g]).collect();
            check_eq!(v.gather_indices(&idx).unwrap(), want, "{name} n={n}");
            // Every rank asks for everything, reversed.
            let rev: Vec<usize> = (0..n).rev().collect();
            let want: Vec<T> = rev.iter().map(|&g| all[g]).collect();
            check_eq!(v.gather_indices(&rev).unwrap(), want, "{name} n={n}: all indices");
            check_eq!(v.gather_indices::<usize>(&[]).unwrap(), Vec::<T>::new(), "{name} n={n}: empty");
        }
    }
}

fn t_gather_index_types(ctx: &Context) {
    let n = 40;
    for (name, spec) in specs(n, ctx.size()) {
        let all = global::<i32>(n);
        let a = DistributedArray::<i32>::from_global_with(ctx, &all, &spec).unwrap();
        let idx = requests(ctx.rank(), n);
        let want: Vec<i32> = idx.iter().map(|&g| all[g]).collect();
        let as_i64: Vec<i64> = idx.iter().map(|&g| g as i64).collect();
        let as_u32: Vec<u32> = idx.iter().map(|&g| g as u32).collect();
        let as_i32: Vec<i32> = idx.iter().map(|&g| g as i32).collect();
        let as_u64: Vec<u64> = idx.iter().map(|&g| g as u64).collect();
        check_eq!(a.gather_indices(&as_i64).unwrap(), want, "{name}: i64 indices");
        check_eq!(a.gather_indices(&as_u32).unwrap(), want, "{name}: u32 indices");
        check_eq!(a.gather_indices(&as_i32).unwrap(), want, "{name}: i32 indices");
        check_eq!(a.gather_indices(&as_u64).unwrap(), want, "{name}: u64 indices");
    }
}

/// Rank `r`'s writes for `n` elements: (index, value) pairs overlapping
/// other ranks' (both ends) and repeating within the rank.
fn writes<T: Element>(r: usize, n: usize) -> (Vec<usize>, Vec<T>) {
    let idx = requests(r, n);
    let vals = (0..idx.len()).map(|j| T::from_f64(((r * 13 + j * 3) % 97) as f64)).collect();
    (idx, vals)
}

/// The model of `scatter_indices`: every rank's writes applied in (rank,
/// position) order to the global array.
fn scattered<T: Element>(n: usize, size: usize) -> Vec<T> {
    let mut g = global::<T>(n);
    for r in 0..size {
        let (idx, vals) = writes::<T>(r, n);
        for (i, x) in idx.into_iter().zip(vals) {
            g[i] = x;
        }
    }
    g
}

fn t_scatter_indices<T: Element>(ctx: &Context) {
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let mut v = DistributedVector::<T>::from_global_with(ctx, &global::<T>(n), &spec).unwrap();
            let (idx, vals) = writes::<T>(ctx.rank(), n);
            v.scatter_indices(&idx, &vals).unwrap();
            let want = scattered::<T>(n, ctx.size());
            check_eq!(v.gather_all().unwrap(), want, "{name} n={n}: gather_all");
            let mine = &model(&spec, n, ctx.size())[ctx.rank()];
            let local: Vec<T> = mine.iter().map(|&g| want[g]).collect();
            check_eq!(v.local().to_vec(), local, "{name} n={n}: this rank's part (every copy if replicated)");
            // Nothing to write anywhere is fine.
            v.scatter_indices::<usize>(&[], &[]).unwrap();
            check_eq!(v.gather_all().unwrap(), want, "{name} n={n}: empty scatter changes nothing");
        }
    }
}

fn t_scatter_array(ctx: &Context) {
    let n = 40;
    for (name, spec) in specs(n, ctx.size()) {
        let mut a = DistributedArray::<u8>::from_global_with(ctx, &global::<u8>(n), &spec).unwrap();
        let (idx, vals) = writes::<u8>(ctx.rank(), n);
        let idx: Vec<i64> = idx.iter().map(|&g| g as i64).collect();
        a.scatter_indices(&idx, &vals).unwrap();
        check_eq!(a.gather_all().unwrap(), scattered::<u8>(n, ctx.size()), "{name}");
    }
}

// ------------------------------------------------------------------ errors

fn t_err_out_of_range(ctx: &Context) {
    let bad = ctx.size() - 1;
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let mut v = DistributedVector::<f64>::from_global_with(ctx, &global::<f64>(n), &spec).unwrap();
            // The bad rank asks for 0 and n (only n = 0 when the vector is empty).
            let idx: Vec<usize> = match (ctx.rank() == bad, n) {
                (false, _) => Vec::new(),
                (true, 0) => vec![0],
                (true, _) => vec![0, n],
            };
            let p = idx.len() - usize::from(ctx.rank() == bad); // position of the bad index
            match v.gather_indices(&idx) {
                Err(Error::Bounds(m)) => {
                    let named = m.contains(&format!("global index {n}")) && m.contains(&format!("0..{n}"));
                    check!(named, "{name} n={n}: message does not name index and range: {m}");
                    if ctx.rank() == bad {
                        check!(m.contains(&format!("position {p}")), "{name} n={n}: message lacks the position: {m}");
                    } else {
                        check!(m.contains(&format!("rank {bad}")), "{name} n={n}: message lacks the rank: {m}");
                    }
                }
                other => {
                    fail(format!("{name} n={n}: gather_indices gave {:?}, expected Err(Bounds)", other.map(|_| ())))
                }
            }
            // A bad scatter on one rank writes nothing anywhere.
            let good: Vec<usize> = if n > 0 { vec![0, n - 1] } else { Vec::new() };
            let (widx, wval): (Vec<i64>, Vec<f64>) = if ctx.rank() == bad {
                (vec![-1], vec![5.0])
            } else {
                (good.iter().map(|&g| g as i64).collect(), vec![-7.0; good.len()])
            };
            match v.scatter_indices(&widx, &wval) {
                Err(Error::Bounds(m)) => check!(m.contains("-1"), "{name} n={n}: message lacks the index -1: {m}"),
                other => fail(format!("{name} n={n}: scatter_indices gave {other:?}, expected Err(Bounds)")),
            }
            check_eq!(v.gather_all().unwrap(), global::<f64>(n), "{name} n={n}: nothing written");
        }
    }
}

fn t_err_checks_off(ctx: &Context) {
    ctx.set_collective_checks(false);
    let n = 5;
    for (name, spec) in specs(n, ctx.size()) {
        let mut v = DistributedVector::<i64>::from_global_with(ctx, &global::<i64>(n), &spec).unwrap();
        let idx: Vec<i64> = if ctx.is_root() { vec![1, 99] } else { vec![2] };
        check_err!(v.gather_indices(&idx), Error::Bounds(_), "{name}: gather with checks off");
        check_err!(v.scatter_indices(&idx, &[0, 0][..idx.len()]), Error::Bounds(_), "{name}: scatter with checks off");
        check_eq!(v.gather_all().unwrap(), global::<i64>(n), "{name}: nothing written");
        // And a valid call still works with checks off.
        check_eq!(v.gather_indices(&[4usize, 0]).unwrap(), vec![val::<i64>(4), val::<i64>(0)], "{name}: valid call");
    }
    ctx.set_collective_checks(true);
}

fn t_err_scatter_length(ctx: &Context) {
    let n = 40;
    for (name, spec) in specs(n, ctx.size()) {
        let mut v = DistributedVector::<f32>::from_global_with(ctx, &global::<f32>(n), &spec).unwrap();
        let (idx, mut vals) = (vec![3usize, 4], vec![1.0f32, 2.0]);
        if ctx.rank() == ctx.size() / 2 {
            vals.pop();
        }
        match v.scatter_indices(&idx, &vals) {
            Err(Error::InvalidArgument(m)) => check!(m.contains("values"), "{name}: message: {m}"),
            other => fail(format!("{name}: gave {other:?}, expected Err(InvalidArgument)")),
        }
        check_eq!(v.gather_all().unwrap(), global::<f32>(n), "{name}: nothing written");
    }
}

fn t_err_container_mismatch(ctx: &Context) {
    if ctx.size() == 1 {
        return;
    }
    let a = DistributedVector::<f64>::new(ctx, 5).unwrap();
    let b = DistributedVector::<f64>::new(ctx, 6).unwrap();
    let c = DistributedVector::<f64>::with_layout(ctx, 5, 0.0, &PartitionSpec::Cyclic).unwrap();
    let pick = if ctx.is_root() { &a } else { &b };
    check_err!(pick.gather_indices(&[0usize]), Error::Mismatch(_), "different sizes");
    let pick = if ctx.is_root() { &a } else { &c };
    check_err!(pick.gather_indices(&[0usize]), Error::Mismatch(_), "different partitions");
}

fn t_err_or_reject(ctx: &Context) {
    let mut v = DistributedVector::<u32>::from_global(ctx, &global::<u32>(10)).unwrap();
    let local = ctx.is_root().then(|| Error::InvalidArgument("idx must be integers (test)".into()));
    match v.gather_indices_or_reject(&[1usize], local.clone()) {
        Err(Error::InvalidArgument(m)) => check!(m.contains("(test)"), "message: {m}"),
        other => fail(format!("gather_indices_or_reject gave {other:?}")),
    }
    match v.scatter_indices_or_reject(&[1usize], &[0], local) {
        Err(Error::InvalidArgument(m)) => check!(m.contains("(test)"), "message: {m}"),
        other => fail(format!("scatter_indices_or_reject gave {other:?}")),
    }
    check_eq!(v.gather_all().unwrap(), global::<u32>(10), "nothing written");
    check_eq!(v.gather_indices_or_reject(&[9usize], None).unwrap(), vec![val::<u32>(9)], "None is a plain call");
}

// ------------------------------------------------------------------ one-sided get / set

/// Every rank reads every element with `get` (mostly remote), under every
/// partition, then again after the local parts moved (`redistribute`,
/// `resize`), which re-exposes them.
fn t_get<T: Element>(ctx: &Context) {
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let mut v = DistributedVector::<T>::from_global_with(ctx, &global::<T>(n), &spec).unwrap();
            let got: Vec<T> = (0..n).map(|i| v.get(i).unwrap()).collect();
            check_eq!(got, global::<T>(n), "vector {name} n={n}: get");
            let a = DistributedArray::<T>::from_global_with(ctx, &global::<T>(n), &spec).unwrap();
            let got: Vec<T> = (0..n).rev().map(|i| a.get(i).unwrap()).collect();
            check_eq!(got, global::<T>(n).into_iter().rev().collect::<Vec<T>>(), "array {name} n={n}: get");
            for (to, new) in specs(n, ctx.size()) {
                v.redistribute(&new).unwrap();
                let got: Vec<T> = (0..n).map(|i| v.get(i).unwrap()).collect();
                check_eq!(got, global::<T>(n), "vector {name}->{to} n={n}: get after redistribute");
            }
            ctx.barrier().unwrap();
        }
    }
    let mut v = DistributedVector::<T>::from_global(ctx, &global::<T>(7)).unwrap();
    v.resize_with(23, T::ONE).unwrap();
    let want: Vec<T> = (0..23).map(|i| if i < 7 { val(i) } else { T::ONE }).collect();
    check_eq!((0..23).map(|i| v.get(i).unwrap()).collect::<Vec<T>>(), want, "get after resize");
    // Other ranks may still be reading this rank's part: drop only after.
    ctx.barrier().unwrap();
}

/// Each rank writes the elements `i % size == rank` (mostly owned by other
/// ranks) with `set`; after a barrier the container equals the model, on
/// every copy for a replicated one.
fn t_set<T: Element>(ctx: &Context) {
    let (me, size) = (ctx.rank(), ctx.size());
    for n in SIZES {
        for (name, spec) in specs(n, size) {
            let mut v = DistributedVector::<T>::with_layout(ctx, n, T::ZERO, &spec).unwrap();
            for i in (0..n).filter(|i| i % size == me) {
                v.set(i, val(i)).unwrap();
            }
            ctx.barrier().unwrap();
            check_eq!(v.gather_all().unwrap(), global::<T>(n), "vector {name} n={n}: after set");
            let want: Vec<T> = model(&spec, n, size)[me].iter().map(|&g| val(g)).collect();
            check_eq!(v.local().to_vec(), want, "vector {name} n={n}: local part after set");
            // Read back what another rank wrote, one-sided.
            let got: Vec<T> = (0..n).map(|i| v.get(i).unwrap()).collect();
            check_eq!(got, global::<T>(n), "vector {name} n={n}: get after set");
            ctx.barrier().unwrap();
        }
    }
}

/// Bounds are checked on the calling rank alone (nothing collective
/// happens), with the valid range in the message.
fn t_get_set_bounds(ctx: &Context) {
    let mut v = DistributedVector::<f64>::new(ctx, 5).unwrap();
    match v.get(5) {
        Err(Error::Bounds(m)) => check!(m.contains("0..5"), "get message: {m}"),
        other => fail(format!("get(5) gave {other:?}")),
    }
    if ctx.is_root() {
        // Only rank 0 errs: the others must not wait for it.
        check_err!(v.set(usize::MAX, 1.0), Error::Bounds(_), "set(usize::MAX)");
    }
    let e = DistributedVector::<f64>::new(ctx, 0).unwrap();
    check_err!(e.get(0), Error::Bounds(_), "get on an empty vector");
    ctx.barrier().unwrap();
    check_eq!(v.gather_all().unwrap(), vec![0.0; 5], "nothing written");
}

/// More live containers than one dynamic window takes (Open MPI: 64
/// attachments), dropped in a different order on each rank (detaching is
/// local, so this must not hang), then more again.
fn t_many_containers(ctx: &Context) {
    let size = ctx.size();
    for round in 0..2 {
        let mut vs: Vec<DistributedVector<i64>> = (0..300)
            .map(|k| {
                let g: Vec<i64> = (0..3 * size as i64).map(|i| i * 1000 + k).collect();
                DistributedVector::from_global_with(ctx, &g, &PartitionSpec::Cyclic).unwrap()
            })
            .collect();
        for (k, v) in vs.iter().enumerate().step_by(7) {
            let i = (ctx.rank() + 1) % size; // owned by the next rank (cyclic)
            check_eq!(v.get(i).unwrap(), i as i64 * 1000 + k as i64, "round {round} container {k}: get");
        }
        ctx.barrier().unwrap();
        if ctx.rank() % 2 == 1 {
            vs.reverse();
        }
        while let Some(v) = vs.pop() {
            drop(v);
        }
    }
}

/// A one-rank sub-context (no window at all) and a context with the
/// collective checks off.
fn t_get_set_subcontexts(ctx: &Context) {
    let solo = ctx.split(Some(ctx.rank() as i32), 0).unwrap().unwrap();
    let mut v = DistributedVector::<u16>::from_global_with(&solo, &global::<u16>(9), &PartitionSpec::Cyclic).unwrap();
    v.set(4, 77).unwrap();
    check_eq!(v.get(4).unwrap(), 77, "one-rank context: get/set");
    let quiet = ctx.dup().unwrap();
    quiet.set_collective_checks(false);
    let mut w = DistributedVector::<f32>::new(&quiet, 2 * quiet.size() + 1).unwrap();
    if quiet.is_root() {
        for i in 0..w.global_size() {
            w.set(i, i as f32 + 0.5).unwrap();
        }
    }
    quiet.barrier().unwrap();
    let want: Vec<f32> = (0..w.global_size()).map(|i| i as f32 + 0.5).collect();
    check_eq!(w.gather_all().unwrap(), want, "checks off: set from rank 0");
}
