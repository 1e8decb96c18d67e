//! Merging profiles by what they decide: a profile that gives every call the least strict
//! (union) or the strictest (intersection) of the inputs' actions, proven to before it is
//! returned.
//!
//! # The design
//!
//! Concatenating entries is not a union: where one input allows a call that another's
//! default denies, the merged profile must allow it, and where entries of two inputs
//! overlap, the strictest would decide. So the inputs' decision procedures are asked of
//! one region at a time together (split where any answer changes), each region gets the
//! combined action, and the regions whose action is not the merged default become entries:
//! each region's argument constraints as one `SCMP_CMP_MASKED_EQ` (or `SCMP_CMP_EQ`) per
//! argument, an interval cut into aligned blocks and an excluded pattern into the bits that
//! differ from it. The regions are disjoint, so no two entries overlap and no tie arises.
//! The result is then walked together with the inputs again, and returned only when it
//! decides every call as the definition says; otherwise nothing is written and the error
//! names the call.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Map, Value};

use crate::action::{strictness, Action};
use crate::arch::{self, ArchInfo};
use crate::bpf::SeccompData;
use crate::compare::Decider;
use crate::error::{CompileError, ParseError};
use crate::profile::semantics::budget::StepBudget;
use crate::profile::semantics::decide::arg_words;
use crate::profile::semantics::space::{Region, Stop, WordSet, ARCH, NR};
use crate::profile::semantics::{Semantics, Stub, MAX_STEPS};
use crate::profile::{Profile, MAX_RULES};

/// How the inputs' actions combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Combine {
    /// The least strict action of the inputs: the merged profile allows what any allows.
    Union,
    /// The strictest: the merged profile allows only what all allow.
    Intersection,
}

/// A merged profile and what the merge had to choose.
#[derive(Debug)]
pub struct Merged {
    /// The merged `linux.seccomp`, proven to decide as the definition says.
    pub spec: LinuxSeccomp,
    /// Where the inputs disagree within one class of action (another errno): which input's
    /// action was kept, one line per region.
    pub choices: Vec<String>,
}

/// Why profiles could not be merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// An input is not valid.
    #[error("input {index}: {source}")]
    Invalid {
        /// Which input (0-based).
        index: usize,
        /// Why.
        source: Box<CompileError>,
    },
    /// Fewer than two inputs.
    #[error("merging needs at least two profiles")]
    TooFew,
    /// The comparison needed more steps than it has.
    #[error(
        "the profiles are too complex to merge: the search needed more than {MAX_STEPS} steps or {} s", crate::compare::WALK_TIME.as_secs()
    )]
    TooComplex,
    /// The merged decisions need more rules than a profile may have.
    #[error("the merged profile would need more than {MAX_RULES} rules")]
    TooManyRules,
    /// The merged profile would not decide some call as the definition says (a decision
    /// one OCI profile cannot express: another action per ABI, an unnamed syscall number,
    /// an action with data OCI cannot write): nothing is written.
    #[error("no OCI profile this merge can write decides {call} as the {combine} of the inputs ({want}); it would give {got}")]
    NotExpressible {
        /// The call, in words.
        call: String,
        /// `union` or `intersection`.
        combine: &'static str,
        /// What the definition gives.
        want: Action,
        /// What the written profile would give.
        got: Action,
    },
    /// The inputs disagree on something no action says: which agent answers NOTIFY
    /// (`listenerPath`, `listenerMetadata`) or the filter flags.
    #[error("the inputs differ in {what}; merge them by hand first (a merge cannot choose one input's {what} for the others)")]
    Settings {
        /// `listenerPath`, `listenerMetadata` or `flags`.
        what: &'static str,
    },
    /// libseccomp (so runc and crun) refuses the merged profile although it accepted every
    /// input: nothing is written.
    #[error("libseccomp (runc, crun) would refuse the merged profile: {reason}")]
    Libseccomp {
        /// libseccomp's error.
        reason: String,
    },
    /// The written profile does not read back.
    #[error("the merged profile does not parse: {0}")]
    Reparse(#[from] ParseError),
}

/// Merges `inputs` (each validated for host `target`) as `combine` says.
///
/// # Errors
///
/// [`MergeError`]: an invalid input, fewer than two, too complex, too many rules, or a
/// merged decision no OCI profile written this way expresses.
pub fn merge(
    inputs: &[LinuxSeccomp],
    combine: Combine,
    target: &'static ArchInfo,
) -> Result<Merged, MergeError> {
    crate::compare::on_deep_stack(|| merge_here(inputs, combine, target))
}

