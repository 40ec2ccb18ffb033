//! [`Distributed1D`], the shared 1-D core, and [`DistributedVector`].

use super::alloc_filled;
use super::redistribute::redistribute_1d;
use crate::algorithms::Execution;
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Layout, Partition, PartitionKind, PartitionSpec, Weighted, Weights};
use crate::rma::Exposure;

/// Exposes `data` (this rank's local part) for remote `get`/`set`.
/// Collective (see [`Exposure::new`]).
fn expose<T: Element>(ctx: &Context, data: &mut Vec<T>) -> Result<Exposure> {
    let bytes = std::mem::size_of_val(data.as_slice());
    // SAFETY: the buffer is owned by the container that stores the returned
    // exposure; it is detached (the exposure dropped) before the buffer is
    // freed or replaced (field order of `Distributed1D`, and `relayout`).
    unsafe { Exposure::new(ctx, data.as_mut_ptr().cast(), bytes) }
}

/// The state and operations shared by [`DistributedVector`] and
/// [`DistributedArray`](super::DistributedArray) (both deref to it, and
/// share the same constructors): `global_size` elements split by a
/// partition [`Layout`] (block by default), this rank's part in a
/// contiguous host buffer in ascending global order.
#[derive(Debug)]
pub struct Distributed1D<T: Element> {
    // Declared first, so dropped first: the local part is detached from the
    // RMA window before the buffer is freed and before the context (whose
    // last handle frees the window) goes.
    pub(crate) remote: Exposure,
    pub(crate) ctx: Context,
    pub(crate) part: Layout,
    pub(crate) data: Vec<T>,
    pub(crate) exec: Execution,
}

/// The layout holding all `n` elements on `root` (for scatter and gather).
fn all_on(root: usize, n: usize, size: usize) -> Result<Layout> {
    let mut counts = vec![0; size];
    counts[root] = n;
    Ok(Layout::Weighted(Weighted::new(n, size, &Weights::Counts(counts))?))
}

impl<T: Element> Distributed1D<T> {
    /// A container over `data` with no RMA exposure (`get`/`set` of a
    /// remote element fail): the flat view of a tensor, or a temporary.
    /// Not collective.
    pub(crate) fn unexposed(ctx: &Context, part: Layout, data: Vec<T>) -> Self {
        let remote =
            Exposure::Unavailable("this container has no remote element access (use a vector or array)".into());
        Distributed1D { remote, ctx: ctx.clone(), part, data, exec: Execution::default() }
    }

    /// Assembles a container from its parts and exposes the local part to
    /// the other ranks for [`get`](Self::get)/[`set`](Self::set) (see
    /// [`crate::rma`]). Collective. Every constructor ends here.
    pub(crate) fn assemble(ctx: &Context, part: Layout, mut data: Vec<T>) -> Result<Self> {
        let remote = expose(ctx, &mut data)?;
        Ok(Distributed1D { remote, ctx: ctx.clone(), part, data, exec: Execution::default() })
    }

    /// Moves the elements to the layout `new` (`redistribute_1d`, new
    /// elements set to `fill`), for `redistribute` and `resize`: detaches
    /// the old local part from the RMA window first, and exposes the new
    /// one. Collective.
    pub(crate) fn relayout(&mut self, new: Layout, fill: T) -> Result<()> {
        self.remote = Exposure::Unavailable("the container is being rebuilt by a failed collective call".into());
        let old = std::mem::take(&mut self.data);
        self.data = redistribute_1d(&self.ctx, old, &self.part, &new, fill)?;
        self.part = new;
        self.remote = expose(&self.ctx, &mut self.data)?;
        Ok(())
    }

    /// `n` elements, each `value`, laid out by `spec`. No data moves, but
    /// every rank must pass the same `n`, dtype and spec; with collective
    /// checks on, one `MPI_Allreduce` verifies that (collective).
    pub(crate) fn filled(ctx: &Context, n: usize, value: T, spec: &PartitionSpec) -> Result<Self> {
        let layout = spec.layout(n, ctx.size());
        let sig = spec.signature();
        ctx.agree_or_reject(
            "container construction",
            &[
                ("global size", n as i64),
                ("dtype", T::DTYPE as i64),
                ("partition", sig[0]),
                ("partition parameter", sig[1]),
                ("weights", sig[2]),
            ],
            layout.as_ref().err().cloned(),
        )?;
        let part = layout?;
        let data = alloc_filled(ctx, part.local_size(ctx.rank()), value)?;
        Distributed1D::assemble(ctx, part, data)
    }

