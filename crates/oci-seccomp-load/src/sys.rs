//! The crate's raw system calls. Every other call goes through rustix, the crate's one
//! syscall wrapper; these stay raw because rustix has no wrapper for them:
//!
//! - `seccomp(2)` itself (no wrapper crate of this workspace has it; `install` calls it in
//!   a forked child, where it must not allocate);
//! - the `SECCOMP_IOCTL_NOTIF_*` ioctls on a notify fd (their argument is a kernel struct
//!   the caller fills; rustix's generic `ioctl` would need an `Ioctl` impl per request for
//!   the same raw pointer);
//! - `setfsuid(2)` and `setfsgid(2)`, which rustix does not wrap;
//! - `getsockopt(SO_PEERCRED)`, whose pid rustix cannot hold when it is 0;
//! - `close(2)` of an fd whose `OwnedFd` drop would make an extra call (see [`close`]).

use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

/// `seccomp(2)`: `op` with `flags` and `args`. The return value as the kernel gives it
/// (negative with `errno` set on failure).
///
/// # Safety
/// `args` must be valid for `op` as the kernel documents it (a `sock_fprog` for
/// `SECCOMP_SET_MODE_FILTER`, a `u32` for `SECCOMP_GET_ACTION_AVAIL`, space for three
/// `u16` for `SECCOMP_GET_NOTIF_SIZES`, or null to probe).
pub(crate) unsafe fn seccomp(
    op: libc::c_uint,
    flags: libc::c_uint,
    args: *const libc::c_void,
) -> libc::c_long {
    // SAFETY: the caller guarantees `args` matches `op`; the kernel validates the rest. A
    // raw syscall allocates nothing and is async-signal-safe.
    unsafe { libc::syscall(libc::SYS_seccomp, op, flags, args) }
}

/// `ioctl(2)` `request` on notify fd `fd` with a pointer argument (`seccomp_unotify(2)`:
/// `SECCOMP_IOCTL_NOTIF_RECV`, `_SEND`, `_ID_VALID`, `_ADDFD`). The return value, or the
/// errno.
///
/// # Safety
/// `arg` must be what `request` expects.
pub(crate) unsafe fn ioctl(
    fd: BorrowedFd<'_>,
    request: libc::Ioctl,
    arg: *mut libc::c_void,
) -> Result<i32, i32> {
    // SAFETY: the fd is open for the call; the caller guarantees `arg` matches `request`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) };
    if rc >= 0 {
        Ok(rc)
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// `ioctl(2)` `request` on notify fd `fd` with an integer argument
/// (`SECCOMP_IOCTL_NOTIF_SET_FLAGS`, `seccomp_unotify(2)`), which the kernel does not
/// dereference.
pub(crate) fn ioctl_value(
    fd: BorrowedFd<'_>,
    request: libc::Ioctl,
    value: libc::c_ulong,
) -> std::io::Result<()> {
    // SAFETY: the fd is open for the call; the argument is a value, not a pointer.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, value) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `setfsuid(2)` for the calling thread: returns the previous fsuid (it reports no error;
/// calling it again with the same id tells whether it took). rustix has no `setfsuid`.
pub(crate) fn setfsuid(uid: u32) -> u32 {
    // SAFETY: setfsuid takes an integer and touches only this thread's credentials.
    unsafe { libc::setfsuid(uid) as u32 }
}

/// `setfsgid(2)` for the calling thread, as [`setfsuid`].
pub(crate) fn setfsgid(gid: u32) -> u32 {
    // SAFETY: setfsgid takes an integer and touches only this thread's credentials.
    unsafe { libc::setfsgid(gid) as u32 }
}

/// `close(2)` of `fd`: closed by hand, not dropped, because `OwnedFd`'s drop makes an
/// extra `fcntl(F_GETFD)` in debug builds, and where this is called (the child's half of
/// the handoff, with a filter in) the calls made must be the documented ones in every
/// build.
pub(crate) fn close(fd: OwnedFd) {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from the OwnedFd just consumed, so this process owns it and
    // nothing else closes it; close is async-signal-safe.
    unsafe { libc::close(raw) };
}

/// `getsockopt(2)` `SO_PEERCRED` of a connected unix socket (`unix(7)`): the peer's pid,
/// uid and gid. Raw because rustix's `socket_peercred` returns the pid as a non-zero `Pid`,
/// and the kernel reports 0 for a peer whose pid is not visible in our pid namespace.
pub(crate) fn peer_credentials(socket: BorrowedFd<'_>) -> std::io::Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the fd is open for the call; `cred` and `len` are valid output space of the
    // size `len` says.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred)
}
