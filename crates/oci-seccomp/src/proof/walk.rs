//! The symbolic walk: every path of a program, pruned to the inputs that can take it,
//! compared at each `RET` with a reference (the profile's [`Semantics`] or another
//! program), splitting the region until the reference's verdict is constant on it.

use crate::action::Action;
use crate::bpf::Instruction;
use crate::bpf::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_CLASS_MASK, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
    BPF_JSET, BPF_K, BPF_LD, BPF_LEN, BPF_OP_MASK, BPF_RET, BPF_W, BPF_X, SECCOMP_DATA_LEN,
};
use crate::profile::semantics::space::{Ask, Atom, Region, Stop, Test, ARCH, FULL, NR};
use crate::profile::semantics::{Cause, Decision, Semantics, Verdict};

use super::{Acc, Counterexample, ProofError};

/// What a program's paths are checked against.
pub(crate) enum Reference<'a> {
    /// The profile's semantics.
    Semantics(&'a Semantics),
    /// Another program: its action must be the same everywhere.
    Program(&'a [crate::bpf::Instruction]),
}

impl Reference<'_> {
    pub(crate) fn decide_for(
        &self,
        q: &mut dyn Ask,
        only: Option<Action>,
    ) -> Result<Decision, Stop> {
        match self {
            Self::Semantics(m) => m.decide_for(q, only),
            Self::Program(insns) => run_asking(insns, q).map(|a| Decision::One(a, Cause::Default)),
        }
    }

    pub(crate) fn decide(&self, q: &mut dyn Ask) -> Result<Verdict, Stop> {
        self.decide_for(q, None).map(Verdict::from)
    }
}

/// What one instruction does to the symbolic state of a walk.
pub(crate) enum Step {
    /// Go on at `pc` with the accumulator `acc`.
    Next(usize, Acc),
    /// `RET` with this value (decoded with [`Action::from_ret`]; the raw value orders
    /// the answers of a stack of filters as the kernel does).
    Ret(u32),
    /// A jump on a word of the input: to `taken` when `atom` is `taken_when`, else to
    /// `not_taken`.
    Branch {
        atom: Atom,
        taken_when: bool,
        taken: usize,
        not_taken: usize,
    },
    /// An instruction the walk does not model, or the end of the program.
    Unsupported(ProofError),
}

/// The one place that says what each instruction means to the symbolic walks
/// ([`Prover::run`] and [`run_asking`]): loads of `seccomp_data` words, `AND` with a
/// constant, jumps on constants, `RET` constants. The concrete interpreter is
/// [`crate::bpf::run`].
pub(crate) fn step(insns: &[Instruction], pc: usize, acc: Acc) -> Step {
    let Some(insn) = insns.get(pc) else {
        return Step::Unsupported(ProofError::Unsupported {
            pc,
            what: "the program falls off its end".into(),
        });
    };
    let k = insn.k;
    let next = |acc| Step::Next(pc + 1, acc);
    match insn.code {
        c if c == BPF_LD | BPF_W | BPF_ABS => {
            if k % 4 != 0 || k >= SECCOMP_DATA_LEN {
                return Step::Unsupported(ProofError::Unsupported {
                    pc,
                    what: format!("a load at offset {k}"),
                });
            }
            next(Acc::Word(k as usize / 4, FULL))
        }
        c if c == BPF_LD | BPF_IMM => next(Acc::Const(k)),
        c if c == BPF_LD | BPF_W | BPF_LEN => next(Acc::Const(SECCOMP_DATA_LEN)),
        c if c == BPF_ALU | BPF_AND | BPF_K => next(match acc {
            Acc::Word(w, m) => Acc::Word(w, m & k),
            Acc::Const(v) => Acc::Const(v & k),
        }),
        c if c == BPF_JMP | BPF_JA => Step::Next(pc + 1 + k as usize, acc),
        c if c == BPF_RET | BPF_K => Step::Ret(k),
        c if c & BPF_CLASS_MASK == BPF_JMP && c & BPF_X == 0 => {
            let (t, f) = (pc + 1 + usize::from(insn.jt), pc + 1 + usize::from(insn.jf));
            let op = c & BPF_OP_MASK;
            let (word, m) = match acc {
                Acc::Const(v) => {
                    let taken = match op {
                        BPF_JEQ => v == k,
                        BPF_JGT => v > k,
                        BPF_JGE => v >= k,
                        BPF_JSET => v & k != 0,
                        _ => return Step::Unsupported(unsupported(pc, c)),
                    };
                    return Step::Next(if taken { t } else { f }, acc);
                }
                Acc::Word(word, m) => (word, m),
            };
            if !matches!(op, BPF_JEQ | BPF_JSET | BPF_JGT | BPF_JGE) {
                return Step::Unsupported(unsupported(pc, c));
            }
            // Both ways lead to one place: nothing to ask (a hostile program's no-op tests
            // would otherwise double the walk each).
            if t == f {
                return Step::Next(t, acc);
            }
            let (test, taken_when) = match op {
                BPF_JEQ => (Test::Masked(m, k), true),
                // Taken when (w & m & k) != 0, i.e. when the masked test fails.
                BPF_JSET => (Test::Masked(m & k, 0), false),
                BPF_JGT if m == FULL => (Test::Gt(k), true),
                BPF_JGE if m == FULL => (Test::Ge(k), true),
                _ => return Step::Unsupported(unsupported(pc, c)),
            };
            Step::Branch {
                atom: Atom { word, test },
                taken_when,
                taken: t,
                not_taken: f,
            }
        }
        c => Step::Unsupported(unsupported(pc, c)),
    }
}

