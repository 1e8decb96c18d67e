//! Reports of trace and complain mode: one JSON line per denied call, and a summary with
//! the smallest profile change that would allow what was denied.

use std::collections::BTreeMap;
use std::io::Write;

use oci_seccomp::Cause;
use oci_seccomp_load::trace::{Event, Mode, ReportStats};
use serde_json::json;

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
    /// Numbers libseccomp has no name for, with their ABI: no entry can name them.
    unnamed: std::collections::BTreeSet<(String, i32)>,
    /// Multiplexed calls: (entry, syscall).
    multiplexed: std::collections::BTreeSet<(usize, String)>,
    /// Calls the profile answers with KILL_THREAD: (deciding cause, syscall).
    kill_thread: std::collections::BTreeSet<(String, String)>,
    total: u64,
}

impl Summary {
    /// Counts `e`.
    pub fn add(&mut self, e: &Event) {
        let arch = e.arch_name().unwrap_or("?").to_string();
        let Some(name) = e.syscall() else {
            self.total += 1;
            *self
                .counts
                .entry((
                    format!("#{}", e.nr),
                    e.decided_by.to_string(),
                    e.action.to_string(),
                ))
                .or_default() += 1;
            self.unnamed.insert((arch, e.nr));
            return;
        };
        self.total += 1;
        *self
            .counts
            .entry((name.clone(), e.decided_by.to_string(), e.action.to_string()))
            .or_default() += 1;
        if e.action == oci_seccomp::Action::KillThread {
            self.kill_thread
                .insert((e.decided_by.to_string(), name.clone()));
        }
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

    /// The summary as one JSON object (`supervise --json`): every call counted, per
    /// syscall, deciding cause and action.
    pub fn to_json(&self, container: &str) -> serde_json::Value {
        let counts: Vec<serde_json::Value> = self
            .counts
            .iter()
            .map(|((syscall, cause, action), n)| {
                json!({"syscall": syscall, "decidedBy": cause, "action": action, "count": n})
            })
            .collect();
        json!({"event": "summary", "container": container, "calls": self.total, "counts": counts})
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
        for (arch, nr) in &self.unnamed {
            out.push_str(&format!(
                "  {arch} syscall number {nr} has no name libseccomp knows: no entry can allow it \
                 (a newer libseccomp may know it)\n"
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
        for (cause, syscall) in &self.kill_thread {
            out.push_str(&format!(
                "  {syscall}: {cause} says SCMP_ACT_KILL_THREAD. {} the kernel kills only the \
                 calling thread, and the process would have gone on without it (a \
                 multi-threaded one may hang, golang/go#30753); SCMP_ACT_KILL_PROCESS ends \
                 the whole process\n",
                if mode == Mode::Trace {
                    "Traced, the whole process was killed; enforced,"
                } else {
                    "Enforced,"
                }
            ));
        }
        out
    }
}

/// Where the JSON lines go: a file (`--report FILE`) or stderr.
pub enum Sink {
    /// Standard error.
    Stderr,
    /// Standard output (`--report -`).
    Stdout,
    /// A file opened for the report.
    File(std::fs::File),
}

impl Sink {
    /// Opens `path` for the report: created 0600 if missing, truncated otherwise, with
    /// [`crate::output::create_output`]'s checks (no symbolic link on the way, no FIFO, not
    /// another user's file).
    ///
    /// # Errors
    ///
    /// As [`crate::output::create_output`].
    pub fn open(path: Option<&std::path::Path>) -> std::io::Result<Self> {
        match path {
            None => Ok(Self::Stderr),
            Some(p) if crate::output::is_stdout(p) => Ok(Self::Stdout),
            Some(p) => crate::output::create_output(p, 0o600).map(Self::File),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Stderr => std::io::stderr().write(buf),
            Self::Stdout => std::io::stdout().write(buf),
            Self::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Stderr => std::io::stderr().flush(),
            Self::Stdout => std::io::stdout().flush(),
            Self::File(f) => f.flush(),
        }
    }
}

/// The summary's account of the calls the report did not write one line each.
pub fn left_out(stats: &ReportStats, limit: u64) -> String {
    let mut out = String::new();
    if stats.repeats > 0 {
        out.push_str(&format!(
            "oci-seccomp: {} repeated call{} counted in \"repeated\" lines of the report instead \
             of a line each\n",
            stats.repeats,
            if stats.repeats == 1 { "" } else { "s" }
        ));
    }
    if stats.truncated {
        out.push_str(&format!(
            "oci-seccomp: the report reached its limit of {limit} bytes (--report-max-bytes): \
             {} later call{} only counted here\n",
            stats.after_limit,
            if stats.after_limit == 1 {
                " is"
            } else {
                "s are"
            }
        ));
    }
    out
}
