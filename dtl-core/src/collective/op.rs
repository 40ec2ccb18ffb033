//! Reduction operations.

use mpi::collective::SystemOperation;

use crate::element::{BitOp, Element};
use crate::error::{Error, Result};

/// A reduction operation for reduce, allreduce, scans. Numeric values are
/// stable (C ABI `dtl_op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ReduceOp {
    /// `MPI_SUM`: sum (wrapping for integers).
    Sum = 0,
    /// `MPI_PROD`: product.
    Prod = 1,
    /// `MPI_MIN`: minimum.
    Min = 2,
    /// `MPI_MAX`: maximum.
    Max = 3,
    /// `MPI_LAND`: logical and (integers only; result 0 or 1).
    LAnd = 4,
    /// `MPI_LOR`: logical or (integers only).
    LOr = 5,
    /// `MPI_LXOR`: logical exclusive or (integers only).
    LXor = 6,
    /// `MPI_BAND`: bitwise and (integers only).
    BAnd = 7,
    /// `MPI_BOR`: bitwise or (integers only).
    BOr = 8,
    /// `MPI_BXOR`: bitwise exclusive or (integers only).
    BXor = 9,
}

impl ReduceOp {
    /// All operations, in code order.
    pub const ALL: [ReduceOp; 10] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::LAnd,
        ReduceOp::LOr,
        ReduceOp::LXor,
        ReduceOp::BAnd,
        ReduceOp::BOr,
        ReduceOp::BXor,
    ];

    /// Lower-case name as the Python API spells it (`"sum"`, `"band"`, …).
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::LAnd => "land",
            ReduceOp::LOr => "lor",
            ReduceOp::LXor => "lxor",
            ReduceOp::BAnd => "band",
            ReduceOp::BOr => "bor",
            ReduceOp::BXor => "bxor",
        }
    }

    /// Parses a name (case-insensitive, `"sum"`, `"MPI_SUM"`, `"prod"`, …).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] listing the valid names.
    pub fn from_name(name: &str) -> Result<ReduceOp> {
        let n = name.trim().to_ascii_lowercase();
        let n = n.strip_prefix("mpi_").unwrap_or(&n);
        let n = match n {
            "product" => "prod",
            "minimum" => "min",
            "maximum" => "max",
            other => other,
        };
        ReduceOp::ALL.into_iter().find(|o| o.name() == n).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "op must be one of {}; got {name:?}",
                ReduceOp::ALL.iter().map(|o| o.name()).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The op for a stable numeric code.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a code outside `0..=9`.
    pub fn from_code(code: i64) -> Result<ReduceOp> {
        ReduceOp::ALL
            .into_iter()
            .find(|o| *o as i64 == code)
            .ok_or_else(|| Error::InvalidArgument(format!("op code must be in 0..=9, got {code}")))
    }

    /// True for the logical and bitwise operations, which MPI defines only
    /// for integer types.
    pub fn integer_only(self) -> bool {
        !matches!(self, ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max)
    }

    /// Checks that this op is defined for `T`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a logical or bitwise op on a float type.
    pub fn check_for<T: Element>(self) -> Result<()> {
        if self.integer_only() && T::DTYPE.is_float() {
            return Err(Error::InvalidArgument(format!(
                "op {} is defined for integer dtypes only, got {}; valid ops for {} are sum, prod, min, max",
                self.name(),
                T::DTYPE,
                T::DTYPE
            )));
        }
        Ok(())
    }

    /// The identity element of this op for `T` (what an exclusive scan
    /// gives rank 0, and what a reduction over no elements gives).
    pub fn identity<T: Element>(self) -> T {
        match self {
            ReduceOp::Sum | ReduceOp::LOr | ReduceOp::LXor | ReduceOp::BOr | ReduceOp::BXor => T::ZERO,
            ReduceOp::Prod | ReduceOp::LAnd => T::ONE,
            ReduceOp::Min => T::MAX_VALUE,
            ReduceOp::Max => T::MIN_VALUE,
            ReduceOp::BAnd => T::ALL_BITS.unwrap_or(T::ZERO),
        }
    }

    /// A lone operand as the op sees it: 0 or 1 for the logical ops
    /// (`MPI_LAND` of one element 5 is 1), unchanged otherwise.
    pub fn lift<T: Element>(self, x: T) -> T {
        match self {
            ReduceOp::LAnd | ReduceOp::LOr | ReduceOp::LXor => {
                if x.truthy() {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            _ => x,
        }
    }

    /// Applies the op to two values, as the MPI op does.
    pub fn apply<T: Element>(self, a: T, b: T) -> T {
        let boolean = |x: bool| if x { T::ONE } else { T::ZERO };
        match self {
            ReduceOp::Sum => a.add(b),
            ReduceOp::Prod => a.mul(b),
            ReduceOp::Min => {
                if b < a {
                    b
                } else {
                    a
                }
            }
            ReduceOp::Max => {
                if b > a {
                    b
                } else {
                    a
                }
            }
            ReduceOp::LAnd => boolean(a.truthy() && b.truthy()),
            ReduceOp::LOr => boolean(a.truthy() || b.truthy()),
            ReduceOp::LXor => boolean(a.truthy() != b.truthy()),
            ReduceOp::BAnd => a.bit_op(b, BitOp::And).unwrap_or(a),
            ReduceOp::BOr => a.bit_op(b, BitOp::Or).unwrap_or(a),
            ReduceOp::BXor => a.bit_op(b, BitOp::Xor).unwrap_or(a),
        }
    }

    pub(crate) fn mpi(self) -> SystemOperation {
        match self {
            ReduceOp::Sum => SystemOperation::sum(),
            ReduceOp::Prod => SystemOperation::product(),
            ReduceOp::Min => SystemOperation::min(),
            ReduceOp::Max => SystemOperation::max(),
            ReduceOp::LAnd => SystemOperation::logical_and(),
            ReduceOp::LOr => SystemOperation::logical_or(),
            ReduceOp::LXor => SystemOperation::logical_xor(),
            ReduceOp::BAnd => SystemOperation::bitwise_and(),
            ReduceOp::BOr => SystemOperation::bitwise_or(),
            ReduceOp::BXor => SystemOperation::bitwise_xor(),
        }
    }
}

impl std::fmt::Display for ReduceOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An `MPI_Op` for elements of type `T`: MPI's predefined one, or dtl's
/// own reduction function (`MPI_Op_create`, commutative, freed on drop)
/// where Open MPI 4.1's vectorised (AVX) reduction kernels give wrong
/// results: `MPI_SUM` of 8- and 16-bit integers saturates instead of
/// wrapping (from 64 elements), and `MPI_MIN`/`MPI_MAX` of `uint64` compare
/// as signed (from 7 elements). Measured with mpi4py on Open MPI 4.1.4; dtl's
/// tests check every op and dtype with values that overflow. The
/// replacement computes what C (and NumPy) compute.
pub(crate) struct MpiOp {
    raw: mpi::ffi::MPI_Op,
    _user: Option<mpi::collective::UnsafeUserOperation>,
}

// SAFETY: a plain MPI handle, valid while `_user` (if any) is alive.
unsafe impl mpi::raw::AsRaw for MpiOp {
    type Raw = mpi::ffi::MPI_Op;
    fn as_raw(&self) -> Self::Raw {
        self.raw
    }
}

impl mpi::collective::Operation for MpiOp {}

/// The user function of [`MpiOp`]: `inout[i] = in[i] op inout[i]`.
unsafe extern "C" fn user_reduce<T: Element, const OP: i64>(
    invec: *mut std::os::raw::c_void,
    inout: *mut std::os::raw::c_void,
    len: *mut std::os::raw::c_int,
    _dt: *mut mpi::ffi::MPI_Datatype,
) {
    let op = ReduceOp::from_code(OP).unwrap_or(ReduceOp::Sum);
    // SAFETY: MPI passes `*len` elements of the datatype dtl used for T at
    // both addresses, which do not overlap.
    let (a, b) = unsafe {
        let n = (*len).max(0) as usize;
        (std::slice::from_raw_parts(invec as *const T, n), std::slice::from_raw_parts_mut(inout as *mut T, n))
    };
    super::shm::combine_into(op, b, a);
}

impl ReduceOp {
    /// The `MPI_Op` to use for `T` (see [`MpiOp`]).
    pub(crate) fn mpi_for<T: Element>(self) -> MpiOp {
        use crate::element::DType::*;
        let f: Option<mpi::collective::UnsafeUserFunction> = match (self, T::DTYPE) {
            (ReduceOp::Sum, Int8 | UInt8 | Int16 | UInt16) => Some(user_reduce::<T, 0>),
            (ReduceOp::Min, UInt64) => Some(user_reduce::<T, 2>),
            (ReduceOp::Max, UInt64) => Some(user_reduce::<T, 3>),
            _ => None,
        };
        use mpi::raw::AsRaw;
        match f {
            Some(f) => {
                // SAFETY: `user_reduce` follows MPI_User_function's contract
                // and cannot unwind.
                let u = unsafe { mpi::collective::UnsafeUserOperation::commutative(f) };
                MpiOp { raw: u.as_raw(), _user: Some(u) }
            }
            None => MpiOp { raw: self.mpi().as_raw(), _user: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_identities() {
        for op in ReduceOp::ALL {
            assert_eq!(ReduceOp::from_name(op.name()).unwrap(), op);
            assert_eq!(ReduceOp::from_name(&op.name().to_uppercase()).unwrap(), op);
            assert_eq!(ReduceOp::from_code(op as i64).unwrap(), op);
            // identity is neutral
            for x in [0i32, 1, 5, -7, 0x55] {
                assert_eq!(op.apply(op.identity::<i32>(), x), op.apply(x, op.identity::<i32>()));
            }
        }
        assert_eq!(ReduceOp::from_name("MPI_SUM").unwrap(), ReduceOp::Sum);
        assert!(ReduceOp::from_name("avg").is_err());
        assert!(ReduceOp::BXor.check_for::<f64>().is_err());
        assert!(ReduceOp::BXor.check_for::<u8>().is_ok());
        assert_eq!(ReduceOp::Min.identity::<f64>(), f64::INFINITY);
        assert_eq!(ReduceOp::BAnd.identity::<u16>(), u16::MAX);
    }
}
