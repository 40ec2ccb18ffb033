//! Distributed algorithms on the 1-D containers ([`DistributedVector`],
//! [`DistributedArray`], and [`Distributed1D`] they deref to), under every
//! partition, as methods — and on [`DistributedTensor`], taken as its
//! elements in global C order (see [Tensors](#tensors)).
//!
//! Semantics are **distributed by default**: `v.reduce(ReduceOp::Sum)` is
//! the sum of all `global_size` elements (on every rank), `v.find(x)` the
//! smallest matching *global* index, `v.inclusive_scan(op)` the prefix in
//! global index order. The `*_local` variants work on this rank's part only.
//!
//! | kind | calls | collective? |
//! | --- | --- | --- |
//! | element-wise | [`for_each`](Distributed1D::for_each), [`for_each_indexed`](Distributed1D::for_each_indexed), [`transform`](Distributed1D::transform), [`transform_into`](Distributed1D::transform_into), [`fill`](Distributed1D::fill), [`copy_from`](Distributed1D::copy_from), [`iota`](Distributed1D::iota), [`replace`](Distributed1D::replace), [`generate`](Distributed1D::generate) | no (each rank works on its part; call on every rank for the whole container) — `copy_from` between different partitions is collective |
//! | queries | `find`, `find_if`, `count`, `count_if`, `all_of`, `any_of`, `none_of`, `min_element`, `max_element`, `minmax` | yes |
//! | reductions | `reduce`, [`reduce_deterministic`](Distributed1D::reduce_deterministic), `transform_reduce`, `dot` (and `*_local`) | yes (local variants: no) |
//! | scans | `inclusive_scan`, `exclusive_scan` (and `*_local`) | yes (local variants: no) |
//! | sorting | [`sort`](Distributed1D::sort), [`stable_sort`](Distributed1D::stable_sort), [`is_sorted`](Distributed1D::is_sorted), [`sort_local`](Distributed1D::sort_local) | yes (`sort_local`: no) |
//! | order statistics | [`nth_element`](Distributed1D::nth_element), [`median`](Distributed1D::median), [`percentile`](Distributed1D::percentile) | yes |
//! | asynchronous ([`future`]) | [`async_for_each`], [`async_transform`], [`async_reduce`], [`async_sort`] → [`Future`]; [`when_all`], [`when_any`] | `async_reduce`, `async_sort`: yes (their collectives run on the communicator's async lane) |
//!
//! A **replicated** container holds every element on every rank: its
//! queries and reductions are computed from the local copy, without
//! communication, and scans scan each copy.
//!
//! Local work runs on rayon under [`Execution::Par`] (the default, for
//! parts of at least 65 536 elements) or on the calling thread under
//! [`Execution::Seq`]; see [`Distributed1D::set_execution`]. Float sums are
//! pairwise (NumPy's algorithm) inside fixed chunks of 32 768 elements,
//! combined pairwise, so `Seq` and `Par` give the same bits and the error
//! grows as O(log n), like `numpy.sum`. The rank results are combined in
//! rank order, so the bits are the same on every rank and from run to run
//! but may change with the number of ranks or the partition;
//! [`reduce_deterministic`](Distributed1D::reduce_deterministic) gives the
//! one-process bits at any number of ranks, for a small extra cost.
//!
//! Collective calls check, with one `MPI_Allreduce` unless collective
//! checks are off, that every rank passes the same op and container shape;
//! an op invalid for the dtype (a bitwise op on floats) is an
//! [`Error::InvalidArgument`] on every rank.
//!
//! # Sorting
//!
//! **Order.** Elements compare numerically; NaN compares greater than every
//! number, so NaNs go **last** — with `reverse` too (NumPy puts NaN last in
//! `numpy.sort`; dtl keeps them last when sorting in descending order, as
//! pandas' `na_position="last"` does). `-0.0` sorts just before `0.0`
//! (after it with `reverse`), and NaNs keep their bits.
//!
//! **Algorithm** (`sort`, `stable_sort`): a sample sort with *exact*
//! splitters, so that the data moves once:
//! 1. each rank sorts its part by order-preserving integer keys
//!    ([`Element::order_key`]) with pdqsort (rayon's parallel one under
//!    `Par`), NaNs set apart at the end;
//! 2. the ranks agree on `size - 1` splitters that cut the global order
//!    exactly at the partition's rank boundaries (rank `r` must end up with
//!    its `local_size` elements). Each round every rank proposes, per
//!    boundary, the element of its remaining candidate range at the
//!    interpolated position (regular sampling of the range); the weighted
//!    median of the proposals is the pivot; an `MPI_Allreduce` of the
//!    per-rank counts below the pivots narrows every range. Ties are broken
//!    by (rank, position), so equal keys split anywhere and duplicates
//!    cannot unbalance the result. A round is four small collectives (two
//!    `MPI_Allreduce`, two `MPI_Allgather` of `size - 1` values); random
//!    data takes about six rounds, adversarial data a few dozen at most;
//! 3. **one `MPI_Alltoallv`** moves every element to its final owner;
//! 4. each rank merges the `size` sorted runs it received (a stable,
//!    parallel merge tree) straight into its local buffer. The merge
//!    kernel compares order keys without branching and interleaves four
//!    independent merges cut along the merge path (about 2.5 ns per
//!    element; a branching merge takes 10 on random data).
//!
//! Contiguous partitions (block, weighted) sort in place in their own
//! layout. Cyclic and block-cyclic sort into the block layout and are then
//! redistributed (one more `MPI_Alltoallv`); `stable_sort` on them also
//! starts with a move to the block layout, so that ties keep the global
//! order. A replicated container sorts each copy.
//!
//! Order statistics (`nth_element`, `median`, `percentile`) use a
//! distributed Floyd–Rivest selection instead, without sorting: per round
//! a random sample of 8192 candidates (`MPI_Allgatherv`) gives two pivots
//! that bracket the wanted positions with high probability, one counting
//! pass and one `MPI_Allreduce` keep the ~4 % of candidates between them,
//! and the last ≤ 65 536 are gathered and selected on every rank. Random
//! data of 10^7 takes three rounds: about 2.1 passes over the local part.
//!
//! # Tensors
//!
//! [`DistributedTensor`] has the same methods, on the sequence of its
//! elements in global C (row-major) order — NumPy's `ravel()`: flat global
//! indices, `sort` = `np.sort(t, axis=None)` reshaped, scans =
//! `np.cumsum(t)` reshaped; every rank keeps its local shape. Split along
//! axis 0 (any partition), the local block *is* a 1-D layout of the
//! flattened index space (block/weighted rows → weighted, cyclic →
//! block-cyclic of one-row blocks, block-cyclic `b` → `b`-row blocks), so
//! every algorithm runs in place at the cost of the same call on a vector.
//! Split along an inner axis, order-free calls still run in place and the
//! order-dependent ones (`find*`, `min_element` & co, scans, sorting,
//! `is_sorted`, `reduce_deterministic`) run on a copy moved to axis 0 (one
//! `MPI_Alltoallv`, and one back when they modify the tensor).
//! [`DistributedTensor::with_flat`] / [`with_flat_mut`](crate::DistributedTensor::with_flat_mut)
//! give any 1-D algorithm the flattened tensor.
//!
//! [`DistributedVector`]: crate::DistributedVector
//! [`DistributedArray`]: crate::DistributedArray
//! [`DistributedTensor`]: crate::DistributedTensor
//! [`DistributedTensor::with_flat`]: crate::DistributedTensor::with_flat

