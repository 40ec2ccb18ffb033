//! [`DistributedSpan`] and [`DistributedSpanMut`]: non-owning views of a
//! global index range of a container (documented on [`DistributedSpan`]).

use std::borrow::Cow;
use std::ops::Range;

use ndarray::{ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice};

use super::{Distributed1D, DistributedArray, DistributedTensor, DistributedVector};
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Layout, Partition};

/// Where a span lies: the container's layout and shape, and the global
/// range along the split axis. Borrowed from the container for
/// [`DistributedSpan`], owned (cloned) for [`DistributedSpanMut`], which
/// must hold the container's data mutably.
#[derive(Clone)]
struct Geom<'a> {
    layout: Cow<'a, Layout>,
    ctx: Cow<'a, Context>,
    /// The container's global shape (`[n]` for 1-D containers).
    shape: Cow<'a, [usize]>,
    axis: usize,
    start: usize,
    end: usize,
}

impl<'a> Geom<'a> {
    fn one_d<T: Element>(v: &'a Distributed1D<T>) -> Geom<'a> {
        let n = v.global_size();
        Geom {
            layout: Cow::Borrowed(v.partition()),
            ctx: Cow::Borrowed(v.context()),
            shape: Cow::Owned(vec![n]),
            axis: 0,
            start: 0,
            end: n,
        }
    }

    fn tensor<T: Element>(t: &'a DistributedTensor<T>) -> Geom<'a> {
        let axis = t.split_axis();
        Geom {
            layout: Cow::Borrowed(t.partition()),
            ctx: Cow::Borrowed(t.context()),
            shape: Cow::Borrowed(t.shape()),
            axis,
            start: 0,
            end: t.shape()[axis],
        }
    }

    /// A copy that owns its parts (for the mutable spans, whose data borrow
    /// excludes any other borrow of the container).
    fn into_owned(self) -> Geom<'static> {
        Geom {
            layout: Cow::Owned(self.layout.into_owned()),
            ctx: Cow::Owned(self.ctx.into_owned()),
            shape: Cow::Owned(self.shape.into_owned()),
            axis: self.axis,
            start: self.start,
            end: self.end,
        }
    }

    /// A copy borrowing from this one.
    fn reborrow(&self) -> Geom<'_> {
        Geom {
            layout: Cow::Borrowed(&*self.layout),
            ctx: Cow::Borrowed(&*self.ctx),
            shape: Cow::Borrowed(&*self.shape),
            axis: self.axis,
            start: self.start,
            end: self.end,
        }
    }

    fn len(&self) -> usize {
        self.end - self.start
    }

    fn rank(&self) -> usize {
        self.ctx.rank()
    }

    /// Elements per index of the split axis (product of the other axes).
    fn per_index(&self) -> usize {
        self.shape.iter().enumerate().filter(|&(k, _)| k != self.axis).map(|(_, &d)| d).product()
    }

    fn local_range(&self) -> Range<usize> {
        self.layout.local_range(self.rank(), self.start..self.end)
    }

    /// Shape of this rank's whole local block of the container.
    fn block_shape(&self) -> Vec<usize> {
        let mut s = self.shape.to_vec();
        s[self.axis] = self.layout.local_size(self.rank());
        s
    }

    fn span_shape(&self, extent: usize) -> Vec<usize> {
        let mut s = self.shape.to_vec();
        s[self.axis] = extent;
        s
    }

    /// The span's local elements as a range of the flat local data, when
    /// they are contiguous there (always for 1-D containers and tensors
    /// split along axis 0).
    fn flat_range(&self) -> Option<Range<usize>> {
        let r = self.local_range();
        let before: usize = self.shape[..self.axis].iter().product();
        let after: usize = self.shape[self.axis + 1..].iter().product();
        if r.is_empty() || before == 0 || after == 0 {
            Some(0..0)
        } else if before == 1 {
            Some(r.start * after..r.end * after)
        } else if r.start == 0 && r.end == self.layout.local_size(self.rank()) {
            Some(0..before * r.end * after)
        } else {
            None
        }
    }

