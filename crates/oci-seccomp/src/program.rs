//! The compiled, loadable program and its checked byte format.

use crate::bpf::{ret, Decision, Instruction, SeccompData, BPF_MAXINSNS, BPF_RET_K};
use crate::error::ProgramFormatError;
use crate::error::SimulateError;
use crate::flags::FilterFlags;

/// A compiled seccomp filter, ready for `seccomp(2)`.
///
/// Produced by [`crate::compile`]; installed by the `oci-seccomp-load` crate. A runtime can
/// compile in its own process, move the program to the container's init as bytes
/// ([`Program::to_bytes`] / [`Program::from_bytes`]), and install it there without
/// touching libseccomp.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    instructions: Vec<Instruction>,
    flags: FilterFlags,
    optional_flags: FilterFlags,
}

/// Magic bytes at the start of [`Program::to_bytes`] output.
pub(crate) const PROGRAM_MAGIC: [u8; 8] = *b"OCISECCP";
/// Version of the [`Program::to_bytes`] format.
pub(crate) const PROGRAM_FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 8 + 2 + 2 + 4 + 4 + 4; // magic, version, reserved, flags, optional, count
const CHECKSUM_LEN: usize = 8;
/// Header bit written when the program [needs a listener](Program::needs_listener). Kept so
/// that the bytes stay readable by earlier versions; on reading it is checked for unknown
/// neighbours only, since the need is derived from the instructions.
const FLAG_NEEDS_LISTENER: u16 = 1;

impl Program {
    /// Magic bytes at the start of [`Program::to_bytes`] output (`OCISECCP`).
    pub const MAGIC: [u8; 8] = PROGRAM_MAGIC;
    /// Version of the [`Program::to_bytes`] format.
    pub const FORMAT_VERSION: u16 = PROGRAM_FORMAT_VERSION;

    /// Builds a program from its parts.
    ///
    /// `flags` must be honoured by the loader (an unsupported flag is an error);
    /// `optional_flags` are applied only when the kernel supports them. Whether the
    /// program needs a listener follows from its instructions
    /// ([`Program::needs_listener`]).
    pub fn new(
        instructions: Vec<Instruction>,
        flags: FilterFlags,
        optional_flags: FilterFlags,
    ) -> Self {
        Self {
            instructions,
            flags,
            optional_flags,
        }
    }

    /// The BPF instructions, in kernel layout.
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// Number of instructions.
    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    /// Whether the program has no instructions (never true for a compiled program).
    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }

    /// Flags the loader must pass to `seccomp(2)`; an unsupported one is an error.
    pub fn flags(&self) -> FilterFlags {
        self.flags
    }

    /// Flags the loader passes only when the kernel supports them (the implicit
    /// `SPEC_ALLOW` of a profile without `flags`).
    pub fn optional_flags(&self) -> FilterFlags {
        self.optional_flags
    }

    /// Whether some instruction returns `SECCOMP_RET_USER_NOTIF` (a `RET K` whose action
    /// is USER_NOTIF), so the loader must ask for a user-notification fd
    /// (`SECCOMP_FILTER_FLAG_NEW_LISTENER`); the kernel fails such a return with ENOSYS
    /// when no listener exists.
    ///
    /// Derived from the instructions, so it cannot disagree with them. It scans the
    /// program and allocates nothing, so a forked child may call it. Our programs never
    /// return the accumulator (`RET A`); a hand-made one that does is not counted.
    pub fn needs_listener(&self) -> bool {
        self.instructions
            .iter()
            .any(|i| i.code == BPF_RET_K && i.k & ret::ACTION_FULL == ret::USER_NOTIF)
    }

    /// Serialises the program: magic, format version, flags, instructions and a checksum.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.instructions.len() * 8 + CHECKSUM_LEN);
        out.extend_from_slice(&PROGRAM_MAGIC);
        out.extend_from_slice(&PROGRAM_FORMAT_VERSION.to_le_bytes());
        let bits = if self.needs_listener() {
            FLAG_NEEDS_LISTENER
        } else {
            0
        };
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(&self.flags.bits().to_le_bytes());
        out.extend_from_slice(&self.optional_flags.bits().to_le_bytes());
        // The count fits: programs are bounded by BPF_MAXINSNS, and from_bytes checks it.
        out.extend_from_slice(&(self.instructions.len() as u32).to_le_bytes());
        for insn in &self.instructions {
            out.extend_from_slice(&insn.code.to_le_bytes());
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&insn.k.to_le_bytes());
        }
        let sum = fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parses bytes made by [`Program::to_bytes`], checking magic, version, length,
    /// instruction count and checksum.
    ///
    /// The checksum detects damage (truncation, flipped bits), **not forgery**: anyone can
    /// write a program that allows everything and recompute it. Parse only bytes from a
    /// trusted source — a file only the caller can write, or an entry authenticated as
    /// [`crate::Cache`] does with a keyed MAC.
    ///
    /// # Errors
    /// [`ProgramFormatError`] naming what is wrong (length, magic, version, count, checksum).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProgramFormatError> {
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(ProgramFormatError::Truncated {
                len: bytes.len(),
                needed: HEADER_LEN + CHECKSUM_LEN,
            });
        }
        if bytes[..8] != PROGRAM_MAGIC {
            return Err(ProgramFormatError::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != PROGRAM_FORMAT_VERSION {
            return Err(ProgramFormatError::UnsupportedVersion {
                found: version,
                supported: PROGRAM_FORMAT_VERSION,
            });
        }
        let bits = u16::from_le_bytes([bytes[10], bytes[11]]);
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let flags = word(12);
        let optional = word(16);
        let count = word(20) as usize;
        if count == 0 || count > BPF_MAXINSNS {
            return Err(ProgramFormatError::BadLength { count });
        }
        let needed = HEADER_LEN + count * 8 + CHECKSUM_LEN;
        if bytes.len() != needed {
            return Err(ProgramFormatError::Truncated {
                len: bytes.len(),
                needed,
            });
        }
        let body_end = needed - CHECKSUM_LEN;
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&bytes[body_end..]);
        let stored = u64::from_le_bytes(sum);
        let computed = fnv1a64(&bytes[..body_end]);
        if stored != computed {
            return Err(ProgramFormatError::ChecksumMismatch { stored, computed });
        }
        if bits & !FLAG_NEEDS_LISTENER != 0 {
            return Err(ProgramFormatError::UnknownBits { bits });
        }
        let instructions = bytes[HEADER_LEN..body_end]
            .chunks_exact(8)
            .map(|c| Instruction {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Self {
            instructions,
            flags: FilterFlags::from_bits_retain(flags),
            optional_flags: FilterFlags::from_bits_retain(optional),
        })
    }
}

