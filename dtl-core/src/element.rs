//! Element types a distributed container or collective can hold.
//!
//! [`Element`] is implemented for the ten numeric types dtl supports:
//! `i8, i16, i32, i64, u8, u16, u32, u64, f32, f64`. Each maps to one MPI
//! datatype (through rsmpi's `Equivalence`) and to one [`DType`] code, the
//! value the C ABI's `dtl_dtype` and the Python `dtype=` argument use.

use mpi::traits::Equivalence;

/// Runtime tag of an element type; the numeric values are stable (C ABI
/// `dtl_dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum DType {
    /// `i8` / `np.int8`.
    Int8 = 0,
    /// `i16` / `np.int16`.
    Int16 = 1,
    /// `i32` / `np.int32`.
    Int32 = 2,
    /// `i64` / `np.int64`.
    Int64 = 3,
    /// `u8` / `np.uint8`.
    UInt8 = 4,
    /// `u16` / `np.uint16`.
    UInt16 = 5,
    /// `u32` / `np.uint32`.
    UInt32 = 6,
    /// `u64` / `np.uint64`.
    UInt64 = 7,
    /// `f32` / `np.float32`.
    Float32 = 8,
    /// `f64` / `np.float64`.
    Float64 = 9,
}

impl DType {
    /// All supported dtypes, in code order.
    pub const ALL: [DType; 10] = [
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::UInt8,
        DType::UInt16,
        DType::UInt32,
        DType::UInt64,
        DType::Float32,
        DType::Float64,
    ];

    /// The NumPy name of the dtype (`"float64"`, `"int8"`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::UInt16 => "uint16",
            DType::UInt32 => "uint32",
            DType::UInt64 => "uint64",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
        }
    }

    /// Parses a NumPy dtype name; `None` for an unsupported name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The dtype for a stable numeric code; `None` if out of range `0..=9`.
    pub fn from_code(code: i32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| *d as i32 == code)
    }

    /// Size of one element in bytes.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::Int8 | DType::UInt8 => 1,
            DType::Int16 | DType::UInt16 => 2,
            DType::Int32 | DType::UInt32 | DType::Float32 => 4,
            DType::Int64 | DType::UInt64 | DType::Float64 => 8,
        }
    }

    /// True for `float32` and `float64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// A comma-separated list of the supported names, for error messages.
    pub fn supported_names() -> String {
        DType::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A numeric type that dtl containers and collectives can hold.
///
/// Sealed: implemented exactly for `i8, i16, i32, i64, u8, u16, u32, u64,
/// f32, f64`. Provides the MPI datatype (via [`Equivalence`]), the runtime
/// [`DType`] tag, and the identities and bit operations the reductions
/// need.
pub trait Element:
    Equivalence + Copy + Default + PartialOrd + PartialEq + Send + Sync + std::fmt::Debug + 'static + sealed::Sealed
{
    /// The runtime tag of this type.
    const DTYPE: DType;
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Largest finite value (identity of MIN).
    const MAX_VALUE: Self;
    /// Smallest finite value (identity of MAX).
    const MIN_VALUE: Self;
    /// All bits set (identity of bitwise AND); `None` for floats.
    const ALL_BITS: Option<Self>;
    /// Converts from `f64` (saturating for integers, as `as` does).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (may round for 64-bit integers).
    fn to_f64(self) -> f64;
    /// Converts an index as C's casts do: wrapping modulo 2^bits for
    /// integers (NumPy's `astype` of an `arange`), rounding for floats.
    fn from_index(i: usize) -> Self;
    /// `a + b` (wrapping for integers, as MPI_SUM does in C).
    fn add(self, other: Self) -> Self;
    /// `a * b` (wrapping for integers).
    fn mul(self, other: Self) -> Self;
    /// Bit operations for integers; `None` for floats.
    fn bit_op(self, other: Self, op: BitOp) -> Option<Self>;
    /// Truth value as C sees it (non-zero is true).
    fn truthy(self) -> bool;
    /// Is this value NaN (always false for integers)?
    fn is_nan(self) -> bool;
    /// A bijection onto `u64` that preserves the numeric order: `a < b`
    /// implies `a.order_key() < b.order_key()`; `-0.0` maps just below
    /// `0.0`; NaNs map outside the numbers (positive ones above `+inf`,
    /// negative ones below `-inf`), so callers sorting floats set NaNs
    /// apart first. Used by the radix sort.
    fn order_key(self) -> u64;
    /// The inverse of [`order_key`](Element::order_key).
    fn from_order_key(k: u64) -> Self;
}

/// Bitwise operations used by [`Element::bit_op`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// `a & b`.
    And,
    /// `a | b`.
    Or,
    /// `a ^ b`.
    Xor,
}

macro_rules! int_element {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const MAX_VALUE: Self = <$t>::MAX;
            const MIN_VALUE: Self = <$t>::MIN;
            const ALL_BITS: Option<Self> = Some(!0);
            fn from_f64(x: f64) -> Self { x as $t }
            fn to_f64(self) -> f64 { self as f64 }
            fn from_index(i: usize) -> Self { i as $t }
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn bit_op(self, o: Self, op: BitOp) -> Option<Self> {
                Some(match op { BitOp::And => self & o, BitOp::Or => self | o, BitOp::Xor => self ^ o })
            }
            fn truthy(self) -> bool { self != 0 }
            fn is_nan(self) -> bool { false }
            fn order_key(self) -> u64 {
                // Signed: flip the sign bit of the sign-extended value.
                if <$t>::MIN == 0 { self as u64 } else { (self as i64 as u64) ^ (1 << 63) }
            }
            fn from_order_key(k: u64) -> Self {
                if <$t>::MIN == 0 { k as $t } else { (k ^ (1 << 63)) as i64 as $t }
            }
        }
    )*};
}
int_element!(i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
             u8 => UInt8, u16 => UInt16, u32 => UInt32, u64 => UInt64);

