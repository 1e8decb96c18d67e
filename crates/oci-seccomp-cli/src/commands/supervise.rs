//! `oci-seccomp supervise`: the reference seccomp agent.
//!
//! Listens at a socket (runc's and crun's protocol, see `oci_seccomp_load::agent_client`),
//! accepts handoffs from many containers at once (one thread per container), prints each
//! notification and answers it per policy:
//!
//! ```json
//! {"default": "continue",
//!  "syscalls": {"mkdir": "emulate-mkdir", "chmod": "errno:ENOMEDIUM", "getppid": "value:0"}}
//! ```
//!
//! Answers: `continue` (the kernel runs the syscall), `errno:NAME` or `errno:N`,
//! `value:N` (the syscall returns N without running), `emulate-mkdir` (runc's sample
//! agent: create `<path>-<metadata>` for the target and return 0). Without a policy
//! file every syscall gets `continue`.
//!
//! Trust (docs/security.md): every connection's `SO_PEERCRED` is checked before anything
//! is read (root and the agent's own uid by default, `--allow-uid` for more); a socket
//! file is mode 0600 whatever the umask (`--socket-mode`, `--socket-group`); an abstract
//! name has no permissions and a warning says so. Each runtime's message is read in its
//! own thread with a deadline for the whole message, so slow peers never hold up the
//! accept loop. The mkdir emulation (`oci_seccomp_load::emulate`) resolves the path as the
//! kernel would for the target — its root, its cwd or `dirfd`, `..` and symlinks — with
//! `openat2(RESOLVE_IN_ROOT)` under `/proc/PID/root`, and acts with the target's fsuid,
//! fsgid, groups and umask; it refuses targets whose root is the agent's own unless
//! `--allow-host-root`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oci_seccomp_load::notify::Connection;
use oci_seccomp_load::trace::{Mode, Tracer};
use oci_seccomp_load::{
    AgentListener, AgentListenerOptions, AllowedPeers, LogGate, LogRate, NotifyError,
};

use crate::{output, profiles};
use crate::{CliError, CliResult};

use policy::{Answer, Policy};
use serve::Shared;

mod policy;
mod serve;

/// Arguments of `supervise`.
#[derive(Debug, clap::Args)]
pub struct SuperviseArgs {
    /// Socket to listen on: an absolute path, or @name in the abstract namespace.
    #[arg(long, value_name = "PATH")]
    pub socket: String,
    /// Policy file (JSON): {"default": ANSWER, "syscalls": {NAME: ANSWER}}; ANSWER is
    /// continue, errno:NAME|N, value:N or emulate-mkdir. Default: continue everything.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit once N containers have connected and finished.
    #[arg(long = "max-containers", value_name = "N")]
    pub max_containers: Option<u64>,
    /// Also serve runtimes running as this uid (repeatable). Root and the agent's own uid
    /// are always allowed; every other connection is refused before it is read.
    #[arg(long = "allow-uid", value_name = "UID")]
    pub allow_uid: Vec<u32>,
    /// Permission bits of the socket file (octal), whatever the umask.
    #[arg(long = "socket-mode", value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
    pub socket_mode: u32,
    /// Group (gid) of the socket file.
    #[arg(long = "socket-group", value_name = "GID")]
    pub socket_group: Option<u32>,
    /// Also act (emulate-mkdir) for processes whose root is the agent's own root, that is
    /// processes not in a container. Off by default.
    #[arg(long = "allow-host-root")]
    pub allow_host_root: bool,
    /// Deadline for a runtime's whole message, in milliseconds.
    #[arg(
        long = "handshake-timeout-ms",
        value_name = "MS",
        default_value_t = 10_000
    )]
    pub handshake_timeout_ms: u64,
    /// Trace mode for runc and crun: answer every notification as PROFILE (--profile)
    /// would have (ERRNO, TRACE as ENOSYS, KILL as SIGKILL) and report it with the rule
    /// that decided. The runtime must install PROFILE rewritten to notify its denials
    /// (--write-runtime-profile).
    #[arg(long, requires = "profile", conflicts_with_all = ["policy", "complain"])]
    pub trace: bool,
    /// Like --trace, but let every call run (the container is NOT confined by PROFILE).
    #[arg(long, requires = "profile", conflicts_with = "policy")]
    pub complain: bool,
    /// The profile whose decisions --trace and --complain report and enforce.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Write PROFILE rewritten for --runtime to FILE (for its config.json's
    /// linux.seccomp): its denials notify this agent; what cannot be routed is printed.
    #[arg(
        long = "write-runtime-profile",
        value_name = "FILE",
        requires = "profile"
    )]
    pub write_runtime_profile: Option<PathBuf>,
    /// The runtime whose containers are traced: it installs the --write-runtime-profile
    /// output, and the answers follow its reading of the profile (runc answers syscalls
    /// newer than the profile with ENOSYS, crun with the default action).
    #[arg(long, value_enum, default_value = "runc")]
    pub runtime: RuntimeName,
}

