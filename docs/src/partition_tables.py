"""Prints who owns what for n = 10 elements over the ranks, for every
partition policy of the index containers, from the dtl package itself.

The tables in docs/src/partitions.md are this script's output at np 3:

    mpirun -np 3 .venv/bin/python docs/src/partition_tables.py
"""

import numpy as np

import dtl

N = 10

POLICIES = [
    ("partition=dtl.PARTITION_BLOCK", dict(partition=dtl.PARTITION_BLOCK)),
    ("partition=dtl.PARTITION_CYCLIC", dict(partition=dtl.PARTITION_CYCLIC)),
    ("partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=2",
     dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=2)),
    ("partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=5",
     dict(partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=5)),
    ("partition=dtl.PARTITION_WEIGHTED, weights=[6, 0, 4]",
     dict(partition=dtl.PARTITION_WEIGHTED, weights=[6, 0, 4])),
    ("partition=dtl.PARTITION_WEIGHTED, weights=[0.5, 0.25, 0.25]",
     dict(partition=dtl.PARTITION_WEIGHTED, weights=[0.5, 0.25, 0.25])),
    ("partition=dtl.PARTITION_REPLICATED", dict(partition=dtl.PARTITION_REPLICATED)),
]


def row(label, cells):
    return f"{label:<13}" + "".join(f"{c:>3}" for c in cells)


def main():
    ctx = dtl.Context()
    for text, kw in POLICIES:
        if "weights" in kw and len(kw["weights"]) != ctx.size:
            continue  # the example weights are for 3 ranks
        v = dtl.DistributedVector(ctx, N, dtype=np.int64, **kw)
        idx, counts = dtl.allgatherv(ctx, v.local_indices().astype(np.int64))
        offsets = dtl.allgather(ctx, np.array([v.local_offset], dtype=np.int64))[:, 0]
        if not ctx.is_root:
            continue
        parts, at = [], 0
        for c in counts:
            parts.append([int(g) for g in idx[at:at + c]])
            at += c
        holders = [[r for r, p in enumerate(parts) if g in p] for g in range(N)]
        replicated = all(len(h) == ctx.size for h in holders)
        print(f"DistributedVector(ctx, {N}, {text})")
        print()
        print(row("global index", range(N)))
        if replicated:
            print(row("held by", ["*"] * N) + "   (* = every rank)")
            print(row("local index", range(N)))
        else:
            owner = [h[0] for h in holders]
            print(row("owner rank", owner))
            print(row("local index", [parts[owner[g]].index(g) for g in range(N)]))
        print()
        for r, p in enumerate(parts):
            print(f"rank {r}: local_indices {p}, local_size {len(p)}, local_offset {offsets[r]}")
        print()


if __name__ == "__main__":
    main()
