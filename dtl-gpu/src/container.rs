//! [`DeviceContainer`]: a distributed vector, array or tensor whose local
//! parts live in GPU memory (device or unified), and its device
//! algorithms.
//!
//! The global shape, split axis and partition layout are those of the host
//! containers (`dtl_core`), so a container moves between host and device
//! without moving between ranks ([`DeviceContainer::from_vector`],
//! [`to_vector`](DeviceContainer::to_vector), and the tensor variants).
//!
//! Device algorithms run kernels from [`crate::kernels`] on the local part
//! and MPI (through the core's collectives) for the few values that cross
//! ranks — a reduction's partial result, a scan's carry. What has no
//! device kernel (multi-rank sort's exchange, scans of cyclic layouts) is
//! staged through host memory, said per method. Every method that
//! communicates is collective and says so.

use std::sync::Arc;

use dtl_core::partition::{Layout, Partition, PartitionSpec};
use dtl_core::{Context, DistributedTensor, DistributedVector, Error, Placement, ReduceOp, Result};

use crate::buffer::DeviceBuffer;
use crate::device::{gpu, Gpu, GpuElement};
use crate::kernels::{check_device_op, UnaryOp};

/// Resolves the placement a user asked for into what is stored:
/// `Device`/`Unified` need CUDA; `DevicePreferred` is `Device` when CUDA is
/// usable and `Host` otherwise. Not collective.
///
/// # Errors
/// [`Error::InvalidArgument`] for `Device`/`Unified` without CUDA, with
/// the CUDA probe's reason.
pub fn resolve_placement(placement: Placement) -> Result<Placement> {
    match placement {
        Placement::Host => Ok(Placement::Host),
        Placement::DevicePreferred => Ok(if crate::has_cuda() { Placement::Device } else { Placement::Host }),
        p if crate::has_cuda() => Ok(p),
        p => Err(Error::InvalidArgument(format!(
            "placement PLACEMENT_{} is not available: {}; use PLACEMENT_HOST or PLACEMENT_DEVICE_PREFERRED",
            p.name(),
            crate::cuda_status()
        ))),
    }
}

/// This process's rank on its node as the launcher tells it
/// (`OMPI_COMM_WORLD_LOCAL_RANK`, `MPI_LOCALRANKID`, `SLURM_LOCALID`,
/// `MV2_COMM_WORLD_LOCAL_RANK`, `PMI_LOCAL_RANK`, `LOCAL_RANK`), else
/// `fallback`. Not collective (no MPI call), so it is safe inside a
/// constructor that some ranks may leave early.
pub fn launcher_local_rank(fallback: usize) -> usize {
    const VARS: [&str; 6] = [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "SLURM_LOCALID",
        "MV2_COMM_WORLD_LOCAL_RANK",
        "PMI_LOCAL_RANK",
        "LOCAL_RANK",
    ];
    VARS.iter().find_map(|v| std::env::var(v).ok()?.trim().parse().ok()).unwrap_or(fallback)
}

/// The device a container on `ctx` uses: `device_id` if given, else the
/// context's device, else this process's rank on the node (as the launcher
/// reports it, see [`launcher_local_rank`]) modulo the visible GPUs. Not
/// collective.
///
/// # Errors
/// [`Error::Backend`] without CUDA; [`Error::InvalidArgument`] for a
/// device id out of range.
pub fn resolve_device(ctx: &Context, device_id: Option<i32>) -> Result<Arc<Gpu>> {
    match device_id.or(ctx.device_id()) {
        Some(d) => gpu(d),
        None => {
            crate::require_cuda()?;
            let n = crate::device_count().max(1);
            gpu((launcher_local_rank(ctx.rank()) % n) as i32)
        }
    }
}

/// A distributed container with its local parts on GPUs: global `shape`
/// split along `axis` by a partition [`Layout`] over the context's ranks
/// (1-D containers: shape `[n]`, axis 0), this rank's C-order block in a
/// [`DeviceBuffer`].
#[derive(Debug)]
pub struct DeviceContainer<T: GpuElement> {
    ctx: Context,
    shape: Vec<usize>,
    axis: usize,
    layout: Layout,
    buf: DeviceBuffer<T>,
}

/// Product of the extents other than `axis`.
fn others(shape: &[usize], axis: usize) -> usize {
    shape.iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &e)| e).product()
}

