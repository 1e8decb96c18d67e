//! The agent of trace, complain and record mode: answers each routed notification as the
//! profile would have, and reports it with the rule that decided it.
//!
//! The filter installed is [`oci_seccomp::trace::route_denials`] of the profile's proven
//! program: calls the profile allows never leave the kernel; every call it denies arrives
//! here as a notification. For each one the [`Tracer`]
//!
//! 1. runs the **original** program on the notification's `seccomp_data` (the exact
//!    action the kernel would have taken: same instructions, so no approximation), and asks
//!    [`oci_seccomp::Profile::decide`] which entry decided it (`syscalls[i]`,
//!    `defaultAction`, the ENOSYS stub, an architecture not in the profile);
//! 2. answers by [`Mode`]: in **trace** mode as the kernel would have — `ERRNO(e)` fails the
//!    call with `e`; `TRACE` fails it with `ENOSYS`, as the kernel does when no tracer is
//!    attached; `KILL_PROCESS` and `KILL_THREAD` kill the process with `SIGKILL` (user
//!    space can end a process, not one thread of it, and cannot make the kernel's `SIGSYS`
//!    exit status) — in **complain** and **record** mode it lets the call run (`CONTINUE`);
//! 3. hands an [`Event`] to the caller's sink (one JSON line, a summary, a recorder).
//!
//! Argument values in an event are the registers the kernel saw. Memory they point at is
//! never read here: anything read from the target's memory could change after the read,
//! so it could only ever be a report, never a decision.
//!
//! In complain and record mode the workload runs unconfined by the profile: every call the
//! profile denies is let through, as with a `SCMP_ACT_LOG` default.
//!
//! [`Agent`] puts it together in the launcher's own process: the routed filter, and a
//! thread that serves its notify fd with a [`Tracer`].

use std::time::{SystemTime, UNIX_EPOCH};

use oci_seccomp::{Action, Profile, Program, SeccompData};
use oci_seccomp::{Cause, Semantics};

use crate::error::NotifyError;
use crate::notify::{Notification, NotifyFd};

mod agent;

pub use agent::{Agent, AgentError};

/// What the agent does with the calls the profile denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Enforce the profile exactly (see the module docs for KILL and TRACE) and report.
    Trace,
    /// Report, and let every call run.
    Complain,
    /// Let every call run, except that a call an entry of the profile answers with
    /// `ENOSYS` gets `ENOSYS` (callers fall back, as they will under the recorded
    /// profile); the events are what a recorder learns from.
    Record,
}

/// What the agent did with one notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Taken {
    /// The call failed with this errno (`0`: it returned 0 without running).
    Errno(i32),
    /// The process was killed (`SIGKILL`).
    Killed,
    /// The call ran (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`).
    Continued,
    /// The target was gone (killed, or interrupted out of the call) before the answer.
    Gone,
}

/// One call the profile does not allow, as the agent saw and answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// When the notification was read.
    pub time: SystemTime,
    /// The target's process (thread group) id in the agent's pid namespace, when it could
    /// be read before the target went away.
    pub pid: Option<i32>,
    /// The target thread, in the agent's pid namespace.
    pub tid: u32,
    /// The thread's `comm` (empty when it could not be read).
    pub comm: String,
    /// `seccomp_data.arch`, an `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// `seccomp_data.nr` (x32 numbers carry bit 30).
    pub nr: i32,
    /// The six arguments, as the kernel saw the registers.
    pub args: [u64; 6],
    /// What the profile decides: the original program's action.
    pub action: Action,
    /// Which part of the profile decided it.
    pub decided_by: Cause,
    /// What the agent did.
    pub taken: Taken,
}

impl Event {
    /// The architecture's libseccomp name (`SCMP_ARCH_X86_64`), when known.
    pub fn arch_name(&self) -> Option<&'static str> {
        self.arch_info().map(|a| a.name)
    }

    /// The syscall's name for its ABI (`None` for a number libseccomp does not know).
    pub fn syscall(&self) -> Option<String> {
        oci_seccomp::arch::syscall_name(self.nr, self.arch_info()?)
    }

    fn arch_info(&self) -> Option<&'static oci_seccomp::arch::ArchInfo> {
        // Bit 30 marks x32 only on a real number: -1 has every bit set.
        let x32 = self.nr >= 0 && self.nr & 0x4000_0000 != 0;
        oci_seccomp::arch::ALL
            .iter()
            .find(|a| a.audit_arch == self.arch && a.x32 == x32)
            .or_else(|| {
                oci_seccomp::arch::ALL
                    .iter()
                    .find(|a| a.audit_arch == self.arch)
            })
    }
}

