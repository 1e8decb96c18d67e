//! Running a plan: fork, the child's steps, the handoff, the child's messages, the wait.

use std::io::Read;
use std::os::unix::net::UnixStream;

use nix::unistd::ForkResult;
use oci_seccomp::Program;

use crate::child::{self, ChildContext};
use crate::child_message::{
    CapabilityOp, ChildError, ChildMessage, IdentityOp, MountError, MountOp, NamespaceError,
    NoNewPrivilegesError, PathError, PathOp, PrivilegeOp, SessionError, StepFailure, VerifyError,
};
use crate::container::{ContainerPlan, DEFAULT_DEVICES, DEV_SYMLINKS};
use crate::error::{ChildFailure, LaunchError, PlanError};
use crate::seccomp::{Handoff, NotifyHandler};
use crate::supervisor::{Exit, Supervisor};
use crate::LaunchPlan;

/// A plan with its compiled program and agent connection, ready to run.
pub struct Launcher {
    plan: LaunchPlan,
    program: Option<Program>,
    listener: Option<UnixStream>,
    verify_after_filter: bool,
    on_notify_fd: Option<NotifyHandler>,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher")
            .field("plan", &self.plan)
            .field("program", &self.program)
            .field("listener", &self.listener)
            .field("verify_after_filter", &self.verify_after_filter)
            .field("on_notify_fd", &self.on_notify_fd.is_some())
            .finish()
    }
}

impl Launcher {
    /// Pairs `plan` with the `program` compiled from [`LaunchPlan::seccomp`] (`None`: no
    /// filter) and the agent connection from [`connect_for_plan`](crate::connect_for_plan).
    ///
    /// # Errors
    ///
    /// [`PlanError::IdentityUnreadable`]: see [`LaunchPlan::check_program`].
    pub fn new(
        plan: LaunchPlan,
        program: Option<Program>,
        listener: Option<UnixStream>,
    ) -> Result<Self, PlanError> {
        let verify_after_filter = match &program {
            Some(p) => plan.check_program(p)?,
            None => false,
        };
        Ok(Self {
            plan,
            program,
            listener,
            verify_after_filter,
            on_notify_fd: None,
        })
    }

    /// Pairs `plan` with a recorder's `program`: [`Launcher::new`] without the identity
    /// read-back. Only for a program under which no call's result can be faked: every
    /// call it does not allow goes to a notify handler that lets it run
    /// ([`Mode::Record`](oci_seccomp_load::trace::Mode::Record) answers `CONTINUE`, or
    /// `ENOSYS` where the profile itself says so, which never reports success), and its
    /// `TRAP`s kill (the child runs with default signal dispositions). What the identity
    /// calls report is then what the kernel did.
    #[must_use]
    pub fn new_recording(
        plan: LaunchPlan,
        program: Option<Program>,
        listener: Option<UnixStream>,
    ) -> Self {
        Self {
            plan,
            program,
            listener,
            verify_after_filter: false,
            on_notify_fd: None,
        }
    }

    /// Serve the notify fd in this process instead of sending it to an agent: when the
    /// program needs a listener and no agent connection was given, `handler` receives the
    /// fd right after the child's install (without a handler such a start is refused,
    /// [`LaunchError::NoListener`]: nobody could answer the child).
    #[must_use]
    pub fn with_notify_handler(mut self, handler: NotifyHandler) -> Self {
        self.on_notify_fd = Some(handler);
        self
    }

    /// The plan.
    #[must_use]
    pub fn plan(&self) -> &LaunchPlan {
        &self.plan
    }

