//! Checkpoints: distributed containers to and from NumPy `.npy` files,
//! with MPI-IO.
//!
//! * [`Distributed1D::save`] (so [`DistributedVector`] and
//!   [`DistributedArray`]) and [`DistributedTensor::save`] write one
//!   standard `.npy` file (format 1.0, C order, native byte order) that
//!   `numpy.load` reads; the bytes are those `numpy.save` writes for the
//!   gathered array.
//! * [`DistributedVector::load`], [`DistributedArray::load`] and
//!   [`DistributedTensor::load`] read any `.npy` file NumPy writes for the
//!   ten dtl dtypes (formats 1.0, 2.0 and 3.0; C or Fortran order; little-
//!   or big-endian) into any partition, along any axis.
//! * [`read_header`] reads and validates just the header (on rank 0) and
//!   gives it to every rank.
//!
//! Every function here is **collective**: every rank of the context calls
//! it with the same path (checked, with the other arguments, by one
//! `MPI_Allreduce` unless collective checks are off), and either every rank
//! returns `Ok` or every rank returns the same error, with the same
//! message, which names the file. No rank is left waiting in a collective.
//!
//! Every rank must see the same file at `path`: a shared file system across
//! nodes, and the same working directory for relative paths. The path is
//! used as given (no `.npy` suffix is added, unlike `numpy.save`).
//! `MPI_File_close` hands the data to the operating system; nothing here
//! calls `fsync`.
//!
//! # Saving
//!
//! Rank 0 writes the header (`MPI_File_write_at`), and every rank writes its
//! elements at their byte offset in one collective `MPI_File_write_at_all`
//! (several, of at most 1 GiB each, for larger parts). That needs each
//! rank's part to be one contiguous run of rows of the C-order array:
//!
//! * block and weighted layouts along axis 0 are written in place;
//! * a replicated container is written by rank 0 alone (the others take
//!   part in the collective call with zero bytes);
//! * cyclic and block-cyclic layouts, and tensors split along another axis,
//!   are first **copied** to a block layout along axis 0 with the
//!   redistribution engine (one `MPI_Alltoallv`; the copy costs about the
//!   size of the local part in extra memory, the container itself is not
//!   changed).
//!
//! The file is written under a temporary name in the same directory
//! (`.NAME.dtl-tmp-XXXXXXXXXXXXXXXX`, sized with `MPI_File_set_size` so
//! that stale content cannot survive), closed (`MPI_File_close`), and only
//! then renamed over `path` by rank 0. If anything fails, the temporary file
//! is deleted (`MPI_File_delete`) and `path` is untouched: a failed save
//! never leaves a half-written file that looks valid. The rename replaces a
//! symbolic link at `path` rather than writing through it.
//!
//! # Loading
//!
//! Rank 0 opens the file alone (`MPI_File_open` on `MPI_COMM_SELF`),
//! checks its size (`MPI_File_get_size`), reads and validates the header
//! (`MPI_File_read_at`) and broadcasts the verdict (`MPI_Bcast` of a status,
//! the dtype, shape, order and data offset, or of the error message). So a
//! missing file, a file that is not `.npy`, a truncated file (smaller than
//! header + elements × itemsize), an unsupported dtype (complex, bool,
//! float16, strings, objects, structured) or a dtype other than the one
//! asked for is the same [`Error::InvalidArgument`] on every rank. Then
//! every rank opens the file (`MPI_File_open` on the context's
//! communicator) and reads its block of rows (block partition of axis 0) in
//! one collective `MPI_File_read_at_all`, swaps the bytes if the file is
//! big-endian, and the redistribution engine moves the rows to the
//! requested partition and axis (skipped when that is the block layout of
//! axis 0).
//!
//! Fortran-order files are read in parallel too: the data of a
//! Fortran-order array of shape `(d0, …, dk)` is the C-order array of shape
//! `(dk, …, d0)`, so every rank reads a block of *its* rows (a block of the
//! last axis), transposes it locally (a copy) and the redistribution engine
//! moves it from "block along the last axis" to the requested layout.
//!
//! A failed load returns an error and creates nothing.
//!
//! # Errors
//!
//! * [`Error::InvalidArgument`]: the path is empty, contains a NUL byte or
//!   names no file; it cannot be opened (no such file, permission denied);
//!   the file is not a valid `.npy` file, is truncated, holds a dtype dtl
//!   does not support or another dtype than requested, has the wrong number
//!   of dimensions for the container, or the requested axis or partition
//!   does not fit its shape.
//! * [`Error::Communication`]: an MPI-IO call failed for another reason
//!   (an I/O error, no space left on the device, …); the message names the
//!   call and the file.
//! * [`Error::Mismatch`]: ranks passed different paths, dtypes, shapes or
//!   partitions.
//! * [`Error::Memory`]: a rank cannot allocate its part.
//!
//! Sizes: offsets and counts are in bytes in the file and in elements in
//! the containers; transfers above `i32::MAX` bytes per rank are split into
//! several calls of at most 1 GiB.
//!
//! ```no_run
//! use dtl_core::partition::PartitionSpec;
//! use dtl_core::{Context, DistributedTensor, DistributedVector};
//! let ctx = Context::world()?;
//! let v = DistributedVector::<f64>::with_value(&ctx, 1000, 1.5)?;
//! v.save("/scratch/v.npy")?;                                     // numpy.load reads it
//! let w = DistributedVector::<f64>::load(&ctx, "/scratch/v.npy", &PartitionSpec::Cyclic)?;
//! assert_eq!(w.global_size(), 1000);
//! let t = DistributedTensor::<f32>::load(&ctx, "/scratch/field.npy", 1, &PartitionSpec::Block)?;
//! # Ok::<(), dtl_core::Error>(())
//! ```

