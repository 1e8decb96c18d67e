//! Classic BPF as seccomp uses it: the instruction (`struct sock_filter`), opcodes, the
//! input (`struct seccomp_data`), the kernel's return values, and an interpreter that runs
//! a program on one input exactly as the kernel does. This layer never names a profile.
//!
//! Every constant comes from the `libc` crate (`linux/filter.h`, `linux/bpf_common.h`,
//! `linux/seccomp.h`); this module only narrows them to the widths of
//! [`Instruction`] (`code` is 16 bits) and groups them, so that the
//! modules that build programs (the backends) and those that read them (the interpreter,
//! the proof) share one definition.

mod data;
mod interp;

pub use data::SeccompData;
pub use interp::{is_allow_given, is_constant_allow, run, Decision};

use std::fmt;

/// Kernel limit on the length of a classic BPF program (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;

/// One classic BPF instruction, laid out exactly as the kernel's `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct Instruction {
    /// Opcode: class, size/operation and source bits.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when the condition does not hold.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

impl Instruction {
    /// A non-jump instruction (`BPF_STMT`).
    pub const fn stmt(code: u16, k: u32) -> Self {
        Self {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A conditional jump (`BPF_JUMP`).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        Self { code, jt, jf, k }
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{ 0x{:04x}, {:3}, {:3}, 0x{:08x} }}",
            self.code, self.jt, self.jf, self.k
        )
    }
}

// libc declares the opcodes as `__u32`; every one fits the 16-bit `code` field.
pub(crate) const BPF_LD: u16 = libc::BPF_LD as u16;
pub(crate) const BPF_LDX: u16 = libc::BPF_LDX as u16;
pub(crate) const BPF_ST: u16 = libc::BPF_ST as u16;
pub(crate) const BPF_STX: u16 = libc::BPF_STX as u16;
pub(crate) const BPF_ALU: u16 = libc::BPF_ALU as u16;
pub(crate) const BPF_JMP: u16 = libc::BPF_JMP as u16;
pub(crate) const BPF_RET: u16 = libc::BPF_RET as u16;
pub(crate) const BPF_MISC: u16 = libc::BPF_MISC as u16;
pub(crate) const BPF_W: u16 = libc::BPF_W as u16;
pub(crate) const BPF_IMM: u16 = libc::BPF_IMM as u16;
pub(crate) const BPF_ABS: u16 = libc::BPF_ABS as u16;
pub(crate) const BPF_MEM: u16 = libc::BPF_MEM as u16;
pub(crate) const BPF_LEN: u16 = libc::BPF_LEN as u16;
pub(crate) const BPF_K: u16 = libc::BPF_K as u16;
pub(crate) const BPF_X: u16 = libc::BPF_X as u16;
pub(crate) const BPF_A: u16 = libc::BPF_A as u16;
pub(crate) const BPF_JA: u16 = libc::BPF_JA as u16;
pub(crate) const BPF_JEQ: u16 = libc::BPF_JEQ as u16;
pub(crate) const BPF_JGT: u16 = libc::BPF_JGT as u16;
pub(crate) const BPF_JGE: u16 = libc::BPF_JGE as u16;
pub(crate) const BPF_JSET: u16 = libc::BPF_JSET as u16;
pub(crate) const BPF_ADD: u16 = libc::BPF_ADD as u16;
pub(crate) const BPF_SUB: u16 = libc::BPF_SUB as u16;
pub(crate) const BPF_MUL: u16 = libc::BPF_MUL as u16;
pub(crate) const BPF_DIV: u16 = libc::BPF_DIV as u16;
pub(crate) const BPF_OR: u16 = libc::BPF_OR as u16;
pub(crate) const BPF_AND: u16 = libc::BPF_AND as u16;
pub(crate) const BPF_LSH: u16 = libc::BPF_LSH as u16;
pub(crate) const BPF_RSH: u16 = libc::BPF_RSH as u16;
pub(crate) const BPF_NEG: u16 = libc::BPF_NEG as u16;
pub(crate) const BPF_MOD: u16 = libc::BPF_MOD as u16;
pub(crate) const BPF_XOR: u16 = libc::BPF_XOR as u16;
pub(crate) const BPF_TAX: u16 = libc::BPF_TAX as u16;
pub(crate) const BPF_TXA: u16 = libc::BPF_TXA as u16;

/// Mask of the instruction class in an opcode (`BPF_CLASS`).
pub(crate) const BPF_CLASS_MASK: u16 = 0x07;
/// Mask of the operation in an ALU or JMP opcode (`BPF_OP`).
pub(crate) const BPF_OP_MASK: u16 = 0xf0;

/// Opcode of `RET K` (return a constant).
pub const BPF_RET_K: u16 = BPF_RET | BPF_K;

/// Size of the kernel's `struct seccomp_data`.
pub const SECCOMP_DATA_LEN: u32 = std::mem::size_of::<libc::seccomp_data>() as u32;
/// Scratch memory words of a classic BPF program (`BPF_MEMWORDS`).
pub(crate) const BPF_MEMWORDS: usize = libc::BPF_MEMWORDS as usize;

/// Kernel action values (`SECCOMP_RET_*`), defined with [`crate::Action`].
pub use crate::action::ret;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_the_kernels() {
        assert_eq!(SECCOMP_DATA_LEN, 64);
        assert_eq!(BPF_MEMWORDS, 16);
        assert_eq!(BPF_RET_K, 0x06);
        assert_eq!(BPF_LD | BPF_W | BPF_ABS, 0x20);
        assert_eq!(BPF_JMP | BPF_JEQ | BPF_K, 0x15);
        assert_eq!(ret::ALLOW, 0x7fff_0000);
    }
}
