//! Reading the seccomp filters a running process really has.
//!
//! `/proc/PID/status` gives the mode (`Seccomp:`), `NoNewPrivs:` and the filter count
//! (`Seccomp_filters:`); the filters themselves come from
//! `ptrace(PTRACE_SECCOMP_GET_FILTER)` and their flags from
//! `ptrace(PTRACE_SECCOMP_GET_METADATA)` (Documentation/userspace-api/seccomp_filter.rst,
//! kernel/seccomp.c `seccomp_get_filter`, `seccomp_get_metadata`). Both need the target in
//! a ptrace-stop, and the caller to hold CAP_SYS_ADMIN and to run without a seccomp filter
//! of its own.
//!
//! # The attach
//!
//! The target is seized (`PTRACE_SEIZE`, which does not stop it and sets no options: no
//! `PTRACE_O_EXITKILL`, so the target never dies with us), interrupted
//! (`PTRACE_INTERRUPT`), read and detached at once. All of it runs on a thread of its own,
//! created for this one inspection: the kernel detaches every tracee of a thread when the
//! thread exits (`exit_ptrace`), so whatever happens (an error, a panic, a target that
//! never stops) the target is detached when the thread ends, and the thread ends within
//! [`STOP_TIMEOUT`] plus the reads. A signal the target was about to receive when it
//! stopped is given back to it at the detach. The target is stopped only between its
//! interrupt-stop and the detach: the reads of at most [`MAX_FILTERS`] filters of at most
//! 4,096 instructions each.
//!
//! Only the thread whose id is `pid` is read: filters are per thread, and threads that did
//! not synchronise (`SECCOMP_FILTER_FLAG_TSYNC`) may have others. The filter count of
//! `/proc/PID/status` is read before and after; a process that changes its filters while
//! it is read is read again, and reported as changing after three tries.

use std::io::Read;
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oci_seccomp::Instruction;

/// How long the target may take to reach its ptrace-stop.
pub const STOP_TIMEOUT: Duration = Duration::from_millis(1500);

/// Most filters read from one process (the kernel bounds a stack by its total length,
/// `MAX_INSNS_PER_PATH`, 32,768 instructions plus 4 per filter: at most 6,553 filters).
pub const MAX_FILTERS: usize = 8192;

/// `PTRACE_SECCOMP_GET_FILTER` (include/uapi/linux/ptrace.h).
const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
/// `PTRACE_SECCOMP_GET_METADATA` (include/uapi/linux/ptrace.h).
const PTRACE_SECCOMP_GET_METADATA: libc::c_uint = 0x420d;
/// `PTRACE_EVENT_STOP` (include/uapi/linux/ptrace.h).
const PTRACE_EVENT_STOP: i32 = 128;
/// `SECCOMP_FILTER_FLAG_LOG` (include/uapi/linux/seccomp.h): the one flag the metadata
/// reports.
const SECCOMP_FILTER_FLAG_LOG: u64 = 1 << 1;
/// Most instructions of one filter (`BPF_MAXINSNS`, include/uapi/linux/bpf_common.h).
const BPF_MAXINSNS: usize = 4096;

/// `struct seccomp_metadata` (include/uapi/linux/ptrace.h).
#[repr(C)]
struct SeccompMetadata {
    filter_off: u64,
    flags: u64,
}

/// One filter of a process's stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledFilter {
    /// The program as the kernel keeps it (the classic BPF it was given).
    pub instructions: Vec<Instruction>,
    /// Whether it was installed with `SECCOMP_FILTER_FLAG_LOG` (the only flag the kernel
    /// reports; `None` when the metadata could not be read).
    pub log: Option<bool>,
}

/// What `/proc` and ptrace say about a process's seccomp state.
#[derive(Clone, Debug)]
pub struct ProcessSeccomp {
    /// The process (and the thread read).
    pub pid: i32,
    /// `Seccomp:` of `/proc/PID/status`: 0 disabled, 1 strict, 2 filter.
    pub mode: u32,
    /// `NoNewPrivs:` of `/proc/PID/status`.
    pub no_new_privs: bool,
    /// `Seccomp_filters:` of `/proc/PID/status` (kernels from 5.9).
    pub filter_count: Option<u32>,
    /// The filters, most recently installed first (the kernel's order: filter 0 runs
    /// first and its answer is kept among equally strict ones).
    pub filters: Vec<InstalledFilter>,
    /// Other threads of the process whose seccomp mode or filter count differ from this
    /// thread's (`/proc/PID/task/TID/status`): their filters were not read, and may differ.
    pub other_threads: Vec<ThreadSeccomp>,
}

