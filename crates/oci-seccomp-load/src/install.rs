//! Installing a compiled program with one `seccomp(2)` call.

use std::os::fd::{FromRawFd, OwnedFd};

use oci_seccomp::simulate::{ret, BPF_RET_K};
use oci_seccomp::{FilterFlags, Program};

use crate::error::LoadError;

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;

/// Calls `seccomp(2)` directly.
///
/// # Safety
/// `args` must be valid for `op` as the kernel documents it (a `sock_fprog` for
/// `SECCOMP_SET_MODE_FILTER`, a `u32` for `SECCOMP_GET_ACTION_AVAIL`, or null to probe).
unsafe fn seccomp(
    op: libc::c_uint,
    flags: libc::c_uint,
    args: *const libc::c_void,
) -> libc::c_long {
    // SAFETY: the caller guarantees `args` matches `op`; the kernel validates the rest.
    unsafe { libc::syscall(libc::SYS_seccomp, op, flags, args) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Whether the kernel knows filter flag `flag`.
///
/// Probes with a null program: the kernel checks the flags before reading the program, so
/// EFAULT means "known", EINVAL "unknown". Flags that the kernel only accepts in company
/// (`WAIT_KILLABLE_RECV` needs `NEW_LISTENER`) are probed with it. Nothing is installed.
/// Makes no allocation.
pub fn flag_supported(flag: FilterFlags) -> bool {
    let mut probe = flag;
    if flag.contains(FilterFlags::WAIT_KILLABLE_RECV) {
        // The kernel accepts WAIT_KILLABLE_RECV only together with NEW_LISTENER.
        probe |= FilterFlags::NEW_LISTENER;
    }
    if probe.contains(FilterFlags::TSYNC) && probe.contains(FilterFlags::NEW_LISTENER) {
        probe |= FilterFlags::TSYNC_ESRCH;
    }
    // SAFETY: a null `args` is never dereferenced successfully; the kernel checks the flags
    // and then fails to copy the program with EFAULT, before creating any listener.
    let rc = unsafe { seccomp(SECCOMP_SET_MODE_FILTER, probe.bits(), std::ptr::null()) };
    rc < 0 && errno() == libc::EFAULT
}

/// Whether the kernel supports the action of filter return value `ret_value`
/// (`SECCOMP_GET_ACTION_AVAIL`). Makes no allocation.
pub fn action_supported(ret_value: u32) -> bool {
    let action: u32 = ret_value & ret::ACTION_FULL;
    // SAFETY: `action` is a valid u32 that outlives the call.
    let rc = unsafe { seccomp(SECCOMP_GET_ACTION_AVAIL, 0, (&action as *const u32).cast()) };
    rc == 0
}

/// The flags [`install`] passes to `seccomp(2)` for `program` on this kernel: the
/// program's required flags, its optional flags where supported, `NEW_LISTENER` when the
/// program needs a listener, and `TSYNC_ESRCH` when TSYNC and a listener meet.
pub fn effective_flags(program: &Program) -> FilterFlags {
    let mut flags = program.flags();
    let optional = program.optional_flags();
    for bit in 0..32 {
        let f = FilterFlags::from_bits_retain(1 << bit);
        if optional.contains(f) && flag_supported(f) {
            flags |= f;
        }
    }
    if program.needs_listener() {
        flags |= FilterFlags::NEW_LISTENER;
        if flags.contains(FilterFlags::TSYNC) {
            flags |= FilterFlags::TSYNC_ESRCH;
        }
    }
    flags
}

/// Installs `program` in the calling thread (all threads with TSYNC) and returns the
/// user-notification fd when the program needs a listener.
///
/// One `seccomp(SECCOMP_SET_MODE_FILTER)` call with the program's flags — not
/// libseccomp's `load()`, which on 2.5.x cannot set `WAIT_KILLABLE_RECV`. Before it, every
/// required flag and every action the program returns is checked against the kernel, so a
/// missing feature is a named error and nothing is installed.
///
/// This function makes no heap allocation, on success or failure, so a runtime may call it
/// in a child between `fork` and `exec`. It never sets no-new-privileges: the caller (the
/// OCI `process.noNewPrivileges`) decides that.
///
/// `install` enforces exactly the instructions it is given. A [`Program`] read back with
/// `Program::from_bytes` carries a checksum that detects damage, not forgery: install only
/// programs compiled here or from a trusted source (the compiled-program cache
/// authenticates its entries with a keyed MAC before returning them).
pub fn install(program: &Program) -> Result<Option<OwnedFd>, LoadError> {
    let insns = program.instructions();
    if insns.is_empty() || insns.len() > oci_seccomp::program::BPF_MAXINSNS {
        return Err(LoadError::BadProgram { len: insns.len() });
    }
    let required = program.flags();
    for bit in 0..32 {
        let f = FilterFlags::from_bits_retain(1 << bit);
        if required.contains(f) && !flag_supported(f) {
            return Err(LoadError::FlagUnsupported { flag: f });
        }
    }
    // Probe each distinct action once (a fixed stack set: there are only 8 actions).
    let mut checked = [0u32; 16];
    let mut n_checked = 0;
    for insn in insns {
        if insn.code != BPF_RET_K {
            continue;
        }
        let action = insn.k & ret::ACTION_FULL;
        if checked[..n_checked].contains(&action) {
            continue;
        }
        if !action_supported(action) {
            return Err(LoadError::ActionUnsupported { ret: action });
        }
        if n_checked < checked.len() {
            checked[n_checked] = action;
            n_checked += 1;
        }
    }
    let flags = effective_flags(program);
    if flags.contains(FilterFlags::NEW_LISTENER) && !flag_supported(FilterFlags::NEW_LISTENER) {
        return Err(LoadError::FlagUnsupported {
            flag: FilterFlags::NEW_LISTENER,
        });
    }
    let prog = libc::sock_fprog {
        // The length was checked against BPF_MAXINSNS (4096) above.
        len: insns.len() as u16,
        // `Instruction` is `#[repr(C)]` with the exact layout of `struct sock_filter`.
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `insns`, which outlives the call; the kernel copies it.
    let rc = unsafe {
        seccomp(
            SECCOMP_SET_MODE_FILTER,
            flags.bits(),
            (&prog as *const libc::sock_fprog).cast(),
        )
    };
    if rc < 0 {
        let e = errno();
        return Err(match e {
            libc::EACCES => LoadError::NoPrivilege,
            libc::ESRCH if flags.contains(FilterFlags::TSYNC) => LoadError::TsyncFailed {
                tid: diverging_thread(),
            },
            _ => LoadError::Kernel { errno: e, flags },
        });
    }
    if flags.contains(FilterFlags::TSYNC) && !flags.contains(FilterFlags::TSYNC_ESRCH) && rc > 0 {
        // With TSYNC alone the kernel returns the id of a thread that could not be synced.
        return Err(LoadError::TsyncFailed {
            tid: Some(rc as libc::pid_t),
        });
    }
    if flags.contains(FilterFlags::NEW_LISTENER) {
        // SAFETY: with NEW_LISTENER a successful call returns a new fd that we now own.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(rc as i32) }));
    }
    Ok(None)
}

/// Formats `n` in decimal into `buf`, returning the digits. No allocation.
fn fmt_u32(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Parses a leading decimal number.
fn parse_u32(s: &[u8]) -> Option<u32> {
    let mut n: u32 = 0;
    let mut any = false;
    for &b in s {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

/// `Seccomp:` mode and `Seccomp_filters:` count of thread `tid` of this process, read
/// from `/proc/self/task/TID/status` into a stack buffer.
fn thread_seccomp(tid: u32) -> Option<(u32, u32)> {
    let mut path = [0u8; 48];
    let prefix = b"/proc/self/task/";
    let suffix = b"/status\0";
    let mut digits = [0u8; 10];
    let d = fmt_u32(tid, &mut digits);
    let len = prefix.len() + d.len() + suffix.len();
    path[..prefix.len()].copy_from_slice(prefix);
    path[prefix.len()..prefix.len() + d.len()].copy_from_slice(d);
    path[prefix.len() + d.len()..len].copy_from_slice(suffix);
    // SAFETY: `path` is NUL-terminated; a successful open returns an fd we own.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just opened by us.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut buf = [0u8; 8192];
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: reads into the unused tail of `buf`.
        let n = unsafe {
            libc::read(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                buf[len..].as_mut_ptr().cast(),
                buf.len() - len,
            )
        };
        if n <= 0 {
            break;
        }
        len += n as usize;
    }
    let text = &buf[..len];
    let mut mode = None;
    let mut filters = 0;
    for line in text.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"Seccomp:") {
            mode = parse_u32(v.trim_ascii_start());
        } else if let Some(v) = line.strip_prefix(b"Seccomp_filters:") {
            filters = parse_u32(v.trim_ascii_start()).unwrap_or(0);
        }
    }
    mode.map(|m| (m, filters))
}

/// Best effort, after TSYNC failed with ESRCH (TSYNC_ESRCH hides the thread id): the first
/// other thread whose seccomp state cannot be an ancestor of ours — strict mode, or more
/// filters than we have, or else a different non-zero number of filters. Reads
/// `/proc/self/task` with raw syscalls and stack buffers: no allocation.
fn diverging_thread() -> Option<libc::pid_t> {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() } as u32;
    let (_, my_filters) = thread_seccomp(me)?;
    // SAFETY: a static NUL-terminated path; a successful open returns an fd we own.
    let dir = unsafe {
        libc::open(
            c"/proc/self/task".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dir < 0 {
        return None;
    }
    // SAFETY: `dir` was just opened by us.
    let dir = unsafe { OwnedFd::from_raw_fd(dir) };
    let mut weaker: Option<libc::pid_t> = None;
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes into `buf`.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                std::os::fd::AsRawFd::as_raw_fd(&dir),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n <= 0 {
            return weaker;
        }
        let mut off = 0usize;
        while off + 19 < n as usize {
            // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &buf[off + 19..(off + reclen).min(n as usize)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            off += reclen;
            let Some(tid) = parse_u32(name) else { continue };
            if tid == me {
                continue;
            }
            match thread_seccomp(tid) {
                Some((1, _)) => return Some(tid as libc::pid_t),
                Some((_, f)) if f > my_filters => return Some(tid as libc::pid_t),
                Some((_, f)) if f != 0 && f != my_filters && weaker.is_none() => {
                    weaker = Some(tid as libc::pid_t);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut b = [0u8; 10];
        assert_eq!(fmt_u32(0, &mut b), b"0");
        assert_eq!(fmt_u32(4_294_967_295, &mut b), b"4294967295");
        assert_eq!(parse_u32(b"123\tx"), Some(123));
        assert_eq!(parse_u32(b"x"), None);
    }

    #[test]
    fn own_thread_status_is_readable() {
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() } as u32;
        let (mode, _) = thread_seccomp(me).expect("/proc/self/task/TID/status");
        assert!(mode <= 2);
    }
}
