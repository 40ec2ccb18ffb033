//! Multi-rank tests of GPU placement (`dtl_gpu`): device and unified
//! containers, the device algorithms checked against the host path of
//! `dtl_core` on the same data, and the device collectives (MPI-staged and
//! NCCL). Without CUDA (CI) the suite checks instead that every device
//! request fails cleanly, with the same error on every rank and no hang.
//!
//! ```text
//! for np in 1 2 3 4; do cargo test --release -p dtl-gpu --test mpi_device \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! ```

#[path = "../../dtl-core/tests/common/mod.rs"]
#[macro_use]
mod common;

use common::{specs, Suite};

use dtl_core::partition::PartitionSpec;
use dtl_core::{Context, DistributedTensor, DistributedVector, Element, Error, Placement, ReduceOp};
use dtl_gpu::{
    nccl, resolve_placement, DeviceBuffer, DeviceComm, DeviceContainer, GpuElement, NcclComm, NcclMode, NcclOp, UnaryOp,
};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite::new();
    s.add("gpu::codes_and_tables", t_codes);
    s.add("gpu::unary_op_names", t_unary_names);
    if dtl_gpu::has_cuda() {
        per_dtype!(s, "gpu::round_trip_and_fill", t_round_trip);
        per_dtype!(s, "gpu::transform_matches_host", t_transform);
        per_dtype!(s, "gpu::reduce_matches_host", t_reduce);
        per_dtype!(s, "gpu::scans_match_host", t_scans);
        per_dtype!(s, "gpu::sort_matches_host", t_sort);
        per_dtype!(s, "gpu::collectives_staged", t_collectives_staged);
        s.add("gpu::tensor_round_trip", t_tensor);
        s.add("gpu::unified_is_host_accessible", t_unified);
        s.add("gpu::float_specials", t_float_specials);
        s.add("gpu::bad_input", t_bad_input_gpu);
        if dtl_gpu::has_nccl() {
            per_dtype!(s, "gpu::nccl_collectives", t_nccl);
            s.add("gpu::nccl_native_only_refuses_hybrid", t_nccl_native_only);
        }
    } else {
        s.add("gpu::without_cuda_every_rank_fails_cleanly", t_without_cuda);
    }
    s
}

const SIZES: [usize; 5] = [0, 1, 5, 1000, 100_003];

/// Test data at global index `g`: small, with repeats; fits every dtype.
fn val<T: Element>(g: usize) -> T {
    T::from_f64(((g * 37 + 11) % 23) as f64)
}

fn global<T: Element>(n: usize) -> Vec<T> {
    (0..n).map(val).collect()
}

/// Equal, or both NaN, or (floats) within a relative tolerance (device sums
/// are associated differently from the host's).
fn close<T: Element>(a: T, b: T) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    if !T::DTYPE.is_float() {
        return false;
    }
    let (x, y) = (a.to_f64(), b.to_f64());
    (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(1.0)
}

fn all_close<T: Element>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y))
}

/// A host vector and its device copy, for every partition, every size.
fn each_pair<T: GpuElement>(ctx: &Context, p: Placement) -> Vec<(String, DistributedVector<T>, DeviceContainer<T>)> {
    let mut out = Vec::new();
    for n in SIZES {
        for (name, spec) in specs(n, ctx.size()) {
            let host = DistributedVector::from_global_with(ctx, &global::<T>(n), &spec).unwrap();
            let dev = DeviceContainer::from_vector(&host, p, None).unwrap();
            out.push((format!("{name} n={n} {p:?}"), host, dev));
        }
    }
    out
}

