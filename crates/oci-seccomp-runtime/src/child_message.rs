//! What the child tells the parent: a fixed-size [`ChildMessage`] over a close-on-exec
//! pipe, a failed step or "about to install".
//!
//! **The problem.** After `fork` the child may not allocate once its filter is in, and it
//! must not lose the reason it failed: a free-text line needs formatting (allocation), and
//! the parent cannot tell one failure from another except by reading prose.
//!
//! **The design.** Each step of the child ([`Step`]) has its own `Copy` error (an operation
//! plus an index into the plan: the mount, the path, the capability). A failure is a
//! [`StepFailure`]: the error and the errno. It travels as one [`ChildMessage`] of 16 bytes
//! (`step`, `op`, `errno`, `detail`, native-endian `u32`/`i32`), written with one `write(2)`
//! (shorter than `PIPE_BUF`, so atomic), and is decoded in the parent, which has the plan and
//! so the words for it. A message with `step == 0` is not a failure: the child is about to
//! install its filter and the parent must start taking the notify fd.

use nix::errno::Errno;

macro_rules! code_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $n:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vm])* $v = $n,)* }
        impl $name {
            fn from_code(c: u32) -> Option<Self> {
                match c { $($n => Some(Self::$v),)* _ => None }
            }
        }
    };
}

code_enum! {
    /// The child's steps. The numbers are their codes in a [`ChildMessage`], not their
    /// order: the child runs them in the order of [`Step::order`], which depends on
    /// no-new-privileges (docs/security.md, "Launcher").
    pub enum Step {
        /// New session, parent-death signal, default signal dispositions, close-on-exec.
        Session = 1,
        /// Unshare the namespaces; set the hostname in the new UTS namespace.
        Namespaces = 2,
        /// Make `/` private, mount the rootfs, the listed mounts and `/dev`, enter the root.
        RootfsAndMounts = 3,
        /// `linux.readonlyPaths` and `linux.maskedPaths`.
        MaskedAndReadonlyPaths = 4,
        /// A new session keyring.
        Keyring = 5,
        /// Drop the bounding set, clear the ambient set, set the groups (before any filter).
        Privileges = 6,
        /// Install the filter and hand the notify fd over.
        Seccomp = 7,
        /// Working directory, rlimits, user and group ids.
        Identity = 8,
        /// Effective, permitted, inheritable and ambient capabilities.
        Capabilities = 9,
        /// Set no-new-privileges.
        NoNewPrivileges = 10,
        /// Read the identity back and compare it with the plan.
        Verify = 11,
        /// `execve`.
        Exec = 12,
    }
}

impl Step {
    /// The order of the steps without no-new-privileges. The bounding set, the ambient set
    /// and the groups are set before any filter can fake their results; the filter goes in
    /// before the identity, since installing it needs CAP_SYS_ADMIN, which the identity and
    /// capabilities may drop; the identity is then read back ([`Step::Verify`]) when the
    /// filter could have faked the calls that set it.
    pub const ORDER_WITHOUT_NO_NEW_PRIVILEGES: &'static [Step] = &[
        Step::Session,
        Step::Keyring,
        Step::Namespaces,
        Step::RootfsAndMounts,
        Step::MaskedAndReadonlyPaths,
        Step::Privileges,
        Step::Seccomp,
        Step::Identity,
        Step::Capabilities,
        Step::Verify,
        Step::Exec,
    ];

    /// The order of the steps with no-new-privileges: the identity is set and read back
    /// before any filter is in (so no profile can fake it), and the filter goes in as late
    /// as possible before `exec`.
    pub const ORDER_WITH_NO_NEW_PRIVILEGES: &'static [Step] = &[
        Step::Session,
        Step::Keyring,
        Step::Namespaces,
        Step::RootfsAndMounts,
        Step::MaskedAndReadonlyPaths,
        Step::Privileges,
        Step::Identity,
        Step::Capabilities,
        Step::NoNewPrivileges,
        Step::Verify,
        Step::Seccomp,
        Step::Exec,
    ];

    /// The order the child runs its steps in, with or without no-new-privileges
    /// ([`Step::ORDER_WITH_NO_NEW_PRIVILEGES`], [`Step::ORDER_WITHOUT_NO_NEW_PRIVILEGES`]).
    /// A step that does not apply to a plan is left out when it runs: the container's
    /// steps for a plain command, [`Step::Verify`] without no-new-privileges when the filter
    /// cannot fake the identity calls.
    #[must_use]
    pub fn order(no_new_privileges: bool) -> &'static [Step] {
        if no_new_privileges {
            Self::ORDER_WITH_NO_NEW_PRIVILEGES
        } else {
            Self::ORDER_WITHOUT_NO_NEW_PRIVILEGES
        }
    }

    /// A short name (`rootfs-and-mounts`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Namespaces => "namespaces",
            Self::RootfsAndMounts => "rootfs-and-mounts",
            Self::MaskedAndReadonlyPaths => "masked-and-readonly-paths",
            Self::Keyring => "keyring",
            Self::Privileges => "privileges",
            Self::Seccomp => "seccomp",
            Self::Identity => "identity",
            Self::Capabilities => "capabilities",
            Self::NoNewPrivileges => "no-new-privileges",
            Self::Verify => "verify",
            Self::Exec => "exec",
        }
    }
}

