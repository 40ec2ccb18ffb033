//! Where the ranks of a context run, and which GPU each one uses.
//!
//! [`Topology`] is built once, collectively, over a [`Context`]: the node
//! map of [`dtl_core::topology::NodeMap`] (`MPI_Comm_split_type`,
//! `MPI_Allgather`), the CPUs usable by the job on this node (the union of
//! the node's ranks' affinity sets), and the CUDA devices each rank sees
//! ([`crate::device_count`]; 0 without CUDA). On top of it:
//!
//! - the **default rank→GPU mapping**: local rank `l` of a node whose ranks
//!   see `g > 0` devices uses device `l mod g` ([`default_gpu`]); without a
//!   device, none. [`auto_device`] / [`with_auto_device`] give a context that
//!   mapping's device (`device_id = "auto"` in Python);
//! - [`Topology::bind`]: dtl's CPU binding, mpibind's idea in its simplest
//!   form — the node's CPUs split into `local_size` contiguous blocks
//!   ([`dtl_core::topology::split_cpus`]), applied with `sched_setaffinity`;
//! - [`Topology::mapping`]: every rank's CPUs and GPUs, printed as mpibind's
//!   `mapping_print` does (`mpibind: task  0 nths  2 gpus 0 cpus 0-1`).
//!
//! Run under MPI, e.g. `mpirun -np 4`:
//!
//! ```
//! use dtl_core::Context;
//! use dtl_gpu::Topology;
//! let ctx = Context::world()?;
//! let topo = Topology::new(&ctx)?;          // collective
//! let map = topo.mapping()?;                // collective; the same text on every rank
//! if ctx.is_root() {
//!     print!("{map}");
//! }
//! println!("rank {} -> GPU {:?}", ctx.rank(), topo.gpu_id());
//! # Ok::<(), dtl_core::Error>(())
//! ```

use dtl_core::topology::{affinity, cpu_list, union_of, NodeMap};
use dtl_core::{Context, Result};

/// The default GPU of a rank: `local_rank mod num_gpus`, or `None` when the
/// rank sees no device. Pure.
pub fn default_gpu(local_rank: usize, num_gpus: usize) -> Option<i32> {
    if num_gpus == 0 {
        return None;
    }
    i32::try_from(local_rank % num_gpus).ok()
}

/// The device of the default mapping for this rank of `ctx`
/// ([`default_gpu`] of its local rank and [`crate::device_count`]), `None`
/// when this rank sees no CUDA device. **Collective** over `ctx` (it builds a
/// [`NodeMap`]: `MPI_Comm_split_type`, `MPI_Allgather`).
///
/// # Errors
/// As [`NodeMap::new`].
pub fn auto_device(ctx: &Context) -> Result<Option<i32>> {
    let nodes = NodeMap::new(ctx)?;
    Ok(default_gpu(nodes.local_rank(), crate::device_count()))
}

/// `ctx` bound to the device of the default mapping ([`auto_device`]), or
/// `ctx` itself (CPU only) when this rank sees no device. **Collective**
/// over `ctx`; every rank must call it.
///
/// # Errors
/// As [`auto_device`].
pub fn with_auto_device(ctx: &Context) -> Result<Context> {
    match auto_device(ctx)? {
        Some(d) => ctx.with_device(d),
        None => Ok(ctx.clone()),
    }
}

/// One rank's placement, as [`Topology::placements`] gathers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlacement {
    /// The rank in the context.
    pub rank: usize,
    /// Its node, `0..num_nodes`.
    pub node: usize,
    /// Its node's name (`MPI_Get_processor_name`).
    pub hostname: String,
    /// Its CPU set at the time of the gather, sorted.
    pub cpus: Vec<usize>,
    /// The GPUs it uses under the default mapping (empty without one).
    pub gpus: Vec<i32>,
}

/// The mapping text of `tasks` (in rank order): a header line
/// `mpibind: T tasks on N node(s), H host(s): node 0 NAME (tasks 0-3); …`
/// then one line per task in the format of mpibind's `mapping_print`,
/// `mpibind: task %2d nths %2d gpus %s cpus %s` — `nths` the number of CPUs
/// in the task's set, `gpus` a comma list (empty without a GPU), `cpus` the
/// compressed list ([`cpu_list`]). Every line ends with `\n`. Pure.
pub fn format_mapping(tasks: &[TaskPlacement]) -> String {
    let num_nodes = tasks.iter().map(|t| t.node + 1).max().unwrap_or(0);
    let mut hosts: Vec<&str> = tasks.iter().map(|t| t.hostname.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let nodes: Vec<String> = (0..num_nodes)
        .map(|n| {
            let on: Vec<usize> = tasks.iter().filter(|t| t.node == n).map(|t| t.rank).collect();
            let host = tasks.iter().find(|t| t.node == n).map_or("", |t| t.hostname.as_str());
            format!("node {n} {host} (tasks {})", cpu_list(&on))
        })
        .collect();
    let mut out = format!(
        "mpibind: {} tasks on {} node(s), {} host(s): {}\n",
        tasks.len(),
        num_nodes,
        hosts.len(),
        nodes.join("; ")
    );
    for t in tasks {
        let gpus: Vec<String> = t.gpus.iter().map(|g| g.to_string()).collect();
        out.push_str(&format!(
            "mpibind: task {:2} nths {:2} gpus {} cpus {}\n",
            t.rank,
            t.cpus.len(),
            gpus.join(","),
            cpu_list(&t.cpus)
        ));
    }
    out
}

/// Nodes, CPUs and GPUs of the ranks of a context. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Topology {
    ctx: Context,
    nodes: NodeMap,
    num_cpus: usize,
    gpus_of: Vec<usize>,
}

