//! The algorithms on [`DistributedTensor`]: the tensor seen as the 1-D
//! sequence of its elements in global C (row-major) order, as NumPy's
//! `ravel()` sees it.
//!
//! A tensor split along axis 0 (any partition) holds, on each rank, whole
//! rows that are also a valid 1-D layout of the flattened index space
//! (block and weighted rows → a weighted layout of `rows × row_len`
//! elements, cyclic → block-cyclic with one-row blocks, block-cyclic `b`
//! → block-cyclic `b × row_len`). Every algorithm then runs on the local
//! block *in place*, exactly as on a [`Distributed1D`] — same cost, same
//! collectives, same results as on a vector holding `ravel()`.
//!
//! A tensor split along an inner axis does not: its local elements are
//! scattered over the flattened order. Order-free work (element-wise
//! calls, counts, reductions, order statistics, local variants) still
//! runs in place; the order-dependent calls (`find*`, `min_element` & co,
//! scans, sorting, `is_sorted`, `reduce_deterministic`) work on a copy
//! moved to axis 0 (one `MPI_Alltoallv` there, and one back for the
//! calls that modify the tensor) — see [`DistributedTensor::with_flat`].
//!
//! Global indices (`find`, `min_element`, `for_each_indexed`, `iota`,
//! `generate`) are flat C-order indices: `numpy.unravel_index(i, shape)`
//! gives the multi-index.

use rayon::prelude::*;

use super::kernels::parallel;
use super::{Execution, Located};
use crate::collective::ReduceOp;
use crate::containers::redistribute::{redistribute, Move};
use crate::containers::tensor::flat_layout;
use crate::containers::{Distributed1D, DistributedTensor};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Partition, PartitionSpec};

impl<T: Element> DistributedTensor<T> {
    /// The execution policy of this tensor's algorithms.
    pub fn execution(&self) -> Execution {
        self.flat.exec
    }

    /// Sets the execution policy of this tensor's algorithms. Local.
    pub fn set_execution(&mut self, exec: Execution) {
        self.flat.exec = exec;
    }

    /// Whether the algorithms run on the local block in place (split along
    /// axis 0, or every axis before the split one has extent 1, or
    /// replicated, or empty) rather than on a copy moved to axis 0. Pure.
    pub fn flat_in_place(&self) -> bool {
        self.in_order
    }

    /// Runs `f` on the tensor seen as a 1-D container of its elements in
    /// global C order (every [`Distributed1D`] algorithm applies). Split
    /// along axis 0: `f` sees the local block in place, no communication.
    /// Split along an inner axis: the ranks first agree on the tensor
    /// (`MPI_Allreduce`), then `f` sees a copy moved to a block split of
    /// axis 0 (one `MPI_Alltoallv`) — so call it on every rank.
    ///
    /// # Errors
    /// Whatever `f` returns; [`Error::Mismatch`] if the ranks' tensors
    /// differ (inner-axis splits).
    pub fn with_flat<R>(&self, f: impl FnOnce(&Distributed1D<T>) -> Result<R>) -> Result<R> {
        if self.in_order {
            return f(&self.flat);
        }
        f(&self.flat_copy("with_flat")?)
    }

    /// Like [`with_flat`](Self::with_flat), for calls that modify the
    /// elements: for an inner-axis split the copy is moved back afterwards
    /// (a second `MPI_Alltoallv`) into the same local buffer (views stay
    /// valid). `f` must not change the container's size or layout.
    ///
    /// # Errors
    /// As [`with_flat`](Self::with_flat); [`Error::InvalidArgument`] if
    /// `f` changed the local size.
    pub fn with_flat_mut<R>(&mut self, f: impl FnOnce(&mut Distributed1D<T>) -> Result<R>) -> Result<R> {
        if self.in_order {
            let len = self.flat.data.len();
            let r = f(&mut self.flat)?;
            return self.same_len(len).map(|_| r);
        }
        let mut tmp = self.flat_copy("with_flat_mut")?;
        let len = tmp.data.len();
        let r = f(&mut tmp)?;
        if tmp.data.len() != len {
            return Err(Error::InvalidArgument("with_flat_mut: f must not resize the container".into()));
        }
        let block = PartitionSpec::Block.layout(self.shape()[0], self.context().size())?;
        let mv = Move {
            old_shape: self.shape(),
            old_axis: 0,
            old: &block,
            new_shape: self.shape(),
            new_axis: self.split_axis(),
            new: self.partition(),
        };
        let back = redistribute(self.context(), std::mem::take(&mut tmp.data), &mv, T::ZERO)?;
        self.flat.data.copy_from_slice(&back);
        Ok(r)
    }

