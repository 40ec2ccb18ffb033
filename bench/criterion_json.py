"""Turn criterion's results into the benchmark JSON schema of ``bench/report.py``.

``cargo bench -p dtl-core --bench partition --bench kernels`` leaves one
directory per benchmark under ``target/criterion/``; each has a
``new/benchmark.json`` (group, function, parameter, throughput), a
``new/estimates.json`` (statistics of the time per iteration, in ns) and a
``new/sample.json`` (the samples). This script reads them all and writes one
object (``bench: "rust_criterion"``, ``np: 1``) with a row per benchmark in the
group "Rust micro-benchmarks":

- ``time_s`` is criterion's median point estimate of one iteration, in seconds
  (for the partition benches one iteration is a whole pass over ``n`` indices;
  for the kernels one call on ``n`` f64);
- ``impl`` is ``"dtl (rust)"`` for a function named ``dtl`` or any partition
  map, and the baseline's own name for a function named ``baseline: NAME``;
- ``case`` is the criterion group (plus the function for the partition maps),
  ``n`` the parameter, ``bytes`` the throughput in bytes when one is declared.

Each kernel group with both a ``dtl`` and a ``baseline: …`` function gets a
ratio (baseline time / dtl time, > 1 when dtl is faster) with the target 0.9
(issue 9: local kernels at >= 0.9x the obvious alternative).

Usage: ``python bench/criterion_json.py [--criterion DIR] [--out PATH]``
(defaults ``target/criterion`` and ``bench/results/rust_criterion.json``).
Exits with status 1 if no benchmark result is found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

GROUP = "Rust micro-benchmarks"
DTL = "dtl (rust)"
BASELINE_PREFIX = "baseline: "
KERNEL_TARGET = 0.9


def machine() -> dict[str, Any]:
    """The machine description of the schema (no NumPy involved here)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mpi = ""
    try:
        out = subprocess.run(["mpirun", "--version"], capture_output=True, text=True, timeout=30).stdout
        first = out.splitlines()[0] if out else ""
        # "mpirun (Open MPI) 4.1.4" -> "Open MPI 4.1.4"
        if "(" in first and ")" in first:
            mpi = first[first.index("(") + 1 : first.index(")")] + first[first.index(")") + 1 :]
        else:
            mpi = first
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mpi": mpi.strip(),
        "numpy": None,
        "load_avg": round(os.getloadavg()[0], 2),
    }


def collect(root: Path) -> list[dict[str, Any]]:
    """One row per ``*/new/benchmark.json`` under ``root``, sorted by name."""
    rows = []
    for meta_path in sorted(root.glob("**/new/benchmark.json")):
        new = meta_path.parent
        meta = json.loads(meta_path.read_text())
        est = json.loads((new / "estimates.json").read_text())
        try:
            repeats = len(json.loads((new / "sample.json").read_text())["iters"])
        except (OSError, KeyError, ValueError):
            repeats = None
        group_id, func = meta["group_id"], meta.get("function_id") or ""
        value = meta.get("value_str")
        n = int(value) if value is not None and value.isdigit() else None
        thr = meta.get("throughput") or {}
        nbytes = thr.get("Bytes")
        time_s = est["median"]["point_estimate"] * 1e-9
        if func == "dtl":
            case, impl = group_id, DTL
        elif func.startswith(BASELINE_PREFIX):
            case, impl = group_id, func[len(BASELINE_PREFIX) :]
        else:
            case, impl = f"{group_id}: {func}", DTL
        note = "criterion median of one iteration"
        if "Elements" in thr:
            note += f"; {time_s / max(thr['Elements'], 1) * 1e9:.2f} ns per index"
        rows.append(
            {
                "group": GROUP,
                "case": case,
                "impl": impl,
                "n": n,
                "bytes": nbytes,
                "time_s": time_s,
                "repeats": repeats,
                "gbps": nbytes / time_s / 1e9 if nbytes else None,
                "note": note,
            }
        )
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Baseline / dtl for every (case, n) that has both."""
    out = []
    dtl = {(r["case"], r["n"]): r for r in rows if r["impl"] == DTL}
    for r in rows:
        if r["impl"] == DTL:
            continue
        d = dtl.get((r["case"], r["n"]))
        if d is None:
            continue
        ratio = r["time_s"] / d["time_s"]
        out.append(
            {
                "group": GROUP,
                "case": r["case"],
                "n": r["n"],
                "bytes": r["bytes"],
                "np": 1,
                "baseline": r["impl"],
                "dtl": DTL,
                "ratio": ratio,
                "target": KERNEL_TARGET,
                "meets": ratio >= KERNEL_TARGET,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion", default="target/criterion", type=Path)
    ap.add_argument("--out", default="bench/results/rust_criterion.json", type=Path)
    args = ap.parse_args(argv)
    rows = collect(args.criterion)
    if not rows:
        print(f"criterion_json: no results under {args.criterion} (run cargo bench first)", file=sys.stderr)
        return 1
    rat = ratios(rows)
    doc: dict[str, Any] = {
        "bench": "rust_criterion",
        "np": 1,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "rows": rows,
        "ratios": rat,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    slow = [f"{r['case']} n={r['n']} ({r['ratio']:.2f})" for r in rat if not r["meets"]]
    print(f"criterion_json: {len(rows)} rows, {len(rat)} ratios -> {args.out}")
    if slow:
        print("criterion_json: below the 0.9 target: " + "; ".join(slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
