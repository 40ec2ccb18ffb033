//! `dtl.Environment` and `dtl.Context`.

use std::sync::Once;

use dtl_core::{Context, Environment};
use pyo3::prelude::*;

use crate::errors::{invalid, IntoPy};

/// Keeps MPI initialised for the whole interpreter (Python objects come and
/// go; MPI cannot be initialised twice). `dtl/__init__.py` registers
/// `_finalize` with `atexit`.
pub fn ensure_mpi() -> PyResult<()> {
    static PIN: Once = Once::new();
    let mut res = Ok(());
    PIN.call_once(|| res = Environment::pin());
    res.py()
}

/// ``True`` if MPI granted ``MPI_THREAD_MULTIPLE``: the asynchronous
/// algorithms then run their jobs on threads of their own (else
/// synchronously, inside the call).
#[pyfunction]
pub fn _async_threads() -> PyResult<bool> {
    ensure_mpi()?;
    Ok(Environment::new().py()?.thread_level() == dtl_core::ThreadLevel::Multiple)
}

/// Finalises MPI at interpreter exit if dtl initialised it (not when mpi4py
/// or the host did). Collective over MPI_COMM_WORLD.
#[pyfunction]
pub fn _finalize() {
    Environment::finalize_at_exit();
}

/// Reference-counted handle on dtl's backends (MPI; CUDA/NCCL detection).
///
/// The first handle initialises MPI (``MPI_Init_thread`` requesting
/// ``MPI_THREAD_MULTIPLE``) unless mpi4py or the host already did, in which
/// case dtl adopts it and never finalises it. Use as a context manager::
///
///     with dtl.Environment() as env:
///         ctx = env.make_world_context()
///
/// Not collective by itself, but the first creation in a process initialises
/// MPI, which is collective over ``MPI_COMM_WORLD``.
#[pyclass(name = "Environment", module = "dtl")]
pub struct PyEnvironment {
    env: Option<Environment>,
}

impl PyEnvironment {
    fn env(&self) -> PyResult<&Environment> {
        self.env.as_ref().ok_or_else(|| {
            crate::errors::to_py(dtl_core::Error::InvalidState("this Environment handle was released".into()))
        })
    }
}

#[pymethods]
impl PyEnvironment {
    #[new]
    fn new() -> PyResult<Self> {
        ensure_mpi()?;
        Ok(PyEnvironment { env: Some(Environment::new().py()?) })
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Releases this handle (``ref_count()`` drops by one).
    fn __exit__(&mut self, _a: Option<Bound<'_, PyAny>>, _b: Option<Bound<'_, PyAny>>, _c: Option<Bound<'_, PyAny>>) {
        self.env = None;
    }

    /// A :class:`Context` over all ranks (``MPI_Comm_dup(MPI_COMM_WORLD)``).
    /// ``device_id`` selects a GPU for device placement: an int ``>= 0``,
    /// ``-1``/``None`` for CPU only, or ``"auto"`` for the default rank→GPU
    /// mapping (see :class:`Context`). Collective.
    #[pyo3(signature = (device_id=None))]
    fn make_world_context(&self, py: Python<'_>, device_id: Option<Bound<'_, PyAny>>) -> PyResult<PyContext> {
        let _ = self.env()?;
        let ctx = py.detach(Context::world).py()?;
        PyContext::with_device(py, ctx, device_id.as_ref())
    }

    /// A single-process :class:`Context` (``MPI_COMM_SELF``): rank 0 of 1.
    /// Not collective.
    fn make_cpu_context(&self) -> PyResult<PyContext> {
        let _ = self.env()?;
        Ok(Context::self_only().py()?.into())
    }

    /// ``True``: MPI is dtl's engine and always compiled in.
    #[getter]
    fn has_mpi(&self) -> bool {
        true
    }
    /// ``True`` if a CUDA driver with at least one device is usable.
    #[getter]
    fn has_cuda(&self) -> bool {
        dtl_gpu::has_cuda()
    }
    /// ``False``: dtl has no HIP backend.
    #[getter]
    fn has_hip(&self) -> bool {
        false
    }
    /// ``True`` if the NCCL library can be loaded and CUDA is usable.
    #[getter]
    fn has_nccl(&self) -> bool {
        dtl_gpu::has_cuda() && dtl_gpu::has_nccl()
    }
    /// ``False``: dtl has no SHMEM backend.
    #[getter]
    fn has_shmem(&self) -> bool {
        false
    }
    /// MPI thread support granted, e.g. ``"MPI_THREAD_MULTIPLE"``.
    #[getter]
    fn thread_level(&self) -> PyResult<&'static str> {
        Ok(self.env()?.thread_level().name())
    }
    /// The MPI library's version string (``MPI_Get_library_version``).
    #[getter]
    fn mpi_library_version(&self) -> PyResult<String> {
        Ok(self.env()?.mpi_library_version())
    }
    /// MPI standard version ``(major, minor)``.
    #[getter]
    fn mpi_version(&self) -> PyResult<(i32, i32)> {
        Ok(self.env()?.mpi_version())
    }

