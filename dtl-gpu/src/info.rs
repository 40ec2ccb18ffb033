//! The diagnostic report of a dtl installation and job: what a user pastes
//! into a bug report.
//!
//! [`Report::collect`] gathers, **collectively** over a context, the dtl
//! version and build, the MPI library (`MPI_Get_library_version`), the MPI
//! standard version (`MPI_Get_version`), the thread level requested and
//! provided (`MPI_Init_thread` / `MPI_Query_thread`), the size of the
//! context and how its ranks spread over nodes
//! ([`dtl_core::topology::NodeMap`]), what the CUDA, NCCL and NVRTC probes
//! found and *why* ([`crate::cuda_status`], [`crate::has_nccl`],
//! [`crate::has_nvrtc`]), and one line per rank (host, node, local rank,
//! process id, CPU affinity, default GPU, that rank's CUDA probe). Every
//! rank receives the whole report; the usual use is that rank 0 prints it.
//! It lives in `dtl-gpu` because it needs both dtl-core's MPI side and the
//! GPU probes; none of it needs a GPU.
//!
//! The C face is `dtl_print_info` / `dtl_info_string`, the Python face
//! `dtl.info()` and `python -m dtl info`.
//!
//! ```
//! let ctx = dtl_core::Context::world()?;
//! let report = dtl_gpu::info::Report::collect(&ctx)?;     // collective
//! assert_eq!(report.ranks.len(), ctx.size());
//! assert_eq!(report.version, dtl_core::VERSION);
//! if ctx.is_root() {
//!     print!("{report}");
//! }
//! # Ok::<(), dtl_core::Error>(())
//! ```

use std::fmt;

use dtl_core::topology::cpu_list;
use dtl_core::{Context, Environment, Result, ThreadLevel};

use crate::topology::Topology;
use crate::CudaProbe;

/// One rank's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankReport {
    /// The rank in the context.
    pub rank: usize,
    /// Its host (`MPI_Get_processor_name`).
    pub hostname: String,
    /// Its node, `0..num_nodes` (numbered by lowest context rank).
    pub node: usize,
    /// Its rank among the context's ranks on its node.
    pub local_rank: usize,
    /// Its operating-system process id.
    pub pid: u32,
    /// Its CPU affinity set at collection (`sched_getaffinity`), sorted.
    pub cpus: Vec<usize>,
    /// Its GPU under dtl's default mapping (`local_rank mod num_gpus`), or
    /// `None` without a device.
    pub gpu: Option<i32>,
    /// Number of CUDA devices it sees (0 without CUDA).
    pub num_gpus: usize,
    /// Its CUDA probe's one-line result ([`crate::cuda_status`]).
    pub cuda_status: String,
}

/// The whole report; see the [module docs](self). The same on every rank,
/// except [`rank`](Self::rank) and the fields probed locally (the MPI
/// library and thread level, the CUDA/NCCL/NVRTC probes of the calling
/// rank; every rank's CUDA probe is in [`ranks`](Self::ranks)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The dtl version, [`dtl_core::VERSION`].
    pub version: String,
    /// `"release"` or `"debug"` (whether debug assertions are compiled in).
    pub profile: String,
    /// The target the library was built for, `"<arch>-<os>"`, e.g. `"x86_64-linux"`.
    pub target: String,
    /// The optional parts compiled in, `(name, description)`: MPI, and the
    /// CUDA driver, NVRTC and NCCL bindings (loaded at run time; a missing
    /// library makes the part unavailable, not the build fail).
    pub components: Vec<(String, String)>,
    /// The MPI library's version string (`MPI_Get_library_version`),
    /// trailing NUL bytes and whitespace removed.
    pub mpi_library_version: String,
    /// The MPI standard version `(major, minor)` (`MPI_Get_version`).
    pub mpi_version: (i32, i32),
    /// True if dtl initialised MPI (`MPI_Init_thread`), false if it adopted
    /// an MPI another library or the host program initialised.
    pub mpi_initialized_by_dtl: bool,
    /// The thread level dtl requested (`MPI_THREAD_MULTIPLE`), or `None`
    /// when MPI was adopted (the host's request is unknown).
    pub thread_level_requested: Option<ThreadLevel>,
    /// The thread level MPI provides (`MPI_Query_thread`).
    pub thread_level_provided: ThreadLevel,
    /// Number of ranks of the context.
    pub size: usize,
    /// The calling rank.
    pub rank: usize,
    /// Number of nodes (shared-memory domains) the context spans.
    pub num_nodes: usize,
    /// Host name of each node, by node id.
    pub node_hosts: Vec<String>,
    /// Number of the context's ranks on each node, by node id.
    pub ranks_per_node: Vec<usize>,
    /// CPUs usable by the job on the calling rank's node (the union of the
    /// node's ranks' affinity sets).
    pub node_cpus: usize,
    /// True if the calling rank's CUDA probe found a usable device.
    pub cuda_available: bool,
    /// The calling rank's CUDA probe, one line: the device count and driver
    /// version, or why CUDA is unavailable.
    pub cuda_status: String,
    /// CUDA devices the calling rank sees.
    pub cuda_device_count: usize,
    /// The CUDA driver API version (`cuDriverGetVersion`, e.g. 12080), when
    /// the driver loaded.
    pub cuda_driver_version: Option<i32>,
    /// True if NCCL is usable: `libnccl` loads and CUDA is usable
    /// ([`crate::nccl::nccl_available`]).
    pub nccl_available: bool,
    /// Why NCCL is or is not usable, one line (with `ncclGetVersion` when
    /// the library loads).
    pub nccl_status: String,
    /// True if NVRTC (`libnvrtc`) loads; dtl compiles its device kernels with it.
    pub nvrtc_available: bool,
    /// One line per rank of the context, in rank order.
    pub ranks: Vec<RankReport>,
}