mod deterministic;
pub mod future;
pub mod halo;
pub(crate) mod kernels;
mod sort;
mod tensor;

use rayon::prelude::*;

use crate::collective::ReduceOp;
use crate::containers::redistribute::redistribute_1d;
use crate::containers::Distributed1D;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Layout, Partition, PartitionSpec};
pub use future::{async_for_each, async_reduce, async_sort, async_transform, when_all, when_any, Future};
use kernels::{arg_best, combine, fold, map_reduce_slice, parallel, reduce_slice, scan_in_place};

/// Where the local work of an algorithm runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Execution {
    /// On the calling thread.
    Seq,
    /// On rayon's thread pool for local parts of at least 65 536 elements
    /// (smaller parts run on the calling thread). The default.
    #[default]
    Par,
}

impl Execution {
    /// The policy for a code: 0 = `Seq`, 1 = `Par` (the C and Python
    /// `EXEC_SEQ` / `EXEC_PAR` values).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the valid codes.
    pub fn from_code(code: i64) -> Result<Execution> {
        match code {
            0 => Ok(Execution::Seq),
            1 => Ok(Execution::Par),
            c => Err(Error::InvalidArgument(format!("execution must be EXEC_SEQ (0) or EXEC_PAR (1), got {c}"))),
        }
    }
}

