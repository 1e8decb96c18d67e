//! Lints of one entry at a time: what it says against the rest of the profile.

use super::tables::{HOT, NAMESPACE_CALLS, RISKY};
use super::{
    action_text, is_deny, known_anywhere, listed, Context, EntryContext, Finding, Findings,
    Severity, LISTED,
};
use crate::action::Action;
use crate::arch::errno::ENOSYS;
use crate::profile::notify_entry;
use oci_spec::runtime::LinuxSeccompOperator;
use std::collections::BTreeMap;
/// `listener-unused` (note): `listenerPath` is set but no entry notifies, so the runtime
/// makes no connection; the agent never hears from this container.
pub(super) fn listener_unused(cx: &Context<'_>, out: &mut Findings) {
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
pub(super) fn notify_without_listener(cx: &Context<'_>, out: &mut Findings) {
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
pub(super) fn rule_equals_default(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
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
    // Names an unconditional entry of another action decides: this conditional entry
    // matches some of their calls but cannot change what they get.
    let decided: Vec<String> = if en.unconditional {
        Vec::new()
    } else {
        en.e.names()
            .iter()
            .filter(|n| cx.precedence.beaten.contains(n.as_str()))
            .cloned()
            .collect()
    };
    let message = if matters.is_empty() && !decided.is_empty() {
        format!(
            "this entry ({}) gives the default action {}, but an unconditional entry of \
             another action decides {} whatever the arguments: it is not compiled and \
             changes nothing",
            listed(en.e.names(), ", ", LISTED),
            action_text(en.action),
            listed(&decided, ", ", LISTED)
        )
    } else if matters.is_empty() {
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
pub(super) fn unknown_syscall(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn duplicate_name(en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn shadowed_entry(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn repeated_index(en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn masked_eq_bits(en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn risky_allow(cx: &Context<'_>, en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn notify_hot(en: &EntryContext<'_>, out: &mut Findings) {
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
pub(super) fn clone3_errno(en: &EntryContext<'_>, out: &mut Findings) {
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
