//! Fuzz target over the C entry points of libdtl.
//!
//! The input is a program: a sequence of calls, each an opcode byte (one arm
//! of the `match` in [`step`]) followed by the bytes its arguments are drawn
//! from. Handles come from slots of live and destroyed contexts and vectors,
//! or are NULL, pointers dtl never returned, or handles of the other kind;
//! dtype and op codes are mostly valid, sometimes not; sizes are small (real
//! allocations) or far beyond what any machine can allocate (never in
//! between, so that nothing is OOM-killed); buffers are real, NULL,
//! misaligned, in place or overlapping.
//!
//! Every call must return one of the DTL_* codes and never DTL_ERROR_INTERNAL
//! (a panic caught at the C boundary, i.e. a bug in dtl). Where the outcome
//! is determined by the arguments — an invalid handle or code, a NULL or
//! misaligned pointer, a valid call on one rank — the exact status is
//! checked too, plus a model of each live vector (dtype, size, contents
//! across resize and fill) and the results of dtl_allreduce on one rank.
//!
//! The process is a singleton MPI job (no mpirun): dtl_init() once, never
//! dtl_finalize(); every input ends by destroying what it created.
//!
//! To cover a new entry point: add an arm `N => { ... }` to `step` (use the
//! helpers: `st.handle(inp, Kind::X)`, `inp.code()`, `inp.size()`,
//! `Out::draw`, `expect!`) and set `N_OPS = N + 1`.
//!
//! DTL_FUZZ_TRACE=1 prints every call and its status (for replaying a crash:
//! `DTL_FUZZ_TRACE=1 target/.../capi_calls crash-file`).
#![no_main]

use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::{Mutex, Once, OnceLock};

use dtl::*;
use libfuzzer_sys::fuzz_target;

/// The status codes of dtl.h.
const STATUSES: [dtl_status; 10] = [
    DTL_SUCCESS,
    DTL_ERROR_COMMUNICATION,
    DTL_ERROR_MEMORY,
    DTL_ERROR_INVALID_ARGUMENT,
    DTL_ERROR_BOUNDS,
    DTL_ERROR_MISMATCH,
    DTL_ERROR_BACKEND,
    DTL_ERROR_NOT_SUPPORTED,
    DTL_ERROR_INVALID_STATE,
    DTL_ERROR_INTERNAL,
];

/// Slots per handle kind.
const SLOTS: usize = 8;
/// Largest "small" size or count, in elements (a vector is at most 128 KiB).
const MAX_SMALL: u64 = 1 << 14;
/// Largest count passed with real buffers to dtl_allreduce.
const MAX_COUNT: usize = 64;
/// Sizes no machine can allocate (>= 2^41 elements) or that overflow.
const HUGE: [u64; 14] = [
    1 << 41,
    1 << 45,
    1 << 50,
    1 << 56,
    (1 << 60) + 3,
    (1 << 61) - 1,
    1 << 62,
    (i64::MAX as u64) / 8 + 1,
    (1 << 63) - 1,
    1 << 63,
    (1 << 63) + 1,
    u64::MAX - 7,
    u64::MAX - 1,
    u64::MAX,
];
/// Codes around and outside the valid ranges (0..=9 for dtypes and ops).
const ODD_CODES: [i32; 12] = [-1, -2, 10, 11, 42, 99, 127, 255, 256, -1000, i32::MIN, i32::MAX];

fn trace() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("DTL_FUZZ_TRACE").is_some_and(|v| v != "0"))
}

fn last_error() -> String {
    // SAFETY: dtl returns a NUL-terminated string that stays valid until the next failing call.
    unsafe { CStr::from_ptr(dtl_last_error_message()) }.to_string_lossy().into_owned()
}

/// Checks that `st`, returned by `call`, is a dtl status and not INTERNAL.
fn checked(call: &str, st: dtl_status) -> dtl_status {
    if trace() {
        let msg = if st == DTL_SUCCESS { String::new() } else { format!(": {}", last_error()) };
        eprintln!("  {call} -> {st}{msg}");
    }
    assert!(STATUSES.contains(&st), "{call} returned {st}, which is not a dtl_status code");
    assert_ne!(st, DTL_ERROR_INTERNAL, "{call} returned DTL_ERROR_INTERNAL (a panic in dtl): {}", last_error());
    if st != DTL_SUCCESS {
        // The last error names the failed call ("dtl_x: category: detail").
        let msg = last_error();
        assert!(
            msg.strip_prefix(call).is_some_and(|rest| rest.starts_with(": ")),
            "{call} failed with {st}, but the last error is {msg:?}"
        );
    }
    st
}

