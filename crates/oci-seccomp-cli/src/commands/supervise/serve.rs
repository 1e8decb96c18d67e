//! `supervise`'s side of one container: its notifications answered per policy (or by the
//! tracer), each one a line (text or JSON), bounded in number and bytes.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oci_seccomp_load::emulate::{mkdir_for_target, MkdirOptions};
use oci_seccomp_load::trace::Tracer;
use oci_seccomp_load::{ContainerProcessState, Notification, NotifyError, NotifyFd};
use serde_json::json;

use super::policy::{Answer, Policy};
use crate::names;

/// Set by SIGINT and SIGTERM (or [`stop`]): every loop of the agent ends.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_sig: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM stop the agent (see [`stopped`]).
pub(super) fn stop_on_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // Cannot fail: SIGINT and SIGTERM can be caught.
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { crate::sys::set_signal_handler(sig, on_stop) };
    }
}

/// Whether the agent was told to stop.
pub(super) fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Tells every container's loop to end.
pub(super) fn stop() {
    STOP.store(true, Ordering::Relaxed);
}

/// What every container's thread shares: how to answer, how to print, the counts.
pub(super) struct Shared {
    policy: Policy,
    /// --trace / --complain: the tracer of the profile.
    tracer: Option<Tracer>,
    json: bool,
    allow_host_root: bool,
    /// Containers served to the end.
    pub(super) finished: AtomicU64,
    /// Runtime messages being read.
    pub(super) handshakes: AtomicU64,
}

impl Shared {
    /// Nothing served or read yet.
    pub(super) fn new(
        policy: Policy,
        tracer: Option<Tracer>,
        json: bool,
        allow_host_root: bool,
    ) -> Self {
        Self {
            policy,
            tracer,
            json,
            allow_host_root,
            finished: AtomicU64::new(0),
            handshakes: AtomicU64::new(0),
        }
    }
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

/// Serves one container's notify fd until every process using the filter is gone (or the
/// agent stops), then prints its summary.
pub(super) fn serve(shared: Arc<Shared>, state: ContainerProcessState, fd: NotifyFd) {
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
        if stopped() {
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
