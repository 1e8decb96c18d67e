#![allow(missing_docs)] // criterion_group! generates undocumented items
//! A proven compile against an unproven one: Docker's default profile for x86_64 (its
//! `SCMP_ACT_ALLOW` entries, `support/seccompiler_rules.rs`), measured in one run:
//!
//! - `ours`: `oci_seccomp::compile` — validation, our generator and the complete proof;
//! - `ours_validate`, `ours_generate`, `ours_prove`: its three parts, each alone (the
//!   last two each include the rules' per-architecture order that they share, so their
//!   sum counts it twice);
//! - `seccompiler`: seccompiler 0.5's `BpfProgram::try_from(SeccompFilter)` of the same
//!   rules (the filter is built outside the timed part: seccompiler's compile consumes it).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use oci_seccomp::{compile, native, proof, CompileOptions, Profile, Program, Stub};
use oci_seccomp_tests::docker_profile;
use seccompiler::BpfProgram;

#[path = "support/seccompiler_rules.rs"]
mod seccompiler_rules;

fn bench(c: &mut Criterion) {
    let t = seccompiler_rules::translate(&docker_profile());
    eprintln!(
        "left out of both sides (an action other than SCMP_ACT_ALLOW): {}",
        t.left_out.join(", ")
    );
    let opts = CompileOptions::default();
    let mut g = c.benchmark_group("compile_docker_x86_64_allow_entries");
    g.sample_size(50);
    g.bench_function("ours", |b| {
        b.iter(|| compile(&t.oci, &opts).expect("compile"))
    });
    // Our compile's three parts, each alone on the same input.
    let profile = Profile::from_oci(&t.oci, false).expect("validates");
    let program = Program::new(
        native::generate(&profile, Stub::Enosys).expect("generates"),
        profile.flags(),
        profile.optional_flags(),
    );
    g.bench_function("ours_validate", |b| {
        b.iter(|| Profile::from_oci(&t.oci, false).expect("validates"))
    });
    // A fresh profile for each: the per-architecture order of its rules, which the
    // generator and the proof share, is worked out by whichever comes first, so each of
    // the two is timed with it.
    let fresh = || Profile::from_oci(&t.oci, false).expect("validates");
    g.bench_function("ours_generate", |b| {
        b.iter_batched(
            fresh,
            // The profile is handed back, so that its drop is not timed.
            |p| {
                let insns = native::generate(&p, Stub::Enosys).expect("generates");
                (p, insns)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("ours_prove", |b| {
        b.iter_batched(
            fresh,
            |p| {
                proof::prove(&p, &program, Stub::Enosys).expect("proven");
                p
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("seccompiler", |b| {
        b.iter_batched(
            || t.filter(),
            |f| BpfProgram::try_from(f).expect("seccompiler compiles"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
