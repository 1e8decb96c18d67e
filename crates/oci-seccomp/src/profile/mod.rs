//! The profile: an OCI `linux.seccomp` object parsed ([`crate::parse_profile`]),
//! validated into a [`Profile`] (`validate.rs`, one named step per kind of error), and
//! given its meaning ([`crate::Semantics`]: what it decides for any call, and which entry
//! decides it).
//!
//! Every error in the input is found here, before any backend is touched, and names the
//! JSON path, the value and the reason.

pub(crate) mod parse;
pub(crate) mod reading;
pub(crate) mod rule;
pub(crate) mod semantics;
pub(crate) mod ties;
pub(crate) mod validate;

use crate::action::Action;
use crate::arch::{self, ArchInfo};
use crate::flags::FilterFlags;
use validate::notify_rule;

pub use parse::{find_docker_key, go_key_eq, go_oci_reading, unknown_keys, JsonKeys};
pub(crate) use reading::masked_alternatives;
pub use reading::{
    kernel_reading, narrow_bits, ArgReading, MAX_KERNEL_READING_RULES, MAX_RULES_VISITED,
};
pub use rule::{Condition, Op, Rule};
pub use ties::{libseccomp_refuses, tie_ranks};
pub use validate::{action_from_oci, notify_entry, MAX_NAME_LEN, MAX_RULES};

/// A validated `linux.seccomp` object.
///
/// The only way to get one is [`Profile::from_oci`] (or a function that calls it): the
/// fields are private, so every `Profile` in a program has passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    default_action: Action,
    architectures: Vec<&'static ArchInfo>,
    flags: FilterFlags,
    optional_flags: FilterFlags,
    rules: std::sync::Arc<Vec<Rule>>,
    names: Vec<(usize, std::borrow::Cow<'static, str>)>,
    /// Per name of `names`, its row in the syscall table.
    name_rows: Vec<Option<usize>>,
    /// Per rule, its name's row in the syscall table.
    rule_rows: Vec<Option<usize>>,
    /// Per architecture, the rules by number ([`Profile::abi_order`]), worked out once.
    orders: Orders,
}

/// A profile's rules on one architecture, by syscall number: what the generator and the
/// proof's [`Semantics`](crate::Semantics) both start from, worked out once per profile
/// and architecture ([`Profile::abi_order`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct AbiOrder {
    /// [`Profile::numbers`]: the highest number any name has there (the stub's bound).
    pub(crate) max: Option<u32>,
    /// `(number, rule index)` of every rule the architecture has, by number, and in
    /// profile order within one number.
    pub(crate) pairs: Vec<(u32, usize)>,
    /// Per rule, its rank among its syscall's rules in libseccomp's tie order
    /// ([`tie_ranks`]); 0 for a syscall's only rule and for a rule the architecture
    /// lacks.
    pub(crate) tie_rank: Vec<usize>,
    /// Per number with rules, by number: the number and the range of its `pairs`.
    pub(crate) groups: Vec<(u32, std::ops::Range<usize>)>,
    /// Per group, the rule that decides its syscall whatever the others say (the first,
    /// in profile order, that [`beats_conditions`](semantics::beats_conditions)): its
    /// action and entry.
    pub(crate) deciders: Vec<Option<(Action, usize)>>,
}

impl AbiOrder {
    fn new(profile: &Profile, a: &ArchInfo) -> Self {
        let (numbers, max) = profile.numbers(a);
        let pairs = by_number(&numbers, COUNTING_SPAN_PER_RULE);
        let mut tie_rank = vec![0; profile.rules.len()];
        let mut groups = Vec::with_capacity(pairs.len());
        let mut deciders = Vec::with_capacity(pairs.len());
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            let start = groups
                .last()
                .map_or(0, |(_, r): &(u32, std::ops::Range<usize>)| r.end);
            groups.push((group[0].0, start..start + group.len()));
            deciders.push(
                group
                    .iter()
                    .map(|&(_, k)| &profile.rules[k])
                    .find(|r| semantics::beats_conditions(r, profile.default_action))
                    .map(|r| (r.action, r.entry)),
            );
            // One rule keeps rank 0 (most syscalls): no order to work out.
            if group.len() > 1 {
                let refs: Vec<&Rule> = group.iter().map(|&(_, k)| &profile.rules[k]).collect();
                for (&(_, k), rank) in group.iter().zip(tie_ranks(&refs, !a.narrow_args())) {
                    tie_rank[k] = rank;
                }
            }
        }
        Self {
            max,
            pairs,
            tie_rank,
            groups,
            deciders,
        }
    }
}

