//! Install a compiled seccomp program in the calling process, return the
//! user-notification fd, and hand it to a supervisor (docs/design.md §3).
//!
//! - [`install`]: one `seccomp(2)` call, no allocation, kernel support checked first.
//! - [`initialize_seccomp`]: youki's signature (compile + install), and
//!   [`initialize_seccomp_owned`] beside it.
//! - [`features()`]: what the kernel and libseccomp support, OCI `features.json` shape.
//! - [`handoff`]: hop 1, the notify fd from the container's init to the runtime, safe with
//!   NOTIFY on any syscall.
//! - [`listener`]: hop 2, the runtime sends the fd and the container process state to the
//!   seccomp agent (runc's protocol).
//! - [`notify`]: the agent's side: listener, notifications, answers.

mod error;
pub mod features;
pub mod handoff;
mod install;
pub mod listener;
pub mod notify;

use std::os::fd::{IntoRawFd, OwnedFd, RawFd};

pub use error::{HandoffError, LoadError, NotifyError, SeccompError};
pub use features::{features, SeccompFeatures};
pub use install::{action_supported, effective_flags, flag_supported, install};
pub use listener::{connect_for_spec, connect_listener, send_state, ContainerProcessState};
pub use notify::{decode_message, Listener, Notification, NotifyFd};
pub use oci_seccomp::LinuxSeccomp;

/// Compiles `seccomp` with the default options and installs it in the calling process;
/// returns the notify fd when a rule uses `SCMP_ACT_NOTIFY`. youki's signature: the caller
/// owns the returned fd (it is close-on-exec).
///
/// Never sets no-new-privileges: without it the process needs CAP_SYS_ADMIN, and the error
/// says so. Compiling allocates; to install between `fork` and `exec` without allocating,
/// compile in the parent with [`oci_seccomp::compile`] and call [`install`] in the child.
pub fn initialize_seccomp(seccomp: &LinuxSeccomp) -> Result<Option<RawFd>, SeccompError> {
    Ok(initialize_seccomp_owned(seccomp)?.map(IntoRawFd::into_raw_fd))
}

/// [`initialize_seccomp`] returning an owned fd.
pub fn initialize_seccomp_owned(seccomp: &LinuxSeccomp) -> Result<Option<OwnedFd>, SeccompError> {
    let program = oci_seccomp::compile(seccomp, &oci_seccomp::CompileOptions::default())?;
    Ok(install(&program)?)
}
