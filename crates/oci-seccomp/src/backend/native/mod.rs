//! Our own BPF code generator: a validated [`Profile`] to the instructions of a seccomp
//! filter, without libseccomp (docs/design.md §2.6).
//!
//! # Shape
//!
//! ```text
//! ld arch; jeq AUDIT_ARCH_a -> block a; jeq AUDIT_ARCH_b -> block b; ...; ret KILL_THREAD
//! block:  ld nr; [x86_64: jset bit 30 -> x32 search]; binary search over number ranges
//! leaf:   ret ACTION, or the argument diagram of one syscall
//! ```
//!
//! - **Number search.** Per ABI, the 2^32 syscall numbers are cut into ranges with one
//!   outcome each: a syscall's unconditional action, its argument diagram, the ENOSYS stub
//!   (numbers above the highest the profile names, and 0 on s390), the default action, and
//!   on x86_64 without x32 `KILL_THREAD` for bit-30 numbers (`-1` gets the default, as
//!   libseccomp does). Contiguous numbers with one outcome are one range, and the ranges
//!   are found by a balanced binary search of `jge` (a few isolated numbers in a common
//!   background by `jeq`, when that is shorter). An argument-free path uses only
//!   `ld nr`/`ld arch`, `jeq`/`jge`/`jset` with constants, `ja` and `ret` constants: all
//!   the kernel's constant-action cache emulates (`seccomp_cache_prepare_bitmap`, Linux
//!   5.11), so an allowed argument-free call is decided by the cache.
//! - **Argument diagrams.** A syscall's conditional rules become a decision diagram over
//!   32-bit argument words: it splits on one word at a time (an argument's high word before
//!   its low word; 32-bit ABIs compare the low word only, as libseccomp), cuts the word's
//!   values at every constant of the pending comparisons, merges neighbouring pieces that
//!   leave the same rules pending, and searches the pieces like the numbers. A 64-bit
//!   comparison is decided by the high word alone unless the high word equals the
//!   constant's. `SCMP_CMP_MASKED_EQ` is one `jset`, or an `and` and a `jeq`. Identical
//!   sub-diagrams are built once and shared.
//! - **Overlapping entries.** When entries of different actions match one call, the
//!   strictest action wins (the kernel's precedence between filters); OCI leaves the
//!   choice open, and the complete check accepts any matching entry's action. libseccomp's
//!   choice depends on its tree order instead (docs/conformance.md).
//! - **Multiplexers** (`socketcall`, `ipc` on x86, s390, PowerPC): each socket or IPC call
//!   named in the profile is one more rule on the multiplexer, comparing the low word of
//!   its first argument with the call number (through the call mask), with the outcome
//!   the complete check decides: the rule's action, or for a call with only conditional rules the
//!   strictest of those rules and the default.
//! - **Layout.** The diagram is laid out backwards, so every jump target is placed before
//!   the jump and its distance is known: a conditional jump's 8-bit offsets reach a
//!   nearby copy of a `ret` (each `ret` constant is placed again when the last copy is too
//!   far, which adds no executed instruction) or a `ja` (32-bit offset) in front of a
//!   far sub-diagram.
//!
//! Every program is checked by the complete check ([`crate::proof`]) before
//! [`crate::compile_profile`] returns it.

use std::collections::BTreeMap;

use crate::action::strictness;
use crate::action::Action;
use crate::arch::{
    self, multiplexer_of, multiplexes, ArchInfo, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT,
};
use crate::bpf::{
    ret, BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_JSET, BPF_K, BPF_LD,
    BPF_RET, BPF_W,
};
use crate::bpf::{Instruction, BPF_MAXINSNS};
use crate::error::CompileError;
use crate::profile::semantics::Stub;
use crate::profile::{Condition, Op, Profile};

const FULL: u32 = u32::MAX;
/// Word index of `seccomp_data.nr`.
const NR: u8 = 0;
/// Word index of `seccomp_data.arch`.
const ARCH: u8 = 1;

type Id = usize;

/// A node of the decision diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Ret(u32),
    /// `ld [word * 4]`, then `next`.
    Load(u8, Id),
    /// `and #k`, then `next`.
    And(u32, Id),
    /// `jeq`/`jge`/`jset #k`.
    Jump {
        op: u16,
        k: u32,
        jt: Id,
        jf: Id,
    },
}

/// The diagram: nodes, each built once.
#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
    interned: rustc_hash::FxHashMap<Node, Id>,
}

impl Graph {
    fn add(&mut self, n: Node) -> Id {
        if let Node::Jump { jt, jf, .. } = n {
            if jt == jf {
                return jt;
            }
        }
        if let Some(id) = self.interned.get(&n) {
            return *id;
        }
        let id = self.nodes.len();
        self.nodes.push(n);
        self.interned.insert(n, id);
        id
    }

    fn ret(&mut self, k: u32) -> Id {
        self.add(Node::Ret(k))
    }

    fn jump(&mut self, op: u16, k: u32, jt: Id, jf: Id) -> Id {
        self.add(Node::Jump { op, k, jt, jf })
    }
}

/// A set of 32-bit values: sorted, disjoint, non-adjacent inclusive intervals.
type Set = Vec<(u32, u32)>;

/// What a 64-bit comparison leaves to the low word once the high word is known.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Rest {
    True,
    False,
    Low(Set),
}

