//! Halo (ghost-cell) exchange for stencil codes, on the 1-D containers
//! ([`Distributed1D`], which [`DistributedVector`](crate::DistributedVector)
//! and [`DistributedArray`](crate::DistributedArray) deref to) and on
//! [`DistributedTensor`]s split along axis 0.
//!
//! One implementation serves both: a container with a **contiguous**
//! partition (block or weighted) is a sequence of *rows* in global order,
//! rank `r` holding one range of them. A row is one element of a 1-D
//! container, and `shape[1] × … × shape[ndim-1]` elements (one slice along
//! axis 0) of a tensor. Each rank receives the [`HaloSpec::lower`] rows just
//! before its first row and the [`HaloSpec::upper`] rows just after its last
//! one, from whichever ranks own them: usually one neighbour per side, more
//! when neighbours hold fewer rows than the width, none for rows it owns
//! itself (those are copied).
//!
//! | call | result | collective? |
//! | --- | --- | --- |
//! | `halo_exchange(width)`, `halo_exchange_spec(spec)` | a [`Halo`]: the ghost rows below and above, apart | yes |
//! | `local_with_halo(width)`, `local_with_halo_spec(spec)` | lower rows, local rows, upper rows, concatenated | yes |
//! | `local_padded(widths, boundary)` | the local part padded on every axis to full width, like `numpy.pad` | yes |
//!
//! **Edges.** Without [`periodic`](HaloSpec::periodic), rows outside
//! `0..rows` do not exist: at the global edges the halos are shorter (none
//! below the rank holding row 0). With it, the split axis is a ring: the
//! rank holding row 0 receives the last rows as its lower halo, the rank
//! holding the last row receives the first rows as its upper halo, and
//! every halo has its full width (which must then be at most the number of
//! rows, so that no row appears twice in one halo). `local_padded` fills
//! everything outside the global array by a [`Boundary`] rule: a constant,
//! or periodic wrap-around (the ring exchange along the split axis; a local
//! copy along the other axes, which every rank holds whole).
//!
//! **Empty ranks.** A rank holding no rows has no cells to update: it
//! receives empty halos (and `local_padded` gives it a block with no rows),
//! and is skipped as a source, so neighbours reach past it.
//!
//! **Communication.** After one `MPI_Allreduce` that checks that every rank
//! passes the same widths (skipped when collective checks are off), each
//! rank posts one `MPI_Irecv` per contiguous piece of its halos owned by
//! another rank and one `MPI_Isend` per piece of its rows another rank
//! needs, straight from and into the buffers (no packing), then waits on
//! all: a neighbourhood exchange like `MPI_Sendrecv` without its deadlock
//! risk. Rows move once; a halo of `w` rows of `row_len` elements costs
//! about `2 · w · row_len · size_of::<T>()` bytes in and out per rank.
//!
//! **Errors** (on every rank, never a hang): [`Error::NotSupported`] for a
//! cyclic or block-cyclic partition (parts are not contiguous ranges, so a
//! rank has no single neighbours: redistribute to block first), for a
//! replicated container (every rank already holds every row) and for a
//! tensor split along an axis other than 0; [`Error::InvalidArgument`] for
//! a periodic width larger than the number of rows (or than an axis' extent
//! in `local_padded`), for a wrong number of widths and for widths so large
//! that the padded array could not be addressed; [`Error::Mismatch`] if the
//! ranks pass different widths or boundary kinds (detected by the
//! agreement step: with collective checks off, such a call may hang).
//!
//! ```
//! use dtl_core::algorithms::halo::{Boundary, HaloSpec};
//! use dtl_core::{Context, DistributedTensor, DistributedVector};
//! let ctx = Context::world()?;
//! let x: Vec<f64> = (0..10).map(f64::from).collect();
//! let v = DistributedVector::from_global(&ctx, &x)?;          // collective
//! let padded = v.local_with_halo_spec(HaloSpec::symmetric(1).periodic())?;
//! assert_eq!(padded.len(), v.local_size() + 2);               // ring: always full
//! let first = v.local_offset();
//! assert_eq!(padded[0], x[(first + 9) % 10]);                 // the row before, wrapped
//!
//! let t = DistributedTensor::<f32>::with_value(&ctx, &[8, 4], 1.0)?;
//! let p = t.local_padded(&[(1, 1), (1, 1)], Boundary::Constant(0.0))?;
//! assert_eq!(p.shape()[1], 6);                                // 4 columns + 2 ghosts
//! # Ok::<(), dtl_core::Error>(())
//! ```

use std::ops::Range;

