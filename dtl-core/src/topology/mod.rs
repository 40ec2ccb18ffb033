//! Where the ranks of a context run: nodes, local ranks, CPU sets.
//!
//! A [`NodeMap`] is built once, collectively, over a [`Context`]: it splits
//! the context into shared-memory domains
//! (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`, one per node), numbers the
//! nodes `0..num_nodes` in the order of the lowest context rank on each, and
//! gathers every rank's node id (one `MPI_Allgather`), so that
//! [`NodeMap::is_local`] and [`NodeMap::node_of`] are lookups afterwards.
//! [`NodeMap::bind`] applies dtl's CPU binding rule ([`split_cpus`]) over the
//! ranks of a node, in the spirit of mpibind. The pure helpers
//! [`cpu_list`] / [`parse_cpu_list`] convert between CPU sets and the
//! compressed list syntax (`0-3,8`) of `taskset`, hwloc and mpibind.
//! [`affinity`] holds the `sched_getaffinity`/`sched_setaffinity` calls.
//!
//! Run under MPI, e.g. `mpirun -np 4 target/release/examples/...`:
//!
//! ```
//! use dtl_core::{topology::NodeMap, Context};
//! let ctx = Context::world()?;
//! let nodes = NodeMap::new(&ctx)?;                         // collective
//! println!(
//!     "rank {} is local rank {} of {} on node {} of {} ({})",
//!     ctx.rank(), nodes.local_rank(), nodes.local_size(),
//!     nodes.node_id(), nodes.num_nodes(), nodes.hostname()
//! );
//! assert!(nodes.is_local(ctx.rank(), ctx.rank())?);
//! # Ok::<(), dtl_core::Error>(())
//! ```

pub mod affinity;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::partition::Block;
use crate::ReduceOp;

/// Checks a rank argument named `what` (as a signed value, the way the C
/// and Python faces receive it) against `0..size`.
///
/// # Errors
/// [`Error::Bounds`] naming `what` and the valid range.
pub fn rank_arg(rank: i64, size: usize, what: &str) -> Result<usize> {
    match usize::try_from(rank) {
        Ok(r) if r < size => Ok(r),
        _ => Err(Error::Bounds(format!("{what} must be a rank in 0..{size} (the context size), got {rank}"))),
    }
}

fn rank_check(rank: usize, size: usize, what: &str) -> Result<usize> {
    if rank < size {
        Ok(rank)
    } else {
        Err(Error::Bounds(format!("{what} must be a rank in 0..{size} (the context size), got {rank}")))
    }
}

/// The compressed list form of a CPU set: sorted, duplicates dropped, runs
/// of consecutive ids as `a-b`, joined by commas (`[0, 1, 2, 3, 8]` gives
/// `"0-3,8"`; the empty set gives `""`). The syntax of `taskset -c`, hwloc's
/// list format and mpibind's `mapping_print`. Pure.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut v = cpus.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if j == i { v[i].to_string() } else { format!("{}-{}", v[i], v[j]) });
        i = j + 1;
    }
    parts.join(",")
}

/// Parses the list form ([`cpu_list`]'s output, or anything `taskset -c`
/// accepts without strides: `"0-3,8"`, `" 5 "`, `""`) into a sorted set.
/// Pure.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the bad item (not a number, a range
/// whose end is below its start, an id `>= affinity::MAX_CPUS`).
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>> {
    let bad = |item: &str, why: &str| {
        Error::InvalidArgument(format!("cpu list {s:?}: item {item:?} {why} (expected e.g. \"0-3,8\")"))
    };
    let num = |item: &str, t: &str| -> Result<usize> {
        let v: usize = t.trim().parse().map_err(|_| bad(item, "is not a CPU id or range"))?;
        if v >= affinity::MAX_CPUS {
            return Err(bad(item, &format!("is outside 0..{}", affinity::MAX_CPUS)));
        }
        Ok(v)
    };
    let mut out = Vec::new();
    for item in s.split(',') {
        if item.trim().is_empty() {
            if s.trim().is_empty() {
                continue;
            }
            return Err(bad(item, "is empty"));
        }
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(item, a)?, num(item, b)?);
                if b < a {
                    return Err(bad(item, "ends below its start"));
                }
                out.extend(a..=b);
            }
            None => out.push(num(item, item)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// dtl's binding rule: the CPUs that local rank `part` of `parts` gets out
/// of the node's CPU set `union` (taken sorted, duplicates dropped). Pure.
///
/// - `|union| >= parts`: the sorted set is cut into `parts` contiguous
///   blocks by the [`Block`] partition rule — sizes `q+1` for the first
///   `|union| mod parts` parts, `q` for the rest (`q = |union| / parts`) —
///   and part `i` gets block `i`. The blocks are pairwise disjoint and cover
///   `union`.
/// - `|union| < parts`: part `i` gets the single CPU `union[i mod |union|]`
///   (ranks share CPUs round-robin; every CPU is used).
///
/// # Errors
/// [`Error::InvalidArgument`] if `union` is empty or `parts == 0`;
/// [`Error::Bounds`] if `part >= parts`.
pub fn split_cpus(union: &[usize], parts: usize, part: usize) -> Result<Vec<usize>> {
    if union.is_empty() {
        return Err(Error::InvalidArgument("the CPU set to split is empty; it must name at least one CPU".into()));
    }
    if parts == 0 {
        return Err(Error::InvalidArgument("parts must be >= 1, got 0".into()));
    }
    if part >= parts {
        return Err(Error::Bounds(format!("part must be in 0..{parts}, got {part}")));
    }
    let mut u = union.to_vec();
    u.sort_unstable();
    u.dedup();
    if u.len() < parts {
        return Ok(vec![u[part % u.len()]]);
    }
    Ok(u[Block::new(u.len(), parts).range(part)].to_vec())
}

/// The sorted union of CPU sets. Pure.
pub fn union_of<'a>(sets: impl IntoIterator<Item = &'a [usize]>) -> Vec<usize> {
    let mut u: Vec<usize> = sets.into_iter().flatten().copied().collect();
    u.sort_unstable();
    u.dedup();
    u
}

