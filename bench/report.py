"""Turns ``bench/results/*.json`` into the measured part of ``docs/src/performance.md``.

    python bench/report.py [--results bench/results] [--page docs/src/performance.md]
                           [--plots docs/src/bench]

Rewrites only what lies between the ``<!-- BEGIN GENERATED: make bench -->``
and ``<!-- END GENERATED -->`` markers of the page (the hand-written guide
before them and the commentary after them stay): one table per group
(collectives one per operation; local kernels; sort; RMA; halo;
redistribute; the Rust micro-benchmarks of ``bench/results/rust_*.json``;
the costs of ``bench_costs.py``; any other group found), with every
implementation's time, each ratio baseline / dtl, its target and ✓/✗; then
PNG plots (matplotlib, Agg) written into ``--plots`` and linked from the
page relative to it. Files that do not follow the schema of
``bench/harness.py`` (e.g. a GPU bench that was skipped) are listed and
ignored. Run by ``make bench`` after the benches; ``make bench-smoke`` runs
it on its own results into a temporary copy of the page.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

BEGIN = "<!-- BEGIN GENERATED: make bench -->"
END = "<!-- END GENERATED -->"

# Group order and titles on the page; groups not listed follow in the order found.
GROUPS = [
    ("collectives", "Collectives (`bench_collectives.py`)"),
    ("local kernels", "Local kernels at np 1 (`bench_algorithms.py`)"),
    ("sort", "Distributed sort and median (`bench_algorithms.py`)"),
    ("rma", "RMA against `MPI.Win` (`bench_rma.py`)"),
    ("halo", "Halo exchange (`bench_halo.py`)"),
    ("redistribute", "Redistribute (`bench_redistribute.py`)"),
    ("collectives (Rust)", "Collectives from Rust (`examples/rust/collectives_bench.rs`)"),
    ("halo exchange (Rust)", "Halo exchange from Rust (`examples/rust/halo_bench.rs`)"),
    ("redistribute (Rust)", "Redistribute from Rust (`examples/rust/redistribute_bench.rs`)"),
    ("Rust micro-benchmarks", "Rust micro-benchmarks (criterion, `dtl-core/benches`)"),
    ("costs", "What costs what (`bench_costs.py`)"),
]
# Sizes shown in bytes for these groups, as element counts for the others.
BYTE_GROUPS = {"collectives", "rma", "halo", "collectives (Rust)"}
# Groups split into one table per case.
PER_CASE = {"collectives", "collectives (Rust)"}
# Groups whose baselines differ per case: one line per ratio (long format).
LONG = {"Rust micro-benchmarks"}


def fmt_time(s: Optional[float]) -> str:
    if s is None or not math.isfinite(s):
        return ""
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_bytes(b: Optional[int]) -> str:
    if not b:
        return ""
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= k and b % k == 0:
            return f"{b // k} {unit}"
    return f"{b} B"


def fmt_n(n: Optional[int]) -> str:
    if not n:
        return ""
    k = round(math.log10(n))
    return f"10^{k}" if 10**k == n else f"{n:,}"


def load(results: str) -> Tuple[List[Dict[str, Any]], List[str]]:
    """The result files that follow the schema (legacy ``bench_costs``
    rows adapted), and the names of those skipped."""
    runs, skipped = [], []
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            skipped.append(f"{os.path.basename(path)} ({e})")
            continue
        if not isinstance(d, dict) or not isinstance(d.get("rows"), list):
            skipped.append(f"{os.path.basename(path)} (no rows)")
            continue
        name = os.path.basename(path)[: -len(".json")]
        d.setdefault("bench", name.rsplit("_np", 1)[0])
        d.setdefault("ratios", [])
        d.setdefault("machine", {})
        rows = []
        for r in d["rows"]:
            if "impl" not in r and "what" in r:  # bench_costs.py: {group, what, seconds, note}
                r = dict(group="costs", case=f"{r.get('group', '')}: {r['what']}", impl="dtl",
                         n=None, bytes=None, time_s=r.get("seconds"), note=r.get("note", ""))
            if "time_s" not in r or "impl" not in r:
                continue
            r.setdefault("group", d["bench"])
            r.setdefault("case", "")
            rows.append(r)
        d["rows"] = rows
        d["file"] = os.path.basename(path)
        runs.append(d)
    return runs, skipped


def ratio_cell(q: Dict[str, Any]) -> str:
    s = f"{q['ratio']:.2f}"
    if q.get("target") is not None:
        s += f" (≥ {q['target']:.2f} {'✓' if q.get('meets') else '✗'})"
    return s


def size_cell(group: str, n: Optional[int], nbytes: Optional[int]) -> str:
    if group in BYTE_GROUPS and nbytes:
        return fmt_bytes(nbytes)
    return fmt_n(n) or fmt_bytes(nbytes)


def long_table(group: str, entries: List[Tuple[int, Dict[str, Any]]], ratios: List[Dict[str, Any]]) -> List[str]:
    """One line per measured ratio (case, size, dtl, baseline, its time,
    ratio), then the figures that have no baseline, one per line."""
    times = {(np_, r["case"], r.get("n"), r.get("bytes"), r["impl"]): r["time_s"] for np_, r in entries}
    out = ["| case | size | dtl | baseline | baseline time | baseline / dtl |",
           "| --- | ---: | ---: | --- | ---: | ---: |"]
    used = set()
    for q in ratios:
        k = (q["np"], q["case"], q.get("n"), q.get("bytes"))
        used.add(k + (q["dtl"],))
        used.add(k + (q["baseline"],))
        out.append(f"| {q['case']} | {size_cell(group, q.get('n'), q.get('bytes'))} | "
                   f"{fmt_time(times.get(k + (q['dtl'],)))} | {q['baseline']} | "
                   f"{fmt_time(times.get(k + (q['baseline'],)))} | {ratio_cell(q)} |")
    rest = [(np_, r) for np_, r in entries if (np_, r["case"], r.get("n"), r.get("bytes"), r["impl"]) not in used]
    if rest:
        out += ["", "| case | size | implementation | time |", "| --- | ---: | --- | ---: |"]
        out += [f"| {r['case']} | {size_cell(group, r.get('n'), r.get('bytes'))} | {r['impl']} | {fmt_time(r['time_s'])} |"
                for _, r in rest]
    return out


def table(group: str, entries: List[Tuple[int, Dict[str, Any]]], ratios: List[Dict[str, Any]],
          show_case: bool) -> List[str]:
    """One Markdown table: a line per (np, case, size), a column per
    implementation, then a column per (baseline, dtl) ratio."""
    impls: List[str] = []
    keys: OrderedDict[Tuple[int, str, Optional[int], Optional[int]], Dict[str, Any]] = OrderedDict()
    for np_, r in entries:
        if r["impl"] not in impls:
            impls.append(r["impl"])
        k = (np_, r["case"], r.get("n"), r.get("bytes"))
        keys.setdefault(k, {})[r["impl"]] = r
    pairs: List[Tuple[str, str]] = []
    rmap: Dict[Tuple[int, str, Optional[int], Optional[int], str, str], Dict[str, Any]] = {}
    for q in ratios:
        p = (q["baseline"], q["dtl"])
        if p not in pairs:
            pairs.append(p)
        rmap[(q["np"], q["case"], q.get("n"), q.get("bytes"), q["baseline"], q["dtl"])] = q
    head = ["np"] + (["case"] if show_case else []) + ["size"] + impls
    head += [f"{b} / {d}" for b, d in pairs]
    out = ["| " + " | ".join(head) + " |",
           "| " + " | ".join(["---:"] + (["---"] if show_case else []) + ["---:"] * (len(head) - 1 - show_case))
           + " |"]
    for (np_, case, n, nb), by_impl in keys.items():
        cells = [str(np_)] + ([case] if show_case else []) + [size_cell(group, n, nb)]
        cells += [fmt_time(by_impl[i]["time_s"]) if i in by_impl else "" for i in impls]
        cells += [ratio_cell(rmap[(np_, case, n, nb, b, d)]) if (np_, case, n, nb, b, d) in rmap else ""
                  for b, d in pairs]
        out.append("| " + " | ".join(cells) + " |")
    notes = list(OrderedDict.fromkeys(f"{r['case']}, {r['impl']}: {r['note']}" for _, r in entries if r.get("note")))
    if notes:
        out.append("")
        out += [f"* {n}" for n in notes]
    return out


def plots(runs: List[Dict[str, Any]], plot_dir: str) -> List[Tuple[str, str]]:
    """Draw the PNGs; returns (file name, caption) of each one drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plot_dir, exist_ok=True)
    drawn: List[Tuple[str, str]] = []
    styles = {"dtl": ("C0", "o"), "dtl out=": ("C3", "s"), "dtl checks off": ("C4", "D"), "mpi4py buffer": ("C1", "^"),
              "mpi4py pickle": ("C2", "v")}

    def by_bench(name: str) -> List[Dict[str, Any]]:
        return [d for d in runs if d["bench"] == name]

    # Collectives: one panel per op, time vs bytes, at np 2 (else the largest np there is).
    coll = by_bench("collectives")
    if coll:
        d = next((x for x in coll if x["np"] == 2), max(coll, key=lambda x: x["np"]))
        ops = [c for c in ("allreduce", "broadcast", "allgather", "alltoall")
               if any(r["case"] == c for r in d["rows"])]
        ncol = 2 if len(ops) > 1 else 1
        nrow = max(1, (len(ops) + ncol - 1) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.6 * nrow), squeeze=False)
        for ax, op in zip(axes.flat, ops):
            impls = list(OrderedDict.fromkeys(r["impl"] for r in d["rows"] if r["case"] == op))
            for impl in impls:
                pts = sorted((r["bytes"], r["time_s"]) for r in d["rows"] if r["case"] == op and r["impl"] == impl)
                c, m = styles.get(impl, (None, "x"))
                ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker=m, color=c, label=impl)
            ax.set_title(f"{op}, np {d['np']}")
            ax.set_xlabel("bytes per rank")
            ax.set_ylabel("time per call (s)")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        name = f"collectives_np{d['np']}.png"
        fig.savefig(os.path.join(plot_dir, name), dpi=90)
        plt.close(fig)
        drawn.append((name, f"Collectives at np {d['np']}: time per call vs message size, dtl vs mpi4py"))

    # RMA: time per operation, dtl vs MPI.Win, per case (log scale).
    rma = by_bench("rma")
    if rma and rma[0]["rows"]:
        d = rma[0]
        cases = list(OrderedDict.fromkeys(r["case"] for r in d["rows"]))
        impls = list(OrderedDict.fromkeys(r["impl"] for r in d["rows"]))
        fig, ax = plt.subplots(figsize=(8, 3.6))
        w = 0.8 / max(1, len(impls))
        for k, impl in enumerate(impls):
            t = {r["case"]: r["time_s"] for r in d["rows"] if r["impl"] == impl}
            ax.bar([i + k * w for i in range(len(cases))], [t.get(c, 0) for c in cases], width=w, label=impl)
        ax.set_xticks([i + w * (len(impls) - 1) / 2 for i in range(len(cases))])
        ax.set_xticklabels(cases, rotation=20, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("time per operation (s)")
        ax.set_title(f"RMA, np {d['np']} (origin rank 0, target rank 1)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        name = f"rma_np{d['np']}.png"
        fig.savefig(os.path.join(plot_dir, name), dpi=90)
        plt.close(fig)
        drawn.append((name, f"RMA at np {d['np']}: dtl vs mpi4py MPI.Win"))

    # Sort: time vs n, every np and implementation.
    alg = [d for d in by_bench("algorithms") if any(r["group"] == "sort" and r["case"] == "sort" for r in d["rows"])]
    if alg:
        fig, ax = plt.subplots(figsize=(6, 4))
        for d in sorted(alg, key=lambda x: x["np"]):
            impls = list(OrderedDict.fromkeys(r["impl"] for r in d["rows"] if r["case"] == "sort"))
            for impl in impls:
                if impl.startswith("numpy.sort") and d["np"] != min(x["np"] for x in alg):
                    continue  # the one-process sort is the same at every np
                pts = sorted((r["n"], r["time_s"]) for r in d["rows"] if r["case"] == "sort" and r["impl"] == impl)
                label = impl if impl.startswith("numpy.sort") else f"{impl}, np {d['np']}"
                ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o",
                          linestyle="-" if impl == "dtl" else "--", label=label)
        ax.set_xlabel("elements (float64)")
        ax.set_ylabel("time (s)")
        ax.set_title("Distributed sort")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(plot_dir, "sort.png"), dpi=90)
        plt.close(fig)
        drawn.append(("sort.png", "Distributed sort: time vs n, dtl vs NumPy and the mpi4py sample sort"))
    return drawn


