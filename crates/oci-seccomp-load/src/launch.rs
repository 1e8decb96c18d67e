//! The whole seccomp part of starting a container, in the one order that is correct, for
//! any launcher: [`LaunchSeccomp`].
//!
//! A runtime that installs a filter with NOTIFY rules must, in this order:
//!
//! 1. **before `fork`**: connect to the agent at `listenerPath` (an unreachable or
//!    untrusted agent then fails the start before any workload runs) and make the hop-1
//!    channel ([`crate::handoff::channel`]);
//! 2. **in the child**: install the filter and publish the notify fd with no syscall in
//!    between ([`crate::handoff::ChildEnd::install_and_send`]), then exec;
//! 3. **in the parent**: take the fd out of the child with `pidfd_getfd`, send the
//!    container process state and the fd to the agent ([`crate::agent_client::send_state`]),
//!    close its own copies, and **kill the child** if any of this fails after the filter
//!    was installed (nobody could ever answer its notified syscalls).
//!
//! [`LaunchSeccomp::new`] does step 1 and [`LaunchSeccomp::split`] gives each side of the
//! `fork` its part: [`LaunchSeccompChild::install`] is step 2,
//! [`LaunchSeccompParent::complete`] step 3. NOTIFY may be used on any syscall, `write` and
//! `sendmsg` included: the child hands the fd over without making a syscall (see
//! [`crate::handoff`]).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
//! use oci_seccomp_load::{process_state, AllowedPeers, ContainerState};
//!
//! let spec: oci_seccomp::LinuxSeccomp = serde_json::from_str(
//!     r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
//!         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
//! )?;
//! // In the runtime, before fork: compile (allocates), connect to the agent.
//! let program = oci_seccomp::compile(&spec, &oci_seccomp::CompileOptions::default())?;
//! let (parent, child) = LaunchSeccomp::new(program, &spec, &AllowedPeers::default())?.split();
//! // SAFETY: the child only calls async-signal-safe code (install, execve, _exit).
//! match unsafe { nix::unistd::fork()? } {
//!     nix::unistd::ForkResult::Child => {
//!         drop(parent); // closes the child's copy of the agent connection
//!         // ... namespaces, mounts, credentials, no_new_privs ...
//!         if child.install().is_err() {
//!             // SAFETY: _exit is async-signal-safe.
//!             unsafe { libc::_exit(127) };
//!         }
//!         // ... execve(the workload) ...
//! #       unsafe { libc::_exit(0) };
//!     }
//!     nix::unistd::ForkResult::Parent { child: pid } => {
//!         drop(child);
//!         let state = process_state(
//!             pid.as_raw(),
//!             "metadata",
//!             "container-id",
//!             ContainerState::Creating,
//!             "/path/to/bundle",
//!             Default::default(),
//!         );
//!         match parent.complete(pid.as_raw(), state)? {
//!             Delivery::SentToAgent { .. } => {} // the agent answers from now on
//!             Delivery::Fd { notify_fd, .. } => drop(notify_fd), // no listenerPath: ours
//!             _ => {} // no NOTIFY rule (`Delivery::NoListener`)
//!         }
//!         // ... wait for the child ...
//!     }
//! }
//! # Ok(()) }
//! ```

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use oci_seccomp::{LinuxSeccomp, Program};

use crate::agent_client::{connect_for_spec_with, send_state};
use crate::error::HandoffError;
use crate::handoff::{channel, ChildEnd, ParentEnd, DEFAULT_TIMEOUT};
use crate::install::InstallStatus;
use crate::protocol::{AllowedPeers, ContainerProcessState};

/// Renamed to [`LaunchSeccomp`].
#[deprecated(
    note = "renamed to LaunchSeccomp: the seccomp part of a launch, beside a runtime's Launcher"
)]
pub type Launch = LaunchSeccomp;
/// Renamed to [`LaunchSeccompChild`].
#[deprecated(note = "renamed to LaunchSeccompChild")]
pub type LaunchChild = LaunchSeccompChild;
/// Renamed to [`LaunchSeccompParent`].
#[deprecated(note = "renamed to LaunchSeccompParent")]
pub type LaunchParent = LaunchSeccompParent;

