//! Multi-rank test suite of `dtl_gpu::topology` (and the `NodeMap` of
//! `dtl_core::topology` under it), checked against what the OS reports,
//! gathered independently: the kernel's host name
//! (`/proc/sys/kernel/hostname`), each thread's `Cpus_allowed_list` in
//! `/proc/self/task/*/status` (parsed here, not with dtl's parser), and
//! models of the block split written out in the tests.
//!
//! Uses dtl-core's sequential runner (`dtl-core/tests/common`): every test
//! runs in the same order on every rank and the ranks agree on the verdict.
//!
//! ```text
//! cargo test --release -p dtl-gpu --test mpi_topology \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','3']"
//! ```

#[macro_use]
#[path = "../../dtl-core/tests/common/mod.rs"]
mod common;

use common::Suite;
use dtl_core::topology::{affinity, NodeMap};
use dtl_core::{Context, Error};
use dtl_gpu::topology::{auto_device, default_gpu, with_auto_device, Topology};

fn main() {
    common::run(|_, _| all_tests(), |_| {});
}

fn all_tests() -> Suite {
    let mut s = Suite::new();
    s.add("nodemap::matches_hostnames", t_nodemap_hosts);
    s.add("nodemap::node_context", t_node_context);
    s.add("nodemap::sub_context", t_sub_context);
    s.add("nodemap::bad_ranks", t_nodemap_bad_ranks);
    s.add("topology::cpus_and_affinity", t_cpus);
    s.add("topology::gpus_default_mapping", t_gpus);
    s.add("topology::bad_ranks", t_topology_bad_ranks);
    s.add("topology::mapping_text", t_mapping);
    s.add("topology::bind_then_restore", t_bind);
    s.add("topology::auto_device", t_auto_device);
    s
}

// ------------------------------------------------------------------ independent facts

/// The kernel's host name (what `gethostname` returns).
fn kernel_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").expect("read /proc/sys/kernel/hostname").trim().to_string()
}

/// A `Cpus_allowed_list` value (`0-3,8`), parsed without dtl's parser.
fn parse_list(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for item in s.trim().split(',').filter(|x| !x.is_empty()) {
        let mut ends = item.splitn(2, '-').map(|x| x.parse::<usize>().expect("cpu id"));
        let a = ends.next().unwrap();
        let b = ends.next().unwrap_or(a);
        out.extend(a..=b);
    }
    out
}

fn allowed_in(status_path: &str) -> Option<Vec<usize>> {
    let text = std::fs::read_to_string(status_path).ok()?;
    let line = text.lines().find(|l| l.starts_with("Cpus_allowed_list:"))?;
    Some(parse_list(&line["Cpus_allowed_list:".len()..]))
}

/// The calling thread's CPU set, from /proc.
fn thread_cpus() -> Vec<usize> {
    allowed_in("/proc/thread-self/status").expect("Cpus_allowed_list of this thread")
}

/// Every live thread's CPU set, from /proc.
fn all_thread_cpus() -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").expect("list /proc/self/task") {
        let p = e.unwrap().path().join("status");
        if let Some(set) = allowed_in(p.to_str().unwrap()) {
            out.push(set);
        }
    }
    out
}

/// Every rank's string, gathered on every rank.
fn allgather_str(ctx: &Context, s: &str) -> Vec<String> {
    let (bytes, counts) = ctx.allgatherv(s.as_bytes()).unwrap();
    let mut at = 0;
    counts
        .into_iter()
        .map(|c| {
            let x = String::from_utf8(bytes[at..at + c].to_vec()).unwrap();
            at += c;
            x
        })
        .collect()
}

/// Every rank's list, gathered on every rank.
fn allgather_list(ctx: &Context, v: &[usize]) -> Vec<Vec<usize>> {
    let send: Vec<u64> = v.iter().map(|&x| x as u64).collect();
    let (all, counts) = ctx.allgatherv(&send).unwrap();
    let mut at = 0;
    counts
        .into_iter()
        .map(|c| {
            let x = all[at..at + c].iter().map(|&y| y as usize).collect();
            at += c;
            x
        })
        .collect()
}

/// The model node map from gathered host names: nodes in order of first
/// appearance, local ranks by rank order.
struct Model {
    node_of: Vec<usize>,
    local_rank_of: Vec<usize>,
    node_sizes: Vec<usize>,
}

