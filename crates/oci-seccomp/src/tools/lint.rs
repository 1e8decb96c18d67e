//! Lints: what the real compilers do to a profile, beyond what the JSON says.
//!
//! [`check_text`] is everything `oci-seccomp check` reports for a file: Docker keys in an
//! OCI file, syntax errors (with line and column), validation and compile errors, and the
//! findings of [`lint`]. [`lint`] looks at a parsed profile and reports, per entry, what
//! libseccomp 2.5 and the kernel will actually do where that differs from what a reader
//! of the JSON would expect. The facts behind each lint were checked against libseccomp
//! 2.5.4 (see docs/design.md §4):
//!
//! - an unconditional entry for a syscall wins over every conditional entry for it, in
//!   either order: libseccomp drops the conditions without an error;
//! - of two unconditional entries for one syscall, the first is kept;
//! - a repeated argument index turns the entry into one rule per comparison (OR), so two
//!   `!=` comparisons on one argument match every value;
//! - a rule whose action equals the default action is not compiled at all;
//! - once the x86 ABI is in the filter, a conditional ALLOW for `socket` makes libseccomp
//!   also allow `socketcall(SYS_SOCKET)` with no argument check;
//! - `clone3` refused with anything but ENOSYS breaks glibc's thread creation, which only
//!   falls back to `clone` on ENOSYS.
//!
//! ```
//! use oci_seccomp::lint::{lint, Severity};
//! let spec = oci_seccomp::parse_profile(r#"{
//!     "defaultAction": "SCMP_ACT_ERRNO",
//!     "syscalls": [
//!         { "names": ["setns"], "action": "SCMP_ACT_ERRNO" },
//!         { "names": ["setns", "bpf"], "action": "SCMP_ACT_ALLOW" }
//!     ]
//! }"#)?;
//! let findings = lint(&spec);
//! assert!(findings.iter().any(|f| f.code == "rule-equals-default" && f.path == "syscalls[0]"));
//! assert!(findings.iter().any(|f| f.code == "risky-allow" && f.message.contains("bpf")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall};
use serde::Serialize;

use crate::action::Action;
use crate::arch;
use crate::arch::errno::ENOSYS;
use crate::profile::{action_from_oci, notify_entry, ArgReading, Condition, Profile};
use crate::CompileOptions;
use crate::StepBudget;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing; changes nothing.
    Note,
    /// The profile does something its author probably did not mean.
    Warning,
    /// The profile cannot be compiled or installed as written (exit status 1 in `check`).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem found in a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// A stable short code, for example `duplicate-entry` or `risky-allow`.
    pub code: &'static str,
    /// The JSON path it concerns, for example `syscalls[3]`; empty for the whole file.
    pub path: String,
    /// What is wrong and what the kernel will actually do.
    pub message: String,
}

impl Finding {
    /// An error finding of `code` at `path` (a JSON path, empty for the whole file), for
    /// checks made outside this module (`check --runtime`).
    pub fn error(code: &'static str, path: impl Into<String>, msg: String) -> Self {
        Self::new(Severity::Error, code, path, msg)
    }

    fn new(severity: Severity, code: &'static str, path: impl Into<String>, msg: String) -> Self {
        Finding {
            severity,
            code,
            path: path.into(),
            message: msg,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {} [{}]", self.severity, self.message, self.code)
        } else {
            write!(
                f,
                "{}: {}: {} [{}]",
                self.severity, self.path, self.message, self.code
            )
        }
    }
}

/// Syscalls that hand a process a way around the container boundary or a large kernel
/// attack surface, with why.
const RISKY: &[(&str, &str)] = &[
    (
        "ptrace",
        "inspects and rewrites other processes (and on kernels before 4.8 bypasses seccomp)",
    ),
    ("process_vm_writev", "writes another process's memory"),
    ("bpf", "loads programs into the kernel"),
    (
        "io_uring_setup",
        "creates an io_uring, whose rings carry operations (openat, connect, sendmsg, ...) \
         that seccomp never sees; Docker refuses io_uring since 25.0, containerd since 2.0",
    ),
    (
        "io_uring_enter",
        "submits io_uring operations (openat, connect, sendmsg, ...) that seccomp never sees",
    ),
    (
        "io_uring_register",
        "registers files and buffers with an io_uring, whose operations seccomp never sees",
    ),
    (
        "perf_event_open",
        "exposes kernel and hardware performance data; a frequent source of kernel bugs",
    ),
    (
        "keyctl",
        "reaches the kernel keyring, which is not namespaced",
    ),
    (
        "add_key",
        "adds to the kernel keyring, which is not namespaced",
    ),
    (
        "request_key",
        "reaches the kernel keyring, which is not namespaced",
    ),
    (
        "userfaultfd",
        "lets a process stall kernel code paths at will (a common exploit primitive)",
    ),
    ("kexec_load", "replaces the running kernel"),
    ("kexec_file_load", "replaces the running kernel"),
    ("init_module", "loads kernel modules"),
    ("finit_module", "loads kernel modules"),
    ("delete_module", "unloads kernel modules"),
    ("mount", "changes the mount table"),
    ("umount", "changes the mount table"),
    ("umount2", "changes the mount table"),
    ("move_mount", "changes the mount table"),
    ("open_tree", "clones mounts"),
    ("fsopen", "creates filesystem contexts"),
    ("fsmount", "mounts filesystems"),
    ("fsconfig", "configures filesystems"),
    ("fspick", "reconfigures mounted filesystems"),
    ("mount_setattr", "changes mount attributes"),
    ("pivot_root", "changes the root filesystem"),
    (
        "open_by_handle_at",
        "opens files by handle, past the mount namespace (the 'shocker' escape)",
    ),
    ("iopl", "gives direct I/O port access"),
    ("ioperm", "gives direct I/O port access"),
    ("swapon", "changes the host's swap"),
    ("swapoff", "changes the host's swap"),
    ("reboot", "reboots the host or its pid namespace"),
    ("acct", "turns on process accounting for the host"),
    ("settimeofday", "sets the host clock"),
    ("clock_settime", "sets the host clock"),
    ("lookup_dcookie", "reads kernel profiling data"),
    ("quotactl", "changes disk quotas"),
    ("vm86", "enters virtual 8086 mode"),
    ("vm86old", "enters virtual 8086 mode"),
];

/// Syscalls risky only without an argument filter: they create or join namespaces.
const NAMESPACE_CALLS: &[&str] = &["unshare", "setns", "clone", "clone3"];

/// Syscalls a typical program makes so often that sending each to a supervisor costs tens
/// of microseconds per call and stalls the workload when the supervisor is slow.
const HOT: &[&str] = &[
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "futex",
    "mmap",
    "munmap",
    "mprotect",
    "brk",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "clock_gettime",
    "gettimeofday",
    "nanosleep",
    "clock_nanosleep",
    "sched_yield",
    "getpid",
    "gettid",
    "recvfrom",
    "recvmsg",
    "sendto",
    "sendmsg",
    "rt_sigprocmask",
    "rt_sigaction",
    "rt_sigreturn",
    "openat",
    "fcntl",
    "ioctl",
];

/// Syscalls that do one job under several names: filtering one and not the others is a
/// filter that can be stepped around.
const FAMILIES: &[&[&str]] = &[
    &["open", "openat", "openat2", "creat"],
    &["socket", "socketcall"],
    &["clone", "clone3", "fork", "vfork"],
    &["chmod", "fchmod", "fchmodat", "fchmodat2"],
    &["chown", "fchown", "lchown", "fchownat"],
    &["unlink", "unlinkat", "rmdir"],
    &["mkdir", "mkdirat"],
    &["mknod", "mknodat"],
    &["rename", "renameat", "renameat2"],
    &["link", "linkat"],
    &["symlink", "symlinkat"],
    &["execve", "execveat"],
    &["dup2", "dup3"],
    &["truncate", "ftruncate"],
    &["utime", "utimes", "utimensat", "futimesat"],
    &["access", "faccessat", "faccessat2"],
    &["mount", "move_mount", "fsmount"],
    &["kexec_load", "kexec_file_load"],
    &["init_module", "finit_module"],
];

/// The syscalls whose refusal makes every process die or hang.
pub(crate) const VITAL: &[(&str, &str)] = &[
    ("exit", "threads cannot end"),
    ("exit_group", "processes cannot end"),
    (
        "rt_sigreturn",
        "every signal handler return kills the process",
    ),
];

fn is_deny(a: Action) -> bool {
    !a.lets_through() && a != Action::Notify
}

fn action_text(a: Action) -> String {
    a.to_string()
}

/// What the entries say about one name, read in one pass (see [`Context`]).
#[derive(Clone, Copy, Default)]
struct Mentions {
    /// The first unconditional entry listing it, and that entry's action.
    first_unconditional: Option<(usize, Action)>,
    /// Whether a conditional entry lists it.
    conditional: bool,
}

impl Context<'_> {
    /// What a parsed profile decides for `name` when the arguments do not matter: the
    /// first unconditional entry's action (libseccomp keeps the first, and an
    /// unconditional entry beats every conditional one), or `None` when only conditional
    /// entries exist, or the default action when the name is not listed.
    fn unconditional_action(&self, name: &str) -> (Option<Action>, Option<usize>) {
        match self.mentions.get(name) {
            // One equal to the default competes with the conditional entries by
            // strictness instead of beating them: the arguments matter then.
            Some(Mentions {
                first_unconditional: Some((_, a)),
                conditional: true,
            }) if *a == self.default => (None, None),
            Some(Mentions {
                first_unconditional: Some((i, a)),
                ..
            }) => (Some(*a), Some(*i)),
            Some(Mentions {
                conditional: true, ..
            }) => (None, None),
            _ => (Some(self.default), None),
        }
    }
}

fn known_anywhere(name: &str) -> bool {
    libseccomp::ScmpSyscall::from_name(name).is_ok()
}

