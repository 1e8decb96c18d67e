//! `oci-seccomp run`: the smallest youki-style launcher.
//!
//! Like runc and crun: the runtime (this process) connects to the seccomp agent early,
//! compiles the profile here (through the on-disk cache by default), forks, and the child
//! does its setup, installs the filter ([`ChildEnd::install_and_send`], safe with NOTIFY on
//! any syscall) and execs. The runtime takes the notify fd over the handoff channel, sends
//! it with the container process state to the agent, closes its copy, waits for the child
//! and exits with its status (128 + signal when it was killed).
//!
//! Order (docs/design.md §3): without no-new-privileges the filter goes in before capabilities
//! are dropped (installing needs CAP_SYS_ADMIN then); with it, as late as possible before
//! `execve`. No-new-privileges is only set when asked for (`--no-new-privs` or
//! `process.noNewPrivileges`).
//!
//! The child starts a new session (as runc and crun), so the workload's `kill(0, sig)`
//! reaches neither the runtime nor the shell that started it. With a bundle, the identity
//! is read back and verified right before `execve` ([`Setup::verify`]).
//!
//! Failures in the child before `execve` come back as one line over a close-on-exec pipe.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use oci_seccomp::{Cache, CacheError, CompileOptions, LinuxSeccomp, Program};
use oci_seccomp_load::handoff::{self, ChildEnd};
use oci_seccomp_load::listener::{process_state, ContainerState};

use crate::container::Setup;
use crate::util::{self, shown};
use crate::{CliError, CliResult};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Profile (OCI, or Docker which is rendered for this host). Default: the embedded
    /// default profile rendered for this host with Docker's default capabilities.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bundle", "no_seccomp"])]
    pub profile: Option<String>,
    /// Run an OCI bundle: DIR/config.json (process, root, mounts, namespaces, linux.seccomp).
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Set no-new-privileges in the child (also set by process.noNewPrivileges).
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Seccomp agent socket (absolute path or @abstract); overrides listenerPath.
    #[arg(long, value_name = "PATH")]
    pub listener: Option<String>,
    /// Also trust a seccomp agent whose socket belongs to this uid (repeatable). By default
    /// the notify fd is sent only to a listener owned by root or by our own uid; another
    /// owner (who may have bound the name first) fails the start before anything is sent.
    #[arg(long = "listener-uid", value_name = "UID")]
    pub listener_uid: Vec<u32>,
    /// Metadata sent to the agent; overrides listenerMetadata.
    #[arg(long = "listener-metadata", value_name = "TEXT")]
    pub listener_metadata: Option<String>,
    /// Install no seccomp filter at all.
    #[arg(long = "no-seccomp")]
    pub no_seccomp: bool,
    /// Compile the profile without the on-disk cache.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Cache directory (default: $XDG_CACHE_HOME/oci-seccomp, /var/cache/oci-seccomp for
    /// root, else ~/.cache/oci-seccomp).
    #[arg(long = "cache-dir", value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Container id sent to the agent (default: oci-seccomp-PID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The command and its arguments (with --bundle: replaces process.args).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Everything the child needs, prepared in the parent.
struct Plan {
    program: Option<Program>,
    /// Without no-new-privileges the filter is installed before the identity changes:
    /// read the identity back after the filter (it could fake those calls).
    verify_after_filter: bool,
    listener: Option<UnixStream>,
    metadata: String,
    nnp: bool,
    argv: Vec<CString>,
    envp: Vec<CString>,
    exec_paths: Vec<CString>,
    container: Option<Setup>,
    bundle: String,
    id: String,
    annotations: BTreeMap<String, String>,
}

/// The default cache directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("oci-seccomp"));
    }
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from("/var/cache/oci-seccomp"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/oci-seccomp"))
}