/// Runs a program on the input that `q` answers questions about; a program the proof does
/// not model gives `KILL_PROCESS` (compared programs are proven first).
pub(crate) fn run_asking(insns: &[Instruction], q: &mut dyn Ask) -> Result<Action, Stop> {
    run_asking_raw(insns, q).map(Action::from_ret)
}

/// [`run_asking`], the value the program returns as it is (`SECCOMP_RET_KILL_PROCESS`
/// where the walk does not model the program).
pub(crate) fn run_asking_raw(insns: &[Instruction], q: &mut dyn Ask) -> Result<u32, Stop> {
    let (mut pc, mut acc) = (0usize, Acc::Const(0));
    // Without loops (every jump goes forward), a path has at most one step per instruction.
    for _ in 0..=insns.len() {
        match step(insns, pc, acc) {
            Step::Next(next, a) => (pc, acc) = (next, a),
            Step::Ret(value) => return Ok(value),
            Step::Branch {
                atom,
                taken_when,
                taken,
                not_taken,
            } => {
                pc = if q.ask(atom)? == taken_when {
                    taken
                } else {
                    not_taken
                }
            }
            Step::Unsupported(_) => break,
        }
    }
    Ok(Action::KillProcess.to_ret())
}

/// The `arch` and `nr` words of the region where a proof's step budget ran out, when each
/// was one value there.
pub(crate) type StoppedAt = (Option<u32>, Option<u32>);

pub(crate) struct Prover<'a> {
    pub(crate) reference: Reference<'a>,
    pub(crate) insns: &'a [crate::bpf::Instruction],
    pub(crate) region: Region,
    /// With `Some(limit)`, differences are collected (up to `limit`) instead of ending the
    /// walk at the first.
    pub(crate) collect: Option<(usize, Vec<Counterexample>)>,
    /// Where the step budget ran out.
    pub(crate) stopped_at: Option<StoppedAt>,
}

impl Prover<'_> {
    /// [`ProofError::TooComplex`], noting where the walk was when the budget ran out.
    pub(crate) fn too_complex(&mut self) -> ProofError {
        if self.stopped_at.is_none() {
            self.stopped_at = Some((self.region.single(ARCH), self.region.single(NR)));
        }
        ProofError::TooComplex
    }

    /// Walks every path from `pc` with accumulator `acc` that some input of the region
    /// can take, and checks each `RET` against the reference.
    pub(crate) fn run(&mut self, mut pc: usize, mut acc: Acc) -> Result<(), ProofError> {
        loop {
            self.tick()?;
            match step(self.insns, pc, acc) {
                Step::Next(next, a) => (pc, acc) = (next, a),
                Step::Ret(value) => return self.leaf(Action::from_ret(value)),
                Step::Branch {
                    atom,
                    taken_when,
                    taken,
                    not_taken,
                } => {
                    for (target, yes) in [(taken, taken_when), (not_taken, !taken_when)] {
                        let sat = self.push(atom, yes)?;
                        let r = if sat { self.run(target, acc) } else { Ok(()) };
                        self.region.pop();
                        r?;
                    }
                    return Ok(());
                }
                Step::Unsupported(e) => return Err(e),
            }
        }
    }

    /// Every input in the region gets `got`: split the region until the profile's
    /// decision is constant on each piece, and compare.
    /// Narrows the region by `atom` (`yes` or not): whether some input is left. The caller
    /// pops it again; out of steps, it is popped here and the proof stops.
    pub(crate) fn push(&mut self, atom: Atom, yes: bool) -> Result<bool, ProofError> {
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
    pub(crate) fn tick(&mut self) -> Result<(), ProofError> {
        if self.region.steps.add(1).is_err() {
            return Err(self.too_complex());
        }
        Ok(())
    }

    pub(crate) fn leaf(&mut self, got: Action) -> Result<(), ProofError> {
        self.tick()?;
        match self.reference.decide_for(&mut self.region, Some(got)) {
            Ok(want) => {
                if want.accepts(got) {
                    Ok(())
                } else {
                    let mut point = match self.region.sample() {
                        Ok(p) => p,
                        Err(_) => return Err(self.too_complex()),
                    };
                    // The full verdict at the witness, for the error message.
                    let want = self
                        .reference
                        .decide(&mut point)
                        .unwrap_or_else(|_| want.into());
                    let cx = Counterexample {
                        point: point.data(),
                        got,
                        want,
                    };
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

pub(crate) fn unsupported(pc: usize, code: u16) -> ProofError {
    ProofError::Unsupported {
        pc,
        what: format!("opcode {code:#06x}"),
    }
}
