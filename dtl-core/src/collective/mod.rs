//! Collectives on slices and scalars, as methods of [`Context`].
//!
//! Every function here is **collective**: every rank of the context calls it,
//! in the same order, with agreeing arguments. Unless the context's
//! [collective checks](Context::set_collective_checks) are off, each call
//! first runs one small agreement step (`MPI_Allreduce` of a few integers)
//! over the dtype, the element counts that must match and the root; a
//! disagreement returns the same [`Error::Mismatch`] on every rank instead of
//! hanging or truncating. Arguments only the root provides (the data of
//! `scatter`) are validated on the root and the verdict is broadcast with
//! the sizes, so every rank returns the same error.
//!
//! Counts are in elements. A single message is limited to `i32::MAX`
//! elements in this release.
//!
//! ```
//! use dtl_core::{Context, ReduceOp};
//! let ctx = Context::world()?;
//! let total = ctx.allreduce_scalar(ctx.rank() as f64, ReduceOp::Sum)?;   // MPI_Allreduce
//! let n = ctx.size() as f64;
//! assert_eq!(total, n * (n - 1.0) / 2.0);
//! let everyone = ctx.allgather(&[ctx.rank() as i32])?;                  // MPI_Allgather
//! assert_eq!(everyone, (0..ctx.size() as i32).collect::<Vec<_>>());
//! # Ok::<(), dtl_core::Error>(())
//! ```

mod op;
pub mod shm;

pub use op::ReduceOp;

use mpi::datatype::{Partition as MpiPartition, PartitionMut};
use mpi::traits::*;

use crate::context::Context;
use crate::element::{DType, Element};
use crate::error::{Error, Result};

fn count_i32(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| {
        Error::InvalidArgument(format!(
            "{what} has {n} elements; a single message is limited to {} elements in this release",
            i32::MAX
        ))
    })
}

fn counts_i32(counts: &[usize], what: &str) -> Result<Vec<i32>> {
    counts.iter().map(|&c| count_i32(c, what)).collect()
}

fn displs(counts: &[i32]) -> Result<Vec<i32>> {
    let mut d = Vec::with_capacity(counts.len());
    let mut acc: i64 = 0;
    for &c in counts {
        d.push(i32::try_from(acc).map_err(|_| {
            Error::InvalidArgument(format!("total message size {acc} exceeds {} elements in this release", i32::MAX))
        })?);
        acc += c as i64;
    }
    Ok(d)
}

/// A zero-filled buffer of `n` elements whose pointer is a real allocation
/// even when `n == 0`. An empty `Vec<u8>` points at address 1, which Open MPI
/// reads as `MPI_IN_PLACE` ((void *)1) and rejects (MPI_ERR_ARG).
/// Huge pages are requested for large buffers ([`crate::memory`]).
fn buffer<T: Element>(n: usize) -> Vec<T> {
    let mut v = crate::memory::zeroed(n.max(1));
    v.truncate(n);
    v
}

/// `s`, or an empty slice of `scratch` when `s` is empty (see [`buffer`]).
fn nz<'a, T>(s: &'a [T], scratch: &'a [T; 1]) -> &'a [T] {
    if s.is_empty() {
        &scratch[..0]
    } else {
        s
    }
}

/// Mutable counterpart of [`nz`].
fn nz_mut<'a, T>(s: &'a mut [T], scratch: &'a mut [T; 1]) -> &'a mut [T] {
    if s.is_empty() {
        &mut scratch[..0]
    } else {
        s
    }
}

/// Most ranks for which an agreement step is one `MPI_Allgather` of a
/// 19-word (`i64`) record per rank (`size × 152` bytes), which
/// [`Context::allreduce_into`] also uses to carry a small message's data;
/// above it the agreement is one fixed-size `MPI_Allreduce(MAX)` and the
/// data a second collective. Every agreement step (plain or fused) uses
/// the same MPI call with the same count, so ranks that disagree on which
/// operation they are in still meet in it and fail together instead of
/// hanging.
pub const FUSED_MAX_RANKS: usize = 64;

/// Words (`i64`) in one rank's agreement record: the status, then the
/// fields (and, for a fused allreduce, its payload).
const RECORD_WORDS: usize = 1 + FUSED_FIELDS + FUSED_PAYLOAD / 8;

/// Fields of the agreement record of [`Context::allreduce_into`].
const FUSED_FIELDS: usize = 10;

/// Bytes of data that travel inside the agreement record of
/// [`Context::allreduce_into`] (8 `f64`, 16 `f32`, …).
pub const FUSED_PAYLOAD: usize = 64;

