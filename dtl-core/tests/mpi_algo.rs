//! Multi-rank tests of the distributed algorithms (`dtl_core::algorithms`)
//! on vectors and arrays, over every partition (block, cyclic,
//! block-cyclic, weighted, replicated), sizes 0, 1, 5, 40 and 1000, every
//! dtype, checked against a brute-force model computed here on the
//! gathered data (never with dtl's own algorithms).
//!
//! ```text
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_algo \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! ```

#[macro_use]
mod common;

use common::{sort_data, sorted, specs, Suite};

use dtl_core::partition::PartitionSpec;
use dtl_core::{Context, DistributedArray, DistributedTensor, DistributedVector, Element, Error, Execution, ReduceOp};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite { tests: Vec::new() };
    per_dtype!(s, "algo::reduce_every_op", t_reduce);
    per_dtype!(s, "algo::queries", t_queries);
    per_dtype!(s, "algo::scans", t_scans);
    per_dtype!(s, "algo::elementwise", t_elementwise);
    s.add("algo::float_sum_accuracy_and_nan", t_float_special);
    s.add("algo::dot_and_transform_reduce", t_dot);
    s.add("algo::copy_between_partitions", t_copy);
    s.add("algo::errors_on_every_rank", t_errors);
    s.add("algo::seq_equals_par", t_seq_par);
    s.add("algo::deterministic_reduce_is_rank_independent", t_deterministic::<f64>);
    s.add("algo::deterministic_reduce_is_rank_independent<f32>", t_deterministic::<f32>);
    per_dtype!(s, "algo::tensor", t_tensor);
    s.add("algo::tensor_copy_and_errors", t_tensor_copy);
    s
}

const SIZES: [usize; 5] = [0, 1, 5, 40, 1000];

/// Test data at global index `g`: small, with repeats; fits every dtype.
fn val<T: Element>(g: usize) -> T {
    T::from_f64(((g * 37 + 11) % 23) as f64)
}

fn global<T: Element>(n: usize) -> Vec<T> {
    (0..n).map(val).collect()
}

/// Every (partition name, vector) for `n` elements of `global(n)`.
fn each_vector<T: Element>(ctx: &Context, n: usize) -> Vec<(String, DistributedVector<T>)> {
    specs(n, ctx.size())
        .into_iter()
        .map(|(name, spec)| {
            (format!("{name} n={n}"), DistributedVector::from_global_with(ctx, &global::<T>(n), &spec).unwrap())
        })
        .collect()
}

fn model_reduce<T: Element>(g: &[T], op: ReduceOp) -> T {
    let mut it = g.iter().copied();
    match it.next() {
        None => op.identity(),
        Some(first) => {
            // A lone operand of a logical op counts as 0 or 1 (MPI_LAND of {5} is 1).
            let first = match op {
                ReduceOp::LAnd | ReduceOp::LOr | ReduceOp::LXor => {
                    if first != T::ZERO {
                        T::ONE
                    } else {
                        T::ZERO
                    }
                }
                _ => first,
            };
            it.fold(first, |a, b| op.apply(a, b))
        }
    }
}

fn t_reduce<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = global::<T>(n);
        for (name, v) in each_vector::<T>(ctx, n) {
            for op in ReduceOp::ALL {
                if op.check_for::<T>().is_err() {
                    check_err!(v.reduce(op), Error::InvalidArgument(_), "{name}: {op} on floats");
                    continue;
                }
                let want = model_reduce(&g, op);
                let got = v.reduce_deterministic(op).unwrap();
                if T::DTYPE.is_float() && op == ReduceOp::Prod && n > 40 {
                    // Overflows to inf on one rank and meets a 0 on another:
                    // inf * 0 = NaN there, 0 sequentially. Order-dependent by IEEE.
                    continue;
                }
                if T::DTYPE.is_float() && op == ReduceOp::Sum {
                    check!(
                        (got.to_f64() - want.to_f64()).abs() <= 1e-9 * want.to_f64().abs().max(1.0),
                        "{name}: sum {got:?} vs {want:?}"
                    );
                } else {
                    check_eq!(got, want, "{name}: reduce {op}");
                }
            }
            // The local variant: this rank's elements only.
            let local = v.local().to_vec();
            check_eq!(
                v.reduce_local(ReduceOp::Max).unwrap(),
                model_reduce(&local, ReduceOp::Max),
                "{name}: reduce_local"
            );
        }
    }
}

fn t_queries<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = global::<T>(n);
        for (name, v) in each_vector::<T>(ctx, n) {
            for x in [0.0, 5.0, 22.0, 99.0] {
                let x = T::from_f64(x);
                check_eq!(v.find(x).unwrap(), g.iter().position(|&y| y == x), "{name}: find {x:?}");
                check_eq!(v.count(x).unwrap(), g.iter().filter(|&&y| y == x).count(), "{name}: count {x:?}");
            }
            let big = |y: T| y.to_f64() > 15.0;
            check_eq!(v.find_if(big).unwrap(), g.iter().position(|&y| big(y)), "{name}: find_if");
            check_eq!(v.count_if(big).unwrap(), g.iter().filter(|&&y| big(y)).count(), "{name}: count_if");
            check_eq!(v.all_of(|y| y.to_f64() < 23.0).unwrap(), true, "{name}: all_of");
            check_eq!(v.any_of(big).unwrap(), g.iter().any(|&y| big(y)), "{name}: any_of");
            check_eq!(v.none_of(big).unwrap(), !g.iter().any(|&y| big(y)), "{name}: none_of");
            let argmin = (0..n).reduce(|a, b| if g[b] < g[a] { b } else { a });
            let argmax = (0..n).reduce(|a, b| if g[b] > g[a] { b } else { a });
            let mn = v.min_element().unwrap();
            let mx = v.max_element().unwrap();
            check_eq!(mn.map(|m| (m.index, m.value)), argmin.map(|i| (i, g[i])), "{name}: min_element");
            check_eq!(mx.map(|m| (m.index, m.value)), argmax.map(|i| (i, g[i])), "{name}: max_element");
            check_eq!(v.minmax().unwrap().map(|(a, b)| (a.index, b.index)), argmin.zip(argmax), "{name}: minmax");
        }
    }
}

fn t_scans<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = global::<T>(n);
        for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
            let mut inc = g.clone();
            for i in 1..n {
                inc[i] = op.apply(inc[i - 1], g[i]);
            }
            let init = T::from_f64(3.0);
            let mut exc = vec![init; n];
            for i in 1..n {
                exc[i] = op.apply(exc[i - 1], g[i - 1]);
            }
            for (name, mut v) in each_vector::<T>(ctx, n) {
                let mut w = DistributedVector::<T>::from_global_with(ctx, &g, &v.partition().spec()).unwrap();
                v.inclusive_scan(op).unwrap();
                check_eq!(v.gather_all().unwrap(), inc, "{name}: inclusive_scan {op}");
                w.exclusive_scan(op, init).unwrap();
                check_eq!(w.gather_all().unwrap(), exc, "{name}: exclusive_scan {op}");
            }
        }
        // Local variants scan this rank's part only.
        let mut v = DistributedVector::<T>::from_global_with(ctx, &g, &PartitionSpec::Cyclic).unwrap();
        let mut want = v.local().to_vec();
        for i in 1..want.len() {
            want[i] = want[i - 1].add(want[i]);
        }
        v.inclusive_scan_local(ReduceOp::Sum).unwrap();
        check_eq!(v.local().to_vec(), want, "n={n}: inclusive_scan_local");
    }
}

fn t_elementwise<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = global::<T>(n);
        for (name, mut v) in each_vector::<T>(ctx, n) {
            let spec = v.partition().spec();
            v.transform(|x| x.add(T::ONE));
            let want: Vec<T> = g.iter().map(|x| x.add(T::ONE)).collect();
            check_eq!(v.gather_all().unwrap(), want, "{name}: transform");
            v.replace(T::ONE, T::from_f64(7.0));
            let want: Vec<T> = want.iter().map(|&x| if x == T::ONE { T::from_f64(7.0) } else { x }).collect();
            check_eq!(v.gather_all().unwrap(), want, "{name}: replace");
            v.iota(T::from_f64(2.0));
            // start + i in the dtype's wrapping arithmetic (np.arange(n).astype(dtype) + 2).
            let want: Vec<T> = (0..n)
                .scan(T::from_f64(1.0), |x, _| {
                    *x = x.add(T::ONE);
                    Some(*x)
                })
                .collect();
            check_eq!(v.gather_all().unwrap(), want, "{name}: iota");
            v.generate(|i| val(i * 3));
            check_eq!(v.gather_all().unwrap(), (0..n).map(|i| val::<T>(i * 3)).collect::<Vec<T>>(), "{name}: generate");
            v.for_each_indexed(|i, x| *x = T::from_f64((i % 5) as f64));
            check_eq!(
                v.gather_all().unwrap(),
                (0..n).map(|i| T::from_f64((i % 5) as f64)).collect::<Vec<T>>(),
                "{name}: for_each_indexed"
            );
            let mut dst = DistributedArray::<f64>::with_layout(ctx, n, 0.0, &spec).unwrap();
            v.transform_into(&mut dst, |x| x.to_f64() * 0.5).unwrap();
            check_eq!(
                dst.gather_all().unwrap(),
                (0..n).map(|i| (i % 5) as f64 * 0.5).collect::<Vec<f64>>(),
                "{name}: transform_into"
            );
        }
    }
}

fn t_float_special(ctx: &Context) {
    // 0.1 summed 10^6 times: pairwise summation is exact to ~1e-10.
    let v = DistributedVector::<f64>::with_layout(ctx, 1_000_000, 0.1, &PartitionSpec::Cyclic).unwrap();
    let s = v.reduce(ReduceOp::Sum).unwrap();
    check!((s - 100_000.0).abs() < 1e-7, "sum of 0.1 x 1e6 = {s}");
    // NaN: min/max propagate, argmin/argmax take the first NaN, find(NaN) finds nothing.
    for (name, spec) in specs(9, ctx.size()) {
        let mut g: Vec<f64> = (0..9).map(|i| i as f64).collect();
        g[6] = f64::NAN;
        g[7] = f64::NAN;
        g[2] = f64::INFINITY;
        let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
        check!(v.reduce(ReduceOp::Min).unwrap().is_nan(), "{name}: min with NaN");
        check!(v.reduce(ReduceOp::Max).unwrap().is_nan(), "{name}: max with NaN");
        check_eq!(v.min_element().unwrap().map(|m| m.index), Some(6), "{name}: argmin with NaN");
        check_eq!(v.max_element().unwrap().map(|m| m.index), Some(6), "{name}: argmax with NaN");
        check_eq!(v.find(f64::NAN).unwrap(), None, "{name}: find NaN");
        check_eq!(v.find_if(f64::is_nan).unwrap(), Some(6), "{name}: find_if is_nan");
    }
    for (name, spec) in specs(3, ctx.size()) {
        let w = DistributedVector::from_global_with(ctx, &[f64::INFINITY, 1.0, f64::INFINITY], &spec).unwrap();
        check_eq!(w.reduce(ReduceOp::Max).unwrap(), f64::INFINITY, "{name}: max of inf");
        let u = DistributedVector::from_global_with(ctx, &[f64::INFINITY; 3], &spec).unwrap();
        check_eq!(u.reduce(ReduceOp::Min).unwrap(), f64::INFINITY, "{name}: min of infs is inf, not f64::MAX");
    }
}

fn t_dot(ctx: &Context) {
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let a =
                DistributedVector::from_global_with(ctx, &(0..n).map(|i| i as f64).collect::<Vec<_>>(), &spec).unwrap();
            let b = DistributedVector::<f64>::with_layout(ctx, n, 2.0, &spec).unwrap();
            check_eq!(a.dot(&b).unwrap(), (n * n.saturating_sub(1)) as f64, "{name}: dot");
            let sq = a.transform_reduce(|x| (x * x) as i64, ReduceOp::Sum).unwrap();
            check_eq!(sq, (0..n as i64).map(|i| i * i).sum::<i64>(), "{name}: transform_reduce sum of squares");
        }
    }
    let a = DistributedVector::<f64>::new(ctx, 10).unwrap();
    let c = DistributedVector::<f64>::with_layout(ctx, 10, 0.0, &PartitionSpec::Cyclic).unwrap();
    if ctx.size() > 1 {
        check_err!(a.dot(&c), Error::InvalidArgument(_), "dot of different partitions");
    }
}

fn t_copy(ctx: &Context) {
    let g = global::<i32>(40);
    for (from, sa) in specs(40, ctx.size()) {
        for (to, sb) in specs(40, ctx.size()) {
            let a = DistributedVector::from_global_with(ctx, &g, &sa).unwrap();
            let mut b = DistributedVector::<i32>::with_layout(ctx, 40, 0, &sb).unwrap();
            b.copy_from(&a).unwrap();
            check_eq!(b.gather_all().unwrap(), g, "copy {from} -> {to}");
        }
    }
    let a = DistributedVector::<i32>::new(ctx, 3).unwrap();
    let mut b = DistributedVector::<i32>::new(ctx, 4).unwrap();
    check_err!(b.copy_from(&a), Error::InvalidArgument(_), "copy of a different size");
}

fn t_errors(ctx: &Context) {
    let v = DistributedVector::<f32>::new(ctx, 10).unwrap();
    check_err_same!(ctx, v.reduce(ReduceOp::BXor), Error::InvalidArgument(_), "bxor on f32");
    let mut w = DistributedVector::<f64>::new(ctx, 10).unwrap();
    check_err_same!(ctx, w.inclusive_scan(ReduceOp::LAnd), Error::InvalidArgument(_), "scan land on f64");
    check_err!(Execution::from_code(2), Error::InvalidArgument(_), "execution code 2");
    // Ranks passing different ops: the same Mismatch everywhere.
    let u = DistributedVector::<i32>::new(ctx, 10).unwrap();
    let op = if ctx.rank() == 0 { ReduceOp::Sum } else { ReduceOp::Max };
    if ctx.size() > 1 {
        check_err_same!(ctx, u.reduce(op), Error::Mismatch(_), "different ops");
    }
}

fn t_seq_par(ctx: &Context) {
    let n = 300_001;
    let g: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 * 0.001).collect();
    let mut a = DistributedVector::from_global(ctx, &g).unwrap();
    let mut b = DistributedVector::from_global(ctx, &g).unwrap();
    a.set_execution(Execution::Seq);
    b.set_execution(Execution::Par);
    check_eq!(a.execution(), Execution::Seq, "execution getter");
    check_eq!(a.reduce(ReduceOp::Sum).unwrap().to_bits(), b.reduce(ReduceOp::Sum).unwrap().to_bits(), "sum bits");
    a.inclusive_scan(ReduceOp::Max).unwrap();
    b.inclusive_scan(ReduceOp::Max).unwrap();
    check_eq!(a.gather_all().unwrap(), b.gather_all().unwrap(), "scan max");
}

/// `reduce_deterministic` gives the bits one process gets (a one-rank
/// context over the same global data), at every np and partition, for
/// data whose sum depends on the order of additions.
fn t_deterministic<T: Element>(ctx: &Context) {
    let me = Context::self_only().unwrap();
    for n in [0usize, 1, 100, 32_768, 32_769, 100_003, 250_000] {
        // Magnitudes from 1e-8 to 1e8 with both signs: rounding is order-dependent.
        let g: Vec<T> = (0..n)
            .map(|i| {
                let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
                let mag = 10f64.powi((h % 17) as i32 - 8);
                T::from_f64(if h % 2 == 0 { mag * 1.37 } else { -mag * 0.73 })
            })
            .collect();
        let serial = DistributedVector::from_global(&me, &g).unwrap();
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Min, ReduceOp::Max] {
            let want = serial.reduce(op).unwrap();
            for (name, spec) in specs(n, ctx.size()) {
                for exec in [Execution::Seq, Execution::Par] {
                    let mut v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                    v.set_execution(exec);
                    let got = v.reduce_deterministic(op).unwrap();
                    check!(
                        got == want || (got.is_nan() && want.is_nan()),
                        "{name} n={n} {op} {exec:?}: {got:?} != one process's {want:?}"
                    );
                }
            }
        }
    }
    let ints = DistributedVector::<i64>::from_global(ctx, &[5, -3, 9]).unwrap();
    check_eq!(ints.reduce_deterministic(ReduceOp::Sum).unwrap(), 11, "integers");
}

// ---------------------------------------------------------------- tensors

const TENSOR_SHAPES: [&[usize]; 6] = [&[0, 3], &[5], &[7, 3], &[2, 5, 3], &[3, 0], &[1, 4]];

/// Every (name, tensor) of `shape` holding `g` (flat C order), split along
/// every axis by every partition.
fn each_tensor<T: Element>(ctx: &Context, shape: &[usize], g: &[T]) -> Vec<(String, DistributedTensor<T>)> {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), g.to_vec()).unwrap();
    let mut out = Vec::new();
    for axis in 0..shape.len() {
        for (name, spec) in specs(shape[axis], ctx.size()) {
            let t = DistributedTensor::scatter_from_with(ctx, Some(a.view()), 0, axis, &spec).unwrap();
            out.push((format!("{shape:?} axis {axis} {name}"), t));
        }
    }
    out
}

fn flat<T: Element>(t: &DistributedTensor<T>) -> Vec<T> {
    t.gather_all().unwrap().iter().copied().collect()
}

fn t_tensor<T: Element>(ctx: &Context) {
    for shape in TENSOR_SHAPES {
        let n: usize = shape.iter().product();
        let g: Vec<T> = sort_data(n);
        for (name, mut t) in each_tensor(ctx, shape, &g) {
            let local_shape = t.local_shape();
            check_eq!(t.reduce(ReduceOp::Max).unwrap(), model_reduce(&g, ReduceOp::Max), "{name}: reduce max");
            check_eq!(t.reduce(ReduceOp::Sum).unwrap(), model_reduce(&g, ReduceOp::Sum), "{name}: reduce sum");
            check_eq!(t.reduce_deterministic(ReduceOp::Sum).unwrap(), model_reduce(&g, ReduceOp::Sum), "{name}: det");
            let x = g.get(n / 2).copied().unwrap_or(T::ONE);
            check_eq!(t.find(x).unwrap(), g.iter().position(|&y| y == x), "{name}: find");
            check_eq!(t.count(x).unwrap(), g.iter().filter(|&&y| y == x).count(), "{name}: count");
            let big = |y: T| y.to_f64() > 40.0;
            check_eq!(t.find_if(big).unwrap(), g.iter().position(|&y| big(y)), "{name}: find_if");
            check_eq!(t.any_of(big).unwrap(), g.iter().any(|&y| big(y)), "{name}: any_of");
            let argmin = (0..n).reduce(|a, b| if g[b] < g[a] { b } else { a });
            let argmax = (0..n).reduce(|a, b| if g[b] > g[a] { b } else { a });
            check_eq!(
                t.min_element().unwrap().map(|m| (m.index, m.value)),
                argmin.map(|i| (i, g[i])),
                "{name}: argmin"
            );
            check_eq!(
                t.max_element().unwrap().map(|m| (m.index, m.value)),
                argmax.map(|i| (i, g[i])),
                "{name}: argmax"
            );
            let sq = g.iter().fold(T::ZERO, |a, &b| a.add(b.mul(b)));
            if !T::DTYPE.is_float() || n < 40 {
                check_eq!(t.dot(&t).unwrap(), sq, "{name}: dot");
            }
            if n > 0 {
                let s = sorted(g.clone(), false);
                check_eq!(t.nth_element(n / 3).unwrap(), s[n / 3], "{name}: nth_element");
                let med =
                    if n % 2 == 1 { s[n / 2].to_f64() } else { (s[n / 2 - 1].to_f64() + s[n / 2].to_f64()) / 2.0 };
                check_eq!(t.median().unwrap(), med, "{name}: median");
            }
            // Scans in flat C order.
            let mut inc = g.clone();
            for i in 1..n {
                inc[i] = inc[i - 1].add(g[i]);
            }
            t.inclusive_scan(ReduceOp::Sum).unwrap();
            check_eq!(flat(&t), inc, "{name}: inclusive_scan");
            t.exclusive_scan(ReduceOp::Max, T::ZERO).unwrap();
            let mut exc = vec![T::ZERO; n];
            for i in 1..n {
                exc[i] = ReduceOp::Max.apply(exc[i - 1], inc[i - 1]);
            }
            check_eq!(flat(&t), exc, "{name}: exclusive_scan");
            // Element-wise with flat global indices.
            t.generate(|i| sort_data::<T>(i + 1)[i]);
            check_eq!(flat(&t), g, "{name}: generate");
            t.for_each_indexed(|i, x| *x = x.add(T::from_index(i % 3)));
            let shifted: Vec<T> = g.iter().enumerate().map(|(i, &x)| x.add(T::from_index(i % 3))).collect();
            check_eq!(flat(&t), shifted, "{name}: for_each_indexed");
            // Sort: flat C order, every rank keeps its local shape.
            for reverse in [false, true] {
                t.generate(|i| sort_data::<T>(i + 1)[i]);
                t.sort(reverse).unwrap();
                check_eq!(flat(&t), sorted(g.clone(), reverse), "{name}: sort reverse={reverse}");
                check_eq!(t.local_shape(), local_shape.clone(), "{name}: local shape after sort");
                check!(t.is_sorted(reverse).unwrap(), "{name}: is_sorted after sort");
            }
            t.iota(T::ZERO);
            check_eq!(flat(&t), (0..n).map(T::from_index).collect::<Vec<T>>(), "{name}: iota");
            check_eq!(t.is_sorted(false).unwrap(), true, "{name}: iota is sorted");
        }
    }
}

fn t_tensor_copy(ctx: &Context) {
    let shape = [6, 4, 3];
    let g: Vec<f64> = sort_data(72);
    let sources = each_tensor(ctx, &shape, &g);
    let mut dst = DistributedTensor::<f64>::with_layout(ctx, &shape, 0.0, 1, &PartitionSpec::Cyclic).unwrap();
    for (name, src) in &sources {
        dst.fill(-1.0);
        dst.copy_from(src).unwrap();
        check_eq!(flat(&dst), g, "copy from {name}");
    }
    let other = DistributedTensor::<f64>::new(ctx, &[6, 12]).unwrap();
    let (_, t) = &sources[0];
    check_err!(t.dot(&other), Error::InvalidArgument(_), "dot of different shapes");
    check_err!(t.percentile(101.0), Error::InvalidArgument(_), "percentile 101");
    check_err!(t.nth_element(72), Error::Bounds(_), "nth_element out of range");
    let mut e = DistributedTensor::<f64>::new(ctx, &[0, 2]).unwrap();
    check!(e.median().unwrap().is_nan(), "median of an empty tensor");
    e.sort(false).unwrap();
    check_eq!(e.min_element().unwrap().map(|m| m.index), None, "argmin of an empty tensor");
}
