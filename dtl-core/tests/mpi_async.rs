//! Multi-rank tests of the asynchronous algorithms (`async_for_each`,
//! `async_transform`, `async_reduce`, `async_sort`, `Future`, `when_all`,
//! `when_any`) and of the async lane they run on: results against brute
//! force on the gathered data and against the synchronous calls, under
//! every partition; several futures in flight while the caller makes
//! collectives of its own on the same context; errors on every rank.
//!
//! ```text
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_async \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! ```

#[macro_use]
mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{mix, sort_data, sorted, specs, Suite};

use dtl_core::algorithms::{async_for_each, async_reduce, async_sort, async_transform, when_all, when_any, Future};
use dtl_core::partition::{Partition, PartitionSpec};
use dtl_core::{Context, DistributedArray, DistributedVector, Element, Environment, Error, ReduceOp, ThreadLevel};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite::new();
    s.add("async::thread_level_is_multiple", t_thread_level);
    per_dtype!(s, "async::reduce_every_partition", t_reduce);
    per_dtype!(s, "async::sort_every_partition", t_sort);
    s.add("async::for_each_and_transform", t_local);
    s.add("async::several_in_flight_with_sync_collectives", t_in_flight);
    s.add("async::large_sort_while_caller_communicates", t_large);
    s.add("async::when_all_and_when_any", t_when);
    s.add("async::errors_on_every_rank", t_errors);
    s.add("async::panics_become_errors", t_panics);
    s.add("async::with_context", t_with_context);
    s.add("async::lane_made_only_by_collective_async", t_no_lane);
    s.add("async::lane_shared_and_checks_followed", t_lane_shared);
    s.add("async::dropped_future_waits", t_drop_waits);
    s
}

const SIZES: [usize; 5] = [0, 1, 2, 7, 1001];

fn t_thread_level(_: &Context) {
    // The lane's worker needs it; Open MPI and MPICH grant it.
    let env = Environment::new().unwrap();
    check_eq!(env.thread_level(), ThreadLevel::Multiple, "MPI_THREAD_MULTIPLE granted");
}

fn t_reduce<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = sort_data::<T>(n);
        for (name, spec) in specs(n, ctx.size()) {
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
                let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                let want = v.reduce(op).unwrap();
                let what = format!("{name} n={n} {op:?}");
                let f = async_reduce(v, op).unwrap();
                match f.get() {
                    Ok((v, got)) => {
                        check_eq!(got, want, "{what}: async vs sync (no NaN in the data)");
                        check_eq!(v.gather_all().unwrap(), g.clone(), "{what}: container unchanged");
                    }
                    Err(e) => check!(false, "{what}: {e}"),
                }
                // Brute force where no wrap-around can happen.
                if op != ReduceOp::Sum && n > 0 {
                    let best = g.iter().copied().fold(g[0], |a, b| match (op, b < a) {
                        (ReduceOp::Min, true) | (ReduceOp::Max, false) => b,
                        _ => a,
                    });
                    check_eq!(want, best, "{what}: brute force");
                }
            }
        }
    }
}

fn t_sort<T: Element>(ctx: &Context) {
    for n in SIZES {
        let g = sort_data::<T>(n);
        for (name, spec) in specs(n, ctx.size()) {
            for reverse in [false, true] {
                let what = format!("{name} n={n} reverse={reverse}");
                let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
                let before = v.local_size();
                match async_sort(v, reverse).unwrap().get() {
                    Ok(v) => {
                        check_eq!(v.local_size(), before, "{what}: local size kept");
                        check_eq!(v.partition().spec(), spec.clone(), "{what}: partition kept");
                        check_eq!(v.gather_all().unwrap(), sorted(g.clone(), reverse), "{what}");
                        check!(v.context().comm_id() == ctx.comm_id(), "{what}: own context restored");
                    }
                    Err(e) => check!(false, "{what}: {e}"),
                }
            }
        }
    }
}

fn t_local(ctx: &Context) {
    let n = 100_000;
    for (name, spec) in specs(n, ctx.size()) {
        let g: Vec<i64> = (0..n as i64).collect();
        let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
        let f = async_for_each(v, |x: &mut i64| *x *= 3);
        let v = f.get().unwrap();
        let v = async_transform(v, |x: i64| x + 1).get().unwrap();
        let want: Vec<i64> = g.iter().map(|x| 3 * x + 1).collect();
        check_eq!(v.gather_all().unwrap() == want, true, "{name}: 3x + 1");
    }
    // An array, under Seq.
    let mut a = DistributedArray::<f32>::with_value(ctx, 1000, 2.0).unwrap();
    a.set_execution(dtl_core::Execution::Seq);
    let a = async_transform(a, |x: f32| x * x).get().unwrap();
    check_eq!(a.gather_all().unwrap(), vec![4.0f32; 1000], "array, Seq");
    // Local jobs make no collective call: one rank may run one alone.
    let w = DistributedVector::<u8>::with_value(ctx, 10, 1).unwrap();
    let w = if ctx.rank() == 0 { async_for_each(w, |x: &mut u8| *x = 9).get().unwrap() } else { w };
    let mut want = vec![1u8; 10];
    let r0 = DistributedVector::<u8>::new(ctx, 10).unwrap();
    let r0_len = r0.partition().local_size(0);
    want[..r0_len].fill(9);
    check_eq!(w.gather_all().unwrap(), want, "rank 0 only");
}

fn t_in_flight(ctx: &Context) {
    let n = 20_011;
    let g = sort_data::<f64>(n);
    let mut futures = Vec::new();
    for (name, spec) in specs(n, ctx.size()) {
        let v = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
        futures.push((name, async_sort(v, false).unwrap()));
        // The caller's own collectives, on the same context, meanwhile.
        let s = ctx.allreduce_scalar(ctx.rank() as i64, ReduceOp::Sum).unwrap();
        check_eq!(s, (ctx.size() * (ctx.size() - 1) / 2) as i64, "{name}: allreduce meanwhile");
        let mut w = DistributedVector::from_global_with(ctx, &g, &spec).unwrap();
        w.sort(true).unwrap();
        check_eq!(w.gather_all().unwrap(), sorted(g.clone(), true), "{name}: sync sort meanwhile");
        ctx.barrier().unwrap();
    }
    // Reductions queued behind the sorts, on the same lane.
    let sums: Vec<Future<(DistributedVector<f64>, f64)>> = (0..3)
        .map(|k| {
            let v = DistributedVector::with_value(ctx, 1000 + k, 0.5).unwrap();
            async_reduce(v, ReduceOp::Sum).unwrap()
        })
        .collect();
    let total = ctx.allreduce_scalar(1u64, ReduceOp::Sum).unwrap();
    check_eq!(total, ctx.size() as u64, "allreduce with 9 jobs queued");
    let want = sorted(g.clone(), false);
    for (name, f) in futures {
        let v = f.get().unwrap();
        check_eq!(v.gather_all().unwrap() == want, true, "{name}: async sort");
    }
    for (k, (_, s)) in when_all(sums).unwrap().into_iter().enumerate() {
        check_eq!(s, (1000 + k) as f64 * 0.5, "sum {k}");
    }
}

fn t_large(ctx: &Context) {
    let n = 400_009;
    let g: Vec<f64> = (0..n).map(|i| (mix(i as u64) >> 11) as f64 / (1u64 << 53) as f64 - 0.5).collect();
    let v = DistributedVector::from_global(ctx, &g).unwrap();
    let f = async_sort(v, false).unwrap();
    // The caller keeps communicating until the sort is done (every rank
    // must agree to stop: the stop flag is reduced too).
    let mut rounds = 0u64;
    loop {
        let x = ctx.allreduce_scalar(1u64, ReduceOp::Sum).unwrap();
        check_eq!(x, ctx.size() as u64, "round {rounds}");
        rounds += 1;
        let all_done = ctx.allreduce_scalar(f.test() as i32, ReduceOp::Min).unwrap() == 1;
        if all_done {
            break;
        }
    }
    check!(f.done(), "done after test() said so");
    let v = f.get().unwrap();
    check_eq!(v.gather_all().unwrap() == sorted(g, false), true, "400 009 random f64 sorted");
    check!(rounds >= 1, "caller went on");
}

fn t_when(ctx: &Context) {
    check_err!(when_any::<u8>(&[]), Error::InvalidArgument(_), "when_any of nothing");
    check_eq!(when_all::<u8>(Vec::new()), Ok(Vec::new()), "when_all of nothing");
    let ready = [Future::ready(Ok(1)), Future::ready(Ok(2))];
    check_eq!(when_any(&ready), Ok(0), "ready futures");
    // A local job that waits at a gate for every element, next to one
    // that is done at once.
    let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
    let g2 = std::sync::Arc::clone(&gate);
    let mut slow = DistributedVector::<i32>::with_value(ctx, 10 * ctx.size(), 1).unwrap();
    slow.set_execution(dtl_core::Execution::Seq);
    let local = slow.local_size();
    let quick = DistributedVector::<i32>::with_value(ctx, 10, 1).unwrap();
    let fs = vec![
        async_for_each(slow, move |x: &mut i32| {
            g2.wait();
            *x = 2;
        }),
        async_for_each(quick, |x: &mut i32| *x = 3),
    ];
    check!(!fs[0].done(), "the slow job cannot be done yet");
    check_eq!(when_any(&fs), Ok(1), "the quick one");
    check!(!fs[0].test(), "slow still running");
    for _ in 0..local {
        gate.wait();
    }
    let outs = when_all(fs).unwrap();
    check_eq!(outs[0].local(), vec![2; local].as_slice(), "slow result");
    check!(outs[1].local().iter().all(|&x| x == 3), "quick result");
    // Collective futures: when_any then when_all.
    let fs: Vec<_> = (0..3)
        .map(|k| async_reduce(DistributedVector::<i64>::with_value(ctx, 5, k).unwrap(), ReduceOp::Max).unwrap())
        .collect();
    let i = when_any(&fs).unwrap();
    check!(i < 3 && fs[i].done(), "when_any gives a done one ({i})");
    let maxes: Vec<i64> = when_all(fs).unwrap().into_iter().map(|(_, m)| m).collect();
    check_eq!(maxes, vec![0, 1, 2], "when_all in order");
}

fn t_errors(ctx: &Context) {
    let v = DistributedVector::from_global(ctx, &sort_data::<f64>(10)).unwrap();
    check_err_same!(ctx, async_reduce(v, ReduceOp::BAnd).unwrap().get(), Error::InvalidArgument(_), "BAND on f64");
    let v = DistributedVector::from_global(ctx, &sort_data::<f32>(10)).unwrap();
    let fs = vec![async_reduce(v, ReduceOp::LXor).unwrap()];
    check_err_same!(ctx, when_all(fs), Error::InvalidArgument(_), "LXOR on f32 via when_all");
    // The lane survives failed jobs, and the ranks still agree.
    let w = DistributedVector::<i32>::with_value(ctx, 10, 3).unwrap();
    check_eq!(async_reduce(w, ReduceOp::BOr).unwrap().get().map(|r| r.1), Ok(3), "after errors");
    if ctx.size() > 1 {
        let w = DistributedVector::from_global(ctx, &sort_data::<i16>(10)).unwrap();
        check_err_same!(ctx, async_sort(w, ctx.rank() == 0).unwrap().get(), Error::Mismatch(_), "reverse differs");
        let w = DistributedVector::<i16>::from_local(ctx, vec![1; 3 + ctx.rank()]).unwrap();
        let fw = async_reduce(w, ReduceOp::Sum).unwrap();
        let s: i16 = (0..ctx.size() as i16).map(|r| 3 + r).sum();
        check_eq!(fw.get().map(|r| r.1), Ok(s), "uneven parts");
        let a = DistributedVector::<i16>::new(ctx, 10).unwrap();
        let b = DistributedVector::<i32>::new(ctx, 10).unwrap();
        let fa = if ctx.rank() == 0 { Some(async_reduce(a, ReduceOp::Sum).unwrap()) } else { None };
        let fb = if ctx.rank() != 0 { Some(async_reduce(b, ReduceOp::Sum).unwrap()) } else { None };
        let ra = fa.map(|f| f.get().map(|_| ()));
        let rb = fb.map(|f| f.get().map(|_| ()));
        check_err_same!(ctx, ra.or(rb).unwrap(), Error::Mismatch(_), "dtypes differ");
    }
}

fn t_panics(ctx: &Context) {
    let v = DistributedVector::<f64>::with_value(ctx, 100, 1.0).unwrap();
    let f = async_for_each(v, |x: &mut f64| {
        if *x == 1.0 {
            panic!("boom");
        }
    });
    match f.get() {
        Err(Error::Internal(m)) => check!(m.contains("boom") || m.contains("panic"), "message: {m}"),
        Err(e) => check!(false, "expected Internal, got {e}"),
        Ok(v) => check!(v.local_size() == 0, "no panic only with no local element"),
    }
    let v = DistributedVector::<u32>::with_value(ctx, 10, 7).unwrap();
    let f = async_transform(v, |_| panic!("always"));
    match f.get() {
        Err(Error::Internal(_)) => {}
        Err(e) => check!(false, "expected Internal, got {e}"),
        Ok(v) => check!(v.local_size() == 0, "no panic only with no local element"),
    }
}

fn t_with_context(ctx: &Context) {
    let side = ctx.dup().unwrap();
    let mut v = DistributedVector::<i64>::with_value(ctx, 50, 2).unwrap();
    let r = v.with_context(&side, |v| {
        let same = v.context().comm_id();
        (v.reduce(ReduceOp::Sum), same)
    });
    match r {
        Ok((sum, id)) => {
            check_eq!(sum, Ok(100), "reduce on the duplicate");
            check_eq!(id, side.comm_id(), "lent the duplicate");
        }
        Err(e) => check!(false, "{e}"),
    }
    check_eq!(v.context().comm_id(), ctx.comm_id(), "restored");
    // Restored after a panic too.
    let r = catch_unwind(AssertUnwindSafe(|| v.with_context(&side, |_| panic!("inside"))));
    check!(r.is_err(), "the panic went through");
    check_eq!(v.context().comm_id(), ctx.comm_id(), "restored after a panic");
    // A layout change inside works and leaves remote access working.
    let r = v.with_context(&side, |v| v.redistribute(&PartitionSpec::Cyclic));
    check!(matches!(r, Ok(Ok(()))), "redistribute inside: {r:?}");
    check_eq!(v.gather_all().unwrap(), vec![2; 50], "after redistribute");
    if ctx.rank() == 0 {
        v.set(49, 5).unwrap();
    }
    ctx.barrier().unwrap();
    check_eq!(v.get(49).unwrap(), 5, "remote get after a relayout on the lent context");
    ctx.barrier().unwrap();
    // Another group: refused, and `f` does not run.
    if ctx.size() > 1 {
        let me = Context::self_only().unwrap();
        let mut ran = false;
        let r = v.with_context(&me, |_| ran = true);
        check_err!(r, Error::InvalidArgument(_), "MPI_COMM_SELF is not congruent");
        check!(!ran, "f did not run");
        let half = ctx.split(Some((ctx.rank() % 2) as i32), 0).unwrap().unwrap();
        check_err!(v.with_context(&half, |_| ()), Error::InvalidArgument(_), "a split is not congruent");
    }
}

fn t_no_lane(ctx: &Context) {
    let c = ctx.dup().unwrap();
    let mut v = DistributedVector::<f64>::with_value(&c, 100, 1.0).unwrap();
    v.sort(false).unwrap();
    check_eq!(v.reduce(ReduceOp::Sum).unwrap(), 100.0, "sync");
    let v = async_transform(v, |x| x + 1.0).get().unwrap();
    let v = async_for_each(v, |x| *x *= 2.0).get().unwrap();
    check!(!c.has_async_lane(), "local async calls make no lane");
    check_eq!(v.reduce(ReduceOp::Sum).unwrap(), 400.0, "sync after local async");
    let (v, s) = async_reduce(v, ReduceOp::Sum).unwrap().get().unwrap();
    check_eq!(s, 400.0, "async reduce");
    check!(c.has_async_lane(), "a collective async call made the lane");
    drop(v);
    drop(c); // joins the worker, frees the lane's communicator, then c's
             // Many short-lived contexts, with and without lanes.
    for k in 0..20 {
        let c = ctx.dup().unwrap();
        let v = DistributedVector::<i32>::with_value(&c, 10, 1).unwrap();
        if k % 2 == 0 {
            let (_, s) = async_reduce(v, ReduceOp::Sum).unwrap().get().unwrap();
            check_eq!(s, 10, "context {k}");
        }
    }
}

fn t_lane_shared(ctx: &Context) {
    let c = ctx.dup().unwrap();
    let d = c.with_device(0).unwrap();
    let a = c.async_context().unwrap();
    let b = d.async_context().unwrap();
    check_eq!(a.comm_id(), b.comm_id(), "one lane per communicator");
    check!(a.comm_id() != c.comm_id(), "the lane is another communicator");
    check!(a.congruent(&c), "congruent with its parent");
    check_eq!(b.device_id(), Some(0), "the device follows");
    check_eq!((a.rank(), a.size()), (c.rank(), c.size()), "rank and size");
    // Collective checks follow the submitting context.
    c.set_collective_checks(false);
    check!(!c.async_context().unwrap().collective_checks(), "checks off follow");
    let v = DistributedVector::<u64>::with_value(&c, 64, 3).unwrap();
    let (_, s) = async_reduce(v, ReduceOp::Sum).unwrap().get().unwrap();
    check_eq!(s, 192, "with checks off");
    check!(a.collective_checks(), "an earlier lane context keeps its own setting");
}

fn t_drop_waits(ctx: &Context) {
    for _ in 0..5 {
        let v = DistributedVector::<f64>::from_global(ctx, &sort_data::<f64>(5000)).unwrap();
        let f = async_sort(v, true).unwrap();
        drop(f); // waits; the sorted container is dropped here
        check_eq!(ctx.allreduce_scalar(1i32, ReduceOp::Sum).unwrap(), ctx.size() as i32, "after a drop");
    }
    // Dropping the last handle of a context while its lane is idle.
    let c = ctx.dup().unwrap();
    let v = DistributedVector::<f64>::from_global(&c, &sort_data::<f64>(5000)).unwrap();
    drop(c);
    let f = async_sort(v, false).unwrap();
    let v = f.get().unwrap();
    check_eq!(
        v.gather_all().unwrap(),
        sorted(sort_data::<f64>(5000), false),
        "lane of a context only the container holds"
    );
}