use mpi::traits::*;
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use crate::containers::{alloc_filled, Distributed1D, DistributedTensor};
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::{Layout, Partition};

/// How many ghost rows to fetch on each side of a rank's rows, and whether
/// the split axis wraps around.
///
/// ```
/// use dtl_core::algorithms::halo::HaloSpec;
/// let s = HaloSpec::new(1, 2).periodic();
/// assert_eq!((s.lower, s.upper, s.periodic), (1, 2, true));
/// assert_eq!(HaloSpec::symmetric(3), HaloSpec::new(3, 3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HaloSpec {
    /// Rows wanted just before the rank's first row (global order).
    pub lower: usize,
    /// Rows wanted just after the rank's last row.
    pub upper: usize,
    /// True: the split axis is a ring (row `rows - 1` precedes row 0), and
    /// each halo has exactly its width, which must be at most the number
    /// of rows. False: rows outside `0..rows` do not exist and halos are
    /// shorter at the global edges.
    pub periodic: bool,
}

impl HaloSpec {
    /// `lower` rows below and `upper` rows above, not periodic.
    pub const fn new(lower: usize, upper: usize) -> HaloSpec {
        HaloSpec { lower, upper, periodic: false }
    }

    /// `width` rows on each side, not periodic.
    pub const fn symmetric(width: usize) -> HaloSpec {
        HaloSpec::new(width, width)
    }

    /// The same widths, periodic.
    pub const fn periodic(self) -> HaloSpec {
        HaloSpec { periodic: true, ..self }
    }

    /// The larger of the two widths.
    pub const fn width(&self) -> usize {
        if self.lower > self.upper {
            self.lower
        } else {
            self.upper
        }
    }
}

/// What fills the ghost cells of [`DistributedTensor::local_padded`] and
/// [`Distributed1D::local_padded`] outside the global array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Boundary<T> {
    /// Every ghost cell outside the global array holds this value (a fixed
    /// Dirichlet boundary; `numpy.pad(mode="constant")`).
    Constant(T),
    /// Every axis wraps around (`numpy.pad(mode="wrap")`): along the split
    /// axis the ghost rows come from the ring exchange
    /// ([`HaloSpec::periodic`]), along the other axes from this rank's own
    /// block. Widths must not exceed the axis extents.
    Periodic,
}

/// Ghost rows received by a halo exchange
/// ([`DistributedTensor::halo_exchange`], [`Distributed1D::halo_exchange`]
/// and their `_spec` forms). New arrays (copies), C-contiguous.
#[derive(Debug, Clone)]
pub struct Halo<T> {
    /// The halo width that was requested (the larger of
    /// [`spec.lower`](HaloSpec::lower) and [`spec.upper`](HaloSpec::upper)).
    pub width: usize,
    /// The widths and edge rule that were requested.
    pub spec: HaloSpec,
    /// The rows just before this rank's first row, in global order:
    /// `spec.lower` rows, fewer at the global top edge unless periodic
    /// (none on the rank holding row 0), none on a rank with no rows.
    /// Shape `(rows, shape[1..])` for a tensor, `(rows,)` for a 1-D
    /// container.
    pub lower: ArrayD<T>,
    /// The rows just after this rank's last row: `spec.upper` rows, fewer
    /// at the global bottom edge unless periodic.
    pub upper: ArrayD<T>,
}

// ------------------------------------------------------------------ the one implementation

/// A contiguous layout of rows: what the exchange needs to know of a
/// container.
pub(crate) struct Rows<'a, T> {
    pub ctx: &'a Context,
    pub part: &'a Layout,
    /// Elements per row (may be 0).
    pub row_len: usize,
    /// This rank's rows, row-major.
    pub local: &'a [T],
}

/// The ghost rows of one rank, flat, with their row counts (a row may have
/// no elements, so the counts do not follow from the lengths).
pub(crate) struct Exchanged<T> {
    pub lower: Vec<T>,
    pub lower_rows: usize,
    pub upper: Vec<T>,
    pub upper_rows: usize,
}

/// One contiguous piece of a halo: global `rows` (ascending) owned by
/// `owner`, landing at row `at` of the lower or upper buffer.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    upper: bool,
    at: usize,
    rows: Range<usize>,
    owner: usize,
}

/// The global row range rank `r` holds (contiguous layouts).
fn held(part: &Layout, r: usize) -> Range<usize> {
    let start = part.local_offset(r);
    start..start + part.local_size(r)
}

