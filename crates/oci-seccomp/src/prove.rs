//! The complete check: a proof that a program decides every possible syscall as the
//! profile says.
//!
//! # The problem
//!
//! libseccomp 2.5 merges several conditional rules for one syscall into a decision tree,
//! and the merge is sometimes wrong in a way that fails open (an argument that matches a
//! deny rule reaches `RET ALLOW`). Trying sample argument values cannot find every such
//! case: the bad region may be a single value between two constants of unrelated rules.
//!
//! # The design
//!
//! A seccomp program built by libseccomp or by our stub only reads 32-bit words of
//! `struct seccomp_data`, masks them with constants and compares them with constants
//! (`JEQ`, `JGT`, `JGE`, `JSET`). So the set of inputs that reach one `RET` is an exact
//! conjunction of per-word constraints, and each word's constraint is an interval, a fixed
//! bit pattern and a list of excluded bit patterns. [`Region`] keeps that, and its
//! satisfiability test is exact (a search over the bits of the word, most significant
//! first, that also yields the smallest witness).
//!
//! The profile's meaning is written once, as [`decide`]'s engine: a function that asks
//! yes/no questions about the input ("is `arch` x86?", "is the low word of `arg0` greater
//! than 5?"). Asked of one concrete call, it is the oracle that `explain` uses. Asked of a
//! region, a question whose answer differs inside the region splits the region in two, so
//! every region ends up with one answer. The check walks every path of the program
//! (pruning the paths no input can take), and for each `RET` splits its region until the
//! profile's decision is constant on each piece, and compares. Nothing is sampled: when
//! the check passes, every one of the 2^416 possible `seccomp_data` values is decided as
//! the profile says (the instruction pointer is never read by our programs; a program
//! that reads it is treated like any other word).
//!
//! # What "as the profile says" means
//!
//! - `arch` not in the profile: `KILL_THREAD` (libseccomp's bad-architecture action). On
//!   x86_64 without x32, a number with bit 30 set (an x32 call) likewise, except `-1`.
//! - A syscall with an unconditional rule: that rule's action.
//! - Otherwise every conditional rule whose comparisons all hold is a candidate; when several
//!   entries match with different actions, any of their actions is accepted (libseccomp
//!   decides their order; OCI does not say). 32-bit ABIs compare the low word only.
//! - No rule: the ENOSYS stub when it applies (number above the highest the profile
//!   names for that ABI, or 0 on s390), else the default action.
//! - Multiplexers (`socketcall`, `ipc` on x86, s390, PowerPC): the kernel reads a socket or
//!   IPC call's real arguments through a pointer that the filter cannot follow. A sub-call
//!   whose syscall has only conditional rules must get the strictest of the outcomes those
//!   rules and the default can give; a stricter program is accepted, a weaker one is not.
//!   See docs/conformance.md.

use std::collections::{BTreeMap, HashSet};

use crate::action::Action;
use crate::arch::{
    self, multiplexer_of, multiplexes, ArchInfo, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT,
};
use crate::bpf::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_CLASS_MASK, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
    BPF_JSET, BPF_K, BPF_LD, BPF_LEN, BPF_OP_MASK, BPF_RET, BPF_W, BPF_X, SECCOMP_DATA_LEN,
};
use crate::errno::ENOSYS;
use crate::error::CompileError;
use crate::profile::{Condition, Op, Profile, Rule};
use crate::program::Program;

/// Word index of `nr` in `seccomp_data` (byte offset / 4).
pub const NR: usize = 0;
/// Word index of `arch`.
pub const ARCH: usize = 1;
const WORDS: usize = (SECCOMP_DATA_LEN / 4) as usize;
const FULL: u32 = u32::MAX;

/// Most search steps one proof may take before it gives up (and refuses the program):
/// questions asked of a region, satisfiability tests, instructions walked.
pub const MAX_STEPS: u64 = 50_000_000;

/// Steps of search that several proofs and searches share: each is given what is left
/// and charged what it used, so that together they stop at one limit.
/// `oci-seccomp check` runs the compile's proof and every lint that searches through one
/// budget (see [`crate::lint`]).
///
/// ```
/// use oci_seccomp::prove::StepBudget;
/// let mut budget = StepBudget::new(100);
/// assert!(budget.charge(60));
/// assert_eq!(budget.left(), 40);
/// assert!(!budget.charge(60));
/// assert!(budget.exhausted());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepBudget {
    limit: u64,
    used: u64,
    /// A point in time past which the budget counts as used up (`oci-seccomp check`).
    deadline: Option<std::time::Instant>,
    timed_out: bool,
}

/// Steps between two looks at the clock when a budget has a deadline: a look costs about
/// as much as a few dozen steps.
const CLOCK_EVERY_LOG2: u32 = 14;

impl StepBudget {
    /// A budget of `limit` steps, none used.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: 0,
            deadline: None,
            timed_out: false,
        }
    }

    /// The same budget, also used up at `deadline`: what a step costs varies with the
    /// shape of the search, and a caller that promises an answer in time (`check`) needs
    /// both bounds. The clock is read every 2^14 steps.
    #[must_use]
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// A budget of at most `limit` steps of what is left here, with the same deadline,
    /// for a part of the work; charge it back with [`StepBudget::absorb`].
    pub fn part(&self, limit: u64) -> Self {
        Self {
            limit: limit.min(self.left()),
            used: 0,
            deadline: self.deadline,
            timed_out: false,
        }
    }

    /// Charges what `part` used, and its deadline if it ran out of time.
    pub fn absorb(&mut self, part: &StepBudget) {
        self.charge(part.used());
        if part.timed_out {
            self.timed_out = true;
            self.used = self.limit;
        }
    }

    /// Whether the budget ran out because its deadline passed (rather than its steps).
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Whether the deadline has passed (looked at when `used` crosses a multiple of
    /// 2^14 on its way from `old` to `new`).
    fn past_deadline(deadline: Option<std::time::Instant>, old: u64, new: u64) -> bool {
        deadline.is_some_and(|d| {
            old >> CLOCK_EVERY_LOG2 != new >> CLOCK_EVERY_LOG2 && std::time::Instant::now() >= d
        })
    }

    /// The steps it started with.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The steps used so far (at most the limit).
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The steps still to be used.
    pub fn left(&self) -> u64 {
        self.limit - self.used
    }

    /// Whether nothing is left.
    pub fn exhausted(&self) -> bool {
        self.used >= self.limit
    }

    /// Charges `n` steps: false when they were more than what was left (everything is
    /// then used).
    pub fn charge(&mut self, n: u64) -> bool {
        match self.used.checked_add(n) {
            Some(u) if u <= self.limit => {
                if Self::past_deadline(self.deadline, self.used, u) {
                    self.timed_out = true;
                    self.used = self.limit;
                    return false;
                }
                self.used = u;
                true
            }
            _ => {
                self.used = self.limit;
                false
            }
        }
    }
}

/// The steps one search has taken, against the limit it was given.
#[derive(Clone, Copy, Debug)]
struct Counter {
    used: u64,
    limit: u64,
    deadline: Option<std::time::Instant>,
    timed_out: bool,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new(MAX_STEPS)
    }
}

