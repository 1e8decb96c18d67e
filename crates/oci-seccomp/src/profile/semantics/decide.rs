//! The decision procedure of [`Semantics`]: which rules may hold in a region, which one
//! decides, and what multiplexed calls may get.

use std::collections::BTreeMap;

use super::space::{Ask, Atom, Stop, FULL};
use super::space::{Test, ARCH, NR};
use super::{beats_conditions, keep_strictest, Abi, Cause, Decision, Semantics, SubCall, Verdict};
use crate::action::{strictness, Action};
use crate::arch::errno::ENOSYS;
use crate::arch::{self, multiplexer_of, ArchInfo, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::profile::{Condition, Op, Profile, Rule};

impl Semantics {
    /// The profile's verdict in the region (or at the point) `q`.
    pub(crate) fn verdict(&self, q: &mut dyn Ask) -> Result<Verdict, Stop> {
        self.decide_for(q, None).map(Verdict::from)
    }

    pub(crate) fn decide_for(
        &self,
        q: &mut dyn Ask,
        only: Option<Action>,
    ) -> Result<Decision, Stop> {
        let mut model = None;
        for m in &self.arches {
            if q.ask(Atom::eq(ARCH, m.audit))? {
                model = Some(m);
                break;
            }
        }
        let Some(m) = model else {
            return Ok(Decision::One(Action::KillThread, Cause::BadArch));
        };
        let bit30 = Atom {
            word: NR,
            test: Test::Masked(X32_SYSCALL_BIT, X32_SYSCALL_BIT),
        };
        let abi = if m.x32.is_some() {
            if q.ask(bit30)? {
                m.x32.as_ref()
            } else {
                m.plain.as_ref()
            }
        } else if m.audit == AUDIT_ARCH_X86_64 {
            if q.ask(Atom {
                word: NR,
                test: Test::Ge(X32_SYSCALL_BIT),
            })? {
                // libseccomp lets -1 (a tracer skipping the call) through to the default,
                // and the stub leaves bit-30 numbers alone.
                if q.ask(Atom::eq(NR, FULL))? {
                    return Ok(Decision::One(self.default, Cause::Default));
                }
                return Ok(Decision::One(Action::KillThread, Cause::BadArch));
            }
            m.plain.as_ref()
        } else {
            m.plain.as_ref()
        };
        let Some(abi) = abi else {
            return Ok(Decision::One(Action::KillThread, Cause::BadArch));
        };
        let (lo, hi) = q.range(NR);
        if let Some(got) = only {
            // Values the region has excluded (the program's `nr == k` tests that led
            // elsewhere) are not among its numbers.
            let excluded = q.excluded_values(NR);
            q.charge(excluded.len() as u64)?;
            if let Some(v) = self.whole_range(abi, (lo, hi), &excluded, got) {
                return Ok(v);
            }
        }
        // The numbers with rules, asked as intervals (below the next one? equal to it?) so
        // that a region splits into ranges rather than collecting exclusions.
        let mut from = lo;
        loop {
            let groups = &abi.order.groups;
            let i = groups.partition_point(|(n, _)| *n < from);
            let Some((nr, range)) = groups.get(i).filter(|(n, _)| *n <= hi) else {
                break;
            };
            let decider = abi.order.deciders.get(i).copied().flatten();
            let rules = &abi.order.pairs[range.clone()];
            // The shared order's decider is what this syscall's rules say (recomputed in
            // test builds, so that the proof's tests also check the shared part).
            debug_assert_eq!(decider, self.decider_of(rules), "the decider of {nr}");
            let ge = Atom {
                word: NR,
                test: Test::Ge(*nr),
            };
            if !q.ask(ge)? {
                // Below `nr` and at least `from`: no rule.
                break;
            }
            let gt = Atom {
                word: NR,
                test: Test::Gt(*nr),
            };
            if !q.ask(gt)? {
                // The common case first, without collecting the rules.
                if let Some((action, entry)) = decider {
                    return Ok(Decision::One(action, Cause::Entry(entry)));
                }
                let rules: Vec<&Rule> = rules.iter().map(|(_, i)| &self.rules[*i]).collect();
                return self.decide_rules(abi, *nr, &rules, q, only);
            }
            match nr.checked_add(1) {
                Some(next) => from = next,
                None => break,
            }
        }
        for (nr, subs) in abi.subcalls.range(lo..=hi) {
            if q.ask(Atom::eq(NR, *nr))? {
                return self.decide_multiplexer(abi, *nr, &[], subs, q);
            }
        }
        self.no_match(abi, q)
    }

    /// The rule among `pairs` (one syscall's `(number, rule index)`, in profile order) that
    /// decides it whatever the others say, found from the rules themselves: what the shared
    /// order's decider must be.
    pub(crate) fn decider_of(&self, pairs: &[(u32, usize)]) -> Option<(Action, usize)> {
        pairs
            .iter()
            .map(|(_, k)| &self.rules[*k])
            .find(|r| beats_conditions(r, self.default))
            .map(|r| (r.action, r.entry))
    }

    /// The rules of syscall `nr` whose equalities fit the region's bounds
    /// ([`equalities_fit`]); through the syscall's [`EqIndex`] when it has one. The work is
    /// charged to the step budget.
    pub(crate) fn fitting<'m>(
        &'m self,
        abi: &Abi,
        nr: u32,
        rules: &[&'m Rule],
        q: &mut dyn Ask,
    ) -> Result<Vec<&'m Rule>, Stop> {
        let Some(index) = abi.eq_index.get(&nr) else {
            q.charge(rules.len() as u64)?;
            return Ok(rules
                .iter()
                .copied()
                .filter(|r| equalities_fit(r, abi, q))
                .collect());
        };
        let mut out: Vec<&Rule> = index.rest.iter().map(|k| &self.rules[*k]).collect();
        for (i, list) in index.by_arg.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let (lo_w, hi_w) = arg_words(i, abi.big_endian);
            let (la, lb) = q.range(lo_w);
            let (from, to) = if abi.narrow {
                (u64::from(la), u64::from(lb))
            } else {
                let (ha, hb) = q.range(hi_w);
                (
                    (u64::from(ha) << 32) | u64::from(la),
                    (u64::from(hb) << 32) | u64::from(lb),
                )
            };
            let start = list.partition_point(|(v, _)| *v < from);
            let end = list.partition_point(|(v, _)| *v <= to);
            q.charge((end - start) as u64 + 1)?;
            out.extend(list[start..end].iter().map(|(_, k)| &self.rules[*k]));
        }
        out.retain(|r| equalities_fit(r, abi, q));
        Ok(out)
    }

    /// The shortcut for a program that returns `got` on every number from `lo` to `hi`
    /// but the `excluded` ones (sorted values the region rules out; the rest is a superset
    /// of the region's numbers, so the answer is sound for the region): when every one of
    /// those numbers gets `got` whatever the arguments (an unconditional
    /// rule, or no rule and a no-match outcome of `got`), the verdict without splitting
    /// the region number by number. `None` when that does not hold or cannot be told
    /// this way (a multiplexer in the range, a conditional rule).
    pub(crate) fn whole_range(
        &self,
        abi: &Abi,
        (lo, hi): (u32, u32),
        excluded: &[u32],
        got: Action,
    ) -> Option<Decision> {
        if abi.subcalls.range(lo..=hi).next().is_some() {
            return None;
        }
        // `excluded` (sorted) holds numbers known to be outside the region: skipped.
        let out = |n: u32| excluded.binary_search(&n).is_ok();
        let start = abi.order.groups.partition_point(|(n, _)| *n < lo);
        let end = abi.order.groups.partition_point(|(n, _)| *n <= hi);
        let groups = &abi.order.groups[start..end];
        let mut cause = None;
        for ((n, range), decider) in groups.iter().zip(&abi.order.deciders[start..end]) {
            if out(*n) {
                continue;
            }
            debug_assert_eq!(
                *decider,
                self.decider_of(&abi.order.pairs[range.clone()]),
                "the decider of {n}"
            );
            let (action, entry) = (*decider)?;
            if action != got {
                return None;
            }
            cause.get_or_insert(Cause::Entry(entry));
        }
        // The numbers without rules in `a..=b` that the region may hold: the excluded
        // ones without rules do not count.
        let gaps = |a: u32, b: u32| -> u64 {
            if a > b {
                return 0;
            }
            let ruled =
                groups.partition_point(|(n, _)| *n <= b) - groups.partition_point(|(n, _)| *n < a);
            let skipped = excluded
                .iter()
                .filter(|v| (a..=b).contains(*v))
                .filter(|v| groups.binary_search_by_key(*v, |(n, _)| *n).is_err())
                .count() as u64;
            (u64::from(b) - u64::from(a) + 1) - ruled as u64 - skipped
        };
        // The numbers without rules get the default or the stub's ENOSYS (`no_match`).
        let (default_needed, enosys_needed) = match abi.order.max.filter(|_| self.stub) {
            None => (gaps(lo, hi) > 0, false),
            Some(max) => {
                let s390 = abi
                    .info
                    .is_some_and(|i| i.name.starts_with("SCMP_ARCH_S390"));
                let zero_gap =
                    s390 && lo == 0 && !out(0) && groups.first().is_none_or(|(n, _)| *n != 0);
                // Rule numbers never exceed `max` (every rule's name is among the names).
                let low = if lo <= max { gaps(lo, hi.min(max)) } else { 0 };
                let high = if hi > max {
                    gaps(lo.max(max.saturating_add(1)), hi)
                } else {
                    0
                };
                (low > u64::from(zero_gap), high > 0 || zero_gap)
            }
        };
        if default_needed && self.default != got {
            return None;
        }
        if enosys_needed && Action::Errno(abi.info.map_or(ENOSYS, ArchInfo::enosys)) != got {
            return None;
        }
        Some(Decision::One(got, cause.unwrap_or(Cause::Default)))
    }

    pub(crate) fn no_match(&self, abi: &Abi, q: &mut dyn Ask) -> Result<Decision, Stop> {
        if self.stub {
            if let Some(max) = abi.order.max {
                let s390 = abi
                    .info
                    .is_some_and(|i| i.name.starts_with("SCMP_ARCH_S390"));
                if q.ask(Atom {
                    word: NR,
                    test: Test::Gt(max),
                })? || (s390 && q.ask(Atom::eq(NR, 0))?)
                {
                    let enosys = abi.info.map_or(ENOSYS, ArchInfo::enosys);
                    return Ok(Decision::One(Action::Errno(enosys), Cause::Stub));
                }
            }
        }
        Ok(Decision::One(self.default, Cause::Default))
    }

    pub(crate) fn decide_rules(
        &self,
        abi: &Abi,
        nr: u32,
        rules: &[&Rule],
        q: &mut dyn Ask,
        only: Option<Action>,
    ) -> Result<Decision, Stop> {
        if let Some(r) = rules.iter().find(|r| beats_conditions(r, self.default)) {
            return Ok(Decision::One(r.action, Cause::Entry(r.entry)));
        }
        if let Some(subs) = abi.subcalls.get(&nr) {
            return self.decide_multiplexer(abi, nr, rules, subs, q);
        }
        if let Some(got) = only {
            // The rules of the program's action whose equalities fit the region (the others
            // cannot hold anywhere in it). Many of them: split the region between their
            // equality constants first, so that each piece keeps about half (asking them
            // one by one would re-ask the earlier ones after every split).
            let fitting = self.fitting(abi, nr, rules, q)?;
            let possible = || fitting.iter().copied().filter(|r| r.action == got);
            if possible().count() > PIVOT_AT {
                let possible: Vec<&Rule> = possible().collect();
                if let Some(atom) = pivot(&possible, abi, q)? {
                    return Err(Stop::Split(atom));
                }
            }
            // A stricter rule that holds wins over every rule of the program's action (the
            // strictest matching rule decides): ask those first, strictest first.
            let is_stricter = |r: &&Rule| strictness(r.action) > strictness(got);
            if fitting.iter().any(is_stricter) {
                let mut stricter: Vec<&Rule> =
                    fitting.iter().copied().filter(is_stricter).collect();
                stricter.sort_by_key(|r| std::cmp::Reverse(strictness(r.action)));
                for r in stricter {
                    if rule_holds(r, abi, q)? {
                        return Ok(Decision::One(r.action, Cause::Entry(r.entry)));
                    }
                }
            }
            // A rule with the program's action that holds settles it, unless an equally
            // strict rule of another action may hold too: then the first holding rule in
            // the tie order ([`crate::profile::tie_ranks`]) decides.
            let tie = fitting
                .iter()
                .any(|r| strictness(r.action) == strictness(got) && r.action != got);
            if tie {
                let mut same: Vec<&Rule> = fitting
                    .iter()
                    .copied()
                    .filter(|r| strictness(r.action) == strictness(got))
                    .collect();
                same.sort_by_key(|r| self.tie_rank(abi, r));
                for r in same {
                    if rule_holds(r, abi, q)? {
                        return Ok(Decision::One(r.action, Cause::Entry(r.entry)));
                    }
                }
            } else {
                for r in possible() {
                    if rule_holds(r, abi, q)? {
                        return Ok(Decision::One(got, Cause::Entry(r.entry)));
                    }
                }
            }
            // None holds: the program is right only if no rule holds at all and the
            // no-match outcome is its action.
            let none = self.no_match(abi, q)?;
            if !none.accepts(got) {
                return Ok(none);
            }
            // When no rule of another action can hold anywhere in the region, the no-match
            // outcome stands for all of it, without splitting the region rule by rule.
            let mut other = false;
            for r in fitting.iter().filter(|r| r.action != got) {
                if may_hold(r, abi, q)? {
                    other = true;
                    break;
                }
            }
            if !other {
                return Ok(none);
            }
            for r in rules.iter().filter(|r| r.action != got) {
                if rule_holds(r, abi, q)? {
                    return Ok(Decision::One(r.action, Cause::Entry(r.entry)));
                }
            }
            return Ok(none);
        }
        // The strictest holding rule decides; between equally strict ones, the tie order.
        let mut best: Option<&Rule> = None;
        for r in rules {
            if rule_holds(r, abi, q)? {
                let beats = best.is_none_or(|b| self.beats(abi, r, b));
                if beats {
                    best = Some(r);
                }
            }
        }
        match best {
            Some(r) => Ok(Decision::One(r.action, Cause::Entry(r.entry))),
            None => self.no_match(abi, q),
        }
    }

    /// A multiplexer without an unconditional rule of its own: its own conditional rules
    /// and the sub-calls of the syscalls it carries.
    pub(crate) fn decide_multiplexer(
        &self,
        abi: &Abi,
        _nr: u32,
        own: &[&Rule],
        subs: &[SubCall],
        q: &mut dyn Ask,
    ) -> Result<Decision, Stop> {
        let mut outcomes = Vec::new();
        let mut at_least = false;
        for s in subs {
            let low = if abi.big_endian { 5 } else { 4 };
            if q.ask(Atom {
                word: low,
                test: Test::Masked(s.mask, s.call),
            })? {
                outcomes.push((s.action, s.cause.clone()));
                at_least = s.at_least;
                break;
            }
        }
        for r in own {
            if rule_holds(r, abi, q)? {
                outcomes.push((r.action, Cause::Entry(r.entry)));
            }
        }
        if outcomes.is_empty() {
            return self.no_match(abi, q);
        }
        let first = outcomes[0].0;
        keep_strictest(&mut outcomes);
        // A stricter own rule replaces the sub-call's floor: it is then what must come.
        let at_least = at_least && outcomes[0].0 == first;
        Ok(Decision::Many(Verdict { outcomes, at_least }))
    }
}