/// The pieces of rank `q`'s halos, lower then upper, each in buffer order.
/// A pure function of the layout and the spec: the receiver and every
/// sender compute the same list, which is what orders the messages.
fn pieces(part: &Layout, q: usize, spec: HaloSpec) -> Result<Vec<Piece>> {
    let n = part.global_size();
    let Range { start: s, end: e } = held(part, q);
    if s == e {
        return Ok(Vec::new());
    }
    let (lo, hi) = (spec.lower, spec.upper);
    // Global row ranges, in halo order (the second one empty unless the
    // halo wraps around; periodic widths are <= n, checked).
    let lower = if !spec.periodic {
        [s.saturating_sub(lo)..s, 0..0]
    } else if lo <= s {
        [s - lo..s, 0..0]
    } else {
        [n - (lo - s)..n, 0..s]
    };
    let upper = if !spec.periodic {
        [e..e.saturating_add(hi).min(n), 0..0]
    } else if hi <= n - e {
        [e..e + hi, 0..0]
    } else {
        [e..n, 0..hi - (n - e)]
    };
    let mut out = Vec::new();
    for (is_upper, ranges) in [(false, lower), (true, upper)] {
        let mut at = 0;
        for r in ranges {
            let mut row = r.start;
            while row < r.end {
                let owner = part.owner(row)?;
                let end = held(part, owner).end.min(r.end);
                out.push(Piece { upper: is_upper, at, rows: row..end, owner });
                at += end - row;
                row = end;
            }
        }
    }
    Ok(out)
}

/// Why a layout cannot exchange halos (`None`: it can).
fn layout_refusal(op: &str, part: &Layout) -> Option<Error> {
    let kind = part.kind().name();
    if part.is_replicated() {
        Some(Error::NotSupported(format!(
            "{op}: a PARTITION_REPLICATED container holds every row on every rank, so there is nothing to \
             exchange; pad the local part directly (numpy.pad), or redistribute to PARTITION_BLOCK"
        )))
    } else if !part.is_contiguous() {
        Some(Error::NotSupported(format!(
            "{op} needs a contiguous partition (PARTITION_BLOCK or PARTITION_WEIGHTED), got PARTITION_{kind}, \
             whose parts are not contiguous ranges of rows; redistribute to PARTITION_BLOCK first"
        )))
    } else {
        None
    }
}

/// Why `spec` is invalid for `rows` rows (`None`: it is valid).
fn spec_refusal(op: &str, spec: HaloSpec, rows: usize) -> Option<Error> {
    (spec.periodic && spec.width() > rows).then(|| {
        Error::InvalidArgument(format!(
            "{op}: a periodic halo width must be in 0..={rows} (the number of rows along the split axis), \
             got width (lower {}, upper {})",
            spec.lower, spec.upper
        ))
    })
}

/// Why padding an array of global shape `dims` by `widths` is impossible:
/// the padded global array would not fit in memory addresses (`None`:
/// it would, and so does every rank's padded block).
fn size_refusal(op: &str, dims: &[usize], widths: &[(usize, usize)]) -> Option<Error> {
    let padded = dims.iter().zip(widths).try_fold(1usize, |acc, (&d, &(a, b))| {
        d.checked_add(a).and_then(|x| x.checked_add(b)).and_then(|x| acc.checked_mul(x))
    });
    padded.is_none().then(|| {
        Error::InvalidArgument(format!(
            "{op}: width {widths:?} is too large: the padded shape of {dims:?} has more elements than fit in \
             memory addresses"
        ))
    })
}

/// A width as an agreement field (widths past `i64::MAX` all clip to the
/// row count, so they exchange the same rows).
pub(crate) fn width_field(w: usize) -> i64 {
    i64::try_from(w).unwrap_or(i64::MAX)
}

/// Checks the layout and `spec`, agrees on them across ranks (one
/// `MPI_Allreduce`, with `extra` fields and any `refused` error of the
/// caller), then exchanges the halo rows. Collective.
pub(crate) fn exchange_rows<T: Element>(
    op: &str,
    rows: &Rows<'_, T>,
    spec: HaloSpec,
    refused: Option<Error>,
    extra: &[(&str, i64)],
) -> Result<Exchanged<T>> {
    let (ctx, part) = (rows.ctx, rows.part);
    let n = part.global_size();
    let local_err = refused.or_else(|| layout_refusal(op, part)).or_else(|| spec_refusal(op, spec, n));
    let mut fields = vec![
        ("dtype", T::DTYPE as i64),
        ("global rows", width_field(n)),
        ("row length", width_field(rows.row_len)),
        ("lower width", width_field(spec.lower)),
        ("upper width", width_field(spec.upper)),
        ("periodic", spec.periodic as i64),
    ];
    fields.extend_from_slice(extra);
    ctx.agree_or_reject(op, &fields, local_err)?;
    exchange(rows, spec)
}

