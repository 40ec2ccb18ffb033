"""What the basic operations of dtl cost: the evidence of docs/src/performance.md.

    mpirun -np 2 .venv/bin/python bench/bench_costs.py [--json out.json] [--quick]

Each figure is the median over 5 batches (after a warm-up batch) of a batch's
time divided by its number of calls; a batch's time is the slowest rank's
(MPI_Wtime after a barrier). Groups:

  calls      a local call, a collective of one scalar (dtl vs mpi4py), the
             agreement step (collective checks on / off)
  views      local_view() (zero-copy) against to_numpy() (a copy)
  execution  dtl.reduce and dtl.fill under EXEC_SEQ and EXEC_PAR
  moving     halo exchange vs gather_all of a tensor, redistribute vs gather_all

Every result that can be checked is (sums, halo rows, gathered contents);
a wrong one exits with status 1 on every rank.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np
from harness import machine_info
from mpi4py import MPI

import dtl


def batch_time(comm: MPI.Comm, fn: Callable[[], Any], calls: int, batches: int = 5,
               setup: Callable[[], Any] = lambda: None) -> float:
    out = []
    for k in range(batches + 1):
        setup()
        comm.Barrier()
        t0 = MPI.Wtime()
        for _ in range(calls):
            fn()
        dt = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX) / calls
        if k:
            out.append(dt)
    return statistics.median(out)


def fmt(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--verbose", action="store_true", help="print each figure as it comes")
    args = ap.parse_args()
    machine = machine_info()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    comm = MPI.COMM_WORLD
    big = 10**6 if args.quick else 10**7
    rows, cols = (512, 256) if args.quick else (4096, 1024)
    rows_out: list[dict] = []
    ok = True

    def row(group: str, what: str, s: float, note: str = "") -> None:
        rows_out.append(dict(group=group, what=what, seconds=s, note=note))
        if args.verbose and comm.rank == 0:
            print(f"{what}: {fmt(s)}", flush=True)

    with dtl.Context() as ctx:
        # ---------------------------------------------------------- calls
        v = dtl.DistributedVector(ctx, 1000)
        row("calls", "v.local_size (local)", batch_time(comm, lambda: v.local_size, 1000))
        row("calls", "dtl.allreduce(ctx, 1.0) (collective, scalar)",
            batch_time(comm, lambda: dtl.allreduce(ctx, 1.0), 200))
        row("calls", "mpi4py comm.allreduce(1.0)", batch_time(comm, lambda: comm.allreduce(1.0), 200))
        one = np.ones(1)
        res = np.empty(1)
        row("calls", "mpi4py comm.Allreduce(buffer of 1)",
            batch_time(comm, lambda: comm.Allreduce(one, res), 200))
        row("calls", "dtl.reduce(v, SUM), 1000 f64, checks on",
            batch_time(comm, lambda: dtl.reduce(v, dtl.SUM), 200))
        ctx.collective_checks = False
        row("calls", "dtl.reduce(v, SUM), 1000 f64, checks off",
            batch_time(comm, lambda: dtl.reduce(v, dtl.SUM), 200))
        ctx.collective_checks = True
        row("calls", "DistributedVector(ctx, 1000) (collective constructor)",
            batch_time(comm, lambda: dtl.DistributedVector(ctx, 1000), 50))
        if dtl.allreduce(ctx, 1.0) != ctx.size:
            ok = False

        # ---------------------------------------------------------- views
        w = dtl.DistributedVector(ctx, big)
        row("views", f"w.local_view(), {big:.0e} f64 (zero-copy)",
            batch_time(comm, lambda: w.local_view(), 100))
        row("views", f"w.to_numpy(), {big:.0e} f64 (copy)", batch_time(comm, lambda: w.to_numpy(), 5))

        # ---------------------------------------------------------- execution
        w.local_view()[:] = 1.0
        for pol, name in ((dtl.EXEC_SEQ, "EXEC_SEQ"), (dtl.EXEC_PAR, "EXEC_PAR")):
            row("execution", f"dtl.reduce(w, SUM), {big:.0e} f64, {name}",
                batch_time(comm, lambda pol=pol: dtl.reduce(w, dtl.SUM, execution=pol), 5))
            row("execution", f"dtl.fill(w, 1.0), {big:.0e} f64, {name}",
                batch_time(comm, lambda pol=pol: dtl.fill(w, 1.0, execution=pol), 5))
        if dtl.reduce(w, dtl.SUM) != big:
            ok = False

        # ---------------------------------------------------------- moving data
        full = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
        t = dtl.DistributedTensor.from_global(ctx, full) if hasattr(dtl.DistributedTensor, "from_global") \
            else dtl.DistributedTensor.scatter_from(ctx, full if ctx.is_root else None)
        row("moving", f"t.halo_exchange(1), {rows}x{cols} f64 tensor",
            batch_time(comm, lambda: t.halo_exchange(1), 20))
        row("moving", f"t.local_with_halo(1), {rows}x{cols} f64 tensor",
            batch_time(comm, lambda: t.local_with_halo(1), 10))
        row("moving", f"t.gather_all(), {rows}x{cols} f64 tensor",
            batch_time(comm, lambda: t.gather_all(), 5))
        lo, hi = t.halo_exchange(1)
        off, n = t.local_offset, t.local_shape[0]
        if n and ((off > 0 and not np.array_equal(lo[0], full[off - 1]))
                  or (off + n < rows and not np.array_equal(hi[0], full[off + n]))):
            ok = False
        if not np.array_equal(t.gather_all(), full):
            ok = False

        r = dtl.DistributedVector.from_global(ctx, np.arange(big, dtype=np.float64))
        state = {"cyclic": False}

        def flip() -> None:
            r.redistribute(dtl.PARTITION_BLOCK if state["cyclic"] else dtl.PARTITION_CYCLIC)
            state["cyclic"] = not state["cyclic"]

        row("moving", f"v.redistribute(block <-> cyclic), {big:.0e} f64", batch_time(comm, flip, 1, 5))
        row("moving", f"v.gather_all(), {big:.0e} f64", batch_time(comm, lambda: r.gather_all(), 1, 5))
        if not np.array_equal(r.gather_all(), np.arange(big, dtype=np.float64)):
            ok = False

    machine = dict(machine, load_avg_end=round(os.getloadavg()[0], 2))
    if comm.rank == 0:
        print(f"bench_costs at np {comm.size} ({time.strftime('%Y-%m-%d')})\n")
        print("| group | operation | time per call |")
        print("| --- | --- | ---: |")
        for x in rows_out:
            print(f"| {x['group']} | {x['what']} | {fmt(x['seconds'])} |")
        if args.json:
            with open(args.json, "w") as f:
                # Not yet on the harness's row schema; report.py adapts these rows.
                json.dump(dict(bench="costs", np=comm.size, date=date, machine=machine, rows=rows_out), f, indent=1)
    ok = comm.allreduce(ok, op=MPI.LAND)
    if not ok and comm.rank == 0:
        print("bench_costs: a checked result was wrong", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
