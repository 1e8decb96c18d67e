//! A classic-BPF interpreter with the kernel's seccomp rules.
//!
//! Used by `explain`, by golden tests that need no kernel, and by benchmarks that count
//! path lengths. It accepts exactly the instructions that the kernel's
//! `seccomp_check_filter` accepts, and a hostile program yields an error, never a panic.

use crate::error::SimulateError;
use crate::program::{Instruction, Program};

// Instruction classes and fields of classic BPF (linux/filter.h, linux/bpf_common.h).
pub(crate) const BPF_LD: u16 = 0x00;
pub(crate) const BPF_LDX: u16 = 0x01;
pub(crate) const BPF_ST: u16 = 0x02;
pub(crate) const BPF_STX: u16 = 0x03;
pub(crate) const BPF_ALU: u16 = 0x04;
pub(crate) const BPF_JMP: u16 = 0x05;
pub(crate) const BPF_RET: u16 = 0x06;
/// Opcode of `RET K` (return a constant).
pub const BPF_RET_K: u16 = BPF_RET | BPF_K;
pub(crate) const BPF_MISC: u16 = 0x07;
pub(crate) const BPF_W: u16 = 0x00;
pub(crate) const BPF_IMM: u16 = 0x00;
pub(crate) const BPF_ABS: u16 = 0x20;
pub(crate) const BPF_MEM: u16 = 0x60;
pub(crate) const BPF_LEN: u16 = 0x80;
pub(crate) const BPF_K: u16 = 0x00;
pub(crate) const BPF_X: u16 = 0x08;
pub(crate) const BPF_A: u16 = 0x10;
pub(crate) const BPF_JA: u16 = 0x00;
pub(crate) const BPF_JEQ: u16 = 0x10;
pub(crate) const BPF_JGT: u16 = 0x20;
pub(crate) const BPF_JGE: u16 = 0x30;
pub(crate) const BPF_JSET: u16 = 0x40;
pub(crate) const BPF_ADD: u16 = 0x00;
pub(crate) const BPF_SUB: u16 = 0x10;
pub(crate) const BPF_MUL: u16 = 0x20;
pub(crate) const BPF_DIV: u16 = 0x30;
pub(crate) const BPF_OR: u16 = 0x40;
pub(crate) const BPF_AND: u16 = 0x50;
pub(crate) const BPF_LSH: u16 = 0x60;
pub(crate) const BPF_RSH: u16 = 0x70;
pub(crate) const BPF_NEG: u16 = 0x80;
pub(crate) const BPF_MOD: u16 = 0x90;
pub(crate) const BPF_XOR: u16 = 0xa0;
pub(crate) const BPF_TAX: u16 = 0x00;
pub(crate) const BPF_TXA: u16 = 0x80;

/// Size of the kernel's `struct seccomp_data`.
pub const SECCOMP_DATA_LEN: u32 = 64;
const BPF_MEMWORDS: u32 = 16;

/// Kernel action values (`SECCOMP_RET_*`).
pub mod ret {
    /// Kill the whole process.
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// Kill the calling thread.
    pub const KILL_THREAD: u32 = 0x0000_0000;
    /// Send SIGSYS.
    pub const TRAP: u32 = 0x0003_0000;
    /// Return an errno.
    pub const ERRNO: u32 = 0x0005_0000;
    /// Ask the user-space supervisor.
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// Notify a ptrace tracer.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// Allow after logging.
    pub const LOG: u32 = 0x7ffc_0000;
    /// Allow.
    pub const ALLOW: u32 = 0x7fff_0000;
    /// Mask of the action part, including the KILL_PROCESS bit.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// Mask of the data part.
    pub const DATA: u32 = 0x0000_ffff;
}

/// What the kernel does with a syscall, decoded from a filter's return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `SECCOMP_RET_KILL_PROCESS`.
    KillProcess,
    /// `SECCOMP_RET_KILL_THREAD`.
    KillThread,
    /// `SECCOMP_RET_TRAP` with its data (si_errno of the SIGSYS).
    Trap(u16),
    /// `SECCOMP_RET_ERRNO`: the syscall fails with this errno (the kernel caps it at 4095).
    Errno(u16),
    /// `SECCOMP_RET_USER_NOTIF`.
    Notify,
    /// `SECCOMP_RET_TRACE` with its data.
    Trace(u16),
    /// `SECCOMP_RET_LOG`.
    Log,
    /// `SECCOMP_RET_ALLOW`.
    Allow,
}

