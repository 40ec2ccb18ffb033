"""Where the ranks run: nodes, CPUs and GPUs, and the rank→GPU mapping.

Run as a program under MPI to print the mapping of every rank, the way
mpibind's ``mapping_print`` does (rank 0 prints; one line per task)::

    mpirun -np 4 python -m dtl.topology          # the mapping as it is
    mpirun -np 4 python -m dtl.topology --bind   # after dtl's CPU binding

which prints, for example::

    mpibind: 4 tasks on 1 node(s), 1 host(s): node 0 vm (tasks 0-3)
    mpibind: task  0 nths  1 gpus  cpus 0
    mpibind: task  1 nths  1 gpus  cpus 1
    mpibind: task  2 nths  1 gpus  cpus 0
    mpibind: task  3 nths  1 gpus  cpus 1

From Python::

    import dtl, dtl.topology
    topo = dtl.topology.query()          # collective: dtl.Topology(dtl.Context())
    print(topo.local_rank, topo.cpu_affinity(), topo.gpu_id)

See ``docs/src/topology.md`` for the binding rule and how ``device_id="auto"``
picks a GPU.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from ._dtl import Context, Topology

__all__ = ["Topology", "query", "main"]


def query(ctx: Optional[Context] = None) -> Topology:
    """The :class:`Topology` of ``ctx`` (default: a new context over all
    ranks, ``dtl.Context()``).

    **Collective**: every rank of ``ctx`` (of ``MPI_COMM_WORLD`` when
    ``ctx`` is ``None``) must call it. Underneath:
    ``MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)``, ``MPI_Allgather``,
    ``MPI_Allgatherv`` and ``sched_getaffinity``.
    """
    if ctx is None:
        ctx = Context()
    return Topology(ctx)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m dtl.topology [--bind]``: prints the mapping of every rank
    of ``MPI_COMM_WORLD`` on rank 0. Collective over ``MPI_COMM_WORLD``
    (every rank runs it). Returns the exit status (0)."""
    parser = argparse.ArgumentParser(
        prog="python -m dtl.topology",
        description="Print where every MPI rank runs (CPUs, GPUs), in mpibind's mapping format. "
        "Run under mpirun; rank 0 prints.",
    )
    parser.add_argument(
        "--bind",
        action="store_true",
        help="first bind each rank to its block of its node's CPUs (sched_setaffinity), then print",
    )
    args = parser.parse_args(argv)
    with Context() as ctx:
        topo = Topology(ctx)
        if args.bind:
            topo.bind()
        text = topo.mapping()
        if ctx.rank == 0:
            sys.stdout.write(text)
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