/// The exchange itself, on arguments already checked and agreed.
fn exchange<T: Element>(rows: &Rows<'_, T>, spec: HaloSpec) -> Result<Exchanged<T>> {
    const TAG: i32 = 0x4841;
    let Rows { ctx, part, row_len: rl, local } = *rows;
    let me = ctx.rank();
    let mine = pieces(part, me, spec)?;
    let count = |up: bool| mine.iter().filter(|p| p.upper == up).map(|p| p.rows.len()).sum::<usize>();
    let (lower_rows, upper_rows) = (count(false), count(true));
    let mut lower = alloc_filled(ctx, lower_rows * rl, T::ZERO)?;
    let mut upper = alloc_filled(ctx, upper_rows * rl, T::ZERO)?;
    let first = part.local_offset(me);
    let src = |r: &Range<usize>| &local[(r.start - first) * rl..(r.end - first) * rl];
    // My own rows in my halos (periodic with few ranks): a copy.
    for p in mine.iter().filter(|p| p.owner == me) {
        let buf = if p.upper { &mut upper } else { &mut lower };
        buf[p.at * rl..(p.at + p.rows.len()) * rl].copy_from_slice(src(&p.rows));
    }
    // My rows other ranks' halos need, in the order each receiver posts its
    // receives from me (MPI keeps the order of messages between a pair).
    let mut sends: Vec<(usize, Range<usize>)> = Vec::new();
    if part.local_size(me) > 0 {
        for q in (0..ctx.size()).filter(|&q| q != me) {
            sends.extend(pieces(part, q, spec)?.into_iter().filter(|p| p.owner == me).map(|p| (q, p.rows)));
        }
    }
    let comm = ctx.comm();
    mpi::request::scope(|scope| {
        let mut recvs = Vec::new();
        for (buf, up) in [(&mut lower[..], false), (&mut upper[..], true)] {
            let mut rest = buf;
            for p in mine.iter().filter(|p| p.upper == up) {
                let (head, tail) = rest.split_at_mut(p.rows.len() * rl);
                rest = tail;
                if p.owner != me {
                    recvs.push(comm.process_at_rank(p.owner as i32).immediate_receive_into_with_tag(scope, head, TAG));
                }
            }
        }
        let sent: Vec<_> = sends
            .iter()
            .map(|(q, r)| comm.process_at_rank(*q as i32).immediate_send_with_tag(scope, src(r), TAG))
            .collect();
        for r in recvs {
            r.wait();
        }
        for r in sent {
            r.wait();
        }
    });
    Ok(Exchanged { lower, lower_rows, upper, upper_rows })
}

/// `rows` flat rows of `row_shape` as an `ndarray` of shape `(rows, row_shape..)`.
fn rows_array<T: Element>(flat: Vec<T>, rows: usize, row_shape: &[usize]) -> Result<ArrayD<T>> {
    let mut shape = vec![rows];
    shape.extend_from_slice(row_shape);
    ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|e| Error::Internal(format!("halo of shape {shape:?}: {e}")))
}

/// Lower rows, local rows and upper rows, concatenated.
fn concat<T: Element>(ctx: &Context, ex: Exchanged<T>, local: &[T]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let len = ex.lower.len() + local.len() + ex.upper.len();
    out.try_reserve_exact(len).map_err(|e| {
        Error::Memory(format!("cannot allocate {len} elements of {} on rank {}: {e}", T::DTYPE, ctx.rank()))
    })?;
    out.extend_from_slice(&ex.lower);
    out.extend_from_slice(local);
    out.extend_from_slice(&ex.upper);
    Ok(out)
}