/// Steps of work `oci-seccomp check` may spend on one profile, shared by reading it
/// ([`READ_STEPS_PER_BYTE`]), every lint ([`lint_within`]) and the compile's complete
/// check ([`check_text_with`]): the proof's own limit,
/// [`MAX_STEPS`](crate::MAX_STEPS), about half a second of searching on one core
/// of the test machine (BENCHMARKS.md). A lint that reads the profile is charged per
/// entry, name and comparison it reads; the proof and a lint that searches
/// (`conditions-cover-all`) are charged every step of their search. What could not be
/// finished within it is said in one `unfinished` finding.
pub const CHECK_STEPS: u64 = crate::MAX_STEPS;

/// How long `oci-seccomp check` ([`check_text_with`]) works on one profile at most, once it
/// is read: the step budget bounds the work, but a step's cost depends on the search's
/// shape (single-bit masks cost several times more), so the analyses also stop at this
/// deadline and say what they did not finish. Reading the file comes before it and is
/// bounded by its size ([`crate::MAX_PROFILE_BYTES`]).
pub const CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_millis(800);

/// Steps charged to `check`'s budget per byte of the profile's text, up front: reading it
/// (parsing, validation, rendering a Docker profile, the lints that visit every name)
/// costs about as much per byte as this many search steps, so that a large input leaves
/// less for the searches and the total stays bounded. A 30 KB profile costs 240,000 of
/// the [`CHECK_STEPS`]; the largest accepted, 4 MiB, about two thirds of them.
pub const READ_STEPS_PER_BYTE: u64 = 8;

/// Lints a parsed profile. Every finding names the entry (`syscalls[i]`) and says what the
/// kernel will do; none of them stops the profile from compiling (see [`check_text`] for
/// errors).
///
/// Each lint is a function named after its code; this one calls them in a fixed order
/// (the per-entry lints entry by entry), which is the order of the findings. The lints
/// share a budget of [`CHECK_STEPS`] steps ([`lint_within`]).
pub fn lint(spec: &LinuxSeccomp) -> Vec<Finding> {
    lint_within(spec, &mut StepBudget::new(CHECK_STEPS))
}

/// [`lint`] within what is left of `budget`, which is charged the work done. A lint that
/// finds the budget used up is not run (or, for a lint that works syscall by syscall, not
/// finished), and the findings end with one `unfinished` warning that names each such
/// lint and what it did not decide, so that a missing finding is never read as a clean
/// bill of health.
pub fn lint_within(spec: &LinuxSeccomp, budget: &mut StepBudget) -> Vec<Finding> {
    lint_reading(spec, budget, ArgReading::Kernel)
}

/// [`lint_within`] for a profile compiled with `reading` ([`ArgReading`]): the
/// `arg-width` lint says how that reading decides comparisons on narrow arguments, and
/// validation applies it.
pub fn lint_reading(
    spec: &LinuxSeccomp,
    budget: &mut StepBudget,
    reading: ArgReading,
) -> Vec<Finding> {
    let profile = validate_quietly(spec, reading).ok();
    let mut linter = Linter::new(spec, budget, reading);
    linter.cheap();
    linter.searching(profile.as_ref());
    linter.finish()
}

/// [`Profile::from_oci`] without its log lines: `check` reports what validation finds as
/// findings, once.
fn validate_quietly(
    spec: &LinuxSeccomp,
    reading: ArgReading,
) -> Result<Profile, crate::CompileError> {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        Profile::from_oci_reading(spec, false, arch::native(), reading)
    })
}

/// The lints of one profile, their budget and their findings.
struct Linter<'a, 'b> {
    cx: Context<'a>,
    work: Work<'b>,
    out: Findings,
    /// Findings of the cheap lints listed after the searching ones.
    tail: Findings,
}

impl<'a, 'b> Linter<'a, 'b> {
    fn new(spec: &'a LinuxSeccomp, budget: &'b mut StepBudget, reading: ArgReading) -> Self {
        let mut cx = Context::new(spec);
        cx.reading = reading;
        let mut work = Work::new(budget);
        work.charge_always(cx.size);
        Self {
            cx,
            work,
            out: Findings::default(),
            tail: Findings::default(),
        }
    }

    /// The lints that read the profile once or a few times over: charged per entry, name
    /// and comparison read.
    fn cheap(&mut self) {
        let (cx, work, out) = (&self.cx, &mut self.work, &mut self.out);
        if work.charge("listener-unused", cx.entries.len() as u64) {
            listener_unused(cx, out);
        }
        if work.charge("notify-without-listener", cx.entries.len() as u64) {
            notify_without_listener(cx, out);
        }
        listener_path(cx, out);
        listener_metadata(cx, out);

        for (i, e) in cx.entries.iter().enumerate() {
            // Each per-entry lint reads the entry's names and comparisons a few times over.
            let cost =
                PER_ENTRY_LINTS * (1 + e.names().len() + e.args().as_ref().map_or(0, Vec::len));
            if !work.charge_entry(i, cost as u64) {
                break;
            }
            let en = EntryContext::new(i, e);
            rule_equals_default(cx, &en, out);
            unknown_syscall(cx, &en, out);
            duplicate_name(&en, out);
            shadowed_entry(cx, &en, out);
            repeated_index(&en, out);
            masked_eq_bits(&en, out);
            risky_allow(cx, &en, out);
            notify_hot(&en, out);
            clone3_errno(&en, out);
            kill_thread(&en.path, en.action, out);
        }
        kill_thread("defaultAction", cx.default, out);
        io_uring_bypass(cx, out);

        let names = cx.names as u64;
        if work.charge("vital-denied", VITAL.len() as u64) {
            vital_denied(cx, out);
        }
        if work.charge("clone3-default", 1 + names) {
            clone3_default(cx, out);
        }
        let members: usize = FAMILIES.iter().map(|f| f.len()).sum();
        if work.charge("family-bypass", members as u64) {
            family_bypass(cx, out);
        }
        arg_width(cx, work, out);
        // Listed after the searching lints, as it always was.
        if work.charge("socketcall-bypass", 2 * names) {
            socketcall_bypass(cx, &mut self.tail);
        }
    }

    /// The lints that search (`conditions-cover-all`), on the validated `profile`, with
    /// what is left of the budget.
    fn searching(&mut self, profile: Option<&Profile>) {
        if let Some(profile) = profile {
            ties(profile, &mut self.work, &mut self.out);
            conditions_cover_all(&self.cx, profile, &mut self.work, &mut self.out);
        }
    }

    /// The findings, in lint order, and the `unfinished` one last.
    fn finish(self) -> Vec<Finding> {
        let mut out = self.out;
        out.append(self.tail);
        if let Some(f) = self.work.finding() {
            out.push(f);
        }
        out.into_vec()
    }
}

/// Most findings of one code that are listed; the others are counted in one more finding
/// of that code, so that the output stays proportionate whatever the input repeats.
pub const MAX_FINDINGS_PER_CODE: usize = 64;

/// Findings as the lints make them: at most [`MAX_FINDINGS_PER_CODE`] per code (errors
/// excepted), the rest counted.
#[derive(Default)]
struct Findings {
    list: Vec<Finding>,
    per_code: std::collections::HashMap<&'static str, usize>,
    /// Per code, the severity and number of findings not listed.
    folded: BTreeMap<&'static str, (Severity, usize)>,
}

impl Findings {
    /// Whether a finding of `code` would not be listed; it is then counted, and the
    /// caller need not make it (a lint asks before formatting a message in a loop).
    fn full(&mut self, code: &'static str, severity: Severity) -> bool {
        if severity == Severity::Error {
            return false;
        }
        let n = self.per_code.get(code).copied().unwrap_or(0);
        if n < MAX_FINDINGS_PER_CODE {
            return false;
        }
        let folded = self.folded.entry(code).or_insert((severity, 0));
        folded.0 = folded.0.max(severity);
        folded.1 += 1;
        true
    }

    fn push(&mut self, f: Finding) {
        if self.full(f.code, f.severity) {
            return;
        }
        *self.per_code.entry(f.code).or_default() += 1;
        self.list.push(f);
    }

    fn append(&mut self, other: Findings) {
        for f in other.list {
            self.push(f);
        }
        for (code, (severity, n)) in other.folded {
            let folded = self.folded.entry(code).or_insert((severity, 0));
            folded.0 = folded.0.max(severity);
            folded.1 += n;
        }
    }

    /// The listed findings, then one per code with findings not listed.
    fn into_vec(mut self) -> Vec<Finding> {
        for (code, (severity, n)) in self.folded {
            self.list.push(Finding::new(
                severity,
                code,
                "",
                format!(
                    "{n} more {code} finding{} like those above {} not listed (at most \
                     {MAX_FINDINGS_PER_CODE} of one code are)",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "is" } else { "are" },
                ),
            ));
        }
        self.list
    }
}

impl FromIterator<Finding> for Findings {
    fn from_iter<I: IntoIterator<Item = Finding>>(iter: I) -> Self {
        let mut out = Findings::default();
        for f in iter {
            out.push(f);
        }
        out
    }
}

/// Most items a message lists before it says how many more there are.
const LISTED: usize = 16;

