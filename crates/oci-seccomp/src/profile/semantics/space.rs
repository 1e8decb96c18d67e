//! The input space of a filter, symbolically: a [`Region`] is a set of `seccomp_data`
//! values (one constraint per 32-bit word: an interval, a fixed bit pattern and excluded
//! patterns), an [`Atom`] a yes/no question about one word. Both the profile's meaning and
//! a program's paths are asked such questions ([`Ask`]), of one concrete call
//! ([`SeccompData`]) or of a region, where a question whose answer differs splits it.

use std::collections::HashSet;

use super::budget::{Counter, Exhausted, StepBudget};
use crate::bpf::{SeccompData, SECCOMP_DATA_LEN};

/// Word index of `nr` in `seccomp_data` (byte offset / 4).
pub(crate) const NR: usize = 0;
/// Word index of `arch`.
pub(crate) const ARCH: usize = 1;
pub(crate) const WORDS: usize = (SECCOMP_DATA_LEN / 4) as usize;
pub(crate) const FULL: u32 = u32::MAX;

/// The excluded patterns still equal on the bits chosen so far ([`WordSet::search`]), by
/// index: a bit set while there are at most 64 patterns (no allocation per step), a list
/// beyond.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Alive {
    Bits(u64),
    List(Vec<usize>),
}

impl Alive {
    /// Patterns `0..n`.
    fn all(n: usize) -> Self {
        match n {
            0..64 => Self::Bits((1u64 << n) - 1),
            64 => Self::Bits(u64::MAX),
            _ => Self::List((0..n).collect()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Bits(b) => b.count_ones() as usize,
            Self::List(l) => l.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The indices, in increasing order.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let (bits, list) = match self {
            Self::Bits(b) => (*b, &[][..]),
            Self::List(l) => (0, &l[..]),
        };
        let mut rest = bits;
        let from_bits = std::iter::from_fn(move || {
            let i = (rest != 0).then(|| rest.trailing_zeros() as usize)?;
            rest &= rest - 1;
            Some(i)
        });
        from_bits.chain(list.iter().copied())
    }

    /// The indices that pass `keep`, in the same representation.
    fn filter(&self, keep: impl Fn(usize) -> bool) -> Self {
        match self {
            Self::Bits(b) => {
                let mut out = 0u64;
                let mut rest = *b;
                while rest != 0 {
                    let i = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    if keep(i) {
                        out |= 1 << i;
                    }
                }
                Self::Bits(out)
            }
            Self::List(l) => Self::List(l.iter().copied().filter(|&i| keep(i)).collect()),
        }
    }
}

/// A comparison of one 32-bit word with constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    /// `(w & mask) == value`
    Masked(u32, u32),
    /// `w > k`
    Gt(u32),
    /// `w >= k`
    Ge(u32),
}

/// A question about the input: whether word `word` passes `test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Atom {
    /// Word index in `seccomp_data` (0 `nr`, 1 `arch`, 2..3 the instruction pointer,
    /// 4.. the arguments, two words each in the target's byte order).
    pub word: usize,
    /// The comparison.
    pub test: Test,
}

impl Atom {
    pub(crate) fn eq(word: usize, v: u32) -> Self {
        Self {
            word,
            test: Test::Masked(FULL, v),
        }
    }
    pub(crate) fn gt(word: usize, v: u32) -> Self {
        Self {
            word,
            test: Test::Gt(v),
        }
    }
    pub(crate) fn ge(word: usize, v: u32) -> Self {
        Self {
            word,
            test: Test::Ge(v),
        }
    }
    pub(crate) fn holds(&self, w: u32) -> bool {
        match self.test {
            Test::Masked(m, v) => w & m == v,
            Test::Gt(k) => w > k,
            Test::Ge(k) => w >= k,
        }
    }
}

/// The constraint on one word: `lo <= w <= hi`, `w & mask == bits`, and `w & m != v` for
/// every `(m, v)` in `not`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WordSet {
    lo: u32,
    hi: u32,
    mask: u32,
    bits: u32,
    not: Vec<(u32, u32)>,
}

