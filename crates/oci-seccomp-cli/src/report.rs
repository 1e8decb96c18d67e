//! Reports of trace and complain mode: one JSON line per denied call, and a summary with
//! the smallest profile change that would allow what was denied.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use oci_seccomp::prove::Cause;
use oci_seccomp::Action;
use oci_seccomp_load::trace::{Event, Mode, Taken};
use serde_json::json;

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

/// One event as a JSON object (one line of `--report`).
pub fn event_json(container: &str, e: &Event) -> serde_json::Value {
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

/// Counts per (syscall, deciding cause, action), and what to change in the profile.
#[derive(Debug, Default)]
pub struct Summary {
    counts: BTreeMap<(String, String, String), u64>,
    /// Syscalls the default action denied, per architecture name.
    by_default: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Entries that denied, with the syscalls they denied.
    by_entry: BTreeMap<usize, std::collections::BTreeSet<String>>,
    /// Syscalls newer than the profile (the ENOSYS stub).
    by_stub: std::collections::BTreeSet<String>,
    /// Architectures not in the profile.
    bad_arches: std::collections::BTreeSet<String>,
    /// Multiplexed calls: (entry, syscall).
    multiplexed: std::collections::BTreeSet<(usize, String)>,
    total: u64,
}

impl Summary {
    /// Counts `e`.
    pub fn add(&mut self, e: &Event) {
        let name = e.syscall().unwrap_or_else(|| format!("#{}", e.nr));
        let arch = e.arch_name().unwrap_or("?").to_string();
        self.total += 1;
        *self
            .counts
            .entry((name.clone(), e.decided_by.to_string(), e.action.to_string()))
            .or_default() += 1;
        match &e.decided_by {
            Cause::Default => {
                self.by_default.entry(arch).or_default().insert(name);
            }
            Cause::Entry(i) => {
                self.by_entry.entry(*i).or_default().insert(name);
            }
            Cause::Stub => {
                self.by_stub.insert(name);
            }
            Cause::BadArch => {
                self.bad_arches.insert(arch);
            }
            Cause::Multiplexed { entry, syscall } => {
                self.multiplexed.insert((*entry, syscall.clone()));
            }
        }
    }

    /// The human summary printed at exit.
    pub fn render(&self, mode: Mode) -> String {
        let verb = if mode == Mode::Trace {
            "denied"
        } else {
            "would have been denied (complain mode let them run)"
        };
        let mut out = String::new();
        if self.total == 0 {
            out.push_str(&format!("oci-seccomp: no call {verb}\n"));
            return out;
        }
        out.push_str(&format!(
            "oci-seccomp: {} call{} {verb}:\n",
            self.total,
            if self.total == 1 { "" } else { "s" }
        ));
        let width = self.counts.keys().map(|k| k.0.len()).max().unwrap_or(0);
        for ((name, cause, action), n) in &self.counts {
            out.push_str(&format!("  {n:>6}  {name:<width$}  {action}  by {cause}\n"));
        }
        out.push_str("To allow them, the smallest change to the profile:\n");
        for (arch, names) in &self.by_default {
            let names: Vec<&String> = names.iter().collect();
            out.push_str(&format!(
                "  add to syscalls ({arch}): {}\n",
                json!({"names": names, "action": "SCMP_ACT_ALLOW"})
            ));
        }
        for (i, names) in &self.by_entry {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            out.push_str(&format!(
                "  syscalls[{i}] denies {}: change its action or its conditions, or take the name{} out of it\n",
                names.join(", "),
                if names.len() == 1 { "" } else { "s" }
            ));
        }
        if !self.by_stub.is_empty() {
            let names: Vec<&String> = self.by_stub.iter().collect();
            out.push_str(&format!(
                "  newer than every syscall the profile names (the ENOSYS stub): add {}\n",
                json!({"names": names, "action": "SCMP_ACT_ALLOW"})
            ));
        }
        for arch in &self.bad_arches {
            out.push_str(&format!("  add {arch} to architectures\n"));
        }
        for (entry, syscall) in &self.multiplexed {
            out.push_str(&format!(
                "  {syscall} through socketcall/ipc, where syscalls[{entry}]'s conditions cannot be seen: give the multiplexer its own rule\n"
            ));
        }
        out
    }
}

/// Where the JSON lines go: a file (`--report FILE`) or stderr.
pub enum Sink {
    /// Standard error.
    Stderr,
    /// A file opened for the report.
    File(std::fs::File),
}

impl Sink {
    /// Opens `path` for the report: created 0600 if missing, truncated otherwise; a
    /// symbolic link as the last component is refused (`O_NOFOLLOW`).
    ///
    /// # Errors
    ///
    /// The `open` error.
    pub fn open(path: Option<&std::path::Path>) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        match path {
            None => Ok(Self::Stderr),
            Some(p) => std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(p)
                .map(Self::File),
        }
    }

    /// Writes one line.
    pub fn line(&mut self, v: &serde_json::Value) {
        let mut text = v.to_string();
        text.push('\n');
        let _ = match self {
            Self::Stderr => std::io::stderr().write_all(text.as_bytes()),
            Self::File(f) => f.write_all(text.as_bytes()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        let at = |s: u64, us: u32| UNIX_EPOCH + std::time::Duration::new(s, us * 1000);
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(at(951_782_400, 5)), "2000-02-29T00:00:00.000005Z");
        assert_eq!(rfc3339(at(1_796_083_199, 0)), "2026-11-30T23:59:59.000000Z");
    }
}