    /// Builds from every rank's local elements, concatenated in rank order,
    /// then laid out by `spec` (`MPI_Allgather` of the counts, then one
    /// `MPI_Alltoallv` unless the parts already match). Collective.
    pub(crate) fn from_local_parts(ctx: &Context, local: Vec<T>, spec: &PartitionSpec) -> Result<Self> {
        let sig = spec.signature();
        ctx.agree(
            "from_local",
            &[("dtype", T::DTYPE as i64), ("partition", sig[0]), ("partition parameter", sig[1]), ("weights", sig[2])],
        )?;
        let counts: Vec<usize> = ctx.allgather(&[local.len() as u64])?.into_iter().map(|c| c as usize).collect();
        let total = counts.iter().sum();
        let old = Layout::Weighted(Weighted::new(total, ctx.size(), &Weights::Counts(counts))?);
        let part = spec.layout(total, ctx.size())?;
        let data = redistribute_1d(ctx, local, &old, &part, T::ZERO)?;
        Distributed1D::assemble(ctx, part, data)
    }

    /// Builds from a full copy of the data that every rank holds: each rank
    /// keeps its own elements. No communication besides the checks.
    /// Collective.
    pub(crate) fn from_global_slice(ctx: &Context, global: &[T], spec: &PartitionSpec) -> Result<Self> {
        let sig = spec.signature();
        ctx.agree(
            "from_global",
            &[
                ("global size", global.len() as i64),
                ("dtype", T::DTYPE as i64),
                ("partition", sig[0]),
                ("partition parameter", sig[1]),
                ("weights", sig[2]),
            ],
        )?;
        let part = spec.layout(global.len(), ctx.size())?;
        let data = part.local_indices(ctx.rank()).map(|g| global[g]).collect();
        Distributed1D::assemble(ctx, part, data)
    }

    /// Distributes the root's `data` by `spec` (`MPI_Bcast` of the length,
    /// then one `MPI_Alltoallv`); other ranks' `data` is ignored. Collective.
    pub(crate) fn scatter_root(ctx: &Context, data: &[T], root: usize, spec: &PartitionSpec) -> Result<Self> {
        let n = ctx.broadcast_vec(&[data.len() as u64], root)?[0] as usize;
        let layout = spec.layout(n, ctx.size());
        let sig = spec.signature();
        ctx.agree_or_reject(
            "scatter_from",
            &[("partition", sig[0]), ("partition parameter", sig[1]), ("weights", sig[2])],
            layout.as_ref().err().cloned(),
        )?;
        let part = layout?;
        let old = all_on(root, n, ctx.size())?;
        let mine = if ctx.rank() == root { data.to_vec() } else { Vec::new() };
        let local = redistribute_1d(ctx, mine, &old, &part, T::ZERO)?;
        Distributed1D::assemble(ctx, part, local)
    }

    /// Adopts `local` as this rank's part of a container laid out by
    /// `layout` (see `from_layout` on the 1-D containers). Collective.
    pub(crate) fn from_layout_parts(ctx: &Context, layout: Layout, local: Vec<T>) -> Result<Self> {
        let sig = layout.spec().signature();
        let want = layout.local_size(ctx.rank());
        let bad = if layout.num_ranks() != ctx.size() {
            Some(Error::InvalidArgument(format!(
                "from_layout: the layout is for {} ranks, the context has {}",
                layout.num_ranks(),
                ctx.size()
            )))
        } else if local.len() != want {
            Some(Error::InvalidArgument(format!(
                "from_layout: rank {} passed {} local elements, its part of the layout holds {want}",
                ctx.rank(),
                local.len()
            )))
        } else {
            None
        };
        ctx.agree_or_reject(
            "from_layout",
            &[
                ("global size", layout.global_size() as i64),
                ("dtype", T::DTYPE as i64),
                ("partition", sig[0]),
                ("partition parameter", sig[1]),
                ("weights", sig[2]),
            ],
            bad,
        )?;
        Distributed1D::assemble(ctx, layout, local)
    }