/// `time` as RFC 3339 in UTC with microseconds, for example `2026-11-30T12:04:15.123456Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let d = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The OCI name of an action (`SCMP_ACT_ERRNO`), without its data.
fn action_name(a: Action) -> &'static str {
    match a {
        Action::KillProcess => "SCMP_ACT_KILL_PROCESS",
        Action::KillThread => "SCMP_ACT_KILL_THREAD",
        Action::Trap(_) => "SCMP_ACT_TRAP",
        Action::Errno(_) => "SCMP_ACT_ERRNO",
        Action::Notify => "SCMP_ACT_NOTIFY",
        Action::Trace(_) => "SCMP_ACT_TRACE",
        Action::Log => "SCMP_ACT_LOG",
        Action::Allow => "SCMP_ACT_ALLOW",
    }
}

fn taken_name(t: Taken) -> &'static str {
    match t {
        Taken::Errno(_) => "errno",
        Taken::Killed => "killed",
        Taken::Continued => "continued",
        _ => "gone",
    }
}

/// One event as a JSON object: the line `oci-seccomp run --trace --report` and
/// `supervise --trace --json` write. Keys: `time` (RFC 3339, UTC, microseconds),
/// `container`, `pid`, `tid`, `comm`, `arch` (libseccomp name), `syscall`, `nr`, `args`
/// (six numbers), `action` (the profile's, OCI name) with `errnoRet` (its data), `decidedBy`
/// (`syscalls[i]`, `defaultAction`, ...), `taken` (`errno`, `killed`, `continued`,
/// `gone`) with `errno` when an errno was returned.
pub fn event_json(container: &str, e: &Event) -> serde_json::Value {
    use serde_json::json;
    let mut v = json!({
        "time": rfc3339(e.time),
        "container": container,
        "pid": e.pid,
        "tid": e.tid,
        "comm": e.comm,
        "arch": e.arch_name(),
        "syscall": e.syscall(),
        "nr": e.nr,
        "args": e.args,
        "action": action_name(e.action),
        "decidedBy": e.decided_by.to_string(),
        "taken": taken_name(e.taken),
    });
    match e.action {
        Action::Errno(n) | Action::Trace(n) | Action::Trap(n) => {
            v["errnoRet"] = json!(n);
        }
        _ => {}
    }
    if let Taken::Errno(n) = e.taken {
        v["errno"] = json!(n);
    }
    v
}

/// How much a trace report may hold: a workload that loops on a denied call must not make
/// the agent (often root) write without bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportLimits {
    /// Identical events (everything but `time`, `pid` and `tid` alike) written one line
    /// each before they are counted instead; the count is written after twice as many,
    /// then at each doubling, and at the end.
    pub repeats: u64,
    /// Largest report in bytes. The line that would pass it is replaced by one
    /// `{"truncated": ...}` line, and later events are only counted.
    pub max_bytes: u64,
}

/// [`ReportLimits::repeats`] by default.
pub const DEFAULT_REPORT_REPEATS: u64 = 8;
/// [`ReportLimits::max_bytes`] by default: 16 MiB.
pub const DEFAULT_REPORT_MAX_BYTES: u64 = 16 << 20;
/// Room kept for the `truncated` line (and never counted against a smaller limit).
const TRUNCATED_RESERVE: u64 = 256;
/// Distinct events whose repeats are counted; others are written (within the size
/// limit) but not counted, so the table's memory stays bounded.
const MAX_TRACKED: usize = 16_384;

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            repeats: DEFAULT_REPORT_REPEATS,
            max_bytes: DEFAULT_REPORT_MAX_BYTES,
        }
    }
}

impl ReportLimits {
    /// The default limits with `max_bytes`.
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The default limits with `repeats`.
    #[must_use]
    pub fn with_repeats(mut self, repeats: u64) -> Self {
        self.repeats = repeats;
        self
    }
}

/// What a [`Report`] did with the events it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportStats {
    /// Events given, every one.
    pub events: u64,
    /// Events written as a line of their own.
    pub written: u64,
    /// Events counted in a `repeated` line instead of a line of their own.
    pub repeats: u64,
    /// Events after the size limit, neither written nor in a `repeated` line.
    pub after_limit: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Whether the report reached its size limit.
    pub truncated: bool,
}