/// [`by_number`] counts numbers out when they span at most this many values per rule (and
/// 64 more): an ABI's table numbers lie close together.
const COUNTING_SPAN_PER_RULE: usize = 4;

/// `(number, index)` of every `Some` of `numbers` (each rule's number, as `u32`), by number
/// and by index within one number: the order of [`AbiOrder::pairs`]. A counting sort when
/// the numbers span at most `span_per_rule` values per rule (and 64 more), else a sort of
/// packed integers (number high, index low).
fn by_number(numbers: &[Option<i32>], span_per_rule: usize) -> Vec<(u32, usize)> {
    let values = || {
        numbers
            .iter()
            .enumerate()
            .filter_map(|(i, nr)| nr.map(|n| (n as u32, i)))
    };
    let (mut lo, mut hi, mut count) = (u32::MAX, 0, 0usize);
    for (n, _) in values() {
        (lo, hi, count) = (lo.min(n), hi.max(n), count + 1);
    }
    if count == 0 {
        return Vec::new();
    }
    let span = (hi - lo) as usize + 1;
    if span <= span_per_rule.saturating_mul(count).saturating_add(64) {
        // starts[k]: where the pairs of number `lo + k` begin.
        let mut starts = vec![0usize; span + 1];
        for (n, _) in values() {
            starts[(n - lo) as usize + 1] += 1;
        }
        for k in 1..=span {
            starts[k] += starts[k - 1];
        }
        let mut pairs = vec![(0u32, 0usize); count];
        for (n, i) in values() {
            let at = &mut starts[(n - lo) as usize];
            pairs[*at] = (n, i);
            *at += 1;
        }
        return pairs;
    }
    let mut packed: Vec<u64> = values()
        .map(|(n, i)| u64::from(n) << 32 | i as u64)
        .collect();
    packed.sort_unstable();
    packed
        .iter()
        .map(|p| ((p >> 32) as u32, (p & 0xffff_ffff) as usize))
        .collect()
}

/// [`AbiOrder`]s, one per architecture of the profile, made when first asked for. They
/// follow from the profile's other fields: two profiles equal in those are equal.
#[derive(Clone, Debug, Default)]
struct Orders(std::sync::OnceLock<Vec<std::sync::Arc<AbiOrder>>>);

impl PartialEq for Orders {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Orders {}

impl Profile {
    /// The default action, errno resolved.
    pub fn default_action(&self) -> Action {
        self.default_action
    }

    /// Architectures, the native one first, no duplicates.
    pub fn architectures(&self) -> &[&'static ArchInfo] {
        &self.architectures
    }

    /// Flags the loader must apply.
    pub fn flags(&self) -> FilterFlags {
        self.flags
    }

    /// Flags the loader applies when the kernel supports them.
    pub fn optional_flags(&self) -> FilterFlags {
        self.optional_flags
    }

