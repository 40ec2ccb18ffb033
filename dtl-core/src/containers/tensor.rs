//! [`DistributedTensor`]: N-d, rows (axis 0) block-split over the ranks.

use mpi::traits::*;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn};

use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Block, Partition};

/// An N-dimensional distributed array (row-major), split along axis 0 by a
/// [`Block`] partition of the rows: rank `r` holds rows
/// `partition().range(r)` and every other axis whole. The local block is a
/// C-contiguous `ndarray` of shape [`local_shape`](Self::local_shape).
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
    ctx: Context,
    shape: Vec<usize>,
    part: Block,
    data: Vec<T>,
}

/// Ghost rows received by [`DistributedTensor::halo_exchange`].
#[derive(Debug, Clone)]
pub struct Halo<T> {
    /// The halo width that was requested.
    pub width: usize,
    /// The rows just before this rank's first row, in global order: `width`
    /// rows, fewer at the global top edge (none on the rank holding row 0).
    /// Shape `(rows, shape[1..])`.
    pub lower: ArrayD<T>,
    /// The rows just after this rank's last row: `width` rows, fewer at the
    /// global bottom edge.
    pub upper: ArrayD<T>,
}

fn row_len(shape: &[usize]) -> Result<usize> {
    shape[1..].iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| {
        Error::InvalidArgument(format!("shape {shape:?} has more elements than fit in memory addresses"))
    })
}

impl<T: Element> DistributedTensor<T> {
    /// A zero-filled tensor of global `shape` (`ndim >= 1`). Collective:
    /// every rank passes the same shape (checked unless checks are off).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty shape; [`Error::Mismatch`] if
    /// ranks disagree; [`Error::Memory`] if the block cannot be allocated.
    pub fn new(ctx: &Context, shape: &[usize]) -> Result<Self> {
        Self::with_value(ctx, shape, T::ZERO)
    }

