//! The two errors of a launch: [`PlanError`] (the bundle or command line is refused, before
//! anything touches the system) and [`LaunchError`] (something failed while running it).

use std::ffi::CString;
use std::path::PathBuf;

use crate::child_message::StepFailure;

/// Largest uid or gid accepted (as runc): 2^31 - 1.
pub(crate) const MAX_ID: u32 = i32::MAX as u32;

/// `s` as a C string for the child, or [`PlanError::Nul`] naming `field` when it holds a
/// NUL byte.
pub(crate) fn cstring(field: &str, s: &[u8]) -> Result<CString, PlanError> {
    CString::new(s).map_err(|_| PlanError::Nul {
        field: field.to_string(),
    })
}

/// Why a bundle or command line cannot become a [`LaunchPlan`](crate::LaunchPlan). Every
/// variant that comes from a field of config.json names it ([`PlanError::field`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The bundle directory cannot be resolved.
    #[error("--bundle {}: {source}", .path.display())]
    Bundle {
        /// The directory as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// config.json cannot be read.
    #[error("{}: cannot read: {source}", .path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// config.json is not a regular file (a FIFO would block the read forever).
    #[error("{}: is {kind}, not a regular file", .path.display())]
    ConfigNotFile {
        /// The file.
        path: PathBuf,
        /// What it is (`a FIFO (named pipe)`, `a directory`, `a symbolic link`).
        kind: &'static str,
    },
    /// config.json is larger than any real one.
    #[error("{}: {len} bytes, more than the {max}-byte limit for config.json", .path.display())]
    ConfigTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// config.json is not JSON, or not an OCI runtime spec.
    #[error("{file}: line {line}, column {column}: {message}")]
    Syntax {
        /// The file as shown.
        file: String,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The parser's words.
        message: String,
    },
    /// A key differs from an OCI key only in letter case.
    #[error("{file}: {field}: key {key:?} differs from the OCI key {want:?} only in letter case; this runtime would ignore it while Go runtimes read it")]
    KeyCase {
        /// config.json as shown.
        file: String,
        /// Where.
        field: String,
        /// As written.
        key: String,
        /// The OCI key.
        want: &'static str,
    },
    /// A Docker (moby) profile key in `linux.seccomp`.
    #[error("{file}: {field}: Docker (moby) profile key {key:?}; oci-spec would drop it silently")]
    DockerKey {
        /// config.json as shown.
        file: String,
        /// Where (`linux.seccomp....`).
        field: String,
        /// The key.
        key: String,
    },
    /// `linux.seccomp` is not a valid profile.
    #[error("{file}: linux.seccomp: {}", seccomp_message(.source))]
    Seccomp {
        /// config.json as shown.
        file: String,
        /// Why.
        #[source]
        source: oci_seccomp::ParseError,
    },
    /// A required object is missing.
    #[error("{file}: {field}: missing")]
    Missing {
        /// config.json as shown.
        file: String,
        /// `process` or `root`.
        field: &'static str,
    },
    /// `process.args` is empty and no command was given.
    #[error("{file}: process.args: empty")]
    EmptyArgs {
        /// config.json as shown.
        file: String,
    },
    /// A command line without a command.
    #[error("run: no command given")]
    NoCommand,
    /// A string that must become a C string has a NUL byte.
    #[error("{field}: contains a NUL byte")]
    Nul {
        /// Where.
        field: String,
    },
    /// `root.path` cannot be resolved.
    #[error("root.path {:?}: {source}", .path.display())]
    Rootfs {
        /// As written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `root.path` is the host's root.
    #[error("root.path: resolves to the host's \"/\"")]
    RootIsHost,
    /// Joining a namespace by path.
    #[error("linux.namespaces[{index}].path {:?}: joining an existing namespace is not supported", .path.display())]
    NamespacePath {
        /// Index in `linux.namespaces`.
        index: usize,
        /// The path.
        path: PathBuf,
    },
    /// A namespace type this launcher cannot make.
    #[error("linux.namespaces[{index}].type {typ:?}: not supported by oci-seccomp run")]
    NamespaceType {
        /// Index in `linux.namespaces`.
        index: usize,
        /// The type.
        typ: String,
    },
    /// No mount namespace.
    #[error("linux.namespaces: no mount namespace; oci-seccomp run mounts the rootfs and never does so in the host's mount namespace")]
    NoMountNamespace,
    /// A hostname without a UTS namespace.
    #[error("hostname {0:?}: set without a UTS namespace; it would change the host's name")]
    HostnameWithoutUts(String),
    /// A resource limit (no cgroups are managed).
    #[error("linux.resources.{0}: not enforced by oci-seccomp run (it manages no cgroups); refusing rather than ignoring a limit")]
    Resource(String),
    /// A field this launcher does not apply, and not empty.
    #[error("{field}: {why}; refusing rather than running the container without it")]
    NotApplied {
        /// Where (`linux.sysctl`, `mounts[2].uidMappings`).
        field: String,
        /// What is not done.
        why: &'static str,
    },
    /// A device-cgroup allow rule for a device this launcher does not provide.
    #[error("linux.resources.devices[{index}]: allows type {typ} {major}:{minor}; oci-seccomp run has no device cgroup and only provides the default devices (null, zero, full, random, urandom, tty)")]
    DeviceRule {
        /// Index in `linux.resources.devices`.
        index: usize,
        /// `c`, `b` or `a`.
        typ: String,
        /// Major number or `*`.
        major: String,
        /// Minor number or `*`.
        minor: String,
    },
    /// `linux.devices`.
    #[error("linux.devices[0] ({}): creating device nodes is not supported by oci-seccomp run; the container's /dev holds only null, zero, full, random, urandom and tty", .0.display())]
    Devices(PathBuf),
    /// A path that must be absolute.
    #[error("{field} {value:?}: must be an absolute path")]
    NotAbsolute {
        /// Where.
        field: String,
        /// The value.
        value: String,
    },
    /// `..` in a mount destination.
    #[error("{field} {value:?}: \"..\" is not allowed")]
    DotDot {
        /// Where.
        field: String,
        /// The value.
        value: String,
    },
    /// A mount on `/`.
    #[error("{field} {value:?}: cannot mount over the root")]
    MountOverRoot {
        /// Where.
        field: String,
        /// The value.
        value: String,
    },
    /// A bind mount's source cannot be read.
    #[error("mounts[{index}].source {:?}: {source}", .path.display())]
    BindSource {
        /// Index in `mounts`.
        index: usize,
        /// The resolved source.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A mount without a type.
    #[error("mounts[{index}] ({destination}): no type; supported types are proc, tmpfs and bind")]
    NoMountType {
        /// Index in `mounts`.
        index: usize,
        /// Its destination.
        destination: String,
    },
    /// A mount type this launcher does not make.
    #[error("mounts[{index}].type {typ:?} ({destination}): not supported by oci-seccomp run")]
    MountType {
        /// Index in `mounts`.
        index: usize,
        /// The type.
        typ: String,
        /// Its destination.
        destination: String,
    },
    /// An rlimit whose soft limit is above its hard one.
    #[error("process.rlimits[{index}] ({typ}): soft {soft} is above hard {hard}; setrlimit refuses that")]
    RlimitOrder {
        /// Index in `process.rlimits`.
        index: usize,
        /// The type.
        typ: String,
        /// Soft limit.
        soft: u64,
        /// Hard limit.
        hard: u64,
    },
    /// An rlimit type given twice.
    #[error("process.rlimits[{index}] ({typ}): given twice")]
    RlimitTwice {
        /// Index in `process.rlimits`.
        index: usize,
        /// The type.
        typ: String,
    },
    /// A uid or gid above 2^31 - 1.
    #[error("{field} {id}: outside 0..={MAX_ID}; such ids are refused (as runc does): 4294967295 means \"leave unchanged\" to setresuid")]
    IdRange {
        /// Where.
        field: String,
        /// The id.
        id: u32,
    },
    /// A capability this launcher does not know.
    #[error("process.capabilities.{set}: unknown capability CAP_{name}")]
    Capability {
        /// The set (`bounding`, ...).
        set: &'static str,
        /// The name.
        name: String,
    },
    /// A NOTIFY rule without a listener.
    #[error("linux.seccomp: a rule uses SCMP_ACT_NOTIFY but there is no listenerPath; nobody could answer those syscalls")]
    NotifyWithoutListener,
    /// Without no-new-privileges, the identity must be read back after the filter, and the
    /// profile refuses a reading call.
    #[error("process.noNewPrivileges is false, so the filter is installed before the user and capabilities are set, and the profile does not simply allow all of {setters}: the launcher must read the identity back after the filter, but the profile does not allow {reader}")]
    IdentityUnreadable {
        /// The calls that set the identity.
        setters: String,
        /// The first reading call the profile does not allow.
        reader: &'static str,
    },
}

/// A profile's error inside config.json: a JSON position would be one in the profile as
/// re-serialised, not in config.json, so only the words are kept.
fn seccomp_message(e: &oci_seccomp::ParseError) -> String {
    match e {
        oci_seccomp::ParseError::Json { message, .. } => message.clone(),
        e => e.to_string(),
    }
}

impl PlanError {
    /// The config.json path of the field at fault (`linux.resources.memory`,
    /// `mounts[3].type`, `process.user.uid`), when the refusal comes from one.
    #[must_use]
    pub fn field(&self) -> Option<String> {
        Some(match self {
            Self::KeyCase { field, .. } | Self::DockerKey { field, .. } => field.clone(),
            Self::Seccomp { .. } | Self::NotifyWithoutListener => "linux.seccomp".into(),
            Self::Missing { field, .. } => (*field).into(),
            Self::EmptyArgs { .. } => "process.args".into(),
            Self::Nul { field }
            | Self::NotAbsolute { field, .. }
            | Self::DotDot { field, .. }
            | Self::MountOverRoot { field, .. }
            | Self::IdRange { field, .. }
            | Self::NotApplied { field, .. } => field.clone(),
            Self::Rootfs { .. } | Self::RootIsHost => "root.path".into(),
            Self::NamespacePath { index, .. } => format!("linux.namespaces[{index}].path"),
            Self::NamespaceType { index, .. } => format!("linux.namespaces[{index}].type"),
            Self::NoMountNamespace => "linux.namespaces".into(),
            Self::HostnameWithoutUts(_) => "hostname".into(),
            Self::Resource(k) => format!("linux.resources.{k}"),
            Self::DeviceRule { index, .. } => format!("linux.resources.devices[{index}]"),
            Self::Devices(_) => "linux.devices[0]".into(),
            Self::BindSource { index, .. } => format!("mounts[{index}].source"),
            Self::NoMountType { index, .. } | Self::MountType { index, .. } => {
                format!("mounts[{index}].type")
            }
            Self::RlimitOrder { index, .. } | Self::RlimitTwice { index, .. } => {
                format!("process.rlimits[{index}]")
            }
            Self::Capability { set, .. } => format!("process.capabilities.{set}"),
            Self::IdentityUnreadable { .. } => "process.noNewPrivileges".into(),
            Self::Bundle { .. }
            | Self::ReadConfig { .. }
            | Self::ConfigNotFile { .. }
            | Self::ConfigTooLarge { .. }
            | Self::Syntax { .. }
            | Self::NoCommand => return None,
        })
    }

    /// What to do about it, where one helps.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Bundle { .. } => "give the directory that holds config.json".into(),
            Self::ReadConfig { .. } | Self::ConfigNotFile { .. } => {
                "an OCI bundle has config.json (a regular file) next to its rootfs".into()
            }
            Self::KeyCase { want, .. } => format!("write it as {want:?}"),
            Self::DockerKey { .. } => {
                "render the Docker profile first: oci-seccomp render FILE".into()
            }
            Self::Missing { field: "root", .. } => "set root.path to the rootfs".into(),
            Self::Missing { .. } => "set process.args".into(),
            Self::EmptyArgs { .. } => "set process.args or give a command after --".into(),
            Self::NoCommand => "oci-seccomp run [--profile FILE] -- CMD [ARG]...".into(),
            Self::Rootfs { .. } => "the rootfs directory must exist".into(),
            Self::RootIsHost => "use a separate rootfs directory".into(),
            Self::NamespacePath { .. } => {
                "remove the path to get a new namespace, or use runc".into()
            }
            Self::NamespaceType { .. } => {
                "supported: pid, ipc, uts, mount, network; use runc or crun for the rest".into()
            }
            Self::NoMountNamespace => "add {\"type\": \"mount\"} to linux.namespaces".into(),
            Self::HostnameWithoutUts(_) => {
                "add {\"type\": \"uts\"} to linux.namespaces or remove hostname".into()
            }
            Self::Resource(_) => "remove linux.resources or use runc or crun".into(),
            Self::NotApplied { field, .. } => {
                format!("remove {field} (or leave it empty), or use runc or crun")
            }
            Self::DeviceRule { .. } | Self::Devices(_) => {
                "bind-mount the device file instead (a mount with type bind), or use runc".into()
            }
            Self::BindSource { .. } => "a bind mount's source must exist".into(),
            Self::MountType { .. } => "supported mount types: proc, tmpfs, bind".into(),
            Self::NotifyWithoutListener => {
                "start `oci-seccomp supervise --socket PATH` and pass --listener PATH".into()
            }
            Self::IdentityUnreadable { .. } => {
                "set process.noNewPrivileges to true, or allow the calls that read the identity"
                    .into()
            }
            _ => return None,
        })
    }
}

