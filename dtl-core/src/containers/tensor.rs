//! [`DistributedTensor`]: N-d, rows (axis 0) block-split over the ranks.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use super::alloc_filled;
use super::redistribute::{redistribute, Move};
use super::Distributed1D;
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Layout, Partition, PartitionSpec, Weighted, Weights};

/// An N-dimensional distributed array (row-major), split along one axis
/// (axis 0 by default) by a partition [`Layout`] of that axis' indices:
/// rank `r` holds the slices `partition().local_indices(r)` along the split
/// axis and every other axis whole. The local block is a C-contiguous
/// `ndarray` of shape [`local_shape`](Self::local_shape).
///
/// Stencil codes get ghost rows from the neighbours with
/// [`halo_exchange`](Self::halo_exchange), [`local_with_halo`](Self::local_with_halo)
/// and [`local_padded`](Self::local_padded) (ghost cells on every axis); see
/// [`crate::algorithms::halo`].
///
/// ```
/// use dtl_core::{Context, DistributedTensor};
/// let ctx = Context::world()?;
/// let mut t = DistributedTensor::<f32>::new(&ctx, &[100, 64, 64])?;   // collective
/// assert_eq!(t.local_shape()[1..], [64, 64]);
/// t.local_view_mut().fill(1.0);
/// let halo = t.halo_exchange(1)?;              // ghost rows from the neighbours
/// assert!(halo.lower.shape()[0] <= 1);
/// # Ok::<(), dtl_core::Error>(())
/// ```
#[derive(Debug)]
pub struct DistributedTensor<T: Element> {
    shape: Vec<usize>,
    axis: usize,
    part: Layout,
    /// The local block (flat, C order) as a 1-D container over the
    /// flattened global index space, with the layout of [`flat_layout`]
    /// (and no RMA exposure). The algorithms run on it.
    pub(crate) flat: Distributed1D<T>,
    /// Whether `flat`'s layout is the true one (C order of the global
    /// tensor); if not (split along an inner axis), only order-free
    /// algorithms may use it as is.
    pub(crate) in_order: bool,
}

/// The layout of the flattened tensor (global C order) that `part`, the
/// partition of axis `axis` of `shape`, induces, and whether it is exact.
///
/// Split along axis 0 (or with every axis before the split one of extent
/// 1): contiguous partitions give a weighted layout of whole rows, cyclic
/// a block-cyclic one with blocks of one row, block-cyclic blocks of `b`
/// rows; replicated stays replicated. Split along an inner axis the local
/// elements are not one global pattern of that kind: the result is a
/// weighted layout with the right local *counts* (good for order-free
/// work) and `false`.
pub(crate) fn flat_layout(shape: &[usize], axis: usize, part: &Layout, size: usize) -> Result<(Layout, bool)> {
    let total: usize = shape.iter().product();
    let before: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let counts = |per: usize| Weights::Counts((0..size).map(|r| part.local_size(r) * per).collect());
    if part.is_replicated() {
        return Ok((PartitionSpec::Replicated.layout(total, size)?, true));
    }
    if total == 0 || before != 1 {
        return Ok((Layout::Weighted(Weighted::new(total, size, &counts(before * inner))?), total == 0));
    }
    let layout = match part {
        Layout::Cyclic(_) => PartitionSpec::BlockCyclic(inner).layout(total, size)?,
        Layout::BlockCyclic(b) => PartitionSpec::BlockCyclic(b.block_size() * inner).layout(total, size)?,
        _ => Layout::Weighted(Weighted::new(total, size, &counts(inner))?),
    };
    Ok((layout, true))
}

fn checked_len(shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| {
        Error::InvalidArgument(format!("shape {shape:?} has more elements than fit in memory addresses"))
    })
}

/// Agreement fields for a shape: a fixed count (missing dims as -1), so that
/// ranks with different ndims still run the same `MPI_Allreduce`.
fn shape_fields(shape: &[usize]) -> Vec<(&'static str, i64)> {
    const NAMES: [&str; 8] =
        ["shape[0]", "shape[1]", "shape[2]", "shape[3]", "shape[4]", "shape[5]", "shape[6]", "shape[7]"];
    let mut f = vec![("ndim", shape.len() as i64)];
    for (k, &name) in NAMES.iter().enumerate() {
        f.push((name, shape.get(k).map_or(-1, |&d| d as i64)));
    }
    f
}

/// The agreement fields of an N-d container (for
/// [`Context::agree_or_reject`]): its shape (see the fixed-count rule
/// above), split axis, dtype and partition signature (`sig`, from
/// [`PartitionSpec::signature`]). Pure; 14 of the 16 agreement slots, so a
/// caller may add two.
pub fn tensor_fields(
    shape: &[usize],
    axis: usize,
    dtype: crate::element::DType,
    sig: [i64; 3],
) -> Vec<(&'static str, i64)> {
    let mut f = shape_fields(shape);
    f.extend([
        ("axis", axis as i64),
        ("dtype", dtype as i64),
        ("partition", sig[0]),
        ("partition parameter", sig[1]),
        ("weights", sig[2]),
    ]);
    f
}

