//! Validation: OCI `linux.seccomp` -> [`Profile`], our own checked representation.
//!
//! Every error in the input is found here, before libseccomp is touched, and names the
//! JSON path, the value and the reason.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use crate::action::Action;
use crate::arch::{self, ArchInfo};
use crate::error::CompileError;
use crate::program::FilterFlags;
use crate::prove::{Model, Verdict};

/// Largest errno the kernel passes through (`MAX_ERRNO`).
pub const MAX_ERRNO: u32 = 4095;
/// Longest syscall name accepted (the longest real one has 23 bytes).
pub const MAX_NAME_LEN: usize = 64;

/// Most distinct rules a profile may have (after repeated argument indices are split into
/// one rule per comparison). Every distinct rule costs at least one instruction, so more
/// can never fit the kernel's 4096-instruction limit; refusing them early also keeps
/// libseccomp, whose rule database grows quadratically, from spending seconds on them.
pub const MAX_RULES: usize = 4096;
/// `EPERM`, the errno of an ERRNO or TRACE action without `errnoRet`.
pub use crate::errno::EPERM;

/// A comparison operator on a syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `SCMP_CMP_NE`: `arg != value`.
    Ne,
    /// `SCMP_CMP_LT`: `arg < value` (unsigned, 64-bit).
    Lt,
    /// `SCMP_CMP_LE`: `arg <= value`.
    Le,
    /// `SCMP_CMP_EQ`: `arg == value`.
    Eq,
    /// `SCMP_CMP_GE`: `arg >= value`.
    Ge,
    /// `SCMP_CMP_GT`: `arg > value`.
    Gt,
    /// `SCMP_CMP_MASKED_EQ`: `(arg & value) == valueTwo` — `value` is the mask. libseccomp
    /// (and so runc and crun) masks `valueTwo` too, so bits of `valueTwo` outside the mask
    /// are ignored: the comparison really is `(arg & value) == (valueTwo & value)`.
    MaskedEq,
}

impl Op {
    fn from_oci(op: LinuxSeccompOperator) -> Self {
        match op {
            LinuxSeccompOperator::ScmpCmpNe => Self::Ne,
            LinuxSeccompOperator::ScmpCmpLt => Self::Lt,
            LinuxSeccompOperator::ScmpCmpLe => Self::Le,
            LinuxSeccompOperator::ScmpCmpEq => Self::Eq,
            LinuxSeccompOperator::ScmpCmpGe => Self::Ge,
            LinuxSeccompOperator::ScmpCmpGt => Self::Gt,
            LinuxSeccompOperator::ScmpCmpMaskedEq => Self::MaskedEq,
        }
    }

    /// The OCI name, for example `SCMP_CMP_MASKED_EQ`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ne => "SCMP_CMP_NE",
            Self::Lt => "SCMP_CMP_LT",
            Self::Le => "SCMP_CMP_LE",
            Self::Eq => "SCMP_CMP_EQ",
            Self::Ge => "SCMP_CMP_GE",
            Self::Gt => "SCMP_CMP_GT",
            Self::MaskedEq => "SCMP_CMP_MASKED_EQ",
        }
    }
}

/// One argument comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Condition {
    /// Argument index, 0 to 5.
    pub index: u8,
    /// The operator.
    pub op: Op,
    /// The operand; for `MaskedEq`, the mask.
    pub value: u64,
    /// For `MaskedEq`, the expected value of `arg & value` (0 when absent); unused otherwise.
    pub value_two: u64,
    /// Compare the argument's low 32 bits only, with `value`'s (which then fits 32 bits):
    /// how the kernel reads a 32-bit argument ([`ArgReading::Kernel`]), and how every
    /// comparison is made on a 32-bit ABI anyway. Set at validation for `!=`, `<`, `<=`,
    /// `>`, `>=` on such an argument; equalities become masked ones instead.
    pub low_word: bool,
}

impl Condition {
    /// The comparison `arg` states, unvalidated (an index above 5 is kept modulo 256:
    /// callers that need a valid index check it first, as [`Profile::from_oci`] does).
    pub(crate) fn from_oci(arg: &LinuxSeccompArg) -> Self {
        Self {
            index: arg.index() as u8,
            op: Op::from_oci(arg.op()),
            value: arg.value(),
            value_two: arg.value_two().unwrap_or(0),
            low_word: false,
        }
    }