impl Default for WordSet {
    fn default() -> Self {
        Self {
            lo: 0,
            hi: FULL,
            mask: 0,
            bits: 0,
            not: Vec::new(),
        }
    }
}

impl WordSet {
    /// `(lo, hi)`: the interval the word lies in.
    pub(crate) fn bounds(&self) -> (u32, u32) {
        (self.lo, self.hi)
    }

    /// `(mask, bits)`: the word's bits under `mask` are `bits`.
    pub(crate) fn pattern(&self) -> (u32, u32) {
        (self.mask, self.bits)
    }

    /// `(mask, value)` pairs the word's masked bits are not.
    pub(crate) fn excluded(&self) -> &[(u32, u32)] {
        &self.not
    }

    /// The smallest and the largest member, `None` when the set is empty (or the search
    /// runs over its steps).
    pub(crate) fn extent(&self) -> Option<(u32, u32)> {
        let mut steps = Counter::new(super::budget::MAX_STEPS);
        let least = self.witness(&mut steps).ok()??;
        // The largest member of the set is the complement of the smallest member of the
        // complemented set.
        let flipped = WordSet {
            lo: !self.hi,
            hi: !self.lo,
            mask: self.mask,
            bits: !self.bits & self.mask,
            not: self.not.iter().map(|&(m, v)| (m, !v & m)).collect(),
        };
        let most = !flipped.witness(&mut steps).ok()??;
        Some((least, most))
    }

    /// Whether the word may be anything.
    pub(crate) fn is_free(&self) -> bool {
        self.lo == 0 && self.hi == FULL && self.mask == 0 && self.not.is_empty()
    }

    /// Adds `atom == yes`; false when the set became empty for sure (cheap checks only).
    pub(crate) fn add(&mut self, test: Test, yes: bool) -> bool {
        match (test, yes) {
            (Test::Masked(m, v), true) => {
                if v & !m != 0 || (self.mask & m) & (self.bits ^ v) != 0 {
                    return false;
                }
                self.mask |= m;
                self.bits |= v;
                if self.mask == FULL {
                    // Every bit fixed: one value, which the bounds now say too, so that
                    // an order test (`nr > k` after `nr == 135`) is answered from them.
                    if self.bits < self.lo || self.bits > self.hi {
                        return false;
                    }
                    (self.lo, self.hi) = (self.bits, self.bits);
                }
            }
            (Test::Masked(m, v), false) if m.is_power_of_two() && v & !m == 0 => {
                // One bit that differs from `v`'s is a fixed bit: kept as a pattern, which
                // the witness search handles without its general (slower) walk.
                return self.add(Test::Masked(m, v ^ m), true);
            }
            (Test::Masked(m, v), false) => {
                if v & !m == 0 {
                    if m == 0 {
                        return false;
                    }
                    self.not.push((m, v));
                }
            }
            (Test::Gt(k), true) => match k.checked_add(1) {
                Some(k) => self.lo = self.lo.max(k),
                None => return false,
            },
            (Test::Gt(k), false) => self.hi = self.hi.min(k),
            (Test::Ge(k), true) => self.lo = self.lo.max(k),
            (Test::Ge(k), false) => match k.checked_sub(1) {
                Some(k) => self.hi = self.hi.min(k),
                None => return false,
            },
        }
        self.lo <= self.hi
    }