impl Action {
    /// Decodes a filter return value as the kernel does (an unknown action kills the process).
    pub fn from_ret(value: u32) -> Self {
        let data = (value & ret::DATA) as u16;
        match value & ret::ACTION_FULL {
            ret::KILL_PROCESS => Self::KillProcess,
            ret::KILL_THREAD => Self::KillThread,
            ret::TRAP => Self::Trap(data),
            ret::ERRNO => Self::Errno(data.min(4095)),
            ret::USER_NOTIF => Self::Notify,
            ret::TRACE => Self::Trace(data),
            ret::LOG => Self::Log,
            ret::ALLOW => Self::Allow,
            _ => Self::KillProcess,
        }
    }

    /// The kernel return value for this action.
    pub fn to_ret(self) -> u32 {
        match self {
            Self::KillProcess => ret::KILL_PROCESS,
            Self::KillThread => ret::KILL_THREAD,
            Self::Trap(d) => ret::TRAP | u32::from(d),
            Self::Errno(e) => ret::ERRNO | u32::from(e),
            Self::Notify => ret::USER_NOTIF,
            Self::Trace(d) => ret::TRACE | u32::from(d),
            Self::Log => ret::LOG,
            Self::Allow => ret::ALLOW,
        }
    }

    /// Whether the syscall reaches the kernel's handler (ALLOW or LOG).
    pub fn lets_through(self) -> bool {
        matches!(self, Self::Allow | Self::Log)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KillProcess => f.write_str("SCMP_ACT_KILL_PROCESS"),
            Self::KillThread => f.write_str("SCMP_ACT_KILL_THREAD"),
            Self::Trap(_) => f.write_str("SCMP_ACT_TRAP"),
            Self::Errno(e) => write!(f, "SCMP_ACT_ERRNO({e})"),
            Self::Notify => f.write_str("SCMP_ACT_NOTIFY"),
            Self::Trace(d) => write!(f, "SCMP_ACT_TRACE({d})"),
            Self::Log => f.write_str("SCMP_ACT_LOG"),
            Self::Allow => f.write_str("SCMP_ACT_ALLOW"),
        }
    }
}

/// The input of a filter: the kernel's `struct seccomp_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SeccompData {
    /// Syscall number as the arch defines it (x32 numbers carry bit 30).
    pub nr: i32,
    /// `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// Instruction pointer at the syscall.
    pub instruction_pointer: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    /// Reads the 32-bit word at `offset` as the kernel lays out the struct on a
    /// little-endian machine; `None` when outside the struct or misaligned.
    fn word(&self, offset: u32) -> Option<u32> {
        if !offset.is_multiple_of(4) || offset >= SECCOMP_DATA_LEN {
            return None;
        }
        Some(match offset {
            0 => self.nr as u32,
            4 => self.arch,
            8 => self.instruction_pointer as u32,
            12 => (self.instruction_pointer >> 32) as u32,
            _ => {
                let i = ((offset - 16) / 8) as usize;
                let v = self.args[i];
                if (offset - 16).is_multiple_of(8) {
                    v as u32
                } else {
                    (v >> 32) as u32
                }
            }
        })
    }
}

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

/// Runs `program` on a syscall of `arch` (an `AUDIT_ARCH_*` value) with number `nr` and
/// arguments `args`.
pub fn simulate(
    program: &Program,
    arch: u32,
    nr: i32,
    args: [u64; 6],
) -> Result<Decision, SimulateError> {
    run(
        program.instructions(),
        &SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        },
    )
}