/// Runs a dtl call, checks its status, and returns it.
macro_rules! call {
    ($f:ident($($a:expr),* $(,)?)) => {{
        // SAFETY: the harness passes only what the C contract of each
        // function allows: valid, NULL or misaligned pointers to its own
        // buffers, and handle values dtl must reject without dereferencing.
        #[allow(unused_unsafe)]
        let st = unsafe { $f($($a),*) };
        checked(stringify!($f), st)
    }};
}

/// A status that must be `want` (when known).
macro_rules! expect {
    ($st:expr, $want:expr, $($what:tt)*) => {{
        let (st, want): (dtl_status, Option<dtl_status>) = ($st, $want);
        if let Some(w) = want {
            assert_eq!(st, w, "{}: got {st}, expected {w} (last error: {})", format!($($what)*), last_error());
        }
    }};
}

// ------------------------------------------------------------------ input

/// The fuzzer's bytes, consumed front to back; every draw returns None at
/// the end of the input, which ends the program.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (a, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*a)
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.array()?))
    }

    /// A dtype or op code: mostly 0..=9, sometimes out of range.
    fn code(&mut self) -> Option<i32> {
        let b = self.byte()?;
        Some(match b {
            0..=219 => i32::from(b % 10),
            220..=251 => ODD_CODES[usize::from(b - 220) % ODD_CODES.len()],
            _ => self.i32()?,
        })
    }

    /// A size in elements: small (0..=MAX_SMALL) or huge (HUGE), never in between.
    fn size(&mut self) -> Option<u64> {
        let b = self.byte()?;
        Some(match b {
            0..=127 => u64::from(b % 32),
            128..=223 => u64::from(u16::from_le_bytes(self.array()?)) % (MAX_SMALL + 1),
            _ => HUGE[usize::from(b - 224) % HUGE.len()],
        })
    }
}

// ------------------------------------------------------------------ model

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ctx,
    Vec,
}

#[derive(Clone, Copy, Debug)]
struct VecModel {
    dtype: i32,
    size: u64,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Empty,
    /// A live handle (with the model of a vector).
    Live(*mut c_void, Option<VecModel>),
    /// A destroyed handle whose address no live handle has (see `forget`).
    Dead(*mut c_void),
}

/// A handle argument and what dtl must make of it.
#[derive(Clone, Copy, Debug)]
enum Handle {
    /// A live handle of the right kind in slot i.
    Valid(usize),
    /// NULL, destroyed, foreign or of the other kind: DTL_ERROR_INVALID_ARGUMENT.
    Invalid,
}

/// Memory dtl never returned, with fake tags at the start of some words.
#[repr(C, align(64))]
struct Garbage([u64; 16]);
static GARBAGE: Garbage = Garbage([
    u64::from_be_bytes(*b"dtl_ctx!"),
    u64::from_be_bytes(*b"dtl_vec!"),
    u64::from_be_bytes(*b"dtl_dead"),
    0,
    u64::MAX,
    u64::from_be_bytes(*b"dtl_ctx!"),
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
]);

struct State {
    ctx: [Slot; SLOTS],
    vec: [Slot; SLOTS],
    /// dtl_init holds: the harness's own (1) plus the program's.
    holds: usize,
}

// SAFETY: the handles are only used under the STATE mutex (and libFuzzer
// runs inputs on one thread).
unsafe impl Send for State {}

impl State {
    fn slots(&mut self, kind: Kind) -> &mut [Slot; SLOTS] {
        match kind {
            Kind::Ctx => &mut self.ctx,
            Kind::Vec => &mut self.vec,
        }
    }

    fn live_objects(&self) -> usize {
        self.ctx.iter().chain(self.vec.iter()).filter(|s| matches!(s, Slot::Live(..))).count()
    }

    fn ptr(&mut self, kind: Kind, i: usize) -> *mut c_void {
        match self.slots(kind)[i] {
            Slot::Live(p, _) => p,
            _ => unreachable!("slot {i} of {kind:?} is not live"),
        }
    }

    fn model(&mut self, i: usize) -> VecModel {
        match self.vec[i] {
            Slot::Live(_, Some(m)) => m,
            _ => unreachable!("vector slot {i} has no model"),
        }
    }