impl Rest {
    fn of(set: Set) -> Self {
        if set.is_empty() {
            Self::False
        } else if set == [(0, FULL)] {
            Self::True
        } else {
            Self::Low(set)
        }
    }
}

/// A pending comparison of one rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Cond {
    /// The word's value is in the set.
    In { word: u8, set: Set },
    /// `word & m == v`.
    Mask { word: u8, m: u32, v: u32 },
    /// A 64-bit comparison, decided by the high word except when it equals `vh`.
    Wide {
        hi: u8,
        lo: u8,
        vh: u32,
        below: Rest,
        at: Rest,
        above: Rest,
    },
}

impl Cond {
    fn word(&self) -> u8 {
        match self {
            Self::In { word, .. } | Self::Mask { word, .. } => *word,
            Self::Wide { hi, .. } => *hi,
        }
    }
}

/// One rule of a syscall's diagram: its action and its pending comparisons (all must
/// hold).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Pending {
    action: Action,
    conds: Vec<Cond>,
    /// The rule's place in its syscall's tie order ([`crate::profile::tie_ranks`]):
    /// between holding rules of equally strict actions, the lower rank decides.
    rank: usize,
}

impl Pending {
    /// Whether this rule, when it holds, decides over `other` holding too.
    fn beats(&self, other: &Pending) -> bool {
        let (s, o) = (strictness(self.action), strictness(other.action));
        s > o || (s == o && self.rank < other.rank)
    }
}

/// The values of a word that satisfy `op value` on 32 bits.
fn set_for(op: Op, v: u32) -> Set {
    match op {
        Op::Eq => vec![(v, v)],
        Op::Ne => match (v.checked_sub(1), v.checked_add(1)) {
            (None, Some(n)) => vec![(n, FULL)],
            (Some(p), None) => vec![(0, p)],
            (Some(p), Some(n)) => vec![(0, p), (n, FULL)],
            (None, None) => Vec::new(),
        },
        Op::Lt => v.checked_sub(1).map_or_else(Vec::new, |p| vec![(0, p)]),
        Op::Le => vec![(0, v)],
        Op::Ge => vec![(v, FULL)],
        Op::Gt => v.checked_add(1).map_or_else(Vec::new, |n| vec![(n, FULL)]),
        // Not an interval; handled by the callers.
        Op::MaskedEq => Vec::new(),
    }
}

/// The word indices of argument `i`'s low and high halves.
fn arg_words(i: u8, big_endian: bool) -> (u8, u8) {
    if big_endian {
        (5 + 2 * i, 4 + 2 * i)
    } else {
        (4 + 2 * i, 5 + 2 * i)
    }
}

/// A masked comparison as a condition; `None` when it always holds.
fn mask_cond(word: u8, m: u32, v: u32) -> Option<Cond> {
    let v = v & m;
    if m == 0 {
        None
    } else if m == FULL {
        Some(Cond::In {
            word,
            set: vec![(v, v)],
        })
    } else {
        Some(Cond::Mask { word, m, v })
    }
}

/// The comparisons of one profile condition on an ABI; `Err(())` when it can never hold.
fn conds_of(c: &Condition, narrow: bool, big_endian: bool) -> Result<Vec<Cond>, ()> {
    // A comparison of the low word alone (the kernel's reading of a 32-bit argument) is
    // made as on a 32-bit ABI.
    let narrow = narrow || c.low_word;
    let (lo, hi) = arg_words(c.index, big_endian);
    if c.op == Op::MaskedEq {
        let mut out = Vec::new();
        if !narrow {
            out.extend(mask_cond(
                hi,
                (c.value >> 32) as u32,
                (c.value_two >> 32) as u32,
            ));
        }
        out.extend(mask_cond(lo, c.value as u32, c.value_two as u32));
        return Ok(out);
    }
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    if narrow {
        let set = set_for(c.op, vl);
        return match Rest::of(set) {
            Rest::True => Ok(Vec::new()),
            Rest::False => Err(()),
            Rest::Low(set) => Ok(vec![Cond::In { word: lo, set }]),
        };
    }
    let (below, above) = match c.op {
        Op::Eq => (Rest::False, Rest::False),
        Op::Ne => (Rest::True, Rest::True),
        Op::Gt | Op::Ge => (Rest::False, Rest::True),
        Op::Lt | Op::Le => (Rest::True, Rest::False),
        Op::MaskedEq => unreachable!("handled above"),
    };
    Ok(vec![Cond::Wide {
        hi,
        lo,
        vh,
        below,
        at: Rest::of(set_for(c.op, vl)),
        above,
    }])
}

/// A rule of one syscall on one ABI, as the generator sees it.
struct GenRule {
    /// The syscall number on the ABI.
    nr: u32,
    action: Action,
    /// The entry has no comparisons (not: its comparisons always hold).
    unconditional: bool,
    /// The comparisons; `None` when they can never all hold.
    conds: Option<Vec<Cond>>,
    /// Index of the profile rule it came from (`None`: a multiplexer's sub-call).
    src: Option<usize>,
    /// Place in the syscall's tie order (set by [`abi_rules`]).
    rank: usize,
}