/// One thread's seccomp mode and filter count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSeccomp {
    /// The thread.
    pub tid: i32,
    /// `Seccomp:`.
    pub mode: u32,
    /// `Seccomp_filters:`.
    pub filter_count: Option<u32>,
}

/// Why a process could not be inspected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// No such process, or it has exited (a zombie), or it exited while it was read.
    #[error(
        "process {pid}: no such process, or it has exited (a zombie) or exited while it was read"
    )]
    NoProcess {
        /// The process.
        pid: i32,
    },
    /// `/proc/PID/status` could not be read or has no seccomp fields.
    #[error("process {pid}: /proc/{pid}/status: {reason}")]
    Status {
        /// The process.
        pid: i32,
        /// Why.
        reason: String,
    },
    /// The kernel refused the attach or the read.
    #[error("process {pid}: {what}: {reason}")]
    NotPermitted {
        /// The process.
        pid: i32,
        /// The request refused (`PTRACE_SEIZE`, `PTRACE_SECCOMP_GET_FILTER`).
        what: &'static str,
        /// Why, with what to do.
        reason: String,
    },
    /// The target did not stop within [`STOP_TIMEOUT`] (it is detached).
    #[error("process {pid}: did not stop within {} ms; it is detached and runs on", STOP_TIMEOUT.as_millis())]
    NoStop {
        /// The process.
        pid: i32,
    },
    /// The target's filters changed on each of three reads.
    #[error("process {pid}: its filters changed while they were read, three times")]
    Changing {
        /// The process.
        pid: i32,
    },
    /// More filters than [`MAX_FILTERS`], or a filter longer than the kernel allows.
    #[error("process {pid}: {reason}")]
    TooLarge {
        /// The process.
        pid: i32,
        /// What was too large.
        reason: String,
    },
    /// Another system call failed.
    #[error("process {pid}: {what}: {source}")]
    Os {
        /// The process.
        pid: i32,
        /// The call.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// Reads the seccomp state and every filter of process `pid`.
///
/// # Errors
///
/// [`InspectError`]: no such process, `/proc` unreadable, the attach or the read refused
/// (CAP_SYS_ADMIN is needed, and no seccomp filter on the caller), the target not stopping
/// in time, filters that keep changing, or a stack larger than the kernel allows.
pub fn inspect(pid: i32) -> Result<ProcessSeccomp, InspectError> {
    if pid <= 0 {
        return Err(InspectError::NoProcess { pid });
    }
    let mut tries = 0;
    loop {
        // Opened first: a process that dies later is never replaced by another with its
        // pid. A thread that is not its group's leader has no pidfd of this kind; the
        // status read after the filters notices that it is gone.
        let pidfd = rustix::process::Pid::from_raw(pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        let before = status(pid)?;
        if before.mode != 2 {
            return Ok(before);
        }
        may_read_filters(pid)?;
        let filters = read_filters(pid, pidfd)?;
        let after = status(pid)?;
        let same_count = before.filter_count == after.filter_count
            && after
                .filter_count
                .is_none_or(|n| n as usize == filters.len());
        if same_count {
            return Ok(ProcessSeccomp { filters, ..after });
        }
        tries += 1;
        if tries == 3 {
            return Err(InspectError::Changing { pid });
        }
    }
}

/// Whether this process may read another's filters (CAP_SYS_ADMIN, and no seccomp filter
/// of its own: kernel/seccomp.c, seccomp_get_filter), checked before the target is
/// attached so that a reader who may not never stops it.
fn may_read_filters(pid: i32) -> Result<(), InspectError> {
    const CAP_SYS_ADMIN: u32 = 21;
    let own = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        own.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let admin = field("CapEff:")
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0);
    let filtered = field("Seccomp:").is_some_and(|m| m != "0");
    if !admin || filtered {
        return Err(InspectError::NotPermitted {
            pid,
            what: "PTRACE_SECCOMP_GET_FILTER",
            reason: format!(
                "reading a process's filters needs CAP_SYS_ADMIN{}, and the reader must not run \
                 under a seccomp filter itself{} (kernel/seccomp.c, seccomp_get_filter); the \
                 target was not touched",
                if admin {
                    ""
                } else {
                    " (this process lacks it)"
                },
                if filtered { " (this process does)" } else { "" }
            ),
        });
    }
    Ok(())
}

/// Whether `pid` has exited and waits to be reaped (`Z` or `X` in `/proc/PID/stat`).
fn exited(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses and may hold any byte.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_none_or(|state| state == "Z" || state == "X")
}

/// The threads of `pid` other than `pid` itself whose seccomp mode or filter count differ
/// from `mode` and `count` (at most 4,096 threads looked at).
fn differing_threads(pid: i32, mode: u32, count: Option<u32>) -> Vec<ThreadSeccomp> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .take(4096)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|tid| *tid != pid)
        .filter_map(|tid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.trim().parse::<u32>().ok())
            };
            let t = ThreadSeccomp {
                tid,
                mode: field("Seccomp:")?,
                filter_count: field("Seccomp_filters:"),
            };
            (t.mode != mode || t.filter_count != count).then_some(t)
        })
        .collect()
}

