"""Pictures of who owns what, for docs/src/policies.md.

Run under MPI (``make docs-figures`` runs it at np 4):

    mpirun -np 4 .venv/bin/python docs/figures.py [OUTDIR]

Nothing here is drawn by hand: every rank builds the containers with the
``dtl`` package and reports what it holds (``local_indices()``,
``local_shape``/``local_offset``, ``DistributedMap.is_local``); rank 0
gathers the answers with ``dtl.gather`` and ``DistributedTensor.gather``, checks them
against the partition rules stated in policies.md (an independent
computation in NumPy) and draws the PNGs with matplotlib into OUTDIR
(default ``docs/src/figures``). Any mismatch exits 1 on every rank.

Files written: ``partitions.png`` (1-D policies), ``tensor_axes.png``
(a tensor split along axis 0 and axis 1), ``map_hash.png`` (keys of a
DistributedMap), ``placement.png`` (what each placement policy gives in
this build).
"""

from __future__ import annotations

import os
import sys

import numpy as np

import dtl

N = 22                       # elements of the 1-D examples
BLOCK = 3                    # block size of the block-cyclic example
WEIGHTS = [1.0, 2.0, 3.0, 4.0]   # fractions of the weighted example (first 4 ranks)


def expected_owner(policy: str, n: int, size: int, weights=None) -> np.ndarray:
    """The owner of each global index by the rules of partitions.md."""
    i = np.arange(n)
    if policy == "block":
        q, rem = divmod(n, size)
        counts = [q + (1 if r < rem else 0) for r in range(size)]
        return np.repeat(np.arange(size), counts)
    if policy == "cyclic":
        return i % size
    if policy == "block_cyclic":
        return (i // BLOCK) % size
    if policy == "weighted":
        return np.repeat(np.arange(size), weights)
    raise ValueError(policy)


def main() -> int:
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "src", "figures")
    with dtl.Context() as ctx:
        size, rank = ctx.size, ctx.rank
        # Weighted: integer counts proportional to WEIGHTS (cycled to size ranks).
        w = np.array([WEIGHTS[r % len(WEIGHTS)] for r in range(size)])
        counts = np.floor(w / w.sum() * N).astype(int)
        counts[-1] += N - counts.sum()
        cases = [
            ("block", "PARTITION_BLOCK", dict(partition=dtl.PARTITION_BLOCK)),
            ("cyclic", "PARTITION_CYCLIC", dict(partition=dtl.PARTITION_CYCLIC)),
            ("block_cyclic", f"PARTITION_BLOCK_CYCLIC, block_size={BLOCK}",
             dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=BLOCK)),
            ("weighted", f"PARTITION_WEIGHTED, weights={counts.tolist()}",
             dict(partition=dtl.PARTITION_WEIGHTED, weights=[int(c) for c in counts])),
            ("replicated", "PARTITION_REPLICATED", dict(partition=dtl.PARTITION_REPLICATED)),
        ]
        ok = True
        # held[name]: (size, N) bool matrix, rank r holds index i; local[name]: local index
        held, local = {}, {}
        for name, _, kw in cases:
            v = dtl.DistributedVector(ctx, N, dtype=np.int64, **kw)
            mine = np.zeros(N, dtype=np.int64)
            loc = np.full(N, -1, dtype=np.int64)
            idx = v.local_indices()
            mine[idx] = 1
            loc[idx] = np.arange(idx.size)
            h = dtl.gather(ctx, mine, root=0)
            lo = dtl.gather(ctx, loc, root=0)
            if rank == 0:
                held[name], local[name] = h.astype(bool), lo
                if name == "replicated":
                    ok &= bool(h.all())
                else:
                    # exactly one owner per index, the one the rule says, and owner() agrees
                    exp = expected_owner(name, N, size, counts)
                    ok &= bool((h.sum(axis=0) == 1).all()) and bool((h.argmax(axis=0) == exp).all())
                    ok &= all(v.owner(i) == exp[i] for i in range(N))
        # Tensor 8 x 6 split along axis 0 and along axis 1 (block).
        shape = (8, 6)
        tens = {}
        for axis in (0, 1):
            t = dtl.DistributedTensor(ctx, shape, dtype=np.int64, axis=axis)
            t.local_view()[...] = rank
            tens[axis] = t.gather(root=0)
            if rank == 0:
                ext = shape[axis]
                exp = expected_owner("block", ext, size)
                want = exp[:, None] * np.ones(shape[1], int) if axis == 0 else np.ones((shape[0], 1), int) * exp[None, :]
                ok &= bool((tens[axis] == want).all())
        # Map: which rank owns each of 32 keys.
        m = dtl.DistributedMap(ctx, key_dtype=np.int64, value_dtype=np.int64)
        keys = np.arange(32, dtype=np.int64)
        mine = np.array([1 if m.is_local(int(k)) else 0 for k in keys], dtype=np.int64)
        key_held = dtl.gather(ctx, mine, root=0)
        if rank == 0:
            ok &= bool((key_held.sum(axis=0) == 1).all())
            ok &= all(m.owner(int(k)) == int(key_held[:, k].argmax()) for k in keys)
        # Placement: what each policy gives in this build.
        place = []
        for pname in ("PLACEMENT_HOST", "PLACEMENT_DEVICE", "PLACEMENT_UNIFIED", "PLACEMENT_DEVICE_PREFERRED"):
            p = getattr(dtl, pname)
            try:
                c = dtl.DistributedVector(ctx, 8, placement=p)
                got = dtl.PlacementPolicy(c.placement_policy).name
                place.append((pname, dtl.placement_available(p), "container in " + got))
                del c
            except dtl.DTLError as e:
                place.append((pname, dtl.placement_available(p), type(e).__name__))
        ok = bool(dtl.broadcast(ctx, np.array([1 if ok else 0]), root=0)[0])
        if not ok:
            print(f"figures.py: rank {rank}: ownership differs from the partition rules", file=sys.stderr)
            return 1
        if rank == 0:
            draw(outdir, size, cases, held, local, tens, shape, key_held, place)
    return 0