/// `items` joined by `sep`, or the first `max` of them and how many more.
fn listed(items: &[String], sep: &str, max: usize) -> String {
    if items.len() <= max {
        return items.join(sep);
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

/// How many lints read each entry (see [`lint_within`]).
const PER_ENTRY_LINTS: usize = 9;

/// The lints' share of a [`StepBudget`], and what they could not do within it.
struct Work<'b> {
    budget: &'b mut StepBudget,
    /// Lints not run at all.
    skipped: Vec<&'static str>,
    /// Lints stopped part-way, with what they did not decide.
    partial: Vec<(&'static str, String)>,
}

impl<'b> Work<'b> {
    fn new(budget: &'b mut StepBudget) -> Self {
        Self {
            budget,
            skipped: Vec::new(),
            partial: Vec::new(),
        }
    }

    /// Charges work that is done whatever the budget says (reading the profile once).
    fn charge_always(&mut self, n: u64) {
        self.budget.charge(n);
    }

    /// Charges `n` steps for lint `code`: false (and `code` noted as not run) when they
    /// are more than what is left.
    fn charge(&mut self, code: &'static str, n: u64) -> bool {
        if self.budget.charge(n) {
            true
        } else {
            self.skipped.push(code);
            false
        }
    }

    /// Charges the per-entry lints for entry `i`: false (and the entries from `i` on
    /// noted as not linted) when the steps are more than what is left.
    fn charge_entry(&mut self, i: usize, n: u64) -> bool {
        if self.budget.charge(n) {
            return true;
        }
        self.partial.push((
            "the per-entry lints",
            format!("entries from syscalls[{i}] on not linted"),
        ));
        false
    }

    /// The `unfinished` finding, when something was not done.
    fn finding(&self) -> Option<Finding> {
        if self.skipped.is_empty() && self.partial.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = self
            .partial
            .iter()
            .map(|(code, what)| format!("{code} not finished ({what})"))
            .collect();
        if !self.skipped.is_empty() {
            parts.push(format!("not run: {}", self.skipped.join(", ")));
        }
        Some(Finding::new(
            Severity::Warning,
            "unfinished",
            "",
            format!(
                "check stopped its analyses when {}: {}; their findings may be missing. The \
                 argument conditions are what costs: fewer entries or comparisons per syscall, \
                 and masks that cover whole values, make the profile cheaper to analyse (and \
                 to prove)",
                if self.budget.timed_out() {
                    format!("its deadline of {} ms passed", CHECK_DEADLINE.as_millis())
                } else {
                    format!("its budget of {} steps was used up", self.budget.limit())
                },
                parts.join("; ")
            ),
        ))
    }
}

/// What every lint reads of the whole profile.
struct Context<'a> {
    spec: &'a LinuxSeccomp,
    entries: &'a [LinuxSyscall],
    /// The default action, errno resolved.
    default: Action,
    /// name -> first unconditional entry (index, action).
    first_uncond: BTreeMap<&'a str, (usize, Action)>,
    /// What decides whether an entry equal to the default takes part in precedence.
    precedence: crate::profile::DefaultRules<'a>,
    /// How comparisons on narrow arguments are decided.
    reading: ArgReading,
    /// name -> what the entries say about it.
    mentions: rustc_hash::FxHashMap<&'a str, Mentions>,
    /// Names listed, over all entries.
    names: usize,
    /// Entries, names and comparisons: the work of reading the profile once.
    size: u64,
}

impl<'a> Context<'a> {
    fn new(spec: &'a LinuxSeccomp) -> Self {
        let default = action_from_oci(spec.default_action(), spec.default_errno_ret());
        let entries: &[LinuxSyscall] = spec.syscalls().as_deref().unwrap_or_default();
        let mut first_uncond: BTreeMap<&str, (usize, Action)> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.args().as_ref().is_none_or(|a| a.is_empty()) {
                let a = action_from_oci(e.action(), e.errno_ret());
                // An entry equal to the default takes part in precedence as a rule that
                // always matches (the strictest matching entry wins): it shadows nothing.
                if a != default {
                    for n in e.names() {
                        first_uncond.entry(n.as_str()).or_insert((i, a));
                    }
                }
            }
        }
        let mut other_actions: rustc_hash::FxHashSet<&str> = Default::default();
        for e in entries {
            if action_from_oci(e.action(), e.errno_ret()) != default {
                other_actions.extend(e.names().iter().map(String::as_str));
            }
        }
        let mux_arch = spec
            .architectures()
            .iter()
            .flatten()
            .any(|a| arch::multiplexes(arch::from_oci(*a)))
            || arch::multiplexes(arch::native());
        let mut mentions: rustc_hash::FxHashMap<&str, Mentions> = Default::default();
        for (i, e) in entries.iter().enumerate() {
            let unconditional = e.args().as_ref().is_none_or(|a| a.is_empty());
            let action = action_from_oci(e.action(), e.errno_ret());
            for n in e.names() {
                let m = mentions.entry(n.as_str()).or_default();
                if unconditional {
                    m.first_unconditional.get_or_insert((i, action));
                } else {
                    m.conditional = true;
                }
            }
        }
        let names: usize = entries.iter().map(|e| e.names().len()).sum();
        let args: usize = entries
            .iter()
            .map(|e| e.args().as_ref().map_or(0, Vec::len))
            .sum();
        Self {
            spec,
            entries,
            default,
            first_uncond,
            precedence: crate::profile::DefaultRules {
                beaten: mentions
                    .iter()
                    .filter(|(_, m)| m.first_unconditional.is_some_and(|(_, a)| a != default))
                    .map(|(n, _)| *n)
                    .collect(),
                other_actions,
                mux_arch,
            },
            reading: ArgReading::Kernel,
            mentions,
            names,
            size: (entries.len() + names + args) as u64,
        }
    }
}

/// What the per-entry lints read of one entry.
struct EntryContext<'a> {
    i: usize,
    path: String,
    e: &'a LinuxSyscall,
    action: Action,
    args: Vec<LinuxSeccompArg>,
    unconditional: bool,
}

impl<'a> EntryContext<'a> {
    fn new(i: usize, e: &'a LinuxSyscall) -> Self {
        let args = e.args().clone().unwrap_or_default();
        Self {
            i,
            path: format!("syscalls[{i}]"),
            e,
            action: action_from_oci(e.action(), e.errno_ret()),
            unconditional: args.is_empty(),
            args,
        }
    }
}

/// `listener-unused` (note): `listenerPath` is set but no entry notifies, so the runtime
/// makes no connection; the agent never hears from this container.
fn listener_unused(cx: &Context<'_>, out: &mut Findings) {
    if cx.spec.listener_path().is_some() && notify_entry(cx.spec).is_none() {
        out.push(Finding::new(
            Severity::Note,
            "listener-unused",
            "listenerPath",
            "listenerPath is set but no entry uses SCMP_ACT_NOTIFY: no connection is made".into(),
        ));
    }
}

/// `notify-without-listener` (warning): NOTIFY is used but no agent is named, so every
/// notified syscall blocks until some supervisor the runtime found by itself answers.
fn notify_without_listener(cx: &Context<'_>, out: &mut Findings) {
    if notify_entry(cx.spec).is_some() && cx.spec.listener_path().is_none() {
        out.push(Finding::new(
            Severity::Warning,
            "notify-without-listener",
            "listenerPath",
            "SCMP_ACT_NOTIFY is used but listenerPath is empty: `oci-seccomp run` refuses it \
             unless --listener names an agent, and runc refuses it; a runtime must hand the \
             notify fd to a supervisor itself (until someone answers, notified syscalls block)"
                .into(),
        ));
    }
}

/// `rule-equals-default` (warning): an entry whose action is the default action. Where it
/// cannot change any outcome it is not compiled (libseccomp refuses such a rule) and
/// changes nothing. Where an entry of another action can match the same call it is
/// compiled and takes part in precedence (the strictest matching entry wins, and an
/// unconditional entry beats the conditional ones): runc and crun drop it, so they give
/// the other entry's action there (docs/conformance.md).
fn rule_equals_default(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
    if en.action != cx.default {
        return;
    }
    // A later unconditional entry for a name an earlier one decided is dropped (the
    // first wins).
    let shadowed_by = |n: &str| {
        cx.mentions
            .get(n)
            .and_then(|m| m.first_unconditional)
            .filter(|(k, _)| en.unconditional && *k < en.i)
            .map(|(k, _)| k)
    };
    let matters: Vec<&str> =
        en.e.names()
            .iter()
            .map(String::as_str)
            .filter(|n| shadowed_by(n).is_none())
            .filter(|n| cx.precedence.matters(n, !en.unconditional))
            .collect();
    let message = if matters.is_empty() {
        format!(
            "this entry ({}) gives the default action {} and no entry of another action can \
             match the same calls: it is not compiled and changes nothing",
            listed(en.e.names(), ", ", LISTED),
            action_text(en.action)
        )
    } else {
        format!(
            "this entry ({}) gives the default action {}, and entries of another action for {} \
             can match the same calls: it is compiled and takes part in precedence (the \
             strictest matching entry wins{}). runc and crun drop it and give the other \
             entry's action there, and --backend libseccomp refuses the profile",
            listed(en.e.names(), ", ", LISTED),
            action_text(en.action),
            {
                let m: Vec<String> = matters.iter().map(|s| s.to_string()).collect();
                listed(&m, ", ", LISTED)
            },
            if en.unconditional {
                "; unconditional, it matches every call, so it overrides the entries less \
                 strict than the default and beats none"
            } else {
                ""
            }
        )
    };
    out.push(Finding::new(
        Severity::Warning,
        "rule-equals-default",
        en.path.clone(),
        message,
    ));
}

/// `unknown-syscall` (warning): a name libseccomp does not know is skipped, so the call
/// gets the default action whatever the entry says.
fn unknown_syscall(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
    for n in en.e.names() {
        if !n.is_empty() && !n.contains('\0') && !known_anywhere(n) {
            if out.full("unknown-syscall", Severity::Warning) {
                continue;
            }
            out.push(Finding::new(
                Severity::Warning,
                "unknown-syscall",
                en.path.clone(),
                format!(
                    "{n:?} is not a syscall libseccomp {} knows: the name is skipped and the \
                     call gets the default action {}",
                    crate::arch::libseccomp_version_string(),
                    action_text(cx.default)
                ),
            ));
        }
    }
}