    /// Whether an argument value satisfies the comparison (64-bit, unsigned, as libseccomp;
    /// the low 32 bits when [`Condition::low_word`]).
    pub fn matches(&self, arg: u64) -> bool {
        let arg = if self.low_word {
            arg & 0xffff_ffff
        } else {
            arg
        };
        match self.op {
            Op::Ne => arg != self.value,
            Op::Lt => arg < self.value,
            Op::Le => arg <= self.value,
            Op::Eq => arg == self.value,
            Op::Ge => arg >= self.value,
            Op::Gt => arg > self.value,
            Op::MaskedEq => arg & self.value == self.value_two & self.value,
        }
    }
}

/// One libseccomp rule: a syscall, an action, and conditions that must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Index of the `syscalls[]` entry it came from.
    pub entry: usize,
    /// The syscall name.
    pub name: String,
    /// The action.
    pub action: Action,
    /// Conditions, ANDed; empty for an unconditional rule.
    pub conditions: Vec<Condition>,
}

/// The order in which libseccomp lets the rules of one syscall decide a call that several
/// match with equally strict but different actions (`ERRNO(5)` and `ERRNO(6)`): for each
/// of `rules` (one syscall's, in profile order), its rank, lowest first. `wide`: the ABI
/// compares 64-bit arguments as two 32-bit words (x86_64, aarch64, ...), else one word.
///
/// The runtime spec leaves such a tie open; runc and crun decide it through libseccomp,
/// and so do we. libseccomp 2.5.4 (`src/db.c`) turns each rule into a chain of nodes, one
/// per 32-bit word compared (`_db_rule_gen_64`: a comparison's high word, then its low
/// word; `<`, `<=`, `>`, `>=` test the high word with `>` and `==` first), by argument
/// index; it merges the chains where their nodes are equal (the same word, operator,
/// value and mask) into a tree, keeps the nodes of one level in `_db_chain_lt`'s order,
/// and the first rule whose whole chain matches decides. So:
///
/// - an unconditional rule beats a conditional one, and of two unconditional rules the
///   first in the profile decides (libseccomp drops the chains, or the later rule);
/// - of two different nodes on one level, libseccomp tries first the one on the higher
///   argument index (and a high word before a low one), then `==`, `!=` and masked `==`
///   before `<`, `<=`, before `>`, `>=` (the operator as written), then for `<`/`<=` the
///   smaller word, for the others the larger; and when all that is alike (`>` and `>=`
///   with one value, `==` and masked `==`, other masks), the node added first, that is
///   the one whose earliest rule comes first in the profile;
/// - a rule whose chain ends where another's goes on decides first (libseccomp keeps it
///   when it comes first and refuses the profile otherwise, [`libseccomp_refuses`]);
/// - identical chains: the first in the profile (libseccomp refuses the profile).
///
/// `tests/tests/ties.rs` runs these shapes under runc and crun, and
/// `tests/tests/backends.rs` compares our programs with libseccomp's on random profiles.
pub fn tie_ranks(rules: &[&Rule], wide: bool) -> Vec<usize> {
    let chains: Vec<Vec<TieNode>> = rules.iter().map(|r| tie_chain(r, wide)).collect();
    let mut order: Vec<usize> = (0..rules.len())
        .filter(|&i| rules[i].conditions.is_empty())
        .collect();
    let conditional: Vec<usize> = (0..rules.len())
        .filter(|&i| !rules[i].conditions.is_empty())
        .collect();
    tie_level(&chains, conditional, 0, &mut order);
    let mut ranks = vec![0; rules.len()];
    for (rank, i) in order.into_iter().enumerate() {
        ranks[i] = rank;
    }
    ranks
}

/// Whether libseccomp refuses to add the later of two rules of one syscall with
/// different actions (`EEXIST`, `_db_tree_add`): their chains are the same, or the later
/// one's chain is a proper beginning of the earlier one's. runc and crun then do not
/// start the container. `first` comes before `second` in the profile.
pub fn libseccomp_refuses(first: &Rule, second: &Rule, wide: bool) -> bool {
    let (f, s) = (tie_chain(first, wide), tie_chain(second, wide));
    if !s.is_empty() && s.len() <= f.len() && f[..s.len()] == s[..] {
        return true;
    }
    // A high-word `>` node ends the later rule's chain on its true branch (its last
    // comparison is an order) while the earlier rule goes on from the same node: adding
    // the later rule's action over the earlier one's subtree is `EEXIST` too.
    let (fm, sm) = (tie_marks(first, wide), tie_marks(second, wide));
    let common = f.iter().zip(&s).take_while(|(a, b)| a == b).count();
    (0..common).any(|i| sm[i] == Mark::EndsOnTrue && fm[i] == Mark::GoesOnTrue)
}