/// [`merge`] on the current thread.
fn merge_here(
    inputs: &[LinuxSeccomp],
    combine: Combine,
    target: &'static ArchInfo,
) -> Result<Merged, MergeError> {
    let budget = crate::compare::bounded_budget();
    if inputs.len() < 2 {
        return Err(MergeError::TooFew);
    }
    let differ = |f: &dyn Fn(&LinuxSeccomp) -> String| inputs.iter().any(|i| f(i) != f(&inputs[0]));
    if differ(&|i| format!("{:?}", i.listener_path())) {
        return Err(MergeError::Settings {
            what: "listenerPath",
        });
    }
    if differ(&|i| format!("{:?}", i.listener_metadata())) {
        return Err(MergeError::Settings {
            what: "listenerMetadata",
        });
    }
    if differ(&|i| format!("{:?}", i.flags())) {
        return Err(MergeError::Settings { what: "flags" });
    }
    let profiles: Vec<Profile> = inputs
        .iter()
        .enumerate()
        .map(|(index, s)| {
            Profile::from_oci_for(s, false, target).map_err(|e| MergeError::Invalid {
                index,
                source: Box::new(e),
            })
        })
        .collect::<Result<_, _>>()?;
    let sides: Vec<Semantics> = profiles
        .iter()
        .map(|p| Semantics::new(p, Stub::Enosys))
        .collect();
    let arches = merged_arches(&profiles, combine);
    let default = combined(
        &profiles
            .iter()
            .map(Profile::default_action)
            .collect::<Vec<_>>(),
        combine,
    );
    let mut leaves = Vec::new();
    let mut region = Region::for_budget(&budget);
    let refs: Vec<Decider<'_>> = sides.iter().map(Decider::Profile).collect();
    walk(&refs, &mut region, &mut |r, actions| {
        leaves.push((r.words.clone(), actions.to_vec()));
        Ok(())
    })
    .map_err(|_| MergeError::TooComplex)?;
    // The merged profile's stub must start where the inputs' last one does: above the
    // highest number any input names, per ABI. Numbers above are left to it; every name the
    // inputs mention is mentioned again (as an entry equal to the default where it has no
    // other), so that the merged profile's highest number is theirs.
    let max_by_abi: BTreeMap<&str, u32> = arches
        .iter()
        .map(|a| {
            let max = profiles
                .iter()
                .filter_map(|p| p.numbers(a).1)
                .max()
                .unwrap_or(0);
            (a.name, max)
        })
        .collect();
    let mentioned: Vec<String> = profiles
        .iter()
        .flat_map(|p| p.names().iter().map(|(_, n)| n.to_string()))
        .filter(|n| arches.iter().any(|a| arch::resolve(n, a).is_some()))
        .collect();
    let (mut entries, choices) = entries_of(&leaves, &arches, &max_by_abi, default, combine)?;
    for (name, list) in &mut entries {
        coalesce(name, list);
    }
    let text = json_profile(default, &arches, &entries, &mentioned, inputs.first());
    let spec = crate::parse_profile(&text.to_string())?;
    let mut choices = choices;
    choices.extend(check(&sides, &spec, combine, target, &budget)?);
    // runc and crun build the merged profile with libseccomp: it must accept it wherever it
    // accepted every input (it refuses some orders of overlapping entries with EEXIST).
    let accepted = |p: &Profile| {
        let opts = crate::CompileOptions::default()
            .with_backend(crate::Backend::Libseccomp)
            .with_target(Some(target));
        crate::libseccomp::build_profile_context(p, &opts).map_err(|e| e.to_string())
    };
    if profiles.iter().all(|p| accepted(p).is_ok()) {
        let merged =
            Profile::from_oci_for(&spec, false, target).map_err(|e| MergeError::Invalid {
                index: inputs.len(),
                source: Box::new(e),
            })?;
        accepted(&merged).map_err(|reason| MergeError::Libseccomp { reason })?;
    }
    Ok(Merged { spec, choices })
}