/// `duplicate-name` (note): a name listed twice inside one entry; harmless, but usually a
/// sign of a copy-and-paste edit.
fn duplicate_name(en: &EntryContext<'_>, out: &mut Findings) {
    let mut seen = rustc_hash::FxHashSet::default();
    for (j, n) in en.e.names().iter().enumerate() {
        if !seen.insert(n.as_str()) {
            if out.full("duplicate-name", Severity::Note) {
                continue;
            }
            out.push(Finding::new(
                Severity::Note,
                "duplicate-name",
                format!("{}.names[{j}]", en.path),
                format!("{n:?} is listed twice in this entry"),
            ));
        }
    }
}

/// `shadowed-entry` (warning) and `duplicate-entry` (note): an unconditional entry wins
/// over every later unconditional entry for the same syscall (libseccomp keeps the first)
/// and over every conditional one in either order (libseccomp drops the conditions), all
/// without an error; a later entry with the same action is only a duplicate.
fn shadowed_entry(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
    for n in en.e.names() {
        let Some(&(k, first_action)) = cx.first_uncond.get(n.as_str()) else {
            continue;
        };
        if k == en.i {
            continue;
        }
        if en.unconditional && k < en.i {
            let (sev, code) = if first_action == en.action {
                (Severity::Note, "duplicate-entry")
            } else {
                (Severity::Warning, "shadowed-entry")
            };
            if out.full(code, sev) {
                continue;
            }
            out.push(Finding::new(
                sev,
                code,
                en.path.clone(),
                format!(
                    "{n:?} already has an unconditional entry, syscalls[{k}] ({}): libseccomp \
                     keeps the first and drops this one ({}) without an error",
                    action_text(first_action),
                    action_text(en.action)
                ),
            ));
        } else if !en.unconditional && first_action != en.action {
            if out.full("shadowed-entry", Severity::Warning) {
                continue;
            }
            out.push(Finding::new(
                Severity::Warning,
                "shadowed-entry",
                en.path.clone(),
                format!(
                    "{n:?} has an unconditional entry, syscalls[{k}] ({}), which wins over \
                     this conditional entry ({}) whatever its order: libseccomp drops the \
                     conditions and every call gets {}",
                    action_text(first_action),
                    action_text(en.action),
                    action_text(first_action)
                ),
            ));
        }
    }
}

/// `repeated-index-ne` (warning) and `repeated-index-or` (note): comparisons on a
/// repeated argument index are ORed (one rule per comparison, runc's rule), not ANDed;
/// with two `!=` on one argument the entry matches every value.
fn repeated_index(en: &EntryContext<'_>, out: &mut Findings) {
    let mut by_index: BTreeMap<u32, Vec<LinuxSeccompOperator>> = BTreeMap::new();
    for a in &en.args {
        by_index.entry(a.index() as u32).or_default().push(a.op());
    }
    if !by_index.values().any(|ops| ops.len() > 1) {
        return;
    }
    let all_ne = by_index
        .values()
        .filter(|ops| ops.len() > 1)
        .any(|ops| ops.iter().all(|o| *o == LinuxSeccompOperator::ScmpCmpNe));
    if all_ne {
        out.push(Finding::new(
            Severity::Warning,
            "repeated-index-ne",
            format!("{}.args", en.path),
            format!(
                "two or more != comparisons on one argument are ORed (runc's rule for a \
                 repeated index), so the entry ({}) matches every value; use separate \
                 entries with <, == and > ranges instead",
                action_text(en.action)
            ),
        ));
    } else {
        out.push(Finding::new(
            Severity::Note,
            "repeated-index-or",
            format!("{}.args", en.path),
            "an argument index appears more than once: the comparisons are ORed (one rule \
             per comparison), not ANDed as comparisons on distinct indices are"
                .into(),
        ));
    }
}

/// `masked-eq-bits` (warning): `valueTwo` of a `SCMP_CMP_MASKED_EQ` has bits outside the
/// mask; libseccomp masks them away, so the comparison is not the one written.
fn masked_eq_bits(en: &EntryContext<'_>, out: &mut Findings) {
    for (j, a) in en.args.iter().enumerate() {
        if a.op() == LinuxSeccompOperator::ScmpCmpMaskedEq
            && a.value_two().unwrap_or(0) & !a.value() != 0
        {
            if out.full("masked-eq-bits", Severity::Warning) {
                continue;
            }
            out.push(Finding::new(
                Severity::Warning,
                "masked-eq-bits",
                format!("{}.args[{j}]", en.path),
                format!(
                    "valueTwo {:#x} has bits outside the mask {:#x}: libseccomp ignores them and \
                     matches (arg & {:#x}) == {:#x}",
                    a.value_two().unwrap_or(0),
                    a.value(),
                    a.value(),
                    a.value_two().unwrap_or(0) & a.value()
                ),
            ));
        }
    }
}

/// `risky-allow` (warning): under a refusing default, an entry lets through a syscall
/// that reaches around the container boundary or a large kernel attack surface
/// ([`RISKY`]), or a namespace call without an argument filter.
fn risky_allow(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
    if !is_deny(cx.default) || !en.action.lets_through() {
        return;
    }
    for n in en.e.names() {
        if let Some((_, why)) = RISKY.iter().find(|(r, _)| r == n) {
            let cond = if en.unconditional {
                ""
            } else {
                " (with argument conditions)"
            };
            out.push(Finding::new(
                Severity::Warning,
                "risky-allow",
                en.path.clone(),
                format!("{n} is allowed{cond}: it {why}"),
            ));
        }
        if NAMESPACE_CALLS.contains(&n.as_str()) && en.unconditional {
            out.push(Finding::new(
                Severity::Warning,
                "risky-allow",
                en.path.clone(),
                format!(
                    "{n} is allowed without an argument filter: the workload can create or \
                     join namespaces (Docker filters clone on the namespace flags and \
                     allows unshare/setns only with CAP_SYS_ADMIN)"
                ),
            ));
        }
    }
}

/// `notify-hot` (warning): an unconditional NOTIFY on a syscall programs make all the
/// time ([`HOT`]): each call waits for the supervisor, forever if it hangs.
fn notify_hot(en: &EntryContext<'_>, out: &mut Findings) {
    if en.action != Action::Notify || !en.unconditional {
        return;
    }
    for n in en.e.names() {
        if HOT.contains(&n.as_str()) {
            out.push(Finding::new(
                Severity::Warning,
                "notify-hot",
                en.path.clone(),
                format!(
                    "every {n} call waits for the supervisor (tens of microseconds each, \
                     forever if it hangs); add an argument filter or notify something rarer"
                ),
            ));
        }
    }
}

/// `clone3-errno` (warning): `clone3` refused with an errno other than ENOSYS; glibc
/// (>= 2.34) falls back to `clone` only on ENOSYS, so thread creation fails.
fn clone3_errno(en: &EntryContext<'_>, out: &mut Findings) {
    if !en.e.names().iter().any(|n| n == "clone3") {
        return;
    }
    if let Action::Errno(err) = en.action {
        if err != ENOSYS {
            out.push(Finding::new(
                Severity::Warning,
                "clone3-errno",
                en.path.clone(),
                format!(
                    "clone3 is refused with errno {err}: glibc (>= 2.34) creates threads \
                     with clone3 and falls back to clone only on ENOSYS, so thread \
                     creation fails; use \"errnoRet\": {ENOSYS}"
                ),
            ));
        }
    }
}

/// Calls an io_uring ring carries out without a syscall of their own (`IORING_OP_*`).
const IO_URING_OPS: &[&str] = &[
    "openat",
    "openat2",
    "connect",
    "accept",
    "accept4",
    "socket",
    "read",
    "write",
    "readv",
    "writev",
    "sendmsg",
    "recvmsg",
    "sendto",
    "recvfrom",
    "unlinkat",
    "renameat",
    "renameat2",
    "mkdirat",
    "symlinkat",
    "linkat",
    "statx",
    "fsync",
    "fallocate",
    "fadvise64",
    "madvise",
    "splice",
    "tee",
    "shutdown",
    "setxattr",
    "getxattr",
    "fsetxattr",
    "fgetxattr",
    "close",
];

/// `io-uring-bypass` (warning): the profile denies a call an io_uring ring can make on
/// the caller's behalf (`openat`, `connect`, ...) while `io_uring_setup` is allowed: the
/// ring's operations never pass seccomp, so the deny can be stepped around.
fn io_uring_bypass(cx: &Context<'_>, out: &mut Findings) {
    // Only a deny whatever the arguments closes the rings: a conditional entry leaves
    // some io_uring_setup calls through.
    let (setup, at) = cx.unconditional_action("io_uring_setup");
    if setup.is_some_and(|a| !a.lets_through()) {
        return;
    }
    let denied: Vec<&str> = IO_URING_OPS
        .iter()
        .copied()
        .filter(|n| cx.mentions.contains_key(n))
        .filter(|n| {
            !cx.unconditional_action(n)
                .0
                .is_some_and(|a| a.lets_through())
        })
        .collect();
    if denied.is_empty() {
        return;
    }
    out.push(Finding::new(
        Severity::Warning,
        "io-uring-bypass",
        at.map_or_else(|| "defaultAction".to_string(), |i| format!("syscalls[{i}]")),
        format!(
            "io_uring_setup is allowed (for some arguments at least) while {} {} denied (or \
             conditional): an io_uring ring \
             performs those operations without a syscall seccomp sees, so the denial can be \
             stepped around; deny io_uring_setup, io_uring_enter and io_uring_register (Docker \
             does since 25.0)",
            denied.join(", "),
            if denied.len() == 1 { "is" } else { "are" }
        ),
    ));
}