fn nccl_version() -> Option<i32> {
    if !crate::has_nccl() {
        return None;
    }
    let mut v: std::os::raw::c_int = 0;
    // SAFETY: the library is present (checked above), so cudarc's lazy
    // loader does not panic; the out-pointer is a valid local.
    let rc = unsafe { cudarc::nccl::sys::ncclGetVersion(&mut v) };
    (rc == cudarc::nccl::sys::ncclResult_t::ncclSuccess).then_some(v)
}

fn nccl_status() -> String {
    let version = nccl_version().map(|v| format!("NCCL {}.{}.{}", v / 10000, (v / 100) % 100, v % 100));
    match (crate::has_nccl(), crate::has_cuda()) {
        (false, _) => "the NCCL library (libnccl.so) could not be loaded".into(),
        (true, false) => format!(
            "{} loads, but CUDA is not usable: {}",
            version.unwrap_or_else(|| "libnccl".into()),
            crate::cuda_status()
        ),
        (true, true) => format!("{} usable", version.unwrap_or_else(|| "libnccl".into())),
    }
}

/// The parts compiled into this build: `(name, description)`.
pub fn components() -> Vec<(String, String)> {
    vec![
        ("mpi".into(), "MPI through rsmpi 0.8 (always: MPI is dtl's engine)".into()),
        ("cuda".into(), "CUDA driver API through cudarc 0.19, libcuda loaded at run time".into()),
        ("nvrtc".into(), "NVRTC kernel compilation through cudarc, libnvrtc loaded at run time".into()),
        ("nccl".into(), "NCCL collectives through cudarc, libnccl loaded at run time".into()),
    ]
}

impl Report {
    /// Collects the report over `ctx`. **Collective**: every rank of `ctx`
    /// must call it. Underneath: [`Topology::new`]
    /// (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`, `MPI_Allgather`,
    /// `MPI_Allgatherv` of the CPU sets), [`Topology::placements`]
    /// (`MPI_Allgatherv` of CPU sets and host names), one more
    /// `MPI_Allgatherv` of every rank's process id and CUDA probe, and the
    /// local calls `MPI_Get_library_version`, `MPI_Get_version`,
    /// `MPI_Query_thread`. Never fails for lack of a GPU.
    ///
    /// # Errors
    /// As [`Topology::new`] and [`Topology::placements`] (every rank gets
    /// an error); [`dtl_core::Error::Backend`] if MPI was finalized.
    pub fn collect(ctx: &Context) -> Result<Report> {
        let env = Environment::new()?;
        let topo = Topology::new(ctx)?;
        let placements = topo.placements()?;
        let mine = format!("{}\t{}", std::process::id(), crate::cuda_status());
        let (bytes, counts) = ctx.allgatherv(mine.as_bytes())?;
        let mut at = 0;
        let mut ranks = Vec::with_capacity(ctx.size());
        for (p, n) in placements.into_iter().zip(counts) {
            let text = String::from_utf8_lossy(&bytes[at..at + n]).into_owned();
            at += n;
            let (pid, cuda) = text.split_once('\t').unwrap_or(("0", text.as_str()));
            let nodes = topo.node_map();
            ranks.push(RankReport {
                rank: p.rank,
                local_rank: nodes.local_rank_of(p.rank)?,
                node: p.node,
                hostname: p.hostname,
                pid: pid.parse().unwrap_or(0),
                cpus: p.cpus,
                gpu: p.gpus.first().copied(),
                num_gpus: 0,
                cuda_status: cuda.to_string(),
            });
        }
        let counts = ctx.allgather(&[crate::device_count() as u64])?;
        for (r, c) in ranks.iter_mut().zip(counts) {
            r.num_gpus = c as usize;
        }
        let num_nodes = topo.num_nodes();
        let mut node_hosts = vec![String::new(); num_nodes];
        let mut ranks_per_node = vec![0; num_nodes];
        for r in &ranks {
            ranks_per_node[r.node] += 1;
            if node_hosts[r.node].is_empty() {
                node_hosts[r.node] = r.hostname.clone();
            }
        }
        let adopted = Environment::is_adopted();
        let (cuda_available, cuda_driver_version) = match crate::cuda_probe() {
            CudaProbe::Available { driver_version, .. } => (true, Some(driver_version)),
            CudaProbe::Unavailable(_) => (false, None),
        };
        Ok(Report {
            version: dtl_core::VERSION.to_string(),
            profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
            target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
            components: components(),
            mpi_library_version: env
                .mpi_library_version()
                .trim_end_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string(),
            mpi_version: env.mpi_version(),
            mpi_initialized_by_dtl: !adopted,
            thread_level_requested: (!adopted).then_some(ThreadLevel::Multiple),
            thread_level_provided: env.thread_level(),
            size: ctx.size(),
            rank: ctx.rank(),
            num_nodes,
            node_hosts,
            ranks_per_node,
            node_cpus: topo.num_cpus(),
            cuda_available,
            cuda_status: crate::cuda_status(),
            cuda_device_count: crate::device_count(),
            cuda_driver_version,
            nccl_available: crate::nccl::nccl_available(),
            nccl_status: nccl_status(),
            nvrtc_available: crate::has_nvrtc(),
            ranks,
        })
    }

