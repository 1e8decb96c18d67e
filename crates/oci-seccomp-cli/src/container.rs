//! `run --bundle`: the container side of an OCI bundle — namespaces, root filesystem,
//! mounts, hostname, user and capabilities.
//!
//! Everything is read and checked in the parent ([`Setup::from_spec`]); the child only
//! executes the plan ([`Setup::enter`], [`Setup::drop_privileges_before_filter`],
//! [`Setup::finalize`], [`Setup::verify`]).
//!
//! Safety rule: the child unshares its namespaces (a mount namespace is required) and makes
//! `/` recursively private **before** it mounts anything, so nothing ever happens in the
//! host's mount namespace; `sethostname` is only called in a private UTS namespace.
//!
//! Supported: namespaces pid, ipc, uts, mount, network (new ones, not joined by path);
//! mounts of type proc, tmpfs and bind; a read-only root; hostname; uid, gid, additional
//! gids (each at most 2^31 - 1); capability sets (bounding, effective, permitted,
//! inheritable, ambient); rlimits; masked and read-only paths (as runc). Not supported (a
//! clear error): user, cgroup and time namespaces, joining a namespace by path, other mount
//! types, `linux.devices`, resource limits (no cgroups), device-cgroup rules that allow more
//! than the default devices. Ignored with a warning: cgroupsPath, terminal. When
//! `pivot_root` is not possible (a rootfs on the initramfs), the root is moved with
//! `MS_MOVE` and entered with `chroot`, as runc's `--no-pivot` does.
//!
//! Mount destinations are created and opened below an `O_PATH` fd of the rootfs, one
//! component at a time, without following any symlink (`openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`), and mounted on through `/proc/self/fd/N`; the
//! fd's place is checked after mounting. A user who owns the rootfs cannot redirect a mount
//! or a file creation to the host (the CVE-2021-30465 class).
//!
//! Devices: `/dev` is a fresh nodev tmpfs (unless config.json mounts `/dev` itself) into
//! which the host's null, zero, full, random, urandom and tty are bind-mounted; the rootfs
//! and every other mount are nodev, except a bind mount whose source is a device node. A
//! node the workload makes with `mknod` is unusable.
//!
//! Identity: the bounding set, the ambient set and the groups are set before any seccomp
//! filter is installed; ids, groups, capability sets, the bounding and ambient sets and the
//! rlimits are read back and compared with the plan right before `execve`
//! ([`Setup::verify`]), so a profile that fakes those calls cannot start the workload with
//! more privilege than config.json gives it.

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use serde_json::Value;

use crate::util;
use crate::{CliError, CliResult};

/// One mount to make inside the rootfs.
#[derive(Debug)]
pub struct MountPlan {
    /// The destination as written in config.json (for messages).
    pub destination: String,
    /// The destination inside the rootfs, on the host path (before pivot).
    target: PathBuf,
    source: CString,
    fstype: CString,
    flags: libc::c_ulong,
    data: CString,
    bind: bool,
    /// Propagation flags to apply after mounting (MS_PRIVATE, MS_SLAVE...).
    propagation: libc::c_ulong,
    /// Whether the bind source is a file (the target must be a file then).
    source_is_file: bool,
}

/// Capability sets as bit masks.
#[derive(Debug, Default, Clone, Copy)]
pub struct CapSets {
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    ambient: u64,
}

/// What the child does to become the container.
#[derive(Debug)]
pub struct Setup {
    rootfs: PathBuf,
    rootfs_c: CString,
    readonly: bool,
    hostname: Option<CString>,
    mounts: Vec<MountPlan>,
    /// Namespaces the child unshares (every requested one but pid).
    unshare_flags: libc::c_int,
    /// Whether the parent must unshare CLONE_NEWPID before forking.
    pub pid_ns: bool,
    cwd: CString,
    uid: u32,
    gid: u32,
    gids: Vec<libc::gid_t>,
    caps: CapSets,
    last_cap: u32,
    /// `linux.maskedPaths`, absolute paths in the container.
    masked_paths: Vec<CString>,
    /// `linux.readonlyPaths`, absolute paths in the container.
    readonly_paths: Vec<CString>,
    /// `process.rlimits`: (resource, soft, hard).
    rlimits: Vec<(RlimitResource, libc::rlim_t, libc::rlim_t)>,
}

/// Largest uid or gid accepted (as runc): 2^31 - 1. Above that the kernel's and libc's
/// sentinels (`(uid_t)-1` means "unchanged" to setresuid) begin.
const MAX_ID: u32 = i32::MAX as u32;

fn check_id(field: &str, id: u32) -> CliResult<()> {
    if id > MAX_ID {
        return Err(CliError::problem(format!(
            "{field} {id}: outside 0..={MAX_ID}; such ids are refused (as runc does): \
             4294967295 means \"leave unchanged\" to setresuid"
        )));
    }
    Ok(())
}

/// The type of setrlimit's resource argument.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
type RlimitResource = libc::__rlimit_resource_t;
/// The type of setrlimit's resource argument.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type RlimitResource = libc::c_int;

