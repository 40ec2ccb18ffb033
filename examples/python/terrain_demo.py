#!/usr/bin/env python3
"""Terrain analysis of a digital elevation model (DEM) with dtl, checked against NumPy.

Rank 0 reads a 2-D elevation grid and dtl spreads it over the ranks by rows
(``DistributedTensor.scatter_from``, block partition). Every rank then works
on its own rows only:

* elevation statistics -- global min, max, mean and standard deviation with
  dtl collectives (the standard deviation in two passes: the global mean
  first, then the global sum of squared deviations from it);
* the slope field in degrees, ``atan(|grad z|)``, from ``np.gradient`` on the
  local rows padded with one ghost row from each neighbour
  (``local_with_halo(1)``); this reproduces ``np.gradient`` of the whole grid
  exactly, one-sided differences at the global edges included;
* slope statistics, and a global histogram of elevation (``np.histogram`` on
  the local rows over the global range, then an ``allreduce`` of the counts).

The slope field is gathered on rank 0, which recomputes every quantity with
plain NumPy on the whole grid, prints a comparison table, exits with status 1
if any difference exceeds its tolerance, and writes a PNG with a hillshade of
the DEM next to the slope map.

Input (``--input``): a 2-D ``.npy``; a ``.npz`` (the array named by ``--key``,
else the first 2-D array in it); or an image file (read with
``matplotlib.image.imread`` and converted to grayscale). The default is the
real DEM that matplotlib ships, ``jacksboro_fault_dem.npz`` (a 344 x 403 grid
of elevations in metres at 3 arc-second spacing).

Run::

    mpirun -np 4 python examples/python/terrain_demo.py --output demo-output/terrain.png
    python examples/python/terrain_demo.py            # one rank

Exit status: 0 verified, 1 a dtl result disagrees with NumPy, 2 bad input or
an output that cannot be written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

import dtl

# A row of the check table: quantity, dtl value, NumPy value, max |diff|, tolerance, ok.
Row = tuple[str, str, str, str, str, bool]

DEFAULT_INPUT = "jacksboro_fault_dem.npz"  # matplotlib sample data

# Tolerances of the comparison with NumPy.
STAT_RTOL = 1e-9  # statistics: relative ...
STAT_ATOL = 1e-12  # ... plus this absolute slack, for values that are 0
SLOPE_ATOL = 1e-9  # slope field: absolute, in degrees
# Histogram counts and the scatter/gather round trip must match exactly.


class InputError(Exception):
    """The input cannot be used (reported on rank 0, exit status 2)."""


# --------------------------------------------------------------------------- input (rank 0)


def metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """(metres per degree of longitude, metres per degree of latitude) at a
    latitude, from the usual series for the WGS84 ellipsoid."""
    phi = math.radians(lat_deg)
    lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    lat = 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi) - 0.0023 * math.cos(6 * phi)
    return lon, lat


def load_npz(path: str, key: str | None) -> tuple[np.ndarray, str, tuple[float, float, str] | None]:
    """The grid of a .npz, its key, and cell sizes if the file carries them."""
    with np.load(path) as f:
        keys = list(f.keys())
        if key is not None:
            if key not in keys:
                raise InputError(f"{path} has no array named {key!r}; it has {keys}")
            grid = f[key]
            if grid.ndim != 2:
                raise InputError(f"{path}[{key!r}] has shape {grid.shape}; a 2-D grid is needed")
        else:
            two_d = [k for k in keys if f[k].ndim == 2]
            if not two_d:
                raise InputError(f"{path} holds no 2-D array (arrays: {keys}); name one with --key")
            key = two_d[0]
            grid = f[key]
        cells = None
        if "dx" in keys and "dy" in keys and f["dx"].size == 1 and f["dy"].size == 1:
            dx, dy = float(f["dx"]), float(f["dy"])
            if "ymin" in keys and "ymax" in keys and abs(dx) < 1 and abs(dy) < 1:
                # A geographic grid (like the Jacksboro DEM): dx, dy are in
                # degrees of longitude and latitude; convert at mid latitude.
                lat = 0.5 * (float(f["ymin"]) + float(f["ymax"]))
                mlon, mlat = metres_per_degree(lat)
                note = f"from the file: {dx:.6g} deg x {dy:.6g} deg at latitude {lat:.4f}, in metres"
                cells = (abs(dx) * mlon, abs(dy) * mlat, note)
            else:
                cells = (abs(dx), abs(dy), "from the file's dx, dy")
    return grid, key, cells


def load_image(path: str) -> np.ndarray:
    import matplotlib.image as mpimg

    img = np.asarray(mpimg.imread(path))
    if img.ndim == 3:
        if img.shape[2] not in (3, 4):
            raise InputError(f"{path}: image with {img.shape[2]} channels; expected gray, RGB or RGBA")
        rgb = img[..., :3].astype(np.float64)
        img = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma
    if img.ndim != 2:
        raise InputError(f"{path}: image of shape {img.shape} cannot be read as a grid")
    return img


def load_input(args: argparse.Namespace) -> tuple[np.ndarray, float, float, str, str, str, str]:
    """Reads the grid (rank 0 only). Returns (grid as float64, dx, dy, label,
    cell-size note, unit of dx and dy, the file's dtype)."""
    cells = None
    if args.input is None:
        from matplotlib import cbook

        path = str(cbook.get_sample_data(DEFAULT_INPUT, asfileobj=False))
        label = f"{DEFAULT_INPUT} (matplotlib sample DEM)"
    else:
        path = args.input
        label = os.path.basename(path)
    if not os.path.isfile(path):
        raise InputError(f"no such file: {path}")
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix == ".npy":
            grid = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            grid, key, cells = load_npz(path, args.key)
            label += f" [{key}]"
        else:
            grid = load_image(path)
    except InputError:
        raise
    except Exception as e:  # an unreadable file: report it, don't hang the other ranks
        raise InputError(f"cannot read {path}: {type(e).__name__}: {e}") from e
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise InputError(f"{path}: need a 2-D grid, got shape {grid.shape}")
    if grid.shape[0] < 2 or grid.shape[1] < 2:
        raise InputError(f"{path}: the grid is {grid.shape}; the gradient needs at least 2 x 2 cells")
    if not (np.issubdtype(grid.dtype, np.number) and not np.issubdtype(grid.dtype, np.complexfloating)):
        raise InputError(f"{path}: need real numbers, got dtype {grid.dtype}")
    src_dtype = grid.dtype
    grid = np.ascontiguousarray(grid, dtype=np.float64)
    if not np.all(np.isfinite(grid)):
        raise InputError(f"{path}: the grid has {np.count_nonzero(~np.isfinite(grid))} NaN/inf cells")

    unit = "units"
    if args.dx is not None or args.dy is not None:
        dx = args.dx if args.dx is not None else 1.0
        dy = args.dy if args.dy is not None else 1.0
        note = "from --dx/--dy"
    elif cells is not None:
        dx, dy, note = cells
        if "metres" in note:
            unit = "m"
    else:
        dx, dy, note = 1.0, 1.0, "default (pass --dx/--dy)"
    if not (dx > 0 and dy > 0 and math.isfinite(dx) and math.isfinite(dy)):
        raise InputError(f"cell sizes must be finite and > 0, got dx={dx}, dy={dy}")
    return grid, float(dx), float(dy), label, note, unit, str(src_dtype)


# --------------------------------------------------------------------------- the computation


def slope_degrees(z: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Slope angle in degrees of a 2-D grid (rows spaced dy, columns dx)."""
    dz_dy, dz_dx = np.gradient(z, dy, dx)
    out: np.ndarray = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    return out


def global_stats(ctx: dtl.Context, local: np.ndarray, n: int) -> dict[str, float]:
    """min, max, mean, std (population, like np.std) of a distributed field
    whose local part is ``local`` and global size ``n``. Collective."""
    has = local.size > 0
    gmin = dtl.allreduce(ctx, float(local.min()) if has else math.inf, op=dtl.MIN)
    gmax = dtl.allreduce(ctx, float(local.max()) if has else -math.inf, op=dtl.MAX)
    mean = dtl.allreduce(ctx, float(local.sum()), op=dtl.SUM) / n
    ssd = dtl.allreduce(ctx, float(np.sum((local - mean) ** 2)), op=dtl.SUM)
    return {"min": gmin, "max": gmax, "mean": mean, "std": math.sqrt(ssd / n)}


def numpy_stats(a: np.ndarray) -> dict[str, float]:
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()), "std": float(a.std())}


def run_dtl(ctx: dtl.Context, grid: np.ndarray | None, dx: float, dy: float, bins: int) -> dict[str, Any]:
    """The distributed pipeline. Collective; ``grid`` is read on rank 0 only."""
    elev = dtl.DistributedTensor.scatter_from(ctx, grid, root=0)
    rows, cols = elev.shape
    n = rows * cols
    local = elev.local_view()  # this rank's rows, zero-copy
    nloc, off = local.shape[0], elev.local_offset

    z = global_stats(ctx, local, n)

    # Slope: pad the local rows with one ghost row from each neighbour.
    padded = elev.local_with_halo(1)  # collective
    slope = dtl.DistributedTensor(ctx, (rows, cols), dtype=np.float64)
    if nloc > 0:
        lower = 1 if off > 0 else 0  # ghost rows exist except beyond the global edges
        upper = 1 if off + nloc < rows else 0
        if padded.shape == (lower + nloc + upper, cols):
            slope.local_view()[:] = slope_degrees(padded, dx, dy)[lower : lower + nloc]
        else:
            # Keep going (the other ranks are in collectives); NaN fails the check.
            print(
                f"rank {ctx.rank}: local_with_halo(1) gave shape {padded.shape}, expected "
                f"{(lower + nloc + upper, cols)}",
                file=sys.stderr,
                flush=True,
            )
            slope.local_view()[:] = np.nan
    s = global_stats(ctx, slope.local_view(), n)

    # Histogram of elevation over the global range.
    counts = np.histogram(local, bins=bins, range=(z["min"], z["max"]))[0].astype(np.int64)
    hist = dtl.allreduce(ctx, counts, op=dtl.SUM)

    rows_per_rank = dtl.gather(ctx, np.array([nloc], dtype=np.int64), root=0)
    return {
        "elev": z,
        "slope": s,
        "hist": hist,
        "slope_field": slope.gather(root=0),  # full field on rank 0, None elsewhere
        "roundtrip": elev.gather(root=0),
        "rows_per_rank": None if rows_per_rank is None else rows_per_rank.ravel().tolist(),
    }


# --------------------------------------------------------------------------- checking and output (rank 0)


def compare(res: dict[str, Any], grid: np.ndarray, dx: float, dy: float, bins: int) -> tuple[list[Row], bool]:
    """Recomputes everything with NumPy on the whole grid. Returns table rows
    (quantity, dtl value, NumPy value, max abs difference, tolerance, ok) and
    whether all pass."""
    rows: list[Row] = []

    def stat_row(name: str, got: float, want: float) -> None:
        diff = abs(got - want)
        ok = diff <= STAT_ATOL + STAT_RTOL * abs(want)
        rows.append((name, f"{got:.12g}", f"{want:.12g}", f"{diff:.3g}", "rel 1e-9", ok))

    ref_z = numpy_stats(grid)
    for k in ("min", "max", "mean", "std"):
        stat_row(f"elevation {k}", res["elev"][k], ref_z[k])

    ref_slope = slope_degrees(grid, dx, dy)
    got_slope = res["slope_field"]
    d = float(np.max(np.abs(got_slope - ref_slope)))
    rows.append(
        (
            "slope field (deg)",
            f"{got_slope.shape[0]}x{got_slope.shape[1]} cells",
            "np.gradient",
            f"{d:.3g}",
            "abs 1e-9",
            d <= SLOPE_ATOL,
        )
    )
    ref_s = numpy_stats(ref_slope)
    for k in ("min", "max", "mean", "std"):
        stat_row(f"slope {k} (deg)", res["slope"][k], ref_s[k])

    ref_hist = np.histogram(grid, bins=bins, range=(ref_z["min"], ref_z["max"]))[0]
    hd = int(np.max(np.abs(res["hist"] - ref_hist)))
    rows.append(
        (
            f"histogram ({bins} bins)",
            f"{int(res['hist'].sum())} counted",
            f"{int(ref_hist.sum())} counted",
            str(hd),
            "exact",
            hd == 0,
        )
    )
    rt = float(np.max(np.abs(res["roundtrip"] - grid)))
    rows.append(("scatter/gather trip", "elevation", "input", f"{rt:.3g}", "exact", rt == 0))
    return rows, all(r[-1] for r in rows)


def print_table(rows: list[Row]) -> None:
    head = ("quantity", "dtl", "NumPy", "max |diff|", "tolerance", "check")
    table = [head] + [r[:5] + ("ok" if r[5] else "FAIL",) for r in rows]
    w = [max(len(r[i]) for r in table) for i in range(len(head))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)).rstrip()

    print(line(head))
    print("  ".join("-" * x for x in w))
    for r in table[1:]:
        print(line(r))


def write_png(
    path: str, grid: np.ndarray, slope: np.ndarray, dx: float, dy: float, unit: str, label: str, nranks: int
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm
    from matplotlib.colors import LightSource, Normalize

    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    rows, cols = grid.shape
    scale, axis_unit = (1e-3, "km") if unit == "m" else (1.0, unit)
    extent = (0, cols * dx * scale, rows * dy * scale, 0)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 6), constrained_layout=True)
    ls = LightSource(azdeg=315, altdeg=45)
    norm = Normalize(vmin=grid.min(), vmax=grid.max())
    shaded = ls.shade(grid, cmap=cm.gist_earth, norm=norm, blend_mode="overlay", vert_exag=1.0, dx=dx, dy=dy)
    ax1.imshow(shaded, extent=extent)
    fig.colorbar(
        cm.ScalarMappable(norm=norm, cmap=cm.gist_earth),
        ax=ax1,
        shrink=0.85,
        label="elevation" + (" (m)" if unit == "m" else ""),
    )
    ax1.set_title("hillshade (sun from the north-west, 45°)")
    im = ax2.imshow(slope, cmap="magma", extent=extent)
    fig.colorbar(im, ax=ax2, shrink=0.85, label="slope (degrees)")
    ax2.set_title("slope, computed with dtl")
    for ax in (ax1, ax2):
        ax.set_xlabel(f"x ({axis_unit})")
        ax.set_ylabel(f"y ({axis_unit})")
    fig.suptitle(f"{label}: {rows} x {cols} grid on {nranks} MPI rank{'s' if nranks != 1 else ''}")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(
    args: argparse.Namespace, nranks: int, grid: np.ndarray, dx: float, dy: float, label: str, note: str,
    unit: str, src_dtype: str, res: dict[str, Any], t_load: float, elapsed: float,
) -> int:
    """Rank 0: print the run, check it against NumPy, write the PNG. Returns
    the exit status (0 pass, 1 mismatch, 2 the PNG cannot be written)."""
    rows, cols = grid.shape
    s = "s" if nranks != 1 else ""
    print(f"dtl {dtl.__version__} terrain demo on {nranks} MPI rank{s}")
    print(f"input      : {label}")
    print(f"grid       : {rows} x {cols} = {rows * cols} cells, {src_dtype} read as float64")
    print(f"cell size  : dx = {dx:.6g} {unit}, dy = {dy:.6g} {unit} ({note})")
    print(f"rows/rank  : {res['rows_per_rank']} (block partition of {rows} rows)")
    print()
    t_np = dtl.wtime()
    table, passed = compare(res, grid, dx, dy, args.bins)
    t_np = dtl.wtime() - t_np
    print_table(table)
    print()
    h = res["hist"]
    edges = np.histogram_bin_edges(np.empty(0), bins=args.bins, range=(res["elev"]["min"], res["elev"]["max"]))
    peak = int(np.argmax(h))
    print(f"histogram  : {h.tolist()}")
    print(f"             (most cells, {int(h[peak])}, between {edges[peak]:.6g} and {edges[peak + 1]:.6g})")
    print(
        f"timing     : read on rank 0 {t_load:.3f} s; dtl pipeline {elapsed:.3f} s "
        f"(wall clock, slowest of {nranks} rank{s}); NumPy check on rank 0 {t_np:.3f} s"
    )
    if not passed:
        bad = [r[0] for r in table if not r[-1]]
        sys.stdout.flush()
        print(f"result     : FAIL - dtl disagrees with NumPy on: {', '.join(bad)}", file=sys.stderr)
        return 1
    try:
        write_png(args.output, grid, res["slope_field"], dx, dy, unit, label, nranks)
    except OSError as e:
        sys.stdout.flush()
        print(f"terrain_demo: error: cannot write {args.output}: {e}", file=sys.stderr)
        return 2
    print(f"image      : {args.output}")
    print("result     : PASS - every dtl value matches NumPy within tolerance")
    return 0


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--input", metavar="PATH", help=f"2-D .npy, .npz or image file (default: matplotlib's {DEFAULT_INPUT})"
    )
    p.add_argument("--key", help="array to use in a .npz input (default: the first 2-D array)")
    p.add_argument("--dx", type=float, help="cell width (column spacing); default: from the file, else 1")
    p.add_argument("--dy", type=float, help="cell height (row spacing); default: from the file, else 1")
    p.add_argument("--bins", type=int, default=20, help="elevation histogram bins (default 20)")
    p.add_argument("--output", default="demo-output/terrain.png", help="PNG to write (default: %(default)s)")
    a = p.parse_args(argv)
    if a.bins < 1:
        p.error("--bins must be >= 1")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with dtl.Context() as ctx:
        root = ctx.is_root
        grid, label, note, unit, src_dtype, err = None, "", "", "", "", ""
        t_load = dtl.wtime()
        meta = np.zeros(3)
        if root:
            try:
                grid, dx, dy, label, note, unit, src_dtype = load_input(args)
                meta = np.array([1.0, dx, dy])
            except InputError as e:
                err = str(e)
            except Exception as e:  # noqa: BLE001 -- reported like bad input: the other ranks must not hang
                err = f"cannot load the input: {type(e).__name__}: {e}"
        t_load = dtl.wtime() - t_load
        # Everyone learns whether rank 0 could read the input, and the cell sizes.
        ok, dx, dy = dtl.broadcast(ctx, meta, root=0)
        if not ok:
            if root:
                print(f"terrain_demo: error: {err}", file=sys.stderr)
            return 2

        ctx.barrier()
        t0 = dtl.wtime()
        res = run_dtl(ctx, grid, dx, dy, args.bins)
        elapsed = dtl.allreduce(ctx, dtl.wtime() - t0, op=dtl.MAX)

        status = np.zeros(1, dtype=np.int64)
        if root and grid is not None:  # rank 0 read the grid (ok above)
            # Whatever happens here, rank 0 must reach the broadcast below,
            # or the other ranks would wait for it forever.
            try:
                status[0] = report(args, ctx.size, grid, dx, dy, label, note, unit, src_dtype, res, t_load, elapsed)
            except Exception:  # noqa: BLE001 -- any failure must still reach the broadcast below
                traceback.print_exc()
                status[0] = 1
            sys.stdout.flush()
        return int(dtl.broadcast(ctx, status, root=0)[0])


if __name__ == "__main__":
    sys.exit(main())
