//! The meaning of a profile: what it decides for any call, and which entry decides it.
//!
//! # The problem
//!
//! "What does this profile decide for `socket(AF_INET, ...)`, and which entry decides it?"
//! is the question behind `explain`, the lints that search exhaustively, the trace agent's
//! `decidedBy`, `record --base`, and the proof. It must have one answer, written once.
//!
//! # The design
//!
//! [`Semantics`] is built once from a validated [`Profile`] and the options that change
//! meaning (the [`Stub`]; the reading of narrow arguments is part of the profile). Its
//! decision procedure asks yes/no questions about the input ("is `arch` x86?", "is the low
//! word of `arg0` greater than 5?") through [`space::Ask`]. Asked of one concrete call it
//! is a point query ([`Semantics::decide`]); asked of a [`space::Region`], a question whose
//! answer differs inside the region splits it, so every region ends up with one verdict:
//! the region queries that the proof uses.
//!
//! # What the profile says
//!
//! - `arch` not in the profile: `KILL_THREAD` (libseccomp's bad-architecture action). On
//!   x86_64 without x32, a number with bit 30 set (an x32 call) likewise, except `-1`.
//! - A syscall with an unconditional rule: that rule's action.
//! - Otherwise every conditional rule whose comparisons all hold is a candidate; the
//!   strictest action wins, and among equally strict ones libseccomp's tie order
//!   ([`crate::profile::tie_ranks`]). 32-bit ABIs compare the low word only.
//! - No rule: the ENOSYS stub when it applies (number above the highest the profile
//!   names for that ABI, or 0 on s390), else the default action.
//! - Multiplexers (`socketcall`, `ipc` on x86, s390, PowerPC): the kernel reads a socket or
//!   IPC call's real arguments through a pointer that the filter cannot follow. A sub-call
//!   whose syscall has only conditional rules must get the strictest of the outcomes those
//!   rules and the default can give; a stricter program is accepted, a weaker one is not.
//!   See docs/conformance.md.

pub(crate) mod budget;
pub(crate) mod decide;
pub(crate) mod space;

use std::collections::BTreeMap;

use self::space::Words;
use super::rule::{Op, Rule};
use super::Profile;
use crate::action::{strictness, Action};
use crate::arch::{multiplexes, ArchInfo};
use crate::bpf::SeccompData;
use decide::{subcalls, PIVOT_AT};

pub use budget::{StepBudget, MAX_STEPS};

/// What a program does with a syscall the profile cannot know about because it is newer
/// than every syscall the profile names (docs/design.md §2.2).
///
/// The stub is part of the program's meaning: the proof checks it, and
/// [`crate::Semantics`] decides with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stub {
    /// Such syscalls fail with `ENOSYS`, as runc's stub makes them, so that programs fall
    /// back to an older call instead of failing on the default action (when the default
    /// action would deny them; see [`Stub::applies_to`]). The default.
    #[default]
    Enosys,
    /// No stub: such syscalls get the default action.
    Off,
}

impl Stub {
    /// `Stub::Enosys` when `on`, else `Stub::Off`.
    pub fn enosys_if(on: bool) -> Self {
        if on {
            Self::Enosys
        } else {
            Self::Off
        }
    }

    /// Whether a program with this choice and this default action has a stub: not when
    /// the default already lets syscalls through (ALLOW, LOG), hands them to a tracer, or
    /// returns ENOSYS itself.
    pub fn applies_to(self, default: Action) -> bool {
        self == Self::Enosys
            && !matches!(
                default,
                Action::Allow
                    | Action::Log
                    | Action::Trace(_)
                    | Action::Errno(crate::arch::errno::ENOSYS)
            )
    }
}