/// Which node each rank of a context is on. See the [module docs](self).
///
/// Holds the node's own [`Context`] (the shared-memory split), so a
/// `NodeMap` keeps one communicator alive.
#[derive(Debug, Clone)]
pub struct NodeMap {
    node: Context,
    node_of: Vec<usize>,
    local_rank_of: Vec<usize>,
    node_sizes: Vec<usize>,
    rank: usize,
    hostname: String,
}

impl NodeMap {
    /// Discovers the nodes of `ctx`. **Collective** over `ctx`:
    /// `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)` (key = context rank), an
    /// `MPI_Allreduce(MIN)` over the node (its lowest context rank), an
    /// `MPI_Allgather` of that over `ctx`, `MPI_Get_processor_name`, and one
    /// small `MPI_Allreduce` so every rank sees a failure of any rank.
    ///
    /// Nodes are numbered `0..num_nodes` in the order of the lowest context
    /// rank on each; a rank's local rank is its position among the ranks of
    /// its node in context rank order (which is its rank in the node
    /// communicator).
    ///
    /// # Errors
    /// [`Error::Backend`] if the processor name is not UTF-8;
    /// [`Error::Internal`] if MPI's node communicator disagrees with the
    /// gathered map. Any rank's error is reported on every rank.
    pub fn new(ctx: &Context) -> Result<NodeMap> {
        let node = ctx.split_shared()?;
        let lowest = node.allreduce_scalar(ctx.rank() as u64, ReduceOp::Min)?;
        let leaders = ctx.allgather(&[lowest])?;
        let mut ids = leaders.clone();
        ids.sort_unstable();
        ids.dedup();
        let node_of: Vec<usize> = leaders.iter().map(|l| ids.partition_point(|x| x < l)).collect();
        let mut node_sizes = vec![0usize; ids.len()];
        let mut local_rank_of = Vec::with_capacity(node_of.len());
        for &n in &node_of {
            local_rank_of.push(node_sizes[n]);
            node_sizes[n] += 1;
        }
        let hostname = mpi::environment::processor_name();
        let mut local = None;
        let me = ctx.rank();
        if local_rank_of[me] != node.rank() || node_sizes[node_of[me]] != node.size() {
            local = Some(Error::Internal(format!(
                "node map: local rank {} of {} from the gathered map, but {} of {} in the MPI_COMM_TYPE_SHARED communicator",
                local_rank_of[me],
                node_sizes[node_of[me]],
                node.rank(),
                node.size()
            )));
        }
        let hostname = match hostname {
            Ok(h) => h,
            Err(e) => {
                local = local.or(Some(Error::Backend(format!("MPI_Get_processor_name gave a non-UTF-8 name: {e}"))));
                String::new()
            }
        };
        ctx.agree_or_reject("NodeMap::new", &[], local)?;
        Ok(NodeMap { node, node_of, local_rank_of, node_sizes, rank: me, hostname })
    }

    /// Number of ranks of the context.
    pub fn size(&self) -> usize {
        self.node_of.len()
    }

    /// This rank's node, `0..num_nodes`.
    pub fn node_id(&self) -> usize {
        self.node_of[self.rank]
    }

    /// Number of nodes (shared-memory domains) the context spans.
    pub fn num_nodes(&self) -> usize {
        self.node_sizes.len()
    }

    /// This rank's rank among the context's ranks on its node, `0..local_size`.
    pub fn local_rank(&self) -> usize {
        self.local_rank_of[self.rank]
    }

