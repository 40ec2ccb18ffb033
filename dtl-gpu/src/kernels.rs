//! The device kernels behind the device algorithms, compiled at run time by
//! NVRTC (through cudarc), one module per element type per device.
//!
//! The CUDA C source is [`SOURCE`], prefixed with `typedef <type> T;` and
//! `#define DTL_FLOAT 0|1`. Kernels take raw device pointers (`CUdeviceptr`
//! as `unsigned long long`) and 64-bit lengths, loop grid-stride, and are
//! launched on the device's dtl stream ([`crate::device::Gpu::stream`]).
//!
//! | kernel | what |
//! | --- | --- |
//! | `dtl_fill` | `x[i] = v` |
//! | `dtl_unary` | `y[i] = f(x[i])` for a built-in [`UnaryOp`] |
//! | `dtl_combine_scalar` | `y[i] = p op y[i]` (a rank's scan prefix) |
//! | `dtl_reduce` | one partial per block (grid-stride, shared-memory tree) |
//! | `dtl_scan_block` | inclusive scan of each block of `blockDim` elements, block totals out |
//! | `dtl_add_block_prefix` | adds the scanned totals of the blocks before |
//! | `dtl_shift_right` | `y[0] = v`, `y[i] = x[i-1]` (exclusive from inclusive) |
//! | `dtl_to_keys` / `dtl_from_keys` | order-preserving `u64` keys (dtl's `order_key`; NaN last) |
//! | `dtl_bitonic` | one compare-exchange pass of a bitonic sort over the keys |

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use dtl_core::{Error, ReduceOp, Result};

use crate::device::{cuda_err, GpuElement};

/// The kernels' CUDA C source (see the module docs).
pub const SOURCE: &str = r#"
typedef unsigned long long u64;
#define GRID_STRIDE(n) for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)blockDim.x * gridDim.x)

__device__ __forceinline__ bool is_nan(T x) {
#if DTL_FLOAT
    return x != x;
#else
    return false;
#endif
}

/* op: 0 sum, 1 prod, 2 min, 3 max (dtl's ReduceOp codes); min/max propagate NaN as NumPy does. */
__device__ __forceinline__ T combine(int op, T a, T b) {
    switch (op) {
    case 0: return (T)(a + b);
    case 1: return (T)(a * b);
    case 2: return is_nan(a) ? a : (is_nan(b) ? b : (b < a ? b : a));
    case 3: return is_nan(a) ? a : (is_nan(b) ? b : (b > a ? b : a));
    }
    return a;
}

/* op codes: see UnaryOp in kernels.rs. */
__device__ __forceinline__ T unary(int op, T x, T a) {
    switch (op) {
    case 0: return x;
    case 1: return (T)(-x);
    case 2: return x < (T)0 ? (T)(-x) : x;
    case 3: return (T)(x * x);
    case 4: return (T)(x * a);
    case 5: return (T)(x + a);
#if DTL_FLOAT
    case 6: return sqrt(x);
    case 7: return exp(x);
    case 8: return log(x);
    case 9: return sin(x);
    case 10: return cos(x);
    case 11: return (T)1 / x;
#endif
    }
    return x;
}

extern "C" __global__ void dtl_fill(u64 px, u64 n, T v) {
    T *x = (T *)px;
    GRID_STRIDE(n) x[i] = v;
}

extern "C" __global__ void dtl_unary(u64 py, u64 px, u64 n, int op, T a) {
    T *y = (T *)py;
    const T *x = (const T *)px;
    GRID_STRIDE(n) y[i] = unary(op, x[i], a);
}

extern "C" __global__ void dtl_combine_scalar(u64 py, u64 n, int op, T p) {
    T *y = (T *)py;
    GRID_STRIDE(n) y[i] = combine(op, p, y[i]);
}

extern "C" __global__ void dtl_reduce(u64 px, u64 n, u64 pout, int op, T ident) {
    extern __shared__ double dtl_smem[];
    T *s = (T *)dtl_smem;
    const T *x = (const T *)px;
    T acc = ident;
    GRID_STRIDE(n) acc = combine(op, acc, x[i]);
    s[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned w = blockDim.x / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) s[threadIdx.x] = combine(op, s[threadIdx.x], s[threadIdx.x + w]);
        __syncthreads();
    }
    if (threadIdx.x == 0) ((T *)pout)[blockIdx.x] = s[0];
}