/// What a node means for its rule's chain on its true branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// A high-word `>` node of the rule's last comparison: true ends the chain.
    EndsOnTrue,
    /// A high-word `>` node of an earlier comparison: true goes on to the next.
    GoesOnTrue,
    Other,
}

/// [`tie_chain`]'s nodes, each with its [`Mark`].
fn tie_marks(r: &Rule, wide: bool) -> Vec<Mark> {
    let mut conds: Vec<&Condition> = r.conditions.iter().collect();
    conds.sort_by_key(|c| c.index);
    let last = conds.len().saturating_sub(1);
    let mut out = Vec::new();
    for (k, c) in conds.iter().enumerate() {
        let order = matches!(c.op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
        if wide {
            if order {
                out.push(if k == last {
                    Mark::EndsOnTrue
                } else {
                    Mark::GoesOnTrue
                });
                out.push(Mark::Other);
            } else {
                out.push(Mark::Other);
            }
        }
        out.push(Mark::Other);
    }
    out
}

/// One node of libseccomp's chain for a rule: a 32-bit word compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TieNode {
    /// `(argument << 1) + high word`: higher first.
    prio: u8,
    /// The operator class as written: 3 for `==`, `!=`, masked; 2 for `<`, `<=`; 1 for
    /// `>`, `>=`. Higher first.
    class: u8,
    /// `<` or `<=`: the smaller word first.
    smaller_first: bool,
    /// The node's own test (`Op` as u8 of the node) and its word, mask.
    test: u8,
    datum: u32,
    mask: u32,
}

/// The nodes of `r`'s conditions, by argument index, as libseccomp chains them.
fn tie_chain(r: &Rule, wide: bool) -> Vec<TieNode> {
    let mut conds: Vec<&Condition> = r.conditions.iter().collect();
    conds.sort_by_key(|c| c.index);
    let mut out = Vec::new();
    for c in conds {
        let class = match c.op {
            Op::Eq | Op::Ne | Op::MaskedEq => 3,
            Op::Lt | Op::Le => 2,
            Op::Ge | Op::Gt => 1,
        };
        let smaller_first = matches!(c.op, Op::Lt | Op::Le);
        let (mask, datum) = match c.op {
            Op::MaskedEq => (c.value, c.value_two & c.value),
            _ => (u64::MAX, c.value),
        };
        let node = |high: bool, test: Op, word: fn(u64) -> u32| TieNode {
            prio: (c.index << 1) + u8::from(high),
            class,
            smaller_first,
            test: test as u8,
            datum: word(datum) & word(mask),
            mask: word(mask),
        };
        let hi = |v: u64| (v >> 32) as u32;
        let lo = |v: u64| v as u32;
        // The node's test: equalities stay (`!=` is `==` with the actions swapped),
        // orders test the high word with `>` then `==`, the low word with `>` or `>=`.
        let low_test = match c.op {
            Op::Gt | Op::Le => Op::Gt,
            Op::Ge | Op::Lt => Op::Ge,
            Op::MaskedEq => Op::MaskedEq,
            Op::Eq | Op::Ne => Op::Eq,
        };
        if wide {
            match c.op {
                Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                    out.push(node(true, Op::Gt, hi));
                    out.push(node(true, Op::Eq, hi));
                }
                _ => out.push(node(true, low_test, hi)),
            }
        }
        out.push(node(false, low_test, lo));
    }
    out
}

/// Appends the rules `members` (indices into `chains`) to `out` in libseccomp's order,
/// their chains alike up to `depth`.
fn tie_level(chains: &[Vec<TieNode>], members: Vec<usize>, depth: usize, out: &mut Vec<usize>) {
    // A chain that ends here decides before those that go on; identical ones by profile
    // order (`members` is in profile order).
    let (ended, rest): (Vec<usize>, Vec<usize>) =
        members.into_iter().partition(|&i| chains[i].len() == depth);
    out.extend(ended);
    // Nodes of this level, each with its rules, in the order first added.
    let mut level: Vec<(TieNode, Vec<usize>)> = Vec::new();
    for i in rest {
        let n = chains[i][depth];
        match level.iter_mut().find(|(m, _)| *m == n) {
            Some((_, v)) => v.push(i),
            None => level.push((n, vec![i])),
        }
    }
    // `_db_chain_lt`, descending; a stable sort keeps the order added where it says
    // neither is first.
    level.sort_by(|(a, _), (b, _)| {
        b.prio
            .cmp(&a.prio)
            .then(b.class.cmp(&a.class))
            .then(if a.smaller_first {
                a.datum.cmp(&b.datum)
            } else {
                b.datum.cmp(&a.datum)
            })
    });
    for (_, group) in level {
        tie_level(chains, group, depth + 1, out);
    }
}

