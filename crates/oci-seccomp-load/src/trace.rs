//! The agent of trace, complain and record mode: answers each routed notification as the
//! profile would have, and reports it with the rule that decided it.
//!
//! The filter installed is [`oci_seccomp::trace::route_denials`] of the profile's proven
//! program: calls the profile allows never leave the kernel; every call it denies arrives
//! here as a notification. For each one the [`Tracer`]
//!
//! 1. runs the **original** program on the notification's `seccomp_data` (the exact
//!    action the kernel would have taken: same instructions, so no approximation), and asks
//!    [`oci_seccomp::Profile::decide`] which entry decided it (`syscalls[i]`,
//!    `defaultAction`, the ENOSYS stub, an architecture not in the profile);
//! 2. answers by [`Mode`]: in **trace** mode as the kernel would have — `ERRNO(e)` fails the
//!    call with `e`; `TRACE` fails it with `ENOSYS`, as the kernel does when no tracer is
//!    attached; `KILL_PROCESS` and `KILL_THREAD` kill the process with `SIGKILL` (user
//!    space can end a process, not one thread of it, and cannot make the kernel's `SIGSYS`
//!    exit status) — in **complain** and **record** mode it lets the call run (`CONTINUE`);
//! 3. hands an [`Event`] to the caller's sink (one JSON line, a summary, a recorder).
//!
//! Argument values in an event are the registers the kernel saw. Memory they point at is
//! never read here: anything read from the target's memory could change after the read,
//! so it could only ever be a report, never a decision.
//!
//! In complain and record mode the workload runs unconfined by the profile: every call the
//! profile denies is let through, as with a `SCMP_ACT_LOG` default.

use std::time::SystemTime;

use oci_seccomp::prove::{Cause, Model};
use oci_seccomp::{Action, Profile, Program, SeccompData};

use crate::error::NotifyError;
use crate::notify::{Notification, NotifyFd};

/// What the agent does with the calls the profile denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Enforce the profile exactly (see the module docs for KILL and TRACE) and report.
    Trace,
    /// Report, and let every call run.
    Complain,
    /// Let every call run; the events are what a recorder learns from.
    Record,
}

/// What the agent did with one notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Taken {
    /// The call failed with this errno (`0`: it returned 0 without running).
    Errno(i32),
    /// The process was killed (`SIGKILL`).
    Killed,
    /// The call ran (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`).
    Continued,
    /// The target was gone (killed, or interrupted out of the call) before the answer.
    Gone,
}

/// One call the profile does not allow, as the agent saw and answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// When the notification was read.
    pub time: SystemTime,
    /// The target's process (thread group) id in the agent's pid namespace, when it could
    /// be read before the target went away.
    pub pid: Option<i32>,
    /// The target thread, in the agent's pid namespace.
    pub tid: u32,
    /// The thread's `comm` (empty when it could not be read).
    pub comm: String,
    /// `seccomp_data.arch`, an `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// `seccomp_data.nr` (x32 numbers carry bit 30).
    pub nr: i32,
    /// The six arguments, as the kernel saw the registers.
    pub args: [u64; 6],
    /// What the profile decides: the original program's action.
    pub action: Action,
    /// Which part of the profile decided it.
    pub decided_by: Cause,
    /// What the agent did.
    pub taken: Taken,
}

impl Event {
    /// The architecture's libseccomp name (`SCMP_ARCH_X86_64`), when known.
    pub fn arch_name(&self) -> Option<&'static str> {
        self.arch_info().map(|a| a.name)
    }

    /// The syscall's name for its ABI (`None` for a number libseccomp does not know).
    pub fn syscall(&self) -> Option<String> {
        oci_seccomp::arch::syscall_name(self.nr, self.arch_info()?)
    }

    fn arch_info(&self) -> Option<&'static oci_seccomp::arch::ArchInfo> {
        let x32 = self.nr & 0x4000_0000 != 0;
        oci_seccomp::arch::ALL
            .iter()
            .find(|a| a.audit_arch == self.arch && a.x32 == x32)
            .or_else(|| {
                oci_seccomp::arch::ALL
                    .iter()
                    .find(|a| a.audit_arch == self.arch)
            })
    }
}

/// The agent's decision procedure: the original program and the profile's model.
#[derive(Debug)]
pub struct Tracer {
    original: Program,
    model: Model,
    mode: Mode,
}