mod file;
pub mod npy;

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};

use mpi::collective::SystemOperation;
use mpi::traits::*;
use ndarray::{ArrayViewD, IxDyn};

use crate::containers::redistribute::{redistribute, Move};
use crate::containers::{Distributed1D, DistributedArray, DistributedTensor, DistributedVector};
use crate::context::Context;
use crate::element::{DType, Element};
use crate::error::{Error, Result};
use crate::partition::{Block, Layout, Partition, PartitionSpec};
use file::{File, Mode, MpiPath};
pub use npy::NpyHeader;

#[doc(hidden)]
/// Sets the largest number of bytes one MPI-IO call moves (default 1 GiB,
/// clamped to `1..=i32::MAX`) and returns the previous value. Only for
/// tests of the chunking: every rank must set the same value before a save
/// or load. Not collective.
pub fn set_max_transfer_bytes(n: usize) -> usize {
    file::set_chunk_bytes(n)
}

// ------------------------------------------------------------------ verdicts

/// Shares the first failing rank's error with every rank: one
/// `MPI_Allreduce(MIN)` of the failing ranks, and if one failed, an
/// `MPI_Bcast` of its status and message. Always communicates (whatever
/// the collective-check switch says), so that I/O failures on some ranks
/// cannot leave the others waiting in the next collective. Collective.
fn share_error(ctx: &Context, local: Option<Error>) -> Result<()> {
    if ctx.size() == 1 {
        return local.map_or(Ok(()), Err);
    }
    let size = ctx.size() as u64;
    let mine = if local.is_some() { ctx.rank() as u64 } else { size };
    let mut first = size;
    ctx.comm().all_reduce_into(&mine, &mut first, SystemOperation::min());
    if first == size {
        return Ok(());
    }
    let bytes = match &local {
        Some(e) if ctx.rank() as u64 == first => {
            let mut b = (e.status() as u32).to_le_bytes().to_vec();
            b.extend_from_slice(e.detail().as_bytes());
            b
        }
        _ => Vec::new(),
    };
    let b = broadcast_bytes(ctx, first as usize, bytes);
    if b.len() < 4 {
        return Err(Error::Internal("an I/O error verdict arrived without its status".into()));
    }
    let status = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i32;
    Err(Error::from_status(status, String::from_utf8_lossy(&b[4..]).into_owned()))
}