    /// Number of the context's ranks on this node.
    pub fn local_size(&self) -> usize {
        self.node_sizes[self.node_id()]
    }

    /// This node's name (`MPI_Get_processor_name`; Open MPI gives the host
    /// name).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The node of context rank `rank`. Not collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `rank >= size`.
    pub fn node_of(&self, rank: usize) -> Result<usize> {
        Ok(self.node_of[rank_check(rank, self.size(), "rank")?])
    }

    /// The local rank of context rank `rank` on its node. Not collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `rank >= size`.
    pub fn local_rank_of(&self, rank: usize) -> Result<usize> {
        Ok(self.local_rank_of[rank_check(rank, self.size(), "rank")?])
    }

    /// True if context ranks `a` and `b` are on the same node. Not
    /// collective (a lookup).
    ///
    /// # Errors
    /// [`Error::Bounds`] naming `a` or `b` if it is `>= size`.
    pub fn is_local(&self, a: usize, b: usize) -> Result<bool> {
        let a = rank_check(a, self.size(), "a")?;
        let b = rank_check(b, self.size(), "b")?;
        Ok(self.node_of[a] == self.node_of[b])
    }

    /// The context ranks on node `node`, ascending. Not collective.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `node >= num_nodes`.
    pub fn ranks_on(&self, node: usize) -> Result<Vec<usize>> {
        if node >= self.num_nodes() {
            return Err(Error::Bounds(format!(
                "node must be in 0..{} (the number of nodes), got {node}",
                self.num_nodes()
            )));
        }
        Ok((0..self.size()).filter(|&r| self.node_of[r] == node).collect())
    }

    /// The context of this node's ranks (in context rank order; its rank is
    /// [`local_rank`](Self::local_rank)).
    pub fn node_context(&self) -> &Context {
        &self.node
    }

    /// Every local rank's current CPU set (each rank's calling thread,
    /// [`affinity::get`]), indexed by local rank. **Collective over the
    /// node** (`MPI_Allgatherv` on the node communicator).
    ///
    /// # Errors
    /// [`Error::Backend`] if `sched_getaffinity` fails on this rank (the
    /// others then get an error naming this one).
    pub fn node_affinities(&self) -> Result<Vec<Vec<usize>>> {
        let mine = affinity::get();
        let err = mine.as_ref().err().cloned();
        self.node.agree_or_reject("node_affinities", &[], err)?;
        let mine: Vec<u64> = mine?.into_iter().map(|c| c as u64).collect();
        let (all, counts) = self.node.allgatherv(&mine)?;
        let mut out = Vec::with_capacity(counts.len());
        let mut at = 0;
        for c in counts {
            out.push(all[at..at + c].iter().map(|&x| x as usize).collect());
            at += c;
        }
        Ok(out)
    }