code_enum! {
    /// [`Step::Session`].
    pub enum SessionError {
        /// `setsid`.
        Setsid = 1,
        /// `prctl(PR_SET_PDEATHSIG)`.
        DeathSignal = 2,
        /// `prctl(PR_SET_DUMPABLE, 1)`: the launcher, which holds the notify fd, is not
        /// dumpable; its child must be, for the launcher's `pidfd_getfd` without root.
        Dumpable = 3,
    }
}

code_enum! {
    /// [`Step::Namespaces`].
    pub enum NamespaceError {
        /// `unshare` of the namespaces in `linux.namespaces`.
        Unshare = 1,
        /// `sethostname`.
        Hostname = 2,
    }
}

code_enum! {
    /// What failed in [`Step::RootfsAndMounts`].
    pub enum MountOp {
        /// Make `/` recursively private.
        MakePrivate = 1,
        /// Bind-mount the rootfs on itself.
        BindRootfs = 2,
        /// Remount the rootfs nodev.
        RootfsNodev = 3,
        /// Open the rootfs.
        OpenRootfs = 4,
        /// Duplicate the rootfs fd.
        Dup = 5,
        /// Create a missing component of the destination.
        Create = 6,
        /// A component of the destination is a symlink.
        Symlink = 7,
        /// Open a component of the destination.
        Open = 8,
        /// A component of the destination is not a directory.
        NotDirectory = 9,
        /// The destination is a directory but the bind source is a file.
        Directory = 10,
        /// `fstat` or `statx` of the destination.
        Stat = 11,
        /// The mount itself.
        Mount = 12,
        /// The destination moved while mounting.
        Moved = 13,
        /// After mounting, the path no longer leads to the new mount.
        NotNewMount = 14,
        /// Remount with the mount's options.
        Remount = 15,
        /// Set the mount's propagation.
        Propagation = 16,
        /// Bind-mount a default device (detail: its index in the default devices).
        Device = 17,
        /// A `/dev` symlink (detail: its index).
        DevSymlink = 18,
        /// `chdir` to the rootfs or to the new `/`.
        Chdir = 19,
        /// `pivot_root`.
        PivotRoot = 20,
        /// Detach the old root.
        DetachOldRoot = 21,
        /// Move the rootfs to `/` (the `pivot_root` fallback).
        MoveRoot = 22,
        /// `chroot` (the `pivot_root` fallback).
        Chroot = 23,
        /// Remount the root read-only.
        ReadonlyRoot = 24,
    }
}

code_enum! {
    /// What failed in [`Step::MaskedAndReadonlyPaths`].
    pub enum PathOp {
        /// Bind a read-only path on itself.
        ReadonlyBind = 1,
        /// Remount it read-only.
        ReadonlyRemount = 2,
        /// `/dev/null` in the container is not the null device.
        DevNullNotNull = 3,
        /// `stat("/dev/null")`.
        DevNullStat = 4,
        /// `stat` of a masked path.
        MaskStat = 5,
        /// Mount over a masked path.
        MaskMount = 6,
    }
}

code_enum! {
    /// What failed in [`Step::Privileges`].
    pub enum PrivilegeOp {
        /// `prctl(PR_CAPBSET_DROP)` (detail: the capability).
        BoundingDrop = 1,
        /// `prctl(PR_CAP_AMBIENT_CLEAR_ALL)`.
        AmbientClear = 2,
        /// `setgroups`.
        SetGroups = 3,
    }
}