/// Broadcasts a byte string from `root` (`MPI_Bcast` of the length, then of
/// the bytes when there are any); other ranks' `data` is ignored.
/// Collective.
fn broadcast_bytes(ctx: &Context, root: usize, data: Vec<u8>) -> Vec<u8> {
    let proc = ctx.comm().process_at_rank(root as i32);
    let mut len = [data.len() as u64];
    proc.broadcast_into(&mut len[..]);
    let mut buf = if ctx.rank() == root { data } else { vec![0u8; len[0] as usize] };
    if len[0] > 0 {
        proc.broadcast_into(&mut buf[..]);
    }
    buf
}

/// The same error with `prefix: ` before its message.
fn prefixed(prefix: &str, e: Error) -> Error {
    Error::from_status(e.status(), format!("{prefix}: {}", e.detail()))
}

/// 64-bit FNV-1a of the path bytes, for the cross-rank agreement.
fn path_hash(p: &MpiPath) -> i64 {
    p.bytes().iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)) as i64
}

fn shape_hash(shape: &[usize]) -> i64 {
    shape.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &d| (h ^ d as u64).wrapping_mul(0x0100_0000_01b3)) as i64
}

/// Views a slice of elements as its bytes.
fn as_bytes<T: Element>(data: &[T]) -> &[u8] {
    // SAFETY: `Element` is sealed to the primitive integer and float types,
    // which have no padding; the byte view covers exactly the slice.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// Views a mutable slice of elements as its bytes.
fn as_bytes_mut<T: Element>(data: &mut [T]) -> &mut [u8] {
    // SAFETY: as above; every bit pattern is a valid value of these types,
    // so any bytes written through the view leave valid elements.
    unsafe { std::slice::from_raw_parts_mut(data.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// Opens `path` on every rank of `ctx`, and shares any rank's failure with
/// all. Where some ranks opened the file and others did not, the handles
/// that were opened are leaked (closing is collective and would hang).
/// Collective.
fn open_all(ctx: &Context, path: &MpiPath, mode: Mode) -> Result<File> {
    let f = File::open(ctx.raw_comm(), path, mode);
    match share_error(ctx, f.as_ref().err().cloned()) {
        Ok(()) => f,
        Err(e) => {
            if let Ok(f) = f {
                f.leak();
            }
            Err(e)
        }
    }
}

// ------------------------------------------------------------------ header

/// Rank 0's look at the file: open alone, size, header, validation.
fn probe(path: &MpiPath) -> Result<NpyHeader> {
    let bad = |m: String| Error::InvalidArgument(m);
    // MPI_File_open accepts a directory (OMPIO then reports its size as
    // i64::MAX and reads nothing), so say what it is first.
    if std::fs::metadata(path.path()).is_ok_and(|m| m.is_dir()) {
        return Err(bad("it is a directory, not a .npy file".into()));
    }
    let f = File::open(file::comm_self(), path, Mode::Read)?;
    let size = f.size()?;
    let mut pre = [0u8; 12];
    let want = size.min(pre.len() as u64) as usize;
    let got = f.read_at(0, &mut pre[..want])?;
    if got < want {
        return Err(bad(format!("cannot read its header: MPI_File_read_at returned {got} of {want} bytes")));
    }
    let (version, hlen, prefix) = npy::parse_prefix(&pre[..got], size).map_err(bad)?;
    let mut text = vec![0u8; hlen];
    if f.read_at(prefix as u64, &mut text)? < hlen {
        return Err(bad(format!("the file is truncated: {size} bytes, too short to hold its .npy header")));
    }
    let h = npy::parse_header(&text, version, (prefix + hlen) as u64).map_err(bad)?;
    let need = h.data_offset + h.data_bytes();
    if size < need {
        return Err(bad(format!(
            "the file is truncated: it has {size} bytes, but its header (dtype {}, shape {:?}) needs {need} \
             ({} bytes of header + {} elements x {} bytes)",
            h.dtype,
            h.shape,
            h.data_offset,
            h.len(),
            h.dtype.size_bytes()
        )));
    }
    f.close()?;
    Ok(h)
}

fn encode_header(h: &NpyHeader) -> Vec<u8> {
    let mut words = vec![
        h.version.0 as u64,
        h.version.1 as u64,
        h.dtype as u64,
        h.big_endian as u64,
        h.fortran_order as u64,
        h.data_offset,
        h.shape.len() as u64,
    ];
    words.extend(h.shape.iter().map(|&d| d as u64));
    let mut b = 0u32.to_le_bytes().to_vec();
    b.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    b
}

fn decode_header(b: &[u8]) -> Result<NpyHeader> {
    let bad = || Error::Internal("a malformed .npy header verdict arrived from rank 0".into());
    let words: Vec<u64> =
        b.get(4..).ok_or_else(bad)?.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8"))).collect();
    if words.len() < 7 || words.len() != 7 + words[6] as usize {
        return Err(bad());
    }
    Ok(NpyHeader {
        version: (words[0] as u8, words[1] as u8),
        dtype: DType::from_code(words[2] as i32).ok_or_else(bad)?,
        big_endian: words[3] != 0,
        fortran_order: words[4] != 0,
        data_offset: words[5],
        shape: words[7..].iter().map(|&d| d as usize).collect(),
    })
}

/// Rank 0 probes the file and broadcasts the verdict; returns the header or
/// the same error on every rank. Collective (no argument agreement).
fn header_verdict(ctx: &Context, path: &MpiPath) -> Result<NpyHeader> {
    let mut local_err = None;
    let bytes = if ctx.rank() == 0 {
        match probe(path) {
            Ok(h) => encode_header(&h),
            Err(e) => {
                let e = prefixed(&format!("cannot load '{}'", path.shown()), e);
                let mut b = (e.status() as u32).to_le_bytes().to_vec();
                b.extend_from_slice(e.detail().as_bytes());
                local_err = Some(e);
                b
            }
        }
    } else {
        Vec::new()
    };
    let b = if ctx.size() == 1 { bytes } else { broadcast_bytes(ctx, 0, bytes) };
    if let Some(e) = local_err {
        return Err(e);
    }
    let status = b.get(..4).map(|s| u32::from_le_bytes(s.try_into().expect("4"))).unwrap_or(0) as i32;
    if status != 0 {
        return Err(Error::from_status(status, String::from_utf8_lossy(&b[4..]).into_owned()));
    }
    decode_header(&b)
}

/// Reads and validates the header of the `.npy` file at `path` and returns
/// it on every rank: rank 0 opens the file alone (`MPI_File_open` on
/// `MPI_COMM_SELF`, `MPI_File_get_size`, `MPI_File_read_at`), the verdict
/// is broadcast (`MPI_Bcast`). Collective; every rank passes the same path
/// (one `MPI_Allreduce` checks it unless collective checks are off).
///
/// The header is valid when the file starts with the `.npy` magic, has
/// format 1.0, 2.0 or 3.0, a well-formed dict, one of the ten dtl dtypes in
/// either byte order, and is at least header + elements × itemsize bytes
/// long.
///
/// # Errors
/// [`Error::InvalidArgument`] on every rank, with the same message naming
/// the file, if it cannot be opened or is not a valid `.npy` file of a
/// supported dtype; [`Error::Mismatch`] if ranks pass different paths.
pub fn read_header(ctx: &Context, path: impl AsRef<Path>) -> Result<NpyHeader> {
    let p = MpiPath::new(path.as_ref());
    let fields = match &p {
        Ok(p) => [("path (hash)", path_hash(p)), ("path length", p.bytes().len() as i64)],
        Err(_) => [("path (hash)", -1), ("path length", -1)],
    };
    ctx.agree_or_reject("read_header", &fields, p.as_ref().err().cloned())?;
    header_verdict(ctx, &p?)
}

// ------------------------------------------------------------------ save

/// The temporary file a save writes before the rename.
fn temp_path(path: &Path, token: u64) -> Result<PathBuf> {
    let no_file = || Error::InvalidArgument(format!("path '{}' does not name a file", path.display()));
    if path.as_os_str().as_encoded_bytes().last() == Some(&b'/') {
        return Err(no_file());
    }
    let name = path.file_name().ok_or_else(no_file)?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".dtl-tmp-{token:016x}"));
    Ok(path.with_file_name(tmp))
}

/// A token for the temporary file's name, from rank 0 (`MPI_Bcast`).
fn temp_token(ctx: &Context) -> u64 {
    let mut t = [0u64];
    if ctx.rank() == 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        t[0] = ((std::process::id() as u64) << 32) ^ nanos;
    }
    if ctx.size() > 1 {
        ctx.comm().process_at_rank(0).broadcast_into(&mut t[..]);
    }
    t[0]
}

/// Writes header + data under a temporary name, then renames it over
/// `path`. `mine` goes at byte `at` of the data, in exactly `rounds`
/// collective calls; `data_bytes` is the size of the whole data. Collective.
fn write_file(
    ctx: &Context,
    path: &Path,
    header: &[u8],
    mine: &[u8],
    at: u64,
    rounds: usize,
    data_bytes: u64,
) -> Result<()> {
    let tmp_path = temp_path(path, temp_token(ctx))?;
    let tmp = MpiPath::new(&tmp_path)?;
    let f = match open_all(ctx, &tmp, Mode::CreateWrite) {
        Ok(f) => f,
        Err(e) => {
            // Some ranks may have created the file before others failed.
            if ctx.rank() == 0 {
                let _ = file::delete(&tmp);
            }
            return Err(e);
        }
    };
    let hl = header.len() as u64;
    let r_size = f.set_size(hl + data_bytes);
    let r_head = if ctx.rank() == 0 { f.write_at(0, header) } else { Ok(()) };
    let r_data = f.write_at_all(hl + at, mine, rounds);
    let r_close = f.close();
    let err = r_size.err().or(r_head.err()).or(r_data.err()).or(r_close.err());
    if let Err(e) = share_error(ctx, err) {
        if ctx.rank() == 0 {
            let _ = file::delete(&tmp);
        }
        return Err(e);
    }
    let renamed = if ctx.rank() == 0 {
        std::fs::rename(&tmp_path, path).map_err(|e| {
            let _ = file::delete(&tmp);
            Error::InvalidArgument(format!("renaming the finished file '{}' failed: {e}", tmp.shown()))
        })
    } else {
        Ok(())
    };
    share_error(ctx, renamed.err())
}

/// The shared save of a 1-D container (`shape = [n]`, axis 0) or a tensor.
fn save_impl<T: Element>(
    ctx: &Context,
    path: &Path,
    shape: &[usize],
    axis: usize,
    part: &Layout,
    local: &[T],
) -> Result<()> {
    let p = MpiPath::new(path).and_then(|p| temp_path(path, 0).map(|_| p));
    let sig = part.spec().signature();
    let (ph, pl) = p.as_ref().map_or((-1, -1), |p| (path_hash(p), p.bytes().len() as i64));
    let fields = [
        ("path (hash)", ph),
        ("path length", pl),
        ("dtype", T::DTYPE as i64),
        ("ndim", shape.len() as i64),
        ("global size", shape.iter().product::<usize>() as i64),
        ("shape (hash)", shape_hash(shape)),
        ("axis", axis as i64),
        ("partition", sig[0]),
        ("partition parameter", sig[1]),
        ("weights", sig[2]),
    ];
    ctx.agree_or_reject("save", &fields, p.as_ref().err().cloned())?;
    let shown = p?.shown().to_string();
    let (me, size) = (ctx.rank(), ctx.size());
    let rows = shape[0];
    let row_len: usize = shape[1..].iter().product();
    let item = T::DTYPE.size_bytes();
    // What this rank writes: rows `first..` of the C-order array, and the
    // largest number of rows any rank writes (for the number of rounds).
    let (mine, first, max_rows): (Cow<'_, [T]>, usize, usize) = if part.is_replicated() || size == 1 {
        // Rank 0 holds the whole array in C order.
        (Cow::Borrowed(if me == 0 { local } else { &[] }), 0, rows)
    } else if axis == 0 && part.is_contiguous() {
        let first = if local.is_empty() { 0 } else { part.local_offset(me) };
        (Cow::Borrowed(local), first, (0..size).map(|r| part.local_size(r)).max().unwrap_or(0))
    } else {
        // A copy in the block layout of axis 0 (one MPI_Alltoallv).
        let blk = Layout::Block(Block::new(rows, size));
        let mv = Move { old_shape: shape, old_axis: axis, old: part, new_shape: shape, new_axis: 0, new: &blk };
        let moved = redistribute(ctx, local.to_vec(), &mv, T::ZERO)?;
        (Cow::Owned(moved), blk.local_offset(me), blk.local_size(0))
    };
    let header = npy::header_bytes(T::DTYPE, shape, false);
    let at = (first * row_len * item) as u64;
    let rounds = file::rounds_for((max_rows * row_len * item) as u64);
    let data_bytes = (rows * row_len * item) as u64;
    write_file(ctx, path, &header, as_bytes(&mine), at, rounds, data_bytes)
        .map_err(|e| prefixed(&format!("cannot save '{shown}'"), e))
}

impl<T: Element> Distributed1D<T> {
    /// Writes the container to `path` as a 1-d `.npy` file (format 1.0,
    /// native byte order), which `numpy.load` reads as the gathered array;
    /// the bytes are exactly those `numpy.save` writes. Replaces an existing
    /// file only once the new one is complete. Collective: every rank passes
    /// the same path. See the [module docs](crate::io) for the MPI-IO calls
    /// (one `MPI_File_write_at_all` of each rank's part) and the copy that
    /// cyclic and block-cyclic layouts cost.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the path is empty, contains a NUL byte,
    /// names no file, or its directory cannot be written;
    /// [`Error::Communication`] if an MPI-IO call fails otherwise;
    /// [`Error::Mismatch`] if ranks pass different paths. The same error on
    /// every rank; `path` is then untouched.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_impl(&self.ctx, path.as_ref(), &[self.global_size()], 0, &self.part, &self.data)
    }
}