impl<T: GpuElement> DeviceContainer<T> {
    /// A 1-D container of `n` elements set to `value`, laid out by `spec`,
    /// in `placement` (`Device`, `Unified`) on `device_id` (else the
    /// context's device, else the rank's default). Collective: ranks agree
    /// on size, dtype, layout and placement, and a failure on any rank
    /// (allocation, device id) is raised on every rank.
    ///
    /// # Errors
    /// [`Error::Mismatch`], [`Error::InvalidArgument`], [`Error::Memory`],
    /// [`Error::Backend`] as described, on every rank.
    pub fn vector(
        ctx: &Context,
        n: usize,
        value: T,
        spec: &PartitionSpec,
        placement: Placement,
        device_id: Option<i32>,
    ) -> Result<Self> {
        Self::tensor(ctx, &[n], 0, value, spec, placement, device_id)
    }

    /// An N-d container of global `shape` split along `axis` by `spec`,
    /// every element `value`. Collective, as [`vector`](Self::vector).
    ///
    /// # Errors
    /// As [`vector`](Self::vector); [`Error::InvalidArgument`] for an empty
    /// shape or an axis out of range.
    pub fn tensor(
        ctx: &Context,
        shape: &[usize],
        axis: usize,
        value: T,
        spec: &PartitionSpec,
        placement: Placement,
        device_id: Option<i32>,
    ) -> Result<Self> {
        let local = (|| -> Result<(Layout, DeviceBuffer<T>)> {
            if shape.is_empty() || axis >= shape.len() {
                return Err(Error::InvalidArgument(format!(
                    "axis must be in 0..{} for shape {shape:?}, got {axis}",
                    shape.len()
                )));
            }
            let layout = spec.layout(shape[axis], ctx.size())?;
            let placement = match resolve_placement(placement)? {
                Placement::Host => {
                    return Err(Error::InvalidArgument(
                        "a device container needs PLACEMENT_DEVICE or PLACEMENT_UNIFIED (CUDA is not available)".into(),
                    ))
                }
                p => p,
            };
            let g = resolve_device(ctx, device_id)?;
            let len = layout.local_size(ctx.rank()) * others(shape, axis);
            let buf = DeviceBuffer::zeros(&g, len, placement)?;
            if value != T::ZERO {
                let k = g.kernels::<T>()?;
                // SAFETY: the buffer holds `len` elements on `g`.
                unsafe { k.fill(g.stream(), buf.device_ptr(), len as u64, value)? };
                g.synchronize()?;
            }
            Ok((layout, buf))
        })();
        let sig = spec.signature();
        let mut fields = dtl_core::containers::tensor_fields(shape, axis, T::DTYPE, sig);
        fields.push(("placement", placement as i64));
        ctx.agree_or_reject("device container construction", &fields, local.as_ref().err().cloned())?;
        let (layout, buf) = local?;
        Ok(DeviceContainer { ctx: ctx.clone(), shape: shape.to_vec(), axis, layout, buf })
    }

    /// A device copy of a host vector or array: same layout, each rank's
    /// part copied host → device. Collective (agreement on placement and
    /// errors).
    ///
    /// # Errors
    /// As [`vector`](Self::vector).
    pub fn from_vector(
        src: &dtl_core::containers::Distributed1D<T>,
        placement: Placement,
        device_id: Option<i32>,
    ) -> Result<Self> {
        let n = src.global_size();
        Self::adopt(src.context(), vec![n], 0, src.partition().clone(), src.local(), placement, device_id)
    }

    /// A device copy of a host tensor (any split axis). Collective.
    ///
    /// # Errors
    /// As [`vector`](Self::vector).
    pub fn from_tensor(src: &DistributedTensor<T>, placement: Placement, device_id: Option<i32>) -> Result<Self> {
        let (shape, axis) = (src.shape().to_vec(), src.split_axis());
        Self::adopt(src.context(), shape, axis, src.partition().clone(), src.local(), placement, device_id)
    }