fn t_codes(_: &Context) {
    for m in [NcclMode::NativeOnly, NcclMode::HybridParity] {
        check_eq!(NcclMode::from_code(m as i64).unwrap(), m, "mode round trip");
    }
    check_err!(NcclMode::from_code(2), Error::InvalidArgument(_), "mode 2");
    check_err!(NcclMode::from_code(-1), Error::InvalidArgument(_), "mode -1");
    for o in NcclOp::ALL {
        check_eq!(NcclOp::from_code(o as i64).unwrap(), o, "op round trip");
        check!(nccl::supports_hybrid(o), "hybrid supports {o:?}");
    }
    check_err!(NcclOp::from_code(NcclOp::ALL.len() as i64), Error::InvalidArgument(_), "op out of range");
    for o in [NcclOp::Allreduce, NcclOp::Broadcast, NcclOp::Reduce, NcclOp::Allgather, NcclOp::ReduceScatter] {
        check!(nccl::supports_native(o), "{o:?} is native");
    }
    for o in [NcclOp::Scan, NcclOp::Exscan, NcclOp::Vcollectives, NcclOp::LogicalReduce, NcclOp::Gather] {
        check!(!nccl::supports_native(o), "{o:?} is not native");
    }
    check_eq!(resolve_placement(Placement::Host).unwrap(), Placement::Host, "host stays host");
    let pref = resolve_placement(Placement::DevicePreferred).unwrap();
    check_eq!(pref, if dtl_gpu::has_cuda() { Placement::Device } else { Placement::Host }, "device preferred");
}

fn t_unary_names(_: &Context) {
    for o in UnaryOp::ALL {
        check_eq!(UnaryOp::from_name(o.name()), Some(o), "name round trip");
        check!(o.check_for::<f32>().is_ok(), "{o:?} on f32");
        check_eq!(o.check_for::<i32>().is_ok(), !o.float_only(), "{o:?} on i32");
    }
    check_eq!(UnaryOp::from_name("abs"), Some(UnaryOp::Abs), "abs alias");
    check_eq!(UnaryOp::from_name("nope"), None, "unknown name");
    check_eq!(UnaryOp::Negate.apply_host(5i8, 0), -5i8, "negate i8");
    check_eq!(UnaryOp::Negate.apply_host(1u8, 0), 255u8, "negate wraps u8");
    check_eq!(UnaryOp::Abs.apply_host(-3i64, 0), 3i64, "abs");
    check_eq!(UnaryOp::Scale.apply_host(3.0f64, 2.0), 6.0, "scale");
}

fn t_without_cuda(ctx: &Context) {
    for p in [Placement::Device, Placement::Unified] {
        check_err!(resolve_placement(p), Error::InvalidArgument(_), "resolve {p:?}");
        let r = DeviceContainer::<f64>::vector(ctx, 10, 0.0, &PartitionSpec::Block, p, None);
        check_err_same!(ctx, r, Error::InvalidArgument(_), "device vector without CUDA ({p:?})");
        let host = DistributedVector::<f32>::new(ctx, 7).unwrap();
        check_err_same!(ctx, DeviceContainer::from_vector(&host, p, None), Error::InvalidArgument(_), "to_device");
    }
    let r = DeviceContainer::<f64>::vector(ctx, 10, 0.0, &PartitionSpec::Block, Placement::DevicePreferred, None);
    check_err_same!(ctx, r, Error::InvalidArgument(_), "a device container cannot fall back to the host");
    check_err_same!(ctx, NcclComm::new(ctx, None, NcclMode::HybridParity), Error::Backend(_), "NCCL without CUDA");
    check_err!(dtl_gpu::gpu(0), Error::Backend(_), "gpu(0)");
    check_eq!(dtl_gpu::device_count(), 0, "no devices");
    // A rank that asks for a device while the others do not must not hang
    // them: the agreement step rejects it everywhere.
    let p = if ctx.rank() == 0 { Placement::Device } else { Placement::Unified };
    let r = DeviceContainer::<i32>::vector(ctx, 3, 0, &PartitionSpec::Block, p, None);
    check!(r.is_err(), "mixed placements fail");
}

