//! Collectives on GPU buffers: NCCL where it can, MPI with host staging
//! where it cannot (or where there is no NCCL).
//!
//! A [`NcclComm`] is an NCCL communicator over the ranks of a dtl
//! [`Context`]: rank 0 makes the unique id (`ncclGetUniqueId`), MPI
//! broadcasts it (`MPI_Bcast` of 128 bytes), every rank waits at a barrier,
//! then each calls `ncclCommInitRank` on its GPU. The raw NCCL calls live
//! here only, each return code checked.
//!
//! A [`DeviceComm`] runs the collectives on [`DeviceBuffer`]s: with an
//! NCCL communicator, `allreduce`, `broadcast`, `reduce`, `allgather` and
//! `reduce_scatter` of NCCL's types and ops (SUM, PROD, MIN, MAX) go
//! through NCCL ("native"); everything else — 16-bit integers, logical and
//! bitwise ops, scans, v-variants (`allgatherv`, `gatherv`, `scatterv`,
//! `alltoallv`), alltoall — is "hybrid":
//! copied to the host, run through MPI, copied back. In
//! [`NcclMode::NativeOnly`] hybrid operations are refused with
//! [`Error::NotSupported`]; in [`NcclMode::HybridParity`] (the default)
//! they run. Without NCCL every collective is staged through MPI.

use std::sync::Arc;

use cudarc::nccl::{result as nr, sys as ns};
use dtl_core::{Context, DType, Error, ReduceOp, Result};

use crate::buffer::DeviceBuffer;
use crate::device::{Gpu, GpuElement};

/// What an NCCL-backed context does with an operation NCCL lacks
/// (`DTL_NCCL_MODE_*`; the numeric values are stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum NcclMode {
    /// Only what NCCL does natively; anything else raises
    /// [`Error::NotSupported`] (`DTL_NCCL_MODE_NATIVE_ONLY`).
    NativeOnly = 0,
    /// NCCL where it can, MPI with host staging for the rest, so every
    /// collective of the MPI path is available (`DTL_NCCL_MODE_HYBRID_PARITY`,
    /// the default).
    HybridParity = 1,
}

impl NcclMode {
    /// The mode for a stable code.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `mode` and the valid values.
    pub fn from_code(code: i64) -> Result<NcclMode> {
        match code {
            0 => Ok(NcclMode::NativeOnly),
            1 => Ok(NcclMode::HybridParity),
            _ => Err(Error::InvalidArgument(format!(
                "mode must be DTL_NCCL_MODE_NATIVE_ONLY (0) or DTL_NCCL_MODE_HYBRID_PARITY (1), got {code}"
            ))),
        }
    }
    /// `"NATIVE_ONLY"` or `"HYBRID_PARITY"`.
    pub fn name(self) -> &'static str {
        match self {
            NcclMode::NativeOnly => "NATIVE_ONLY",
            NcclMode::HybridParity => "HYBRID_PARITY",
        }
    }
}

/// Collective operations, for [`supports_native`] / [`supports_hybrid`]
/// (`DTL_NCCL_OP_*`; the numeric values are stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum NcclOp {
    /// `ncclAllReduce`.
    Allreduce = 0,
    /// `ncclBroadcast`.
    Broadcast = 1,
    /// `ncclReduce`.
    Reduce = 2,
    /// `ncclAllGather`.
    Allgather = 3,
    /// `ncclReduceScatter`.
    ReduceScatter = 4,
    /// Point-to-point `ncclSend`.
    Send = 5,
    /// Point-to-point `ncclRecv`.
    Recv = 6,
    /// Barrier (a one-element `ncclAllReduce`).
    Barrier = 7,
    /// Gather to a root (MPI, staged).
    Gather = 8,
    /// Scatter from a root (MPI, staged).
    Scatter = 9,
    /// All-to-all (MPI, staged).
    Alltoall = 10,
    /// Variable-count gathers, scatters and all-to-alls (MPI, staged).
    Vcollectives = 11,
    /// Inclusive scan (MPI, staged).
    Scan = 12,
    /// Exclusive scan (MPI, staged).
    Exscan = 13,
    /// Logical and bitwise reductions (MPI, staged).
    LogicalReduce = 14,
}

