"""dtl.Topology, dtl.topology and device_id="auto", checked against what the
OS and mpi4py report, gathered independently: os.sched_getaffinity,
socket.gethostname, COMM_WORLD.Split_type(COMM_TYPE_SHARED), and
/proc/self/task for every thread's CPU set."""

import os
import re
import socket
import subprocess
import sys

import pytest

import dtl

TASK_LINE = re.compile(r"^mpibind: task +(\d+) nths +(\d+) gpus (\S*) cpus (\S*)$")


def parse_cpus(text):
    """'0-3,8' -> [0, 1, 2, 3, 8] (written here, independently of dtl)."""
    out = set()
    for item in filter(None, text.split(",")):
        a, _, b = item.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return sorted(out)


def world():
    from mpi4py import MPI

    return MPI.COMM_WORLD


def thread_ids():
    return [int(t) for t in os.listdir("/proc/self/task")]


def threads_affinity():
    """{tid: set} of every live thread of this process."""
    out = {}
    for tid in thread_ids():
        try:
            out[tid] = os.sched_getaffinity(tid)
        except ProcessLookupError:  # exited meanwhile
            pass
    return out


def restore_threads(saved):
    for tid, cpus in saved.items():
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            pass
    # Threads started since inherit from their creator; set them too.
    for tid in thread_ids():
        if tid not in saved:
            try:
                os.sched_setaffinity(tid, saved[os.getpid()])
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def topo(ctx):
    return dtl.Topology(ctx)


def node_model(hosts):
    """(node id per rank in order of first appearance, local rank per rank)."""
    names = list(dict.fromkeys(hosts))
    node_of = [names.index(h) for h in hosts]
    local = [sum(1 for s in range(r) if node_of[s] == node_of[r]) for r in range(len(hosts))]
    return node_of, local


def test_node_discovery(ctx, topo):
    from mpi4py import MPI

    comm = world()
    shared = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.rank)
    try:
        assert topo.local_rank == shared.rank
        assert topo.local_size == shared.size
    finally:
        shared.Free()
    hosts = comm.allgather(socket.gethostname())
    node_of, local = node_model(hosts)
    assert topo.num_nodes == len(set(hosts))
    assert topo.node_id == node_of[ctx.rank]
    assert topo.local_rank == local[ctx.rank]
    assert topo.hostname == MPI.Get_processor_name()
    assert socket.gethostname().split(".")[0] == topo.hostname.split(".")[0]
    for a in range(ctx.size):
        for b in range(ctx.size):
            assert topo.is_local(a, b) == (hosts[a] == hosts[b]), (a, b)
    assert topo.is_local(ctx.rank, ctx.rank) is True
    r = repr(topo)
    assert r.startswith("<dtl.Topology ") and f"local_rank={topo.local_rank}/{topo.local_size}" in r


def test_cpus(ctx, topo):
    mine = os.sched_getaffinity(0)
    assert topo.cpu_affinity() == sorted(mine)
    sets = world().allgather(mine)
    hosts = world().allgather(socket.gethostname())
    union = set().union(*(s for s, h in zip(sets, hosts) if h == hosts[ctx.rank]))
    assert topo.num_cpus == len(union)
    assert isinstance(topo.num_cpus, int) and topo.num_cpus >= 1


def test_gpus(ctx, topo):
    if not dtl.has_cuda():
        assert topo.num_gpus == 0
        assert topo.gpu_id == -1
        assert [topo.gpu_of(r) for r in range(ctx.size)] == [-1] * ctx.size
    else:
        assert topo.num_gpus >= 1
        assert topo.gpu_id == topo.local_rank % topo.num_gpus
        counts = world().allgather(topo.num_gpus)
        _, local = node_model(world().allgather(socket.gethostname()))
        for r in range(ctx.size):
            assert topo.gpu_of(r) == (local[r] % counts[r] if counts[r] else -1)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda t, n: t.is_local(-1, 0), "a"),
        (lambda t, n: t.is_local(0, n), "b"),
        (lambda t, n: t.is_local(n + 3, 0), "a"),
        (lambda t, n: t.gpu_of(n), "rank"),
        (lambda t, n: t.gpu_of(-1), "rank"),
    ],
)
def test_bad_ranks(ctx, topo, call, name):
    with pytest.raises(dtl.BoundsError) as e:
        call(topo, ctx.size)
    msg = str(e.value)
    assert f"{name} must be a rank in 0..{ctx.size}" in msg and "DTL_ERROR_BOUNDS" in msg
    assert isinstance(e.value, IndexError)


def test_bad_rank_on_one_rank_only(ctx, topo):
    # Local calls: a failure on rank 0 does not involve the others.
    if ctx.rank == 0:
        with pytest.raises(dtl.BoundsError):
            topo.is_local(0, ctx.size)
    ctx.barrier()


def test_mapping(ctx, topo):
    text = topo.mapping()
    assert world().allgather(text) == [text] * ctx.size
    lines = text.splitlines()
    assert len(lines) == ctx.size + 1
    hosts = world().allgather(socket.gethostname())
    n_nodes = len(set(hosts))
    assert lines[0].startswith(f"mpibind: {ctx.size} tasks on {n_nodes} node(s), ")
    assert topo.hostname in lines[0]
    sets = world().allgather(sorted(os.sched_getaffinity(0)))
    gpus = world().allgather(topo.gpu_id)
    for r, line in enumerate(lines[1:]):
        assert line.startswith(f"mpibind: task {r:2d} nths "), line
        m = TASK_LINE.match(line)
        assert m, line
        task, nths, g, cpus = int(m[1]), int(m[2]), m[3], parse_cpus(m[4])
        assert task == r
        assert cpus == sets[r]
        assert nths == len(sets[r])
        assert g == ("" if gpus[r] < 0 else str(gpus[r]))