/// Agreement fields for the widths of the axes other than the split axis
/// (their count and a checksum: they do not change the communication, but
/// ranks passing different ones are told so).
fn other_widths_fields(widths: &[(usize, usize)], boundary_periodic: bool) -> [(&'static str, i64); 3] {
    let sum = widths.iter().enumerate().fold(0i64, |h, (k, &(a, b))| {
        h.wrapping_mul(1_000_003).wrapping_add((k as i64 + 1).wrapping_mul(width_field(a) ^ (width_field(b) << 20)))
    });
    [
        ("number of width pairs", widths.len() as i64),
        ("widths of the other axes (checksum)", sum),
        ("boundary kind (0 constant, 1 periodic)", boundary_periodic as i64),
    ]
}

// ------------------------------------------------------------------ tensors

impl<T: Element> DistributedTensor<T> {
    fn halo_rows(&self) -> Rows<'_, T> {
        // The shape was checked at construction: the product fits.
        let row_len = self.shape()[1..].iter().product();
        Rows { ctx: self.context(), part: self.partition(), row_len, local: self.local() }
    }

    /// Why this tensor's split axis cannot exchange halos.
    fn axis_refusal(&self, op: &str) -> Option<Error> {
        (self.split_axis() != 0).then(|| {
            Error::NotSupported(format!(
                "{op} needs a tensor split along axis 0 with a contiguous partition (block or weighted); this \
                 one is split along axis {} with PARTITION_{}: redistribute it along axis 0 first",
                self.split_axis(),
                self.partition().kind().name()
            ))
        })
    }

    /// Exchanges ghost rows with the neighbours: each rank receives the
    /// `width` rows just before its first row and just after its last row,
    /// from whichever ranks own them (usually one neighbour each side; more
    /// when neighbours hold fewer than `width` rows). Rows outside the
    /// global range do not exist: at the global edges the halo is shorter.
    /// A rank holding no rows receives empty halos. Shapes
    /// `(k, shape[1..])`, `k <= width`. Non-blocking point-to-point
    /// (`MPI_Isend`/`MPI_Irecv` pairs, then wait on all) after one
    /// `MPI_Allreduce` that checks the arguments. Collective.
    ///
    /// Same as [`halo_exchange_spec(HaloSpec::symmetric(width))`](Self::halo_exchange_spec);
    /// see the [module docs](crate::algorithms::halo).
    ///
    /// # Errors
    /// [`Error::NotSupported`] unless the tensor is split along axis 0 by
    /// a block or weighted partition; [`Error::Mismatch`] if ranks pass
    /// different widths.
    pub fn halo_exchange(&self, width: usize) -> Result<Halo<T>> {
        self.halo_exchange_spec(HaloSpec::symmetric(width))
    }

    /// Exchanges ghost rows as `spec` says: `spec.lower` rows before this
    /// rank's first row, `spec.upper` rows after its last, around the ring
    /// if `spec.periodic` (full widths everywhere), else shorter at the
    /// global edges. Empty on a rank with no rows. Collective
    /// (`MPI_Isend`/`MPI_Irecv` between owners).
    ///
    /// # Errors
    /// As [`halo_exchange`](Self::halo_exchange); [`Error::InvalidArgument`]
    /// for a periodic width larger than `shape[0]`.
    pub fn halo_exchange_spec(&self, spec: HaloSpec) -> Result<Halo<T>> {
        let op = "halo_exchange";
        let ex = exchange_rows(op, &self.halo_rows(), spec, self.axis_refusal(op), &[])?;
        let row_shape = &self.shape()[1..];
        Ok(Halo {
            width: spec.width(),
            spec,
            lower: rows_array(ex.lower, ex.lower_rows, row_shape)?,
            upper: rows_array(ex.upper, ex.upper_rows, row_shape)?,
        })
    }

    /// The local block with its halo rows attached above and below: shape
    /// `(lower rows + local rows + upper rows, shape[1..])`, a new array
    /// (global rows `first - width .. last + width`, clipped to the global
    /// range; empty on a rank with no rows). Collective (it runs
    /// [`halo_exchange`](Self::halo_exchange)).
    ///
    /// # Errors
    /// As [`halo_exchange`](Self::halo_exchange).
    pub fn local_with_halo(&self, width: usize) -> Result<ArrayD<T>> {
        self.local_with_halo_spec(HaloSpec::symmetric(width))
    }

    /// [`local_with_halo`](Self::local_with_halo) for any [`HaloSpec`]:
    /// shape `(lower rows + local rows + upper rows, shape[1..])`; with
    /// `spec.periodic`, always `(spec.lower + local rows + spec.upper, ..)`
    /// on a rank holding rows. Collective.
    ///
    /// # Errors
    /// As [`halo_exchange_spec`](Self::halo_exchange_spec).
    pub fn local_with_halo_spec(&self, spec: HaloSpec) -> Result<ArrayD<T>> {
        let op = "local_with_halo";
        let ex = exchange_rows(op, &self.halo_rows(), spec, self.axis_refusal(op), &[])?;
        let rows = ex.lower_rows + self.local_shape()[0] + ex.upper_rows;
        let flat = concat(self.context(), ex, self.local())?;
        rows_array(flat, rows, &self.shape()[1..])
    }

    /// The local block padded by `widths[k] = (lower, upper)` ghost cells
    /// on each side of every axis `k`, like `numpy.pad` of the global array
    /// restricted to this rank's rows: shape `(local rows + widths[0].0 +
    /// widths[0].1, shape[1] + widths[1].0 + widths[1].1, …)`, a new array
    /// in which the block sits at offset `(widths[0].0, widths[1].0, …)`.
    ///
    /// Along the split axis (0) the ghost rows are the neighbours' rows
    /// (exchanged as by [`halo_exchange_spec`](Self::halo_exchange_spec));
    /// along the other axes, which every rank holds whole, no data moves.
    /// Ghost cells outside the global array follow `boundary`:
    /// [`Boundary::Constant(v)`](Boundary::Constant) holds `v` there
    /// (`numpy.pad(mode="constant", constant_values=v)`), and
    /// [`Boundary::Periodic`] wraps every axis around
    /// (`numpy.pad(mode="wrap")`; the ring exchange along axis 0). A rank
    /// holding no rows gets a block with no rows (shape `(0, …)`).
    /// Collective (one `MPI_Allreduce`, then `MPI_Isend`/`MPI_Irecv` between
    /// owners).
    ///
    /// # Errors
    /// As [`halo_exchange_spec`](Self::halo_exchange_spec);
    /// [`Error::InvalidArgument`] unless there is one width pair per axis,
    /// or, with [`Boundary::Periodic`], if a width exceeds its axis'
    /// extent; [`Error::Memory`] if the padded block cannot be allocated.
    pub fn local_padded(&self, widths: &[(usize, usize)], boundary: Boundary<T>) -> Result<ArrayD<T>> {
        let op = "local_padded";
        let shape = self.shape();
        let periodic = matches!(boundary, Boundary::Periodic);
        let width_err = if widths.len() != shape.len() {
            Some(Error::InvalidArgument(format!(
                "{op}: width must hold one (lower, upper) pair per axis ({} for shape {shape:?}), got {}",
                shape.len(),
                widths.len()
            )))
        } else if periodic {
            (1..shape.len()).find(|&k| widths[k].0.max(widths[k].1) > shape[k]).map(|k| {
                Error::InvalidArgument(format!(
                    "{op}: with a periodic boundary the width of axis {k} must be in 0..={} (its extent), got {:?}",
                    shape[k], widths[k]
                ))
            })
        } else {
            size_refusal(op, shape, widths)
        };
        let (lo0, hi0) = widths.first().copied().unwrap_or((0, 0));
        let spec = HaloSpec { lower: lo0, upper: hi0, periodic };
        let extra = other_widths_fields(widths.get(1..).unwrap_or(&[]), periodic);
        let refused = self.axis_refusal(op).or(width_err);
        let ex = exchange_rows(op, &self.halo_rows(), spec, refused, &extra)?;

        let nloc = self.local_shape()[0];
        // Sizes checked by `size_refusal`: the padded global array fits, so does this.
        let mut pshape: Vec<usize> = shape.iter().zip(widths).map(|(&d, &(a, b))| d + a + b).collect();
        pshape[0] = if nloc == 0 { 0 } else { nloc + lo0 + hi0 };
        let len = pshape.iter().product();
        let fill = match boundary {
            Boundary::Constant(v) => v,
            Boundary::Periodic => T::ZERO,
        };
        let mut out = ArrayD::from_shape_vec(IxDyn(&pshape), alloc_filled(self.context(), len, fill)?)
            .map_err(|e| Error::Internal(format!("padded block: {e}")))?;
        if nloc == 0 {
            return Ok(out);
        }
        let row_shape = &shape[1..];
        // Exchanged lower rows end at row lo0 (fewer than lo0 at the top edge).
        let mut row = lo0 - ex.lower_rows;
        let lower = rows_array(ex.lower, ex.lower_rows, row_shape)?;
        let upper = rows_array(ex.upper, ex.upper_rows, row_shape)?;
        for block in [lower.view(), self.local_view(), upper.view()] {
            let k = block.shape()[0];
            place(&mut out, block, row, widths);
            row += k;
        }
        if periodic {
            for (k, &(a, b)) in widths.iter().enumerate().skip(1) {
                wrap_axis(&mut out, k, shape[k], a, b);
            }
        }
        Ok(out)
    }
}