impl NcclOp {
    /// Every op, in code order.
    pub const ALL: [NcclOp; 15] = [
        NcclOp::Allreduce,
        NcclOp::Broadcast,
        NcclOp::Reduce,
        NcclOp::Allgather,
        NcclOp::ReduceScatter,
        NcclOp::Send,
        NcclOp::Recv,
        NcclOp::Barrier,
        NcclOp::Gather,
        NcclOp::Scatter,
        NcclOp::Alltoall,
        NcclOp::Vcollectives,
        NcclOp::Scan,
        NcclOp::Exscan,
        NcclOp::LogicalReduce,
    ];
    /// The op for a stable code.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `op` and the valid range.
    pub fn from_code(code: i64) -> Result<NcclOp> {
        NcclOp::ALL.into_iter().find(|o| *o as i64 == code).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "op must be a DTL_NCCL_OP_* code in 0..={}, got {code}",
                NcclOp::ALL.len() - 1
            ))
        })
    }
    /// Upper-case name, e.g. `"ALLREDUCE"`.
    pub fn name(self) -> &'static str {
        match self {
            NcclOp::Allreduce => "ALLREDUCE",
            NcclOp::Broadcast => "BROADCAST",
            NcclOp::Reduce => "REDUCE",
            NcclOp::Allgather => "ALLGATHER",
            NcclOp::ReduceScatter => "REDUCE_SCATTER",
            NcclOp::Send => "SEND",
            NcclOp::Recv => "RECV",
            NcclOp::Barrier => "BARRIER",
            NcclOp::Gather => "GATHER",
            NcclOp::Scatter => "SCATTER",
            NcclOp::Alltoall => "ALLTOALL",
            NcclOp::Vcollectives => "VCOLLECTIVES",
            NcclOp::Scan => "SCAN",
            NcclOp::Exscan => "EXSCAN",
            NcclOp::LogicalReduce => "LOGICAL_REDUCE",
        }
    }
}

/// True if NCCL itself runs `op` (for its types and arithmetic ops).
pub fn supports_native(op: NcclOp) -> bool {
    (op as i32) <= NcclOp::Barrier as i32
}

/// True if `op` is available in hybrid mode (natively or through MPI with
/// host staging): every op.
pub fn supports_hybrid(_op: NcclOp) -> bool {
    true
}

/// NCCL's datatype for a dtl dtype (`None` for 16-bit integers, which
/// NCCL lacks).
fn nccl_type(d: DType) -> Option<ns::ncclDataType_t> {
    use ns::ncclDataType_t as N;
    Some(match d {
        DType::Int8 => N::ncclInt8,
        DType::UInt8 => N::ncclUint8,
        DType::Int32 => N::ncclInt32,
        DType::UInt32 => N::ncclUint32,
        DType::Int64 => N::ncclInt64,
        DType::UInt64 => N::ncclUint64,
        DType::Float32 => N::ncclFloat32,
        DType::Float64 => N::ncclFloat64,
        DType::Int16 | DType::UInt16 => return None,
    })
}

fn nccl_op(op: ReduceOp) -> Option<ns::ncclRedOp_t> {
    use ns::ncclRedOp_t as R;
    Some(match op {
        ReduceOp::Sum => R::ncclSum,
        ReduceOp::Prod => R::ncclProd,
        ReduceOp::Min => R::ncclMin,
        ReduceOp::Max => R::ncclMax,
        _ => return None,
    })
}

fn nccl_err(what: &str) -> impl FnOnce(nr::NcclError) -> Error + '_ {
    move |e| Error::Backend(format!("{what} failed: {:?}", e.0))
}

/// True if the NCCL library can be loaded and CUDA is usable. Not
/// collective.
pub fn nccl_available() -> bool {
    crate::has_cuda() && crate::has_nccl()
}

/// An NCCL communicator over the ranks of a context, one GPU per rank.
/// Destroyed (`ncclCommDestroy`) when dropped.
pub struct NcclComm {
    comm: ns::ncclComm_t,
    gpu: Arc<Gpu>,
    rank: usize,
    size: usize,
    mode: NcclMode,
}

// SAFETY: an NCCL communicator may be used from any thread as long as calls
// on it are not concurrent; dtl serialises them (collectives are called in
// the same order on every rank, from one thread at a time per context).
unsafe impl Send for NcclComm {}
// SAFETY: see above; shared references only read the handle.
unsafe impl Sync for NcclComm {}

