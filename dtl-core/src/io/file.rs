//! Every raw MPI-IO call of dtl, quarantined here (rsmpi wraps no MPI-IO).
//!
//! [`File`] is a small RAII wrapper over an `MPI_File` handle: it sets
//! `MPI_ERRORS_RETURN` on the handle right after `MPI_File_open`, checks
//! every return code (an [`Error`] naming the MPI call and the path), splits
//! transfers above `i32::MAX` bytes into several calls, and closes the file
//! on drop if [`File::close`] was not called. All offsets and counts are in
//! bytes (the default file view: etype and filetype `MPI_BYTE`-sized, here
//! `MPI_UINT8_T`, native data representation).
//!
//! Collectiveness follows MPI: `open`, `set_size`, `*_all` and `close` are
//! collective over the communicator the file was opened on; `size`,
//! `read_at`, `write_at` and [`delete`] are not.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicUsize, Ordering};

use mpi::ffi;

use crate::error::{Error, Result};
use crate::raw::RawComm;

/// Default largest single transfer: 1 GiB, well below `i32::MAX` bytes.
const DEFAULT_CHUNK: usize = 1 << 30;

static CHUNK: AtomicUsize = AtomicUsize::new(DEFAULT_CHUNK);

/// The largest number of bytes one MPI-IO call moves (1 GiB unless changed
/// by [`set_chunk_bytes`]).
pub(crate) fn chunk_bytes() -> usize {
    CHUNK.load(Ordering::Relaxed)
}

/// Sets the largest number of bytes one MPI-IO call moves (clamped to
/// `1..=i32::MAX`); returns the previous value. For tests of the chunking
/// (every rank must set the same value before a collective save or load).
pub(crate) fn set_chunk_bytes(n: usize) -> usize {
    CHUNK.swap(n.clamp(1, i32::MAX as usize), Ordering::Relaxed)
}

/// How many chunked calls a transfer of `bytes` bytes takes.
pub(crate) fn rounds_for(bytes: u64) -> usize {
    bytes.div_ceil(chunk_bytes() as u64) as usize
}

/// How a [`File`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `MPI_MODE_RDONLY`.
    Read,
    /// `MPI_MODE_WRONLY | MPI_MODE_CREATE` (an existing file is opened
    /// as is: truncate it with [`File::set_size`]).
    CreateWrite,
}

/// A path as MPI wants it (a NUL-terminated byte string) and as messages
/// show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpiPath {
    c: CString,
    shown: String,
    path: std::path::PathBuf,
}

impl MpiPath {
    /// Converts a filesystem path.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty path or one containing a NUL
    /// byte.
    pub(crate) fn new(path: &std::path::Path) -> Result<MpiPath> {
        let shown = path.display().to_string();
        #[cfg(unix)]
        let bytes = {
            use std::os::unix::ffi::OsStrExt;
            path.as_os_str().as_bytes().to_vec()
        };
        #[cfg(not(unix))]
        let bytes = path
            .to_str()
            .ok_or_else(|| Error::InvalidArgument(format!("path '{shown}' is not valid Unicode")))?
            .as_bytes()
            .to_vec();
        if bytes.is_empty() {
            return Err(Error::InvalidArgument("path must not be empty".into()));
        }
        let c =
            CString::new(bytes).map_err(|_| Error::InvalidArgument(format!("path '{shown}' contains a NUL byte")))?;
        Ok(MpiPath { c, shown, path: path.to_path_buf() })
    }

    /// The path itself.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The path for messages.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The raw bytes (for agreement hashes).
    pub(crate) fn bytes(&self) -> &[u8] {
        self.c.as_bytes()
    }

    fn c_ptr(&self) -> *const c_char {
        self.c.as_ptr()
    }
}

/// The MPI error class and message of a return code.
fn describe(rc: c_int) -> (c_int, String) {
    let mut class: c_int = rc;
    // SAFETY: `class` is a valid out-pointer; MPI_Error_class may be called
    // with any code (it returns an error for an invalid one, ignored here).
    let _ = unsafe { ffi::MPI_Error_class(rc, &mut class) };
    let mut buf = vec![0 as c_char; ffi::MPI_MAX_ERROR_STRING as usize + 1];
    let mut len: c_int = 0;
    // SAFETY: `buf` holds MPI_MAX_ERROR_STRING + 1 chars as the standard
    // requires; `len` is a valid out-pointer.
    let ok = unsafe { ffi::MPI_Error_string(rc, buf.as_mut_ptr(), &mut len) } == ffi::MPI_SUCCESS as c_int;
    let text = if ok {
        // SAFETY: MPI_Error_string writes a NUL-terminated string into buf.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().trim().to_string()
    } else {
        format!("MPI error code {rc}")
    };
    (class, text)
}

