"""``v.redistribute(...)`` block -> cyclic of a ``dtl.DistributedVector``
side by side with a hand-written mpi4py + NumPy ``Alltoallv`` (``make bench``
runs it at np 2 and 4).

10^7 float64 (``--n``; ``--quick``: 10^4). Implementations, taking turns,
each starting from the block layout (restored untimed before each run):

* ``dtl``: ``v.redistribute(dtl.PARTITION_CYCLIC)`` (one ``MPI_Alltoallv``
  plus packing/unpacking in the core);
* ``mpi4py Alltoallv``: what a user would write: destinations ``g % size``
  of the local global indices with NumPy, a stable ``argsort`` to pack by
  destination, ``Alltoall`` of the counts, ``Alltoallv`` of the data. The
  unpack is the identity here: the sources arrive in rank order and each
  sends its elements in increasing global index, which is the cyclic local
  order.

Both must give the same local data (checked against each other and against
the closed form, element ``i`` = ``i``); a mismatch exits 1 on every rank.
Ratio: mpi4py time / dtl time.

    mpirun -np 2 python bench/bench_redistribute.py --json bench/results/redistribute_np2.json
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, List

import numpy as np
from harness import Bench
from mpi4py import MPI

import dtl


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=float, default=1e7, help="elements")


def alltoallv_cyclic(comm: MPI.Comm, data: np.ndarray, offset: int) -> np.ndarray:
    """Block -> cyclic by hand: destinations, pack, Alltoallv."""
    p = comm.Get_size()
    dest = (offset + np.arange(data.size, dtype=np.int64)) % p
    order = np.argsort(dest, kind="stable")
    send = data[order]
    sendcounts = np.bincount(dest, minlength=p).astype(np.int64)
    recvcounts = np.empty(p, dtype=np.int64)
    comm.Alltoall(sendcounts, recvcounts)
    out = np.empty(int(recvcounts.sum()), dtype=data.dtype)
    comm.Alltoallv([send, sendcounts], [out, recvcounts])
    return out


def main() -> int:
    b = Bench("redistribute", __doc__, add_args)
    comm = b.comm
    n = 10**4 if b.quick else int(b.args.n)
    with dtl.Context() as ctx:
        v = dtl.DistributedVector(ctx, size=n, dtype=np.float64)
        off = v.local_offset
        block = off + np.arange(v.local_size, dtype=np.float64)
        view = v.local_view()
        view[:] = block
        del view  # a live view pins the buffer: redistribute would refuse

        def to_block() -> None:
            v.redistribute(dtl.PARTITION_BLOCK)

        out: List[Any] = [None]

        def by_hand() -> None:
            out[0] = alltoallv_cyclic(comm, block, off)

        v.redistribute(dtl.PARTITION_CYCLIC)
        by_hand()
        got = v.local_view().copy()
        expect = v.local_indices().astype(np.float64)
        b.check(np.array_equal(got, out[0]) and np.array_equal(got, expect)
                and np.array_equal(expect, np.arange(b.rank, n, b.size, dtype=np.float64)),
                "redistribute block -> cyclic")
        del got, expect
        to_block()
        b.measure("redistribute", "block -> cyclic", {"dtl": (lambda: v.redistribute(dtl.PARTITION_CYCLIC), to_block),
                                                      "mpi4py Alltoallv": by_hand}, 7, n, 8 * n, batch=1)
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