/// `/proc/PID/status`'s seccomp fields.
fn status(pid: i32) -> Result<ProcessSeccomp, InspectError> {
    let path = format!("/proc/{pid}/status");
    let mut text = String::new();
    match std::fs::File::open(&path) {
        Ok(f) => f
            .take(1 << 16)
            .read_to_string(&mut text)
            .map_err(|e| InspectError::Status {
                pid,
                reason: e.to_string(),
            })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InspectError::NoProcess { pid })
        }
        Err(e) => {
            return Err(InspectError::Status {
                pid,
                reason: e.to_string(),
            })
        }
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    let mode = field("Seccomp:").ok_or_else(|| InspectError::Status {
        pid,
        reason: "no Seccomp: field (a kernel without CONFIG_SECCOMP)".into(),
    })?;
    let filter_count = field("Seccomp_filters:");
    Ok(ProcessSeccomp {
        pid,
        mode,
        no_new_privs: field("NoNewPrivs:") == Some(1),
        filter_count,
        filters: Vec::new(),
        other_threads: differing_threads(pid, mode, filter_count),
    })
}

/// The filters of `pid`, read on a thread of their own (see the module's documentation).
fn read_filters(
    pid: i32,
    pidfd: Option<std::os::fd::OwnedFd>,
) -> Result<Vec<InstalledFilter>, InspectError> {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("oci-seccomp-inspect".into())
        .spawn(move || {
            let _ = tx.send(attach_and_read(pid, pidfd));
        })
        .map_err(|e| InspectError::Os {
            pid,
            what: "spawning the inspecting thread",
            source: e,
        })?;
    // The worker ends within STOP_TIMEOUT plus the reads; waiting for it is bounded.
    let result = rx.recv().unwrap_or(Err(InspectError::NoStop { pid }));
    let _ = worker.join();
    result
}

/// `ptrace(request, pid, addr, data)`, the result or the errno.
fn ptrace(
    request: libc::c_uint,
    pid: i32,
    addr: usize,
    data: *mut libc::c_void,
) -> Result<libc::c_long, std::io::Error> {
    // SAFETY: every request made here takes an integer `addr` and a `data` that is null, a
    // signal number, or a pointer to a buffer of the size the request writes (the callers
    // below size them: `count` sock_filters, one seccomp_metadata); the kernel checks the
    // rest. No memory of ours is retained by the kernel.
    let rc = unsafe { libc::ptrace(request, pid, addr, data) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Seizes, interrupts, reads and detaches `pid`; runs on the inspecting thread.
fn attach_and_read(
    pid: i32,
    pidfd: Option<std::os::fd::OwnedFd>,
) -> Result<Vec<InstalledFilter>, InspectError> {
    ptrace(libc::PTRACE_SEIZE, pid, 0, std::ptr::null_mut()).map_err(|e| {
        match e.raw_os_error() {
            Some(libc::ESRCH) => InspectError::NoProcess { pid },
            Some(libc::EPERM) if exited(pid) => InspectError::NoProcess { pid },
            Some(libc::EPERM) => InspectError::NotPermitted {
                pid,
                what: "PTRACE_SEIZE",
                reason: format!(
                    "{e} (inspecting needs CAP_SYS_PTRACE over the process, which may not be \
                 traced already, and Yama's ptrace_scope permitting it)"
                ),
            },
            _ => InspectError::Os {
                pid,
                what: "PTRACE_SEIZE",
                source: e,
            },
        }
    })?;
    // From here on the thread is the target's tracer until it detaches or ends.
    let stopped = interrupt_and_wait(pid);
    let signal = *stopped.as_ref().unwrap_or(&0);
    let result = match stopped {
        // The pidfd tells whether `pid` is still the process whose status was read.
        Ok(_) if pidfd.as_ref().is_some_and(|fd| !alive(fd)) => {
            Err(InspectError::NoProcess { pid })
        }
        Ok(_) => read_all(pid),
        Err(e) => Err(e),
    };
    // Detaching a tracee that is not stopped fails (ESRCH); the kernel detaches it when
    // this thread ends, which it does next.
    let _ = ptrace(
        libc::PTRACE_DETACH,
        pid,
        0,
        signal as usize as *mut libc::c_void,
    );
    result
}

/// Whether the process of `pidfd` is still running (its pidfd is not readable).
fn alive(pidfd: &std::os::fd::OwnedFd) -> bool {
    let fd = pidfd.as_fd();
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    matches!(
        rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default())),
        Ok(0)
    )
}

