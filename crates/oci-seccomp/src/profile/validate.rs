//! Validation: OCI `linux.seccomp` -> [`Profile`], in named steps, each refusing what it
//! checks with the JSON path, the value and the reason. In the order they run:
//!
//! 1. `default_action`: not NOTIFY; `defaultErrnoRet` in range, on an action with an errno.
//! 2. `architectures`: the target first; each known to this libseccomp, of one byte order.
//! 3. `flags`: the filter flags, required or (without `flags`) optional.
//! 4. `Rules::add_entry`, per `syscalls[i]`: names and errno (4), comparisons
//!    (`entry_conditions`, 4a), each name (`check_name`, 4b; unknown names, a second
//!    unconditional rule, arguments the kernel reads narrower, `check_readable`), its rules
//!    (`add_rules`, 4c: duplicates, [`MAX_RULES_VISITED`], [`MAX_RULES`]).
//! 5. `drop_rules_equal_to_default`: a rule equal to the default stays only where it can
//!    change an outcome.
//! 6. `wait_killable_needs_notify`: `WAIT_KILLABLE_RECV` only with a NOTIFY rule.
//!
//! A new validation rule goes into the step that reads the field it checks, with its own
//! error naming the path; a new step, into `Profile::from_oci_reading`'s list.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};

use super::reading::{kernel_groups, narrow_bits, ArgReading, MAX_RULES_VISITED};
use super::rule::{Condition, Op, Rule};
use super::{DefaultRules, Profile};
use crate::action::Action;
use crate::arch::errno::{EPERM, MAX_ERRNO};
use crate::arch::{self, libseccomp_version, libseccomp_version_string, ArchInfo};
use crate::error::CompileError;
use crate::flags::FilterFlags;

/// Longest syscall name accepted (the longest real one has 23 bytes).
pub const MAX_NAME_LEN: usize = 64;

/// Most distinct rules a profile may have (after repeated argument indices are split into
/// one rule per comparison). Every distinct rule costs at least one instruction, so more
/// can never fit the kernel's 4096-instruction limit; refusing them early also keeps
/// libseccomp, whose rule database grows quadratically, from spending seconds on them.
pub const MAX_RULES: usize = 4096;

/// ABIs whose `setuid`, `setgid`, `setreuid`, `setregid`, `setresuid`, `setresgid`,
/// `setfsuid`, `setfsgid`, `chown`, `lchown` and `fchown` are the old calls with 16-bit
/// ids (`kernel/uid16.c`; the 32-bit ones are the `*32` names there).
const UID16_ABIS: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_ARM", "SCMP_ARCH_S390"];
/// The 16-bit id arguments of those calls.
const UID16_ARGS: &[(&str, &[u8])] = &[
    ("setuid", &[0]),
    ("setgid", &[0]),
    ("setfsuid", &[0]),
    ("setfsgid", &[0]),
    ("setreuid", &[0, 1]),
    ("setregid", &[0, 1]),
    ("setresuid", &[0, 1, 2]),
    ("setresgid", &[0, 1, 2]),
    ("chown", &[1, 2]),
    ("lchown", &[1, 2]),
    ("fchown", &[1, 2]),
];
/// Syscalls with a 64-bit (`loff_t`, `u64`) argument, which 32-bit ABIs pass in two
/// registers, and the first argument index whose register differs from 64-bit ABIs'.
const SPLIT_ARGS: &[(&str, u8)] = &[
    ("fadvise64", 1),
    ("fadvise64_64", 1),
    ("sync_file_range", 1),
    ("sync_file_range2", 2),
    ("fanotify_mark", 2),
    ("fallocate", 2),
    ("readahead", 1),
    ("pread64", 3),
    ("pwrite64", 3),
];

/// ABIs whose `mmap` is the old one, with its arguments in a struct in memory
/// (`old_mmap(struct mmap_arg_struct *)`: x86's number 90, s390's and s390x's).
const OLD_MMAP_ABIS: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_S390", "SCMP_ARCH_S390X"];