/// `kill-thread` (note): `SCMP_ACT_KILL` (= `SCMP_ACT_KILL_THREAD`) ends only the thread
/// that made the call; the process runs on without it. Go programs hung that way
/// (golang/go#30753: the runtime waits for a thread that is gone), and so did systemd
/// services (systemd/systemd#11967); `SCMP_ACT_KILL_PROCESS` (Linux 4.14) ends the whole
/// process.
fn kill_thread(path: &str, action: Action, out: &mut Findings) {
    if action != Action::KillThread {
        return;
    }
    out.push(Finding::new(
        Severity::Note,
        "kill-thread",
        path.to_string(),
        "SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD kill only the calling thread: the process \
         runs on without it, and a multi-threaded one (a Go program, a service) may hang \
         waiting for it (golang/go#30753, systemd/systemd#11967); SCMP_ACT_KILL_PROCESS \
         ends the whole process"
            .to_string(),
    ));
}

/// `vital-denied` (warning): a syscall every process needs ([`VITAL`]) is refused
/// whatever its arguments, so processes die or hang.
fn vital_denied(cx: &Context<'_>, out: &mut Findings) {
    for (name, why) in VITAL {
        let (decided, entry) = cx.unconditional_action(name);
        if let Some(a) = decided {
            if is_deny(a) {
                let path = entry
                    .map(|k| format!("syscalls[{k}]"))
                    .unwrap_or_else(|| "defaultAction".into());
                out.push(Finding::new(
                    Severity::Warning,
                    "vital-denied",
                    path,
                    format!("{name} gets {}: {why}", action_text(a)),
                ));
            }
        }
    }
}

/// `clone3-default` (note): `clone3` is not listed, `clone` is allowed, and the default
/// refuses with an errno other than ENOSYS: the stub answers ENOSYS only for syscalls
/// newer than every listed one, so glibc may not fall back to `clone`.
fn clone3_default(cx: &Context<'_>, out: &mut Findings) {
    if let (Some(Action::Errno(err)), None) = cx.unconditional_action("clone3") {
        let clone_allowed = cx.entries.iter().any(|e| {
            e.names().iter().any(|n| n == "clone")
                && action_from_oci(e.action(), e.errno_ret()).lets_through()
        });
        if clone_allowed && err != ENOSYS {
            out.push(Finding::new(
                Severity::Note,
                "clone3-default",
                "defaultAction",
                format!(
                    "clone3 is not listed and the default gives errno {err}; our ENOSYS stub (and \
                     runc's) answers ENOSYS only for syscalls newer than every listed one, and crun \
                     gives the default: list clone3 with \"errnoRet\": {ENOSYS} so glibc falls back to clone"
                ),
            ));
        }
    }
}

/// `family-bypass` (warning): one member of a family of syscalls that do the same job
/// ([`FAMILIES`]) is refused while another is allowed outright, so the refusal can be
/// stepped around.
fn family_bypass(cx: &Context<'_>, out: &mut Findings) {
    for family in FAMILIES {
        let decided: Vec<(&str, Option<Action>, Option<usize>)> = family
            .iter()
            .filter(|n| arch::resolve(n, arch::native()).is_some() || **n == "socketcall")
            .map(|n| {
                let (a, e) = cx.unconditional_action(n);
                (*n, a, e)
            })
            .collect();
        for (n, a, e) in &decided {
            let (Some(a), Some(k)) = (a, e) else { continue };
            // ENOSYS is not a refusal but "use the older call" (Docker's clone3 rule):
            // the family member that answers is then the one to filter.
            if !is_deny(*a) || *a == Action::Errno(ENOSYS) {
                continue;
            }
            let open: Vec<&str> = decided
                .iter()
                .filter(|(m, b, _)| {
                    m != n && b.is_some_and(|b| b == Action::Allow || b == Action::Log)
                })
                .map(|(m, _, _)| *m)
                .collect();
            // Refusing the multiplexer while the direct call is allowed is the safe
            // direction (Docker does it), not a bypass.
            if !open.is_empty() && *n != "socketcall" {
                out.push(Finding::new(
                    Severity::Warning,
                    "family-bypass",
                    format!("syscalls[{k}]"),
                    format!(
                        "{n} is refused but {} doing the same job {} allowed: filter the family together",
                        open.join(", "),
                        if open.len() == 1 { "is" } else { "are" }
                    ),
                ));
            }
        }
    }
}

/// `socketcall-bypass` (warning): with the x86 ABI in the filter, a conditional ALLOW
/// for `socket` cannot be checked on `socketcall(SYS_SOCKET)`, whose arguments the filter
/// cannot see: our generator gives it the strictest outcome (usually the default, so
/// i386 programs cannot make sockets that way), libseccomp's would allow it unchecked
/// (the complete check refuses that program). Refusing `socketcall` says what is meant.
fn socketcall_bypass(cx: &Context<'_>, out: &mut Findings) {
    let has_x86 = cx
        .spec
        .architectures()
        .iter()
        .flatten()
        .any(|a| arch::from_oci(*a).name == "SCMP_ARCH_X86")
        || arch::native().name == "SCMP_ARCH_X86";
    if !has_x86 {
        return;
    }
    let filtered_socket = cx.entries.iter().position(|e| {
        e.names().iter().any(|n| n == "socket")
            && e.args().as_ref().is_some_and(|a| !a.is_empty())
            && action_from_oci(e.action(), e.errno_ret()).lets_through()
    });
    let socketcall_denied = cx.entries.iter().any(|e| {
        e.names().iter().any(|n| n == "socketcall")
            && is_deny(action_from_oci(e.action(), e.errno_ret()))
    });
    // An unconditional rule for socketcall itself decides every call through it.
    let socketcall_outright = cx
        .mentions
        .get("socketcall")
        .and_then(|m| m.first_unconditional)
        .filter(|(_, a)| a.lets_through());
    if let (Some(k), Some((j, a))) = (filtered_socket, socketcall_outright) {
        out.push(Finding::new(
            Severity::Warning,
            "socketcall-bypass",
            format!("syscalls[{k}]"),
            format!(
                "socket is allowed with argument conditions and the x86 ABI is in the filter, \
                 but syscalls[{j}] gives socketcall {} outright: i386 socket calls made \
                 through socketcall are not checked against these conditions at all (any \
                 family); refuse socketcall (our default answers it with ENOSYS; 32-bit programs \
                 whose C library calls only socketcall, as glibc built for kernels before \
                 4.3 does, then cannot use sockets) or leave x86 out",
                action_text(a)
            ),
        ));
        return;
    }
    if let Some(k) = filtered_socket {
        if !socketcall_denied {
            out.push(Finding::new(
                Severity::Warning,
                "socketcall-bypass",
                format!("syscalls[{k}]"),
                "socket is allowed with argument conditions and the x86 ABI is in the filter: \
                 the filter cannot see the arguments of i386 socketcall(SYS_SOCKET), so it gets \
                 the strictest outcome of this entry and the default (libseccomp's generator \
                 would allow it with no check, and that program is refused); deny socketcall \
                 (our default answers it with ENOSYS; 32-bit programs whose C library calls \
                 only socketcall, as glibc built for kernels before 4.3 does, then cannot use \
                 sockets)"
                    .into(),
            ));
        }
    }
}

/// Whether `arg` satisfies `a` as libseccomp compares on a 64-bit ABI: the profile's
/// own comparison ([`Condition::matches`]).
fn arg_matches(a: &LinuxSeccompArg, arg: u64) -> bool {
    Condition::from_oci(a).matches(arg)
}

/// Two register values that the kernel reads alike (same low `bits`) on which the
/// comparison disagrees: `(plain, dodged)`, `plain` with its upper bits clear. `None` when
/// the upper bits cannot change the comparison's result.
pub(crate) fn dodge(a: &LinuxSeccompArg, bits: u8) -> Option<(u64, u64)> {
    let mask = crate::arch::argwidth::read_mask(bits);
    let (v, v2) = (a.value() & mask, a.value_two().unwrap_or(0) & mask);
    let lows = [
        v,
        v2,
        v.wrapping_add(1) & mask,
        v.wrapping_sub(1) & mask,
        0,
        mask,
    ];
    let highs = [
        1u64 << bits,
        !mask,
        !mask & (1u64 << 63),
        !mask & 0xffff_ffff_0000_0000,
    ];
    for low in lows {
        for high in highs {
            let dodged = low | high;
            if arg_matches(a, low) != arg_matches(a, dodged) {
                return Some((low, dodged));
            }
        }
    }
    None
}

/// Every ABI in the filter (the native one included).
fn filter_abis(spec: &LinuxSeccomp) -> Vec<&'static crate::arch::ArchInfo> {
    let mut abis = vec![arch::native()];
    for a in spec.architectures().iter().flatten() {
        let info = arch::from_oci(*a);
        if !abis.iter().any(|b| b.name == info.name) {
            abis.push(info);
        }
    }
    abis
}