impl Tracer {
    /// A tracer for `original`, the program compiled (and proven) from `profile` with
    /// `options`, whose [`route_denials`](oci_seccomp::trace::route_denials) is the filter
    /// installed. Builds the profile's model once, so that each event costs a simulation
    /// and a lookup, not a compile.
    pub fn new(
        original: Program,
        profile: &Profile,
        options: &oci_seccomp::CompileOptions,
        mode: Mode,
    ) -> Self {
        Self {
            model: Model::new(profile, options.enosys_stub),
            original,
            mode,
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the profile decides for `n` and which part decided: the original program's
    /// action (exact), and the cause the profile gives for that action.
    pub fn decide(&self, n: &Notification) -> (Action, Cause) {
        let data = SeccompData {
            nr: n.nr,
            arch: n.arch,
            instruction_pointer: n.instruction_pointer,
            args: n.args,
        };
        // A proven program always runs to a RET; if it ever did not, kill (fail closed).
        let action = oci_seccomp::simulate::run(self.original.instructions(), &data)
            .map_or(Action::KillProcess, |d| d.action);
        let verdict = oci_seccomp::prove::decide(&self.model, n.arch, n.nr as u32, n.args);
        let cause = verdict
            .outcomes
            .iter()
            .find(|(a, _)| *a == action)
            .or(verdict.outcomes.first())
            .map_or(Cause::Default, |(_, c)| c.clone());
        (action, cause)
    }

    /// Answers one notification (see the module docs) and returns what happened.
    pub fn handle(&self, fd: &NotifyFd, n: &Notification) -> Event {
        let (action, decided_by) = self.decide(n);
        let time = SystemTime::now();
        let (pid, comm) = target_identity(n.pid);
        // The thread may have been reused before we read /proc: only a still-valid
        // notification vouches for what we read.
        let (pid, comm) = if fd.id_valid(n.id) {
            (pid, comm)
        } else {
            (None, String::new())
        };
        let taken = match self.mode {
            Mode::Complain | Mode::Record => answered(fd.respond_continue(n.id), Taken::Continued),
            Mode::Trace => match action {
                Action::Errno(0) => answered(fd.respond_value(n.id, 0), Taken::Errno(0)),
                Action::Errno(e) => {
                    answered(fd.respond_errno(n.id, i32::from(e)), Taken::Errno(e.into()))
                }
                // No tracer is attached: the kernel fails the call with ENOSYS.
                Action::Trace(_) => answered(
                    fd.respond_errno(n.id, libc::ENOSYS),
                    Taken::Errno(libc::ENOSYS),
                ),
                Action::Allow | Action::Log => {
                    answered(fd.respond_continue(n.id), Taken::Continued)
                }
                // KILL (and anything a routed program cannot return): end the process.
                _ => kill_target(fd, n, pid),
            },
        };
        Event {
            time,
            pid,
            tid: n.pid,
            comm,
            arch: n.arch,
            nr: n.nr,
            args: n.args,
            action,
            decided_by,
            taken,
        }
    }

    /// Receives and answers notifications until no process uses the filter any more,
    /// handing each [`Event`] to `sink`. Notifications whose target went away before they
    /// were read are skipped.
    ///
    /// # Errors
    ///
    /// A [`NotifyError`] other than "all targets gone" and "target gone" from
    /// [`NotifyFd::receive_timeout`].
    pub fn serve(&self, fd: &NotifyFd, mut sink: impl FnMut(Event)) -> Result<(), NotifyError> {
        loop {
            // Poll first: once every target is gone the fd hangs up, and a blocking
            // receive would fail with ENOENT forever instead of ending.
            match fd.receive_timeout(std::time::Duration::from_secs(3600)) {
                Ok(Some(n)) => sink(self.handle(fd, &n)),
                Ok(None) => continue,
                Err(NotifyError::AllTargetsGone) => return Ok(()),
                Err(e) if e.is_target_gone() => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

fn answered(r: Result<(), NotifyError>, taken: Taken) -> Taken {
    match r {
        Ok(()) => taken,
        Err(_) => Taken::Gone,
    }
}

/// The thread group and `comm` of thread `tid`, read from `/proc` (best effort).
fn target_identity(tid: u32) -> (Option<i32>, String) {
    let tgid = std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse::<i32>().ok())
        });
    let comm = std::fs::read_to_string(format!("/proc/{tid}/comm"))
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_default();
    (tgid, comm)
}

/// Kills the target's process: a pidfd first, then a check that the notification is still
/// pending (so the pidfd names the process that made the call, not a reused pid), then
/// `SIGKILL` through the pidfd.
fn kill_target(fd: &NotifyFd, n: &Notification, tgid: Option<i32>) -> Taken {
    let Some(pid) = tgid
        .filter(|&t| t > 0)
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Taken::Gone;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return Taken::Gone;
    };
    if !fd.id_valid(n.id) {
        return Taken::Gone;
    }
    match rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL) {
        Ok(()) => Taken::Killed,
        Err(_) => Taken::Gone,
    }
}
