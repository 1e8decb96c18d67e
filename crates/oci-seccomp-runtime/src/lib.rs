//! A minimal OCI launcher as a library: what `oci-seccomp run` is, for a runtime author.
//!
//! **The problem.** A launcher does three kinds of work that fail differently: it reads and
//! checks a bundle (pure, and where nearly every refusal belongs), it makes the container in
//! a forked child (where it may not allocate once a filter is in, and must report failures
//! without prose), and it supervises the child (the notify-fd handoff, signals, the exit
//! status).
//!
//! **The design** (firecracker's jailer and youki's libcontainer are the models):
//!
//! 1. [`LaunchPlan::from_bundle`] / [`LaunchPlan::from_command`]: the pure step. Every
//!    refusal of docs/security.md ("Launcher") is a [`PlanError`] naming the config.json
//!    field; nothing touches the system. Unit-tested without root.
//! 2. [`compile_cached`] the plan's profile and [`connect_for_plan`] to its agent (early: an agent
//!    that is not there fails the start before anything runs), then [`Launcher::new`].
//! 3. [`Launcher::run`]: fork; the child runs its [`Step`]s, each a function with its own
//!    `Copy` error, and tells the parent of a failure with a fixed-size [`ChildMessage`]; the parent takes the
//!    notify fd, forwards signals and maps the exit status ([`Supervisor`], [`Exit`]).
//!
//! ```no_run
//! use oci_seccomp_runtime::{
//!     compile_cached, connect_for_plan, CachePolicy, LaunchOptions, LaunchPlan, Launcher,
//! };
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = LaunchPlan::from_bundle("bundle".as_ref(), &LaunchOptions::default())?;
//! let listener = connect_for_plan(&plan, &Default::default())?;
//! let program = plan
//!     .seccomp()
//!     .map(|s| compile_cached(s, &CachePolicy::Default))
//!     .transpose()?;
//! let exit = Launcher::new(plan, program, listener)?.run()?;
//! std::process::exit(exit.code().into());
//! # }
//! ```

mod child;
mod child_message;
mod config;
mod container;
mod error;
mod launch;
mod mounts;
mod plan;
mod seccomp;
mod supervisor;
mod sys;

/// Renamed to [`ChildMessage`].
#[deprecated(note = "renamed to ChildMessage (what the child tells the parent)")]
pub type Record = child_message::ChildMessage;
pub use child_message::{
    At, CapabilityError, CapabilityOp, ChildError, ChildMessage, ExecError, Failed, IdentityError,
    IdentityOp, InstallError, KeyringError, MountError, MountOp, NamespaceError,
    NoNewPrivilegesError, PathError, PathOp, PrivilegeError, PrivilegeOp, SessionError, Step,
    StepFailure, VerifyError,
};
pub use error::{ChildFailure, LaunchError, PlanError};
pub use launch::Launcher;
pub use plan::{LaunchOptions, LaunchPlan};
/// Renamed to [`compile_cached`].
///
/// # Errors
///
/// As [`compile_cached`].
#[deprecated(note = "renamed to compile_cached (oci_seccomp::compile is the compiler)")]
pub fn compile(
    spec: &oci_seccomp::LinuxSeccomp,
    cache: &CachePolicy,
) -> Result<oci_seccomp::Program, oci_seccomp::CompileError> {
    compile_cached(spec, cache)
}
/// Renamed to [`connect_for_plan`].
///
/// # Errors
///
/// As [`connect_for_plan`].
#[deprecated(
    note = "renamed to connect_for_plan (oci_seccomp_load::connect_listener connects to a path)"
)]
pub fn connect_listener(
    plan: &LaunchPlan,
    allowed: &oci_seccomp_load::AllowedPeers,
) -> Result<Option<std::os::unix::net::UnixStream>, LaunchError> {
    connect_for_plan(plan, allowed)
}
pub use seccomp::{
    compile_cached, connect_for_plan, default_cache_dir, CachePolicy, NotifyHandler,
};
pub use supervisor::{Exit, Supervisor};

#[cfg(test)]
mod tests;