    /// ``True`` while any Environment handle exists in this process.
    #[staticmethod]
    fn is_initialized() -> bool {
        Environment::is_initialized()
    }
    /// Number of live Environment handles in this process.
    #[staticmethod]
    fn ref_count() -> usize {
        Environment::ref_count()
    }

    fn __repr__(&self) -> String {
        format!("<dtl.Environment refs={} valid={}>", Environment::ref_count(), self.env.is_some())
    }
}

/// An execution context: a communicator dtl owns (one ``MPI_Comm_dup`` per
/// context) plus a placement domain.
///
/// ``Context()`` spans ``MPI_COMM_WORLD``; ``Context(comm=c)`` spans any
/// mpi4py intra-communicator ``c`` (dtl duplicates it and never frees it).
/// ``device_id`` selects a GPU for device placement: an int ``>= 0``,
/// ``-1``/``None`` for CPU only, or ``"auto"`` for the default rank→GPU
/// mapping — local rank ``% num_gpus`` on each node (see
/// :class:`Topology`), CPU only (``-1``) on a node without a GPU. Any other
/// value raises ``InvalidArgumentError``. Creation is collective over the
/// communicator (``MPI_Comm_dup``; with ``"auto"`` also
/// ``MPI_Comm_split_type`` and ``MPI_Allgather``: every rank must pass
/// ``"auto"`` then). Usable as a context manager.
#[pyclass(name = "Context", module = "dtl", frozen, weakref)]
pub struct PyContext {
    pub ctx: Context,
    /// The NCCL communicator of a context made by ``with_nccl`` /
    /// ``split_nccl``.
    pub nccl: Option<std::sync::Arc<dtl_gpu::NcclComm>>,
}

impl From<Context> for PyContext {
    fn from(ctx: Context) -> Self {
        PyContext { ctx, nccl: None }
    }
}

const DEVICE_IDS: &str = "an int >= 0, -1 or None (CPU only), or \"auto\" (the default rank->GPU mapping)";

impl PyContext {
    /// Applies a ``device_id=`` argument to the freshly made `ctx`. A string
    /// takes part in the `"auto"` collective (`MPI_Comm_split_type`,
    /// `MPI_Allgather`) before it is checked, so one rank's typo raises there
    /// instead of hanging the ranks that passed `"auto"`.
    fn with_device(py: Python<'_>, ctx: Context, device_id: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let d = match device_id {
            None => None,
            Some(obj) if obj.is_none() => None,
            Some(obj) => {
                if let Ok(s) = obj.extract::<String>() {
                    let auto = py.detach(|| dtl_gpu::auto_device(&ctx)).py()?;
                    if s != "auto" {
                        return Err(invalid(format!("device_id must be {DEVICE_IDS}, got {s:?}")));
                    }
                    // No device on this node: a CPU-only context, not an error.
                    auto
                } else {
                    match obj.extract::<i64>() {
                        Ok(-1) => None,
                        Ok(d) if d >= 0 => Some(
                            i32::try_from(d)
                                .map_err(|_| invalid(format!("device_id must be {DEVICE_IDS}, got {d}")))?,
                        ),
                        Ok(d) => return Err(invalid(format!("device_id must be {DEVICE_IDS}, got {d}"))),
                        Err(_) => {
                            return Err(invalid(format!(
                                "device_id must be {DEVICE_IDS}, got {} of type {}",
                                obj.repr()?,
                                obj.get_type().name()?
                            )))
                        }
                    }
                }
            }
        };
        let ctx = match d {
            Some(d) => ctx.with_device(d).py()?,
            None => ctx,
        };
        Ok(ctx.into())
    }
}