    /// Rules in profile order, repeated-index entries already split into OR rules. A rule
    /// whose action equals the default is included only where it can change an outcome:
    /// where it overlaps a rule of another action for the same call, since the strictest
    /// matching rule wins (`default_rule_matters`).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every syscall name the profile mentions, with the entry index, skipped rules
    /// included (the ENOSYS stub needs the highest number the profile knows about).
    pub fn names(&self) -> &[(usize, std::borrow::Cow<'static, str>)] {
        &self.names
    }

    /// Whether the compiled filter can return `SECCOMP_RET_USER_NOTIF`, so the loader must
    /// ask for a user-notification fd: a `SCMP_ACT_NOTIFY` rule names a syscall that one
    /// of the profile's architectures has (directly, or through its multiplexer).
    ///
    /// Derived from the rules, never stored. A NOTIFY rule for a name libseccomp knows
    /// but none of the architectures has (`socketcall` on x86_64 alone) installs nothing,
    /// so it needs no listener, as [`Program::needs_listener`](crate::Program::needs_listener)
    /// of the compiled program says.
    pub fn needs_listener(&self) -> bool {
        self.first_notify_rule().is_some()
    }

    /// The rules' shared list (for the profile's Semantics, which keeps it).
    pub(crate) fn shared_rules(&self) -> std::sync::Arc<Vec<Rule>> {
        self.rules.clone()
    }

    /// The syscall number of each rule on `a` (in [`Profile::rules`] order; `None` when
    /// `a` has no such syscall), and the highest number any name of the profile has on
    /// `a` (what the ENOSYS stub compares with).
    pub fn numbers(&self, a: &ArchInfo) -> (Vec<Option<i32>>, Option<u32>) {
        let column = arch::table_column(a);
        let max = self
            .names
            .iter()
            .zip(&self.name_rows)
            .filter_map(|((_, n), row)| arch::resolve_at(*row, column, n, a))
            .map(|n| n as u32)
            .max();
        let rules = self
            .rules
            .iter()
            .zip(&self.rule_rows)
            .map(|(r, row)| arch::resolve_at(*row, column, &r.name, a))
            .collect();
        (rules, max)
    }

    /// The rules on `a`, by number ([`AbiOrder`]): for one of the profile's
    /// architectures, worked out once and shared by every later caller (the generator and
    /// the proof); for another, worked out for this caller.
    pub(crate) fn abi_order(&self, a: &ArchInfo) -> std::sync::Arc<AbiOrder> {
        let same = |b: &&ArchInfo| b.audit_arch == a.audit_arch && b.x32 == a.x32;
        match self.architectures.iter().position(same) {
            Some(i) => {
                let all = self.orders.0.get_or_init(|| {
                    self.architectures
                        .iter()
                        .map(|b| std::sync::Arc::new(AbiOrder::new(self, b)))
                        .collect()
                });
                all[i].clone()
            }
            None => std::sync::Arc::new(AbiOrder::new(self, a)),
        }
    }

    /// The first rule that makes [`Profile::needs_listener`] true.
    pub(crate) fn first_notify_rule(&self) -> Option<&Rule> {
        notify_rule(&self.rules, &self.architectures)
    }

    /// A copy with only `rules` (which must come from this profile), `default` as the
    /// default action, the native architecture alone, and only the mentions of the
    /// syscall at `mentions` (indices into [`Profile::names`], all of one name): the
    /// profile the `conditions-cover-all` lint searches. Its cost is that of the parts
    /// kept, not of the whole profile.
    pub(crate) fn restricted(&self, mentions: &[usize], rules: Vec<Rule>, default: Action) -> Self {
        Self {
            default_action: default,
            architectures: vec![arch::native()],
            flags: self.flags,
            optional_flags: self.optional_flags,
            rule_rows: rules.iter().map(|r| arch::table_row(&r.name)).collect(),
            rules: std::sync::Arc::new(rules),
            names: mentions.iter().map(|&k| self.names[k].clone()).collect(),
            name_rows: mentions.iter().map(|&k| self.name_rows[k]).collect(),
            orders: Orders::default(),
        }
    }
}

/// What decides whether a rule equal to the default can change what a call gets
/// ([`DefaultRules::matters`]).
pub(crate) struct DefaultRules<'a> {
    /// Names some rule gives an action other than the default.
    pub other_actions: rustc_hash::FxHashSet<&'a str>,
    /// Names whose (first) unconditional rule gives an action other than the default: it
    /// decides the syscall whatever its conditional rules say.
    pub beaten: rustc_hash::FxHashSet<&'a str>,
    /// Whether a listed ABI has the socket and IPC multiplexers.
    pub mux_arch: bool,
}

impl DefaultRules<'_> {
    /// Whether a rule for `name` whose action equals the default (`conditional` or not)
    /// can change what a call gets: only by taking part in precedence, that is where a
    /// rule of another action can match the same call and nothing decides the call
    /// before both are asked. That is the same syscall, or, on an ABI with multiplexers,
    /// the multiplexer that carries `name` (the sub-call competes with the multiplexer's
    /// own rules unless an unconditional one decides the multiplexer), or a call carried
    /// by `name` when `name` is itself a multiplexer. A conditional rule of a syscall that
    /// an unconditional rule of another action decides changes nothing.
    pub(crate) fn matters(&self, name: &str, conditional: bool) -> bool {
        if conditional && self.beaten.contains(name) {
            return false;
        }
        if self.other_actions.contains(name) {
            return true;
        }
        if !self.mux_arch {
            return false;
        }
        if let Some((mux, _, _)) = arch::multiplexer_of(name) {
            return self.other_actions.contains(mux) && !self.beaten.contains(mux);
        }
        arch::subcalls().any(|(mux, _, sub)| mux == name && self.other_actions.contains(sub))
    }
}