fn t_round_trip<T: GpuElement>(ctx: &Context) {
    for p in [Placement::Device, Placement::Unified] {
        for (name, host, mut dev) in each_pair::<T>(ctx, p) {
            check_eq!(dev.local_size(), host.local_size(), "{name}: local size");
            check_eq!(dev.global_size(), host.global_size(), "{name}: global size");
            check_eq!(dev.placement(), p, "{name}: placement");
            check_eq!(dev.is_host_accessible(), p == Placement::Unified, "{name}: host accessible");
            check_eq!(dev.local_to_host().unwrap(), host.local().to_vec(), "{name}: local copy");
            let back = dev.to_vector().unwrap();
            check_eq!(back.local(), host.local(), "{name}: to_vector");
            check!(back.partition() == host.partition(), "{name}: layout kept");
            check_eq!(dev.gather_all().unwrap(), host.gather_all().unwrap(), "{name}: gather_all");
            let v = T::from_f64(7.0);
            dev.fill(v).unwrap();
            check!(dev.local_to_host().unwrap().iter().all(|&x| x == v), "{name}: fill");
        }
        let made = DeviceContainer::<T>::vector(ctx, 1001, T::ONE, &PartitionSpec::Cyclic, p, None).unwrap();
        let want = DistributedVector::<T>::with_layout(ctx, 1001, T::ONE, &PartitionSpec::Cyclic).unwrap();
        check_eq!(made.local_to_host().unwrap(), want.local().to_vec(), "constructor with value, {p:?}");
    }
}

fn t_transform<T: GpuElement>(ctx: &Context) {
    let a = T::from_f64(3.0);
    for (name, host, dev) in each_pair::<T>(ctx, Placement::Device) {
        for op in UnaryOp::ALL {
            if op.check_for::<T>().is_err() {
                let mut d = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
                check_err!(d.transform(op, a), Error::InvalidArgument(_), "{name}: {op:?} on integers");
                continue;
            }
            let mut d = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
            d.transform(op, a).unwrap();
            let want: Vec<T> = host.local().iter().map(|&x| op.apply_host(x, a)).collect();
            check!(all_close(&d.local_to_host().unwrap(), &want), "{name}: transform {op:?}");
            let mut out = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
            out.fill(T::ZERO).unwrap();
            dev.transform_into(&mut out, op, a).unwrap();
            check!(all_close(&out.local_to_host().unwrap(), &want), "{name}: transform_into {op:?}");
        }
    }
}

fn t_reduce<T: GpuElement>(ctx: &Context) {
    for (name, host, dev) in each_pair::<T>(ctx, Placement::Device) {
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Min, ReduceOp::Max] {
            let want = host.reduce(op).unwrap();
            let got = dev.reduce(op).unwrap();
            check!(close(got, want), "{name}: reduce {op:?}: device {got:?}, host {want:?}");
            let local = dev.reduce_local(op).unwrap();
            let want_local = host.local().iter().fold(op.identity::<T>(), |acc, &x| op.apply(acc, x));
            check!(close(local, want_local), "{name}: reduce_local {op:?}");
        }
        check_err_same!(ctx, dev.reduce(ReduceOp::BXor), Error::NotSupported(_), "{name}: bitwise on device");
    }
}

fn t_scans<T: GpuElement>(ctx: &Context) {
    for (name, host, _) in each_pair::<T>(ctx, Placement::Device) {
        for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
            let mut h = host.clone_container();
            h.inclusive_scan(op).unwrap();
            let mut d = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
            d.inclusive_scan(op).unwrap();
            check!(all_close(&d.local_to_host().unwrap(), h.local()), "{name}: inclusive {op:?}");
            let init = T::from_f64(2.0);
            let mut h = host.clone_container();
            h.exclusive_scan(op, init).unwrap();
            let mut d = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
            d.exclusive_scan(op, init).unwrap();
            check!(all_close(&d.local_to_host().unwrap(), h.local()), "{name}: exclusive {op:?}");
        }
    }
}

fn t_sort<T: GpuElement>(ctx: &Context) {
    for (name, host, _) in each_pair::<T>(ctx, Placement::Device) {
        for reverse in [false, true] {
            let mut h = host.clone_container();
            h.sort(reverse).unwrap();
            let mut d = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
            d.sort(reverse).unwrap();
            check_eq!(d.local_to_host().unwrap(), h.local().to_vec(), "{name}: sort reverse={reverse}");
        }
    }
}