def generate(runs: List[Dict[str, Any]], skipped: List[str], page_dir: str, plot_dir: str) -> str:
    lines: List[str] = [BEGIN, "",
                        "<!-- Written by bench/report.py from bench/results/*.json: edit those programs, "
                        "not this block. -->", ""]
    if not runs:
        lines += ["No results yet: run `make bench`.", "", END]
        return "\n".join(lines)
    lines += ["## Measured", "",
              "Every figure is the median over the repetitions (after a warm-up) of the slowest rank's time "
              "per call; the implementations compared take turns in each repetition, and every ratio is "
              "baseline time / dtl time from the same run (> 1: dtl faster), with the issue's target "
              "where it has one. The runs:", "",
              "| results | np | date | CPU | cores | MPI | NumPy | load average (start → end) |",
              "| --- | ---: | --- | --- | ---: | --- | --- | --- |"]
    for d in runs:
        m = d["machine"]
        quick = " (`--quick`)" if d.get("quick") else ""
        lines.append(f"| `{d['file']}`{quick} | {d.get('np', '')} | {d.get('date', '')} | {m.get('cpu', '')} | "
                     f"{m.get('cores', '')} | {m.get('mpi', '')} | {m.get('numpy', '')} | "
                     f"{m.get('load_avg', '')} → {m.get('load_avg_end', '')} |")
    if any(d.get("quick") for d in runs):
        lines += ["", "**`--quick` files hold smoke-test figures (tiny sizes, one repetition), not measurements.**"]
    notes = [f"{d['file']}: {n}" for d in runs for n in d.get("notes", [])]
    if notes:
        lines += [""] + [f"* {n}" for n in notes]
    if skipped:
        lines += ["", "Not shown (not in the schema of `bench/harness.py`): " + ", ".join(skipped) + "."]
    # Collect rows and ratios by group.
    groups: OrderedDict[str, Tuple[List[Tuple[int, Dict[str, Any]]], List[Dict[str, Any]]]] = OrderedDict()
    for g, _ in GROUPS:
        groups[g] = ([], [])
    for d in runs:
        for r in d["rows"]:
            groups.setdefault(r["group"], ([], []))[0].append((d.get("np", 0), r))
        for q in d["ratios"]:
            q = dict(q)
            q.setdefault("np", d.get("np", 0))
            groups.setdefault(q.get("group", d["bench"]), ([], []))[1].append(q)
    titles = dict(GROUPS)
    for g, (entries, ratios) in groups.items():
        if not entries:
            continue
        entries.sort(key=lambda e: (e[0], ))
        lines += ["", f"### {titles.get(g, g)}", ""]
        if g in LONG:
            lines += long_table(g, entries, ratios)
        elif g in PER_CASE:
            for op in OrderedDict.fromkeys(r["case"] for _, r in entries):
                sub = [e for e in entries if e[1]["case"] == op]
                lines += [f"`{op}`:", ""]
                lines += table(g, sub, [q for q in ratios if q["case"] == op], show_case=False)
                lines.append("")
        else:
            lines += table(g, entries, ratios, show_case=True)
    drawn = plots(runs, plot_dir)
    if drawn:
        lines += ["", "### Plots", ""]
        rel = os.path.relpath(plot_dir, page_dir)
        for name, caption in drawn:
            lines += [f"![{caption}]({rel}/{name})", ""]
    lines += ["", END]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap.add_argument("--results", default=os.path.join(here, "results"))
    ap.add_argument("--page", default=os.path.join(root, "docs", "src", "performance.md"))
    ap.add_argument("--plots", default=None, help="PNG directory (default: bench/ next to the page)")
    args = ap.parse_args()
    plot_dir = args.plots or os.path.join(os.path.dirname(os.path.abspath(args.page)), "bench")
    with open(args.page) as f:
        page = f.read()
    if BEGIN not in page or END not in page or page.index(BEGIN) > page.index(END):
        print(f"report: {args.page} lacks the markers {BEGIN} ... {END}", file=sys.stderr)
        return 2
    runs, skipped = load(args.results)
    block = generate(runs, skipped, os.path.dirname(os.path.abspath(args.page)), plot_dir)
    new = page[: page.index(BEGIN)] + block + page[page.index(END) + len(END):]
    with open(args.page, "w") as f:
        f.write(new)
    print(f"report: {len(runs)} result files -> {args.page}; plots in {plot_dir}"
          + (f"; skipped {', '.join(skipped)}" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