/// Refuses comparisons a filter cannot make as the profile means them on one of
/// `arches`: any comparison on `mmap` where it takes its arguments from memory (the
/// registers it compares are not the arguments), and, under the kernel's reading, a
/// comparison on an id that the same name reads as 16 bits on one ABI and 32 on another.
fn check_readable(
    path: &str,
    name: &str,
    conditions: &[Condition],
    arches: &[&'static ArchInfo],
    reading: ArgReading,
) -> Result<(), CompileError> {
    let listed = |abis: &[&str]| {
        arches
            .iter()
            .find(|a| abis.contains(&a.name))
            .map(|a| a.name)
    };
    if name == "mmap" {
        if let Some(abi) = listed(OLD_MMAP_ABIS) {
            return Err(CompileError::invalid(
                format!("{path}.args"),
                "mmap",
                format!(
                    "on {abi} mmap is the old call that takes its arguments from a struct in \
                     memory, which a filter cannot read: these comparisons would test other \
                     registers. Put the conditions on mmap2 (and refuse or allow mmap \
                     unconditionally), or leave {abi} out"
                ),
            ));
        }
    }
    if let Some((_, from)) = SPLIT_ARGS.iter().find(|(n, _)| *n == name) {
        let split = arches
            .iter()
            .find(|a| a.narrow_args() && !a.x32 && !a.name.contains("N32"));
        if let (Some(abi), Some((j, _))) = (
            split,
            conditions
                .iter()
                .enumerate()
                .find(|(_, c)| c.index >= *from),
        ) {
            return Err(CompileError::invalid(
                format!("{path}.args[{j}]"),
                name,
                format!(
                    "on {} {name} passes a 64-bit argument in two registers, so from argument \
                     {from} on the indices name other arguments than on 64-bit ABIs: one \
                     comparison cannot mean the same on both. Compare arguments below {from} \
                     only, or leave the 32-bit ABI out",
                    abi.name
                ),
            ));
        }
    }
    if reading == ArgReading::Kernel {
        if let Some((_, ids)) = UID16_ARGS.iter().find(|(n, _)| *n == name) {
            if let (Some(abi), Some((j, c))) = (
                listed(UID16_ABIS),
                conditions
                    .iter()
                    .enumerate()
                    .find(|(_, c)| ids.contains(&c.index)),
            ) {
                return Err(CompileError::invalid(
                    format!("{path}.args[{j}]"),
                    format!("{} {:#x} for {name}", c.op.name(), c.value),
                    format!(
                        "on {abi} {name} is the old call with 16-bit ids (the kernel reads 16 \
                         bits of this argument there, 32 elsewhere), so one comparison cannot \
                         mean the same on every listed ABI: put the condition on {name}32 for \
                         {abi} in a profile of its own, leave {abi} out, or use the literal \
                         64-bit reading (--arg-reading literal) as runc does"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The first NOTIFY rule among `rules` whose syscall one of `arches` has.
pub(crate) fn notify_rule<'r>(rules: &'r [Rule], arches: &[&'static ArchInfo]) -> Option<&'r Rule> {
    rules.iter().find(|r| {
        r.action == Action::Notify
            && arches.iter().any(|a| {
                arch::resolve(&r.name, a).is_some()
                    || (arch::multiplexes(a)
                        && arch::multiplexer_of(&r.name)
                            .is_some_and(|(mux, _, _)| arch::resolve(mux, a).is_some()))
            })
    })
}

/// The index of the first `syscalls` entry of `spec` whose action is `SCMP_ACT_NOTIFY`,
/// as written (whether or not it installs a rule: see [`Profile::needs_listener`]).
pub fn notify_entry(spec: &LinuxSeccomp) -> Option<usize> {
    spec.syscalls()
        .iter()
        .flatten()
        .position(|e| e.action() == LinuxSeccompAction::ScmpActNotify)
}

/// Converts an OCI action and its optional errno into a kernel action.
pub fn action_from_oci(action: LinuxSeccompAction, errno: Option<u32>) -> Action {
    // Callers validate errno <= MAX_ERRNO first; the cast cannot truncate then.
    let errno = errno.map_or(EPERM, |e| e.min(MAX_ERRNO) as u16);
    match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            Action::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Action::Trap(0),
        LinuxSeccompAction::ScmpActErrno => Action::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => Action::Trace(errno),
        LinuxSeccompAction::ScmpActNotify => Action::Notify,
        LinuxSeccompAction::ScmpActLog => Action::Log,
        LinuxSeccompAction::ScmpActAllow => Action::Allow,
    }
}

fn check_errno(path: &str, errno: Option<u32>) -> Result<(), CompileError> {
    match errno {
        Some(e) if e > MAX_ERRNO => Err(CompileError::invalid(
            path,
            e,
            format!("an errno must be at most {MAX_ERRNO} (MAX_ERRNO); the kernel cannot return a larger one"),
        )),
        Some(MAX_ERRNO) => Err(CompileError::invalid(
            path,
            MAX_ERRNO,
            "libseccomp 2.5 refuses errno 4095 although the kernel's MAX_ERRNO allows it; use at most 4094",
        )),
        _ => Ok(()),
    }
}

/// The runtime spec: "When the action doesn't support an errno, the runtime MUST print an
/// error and fail" (config-linux.md, `errnoRet`). Only ERRNO and TRACE carry one. crun
/// fails too; runc ignores the field (docs/conformance.md).
fn check_errno_allowed(
    path: &str,
    errno: Option<u32>,
    action: LinuxSeccompAction,
) -> Result<(), CompileError> {
    match errno {
        Some(e)
            if !matches!(
                action,
                LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
            ) =>
        {
            Err(CompileError::invalid(
                path,
                e,
                format!(
                    "{action} does not return an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do); \
                     the runtime spec requires a failure here: remove the field or change the action"
                ),
            ))
        }
        _ => Ok(()),
    }
}

impl Profile {
    /// Validates `spec`. `strict` turns the warnings about unknown names and conflicting
    /// unconditional entries into errors.
    ///
    /// # Errors
    ///
    /// A [`CompileError`] naming the JSON path, the value and the reason: NOTIFY as default
    /// action, an errno out of range or on an action without one, an architecture this
    /// libseccomp lacks or of the other byte order, an argument index above 5, a bad or
    /// (when `strict`) unknown syscall name, (when `strict`) conflicting unconditional
    /// entries, too many rules, or `WAIT_KILLABLE_RECV` without a NOTIFY rule.
    pub fn from_oci(spec: &LinuxSeccomp, strict: bool) -> Result<Self, CompileError> {
        Self::from_oci_for(spec, strict, arch::native())
    }

    /// [`Profile::from_oci`] for a program that runs on a host whose native architecture
    /// is `target` (which takes the place runc gives the build host's native one: it is
    /// always in the filter, first, and fixes the byte order).
    ///
    /// # Errors
    ///
    /// As [`Profile::from_oci`].
    pub fn from_oci_for(
        spec: &LinuxSeccomp,
        strict: bool,
        target: &'static ArchInfo,
    ) -> Result<Self, CompileError> {
        Self::from_oci_reading(spec, strict, target, ArgReading::Kernel)
    }

    /// [`Profile::from_oci_for`] with comparisons on narrow arguments decided as `reading`
    /// says ([`ArgReading::Kernel`] elsewhere).
    ///
    /// # Errors
    ///
    /// As [`Profile::from_oci`]; with [`ArgReading::Kernel`] also a constant a narrow
    /// argument cannot hold, a mask of only unread bits, or comparisons that become more
    /// than [`MAX_KERNEL_READING_RULES`](super::MAX_KERNEL_READING_RULES) rules.
    pub fn from_oci_reading(
        spec: &LinuxSeccomp,
        strict: bool,
        target: &'static ArchInfo,
        reading: ArgReading,
    ) -> Result<Self, CompileError> {
        let default_action = default_action(spec)?;
        let architectures = architectures(spec, target)?;
        let flags = flags(spec);
        let mut rules = Rules::sized_for(spec);
        for (i, entry) in spec.syscalls().iter().flatten().enumerate() {
            rules.add_entry(i, entry, strict, &architectures, reading)?;
        }
        rules.drop_rules_equal_to_default(default_action, &architectures);
        wait_killable_needs_notify(&flags, &rules.rules, &architectures)?;
        Ok(Self {
            default_action,
            architectures,
            flags: flags.required,
            optional_flags: flags.optional,
            rules: std::sync::Arc::new(rules.rules),
            names: rules.names,
            name_rows: rules.name_rows,
            rule_rows: rules.rule_rows,
            orders: Default::default(),
        })
    }
}

/// Step 1, the default action: not NOTIFY (every call, the handoff's included, would wait
/// for a supervisor), its errno in range and only on an action that returns one.
fn default_action(spec: &LinuxSeccomp) -> Result<Action, CompileError> {
    if spec.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(CompileError::NotifyDefaultAction);
    }
    check_errno("defaultErrnoRet", spec.default_errno_ret())?;
    check_errno_allowed(
        "defaultErrnoRet",
        spec.default_errno_ret(),
        spec.default_action(),
    )?;
    Ok(action_from_oci(
        spec.default_action(),
        spec.default_errno_ret(),
    ))
}

/// Step 2, the architectures: `target` first, then each listed one once; each must be one
/// the linked libseccomp can build (else every name would resolve to nothing and every call
/// get the default) and of `target`'s byte order (a filter reads arguments in one order).
fn architectures(
    spec: &LinuxSeccomp,
    target: &'static ArchInfo,
) -> Result<Vec<&'static ArchInfo>, CompileError> {
    let version = libseccomp_version();
    let unsupported = |path: String, info: &ArchInfo| {
        let needed = match info.min_libseccomp {
            (2, 6, 0) => "2.6.0",
            (2, 5, 0) => "2.5.0",
            _ => "2.0.0",
        };
        CompileError::UnsupportedArchitecture {
            path,
            arch: info.name.to_string(),
            needed,
            found: libseccomp_version_string(),
        }
    };
    if version < target.min_libseccomp {
        return Err(unsupported("<target>".into(), target));
    }
    let mut architectures: Vec<&'static ArchInfo> = vec![target];
    for (i, a) in spec.architectures().iter().flatten().enumerate() {
        let info = arch::from_oci(*a);
        if version < info.min_libseccomp {
            return Err(unsupported(format!("architectures[{i}]"), info));
        }
        if info.big_endian != target.big_endian {
            return Err(other_byte_order(i, info, target));
        }
        if !architectures.iter().any(|x| x.name == info.name) {
            architectures.push(info);
        }
    }
    Ok(architectures)
}

/// The error for `architectures[i]`, of another byte order than `target`.
fn other_byte_order(i: usize, info: &ArchInfo, target: &ArchInfo) -> CompileError {
    let order = |b: bool| if b { "big-endian" } else { "little-endian" };
    CompileError::invalid(
        format!("architectures[{i}]"),
        info.name,
        format!(
            "{} is {} and cannot share a filter with the target host's {}, which is {} \
             (a filter reads arguments in one byte order); compile it for a {} \
             host (oci-seccomp compile --arch {})",
            info.name,
            order(info.big_endian),
            target.name,
            order(target.big_endian),
            info.name,
            info.name
                .trim_start_matches("SCMP_ARCH_")
                .to_ascii_lowercase()
        ),
    )
}

/// The filter flags of a profile ([`flags`]).
struct Flags {
    /// Flags the loader must apply.
    required: FilterFlags,
    /// Flags the loader applies when the kernel has them.
    optional: FilterFlags,
    /// Index in `flags` of `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, checked once the rules
    /// are known ([`wait_killable_needs_notify`]).
    wait_killable_at: Option<usize>,
}

/// Step 3, the flags: as listed; without `flags`, SPEC_ALLOW where the kernel has it, as
/// runc does.
fn flags(spec: &LinuxSeccomp) -> Flags {
    let Some(list) = spec.flags() else {
        return Flags {
            required: FilterFlags::EMPTY,
            optional: FilterFlags::SPEC_ALLOW,
            wait_killable_at: None,
        };
    };
    let mut required = FilterFlags::EMPTY;
    let mut wait_killable_at = None;
    for (n, flag) in list.iter().enumerate() {
        required |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FilterFlags::LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FilterFlags::TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FilterFlags::SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                wait_killable_at.get_or_insert(n);
                FilterFlags::WAIT_KILLABLE_RECV
            }
        };
    }
    Flags {
        required,
        optional: FilterFlags::EMPTY,
        wait_killable_at,
    }
}

/// Step 6: `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` only with a NOTIFY rule (the kernel
/// refuses it with EINVAL otherwise).
fn wait_killable_needs_notify(
    flags: &Flags,
    rules: &[Rule],
    architectures: &[&'static ArchInfo],
) -> Result<(), CompileError> {
    if let (Some(n), None) = (flags.wait_killable_at, notify_rule(rules, architectures)) {
        return Err(CompileError::invalid(
            format!("flags[{n}]"),
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            "only valid with a SCMP_ACT_NOTIFY rule, and no rule uses SCMP_ACT_NOTIFY \
             (the kernel refuses the filter with EINVAL)",
        ));
    }
    Ok(())
}

/// An entry's comparisons ([`entry_conditions`]).
struct EntryConditions {
    /// As written, valid; a repeated index's duplicates removed.
    conditions: Vec<Condition>,
    /// An argument index is compared more than once: every comparison is its own rule.
    repeated: bool,
    /// The comparison groups, each one rule: all of them, or one per comparison when
    /// `repeated`; none for an entry without comparisons (its one rule has none).
    groups: Vec<Vec<Condition>>,
}

/// Step 4a, one entry's comparisons: indices 0 to 5; `valueTwo` warned about where
/// libseccomp ignores it; a repeated index ORed, as runc, crun and youki do (libseccomp
/// cannot AND two comparisons of one argument).
fn entry_conditions(
    path: &str,
    entry: &oci_spec::runtime::LinuxSyscall,
) -> Result<EntryConditions, CompileError> {
    let mut conditions = Vec::new();
    for (j, a) in entry.args().iter().flatten().enumerate() {
        if a.index() > 5 {
            return Err(CompileError::invalid(
                format!("{path}.args[{j}].index"),
                a.index(),
                "a syscall has six arguments, indices 0 to 5",
            ));
        }
        let op = Op::from_oci(a.op());
        if op == Op::MaskedEq && a.value_two().unwrap_or(0) & !a.value() != 0 {
            tracing::warn!(
                arg = %format!("{path}.args[{j}]"),
                mask = a.value(),
                value_two = a.value_two().unwrap_or(0),
                "valueTwo has bits outside the mask (value); libseccomp ignores them, so the rule \
                 matches when (arg & value) == (valueTwo & value)"
            );
        }
        if op != Op::MaskedEq && a.value_two().is_some_and(|v| v != 0) {
            tracing::warn!(arg = %format!("{path}.args[{j}]"), "valueTwo is only used by SCMP_CMP_MASKED_EQ and is ignored");
        }
        // index <= 5 was checked above.
        conditions.push(Condition::from_oci(a));
    }
    let repeated = conditions
        .iter()
        .enumerate()
        .any(|(k, c)| conditions[..k].iter().any(|d| d.index == c.index));
    if repeated {
        // ORed: the same comparison twice is one rule. Keep the first.
        let mut once = rustc_hash::FxHashSet::default();
        conditions.retain(|c| once.insert(*c));
    }
    let groups = if repeated {
        conditions.iter().map(|c| vec![*c]).collect()
    } else if conditions.is_empty() {
        // An entry without comparisons has no group: its names' rules are made by
        // `Rules::add_unconditional`.
        Vec::new()
    } else {
        vec![conditions.clone()]
    };
    Ok(EntryConditions {
        conditions,
        repeated,
        groups,
    })
}

/// Step 4b, a syscall name: at most [`MAX_NAME_LEN`] bytes, not empty, no NUL.
fn check_name(path: impl Fn() -> String, name: &str) -> Result<(), CompileError> {
    if name.len() > MAX_NAME_LEN {
        return Err(CompileError::invalid(
            path(),
            format!("{:?}...", name.chars().take(32).collect::<String>()),
            format!(
                "a syscall name of {} bytes is longer than {MAX_NAME_LEN}; no syscall has such a name",
                name.len()
            ),
        ));
    }
    if name.is_empty() || name.contains('\0') {
        return Err(CompileError::invalid(
            path(),
            format!("{name:?}"),
            "a syscall name must be non-empty and contain no NUL byte",
        ));
    }
    Ok(())
}

/// `name`'s row in the syscall table ([`arch::table_row`]); a name the table lacks is
/// checked first ([`check_name`]: every name of the table passes it, which a unit test
/// checks, so a known name is not scanned again).
fn checked_row(npath: impl Fn() -> String, name: &str) -> Result<Option<usize>, CompileError> {
    let row = arch::table_row(name);
    if row.is_none() {
        check_name(npath, name)?;
    }
    Ok(row)
}

/// Whether `name`, which the syscall table lacks, is known to libseccomp; an unknown one
/// is skipped with a warning, or (when `strict`) refused.
fn known_or_skipped(
    npath: impl Fn() -> String,
    name: &str,
    strict: bool,
) -> Result<bool, CompileError> {
    if arch::is_known(name) {
        return Ok(true);
    }
    if strict {
        return Err(CompileError::UnknownSyscall {
            path: npath(),
            name: name.to_string(),
            version: libseccomp_version_string(),
        });
    }
    tracing::warn!(entry = %npath(), name = %name, "unknown syscall name skipped");
    Ok(false)
}

/// The error for more than [`MAX_RULES_VISITED`] rules looked at, at `path` (an entry of
/// `names` names and `comparisons` comparisons).
fn too_many_visited(path: &str, names: usize, comparisons: usize) -> CompileError {
    CompileError::invalid(
        path,
        format!("{names} names, {comparisons} comparisons"),
        format!(
            "the entries up to this one make more than {MAX_RULES_VISITED} \
             rules to sort out (each name times each comparison of a repeated \
             index, duplicates included), where at most {MAX_RULES} distinct \
             rules fit a program; list each name and comparison once"
        ),
    )
}

/// The error for more than [`MAX_RULES`] distinct rules, at `npath` (the name `name`).
fn too_many_rules(npath: String, name: &str) -> CompileError {
    CompileError::invalid(
        npath,
        format!("{name:?}"),
        format!(
            "more than {MAX_RULES} distinct rules (repeated argument indices \
             count one rule per comparison); each needs at least one \
             instruction, so the program cannot fit the kernel's limit of \
             {MAX_RULES} instructions"
        ),
    )
}

/// `name` as a profile keeps it: the syscall table's own string when `row` is its row
/// ([`arch::table_row`] of `name`, an exact lookup; no copy for each mention and rule:
/// copies were most of a validation's allocations), a copy otherwise.
fn shared_name(name: &str, row: Option<usize>) -> std::borrow::Cow<'static, str> {
    match row.and_then(arch::table_name) {
        Some(known) => {
            debug_assert_eq!(known, name);
            std::borrow::Cow::Borrowed(known)
        }
        None => std::borrow::Cow::Owned(name.to_string()),
    }
}

/// The rules of a profile as step 4 builds them, entry by entry, with what bounds its work.
struct Rules<'s> {
    rules: Vec<Rule>,
    names: Vec<(usize, std::borrow::Cow<'static, str>)>,
    name_rows: Vec<Option<usize>>,
    rule_rows: Vec<Option<usize>>,
    /// Rules kept so far, for duplicates.
    seen: rustc_hash::FxHashSet<(&'s str, Action, Vec<Condition>)>,
    /// Distinct rules, against [`MAX_RULES`].
    counted: usize,
    /// Rules looked at, duplicates included, against [`MAX_RULES_VISITED`].
    visited: usize,
    /// name -> the first unconditional rule for it, as the index of its mention in
    /// `names`: by syscall table row ([`arch::table_row`]) through `unconditional_rows`
    /// (the index plus one, 0 for none), else by name.
    unconditional_rows: Vec<usize>,
    unconditional: rustc_hash::FxHashMap<&'s str, usize>,
    /// Per entry so far, its action.
    actions: Vec<Action>,
}

impl<'s> Rules<'s> {
    /// Empty, sized once for every name of `spec` (each name is a rule at most once per
    /// comparison group).
    fn sized_for(spec: &LinuxSeccomp) -> Self {
        let total: usize = spec
            .syscalls()
            .iter()
            .flatten()
            .map(|e| e.names().len())
            .sum();
        Self {
            rules: Vec::with_capacity(total),
            names: Vec::with_capacity(total),
            name_rows: Vec::with_capacity(total),
            rule_rows: Vec::with_capacity(total),
            // Only conditional rules are looked up in it (most profiles have few).
            seen: rustc_hash::FxHashSet::default(),
            counted: 0,
            visited: 0,
            unconditional_rows: vec![0; arch::table_len()],
            unconditional: rustc_hash::FxHashMap::default(),
            actions: Vec::with_capacity(spec.syscalls().as_ref().map_or(0, Vec::len)),
        }
    }

    /// Step 4, `syscalls[i]`: at least one name, a valid errno, valid comparisons (4a), and
    /// for each name (4b) its rules, read as `reading` says.
    fn add_entry(
        &mut self,
        i: usize,
        entry: &'s oci_spec::runtime::LinuxSyscall,
        strict: bool,
        architectures: &[&'static ArchInfo],
        reading: ArgReading,
    ) -> Result<(), CompileError> {
        if entry.names().is_empty() {
            return Err(CompileError::invalid(
                format!("syscalls[{i}].names"),
                "[]",
                "an entry must name at least one syscall",
            ));
        }
        if entry.errno_ret().is_some() {
            check_errno(&format!("syscalls[{i}].errnoRet"), entry.errno_ret())?;
            check_errno_allowed(
                &format!("syscalls[{i}].errnoRet"),
                entry.errno_ret(),
                entry.action(),
            )?;
        }
        let action = action_from_oci(entry.action(), entry.errno_ret());
        self.actions.push(action);
        if entry.args().as_ref().is_none_or(|a| a.is_empty()) {
            return self.add_unconditional(i, entry.names(), action, strict);
        }
        // Made here, after the common case: one allocation per entry with comparisons.
        let path = format!("syscalls[{i}]");
        let conditions = entry_conditions(&path, entry)?;
        // The kernel's reading of this entry's comparisons depends on a name only
        // through the widths of the compared arguments: computed once per pattern.
        let mut by_widths: rustc_hash::FxHashMap<[Option<u8>; 6], Vec<Vec<Condition>>> =
            rustc_hash::FxHashMap::default();
        for (j, name) in entry.names().iter().enumerate() {
            let npath = || format!("{path}.names[{j}]");
            let row = checked_row(npath, name)?;
            let shared = shared_name(name, row);
            self.names.push((i, shared.clone()));
            self.name_rows.push(row);
            if row.is_none() && !known_or_skipped(npath, name, strict)? {
                continue;
            }
            check_readable(&path, name, &conditions.conditions, architectures, reading)?;
            let widths: [Option<u8>; 6] = std::array::from_fn(|i| narrow_bits(name, i as u8));
            let narrow = conditions.conditions.iter().any(|c| {
                widths
                    .get(usize::from(c.index))
                    .copied()
                    .flatten()
                    .is_some()
            });
            let groups: &[Vec<Condition>] = if reading == ArgReading::Kernel && narrow {
                match by_widths.entry(widths) {
                    std::collections::hash_map::Entry::Occupied(e) => &*e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => &*e.insert(kernel_groups(
                        &path,
                        name,
                        &conditions.conditions,
                        conditions.repeated,
                    )?),
                }
            } else {
                &conditions.groups
            };
            let sizes = (entry.names().len(), conditions.conditions.len());
            self.add_rules(
                &path,
                npath,
                (i, name, action),
                sizes,
                groups,
                (row, &shared),
            )?;
        }
        Ok(())
    }

    /// Steps 4b and 4c for `syscalls[i]` without comparisons (most names of most
    /// profiles): each name's one rule, as the general loop of [`Rules::add_entry`] makes
    /// it, without the work that only comparisons need.
    fn add_unconditional(
        &mut self,
        i: usize,
        names: &'s [String],
        action: Action,
        strict: bool,
    ) -> Result<(), CompileError> {
        // The mentions (indices into `names`) that make a rule, found first; the rules are
        // then written in one pass.
        let mut kept = Vec::with_capacity(names.len());
        // Every name is a mention, kept or not: recorded in one pass each.
        let start = self.names.len();
        self.name_rows
            .extend(names.iter().map(|name| arch::table_row(name)));
        let rows = &self.name_rows[start..];
        self.names.extend(
            names
                .iter()
                .zip(rows)
                .map(|(name, row)| (i, shared_name(name, *row))),
        );
        for (j, name) in names.iter().enumerate() {
            let npath = || format!("syscalls[{i}].names[{j}]");
            let row = self.name_rows[start + j];
            if row.is_none() {
                check_name(npath, name)?;
                if !known_or_skipped(npath, name, strict)? {
                    continue;
                }
            }
            if !self.first_unconditional((i, j), start + j, (name, row), action, strict)? {
                continue;
            }
            // One rule looked at and kept: as `add_rules` counts it.
            self.visited += 1;
            if self.visited > MAX_RULES_VISITED {
                return Err(too_many_visited(&format!("syscalls[{i}]"), names.len(), 0));
            }
            self.counted += 1;
            if self.counted > MAX_RULES {
                return Err(too_many_rules(npath(), name));
            }
            kept.push(start + j);
        }
        let (mentions, rows) = (&self.names, &self.name_rows);
        self.rule_rows.extend(kept.iter().map(|&k| rows[k]));
        self.rules.extend(kept.iter().map(|&k| Rule {
            entry: i,
            name: mentions[k].1.clone(),
            action,
            conditions: Vec::new(),
        }));
        Ok(())
    }

    /// Whether `syscalls[i].names[j]`'s unconditional rule, the mention `here` of `names`,
    /// is the first for `name`: a second one is dropped (libseccomp keeps the first), with
    /// a warning when its action differs, or (when `strict`)
    /// [`CompileError::ConflictingRule`].
    fn first_unconditional(
        &mut self,
        (i, j): (usize, usize),
        here: usize,
        (name, row): (&'s str, Option<usize>),
        action: Action,
        strict: bool,
    ) -> Result<bool, CompileError> {
        let first = match row.and_then(|r| self.unconditional_rows.get_mut(r)) {
            Some(slot) if *slot == 0 => {
                *slot = here + 1;
                return Ok(true);
            }
            Some(slot) => *slot - 1,
            None => *self.unconditional.entry(name).or_insert(here),
        };
        if first == here {
            return Ok(true);
        }
        // The first mention's entry and place in it (`names` is in entry order), and the
        // entry's action (`actions` has one per entry up to this one).
        let fi = self.names[first].0;
        let fj = first - self.names.partition_point(|(e, _)| *e < fi);
        let first_action = self.actions[fi];
        let first = format!("syscalls[{fi}].names[{fj}]");
        if first_action != action {
            let path = format!("syscalls[{i}].names[{j}]");
            if strict {
                return Err(CompileError::ConflictingRule {
                    path,
                    name: name.to_string(),
                    first,
                    first_action: first_action.to_string(),
                    action: action.to_string(),
                });
            }
            tracing::warn!(
                entry = %path, name = %name, first = %first, first_action = %first_action, %action,
                "a second unconditional entry for this syscall has another action; libseccomp keeps the first"
            );
        }
        Ok(false)
    }

    /// Step 4c, the rules of one name (of an entry with `names` names and `comparisons`
    /// comparisons): one per comparison group, duplicates dropped,
    /// within [`MAX_RULES_VISITED`] looked at and [`MAX_RULES`] kept.
    fn add_rules(
        &mut self,
        path: &str,
        npath: impl Fn() -> String,
        (i, name, action): (usize, &'s str, Action),
        (names, comparisons): (usize, usize),
        groups: &[Vec<Condition>],
        (row, shared): (Option<usize>, &std::borrow::Cow<'static, str>),
    ) -> Result<(), CompileError> {
        // Every rule looked at counts, duplicates too, so that no profile makes
        // validation work without bound (names times comparisons).
        self.visited += groups.len();
        if self.visited > MAX_RULES_VISITED {
            return Err(too_many_visited(path, names, comparisons));
        }
        for group in groups {
            // The same rule twice (same name, action and comparisons) is one rule
            // for libseccomp; keep the first. (An entry without comparisons does not come
            // here: [`Rules::add_unconditional`].)
            if !self.seen.insert((name, action, group.clone())) {
                continue;
            }
            // Every rule counts, including those for names that no listed
            // architecture has: libseccomp still stores and sorts them.
            self.counted += 1;
            if self.counted > MAX_RULES {
                return Err(too_many_rules(npath(), name));
            }
            self.rule_rows.push(row);
            self.rules.push(Rule {
                entry: i,
                name: shared.clone(),
                action,
                conditions: group.clone(),
            });
        }
        Ok(())
    }

    /// Step 5: a rule equal to the default is kept only where it can change an outcome
    /// ([`DefaultRules::matters`]); it is dropped elsewhere, as libseccomp, runc and crun
    /// drop every such rule.
    fn drop_rules_equal_to_default(
        &mut self,
        default_action: Action,
        architectures: &[&'static ArchInfo],
    ) {
        // Most profiles have no rule equal to their default: nothing to drop.
        if self.rules.iter().all(|r| r.action != default_action) {
            return;
        }
        let precedence = DefaultRules {
            other_actions: self
                .rules
                .iter()
                .filter(|r| r.action != default_action)
                .map(|r| &*r.name)
                .collect(),
            beaten: self
                .rules
                .iter()
                .filter(|r| r.action != default_action && r.conditions.is_empty())
                .map(|r| &*r.name)
                .collect(),
            mux_arch: architectures.iter().any(|a| arch::multiplexes(a)),
        };
        let keep: Vec<bool> = self
            .rules
            .iter()
            .map(|r| {
                r.action != default_action || precedence.matters(&r.name, !r.conditions.is_empty())
            })
            .collect();
        if keep.iter().all(|k| *k) {
            return;
        }
        let mut k = keep.iter();
        self.rule_rows.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.rules.retain(|r| {
            let kept = *k.next().unwrap_or(&true);
            if !kept {
                tracing::debug!(entry = r.entry, name = %r.name, action = %r.action, "rule equals the default action and overlaps no rule of another action: dropped");
            }
            kept
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validation checks a name only when the syscall table lacks it (`checked_row`):
    /// sound only while every name of the table passes the check.
    #[test]
    fn every_name_of_the_syscall_table_passes_the_name_check() {
        for row in 0..arch::table_len() {
            let name = arch::table_name(row).expect("a row below the table's length");
            assert!(
                check_name(|| format!("row {row}"), name).is_ok(),
                "{name:?}"
            );
            assert_eq!(arch::table_row(name), Some(row), "{name:?}");
        }
    }
}
