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

/// The constructors shared by the 1-D containers (a newtype over
/// [`Distributed1D`]); every one is collective.
macro_rules! one_d_constructors {
    ($name:ident) => {
        impl<T: $crate::element::Element> $name<T> {
            /// `n` zero-initialised elements. Collective (see `with_value`).
            pub fn new(ctx: &$crate::context::Context, n: usize) -> $crate::error::Result<Self> {
                Self::with_value(ctx, n, T::ZERO)
            }
            /// `n` elements set to `value`. Collective: every rank passes the
            /// same `n` (checked with one `MPI_Allreduce` unless checks are off).
            ///
            /// # Errors
            /// [`Error::Mismatch`](crate::Error::Mismatch) if ranks pass
            /// different sizes; [`Error::Memory`](crate::Error::Memory) if the
            /// local part cannot be allocated.
            pub fn with_value(ctx: &$crate::context::Context, n: usize, value: T) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::filled(ctx, n, value).map(Self)
            }
            /// Builds from every rank's local elements, concatenated in rank
            /// order (global size = the sum); moved to the block partition if
            /// needed (`MPI_Allgather` of counts, then `MPI_Alltoallv`).
            /// Collective.
            pub fn from_local(ctx: &$crate::context::Context, local: Vec<T>) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::from_local_parts(ctx, local).map(Self)
            }
            /// Builds from the full data, present on every rank; each keeps
            /// its block. Collective.
            pub fn from_global(ctx: &$crate::context::Context, global: &[T]) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::from_global_slice(ctx, global).map(Self)
            }
            /// Distributes `data` from `root` (`MPI_Scatterv`); other ranks'
            /// `data` is ignored. Collective.
            pub fn scatter_from(
                ctx: &$crate::context::Context,
                data: &[T],
                root: usize,
            ) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::scatter_root(ctx, data, root).map(Self)
            }
        }
    };
}

/// `Deref`/`DerefMut` of a 1-D newtype to its [`Distributed1D`].
macro_rules! deref_to_1d {
    ($name:ident) => {
        impl<T: $crate::element::Element> std::ops::Deref for $name<T> {
            type Target = $crate::containers::Distributed1D<T>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }
        impl<T: $crate::element::Element> std::ops::DerefMut for $name<T> {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }
    };
}

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