def draw(outdir, size, cases, held, local, tens, shape, key_held, place) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    os.makedirs(outdir, exist_ok=True)
    colors = plt.get_cmap("tab10").colors[:size]
    cmap = ListedColormap(colors)

    # 1. 1-D partitions: one row per rank and policy; a cell is coloured if the rank holds it.
    fig, axes = plt.subplots(len(cases), 1, figsize=(11, 1.05 * size * len(cases) / 2 + 1.2))
    for ax, (name, label, _) in zip(axes, cases):
        h, lo = held[name], local[name]
        img = np.where(h, np.arange(size)[:, None], np.nan)
        ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=size - 0.5, aspect="auto")
        for r in range(size):
            for i in range(N):
                if h[r, i]:
                    li = i if name == "replicated" else lo[r, i]
                    ax.text(i, r, str(li), ha="center", va="center", fontsize=7, color="white")
        ax.set_yticks(range(size), [f"rank {r}" for r in range(size)], fontsize=7)
        ax.set_xticks(range(N), [str(i) for i in range(N)], fontsize=7)
        ax.set_xticks(np.arange(-0.5, N), minor=True)
        ax.set_yticks(np.arange(-0.5, size), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="minor", length=0)
        ax.set_title(f"DistributedVector(ctx, {N}, {label})", fontsize=9, loc="left")
    axes[-1].set_xlabel("global index (number in a cell: its local index on that rank)")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "partitions.png"), dpi=110)
    plt.close(fig)

    # 2. Tensor split along axis 0 and axis 1.
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, axis in zip(axes, (0, 1)):
        g = tens[axis]
        ax.imshow(g, cmap=cmap, vmin=-0.5, vmax=size - 0.5)
        for i in range(shape[0]):
            for j in range(shape[1]):
                ax.text(j, i, str(g[i, j]), ha="center", va="center", fontsize=8, color="white")
        ax.set_title(f"DistributedTensor(ctx, {shape}, axis={axis})", fontsize=9)
        ax.set_xlabel("axis 1")
        ax.set_ylabel("axis 0")
    fig.legend(handles=[Patch(color=colors[r], label=f"rank {r}") for r in range(size)],
               loc="lower center", ncol=size, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(os.path.join(outdir, "tensor_axes.png"), dpi=110)
    plt.close(fig)

    # 3. Map keys by owner.
    owner = key_held.argmax(axis=0)
    fig, ax = plt.subplots(figsize=(11, 1.6))
    ax.imshow(owner[None, :], cmap=cmap, vmin=-0.5, vmax=size - 0.5, aspect="auto")
    for k, r in enumerate(owner):
        ax.text(k, 0, str(r), ha="center", va="center", fontsize=8, color="white")
    ax.set_yticks([])
    ax.set_xticks(range(owner.size), [str(k) for k in range(owner.size)], fontsize=7)
    ax.set_xlabel("key (number in a cell: the owner rank, m.owner(key))")
    ax.set_title("DistributedMap(ctx, key_dtype=np.int64): PARTITION_HASH", fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "map_hash.png"), dpi=110)
    plt.close(fig)

    # 4. Placement policies in this build.
    fig, ax = plt.subplots(figsize=(9, 1.9))
    ax.axis("off")
    rows = [[p, "yes" if a else "no", r] for p, a, r in place]
    tab = ax.table(cellText=rows, colLabels=["placement=", "placement_available()", "DistributedVector(ctx, 8, placement=...)"],
                   loc="center", cellLoc="left")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1, 1.4)
    for (r, c), cell in tab.get_celld().items():
        if r > 0 and c == 2:
            cell.set_facecolor("#d8f0d8" if rows[r - 1][2].startswith("container") else "#f6d8d8")
    ax.set_title(f"Placement policies in this build (dtl.has_cuda() = {dtl.has_cuda()})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "placement.png"), dpi=110)
    plt.close(fig)
    print(f"figures.py: wrote partitions.png, tensor_axes.png, map_hash.png, placement.png to {outdir}")


if __name__ == "__main__":
    sys.exit(main())