    /// The context the container lives on.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// Runs `f` on this container with its context temporarily replaced by
    /// `ctx`, and restores the container's own context afterwards (also
    /// when `f` panics). The collectives that `f` makes through the
    /// container then run on `ctx`'s communicator: the asynchronous
    /// algorithms ([`crate::algorithms::future`]) run their jobs this way on
    /// a communicator's async lane ([`Context::async_context`]). `ctx` must
    /// span the same processes in the same rank order (a duplicate, as the
    /// lane's is). Not collective by itself; `f` may be. The local part
    /// stays where it is (its RMA exposure too); a layout change inside `f`
    /// (`redistribute`, `resize`) exposes the new local part on `ctx`'s
    /// windows, which keeps working.
    ///
    /// ```
    /// use dtl_core::{Context, DistributedVector, ReduceOp};
    /// let ctx = Context::world()?;
    /// let side = ctx.dup()?;                                      // collective
    /// let mut v = DistributedVector::<i64>::with_value(&ctx, 10, 1)?;
    /// let total = v.with_context(&side, |v| v.reduce(ReduceOp::Sum))??; // on `side`
    /// assert_eq!(total, 10);
    /// # Ok::<(), dtl_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `ctx`'s
    /// communicator does not have the same processes in the same order
    /// (`MPI_Comm_compare` neither identical nor congruent): then `f` does
    /// not run.
    pub fn with_context<R>(&mut self, ctx: &Context, f: impl FnOnce(&mut Self) -> R) -> Result<R> {
        if ctx.size() != self.ctx.size() || ctx.rank() != self.ctx.rank() || !ctx.congruent(&self.ctx) {
            return Err(crate::Error::InvalidArgument(format!(
                "with_context: ctx must span the container's processes in the same rank order (a duplicate of \
                 its context); got a context of size {} where this rank is {}, the container's has size {} and \
                 rank {}",
                ctx.size(),
                ctx.rank(),
                self.ctx.size(),
                self.ctx.rank()
            )));
        }
        /// Puts the container's context back when dropped (on unwinding too).
        struct Restore<'a, T: Element> {
            d: &'a mut Distributed1D<T>,
            own: Option<Context>,
        }
        impl<T: Element> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                if let Some(own) = self.own.take() {
                    self.d.ctx = own;
                }
            }
        }
        let own = std::mem::replace(&mut self.ctx, ctx.clone());
        let guard = Restore { d: self, own: Some(own) };
        Ok(f(&mut *guard.d))
    }
    /// The partition (pure index maps, see [`Partition`]).
    pub fn partition(&self) -> &Layout {
        &self.part
    }
    /// The partition policy tag.
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
    /// Global index of this rank's first element (for an empty rank of a
    /// contiguous layout, where its range would start; else `global_size`).
    pub fn local_offset(&self) -> usize {
        self.part.local_offset(self.ctx.rank())
    }
    /// The rank that owns global index `i`. Not collective.
    ///
    /// # Errors
    /// [`Error::Bounds`](crate::Error::Bounds) if `i >= global_size`.
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
    /// [`Error::Bounds`](crate::Error::Bounds) if `l >= local_size`.
    pub fn to_global(&self, l: usize) -> Result<usize> {
        self.part.local_to_global(self.ctx.rank(), l)
    }
    /// Local index of global index `i` if this rank owns it.
    pub fn to_local(&self, i: usize) -> Option<usize> {
        if self.part.is_replicated() {
            // Every rank holds every index (owner() names rank 0 only).
            return (i < self.global_size()).then_some(i);
        }
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
    /// The whole container in global order on `root`; `None` on other
    /// ranks (one `MPI_Alltoallv` to a layout with everything on `root`; a
    /// replicated container returns the root's copy without communication).
    /// Collective.
    pub fn gather(&self, root: usize) -> Result<Option<Vec<T>>> {
        let size = self.ctx.size();
        self.ctx.agree("gather", &[("root", root as i64)])?;
        self.ctx.check_rank(root, "root")?;
        if self.part.is_replicated() {
            return Ok((self.ctx.rank() == root).then(|| self.data.clone()));
        }
        let dst = all_on(root, self.global_size(), size)?;
        let all = redistribute_1d(&self.ctx, self.data.clone(), &self.part, &dst, T::ZERO)?;
        Ok((self.ctx.rank() == root).then_some(all))
    }
    /// The whole container in global order on every rank (one
    /// `MPI_Allgatherv`). Collective.
    pub fn gather_all(&self) -> Result<Vec<T>> {
        if self.part.is_replicated() {
            return Ok(self.data.clone());
        }
        let dst = PartitionSpec::Replicated.layout(self.global_size(), self.ctx.size())?;
        redistribute_1d(&self.ctx, self.data.clone(), &self.part, &dst, T::ZERO)
    }
    /// Moves the elements to the layout `spec` (same global order), with one
    /// `MPI_Alltoallv` (`MPI_Allgatherv` to replicated), holding at most
    /// about twice the local part. Collective: every rank passes the same
    /// spec.
    ///
    /// # Errors
    /// [`Error::Mismatch`](crate::Error::Mismatch) if ranks pass different specs;
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for invalid spec parameters.
    pub fn redistribute(&mut self, spec: &PartitionSpec) -> Result<()> {
        let layout = spec.layout(self.global_size(), self.ctx.size());
        let sig = spec.signature();
        self.ctx.agree_or_reject(
            "redistribute",
            &[("partition", sig[0]), ("partition parameter", sig[1]), ("weights", sig[2])],
            layout.as_ref().err().cloned(),
        )?;
        let new = layout?;
        self.relayout(new, T::ZERO)
    }
}