/// Maps an MPI-IO return code to `Ok` or to an error naming `call` and the
/// path: [`Error::InvalidArgument`] for the classes that mean the path is
/// wrong (no such file, access denied, a bad file name, read-only file
/// system, file exists), [`Error::Communication`] for the rest (I/O errors,
/// no space left, …).
pub(crate) fn io_check(rc: c_int, call: &str, path: &str) -> Result<()> {
    if rc == ffi::MPI_SUCCESS as c_int {
        return Ok(());
    }
    let (class, text) = describe(rc);
    let user_side = [
        ffi::MPI_ERR_NO_SUCH_FILE,
        ffi::MPI_ERR_ACCESS,
        ffi::MPI_ERR_BAD_FILE,
        ffi::MPI_ERR_FILE_EXISTS,
        ffi::MPI_ERR_READ_ONLY,
        ffi::MPI_ERR_AMODE,
    ];
    let msg = format!("{call} failed on '{path}': {text} (MPI error class {class})");
    if user_side.iter().any(|&c| c as c_int == class) {
        Err(Error::InvalidArgument(msg))
    } else {
        Err(Error::Communication(msg))
    }
}

/// `MPI_COMM_SELF` of the MPI library dtl is linked against.
pub(crate) fn comm_self() -> RawComm {
    // SAFETY: reading an immutable constant exported by rsmpi's C shim.
    unsafe { ffi::RSMPI_COMM_SELF }
}

/// Deletes a file (`MPI_File_delete`). Not collective.
///
/// # Errors
/// As [`io_check`].
pub(crate) fn delete(path: &MpiPath) -> Result<()> {
    // SAFETY: the path is a valid NUL-terminated string; MPI_INFO_NULL is a
    // constant of the MPI library.
    let rc = unsafe { ffi::MPI_File_delete(path.c_ptr(), ffi::RSMPI_INFO_NULL) };
    io_check(rc, "MPI_File_delete", path.shown())
}

/// An open MPI file. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct File {
    fh: ffi::MPI_File,
    path: String,
}

/// A pointer MPI may be given for a zero-byte transfer: never dangling.
static EMPTY: [u8; 1] = [0];

impl File {
    /// Opens `path` on every rank of `comm` (`MPI_File_open`, then
    /// `MPI_File_set_errhandler(MPI_ERRORS_RETURN)`). Collective over
    /// `comm`.
    ///
    /// # Errors
    /// As [`io_check`]; the error may differ across ranks (MPI does not
    /// promise that every rank fails alike).
    pub(crate) fn open(comm: RawComm, path: &MpiPath, mode: Mode) -> Result<File> {
        let amode = match mode {
            Mode::Read => ffi::MPI_MODE_RDONLY,
            Mode::CreateWrite => ffi::MPI_MODE_WRONLY | ffi::MPI_MODE_CREATE,
        } as c_int;
        // SAFETY: reading an immutable constant of the MPI library.
        let mut fh = unsafe { ffi::RSMPI_FILE_NULL };
        // SAFETY: `comm` is a live communicator (the caller's context holds
        // it), the path is NUL-terminated, `fh` is a valid out-pointer.
        let rc = unsafe { ffi::MPI_File_open(comm, path.c_ptr(), amode, ffi::RSMPI_INFO_NULL, &mut fh) };
        io_check(rc, "MPI_File_open", path.shown())?;
        let file = File { fh, path: path.shown().to_string() };
        // SAFETY: `fh` is the open handle just returned; ERRORS_RETURN is a
        // constant of the MPI library.
        let rc = unsafe { ffi::MPI_File_set_errhandler(file.fh, ffi::RSMPI_ERRORS_RETURN) };
        // On failure `file` is dropped, which closes it: collective, and
        // every rank fails here alike in practice (a constant handler).
        io_check(rc, "MPI_File_set_errhandler", &file.path)?;
        Ok(file)
    }

    /// The file's size in bytes (`MPI_File_get_size`). Not collective.
    pub(crate) fn size(&self) -> Result<u64> {
        let mut n: ffi::MPI_Offset = 0;
        // SAFETY: `fh` is open; `n` is a valid out-pointer.
        let rc = unsafe { ffi::MPI_File_get_size(self.fh, &mut n) };
        io_check(rc, "MPI_File_get_size", &self.path)?;
        u64::try_from(n)
            .map_err(|_| Error::Communication(format!("MPI_File_get_size returned {n} for '{}'", self.path)))
    }

