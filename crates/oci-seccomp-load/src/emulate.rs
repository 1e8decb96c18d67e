//! Acting for a notification's target: `mkdir`/`mkdirat` done by the agent exactly as the
//! kernel would do it for the target, never with the agent's own powers.
//!
//! An agent usually runs as root on the host; the target is a container process. Doing its
//! syscall naively would resolve the path in the agent's root and cwd and create the
//! directory as root. [`mkdir_for_target`] instead:
//!
//! - refuses a target whose root is the agent's own root unless
//!   [`MkdirOptions::allow_host_root`] (an unconfined local process could otherwise make
//!   the agent act on the host for it);
//! - resolves the path as the kernel would for the target — absolute paths from its root,
//!   relative ones from its cwd or from the `dirfd` of `mkdirat`, `..` and symlinks
//!   included — with `openat2(RESOLVE_IN_ROOT)` under `/proc/PID/root`, so `..` and
//!   absolute symlinks never leave the target's root (magic links are refused);
//! - acts with the target's credentials: in a short-lived helper thread with its own
//!   filesystem attributes (`unshare(CLONE_FS)`) that takes the target's fsuid, fsgid,
//!   supplementary groups and umask, and keeps only the effective capabilities the target
//!   also has (all per-thread on Linux), so the agent's own credentials never change;
//! - checks that the notification is still pending after reading the target's memory and
//!   `/proc` files, and right before acting.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

// The errors are nix's `Errno`, which `mkdir_for_target` returns (a public type the callers
// match on); the calls are rustix's, their errors converted by `nix_errno`.
use nix::errno::Errno;

use crate::notify::{Notification, NotifyFd};
use crate::NotifyError;

/// What [`mkdir_for_target`] may do.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MkdirOptions {
    /// Serve targets whose root is the agent's own root (processes on the host, not in a
    /// container). Off by default.
    pub allow_host_root: bool,
    /// Appended to the last component as `-SUFFIX` (runc's sample agent appends the
    /// listener metadata); empty for none.
    pub suffix: String,
}

impl MkdirOptions {
    /// Options that serve host-root targets when `allow` is true.
    #[must_use]
    pub fn with_allow_host_root(mut self, allow: bool) -> Self {
        self.allow_host_root = allow;
        self
    }

    /// Options that append `-suffix` to the created name (nothing when empty).
    #[must_use]
    pub fn with_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = suffix.into();
        self
    }
}

/// The filesystem credentials of a process, from `/proc/PID/status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetCredentials {
    /// Filesystem uid (as seen from the agent's user namespace).
    pub fsuid: u32,
    /// Filesystem gid.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// File-creation mask.
    pub umask: u32,
    /// Effective capabilities (`CapEff`, a bit per capability).
    pub cap_eff: u64,
}

impl TargetCredentials {
    /// Parses the text of `/proc/PID/status`.
    ///
    /// # Errors
    /// A message naming the missing or malformed line (`Uid`, `Gid`, `Groups`, `Umask`).
    pub fn parse_status(text: &str) -> Result<Self, String> {
        let line = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).map(str::trim))
                .ok_or_else(|| format!("/proc/PID/status has no {key} line"))
        };
        let fourth = |key: &str| -> Result<u32, String> {
            line(key)?
                .split_whitespace()
                .nth(3)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("/proc/PID/status: {key} has no filesystem id"))
        };
        let groups = line("Groups:")?
            .split_whitespace()
            .map(|g| {
                g.parse()
                    .map_err(|_| format!("/proc/PID/status: Groups: {g:?}"))
            })
            .collect::<Result<Vec<u32>, String>>()?;
        let umask = u32::from_str_radix(line("Umask:")?, 8)
            .map_err(|_| "/proc/PID/status: bad Umask".to_string())?;
        let cap_eff = u64::from_str_radix(line("CapEff:")?, 16)
            .map_err(|_| "/proc/PID/status: bad CapEff".to_string())?;
        Ok(Self {
            cap_eff,
            fsuid: fourth("Uid:")?,
            fsgid: fourth("Gid:")?,
            groups,
            umask,
        })
    }
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

fn gone_to_errno(e: NotifyError) -> Errno {
    match e {
        NotifyError::TargetGone { .. } => Errno::ENOENT,
        NotifyError::StringTooLong { .. } => Errno::ENAMETOOLONG,
        _ => Errno::EFAULT,
    }
}

fn open_path_dir(path: &str) -> Result<OwnedFd, Errno> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(nix_errno)
}

/// The path of an fd as this process sees it (`/proc/self/fd/N`).
fn fd_path(fd: &OwnedFd) -> Result<Vec<u8>, Errno> {
    let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| errno_of(&e))?;
    Ok(p.into_os_string().into_vec())
}