/// Builds the diagram of one program.
struct Gen {
    g: Graph,
    memo: rustc_hash::FxHashMap<(Option<u8>, u32, Vec<Pending>), Id>,
    big_endian: bool,
    /// Pieces times rules examined so far, against [`MAX_WORK`].
    work: usize,
    /// The budget ran out, or the diagram outgrew any program the kernel takes: the
    /// result is refused.
    overflow: bool,
}

/// Most pieces-times-rules the generator examines before it gives up (a profile whose
/// diagram needs more has no program within the kernel's 4096 instructions anyway).
const MAX_WORK: usize = 300_000;

/// Order in which words are split: an argument's high word before its low word, arguments
/// by index.
fn word_rank(word: u8, big_endian: bool) -> u8 {
    let arg = (word - 4) / 2;
    let hi = if big_endian {
        word % 2 == 0
    } else {
        word % 2 == 1
    };
    2 * arg + u8::from(!hi)
}

/// `ceil(log2(n))`.
fn depth(n: usize) -> usize {
    (usize::BITS - n.saturating_sub(1).leading_zeros()) as usize
}

impl Gen {
    /// The search over `pieces` (`(first value, outcome)`, contiguous, neighbours
    /// different, the first starting at the lowest value that can reach it); assumes the
    /// word is in A.
    fn search(&mut self, pieces: &[(u32, Id)]) -> Id {
        self.search_by(pieces, true)
    }

    /// [`Gen::search`]; `numbers` says the word is `nr` (weighted toward low numbers, see
    /// [`weighted_middle`]), else the split is by count.
    fn search_by(&mut self, pieces: &[(u32, Id)], numbers: bool) -> Id {
        if pieces.len() == 1 {
            return pieces[0].1;
        }
        // Isolated values in a common background: a `jeq` chain when it is no longer than
        // the binary search.
        if let Some((background, singles)) = background(pieces) {
            if singles.len() <= depth(pieces.len()) {
                let mut node = background;
                for (v, t) in singles.into_iter().rev() {
                    node = self.g.jump(BPF_JMP | BPF_JEQ | BPF_K, v, t, node);
                }
                return node;
            }
        }
        let mid = if numbers {
            weighted_middle(pieces)
        } else {
            pieces.len() / 2
        };
        let right = self.search_by(&pieces[mid..], numbers);
        let left = self.search_by(&pieces[..mid], numbers);
        self.g
            .jump(BPF_JMP | BPF_JGE | BPF_K, pieces[mid].0, right, left)
    }

    /// Loads `word` unless it is in A already, then searches.
    fn switch(&mut self, word: u8, loaded: Option<u8>, pieces: &[(u32, Id)]) -> Id {
        let s = self.search_by(pieces, word == NR);
        if loaded == Some(word) || matches!(self.g.nodes[s], Node::Ret(_)) {
            s
        } else {
            self.g.add(Node::Load(word, s))
        }
    }

    /// The diagram that decides among `pending` rules (all comparisons of a rule must
    /// hold; the strictest holding rule wins), `fallback` when none holds.
    fn diagram(&mut self, mut pending: Vec<Pending>, loaded: Option<u8>, fallback: u32) -> Id {
        if self.work > MAX_WORK || self.g.nodes.len() > 2 * BPF_MAXINSNS {
            self.overflow = true;
            return self.g.ret(fallback);
        }
        // Settle: the satisfied rule that beats the others (the strictest, then the tie
        // order), and drop the rules that cannot beat it.
        let mut best: Option<Pending> = None;
        for p in &pending {
            if p.conds.is_empty() && best.as_ref().is_none_or(|b| p.beats(b)) {
                best = Some(p.clone());
            }
        }
        let outcome = best.as_ref().map_or(fallback, |b| b.action.to_ret());
        // A rule that beats the settled one stays, even with the same action: it may beat
        // a rule of another action that the settled one does not (a tie order between).
        pending.retain(|p| !p.conds.is_empty() && best.as_ref().is_none_or(|b| p.beats(b)));
        // A rule that gives the outcome already in force still matters where it beats a
        // rule of another outcome that may hold with it (a rule equal to the default over
        // an overlapping ALLOW, or the winner of a tie); elsewhere it changes nothing.
        // `p` beats some other rule when one is less strict, or equally strict and after
        // it in the tie order: the weakest strictness and each level's highest rank tell.
        let mut weakest: Option<u8> = None;
        let mut last_rank: [Option<usize>; 8] = [None; 8];
        for o in pending.iter().filter(|p| p.action.to_ret() != outcome) {
            let s = strictness(o.action);
            weakest = Some(weakest.map_or(s, |w| w.min(s)));
            let r = &mut last_rank[usize::from(s)];
            *r = Some(r.map_or(o.rank, |x| x.max(o.rank)));
        }
        pending.retain(|p| {
            let s = strictness(p.action);
            p.action.to_ret() != outcome
                || weakest.is_some_and(|w| w < s)
                || last_rank[usize::from(s)].is_some_and(|r| r > p.rank)
        });
        if pending.is_empty() {
            return self.g.ret(outcome);
        }
        // The rule that beats the others first.
        pending.sort_by_key(|p| (std::cmp::Reverse(strictness(p.action)), p.rank));
        // Looking the rules up in the memo costs their size.
        self.work += pending.iter().map(|p| p.conds.len() + 1).sum::<usize>();
        let key = (loaded, outcome, pending);
        if let Some(id) = self.memo.get(&key) {
            return *id;
        }
        let (loaded, _, pending) = key;
        // The strictest pending rule (the first of them) is decided first, comparison by
        // comparison; a split on a word also decides every other rule's interval
        // comparisons of that word.
        let first = pending.first().expect("pending is not empty");
        let id = match first.conds[0].clone() {
            Cond::Mask { word, m, v } => self.split_mask(&pending, word, m, v, loaded, outcome),
            other => self.split_ranges(&pending, other.word(), loaded, outcome),
        };
        self.memo.insert((loaded, outcome, pending), id);
        id
    }

