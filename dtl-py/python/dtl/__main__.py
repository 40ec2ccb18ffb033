"""``python -m dtl <command>``: dtl's command line.

Commands (each **collective** over ``MPI_COMM_WORLD``: run it the same way
on every rank; rank 0 prints)::

    python -m dtl info            # the diagnostic report, for bug reports
    python -m dtl info --json     # the same, machine-readable
    mpirun -np 4 python -m dtl info
    python -m dtl topology [--bind]   # = python -m dtl.topology

Each works as a plain process (an MPI singleton) and under ``mpirun``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from . import topology
from ._dtl import Context
from ._info import _collect

__all__ = ["main"]


def _info(args: argparse.Namespace) -> int:
    with Context() as ctx:
        fields, text = _collect(ctx)
        if ctx.rank == 0:
            if args.json:
                sys.stdout.write(json.dumps(fields, indent=2) + "\n")
            else:
                sys.stdout.write(text)
            sys.stdout.flush()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parses ``argv`` (default ``sys.argv[1:]``) and runs the command.
    Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dtl", description="dtl command line. Run under mpirun, or as a single process."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_info = sub.add_parser(
        "info",
        help="print the diagnostic report (dtl, MPI, CUDA/NCCL, nodes and ranks) for bug reports",
        description="Print dtl's version and build, the MPI library, thread level, ranks and nodes, "
        "whether CUDA and NCCL are usable and why not, and every rank's host, CPUs and GPU. "
        "Collective over MPI_COMM_WORLD; rank 0 prints.",
    )
    p_info.add_argument("--json", action="store_true", help="print JSON (the dict of dtl.info()) instead of text")
    p_topo = sub.add_parser("topology", help="print where every rank runs (mpibind format), as python -m dtl.topology")
    p_topo.add_argument("--bind", action="store_true", help="first bind each rank to its block of its node's CPUs")
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info(args)
    if args.command == "topology":
        return topology.main(["--bind"] if args.bind else [])
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