    /// The smallest member, if any.
    pub(crate) fn witness(&self, steps: &mut Counter) -> Result<Option<u32>, Exhausted> {
        if self.lo > self.hi {
            return Ok(None);
        }
        if self.mask == 0 && self.not.is_empty() {
            // An interval.
            steps.add(1)?;
            return Ok(Some(self.lo));
        }
        if self.not.iter().all(|(m, _)| *m == FULL) {
            // The common shapes (an interval, a bit pattern, excluded single values): walk
            // the pattern's members upwards from `lo`, skipping excluded values.
            let mut sorted = Vec::new();
            if self.not.len() > 16 {
                sorted = self.not.iter().map(|(_, v)| *v).collect();
                sorted.sort_unstable();
            }
            let excluded = |w: u32| {
                if sorted.is_empty() {
                    self.not.iter().any(|(_, v)| *v == w)
                } else {
                    sorted.binary_search(&w).is_ok()
                }
            };
            // Each round passes one excluded value, so the loop ends after at most
            // `not.len() + 1` rounds; it counts as one step.
            steps.add(1)?;
            let mut start = self.lo;
            loop {
                let Some(w) = min_matching_at_least(start, self.mask, self.bits) else {
                    return Ok(None);
                };
                if w > self.hi {
                    return Ok(None);
                }
                if !excluded(w) {
                    return Ok(Some(w));
                }
                let Some(next) = w.checked_add(1) else {
                    return Ok(None);
                };
                start = next;
            }
        }
        let alive = Alive::all(self.not.len());
        let mut failed = HashSet::new();
        self.search(31, 0, true, true, &alive, steps, &mut failed)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search(
        &self,
        bit: i32,
        prefix: u32,
        tight_lo: bool,
        tight_hi: bool,
        alive: &Alive,
        steps: &mut Counter,
        failed: &mut HashSet<(i32, bool, bool, Alive)>,
    ) -> Result<Option<u32>, Exhausted> {
        // A step copies and hashes the live patterns (the memo's key: a bit set up to 64 of
        // them, a list beyond), and the memo keeps them: charged by their number, so that
        // the budget bounds time and memory alike (the same charge for either form).
        steps.add(1 + 8 * alive.len() as u64)?;
        if bit < 0 {
            return Ok(alive.is_empty().then_some(prefix));
        }
        // Bits `bit` and below are still to be chosen.
        let open = FULL >> (31 - bit);
        // A pattern still equal on its bits so far, whose remaining bits are all forced
        // to its values, can never differ.
        for i in alive.iter() {
            let (m, v) = self.not[i];
            let rest = m & open;
            if rest & !self.mask == 0 && (self.bits ^ v) & rest == 0 {
                return Ok(None);
            }
        }
        let key = (bit, tight_lo, tight_hi, alive.clone());
        if failed.contains(&key) {
            return Ok(None);
        }
        let b = 1u32 << bit;
        for x in [0u32, b] {
            if self.mask & b != 0 && self.bits & b != x {
                continue;
            }
            if tight_lo && x < self.lo & b {
                continue;
            }
            if tight_hi && x > self.hi & b {
                continue;
            }
            let tl = tight_lo && x == self.lo & b;
            let th = tight_hi && x == self.hi & b;
            let next = alive.filter(|i| {
                let (m, v) = self.not[i];
                m & b == 0 || v & b == x
            });
            if let Some(w) = self.search(bit - 1, prefix | x, tl, th, &next, steps, failed)? {
                return Ok(Some(w));
            }
        }
        failed.insert(key);
        Ok(None)
    }
}

/// The smallest `w >= start` with `w & mask == bits` (`bits` within `mask`).
pub(crate) fn min_matching_at_least(start: u32, mask: u32, bits: u32) -> Option<u32> {
    if start & mask == bits {
        return Some(start);
    }
    // The smallest larger member keeps `start`'s bits above some position `i`, has a 1
    // at `i` where `start` has a 0, and the least bits below; the lowest such `i` wins.
    for i in 0..32 {
        let b = 1u32 << i;
        if start & b != 0 || (mask & b != 0 && bits & b == 0) {
            continue;
        }
        let high = if i == 31 { 0 } else { !((b << 1) - 1) };
        let prefix = start & high;
        if (prefix ^ bits) & mask & high != 0 {
            continue;
        }
        return Some(prefix | b | (bits & (b - 1)));
    }
    None
}

/// A set of `seccomp_data` values: one constraint per 32-bit word (an interval, a bit
/// pattern and excluded patterns), with an undo log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Region {
    pub(crate) words: [WordSet; WORDS],
    /// Per push: the word and its bounds and pattern before, and its exclusion count.
    log: Vec<(usize, u32, u32, u32, u32, usize)>,
    pub(crate) steps: Counter,
}

impl Region {
    /// The whole space, for a search within what is left of `budget`.
    pub(crate) fn for_budget(budget: &StepBudget) -> Self {
        Self {
            steps: Counter::for_budget(budget),
            ..Self::default()
        }
    }