impl std::fmt::Debug for NcclComm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NcclComm")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("device", &self.gpu.ordinal())
            .field("mode", &self.mode)
            .finish()
    }
}

impl Drop for NcclComm {
    fn drop(&mut self) {
        // SAFETY: `comm` came from ncclCommInitRank and is destroyed once;
        // an error here cannot be reported from a destructor.
        let _ = unsafe { nr::comm_destroy(self.comm) };
    }
}

impl NcclComm {
    /// Creates the NCCL communicator over `ctx`'s ranks, this rank on GPU
    /// `device_id` (else the context's device, else the node default).
    /// Collective: `ncclGetUniqueId` on rank 0, `MPI_Bcast` of the id,
    /// `MPI_Barrier`, `ncclCommInitRank`; a failure before the init on any
    /// rank is raised on every rank.
    ///
    /// # Errors
    /// [`Error::Backend`] without CUDA or NCCL (saying which), or when NCCL
    /// fails; [`Error::InvalidArgument`] for a bad device id.
    pub fn new(ctx: &Context, device_id: Option<i32>, mode: NcclMode) -> Result<NcclComm> {
        let prep = (|| -> Result<(Arc<Gpu>, [std::os::raw::c_char; 128])> {
            if !crate::has_nccl() {
                return Err(Error::Backend(
                    "NCCL is not available: libnccl.so.2 could not be loaded (put its folder on LD_LIBRARY_PATH)"
                        .into(),
                ));
            }
            let g = crate::container::resolve_device(ctx, device_id)?;
            let id = if ctx.rank() == 0 {
                nr::get_uniqueid().map_err(nccl_err("ncclGetUniqueId"))?.internal
            } else {
                [0; 128]
            };
            Ok((g, id))
        })();
        ctx.agree_or_reject("with_nccl", &[("mode", mode as i64)], prep.as_ref().err().cloned())?;
        let (g, id) = prep?;
        // `c_char` is i8 on x86-64 and u8 on aarch64.
        #[allow(clippy::unnecessary_cast)]
        let mut bytes: Vec<i8> = id.iter().map(|&c| c as i8).collect();
        ctx.broadcast(&mut bytes, 0)?;
        ctx.barrier()?;
        let mut internal = [0 as std::os::raw::c_char; 128];
        for (d, s) in internal.iter_mut().zip(&bytes) {
            *d = *s as std::os::raw::c_char;
        }
        let uid = ns::ncclUniqueId { internal };
        let mut comm: ns::ncclComm_t = std::ptr::null_mut();
        let init = g.context().bind_to_thread().map_err(crate::device::cuda_err("cuCtxSetCurrent")).and_then(|_| {
            // SAFETY: `comm` is a valid out-pointer; the id came from rank
            // 0's ncclGetUniqueId; every rank calls with the same size.
            unsafe { nr::comm_init_rank(&mut comm, ctx.size() as i32, uid, ctx.rank() as i32) }
                .map(|_| ())
                .map_err(nccl_err("ncclCommInitRank"))
        });
        let made = NcclComm { comm, gpu: g, rank: ctx.rank(), size: ctx.size(), mode };
        // Every rank learns whether every init succeeded; where one failed,
        // the others abort their communicator instead of keeping a
        // half-made one.
        let agreed = ctx.agree_or_reject("with_nccl (ncclCommInitRank)", &[], init.as_ref().err().cloned());
        match (init, agreed) {
            (Ok(()), Ok(())) => Ok(made),
            (Ok(()), Err(e)) => {
                // SAFETY: `comm` was made by ncclCommInitRank above and is
                // not used again (`made` is forgotten, so not destroyed twice).
                let _ = unsafe { nr::comm_abort(made.comm) };
                std::mem::forget(made);
                Err(e)
            }
            (Err(e), _) => {
                // No communicator was made: nothing to destroy.
                std::mem::forget(made);
                Err(e)
            }
        }
    }