    /// Draws a handle argument for a parameter of kind `want`.
    fn handle(&mut self, inp: &mut Input, want: Kind) -> Option<(*mut c_void, Handle)> {
        let b = inp.byte()?;
        let other = if want == Kind::Ctx { Kind::Vec } else { Kind::Ctx };
        let i = usize::from(b) % SLOTS;
        Some(match b {
            0..=159 => match self.slots(want)[i] {
                Slot::Live(p, _) => (p, Handle::Valid(i)),
                Slot::Dead(p) => (p, Handle::Invalid),
                Slot::Empty => (ptr::null_mut(), Handle::Invalid),
            },
            160..=207 => match self.slots(other)[i] {
                Slot::Live(p, _) | Slot::Dead(p) => (p, Handle::Invalid),
                Slot::Empty => (ptr::null_mut(), Handle::Invalid),
            },
            _ => {
                let base = GARBAGE.0.as_ptr() as usize;
                let p = match b % 12 {
                    0 => 0,
                    1 => 1,
                    2 => 8,
                    3 => 0x1000,
                    4 => usize::MAX,
                    5 => usize::MAX - 7,
                    6 => base,
                    7 => base + 8,
                    8 => base + 3,
                    9 => base + 40,
                    10 => &GARBAGE as *const Garbage as usize + 16,
                    _ => self as *const State as usize,
                };
                (p as *mut c_void, Handle::Invalid)
            }
        })
    }

    /// A handle was just created at `p`: a destroyed handle with the same
    /// address (of either kind) is no longer known to be dead.
    fn forget(&mut self, p: *mut c_void) {
        for s in self.ctx.iter_mut().chain(self.vec.iter_mut()) {
            if matches!(*s, Slot::Dead(q) if q == p) {
                *s = Slot::Empty;
            }
        }
    }

    /// Stores a new handle in slot `i` (destroying what lives there).
    fn store(&mut self, kind: Kind, i: usize, p: *mut c_void, model: Option<VecModel>) {
        assert!(!p.is_null());
        self.destroy_slot(kind, i);
        self.forget(p);
        self.slots(kind)[i] = Slot::Live(p, model);
    }

    /// Keeps MPI up before a destroy: the last live object must not take
    /// MPI down with it while the program holds no dtl_init.
    fn keep_mpi(&mut self) {
        if self.holds == 0 {
            let st = call!(dtl_init());
            expect!(st, Some(DTL_SUCCESS), "dtl_init to keep MPI");
            self.holds += 1;
        }
    }

    fn destroy_slot(&mut self, kind: Kind, i: usize) {
        if let Slot::Live(p, _) = self.slots(kind)[i] {
            self.keep_mpi();
            let st = match kind {
                Kind::Ctx => call!(dtl_context_destroy(p.cast())),
                Kind::Vec => call!(dtl_vector_destroy(p.cast())),
            };
            expect!(st, Some(DTL_SUCCESS), "destroying {kind:?} slot {i}");
            self.slots(kind)[i] = Slot::Dead(p);
        }
    }

    /// Ends a program: destroys every live handle, restores one hold.
    fn finish(&mut self) {
        for i in 0..SLOTS {
            self.destroy_slot(Kind::Vec, i);
            self.destroy_slot(Kind::Ctx, i);
        }
        self.keep_mpi();
        while self.holds > 1 {
            let st = call!(dtl_finalize());
            expect!(st, Some(DTL_SUCCESS), "dtl_finalize at the end");
            self.holds -= 1;
        }
        self.ctx = [Slot::Empty; SLOTS];
        self.vec = [Slot::Empty; SLOTS];
    }
}

// ------------------------------------------------------------ arguments

/// Where an output pointer points.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Out {
    Valid,
    Null,
    Misaligned,
}

impl Out {
    fn draw(inp: &mut Input) -> Option<Out> {
        Some(match inp.byte()? % 8 {
            0..=5 => Out::Valid,
            6 => Out::Null,
            _ => Out::Misaligned,
        })
    }

    /// The pointer for an output of type T in `storage` (which is at least
    /// 2 * size_of::<T>() bytes and aligned for T).
    fn ptr<T>(self, storage: &mut [u64; 4]) -> *mut T {
        match self {
            Out::Valid => storage.as_mut_ptr().cast(),
            Out::Null => ptr::null_mut(),
            Out::Misaligned => storage.as_mut_ptr().cast::<u8>().wrapping_add(1).cast(),
        }
    }
}