    /// Like [`new`](Self::new), every element set to `value`. Collective.
    pub fn with_value(ctx: &Context, shape: &[usize], value: T) -> Result<Self> {
        // A fixed number of fields on every rank (missing dimensions as -1):
        // the agreement is one MPI_Allreduce whose count must not depend on ndim.
        let mut fields = vec![("ndim", shape.len() as i64), ("dtype", T::DTYPE as i64)];
        let names = ["shape[0]", "shape[1]", "shape[2]", "shape[3]", "shape[4]", "shape[5]", "shape[6]", "shape[7]"];
        for (k, &name) in names.iter().enumerate() {
            fields.push((name, shape.get(k).map_or(-1, |&d| d as i64)));
        }
        ctx.agree("tensor construction", &fields)?;
        if shape.is_empty() {
            return Err(Error::InvalidArgument("shape must have at least one dimension (ndim >= 1)".into()));
        }
        let rl = row_len(shape)?;
        let part = Block::new(shape[0], ctx.size());
        let len = part.local_size(ctx.rank()).checked_mul(rl).ok_or_else(|| {
            Error::InvalidArgument(format!("shape {shape:?} has more elements than fit in memory addresses"))
        })?;
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|e| {
            Error::Memory(format!("cannot allocate {len} elements of {} on rank {}: {e}", T::DTYPE, ctx.rank()))
        })?;
        data.resize(len, value);
        Ok(DistributedTensor { ctx: ctx.clone(), shape: shape.to_vec(), part, data })
    }

    /// Distributes the root's array by rows (`MPI_Bcast` of the shape, then
    /// `MPI_Scatterv`); other ranks pass `None` (or anything: it is
    /// ignored). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if the root passes `None`
    /// or a 0-d array.
    pub fn scatter_from(ctx: &Context, data: Option<ArrayViewD<'_, T>>, root: usize) -> Result<Self> {
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
        let rl = row_len(&shape)?;
        let part = Block::new(shape[0], ctx.size());
        let counts: Vec<usize> = (0..ctx.size()).map(|r| part.local_size(r) * rl).collect();
        let flat: Vec<T> = match (&data, ctx.rank() == root) {
            (Some(a), true) => a.iter().copied().collect(), // row-major copy (any input layout)
            _ => Vec::new(),
        };
        let local = ctx.scatterv(&flat, &counts, root)?;
        Ok(DistributedTensor { ctx: ctx.clone(), shape, part, data: local })
    }

    /// The context the tensor lives on.
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// The global shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// The shape of this rank's block: `shape` with axis 0 replaced by the
    /// local row count.
    pub fn local_shape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        s[0] = self.part.local_size(self.ctx.rank());
        s
    }
    /// The partition of the rows (axis 0).
    pub fn partition(&self) -> &Block {
        &self.part
    }
    /// Number of elements over all ranks (product of `shape`).
    pub fn global_size(&self) -> usize {
        self.shape.iter().product()
    }
    /// Number of elements on this rank.
    pub fn local_size(&self) -> usize {
        self.data.len()
    }
    /// Global index (along axis 0) of this rank's first row.
    pub fn local_offset(&self) -> usize {
        self.part.local_offset(self.ctx.rank())
    }
    /// The rank that owns row `row`.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `row >= shape[0]`.
    pub fn owner(&self, row: usize) -> Result<usize> {
        self.part.owner(row)
    }
    /// True if this rank owns row `row`.
    pub fn is_local(&self, row: usize) -> bool {
        self.part.is_local(self.ctx.rank(), row)
    }
    /// This rank's elements as a flat row-major slice.
    pub fn local(&self) -> &[T] {
        &self.data
    }
    /// This rank's elements as a flat row-major slice, writable.
    pub fn local_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// This rank's block as an `ndarray` view of shape `local_shape()`
    /// (zero-copy).
    pub fn local_view(&self) -> ArrayViewD<'_, T> {
        ArrayViewD::from_shape(IxDyn(&self.local_shape()), &self.data).expect("local shape matches local length")
    }
    /// This rank's block as a writable `ndarray` view (zero-copy).
    pub fn local_view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let s = self.local_shape();
        ArrayViewMutD::from_shape(IxDyn(&s), &mut self.data).expect("local shape matches local length")
    }
    /// Sets every local element to `value` (not communicating).
    pub fn fill(&mut self, value: T) {
        self.data.fill(value);
    }
    /// The whole tensor on `root` (`MPI_Gatherv`); `None` elsewhere.
    /// Collective.
    pub fn gather(&self, root: usize) -> Result<Option<ArrayD<T>>> {
        match self.ctx.gatherv(&self.data, root)? {
            Some((v, _)) => Ok(Some(self.to_array(v)?)),
            None => Ok(None),
        }
    }
    /// The whole tensor on every rank (`MPI_Allgatherv`). Collective.
    pub fn gather_all(&self) -> Result<ArrayD<T>> {
        let (v, _) = self.ctx.allgatherv(&self.data)?;
        self.to_array(v)
    }

    fn to_array(&self, v: Vec<T>) -> Result<ArrayD<T>> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), v)
            .map_err(|e| Error::Internal(format!("gathered data does not match shape {:?}: {e}", self.shape)))
    }

    /// Exchanges ghost rows with the neighbours: each rank receives the
    /// `width` rows just before its first row and just after its last row,
    /// from whichever ranks own them (usually one neighbour each side; more
    /// when neighbours hold fewer than `width` rows). Rows outside the
    /// global range do not exist: at the global edges the halo is shorter.
    /// A rank holding no rows receives empty halos. Non-blocking
    /// point-to-point (`MPI_Isend`/`MPI_Irecv` pairs, then wait on all), a
    /// neighbourhood pattern like `MPI_Sendrecv` without its deadlock risk.
    /// Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if ranks pass different widths.
    pub fn halo_exchange(&self, width: usize) -> Result<Halo<T>> {
        const TAG: i32 = 0x4841;
        let ctx = &self.ctx;
        ctx.agree("halo_exchange", &[("width", width as i64)])?;
        let rl = row_len(&self.shape)?;
        let rows = self.shape[0];
        let me = ctx.rank();
        let p = &self.part;
        let need = |r: usize| -> (std::ops::Range<usize>, std::ops::Range<usize>) {
            let rg = p.range(r);
            if rg.is_empty() {
                (0..0, 0..0)
            } else {
                (rg.start.saturating_sub(width)..rg.start, rg.end..(rg.end + width).min(rows))
            }
        };
        let inter = |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| a.start.max(b.start)..a.end.min(b.end);
        let (need_lo, need_hi) = need(me);
        let mut lower = vec![T::ZERO; need_lo.len() * rl];
        let mut upper = vec![T::ZERO; need_hi.len() * rl];
        let mine = p.range(me);
        // Outgoing: the part of my rows every other rank's halo needs.
        let mut sends: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        if !mine.is_empty() {
            for q in 0..ctx.size() {
                if q == me {
                    continue;
                }
                let (lo, hi) = need(q);
                for nq in [lo, hi] {
                    let x = inter(&mine, &nq);
                    if !x.is_empty() {
                        sends.push((q, (x.start - mine.start) * rl..(x.end - mine.start) * rl));
                    }
                }
            }
        }
        let comm = ctx.comm();
        mpi::request::scope(|scope| {
            let mut reqs = Vec::new();
            for (buf, needed) in [(&mut lower[..], &need_lo), (&mut upper[..], &need_hi)] {
                let mut rest = buf;
                let mut row = needed.start;
                while row < needed.end {
                    let owner = p.owner(row).expect("halo row is in range");
                    let x = inter(&p.range(owner), needed);
                    let (head, tail) = rest.split_at_mut(x.len() * rl);
                    reqs.push(comm.process_at_rank(owner as i32).immediate_receive_into_with_tag(scope, head, TAG));
                    rest = tail;
                    row = x.end;
                }
            }
            let mut sreqs = Vec::new();
            for (q, range) in &sends {
                sreqs.push(comm.process_at_rank(*q as i32).immediate_send_with_tag(
                    scope,
                    &self.data[range.clone()],
                    TAG,
                ));
            }
            for r in reqs {
                r.wait();
            }
            for r in sreqs {
                r.wait();
            }
        });
        let mut hshape = self.shape.clone();
        hshape[0] = need_lo.len();
        let lower = ArrayD::from_shape_vec(IxDyn(&hshape), lower).map_err(|e| Error::Internal(e.to_string()))?;
        hshape[0] = need_hi.len();
        let upper = ArrayD::from_shape_vec(IxDyn(&hshape), upper).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Halo { width, lower, upper })
    }

    /// The local block with its halo rows attached above and below: shape
    /// `(lower rows + local rows + upper rows, shape[1..])`, a new array.
    /// Collective (it runs [`halo_exchange`](Self::halo_exchange)).
    pub fn local_with_halo(&self, width: usize) -> Result<ArrayD<T>> {
        let h = self.halo_exchange(width)?;
        ndarray::concatenate(Axis(0), &[h.lower.view(), self.local_view(), h.upper.view()])
            .map_err(|e| Error::Internal(format!("halo concatenation failed: {e}")))
    }
}