/// `n` split in proportion to `weights` (not all zero) by the largest
/// remainder method, ties to the lowest rank, in exact integer arithmetic
/// (the rule [`Weights::Fractions`] follows).
fn proportional(weights: &[usize], n: usize) -> Vec<usize> {
    let total: u128 = weights.iter().map(|&w| w as u128).sum();
    let share = |w: usize| w as u128 * n as u128;
    let mut counts: Vec<usize> = weights.iter().map(|&w| (share(w) / total) as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&r| (std::cmp::Reverse(share(weights[r]) % total), r));
    let left = n - counts.iter().sum::<usize>();
    for &r in order.iter().take(left) {
        counts[r] += 1;
    }
    counts
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
pub struct DistributedVector<T: Element>(pub(crate) Distributed1D<T>);

one_d_constructors!(DistributedVector);

impl<T: Element> DistributedVector<T> {
    /// Changes the global size to `n`, keeping the first `min(old, n)`
    /// elements in global order and setting new ones to `value`. Elements
    /// move to the new block boundaries with one `MPI_Alltoallv`.
    /// Collective: every rank passes the same `n` and `value`.
    ///
    /// # Errors
    /// [`Error::Mismatch`](crate::Error::Mismatch) if ranks pass different
    /// sizes; [`Error::Memory`](crate::Error::Memory) on every rank, the
    /// vector unchanged, if some rank cannot allocate its new local part
    /// (checked with a trial allocation before any element moves).
    pub fn resize_with(&mut self, n: usize, value: T) -> Result<()> {
        let ctx = self.0.ctx.clone();
        // Keep the policy; weighted counts are kept as proportions.
        let spec = match self.0.part.spec() {
            PartitionSpec::Weighted(Weights::Counts(c)) if c.iter().sum::<usize>() > 0 => {
                PartitionSpec::Weighted(Weights::Counts(proportional(&c, n)))
            }
            PartitionSpec::Weighted(_) => PartitionSpec::Block,
            other => other,
        };
        let new = spec.layout(n, ctx.size());
        // The exchange allocates the new local part after taking the
        // elements out; an allocation failure there would abort the process.
        let local_err = match &new {
            Err(e) => Some(e.clone()),
            Ok(l) => {
                let len = l.local_size(ctx.rank());
                Vec::<T>::new().try_reserve_exact(len).err().map(|e| {
                    Error::Memory(format!(
                        "resize: cannot allocate the {len} elements of {} of the resized vector on rank {}: {e}",
                        T::DTYPE,
                        ctx.rank()
                    ))
                })
            }
        };
        ctx.agree_or_reject("resize", &[("new size", n as i64)], local_err)?;
        self.0.relayout(new?, value)
    }

    /// [`resize_with`](Self::resize_with) with zero for new elements.
    /// Collective.
    pub fn resize(&mut self, n: usize) -> Result<()> {
        self.resize_with(n, T::ZERO)
    }
}

deref_to_1d!(DistributedVector);
