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
/// EFAULT means "known", EINVAL "unknown". Nothing is installed. Makes no allocation.
pub fn flag_supported(flag: FilterFlags) -> bool {
    // SAFETY: a null `args` is never dereferenced successfully; the kernel returns EFAULT.
    let rc = unsafe { seccomp(SECCOMP_SET_MODE_FILTER, flag.bits(), std::ptr::null()) };
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
        let f = FilterFlags::from_bits(1 << bit);
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
pub fn install(program: &Program) -> Result<Option<OwnedFd>, LoadError> {
    let insns = program.instructions();
    if insns.is_empty() || insns.len() > oci_seccomp::program::BPF_MAXINSNS {
        return Err(LoadError::BadProgram { len: insns.len() });
    }
    let required = program.flags();
    for bit in 0..32 {
        let f = FilterFlags::from_bits(1 << bit);
        if required.contains(f) && !flag_supported(f) {
            return Err(LoadError::FlagUnsupported { flag: f });
        }
    }
    for insn in insns {
        if insn.code == BPF_RET_K && !action_supported(insn.k) {
            return Err(LoadError::ActionUnsupported {
                ret: insn.k & ret::ACTION_FULL,
            });
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
            libc::ESRCH if flags.contains(FilterFlags::TSYNC) => {
                LoadError::TsyncFailed { tid: None }
            }
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