impl Counter {
    fn new(limit: u64) -> Self {
        Self {
            used: 0,
            limit,
            deadline: None,
            timed_out: false,
        }
    }

    /// What is left of `budget`, with its deadline.
    fn for_budget(budget: &StepBudget) -> Self {
        Self {
            deadline: budget.deadline,
            ..Self::new(budget.left())
        }
    }

    /// Counts `n` steps; `Exhausted` once they run over the limit or past the deadline.
    fn add(&mut self, n: u64) -> Result<(), Exhausted> {
        let old = self.used;
        self.used = self.used.saturating_add(n);
        if StepBudget::past_deadline(self.deadline, old, self.used) {
            self.timed_out = true;
            self.used = self.limit.saturating_add(1);
        }
        if self.used > self.limit {
            Err(Exhausted)
        } else {
            Ok(())
        }
    }

    /// Charges what was used to `budget`, and the deadline if it passed.
    fn settle(&self, budget: &mut StepBudget) {
        budget.charge(self.used);
        if self.timed_out {
            budget.timed_out = true;
            budget.used = budget.limit;
        }
    }
}

/// A comparison of one 32-bit word with constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Test {
    /// `(w & mask) == value`
    Masked(u32, u32),
    /// `w > k`
    Gt(u32),
    /// `w >= k`
    Ge(u32),
}

/// A question about the input: whether word `word` passes `test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Atom {
    /// Word index in `seccomp_data` (0 `nr`, 1 `arch`, 2..3 the instruction pointer,
    /// 4.. the arguments, two words each in the target's byte order).
    pub word: usize,
    /// The comparison.
    pub test: Test,
}