/// A global element position and its value (of `min_element` & co).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located<T> {
    /// The global index.
    pub index: usize,
    /// The value there.
    pub value: T,
}

impl<T: Element> Distributed1D<T> {
    // ------------------------------------------------------------ policy

    /// The execution policy of this container's algorithms.
    pub fn execution(&self) -> Execution {
        self.exec
    }

    /// Sets the execution policy of this container's algorithms. Local.
    pub fn set_execution(&mut self, exec: Execution) {
        self.exec = exec;
    }

    fn collective(&self, what: &str, op: Option<ReduceOp>, local: Option<Error>) -> Result<()> {
        self.collective_with(what, op, &[], local)
    }

    /// Agreement on dtype, size, partition, op and the `extra` fields (at
    /// most 12), failing on every rank if any rank passed `local`.
    pub(super) fn collective_with(
        &self,
        what: &str,
        op: Option<ReduceOp>,
        extra: &[(&str, i64)],
        local: Option<Error>,
    ) -> Result<()> {
        let local = local.or_else(|| op.and_then(|o| o.check_for::<T>().err()));
        let mut fields = vec![
            ("dtype", T::DTYPE as i64),
            ("global size", self.global_size() as i64),
            ("partition", self.part.spec().signature()[0]),
            ("op", op.map_or(-1, |o| o as i64)),
        ];
        fields.extend_from_slice(extra);
        self.ctx.agree_or_reject(what, &fields, local)
    }

    /// Whether the local part alone answers a query (one rank, or a
    /// replicated container).
    pub(super) fn local_answers(&self) -> bool {
        self.ctx.size() == 1 || self.part.is_replicated()
    }

    // ------------------------------------------------------------ element-wise

    /// Calls `f` on every local element (in parallel under `Par`, so `f`
    /// must be `Fn + Sync`). Not collective.
    pub fn for_each(&mut self, f: impl Fn(&mut T) + Sync + Send) {
        if parallel(self.exec, self.data.len()) {
            self.data.par_iter_mut().for_each(f);
        } else {
            self.data.iter_mut().for_each(f);
        }
    }

    /// Calls `f(global_index, &mut element)` on every local element. Not
    /// collective.
    pub fn for_each_indexed(&mut self, f: impl Fn(usize, &mut T) + Sync + Send) {
        let (part, rank) = (&self.part, self.ctx.rank());
        let par = parallel(self.exec, self.data.len());
        // The local-to-global map in closed form, chosen once per call (not
        // per element through the Layout's checked `local_to_global`).
        match part {
            p if p.is_contiguous() => {
                let off = p.local_offset(rank);
                indexed(&mut self.data, par, |l| off + l, &f);
            }
            Layout::Cyclic(c) => {
                let n = c.num_ranks();
                indexed(&mut self.data, par, |l| l * n + rank, &f);
            }
            Layout::BlockCyclic(bc) => {
                let (b, n) = (bc.block_size(), bc.num_ranks());
                indexed(&mut self.data, par, |l| (l / b * n + rank) * b + l % b, &f);
            }
            p => indexed(&mut self.data, par, |l| p.local_to_global(rank, l).unwrap_or(usize::MAX), &f),
        }
    }

    /// Replaces every local element `x` by `f(x)`. Not collective.
    pub fn transform(&mut self, f: impl Fn(T) -> T + Sync + Send) {
        self.for_each(|x| *x = f(*x));
    }