fn model(hosts: &[String]) -> Model {
    let mut names: Vec<&String> = Vec::new();
    let mut node_of = Vec::new();
    for h in hosts {
        let n = names.iter().position(|x| *x == h).unwrap_or_else(|| {
            names.push(h);
            names.len() - 1
        });
        node_of.push(n);
    }
    let local_rank_of = (0..hosts.len()).map(|r| (0..r).filter(|&s| node_of[s] == node_of[r]).count()).collect();
    let node_sizes = (0..names.len()).map(|n| node_of.iter().filter(|&&x| x == n).count()).collect();
    Model { node_of, local_rank_of, node_sizes }
}

// ------------------------------------------------------------------ tests

fn t_nodemap_hosts(ctx: &Context) {
    let nodes = NodeMap::new(ctx).unwrap();
    let host = kernel_hostname();
    let m = model(&allgather_str(ctx, &host));
    let me = ctx.rank();
    check_eq!(nodes.size(), ctx.size(), "size");
    check_eq!(nodes.num_nodes(), m.node_sizes.len(), "num_nodes");
    check_eq!(nodes.node_id(), m.node_of[me], "node_id");
    check_eq!(nodes.local_rank(), m.local_rank_of[me], "local_rank");
    check_eq!(nodes.local_size(), m.node_sizes[m.node_of[me]], "local_size");
    // Open MPI's processor name is the host name, possibly without its domain.
    let short = host.split('.').next().unwrap_or("");
    check!(nodes.hostname() == host || nodes.hostname() == short, "hostname {:?} vs kernel {host:?}", nodes.hostname());
    for a in 0..ctx.size() {
        check_eq!(nodes.node_of(a).unwrap(), m.node_of[a], "node_of({a})");
        check_eq!(nodes.local_rank_of(a).unwrap(), m.local_rank_of[a], "local_rank_of({a})");
        for b in 0..ctx.size() {
            check_eq!(nodes.is_local(a, b).unwrap(), m.node_of[a] == m.node_of[b], "is_local({a}, {b})");
        }
    }
    for n in 0..m.node_sizes.len() {
        let want: Vec<usize> = (0..ctx.size()).filter(|&r| m.node_of[r] == n).collect();
        check_eq!(nodes.ranks_on(n).unwrap(), want, "ranks_on({n})");
    }
}

fn t_node_context(ctx: &Context) {
    let nodes = NodeMap::new(ctx).unwrap();
    let node = nodes.node_context();
    check_eq!(node.rank(), nodes.local_rank(), "node context rank");
    check_eq!(node.size(), nodes.local_size(), "node context size");
    // Its members, in its rank order, are this node's context ranks ascending.
    let members: Vec<u64> = node.allgather(&[ctx.rank() as u64]).unwrap();
    let want: Vec<u64> = nodes.ranks_on(nodes.node_id()).unwrap().into_iter().map(|r| r as u64).collect();
    check_eq!(members, want, "node members");
    let shared = ctx.split_shared().unwrap();
    check_eq!(shared.size(), nodes.local_size(), "split_shared size");
    check_eq!(shared.rank(), nodes.local_rank(), "split_shared rank");
}

/// On a sub-context the map speaks of the sub-context's ranks.
fn t_sub_context(ctx: &Context) {
    let (me, p) = (ctx.rank(), ctx.size());
    // Reverse order inside each parity half.
    let sub = ctx.split(Some((me % 2) as i32), (p - me) as i32).unwrap().unwrap();
    let nodes = NodeMap::new(&sub).unwrap();
    let m = model(&allgather_str(&sub, &kernel_hostname()));
    check_eq!(nodes.size(), sub.size(), "sub size");
    check_eq!(nodes.local_rank(), m.local_rank_of[sub.rank()], "sub local_rank");
    check_eq!(nodes.local_size(), m.node_sizes[m.node_of[sub.rank()]], "sub local_size");
    let topo = Topology::new(&sub).unwrap();
    let text = topo.mapping().unwrap();
    check_eq!(text.lines().count(), sub.size() + 1, "sub mapping lines");
}

fn bounds_names(r: Result<impl std::fmt::Debug, Error>, what: &str, size: usize) {
    match r {
        Err(Error::Bounds(m)) => {
            check!(m.contains(what) && m.contains(&format!("0..{size}")), "message {m:?} names {what} and 0..{size}")
        }
        other => common::fail(format!("{what}: expected Err(Bounds), got {other:?}")),
    }
}

