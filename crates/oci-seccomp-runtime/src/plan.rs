//! The pure step: a bundle or a command line becomes a [`LaunchPlan`], or is refused.
//!
//! Everything the child will need is read, checked and converted here, in the parent and
//! before anything touches the system (as firecracker's jailer builds its `Env`): C strings,
//! mount flags, capability masks, rlimits. Every refusal of docs/security.md ("Launcher")
//! happens here, as a [`PlanError`] that names the config.json field. The only reads of the
//! system are of the bundle itself (the rootfs and bind sources must exist) and of the
//! highest capability number the kernel knows.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use oci_seccomp::{LinuxSeccomp, Program};

use crate::container::ContainerPlan;
use crate::error::{cstring, PlanError};

/// What the caller adds to or overrides in a bundle or command line.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LaunchOptions {
    /// The command and its arguments (with a bundle: replaces `process.args`).
    pub command: Vec<String>,
    /// Set no-new-privileges (also set by `process.noNewPrivileges`).
    pub no_new_privs: bool,
    /// Install no filter at all.
    pub no_seccomp: bool,
    /// The agent's socket; overrides `listenerPath`.
    pub listener_path: Option<String>,
    /// The metadata sent to the agent; overrides `listenerMetadata`.
    pub listener_metadata: Option<String>,
    /// The container id sent to the agent (default: `oci-seccomp-PID`).
    pub id: Option<String>,
}

impl LaunchOptions {
    /// Options that run `command`.
    #[must_use]
    pub fn command(command: Vec<String>) -> Self {
        Self {
            command,
            ..Self::default()
        }
    }
}

/// A validated launch: the process to execute, the container to make around it (with a
/// bundle), and the seccomp profile to compile.
#[derive(Debug)]
pub struct LaunchPlan {
    pub(crate) seccomp: Option<LinuxSeccomp>,
    pub(crate) nnp: bool,
    pub(crate) argv: Vec<CString>,
    pub(crate) envp: Vec<CString>,
    pub(crate) exec_paths: Vec<CString>,
    pub(crate) container: Option<ContainerPlan>,
    pub(crate) bundle: PathBuf,
    pub(crate) id: String,
    pub(crate) annotations: BTreeMap<String, String>,
}

/// The paths `execve` is tried with: `arg0` itself if it has a `/`, else each `PATH`
/// directory.
fn exec_candidates(arg0: &str, path_var: Option<&str>) -> Result<Vec<CString>, PlanError> {
    if arg0.contains('/') {
        return Ok(vec![cstring("command", arg0.as_bytes())?]);
    }
    let path = path_var.unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .map(|d| if d.is_empty() { "." } else { d })
        .map(|d| cstring("PATH", format!("{d}/{arg0}").as_bytes()))
        .collect()
}

/// Largest config.json accepted: room for the largest profile and the rest.
pub(crate) const MAX_CONFIG_BYTES: usize = 2 * oci_seccomp::MAX_PROFILE_BYTES;

/// What kind of file `t` is, in words.
fn file_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Reads config.json without ever blocking or following a symlink: opened with
/// `O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC` (a FIFO opens at once instead of waiting for a
/// writer), refused unless a regular file, at most [`MAX_CONFIG_BYTES`].
fn read_config(path: &Path) -> Result<String, PlanError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_error = |source| PlanError::ReadConfig {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => PlanError::ConfigNotFile {
                path: path.to_path_buf(),
                kind: "a symbolic link",
            },
            _ => read_error(e),
        })?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(PlanError::ConfigNotFile {
            path: path.to_path_buf(),
            kind: file_kind(meta.file_type()),
        });
    }
    let too_large = |len| PlanError::ConfigTooLarge {
        path: path.to_path_buf(),
        len,
        max: MAX_CONFIG_BYTES,
    };
    if meta.len() > MAX_CONFIG_BYTES as u64 {
        return Err(too_large(meta.len()));
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() > MAX_CONFIG_BYTES {
        // It grew while being read.
        return Err(too_large(text.len() as u64));
    }
    Ok(text)
}