extern "C" __global__ void dtl_scan_block(u64 py, u64 px, u64 n, u64 psums, int op, T ident) {
    extern __shared__ double dtl_smem[];
    T *s = (T *)dtl_smem;
    const unsigned B = blockDim.x, t = threadIdx.x;
    const u64 i = blockIdx.x * (u64)B + t;
    s[t] = i < n ? ((const T *)px)[i] : ident;
    __syncthreads();
    unsigned cur = 0;
    for (unsigned off = 1; off < B; off <<= 1) {
        T v = s[cur * B + t];
        if (t >= off) v = combine(op, s[cur * B + t - off], v);
        s[(1 - cur) * B + t] = v;
        __syncthreads();
        cur = 1 - cur;
    }
    if (i < n) ((T *)py)[i] = s[cur * B + t];
    if (psums && t == B - 1) ((T *)psums)[blockIdx.x] = s[cur * B + t];
}

extern "C" __global__ void dtl_add_block_prefix(u64 py, u64 n, u64 pscanned, unsigned block, int op) {
    T *y = (T *)py;
    const T *p = (const T *)pscanned;
    GRID_STRIDE(n) {
        u64 b = i / block;
        if (b > 0) y[i] = combine(op, p[b - 1], y[i]);
    }
}

extern "C" __global__ void dtl_shift_right(u64 py, u64 px, u64 n, T v) {
    T *y = (T *)py;
    const T *x = (const T *)px;
    GRID_STRIDE(n) y[i] = i == 0 ? v : x[i - 1];
}

__device__ __forceinline__ u64 order_key(T x) {
#if DTL_FLOAT
    if (sizeof(T) == 8) {
        u64 b = (u64)__double_as_longlong((double)x);
        const u64 s = 1ull << 63;
        return (b & s) ? ~b : (b | s);
    } else {
        unsigned b = __float_as_uint((float)x);
        const unsigned s = 1u << 31;
        return (u64)((b & s) ? ~b : (b | s));
    }
#else
    if ((T)(-1) < (T)0) return ((u64)(long long)x) ^ (1ull << 63);
    return (u64)x;
#endif
}

__device__ __forceinline__ T from_order_key(u64 k) {
#if DTL_FLOAT
    if (sizeof(T) == 8) {
        const u64 s = 1ull << 63;
        return (T)__longlong_as_double((long long)((k & s) ? (k & ~s) : ~k));
    } else {
        unsigned b = (unsigned)k;
        const unsigned s = 1u << 31;
        return (T)__uint_as_float((b & s) ? (b & ~s) : ~b);
    }
#else
    if ((T)(-1) < (T)0) return (T)(long long)(k ^ (1ull << 63));
    return (T)k;
#endif
}

/* keys[i] = order_key(x[i]) ^ flip for i < n (NaN: all ones, last either way); padding up to m: all ones. */
extern "C" __global__ void dtl_to_keys(u64 px, u64 pkeys, u64 n, u64 m, u64 flip) {
    const T *x = (const T *)px;
    u64 *k = (u64 *)pkeys;
    GRID_STRIDE(m) k[i] = i < n ? (is_nan(x[i]) ? ~0ull : (order_key(x[i]) ^ flip)) : ~0ull;
}

extern "C" __global__ void dtl_from_keys(u64 pkeys, u64 px, u64 n, u64 flip) {
    const u64 *k = (const u64 *)pkeys;
    T *x = (T *)px;
#if DTL_FLOAT
    const T qnan = sizeof(T) == 8 ? (T)__longlong_as_double(0x7ff8000000000000ll) : (T)__int_as_float(0x7fc00000);
    GRID_STRIDE(n) x[i] = k[i] == ~0ull ? qnan : from_order_key(k[i] ^ flip);
#else
    GRID_STRIDE(n) x[i] = from_order_key(k[i] ^ flip);
#endif
}