    /// Binds this rank by dtl's rule: the union `U` of the node's ranks'
    /// current CPU sets ([`node_affinities`](Self::node_affinities)) is
    /// split by [`split_cpus`]`(U, local_size, local_rank)`, and the result
    /// is applied to the whole process ([`affinity::set`],
    /// `sched_setaffinity`). Returns the new set, sorted. **Collective over
    /// the node** (`MPI_Allgatherv` on the node communicator); every rank of
    /// the context calling it is the usual use.
    ///
    /// # Errors
    /// As [`node_affinities`](Self::node_affinities); [`Error::Backend`] /
    /// [`Error::InvalidArgument`] from `sched_setaffinity`, on the rank where
    /// it failed only.
    pub fn bind(&self) -> Result<Vec<usize>> {
        let sets = self.node_affinities()?;
        let u = union_of(sets.iter().map(|s| s.as_slice()));
        let mine = split_cpus(&u, self.local_size(), self.local_rank())?;
        affinity::set(&mine)?;
        Ok(mine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_list_compresses_runs() {
        assert_eq!(cpu_list(&[]), "");
        assert_eq!(cpu_list(&[0]), "0");
        assert_eq!(cpu_list(&[0, 1]), "0-1");
        assert_eq!(cpu_list(&[8, 0, 2, 1, 3, 3]), "0-3,8");
        assert_eq!(cpu_list(&[1, 3, 5]), "1,3,5");
        assert_eq!(cpu_list(&[0, 1, 2, 4, 5, 7, 10, 11, 12]), "0-2,4-5,7,10-12");
    }

    /// Brute force: the list's items expand back to the set, every item is a
    /// maximal run, and parse inverts it — for every subset of 0..10.
    #[test]
    fn cpu_list_round_trips_every_small_set() {
        for bits in 0u32..(1 << 10) {
            let set: Vec<usize> = (0..10).filter(|b| bits & (1 << b) != 0).collect();
            let s = cpu_list(&set);
            assert_eq!(parse_cpu_list(&s).unwrap(), set, "{s}");
            let items = if s.is_empty() { 0 } else { s.split(',').count() };
            let runs = set.iter().enumerate().filter(|&(i, &c)| i == 0 || set[i - 1] + 1 != c).count();
            assert_eq!(items, runs, "{s}");
        }
    }

    #[test]
    fn parse_cpu_list_accepts_and_rejects() {
        assert_eq!(parse_cpu_list(" 0-2, 8 ,5").unwrap(), vec![0, 1, 2, 5, 8]);
        assert_eq!(parse_cpu_list("3,3,1-3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_cpu_list("").unwrap(), Vec::<usize>::new());
        for bad in ["x", "1,,2", "3-1", "-1", "1-", "0-2x", "99999999"] {
            match parse_cpu_list(bad) {
                Err(Error::InvalidArgument(m)) => assert!(m.contains("cpu list"), "{m}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    /// The bind rule against an independent model: deal `n` sorted CPUs out
    /// in order, `n / p + 1` to the first `n % p` parts and `n / p` to the
    /// rest; with fewer CPUs than parts, round-robin single CPUs.
    #[test]
    fn split_cpus_matches_model() {
        for n in 1..=12usize {
            // Non-contiguous ids, given unsorted, with a duplicate.
            let u: Vec<usize> = (0..n).map(|i| 3 * i + 1).collect();
            let mut given = u.clone();
            given.reverse();
            given.push(u[0]);
            for p in 1..=14usize {
                let parts: Vec<Vec<usize>> = (0..p).map(|i| split_cpus(&given, p, i).unwrap()).collect();
                if n >= p {
                    let mut next = 0;
                    for (i, part) in parts.iter().enumerate() {
                        let take = n / p + usize::from(i < n % p);
                        assert_eq!(part, &u[next..next + take], "n={n} p={p} i={i}");
                        next += take;
                    }
                    assert_eq!(parts.concat(), u, "disjoint cover, n={n} p={p}");
                } else {
                    for (i, part) in parts.iter().enumerate() {
                        assert_eq!(part, &vec![u[i % n]], "n={n} p={p} i={i}");
                    }
                    assert_eq!(union_of(parts.iter().map(|s| s.as_slice())), u);
                }
            }
        }
    }

    #[test]
    fn split_cpus_uneven_examples() {
        let u: Vec<usize> = (0..10).collect();
        assert_eq!(split_cpus(&u, 4, 0).unwrap(), vec![0, 1, 2]);
        assert_eq!(split_cpus(&u, 4, 1).unwrap(), vec![3, 4, 5]);
        assert_eq!(split_cpus(&u, 4, 2).unwrap(), vec![6, 7]);
        assert_eq!(split_cpus(&u, 4, 3).unwrap(), vec![8, 9]);
        assert_eq!(split_cpus(&[0, 1], 4, 3).unwrap(), vec![1]);
        assert_eq!(split_cpus(&[5], 3, 2).unwrap(), vec![5]);
    }

    #[test]
    fn split_cpus_errors() {
        assert!(matches!(split_cpus(&[], 2, 0), Err(Error::InvalidArgument(m)) if m.contains("empty")));
        assert!(matches!(split_cpus(&[0], 0, 0), Err(Error::InvalidArgument(m)) if m.contains("parts")));
        assert!(matches!(split_cpus(&[0], 2, 2), Err(Error::Bounds(m)) if m.contains("0..2")));
    }

    #[test]
    fn rank_arg_names_argument_and_range() {
        assert_eq!(rank_arg(2, 3, "a").unwrap(), 2);
        for bad in [-1i64, 3, i64::MIN] {
            match rank_arg(bad, 3, "b") {
                Err(Error::Bounds(m)) => {
                    assert!(m.contains("b must be a rank in 0..3") && m.contains(&bad.to_string()))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn affinity_get_and_set_thread_round_trip() {
        let before = affinity::get().unwrap();
        assert!(!before.is_empty());
        assert!(before.windows(2).all(|w| w[0] < w[1]));
        // Run on a thread of its own so the test harness's threads keep their set.
        let before2 = before.clone();
        std::thread::spawn(move || {
            affinity::set_thread(&before2[..1]).unwrap();
            assert_eq!(affinity::get().unwrap(), before2[..1].to_vec());
            affinity::set_thread(&before2).unwrap();
            assert_eq!(affinity::get().unwrap(), before2);
            assert!(matches!(affinity::set_thread(&[]), Err(Error::InvalidArgument(_))));
            assert!(matches!(affinity::set_thread(&[affinity::MAX_CPUS]), Err(Error::InvalidArgument(_))));
        })
        .join()
        .unwrap();
        assert_eq!(affinity::get().unwrap(), before);
    }
}