    fn not_contiguous(&self) -> Error {
        Error::NotSupported(format!(
            "the span's local elements are not contiguous on rank {}: the tensor is split along axis {} and \
             the span covers local indices {:?} of {} along it; use local_view() (a strided view) or to_vec()",
            self.rank(),
            self.axis,
            self.local_range(),
            self.layout.local_size(self.rank())
        ))
    }

    /// The sub-range `offset..offset + count` of this span.
    fn narrowed(mut self, offset: usize, count: usize, what: &str) -> Result<Self> {
        let len = self.len();
        if offset > len || count > len - offset {
            return Err(Error::Bounds(format!(
                "{what}: offset {offset} with count {count} is out of range for a span of length {len} \
                 (need offset + count <= {len}; valid offsets 0..={len})"
            )));
        }
        self.start += offset;
        self.end = self.start + count;
        Ok(self)
    }

    fn first(self, n: usize) -> Result<Self> {
        let len = self.len();
        if n > len {
            return Err(Error::Bounds(format!("first({n}): n must be in 0..={len} (the span's length)")));
        }
        self.narrowed(0, n, "first")
    }

    fn last(self, n: usize) -> Result<Self> {
        let len = self.len();
        if n > len {
            return Err(Error::Bounds(format!("last({n}): n must be in 0..={len} (the span's length)")));
        }
        self.narrowed(len - n, n, "last")
    }
}

/// The queries shared by both span types (all pure).
macro_rules! span_queries {
    () => {
        /// Number of indices of the span along the split axis (global).
        pub fn len(&self) -> usize {
            self.geom.len()
        }
        /// True when the span has no indices.
        pub fn is_empty(&self) -> bool {
            self.geom.len() == 0
        }
        /// Global index (along the split axis) of the span's first index.
        pub fn global_offset(&self) -> usize {
            self.geom.start
        }
        /// The span's global range along the split axis.
        pub fn global_range(&self) -> Range<usize> {
            self.geom.start..self.geom.end
        }
        /// Number of elements in the span over all ranks: its length, times
        /// the product of the other axes for a tensor (the product of
        /// [`shape`](Self::shape)). Each element counts once, also for a
        /// replicated container.
        pub fn global_size(&self) -> usize {
            self.geom.len() * self.geom.per_index()
        }
        /// Number of the span's elements on this rank.
        pub fn local_size(&self) -> usize {
            self.geom.local_range().len() * self.geom.per_index()
        }
        /// Bytes of the span's elements on **this rank**:
        /// `local_size() * size_of::<T>()`, the memory that
        /// [`local_view`](Self::local_view) covers. (The whole span is
        /// `global_size() * size_of::<T>()` bytes.)
        pub fn size_bytes(&self) -> usize {
            self.local_size() * std::mem::size_of::<T>()
        }
        /// This rank's rank in the container's context.
        pub fn rank(&self) -> usize {
            self.geom.rank()
        }
        /// Number of ranks of the container's context.
        pub fn num_ranks(&self) -> usize {
            self.geom.ctx.size()
        }
        /// The container's context.
        pub fn context(&self) -> &Context {
            &self.geom.ctx
        }
        /// The container's partition (of the split axis).
        pub fn partition(&self) -> &Layout {
            &self.geom.layout
        }
        /// The axis the span ranges over: the container's split axis (0 for
        /// 1-D containers).
        pub fn split_axis(&self) -> usize {
            self.geom.axis
        }
        /// The span's global shape: the container's, with the split axis
        /// replaced by [`len`](Self::len).
        pub fn shape(&self) -> Vec<usize> {
            self.geom.span_shape(self.geom.len())
        }
        /// The shape of this rank's part: the container's shape with the
        /// split axis replaced by the number of local indices in the span.
        pub fn local_shape(&self) -> Vec<usize> {
            self.geom.span_shape(self.geom.local_range().len())
        }
        /// The local indices (along the split axis) of the span's elements
        /// on this rank: [`Partition::local_range`] of the span's global
        /// range.
        pub fn local_range(&self) -> Range<usize> {
            self.geom.local_range()
        }
    };
}