extern "C" __global__ void dtl_bitonic(u64 pkeys, u64 m, u64 j, u64 kk) {
    u64 *k = (u64 *)pkeys;
    GRID_STRIDE(m) {
        u64 l = i ^ j;
        if (l > i) {
            bool up = (i & kk) == 0;
            u64 a = k[i], b = k[l];
            if ((a > b) == up) { k[i] = b; k[l] = a; }
        }
    }
}
"#;

/// The built-in element-wise operations of the device `transform`
/// (codes are the `op` argument of `dtl_unary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum UnaryOp {
    /// `x`.
    Identity = 0,
    /// `-x` (wrapping for integers, as NumPy).
    Negate = 1,
    /// `|x|`.
    Abs = 2,
    /// `x * x`.
    Square = 3,
    /// `a * x`.
    Scale = 4,
    /// `x + a`.
    Add = 5,
    /// `sqrt(x)` (float dtypes only).
    Sqrt = 6,
    /// `exp(x)` (float dtypes only).
    Exp = 7,
    /// `log(x)` (float dtypes only).
    Log = 8,
    /// `sin(x)` (float dtypes only).
    Sin = 9,
    /// `cos(x)` (float dtypes only).
    Cos = 10,
    /// `1 / x` (float dtypes only).
    Reciprocal = 11,
}

impl UnaryOp {
    /// Every op, in code order.
    pub const ALL: [UnaryOp; 12] = [
        UnaryOp::Identity,
        UnaryOp::Negate,
        UnaryOp::Abs,
        UnaryOp::Square,
        UnaryOp::Scale,
        UnaryOp::Add,
        UnaryOp::Sqrt,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Reciprocal,
    ];

    /// The lower-case name (`"sqrt"`), as NumPy names the ufunc.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Identity => "identity",
            UnaryOp::Negate => "negative",
            UnaryOp::Abs => "absolute",
            UnaryOp::Square => "square",
            UnaryOp::Scale => "multiply",
            UnaryOp::Add => "add",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Reciprocal => "reciprocal",
        }
    }

    /// The op named `name` (NumPy's ufunc names; `"abs"`, `"neg"` too).
    pub fn from_name(name: &str) -> Option<UnaryOp> {
        match name {
            "abs" => Some(UnaryOp::Abs),
            "neg" | "negate" => Some(UnaryOp::Negate),
            "scale" => Some(UnaryOp::Scale),
            _ => UnaryOp::ALL.into_iter().find(|o| o.name() == name),
        }
    }

    /// True for the ops defined on float dtypes only.
    pub fn float_only(self) -> bool {
        (self as i32) >= UnaryOp::Sqrt as i32
    }

    /// A host reference implementation (what the kernel computes), used by
    /// tests to check the device path.
    pub fn apply_host<T: GpuElement>(self, x: T, a: T) -> T {
        let f = |g: fn(f64) -> f64| T::from_f64(g(x.to_f64()));
        match self {
            UnaryOp::Identity => x,
            UnaryOp::Negate => neg(x),
            UnaryOp::Abs => {
                if x < T::ZERO {
                    neg(x)
                } else {
                    x
                }
            }
            UnaryOp::Square => x.mul(x),
            UnaryOp::Scale => x.mul(a),
            UnaryOp::Add => x.add(a),
            UnaryOp::Sqrt => f(f64::sqrt),
            UnaryOp::Exp => f(f64::exp),
            UnaryOp::Log => f(f64::ln),
            UnaryOp::Sin => f(f64::sin),
            UnaryOp::Cos => f(f64::cos),
            UnaryOp::Reciprocal => f(|v| 1.0 / v),
        }
    }

    /// `Ok` if the op is defined for `T`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a float-only op on an integer dtype.
    pub fn check_for<T: GpuElement>(self) -> Result<()> {
        if self.float_only() && !T::DTYPE.is_float() {
            return Err(Error::InvalidArgument(format!(
                "transform op '{}' needs a float dtype (float32, float64), got {}",
                self.name(),
                T::DTYPE.name()
            )));
        }
        Ok(())
    }
}

