//! One CUDA device as dtl uses it: the primary context, one stream, and
//! the kernels compiled for it (see [`crate::kernels`]).
//!
//! [`gpu`] hands out one shared [`Gpu`] per device ordinal per process.
//! Every call checks first that CUDA is usable ([`crate::require_cuda`]),
//! so nothing here panics on a machine without a driver. None of these
//! calls communicates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaStream, DeviceRepr, DriverError, ValidAsZeroBits};
use dtl_core::{DType, Element, Error, Result};

use crate::kernels::Kernels;

/// Element types that can live in device memory: the ten dtl element
/// types (`i8` … `f64`), each with its CUDA C type name for the kernels.
/// Sealed: implemented by dtl only.
pub trait GpuElement: Element + DeviceRepr + ValidAsZeroBits + sealed::Sealed {
    /// The CUDA C spelling of the type, e.g. `"double"`, `"long long"`.
    const CUDA_NAME: &'static str;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! gpu_element {
    ($($t:ty => $c:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl GpuElement for $t {
            const CUDA_NAME: &'static str = $c;
        }
    )*};
}
gpu_element!(
    i8 => "signed char", i16 => "short", i32 => "int", i64 => "long long",
    u8 => "unsigned char", u16 => "unsigned short", u32 => "unsigned int", u64 => "unsigned long long",
    f32 => "float", f64 => "double",
);

/// A CUDA driver error as a [`Error::Backend`] naming what dtl was doing.
pub(crate) fn cuda_err(what: &str) -> impl FnOnce(DriverError) -> Error + '_ {
    move |e| Error::Backend(format!("{what}: CUDA driver error {e:?}"))
}

/// One CUDA device: its primary context, the stream every dtl operation
/// on it is ordered on, and its compiled kernels (one module per dtype,
/// compiled by NVRTC on first use).
pub struct Gpu {
    ordinal: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    sm_count: u32,
    kernels: Mutex<HashMap<DType, Arc<Kernels>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("ordinal", &self.ordinal).field("sm_count", &self.sm_count).finish()
    }
}

impl Gpu {
    /// The device ordinal (`0 .. device_count()`).
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }
    /// The cudarc context (the device's primary context).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }
    /// The stream dtl orders its copies, kernels and NCCL calls on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
    /// Number of streaming multiprocessors (sizes the reduction grids).
    pub fn sm_count(&self) -> u32 {
        self.sm_count
    }
    /// Waits until all work dtl queued on this device is done
    /// (`cuStreamSynchronize`).
    ///
    /// # Errors
    /// [`Error::Backend`] with the driver's error (e.g. a failed kernel).
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(cuda_err("cuStreamSynchronize"))
    }
    /// Makes this device's context current on the calling thread
    /// (`cuCtxSetCurrent`), before raw driver or NCCL calls: cudarc's own
    /// methods do this themselves, a thread that only made raw calls would
    /// otherwise have no context.
    ///
    /// # Errors
    /// [`Error::Backend`] from the driver.
    pub fn bind(&self) -> Result<()> {
        self.ctx.bind_to_thread().map_err(cuda_err("cuCtxSetCurrent"))
    }
    /// The device's name, e.g. `"NVIDIA H100 80GB HBM3"`.
    pub fn name(&self) -> String {
        self.ctx.name().unwrap_or_else(|e| format!("(name unavailable: {e:?})"))
    }
    /// `(free, total)` device memory in bytes (`cuMemGetInfo`).
    ///
    /// # Errors
    /// [`Error::Backend`] from the driver.
    pub fn memory_info(&self) -> Result<(usize, usize)> {
        self.ctx.mem_get_info().map_err(cuda_err("cuMemGetInfo"))
    }
    /// The kernels for `T` on this device, compiled on first use.
    ///
    /// # Errors
    /// [`Error::Backend`] if NVRTC is missing or compilation fails.
    pub(crate) fn kernels<T: GpuElement>(&self) -> Result<Arc<Kernels>> {
        let mut map = self.kernels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = map.get(&T::DTYPE) {
            return Ok(k.clone());
        }
        let k = Arc::new(Kernels::compile::<T>(&self.ctx)?);
        map.insert(T::DTYPE, k.clone());
        Ok(k)
    }
}

/// Checks a device id against the visible devices.
///
/// # Errors
/// [`Error::Backend`] without CUDA; [`Error::InvalidArgument`] naming
/// `device_id` and the valid range otherwise.
pub fn check_device_id(device_id: i32) -> Result<usize> {
    crate::require_cuda()?;
    let n = crate::device_count();
    if device_id < 0 || device_id as usize >= n {
        return Err(Error::InvalidArgument(format!(
            "device_id must be in 0..{n} (the CUDA devices visible to this process), got {device_id}"
        )));
    }
    Ok(device_id as usize)
}

/// The shared [`Gpu`] for `device_id`, created on first use (primary
/// context, default stream, SM count). Not collective.
///
/// # Errors
/// As [`check_device_id`]; [`Error::Backend`] if the context cannot be
/// created.
pub fn gpu(device_id: i32) -> Result<Arc<Gpu>> {
    static GPUS: OnceLock<Mutex<HashMap<usize, Arc<Gpu>>>> = OnceLock::new();
    let ordinal = check_device_id(device_id)?;
    let mut map = GPUS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(g) = map.get(&ordinal) {
        return Ok(g.clone());
    }
    let ctx = CudaContext::new(ordinal).map_err(cuda_err("cuDevicePrimaryCtxRetain"))?;
    let stream = ctx.default_stream();
    let sm_count = ctx
        .attribute(cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        .map_err(cuda_err("cuDeviceGetAttribute"))? as u32;
    let g = Arc::new(Gpu { ordinal, ctx, stream, sm_count: sm_count.max(1), kernels: Mutex::new(HashMap::new()) });
    map.insert(ordinal, g.clone());
    Ok(g)
}
