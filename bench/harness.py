"""The timing conventions and JSON writer shared by every ``bench/bench_*.py``.

Conventions (``bench/README.md``, ``docs/src/performance.md``):

* every figure is the **median over ``repeats``** timed repetitions, after
  ``warmup`` (at least one) untimed ones;
* a repetition is ``comm.Barrier()``, ``MPI.Wtime()`` around a **batch** of
  calls (one call for big ones; enough calls to last ``BATCH_TARGET_S`` for
  small ones), divided by the batch's length; its time is the **slowest
  rank's** (``allreduce`` with ``MAX``);
* the implementations being compared **take turns inside each repetition**,
  so that they see the same machine (this VM's speed drifts over minutes),
  in an order shuffled anew every repetition (a batch pays for the state
  the previous implementation left behind);
* every comparison is a **ratio baseline time / dtl time** of figures from
  the same run (> 1: dtl faster), with the issue's target where it has one.

The JSON object (one per program and rank count, written by rank 0)::

    {"bench", "np", "date", "machine": {cpu, cores, mpi, numpy, load_avg,
     load_avg_end, ...}, "rows": [{group, case, impl, n, bytes, time_s,
     repeats, gbps, note}], "ratios": [{group, case, n, bytes, np, baseline,
     dtl, ratio, target, meets}]}

Every bench takes ``--json PATH`` and ``--quick`` (tiny sizes, one
repetition: the smoke test of ``make bench-smoke``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mpi4py import MPI

# A batch of small calls lasts at least this long (seconds).
BATCH_TARGET_S = 2e-3
MAX_BATCH = 2000

Fn = Callable[[], Any]
# impl name -> the timed call, or (the timed call, an untimed setup run before each batch)
Impls = Dict[str, Any]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> Dict[str, Any]:
    """What the figures were measured on (rank 0's view)."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "node": platform.node(),
        "mpi": MPI.Get_library_version().splitlines()[0].split(",")[0].strip(),
        "mpi4py": __import__("mpi4py").__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "load_avg": round(os.getloadavg()[0], 2),
    }


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_bytes(b: Optional[int]) -> str:
    if b is None:
        return ""
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= k and b % k == 0:
            return f"{b // k} {unit}"
    return f"{b} B"


