//! The native module `dtl._dtl` behind the Python package `dtl`.
//!
//! Thin by design: argument conversion, dtype dispatch, GIL release around
//! MPI, and error mapping. All logic lives in `dtl-core`.

#![deny(missing_docs)]
#![allow(clippy::wrong_self_convention)] // `from_numpy(&mut self, …)`: the name is fixed by the DTL guide.

use pyo3::prelude::*;

mod access;
mod algorithms;
mod collectives;
mod containers;
mod context;
mod dlpack;
mod dtype;
mod errors;
mod info;
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

/// `True` if placement policy `p` can be used on this machine:
/// `PLACEMENT_HOST` and `PLACEMENT_DEVICE_PREFERRED` (which falls back to
/// the host) always, `PLACEMENT_DEVICE` and `PLACEMENT_UNIFIED` when a
/// CUDA device is usable. Not collective. Raises `InvalidArgumentError` for
/// a value outside the `PLACEMENT_*` constants.
#[pyfunction]
fn placement_available(p: i64) -> PyResult<bool> {
    let p = errors::IntoPy::py(dtl_core::Placement::from_code(p))?;
    Ok(dtl_gpu::resolve_placement(p).is_ok())
}

/// `True` if NCCL can be used: the NCCL library (`libnccl.so.2`) loads and
/// a CUDA device is usable (never raises). Not collective.
#[pyfunction]
fn has_nccl() -> bool {
    dtl_gpu::nccl::nccl_available()
}

/// `True` if NCCL runs the collective `op` (a ``DTL_NCCL_OP_*`` code)
/// itself. Not collective. Raises `InvalidArgumentError` for a bad code.
#[pyfunction]
fn nccl_supports_native(op: i64) -> PyResult<bool> {
    Ok(dtl_gpu::nccl::supports_native(errors::IntoPy::py(dtl_gpu::NcclOp::from_code(op))?))
}

/// `True` if `op` (a ``DTL_NCCL_OP_*`` code) is available in
/// ``DTL_NCCL_MODE_HYBRID_PARITY`` (natively or through MPI with host
/// staging). Not collective. Raises `InvalidArgumentError` for a bad code.
#[pyfunction]
fn nccl_supports_hybrid(op: i64) -> PyResult<bool> {
    Ok(dtl_gpu::nccl::supports_hybrid(errors::IntoPy::py(dtl_gpu::NcclOp::from_code(op))?))
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
    m.add_function(wrap_pyfunction!(has_nccl, m)?)?;
    m.add_function(wrap_pyfunction!(nccl_supports_native, m)?)?;
    m.add_function(wrap_pyfunction!(nccl_supports_hybrid, m)?)?;
    for op in dtl_gpu::NcclOp::ALL {
        m.add(format!("DTL_NCCL_OP_{}", op.name()).as_str(), op as i32)?;
    }
    m.add_function(wrap_pyfunction!(info::_info, m)?)?;
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
    m.add_function(wrap_pyfunction!(collectives::_allreduce_fast, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_broadcast_array, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_allgather_nd, m)?)?;
    m.add_function(wrap_pyfunction!(collectives::_alltoall_nd, m)?)?;
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