    /// Forks, runs the child's steps and execs the workload, hands the notify fd to the
    /// agent, forwards signals and waits.
    ///
    /// **The process must be single-threaded**, and this is checked: `fork` copies only
    /// the calling thread, and the child's set-up (before its steps stop allocating) may
    /// need a lock that another thread held at the fork. With another thread alive, `run`
    /// forks nothing and returns [`LaunchError::MultiThreaded`]. Call it before starting
    /// threads; a notify handler ([`Launcher::with_notify_handler`]) may start its thread,
    /// since it runs after the fork. `oci-seccomp run`, `run --trace` and `record` work
    /// this way: their agent thread starts in the handler.
    ///
    /// # Errors
    ///
    /// [`LaunchError`]: the process has other threads ([`LaunchError::MultiThreaded`]), a
    /// call of the parent failed, the handoff failed, or a step of the child failed (then
    /// the workload never ran).
    pub fn run(mut self) -> Result<Exit, LaunchError> {
        // Checked before anything is set up, and exact: only a thread of this process
        // could start another, and this one starts none before the fork.
        let threads = thread_count()?;
        if threads != 1 {
            return Err(LaunchError::MultiThreaded { threads });
        }
        let plan = &self.plan;
        let mut handoff = Handoff::new(plan, self.program.take(), self.listener.take())?;
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|errno| {
            LaunchError::Parent {
                call: "pipe2",
                errno,
            }
        })?;
        // Our own pid namespace, to return to after the fork: after unshare(CLONE_NEWPID)
        // the kernel refuses CLONE_THREAD (EINVAL), and a notify handler starts a thread.
        let own_pid_ns = if plan.container.as_ref().is_some_and(|c| c.pid_ns) {
            Some(
                std::fs::File::open("/proc/self/ns/pid").map_err(|e| LaunchError::Parent {
                    call: "open /proc/self/ns/pid",
                    errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                })?,
            )
        } else {
            None
        };
        if plan.container.as_ref().is_some_and(|c| c.pid_ns) {
            // The child becomes pid 1 of a new pid namespace; this process stays where it is.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).map_err(|errno| {
                LaunchError::Parent {
                    call: "unshare(CLONE_NEWPID) for the pid namespace",
                    errno,
                }
            })?;
        }
        // The workload must not reach into this process, which holds the notify fd (trace
        // mode's agent, or the fd on its way to the agent) and runs unfiltered: without a
        // pid namespace it is the workload's parent, and the same uid could otherwise
        // ptrace it, write its memory through /proc/PID/mem, or pidfd_getfd the notify fd.
        // Non-dumpable, only CAP_SYS_PTRACE can.
        nix::sys::prctl::set_dumpable(false).map_err(|errno| LaunchError::Parent {
            call: "prctl(PR_SET_DUMPABLE, 0)",
            errno,
        })?;
        let mut ctx = ChildContext::new(plan, self.verify_after_filter);
        // SAFETY: this process is single-threaded here: checked at the start of `run`, and
        // nothing since started a thread (a notify handler runs after the fork). So the child
        // may call anything; it only runs its steps and execs or exits.
        let child = match unsafe { nix::unistd::fork() } {
            Err(errno) => {
                return Err(LaunchError::Parent {
                    call: "fork",
                    errno,
                })
            }
            Ok(ForkResult::Child) => {
                drop(rd);
                child::run(&mut ctx, handoff.child_part(), wr)
            }
            Ok(ForkResult::Parent { child }) => child,
        };
        drop(wr);
        if let Some(ns) = &own_pid_ns {
            // Later children (and threads) of this process belong where it is again.
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWPID).map_err(|errno| {
                let _ = nix::sys::signal::kill(child, nix::sys::signal::SIGKILL);
                LaunchError::Parent {
                    call: "setns back to our own pid namespace",
                    errno,
                }
            })?;
        }
        handoff.forked();
        let supervisor = Supervisor::new(child);

        let mut messages = std::fs::File::from(rd);
        let mut error: Option<LaunchError> = None;
        let mut buf = [0u8; ChildMessage::SIZE];
        while messages.read_exact(&mut buf).is_ok() {
            let message = ChildMessage::from_bytes(&buf);
            if message == ChildMessage::INSTALLING {
                if let Err(e) = handoff.receive(plan, child, &mut self.on_notify_fd) {
                    error.get_or_insert(e);
                }
                continue;
            }
            let Some(failure) = StepFailure::from_message(&message) else {
                continue;
            };
            // The handoff's words are the most precise for a failed install; for every other
            // step, the child's own.
            if failure.error() == ChildError::Seccomp && error.is_some() {
                continue;
            }
            error = Some(LaunchError::Child(ChildFailure {
                message: describe(plan, &failure),
                failure,
            }));
        }
        handoff.close();
        let exit = supervisor.wait();
        match error {
            Some(e) => Err(e),
            None => Ok(exit),
        }
    }
}