impl<T: Element> DistributedTensor<T> {
    /// Writes the tensor to `path` as an N-d `.npy` file (format 1.0, C
    /// order, native byte order), which `numpy.load` reads as the gathered
    /// array; the bytes are exactly those `numpy.save` writes. A tensor
    /// split along axis 0 by a block or weighted layout is written in place;
    /// other layouts and axes are first copied to blocks of axis 0 (one
    /// `MPI_Alltoallv`, about the local part in extra memory). Collective:
    /// every rank passes the same path. See the [module docs](crate::io).
    ///
    /// # Errors
    /// As [`Distributed1D::save`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_impl(self.context(), path.as_ref(), self.shape(), self.split_axis(), self.partition(), self.local())
    }
}

// ------------------------------------------------------------------ load

/// Checks the arguments of a load, reads the header verdict, and checks
/// the dtype against `T`. Collective.
fn load_header<T: Element>(
    ctx: &Context,
    path: &Path,
    op: &str,
    axis: usize,
    spec: &PartitionSpec,
) -> Result<(MpiPath, NpyHeader)> {
    let p = MpiPath::new(path);
    let sig = spec.signature();
    let (ph, pl) = p.as_ref().map_or((-1, -1), |p| (path_hash(p), p.bytes().len() as i64));
    let fields = [
        ("path (hash)", ph),
        ("path length", pl),
        ("dtype", T::DTYPE as i64),
        ("axis", axis as i64),
        ("partition", sig[0]),
        ("partition parameter", sig[1]),
        ("weights", sig[2]),
    ];
    ctx.agree_or_reject(op, &fields, p.as_ref().err().cloned())?;
    let p = p?;
    let h = header_verdict(ctx, &p)?;
    // From here on every check sees the same header on every rank, so it
    // fails alike everywhere without further communication.
    if h.dtype != T::DTYPE {
        return Err(Error::InvalidArgument(format!(
            "cannot load '{}': the file holds {} elements, not the requested {}",
            p.shown(),
            h.dtype,
            T::DTYPE
        )));
    }
    Ok((p, h))
}