    /// Splits on the masked comparison `word & m == v`.
    fn split_mask(
        &mut self,
        pending: &[Pending],
        word: u8,
        m: u32,
        v: u32,
        loaded: Option<u8>,
        fallback: u32,
    ) -> Id {
        let mut yes = Vec::new();
        let mut no = Vec::new();
        for p in pending {
            // Under `word & m == v`, a comparison of the same masked bits with another
            // value fails; under its negation, the same comparison fails.
            let same =
                |c: &Cond| matches!(c, Cond::Mask { word: w, m: m2, .. } if *w == word && *m2 == m);
            let tested = p.conds.contains(&Cond::Mask { word, m, v });
            if !p
                .conds
                .iter()
                .any(|c| same(c) && *c != Cond::Mask { word, m, v })
            {
                let mut y = p.clone();
                y.conds.retain(|c| !same(c));
                yes.push(y);
            }
            if !tested {
                no.push(p.clone());
            }
        }
        // `jset` keeps A; an `and` leaves the masked value in it.
        let single_bit = m.is_power_of_two();
        let keeps = v == 0 || (single_bit && v == m);
        let after = if keeps { Some(word) } else { None };
        let y = self.diagram(yes, after, fallback);
        let n = self.diagram(no, after, fallback);
        if y == n {
            return y;
        }
        let test = if v == 0 {
            // Taken when some masked bit is set: the comparison fails.
            self.g.jump(BPF_JMP | BPF_JSET | BPF_K, m, n, y)
        } else if single_bit && v == m {
            self.g.jump(BPF_JMP | BPF_JSET | BPF_K, m, y, n)
        } else {
            let j = self.g.jump(BPF_JMP | BPF_JEQ | BPF_K, v, y, n);
            self.g.add(Node::And(m, j))
        };
        if loaded == Some(word) {
            test
        } else {
            self.g.add(Node::Load(word, test))
        }
    }

    /// Splits on the ordered comparisons of `word`: cuts its values at every constant,
    /// merges neighbours that leave the same rules, and searches the pieces.
    ///
    /// `pending` is ordered strictest first, so a piece's rules are collected in that
    /// order only up to the first one the piece satisfies (the later ones cannot win).
    /// The rules whose comparison holds on a piece are kept in a sweep over the pieces,
    /// so a piece costs the rules it keeps, not all of them.
    fn split_ranges(
        &mut self,
        pending: &[Pending],
        word: u8,
        loaded: Option<u8>,
        fallback: u32,
    ) -> Id {
        // Per rule, the position of its comparison of `word` and the intervals where it
        // holds, each with what it leaves (nothing, or a set of the low word).
        let mut spans: Vec<(usize, u32, u32, Option<Cond>)> = Vec::new();
        let mut cond_at: Vec<Option<usize>> = Vec::with_capacity(pending.len());
        for (pos, p) in pending.iter().enumerate() {
            let at = p.conds.iter().position(|c| match c {
                Cond::In { word: w, .. } => *w == word,
                Cond::Wide { hi, .. } => *hi == word,
                Cond::Mask { .. } => false,
            });
            cond_at.push(at);
            match at.map(|k| &p.conds[k]) {
                Some(Cond::In { set, .. }) => {
                    for &(a, b) in set {
                        spans.push((pos, a, b, None));
                    }
                }
                Some(Cond::Wide {
                    lo,
                    vh,
                    below,
                    at,
                    above,
                    ..
                }) => {
                    let classes = [
                        (vh.checked_sub(1).map(|b| (0, b)), below),
                        (Some((*vh, *vh)), at),
                        (vh.checked_add(1).map(|a| (a, FULL)), above),
                    ];
                    for (range, rest) in classes {
                        let Some((a, b)) = range else {
                            continue;
                        };
                        match rest {
                            Rest::False => {}
                            Rest::True => spans.push((pos, a, b, None)),
                            Rest::Low(set) => spans.push((
                                pos,
                                a,
                                b,
                                Some(Cond::In {
                                    word: *lo,
                                    set: set.clone(),
                                }),
                            )),
                        }
                    }
                }
                _ => {}
            }
        }
        let mut cuts = vec![0u32];
        for &(_, a, b, _) in &spans {
            cuts.push(a);
            cuts.extend(b.checked_add(1));
        }
        cuts.sort_unstable();
        cuts.dedup();
        let piece_of = |v: u32| cuts.partition_point(|c| *c < v);
        // Sweep: spans starting and ending at each piece.
        let mut starts: Vec<Vec<usize>> = vec![Vec::new(); cuts.len()];
        let mut ends: Vec<Vec<usize>> = vec![Vec::new(); cuts.len() + 1];
        for (k, &(_, a, b, _)) in spans.iter().enumerate() {
            starts[piece_of(a)].push(k);
            ends[b.checked_add(1).map_or(cuts.len(), piece_of)].push(k);
        }
        // Active rules by position: the span that admits them (`None`: no comparison of
        // this word).
        let mut active: BTreeMap<usize, Option<usize>> = BTreeMap::new();
        for (pos, at) in cond_at.iter().enumerate() {
            if at.is_none() {
                active.insert(pos, None);
            }
        }
        let mut pieces: Vec<(u32, Vec<Pending>)> = Vec::new();
        for (i, &start) in cuts.iter().enumerate() {
            for k in &ends[i] {
                active.remove(&spans[*k].0);
            }
            for k in &starts[i] {
                active.insert(spans[*k].0, Some(*k));
            }
            let mut left = Vec::new();
            for (&pos, span) in &active {
                let p = &pending[pos];
                self.work += p.conds.len();
                let mut conds: Vec<Cond> = p.conds.clone();
                if let (Some(k), Some(c)) = (span, cond_at[pos]) {
                    conds.remove(c);
                    if let Some(rest) = &spans[*k].3 {
                        conds.push(rest.clone());
                        conds.sort_by_key(|c| word_rank(c.word(), self.big_endian));
                    }
                }
                let done = conds.is_empty();
                left.push(Pending {
                    action: p.action,
                    conds,
                    rank: p.rank,
                });
                if done {
                    break;
                }
            }
            match pieces.last() {
                Some((_, prev)) if *prev == left => {}
                _ => pieces.push((start, left)),
            }
            if self.work > MAX_WORK {
                self.overflow = true;
                return self.g.ret(fallback);
            }
        }
        let mut targets: Vec<(u32, Id)> = Vec::with_capacity(pieces.len());
        for (start, left) in pieces {
            let t = self.diagram(left, Some(word), fallback);
            match targets.last() {
                Some((_, prev)) if *prev == t => {}
                _ => targets.push((start, t)),
            }
        }
        self.switch(word, loaded, &targets)
    }
}

