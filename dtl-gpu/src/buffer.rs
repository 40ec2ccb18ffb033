//! [`DeviceBuffer`]: one rank's local part in GPU memory — device memory
//! (`cuMemAlloc`, reachable by kernels only) or CUDA unified memory
//! (`cuMemAllocManaged`, reachable by kernels and by the host).

use std::sync::Arc;

use cudarc::driver::{CudaSlice, DevicePtr, UnifiedSlice};
use dtl_core::{Error, Placement, Result};

use crate::device::{cuda_err, Gpu, GpuElement};

enum Mem<T> {
    Device(CudaSlice<T>),
    Unified(UnifiedSlice<T>),
}

/// `len` elements of `T` in device or unified memory on one GPU, with the
/// GPU's stream. Allocation is never of zero bytes (an empty buffer holds
/// one spare element), so an empty part still has a valid pointer.
/// Not shared between ranks; no call here communicates.
pub struct DeviceBuffer<T: GpuElement> {
    gpu: Arc<Gpu>,
    mem: Mem<T>,
    len: usize,
}

impl<T: GpuElement> std::fmt::Debug for DeviceBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBuffer")
            .field("dtype", &T::DTYPE)
            .field("len", &self.len)
            .field("placement", &self.placement())
            .field("device", &self.gpu.ordinal())
            .finish()
    }
}