/// Every rank reads its block of `rows` rows of `row_len` elements (block
/// partition) in one collective read, in native byte order. The buffer is
/// not zero-filled first (MPI writes every byte, or the read fails).
/// Collective.
fn read_rows<T: Element>(ctx: &Context, p: &MpiPath, h: &NpyHeader, rows: usize, row_len: usize) -> Result<Vec<T>> {
    let (me, size) = (ctx.rank(), ctx.size());
    let blk = Block::new(rows, size);
    let item = T::DTYPE.size_bytes();
    let n = blk.local_size(me) * row_len;
    let mut buf: Vec<T> = Vec::new();
    let alloc = buf.try_reserve_exact(n).map_err(|e| {
        Error::Memory(format!("cannot allocate {n} elements of {} on rank {me} to load '{}': {e}", T::DTYPE, p.shown()))
    });
    share_error(ctx, alloc.err())?;
    let f = open_all(ctx, p, Mode::Read)?;
    let at = h.data_offset + (blk.local_offset(me) * row_len * item) as u64;
    let rounds = file::rounds_for((blk.local_size(0) * row_len * item) as u64);
    let spare = &mut buf.spare_capacity_mut()[..n];
    // SAFETY: `spare` is `n` (possibly uninitialised) elements of a
    // primitive type; viewing them as `n * item` uninitialised bytes is
    // sound (no alignment requirement for bytes).
    let bytes = unsafe { std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<u8>>(), n * item) };
    let r_read = f.read_at_all(at, bytes, rounds);
    let r_close = f.close();
    share_error(ctx, r_read.err().or(r_close.err()))?;
    // SAFETY: the read succeeded on this rank (share_error returned Ok), so
    // every one of the `n * item` bytes was written by MPI, and any bytes
    // form valid values of these primitive types.
    unsafe { buf.set_len(n) };
    if h.big_endian != cfg!(target_endian = "big") && item > 1 {
        as_bytes_mut(&mut buf).chunks_exact_mut(item).for_each(|c| c.reverse());
    }
    Ok(buf)
}