/// Checks `axis` against `shape` and builds the layout (errors, if any,
/// are returned after every rank has agreed on the arguments).
fn layout_for(ctx: &Context, shape: &[usize], axis: usize, spec: &PartitionSpec) -> Result<Layout> {
    if shape.is_empty() {
        return Err(Error::InvalidArgument("shape must have at least one dimension (ndim >= 1)".into()));
    }
    if shape.len() > 8 {
        return Err(Error::InvalidArgument(format!("ndim must be at most 8, got {}", shape.len())));
    }
    if axis >= shape.len() {
        return Err(Error::InvalidArgument(format!(
            "axis must be in 0..{} (the number of dimensions), got {axis}",
            shape.len()
        )));
    }
    checked_len(shape)?;
    spec.layout(shape[axis], ctx.size())
}

impl<T: Element> DistributedTensor<T> {
    /// A zero-filled tensor of global `shape` (`1 <= ndim <= 8`), rows
    /// block-partitioned. Collective: every rank passes the same shape
    /// (checked unless checks are off).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty shape; [`Error::Mismatch`] if
    /// ranks disagree; [`Error::Memory`] if the block cannot be allocated.
    pub fn new(ctx: &Context, shape: &[usize]) -> Result<Self> {
        Self::with_value(ctx, shape, T::ZERO)
    }

    /// Like [`new`](Self::new), every element set to `value`. Collective.
    pub fn with_value(ctx: &Context, shape: &[usize], value: T) -> Result<Self> {
        Self::with_layout(ctx, shape, value, 0, &PartitionSpec::Block)
    }

    /// A tensor of global `shape`, every element `value`, split along `axis`
    /// by `spec`. Collective: every rank passes the same arguments.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty shape, `axis >= ndim` or
    /// invalid spec parameters; [`Error::Mismatch`] if ranks disagree.
    pub fn with_layout(ctx: &Context, shape: &[usize], value: T, axis: usize, spec: &PartitionSpec) -> Result<Self> {
        let layout = layout_for(ctx, shape, axis, spec);
        let fields = tensor_fields(shape, axis, T::DTYPE, spec.signature());
        ctx.agree_or_reject("tensor construction", &fields, layout.as_ref().err().cloned())?;
        let part = layout?;
        let mut local_shape = shape.to_vec();
        local_shape[axis] = part.local_size(ctx.rank());
        let data = alloc_filled(ctx, checked_len(&local_shape)?, value)?;
        Self::assemble(ctx, shape.to_vec(), axis, part, data)
    }

    /// Distributes the root's array by rows (block partition of axis 0);
    /// other ranks pass `None` (or anything: it is ignored). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if the root passes `None`
    /// or a 0-d array.
    pub fn scatter_from(ctx: &Context, data: Option<ArrayViewD<'_, T>>, root: usize) -> Result<Self> {
        Self::scatter_from_with(ctx, data, root, 0, &PartitionSpec::Block)
    }

    /// Distributes the root's array split along `axis` by `spec`
    /// (`MPI_Bcast` of the shape, then one `MPI_Alltoallv`). Collective.
    pub fn scatter_from_with(
        ctx: &Context,
        data: Option<ArrayViewD<'_, T>>,
        root: usize,
        axis: usize,
        spec: &PartitionSpec,
    ) -> Result<Self> {
        // `root` is agreed and range-checked inside `broadcast_vec`, before
        // any rank can return early.
        let mut hdr: Vec<u64> = Vec::new();
        let mut err = None;
        if ctx.rank() == root {
            match &data {
                None => err = Some(Error::InvalidArgument("the root rank must pass the data to scatter".into())),
                Some(a) if a.ndim() == 0 => {
                    err = Some(Error::InvalidArgument("data must have ndim >= 1, got a 0-d array".into()))
                }
                Some(a) => {
                    hdr.push(a.ndim() as u64);
                    hdr.extend(a.shape().iter().map(|&d| d as u64));
                }
            }
            if let Some(e) = &err {
                hdr = vec![u64::MAX - e.status() as u64];
            }
        }
        let hdr = ctx.broadcast_vec(&hdr, root)?;
        if hdr.len() == 1 && hdr[0] > u64::MAX - 1000 {
            return Err(err.unwrap_or_else(|| {
                Error::from_status((u64::MAX - hdr[0]) as i32, format!("rejected on root rank {root}"))
            }));
        }
        let shape: Vec<usize> = hdr[1..].iter().map(|&d| d as usize).collect();
        let layout = layout_for(ctx, &shape, axis, spec);
        let sig = spec.signature();
        ctx.agree_or_reject(
            "scatter_from",
            &[("axis", axis as i64), ("partition", sig[0]), ("partition parameter", sig[1]), ("weights", sig[2])],
            layout.as_ref().err().cloned(),
        )?;
        let part = layout?;
        let mut counts = vec![0; ctx.size()];
        counts[root] = shape[axis];
        let old = Layout::Weighted(Weighted::new(shape[axis], ctx.size(), &Weights::Counts(counts))?);
        let flat: Vec<T> = match (&data, ctx.rank() == root) {
            (Some(a), true) => a.iter().copied().collect(), // row-major copy (any input layout)
            _ => Vec::new(),
        };
        let mv = Move { old_shape: &shape, old_axis: axis, old: &old, new_shape: &shape, new_axis: axis, new: &part };
        let local = redistribute(ctx, flat, &mv, T::ZERO)?;
        Self::assemble(ctx, shape, axis, part, local)
    }