/// Where to split a search: the weighted median of the pieces, a piece starting at `n`
/// weighing `24 / (24 + n % 2^30)`, so that the low numbers of each ABI (the oldest
/// syscalls, which programs call most: `read`, `write`, `open`, `close`, `stat`...) sit
/// nearer the root. Never the first piece.
fn weighted_middle(pieces: &[(u32, Id)]) -> usize {
    let w = |start: u32| 24.0 / (24.0 + f64::from(start & (X32_SYSCALL_BIT - 1)));
    let total: f64 = pieces.iter().map(|(s, _)| w(*s)).sum();
    let mut acc = 0.0;
    for (i, (s, _)) in pieces.iter().enumerate() {
        acc += w(*s);
        if acc * 2.0 >= total {
            return (i + 1).clamp(1, pieces.len() - 1);
        }
    }
    pieces.len() / 2
}

/// When every piece of more than one value has one outcome, that outcome and the single
/// values with another.
fn background(pieces: &[(u32, Id)]) -> Option<(Id, Vec<(u32, Id)>)> {
    let mut bg = None;
    let mut singles = Vec::new();
    for (i, &(start, t)) in pieces.iter().enumerate() {
        let single = pieces
            .get(i + 1)
            .is_some_and(|n| n.0 == start.wrapping_add(1));
        if single {
            singles.push((start, t));
        } else {
            match bg {
                None => bg = Some(t),
                Some(b) if b == t => {}
                Some(_) => return None,
            }
        }
    }
    let bg = bg?;
    singles.retain(|(_, t)| *t != bg);
    Some((bg, singles))
}

/// The outcome for a number with no rule: the stub or the default.
struct NoMatch {
    stub: bool,
    enosys: u16,
    max: Option<u32>,
    s390: bool,
    default: u32,
}

impl NoMatch {
    fn at(&self, nr: u32) -> u32 {
        let enosys = ret::ERRNO | u32::from(self.enosys);
        match self.max {
            Some(max) if self.stub && (nr > max || (self.s390 && nr == 0)) => enosys,
            _ => self.default,
        }
    }
}