impl Topology {
    /// Discovers the topology of `ctx`. **Collective** over `ctx`: a
    /// [`NodeMap`] (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`,
    /// `MPI_Allgather` of node ids), an `MPI_Allgatherv` of the CPU sets
    /// over each node (`sched_getaffinity`), and an `MPI_Allgather` of each
    /// rank's CUDA device count (never fails without CUDA: the count is 0).
    ///
    /// # Errors
    /// As [`NodeMap::new`] and [`NodeMap::node_affinities`].
    pub fn new(ctx: &Context) -> Result<Topology> {
        let nodes = NodeMap::new(ctx)?;
        let sets = nodes.node_affinities()?;
        let num_cpus = union_of(sets.iter().map(|s| s.as_slice())).len();
        let gpus_of = ctx.allgather(&[crate::device_count() as u64])?;
        let gpus_of = gpus_of.into_iter().map(|g| g as usize).collect();
        Ok(Topology { ctx: ctx.clone(), nodes, num_cpus, gpus_of })
    }

    /// The node map underneath.
    pub fn node_map(&self) -> &NodeMap {
        &self.nodes
    }

    /// Number of CPUs on this node usable by the job: the size of the union
    /// of the CPU sets the node's ranks had at construction.
    pub fn num_cpus(&self) -> usize {
        self.num_cpus
    }

    /// Number of CUDA devices this rank sees ([`crate::device_count`]; 0
    /// without CUDA).
    pub fn num_gpus(&self) -> usize {
        self.gpus_of[self.ctx.rank()]
    }

    /// This rank's node, `0..num_nodes` (numbered by lowest context rank).
    pub fn node_id(&self) -> usize {
        self.nodes.node_id()
    }

    /// Number of nodes the context spans.
    pub fn num_nodes(&self) -> usize {
        self.nodes.num_nodes()
    }

    /// This rank's rank among the context's ranks on its node.
    pub fn local_rank(&self) -> usize {
        self.nodes.local_rank()
    }

    /// Number of the context's ranks on this node.
    pub fn local_size(&self) -> usize {
        self.nodes.local_size()
    }

    /// This node's name (`MPI_Get_processor_name`).
    pub fn hostname(&self) -> &str {
        self.nodes.hostname()
    }

    /// True if context ranks `a` and `b` share a node. Not collective.
    ///
    /// # Errors
    /// [`dtl_core::Error::Bounds`] naming `a` or `b` and the range `0..size`.
    pub fn is_local(&self, a: usize, b: usize) -> Result<bool> {
        self.nodes.is_local(a, b)
    }

    /// This rank's current CPU set, sorted (`sched_getaffinity(0)`: the
    /// calling thread). Not collective.
    ///
    /// # Errors
    /// [`dtl_core::Error::Backend`] if the system call fails.
    pub fn cpu_affinity(&self) -> Result<Vec<usize>> {
        affinity::get()
    }

    /// This rank's GPU under the default mapping (`local_rank mod
    /// num_gpus`), `None` without a device. Not collective.
    pub fn gpu_id(&self) -> Option<i32> {
        default_gpu(self.local_rank(), self.num_gpus())
    }

    /// The GPU of context rank `rank` under the default mapping, computed
    /// from its local rank and the device count it reported. Not
    /// collective.
    ///
    /// # Errors
    /// [`dtl_core::Error::Bounds`] if `rank >= size`.
    pub fn gpu_of(&self, rank: usize) -> Result<Option<i32>> {
        let l = self.nodes.local_rank_of(rank)?;
        Ok(default_gpu(l, self.gpus_of[rank]))
    }

    /// Binds this rank's process to its share of the node's CPUs and
    /// returns the new set, sorted: the union `U` of the node's ranks'
    /// current sets is cut by [`split_cpus`](dtl_core::topology::split_cpus)`(U, local_size, local_rank)` —
    /// contiguous blocks by the Block partition rule, or the single CPU
    /// `U[local_rank mod |U|]` when `U` has fewer CPUs than local ranks —
    /// and applied with `sched_setaffinity` to every thread of the process.
    /// **Collective over the node** (`MPI_Allgatherv` on the node
    /// communicator); every rank of the context calling it is the usual use.
    ///
    /// # Errors
    /// As [`NodeMap::bind`].
    pub fn bind(&self) -> Result<Vec<usize>> {
        self.nodes.bind()
    }

