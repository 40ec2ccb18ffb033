//! [`DistributedArray`]: the fixed-size 1-D container.

use std::ops::{Deref, DerefMut};

use super::vector::Distributed1D;
use crate::context::Context;
use crate::element::Element;
use crate::error::Result;

/// A fixed-size 1-D distributed container, block-partitioned. Like
/// [`DistributedVector`](super::DistributedVector) without `resize`.
///
/// Derefs to [`Distributed1D`] for the queries, local access and gathers.
///
/// ```
/// use dtl_core::{Context, DistributedArray};
/// let ctx = Context::world()?;
/// let a = DistributedArray::<i32>::with_value(&ctx, 10, 7)?;    // collective
/// assert_eq!(a.gather_all()?, vec![7; 10]);                     // MPI_Allgatherv
/// # Ok::<(), dtl_core::Error>(())
/// ```
#[derive(Debug)]
pub struct DistributedArray<T: Element>(Distributed1D<T>);

impl<T: Element> DistributedArray<T> {
    /// `n` zero-initialised elements. Collective.
    pub fn new(ctx: &Context, n: usize) -> Result<Self> {
        Self::with_value(ctx, n, T::ZERO)
    }
    /// `n` elements set to `value`. Collective: every rank passes the same
    /// `n` (checked unless checks are off).
    pub fn with_value(ctx: &Context, n: usize, value: T) -> Result<Self> {
        Distributed1D::filled(ctx, n, value).map(Self)
    }
    /// Builds from every rank's local elements, concatenated in rank order.
    /// Collective.
    pub fn from_local(ctx: &Context, local: Vec<T>) -> Result<Self> {
        Distributed1D::from_local_parts(ctx, local).map(Self)
    }
    /// Builds from the full data, present on every rank. Collective.
    pub fn from_global(ctx: &Context, global: &[T]) -> Result<Self> {
        Distributed1D::from_global_slice(ctx, global).map(Self)
    }
    /// Distributes `data` from `root` (`MPI_Scatterv`). Collective.
    pub fn scatter_from(ctx: &Context, data: &[T], root: usize) -> Result<Self> {
        Distributed1D::scatter_root(ctx, data, root).map(Self)
    }
}

impl<T: Element> Deref for DistributedArray<T> {
    type Target = Distributed1D<T>;
    fn deref(&self) -> &Distributed1D<T> {
        &self.0
    }
}

impl<T: Element> DerefMut for DistributedArray<T> {
    fn deref_mut(&mut self) -> &mut Distributed1D<T> {
        &mut self.0
    }
}
