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
//! bit pattern and a list of excluded bit patterns. A region of the input space keeps that, and its
//! satisfiability test is exact (a search over the bits of the word, most significant
//! first, that also yields the smallest witness).
//!
//! The profile's meaning is written once, in [`crate::Semantics`]: a function that asks
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

pub(crate) mod walk;
mod witness;

use crate::action::Action;
use crate::arch::{self, X32_SYSCALL_BIT};
use crate::bpf::SeccompData;
use crate::error::CompileError;
use crate::profile::semantics::space::{Atom, Region, Stop, ARCH, NR};
use crate::profile::semantics::Stub;
use crate::profile::semantics::{Semantics, Verdict};
use crate::profile::Profile;
use crate::program::Program;
use walk::{Prover, Reference, StoppedAt};
use witness::describe;

pub use crate::profile::semantics::{StepBudget, MAX_STEPS};
pub use witness::describe_call;

/// A call on which the program and the profile disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// The input, as `seccomp_data` words.
    pub point: SeccompData,
    /// What the program returns.
    pub got: Action,
    /// What the profile says.
    pub want: Verdict,
}

/// The accumulator of the symbolic run: a word masked with a constant, or a constant.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Acc {
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

/// Proves that `insns` decide every possible input as `semantics` says.
///
/// # Errors
///
/// [`ProofError::Differs`] with a counterexample (the smallest input of the first region
/// where they disagree), [`ProofError::Unsupported`] for an instruction the proof does not
/// model, [`ProofError::TooComplex`] when the search exceeds [`MAX_STEPS`].
pub fn prove_instructions(
    semantics: &Semantics,
    insns: &[crate::bpf::Instruction],
) -> Result<(), ProofError> {
    prove_instructions_within(semantics, insns, &mut StepBudget::new(MAX_STEPS))
}

/// [`prove_instructions`] within what is left of `budget`, which is charged the steps
/// the proof took.
///
/// # Errors
///
/// As [`prove_instructions`]; [`ProofError::TooComplex`] when the proof needs more than
/// what was left of `budget`.
pub fn prove_instructions_within(
    semantics: &Semantics,
    insns: &[crate::bpf::Instruction],
    budget: &mut StepBudget,
) -> Result<(), ProofError> {
    prove_and_locate(semantics, insns, budget).map_err(|(e, _)| e)
}