/// Why the profile decides a call the way it does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// `syscalls[entry]` matched (its comparisons all hold, or it has none).
    Entry(usize),
    /// No entry matched: `defaultAction`.
    Default,
    /// No entry matched and the number is newer than any the profile names for the ABI:
    /// the ENOSYS stub.
    Stub,
    /// The architecture (or ABI) is not in the profile: libseccomp's bad-architecture action.
    BadArch,
    /// A socket or IPC call through a multiplexer (`socketcall`, `ipc`): the strictest
    /// outcome of `syscalls[entry]` (a conditional entry whose arguments the filter
    /// cannot see) and the default.
    Multiplexed {
        /// The entry with the conditions.
        entry: usize,
        /// The syscall reached through the multiplexer, for example `setsockopt`.
        syscall: String,
    },
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Entry(e) => write!(f, "syscalls[{e}]"),
            Self::Default => f.write_str("defaultAction"),
            Self::Stub => f.write_str("the ENOSYS stub (a syscall newer than the profile)"),
            Self::BadArch => f.write_str("the architecture is not in the profile"),
            Self::Multiplexed { entry, syscall } => {
                write!(f, "syscalls[{entry}] ({syscall} through its multiplexer)")
            }
        }
    }
}

/// What the profile says about a call: the accepted actions, each with its cause. Every
/// listed action is acceptable; `at_least` means a stricter action is acceptable too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Acceptable actions with the entry (or other cause) behind each; never empty.
    pub outcomes: Vec<(Action, Cause)>,
    /// A stricter action than the first outcome is acceptable as well (multiplexed calls).
    pub at_least: bool,
}

impl Verdict {
    pub(crate) fn one(action: Action, cause: Cause) -> Self {
        Self {
            outcomes: vec![(action, cause)],
            at_least: false,
        }
    }

    /// Whether a program that returns `action` decides as the profile says.
    pub fn accepts(&self, action: Action) -> bool {
        self.outcomes.iter().any(|(a, _)| *a == action)
            || (self.at_least && strictness(action) > strictness(self.outcomes[0].0))
    }

    /// The outcome `action` came from, or the first one.
    pub fn cause_of(&self, action: Action) -> &Cause {
        self.outcomes
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&self.outcomes[0].1, |(_, c)| c)
    }
}

/// A [`Verdict`] as the decision procedure makes it: one outcome, without the allocation
/// of a verdict's list (what almost every question of the proof gets), or several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// One acceptable action, and its cause.
    One(Action, Cause),
    /// Several outcomes, or a floor ([`Verdict::at_least`]).
    Many(Verdict),
}

impl Decision {
    /// [`Verdict::accepts`].
    pub(crate) fn accepts(&self, action: Action) -> bool {
        match self {
            Self::One(a, _) => *a == action,
            Self::Many(v) => v.accepts(action),
        }
    }
}

impl From<Decision> for Verdict {
    fn from(d: Decision) -> Self {
        match d {
            Decision::One(action, cause) => Verdict::one(action, cause),
            Decision::Many(v) => v,
        }
    }
}

/// Whether `r` decides its syscall whatever its conditional rules say: an unconditional
/// rule (libseccomp's reading, which runc and crun share), unless it equals the default
/// action. Such a rule installs nothing in runc and crun; we keep it where it can change
/// an outcome (`Profile::rules`) as a rule that always matches, so that the strictest
/// matching rule decides and it never weakens a conditional deny.
pub(crate) fn beats_conditions(r: &Rule, default: Action) -> bool {
    r.conditions.is_empty() && r.action != default
}