/// How a comparison on an argument the kernel reads as fewer than 64 bits (an `int`,
/// `unsigned int` or `umode_t`: our [`argwidth`](crate::argwidth) table, from
/// include/linux/syscalls.h) is decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgReading {
    /// On the value the kernel will use: the argument's low 16 or 32 bits. The upper bits
    /// reach the filter but not the syscall, so a caller could otherwise set them to step
    /// around a deny (`socket(0x1_0000_0028, ...)` is an AF_VSOCK socket). Each comparison
    /// is rewritten at validation: an equality into a masked one, an order or `!=` into
    /// the same comparison of the low word ([`Condition::low_word`]; on a 16-bit argument,
    /// masked equalities on bit prefixes), and the complete check proves the program
    /// against them. libseccomp cannot compare a low word alone on a 64-bit ABI:
    /// `--backend libseccomp` is given masked equalities on bit prefixes instead. A
    /// constant the argument cannot
    /// hold (not a zero- or sign-extended value of its width) is refused. The default.
    #[default]
    Kernel,
    /// All 64 bits of the register, as written: what runc, crun and libseccomp do.
    Literal,
}

impl ArgReading {
    /// The name used by the CLI's `--arg-reading`: `kernel` or `literal`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kernel => "kernel",
            Self::Literal => "literal",
        }
    }
}

/// Most rules validation looks at in one profile, duplicates included (each name of an
/// entry times each of its comparison groups): bounds its work on any input.
pub const MAX_RULES_VISITED: usize = 1 << 18;

/// Most rules one entry's comparisons may become for one syscall under
/// [`ArgReading::Kernel`] (the product of each comparison's alternatives).
pub const MAX_KERNEL_READING_RULES: usize = 1024;

/// The bits the kernel reads of argument `index` of `name` when fewer than 64.
pub fn narrow_bits(name: &str, index: u8) -> Option<u8> {
    crate::argwidth::arg_info(name, usize::from(index))
        .map(|a| a.bits)
        .filter(|b| *b < 64)
}

/// `c` (on an argument the kernel reads as `bits` bits) as comparisons of those bits,
/// ORed: the calls whose kernel-visible value satisfies `c`. An equality becomes a masked
/// equality; on a 32-bit argument `!=`, `<`, `<=`, `>`, `>=` become the same comparison of
/// the low word ([`Condition::low_word`]); on a 16-bit one, masked equalities on bit
/// prefixes (at most one per bit). Empty when no value satisfies it (`< 0`).
///
/// # Errors
///
/// Why the constant cannot be read that way: it does not fit the argument (neither a zero-
/// nor a sign-extended value of `bits` bits), or a mask covers only bits the kernel does
/// not read.
pub fn kernel_reading(c: &Condition, bits: u8) -> Result<Vec<Condition>, String> {
    let m = crate::argwidth::read_mask(bits);
    let sign = 1u64 << (bits - 1);
    // The constant as the kernel sees a value of this width.
    let fit = |v: u64| -> Option<u64> {
        if v & !m == 0 {
            Some(v)
        } else if v | m == u64::MAX && v & sign != 0 {
            Some(v & m)
        } else {
            None
        }
    };
    let masked = |mask: u64, v: u64| Condition {
        index: c.index,
        op: Op::MaskedEq,
        value: mask,
        value_two: v & mask,
        low_word: false,
    };
    // A 32-bit argument: the same comparison on the low word, which every engine makes
    // (as for a 32-bit ABI). A 16-bit one: masked equalities on its bits, below.
    let low = |k: u64| {
        vec![Condition {
            index: c.index,
            op: c.op,
            value: k,
            value_two: 0,
            low_word: true,
        }]
    };
    let too_wide = |v: u64| {
        format!(
            "{v:#x} does not fit this {bits}-bit argument (the kernel reads only its low \
             {bits} bits, so no call has this value there); compare the low bits \
             ({:#x}), or use the literal 64-bit reading (--arg-reading literal) as runc does",
            v & m
        )
    };
    Ok(match c.op {
        Op::Eq => vec![masked(m, fit(c.value).ok_or_else(|| too_wide(c.value))?)],
        Op::MaskedEq => {
            let low = c.value & m;
            if low == 0 {
                return Err(format!(
                    "the mask {:#x} covers only bits the kernel does not read of this \
                     {bits}-bit argument, so every call would match; use the literal 64-bit \
                     reading (--arg-reading literal) as runc does, or a mask within {m:#x}",
                    c.value
                ));
            }
            let v = c.value_two & c.value;
            let upper = v & !m;
            let sign_extended = upper == c.value & !m && v & sign != 0 && low & sign != 0;
            if upper != 0 && !sign_extended {
                return Err(too_wide(c.value_two));
            }
            vec![masked(low, v)]
        }
        Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge if bits == 32 => {
            low(fit(c.value).ok_or_else(|| too_wide(c.value))?)
        }
        Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let k = fit(c.value).ok_or_else(|| too_wide(c.value))?;
            masked_alternatives(c.index, c.op, k, bits)
        }
    })
}