#[pymethods]
impl PyContext {
    #[new]
    #[pyo3(signature = (comm=None, device_id=None))]
    fn new(py: Python<'_>, comm: Option<Bound<'_, PyAny>>, device_id: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        ensure_mpi()?;
        let ctx = match comm {
            None => py.detach(Context::world).py()?,
            Some(c) if c.is_none() => py.detach(Context::world).py()?,
            Some(c) => {
                let mpi = py
                    .import("mpi4py.MPI")
                    .map_err(|_| invalid("comm= needs an mpi4py communicator, but mpi4py is not importable"))?;
                if c.is_instance(&mpi.getattr("Comm")?)? && c.eq(mpi.getattr("COMM_NULL")?)? {
                    return Err(invalid("comm is MPI.COMM_NULL; pass a live communicator"));
                }
                if !c.is_instance(&mpi.getattr("Intracomm")?)? {
                    return Err(invalid(format!(
                        "comm must be an mpi4py intra-communicator (mpi4py.MPI.Intracomm), got {}",
                        c.get_type().name()?
                    )));
                }
                let theirs: String = mpi.getattr("Get_library_version")?.call0()?.extract()?;
                let ours = dtl_core::Environment::new().py()?.mpi_library_version();
                // Both strings may carry the C terminator (mpi4py keeps it).
                let clean = |s: &str| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string();
                if clean(&theirs) != clean(&ours) {
                    return Err(crate::errors::to_py(dtl_core::Error::Backend(format!(
                        "mpi4py is linked against a different MPI library than dtl: mpi4py has {:?}, dtl has {:?}",
                        theirs.lines().next().unwrap_or(""),
                        ours.lines().next().unwrap_or("")
                    ))));
                }
                let h: u64 = mpi.getattr("_handleof")?.call1((&c,))?.extract()?;
                let raw = dtl_core::raw::comm_from_int(h).py()?;
                // SAFETY: `raw` comes from a live mpi4py communicator of the
                // same MPI library (checked above); dtl only duplicates it.
                unsafe { Context::from_raw(raw) }.py()?
            }
        };
        PyContext::with_device(py, ctx, device_id.as_ref())
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __exit__(&self, _a: Option<Bound<'_, PyAny>>, _b: Option<Bound<'_, PyAny>>, _c: Option<Bound<'_, PyAny>>) {}

    /// This process's rank in the context, ``0 .. size-1``.
    #[getter]
    fn rank(&self) -> usize {
        self.ctx.rank()
    }
    /// Number of ranks in the context.
    #[getter]
    fn size(&self) -> usize {
        self.ctx.size()
    }
    /// ``True`` on rank 0.
    #[getter]
    fn is_root(&self) -> bool {
        self.ctx.is_root()
    }
    /// GPU device id, ``-1`` for CPU only.
    #[getter]
    fn device_id(&self) -> i32 {
        self.ctx.device_id().unwrap_or(-1)
    }
    /// ``True`` if a GPU device was selected.
    #[getter]
    fn has_device(&self) -> bool {
        self.ctx.device_id().is_some()
    }
    /// ``True``: every context has an MPI domain.
    #[getter]
    fn has_mpi(&self) -> bool {
        true
    }
    /// ``True`` if a device was selected and CUDA is usable.
    #[getter]
    fn has_cuda(&self) -> bool {
        self.ctx.device_id().is_some() && dtl_gpu::has_cuda()
    }
    /// ``True`` if this context carries an NCCL communicator (made by
    /// ``with_nccl`` or ``split_nccl``).
    #[getter]
    fn has_nccl(&self) -> bool {
        self.nccl.is_some()
    }
    /// ``DTL_NCCL_MODE_*`` of the NCCL communicator, or ``-1`` without one.
    #[getter]
    fn nccl_mode(&self) -> i32 {
        self.nccl.as_ref().map(|c| c.mode() as i32).unwrap_or(-1)
    }
    /// ``True`` if this context has NCCL and NCCL runs ``op`` (a
    /// ``DTL_NCCL_OP_*`` code) itself. Not collective. Raises
    /// ``InvalidArgumentError`` for a bad code.
    fn nccl_supports_native(&self, op: i64) -> PyResult<bool> {
        let op = dtl_gpu::NcclOp::from_code(op).py()?;
        Ok(self.nccl.is_some() && dtl_gpu::nccl::supports_native(op))
    }
    /// ``True`` if this context has NCCL and ``op`` runs in hybrid mode
    /// (NCCL, or MPI with host staging for what NCCL lacks). Not
    /// collective. Raises ``InvalidArgumentError`` for a bad code.
    fn nccl_supports_hybrid(&self, op: i64) -> PyResult<bool> {
        let op = dtl_gpu::NcclOp::from_code(op).py()?;
        Ok(self.nccl.is_some() && dtl_gpu::nccl::supports_hybrid(op))
    }
    /// A context over the same ranks with an NCCL communicator on GPU
    /// ``device_id`` (``None``: the context's device, else this rank's rank
    /// on the node modulo the GPUs). ``mode`` is ``DTL_NCCL_MODE_HYBRID_PARITY``
    /// (default: what NCCL lacks runs through MPI with host staging) or
    /// ``DTL_NCCL_MODE_NATIVE_ONLY``. Collective: ``ncclGetUniqueId`` on rank
    /// 0, ``MPI_Bcast`` of the id, ``MPI_Barrier``, ``ncclCommInitRank``.
    ///
    /// Raises ``BackendError`` without CUDA or NCCL (on every rank),
    /// ``InvalidArgumentError`` for a bad mode or device id.
    #[pyo3(signature = (device_id=None, mode=1))]
    fn with_nccl(&self, py: Python<'_>, device_id: Option<i32>, mode: i64) -> PyResult<PyContext> {
        let m = dtl_gpu::NcclMode::from_code(mode);
        let bad = m.as_ref().err().cloned();
        self.ctx.agree_or_reject("with_nccl", &[], bad).py()?;
        let m = m.py()?;
        let ctx = match device_id {
            Some(d) => self.ctx.with_device(d).py()?,
            None => self.ctx.clone(),
        };
        let comm = py.detach(|| dtl_gpu::NcclComm::new(&ctx, device_id, m)).py()?;
        let ctx = ctx.with_device(comm.gpu().ordinal() as i32).py()?;
        Ok(PyContext { ctx, nccl: Some(std::sync::Arc::new(comm)) })
    }
    /// Splits like ``split(color, key)`` and gives each sub-context its own
    /// NCCL communicator (see ``with_nccl``); ``None`` on ranks with
    /// ``color=None``. Collective.
    ///
    /// Raises as ``split`` and ``with_nccl``.
    #[pyo3(signature = (color, key=0, device_id=None, mode=1))]
    fn split_nccl(
        &self,
        py: Python<'_>,
        color: Option<i32>,
        key: i32,
        device_id: Option<i32>,
        mode: i64,
    ) -> PyResult<Option<PyContext>> {
        let m = dtl_gpu::NcclMode::from_code(mode);
        self.ctx.agree_or_reject("split_nccl", &[], m.as_ref().err().cloned()).py()?;
        match py.detach(|| self.ctx.split(color, key)).py()? {
            None => Ok(None),
            Some(sub) => Ok(Some(PyContext::from(sub).with_nccl(py, device_id, mode)?)),
        }
    }
    /// Whether collectives check that ranks agree on their arguments (on by
    /// default; one small ``MPI_Allreduce`` per call). Settable.
    #[getter]
    fn get_collective_checks(&self) -> bool {
        self.ctx.collective_checks()
    }
    #[setter]
    fn set_collective_checks(&self, on: bool) {
        self.ctx.set_collective_checks(on);
    }

    /// Whether large ``allreduce`` and ``broadcast`` calls may take dtl's
    /// shared-memory path (on by default; used only when every rank is on
    /// one node, from 16 KiB): one ``MPI_Win_allocate_shared`` window per
    /// communicator, made on first use. Off, they always call
    /// ``MPI_Allreduce`` / ``MPI_Bcast``. Settable; set it alike on every
    /// rank (a difference hangs the next large collective).
    /// ``DTL_SHM_COLLECTIVES=0`` switches it off for the whole process.
    #[getter]
    fn get_shm_collectives(&self) -> bool {
        self.ctx.shm_collectives()
    }
    #[setter]
    fn set_shm_collectives(&self, on: bool) {
        self.ctx.set_shm_collectives(on);
    }

    /// Blocks until every rank of the context has called it
    /// (``MPI_Barrier``). Collective.
    fn barrier(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.ctx.barrier()).py()
    }
    /// Local memory fence (a sequentially consistent fence); not collective.
    fn fence(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
    /// A new context with a duplicated communicator (``MPI_Comm_dup``).
    /// Collective.
    fn dup(&self, py: Python<'_>) -> PyResult<PyContext> {
        Ok(py.detach(|| self.ctx.dup()).py()?.into())
    }
    /// Splits into sub-contexts by ``color``, ranked by ``key`` then rank
    /// (``MPI_Comm_split``). ``color=None`` (``MPI_UNDEFINED``) returns
    /// ``None`` on that rank. Collective.
    ///
    /// Raises ``InvalidArgumentError`` for a negative color.
    #[pyo3(signature = (color, key=0))]
    fn split(&self, py: Python<'_>, color: Option<i32>, key: i32) -> PyResult<Option<PyContext>> {
        let r = py.detach(|| self.ctx.split(color, key)).py()?;
        Ok(r.map(PyContext::from))
    }
    /// A copy of this context bound to GPU ``device_id``; shares the
    /// communicator (not collective, no MPI call).
    fn with_cuda(&self, device_id: i32) -> PyResult<PyContext> {
        Ok(PyContext { ctx: self.ctx.with_device(device_id).py()?, nccl: self.nccl.clone() })
    }

    /// For ``dtl.async_*``: the context of this communicator's async lane
    /// (a duplicate communicator, made by ``MPI_Comm_dup`` on first use:
    /// **collective** then; later calls only return it), with this
    /// context's device and collective-check setting. The collective async
    /// jobs run on it, one at a time, in submission order.
    fn _async_context(&self, py: Python<'_>) -> PyResult<PyContext> {
        Ok(py.detach(|| self.ctx.async_context()).py()?.into())
    }
    /// An identifier of the communicator, equal for contexts that share it
    /// (``with_cuda`` copies); ``dtl`` keys its async executors by it.
    #[getter]
    fn _comm_id(&self) -> usize {
        self.ctx.comm_id()
    }
    /// ``True`` once an asynchronous collective has made this
    /// communicator's async lane. Not collective.
    #[getter]
    fn _has_async_lane(&self) -> bool {
        self.ctx.has_async_lane()
    }

    fn __repr__(&self) -> String {
        format!("<dtl.Context rank={} size={} device_id={}>", self.ctx.rank(), self.ctx.size(), self.device_id())
    }
}
