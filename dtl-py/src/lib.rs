//! The native module `dtl._dtl` behind the Python package `dtl`.
//!
//! Thin by design: argument conversion, dtype dispatch, GIL release around
//! MPI, and error mapping. All logic lives in `dtl-core`.

#![allow(clippy::wrong_self_convention)] // `from_numpy(&mut self, …)`: the name is fixed by the DTL guide.

use pyo3::prelude::*;

mod access;
mod algorithms;
mod collectives;
mod containers;
mod context;
mod dtype;
mod errors;
mod io;
mod map;
mod rma;
mod topology;

/// `True`: dtl is built on MPI.
#[pyfunction]
fn has_mpi() -> bool {
    true
}

/// `True` if a CUDA driver with at least one device is usable (never raises).
#[pyfunction]
fn has_cuda() -> bool {
    dtl_gpu::has_cuda()
}

/// Why CUDA is or is not usable, one line.
#[pyfunction]
fn cuda_status() -> String {
    dtl_gpu::cuda_status()
}

/// Wall-clock time in seconds (`MPI_Wtime`); not collective.
#[pyfunction]
fn wtime() -> f64 {
    dtl_core::Environment::wtime()
}

/// `True` if containers can be placed with placement policy `p` in this
/// build and on this machine (`PLACEMENT_HOST` always). Raises
/// `InvalidArgumentError` for a value outside the `PLACEMENT_*` constants.
#[pyfunction]
fn placement_available(p: i64) -> PyResult<bool> {
    let p = errors::IntoPy::py(dtl_core::Placement::from_code(p))?;
    Ok(p.ensure_available("").is_ok())
}

/// The symbolic name of a numeric status code.
#[pyfunction]
fn status_name(code: i32) -> &'static str {
    dtl_core::error::status_name(code)
}

#[pymodule]
fn _dtl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", dtl_core::VERSION)?;
    m.add_function(wrap_pyfunction!(has_mpi, m)?)?;
    m.add_function(wrap_pyfunction!(has_cuda, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_status, m)?)?;
    m.add_function(wrap_pyfunction!(status_name, m)?)?;
    m.add_function(wrap_pyfunction!(wtime, m)?)?;
    m.add_function(wrap_pyfunction!(placement_available, m)?)?;
    m.add_function(wrap_pyfunction!(context::_finalize, m)?)?;
    m.add_function(wrap_pyfunction!(context::_async_threads, m)?)?;
    m.add_class::<context::PyEnvironment>()?;
    m.add_class::<context::PyContext>()?;
    m.add_class::<topology::PyTopology>()?;
    m.add_class::<containers::PyDistributedVector>()?;
    m.add_class::<containers::PyDistributedArray>()?;
    m.add_class::<containers::PyDistributedTensor>()?;
    m.add_class::<containers::LocalViewOwner>()?;
    m.add_class::<map::PyDistributedMap>()?;
    m.add_class::<rma::PyWindow>()?;
    m.add_class::<rma::PyEpoch>()?;
    m.add_function(wrap_pyfunction!(rma::_rma_put, m)?)?;
    m.add_function(wrap_pyfunction!(rma::_rma_get, m)?)?;
    m.add_function(wrap_pyfunction!(rma::_rma_accumulate, m)?)?;
    m.add_function(wrap_pyfunction!(rma::_rma_get_accumulate, m)?)?;
    m.add_function(wrap_pyfunction!(rma::_rma_atomic, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_allreduce, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_reduce, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_broadcast, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_gather, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_scatter, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_allgather, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_allgatherv, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_alltoall, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_scan, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_agree, m)?)?;
    m.add_function(wrap_pyfunction!(algorithms::_reject, m)?)?;
    Ok(())
}