    pub(crate) fn push(&mut self, atom: Atom, yes: bool) -> Result<bool, Exhausted> {
        let w = &mut self.words[atom.word];
        self.log
            .push((atom.word, w.lo, w.hi, w.mask, w.bits, w.not.len()));
        if !w.add(atom.test, yes) {
            return Ok(false);
        }
        Ok(w.witness(&mut self.steps)?.is_some())
    }

    pub(crate) fn pop(&mut self) {
        if let Some((i, lo, hi, mask, bits, n)) = self.log.pop() {
            let w = &mut self.words[i];
            (w.lo, w.hi, w.mask, w.bits) = (lo, hi, mask, bits);
            w.not.truncate(n);
        }
    }

    /// Whether the region contains a value for which `atom` is `yes`.
    pub(crate) fn allows(&mut self, atom: Atom, yes: bool) -> Result<bool, Exhausted> {
        let r = self.push(atom, yes);
        self.pop();
        r
    }

    pub(crate) fn range(&self, word: usize) -> (u32, u32) {
        (self.words[word].lo, self.words[word].hi)
    }

    /// The one value `word` has in the region, when its bounds or its pattern fix it.
    pub(crate) fn single(&self, word: usize) -> Option<u32> {
        let w = &self.words[word];
        if w.lo == w.hi {
            Some(w.lo)
        } else if w.mask == FULL && (w.lo..=w.hi).contains(&w.bits) {
            Some(w.bits)
        } else {
            None
        }
    }

    /// Narrows the region to the one call `data` (every word fixed).
    pub(crate) fn pin(&mut self, data: &SeccompData) -> Result<(), Exhausted> {
        for (i, v) in Words::of(data).0.into_iter().enumerate() {
            self.push(Atom::eq(i, v), true)?;
        }
        Ok(())
    }

    /// The smallest member, word by word.
    pub(crate) fn sample(&mut self) -> Result<Words, Exhausted> {
        let mut w = [0u32; WORDS];
        for (i, set) in self.words.iter().enumerate() {
            w[i] = set.witness(&mut self.steps)?.unwrap_or(set.lo);
        }
        Ok(Words(w))
    }
}

/// One concrete `seccomp_data` as a filter reads it: sixteen 32-bit words, the 64-bit
/// fields in the byte order of the call's ABI. The public face is [`SeccompData`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Words(pub(crate) [u32; WORDS]);

impl Words {
    /// The words `data` is read as.
    pub(crate) fn of(data: &SeccompData) -> Self {
        // Every offset below SECCOMP_DATA_LEN that is a multiple of 4 is a word.
        Self(std::array::from_fn(|i| {
            data.word(4 * i as u32).unwrap_or(0)
        }))
    }

    /// The `seccomp_data` these words are, read in the byte order of `arch`'s ABI
    /// ([`SeccompData::big_endian`]).
    pub(crate) fn data(&self) -> SeccompData {
        let w = self.0;
        let mut data = SeccompData {
            nr: w[NR] as i32,
            arch: w[ARCH],
            ..SeccompData::default()
        };
        let big_endian = data.big_endian();
        let join = |first: u32, second: u32| {
            let (lo, hi) = if big_endian {
                (second, first)
            } else {
                (first, second)
            };
            (u64::from(hi) << 32) | u64::from(lo)
        };
        data.instruction_pointer = join(w[2], w[3]);
        data.args = std::array::from_fn(|i| join(w[4 + 2 * i], w[5 + 2 * i]));
        data
    }
}

/// The question could not be answered in the region: split on `Atom`.
#[derive(Debug)]
pub(crate) enum Stop {
    Split(Atom),
    Exhausted,
}

/// Answers questions, either for one call or for a region.
pub(crate) trait Ask {
    fn ask(&mut self, atom: Atom) -> Result<bool, Stop>;
    fn range(&self, word: usize) -> (u32, u32);
    /// Whether some input (of the region) passes every `(atom, yes)` of `all`.
    fn satisfiable(&mut self, all: &[(Atom, bool)]) -> Result<bool, Stop>;
    /// Counts `n` steps of work against the budget.
    fn charge(&mut self, n: u64) -> Result<(), Stop>;
    /// Single values of `word` known to be outside the question's inputs (the region's
    /// excluded values), sorted, no duplicates; empty when none are known. Only ever a
    /// subset of what is outside, so a caller may skip these values and nothing else.
    fn excluded_values(&self, _word: usize) -> Vec<u32> {
        Vec::new()
    }
}