/// `-x` with wraparound for integers (as NumPy), for the host reference:
/// `x * -1` for floats, `x * (all ones)` (i.e. `x * -1 mod 2^bits`) for
/// integers.
fn neg<T: GpuElement>(x: T) -> T {
    if T::DTYPE.is_float() {
        x.mul(T::from_f64(-1.0))
    } else {
        x.mul(T::ALL_BITS.unwrap_or(T::ZERO))
    }
}

/// The device ops a reduction or scan supports (`Sum`, `Prod`, `Min`,
/// `Max`).
///
/// # Errors
/// [`Error::NotSupported`] for the logical and bitwise ops (the host path
/// has them: copy the container to the host first).
pub fn check_device_op(op: ReduceOp, what: &str) -> Result<i32> {
    match op {
        ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max => Ok(op as i32),
        other => Err(Error::NotSupported(format!(
            "{what} on a device container supports SUM, PROD, MIN and MAX, not {}; \
             copy it to the host (to_host) for the logical and bitwise ops",
            other.name()
        ))),
    }
}

/// Threads per block of the element-wise kernels and reductions.
pub(crate) const THREADS: u32 = 256;
/// Elements per block of the block scan (one thread each).
pub(crate) const SCAN_BLOCK: u32 = 512;

/// The compiled module for one element type on one device.
pub struct Kernels {
    fill: CudaFunction,
    unary: CudaFunction,
    combine_scalar: CudaFunction,
    reduce: CudaFunction,
    scan_block: CudaFunction,
    add_block_prefix: CudaFunction,
    shift_right: CudaFunction,
    to_keys: CudaFunction,
    from_keys: CudaFunction,
    bitonic: CudaFunction,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kernels")
    }
}