/// The rules of one ABI, by syscall number: each syscall's rules (in profile order) and,
/// on a multiplexer, its sub-calls as extra rules.
fn abi_rules(profile: &Profile, a: &ArchInfo, numbers: &[Option<i32>]) -> Vec<GenRule> {
    let mut out: Vec<GenRule> = Vec::with_capacity(profile.rules().len());
    let number = |n: &str| arch::resolve(n, a);
    for (index, (r, nr)) in profile.rules().iter().zip(numbers).enumerate() {
        if let Some(nr) = *nr {
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
            // An unconditional rule beats the conditional ones, except one equal to the
            // default: that one is kept only to take part in precedence, as a rule that
            // always matches (`Profile::rules`).
            out.push(GenRule {
                nr: nr as u32,
                action: r.action,
                unconditional: r.conditions.is_empty() && r.action != profile.default_action(),
                conds,
                src: Some(index),
                rank: 0,
            });
        }
    }
    if multiplexes(a) {
        // Sub-calls, as the complete check reads them (`prove::subcalls`).
        let mut by_name: BTreeMap<&str, Vec<&crate::profile::Rule>> = BTreeMap::new();
        for r in profile.rules() {
            if multiplexer_of(&r.name).is_some() {
                by_name.entry(r.name.as_str()).or_default().push(r);
            }
        }
        for (name, rules) in by_name {
            let Some((mux, call, mask)) = multiplexer_of(name) else {
                continue;
            };
            let Some(mux_nr) = number(mux) else {
                continue;
            };
            // As the complete check reads it (`prove::subcalls`): an unconditional rule
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
                src: None,
                rank: 0,
            });
        }
    }
    // By number; profile order within one number (the sort is stable).
    out.sort_by_key(|r| r.nr);
    // Each syscall's rules ranked by libseccomp's tie order; sub-calls last.
    let all = profile.rules();
    for group in out.chunk_by_mut(|a, b| a.nr == b.nr) {
        let refs: Vec<&crate::profile::Rule> = group
            .iter()
            .filter_map(|g| g.src.map(|i| &all[i]))
            .collect();
        let ranks = crate::profile::tie_ranks(&refs, !a.narrow_args());
        let (mut k, mut extra) = (0, refs.len());
        for g in group.iter_mut() {
            if g.src.is_some() {
                g.rank = ranks[k];
                k += 1;
            } else {
                g.rank = extra;
                extra += 1;
            }
        }
    }
    out
}

/// The search of one ABI's numbers, from `floor` (inclusive) to `ceiling` (inclusive);
/// the numbers outside cannot reach it.
fn abi_search(
    gen: &mut Gen,
    profile: &Profile,
    a: &ArchInfo,
    stub: Stub,
    floor: u32,
    ceiling: u32,
) -> Vec<(u32, Id)> {
    gen.big_endian = a.big_endian;
    let (numbers, max) = profile.numbers(a);
    let none = NoMatch {
        stub: stub.applies_to(profile.default_action()),
        enosys: a.enosys(),
        max,
        s390: a.name.starts_with("SCMP_ARCH_S390"),
        default: profile.default_action().to_ret(),
    };
    let rules = abi_rules(profile, a, &numbers);
    let mut out: Vec<(u32, Id)> = Vec::new();
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
    let mut next = Some(floor);
    for group in rules.chunk_by(|a, b| a.nr == b.nr) {
        let nr = group[0].nr;
        if nr < floor || nr > ceiling {
            continue;
        }
        let Some(from) = next else {
            break;
        };
        if nr > from {
            gap(gen, &mut out, from, nr - 1);
        }
        let t = syscall_diagram(gen, group, none.at(nr));
        push_piece(&mut out, nr, t);
        next = nr.checked_add(1);
    }
    if let Some(from) = next.filter(|f| *f <= ceiling) {
        gap(gen, &mut out, from, ceiling);
    }
    out
}

/// Appends a piece unless it has its predecessor's outcome.
fn push_piece(pieces: &mut Vec<(u32, Id)>, start: u32, t: Id) {
    if pieces.last().is_none_or(|(_, prev)| *prev != t) {
        pieces.push((start, t));
    }
}