/// Compiles `spec`, through the cache unless `no_cache`; a cache problem falls back to a
/// plain compile with a warning.
pub fn compile_program(
    spec: &LinuxSeccomp,
    name: &str,
    no_cache: bool,
    cache_dir: Option<&Path>,
) -> CliResult<Program> {
    let opts = CompileOptions::default();
    if !no_cache {
        let dir = cache_dir.map(Path::to_path_buf).or_else(default_cache_dir);
        match dir.map(Cache::open) {
            Some(Ok(cache)) => match cache.get_or_compile(spec, &opts) {
                Ok((p, outcome)) => {
                    tracing::debug!(?outcome, dir = %cache.dir().display(), "compiled-program cache");
                    return Ok(p);
                }
                Err(CacheError::Compile(e)) => return Err(util::compile_error(name, &e)),
                Err(e) => {
                    tracing::warn!(error = %e, "compiled-program cache unusable; compiling without it")
                }
            },
            Some(Err(e)) => {
                tracing::warn!(error = %e, "compiled-program cache unusable; compiling without it")
            }
            None => tracing::debug!("no cache directory (no HOME); compiling without cache"),
        }
    }
    oci_seccomp::compile(spec, &opts).map_err(|e| util::compile_error(name, &e))
}

fn cstr(what: &str, s: &[u8]) -> CliResult<CString> {
    CString::new(s).map_err(|_| CliError::problem(format!("{what}: contains a NUL byte")))
}

fn exec_candidates(arg0: &str, path_var: Option<&str>) -> CliResult<Vec<CString>> {
    if arg0.contains('/') {
        return Ok(vec![cstr("command", arg0.as_bytes())?]);
    }
    let path = path_var.unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .map(|d| if d.is_empty() { "." } else { d })
        .map(|d| cstr("PATH", format!("{d}/{arg0}").as_bytes()))
        .collect()
}

fn check_listener(spec: &mut LinuxSeccomp, args: &RunArgs) -> CliResult<()> {
    if let Some(l) = &args.listener {
        spec.set_listener_path(Some(PathBuf::from(l)));
    }
    if let Some(m) = &args.listener_metadata {
        spec.set_listener_metadata(Some(m.clone()));
    }
    let notify = oci_seccomp_load::listener::has_notify_rule(spec);
    if notify && spec.listener_path().is_none() {
        return Err(CliError::problem(
            "linux.seccomp: a rule uses SCMP_ACT_NOTIFY but there is no listenerPath; nobody could answer those syscalls",
        )
        .hint("start `oci-seccomp supervise --socket PATH` and pass --listener PATH"));
    }
    Ok(())
}

/// Keys of config.json's objects that oci-spec reads (case-sensitively); Go runtimes read
/// them in any letter case. (path, keys).
const CONFIG_KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "ociVersion",
            "process",
            "root",
            "hostname",
            "domainname",
            "mounts",
            "hooks",
            "annotations",
            "linux",
        ],
    ),
    (
        "process",
        &[
            "terminal",
            "consoleSize",
            "user",
            "args",
            "commandLine",
            "env",
            "cwd",
            "capabilities",
            "rlimits",
            "noNewPrivileges",
            "apparmorProfile",
            "oomScoreAdj",
            "selinuxLabel",
            "ioPriority",
            "scheduler",
            "execCPUAffinity",
        ],
    ),
    (
        "process.user",
        &["uid", "gid", "umask", "additionalGids", "username"],
    ),
    (
        "process.capabilities",
        &[
            "bounding",
            "effective",
            "inheritable",
            "permitted",
            "ambient",
        ],
    ),
    ("root", &["path", "readonly"]),
    (
        "linux",
        &[
            "namespaces",
            "uidMappings",
            "gidMappings",
            "timeOffsets",
            "devices",
            "netDevices",
            "cgroupsPath",
            "rootfsPropagation",
            "resources",
            "seccomp",
            "sysctl",
            "maskedPaths",
            "readonlyPaths",
            "mountLabel",
            "intelRdt",
            "personality",
            "memoryPolicy",
        ],
    ),
];

/// A config.json key that differs from an OCI key only in letter case (`"Seccomp"`):
/// oci-spec would drop it silently (no filter at all), runc would read it. Refused.
fn check_config_key_case(v: &serde_json::Value) -> CliResult<()> {
    for (path, keys) in CONFIG_KEYS {
        let mut obj = Some(v);
        for part in path.split('.').filter(|p| !p.is_empty()) {
            obj = obj.and_then(|o| o.get(part));
        }
        let Some(obj) = obj.and_then(serde_json::Value::as_object) else {
            continue;
        };
        for k in obj.keys() {
            if let Some(want) = keys
                .iter()
                .find(|n| oci_seccomp::go_key_eq(k, n) && **n != k.as_str())
            {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                return Err(CliError::problem(format!(
                    "config.json: {at}: key {k:?} differs from the OCI key {want:?} only in letter case; \
                     this runtime would ignore it while Go runtimes read it"
                ))
                .hint(format!("write it as {want:?}")));
            }
        }
    }
    Ok(())
}

