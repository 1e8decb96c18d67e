//! [`Action`]: what the kernel does with a syscall, as a filter's return value says.

/// Kernel action values (`SECCOMP_RET_*`), as `libc` defines them.
pub mod ret {
    /// Kill the whole process.
    pub const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    /// Kill the calling thread.
    pub const KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;
    /// Send SIGSYS.
    pub const TRAP: u32 = libc::SECCOMP_RET_TRAP;
    /// Return an errno.
    pub const ERRNO: u32 = libc::SECCOMP_RET_ERRNO;
    /// Ask the user-space supervisor.
    pub const USER_NOTIF: u32 = libc::SECCOMP_RET_USER_NOTIF;
    /// Notify a ptrace tracer.
    pub const TRACE: u32 = libc::SECCOMP_RET_TRACE;
    /// Allow after logging.
    pub const LOG: u32 = libc::SECCOMP_RET_LOG;
    /// Allow.
    pub const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    /// Mask of the action part, including the KILL_PROCESS bit.
    pub const ACTION_FULL: u32 = libc::SECCOMP_RET_ACTION_FULL;
    /// Mask of the data part.
    pub const DATA: u32 = libc::SECCOMP_RET_DATA;
}

/// What the kernel does with a syscall, decoded from a filter's return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `SECCOMP_RET_KILL_PROCESS`.
    KillProcess,
    /// `SECCOMP_RET_KILL_THREAD`.
    KillThread,
    /// `SECCOMP_RET_TRAP` with its data (si_errno of the SIGSYS).
    Trap(u16),
    /// `SECCOMP_RET_ERRNO`: the syscall fails with this errno (the kernel caps it at 4095).
    Errno(u16),
    /// `SECCOMP_RET_USER_NOTIF`.
    Notify,
    /// `SECCOMP_RET_TRACE` with its data.
    Trace(u16),
    /// `SECCOMP_RET_LOG`.
    Log,
    /// `SECCOMP_RET_ALLOW`.
    Allow,
}

impl Action {
    /// Decodes a filter return value as the kernel does (an unknown action kills the process).
    pub fn from_ret(value: u32) -> Self {
        let data = (value & ret::DATA) as u16;
        match value & ret::ACTION_FULL {
            ret::KILL_PROCESS => Self::KillProcess,
            ret::KILL_THREAD => Self::KillThread,
            ret::TRAP => Self::Trap(data),
            ret::ERRNO => Self::Errno(data.min(4095)),
            ret::USER_NOTIF => Self::Notify,
            ret::TRACE => Self::Trace(data),
            ret::LOG => Self::Log,
            ret::ALLOW => Self::Allow,
            _ => Self::KillProcess,
        }
    }

    /// The kernel return value for this action.
    pub fn to_ret(self) -> u32 {
        match self {
            Self::KillProcess => ret::KILL_PROCESS,
            Self::KillThread => ret::KILL_THREAD,
            Self::Trap(d) => ret::TRAP | u32::from(d),
            Self::Errno(e) => ret::ERRNO | u32::from(e),
            Self::Notify => ret::USER_NOTIF,
            Self::Trace(d) => ret::TRACE | u32::from(d),
            Self::Log => ret::LOG,
            Self::Allow => ret::ALLOW,
        }
    }

    /// Whether the syscall reaches the kernel's handler (ALLOW or LOG).
    pub fn lets_through(self) -> bool {
        matches!(self, Self::Allow | Self::Log)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KillProcess => f.write_str("SCMP_ACT_KILL_PROCESS"),
            Self::KillThread => f.write_str("SCMP_ACT_KILL_THREAD"),
            Self::Trap(_) => f.write_str("SCMP_ACT_TRAP"),
            Self::Errno(e) => write!(f, "SCMP_ACT_ERRNO({e})"),
            Self::Notify => f.write_str("SCMP_ACT_NOTIFY"),
            Self::Trace(d) => write!(f, "SCMP_ACT_TRACE({d})"),
            Self::Log => f.write_str("SCMP_ACT_LOG"),
            Self::Allow => f.write_str("SCMP_ACT_ALLOW"),
        }
    }
}

/// The kernel's precedence of actions when several filters disagree
/// (`kernel/seccomp.c`, `seccomp_run_filters`): higher is stricter.
pub fn strictness(a: Action) -> u8 {
    match a {
        Action::KillProcess => 7,
        Action::KillThread => 6,
        Action::Trap(_) => 5,
        Action::Errno(_) => 4,
        Action::Notify => 3,
        Action::Trace(_) => 2,
        Action::Log => 1,
        Action::Allow => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_actions_like_the_kernel() {
        assert_eq!(Action::from_ret(0x0005_0026), Action::Errno(38));
        assert_eq!(Action::from_ret(0x0005_ffff), Action::Errno(4095));
        assert_eq!(Action::from_ret(0x1234_0000), Action::KillProcess);
        assert_eq!(Action::from_ret(0), Action::KillThread);
        for a in [
            Action::Allow,
            Action::Log,
            Action::Notify,
            Action::Trap(3),
            Action::Trace(9),
            Action::Errno(1),
            Action::KillProcess,
        ] {
            assert_eq!(Action::from_ret(a.to_ret()), a);
        }
    }
}