    /// The mode.
    pub fn mode(&self) -> NcclMode {
        self.mode
    }
    /// The GPU this rank's NCCL calls run on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
    /// This rank in the communicator.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    fn stream(&self) -> ns::cudaStream_t {
        self.gpu.stream().cu_stream() as ns::cudaStream_t
    }

    fn finish(&self, r: std::result::Result<nr::NcclStatus, nr::NcclError>, what: &str) -> Result<()> {
        r.map_err(nccl_err(what))?;
        self.gpu.synchronize()
    }

    /// `ncclAllReduce` of `count` elements from `send` to `recv` (may be
    /// equal), then a stream synchronisation.
    ///
    /// # Safety
    /// Both pointers address `count` elements of `T` on this GPU.
    pub unsafe fn allreduce_raw<T: GpuElement>(&self, send: u64, recv: u64, count: usize, op: ReduceOp) -> Result<()> {
        let (t, o) = self.native::<T>(Some(op), "allreduce")?;
        self.gpu.bind()?;
        self.finish(nr::all_reduce(send as _, recv as _, count, t, o, self.comm, self.stream()), "ncclAllReduce")
    }

    /// `ncclBroadcast` of `count` elements from `root`'s `send` into every
    /// rank's `recv` (may be equal).
    ///
    /// # Safety
    /// As [`allreduce_raw`](Self::allreduce_raw).
    pub unsafe fn broadcast_raw<T: GpuElement>(&self, send: u64, recv: u64, count: usize, root: usize) -> Result<()> {
        let (t, _) = self.native::<T>(None, "broadcast")?;
        self.gpu.bind()?;
        let r = nr::broadcast(send as _, recv as _, count, t, root as i32, self.comm, self.stream());
        self.finish(r, "ncclBroadcast")
    }

    /// `ncclReduce` of `count` elements to `root`'s `recv`.
    ///
    /// # Safety
    /// As [`allreduce_raw`](Self::allreduce_raw) (`recv` is only written
    /// on the root).
    pub unsafe fn reduce_raw<T: GpuElement>(
        &self,
        send: u64,
        recv: u64,
        count: usize,
        op: ReduceOp,
        root: usize,
    ) -> Result<()> {
        let (t, o) = self.native::<T>(Some(op), "reduce")?;
        self.gpu.bind()?;
        let r = nr::reduce(send as _, recv as _, count, t, o, root as i32, self.comm, self.stream());
        self.finish(r, "ncclReduce")
    }

    /// `ncclAllGather`: `count` elements from every rank into `recv`
    /// (`count * size` elements, in rank order).
    ///
    /// # Safety
    /// `send` addresses `count`, `recv` `count * size` elements.
    pub unsafe fn allgather_raw<T: GpuElement>(&self, send: u64, recv: u64, count: usize) -> Result<()> {
        let (t, _) = self.native::<T>(None, "allgather")?;
        self.gpu.bind()?;
        self.finish(nr::all_gather(send as _, recv as _, count, t, self.comm, self.stream()), "ncclAllGather")
    }

    /// `ncclReduceScatter`: `op` over every rank's `send` (`count * size`
    /// elements), block `rank` of the result into `recv` (`count`).
    ///
    /// # Safety
    /// `send` addresses `count * size`, `recv` `count` elements.
    pub unsafe fn reduce_scatter_raw<T: GpuElement>(
        &self,
        send: u64,
        recv: u64,
        count: usize,
        op: ReduceOp,
    ) -> Result<()> {
        let (t, o) = self.native::<T>(Some(op), "reduce_scatter")?;
        self.gpu.bind()?;
        let r = nr::reduce_scatter(send as _, recv as _, count, t, o, self.comm, self.stream());
        self.finish(r, "ncclReduceScatter")
    }

    /// NCCL's type and op for `T` and `op`, or the reason NCCL cannot.
    fn native<T: GpuElement>(&self, op: Option<ReduceOp>, what: &str) -> Result<(ns::ncclDataType_t, ns::ncclRedOp_t)> {
        let t = nccl_type(T::DTYPE)
            .ok_or_else(|| Error::NotSupported(format!("{what}: NCCL has no {} type", T::DTYPE.name())))?;
        let o = match op {
            None => ns::ncclRedOp_t::ncclSum,
            Some(op) => nccl_op(op)
                .ok_or_else(|| Error::NotSupported(format!("{what}: NCCL has no {} reduction", op.name())))?,
        };
        Ok((t, o))
    }

    /// True if NCCL runs `what` for `T` and `op` natively.
    pub fn can<T: GpuElement>(&self, op: Option<ReduceOp>) -> bool {
        nccl_type(T::DTYPE).is_some() && op.is_none_or(|o| nccl_op(o).is_some())
    }
}