code_enum! {
    /// What failed in [`Step::Identity`].
    pub enum IdentityOp {
        /// `chdir` to `process.cwd`.
        Chdir = 1,
        /// `setrlimit` (detail: the index in `process.rlimits`).
        Setrlimit = 2,
        /// `prctl(PR_SET_KEEPCAPS, 1)`.
        KeepCaps = 3,
        /// `setresgid`.
        Setresgid = 4,
        /// `setresuid`.
        Setresuid = 5,
        /// `prctl(PR_SET_KEEPCAPS, 0)`.
        ClearKeepCaps = 6,
    }
}

code_enum! {
    /// What failed in [`Step::Capabilities`].
    pub enum CapabilityOp {
        /// `capset`.
        Capset = 1,
        /// `prctl(PR_CAP_AMBIENT_RAISE)` (detail: the capability).
        AmbientRaise = 2,
    }
}

code_enum! {
    /// [`Step::NoNewPrivileges`].
    pub enum NoNewPrivilegesError {
        /// `prctl(PR_SET_NO_NEW_PRIVS)`.
        Set = 1,
        /// Read back, it is not set.
        NotSet = 2,
    }
}

code_enum! {
    /// [`Step::Verify`]: what differs from the plan.
    pub enum VerifyError {
        /// The user ids.
        Uids = 1,
        /// The group ids.
        Gids = 2,
        /// The scratch buffer for the groups is too small (an internal error).
        GroupBuffer = 3,
        /// The additional groups.
        Groups = 4,
        /// `capget` failed.
        Capget = 5,
        /// The effective, permitted or inheritable set.
        CapSets = 6,
        /// The bounding set.
        Bounding = 7,
        /// The ambient set.
        Ambient = 8,
        /// The rlimits.
        Rlimits = 9,
    }
}

/// An operation of a step and the index it applies to in the plan (a mount, a path, a
/// capability; 0 where there is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At<Op> {
    /// What failed.
    pub op: Op,
    /// Which one.
    pub detail: u32,
}

/// [`Step::RootfsAndMounts`]'s error.
pub type MountError = At<MountOp>;
/// [`Step::MaskedAndReadonlyPaths`]'s error.
pub type PathError = At<PathOp>;
/// [`Step::Privileges`]'s error.
pub type PrivilegeError = At<PrivilegeOp>;
/// [`Step::Identity`]'s error.
pub type IdentityError = At<IdentityOp>;
/// [`Step::Capabilities`]'s error.
pub type CapabilityError = At<CapabilityOp>;

/// [`Step::Keyring`]'s error: joining a new session keyring failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyringError;
/// [`Step::Seccomp`]'s error: the install or the handoff failed (the parent has the details
/// from the handoff channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstallError;
/// [`Step::Exec`]'s error: no candidate path could be executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecError;

/// A step's own error with the errno of the call that failed (0: none). What each step
/// function of the child returns; it becomes a [`StepFailure`] for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed<E> {
    /// The step's error.
    pub error: E,
    /// The errno (0: none).
    pub errno: i32,
}

impl<E> Failed<E> {
    /// With the calling thread's errno, as left by the call that just failed.
    pub fn last(error: E) -> Self {
        Self {
            error,
            errno: Errno::last_raw(),
        }
    }

    /// With `errno`.
    pub fn with(error: E, errno: Errno) -> Self {
        Self {
            error,
            errno: errno as i32,
        }
    }

    /// Without an errno (a mismatch, not a failed call).
    pub fn plain(error: E) -> Self {
        Self { error, errno: 0 }
    }
}

impl<E: Into<ChildError>> From<Failed<E>> for StepFailure {
    fn from(f: Failed<E>) -> Self {
        Self::new(f.error, f.errno)
    }
}

/// Any step's error (`Copy`, so it can be made and sent after `fork` without allocating).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildError {
    /// [`Step::Session`].
    Session(SessionError),
    /// [`Step::Namespaces`].
    Namespaces(NamespaceError),
    /// [`Step::RootfsAndMounts`].
    Mounts(MountError),
    /// [`Step::MaskedAndReadonlyPaths`].
    Paths(PathError),
    /// [`Step::Keyring`].
    Keyring,
    /// [`Step::Privileges`].
    Privileges(PrivilegeError),
    /// [`Step::Seccomp`]: the install or the handoff failed.
    Seccomp,
    /// [`Step::Identity`].
    Identity(IdentityError),
    /// [`Step::Capabilities`].
    Capabilities(CapabilityError),
    /// [`Step::NoNewPrivileges`].
    NoNewPrivileges(NoNewPrivilegesError),
    /// [`Step::Verify`].
    Verify(VerifyError),
    /// [`Step::Exec`]: no candidate path could be executed.
    Exec,
}