/// Interrupts `pid` and waits for its stop; the signal to hand back at the detach (a
/// signal-delivery-stop's signal, or 0).
fn interrupt_and_wait(pid: i32) -> Result<i32, InspectError> {
    ptrace(libc::PTRACE_INTERRUPT, pid, 0, std::ptr::null_mut()).map_err(|e| {
        if e.raw_os_error() == Some(libc::ESRCH) {
            InspectError::NoProcess { pid }
        } else {
            InspectError::Os {
                pid,
                what: "PTRACE_INTERRUPT",
                source: e,
            }
        }
    })?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid int for the kernel to write; WNOHANG never blocks.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::__WALL | libc::WNOHANG) };
        if rc == pid {
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(InspectError::NoProcess { pid });
            }
            if libc::WIFSTOPPED(status) {
                let event = status >> 16;
                let sig = libc::WSTOPSIG(status);
                // An interrupt- or group-stop (PTRACE_EVENT_STOP) holds no signal; any
                // other stop is a signal about to be delivered, given back at the detach.
                return Ok(if event == PTRACE_EVENT_STOP { 0 } else { sig });
            }
        } else if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(InspectError::Os {
                    pid,
                    what: "waitpid",
                    source: e,
                });
            }
        }
        if Instant::now() >= deadline {
            return Err(InspectError::NoStop { pid });
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Every filter of the stopped `pid`, most recent first.
fn read_all(pid: i32) -> Result<Vec<InstalledFilter>, InspectError> {
    let mut out = Vec::new();
    for index in 0.. {
        if index >= MAX_FILTERS {
            return Err(InspectError::TooLarge {
                pid,
                reason: format!("more than {MAX_FILTERS} filters"),
            });
        }
        let count = match ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, std::ptr::null_mut()) {
            Ok(n) => n as usize,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
            Err(e) => return Err(get_filter_error(pid, e)),
        };
        if count == 0 || count > BPF_MAXINSNS {
            return Err(InspectError::TooLarge {
                pid,
                reason: format!("filter {index} has {count} instructions (1 to {BPF_MAXINSNS})"),
            });
        }
        let mut raw = vec![
            libc::sock_filter {
                code: 0,
                jt: 0,
                jf: 0,
                k: 0
            };
            count
        ];
        let n = ptrace(
            PTRACE_SECCOMP_GET_FILTER,
            pid,
            index,
            raw.as_mut_ptr().cast(),
        )
        .map_err(|e| get_filter_error(pid, e))? as usize;
        // The target is stopped: its filter cannot have grown; a shorter answer is kept.
        raw.truncate(n.min(count));
        let mut meta = SeccompMetadata {
            filter_off: index as u64,
            flags: 0,
        };
        let log = ptrace(
            PTRACE_SECCOMP_GET_METADATA,
            pid,
            std::mem::size_of::<SeccompMetadata>(),
            std::ptr::addr_of_mut!(meta).cast(),
        )
        .ok()
        .map(|_| meta.flags & SECCOMP_FILTER_FLAG_LOG != 0);
        out.push(InstalledFilter {
            instructions: raw
                .iter()
                .map(|f| Instruction::jump(f.code, f.k, f.jt, f.jf))
                .collect(),
            log,
        });
    }
    // The kernel counts `filter_off` from the first installed filter (get_nth_filter in
    // kernel/seccomp.c); the stack is reported most recent first, as it runs.
    out.reverse();
    Ok(out)
}

/// `PTRACE_SECCOMP_GET_FILTER`'s errors, with what to do.
fn get_filter_error(pid: i32, e: std::io::Error) -> InspectError {
    let reason = match e.raw_os_error() {
        Some(libc::EACCES) => format!(
            "{e}: reading a process's filters needs CAP_SYS_ADMIN, and the reader must not run \
             under a seccomp filter itself (kernel/seccomp.c, seccomp_get_filter)"
        ),
        Some(libc::EMEDIUMTYPE) => format!(
            "{e}: the kernel kept no copy of this filter (it needs \
             CONFIG_CHECKPOINT_RESTORE)"
        ),
        Some(libc::EIO) | Some(libc::EINVAL) => format!("{e}: the kernel cannot return it"),
        _ => e.to_string(),
    };
    InspectError::NotPermitted {
        pid,
        what: "PTRACE_SECCOMP_GET_FILTER",
        reason,
    }
}