/// Collectives on [`DeviceBuffer`]s over a context: NCCL when the context
/// has a communicator and NCCL can, otherwise MPI with host staging —
/// unless the mode is [`NcclMode::NativeOnly`], which refuses that.
/// Every method is collective over the context.
#[derive(Debug, Clone)]
pub struct DeviceComm {
    ctx: Context,
    nccl: Option<Arc<NcclComm>>,
}

impl DeviceComm {
    /// Collectives over `ctx`, through `nccl` when given. Not collective.
    pub fn new(ctx: &Context, nccl: Option<Arc<NcclComm>>) -> DeviceComm {
        DeviceComm { ctx: ctx.clone(), nccl }
    }
    /// The context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// The NCCL communicator, if any.
    pub fn nccl(&self) -> Option<&Arc<NcclComm>> {
        self.nccl.as_ref()
    }

    /// The NCCL communicator to use for an op NCCL can run, `None` to
    /// stage through MPI, or the native-only refusal.
    fn route<T: GpuElement>(&self, what: &str, op: Option<ReduceOp>) -> Result<Option<&NcclComm>> {
        match &self.nccl {
            None => Ok(None),
            Some(c) if c.can::<T>(op) => Ok(Some(c)),
            Some(c) if c.mode == NcclMode::HybridParity => Ok(None),
            Some(_) => Err(Error::NotSupported(format!(
                "{what} of {}{} is not native to NCCL and this context's mode is DTL_NCCL_MODE_NATIVE_ONLY; \
                 use DTL_NCCL_MODE_HYBRID_PARITY to run it through MPI",
                T::DTYPE.name(),
                op.map(|o| format!(" with op {}", o.name())).unwrap_or_default()
            ))),
        }
    }

    /// Refuses a hybrid-only op in native-only mode.
    fn hybrid_only(&self, what: &str) -> Result<()> {
        match &self.nccl {
            Some(c) if c.mode == NcclMode::NativeOnly => Err(Error::NotSupported(format!(
                "{what} is not native to NCCL and this context's mode is DTL_NCCL_MODE_NATIVE_ONLY; \
                 use DTL_NCCL_MODE_HYBRID_PARITY to run it through MPI"
            ))),
            _ => Ok(()),
        }
    }

    /// Agrees on the route and on any local error, on every rank.
    fn agree(&self, what: &str, fields: &[(&str, i64)], local: Option<Error>) -> Result<()> {
        self.ctx.agree_or_reject(what, fields, local)
    }

    /// Element-wise `op` over every rank's `buf`, result in `buf` on every
    /// rank (`ncclAllReduce`, or `MPI_Allreduce` staged). Collective.
    ///
    /// # Errors
    /// [`Error::NotSupported`] in native-only mode for what NCCL lacks;
    /// [`Error::Mismatch`] for different lengths/dtypes/ops; CUDA, NCCL
    /// and MPI errors; on every rank.
    pub fn allreduce<T: GpuElement>(&self, buf: &mut DeviceBuffer<T>, op: ReduceOp) -> Result<()> {
        let route = self.route::<T>("allreduce", Some(op));
        let fields = [("dtype", T::DTYPE as i64), ("count", buf.len() as i64), ("op", op as i64)];
        self.agree("allreduce", &fields, route.as_ref().err().cloned())?;
        match route? {
            Some(c) => {
                let p = buf.device_ptr();
                // SAFETY: in place over the buffer's `len` elements.
                let r = unsafe { c.allreduce_raw::<T>(p, p, buf.len(), op) };
                self.agree("allreduce", &[], r.err())
            }
            None => self.staged(buf, |ctx, host| {
                let out = ctx.allreduce(host, op)?;
                host.copy_from_slice(&out);
                Ok(())
            }),
        }
    }

