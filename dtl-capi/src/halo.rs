//! Halo exchange for stencils: ghost rows from the neighbouring ranks
//! (`dtl_halo_exchange`) and padded local blocks (`dtl_local_padded`).

use std::ffi::c_void;

use dtl_core::{Boundary, Error, HaloSpec, Result};

use crate::container::{collective, copy_out, read_elem, store_arg, with_store, AnyStore, Store};
use crate::error::guard;
use crate::handle::out_ptr;
use crate::types::*;

/// What fills the ghost cells of dtl_local_padded outside the global array.
/// Functions take it as an int32_t (the dtl_boundary typedef).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dtl_boundary {
    /// A constant value (a fixed Dirichlet boundary; numpy.pad
    /// mode="constant").
    Constant = 0,
    /// Every axis wraps around (numpy.pad mode="wrap").
    Periodic = 1,
}

/// A dtl_boundary as it crosses the ABI (spelled `dtl_boundary` in dtl.h).
pub type dtl_boundary_code = i32;

/// Exchanges ghost rows with the neighbouring ranks along the split axis
/// (which must be axis 0 for a tensor): this rank receives the `lower` rows
/// just before its first row and the `upper` rows just after its last row,
/// in global order, from whichever ranks own them; with periodic non-zero
/// the axis is a ring (full widths everywhere), else halos are shorter at
/// the global edges, and empty on a rank with no rows. A row is one element
/// of a vector or array, or shape[1] * ... * shape[ndim-1] elements of a
/// tensor. The rows go to lower_out and upper_out (C order); the numbers of
/// rows received go to *lower_rows and *upper_rows. Capacities are in
/// elements: lower * row length (upper * row length) always suffices.
/// MPI_Isend/MPI_Irecv between neighbours after one MPI_Allreduce checking
/// the arguments.
///
/// Collective over the container's context: every rank passes the same
/// lower, upper and periodic.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once), a
/// periodic width larger than the axis extent (every rank);
/// DTL_ERROR_NOT_SUPPORTED, with more than one rank, for a cyclic,
/// block-cyclic or replicated partition or a tensor split along another
/// axis (redistribute first);
/// DTL_ERROR_MISMATCH if ranks pass different widths; after taking part,
/// DTL_ERROR_BOUNDS on a rank whose capacity is too small and
/// DTL_ERROR_INVALID_ARGUMENT for NULL outputs there.
///
/// # Safety
/// lower_out and upper_out must point to lower_capacity and upper_capacity
/// writable elements of the dtype (or be NULL when the capacity is 0);
/// lower_rows and upper_rows must be NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtl_halo_exchange(
    container: *const c_void,
    lower: u64,
    upper: u64,
    periodic: i32,
    lower_out: *mut c_void,
    lower_capacity: u64,
    lower_rows: *mut u64,
    upper_out: *mut c_void,
    upper_capacity: u64,
    upper_rows: *mut u64,
) -> dtl_status {
    guard("dtl_halo_exchange", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            let spec = collective(st.context(), "halo_exchange", (|| {
                let spec = HaloSpec::new(size_arg(lower, "lower")?, size_arg(upper, "upper")?);
                Ok(if periodic != 0 { spec.periodic() } else { spec })
            })())?;
            let h = match st {
                Store::Tensor(t) => t.halo_exchange_spec(spec)?,
                other => other.one_d("halo_exchange")?.halo_exchange_spec(spec)?,
            };
            let (lo, hi) = (h.lower.as_standard_layout(), h.upper.as_standard_layout());
            // SAFETY: caller's contract.
            unsafe {
                copy_out(lo.as_slice().unwrap_or(&[]), lower_out, lower_capacity)?;
                copy_out(hi.as_slice().unwrap_or(&[]), upper_out, upper_capacity)?;
                *out_ptr(lower_rows, "lower_rows")? = h.lower.shape()[0] as u64;
                *out_ptr(upper_rows, "upper_rows")? = h.upper.shape()[0] as u64;
            }
            Ok(())
        })
    })
}