/// A runtime that installs a rewritten profile (see `--write-runtime-profile`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeName {
    /// runc (refuses NOTIFY on write and as the default).
    Runc,
    /// crun.
    Crun,
}

fn parse_mode(text: &str) -> Result<u32, String> {
    match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "{text:?}: expected octal permission bits such as 600 or 660"
        )),
    }
}

/// At most this many runtime messages are read at once; more connections wait in the
/// kernel's backlog.
const MAX_HANDSHAKES: usize = 1024;

fn bind(path: &str, options: &AgentListenerOptions) -> CliResult<AgentListener> {
    match AgentListener::bind_with(path, options.clone()) {
        Ok(l) => Ok(l),
        Err(first) => {
            // A stale socket file from a dead agent: remove it and try once more.
            let p = std::path::Path::new(path);
            let stale = !path.starts_with('@')
                && std::fs::symlink_metadata(p).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                })
                && std::os::unix::net::UnixStream::connect(p)
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
            if stale {
                let _ = std::fs::remove_file(p);
                return AgentListener::bind_with(path, options.clone())
                    .map_err(|e| CliError::problem(format!("--socket {path:?}: {e}")));
            }
            Err(CliError::problem(format!("--socket {path:?}: {first}"))
                .hint("another agent may be listening there; use another path"))
        }
    }
}

/// Runs `supervise`.
pub fn run(a: SuperviseArgs) -> CliResult<u8> {
    let policy = match &a.policy {
        Some(p) => {
            let name = p.display().to_string();
            let text = profiles::read_input(&name)?;
            Policy::parse(&name, &text)?
        }
        None => Policy {
            default: Answer::Continue,
            syscalls: HashMap::new(),
        },
    };
    serve::stop_on_signals();
    let options = AgentListenerOptions {
        allowed: AllowedPeers::with_extra(a.allow_uid.iter().copied()),
        mode: a.socket_mode,
        group: a.socket_group,
        handshake_timeout: Duration::from_millis(a.handshake_timeout_ms),
    };
    // Before the socket exists: whoever waits for it finds the runtime profile written.
    let tracer = tracer(&a)?;
    let listener = bind(&a.socket, &options)?;
    eprintln!(
        "oci-seccomp supervise: listening on {} (serving uids {:?})",
        a.socket,
        options.allowed.uids()
    );
    let shared = Arc::new(Shared::new(policy, tracer, a.json, a.allow_host_root));
    accept_until_stopped(&listener, &shared, a.max_containers);
    drop(listener);
    Ok(0)
}

