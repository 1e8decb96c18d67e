//! A classic-BPF interpreter with the kernel's seccomp rules.
//!
//! Used by `explain`, by golden tests that need no kernel, and by benchmarks that count
//! path lengths. It accepts exactly the instructions that the kernel's
//! `seccomp_check_filter` accepts, and a hostile program yields an error, never a panic.

use super::{ret, SECCOMP_DATA_LEN};
use super::{Instruction, SeccompData};
use super::{
    BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_CLASS_MASK, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ,
    BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM,
    BPF_MEMWORDS, BPF_MISC, BPF_MOD, BPF_MUL, BPF_NEG, BPF_OP_MASK, BPF_OR, BPF_RET, BPF_RSH,
    BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR,
};
use crate::action::Action;
use crate::error::SimulateError;

/// The outcome of running a program on one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The decoded action.
    pub action: Action,
    /// The raw return value.
    pub ret: u32,
    /// Index of the `RET` instruction that decided.
    pub ret_index: usize,
    /// Instructions executed, the `RET` included.
    pub executed: usize,
}

/// Runs raw instructions on `data`.
///
/// # Errors
///
/// [`SimulateError`] for what the kernel's `seccomp_check_filter` would refuse or what
/// would fail at run time: a jump or fall-through out of the program, a load outside
/// `seccomp_data` or misaligned, a bad opcode or scratch index, a division by zero, or
/// more steps than instructions.
pub fn run(insns: &[Instruction], data: &SeccompData) -> Result<Decision, SimulateError> {
    let len = insns.len();
    let mut m = Machine {
        a: 0,
        x: 0,
        mem: [0; BPF_MEMWORDS],
    };
    let mut pc: usize = 0;
    let mut executed = 0usize;
    // Classic BPF only jumps forward, so a valid program runs at most `len` instructions.
    loop {
        let Some(insn) = insns.get(pc) else {
            return Err(SimulateError::OutOfRange {
                pc: pc.saturating_sub(1),
                target: pc,
                len,
            });
        };
        executed += 1;
        if executed > len {
            return Err(SimulateError::TooManySteps(len));
        }
        let code = insn.code;
        let mut next = pc + 1;
        match code & BPF_CLASS_MASK {
            BPF_LD => m.a = m.load(pc, insn, data)?,
            BPF_LDX => m.x = m.load_x(pc, insn)?,
            BPF_ST | BPF_STX => m.store(pc, insn)?,
            BPF_ALU => m.a = m.alu(pc, insn)?,
            BPF_JMP => {
                next = m.jump(pc, insn)?;
                if next >= len {
                    return Err(SimulateError::OutOfRange {
                        pc,
                        target: next,
                        len,
                    });
                }
            }
            BPF_RET => {
                let value = match code {
                    c if c == BPF_RET | BPF_K => insn.k,
                    c if c == BPF_RET | BPF_A => m.a,
                    _ => return Err(SimulateError::BadOpcode { pc, code }),
                };
                return Ok(Decision {
                    action: Action::from_ret(value),
                    ret: value,
                    ret_index: pc,
                    executed,
                });
            }
            _ => match code {
                c if c == BPF_MISC | BPF_TAX => m.x = m.a,
                c if c == BPF_MISC | BPF_TXA => m.a = m.x,
                _ => return Err(SimulateError::BadOpcode { pc, code }),
            },
        }
        pc = next;
    }
}

/// The registers of a classic BPF machine: the accumulator, the index register and the
/// scratch memory. Each method is one instruction class, as `seccomp_check_filter`
/// accepts it, at instruction `pc`.
struct Machine {
    a: u32,
    x: u32,
    mem: [u32; BPF_MEMWORDS],
}