fn rlimit_resource(t: oci_spec::runtime::PosixRlimitType) -> RlimitResource {
    use oci_spec::runtime::PosixRlimitType as T;
    match t {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

fn cstring(what: &str, bytes: &[u8]) -> CliResult<CString> {
    CString::new(bytes).map_err(|_| CliError::problem(format!("{what}: contains a NUL byte")))
}

fn mount_option(opt: &str) -> Option<(libc::c_ulong, bool)> {
    // (flag, set?) — `false` clears the flag.
    Some(match opt {
        "ro" => (libc::MS_RDONLY, true),
        "rw" => (libc::MS_RDONLY, false),
        "nosuid" => (libc::MS_NOSUID, true),
        "suid" => (libc::MS_NOSUID, false),
        "nodev" => (libc::MS_NODEV, true),
        "dev" => (libc::MS_NODEV, false),
        "noexec" => (libc::MS_NOEXEC, true),
        "exec" => (libc::MS_NOEXEC, false),
        "sync" => (libc::MS_SYNCHRONOUS, true),
        "async" => (libc::MS_SYNCHRONOUS, false),
        "noatime" => (libc::MS_NOATIME, true),
        "atime" => (libc::MS_NOATIME, false),
        "nodiratime" => (libc::MS_NODIRATIME, true),
        "diratime" => (libc::MS_NODIRATIME, false),
        "relatime" => (libc::MS_RELATIME, true),
        "norelatime" => (libc::MS_RELATIME, false),
        "strictatime" => (libc::MS_STRICTATIME, true),
        "mand" => (libc::MS_MANDLOCK, true),
        "nomand" => (libc::MS_MANDLOCK, false),
        "dirsync" => (libc::MS_DIRSYNC, true),
        _ => return None,
    })
}

fn propagation_option(opt: &str) -> Option<libc::c_ulong> {
    Some(match opt {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

fn mask(set: Option<&oci_spec::runtime::Capabilities>, field: &str) -> CliResult<u64> {
    let mut m = 0u64;
    for c in set.into_iter().flatten() {
        let name = c.to_string();
        let n = util::cap_number(&name).ok_or_else(|| {
            CliError::problem(format!(
                "process.capabilities.{field}: unknown capability CAP_{name}"
            ))
        })?;
        m |= 1 << n;
    }
    Ok(m)
}

/// linux.resources: without cgroups nothing there is enforced, so a limit is refused, not
/// ignored. Device rules are the exception: devices are already denied (the container's
/// /dev holds only the default devices and every other mount is nodev), so deny rules and
/// allow rules for default devices hold as written.
fn check_resources(r: &oci_spec::runtime::LinuxResources) -> CliResult<()> {
    let v =
        serde_json::to_value(r).map_err(|e| CliError::problem(format!("linux.resources: {e}")))?;
    if let Some(obj) = v.as_object() {
        for (k, val) in obj {
            let empty = val.is_null()
                || val
                    .as_object()
                    .is_some_and(|o| o.values().all(Value::is_null))
                || val.as_array().is_some_and(Vec::is_empty);
            if k != "devices" && !empty {
                return Err(CliError::problem(format!(
                    "linux.resources.{k}: not enforced by oci-seccomp run (it manages no cgroups); refusing rather than ignoring a limit"
                ))
                .hint("remove linux.resources or use runc or crun"));
            }
        }
    }
    for (i, d) in r.devices().iter().flatten().enumerate() {
        if !d.allow() {
            continue;
        }
        let typ = d.typ().map(|t| t.as_str().to_string());
        let ok = typ.as_deref() == Some("c")
            && matches!((d.major(), d.minor()), (Some(a), Some(b)) if DEFAULT_DEVICE_NUMBERS.contains(&(a, b)));
        if !ok {
            return Err(CliError::problem(format!(
                "linux.resources.devices[{i}]: allows type {} {}:{}; oci-seccomp run has no device cgroup and only provides the default devices (null, zero, full, random, urandom, tty)",
                typ.as_deref().unwrap_or("a"),
                d.major().map_or("*".to_string(), |m| m.to_string()),
                d.minor().map_or("*".to_string(), |m| m.to_string()),
            ))
            .hint("bind-mount the device file instead (a mount with type bind), or use runc"));
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
        // SAFETY: prctl with integer arguments; only reads the bounding set.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } < 0 {
            break;
        }
        last = cap;
    }
    last
}

impl Setup {
    /// Reads and checks everything the child will need from `spec` (bundle at `bundle`).
    pub fn from_spec(bundle: &Path, spec: &Spec) -> CliResult<Self> {
        let root = spec.root().as_ref().ok_or_else(|| {
            CliError::problem("config.json: root: missing").hint("set root.path to the rootfs")
        })?;
        let rootfs = if root.path().is_absolute() {
            root.path().clone()
        } else {
            bundle.join(root.path())
        };
        let rootfs = rootfs.canonicalize().map_err(|e| {
            CliError::problem(format!("root.path {:?}: {e}", root.path().display()))
                .hint("the rootfs directory must exist")
        })?;
        if rootfs == Path::new("/") {
            return Err(CliError::problem("root.path: resolves to the host's \"/\"")
                .hint("use a separate rootfs directory"));
        }
        let readonly = root.readonly().unwrap_or(false);

        let linux = spec.linux().as_ref();
        let mut unshare_flags = 0;
        let mut pid_ns = false;
        let mut uts = false;
        for (i, ns) in linux
            .and_then(|l| l.namespaces().as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(p) = ns.path() {
                return Err(CliError::problem(format!(
                    "linux.namespaces[{i}].path {:?}: joining an existing namespace is not supported",
                    p.display()
                ))
                .hint("remove the path to get a new namespace, or use runc"));
            }
            match ns.typ() {
                LinuxNamespaceType::Pid => pid_ns = true,
                LinuxNamespaceType::Ipc => unshare_flags |= libc::CLONE_NEWIPC,
                LinuxNamespaceType::Uts => {
                    uts = true;
                    unshare_flags |= libc::CLONE_NEWUTS
                }
                LinuxNamespaceType::Mount => unshare_flags |= libc::CLONE_NEWNS,
                LinuxNamespaceType::Network => unshare_flags |= libc::CLONE_NEWNET,
                other => {
                    return Err(CliError::problem(format!(
                        "linux.namespaces[{i}].type {:?}: not supported by oci-seccomp run",
                        other.to_string()
                    ))
                    .hint(
                        "supported: pid, ipc, uts, mount, network; use runc or crun for the rest",
                    ))
                }
            }
        }
        if unshare_flags & libc::CLONE_NEWNS == 0 {
            return Err(CliError::problem(
                "linux.namespaces: no mount namespace; oci-seccomp run mounts the rootfs and never does so in the host's mount namespace",
            )
            .hint("add {\"type\": \"mount\"} to linux.namespaces"));
        }
        let hostname = match spec.hostname() {
            Some(h) if !h.is_empty() => {
                if !uts {
                    return Err(CliError::problem(format!(
                        "hostname {h:?}: set without a UTS namespace; it would change the host's name"
                    ))
                    .hint("add {\"type\": \"uts\"} to linux.namespaces or remove hostname"));
                }
                Some(cstring("hostname", h.as_bytes())?)
            }
            _ => None,
        };
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
                return Err(CliError::problem(format!(
                    "linux.devices[0] ({}): creating device nodes is not supported by oci-seccomp run; \
                     the container's /dev holds only null, zero, full, random, urandom and tty",
                    d.path().display()
                ))
                .hint("bind-mount the device file instead (a mount with type bind), or use runc"));
            }
            for (field, list, out) in [
                ("maskedPaths", l.masked_paths(), &mut masked_paths),
                ("readonlyPaths", l.readonly_paths(), &mut readonly_paths),
            ] {
                for (i, p) in list.iter().flatten().enumerate() {
                    if !p.starts_with('/') {
                        return Err(CliError::problem(format!(
                            "linux.{field}[{i}] {p:?}: must be an absolute path"
                        )));
                    }
                    out.push(cstring(&format!("linux.{field}[{i}]"), p.as_bytes())?);
                }
            }
        }

        let mut mounts = Vec::new();
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            mounts.push(Self::mount_plan(i, m, &rootfs, bundle)?);
        }
        if !mounts
            .iter()
            .any(|m| Path::new(&m.destination) == Path::new("/dev"))
        {
            // The container's /dev is ours, never the rootfs's: a tmpfs that gets the
            // default devices (see default_devices).
            mounts.insert(
                0,
                MountPlan {
                    destination: "/dev".into(),
                    target: rootfs.join("dev"),
                    source: c"tmpfs".into(),
                    fstype: c"tmpfs".into(),
                    flags: libc::MS_NOSUID
                        | libc::MS_NOEXEC
                        | libc::MS_NODEV
                        | libc::MS_STRICTATIME,
                    data: c"mode=755,size=65536k".into(),
                    bind: false,
                    propagation: 0,
                    source_is_file: false,
                },
            );
        }

        let process = spec.process().as_ref().ok_or_else(|| {
            CliError::problem("config.json: process: missing").hint("set process.args")
        })?;
        if process.terminal() == Some(true) {
            tracing::warn!("process.terminal is ignored: the command uses oci-seccomp's stdio");
        }
        let mut rlimits = Vec::new();
        for (i, r) in process.rlimits().iter().flatten().enumerate() {
            if r.soft() > r.hard() {
                return Err(CliError::problem(format!(
                    "process.rlimits[{i}] ({}): soft {} is above hard {}; setrlimit refuses that",
                    r.typ(),
                    r.soft(),
                    r.hard()
                )));
            }
            let res = rlimit_resource(r.typ());
            if rlimits.iter().any(|(x, _, _)| *x == res) {
                return Err(CliError::problem(format!(
                    "process.rlimits[{i}] ({}): given twice",
                    r.typ()
                )));
            }
            rlimits.push((res, r.soft() as libc::rlim_t, r.hard() as libc::rlim_t));
        }
        let cwd = process.cwd();
        if !cwd.is_absolute() {
            return Err(CliError::problem(format!(
                "process.cwd {:?}: must be an absolute path",
                cwd.display()
            )));
        }
        let user = process.user();
        check_id("process.user.uid", user.uid())?;
        check_id("process.user.gid", user.gid())?;
        let mut gids: Vec<libc::gid_t> = Vec::new();
        for (i, g) in user.additional_gids().iter().flatten().enumerate() {
            check_id(&format!("process.user.additionalGids[{i}]"), *g)?;
            gids.push(*g as libc::gid_t);
        }
        // The kernel keeps the list sorted; the same list in that order can be compared
        // with getgroups before exec.
        gids.sort_unstable();
        gids.dedup();
        let caps = match process.capabilities() {
            Some(c) => CapSets {
                bounding: mask(c.bounding().as_ref(), "bounding")?,
                effective: mask(c.effective().as_ref(), "effective")?,
                permitted: mask(c.permitted().as_ref(), "permitted")?,
                inheritable: mask(c.inheritable().as_ref(), "inheritable")?,
                ambient: mask(c.ambient().as_ref(), "ambient")?,
            },
            None => CapSets::default(),
        };
        if caps.effective & !caps.permitted != 0 {
            tracing::warn!("process.capabilities.effective has capabilities that permitted lacks; capset will refuse");
        }
        Ok(Self {
            rootfs_c: cstring("root.path", rootfs.as_os_str().as_bytes())?,
            rootfs,
            readonly,
            hostname,
            mounts,
            unshare_flags,
            pid_ns,
            cwd: cstring("process.cwd", cwd.as_os_str().as_bytes())?,
            uid: user.uid(),
            gid: user.gid(),
            gids,
            caps,
            last_cap: last_cap(),
            masked_paths,
            readonly_paths,
            rlimits,
        })
    }

    fn mount_plan(
        i: usize,
        m: &oci_spec::runtime::Mount,
        rootfs: &Path,
        bundle: &Path,
    ) -> CliResult<MountPlan> {
        let dest = m.destination();
        let shown = dest.display().to_string();
        if !dest.is_absolute() {
            return Err(CliError::problem(format!(
                "mounts[{i}].destination {shown:?}: must be an absolute path"
            )));
        }
        if dest.components().any(|c| c == Component::ParentDir) {
            return Err(CliError::problem(format!(
                "mounts[{i}].destination {shown:?}: \"..\" is not allowed"
            )));
        }
        let rel = dest.strip_prefix("/").unwrap_or(dest);
        if rel.as_os_str().is_empty() {
            return Err(CliError::problem(format!(
                "mounts[{i}].destination {shown:?}: cannot mount over the root"
            )));
        }
        let target = rootfs.join(rel);
        let mut flags: libc::c_ulong = 0;
        let mut propagation: libc::c_ulong = 0;
        let mut data = Vec::new();
        let mut bind = false;
        let mut recursive = false;
        for o in m.options().iter().flatten() {
            match o.as_str() {
                "bind" => bind = true,
                "rbind" => {
                    bind = true;
                    recursive = true
                }
                o => {
                    if let Some((f, set)) = mount_option(o) {
                        if set {
                            flags |= f
                        } else {
                            flags &= !f
                        }
                    } else if let Some(p) = propagation_option(o) {
                        propagation = p;
                    } else {
                        data.push(o.to_string());
                    }
                }
            }
        }
        let typ = m.typ().clone().unwrap_or_default();
        if typ == "bind" {
            bind = true;
        }
        let source = m.source().clone().unwrap_or_default();
        let mut source_is_file = false;
        let mut source_is_device = false;
        let source = if bind {
            let s = if source.is_absolute() {
                source
            } else {
                bundle.join(source)
            };
            let meta = std::fs::metadata(&s).map_err(|e| {
                CliError::problem(format!("mounts[{i}].source {:?}: {e}", s.display()))
                    .hint("a bind mount's source must exist")
            })?;
            source_is_file = !meta.is_dir();
            source_is_device =
                meta.file_type().is_char_device() || meta.file_type().is_block_device();
            s
        } else {
            match typ.as_str() {
                "proc" | "tmpfs" => {}
                "" => {
                    return Err(CliError::problem(format!(
                        "mounts[{i}] ({shown}): no type; supported types are proc, tmpfs and bind"
                    )))
                }
                other => {
                    return Err(CliError::problem(format!(
                        "mounts[{i}].type {other:?} ({shown}): not supported by oci-seccomp run"
                    ))
                    .hint("supported mount types: proc, tmpfs, bind"))
                }
            }
            if source.as_os_str().is_empty() {
                PathBuf::from(&typ)
            } else {
                source
            }
        };
        if !source_is_device {
            // Only a device the config binds in explicitly is usable in the container.
            flags |= libc::MS_NODEV;
        }
        if bind {
            flags |= libc::MS_BIND;
            if recursive {
                flags |= libc::MS_REC;
            }
        }
        let what = format!("mounts[{i}]");
        Ok(MountPlan {
            destination: shown,
            target,
            source: cstring(&what, source.as_os_str().as_bytes())?,
            fstype: cstring(&what, typ.as_bytes())?,
            flags,
            data: cstring(&what, data.join(",").as_bytes())?,
            bind,
            propagation,
            source_is_file,
        })
    }

    /// In the child, first: unshare the namespaces, make `/` private, mount the rootfs
    /// (nodev) and the listed mounts through fds opened under it, add the default devices,
    /// enter the root, make it read-only, apply readonlyPaths and maskedPaths, set the
    /// hostname.
    ///
    /// # Errors
    ///
    /// The step that failed, with the config.json field where there is one.
    pub fn enter(&self) -> Result<(), String> {
        // A new, anonymous session keyring, as runc and crun give every container: the
        // kernel keyring is not namespaced, and the workload must not see the runtime's
        // keys or leave its own behind for the next container.
        // SAFETY: KEYCTL_JOIN_SESSION_KEYRING with a null name takes no memory of ours.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                libc::KEYCTL_JOIN_SESSION_KEYRING,
                std::ptr::null::<libc::c_char>(),
            )
        };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            // Like runc: a kernel without keyrings, or one that refuses us (a filter of an
            // outer container), is not fatal.
            if !matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::EACCES)
            ) {
                return Err(format!("keyctl(KEYCTL_JOIN_SESSION_KEYRING): {e}"));
            }
        }
        // SAFETY: unshare takes flags only.
        if unsafe { libc::unshare(self.unshare_flags) } != 0 {
            return Err(format!(
                "unshare({:#x}) of the namespaces in linux.namespaces: {}",
                self.unshare_flags,
                std::io::Error::last_os_error()
            ));
        }
        // From here on we are in our own mount namespace. Nothing may propagate back to
        // the host: make every mount private before mounting anything.
        sys_mount(
            None,
            c"/",
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
            "make / recursively private",
        )?;
        sys_mount(
            Some(&self.rootfs_c),
            &self.rootfs_c,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
            "bind-mount the rootfs on itself",
        )?;
        // Device nodes the workload could make (CAP_MKNOD) or find in the rootfs are
        // unusable: the rootfs and every mount but single-device binds are nodev.
        remount_bind(&self.rootfs_c, libc::MS_NODEV, "remount the rootfs nodev")?;
        {
            // Every destination is created and opened under this fd without following a
            // symlink, and mounted on through the opened fd: a user who owns the rootfs
            // cannot redirect a mount (or a file creation) to the host.
            let root = nix::fcntl::open(
                self.rootfs_c.as_c_str(),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| format!("open the rootfs: {}", io_err(e)))?;
            for m in &self.mounts {
                self.mount_one(&root, m)?;
            }
            self.default_devices(&root)?;
        }
        self.enter_root()?;
        if self.readonly {
            remount_bind(
                c"/",
                libc::MS_RDONLY,
                "remount the root read-only (root.readonly)",
            )?;
        }
        // As runc: in the container's root (nothing of the host is reachable any more).
        for p in &self.readonly_paths {
            readonly_path(p)?;
        }
        if !self.masked_paths.is_empty() {
            check_dev_null()?;
        }
        for p in &self.masked_paths {
            mask_path(p)?;
        }
        if let Some(h) = &self.hostname {
            // SAFETY: `h` is a valid buffer of the given length; we are in a private UTS
            // namespace (checked in from_spec).
            if unsafe { libc::sethostname(h.as_ptr(), h.as_bytes().len()) } != 0 {
                return Err(format!("sethostname: {}", std::io::Error::last_os_error()));
            }
        }
        Ok(())
    }

    fn mount_one(&self, root: &OwnedFd, m: &MountPlan) -> Result<(), String> {
        let rel = m.target.strip_prefix(&self.rootfs).unwrap_or(&m.target);
        let kind = if m.source_is_file {
            Kind::File
        } else {
            Kind::Dir
        };
        let dest = open_in_root(root, rel, kind, &m.destination)?;
        let covered = mnt_id(&dest, &m.destination)?;
        let what = format!("mount {} on {}", m.fstype.to_string_lossy(), m.destination);
        let target = proc_fd(&dest);
        if m.bind {
            sys_mount(
                Some(&m.source),
                &target,
                None,
                m.flags & (libc::MS_BIND | libc::MS_REC),
                None,
                &what,
            )?;
        } else {
            let data = (!m.data.as_bytes().is_empty()).then_some(m.data.as_c_str());
            sys_mount(
                Some(&m.source),
                &target,
                Some(&m.fstype),
                m.flags,
                data,
                &what,
            )?;
        }
        // The opened destination must still be where config.json says.
        check_place(&dest, &m.target, &m.destination)?;
        if !m.bind && m.propagation == 0 {
            return Ok(());
        }
        // `dest` is the covered directory; the new mount's root is found again by path
        // (still without symlinks) and must be a different mount.
        let top = open_in_root(root, rel, Kind::Existing, &m.destination)?;
        if mnt_id(&top, &m.destination)? == covered {
            return Err(format!(
                "mount destination {}: after mounting, the path no longer leads to the new mount (changed while mounting); refusing",
                m.destination
            ));
        }
        check_place(&top, &m.target, &m.destination)?;
        let top_c = proc_fd(&top);
        let extra = m.flags & !(libc::MS_BIND | libc::MS_REC);
        if m.bind && extra != 0 {
            remount_bind(
                &top_c,
                extra,
                &format!("remount {} with its options", m.destination),
            )?;
        }
        if m.propagation != 0 {
            sys_mount(
                None,
                &top_c,
                None,
                m.propagation,
                None,
                &format!("set propagation of {}", m.destination),
            )?;
        }
        Ok(())
    }

    /// Bind-mounts the host's default devices into the container's `/dev` (a nodev mount:
    /// a bind mount keeps the flags of its source mount, so these nodes, and only these,
    /// are usable) and adds the usual /dev/fd, stdin, stdout and stderr symlinks.
    fn default_devices(&self, root: &OwnedFd) -> Result<(), String> {
        for (name, src) in DEFAULT_DEVICES {
            let shown = format!("/dev/{name}");
            let rel = Path::new("dev").join(name);
            let dest = open_in_root(root, &rel, Kind::File, &shown)?;
            let src_c = CString::new(*src).map_err(|_| format!("{shown}: NUL byte"))?;
            sys_mount(
                Some(&src_c),
                &proc_fd(&dest),
                None,
                libc::MS_BIND,
                None,
                &format!("bind-mount the host's {src} on {shown}"),
            )?;
            check_place(&dest, &self.rootfs.join(&rel), &shown)?;
        }
        let dev = open_in_root(root, Path::new("dev"), Kind::Dir, "/dev")?;
        for (name, to) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            match nix::unistd::symlinkat(to, &dev, name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(format!("symlink /dev/{name}: {}", io_err(e))),
            }
        }
        Ok(())
    }

    fn enter_root(&self) -> Result<(), String> {
        let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        // SAFETY: chdir takes a valid C string.
        if unsafe { libc::chdir(self.rootfs_c.as_ptr()) } != 0 {
            return Err(err("chdir to the rootfs"));
        }
        // SAFETY: pivot_root takes two valid C strings. "." and "." stacks the old root on
        // top of the new one (runc's trick), then we detach it.
        let rc = unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) };
        if rc == 0 {
            // SAFETY: umount2 of the old root, stacked on "." in our private namespace.
            if unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } != 0 {
                return Err(err("detach the old root after pivot_root"));
            }
        } else {
            let first = std::io::Error::last_os_error();
            if first.raw_os_error() != Some(libc::EINVAL) {
                return Err(format!("pivot_root into the rootfs: {first}"));
            }
            // Fallback (rootfs on the initramfs): move the root and chroot into it.
            sys_mount(
                Some(&self.rootfs_c),
                c"/",
                None,
                libc::MS_MOVE,
                None,
                "move the rootfs to / (pivot_root fallback)",
            )?;
            // SAFETY: chroot takes a valid C string.
            if unsafe { libc::chroot(c".".as_ptr()) } != 0 {
                return Err(err("chroot into the rootfs"));
            }
        }
        // SAFETY: chdir takes a valid C string.
        if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
            return Err(err("chdir to the new /"));
        }
        Ok(())
    }

    /// In the child, right after [`Setup::enter`] and before any seccomp filter is
    /// installed: drops the bounding set, clears the ambient set and sets the additional
    /// groups. Done before the filter so that no profile can fake their results (a rule
    /// returning `ERRNO(0)` for `prctl` or `setgroups`). Makes no heap allocation.
    ///
    /// # Errors
    ///
    /// The step that failed, with errno set.
    pub fn drop_privileges_before_filter(&self) -> Result<(), &'static str> {
        for cap in 0..=self.last_cap.min(63) {
            if self.caps.bounding & (1 << cap) == 0 {
                // SAFETY: prctl with integer arguments.
                let rc =
                    unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
                // Every capability up to last_cap is known to this kernel: no error is
                // harmless here.
                if rc != 0 {
                    return Err("prctl(PR_CAPBSET_DROP) for process.capabilities.bounding");
                }
            }
        }
        // SAFETY: prctl with integer arguments. EINVAL: kernel without ambient caps.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        if rc != 0 && errno() != libc::EINVAL {
            return Err("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
        }
        // SAFETY: the pointer and length describe `gids`.
        if unsafe { libc::setgroups(self.gids.len(), self.gids.as_ptr()) } != 0 {
            return Err("setgroups for process.user.additionalGids");
        }
        Ok(())
    }

    /// In the child, after the root is set up (and, without no-new-privileges, after the
    /// filter is installed): working directory, rlimits, user and capabilities.
    /// Makes no heap allocation.
    ///
    /// # Errors
    ///
    /// The step that failed, with errno set.
    pub fn finalize(&self) -> Result<(), &'static str> {
        // SAFETY: chdir takes a valid C string.
        if unsafe { libc::chdir(self.cwd.as_ptr()) } != 0 {
            return Err("chdir to process.cwd");
        }
        for (res, soft, hard) in &self.rlimits {
            let lim = libc::rlimit {
                rlim_cur: *soft,
                rlim_max: *hard,
            };
            // SAFETY: `lim` is a valid rlimit for the duration of the call.
            if unsafe { libc::setrlimit(*res, &lim) } != 0 {
                return Err("setrlimit for process.rlimits");
            }
        }
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
            return Err("prctl(PR_SET_KEEPCAPS)");
        }
        // SAFETY: plain integer arguments.
        if unsafe { libc::setresgid(self.gid, self.gid, self.gid) } != 0 {
            return Err("setresgid for process.user.gid");
        }
        // SAFETY: plain integer arguments.
        if unsafe { libc::setresuid(self.uid, self.uid, self.uid) } != 0 {
            return Err("setresuid for process.user.uid");
        }
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) } != 0 {
            return Err("prctl(PR_SET_KEEPCAPS, 0)");
        }
        capset(&self.caps)?;
        for cap in 0..=self.last_cap.min(63) {
            if self.caps.ambient & (1 << cap) != 0 {
                // SAFETY: prctl with integer arguments.
                let rc = unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                        cap as libc::c_ulong,
                        0,
                        0,
                    )
                };
                if rc != 0 {
                    return Err("prctl(PR_CAP_AMBIENT_RAISE) for process.capabilities.ambient");
                }
            }
        }
        Ok(())
    }

    /// The number of additional groups the plan has (the size of the scratch buffer
    /// [`Setup::verify`] needs, minus one).
    pub fn group_count(&self) -> usize {
        self.gids.len()
    }

    /// In the child, last thing before `execve`, after the filter is installed: reads the
    /// credentials, capability sets and rlimits back and compares them with the plan. A
    /// hostile profile can make `setresuid`, `capset`, `prctl` or `setrlimit` return
    /// success without doing anything; this check then fails instead of starting the
    /// workload as root. Every read starts from a value that cannot be the planned one, so
    /// a faked read (success without output) is a mismatch too. `scratch` must hold at
    /// least [`Setup::group_count`] + 1 entries. Makes no heap allocation.
    ///
    /// # Errors
    ///
    /// What differs from the plan.
    pub fn verify(&self, scratch: &mut [libc::gid_t]) -> Result<(), &'static str> {
        // Ids above MAX_ID are refused in from_spec: u32::MAX is never a planned id.
        let (mut r, mut e, mut s) = (u32::MAX, u32::MAX, u32::MAX);
        // SAFETY: three valid output pointers.
        let rc = unsafe { libc::getresuid(&mut r, &mut e, &mut s) };
        if rc != 0 || [r, e, s] != [self.uid; 3] {
            return Err("verify before exec: the user ids are not process.user.uid (setresuid was refused or faked)");
        }
        let (mut r, mut e, mut s) = (u32::MAX, u32::MAX, u32::MAX);
        // SAFETY: three valid output pointers.
        let rc = unsafe { libc::getresgid(&mut r, &mut e, &mut s) };
        if rc != 0 || [r, e, s] != [self.gid; 3] {
            return Err("verify before exec: the group ids are not process.user.gid (setresgid was refused or faked)");
        }
        let want = self.gids.len();
        if scratch.len() <= want {
            return Err("verify before exec: internal error: group buffer too small");
        }
        scratch.fill(libc::gid_t::MAX);
        // SAFETY: `scratch` is valid for `scratch.len()` entries.
        let n = unsafe { libc::getgroups(scratch.len() as libc::c_int, scratch.as_mut_ptr()) };
        if n < 0 || n as usize != want || scratch[..want] != self.gids[..] {
            return Err(
                "verify before exec: the additional groups are not process.user.additionalGids",
            );
        }
        let valid: u64 = if self.last_cap >= 63 {
            u64::MAX
        } else {
            (1u64 << (self.last_cap + 1)) - 1
        };
        let got = capget()?;
        if got.effective != self.caps.effective & valid
            || got.permitted != self.caps.permitted & valid
            || got.inheritable != self.caps.inheritable & valid
        {
            return Err("verify before exec: the capability sets are not process.capabilities (capset was refused or faked)");
        }
        for cap in 0..=self.last_cap.min(63) {
            let bit = 1u64 << cap;
            // SAFETY: prctl with integer arguments.
            let b = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
            if b != i32::from(self.caps.bounding & bit != 0) {
                return Err(
                    "verify before exec: the bounding set is not process.capabilities.bounding",
                );
            }
            if self.caps.ambient & bit != 0 {
                // SAFETY: prctl with integer arguments.
                let a = unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong,
                        cap as libc::c_ulong,
                        0,
                        0,
                    )
                };
                if a != 1 {
                    return Err(
                        "verify before exec: the ambient set is not process.capabilities.ambient",
                    );
                }
            }
        }
        for (res, soft, hard) in &self.rlimits {
            let mut lim = libc::rlimit {
                rlim_cur: !*soft,
                rlim_max: !*hard,
            };
            // SAFETY: `lim` is valid output space.
            let rc = unsafe { libc::getrlimit(*res, &mut lim) };
            if rc != 0 || lim.rlim_cur != *soft || lim.rlim_max != *hard {
                return Err("verify before exec: process.rlimits are not in force (setrlimit was refused or faked)");
            }
        }
        Ok(())
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn mount_errno(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    // SAFETY: every pointer is null or a valid C string for the duration of the call.
    // Callers only reach here in the child's own mount namespace, after `/` was made
    // recursively private (see Setup::enter).
    let rc = unsafe {
        libc::mount(
            source.map_or(std::ptr::null(), |s| s.as_ptr()),
            target.as_ptr(),
            fstype.map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn sys_mount(
    source: Option<&CString>,
    target: &CStr,
    fstype: Option<&CString>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
    what: &str,
) -> Result<(), String> {
    mount_errno(
        source.map(CString::as_c_str),
        target,
        fstype.map(CString::as_c_str),
        flags,
        data,
    )
    .map_err(|e| format!("{what}: {}", io_err(e)))
}

/// Remounts the bind mount at `target` adding `add`, keeping the flags it has (a remount
/// without them would clear nosuid, nodev, noexec or read-only).
fn remount_bind(target: &CStr, add: libc::c_ulong, what: &str) -> Result<(), String> {
    // SAFETY: an all-zero statvfs is valid output space.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and output pointer.
    if unsafe { libc::statvfs(target.as_ptr(), &mut st) } != 0 {
        return Err(format!(
            "{what}: statvfs: {}",
            std::io::Error::last_os_error()
        ));
    }
    let mut keep: libc::c_ulong = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            keep |= ms_flag;
        }
    }
    sys_mount(
        None,
        target,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | keep | add,
        None,
        what,
    )
}

/// Default devices: (name under /dev, host source), as runc's default device list.
const DEFAULT_DEVICES: &[(&str, &str)] = &[
    ("null", "/dev/null"),
    ("zero", "/dev/zero"),
    ("full", "/dev/full"),
    ("random", "/dev/random"),
    ("urandom", "/dev/urandom"),
    ("tty", "/dev/tty"),
];

/// (major, minor) of the default devices, for linux.resources.devices allow rules.
const DEFAULT_DEVICE_NUMBERS: &[(i64, i64)] = &[(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)];

fn io_err(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

/// What the last component of a mount destination must be.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A directory (created if missing).
    Dir,
    /// Not a directory (an empty file is created if missing, never truncated).
    File,
    /// Whatever is there (nothing is created).
    Existing,
}

/// Opens `rel` below `root` as an `O_PATH` fd, one component at a time with
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, creating missing components with
/// `mkdirat` / `openat(O_CREAT | O_EXCL | O_NOFOLLOW)` relative to the parent's fd. A
/// symlink anywhere is refused: nothing outside the rootfs is ever opened or created.
fn open_in_root(root: &OwnedFd, rel: &Path, last: Kind, shown: &str) -> Result<OwnedFd, String> {
    let parts: Vec<&OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect();
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    let mut cur = root
        .try_clone()
        .map_err(|e| format!("mount destination {shown}: dup: {e}"))?;
    let mut sofar = PathBuf::new();
    for (k, part) in parts.iter().enumerate() {
        sofar.push(part);
        let is_last = k + 1 == parts.len();
        let kind = if is_last { last } else { Kind::Dir };
        let mut created = false;
        let fd = loop {
            match nix::fcntl::openat2(&cur, *part, how) {
                Ok(fd) => break fd,
                Err(Errno::ENOENT) if kind != Kind::Existing && !created => {
                    created = true;
                    let r = if kind == Kind::Dir {
                        nix::sys::stat::mkdirat(&cur, *part, Mode::from_bits_truncate(0o755))
                    } else {
                        nix::fcntl::openat(
                            &cur,
                            *part,
                            OFlag::O_CREAT
                                | OFlag::O_EXCL
                                | OFlag::O_NOFOLLOW
                                | OFlag::O_WRONLY
                                | OFlag::O_CLOEXEC,
                            Mode::from_bits_truncate(0o644),
                        )
                        .map(drop)
                    };
                    match r {
                        Ok(()) | Err(Errno::EEXIST) => continue,
                        Err(e) => {
                            return Err(format!(
                                "mount destination {shown}: cannot create /{}: {}",
                                sofar.display(),
                                io_err(e)
                            ))
                        }
                    }
                }
                Err(Errno::ELOOP) | Err(Errno::EXDEV) => {
                    return Err(format!(
                        "mount destination {shown}: /{} is a symlink in the rootfs; not supported",
                        sofar.display()
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "mount destination {shown}: cannot open /{}: {}",
                        sofar.display(),
                        io_err(e)
                    ))
                }
            }
        };
        let st = nix::sys::stat::fstat(&fd)
            .map_err(|e| format!("mount destination {shown}: fstat: {}", io_err(e)))?;
        let fmt = st.st_mode & libc::S_IFMT;
        let bad = if fmt == libc::S_IFLNK {
            Some("is a symlink in the rootfs; not supported")
        } else if kind == Kind::Dir && fmt != libc::S_IFDIR {
            Some("is not a directory")
        } else if kind == Kind::File && fmt == libc::S_IFDIR {
            Some("is a directory but the bind source is a file")
        } else {
            None
        };
        if let Some(why) = bad {
            return Err(format!(
                "mount destination {shown}: /{} {why}",
                sofar.display()
            ));
        }
        cur = fd;
    }
    Ok(cur)
}

/// `/proc/self/fd/N` for an fd: mounting on it mounts on what the fd refers to.
fn proc_fd(fd: &OwnedFd) -> CString {
    let mut s = b"/proc/self/fd/".to_vec();
    s.extend_from_slice(fd.as_raw_fd().to_string().as_bytes());
    // Digits only: no NUL byte.
    CString::new(s).unwrap_or_default()
}

/// The mount id of what `fd` refers to (statx STATX_MNT_ID).
fn mnt_id(fd: &OwnedFd, shown: &str) -> Result<u64, String> {
    // SAFETY: an all-zero statx is valid output space.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd, an empty C string with AT_EMPTY_PATH, and valid output space.
    let rc = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    if rc != 0 || stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(format!(
            "mount destination {shown}: statx(STATX_MNT_ID): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(stx.stx_mnt_id)
}

/// Checks that `fd` still is at `expected` (a host path inside the rootfs).
fn check_place(fd: &OwnedFd, expected: &Path, shown: &str) -> Result<(), String> {
    let now = nix::fcntl::readlink(proc_fd(fd).as_c_str())
        .map_err(|e| format!("mount destination {shown}: readlink: {}", io_err(e)))?;
    let want: PathBuf = expected.components().collect();
    if Path::new(&now) != want {
        return Err(format!(
            "mount destination {shown}: moved while mounting (now at {:?}); refusing",
            now
        ));
    }
    Ok(())
}

/// readonlyPaths (as runc): bind the path on itself and remount it read-only, keeping its
/// other flags (nosuid, nodev, noexec, atime). A path that does not exist is skipped.
fn readonly_path(p: &CStr) -> Result<(), String> {
    let shown = p.to_string_lossy();
    match mount_errno(Some(p), p, None, libc::MS_BIND | libc::MS_REC, None) {
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => {
            return Err(format!(
                "linux.readonlyPaths {shown:?}: bind on itself: {}",
                io_err(e)
            ))
        }
        Ok(()) => {}
    }
    remount_bind(
        p,
        libc::MS_RDONLY,
        &format!("linux.readonlyPaths {shown:?}: remount read-only"),
    )
}

/// The container's /dev/null must be the null device before anything is masked with it.
fn check_dev_null() -> Result<(), String> {
    match nix::sys::stat::stat(c"/dev/null") {
        Ok(st)
            if st.st_mode & libc::S_IFMT == libc::S_IFCHR
                && libc::major(st.st_rdev) == 1
                && libc::minor(st.st_rdev) == 3 => {}
        Ok(_) => {
            return Err(
                "linux.maskedPaths: /dev/null in the container is not the null device (1:3)".into(),
            )
        }
        Err(e) => return Err(format!("linux.maskedPaths: /dev/null: {}", io_err(e))),
    }
    Ok(())
}

/// maskedPaths (as runc): /dev/null over a file, a read-only empty tmpfs over a
/// directory. A path that does not exist is skipped.
fn mask_path(p: &CStr) -> Result<(), String> {
    let shown = p.to_string_lossy();
    let st = match nix::sys::stat::stat(p) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(format!("linux.maskedPaths {shown:?}: {}", io_err(e))),
    };
    let r = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        mount_errno(
            Some(c"tmpfs"),
            p,
            Some(c"tmpfs"),
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            Some(c"mode=0555"),
        )
    } else {
        mount_errno(Some(c"/dev/null"), p, None, libc::MS_BIND, None)
    };
    r.map_err(|e| format!("linux.maskedPaths {shown:?}: mount: {}", io_err(e)))
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Reads this thread's effective, permitted and inheritable sets. The output starts as all
/// ones, bits no kernel has included, so a faked `capget` (success without output) never
/// reads as a plan (plans are masked to the kernel's capabilities).
fn capget() -> Result<CapSets, &'static str> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: u32::MAX,
        permitted: u32::MAX,
        inheritable: u32::MAX,
    }; 2];
    // SAFETY: capget writes a v3 header and two data structs, which is what we pass.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err("verify before exec: capget failed");
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        bounding: 0,
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
        ambient: 0,
    })
}

fn capset(c: &CapSets) -> Result<(), &'static str> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let lo = |m: u64| m as u32;
    let hi = |m: u64| (m >> 32) as u32;
    let data = [
        CapData {
            effective: lo(c.effective),
            permitted: lo(c.permitted),
            inheritable: lo(c.inheritable),
        },
        CapData {
            effective: hi(c.effective),
            permitted: hi(c.permitted),
            inheritable: hi(c.inheritable),
        },
    ];
    // SAFETY: capset reads a v3 header and two data structs, which is what we pass.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if rc != 0 {
        return Err("capset for process.capabilities (effective/permitted/inheritable)");
    }
    Ok(())
}
