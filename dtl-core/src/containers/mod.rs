//! Distributed containers: elements spread over the ranks of a context.
//!
//! * [`DistributedVector`] — 1-D, resizable (collective [`resize`](DistributedVector::resize)).
//! * [`DistributedArray`] — 1-D, fixed size.
//! * [`DistributedTensor`] — N-d, rows (axis 0) split over the ranks, the
//!   local block an `ndarray` view; halo exchange for stencils.
//! * [`DistributedSpan`] / [`DistributedSpanMut`] — non-owning views of a
//!   global index range of any of them (pure).
//! * [`DistributedMap`] — key → value, hash-partitioned by key; buffered
//!   writes (local, queued for remote owners), collective `flush` and reads.
//!
//! Each rank holds its elements in one contiguous local buffer, in
//! ascending global order; which elements are its own is given by the
//! container's [`crate::partition`] (block by default); `local()` and
//! `local_mut()` are plain slices of it (no communication). Construction,
//! `gather*`, `redistribute`, `resize` and the halo exchange are
//! **collective**; `get`/`set` of one element are one-sided (see
//! [`remote`]).

/// The constructors shared by the 1-D containers (a newtype over
/// [`Distributed1D`]); every one is collective.
macro_rules! one_d_constructors {
    ($name:ident) => {
        impl<T: $crate::element::Element> $name<T> {
            /// `n` zero-initialised elements, block partition. Collective (see
            /// `with_value`).
            pub fn new(ctx: &$crate::context::Context, n: usize) -> $crate::error::Result<Self> {
                Self::with_value(ctx, n, T::ZERO)
            }
            /// `n` elements set to `value`, block partition. Collective: every
            /// rank passes the same `n` (checked with one `MPI_Allreduce` unless
            /// checks are off).
            ///
            /// # Errors
            /// [`Error::Mismatch`](crate::Error::Mismatch) if ranks pass
            /// different sizes; [`Error::Memory`](crate::Error::Memory) if the
            /// local part cannot be allocated.
            pub fn with_value(ctx: &$crate::context::Context, n: usize, value: T) -> $crate::error::Result<Self> {
                Self::with_layout(ctx, n, value, &$crate::partition::PartitionSpec::Block)
            }
            /// `n` elements set to `value`, laid out by `spec` (block, cyclic,
            /// block-cyclic, weighted, replicated). Collective.
            ///
            /// # Errors
            /// As `with_value`; [`Error::InvalidArgument`](crate::Error::InvalidArgument)
            /// for invalid spec parameters (on every rank).
            pub fn with_layout(
                ctx: &$crate::context::Context,
                n: usize,
                value: T,
                spec: &$crate::partition::PartitionSpec,
            ) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::filled(ctx, n, value, spec).map(Self)
            }
            /// Builds from every rank's local elements, concatenated in rank
            /// order (global size = the sum), block partition (`MPI_Allgather`
            /// of counts, then `MPI_Alltoallv` if they must move). Collective.
            pub fn from_local(ctx: &$crate::context::Context, local: Vec<T>) -> $crate::error::Result<Self> {
                Self::from_local_with(ctx, local, &$crate::partition::PartitionSpec::Block)
            }
            /// Like `from_local`, laid out by `spec`. Collective.
            pub fn from_local_with(
                ctx: &$crate::context::Context,
                local: Vec<T>,
                spec: &$crate::partition::PartitionSpec,
            ) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::from_local_parts(ctx, local, spec).map(Self)
            }
            /// Builds from the full data, present on every rank; each keeps
            /// its block. Collective.
            pub fn from_global(ctx: &$crate::context::Context, global: &[T]) -> $crate::error::Result<Self> {
                Self::from_global_with(ctx, global, &$crate::partition::PartitionSpec::Block)
            }
            /// Like `from_global`, laid out by `spec`. Collective.
            pub fn from_global_with(
                ctx: &$crate::context::Context,
                global: &[T],
                spec: &$crate::partition::PartitionSpec,
            ) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::from_global_slice(ctx, global, spec).map(Self)
            }
            /// Builds from this rank's part `local` of a container laid out
            /// by `layout` (e.g. the parts of a device container copied
            /// back to the host): `local` must hold `layout.local_size(rank)`
            /// elements in ascending global order. No data moves. Collective:
            /// every rank passes the same layout (checked with one
            /// `MPI_Allreduce` unless checks are off).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) on every
            /// rank if some rank's `local` has the wrong length or the layout
            /// is for another number of ranks;
            /// [`Error::Mismatch`](crate::Error::Mismatch) if ranks pass
            /// different layouts.
            pub fn from_layout(
                ctx: &$crate::context::Context,
                layout: $crate::partition::Layout,
                local: Vec<T>,
            ) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::from_layout_parts(ctx, layout, local).map(Self)
            }
            /// Distributes `data` from `root` by blocks; other ranks' `data`
            /// is ignored. Collective.
            pub fn scatter_from(
                ctx: &$crate::context::Context,
                data: &[T],
                root: usize,
            ) -> $crate::error::Result<Self> {
                Self::scatter_from_with(ctx, data, root, &$crate::partition::PartitionSpec::Block)
            }
            /// Like `scatter_from`, laid out by `spec` (one `MPI_Alltoallv`).
            /// Collective.
            pub fn scatter_from_with(
                ctx: &$crate::context::Context,
                data: &[T],
                root: usize,
                spec: &$crate::partition::PartitionSpec,
            ) -> $crate::error::Result<Self> {
                $crate::containers::Distributed1D::scatter_root(ctx, data, root, spec).map(Self)
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

mod access;
mod array;
mod map;
pub(crate) mod redistribute;
pub mod remote;
mod span;
pub(crate) mod tensor;
mod vector;

pub use crate::algorithms::halo::Halo;
pub use access::GlobalIndex;
pub use array::DistributedArray;
pub use map::DistributedMap;
pub use span::{DistributedSpan, DistributedSpanMut};
pub use tensor::{tensor_fields, DistributedTensor};
pub use vector::{Distributed1D, DistributedVector};

use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};

/// A local buffer of `len` copies of `value`, or [`Error::Memory`] naming
/// the rank when it cannot be allocated.
pub(crate) fn alloc_filled<T: Element>(ctx: &Context, len: usize, value: T) -> Result<Vec<T>> {
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|e| {
        Error::Memory(format!("cannot allocate {len} elements of {} on rank {}: {e}", T::DTYPE, ctx.rank()))
    })?;
    crate::memory::advise_huge_pages(&mut data);
    data.resize(len, value);
    Ok(data)
}

/// Validates a size argument that arrives signed from a binding.
pub fn checked_size(value: i64, what: &str) -> Result<usize> {
    usize::try_from(value).map_err(|_| Error::InvalidArgument(format!("{what} must be >= 0, got {value}")))
}