/// Sub-call outcomes on a multiplexing architecture.
pub(crate) fn subcalls(profile: &Profile, a: &ArchInfo, abi: &Abi) -> BTreeMap<u32, Vec<SubCall>> {
    let mut by_name: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for r in profile.rules() {
        if multiplexer_of(&r.name).is_some() {
            by_name.entry(&*r.name).or_default().push(r);
        }
    }
    let mut out: BTreeMap<u32, Vec<SubCall>> = BTreeMap::new();
    for (name, rules) in by_name {
        let Some((mux, call, mask)) = multiplexer_of(name) else {
            continue;
        };
        let Some(mux_nr) = arch::resolve(mux, a) else {
            continue;
        };
        // An unconditional rule equal to the default matches every call but decides
        // nothing by itself: it joins the strictest outcome below.
        let sub = if let Some(r) = rules
            .iter()
            .find(|r| beats_conditions(r, profile.default_action()))
        {
            // libseccomp tests the whole register (`ipc`'s version bits, the upper half
            // of `socketcall`'s `int` on 64-bit ABIs), so other encodings of the same call
            // get the multiplexer's own outcome: accepted when it is stricter.
            SubCall {
                call,
                mask,
                action: r.action,
                at_least: true,
                cause: Cause::Entry(r.entry),
            }
        } else {
            // The filter cannot see the arguments: the strictest outcome.
            let mut worst = (profile.default_action(), Cause::Default);
            for r in &rules {
                if strictness(r.action) > strictness(worst.0) {
                    worst = (
                        r.action,
                        Cause::Multiplexed {
                            entry: r.entry,
                            syscall: name.to_string(),
                        },
                    );
                }
            }
            if worst.1 == Cause::Default {
                worst.1 = Cause::Multiplexed {
                    entry: rules[0].entry,
                    syscall: name.to_string(),
                };
            }
            SubCall {
                call,
                mask,
                action: worst.0,
                at_least: true,
                cause: worst.1,
            }
        };
        let _ = abi;
        out.entry(mux_nr as u32).or_default().push(sub);
    }
    out
}

