//! CPU affinity of the calling process, over Linux `sched_getaffinity(2)`
//! and `sched_setaffinity(2)` (through `libc`). The only `unsafe` code of
//! [`crate::topology`]; every return code is checked.
//!
//! CPU ids are the kernel's logical CPU numbers (what `taskset`,
//! `/proc/self/status` `Cpus_allowed_list` and Python's
//! `os.sched_getaffinity` use). The masks grow as needed, so machines with
//! more than 1024 CPUs work. None of these calls communicates.
//!
//! ```
//! let cpus = dtl_core::topology::affinity::get()?;
//! assert!(!cpus.is_empty() && cpus.windows(2).all(|w| w[0] < w[1]));
//! # Ok::<(), dtl_core::Error>(())
//! ```

use crate::error::{Error, Result};

/// The largest CPU id dtl accepts (the kernel's `NR_CPUS` is at most 8192
/// on common distributions; masks up to 2^20 bits are tried).
pub const MAX_CPUS: usize = 1 << 20;

#[cfg(target_os = "linux")]
mod imp {
    use super::{Error, Result, MAX_CPUS};
    use libc::c_ulong;

    const BITS: usize = c_ulong::BITS as usize;
    /// `sizeof(cpu_set_t)` in words: the first mask size tried.
    const START_WORDS: usize = std::mem::size_of::<libc::cpu_set_t>() / std::mem::size_of::<c_ulong>();

    fn decode(mask: &[c_ulong]) -> Vec<usize> {
        let mut out = Vec::new();
        for (w, &word) in mask.iter().enumerate() {
            for b in 0..BITS {
                if word & (1 << b) != 0 {
                    out.push(w * BITS + b);
                }
            }
        }
        out
    }

    fn encode(cpus: &[usize]) -> Vec<c_ulong> {
        let max = cpus.iter().copied().max().unwrap_or(0);
        let mut mask: Vec<c_ulong> = vec![0; (max / BITS + 1).max(START_WORDS)];
        for &c in cpus {
            mask[c / BITS] |= 1 << (c % BITS);
        }
        mask
    }

    pub fn get(tid: libc::pid_t) -> Result<Vec<usize>> {
        let mut words = START_WORDS.max(1);
        loop {
            let mut mask: Vec<c_ulong> = vec![0; words];
            let bytes = words * std::mem::size_of::<c_ulong>();
            // SAFETY: `mask` is a live, writable buffer of `bytes` bytes with
            // the alignment of `c_ulong`, the element type of `cpu_set_t`;
            // the kernel writes at most `bytes` bytes (glibc zero-fills the
            // rest of the buffer).
            let rc = unsafe { libc::sched_getaffinity(tid, bytes, mask.as_mut_ptr().cast::<libc::cpu_set_t>()) };
            if rc == 0 {
                return Ok(decode(&mask));
            }
            let err = std::io::Error::last_os_error();
            // EINVAL: the kernel's mask is larger than ours; try a larger one.
            if err.raw_os_error() == Some(libc::EINVAL) && words * BITS < MAX_CPUS {
                words *= 2;
                continue;
            }
            return Err(Error::Backend(format!("sched_getaffinity(tid {tid}) failed: {err}")));
        }
    }

    pub fn set(tid: libc::pid_t, cpus: &[usize]) -> std::io::Result<()> {
        let mask = encode(cpus);
        let bytes = mask.len() * std::mem::size_of::<c_ulong>();
        // SAFETY: `mask` is a live buffer of `bytes` bytes with the alignment
        // of `c_ulong`; the kernel only reads it.
        let rc = unsafe { libc::sched_setaffinity(tid, bytes, mask.as_ptr().cast::<libc::cpu_set_t>()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// The thread ids of this process (`/proc/self/task`).
    pub fn threads() -> Result<Vec<libc::pid_t>> {
        let dir = std::fs::read_dir("/proc/self/task")
            .map_err(|e| Error::Backend(format!("cannot list this process's threads in /proc/self/task: {e}")))?;
        let mut tids = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| Error::Backend(format!("cannot read /proc/self/task: {e}")))?;
            if let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse::<libc::pid_t>().ok()) {
                tids.push(tid);
            }
        }
        Ok(tids)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn encode_decode_round_trip() {
            for cpus in [vec![0], vec![0, 1, 63, 64, 65], vec![5, 1023, 1024, 4000]] {
                assert_eq!(decode(&encode(&cpus)), cpus);
            }
            assert!(encode(&[0]).len() >= START_WORDS);
        }
    }
}