    /// Writes `f(x)` for every element `x` of `self` into `dst`, which must
    /// have the same global size and partition. Not collective (each rank
    /// transforms its part).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the layouts differ.
    pub fn transform_into<U: Element>(
        &self,
        dst: &mut Distributed1D<U>,
        f: impl Fn(T) -> U + Sync + Send,
    ) -> Result<()> {
        if self.part != dst.part {
            return Err(Error::InvalidArgument(format!(
                "transform: dst must have the same global size and partition as src (src: {} elements, {:?}; \
                 dst: {} elements, {:?}); redistribute one first",
                self.global_size(),
                self.part.spec(),
                dst.global_size(),
                dst.part.spec()
            )));
        }
        if parallel(self.exec, self.data.len()) {
            dst.data.par_iter_mut().zip(self.data.par_iter()).for_each(|(d, &s)| *d = f(s));
        } else {
            dst.data.iter_mut().zip(&self.data).for_each(|(d, &s)| *d = f(s));
        }
        Ok(())
    }

    /// Copies every element of `src` (same global size, any partition)
    /// into `self`, keeping `self`'s partition. Same partition: a local
    /// copy, not collective. Different partitions: one `MPI_Alltoallv`,
    /// collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the global sizes differ.
    pub fn copy_from(&mut self, src: &Distributed1D<T>) -> Result<()> {
        if src.global_size() != self.global_size() {
            return Err(Error::InvalidArgument(format!(
                "copy: src has {} elements, dst {}; they must have the same global size",
                src.global_size(),
                self.global_size()
            )));
        }
        if src.part == self.part {
            self.data.copy_from_slice(&src.data);
            return Ok(());
        }
        let moved = redistribute_1d(&self.ctx, src.data.clone(), &src.part, &self.part, T::ZERO)?;
        self.data.copy_from_slice(&moved);
        Ok(())
    }

    /// Sets element `i` to `start + i` (global index `i` converted to the
    /// dtype wrapping modulo 2^bits for integers, then added in the dtype's
    /// arithmetic, wrapping: NumPy's `np.arange(n).astype(dtype) + start`;
    /// floats exact up to 2^53). Not collective.
    pub fn iota(&mut self, start: T) {
        self.for_each_indexed(|g, x| *x = start.add(T::from_index(g)));
    }

    /// Replaces every element equal to `old` by `new` (NaN never equals).
    /// Not collective.
    pub fn replace(&mut self, old: T, new: T) {
        self.for_each(|x| {
            if *x == old {
                *x = new
            }
        });
    }

    /// Sets every element to `f(global_index)`. Not collective.
    pub fn generate(&mut self, f: impl Fn(usize) -> T + Sync + Send) {
        self.for_each_indexed(|g, x| *x = f(g));
    }

    // ------------------------------------------------------------ reductions

    /// `op` over this rank's elements (the op's identity if none). Not
    /// collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a logical or bitwise op on floats.
    pub fn reduce_local(&self, op: ReduceOp) -> Result<T> {
        op.check_for::<T>()?;
        Ok(reduce_slice(&self.data, op, self.exec))
    }

    /// `op` over all elements, on every rank (the op's identity for an
    /// empty container). Min/Max propagate NaN like NumPy. Each rank
    /// reduces its part (pairwise for sums), then the partial results are
    /// combined in rank order (`MPI_Allgather` of one value per rank), so
    /// every rank gets the same bits. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (on every rank) for a logical or bitwise
    /// op on floats; [`Error::Mismatch`] if the ranks pass different ops.
    pub fn reduce(&self, op: ReduceOp) -> Result<T> {
        self.collective("reduce", Some(op), None)?;
        let mine = reduce_slice(&self.data, op, self.exec);
        self.combine_ranks(mine, op)
    }

