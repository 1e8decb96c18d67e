//! `simulate` on arbitrary (hostile) instruction sequences: a decision or an error, never
//! a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_seccomp::bpf::{run, SeccompData};
use oci_seccomp::Instruction;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (head, body) = data.split_at(16);
    let insns: Vec<Instruction> = body
        .chunks_exact(8)
        .take(4096)
        .map(|c| Instruction {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let sd = SeccompData {
        nr: i32::from_le_bytes([head[0], head[1], head[2], head[3]]),
        arch: u32::from_le_bytes([head[4], head[5], head[6], head[7]]),
        instruction_pointer: 0,
        args: [u64::from_le_bytes(head[8..16].try_into().unwrap()); 6],
    };
    if let Ok(d) = run(&insns, &sd) {
        assert!(d.executed <= insns.len());
        assert!(d.ret_index < insns.len());
    }
});