impl Machine {
    /// `BPF_LD`: the new accumulator.
    fn load(
        &self,
        pc: usize,
        insn: &Instruction,
        data: &SeccompData,
    ) -> Result<u32, SimulateError> {
        let (code, k) = (insn.code, insn.k);
        match code {
            c if c == BPF_LD | BPF_W | BPF_ABS => {
                data.word(k).ok_or(SimulateError::BadLoad { pc, offset: k })
            }
            c if c == BPF_LD | BPF_W | BPF_LEN => Ok(SECCOMP_DATA_LEN),
            c if c == BPF_LD | BPF_IMM => Ok(k),
            c if c == BPF_LD | BPF_MEM => self.scratch(pc, k),
            _ => Err(SimulateError::BadOpcode { pc, code }),
        }
    }

    /// `BPF_LDX`: the new index register.
    fn load_x(&self, pc: usize, insn: &Instruction) -> Result<u32, SimulateError> {
        let (code, k) = (insn.code, insn.k);
        match code {
            c if c == BPF_LDX | BPF_W | BPF_LEN => Ok(SECCOMP_DATA_LEN),
            c if c == BPF_LDX | BPF_IMM => Ok(k),
            c if c == BPF_LDX | BPF_MEM => self.scratch(pc, k),
            _ => Err(SimulateError::BadOpcode { pc, code }),
        }
    }

    /// Scratch word `k`.
    fn scratch(&self, pc: usize, k: u32) -> Result<u32, SimulateError> {
        self.mem
            .get(k as usize)
            .copied()
            .ok_or(SimulateError::BadScratch { pc, index: k })
    }

    /// `BPF_ST`, `BPF_STX`: the accumulator or the index register into scratch word `k`.
    fn store(&mut self, pc: usize, insn: &Instruction) -> Result<(), SimulateError> {
        let (code, k) = (insn.code, insn.k);
        if code & !BPF_CLASS_MASK != 0 {
            return Err(SimulateError::BadOpcode { pc, code });
        }
        let v = if code & BPF_CLASS_MASK == BPF_ST {
            self.a
        } else {
            self.x
        };
        *self
            .mem
            .get_mut(k as usize)
            .ok_or(SimulateError::BadScratch { pc, index: k })? = v;
        Ok(())
    }

    /// `BPF_ALU`: the new accumulator.
    fn alu(&self, pc: usize, insn: &Instruction) -> Result<u32, SimulateError> {
        let code = insn.code;
        let (a, op) = (self.a, code & BPF_OP_MASK);
        let src = if code & BPF_X != 0 { self.x } else { insn.k };
        if code & !0xf8 != BPF_ALU {
            return Err(SimulateError::BadOpcode { pc, code });
        }
        Ok(match op {
            BPF_ADD => a.wrapping_add(src),
            BPF_SUB => a.wrapping_sub(src),
            BPF_MUL => a.wrapping_mul(src),
            BPF_DIV => a
                .checked_div(src)
                .ok_or(SimulateError::DivisionByZero { pc })?,
            BPF_MOD => a
                .checked_rem(src)
                .ok_or(SimulateError::DivisionByZero { pc })?,
            BPF_OR => a | src,
            BPF_AND => a & src,
            BPF_XOR => a ^ src,
            BPF_LSH => a.checked_shl(src).unwrap_or(0),
            BPF_RSH => a.checked_shr(src).unwrap_or(0),
            BPF_NEG if code & BPF_X == 0 => a.wrapping_neg(),
            _ => return Err(SimulateError::BadOpcode { pc, code }),
        })
    }

    /// `BPF_JMP`: the next instruction's index (not checked against the length).
    fn jump(&self, pc: usize, insn: &Instruction) -> Result<usize, SimulateError> {
        let code = insn.code;
        let op = code & BPF_OP_MASK;
        if code & !0xf8 != BPF_JMP {
            return Err(SimulateError::BadOpcode { pc, code });
        }
        if op == BPF_JA {
            if code & BPF_X != 0 {
                return Err(SimulateError::BadOpcode { pc, code });
            }
            return Ok(pc + 1 + insn.k as usize);
        }
        let src = if code & BPF_X != 0 { self.x } else { insn.k };
        let taken = match op {
            BPF_JEQ => self.a == src,
            BPF_JGT => self.a > src,
            BPF_JGE => self.a >= src,
            BPF_JSET => self.a & src != 0,
            _ => return Err(SimulateError::BadOpcode { pc, code }),
        };
        let off = if taken { insn.jt } else { insn.jf };
        Ok(pc + 1 + off as usize)
    }
}