/// A read-only, non-owning view of a global index range of a container.
///
/// A span borrows a 1-D container ([`DistributedVector`],
/// [`DistributedArray`], or their shared [`Distributed1D`]) or a
/// [`DistributedTensor`], and names a range `offset..offset + len` of
/// global indices along the container's split axis (the only axis of a 1-D
/// container; for a tensor, every other axis is whole). Make one with
/// [`DistributedSpan::new`] (or `From`): it starts as the whole container
/// and narrows with [`subspan`](Self::subspan), [`first`](Self::first) and
/// [`last`](Self::last), which check the range against the span
/// ([`Error::Bounds`]).
///
/// Each rank sees the span's elements it holds: because every partition
/// keeps local order monotone in global order, they are one contiguous
/// range of local indices ([`Partition::local_range`]), so
/// [`local`](Self::local) is a plain slice of the container's local data
/// (for a tensor split along a later axis the elements may be strided:
/// [`local_view`](Self::local_view) always works). Sizes:
/// [`global_size`](Self::global_size) counts the whole span,
/// [`local_size`](Self::local_size) and [`size_bytes`](Self::size_bytes)
/// this rank's part.
///
/// Every method is pure: nothing communicates, and spans are not collective
/// objects (ranks need not agree on them). Cheap to clone.
///
/// ```
/// use dtl_core::{Context, DistributedSpan, DistributedSpanMut, DistributedVector};
///
/// let ctx = Context::world()?;
/// let mut v = DistributedVector::<i64>::new(&ctx, 100)?;          // collective
/// let off = v.local_offset();
/// v.local_mut().iter_mut().enumerate().for_each(|(l, x)| *x = (off + l) as i64);
///
/// let span = DistributedSpan::new(&v);                            // the whole vector
/// assert_eq!(span.global_size(), 100);
/// let mid = span.subspan(10, 20)?;                                // global 10..30
/// assert_eq!((mid.global_offset(), mid.len()), (10, 20));
/// // This rank's part of 10..30, a slice of its local data (no copy).
/// assert!(mid.local()?.iter().all(|&x| (10..30).contains(&x)));
/// assert_eq!(mid.local_size(), mid.local()?.len());
/// assert_eq!(mid.size_bytes(), 8 * mid.local_size());             // this rank's bytes
/// assert!(span.first(101).is_err());                              // Error::Bounds
///
/// let mut w = DistributedSpanMut::new(&mut v);
/// w.last(5)?.fill(-1);                                            // global 95..100
/// # if ctx.size() == 1 { assert_eq!(v.local()[94..], [94, -1, -1, -1, -1, -1]); }
/// # Ok::<(), dtl_core::Error>(())
/// ```
#[derive(Clone)]
pub struct DistributedSpan<'a, T: Element> {
    geom: Geom<'a>,
    /// The container's whole local block.
    data: &'a [T],
}

impl<T: Element> std::fmt::Debug for DistributedSpan<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedSpan")
            .field("global_range", &self.global_range())
            .field("shape", &self.shape())
            .field("split_axis", &self.geom.axis)
            .field("rank", &self.rank())
            .field("local_range", &self.local_range())
            .field("dtype", &T::DTYPE)
            .finish()
    }
}

impl<'a, T: Element> From<&'a Distributed1D<T>> for DistributedSpan<'a, T> {
    fn from(v: &'a Distributed1D<T>) -> Self {
        DistributedSpan { geom: Geom::one_d(v), data: v.local() }
    }
}

impl<'a, T: Element> From<&'a DistributedVector<T>> for DistributedSpan<'a, T> {
    fn from(v: &'a DistributedVector<T>) -> Self {
        DistributedSpan::from(&**v)
    }
}

impl<'a, T: Element> From<&'a DistributedArray<T>> for DistributedSpan<'a, T> {
    fn from(v: &'a DistributedArray<T>) -> Self {
        DistributedSpan::from(&**v)
    }
}

impl<'a, T: Element> From<&'a DistributedTensor<T>> for DistributedSpan<'a, T> {
    fn from(t: &'a DistributedTensor<T>) -> Self {
        DistributedSpan { geom: Geom::tensor(t), data: t.local() }
    }
}

