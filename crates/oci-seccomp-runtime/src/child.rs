//! The child's work, after `fork`: a short list of single-purpose steps, each with its own
//! `Copy` error ([`crate::child_message`]), run in the order of [`Step::order`] (docs/security.md,
//! "Launcher").
//!
//! **Async-signal safety.** The parent forks while single-threaded (`Launcher::run` checks
//! it and refuses otherwise), so the child may call anything, but the steps from [`Step::Privileges`](crate::Step::Privileges) on make no
//! heap allocation (a filter may be in, and a failure is sent as a fixed-size message):
//! every C string, pointer array and scratch buffer is made before `fork`. The mount steps
//! do not allocate either (paths are the plan's C strings or stack buffers).

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::signal::{SigHandler, Signal};
use nix::sys::stat::Mode;
use oci_seccomp_load::LaunchSeccompChild;

use crate::child_message::{
    At, CapabilityOp, ChildMessage, ExecError, Failed, IdentityOp, InstallError, KeyringError,
    MountError, MountOp, NamespaceError, NoNewPrivilegesError, PathError, PrivilegeOp,
    SessionError, Step, StepFailure, VerifyError,
};
use crate::container::{ContainerPlan, MountPlan, DEV_SYMLINKS};
use crate::mounts::{self, Kind, ProcFd};
use crate::sys;
use crate::LaunchPlan;

type StepResult<E> = Result<(), Failed<E>>;

/// Everything the child needs, made before `fork`.
pub(crate) struct ChildContext<'a> {
    pub(crate) plan: &'a LaunchPlan,
    pub(crate) verify_after_filter: bool,
    /// Null-terminated pointer arrays into the plan's C strings, for `execve`.
    pub(crate) argv: Vec<*const libc::c_char>,
    pub(crate) envp: Vec<*const libc::c_char>,
    /// Scratch space for reading the groups back.
    pub(crate) groups: Vec<libc::gid_t>,
}

impl<'a> ChildContext<'a> {
    pub(crate) fn new(plan: &'a LaunchPlan, verify: bool) -> Self {
        let mut argv: Vec<*const libc::c_char> = plan.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = plan.envp.iter().map(|a| a.as_ptr()).collect();
        envp.push(std::ptr::null());
        let groups = vec![0; plan.container.as_ref().map_or(0, |c| c.gids.len()) + 1];
        Self {
            plan,
            verify_after_filter: verify,
            argv,
            envp,
            groups,
        }
    }
}