def test_bind_then_restore(ctx, topo):
    saved = threads_affinity()
    before = os.sched_getaffinity(0)
    try:
        sets = world().allgather(before)
        hosts = world().allgather(socket.gethostname())
        node = [r for r in range(ctx.size) if hosts[r] == hosts[ctx.rank]]
        union = sorted(set().union(*(sets[r] for r in node)))
        got = topo.bind()
        assert got == sorted(os.sched_getaffinity(0))
        # Every thread of the process carries the new set.
        for tid, cpus in threads_affinity().items():
            assert sorted(cpus) == got, tid
        after = world().allgather(got)
        mine = [after[r] for r in node]
        ls, lr = len(node), node.index(ctx.rank)
        assert lr == topo.local_rank and ls == topo.local_size
        assert sorted(set().union(*map(set, mine))) == union
        if len(union) >= ls:
            # Pairwise disjoint, contiguous blocks in local rank order,
            # sizes floor/ceil with the larger ones first.
            for i in range(ls):
                for j in range(i + 1, ls):
                    assert not set(mine[i]) & set(mine[j]), (i, j, mine)
            assert sum(mine, []) == union
            q, rem = divmod(len(union), ls)
            assert [len(s) for s in mine] == [q + (1 if i < rem else 0) for i in range(ls)]
        else:
            assert mine == [[union[i % len(union)]] for i in range(ls)]
        # Again: the union is unchanged, so is the result.
        assert topo.bind() == got
    finally:
        restore_threads(saved)
    assert os.sched_getaffinity(0) == before
    assert topo.cpu_affinity() == sorted(before)
    ctx.barrier()


def test_context_auto(ctx, topo):
    c = dtl.Context(device_id="auto")
    assert c.size == ctx.size and c.rank == ctx.rank
    if not dtl.has_cuda():
        assert c.device_id == -1 and c.has_device is False
    else:
        assert c.device_id == topo.gpu_id
    with dtl.Environment() as env:
        w = env.make_world_context(device_id="auto")
        assert w.device_id == c.device_id
    # The ints and None still work as before.
    assert dtl.Context(device_id=None).device_id == -1
    assert dtl.Context(device_id=-1).device_id == -1
    assert dtl.Context(device_id=0).device_id == 0


@pytest.mark.parametrize("bad", ["gpu", "AUTO", "", "0", "cuda:0"])
def test_bad_device_id_strings(bad):
    with pytest.raises(dtl.InvalidArgumentError) as e:
        dtl.Context(device_id=bad)
    msg = str(e.value)
    assert "device_id must be" in msg and '"auto"' in msg and f'"{bad}"' in msg
    with dtl.Environment() as env:
        with pytest.raises(dtl.InvalidArgumentError, match="device_id"):
            env.make_world_context(device_id=bad)


@pytest.mark.parametrize("bad", [-2, 1.5, [0]])
def test_bad_device_id_values(bad):
    with pytest.raises(dtl.InvalidArgumentError, match="device_id must be"):
        dtl.Context(device_id=bad)


def test_topology_module(ctx, topo):
    import dtl.topology as t

    assert t.Topology is dtl.Topology
    q = t.query(ctx)
    assert (q.local_rank, q.local_size, q.node_id, q.num_nodes, q.num_cpus, q.gpu_id) == (
        topo.local_rank,
        topo.local_size,
        topo.node_id,
        topo.num_nodes,
        topo.num_cpus,
        topo.gpu_id,
    )
    q2 = dtl.topology.query()  # a world context of its own; collective
    assert q2.local_size == topo.local_size
    with pytest.raises(TypeError):
        dtl.Topology(None)


def run_module(args):
    """``mpirun -np 2 python -m dtl.topology ARGS`` with the environment the
    Makefile gives MPI jobs (and none of this process's MPI variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "ORTE_", "OPAL_"))}
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_mpi_yield_when_idle="1",
    )
    cmd = ["timeout", "-k", "10", "120", "mpirun", "-np", "2", sys.executable, "-W", "error::RuntimeWarning"]
    cmd += ["-m", "dtl.topology", *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def parse_run(lines):
    host = socket.gethostname().split(".")[0]
    assert len(lines) == 3, lines
    assert lines[0].startswith("mpibind: 2 tasks on 1 node(s), 1 host(s): node 0 "), lines[0]
    assert lines[0].endswith("(tasks 0-1)") and host in lines[0]
    out = []
    for r, line in enumerate(lines[1:]):
        m = TASK_LINE.match(line)
        assert m, line
        assert int(m[1]) == r
        cpus = parse_cpus(m[4])
        assert int(m[2]) == len(cpus) >= 1
        assert set(cpus) <= set(range(os.cpu_count()))
        if not dtl.has_cuda():
            assert m[3] == ""
        out.append(cpus)
    return out


@pytest.mark.skipif("world().size > 1", reason="starts mpirun itself; runs in the single-process pass")
def test_python_m_dtl_topology():
    plain = parse_run(run_module([]))
    bound = parse_run(run_module(["--bind"]))
    union = sorted(set(plain[0]) | set(plain[1]))
    # Open MPI starts both ranks the same way each time, so the node's CPUs
    # are the same in both runs; --bind splits them.
    assert sorted(set(bound[0]) | set(bound[1])) == union
    if len(union) >= 2:
        assert not set(bound[0]) & set(bound[1])
        assert bound[0] + bound[1] == union
    else:
        assert bound == [union, union]
