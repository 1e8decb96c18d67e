//! The system calls this crate makes without nix, its syscall-wrapper crate: every other
//! call (the cache's files, uname, memfd_create) goes through nix. Each function names
//! its man page and why it is raw.

use std::io;

/// Fills as much of `buf` as the kernel gives at once with random bytes (getrandom(2),
/// flags 0: the urandom source, blocking only until it is first seeded), returning how
/// many; `Err` with the errno otherwise (`EINTR` included: the caller retries).
///
/// Raw because nix has no getrandom wrapper, and the alternative, reading
/// `/dev/urandom`, needs that device node, which a minimal chroot or container may lack.
pub(crate) fn getrandom(buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: getrandom writes at most `buf.len()` bytes, into `buf`, which is valid and
    // exclusively borrowed for the call.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}
