//! The container part of a [`LaunchPlan`](crate::LaunchPlan): namespaces, root filesystem,
//! mounts, devices, masked and read-only paths, hostname, user, capabilities and rlimits,
//! read from config.json and checked in the parent.
//!
//! Supported: namespaces pid, ipc, uts, mount, network (new ones, not joined by path);
//! mounts of type proc, tmpfs and bind; a read-only root; hostname; uid, gid, additional
//! gids (each at most 2^31 - 1); capability sets; rlimits; masked and read-only paths (as
//! runc). Refused with the field: user, cgroup and time namespaces, joining a namespace by
//! path, other mount types, `linux.devices`, resource limits (no cgroups), device-cgroup
//! rules that allow more than the default devices, and every field not applied (hooks,
//! sysctl, id mappings, LSM labels, oomScoreAdj, personality... see `config.rs`) unless
//! empty. Ignored with a warning: cgroupsPath, terminal, other platforms' sections.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::resource::Resource;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{cstring, PlanError, MAX_ID};

/// One mount to make inside the rootfs.
#[derive(Debug)]
pub(crate) struct MountPlan {
    /// The destination as written in config.json (for messages).
    pub(crate) destination: String,
    /// The destination relative to the rootfs.
    pub(crate) rel: PathBuf,
    /// The destination's host path before the pivot, normalised (to check the fd's place).
    pub(crate) target: CString,
    pub(crate) source: CString,
    pub(crate) fstype: CString,
    pub(crate) flags: MsFlags,
    pub(crate) data: CString,
    pub(crate) bind: bool,
    /// Propagation flags to apply after mounting (MS_PRIVATE, MS_SLAVE...).
    pub(crate) propagation: MsFlags,
    /// Whether the bind source is a file (the target must be a file then).
    pub(crate) source_is_file: bool,
}

/// A default device bound into the container's `/dev`.
#[derive(Debug)]
pub(crate) struct DevicePlan {
    /// `dev/null`.
    pub(crate) rel: PathBuf,
    /// The host's node.
    pub(crate) source: &'static std::ffi::CStr,
    /// Its host path below the rootfs (to check the fd's place).
    pub(crate) target: CString,
}

/// Capability sets as bit masks.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CapSets {
    pub(crate) bounding: u64,
    pub(crate) effective: u64,
    pub(crate) permitted: u64,
    pub(crate) inheritable: u64,
    pub(crate) ambient: u64,
}

/// One `process.rlimits` entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rlimit {
    pub(crate) resource: Resource,
    pub(crate) soft: u64,
    pub(crate) hard: u64,
}

/// What the child does to become the container.
#[derive(Debug)]
pub(crate) struct ContainerPlan {
    pub(crate) rootfs: CString,
    pub(crate) readonly: bool,
    pub(crate) hostname: Option<String>,
    pub(crate) mounts: Vec<MountPlan>,
    pub(crate) devices: Vec<DevicePlan>,
    /// Namespaces the child unshares (every requested one but pid).
    pub(crate) unshare: nix::sched::CloneFlags,
    /// Whether the parent must unshare CLONE_NEWPID before forking.
    pub(crate) pid_ns: bool,
    pub(crate) cwd: CString,
    pub(crate) uid: Uid,
    pub(crate) gid: Gid,
    pub(crate) gids: Vec<Gid>,
    pub(crate) caps: CapSets,
    pub(crate) last_cap: u32,
    /// `linux.maskedPaths`, absolute paths in the container.
    pub(crate) masked_paths: Vec<CString>,
    /// `linux.readonlyPaths`, absolute paths in the container.
    pub(crate) readonly_paths: Vec<CString>,
    pub(crate) rlimits: Vec<Rlimit>,
}

fn check_id(field: &str, id: u32) -> Result<(), PlanError> {
    if id > MAX_ID {
        return Err(PlanError::IdRange {
            field: field.to_string(),
            id,
        });
    }
    Ok(())
}