impl ChildError {
    /// The step this error belongs to.
    #[must_use]
    pub fn step(self) -> Step {
        match self {
            Self::Session(_) => Step::Session,
            Self::Namespaces(_) => Step::Namespaces,
            Self::Mounts(_) => Step::RootfsAndMounts,
            Self::Paths(_) => Step::MaskedAndReadonlyPaths,
            Self::Keyring => Step::Keyring,
            Self::Privileges(_) => Step::Privileges,
            Self::Seccomp => Step::Seccomp,
            Self::Identity(_) => Step::Identity,
            Self::Capabilities(_) => Step::Capabilities,
            Self::NoNewPrivileges(_) => Step::NoNewPrivileges,
            Self::Verify(_) => Step::Verify,
            Self::Exec => Step::Exec,
        }
    }

    fn op_detail(self) -> (u32, u32) {
        match self {
            Self::Session(e) => (e as u32, 0),
            Self::Namespaces(e) => (e as u32, 0),
            Self::Mounts(a) => (a.op as u32, a.detail),
            Self::Paths(a) => (a.op as u32, a.detail),
            Self::Privileges(a) => (a.op as u32, a.detail),
            Self::Identity(a) => (a.op as u32, a.detail),
            Self::Capabilities(a) => (a.op as u32, a.detail),
            Self::NoNewPrivileges(e) => (e as u32, 0),
            Self::Verify(e) => (e as u32, 0),
            Self::Keyring | Self::Seccomp | Self::Exec => (1, 0),
        }
    }

    fn from_parts(step: Step, op: u32, detail: u32) -> Option<Self> {
        Some(match step {
            Step::Session => Self::Session(SessionError::from_code(op)?),
            Step::Namespaces => Self::Namespaces(NamespaceError::from_code(op)?),
            Step::RootfsAndMounts => Self::Mounts(At {
                op: MountOp::from_code(op)?,
                detail,
            }),
            Step::MaskedAndReadonlyPaths => Self::Paths(At {
                op: PathOp::from_code(op)?,
                detail,
            }),
            Step::Keyring => Self::Keyring,
            Step::Privileges => Self::Privileges(At {
                op: PrivilegeOp::from_code(op)?,
                detail,
            }),
            Step::Seccomp => Self::Seccomp,
            Step::Identity => Self::Identity(At {
                op: IdentityOp::from_code(op)?,
                detail,
            }),
            Step::Capabilities => Self::Capabilities(At {
                op: CapabilityOp::from_code(op)?,
                detail,
            }),
            Step::NoNewPrivileges => Self::NoNewPrivileges(NoNewPrivilegesError::from_code(op)?),
            Step::Verify => Self::Verify(VerifyError::from_code(op)?),
            Step::Exec => Self::Exec,
        })
    }
}

/// A failed step: the error and the errno (`None` when nothing failed with one, as a
/// mismatch found by [`Step::Verify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepFailure {
    error: ChildError,
    errno: i32,
}

impl StepFailure {
    /// A failure with `errno` (0: none).
    #[must_use]
    pub fn new(error: impl Into<ChildError>, errno: i32) -> Self {
        Self {
            error: error.into(),
            errno,
        }
    }

    /// A failure with the calling thread's errno, as left by the call that just failed.
    #[must_use]
    pub fn last(error: impl Into<ChildError>) -> Self {
        Self::new(error, Errno::last_raw())
    }

    /// The step.
    #[must_use]
    pub fn step(&self) -> Step {
        self.error.step()
    }

    /// The step's error.
    #[must_use]
    pub fn error(&self) -> ChildError {
        self.error
    }

    /// The errno, if the failure came with one.
    #[must_use]
    pub fn errno(&self) -> Option<Errno> {
        (self.errno != 0).then(|| Errno::from_raw(self.errno))
    }

    /// The message to send.
    #[must_use]
    pub fn to_message(&self) -> ChildMessage {
        let (op, detail) = self.error.op_detail();
        ChildMessage {
            step: self.step() as u32,
            op,
            errno: self.errno,
            detail,
        }
    }

    /// Decodes a message; `None` for the "installing" message or one no child of this crate
    /// writes.
    #[must_use]
    pub fn from_message(r: &ChildMessage) -> Option<Self> {
        let step = Step::from_code(r.step)?;
        Some(Self {
            error: ChildError::from_parts(step, r.op, r.detail)?,
            errno: r.errno,
        })
    }
}

