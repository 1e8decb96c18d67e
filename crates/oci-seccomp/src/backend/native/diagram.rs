//! Decision diagrams: the argument comparisons of one syscall's rules as a graph of
//! word tests, built bounded ([`MAX_WORK`]), shared where equal.

use super::{FULL, NR};
use crate::action::{strictness, Action};
use crate::arch::X32_SYSCALL_BIT;
use crate::bpf::{BPF_JEQ, BPF_JGE, BPF_JMP, BPF_JSET, BPF_K, BPF_MAXINSNS};
use crate::profile::{Condition, Op};
use std::collections::BTreeMap;

pub(super) type Id = usize;

/// A node of the decision diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Node {
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
pub(super) struct Graph {
    pub(super) nodes: Vec<Node>,
    pub(super) interned: rustc_hash::FxHashMap<Node, Id>,
    /// The `ret` nodes made first (a profile's few outcomes, asked for again at every
    /// syscall and gap), found without hashing: up to [`RETS`] of them, by value.
    rets: [(u32, Id); RETS],
    rets_len: usize,
}

/// How many `ret` nodes [`Graph::ret`] finds without the hash table.
const RETS: usize = 8;

impl Graph {
    /// Empty, with room for `nodes` nodes.
    pub(super) fn with_capacity(nodes: usize) -> Self {
        Self {
            nodes: Vec::with_capacity(nodes),
            interned: rustc_hash::FxHashMap::with_capacity_and_hasher(nodes, Default::default()),
            rets: [(0, 0); RETS],
            rets_len: 0,
        }
    }

    pub(super) fn add(&mut self, n: Node) -> Id {
        if let Node::Jump { jt, jf, .. } = n {
            if jt == jf {
                return jt;
            }
        }
        match self.interned.entry(n) {
            std::collections::hash_map::Entry::Occupied(e) => *e.get(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let id = self.nodes.len();
                self.nodes.push(n);
                e.insert(id);
                id
            }
        }
    }

    pub(super) fn ret(&mut self, k: u32) -> Id {
        if let Some((_, id)) = self.rets[..self.rets_len].iter().find(|(v, _)| *v == k) {
            return *id;
        }
        let id = self.add(Node::Ret(k));
        if self.rets_len < RETS {
            self.rets[self.rets_len] = (k, id);
            self.rets_len += 1;
        }
        id
    }

    pub(super) fn jump(&mut self, op: u16, k: u32, jt: Id, jf: Id) -> Id {
        self.add(Node::Jump { op, k, jt, jf })
    }
}

/// A set of 32-bit values: sorted, disjoint, non-adjacent inclusive intervals.
pub(super) type Set = Vec<(u32, u32)>;

/// What a 64-bit comparison leaves to the low word once the high word is known.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Rest {
    True,
    False,
    Low(Set),
}

