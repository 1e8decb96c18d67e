//! Which of several equally strict rules decides a call that they all match: libseccomp's
//! order, which runc and crun inherit.

use super::rule::{Condition, Op, Rule};

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
