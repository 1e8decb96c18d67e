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
//! The mkdir emulation resolves the target's path with `openat2(RESOLVE_IN_ROOT)` under
//! `/proc/PID/root` (absolute paths) or `/proc/PID/cwd` (relative ones), so a container
//! cannot make the agent create directories outside its own root through symlinks.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oci_seccomp_load::{ContainerProcessState, Listener, Notification, NotifyError, NotifyFd};
use serde_json::json;

use crate::util;
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
}

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
            return util::parse_errno(e).map(Self::Errno);
        }
        if let Some(v) = t.strip_prefix("value:") {
            return v.trim().parse().ok().map(Self::Value);
        }
        None
    }

    fn describe(&self) -> String {
        match self {
            Self::Continue => "continue".into(),
            Self::Errno(e) => format!("errno {}", util::errno_name(*e).unwrap_or("?")),
            Self::Value(v) => format!("value {v}"),
            Self::EmulateMkdir => "emulate-mkdir".into(),
        }
    }
}

/// The answers per syscall name.
#[derive(Clone, Debug)]
pub struct Policy {
    default: Answer,
    syscalls: HashMap<String, Answer>,
}

impl Policy {
    /// Parses a policy file's text.
    pub fn parse(name: &str, text: &str) -> CliResult<Self> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            CliError::problem(format!(
                "{name}: line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| CliError::problem(format!("{name}: expected a JSON object")))?;
        let bad = |path: &str, val: &serde_json::Value| {
            CliError::problem(format!("{name}: {path}: {val}: not an answer"))
                .hint("use continue, errno:EPERM, errno:38, value:0 or emulate-mkdir")
        };
        let mut policy = Policy {
            default: Answer::Continue,
            syscalls: HashMap::new(),
        };
        for (k, val) in obj {
            match k.as_str() {
                "default" => {
                    policy.default = val
                        .as_str()
                        .and_then(Answer::parse)
                        .ok_or_else(|| bad("default", val))?
                }
                "syscalls" => {
                    let m = val.as_object().ok_or_else(|| {
                        CliError::problem(format!("{name}: syscalls: expected an object"))
                    })?;
                    for (sys, a) in m {
                        let ans = a
                            .as_str()
                            .and_then(Answer::parse)
                            .ok_or_else(|| bad(&format!("syscalls.{sys}"), a))?;
                        policy.syscalls.insert(sys.clone(), ans);
                    }
                }
                other => {
                    return Err(CliError::problem(format!("{name}: {other}: unknown key"))
                        .hint("a policy has \"default\" and \"syscalls\""))
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
    json: bool,
    finished: AtomicU64,
}

fn emit(shared: &Shared, text: String, value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let line = if shared.json { value.to_string() } else { text };
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The kernel's `struct open_how` (openat2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Creates `<path>-<metadata>` for the target of `n` (mkdir or mkdirat).
fn emulate_mkdir(
    fd: &NotifyFd,
    n: &Notification,
    name: &str,
    metadata: &str,
) -> Result<String, i32> {
    let (path_idx, mode_idx, dirfd) = match name {
        "mkdir" => (0, 1, libc::AT_FDCWD),
        "mkdirat" => (1, 2, n.args[0] as i32),
        _ => return Err(libc::ENOSYS),
    };
    let path = fd.read_string_arg(n, path_idx, 4096).map_err(|e| match e {
        NotifyError::TargetGone { .. } => libc::ENOENT,
        NotifyError::StringTooLong { .. } => libc::ENAMETOOLONG,
        _ => libc::EFAULT,
    })?;
    let mut new = path.as_bytes().to_vec();
    while new.len() > 1 && new.ends_with(b"/") {
        new.pop();
    }
    if !metadata.is_empty() {
        new.push(b'-');
        new.extend_from_slice(metadata.as_bytes());
    }
    let absolute = new.first() == Some(&b'/');
    let base = if absolute {
        format!("/proc/{}/root", n.pid)
    } else if dirfd == libc::AT_FDCWD {
        format!("/proc/{}/cwd", n.pid)
    } else {
        format!("/proc/{}/fd/{dirfd}", n.pid)
    };
    let base = std::fs::File::open(&base).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    let (parent, leaf) = match new.iter().rposition(|&b| b == b'/') {
        Some(i) => (new[..i].to_vec(), new[i + 1..].to_vec()),
        None => (Vec::new(), new.clone()),
    };
    if leaf.is_empty() || leaf == b"." || leaf == b".." {
        return Err(libc::EEXIST);
    }
    let parent = if parent.is_empty() {
        b".".to_vec()
    } else {
        parent
    };
    let parent_c = CString::new(parent).map_err(|_| libc::EINVAL)?;
    let leaf_c = CString::new(leaf).map_err(|_| libc::EINVAL)?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: valid dirfd, C string and open_how of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            base.as_raw_fd(),
            parent_c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    // SAFETY: openat2 returned a new fd that we own.
    let parent_fd = unsafe { OwnedFd::from_raw_fd(rc as i32) };
    // The target still waits (its pid was not reused) before we act for it.
    if !fd.id_valid(n.id) {
        return Err(libc::ENOENT);
    }
    let mode = (n.args[mode_idx] & 0o7777) as libc::mode_t;
    // SAFETY: valid dirfd and C string.
    if unsafe { libc::mkdirat(parent_fd.as_raw_fd(), leaf_c.as_ptr(), mode) } != 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    Ok(String::from_utf8_lossy(&new).into_owned())
}

fn handle(shared: &Shared, state: &ContainerProcessState, fd: &NotifyFd, n: &Notification) {
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
        Answer::EmulateMkdir => match emulate_mkdir(fd, n, &name, &state.metadata) {
            Ok(created) => (fd.respond_value(n.id, 0), format!("created {created}")),
            Err(e) => (
                fd.respond_errno(n.id, e),
                format!("failed: {}", util::errno_name(e).unwrap_or("?")),
            ),
        },
    };
    let outcome = match &result {
        Ok(()) => "answered".to_string(),
        Err(e) if e.is_target_gone() => "target gone".to_string(),
        Err(e) => format!("answer failed: {e}"),
    };
    let text = format!(
        "container={} pid={} syscall={name}({}) -> {}{}{} [{outcome}]",
        state.state.id,
        n.pid,
        args.join(", "),
        answer.describe(),
        if detail.is_empty() { "" } else { ": " },
        detail
    );
    let value = json!({
        "container": state.state.id, "pid": n.pid, "syscall": name, "nr": n.nr,
        "arch": format!("{:#x}", n.arch), "args": args, "answer": answer.describe(),
        "detail": detail, "outcome": outcome, "metadata": state.metadata,
    });
    emit(shared, text, value);
}

fn serve(shared: Arc<Shared>, state: ContainerProcessState, fd: NotifyFd) {
    if let Err(e) = fd.set_sync_wakeup() {
        tracing::debug!(error = %e, "sync wake-up not available");
    }
    emit(
        &shared,
        format!(
            "container={} pid={} connected (metadata {:?}, status {:?})",
            state.state.id, state.pid, state.metadata, state.state.status
        ),
        json!({"event": "connected", "container": state.state.id, "pid": state.pid, "metadata": state.metadata}),
    );
    loop {
        if STOP.load(Ordering::Relaxed) {
            break;
        }
        match fd.receive_timeout(Duration::from_millis(200)) {
            Ok(None) => {}
            Ok(Some(n)) => handle(&shared, &state, &fd, &n),
            Err(e) if e.is_target_gone() => {}
            Err(NotifyError::AllTargetsGone) => break,
            Err(e) => {
                tracing::warn!(container = %state.state.id, error = %e, "notification loop ended");
                break;
            }
        }
    }
    drop(fd);
    emit(
        &shared,
        format!("container={} finished", state.state.id),
        json!({"event": "finished", "container": state.state.id}),
    );
    shared.finished.fetch_add(1, Ordering::SeqCst);
}

fn bind(path: &str) -> CliResult<Listener> {
    match Listener::bind(path) {
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
                return Listener::bind(path)
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
            let text = util::read_input(&name)?;
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
    let listener = bind(&a.socket)?;
    eprintln!("oci-seccomp supervise: listening on {}", a.socket);
    let shared = Arc::new(Shared {
        policy,
        json: a.json,
        finished: AtomicU64::new(0),
    });
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    loop {
        if STOP.load(Ordering::Relaxed) {
            break;
        }
        if let Some(max) = a.max_containers {
            if shared.finished.load(Ordering::SeqCst) >= max {
                break;
            }
        }
        threads.retain(|t| !t.is_finished());
        match listener.accept_timeout(Duration::from_millis(100)) {
            Ok(None) => {}
            Ok(Some((state, fd))) => {
                let sh = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name(format!("notify-{}", state.pid))
                    .stack_size(256 * 1024)
                    .spawn(move || serve(sh, state, fd));
                match spawned {
                    Ok(t) => threads.push(t),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot start a thread for a container; its notify fd is closed")
                    }
                }
            }
            Err(e) => {
                if STOP.load(Ordering::Relaxed) {
                    break;
                }
                if !matches!(&e, NotifyError::Io { source, .. } if source.kind() == std::io::ErrorKind::Interrupted)
                {
                    tracing::warn!(error = %e, "handoff refused");
                }
            }
        }
    }
    STOP.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    drop(listener);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Policy::parse("p", r#"{"other": 1}"#).is_err());
        let e = Policy::parse("p", "{\n  \"default\": }").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
    }
}