    /// `root`'s `buf` into every rank's `buf` (`ncclBroadcast` or
    /// `MPI_Bcast` staged). Collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] for a bad root; otherwise as
    /// [`allreduce`](Self::allreduce).
    pub fn broadcast<T: GpuElement>(&self, buf: &mut DeviceBuffer<T>, root: usize) -> Result<()> {
        let route = self.ctx.check_rank(root, "root").and_then(|_| self.route::<T>("broadcast", None));
        let fields = [("dtype", T::DTYPE as i64), ("count", buf.len() as i64), ("root", root as i64)];
        self.agree("broadcast", &fields, route.as_ref().err().cloned())?;
        match route? {
            Some(c) => {
                let p = buf.device_ptr();
                // SAFETY: in place over the buffer's `len` elements.
                let r = unsafe { c.broadcast_raw::<T>(p, p, buf.len(), root) };
                self.agree("broadcast", &[], r.err())
            }
            None => self.staged(buf, |ctx, host| ctx.broadcast(host, root)),
        }
    }

    /// Element-wise `op` over every rank's `buf`, result in `root`'s `buf`
    /// (other ranks' `buf` unchanged). Collective.
    ///
    /// # Errors
    /// As [`broadcast`](Self::broadcast).
    pub fn reduce<T: GpuElement>(&self, buf: &mut DeviceBuffer<T>, op: ReduceOp, root: usize) -> Result<()> {
        let route = self.ctx.check_rank(root, "root").and_then(|_| self.route::<T>("reduce", Some(op)));
        let fields =
            [("dtype", T::DTYPE as i64), ("count", buf.len() as i64), ("op", op as i64), ("root", root as i64)];
        self.agree("reduce", &fields, route.as_ref().err().cloned())?;
        match route? {
            Some(c) => {
                let p = buf.device_ptr();
                // SAFETY: in place over the buffer's `len` elements.
                let r = unsafe { c.reduce_raw::<T>(p, p, buf.len(), op, root) };
                self.agree("reduce", &[], r.err())
            }
            None => self.staged(buf, |ctx, host| {
                if let Some(out) = ctx.reduce(host, op, root)? {
                    host.copy_from_slice(&out);
                }
                Ok(())
            }),
        }
    }

    /// Every rank's `send` (same length on all), concatenated in rank
    /// order, into a new buffer on every rank (`ncclAllGather` or
    /// `MPI_Allgather` staged). Collective.
    ///
    /// # Errors
    /// As [`allreduce`](Self::allreduce); [`Error::Memory`] if the result
    /// cannot be allocated.
    pub fn allgather<T: GpuElement>(&self, send: &DeviceBuffer<T>) -> Result<DeviceBuffer<T>> {
        let n = send.len();
        let total = n * self.ctx.size();
        let prep = self
            .route::<T>("allgather", None)
            .and_then(|r| Ok((r.is_some(), DeviceBuffer::<T>::zeros(send.gpu(), total, send.placement())?)));
        let fields = [("dtype", T::DTYPE as i64), ("count", n as i64)];
        self.agree("allgather", &fields, prep.as_ref().err().cloned())?;
        let (native, mut out) = prep?;
        if native {
            let c = self.nccl.as_ref().expect("routed to NCCL");
            // SAFETY: `send` holds n, `out` n * size elements.
            let r = unsafe { c.allgather_raw::<T>(send.device_ptr(), out.device_ptr(), n) };
            self.agree("allgather", &[], r.err())?;
        } else {
            let host = send.to_vec();
            self.agree("allgather", &[], host.as_ref().err().cloned())?;
            let all = self.ctx.allgather(&host?)?;
            let r = out.upload(&all);
            self.agree("allgather", &[], r.err())?;
        }
        Ok(out)
    }

    /// `op` over every rank's `send` (length a multiple of the number of
    /// ranks), block `rank` of the result into a new buffer
    /// (`ncclReduceScatter`, or `MPI_Reduce_scatter_block` semantics staged
    /// through `MPI_Allreduce`). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the length is not a multiple of the
    /// number of ranks; otherwise as [`allgather`](Self::allgather).
    pub fn reduce_scatter<T: GpuElement>(&self, send: &DeviceBuffer<T>, op: ReduceOp) -> Result<DeviceBuffer<T>> {
        let size = self.ctx.size();
        let n = send.len();
        let prep = if n % size != 0 {
            Err(Error::InvalidArgument(format!(
                "reduce_scatter: the buffer length ({n}) must be a multiple of the number of ranks ({size})"
            )))
        } else {
            self.route::<T>("reduce_scatter", Some(op))
                .and_then(|r| Ok((r.is_some(), DeviceBuffer::<T>::zeros(send.gpu(), n / size, send.placement())?)))
        };
        let fields = [("dtype", T::DTYPE as i64), ("count", n as i64), ("op", op as i64)];
        self.agree("reduce_scatter", &fields, prep.as_ref().err().cloned())?;
        let (native, mut out) = prep?;
        if native {
            let c = self.nccl.as_ref().expect("routed to NCCL");
            // SAFETY: `send` holds n, `out` n / size elements.
            let r = unsafe { c.reduce_scatter_raw::<T>(send.device_ptr(), out.device_ptr(), n / size, op) };
            self.agree("reduce_scatter", &[], r.err())?;
        } else {
            let host = send.to_vec();
            self.agree("reduce_scatter", &[], host.as_ref().err().cloned())?;
            let all = self.ctx.allreduce(&host?, op)?;
            let k = n / size;
            let r = out.upload(&all[self.ctx.rank() * k..(self.ctx.rank() + 1) * k]);
            self.agree("reduce_scatter", &[], r.err())?;
        }
        Ok(out)
    }