    /// The report as text, with `extra` sections appended (each a title and
    /// `(key, value)` lines; the Python face adds its interpreter and
    /// package versions this way). [`Display`](fmt::Display) is `to_text(&[])`.
    pub fn to_text(&self, extra: &[(&str, Vec<(String, String)>)]) -> String {
        let mut s = String::new();
        let mut line = |k: &str, v: &str| s.push_str(&format!("  {k:<22} {v}\n"));
        line("dtl", &format!("{} ({} build, {})", self.version, self.profile, self.target));
        for (name, what) in &self.components {
            line(&format!("compiled in: {name}"), what);
        }
        let mut lib = self.mpi_library_version.lines().map(str::trim).filter(|l| !l.is_empty());
        line("MPI library", lib.next().unwrap_or("?"));
        for more in lib {
            line("", more);
        }
        line("MPI standard", &format!("{}.{}", self.mpi_version.0, self.mpi_version.1));
        line(
            "MPI initialized by",
            if self.mpi_initialized_by_dtl { "dtl (MPI_Init_thread)" } else { "the host program (adopted)" },
        );
        line(
            "thread level",
            &format!(
                "requested {}, provided {}",
                self.thread_level_requested.map_or("unknown (adopted)", ThreadLevel::name),
                self.thread_level_provided.name()
            ),
        );
        line("ranks", &format!("{} on {} node(s)", self.size, self.num_nodes));
        for (n, (host, k)) in self.node_hosts.iter().zip(&self.ranks_per_node).enumerate() {
            let ranks: Vec<usize> = self.ranks.iter().filter(|r| r.node == n).map(|r| r.rank).collect();
            line(&format!("node {n}"), &format!("{host}: {k} rank(s), ranks {}", cpu_list(&ranks)));
        }
        line("CUDA", &format!("{}: {}", avail(self.cuda_available), self.cuda_status));
        line("CUDA devices", &self.cuda_device_count.to_string());
        line("NCCL", &format!("{}: {}", avail(self.nccl_available), self.nccl_status));
        line("NVRTC", if self.nvrtc_available { "available" } else { "not available: libnvrtc could not be loaded" });
        for (title, lines) in extra {
            for (k, v) in lines {
                line(&format!("{title} {k}"), v);
            }
        }
        s.push_str("  per rank:\n");
        for r in &self.ranks {
            s.push_str(&format!(
                "    rank {:>3}  host {}  node {}  local rank {}  pid {}  cpus {}  gpu {}  ({})\n",
                r.rank,
                r.hostname,
                r.node,
                r.local_rank,
                r.pid,
                cpu_list(&r.cpus),
                r.gpu.map_or("none".to_string(), |g| g.to_string()),
                r.cuda_status
            ));
        }
        format!("dtl info\n{s}")
    }
}

fn avail(yes: bool) -> &'static str {
    if yes {
        "available"
    } else {
        "not available"
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text(&[]))
    }
}