/// Copies `block` (rows of the global array, whole along the other axes)
/// into `out` at row `row` of axis 0 and offset `widths[k].0` of axis `k`.
fn place<T: Element>(out: &mut ArrayD<T>, block: ArrayViewD<'_, T>, row: usize, widths: &[(usize, usize)]) {
    let shape = block.shape().to_vec();
    out.slice_each_axis_mut(|ax| {
        let k = ax.axis.index();
        let start = if k == 0 { row } else { widths[k].0 };
        Slice::from(start..start + shape[k])
    })
    .assign(&block);
}

/// Fills the ghost cells of axis `k` (extent `ext` between `lo` ghosts
/// below and `hi` above, each at most `ext`) by wrapping around.
fn wrap_axis<T: Element>(out: &mut ArrayD<T>, k: usize, ext: usize, lo: usize, hi: usize) {
    let ax = Axis(k);
    let below = out.slice_axis(ax, Slice::from(ext..ext + lo)).to_owned();
    out.slice_axis_mut(ax, Slice::from(0..lo)).assign(&below);
    let above = out.slice_axis(ax, Slice::from(lo..lo + hi)).to_owned();
    out.slice_axis_mut(ax, Slice::from(lo + ext..lo + ext + hi)).assign(&above);
}

// ------------------------------------------------------------------ 1-D containers