    fn same_len(&self, len: usize) -> Result<()> {
        if self.flat.data.len() != len {
            return Err(Error::Internal("with_flat_mut: the tensor's local size changed".into()));
        }
        Ok(())
    }

    /// A 1-D copy of the tensor in C order, rows block-split (for inner-axis
    /// splits). Collective: agreement, then one `MPI_Alltoallv`.
    fn flat_copy(&self, what: &str) -> Result<Distributed1D<T>> {
        let sig = self.partition().spec().signature();
        let mut fields: Vec<(&str, i64)> = vec![("dtype", T::DTYPE as i64), ("ndim", self.ndim() as i64)];
        const DIMS: [&str; 8] =
            ["shape[0]", "shape[1]", "shape[2]", "shape[3]", "shape[4]", "shape[5]", "shape[6]", "shape[7]"];
        fields.extend(DIMS.iter().enumerate().map(|(k, &d)| (d, self.shape().get(k).map_or(-1, |&x| x as i64))));
        fields.extend([("axis", self.split_axis() as i64), ("partition", sig[0]), ("partition parameter", sig[1])]);
        let ctx = self.context();
        ctx.agree(what, &fields)?;
        let block = PartitionSpec::Block.layout(self.shape()[0], ctx.size())?;
        let mv = Move {
            old_shape: self.shape(),
            old_axis: self.split_axis(),
            old: self.partition(),
            new_shape: self.shape(),
            new_axis: 0,
            new: &block,
        };
        let data = redistribute(ctx, self.flat.data.clone(), &mv, T::ZERO)?;
        let (layout, _) = flat_layout(self.shape(), 0, &block, ctx.size())?;
        let mut v = Distributed1D::unexposed(ctx, layout, data);
        v.exec = self.flat.exec;
        Ok(v)
    }