/// Counts of one kind of event.
struct Seen {
    count: u64,
    /// The count at which the next `repeated` line is written.
    next: u64,
    /// The count the last `repeated` line gave (0: none yet).
    reported: u64,
    /// The latest event, as the `repeated` line shows it.
    last: Event,
}

/// What makes two events alike for [`Report`]: everything but `time`, `pid` and `tid`
/// (the rest of a line, `arch`'s name, `syscall`, `errnoRet` and `errno`, follows from
/// these). Hashed as it is, so that an event costs no JSON unless it is written.
#[derive(Debug, PartialEq, Eq, Hash)]
struct EventKind {
    comm: String,
    arch: u32,
    nr: i32,
    args: [u64; 6],
    action: Action,
    decided_by: Cause,
    taken: Taken,
}

impl EventKind {
    fn of(e: &Event) -> Self {
        Self {
            comm: e.comm.clone(),
            arch: e.arch,
            nr: e.nr,
            args: e.args,
            action: e.action,
            decided_by: e.decided_by.clone(),
            taken: e.taken,
        }
    }
}

/// A trace report: one JSON line per event ([`event_json`]), within [`ReportLimits`].
///
/// Identical events after the first [`ReportLimits::repeats`] are counted: a
/// `{"repeated": N, ...}` line (the latest such event, with `N` the number of such calls
/// so far) is written when the count doubles, and at [`Report::finish`]. A line that
/// would take the report past [`ReportLimits::max_bytes`] is replaced by one
/// `{"truncated": true, ...}` line, after which events are only counted
/// ([`ReportStats`]): whatever the workload does, the report stays within its limit, and
/// the caller's summary can still count every call.
pub struct Report<W: std::io::Write> {
    out: W,
    container: String,
    limits: ReportLimits,
    seen: std::collections::HashMap<EventKind, Seen>,
    stats: ReportStats,
}

impl<W: std::io::Write> std::fmt::Debug for Report<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("container", &self.container)
            .field("limits", &self.limits)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<W: std::io::Write> Report<W> {
    /// A report of container `container`'s events to `out`.
    pub fn new(out: W, container: impl Into<String>, limits: ReportLimits) -> Self {
        Self {
            out,
            container: container.into(),
            limits,
            seen: std::collections::HashMap::new(),
            stats: ReportStats::default(),
        }
    }

    /// What the report did so far.
    pub fn stats(&self) -> ReportStats {
        self.stats
    }

    /// Writes `e` as a line, or counts it (see [`Report`]).
    ///
    /// # Errors
    ///
    /// A failed write.
    pub fn record(&mut self, e: &Event) -> std::io::Result<()> {
        self.stats.events += 1;
        if self.stats.truncated {
            self.stats.after_limit += 1;
            return Ok(());
        }
        let key = EventKind::of(e);
        let repeats = self.limits.repeats;
        let tracked = self.seen.len() < MAX_TRACKED || self.seen.contains_key(&key);
        if !tracked {
            return self.write_event(&event_json(&self.container, e));
        }
        let seen = self.seen.entry(key).or_insert(Seen {
            count: 0,
            next: repeats.saturating_mul(2).max(1),
            reported: 0,
            last: e.clone(),
        });
        seen.count += 1;
        if seen.count <= repeats {
            return self.write_event(&event_json(&self.container, e));
        }
        self.stats.repeats += 1;
        let repeated = (seen.count >= seen.next).then(|| {
            seen.next = seen.next.saturating_mul(2);
            seen.reported = seen.count;
            seen.count
        });
        // Alike in all but these.
        (seen.last.time, seen.last.pid, seen.last.tid) = (e.time, e.pid, e.tid);
        if let Some(count) = repeated {
            let line = with_count(&event_json(&self.container, e), count);
            self.write_line(&line)?;
        }
        Ok(())
    }

    /// Writes the counts not written yet (one `repeated` line per kind of event repeated
    /// since its last one) and returns what the report did.
    ///
    /// # Errors
    ///
    /// A failed write or flush.
    pub fn finish(mut self) -> std::io::Result<ReportStats> {
        let mut pending: Vec<serde_json::Value> = self
            .seen
            .values()
            .filter(|s| s.count > self.limits.repeats && s.count > s.reported)
            .map(|s| with_count(&event_json(&self.container, &s.last), s.count))
            .collect();
        // In the order of the calls' times: the report reads as a log.
        pending.sort_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()));
        for line in &pending {
            if !self.write_line(line)? {
                break;
            }
        }
        self.out.flush()?;
        Ok(self.stats)
    }

    /// Writes one event's line (counted in `written`), or counts it past the limit.
    fn write_event(&mut self, line: &serde_json::Value) -> std::io::Result<()> {
        if self.write_line(line)? {
            self.stats.written += 1;
        } else {
            self.stats.after_limit += 1;
        }
        Ok(())
    }

    /// Writes `line` if it fits: false when it did not (the `truncated` line is then
    /// written instead, once).
    fn write_line(&mut self, line: &serde_json::Value) -> std::io::Result<bool> {
        if self.stats.truncated {
            return Ok(false);
        }
        let mut text = line.to_string();
        text.push('\n');
        let room = self.limits.max_bytes.saturating_sub(TRUNCATED_RESERVE);
        if self.stats.bytes + text.len() as u64 > room {
            self.stats.truncated = true;
            let mut marker = serde_json::json!({
                "truncated": true,
                "container": self.container,
                "maxBytes": self.limits.max_bytes,
                "reason": "the report reached its size limit: later calls are counted in the summary only",
            })
            .to_string();
            marker.push('\n');
            if self.stats.bytes + marker.len() as u64 <= self.limits.max_bytes {
                self.out.write_all(marker.as_bytes())?;
                self.stats.bytes += marker.len() as u64;
            }
            return Ok(false);
        }
        self.out.write_all(text.as_bytes())?;
        self.stats.bytes += text.len() as u64;
        Ok(true)
    }
}