/// Whether the kernel's constant-action cache (Linux >= 5.11, `seccomp_is_const_allow`)
/// would mark syscall `nr` of `arch` as always allowed, so the filter is skipped for it.
///
/// This emulates the kernel's rule: the path may only load `nr` or `arch`, jump on
/// constants (`JA`, `JEQ`/`JGT`/`JGE`/`JSET` K), `AND` with a constant, and must end in
/// `RET ALLOW`. Anything else (an argument load, for one) makes it not constant.
pub fn is_constant_allow(insns: &[Instruction], arch: u32, nr: u32) -> bool {
    is_allow_given(insns, arch, nr, &[], false)
}

/// Whether syscall `nr` of `arch` is allowed whatever the arguments not in `fixed` hold:
/// [`is_constant_allow`] where the path may also load the words of the arguments given in
/// `fixed` (`(index, value)`, index 0..=5, each 64-bit value split into the two 32-bit
/// words of `seccomp_data.args[index]`, in the target's byte order: `big_endian` puts the
/// high word first). A load of any other field (another argument, the instruction pointer)
/// answers `false`: the answer may be `false` for a call the filter would allow, never
/// `true` for one it would not.
///
/// The launcher asks this for the calls it makes itself after the install with arguments
/// it knows (`prctl(PR_CAPBSET_READ, ...)`), and `check --runtime` for a runtime's.
pub fn is_allow_given(
    insns: &[Instruction],
    arch: u32,
    nr: u32,
    fixed: &[(usize, u64)],
    big_endian: bool,
) -> bool {
    // seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args[i] at 16 + 8 i
    // (include/uapi/linux/seccomp.h).
    let word = |offset: u32| -> Option<u32> {
        match offset {
            0 => Some(nr),
            4 => Some(arch),
            o if (16..64).contains(&o) && o % 4 == 0 => {
                let index = ((o - 16) / 8) as usize;
                let first = (o - 16) % 8 == 0;
                let value = fixed.iter().find(|(i, _)| *i == index)?.1;
                let (lo, hi) = (value as u32, (value >> 32) as u32);
                Some(if first == big_endian { hi } else { lo })
            }
            _ => None,
        }
    };
    let mut a: u32 = 0;
    let mut pc = 0usize;
    while let Some(insn) = insns.get(pc) {
        let k = insn.k;
        match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match word(k) {
                Some(w) => a = w,
                None => return false,
            },
            c if c == BPF_RET | BPF_K => return k == ret::ALLOW,
            c if c == BPF_JMP | BPF_JA => pc = pc.saturating_add(k as usize),
            c if c & BPF_CLASS_MASK == BPF_JMP && c & BPF_X == 0 => {
                let taken = match c & BPF_OP_MASK {
                    BPF_JEQ => a == k,
                    BPF_JGE => a >= k,
                    BPF_JGT => a > k,
                    BPF_JSET => a & k != 0,
                    _ => return false,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => a &= k,
            _ => return false,
        }
        pc += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
        Instruction { code, jt, jf, k }
    }

    #[test]
    fn hostile_programs_are_errors() {
        let d = SeccompData::default();
        // Jump past the end.
        assert!(matches!(
            run(&[i(BPF_JMP | BPF_JA, 0, 0, 5)], &d),
            Err(SimulateError::OutOfRange { .. })
        ));
        assert!(matches!(
            run(&[i(BPF_JMP | BPF_JA, 0, 0, u32::MAX)], &d),
            Err(SimulateError::OutOfRange { .. })
        ));
        // Falls off the end.
        assert!(matches!(
            run(&[i(BPF_LD | BPF_IMM, 0, 0, 1)], &d),
            Err(SimulateError::OutOfRange { .. })
        ));
        // Load outside seccomp_data and misaligned.
        assert!(matches!(
            run(&[i(BPF_LD | BPF_W | BPF_ABS, 0, 0, 64)], &d),
            Err(SimulateError::BadLoad { .. })
        ));
        assert!(matches!(
            run(&[i(BPF_LD | BPF_W | BPF_ABS, 0, 0, 2)], &d),
            Err(SimulateError::BadLoad { .. })
        ));
        // Byte loads are not allowed in seccomp.
        assert!(matches!(
            run(&[i(0x30, 0, 0, 0)], &d),
            Err(SimulateError::BadOpcode { .. })
        ));
        assert!(matches!(
            run(&[i(BPF_LD | BPF_MEM, 0, 0, 16)], &d),
            Err(SimulateError::BadScratch { .. })
        ));
        assert!(matches!(
            run(
                &[i(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 0), i(BPF_RET, 0, 0, 0)],
                &d
            ),
            Err(SimulateError::DivisionByZero { .. })
        ));
        assert!(run(&[], &d).is_err());
    }

    #[test]
    fn reads_args_little_endian() {
        let d = SeccompData {
            nr: 7,
            arch: 0xc000_003e,
            instruction_pointer: 0,
            args: [0, 0, 0x1122_3344_5566_7788, 0, 0, 0],
        };
        let prog = [
            i(BPF_LD | BPF_W | BPF_ABS, 0, 0, 16 + 2 * 8 + 4),
            i(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0x1122_3344),
            i(BPF_RET | BPF_K, 0, 0, ret::ALLOW),
            i(BPF_RET | BPF_K, 0, 0, ret::ERRNO | 1),
        ];
        let r = run(&prog, &d).unwrap();
        assert_eq!(r.action, Action::Allow);
        assert_eq!(r.executed, 3);
        assert_eq!(r.ret_index, 2);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn allowed_given_arguments_only_when_every_other_input_is_allowed_too() {
        // prctl (157 on x86_64) allowed for PR_CAPBSET_READ (23) only; write (1) only for
        // fd 1 and a count above 10 (a second argument the caller does not fix).
        let spec = crate::parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[
                  {"names":["prctl"],"action":"SCMP_ACT_ALLOW",
                   "args":[{"index":0,"value":23,"op":"SCMP_CMP_EQ"}]},
                  {"names":["write"],"action":"SCMP_ACT_ALLOW",
                   "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},
                           {"index":2,"value":10,"op":"SCMP_CMP_GT"}]},
                  {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        let p = crate::compile(&spec, &crate::CompileOptions::default()).unwrap();
        let insns = p.instructions();
        let x86_64 = 0xc000_003e;
        assert!(is_allow_given(insns, x86_64, 157, &[(0, 23)], false));
        assert!(!is_allow_given(insns, x86_64, 157, &[(0, 24)], false));
        // prctl's option is an int: the kernel (and our default reading) sees only the
        // low word, so 23 + 2^32 is PR_CAPBSET_READ too.
        assert!(is_allow_given(
            insns,
            x86_64,
            157,
            &[(0, 23 | 1 << 32)],
            false
        ));
        assert!(!is_allow_given(insns, x86_64, 157, &[], false));
        // An argument left open that the filter reads: not known to be allowed.
        assert!(!is_allow_given(insns, x86_64, 1, &[(0, 1)], false));
        assert!(is_allow_given(insns, x86_64, 1, &[(0, 1), (2, 11)], false));
        assert!(!is_allow_given(insns, x86_64, 1, &[(0, 1), (2, 10)], false));
        // write's count is a size_t: its high word is read.
        assert!(is_allow_given(
            insns,
            x86_64,
            1,
            &[(0, 1), (2, 1 << 32)],
            false
        ));
        assert!(is_allow_given(insns, x86_64, 39, &[], false));
        assert!(is_constant_allow(insns, x86_64, 39));
        // Another architecture: the filter's answer for it (kill), not an allow.
        assert!(!is_allow_given(insns, 0x4000_0003, 20, &[], false));
    }
}