fn t_nodemap_bad_ranks(ctx: &Context) {
    let nodes = NodeMap::new(ctx).unwrap();
    let p = ctx.size();
    bounds_names(nodes.is_local(p, 0), "a must be a rank", p);
    bounds_names(nodes.is_local(0, p), "b must be a rank", p);
    bounds_names(nodes.is_local(usize::MAX, 0), "a must be a rank", p);
    bounds_names(nodes.node_of(p), "rank", p);
    bounds_names(nodes.local_rank_of(p + 5), "rank", p);
    let nn = nodes.num_nodes();
    bounds_names(nodes.ranks_on(nn), "node", nn);
    bounds_names(dtl_core::topology::rank_arg(-1, p, "a"), "a must be a rank", p);
    // Not collective: a bad call on one rank only does not disturb the others.
    if ctx.rank() == 0 {
        bounds_names(nodes.is_local(0, p + 1), "b", p);
    }
    ctx.barrier().unwrap();
}

fn t_cpus(ctx: &Context) {
    let topo = Topology::new(ctx).unwrap();
    let mine = thread_cpus();
    check_eq!(topo.cpu_affinity().unwrap(), mine, "cpu_affinity vs /proc/thread-self");
    check_eq!(affinity::get().unwrap(), mine, "affinity::get vs /proc/thread-self");
    let sets = allgather_list(ctx, &mine);
    let hosts = allgather_str(ctx, &kernel_hostname());
    let m = model(&hosts);
    let mut u: Vec<usize> =
        (0..ctx.size()).filter(|&r| m.node_of[r] == m.node_of[ctx.rank()]).flat_map(|r| sets[r].clone()).collect();
    u.sort_unstable();
    u.dedup();
    check_eq!(topo.num_cpus(), u.len(), "num_cpus = |union of the node's sets|");
    check!(topo.num_cpus() >= 1, "num_cpus >= 1");
    let text = format!("{topo}");
    check!(text.contains(&format!("cpus {}", u.len())), "Display {text}");
}

fn t_gpus(ctx: &Context) {
    let topo = Topology::new(ctx).unwrap();
    let g = dtl_gpu::device_count();
    check_eq!(topo.num_gpus(), g, "num_gpus = device_count");
    check_eq!(g > 0, dtl_gpu::has_cuda(), "device_count > 0 iff has_cuda");
    let want = if g == 0 { None } else { Some((topo.local_rank() % g) as i32) };
    check_eq!(topo.gpu_id(), want, "gpu_id");
    let counts: Vec<u64> = ctx.allgather(&[g as u64]).unwrap();
    let m = model(&allgather_str(ctx, &kernel_hostname()));
    for (r, &c) in counts.iter().enumerate() {
        let c = c as usize;
        let want = if c == 0 { None } else { Some((m.local_rank_of[r] % c) as i32) };
        check_eq!(topo.gpu_of(r).unwrap(), want, "gpu_of({r})");
    }
    check_eq!(default_gpu(3, 2), Some(1), "default_gpu");
}

fn t_topology_bad_ranks(ctx: &Context) {
    let topo = Topology::new(ctx).unwrap();
    let p = ctx.size();
    bounds_names(topo.is_local(p, 0), "a must be a rank", p);
    bounds_names(topo.is_local(0, p), "b must be a rank", p);
    bounds_names(topo.gpu_of(p), "rank", p);
}

/// One parsed `mpibind: task ...` line: (task, nths, gpus, cpus).
fn parse_task_line(line: &str) -> Option<(usize, usize, Vec<i32>, Vec<usize>)> {
    let rest = line.strip_prefix("mpibind: task ")?;
    let (task, rest) = rest.trim_start().split_once(" nths ")?;
    let (nths, rest) = rest.trim_start().split_once(" gpus ")?;
    let (gpus, cpus) = rest.split_once(" cpus ")?;
    let gpus = gpus.split(',').filter(|x| !x.is_empty()).map(|x| x.parse().ok()).collect::<Option<Vec<i32>>>()?;
    Some((task.parse().ok()?, nths.parse().ok()?, gpus, parse_list(cpus)))
}

