//! Host buffers for large local parts and message buffers.
//!
//! Fresh anonymous memory is faulted in page by page on first touch; with
//! 4 KiB pages that costs about 2 µs per page in a VM (20 ms for a 40 MB
//! receive buffer — more than the `MPI_Alltoallv` that fills it). Like
//! NumPy (which does the same for arrays of 4 MiB and more), dtl asks
//! Linux for transparent huge pages on large buffers with
//! `madvise(MADV_HUGEPAGE)`, which matters where THP is in `madvise` mode
//! (the Debian default).

/// Buffers of at least this many bytes ask for huge pages (NumPy's threshold).
const HUGE_PAGE_MIN_BYTES: usize = 1 << 22;

/// Asks for transparent huge pages on the capacity of `v` if it is large.
/// A hint only: the result of `madvise` is deliberately ignored (kernels
/// without THP refuse it and nothing changes). Call it before the buffer
/// is first written.
pub(crate) fn advise_huge_pages<T>(v: &mut Vec<T>) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = v.as_mut_ptr() as usize;
        let aligned = start.next_multiple_of(PAGE);
        let len = (start + bytes - aligned) / PAGE * PAGE;
        // SAFETY: `[aligned, aligned + len)` lies inside the allocation of
        // `v`'s capacity; MADV_HUGEPAGE changes no contents, only how the
        // kernel backs the pages.
        unsafe { libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
}

/// `n` zeros, with huge pages requested when large. Zeros come from
/// `calloc`, i.e. from fresh pages the kernel has already cleared, so the
/// buffer is not written twice.
pub(crate) fn zeroed<T: crate::element::Element>(n: usize) -> Vec<T> {
    let mut v = vec![T::ZERO; n];
    advise_huge_pages(&mut v);
    v
}

/// An empty vector with room for `n` elements, huge pages requested when
/// large (see [`advise_huge_pages`]).
pub(crate) fn with_capacity<T>(n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise_huge_pages(&mut v);
    v
}
