//! Distributed containers: elements spread over the ranks of a context.
//!
//! * [`DistributedVector`] — 1-D, resizable (collective [`resize`](DistributedVector::resize)).
//! * [`DistributedArray`] — 1-D, fixed size.
//! * [`DistributedTensor`] — N-d, rows (axis 0) split over the ranks, the
//!   local block an `ndarray` view; halo exchange for stencils.
//!
//! Each rank owns a contiguous local part, given by the container's
//! [`crate::partition::Block`] partition; `local()` and `local_mut()`
//! are plain slices of it (no communication). Construction, `gather*`,
//! `resize` and the halo exchange are **collective**.

mod array;
mod tensor;
mod vector;

pub use array::DistributedArray;
pub use tensor::{DistributedTensor, Halo};
pub use vector::{Distributed1D, DistributedVector};

use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Block, Partition};

/// Moves rows between two contiguous, rank-ordered layouts with one
/// `MPI_Alltoallv`. `data` holds global rows `old_start ..` (`row_len`
/// elements each) on this rank; the result holds the rows of `new.range(me)`
/// that existed anywhere (rows beyond the old total are not created).
/// Collective.
pub(crate) fn move_rows<T: Element>(
    ctx: &Context,
    data: &[T],
    old_start: usize,
    row_len: usize,
    new: &Block,
) -> Result<Vec<T>> {
    let size = ctx.size();
    let my_rows = data.len().checked_div(row_len).unwrap_or(0);
    let old = old_start..old_start + my_rows;
    let mut counts = vec![0usize; size];
    for (r, c) in counts.iter_mut().enumerate() {
        let dst = new.range(r);
        let lo = dst.start.max(old.start);
        let hi = dst.end.min(old.end);
        if hi > lo {
            *c = (hi - lo) * row_len;
        }
    }
    // Rows of `old` beyond the new total are dropped.
    let keep = old.end.min(new.global_size()).saturating_sub(old.start) * row_len;
    let (out, _) = ctx.alltoallv(&data[..keep.min(data.len())], &counts)?;
    Ok(out)
}

/// Validates a size argument that arrives signed from a binding.
pub fn checked_size(value: i64, what: &str) -> Result<usize> {
    usize::try_from(value).map_err(|_| Error::InvalidArgument(format!("{what} must be >= 0, got {value}")))
}

/// Offsets of contiguous parts given each rank's count (`MPI_Allgather`);
/// returns (my global offset, total). Collective.
pub(crate) fn contiguous_offset(ctx: &Context, local_len: usize) -> Result<(usize, usize)> {
    let counts = ctx.allgather(&[local_len as u64])?;
    let off: u64 = counts[..ctx.rank()].iter().sum();
    let total: u64 = counts.iter().sum();
    Ok((off as usize, total as usize))
}