impl Ask for Words {
    fn ask(&mut self, atom: Atom) -> Result<bool, Stop> {
        Ok(atom.holds(self.0[atom.word]))
    }
    fn range(&self, word: usize) -> (u32, u32) {
        (self.0[word], self.0[word])
    }
    fn satisfiable(&mut self, all: &[(Atom, bool)]) -> Result<bool, Stop> {
        Ok(all.iter().all(|(a, yes)| a.holds(self.0[a.word]) == *yes))
    }
    fn charge(&mut self, _: u64) -> Result<(), Stop> {
        Ok(())
    }
}

impl Region {
    /// Answers `atom` from the word's bounds and pattern alone when they settle it.
    pub(crate) fn settled(&self, atom: Atom) -> Option<bool> {
        let w = &self.words[atom.word];
        match atom.test {
            Test::Masked(m, v) => {
                if v & !m != 0 {
                    return Some(false);
                }
                if m == FULL && (v < w.lo || v > w.hi) {
                    // An equality outside the word's interval.
                    return Some(false);
                }
                if m & !w.mask == 0 {
                    // Every bit the test reads is fixed.
                    return Some(w.bits & m == v);
                }
                if (w.bits ^ v) & (w.mask & m) != 0 {
                    return Some(false);
                }
                if w.not.contains(&(m, v)) {
                    return Some(false);
                }
                // The bits above the highest bit where `lo` and `hi` differ are the same
                // for every value of the interval (`lo`'s): a test of only those bits
                // has one answer over the whole word (bit 30 of a number below 2^30).
                let same_above = match w.lo ^ w.hi {
                    0 => FULL,
                    d => !(FULL >> d.leading_zeros()),
                };
                if m & !same_above == 0 {
                    return Some(w.lo & m == v);
                }
                None
            }
            Test::Gt(k) => {
                if w.lo > k {
                    Some(true)
                } else if w.hi <= k {
                    Some(false)
                } else {
                    None
                }
            }
            Test::Ge(k) => {
                if w.lo >= k {
                    Some(true)
                } else if w.hi < k {
                    Some(false)
                } else {
                    None
                }
            }
        }
    }
}

