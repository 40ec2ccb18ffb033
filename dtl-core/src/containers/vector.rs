//! [`Distributed1D`], the shared 1-D core, and [`DistributedVector`].

use super::{contiguous_offset, move_rows};
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Block, Partition, PartitionKind};

/// The state and operations shared by [`DistributedVector`] and
/// [`DistributedArray`](super::DistributedArray) (both deref to it, and
/// share the same constructors):
/// `global_size` elements split by a [`Block`] partition, this rank's part
/// in a contiguous host buffer.
#[derive(Debug)]
pub struct Distributed1D<T: Element> {
    pub(crate) ctx: Context,
    pub(crate) part: Block,
    pub(crate) data: Vec<T>,
}

impl<T: Element> Distributed1D<T> {
    /// `n` elements, each `value`. Not communicating (every rank computes the
    /// same partition), but every rank must pass the same `n`; with
    /// collective checks on, one `MPI_Allreduce` verifies that (collective).
    pub(crate) fn filled(ctx: &Context, n: usize, value: T) -> Result<Self> {
        ctx.agree("container construction", &[("global size", n as i64), ("dtype", T::DTYPE as i64)])?;
        let part = Block::new(n, ctx.size());
        let len = part.local_size(ctx.rank());
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|e| {
            Error::Memory(format!("cannot allocate {len} elements of {} on rank {}: {e}", T::DTYPE, ctx.rank()))
        })?;
        data.resize(len, value);
        Ok(Distributed1D { ctx: ctx.clone(), part, data })
    }

    /// Builds from every rank's local elements, concatenated in rank order;
    /// the parts are moved (`MPI_Alltoallv`) to the block partition of the
    /// total when they do not already match it. Collective.
    pub(crate) fn from_local_parts(ctx: &Context, local: Vec<T>) -> Result<Self> {
        ctx.agree("from_local", &[("dtype", T::DTYPE as i64)])?;
        let (off, total) = contiguous_offset(ctx, local.len())?;
        let part = Block::new(total, ctx.size());
        let aligned = ctx.allreduce_scalar(
            u8::from(part.local_offset(ctx.rank()) == off && part.local_size(ctx.rank()) == local.len()),
            crate::ReduceOp::Min,
        )?;
        let data = if aligned == 1 { local } else { move_rows(ctx, &local, off, 1, &part)? };
        Ok(Distributed1D { ctx: ctx.clone(), part, data })
    }

    /// Builds from a full copy of the data that every rank holds: each rank
    /// keeps its block. No communication besides the size check. Collective.
    pub(crate) fn from_global_slice(ctx: &Context, global: &[T]) -> Result<Self> {
        ctx.agree("from_global", &[("global size", global.len() as i64), ("dtype", T::DTYPE as i64)])?;
        let part = Block::new(global.len(), ctx.size());
        let data = global[part.range(ctx.rank())].to_vec();
        Ok(Distributed1D { ctx: ctx.clone(), part, data })
    }

    /// Distributes the root's `data` by blocks (`MPI_Scatterv`); other
    /// ranks' `data` is ignored. Collective.
    pub(crate) fn scatter_root(ctx: &Context, data: &[T], root: usize) -> Result<Self> {
        let n = ctx.broadcast_vec(&[data.len() as u64], root)?[0] as usize;
        let part = Block::new(n, ctx.size());
        let counts: Vec<usize> = (0..ctx.size()).map(|r| part.local_size(r)).collect();
        let local = ctx.scatterv(data, &counts, root)?;
        Ok(Distributed1D { ctx: ctx.clone(), part, data: local })
    }

    /// The context the container lives on.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// The partition (pure index maps, see [`Partition`]).
    pub fn partition(&self) -> &Block {
        &self.part
    }
    /// The partition policy tag ([`PartitionKind::Block`] in this release).
    pub fn partition_kind(&self) -> PartitionKind {
        self.part.kind()
    }
    /// Number of elements over all ranks.
    pub fn global_size(&self) -> usize {
        self.part.global_size()
    }
    /// Number of elements on this rank.
    pub fn local_size(&self) -> usize {
        self.data.len()
    }
    /// Global index of this rank's first element.
    pub fn local_offset(&self) -> usize {
        self.part.local_offset(self.ctx.rank())
    }
    /// The rank that owns global index `i`. Not collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `i >= global_size`.
    pub fn owner(&self, i: usize) -> Result<usize> {
        self.part.owner(i)
    }
    /// True if this rank owns global index `i` (false out of range).
    pub fn is_local(&self, i: usize) -> bool {
        self.part.is_local(self.ctx.rank(), i)
    }
    /// Global index of local index `l` on this rank.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `l >= local_size`.
    pub fn to_global(&self, l: usize) -> Result<usize> {
        self.part.local_to_global(self.ctx.rank(), l)
    }
    /// Local index of global index `i` if this rank owns it.
    pub fn to_local(&self, i: usize) -> Option<usize> {
        match self.part.global_to_local(i) {
            Ok((r, l)) if r == self.ctx.rank() => Some(l),
            _ => None,
        }
    }
    /// This rank's elements (no communication).
    pub fn local(&self) -> &[T] {
        &self.data
    }
    /// This rank's elements, writable (no communication).
    pub fn local_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// Sets every local element to `value` (each rank fills its own part;
    /// not communicating).
    pub fn fill(&mut self, value: T) {
        self.data.fill(value);
    }
    /// The whole container in global order on `root` (`MPI_Gatherv`);
    /// `None` on other ranks. Collective.
    pub fn gather(&self, root: usize) -> Result<Option<Vec<T>>> {
        Ok(self.ctx.gatherv(&self.data, root)?.map(|(v, _)| v))
    }
    /// The whole container in global order on every rank
    /// (`MPI_Allgatherv`). Collective.
    pub fn gather_all(&self) -> Result<Vec<T>> {
        Ok(self.ctx.allgatherv(&self.data)?.0)
    }
}