/// 64-bit FNV-1a. Every step is a bijection of the state, so any single changed byte
/// changes the result; this is a corruption check, not a defence against forgery.
pub(crate) fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Runs `program` on a syscall of `arch` (an `AUDIT_ARCH_*` value) with number `nr` and
/// arguments `args`, as the kernel would ([`crate::bpf::run`]).
///
/// # Errors
///
/// As [`crate::bpf::run`].
pub fn simulate(
    program: &Program,
    arch: u32,
    nr: i32,
    args: [u64; 6],
) -> Result<Decision, SimulateError> {
    crate::bpf::run(
        program.instructions(),
        &SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Program {
        Program::new(
            vec![
                Instruction::stmt(0x20, 4),
                Instruction::jump(0x15, 0xc000_003e, 1, 0),
                Instruction::stmt(0x06, 0),
                Instruction::stmt(0x06, 0x7fc0_0000),
            ],
            FilterFlags::LOG,
            FilterFlags::SPEC_ALLOW,
        )
    }

    #[test]
    fn listener_follows_the_instructions() {
        assert!(sample().needs_listener());
        let allow = Program::new(
            vec![Instruction::stmt(0x06, 0x7fff_0000)],
            FilterFlags::EMPTY,
            FilterFlags::EMPTY,
        );
        assert!(!allow.needs_listener());
        // The header bit of the byte format still says it, for earlier readers.
        assert_eq!(sample().to_bytes()[10], 1);
        assert_eq!(allow.to_bytes()[10], 0);
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let b = p.to_bytes();
        assert_eq!(Program::from_bytes(&b).unwrap(), p);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = sample().to_bytes();
        for n in 0..b.len() {
            assert!(
                Program::from_bytes(&b[..n]).is_err(),
                "prefix of {n} bytes accepted"
            );
        }
    }

    #[test]
    fn every_bit_flip_is_an_error() {
        let b = sample().to_bytes();
        for i in 0..b.len() * 8 {
            let mut c = b.clone();
            c[i / 8] ^= 1 << (i % 8);
            assert!(Program::from_bytes(&c).is_err(), "flip of bit {i} accepted");
        }
    }

    #[test]
    fn flag_names() {
        let f = FilterFlags::LOG | FilterFlags::WAIT_KILLABLE_RECV;
        assert_eq!(
            f.names(),
            [
                "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
            ]
        );
    }
}
