//! What both ends of runc's seccomp-agent protocol share: the parsed `listenerPath`, the
//! container process state and its size limit, and who may be at the other end
//! (`SO_PEERCRED`).
//!
//! The runtime's end is [`crate::agent_client`]; the agent's end is
//! [`crate::notify::AgentListener`]. This module uses neither, and neither do the errors
//! ([`crate::HandoffError`], [`crate::NotifyError`]) that name a [`PeerCredentials`].

use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use oci_spec::runtime::{ContainerProcessState, ContainerState, State, SECCOMP_FD_NAME};

/// The largest state message we send or accept. Agents written to runc's sample read
/// 4096 bytes; we warn above that and refuse above this.
pub const MAX_STATE_LEN: usize = 64 * 1024;

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
        Self::new([0, rustix::process::geteuid().as_raw()])
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
    let c = crate::sys::peer_credentials(socket.as_fd())?;
    Ok(PeerCredentials {
        pid: c.pid,
        uid: c.uid,
        gid: c.gid,
    })
}
