//! Multi-rank tests of RMA windows (`dtl_core::rma::Window`): every
//! operation × dtype × synchronisation mode, with contention (every rank on
//! one target), exact expected values from closed forms, and the errors.
//!
//! ```text
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_rma \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! ```

#[macro_use]
mod common;

use common::Suite;

use dtl_core::rma::{LockMode, RmaOp, Window};
use dtl_core::{Context, DistributedVector, Element, Error};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite::new();
    per_dtype!(s, "rma::fence", t_fence);
    per_dtype!(s, "rma::lock", t_lock);
    per_dtype!(s, "rma::lock_all", t_lock_all);
    per_dtype!(s, "rma::pscw", t_pscw);
    per_dtype!(s, "rma::accumulate_ops", t_ops);
    s.add("rma::accumulate_wraps", t_wraps);
    s.add("rma::create_over_memory", t_create);
    s.add("rma::errors", t_errors);
    s
}

fn v<T: Element>(x: usize) -> T {
    T::from_f64(x as f64)
}

/// The window's local memory as `T`s.
fn local<T: Element>(w: &mut Window<'_>) -> Vec<T> {
    w.local_mut().chunks_exact(std::mem::size_of::<T>()).map(|c| bytes_to::<T>(c)).collect()
}

fn bytes_to<T: Element>(c: &[u8]) -> T {
    let mut x = T::ZERO;
    // SAFETY: `c` holds size_of::<T>() bytes; every bit pattern is a valid `T`.
    unsafe { std::ptr::copy_nonoverlapping(c.as_ptr(), (&mut x as *mut T).cast::<u8>(), c.len()) };
    x
}

/// Fence epochs: a ring put, a get from the left neighbour, every rank
/// accumulating into rank 0 (contention), fetch_and_op and CAS deferred
/// to the closing fence.
fn t_fence<T: Element>(ctx: &Context) {
    let (p, me) = (ctx.size(), ctx.rank());
    let sz = std::mem::size_of::<T>();
    let mut w = Window::allocate(ctx, 4 * sz).unwrap();
    {
        let right = (me + 1) % p;
        let mine = [v::<T>(me + 1)];
        let e = w.fence().unwrap();
        e.put(right, 0, &mine).unwrap();
        e.accumulate(0, sz, &mine, RmaOp::Sum).unwrap();
        e.end().unwrap();
    }
    let got = local::<T>(&mut w);
    let left = (me + p - 1) % p;
    check_eq!(got[0], v::<T>(left + 1), "fence put from the left neighbour");
    if me == 0 {
        check_eq!(got[1], v::<T>(p * (p + 1) / 2), "fence accumulate of 1..=p into rank 0");
    }
    let mut from_left = [T::ZERO];
    let (one, mut old, mut cas_old) = (v::<T>(1), T::ZERO, T::ZERO);
    let (zero, mine) = (T::ZERO, v::<T>(me + 1));
    {
        let e = w.fence().unwrap();
        e.get(left, 0, &mut from_left).unwrap();
        e.fetch_and_op(0, 2 * sz, &one, &mut old, RmaOp::Sum).unwrap();
        e.compare_and_swap(0, 3 * sz, &zero, &mine, &mut cas_old).unwrap();
        e.end().unwrap();
    }
    check_eq!(from_left[0], v::<T>((left + p - 1) % p + 1), "fence get: the left neighbour's value");
    check!(old.to_f64() < p as f64, "fetch_and_op old value {old:?} < {p}");
    let olds = ctx.allgather(&[old]).unwrap();
    let mut seen: Vec<f64> = olds.iter().map(|x| x.to_f64()).collect();
    seen.sort_by(f64::total_cmp);
    check_eq!(seen, (0..p).map(|i| i as f64).collect::<Vec<_>>(), "fetch_and_op: every old value once");
    let winners = ctx.allgather(&[u8::from(cas_old == T::ZERO)]).unwrap();
    check_eq!(winners.iter().map(|&x| x as usize).sum::<usize>(), 1, "exactly one CAS wins");
    ctx.barrier().unwrap();
    if me == 0 {
        let got = local::<T>(&mut w);
        check_eq!(got[2], v::<T>(p), "fetch_and_op total");
        let winner = winners.iter().position(|&x| x == 1).unwrap();
        check_eq!(got[3], v::<T>(winner + 1), "the CAS winner's value");
    }
    w.free().unwrap();
}

/// Exclusive and shared locks, everyone on rank 0: the guide's counter
/// (fetch_and_op), compare-and-swap, get_accumulate, put/get_now.
fn t_lock<T: Element>(ctx: &Context) {
    let (p, me) = (ctx.size(), ctx.rank());
    let sz = std::mem::size_of::<T>();
    let w = Window::allocate(ctx, 4 * sz).unwrap();
    ctx.barrier().unwrap();
    for _ in 0..3 {
        let e = w.lock(0, LockMode::Exclusive).unwrap();
        e.fetch_and_op_now(0, 0, v::<T>(1), RmaOp::Sum).unwrap();
        e.unlock().unwrap();
    }
    {
        let e = w.lock(0, LockMode::Shared).unwrap();
        e.accumulate_now(0, sz, &[v::<T>(me + 1)], RmaOp::Max).unwrap();
        let old = e.compare_and_swap_now(0, 2 * sz, T::ZERO, v::<T>(me + 1)).unwrap();
        check!(old == T::ZERO || old.to_f64() >= 1.0, "CAS old value {old:?}");
    }
    ctx.barrier().unwrap();
    {
        let e = w.lock(0, LockMode::Shared).unwrap();
        let got = e.get_now::<T>(0, 0, 3).unwrap();
        check_eq!(got[0], v::<T>(3 * p), "3 fetch_and_add per rank");
        check_eq!(got[1], v::<T>(p), "accumulate MAX of 1..=p");
        check!(got[2].to_f64() >= 1.0 && got[2].to_f64() <= p as f64, "CAS left one rank's value, got {:?}", got[2]);
        let old = e.get_accumulate_now(0, 0, &[T::ZERO], RmaOp::NoOp).unwrap();
        check_eq!(old[0], v::<T>(3 * p), "get_accumulate NO_OP reads");
    }
    ctx.barrier().unwrap();
    // Each rank writes its own slot of rank 0... of the last rank's window.
    let mut w2 = Window::allocate(ctx, p * sz).unwrap();
    {
        let last = p - 1;
        let e = w2.lock(last, LockMode::Exclusive).unwrap();
        e.put_now(last, me * sz, &[v::<T>(me + 10)]).unwrap();
        e.flush(last).unwrap();
    }
    ctx.barrier().unwrap();
    if me == p - 1 {
        check_eq!(
            local::<T>(&mut w2),
            (0..p).map(|r| v::<T>(r + 10)).collect::<Vec<_>>(),
            "puts under exclusive locks"
        );
    }
    drop(w2);
    drop(w);
}

/// lock_all: every rank reads every other rank's value and atomically
/// adds into every rank (flush_all between).
fn t_lock_all<T: Element>(ctx: &Context) {
    let (p, me) = (ctx.size(), ctx.rank());
    let sz = std::mem::size_of::<T>();
    let mut w = Window::allocate(ctx, 2 * sz).unwrap();
    let mine = [v::<T>(me + 1)];
    {
        let e = w.fence().unwrap();
        e.put(me, 0, &mine).unwrap();
        e.end().unwrap();
    }
    {
        let e = w.lock_all().unwrap();
        for t in 0..p {
            let got = e.get_now::<T>(t, 0, 1).unwrap();
            check_eq!(got[0], v::<T>(t + 1), "lock_all get from {t}");
            e.accumulate::<T>(t, sz, &[], RmaOp::Sum).unwrap();
            e.accumulate_now(t, sz, &[v::<T>(1)], RmaOp::Sum).unwrap();
        }
        e.flush_all().unwrap();
        e.flush_local_all().unwrap();
        e.unlock_all().unwrap();
    }
    ctx.barrier().unwrap();
    check_eq!(local::<T>(&mut w)[1], v::<T>(p), "every rank added 1 here");
}

/// Post/start/complete/wait: a ring (each rank exposes to its left
/// neighbour, accesses its right one), then everyone to rank 0.
fn t_pscw<T: Element>(ctx: &Context) {
    let (p, me) = (ctx.size(), ctx.rank());
    let sz = std::mem::size_of::<T>();
    let (left, right) = ((me + p - 1) % p, (me + 1) % p);
    let mut w = Window::allocate(ctx, 2 * sz).unwrap();
    let mine = [v::<T>(me + 1)];
    {
        let exp = w.post(&[left]).unwrap();
        let acc = w.start(&[right]).unwrap();
        acc.put(right, 0, &mine).unwrap();
        acc.complete().unwrap();
        exp.wait().unwrap();
    }
    check_eq!(local::<T>(&mut w)[0], v::<T>(left + 1), "PSCW ring put");
    // Everyone accumulates into rank 0; rank 0 exposes to all.
    {
        let all: Vec<usize> = (0..p).collect();
        let exp = if me == 0 { Some(w.post(&all).unwrap()) } else { None };
        let acc = w.start(&[0]).unwrap();
        acc.accumulate(0, sz, &mine, RmaOp::Sum).unwrap();
        acc.complete().unwrap();
        if let Some(mut e) = exp {
            loop {
                match e.test().unwrap() {
                    None => break,
                    Some(again) => e = again,
                }
            }
        }
    }
    if me == 0 {
        check_eq!(local::<T>(&mut w)[1], v::<T>(p * (p + 1) / 2), "PSCW accumulate into rank 0");
    }
    ctx.barrier().unwrap();
}

/// Every accumulate op on one element, applied by every rank in turn
/// (exclusive locks), against the closed form.
fn t_ops<T: Element>(ctx: &Context) {
    let (p, me) = (ctx.size(), ctx.rank());
    let sz = std::mem::size_of::<T>();
    let mut ops =
        vec![(RmaOp::Sum, 1.0), (RmaOp::Prod, 1.0), (RmaOp::Min, 50.0), (RmaOp::Max, 0.0), (RmaOp::Replace, 0.0)];
    if !T::DTYPE.is_float() {
        ops.extend([(RmaOp::BAnd, 127.0), (RmaOp::BOr, 0.0), (RmaOp::BXor, 0.0)]);
    }
    for (op, init) in ops {
        let mut w = Window::allocate(ctx, sz).unwrap();
        let cell = w.local_mut();
        let x = T::from_f64(init);
        // SAFETY: `cell` holds size_of::<T>() bytes.
        unsafe { std::ptr::copy_nonoverlapping((&x as *const T).cast::<u8>(), cell.as_mut_ptr(), sz) };
        ctx.barrier().unwrap();
        // Values 1..=p (`2` for prod, so that i8 does not overflow at p = 4).
        let mine = if op == RmaOp::Prod { v::<T>(2) } else { v::<T>(me + 1) };
        let e = w.lock(0, LockMode::Exclusive).unwrap();
        e.accumulate_now(0, 0, &[mine], op).unwrap();
        e.unlock().unwrap();
        ctx.barrier().unwrap();
        if me == 0 {
            let got = local::<T>(&mut w)[0].to_f64();
            let ranks = 1..=p;
            let want = match op {
                RmaOp::Sum => 1.0 + (p * (p + 1) / 2) as f64,
                RmaOp::Prod => (1u64 << p) as f64,
                RmaOp::Min => 1.0,
                RmaOp::Max => p as f64,
                RmaOp::BAnd => ranks.fold(127, |a, r| a & r) as f64,
                RmaOp::BOr => ranks.fold(0, |a, r| a | r) as f64,
                RmaOp::BXor => ranks.fold(0, |a, r| a ^ r) as f64,
                _ => got, // replace: whichever rank came last
            };
            check_eq!(got, want, "accumulate {}", op.name());
            if op == RmaOp::Replace {
                check!(got >= 1.0 && got <= p as f64, "replace left one rank's value: {got}");
            }
        }
        ctx.barrier().unwrap();
    }
}

/// 8- and 16-bit integer sums wrap, as in C and NumPy, at every length
/// (Open MPI 4.1's op/avx saturates them from 16 / 8 elements; dtl splits
/// the call): every rank accumulates, then get_accumulates, into rank 0.
fn t_wraps(ctx: &Context) {
    fn one<T: Element>(ctx: &Context, x: T, bits: u32) {
        let p = ctx.size();
        let sz = std::mem::size_of::<T>();
        let mask = (1u64 << bits) - 1;
        // The sum of k copies of x, wrapped to the dtype's width.
        let wrapped = |k: u64| -> T {
            let mut raw = [0u8; 8];
            let b = x.to_f64() as i64 as u64;
            raw[..8].copy_from_slice(&(b.wrapping_mul(k) & mask).to_ne_bytes());
            bytes_to::<T>(&raw[..sz])
        };
        for n in [5usize, 17, 64, 1000] {
            let mut w = Window::allocate(ctx, n * sz).unwrap();
            let data = vec![x; n];
            let e = w.fence().unwrap();
            e.accumulate(0, 0, &data, RmaOp::Sum).unwrap();
            e.end().unwrap();
            if ctx.rank() == 0 {
                let got = local::<T>(&mut w);
                check!(
                    got.iter().all(|&g| g == wrapped(p as u64)),
                    "{}: accumulate of {n} wraps: {:?}",
                    T::DTYPE.name(),
                    &got[..3]
                );
            }
            ctx.barrier().unwrap();
            let l = w.lock(0, LockMode::Shared).unwrap();
            let old = l.get_accumulate_now(0, 0, &data, RmaOp::Sum).unwrap();
            l.unlock().unwrap();
            check_eq!(old.len(), n, "get_accumulate returns n old values");
            ctx.barrier().unwrap();
            if ctx.rank() == 0 {
                let got = local::<T>(&mut w);
                check!(
                    got.iter().all(|&g| g == wrapped(2 * p as u64)),
                    "{}: get_accumulate of {n} wraps",
                    T::DTYPE.name()
                );
            }
            ctx.barrier().unwrap();
            w.free().unwrap();
        }
    }
    one::<i8>(ctx, 100, 8);
    one::<u8>(ctx, 200, 8);
    one::<i16>(ctx, 30000, 16);
    one::<u16>(ctx, 60000, 16);
}

/// Windows over caller memory: a Vec and a container's local part, with
/// different sizes per rank (0 on rank 0).
fn t_create(ctx: &Context) {
    let (p, me) = (ctx.size(), ctx.rank());
    let mut mem = vec![0i64; me * 2];
    {
        let w = Window::create(ctx, &mut mem).unwrap();
        check_eq!(w.size(), me * 16, "create: this rank's size");
        check_eq!(w.size_of(p - 1).unwrap(), (p - 1) * 16, "create: the last rank's size");
        let e = w.fence().unwrap();
        let val = [me as i64 + 100];
        for t in 1..p {
            if t != me {
                e.put(t, 0, &val).unwrap_or(());
            }
        }
        e.end().unwrap();
        // 8-byte CAS on caller memory: works, or a clear NotSupported
        // where Open MPI 4.1 would crash (never a crash).
        if p > 1 {
            let l = w.lock(p - 1, LockMode::Exclusive).unwrap();
            match l.compare_and_swap_now(p - 1, 0, -1i64, 7i64) {
                Ok(_) | Err(Error::NotSupported(_)) => {}
                Err(e) => check!(false, "8-byte CAS on a created window: {e}"),
            }
            let old = l.fetch_and_op_now(p - 1, 8, 1i64, RmaOp::Sum);
            check!(old.is_ok(), "8-byte fetch_and_op on a created window: {old:?}");
            l.unlock().unwrap();
        }
        ctx.barrier().unwrap();
        w.free().unwrap();
    }
    if me >= 1 && p > 2 {
        check!(mem[0] >= 100, "create: a put landed in the Vec: {mem:?}");
    }
    let mut vec = DistributedVector::<f64>::new(ctx, 10).unwrap();
    let n = vec.local_size();
    {
        let w = Window::create(ctx, vec.local_mut()).unwrap();
        let e = w.lock_all().unwrap();
        let right = (me + 1) % p;
        if w.size_of(right).unwrap() >= 8 {
            e.put_now(right, 0, &[me as f64 + 0.5]).unwrap();
        }
        e.unlock_all().unwrap();
        w.free().unwrap();
    }
    ctx.barrier().unwrap();
    if n > 0 {
        check_eq!(vec.local()[0], ((me + p - 1) % p) as f64 + 0.5, "put into a container's local part");
    }
}

fn t_errors(ctx: &Context) {
    let p = ctx.size();
    let w = Window::allocate(ctx, 16).unwrap();
    let d = w.dynamic();
    // SAFETY: the buffers outlive the calls, which fail before MPI.
    unsafe {
        check_err!(d.put(0, 0, &[1.0f64]), Error::InvalidState(_), "put outside an epoch");
        check_err!(d.get(0, 0, &mut [0i32]), Error::InvalidState(_), "get outside an epoch");
    }
    let e = w.lock(0, LockMode::Exclusive).unwrap();
    check_err!(e.put_now(0, 16, &[1u8]), Error::Bounds(_), "put past the end");
    check_err!(e.put_now(0, 9, &[1.0f64]), Error::Bounds(_), "put across the end");
    check_err!(e.put_now(0, 4, &[1.0f64]), Error::InvalidArgument(_), "misaligned offset");
    check_err!(e.put_now(p, 0, &[1.0f64]), Error::Bounds(_), "target outside the lock");
    check_err!(e.accumulate_now(0, 0, &[1.0f64], RmaOp::BXor), Error::InvalidArgument(_), "bitwise op on floats");
    check_err!(e.get_now::<u8>(0, usize::MAX, 2), Error::Bounds(_), "offset overflow");
    check_err!(w.lock(0, LockMode::Shared), Error::InvalidState(_), "double lock");
    check_err!(w.dynamic().fence(false), Error::InvalidState(_), "fence inside a lock epoch");
    check_err!(w.dynamic().free(), Error::InvalidState(_), "free inside an epoch");
    e.unlock().unwrap();
    check_err!(w.dynamic().unlock(0), Error::InvalidState(_), "unlock without lock");
    check_err!(w.dynamic().lock(p, LockMode::Shared), Error::Bounds(_), "lock of a bad rank");
    check_err!(w.start(&[p]), Error::Bounds(_), "start with a bad rank");
    check_err!(RmaOp::from_code(4), Error::InvalidArgument(_), "logical ops are not RMA ops");
    check_err!(LockMode::from_name("both"), Error::InvalidArgument(_), "bad lock mode");
    w.free().unwrap();
}