/// Runs raw instructions on `data`.
pub fn run(insns: &[Instruction], data: &SeccompData) -> Result<Decision, SimulateError> {
    let len = insns.len();
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; BPF_MEMWORDS as usize];
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
        let k = insn.k;
        let mut next = pc + 1;
        match code & 0x07 {
            BPF_LD => match code {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    a = data
                        .word(k)
                        .ok_or(SimulateError::BadLoad { pc, offset: k })?;
                }
                c if c == BPF_LD | BPF_W | BPF_LEN => a = SECCOMP_DATA_LEN,
                c if c == BPF_LD | BPF_IMM => a = k,
                c if c == BPF_LD | BPF_MEM => {
                    a = *mem
                        .get(k as usize)
                        .ok_or(SimulateError::BadScratch { pc, index: k })?
                }
                _ => return Err(SimulateError::BadOpcode { pc, code }),
            },
            BPF_LDX => match code {
                c if c == BPF_LDX | BPF_W | BPF_LEN => x = SECCOMP_DATA_LEN,
                c if c == BPF_LDX | BPF_IMM => x = k,
                c if c == BPF_LDX | BPF_MEM => {
                    x = *mem
                        .get(k as usize)
                        .ok_or(SimulateError::BadScratch { pc, index: k })?
                }
                _ => return Err(SimulateError::BadOpcode { pc, code }),
            },
            BPF_ST | BPF_STX => {
                if code & !0x07 != 0 {
                    return Err(SimulateError::BadOpcode { pc, code });
                }
                let v = if code & 0x07 == BPF_ST { a } else { x };
                *mem.get_mut(k as usize)
                    .ok_or(SimulateError::BadScratch { pc, index: k })? = v;
            }
            BPF_ALU => {
                let op = code & 0xf0;
                let src = if code & BPF_X != 0 { x } else { k };
                if code & !0xf8 != BPF_ALU {
                    return Err(SimulateError::BadOpcode { pc, code });
                }
                a = match op {
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
                };
            }
            BPF_JMP => {
                let op = code & 0xf0;
                if code & !0xf8 != BPF_JMP {
                    return Err(SimulateError::BadOpcode { pc, code });
                }
                if op == BPF_JA {
                    if code & BPF_X != 0 {
                        return Err(SimulateError::BadOpcode { pc, code });
                    }
                    next = pc + 1 + k as usize;
                } else {
                    let src = if code & BPF_X != 0 { x } else { k };
                    let taken = match op {
                        BPF_JEQ => a == src,
                        BPF_JGT => a > src,
                        BPF_JGE => a >= src,
                        BPF_JSET => a & src != 0,
                        _ => return Err(SimulateError::BadOpcode { pc, code }),
                    };
                    let off = if taken { insn.jt } else { insn.jf };
                    next = pc + 1 + off as usize;
                }
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
                    c if c == BPF_RET | BPF_K => k,
                    c if c == BPF_RET | BPF_A => a,
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
                c if c == BPF_MISC | BPF_TAX => x = a,
                c if c == BPF_MISC | BPF_TXA => a = x,
                _ => return Err(SimulateError::BadOpcode { pc, code }),
            },
        }
        pc = next;
    }
}

/// Whether the kernel's constant-action cache (Linux >= 5.11, `seccomp_is_const_allow`)
/// would mark syscall `nr` of `arch` as always allowed, so the filter is skipped for it.
///
/// This emulates the kernel's rule: the path may only load `nr` or `arch`, jump on
/// constants (`JA`, `JEQ`/`JGT`/`JGE`/`JSET` K), `AND` with a constant, and must end in
/// `RET ALLOW`. Anything else (an argument load, for one) makes it not constant.
pub fn is_constant_allow(insns: &[Instruction], arch: u32, nr: u32) -> bool {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    while let Some(insn) = insns.get(pc) {
        let k = insn.k;
        match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match k {
                0 => a = nr,
                4 => a = arch,
                _ => return false,
            },
            c if c == BPF_RET | BPF_K => return k == ret::ALLOW,
            c if c == BPF_JMP | BPF_JA => pc = pc.saturating_add(k as usize),
            c if c & 0x07 == BPF_JMP && c & BPF_X == 0 => {
                let taken = match c & 0xf0 {
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
    fn decodes_actions_like_the_kernel() {
        assert_eq!(Action::from_ret(0x0005_0026), Action::Errno(38));
        assert_eq!(Action::from_ret(0x0005_ffff), Action::Errno(4095));
        assert_eq!(Action::from_ret(0x1234_0000), Action::KillProcess);
        assert_eq!(Action::from_ret(0), Action::KillThread);
        for a in [
            Action::Allow,
            Action::Log,
            Action::Notify,
            Action::Trap(3),
            Action::Trace(9),
            Action::Errno(1),
            Action::KillProcess,
        ] {
            assert_eq!(Action::from_ret(a.to_ret()), a);
        }
    }
}
