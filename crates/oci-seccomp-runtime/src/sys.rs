//! The runtime's raw system calls. Every other call goes through nix, the crate's one
//! syscall wrapper; these stay raw, each for the reason in its doc comment:
//!
//! - nix has no wrapper for the call (`close_range`, `keyctl`, `capset`, `capget`, the
//!   capability `prctl`s, `statx`);
//! - nix's wrapper would allocate or take an `AsFd` where the child after `fork` has
//!   neither (`readlinkat`, `execve`, `fcntl` on a number that may not be open);
//! - a read-back that a seccomp filter could fake must start from a value that cannot be
//!   the planned one, which nix's wrappers (reading into their own zeroed or uninitialised
//!   space) do not let the caller choose (`getresuid`, `getresgid`, `getgroups`,
//!   `getrlimit`, `capget`);
//! - `_exit`, which no wrapper provides.
//!
//! All of them are async-signal-safe and allocate nothing: the child calls them after
//! `fork`, some with a filter in.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;

/// `_exit(2)`: ends the child without running destructors or atexit handlers (which must
/// not run in a forked child). No wrapper crate has it; `std::process::exit` runs them.
pub(crate) fn exit(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and always sound.
    unsafe { libc::_exit(code) }
}

/// `close_range(2)` with `CLOSE_RANGE_CLOEXEC` from `first` to the last fd (Linux 5.11):
/// marks every fd close-on-exec and closes none. nix has no `close_range`.
pub(crate) fn close_range_cloexec(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes no pointers and, with CLOSE_RANGE_CLOEXEC, closes nothing;
    // a raw syscall is async-signal-safe.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(rc).map(drop)
}