/// Reads the whole array as blocks of one axis: axis 0 for C order (and
/// 1-d files), the last axis for Fortran order (read as the C-order
/// transpose, then transposed back locally). Returns the local C-order
/// block and the axis it is split along (by a block partition).
fn read_blocks<T: Element>(ctx: &Context, p: &MpiPath, h: &NpyHeader) -> Result<(Vec<T>, usize)> {
    let shape = &h.shape;
    let nd = shape.len();
    if !h.fortran_order || nd <= 1 {
        let row_len = shape.get(1..).map_or(1, |s| s.iter().product());
        let rows = shape.first().copied().unwrap_or(1);
        return Ok((read_rows(ctx, p, h, rows, row_len)?, 0));
    }
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    let data: Vec<T> = read_rows(ctx, p, h, rev[0], rev[1..].iter().product())?;
    let mut local_rev = rev.clone();
    local_rev[0] = Block::new(rev[0], ctx.size()).local_size(ctx.rank());
    let view = ArrayViewD::from_shape(IxDyn(&local_rev), &data)
        .map_err(|e| Error::Internal(format!("fortran-order block does not match its shape: {e}")))?;
    // The transpose of the reversed-shape block, in C order: the block of
    // the original array's last axis.
    let out: Vec<T> = view.t().iter().copied().collect();
    Ok((out, nd - 1))
}