/// The seccomp part of one container start (a launch), made before `fork`: the compiled
/// program, the hop-1 channel and, when the program has NOTIFY rules and the profile a
/// `listenerPath`, the connection to the agent. [`LaunchSeccomp::split`] it before `fork`;
/// each side keeps its part and drops the other.
#[derive(Debug)]
pub struct LaunchSeccomp {
    program: Program,
    parent: ParentEnd,
    child: ChildEnd,
    agent: Option<UnixStream>,
    timeout: Duration,
}

/// The child's part of a [`LaunchSeccomp`]: install the filter and hand the fd over.
#[derive(Debug)]
pub struct LaunchSeccompChild {
    program: Program,
    end: ChildEnd,
}

/// The parent's part of a [`LaunchSeccomp`]: take the fd, deliver it, or stop the child.
/// Dropped in the child, it closes the child's copy of the agent connection and nothing
/// else; dropped in the parent without [`LaunchSeccompParent::complete`], it abandons the
/// handoff (the child's install then fails with [`HandoffError::Abandoned`]).
#[derive(Debug)]
pub struct LaunchSeccompParent {
    end: ParentEnd,
    agent: Option<UnixStream>,
    timeout: Duration,
}

/// What happened to the notify fd.
#[derive(Debug)]
#[non_exhaustive]
pub enum Delivery {
    /// The program has no NOTIFY rule: there is no fd.
    NoListener {
        /// What the child's `install` applied.
        status: InstallStatus,
    },
    /// The fd and the container process state went to the agent; our copies are closed.
    SentToAgent {
        /// What the child's `install` applied.
        status: InstallStatus,
    },
    /// The program has NOTIFY rules and no agent was connected: the caller owns the fd
    /// (youki's and `initialize_seccomp`'s model: the runtime answers or passes it on).
    /// Until someone answers, the child's notified syscalls wait.
    Fd {
        /// The notify fd (close-on-exec).
        notify_fd: OwnedFd,
        /// What the child's `install` applied.
        status: InstallStatus,
    },
}

impl LaunchSeccomp {
    /// Step 1, before `fork`: connects to `spec.listenerPath` when `program` has a NOTIFY
    /// rule (the listener must belong to a uid of `allowed`, checked with `SO_PEERCRED`),
    /// and makes the hop-1 channel. A `listenerPath` without NOTIFY rules is ignored, as
    /// runc does.
    ///
    /// # Errors
    ///
    /// The [`HandoffError`] of [`crate::agent_client::connect_listener_with`] (unreachable
    /// agent, untrusted peer, bad path) or of [`crate::handoff::channel`].
    pub fn new(
        program: Program,
        spec: &LinuxSeccomp,
        allowed: &AllowedPeers,
    ) -> Result<Self, HandoffError> {
        let agent = if program.needs_listener() {
            connect_for_spec_with(spec, allowed)?
        } else {
            None
        };
        Self::with_agent(program, agent)
    }

