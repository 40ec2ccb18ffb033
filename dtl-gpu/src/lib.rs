//! # dtl-gpu — GPU placement for dtl
//!
//! * Runtime detection ([`has_cuda`], [`has_nccl`], [`has_nvrtc`],
//!   [`cuda_status`]): cudarc is built with dynamic loading, so dtl builds
//!   and runs on machines without CUDA; every probe checks that the shared
//!   library can be opened *before* calling into it (cudarc panics on first
//!   use of a missing library), and turns absence into `false` or a
//!   [`dtl_core::Error::Backend`] saying why. None of the probes
//!   communicates; results are computed once per process.
//! * [`device`]: one shared [`Gpu`] (context, stream, kernels) per device.
//! * [`buffer`]: [`DeviceBuffer`], a rank's local part in device or unified
//!   memory, with host↔device copies.
//! * [`kernels`]: the NVRTC-compiled kernels (fill, built-in transforms,
//!   reductions, scans, sort).
//! * [`container`]: [`DeviceContainer`], distributed vectors/arrays/tensors
//!   on GPUs with the device algorithms.
//! * [`nccl`]: NCCL communicators and the collectives on device buffers
//!   (NCCL, or MPI with host staging).
//!
//! [`info`] collects the diagnostic report (`python -m dtl info`,
//! `dtl_print_info`).
//!
//! [`topology`] maps the ranks of a context to nodes, CPUs and GPUs
//! ([`Topology`], collective): the default rank→GPU mapping
//! ([`auto_device`]), CPU binding and an mpibind-style mapping print.
//!
//! ```
//! // Never panics, with or without a GPU:
//! let yes = dtl_gpu::has_cuda();
//! println!("CUDA usable: {yes} ({})", dtl_gpu::cuda_status());
//! ```
#![deny(missing_docs)]

use std::sync::OnceLock;

pub mod buffer;
pub mod container;
pub mod device;
pub mod info;
pub mod kernels;
pub mod nccl;

pub use buffer::DeviceBuffer;
pub use container::{resolve_placement, DeviceContainer};
pub use device::{gpu, Gpu, GpuElement};
pub use kernels::UnaryOp;
pub use nccl::{DeviceComm, NcclComm, NcclMode, NcclOp};
pub mod topology;

pub use topology::{auto_device, with_auto_device, Topology};

use cudarc::driver::sys as cu;

/// What the CUDA probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaProbe {
    /// The driver loaded, `cuInit` succeeded and `count` devices are visible.
    Available {
        /// Number of visible CUDA devices (`cuDeviceGetCount`).
        count: usize,
        /// Driver API version (`cuDriverGetVersion`), e.g. 13000.
        driver_version: i32,
    },
    /// CUDA cannot be used; the string says why.
    Unavailable(String),
}

fn probe() -> &'static CudaProbe {
    static PROBE: OnceLock<CudaProbe> = OnceLock::new();
    PROBE.get_or_init(|| {
        // SAFETY: only tries to dlopen libcuda; no CUDA call is made.
        if !unsafe { cu::is_culib_present() } {
            return CudaProbe::Unavailable("no CUDA driver library (libcuda.so) could be loaded".into());
        }
        // SAFETY: the library is present, so cudarc's lazy loader will not
        // panic; the out-pointers are valid locals.
        unsafe {
            let rc = cu::cuInit(0);
            if rc != cu::CUresult::CUDA_SUCCESS {
                return CudaProbe::Unavailable(format!("cuInit failed: {rc:?}"));
            }
            let mut n: std::os::raw::c_int = 0;
            let rc = cu::cuDeviceGetCount(&mut n);
            if rc != cu::CUresult::CUDA_SUCCESS {
                return CudaProbe::Unavailable(format!("cuDeviceGetCount failed: {rc:?}"));
            }
            if n <= 0 {
                return CudaProbe::Unavailable("the CUDA driver reports no devices".into());
            }
            let mut v: std::os::raw::c_int = 0;
            let _ = cu::cuDriverGetVersion(&mut v);
            CudaProbe::Available { count: n as usize, driver_version: v }
        }
    })
}

/// What the CUDA probe found (computed once per process). Never panics.
/// Not collective.
pub fn cuda_probe() -> CudaProbe {
    probe().clone()
}

/// True if a CUDA driver is loadable, initialises, and shows at least one
/// device. Never panics. Not collective.
pub fn has_cuda() -> bool {
    matches!(probe(), CudaProbe::Available { .. })
}

/// Number of visible CUDA devices (0 without CUDA). Not collective.
pub fn device_count() -> usize {
    match probe() {
        CudaProbe::Available { count, .. } => *count,
        CudaProbe::Unavailable(_) => 0,
    }
}

/// A one-line description of the CUDA probe's result, for diagnostics.
pub fn cuda_status() -> String {
    match probe() {
        CudaProbe::Available { count, driver_version } => {
            format!("{count} device(s), driver API {}.{}", driver_version / 1000, (driver_version % 1000) / 10)
        }
        CudaProbe::Unavailable(why) => why.clone(),
    }
}

/// True if the NCCL library (`libnccl.so`) can be loaded. Not collective.
pub fn has_nccl() -> bool {
    static NCCL: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen libnccl.
    *NCCL.get_or_init(|| unsafe { cudarc::nccl::sys::is_culib_present() })
}

/// True if NVRTC (run-time compilation) can be loaded. Not collective.
pub fn has_nvrtc() -> bool {
    static NVRTC: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen libnvrtc.
    *NVRTC.get_or_init(|| unsafe { cudarc::nvrtc::sys::is_culib_present() })
}

/// `Ok(())` if CUDA is usable, else a [`dtl_core::Error::Backend`] that says
/// why. Not collective.
pub fn require_cuda() -> dtl_core::Result<()> {
    match probe() {
        CudaProbe::Available { .. } => Ok(()),
        CudaProbe::Unavailable(why) => Err(dtl_core::Error::Backend(format!("CUDA is not available: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn probes_never_panic_and_agree() {
        let has = super::has_cuda();
        assert_eq!(has, super::device_count() > 0);
        assert_eq!(has, super::require_cuda().is_ok());
        assert!(!super::cuda_status().is_empty());
        let _ = super::has_nccl();
        let _ = super::has_nvrtc();
    }
}