/// The threads of this process: `Threads:` of /proc/self/status.
fn thread_count() -> Result<usize, LaunchError> {
    const CALL: &str = "read Threads: of /proc/self/status (is /proc mounted?)";
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| LaunchError::Parent {
        call: CALL,
        errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(LaunchError::Parent {
            call: CALL,
            errno: nix::errno::Errno::EIO,
        })
}

/// The first component of mount `i`'s destination that is a symlink in the rootfs, as
/// `/tmp` (the child, which refused it, can only report the mount's index).
fn symlink_component(c: &ContainerPlan, i: u32) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let m = c.mounts.get(i as usize)?;
    let root = std::path::Path::new(std::ffi::OsStr::from_bytes(c.rootfs.as_bytes()));
    let mut at = std::path::PathBuf::new();
    for part in m.rel.components() {
        at.push(part);
        if root.join(&at).symlink_metadata().ok()?.is_symlink() {
            return Some(format!("/{}", at.display()));
        }
    }
    None
}

/// The words for a child's failure, from the plan: [`describe_mount`] and
/// [`describe_path`] for the steps whose errors point into the plan, the words here for
/// the others.
pub(crate) fn describe(plan: &LaunchPlan, f: &StepFailure) -> String {
    let c = plan.container.as_ref();
    match f.error() {
        ChildError::Session(SessionError::Setsid) => "setsid".into(),
        ChildError::Session(_) => "prctl(PR_SET_PDEATHSIG)".into(),
        ChildError::Namespaces(NamespaceError::Unshare) => format!(
            "unshare({:#x}) of the namespaces in linux.namespaces",
            c.map_or(0, |c| c.unshare.bits())
        ),
        ChildError::Namespaces(_) => "sethostname".into(),
        ChildError::Mounts(a) => describe_mount(c, a),
        ChildError::Paths(a) => describe_path(c, a),
        ChildError::Keyring => "keyctl(KEYCTL_JOIN_SESSION_KEYRING)".into(),
        ChildError::Privileges(a) => match a.op {
            PrivilegeOp::BoundingDrop => format!(
                "prctl(PR_CAPBSET_DROP) of capability {} for process.capabilities.bounding",
                a.detail
            ),
            PrivilegeOp::AmbientClear => "prctl(PR_CAP_AMBIENT_CLEAR_ALL)".into(),
            PrivilegeOp::SetGroups => "setgroups for process.user.additionalGids".into(),
        },
        ChildError::Seccomp => "the container process could not install its seccomp filter".into(),
        ChildError::Identity(a) => match a.op {
            IdentityOp::Chdir => "chdir to process.cwd".into(),
            IdentityOp::Setrlimit => format!("setrlimit for process.rlimits[{}]", a.detail),
            IdentityOp::KeepCaps => "prctl(PR_SET_KEEPCAPS)".into(),
            IdentityOp::Setresgid => "setresgid for process.user.gid".into(),
            IdentityOp::Setresuid => "setresuid for process.user.uid".into(),
            IdentityOp::ClearKeepCaps => "prctl(PR_SET_KEEPCAPS, 0)".into(),
        },
        ChildError::Capabilities(a) => match a.op {
            CapabilityOp::Capset => {
                "capset for process.capabilities (effective/permitted/inheritable)".into()
            }
            CapabilityOp::AmbientRaise => format!(
                "prctl(PR_CAP_AMBIENT_RAISE) of capability {} for process.capabilities.ambient",
                a.detail
            ),
        },
        ChildError::NoNewPrivileges(NoNewPrivilegesError::Set) => {
            "prctl(PR_SET_NO_NEW_PRIVS)".into()
        }
        ChildError::NoNewPrivileges(_) => {
            "verify before exec: no-new-privileges is not set".into()
        }
        ChildError::Verify(v) => match v {
            VerifyError::Uids => "verify before exec: the user ids are not process.user.uid (setresuid was refused or faked)",
            VerifyError::Gids => "verify before exec: the group ids are not process.user.gid (setresgid was refused or faked)",
            VerifyError::GroupBuffer => "verify before exec: internal error: group buffer too small",
            VerifyError::Groups => "verify before exec: the additional groups are not process.user.additionalGids",
            VerifyError::Capget => "verify before exec: capget failed",
            VerifyError::CapSets => "verify before exec: the capability sets are not process.capabilities (capset was refused or faked)",
            VerifyError::Bounding => "verify before exec: the bounding set is not process.capabilities.bounding",
            VerifyError::Ambient => "verify before exec: the ambient set is not process.capabilities.ambient",
            VerifyError::Rlimits => "verify before exec: process.rlimits are not in force (setrlimit was refused or faked)",
        }
        .into(),
        ChildError::Exec => format!("cannot execute {:?}", plan.arg0()),
    }
}