fn dtype_size(code: i32) -> Option<usize> {
    Some(match code {
        0 | 4 => 1,
        1 | 5 => 2,
        2 | 6 | 8 => 4,
        3 | 7 | 9 => 8,
        _ => return None,
    })
}

fn is_float(code: i32) -> bool {
    code == 8 || code == 9
}

fn valid_op(op: i32) -> bool {
    (0..=9).contains(&op)
}

/// Logical and bitwise ops are for integer dtypes only.
fn op_allowed(dtype: i32, op: i32) -> bool {
    valid_op(op) && (op <= 3 || !is_float(dtype))
}

/// This rank's elements of a live vector, as bytes.
fn vector_bytes(v: *mut c_void, m: VecModel) -> Vec<u8> {
    let mut data: *mut c_void = ptr::null_mut();
    let st = call!(dtl_container_local_data(v.cast(), &mut data));
    expect!(st, Some(DTL_SUCCESS), "local_data of a live vector");
    let n = m.size as usize * dtype_size(m.dtype).expect("a live vector has a valid dtype");
    if n == 0 {
        assert!(data.is_null(), "local data of an empty vector is not NULL");
        return Vec::new();
    }
    assert!(!data.is_null(), "local data of a vector of {} elements is NULL", m.size);
    // SAFETY: dtl documents local_size elements of the dtype at data.
    unsafe { std::slice::from_raw_parts(data.cast::<u8>(), n) }.to_vec()
}

// ------------------------------------------------------------------ calls

/// Number of opcodes: one more than the last arm of the match in `step`.
const N_OPS: u8 = 22;

