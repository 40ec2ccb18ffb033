//! Multi-rank tests of the halo exchange (`dtl_core::algorithms::halo`) on
//! vectors, arrays and 1-, 2- and 3-d tensors: widths 0, 1, 2, (1, 2) and
//! wider than the neighbours' parts, periodic or not, n < size and n = 0,
//! block and uneven weighted partitions (with empty ranks), every dtype,
//! and the errors (cyclic, block-cyclic, replicated, axis, widths). Every
//! expected value comes from a model written here: the global array padded
//! like `numpy.pad(mode="wrap"/"constant")` by index arithmetic, then
//! sliced to the rank's rows (never from dtl's own exchange).
//!
//! ```text
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_halo \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! ```

#[macro_use]
mod common;

use std::ops::Range;

use common::{model, Suite};

use dtl_core::partition::{PartitionSpec, Weights};
use dtl_core::{Boundary, Context, DistributedArray, DistributedTensor, DistributedVector, Element, Error, HaloSpec};
use ndarray::{ArrayD, Axis, Dimension, IxDyn, Slice};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite::new();
    per_dtype!(s, "halo::vector", t_vector);
    s.add("halo::array_and_far_neighbours", t_array_far);
    per_dtype!(@ s, "halo::tensor_2d", t_tensor_2d, i8 u16 i32 u64 f32 f64);
    per_dtype!(@ s, "halo::tensor_1d_3d", t_tensor_1d_3d, u8 i64 f64);
    s.add("halo::tensor_legacy_wrappers", t_tensor_legacy);
    s.add("halo::errors_on_every_rank", t_errors);
    s.add("halo::repeated_exchanges", t_repeated);
    s
}

// ------------------------------------------------------------------ models

/// Test data at flat global index `g`: small, fits every dtype.
fn val<T: Element>(g: usize) -> T {
    T::from_f64(((g * 37 + 11) % 97) as f64)
}

fn global_array<T: Element>(shape: &[usize]) -> ArrayD<T> {
    let mut k = 0;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        k += 1;
        val(k - 1)
    })
}

/// The contiguous partitions: name, spec. Weighted ones leave ranks empty
/// and make neighbours narrower than the widths.
fn contiguous_specs(n: usize, p: usize) -> Vec<(String, PartitionSpec)> {
    let mut out = vec![("block".to_string(), PartitionSpec::Block)];
    // Half on the last rank, the rest on rank 0 (the middle ranks empty).
    let mut half = vec![0; p];
    half[p - 1] += n / 2;
    half[0] += n - n / 2;
    out.push(("weighted_half".into(), PartitionSpec::Weighted(Weights::Counts(half))));
    // Spread thin: rank r holds one row if r % 3 == 1, none otherwise, and
    // rank 0 the rest.
    let mut thin: Vec<usize> = (0..p).map(|r| usize::from(r % 3 == 1)).collect();
    let used: usize = thin.iter().sum();
    if used <= n {
        thin[0] += n - used;
        out.push(("weighted_thin".into(), PartitionSpec::Weighted(Weights::Counts(thin))));
    }
    out
}

/// The global row range `rank` holds under `spec` (contiguous specs).
fn held(spec: &PartitionSpec, n: usize, p: usize, rank: usize) -> Range<usize> {
    let owned = model(spec, n, p);
    let mine = &owned[rank];
    mine.first().map_or(0..0, |&a| a..a + mine.len())
}

/// Global rows `rows` (indices relative to the array, possibly outside
/// `0..n`) of `g` along axis 0: wrapped if periodic, else the ones out of
/// range dropped.
fn take_rows<T: Element>(g: &ArrayD<T>, rows: Range<i64>, periodic: bool) -> ArrayD<T> {
    let n = g.shape()[0] as i64;
    let idx: Vec<usize> =
        rows.filter_map(|r| {
            if periodic {
                Some(r.rem_euclid(n) as usize)
            } else {
                (0..n).contains(&r).then_some(r as usize)
            }
        })
        .collect();
    g.select(Axis(0), &idx)
}

/// The halos of the rank holding `mine`: (lower, upper).
fn model_halo<T: Element>(g: &ArrayD<T>, mine: &Range<usize>, spec: HaloSpec) -> (ArrayD<T>, ArrayD<T>) {
    if mine.is_empty() {
        return (take_rows(g, 0..0, false), take_rows(g, 0..0, false));
    }
    let (s, e) = (mine.start as i64, mine.end as i64);
    (take_rows(g, s - spec.lower as i64..s, spec.periodic), take_rows(g, e..e + spec.upper as i64, spec.periodic))
}

/// `numpy.pad(g, widths, mode)` (wrap or constant), by index arithmetic.
fn np_pad<T: Element>(g: &ArrayD<T>, widths: &[(usize, usize)], boundary: Boundary<T>) -> ArrayD<T> {
    let shape: Vec<usize> = g.shape().iter().zip(widths).map(|(&d, &(a, b))| d + a + b).collect();
    ArrayD::from_shape_fn(IxDyn(&shape), |idx| {
        let mut src = Vec::with_capacity(idx.ndim());
        for k in 0..idx.ndim() {
            let c = idx[k] as i64 - widths[k].0 as i64;
            let ext = g.shape()[k] as i64;
            match boundary {
                Boundary::Periodic => src.push(c.rem_euclid(ext) as usize),
                Boundary::Constant(v) => {
                    if !(0..ext).contains(&c) {
                        return v;
                    }
                    src.push(c as usize);
                }
            }
        }
        g[IxDyn(&src)]
    })
}

/// The padded block of the rank holding `mine`: the rows of `np_pad` that
/// cover its rows and their ghosts (no rows on an empty rank).
fn model_padded<T: Element>(
    g: &ArrayD<T>,
    mine: &Range<usize>,
    widths: &[(usize, usize)],
    boundary: Boundary<T>,
) -> ArrayD<T> {
    let padded = np_pad(g, widths, boundary);
    let rows = if mine.is_empty() { 0..0 } else { mine.start..mine.end + widths[0].0 + widths[0].1 };
    padded.slice_axis(Axis(0), Slice::from(rows)).to_owned()
}

/// `lower ++ mine ++ upper` as the model of `local_with_halo_spec`.
fn model_with_halo<T: Element>(g: &ArrayD<T>, mine: &Range<usize>, spec: HaloSpec) -> ArrayD<T> {
    let (lo, hi) = model_halo(g, mine, spec);
    let me = g.slice_axis(Axis(0), Slice::from(mine.clone()));
    ndarray::concatenate(Axis(0), &[lo.view(), me, hi.view()]).unwrap()
}

fn flat<T: Element>(a: &ArrayD<T>) -> Vec<T> {
    a.iter().copied().collect()
}

fn specs_for(n: usize) -> Vec<HaloSpec> {
    let mut out = Vec::new();
    for (lo, hi) in [(0, 0), (1, 1), (2, 2), (1, 2), (2, 0), (0, 3), (3, 3), (n, n), (n + 2, 1)] {
        out.push(HaloSpec::new(lo, hi));
        if lo.max(hi) <= n {
            out.push(HaloSpec::new(lo, hi).periodic());
        }
    }
    out
}

fn sizes(p: usize) -> Vec<usize> {
    let mut ns = vec![0, 1, 2, p.saturating_sub(1), p, p + 1, 7, 40];
    ns.sort_unstable();
    ns.dedup();
    ns
}

// ------------------------------------------------------------------ 1-D containers

fn t_vector<T: Element>(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for n in sizes(p) {
        let g1: Vec<T> = (0..n).map(val).collect();
        let g = ArrayD::from_shape_vec(IxDyn(&[n]), g1.clone()).unwrap();
        for (name, pspec) in contiguous_specs(n, p) {
            let v = DistributedVector::from_global_with(ctx, &g1, &pspec).unwrap();
            let mine = held(&pspec, n, p, me);
            let got = if v.local_size() == 0 { 0..0 } else { v.local_offset()..v.local_offset() + v.local_size() };
            check_eq!(got, mine, "{name} n={n}: model of the layout");
            for spec in specs_for(n) {
                let what = format!("{name} n={n} {spec:?}");
                let (lo, hi) = model_halo(&g, &mine, spec);
                let h = v.halo_exchange_spec(spec).unwrap();
                check_eq!(h.spec, spec, "{what}: spec");
                check_eq!(h.width, spec.lower.max(spec.upper), "{what}: width");
                check_eq!(h.lower, lo, "{what}: lower halo");
                check_eq!(h.upper, hi, "{what}: upper halo");
                let with = v.local_with_halo_spec(spec).unwrap();
                check_eq!(with, flat(&model_with_halo(&g, &mine, spec)), "{what}: local_with_halo_spec");
                if spec.lower == spec.upper && !spec.periodic {
                    let h = v.halo_exchange(spec.lower).unwrap();
                    check_eq!((h.lower, h.upper), (lo, hi), "{what}: halo_exchange(width)");
                    let with2 = v.local_with_halo(spec.lower).unwrap();
                    check_eq!(with2, with, "{what}: local_with_halo(width)");
                }
                let w = [(spec.lower, spec.upper)];
                let b = if spec.periodic { Boundary::Periodic } else { Boundary::Constant(T::from_f64(5.0)) };
                if n > 0 || !spec.periodic {
                    let got = v.local_padded(w[0], b).unwrap();
                    check_eq!(got, flat(&model_padded(&g, &mine, &w, b)), "{what}: local_padded {b:?}");
                }
            }
        }
    }
}

/// `DistributedArray` (through the same deref), and widths that reach past
/// several thin neighbours in both directions.
fn t_array_far(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    // Rank r holds r % 2 + 1 rows except the last, which holds 0: every
    // halo of width 3 spans more than one neighbour.
    let mut counts: Vec<usize> = (0..p).map(|r| r % 2 + 1).collect();
    counts[p - 1] = 0;
    let n: usize = counts.iter().sum();
    let pspec = PartitionSpec::Weighted(Weights::Counts(counts));
    let g1: Vec<f64> = (0..n).map(val).collect();
    let g = ArrayD::from_shape_vec(IxDyn(&[n]), g1.clone()).unwrap();
    let a = DistributedArray::from_global_with(ctx, &g1, &pspec).unwrap();
    let mine = held(&pspec, n, p, me);
    for spec in specs_for(n) {
        let (lo, hi) = model_halo(&g, &mine, spec);
        let h = a.halo_exchange_spec(spec).unwrap();
        check_eq!((h.lower, h.upper), (lo, hi), "n={n} {spec:?}: halos");
        if n > 0 || !spec.periodic {
            let b = if spec.periodic { Boundary::Periodic } else { Boundary::Constant(-1.0) };
            let got = a.local_padded((spec.lower, spec.upper), b).unwrap();
            check_eq!(got, flat(&model_padded(&g, &mine, &[(spec.lower, spec.upper)], b)), "n={n} {spec:?}: padded");
        }
    }
}

// ------------------------------------------------------------------ tensors

fn tensor_from<T: Element>(ctx: &Context, g: &ArrayD<T>, pspec: &PartitionSpec) -> DistributedTensor<T> {
    let shape = g.shape().to_vec();
    let mut t = DistributedTensor::<T>::with_layout(ctx, &shape, T::ZERO, 0, pspec).unwrap();
    let mine = held(pspec, shape[0], ctx.size(), ctx.rank());
    t.local_view_mut().assign(&g.slice_axis(Axis(0), Slice::from(mine)));
    t
}

/// Every check on one tensor: split-axis halos (both forms) and padding on
/// every axis with `others` widths for the local axes.
fn check_tensor<T: Element>(ctx: &Context, shape: &[usize], others: &[(usize, usize)]) {
    let (me, p) = (ctx.rank(), ctx.size());
    let n = shape[0];
    let g = global_array::<T>(shape);
    for (name, pspec) in contiguous_specs(n, p) {
        let t = tensor_from(ctx, &g, &pspec);
        let mine = held(&pspec, n, p, me);
        for spec in specs_for(n) {
            let what = format!("{name} {shape:?} {spec:?}");
            let (lo, hi) = model_halo(&g, &mine, spec);
            let h = t.halo_exchange_spec(spec).unwrap();
            check_eq!(h.lower, lo, "{what}: lower halo");
            check_eq!(h.upper, hi, "{what}: upper halo");
            check_eq!(t.local_with_halo_spec(spec).unwrap(), model_with_halo(&g, &mine, spec), "{what}: with halo");
            let mut widths = vec![(spec.lower, spec.upper)];
            widths.extend_from_slice(others);
            let local_ok = shape[1..].iter().zip(others).all(|(&d, &(a, b))| a.max(b) <= d);
            let b = if spec.periodic { Boundary::Periodic } else { Boundary::Constant(T::from_f64(3.0)) };
            if spec.periodic && !local_ok {
                check_err!(t.local_padded(&widths, b), Error::InvalidArgument(_), "{what}: periodic width > extent");
                continue;
            }
            let got = t.local_padded(&widths, b).unwrap();
            check_eq!(got, model_padded(&g, &mine, &widths, b), "{what}: local_padded {widths:?} {b:?}");
        }
    }
}

fn t_tensor_2d<T: Element>(ctx: &Context) {
    for n in sizes(ctx.size()) {
        for others in [[(0, 0)], [(1, 1)], [(2, 1)], [(0, 3)], [(4, 4)]] {
            check_tensor::<T>(ctx, &[n, 3], &others);
        }
    }
}

fn t_tensor_1d_3d<T: Element>(ctx: &Context) {
    for n in sizes(ctx.size()) {
        check_tensor::<T>(ctx, &[n], &[]);
        check_tensor::<T>(ctx, &[n, 2, 3], &[(1, 1), (1, 2)]);
        check_tensor::<T>(ctx, &[n, 2, 3], &[(0, 2), (3, 0)]);
    }
    // A local axis of extent 0 and rows of no elements.
    check_tensor::<T>(ctx, &[5, 0], &[(0, 0)]);
    check_tensor::<T>(ctx, &[5, 0], &[(1, 1)]);
}

/// `halo_exchange(width)` and `local_with_halo(width)` keep their meaning:
/// symmetric, not periodic, shorter at the global edges.
fn t_tensor_legacy(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    for n in sizes(p) {
        let g = global_array::<f64>(&[n, 2, 2]);
        let t = tensor_from(ctx, &g, &PartitionSpec::Block);
        let mine = held(&PartitionSpec::Block, n, p, me);
        for w in [0, 1, 2, 5] {
            let spec = HaloSpec::symmetric(w);
            let (lo, hi) = model_halo(&g, &mine, spec);
            let h = t.halo_exchange(w).unwrap();
            check_eq!((h.width, h.spec), (w, spec), "n={n} w={w}: width and spec");
            check_eq!((h.lower, h.upper), (lo, hi), "n={n} w={w}: halos");
            check_eq!(t.local_with_halo(w).unwrap(), model_with_halo(&g, &mine, spec), "n={n} w={w}: with halo");
        }
    }
}

// ------------------------------------------------------------------ errors

fn t_errors(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let n = 6;
    let g1: Vec<f64> = (0..n).map(val).collect();
    let msg = |r: Result<dtl_core::Halo<f64>, Error>| r.err().map(|e| e.to_string()).unwrap_or_default();

    // Non-contiguous partitions (contiguous at np 1, where they are one block).
    for (name, spec) in [("CYCLIC", PartitionSpec::Cyclic), ("BLOCK_CYCLIC", PartitionSpec::BlockCyclic(2))] {
        let v = DistributedVector::from_global_with(ctx, &g1, &spec).unwrap();
        let t = DistributedTensor::<f64>::with_layout(ctx, &[n, 2], 0.0, 0, &spec).unwrap();
        if p == 1 {
            check!(v.halo_exchange(1).is_ok() && t.halo_exchange(1).is_ok(), "{name} at np 1 is one block");
            continue;
        }
        let e = msg(v.halo_exchange(1));
        check!(e.contains(name) && e.contains("redistribute") && e.contains("BLOCK"), "{name}: message {e:?}");
        check_err_same!(ctx, v.halo_exchange_spec(HaloSpec::symmetric(1).periodic()), Error::NotSupported(_), "{name}");
        check_err_same!(ctx, v.local_with_halo(2), Error::NotSupported(_), "{name} local_with_halo");
        check_err_same!(ctx, v.local_padded((1, 1), Boundary::Periodic), Error::NotSupported(_), "{name} padded");
        check_err_same!(ctx, t.halo_exchange(1), Error::NotSupported(_), "{name} tensor");
        check_err_same!(ctx, t.local_padded(&[(1, 1), (0, 0)], Boundary::Periodic), Error::NotSupported(_), "{name} t");
    }
    // Replicated: every rank holds every row.
    let r = DistributedVector::from_global_with(ctx, &g1, &PartitionSpec::Replicated).unwrap();
    let e = msg(r.halo_exchange(1));
    check!(e.contains("REPLICATED"), "replicated: message {e:?}");
    check_err_same!(ctx, r.local_with_halo(1), Error::NotSupported(_), "replicated");
    // A tensor split along axis 1.
    let t1 = DistributedTensor::<f64>::with_layout(ctx, &[n, 4], 0.0, 1, &PartitionSpec::Block).unwrap();
    let e = t1.local_padded(&[(1, 1), (1, 1)], Boundary::Constant(0.0)).err().map(|e| e.to_string());
    check!(e.is_some_and(|e| e.contains("axis 1")), "axis 1: message");
    check_err_same!(ctx, t1.halo_exchange(1), Error::NotSupported(_), "axis 1");

    // Widths.
    let v = DistributedVector::from_global(ctx, &g1).unwrap();
    let t = DistributedTensor::<f64>::new(ctx, &[n, 4]).unwrap();
    let e = msg(v.halo_exchange_spec(HaloSpec::new(n + 1, 0).periodic()));
    check!(e.contains("width") && e.contains(&format!("0..={n}")), "periodic width > n: message {e:?}");
    check_err_same!(ctx, t.halo_exchange_spec(HaloSpec::new(0, n + 1).periodic()), Error::InvalidArgument(_), "> n");
    check_err_same!(ctx, v.local_padded((n + 1, 1), Boundary::Periodic), Error::InvalidArgument(_), "1-D > n");
    check!(v.halo_exchange_spec(HaloSpec::new(n, n).periodic()).is_ok(), "periodic width n is fine");
    check!(v.halo_exchange_spec(HaloSpec::new(n + 5, n + 5)).is_ok(), "non-periodic widths clip");
    let e = t.local_padded(&[(1, 1)], Boundary::Constant(0.0)).err().map(|e| e.to_string()).unwrap_or_default();
    check!(e.contains("width") && e.contains("one (lower, upper) pair per axis (2"), "wrong count: {e:?}");
    check_err_same!(ctx, t.local_padded(&[(1, 1)], Boundary::Constant(0.0)), Error::InvalidArgument(_), "count");
    check_err_same!(ctx, t.local_padded(&[(0, 0); 3], Boundary::Periodic), Error::InvalidArgument(_), "3 pairs");
    let e = t.local_padded(&[(1, 1), (5, 0)], Boundary::Periodic).err().map(|e| e.to_string()).unwrap_or_default();
    check!(e.contains("axis 1") && e.contains("0..=4"), "periodic local width > extent: {e:?}");
    check!(t.local_padded(&[(1, 1), (5, 0)], Boundary::Constant(1.0)).is_ok(), "constant local width > extent");
    check_err_same!(ctx, v.local_padded((usize::MAX, 1), Boundary::Constant(0.0)), Error::InvalidArgument(_), "huge");
    check_err_same!(
        ctx,
        t.local_padded(&[(0, 0), (usize::MAX / 2, usize::MAX / 2)], Boundary::Constant(0.0)),
        Error::InvalidArgument(_),
        "huge local width"
    );
    let empty = DistributedVector::<f64>::new(ctx, 0).unwrap();
    check!(empty.halo_exchange_spec(HaloSpec::new(0, 0).periodic()).is_ok(), "n = 0, periodic width 0");
    check_err_same!(ctx, empty.halo_exchange_spec(HaloSpec::new(1, 0).periodic()), Error::InvalidArgument(_), "n=0");

    // Ranks that disagree: a mismatch on every rank, not a hang.
    if p > 1 {
        check_err_same!(ctx, v.halo_exchange(1 + me), Error::Mismatch(_), "widths differ");
        check_err_same!(ctx, v.halo_exchange_spec(HaloSpec::new(1, me)), Error::Mismatch(_), "upper widths differ");
        let s = if me == 0 { HaloSpec::symmetric(1).periodic() } else { HaloSpec::symmetric(1) };
        check_err_same!(ctx, t.halo_exchange_spec(s), Error::Mismatch(_), "periodic differs");
        let b = if me == 0 { Boundary::Periodic } else { Boundary::Constant(0.0) };
        check_err_same!(ctx, t.local_padded(&[(1, 1), (1, 1)], b), Error::Mismatch(_), "boundary kinds differ");
        let c = Boundary::Constant(0.0);
        check_err_same!(ctx, t.local_padded(&[(1, 1), (me, 1)], c), Error::Mismatch(_), "local widths differ");
        // Only one rank's widths are invalid: every rank fails.
        let w = if me == p - 1 { vec![(1, 1)] } else { vec![(1, 1), (1, 1)] };
        check_err_same!(ctx, t.local_padded(&w, Boundary::Constant(0.0)), Error::InvalidArgument(_), "one rank");
    }
    // Nothing is left in flight: a halo exchange after the errors works.
    let h = v.halo_exchange(1).unwrap();
    let mine = held(&PartitionSpec::Block, n, p, me);
    let g = ArrayD::from_shape_vec(IxDyn(&[n]), g1).unwrap();
    check_eq!((h.lower, h.upper), model_halo(&g, &mine, HaloSpec::symmetric(1)), "after the errors");
}

/// Many exchanges back to back (messages of consecutive calls must not
/// mix), with the data changing in between, as in a time loop.
fn t_repeated(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    let n = 3 * p + 1;
    let mut t = DistributedTensor::<i64>::new(ctx, &[n, 5]).unwrap();
    let mine = held(&PartitionSpec::Block, n, p, me);
    for step in 0..50i64 {
        let g = ArrayD::from_shape_fn(IxDyn(&[n, 5]), |i| step * 1000 + (i[0] * 5 + i[1]) as i64);
        t.local_view_mut().assign(&g.slice_axis(Axis(0), Slice::from(mine.clone())));
        let spec = HaloSpec::new((step % 3) as usize, (step % 2) as usize + 1).periodic();
        let h = t.halo_exchange_spec(spec).unwrap();
        let (lo, hi) = model_halo(&g, &mine, spec);
        check_eq!((h.lower, h.upper), (lo, hi), "step {step}");
    }
}
