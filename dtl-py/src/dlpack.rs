//! DLPack export (`__dlpack__` / `__dlpack_device__`) of a container's local
//! part, zero copy: the un-versioned `DLManagedTensor` in a `"dltensor"`
//! capsule, as the DLPack specification (v0.8) lays them out. The capsule's
//! manager context holds a strong reference to the container and a view
//! token (so `resize` refuses while a consumer holds the memory); the
//! deleter releases them under the GIL. The raw CPython capsule API is used
//! because consumers rename the capsule (`"used_dltensor"`) and call the
//! deleter themselves, which PyO3's typed capsules do not allow.

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use dtl_core::DType;
use pyo3::ffi;
use pyo3::prelude::*;

/// `kDLCPU`.
const DL_CPU: i32 = 1;
/// `kDLCUDA`.
const DL_CUDA: i32 = 2;
/// `kDLCUDAManaged`.
const DL_CUDA_MANAGED: i32 = 13;

#[repr(C)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

/// What the capsule keeps alive.
struct Holder {
    _owner: Py<PyAny>,
    _views: Arc<()>,
    shape: Vec<i64>,
}

const NAME: &CStr = c"dltensor";

/// `(device_type, device_id)` for a store's `(placement, device id, host
/// accessible)`.
pub fn device_of((placement, device_id, _): (i32, i32, bool)) -> (i32, i32) {
    match placement {
        1 => (DL_CUDA, device_id),
        2 => (DL_CUDA_MANAGED, device_id),
        _ => (DL_CPU, 0),
    }
}

fn dl_dtype(d: DType) -> DLDataType {
    let code = if d.is_float() {
        2
    } else if matches!(d, DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64) {
        1
    } else {
        0
    };
    DLDataType { code, bits: (d.size_bytes() * 8) as u8, lanes: 1 }
}

unsafe extern "C" fn deleter(t: *mut DLManagedTensor) {
    if t.is_null() {
        return;
    }
    // SAFETY: `t` and its manager context were made by `capsule` below with
    // Box::into_raw and are freed exactly once, here.
    let managed = unsafe { Box::from_raw(t) };
    let holder = unsafe { Box::from_raw(managed.manager_ctx as *mut Holder) };
    // At interpreter exit (a consumer's array freed during finalisation)
    // the references can no longer be released: leave them. Never unwind
    // into the consumer's C code.
    // SAFETY: Py_IsInitialized may be called at any time.
    if unsafe { ffi::Py_IsInitialized() } == 0 {
        std::mem::forget(holder);
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Python::attach(|_| drop(holder))));
}

unsafe extern "C" fn capsule_destructor(capsule: *mut ffi::PyObject) {
    // SAFETY: called by CPython with the capsule; an unconsumed capsule
    // still has its original name and owns the tensor.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, NAME.as_ptr()) == 1 {
            let t = ffi::PyCapsule_GetPointer(capsule, NAME.as_ptr()) as *mut DLManagedTensor;
            deleter(t);
        }
    }
}

/// A `"dltensor"` capsule over `ptr` (C-contiguous, `shape`, dtype `dt`) on
/// `device` (from [`device_of`]), keeping `owner` alive. Not collective.
///
/// # Errors
/// A Python error if the capsule cannot be made.
pub fn capsule<'py>(
    py: Python<'py>,
    owner: Py<PyAny>,
    views: Arc<()>,
    ptr: u64,
    shape: &[usize],
    dt: DType,
    device: (i32, i32, bool),
) -> PyResult<Bound<'py, PyAny>> {
    let (device_type, device_id) = device_of(device);
    let mut holder =
        Box::new(Holder { _owner: owner, _views: views, shape: shape.iter().map(|&d| d as i64).collect() });
    let shape_ptr = holder.shape.as_mut_ptr();
    let managed = Box::new(DLManagedTensor {
        dl_tensor: DLTensor {
            data: ptr as *mut c_void,
            device: DLDevice { device_type, device_id },
            ndim: shape.len() as i32,
            dtype: dl_dtype(dt),
            shape: shape_ptr,
            strides: std::ptr::null_mut(),
            byte_offset: 0,
        },
        manager_ctx: Box::into_raw(holder) as *mut c_void,
        deleter: Some(deleter),
    });
    let raw = Box::into_raw(managed);
    // SAFETY: `raw` is a valid DLManagedTensor; the capsule owns it until a
    // consumer renames the capsule and takes it over.
    let cap = unsafe { ffi::PyCapsule_New(raw as *mut c_void, NAME.as_ptr(), Some(capsule_destructor)) };
    if cap.is_null() {
        // SAFETY: the capsule was not made, so `raw` is still ours.
        unsafe { deleter(raw) };
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `cap` is a new reference.
    Ok(unsafe { Bound::from_owned_ptr(py, cap) })
}