/// Writes this rank's block padded with ghost cells into out (C order):
/// widths holds 2 * ndim entries, the cells before and after the block
/// along each axis (lower0, upper0, lower1, upper1, ...; ndim is 1 for a
/// vector or array), so out has shape (local_shape[k] + lower_k + upper_k)
/// for each axis k. Ghost cells along the split axis that lie inside the
/// global array come from the neighbouring ranks (a halo exchange); cells
/// outside the global array hold *value for DTL_BOUNDARY_CONSTANT, or wrap
/// around for DTL_BOUNDARY_PERIODIC (value ignored; widths must not exceed
/// the axis extents). A rank with no rows gets an empty block (0 elements).
/// The usual input of a stencil: out[i + lower0, j + lower1] is local
/// element (i, j).
///
/// Collective over the container's context: every rank passes the same
/// widths and boundary.
///
/// Errors: DTL_ERROR_INVALID_ARGUMENT for an invalid container (at once), a
/// NULL widths, n_widths != 2 * ndim, a boundary code outside 0..1, a NULL
/// value with DTL_BOUNDARY_CONSTANT (every rank); DTL_ERROR_NOT_SUPPORTED,
/// with more than one rank, for a cyclic, block-cyclic or replicated
/// partition or a tensor split along another axis; DTL_ERROR_MISMATCH if ranks pass different widths;
/// after taking part, DTL_ERROR_BOUNDS on a rank whose capacity is too
/// small, DTL_ERROR_INVALID_ARGUMENT for a NULL out there.
///
/// # Safety
/// widths must point to n_widths readable uint64_t; value to one readable
/// element of the dtype (or NULL for periodic); out to capacity writable
/// elements.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtl_local_padded(
    container: *const c_void,
    widths: *const u64,
    n_widths: u64,
    boundary: dtl_boundary_code,
    value: *const c_void,
    out: *mut c_void,
    capacity: u64,
) -> dtl_status {
    guard("dtl_local_padded", || {
        // SAFETY: caller's contract.
        let s = unsafe { store_arg(container, "container") }?;
        with_store!(&*s, T, st => {
            let ndim = match st {
                Store::Tensor(t) => t.ndim(),
                _ => 1,
            };
            let args = collective(st.context(), "local_padded", (|| {
                if n_widths != 2 * ndim as u64 {
                    return Err(Error::InvalidArgument(format!(
                        "n_widths must be 2 * ndim = {}, got {n_widths}", 2 * ndim
                    )));
                }
                // SAFETY: caller's contract.
                let w = unsafe { crate::container::slice_arg::<u64>(widths.cast(), 2 * ndim, "widths") }?;
                let pairs = w
                    .chunks(2)
                    .map(|p| Ok((size_arg(p[0], "widths[i]")?, size_arg(p[1], "widths[i]")?)))
                    .collect::<Result<Vec<_>>>()?;
                let b = match boundary {
                    0 => Boundary::Constant(unsafe { read_elem::<T>(value, "value") }?),
                    1 => Boundary::Periodic,
                    _ => return Err(Error::InvalidArgument(format!(
                        "boundary must be DTL_BOUNDARY_CONSTANT (0) or DTL_BOUNDARY_PERIODIC (1), got {boundary}"
                    ))),
                };
                Ok((pairs, b))
            })())?;
            let (pairs, b) = args;
            let padded: Vec<T> = match st {
                Store::Tensor(t) => {
                    let a = t.local_padded(&pairs, b)?;
                    a.as_standard_layout().as_slice().unwrap_or(&[]).to_vec()
                }
                other => other.one_d("local_padded")?.local_padded(pairs[0], b)?,
            };
            // SAFETY: caller's contract.
            unsafe { copy_out(&padded, out, capacity) }
        })
    })
}