/// Keeps the outcomes of the strictest action class among `outcomes` (several when rules
/// of one class but different data, `ERRNO(1)` and `ERRNO(5)`, overlap): when entries of
/// different actions match one call, the strictest decides, as the kernel decides between
/// filters; so an overlapping entry can never weaken a deny.
pub(crate) fn keep_strictest(outcomes: &mut Vec<(Action, Cause)>) {
    if let Some(max) = outcomes.iter().map(|(a, _)| strictness(*a)).max() {
        outcomes.retain(|(a, _)| strictness(*a) == max);
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SubCall {
    call: u32,
    mask: u32,
    action: Action,
    at_least: bool,
    cause: Cause,
}

#[derive(Debug, Default)]
pub(crate) struct Abi {
    info: Option<&'static ArchInfo>,
    narrow: bool,
    big_endian: bool,
    /// The rules by number ([`AbiOrder`](crate::profile::AbiOrder)), shared with the
    /// profile and the generator: the highest number (the stub's bound), the groups of
    /// rules per number, each group's deciding rule, the tie ranks.
    order: std::sync::Arc<crate::profile::AbiOrder>,
    /// Per group of `order` with more than [`PIVOT_AT`] rules, its [`EqIndex`].
    eq_index: BTreeMap<u32, EqIndex>,
    /// Multiplexer number -> sub-calls with rules.
    subcalls: BTreeMap<u32, Vec<SubCall>>,
}

/// The rules of one syscall by the constant of their first equality comparison, so that
/// the rules that may hold in a region are found without looking at every rule.
#[derive(Debug, Default)]
pub(crate) struct EqIndex {
    /// Per argument index: (constant, rule), sorted; the constant's low word only on a
    /// 32-bit ABI.
    by_arg: [Vec<(u64, usize)>; 6],
    /// Rules without an equality comparison.
    rest: Vec<usize>,
}

#[derive(Debug, Default)]
pub(crate) struct ArchModel {
    audit: u32,
    plain: Option<Abi>,
    x32: Option<Abi>,
}

/// The profile's semantics, indexed for questions.
#[derive(Debug)]
pub struct Semantics {
    arches: Vec<ArchModel>,
    default: Action,
    /// Whether the ENOSYS stub is part of the program ([`Stub::applies_to`]).
    stub: bool,
    rules: std::sync::Arc<Vec<Rule>>,
}

impl Semantics {
    /// How many of its rules have conditions: what makes a walk of it deep.
    pub(crate) fn conditional_rules(&self) -> usize {
        self.rules
            .iter()
            .filter(|r| !r.conditions.is_empty())
            .count()
    }

    /// The meaning of `profile` for a program compiled with `stub`, indexed for questions.
    pub fn new(profile: &Profile, stub: Stub) -> Self {
        let stub = stub.applies_to(profile.default_action());
        let mut arches: Vec<ArchModel> = Vec::new();
        for a in profile.architectures() {
            // The rules by number, as the generator reads them too.
            let order = profile.abi_order(a);
            let mut abi = Abi {
                info: Some(a),
                narrow: a.narrow_args(),
                big_endian: a.big_endian,
                order: order.clone(),
                ..Abi::default()
            };
            for (nr, range) in &order.groups {
                let group = &order.pairs[range.clone()];
                if group.len() > PIVOT_AT {
                    let mut index = EqIndex::default();
                    for &(_, k) in group {
                        let first = profile.rules()[k]
                            .conditions
                            .iter()
                            .find(|c| c.op == Op::Eq && !c.low_word);
                        match first {
                            Some(c) => {
                                let v = if abi.narrow {
                                    c.value & 0xffff_ffff
                                } else {
                                    c.value
                                };
                                index.by_arg[usize::from(c.index)].push((v, k));
                            }
                            None => index.rest.push(k),
                        }
                    }
                    for list in &mut index.by_arg {
                        list.sort_unstable();
                    }
                    abi.eq_index.insert(*nr, index);
                }
            }
            if multiplexes(a) {
                abi.subcalls = subcalls(profile, a, &abi);
            }
            let m = match arches.iter_mut().position(|m| m.audit == a.audit_arch) {
                Some(i) => &mut arches[i],
                None => {
                    arches.push(ArchModel {
                        audit: a.audit_arch,
                        ..ArchModel::default()
                    });
                    arches.last_mut().expect("just pushed")
                }
            };
            if a.x32 {
                m.x32 = Some(abi);
            } else {
                m.plain = Some(abi);
            }
        }
        Self {
            arches,
            default: profile.default_action(),
            stub,
            rules: profile.shared_rules(),
        }
    }

    /// `r`'s place in its syscall's tie order on `abi`. `r` is one of the semantics' rules
    /// (every rule the semantics asks about is borrowed from them); its index is where its
    /// address falls in them. Anything else ranks last.
    pub(crate) fn tie_rank(&self, abi: &Abi, r: &Rule) -> usize {
        let size = std::mem::size_of::<Rule>().max(1);
        let (base, at) = (self.rules.as_ptr() as usize, std::ptr::from_ref(r) as usize);
        at.checked_sub(base)
            .filter(|d| d % size == 0)
            .and_then(|d| abi.order.tie_rank.get(d / size).copied())
            .unwrap_or(usize::MAX)
    }

    /// Whether `a` decides over `b` when both hold on `abi`: stricter, or as strict and
    /// first in the tie order.
    pub(crate) fn beats(&self, abi: &Abi, a: &Rule, b: &Rule) -> bool {
        let (s, t) = (strictness(a.action), strictness(b.action));
        s > t || (s == t && self.tie_rank(abi, a) < self.tie_rank(abi, b))
    }
}

impl Semantics {
    /// What the profile says about one call, and which entry decides it: the oracle
    /// behind `explain`, the trace agent's `decidedBy` and `record --base`.
    ///
    /// `arch` is an `AUDIT_ARCH_*` value; `nr` any 32-bit value the kernel can put in
    /// `seccomp_data.nr` (`-1` included, x32 numbers with their bit 30); `args` the six
    /// registers. Each of the verdict's outcomes names its [`Cause`]: the entry
    /// (`syscalls[i]`), `defaultAction`, the stub, or an ABI not in the filter.
    pub fn decide(&self, arch: u32, nr: u32, args: [u64; 6]) -> Verdict {
        let mut p = Words::of(&SeccompData {
            nr: nr as i32,
            arch,
            instruction_pointer: 0,
            args,
        });
        match self.verdict(&mut p) {
            Ok(v) => v,
            // A point answers every question.
            Err(_) => Verdict::one(self.default, Cause::Default),
        }
    }
}

impl Profile {
    /// What the profile decides for one call, and which entry decides it: the decision
    /// procedure of [`Semantics`], which the proof checks every program against, with the ENOSYS stub as
    /// [`CompileOptions::default`](crate::CompileOptions) compiles it.
    ///
    /// `arch` is an `AUDIT_ARCH_*` value; `nr` any 32-bit value the kernel can put in
    /// `seccomp_data.nr` (`-1` included, x32 numbers with their bit 30). Each of the
    /// verdict's outcomes names its [`Cause`]: the entry
    /// (`syscalls[i]`), `defaultAction`, the stub, or an ABI not in the filter. Since every
    /// compiled program is proven against this procedure, a program compiled from this
    /// profile returns one of the verdict's actions.
    ///
    /// ```
    /// use oci_seccomp::Cause;
    /// use oci_seccomp::{arch, parse_profile, Action, Profile};
    ///
    /// let spec = parse_profile(r#"{
    ///     "defaultAction": "SCMP_ACT_ERRNO",
    ///     "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ALLOW" }]
    /// }"#)?;
    /// let profile = Profile::from_oci(&spec, false)?;
    /// let native = arch::native();
    /// let nr = arch::resolve("getppid", native).unwrap() as u32;
    /// let verdict = profile.decide(native.audit_arch, nr, [0; 6]);
    /// assert_eq!(verdict.outcomes[0], (Action::Allow, Cause::Entry(0)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide(&self, arch: u32, nr: u32, args: [u64; 6]) -> Verdict {
        self.decide_with(crate::Stub::default(), arch, nr, args)
    }

    /// [`Profile::decide`] for a program compiled with `stub`. To decide many calls,
    /// build the [`Semantics`] once and use [`Semantics::decide`].
    pub fn decide_with(&self, stub: Stub, arch: u32, nr: u32, args: [u64; 6]) -> Verdict {
        Semantics::new(self, stub).decide(arch, nr, args)
    }
}