impl LaunchPlan {
    /// Reads `dir/config.json` and validates it.
    ///
    /// # Errors
    ///
    /// [`PlanError`]: the bundle cannot be read, config.json is not a regular file or is
    /// larger than 8 MiB, or it asks for something this launcher refuses; the error names
    /// the field.
    pub fn from_bundle(dir: &Path, opts: &LaunchOptions) -> Result<Self, PlanError> {
        let bundle = dir.canonicalize().map_err(|source| PlanError::Bundle {
            path: dir.to_path_buf(),
            source,
        })?;
        let cfg = bundle.join("config.json");
        let text = read_config(&cfg)?;
        Self::from_config(&bundle, &cfg.display().to_string(), &text, opts)
    }

    /// Validates config.json's `text` for the bundle at `bundle` (`file`: how to name it).
    ///
    /// # Errors
    ///
    /// [`PlanError`], naming the field of config.json at fault.
    pub fn from_config(
        bundle: &Path,
        file: &str,
        text: &str,
        opts: &LaunchOptions,
    ) -> Result<Self, PlanError> {
        crate::config::check_text(file, text)?;
        let spec: oci_spec::runtime::Spec =
            serde_json::from_str(text).map_err(|e| crate::config::syntax(file, &e))?;
        let container = ContainerPlan::from_spec(bundle, file, &spec)?;
        let process = spec.process().as_ref().ok_or_else(|| PlanError::Missing {
            file: file.to_string(),
            field: "process",
        })?;
        let nnp = opts.no_new_privs || process.no_new_privileges().unwrap_or(false);
        let argv_s: Vec<String> = if opts.command.is_empty() {
            process.args().clone().unwrap_or_default()
        } else {
            opts.command.clone()
        };
        if argv_s.is_empty() {
            return Err(PlanError::EmptyArgs {
                file: file.to_string(),
            });
        }
        let env = process.env().clone().unwrap_or_default();
        let path_var = env.iter().find_map(|e| e.strip_prefix("PATH="));
        let argv = argv_s
            .iter()
            .map(|a| cstring("process.args", a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = env
            .iter()
            .map(|a| cstring("process.env", a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let exec_paths = exec_candidates(&argv_s[0], path_var)?;
        let annotations = spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let seccomp = if opts.no_seccomp {
            None
        } else {
            spec.linux().as_ref().and_then(|l| l.seccomp().clone())
        };
        if seccomp.is_none() && !opts.no_seccomp {
            tracing::info!("config.json has no linux.seccomp: no filter is installed (as runc)");
        }
        Self {
            seccomp,
            nnp,
            argv,
            envp,
            exec_paths,
            container: Some(container),
            bundle: bundle.to_path_buf(),
            id: String::new(),
            annotations,
        }
        .finish(opts)
    }

    /// A plain command (no container): `opts.command` with this process's environment,
    /// under `seccomp` (`None`: no filter).
    ///
    /// # Errors
    ///
    /// [`PlanError::NoCommand`], a NUL byte in an argument or the environment, or a
    /// NOTIFY rule without a listener.
    pub fn from_command(
        seccomp: Option<LinuxSeccomp>,
        opts: &LaunchOptions,
    ) -> Result<Self, PlanError> {
        use std::os::unix::ffi::OsStrExt;
        let Some(arg0) = opts.command.first() else {
            return Err(PlanError::NoCommand);
        };
        let argv = opts
            .command
            .iter()
            .map(|a| cstring("command", a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = std::env::vars_os()
            .map(|(k, v)| {
                let mut b = k.as_bytes().to_vec();
                b.push(b'=');
                b.extend_from_slice(v.as_bytes());
                cstring("environment", &b)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let path_var = std::env::var("PATH").ok();
        let exec_paths = exec_candidates(arg0, path_var.as_deref())?;
        Self {
            seccomp: if opts.no_seccomp { None } else { seccomp },
            nnp: opts.no_new_privs,
            argv,
            envp,
            exec_paths,
            container: None,
            bundle: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            id: String::new(),
            annotations: BTreeMap::new(),
        }
        .finish(opts)
    }

    fn finish(mut self, opts: &LaunchOptions) -> Result<Self, PlanError> {
        if let Some(spec) = &mut self.seccomp {
            if let Some(l) = &opts.listener_path {
                spec.set_listener_path(Some(PathBuf::from(l)));
            }
            if let Some(m) = &opts.listener_metadata {
                spec.set_listener_metadata(Some(m.clone()));
            }
            if oci_seccomp_load::agent_client::has_notify_rule(spec)
                && spec.listener_path().is_none()
            {
                return Err(PlanError::NotifyWithoutListener);
            }
        }
        self.id = opts
            .id
            .clone()
            .unwrap_or_else(|| format!("oci-seccomp-{}", std::process::id()));
        Ok(self)
    }

    /// The profile to compile, with the listener overrides applied.
    #[must_use]
    pub fn seccomp(&self) -> Option<&LinuxSeccomp> {
        self.seccomp.as_ref()
    }

    /// Whether no-new-privileges is set (then the filter goes in last, before `execve`).
    #[must_use]
    pub fn no_new_privileges(&self) -> bool {
        self.nnp
    }

    /// Whether the plan makes a container (a bundle) rather than running a plain command.
    #[must_use]
    pub fn is_container(&self) -> bool {
        self.container.is_some()
    }

    /// The command's first argument, as given.
    #[must_use]
    pub fn arg0(&self) -> String {
        self.argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The container id sent to the agent.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Checks a compiled `program` against the plan: without no-new-privileges in a
    /// container, the filter goes in before the identity is set, so if it does not simply
    /// allow the calls that set the identity, the identity is read back after it, which
    /// needs the reading calls allowed. Returns whether that read-back is needed.
    ///
    /// # Errors
    ///
    /// [`PlanError::IdentityUnreadable`] when the read-back is needed and the profile
    /// refuses a reading call.
    pub fn check_program(&self, program: &Program) -> Result<bool, PlanError> {
        if self.container.is_none() || self.nnp {
            return Ok(false);
        }
        identity_needs_check(program)
    }
}

/// Syscalls that set the container's identity after a filter installed without
/// no-new-privileges (glibc's setrlimit is prlimit64).
const IDENTITY_SETTERS: &[&str] = &[
    "setresuid",
    "setresgid",
    "setgroups",
    "capset",
    "prctl",
    "prlimit64",
    "setrlimit",
];
/// Syscalls that read the identity back, with argument 0 where only that form is made
/// (`prctl(PR_CAPBSET_READ)` = 23 and `prctl(PR_CAP_AMBIENT)` = 47, include/uapi/linux/prctl.h).
const IDENTITY_READERS: &[(&str, Option<u64>)] = &[
    ("getresuid", None),
    ("getresgid", None),
    ("getgroups", None),
    ("capget", None),
    ("prctl", Some(23)),
    ("prctl", Some(47)),
    ("prlimit64", None),
    ("getrlimit", None),
];

/// Decided on the compiled program for the native architecture.
fn identity_needs_check(program: &Program) -> Result<bool, PlanError> {
    let native = oci_seccomp::arch::native();
    let allowed = |name: &str, arg0: Option<u64>| {
        oci_seccomp::arch::resolve(name, native).is_none_or(|nr| {
            let fixed: Vec<(usize, u64)> = arg0.map(|v| (0, v)).into_iter().collect();
            oci_seccomp::bpf::is_allow_given(
                program.instructions(),
                native.audit_arch,
                nr as u32,
                &fixed,
                native.big_endian,
            )
        })
    };
    if IDENTITY_SETTERS.iter().all(|n| allowed(n, None)) {
        return Ok(false);
    }
    if let Some((n, _)) = IDENTITY_READERS.iter().find(|(n, a)| !allowed(n, *a)) {
        return Err(PlanError::IdentityUnreadable {
            setters: IDENTITY_SETTERS.join(", "),
            reader: n,
        });
    }
    Ok(true)
}
