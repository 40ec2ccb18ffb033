//! Placement policies: where a container keeps its local part.
//!
//! This release stores every container in host memory; `Device`, `Unified`
//! and `DevicePreferred` are accepted as values and rejected with a clear
//! [`Error::InvalidArgument`] ("not available … CUDA") until GPU placement
//! lands (see `dtl-gpu`).

use crate::error::{Error, Result};

/// Placement policy tags; the numeric values are stable (C ABI and Python
/// `PLACEMENT_*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Placement {
    /// Host (CPU) memory (default).
    Host = 0,
    /// GPU device memory.
    Device = 1,
    /// CUDA unified (managed) memory.
    Unified = 2,
    /// Device memory if a GPU is present, else host.
    DevicePreferred = 3,
}

impl Placement {
    /// Upper-case name, e.g. `"HOST"`.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Host => "HOST",
            Placement::Device => "DEVICE",
            Placement::Unified => "UNIFIED",
            Placement::DevicePreferred => "DEVICE_PREFERRED",
        }
    }

    /// The placement for a stable numeric code.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a code outside `0..=3`.
    pub fn from_code(code: i64) -> Result<Placement> {
        Ok(match code {
            0 => Placement::Host,
            1 => Placement::Device,
            2 => Placement::Unified,
            3 => Placement::DevicePreferred,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "placement must be one of PLACEMENT_HOST (0), PLACEMENT_DEVICE (1), \
                     PLACEMENT_UNIFIED (2), PLACEMENT_DEVICE_PREFERRED (3); got {code}"
                )))
            }
        })
    }

    /// `Ok` for placements this build can store (host), else an
    /// [`Error::InvalidArgument`] saying the placement is not available
    /// without CUDA support (`why` says what the CUDA probe found).
    pub fn ensure_available(self, why: &str) -> Result<()> {
        match self {
            Placement::Host => Ok(()),
            other => Err(Error::InvalidArgument(format!(
                "placement PLACEMENT_{} is not available: device placement needs CUDA, \
                 which this build of dtl does not drive yet ({why}); use PLACEMENT_HOST",
                other.name()
            ))),
        }
    }
}