/// `fcntl(2)` `F_SETFD FD_CLOEXEC` on fd number `fd`, which may not be open (then it fails
/// with EBADF, ignored). Raw: nix's `fcntl` takes an `AsFd`, and a `BorrowedFd` must be open;
/// the fd is not owned here, so it is not wrapped in an `OwnedFd` either.
pub(crate) fn set_cloexec_raw(fd: i32) {
    // SAFETY: F_SETFD on a number that may not be open only fails with EBADF; fcntl is
    // async-signal-safe.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// `keyctl(2)` `KEYCTL_JOIN_SESSION_KEYRING` with no name: a new anonymous session keyring.
/// Neither nix nor any other wrapper crate of this workspace wraps `keyctl`.
pub(crate) fn join_session_keyring() -> Result<(), Errno> {
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING with a null name reads no memory of ours; a raw
    // syscall is async-signal-safe.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            libc::KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// `prctl(2)` with an option and up to two arguments, the others 0 (the capability
/// options refuse non-zero unused arguments with EINVAL). nix wraps only some options of
/// `prctl`, none of the capability ones.
fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> Result<i32, Errno> {
    // SAFETY: the options called here take integers only, no pointers; prctl is
    // async-signal-safe.
    let rc = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    Errno::result(rc)
}

/// `prctl(PR_CAPBSET_DROP, cap)`: drops `cap` from the bounding set (capabilities(7)).
pub(crate) fn bounding_drop(cap: u32) -> Result<(), Errno> {
    prctl(libc::PR_CAPBSET_DROP, cap.into(), 0).map(drop)
}

/// `prctl(PR_CAPBSET_READ, cap)`: whether `cap` is in the bounding set; EINVAL past the
/// kernel's last capability.
pub(crate) fn bounding_has(cap: u32) -> Result<bool, Errno> {
    prctl(libc::PR_CAPBSET_READ, cap.into(), 0).map(|r| r != 0)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`: empties the ambient set; EINVAL on a
/// kernel without ambient capabilities.
pub(crate) fn ambient_clear() -> Result<(), Errno> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )
    .map(drop)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)`: raises `cap` in the ambient set.
pub(crate) fn ambient_raise(cap: u32) -> Result<(), Errno> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
        cap.into(),
    )
    .map(drop)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap)`: whether `cap` is in the ambient set.
pub(crate) fn ambient_has(cap: u32) -> Result<bool, Errno> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong,
        cap.into(),
    )
    .map(|r| r != 0)
}

/// `capget(2)`/`capset(2)`'s header (linux/capability.h).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `capget(2)`/`capset(2)`'s data, one of two 32-bit halves (linux/capability.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The low and high halves of three 64-bit sets, as `capset` takes them.
fn split(sets: [u64; 3]) -> [CapData; 2] {
    let half = |shift: u32| CapData {
        effective: (sets[0] >> shift) as u32,
        permitted: (sets[1] >> shift) as u32,
        inheritable: (sets[2] >> shift) as u32,
    };
    [half(0), half(32)]
}

/// `capset(2)` of this thread's `[effective, permitted, inheritable]` sets. nix has no
/// `capset`.
pub(crate) fn capset(sets: [u64; 3]) -> Result<(), Errno> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = split(sets);
    // SAFETY: capset reads a v3 header and two data structs, which is what we pass; a raw
    // syscall is async-signal-safe.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// `capget(2)`: this thread's `[effective, permitted, inheritable]` sets. The output starts
/// as all ones, bits no kernel has, so a faked `capget` (success without output) never
/// reads as a plan. nix has no `capget`.
pub(crate) fn capget() -> Option<[u64; 3]> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: u32::MAX,
        permitted: u32::MAX,
        inheritable: u32::MAX,
    }; 2];
    // SAFETY: capget writes a v3 header and two data structs, which is what we pass; a raw
    // syscall is async-signal-safe.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return None;
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Some([
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ])
}

/// `getresuid(2)`, starting from `u32::MAX` (never a planned id): a faked call (success
/// without output) never reads as a plan. `None` if it failed.
pub(crate) fn getresuid() -> Option<[u32; 3]> {
    let (mut r, mut e, mut s) = (u32::MAX, u32::MAX, u32::MAX);
    // SAFETY: three valid output pointers; getresuid is async-signal-safe.
    let rc = unsafe { libc::getresuid(&mut r, &mut e, &mut s) };
    (rc == 0).then_some([r, e, s])
}

/// `getresgid(2)`, as [`getresuid`].
pub(crate) fn getresgid() -> Option<[u32; 3]> {
    let (mut r, mut e, mut s) = (u32::MAX, u32::MAX, u32::MAX);
    // SAFETY: three valid output pointers; getresgid is async-signal-safe.
    let rc = unsafe { libc::getresgid(&mut r, &mut e, &mut s) };
    (rc == 0).then_some([r, e, s])
}

/// `getgroups(2)` into `scratch` (allocated before `fork`; nix's `getgroups` allocates),
/// which the caller filled with values that cannot be planned ones. The number of groups,
/// or `None` if it failed.
pub(crate) fn getgroups(scratch: &mut [libc::gid_t]) -> Option<usize> {
    // SAFETY: `scratch` is valid for `scratch.len()` entries; getgroups is
    // async-signal-safe.
    let n = unsafe { libc::getgroups(scratch.len() as libc::c_int, scratch.as_mut_ptr()) };
    usize::try_from(n).ok()
}

/// `getrlimit(2)` of `resource`, starting from `start` (which the caller picks unlike the
/// planned limits, so that a faked call never reads as the plan). `None` if it failed.
pub(crate) fn getrlimit(
    resource: nix::sys::resource::Resource,
    start: libc::rlimit,
) -> Option<libc::rlimit> {
    let mut lim = start;
    // SAFETY: `lim` is valid output space; getrlimit is async-signal-safe.
    let rc = unsafe { libc::getrlimit(resource as _, &mut lim) };
    (rc == 0).then_some(lim)
}

/// `statx(2)` of `fd` itself (`AT_EMPTY_PATH`, not following a symlink) for
/// `STATX_MNT_ID`: the mount id, ENOSYS when the kernel does not report it. nix has no
/// `statx`.
pub(crate) fn mount_id(fd: BorrowedFd<'_>) -> Result<u64, Errno> {
    // SAFETY: statx is plain integers and arrays, for which all zeroes is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open for the call, the path is a NUL-terminated empty string, `stx`
    // is valid output space; a raw syscall is async-signal-safe.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut stx as *mut libc::statx,
        )
    };
    Errno::result(rc)?;
    if stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(Errno::ENOSYS);
    }
    Ok(stx.stx_mnt_id)
}

/// `readlink(2)` of `path` into `buf` (a stack buffer: nix's `readlink` allocates the
/// result, and the mount steps allocate nothing). The number of bytes written.
pub(crate) fn readlink(path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `path` is NUL-terminated, `buf` is valid for `buf.len()` bytes; readlink is
    // async-signal-safe.
    let n = unsafe { libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(n).map(|n| n as usize)
}

/// `execve(2)` of `path` with `argv` and `envp`, null-terminated arrays made before `fork`.
/// Returns only on failure, with its errno. nix's `execve` would allocate the pointer arrays
/// after the filter is in.
pub(crate) fn execve(
    path: &CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> i32 {
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are null-terminated arrays of
    // NUL-terminated strings made before fork that live until execve returns (it only
    // returns on failure); execve is async-signal-safe.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last_raw()
}