impl<T: Element> Distributed1D<T> {
    /// The shared load of the 1-D containers. Collective.
    fn load_impl(ctx: &Context, path: &Path, spec: &PartitionSpec) -> Result<Self> {
        let (p, h) = load_header::<T>(ctx, path, "load", 0, spec)?;
        if h.shape.len() != 1 {
            return Err(Error::InvalidArgument(format!(
                "cannot load '{}' into a 1-D container: the file holds a {}-d array of shape {:?}; \
                 load it as a DistributedTensor",
                p.shown(),
                h.shape.len(),
                h.shape
            )));
        }
        let n = h.shape[0];
        let part = spec.layout(n, ctx.size()).map_err(|e| prefixed(&format!("cannot load '{}'", p.shown()), e))?;
        let (data, _) = read_blocks::<T>(ctx, &p, &h)?;
        let blk = Layout::Block(Block::new(n, ctx.size()));
        let data = crate::containers::redistribute::redistribute_1d(ctx, data, &blk, &part, T::ZERO)?;
        Distributed1D::assemble(ctx, part, data)
    }
}

/// `load` for the 1-D newtypes.
macro_rules! one_d_load {
    ($name:ident) => {
        impl<T: Element> $name<T> {
            /// Reads a 1-d `.npy` file (any format version, either byte
            /// order) into a new container laid out by `spec`. Rank 0
            /// validates the header and broadcasts it; every rank reads its
            /// block in one `MPI_File_read_at_all`, then one `MPI_Alltoallv`
            /// moves the elements to `spec` unless it is the block layout.
            /// Collective: every rank passes the same path, `T` and spec.
            /// See the [module docs](crate::io).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] on every rank, with the same
            /// message naming the file, if the file is missing, unreadable,
            /// not a `.npy` file, truncated, of an unsupported dtype or of a
            /// dtype other than `T`, not 1-d, or if `spec` does not fit its
            /// size; [`Error::Communication`] for other MPI-IO failures;
            /// [`Error::Mismatch`] if ranks pass different arguments.
            pub fn load(ctx: &Context, path: impl AsRef<Path>, spec: &PartitionSpec) -> Result<Self> {
                Distributed1D::load_impl(ctx, path.as_ref(), spec).map($name)
            }
        }
    };
}
one_d_load!(DistributedVector);
one_d_load!(DistributedArray);