    /// Inclusive scan over ranks, element-wise (`MPI_Scan`, staged; hybrid
    /// only). Collective.
    ///
    /// # Errors
    /// [`Error::NotSupported`] in native-only mode; MPI and CUDA errors.
    pub fn scan<T: GpuElement>(&self, buf: &mut DeviceBuffer<T>, op: ReduceOp) -> Result<()> {
        let bad = self.hybrid_only("scan").err();
        self.agree("scan", &[("dtype", T::DTYPE as i64), ("op", op as i64)], bad)?;
        self.staged(buf, |ctx, host| {
            let out = ctx.scan(host, op)?;
            host.copy_from_slice(&out);
            Ok(())
        })
    }

    /// Exclusive scan over ranks (`MPI_Exscan`, staged; rank 0 gets the
    /// op's identity; hybrid only). Collective.
    ///
    /// # Errors
    /// As [`scan`](Self::scan).
    pub fn exscan<T: GpuElement>(&self, buf: &mut DeviceBuffer<T>, op: ReduceOp) -> Result<()> {
        let bad = self.hybrid_only("exscan").err();
        self.agree("exscan", &[("dtype", T::DTYPE as i64), ("op", op as i64)], bad)?;
        self.staged(buf, |ctx, host| {
            let out = ctx.exscan(host, op)?;
            host.copy_from_slice(&out);
            Ok(())
        })
    }

    /// All-to-all of equal blocks (`MPI_Alltoall`, staged; hybrid only):
    /// block `j` of `buf` goes to rank `j`. Collective.
    ///
    /// # Errors
    /// As [`scan`](Self::scan); [`Error::InvalidArgument`] if the length is
    /// not a multiple of the number of ranks.
    pub fn alltoall<T: GpuElement>(&self, buf: &mut DeviceBuffer<T>) -> Result<()> {
        let size = self.ctx.size();
        let bad = self.hybrid_only("alltoall").err().or_else(|| {
            (buf.len() % size != 0).then(|| {
                Error::InvalidArgument(format!(
                    "alltoall: the buffer length ({}) must be a multiple of the number of ranks ({size})",
                    buf.len()
                ))
            })
        });
        self.agree("alltoall", &[("dtype", T::DTYPE as i64), ("count", buf.len() as i64)], bad)?;
        self.staged(buf, |ctx, host| {
            let out = ctx.alltoall(host)?;
            host.copy_from_slice(&out);
            Ok(())
        })
    }

    /// A host copy of `buf` for a hybrid-only collective (refused in
    /// native-only mode); errors are raised on every rank.
    fn host_copy<T: GpuElement>(&self, what: &str, buf: &DeviceBuffer<T>) -> Result<Vec<T>> {
        let bad = self.hybrid_only(what).err();
        self.agree(what, &[("dtype", T::DTYPE as i64)], bad)?;
        let host = buf.to_vec();
        self.agree(what, &[], host.as_ref().err().cloned())?;
        host
    }

    /// A new buffer like `like` (same GPU and placement) holding `data`;
    /// errors are raised on every rank.
    fn upload_new<T: GpuElement>(&self, what: &str, like: &DeviceBuffer<T>, data: &[T]) -> Result<DeviceBuffer<T>> {
        let out = DeviceBuffer::from_host(like.gpu(), data, like.placement());
        self.agree(what, &[], out.as_ref().err().cloned())?;
        out
    }