    /// The flat global (C-order) index of each local element, as a map from
    /// the local flat index.
    fn index_map(&self) -> impl Fn(usize) -> usize + Sync + '_ {
        let axis = self.split_axis();
        let n_axis = self.shape()[axis];
        let inner: usize = self.shape()[axis + 1..].iter().product();
        let rows = self.local_shape()[axis];
        let rank = self.context().rank();
        let part = self.partition();
        move |l: usize| {
            let (o, rem) = (l / (rows * inner).max(1), l % (rows * inner).max(1));
            let (i, k) = (rem / inner.max(1), rem % inner.max(1));
            let g = part.local_to_global(rank, i).unwrap_or(usize::MAX / 2);
            (o * n_axis + g) * inner + k
        }
    }

    /// The flat global (C-order) index of local element `local` (of the
    /// flat local block). Local.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `local >= local_size()`.
    pub fn to_global_flat(&self, local: usize) -> Result<usize> {
        let n = self.local_size();
        if local >= n {
            return Err(Error::Bounds(format!("local index {local} is out of range 0..{n}")));
        }
        Ok(if self.in_order { self.flat.to_global(local)? } else { self.index_map()(local) })
    }

    /// The flat global (C-order) index of every local element, in local
    /// order. Local.
    pub fn local_flat_indices(&self) -> Vec<usize> {
        if self.in_order {
            return self.flat.part.local_indices(self.context().rank()).collect();
        }
        let g = self.index_map();
        (0..self.local_size()).map(g).collect()
    }

    // ------------------------------------------------------------ element-wise (local)

    /// Calls `f` on every local element (in parallel under `Par`). Not
    /// collective.
    pub fn for_each(&mut self, f: impl Fn(&mut T) + Sync + Send) {
        self.flat.for_each(f)
    }

    /// Calls `f(i, &mut x)` on every local element, `i` its flat global
    /// (C-order) index. Not collective.
    pub fn for_each_indexed(&mut self, f: impl Fn(usize, &mut T) + Sync + Send) {
        if self.in_order {
            return self.flat.for_each_indexed(f);
        }
        let par = parallel(self.flat.exec, self.flat.data.len());
        let mut data = std::mem::take(&mut self.flat.data);
        {
            let g = self.index_map();
            if par {
                data.par_iter_mut().enumerate().for_each(|(l, x)| f(g(l), x));
            } else {
                data.iter_mut().enumerate().for_each(|(l, x)| f(g(l), x));
            }
        }
        self.flat.data = data;
    }

    /// Replaces every local element `x` by `f(x)`. Not collective.
    pub fn transform(&mut self, f: impl Fn(T) -> T + Sync + Send) {
        self.flat.transform(f)
    }

    /// Writes `f(x)` for every element into `dst`, a tensor of the same
    /// shape, split axis and partition. Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the layouts differ.
    pub fn transform_into<U: Element>(
        &self,
        dst: &mut DistributedTensor<U>,
        f: impl Fn(T) -> U + Sync + Send,
    ) -> Result<()> {
        self.same_layout(dst.shape(), dst.split_axis(), dst.partition(), "transform")?;
        self.flat.transform_into(&mut dst.flat, f)
    }

    fn same_layout(&self, shape: &[usize], axis: usize, part: &crate::partition::Layout, what: &str) -> Result<()> {
        if shape != self.shape() || axis != self.split_axis() || part != self.partition() {
            return Err(Error::InvalidArgument(format!(
                "{what}: both tensors must have the same shape, split axis and partition (shape {:?} vs {shape:?}, \
                 axis {} vs {axis}, {:?} vs {:?}); redistribute one first",
                self.shape(),
                self.split_axis(),
                self.partition().spec(),
                part.spec()
            )));
        }
        Ok(())
    }

    /// Copies every element of `src` (same shape, any split axis and
    /// partition) into `self`, keeping `self`'s layout. Same layout: a local
    /// copy, not collective; otherwise one `MPI_Alltoallv`, collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the shapes differ.
    pub fn copy_from(&mut self, src: &DistributedTensor<T>) -> Result<()> {
        if src.shape() != self.shape() {
            return Err(Error::InvalidArgument(format!(
                "copy: src has shape {:?}, dst {:?}; they must have the same shape",
                src.shape(),
                self.shape()
            )));
        }
        if src.split_axis() == self.split_axis() && src.partition() == self.partition() {
            self.flat.data.copy_from_slice(&src.flat.data);
            return Ok(());
        }
        let mv = Move {
            old_shape: src.shape(),
            old_axis: src.split_axis(),
            old: src.partition(),
            new_shape: self.shape(),
            new_axis: self.split_axis(),
            new: self.partition(),
        };
        let moved = redistribute(self.context(), src.flat.data.clone(), &mv, T::ZERO)?;
        self.flat.data.copy_from_slice(&moved);
        Ok(())
    }

    /// Sets flat element `i` to `start + i` (as
    /// [`Distributed1D::iota`]: `np.arange(n).reshape(shape) + start`). Not
    /// collective.
    pub fn iota(&mut self, start: T) {
        self.for_each_indexed(|g, x| *x = start.add(T::from_index(g)));
    }

    /// Replaces every element equal to `old` by `new`. Not collective.
    pub fn replace(&mut self, old: T, new: T) {
        self.flat.replace(old, new)
    }

    /// Sets every element to `f(i)`, `i` its flat global index. Not
    /// collective.
    pub fn generate(&mut self, f: impl Fn(usize) -> T + Sync + Send) {
        self.for_each_indexed(|g, x| *x = f(g));
    }

    // ------------------------------------------------------------ queries

    /// The smallest flat global index whose element satisfies `pred`, or
    /// `None`, on every rank. Collective (see
    /// [`Distributed1D::find_if`]; inner-axis splits work on a copy).
    ///
    /// # Errors
    /// [`Error::Mismatch`] if the ranks' tensors differ.
    pub fn find_if(&self, pred: impl Fn(T) -> bool + Sync) -> Result<Option<usize>> {
        self.with_flat(|v| v.find_if(pred))
    }

    /// The smallest flat global index holding `value`, or `None`.
    /// Collective.
    ///
    /// # Errors
    /// As [`find_if`](Self::find_if).
    pub fn find(&self, value: T) -> Result<Option<usize>> {
        self.find_if(|x| x == value)
    }

    /// How many elements satisfy `pred`, on every rank. Collective (one
    /// `MPI_Allreduce`; in place for every split).
    ///
    /// # Errors
    /// [`Error::Mismatch`] if the ranks' tensors differ.
    pub fn count_if(&self, pred: impl Fn(T) -> bool + Sync) -> Result<usize> {
        self.flat.count_if(pred)
    }

    /// How many elements equal `value`. Collective.
    ///
    /// # Errors
    /// As [`count_if`](Self::count_if).
    pub fn count(&self, value: T) -> Result<usize> {
        self.flat.count(value)
    }

    /// True if every element satisfies `pred` (true when empty). Collective.
    ///
    /// # Errors
    /// As [`count_if`](Self::count_if).
    pub fn all_of(&self, pred: impl Fn(T) -> bool + Sync) -> Result<bool> {
        self.flat.all_of(pred)
    }

    /// True if some element satisfies `pred`. Collective.
    ///
    /// # Errors
    /// As [`count_if`](Self::count_if).
    pub fn any_of(&self, pred: impl Fn(T) -> bool + Sync) -> Result<bool> {
        self.flat.any_of(pred)
    }

    /// True if no element satisfies `pred`. Collective.
    ///
    /// # Errors
    /// As [`count_if`](Self::count_if).
    pub fn none_of(&self, pred: impl Fn(T) -> bool + Sync) -> Result<bool> {
        self.flat.none_of(pred)
    }

    /// The first smallest element and its flat global index (as
    /// `numpy.argmin` of the tensor; NaN counts as smallest), `None` when
    /// empty. Collective.
    ///
    /// # Errors
    /// As [`find_if`](Self::find_if).
    pub fn min_element(&self) -> Result<Option<Located<T>>> {
        self.with_flat(|v| v.min_element())
    }

    /// The first largest element and its flat global index (as
    /// `numpy.argmax`). Collective.
    ///
    /// # Errors
    /// As [`find_if`](Self::find_if).
    pub fn max_element(&self) -> Result<Option<Located<T>>> {
        self.with_flat(|v| v.max_element())
    }

    /// `(min_element, max_element)`. Collective.
    ///
    /// # Errors
    /// As [`find_if`](Self::find_if).
    pub fn minmax(&self) -> Result<Option<(Located<T>, Located<T>)>> {
        self.with_flat(|v| v.minmax())
    }

    // ------------------------------------------------------------ reductions

    /// `op` over all elements, on every rank (see
    /// [`Distributed1D::reduce`]; in place for every split). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank for a logical or bitwise op
    /// on floats; [`Error::Mismatch`] if ranks pass different ops.
    pub fn reduce(&self, op: ReduceOp) -> Result<T> {
        self.flat.reduce(op)
    }

    /// `op` over this rank's elements. Not collective.
    ///
    /// # Errors
    /// As [`Distributed1D::reduce_local`].
    pub fn reduce_local(&self, op: ReduceOp) -> Result<T> {
        self.flat.reduce_local(op)
    }

    /// `op` over all elements, bitwise the same at any number of ranks (see
    /// [`Distributed1D::reduce_deterministic`]). Collective.
    ///
    /// # Errors
    /// As [`reduce`](Self::reduce).
    pub fn reduce_deterministic(&self, op: ReduceOp) -> Result<T> {
        self.with_flat(|v| v.reduce_deterministic(op))
    }

    /// `op` over `map(x)` for every element, on every rank. Collective.
    ///
    /// # Errors
    /// As [`reduce`](Self::reduce), for the op on `U`.
    pub fn transform_reduce<U: Element>(&self, map: impl Fn(T) -> U + Sync, op: ReduceOp) -> Result<U> {
        self.flat.transform_reduce(map, op)
    }

    /// `op` over `map(x)` for this rank's elements. Not collective.
    ///
    /// # Errors
    /// As [`reduce_local`](Self::reduce_local).
    pub fn transform_reduce_local<U: Element>(&self, map: impl Fn(T) -> U + Sync, op: ReduceOp) -> Result<U> {
        self.flat.transform_reduce_local(map, op)
    }

    /// The inner product `sum(self * other)` over all elements (NumPy's
    /// `np.vdot` of two real tensors), on every rank; `other` must have the
    /// same shape, split axis and partition. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if the layouts differ.
    pub fn dot(&self, other: &DistributedTensor<T>) -> Result<T> {
        self.same_layout(other.shape(), other.split_axis(), other.partition(), "dot")?;
        self.flat.dot(&other.flat)
    }

    /// The inner product over this rank's elements. Not collective.
    ///
    /// # Errors
    /// As [`dot`](Self::dot).
    pub fn dot_local(&self, other: &DistributedTensor<T>) -> Result<T> {
        self.same_layout(other.shape(), other.split_axis(), other.partition(), "dot")?;
        self.flat.dot_local(&other.flat)
    }

    // ------------------------------------------------------------ scans

    /// Inclusive scan in flat C order, in place (`np.cumsum(t).reshape(shape)`
    /// for SUM). Collective (see [`Distributed1D::inclusive_scan`]).
    ///
    /// # Errors
    /// As [`reduce`](Self::reduce).
    pub fn inclusive_scan(&mut self, op: ReduceOp) -> Result<()> {
        self.with_flat_mut(|v| v.inclusive_scan(op))
    }

    /// Exclusive scan in flat C order, in place (element 0 becomes `init`).
    /// Collective.
    ///
    /// # Errors
    /// As [`reduce`](Self::reduce).
    pub fn exclusive_scan(&mut self, op: ReduceOp, init: T) -> Result<()> {
        self.with_flat_mut(|v| v.exclusive_scan(op, init))
    }

    /// Inclusive scan of this rank's flat block. Not collective.
    ///
    /// # Errors
    /// As [`reduce_local`](Self::reduce_local).
    pub fn inclusive_scan_local(&mut self, op: ReduceOp) -> Result<()> {
        self.flat.inclusive_scan_local(op)
    }

    /// Exclusive scan of this rank's flat block. Not collective.
    ///
    /// # Errors
    /// As [`reduce_local`](Self::reduce_local).
    pub fn exclusive_scan_local(&mut self, op: ReduceOp, init: T) -> Result<()> {
        self.flat.exclusive_scan_local(op, init)
    }

    // ------------------------------------------------------------ sorting

    /// Sorts all elements in flat C order (`np.sort(t, axis=None)
    /// .reshape(shape)`; NaN last, descending with `reverse`); every rank
    /// keeps its local shape. Collective (see [`Distributed1D::sort`]).
    ///
    /// # Errors
    /// [`Error::Mismatch`] if ranks pass different `reverse`.
    pub fn sort(&mut self, reverse: bool) -> Result<()> {
        self.with_flat_mut(|v| v.sort(reverse))
    }

    /// [`sort`](Self::sort) keeping equal elements in their flat order.
    /// Collective.
    ///
    /// # Errors
    /// As [`sort`](Self::sort).
    pub fn stable_sort(&mut self, reverse: bool) -> Result<()> {
        self.with_flat_mut(|v| v.stable_sort(reverse))
    }

    /// [`sort`](Self::sort) for a caller that sorted this rank's flat block
    /// already (see [`Distributed1D::sort_presorted`]); an inner-axis split
    /// sorts in full. Collective.
    ///
    /// # Errors
    /// As [`Distributed1D::sort_presorted`].
    pub fn sort_presorted(&mut self, reverse: bool) -> Result<()> {
        if self.in_order {
            return self.flat.sort_presorted(reverse);
        }
        self.with_flat_mut(|v| v.sort(reverse))
    }

    /// Sorts this rank's flat block only. Not collective.
    pub fn sort_local(&mut self, reverse: bool) {
        self.flat.sort_local(reverse)
    }

    /// True if the elements are sorted in flat C order. Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if ranks pass different `reverse`.
    pub fn is_sorted(&self, reverse: bool) -> Result<bool> {
        self.with_flat(|v| v.is_sorted(reverse))
    }

    /// The `k`-th smallest element (flat order after a sort), on every rank;
    /// the tensor is unchanged. Collective (distributed selection, in place
    /// for every split).
    ///
    /// # Errors
    /// [`Error::Bounds`] on every rank if `k >= global_size`.
    pub fn nth_element(&self, k: usize) -> Result<T> {
        self.flat.nth_element(k)
    }

    /// The median of all elements (`numpy.median(t)`). Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if the tensors differ across ranks.
    pub fn median(&self) -> Result<f64> {
        self.flat.median()
    }

    /// The `q`-th percentile of all elements (`numpy.percentile(t, q)`).
    /// Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank for `q` outside `[0, 100]`.
    pub fn percentile(&self, q: f64) -> Result<f64> {
        self.flat.percentile(q)
    }
}
