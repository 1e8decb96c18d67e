//! Hop 2, the runtime's end of runc's seccomp-agent protocol: connect to the seccomp agent
//! listening at `listenerPath` and send it the notify fd. The agent's end is
//! [`crate::notify::AgentListener`]; what both ends share is in [`crate::protocol`].
//!
//! The protocol is runc's and crun's, so existing agents work unchanged: a `SOCK_STREAM`
//! unix socket at `listenerPath` (an absolute path, or `@name` in the abstract namespace);
//! the runtime sends **one** message: the JSON [`ContainerProcessState`] with exactly one
//! fd, the notify fd, in `SCM_RIGHTS`, then closes its end.
//!
//! Connect early ([`connect_listener`] / [`connect_for_spec`]), before the workload runs,
//! so that an unreachable agent fails the container start; send ([`send_state`]) once the
//! fd came back over hop 1 ([`crate::handoff`]). Every fd made here is close-on-exec.
//!
//! Whoever listens at `listenerPath` receives the container's notify fd — the power to
//! answer its syscalls — and its state. Any local user can bind a path in a directory it
//! may write, or an abstract name (which has no permissions) before the agent does, so
//! [`connect_listener`] checks the listener's `SO_PEERCRED` before anything is sent:
//! by default only root or the caller's own uid may be the agent ([`AllowedPeers`]).

use std::collections::BTreeMap;
use std::io::{IoSlice, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use oci_seccomp::LinuxSeccomp;

use crate::error::HandoffError;
use crate::protocol::{
    peer_credentials, AllowedPeers, ContainerProcessState, ContainerState, ListenerAddress, State,
    MAX_STATE_LEN, SECCOMP_FD_NAME,
};

/// The OCI runtime-spec version this crate writes by default.
pub const OCI_VERSION: &str = "1.2.0";

/// The size of the buffer runc's sample agent reads the state into.
pub const RUNC_AGENT_BUFFER: usize = 4096;

/// The message for the seccomp agent (oci-spec's [`ContainerProcessState`], as youki sends
/// it) for process `pid` of container `id` in `bundle`: `fds: ["seccompFd"]`, `ociVersion`
/// [`OCI_VERSION`] in both objects, `pid` in both objects (the pid as the runtime sees it:
/// `fork`'s result when the container has its own pid namespace). An empty `metadata` or
/// `annotations` is left out of the JSON, as runc's `omitempty` does.
pub fn process_state(
    pid: i32,
    metadata: impl Into<String>,
    id: impl Into<String>,
    status: ContainerState,
    bundle: impl Into<PathBuf>,
    annotations: BTreeMap<String, String>,
) -> ContainerProcessState {
    let metadata = metadata.into();
    let mut state = State::default();
    state
        .set_version(OCI_VERSION.to_string())
        .set_id(id.into())
        .set_status(status)
        .set_pid(Some(pid))
        .set_bundle(bundle.into())
        .set_annotations((!annotations.is_empty()).then(|| annotations.into_iter().collect()));
    let mut message = ContainerProcessState::default();
    message
        .set_version(OCI_VERSION.to_string())
        .set_fds(vec![SECCOMP_FD_NAME.to_string()])
        .set_pid(pid)
        .set_metadata((!metadata.is_empty()).then_some(metadata))
        .set_state(state);
    message
}

/// Connects to the seccomp agent at `path` (absolute, or `@name`): a close-on-exec
/// `SOCK_STREAM` unix socket. Call it before the workload runs, so that an agent that is
/// not there fails the start.
///
/// The listener must belong to root or to the caller's uid ([`AllowedPeers::default`]);
/// use [`connect_listener_with`] to allow others.
///
/// # Errors
/// [`HandoffError::BadListenerPath`], [`HandoffError::Connect`], or
/// [`HandoffError::UntrustedListener`] naming the listener's pid, uid and gid.
pub fn connect_listener(path: impl AsRef<Path>) -> Result<UnixStream, HandoffError> {
    connect_listener_with(path, &AllowedPeers::default())
}

/// [`connect_listener`], accepting a listener whose `SO_PEERCRED` uid is in `allowed`.
///
/// # Errors
/// As [`connect_listener`].
pub fn connect_listener_with(
    path: impl AsRef<Path>,
    allowed: &AllowedPeers,
) -> Result<UnixStream, HandoffError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let addr = ListenerAddress::parse(path).ok_or_else(|| HandoffError::BadListenerPath {
        path: shown.clone(),
    })?;
    let sa = addr
        .to_socket_addr()
        .map_err(|source| HandoffError::Connect {
            path: shown.clone(),
            source,
        })?;
    // std creates the socket with SOCK_CLOEXEC.
    let stream = UnixStream::connect_addr(&sa).map_err(|source| HandoffError::Connect {
        path: shown.clone(),
        source,
    })?;
    let peer = peer_credentials(&stream).map_err(|source| HandoffError::Connect {
        path: shown.clone(),
        source,
    })?;
    if !allowed.allows(peer.uid) {
        return Err(HandoffError::UntrustedListener {
            path: shown,
            peer,
            allowed: allowed.uids().to_vec(),
        });
    }
    Ok(stream)
}