/// Agreement fields for a logical `shape` (`None`: 1-D of `len`): the
/// number of dimensions, the first four one by one, the rest hashed.
fn shape_fields(shape: Option<&[usize]>, len: usize) -> [(&'static str, i64); 6] {
    let one_d = [len];
    let shape = shape.unwrap_or(&one_d);
    let dim = |k: usize| shape.get(k).map_or(-1, |&d| d as i64);
    let rest =
        shape.iter().skip(4).fold(0xcbf2_9ce4_8422_2325u64, |h, &d| (h ^ d as u64).wrapping_mul(0x100_0000_01b3));
    [
        ("ndim", shape.len() as i64),
        ("shape[0]", dim(0)),
        ("shape[1]", dim(1)),
        ("shape[2]", dim(2)),
        ("shape[3]", dim(3)),
        ("shape[4:]", rest as i64),
    ]
}

/// The error every other rank returns when one rank rejected its
/// arguments with status `st`.
fn rejected_elsewhere(op_name: &str, st: i32) -> Error {
    Error::from_status(
        st,
        format!(
            "{op_name}: another rank rejected its arguments ({}); see the error on that rank",
            crate::error::status_name(st)
        ),
    )
}

/// The error of an agreement step whose field `name` ranged over
/// `min..=max`.
fn mismatch(op_name: &str, name: &str, min: i64, max: i64) -> Error {
    let (lo, hi) = if name == "dtype" {
        let n = |c: i64| DType::from_code(c as i32).map_or(c.to_string(), |d| d.name().to_string());
        (n(min), n(max))
    } else {
        (min.to_string(), max.to_string())
    };
    Error::Mismatch(format!(
        "{op_name}: {name} differs across ranks (min {lo}, max {hi}); every rank must pass the same {name}"
    ))
}

/// MPI copies a lone contribution unchanged (one rank, or rank 1 of an
/// exscan), so a logical op can leave a value like 2 where 1 is meant. dtl
/// always returns 0 or 1 for LAND/LOR/LXOR.
fn normalize_logical<T: Element>(op: ReduceOp, out: &mut [T]) {
    if matches!(op, ReduceOp::LAnd | ReduceOp::LOr | ReduceOp::LXor) {
        for x in out {
            *x = if x.truthy() { T::ONE } else { T::ZERO };
        }
    }
}

impl Context {
    /// Checks that every rank passed the same value for each named field
    /// (at most 16). One collective of a fixed size, so ranks with
    /// different numbers of fields, or in different dtl operations, still
    /// match: an `MPI_Allgather` of a 152-byte record per rank up to
    /// [`FUSED_MAX_RANKS`] ranks, an `MPI_Allreduce(MAX)` of 272 bytes
    /// above. Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] on every rank, naming the first field that differs
    /// and its range across ranks.
    pub fn agree(&self, op_name: &str, fields: &[(&str, i64)]) -> Result<()> {
        self.agree_or_reject(op_name, fields, None)
    }

    /// Like [`Context::agree`], for a call that may already have failed on
    /// this rank (`local = Some(err)`, e.g. an invalid argument only this
    /// rank sees). The failing rank still takes part in the agreement, so the
    /// other ranks do not hang: it returns `err`, and every other rank gets
    /// an error of the same kind saying which op was rejected elsewhere.
    /// Collective.
    pub fn agree_or_reject(&self, op_name: &str, fields: &[(&str, i64)], local: Option<Error>) -> Result<()> {
        const SLOTS: usize = 16;
        if !self.collective_checks() || self.size() == 1 {
            return local.map_or(Ok(()), Err);
        }
        debug_assert!(fields.len() <= SLOTS, "agreement over more than {SLOTS} fields");
        let fields = &fields[..fields.len().min(SLOTS)];
        if self.size() <= FUSED_MAX_RANKS {
            let mut rec = [0i64; RECORD_WORDS];
            for (k, &(_, v)) in fields.iter().enumerate() {
                rec[1 + k] = v;
            }
            self.gather_records(op_name, fields, local, &rec)?;
            return Ok(());
        }
        let mut send = [0i64; 2 * (SLOTS + 1)];
        send[0] = local.as_ref().map_or(0, |e| e.status() as i64);
        send[1] = i64::MIN + 1; // -(status): unused, keeps the layout uniform
        for (k, &(_, v)) in fields.iter().enumerate() {
            send[2 * (k + 1)] = v;
            send[2 * (k + 1) + 1] = v.wrapping_neg();
        }
        let mut recv = [0i64; 2 * (SLOTS + 1)];
        self.comm().all_reduce_into(&send[..], &mut recv[..], mpi::collective::SystemOperation::max());
        if let Some(e) = local {
            return Err(e);
        }
        if recv[0] > 0 {
            return Err(rejected_elsewhere(op_name, recv[0] as i32));
        }
        for (k, &(name, _)) in fields.iter().enumerate() {
            let max = recv[2 * (k + 1)];
            let min = recv[2 * (k + 1) + 1].wrapping_neg();
            if max != min {
                return Err(mismatch(op_name, name, min, max));
            }
        }
        Ok(())
    }

    /// The record form of an agreement step (at most [`FUSED_MAX_RANKS`]
    /// ranks): `rec` holds this rank's fields from word 1 (and any payload
    /// after them); word 0 is set here to `local`'s status. One
    /// `MPI_Allgather` of [`RECORD_WORDS`] `i64` per rank. Returns every
    /// rank's record, concatenated in rank order, once no rank failed and
    /// every field agrees; errors as [`Context::agree_or_reject`].
    fn gather_records(
        &self,
        op_name: &str,
        fields: &[(&str, i64)],
        local: Option<Error>,
        rec: &[i64; RECORD_WORDS],
    ) -> Result<Vec<i64>> {
        debug_assert!(fields.len() < RECORD_WORDS);
        let mut rec = *rec;
        rec[0] = local.as_ref().map_or(0, |e| e.status() as i64);
        let mut all = vec![0i64; RECORD_WORDS * self.size()];
        self.comm().all_gather_into(&rec[..], &mut all[..]);
        if let Some(e) = local {
            return Err(e);
        }
        if let Some(st) = all.iter().step_by(RECORD_WORDS).copied().find(|&st| st > 0) {
            return Err(rejected_elsewhere(op_name, st as i32));
        }
        for (k, &(name, _)) in fields.iter().enumerate() {
            let col = all.iter().skip(1 + k).step_by(RECORD_WORDS).copied();
            let (lo, hi) = col.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            if lo != hi {
                return Err(mismatch(op_name, name, lo, hi));
            }
        }
        Ok(all)
    }

    /// Agreement on root and dtype, then the root's range check. Collective.
    fn agree_root<T: Element>(&self, op_name: &str, root: usize, extra: &[(&str, i64)]) -> Result<()> {
        let mut fields = vec![("root", root as i64), ("dtype", T::DTYPE as i64)];
        fields.extend_from_slice(extra);
        self.agree(op_name, &fields)?;
        self.check_rank(root, "root")
    }

    /// Broadcasts from the root a verdict and some sizes that only the root
    /// knows (`MPI_Bcast` of `1 + sizes.len()` integers). On the root, `err`
    /// is its local validation result. Returns the sizes, or the root's
    /// error on every rank. Collective.
    fn root_verdict(&self, root: usize, err: Option<Error>, sizes: &mut [u64]) -> Result<()> {
        let mut hdr = vec![0u64; 1 + sizes.len()];
        if self.rank() == root {
            if let Some(e) = &err {
                hdr[0] = e.status() as u64;
            }
            hdr[1..].copy_from_slice(sizes);
        }
        self.comm().process_at_rank(root as i32).broadcast_into(&mut hdr[..]);
        if hdr[0] != 0 {
            return Err(match err {
                Some(e) => e,
                None => Error::from_status(hdr[0] as i32, format!("rejected on root rank {root}; see the error there")),
            });
        }
        sizes.copy_from_slice(&hdr[1..]);
        Ok(())
    }

    /// Sends `buf` from `root` to every rank, in place (`MPI_Bcast`). Every
    /// rank passes a buffer of the same length. Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if lengths, dtypes or roots differ;
    /// [`Error::InvalidArgument`] if `root >= size`.
    pub fn broadcast<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()> {
        let mut scratch = [T::default()];
        let buf = nz_mut(buf, &mut scratch);
        self.agree_root::<T>("broadcast", root, &[("length", buf.len() as i64)])?;
        if self.shm_broadcast(buf, root)? {
            return Ok(());
        }
        count_i32(buf.len(), "broadcast buffer")?;
        self.comm().process_at_rank(root as i32).broadcast_into(buf);
        Ok(())
    }

    /// [`Context::broadcast`] without the agreement step, for callers that
    /// have already agreed on the root, the dtype and the length (for
    /// instance by broadcasting a header first). Uses the
    /// [shared-memory path](shm) for large buffers on one node, else
    /// `MPI_Bcast`. Collective. A mismatch between ranks is what it is in
    /// plain MPI: a hang or a truncated message.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `root >= size` (on every rank: the
    /// range check is local and the same everywhere).
    pub fn broadcast_unchecked<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()> {
        self.check_rank(root, "root")?;
        let mut scratch = [T::default()];
        let buf = nz_mut(buf, &mut scratch);
        if self.shm_broadcast(buf, root)? {
            return Ok(());
        }
        count_i32(buf.len(), "broadcast buffer")?;
        self.comm().process_at_rank(root as i32).broadcast_into(buf);
        Ok(())
    }

    /// Sends the root's `data` to every rank and returns it; non-root ranks'
    /// `data` is ignored, so they need not know the length
    /// (`MPI_Bcast` of the length, then of the data). Collective.
    pub fn broadcast_vec<T: Element>(&self, data: &[T], root: usize) -> Result<Vec<T>> {
        self.agree_root::<T>("broadcast", root, &[])?;
        let mut n = [data.len() as u64];
        let err = count_i32(data.len(), "broadcast data").err();
        self.root_verdict(root, err, &mut n)?;
        let mut out = buffer::<T>(n[0] as usize);
        if self.rank() == root {
            out.copy_from_slice(data);
        }
        if !self.shm_broadcast(&mut out[..], root)? {
            self.comm().process_at_rank(root as i32).broadcast_into(&mut out[..]);
        }
        Ok(out)
    }

    /// Element-wise reduction of every rank's `send` onto `root`
    /// (`MPI_Reduce`); `Some(result)` on the root, `None` elsewhere.
    /// Collective.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if lengths, dtypes, ops or roots differ;
    /// [`Error::InvalidArgument`] for a bitwise/logical op on floats.
    pub fn reduce<T: Element>(&self, send: &[T], op: ReduceOp, root: usize) -> Result<Option<Vec<T>>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree_root::<T>("reduce", root, &[("length", send.len() as i64), ("op", op as i64)])?;
        op.check_for::<T>()?;
        count_i32(send.len(), "reduce buffer")?;
        let proc = self.comm().process_at_rank(root as i32);
        if self.rank() == root {
            let mut out = buffer::<T>(send.len());
            proc.reduce_into_root(send, &mut out[..], op.mpi_for::<T>());
            normalize_logical(op, &mut out);
            Ok(Some(out))
        } else {
            proc.reduce_into(send, op.mpi_for::<T>());
            Ok(None)
        }
    }

    /// Element-wise reduction of every rank's `send`, result on every rank
    /// in `recv`. `send` and `recv` have equal lengths. Collective.
    ///
    /// Underneath, by message size (the same choice on every rank):
    /// * with collective checks on and at most [`FUSED_MAX_RANKS`] ranks,
    ///   the agreement step is one `MPI_Allgather` of a small fixed-size
    ///   record per rank that also carries the data when it fits in
    ///   [`FUSED_PAYLOAD`] bytes: each rank then folds the ranks'
    ///   contributions itself, in rank order, so a small allreduce costs one
    ///   MPI collective, not two;
    /// * from the shared-memory threshold up, when every rank is on one
    ///   node, the [shared-memory path](shm);
    /// * otherwise `MPI_Allreduce`.
    ///
    /// # Errors
    /// As [`Context::reduce`]; [`Error::InvalidArgument`] if
    /// `recv.len() != send.len()`.
    pub fn allreduce_into<T: Element>(&self, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()> {
        self.allreduce_into_or_reject(send, recv, op, None, None)
    }

    /// [`Context::allreduce_into`] for a call that may already have failed
    /// on this rank (`local = Some(err)`, e.g. a bad output buffer only
    /// this rank sees): the rank still takes part in the agreement step, so
    /// every rank returns an error instead of hanging (this rank `err`, the
    /// others an error of the same kind naming the rejection). With the
    /// checks off, `local` is returned at once. `shape` is the logical
    /// shape of the data (its product is `send.len()`; `None`: 1-D): the
    /// agreement step also checks it, up to 4 dimensions one by one and the
    /// rest together. Collective.
    pub fn allreduce_into_or_reject<T: Element>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: ReduceOp,
        shape: Option<&[usize]>,
        local: Option<Error>,
    ) -> Result<()> {
        let (s1, mut s2) = ([T::default()], [T::default()]);
        let send = nz(send, &s1);
        let recv = nz_mut(recv, &mut s2);
        // Checked inside the agreement, so that a bad recv on one rank gives
        // every rank the same error instead of desynchronising the calls.
        let bad_recv = send.len() != recv.len();
        let sf = shape_fields(shape, send.len());
        let fields = [
            ("dtype", T::DTYPE as i64),
            ("length", send.len() as i64),
            ("op", op as i64),
            ("recv length validity", i64::from(bad_recv)),
            sf[0],
            sf[1],
            sf[2],
            sf[3],
            sf[4],
            sf[5],
        ];
        let fused = self.collective_checks() && self.size() > 1 && self.size() <= FUSED_MAX_RANKS;
        let done = if fused {
            self.fused_agree("allreduce", &fields, local, send, recv, op)?
        } else {
            self.agree_or_reject("allreduce", &fields, local)?;
            false
        };
        if bad_recv {
            return Err(Error::InvalidArgument(format!(
                "recv has {} elements but send has {}; they must be equal",
                recv.len(),
                send.len()
            )));
        }
        op.check_for::<T>()?;
        if done {
            normalize_logical(op, recv);
            return Ok(());
        }
        if self.shm_allreduce(send, recv, op)? {
            normalize_logical(op, recv);
            return Ok(());
        }
        count_i32(send.len(), "allreduce buffer")?;
        self.comm().all_reduce_into(send, recv, op.mpi_for::<T>());
        normalize_logical(op, recv);
        Ok(())
    }

    /// The agreement step of [`Context::allreduce_into`] fused with the
    /// data of a small message: one `MPI_Allgather` of a fixed-size record
    /// per rank (status, the agreed fields, and [`FUSED_PAYLOAD`] bytes of
    /// data). Errors as [`Context::agree_or_reject`]. Returns whether the
    /// result is already in `recv` (the data fitted, every field agreed,
    /// `op` is valid for `T`); `false` means the caller moves the data.
    fn fused_agree<T: Element>(
        &self,
        op_name: &str,
        fields: &[(&str, i64); FUSED_FIELDS],
        local: Option<Error>,
        send: &[T],
        recv: &mut [T],
        op: ReduceOp,
    ) -> Result<bool> {
        const HDR: usize = 1 + FUSED_FIELDS;
        let mut rec = [0i64; RECORD_WORDS];
        for (k, &(_, v)) in fields.iter().enumerate() {
            rec[1 + k] = v;
        }
        let bytes = std::mem::size_of_val(send);
        let fits = bytes <= FUSED_PAYLOAD && local.is_none() && send.len() == recv.len();
        if fits {
            // SAFETY: `bytes` <= FUSED_PAYLOAD bytes fit in rec[HDR..]; T is
            // plain data.
            unsafe {
                std::ptr::copy_nonoverlapping(send.as_ptr().cast::<u8>(), rec[HDR..].as_mut_ptr().cast::<u8>(), bytes)
            };
        }
        let size = self.size();
        let all = self.gather_records(op_name, fields, local, &rec)?;
        let recs: Vec<&[i64]> = all.chunks_exact(RECORD_WORDS).collect();
        if !fits || op.check_for::<T>().is_err() {
            return Ok(false);
        }
        let n = send.len();
        let data = |q: usize| -> &[T] {
            // SAFETY: every rank's record holds `n` elements of T (the
            // lengths and dtypes agreed), stored from byte 0 of its payload,
            // which is 8-byte aligned.
            unsafe { std::slice::from_raw_parts(recs[q][HDR..].as_ptr().cast::<T>(), n) }
        };
        shm::combine(op, data(0), data(1), recv);
        for q in 2..size {
            shm::combine_into(op, recv, data(q));
        }
        Ok(true)
    }

    /// Like [`Context::allreduce_into`], returning a new vector. Collective.
    pub fn allreduce<T: Element>(&self, send: &[T], op: ReduceOp) -> Result<Vec<T>> {
        let mut out = buffer::<T>(send.len());
        self.allreduce_into(send, &mut out, op)?;
        Ok(out)
    }

    /// Reduces one value per rank, result on every rank (`MPI_Allreduce`,
    /// count 1). Collective.
    pub fn allreduce_scalar<T: Element>(&self, x: T, op: ReduceOp) -> Result<T> {
        let mut out = [T::default()];
        self.allreduce_into(&[x], &mut out, op)?;
        Ok(out[0])
    }

    /// Concatenates every rank's `send` (all the same length) in rank order
    /// on `root` (`MPI_Gather`): `Some(v)` with `size * send.len()` elements
    /// on the root, `None` elsewhere. Collective.
    pub fn gather<T: Element>(&self, send: &[T], root: usize) -> Result<Option<Vec<T>>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree_root::<T>("gather", root, &[("length", send.len() as i64)])?;
        count_i32(send.len() * self.size(), "gather result")?;
        let proc = self.comm().process_at_rank(root as i32);
        if self.rank() == root {
            let mut out = buffer::<T>(send.len() * self.size());
            proc.gather_into_root(send, &mut out[..]);
            Ok(Some(out))
        } else {
            proc.gather_into(send);
            Ok(None)
        }
    }

    /// Concatenates every rank's `send` (lengths may differ) in rank order
    /// on `root` (`MPI_Gather` of the counts, then `MPI_Gatherv`). On the
    /// root returns `Some((data, counts))`. Collective.
    pub fn gatherv<T: Element>(&self, send: &[T], root: usize) -> Result<Option<(Vec<T>, Vec<usize>)>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        // The counts travel as u64, so the element dtype is agreed here.
        self.agree_root::<T>("gatherv", root, &[])?;
        let counts = self.gather(&[send.len() as u64], root)?;
        count_i32(send.len(), "gatherv send buffer")?;
        let proc = self.comm().process_at_rank(root as i32);
        match counts {
            Some(c) => {
                let c: Vec<usize> = c.into_iter().map(|x| x as usize).collect();
                let ci = counts_i32(&c, "gatherv count")?;
                let d = displs(&ci)?;
                let mut out = buffer::<T>(c.iter().sum());
                {
                    let mut part = PartitionMut::new(&mut out[..], &ci[..], &d[..]);
                    proc.gather_varcount_into_root(send, &mut part);
                }
                Ok(Some((out, c)))
            }
            None => {
                proc.gather_varcount_into(send);
                Ok(None)
            }
        }
    }

    /// Splits the root's `send` into `size` equal consecutive chunks and
    /// gives chunk `r` to rank `r` (`MPI_Scatter`). Only the root's `send`
    /// is read. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if the root's length is not
    /// a multiple of `size`.
    pub fn scatter<T: Element>(&self, send: &[T], root: usize) -> Result<Vec<T>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree_root::<T>("scatter", root, &[])?;
        let size = self.size();
        let mut chunk = [(send.len() / size) as u64];
        let err = if send.len() % size != 0 {
            Some(Error::InvalidArgument(format!(
                "scatter: the root's data has {} elements, which is not a multiple of the context size {size}",
                send.len()
            )))
        } else {
            count_i32(send.len(), "scatter data").err()
        };
        self.root_verdict(root, err, &mut chunk)?;
        let mut out = buffer::<T>(chunk[0] as usize);
        let proc = self.comm().process_at_rank(root as i32);
        if self.rank() == root {
            proc.scatter_into_root(send, &mut out[..]);
        } else {
            proc.scatter_into(&mut out[..]);
        }
        Ok(out)
    }

    /// Gives rank `r` the next `counts[r]` elements of the root's `send`
    /// (`MPI_Scatter` of the counts, then `MPI_Scatterv`). Only the root's
    /// `send` and `counts` are read. Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if the root's `counts` does
    /// not have `size` entries summing to `send.len()`.
    pub fn scatterv<T: Element>(&self, send: &[T], counts: &[usize], root: usize) -> Result<Vec<T>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree_root::<T>("scatterv", root, &[])?;
        let size = self.size();
        let err = if counts.len() != size {
            Some(Error::InvalidArgument(format!(
                "scatterv: counts has {} entries; it needs one per rank ({size})",
                counts.len()
            )))
        } else if counts.iter().sum::<usize>() != send.len() {
            Some(Error::InvalidArgument(format!(
                "scatterv: counts sum to {} but the root's data has {} elements",
                counts.iter().sum::<usize>(),
                send.len()
            )))
        } else {
            counts_i32(counts, "scatterv count").err()
        };
        self.root_verdict(root, err, &mut [])?;
        let proc = self.comm().process_at_rank(root as i32);
        let mut mine = [0u64];
        if self.rank() == root {
            let c64: Vec<u64> = counts.iter().map(|&c| c as u64).collect();
            proc.scatter_into_root(&c64[..], &mut mine[..]);
        } else {
            proc.scatter_into(&mut mine[..]);
        }
        let mut out = buffer::<T>(mine[0] as usize);
        if self.rank() == root {
            let ci = counts_i32(counts, "scatterv count")?;
            let d = displs(&ci)?;
            let part = MpiPartition::new(send, &ci[..], &d[..]);
            proc.scatter_varcount_into_root(&part, &mut out[..]);
        } else {
            proc.scatter_varcount_into(&mut out[..]);
        }
        Ok(out)
    }

    /// Concatenates every rank's `send` (all the same length) in rank order
    /// on every rank (`MPI_Allgather`). Collective.
    pub fn allgather<T: Element>(&self, send: &[T]) -> Result<Vec<T>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree("allgather", &[("dtype", T::DTYPE as i64), ("length", send.len() as i64)])?;
        count_i32(send.len() * self.size(), "allgather result")?;
        let mut out = buffer::<T>(send.len() * self.size());
        self.comm().all_gather_into(send, &mut out[..]);
        Ok(out)
    }

    /// Like [`Context::allgather`], into `recv` (`size × send.len()`
    /// elements; no allocation). Collective.
    ///
    /// # Errors
    /// As [`Context::allgather`]; [`Error::InvalidArgument`] on every rank
    /// if some rank's `recv` has the wrong length.
    pub fn allgather_into<T: Element>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        self.allgather_into_or_reject(send, recv, None, None)
    }

    /// [`Context::allgather_into`] for a call that may already have failed
    /// on this rank (`local`, see [`Context::allreduce_into_or_reject`]),
    /// with the logical per-rank `shape` of `send` (its product is
    /// `send.len()`; `None`: 1-D) checked in the same agreement step. One
    /// `MPI_Allreduce` (the agreement, unless the checks are off), then
    /// `MPI_Allgather`. Collective.
    pub fn allgather_into_or_reject<T: Element>(
        &self,
        send: &[T],
        recv: &mut [T],
        shape: Option<&[usize]>,
        local: Option<Error>,
    ) -> Result<()> {
        let (s1, mut s2) = ([T::default()], [T::default()]);
        let send = nz(send, &s1);
        let recv = nz_mut(recv, &mut s2);
        let bad_recv = recv.len() != send.len() * self.size();
        let sf = shape_fields(shape, send.len());
        let fields = [
            ("dtype", T::DTYPE as i64),
            ("length", send.len() as i64),
            ("recv length validity", i64::from(bad_recv)),
            sf[0],
            sf[1],
            sf[2],
            sf[3],
            sf[4],
            sf[5],
        ];
        self.agree_or_reject("allgather", &fields, local)?;
        if bad_recv {
            return Err(Error::InvalidArgument(format!(
                "allgather: recv has {} elements; it must have size × send length = {}",
                recv.len(),
                send.len() * self.size()
            )));
        }
        count_i32(recv.len(), "allgather result")?;
        self.comm().all_gather_into(send, recv);
        Ok(())
    }

    /// Concatenates every rank's `send` (lengths may differ) in rank order
    /// on every rank, with the per-rank counts (`MPI_Allgather` of the
    /// counts, then `MPI_Allgatherv`). Collective.
    pub fn allgatherv<T: Element>(&self, send: &[T]) -> Result<(Vec<T>, Vec<usize>)> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree("allgatherv", &[("dtype", T::DTYPE as i64)])?;
        let mut c64 = vec![0u64; self.size()];
        self.comm().all_gather_into(&[send.len() as u64][..], &mut c64[..]);
        let c: Vec<usize> = c64.into_iter().map(|x| x as usize).collect();
        let ci = counts_i32(&c, "allgatherv count")?;
        let d = displs(&ci)?;
        let mut out = buffer::<T>(c.iter().sum());
        {
            let mut part = PartitionMut::new(&mut out[..], &ci[..], &d[..]);
            self.comm().all_gather_varcount_into(send, &mut part);
        }
        Ok((out, c))
    }

    /// Personalised exchange: `send` is `size` equal chunks, chunk `r` goes
    /// to rank `r`; the result holds chunk `me` of every rank, in rank order
    /// (`MPI_Alltoall`). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `send.len()` is not a multiple of
    /// `size`; [`Error::Mismatch`] if ranks disagree on the chunk length.
    pub fn alltoall<T: Element>(&self, send: &[T]) -> Result<Vec<T>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        let size = self.size();
        let local = (send.len() % size != 0).then(|| {
            Error::InvalidArgument(format!(
                "alltoall: send has {} elements, which is not a multiple of the context size {size}",
                send.len()
            ))
        });
        let chunk = if local.is_some() { -1 } else { (send.len() / size) as i64 };
        self.agree_or_reject("alltoall", &[("dtype", T::DTYPE as i64), ("chunk length", chunk)], local)?;
        count_i32(send.len(), "alltoall buffer")?;
        let mut out = buffer::<T>(send.len());
        self.comm().all_to_all_into(send, &mut out[..]);
        Ok(out)
    }

    /// Like [`Context::alltoall`], into `recv` (as long as `send`; no
    /// allocation). Collective.
    pub fn alltoall_into<T: Element>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        self.alltoall_into_or_reject(send, recv, None, None)
    }

    /// [`Context::alltoall_into`] for a call that may already have failed on
    /// this rank (`local`, see [`Context::allreduce_into_or_reject`]), with
    /// the logical `shape` of `send` (leading dimension `size`; `None`: 1-D)
    /// checked in the same agreement step. One `MPI_Allreduce` (the
    /// agreement, unless the checks are off), then `MPI_Alltoall`.
    /// Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank if some rank's `send` is not
    /// a multiple of `size` or its `recv` is not as long as `send`;
    /// [`Error::Mismatch`] if ranks disagree on the chunk length or shape.
    pub fn alltoall_into_or_reject<T: Element>(
        &self,
        send: &[T],
        recv: &mut [T],
        shape: Option<&[usize]>,
        local: Option<Error>,
    ) -> Result<()> {
        let (s1, mut s2) = ([T::default()], [T::default()]);
        let send = nz(send, &s1);
        let recv = nz_mut(recv, &mut s2);
        let size = self.size();
        let local = local.or_else(|| {
            (send.len() % size != 0).then(|| {
                Error::InvalidArgument(format!(
                    "alltoall: send has {} elements, which is not a multiple of the context size {size}",
                    send.len()
                ))
            })
        });
        let local = local.or_else(|| {
            (recv.len() != send.len()).then(|| {
                Error::InvalidArgument(format!(
                    "alltoall: recv has {} elements; it must be as long as send ({})",
                    recv.len(),
                    send.len()
                ))
            })
        });
        let chunk = if local.is_some() { -1 } else { (send.len() / size) as i64 };
        let sf = shape_fields(shape, send.len());
        let fields = [("dtype", T::DTYPE as i64), ("chunk length", chunk), sf[0], sf[1], sf[2], sf[3], sf[4], sf[5]];
        self.agree_or_reject("alltoall", &fields, local)?;
        count_i32(send.len(), "alltoall buffer")?;
        self.comm().all_to_all_into(send, recv);
        Ok(())
    }

    /// Personalised exchange with per-destination counts: the first
    /// `send_counts[0]` elements of `send` go to rank 0, the next
    /// `send_counts[1]` to rank 1, … Returns what every rank sent here, in
    /// rank order, and the counts received from each rank (`MPI_Alltoall` of
    /// the counts, then `MPI_Alltoallv`). Collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `send_counts` does not have `size`
    /// entries summing to `send.len()`.
    pub fn alltoallv<T: Element>(&self, send: &[T], send_counts: &[usize]) -> Result<(Vec<T>, Vec<usize>)> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        let size = self.size();
        let bad = send_counts.len() != size || send_counts.iter().sum::<usize>() != send.len();
        let local = bad.then(|| {
            Error::InvalidArgument(format!(
                "alltoallv: send_counts must have {size} entries (one per rank) summing to send.len() = {}; \
                 got {} entries summing to {}",
                send.len(),
                send_counts.len(),
                send_counts.iter().sum::<usize>()
            ))
        });
        self.agree_or_reject("alltoallv", &[("dtype", T::DTYPE as i64)], local)?;
        let sc64: Vec<u64> = send_counts.iter().map(|&c| c as u64).collect();
        let mut rc64 = vec![0u64; size];
        self.comm().all_to_all_into(&sc64[..], &mut rc64[..]);
        let rc: Vec<usize> = rc64.into_iter().map(|x| x as usize).collect();
        let sci = counts_i32(send_counts, "alltoallv send count")?;
        let rci = counts_i32(&rc, "alltoallv receive count")?;
        let sd = displs(&sci)?;
        let rd = displs(&rci)?;
        let mut out = buffer::<T>(rc.iter().sum());
        {
            let sp = MpiPartition::new(send, &sci[..], &sd[..]);
            let mut rp = PartitionMut::new(&mut out[..], &rci[..], &rd[..]);
            self.comm().all_to_all_varcount_into(&sp, &mut rp);
        }
        Ok((out, rc))
    }

    /// Inclusive prefix reduction over ranks, element-wise: rank `r` gets
    /// `send_0 op … op send_r` (`MPI_Scan`). Collective.
    pub fn scan<T: Element>(&self, send: &[T], op: ReduceOp) -> Result<Vec<T>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree("scan", &[("dtype", T::DTYPE as i64), ("length", send.len() as i64), ("op", op as i64)])?;
        op.check_for::<T>()?;
        count_i32(send.len(), "scan buffer")?;
        let mut out = buffer::<T>(send.len());
        self.comm().scan_into(send, &mut out[..], op.mpi_for::<T>());
        normalize_logical(op, &mut out);
        Ok(out)
    }

    /// Exclusive prefix reduction over ranks, element-wise: rank `r > 0`
    /// gets `send_0 op … op send_{r-1}`; rank 0 gets the op's identity
    /// (0 for sum, 1 for prod, +inf/MAX for min, …), which MPI leaves
    /// undefined (`MPI_Exscan`). Collective.
    pub fn exscan<T: Element>(&self, send: &[T], op: ReduceOp) -> Result<Vec<T>> {
        let scratch = [T::default()];
        let send = nz(send, &scratch);
        self.agree("exscan", &[("dtype", T::DTYPE as i64), ("length", send.len() as i64), ("op", op as i64)])?;
        op.check_for::<T>()?;
        count_i32(send.len(), "exscan buffer")?;
        let mut out = buffer::<T>(send.len());
        self.comm().exclusive_scan_into(send, &mut out[..], op.mpi_for::<T>());
        if self.rank() == 0 {
            out.fill(op.identity::<T>());
        }
        normalize_logical(op, &mut out);
        Ok(out)
    }
}
