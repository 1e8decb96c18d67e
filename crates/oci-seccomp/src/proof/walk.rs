//! The symbolic walk: every path of a program, pruned to the inputs that can take it,
//! compared at each `RET` with a reference (the profile's [`Semantics`] or another
//! program), splitting the region until the reference's verdict is constant on it.

use crate::action::Action;
use crate::bpf::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_CLASS_MASK, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
    BPF_JSET, BPF_K, BPF_LD, BPF_LEN, BPF_OP_MASK, BPF_RET, BPF_W, BPF_X, SECCOMP_DATA_LEN,
};
use crate::profile::semantics::space::{Ask, Atom, Region, Stop, Test, ARCH, FULL, NR};
use crate::profile::semantics::{Cause, Semantics, Verdict};

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
    ) -> Result<Verdict, Stop> {
        match self {
            Self::Semantics(m) => m.decide_for(q, only),
            Self::Program(insns) => run_asking(insns, q).map(|a| Verdict::one(a, Cause::Default)),
        }
    }

    pub(crate) fn decide(&self, q: &mut dyn Ask) -> Result<Verdict, Stop> {
        self.decide_for(q, None)
    }
}

/// Runs a program on the input that `q` answers questions about; a program the proof does
/// not model gives `KILL_PROCESS` (compared programs are proven first).
pub(crate) fn run_asking(
    insns: &[crate::bpf::Instruction],
    q: &mut dyn Ask,
) -> Result<Action, Stop> {
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
pub(crate) type StoppedAt = (Option<u32>, Option<u32>);

pub(crate) struct Prover<'a> {
    pub(crate) model: Reference<'a>,
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

    pub(crate) fn run(&mut self, mut pc: usize, mut acc: Acc) -> Result<(), ProofError> {
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