fn check_set(cpus: &[usize]) -> Result<Vec<usize>> {
    if cpus.is_empty() {
        return Err(Error::InvalidArgument("cpus must name at least one CPU, got an empty set".into()));
    }
    if let Some(&c) = cpus.iter().find(|&&c| c >= MAX_CPUS) {
        return Err(Error::InvalidArgument(format!("cpu ids must be in 0..{MAX_CPUS}, got {c}")));
    }
    let mut v = cpus.to_vec();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

fn rejected(cpus: &[usize], err: std::io::Error) -> Error {
    let list = super::cpu_list(cpus);
    if err.raw_os_error() == Some(libc::EINVAL) {
        Error::InvalidArgument(format!(
            "cpus {list}: none of them is online and allowed to this process (sched_setaffinity: {err})"
        ))
    } else {
        Error::Backend(format!("sched_setaffinity to cpus {list} failed: {err}"))
    }
}

/// The CPUs the calling thread may run on, sorted ascending
/// (`sched_getaffinity(0)`). Not collective.
///
/// # Errors
/// [`Error::Backend`] if the system call fails; [`Error::NotSupported`]
/// on systems other than Linux.
pub fn get() -> Result<Vec<usize>> {
    #[cfg(target_os = "linux")]
    {
        imp::get(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Error::NotSupported("CPU affinity needs Linux sched_getaffinity".into()))
    }
}

/// Restricts the calling thread to `cpus` (`sched_setaffinity(0)`); threads
/// it starts afterwards inherit the set. Not collective.
///
/// # Errors
/// [`Error::InvalidArgument`] if `cpus` is empty, names an id `>= MAX_CPUS`,
/// or names no CPU that is online and allowed to this process (`EINVAL`);
/// [`Error::Backend`] for any other failure; [`Error::NotSupported`]
/// off Linux.
pub fn set_thread(cpus: &[usize]) -> Result<()> {
    let cpus = check_set(cpus)?;
    #[cfg(target_os = "linux")]
    {
        imp::set(0, &cpus).map_err(|e| rejected(&cpus, e))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Error::NotSupported("CPU affinity needs Linux sched_setaffinity".into()))
    }
}

/// Restricts the whole process — the calling thread first, then every other
/// thread listed in `/proc/self/task` (as hwloc binds a process) — to `cpus`
/// (`sched_setaffinity` per thread). Threads started afterwards inherit the
/// set. A thread that exits meanwhile (`ESRCH`) is skipped. Not collective.
///
/// # Errors
/// As [`set_thread`] for the calling thread; [`Error::Backend`] if
/// `/proc/self/task` cannot be read or another thread cannot be bound (the
/// calling thread is bound by then).
pub fn set(cpus: &[usize]) -> Result<()> {
    set_thread(cpus)?;
    #[cfg(target_os = "linux")]
    {
        let cpus = check_set(cpus)?;
        for tid in imp::threads()? {
            if let Err(e) = imp::set(tid, &cpus) {
                if e.raw_os_error() != Some(libc::ESRCH) {
                    return Err(Error::Backend(format!(
                        "sched_setaffinity(tid {tid}) to cpus {} failed: {e}",
                        super::cpu_list(&cpus)
                    )));
                }
            }
        }
    }
    Ok(())
}