/// The combined action of `actions` (the first input's on a tie within one class).
pub(crate) fn combined(actions: &[Action], combine: Combine) -> Action {
    let mut best = actions[0];
    for &a in &actions[1..] {
        let (s, t) = (strictness(a), strictness(best));
        let better = match combine {
            Combine::Union => s < t,
            Combine::Intersection => s > t,
        };
        if better {
            best = a;
        }
    }
    best
}

/// The ABIs of the merged profile: those of any input (union) or of all (intersection),
/// the target first.
fn merged_arches(profiles: &[Profile], combine: Combine) -> Vec<&'static ArchInfo> {
    let mut out: Vec<&'static ArchInfo> = Vec::new();
    for p in profiles {
        for a in p.architectures() {
            let in_all = profiles
                .iter()
                .all(|q| q.architectures().iter().any(|b| b.name == a.name));
            if (combine == Combine::Union || in_all) && !out.iter().any(|b| b.name == a.name) {
                out.push(a);
            }
        }
    }
    out
}

/// What the walk calls for each piece: the region and the sides' actions there.
pub(crate) type OnLeaf<'a> = dyn FnMut(&Region, &[Action]) -> Result<(), ()> + 'a;

/// Splits `region` until every side's verdict is constant; calls `leaf` with each piece
/// and the sides' actions there.
pub(crate) fn walk(
    sides: &[Decider<'_>],
    region: &mut Region,
    leaf: &mut OnLeaf<'_>,
) -> Result<(), ()> {
    let mut actions = Vec::with_capacity(sides.len());
    for s in sides {
        match s.verdict(region) {
            Ok(v) => actions.push(v.outcomes[0].0),
            Err(Stop::Split(atom)) => {
                for yes in [false, true] {
                    let sat = region.push(atom, yes).map_err(|_| ())?;
                    let r = if sat {
                        walk(sides, region, leaf)
                    } else {
                        Ok(())
                    };
                    region.pop();
                    r?;
                }
                return Ok(());
            }
            Err(_) => return Err(()),
        }
    }
    leaf(region, &actions)
}

/// One comparison: argument index, operator, `value`, `valueTwo`.
pub(crate) type Comparison = (u8, &'static str, u64, Option<u64>);

/// One entry: action, and per argument index at most one comparison.
pub(crate) type Entry = (Action, Vec<Comparison>);

/// The entries of the merged profile, by syscall name, and the errno choices made.
#[allow(clippy::type_complexity)]
pub(crate) fn entries_of(
    leaves: &[([WordSet; 16], Vec<Action>)],
    arches: &[&'static ArchInfo],
    max_by_abi: &BTreeMap<&str, u32>,
    default: Action,
    combine: Combine,
) -> Result<(BTreeMap<String, Vec<Entry>>, Vec<String>), MergeError> {
    let mut by_name: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    let mut choices = Vec::new();
    let mut rules = 0usize;
    for (words, actions) in leaves {
        let mut action = combined(actions, combine);
        // Within a tie of one class (another errno), the merged default when it is one of
        // them: no entry is needed then, on any ABI.
        if strictness(default) == strictness(action) && actions.contains(&default) {
            action = default;
        }
        let (Some(arch_value), (nr_lo, nr_hi)) = (single(&words[ARCH]), words[NR].bounds()) else {
            continue;
        };
        let Some(abi) = arches.iter().find(|a| {
            a.audit_arch == arch_value
                && (a.audit_arch != arch::AUDIT_ARCH_X86_64
                    || a.x32 == (nr_lo & arch::X32_SYSCALL_BIT != 0))
        }) else {
            continue;
        };
        // Entries come from the first listed ABI that has the name; the check covers
        // the others.
        let reference = |name: &str| arches.iter().find(|a| arch::resolve(name, a).is_some());
        let distinct: Vec<Action> = {
            let mut d = actions.clone();
            d.dedup();
            d
        };
        if distinct.len() > 1
            && distinct
                .iter()
                .all(|a| strictness(*a) == strictness(action))
        {
            choices.push(format!(
                "{} syscalls {nr_lo}..={nr_hi}: kept {action} of {:?}",
                abi.name, distinct
            ));
        }
        if action == default {
            continue;
        }
        let conds = arg_alternatives(words, abi)?;
        let max = max_by_abi.get(abi.name).copied().unwrap_or(0);
        let last = nr_hi.min(max).min(nr_lo.saturating_add(4096));
        for nr in (nr_lo..=last).filter(|n| contains(&words[NR], *n)) {
            let Some(name) = arch::syscall_name(nr as i32, abi) else {
                continue;
            };
            if reference(&name).map(|a| a.name) != Some(abi.name) {
                continue;
            }
            for c in &conds {
                rules += 1;
                if rules > MAX_RULES {
                    return Err(MergeError::TooManyRules);
                }
                by_name
                    .entry(name.clone())
                    .or_default()
                    .push((action, c.clone()));
            }
        }
    }
    choices.sort();
    choices.dedup();
    Ok((by_name, choices))
}

/// Whether `x` is in the word's set: its interval and pattern, none of its exclusions.
fn contains(w: &WordSet, x: u32) -> bool {
    let (lo, hi) = w.bounds();
    let (m, b) = w.pattern();
    (lo..=hi).contains(&x) && x & m == b && w.excluded().iter().all(|(xm, xv)| x & xm != *xv)
}

/// The one value of a word, when it has one.
fn single(w: &WordSet) -> Option<u32> {
    let (lo, hi) = w.bounds();
    let (m, b) = w.pattern();
    if lo == hi {
        Some(lo)
    } else if m == u32::MAX {
        Some(b)
    } else {
        None
    }
}

/// A word's values as masked constraints `(mask, value)`: its interval cut into aligned
/// blocks, each with the word's pattern, minus its excluded patterns.
fn word_blocks(w: &WordSet) -> Vec<(u32, u32)> {
    let (lo, hi) = w.bounds();
    let (pm, pb) = w.pattern();
    let mut blocks: Vec<(u32, u32)> = Vec::new();
    let mut start = u64::from(lo);
    while start <= u64::from(hi) {
        let mut size = 1u64;
        while start % (size * 2) == 0 && start + size * 2 - 1 <= u64::from(hi) && size < 1 << 32 {
            size *= 2;
        }
        let mask = !((size - 1) as u32);
        let (bm, bv) = (mask, start as u32);
        if (bv ^ pb) & (bm & pm) == 0 {
            blocks.push((bm | pm, (bv & bm) | (pb & pm)));
        }
        start += size;
    }
    for &(xm, xv) in w.excluded() {
        let mut next = Vec::new();
        for (m, v) in blocks {
            if (v ^ xv) & (m & xm) != 0 {
                next.push((m, v)); // disjoint from the excluded pattern
                continue;
            }
            // Fix, one by one, the bits the pattern reads and the block leaves free.
            let free = xm & !m;
            let (mut m, mut v) = (m, v);
            for bit in (0..32).map(|i| 1u32 << i).filter(|b| free & b != 0) {
                next.push((m | bit, (v & !bit) | (!xv & bit)));
                m |= bit;
                v = (v & !bit) | (xv & bit);
            }
            // What is left is inside the excluded pattern: dropped.
        }
        blocks = next;
    }
    blocks
}

/// A region's argument constraints on `abi` as alternatives, each one comparison per
/// argument index (ANDed): the product of each argument's blocks.
fn arg_alternatives(
    words: &[WordSet; 16],
    abi: &ArchInfo,
) -> Result<Vec<Vec<Comparison>>, MergeError> {
    let mut alternatives: Vec<Vec<Comparison>> = vec![Vec::new()];
    for k in 0..6usize {
        let (lo_i, hi_i) = arg_words(k, abi.big_endian);
        let lo = word_blocks(&words[lo_i]);
        let hi = if abi.narrow_args() {
            vec![(0, 0)]
        } else {
            word_blocks(&words[hi_i])
        };
        let mut options = Vec::new();
        for &(hm, hv) in &hi {
            for &(lm, lv) in &lo {
                let m = (u64::from(hm) << 32) | u64::from(lm);
                let v = (u64::from(hv) << 32) | u64::from(lv);
                options.push(match m {
                    0 => None,
                    u64::MAX => Some((k as u8, "SCMP_CMP_EQ", v, None)),
                    _ => Some((k as u8, "SCMP_CMP_MASKED_EQ", m, Some(v))),
                });
            }
        }
        if options.len() * alternatives.len() > MAX_RULES {
            return Err(MergeError::TooManyRules);
        }
        alternatives = alternatives
            .iter()
            .flat_map(|a| {
                options.iter().map(move |o| {
                    let mut a = a.clone();
                    a.extend(*o);
                    a
                })
            })
            .collect();
    }
    Ok(alternatives)
}

/// The values one comparison admits, when they are an interval: of the whole 64-bit
/// value (`SCMP_CMP_EQ`, `SCMP_CMP_LE`, `SCMP_CMP_GE`, a `SCMP_CMP_MASKED_EQ` whose mask is
/// ones then zeros), or of the low word with the high word free (a mask whose high word is
/// zero and whose low word is ones then zeros), `Low`.
fn interval(c: &Comparison) -> Option<(Span, u64, u64)> {
    let prefix = |m: u64| m.leading_ones() + m.trailing_zeros() == 64;
    match (c.1, c.3) {
        ("SCMP_CMP_EQ", _) => Some((Span::Whole, c.2, c.2)),
        ("SCMP_CMP_LE", _) => Some((Span::Whole, 0, c.2)),
        ("SCMP_CMP_GE", _) => Some((Span::Whole, c.2, u64::MAX)),
        ("SCMP_CMP_MASKED_EQ", Some(v)) if prefix(c.2) && v & !c.2 == 0 => {
            Some((Span::Whole, v, v | !c.2))
        }
        ("SCMP_CMP_MASKED_EQ", Some(v))
            if c.2 >> 32 == 0 && prefix(c.2 | 0xffff_ffff_0000_0000) && v & !c.2 == 0 =>
        {
            Some((Span::Low, v, v | (!c.2 & 0xffff_ffff)))
        }
        _ => None,
    }
}

/// Which bits of an argument an interval is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    /// The whole 64-bit value.
    Whole,
    /// The low 32 bits, whatever the high ones.
    Low,
}

/// The fewest comparisons on argument `k`, as alternatives, that admit exactly the values
/// whose `span` is in `[lo, hi]`: none for every value; one `EQ`, `LE` or `GE` where the
/// interval reaches a bound, of the whole value or, when the profile reads argument `k` as
/// 32 bits (`low_word_ops`, as Docker's own `socket` entries are written), of the low word;
/// aligned masked blocks otherwise.
fn interval_comparisons(
    k: u8,
    span: Span,
    lo: u64,
    hi: u64,
    low_word_ops: bool,
) -> Vec<Option<Comparison>> {
    let top = match span {
        Span::Whole => u64::MAX,
        Span::Low => u64::from(u32::MAX),
    };
    if lo == 0 && hi == top {
        return vec![None];
    }
    // One low-word value stays a masked equality, which runc's 64-bit reading agrees with.
    if span == Span::Whole || (low_word_ops && lo != hi) {
        if lo == hi {
            return vec![Some((k, "SCMP_CMP_EQ", lo, None))];
        }
        if lo == 0 {
            return vec![Some((k, "SCMP_CMP_LE", hi, None))];
        }
        if hi == top {
            return vec![Some((k, "SCMP_CMP_GE", lo, None))];
        }
    }
    let mut out = Vec::new();
    let mut start = lo;
    loop {
        // The largest aligned block at `start` that ends at or before `hi`.
        let mut size_log = start.trailing_zeros().min(63);
        while size_log > 0 && start + ((1u64 << size_log) - 1) > hi {
            size_log -= 1;
        }
        let last = start + ((1u64 << size_log) - 1);
        let mask = !((1u64 << size_log) - 1) & top;
        out.push(Some(if mask == u64::MAX {
            (k, "SCMP_CMP_EQ", start, None)
        } else {
            (k, "SCMP_CMP_MASKED_EQ", mask, Some(start))
        }));
        if last >= hi {
            return out;
        }
        start = last + 1;
    }
}

/// Joins entries of syscall `name` that ask the same action and the same comparisons but
/// on one argument, where that argument's values are adjacent intervals: `arg1 >= 2^32` is
/// one entry instead of thirty-two blocks, and pieces that together cover an argument
/// become no condition on it. The set of calls each action covers is unchanged (the merged
/// profile is proven afterwards anyway).
pub(crate) fn coalesce(name: &str, list: &mut Vec<Entry>) {
    for k in 0..6u8 {
        cover(k, list);
        let low_word_ops = crate::profile::reading::narrow_bits(name, k) == Some(32);
        // (action, the other comparisons, span) -> the intervals of argument k.
        type Key = (Action, Vec<Comparison>, Span);
        let mut groups: Vec<(Key, Vec<(u64, u64)>)> = Vec::new();
        let mut kept: Vec<Entry> = Vec::new();
        for (action, comps) in list.drain(..) {
            let piece = match comps.iter().find(|c| c.0 == k) {
                None => Some((Span::Low, 0, u64::from(u32::MAX))),
                Some(c) => interval(c),
            };
            let Some((span, lo, hi)) = piece else {
                kept.push((action, comps));
                continue;
            };
            let key = (
                action,
                comps.into_iter().filter(|c| c.0 != k).collect(),
                span,
            );
            match groups.iter_mut().find(|(g, _)| *g == key) {
                Some((_, spans)) => spans.push((lo, hi)),
                None => groups.push((key, vec![(lo, hi)])),
            }
        }
        for ((action, others, span), mut spans) in groups {
            spans.sort_unstable();
            let mut joined: Vec<(u64, u64)> = Vec::new();
            for (lo, hi) in spans {
                match joined.last_mut() {
                    Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                    _ => joined.push((lo, hi)),
                }
            }
            for (lo, hi) in joined {
                for c in interval_comparisons(k, span, lo, hi, low_word_ops) {
                    let mut comps = others.clone();
                    comps.extend(c);
                    comps.sort_by_key(|c| c.0);
                    kept.push((action, comps));
                }
            }
        }
        *list = kept;
    }
}

/// How many 64-bit values of one argument a comparison admits.
fn admitted(c: &Comparison) -> Option<u128> {
    let full = 1u128 << 64;
    match (c.1, c.3) {
        ("SCMP_CMP_EQ", _) => Some(1),
        ("SCMP_CMP_LE", _) => Some(u128::from(c.2) + 1),
        ("SCMP_CMP_GE", _) => Some(full - u128::from(c.2)),
        ("SCMP_CMP_MASKED_EQ", Some(v)) if v & !c.2 == 0 => Some(1u128 << (64 - c.2.count_ones())),
        _ => None,
    }
}

/// Replaces the entries of one action and the same other comparisons whose comparisons on
/// argument `k` together admit every value by one entry without a condition on `k`. The
/// entries come from disjoint regions, so what they admit adds up, and admitting 2^64
/// values is admitting all (`arg0 & 0x7e020000` pieces that cover `clone` entirely are
/// `clone` unconditionally). The merged profile is proven afterwards, which would refuse a
/// wrong joining.
fn cover(k: u8, list: &mut Vec<Entry>) {
    type Key = (Action, Vec<Comparison>);
    let mut sums: Vec<(Key, u128, usize)> = Vec::new();
    for (action, comps) in list.iter() {
        let Some(c) = comps.iter().find(|c| c.0 == k) else {
            continue;
        };
        let Some(n) = admitted(c) else {
            continue;
        };
        let key = (
            *action,
            comps.iter().filter(|c| c.0 != k).cloned().collect(),
        );
        match sums.iter_mut().find(|(g, _, _)| *g == key) {
            Some((_, total, count)) => {
                *total += n;
                *count += 1;
            }
            None => sums.push((key, n, 1)),
        }
    }
    for (key, total, count) in sums {
        if total != 1u128 << 64 || count < 2 {
            continue;
        }
        list.retain(|(action, comps)| {
            let at_k = comps.iter().find(|c| c.0 == k);
            let others: Vec<Comparison> = comps.iter().filter(|c| c.0 != k).cloned().collect();
            !(at_k.is_some_and(|c| admitted(c).is_some()) && (*action, others) == key)
        });
        list.push(key);
    }
}

/// An action as OCI writes it: the action's name and its errno (ERRNO, TRACE).
fn oci_action(a: Action) -> (&'static str, Option<u32>) {
    match a {
        Action::KillProcess => ("SCMP_ACT_KILL_PROCESS", None),
        Action::KillThread => ("SCMP_ACT_KILL_THREAD", None),
        Action::Trap(_) => ("SCMP_ACT_TRAP", None),
        Action::Errno(e) => ("SCMP_ACT_ERRNO", Some(u32::from(e))),
        Action::Notify => ("SCMP_ACT_NOTIFY", None),
        Action::Trace(d) => ("SCMP_ACT_TRACE", Some(u32::from(d))),
        Action::Log => ("SCMP_ACT_LOG", None),
        Action::Allow => ("SCMP_ACT_ALLOW", None),
    }
}

/// The merged profile as JSON: entries grouped by action and comparisons, names sorted;
/// the first input's flags and listener.
pub(crate) fn json_profile(
    default: Action,
    arches: &[&'static ArchInfo],
    entries: &BTreeMap<String, Vec<Entry>>,
    mentioned: &[String],
    settings: Option<&LinuxSeccomp>,
) -> Value {
    let mut groups: BTreeMap<String, (Value, Vec<String>)> = BTreeMap::new();
    let unlisted: Vec<String> = mentioned
        .iter()
        .filter(|n| !entries.contains_key(*n))
        .cloned()
        .collect();
    if !unlisted.is_empty() {
        let (act, errno) = oci_action(default);
        let mut e = Map::new();
        e.insert("action".into(), json!(act));
        if let Some(n) = errno {
            e.insert("errnoRet".into(), json!(n));
        }
        let key = Value::Object(e);
        groups.insert(key.to_string(), (key, unlisted));
    }
    for (name, list) in entries {
        for (action, args) in list {
            let (act, errno) = oci_action(*action);
            let mut e = Map::new();
            e.insert("action".into(), json!(act));
            if let Some(n) = errno {
                e.insert("errnoRet".into(), json!(n));
            }
            if !args.is_empty() {
                let a: Vec<Value> = args
                    .iter()
                    .map(|(i, op, v, two)| match two {
                        Some(t) => json!({"index": i, "op": op, "value": v, "valueTwo": t}),
                        None => json!({"index": i, "op": op, "value": v}),
                    })
                    .collect();
                e.insert("args".into(), json!(a));
            }
            let key = Value::Object(e);
            groups
                .entry(key.to_string())
                .or_insert_with(|| (key, Vec::new()))
                .1
                .push(name.clone());
        }
    }
    let syscalls: Vec<Value> = groups
        .into_values()
        .map(|(mut e, mut names)| {
            names.sort();
            names.dedup();
            e["names"] = json!(names);
            e
        })
        .collect();
    let (act, errno) = oci_action(default);
    let mut out = Map::new();
    out.insert("defaultAction".into(), json!(act));
    if let Some(n) = errno {
        out.insert("defaultErrnoRet".into(), json!(n));
    }
    out.insert(
        "architectures".into(),
        json!(arches.iter().map(|a| a.name).collect::<Vec<_>>()),
    );
    if let Some(settings) = settings {
        if let Some(flags) = settings.flags() {
            out.insert("flags".into(), json!(flags));
        }
        if let Some(l) = settings.listener_path() {
            out.insert("listenerPath".into(), json!(l));
        }
        if let Some(m) = settings.listener_metadata() {
            out.insert("listenerMetadata".into(), json!(m));
        }
    }
    out.insert("syscalls".into(), json!(syscalls));
    Value::Object(out)
}

/// Walks the inputs and the merged profile together: the merged profile must give every
/// call the combined action, or an action exactly as strict (another errno, where the
/// inputs' ENOSYS stubs and defaults split one class differently per ABI); each such
/// region is returned as a note.
fn check(
    sides: &[Semantics],
    spec: &LinuxSeccomp,
    combine: Combine,
    target: &'static ArchInfo,
    budget: &StepBudget,
) -> Result<Vec<String>, MergeError> {
    let merged = Profile::from_oci_for(spec, false, target).map_err(|e| MergeError::Invalid {
        index: sides.len(),
        source: Box::new(e),
    })?;
    let merged = Semantics::new(&merged, Stub::Enosys);
    let mut all: Vec<Decider<'_>> = sides.iter().map(Decider::Profile).collect();
    all.push(Decider::Profile(&merged));
    let mut region = Region::for_budget(budget);
    let mut wrong: Option<MergeError> = None;
    let mut notes = Vec::new();
    walk(&all, &mut region, &mut |r, actions| {
        let (inputs, got) = actions.split_at(actions.len() - 1);
        let want = combined(inputs, combine);
        // Where the inputs disagree within the combined action's class (another errno),
        // any of their actions of that class is the definition's: the merge picks one.
        let accepted = inputs
            .iter()
            .any(|a| *a == got[0] && strictness(*a) == strictness(want));
        if accepted {
            return Ok(());
        }
        let mut r = r.clone();
        let call: SeccompData = r.sample().map_err(|_| ())?.data();
        if strictness(got[0]) == strictness(want) {
            notes.push(format!(
                "{}: {} where the {} is {want} (as strict)",
                crate::proof::describe_call(&call),
                got[0],
                match combine {
                    Combine::Union => "union",
                    Combine::Intersection => "intersection",
                },
            ));
            return Ok(());
        }
        wrong = Some(MergeError::NotExpressible {
            call: crate::proof::describe_call(&call),
            combine: match combine {
                Combine::Union => "union",
                Combine::Intersection => "intersection",
            },
            want,
            got: got[0],
        });
        Err(())
    })
    .or_else(|()| {
        if wrong.is_some() {
            Ok(())
        } else {
            Err(MergeError::TooComplex)
        }
    })?;
    match wrong {
        Some(e) => Err(e),
        None => Ok(notes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the alternatives admit `x` on argument 0.
    fn admits(alternatives: &[Option<Comparison>], x: u64) -> bool {
        alternatives.iter().any(|c| match c {
            None => true,
            Some((_, "SCMP_CMP_EQ", v, _)) => x == *v,
            Some((_, "SCMP_CMP_LE", v, _)) => x <= *v,
            Some((_, "SCMP_CMP_GE", v, _)) => x >= *v,
            Some((_, "SCMP_CMP_MASKED_EQ", m, Some(v))) => x & m == *v,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn an_interval_is_written_with_the_fewest_comparisons_that_admit_exactly_it() {
        let cases = [
            (Span::Whole, 0, u64::MAX, 1),
            (Span::Whole, 5, 5, 1),
            (Span::Whole, 0, 7, 1),
            (Span::Whole, (1 << 32) + 1, u64::MAX, 1),
            (Span::Whole, 3, 17, 4), // 3, 4..=7, 8..=15, 16..=17
            (Span::Low, 0, u64::from(u32::MAX), 1),
            (Span::Low, 39, 39, 1),
            (Span::Low, 41, u64::from(u32::MAX), 30),
        ];
        for (span, lo, hi, count) in cases {
            let c = interval_comparisons(0, span, lo, hi, false);
            assert_eq!(c.len(), count, "{span:?} {lo}..={hi}: {c:?}");
            let probes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 38, 39, 40, 41, 42];
            let wide = [u64::from(u32::MAX), 1 << 32, (1 << 32) + 1, u64::MAX];
            for x in probes.into_iter().chain(wide) {
                let value = match span {
                    Span::Whole => x,
                    Span::Low => x & 0xffff_ffff,
                };
                assert_eq!(
                    admits(&c, x),
                    (lo..=hi).contains(&value),
                    "{span:?} {lo}..={hi} at {x:#x}: {c:?}"
                );
            }
        }
    }

    #[test]
    fn a_low_word_interval_of_a_32_bit_argument_is_one_order() {
        let top = u64::from(u32::MAX);
        assert_eq!(
            interval_comparisons(0, Span::Low, 41, top, true),
            vec![Some((0, "SCMP_CMP_GE", 41, None))]
        );
        assert_eq!(
            interval_comparisons(0, Span::Low, 0, 37, true),
            vec![Some((0, "SCMP_CMP_LE", 37, None))]
        );
        // One value stays a masked equality, which runc's 64-bit reading agrees with.
        for v in [0, 39, top] {
            assert_eq!(
                interval_comparisons(0, Span::Low, v, v, true),
                vec![Some((0, "SCMP_CMP_MASKED_EQ", top, Some(v)))]
            );
        }
    }

    #[test]
    fn adjacent_pieces_of_one_argument_are_joined_and_others_kept() {
        let allow = Action::Allow;
        let mut list: Vec<Entry> = vec![
            (allow, vec![(0, "SCMP_CMP_LE", 37, None)]),
            (allow, vec![(0, "SCMP_CMP_EQ", 39, None)]),
            (allow, vec![(0, "SCMP_CMP_MASKED_EQ", !0u64 << 3, Some(40))]), // 40..=47
            (allow, vec![(0, "SCMP_CMP_GE", 48, None)]),
            (Action::Errno(1), vec![(0, "SCMP_CMP_EQ", 38, None)]),
        ];
        coalesce("getppid", &mut list);
        list.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(
            list,
            vec![
                (allow, vec![(0, "SCMP_CMP_GE", 39, None)]),
                (allow, vec![(0, "SCMP_CMP_LE", 37, None)]),
                (Action::Errno(1), vec![(0, "SCMP_CMP_EQ", 38, None)]),
            ]
        );
    }
}