/// Whether the equality comparisons of `rule` fit the region's word bounds (a cheap
/// necessary condition for the rule to hold somewhere in it; no search).
pub(crate) fn equalities_fit(rule: &Rule, abi: &Abi, q: &dyn Ask) -> bool {
    rule.conditions
        .iter()
        .filter(|c| c.op == Op::Eq && !c.low_word)
        .all(|c| {
            let i = usize::from(c.index);
            let (lo_w, hi_w) = arg_words(i, abi.big_endian);
            let inside = |w: usize, v: u32| {
                let (a, b) = q.range(w);
                a <= v && v <= b
            };
            inside(lo_w, c.value as u32) && (abi.narrow || inside(hi_w, (c.value >> 32) as u32))
        })
}

/// Above this many rules of one action that may hold in a region, the check splits the
/// region between their constants ([`pivot`]) before asking them one by one.
pub(crate) const PIVOT_AT: usize = 8;

/// A question that divides `rules` (all of which may hold in the region) about in half:
/// the median of their equality constants on the argument the first of them compares for
/// equality, on the high word when those constants differ there, else on the low word.
/// `None` when there is no such question the region leaves open.
pub(crate) fn pivot(rules: &[&Rule], abi: &Abi, q: &mut dyn Ask) -> Result<Option<Atom>, Stop> {
    let Some(index) = rules
        .iter()
        .flat_map(|r| r.conditions.iter())
        .find(|c| c.op == Op::Eq && !c.low_word)
        .map(|c| c.index)
    else {
        return Ok(None);
    };
    let mut values: Vec<u64> = rules
        .iter()
        .flat_map(|r| r.conditions.iter())
        .filter(|c| c.op == Op::Eq && !c.low_word && c.index == index)
        .map(|c| {
            if abi.narrow {
                c.value & 0xffff_ffff
            } else {
                c.value
            }
        })
        .collect();
    values.sort_unstable();
    values.dedup();
    if values.len() < 2 {
        return Ok(None);
    }
    let median = values[values.len() / 2];
    let i = usize::from(index);
    let (lo_w, hi_w) = arg_words(i, abi.big_endian);
    let high_differs = !abi.narrow && values.iter().any(|v| v >> 32 != values[0] >> 32);
    let atom = if high_differs {
        Atom {
            word: hi_w,
            test: Test::Ge((median >> 32) as u32),
        }
    } else {
        Atom {
            word: lo_w,
            test: Test::Ge(median as u32),
        }
    };
    let both = q.satisfiable(&[(atom, true)])? && q.satisfiable(&[(atom, false)])?;
    Ok(both.then_some(atom))
}