    /// Every rank's `send` (lengths may differ) concatenated in rank order
    /// on every rank, and the lengths (`MPI_Allgatherv`, staged; hybrid
    /// only). Collective.
    ///
    /// # Errors
    /// [`Error::NotSupported`] in native-only mode; CUDA and MPI errors; on
    /// every rank.
    pub fn allgatherv<T: GpuElement>(&self, send: &DeviceBuffer<T>) -> Result<(DeviceBuffer<T>, Vec<usize>)> {
        let host = self.host_copy("allgatherv", send)?;
        let (all, counts) = self.ctx.allgatherv(&host)?;
        Ok((self.upload_new("allgatherv", send, &all)?, counts))
    }

    /// Every rank's `send` concatenated in rank order on `root` (`None`
    /// elsewhere), and the lengths (`MPI_Gatherv`, staged; hybrid only).
    /// Collective.
    ///
    /// # Errors
    /// As [`allgatherv`](Self::allgatherv); [`Error::Bounds`] for a bad root.
    pub fn gatherv<T: GpuElement>(
        &self,
        send: &DeviceBuffer<T>,
        root: usize,
    ) -> Result<Option<(DeviceBuffer<T>, Vec<usize>)>> {
        self.agree("gatherv", &[("root", root as i64)], self.ctx.check_rank(root, "root").err())?;
        let host = self.host_copy("gatherv", send)?;
        let got = self.ctx.gatherv(&host, root)?;
        // Only the root uploads; its failure cannot be agreed on without
        // a collective the others would not join, so it stays on the root.
        match got {
            Some((all, counts)) => Ok(Some((DeviceBuffer::from_host(send.gpu(), &all, send.placement())?, counts))),
            None => Ok(None),
        }
    }

    /// Distributes `root`'s `send` in blocks of `counts[r]` elements to
    /// rank `r` (`MPI_Scatterv`, staged; hybrid only); other ranks' `send`
    /// and `counts` are ignored. Collective.
    ///
    /// # Errors
    /// As [`gatherv`](Self::gatherv); [`Error::InvalidArgument`] on every
    /// rank if the root's counts do not fit its buffer.
    pub fn scatterv<T: GpuElement>(
        &self,
        send: &DeviceBuffer<T>,
        counts: &[usize],
        root: usize,
    ) -> Result<DeviceBuffer<T>> {
        self.agree("scatterv", &[("root", root as i64)], self.ctx.check_rank(root, "root").err())?;
        let host = if self.ctx.rank() == root {
            self.host_copy("scatterv", send)?
        } else {
            self.host_copy("scatterv", &DeviceBuffer::zeros(send.gpu(), 0, send.placement())?)?
        };
        let mine = self.ctx.scatterv(&host, counts, root)?;
        self.upload_new("scatterv", send, &mine)
    }

    /// All-to-all with per-destination counts: the first `send_counts[0]`
    /// elements go to rank 0, the next `send_counts[1]` to rank 1, …;
    /// returns what this rank received (in source-rank order) and the
    /// counts (`MPI_Alltoallv`, staged; hybrid only). Collective.
    ///
    /// # Errors
    /// As [`allgatherv`](Self::allgatherv); [`Error::InvalidArgument`] for
    /// counts that do not fit the buffer.
    pub fn alltoallv<T: GpuElement>(
        &self,
        send: &DeviceBuffer<T>,
        send_counts: &[usize],
    ) -> Result<(DeviceBuffer<T>, Vec<usize>)> {
        let host = self.host_copy("alltoallv", send)?;
        let (got, counts) = self.ctx.alltoallv(&host, send_counts)?;
        Ok((self.upload_new("alltoallv", send, &got)?, counts))
    }

    /// Copies `buf` to the host, runs `f` (MPI) on the copy, copies it
    /// back; errors on any rank are raised on every rank.
    fn staged<T: GpuElement>(
        &self,
        buf: &mut DeviceBuffer<T>,
        f: impl FnOnce(&Context, &mut [T]) -> Result<()>,
    ) -> Result<()> {
        let host = buf.to_vec();
        self.agree("device collective (staging to host)", &[], host.as_ref().err().cloned())?;
        let mut host = host?;
        f(&self.ctx, &mut host)?;
        let r = buf.upload(&host);
        self.agree("device collective (staging to device)", &[], r.err())
    }
}
