//! The input of a seccomp filter: the kernel's `struct seccomp_data`.

use super::SECCOMP_DATA_LEN;

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
    /// Whether the kernel that fills this struct is big-endian: the byte order of the
    /// architecture named by `arch` (s390x, ppc64, mips...). A filter's loads read the
    /// 64-bit fields in that order, so on a big-endian host the word at offset 16 is the
    /// high half of `args[0]`.
    pub fn big_endian(&self) -> bool {
        crate::arch::ALL
            .iter()
            .find(|a| a.audit_arch == self.arch)
            .is_some_and(|a| a.big_endian)
    }

    /// Reads the 32-bit word at `offset` as the kernel of `arch`'s byte order lays out
    /// the struct; `None` when outside the struct or misaligned.
    pub(crate) fn word(&self, offset: u32) -> Option<u32> {
        self.word_in(offset, self.big_endian())
    }

    /// [`SeccompData::word`] with the byte order given (`big_endian`), for callers that
    /// read many words of one call.
    pub(crate) fn word_in(&self, offset: u32, big_endian: bool) -> Option<u32> {
        if offset % 4 != 0 || offset >= SECCOMP_DATA_LEN {
            return None;
        }
        let half = |v: u64, first: bool| {
            // The first word of a u64 in memory is its low half on a little-endian
            // machine, its high half on a big-endian one.
            if first != big_endian {
                v as u32
            } else {
                (v >> 32) as u32
            }
        };
        Some(match offset {
            0 => self.nr as u32,
            4 => self.arch,
            8 => half(self.instruction_pointer, true),
            12 => half(self.instruction_pointer, false),
            _ => {
                let i = ((offset - 16) / 8) as usize;
                half(self.args[i], (offset - 16) % 8 == 0)
            }
        })
    }
}
