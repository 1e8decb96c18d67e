//! `oci-seccomp supervise`: the reference seccomp agent.
//!
//! Listens at a socket (runc's and crun's protocol, see `oci_seccomp_load::listener`),
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
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_seccomp_load::emulate::{mkdir_for_target, MkdirOptions};
use oci_seccomp_load::trace::{Mode, Tracer};
use oci_seccomp_load::{
    AllowedPeers, ContainerProcessState, Listener, ListenerOptions, LogGate, LogRate, Notification,
    NotifyError, NotifyFd,
};
use serde_json::json;

use crate::{names, output, profiles};
use crate::{CliError, CliResult};

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

/// How to answer a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Let the kernel run the syscall.
    Continue,
    /// Fail with this errno.
    Errno(i32),
    /// Return this value without running.
    Value(i64),
    /// runc's sample agent: create `<path>-<metadata>` and return 0.
    EmulateMkdir,
}

impl Answer {
    fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if t == "continue" {
            return Some(Self::Continue);
        }
        if t == "emulate-mkdir" {
            return Some(Self::EmulateMkdir);
        }
        if let Some(e) = t.strip_prefix("errno:") {
            return names::parse_errno(e).map(Self::Errno);
        }
        if let Some(v) = t.strip_prefix("value:") {
            return v.trim().parse().ok().map(Self::Value);
        }
        None
    }

    fn describe(&self) -> String {
        match self {
            Self::Continue => "continue".into(),
            Self::Errno(e) => format!("errno {}", names::errno_name(*e).unwrap_or("?")),
            Self::Value(v) => format!("value {v}"),
            Self::EmulateMkdir => "emulate-mkdir".into(),
        }
    }
}

/// The answers per syscall name: `{"default": ANSWER, "syscalls": {NAME: ANSWER}}`, both
/// optional; any other key is refused.
#[derive(Clone, Debug)]
pub struct Policy {
    default: Answer,
    syscalls: HashMap<String, Answer>,
}

/// A policy file's JSON as written: objects keep every key in order, duplicates too
/// (serde_json's `Value` keeps only the last one).
enum Node {
    Object(Vec<(String, Node)>),
    String(String),
    /// Anything else, in words (`a number`).
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    entries.push((k, m.next_value::<Node>()?));
                }
                Ok(Node::Object(entries))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::String(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Node, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Node::Other("an array"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Other("a number"))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Other("null"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Self::Object(_) => "an object",
            Self::String(_) => "a string",
            Self::Other(k) => k,
        }
    }

    /// The object's entries; a key given twice is refused (`at`: its JSON path).
    fn entries(&self, at: &str, expected: &str) -> Result<&[(String, Node)], String> {
        let (key, dot) = if at.is_empty() { ("", "") } else { (at, ".") };
        let Self::Object(e) = self else {
            let colon = if at.is_empty() { "" } else { ": " };
            return Err(format!(
                "{key}{colon}expected {expected}, found {}",
                self.kind()
            ));
        };
        for (i, (k, _)) in e.iter().enumerate() {
            if e[..i].iter().any(|(j, _)| j == k) {
                return Err(format!("{key}{dot}{k}: given twice"));
            }
        }
        Ok(e)
    }
}

const POLICY_SHAPE: &str = "{\"default\": ANSWER, \"syscalls\": {NAME: ANSWER}}";
const ANSWERS: &str = "continue, errno:NAME, errno:N, value:N or emulate-mkdir";

fn answer(at: &str, n: &Node) -> Result<Answer, String> {
    match n {
        Node::String(t) => Answer::parse(t).ok_or_else(|| format!("{at}: {t:?}: not an answer")),
        n => Err(format!(
            "{at}: expected an answer ({ANSWERS}), found {}",
            n.kind()
        )),
    }
}

