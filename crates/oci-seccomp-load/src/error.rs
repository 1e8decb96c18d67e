//! Error types of the load crate.

use oci_seccomp::FilterFlags;

/// Why a program could not be installed. Nothing is installed when this is returned.
///
/// The variants hold plain data, so creating one allocates nothing (safe between `fork`
/// and `exec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Neither no-new-privileges nor CAP_SYS_ADMIN.
    #[error(
        "seccomp(2) refused with EACCES: the process has neither no-new-privileges nor \
         CAP_SYS_ADMIN; set process.noNewPrivileges, or keep CAP_SYS_ADMIN until seccomp is installed"
    )]
    NoPrivilege,
    /// A filter flag the kernel does not know.
    #[error("this kernel does not support the seccomp filter flag {}", flag_name(*.flag))]
    FlagUnsupported {
        /// The flag.
        flag: FilterFlags,
    },
    /// An action the kernel does not support (`SECCOMP_GET_ACTION_AVAIL`).
    #[error("this kernel does not support the seccomp action {}", oci_seccomp::Action::from_ret(*.ret))]
    ActionUnsupported {
        /// The action value (`SECCOMP_RET_*`).
        ret: u32,
    },
    /// TSYNC could not synchronise another thread (it has a diverging filter).
    #[error("TSYNC failed: {} has a seccomp filter that diverges from this thread's", match .tid { Some(t) => format!("thread {t}"), None => "another thread".to_string() })]
    TsyncFailed {
        /// The thread that could not be synchronised, when the kernel says.
        tid: Option<libc::pid_t>,
    },
    /// The program is empty or longer than the kernel accepts.
    #[error("a program must have 1 to 4096 instructions, this one has {len}")]
    BadProgram {
        /// Its length.
        len: usize,
    },
    /// Another kernel error.
    #[error("seccomp(SECCOMP_SET_MODE_FILTER, {:#x}) failed: {}", .flags.bits(), std::io::Error::from_raw_os_error(*.errno))]
    Kernel {
        /// errno.
        errno: i32,
        /// Flags passed.
        flags: FilterFlags,
    },
}

fn flag_name(f: FilterFlags) -> &'static str {
    f.names().first().copied().unwrap_or("(unknown flag)")
}