fn t_collectives_staged<T: GpuElement>(ctx: &Context) {
    let g = dtl_gpu::container::resolve_device(ctx, None).unwrap();
    let comm = DeviceComm::new(ctx, None);
    let size = ctx.size();
    let mine: Vec<T> = (0..6 * size).map(|i| T::from_f64(((i + ctx.rank()) % 7) as f64)).collect();
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    comm.allreduce(&mut b, ReduceOp::Sum).unwrap();
    check_eq!(b.to_vec().unwrap(), ctx.allreduce(&mine, ReduceOp::Sum).unwrap(), "allreduce");
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    comm.broadcast(&mut b, size - 1).unwrap();
    check_eq!(b.to_vec().unwrap(), ctx.broadcast_vec(&mine, size - 1).unwrap(), "broadcast");
    let b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    check_eq!(comm.allgather(&b).unwrap().to_vec().unwrap(), ctx.allgather(&mine).unwrap(), "allgather");
    let rs = comm.reduce_scatter(&b, ReduceOp::Max).unwrap().to_vec().unwrap();
    let all = ctx.allreduce(&mine, ReduceOp::Max).unwrap();
    check_eq!(rs, all[ctx.rank() * 6..(ctx.rank() + 1) * 6].to_vec(), "reduce_scatter");
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    comm.scan(&mut b, ReduceOp::Sum).unwrap();
    check_eq!(b.to_vec().unwrap(), ctx.scan(&mine, ReduceOp::Sum).unwrap(), "scan");
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    comm.alltoall(&mut b).unwrap();
    check_eq!(b.to_vec().unwrap(), ctx.alltoall(&mine).unwrap(), "alltoall");
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    check_err_same!(ctx, comm.broadcast(&mut b, size), Error::Bounds(_), "broadcast root out of range");
    // The v-variants (hybrid: MPI with host staging), uneven lengths.
    let uneven: Vec<T> = (0..ctx.rank() + 1).map(|i| T::from_f64((i * 5 + ctx.rank()) as f64 % 9.0)).collect();
    let b = DeviceBuffer::from_host(&g, &uneven, Placement::Device).unwrap();
    let (all, counts) = comm.allgatherv(&b).unwrap();
    let (want, want_counts) = ctx.allgatherv(&uneven).unwrap();
    check_eq!((all.to_vec().unwrap(), counts), (want, want_counts), "allgatherv");
    let got = comm.gatherv(&b, 0).unwrap().map(|(d, c)| (d.to_vec().unwrap(), c));
    check_eq!(got, ctx.gatherv(&uneven, 0).unwrap(), "gatherv");
    let root_data: Vec<T> = (0..size * (size + 1) / 2).map(|i| T::from_f64((i % 13) as f64)).collect();
    let counts: Vec<usize> = (1..=size).collect();
    let rb = DeviceBuffer::from_host(&g, &root_data, Placement::Device).unwrap();
    let got = comm.scatterv(&rb, &counts, size - 1).unwrap().to_vec().unwrap();
    check_eq!(got, ctx.scatterv(&root_data, &counts, size - 1).unwrap(), "scatterv");
    let send_counts = vec![1usize; size];
    let sb = DeviceBuffer::from_host(&g, &mine[..size], Placement::Device).unwrap();
    let (got, c) = comm.alltoallv(&sb, &send_counts).unwrap();
    check_eq!((got.to_vec().unwrap(), c), ctx.alltoallv(&mine[..size], &send_counts).unwrap(), "alltoallv");
}