/// `arg-width` (warning when the dodge reaches a weaker action, note otherwise): a 32-bit
/// (or 16-bit) argument compared as 64 bits. The upper bits reach the filter but not the
/// syscall, so a caller can set them to step around the comparison ([`crate::arch::argwidth`]).
/// Under [`ArgReading::Kernel`] (the default) our program decides on the bits the kernel
/// reads and the finding says so; it stays, because runc and crun (the literal reading)
/// install the same profile with the dodge.
fn arg_width(cx: &Context<'_>, work: &mut Work<'_>, out: &mut Findings) {
    let (entries, default) = (cx.entries, cx.default);
    let abis = filter_abis(cx.spec);
    let Some(wide) = abis.iter().find(|a| !a.narrow_args()) else {
        return;
    };
    for (i, e) in entries.iter().enumerate() {
        // Every comparison is looked at for every name of its entry.
        // A pair costs about ten steps' time (a look-up in the width table).
        let pairs = e.args().as_ref().map_or(0, Vec::len) * e.names().len();
        if !work.budget.charge(1 + 10 * pairs as u64) {
            work.partial.push((
                "arg-width",
                format!("entries from syscalls[{i}] on not checked"),
            ));
            return;
        }
        for (j, a) in e.args().iter().flatten().enumerate() {
            let index = a.index();
            for n in e.names() {
                let Some(bits) = crate::arch::argwidth::dodgeable_bits(n, index, wide) else {
                    continue;
                };
                let Some((plain, dodged)) = dodge(a, bits) else {
                    continue;
                };
                let info =
                    crate::arch::argwidth::arg_info(n, index).expect("dodgeable_bits knows it");
                let mask = crate::arch::argwidth::read_mask(bits);
                let verb = |m: bool| if m { "matches" } else { "does not match" };
                // Which way the dodge goes: to a weaker action (an escape: warning) or to a
                // stricter one (calls refused that the author meant to let through: note).
                let action = action_from_oci(e.action(), e.errno_ret());
                let outcome = |m: bool| if m { action } else { default };
                let (mut got_plain, mut got_dodged) = (
                    outcome(arg_matches(a, plain)),
                    outcome(arg_matches(a, dodged)),
                );
                let mut escapes =
                    crate::action::strictness(got_dodged) < crate::action::strictness(got_plain);
                // The value the entry names is what its author meant: if a call the kernel
                // reads as that same value (zero- or sign-extended, or with other upper
                // bits) gets a weaker action than the value itself, that call escapes the
                // entry, whichever of the two the search above happened to pick.
                let named = if a.op() == LinuxSeccompOperator::ScmpCmpMaskedEq {
                    a.value_two().unwrap_or(0) & a.value()
                } else {
                    a.value()
                };
                let low = named & mask;
                let sign = 1u64 << (bits - 1);
                let signed = if low & sign != 0 { low | !mask } else { low };
                let meant = outcome(arg_matches(a, named));
                for m in [low, signed, low | !mask, low | (1u64 << bits)] {
                    let got = outcome(arg_matches(a, m));
                    if !escapes && crate::action::strictness(got) < crate::action::strictness(meant)
                    {
                        escapes = true;
                        (got_plain, got_dodged) = (meant, got);
                    }
                }
                let (severity, effect) = if escapes {
                    (
                        Severity::Warning,
                        format!(
                            "a call gets {} instead of {}",
                            action_text(got_dodged),
                            action_text(got_plain)
                        ),
                    )
                } else {
                    (
                        Severity::Note,
                        format!(
                            "such a call gets {} instead of {} (stricter, so no escape, but \
                             not what the entry says)",
                            action_text(got_dodged),
                            action_text(got_plain)
                        ),
                    )
                };
                if out.full("arg-width", severity) {
                    continue;
                }
                let fix = match a.op() {
                    LinuxSeccompOperator::ScmpCmpEq | LinuxSeccompOperator::ScmpCmpMaskedEq => {
                        format!(
                            "use SCMP_CMP_MASKED_EQ with value (the mask) {mask:#x} and valueTwo \
                             {:#x}, which compares only the bits the kernel reads",
                            if a.op() == LinuxSeccompOperator::ScmpCmpEq {
                                a.value() & mask
                            } else {
                                a.value_two().unwrap_or(0) & a.value() & mask
                            }
                        )
                    }
                    _ => format!(
                        "compare only the bits the kernel reads: SCMP_CMP_MASKED_EQ with value \
                         (the mask) {mask:#x} for each value, or another entry for the calls \
                         whose bits above {mask:#x} are set (SCMP_CMP_GT {mask:#x})"
                    ),
                };
                let message = match cx.reading {
                    ArgReading::Literal => format!(
                        "{n} reads argument {index} as `{} {}` ({bits} bits; \
                         include/linux/syscalls.h), but on {} the filter compares all 64 bits \
                         (--arg-reading literal, as runc): {dodged:#x} {} this comparison while \
                         {plain:#x} {}, and the kernel runs both as {plain:#x}: {effect}; {fix}",
                        info.ty,
                        info.name,
                        wide.name,
                        verb(arg_matches(a, dodged)),
                        verb(arg_matches(a, plain)),
                    ),
                    _ => format!(
                        "{n} reads argument {index} as `{} {}` ({bits} bits; \
                         include/linux/syscalls.h): oci-seccomp decides this comparison on \
                         those {bits} bits (the kernel's reading, the default), so {dodged:#x} \
                         gets what {plain:#x} gets. runc and crun compare all 64 bits on {}: \
                         there {dodged:#x} {} this comparison while {plain:#x} {}, and the \
                         kernel runs both as {plain:#x}: {effect}; for a profile that holds \
                         under them too, {fix}",
                        info.ty,
                        info.name,
                        wide.name,
                        verb(arg_matches(a, dodged)),
                        verb(arg_matches(a, plain)),
                    ),
                };
                out.push(Finding::new(
                    severity,
                    "arg-width",
                    format!("{}.args[{j}]", format_args!("syscalls[{i}]")),
                    message,
                ));
            }
        }
    }
}

/// `tie` (warning): two conditional entries for one syscall whose actions are equally
/// strict but differ (`ERRNO(5)` and `ERRNO(6)`) and whose comparisons can all hold for one
/// call. The runtime spec does not say which decides; runc and crun decide by libseccomp's
/// order, and so do we ([`crate::profile::tie_ranks`]), except where libseccomp refuses the
/// profile (`EEXIST`: runc and crun do not start the container), which is said too.
/// (Unconditional entries: `shadowed-entry`.)
fn ties(profile: &Profile, work: &mut Work<'_>, out: &mut Findings) {
    const CODE: &str = "tie";
    let wide = !arch::native().narrow_args();
    let mut widths: Vec<bool> = profile
        .architectures()
        .iter()
        .map(|a| !a.narrow_args())
        .collect();
    widths.sort_unstable();
    widths.dedup();
    let mut by_name: BTreeMap<&str, Vec<&crate::profile::Rule>> = BTreeMap::new();
    for r in profile.rules() {
        by_name.entry(r.name.as_str()).or_default().push(r);
    }
    let mut said: std::collections::BTreeSet<(usize, usize)> = Default::default();
    for (name, rules) in by_name {
        let n = rules.len() as u64;
        // The ranks (a sort of the chains), then the pairs row by row: a profile with
        // thousands of entries for one syscall stops at the budget or the deadline, and
        // the `unfinished` finding says so.
        if !work.charge(CODE, n.saturating_mul(64)) {
            return;
        }
        let ranks = crate::profile::tie_ranks(&rules, wide);
        for (k, a) in rules.iter().enumerate() {
            if !work.charge(CODE, (n - k as u64).saturating_mul(32)) {
                return;
            }
            for (m, b) in rules.iter().enumerate().skip(k + 1) {
                if a.conditions.is_empty()
                    || b.conditions.is_empty()
                    || a.entry == b.entry
                    || a.action == b.action
                    || prove_strictness(a.action) != prove_strictness(b.action)
                    || said.contains(&(a.entry, b.entry))
                    || !may_both_hold(a, b)
                {
                    continue;
                }
                said.insert((a.entry, b.entry));
                if out.full(CODE, Severity::Warning) {
                    continue;
                }
                let (win, lose) = if ranks[k] < ranks[m] { (a, b) } else { (b, a) };
                // `rules` is in profile order: `a` comes first. Every ABI's chains: on a
                // 32-bit one only low words are compared, so more chains are alike.
                let refused = widths
                    .iter()
                    .any(|&w| crate::profile::libseccomp_refuses(a, b, w));
                out.push(Finding::new(
                    Severity::Warning,
                    CODE,
                    format!("syscalls[{}]", b.entry),
                    format!(
                        "{name}: syscalls[{}] ({}) and syscalls[{}] ({}) can both match one call \
                         with equally strict actions; the runtime spec leaves the choice open. {} \
                         Make the entries' comparisons disjoint, or give them one action",
                        a.entry,
                        a.action,
                        b.entry,
                        b.action,
                        if refused {
                            format!(
                                "{LIBSECCOMP_REFUSES} (EEXIST: runc and crun do not start the \
                                 container; the shorter entry would have to come first); \
                                 oci-seccomp lets syscalls[{}] decide.",
                                win.entry
                            )
                        } else {
                            format!(
                                "Where runc and crun start this profile, they (libseccomp's \
                                 order) and oci-seccomp let syscalls[{}] decide where both \
                                 match, over syscalls[{}] (conformance.md, ties); libseccomp \
                                 refuses some pairs it cannot merge, not all of which check \
                                 can tell.",
                                win.entry, lose.entry
                            )
                        }
                    ),
                ));
            }
        }
    }
}

/// How a `tie` finding says that libseccomp (so runc and crun) refuses the profile.
pub const LIBSECCOMP_REFUSES: &str = "libseccomp refuses such a pair";

fn prove_strictness(a: Action) -> u8 {
    crate::action::strictness(a)
}

/// Whether some call satisfies every comparison of `a` and of `b`. Comparisons on
/// different arguments are independent; on one argument the values where a comparison
/// changes (each constant and its neighbours, 0, the maxima) are tried, which finds every
/// overlap of order and equality comparisons; with masked ones, each of those values
/// filled in to the mask is tried too, and a rare overlap may be missed (no warning).
fn may_both_hold(a: &crate::profile::Rule, b: &crate::profile::Rule) -> bool {
    for index in 0..6u8 {
        let conds: Vec<&crate::profile::Condition> = a
            .conditions
            .iter()
            .chain(&b.conditions)
            .filter(|c| c.index == index)
            .collect();
        if conds.len() < 2 {
            continue;
        }
        let mut candidates: Vec<u64> = vec![0, u64::MAX, 0xffff_ffff, 0x1_0000_0000];
        for c in &conds {
            let v = c.value;
            candidates.extend([v, v.wrapping_sub(1), v.wrapping_add(1)]);
            let m = c.value & 0xffff_ffff;
            candidates.extend([m, m.wrapping_sub(1), m.wrapping_add(1)]);
            let want = c.value_two & c.value;
            candidates.extend([want, want | !c.value]);
        }
        // Values satisfying one masked comparison, combined with each other candidate.
        let fills: Vec<u64> = conds
            .iter()
            .filter(|c| c.op == crate::profile::Op::MaskedEq)
            .map(|c| (c.value, c.value_two & c.value))
            .flat_map(|(mask, want)| {
                candidates
                    .clone()
                    .into_iter()
                    .map(move |x| (x & !mask) | want)
            })
            .collect();
        candidates.extend(fills);
        if !candidates
            .iter()
            .any(|&x| conds.iter().all(|c| c.matches(x)))
        {
            return false;
        }
    }
    true
}