    /// `op` over `map(x)` for every element `x`, on every rank (e.g. a sum
    /// of squares). Collective, as [`reduce`](Self::reduce).
    ///
    /// # Errors
    /// As for [`reduce`](Self::reduce), for the op on `U`.
    pub fn transform_reduce<U: Element>(&self, map: impl Fn(T) -> U + Sync, op: ReduceOp) -> Result<U> {
        let bad = op.check_for::<U>().err();
        self.collective("transform_reduce", None, bad)?;
        let mine = map_reduce_slice(&self.data, map, op, self.exec);
        self.combine_ranks(mine, op)
    }

    /// `op` over `map(x)` for this rank's elements. Not collective.
    ///
    /// # Errors
    /// As for [`reduce_local`](Self::reduce_local).
    pub fn transform_reduce_local<U: Element>(&self, map: impl Fn(T) -> U + Sync, op: ReduceOp) -> Result<U> {
        op.check_for::<U>()?;
        Ok(map_reduce_slice(&self.data, map, op, self.exec))
    }

    /// The inner product `sum(self[i] * other[i])` over all elements (a
    /// pairwise sum of the products), on every rank. `other` must have the
    /// same global size and partition. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if the layouts differ.
    pub fn dot(&self, other: &Distributed1D<T>) -> Result<T> {
        let bad = (self.part != other.part).then(|| {
            Error::InvalidArgument(format!(
                "dot: both containers must have the same global size and partition ({} vs {} elements, {:?} vs {:?})",
                self.global_size(),
                other.global_size(),
                self.part.spec(),
                other.part.spec()
            ))
        });
        self.collective("dot", None, bad)?;
        let mine = self.dot_local(other)?;
        self.combine_ranks(mine, ReduceOp::Sum)
    }

    /// The inner product over this rank's elements. Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the local sizes differ.
    pub fn dot_local(&self, other: &Distributed1D<T>) -> Result<T> {
        if self.data.len() != other.data.len() {
            return Err(Error::InvalidArgument(format!(
                "dot: local sizes differ ({} vs {})",
                self.data.len(),
                other.data.len()
            )));
        }
        let (a, b) = (&self.data[..], &other.data[..]);
        Ok(kernels::chunked(a.len(), ReduceOp::Sum, self.exec, |r| {
            let (x, y) = (&a[r.clone()], &b[r]);
            kernels::pairwise_sum_of(x.len(), |k| x[k].mul(y[k]))
        }))
    }

    /// Combines one partial result per rank in rank order, skipping ranks
    /// with no elements (or returns it for a replicated container).
    fn combine_ranks<U: Element>(&self, mine: U, op: ReduceOp) -> Result<U> {
        if self.local_answers() {
            return Ok(mine);
        }
        let parts = partials(&self.ctx, (!self.data.is_empty()).then_some(mine))?;
        Ok(parts.into_iter().flatten().reduce(|a, b| combine(op, a, b)).unwrap_or(op.identity()))
    }

    // ------------------------------------------------------------ queries

    /// The smallest global index whose element satisfies `pred`, or `None`
    /// (on every rank). One `MPI_Allreduce(MIN)`. Collective.
    pub fn find_if(&self, pred: impl Fn(T) -> bool + Sync) -> Result<Option<usize>> {
        self.collective("find", None, None)?;
        let l = if parallel(self.exec, self.data.len()) {
            self.data.par_iter().position_first(|&x| pred(x))
        } else {
            self.data.iter().position(|&x| pred(x))
        };
        let mine = match l {
            Some(l) => self.to_global(l)? as u64,
            None => u64::MAX,
        };
        let best = if self.local_answers() { mine } else { self.ctx.allreduce_scalar(mine, ReduceOp::Min)? };
        Ok((best != u64::MAX).then_some(best as usize))
    }

    /// The smallest global index holding `value` (NaN matches nothing), or
    /// `None`. Collective.
    pub fn find(&self, value: T) -> Result<Option<usize>> {
        self.find_if(|x| x == value)
    }

    /// How many elements satisfy `pred`, on every rank. One
    /// `MPI_Allreduce(SUM)`. Collective.
    pub fn count_if(&self, pred: impl Fn(T) -> bool + Sync) -> Result<usize> {
        self.collective("count", None, None)?;
        let mine = if parallel(self.exec, self.data.len()) {
            self.data.par_iter().filter(|&&x| pred(x)).count()
        } else {
            self.data.iter().filter(|&&x| pred(x)).count()
        } as u64;
        let n = if self.local_answers() { mine } else { self.ctx.allreduce_scalar(mine, ReduceOp::Sum)? };
        Ok(n as usize)
    }

