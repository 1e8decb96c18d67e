//! Hop 2: the runtime hands the notify fd to the seccomp agent at `listenerPath`.
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
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::path::{Path, PathBuf};

use oci_seccomp::LinuxSeccomp;

use crate::error::HandoffError;

pub use oci_spec::runtime::{ContainerProcessState, ContainerState, State, SECCOMP_FD_NAME};

/// The OCI runtime-spec version this crate writes by default.
pub const OCI_VERSION: &str = "1.2.0";

/// The largest state message we send or accept. Agents written to runc's sample read
/// 4096 bytes; we warn above that and refuse above this.
pub const MAX_STATE_LEN: usize = 64 * 1024;

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

/// A parsed `listenerPath`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenerAddress {
    /// A socket file.
    Path(PathBuf),
    /// A name in the abstract namespace (`@name`, without the `@`).
    Abstract(Vec<u8>),
}

impl ListenerAddress {
    /// Parses a `listenerPath`: an absolute path, or `@name` for the abstract namespace.
    pub fn parse(path: &Path) -> Option<Self> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            if name.is_empty() {
                return None;
            }
            return Some(Self::Abstract(name.to_vec()));
        }
        if path.is_absolute() {
            Some(Self::Path(path.to_path_buf()))
        } else {
            None
        }
    }

    /// The socket address.
    ///
    /// # Errors
    ///
    /// An abstract name or path the kernel cannot take (too long for `sun_path`).
    pub fn to_socket_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Self::Path(p) => SocketAddr::from_pathname(p),
            Self::Abstract(n) => SocketAddr::from_abstract_name(n),
        }
    }
}

/// The uids a peer may have: the agent for the runtime, the runtime for the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedPeers {
    uids: Vec<u32>,
}

impl Default for AllowedPeers {
    /// Root and the calling process's effective uid.
    fn default() -> Self {
        Self::new([0, nix::unistd::geteuid().as_raw()])
    }
}

impl AllowedPeers {
    /// Exactly these uids (root is not added: list it if it should be allowed).
    pub fn new(uids: impl IntoIterator<Item = u32>) -> Self {
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        uids.dedup();
        Self { uids }
    }

    /// Root, the caller's effective uid, and `extra`.
    pub fn with_extra(extra: impl IntoIterator<Item = u32>) -> Self {
        Self::new(
            Self::default()
                .uids
                .into_iter()
                .chain(extra)
                .collect::<Vec<_>>(),
        )
    }

    /// Whether a peer with `uid` is allowed.
    pub fn allows(&self, uid: u32) -> bool {
        self.uids.binary_search(&uid).is_ok()
    }

    /// The allowed uids, sorted.
    pub fn uids(&self) -> &[u32] {
        &self.uids
    }
}

/// The credentials of the other end of a connected unix socket (`SO_PEERCRED`): the pid,
/// uid and gid it had when it called `connect` or `listen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCredentials {
    /// Its pid (in our pid namespace; 0 when it is not visible there).
    pub pid: i32,
    /// Its effective uid.
    pub uid: u32,
    /// Its effective gid.
    pub gid: u32,
}

impl std::fmt::Display for PeerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} uid {} gid {}", self.pid, self.uid, self.gid)
    }
}

/// Reads `SO_PEERCRED` of a connected unix socket.
///
/// # Errors
/// The `getsockopt` error (for example `ENOTCONN`).
pub fn peer_credentials(socket: impl AsFd) -> std::io::Result<PeerCredentials> {
    let c = nix::sys::socket::getsockopt(&socket, nix::sys::socket::sockopt::PeerCredentials)?;
    Ok(PeerCredentials {
        pid: c.pid(),
        uid: c.uid(),
        gid: c.gid(),
    })
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
    let fds = [notify_fd.as_raw_fd()];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    let sent = loop {
        match nix::sys::socket::sendmsg::<()>(
            socket.as_raw_fd(),
            &[IoSlice::new(&json)],
            &cmsg,
            nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => break n,
            Err(nix::errno::Errno::EINTR) => continue,
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

/// A bound on how often one kind of log line is written: at most `burst` lines per
/// `interval`, and for the rest a count, so that a peer that can trigger a line at will
/// (an unprivileged user connecting to an agent's abstract socket in a loop, each
/// connection refused) cannot make the agent write without bound.
///
/// The clock is the caller's (`now`), so the limiter is exact to test and never sleeps.
///
/// ```
/// use std::time::{Duration, Instant};
/// use oci_seccomp_load::listener::{LogGate, LogRate};
/// let start = Instant::now();
/// let mut rate = LogRate::new(2, Duration::from_secs(10), start);
/// assert_eq!(rate.admit(start), LogGate::Log);
/// assert_eq!(rate.admit(start), LogGate::Log);
/// assert_eq!(rate.admit(start), LogGate::Suppressed);
/// assert_eq!(rate.tick(start + Duration::from_secs(5)), None);
/// // The window ended: one line says how many were not logged.
/// assert_eq!(rate.tick(start + Duration::from_secs(10)), Some(1));
/// assert_eq!(rate.admit(start + Duration::from_secs(11)), LogGate::Log);
/// ```
#[derive(Clone, Debug)]
pub struct LogRate {
    burst: u32,
    interval: std::time::Duration,
    window_start: std::time::Instant,
    logged: u32,
    suppressed: u64,
    total_suppressed: u64,
}

/// What [`LogRate::admit`] decides for one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogGate {
    /// Write it.
    Log,
    /// Do not: it is counted, and [`LogRate::tick`] or [`LogRate::finish`] gives the count.
    Suppressed,
}

impl LogRate {
    /// At most `burst` lines per `interval`, the first window starting at `now`.
    pub fn new(burst: u32, interval: std::time::Duration, now: std::time::Instant) -> Self {
        Self {
            burst,
            interval,
            window_start: now,
            logged: 0,
            suppressed: 0,
            total_suppressed: 0,
        }
    }

    /// The interval of one window.
    pub fn interval(&self) -> std::time::Duration {
        self.interval
    }

    /// Lines not logged in all, so far.
    pub fn total_suppressed(&self) -> u64 {
        self.total_suppressed
    }

    /// Whether one more line may be written at `now`. Call [`LogRate::tick`] first when
    /// a window may have ended, so that its count is written before this line.
    pub fn admit(&mut self, now: std::time::Instant) -> LogGate {
        if now.saturating_duration_since(self.window_start) >= self.interval && self.suppressed == 0
        {
            self.window_start = now;
            self.logged = 0;
        }
        if self.logged < self.burst {
            self.logged += 1;
            LogGate::Log
        } else {
            self.suppressed += 1;
            self.total_suppressed += 1;
            LogGate::Suppressed
        }
    }

    /// At `now`: when the window ended with lines suppressed, their number (to be written
    /// as one line), and a new window begins. `None` otherwise.
    pub fn tick(&mut self, now: std::time::Instant) -> Option<u64> {
        if now.saturating_duration_since(self.window_start) < self.interval {
            return None;
        }
        self.window_start = now;
        self.logged = 0;
        let n = std::mem::take(&mut self.suppressed);
        (n > 0).then_some(n)
    }

    /// At the end: the lines suppressed since the last count given, if any.
    pub fn finish(&mut self) -> Option<u64> {
        let n = std::mem::take(&mut self.suppressed);
        (n > 0).then_some(n)
    }
}
