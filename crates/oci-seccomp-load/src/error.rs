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

/// Why [`crate::initialize_seccomp`] failed. Nothing is installed when this is returned.
///
/// It takes the place of the `SeccompError` of youki's `libcontainer::seccomp`, whose ten
/// variants name the libseccomp call that failed. youki only wraps the error
/// (`InitProcessError::Seccomp(#[from] seccomp::SeccompError)`) and matches no variant, so
/// ours says what was wrong with the profile or the kernel instead:
///
/// | youki's variant | when | here |
/// |---|---|---|
/// | `TraceAction` | `errnoRet` of `SCMP_ACT_TRACE` does not fit 16 bits | [`Compile`](Self::Compile)([`InvalidField`](oci_seccomp::CompileError::InvalidField)) at `syscalls[i].errnoRet`: every errno, TRACE's included, is at most 4094 |
/// | `NotifyAsDefaultAction` | `defaultAction` is `SCMP_ACT_NOTIFY` | [`Compile`](Self::Compile)([`NotifyDefaultAction`](oci_seccomp::CompileError::NotifyDefaultAction)) |
/// | `NotifyWriteSyscall` | NOTIFY on `write` | [`NotifyOnHandoffSyscall`](Self::NotifyOnHandoffSyscall), for `write`, `writev`, `send`, `sendto`, `sendmsg` and `sendmmsg` (below) |
/// | `NewFilter` | libseccomp refuses the default action | [`Compile`](Self::Compile)([`InvalidField`](oci_seccomp::CompileError::InvalidField)) at `defaultErrnoRet` (above 4094, or on an action without an errno) |
/// | `SetFilterFlag` | libseccomp or the kernel lacks a flag | [`Load`](Self::Load)([`FlagUnsupported`](LoadError::FlagUnsupported)) when this kernel lacks it; [`Compile`](Self::Compile)([`InvalidField`](oci_seccomp::CompileError::InvalidField)) at `flags[i]` for `WAIT_KILLABLE_RECV` without a NOTIFY rule |
/// | `AddArch` | libseccomp cannot add an architecture | [`Compile`](Self::Compile)([`UnsupportedArchitecture`](oci_seccomp::CompileError::UnsupportedArchitecture)) for one newer than this libseccomp; [`InvalidField`](oci_seccomp::CompileError::InvalidField) at `architectures[i]` for the other byte order |
/// | `SetCtlNnp` | libseccomp cannot be told not to set no-new-privileges | none: we never set no-new-privileges, so there is no call to fail; without it and without CAP_SYS_ADMIN, [`Load`](Self::Load)([`NoPrivilege`](LoadError::NoPrivilege)) says so |
/// | `AddRule` | libseccomp refuses a rule | [`Compile`](Self::Compile): [`InvalidField`](oci_seccomp::CompileError::InvalidField) naming the field (an argument's index or a value it cannot hold, too many comparisons, `errnoRet`), [`ComparisonsTooComplex`](oci_seccomp::CompileError::ComparisonsTooComplex), [`ProgramTooLong`](oci_seccomp::CompileError::ProgramTooLong); an unknown syscall name is skipped with a warning, as youki does |
/// | `LoadContext` | `seccomp_load` fails | [`Load`](Self::Load): [`NoPrivilege`](LoadError::NoPrivilege), [`FlagUnsupported`](LoadError::FlagUnsupported), [`ActionUnsupported`](LoadError::ActionUnsupported), [`TsyncFailed`](LoadError::TsyncFailed), [`BadProgram`](LoadError::BadProgram), [`Kernel`](LoadError::Kernel) |
/// | `GetNotifyId` | libseccomp cannot return the notify fd | none: the fd is the return value of the one `seccomp(2)` call, so its failure is [`Load`](Self::Load) |
///
/// # Why NOTIFY is refused on `write`, `writev`, `send`, `sendto`, `sendmsg`, `sendmmsg`
///
/// [`crate::initialize_seccomp`] installs the filter and returns the notify fd; its caller
/// then hands the fd to its supervisor with syscalls of its own. A NOTIFY rule on one of
/// those calls stops the caller until the supervisor answers, and the supervisor can only
/// answer once it holds the fd that this very call was to deliver: the container's init
/// waits forever (runc#4328 met this with `fcntl`, crun#1002 with `sendmsg`). youki's caller
/// (`sync_seccomp`) logs the fd (`tracing`: a `write` when debug logging is on), sends it
/// to its main process in `SCM_RIGHTS` over a socket pair (`sendmsg`), then waits for the
/// main process to have passed it on (`recvmsg`) and closes it (`close`). So:
///
/// - `write`: log lines and sync pipes; youki and runc refuse NOTIFY on it too.
/// - `sendmsg`: youki's own handoff. youki's check refuses `write` only, so under youki's
///   module a NOTIFY on `sendmsg` hangs the container's init; here it is refused.
/// - `sendmmsg`, `sendto`, `send`, `writev`: the other calls that put bytes or fds on a
///   socket or a pipe (`send(3)` is the `sendto` syscall on x86_64 and aarch64, and the
///   `send` syscall where one exists; `writev` is a logger's vectored write).
///
/// Calls made once the fd has left the process (youki's `recvmsg` and `close`) are not
/// refused: the supervisor has the fd by then and can answer them. The list is what a
/// handoff uses, not every call a caller might make before it: a NOTIFY on `brk`, `mmap`
/// (an allocation) or `futex` (a contended lock) can still stop a caller that makes such a
/// call between the install and the send. [`crate::launch::LaunchSeccomp`] has no such limit: the
/// container's init makes no syscall at all between its install and the fd being taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeccompError {
    /// The `linux.seccomp` object could not be compiled.
    #[error("cannot compile linux.seccomp: {0}")]
    Compile(#[from] oci_seccomp::CompileError),
    /// The compiled program could not be installed.
    #[error("cannot install the seccomp filter: {0}")]
    Load(#[from] LoadError),
    /// [`crate::initialize_seccomp`] was asked for `SCMP_ACT_NOTIFY` on a syscall that its
    /// caller may need to hand the notify fd over (`write`, `sendmsg`, ...): the caller
    /// would wait for a supervisor that never gets the fd.
    #[error(
        "{path}: SCMP_ACT_NOTIFY on {name:?}: initialize_seccomp cannot know how its caller \
         hands the notify fd over, and that may need {name}; use oci_seccomp_load::LaunchSeccomp \
         (LaunchSeccomp::new before fork, LaunchSeccompChild::install in the child, \
         LaunchSeccompParent::complete in the parent), which hands the fd over without any \
         syscall after the install"
    )]
    NotifyOnHandoffSyscall {
        /// JSON path of the entry, for example `syscalls[2].names[0]`.
        path: String,
        /// The syscall.
        name: String,
    },
}

