//! Installing a compiled program with one `seccomp(2)` call.

use std::os::fd::{FromRawFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use oci_seccomp::bpf::{ret, BPF_RET_K};
use oci_seccomp::{FilterFlags, Program};

use crate::error::LoadError;

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;

use crate::sys::seccomp;

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

/// What [`install`] did: the flags it passed to `seccomp(2)` and the optional flags the
/// program asked for that this kernel lacks (rust-landlock's `RestrictionStatus` is the
/// model), so a caller need not probe the kernel again to report or log it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallStatus {
    /// The flags passed to `seccomp(SECCOMP_SET_MODE_FILTER)`: the program's required
    /// flags, its optional flags this kernel supports, `NEW_LISTENER` when the program has
    /// a NOTIFY rule, and `TSYNC_ESRCH` when TSYNC and a listener meet.
    pub flags: FilterFlags,
    /// Optional flags of the program ([`Program::optional_flags`]) that this kernel does
    /// not know, and that were therefore left out. Empty when every flag was applied.
    pub missing_optional: FilterFlags,
}

/// The result of a successful [`install`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Installed {
    /// The user-notification fd (close-on-exec) when the program has a NOTIFY rule.
    pub notify_fd: Option<OwnedFd>,
    /// The flags applied and the optional flags the kernel lacked.
    pub status: InstallStatus,
}

impl Installed {
    /// The user-notification fd, dropping the status.
    pub fn into_notify_fd(self) -> Option<OwnedFd> {
        self.notify_fd
    }
}

/// Each single flag of `flags`, lowest bit first.
fn single_flags(flags: FilterFlags) -> impl Iterator<Item = FilterFlags> {
    (0..32)
        .map(|bit| FilterFlags::from_bits_retain(1 << bit))
        .filter(move |f| flags.contains(*f) && !f.is_empty())
}

/// The flags [`install`] passes to `seccomp(2)` for `program` on this kernel, and the
/// optional flags it leaves out because the kernel lacks them.
fn plan_flags(program: &Program) -> InstallStatus {
    let mut flags = program.flags();
    let mut missing_optional = FilterFlags::EMPTY;
    for f in single_flags(program.optional_flags()) {
        if flag_supported(f) {
            flags |= f;
        } else {
            missing_optional |= f;
        }
    }
    if program.needs_listener() {
        flags |= FilterFlags::NEW_LISTENER;
        if flags.contains(FilterFlags::TSYNC) {
            flags |= FilterFlags::TSYNC_ESRCH;
        }
    }
    InstallStatus {
        flags,
        missing_optional,
    }
}

/// The flags [`install`] passes to `seccomp(2)` for `program` on this kernel: the
/// program's required flags, its optional flags where supported, `NEW_LISTENER` when the
/// program needs a listener, and `TSYNC_ESRCH` when TSYNC and a listener meet.
/// [`Installed::status`] reports the same after the fact.
pub fn effective_flags(program: &Program) -> FilterFlags {
    plan_flags(program).flags
}

/// Installs `program` in the calling thread (all threads with TSYNC) and returns the
/// user-notification fd when the program needs a listener, with what was applied
/// ([`InstallStatus`]).
///
/// One `seccomp(SECCOMP_SET_MODE_FILTER)` call with the program's flags — not
/// libseccomp's `load()`, which on 2.5.x cannot set `WAIT_KILLABLE_RECV`. Before it, every
/// required flag and every action the program returns is checked against the kernel, so a
/// missing feature is a named error and nothing is installed.
///
/// This function makes no heap allocation, on success or failure, so a runtime may call it
/// in a child between `fork` and `exec` (`crates/oci-seccomp-load/tests/no_alloc.rs`
/// checks it with a counting allocator). It never sets no-new-privileges: the caller (the
/// OCI `process.noNewPrivileges`) decides that.
///
/// `install` enforces exactly the instructions it is given. A [`Program`] read back with
/// `Program::from_bytes` carries a checksum that detects damage, not forgery: install only
/// programs compiled here or from a trusted source (the compiled-program cache
/// authenticates its entries with a keyed MAC before returning them).
///
/// # Errors
///
/// Nothing is installed on any error.
/// - [`LoadError::BadProgram`]: no instructions, or more than `BPF_MAXINSNS` (4096).
/// - [`LoadError::FlagUnsupported`]: a required flag (or `NEW_LISTENER` for a NOTIFY
///   program) that this kernel does not know.
/// - [`LoadError::ActionUnsupported`]: an action the program returns that this kernel
///   lacks (`SECCOMP_GET_ACTION_AVAIL`).
/// - [`LoadError::NoPrivilege`]: `EACCES`, neither no-new-privileges nor CAP_SYS_ADMIN.
/// - [`LoadError::TsyncFailed`]: with TSYNC, a thread of the process could not be synced
///   (its id when it can be found).
/// - [`LoadError::Kernel`]: any other errno of `seccomp(2)`, with the flags passed.
pub fn install(program: &Program) -> Result<Installed, LoadError> {
    let insns = program.instructions();
    if insns.is_empty() || insns.len() > oci_seccomp::bpf::BPF_MAXINSNS {
        return Err(LoadError::BadProgram { len: insns.len() });
    }
    if let Some(f) = single_flags(program.flags()).find(|f| !flag_supported(*f)) {
        return Err(LoadError::FlagUnsupported { flag: f });
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
    let status = plan_flags(program);
    let flags = status.flags;
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
    let notify_fd = if flags.contains(FilterFlags::NEW_LISTENER) {
        // SAFETY: with NEW_LISTENER a successful call returns a new fd that we now own.
        Some(unsafe { OwnedFd::from_raw_fd(rc as i32) })
    } else {
        None
    };
    Ok(Installed { notify_fd, status })
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
/// from `/proc/self/task/TID/status` into a stack buffer (rustix's calls take the
/// `CStr` as is: no allocation).
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
    let path = std::ffi::CStr::from_bytes_with_nul(&path[..len]).ok()?;
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 8192];
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
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
/// `/proc/self/task` with rustix's `RawDir` over a stack buffer: no allocation.
fn diverging_thread() -> Option<libc::pid_t> {
    let me = rustix::thread::gettid().as_raw_nonzero().get() as u32;
    let (_, my_filters) = thread_seccomp(me)?;
    let dir = rustix::fs::open(
        c"/proc/self/task",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut weaker: Option<libc::pid_t> = None;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(entry) = entries.next() {
        let Ok(entry) = entry else { break };
        let Some(tid) = parse_u32(entry.file_name().to_bytes()) else {
            continue;
        };
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
    weaker
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
        let me = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        let (mode, _) = thread_seccomp(me).expect("/proc/self/task/TID/status");
        assert!(mode <= 2);
    }
}