/// The proof, and where it stopped when it ran out of steps.
pub(crate) fn prove_and_locate(
    semantics: &Semantics,
    insns: &[crate::bpf::Instruction],
    budget: &mut StepBudget,
) -> Result<(), (ProofError, Option<StoppedAt>)> {
    let mut p = Prover {
        reference: Reference::Semantics(semantics),
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
    a: &[crate::bpf::Instruction],
    b: &[crate::bpf::Instruction],
    limit: usize,
) -> Result<Vec<Counterexample>, ProofError> {
    let mut p = Prover {
        reference: Reference::Program(b),
        insns: a,
        region: Region::default(),
        collect: Some((limit, Vec::new())),
        stopped_at: None,
    };
    p.run(0, Acc::Const(0))?;
    Ok(p.collect.map(|(_, found)| found).unwrap_or_default())
}

/// Whether every path of `insns` can be walked (no instruction the proof does not model is
/// reachable), within what is left of `budget` (its deadline included).
///
/// # Errors
///
/// [`ProofError::Unsupported`] naming the first such instruction,
/// [`ProofError::TooComplex`] when the budget runs out.
pub(crate) fn check_walkable(
    insns: &[crate::bpf::Instruction],
    budget: &StepBudget,
) -> Result<(), ProofError> {
    let mut p = Prover {
        reference: Reference::Program(insns),
        insns,
        region: Region::for_budget(budget),
        collect: Some((1, Vec::new())),
        stopped_at: None,
    };
    match p.run(0, Acc::Const(0)) {
        Err(ProofError::Differs(_)) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Proves `program` against `profile` (see the module documentation) and turns a failure
/// into a [`CompileError`] that names the entry and a witness call.
///
/// # Errors
///
/// [`CompileError::Miscompiled`] when the program decides some call otherwise than the
/// profile or has an instruction the proof does not model;
/// [`CompileError::TooComplexToProve`] when the proof needs more than [`MAX_STEPS`].
pub fn prove(profile: &Profile, program: &Program, stub: Stub) -> Result<(), CompileError> {
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
    stub: Stub,
    budget: &mut StepBudget,
) -> Result<(), CompileError> {
    let semantics = Semantics::new(profile, stub);
    let given = budget.left();
    match prove_and_locate(&semantics, program.instructions(), budget) {
        Ok(()) => Ok(()),
        Err((ProofError::Differs(cx), _)) => Err(describe(profile, &cx)),
        Err((ProofError::Unsupported { pc, what }, _)) => Err(CompileError::Miscompiled {
            entry: "<filter>".into(),
            detail: format!("instruction {pc} ({what}) cannot be proven; the program is refused"),
            witness: None,
        }),
        Err((ProofError::TooComplex, at)) => Err(too_complex(profile, given, at)),
    }
}

/// The error for a proof that ran out of its `steps`: where it stopped (the syscall and
/// its entries, when the region it was in had one number) and how to simplify.
pub(crate) fn too_complex(profile: &Profile, steps: u64, at: Option<StoppedAt>) -> CompileError {
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
                .filter(|r| name.as_deref() == Some(&*r.name))
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
/// argument values, bit 30 of `nr` included for x32) for one that `semantics` does not decide
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
    semantics: &Semantics,
    arch: u32,
    nr: u32,
    want: Action,
) -> Result<Option<(SeccompData, Verdict)>, ProofError> {
    find_other_within(semantics, arch, nr, want, &mut StepBudget::new(MAX_STEPS))
}

/// [`find_other`] within what is left of `budget`, which is charged the steps the search
/// took.
///
/// # Errors
///
/// [`ProofError::TooComplex`] when the search needs more than what was left of `budget`.
pub fn find_other_within(
    semantics: &Semantics,
    arch: u32,
    nr: u32,
    want: Action,
    budget: &mut StepBudget,
) -> Result<Option<(SeccompData, Verdict)>, ProofError> {
    let mut region = Region::for_budget(budget);
    let r = find_other_in(semantics, &mut region, arch, nr, want);
    region.steps.settle(budget);
    r
}

pub(crate) fn find_other_in(
    semantics: &Semantics,
    region: &mut Region,
    arch: u32,
    nr: u32,
    want: Action,
) -> Result<Option<(SeccompData, Verdict)>, ProofError> {
    let ok = region
        .push(Atom::eq(ARCH, arch), true)
        .and_then(|a| Ok(a && region.push(Atom::eq(NR, nr), true)?))
        .map_err(|_| ProofError::TooComplex)?;
    if !ok {
        return Ok(None);
    }
    search_other(semantics, region, want)
}

pub(crate) fn search_other(
    semantics: &Semantics,
    region: &mut Region,
    want: Action,
) -> Result<Option<(SeccompData, Verdict)>, ProofError> {
    region.steps.add(1).map_err(|_| ProofError::TooComplex)?;
    match semantics.verdict(region) {
        Ok(v) => {
            if v.outcomes.iter().all(|(a, _)| *a == want) {
                Ok(None)
            } else {
                let point = region.sample().map_err(|_| ProofError::TooComplex)?.data();
                Ok(Some((point, v)))
            }
        }
        Err(Stop::Exhausted) => Err(ProofError::TooComplex),
        Err(Stop::Split(atom)) => {
            for yes in [true, false] {
                let sat = region.push(atom, yes).map_err(|_| ProofError::TooComplex);
                let r = match sat {
                    Ok(true) => search_other(semantics, region, want),
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
