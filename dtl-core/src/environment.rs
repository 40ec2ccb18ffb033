//! MPI lifetime: initialise once, adopt an MPI someone else initialised,
//! finalise only what dtl initialised.
//!
//! An [`Environment`] is a reference-counted handle on the process-wide MPI
//! state, in the style of the C++ DTL's `dtl::environment`:
//!
//! * the first handle (or the first [`Context`](crate::Context)) calls
//!   `MPI_Init_thread` asking for `MPI_THREAD_MULTIPLE`, unless MPI is
//!   already initialised (by mpi4py, or by a C/Fortran host program), in
//!   which case dtl *adopts* it and never finalises it;
//! * when the last handle and the last context are dropped, dtl calls
//!   `MPI_Finalize` if, and only if, it initialised MPI itself. MPI cannot be
//!   initialised twice in one process: creating an environment after that
//!   returns [`Error::Backend`].
//!
//! Language bindings call [`Environment::pin`] so that MPI stays up for the
//! whole process and [`Environment::finalize_at_exit`] at process exit.
//!
//! None of these calls is collective by itself, but `MPI_Init_thread` and
//! `MPI_Finalize` are: every rank of the job must create and drop its
//! environment in the same way.
//!
//! ```
//! use dtl_core::Environment;
//! let env = Environment::new()?;          // MPI_Init_thread(MULTIPLE)
//! let ctx = env.make_world_context()?;     // MPI_Comm_dup(MPI_COMM_WORLD)
//! println!("rank {} of {}", ctx.rank(), ctx.size());
//! # Ok::<(), dtl_core::Error>(())
//! // both dropped at the end: MPI_Comm_free, then MPI_Finalize
//! ```

use std::sync::Mutex;

use mpi::environment::{Threading, Universe};

use crate::error::{Error, Result};

/// The thread support MPI granted, as `MPI_Init_thread` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ThreadLevel {
    /// `MPI_THREAD_SINGLE`.
    Single,
    /// `MPI_THREAD_FUNNELED`.
    Funneled,
    /// `MPI_THREAD_SERIALIZED`.
    Serialized,
    /// `MPI_THREAD_MULTIPLE`.
    Multiple,
}

impl ThreadLevel {
    fn from_mpi(t: Threading) -> Self {
        match t {
            Threading::Single => ThreadLevel::Single,
            Threading::Funneled => ThreadLevel::Funneled,
            Threading::Serialized => ThreadLevel::Serialized,
            Threading::Multiple => ThreadLevel::Multiple,
        }
    }

    /// The MPI constant's name, e.g. `"MPI_THREAD_MULTIPLE"`.
    pub fn name(self) -> &'static str {
        match self {
            ThreadLevel::Single => "MPI_THREAD_SINGLE",
            ThreadLevel::Funneled => "MPI_THREAD_FUNNELED",
            ThreadLevel::Serialized => "MPI_THREAD_SERIALIZED",
            ThreadLevel::Multiple => "MPI_THREAD_MULTIPLE",
        }
    }
}

struct EnvState {
    /// Present while dtl owns an initialised MPI; dropping it finalises.
    universe: Option<Universe>,
    /// MPI was initialised by someone else and is adopted, never finalised.
    adopted: bool,
    /// Live [`Environment`] handles.
    handles: usize,
    /// Live internal holds (contexts and what they own).
    holds: usize,
    /// Set by bindings: keep MPI up until [`Environment::finalize_at_exit`].
    pinned: bool,
    threading: Option<ThreadLevel>,
}

static STATE: Mutex<EnvState> =
    Mutex::new(EnvState { universe: None, adopted: false, handles: 0, holds: 0, pinned: false, threading: None });

fn state() -> std::sync::MutexGuard<'static, EnvState> {
    // A poisoned lock only means a panic happened while holding it; the
    // counters are still consistent (each update is a single statement).
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Makes sure MPI is initialised, initialising it if nobody has. Caller holds the lock.
fn ensure_mpi(st: &mut EnvState) -> Result<()> {
    if st.universe.is_some() || (st.adopted && !mpi::environment::is_finalized()) {
        return Ok(());
    }
    if mpi::environment::is_finalized() {
        return Err(Error::Backend(
            "MPI has already been finalized in this process and cannot be initialized again \
             (keep an Environment alive for the whole program)"
                .into(),
        ));
    }
    if mpi::environment::is_initialized() {
        st.adopted = true;
        st.threading = Some(ThreadLevel::from_mpi(mpi::environment::threading_support()));
        return Ok(());
    }
    match mpi::initialize_with_threading(Threading::Multiple) {
        Some((universe, provided)) => {
            st.universe = Some(universe);
            st.threading = Some(ThreadLevel::from_mpi(provided));
            Ok(())
        }
        None => {
            // Someone initialised MPI between our check and the call.
            st.adopted = true;
            st.threading = Some(ThreadLevel::from_mpi(mpi::environment::threading_support()));
            Ok(())
        }
    }
}

fn maybe_finalize(st: &mut EnvState) {
    if st.handles == 0 && st.holds == 0 && !st.pinned {
        // Drops the Universe: MPI_Finalize. No-op when MPI was adopted.
        st.universe = None;
    }
}