/// A grid that covers `n` elements with `THREADS`-thread blocks, capped
/// (the kernels loop grid-stride).
pub(crate) fn grid_for(n: u64) -> LaunchConfig {
    let blocks = n.div_ceil(THREADS as u64).clamp(1, 65_535) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

impl Kernels {
    /// Compiles [`SOURCE`] for `T` with NVRTC and loads it into `ctx`.
    ///
    /// # Errors
    /// [`Error::Backend`] if NVRTC cannot be loaded or compilation or
    /// module loading fails (the NVRTC log is included).
    pub(crate) fn compile<T: GpuElement>(ctx: &Arc<CudaContext>) -> Result<Kernels> {
        if !crate::has_nvrtc() {
            return Err(Error::Backend(
                "device algorithms need NVRTC (libnvrtc.so from the CUDA toolkit), which could not be loaded".into(),
            ));
        }
        let src = format!("typedef {} T;\n#define DTL_FLOAT {}\n{SOURCE}", T::CUDA_NAME, T::DTYPE.is_float() as i32);
        let ptx = cudarc::nvrtc::compile_ptx(&src)
            .map_err(|e| Error::Backend(format!("NVRTC could not compile dtl's {} kernels: {e:?}", T::DTYPE.name())))?;
        let module = ctx.load_module(ptx).map_err(cuda_err("cuModuleLoadData"))?;
        let f = |name: &str| module.load_function(name).map_err(cuda_err("cuModuleGetFunction"));
        Ok(Kernels {
            fill: f("dtl_fill")?,
            unary: f("dtl_unary")?,
            combine_scalar: f("dtl_combine_scalar")?,
            reduce: f("dtl_reduce")?,
            scan_block: f("dtl_scan_block")?,
            add_block_prefix: f("dtl_add_block_prefix")?,
            shift_right: f("dtl_shift_right")?,
            to_keys: f("dtl_to_keys")?,
            from_keys: f("dtl_from_keys")?,
            bitonic: f("dtl_bitonic")?,
        })
    }

    /// `x[0..n] = v`. Queued on `stream`.
    ///
    /// # Safety
    /// `x` points to at least `n` elements of `T` on the stream's device.
    pub(crate) unsafe fn fill<T: GpuElement>(&self, s: &CudaStream, x: u64, n: u64, v: T) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let mut b = s.launch_builder(&self.fill);
        b.arg(&x).arg(&n).arg(&v);
        b.launch(grid_for(n)).map(|_| ()).map_err(cuda_err("dtl_fill launch"))
    }

    /// `y[i] = op(x[i], a)`; `y` may equal `x`. Queued on `stream`.
    ///
    /// # Safety
    /// `x` and `y` point to at least `n` elements of `T` on the device.
    pub(crate) unsafe fn unary<T: GpuElement>(
        &self,
        s: &CudaStream,
        y: u64,
        x: u64,
        n: u64,
        op: UnaryOp,
        a: T,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let code = op as i32;
        let mut b = s.launch_builder(&self.unary);
        b.arg(&y).arg(&x).arg(&n).arg(&code).arg(&a);
        b.launch(grid_for(n)).map(|_| ()).map_err(cuda_err("dtl_unary launch"))
    }

    /// `y[i] = p op y[i]`. Queued on `stream`.
    ///
    /// # Safety
    /// `y` points to at least `n` elements of `T` on the device.
    pub(crate) unsafe fn combine_scalar<T: GpuElement>(
        &self,
        s: &CudaStream,
        y: u64,
        n: u64,
        op: i32,
        p: T,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let mut b = s.launch_builder(&self.combine_scalar);
        b.arg(&y).arg(&n).arg(&op).arg(&p);
        b.launch(grid_for(n)).map(|_| ()).map_err(cuda_err("dtl_combine_scalar launch"))
    }

    /// `op` over `x[0..n]` (the identity for `n == 0`): a grid-stride
    /// pass writing one partial per block, then one block over the
    /// partials; synchronises the stream to read the result.
    ///
    /// # Safety
    /// `x` points to at least `n` elements of `T` on the device.
    pub(crate) unsafe fn reduce<T: GpuElement>(
        &self,
        s: &Arc<CudaStream>,
        sm_count: u32,
        x: u64,
        n: u64,
        op: i32,
        ident: T,
    ) -> Result<T> {
        if n == 0 {
            return Ok(ident);
        }
        let blocks = (n.div_ceil(THREADS as u64) as u32).clamp(1, (sm_count * 8).clamp(1, 4096));
        let shared = THREADS * std::mem::size_of::<T>() as u32;
        let mut partial = s.alloc_zeros::<T>(blocks as usize + 1).map_err(cuda_err("cuMemAlloc (reduce partials)"))?;
        let (pp, guard) = cudarc::driver::DevicePtrMut::device_ptr_mut(&mut partial, s);
        let last = pp + (blocks as u64) * std::mem::size_of::<T>() as u64;
        let cfg = LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: shared };
        let mut b = s.launch_builder(&self.reduce);
        b.arg(&x).arg(&n).arg(&pp).arg(&op).arg(&ident);
        b.launch(cfg).map_err(cuda_err("dtl_reduce launch"))?;
        let nb = blocks as u64;
        let cfg1 = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: shared };
        let mut b = s.launch_builder(&self.reduce);
        b.arg(&pp).arg(&nb).arg(&last).arg(&op).arg(&ident);
        b.launch(cfg1).map_err(cuda_err("dtl_reduce launch (final)"))?;
        drop(guard);
        let mut out = [ident];
        let tail = partial.slice(blocks as usize..);
        s.memcpy_dtoh(&tail, &mut out).map_err(cuda_err("cuMemcpyDtoH (reduce result)"))?;
        s.synchronize().map_err(cuda_err("cuStreamSynchronize (reduce)"))?;
        Ok(out[0])
    }

    /// Inclusive scan `y[i] = x[0] op … op x[i]` (`y` may equal `x`):
    /// block scans, a recursive scan of the block totals, then the totals
    /// added back. Queued on `stream`.
    ///
    /// # Safety
    /// `x` and `y` point to at least `n` elements of `T` on the device.
    pub(crate) unsafe fn inclusive_scan<T: GpuElement>(
        &self,
        s: &Arc<CudaStream>,
        y: u64,
        x: u64,
        n: u64,
        op: i32,
        ident: T,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let blocks = n.div_ceil(SCAN_BLOCK as u64);
        let grid = u32::try_from(blocks)
            .map_err(|_| Error::InvalidArgument(format!("device scan of {n} elements: too many blocks")))?;
        let shared = 2 * SCAN_BLOCK * std::mem::size_of::<T>() as u32;
        let cfg = LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (SCAN_BLOCK, 1, 1), shared_mem_bytes: shared };
        if blocks == 1 {
            let none = 0u64;
            let mut b = s.launch_builder(&self.scan_block);
            b.arg(&y).arg(&x).arg(&n).arg(&none).arg(&op).arg(&ident);
            b.launch(cfg).map_err(cuda_err("dtl_scan_block launch"))?;
            return Ok(());
        }
        let mut sums = s.alloc_zeros::<T>(blocks as usize).map_err(cuda_err("cuMemAlloc (scan block totals)"))?;
        let (ps, guard) = cudarc::driver::DevicePtrMut::device_ptr_mut(&mut sums, s);
        let mut b = s.launch_builder(&self.scan_block);
        b.arg(&y).arg(&x).arg(&n).arg(&ps).arg(&op).arg(&ident);
        b.launch(cfg).map_err(cuda_err("dtl_scan_block launch"))?;
        self.inclusive_scan(s, ps, ps, blocks, op, ident)?;
        let block = SCAN_BLOCK;
        let mut b = s.launch_builder(&self.add_block_prefix);
        b.arg(&y).arg(&n).arg(&ps).arg(&block).arg(&op);
        b.launch(grid_for(n)).map_err(cuda_err("dtl_add_block_prefix launch"))?;
        drop(guard);
        // `sums` is freed asynchronously on the stream, after the kernels.
        Ok(())
    }

    /// `y[0] = v`, `y[i] = x[i-1]`; `y` must not overlap `x`.
    ///
    /// # Safety
    /// `x` and `y` point to at least `n` elements of `T` on the device.
    pub(crate) unsafe fn shift_right<T: GpuElement>(&self, s: &CudaStream, y: u64, x: u64, n: u64, v: T) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let mut b = s.launch_builder(&self.shift_right);
        b.arg(&y).arg(&x).arg(&n).arg(&v);
        b.launch(grid_for(n)).map(|_| ()).map_err(cuda_err("dtl_shift_right launch"))
    }

    /// Sorts `x[0..n]` in place in dtl's order (ascending, or descending
    /// with `reverse`; NaN last either way): order-preserving `u64` keys,
    /// a bitonic sort over them padded to a power of two, and back.
    /// NaNs come back as the canonical quiet NaN. Queued on `stream`.
    ///
    /// # Safety
    /// `x` points to at least `n` elements of `T` on the device.
    pub(crate) unsafe fn sort(&self, s: &Arc<CudaStream>, x: u64, n: u64, reverse: bool) -> Result<()> {
        if n < 2 {
            return Ok(());
        }
        let m = n.next_power_of_two();
        let flip: u64 = if reverse { u64::MAX } else { 0 };
        let mut keys = s.alloc_zeros::<u64>(m as usize).map_err(cuda_err("cuMemAlloc (sort keys)"))?;
        let (pk, guard) = cudarc::driver::DevicePtrMut::device_ptr_mut(&mut keys, s);
        let mut b = s.launch_builder(&self.to_keys);
        b.arg(&x).arg(&pk).arg(&n).arg(&m).arg(&flip);
        b.launch(grid_for(m)).map_err(cuda_err("dtl_to_keys launch"))?;
        let mut kk = 2u64;
        while kk <= m {
            let mut j = kk >> 1;
            while j > 0 {
                let mut b = s.launch_builder(&self.bitonic);
                b.arg(&pk).arg(&m).arg(&j).arg(&kk);
                b.launch(grid_for(m)).map_err(cuda_err("dtl_bitonic launch"))?;
                j >>= 1;
            }
            kk <<= 1;
        }
        let mut b = s.launch_builder(&self.from_keys);
        b.arg(&pk).arg(&x).arg(&n).arg(&flip);
        b.launch(grid_for(n)).map_err(cuda_err("dtl_from_keys launch"))?;
        drop(guard);
        Ok(())
    }
}
