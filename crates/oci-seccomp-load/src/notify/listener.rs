//! The agent's listener: the socket at `listenerPath` that runc, crun and
//! [`crate::agent_client`] connect to, whom it accepts, and the one message each sends
//! (the container's state and its notify fd). Re-exported from [`crate::notify`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{poll_in, NotifyFd};
use crate::error::NotifyError;
use crate::protocol::{
    peer_credentials, AllowedPeers, ContainerProcessState, ListenerAddress, PeerCredentials,
    MAX_STATE_LEN, SECCOMP_FD_NAME,
};

/// How [`AgentListener::bind_with`] sets up the socket and whom it accepts.
#[derive(Clone, Debug)]
pub struct AgentListenerOptions {
    /// Peers whose `SO_PEERCRED` uid is here are served; others are refused before
    /// anything is read. Default: root and the agent's own uid.
    pub allowed: AllowedPeers,
    /// Permission bits of a socket file, whatever the umask. Default `0o600`.
    pub mode: u32,
    /// Group of a socket file (default: the agent's).
    pub group: Option<u32>,
    /// Deadline for a runtime's whole message, from the accepted connection on.
    /// Default [`HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
}

impl Default for AgentListenerOptions {
    fn default() -> Self {
        Self {
            allowed: AllowedPeers::default(),
            mode: 0o600,
            group: None,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }
}

/// Renamed to [`AgentListenerOptions`].
#[deprecated(note = "renamed to AgentListenerOptions")]
pub type ListenerOptions = AgentListenerOptions;

/// The default deadline for a runtime's whole message (the runtime connects before it
/// starts the container and sends once the notify fd is there).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The seccomp agent's listening socket at `listenerPath`: the other end of
/// [`crate::agent_client::connect_listener`].
#[derive(Debug)]
pub struct AgentListener {
    inner: UnixListener,
    address: ListenerAddress,
    options: AgentListenerOptions,
}

/// Renamed to [`AgentListener`].
#[deprecated(note = "renamed to AgentListener: the agent's end, beside the runtime's agent_client")]
pub type Listener = AgentListener;

impl AsFd for AgentListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// An accepted connection from an allowed peer whose message has not been read yet.
/// [`Connection::receive`] reads it; do that off the accept loop (a slow peer then
/// delays nobody).
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    peer: PeerCredentials,
    timeout: Duration,
}

impl Connection {
    /// The peer's `SO_PEERCRED`.
    pub fn peer(&self) -> PeerCredentials {
        self.peer
    }

    /// Reads the runtime's message within the listener's handshake deadline (for the
    /// whole message, however it is split).
    ///
    /// # Errors
    /// As [`receive_message_within`].
    pub fn receive(self) -> Result<(ContainerProcessState, NotifyFd), NotifyError> {
        receive_message_within(&self.stream, self.timeout)
    }
}

/// Binds `sa` so that the socket file gets exactly `mode` and, when given, `group`: in a
/// helper thread with its own filesystem attributes (`unshare(CLONE_FS)`) and umask, and
/// with `group` as its filesystem gid, so the file is created that way — nothing is
/// changed by path afterwards (a path another user could swap) and the process's umask
/// and gid never change.
fn bind_private(
    sa: &std::os::unix::net::SocketAddr,
    mode: u32,
    group: Option<u32>,
) -> std::io::Result<UnixListener> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: CLONE_FS unshares this thread's root, cwd and umask only, not its fd
            // table (rustix's condition for the call concerns CLONE_FILES).
            unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS) }?;
            rustix::process::umask(rustix::fs::Mode::from_bits_truncate(!mode & 0o777));
            if let Some(g) = group {
                // setfsgid changes only this thread, which ends right after the bind; it
                // returns the previous id, so a second call tells whether it took.
                crate::sys::setfsgid(g);
                if crate::sys::setfsgid(g) != g {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!("cannot create the socket file with group {g}"),
                    ));
                }
            }
            UnixListener::bind_addr(sa)
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the bind thread panicked")))
    })
}

impl AgentListener {
    /// Binds and listens at `path` (an absolute path, or `@name` in the abstract
    /// namespace) with [`AgentListenerOptions::default`]: a socket file is mode 0600 whatever
    /// the umask, and only root and the agent's own uid are served. The socket is
    /// close-on-exec; a socket file is removed on drop.
    ///
    /// # Errors
    /// [`NotifyError::BadListenerPath`], or the failed `bind`.
    pub fn bind(path: impl AsRef<Path>) -> Result<Self, NotifyError> {
        Self::bind_with(path, AgentListenerOptions::default())
    }

