//! The ENOSYS stub (docs/design.md §2.2).
//!
//! A profile written for an older kernel denies newer syscalls with its default errno,
//! usually EPERM; glibc and Rust's std fall back to older syscalls only on ENOSYS. The stub
//! decides, for each architecture, that a syscall number above the highest one the profile
//! names returns ENOSYS; everything else gets the default action. Unlike runc's, which
//! runs in front of libseccomp's program and costs every syscall its instructions, ours is
//! placed on the default path only (see `compile`): libseccomp's `RET default`
//! instructions jump to it, so an allowed syscall runs no stub instruction at all.
//!
//! Unlike runc's, the stub is generated in a fixed order (architectures sorted by audit
//! value), so the same profile always gives the same bytes; and it uses only loads of
//! `nr`/`arch`, `JEQ`/`JGT`/`JSET` with constants, `JA` and `RET` constants, which the
//! kernel's constant-action cache (Linux >= 5.11) understands.

use std::collections::BTreeMap;

use crate::arch::{ArchInfo, X32_SYSCALL_BIT};
use crate::bpf::Instruction;
use crate::bpf::{
    ret, BPF_ABS, BPF_JA, BPF_JEQ, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W,
};

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

/// A piece of stub code whose `JA` placeholders must jump to the end of the stub.
struct Block {
    insns: Vec<Instruction>,
    /// Indices (within `insns`) of `JA` instructions that leave the stub.
    exits: Vec<usize>,
}

/// Code for one ABI: `nr > max` (and, on s390, `nr == 0`) returns ENOSYS; anything else
/// exits the stub. Expects the syscall number in A.
fn abi_check(max: u32, s390: bool, enosys: u16) -> Block {
    let mut insns = Vec::new();
    if s390 {
        // Syscall 0 on s390 takes its number from a register; a filter sees 0.
        insns.push(Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
    }
    insns.push(Instruction::jump(BPF_JMP | BPF_JGT | BPF_K, max, 0, 1));
    insns.push(Instruction::stmt(
        BPF_RET | BPF_K,
        ret::ERRNO | u32::from(enosys),
    ));
    insns.push(Instruction::stmt(BPF_JMP | BPF_JA, 0));
    let exit = insns.len() - 1;
    Block {
        insns,
        exits: vec![exit],
    }
}

fn exit_only() -> Block {
    Block {
        insns: vec![Instruction::stmt(BPF_JMP | BPF_JA, 0)],
        exits: vec![0],
    }
}

fn append(dst: &mut Block, src: Block) {
    let base = dst.insns.len();
    dst.exits.extend(src.exits.iter().map(|e| e + base));
    dst.insns.extend(src.insns);
}

/// Builds the stub for the highest syscall number per architecture (keyed by OCI name).
/// Architectures without any known syscall get no check. Returns an empty vector when
/// there is nothing to check.
pub(crate) fn build(
    highest: &BTreeMap<&'static str, (&'static ArchInfo, u32)>,
) -> Vec<Instruction> {
    // Group by audit arch: x86_64 and x32 share AUDIT_ARCH_X86_64.
    let mut groups: BTreeMap<u32, (Option<u32>, Option<u32>, bool, u16)> = BTreeMap::new();
    for (info, max) in highest.values() {
        let g = groups
            .entry(info.audit_arch)
            .or_insert((None, None, false, info.enosys()));
        if info.x32 {
            g.1 = Some(*max);
        } else {
            g.0 = Some(*max);
        }
        g.2 = info.name.starts_with("SCMP_ARCH_S390");
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let mut out = Block {
        insns: vec![Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, OFF_ARCH)],
        exits: Vec::new(),
    };
    for (audit, (plain, x32, s390, enosys)) in groups {
        let mut body = Block {
            insns: vec![Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, OFF_NR)],
            exits: Vec::new(),
        };
        if let Some(x32max) = x32 {
            // Bit 30 set: an x32 call; clear: an x86_64 call.
            let x32_part = abi_check(x32max, false, enosys);
            let plain_part = plain.map_or_else(exit_only, |m| abi_check(m, false, enosys));
            // jset -> fall into the x32 part; else skip over it.
            let skip = x32_part.insns.len();
            body.insns.push(Instruction::jump(
                BPF_JMP | BPF_JSET | BPF_K,
                X32_SYSCALL_BIT,
                0,
                skip as u8,
            ));
            append(&mut body, x32_part);
            append(&mut body, plain_part);
        } else if let Some(max) = plain {
            if audit == crate::arch::AUDIT_ARCH_X86_64 {
                // x32 is not in the profile: leave bit-30 calls to libseccomp's filter,
                // which kills them as a foreign ABI.
                body.insns.push(Instruction::jump(
                    BPF_JMP | BPF_JSET | BPF_K,
                    X32_SYSCALL_BIT,
                    0,
                    1,
                ));
                append(&mut body, exit_only());
            }
            append(&mut body, abi_check(max, s390, enosys));
        }
        // jeq audit -> fall into body; else skip it.
        let len = body.insns.len();
        out.insns.push(Instruction::jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            audit,
            0,
            len as u8,
        ));
        append(&mut out, body);
    }
    // Patch every exit to jump to the first instruction after the stub.
    let end = out.insns.len();
    for e in &out.exits {
        out.insns[*e].k = (end - e - 1) as u32;
    }
    out.insns
}
