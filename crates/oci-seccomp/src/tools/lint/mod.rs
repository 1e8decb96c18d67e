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

mod bypass;
mod codes;
mod entries;
mod listener;
mod search;
pub(crate) mod tables;
mod text;

use bypass::{
    arg_width, clone3_default, family_bypass, io_uring_bypass, kill_thread, socketcall_bypass,
    vital_denied,
};
use entries::{
    clone3_errno, duplicate_name, listener_unused, masked_eq_bits, notify_hot,
    notify_without_listener, repeated_index, risky_allow, rule_equals_default, shadowed_entry,
    unknown_syscall,
};
use listener::{listener_metadata, listener_path};
use search::{conditions_cover_all, ties};
use tables::{FAMILIES, VITAL};

pub use codes::{describe, CODES};
pub use listener::{MAX_LISTENER_PATH, MAX_LISTENER_STATE};
pub use search::LIBSECCOMP_REFUSES;
pub use text::{check_text, check_text_reading, check_text_with, runtime_findings};

use std::collections::BTreeMap;
use std::fmt;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompArg, LinuxSyscall};
use serde::Serialize;

use crate::action::Action;
use crate::arch;
use crate::profile::{action_from_oci, ArgReading, Profile};
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
