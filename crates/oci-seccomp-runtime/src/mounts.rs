//! Mount helpers for the child: destinations opened below the rootfs without following
//! symlinks, mounts made through `/proc/self/fd/N`, and the fd's place checked afterwards
//! (the CVE-2021-30465 class). None of them allocates: paths are C strings of the plan or
//! built in stack buffers.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use nix::sys::statvfs::FsFlags;

use crate::child_message::MountOp;

/// What the last component of a mount destination must be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory (created if missing).
    Dir,
    /// Not a directory (an empty file is created if missing, never truncated).
    File,
    /// Whatever is there (nothing is created).
    Existing,
}

/// `mount(2)`; `None` arguments are null pointers.
pub(crate) fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: MsFlags,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    nix::mount::mount(source, target, fstype, flags, data)
}

/// Remounts the bind mount at `target` adding `add`, keeping the flags it has (a remount
/// without them would clear nosuid, nodev, noexec or read-only).
pub(crate) fn remount_bind(target: &CStr, add: MsFlags) -> Result<(), Errno> {
    let st = nix::sys::statvfs::statvfs(target)?;
    let mut keep = MsFlags::empty();
    for (st_flag, ms_flag) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if st.flags().contains(st_flag) {
            keep |= ms_flag;
        }
    }
    mount(
        None,
        target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | keep | add,
        None,
    )
}

/// `/proc/self/fd/N` for an fd, in a stack buffer: mounting on it mounts on what the fd
/// refers to.
pub(crate) struct ProcFd {
    buf: [u8; 32],
}

impl ProcFd {
    pub(crate) fn new(fd: &impl AsRawFd) -> Self {
        let mut buf = [0u8; 32];
        let prefix = b"/proc/self/fd/";
        buf[..prefix.len()].copy_from_slice(prefix);
        let mut n = fd.as_raw_fd().max(0) as u32;
        let mut digits = [0u8; 10];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (i, d) in digits[..k].iter().rev().enumerate() {
            buf[prefix.len() + i] = *d;
        }
        Self { buf }
    }

    pub(crate) fn as_cstr(&self) -> &CStr {
        // The buffer is zero-filled past the digits: there is always a NUL.
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"/proc/self/fd")
    }
}

/// Opens `rel` below `root` as an `O_PATH` fd, one component at a time with
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, creating missing components with
/// `mkdirat` / `openat(O_CREAT | O_EXCL | O_NOFOLLOW)` relative to the parent's fd. A
/// symlink anywhere is refused: nothing outside the rootfs is ever opened or created.
pub(crate) fn open_in_root(
    root: &OwnedFd,
    rel: &Path,
    last: Kind,
) -> Result<OwnedFd, (MountOp, Errno)> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    let mut cur = root
        .try_clone()
        .map_err(|_| (MountOp::Dup, Errno::last()))?;
    let mut parts = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .peekable();
    while let Some(part) = parts.next() {
        let part: &OsStr = part;
        let kind = if parts.peek().is_none() {
            last
        } else {
            Kind::Dir
        };
        let mut created = false;
        let fd = loop {
            match nix::fcntl::openat2(&cur, part, how) {
                Ok(fd) => break fd,
                Err(Errno::ENOENT) if kind != Kind::Existing && !created => {
                    created = true;
                    let r = if kind == Kind::Dir {
                        nix::sys::stat::mkdirat(&cur, part, Mode::from_bits_truncate(0o755))
                    } else {
                        nix::fcntl::openat(
                            &cur,
                            part,
                            OFlag::O_CREAT
                                | OFlag::O_EXCL
                                | OFlag::O_NOFOLLOW
                                | OFlag::O_WRONLY
                                | OFlag::O_CLOEXEC,
                            Mode::from_bits_truncate(0o644),
                        )
                        .map(drop)
                    };
                    match r {
                        Ok(()) | Err(Errno::EEXIST) => continue,
                        Err(e) => return Err((MountOp::Create, e)),
                    }
                }
                Err(e @ (Errno::ELOOP | Errno::EXDEV)) => return Err((MountOp::Symlink, e)),
                Err(e) => return Err((MountOp::Open, e)),
            }
        };
        let st = nix::sys::stat::fstat(&fd).map_err(|e| (MountOp::Stat, e))?;
        let fmt = st.st_mode & libc::S_IFMT;
        if fmt == libc::S_IFLNK {
            return Err((MountOp::Symlink, Errno::ELOOP));
        } else if kind == Kind::Dir && fmt != libc::S_IFDIR {
            return Err((MountOp::NotDirectory, Errno::ENOTDIR));
        } else if kind == Kind::File && fmt == libc::S_IFDIR {
            return Err((MountOp::Directory, Errno::EISDIR));
        }
        cur = fd;
    }
    Ok(cur)
}