impl<'a, T: Element> DistributedSpan<'a, T> {
    /// A span of the whole `container` (`&DistributedVector`,
    /// `&DistributedArray`, `&Distributed1D` or `&DistributedTensor`).
    /// Pure.
    pub fn new(container: impl Into<DistributedSpan<'a, T>>) -> Self {
        container.into()
    }

    /// The `count` indices starting `offset` indices into this span.
    ///
    /// # Errors
    /// [`Error::Bounds`] unless `offset + count <= len()`.
    pub fn subspan(&self, offset: usize, count: usize) -> Result<DistributedSpan<'a, T>> {
        Ok(DistributedSpan { geom: self.geom.clone().narrowed(offset, count, "subspan")?, data: self.data })
    }

    /// The first `n` indices of this span.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `n > len()`.
    pub fn first(&self, n: usize) -> Result<DistributedSpan<'a, T>> {
        Ok(DistributedSpan { geom: self.geom.clone().first(n)?, data: self.data })
    }

    /// The last `n` indices of this span.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `n > len()`.
    pub fn last(&self, n: usize) -> Result<DistributedSpan<'a, T>> {
        Ok(DistributedSpan { geom: self.geom.clone().last(n)?, data: self.data })
    }

    span_queries!();

    /// The span's elements on this rank, a contiguous slice of the
    /// container's local data (row-major for tensors; no copy).
    ///
    /// # Errors
    /// [`Error::NotSupported`] for a tensor split along an axis `k > 0`
    /// (with `shape[..k]` holding more than one element) when the span
    /// covers only part of this rank's indices: the elements are then
    /// strided, see [`local_view`](Self::local_view). Never for 1-D
    /// containers or tensors split along axis 0.
    pub fn local(&self) -> Result<&'a [T]> {
        let r = self.geom.flat_range().ok_or_else(|| self.geom.not_contiguous())?;
        Ok(&self.data[r])
    }

    /// The span's elements on this rank as an `ndarray` view of shape
    /// [`local_shape`](Self::local_shape) (no copy; strided when the
    /// elements are not contiguous).
    pub fn local_view(&self) -> ArrayViewD<'a, T> {
        let block = ArrayViewD::from_shape(IxDyn(&self.geom.block_shape()), self.data)
            .expect("the local block matches the container's local shape");
        block.slice_axis_move(Axis(self.geom.axis), Slice::from(self.geom.local_range()))
    }

    /// A copy of the span's elements on this rank, in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.local() {
            Ok(s) => s.to_vec(),
            Err(_) => self.local_view().iter().copied().collect(),
        }
    }
}

/// A writable, non-owning view of a global index range of a container:
/// [`DistributedSpan`] plus [`local_mut`](Self::local_mut),
/// [`local_view_mut`](Self::local_view_mut) and [`fill`](Self::fill).
/// Made from `&mut` of a container with [`DistributedSpanMut::new`]; its
/// [`subspan`](Self::subspan), [`first`](Self::first) and
/// [`last`](Self::last) reborrow it. Pure.
pub struct DistributedSpanMut<'a, T: Element> {
    geom: Geom<'a>,
    data: &'a mut [T],
}

impl<T: Element> std::fmt::Debug for DistributedSpanMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DistributedSpanMut({:?})", self.as_span())
    }
}

impl<'a, T: Element> From<&'a mut Distributed1D<T>> for DistributedSpanMut<'a, T> {
    fn from(v: &'a mut Distributed1D<T>) -> Self {
        let geom = Geom::one_d(v).into_owned();
        DistributedSpanMut { geom, data: v.local_mut() }
    }
}

impl<'a, T: Element> From<&'a mut DistributedVector<T>> for DistributedSpanMut<'a, T> {
    fn from(v: &'a mut DistributedVector<T>) -> Self {
        DistributedSpanMut::from(&mut **v)
    }
}

impl<'a, T: Element> From<&'a mut DistributedArray<T>> for DistributedSpanMut<'a, T> {
    fn from(v: &'a mut DistributedArray<T>) -> Self {
        DistributedSpanMut::from(&mut **v)
    }
}