/// `--trace`/`--complain`: the tracer of `--profile`; with `--write-runtime-profile`, the
/// profile rewritten for the runtime is written first.
fn tracer(a: &SuperviseArgs) -> CliResult<Option<Tracer>> {
    match (&a.profile, a.trace, a.complain) {
        (Some(p), trace, complain) if trace || complain => {
            let spec = profiles::load_any(p)?;
            let profile = oci_seccomp::Profile::from_oci(&spec, false)
                .map_err(|e| profiles::compile_error(p, &e))?;
            // Answer as the runtime would have with the original profile: runc's reading
            // has the ENOSYS stub for syscalls newer than the profile, crun's the default.
            let options = oci_seccomp::CompileOptions::default()
                .with_enosys_stub(a.runtime == RuntimeName::Runc);
            let original = oci_seccomp::compile(&spec, &options)
                .map_err(|e| profiles::compile_error(p, &e))?;
            if let Some(out) = &a.write_runtime_profile {
                write_runtime_profile(&spec, a.runtime, &a.socket, out)?;
            }
            let mode = if trace { Mode::Trace } else { Mode::Complain };
            Ok(Some(Tracer::new(original, &profile, &options, mode)))
        }
        (Some(p), false, false) if a.write_runtime_profile.is_some() => {
            let spec = profiles::load_any(p)?;
            if let Some(out) = &a.write_runtime_profile {
                write_runtime_profile(&spec, a.runtime, &a.socket, out)?;
            }
            Ok(None)
        }
        (Some(_), false, false) => Err(CliError::usage("--profile needs --trace or --complain")),
        _ => Ok(None),
    }
}

/// How often refusals and bad messages were logged: each one once, at most
/// [`REFUSALS_LOGGED`] per [`REFUSAL_WINDOW`], the rest counted.
struct Refusals {
    /// Connections refused: any local user can connect to an abstract name.
    connections: LogRate,
    /// Bad messages of allowed peers (`--allow-uid` may name a user we do not trust
    /// much), counted across the connections' threads.
    messages: Arc<Mutex<LogRate>>,
}

impl Refusals {
    fn new() -> Self {
        Self {
            connections: LogRate::new(REFUSALS_LOGGED, REFUSAL_WINDOW, Instant::now()),
            messages: Arc::new(Mutex::new(LogRate::new(
                REFUSALS_LOGGED,
                REFUSAL_WINDOW,
                Instant::now(),
            ))),
        }
    }

    /// Logs what was counted in a window that ended.
    fn tick(&mut self) {
        if let Some(n) = self.connections.tick(Instant::now()) {
            log_suppressed(n, "connection", "refused", &self.connections);
        }
        if let Ok(mut rate) = self.messages.lock() {
            if let Some(n) = rate.tick(Instant::now()) {
                log_suppressed(n, "handoff", "refused for a bad message", &rate);
            }
        }
    }

    /// Logs a connection `accept` refused (or failed), unless too many were.
    fn connection(&mut self, e: &NotifyError) {
        if self.connections.admit(Instant::now()) == LogGate::Log {
            tracing::warn!("{e}");
        }
    }

    /// Logs the refused connections counted and not logged yet, at the end.
    fn finish_connections(&mut self) {
        if let Some(n) = self.connections.finish() {
            log_suppressed(n, "connection", "refused", &self.connections);
        }
    }

    /// Logs the bad messages counted and not logged yet, once the threads have ended.
    fn finish_messages(&mut self) {
        if let Ok(mut rate) = self.messages.lock() {
            if let Some(n) = rate.finish() {
                log_suppressed(n, "handoff", "refused for a bad message", &rate);
            }
        }
    }
}

