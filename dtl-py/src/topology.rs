//! `dtl.Topology`: nodes, CPUs and GPUs of a context's ranks
//! (`dtl_gpu::Topology`).

use dtl_core::topology::rank_arg;
use dtl_gpu::Topology;
use pyo3::prelude::*;

use crate::context::{ensure_mpi, PyContext};
use crate::errors::IntoPy;

/// Where the ranks of a context run: node, local rank, CPUs, GPUs.
///
/// ``Topology(ctx)`` is **collective** over ``ctx``: every rank of the
/// context must call it. Underneath: ``MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)``
/// (one communicator per node), ``MPI_Allgather`` of node ids and GPU counts,
/// ``MPI_Allgatherv`` of the CPU sets over each node (``sched_getaffinity``)
/// and ``MPI_Get_processor_name``. Nodes are numbered ``0 .. num_nodes-1``
/// in the order of the lowest context rank on each; a rank's local rank is
/// its position among its node's ranks in context rank order.
///
/// The properties and ``is_local``, ``cpu_affinity``, ``gpu_of`` are local
/// (no communication); ``bind`` is collective over the node, ``mapping``
/// over the context.
#[pyclass(name = "Topology", module = "dtl", frozen)]
pub struct PyTopology {
    topo: Topology,
    size: usize,
}

#[pymethods]
impl PyTopology {
    #[new]
    fn new(py: Python<'_>, ctx: PyRef<'_, PyContext>) -> PyResult<Self> {
        ensure_mpi()?;
        let c = ctx.ctx.clone();
        let size = c.size();
        let topo = py.detach(|| Topology::new(&c)).py()?;
        Ok(PyTopology { topo, size })
    }

    /// CPUs on this node usable by the job: the size of the union of the
    /// node's ranks' affinity sets when the ``Topology`` was made.
    #[getter]
    fn num_cpus(&self) -> usize {
        self.topo.num_cpus()
    }
    /// CUDA devices this rank sees (``0`` without CUDA; never raises).
    #[getter]
    fn num_gpus(&self) -> usize {
        self.topo.num_gpus()
    }
    /// This rank's node, ``0 .. num_nodes-1``.
    #[getter]
    fn node_id(&self) -> usize {
        self.topo.node_id()
    }
    /// Number of nodes (shared-memory domains) the context spans.
    #[getter]
    fn num_nodes(&self) -> usize {
        self.topo.num_nodes()
    }
    /// This rank's rank among the context's ranks on its node.
    #[getter]
    fn local_rank(&self) -> usize {
        self.topo.local_rank()
    }
    /// Number of the context's ranks on this node.
    #[getter]
    fn local_size(&self) -> usize {
        self.topo.local_size()
    }
    /// This node's name (``MPI_Get_processor_name``).
    #[getter]
    fn hostname(&self) -> String {
        self.topo.hostname().to_string()
    }
    /// This rank's GPU under the default mapping (``local_rank % num_gpus``),
    /// ``-1`` without a GPU.
    #[getter]
    fn gpu_id(&self) -> i32 {
        self.topo.gpu_id().unwrap_or(-1)
    }

    /// ``True`` if context ranks ``a`` and ``b`` are on the same node. Local.
    /// Raises ``BoundsError`` naming ``a`` or ``b`` unless ``0 <= a, b < size``.
    fn is_local(&self, a: i64, b: i64) -> PyResult<bool> {
        let a = rank_arg(a, self.size, "a").py()?;
        let b = rank_arg(b, self.size, "b").py()?;
        self.topo.is_local(a, b).py()
    }

    /// This rank's current CPU set, sorted (``sched_getaffinity(0)``). Local.
    fn cpu_affinity(&self) -> PyResult<Vec<usize>> {
        self.topo.cpu_affinity().py()
    }

    /// The GPU of context rank ``rank`` under the default mapping, ``-1``
    /// without one. Local. Raises ``BoundsError`` unless ``0 <= rank < size``.
    fn gpu_of(&self, rank: i64) -> PyResult<i32> {
        let r = rank_arg(rank, self.size, "rank").py()?;
        Ok(self.topo.gpu_of(r).py()?.unwrap_or(-1))
    }

    /// Binds this process to its share of the node's CPUs and returns the
    /// new set, sorted. The union ``U`` of the node's ranks' current sets is
    /// split into ``local_size`` contiguous blocks (sizes differ by at most
    /// one, larger first); with fewer CPUs than local ranks, local rank
    /// ``l`` gets ``U[l % len(U)]``. Applied with ``sched_setaffinity`` to
    /// every thread of the process. **Collective** over the node's ranks
    /// (``MPI_Allgatherv`` on the node communicator). Raises
    /// ``BackendError`` if the system call fails.
    fn bind(&self, py: Python<'_>) -> PyResult<Vec<usize>> {
        py.detach(|| self.topo.bind()).py()
    }

    /// Every rank's placement as text, the same on every rank: a header
    /// line, then one line per rank in mpibind's ``mapping_print`` format,
    /// ``mpibind: task  0 nths  2 gpus 0 cpus 0-1``. **Collective** over the
    /// context (``MPI_Allgatherv``).
    fn mapping(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| self.topo.mapping()).py()
    }

    fn __repr__(&self) -> String {
        format!(
            "<dtl.Topology host={:?} node={}/{} local_rank={}/{} num_cpus={} num_gpus={} gpu_id={}>",
            self.topo.hostname(),
            self.topo.node_id(),
            self.topo.num_nodes(),
            self.topo.local_rank(),
            self.topo.local_size(),
            self.topo.num_cpus(),
            self.topo.num_gpus(),
            self.gpu_id()
        )
    }
}