/// The mount id of what `fd` refers to (statx STATX_MNT_ID).
pub(crate) fn mnt_id(fd: &OwnedFd) -> Result<u64, Errno> {
    crate::sys::mount_id(fd.as_fd())
}

/// Checks that `fd` still is at `expected` (a normalised host path inside the rootfs).
pub(crate) fn check_place(fd: &OwnedFd, expected: &CStr) -> Result<(), (MountOp, Errno)> {
    let mut buf = [0u8; 4096];
    let n = crate::sys::readlink(ProcFd::new(fd).as_cstr(), &mut buf[..])
        .map_err(|e| (MountOp::Stat, e))?;
    if n >= buf.len() || buf[..n] != *expected.to_bytes() {
        return Err((MountOp::Moved, Errno::UnknownErrno));
    }
    Ok(())
}

/// readonlyPaths (as runc): bind the path on itself and remount it read-only, keeping its
/// other flags (nosuid, nodev, noexec, atime). A path that does not exist is skipped.
pub(crate) fn readonly_path(p: &CStr) -> Result<(), (crate::child_message::PathOp, Errno)> {
    use crate::child_message::PathOp;
    match mount(Some(p), p, None, MsFlags::MS_BIND | MsFlags::MS_REC, None) {
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err((PathOp::ReadonlyBind, e)),
        Ok(()) => {}
    }
    remount_bind(p, MsFlags::MS_RDONLY).map_err(|e| (PathOp::ReadonlyRemount, e))
}

/// The container's /dev/null must be the null device before anything is masked with it.
pub(crate) fn check_dev_null() -> Result<(), (crate::child_message::PathOp, Errno)> {
    use crate::child_message::PathOp;
    match nix::sys::stat::stat(c"/dev/null") {
        Ok(st)
            if st.st_mode & libc::S_IFMT == libc::S_IFCHR
                && libc::major(st.st_rdev) == 1
                && libc::minor(st.st_rdev) == 3 =>
        {
            Ok(())
        }
        Ok(_) => Err((PathOp::DevNullNotNull, Errno::UnknownErrno)),
        Err(e) => Err((PathOp::DevNullStat, e)),
    }
}

/// maskedPaths (as runc): /dev/null over a file, a read-only empty tmpfs over a
/// directory. A path that does not exist is skipped.
pub(crate) fn mask_path(p: &CStr) -> Result<(), (crate::child_message::PathOp, Errno)> {
    use crate::child_message::PathOp;
    let st = match nix::sys::stat::stat(p) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err((PathOp::MaskStat, e)),
    };
    let r = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        mount(
            Some(c"tmpfs"),
            p,
            Some(c"tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some(c"mode=0555"),
        )
    } else {
        mount(Some(c"/dev/null"), p, None, MsFlags::MS_BIND, None)
    };
    r.map_err(|e| (PathOp::MaskMount, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fd_paths() {
        let show = |n| ProcFd::new(&n).as_cstr().to_str().unwrap().to_string();
        assert_eq!(show(0), "/proc/self/fd/0");
        assert_eq!(show(7), "/proc/self/fd/7");
        assert_eq!(show(1234567), "/proc/self/fd/1234567");
        assert_eq!(show(i32::MAX), "/proc/self/fd/2147483647");
    }
}
