"""dtl.info(), dtl.info_text() and ``python -m dtl info``, checked against
independent sources: mpi4py (MPI.Get_library_version, Get_version,
Query_thread, COMM_WORLD), socket.gethostname, os.getpid,
os.sched_getaffinity, numpy.__version__ and dtl's own probes."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import dtl


def world():
    from mpi4py import MPI

    return MPI.COMM_WORLD


THREAD_LEVELS = ["MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"]


def test_info_fields(ctx):
    from mpi4py import MPI

    d = dtl.info(ctx)
    comm = world()
    assert d["version"] == dtl.__version__
    assert d["profile"] in ("release", "debug")
    assert "mpi" in d["components"]
    assert d["mpi_library_version"] == MPI.Get_library_version().rstrip("\x00 \t\r\n")
    assert tuple(d["mpi_version"]) == MPI.Get_version()
    assert d["thread_level_provided"] == THREAD_LEVELS[
        [MPI.THREAD_SINGLE, MPI.THREAD_FUNNELED, MPI.THREAD_SERIALIZED, MPI.THREAD_MULTIPLE].index(MPI.Query_thread())
    ]
    if d["mpi_initialized_by_dtl"]:
        assert d["thread_level_requested"] == "MPI_THREAD_MULTIPLE"
    else:
        assert d["thread_level_requested"] is None
    assert d["size"] == ctx.size == comm.size
    assert d["rank"] == ctx.rank == comm.rank
    # Nodes, independently: the distinct host names of all ranks.
    hosts = comm.allgather(MPI.Get_processor_name())
    assert d["num_nodes"] == len(set(hosts))
    assert sorted(d["node_hosts"]) == sorted(set(hosts))
    assert sum(d["ranks_per_node"]) == comm.size
    for host, n in zip(d["node_hosts"], d["ranks_per_node"]):
        assert n == hosts.count(host)
    assert 1 <= d["node_cpus"] <= os.cpu_count()
    # Per-rank lines, gathered independently with mpi4py.
    pids = comm.allgather(os.getpid())
    cpus = comm.allgather(sorted(os.sched_getaffinity(0)))
    assert [r["rank"] for r in d["ranks"]] == list(range(comm.size))
    for r in d["ranks"]:
        assert r["hostname"] == hosts[r["rank"]]
        assert r["pid"] == pids[r["rank"]]
        assert r["cpus"] == cpus[r["rank"]]
        assert 0 <= r["local_rank"] < d["ranks_per_node"][r["node"]]
        assert d["node_hosts"][r["node"]] == r["hostname"]
    mine = d["ranks"][comm.rank]
    assert mine["hostname"] == socket.gethostname() or mine["hostname"] == MPI.Get_processor_name()
    # The probes agree with the package's own functions.
    assert d["cuda_available"] == dtl.has_cuda()
    assert d["cuda_status"] == dtl.cuda_status() == mine["cuda_status"]
    assert d["nccl_available"] == dtl.has_nccl()
    assert d["nccl_status"]
    if not d["cuda_available"]:
        assert d["cuda_device_count"] == 0 and mine["gpu"] is None
    assert d["python"]["numpy"] == np.__version__
    assert d["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    import mpi4py

    assert d["python"]["mpi4py"] == mpi4py.__version__
    assert json.loads(json.dumps(d))["size"] == comm.size


def test_info_default_context_and_text(ctx):
    d = dtl.info()  # a world context of its own; collective
    assert d["size"] == ctx.size
    text = dtl.info_text(ctx)
    assert text.startswith("dtl info\n")
    assert f"  dtl                    {dtl.__version__} (" in text
    assert f"ranks                  {ctx.size} on " in text
    for r in range(ctx.size):
        assert f"    rank {r:>3}  host " in text
    assert f"pid {os.getpid()}  " in text
    assert f"Python numpy           {np.__version__}" in text


def run(args, np_=None):
    """``[mpirun -np N] python -m dtl ARGS`` with the environment the Makefile
    gives MPI jobs (none of this process's MPI variables: a plain run is an
    MPI singleton)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "ORTE_", "OPAL_"))}
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_mpi_yield_when_idle="1",
    )
    cmd = ["timeout", "-k", "10", "120"]
    if np_ is not None:
        cmd += ["mpirun", "-np", str(np_)]
    cmd += [sys.executable, "-m", "dtl", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


single = pytest.mark.skipif("world().size > 1", reason="starts processes itself; runs in the single-process pass")


@single
def test_module_info_singleton_json():
    from mpi4py import MPI

    p = run(["info", "--json"])
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["size"] == 1 and d["num_nodes"] == 1 and len(d["ranks"]) == 1
    assert d["mpi_library_version"] == MPI.Get_library_version().rstrip("\x00 \t\r\n")
    assert d["version"] == dtl.__version__
    assert d["python"]["numpy"] == np.__version__


@single
def test_module_info_mpirun_text():
    p = run(["info"], np_=2)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.count("dtl info\n") == 1  # rank 0 prints, once
    assert "ranks                  2 on 1 node(s)" in out
    assert "    rank   0  host " in out and "    rank   1  host " in out
    assert "CUDA" in out and "NCCL" in out


@single
def test_module_commands():
    p = run([])
    assert p.returncode == 2 and "info" in p.stderr
    p = run(["topology"], np_=2)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("mpibind: 2 tasks on 1 node(s)")