fn rlimit_resource(t: oci_spec::runtime::PosixRlimitType) -> Resource {
    use oci_spec::runtime::PosixRlimitType as T;
    match t {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// (flag, set?) of a mount option; `false` clears the flag.
fn mount_option(opt: &str) -> Option<(MsFlags, bool)> {
    Some(match opt {
        "ro" => (MsFlags::MS_RDONLY, true),
        "rw" => (MsFlags::MS_RDONLY, false),
        "nosuid" => (MsFlags::MS_NOSUID, true),
        "suid" => (MsFlags::MS_NOSUID, false),
        "nodev" => (MsFlags::MS_NODEV, true),
        "dev" => (MsFlags::MS_NODEV, false),
        "noexec" => (MsFlags::MS_NOEXEC, true),
        "exec" => (MsFlags::MS_NOEXEC, false),
        "sync" => (MsFlags::MS_SYNCHRONOUS, true),
        "async" => (MsFlags::MS_SYNCHRONOUS, false),
        "noatime" => (MsFlags::MS_NOATIME, true),
        "atime" => (MsFlags::MS_NOATIME, false),
        "nodiratime" => (MsFlags::MS_NODIRATIME, true),
        "diratime" => (MsFlags::MS_NODIRATIME, false),
        "relatime" => (MsFlags::MS_RELATIME, true),
        "norelatime" => (MsFlags::MS_RELATIME, false),
        "strictatime" => (MsFlags::MS_STRICTATIME, true),
        "mand" => (MsFlags::MS_MANDLOCK, true),
        "nomand" => (MsFlags::MS_MANDLOCK, false),
        "dirsync" => (MsFlags::MS_DIRSYNC, true),
        _ => return None,
    })
}

fn propagation_option(opt: &str) -> Option<MsFlags> {
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// The bit mask of a capability set: oci-spec's `Capability`, numbered by the `caps` crate.
fn mask(
    set: Option<&oci_spec::runtime::Capabilities>,
    field: &'static str,
) -> Result<u64, PlanError> {
    let mut m = 0u64;
    for c in set.into_iter().flatten() {
        let name = c.to_string();
        let n = format!("CAP_{name}")
            .parse::<caps::Capability>()
            .map_err(|_| PlanError::Capability { set: field, name })?;
        m |= 1 << n.index();
    }
    Ok(m)
}

/// The names of the capabilities in `mask` (bit N: capability number N), in the kernel's
/// order (`caps::all` is a hash set, whose order varies from run to run).
fn capability_names(mask: u64) -> Vec<String> {
    let mut set: Vec<caps::Capability> = caps::all()
        .into_iter()
        .filter(|c| c.index() < 64 && mask & (1u64 << c.index()) != 0)
        .collect();
    set.sort_by_key(|c| c.index());
    set.iter().map(|c| c.to_string()).collect()
}

/// Default devices: (name under /dev, host source), as runc's default device list.
pub(crate) const DEFAULT_DEVICES: &[(&str, &std::ffi::CStr)] = &[
    ("null", c"/dev/null"),
    ("zero", c"/dev/zero"),
    ("full", c"/dev/full"),
    ("random", c"/dev/random"),
    ("urandom", c"/dev/urandom"),
    ("tty", c"/dev/tty"),
];

/// `/dev` symlinks: (name, target).
pub(crate) const DEV_SYMLINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// (major, minor) of the default devices, for linux.resources.devices allow rules.
const DEFAULT_DEVICE_NUMBERS: &[(i64, i64)] = &[(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)];

/// linux.resources.devices (the other members are refused on the JSON, in config.rs):
/// devices are already denied (the container's /dev holds only the default devices and
/// every other mount is nodev), so deny rules and allow rules for default devices hold as
/// written.
fn check_resources(r: &oci_spec::runtime::LinuxResources) -> Result<(), PlanError> {
    for (index, d) in r.devices().iter().flatten().enumerate() {
        if !d.allow() {
            continue;
        }
        let typ = d.typ().map(|t| t.as_str().to_string());
        let ok = typ.as_deref() == Some("c")
            && matches!((d.major(), d.minor()), (Some(a), Some(b)) if DEFAULT_DEVICE_NUMBERS.contains(&(a, b)));
        if !ok {
            return Err(PlanError::DeviceRule {
                index,
                typ: typ.unwrap_or_else(|| "a".into()),
                major: d.major().map_or("*".to_string(), |m| m.to_string()),
                minor: d.minor().map_or("*".to_string(), |m| m.to_string()),
            });
        }
    }
    Ok(())
}

/// The highest capability this kernel knows: /proc/sys/kernel/cap_last_cap, else probed
/// with `PR_CAPBSET_READ` (EINVAL past the last one). Every capability up to it is "known":
/// failing to drop one from the bounding set is fatal.
fn last_cap() -> u32 {
    if let Some(n) = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return n;
    }
    let mut last = 0;
    for cap in 0..64u32 {
        if crate::sys::bounding_has(cap).is_err() {
            break;
        }
        last = cap;
    }
    last
}

/// `p` without `.` components and repeated slashes, as `/proc/self/fd/N` reads back;
/// `field` is where it comes from.
fn normalised(field: &str, p: &Path) -> Result<CString, PlanError> {
    let n: PathBuf = p.components().collect();
    cstring(field, n.as_os_str().as_bytes())
}

/// The namespaces of `linux.namespaces`, as the child and the parent use them.
struct Namespaces {
    /// Every requested one but pid.
    unshare: nix::sched::CloneFlags,
    /// A new pid namespace (the parent unshares it before forking).
    pid_ns: bool,
    /// A new UTS namespace (needed to set a hostname).
    uts: bool,
}

/// `root`: the rootfs, canonical and not the host's `/`, and whether it is read-only.
fn root_section(bundle: &Path, file: &str, spec: &Spec) -> Result<(PathBuf, bool), PlanError> {
    let root = spec.root().as_ref().ok_or_else(|| PlanError::Missing {
        file: file.to_string(),
        field: "root",
    })?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = rootfs.canonicalize().map_err(|source| PlanError::Rootfs {
        path: root.path().clone(),
        source,
    })?;
    if rootfs == Path::new("/") {
        return Err(PlanError::RootIsHost);
    }
    Ok((rootfs, root.readonly().unwrap_or(false)))
}

/// `linux.namespaces`: new namespaces only (none joined by path), of the supported types,
/// and a mount namespace among them.
fn namespaces_section(linux: Option<&oci_spec::runtime::Linux>) -> Result<Namespaces, PlanError> {
    let mut unshare = nix::sched::CloneFlags::empty();
    let mut pid_ns = false;
    let mut uts = false;
    for (index, ns) in linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(p) = ns.path() {
            return Err(PlanError::NamespacePath {
                index,
                path: p.clone(),
            });
        }
        use nix::sched::CloneFlags as C;
        match ns.typ() {
            LinuxNamespaceType::Pid => pid_ns = true,
            LinuxNamespaceType::Ipc => unshare |= C::CLONE_NEWIPC,
            LinuxNamespaceType::Uts => {
                uts = true;
                unshare |= C::CLONE_NEWUTS
            }
            LinuxNamespaceType::Mount => unshare |= C::CLONE_NEWNS,
            LinuxNamespaceType::Network => unshare |= C::CLONE_NEWNET,
            other => {
                return Err(PlanError::NamespaceType {
                    index,
                    typ: other.to_string(),
                })
            }
        }
    }
    if !unshare.contains(nix::sched::CloneFlags::CLONE_NEWNS) {
        return Err(PlanError::NoMountNamespace);
    }
    Ok(Namespaces {
        unshare,
        pid_ns,
        uts,
    })
}

/// `hostname`: only with a new UTS namespace; empty means none.
fn hostname_section(spec: &Spec, uts: bool) -> Result<Option<String>, PlanError> {
    Ok(match spec.hostname() {
        Some(h) if !h.is_empty() => {
            if !uts {
                return Err(PlanError::HostnameWithoutUts(h.clone()));
            }
            cstring("hostname", h.as_bytes())?;
            Some(h.clone())
        }
        _ => None,
    })
}

/// The rest of `linux`: `resources` (device rules), `cgroupsPath` (ignored with a
/// warning), `devices` (refused), and the masked and read-only paths, which it returns.
fn linux_section(
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<(Vec<CString>, Vec<CString>), PlanError> {
    let mut masked_paths = Vec::new();
    let mut readonly_paths = Vec::new();
    if let Some(l) = linux {
        if let Some(r) = l.resources() {
            check_resources(r)?;
        }
        if l.cgroups_path().is_some() {
            tracing::warn!("cgroupsPath is ignored: oci-seccomp run does not manage cgroups");
        }
        if let Some(d) = l.devices().as_ref().and_then(|v| v.first()) {
            return Err(PlanError::Devices(d.path().clone()));
        }
        for (field, list, out) in [
            ("maskedPaths", l.masked_paths(), &mut masked_paths),
            ("readonlyPaths", l.readonly_paths(), &mut readonly_paths),
        ] {
            for (i, p) in list.iter().flatten().enumerate() {
                let field = format!("linux.{field}[{i}]");
                if !p.starts_with('/') {
                    return Err(PlanError::NotAbsolute {
                        field,
                        value: p.clone(),
                    });
                }
                out.push(cstring(&field, p.as_bytes())?);
            }
        }
    }
    Ok((masked_paths, readonly_paths))
}

/// `mounts`, each checked by [`mount_plan`], with the container's own `/dev` (a tmpfs)
/// first unless the config mounts one.
fn mounts_section(spec: &Spec, rootfs: &Path, bundle: &Path) -> Result<Vec<MountPlan>, PlanError> {
    let mut mounts = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mounts.push(mount_plan(i, m, rootfs, bundle)?);
    }
    if !mounts
        .iter()
        .any(|m| Path::new(&m.destination) == Path::new("/dev"))
    {
        // The container's /dev is ours, never the rootfs's: a tmpfs that gets the
        // default devices.
        mounts.insert(
            0,
            MountPlan {
                destination: "/dev".into(),
                rel: PathBuf::from("dev"),
                target: normalised("root.path", &rootfs.join("dev"))?,
                source: c"tmpfs".into(),
                fstype: c"tmpfs".into(),
                flags: MsFlags::MS_NOSUID
                    | MsFlags::MS_NOEXEC
                    | MsFlags::MS_NODEV
                    | MsFlags::MS_STRICTATIME,
                data: c"mode=755,size=65536k".into(),
                bind: false,
                propagation: MsFlags::empty(),
                source_is_file: false,
            },
        );
    }
    Ok(mounts)
}

/// The default devices ([`DEFAULT_DEVICES`]) with their places below the rootfs.
fn default_devices(rootfs: &Path) -> Result<Vec<DevicePlan>, PlanError> {
    DEFAULT_DEVICES
        .iter()
        .map(|(name, source)| {
            let rel = Path::new("dev").join(name);
            Ok(DevicePlan {
                target: normalised("root.path", &rootfs.join(&rel))?,
                rel,
                source,
            })
        })
        .collect()
}

/// `process.rlimits`: soft at most hard, each resource once.
fn rlimits_section(process: &oci_spec::runtime::Process) -> Result<Vec<Rlimit>, PlanError> {
    let mut rlimits: Vec<Rlimit> = Vec::new();
    for (index, r) in process.rlimits().iter().flatten().enumerate() {
        if r.soft() > r.hard() {
            return Err(PlanError::RlimitOrder {
                index,
                typ: r.typ().to_string(),
                soft: r.soft(),
                hard: r.hard(),
            });
        }
        let resource = rlimit_resource(r.typ());
        if rlimits.iter().any(|x| x.resource == resource) {
            return Err(PlanError::RlimitTwice {
                index,
                typ: r.typ().to_string(),
            });
        }
        rlimits.push(Rlimit {
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(rlimits)
}

/// `process.user`: uid, gid and the additional gids (each in range), the gids sorted and
/// without repeats.
fn user_section(process: &oci_spec::runtime::Process) -> Result<(Uid, Gid, Vec<Gid>), PlanError> {
    let user = process.user();
    check_id("process.user.uid", user.uid())?;
    check_id("process.user.gid", user.gid())?;
    let mut gids: Vec<Gid> = Vec::new();
    for (i, g) in user.additional_gids().iter().flatten().enumerate() {
        check_id(&format!("process.user.additionalGids[{i}]"), *g)?;
        gids.push(Gid::from_raw(*g));
    }
    // The kernel keeps the list sorted; the same list in that order can be compared
    // with getgroups before exec.
    gids.sort_unstable_by_key(|g| g.as_raw());
    gids.dedup();
    Ok((Uid::from_raw(user.uid()), Gid::from_raw(user.gid()), gids))
}

/// `process.capabilities` as bit masks, the ambient set cut to what the kernel can raise
/// (with a warning, as runc and crun do without one).
fn capabilities_section(process: &oci_spec::runtime::Process) -> Result<CapSets, PlanError> {
    let mut caps = match process.capabilities() {
        Some(c) => CapSets {
            bounding: mask(c.bounding().as_ref(), "bounding")?,
            effective: mask(c.effective().as_ref(), "effective")?,
            permitted: mask(c.permitted().as_ref(), "permitted")?,
            inheritable: mask(c.inheritable().as_ref(), "inheritable")?,
            ambient: mask(c.ambient().as_ref(), "ambient")?,
        },
        None => CapSets::default(),
    };
    // The kernel raises an ambient capability only when it is in both the permitted
    // and the inheritable set (PR_CAP_AMBIENT_RAISE, capabilities(7)). `runc spec`'s
    // template lists ambient capabilities without inheritable ones; runc and crun
    // leave those out without a word. So do we, with one: the workload gets fewer
    // capabilities than listed, never more, and the read-back before exec checks the
    // set that was raised.
    let unraisable = caps.ambient & !(caps.permitted & caps.inheritable);
    if unraisable != 0 {
        let names = capability_names(unraisable);
        tracing::warn!(
            capabilities = %names.join(","),
            "process.capabilities.ambient: not raised (as runc and crun): an ambient \
             capability must also be in process.capabilities.permitted and .inheritable"
        );
        caps.ambient &= caps.permitted & caps.inheritable;
    }
    if caps.effective & !caps.permitted != 0 {
        tracing::warn!("process.capabilities.effective has capabilities that permitted lacks; capset will refuse");
    }
    Ok(caps)
}

impl ContainerPlan {
    /// Reads and checks everything the child will need from `spec` (bundle at `bundle`).
    /// `file` names config.json. The sections are read in this order, and the first
    /// error found is returned: `root`, `linux.namespaces`, `hostname`, the rest of
    /// `linux`, `mounts`, `process` (its presence and `terminal`, `rlimits`, `cwd`, `user`,
    /// `capabilities`).
    pub(crate) fn from_spec(bundle: &Path, file: &str, spec: &Spec) -> Result<Self, PlanError> {
        let (rootfs, readonly) = root_section(bundle, file, spec)?;
        let linux = spec.linux().as_ref();
        let Namespaces {
            unshare,
            pid_ns,
            uts,
        } = namespaces_section(linux)?;
        let hostname = hostname_section(spec, uts)?;
        let (masked_paths, readonly_paths) = linux_section(linux)?;
        let mounts = mounts_section(spec, &rootfs, bundle)?;
        let devices = default_devices(&rootfs)?;

        let process = spec.process().as_ref().ok_or_else(|| PlanError::Missing {
            file: file.to_string(),
            field: "process",
        })?;
        if process.terminal() == Some(true) {
            tracing::warn!("process.terminal is ignored: the command uses oci-seccomp's stdio");
        }
        let rlimits = rlimits_section(process)?;
        let cwd = process.cwd();
        if !cwd.is_absolute() {
            return Err(PlanError::NotAbsolute {
                field: "process.cwd".into(),
                value: cwd.display().to_string(),
            });
        }
        let (uid, gid, gids) = user_section(process)?;
        let caps = capabilities_section(process)?;
        Ok(Self {
            rootfs: cstring("root.path", rootfs.as_os_str().as_bytes())?,
            readonly,
            hostname,
            mounts,
            devices,
            unshare,
            pid_ns,
            cwd: cstring("process.cwd", cwd.as_os_str().as_bytes())?,
            uid,
            gid,
            gids,
            caps,
            last_cap: last_cap(),
            masked_paths,
            readonly_paths,
            rlimits,
        })
    }
}

/// Mount `i`'s destination, checked: absolute, without `..`, not `/`. Returns it as
/// written (for messages), its field name and its path relative to the rootfs.
fn mount_destination(
    i: usize,
    m: &oci_spec::runtime::Mount,
) -> Result<(String, String, PathBuf), PlanError> {
    let dest = m.destination();
    let shown = dest.display().to_string();
    let field = format!("mounts[{i}].destination");
    if !dest.is_absolute() {
        return Err(PlanError::NotAbsolute {
            field,
            value: shown,
        });
    }
    if dest.components().any(|c| c == Component::ParentDir) {
        return Err(PlanError::DotDot {
            field,
            value: shown,
        });
    }
    let rel = dest.strip_prefix("/").unwrap_or(dest);
    if rel.as_os_str().is_empty() {
        return Err(PlanError::MountOverRoot {
            field,
            value: shown,
        });
    }
    Ok((shown, field, rel.to_path_buf()))
}

/// A mount's `options`, sorted out.
struct MountOptions {
    /// The `MS_*` flags the options set.
    flags: MsFlags,
    /// The last propagation option.
    propagation: MsFlags,
    /// What is left, for the file system (`mode=755`...).
    data: Vec<String>,
    /// `bind` or `rbind`.
    bind: bool,
    /// `rbind`.
    recursive: bool,
}

/// Sorts mount `m`'s options into flags, propagation, bind and file-system data.
fn mount_options(m: &oci_spec::runtime::Mount) -> MountOptions {
    let mut o = MountOptions {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        bind: false,
        recursive: false,
    };
    for opt in m.options().iter().flatten() {
        match opt.as_str() {
            "bind" => o.bind = true,
            "rbind" => {
                o.bind = true;
                o.recursive = true
            }
            opt => {
                if let Some((f, set)) = mount_option(opt) {
                    o.flags.set(f, set);
                } else if let Some(p) = propagation_option(opt) {
                    o.propagation = p;
                } else {
                    o.data.push(opt.to_string());
                }
            }
        }
    }
    o
}

/// A bind mount's source: relative to the bundle unless absolute, and it must exist.
/// Returns it, whether it is a file and whether it is a device node.
fn bind_source(
    i: usize,
    source: PathBuf,
    bundle: &Path,
) -> Result<(PathBuf, bool, bool), PlanError> {
    let s = if source.is_absolute() {
        source
    } else {
        bundle.join(source)
    };
    let meta = std::fs::metadata(&s).map_err(|e| PlanError::BindSource {
        index: i,
        path: s.clone(),
        source: e,
    })?;
    let is_file = !meta.is_dir();
    let is_device = meta.file_type().is_char_device() || meta.file_type().is_block_device();
    Ok((s, is_file, is_device))
}

/// Another mount's source: its type must be `proc` or `tmpfs`; an empty source is the
/// type's name.
fn fs_source(i: usize, typ: &str, source: PathBuf, shown: String) -> Result<PathBuf, PlanError> {
    match typ {
        "proc" | "tmpfs" => {}
        "" => {
            return Err(PlanError::NoMountType {
                index: i,
                destination: shown,
            })
        }
        other => {
            return Err(PlanError::MountType {
                index: i,
                typ: other.to_string(),
                destination: shown,
            })
        }
    }
    Ok(if source.as_os_str().is_empty() {
        PathBuf::from(typ)
    } else {
        source
    })
}

/// Mount `i` of config.json, checked: its destination ([`mount_destination`]), options
/// ([`mount_options`]), type and source ([`bind_source`], [`fs_source`]).
fn mount_plan(
    i: usize,
    m: &oci_spec::runtime::Mount,
    rootfs: &Path,
    bundle: &Path,
) -> Result<MountPlan, PlanError> {
    let (shown, field, rel) = mount_destination(i, m)?;
    let target = rootfs.join(&rel);
    let MountOptions {
        mut flags,
        propagation,
        data,
        mut bind,
        recursive,
    } = mount_options(m);
    let typ = m.typ().clone().unwrap_or_default();
    if typ == "bind" {
        bind = true;
    }
    let source = m.source().clone().unwrap_or_default();
    let (source, source_is_file, source_is_device) = if bind {
        bind_source(i, source, bundle)?
    } else {
        (fs_source(i, &typ, source, shown.clone())?, false, false)
    };
    if !source_is_device {
        // Only a device the config binds in explicitly is usable in the container.
        flags |= MsFlags::MS_NODEV;
    }
    if bind {
        flags |= MsFlags::MS_BIND;
        if recursive {
            flags |= MsFlags::MS_REC;
        }
    }
    Ok(MountPlan {
        target: normalised(&field, &target)?,
        destination: shown,
        rel,
        source: cstring(
            &format!("mounts[{i}].source"),
            source.as_os_str().as_bytes(),
        )?,
        fstype: cstring(&format!("mounts[{i}].type"), typ.as_bytes())?,
        flags,
        data: cstring(&format!("mounts[{i}].options"), data.join(",").as_bytes())?,
        bind,
        propagation,
        source_is_file,
    })
}

#[cfg(test)]
mod tests {
    use super::capability_names;

    #[test]
    fn capability_names_come_in_the_kernel_s_order() {
        // CAP_CHOWN 0, CAP_KILL 5, CAP_NET_RAW 13, CAP_SYS_ADMIN 21, CAP_AUDIT_WRITE 29.
        let mask = (1 << 29) | (1 << 21) | (1 << 13) | (1 << 5) | 1;
        for _ in 0..20 {
            assert_eq!(
                capability_names(mask),
                [
                    "CAP_CHOWN",
                    "CAP_KILL",
                    "CAP_NET_RAW",
                    "CAP_SYS_ADMIN",
                    "CAP_AUDIT_WRITE"
                ]
            );
        }
        assert!(capability_names(0).is_empty());
    }
}