impl Policy {
    /// Parses a policy file's text: JSON syntax errors give their line and column, the
    /// rest the key at fault. Syscall names must be known for the native architecture.
    pub fn parse(name: &str, text: &str) -> CliResult<Self> {
        let hint = || {
            format!(
                "a policy is {POLICY_SHAPE}; ANSWER is {ANSWERS}; NAME is a syscall of {}",
                oci_seccomp::arch::native().name
            )
        };
        let node: Node = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let at = format!(" at line {} column {}", e.line(), e.column());
            let msg = full.strip_suffix(&at).unwrap_or(&full);
            CliError::problem(format!(
                "{name}: line {}, column {}: {msg}",
                e.line(),
                e.column()
            ))
            .hint(hint())
        })?;
        Self::from_node(&node).map_err(|m| CliError::problem(format!("{name}: {m}")).hint(hint()))
    }

    fn from_node(node: &Node) -> Result<Self, String> {
        let mut policy = Self {
            default: Answer::Continue,
            syscalls: HashMap::new(),
        };
        for (k, v) in node.entries("", &format!("a JSON object {POLICY_SHAPE}"))? {
            match k.as_str() {
                "default" => policy.default = answer("default", v)?,
                "syscalls" => {
                    let native = oci_seccomp::arch::native();
                    for (sys, a) in v.entries("syscalls", "an object {NAME: ANSWER}")? {
                        let at = format!("syscalls.{sys}");
                        if oci_seccomp::arch::resolve(sys, native).is_none() {
                            return Err(format!(
                                "{at}: unknown syscall on {} (libseccomp does not know it)",
                                native.name
                            ));
                        }
                        policy.syscalls.insert(sys.clone(), answer(&at, a)?);
                    }
                }
                other => {
                    return Err(format!(
                        "{other:?}: unknown key; a policy has only \"default\" and \"syscalls\""
                    ))
                }
            }
        }
        Ok(policy)
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_sig: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

struct Shared {
    policy: Policy,
    /// --trace / --complain: the tracer of the profile.
    tracer: Option<Tracer>,
    json: bool,
    allow_host_root: bool,
    finished: AtomicU64,
    handshakes: AtomicU64,
}

fn emit(shared: &Shared, text: String, value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let line = if shared.json { value.to_string() } else { text };
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Identical events of one container written one line each before they are counted.
const EVENT_REPEATS: u64 = 8;
/// Bytes of event lines one container may make this agent write.
const EVENT_MAX_BYTES: u64 = 16 << 20;
/// Distinct events whose repeats are counted (others are written while bytes last).
const EVENT_KINDS: usize = 4096;

/// Bounds what one container's notifications make the agent (often root) write: a
/// workload that loops on a notified call must not fill the disk through our log.
/// Identical events (alike but for pid, tid and time) are written [`EVENT_REPEATS`]
/// times, then counted, with a line at each doubling; past [`EVENT_MAX_BYTES`] one line
/// says so and later events are only counted.
#[derive(Default)]
struct EventLines {
    seen: std::collections::HashMap<String, (u64, u64, String)>,
    bytes: u64,
    capped: bool,
    not_written: u64,
}

impl EventLines {
    /// Writes the event (`text` or `value` as `--json` says) or counts it.
    fn offer(&mut self, shared: &Shared, container: &str, text: String, value: serde_json::Value) {
        // What makes events alike, without what is the same for every event of the
        // container (its id and metadata, which the runtime chose and which may be long):
        // the memory per kind stays small.
        let mut key = value.clone();
        if let Some(o) = key.as_object_mut() {
            for k in ["time", "pid", "tid", "container", "metadata"] {
                o.remove(k);
            }
        }
        let key = key.to_string();
        let tracked = self.seen.len() < EVENT_KINDS || self.seen.contains_key(&key);
        let line = if shared.json {
            value.to_string()
        } else {
            text.clone()
        };
        if tracked {
            let entry =
                self.seen
                    .entry(key.clone())
                    .or_insert((0, EVENT_REPEATS * 2, String::new()));
            entry.0 += 1;
            if entry.0 > EVENT_REPEATS {
                entry.2 = key;
                if entry.0 < entry.1 {
                    self.not_written += 1;
                    return;
                }
                entry.1 = entry.1.saturating_mul(2);
                let count = entry.0;
                let again = repeated_line(shared, container, count, &entry.2);
                self.write(shared, container, again);
                return;
            }
        }
        self.write(shared, container, line);
    }

    fn write(&mut self, shared: &Shared, container: &str, line: String) {
        if self.capped {
            self.not_written += 1;
            return;
        }
        if self.bytes + line.len() as u64 + 1 > EVENT_MAX_BYTES {
            self.capped = true;
            self.not_written += 1;
            let text = format!(
                "container={container}: {EVENT_MAX_BYTES} bytes of events written; later \
                 events are counted only"
            );
            emit(
                shared,
                text,
                json!({"truncated": true, "container": container, "maxBytes": EVENT_MAX_BYTES}),
            );
            return;
        }
        self.bytes += line.len() as u64 + 1;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// The counts not written yet, and how many events were not written at all.
    fn finish(mut self, shared: &Shared, container: &str) {
        let pending: Vec<(u64, String)> = self
            .seen
            .values()
            .filter(|(count, next, _)| *count > EVENT_REPEATS && *count * 2 != *next)
            .map(|(count, _, last)| (*count, last.clone()))
            .collect();
        for (count, last) in pending {
            let line = repeated_line(shared, container, count, &last);
            self.write(shared, container, line);
        }
        if self.not_written > 0 {
            emit(
                shared,
                format!(
                    "container={container}: {} event line(s) not written (repeats counted above, \
                     or past the {EVENT_MAX_BYTES}-byte limit)",
                    self.not_written
                ),
                json!({"event": "not-written", "container": container, "count": self.not_written}),
            );
        }
    }
}

/// The line that says an event (`key`: its JSON without pid, tid, time and the
/// container's id and metadata) was seen `count` times.
fn repeated_line(shared: &Shared, container: &str, count: u64, key: &str) -> String {
    if shared.json {
        let mut v: serde_json::Value = serde_json::from_str(key).unwrap_or(json!({}));
        if let Some(o) = v.as_object_mut() {
            o.insert("container".into(), container.into());
            o.insert("repeated".into(), count.into());
        }
        v.to_string()
    } else {
        format!("container={container}: {count} times so far: {key}")
    }
}

fn handle(
    shared: &Shared,
    state: &ContainerProcessState,
    fd: &NotifyFd,
    n: &Notification,
    lines: &mut EventLines,
) {
    let name = n.syscall_name().unwrap_or_else(|| format!("#{}", n.nr));
    let answer = shared
        .policy
        .syscalls
        .get(&name)
        .unwrap_or(&shared.policy.default);
    let args: Vec<String> = n.args.iter().map(|a| format!("{a:#x}")).collect();
    let (result, detail) = match answer {
        Answer::Continue => (fd.respond_continue(n.id), String::new()),
        Answer::Errno(e) => (fd.respond_errno(n.id, *e), String::new()),
        Answer::Value(v) => (fd.respond_value(n.id, *v), String::new()),
        Answer::EmulateMkdir => {
            let opts = MkdirOptions::default()
                .with_allow_host_root(shared.allow_host_root)
                .with_suffix(state.metadata().clone().unwrap_or_default());
            match mkdir_for_target(fd, n, &opts) {
                Ok(created) => (
                    fd.respond_value(n.id, 0),
                    format!("created {}", created.to_string_lossy()),
                ),
                Err(e) => (
                    fd.respond_errno(n.id, e as i32),
                    format!("failed: {}", names::errno_name(e as i32).unwrap_or("?")),
                ),
            }
        }
    };
    let outcome = match &result {
        Ok(()) => "answered".to_string(),
        Err(e) if e.is_target_gone() => "target gone".to_string(),
        Err(e) => format!("answer failed: {e}"),
    };
    let text = format!(
        "container={} pid={} syscall={name}({}) -> {}{}{} [{outcome}]",
        state.state().id(),
        n.pid,
        args.join(", "),
        answer.describe(),
        if detail.is_empty() { "" } else { ": " },
        detail
    );
    let value = json!({
        "container": state.state().id(), "pid": n.pid, "syscall": name, "nr": n.nr,
        "arch": format!("{:#x}", n.arch), "args": args, "answer": answer.describe(),
        "detail": detail, "outcome": outcome, "metadata": state.metadata().as_deref().unwrap_or(""),
    });
    lines.offer(shared, state.state().id(), text, value);
}

fn serve(shared: Arc<Shared>, state: ContainerProcessState, fd: NotifyFd) {
    let mut summary = crate::report::Summary::default();
    let mut lines = EventLines::default();
    if let Err(e) = fd.set_sync_wakeup() {
        tracing::debug!(error = %e, "sync wake-up not available");
    }
    emit(
        &shared,
        format!(
            "container={} pid={} connected (metadata {:?}, status {:?})",
            state.state().id(),
            state.pid(),
            state.metadata().as_deref().unwrap_or(""),
            state.state().status()
        ),
        json!({"event": "connected", "container": state.state().id(), "pid": state.pid(), "metadata": state.metadata().as_deref().unwrap_or("")}),
    );
    loop {
        if STOP.load(Ordering::Relaxed) {
            break;
        }
        match fd.receive_timeout(Duration::from_millis(200)) {
            Ok(None) => {}
            Ok(Some(n)) => match &shared.tracer {
                Some(tracer) => {
                    let e = tracer.handle(&fd, &n);
                    summary.add(&e);
                    let name = e.syscall().unwrap_or_else(|| format!("#{}", e.nr));
                    lines.offer(
                        &shared,
                        state.state().id(),
                        format!(
                            "container={} pid={} {name}: {} by {} ({:?})",
                            state.state().id(),
                            e.tid,
                            e.action,
                            e.decided_by,
                            e.taken
                        ),
                        oci_seccomp_load::trace::event_json(state.state().id(), &e),
                    );
                }
                None => handle(&shared, &state, &fd, &n, &mut lines),
            },
            Err(e) if e.is_target_gone() => {}
            Err(NotifyError::AllTargetsGone) => break,
            Err(e) => {
                tracing::warn!(container = %state.state().id(), error = %e, "notification loop ended");
                break;
            }
        }
    }
    drop(fd);
    lines.finish(&shared, state.state().id());
    if let Some(t) = &shared.tracer {
        emit(
            &shared,
            summary.render(t.mode()),
            summary.to_json(state.state().id()),
        );
    }
    emit(
        &shared,
        format!("container={} finished", state.state().id()),
        json!({"event": "finished", "container": state.state().id()}),
    );
    shared.finished.fetch_add(1, Ordering::SeqCst);
}

fn bind(path: &str, options: &ListenerOptions) -> CliResult<Listener> {
    match Listener::bind_with(path, options.clone()) {
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
                return Listener::bind_with(path, options.clone())
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
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let handler = on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores to an atomic.
        unsafe { libc::signal(sig, handler) };
    }
    let options = ListenerOptions {
        allowed: AllowedPeers::with_extra(a.allow_uid.iter().copied()),
        mode: a.socket_mode,
        group: a.socket_group,
        handshake_timeout: Duration::from_millis(a.handshake_timeout_ms),
    };
    // Before the socket exists: whoever waits for it finds the runtime profile written.
    let tracer = match (&a.profile, a.trace, a.complain) {
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
            Some(Tracer::new(original, &profile, &options, mode))
        }
        (Some(p), false, false) if a.write_runtime_profile.is_some() => {
            let spec = profiles::load_any(p)?;
            if let Some(out) = &a.write_runtime_profile {
                write_runtime_profile(&spec, a.runtime, &a.socket, out)?;
            }
            None
        }
        (Some(_), false, false) => {
            return Err(CliError::usage("--profile needs --trace or --complain"));
        }
        _ => None,
    };
    let listener = bind(&a.socket, &options)?;
    eprintln!(
        "oci-seccomp supervise: listening on {} (serving uids {:?})",
        a.socket,
        options.allowed.uids()
    );
    let shared = Arc::new(Shared {
        policy,
        tracer,
        json: a.json,
        allow_host_root: a.allow_host_root,
        finished: AtomicU64::new(0),
        handshakes: AtomicU64::new(0),
    });
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    // Any local user can connect to an abstract name: each refusal is logged once, at
    // most REFUSALS_LOGGED per REFUSAL_WINDOW, the rest counted.
    let mut refusals = LogRate::new(REFUSALS_LOGGED, REFUSAL_WINDOW, Instant::now());
    // Bad messages of allowed peers (--allow-uid may name a user we do not trust much):
    // the same bound, counted across the connections' threads.
    let bad_messages = Arc::new(std::sync::Mutex::new(LogRate::new(
        REFUSALS_LOGGED,
        REFUSAL_WINDOW,
        Instant::now(),
    )));
    loop {
        if let Some(n) = refusals.tick(Instant::now()) {
            log_suppressed(n, "connection", "refused", &refusals);
        }
        if let Ok(mut rate) = bad_messages.lock() {
            if let Some(n) = rate.tick(Instant::now()) {
                log_suppressed(n, "handoff", "refused for a bad message", &rate);
            }
        }
        if STOP.load(Ordering::Relaxed) {
            break;
        }
        if let Some(max) = a.max_containers {
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
                if !STOP.load(Ordering::Relaxed) {
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
                if !interrupted && refusals.admit(Instant::now()) == LogGate::Log {
                    tracing::warn!("{e}");
                }
                if !matches!(e, NotifyError::PeerRefused { .. }) && !interrupted {
                    // accept itself failed (out of fds, say): the socket stays readable,
                    // so pause instead of spinning on it.
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        let sh = Arc::clone(&shared);
        sh.handshakes.fetch_add(1, Ordering::SeqCst);
        let peer = conn.peer();
        let bad = Arc::clone(&bad_messages);
        let spawned = std::thread::Builder::new()
            .name(format!("runtime-{}", peer.pid))
            .stack_size(256 * 1024)
            .spawn(move || {
                let received = conn.receive();
                sh.handshakes.fetch_sub(1, Ordering::SeqCst);
                match received {
                    Ok((state, fd)) => serve(sh, state, fd),
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
            Ok(t) => threads.push(t),
            Err(e) => {
                shared.handshakes.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!(error = %e, "cannot start a thread for a connection; it is closed")
            }
        }
    }
    STOP.store(true, Ordering::Relaxed);
    if let Some(n) = refusals.finish() {
        log_suppressed(n, "connection", "refused", &refusals);
    }
    for t in threads {
        let _ = t.join();
    }
    if let Ok(mut rate) = bad_messages.lock() {
        if let Some(n) = rate.finish() {
            log_suppressed(n, "handoff", "refused for a bad message", &rate);
        }
    }
    drop(listener);
    Ok(0)
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

    #[test]
    fn answers_parse() {
        assert_eq!(Answer::parse("continue"), Some(Answer::Continue));
        assert_eq!(Answer::parse("errno:EPERM"), Some(Answer::Errno(1)));
        assert_eq!(Answer::parse("errno:38"), Some(Answer::Errno(38)));
        assert_eq!(Answer::parse("value:0"), Some(Answer::Value(0)));
        assert_eq!(Answer::parse("emulate-mkdir"), Some(Answer::EmulateMkdir));
        assert_eq!(Answer::parse("errno:EWHAT"), None);
        assert_eq!(Answer::parse("allow"), None);
    }

    #[test]
    fn policy_parses_and_rejects() {
        let p = Policy::parse(
            "p",
            r#"{"default": "errno:EPERM", "syscalls": {"mkdir": "emulate-mkdir", "chmod": "errno:ENOMEDIUM"}}"#,
        )
        .unwrap();
        assert_eq!(p.default, Answer::Errno(1));
        assert_eq!(p.syscalls["chmod"], Answer::Errno(123));
        assert!(Policy::parse("p", r#"{"default": "nope"}"#).is_err());
        let e = Policy::parse("p", r#"{"other": 1}"#).unwrap_err();
        assert!(
            e.message.contains("\"other\": unknown key"),
            "{}",
            e.message
        );
        let e = Policy::parse("p", r#"{"syscalls": {"mkdir": "allow"}}"#).unwrap_err();
        assert!(
            e.message.contains("\"allow\": not an answer"),
            "{}",
            e.message
        );
        let p = Policy::parse("p", r#"{"syscalls": {"mkdir": "value:0"}}"#).unwrap();
        assert_eq!(p.default, Answer::Continue);
        assert!(Policy::parse("p", "[]").is_err());
        let e = Policy::parse("p", "{\n  \"default\": }").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let p = Policy::parse("p", "{}").unwrap();
        assert!(p.syscalls.is_empty());
    }

    /// Errors name the key, give a position once (syntax only), and speak of answers and
    /// syscalls, never of Rust types.
    #[test]
    fn policy_errors_name_the_key() {
        let msg = |text: &str| Policy::parse("p", text).unwrap_err().message;
        assert_eq!(
            msg(r#"{"syscalls": {"mkdir": "ERRNO:EPERM"}}"#),
            r#"p: syscalls.mkdir: "ERRNO:EPERM": not an answer"#
        );
        let e = msg(r#"{"syscalls": {"mkdir": 1}}"#);
        assert!(
            e.starts_with("p: syscalls.mkdir: expected an answer ("),
            "{e}"
        );
        assert!(e.ends_with("found a number"), "{e}");
        let e = msg(r#"{"syscalls": ["mkdir"]}"#);
        assert!(e.contains("syscalls: expected an object"), "{e}");
        let e = msg(r#""x""#);
        assert!(e.contains("expected a JSON object"), "{e}");
        for e in [e, msg(r#"{"default": null}"#), msg("[1]")] {
            assert!(!e.contains("struct") && !e.contains("invalid type"), "{e}");
            assert!(!e.contains("at line"), "{e}");
        }
        let e = msg(r#"{"syscalls": {"mkdri": "continue"}}"#);
        assert!(e.contains("syscalls.mkdri: unknown syscall on"), "{e}");
        let e = msg(r#"{"syscalls": {"mkdir": "continue", "mkdir": "errno:EPERM"}}"#);
        assert_eq!(e, "p: syscalls.mkdir: given twice");
        let e = msg(r#"{"default": "continue", "default": "errno:EPERM"}"#);
        assert_eq!(e, "p: default: given twice");
        let e = msg("{\"default\": \"continue\",\n}");
        assert_eq!(e.matches("line").count(), 1, "{e}");
    }
}