    fn adopt(
        ctx: &Context,
        shape: Vec<usize>,
        axis: usize,
        layout: Layout,
        local: &[T],
        placement: Placement,
        device_id: Option<i32>,
    ) -> Result<Self> {
        let buf = (|| {
            let p = match resolve_placement(placement)? {
                Placement::Host => {
                    return Err(Error::InvalidArgument(
                        "to_device needs PLACEMENT_DEVICE or PLACEMENT_UNIFIED (CUDA is not available)".into(),
                    ))
                }
                p => p,
            };
            DeviceBuffer::from_host(&resolve_device(ctx, device_id)?, local, p)
        })();
        ctx.agree_or_reject("to_device", &[("placement", placement as i64)], buf.as_ref().err().cloned())?;
        Ok(DeviceContainer { ctx: ctx.clone(), shape, axis, layout, buf: buf? })
    }

    /// Adopts `buf` as this rank's part of a container of global `shape`
    /// split along `axis` by `layout` (e.g. the result of a device
    /// collective). Collective: ranks agree on the shape, axis and layout,
    /// and on each part's length.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if some part has the wrong
    /// length, the axis is out of range or the layout does not fit.
    pub fn from_parts(
        ctx: &Context,
        shape: &[usize],
        axis: usize,
        layout: Layout,
        buf: DeviceBuffer<T>,
    ) -> Result<Self> {
        let bad = if shape.is_empty() || axis >= shape.len() {
            Some(format!("axis must be in 0..{} for shape {shape:?}, got {axis}", shape.len()))
        } else if layout.global_size() != shape[axis] || layout.num_ranks() != ctx.size() {
            Some(format!("the layout does not cover shape[{axis}] = {} over {} ranks", shape[axis], ctx.size()))
        } else {
            let want = layout.local_size(ctx.rank()) * others(shape, axis);
            (buf.len() != want)
                .then(|| format!("rank {} has {} elements, its part holds {want}", ctx.rank(), buf.len()))
        };
        let fields = dtl_core::containers::tensor_fields(shape, axis, T::DTYPE, layout.spec().signature());
        ctx.agree_or_reject(
            "DeviceContainer::from_parts",
            &fields,
            bad.map(|m| Error::InvalidArgument(format!("DeviceContainer::from_parts: {m}"))),
        )?;
        Ok(DeviceContainer { ctx: ctx.clone(), shape: shape.to_vec(), axis, layout, buf })
    }

    /// A host copy as a [`DistributedVector`] with the same layout (1-D
    /// containers). Collective (the new vector's RMA exposure).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an N-d container (use
    /// [`to_tensor`](Self::to_tensor)); driver errors as
    /// [`Error::Backend`], on every rank.
    pub fn to_vector(&self) -> Result<DistributedVector<T>> {
        if self.shape.len() != 1 {
            return Err(Error::InvalidArgument(format!(
                "to_vector: the container is {}-d; use to_tensor",
                self.shape.len()
            )));
        }
        let local = self.buf.to_vec();
        self.ctx.agree_or_reject("to_host", &[], local.as_ref().err().cloned())?;
        DistributedVector::from_layout(&self.ctx, self.layout.clone(), local?)
    }

    /// A host copy as a [`DistributedTensor`] (same shape, axis, layout).
    /// Collective.
    ///
    /// # Errors
    /// As [`to_vector`](Self::to_vector).
    pub fn to_tensor(&self) -> Result<DistributedTensor<T>> {
        let local = self.buf.to_vec();
        self.ctx.agree_or_reject("to_host", &[], local.as_ref().err().cloned())?;
        DistributedTensor::from_layout(&self.ctx, &self.shape, self.axis, self.layout.clone(), local?)
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// The global shape (`[n]` for 1-D containers).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The split axis (0 for 1-D containers).
    pub fn split_axis(&self) -> usize {
        self.axis
    }
    /// The partition layout of the split axis.
    pub fn partition(&self) -> &Layout {
        &self.layout
    }
    /// This rank's block shape.
    pub fn local_shape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        s[self.axis] = self.layout.local_size(self.ctx.rank());
        s
    }
    /// Number of elements over all ranks.
    pub fn global_size(&self) -> usize {
        self.shape.iter().product()
    }
    /// Number of elements on this rank.
    pub fn local_size(&self) -> usize {
        self.buf.len()
    }
    /// Number of dimensions (1 for vectors and arrays).
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// The element type.
    pub fn dtype(&self) -> dtl_core::DType {
        T::DTYPE
    }
    /// The partition kind of the split axis.
    pub fn partition_kind(&self) -> dtl_core::PartitionKind {
        self.layout.kind()
    }
    /// Index (along the split axis) of this rank's first element, as the
    /// host containers define it.
    pub fn local_offset(&self) -> usize {
        self.layout.local_offset(self.ctx.rank())
    }
    /// The rank owning index `i` of the split axis.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `i` is out of range.
    pub fn owner(&self, i: usize) -> Result<usize> {
        self.layout.owner(i)
    }
    /// True if this rank owns index `i` of the split axis.
    pub fn is_local(&self, i: usize) -> bool {
        self.layout.is_local(self.ctx.rank(), i)
    }
    /// The local index of global index `i` if this rank owns it.
    pub fn to_local(&self, i: usize) -> Option<usize> {
        match self.layout.global_to_local(i) {
            Ok((r, l)) if r == self.ctx.rank() => Some(l),
            _ => None,
        }
    }
    /// The global index of local index `l` on this rank.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `l >= local_size`.
    pub fn to_global(&self, l: usize) -> Result<usize> {
        self.layout.local_to_global(self.ctx.rank(), l)
    }
    /// `Device` or `Unified`.
    pub fn placement(&self) -> Placement {
        self.buf.placement()
    }
    /// The CUDA device ordinal of this rank's part.
    pub fn device_id(&self) -> i32 {
        self.buf.gpu().ordinal() as i32
    }
    /// True for unified memory (the host may read the local part).
    pub fn is_host_accessible(&self) -> bool {
        self.buf.is_host_accessible()
    }
    /// The local part's buffer.
    pub fn buffer(&self) -> &DeviceBuffer<T> {
        &self.buf
    }
    /// The local part's buffer, writable.
    pub fn buffer_mut(&mut self) -> &mut DeviceBuffer<T> {
        &mut self.buf
    }