/// One syscall's outcome: its first unconditional rule, else the diagram of its
/// conditional rules.
fn syscall_diagram(gen: &mut Gen, list: &[GenRule], fallback: u32) -> Id {
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

/// Generates the program for a validated profile, `stub` saying whether the ENOSYS stub
/// is part of it (as [`crate::CompileOptions::stub`]).
///
/// # Errors
///
/// [`CompileError::ProgramTooLong`] when the program has more than [`BPF_MAXINSNS`]
/// instructions, [`CompileError::ComparisonsTooComplex`] when its argument diagram grows
/// past any program the kernel accepts (it is not built to the end).
pub fn generate(profile: &Profile, stub: Stub) -> Result<Vec<Instruction>, CompileError> {
    let mut gen = Gen {
        g: Graph::default(),
        memo: rustc_hash::FxHashMap::default(),
        big_endian: false,
        work: 0,
        overflow: false,
    };
    let kill = gen.g.ret(ret::KILL_THREAD);
    // Architectures in profile order, x86_64 and x32 sharing one audit value.
    let mut blocks: Vec<(u32, Option<&ArchInfo>, Option<&ArchInfo>)> = Vec::new();
    for a in profile.architectures() {
        let i = match blocks.iter().position(|b| b.0 == a.audit_arch) {
            Some(i) => i,
            None => {
                blocks.push((a.audit_arch, None, None));
                blocks.len() - 1
            }
        };
        if a.x32 {
            blocks[i].2 = Some(a);
        } else {
            blocks[i].1 = Some(a);
        }
    }
    let mut entries = Vec::new();
    for (audit, plain, x32) in blocks {
        let block = if let (Some(x), Some(p)) = (x32, plain) {
            // One search over both ABIs when bit 30 only matters below 2^31: x86_64
            // numbers lie below 2^30, x32 numbers from 2^30 to 2^31, and above 2^31 each
            // ABI gives its no-match outcome (usually the same) to all numbers.
            let high_plain = abi_search(&mut gen, profile, p, stub, 0x8000_0000, 0xbfff_ffff);
            let high_x32 = abi_search(&mut gen, profile, x, stub, 0xc000_0000, FULL);
            let merged = match (high_plain.as_slice(), high_x32.as_slice()) {
                ([(_, a)], [(_, b)]) if a == b => Some(*a),
                _ => None,
            };
            if let Some(high) = merged {
                let mut pieces = abi_search(&mut gen, profile, p, stub, 0, X32_SYSCALL_BIT - 1);
                for (start, t) in
                    abi_search(&mut gen, profile, x, stub, X32_SYSCALL_BIT, 0x7fff_ffff)
                {
                    push_piece(&mut pieces, start, t);
                }
                push_piece(&mut pieces, 0x8000_0000, high);
                let s = gen.search(&pieces);
                if matches!(gen.g.nodes[s], Node::Ret(_)) {
                    s
                } else {
                    gen.g.add(Node::Load(NR, s))
                }
            } else {
                let mut xs = abi_search(&mut gen, profile, x, stub, X32_SYSCALL_BIT, FULL);
                xs[0].0 = 0;
                let xt = gen.search(&xs);
                let ps = abi_search(&mut gen, profile, p, stub, 0, FULL);
                let pt = gen.search(&ps);
                let j = gen
                    .g
                    .jump(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, xt, pt);
                gen.g.add(Node::Load(NR, j))
            }
        } else if let Some(x) = x32 {
            // x32 without x86_64: bit 30 clear is a foreign ABI.
            let mut xs = abi_search(&mut gen, profile, x, stub, X32_SYSCALL_BIT, FULL);
            xs[0].0 = 0;
            let xt = gen.search(&xs);
            let j = gen
                .g
                .jump(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, xt, kill);
            gen.g.add(Node::Load(NR, j))
        } else if let Some(p) = plain {
            let mut ps = if audit == AUDIT_ARCH_X86_64 {
                abi_search(&mut gen, profile, p, stub, 0, X32_SYSCALL_BIT - 1)
            } else {
                abi_search(&mut gen, profile, p, stub, 0, FULL)
            };
            if audit == AUDIT_ARCH_X86_64 {
                // x32 is not in the profile: its numbers are a foreign ABI, except -1
                // (a tracer skipping the call), which libseccomp lets reach the default.
                push_piece(&mut ps, X32_SYSCALL_BIT, kill);
                let dflt = gen.g.ret(profile.default_action().to_ret());
                push_piece(&mut ps, FULL, dflt);
            }
            let s = gen.search(&ps);
            if matches!(gen.g.nodes[s], Node::Ret(_)) {
                s
            } else {
                gen.g.add(Node::Load(NR, s))
            }
        } else {
            kill
        };
        entries.push((audit, block));
    }
    let mut node = kill;
    for (audit, block) in entries.into_iter().rev() {
        node = gen.g.jump(BPF_JMP | BPF_JEQ | BPF_K, audit, block, node);
    }
    let root = if matches!(gen.g.nodes[node], Node::Ret(_)) {
        node
    } else {
        gen.g.add(Node::Load(ARCH, node))
    };
    if gen.overflow {
        return Err(CompileError::ComparisonsTooComplex {
            detail: if gen.work > MAX_WORK {
                format!("more than {MAX_WORK} rule-piece steps")
            } else {
                format!("more than {} diagram nodes", 2 * BPF_MAXINSNS)
            },
            max: BPF_MAXINSNS,
        });
    }
    let insns = Layout::new(&gen.g).emit(root);
    if insns.len() > BPF_MAXINSNS {
        return Err(CompileError::ProgramTooLong {
            len: insns.len(),
            max: BPF_MAXINSNS,
        });
    }
    Ok(insns)
}

/// Lays the diagram out backwards: `out[0]` is the last instruction.
struct Layout<'g> {
    g: &'g Graph,
    out: Vec<Instruction>,
    /// Per node, the position (counted from the end) of its first instruction.
    at: Vec<Option<usize>>,
    /// Per `ret` constant, the position of its nearest copy.
    rets: rustc_hash::FxHashMap<u32, usize>,
}

/// Farthest a conditional jump reaches.
const MAX_OFF: usize = u8::MAX as usize;

impl<'g> Layout<'g> {
    fn new(g: &'g Graph) -> Self {
        Self {
            g,
            out: Vec::new(),
            at: vec![None; g.nodes.len()],
            rets: rustc_hash::FxHashMap::default(),
        }
    }

    fn emit(mut self, root: Id) -> Vec<Instruction> {
        self.place(root);
        self.out.reverse();
        self.out
    }

    fn push(&mut self, i: Instruction) -> usize {
        self.out.push(i);
        self.out.len() - 1
    }

    fn push_ret(&mut self, k: u32) -> usize {
        let p = self.push(Instruction::stmt(BPF_RET | BPF_K, k));
        self.rets.insert(k, p);
        p
    }

