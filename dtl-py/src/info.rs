//! `dtl._info`: the diagnostic report (`dtl_gpu::info::Report`) as a dict
//! and as text, behind `dtl.info()` and `python -m dtl info`.

use dtl_gpu::info::Report;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::context::{ensure_mpi, PyContext};
use crate::errors::IntoPy;

/// Extra report sections: ``[(title, [(key, value), ...]), ...]``.
type Extra = Vec<(String, Vec<(String, String)>)>;

/// Collects the report over ``ctx`` (**collective**) and returns
/// ``(fields, text)``: a dict of the report's fields and the text report
/// with the ``extra`` sections appended. ``dtl.info`` wraps it.
#[pyfunction]
pub fn _info<'py>(py: Python<'py>, ctx: PyRef<'_, PyContext>, extra: Extra) -> PyResult<(Bound<'py, PyDict>, String)> {
    ensure_mpi()?;
    let c = ctx.ctx.clone();
    let r = py.detach(|| Report::collect(&c)).py()?;
    let extra_ref: Vec<(&str, Vec<(String, String)>)> = extra.iter().map(|(t, l)| (t.as_str(), l.clone())).collect();
    let text = r.to_text(&extra_ref);
    let d = PyDict::new(py);
    d.set_item("version", &r.version)?;
    d.set_item("profile", &r.profile)?;
    d.set_item("target", &r.target)?;
    let comps = PyDict::new(py);
    for (k, v) in &r.components {
        comps.set_item(k, v)?;
    }
    d.set_item("components", comps)?;
    d.set_item("mpi_library_version", &r.mpi_library_version)?;
    d.set_item("mpi_version", r.mpi_version)?;
    d.set_item("mpi_initialized_by_dtl", r.mpi_initialized_by_dtl)?;
    d.set_item("thread_level_requested", r.thread_level_requested.map(|t| t.name()))?;
    d.set_item("thread_level_provided", r.thread_level_provided.name())?;
    d.set_item("size", r.size)?;
    d.set_item("rank", r.rank)?;
    d.set_item("num_nodes", r.num_nodes)?;
    d.set_item("node_hosts", &r.node_hosts)?;
    d.set_item("ranks_per_node", &r.ranks_per_node)?;
    d.set_item("node_cpus", r.node_cpus)?;
    d.set_item("cuda_available", r.cuda_available)?;
    d.set_item("cuda_status", &r.cuda_status)?;
    d.set_item("cuda_device_count", r.cuda_device_count)?;
    d.set_item("cuda_driver_version", r.cuda_driver_version)?;
    d.set_item("nccl_available", r.nccl_available)?;
    d.set_item("nccl_status", &r.nccl_status)?;
    d.set_item("nvrtc_available", r.nvrtc_available)?;
    let ranks = PyList::empty(py);
    for x in &r.ranks {
        let e = PyDict::new(py);
        e.set_item("rank", x.rank)?;
        e.set_item("hostname", &x.hostname)?;
        e.set_item("node", x.node)?;
        e.set_item("local_rank", x.local_rank)?;
        e.set_item("pid", x.pid)?;
        e.set_item("cpus", &x.cpus)?;
        e.set_item("gpu", x.gpu)?;
        e.set_item("num_gpus", x.num_gpus)?;
        e.set_item("cuda_status", &x.cuda_status)?;
        ranks.append(e)?;
    }
    d.set_item("ranks", ranks)?;
    Ok((d, text))
}