    fn gpu(&self) -> &Arc<Gpu> {
        self.buf.gpu()
    }

    /// A host copy of this rank's part. Not collective.
    ///
    /// # Errors
    /// As [`DeviceBuffer::to_vec`].
    pub fn local_to_host(&self) -> Result<Vec<T>> {
        self.buf.to_vec()
    }

    /// Replaces this rank's part with `src` (host → device). Not
    /// collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `src` is not `local_size()` long.
    pub fn local_from_host(&mut self, src: &[T]) -> Result<()> {
        self.buf.upload(src)
    }

    /// The whole container, on every rank, as a host vector in global
    /// (C) order: a device → host copy and the host `gather_all`.
    /// Collective.
    ///
    /// # Errors
    /// As [`to_tensor`](Self::to_tensor).
    pub fn gather_all(&self) -> Result<Vec<T>> {
        Ok(self.to_tensor()?.gather_all()?.into_raw_vec_and_offset().0)
    }

    /// Sets every local element to `value` (`dtl_fill` kernel). Not
    /// collective.
    ///
    /// # Errors
    /// [`Error::Backend`] (NVRTC, launch, or a failed kernel).
    pub fn fill(&mut self, value: T) -> Result<()> {
        let g = self.gpu().clone();
        let k = g.kernels::<T>()?;
        // SAFETY: the buffer holds `local_size()` elements on `g`.
        unsafe { k.fill(g.stream(), self.buf.device_ptr(), self.buf.len() as u64, value)? };
        g.synchronize()
    }

    /// Applies a built-in element-wise op in place: `x = op(x, a)` (`a`
    /// is the operand of `Scale`/`Add`, ignored otherwise). Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a float-only op on an integer dtype;
    /// [`Error::Backend`] from CUDA.
    pub fn transform(&mut self, op: UnaryOp, a: T) -> Result<()> {
        op.check_for::<T>()?;
        let g = self.gpu().clone();
        let k = g.kernels::<T>()?;
        let p = self.buf.device_ptr();
        // SAFETY: in place over the buffer's `local_size()` elements.
        unsafe { k.unary(g.stream(), p, p, self.buf.len() as u64, op, a)? };
        g.synchronize()
    }

    /// Writes `op(x, a)` for every element of `self` into `dst`, which
    /// must have the same shape, layout and device. Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for mismatched containers or a
    /// float-only op on integers; [`Error::Backend`] from CUDA.
    pub fn transform_into(&self, dst: &mut DeviceContainer<T>, op: UnaryOp, a: T) -> Result<()> {
        op.check_for::<T>()?;
        if dst.shape != self.shape || dst.layout != self.layout || dst.device_id() != self.device_id() {
            return Err(Error::InvalidArgument(
                "transform: dst must have the same shape, partition and device as src".into(),
            ));
        }
        let g = self.gpu().clone();
        let k = g.kernels::<T>()?;
        // SAFETY: both buffers hold `local_size()` elements on `g`.
        unsafe { k.unary(g.stream(), dst.buf.device_ptr(), self.buf.device_ptr(), self.buf.len() as u64, op, a)? };
        g.synchronize()
    }