/// Whether some input of the region satisfies every comparison of `rule` (the exact
/// conditions of [`cond_holds`], as disjunctions of word constraints).
pub(crate) fn may_hold(rule: &Rule, abi: &Abi, q: &mut dyn Ask) -> Result<bool, Stop> {
    // At most two constraints per comparison are chosen at a time.
    let mut chosen = Vec::with_capacity(2 * rule.conditions.len());
    may_hold_from(&rule.conditions, abi, &mut chosen, q)
}

/// [`may_hold`] for the comparisons `rest`, with `chosen` the constraints chosen for the
/// comparisons before them.
pub(crate) fn may_hold_from(
    rest: &[Condition],
    abi: &Abi,
    chosen: &mut Vec<(Atom, bool)>,
    q: &mut dyn Ask,
) -> Result<bool, Stop> {
    let Some((c, rest)) = rest.split_first() else {
        return Ok(true);
    };
    for alt in cond_options(c, abi).iter() {
        let n = chosen.len();
        chosen.extend_from_slice(alt);
        let ok = q.satisfiable(chosen)? && may_hold_from(rest, abi, chosen, q)?;
        chosen.truncate(n);
        if ok {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One comparison as alternatives (any may hold), each a list of word constraints (all
/// must hold): at most two alternatives of at most two constraints ([`cond_options`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CondOptions {
    alts: [[(Atom, bool); 2]; 2],
    /// How many constraints each alternative has (0: no such alternative).
    lens: [usize; 2],
}

impl CondOptions {
    fn one(alt: &[(Atom, bool)]) -> Self {
        Self::from_alts(alt, &[])
    }

    fn two(a: &[(Atom, bool)], b: &[(Atom, bool)]) -> Self {
        Self::from_alts(a, b)
    }

    fn from_alts(a: &[(Atom, bool)], b: &[(Atom, bool)]) -> Self {
        let filler = (Atom::eq(0, 0), true);
        let mut alts = [[filler; 2]; 2];
        alts[0][..a.len()].copy_from_slice(a);
        alts[1][..b.len()].copy_from_slice(b);
        Self {
            alts,
            lens: [a.len(), b.len()],
        }
    }

    /// The alternatives, each as its constraints.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[(Atom, bool)]> {
        self.alts
            .iter()
            .zip(self.lens)
            .filter(|(_, n)| *n > 0)
            .map(|(alt, n)| &alt[..n])
    }
}

/// One condition as alternatives (any may hold), each a list of word constraints (all
/// must hold): the same words and tests [`cond_holds`] asks.
pub(crate) fn cond_options(c: &Condition, abi: &Abi) -> CondOptions {
    let i = usize::from(c.index);
    let (lo_w, hi_w) = arg_words(i, abi.big_endian);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let eq = |w, v| Atom::eq(w, v);
    let gt = Atom::gt;
    let ge = Atom::ge;
    if abi.narrow || c.low_word {
        return CondOptions::one(&[match c.op {
            Op::Eq => (eq(lo_w, vl), true),
            Op::Ne => (eq(lo_w, vl), false),
            Op::Gt => (gt(lo_w, vl), true),
            Op::Ge => (ge(lo_w, vl), true),
            Op::Lt => (ge(lo_w, vl), false),
            Op::Le => (gt(lo_w, vl), false),
            Op::MaskedEq => {
                let m = c.value as u32;
                (
                    Atom {
                        word: lo_w,
                        test: Test::Masked(m, c.value_two as u32 & m),
                    },
                    true,
                )
            }
        }]);
    }
    match c.op {
        Op::Eq => CondOptions::one(&[(eq(hi_w, vh), true), (eq(lo_w, vl), true)]),
        Op::Ne => CondOptions::two(
            &[(eq(hi_w, vh), false)],
            &[(eq(hi_w, vh), true), (eq(lo_w, vl), false)],
        ),
        Op::Gt => CondOptions::two(
            &[(gt(hi_w, vh), true)],
            &[(eq(hi_w, vh), true), (gt(lo_w, vl), true)],
        ),
        Op::Ge => CondOptions::two(
            &[(gt(hi_w, vh), true)],
            &[(eq(hi_w, vh), true), (ge(lo_w, vl), true)],
        ),
        // Not greater-or-equal: below on the high word, or equal there and below on the low.
        Op::Lt => CondOptions::two(
            &[(ge(hi_w, vh), false)],
            &[(eq(hi_w, vh), true), (ge(lo_w, vl), false)],
        ),
        Op::Le => CondOptions::two(
            &[(ge(hi_w, vh), false)],
            &[(eq(hi_w, vh), true), (gt(lo_w, vl), false)],
        ),
        Op::MaskedEq => {
            let (mh, ml) = ((c.value >> 32) as u32, c.value as u32);
            let (th, tl) = ((c.value_two >> 32) as u32 & mh, c.value_two as u32 & ml);
            CondOptions::one(&[
                (
                    Atom {
                        word: hi_w,
                        test: Test::Masked(mh, th),
                    },
                    true,
                ),
                (
                    Atom {
                        word: lo_w,
                        test: Test::Masked(ml, tl),
                    },
                    true,
                ),
            ])
        }
    }
}

/// The word indices of argument `i`'s low and high halves in `seccomp_data`, in the
/// ABI's byte order.
pub(crate) fn arg_words(i: usize, big_endian: bool) -> (usize, usize) {
    if big_endian {
        (5 + 2 * i, 4 + 2 * i)
    } else {
        (4 + 2 * i, 5 + 2 * i)
    }
}

/// Whether every comparison of `rule` holds, asked word by word as the program compares.
pub(crate) fn rule_holds(rule: &Rule, abi: &Abi, q: &mut dyn Ask) -> Result<bool, Stop> {
    for c in &rule.conditions {
        if !cond_holds(c, abi, q)? {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(crate) fn cond_holds(c: &Condition, abi: &Abi, q: &mut dyn Ask) -> Result<bool, Stop> {
    let i = usize::from(c.index);
    let (lo_w, hi_w) = arg_words(i, abi.big_endian);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let eq = |w, v| Atom::eq(w, v);
    let gt = Atom::gt;
    let ge = Atom::ge;
    if abi.narrow || c.low_word {
        // 32-bit ABIs: libseccomp compares the low word with the low word of the value;
        // the kernel's reading of a 32-bit argument does the same on any ABI.
        return Ok(match c.op {
            Op::Eq => q.ask(eq(lo_w, vl))?,
            Op::Ne => !q.ask(eq(lo_w, vl))?,
            Op::Gt => q.ask(gt(lo_w, vl))?,
            Op::Ge => q.ask(ge(lo_w, vl))?,
            Op::Lt => !q.ask(ge(lo_w, vl))?,
            Op::Le => !q.ask(gt(lo_w, vl))?,
            Op::MaskedEq => {
                let m = c.value as u32;
                q.ask(Atom {
                    word: lo_w,
                    test: Test::Masked(m, c.value_two as u32 & m),
                })?
            }
        });
    }
    let eq64 = |q: &mut dyn Ask| -> Result<bool, Stop> {
        Ok(q.ask(eq(hi_w, vh))? && q.ask(eq(lo_w, vl))?)
    };
    // (hi, lo) > (vh, vl) lexicographically, or >= when `or_equal`.
    let greater = |q: &mut dyn Ask, or_equal: bool| -> Result<bool, Stop> {
        if q.ask(gt(hi_w, vh))? {
            return Ok(true);
        }
        if !q.ask(eq(hi_w, vh))? {
            return Ok(false);
        }
        q.ask(if or_equal { ge(lo_w, vl) } else { gt(lo_w, vl) })
    };
    Ok(match c.op {
        Op::Eq => eq64(q)?,
        Op::Ne => !eq64(q)?,
        Op::Gt => greater(q, false)?,
        Op::Ge => greater(q, true)?,
        Op::Lt => !greater(q, true)?,
        Op::Le => !greater(q, false)?,
        Op::MaskedEq => {
            let (mh, ml) = ((c.value >> 32) as u32, c.value as u32);
            let (th, tl) = ((c.value_two >> 32) as u32 & mh, c.value_two as u32 & ml);
            q.ask(Atom {
                word: hi_w,
                test: Test::Masked(mh, th),
            })? && q.ask(Atom {
                word: lo_w,
                test: Test::Masked(ml, tl),
            })?
        }
    })
}