/// Why a launch failed after its plan was accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// The plan was refused.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The seccomp agent could not be reached or is not trusted.
    #[error(transparent)]
    Listener(oci_seccomp_load::HandoffError),
    /// The handoff of the notify fd failed (the child is killed).
    #[error(transparent)]
    Handoff(oci_seccomp_load::HandoffError),
    /// The profile needs a listener but none is connected (the child is killed).
    #[error("the profile needs a listener but none is connected")]
    NoListener,
    /// A system call of the parent failed.
    #[error("{call}: {}", std::io::Error::from(*.errno))]
    Parent {
        /// What was called.
        call: &'static str,
        /// Its errno.
        errno: nix::errno::Errno,
    },
    /// A step of the child failed before `execve`.
    #[error("{0}")]
    Child(ChildFailure),
    /// [`Launcher::run`](crate::Launcher::run) was called in a process with other
    /// threads. It forks, and the child's set-up may take locks (the allocator's, the
    /// standard library's) that another thread could hold at the fork, in a copy where that
    /// thread no longer exists; so it runs only in a single-threaded process.
    #[error(
        "this process has {threads} threads: Launcher::run forks, and its child's set-up is \
         sound only when the process that forks is single-threaded"
    )]
    MultiThreaded {
        /// The threads counted (`Threads:` of /proc/self/status).
        threads: usize,
    },
}

