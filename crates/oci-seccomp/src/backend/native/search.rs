//! The number search: per ABI, the rules of each syscall number, and a binary search over
//! number ranges down to each syscall's diagram (or the default, or the stub).

use super::diagram::{arg_words, conds_of, mask_cond, word_rank, Gen, GenRule, Id, Pending};
use super::NR;
use crate::action::strictness;
use crate::arch;
use crate::arch::{multiplexer_of, multiplexes, ArchInfo};
use crate::bpf::ret;
use crate::profile::semantics::Stub;
use crate::profile::{AbiOrder, Profile};
use std::collections::BTreeMap;

/// The outcome for a number with no rule: the stub or the default.
pub(super) struct NoMatch {
    pub(super) stub: bool,
    pub(super) enosys: u16,
    pub(super) max: Option<u32>,
    pub(super) s390: bool,
    pub(super) default: u32,
}

impl NoMatch {
    pub(super) fn at(&self, nr: u32) -> u32 {
        let enosys = ret::ERRNO | u32::from(self.enosys);
        match self.max {
            Some(max) if self.stub && (nr > max || (self.s390 && nr == 0)) => enosys,
            _ => self.default,
        }
    }
}

/// Profile rule `index` (number `nr` on `a`) as the generator reads it.
fn gen_rule(profile: &Profile, a: &ArchInfo, order: &AbiOrder, nr: u32, index: usize) -> GenRule {
    let r = &profile.rules()[index];
    let mut conds = Some(Vec::new());
    for c in &r.conditions {
        match conds_of(c, a.narrow_args(), a.big_endian) {
            Ok(cs) => conds.as_mut().expect("still possible").extend(cs),
            Err(()) => {
                conds = None;
                break;
            }
        }
    }
    if let Some(cs) = conds.as_mut() {
        cs.sort_by_key(|c| word_rank(c.word(), a.big_endian));
    }
    GenRule {
        nr,
        action: r.action,
        // An unconditional rule beats the conditional ones, except one equal to the
        // default: that one is kept only to take part in precedence, as a rule that
        // always matches (`Profile::rules`).
        unconditional: r.conditions.is_empty() && r.action != profile.default_action(),
        conds,
        // libseccomp's tie order among the syscall's rules.
        rank: order.tie_rank.get(index).copied().unwrap_or(0),
    }
}

/// On a multiplexer, the sub-calls of the syscalls it carries as extra rules of the
/// multiplexer's number (ranked after its own rules when the search meets them), by
/// number; none elsewhere.
fn subcall_rules(profile: &Profile, a: &ArchInfo) -> Vec<GenRule> {
    let mut out = Vec::new();
    if !multiplexes(a) {
        return out;
    }
    // Sub-calls, as the complete check reads them (`profile::semantics`'s `subcalls`).
    let mut by_name: BTreeMap<&str, Vec<&crate::profile::Rule>> = BTreeMap::new();
    for r in profile.rules() {
        if multiplexer_of(&r.name).is_some() {
            by_name.entry(&*r.name).or_default().push(r);
        }
    }
    for (name, rules) in by_name {
        let Some((mux, call, mask)) = multiplexer_of(name) else {
            continue;
        };
        let Some(mux_nr) = arch::resolve(mux, a) else {
            continue;
        };
        // As the complete check reads it (`profile::semantics`'s `subcalls`): an unconditional rule
        // equal to the default joins the strictest outcome.
        let action = match rules
            .iter()
            .find(|r| r.conditions.is_empty() && r.action != profile.default_action())
        {
            Some(r) => r.action,
            None => rules
                .iter()
                .map(|r| r.action)
                .fold(profile.default_action(), |w, a| {
                    if strictness(a) > strictness(w) {
                        a
                    } else {
                        w
                    }
                }),
        };
        let (lo, _) = arg_words(0, a.big_endian);
        out.push(GenRule {
            nr: mux_nr as u32,
            action,
            unconditional: false,
            conds: Some(mask_cond(lo, mask, call).into_iter().collect()),
            rank: 0,
        });
    }
    // By number, in the order added within one (a stable sort).
    out.sort_by_key(|r| r.nr);
    out
}