/// Runs one call of the program; None at the end of the input.
fn step(st: &mut State, inp: &mut Input) -> Option<()> {
    let op = inp.byte()? % N_OPS;
    if trace() {
        eprintln!("op {op}");
    }
    match op {
        // dtl_context_create_world(out)
        0 => {
            let (slot, out) = (usize::from(inp.byte()?) % SLOTS, Out::draw(inp)?);
            let mut storage = [u64::MAX; 4];
            let p = out.ptr::<dtl_context_t>(&mut storage);
            let s = call!(dtl_context_create_world(p));
            expect!(s, Some(if out == Out::Valid { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "create_world");
            if out == Out::Valid {
                st.store(Kind::Ctx, slot, storage[0] as *mut c_void, None);
            }
        }
        // dtl_context_create_from_comm(mpi_comm, out)
        1 => {
            let (slot, which, out) = (usize::from(inp.byte()?) % SLOTS, inp.byte()? % 6, Out::draw(inp)?);
            // SAFETY: reading the MPI_Comm constants of mpi-sys.
            let comms = unsafe { [mpi::ffi::RSMPI_COMM_WORLD, mpi::ffi::RSMPI_COMM_SELF, mpi::ffi::RSMPI_COMM_NULL] };
            let misaligned = [comms[0]; 2];
            let comm: *const c_void = match which {
                0 | 1 => (&comms[usize::from(which)] as *const mpi::ffi::MPI_Comm).cast(),
                2 => (&comms[2] as *const mpi::ffi::MPI_Comm).cast(),
                3 => ptr::null(),
                _ => misaligned.as_ptr().cast::<u8>().wrapping_add(1 + usize::from(which == 5) * 2).cast(),
            };
            let mut storage = [u64::MAX; 4];
            let p = out.ptr::<dtl_context_t>(&mut storage);
            let s = call!(dtl_context_create_from_comm(comm, p));
            let ok = which <= 1 && out == Out::Valid;
            expect!(s, Some(if ok { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "create_from_comm({which})");
            if out == Out::Valid {
                if ok {
                    st.store(Kind::Ctx, slot, storage[0] as *mut c_void, None);
                } else {
                    assert_eq!(storage[0], 0, "a failed create_from_comm left *out non-NULL");
                }
            }
        }
        // dtl_context_destroy(ctx)
        2 => {
            let (h, which) = st.handle(inp, Kind::Ctx)?;
            match which {
                Handle::Valid(i) => st.destroy_slot(Kind::Ctx, i),
                Handle::Invalid => {
                    let s = call!(dtl_context_destroy(h.cast()));
                    expect!(s, Some(DTL_ERROR_INVALID_ARGUMENT), "destroy of an invalid context");
                }
            }
        }
        // dtl_context_rank / dtl_context_size(ctx, out)
        3 | 4 => {
            let ((h, which), out) = (st.handle(inp, Kind::Ctx)?, Out::draw(inp)?);
            let mut storage = [u64::MAX; 4];
            let p = out.ptr::<i32>(&mut storage);
            let s = if op == 3 { call!(dtl_context_rank(h.cast(), p)) } else { call!(dtl_context_size(h.cast(), p)) };
            let ok = matches!(which, Handle::Valid(_)) && out == Out::Valid;
            expect!(s, Some(if ok { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "context rank/size");
            if ok {
                assert_eq!(storage[0] as u32 as i32, if op == 3 { 0 } else { 1 }, "rank/size on one rank");
            } else if out != Out::Null {
                assert_eq!(storage, [u64::MAX; 4], "a failed rank/size wrote its output");
            }
        }
        // dtl_context_barrier(ctx)
        5 => {
            let (h, which) = st.handle(inp, Kind::Ctx)?;
            let s = call!(dtl_context_barrier(h.cast()));
            let want = if matches!(which, Handle::Valid(_)) { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT };
            expect!(s, Some(want), "barrier");
        }
        // dtl_context_dup(ctx, out), dtl_context_split(ctx, color, key, out)
        6 | 7 => {
            let (slot, (h, which), out) =
                (usize::from(inp.byte()?) % SLOTS, st.handle(inp, Kind::Ctx)?, Out::draw(inp)?);
            let (color, key) = if op == 7 { (inp.i32()?, inp.i32()?) } else { (0, 0) };
            let mut storage = [u64::MAX; 4];
            let p = out.ptr::<dtl_context_t>(&mut storage);
            let s = if op == 6 {
                call!(dtl_context_dup(h.cast(), p))
            } else {
                call!(dtl_context_split(h.cast(), color, key, p))
            };
            let ok = matches!(which, Handle::Valid(_)) && out == Out::Valid;
            expect!(s, Some(if ok { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "dup/split");
            if out == Out::Valid {
                if ok && (op == 6 || color >= 0) {
                    st.store(Kind::Ctx, slot, storage[0] as *mut c_void, None);
                } else {
                    assert_eq!(storage[0], 0, "*out is not NULL after a failed dup/split or a negative color");
                }
            }
        }
        // dtl_allreduce(ctx, send, recv, count, dtype, op)
        8 => {
            let (h, which) = st.handle(inp, Kind::Ctx)?;
            let (dtype, rop, layout, cb) = (inp.code()?, inp.code()?, inp.byte()?, inp.byte()?);
            let count = match cb {
                0..=199 => u64::from(cb) % (MAX_COUNT as u64 + 1),
                200..=227 => HUGE[usize::from(cb - 200) % HUGE.len()],
                _ => [1u64 << 31, (1 << 31) - 1, 1 << 32, 100, 1000, MAX_SMALL][usize::from(cb) % 6],
            };
            // 1280 bytes: send and recv of up to 64 eight-byte elements, apart or overlapping.
            let mut buf = [0u64; 160];
            for (k, w) in buf.iter_mut().enumerate() {
                *w = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(layout);
            }
            let esize = dtype_size(dtype).unwrap_or(8);
            let base = buf.as_mut_ptr().cast::<u8>();
            let shift = usize::from(layout >> 3) % 8 * esize; // overlapping recv, whole elements
            let (send, recv): (*mut u8, *mut u8) = match layout % 8 {
                0 | 1 => (base, base.wrapping_add(640)),
                2 => (base, base),
                3 => (base, base.wrapping_add(shift)),
                4 => (base.wrapping_add(shift), base),
                5 => (ptr::null_mut(), base),
                6 => (base, ptr::null_mut()),
                _ => (base.wrapping_add(1 + usize::from(layout >> 6)), base.wrapping_add(640 + 2)),
            };
            let huge_bytes = count.checked_mul(esize as u64).is_none_or(|b| b > isize::MAX as u64);
            // Real buffers hold MAX_COUNT elements: a larger count goes with a
            // NULL send unless its size overflows (rejected before any access).
            let (send, recv) = if count > MAX_COUNT as u64 && !huge_bytes && !send.is_null() && !recv.is_null() {
                (ptr::null_mut(), recv)
            } else {
                (send, recv)
            };
            let misaligned = |p: *mut u8| !p.is_null() && (p as usize) % esize != 0;
            let ok_args = dtype_size(dtype).is_some() && op_allowed(dtype, rop);
            let want = if !matches!(which, Handle::Valid(_)) || !ok_args {
                DTL_ERROR_INVALID_ARGUMENT
            } else if count == 0 {
                DTL_SUCCESS
            } else if send.is_null()
                || recv.is_null()
                || misaligned(send)
                || misaligned(recv)
                || huge_bytes
                || count > i32::MAX as u64
            {
                DTL_ERROR_INVALID_ARGUMENT
            } else {
                DTL_SUCCESS
            };
            let before = buf;
            let sent: Vec<u8> = if want == DTL_SUCCESS && count > 0 {
                // SAFETY: count <= MAX_COUNT elements inside buf.
                unsafe { std::slice::from_raw_parts(send, count as usize * esize) }.to_vec()
            } else {
                Vec::new()
            };
            if count > MAX_COUNT as u64 && want == DTL_SUCCESS {
                unreachable!("harness: a large count with real buffers");
            }
            let s = call!(dtl_allreduce(h.cast(), send.cast_const().cast(), recv.cast(), count, dtype, rop));
            expect!(s, Some(want), "allreduce(count {count}, dtype {dtype}, op {rop}, layout {layout})");
            if s == DTL_SUCCESS && count > 0 {
                // One rank: the result is the input (logical ops: 0 or 1).
                // SAFETY: as above.
                let got = unsafe { std::slice::from_raw_parts(recv, count as usize * esize) };
                for (k, (g, x)) in got.chunks(esize).zip(sent.chunks(esize)).enumerate() {
                    if (4..=6).contains(&rop) {
                        let truthy = x.iter().any(|&b| b != 0);
                        let mut one = vec![0u8; esize];
                        one[0] = u8::from(truthy); // little-endian
                        assert_eq!(g, &one[..], "allreduce logical op {rop} element {k}");
                    } else {
                        assert_eq!(g, x, "allreduce op {rop} dtype {dtype} element {k}");
                    }
                }
            } else if s != DTL_SUCCESS {
                assert!(buf == before, "a failed allreduce changed memory");
            }
        }
        // dtl_vector_create(ctx, dtype, size, out)
        9 => {
            let (slot, (h, which)) = (usize::from(inp.byte()?) % SLOTS, st.handle(inp, Kind::Ctx)?);
            let (dtype, size, out) = (inp.code()?, inp.size()?, Out::draw(inp)?);
            let mut storage = [u64::MAX; 4];
            let p = out.ptr::<dtl_vector_t>(&mut storage);
            let s = call!(dtl_vector_create(h.cast(), dtype, size, p));
            let args_ok = matches!(which, Handle::Valid(_)) && out == Out::Valid && dtype_size(dtype).is_some();
            if !args_ok {
                expect!(s, Some(DTL_ERROR_INVALID_ARGUMENT), "vector_create");
            } else if size > MAX_SMALL {
                assert!(
                    s == DTL_ERROR_MEMORY || s == DTL_ERROR_INVALID_ARGUMENT,
                    "vector_create of {size} elements gave {s}: {}",
                    last_error()
                );
            } else {
                expect!(s, Some(DTL_SUCCESS), "vector_create(dtype {dtype}, size {size})");
            }
            if out == Out::Valid {
                if s == DTL_SUCCESS {
                    let v = storage[0] as *mut c_void;
                    st.store(Kind::Vec, slot, v, Some(VecModel { dtype, size }));
                    let bytes = vector_bytes(v, VecModel { dtype, size });
                    assert!(bytes.iter().all(|&b| b == 0), "a new vector is not zeroed");
                } else {
                    assert_eq!(storage[0], 0, "a failed vector_create left *out non-NULL");
                }
            }
        }
        // dtl_vector_destroy(vec)
        10 => {
            let (h, which) = st.handle(inp, Kind::Vec)?;
            match which {
                Handle::Valid(i) => st.destroy_slot(Kind::Vec, i),
                Handle::Invalid => {
                    let s = call!(dtl_vector_destroy(h.cast()));
                    expect!(s, Some(DTL_ERROR_INVALID_ARGUMENT), "destroy of an invalid vector");
                }
            }
        }
        // dtl_vector_global_size / local_size / local_offset / dtype(vec, out)
        11..=14 => {
            let ((h, which), out) = (st.handle(inp, Kind::Vec)?, Out::draw(inp)?);
            let mut storage = [u64::MAX; 4];
            let s = match op {
                11 => call!(dtl_container_global_size(h.cast(), out.ptr(&mut storage))),
                12 => call!(dtl_container_local_size(h.cast(), out.ptr(&mut storage))),
                13 => call!(dtl_container_local_offset(h.cast(), out.ptr(&mut storage))),
                _ => call!(dtl_container_dtype(h.cast(), out.ptr::<i32>(&mut storage))),
            };
            let ok = matches!(which, Handle::Valid(_)) && out == Out::Valid;
            expect!(s, Some(if ok { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "vector accessor {op}");
            if let (true, Handle::Valid(i)) = (ok, which) {
                let m = st.model(i);
                let want = match op {
                    11 | 12 => m.size,
                    13 => 0,
                    _ => m.dtype as u32 as u64 | (u64::MAX << 32),
                };
                assert_eq!(storage[0], want, "vector accessor {op} on {m:?}");
            } else if out != Out::Null {
                assert_eq!(storage, [u64::MAX; 4], "a failed accessor wrote its output");
            }
        }
        // dtl_container_local_data(vec, out), then writes through the pointer
        15 => {
            let ((h, which), out, seed) = (st.handle(inp, Kind::Vec)?, Out::draw(inp)?, inp.byte()?);
            let mut storage = [u64::MAX; 4];
            let p = out.ptr::<*mut c_void>(&mut storage);
            let s = call!(dtl_container_local_data(h.cast(), p));
            let ok = matches!(which, Handle::Valid(_)) && out == Out::Valid;
            expect!(s, Some(if ok { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "local_data");
            if let (true, Handle::Valid(i)) = (ok, which) {
                let m = st.model(i);
                let data = storage[0] as *mut u8;
                let esize = dtype_size(m.dtype).expect("valid dtype");
                let n = m.size as usize * esize;
                assert_eq!(data.is_null(), n == 0, "local_data NULL iff the vector is empty");
                if n > 0 {
                    assert_eq!(data as usize % esize, 0, "local data misaligned for dtype {}", m.dtype);
                    // SAFETY: n bytes of local elements, documented writable.
                    let d = unsafe { std::slice::from_raw_parts_mut(data, n) };
                    for (k, b) in d.iter_mut().enumerate() {
                        *b = (k as u8).wrapping_mul(31).wrapping_add(seed);
                    }
                }
            }
        }
        // dtl_container_fill(vec, value)
        16 => {
            let (h, which) = st.handle(inp, Kind::Vec)?;
            let (null, value) = (inp.byte()? % 8 == 0, inp.array::<9>()?);
            let vp: *const c_void = if null { ptr::null() } else { value.as_ptr().wrapping_add(1).cast() };
            let s = call!(dtl_container_fill(h.cast(), vp));
            let ok = matches!(which, Handle::Valid(_)) && !null;
            expect!(s, Some(if ok { DTL_SUCCESS } else { DTL_ERROR_INVALID_ARGUMENT }), "fill");
            if let (true, Handle::Valid(i)) = (ok, which) {
                let m = st.model(i);
                let esize = dtype_size(m.dtype).expect("valid dtype");
                let bytes = vector_bytes(st.ptr(Kind::Vec, i), m);
                for e in bytes.chunks(esize) {
                    assert_eq!(e, &value[1..1 + esize], "fill wrote another value");
                }
            }
        }
        // dtl_vector_resize(vec, new_size)
        17 => {
            let ((h, which), size) = (st.handle(inp, Kind::Vec)?, inp.size()?);
            let old = if let Handle::Valid(i) = which {
                let m = st.model(i);
                Some((i, m, vector_bytes(st.ptr(Kind::Vec, i), m)))
            } else {
                None
            };
            let s = call!(dtl_vector_resize(h.cast(), size));
            match old {
                None => expect!(s, Some(DTL_ERROR_INVALID_ARGUMENT), "resize of an invalid vector"),
                Some((i, m, before)) => {
                    let v = st.ptr(Kind::Vec, i);
                    if size > MAX_SMALL {
                        assert!(
                            s == DTL_ERROR_MEMORY || s == DTL_ERROR_INVALID_ARGUMENT,
                            "resize to {size} elements gave {s}: {}",
                            last_error()
                        );
                        // A failed resize leaves the vector as it was.
                        let mut g = 0u64;
                        let gs = call!(dtl_container_global_size(v.cast(), &mut g));
                        expect!(gs, Some(DTL_SUCCESS), "global_size after a failed resize");
                        assert_eq!(g, m.size, "a failed resize changed the size");
                        assert!(vector_bytes(v, m) == before, "a failed resize changed the elements");
                    } else {
                        expect!(s, Some(DTL_SUCCESS), "resize {} -> {size}", m.size);
                        let nm = VecModel { size, ..m };
                        if let Slot::Live(_, model) = &mut st.vec[i] {
                            *model = Some(nm);
                        }
                        let after = vector_bytes(v, nm);
                        let keep = before.len().min(after.len());
                        assert!(after[..keep] == before[..keep], "resize lost elements");
                        assert!(after[keep..].iter().all(|&b| b == 0), "resize: new elements are not zero");
                    }
                }
            }
        }
        // dtl_reduce(vec, op, result)
        18 => {
            let (h, which) = st.handle(inp, Kind::Vec)?;
            let (rop, null, off) = (inp.code()?, inp.byte()? % 8 == 0, usize::from(inp.byte()? % 8));
            let mut storage = [0u64; 4];
            let rp: *mut c_void =
                if null { ptr::null_mut() } else { storage.as_mut_ptr().cast::<u8>().wrapping_add(off).cast() };
            let s = call!(dtl_reduce(h.cast(), rop, rp));
            let want = match which {
                Handle::Valid(i) => {
                    let m = st.model(i);
                    if null || !op_allowed(m.dtype, rop) {
                        DTL_ERROR_INVALID_ARGUMENT
                    } else {
                        DTL_SUCCESS
                    }
                }
                Handle::Invalid => DTL_ERROR_INVALID_ARGUMENT,
            };
            expect!(s, Some(want), "reduce(op {rop})");
        }
        // dtl_init()
        19 => {
            let s = call!(dtl_init());
            expect!(s, Some(DTL_SUCCESS), "dtl_init");
            st.holds += 1;
        }
        // dtl_finalize(): never the one that would finalize MPI
        20 => {
            if st.holds > 1 || st.live_objects() > 0 {
                let s = call!(dtl_finalize());
                let want = if st.holds > 0 { DTL_SUCCESS } else { DTL_ERROR_INVALID_STATE };
                expect!(s, Some(want), "dtl_finalize with {} holds", st.holds);
                st.holds = st.holds.saturating_sub(1);
            }
        }
        // status strings, version, last error
        21 => {
            let code = match inp.byte()? {
                b @ 0..=199 => STATUSES[usize::from(b) % STATUSES.len()],
                _ => inp.i32()?,
            };
            // SAFETY: static NUL-terminated strings per dtl.h.
            let (name, msg, ver) = unsafe {
                (
                    CStr::from_ptr(dtl_status_name(code)),
                    CStr::from_ptr(dtl_status_message(code)),
                    CStr::from_ptr(dtl_version_string()),
                )
            };
            let (name, msg) = (name.to_str().expect("ASCII name"), msg.to_str().expect("ASCII message"));
            if STATUSES.contains(&code) {
                assert!(name.starts_with("DTL_") && name != "DTL_ERROR_UNKNOWN", "name of {code}: {name}");
                assert!(!msg.is_empty() && msg != "unknown status code", "message of {code}: {msg}");
            } else {
                assert_eq!(name, "DTL_ERROR_UNKNOWN");
                assert_eq!(msg, "unknown status code");
            }
            let ver = ver.to_str().expect("ASCII version");
            assert!(ver.starts_with(|c: char| c.is_ascii_digit()) && ver.contains('.'), "version {ver:?}");
            let _ = last_error();
        }
        _ => unreachable!("N_OPS ({N_OPS}) is larger than the number of opcodes"),
    }
    Some(())
}

/// The harness's state between inputs (one process, one MPI).
static STATE: Mutex<Option<State>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let s = call!(dtl_init());
        assert_eq!(s, DTL_SUCCESS, "dtl_init: {}", last_error());
        *STATE.lock().unwrap() = Some(State { ctx: [Slot::Empty; SLOTS], vec: [Slot::Empty; SLOTS], holds: 1 });
    });
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let st = guard.as_mut().expect("initialized");
    let mut inp = Input(data);
    let mut calls = 0;
    while calls < 512 && step(st, &mut inp).is_some() {
        calls += 1;
    }
    st.finish();
});