fn t_nccl<T: GpuElement>(ctx: &Context) {
    let nc = std::sync::Arc::new(NcclComm::new(ctx, None, NcclMode::HybridParity).unwrap());
    let g = nc.gpu().clone();
    let comm = DeviceComm::new(ctx, Some(nc));
    let size = ctx.size();
    let mine: Vec<T> = (0..4 * size).map(|i| T::from_f64(((i * 3 + ctx.rank()) % 5) as f64)).collect();
    for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::BOr] {
        if op == ReduceOp::BOr && T::DTYPE.is_float() {
            continue;
        }
        let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
        comm.allreduce(&mut b, op).unwrap();
        check_eq!(b.to_vec().unwrap(), ctx.allreduce(&mine, op).unwrap(), "nccl allreduce {op:?}");
        let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
        comm.reduce(&mut b, op, 0).unwrap();
        if let Some(want) = ctx.reduce(&mine, op, 0).unwrap() {
            check_eq!(b.to_vec().unwrap(), want, "nccl reduce {op:?}");
        }
    }
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    comm.broadcast(&mut b, 0).unwrap();
    check_eq!(b.to_vec().unwrap(), ctx.broadcast_vec(&mine, 0).unwrap(), "nccl broadcast");
    let b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    check_eq!(comm.allgather(&b).unwrap().to_vec().unwrap(), ctx.allgather(&mine).unwrap(), "nccl allgather");
    let rs = comm.reduce_scatter(&b, ReduceOp::Sum).unwrap().to_vec().unwrap();
    let all = ctx.allreduce(&mine, ReduceOp::Sum).unwrap();
    check_eq!(rs, all[ctx.rank() * 4..(ctx.rank() + 1) * 4].to_vec(), "nccl reduce_scatter");
    let mut b = DeviceBuffer::from_host(&g, &mine, Placement::Device).unwrap();
    comm.exscan(&mut b, ReduceOp::Sum).unwrap();
    check_eq!(b.to_vec().unwrap(), ctx.exscan(&mine, ReduceOp::Sum).unwrap(), "hybrid exscan");
}

fn t_nccl_native_only(ctx: &Context) {
    let nc = std::sync::Arc::new(NcclComm::new(ctx, None, NcclMode::NativeOnly).unwrap());
    let g = nc.gpu().clone();
    let comm = DeviceComm::new(ctx, Some(nc));
    let mut b = DeviceBuffer::from_host(&g, &[1i64, 2, 3], Placement::Device).unwrap();
    check_err_same!(ctx, comm.scan(&mut b, ReduceOp::Sum), Error::NotSupported(_), "scan in native-only");
    check_err_same!(ctx, comm.allreduce(&mut b, ReduceOp::LAnd), Error::NotSupported(_), "LAND native-only");
    check_err_same!(ctx, comm.allgatherv(&b), Error::NotSupported(_), "allgatherv in native-only");
    let mut h = DeviceBuffer::from_host(&g, &[1i16, 2], Placement::Device).unwrap();
    check_err_same!(ctx, comm.allreduce(&mut h, ReduceOp::Sum), Error::NotSupported(_), "int16 native-only");
    comm.allreduce(&mut b, ReduceOp::Sum).unwrap();
    let n = ctx.size() as i64;
    check_eq!(b.to_vec().unwrap(), vec![n, 2 * n, 3 * n], "native allreduce still works");
}

fn t_tensor(ctx: &Context) {
    for axis in [0, 1] {
        let shape = [7, 5, 3];
        let host = DistributedTensor::<f32>::with_layout(ctx, &shape, 1.5, axis, &PartitionSpec::Block).unwrap();
        let mut dev = DeviceContainer::from_tensor(&host, Placement::Device, None).unwrap();
        check_eq!(dev.local_shape(), host.local_shape(), "tensor local shape, axis {axis}");
        dev.transform(UnaryOp::Scale, 2.0).unwrap();
        let back = dev.to_tensor().unwrap();
        check!(back.local().iter().all(|&x| x == 3.0), "tensor scaled, axis {axis}");
        check_eq!(dev.reduce(ReduceOp::Sum).unwrap(), 3.0 * 105.0, "tensor sum, axis {axis}");
        check_err_same!(ctx, dev.sort(false), Error::NotSupported(_), "tensor sort");
        check_err!(dev.to_vector(), Error::InvalidArgument(_), "tensor to_vector");
    }
}

