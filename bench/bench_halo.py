"""Halo exchange of a 2-D ``dtl.DistributedTensor`` side by side with a
hand-written mpi4py ``Sendrecv`` of the edge rows on the same local blocks
(``make bench`` runs it at np 2 and 4).

Tensors of 4096 x 1024 float64 (32 MiB, block partition along axis 0), halo
widths 1 and 8 (``--quick``: 64 x 32). Implementations, taking turns:

* ``dtl``: ``t.halo_exchange(width)`` (returns new ``(lower, upper)``
  arrays; ``MPI_Allreduce`` agreement step, then ``MPI_Isend``/``MPI_Irecv``
  with the two neighbours);
* ``dtl local_with_halo``: ``t.local_with_halo(width)`` (the same exchange
  plus a copy of the local block into a padded array);
* ``mpi4py Sendrecv``: two ``comm.Sendrecv`` of the ``width`` edge rows of
  ``t.local_view()`` into preallocated ghost arrays (``MPI.PROC_NULL`` at the
  global edges), what a user would write by hand.

The ghost rows of dtl and of the hand-written exchange are compared, and
both against the global array's closed form; a mismatch exits 1 on every
rank. Ratio: mpi4py time / dtl time.

    mpirun -np 2 python bench/bench_halo.py --json bench/results/halo_np2.json
"""

from __future__ import annotations

import sys

import numpy as np
from harness import Bench
from mpi4py import MPI

import dtl


def one(b: Bench, ctx: dtl.Context, rows: int, cols: int, width: int) -> None:
    comm, rank, size = b.comm, b.rank, b.size
    t = dtl.DistributedTensor(ctx, (rows, cols), dtype=np.float64)
    loc = t.local_view()
    off = t.local_offset
    nloc = loc.shape[0]
    # element (i, j) = i * cols + j
    loc[:] = (off + np.arange(nloc))[:, None] * float(cols) + np.arange(cols)[None, :]
    lo = rank - 1 if rank > 0 else MPI.PROC_NULL
    hi = rank + 1 if rank < size - 1 else MPI.PROC_NULL
    lower = np.empty((width if rank > 0 else 0, cols))
    upper = np.empty((width if rank < size - 1 else 0, cols))

    def sendrecv() -> None:
        # first rows down to rank - 1, upper ghosts from rank + 1; last rows up, lower ghosts from rank - 1
        comm.Sendrecv(loc[:width], dest=lo, recvbuf=upper, source=hi)
        comm.Sendrecv(loc[nloc - width:], dest=hi, recvbuf=lower, source=lo)

    d_lo, d_hi = t.halo_exchange(width)
    sendrecv()
    exp_lo = (off - width + np.arange(lower.shape[0]))[:, None] * float(cols) + np.arange(cols)[None, :]
    exp_hi = (off + nloc + np.arange(upper.shape[0]))[:, None] * float(cols) + np.arange(cols)[None, :]
    b.check(np.array_equal(d_lo, lower) and np.array_equal(d_hi, upper) and np.array_equal(lower, exp_lo)
            and np.array_equal(upper, exp_hi), f"halo {rows}x{cols} width {width}")
    nbytes = 2 * width * cols * 8  # ghost bytes a middle rank receives
    b.measure("halo", f"{rows} x {cols} f64, width {width}",
              {"dtl": lambda: t.halo_exchange(width), "dtl local_with_halo": lambda: t.local_with_halo(width),
               "mpi4py Sendrecv": sendrecv}, 9, rows * cols, nbytes,
              notes={"dtl local_with_halo": "plus a copy of the local block"})


def main() -> int:
    b = Bench("halo", __doc__)
    rows, cols = (64, 32) if b.quick else (4096, 1024)
    with dtl.Context() as ctx:
        for width in (1, 8):
            one(b, ctx, rows, cols, width)
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