    /// Sets the file's size to `bytes` (`MPI_File_set_size`): truncates
    /// anything beyond, extends with zeros. Collective.
    pub(crate) fn set_size(&self, bytes: u64) -> Result<()> {
        let n = offset(bytes, &self.path)?;
        // SAFETY: `fh` is open.
        let rc = unsafe { ffi::MPI_File_set_size(self.fh, n) };
        io_check(rc, "MPI_File_set_size", &self.path)
    }

    /// Reads `buf.len()` bytes at byte offset `at` (`MPI_File_read_at`, in
    /// chunks). Not collective. Returns the number of bytes read, which is
    /// smaller than `buf.len()` only at the end of the file.
    pub(crate) fn read_at(&self, at: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        for piece in buf.chunks_mut(chunk_bytes()) {
            let want = piece.len();
            // SAFETY: `fh` is open; `piece` is a writable buffer of `want`
            // bytes (want <= i32::MAX by the chunk size); the status is a
            // valid out-pointer.
            let got = self.transfer("MPI_File_read_at", at + done as u64, want, |off, n, st| unsafe {
                ffi::MPI_File_read_at(self.fh, off, piece.as_mut_ptr().cast(), n, ffi::RSMPI_UINT8_T, st)
            })?;
            done += got;
            if got < want {
                break;
            }
        }
        Ok(done)
    }