/// Accepts runtimes' connections, each served in its own thread, until SIGINT or
/// SIGTERM, or until `max_containers` have finished; then waits for the threads.
fn accept_until_stopped(
    listener: &AgentListener,
    shared: &Arc<Shared>,
    max_containers: Option<u64>,
) {
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    let mut refusals = Refusals::new();
    loop {
        refusals.tick();
        if serve::stopped() {
            break;
        }
        if let Some(max) = max_containers {
            if shared.finished.load(Ordering::SeqCst) >= max {
                break;
            }
        }
        threads.retain(|t| !t.is_finished());
        if shared.handshakes.load(Ordering::SeqCst) >= MAX_HANDSHAKES as u64 {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match listener.wait_readable(Duration::from_millis(100)) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(e) => {
                if !serve::stopped() {
                    tracing::warn!(error = %e, "poll on the listener");
                }
                continue;
            }
        }
        // Only the peer check happens here; the message is read in the connection's own
        // thread, within the handshake deadline.
        let conn = match listener.accept_connection() {
            Ok(c) => c,
            Err(e) => {
                let interrupted = matches!(&e, NotifyError::Io { source, .. } if source.kind() == std::io::ErrorKind::Interrupted);
                if !interrupted {
                    refusals.connection(&e);
                }
                if !matches!(e, NotifyError::PeerRefused { .. }) && !interrupted {
                    // accept itself failed (out of fds, say): the socket stays readable,
                    // so pause instead of spinning on it.
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        if let Some(t) = spawn_connection(conn, shared, &refusals.messages) {
            threads.push(t);
        }
    }
    serve::stop();
    refusals.finish_connections();
    for t in threads {
        let _ = t.join();
    }
    refusals.finish_messages();
}

/// Reads the runtime's message and serves the container in a thread of its own; `None`
/// when no thread could be started (the connection is closed).
fn spawn_connection(
    conn: Connection,
    shared: &Arc<Shared>,
    bad_messages: &Arc<Mutex<LogRate>>,
) -> Option<std::thread::JoinHandle<()>> {
    let sh = Arc::clone(shared);
    sh.handshakes.fetch_add(1, Ordering::SeqCst);
    let peer = conn.peer();
    let bad = Arc::clone(bad_messages);
    let spawned = std::thread::Builder::new()
        .name(format!("runtime-{}", peer.pid))
        .stack_size(256 * 1024)
        .spawn(move || {
            let received = conn.receive();
            sh.handshakes.fetch_sub(1, Ordering::SeqCst);
            match received {
                Ok((state, fd)) => serve::serve(sh, state, fd),
                Err(e) => {
                    let admitted = bad
                        .lock()
                        .is_ok_and(|mut r| r.admit(Instant::now()) == LogGate::Log);
                    if admitted {
                        tracing::warn!(%peer, error = %e, "handoff refused");
                    }
                }
            }
        });
    match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            shared.handshakes.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(error = %e, "cannot start a thread for a connection; it is closed");
            None
        }
    }
}

/// Refusals logged one by one per [`REFUSAL_WINDOW`]; the others are counted.
const REFUSALS_LOGGED: u32 = 10;
/// See [`REFUSALS_LOGGED`].
const REFUSAL_WINDOW: Duration = Duration::from_secs(10);

/// The line for `n` `what`s `how` and not logged one by one.
fn log_suppressed(n: u64, what: &str, how: &str, rate: &LogRate) {
    tracing::warn!(
        "{n} more {what}{} {how}, not logged one by one (at most {REFUSALS_LOGGED} are per \
         {} s; {} in all since the start)",
        if n == 1 { "" } else { "s" },
        rate.interval().as_secs(),
        rate.total_suppressed()
    );
}

/// Writes `spec` rewritten for `runtime` ([`oci_seccomp::trace::route_profile`]) with
/// `listenerPath` = `socket`, and prints what that runtime cannot route.
fn write_runtime_profile(
    spec: &oci_seccomp::LinuxSeccomp,
    runtime: RuntimeName,
    socket: &str,
    out: &std::path::Path,
) -> CliResult<()> {
    let rt = match runtime {
        RuntimeName::Runc => oci_seccomp::trace::Runtime::Runc,
        RuntimeName::Crun => oci_seccomp::trace::Runtime::Crun,
    };
    let routed = oci_seccomp::trace::route_profile(spec, rt, socket)
        .map_err(|e| profiles::compile_error("--profile", &e))?;
    let mut text = serde_json::to_string_pretty(&routed.profile)
        .map_err(|e| CliError::problem(e.to_string()))?;
    text.push('\n');
    output::write_output(Some(out), text.as_bytes())?;
    eprintln!(
        "oci-seccomp supervise: wrote {} for {:?}; not traced there:",
        out.display(),
        runtime
    );
    for line in &routed.untraced {
        eprintln!("  {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_modes_parse() {
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0o660"), Ok(0o660));
        for bad in ["800", "1777", "rw", ""] {
            let e = parse_mode(bad).unwrap_err();
            assert!(e.contains("octal"), "{bad}: {e}");
        }
    }
}