/// `start`'s path below `root`, without a leading `/` (empty for the root itself).
/// `EACCES` when `start` is not inside `root` (the target's cwd or dirfd points outside
/// its root): we never act there.
fn relative_to_root(root: &[u8], start: &[u8]) -> Result<Vec<u8>, Errno> {
    if start.ends_with(b" (deleted)") {
        return Err(Errno::ENOENT);
    }
    let rel = if root == b"/" {
        start.strip_prefix(b"/")
    } else if start == root {
        Some(&b""[..])
    } else {
        start.strip_prefix(root).and_then(|r| r.strip_prefix(b"/"))
    };
    rel.map(<[u8]>::to_vec).ok_or(Errno::EACCES)
}

/// rustix's errno as nix's (the type this module returns).
fn nix_errno(e: rustix::io::Errno) -> Errno {
    Errno::from_raw(e.raw_os_error())
}

/// `openat2(root, path, O_PATH|O_DIRECTORY, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)`.
fn open_in_root(root: &OwnedFd, path: &CString) -> Result<OwnedFd, Errno> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    loop {
        match rustix::fs::openat2(
            root,
            path.as_c_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Ok(fd),
            // RESOLVE_IN_ROOT says EAGAIN when a rename raced the walk: try again.
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
            Err(e) => return Err(nix_errno(e)),
        }
    }
}

/// Takes the target's filesystem credentials in the calling thread only: rustix's
/// `set_thread_groups` is the raw per-thread syscall (glibc's `setgroups` would change
/// every thread), and `setfsuid`/`setfsgid` are per-thread by nature.
///
/// The groups are set only when they differ from the thread's own: an agent without
/// CAP_SETGID (one a user runs for their own workloads) cannot call `setgroups` at all, and
/// needs to only when the target's groups are not its own (then it refuses, `EPERM`).
fn become_target(c: &TargetCredentials) -> Result<(), Errno> {
    // SAFETY: CLONE_FS unshares this thread's root, cwd and umask only, not its fd table
    // (rustix's condition for the call concerns CLONE_FILES).
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS) }
        .map_err(nix_errno)?;
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(c.umask & 0o777));
    let mut want = c.groups.clone();
    want.sort_unstable();
    want.dedup();
    let mut have: Vec<u32> = rustix::process::getgroups()
        .map_err(nix_errno)?
        .into_iter()
        .map(rustix::process::Gid::as_raw)
        .collect();
    have.sort_unstable();
    have.dedup();
    if have != want {
        let groups: Vec<rustix::process::Gid> = c
            .groups
            .iter()
            .map(|&g| rustix::process::Gid::from_raw(g))
            .collect();
        rustix::thread::set_thread_groups(&groups).map_err(nix_errno)?;
    }
    let (gid, uid) = (c.fsgid, c.fsuid);
    crate::sys::setfsgid(gid);
    crate::sys::setfsuid(uid);
    // setfsuid/setfsgid report no error: they return the previous id, so calling again
    // with the same id tells whether it took.
    if crate::sys::setfsgid(gid) != gid || crate::sys::setfsuid(uid) != uid {
        return Err(Errno::EPERM);
    }
    keep_only_caps(c.cap_eff)
}

/// Drops from the calling thread's effective set every capability not in `keep`
/// (capabilities are per-thread; rustix's `capget`/`capset` with no pid act on the
/// calling thread). The effective set only shrinks, so it stays within the permitted set.
fn keep_only_caps(keep: u64) -> Result<(), Errno> {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
    let mut sets = capabilities(None).map_err(nix_errno)?;
    sets.effective &= CapabilitySet::from_bits_retain(keep);
    set_capabilities(None, sets).map_err(nix_errno)
}