/// Whether the program compiled from `spec` returns `SECCOMP_RET_USER_NOTIF`, so that
/// installing it gives a notify fd: [`oci_seccomp::Profile::needs_listener`], the one
/// definition (a NOTIFY entry whose names none of the profile's architectures has, or
/// whose action equals the default, installs nothing). False for a profile that does not
/// validate (it cannot be installed either). [`crate::is_notify`] is the same question.
pub fn has_notify_rule(spec: &LinuxSeccomp) -> bool {
    // Without a NOTIFY entry no rule notifies (a NOTIFY default does not validate): the
    // answer for most profiles, without validating them at every start.
    let notify = oci_spec::runtime::LinuxSeccompAction::ScmpActNotify;
    if !spec
        .syscalls()
        .iter()
        .flatten()
        .any(|e| e.action() == notify)
    {
        return false;
    }
    // Validation's warnings (an unknown name skipped, ...) are the compile's to give: this
    // second look at the same profile stays quiet.
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        oci_seccomp::Profile::from_oci(spec, false).is_ok_and(|p| p.needs_listener())
    })
}

/// Connects to `spec.listenerPath` when the profile needs it: `Ok(None)` when there is no
/// listener path, or when no rule uses `SCMP_ACT_NOTIFY` (the listener path is then
/// ignored, as runc does, and no connection is made). The listener must belong to root or
/// the caller ([`connect_listener`]).
///
/// # Errors
/// As [`connect_listener`].
pub fn connect_for_spec(spec: &LinuxSeccomp) -> Result<Option<UnixStream>, HandoffError> {
    connect_for_spec_with(spec, &AllowedPeers::default())
}

/// [`connect_for_spec`] with the listener's allowed uids.
///
/// # Errors
/// As [`connect_listener`].
pub fn connect_for_spec_with(
    spec: &LinuxSeccomp,
    allowed: &AllowedPeers,
) -> Result<Option<UnixStream>, HandoffError> {
    match spec.listener_path() {
        Some(path) if has_notify_rule(spec) => connect_listener_with(path, allowed).map(Some),
        Some(path) => {
            tracing::debug!(
                path = %path.display(),
                "linux.seccomp.listenerPath is set but no rule uses SCMP_ACT_NOTIFY: ignored"
            );
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Sends `state` and exactly one fd (`notify_fd`, in `SCM_RIGHTS`) to the agent over
/// `socket`. The caller then closes the socket and its copy of the fd.
///
/// The state must name exactly one fd, `seccompFd`. The JSON goes in one `sendmsg` when
/// the socket buffer allows (runc's agents read it with one `recvmsg`).
///
/// # Errors
///
/// - [`HandoffError::State`]: `fds` is not exactly `["seccompFd"]`, or the JSON is larger
///   than [`MAX_STATE_LEN`].
/// - [`HandoffError::Io`]: `sendmsg`/`write` failed (the agent hung up, ...).
pub fn send_state(
    socket: &UnixStream,
    state: &ContainerProcessState,
    notify_fd: BorrowedFd<'_>,
) -> Result<(), HandoffError> {
    if state.fds() != &[SECCOMP_FD_NAME] {
        return Err(HandoffError::State {
            reason: format!(
                "fds must be [\"{SECCOMP_FD_NAME}\"] (exactly one fd is sent), found {:?}",
                state.fds()
            ),
        });
    }
    let json = serde_json::to_vec(state).map_err(|e| HandoffError::State {
        reason: e.to_string(),
    })?;
    if json.len() > MAX_STATE_LEN {
        return Err(HandoffError::State {
            reason: format!(
                "the JSON is {} bytes, more than the {MAX_STATE_LEN} agents accept",
                json.len()
            ),
        });
    }
    if json.len() > RUNC_AGENT_BUFFER {
        tracing::warn!(
            len = json.len(),
            "the container process state is larger than the 4096 bytes runc's sample agent reads"
        );
    }
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let fds = [notify_fd];
    let mut space = [std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    let sent = loop {
        match rustix::net::sendmsg(
            socket,
            &[IoSlice::new(&json)],
            &mut cmsg,
            SendFlags::NOSIGNAL,
        ) {
            Ok(n) => break n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(HandoffError::io(
                    "sendmsg of the container process state to the seccomp agent",
                    e.into(),
                ))
            }
        }
    };
    if sent < json.len() {
        let mut s = socket;
        s.write_all(&json[sent..]).map_err(|e| {
            HandoffError::io(
                "write of the rest of the container process state to the seccomp agent",
                e,
            )
        })?;
    }
    Ok(())
}