/// `conditions-cover-all` (warning): conditional rules for one syscall with one action
/// whose conditions together match every argument value (`fcntl` `arg1 != 8` in one entry and `arg1 != 10` in another):
/// decided exactly by the proof module's search ([`crate::proof::find_other_within`]) on a
/// profile of just those rules with another default.
///
/// Each syscall's search is charged to the budget. A first round gives every group of
/// rules an equal share of what is left, so that one hard syscall cannot keep the others
/// from being decided; a second round gives the groups still undecided whatever the first
/// round left, in profile order. Groups still undecided are named in the `unfinished`
/// finding.
fn conditions_cover_all(
    cx: &Context<'_>,
    profile: &Profile,
    work: &mut Work<'_>,
    out: &mut Findings,
) {
    const CODE: &str = "conditions-cover-all";
    let entries = cx.entries;
    // Grouping reads every rule and name once.
    if !work.charge(CODE, cx.size) {
        return;
    }
    let native = arch::native();
    let mut groups: BTreeMap<(&str, String), Vec<&crate::profile::Rule>> = BTreeMap::new();
    let unconditional: std::collections::BTreeSet<&str> = profile
        .rules()
        .iter()
        .filter(|r| r.conditions.is_empty())
        .map(|r| r.name.as_str())
        .collect();
    for r in profile.rules() {
        if !r.conditions.is_empty() && !unconditional.contains(r.name.as_str()) {
            groups
                .entry((r.name.as_str(), r.action.to_string()))
                .or_default()
                .push(r);
        }
    }
    // One mention of each name searched, for its restricted profile: the search's model
    // has no ENOSYS stub, so further mentions (which only raise the stub's bound) would
    // change nothing but the cost of every copy.
    let searched: std::collections::BTreeSet<&str> = groups.keys().map(|(n, _)| *n).collect();
    let mut mentions: std::collections::HashMap<&str, Vec<usize>> =
        std::collections::HashMap::new();
    for (k, (_, n)) in profile.names().iter().enumerate() {
        if searched.contains(n.as_str()) {
            mentions.entry(n.as_str()).or_insert_with(|| vec![k]);
        }
    }
    // The searches to make, in profile order.
    let mut todo = Vec::new();
    for ((name, _), rules) in &groups {
        let Some(nr) = arch::resolve(name, native) else {
            continue;
        };
        let action = rules[0].action;
        let mut members: Vec<usize> = rules.iter().map(|r| r.entry).collect();
        members.dedup();
        // One entry with two != on one index: `repeated-index-ne` already says it.
        if members.len() == 1 {
            let args = entries[members[0]].args().clone().unwrap_or_default();
            let mut by_index: BTreeMap<usize, Vec<LinuxSeccompOperator>> = BTreeMap::new();
            for a in &args {
                by_index.entry(a.index()).or_default().push(a.op());
            }
            if by_index.values().any(|ops| {
                ops.len() > 1 && ops.iter().all(|o| *o == LinuxSeccompOperator::ScmpCmpNe)
            }) {
                continue;
            }
        }
        todo.push(CoverSearch {
            name,
            nr: nr as u32,
            action,
            rules: rules.clone(),
            members,
        });
    }
    let mut undecided: Vec<usize> = Vec::new();
    for (k, search) in todo.iter().enumerate() {
        let share = work.budget.left() / (todo.len() - k) as u64;
        if search.run(profile, &mentions, native, share, work.budget, out) == Cover::Undecided {
            undecided.push(k);
        }
    }
    let mut names: Vec<String> = Vec::new();
    for k in undecided {
        let search = &todo[k];
        let left = work.budget.left();
        if search.run(profile, &mentions, native, left, work.budget, out) == Cover::Undecided {
            names.push(format!("{} ({})", search.name, action_text(search.action)));
        }
    }
    if !names.is_empty() {
        let list = listed(&names, ", ", 8);
        work.partial.push((
            CODE,
            format!(
                "not decided for {list}: the search of whether their conditions match every \
                 value needed more steps than were left"
            ),
        ));
    }
}

/// Whether a `conditions-cover-all` search decided.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cover {
    Decided,
    Undecided,
}

/// One `conditions-cover-all` question: do the conditional `rules` of `name` with
/// `action` (from entries `members`) together match every call?
struct CoverSearch<'p> {
    name: &'p str,
    nr: u32,
    action: Action,
    rules: Vec<&'p crate::profile::Rule>,
    members: Vec<usize>,
}

impl CoverSearch<'_> {
    /// Searches within at most `steps` of `budget`, and reports a finding when the rules
    /// cover every value.
    fn run(
        &self,
        profile: &Profile,
        mentions: &std::collections::HashMap<&str, Vec<usize>>,
        native: &crate::arch::ArchInfo,
        steps: u64,
        budget: &mut StepBudget,
        out: &mut Findings,
    ) -> Cover {
        let mine = mentions.get(self.name).map_or(&[][..], Vec::as_slice);
        // Building the restricted profile and its model reads the rules and mentions.
        let setup = (self.rules.len() + mine.len()) as u64;
        if steps < setup || !budget.charge(setup) {
            return Cover::Undecided;
        }
        let other = if self.action == Action::KillProcess {
            Action::Allow
        } else {
            Action::KillProcess
        };
        let sub = profile.restricted(
            mine,
            self.rules.iter().map(|r| (*r).clone()).collect(),
            other,
        );
        let model = crate::Semantics::new(&sub, crate::Stub::Off);
        let mut share = budget.part(steps - setup);
        let found = crate::proof::find_other_within(
            &model,
            native.audit_arch,
            self.nr,
            self.action,
            &mut share,
        );
        budget.absorb(&share);
        match found {
            Ok(None) => {
                let list: Vec<String> = self
                    .members
                    .iter()
                    .map(|k| format!("syscalls[{k}]"))
                    .collect();
                out.push(Finding::new(
                    Severity::Warning,
                    "conditions-cover-all",
                    list[0].clone(),
                    format!(
                        "the conditions of {} ({} for {}) together match every argument value: \
                         every {} call gets {}, as if the entries had no conditions (each \
                         rule is ORed with the others; with != on one argument, any two values \
                         cover everything); write the values to refuse (or allow) with == instead",
                        listed(&list, " and ", LISTED),
                        action_text(self.action),
                        self.name,
                        self.name,
                        action_text(self.action)
                    ),
                ));
                Cover::Decided
            }
            Ok(Some(_)) => Cover::Decided,
            Err(_) => Cover::Undecided,
        }
    }
}

/// Longest `listenerPath`: `sun_path` holds 108 bytes, the last one the NUL (an abstract
/// `@name` replaces the `@` with the leading NUL).
pub const MAX_LISTENER_PATH: usize = 107;
/// Largest state message an agent accepts (runc's and ours: 64 KiB), of which
/// `listenerMetadata` is part.
pub const MAX_LISTENER_STATE: usize = 64 * 1024;

/// `listener-path` (error): `listenerPath` is neither absolute nor `@name`, or longer
/// than `sun_path` holds; the runtime side of the listener protocol refuses it, so `check`
/// says what `run` would refuse.
fn listener_path(cx: &Context<'_>, out: &mut Findings) {
    let Some(p) = cx.spec.listener_path() else {
        return;
    };
    let text = p.to_string_lossy();
    if !(text.starts_with('/') || (text.starts_with('@') && text.len() > 1)) {
        out.push(Finding::new(
            Severity::Error,
            "listener-path",
            "listenerPath",
            format!("{text:?}: must be an absolute path or @name (an abstract socket name)"),
        ));
    } else if text.len() > MAX_LISTENER_PATH {
        out.push(Finding::new(
            Severity::Error,
            "listener-path",
            "listenerPath",
            format!(
                "{} bytes: a socket path must be at most {MAX_LISTENER_PATH} bytes (sun_path)",
                text.len()
            ),
        ));
    }
}

/// `listener-metadata` (error): `listenerMetadata` too long for the state message that
/// carries it, which agents refuse.
fn listener_metadata(cx: &Context<'_>, out: &mut Findings) {
    if let Some(m) = cx.spec.listener_metadata() {
        if m.len() >= MAX_LISTENER_STATE {
            out.push(Finding::new(
                Severity::Error,
                "listener-metadata",
                "listenerMetadata",
                format!(
                    "{} bytes: the state message that carries it may be at most \
                     {MAX_LISTENER_STATE} bytes, which agents enforce",
                    m.len()
                ),
            ));
        }
    }
}

/// Everything `oci-seccomp check` reports for a profile's JSON text: [`check_text_with`]
/// with Docker profiles rendered for this host (Docker's default capabilities, the native
/// architecture, the running kernel).
pub fn check_text(json: &str) -> Vec<Finding> {
    check_text_with(json, &crate::moby::RenderOptions::host())
}