    /// How many elements equal `value`. Collective.
    pub fn count(&self, value: T) -> Result<usize> {
        self.count_if(|x| x == value)
    }

    /// True if every element satisfies `pred` (true when empty). Collective.
    pub fn all_of(&self, pred: impl Fn(T) -> bool + Sync) -> Result<bool> {
        Ok(self.find_if(|x| !pred(x))?.is_none())
    }

    /// True if some element satisfies `pred`. Collective.
    pub fn any_of(&self, pred: impl Fn(T) -> bool + Sync) -> Result<bool> {
        Ok(self.find_if(pred)?.is_some())
    }

    /// True if no element satisfies `pred`. Collective.
    pub fn none_of(&self, pred: impl Fn(T) -> bool + Sync) -> Result<bool> {
        Ok(self.find_if(pred)?.is_none())
    }

    /// The first smallest element and its global index, like
    /// `numpy.argmin` (a NaN counts as smallest: the first NaN wins);
    /// `None` for an empty container. `MPI_Allgather` of one candidate per
    /// rank. Collective.
    pub fn min_element(&self) -> Result<Option<Located<T>>> {
        self.collective("min_element", None, None)?;
        self.best(|a, b| a < b)
    }

    /// The first largest element and its global index, like
    /// `numpy.argmax` (the first NaN wins). Collective.
    pub fn max_element(&self) -> Result<Option<Located<T>>> {
        self.collective("max_element", None, None)?;
        self.best(|a, b| a > b)
    }

    /// `(min_element, max_element)`. Collective.
    pub fn minmax(&self) -> Result<Option<(Located<T>, Located<T>)>> {
        Ok(self.min_element()?.zip(self.max_element()?))
    }

    fn best(&self, better: impl Fn(T, T) -> bool + Copy) -> Result<Option<Located<T>>> {
        let mine = match arg_best(&self.data, better) {
            Some(l) => Some(Located { index: self.to_global(l)?, value: self.data[l] }),
            None => None,
        };
        if self.local_answers() {
            return Ok(mine);
        }
        let idx = self.ctx.allgather(&[mine.map_or(u64::MAX, |m| m.index as u64)])?;
        let val = self.ctx.allgather(&[mine.map_or(T::ZERO, |m| m.value)])?;
        let mut cands: Vec<Located<T>> = idx
            .into_iter()
            .zip(val)
            .filter(|&(i, _)| i != u64::MAX)
            .map(|(i, v)| Located { index: i as usize, value: v })
            .collect();
        cands.sort_by_key(|c| c.index);
        let values: Vec<T> = cands.iter().map(|c| c.value).collect();
        Ok(arg_best(&values, better).map(|k| cands[k]))
    }

    // ------------------------------------------------------------ scans

    /// Inclusive scan of this rank's part in place (`op` over the local
    /// elements up to and including each). Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a logical or bitwise op on floats.
    pub fn inclusive_scan_local(&mut self, op: ReduceOp) -> Result<()> {
        op.check_for::<T>()?;
        scan_in_place(&mut self.data, op, None, self.exec);
        Ok(())
    }

    /// Exclusive scan of this rank's part in place: element `l` becomes
    /// `op` over the local elements before it (`init` for the first). Not
    /// collective.
    ///
    /// # Errors
    /// As for [`inclusive_scan_local`](Self::inclusive_scan_local).
    pub fn exclusive_scan_local(&mut self, op: ReduceOp, init: T) -> Result<()> {
        op.check_for::<T>()?;
        exclusive_in_place(&mut self.data, op, init, self.exec);
        Ok(())
    }

