//! Step budgets: every search over the input space (the proof, the lints that search
//! exhaustively, region queries) counts its steps, so that no profile or program makes it
//! run without bound.

/// Most search steps one proof may take before it gives up (and refuses the program):
/// questions asked of a region, satisfiability tests, instructions walked.
pub const MAX_STEPS: u64 = 50_000_000;

/// Steps of search that several proofs and searches share: each is given what is left
/// and charged what it used, so that together they stop at one limit.
/// `oci-seccomp check` runs the compile's proof and every lint that searches through one
/// budget (see [`crate::lint`]).
///
/// ```
/// use oci_seccomp::StepBudget;
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
pub(crate) const CLOCK_EVERY_LOG2: u32 = 14;

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
    pub(crate) fn past_deadline(deadline: Option<std::time::Instant>, old: u64, new: u64) -> bool {
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
pub(crate) struct Counter {
    pub(crate) used: u64,
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
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            used: 0,
            limit,
            deadline: None,
            timed_out: false,
        }
    }

    /// What is left of `budget`, with its deadline.
    pub(crate) fn for_budget(budget: &StepBudget) -> Self {
        Self {
            deadline: budget.deadline,
            ..Self::new(budget.left())
        }
    }

    /// Counts `n` steps; `Exhausted` once they run over the limit or past the deadline.
    pub(crate) fn add(&mut self, n: u64) -> Result<(), Exhausted> {
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
    pub(crate) fn settle(&self, budget: &mut StepBudget) {
        budget.charge(self.used);
        if self.timed_out {
            budget.timed_out = true;
            budget.used = budget.limit;
        }
    }
}

/// Ran out of the step budget.
#[derive(Debug)]
pub(crate) struct Exhausted;