    /// [`AgentListener::bind`] with `options`. An abstract name has no permissions: anyone can
    /// connect (only the `SO_PEERCRED` check protects it), and a warning says so.
    ///
    /// # Errors
    /// [`NotifyError::BadListenerPath`], or the failed `bind`.
    pub fn bind_with(
        path: impl AsRef<Path>,
        options: AgentListenerOptions,
    ) -> Result<Self, NotifyError> {
        let path = path.as_ref();
        let address = ListenerAddress::parse(path).ok_or_else(|| NotifyError::BadListenerPath {
            path: path.display().to_string(),
        })?;
        let sa = address
            .to_socket_addr()
            .map_err(|e| NotifyError::io("listener address", e))?;
        let inner = match &address {
            ListenerAddress::Abstract(_) => {
                tracing::warn!(
                    path = %path.display(),
                    "an abstract socket name has no permissions: any local user can connect \
                     (refused unless its uid is allowed) or bind the name first"
                );
                UnixListener::bind_addr(&sa)
            }
            ListenerAddress::Path(_) => bind_private(&sa, options.mode, options.group),
        }
        .map_err(|e| NotifyError::io("bind of the listener", e))?;
        Ok(Self {
            inner,
            address,
            options,
        })
    }

    /// The address it listens at.
    pub fn address(&self) -> &ListenerAddress {
        &self.address
    }

    /// Accepts one connection and checks its peer's `SO_PEERCRED` against the allowed
    /// uids, without reading anything.
    ///
    /// # Errors
    /// [`NotifyError::PeerRefused`] (the connection is closed), or the failed `accept`.
    pub fn accept_connection(&self) -> Result<Connection, NotifyError> {
        let (stream, _) = self
            .inner
            .accept()
            .map_err(|e| NotifyError::io("accept on the listener", e))?;
        let peer = peer_credentials(&stream)
            .map_err(|e| NotifyError::io("SO_PEERCRED of the runtime connection", e))?;
        if !self.options.allowed.allows(peer.uid) {
            return Err(NotifyError::PeerRefused {
                peer,
                allowed: self.options.allowed.uids().to_vec(),
            });
        }
        Ok(Connection {
            stream,
            peer,
            timeout: self.options.handshake_timeout,
        })
    }

    /// Accepts one runtime connection and reads its message: the container process state
    /// and the notify fd. A bad message is an error (and every fd that came with it is
    /// closed); the listener can accept again. This blocks for up to the handshake
    /// deadline on a slow peer: a server with many clients uses
    /// [`AgentListener::accept_connection`] and reads each message in its own thread.
    ///
    /// # Errors
    /// As [`AgentListener::accept_connection`] and [`Connection::receive`].
    pub fn accept(&self) -> Result<(ContainerProcessState, NotifyFd), NotifyError> {
        self.accept_connection()?.receive()
    }

    /// Waits at most `timeout` for a connection to accept: `Ok(false)` when none came.
    ///
    /// # Errors
    /// The failed `poll`.
    pub fn wait_readable(&self, timeout: Duration) -> Result<bool, NotifyError> {
        poll_in(self.inner.as_fd(), timeout)
            .map(|r| r.is_some())
            .map_err(|e| NotifyError::io("poll on the listener", e))
    }

    /// [`AgentListener::accept`] waiting at most `timeout` for a connection: `Ok(None)` when
    /// none came.
    ///
    /// # Errors
    /// As [`AgentListener::accept`].
    pub fn accept_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<(ContainerProcessState, NotifyFd)>, NotifyError> {
        if !self.wait_readable(timeout)? {
            return Ok(None);
        }
        self.accept().map(Some)
    }
}

