//! Lints that search the input space exhaustively: ties libseccomp decides by its own
//! order, and conditions that together match every call.

use super::{action_text, listed, Context, Finding, Findings, Severity, Work, LISTED};
use crate::action::Action;
use crate::profile::Profile;
use crate::{arch, StepBudget};
use oci_spec::runtime::LinuxSeccompOperator;
use std::collections::BTreeMap;
/// `tie` (warning): two conditional entries for one syscall whose actions are equally
/// strict but differ (`ERRNO(5)` and `ERRNO(6)`) and whose comparisons can all hold for one
/// call. The runtime spec does not say which decides; runc and crun decide by libseccomp's
/// order, and so do we ([`crate::profile::tie_ranks`]), except where libseccomp refuses the
/// profile (`EEXIST`: runc and crun do not start the container), which is said too.
/// (Unconditional entries: `shadowed-entry`.)
pub(super) fn ties(profile: &Profile, work: &mut Work<'_>, out: &mut Findings) {
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
        by_name.entry(&*r.name).or_default().push(r);
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

pub(super) fn prove_strictness(a: Action) -> u8 {
    crate::action::strictness(a)
}

/// Whether some call satisfies every comparison of `a` and of `b`. Comparisons on
/// different arguments are independent; on one argument the values where a comparison
/// changes (each constant and its neighbours, 0, the maxima) are tried, which finds every
/// overlap of order and equality comparisons; with masked ones, each of those values
/// filled in to the mask is tried too, and a rare overlap may be missed (no warning).
pub(super) fn may_both_hold(a: &crate::profile::Rule, b: &crate::profile::Rule) -> bool {
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
pub(super) fn conditions_cover_all(
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
        .map(|r| &*r.name)
        .collect();
    for r in profile.rules() {
        if !r.conditions.is_empty() && !unconditional.contains(&*r.name) {
            groups
                .entry((&*r.name, r.action.to_string()))
                .or_default()
                .push(r);
        }
    }
    // One mention of each name searched, for its restricted profile: the search's semantics
    // has no ENOSYS stub, so further mentions (which only raise the stub's bound) would
    // change nothing but the cost of every copy.
    let searched: std::collections::BTreeSet<&str> = groups.keys().map(|(n, _)| *n).collect();
    let mut mentions: std::collections::HashMap<&str, Vec<usize>> =
        std::collections::HashMap::new();
    for (k, (_, n)) in profile.names().iter().enumerate() {
        if searched.contains(&**n) {
            mentions.entry(&**n).or_insert_with(|| vec![k]);
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
pub(super) enum Cover {
    Decided,
    Undecided,
}

/// One `conditions-cover-all` question: do the conditional `rules` of `name` with
/// `action` (from entries `members`) together match every call?
pub(super) struct CoverSearch<'p> {
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
        // Building the restricted profile and its semantics reads the rules and mentions.
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
        let semantics = crate::Semantics::new(&sub, crate::Stub::Off);
        let mut share = budget.part(steps - setup);
        let found = crate::proof::find_other_within(
            &semantics,
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