class Bench:
    """One bench program's run: its arguments, its communicator, its rows and
    ratios. ``Bench("collectives", doc)`` parses ``--json``/``--quick`` plus
    whatever ``add_args`` adds; ``finish()`` writes the JSON (rank 0)."""

    def __init__(self, name: str, doc: Optional[str] = None,
                 add_args: Optional[Callable[[argparse.ArgumentParser], None]] = None,
                 argv: Optional[Sequence[str]] = None) -> None:
        ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        ap.add_argument("--json", help="write the figures here (rank 0)")
        ap.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (smoke test)")
        if add_args is not None:
            add_args(ap)
        self.args = ap.parse_args(argv)
        self.name = name
        self.quick: bool = self.args.quick
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.rows: List[Dict[str, Any]] = []
        self.ratios: List[Dict[str, Any]] = []
        self.machine = machine_info()
        self.date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.failed = False
        self.notes: List[str] = []

    # ------------------------------------------------------------ timing
    def _batch_len(self, fn: Fn, setup: Optional[Fn]) -> int:
        """Calls per batch so that one lasts BATCH_TARGET_S (same on every rank)."""
        if setup is not None:
            setup()
        self.comm.Barrier()
        t0 = MPI.Wtime()
        fn()
        dt = self.comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
        if dt <= 0:
            return MAX_BATCH
        return int(max(1, min(MAX_BATCH, BATCH_TARGET_S / dt)))

    def time(self, impls: Impls, repeats: int, warmup: int = 1, batch: Optional[int] = None,
             collective: bool = True) -> Dict[str, float]:
        """Median per-call seconds of each implementation, taking turns.

        ``impls`` maps a name to ``fn`` or ``(fn, setup)``; ``setup`` runs
        (untimed) before each batch. ``batch=None`` picks a batch length per
        implementation from one trial call. ``collective=False``: only this
        rank times (no barrier, no MAX); for one-sided code run on one rank.
        """
        if self.quick:
            repeats, warmup = 1, 1
        warmup = max(1, warmup)
        cases: List[Tuple[str, Fn, Optional[Fn], int]] = []
        for name, v in impls.items():
            fn, setup = (v if isinstance(v, tuple) else (v, None))
            if batch is not None:
                b = batch
            elif collective:
                b = self._batch_len(fn, setup)
            else:
                if setup is not None:
                    setup()
                t0 = MPI.Wtime()
                fn()
                dt = MPI.Wtime() - t0
                b = MAX_BATCH if dt <= 0 else int(max(1, min(MAX_BATCH, BATCH_TARGET_S / dt)))
            cases.append((name, fn, setup, b))
        out: Dict[str, List[float]] = {name: [] for name, *_ in cases}
        for k in range(warmup + repeats):
            # A new order every repetition (the same on every rank): a
            # batch can pay for what the previous implementation left behind
            # (heap that glibc trimmed, so fresh results page-fault; evicted
            # caches) - measured 100+ us per call at 1 MiB after the pickle
            # API - so no implementation always follows the same one. (A
            # rotation would not do: it keeps the cyclic neighbours.)
            order = list(cases)
            random.Random(k).shuffle(order)
            for name, fn, setup, b in order:
                if setup is not None:
                    setup()
                if collective:
                    self.comm.Barrier()
                t0 = MPI.Wtime()
                for _ in range(b):
                    fn()
                dt = (MPI.Wtime() - t0) / b
                if collective:
                    dt = self.comm.allreduce(dt, op=MPI.MAX)
                if k >= warmup:
                    out[name].append(dt)
        return {name: statistics.median(ts) for name, ts in out.items()}

    # ------------------------------------------------------------ records
    def row(self, group: str, case: str, impl: str, time_s: float, repeats: int, n: Optional[int] = None,
            nbytes: Optional[int] = None, note: str = "", gbps: Optional[float] = None) -> None:
        if gbps is None and nbytes:
            gbps = nbytes / time_s / 1e9 if time_s > 0 else None
        self.rows.append(dict(group=group, case=case, impl=impl, n=n, bytes=nbytes, time_s=time_s,
                              repeats=1 if self.quick else repeats, gbps=gbps, note=note))

    def ratio(self, group: str, case: str, baseline: str, dtl_impl: str, times: Dict[str, float],
              n: Optional[int] = None, nbytes: Optional[int] = None, target: Optional[float] = None) -> None:
        r = times[baseline] / times[dtl_impl] if times[dtl_impl] > 0 else float("inf")
        self.ratios.append(dict(group=group, case=case, n=n, bytes=nbytes, np=self.size, baseline=baseline,
                                dtl=dtl_impl, ratio=r, target=target,
                                meets=None if target is None else bool(r >= target)))

    def measure(self, group: str, case: str, impls: Impls, repeats: int, n: Optional[int] = None,
                nbytes: Optional[int] = None, dtl_impl: str = "dtl",
                targets: Optional[Dict[str, Optional[float]]] = None, notes: Optional[Dict[str, str]] = None,
                **kw: Any) -> Dict[str, float]:
        """``time`` the implementations, record one row each and one ratio
        per other implementation against ``dtl_impl`` (targets by baseline)."""
        times = self.time(impls, repeats, **kw)
        for impl, t in times.items():
            self.row(group, case, impl, t, repeats, n, nbytes, (notes or {}).get(impl, ""))
        if dtl_impl in times:
            for impl in times:
                if impl != dtl_impl and not impl.startswith("dtl"):
                    self.ratio(group, case, impl, dtl_impl, times, n, nbytes, (targets or {}).get(impl))
        return times

    # ------------------------------------------------------------ checks
    def check(self, ok: bool, what: str) -> None:
        """Collective: every rank learns whether any rank's check failed; a
        failure is printed and makes ``finish`` exit 1 on every rank."""
        all_ok = self.comm.allreduce(bool(ok), op=MPI.LAND)
        if not ok:
            print(f"[rank {self.rank}] CHECK FAILED: {what}", file=sys.stderr, flush=True)
        if not all_ok:
            if self.rank == 0:
                print(f"{self.name}: check failed: {what}", file=sys.stderr, flush=True)
            self.failed = True

    # ------------------------------------------------------------ output
    def result(self) -> Dict[str, Any]:
        machine = dict(self.machine, load_avg_end=round(os.getloadavg()[0], 2))
        return {"bench": self.name, "np": self.size, "date": self.date, "quick": self.quick,
                "machine": machine, "notes": self.notes, "rows": self.rows, "ratios": self.ratios}

    def finish(self) -> int:
        """Print the tables and write ``--json`` (rank 0). The exit status:
        1 on every rank if any check failed."""
        self.comm.Barrier()
        if self.rank == 0:
            res = self.result()
            m = res["machine"]
            print(f"\n### {self.name} at np {self.size} ({m['node']}, {m['mpi']}, "
                  f"load {m['load_avg']} -> {m['load_avg_end']})\n")
            print("| group | case | impl | size | time | GB/s | note |")
            print("| --- | --- | --- | ---: | ---: | ---: | --- |")
            for r in self.rows:
                size = fmt_bytes(r["bytes"]) if r["bytes"] else (f"{r['n']:.0e}" if r["n"] else "")
                gb = f"{r['gbps']:.2f}" if r["gbps"] else ""
                print(f"| {r['group']} | {r['case']} | {r['impl']} | {size} | {fmt_time(r['time_s'])} | {gb} | "
                      f"{r['note']} |")
            if self.ratios:
                print("\n| group | case | size | baseline / dtl | ratio | target | |")
                print("| --- | --- | ---: | --- | ---: | ---: | --- |")
                for q in self.ratios:
                    size = fmt_bytes(q["bytes"]) if q["bytes"] else (f"{q['n']:.0e}" if q["n"] else "")
                    tgt = f"{q['target']:.2f}" if q["target"] is not None else ""
                    ok = {True: "✓", False: "✗", None: ""}[q["meets"]]
                    print(f"| {q['group']} | {q['case']} | {size} | {q['baseline']} / {q['dtl']} | "
                          f"{q['ratio']:.2f} | {tgt} | {ok} |")
            for note in self.notes:
                print(f"\nnote: {note}")
            if self.args.json:
                d = os.path.dirname(self.args.json)
                if d:
                    os.makedirs(d, exist_ok=True)
                with open(self.args.json, "w") as f:
                    json.dump(res, f, indent=1)
                    f.write("\n")
        return 1 if self.failed else 0


def close(a: Any, b: Any, rtol: float = 1e-12, atol: float = 0.0) -> bool:
    """NumPy ``allclose`` of two results (shapes must match)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))