    /// `op` over this rank's elements (the op's identity if none), on
    /// the device. Not collective.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for ops other than SUM, PROD, MIN, MAX;
    /// [`Error::Backend`] from CUDA.
    pub fn reduce_local(&self, op: ReduceOp) -> Result<T> {
        let code = check_device_op(op, "reduce")?;
        let g = self.gpu().clone();
        let k = g.kernels::<T>()?;
        // SAFETY: the buffer holds `local_size()` elements on `g`.
        unsafe { k.reduce(g.stream(), g.sm_count(), self.buf.device_ptr(), self.buf.len() as u64, code, op.identity()) }
    }

    /// `op` over all elements, on every rank: a device reduction of each
    /// part, then `MPI_Allreduce` of one value. Min/max propagate NaN.
    /// Collective.
    ///
    /// # Errors
    /// As [`reduce_local`](Self::reduce_local), on every rank.
    pub fn reduce(&self, op: ReduceOp) -> Result<T> {
        let mine = self.reduce_local(op);
        self.ctx.agree_or_reject("reduce", &[("op", op as i64)], mine.as_ref().err().cloned())?;
        let mine = mine?;
        if self.layout.is_replicated() {
            return Ok(mine);
        }
        if T::DTYPE.is_float() && (op == ReduceOp::Min || op == ReduceOp::Max) {
            // NaN wins, as on the host path: MPI_MIN/MAX would drop it.
            let nan = self.ctx.allreduce_scalar(mine.is_nan() as u8, ReduceOp::Max)?;
            if nan == 1 {
                return Ok(T::from_f64(f64::NAN));
            }
        }
        self.ctx.allreduce_scalar(mine, op)
    }

    /// Inclusive scan in global index order, in place (`x[i] = x[0] op …
    /// op x[i]`). Contiguous layouts (block, weighted) scan on the device
    /// and combine ranks with one `MPI_Exscan`; cyclic and block-cyclic
    /// layouts are staged through the host (the core's scan). 1-D only.
    /// Collective.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for N-d containers or ops other than SUM,
    /// PROD, MIN, MAX; CUDA errors as [`Error::Backend`]; on every rank.
    pub fn inclusive_scan(&mut self, op: ReduceOp) -> Result<()> {
        self.scan(op, None)
    }

    /// Exclusive scan in global index order, in place: element 0 becomes
    /// `init`, element `i` becomes `init op x[0] op … op x[i-1]`. As
    /// [`inclusive_scan`](Self::inclusive_scan) otherwise. Collective.
    ///
    /// # Errors
    /// As [`inclusive_scan`](Self::inclusive_scan).
    pub fn exclusive_scan(&mut self, op: ReduceOp, init: T) -> Result<()> {
        self.scan(op, Some(init))
    }

