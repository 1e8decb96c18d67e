//! The compile benchmark (`benches/compile_vs_seccompiler.rs`) measured in interleaved
//! rounds, for a VM whose speed drifts between criterion's consecutive groups: each round
//! times 2,000 compiles of each side in turn, and the best round of each side is printed.
//! Run with `cargo run --release -p oci-seccomp-tests --example compile_interleaved
//! [ROUNDS]` (30 rounds unless given).
//!
//! The sides are the bench's: `ours` is `oci_seccomp::compile` of Docker's `SCMP_ACT_ALLOW`
//! entries for x86_64 (validation, generation, the complete proof), `ours_validate` its
//! validation alone, `seccompiler` seccompiler 0.5's `BpfProgram::try_from` of the same
//! rules (its filters built before the timed part, as the bench does). One more side,
//! validation and generation without the proof, splits ours: generation is it less
//! validation, the proof (with its model of the profile) ours less it.
use std::hint::black_box;
use std::time::Instant;

use oci_seccomp::{compile, native, CompileOptions, Profile, Stub};
use seccompiler::BpfProgram;

#[path = "../benches/support/seccompiler_rules.rs"]
mod seccompiler_rules;

/// Compiles per side and round.
const PER_ROUND: usize = 2_000;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let t = seccompiler_rules::translate(&oci_seccomp_tests::docker_profile());
    eprintln!(
        "left out of both sides (an action other than SCMP_ACT_ALLOW): {}",
        t.left_out.join(", ")
    );
    let opts = CompileOptions::default();
    let mut best = [f64::MAX; 4];
    for _ in 0..rounds {
        let s = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(compile(&t.oci, &opts).expect("compile"));
        }
        best[0] = best[0].min(s.elapsed().as_secs_f64());
        let s = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(Profile::from_oci(&t.oci, false).expect("validates"));
        }
        best[1] = best[1].min(s.elapsed().as_secs_f64());
        let s = Instant::now();
        for _ in 0..PER_ROUND {
            let p = Profile::from_oci(&t.oci, false).expect("validates");
            black_box(native::generate(&p, Stub::Enosys).expect("generates"));
        }
        best[3] = best[3].min(s.elapsed().as_secs_f64());
        let filters: Vec<_> = (0..PER_ROUND).map(|_| t.filter()).collect();
        let s = Instant::now();
        for f in filters {
            black_box(BpfProgram::try_from(f).expect("seccompiler compiles"));
        }
        best[2] = best[2].min(s.elapsed().as_secs_f64());
    }
    let us = |secs: f64| secs * 1e6 / PER_ROUND as f64;
    println!(
        "best of {rounds} rounds: ours {:.2} µs, ours_validate {:.2} µs, seccompiler {:.2} µs; \
         ours / seccompiler = {:.2}; split of ours: validation {:.2}, generation {:.2}, \
         proof {:.2} µs",
        us(best[0]),
        us(best[1]),
        us(best[2]),
        best[0] / best[2],
        us(best[1]),
        us(best[3] - best[1]),
        us(best[0] - best[3]),
    );
}