/// Everything `oci-seccomp check` reports for a profile's JSON text.
///
/// An OCI `linux.seccomp` object is validated, compiled and linted ([`lint`]); parse
/// errors carry line and column. A Docker (moby) profile — `archMap`, `includes`,
/// `excludes`, a legacy `name` or a `comment`, in any letter case, and containers-common's
/// `defaultErrno`/`errno` names — is validated as moby reads it (every error names its
/// JSON path, for example `syscalls[3].includes.minKernel`), rendered for `opts`, and the
/// result is checked as an OCI profile, with each finding's `syscalls[N]` pointing back
/// at the entry of the Docker file.
///
/// An `Error` finding means the profile cannot be installed as written; the others are
/// advice. The findings come sorted by severity, errors first.
pub fn check_text_with(json: &str, opts: &crate::moby::RenderOptions) -> Vec<Finding> {
    check_text_reading(json, opts, ArgReading::Kernel)
}

/// Findings for the calls `runtimes` make after installing the filter
/// ([`crate::runtimes`]) that `program` (compiled for the native architecture) does not
/// allow: per runtime, a `runtime-start` error for the calls whose denial stops it
/// ([`crate::runtimes::RuntimeCall::required`]) and a warning for the others it makes.
/// `no_new_privileges`:
/// whether the containers set it (`false` checks the longer list runtimes need without
/// it).
pub fn runtime_findings(
    program: &crate::Program,
    runtimes: &[crate::runtimes::Runtime],
    no_new_privileges: bool,
) -> Vec<Finding> {
    let arch = crate::arch::native();
    let setting = if no_new_privileges {
        "with no-new-privileges"
    } else {
        "without no-new-privileges"
    };
    let mut out = Vec::new();
    for &r in runtimes {
        let missing = crate::runtimes::missing(program, arch, &r.calls(no_new_privileges));
        let list = |required: bool| -> Vec<String> {
            missing
                .iter()
                .filter(|c| c.required == required)
                .map(ToString::to_string)
                .collect()
        };
        let (needed, made) = (list(true), list(false));
        if !needed.is_empty() {
            out.push(Finding::new(
                Severity::Error,
                "runtime-start",
                "",
                format!(
                    "{r} cannot start a workload under this profile: after installing the \
                     filter it calls {} ({setting}), which the profile denies on {}, and a \
                     denied one stops it; allow {} (or record with --runtime {r})",
                    needed.join(", "),
                    arch.name,
                    if needed.len() == 1 { "it" } else { "them" },
                ),
            ));
        }
        if !made.is_empty() {
            out.push(Finding::new(
                Severity::Warning,
                "runtime-start",
                "",
                format!(
                    "{r} also calls {} after installing the filter ({setting}), which the \
                     profile denies on {}: a denial did not stop it when measured (Go's \
                     runtime calls, a failed close), but its own code then runs on errors \
                     it does not expect; allow {}",
                    made.join(", "),
                    arch.name,
                    if made.len() == 1 { "it" } else { "them" },
                ),
            ));
        }
    }
    out
}

/// [`check_text_with`] for a profile compiled with `reading` ([`ArgReading`]; `check
/// --arg-reading`).
pub fn check_text_reading(
    json: &str,
    opts: &crate::moby::RenderOptions,
    reading: ArgReading,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if json.len() > crate::MAX_PROFILE_BYTES {
        out.push(Finding::new(
            Severity::Error,
            "too-large",
            "",
            format!(
                "the profile is {} bytes; the limit is {} bytes",
                json.len(),
                crate::MAX_PROFILE_BYTES
            ),
        ));
        return out;
    }
    let mut budget =
        StepBudget::new(CHECK_STEPS).with_deadline(std::time::Instant::now() + CHECK_DEADLINE);
    // Reading the text (parsing, validating, rendering) is charged up front.
    budget.charge(READ_STEPS_PER_BYTE.saturating_mul(json.len() as u64));
    // Parsed once here for every look at the JSON itself.
    let value = serde_json::from_str::<serde_json::Value>(json).ok();
    let docker = value.as_ref().is_some_and(crate::moby::is_moby_value);
    let unknown: Findings = value
        .as_ref()
        .map(|v| crate::profile::parse::unknown_keys(v, docker))
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            Finding::new(
                Severity::Warning,
                "unknown-key",
                path.clone(),
                "not a key of this format: it is ignored (as oci-spec and moby do), so a \
                 misspelt key such as `args` silently drops what it holds"
                    .to_string(),
            )
        })
        .collect();
    let mut found = if docker {
        check_moby(json, opts, &mut budget, reading)
    } else {
        let parsed = match &value {
            Some(v) => crate::profile::parse::parse_parsed(json, v),
            None => crate::parse_profile(json),
        };
        match parsed {
            Ok(s) => check_spec(&s, &mut budget, reading),
            Err(crate::ParseError::DockerKey { .. }) => {
                check_moby(json, opts, &mut budget, reading)
            }
            Err(e) => {
                out.push(Finding::new(Severity::Error, "parse", "", e.to_string()));
                return out;
            }
        }
    };
    found.extend(unknown.into_vec());
    found.sort_by_key(|f| std::cmp::Reverse(f.severity));
    found
}

/// Validation, compilation and [`lint`] of a parsed OCI profile, errors first, within what
/// is left of `budget`: the lints that only read the profile first (they take little:
/// Docker's profile costs a few thousand steps), then the compile's complete check with
/// what is left, at most the [`MAX_STEPS`](crate::MAX_STEPS) that `compile` gives
/// it, then the lints that search, with the rest. When the proof runs out of steps with
/// less than `compile` would give it, the `unfinished` finding says so.
fn check_spec(spec: &LinuxSeccomp, budget: &mut StepBudget, reading: ArgReading) -> Vec<Finding> {
    let mut out = Vec::new();
    let profile = validate_quietly(spec, reading);
    let mut linter = Linter::new(spec, budget, reading);
    linter.cheap();
    match &profile {
        Err(e) => out.push(Finding::new(Severity::Error, "invalid", "", e.to_string())),
        Ok(profile) => {
            let budget = &mut *linter.work.budget;
            let given = budget.left().min(crate::MAX_STEPS);
            let mut proof = budget.part(given);
            let compiled = crate::compile_profile_within(
                profile,
                &CompileOptions::default().with_arg_reading(reading),
                &mut proof,
            );
            budget.absorb(&proof);
            match compiled {
                // Out of time, not of steps: `compile` may still prove it. Say what was
                // not finished; that is no finding about the profile.
                Err(crate::CompileError::TooComplexToProve { .. }) if proof.timed_out() => {
                    linter.work.partial.push((
                        "the complete check of the compiled program",
                        format!(
                            "it stopped at check's deadline of {} ms; `oci-seccomp compile` \
                             allows {} steps and decides whether the profile compiles",
                            CHECK_DEADLINE.as_millis(),
                            crate::MAX_STEPS
                        ),
                    ));
                }
                // Out of the steps the lints left it, fewer than `compile` gives: not a
                // finding about the profile either.
                Err(crate::CompileError::TooComplexToProve { .. }) if given < crate::MAX_STEPS => {
                    linter.work.partial.push((
                        "the complete check of the compiled program",
                        format!(
                            "it stopped after the {given} steps left, where `oci-seccomp \
                             compile` allows {} and decides whether the profile compiles",
                            crate::MAX_STEPS
                        ),
                    ));
                }
                Err(e) => out.push(Finding::new(Severity::Error, "compile", "", e.to_string())),
                Ok(_) => {}
            }
        }
    }
    linter.searching(profile.as_ref().ok());
    out.extend(linter.finish());
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// A Docker profile: moby's validation, then the rendered profile's checks with entry
/// indices mapped back to the Docker file.
fn check_moby(
    json: &str,
    opts: &crate::moby::RenderOptions,
    budget: &mut StepBudget,
    reading: ArgReading,
) -> Vec<Finding> {
    let profile = match crate::moby::parse_moby(json) {
        Ok(p) => p,
        Err(e) => {
            let path = e.path().unwrap_or("").to_string();
            // The error's text starts with its path; the finding shows the path once.
            let text = e.to_string();
            let message = text
                .strip_prefix(&format!("{path}: "))
                .map_or(text.clone(), str::to_string);
            return vec![Finding::new(
                Severity::Error,
                "docker-invalid",
                path,
                message,
            )];
        }
    };
    let spec = match crate::moby::render(&profile, opts) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().unwrap_or("").to_string();
            return vec![Finding::new(
                Severity::Error,
                "docker-render",
                path,
                e.to_string(),
            )];
        }
    };
    // Rendered entry k is the Docker file's entry kept[k].
    let kept: Vec<usize> = profile
        .syscalls
        .iter()
        .enumerate()
        .filter(|(_, e)| e.applies(opts))
        .map(|(i, _)| i)
        .collect();
    let mut out: Vec<Finding> = check_spec(&spec, budget, reading)
        .into_iter()
        .map(|mut f| {
            f.path = map_entry_indices(&f.path, &kept);
            f.message = map_entry_indices(&f.message, &kept);
            f
        })
        .collect();
    out.push(Finding::new(
        Severity::Note,
        "docker-rendered",
        "",
        format!(
            "a Docker (moby) profile, checked as rendered for architecture {}, kernel {} and \
             capabilities {} ({} of its {} entries apply); use --arch, --kernel and --cap for \
             another target",
            opts.arch.name,
            opts.kernel,
            if opts.capabilities.is_empty() {
                "none".to_string()
            } else {
                opts.capabilities.join(",")
            },
            kept.len(),
            profile.syscalls.len()
        ),
    ));
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Rewrites every `syscalls[k]` in `text` to `syscalls[kept[k]]`.
fn map_entry_indices(text: &str, kept: &[usize]) -> String {
    const KEY: &str = "syscalls[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        out.push_str(head);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<usize>().ok().and_then(|k| kept.get(k)) {
            Some(i) if tail[digits.len()..].starts_with(']') => out.push_str(&i.to_string()),
            _ => out.push_str(&digits),
        }
        rest = &tail[digits.len()..];
    }
    out.push_str(rest);
    out
}