/// `line` with `"repeated": count`.
fn with_count(line: &serde_json::Value, count: u64) -> serde_json::Value {
    let mut v = line.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("repeated".into(), count.into());
    }
    v
}

/// The agent's decision procedure: the original program and the profile's semantics.
#[derive(Debug)]
pub struct Tracer {
    original: Program,
    semantics: Semantics,
    mode: Mode,
    identities: Identities,
}

impl Tracer {
    /// A tracer for `original`, the program compiled (and proven) from `profile` with
    /// `options`, whose [`route_denials`](oci_seccomp::trace::route_denials) is the filter
    /// installed. Builds the profile's semantics once, so that each event costs a simulation
    /// and a lookup, not a compile.
    pub fn new(
        original: Program,
        profile: &Profile,
        options: &oci_seccomp::CompileOptions,
        mode: Mode,
    ) -> Self {
        Self {
            semantics: Semantics::new(profile, options.stub),
            original,
            mode,
            identities: Identities::default(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the profile decides for `n` and which part decided: the original program's
    /// action (exact), and the cause the profile gives for that action.
    pub fn decide(&self, n: &Notification) -> (Action, Cause) {
        let data = SeccompData {
            nr: n.nr,
            arch: n.arch,
            instruction_pointer: n.instruction_pointer,
            args: n.args,
        };
        // A proven program always runs to a RET; if it ever did not, kill (fail closed).
        let action = oci_seccomp::bpf::run(self.original.instructions(), &data)
            .map_or(Action::KillProcess, |d| d.action);
        let verdict = self.semantics.decide(n.arch, n.nr as u32, n.args);
        let cause = verdict
            .outcomes
            .iter()
            .find(|(a, _)| *a == action)
            .or(verdict.outcomes.first())
            .map_or(Cause::Default, |(_, c)| c.clone());
        (action, cause)
    }

    /// Answers one notification (see the module docs) and returns what happened.
    pub fn handle(&self, fd: &NotifyFd, n: &Notification) -> Event {
        let (action, decided_by) = self.decide(n);
        let time = SystemTime::now();
        // Read before answering: only the notification still pending afterwards vouches
        // for what was read (the number may have been reused, or taken over by a
        // non-leader thread's `exec`, [`Identities`]). The answer is that check: the
        // kernel takes it only while the notification is pending (and `kill_target`
        // checks before it kills), so an event whose answer was delivered names the
        // thread that made the call, and one whose target was gone names nobody.
        let id = self.identities.of(n.pid);
        let pid = id.tgid;
        let taken = match self.mode {
            Mode::Complain => answered(fd.respond_continue(n.id), Taken::Continued),
            // ENOSYS says "not here": C libraries fall back (glibc from clone3 to clone),
            // and the recording must see the fallback that the recorded profile will get.
            // An entry's ENOSYS only: the stub's (a number above every name the profile
            // has) is a call to learn, which then is named and leaves the stub's range.
            Mode::Record
                if action == Action::Errno(libc::ENOSYS as u16)
                    && matches!(decided_by, Cause::Entry(_)) =>
            {
                answered(
                    fd.respond_errno(n.id, libc::ENOSYS),
                    Taken::Errno(libc::ENOSYS),
                )
            }
            Mode::Record => answered(fd.respond_continue(n.id), Taken::Continued),
            Mode::Trace => match action {
                Action::Errno(0) => answered(fd.respond_value(n.id, 0), Taken::Errno(0)),
                Action::Errno(e) => {
                    answered(fd.respond_errno(n.id, i32::from(e)), Taken::Errno(e.into()))
                }
                // No tracer is attached: the kernel fails the call with ENOSYS.
                Action::Trace(_) => answered(
                    fd.respond_errno(n.id, libc::ENOSYS),
                    Taken::Errno(libc::ENOSYS),
                ),
                Action::Allow | Action::Log => {
                    answered(fd.respond_continue(n.id), Taken::Continued)
                }
                // KILL (and anything a routed program cannot return): end the process.
                _ => kill_target(fd, n, pid),
            },
        };
        let (pid, comm) = match taken {
            Taken::Gone => (None, String::new()),
            _ if id.vouched => (id.tgid, id.comm),
            _ => {
                let seen = (id.tgid, id.comm.clone());
                self.identities.remember(n.pid, id);
                seen
            }
        };
        Event {
            time,
            pid,
            tid: n.pid,
            comm,
            arch: n.arch,
            nr: n.nr,
            args: n.args,
            action,
            decided_by,
            taken,
        }
    }

    /// Receives and answers notifications until no process uses the filter any more,
    /// handing each [`Event`] to `sink`: [`NotifyFd::serve_each`]'s loop (sync wake-up
    /// where the kernel has it) with [`Tracer::handle`].
    ///
    /// # Errors
    ///
    /// As [`NotifyFd::serve_each`].
    pub fn serve(&self, fd: &NotifyFd, mut sink: impl FnMut(Event)) -> Result<(), NotifyError> {
        fd.serve_each(|n| {
            sink(self.handle(fd, n));
            std::ops::ControlFlow::Continue(())
        })
    }
}

fn answered(r: Result<(), NotifyError>, taken: Taken) -> Taken {
    match r {
        Ok(()) => taken,
        Err(_) => Taken::Gone,
    }
}

/// The threads seen: each one's `/proc/TID/comm` kept open with its thread group, so that
/// an event from a known thread costs one `pread` instead of opening and reading files
/// under `/proc` (about 10 µs, most of an event's cost).
///
/// The open file is bound to the kernel's `struct pid` of the number, not to the number:
/// once the thread has exited, reading it fails (`ESRCH`, `fs/proc/base.c`), even when the
/// number names another thread by then. The one exception is `exec` in a non-leader
/// thread, which takes over the leader's `struct pid` (and so the leader's open files)
/// before it ends the leader; the thread group stays the same. So every read, a known
/// thread's included, is vouched for by the answer that follows it: the kernel takes an
/// answer only while the notification is pending ([`Tracer::handle`]), so the thread that
/// made the call was alive after the read, and the read was of that thread. A thread seen
/// for the first time is read from `/proc` and kept only after the same check
/// ([`Identities::remember`]).
#[derive(Debug, Default)]
struct Identities(std::sync::Mutex<std::collections::HashMap<u32, Known>>);

/// A thread seen before.
#[derive(Debug)]
struct Known {
    comm: std::os::fd::OwnedFd,
    tgid: Option<i32>,
}

/// Threads kept at most (one open file each, well below the usual 1024 open files); the
/// table starts over beyond.
const MAX_IDENTITIES: usize = 256;

/// What [`Identities::of`] read of a thread.
struct Identity {
    tgid: Option<i32>,
    comm: String,
    /// The `comm` file opened now for a thread seen for the first time, for
    /// [`Identities::remember`] once the answer vouched for it; `None` otherwise.
    fresh: Option<std::os::fd::OwnedFd>,
    /// Read through the file kept for a known thread (nothing to remember).
    vouched: bool,
}

/// `comm` read from an open `/proc/TID/comm`: `None` once the thread is gone.
fn read_comm(fd: &std::os::fd::OwnedFd) -> Option<String> {
    let mut buf = [0u8; 64];
    let n = rustix::io::pread(fd, &mut buf, 0).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    Some(text.trim_end_matches('\n').to_string())
}

impl Identities {
    /// The thread group and `comm` of thread `tid` (best effort).
    fn of(&self, tid: u32) -> Identity {
        if let Ok(mut known) = self.0.lock() {
            if let Some(k) = known.get(&tid) {
                if let Some(comm) = read_comm(&k.comm) {
                    return Identity {
                        tgid: k.tgid,
                        comm,
                        fresh: None,
                        vouched: true,
                    };
                }
                // Gone: the number is another thread's now, or nobody's.
                known.remove(&tid);
            }
        }
        let file = rustix::fs::open(
            format!("/proc/{tid}/comm"),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok();
        let comm = file.as_ref().and_then(read_comm).unwrap_or_default();
        let tgid = std::fs::read_to_string(format!("/proc/{tid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Tgid:"))
                    .and_then(|v| v.trim().parse::<i32>().ok())
            });
        Identity {
            tgid,
            comm,
            fresh: file,
            vouched: false,
        }
    }

    /// Keeps `id`'s open file for `tid`, read while its notification was still valid.
    fn remember(&self, tid: u32, id: Identity) {
        if let (Some(comm), Ok(mut known)) = (id.fresh, self.0.lock()) {
            if known.len() >= MAX_IDENTITIES {
                known.clear();
            }
            known.insert(
                tid,
                Known {
                    comm,
                    tgid: id.tgid,
                },
            );
        }
    }
}

/// Kills the target's process: a pidfd first, then a check that the notification is still
/// pending (so the pidfd names the process that made the call, not a reused pid), then
/// `SIGKILL` through the pidfd.
fn kill_target(fd: &NotifyFd, n: &Notification, tgid: Option<i32>) -> Taken {
    let Some(pid) = tgid
        .filter(|&t| t > 0)
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Taken::Gone;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return Taken::Gone;
    };
    if !fd.id_valid(n.id) {
        return Taken::Gone;
    }
    match rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL) {
        Ok(()) => Taken::Killed,
        Err(_) => Taken::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn event(arg: u64) -> Event {
        Event {
            time: UNIX_EPOCH,
            pid: Some(7),
            tid: 7,
            comm: "loop".into(),
            arch: oci_seccomp::arch::AUDIT_ARCH_X86_64,
            nr: 110,
            args: [arg, 0, 0, 0, 0, 0],
            action: Action::Errno(1),
            decided_by: Cause::Default,
            taken: Taken::Errno(1),
        }
    }

    fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn identical_events_are_counted_after_the_first_few() {
        let mut out = Vec::new();
        let mut r = Report::new(&mut out, "c", ReportLimits::default());
        for _ in 0..100 {
            r.record(&event(0)).unwrap();
        }
        let stats = r.finish().unwrap();
        let all = lines(&out);
        let counts: Vec<u64> = all.iter().filter_map(|l| l["repeated"].as_u64()).collect();
        assert_eq!(all.len() - counts.len(), 8);
        assert_eq!(counts, [16, 32, 64, 100]);
        assert_eq!((stats.events, stats.written, stats.repeats), (100, 8, 92));
        assert_eq!(stats.bytes, out.len() as u64);
    }

    #[test]
    fn the_report_stops_at_its_size_limit() {
        let mut out = Vec::new();
        let limits = ReportLimits::default().with_max_bytes(4096);
        let mut r = Report::new(&mut out, "c", limits);
        for i in 0..1000 {
            r.record(&event(i)).unwrap();
        }
        let stats = r.finish().unwrap();
        assert!(out.len() <= 4096, "{}", out.len());
        let all = lines(&out);
        assert_eq!(all.last().unwrap()["truncated"], true);
        assert!(stats.truncated);
        assert_eq!(stats.written + stats.after_limit, 1000);
        assert_eq!(stats.written as usize, all.len() - 1);
    }

    #[test]
    fn rfc3339_of_known_instants() {
        let at = |s: u64, us: u32| UNIX_EPOCH + std::time::Duration::new(s, us * 1000);
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(at(951_782_400, 5)), "2000-02-29T00:00:00.000005Z");
        assert_eq!(rfc3339(at(1_796_083_199, 0)), "2026-11-30T23:59:59.000000Z");
    }
}