    /// Inclusive scan in global index order, in place: element `i` becomes
    /// `op` over elements `0..=i` (sequential order, as `numpy.cumsum`).
    /// Contiguous partitions (block, weighted): a local scan, then an
    /// `MPI_Allgather` of the rank totals to offset each part. Cyclic and
    /// block-cyclic: the same on a block copy (two `MPI_Alltoallv`).
    /// Replicated: each rank scans its copy. Collective.
    ///
    /// # Errors
    /// As for [`reduce`](Self::reduce).
    pub fn inclusive_scan(&mut self, op: ReduceOp) -> Result<()> {
        self.collective("inclusive_scan", Some(op), None)?;
        self.global_scan(op, None)
    }

    /// Exclusive scan in global index order, in place: element `i` becomes
    /// `op` over elements `0..i`, element 0 becomes `init`. Collective (as
    /// [`inclusive_scan`](Self::inclusive_scan)).
    ///
    /// # Errors
    /// As for [`reduce`](Self::reduce).
    pub fn exclusive_scan(&mut self, op: ReduceOp, init: T) -> Result<()> {
        self.collective("exclusive_scan", Some(op), None)?;
        self.global_scan(op, Some(init))
    }

    fn global_scan(&mut self, op: ReduceOp, init: Option<T>) -> Result<()> {
        let exec = self.exec;
        // `carry`: op over everything before this part (None: nothing).
        let scan_part = |data: &mut [T], carry: Option<T>| match init {
            None => scan_in_place(data, op, carry, exec),
            Some(_) => exclusive_in_place(data, op, carry.unwrap_or(op.identity()), exec),
        };
        if self.local_answers() {
            scan_part(&mut self.data, init);
            return Ok(());
        }
        // Contiguous layouts scan in place; the others scan a block copy.
        let mut block = if self.part.is_contiguous() {
            None
        } else {
            let layout = PartitionSpec::Block.layout(self.global_size(), self.ctx.size())?;
            let copy = redistribute_1d(&self.ctx, self.data.clone(), &self.part, &layout, T::ZERO)?;
            Some((layout, copy))
        };
        let data = match &mut block {
            Some((_, copy)) => copy,
            None => &mut self.data,
        };
        // Rank totals, combined in rank (= global) order into each rank's carry.
        let totals = partials(&self.ctx, fold(data, op))?;
        let carry =
            totals[..self.ctx.rank()].iter().flatten().fold(init, |a, &t| Some(a.map_or(t, |a| combine(op, a, t))));
        scan_part(data, carry);
        if let Some((layout, copy)) = block {
            // Back into the exposed buffer (its address must not change).
            let back = redistribute_1d(&self.ctx, copy, &layout, &self.part, T::ZERO)?;
            self.data.copy_from_slice(&back);
        }
        Ok(())
    }
}

/// Every rank's partial result in rank order (`None` for a rank with
/// nothing to contribute): one `MPI_Allgather` of `[value, flag]`.
/// Collective.
fn partials<U: Element>(ctx: &crate::Context, mine: Option<U>) -> Result<Vec<Option<U>>> {
    let all = ctx.allgather(&[mine.unwrap_or(U::ZERO), if mine.is_some() { U::ONE } else { U::ZERO }])?;
    Ok(all.chunks(2).map(|p| (p[1] == U::ONE).then_some(p[0])).collect())
}

/// Exclusive scan in place: element `k` becomes `init op x[0] op … op
/// x[k-1]` (element 0 becomes `init`).
fn exclusive_in_place<T: Element>(x: &mut [T], op: ReduceOp, init: T, exec: Execution) {
    if x.is_empty() {
        return;
    }
    // [x0, …, xn-1] -> [init, x0, …, xn-2], then an inclusive scan.
    x.rotate_right(1);
    x[0] = init;
    scan_in_place(x, op, None, exec);
}

/// Calls `f(g(l), &mut data[l])` for every local index `l` (on rayon when
/// `par`).
fn indexed<T: Send>(data: &mut [T], par: bool, g: impl Fn(usize) -> usize + Sync, f: &(impl Fn(usize, &mut T) + Sync)) {
    if par {
        data.par_iter_mut().enumerate().for_each(|(l, x)| f(g(l), x));
    } else {
        data.iter_mut().enumerate().for_each(|(l, x)| f(g(l), x));
    }
}