/// Why a notify-fd handoff (hop 1, [`crate::handoff`], or hop 2, [`crate::agent_client`])
/// failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// The child could not install its filter; nothing is installed.
    #[error("the container process could not install its seccomp filter: {0}")]
    Install(#[from] LoadError),
    /// The child did not publish its notify fd in time.
    #[error("the container process did not hand over its seccomp notify fd within {waited_ms} ms")]
    Timeout {
        /// How long we waited.
        waited_ms: u128,
    },
    /// The child exited (or was killed) before its notify fd could be taken.
    #[error("the container process (pid {pid}) exited before its seccomp notify fd was taken")]
    ChildExited {
        /// The child.
        pid: libc::pid_t,
    },
    /// The pid given for the child is not the process that uses this channel: the process
    /// that published its pid on the channel has another one. Nothing is taken from it and
    /// it is not signalled.
    #[error(
        "pid {pid} is not the process that installs on this handoff channel (that one says it \
         is pid {published} in its pid namespace); pass the pid fork returned"
    )]
    WrongChild {
        /// The pid given.
        pid: libc::pid_t,
        /// The pid the channel's child published (in its own pid namespace).
        published: libc::pid_t,
    },
    /// The parent end gave up (timed out or was dropped) before taking the fd.
    #[error("the runtime stopped waiting for the seccomp notify fd")]
    Abandoned,
    /// `listenerPath` is neither absolute nor `@name`.
    #[error("listenerPath {path:?}: must be an absolute path or @name for the abstract namespace")]
    BadListenerPath {
        /// The path given.
        path: String,
    },
    /// Connecting to the seccomp agent failed.
    #[error("cannot connect to the seccomp agent at listenerPath {path:?}: {source}")]
    Connect {
        /// The listener path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The socket at `listenerPath` belongs to a user the runtime does not trust: it would
    /// receive the container's notify fd. Nothing was sent.
    #[error(
        "the seccomp agent at listenerPath {path:?} is not trusted: the listener is {peer}, \
         allowed uids are {allowed:?} (another user may have bound the name first); nothing was sent"
    )]
    UntrustedListener {
        /// The listener path.
        path: String,
        /// The listener's `SO_PEERCRED`.
        peer: crate::protocol::PeerCredentials,
        /// The uids allowed.
        allowed: Vec<u32>,
    },
    /// The container process state could not be serialised or is too large.
    #[error("container process state: {reason}")]
    State {
        /// Why.
        reason: String,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// Errors of the supervisor side ([`crate::notify`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The notification's target died or the syscall was interrupted (the kernel said
    /// ENOENT). Not fatal: drop this notification and receive the next one.
    #[error("notification {id:#x}: the target process is gone or the syscall was interrupted")]
    TargetGone {
        /// The notification id (0 when the kernel dropped it before delivering it).
        id: u64,
    },
    /// Every process using the filter has exited: no notification can arrive any more.
    #[error("every process using this seccomp filter has exited")]
    AllTargetsGone,
    /// The message from the runtime is not one JSON container process state with exactly
    /// one fd. Every fd that came with it has been closed.
    #[error("bad message from the runtime: {reason}")]
    BadMessage {
        /// What is wrong.
        reason: String,
    },
    /// A connection from a user the agent does not act for was refused before anything was
    /// read from it.
    #[error("connection refused: the peer is {peer}, allowed uids are {allowed:?}")]
    PeerRefused {
        /// The peer's `SO_PEERCRED`.
        peer: crate::protocol::PeerCredentials,
        /// The uids allowed.
        allowed: Vec<u32>,
    },
    /// The runtime did not finish its message within the handshake deadline. Every fd that
    /// came with it has been closed.
    #[error("the runtime's message did not arrive within {waited_ms} ms (handshake deadline)")]
    HandshakeTimeout {
        /// The deadline, in milliseconds.
        waited_ms: u128,
    },
    /// A string argument was longer than the limit given.
    #[error("notification {id:#x}: string argument {index} is longer than {max} bytes")]
    StringTooLong {
        /// The notification id.
        id: u64,
        /// Argument index.
        index: usize,
        /// The limit.
        max: usize,
    },
    /// A bad argument index (must be 0 to 5).
    #[error("syscall argument index {index} out of range 0..=5")]
    BadArgIndex {
        /// The index given.
        index: usize,
    },
    /// The listener path is neither absolute nor `@name`.
    #[error(
        "listener path {path:?}: must be an absolute path or @name for the abstract namespace"
    )]
    BadListenerPath {
        /// The path given.
        path: String,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

impl NotifyError {
    /// Whether this error only means that the target went away (ENOENT): the loop should
    /// carry on with the next notification.
    pub fn is_target_gone(&self) -> bool {
        matches!(self, Self::TargetGone { .. })
    }

    pub(crate) fn io(op: &'static str, source: std::io::Error) -> Self {
        Self::Io { op, source }
    }

    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self::BadMessage {
            reason: reason.into(),
        }
    }
}

impl HandoffError {
    pub(crate) fn io(op: &'static str, source: std::io::Error) -> Self {
        Self::Io { op, source }
    }
}