/// The search of one ABI's numbers, from `floor` (inclusive) to `ceiling` (inclusive);
/// the numbers outside cannot reach it.
pub(super) fn abi_search(
    gen: &mut Gen,
    profile: &Profile,
    a: &ArchInfo,
    stub: Stub,
    floor: u32,
    ceiling: u32,
) -> Vec<(u32, Id)> {
    gen.big_endian = a.big_endian;
    let order = profile.abi_order(a);
    let max = order.max;
    let none = NoMatch {
        stub: stub.applies_to(profile.default_action()),
        enosys: a.enosys(),
        max,
        s390: a.name.starts_with("SCMP_ARCH_S390"),
        default: profile.default_action().to_ret(),
    };
    let subs = subcall_rules(profile, a);
    // A piece per number with rules, and a few per gap between them.
    let mut out: Vec<(u32, Id)> = Vec::with_capacity(2 * order.pairs.len() + 4);
    // The numbers without rules from `lo` to `hi`: the stub's first number and 1 (s390's
    // 0) may change their outcome.
    let gap = |gen: &mut Gen, out: &mut Vec<(u32, Id)>, lo: u32, hi: u32| {
        let mut starts = [Some(lo), Some(1), max.and_then(|m| m.checked_add(1))];
        starts.sort_unstable();
        for s in starts.into_iter().flatten() {
            if s >= lo && s <= hi {
                let t = gen.g.ret(none.at(s));
                push_piece(out, s, t);
            }
        }
    };
    // Each number with rules, in order: the profile's rules of that syscall (profile
    // order) and the sub-calls a multiplexer carries.
    let mut own_groups = order.groups.iter().zip(&order.deciders).peekable();
    let mut sub_groups = subs.chunk_by(|x, y| x.nr == y.nr).peekable();
    let mut next = Some(floor);
    loop {
        let nr = match (own_groups.peek(), sub_groups.peek()) {
            (None, None) => break,
            (Some(((n, _), _)), None) => *n,
            (None, Some(s)) => s[0].nr,
            (Some(((n, _), _)), Some(s)) => (*n).min(s[0].nr),
        };
        let (own, decider): (&[(u32, usize)], _) = match own_groups.next_if(|((n, _), _)| *n == nr)
        {
            Some(((_, range), decider)) => (&order.pairs[range.clone()], *decider),
            None => (&[], None),
        };
        let carried: &[GenRule] = match sub_groups.next_if(|s| s[0].nr == nr) {
            Some(s) => s,
            None => &[],
        };
        if nr < floor || nr > ceiling {
            continue;
        }
        let Some(from) = next else {
            break;
        };
        if nr > from {
            gap(gen, &mut out, from, nr - 1);
        }
        // The first unconditional rule decides (most syscalls of a profile): no rule of
        // the generator's own form is needed for it.
        let t = match decider {
            Some((action, _)) => gen.g.ret(action.to_ret()),
            None => {
                let mut list: Vec<GenRule> = own
                    .iter()
                    .map(|&(n, k)| gen_rule(profile, a, &order, n, k))
                    .collect();
                for (rank, s) in (own.len()..).zip(carried) {
                    list.push(GenRule {
                        nr: s.nr,
                        action: s.action,
                        unconditional: s.unconditional,
                        conds: s.conds.clone(),
                        rank,
                    });
                }
                syscall_diagram(gen, &list, none.at(nr))
            }
        };
        push_piece(&mut out, nr, t);
        next = nr.checked_add(1);
    }
    if let Some(from) = next.filter(|f| *f <= ceiling) {
        gap(gen, &mut out, from, ceiling);
    }
    out
}

/// Appends a piece unless it has its predecessor's outcome.
pub(super) fn push_piece(pieces: &mut Vec<(u32, Id)>, start: u32, t: Id) {
    if pieces.last().is_none_or(|(_, prev)| *prev != t) {
        pieces.push((start, t));
    }
}

/// One syscall's outcome: its first unconditional rule, else the diagram of its
/// conditional rules.
pub(super) fn syscall_diagram(gen: &mut Gen, list: &[GenRule], fallback: u32) -> Id {
    if let Some(r) = list.iter().find(|r| r.unconditional) {
        return gen.g.ret(r.action.to_ret());
    }
    let pending = list
        .iter()
        .filter_map(|r| {
            r.conds.as_ref().map(|conds| Pending {
                action: r.action,
                conds: conds.clone(),
                rank: r.rank,
            })
        })
        .collect();
    gen.diagram(pending, Some(NR), fallback)
}