    /// Places `id` (if not yet) and returns the position of its first instruction.
    fn place(&mut self, id: Id) -> usize {
        if let Node::Ret(k) = self.g.nodes[id] {
            return match self.rets.get(&k) {
                Some(&p) if self.out.len() - p - 1 <= MAX_OFF - 2 => p,
                _ => self.push_ret(k),
            };
        }
        if let Some(p) = self.at[id] {
            return p;
        }
        let p = match self.g.nodes[id] {
            Node::Ret(_) => unreachable!("handled above"),
            Node::Load(word, next) => {
                self.follow(next);
                self.push(Instruction::stmt(
                    BPF_LD | BPF_W | BPF_ABS,
                    u32::from(word) * 4,
                ))
            }
            Node::And(k, next) => {
                self.follow(next);
                self.push(Instruction::stmt(BPF_ALU | BPF_AND | BPF_K, k))
            }
            Node::Jump { op, k, jt, jf } => {
                let mut t = self.place(jt);
                let mut f = self.place(jf);
                loop {
                    let here = self.out.len();
                    if here - t - 1 > MAX_OFF {
                        t = self.trampoline(jt, t);
                        continue;
                    }
                    if here - f - 1 > MAX_OFF {
                        f = self.trampoline(jf, f);
                        continue;
                    }
                    break;
                }
                let here = self.out.len();
                // Both offsets were checked to fit 8 bits just above.
                self.push(Instruction::jump(
                    op,
                    k,
                    (here - t - 1) as u8,
                    (here - f - 1) as u8,
                ))
            }
        };
        self.at[id] = Some(p);
        p
    }

    /// Makes `next` the instruction right after the one about to be placed.
    fn follow(&mut self, next: Id) {
        let p = self.place(next);
        if p + 1 != self.out.len() {
            let off = self.out.len() - p - 1;
            // A program is at most a few thousand instructions.
            self.push(Instruction::stmt(BPF_JMP | BPF_JA, off as u32));
        }
    }

    /// A nearby stand-in for a far target: a copy of a `ret`, or a `ja`.
    fn trampoline(&mut self, id: Id, target: usize) -> usize {
        if let Node::Ret(k) = self.g.nodes[id] {
            return self.push_ret(k);
        }
        let off = self.out.len() - target - 1;
        self.push(Instruction::stmt(BPF_JMP | BPF_JA, off as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Program;

    fn profile(json: &str) -> Profile {
        Profile::from_oci(&crate::parse_profile(json).unwrap(), false).unwrap()
    }

    /// A program far longer than a conditional jump reaches (255 instructions): the
    /// layout must use `ja` trampolines and nearby copies of `ret`, and the result must
    /// still decide every rule's value (and its neighbours) as the profile says.
    #[test]
    fn far_targets_are_reached_through_trampolines() {
        let native = arch::native();
        let names: Vec<String> = (0..1000)
            .filter_map(|nr| arch::syscall_name(nr, native))
            .take(300)
            .collect();
        let entries: Vec<String> = (0..1024)
            .map(|i| {
                format!(
                    r#"{{"names":["{}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#,
                    names[i % names.len()]
                )
            })
            .collect();
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5,"syscalls":[{}]}}"#,
            entries.join(",")
        );
        let p = profile(&json);
        let insns = generate(&p, Stub::Enosys).unwrap();
        assert!(insns.len() > 1000, "{}", insns.len());
        assert!(insns.iter().any(|i| i.code == BPF_JMP | BPF_JA));
        let rets = insns.iter().filter(|i| i.code == BPF_RET | BPF_K).count();
        assert!(rets > 3, "copies of ret: {rets}");
        let program = Program::new(insns, p.flags(), p.optional_flags());
        crate::proof::prove(&p, &program, Stub::Enosys).unwrap();
        for i in [0u64, 1, 299, 300, 511, 1023] {
            let nr = arch::resolve(&names[i as usize % names.len()], native).unwrap();
            for v in [i, i + 300 * 7 + 1] {
                let got = crate::simulate(&program, native.audit_arch, nr, [v, 0, 0, 0, 0, 0])
                    .unwrap()
                    .action;
                let want = p.decide(native.audit_arch, nr as u32, [v, 0, 0, 0, 0, 0]);
                assert!(want.accepts(got), "nr {nr} arg {v}: {got} vs {want:?}");
            }
            let allowed = crate::simulate(&program, native.audit_arch, nr, [i, 0, 0, 0, 0, 0])
                .unwrap()
                .action;
            assert_eq!(allowed, Action::Allow, "nr {nr} arg {i}");
        }
    }

    /// A few isolated values in a common background are tested with a `jeq` chain; many
    /// with a search of `jge`.
    #[test]
    fn isolated_values_use_jeq_and_ranges_use_jge() {
        let g = &mut Graph::default();
        let (a, b) = (g.ret(1), g.ret(2));
        let mut gen = Gen {
            g: std::mem::take(g),
            memo: rustc_hash::FxHashMap::default(),
            big_endian: false,
            work: 0,
            overflow: false,
        };
        // b, then a at 5 only, then b.
        let root = gen.search_by(&[(0, b), (5, a), (6, b)], false);
        assert!(matches!(
            gen.g.nodes[root],
            Node::Jump { op, k: 5, .. } if op == BPF_JMP | BPF_JEQ | BPF_K
        ));
        // Alternating ranges: a binary search.
        let pieces: Vec<(u32, Id)> = (0..8)
            .map(|i| (i * 10, if i % 2 == 0 { a } else { b }))
            .collect();
        let root = gen.search_by(&pieces, false);
        assert!(matches!(
            gen.g.nodes[root],
            Node::Jump { op, k: 40, .. } if op == BPF_JMP | BPF_JGE | BPF_K
        ));
    }
}