impl<T: GpuElement> DeviceBuffer<T> {
    /// `len` zeros on `gpu`, in device memory (`Placement::Device`) or
    /// unified memory (`Placement::Unified`, attached globally).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `Host`/`DevicePreferred` (resolve
    /// those first); [`Error::Memory`] naming the size if the device cannot
    /// allocate it; [`Error::Backend`] for other driver errors (e.g. a
    /// device without managed-memory support).
    pub fn zeros(gpu: &Arc<Gpu>, len: usize, placement: Placement) -> Result<Self> {
        let n = len.max(1);
        let bytes = n.checked_mul(std::mem::size_of::<T>()).ok_or_else(|| {
            Error::InvalidArgument(format!("a device buffer of {len} {} elements overflows", T::DTYPE.name()))
        })?;
        let oom = |e: cudarc::driver::DriverError| {
            if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
                Error::Memory(format!(
                    "cannot allocate {bytes} bytes ({len} {}) on CUDA device {}: out of device memory",
                    T::DTYPE.name(),
                    gpu.ordinal()
                ))
            } else {
                Error::Backend(format!("allocating {bytes} bytes on CUDA device {}: {e:?}", gpu.ordinal()))
            }
        };
        let s = gpu.stream();
        let mem = match placement {
            Placement::Device => Mem::Device(s.alloc_zeros::<T>(n).map_err(oom)?),
            Placement::Unified => {
                // SAFETY: `T: ValidAsZeroBits`, and the memory is zeroed
                // before anything reads it.
                let mut u = unsafe { gpu.context().alloc_unified::<T>(n, true) }.map_err(oom)?;
                s.memset_zeros(&mut u).map_err(cuda_err("cuMemsetD8Async (unified)"))?;
                Mem::Unified(u)
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "a device buffer needs PLACEMENT_DEVICE or PLACEMENT_UNIFIED, got PLACEMENT_{}",
                    other.name()
                )))
            }
        };
        Ok(DeviceBuffer { gpu: gpu.clone(), mem, len })
    }

    /// A buffer holding a copy of `src` (host → device copy).
    ///
    /// # Errors
    /// As [`zeros`](Self::zeros) and [`upload`](Self::upload).
    pub fn from_host(gpu: &Arc<Gpu>, src: &[T], placement: Placement) -> Result<Self> {
        let mut b = DeviceBuffer::zeros(gpu, src.len(), placement)?;
        b.upload(src)?;
        Ok(b)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// `Device` or `Unified`.
    pub fn placement(&self) -> Placement {
        match self.mem {
            Mem::Device(_) => Placement::Device,
            Mem::Unified(_) => Placement::Unified,
        }
    }
    /// True for unified memory, which the host may read and write.
    pub fn is_host_accessible(&self) -> bool {
        matches!(self.mem, Mem::Unified(_))
    }
    /// The GPU the buffer lives on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// The device address of element 0 (`CUdeviceptr`), for kernels, NCCL
    /// and the `__cuda_array_interface__`/DLPack exports. Valid while the
    /// buffer lives.
    pub fn device_ptr(&self) -> u64 {
        let s = self.gpu.stream();
        match &self.mem {
            Mem::Device(d) => d.device_ptr(s).0,
            Mem::Unified(u) => u.device_ptr(s).0,
        }
    }

    /// Copies `src` (exactly `len` elements) into the buffer and waits for
    /// the copy (`cuMemcpyHtoDAsync` + `cuStreamSynchronize`; a host copy
    /// for unified memory).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `src.len() != len`; [`Error::Backend`]
    /// from the driver.
    pub fn upload(&mut self, src: &[T]) -> Result<()> {
        self.check_len(src.len(), "upload")?;
        let n = self.len;
        if n == 0 {
            return Ok(());
        }
        let s = self.gpu.stream().clone();
        match &mut self.mem {
            Mem::Device(d) => {
                let mut view = d.slice_mut(0..n);
                s.memcpy_htod(src, &mut view).map_err(cuda_err("cuMemcpyHtoDAsync"))?;
            }
            Mem::Unified(u) => {
                s.synchronize().map_err(cuda_err("cuStreamSynchronize"))?;
                u.as_mut_slice().map_err(cuda_err("unified memory host access"))?[..n].copy_from_slice(src);
            }
        }
        s.synchronize().map_err(cuda_err("cuStreamSynchronize (after upload)"))
    }

    /// Copies the buffer into `dst` (exactly `len` elements), after all
    /// queued work (`cuMemcpyDtoHAsync` + `cuStreamSynchronize`).
    ///
    /// # Errors
    /// As [`upload`](Self::upload).
    pub fn download(&self, dst: &mut [T]) -> Result<()> {
        self.check_len(dst.len(), "download")?;
        let n = self.len;
        if n == 0 {
            return Ok(());
        }
        let s = self.gpu.stream();
        match &self.mem {
            Mem::Device(d) => {
                s.memcpy_dtoh(&d.slice(0..n), dst).map_err(cuda_err("cuMemcpyDtoHAsync"))?;
                s.synchronize().map_err(cuda_err("cuStreamSynchronize (after download)"))
            }
            Mem::Unified(u) => {
                s.synchronize().map_err(cuda_err("cuStreamSynchronize"))?;
                dst.copy_from_slice(&u.as_slice().map_err(cuda_err("unified memory host access"))?[..n]);
                Ok(())
            }
        }
    }

    /// A host copy of the buffer.
    ///
    /// # Errors
    /// As [`download`](Self::download); [`Error::Memory`] if the host
    /// cannot allocate the copy.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let mut v = Vec::new();
        v.try_reserve_exact(self.len)
            .map_err(|e| Error::Memory(format!("cannot allocate a host copy of {} elements: {e}", self.len)))?;
        v.resize(self.len, T::ZERO);
        self.download(&mut v)?;
        Ok(v)
    }

    /// The elements as a host slice, for unified memory only (`None` for
    /// device memory); waits for queued work first.
    ///
    /// # Errors
    /// [`Error::Backend`] from the driver.
    pub fn host_slice(&self) -> Result<Option<&[T]>> {
        match &self.mem {
            Mem::Device(_) => Ok(None),
            Mem::Unified(u) => {
                self.gpu.synchronize()?;
                Ok(Some(&u.as_slice().map_err(cuda_err("unified memory host access"))?[..self.len]))
            }
        }
    }

    /// Like [`host_slice`](Self::host_slice), writable.
    ///
    /// # Errors
    /// [`Error::Backend`] from the driver.
    pub fn host_slice_mut(&mut self) -> Result<Option<&mut [T]>> {
        let n = self.len;
        match &mut self.mem {
            Mem::Device(_) => Ok(None),
            Mem::Unified(u) => {
                self.gpu.synchronize()?;
                Ok(Some(&mut u.as_mut_slice().map_err(cuda_err("unified memory host access"))?[..n]))
            }
        }
    }

    /// A device-to-device copy of `src` into this buffer (same length).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for different lengths or devices;
    /// [`Error::Backend`] from the driver.
    pub fn copy_from(&mut self, src: &DeviceBuffer<T>) -> Result<()> {
        self.check_len(src.len, "copy_from")?;
        if src.gpu.ordinal() != self.gpu.ordinal() {
            return Err(Error::InvalidArgument(format!(
                "copy_from: source is on CUDA device {}, destination on device {}",
                src.gpu.ordinal(),
                self.gpu.ordinal()
            )));
        }
        if self.len == 0 {
            return Ok(());
        }
        let bytes = self.len * std::mem::size_of::<T>();
        let (dst, s) = (self.device_ptr(), self.gpu.stream().clone());
        self.gpu.bind()?;
        // SAFETY: both ranges are `bytes` long, live, on the same device;
        // the copy is ordered on the stream every dtl operation uses.
        unsafe { cudarc::driver::result::memcpy_dtod_async(dst, src.device_ptr(), bytes, s.cu_stream()) }
            .map_err(cuda_err("cuMemcpyDtoDAsync"))
    }

    /// Copies `len` elements from device address `src` (e.g. a CuPy or
    /// PyTorch array's `__cuda_array_interface__` pointer) into the buffer
    /// and waits (`cuMemcpyDtoDAsync` + `cuStreamSynchronize`; unified
    /// virtual addressing lets the driver find the source's device).
    ///
    /// # Safety
    /// `src` must address at least `len` elements of `T` that stay valid
    /// and unmodified until the call returns.
    ///
    /// # Errors
    /// [`Error::Backend`] from the driver (e.g. a host pointer).
    pub unsafe fn copy_from_device_ptr(&mut self, src: u64) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let bytes = self.len * std::mem::size_of::<T>();
        let (dst, s) = (self.device_ptr(), self.gpu.stream().clone());
        self.gpu.bind()?;
        // SAFETY: the destination is this buffer; the caller vouches for the
        // source.
        unsafe { cudarc::driver::result::memcpy_dtod_async(dst, src, bytes, s.cu_stream()) }
            .map_err(cuda_err("cuMemcpyDtoDAsync (from a device array)"))?;
        self.gpu.synchronize()
    }

    fn check_len(&self, n: usize, what: &str) -> Result<()> {
        if n != self.len {
            return Err(Error::InvalidArgument(format!(
                "{what}: the host buffer has {n} elements, the device buffer {}",
                self.len
            )));
        }
        Ok(())
    }
}