impl StepFailure {
    /// Renamed to [`StepFailure::to_message`].
    #[deprecated(note = "renamed to to_message (the type Record is ChildMessage)")]
    #[must_use]
    pub fn to_record(&self) -> ChildMessage {
        self.to_message()
    }

    /// Renamed to [`StepFailure::from_message`].
    #[deprecated(note = "renamed to from_message (the type Record is ChildMessage)")]
    #[must_use]
    pub fn from_record(r: &ChildMessage) -> Option<Self> {
        Self::from_message(r)
    }
}

macro_rules! into_child_error {
    ($($t:ty => $v:ident,)*) => {
        $(impl From<$t> for ChildError {
            fn from(e: $t) -> Self { Self::$v(e) }
        })*
    };
}

impl From<KeyringError> for ChildError {
    fn from(_: KeyringError) -> Self {
        Self::Keyring
    }
}
impl From<InstallError> for ChildError {
    fn from(_: InstallError) -> Self {
        Self::Seccomp
    }
}
impl From<ExecError> for ChildError {
    fn from(_: ExecError) -> Self {
        Self::Exec
    }
}

into_child_error! {
    SessionError => Session,
    NamespaceError => Namespaces,
    MountError => Mounts,
    PathError => Paths,
    PrivilegeError => Privileges,
    IdentityError => Identity,
    CapabilityError => Capabilities,
    NoNewPrivilegesError => NoNewPrivileges,
    VerifyError => Verify,
}

/// The wire form of what the child tells the parent (a failed step, or "about to
/// install"): 16 bytes, native byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildMessage {
    /// [`Step`] as a number; 0: "about to install the filter", not a failure.
    pub step: u32,
    /// The step's operation.
    pub op: u32,
    /// The errno (0: none).
    pub errno: i32,
    /// The index the operation applies to.
    pub detail: u32,
}

impl ChildMessage {
    /// The size on the wire.
    pub const SIZE: usize = 16;

    /// "The child is about to install its filter": the parent starts taking the fd.
    pub const INSTALLING: Self = Self {
        step: 0,
        op: 0,
        errno: 0,
        detail: 0,
    };

    /// The bytes to write.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.step.to_ne_bytes());
        b[4..8].copy_from_slice(&self.op.to_ne_bytes());
        b[8..12].copy_from_slice(&self.errno.to_ne_bytes());
        b[12..16].copy_from_slice(&self.detail.to_ne_bytes());
        b
    }

    /// The message in `b`.
    #[must_use]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let w = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        Self {
            step: u32::from_ne_bytes(w(0)),
            op: u32::from_ne_bytes(w(4)),
            errno: i32::from_ne_bytes(w(8)),
            detail: u32::from_ne_bytes(w(12)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let cases = [
            StepFailure::new(SessionError::Setsid, libc::EPERM),
            StepFailure::new(
                At {
                    op: MountOp::Symlink,
                    detail: 3,
                },
                libc::ELOOP,
            ),
            StepFailure::new(VerifyError::CapSets, 0),
            StepFailure::new(ChildError::Exec, libc::ENOENT),
            StepFailure::new(ChildError::Keyring, libc::EINVAL),
        ];
        for f in cases {
            let r = ChildMessage::from_bytes(&f.to_message().to_bytes());
            assert_eq!(StepFailure::from_message(&r), Some(f));
        }
        assert_eq!(std::mem::size_of::<ChildMessage>(), ChildMessage::SIZE);
        assert_eq!(StepFailure::from_message(&ChildMessage::INSTALLING), None);
        let bad = ChildMessage {
            step: 3,
            op: 999,
            errno: 0,
            detail: 0,
        };
        assert_eq!(StepFailure::from_message(&bad), None);
        assert_eq!(StepFailure::new(VerifyError::Uids, 0).step(), Step::Verify);
        assert_eq!(StepFailure::new(VerifyError::Uids, 0).errno(), None);
    }

    #[test]
    fn each_order_has_every_step_once() {
        // Every step there is, by its code.
        let all: Vec<Step> = (0..64).filter_map(Step::from_code).collect();
        assert_eq!(all.len(), 12);
        for nnp in [false, true] {
            let order = Step::order(nnp);
            for &step in &all {
                let want = usize::from(nnp || step != Step::NoNewPrivileges);
                let n = order.iter().filter(|&&s| s == step).count();
                assert_eq!(n, want, "{step:?} with nnp={nnp}");
            }
            assert_eq!(order.first(), Some(&Step::Session));
            assert_eq!(order.last(), Some(&Step::Exec));
        }
    }
}
