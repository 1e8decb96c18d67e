//! Our own BPF code generator: a validated [`Profile`] to the instructions of a seccomp
//! filter, without libseccomp (docs/design.md §2.5).
//!
//! # Shape
//!
//! ```text
//! ld arch; jeq AUDIT_ARCH_a -> block a; jeq AUDIT_ARCH_b -> block b; ...; ret KILL_THREAD
//! block:  ld nr; [x86_64: jset bit 30 -> x32 search]; binary search over number ranges
//! leaf:   ret ACTION, or the argument diagram of one syscall
//! ```
//!
//! - **Number search.** Per ABI, the 2^32 syscall numbers are cut into ranges with one
//!   outcome each: a syscall's unconditional action, its argument diagram, the ENOSYS stub
//!   (numbers above the highest the profile names, and 0 on s390), the default action, and
//!   on x86_64 without x32 `KILL_THREAD` for bit-30 numbers (`-1` gets the default, as
//!   libseccomp does). Contiguous numbers with one outcome are one range, and the ranges
//!   are found by a balanced binary search of `jge` (a few isolated numbers in a common
//!   background by `jeq`, when that is shorter). An argument-free path uses only
//!   `ld nr`/`ld arch`, `jeq`/`jge`/`jset` with constants, `ja` and `ret` constants: all
//!   the kernel's constant-action cache emulates (`seccomp_cache_prepare_bitmap`, Linux
//!   5.11), so an allowed argument-free call is decided by the cache.
//! - **Argument diagrams.** A syscall's conditional rules become a decision diagram over
//!   32-bit argument words: it splits on one word at a time (an argument's high word before
//!   its low word; 32-bit ABIs compare the low word only, as libseccomp), cuts the word's
//!   values at every constant of the pending comparisons, merges neighbouring pieces that
//!   leave the same rules pending, and searches the pieces like the numbers. A 64-bit
//!   comparison is decided by the high word alone unless the high word equals the
//!   constant's. `SCMP_CMP_MASKED_EQ` is one `jset`, or an `and` and a `jeq`. Identical
//!   sub-diagrams are built once and shared.
//! - **Overlapping entries.** When entries of different actions match one call, the
//!   strictest action wins (the kernel's precedence between filters); OCI leaves the
//!   choice open, and the complete check accepts any matching entry's action. libseccomp's
//!   choice depends on its tree order instead (docs/conformance.md).
//! - **Multiplexers** (`socketcall`, `ipc` on x86, s390, PowerPC): each socket or IPC call
//!   named in the profile is one more rule on the multiplexer, comparing the low word of
//!   its first argument with the call number (through the call mask), with the outcome
//!   the complete check decides: the rule's action, or for a call with only conditional rules the
//!   strictest of those rules and the default.
//! - **Layout.** The diagram is laid out backwards, so every jump target is placed before
//!   the jump and its distance is known: a conditional jump's 8-bit offsets reach a
//!   nearby copy of a `ret` (each `ret` constant is placed again when the last copy is too
//!   far, which adds no executed instruction) or a `ja` (32-bit offset) in front of a
//!   far sub-diagram.
//!
//! Every program is checked by the complete check ([`crate::proof`]) before
//! [`crate::compile_profile`] returns it.

mod diagram;
mod layout;
mod search;

use diagram::{Gen, Graph, Id, Node, MAX_WORK};
use layout::Layout;
use search::{abi_search, push_piece};