fn bundle_seccomp(config_text: &str) -> CliResult<()> {
    let v: serde_json::Value = serde_json::from_str(config_text).map_err(|e| {
        CliError::problem(format!(
            "config.json: line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    check_config_key_case(&v)?;
    if let Some(sc) = v.get("linux").and_then(|l| l.get("seccomp")) {
        if let Some((path, key)) = oci_seccomp::find_docker_key(sc) {
            return Err(CliError::problem(format!(
                "config.json: linux.seccomp.{path}: Docker (moby) profile key {key:?}; oci-spec would drop it silently"
            ))
            .hint("render the Docker profile first: oci-seccomp render FILE"));
        }
        // Same checks (shape, limits) as a profile file, with line and column.
        oci_seccomp::parse_profile(&sc.to_string())
            .map_err(|e| CliError::problem(format!("config.json: linux.seccomp: {e}")))?;
    }
    Ok(())
}

fn prepare(args: &RunArgs) -> CliResult<Plan> {
    let mut container = None;
    let mut nnp = args.no_new_privs;
    let mut annotations = BTreeMap::new();
    let bundle_dir: PathBuf;
    let (seccomp, name, argv, envp, exec_paths) = if let Some(b) = &args.bundle {
        let bundle = b.canonicalize().map_err(|e| {
            CliError::problem(format!("--bundle {}: {e}", b.display()))
                .hint("give the directory that holds config.json")
        })?;
        let cfg = bundle.join("config.json");
        let text = std::fs::read_to_string(&cfg).map_err(|e| {
            CliError::problem(format!("{}: cannot read: {e}", cfg.display()))
                .hint("an OCI bundle has config.json next to its rootfs")
        })?;
        bundle_seccomp(&text)?;
        let spec: oci_spec::runtime::Spec = serde_json::from_str(&text).map_err(|e| {
            CliError::problem(format!(
                "{}: line {}, column {}: {e}",
                cfg.display(),
                e.line(),
                e.column()
            ))
        })?;
        let setup = Setup::from_spec(&bundle, &spec)?;
        let process = spec.process().as_ref().ok_or_else(|| {
            CliError::problem("config.json: process: missing").hint("set process.args")
        })?;
        nnp |= process.no_new_privileges().unwrap_or(false);
        let argv_s: Vec<String> = if args.command.is_empty() {
            process.args().clone().unwrap_or_default()
        } else {
            args.command.clone()
        };
        if argv_s.is_empty() {
            return Err(CliError::problem("config.json: process.args: empty")
                .hint("set process.args or give a command after --"));
        }
        let env = process.env().clone().unwrap_or_default();
        let path_var = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .map(str::to_string);
        let argv = argv_s
            .iter()
            .map(|a| cstr("process.args", a.as_bytes()))
            .collect::<CliResult<Vec<_>>>()?;
        let envp = env
            .iter()
            .map(|a| cstr("process.env", a.as_bytes()))
            .collect::<CliResult<Vec<_>>>()?;
        let exec_paths = exec_candidates(&argv_s[0], path_var.as_deref())?;
        if let Some(a) = spec.annotations() {
            annotations = a.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        let seccomp = if args.no_seccomp {
            None
        } else {
            spec.linux().as_ref().and_then(|l| l.seccomp().clone())
        };
        if seccomp.is_none() && !args.no_seccomp {
            tracing::info!("config.json has no linux.seccomp: no filter is installed (as runc)");
        }
        container = Some(setup);
        bundle_dir = bundle;
        (seccomp, cfg.display().to_string(), argv, envp, exec_paths)
    } else {
        if args.command.is_empty() {
            return Err(CliError::usage("run: no command given")
                .hint("oci-seccomp run [--profile FILE] -- CMD [ARG]..."));
        }
        let (seccomp, name) = if args.no_seccomp {
            (None, String::new())
        } else if let Some(p) = &args.profile {
            (Some(util::load_any(p)?), shown(p).to_string())
        } else {
            (
                Some(util::default_for_host()?),
                "<embedded default>".to_string(),
            )
        };
        let argv = args
            .command
            .iter()
            .map(|a| cstr("command", a.as_bytes()))
            .collect::<CliResult<Vec<_>>>()?;
        let envp = std::env::vars_os()
            .map(|(k, v)| {
                let mut b = k.as_bytes().to_vec();
                b.push(b'=');
                b.extend_from_slice(v.as_bytes());
                cstr("environment", &b)
            })
            .collect::<CliResult<Vec<_>>>()?;
        let path_var = std::env::var("PATH").ok();
        let exec_paths = exec_candidates(&args.command[0], path_var.as_deref())?;
        bundle_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        (seccomp, name, argv, envp, exec_paths)
    };

    let mut program = None;
    let mut listener = None;
    let mut metadata = String::new();
    if let Some(mut spec) = seccomp {
        check_listener(&mut spec, args)?;
        // Connect early: an agent that is not there fails the start before anything runs.
        let allowed = oci_seccomp_load::AllowedPeers::with_extra(args.listener_uid.iter().copied());
        listener = oci_seccomp_load::connect_for_spec_with(&spec, &allowed).map_err(|e| {
            let hint = if matches!(e, oci_seccomp_load::HandoffError::UntrustedListener { .. }) {
                "check who runs the agent; if it is trusted, pass --listener-uid UID"
            } else {
                "start the agent first (oci-seccomp supervise --socket PATH)"
            };
            CliError::problem(e.to_string()).hint(hint)
        })?;
        metadata = spec.listener_metadata().clone().unwrap_or_default();
        let p = compile_program(&spec, &name, args.no_cache, args.cache_dir.as_deref())?;
        program = Some(p);
    }
    let verify_after_filter = match (&program, &container, nnp) {
        (Some(p), Some(_), false) => identity_needs_check(p)?,
        _ => false,
    };
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("oci-seccomp-{}", std::process::id()));
    Ok(Plan {
        program,
        verify_after_filter,
        listener,
        metadata,
        nnp,
        argv,
        envp,
        exec_paths,
        container,
        bundle: bundle_dir.display().to_string(),
        id,
        annotations,
    })
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
/// Syscalls that read the identity back.
const IDENTITY_READERS: &[&str] = &[
    "getresuid",
    "getresgid",
    "getgroups",
    "capget",
    "prctl",
    "prlimit64",
    "getrlimit",
];

/// Whether the filter, installed before the identity changes (no no-new-privileges), can
/// change what the identity calls do; then the identity must be read back after it, which
/// needs the reading calls allowed. Decided on the compiled program for the native
/// architecture.
fn identity_needs_check(program: &Program) -> CliResult<bool> {
    let native = oci_seccomp::arch::native();
    let allowed = |name: &str| {
        oci_seccomp::arch::resolve(name, native).is_none_or(|nr| {
            oci_seccomp::is_constant_allow(program.instructions(), native.audit_arch, nr as u32)
        })
    };
    if IDENTITY_SETTERS.iter().all(|n| allowed(n)) {
        return Ok(false);
    }
    if let Some(n) = IDENTITY_READERS.iter().find(|n| !allowed(n)) {
        return Err(CliError::problem(format!(
            "process.noNewPrivileges is false, so the filter is installed before the user \
             and capabilities are set, and the profile does not simply allow all of {}: the \
             launcher must read the identity back after the filter, but the profile does \
             not allow {n}",
            IDENTITY_SETTERS.join(", ")
        ))
        .hint("set process.noNewPrivileges to true, or allow the calls that read the identity"));
    }
    Ok(true)
}

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

fn write_all(fd: RawFd, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// In the child: reports `msg` to the parent and exits 1.
fn child_fail(report: RawFd, msg: &str) -> ! {
    let line = format!("E {}\n", msg.replace('\n', " "));
    write_all(report, line.as_bytes());
    // SAFETY: _exit is always safe; it runs no destructors or atexit handlers.
    unsafe { libc::_exit(1) }
}

fn child_install(plan: &Plan, end: Option<&ChildEnd>, report: RawFd) {
    if let (Some(program), Some(end)) = (&plan.program, end) {
        // Tell the parent to start receiving: it then waits on the handoff channel.
        write_all(report, b"I\n");
        if let Err(e) = end.install_and_send(program) {
            child_fail(report, &e.to_string());
        }
    }
}

/// The child, after fork. Never returns.
fn child_main(plan: &Plan, end: Option<ChildEnd>, report: OwnedFd) -> ! {
    let report = report.as_raw_fd();
    // Pointer arrays for execve, built before the filter is installed (no allocation
    // after the install on the success path).
    let mut argv: Vec<*const libc::c_char> = plan.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = plan.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // Scratch space for reading the groups back before exec (allocated now, not after the
    // filter is installed).
    let mut groups: Vec<libc::gid_t> =
        vec![0; plan.container.as_ref().map_or(0, Setup::group_count) + 1];

    // A new session, as runc and crun give the container: `kill(0, sig)` in the workload
    // must not reach the shell that started the runtime, nor the runtime. The child of a
    // fork is never a process-group leader, so setsid cannot fail with EPERM here.
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } < 0 {
        let e = std::io::Error::last_os_error();
        child_fail(report, &format!("setsid: {e}"));
    }

    // SAFETY: prctl with integer arguments: die with the runtime.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // Default signal dispositions for the workload (the parent's forwarding handlers are
    // not inherited across exec anyway, but ignored signals would be).
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGPIPE,
    ] {
        // SAFETY: restoring the default disposition.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }

    // Nothing this process inherited beyond stdio reaches the workload (runc and crun do
    // the same): every fd from 3 up becomes close-on-exec. Done before the install, which
    // may refuse close_range.
    cloexec_from(3);

    if let Some(c) = &plan.container {
        if let Err(e) = c.enter() {
            child_fail(report, &e);
        }
        // Bounding set, ambient set and groups before any filter can fake their results.
        if let Err(what) = c.drop_privileges_before_filter() {
            let e = std::io::Error::last_os_error();
            child_fail(report, &format!("{what}: {e}"));
        }
    }
    if !plan.nnp {
        // No NNP: install before the capabilities are dropped (needs CAP_SYS_ADMIN).
        child_install(plan, end.as_ref(), report);
    }
    if let Some(c) = &plan.container {
        if let Err(what) = c.finalize() {
            let e = std::io::Error::last_os_error();
            child_fail(report, &format!("{what}: {e}"));
        }
    }
    if plan.nnp {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            let e = std::io::Error::last_os_error();
            child_fail(report, &format!("prctl(PR_SET_NO_NEW_PRIVS): {e}"));
        }
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } != 1 {
            child_fail(report, "verify before exec: no-new-privileges is not set");
        }
        // No filter is in yet, so what is read back is what the kernel did; nothing can
        // change the identity or clear no-new-privileges after this point.
        if let Some(c) = &plan.container {
            if let Err(what) = c.verify(&mut groups) {
                child_fail(report, what);
            }
        }
        // NNP: install as late as possible before exec.
        child_install(plan, end.as_ref(), report);
    } else if plan.verify_after_filter {
        // The filter was in while the identity was set and could have faked those calls
        // (the plan made sure the reading calls are allowed): the workload starts with
        // the planned identity or not at all.
        if let Some(c) = &plan.container {
            if let Err(what) = c.verify(&mut groups) {
                child_fail(report, what);
            }
        }
    }
    let mut first_err = 0;
    for path in &plan.exec_paths {
        // SAFETY: `path`, `argv` and `envp` are valid, NUL-terminated, null-terminated
        // arrays that live until execve returns (it only returns on failure).
        unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if first_err == 0 || (first_err == libc::ENOENT && e != libc::ENOENT) {
            first_err = e;
        }
    }
    let e = std::io::Error::from_raw_os_error(if first_err == 0 {
        libc::ENOENT
    } else {
        first_err
    });
    child_fail(
        report,
        &format!("cannot execute {:?}: {e}", plan.argv[0].to_string_lossy()),
    );
}

/// Marks every fd from `first` up close-on-exec: `close_range(CLOSE_RANGE_CLOEXEC)` (Linux
/// 5.11), else one `fcntl` per possible fd below the soft limit.
fn cloexec_from(first: u32) {
    // SAFETY: close_range takes no pointers; with CLOSE_RANGE_CLOEXEC it closes nothing.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for the duration of the call.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(1 << 20) as i32
    } else {
        1024
    };
    for fd in first as i32..max {
        // SAFETY: F_SETFD on a number that may not be open only fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

fn read_line(r: &mut BufReader<std::fs::File>) -> Option<String> {
    let mut s = String::new();
    match r.read_line(&mut s) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(s.trim_end().to_string()),
    }
}

fn wait_child(pid: nix::unistd::Pid) -> nix::sys::wait::WaitStatus {
    loop {
        match nix::sys::wait::waitpid(pid, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(s) => return s,
            Err(_) => return nix::sys::wait::WaitStatus::Exited(pid, 1),
        }
    }
}

fn exit_status(plan: &Plan, st: nix::sys::wait::WaitStatus) -> u8 {
    use nix::sys::wait::WaitStatus;
    match st {
        WaitStatus::Exited(_, code) => code as u8,
        WaitStatus::Signaled(_, sig, _) => {
            let n = sig as i32;
            let why = if sig == nix::sys::signal::Signal::SIGSYS {
                " (the seccomp filter's KILL or TRAP action)"
            } else {
                ""
            };
            eprintln!(
                "oci-seccomp: {}: killed by {}{why}",
                plan.argv[0].to_string_lossy(),
                util::signal_name(n)
            );
            (128 + n) as u8
        }
        _ => 1,
    }
}

/// Runs `run`.
pub fn run(args: RunArgs) -> CliResult<u8> {
    let mut plan = prepare(&args)?;
    let (parent_end, child_end) = if plan.program.is_some() {
        let (p, c) = handoff::channel().map_err(|e| CliError::problem(e.to_string()))?;
        (Some(p), Some(c))
    } else {
        (None, None)
    };
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| CliError::problem(format!("pipe2: {e}")))?;
    if plan.container.as_ref().is_some_and(|c| c.pid_ns) {
        // The child becomes pid 1 of a new pid namespace; this process stays where it is.
        // SAFETY: unshare takes flags only.
        if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
            return Err(CliError::problem(format!(
                "unshare(CLONE_NEWPID) for the pid namespace: {}",
                std::io::Error::last_os_error()
            ))
            .hint("creating namespaces needs root (CAP_SYS_ADMIN)"));
        }
    }
    // SAFETY: this process is single-threaded here (run starts no threads), so the child
    // may allocate; it only execs or exits.
    let child = match unsafe { nix::unistd::fork() } {
        Err(e) => return Err(CliError::problem(format!("fork: {e}"))),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(rd);
            drop(parent_end);
            child_main(&plan, child_end, wr)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => child,
    };
    drop(wr);
    drop(child_end);
    CHILD.store(child.as_raw(), Ordering::Relaxed);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        let handler = forward_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only calls kill, which is async-signal-safe.
        unsafe { libc::signal(sig, handler) };
    }

    let mut reader = BufReader::new(std::fs::File::from(rd));
    let mut error: Option<String> = None;
    let mut parent_end = parent_end;
    let mut listener = plan.listener.take();
    while let Some(line) = read_line(&mut reader) {
        if line == "I" {
            let Some(pe) = parent_end.take() else {
                continue;
            };
            match pe.for_child(child.as_raw()).receive() {
                Ok(Some(fd)) => {
                    if let Some(sock) = listener.take() {
                        let state = process_state(
                            child.as_raw(),
                            plan.metadata.clone(),
                            plan.id.clone(),
                            ContainerState::Creating,
                            plan.bundle.clone(),
                            plan.annotations.clone(),
                        );
                        let sent = oci_seccomp_load::send_state(&sock, &state, fd.as_fd());
                        // Close our copies at once: the agent holds the fd now.
                        drop(sock);
                        if let Err(e) = sent {
                            // Nobody can answer the child's notified syscalls: stop it.
                            let _ = nix::sys::signal::kill(child, nix::sys::signal::SIGKILL);
                            error = Some(e.to_string());
                        }
                    } else {
                        let _ = nix::sys::signal::kill(child, nix::sys::signal::SIGKILL);
                        error = Some("the profile needs a listener but none is connected".into());
                    }
                    drop(fd);
                }
                Ok(None) => {}
                Err(e) => {
                    if !matches!(e, oci_seccomp_load::HandoffError::Install(_)) {
                        let _ = nix::sys::signal::kill(child, nix::sys::signal::SIGKILL);
                    }
                    error.get_or_insert(e.to_string());
                }
            }
        } else if let Some(msg) = line.strip_prefix("E ") {
            // The child's own words are the most precise.
            error = Some(msg.to_string());
        }
    }
    // Our copy of the agent connection must not outlive the handoff.
    drop(listener);
    let status = wait_child(child);
    if let Some(e) = error {
        return Err(CliError::problem(e));
    }
    Ok(exit_status(&plan, status))
}