    /// Every rank's placement now — its CPU set at the call, its node and
    /// host, its default GPU — in rank order, on every rank. **Collective**
    /// over the context (`MPI_Allgatherv` of the CPU sets and of the host
    /// names).
    ///
    /// # Errors
    /// [`dtl_core::Error::Backend`] if `sched_getaffinity` fails on a rank (every rank
    /// gets an error).
    pub fn placements(&self) -> Result<Vec<TaskPlacement>> {
        let mine = affinity::get();
        self.ctx.agree_or_reject("Topology::placements", &[], mine.as_ref().err().cloned())?;
        let mine: Vec<u64> = mine?.into_iter().map(|c| c as u64).collect();
        let (cpus, cpu_counts) = self.ctx.allgatherv(&mine)?;
        let (names, name_counts) = self.ctx.allgatherv(self.hostname().as_bytes())?;
        let (mut at_c, mut at_n) = (0, 0);
        let mut out = Vec::with_capacity(self.ctx.size());
        for rank in 0..self.ctx.size() {
            let (nc, nn) = (cpu_counts[rank], name_counts[rank]);
            let set = cpus[at_c..at_c + nc].iter().map(|&c| c as usize).collect();
            let hostname = String::from_utf8_lossy(&names[at_n..at_n + nn]).into_owned();
            at_c += nc;
            at_n += nn;
            out.push(TaskPlacement {
                rank,
                node: self.nodes.node_of(rank)?,
                hostname,
                cpus: set,
                gpus: self.gpu_of(rank)?.into_iter().collect(),
            });
        }
        Ok(out)
    }

    /// The mapping of every rank as text ([`format_mapping`] of
    /// [`placements`](Self::placements)), the same on every rank:
    ///
    /// ```text
    /// mpibind: 2 tasks on 1 node(s), 1 host(s): node 0 vm (tasks 0-1)
    /// mpibind: task  0 nths  1 gpus  cpus 0
    /// mpibind: task  1 nths  1 gpus  cpus 1
    /// ```
    ///
    /// **Collective** over the context.
    ///
    /// # Errors
    /// As [`placements`](Self::placements).
    pub fn mapping(&self) -> Result<String> {
        Ok(format_mapping(&self.placements()?))
    }
}

impl std::fmt::Display for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Topology(host={}, node {}/{}, local rank {}/{}, cpus {}, gpus {}, gpu_id {})",
            self.hostname(),
            self.node_id(),
            self.num_nodes(),
            self.local_rank(),
            self.local_size(),
            self.num_cpus(),
            self.num_gpus(),
            self.gpu_id().unwrap_or(-1)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_gpu_round_robin() {
        assert_eq!(default_gpu(0, 0), None);
        assert_eq!(default_gpu(5, 0), None);
        let got: Vec<Option<i32>> = (0..7).map(|l| default_gpu(l, 4)).collect();
        assert_eq!(got, vec![Some(0), Some(1), Some(2), Some(3), Some(0), Some(1), Some(2)]);
    }

    fn task(rank: usize, node: usize, host: &str, cpus: &[usize], gpus: &[i32]) -> TaskPlacement {
        TaskPlacement { rank, node, hostname: host.into(), cpus: cpus.to_vec(), gpus: gpus.to_vec() }
    }

    #[test]
    fn mapping_text_is_mpibinds() {
        // The example output of mpibind's Python guide, with no GPUs.
        let tasks: Vec<TaskPlacement> = (0..4).map(|r| task(r, 0, "n1", &[2 * r, 2 * r + 1], &[])).collect();
        assert_eq!(
            format_mapping(&tasks),
            "mpibind: 4 tasks on 1 node(s), 1 host(s): node 0 n1 (tasks 0-3)\n\
             mpibind: task  0 nths  2 gpus  cpus 0-1\n\
             mpibind: task  1 nths  2 gpus  cpus 2-3\n\
             mpibind: task  2 nths  2 gpus  cpus 4-5\n\
             mpibind: task  3 nths  2 gpus  cpus 6-7\n"
        );
    }

    #[test]
    fn mapping_text_with_gpus_and_nodes() {
        let tasks = vec![
            task(0, 0, "a", &[0, 1, 2, 3, 8], &[0]),
            task(1, 1, "b", &[0], &[1, 3]),
            task(2, 0, "a", &[4], &[]),
            task(12, 1, "b", &[1], &[]),
        ];
        assert_eq!(
            format_mapping(&tasks),
            "mpibind: 4 tasks on 2 node(s), 2 host(s): node 0 a (tasks 0,2); node 1 b (tasks 1,12)\n\
             mpibind: task  0 nths  5 gpus 0 cpus 0-3,8\n\
             mpibind: task  1 nths  1 gpus 1,3 cpus 0\n\
             mpibind: task  2 nths  1 gpus  cpus 4\n\
             mpibind: task 12 nths  1 gpus  cpus 1\n"
        );
        assert_eq!(format_mapping(&[]), "mpibind: 0 tasks on 0 node(s), 0 host(s): \n");
    }
}