impl Rest {
    pub(super) fn of(set: Set) -> Self {
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
pub(super) enum Cond {
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
    pub(super) fn word(&self) -> u8 {
        match self {
            Self::In { word, .. } | Self::Mask { word, .. } => *word,
            Self::Wide { hi, .. } => *hi,
        }
    }
}

/// One rule of a syscall's diagram: its action and its pending comparisons (all must
/// hold).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Pending {
    pub(super) action: Action,
    pub(super) conds: Vec<Cond>,
    /// The rule's place in its syscall's tie order ([`crate::profile::tie_ranks`]):
    /// between holding rules of equally strict actions, the lower rank decides.
    pub(super) rank: usize,
}

impl Pending {
    /// Whether this rule, when it holds, decides over `other` holding too.
    pub(super) fn beats(&self, other: &Pending) -> bool {
        let (s, o) = (strictness(self.action), strictness(other.action));
        s > o || (s == o && self.rank < other.rank)
    }
}

/// The values of a word that satisfy `op value` on 32 bits.
pub(super) fn set_for(op: Op, v: u32) -> Set {
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
pub(super) fn arg_words(i: u8, big_endian: bool) -> (u8, u8) {
    if big_endian {
        (5 + 2 * i, 4 + 2 * i)
    } else {
        (4 + 2 * i, 5 + 2 * i)
    }
}

/// A masked comparison as a condition; `None` when it always holds.
pub(super) fn mask_cond(word: u8, m: u32, v: u32) -> Option<Cond> {
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
pub(super) fn conds_of(c: &Condition, narrow: bool, big_endian: bool) -> Result<Vec<Cond>, ()> {
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
pub(super) struct GenRule {
    /// The syscall number on the ABI.
    pub(super) nr: u32,
    pub(super) action: Action,
    /// The entry has no comparisons (not: its comparisons always hold).
    pub(super) unconditional: bool,
    /// The comparisons; `None` when they can never all hold.
    pub(super) conds: Option<Vec<Cond>>,
    /// Place in the syscall's tie order (the profile's rules by libseccomp's, a
    /// multiplexer's sub-calls after them).
    pub(super) rank: usize,
}

/// Builds the diagram of one program.
pub(super) struct Gen {
    pub(super) g: Graph,
    pub(super) memo: rustc_hash::FxHashMap<(Option<u8>, u32, Vec<Pending>), Id>,
    pub(super) big_endian: bool,
    /// Pieces times rules examined so far, against [`MAX_WORK`].
    pub(super) work: usize,
    /// The budget ran out, or the diagram outgrew any program the kernel takes: the
    /// result is refused.
    pub(super) overflow: bool,
}

/// Most pieces-times-rules the generator examines before it gives up (a profile whose
/// diagram needs more has no program within the kernel's 4096 instructions anyway).
pub(super) const MAX_WORK: usize = 300_000;

/// Order in which words are split: an argument's high word before its low word, arguments
/// by index.
pub(super) fn word_rank(word: u8, big_endian: bool) -> u8 {
    let arg = (word - 4) / 2;
    let hi = if big_endian {
        word % 2 == 0
    } else {
        word % 2 == 1
    };
    2 * arg + u8::from(!hi)
}

/// `ceil(log2(n))`.
pub(super) fn depth(n: usize) -> usize {
    (usize::BITS - n.saturating_sub(1).leading_zeros()) as usize
}

impl Gen {
    /// The search over `pieces` (`(first value, outcome)`, contiguous, neighbours
    /// different, the first starting at the lowest value that can reach it); assumes the
    /// word is in A.
    pub(super) fn search(&mut self, pieces: &[(u32, Id)]) -> Id {
        self.search_by(pieces, true)
    }

    /// [`Gen::search`]; `numbers` says the word is `nr` (weighted toward low numbers, see
    /// [`weighted_middle`]), else the split is by count.
    pub(super) fn search_by(&mut self, pieces: &[(u32, Id)], numbers: bool) -> Id {
        if pieces.len() == 1 {
            return pieces[0].1;
        }
        // Isolated values in a common background: a `jeq` chain when it is no longer than
        // the binary search.
        if let Some((background, singles)) = background(pieces) {
            if singles <= depth(pieces.len()) {
                let mut node = background;
                for (v, t) in singles_of(pieces, background).rev() {
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
    pub(super) fn switch(&mut self, word: u8, loaded: Option<u8>, pieces: &[(u32, Id)]) -> Id {
        let s = self.search_by(pieces, word == NR);
        if loaded == Some(word) || matches!(self.g.nodes[s], Node::Ret(_)) {
            s
        } else {
            self.g.add(Node::Load(word, s))
        }
    }

    /// The diagram that decides among `pending` rules (all comparisons of a rule must
    /// hold; the strictest holding rule wins), `fallback` when none holds.
    pub(super) fn diagram(
        &mut self,
        mut pending: Vec<Pending>,
        loaded: Option<u8>,
        fallback: u32,
    ) -> Id {
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
    pub(super) fn split_mask(
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
    pub(super) fn split_ranges(
        &mut self,
        pending: &[Pending],
        word: u8,
        loaded: Option<u8>,
        fallback: u32,
    ) -> Id {
        let (spans, cond_at) = spans_of(pending, word);
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
pub(super) fn weighted_middle(pieces: &[(u32, Id)]) -> usize {
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

/// When every piece of more than one value has one outcome, that outcome and the number
/// of single values with another ([`singles_of`] lists them).
pub(super) fn background(pieces: &[(u32, Id)]) -> Option<(Id, usize)> {
    let mut bg = None;
    for (i, &(start, t)) in pieces.iter().enumerate() {
        if !is_single(pieces, i, start) {
            match bg {
                None => bg = Some(t),
                Some(b) if b == t => {}
                Some(_) => return None,
            }
        }
    }
    let bg = bg?;
    Some((bg, singles_of(pieces, bg).count()))
}

/// Whether `pieces[i]`, which starts at `start`, holds that one value.
fn is_single(pieces: &[(u32, Id)], i: usize, start: u32) -> bool {
    pieces
        .get(i + 1)
        .is_some_and(|n| n.0 == start.wrapping_add(1))
}

/// The pieces of one value whose outcome is not `bg`, in order: what a `jeq` chain over
/// the background `bg` ([`background`]) tests.
fn singles_of(pieces: &[(u32, Id)], bg: Id) -> impl DoubleEndedIterator<Item = (u32, Id)> + '_ {
    pieces
        .iter()
        .enumerate()
        .filter(move |&(i, &(start, t))| t != bg && is_single(pieces, i, start))
        .map(|(_, &p)| p)
}

/// A span of the values of one word where a rule's comparison of it holds: the rule's
/// position, the interval, and what the rule still asks there (nothing, or a set of the
/// low word).
type Span = (usize, u32, u32, Option<Cond>);

/// Per rule of `pending`, the intervals of `word` where its comparison of `word` holds, and
/// the index of that comparison among its conditions (`None`: it does not compare `word`).
fn spans_of(pending: &[Pending], word: u8) -> (Vec<Span>, Vec<Option<usize>>) {
    // Per rule, the position of its comparison of `word` and the intervals where it
    // holds, each with what it leaves (nothing, or a set of the low word).
    let mut spans: Vec<Span> = Vec::new();
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
    (spans, cond_at)
}