/// The unsigned integer type of a float's bits.
trait Bits {
    type U;
}
impl Bits for f32 {
    type U = u32;
}
impl Bits for f64 {
    type U = u64;
}

macro_rules! float_element {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const MAX_VALUE: Self = <$t>::INFINITY;
            const MIN_VALUE: Self = <$t>::NEG_INFINITY;
            const ALL_BITS: Option<Self> = None;
            fn from_f64(x: f64) -> Self { x as $t }
            fn to_f64(self) -> f64 { self as f64 }
            fn from_index(i: usize) -> Self { i as $t }
            fn add(self, o: Self) -> Self { self + o }
            fn mul(self, o: Self) -> Self { self * o }
            fn bit_op(self, _o: Self, _op: BitOp) -> Option<Self> { None }
            fn truthy(self) -> bool { self != 0.0 }
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn order_key(self) -> u64 {
                // Negative: every bit flipped; positive: the sign bit set.
                let bits = self.to_bits();
                let sign = (-0.0 as $t).to_bits();
                (if bits & sign != 0 { !bits } else { bits | sign }) as u64
            }
            fn from_order_key(k: u64) -> Self {
                let sign = (-0.0 as $t).to_bits();
                let k = k as u64 as <$t as Bits>::U;
                <$t>::from_bits(if k & sign != 0 { k & !sign } else { !k })
            }
        }
    )*};
}
float_element!(f32 => Float32, f64 => Float64);

/// Calls `$body` with the type alias `$T` bound to the Rust type of the
/// runtime [`DType`] `$dtype`. Used by the bindings to dispatch once per call.
///
/// ```
/// use dtl_core::{dispatch_dtype, DType, Element};
/// let bytes = dispatch_dtype!(DType::Float32, T => std::mem::size_of::<T>());
/// assert_eq!(bytes, 4);
/// ```
#[macro_export]
macro_rules! dispatch_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::Int8 => {
                type $T = i8;
                $body
            }
            $crate::DType::Int16 => {
                type $T = i16;
                $body
            }
            $crate::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::DType::UInt16 => {
                type $T = u16;
                $body
            }
            $crate::DType::UInt32 => {
                type $T = u32;
                $body
            }
            $crate::DType::UInt64 => {
                type $T = u64;
                $body
            }
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_sizes() {
        for (i, d) in DType::ALL.iter().enumerate() {
            assert_eq!(*d as i32, i as i32);
            assert_eq!(DType::from_code(i as i32), Some(*d));
            assert_eq!(DType::from_name(d.name()), Some(*d));
            let sz = dispatch_dtype!(*d, T => std::mem::size_of::<T>());
            assert_eq!(sz, d.size_bytes());
            let dt = dispatch_dtype!(*d, T => <T as Element>::DTYPE);
            assert_eq!(dt, *d);
        }
        assert_eq!(DType::from_code(10), None);
        assert_eq!(DType::from_name("complex128"), None);
    }

    #[test]
    fn identities() {
        assert_eq!(<u8 as Element>::ALL_BITS, Some(255));
        assert_eq!(<i32 as Element>::MIN_VALUE, i32::MIN);
        assert!(<f64 as Element>::MAX_VALUE.is_infinite());
        assert_eq!(5u8.bit_op(3, BitOp::Xor), Some(6));
        assert_eq!(1.0f32.bit_op(1.0, BitOp::And), None);
    }

    #[test]
    fn order_keys_preserve_order_and_invert() {
        fn check<T: Element>(sorted: &[T]) {
            for w in sorted.windows(2) {
                assert!(w[0].order_key() < w[1].order_key(), "{:?} < {:?}", w[0], w[1]);
            }
            for &x in sorted {
                assert_eq!(T::from_order_key(x.order_key()).order_key(), x.order_key(), "{x:?}");
            }
        }
        check(&[i8::MIN, -1, 0, 1, i8::MAX]);
        check(&[i64::MIN, -5, 0, 7, i64::MAX]);
        check(&[0u16, 1, 300, u16::MAX]);
        check(&[0u64, 1, 1 << 63, u64::MAX]);
        let f = [f64::NEG_INFINITY, -f64::MAX, -1.5, -f64::MIN_POSITIVE, -0.0, 0.0, 1e-300, 2.0, f64::INFINITY];
        check(&f);
        check(&[f32::NEG_INFINITY, -f32::MAX, -1.5, -0.0, 0.0, f32::MIN_POSITIVE, 2.0, f32::INFINITY]);
        assert!(f64::NAN.order_key() > f64::INFINITY.order_key());
        assert!(f64::from_order_key(f64::NAN.order_key()).is_nan());
        assert_eq!((-0.0f64).order_key() + 1, 0.0f64.order_key());
    }
}