/// The words for a failure of [`Step::RootfsAndMounts`](crate::Step::RootfsAndMounts):
/// `a.detail` is the mount's index in the plan (or the default device's, or the `/dev`
/// symlink's).
fn describe_mount(c: Option<&ContainerPlan>, a: MountError) -> String {
    let d = c
        .and_then(|c| c.mounts.get(a.detail as usize))
        .map_or("?".to_string(), |m| m.destination.clone());
    match a.op {
        MountOp::MakePrivate => "make / recursively private".into(),
        MountOp::BindRootfs => "bind-mount the rootfs on itself".into(),
        MountOp::RootfsNodev => "remount the rootfs nodev".into(),
        MountOp::OpenRootfs => "open the rootfs".into(),
        MountOp::Dup => format!("mount destination {d}: dup"),
        MountOp::Create => format!("mount destination {d}: cannot create a component"),
        MountOp::Symlink => {
            match c.and_then(|c| symlink_component(c, a.detail)) {
                Some(link) => format!(
                    "mount destination {d}: {link} is a symlink in the rootfs; not supported"
                ),
                None => format!(
                    "mount destination {d}: a component is a symlink in the rootfs; not supported"
                ),
            }
        }
        MountOp::Open => format!("mount destination {d}: cannot open a component"),
        MountOp::NotDirectory => {
            format!("mount destination {d}: a component is not a directory")
        }
        MountOp::Directory => format!(
            "mount destination {d}: is a directory but the bind source is a file"
        ),
        MountOp::Stat => format!("mount destination {d}: stat"),
        MountOp::Mount => {
            let t = c
                .and_then(|c| c.mounts.get(a.detail as usize))
                .map_or("?".into(), |m| m.fstype.to_string_lossy().into_owned());
            format!("mount {t} on {d}")
        }
        MountOp::Moved => {
            format!("mount destination {d}: moved while mounting; refusing")
        }
        MountOp::NotNewMount => format!(
            "mount destination {d}: after mounting, the path no longer leads to the new mount (changed while mounting); refusing"
        ),
        MountOp::Remount => format!("remount {d} with its options"),
        MountOp::Propagation => format!("set propagation of {d}"),
        MountOp::Device => {
            let (name, src) = DEFAULT_DEVICES
                .get(a.detail as usize)
                .copied()
                .unwrap_or(("?", c"?"));
            format!(
                "bind-mount the host's {} on /dev/{name}",
                src.to_string_lossy()
            )
        }
        MountOp::DevSymlink => format!(
            "symlink /dev/{}",
            DEV_SYMLINKS.get(a.detail as usize).map_or("?", |s| s.0)
        ),
        MountOp::Chdir => "chdir into the rootfs".into(),
        MountOp::PivotRoot => "pivot_root into the rootfs".into(),
        MountOp::DetachOldRoot => "detach the old root after pivot_root".into(),
        MountOp::MoveRoot => "move the rootfs to / (pivot_root fallback)".into(),
        MountOp::Chroot => "chroot into the rootfs".into(),
        MountOp::ReadonlyRoot => "remount the root read-only (root.readonly)".into(),
    }
}

/// The words for a failure of
/// [`Step::MaskedAndReadonlyPaths`](crate::Step::MaskedAndReadonlyPaths): `a.detail` is
/// the path's index in `linux.readonlyPaths` or `linux.maskedPaths`.
fn describe_path(c: Option<&ContainerPlan>, a: PathError) -> String {
    let i = a.detail;
    let path = |list: fn(&ContainerPlan) -> &Vec<std::ffi::CString>| {
        c.and_then(|c| list(c).get(i as usize))
            .map_or("?".to_string(), |p| p.to_string_lossy().into_owned())
    };
    let ro = || path(|c| &c.readonly_paths);
    let masked = || path(|c| &c.masked_paths);
    match a.op {
        PathOp::ReadonlyBind => {
            format!("linux.readonlyPaths[{i}] {:?}: bind on itself", ro())
        }
        PathOp::ReadonlyRemount => {
            format!("linux.readonlyPaths[{i}] {:?}: remount read-only", ro())
        }
        PathOp::DevNullNotNull => {
            "linux.maskedPaths: /dev/null in the container is not the null device (1:3)".into()
        }
        PathOp::DevNullStat => "linux.maskedPaths: /dev/null".into(),
        PathOp::MaskStat => format!("linux.maskedPaths[{i}] {:?}", masked()),
        PathOp::MaskMount => format!("linux.maskedPaths[{i}] {:?}: mount", masked()),
    }
}