impl LaunchError {
    /// What to do about it, where one helps.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Plan(p) => p.hint(),
            Self::Listener(oci_seccomp_load::HandoffError::UntrustedListener { .. }) => {
                Some("check who runs the agent; if it is trusted, pass --listener-uid UID".into())
            }
            Self::Listener(_) => {
                Some("start the agent first (oci-seccomp supervise --socket PATH)".into())
            }
            Self::Parent {
                call: "unshare(CLONE_NEWPID) for the pid namespace",
                ..
            } => Some("creating namespaces needs root (CAP_SYS_ADMIN)".into()),
            Self::MultiThreaded { .. } => Some(
                "launch before starting threads (oci-seccomp run starts its agent's thread \
                 only after the fork), or from a single-threaded helper process"
                    .into(),
            ),
            Self::Handoff(oci_seccomp_load::HandoffError::Install(
                oci_seccomp_load::LoadError::NoPrivilege,
            )) => Some(
                "without root, set no-new-privileges: --no-new-privs on the command line, \
                 process.noNewPrivileges in a bundle"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// A child's [`StepFailure`], decoded in the parent with the plan's words for it (the mount
/// destination, the path, the command).
#[derive(Debug, Clone)]
pub struct ChildFailure {
    /// The failure the child sent.
    pub failure: StepFailure,
    /// What the step was doing, in words.
    pub message: String,
}

impl std::fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        match self.failure.errno() {
            Some(e) => write!(
                f,
                ": {} [step {}, {e:?}]",
                e.desc(),
                self.failure.step().name()
            ),
            None => write!(f, " [step {}]", self.failure.step().name()),
        }
    }
}