    fn scan(&mut self, op: ReduceOp, init: Option<T>) -> Result<()> {
        let what = if init.is_some() { "exclusive_scan" } else { "inclusive_scan" };
        let bad = match (self.shape.len(), check_device_op(op, what)) {
            (1, Ok(_)) => None,
            (_, Err(e)) => Some(e),
            (d, _) => Some(Error::NotSupported(format!("{what} of a {d}-d device container (1-d only)"))),
        };
        self.ctx.agree_or_reject(what, &[("op", op as i64)], bad)?;
        let alone = self.ctx.size() == 1 || self.layout.is_replicated();
        if !self.layout.is_contiguous() && !alone {
            return self.staged(what, |v| match init {
                None => v.inclusive_scan(op),
                Some(x) => v.exclusive_scan(op, x),
            });
        }
        let g = self.gpu().clone();
        let (code, ident, n) = (op as i32, op.identity::<T>(), self.buf.len() as u64);
        let local = (|| -> Result<T> {
            let k = g.kernels::<T>()?;
            let p = self.buf.device_ptr();
            let s = g.stream();
            g.bind()?;
            // SAFETY: every pointer is a live buffer of `n` elements on `g`.
            unsafe {
                k.inclusive_scan(s, p, p, n, code, ident)?;
                let total = if n == 0 {
                    ident
                } else {
                    let mut last = [ident];
                    let tail = p + (n - 1) * std::mem::size_of::<T>() as u64;
                    cudarc::driver::result::memcpy_dtoh_async(&mut last[..], tail, s.cu_stream())
                        .map_err(crate::device::cuda_err("cuMemcpyDtoHAsync (scan total)"))?;
                    g.synchronize()?;
                    last[0]
                };
                if init.is_some() && n > 0 {
                    let mut tmp = s.alloc_zeros::<T>(n as usize).map_err(crate::device::cuda_err("cuMemAlloc"))?;
                    let (pt, guard) = cudarc::driver::DevicePtrMut::device_ptr_mut(&mut tmp, s);
                    cudarc::driver::result::memcpy_dtod_async(
                        pt,
                        p,
                        n as usize * std::mem::size_of::<T>(),
                        s.cu_stream(),
                    )
                    .map_err(crate::device::cuda_err("cuMemcpyDtoDAsync"))?;
                    k.shift_right(s, p, pt, n, ident)?;
                    drop(guard);
                    g.synchronize()?;
                }
                Ok(total)
            }
        })();
        self.ctx.agree_or_reject(what, &[], local.as_ref().err().cloned())?;
        let total = local?;
        // The carry: op over every element on the ranks before (and init).
        let before = if alone { ident } else { self.ctx.exscan(&[total], op)?[0] };
        let carry = match init {
            Some(x) => op.apply(x, before),
            None => before,
        };
        // Rank 0's inclusive scan has no carry (combining with the identity
        // would turn -0.0 into 0.0 for SUM).
        if (self.ctx.rank() > 0 && !alone) || init.is_some() {
            let k = g.kernels::<T>()?;
            // SAFETY: the buffer holds `n` elements on `g`.
            unsafe { k.combine_scalar(g.stream(), self.buf.device_ptr(), n, code, carry)? };
        }
        g.synchronize()
    }

    /// Runs `f` on a host copy of this (1-D) container and copies the
    /// result back: for what has no device path yet. Collective.
    fn staged(&mut self, what: &str, f: impl FnOnce(&mut DistributedVector<T>) -> Result<()>) -> Result<()> {
        let mut host = self.to_vector()?;
        f(&mut host)?;
        let back = self.buf.upload(host.local());
        self.ctx.agree_or_reject(what, &[], back.err())
    }

    /// Sorts in global order (ascending, or descending with `reverse`; NaN
    /// last), 1-D only. One rank: a bitonic sort on the device. Several
    /// ranks: each part is sorted on the device, copied to the host, and
    /// the core's `sort_presorted` does the splitter search, the one
    /// `MPI_Alltoallv` and the merge; the result is copied back. NaNs come
    /// back as the canonical quiet NaN. Collective.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for N-d containers; CUDA and MPI errors; on
    /// every rank.
    pub fn sort(&mut self, reverse: bool) -> Result<()> {
        let bad = (self.shape.len() != 1)
            .then(|| Error::NotSupported(format!("sort of a {}-d device container (1-d only)", self.shape.len())));
        self.ctx.agree_or_reject("sort", &[("reverse", reverse as i64)], bad)?;
        let g = self.gpu().clone();
        let one = self.ctx.size() == 1 || self.layout.is_replicated();
        let local = (|| -> Result<()> {
            let k = g.kernels::<T>()?;
            // SAFETY: the buffer holds `local_size()` elements on `g`.
            unsafe { k.sort(g.stream(), self.buf.device_ptr(), self.buf.len() as u64, reverse && one)? };
            g.synchronize()
        })();
        self.ctx.agree_or_reject("sort", &[], local.err())?;
        if one {
            return Ok(());
        }
        self.staged("sort", |v| v.sort_presorted(reverse))
    }

    /// Copies `src`'s elements into `self` (same shape, layout, device):
    /// a device-to-device copy of each part. Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for mismatched containers;
    /// [`Error::Backend`] from CUDA.
    pub fn copy_from(&mut self, src: &DeviceContainer<T>) -> Result<()> {
        if src.shape != self.shape || src.layout != self.layout {
            return Err(Error::InvalidArgument("copy: dst must have the same shape and partition as src".into()));
        }
        self.buf.copy_from(&src.buf)?;
        self.gpu().synchronize()
    }
}