fn t_unified(ctx: &Context) {
    let mut v = DeviceContainer::<f64>::vector(ctx, 100, 1.0, &PartitionSpec::Block, Placement::Unified, None).unwrap();
    let n = v.local_size();
    {
        let host = v.buffer_mut().host_slice_mut().unwrap().expect("unified memory is host accessible");
        host.iter_mut().enumerate().for_each(|(i, x)| *x = i as f64);
    }
    v.transform(UnaryOp::Add, 1.0).unwrap();
    let seen = v.buffer().host_slice().unwrap().unwrap().to_vec();
    check_eq!(seen, (0..n).map(|i| i as f64 + 1.0).collect::<Vec<_>>(), "host writes seen by the kernel");
    let d = DeviceContainer::<f64>::vector(ctx, 10, 1.0, &PartitionSpec::Block, Placement::Device, None).unwrap();
    check!(d.buffer().host_slice().unwrap().is_none(), "device memory is not host accessible");
}

fn t_float_specials(ctx: &Context) {
    let mut g: Vec<f64> = global(50);
    g[17] = f64::NAN;
    g[3] = -0.0;
    let host = DistributedVector::from_global(ctx, &g).unwrap();
    let dev = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
    check!(dev.reduce(ReduceOp::Max).unwrap().is_nan(), "max propagates NaN");
    check!(dev.reduce(ReduceOp::Min).unwrap().is_nan(), "min propagates NaN");
    for reverse in [false, true] {
        let mut d = DeviceContainer::from_vector(&host, Placement::Device, None).unwrap();
        d.sort(reverse).unwrap();
        let all = d.gather_all().unwrap();
        check!(all[49].is_nan(), "NaN last, reverse={reverse}");
        let mut want = g.clone();
        want.retain(|x| !x.is_nan());
        want.sort_by(|a, b| a.total_cmp(b));
        if reverse {
            want.reverse();
        }
        check!(all[..49].iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "order, reverse={reverse}");
    }
}

fn t_bad_input_gpu(ctx: &Context) {
    let r = DeviceContainer::<f64>::vector(ctx, 10, 0.0, &PartitionSpec::Block, Placement::Device, Some(9999));
    check_err_same!(ctx, r, Error::InvalidArgument(_), "device id out of range");
    let bad = if ctx.rank() == 0 { Some(9999) } else { None };
    let r = DeviceContainer::<f64>::vector(ctx, 10, 0.0, &PartitionSpec::Block, Placement::Device, bad);
    check_err_same!(ctx, r, Error::InvalidArgument(_), "device id out of range on one rank");
    let r = DeviceContainer::<f64>::vector(ctx, 10, 0.0, &PartitionSpec::Block, Placement::Host, None);
    check_err_same!(ctx, r, Error::InvalidArgument(_), "host placement is not a device container");
    let r = DeviceContainer::<f64>::tensor(ctx, &[4, 4], 2, 0.0, &PartitionSpec::Block, Placement::Device, None);
    check_err_same!(ctx, r, Error::InvalidArgument(_), "axis out of range");
    let mut v = DeviceContainer::<f64>::vector(ctx, 10, 0.0, &PartitionSpec::Block, Placement::Device, None).unwrap();
    let n = v.local_size();
    check_err!(v.local_from_host(&vec![0.0; n + 1]), Error::InvalidArgument(_), "upload of the wrong length");
    check_err_same!(ctx, v.inclusive_scan(ReduceOp::LOr), Error::NotSupported(_), "logical scan");
}

/// A copy of a host vector with the same layout (collective).
trait CloneContainer<T: Element> {
    fn clone_container(&self) -> DistributedVector<T>;
}
impl<T: Element> CloneContainer<T> for DistributedVector<T> {
    fn clone_container(&self) -> DistributedVector<T> {
        DistributedVector::from_layout(self.context(), self.partition().clone(), self.local().to_vec()).unwrap()
    }
}