/// The thread support MPI granted (`Single` while MPI is not initialised).
/// Crate-internal: the asynchronous algorithms run their jobs on a thread
/// of their own only under `MPI_THREAD_MULTIPLE`.
pub(crate) fn granted_thread_level() -> ThreadLevel {
    state().threading.unwrap_or(ThreadLevel::Single)
}

/// An internal hold on MPI, owned by every context: MPI stays initialised
/// while any exists. Not counted by [`Environment::ref_count`].
#[derive(Debug)]
pub(crate) struct MpiHold(());

impl MpiHold {
    pub(crate) fn acquire() -> Result<MpiHold> {
        let mut st = state();
        ensure_mpi(&mut st)?;
        st.holds += 1;
        Ok(MpiHold(()))
    }
}

impl Drop for MpiHold {
    fn drop(&mut self) {
        let mut st = state();
        st.holds -= 1;
        maybe_finalize(&mut st);
    }
}

/// A reference-counted handle on the MPI environment (see the [module
/// docs](self)). Cloning a handle adds a reference.
#[derive(Debug)]
pub struct Environment(());

impl Environment {
    /// Initialises MPI if nobody has (`MPI_Init_thread`, requesting
    /// `MPI_THREAD_MULTIPLE`), or adopts the running MPI, and returns a new
    /// handle. Collective over `MPI_COMM_WORLD` the first time it
    /// initialises MPI.
    ///
    /// # Errors
    /// [`Error::Backend`] if MPI was finalized earlier in this process.
    pub fn new() -> Result<Environment> {
        let mut st = state();
        ensure_mpi(&mut st)?;
        st.handles += 1;
        Ok(Environment(()))
    }

    /// True while at least one [`Environment`] handle exists in this process.
    pub fn is_initialized() -> bool {
        state().handles > 0
    }

    /// Number of live [`Environment`] handles in this process.
    pub fn ref_count() -> usize {
        state().handles
    }

    /// True if dtl adopted an MPI that someone else initialised (and will
    /// therefore never finalise it).
    pub fn is_adopted() -> bool {
        state().adopted
    }

    /// True while MPI is initialised and not finalised (`MPI_Initialized`,
    /// `MPI_Finalized`).
    pub fn mpi_active() -> bool {
        mpi::environment::is_initialized() && !mpi::environment::is_finalized()
    }

    /// Is the MPI backend compiled in? Always `true`: MPI is dtl's engine.
    pub fn has_mpi(&self) -> bool {
        true
    }

    /// The thread support MPI granted (`MPI_Query_thread`).
    pub fn thread_level(&self) -> ThreadLevel {
        state().threading.unwrap_or(ThreadLevel::Single)
    }

    /// MPI standard version `(major, minor)` (`MPI_Get_version`).
    pub fn mpi_version(&self) -> (i32, i32) {
        mpi::environment::version()
    }

    /// The MPI library's own version string (`MPI_Get_library_version`),
    /// e.g. `"Open MPI v4.1.4, …"`, without the C string's terminating NUL
    /// (which rsmpi keeps) or trailing white space.
    pub fn mpi_library_version(&self) -> String {
        let v = mpi::environment::library_version().unwrap_or_else(|_| "unknown".into());
        v.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()
    }

    /// This host's name as MPI reports it (`MPI_Get_processor_name`).
    pub fn processor_name(&self) -> String {
        mpi::environment::processor_name().unwrap_or_else(|_| "unknown".into())
    }

    /// Wall-clock time in seconds (`MPI_Wtime`).
    pub fn wtime() -> f64 {
        mpi::time()
    }

    /// A context over all ranks (`MPI_Comm_dup(MPI_COMM_WORLD)`). Collective
    /// over `MPI_COMM_WORLD`.
    pub fn make_world_context(&self) -> Result<crate::Context> {
        crate::Context::world()
    }

    /// A single-process context over `MPI_COMM_SELF` (rank 0 of 1). Not
    /// collective.
    pub fn make_cpu_context(&self) -> Result<crate::Context> {
        crate::Context::self_only()
    }

    /// Keeps MPI initialised until [`Environment::finalize_at_exit`], even
    /// when no handle or context is alive. Used by language bindings whose
    /// objects come and go (Python), where a second `MPI_Init` is impossible.
    pub fn pin() -> Result<()> {
        let mut st = state();
        ensure_mpi(&mut st)?;
        st.pinned = true;
        Ok(())
    }

    /// Finalises MPI now if dtl initialised it (`MPI_Finalize`), whatever
    /// handles are still alive; their later drops skip their MPI calls.
    /// Meant for process exit (Python `atexit`). Collective over
    /// `MPI_COMM_WORLD`. Does nothing for an adopted MPI.
    pub fn finalize_at_exit() {
        let mut st = state();
        st.pinned = false;
        st.universe = None;
    }
}

impl Clone for Environment {
    fn clone(&self) -> Self {
        state().handles += 1;
        Environment(())
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        let mut st = state();
        st.handles -= 1;
        maybe_finalize(&mut st);
    }
}