fn send(to_parent: BorrowedFd<'_>, r: &ChildMessage) {
    let bytes = r.to_bytes();
    // One write of 16 bytes (< PIPE_BUF): all or nothing. A parent that is gone cannot be
    // told anything.
    loop {
        match nix::unistd::write(to_parent, &bytes) {
            Err(Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// Reports `f` to the parent and exits 1.
fn fail(to_parent: BorrowedFd<'_>, f: impl Into<StepFailure>) -> ! {
    send(to_parent, &f.into().to_message());
    sys::exit(1)
}

/// The child, after fork: runs the steps of [`Step::order`] that apply to the plan, in
/// that order ([`for_each_step`]), and reports the first failure. Never returns.
pub(crate) fn run(
    ctx: &mut ChildContext<'_>,
    end: Option<&LaunchSeccompChild>,
    to_parent: OwnedFd,
) -> ! {
    let to_parent = to_parent.as_fd();
    let plan = ctx.plan;
    let (argv, envp, groups) = (&ctx.argv, &ctx.envp, &mut ctx.groups);
    let done = for_each_step(
        plan.nnp,
        plan.container.is_some(),
        ctx.verify_after_filter,
        |step| run_step(step, plan, end, to_parent, argv, envp, groups),
    );
    match done {
        Err(failure) => fail(to_parent, failure),
        // Every order ends with `exec`, which returns only when it failed.
        Ok(()) => fail(to_parent, Failed::plain(ExecError)),
    }
}

/// Whether `step` applies to a plan: the container's steps only with a container (a plain
/// command gets a session, its filter, no-new-privileges and `exec`); [`Step::Verify`]
/// with no-new-privileges (no filter is in yet, so what is read back is what the kernel
/// did), or without it when the filter was in while the identity was set and could have
/// faked those calls (`verify_after_filter`: the plan made sure the reading calls are
/// allowed, and the workload starts with the planned identity or not at all).
fn applies(step: Step, nnp: bool, container: bool, verify_after_filter: bool) -> bool {
    match step {
        Step::Session | Step::Seccomp | Step::NoNewPrivileges | Step::Exec => true,
        Step::Verify => container && (nnp || verify_after_filter),
        Step::Keyring
        | Step::Namespaces
        | Step::RootfsAndMounts
        | Step::MaskedAndReadonlyPaths
        | Step::Privileges
        | Step::Identity
        | Step::Capabilities => container,
    }
}

/// Calls `run_step` with each step of [`Step::order`]`(nnp)` that [`applies`], in that
/// order, and stops at the first error. [`run`] runs the child's steps through it; the
/// tests record the order it takes.
pub(crate) fn for_each_step<E>(
    nnp: bool,
    container: bool,
    verify_after_filter: bool,
    mut run_step: impl FnMut(Step) -> Result<(), E>,
) -> Result<(), E> {
    for &step in Step::order(nnp) {
        if applies(step, nnp, container, verify_after_filter) {
            run_step(step)?;
        }
    }
    Ok(())
}

/// Runs one step: the function named after it.
fn run_step(
    step: Step,
    plan: &LaunchPlan,
    end: Option<&LaunchSeccompChild>,
    to_parent: BorrowedFd<'_>,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    groups: &mut [libc::gid_t],
) -> Result<(), StepFailure> {
    // The container's steps run only with a container ([`applies`]).
    let in_container = |f: &dyn Fn(&ContainerPlan) -> Result<(), StepFailure>| {
        plan.container.as_ref().map_or(Ok(()), f)
    };
    match step {
        Step::Session => session().map_err(Into::into),
        Step::Keyring => keyring().map_err(Into::into),
        Step::Namespaces => in_container(&|c| namespaces(c).map_err(Into::into)),
        Step::RootfsAndMounts => in_container(&|c| rootfs_and_mounts(c).map_err(Into::into)),
        Step::MaskedAndReadonlyPaths => {
            in_container(&|c| masked_and_readonly_paths(c).map_err(Into::into))
        }
        Step::Privileges => in_container(&|c| privileges(c).map_err(Into::into)),
        Step::Seccomp => seccomp(end, to_parent).map_err(Into::into),
        Step::Identity => in_container(&|c| identity(c).map_err(Into::into)),
        Step::Capabilities => in_container(&|c| capabilities(c).map_err(Into::into)),
        Step::NoNewPrivileges => no_new_privileges().map_err(Into::into),
        Step::Verify => match &plan.container {
            Some(c) => verify(c, groups).map_err(Into::into),
            None => Ok(()),
        },
        Step::Exec => Err(exec(plan, argv, envp).into()),
    }
}

/// [`Step::Session`](crate::Step::Session): a new session (as runc and crun: `kill(0, sig)`
/// in the workload reaches neither the runtime nor the shell that started it), death with
/// the runtime, default signal dispositions, and every inherited fd from 3 up close-on-exec
/// (before the install, which may refuse `close_range`).
fn session() -> StepResult<SessionError> {
    // The child of a fork is never a process-group leader: setsid cannot fail with EPERM.
    nix::unistd::setsid().map_err(|e| Failed::with(SessionError::Setsid, e))?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| Failed::with(SessionError::DeathSignal, e))?;
    // The launcher made itself non-dumpable before the fork (see `Launcher::run`); this
    // process must be dumpable again so that the launcher (same uid, no CAP_SYS_PTRACE
    // when rootless) may copy its notify fd with pidfd_getfd. exec resets it anyway.
    nix::sys::prctl::set_dumpable(true).map_err(|e| Failed::with(SessionError::Dumpable, e))?;
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
    ] {
        // SAFETY: SIG_DFL installs no handler; sigaction is async-signal-safe. The parent's
        // forwarding handlers would not survive exec anyway, but ignored signals would.
        let _ = unsafe { nix::sys::signal::signal(sig, SigHandler::SigDfl) };
    }
    cloexec_from(3);
    Ok(())
}

/// Marks every fd from `first` up close-on-exec: `close_range(CLOSE_RANGE_CLOEXEC)` (Linux
/// 5.11), else one `fcntl` per possible fd below the soft limit.
fn cloexec_from(first: u32) {
    if sys::close_range_cloexec(first).is_ok() {
        return;
    }
    let max = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft.min(1 << 20) as i32);
    for fd in first as i32..max {
        sys::set_cloexec_raw(fd);
    }
}

/// [`Step::Keyring`](crate::Step::Keyring): a new, anonymous session keyring, as runc and
/// crun give every container (the kernel keyring is not namespaced).
fn keyring() -> StepResult<KeyringError> {
    if let Err(e) = sys::join_session_keyring() {
        // Like runc: a kernel without keyrings, or one that refuses us (a filter of an
        // outer container), is not fatal.
        if !matches!(e, Errno::ENOSYS | Errno::EPERM | Errno::EACCES) {
            return Err(Failed::with(KeyringError, e));
        }
    }
    Ok(())
}

/// [`Step::Namespaces`](crate::Step::Namespaces): unshare every namespace but pid (the
/// parent made that one), then the hostname in the new UTS namespace (checked in the plan).
fn namespaces(c: &ContainerPlan) -> StepResult<NamespaceError> {
    nix::sched::unshare(c.unshare).map_err(|e| Failed::with(NamespaceError::Unshare, e))?;
    if let Some(h) = &c.hostname {
        nix::unistd::sethostname(h).map_err(|e| Failed::with(NamespaceError::Hostname, e))?;
    }
    Ok(())
}

fn at(op: MountOp, detail: usize) -> MountError {
    At {
        op,
        detail: detail as u32,
    }
}

/// [`Step::RootfsAndMounts`](crate::Step::RootfsAndMounts): make `/` private (nothing may
/// propagate to the host), mount the rootfs (nodev) and the listed mounts through fds
/// opened under it, add the default devices, enter the root, make it read-only.
fn rootfs_and_mounts(c: &ContainerPlan) -> StepResult<MountError> {
    let fail = |op| move |e: Errno| Failed::with(at(op, 0), e);
    mounts::mount(
        None,
        c"/",
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .map_err(fail(MountOp::MakePrivate))?;
    mounts::mount(
        Some(&c.rootfs),
        &c.rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(fail(MountOp::BindRootfs))?;
    // Device nodes the workload could make (CAP_MKNOD) or find in the rootfs are unusable:
    // the rootfs and every mount but single-device binds are nodev.
    mounts::remount_bind(&c.rootfs, MsFlags::MS_NODEV).map_err(fail(MountOp::RootfsNodev))?;
    {
        // Every destination is created and opened under this fd without following a
        // symlink, and mounted on through the opened fd.
        let root = nix::fcntl::open(
            c.rootfs.as_c_str(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(fail(MountOp::OpenRootfs))?;
        for (i, m) in c.mounts.iter().enumerate() {
            mount_one(&root, m).map_err(|(op, e)| Failed::with(at(op, i), e))?;
        }
        default_devices(c, &root)?;
    }
    enter_root(c)?;
    if c.readonly {
        mounts::remount_bind(c"/", MsFlags::MS_RDONLY).map_err(fail(MountOp::ReadonlyRoot))?;
    }
    Ok(())
}

fn mount_one(root: &OwnedFd, m: &MountPlan) -> Result<(), (MountOp, Errno)> {
    let kind = if m.source_is_file {
        Kind::File
    } else {
        Kind::Dir
    };
    let dest = mounts::open_in_root(root, &m.rel, kind)?;
    let covered = mounts::mnt_id(&dest).map_err(|e| (MountOp::Stat, e))?;
    let target = ProcFd::new(&dest);
    let r = if m.bind {
        mounts::mount(
            Some(&m.source),
            target.as_cstr(),
            None,
            m.flags & (MsFlags::MS_BIND | MsFlags::MS_REC),
            None,
        )
    } else {
        let data = (!m.data.as_bytes().is_empty()).then_some(m.data.as_c_str());
        mounts::mount(
            Some(&m.source),
            target.as_cstr(),
            Some(&m.fstype),
            m.flags,
            data,
        )
    };
    r.map_err(|e| (MountOp::Mount, e))?;
    // The opened destination must still be where config.json says.
    mounts::check_place(&dest, &m.target)?;
    if !m.bind && m.propagation.is_empty() {
        return Ok(());
    }
    // `dest` is the covered directory; the new mount's root is found again by path (still
    // without symlinks) and must be a different mount.
    let top = mounts::open_in_root(root, &m.rel, Kind::Existing)?;
    if mounts::mnt_id(&top).map_err(|e| (MountOp::Stat, e))? == covered {
        return Err((MountOp::NotNewMount, Errno::UnknownErrno));
    }
    mounts::check_place(&top, &m.target)?;
    let top_c = ProcFd::new(&top);
    let extra = m.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
    if m.bind && !extra.is_empty() {
        mounts::remount_bind(top_c.as_cstr(), extra).map_err(|e| (MountOp::Remount, e))?;
    }
    if !m.propagation.is_empty() {
        mounts::mount(None, top_c.as_cstr(), None, m.propagation, None)
            .map_err(|e| (MountOp::Propagation, e))?;
    }
    Ok(())
}

/// Bind-mounts the host's default devices into the container's `/dev` (a nodev mount: a
/// bind mount keeps the flags of its source mount, so these nodes, and only these, are
/// usable) and adds the usual /dev/fd, stdin, stdout and stderr symlinks.
fn default_devices(c: &ContainerPlan, root: &OwnedFd) -> StepResult<MountError> {
    for (i, d) in c.devices.iter().enumerate() {
        let err = |(_, e): (MountOp, Errno)| Failed::with(at(MountOp::Device, i), e);
        let dest = mounts::open_in_root(root, &d.rel, Kind::File).map_err(err)?;
        mounts::mount(
            Some(d.source),
            ProcFd::new(&dest).as_cstr(),
            None,
            MsFlags::MS_BIND,
            None,
        )
        .map_err(|e| Failed::with(at(MountOp::Device, i), e))?;
        mounts::check_place(&dest, &d.target).map_err(err)?;
    }
    let dev = mounts::open_in_root(root, std::path::Path::new("dev"), Kind::Dir)
        .map_err(|(op, e)| Failed::with(at(op, 0), e))?;
    for (i, (name, to)) in DEV_SYMLINKS.iter().enumerate() {
        match nix::unistd::symlinkat(*to, &dev, *name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Failed::with(at(MountOp::DevSymlink, i), e)),
        }
    }
    Ok(())
}

/// `pivot_root(".", ".")` in the rootfs (runc's trick: the old root is stacked on the new
/// one, then detached); on a rootfs on the initramfs, `MS_MOVE` and `chroot` instead, as
/// runc's `--no-pivot`.
fn enter_root(c: &ContainerPlan) -> StepResult<MountError> {
    let fail = |op| move |e: Errno| Failed::with(at(op, 0), e);
    nix::unistd::chdir(c.rootfs.as_c_str()).map_err(fail(MountOp::Chdir))?;
    match nix::unistd::pivot_root(c".", c".") {
        Ok(()) => nix::mount::umount2(c".", nix::mount::MntFlags::MNT_DETACH)
            .map_err(fail(MountOp::DetachOldRoot))?,
        Err(Errno::EINVAL) => {
            mounts::mount(Some(&c.rootfs), c"/", None, MsFlags::MS_MOVE, None)
                .map_err(fail(MountOp::MoveRoot))?;
            nix::unistd::chroot(c".").map_err(fail(MountOp::Chroot))?;
        }
        Err(e) => return Err(Failed::with(at(MountOp::PivotRoot, 0), e)),
    }
    nix::unistd::chdir(c"/").map_err(fail(MountOp::Chdir))
}

/// [`Step::MaskedAndReadonlyPaths`](crate::Step::MaskedAndReadonlyPaths), as runc, in the
/// container's root (nothing of the host is reachable any more).
fn masked_and_readonly_paths(c: &ContainerPlan) -> StepResult<PathError> {
    let err = |i: usize| {
        move |(op, e): (crate::child_message::PathOp, Errno)| {
            Failed::with(
                At {
                    op,
                    detail: i as u32,
                },
                e,
            )
        }
    };
    for (i, p) in c.readonly_paths.iter().enumerate() {
        mounts::readonly_path(p).map_err(err(i))?;
    }
    if !c.masked_paths.is_empty() {
        mounts::check_dev_null().map_err(err(0))?;
    }
    for (i, p) in c.masked_paths.iter().enumerate() {
        mounts::mask_path(p).map_err(err(i))?;
    }
    Ok(())
}

/// [`Step::Privileges`](crate::Step::Privileges): drop the bounding set, clear the ambient
/// set and set the additional groups, before any filter, so that no profile can fake their
/// results (a rule returning `ERRNO(0)` for `prctl` or `setgroups`).
fn privileges(c: &ContainerPlan) -> StepResult<crate::child_message::PrivilegeError> {
    let err = |op, detail: u32, errno| Failed {
        error: At { op, detail },
        errno,
    };
    for cap in 0..=c.last_cap.min(63) {
        if c.caps.bounding & (1 << cap) == 0 {
            // Every capability up to last_cap is known to this kernel: no error is harmless.
            sys::bounding_drop(cap).map_err(|e| err(PrivilegeOp::BoundingDrop, cap, e as i32))?;
        }
    }
    // EINVAL: a kernel without ambient capabilities.
    match sys::ambient_clear() {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(err(PrivilegeOp::AmbientClear, 0, e as i32)),
    }
    nix::unistd::setgroups(&c.gids).map_err(|e| err(PrivilegeOp::SetGroups, 0, e as i32))?;
    Ok(())
}

/// [`Step::Seccomp`](crate::Step::Seccomp): tell the parent to start taking the fd, then
/// install and hand it over ([`LaunchSeccompChild::install`], which allocates nothing).
fn seccomp(
    end: Option<&LaunchSeccompChild>,
    to_parent: BorrowedFd<'_>,
) -> StepResult<InstallError> {
    if let Some(end) = end {
        send(to_parent, &ChildMessage::INSTALLING);
        end.install().map_err(|_| Failed::plain(InstallError))?;
    }
    Ok(())
}

/// [`Step::Identity`](crate::Step::Identity): working directory, rlimits, group and user
/// ids (capabilities kept across the uid change for the next step).
fn identity(c: &ContainerPlan) -> StepResult<crate::child_message::IdentityError> {
    let err = |op, detail: usize| {
        move |e: Errno| {
            Failed::with(
                At {
                    op,
                    detail: detail as u32,
                },
                e,
            )
        }
    };
    nix::unistd::chdir(c.cwd.as_c_str()).map_err(err(IdentityOp::Chdir, 0))?;
    for (i, r) in c.rlimits.iter().enumerate() {
        nix::sys::resource::setrlimit(r.resource, r.soft, r.hard)
            .map_err(err(IdentityOp::Setrlimit, i))?;
    }
    nix::sys::prctl::set_keepcaps(true).map_err(err(IdentityOp::KeepCaps, 0))?;
    nix::unistd::setresgid(c.gid, c.gid, c.gid).map_err(err(IdentityOp::Setresgid, 0))?;
    nix::unistd::setresuid(c.uid, c.uid, c.uid).map_err(err(IdentityOp::Setresuid, 0))?;
    nix::sys::prctl::set_keepcaps(false).map_err(err(IdentityOp::ClearKeepCaps, 0))?;
    Ok(())
}

/// [`Step::Capabilities`](crate::Step::Capabilities): the effective, permitted and
/// inheritable sets, then the ambient ones.
fn capabilities(c: &ContainerPlan) -> StepResult<crate::child_message::CapabilityError> {
    sys::capset([c.caps.effective, c.caps.permitted, c.caps.inheritable]).map_err(|e| {
        Failed::with(
            At {
                op: CapabilityOp::Capset,
                detail: 0,
            },
            e,
        )
    })?;
    for cap in 0..=c.last_cap.min(63) {
        if c.caps.ambient & (1 << cap) != 0 {
            sys::ambient_raise(cap).map_err(|e| {
                Failed::with(
                    At {
                        op: CapabilityOp::AmbientRaise,
                        detail: cap,
                    },
                    e,
                )
            })?;
        }
    }
    Ok(())
}

/// [`Step::NoNewPrivileges`](crate::Step::NoNewPrivileges): set it and read it back.
fn no_new_privileges() -> StepResult<NoNewPrivilegesError> {
    nix::sys::prctl::set_no_new_privs().map_err(|e| Failed::with(NoNewPrivilegesError::Set, e))?;
    if nix::sys::prctl::get_no_new_privs() != Ok(true) {
        return Err(Failed::plain(NoNewPrivilegesError::NotSet));
    }
    Ok(())
}

/// [`Step::Verify`](crate::Step::Verify): reads the credentials, capability sets and rlimits
/// back and compares them with the plan. A hostile profile can make `setresuid`, `capset`,
/// `prctl` or `setrlimit` return success without doing anything; this check then fails
/// instead of starting the workload as root. Every read starts from a value that cannot be
/// the planned one, so a faked read (success without output) is a mismatch too: that is
/// why these reads are the raw calls of [`sys`] (the libraries read into uninitialised
/// memory).
fn verify(c: &ContainerPlan, scratch: &mut [libc::gid_t]) -> StepResult<VerifyError> {
    let mismatch = |e| Err(Failed::plain(e));
    // Ids above 2^31 - 1 are refused by the plan: u32::MAX, where the reads start, is
    // never a planned id.
    if sys::getresuid() != Some([c.uid.as_raw(); 3]) {
        return mismatch(VerifyError::Uids);
    }
    if sys::getresgid() != Some([c.gid.as_raw(); 3]) {
        return mismatch(VerifyError::Gids);
    }
    let want = c.gids.len();
    if scratch.len() <= want {
        return mismatch(VerifyError::GroupBuffer);
    }
    scratch.fill(libc::gid_t::MAX);
    if sys::getgroups(scratch) != Some(want)
        || scratch[..want]
            .iter()
            .copied()
            .ne(c.gids.iter().map(|g| g.as_raw()))
    {
        return mismatch(VerifyError::Groups);
    }
    let valid: u64 = if c.last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (c.last_cap + 1)) - 1
    };
    let got = sys::capget().ok_or(Failed::last(VerifyError::Capget))?;
    if got
        != [
            c.caps.effective & valid,
            c.caps.permitted & valid,
            c.caps.inheritable & valid,
        ]
    {
        return mismatch(VerifyError::CapSets);
    }
    for cap in 0..=c.last_cap.min(63) {
        let bit = 1u64 << cap;
        // The bounding set was dropped before any filter: this read cannot be faked into
        // hiding a capability the plan left out.
        let b = sys::bounding_has(cap).unwrap_or(false);
        if b != (c.caps.bounding & bit != 0) {
            return mismatch(VerifyError::Bounding);
        }
        if c.caps.ambient & bit != 0 && sys::ambient_has(cap) != Ok(true) {
            return mismatch(VerifyError::Ambient);
        }
    }
    for r in &c.rlimits {
        let start = libc::rlimit {
            rlim_cur: !r.soft,
            rlim_max: !r.hard,
        };
        match sys::getrlimit(r.resource, start) {
            Some(lim) if lim.rlim_cur == r.soft && lim.rlim_max == r.hard => {}
            _ => return mismatch(VerifyError::Rlimits),
        }
    }
    Ok(())
}

/// [`Step::Exec`](crate::Step::Exec): each candidate path in turn; returns only on failure,
/// with the most telling errno (not ENOENT if another candidate failed otherwise).
fn exec(
    plan: &LaunchPlan,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> Failed<ExecError> {
    let mut first_err = 0;
    for path in &plan.exec_paths {
        let path: &CStr = path;
        let e = sys::execve(path, argv, envp);
        if first_err == 0 || (first_err == libc::ENOENT && e != libc::ENOENT) {
            first_err = e;
        }
    }
    Failed {
        error: ExecError,
        errno: if first_err == 0 {
            libc::ENOENT
        } else {
            first_err
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::*;

    /// The steps [`run`]'s loop takes for a plan, in the order it takes them.
    fn taken(nnp: bool, container: bool, verify_after_filter: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        for_each_step::<()>(nnp, container, verify_after_filter, |s| {
            steps.push(s);
            Ok(())
        })
        .unwrap();
        steps
    }

    #[test]
    fn the_child_takes_its_steps_in_the_order_of_the_data() {
        // A container where every step applies: exactly the data.
        assert_eq!(taken(true, true, false), Step::ORDER_WITH_NO_NEW_PRIVILEGES);
        assert_eq!(taken(true, true, true), Step::ORDER_WITH_NO_NEW_PRIVILEGES);
        assert_eq!(
            taken(false, true, true),
            Step::ORDER_WITHOUT_NO_NEW_PRIVILEGES
        );
        // Steps that do not apply are left out; the others keep the data's order.
        assert_eq!(
            taken(false, true, false),
            [
                Session,
                Keyring,
                Namespaces,
                RootfsAndMounts,
                MaskedAndReadonlyPaths,
                Privileges,
                Seccomp,
                Identity,
                Capabilities,
                Exec
            ]
        );
        for vaf in [false, true] {
            assert_eq!(
                taken(true, false, vaf),
                [Session, NoNewPrivileges, Seccomp, Exec]
            );
            assert_eq!(taken(false, false, vaf), [Session, Seccomp, Exec]);
        }
    }

    #[test]
    fn a_failed_step_ends_the_run() {
        let mut steps = Vec::new();
        let r = for_each_step(false, true, true, |s| {
            steps.push(s);
            if s == Seccomp {
                Err(s)
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(Seccomp));
        assert_eq!(steps.last(), Some(&Seccomp));
        assert!(!steps.contains(&Identity));
    }
}