fn t_mapping(ctx: &Context) {
    let topo = Topology::new(ctx).unwrap();
    let text = topo.mapping().unwrap();
    let sets = allgather_list(ctx, &thread_cpus());
    // The same text on every rank.
    let all = allgather_str(ctx, &text);
    check!(all.iter().all(|t| *t == text), "mapping differs across ranks");
    let lines: Vec<&str> = text.lines().collect();
    check_eq!(lines.len(), ctx.size() + 1, "header + one line per task");
    let m = model(&allgather_str(ctx, &kernel_hostname()));
    let header = format!("mpibind: {} tasks on {} node(s), ", ctx.size(), m.node_sizes.len());
    check!(lines[0].starts_with(&header), "header {:?} starts with {header:?}", lines[0]);
    check!(lines[0].contains(topo.hostname()), "header names the host");
    let counts: Vec<u64> = ctx.allgather(&[dtl_gpu::device_count() as u64]).unwrap();
    for (r, line) in lines.iter().skip(1).enumerate() {
        // Fixed widths, as mpibind prints them.
        check!(line.starts_with(&format!("mpibind: task {r:2} nths ")), "line {line:?}");
        match parse_task_line(line) {
            Some((task, nths, gpus, cpus)) => {
                check_eq!(task, r, "task");
                check_eq!(cpus, sets[r], "cpus of task {r}");
                check_eq!(nths, sets[r].len(), "nths of task {r}");
                let c = counts[r] as usize;
                let want: Vec<i32> = if c == 0 { vec![] } else { vec![(m.local_rank_of[r] % c) as i32] };
                check_eq!(gpus, want, "gpus of task {r}");
            }
            None => common::fail(format!("unparsable line {line:?}")),
        }
    }
    let pl = topo.placements().unwrap();
    check_eq!(pl.len(), ctx.size(), "placements");
    check!(pl.iter().enumerate().all(|(r, t)| t.rank == r && t.cpus == sets[r]), "placements agree with /proc");
}

fn t_bind(ctx: &Context) {
    let topo = Topology::new(ctx).unwrap();
    let before = thread_cpus();
    let before_all = all_thread_cpus();
    let sets_before = allgather_list(ctx, &before);
    let m = model(&allgather_str(ctx, &kernel_hostname()));
    let me = ctx.rank();
    let node: Vec<usize> = (0..ctx.size()).filter(|&r| m.node_of[r] == m.node_of[me]).collect();
    let mut u: Vec<usize> = node.iter().flat_map(|&r| sets_before[r].clone()).collect();
    u.sort_unstable();
    u.dedup();

    let got = topo.bind().unwrap();
    let now = thread_cpus();
    check_eq!(got, now, "bind's result is the thread's new set (/proc)");
    // Every thread of the process carries the new set.
    for set in all_thread_cpus() {
        check_eq!(set, now, "a thread's set after bind");
    }
    let after = allgather_list(ctx, &now);
    let (l, ls) = (m.local_rank_of[me], node.len());
    // The model: |U| >= ls gives floor/ceil contiguous blocks; else U[l % |U|].
    let want: Vec<usize> = if u.len() >= ls {
        let (q, rem) = (u.len() / ls, u.len() % ls);
        let start = l * q + l.min(rem);
        u[start..start + q + usize::from(l < rem)].to_vec()
    } else {
        vec![u[l % u.len()]]
    };
    check_eq!(now, want, "bound set of local rank {l} of {ls}, U = {u:?}");
    let mut union: Vec<usize> = node.iter().flat_map(|&r| after[r].clone()).collect();
    let total = union.len();
    union.sort_unstable();
    union.dedup();
    check_eq!(union, u, "union after bind = union before");
    if u.len() >= ls {
        check_eq!(total, union.len(), "pairwise disjoint sets across local ranks");
    }
    // Binding again is idempotent (the union is unchanged).
    check_eq!(topo.bind().unwrap(), want, "second bind");
    check_eq!(topo.num_cpus(), u.len(), "num_cpus");

    // Restore every thread, and check.
    affinity::set(&before).unwrap();
    check_eq!(thread_cpus(), before, "restored");
    check!(all_thread_cpus().iter().all(|s| *s == before), "every thread restored");
    check!(before_all.contains(&before), "the main thread was among the threads listed");
}

fn t_auto_device(ctx: &Context) {
    let topo = Topology::new(ctx).unwrap();
    let auto = auto_device(ctx).unwrap();
    check_eq!(auto, topo.gpu_id(), "auto_device = default mapping");
    let actx = with_auto_device(ctx).unwrap();
    check_eq!(actx.device_id(), topo.gpu_id(), "with_auto_device's device");
    check_eq!(actx.size(), ctx.size(), "same ranks");
    if !dtl_gpu::has_cuda() {
        check_eq!(auto, None, "no device without CUDA");
    }
}