impl Drop for AgentListener {
    fn drop(&mut self) {
        if let ListenerAddress::Path(p) = &self.address {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Checks and decodes the bytes of a runtime's message, given how many fds came with it:
/// a JSON `ContainerProcessState` whose `fds` is `["seccompFd"]`, and exactly one fd.
/// [`receive_message`] calls it; it is public so the decoding can be tested and fuzzed on
/// its own. It never panics, whatever the bytes.
///
/// # Errors
///
/// [`NotifyError::BadMessage`]: empty, larger than [`MAX_STATE_LEN`], not exactly one
/// fd, invalid JSON, or `fds` other than `["seccompFd"]`.
pub fn decode_message(data: &[u8], fd_count: usize) -> Result<ContainerProcessState, NotifyError> {
    if data.is_empty() {
        return Err(NotifyError::bad("empty message (connection closed)"));
    }
    if data.len() > MAX_STATE_LEN {
        return Err(NotifyError::bad(format!(
            "the message is larger than {MAX_STATE_LEN} bytes"
        )));
    }
    if fd_count != 1 {
        return Err(NotifyError::bad(format!(
            "{fd_count} fds received; exactly one (the seccomp notify fd) is expected"
        )));
    }
    let state: ContainerProcessState = serde_json::from_slice(data)
        .map_err(|e| NotifyError::bad(format!("invalid container process state JSON: {e}")))?;
    if state.fds() != &[SECCOMP_FD_NAME] {
        return Err(NotifyError::bad(format!(
            "fds is {:?}; [\"{SECCOMP_FD_NAME}\"] is expected",
            state.fds()
        )));
    }
    Ok(state)
}

/// Receives one chunk of the message with `recvmsg(2)`, adding every fd that came with it
/// to `fds` — all of them, also when the control data was truncated (`MSG_CTRUNC`), so
/// none stays open unowned. Returns the number of bytes and whether control data was
/// truncated.
fn recv_chunk(
    stream: &UnixStream,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> std::io::Result<(usize, bool)> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags};
    // Room for 16 fds; the kernel installs as many as fit and closes the rest.
    let mut space = [std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(16))];
    // The buffer owns every fd the kernel installs in it: those we do not take are
    // closed when it is dropped.
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = loop {
        match rustix::net::recvmsg(
            stream,
            &mut [std::io::IoSliceMut::new(buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
        ) {
            Ok(got) => break got,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    Ok((got.bytes, got.flags.contains(ReturnFlags::CTRUNC)))
}

/// Reads the runtime's message from an accepted connection within [`HANDSHAKE_TIMEOUT`]:
/// JSON container process state plus exactly one fd, which must be a seccomp notify fd.
/// On any error every received fd is closed.
///
/// # Errors
/// As [`receive_message_within`].
pub fn receive_message(
    stream: &UnixStream,
) -> Result<(ContainerProcessState, NotifyFd), NotifyError> {
    receive_message_within(stream, HANDSHAKE_TIMEOUT)
}

/// [`receive_message`] with a deadline of `timeout` for the whole message, however the
/// peer splits it (one byte every few seconds does not extend it).
///
/// # Errors
/// [`NotifyError::HandshakeTimeout`], [`NotifyError::BadMessage`] (wrong fd count,
/// truncated control data, bad JSON, too large, not a notify fd), or a failed `recvmsg`.
/// Every fd received is closed on error.
pub fn receive_message_within(
    stream: &UnixStream,
    timeout: Duration,
) -> Result<(ContainerProcessState, NotifyFd), NotifyError> {
    let deadline = Instant::now() + timeout;
    let mut data = vec![0u8; MAX_STATE_LEN + 1];
    // Owned from the moment they arrive: dropped (closed) on every early return.
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut len = 0usize;
    let mut truncated_fds = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ready = poll_in(stream.as_fd(), left)
            .map_err(|e| NotifyError::io("poll on the runtime connection", e))?;
        if ready.is_none() {
            return Err(NotifyError::HandshakeTimeout {
                waited_ms: timeout.as_millis(),
            });
        }
        let (n, ctrunc) = match recv_chunk(stream, &mut data[len..], &mut fds) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(NotifyError::io("recvmsg of the runtime's message", e)),
        };
        truncated_fds |= ctrunc;
        len += n;
        if len > MAX_STATE_LEN {
            return Err(NotifyError::bad(format!(
                "the message is larger than {MAX_STATE_LEN} bytes"
            )));
        }
        if n == 0 || truncated_fds {
            break;
        }
        match serde_json::from_slice::<serde_json::Value>(&data[..len]) {
            Ok(_) => break,
            Err(e) if e.is_eof() => continue,
            Err(_) => break,
        }
    }
    if truncated_fds {
        return Err(NotifyError::bad(format!(
            "too many fds (control data truncated after {}); exactly one is expected",
            fds.len()
        )));
    }
    let state = decode_message(&data[..len], fds.len())?;
    let Some(fd) = fds.pop() else {
        return Err(NotifyError::bad("no fd received"));
    };
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| NotifyError::io("readlink of the received fd", e))?;
    if link.as_os_str() != "anon_inode:seccomp notify" {
        return Err(NotifyError::bad(format!(
            "the fd received is {}, not a seccomp notify fd",
            link.display()
        )));
    }
    Ok((state, NotifyFd::new(fd)))
}