#[cfg(test)]
mod tests {
    use super::by_number;
    use crate::arch;

    /// The shared order's deciding rule of each syscall is what the rules alone say: the
    /// first rule in profile order with no comparison and an action other than the
    /// default, on random profiles of a few names with repeated, conditional and
    /// default-equal entries, on every architecture of the profile.
    #[test]
    fn each_syscalls_deciding_rule_is_its_first_unconditional_non_default_rule() {
        let mut next = crate::test_rng(0x2545_f491_4f6c_dd1d);
        let names = [
            "read",
            "write",
            "close",
            "getppid",
            "socket",
            "mmap2",
            "socketcall",
        ];
        let actions = [
            r#""SCMP_ACT_ALLOW""#,
            r#""SCMP_ACT_ERRNO""#,
            r#""SCMP_ACT_ERRNO","errnoRet":5"#,
            r#""SCMP_ACT_LOG""#,
        ];
        for round in 0..300 {
            let entries: Vec<String> = (0..1 + next(8))
                .map(|_| {
                    let args = if next(2) == 0 {
                        String::new()
                    } else {
                        format!(
                            r#","args":[{{"index":0,"value":{},"op":"SCMP_CMP_EQ"}}]"#,
                            next(3)
                        )
                    };
                    format!(
                        r#"{{"names":["{}","{}"],"action":{}{args}}}"#,
                        names[next(7) as usize],
                        names[next(7) as usize],
                        actions[next(4) as usize]
                    )
                })
                .collect();
            let json = format!(
                r#"{{"defaultAction":{},"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[{}]}}"#,
                actions[next(4) as usize],
                entries.join(",")
            );
            let p = super::Profile::from_oci(&crate::parse_profile(&json).unwrap(), false)
                .unwrap_or_else(|e| panic!("round {round}: {e}\n{json}"));
            for a in p.architectures() {
                let order = p.abi_order(a);
                for ((nr, range), decider) in order.groups.iter().zip(&order.deciders) {
                    let want = p
                        .rules()
                        .iter()
                        .filter(|r| arch::resolve(&r.name, a) == Some(*nr as i32))
                        .find(|r| r.conditions.is_empty() && r.action != p.default_action())
                        .map(|r| (r.action, r.entry));
                    assert_eq!(*decider, want, "round {round}, {} nr {nr}\n{json}", a.name);
                    assert!(order.pairs[range.clone()].iter().all(|(n, _)| n == nr));
                }
            }
        }
    }

    /// The counting sort and the packed sort give the same order: by number, profile
    /// order within a number; for numbers close together, far apart, negative (a
    /// pseudo-syscall's), repeated and missing.
    #[test]
    fn both_orders_by_number_agree() {
        let mut rng = crate::test_rng(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng(u64::MAX);
        for round in 0..400 {
            let len = (next() % 300) as usize;
            let spread = [4u64, 64, 1000, 1 << 20, 1 << 33][round % 5];
            let base = [0i64, 0x4000_0000, 4000, -10_200][round % 4];
            let numbers: Vec<Option<i32>> = (0..len)
                .map(|_| (next() % 8 != 0).then(|| (base + (next() % spread) as i64) as i32))
                .collect();
            let mut want: Vec<(u32, usize)> = numbers
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (n as u32, i)))
                .collect();
            want.sort();
            // Forced to sort (no span is at most 0 per rule plus 64 once it passes 64).
            if want.last().map_or(0, |l| l.0 - want[0].0) >= 64 {
                assert_eq!(by_number(&numbers, 0), want, "packed sort, round {round}");
            }
            // Forced to count, where the count table stays small.
            if want.last().map_or(0, |l| l.0 - want[0].0) < 1 << 24 {
                assert_eq!(
                    by_number(&numbers, 1 << 24),
                    want,
                    "counting sort, round {round}"
                );
            }
        }
    }
}