/// Does notification `n`'s `mkdir(path, mode)` or `mkdirat(dirfd, path, mode)` for its
/// target, as described in the module docs, and returns the path created, as the target
/// names it (`-suffix` included). The caller answers the notification: 0 on success,
/// the errno otherwise.
///
/// # Errors
/// The errno for the target: what the kernel would have said (`EEXIST`, `EACCES`,
/// `ENOENT`, `ENOTDIR`, `ELOOP`, ...), `EPERM` for a target in the agent's own root
/// without [`MkdirOptions::allow_host_root`], `EACCES` when the start directory is
/// outside the target's root, `ENOENT` when the target went away, `ENOSYS` for another
/// syscall.
pub fn mkdir_for_target(
    fd: &NotifyFd,
    n: &Notification,
    opts: &MkdirOptions,
) -> Result<OsString, Errno> {
    let name = n.syscall_name();
    let (path_idx, mode_idx, dirfd) = match name.as_deref() {
        Some("mkdir") => (0, 1, libc::AT_FDCWD),
        Some("mkdirat") => (1, 2, n.args[0] as i32),
        _ => return Err(Errno::ENOSYS),
    };
    let path = fd
        .read_string_arg(n, path_idx, 4096)
        .map_err(gone_to_errno)?;
    let mut new = path.as_bytes().to_vec();
    if new.is_empty() {
        return Err(Errno::ENOENT);
    }
    while new.len() > 1 && new.ends_with(b"/") {
        new.pop();
    }
    let root = open_path_dir(&format!("/proc/{}/root", n.pid)).map_err(|_| Errno::ENOENT)?;
    if !fd.id_valid(n.id) {
        return Err(Errno::ENOENT);
    }
    let ours = open_path_dir("/proc/self/root")?;
    let (a, b) = (
        rustix::fs::fstat(&root).map_err(nix_errno)?,
        rustix::fs::fstat(&ours).map_err(nix_errno)?,
    );
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) && !opts.allow_host_root {
        tracing::warn!(
            pid = n.pid,
            "refusing to act for a process whose root is the agent's own root (not a container)"
        );
        return Err(Errno::EPERM);
    }
    let creds = std::fs::read_to_string(format!("/proc/{}/status", n.pid))
        .map_err(|_| Errno::ENOENT)
        .and_then(|t| TargetCredentials::parse_status(&t).map_err(|_| Errno::EIO))?;
    // The status read was the target's, not a reused pid's.
    if !fd.id_valid(n.id) {
        return Err(Errno::ENOENT);
    }
    let absolute = new.first() == Some(&b'/');
    let mut full = Vec::with_capacity(new.len() + 256);
    if !absolute {
        let start = if dirfd == libc::AT_FDCWD {
            format!("/proc/{}/cwd", n.pid)
        } else if dirfd < 0 {
            return Err(Errno::EBADF);
        } else {
            format!("/proc/{}/fd/{dirfd}", n.pid)
        };
        let start = open_path_dir(&start).map_err(|e| match e {
            Errno::ENOENT => Errno::EBADF,
            e => e,
        })?;
        if !fd.id_valid(n.id) {
            return Err(Errno::ENOENT);
        }
        full = relative_to_root(&fd_path(&root)?, &fd_path(&start)?)?;
        if !full.is_empty() {
            full.push(b'/');
        }
    }
    full.extend_from_slice(&new);
    let (parent, leaf) = match full.iter().rposition(|&b| b == b'/') {
        Some(i) => (full[..i].to_vec(), full[i + 1..].to_vec()),
        None => (Vec::new(), full.clone()),
    };
    if leaf.is_empty() || leaf == b"." || leaf == b".." {
        return Err(Errno::EEXIST);
    }
    let mut leaf = leaf;
    if !opts.suffix.is_empty() {
        leaf.push(b'-');
        leaf.extend_from_slice(opts.suffix.as_bytes());
        new.push(b'-');
        new.extend_from_slice(opts.suffix.as_bytes());
    }
    let parent = if parent.is_empty() {
        b".".to_vec()
    } else {
        parent
    };
    let parent = CString::new(parent).map_err(|_| Errno::EINVAL)?;
    let leaf = CString::new(leaf).map_err(|_| Errno::EINVAL)?;
    let mode = (n.args[mode_idx] & 0o7777) as libc::mode_t;
    std::thread::scope(|s| {
        s.spawn(|| -> Result<(), Errno> {
            become_target(&creds)?;
            let dir = open_in_root(&root, &parent)?;
            // The target still waits (its pid was not reused) right before we act.
            if !fd.id_valid(n.id) {
                return Err(Errno::ENOENT);
            }
            rustix::fs::mkdirat(
                &dir,
                leaf.as_c_str(),
                rustix::fs::Mode::from_bits_truncate(mode),
            )
            .map_err(nix_errno)
        })
        .join()
        .unwrap_or(Err(Errno::EIO))
    })?;
    Ok(OsString::from_vec(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parses() {
        let c = TargetCredentials::parse_status(
            "Name:\tsh\nUmask:\t0027\nUid:\t1\t2\t3\t4242\nGid:\t5\t6\t7\t4243\nGroups:\t10 11 \nCapEff:\t00000000a80425fb\n",
        )
        .unwrap();
        assert_eq!(
            c,
            TargetCredentials {
                fsuid: 4242,
                fsgid: 4243,
                groups: vec![10, 11],
                umask: 0o027,
                cap_eff: 0xa804_25fb,
            }
        );
        assert!(TargetCredentials::parse_status("Uid:\t1\n").is_err());
    }

    #[test]
    fn relative_paths_below_the_root() {
        assert_eq!(relative_to_root(b"/", b"/tmp/a").unwrap(), b"tmp/a");
        assert_eq!(relative_to_root(b"/", b"/").unwrap(), b"");
        assert_eq!(relative_to_root(b"/r", b"/r").unwrap(), b"");
        assert_eq!(relative_to_root(b"/r", b"/r/x").unwrap(), b"x");
        assert_eq!(relative_to_root(b"/r", b"/rx"), Err(Errno::EACCES));
        assert_eq!(relative_to_root(b"/r", b"/other"), Err(Errno::EACCES));
        assert_eq!(relative_to_root(b"/", b"/x (deleted)"), Err(Errno::ENOENT));
    }
}