    /// Step 1 with a connection the caller made itself (or `None`: the fd is returned
    /// to the caller, [`Delivery::Fd`]).
    ///
    /// # Errors
    ///
    /// [`HandoffError::Io`] when the shared page of [`crate::handoff::channel`] cannot
    /// be mapped.
    pub fn with_agent(program: Program, agent: Option<UnixStream>) -> Result<Self, HandoffError> {
        let (parent, child) = channel()?;
        Ok(Self {
            program,
            parent,
            child,
            agent,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// How long the parent waits for the child to install and hand over (default
    /// [`DEFAULT_TIMEOUT`], 30 s); it includes the child's set-up before the install.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The program the child will install.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Whether an agent connection is held (the fd will be [`Delivery::SentToAgent`]).
    pub fn has_agent(&self) -> bool {
        self.agent.is_some()
    }

    /// Splits into the parent's and the child's parts. Call it before `fork`; after it,
    /// the child drops the [`LaunchSeccompParent`] (which closes its copy of the agent
    /// connection and makes no allocation) and the parent drops the [`LaunchSeccompChild`].
    pub fn split(self) -> (LaunchSeccompParent, LaunchSeccompChild) {
        (
            LaunchSeccompParent {
                end: self.parent,
                agent: self.agent,
                timeout: self.timeout,
            },
            LaunchSeccompChild {
                program: self.program,
                end: self.child,
            },
        )
    }
}

impl LaunchSeccompChild {
    /// Installs the filter and hands the notify fd to the parent; returns once the parent
    /// holds it. Call it last before `execve`, after no-new-privileges when the process
    /// asks for it. Makes no heap allocation.
    ///
    /// # Errors
    ///
    /// As [`ChildEnd::install_and_send`]: on [`HandoffError::Abandoned`] after an install,
    /// exit at once with `_exit`.
    pub fn install(&self) -> Result<InstallStatus, HandoffError> {
        self.end.install_and_send(&self.program)
    }
}

impl LaunchSeccompParent {
    /// Waits for the child's install, takes the notify fd, and delivers it: to the agent
    /// with `state` (then closes our copies), or to the caller when no agent is connected.
    ///
    /// `child` is the child's pid as `fork` returned it (the only one that is right when
    /// the child has its own pid namespace); `state`'s `pid` should be the same.
    ///
    /// `child` must be a child of this process (checked through a pidfd: a wrong or reused
    /// pid is refused and never signalled). On every error after the child installed its
    /// filter, the child is killed with
    /// SIGKILL before the error is returned (its notified syscalls could never be
    /// answered); the caller still reaps it. On [`HandoffError::Install`] and
    /// [`HandoffError::ChildExited`] the child is left to exit on its own (it installed
    /// nothing, or is gone), so the caller can read why from its own report channel; on
    /// [`HandoffError::WrongChild`] (`child` is another child of ours than the one on the
    /// channel) nothing is signalled.
    ///
    /// # Errors
    ///
    /// The [`HandoffError`] of [`ParentEnd::receive_timeout`] or [`send_state`];
    /// [`HandoffError::Io`] when `child` is not a live child of this process.
    pub fn complete(
        self,
        child: libc::pid_t,
        state: ContainerProcessState,
    ) -> Result<Delivery, HandoffError> {
        let LaunchSeccompParent {
            end,
            agent,
            timeout,
        } = self;
        let pid = child;
        // Only ever signal our own child: a pidfd pins the process, and its parent must be
        // us (a wrong pid from the caller, or one reused, is refused and never killed).
        let pidfd = own_child(pid)?;
        let end = end.for_child(pid);
        let kill = || {
            let _ = rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL);
        };
        let (fd, status) = match end.receive_with_status(timeout) {
            Ok(got) => got,
            Err(e) => {
                if !matches!(
                    e,
                    HandoffError::Install(_)
                        | HandoffError::ChildExited { .. }
                        | HandoffError::WrongChild { .. }
                ) {
                    kill();
                }
                return Err(e);
            }
        };
        let Some(notify_fd) = fd else {
            return Ok(Delivery::NoListener { status });
        };
        let Some(agent) = agent else {
            return Ok(Delivery::Fd { notify_fd, status });
        };
        let sent = send_state(&agent, &state, notify_fd.as_fd());
        // Close our copies at once: from here on only the agent holds the listener.
        drop(agent);
        drop(notify_fd);
        match sent {
            Ok(()) => Ok(Delivery::SentToAgent { status }),
            Err(e) => {
                kill();
                Err(e)
            }
        }
    }
}

/// A pidfd for `pid` after checking that it is a child of this process: the pidfd is
/// opened first, so the process checked is the one the pidfd names.
fn own_child(pid: libc::pid_t) -> Result<OwnedFd, HandoffError> {
    let not_ours = |why: String| {
        HandoffError::io(
            "identify the child",
            std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
        )
    };
    let Some(p) = (pid > 0)
        .then(|| rustix::process::Pid::from_raw(pid))
        .flatten()
    else {
        return Err(not_ours(format!(
            "pid {pid} is not a process id; pass the pid fork returned"
        )));
    };
    let pidfd = match rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Err(HandoffError::ChildExited { pid }),
        Err(e) => return Err(HandoffError::io("pidfd_open of the child", e.into())),
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|_| HandoffError::ChildExited { pid })?;
    let ppid = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse::<libc::pid_t>().ok());
    let me = rustix::process::getpid().as_raw_nonzero().get();
    if ppid != Some(me) {
        return Err(not_ours(format!(
            "pid {pid} is not a child of this process (its parent is {ppid:?}); pass the pid \
             fork returned"
        )));
    }
    Ok(pidfd)
}