/// `op k` on the low `bits` bits of argument `index` (`k` within them) as masked
/// equalities on bit prefixes, ORed: at most one per bit, plus one for `<=` and `>=`. A
/// value below `k` agrees with it above some bit `i` where `k` has a 1 and it a 0; one
/// above, where `k` has a 0 and it a 1.
pub(crate) fn masked_alternatives(index: u8, op: Op, k: u64, bits: u8) -> Vec<Condition> {
    let m = crate::argwidth::read_mask(bits);
    let masked = |mask: u64, v: u64| Condition {
        index,
        op: Op::MaskedEq,
        value: mask,
        value_two: v & mask,
        low_word: false,
    };
    // Bits `bits-1` down to `i`.
    let prefix = |i: u32| m & !((1u64 << i) - 1);
    let below = || {
        (0..u32::from(bits))
            .filter(|i| k & (1 << i) != 0)
            .map(|i| masked(prefix(i), (k & prefix(i)) & !(1u64 << i)))
            .collect::<Vec<_>>()
    };
    let above = || {
        (0..u32::from(bits))
            .filter(|i| k & (1 << i) == 0)
            .map(|i| masked(prefix(i), (k & prefix(i)) | (1u64 << i)))
            .collect::<Vec<_>>()
    };
    let mut alts = match op {
        Op::Ne => {
            let mut a = below();
            a.extend(above());
            a
        }
        Op::Lt | Op::Le => below(),
        Op::Gt | Op::Ge => above(),
        Op::Eq | Op::MaskedEq => Vec::new(),
    };
    if matches!(op, Op::Le | Op::Ge | Op::Eq) {
        alts.push(masked(m, k));
    }
    alts
}