impl<T: Element> DistributedTensor<T> {
    /// Reads an N-d `.npy` file (`1 <= ndim <= 8`; C or Fortran order,
    /// either byte order, any format version) into a new tensor split along
    /// `axis` by `spec`. Rank 0 validates the header and broadcasts it;
    /// every rank reads a block of rows in one `MPI_File_read_at_all`
    /// (rows of axis 0, or of the last axis for Fortran-order files, then
    /// transposed locally), then one `MPI_Alltoallv` moves them to `axis`
    /// and `spec` unless they are already there. Collective: every rank
    /// passes the same path, `T`, axis and spec. See the
    /// [module docs](crate::io).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on every rank, with the same message
    /// naming the file, if the file is missing, unreadable, not a `.npy`
    /// file, truncated, of an unsupported dtype or of a dtype other than
    /// `T`, 0-d or of more than 8 dimensions, if `axis >= ndim`, or if
    /// `spec` does not fit `shape[axis]`; [`Error::Communication`] for other
    /// MPI-IO failures; [`Error::Mismatch`] if ranks pass different
    /// arguments.
    pub fn load(ctx: &Context, path: impl AsRef<Path>, axis: usize, spec: &PartitionSpec) -> Result<Self> {
        let (p, h) = load_header::<T>(ctx, path.as_ref(), "load", axis, spec)?;
        let shown = p.shown().to_string();
        let shape = h.shape.clone();
        let nd = shape.len();
        let bad = |m: String| Error::InvalidArgument(format!("cannot load '{shown}': {m}"));
        if nd == 0 || nd > 8 {
            return Err(bad(format!("a tensor needs 1 to 8 dimensions; the file holds a {nd}-d array")));
        }
        if axis >= nd {
            return Err(bad(format!("axis must be in 0..{nd} for the file's shape {shape:?}, got {axis}")));
        }
        let part = spec.layout(shape[axis], ctx.size()).map_err(|e| prefixed(&format!("cannot load '{shown}'"), e))?;
        let (data, old_axis) = read_blocks::<T>(ctx, &p, &h)?;
        let old = Layout::Block(Block::new(shape[old_axis], ctx.size()));
        let data = if old_axis == axis && old == part {
            data
        } else {
            let mv = Move { old_shape: &shape, old_axis, old: &old, new_shape: &shape, new_axis: axis, new: &part };
            redistribute(ctx, data, &mv, T::ZERO)?
        };
        DistributedTensor::from_parts(ctx, shape, axis, part, data)
    }
}
