//! [`DistributedArray`]: the fixed-size 1-D container.

use super::vector::Distributed1D;
use crate::element::Element;

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
pub struct DistributedArray<T: Element>(pub(crate) Distributed1D<T>);

one_d_constructors!(DistributedArray);
deref_to_1d!(DistributedArray);