impl<T: Element> Distributed1D<T> {
    fn halo_rows(&self) -> Rows<'_, T> {
        Rows { ctx: &self.ctx, part: &self.part, row_len: 1, local: &self.data }
    }

    /// Exchanges ghost elements with the neighbours: each rank receives the
    /// `width` elements just before its first element and just after its
    /// last (fewer at the global edges, none on a rank with no elements),
    /// from whichever ranks own them. Shapes `(k,)`, `k <= width`.
    /// `MPI_Isend`/`MPI_Irecv` between owners after one `MPI_Allreduce`
    /// that checks the arguments. Collective.
    ///
    /// Same as [`halo_exchange_spec(HaloSpec::symmetric(width))`](Self::halo_exchange_spec);
    /// see the [module docs](crate::algorithms::halo).
    ///
    /// ```
    /// use dtl_core::{Context, DistributedVector};
    /// let ctx = Context::world()?;
    /// let v = DistributedVector::from_global(&ctx, &[0, 1, 2, 3, 4, 5, 6, 7])?;
    /// let h = v.halo_exchange(2)?;                       // collective
    /// let first = v.local_offset();
    /// let below: Vec<i32> = (first.saturating_sub(2)..first).map(|i| i as i32).collect();
    /// if v.local_size() > 0 {
    ///     assert_eq!(h.lower.as_slice().unwrap(), &below[..]);
    /// }
    /// # Ok::<(), dtl_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotSupported`] for a cyclic, block-cyclic (redistribute to
    /// block first) or replicated container; [`Error::Mismatch`] if ranks
    /// pass different widths.
    pub fn halo_exchange(&self, width: usize) -> Result<Halo<T>> {
        self.halo_exchange_spec(HaloSpec::symmetric(width))
    }

    /// Exchanges ghost elements as `spec` says: `spec.lower` elements before
    /// this rank's first, `spec.upper` after its last, around the ring if
    /// `spec.periodic` (full widths everywhere), else shorter at the global
    /// edges. Empty on a rank with no elements. Collective.
    ///
    /// # Errors
    /// As [`halo_exchange`](Self::halo_exchange); [`Error::InvalidArgument`]
    /// for a periodic width larger than `global_size`.
    pub fn halo_exchange_spec(&self, spec: HaloSpec) -> Result<Halo<T>> {
        let ex = exchange_rows("halo_exchange", &self.halo_rows(), spec, None, &[])?;
        Ok(Halo {
            width: spec.width(),
            spec,
            lower: rows_array(ex.lower, ex.lower_rows, &[])?,
            upper: rows_array(ex.upper, ex.upper_rows, &[])?,
        })
    }

    /// This rank's elements with `width` ghost elements on each side: a new
    /// vector of global elements `first - width .. last + width + 1`,
    /// clipped to `0..global_size` (empty on a rank with no elements).
    /// Collective.
    ///
    /// # Errors
    /// As [`halo_exchange`](Self::halo_exchange).
    pub fn local_with_halo(&self, width: usize) -> Result<Vec<T>> {
        self.local_with_halo_spec(HaloSpec::symmetric(width))
    }

    /// [`local_with_halo`](Self::local_with_halo) for any [`HaloSpec`]
    /// (with `spec.periodic`, always `spec.lower + local_size + spec.upper`
    /// elements on a rank holding some). Collective.
    ///
    /// # Errors
    /// As [`halo_exchange_spec`](Self::halo_exchange_spec).
    pub fn local_with_halo_spec(&self, spec: HaloSpec) -> Result<Vec<T>> {
        let ex = exchange_rows("local_with_halo", &self.halo_rows(), spec, None, &[])?;
        concat(&self.ctx, ex, &self.data)
    }

    /// This rank's elements padded by `lower` and `upper` ghost elements to
    /// full width, like `numpy.pad(global, (lower, upper), mode)` restricted
    /// to this rank's range: `lower + local_size + upper` elements, the
    /// local ones at offset `lower` (empty on a rank with no elements).
    /// Ghosts outside the global array hold the constant of
    /// [`Boundary::Constant`], or wrap around with [`Boundary::Periodic`].
    /// Collective.
    ///
    /// # Errors
    /// As [`halo_exchange_spec`](Self::halo_exchange_spec) (a periodic
    /// width must be at most `global_size`); [`Error::Memory`] if the
    /// result cannot be allocated.
    pub fn local_padded(&self, (lower, upper): (usize, usize), boundary: Boundary<T>) -> Result<Vec<T>> {
        let periodic = matches!(boundary, Boundary::Periodic);
        let spec = HaloSpec { lower, upper, periodic };
        let extra = other_widths_fields(&[], periodic);
        let refused = size_refusal("local_padded", &[self.global_size()], &[(lower, upper)]);
        let ex = exchange_rows("local_padded", &self.halo_rows(), spec, refused, &extra)?;
        if self.data.is_empty() {
            return Ok(Vec::new());
        }
        let fill = match boundary {
            Boundary::Constant(v) => v,
            Boundary::Periodic => T::ZERO,
        };
        // Checked by `size_refusal`: no overflow.
        let mut out = alloc_filled(&self.ctx, lower + self.data.len() + upper, fill)?;
        let at = lower - ex.lower_rows;
        let core = &mut out[at..at + ex.lower.len() + self.data.len() + ex.upper.len()];
        let (a, rest) = core.split_at_mut(ex.lower.len());
        let (b, c) = rest.split_at_mut(self.data.len());
        a.copy_from_slice(&ex.lower);
        b.copy_from_slice(&self.data);
        c.copy_from_slice(&ex.upper);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::{PartitionSpec, Weights};

    fn layout(spec: PartitionSpec, n: usize, size: usize) -> Layout {
        spec.layout(n, size).unwrap()
    }

    /// Brute force: the global rows of rank `q`'s halos, in order.
    fn model(counts: &[usize], q: usize, spec: HaloSpec) -> (Vec<usize>, Vec<usize>) {
        let n: usize = counts.iter().sum();
        let s: usize = counts[..q].iter().sum();
        let e = s + counts[q];
        if s == e {
            return (vec![], vec![]);
        }
        let (lo, hi) = (spec.lower as i64, spec.upper as i64);
        let wrap = |g: i64| -> Option<usize> {
            if spec.periodic {
                Some(g.rem_euclid(n as i64) as usize)
            } else {
                (0..n as i64).contains(&g).then_some(g as usize)
            }
        };
        let lower = (s as i64 - lo..s as i64).filter_map(wrap).collect();
        let upper = (e as i64..e as i64 + hi).filter_map(wrap).collect();
        (lower, upper)
    }

    #[test]
    fn pieces_cover_the_model() {
        for size in 1..=5 {
            for n in [0usize, 1, 2, 3, 5, 8, 13] {
                let mut counts = vec![0; size];
                counts[size - 1] += n / 3;
                counts[0] += n - n / 3;
                for part in [
                    layout(PartitionSpec::Block, n, size),
                    layout(PartitionSpec::Weighted(Weights::Counts(counts.clone())), n, size),
                ] {
                    let cs: Vec<usize> = (0..size).map(|r| part.local_size(r)).collect();
                    for (lo, hi) in [(0, 0), (1, 1), (2, 1), (0, 3), (n, n), (n + 2, 1)] {
                        for periodic in [false, true] {
                            let spec = HaloSpec { lower: lo, upper: hi, periodic };
                            if periodic && spec.width() > n {
                                continue;
                            }
                            for q in 0..size {
                                let ps = pieces(&part, q, spec).unwrap();
                                let flat = |up: bool| -> Vec<usize> {
                                    let mut v = Vec::new();
                                    for p in ps.iter().filter(|p| p.upper == up) {
                                        assert_eq!(p.at, v.len(), "pieces are in buffer order");
                                        assert!(part.local_size(p.owner) > 0);
                                        for g in p.rows.clone() {
                                            assert_eq!(part.owner(g).unwrap(), p.owner);
                                            v.push(g);
                                        }
                                    }
                                    v
                                };
                                let want = model(&cs, q, spec);
                                assert_eq!((flat(false), flat(true)), want, "size {size} n {n} q {q} {spec:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn spec_constructors() {
        assert_eq!(HaloSpec::symmetric(2), HaloSpec { lower: 2, upper: 2, periodic: false });
        assert_eq!(HaloSpec::new(1, 3).periodic().width(), 3);
        assert_eq!(HaloSpec::default().width(), 0);
    }
}