use crate::arch::{ArchInfo, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::bpf::{ret, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K};
use crate::bpf::{Instruction, BPF_MAXINSNS};
use crate::error::CompileError;
use crate::profile::semantics::Stub;
use crate::profile::Profile;

const FULL: u32 = u32::MAX;
/// Word index of `seccomp_data.nr`.
const NR: u8 = 0;
/// Word index of `seccomp_data.arch`.
const ARCH: u8 = 1;

/// Generates the program for a validated profile, `stub` saying whether the ENOSYS stub
/// is part of it (as [`crate::CompileOptions::stub`]).
///
/// # Errors
///
/// [`CompileError::ProgramTooLong`] when the program has more than [`BPF_MAXINSNS`]
/// instructions, [`CompileError::ComparisonsTooComplex`] when its argument diagram grows
/// past any program the kernel accepts (it is not built to the end).
pub fn generate(profile: &Profile, stub: Stub) -> Result<Vec<Instruction>, CompileError> {
    // Room for the nodes of a usual profile (most syscalls share a `ret`), so that the
    // graph is not grown and rehashed step by step; it grows beyond as needed.
    let nodes = profile.rules().len() / 2 + 64;
    let mut gen = Gen {
        g: Graph::with_capacity(nodes),
        memo: rustc_hash::FxHashMap::default(),
        big_endian: false,
        work: 0,
        overflow: false,
    };
    let kill = gen.g.ret(ret::KILL_THREAD);
    // Architectures in profile order, x86_64 and x32 sharing one audit value.
    let mut blocks: Vec<(u32, Option<&ArchInfo>, Option<&ArchInfo>)> = Vec::new();
    for a in profile.architectures() {
        let i = match blocks.iter().position(|b| b.0 == a.audit_arch) {
            Some(i) => i,
            None => {
                blocks.push((a.audit_arch, None, None));
                blocks.len() - 1
            }
        };
        if a.x32 {
            blocks[i].2 = Some(a);
        } else {
            blocks[i].1 = Some(a);
        }
    }
    let mut entries = Vec::new();
    for (audit, plain, x32) in blocks {
        let block = abi_block(&mut gen, profile, stub, (audit, plain, x32), kill);
        entries.push((audit, block));
    }
    let mut node = kill;
    for (audit, block) in entries.into_iter().rev() {
        node = gen.g.jump(BPF_JMP | BPF_JEQ | BPF_K, audit, block, node);
    }
    let root = if matches!(gen.g.nodes[node], Node::Ret(_)) {
        node
    } else {
        gen.g.add(Node::Load(ARCH, node))
    };
    if gen.overflow {
        return Err(CompileError::ComparisonsTooComplex {
            detail: if gen.work > MAX_WORK {
                format!("more than {MAX_WORK} rule-piece steps")
            } else {
                format!("more than {} diagram nodes", 2 * BPF_MAXINSNS)
            },
            max: BPF_MAXINSNS,
        });
    }
    let insns = Layout::new(&gen.g).emit(root);
    if insns.len() > BPF_MAXINSNS {
        return Err(CompileError::ProgramTooLong {
            len: insns.len(),
            max: BPF_MAXINSNS,
        });
    }
    Ok(insns)
}

/// The search of one `arch` value's block: its ABI (or, on x86_64, its two ABIs told
/// apart by bit 30 of the number), `kill` for a foreign ABI.
fn abi_block(
    gen: &mut Gen,
    profile: &Profile,
    stub: Stub,
    (audit, plain, x32): (u32, Option<&ArchInfo>, Option<&ArchInfo>),
    kill: Id,
) -> Id {
    if let (Some(x), Some(p)) = (x32, plain) {
        // One search over both ABIs when bit 30 only matters below 2^31: x86_64
        // numbers lie below 2^30, x32 numbers from 2^30 to 2^31, and above 2^31 each
        // ABI gives its no-match outcome (usually the same) to all numbers.
        let high_plain = abi_search(gen, profile, p, stub, 0x8000_0000, 0xbfff_ffff);
        let high_x32 = abi_search(gen, profile, x, stub, 0xc000_0000, FULL);
        let merged = match (high_plain.as_slice(), high_x32.as_slice()) {
            ([(_, a)], [(_, b)]) if a == b => Some(*a),
            _ => None,
        };
        if let Some(high) = merged {
            let mut pieces = abi_search(gen, profile, p, stub, 0, X32_SYSCALL_BIT - 1);
            for (start, t) in abi_search(gen, profile, x, stub, X32_SYSCALL_BIT, 0x7fff_ffff) {
                push_piece(&mut pieces, start, t);
            }
            push_piece(&mut pieces, 0x8000_0000, high);
            let s = gen.search(&pieces);
            if matches!(gen.g.nodes[s], Node::Ret(_)) {
                s
            } else {
                gen.g.add(Node::Load(NR, s))
            }
        } else {
            let mut xs = abi_search(gen, profile, x, stub, X32_SYSCALL_BIT, FULL);
            xs[0].0 = 0;
            let xt = gen.search(&xs);
            let ps = abi_search(gen, profile, p, stub, 0, FULL);
            let pt = gen.search(&ps);
            let j = gen
                .g
                .jump(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, xt, pt);
            gen.g.add(Node::Load(NR, j))
        }
    } else if let Some(x) = x32 {
        // x32 without x86_64: bit 30 clear is a foreign ABI.
        let mut xs = abi_search(gen, profile, x, stub, X32_SYSCALL_BIT, FULL);
        xs[0].0 = 0;
        let xt = gen.search(&xs);
        let j = gen
            .g
            .jump(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, xt, kill);
        gen.g.add(Node::Load(NR, j))
    } else if let Some(p) = plain {
        let mut ps = if audit == AUDIT_ARCH_X86_64 {
            abi_search(gen, profile, p, stub, 0, X32_SYSCALL_BIT - 1)
        } else {
            abi_search(gen, profile, p, stub, 0, FULL)
        };
        if audit == AUDIT_ARCH_X86_64 {
            // x32 is not in the profile: its numbers are a foreign ABI, except -1
            // (a tracer skipping the call), which libseccomp lets reach the default.
            push_piece(&mut ps, X32_SYSCALL_BIT, kill);
            let dflt = gen.g.ret(profile.default_action().to_ret());
            push_piece(&mut ps, FULL, dflt);
        }
        let s = gen.search(&ps);
        if matches!(gen.g.nodes[s], Node::Ret(_)) {
            s
        } else {
            gen.g.add(Node::Load(NR, s))
        }
    } else {
        kill
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::arch;
    use crate::bpf::{BPF_JA, BPF_JGE, BPF_RET};
    use crate::program::Program;

    fn profile(json: &str) -> Profile {
        Profile::from_oci(&crate::parse_profile(json).unwrap(), false).unwrap()
    }

    /// A program far longer than a conditional jump reaches (255 instructions): the
    /// layout must use `ja` trampolines and nearby copies of `ret`, and the result must
    /// still decide every rule's value (and its neighbours) as the profile says.
    #[test]
    fn far_targets_are_reached_through_trampolines() {
        let native = arch::native();
        let names: Vec<String> = (0..1000)
            .filter_map(|nr| arch::syscall_name(nr, native))
            .take(300)
            .collect();
        let entries: Vec<String> = (0..1024)
            .map(|i| {
                format!(
                    r#"{{"names":["{}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#,
                    names[i % names.len()]
                )
            })
            .collect();
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5,"syscalls":[{}]}}"#,
            entries.join(",")
        );
        let p = profile(&json);
        let insns = generate(&p, Stub::Enosys).unwrap();
        assert!(insns.len() > 1000, "{}", insns.len());
        assert!(insns.iter().any(|i| i.code == BPF_JMP | BPF_JA));
        let rets = insns.iter().filter(|i| i.code == BPF_RET | BPF_K).count();
        assert!(rets > 3, "copies of ret: {rets}");
        let program = Program::new(insns, p.flags(), p.optional_flags());
        crate::proof::prove(&p, &program, Stub::Enosys).unwrap();
        for i in [0u64, 1, 299, 300, 511, 1023] {
            let nr = arch::resolve(&names[i as usize % names.len()], native).unwrap();
            for v in [i, i + 300 * 7 + 1] {
                let got = crate::simulate(&program, native.audit_arch, nr, [v, 0, 0, 0, 0, 0])
                    .unwrap()
                    .action;
                let want = p.decide(native.audit_arch, nr as u32, [v, 0, 0, 0, 0, 0]);
                assert!(want.accepts(got), "nr {nr} arg {v}: {got} vs {want:?}");
            }
            let allowed = crate::simulate(&program, native.audit_arch, nr, [i, 0, 0, 0, 0, 0])
                .unwrap()
                .action;
            assert_eq!(allowed, Action::Allow, "nr {nr} arg {i}");
        }
    }

    /// A few isolated values in a common background are tested with a `jeq` chain; many
    /// with a search of `jge`.
    #[test]
    fn isolated_values_use_jeq_and_ranges_use_jge() {
        let g = &mut Graph::default();
        let (a, b) = (g.ret(1), g.ret(2));
        let mut gen = Gen {
            g: std::mem::take(g),
            memo: rustc_hash::FxHashMap::default(),
            big_endian: false,
            work: 0,
            overflow: false,
        };
        // b, then a at 5 only, then b.
        let root = gen.search_by(&[(0, b), (5, a), (6, b)], false);
        assert!(matches!(
            gen.g.nodes[root],
            Node::Jump { op, k: 5, .. } if op == BPF_JMP | BPF_JEQ | BPF_K
        ));
        // Alternating ranges: a binary search.
        let pieces: Vec<(u32, Id)> = (0..8)
            .map(|i| (i * 10, if i % 2 == 0 { a } else { b }))
            .collect();
        let root = gen.search_by(&pieces, false);
        assert!(matches!(
            gen.g.nodes[root],
            Node::Jump { op, k: 40, .. } if op == BPF_JMP | BPF_JGE | BPF_K
        ));
    }
}
