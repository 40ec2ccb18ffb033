#!/usr/bin/env python3
"""Where the ranks run: ``dtl.Topology``, printed and checked against mpi4py.

Shows ``dtl.Topology(ctx)`` (collective: ``MPI_Comm_split_type`` into
shared-memory nodes, ``MPI_Allgather`` of node ids and GPU counts,
``MPI_Allgatherv`` of the CPU sets) and what it tells each rank: its node
(``node_id`` of ``num_nodes``, ``hostname``), its place on the node
(``local_rank`` of ``local_size``), its CPUs (``cpu_affinity()``,
``num_cpus``) and its GPU under the default mapping (``gpu_id``,
``gpu_of``); rank 0 prints ``mapping()``, the whole job in mpibind's
format. Nothing is bound (``bind()`` would change the CPU sets).

Checks, against an independent source (mpi4py on ``MPI.COMM_WORLD``,
whose ``allgather`` of ``MPI.Get_processor_name()`` gives every rank's
host, and ``os.sched_getaffinity``), on every rank:

* ``hostname`` is this rank's processor name; ``num_nodes`` is the number
  of distinct host names (one shared-memory node per host);
* the ranks on this node are exactly the ranks with this host name: their
  number is ``local_size``, and this rank's position among them in rank
  order is ``local_rank`` (so each node's local ranks are 0 ..
  local_size-1); ``is_local(a, b)`` agrees for every pair;
* ranks share ``node_id`` exactly when they share a host, node ids run
  0 .. num_nodes-1 numbered by lowest rank, and ``num_nodes`` is the same
  everywhere;
* ``cpu_affinity()`` is ``os.sched_getaffinity(0)``, at most ``num_cpus``
  CPUs; ``gpu_id`` is ``local_rank % num_gpus`` (-1 without a GPU) and
  ``gpu_of(rank)`` agrees;
* ``mapping()`` is the same text on every rank, one line per rank after
  the header.

Every rank exits with status 1 if any rank found a failure.

    mpirun -np 4 python examples/python/topology_query.py
"""

import os
import sys

import numpy as np
from mpi4py import MPI

import dtl

comm = MPI.COMM_WORLD
failures: list[str] = []


def expect(cond: bool, what: str) -> None:
    """Records ``what`` as a failure unless ``cond`` holds."""
    if not cond:
        failures.append(what)


with dtl.Context(comm=comm) as ctx:  # dtl duplicates the communicator
    topo = dtl.Topology(ctx)  # collective
    hosts: list[str] = comm.allgather(MPI.Get_processor_name())  # independent of dtl
    rank, size = ctx.rank, ctx.size

    # Every rank's node id and local rank, through dtl's own allgather.
    facts = dtl.allgather(ctx, np.array([topo.node_id, topo.local_rank, topo.num_nodes], dtype=np.int64))
    node_ids, local_ranks, num_nodes = facts[:, 0], facts[:, 1], facts[:, 2]

    same_host = [r for r in range(size) if hosts[r] == hosts[rank]]
    expect(topo.hostname == hosts[rank], f"hostname {topo.hostname!r} != {hosts[rank]!r}")
    expect(topo.num_nodes == len(set(hosts)), f"num_nodes {topo.num_nodes}, {len(set(hosts))} distinct hosts")
    expect(bool(np.all(num_nodes == topo.num_nodes)), f"ranks disagree on num_nodes: {num_nodes.tolist()}")
    expect(topo.local_size == len(same_host), f"local_size {topo.local_size}, {len(same_host)} ranks on this host")
    expect(topo.local_rank == same_host.index(rank), f"local_rank {topo.local_rank}, position {same_host.index(rank)}")
    expect(sorted(int(local_ranks[r]) for r in same_host) == list(range(len(same_host))),
           f"local ranks on this node are {[int(local_ranks[r]) for r in same_host]}")
    for a in range(size):
        for b in range(size):
            expect(topo.is_local(a, b) == (hosts[a] == hosts[b]), f"is_local({a}, {b})")
            expect((node_ids[a] == node_ids[b]) == (hosts[a] == hosts[b]), f"node ids of {a}, {b}")
    firsts = sorted({hosts.index(h) for h in hosts})  # each node's lowest rank, in order
    expect([int(node_ids[f]) for f in firsts] == list(range(len(firsts))), f"node ids {node_ids.tolist()}")
    cpus = topo.cpu_affinity()
    expect(set(cpus) == os.sched_getaffinity(0), f"cpu_affinity {cpus} != {sorted(os.sched_getaffinity(0))}")
    expect(0 < len(cpus) <= topo.num_cpus, f"{len(cpus)} CPUs of num_cpus {topo.num_cpus}")
    want_gpu = topo.local_rank % topo.num_gpus if topo.num_gpus > 0 else -1
    expect(topo.gpu_id == want_gpu and topo.gpu_of(rank) == want_gpu, f"gpu_id {topo.gpu_id}, want {want_gpu}")

    text = topo.mapping()  # collective: MPI_Allgatherv
    everyone: list[str] = comm.allgather(text)
    expect(all(t == text for t in everyone), "mapping() differs between ranks")
    expect(sum(line.startswith("mpibind: task") for line in text.splitlines()) == size, "mapping() line count")

    if rank == 0:
        print(text.rstrip())
    for f in failures:
        print(f"rank {rank}: FAILED {f}", file=sys.stderr)
    print(f"rank {rank}: node {topo.node_id}/{topo.num_nodes} ({topo.hostname}), "
          f"local rank {topo.local_rank}/{topo.local_size}, cpus {cpus}, gpu {topo.gpu_id}")
    bad = dtl.allreduce(ctx, len(failures))  # collective: every rank gets the verdict
    if rank == 0:
        print(f"topology agrees with mpi4py's host names and the OS's CPU sets -> {'OK' if bad == 0 else 'WRONG'}")

sys.exit(0 if bad == 0 else 1)