/// The rule groups (ORed; comparisons within a group ANDed) of one entry's comparisons for
/// syscall `name` under [`ArgReading::Kernel`]; `repeated` as the entry repeats an index.
fn kernel_groups(
    path: &str,
    name: &str,
    conditions: &[Condition],
    repeated: bool,
) -> Result<Vec<Vec<Condition>>, CompileError> {
    let mut alts: Vec<Vec<Condition>> = Vec::with_capacity(conditions.len());
    for (j, c) in conditions.iter().enumerate() {
        alts.push(match narrow_bits(name, c.index) {
            Some(bits) => kernel_reading(c, bits).map_err(|why| {
                CompileError::invalid(
                    format!("{path}.args[{j}]"),
                    format!("{} {:#x} for {name}", c.op.name(), c.value),
                    why,
                )
            })?,
            None => vec![*c],
        });
    }
    if repeated {
        let mut once = rustc_hash::FxHashSet::default();
        let flat: Vec<Vec<Condition>> = alts
            .into_iter()
            .flatten()
            .filter(|c| once.insert(*c))
            .map(|c| vec![c])
            .collect();
        if flat.len() > MAX_KERNEL_READING_RULES {
            return Err(CompileError::invalid(
                format!("{path}.args"),
                format!("{} comparisons for {name}", conditions.len()),
                format!(
                    "read as the kernel reads these arguments, the comparisons become more than \
                     {MAX_KERNEL_READING_RULES} rules; use fewer, or the literal 64-bit reading \
                     (--arg-reading literal)"
                ),
            ));
        }
        return Ok(flat);
    }
    let count = alts.iter().try_fold(1usize, |n, a| {
        n.checked_mul(a.len())
            .filter(|n| *n <= MAX_KERNEL_READING_RULES)
    });
    let Some(_) = count else {
        return Err(CompileError::invalid(
            format!("{path}.args"),
            format!("{} comparisons for {name}", conditions.len()),
            format!(
                "read as the kernel reads these arguments, the comparisons become more than \
                 {MAX_KERNEL_READING_RULES} rules (each `!=`, `<`, `<=`, `>`, `>=` on a 16-bit \
                 argument is one masked equality per bit); use SCMP_CMP_EQ or \
                 SCMP_CMP_MASKED_EQ, split the entry, or use the literal 64-bit reading \
                 (--arg-reading literal)"
            ),
        ));
    };
    let mut groups: Vec<Vec<Condition>> = vec![Vec::new()];
    for a in alts {
        let mut next = Vec::with_capacity(groups.len() * a.len());
        for g in &groups {
            for c in &a {
                let mut h = g.clone();
                h.push(*c);
                next.push(h);
            }
        }
        groups = next;
    }
    Ok(groups)
}

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
    rules: std::sync::Arc<[Rule]>,
    names: Vec<(usize, String)>,
    /// Per name of `names`, its row in the syscall table.
    name_rows: Vec<Option<usize>>,
    /// Per rule, its name's row in the syscall table.
    rule_rows: Vec<Option<usize>>,
}

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
    pub fn names(&self) -> &[(usize, String)] {
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

    /// What the profile decides for one call, and which entry decides it: the decision
    /// procedure of the complete check ([`prove`](crate::prove)), with the ENOSYS stub as
    /// [`CompileOptions::default`](crate::CompileOptions) compiles it.
    ///
    /// `arch` is an `AUDIT_ARCH_*` value; `nr` any 32-bit value the kernel can put in
    /// `seccomp_data.nr` (`-1` included, x32 numbers with their bit 30). Each of the
    /// verdict's outcomes names its [`Cause`](crate::prove::Cause): the entry
    /// (`syscalls[i]`), `defaultAction`, the stub, or an ABI not in the filter. Since every
    /// compiled program is proven against this procedure, a program compiled from this
    /// profile returns one of the verdict's actions.
    ///
    /// ```
    /// use oci_seccomp::prove::Cause;
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
        self.decide_with(crate::CompileOptions::default().enosys_stub, arch, nr, args)
    }

    /// [`Profile::decide`] for a program compiled with (`stub`) or without the ENOSYS
    /// stub. To decide many calls, build the [`Model`] once and use
    /// [`prove::decide`](crate::prove::decide).
    pub fn decide_with(&self, stub: bool, arch: u32, nr: u32, args: [u64; 6]) -> Verdict {
        crate::prove::decide(&Model::new(self, stub), arch, nr, args)
    }

    /// The rules' shared list (for the complete check's model, which keeps it).
    pub(crate) fn shared_rules(&self) -> std::sync::Arc<[Rule]> {
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
            rules: rules.into(),
            names: mentions.iter().map(|&k| self.names[k].clone()).collect(),
            name_rows: mentions.iter().map(|&k| self.name_rows[k]).collect(),
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
fn notify_rule<'r>(rules: &'r [Rule], arches: &[&'static ArchInfo]) -> Option<&'r Rule> {
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

/// Runtime libseccomp version as `(major, minor, micro)`.
pub fn libseccomp_version() -> (u32, u32, u32) {
    libseccomp::ScmpVersion::current()
        .map(|v| (v.major, v.minor, v.micro))
        .unwrap_or((0, 0, 0))
}

/// Runtime libseccomp version as text.
pub fn libseccomp_version_string() -> String {
    let (a, b, c) = libseccomp_version();
    format!("{a}.{b}.{c}")
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
    /// than [`MAX_KERNEL_READING_RULES`] rules.
    pub fn from_oci_reading(
        spec: &LinuxSeccomp,
        strict: bool,
        target: &'static ArchInfo,
        reading: ArgReading,
    ) -> Result<Self, CompileError> {
        if spec.default_action() == LinuxSeccompAction::ScmpActNotify {
            return Err(CompileError::NotifyDefaultAction);
        }
        check_errno("defaultErrnoRet", spec.default_errno_ret())?;
        check_errno_allowed(
            "defaultErrnoRet",
            spec.default_errno_ret(),
            spec.default_action(),
        )?;
        let default_action = action_from_oci(spec.default_action(), spec.default_errno_ret());

        let version = libseccomp_version();
        // Syscall names of an architecture this libseccomp cannot build would all resolve
        // to nothing, and the filter would give every call the default: refused, for the
        // target as for a listed architecture.
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
                let order = |b: bool| if b { "big-endian" } else { "little-endian" };
                return Err(CompileError::invalid(
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
                ));
            }
            if !architectures.iter().any(|x| x.name == info.name) {
                architectures.push(info);
            }
        }

        // Index in `flags` of SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, checked once the rules
        // are known: the kernel refuses it (EINVAL) on a filter without a NOTIFY rule.
        let mut wait_killable_at = None;
        let (flags, optional_flags) = match spec.flags() {
            None => (FilterFlags::EMPTY, FilterFlags::SPEC_ALLOW),
            Some(list) => {
                let mut f = FilterFlags::EMPTY;
                for (n, flag) in list.iter().enumerate() {
                    if *flag == LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv {
                        wait_killable_at.get_or_insert(n);
                    }
                    f |= match flag {
                        LinuxSeccompFilterFlag::SeccompFilterFlagLog => FilterFlags::LOG,
                        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FilterFlags::TSYNC,
                        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                            FilterFlags::SPEC_ALLOW
                        }
                        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                            FilterFlags::WAIT_KILLABLE_RECV
                        }
                    };
                }
                (f, FilterFlags::EMPTY)
            }
        };

        // Every name is a rule at most once per comparison group: sized once.
        let total: usize = spec
            .syscalls()
            .iter()
            .flatten()
            .map(|e| e.names().len())
            .sum();
        let mut rules = Vec::with_capacity(total);
        let mut names = Vec::with_capacity(total);
        let mut name_rows = Vec::with_capacity(total);
        let mut rule_rows = Vec::with_capacity(total);
        let mut seen: rustc_hash::FxHashSet<(&str, Action, Vec<Condition>)> =
            rustc_hash::FxHashSet::with_capacity_and_hasher(total, Default::default());
        let mut counted = 0usize;
        let mut visited = 0usize;
        // name -> (entry, name index, action) of the first unconditional rule for it.
        let mut unconditional: rustc_hash::FxHashMap<&str, (usize, usize, Action)> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(total, Default::default());

        for (i, entry) in spec.syscalls().iter().flatten().enumerate() {
            let path = format!("syscalls[{i}]");
            if entry.names().is_empty() {
                return Err(CompileError::invalid(
                    format!("{path}.names"),
                    "[]",
                    "an entry must name at least one syscall",
                ));
            }
            check_errno(&format!("{path}.errnoRet"), entry.errno_ret())?;
            check_errno_allowed(
                &format!("{path}.errnoRet"),
                entry.errno_ret(),
                entry.action(),
            )?;
            let action = action_from_oci(entry.action(), entry.errno_ret());

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
            // A repeated index cannot be ANDed by libseccomp; like runc, crun and youki,
            // every comparison becomes its own rule (OR).
            if repeated {
                // ORed: the same comparison twice is one rule. Keep the first.
                let mut once = rustc_hash::FxHashSet::default();
                conditions.retain(|c| once.insert(*c));
            }
            let groups: Vec<Vec<Condition>> = if repeated {
                conditions.iter().map(|c| vec![*c]).collect()
            } else {
                vec![conditions.clone()]
            };
            // The kernel's reading of this entry's comparisons depends on a name only
            // through the widths of the compared arguments: computed once per pattern.
            let mut by_widths: rustc_hash::FxHashMap<[Option<u8>; 6], Vec<Vec<Condition>>> =
                rustc_hash::FxHashMap::default();

            for (j, name) in entry.names().iter().enumerate() {
                let npath = || format!("{path}.names[{j}]");
                if name.len() > MAX_NAME_LEN {
                    return Err(CompileError::invalid(
                        npath(),
                        format!("{:?}...", name.chars().take(32).collect::<String>()),
                        format!(
                            "a syscall name of {} bytes is longer than {MAX_NAME_LEN}; no syscall has such a name",
                            name.len()
                        ),
                    ));
                }
                if name.is_empty() || name.contains('\0') {
                    return Err(CompileError::invalid(
                        npath(),
                        format!("{name:?}"),
                        "a syscall name must be non-empty and contain no NUL byte",
                    ));
                }
                names.push((i, name.clone()));
                let row = arch::table_row(name);
                name_rows.push(row);
                if row.is_none() && !arch::is_known(name) {
                    if strict {
                        return Err(CompileError::UnknownSyscall {
                            path: npath(),
                            name: name.clone(),
                            version: libseccomp_version_string(),
                        });
                    }
                    tracing::warn!(entry = %npath(), name = %name, "unknown syscall name skipped");
                    continue;
                }
                if conditions.is_empty() {
                    if let Some(&(fi, fj, first_action)) = unconditional.get(name.as_str()) {
                        let first = format!("syscalls[{fi}].names[{fj}]");
                        if first_action != action {
                            if strict {
                                return Err(CompileError::ConflictingRule {
                                    path: npath(),
                                    name: name.clone(),
                                    first: first.clone(),
                                    first_action: first_action.to_string(),
                                    action: action.to_string(),
                                });
                            }
                            tracing::warn!(
                                entry = %npath(), name = %name, first = %first, first_action = %first_action, %action,
                                "a second unconditional entry for this syscall has another action; libseccomp keeps the first"
                            );
                        }
                        continue;
                    }
                    unconditional.insert(name.as_str(), (i, j, action));
                }
                if !conditions.is_empty() {
                    check_readable(&path, name, &conditions, &architectures, reading)?;
                }
                let widths: [Option<u8>; 6] = std::array::from_fn(|i| narrow_bits(name, i as u8));
                let narrow = conditions.iter().any(|c| {
                    widths
                        .get(usize::from(c.index))
                        .copied()
                        .flatten()
                        .is_some()
                });
                let groups_here: &[Vec<Condition>] = if reading == ArgReading::Kernel && narrow {
                    match by_widths.entry(widths) {
                        std::collections::hash_map::Entry::Occupied(e) => &*e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            &*e.insert(kernel_groups(&path, name, &conditions, repeated)?)
                        }
                    }
                } else {
                    &groups
                };
                // Every rule looked at counts, duplicates too, so that no profile makes
                // validation work without bound (names times comparisons).
                visited += groups_here.len();
                if visited > MAX_RULES_VISITED {
                    return Err(CompileError::invalid(
                        path.clone(),
                        format!(
                            "{} names, {} comparisons",
                            entry.names().len(),
                            conditions.len()
                        ),
                        format!(
                            "the entries up to this one make more than {MAX_RULES_VISITED} \
                             rules to sort out (each name times each comparison of a repeated \
                             index, duplicates included), where at most {MAX_RULES} distinct \
                             rules fit a program; list each name and comparison once"
                        ),
                    ));
                }
                for group in groups_here {
                    // The same rule twice (same name, action and comparisons) is one rule
                    // for libseccomp; keep the first.
                    if !seen.insert((name.as_str(), action, group.clone())) {
                        continue;
                    }
                    // Every rule counts, including those for names that no listed
                    // architecture has: libseccomp still stores and sorts them.
                    counted += 1;
                    if counted > MAX_RULES {
                        return Err(CompileError::invalid(
                            npath(),
                            format!("{name:?}"),
                            format!(
                                "more than {MAX_RULES} distinct rules (repeated argument indices \
                                 count one rule per comparison); each needs at least one \
                                 instruction, so the program cannot fit the kernel's limit of \
                                 {MAX_RULES} instructions"
                            ),
                        ));
                    }
                    rule_rows.push(row);
                    rules.push(Rule {
                        entry: i,
                        name: name.clone(),
                        action,
                        conditions: group.clone(),
                    });
                }
            }
        }

        // A rule equal to the default is kept only where it can change an outcome
        // (`default_rule_matters`); it is dropped elsewhere, as libseccomp, runc and crun
        // drop every such rule.
        let precedence = DefaultRules {
            other_actions: rules
                .iter()
                .filter(|r| r.action != default_action)
                .map(|r| r.name.as_str())
                .collect(),
            beaten: rules
                .iter()
                .filter(|r| r.action != default_action && r.conditions.is_empty())
                .map(|r| r.name.as_str())
                .collect(),
            mux_arch: architectures.iter().any(|a| arch::multiplexes(a)),
        };
        let keep: Vec<bool> = rules
            .iter()
            .map(|r| {
                r.action != default_action || precedence.matters(&r.name, !r.conditions.is_empty())
            })
            .collect();
        if keep.iter().any(|k| !k) {
            let mut k = keep.iter();
            rule_rows.retain(|_| *k.next().unwrap_or(&true));
            let mut k = keep.iter();
            rules.retain(|r| {
                let kept = *k.next().unwrap_or(&true);
                if !kept {
                    tracing::debug!(entry = r.entry, name = %r.name, action = %r.action, "rule equals the default action and overlaps no rule of another action: dropped");
                }
                kept
            });
        }

        if let (Some(n), None) = (wait_killable_at, notify_rule(&rules, &architectures)) {
            return Err(CompileError::invalid(
                format!("flags[{n}]"),
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                "only valid with a SCMP_ACT_NOTIFY rule, and no rule uses SCMP_ACT_NOTIFY \
                 (the kernel refuses the filter with EINVAL)",
            ));
        }

        Ok(Self {
            default_action,
            architectures,
            flags,
            optional_flags,
            rules: rules.into(),
            names,
            name_rows,
            rule_rows,
        })
    }
}
