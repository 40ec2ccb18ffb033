//! # dtl-core — distributed containers over MPI
//!
//! The engine of dtl: MPI [`Environment`] lifetime, execution [`Context`]s
//! (one duplicated communicator each), [`partition`]s, distributed
//! containers ([`DistributedVector`], [`DistributedArray`],
//! [`DistributedTensor`]), and typed [`collective`]s over the [`Element`]
//! types. Pure Rust over rsmpi; no Python, no CUDA.
//!
//! Every call says whether it is **collective** (every rank of the context
//! must call it, in the same order) or local. Collective calls check that
//! the ranks agree on their arguments and return the same error everywhere
//! when they do not, instead of hanging.
//!
//! Run under MPI: `mpirun -np 4 target/release/examples/hello`.
//!
//! ```
//! use dtl_core::{Environment, DistributedVector, ReduceOp};
//!
//! let env = Environment::new()?;                           // MPI_Init_thread
//! let ctx = env.make_world_context()?;                     // MPI_Comm_dup
//! let mut v = DistributedVector::<f64>::new(&ctx, 1_000_000)?;
//! let off = v.local_offset();
//! v.local_mut().iter_mut().enumerate().for_each(|(l, x)| *x = (off + l) as f64);
//! let local: f64 = v.local().iter().sum();
//! let total = ctx.allreduce_scalar(local, ReduceOp::Sum)?; // MPI_Allreduce
//! if ctx.is_root() {
//!     println!("sum = {total}");
//! }
//! # Ok::<(), dtl_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod algorithms;
pub mod collective;
pub mod containers;
pub mod context;
pub mod element;
pub mod environment;
pub mod error;
pub mod io;
mod memory;
pub mod partition;
pub mod placement;
pub mod raw;
pub mod rma;
pub mod topology;

pub use algorithms::halo::{Boundary, HaloSpec};
pub use algorithms::{async_for_each, async_reduce, async_sort, async_transform, when_all, when_any, Future};
pub use algorithms::{Execution, Located};
pub use collective::ReduceOp;
pub use containers::DistributedMap;
pub use containers::{DistributedArray, DistributedTensor, DistributedVector, Halo};
pub use containers::{DistributedSpan, DistributedSpanMut};
pub use context::Context;
pub use element::{DType, Element};
pub use environment::{Environment, ThreadLevel};
pub use error::{Error, Result};
pub use partition::{Block, Partition, PartitionKind};
pub use placement::Placement;

/// The dtl version (the crate version), e.g. `"0.1.0"`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