/// A resizable 1-D distributed container, block-partitioned.
///
/// Derefs to [`Distributed1D`] for the queries, local access and gathers.
///
/// ```
/// use dtl_core::{Context, DistributedVector, ReduceOp};
/// let ctx = Context::world()?;
/// let mut v = DistributedVector::<f64>::new(&ctx, 1000)?;   // collective
/// let off = v.local_offset();
/// for (l, x) in v.local_mut().iter_mut().enumerate() {
///     *x = (off + l) as f64;
/// }
/// let local: f64 = v.local().iter().sum();
/// let total = ctx.allreduce_scalar(local, ReduceOp::Sum)?;    // MPI_Allreduce
/// assert_eq!(total, 999.0 * 1000.0 / 2.0);
/// # Ok::<(), dtl_core::Error>(())
/// ```
#[derive(Debug)]
pub struct DistributedVector<T: Element>(Distributed1D<T>);

one_d_constructors!(DistributedVector);

impl<T: Element> DistributedVector<T> {
    /// Changes the global size to `n`, keeping the first `min(old, n)`
    /// elements in global order and setting new ones to `value`. Elements
    /// move to the new block boundaries with one `MPI_Alltoallv`.
    /// Collective: every rank passes the same `n` and `value`.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if ranks pass different sizes.
    pub fn resize_with(&mut self, n: usize, value: T) -> Result<()> {
        let ctx = self.0.ctx.clone();
        ctx.agree("resize", &[("new size", n as i64)])?;
        let new = Block::new(n, ctx.size());
        let mut data = move_rows(&ctx, &self.0.data, self.0.local_offset(), 1, &new)?;
        data.resize(new.local_size(ctx.rank()), value);
        self.0.part = new;
        self.0.data = data;
        Ok(())
    }

    /// [`resize_with`](Self::resize_with) with zero for new elements.
    /// Collective.
    pub fn resize(&mut self, n: usize) -> Result<()> {
        self.resize_with(n, T::ZERO)
    }
}

deref_to_1d!(DistributedVector);