impl Ask for Region {
    fn ask(&mut self, atom: Atom) -> Result<bool, Stop> {
        // Every question counts against the budget, answered from the bounds or not, so
        // that the budget bounds the time.
        self.steps.add(1).map_err(|_| Stop::Exhausted)?;
        if let Some(answer) = self.settled(atom) {
            return Ok(answer);
        }
        let yes = self.allows(atom, true).map_err(|_| Stop::Exhausted)?;
        let no = self.allows(atom, false).map_err(|_| Stop::Exhausted)?;
        match (yes, no) {
            (true, true) => {
                // An equality with a whole word splits by intervals instead: below the
                // value, then above it. Every piece stays an interval, so excluded values
                // do not pile up and later equalities are answered from the bounds.
                if let Test::Masked(FULL, v) = atom.test {
                    for test in [Test::Ge(v), Test::Gt(v)] {
                        let a = Atom {
                            word: atom.word,
                            test,
                        };
                        if self.settled(a).is_none()
                            && self.allows(a, true).map_err(|_| Stop::Exhausted)?
                            && self.allows(a, false).map_err(|_| Stop::Exhausted)?
                        {
                            return Err(Stop::Split(a));
                        }
                    }
                }
                Err(Stop::Split(atom))
            }
            (y, _) => Ok(y),
        }
    }
    fn range(&self, word: usize) -> (u32, u32) {
        Region::range(self, word)
    }
    fn charge(&mut self, n: u64) -> Result<(), Stop> {
        self.steps.add(n).map_err(|_| Stop::Exhausted)
    }
    fn excluded_values(&self, word: usize) -> Vec<u32> {
        let mut v: Vec<u32> = self.words[word]
            .not
            .iter()
            .filter(|(m, _)| *m == FULL)
            .map(|(_, v)| *v)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    fn satisfiable(&mut self, all: &[(Atom, bool)]) -> Result<bool, Stop> {
        let mut pushed = 0;
        let mut sat = true;
        for (a, yes) in all {
            pushed += 1;
            match self.push(*a, *yes) {
                Ok(true) => {}
                Ok(false) => {
                    sat = false;
                    break;
                }
                Err(_) => {
                    for _ in 0..pushed {
                        self.pop();
                    }
                    return Err(Stop::Exhausted);
                }
            }
        }
        for _ in 0..pushed {
            self.pop();
        }
        Ok(sat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lo: u32, hi: u32, mask: u32, bits: u32, not: &[(u32, u32)]) -> WordSet {
        WordSet {
            lo,
            hi,
            mask,
            bits,
            not: not.to_vec(),
        }
    }

    fn brute(s: &WordSet, lo: u32, hi: u32) -> Option<u32> {
        (lo..=hi).find(|&w| {
            w >= s.lo && w <= s.hi && w & s.mask == s.bits && s.not.iter().all(|&(m, v)| w & m != v)
        })
    }

    #[test]
    fn settled_answers_agree_with_every_member() {
        // Small words, every interval and pattern of 6 bits: where `settled` answers, the
        // answer holds for every member of the word.
        for lo in 0..64u32 {
            for hi in lo..64 {
                for (mask, bits) in [(0, 0), (0b100, 0b100), (0b11, 0b01)] {
                    let mut r = Region::default();
                    r.words[NR] = set(lo, hi, mask, bits, &[]);
                    let members: Vec<u32> = (lo..=hi).filter(|x| x & mask == bits).collect();
                    if members.is_empty() {
                        continue;
                    }
                    for m in 1..64u32 {
                        for v in 0..64u32 {
                            let atom = Atom {
                                word: NR,
                                test: Test::Masked(m, v),
                            };
                            if let Some(answer) = r.settled(atom) {
                                assert!(
                                    members.iter().all(|x| (x & m == v) == answer),
                                    "[{lo}, {hi}] & {mask:#x} == {bits:#x}: {m:#x}/{v:#x} said {answer}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn narrowing_keeps_exactly_the_members_that_pass() {
        // Small words: from every interval of 5 bits (and a pattern), two tests added in
        // turn leave exactly the members that pass both, the bounds of a word whose every
        // bit is fixed included; an order test `settled` answers holds for all of them.
        let member = |s: &WordSet, w: u32| {
            w >= s.lo && w <= s.hi && w & s.mask == s.bits && s.not.iter().all(|&(m, v)| w & m != v)
        };
        let mut tests = vec![
            Test::Masked(FULL, 0),
            Test::Masked(FULL, 7),
            Test::Masked(FULL, 31),
        ];
        for k in [0, 3, 7, 8, 30, 31] {
            tests.extend([Test::Gt(k), Test::Ge(k), Test::Masked(FULL, k)]);
        }
        tests.extend([Test::Masked(0b100, 0b100), Test::Masked(0b11, 0b01)]);
        for lo in 0..32u32 {
            for hi in lo..32 {
                for (mask, bits) in [(0, 0), (0b100, 0b100)] {
                    let start = set(lo, hi, mask, bits, &[]);
                    for &a in &tests {
                        for &b in &tests {
                            for (ya, yb) in
                                [(true, true), (true, false), (false, true), (false, false)]
                            {
                                let mut s = start.clone();
                                let kept = s.add(a, ya) && s.add(b, yb);
                                let want: Vec<u32> = (0..32)
                                    .filter(|&w| member(&start, w))
                                    .filter(|&w| Atom { word: NR, test: a }.holds(w) == ya)
                                    .filter(|&w| Atom { word: NR, test: b }.holds(w) == yb)
                                    .collect();
                                if !kept {
                                    assert!(want.is_empty(), "{start:?} {a:?}={ya} {b:?}={yb}");
                                    continue;
                                }
                                let got: Vec<u32> = (0..32).filter(|&w| member(&s, w)).collect();
                                assert_eq!(got, want, "{start:?} {a:?}={ya} {b:?}={yb}");
                                let mut r = Region::default();
                                r.words[NR] = s.clone();
                                for k in 0..32 {
                                    for test in [Test::Gt(k), Test::Ge(k)] {
                                        let atom = Atom { word: NR, test };
                                        // One value left: every order test is settled.
                                        assert!(
                                            s.mask != FULL || r.settled(atom).is_some(),
                                            "{s:?}: {test:?} unsettled"
                                        );
                                        if let Some(answer) = r.settled(atom) {
                                            assert!(
                                                want.iter().all(|&w| atom.holds(w) == answer),
                                                "{s:?}: {test:?} said {answer}"
                                            );
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn witness_is_the_smallest_member() {
        let mut steps = Counter::default();
        let cases = [
            set(3, 40, 0b10, 0b10, &[(FULL, 3), (0b111, 0b110)]),
            set(0, 255, 0xf0, 0x30, &[(0x0f, 0), (0x0f, 1), (0x0f, 2)]),
            set(10, 10, 0, 0, &[(FULL, 10)]),
            set(0, 255, 0x81, 0x81, &[(0x80, 0x80)]),
            set(5, 200, 0, 0, &[(1, 1), (2, 0), (4, 4)]),
            set(0, 255, 0x0f, 1, &[(FULL, 1), (FULL, 23)]),
        ];
        for s in cases {
            assert_eq!(s.witness(&mut steps).unwrap(), brute(&s, 0, 255), "{s:?}");
        }
        let s = set(0, FULL, 0xffff, 1, &[(FULL, 23), (FULL, 1)]);
        assert_eq!(s.witness(&mut steps).unwrap(), Some(0x10001));
    }

    /// Random small sets, with up to 90 excluded patterns (more than the 64 the search keeps
    /// in a bit set, so both of its representations run): the witness is the smallest
    /// member, found by trying every value.
    #[test]
    fn witness_is_the_smallest_member_of_random_sets() {
        let mut rng = crate::test_rng(0x853c_49e6_748f_ea9b);
        let mut next = move |n: u32| rng(u64::from(n)) as u32;
        for round in 0..3000 {
            let lo = next(256);
            let hi = lo + next(256 - lo);
            let mask = if next(3) == 0 { 0 } else { next(256) };
            let bits = next(256) & mask;
            let count = [0, 1, 3, 8, 63, 64, 65, 90][round % 8];
            let not: Vec<(u32, u32)> = (0..count)
                .map(|_| {
                    let m = if next(4) == 0 { FULL } else { next(256) };
                    (m, next(256) & m)
                })
                .filter(|(m, _)| *m != 0)
                .collect();
            let s = set(lo, hi, mask, bits, &not);
            let mut steps = Counter::default();
            assert_eq!(
                s.witness(&mut steps).unwrap(),
                brute(&s, 0, 255),
                "round {round}: {s:?}"
            );
        }
    }

    #[test]
    fn smallest_pattern_member() {
        for (start, mask, bits) in [
            (0u32, 0xf0, 0x30),
            (0x35, 0xf0, 0x30),
            (0x41, 0xf0, 0x30),
            (7, 0b101, 0b100),
            (0xffff_fff0, 0x1, 0x0),
            (u32::MAX, 1, 0),
        ] {
            let want = (u64::from(start)..=u64::from(u32::MAX))
                .map(|w| w as u32)
                .find(|w| w & mask == bits);
            assert_eq!(
                min_matching_at_least(start, mask, bits),
                want,
                "{start:#x} {mask:#x} {bits:#x}"
            );
        }
    }

    #[test]
    fn many_exclusions_stay_cheap() {
        let not: Vec<(u32, u32)> = (0..2000).map(|v| (FULL, v)).collect();
        let s = set(0, 5000, 0, 0, &not);
        let mut steps = Counter::default();
        assert_eq!(s.witness(&mut steps).unwrap(), Some(2000));
        assert!(steps.used < 200_000, "{}", steps.used);
    }
}