    /// Writes `buf` at byte offset `at` (`MPI_File_write_at`, in chunks).
    /// Not collective.
    pub(crate) fn write_at(&self, at: u64, buf: &[u8]) -> Result<()> {
        let mut done = 0u64;
        for piece in buf.chunks(chunk_bytes()) {
            // SAFETY: `fh` is open; `piece` is a readable buffer of its
            // length (<= i32::MAX); the status is a valid out-pointer.
            let got = self.transfer("MPI_File_write_at", at + done, piece.len(), |off, n, st| unsafe {
                ffi::MPI_File_write_at(self.fh, off, piece.as_ptr().cast(), n, ffi::RSMPI_UINT8_T, st)
            })?;
            self.check_full("MPI_File_write_at", got, piece.len())?;
            done += piece.len() as u64;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at byte offset `at` with exactly `rounds`
    /// calls of `MPI_File_read_at_all` (the chunks, then zero-byte calls),
    /// so that ranks with different amounts stay matched: every rank passes
    /// the same `rounds`, at least `rounds_for(buf.len())`. Collective.
    /// After a failed call the rank still makes its remaining calls (with
    /// zero bytes) and returns the first error. `buf` may be uninitialised:
    /// on `Ok`, every byte of it has been written.
    ///
    /// # Errors
    /// As [`io_check`], or [`Error::Communication`] for a short read.
    pub(crate) fn read_at_all(&self, at: u64, buf: &mut [MaybeUninit<u8>], rounds: usize) -> Result<()> {
        let chunk = chunk_bytes();
        let mut first_err = None;
        let total = buf.len();
        let mut scratch = [MaybeUninit::<u8>::uninit()];
        for k in 0..rounds {
            let start = (k * chunk).min(total);
            let end = ((k + 1) * chunk).min(total);
            let want = if first_err.is_some() { 0 } else { end - start };
            let ptr = if want == 0 { scratch.as_mut_ptr() } else { buf[start..end].as_mut_ptr() };
            // SAFETY: `fh` is open; `ptr` points at `want` writable bytes
            // (or at a scratch byte when want == 0, which MPI does not
            // touch); the status is a valid out-pointer.
            let r = self.transfer("MPI_File_read_at_all", at + start as u64, want, |off, n, st| unsafe {
                ffi::MPI_File_read_at_all(self.fh, off, ptr.cast(), n, ffi::RSMPI_UINT8_T, st)
            });
            // A full count for every call is what makes `buf` initialised.
            let r = r.and_then(|got| self.check_full("MPI_File_read_at_all", got, want));
            if let (Err(e), None) = (r, &first_err) {
                first_err = Some(e);
            }
        }
        if first_err.is_none() && rounds_for(total as u64) > rounds {
            first_err = Some(Error::Internal(format!("read_at_all: {total} bytes need more than {rounds} rounds")));
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Writes `buf` at byte offset `at` with exactly `rounds` calls of
    /// `MPI_File_write_at_all`, as [`read_at_all`](Self::read_at_all).
    /// Collective.
    pub(crate) fn write_at_all(&self, at: u64, buf: &[u8], rounds: usize) -> Result<()> {
        let chunk = chunk_bytes();
        let mut first_err = None;
        let total = buf.len();
        for k in 0..rounds {
            let start = (k * chunk).min(total);
            let end = ((k + 1) * chunk).min(total);
            let want = if first_err.is_some() { 0 } else { end - start };
            let ptr = if want == 0 { EMPTY.as_ptr() } else { buf[start..end].as_ptr() };
            // SAFETY: `fh` is open; `ptr` points at `want` readable bytes;
            // the status is a valid out-pointer.
            let r = self.transfer("MPI_File_write_at_all", at + start as u64, want, |off, n, st| unsafe {
                ffi::MPI_File_write_at_all(self.fh, off, ptr.cast(), n, ffi::RSMPI_UINT8_T, st)
            });
            let r = r.and_then(|got| self.check_full("MPI_File_write_at_all", got, want));
            if let (Err(e), None) = (r, &first_err) {
                first_err = Some(e);
            }
        }
        if first_err.is_none() && rounds_for(total as u64) > rounds {
            first_err = Some(Error::Internal(format!("write_at_all: {total} bytes need more than {rounds} rounds")));
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Closes the file (`MPI_File_close`), flushing it. Collective.
    pub(crate) fn close(mut self) -> Result<()> {
        let r = self.close_inner();
        // Closed, or unusable after a failed close: keep `Drop` from trying
        // again (a collective call on some ranks only could hang). The
        // path is freed as usual (forgetting `self` leaked it).
        // SAFETY: reading an immutable constant of the MPI library.
        self.fh = unsafe { ffi::RSMPI_FILE_NULL };
        r
    }

    /// Gives up the handle without closing it. For the rare case where some
    /// ranks opened the file and others failed to: closing is collective
    /// and would hang, so the ranks that succeeded keep the handle (a small
    /// leak) instead.
    pub(crate) fn leak(mut self) {
        // SAFETY: reading an immutable constant of the MPI library.
        self.fh = unsafe { ffi::RSMPI_FILE_NULL };
    }

    fn close_inner(&mut self) -> Result<()> {
        // SAFETY: reading an immutable constant of the MPI library.
        if self.fh == unsafe { ffi::RSMPI_FILE_NULL } || mpi::environment::is_finalized() {
            return Ok(());
        }
        // SAFETY: `fh` is open; MPI_File_close sets it to MPI_FILE_NULL.
        let rc = unsafe { ffi::MPI_File_close(&mut self.fh) };
        io_check(rc, "MPI_File_close", &self.path)
    }

    /// Runs one transfer call of `want` bytes at `at` and returns the number
    /// of bytes it moved (`MPI_Get_count` of its status).
    fn transfer(
        &self,
        call: &str,
        at: u64,
        want: usize,
        f: impl FnOnce(ffi::MPI_Offset, c_int, *mut ffi::MPI_Status) -> c_int,
    ) -> Result<usize> {
        let off = offset(at, &self.path)?;
        let n = c_int::try_from(want)
            .map_err(|_| Error::Internal(format!("{call}: chunk of {want} bytes exceeds i32::MAX")))?;
        // SAFETY: MPI_Status is a plain C struct; all-zero is a valid value.
        let mut st: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        io_check(f(off, n, &mut st), call, &self.path)?;
        let mut got: c_int = 0;
        // SAFETY: `st` was filled by the transfer; `got` is a valid
        // out-pointer.
        let rc = unsafe { ffi::MPI_Get_count(&st, ffi::RSMPI_UINT8_T, &mut got) };
        io_check(rc, "MPI_Get_count", &self.path)?;
        // MPI_UNDEFINED (negative) cannot happen for a byte type; treat it
        // as "nothing moved".
        Ok(usize::try_from(got).unwrap_or(0))
    }

    fn check_full(&self, call: &str, got: usize, want: usize) -> Result<()> {
        if got == want {
            Ok(())
        } else {
            Err(Error::Communication(format!(
                "{call} on '{}' moved {got} of {want} bytes (the file is shorter than expected, or the disk is full)",
                self.path
            )))
        }
    }
}

impl Drop for File {
    /// Closes the file if [`File::close`] was not called (collective, like
    /// `MPI_File_close`; errors are ignored here).
    fn drop(&mut self) {
        let _ = self.close_inner();
    }
}

fn offset(at: u64, path: &str) -> Result<ffi::MPI_Offset> {
    ffi::MPI_Offset::try_from(at)
        .map_err(|_| Error::InvalidArgument(format!("offset {at} in '{path}' exceeds MPI_Offset's range")))
}