impl<'a, T: Element> From<&'a mut DistributedTensor<T>> for DistributedSpanMut<'a, T> {
    fn from(t: &'a mut DistributedTensor<T>) -> Self {
        let geom = Geom::tensor(t).into_owned();
        DistributedSpanMut { geom, data: t.local_mut() }
    }
}

impl<'a, T: Element> DistributedSpanMut<'a, T> {
    /// A writable span of the whole `container` (`&mut` of a
    /// `DistributedVector`, `DistributedArray`, `Distributed1D` or
    /// `DistributedTensor`). Pure.
    pub fn new(container: impl Into<DistributedSpanMut<'a, T>>) -> Self {
        container.into()
    }

    /// A read-only span of the same range (reborrowing this one).
    pub fn as_span(&self) -> DistributedSpan<'_, T> {
        DistributedSpan { geom: self.geom.reborrow(), data: self.data }
    }

    /// The `count` indices starting `offset` indices into this span
    /// (reborrowing it).
    ///
    /// # Errors
    /// [`Error::Bounds`] unless `offset + count <= len()`.
    pub fn subspan(&mut self, offset: usize, count: usize) -> Result<DistributedSpanMut<'_, T>> {
        let geom = self.geom.reborrow().narrowed(offset, count, "subspan")?;
        Ok(DistributedSpanMut { geom, data: self.data })
    }

    /// The first `n` indices of this span (reborrowing it).
    ///
    /// # Errors
    /// [`Error::Bounds`] if `n > len()`.
    pub fn first(&mut self, n: usize) -> Result<DistributedSpanMut<'_, T>> {
        let geom = self.geom.reborrow().first(n)?;
        Ok(DistributedSpanMut { geom, data: self.data })
    }

    /// The last `n` indices of this span (reborrowing it).
    ///
    /// # Errors
    /// [`Error::Bounds`] if `n > len()`.
    pub fn last(&mut self, n: usize) -> Result<DistributedSpanMut<'_, T>> {
        let geom = self.geom.reborrow().last(n)?;
        Ok(DistributedSpanMut { geom, data: self.data })
    }

    span_queries!();

    /// The span's elements on this rank (see [`DistributedSpan::local`]).
    ///
    /// # Errors
    /// As [`DistributedSpan::local`].
    pub fn local(&self) -> Result<&[T]> {
        let r = self.geom.flat_range().ok_or_else(|| self.geom.not_contiguous())?;
        Ok(&self.data[r])
    }

    /// The span's elements on this rank, writable (a contiguous slice of
    /// the container's local data).
    ///
    /// # Errors
    /// As [`DistributedSpan::local`].
    pub fn local_mut(&mut self) -> Result<&mut [T]> {
        let r = self.geom.flat_range().ok_or_else(|| self.geom.not_contiguous())?;
        Ok(&mut self.data[r])
    }

    /// Like [`local_mut`](Self::local_mut), keeping the span's lifetime.
    ///
    /// # Errors
    /// As [`DistributedSpan::local`].
    pub fn into_local_mut(self) -> Result<&'a mut [T]> {
        let r = self.geom.flat_range().ok_or_else(|| self.geom.not_contiguous())?;
        Ok(&mut self.data[r])
    }

    /// The span's elements on this rank as an `ndarray` view (see
    /// [`DistributedSpan::local_view`]).
    pub fn local_view(&self) -> ArrayViewD<'_, T> {
        self.as_span().local_view()
    }

    /// The span's elements on this rank as a writable `ndarray` view of
    /// shape [`local_shape`](Self::local_shape) (no copy).
    pub fn local_view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let block = ArrayViewMutD::from_shape(IxDyn(&self.geom.block_shape()), &mut *self.data)
            .expect("the local block matches the container's local shape");
        block.slice_axis_move(Axis(self.geom.axis), Slice::from(self.geom.local_range()))
    }

    /// A copy of the span's elements on this rank, in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        self.as_span().to_vec()
    }

    /// Sets the span's elements on this rank to `value` (each rank writes
    /// its own part; not communicating).
    pub fn fill(&mut self, value: T) {
        self.local_view_mut().fill(value);
    }
}
