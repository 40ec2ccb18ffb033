#!/usr/bin/env python3
"""Hello from every rank: the smallest dtl program, checked.

Shows how a dtl program starts: ``dtl.Context()`` (collective: one
``MPI_Comm_dup`` of ``MPI_COMM_WORLD``; the first context also initialises
MPI), the rank and size it reports, and one collective. Every rank builds
its greeting, and ``dtl.allgatherv`` of the UTF-8 bytes (as ``uint8``
arrays of different lengths) brings all of them to every rank, which
prints nothing but rank 0's ordered list.

Checks, on every rank: ``0 <= rank < size``; the gathered greetings are
exactly ``"Hello from rank r of size"`` for r = 0 .. size-1, in rank order
(so every rank took part once); ``dtl.allreduce`` of 1 is ``size``. The
script exits with status 1 on every rank otherwise.

    mpirun -np 4 python examples/python/hello.py
"""

import sys

import numpy as np

import dtl


def greeting(rank: int, size: int) -> str:
    """The line rank ``rank`` of ``size`` contributes."""
    return f"Hello from rank {rank} of {size}"


with dtl.Context() as ctx:
    me = greeting(ctx.rank, ctx.size)
    # Collective: MPI_Allgather of the lengths, then MPI_Allgatherv of the bytes.
    data, counts = dtl.allgatherv(ctx, np.frombuffer(me.encode(), dtype=np.uint8))
    ends = np.cumsum(counts)
    lines = [bytes(data[e - c : e]).decode() for c, e in zip(counts, ends, strict=True)]
    ranks_counted = dtl.allreduce(ctx, 1)  # collective: MPI_Allreduce, a Python int

    expected = [greeting(r, ctx.size) for r in range(ctx.size)]
    ok = 0 <= ctx.rank < ctx.size and lines == expected and ranks_counted == ctx.size
    if ctx.is_root:
        print("\n".join(lines))
        print(f"{ranks_counted} rank(s) said hello, in rank order -> {'OK' if ok else 'WRONG'}")
    elif not ok:
        print(f"rank {ctx.rank}: got {lines!r}, {ranks_counted} ranks", file=sys.stderr)

sys.exit(0 if ok else 1)