    /// Adopts `local` as this rank's C-order block of a tensor of global
    /// `shape` split along `axis` by `layout` (a layout of `shape[axis]`
    /// indices over the context's ranks; e.g. the parts of a device tensor
    /// copied back to the host). No data moves. Collective: every rank
    /// passes the same shape, axis and layout (one `MPI_Allreduce` unless
    /// checks are off).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank for an axis out of range,
    /// a layout of the wrong length or rank count, or a `local` of the
    /// wrong length on some rank; [`Error::Mismatch`] if ranks disagree.
    pub fn from_layout(ctx: &Context, shape: &[usize], axis: usize, layout: Layout, local: Vec<T>) -> Result<Self> {
        let bad = if axis >= shape.len().max(1) {
            Some(format!("axis must be in 0..{} for a {}-d shape, got {axis}", shape.len().max(1), shape.len()))
        } else if shape.is_empty() {
            Some("shape must have at least one dimension".to_string())
        } else if layout.global_size() != shape[axis] || layout.num_ranks() != ctx.size() {
            Some(format!(
                "the layout covers {} indices over {} ranks; shape[{axis}] is {} over {} ranks",
                layout.global_size(),
                layout.num_ranks(),
                shape[axis],
                ctx.size()
            ))
        } else {
            let others: usize = shape.iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &e)| e).product();
            let want = layout.local_size(ctx.rank()) * others;
            (local.len() != want)
                .then(|| format!("rank {} passed {} local elements, its block holds {want}", ctx.rank(), local.len()))
        };
        let fields = tensor_fields(shape, axis, T::DTYPE, layout.spec().signature());
        ctx.agree_or_reject(
            "DistributedTensor::from_layout",
            &fields,
            bad.map(|m| Error::InvalidArgument(format!("DistributedTensor::from_layout: {m}"))),
        )?;
        Self::assemble(ctx, shape.to_vec(), axis, layout, local)
    }

    /// Assembles a tensor from consistent parts (`data`: this rank's C-order
    /// block of `shape` split along `axis` by `part`). Not collective.
    fn assemble(ctx: &Context, shape: Vec<usize>, axis: usize, part: Layout, data: Vec<T>) -> Result<Self> {
        let (flat, in_order) = flat_layout(&shape, axis, &part, ctx.size())?;
        Ok(DistributedTensor { shape, axis, part, flat: Distributed1D::unexposed(ctx, flat, data), in_order })
    }

    /// The context the tensor lives on.
    pub fn context(&self) -> &Context {
        &self.flat.ctx
    }
    /// The global shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// The shape of this rank's block: `shape` with the split axis replaced
    /// by the local count.
    pub fn local_shape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        s[self.axis] = self.part.local_size(self.context().rank());
        s
    }
    /// The axis the tensor is split along.
    pub fn split_axis(&self) -> usize {
        self.axis
    }
    /// The partition of the split axis' indices.
    pub fn partition(&self) -> &Layout {
        &self.part
    }
    /// Number of elements over all ranks (product of `shape`).
    pub fn global_size(&self) -> usize {
        self.shape.iter().product()
    }
    /// Number of elements on this rank.
    pub fn local_size(&self) -> usize {
        self.flat.data.len()
    }
    /// Global index (along the split axis) of this rank's first slice.
    pub fn local_offset(&self) -> usize {
        self.part.local_offset(self.context().rank())
    }
    /// The rank that owns index `row` of the split axis.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `row >= shape[split_axis]`.
    pub fn owner(&self, row: usize) -> Result<usize> {
        self.part.owner(row)
    }
    /// True if this rank owns index `row` of the split axis.
    pub fn is_local(&self, row: usize) -> bool {
        self.part.is_local(self.context().rank(), row)
    }
    /// This rank's elements as a flat row-major slice.
    pub fn local(&self) -> &[T] {
        &self.flat.data
    }
    /// This rank's elements as a flat row-major slice, writable.
    pub fn local_mut(&mut self) -> &mut [T] {
        &mut self.flat.data
    }
    /// This rank's block as an `ndarray` view of shape `local_shape()`
    /// (zero-copy).
    pub fn local_view(&self) -> ArrayViewD<'_, T> {
        ArrayViewD::from_shape(IxDyn(&self.local_shape()), &self.flat.data).expect("local shape matches local length")
    }
    /// This rank's block as a writable `ndarray` view (zero-copy).
    pub fn local_view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let s = self.local_shape();
        ArrayViewMutD::from_shape(IxDyn(&s), &mut self.flat.data).expect("local shape matches local length")
    }
    /// Sets every local element to `value` (not communicating).
    pub fn fill(&mut self, value: T) {
        self.flat.data.fill(value);
    }
    /// The whole tensor on `root`; `None` elsewhere (one `MPI_Alltoallv`).
    /// Collective.
    pub fn gather(&self, root: usize) -> Result<Option<ArrayD<T>>> {
        self.context().agree("gather", &[("root", root as i64)])?;
        self.context().check_rank(root, "root")?;
        let n = self.shape[self.axis];
        let mut counts = vec![0; self.context().size()];
        counts[root] = n;
        let dst = Layout::Weighted(Weighted::new(n, self.context().size(), &Weights::Counts(counts))?);
        let v = self.moved(self.axis, &dst)?;
        if self.context().rank() == root {
            Ok(Some(self.to_array(v)?))
        } else {
            Ok(None)
        }
    }
    /// The whole tensor on every rank (one `MPI_Allgatherv`). Collective.
    pub fn gather_all(&self) -> Result<ArrayD<T>> {
        let dst = PartitionSpec::Replicated.layout(self.shape[self.axis], self.context().size())?;
        let v = self.moved(self.axis, &dst)?;
        self.to_array(v)
    }

    /// A copy of the data moved to `layout` along `axis`.
    fn moved(&self, axis: usize, layout: &Layout) -> Result<Vec<T>> {
        if self.part.is_replicated() && layout.is_replicated() && axis == self.axis {
            return Ok(self.flat.data.clone());
        }
        let mv = Move {
            old_shape: &self.shape,
            old_axis: self.axis,
            old: &self.part,
            new_shape: &self.shape,
            new_axis: axis,
            new: layout,
        };
        redistribute(self.context(), self.flat.data.clone(), &mv, T::ZERO)
    }

    /// Moves the data to be split along `axis` by `spec` (global content
    /// unchanged), with one `MPI_Alltoallv` (`MPI_Allgatherv` to
    /// replicated), holding at most about twice the local block.
    /// Collective: every rank passes the same arguments.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `axis >= ndim` or invalid spec
    /// parameters; [`Error::Mismatch`] if ranks disagree.
    pub fn redistribute(&mut self, axis: usize, spec: &PartitionSpec) -> Result<()> {
        let layout = layout_for(self.context(), &self.shape, axis, spec);
        let sig = spec.signature();
        self.context().agree_or_reject(
            "redistribute",
            &[("axis", axis as i64), ("partition", sig[0]), ("partition parameter", sig[1]), ("weights", sig[2])],
            layout.as_ref().err().cloned(),
        )?;
        let new = layout?;
        let data = std::mem::take(&mut self.flat.data);
        let mv = Move {
            old_shape: &self.shape,
            old_axis: self.axis,
            old: &self.part,
            new_shape: &self.shape,
            new_axis: axis,
            new: &new,
        };
        let data = redistribute(self.context(), data, &mv, T::ZERO)?;
        let (flat, in_order) = flat_layout(&self.shape, axis, &new, self.context().size())?;
        self.flat.data = data;
        self.flat.part = flat;
        self.in_order = in_order;
        self.part = new;
        self.axis = axis;
        Ok(())
    }

    /// Assembles a tensor from parts the caller has made consistent
    /// (`data` is this rank's C-order block of `shape` split along `axis`
    /// by `part`). Not collective; used by the `.npy` loader.
    pub(crate) fn from_parts(
        ctx: &Context,
        shape: Vec<usize>,
        axis: usize,
        part: Layout,
        data: Vec<T>,
    ) -> Result<Self> {
        Self::assemble(ctx, shape, axis, part, data)
    }

    fn to_array(&self, v: Vec<T>) -> Result<ArrayD<T>> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), v)
            .map_err(|e| Error::Internal(format!("gathered data does not match shape {:?}: {e}", self.shape)))
    }
}
