//! Self-check of a compiled program against the profile's semantics.
//!
//! libseccomp 2.5 merges several conditional rules for one syscall into a decision tree,
//! and that merge is not always right: for example two comparisons `LT 0` and
//! `LT 0x100000005` on the same argument (an OR, since the index repeats) produce a
//! program that lets `arg0 == 2` through. runc and crun install such programs as they are.
//! We simulate the program on the boundaries of every comparison and refuse to return a
//! program that decides otherwise than the profile says: a filter must fail closed, not
//! open.
//!
//! For each syscall the profile names, on every architecture, the argument vectors are
//! built from the comparison constants, word by word as the program compares them: each
//! 32-bit word takes the values around the matching word of every constant (and 0 and the
//! maximum), high and low words are combined, and the indices the syscall's rules use are
//! combined too. Between two consecutive constants every ordered comparison of a word has
//! the same truth value, so this reaches every path the program can take for ordered
//! operators; for masks the expected value with all other bits set is tried as well. The program's action must be the action of a rule that matches
//! (any one, when several entries overlap with different actions, whose order libseccomp
//! decides), or the default action when none matches.

use std::collections::{BTreeMap, BTreeSet};

use crate::arch::{self, ArchInfo};
use crate::error::CompileError;
use crate::profile::{Condition, Op, Profile, Rule};
use crate::program::Program;
use crate::simulate::{simulate, Action};

/// Largest number of argument vectors tried per syscall and architecture.
const MAX_VECTORS: usize = 4096;

fn matches(rule: &Rule, args: &[u64; 6], narrow: bool) -> bool {
    let m = if narrow { 0xffff_ffff } else { u64::MAX };
    rule.conditions.iter().all(|c| {
        let c = Condition {
            value: c.value & m,
            value_two: c.value_two & m,
            ..*c
        };
        c.matches(args[usize::from(c.index)] & m)
    })
}

/// Per argument index, the values to try. libseccomp compares the high and the low
/// 32-bit word of an argument separately, each against the words of the rule constants,
/// so every word takes the values around each constant's word (and 0 and the maximum),
/// and the candidates are all combinations of a high and a low word.
fn candidates(rules: &[&Rule], narrow: bool) -> BTreeMap<u8, Vec<u64>> {
    let m = if narrow { 0xffff_ffff } else { u64::MAX };
    let mut consts: BTreeMap<u8, BTreeSet<u64>> = BTreeMap::new();
    for r in rules {
        for c in &r.conditions {
            let set = consts.entry(c.index).or_default();
            let v = c.value & m;
            set.insert(v);
            if c.op == Op::MaskedEq {
                let want = c.value_two & v;
                set.extend([want, want | (!v & m), want ^ (v & v.wrapping_neg())]);
            }
        }
    }
    let around = |w: u32| [w.wrapping_sub(1), w, w.wrapping_add(1)];
    consts
        .into_iter()
        .map(|(k, cs)| {
            let mut his: BTreeSet<u32> = BTreeSet::from([0, u32::MAX]);
            let mut los: BTreeSet<u32> = BTreeSet::from([0, u32::MAX]);
            for c in cs {
                his.extend(around((c >> 32) as u32));
                los.extend(around(c as u32));
            }
            if narrow {
                his = BTreeSet::from([0]);
            }
            let vals = his
                .iter()
                .flat_map(|h| {
                    los.iter()
                        .map(move |l| (u64::from(*h) << 32) | u64::from(*l))
                })
                .collect();
            (k, vals)
        })
        .collect()
}

/// Argument vectors: the cartesian product of the per-index candidates, or, when that is
/// too large, a deterministic sample of it plus every single-index variation.
fn vectors(per: &BTreeMap<u8, Vec<u64>>) -> Vec<[u64; 6]> {
    let dims: Vec<(u8, &Vec<u64>)> = per.iter().map(|(k, v)| (*k, v)).collect();
    let total = dims
        .iter()
        .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len()));
    let mut out = Vec::new();
    match total {
        Some(n) if n <= MAX_VECTORS => {
            for mut i in 0..n {
                let mut a = [0u64; 6];
                for (idx, vals) in &dims {
                    a[usize::from(*idx)] = vals[i % vals.len()];
                    i /= vals.len();
                }
                out.push(a);
            }
        }
        _ => {
            for (idx, vals) in &dims {
                for v in *vals {
                    let mut a = [0u64; 6];
                    a[usize::from(*idx)] = *v;
                    out.push(a);
                }
            }
            let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
            for _ in 0..MAX_VECTORS {
                let mut a = [0u64; 6];
                for (idx, vals) in &dims {
                    s = s
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    a[usize::from(*idx)] = vals[(s >> 33) as usize % vals.len()];
                }
                out.push(a);
            }
        }
    }
    out
}

/// Checks `program` against `profile`; see the module documentation.
pub fn verify(profile: &Profile, program: &Program) -> Result<(), CompileError> {
    let mut by_name: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for r in &profile.rules {
        by_name.entry(r.name.as_str()).or_default().push(r);
    }
    for a in &profile.architectures {
        let a: &ArchInfo = a;
        let narrow = a.narrow_args();
        for (name, rules) in &by_name {
            let Some(nr) = arch::resolve(name, a) else {
                continue;
            };
            let per = candidates(rules, narrow);
            for args in vectors(&per) {
                let got = simulate(program, a.audit_arch, nr, args).map_err(|e| {
                    CompileError::Miscompiled {
                        entry: format!("syscalls[{}]", rules[0].entry),
                        detail: format!("the program cannot be run: {e}"),
                    }
                })?;
                let matching: Vec<&&Rule> =
                    rules.iter().filter(|r| matches(r, &args, narrow)).collect();
                let ok = if matching.is_empty() {
                    got.action == profile.default_action
                        || got.action == Action::Errno(crate::stub::ENOSYS)
                } else {
                    matching.iter().any(|r| r.action == got.action)
                };
                if !ok {
                    let want = if matching.is_empty() {
                        format!("the default action {}", profile.default_action)
                    } else {
                        let mut acts: Vec<String> =
                            matching.iter().map(|r| r.action.to_string()).collect();
                        acts.dedup();
                        format!(
                            "{} (syscalls[{}] matches)",
                            acts.join(" or "),
                            matching[0].entry
                        )
                    };
                    let entries: BTreeSet<usize> = rules.iter().map(|r| r.entry).collect();
                    let entries: Vec<String> =
                        entries.iter().map(|e| format!("syscalls[{e}]")).collect();
                    return Err(CompileError::Miscompiled {
                        entry: entries.join(", "),
                        detail: format!(
                            "for {name}({}) on {} the program libseccomp {} built returns {} instead of {want}; \
                             libseccomp merges several conditional rules on one argument wrongly in some cases \
                             (LT/LE/NE across OR-split rules); rewrite the conditions, for example with one \
                             entry per range",
                            args.iter().map(|x| format!("{x:#x}")).collect::<Vec<_>>().join(", "),
                            a.name,
                            crate::profile::libseccomp_version_string(),
                            got.action,
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}