impl Atom {
    fn eq(word: usize, v: u32) -> Self {
        Self {
            word,
            test: Test::Masked(FULL, v),
        }
    }
    fn gt(word: usize, v: u32) -> Self {
        Self {
            word,
            test: Test::Gt(v),
        }
    }
    fn ge(word: usize, v: u32) -> Self {
        Self {
            word,
            test: Test::Ge(v),
        }
    }
    fn holds(&self, w: u32) -> bool {
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
struct WordSet {
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

/// Ran out of the step budget.
#[derive(Debug)]
struct Exhausted;

impl WordSet {
    /// Adds `atom == yes`; false when the set became empty for sure (cheap checks only).
    fn add(&mut self, test: Test, yes: bool) -> bool {
        match (test, yes) {
            (Test::Masked(m, v), true) => {
                if v & !m != 0 || (self.mask & m) & (self.bits ^ v) != 0 {
                    return false;
                }
                self.mask |= m;
                self.bits |= v;
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
    fn witness(&self, steps: &mut Counter) -> Result<Option<u32>, Exhausted> {
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
        let alive: Vec<usize> = (0..self.not.len()).collect();
        let mut failed = HashSet::new();
        self.search(31, 0, true, true, &alive, steps, &mut failed)
    }

    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        bit: i32,
        prefix: u32,
        tight_lo: bool,
        tight_hi: bool,
        alive: &[usize],
        steps: &mut Counter,
        failed: &mut HashSet<(i32, bool, bool, Vec<usize>)>,
    ) -> Result<Option<u32>, Exhausted> {
        // A step copies and hashes the live patterns (the memo's key), and the memo keeps
        // them: charged by their number, so that the budget bounds time and memory alike.
        steps.add(1 + 8 * alive.len() as u64)?;
        if bit < 0 {
            return Ok(alive.is_empty().then_some(prefix));
        }
        // Bits `bit` and below are still to be chosen.
        let open = FULL >> (31 - bit);
        // A pattern still equal on its bits so far, whose remaining bits are all forced
        // to its values, can never differ.
        for &i in alive {
            let (m, v) = self.not[i];
            let rest = m & open;
            if rest & !self.mask == 0 && (self.bits ^ v) & rest == 0 {
                return Ok(None);
            }
        }
        let key = (bit, tight_lo, tight_hi, alive.to_vec());
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
            let next: Vec<usize> = alive
                .iter()
                .copied()
                .filter(|&i| {
                    let (m, v) = self.not[i];
                    m & b == 0 || v & b == x
                })
                .collect();
            if let Some(w) = self.search(bit - 1, prefix | x, tl, th, &next, steps, failed)? {
                return Ok(Some(w));
            }
        }
        failed.insert(key);
        Ok(None)
    }
}

/// The smallest `w >= start` with `w & mask == bits` (`bits` within `mask`).
fn min_matching_at_least(start: u32, mask: u32, bits: u32) -> Option<u32> {
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
pub struct Region {
    words: [WordSet; WORDS],
    /// Per push: the word and its bounds and pattern before, and its exclusion count.
    log: Vec<(usize, u32, u32, u32, u32, usize)>,
    steps: Counter,
}

impl Region {
    /// The whole space, for a search within what is left of `budget`.
    fn for_budget(budget: &StepBudget) -> Self {
        Self {
            steps: Counter::for_budget(budget),
            ..Self::default()
        }
    }

    fn push(&mut self, atom: Atom, yes: bool) -> Result<bool, Exhausted> {
        let w = &mut self.words[atom.word];
        self.log
            .push((atom.word, w.lo, w.hi, w.mask, w.bits, w.not.len()));
        if !w.add(atom.test, yes) {
            return Ok(false);
        }
        Ok(w.witness(&mut self.steps)?.is_some())
    }

    fn pop(&mut self) {
        if let Some((i, lo, hi, mask, bits, n)) = self.log.pop() {
            let w = &mut self.words[i];
            (w.lo, w.hi, w.mask, w.bits) = (lo, hi, mask, bits);
            w.not.truncate(n);
        }
    }

    /// Whether the region contains a value for which `atom` is `yes`.
    fn allows(&mut self, atom: Atom, yes: bool) -> Result<bool, Exhausted> {
        let r = self.push(atom, yes);
        self.pop();
        r
    }

    fn range(&self, word: usize) -> (u32, u32) {
        (self.words[word].lo, self.words[word].hi)
    }

    /// The one value `word` has in the region, when its bounds or its pattern fix it.
    fn single(&self, word: usize) -> Option<u32> {
        let w = &self.words[word];
        if w.lo == w.hi {
            Some(w.lo)
        } else if w.mask == FULL && (w.lo..=w.hi).contains(&w.bits) {
            Some(w.bits)
        } else {
            None
        }
    }

    /// The smallest member, word by word.
    fn sample(&mut self) -> Result<SeccompPoint, Exhausted> {
        let mut w = [0u32; WORDS];
        for (i, set) in self.words.iter().enumerate() {
            w[i] = set.witness(&mut self.steps)?.unwrap_or(set.lo);
        }
        Ok(SeccompPoint(w))
    }
}

/// One concrete `seccomp_data`, as words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeccompPoint(pub [u32; WORDS]);

impl SeccompPoint {
    /// Builds the words of a call on an architecture with the given byte order.
    pub fn new(arch: u32, nr: u32, args: [u64; 6], big_endian: bool) -> Self {
        let mut w = [0u32; WORDS];
        w[NR] = nr;
        w[ARCH] = arch;
        for (i, a) in args.iter().enumerate() {
            let (lo, hi) = (*a as u32, (*a >> 32) as u32);
            let (first, second) = if big_endian { (hi, lo) } else { (lo, hi) };
            w[4 + 2 * i] = first;
            w[5 + 2 * i] = second;
        }
        Self(w)
    }

    /// The 64-bit value of argument `i` in the given byte order.
    pub fn arg(&self, i: usize, big_endian: bool) -> u64 {
        let (a, b) = (self.0[4 + 2 * i], self.0[5 + 2 * i]);
        let (lo, hi) = if big_endian { (b, a) } else { (a, b) };
        (u64::from(hi) << 32) | u64::from(lo)
    }
}

/// Why the profile decides a call the way it does.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    fn one(action: Action, cause: Cause) -> Self {
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

/// The kernel's precedence of actions when several filters disagree
/// (`kernel/seccomp.c`, `seccomp_run_filters`): higher is stricter.
pub fn strictness(a: Action) -> u8 {
    match a {
        Action::KillProcess => 7,
        Action::KillThread => 6,
        Action::Trap(_) => 5,
        Action::Errno(_) => 4,
        Action::Notify => 3,
        Action::Trace(_) => 2,
        Action::Log => 1,
        Action::Allow => 0,
    }
}

/// Whether `r` decides its syscall whatever its conditional rules say: an unconditional
/// rule (libseccomp's reading, which runc and crun share), unless it equals the default
/// action. Such a rule installs nothing in runc and crun; we keep it where it can change
/// an outcome (`Profile::rules`) as a rule that always matches, so that the strictest
/// matching rule decides and it never weakens a conditional deny.
fn beats_conditions(r: &Rule, default: Action) -> bool {
    r.conditions.is_empty() && r.action != default
}

/// Keeps the outcomes of the strictest action class among `outcomes` (several when rules
/// of one class but different data, `ERRNO(1)` and `ERRNO(5)`, overlap): when entries of
/// different actions match one call, the strictest decides, as the kernel decides between
/// filters; so an overlapping entry can never weaken a deny.
fn keep_strictest(outcomes: &mut Vec<(Action, Cause)>) {
    if let Some(max) = outcomes.iter().map(|(a, _)| strictness(*a)).max() {
        outcomes.retain(|(a, _)| strictness(*a) == max);
    }
}

/// The question could not be answered in the region: split on `Atom`.
#[derive(Debug)]
enum Stop {
    Split(Atom),
    Exhausted,
}

/// Answers questions, either for one call or for a region.
trait Ask {
    fn ask(&mut self, atom: Atom) -> Result<bool, Stop>;
    fn range(&self, word: usize) -> (u32, u32);
    /// Whether some input (of the region) passes every `(atom, yes)` of `all`.
    fn satisfiable(&mut self, all: &[(Atom, bool)]) -> Result<bool, Stop>;
    /// Counts `n` steps of work against the budget.
    fn charge(&mut self, n: u64) -> Result<(), Stop>;
}

impl Ask for SeccompPoint {
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
    fn settled(&self, atom: Atom) -> Option<bool> {
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

#[derive(Clone, Debug)]
struct SubCall {
    call: u32,
    mask: u32,
    action: Action,
    at_least: bool,
    cause: Cause,
}

#[derive(Debug, Default)]
struct Abi {
    info: Option<&'static ArchInfo>,
    narrow: bool,
    big_endian: bool,
    /// Highest number the profile names, for the stub.
    max: Option<u32>,
    /// Syscall number -> indices into [`Model`]'s rules, in profile order; sorted by
    /// number.
    rules: Vec<(u32, std::ops::Range<usize>)>,
    /// Indices into [`Model`]'s rules, by number then profile order; `rules` holds
    /// ranges of it.
    order: Vec<usize>,
    /// Per group of `rules` with more than [`PIVOT_AT`] rules, its [`EqIndex`].
    eq_index: BTreeMap<u32, EqIndex>,
    /// Multiplexer number -> sub-calls with rules.
    subcalls: BTreeMap<u32, Vec<SubCall>>,
    /// Per rule of [`Model`]'s rules (by index), its place in its syscall's tie order on
    /// this ABI ([`crate::profile::tie_ranks`]).
    tie_rank: Vec<usize>,
}

/// The rules of one syscall by the constant of their first equality comparison, so that
/// the rules that may hold in a region are found without looking at every rule.
#[derive(Debug, Default)]
struct EqIndex {
    /// Per argument index: (constant, rule), sorted; the constant's low word only on a
    /// 32-bit ABI.
    by_arg: [Vec<(u64, usize)>; 6],
    /// Rules without an equality comparison.
    rest: Vec<usize>,
}

#[derive(Debug, Default)]
struct ArchModel {
    audit: u32,
    plain: Option<Abi>,
    x32: Option<Abi>,
}

/// The profile's semantics, indexed for questions.
#[derive(Debug)]
pub struct Model {
    arches: Vec<ArchModel>,
    default: Action,
    stub: bool,
    rules: std::sync::Arc<[Rule]>,
}

impl Model {
    /// Indexes `profile`; `stub` says whether the ENOSYS stub is part of the program.
    pub fn new(profile: &Profile, stub: bool) -> Self {
        let stub = stub && crate::stub::wanted(profile.default_action());
        let mut arches: Vec<ArchModel> = Vec::new();
        for a in profile.architectures() {
            let (numbers, max) = profile.numbers(a);
            let mut abi = Abi {
                info: Some(a),
                narrow: a.narrow_args(),
                big_endian: a.big_endian,
                max,
                ..Abi::default()
            };
            let mut pairs: Vec<(u32, usize)> = numbers
                .iter()
                .enumerate()
                .filter_map(|(i, nr)| nr.map(|n| (n as u32, i)))
                .collect();
            pairs.sort_unstable();
            abi.order = pairs.iter().map(|(_, i)| *i).collect();
            abi.tie_rank = vec![0; profile.rules().len()];
            for group in pairs.chunk_by(|a, b| a.0 == b.0) {
                let refs: Vec<&Rule> = group.iter().map(|&(_, k)| &profile.rules()[k]).collect();
                let ranks = crate::profile::tie_ranks(&refs, !abi.narrow);
                for (&(_, k), rank) in group.iter().zip(ranks) {
                    abi.tie_rank[k] = rank;
                }
                let start = abi.rules.last().map_or(0, |(_, r)| r.end);
                abi.rules.push((group[0].0, start..start + group.len()));
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
                    abi.eq_index.insert(group[0].0, index);
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

    /// `r`'s place in its syscall's tie order on `abi`. `r` is one of the model's rules
    /// (every rule the model asks about is borrowed from them); its index is where its
    /// address falls in them. Anything else ranks last.
    fn tie_rank(&self, abi: &Abi, r: &Rule) -> usize {
        let size = std::mem::size_of::<Rule>().max(1);
        let (base, at) = (self.rules.as_ptr() as usize, std::ptr::from_ref(r) as usize);
        at.checked_sub(base)
            .filter(|d| d % size == 0)
            .and_then(|d| abi.tie_rank.get(d / size).copied())
            .unwrap_or(usize::MAX)
    }

    /// Whether `a` decides over `b` when both hold on `abi`: stricter, or as strict and
    /// first in the tie order.
    fn beats(&self, abi: &Abi, a: &Rule, b: &Rule) -> bool {
        let (s, t) = (strictness(a.action), strictness(b.action));
        s > t || (s == t && self.tie_rank(abi, a) < self.tie_rank(abi, b))
    }

    /// The profile's verdict. With `only`, a shortcut for a program that returns that
    /// action: the verdict is exact whenever it accepts `only`, and otherwise any verdict
    /// that does not accept it (the rules of other actions are asked only when the
    /// no-match outcome is `only`), so far fewer questions split the region.
    fn decide(&self, q: &mut dyn Ask) -> Result<Verdict, Stop> {
        self.decide_for(q, None)
    }

    fn decide_for(&self, q: &mut dyn Ask, only: Option<Action>) -> Result<Verdict, Stop> {
        let mut model = None;
        for m in &self.arches {
            if q.ask(Atom::eq(ARCH, m.audit))? {
                model = Some(m);
                break;
            }
        }
        let Some(m) = model else {
            return Ok(Verdict::one(Action::KillThread, Cause::BadArch));
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
                    return Ok(Verdict::one(self.default, Cause::Default));
                }
                return Ok(Verdict::one(Action::KillThread, Cause::BadArch));
            }
            m.plain.as_ref()
        } else {
            m.plain.as_ref()
        };
        let Some(abi) = abi else {
            return Ok(Verdict::one(Action::KillThread, Cause::BadArch));
        };
        let (lo, hi) = q.range(NR);
        if let Some(got) = only {
            if let Some(v) = self.whole_range(abi, lo, hi, got) {
                return Ok(v);
            }
        }
        // The numbers with rules, asked as intervals (below the next one? equal to it?) so
        // that a region splits into ranges rather than collecting exclusions.
        let mut from = lo;
        loop {
            let i = abi.rules.partition_point(|(n, _)| *n < from);
            let Some((nr, range)) = abi.rules.get(i).filter(|(n, _)| *n <= hi) else {
                break;
            };
            let rules = &abi.order[range.clone()];
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
                let mut all = rules.iter().map(|i| &self.rules[*i]);
                if let Some(r) = all.find(|r| beats_conditions(r, self.default)) {
                    return Ok(Verdict::one(r.action, Cause::Entry(r.entry)));
                }
                let rules: Vec<&Rule> = rules.iter().map(|i| &self.rules[*i]).collect();
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

    /// The rules of syscall `nr` whose equalities fit the region's bounds
    /// ([`equalities_fit`]); through the syscall's [`EqIndex`] when it has one. The work is
    /// charged to the step budget.
    fn fitting<'m>(
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
    /// (a superset of the region's numbers, so the answer is sound for the region): when
    /// every one of those numbers gets `got` whatever the arguments (an unconditional
    /// rule, or no rule and a no-match outcome of `got`), the verdict without splitting
    /// the region number by number. `None` when that does not hold or cannot be told
    /// this way (a multiplexer in the range, a conditional rule).
    fn whole_range(&self, abi: &Abi, lo: u32, hi: u32, got: Action) -> Option<Verdict> {
        if abi.subcalls.range(lo..=hi).next().is_some() {
            return None;
        }
        let start = abi.rules.partition_point(|(n, _)| *n < lo);
        let end = abi.rules.partition_point(|(n, _)| *n <= hi);
        let groups = &abi.rules[start..end];
        let mut cause = Cause::Default;
        for (i, (_, range)) in groups.iter().enumerate() {
            let r = abi.order[range.clone()]
                .iter()
                .map(|k| &self.rules[*k])
                .find(|r| beats_conditions(r, self.default))?;
            if r.action != got {
                return None;
            }
            if i == 0 {
                cause = Cause::Entry(r.entry);
            }
        }
        // The numbers without rules get the default or the stub's ENOSYS (`no_match`).
        let numbers = u64::from(hi) - u64::from(lo) + 1;
        let gaps = numbers - groups.len() as u64;
        let (default_needed, enosys_needed) = match abi.max.filter(|_| self.stub) {
            None => (gaps > 0, false),
            Some(max) => {
                let s390 = abi
                    .info
                    .is_some_and(|i| i.name.starts_with("SCMP_ARCH_S390"));
                let zero_gap = s390 && lo == 0 && groups.first().is_none_or(|(n, _)| *n != 0);
                // Rule numbers never exceed `max` (every rule's name is among the names).
                let low = if lo <= max {
                    u64::from(hi.min(max)) - u64::from(lo) + 1 - groups.len() as u64
                } else {
                    0
                };
                (low > u64::from(zero_gap), hi > max || zero_gap)
            }
        };
        if default_needed && self.default != got {
            return None;
        }
        if enosys_needed && Action::Errno(abi.info.map_or(ENOSYS, ArchInfo::enosys)) != got {
            return None;
        }
        Some(Verdict::one(got, cause))
    }

    fn no_match(&self, abi: &Abi, q: &mut dyn Ask) -> Result<Verdict, Stop> {
        if self.stub {
            if let Some(max) = abi.max {
                let s390 = abi
                    .info
                    .is_some_and(|i| i.name.starts_with("SCMP_ARCH_S390"));
                if q.ask(Atom {
                    word: NR,
                    test: Test::Gt(max),
                })? || (s390 && q.ask(Atom::eq(NR, 0))?)
                {
                    let enosys = abi.info.map_or(ENOSYS, ArchInfo::enosys);
                    return Ok(Verdict::one(Action::Errno(enosys), Cause::Stub));
                }
            }
        }
        Ok(Verdict::one(self.default, Cause::Default))
    }

    fn decide_rules(
        &self,
        abi: &Abi,
        nr: u32,
        rules: &[&Rule],
        q: &mut dyn Ask,
        only: Option<Action>,
    ) -> Result<Verdict, Stop> {
        if let Some(r) = rules.iter().find(|r| beats_conditions(r, self.default)) {
            return Ok(Verdict::one(r.action, Cause::Entry(r.entry)));
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
            let possible: Vec<&Rule> = fitting
                .iter()
                .copied()
                .filter(|r| r.action == got)
                .collect();
            if possible.len() > PIVOT_AT {
                if let Some(atom) = pivot(&possible, abi, q)? {
                    return Err(Stop::Split(atom));
                }
            }
            // A stricter rule that holds wins over every rule of the program's action (the
            // strictest matching rule decides): ask those first, strictest first.
            let mut stricter: Vec<&Rule> = fitting
                .iter()
                .copied()
                .filter(|r| strictness(r.action) > strictness(got))
                .collect();
            stricter.sort_by_key(|r| std::cmp::Reverse(strictness(r.action)));
            for r in stricter {
                if rule_holds(r, abi, q)? {
                    return Ok(Verdict::one(r.action, Cause::Entry(r.entry)));
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
                        return Ok(Verdict::one(r.action, Cause::Entry(r.entry)));
                    }
                }
            } else {
                for r in possible {
                    if rule_holds(r, abi, q)? {
                        return Ok(Verdict::one(got, Cause::Entry(r.entry)));
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
            let others: Vec<&Rule> = fitting
                .iter()
                .copied()
                .filter(|r| r.action != got)
                .collect();
            for r in others {
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
                    return Ok(Verdict::one(r.action, Cause::Entry(r.entry)));
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
            Some(r) => Ok(Verdict::one(r.action, Cause::Entry(r.entry))),
            None => self.no_match(abi, q),
        }
    }

    /// A multiplexer without an unconditional rule of its own: its own conditional rules
    /// and the sub-calls of the syscalls it carries.
    fn decide_multiplexer(
        &self,
        abi: &Abi,
        _nr: u32,
        own: &[&Rule],
        subs: &[SubCall],
        q: &mut dyn Ask,
    ) -> Result<Verdict, Stop> {
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
        Ok(Verdict { outcomes, at_least })
    }
}

/// Sub-call outcomes on a multiplexing architecture.
fn subcalls(profile: &Profile, a: &ArchInfo, abi: &Abi) -> BTreeMap<u32, Vec<SubCall>> {
    let mut by_name: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for r in profile.rules() {
        if multiplexer_of(&r.name).is_some() {
            by_name.entry(r.name.as_str()).or_default().push(r);
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
fn equalities_fit(rule: &Rule, abi: &Abi, q: &dyn Ask) -> bool {
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
const PIVOT_AT: usize = 8;

/// A question that divides `rules` (all of which may hold in the region) about in half:
/// the median of their equality constants on the argument the first of them compares for
/// equality, on the high word when those constants differ there, else on the low word.
/// `None` when there is no such question the region leaves open.
fn pivot(rules: &[&Rule], abi: &Abi, q: &mut dyn Ask) -> Result<Option<Atom>, Stop> {
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
fn may_hold(rule: &Rule, abi: &Abi, q: &mut dyn Ask) -> Result<bool, Stop> {
    let options: Vec<Vec<Vec<(Atom, bool)>>> = rule
        .conditions
        .iter()
        .map(|c| cond_options(c, abi))
        .collect();
    let mut chosen = Vec::new();
    may_hold_from(&options, 0, &mut chosen, q)
}

fn may_hold_from(
    options: &[Vec<Vec<(Atom, bool)>>],
    k: usize,
    chosen: &mut Vec<(Atom, bool)>,
    q: &mut dyn Ask,
) -> Result<bool, Stop> {
    let Some(alternatives) = options.get(k) else {
        return Ok(true);
    };
    for alt in alternatives {
        let n = chosen.len();
        chosen.extend_from_slice(alt);
        let ok = q.satisfiable(chosen)? && may_hold_from(options, k + 1, chosen, q)?;
        chosen.truncate(n);
        if ok {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One condition as alternatives (any may hold), each a list of word constraints (all
/// must hold): the same words and tests [`cond_holds`] asks.
fn cond_options(c: &Condition, abi: &Abi) -> Vec<Vec<(Atom, bool)>> {
    let i = usize::from(c.index);
    let (lo_w, hi_w) = arg_words(i, abi.big_endian);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let eq = |w, v| Atom::eq(w, v);
    let gt = Atom::gt;
    let ge = Atom::ge;
    if abi.narrow || c.low_word {
        return vec![match c.op {
            Op::Eq => vec![(eq(lo_w, vl), true)],
            Op::Ne => vec![(eq(lo_w, vl), false)],
            Op::Gt => vec![(gt(lo_w, vl), true)],
            Op::Ge => vec![(ge(lo_w, vl), true)],
            Op::Lt => vec![(ge(lo_w, vl), false)],
            Op::Le => vec![(gt(lo_w, vl), false)],
            Op::MaskedEq => {
                let m = c.value as u32;
                vec![(
                    Atom {
                        word: lo_w,
                        test: Test::Masked(m, c.value_two as u32 & m),
                    },
                    true,
                )]
            }
        }];
    }
    match c.op {
        Op::Eq => vec![vec![(eq(hi_w, vh), true), (eq(lo_w, vl), true)]],
        Op::Ne => vec![
            vec![(eq(hi_w, vh), false)],
            vec![(eq(hi_w, vh), true), (eq(lo_w, vl), false)],
        ],
        Op::Gt => vec![
            vec![(gt(hi_w, vh), true)],
            vec![(eq(hi_w, vh), true), (gt(lo_w, vl), true)],
        ],
        Op::Ge => vec![
            vec![(gt(hi_w, vh), true)],
            vec![(eq(hi_w, vh), true), (ge(lo_w, vl), true)],
        ],
        // Not greater-or-equal: below on the high word, or equal there and below on the low.
        Op::Lt => vec![
            vec![(ge(hi_w, vh), false)],
            vec![(eq(hi_w, vh), true), (ge(lo_w, vl), false)],
        ],
        Op::Le => vec![
            vec![(ge(hi_w, vh), false)],
            vec![(eq(hi_w, vh), true), (gt(lo_w, vl), false)],
        ],
        Op::MaskedEq => {
            let (mh, ml) = ((c.value >> 32) as u32, c.value as u32);
            let (th, tl) = ((c.value_two >> 32) as u32 & mh, c.value_two as u32 & ml);
            vec![vec![
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
            ]]
        }
    }
}

/// The word indices of argument `i`'s low and high halves in `seccomp_data`, in the
/// ABI's byte order.
fn arg_words(i: usize, big_endian: bool) -> (usize, usize) {
    if big_endian {
        (5 + 2 * i, 4 + 2 * i)
    } else {
        (4 + 2 * i, 5 + 2 * i)
    }
}

/// Whether every comparison of `rule` holds, asked word by word as the program compares.
fn rule_holds(rule: &Rule, abi: &Abi, q: &mut dyn Ask) -> Result<bool, Stop> {
    for c in &rule.conditions {
        if !cond_holds(c, abi, q)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn cond_holds(c: &Condition, abi: &Abi, q: &mut dyn Ask) -> Result<bool, Stop> {
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

/// What the profile says about one call: the oracle behind `explain`.
///
/// `nr` is any 32-bit value the kernel can put in `seccomp_data.nr` (`-1` included);
/// `arch` an `AUDIT_ARCH_*` value.
pub fn decide(model: &Model, arch: u32, nr: u32, args: [u64; 6]) -> Verdict {
    let big_endian = arch::ALL
        .iter()
        .find(|a| a.audit_arch == arch)
        .is_some_and(|a| a.big_endian);
    let mut p = SeccompPoint::new(arch, nr, args, big_endian);
    match model.decide(&mut p) {
        Ok(v) => v,
        // A point answers every question.
        Err(_) => Verdict::one(model.default, Cause::Default),
    }
}

/// A call on which the program and the profile disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// The input, as `seccomp_data` words.
    pub point: SeccompPoint,
    /// What the program returns.
    pub got: Action,
    /// What the profile says.
    pub want: Verdict,
}

/// The accumulator of the symbolic run: a word masked with a constant, or a constant.
#[derive(Clone, Copy, Debug)]
enum Acc {
    Word(usize, u32),
    Const(u32),
}

/// Why a program could not be proven.
#[derive(Debug)]
pub enum ProofError {
    /// The program and the profile disagree on this call.
    Differs(Box<Counterexample>),
    /// An instruction the proof does not model (only loads of `seccomp_data`, `AND` with a
    /// constant, jumps on constants and `RET` constants are).
    Unsupported {
        /// Instruction index.
        pc: usize,
        /// What it is.
        what: String,
    },
    /// The search exceeded its step limit ([`MAX_STEPS`], or what was left of a
    /// [`StepBudget`]).
    TooComplex,
}

/// What a program's paths are checked against.
enum Reference<'a> {
    /// The profile's semantics.
    Model(&'a Model),
    /// Another program: its action must be the same everywhere.
    Program(&'a [crate::program::Instruction]),
}

impl Reference<'_> {
    fn decide_for(&self, q: &mut dyn Ask, only: Option<Action>) -> Result<Verdict, Stop> {
        match self {
            Self::Model(m) => m.decide_for(q, only),
            Self::Program(insns) => run_asking(insns, q).map(|a| Verdict::one(a, Cause::Default)),
        }
    }

    fn decide(&self, q: &mut dyn Ask) -> Result<Verdict, Stop> {
        self.decide_for(q, None)
    }
}

/// Runs a program on the input that `q` answers questions about; a program the proof does
/// not model gives `KILL_PROCESS` (compared programs are proven first).
fn run_asking(insns: &[crate::program::Instruction], q: &mut dyn Ask) -> Result<Action, Stop> {
    let mut pc = 0usize;
    let mut acc = Acc::Const(0);
    for _ in 0..=insns.len() {
        let Some(insn) = insns.get(pc) else {
            break;
        };
        let k = insn.k;
        match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS && k % 4 == 0 && k < SECCOMP_DATA_LEN => {
                acc = Acc::Word(k as usize / 4, FULL);
            }
            c if c == BPF_LD | BPF_IMM => acc = Acc::Const(k),
            c if c == BPF_LD | BPF_W | BPF_LEN => acc = Acc::Const(SECCOMP_DATA_LEN),
            c if c == BPF_ALU | BPF_AND | BPF_K => {
                acc = match acc {
                    Acc::Word(w, m) => Acc::Word(w, m & k),
                    Acc::Const(v) => Acc::Const(v & k),
                }
            }
            c if c == BPF_JMP | BPF_JA => {
                pc = pc + 1 + k as usize;
                continue;
            }
            c if c == BPF_RET | BPF_K => return Ok(Action::from_ret(k)),
            c if c & BPF_CLASS_MASK == BPF_JMP && c & BPF_X == 0 => {
                let op = c & BPF_OP_MASK;
                let taken = match acc {
                    Acc::Const(v) => match op {
                        BPF_JEQ => v == k,
                        BPF_JGT => v > k,
                        BPF_JGE => v >= k,
                        BPF_JSET => v & k != 0,
                        _ => break,
                    },
                    Acc::Word(w, m) => match op {
                        BPF_JEQ => q.ask(Atom {
                            word: w,
                            test: Test::Masked(m, k),
                        })?,
                        BPF_JSET => !q.ask(Atom {
                            word: w,
                            test: Test::Masked(m & k, 0),
                        })?,
                        BPF_JGT if m == FULL => q.ask(Atom {
                            word: w,
                            test: Test::Gt(k),
                        })?,
                        BPF_JGE if m == FULL => q.ask(Atom {
                            word: w,
                            test: Test::Ge(k),
                        })?,
                        _ => break,
                    },
                };
                pc += 1 + usize::from(if taken { insn.jt } else { insn.jf });
                continue;
            }
            _ => break,
        }
        pc += 1;
    }
    Ok(Action::KillProcess)
}

/// The `arch` and `nr` words of the region where a proof's step budget ran out, when each
/// was one value there.
type StoppedAt = (Option<u32>, Option<u32>);

struct Prover<'a> {
    model: Reference<'a>,
    insns: &'a [crate::program::Instruction],
    region: Region,
    /// With `Some(limit)`, differences are collected (up to `limit`) instead of ending the
    /// walk at the first.
    collect: Option<(usize, Vec<Counterexample>)>,
    /// Where the step budget ran out.
    stopped_at: Option<StoppedAt>,
}

impl Prover<'_> {
    /// [`ProofError::TooComplex`], noting where the walk was when the budget ran out.
    fn too_complex(&mut self) -> ProofError {
        if self.stopped_at.is_none() {
            self.stopped_at = Some((self.region.single(ARCH), self.region.single(NR)));
        }
        ProofError::TooComplex
    }

    fn run(&mut self, mut pc: usize, mut acc: Acc) -> Result<(), ProofError> {
        loop {
            self.tick()?;
            let Some(insn) = self.insns.get(pc) else {
                return Err(ProofError::Unsupported {
                    pc,
                    what: "the program falls off its end".into(),
                });
            };
            let k = insn.k;
            match insn.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    if k % 4 != 0 || k >= SECCOMP_DATA_LEN {
                        return Err(ProofError::Unsupported {
                            pc,
                            what: format!("a load at offset {k}"),
                        });
                    }
                    acc = Acc::Word(k as usize / 4, FULL);
                }
                c if c == BPF_LD | BPF_IMM => acc = Acc::Const(k),
                c if c == BPF_LD | BPF_W | BPF_LEN => acc = Acc::Const(SECCOMP_DATA_LEN),
                c if c == BPF_ALU | BPF_AND | BPF_K => {
                    acc = match acc {
                        Acc::Word(w, m) => Acc::Word(w, m & k),
                        Acc::Const(v) => Acc::Const(v & k),
                    }
                }
                c if c == BPF_JMP | BPF_JA => {
                    pc = pc + 1 + k as usize;
                    continue;
                }
                c if c == BPF_RET | BPF_K => return self.leaf(Action::from_ret(k)),
                c if c & BPF_CLASS_MASK == BPF_JMP && c & BPF_X == 0 => {
                    let (t, f) = (pc + 1 + usize::from(insn.jt), pc + 1 + usize::from(insn.jf));
                    let op = c & BPF_OP_MASK;
                    let atom = match acc {
                        Acc::Const(v) => {
                            let taken = match op {
                                BPF_JEQ => v == k,
                                BPF_JGT => v > k,
                                BPF_JGE => v >= k,
                                BPF_JSET => v & k != 0,
                                _ => return Err(unsupported(pc, c)),
                            };
                            pc = if taken { t } else { f };
                            continue;
                        }
                        Acc::Word(w, m) => match op {
                            BPF_JEQ => (
                                Atom {
                                    word: w,
                                    test: Test::Masked(m, k),
                                },
                                true,
                            ),
                            // Taken when (w & m & k) != 0, i.e. when the masked test fails.
                            BPF_JSET => (
                                Atom {
                                    word: w,
                                    test: Test::Masked(m & k, 0),
                                },
                                false,
                            ),
                            BPF_JGT if m == FULL => (
                                Atom {
                                    word: w,
                                    test: Test::Gt(k),
                                },
                                true,
                            ),
                            BPF_JGE if m == FULL => (
                                Atom {
                                    word: w,
                                    test: Test::Ge(k),
                                },
                                true,
                            ),
                            _ => return Err(unsupported(pc, c)),
                        },
                    };
                    let (atom, taken_when) = atom;
                    for (target, yes) in [(t, taken_when), (f, !taken_when)] {
                        let sat = self.push(atom, yes)?;
                        let r = if sat { self.run(target, acc) } else { Ok(()) };
                        self.region.pop();
                        r?;
                    }
                    return Ok(());
                }
                c => return Err(unsupported(pc, c)),
            }
            pc += 1;
        }
    }

    /// Every input in the region gets `got`: split the region until the profile's
    /// decision is constant on each piece, and compare.
    /// Narrows the region by `atom` (`yes` or not): whether some input is left. The caller
    /// pops it again; out of steps, it is popped here and the proof stops.
    fn push(&mut self, atom: Atom, yes: bool) -> Result<bool, ProofError> {
        match self.region.push(atom, yes) {
            Ok(sat) => Ok(sat),
            Err(_) => {
                let e = self.too_complex();
                self.region.pop();
                Err(e)
            }
        }
    }

    /// Counts one step of the proof against its limit.
    fn tick(&mut self) -> Result<(), ProofError> {
        if self.region.steps.add(1).is_err() {
            return Err(self.too_complex());
        }
        Ok(())
    }

    fn leaf(&mut self, got: Action) -> Result<(), ProofError> {
        self.tick()?;
        match self.model.decide_for(&mut self.region, Some(got)) {
            Ok(want) => {
                if want.accepts(got) {
                    Ok(())
                } else {
                    let mut point = match self.region.sample() {
                        Ok(p) => p,
                        Err(_) => return Err(self.too_complex()),
                    };
                    // The full verdict at the witness, for the error message.
                    let want = self.model.decide(&mut point).unwrap_or(want);
                    let cx = Counterexample { point, got, want };
                    match &mut self.collect {
                        Some((limit, found)) if found.len() < *limit => {
                            found.push(cx);
                            Ok(())
                        }
                        _ => Err(ProofError::Differs(Box::new(cx))),
                    }
                }
            }
            Err(Stop::Exhausted) => Err(self.too_complex()),
            Err(Stop::Split(atom)) => {
                for yes in [true, false] {
                    let sat = self.push(atom, yes)?;
                    let r = if sat { self.leaf(got) } else { Ok(()) };
                    self.region.pop();
                    r?;
                }
                Ok(())
            }
        }
    }
}

fn unsupported(pc: usize, code: u16) -> ProofError {
    ProofError::Unsupported {
        pc,
        what: format!("opcode {code:#06x}"),
    }
}

/// Proves that `insns` decide every possible input as `model` says.
///
/// # Errors
///
/// [`ProofError::Differs`] with a counterexample (the smallest input of the first region
/// where they disagree), [`ProofError::Unsupported`] for an instruction the proof does not
/// model, [`ProofError::TooComplex`] when the search exceeds [`MAX_STEPS`].
pub fn prove_instructions(
    model: &Model,
    insns: &[crate::program::Instruction],
) -> Result<(), ProofError> {
    prove_instructions_within(model, insns, &mut StepBudget::new(MAX_STEPS))
}

/// [`prove_instructions`] within what is left of `budget`, which is charged the steps
/// the proof took.
///
/// # Errors
///
/// As [`prove_instructions`]; [`ProofError::TooComplex`] when the proof needs more than
/// what was left of `budget`.
pub fn prove_instructions_within(
    model: &Model,
    insns: &[crate::program::Instruction],
    budget: &mut StepBudget,
) -> Result<(), ProofError> {
    prove_and_locate(model, insns, budget).map_err(|(e, _)| e)
}

/// The proof, and where it stopped when it ran out of steps.
fn prove_and_locate(
    model: &Model,
    insns: &[crate::program::Instruction],
    budget: &mut StepBudget,
) -> Result<(), (ProofError, Option<StoppedAt>)> {
    let mut p = Prover {
        model: Reference::Model(model),
        insns,
        region: Region::for_budget(budget),
        collect: None,
        stopped_at: None,
    };
    let r = p.run(0, Acc::Const(0));
    p.region.steps.settle(budget);
    r.map_err(|e| (e, p.stopped_at))
}

/// Compares two programs on every possible input (nothing sampled): the inputs on which
/// `a` and `b` return different actions, as regions, each given by its smallest input
/// (`got` is `a`'s action, `want` holds `b`'s). At most `limit` are returned, in the
/// order of `a`'s paths; an empty list proves that the two decide alike everywhere.
///
/// # Errors
///
/// [`ProofError::Unsupported`] for an instruction of `a` the proof does not model (`b`'s
/// are read as `KILL_PROCESS`), [`ProofError::TooComplex`] when the walk exceeds
/// [`MAX_STEPS`], [`ProofError::Differs`] with the first difference beyond `limit`.
pub fn compare_programs(
    a: &[crate::program::Instruction],
    b: &[crate::program::Instruction],
    limit: usize,
) -> Result<Vec<Counterexample>, ProofError> {
    let mut p = Prover {
        model: Reference::Program(b),
        insns: a,
        region: Region::default(),
        collect: Some((limit, Vec::new())),
        stopped_at: None,
    };
    p.run(0, Acc::Const(0))?;
    Ok(p.collect.map(|(_, found)| found).unwrap_or_default())
}

/// Proves `program` against `profile` (see the module documentation) and turns a failure
/// into a [`CompileError`] that names the entry and a witness call.
///
/// # Errors
///
/// [`CompileError::Miscompiled`] when the program decides some call otherwise than the
/// profile or has an instruction the proof does not model;
/// [`CompileError::TooComplexToProve`] when the proof needs more than [`MAX_STEPS`].
pub fn prove(profile: &Profile, program: &Program, stub: bool) -> Result<(), CompileError> {
    prove_within(profile, program, stub, &mut StepBudget::new(MAX_STEPS))
}

/// [`prove`] within what is left of `budget`, which is charged the steps the proof took.
///
/// # Errors
///
/// As [`prove`]; [`CompileError::TooComplexToProve`] when the proof needs more than what
/// was left of `budget`.
pub fn prove_within(
    profile: &Profile,
    program: &Program,
    stub: bool,
    budget: &mut StepBudget,
) -> Result<(), CompileError> {
    let model = Model::new(profile, stub);
    let given = budget.left();
    match prove_and_locate(&model, program.instructions(), budget) {
        Ok(()) => Ok(()),
        Err((ProofError::Differs(cx), _)) => Err(describe(profile, &cx)),
        Err((ProofError::Unsupported { pc, what }, _)) => Err(CompileError::Miscompiled {
            entry: "<filter>".into(),
            detail: format!("instruction {pc} ({what}) cannot be proven; the program is refused"),
        }),
        Err((ProofError::TooComplex, at)) => Err(too_complex(profile, given, at)),
    }
}

/// The error for a proof that ran out of its `steps`: where it stopped (the syscall and
/// its entries, when the region it was in had one number) and how to simplify.
fn too_complex(profile: &Profile, steps: u64, at: Option<StoppedAt>) -> CompileError {
    let (arch, nr) = at.unwrap_or((None, None));
    let abi = arch.and_then(|audit| {
        profile.architectures().iter().find(|a| {
            a.audit_arch == audit
                && nr.is_none_or(|n| a.x32 == (n & X32_SYSCALL_BIT != 0 && n != u32::MAX))
        })
    });
    let (syscall, entries) = match (abi, nr) {
        (Some(a), Some(n)) => {
            let name = arch::syscall_name(n as i32, a);
            let mut entries: Vec<usize> = profile
                .rules()
                .iter()
                .filter(|r| name.as_deref() == Some(r.name.as_str()))
                .map(|r| r.entry)
                .collect();
            entries.dedup();
            let shown = match name {
                Some(name) => format!("{name} on {}", a.name),
                None => format!("syscall {} on {}", n as i32, a.name),
            };
            (Some(shown), entries)
        }
        _ => (None, Vec::new()),
    };
    CompileError::TooComplexToProve {
        steps,
        syscall,
        entries,
    }
}

/// Searches every call of syscall `nr` on the ABI with audit arch `arch` (all 2^384
/// argument values, bit 30 of `nr` included for x32) for one that `model` does not decide
/// as `want` alone: `Ok(None)` proves that every such call gets `want`, `Ok(Some(..))`
/// gives the smallest call of the first region that does not, with the profile's verdict.
///
/// The lints use it to ask whether a union of conditional rules covers every value: build
/// a profile of just those rules with another default, and search for a call that reaches
/// the default.
///
/// # Errors
///
/// [`ProofError::TooComplex`] when the search exceeds [`MAX_STEPS`].
pub fn find_other(
    model: &Model,
    arch: u32,
    nr: u32,
    want: Action,
) -> Result<Option<(SeccompPoint, Verdict)>, ProofError> {
    find_other_within(model, arch, nr, want, &mut StepBudget::new(MAX_STEPS))
}

/// [`find_other`] within what is left of `budget`, which is charged the steps the search
/// took.
///
/// # Errors
///
/// [`ProofError::TooComplex`] when the search needs more than what was left of `budget`.
pub fn find_other_within(
    model: &Model,
    arch: u32,
    nr: u32,
    want: Action,
    budget: &mut StepBudget,
) -> Result<Option<(SeccompPoint, Verdict)>, ProofError> {
    let mut region = Region::for_budget(budget);
    let r = find_other_in(model, &mut region, arch, nr, want);
    region.steps.settle(budget);
    r
}

fn find_other_in(
    model: &Model,
    region: &mut Region,
    arch: u32,
    nr: u32,
    want: Action,
) -> Result<Option<(SeccompPoint, Verdict)>, ProofError> {
    let ok = region
        .push(Atom::eq(ARCH, arch), true)
        .and_then(|a| Ok(a && region.push(Atom::eq(NR, nr), true)?))
        .map_err(|_| ProofError::TooComplex)?;
    if !ok {
        return Ok(None);
    }
    search_other(model, region, want)
}

fn search_other(
    model: &Model,
    region: &mut Region,
    want: Action,
) -> Result<Option<(SeccompPoint, Verdict)>, ProofError> {
    region.steps.add(1).map_err(|_| ProofError::TooComplex)?;
    match model.decide(region) {
        Ok(v) => {
            if v.outcomes.iter().all(|(a, _)| *a == want) {
                Ok(None)
            } else {
                let point = region.sample().map_err(|_| ProofError::TooComplex)?;
                Ok(Some((point, v)))
            }
        }
        Err(Stop::Exhausted) => Err(ProofError::TooComplex),
        Err(Stop::Split(atom)) => {
            for yes in [true, false] {
                let sat = region.push(atom, yes).map_err(|_| ProofError::TooComplex);
                let r = match sat {
                    Ok(true) => search_other(model, region, want),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e),
                };
                region.pop();
                if let Some(found) = r? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        }
    }
}

/// Text for a call: `getppid(0x1, 0x0, ...) on SCMP_ARCH_X86_64`.
pub fn describe_call(point: &SeccompPoint) -> String {
    let p = point.0;
    let arch = arch::ALL.iter().find(|a| {
        a.audit_arch == p[ARCH]
            && (a.x32 == (p[NR] & X32_SYSCALL_BIT != 0) || a.audit_arch != AUDIT_ARCH_X86_64)
    });
    let Some(a) = arch else {
        return format!("syscall {:#x} on audit arch {:#x}", p[NR], p[ARCH]);
    };
    let name =
        arch::syscall_name(p[NR] as i32, a).unwrap_or_else(|| format!("syscall {}", p[NR] as i32));
    let args: Vec<String> = (0..6)
        .map(|i| format!("{:#x}", point.arg(i, a.big_endian)))
        .collect();
    format!("{name}({}) on {}", args.join(", "), a.name)
}

fn describe(profile: &Profile, cx: &Counterexample) -> CompileError {
    let want: Vec<String> = cx
        .want
        .outcomes
        .iter()
        .map(|(a, c)| format!("{a} ({c})"))
        .collect();
    let entry = match &cx.want.outcomes[0].1 {
        Cause::Entry(e) | Cause::Multiplexed { entry: e, .. } => format!("syscalls[{e}]"),
        Cause::Default => {
            // The program took an entry's action where none matches: name the entries
            // of that syscall.
            let entries: Vec<String> = profile
                .rules()
                .iter()
                .filter(|r| {
                    profile.architectures().iter().any(|a| {
                        arch::resolve(&r.name, a).map(|n| n as u32) == Some(cx.point.0[NR])
                    })
                })
                .map(|r| format!("syscalls[{}]", r.entry))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if entries.is_empty() {
                "defaultAction".into()
            } else {
                entries.join(", ")
            }
        }
        Cause::Stub | Cause::BadArch => "<filter>".into(),
    };
    // The witness is a call through `socketcall` or `ipc` on an architecture that has them.
    let through_multiplexer = profile.architectures().iter().any(|a| {
        a.audit_arch == cx.point.0[ARCH]
            && multiplexes(a)
            && ["socketcall", "ipc"]
                .iter()
                .any(|m| arch::resolve(m, a).map(|n| n as u32) == Some(cx.point.0[NR]))
    });
    let mux = through_multiplexer || matches!(cx.want.outcomes[0].1, Cause::Multiplexed { .. });
    let hint = if mux {
        "the filter cannot read a socket or IPC call's arguments through socketcall/ipc; \
         libseccomp applies the entry's conditions to the multiplexer's own registers, and \
         tests ipc's whole first register although the kernel reads the call from its low 16 \
         bits. Add an \
         unconditional rule for the multiplexer (socketcall or ipc), or leave the architecture out"
    } else {
        "libseccomp 2.5 builds wrong programs for some profiles (conditional rules on one \
         argument merged wrongly, a missing load of the syscall number in a later \
         architecture's block); rewrite the conditions, for example with one entry per range, \
         or list fewer architectures"
    };
    CompileError::Miscompiled {
        entry,
        detail: format!(
            "for {} the program libseccomp {} built returns {} instead of {}; {hint}",
            describe_call(&cx.point),
            crate::profile::libseccomp_version_string(),
            cx.got,
            want.join(" or "),
        ),
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
