//! Opaque handles: boxed Rust objects behind C pointers, validated on
//! every call.
//!
//! Two independent checks guard every handle argument:
//!
//! 1. a process-wide registry of live handles (address -> kind), consulted
//!    *before* the pointer is dereferenced, so a destroyed handle (double
//!    destroy, use after destroy), a handle of another kind or a pointer dtl
//!    never returned is rejected without touching its memory;
//! 2. a magic tag as the first field of every handle struct, checked after
//!    the registry and cleared on destroy, which catches memory corruption
//!    and makes handles easy to recognise in a debugger or core dump.
//!
//! A freed address can be reused by a later handle of the same kind; a
//! stale pointer to it then refers to the new handle. That (ABA) case is the
//! one misuse that cannot be detected.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use dtl_core::{Error, Result};

/// Live handles: address -> the C type name of the handle there.
static LIVE: Mutex<BTreeMap<usize, &'static str>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<usize, &'static str>> {
    // Poisoning only means a panic while the lock was held; the map is
    // still consistent (each update is one insert or remove).
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A Rust type exposed to C as an opaque handle.
pub(crate) trait Handle: Sized + 'static {
    /// The value of the tag field in a live handle.
    const TAG: u64;
    /// The C typedef of the handle, for error messages (`"dtl_context_t"`).
    const C_TYPE: &'static str;
    /// The tag field.
    fn tag(&self) -> u64;
    /// Overwrites the tag field (on destroy).
    fn set_tag(&mut self, tag: u64);
}

/// The tag value left in a destroyed handle.
pub(crate) const DEAD_TAG: u64 = u64::from_be_bytes(*b"dtl_dead");

/// Boxes `value`, registers it as live and returns the C handle.
pub(crate) fn new_handle<H: Handle>(value: H) -> *mut H {
    debug_assert_eq!(value.tag(), H::TAG);
    let p = Box::into_raw(Box::new(value));
    live().insert(p as usize, H::C_TYPE);
    p
}

/// Checks the registry entry and tag of `p`; `arg` names the argument.
/// Caller holds the registry lock.
fn check<H: Handle>(map: &BTreeMap<usize, &'static str>, p: *mut H, arg: &str) -> Result<()> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!(
            "{arg} is NULL; pass a {} returned by a successful dtl call",
            H::C_TYPE
        )));
    }
    match map.get(&(p as usize)) {
        Some(&kind) if kind == H::C_TYPE => {}
        Some(&kind) => {
            return Err(Error::InvalidArgument(format!("{arg} ({p:p}) is a {kind}, not a {}", H::C_TYPE)));
        }
        None => {
            return Err(Error::InvalidArgument(format!(
                "{arg} ({p:p}) is not a live {}: it was already destroyed, or was never returned by dtl",
                H::C_TYPE
            )));
        }
    }
    // SAFETY: the registry says `p` is a live, boxed `H`.
    let tag = unsafe { (*p).tag() };
    if tag != H::TAG {
        return Err(Error::InvalidArgument(format!(
            "{arg} ({p:p}) has tag {tag:#018x}, not the {} tag {:#018x} (memory corruption?)",
            H::C_TYPE,
            H::TAG
        )));
    }
    Ok(())
}

/// The object behind handle `p`, validated, for reading.
///
/// # Safety
/// The returned reference must not outlive the handle: no other thread may
/// destroy or modify the handle meanwhile (the documented threading rule of
/// the C API).
pub(crate) unsafe fn handle_ref<'a, H: Handle>(p: *mut H, arg: &str) -> Result<&'a H> {
    check(&live(), p, arg)?;
    // SAFETY: validated above; no concurrent destroy is the caller's contract.
    Ok(unsafe { &*p })
}

/// The object behind handle `p`, validated, for modification.
///
/// # Safety
/// As [`handle_ref`], and no other thread may use the handle meanwhile.
pub(crate) unsafe fn handle_mut<'a, H: Handle>(p: *mut H, arg: &str) -> Result<&'a mut H> {
    check(&live(), p, arg)?;
    // SAFETY: validated above; exclusivity is the caller's contract.
    Ok(unsafe { &mut *p })
}

/// Validates `p`, unregisters it, clears its tag and drops it. A second
/// destroy of the same handle fails with `InvalidArgument`.
///
/// # Safety
/// As [`handle_mut`].
pub(crate) unsafe fn destroy_handle<H: Handle>(p: *mut H, arg: &str) -> Result<()> {
    {
        let mut map = live();
        check(&map, p, arg)?;
        map.remove(&(p as usize));
    }
    // SAFETY: `p` came from `Box::into_raw` in `new_handle` and was live; it
    // is no longer registered, so no other call can reach it.
    let mut b = unsafe { Box::from_raw(p) };
    b.set_tag(DEAD_TAG);
    drop(b);
    Ok(())
}

/// The C type name of the live handle at `p` ("dtl_vector_t", ...), or
/// `None` if `p` is not a live handle. Does not dereference `p`.
pub(crate) fn kind_of<T>(p: *const T) -> Option<&'static str> {
    live().get(&(p as usize)).copied()
}

/// Number of live handles of kind `H` (tests and diagnostics).
#[cfg(test)]
pub(crate) fn live_count<H: Handle>() -> usize {
    live().values().filter(|&&k| k == H::C_TYPE).count()
}

/// Checks an output pointer: non-NULL and aligned for `T`.
///
/// # Safety
/// `p` must be NULL or point to memory writable as a `T`.
pub(crate) unsafe fn out_ptr<'a, T>(p: *mut T, arg: &str) -> Result<&'a mut T> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{arg} is NULL; pass the address of the output variable")));
    }
    if !p.is_aligned() {
        return Err(Error::InvalidArgument(format!(
            "{arg} ({p:p}) is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    // SAFETY: non-NULL and aligned; validity is the caller's contract.
    Ok(unsafe { &mut *p })
}

/// Checks an input pointer: non-NULL and aligned for `T`.
///
/// # Safety
/// `p` must be NULL or point to a readable, initialized `T`.
pub(crate) unsafe fn in_ptr<'a, T>(p: *const T, arg: &str) -> Result<&'a T> {
    if p.is_null() {
        return Err(Error::InvalidArgument(format!("{arg} is NULL")));
    }
    if !p.is_aligned() {
        return Err(Error::InvalidArgument(format!(
            "{arg} ({p:p}) is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    // SAFETY: non-NULL and aligned; validity is the caller's contract.
    Ok(unsafe { &*p })
}
