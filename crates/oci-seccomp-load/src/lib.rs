//! Install a compiled seccomp program in the calling process, return the
//! user-notification fd, and hand it to a supervisor (docs/design.md §3).
//!
//! - [`install`]: one `seccomp(2)` call, no allocation, kernel support checked first.
//! - [`initialize_seccomp`]: youki's signature (compile + install), and
//!   [`initialize_seccomp_owned`] beside it.
//! - [`features()`]: what the kernel and libseccomp support, as oci-spec's `features.json`
//!   `linux.seccomp` object ([`features_report`] adds the supported actions and libseccomp).
//! - [`LaunchSeccomp`]: the seccomp part of a launch, composed for any launcher: connect
//!   to the agent, fork, install in the child, take the fd, send the state, kill the child
//!   on failure.
//! - [`handoff`]: hop 1, the notify fd from the container's init to the runtime, safe with
//!   NOTIFY on any syscall.
//! - [`agent_client`]: hop 2, the runtime's end of runc's protocol: it connects to the
//!   seccomp agent at `listenerPath` and sends the fd and the container process state.
//! - [`notify`]: the seccomp agent's end: [`AgentListener`] at `listenerPath`,
//!   notifications, answers.
//! - [`protocol`]: what both ends share (the `listenerPath` address, the state and its
//!   limit, peer credentials and the uids allowed).
//! - [`log_rate`]: a bound on log lines a peer can trigger at will.
//! - [`trace`]: the agent of trace, complain and record mode: answers each routed denial as
//!   the profile would, and reports it with the rule that decided it; [`trace::Agent`] runs
//!   it on a thread of the launcher's own process.
//! - [`emulate`]: acting for a target (mkdir) with its root, cwd and credentials.

pub mod agent_client;
pub mod emulate;
mod error;
pub mod features;
pub mod handoff;
pub mod inspect;
mod install;
pub mod launch;
pub mod log_rate;
pub mod notify;
pub mod protocol;
mod sys;
pub mod trace;

/// Renamed to [`agent_client`] (the runtime's end of runc's protocol); what both ends share
/// is in [`protocol`], the log limiter in [`log_rate`].
#[deprecated(
    note = "renamed to agent_client; the shared types are in protocol, LogRate in log_rate"
)]
pub mod listener {
    pub use crate::agent_client::*;
    pub use crate::log_rate::*;
    pub use crate::protocol::*;
}

use std::os::fd::{IntoRawFd, OwnedFd, RawFd};

pub use agent_client::{
    connect_for_spec, connect_for_spec_with, connect_listener, connect_listener_with,
    process_state, send_state,
};
pub use error::{HandoffError, LoadError, NotifyError, SeccompError};
pub use features::{features, features_report, SeccompFeatures};
pub use install::{
    action_supported, effective_flags, flag_supported, install, InstallStatus, Installed,
};
/// Renamed to [`LaunchSeccomp`].
#[deprecated(
    note = "renamed to LaunchSeccomp: the seccomp part of a launch, beside a runtime's Launcher"
)]
pub type Launch = launch::LaunchSeccomp;
/// Renamed to [`LaunchSeccompChild`].
#[deprecated(note = "renamed to LaunchSeccompChild")]
pub type LaunchChild = launch::LaunchSeccompChild;
/// Renamed to [`LaunchSeccompParent`].
#[deprecated(note = "renamed to LaunchSeccompParent")]
pub type LaunchParent = launch::LaunchSeccompParent;
pub use launch::{Delivery, LaunchSeccomp, LaunchSeccompChild, LaunchSeccompParent};
pub use log_rate::{LogGate, LogRate};
/// Renamed to [`AgentListener`].
#[deprecated(note = "renamed to AgentListener")]
pub type Listener = notify::AgentListener;
/// Renamed to [`AgentListenerOptions`].
#[deprecated(note = "renamed to AgentListenerOptions")]
pub type ListenerOptions = notify::AgentListenerOptions;
pub use notify::{
    decode_message, AgentListener, AgentListenerOptions, Connection, Notification, NotifyFd,
};
pub use oci_seccomp::{FilterFlags, LinuxSeccomp};
pub use protocol::{
    peer_credentials, AllowedPeers, ContainerProcessState, ContainerState, PeerCredentials,
};

/// Compiles `seccomp` with the default options and installs it in the calling process;
/// returns the notify fd when a rule uses `SCMP_ACT_NOTIFY`. youki's signature: the caller
/// owns the returned fd (it is close-on-exec).
///
/// Never sets no-new-privileges: without it the process needs CAP_SYS_ADMIN, and the error
/// says so. Compiling allocates; to install between `fork` and `exec` without allocating,
/// compile in the parent with [`oci_seccomp::compile`] and call [`install`] in the child.
///
/// Like youki's and runc's, it refuses `SCMP_ACT_NOTIFY` on the syscalls a caller may need
/// to pass the fd on ([`HANDOFF_SYSCALLS`]); [`handoff`] allows NOTIFY on any syscall.
///
/// # Errors
///
/// [`SeccompError::Compile`] for a profile that cannot be compiled (nothing installed),
/// [`SeccompError::NotifyOnHandoffSyscall`], [`SeccompError::Load`] when the kernel refuses
/// the filter.
pub fn initialize_seccomp(seccomp: &LinuxSeccomp) -> Result<Option<RawFd>, SeccompError> {
    Ok(initialize_seccomp_owned(seccomp)?.map(IntoRawFd::into_raw_fd))
}

/// Syscalls on which [`initialize_seccomp`] refuses `SCMP_ACT_NOTIFY`: those a caller may
/// use to hand the notify fd to its supervisor or to report (youki refuses `write`, and
/// sends the fd with `sendmsg`). Why each one: [`SeccompError`].
pub const HANDOFF_SYSCALLS: &[&str] = &["write", "writev", "sendmsg", "sendmmsg", "sendto", "send"];

/// [`initialize_seccomp`] returning an owned fd.
///
/// # Errors
///
/// As [`initialize_seccomp`].
pub fn initialize_seccomp_owned(seccomp: &LinuxSeccomp) -> Result<Option<OwnedFd>, SeccompError> {
    for (i, entry) in seccomp.syscalls().iter().flatten().enumerate() {
        if entry.action() != oci_seccomp::LinuxSeccompAction::ScmpActNotify {
            continue;
        }
        if let Some((j, name)) = entry
            .names()
            .iter()
            .enumerate()
            .find(|(_, n)| HANDOFF_SYSCALLS.contains(&n.as_str()))
        {
            return Err(SeccompError::NotifyOnHandoffSyscall {
                path: format!("syscalls[{i}].names[{j}]"),
                name: name.clone(),
            });
        }
    }
    let program = oci_seccomp::compile(seccomp, &oci_seccomp::CompileOptions::default())?;
    Ok(install(&program)?.notify_fd)
}

/// Whether [`initialize_seccomp`] returns a notify fd for `seccomp`: true when a rule that
/// is really installed uses `SCMP_ACT_NOTIFY` (a NOTIFY entry whose names libseccomp does
/// not know, or whose action equals the default, installs nothing and gives no fd).
/// youki's name and signature; false for a profile that does not validate.
pub fn is_notify(seccomp: &LinuxSeccomp) -> bool {
    agent_client::has_notify_rule(seccomp)
}
