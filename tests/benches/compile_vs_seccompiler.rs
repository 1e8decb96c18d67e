#![allow(missing_docs)] // criterion_group! generates undocumented items
//! A proven compile against an unproven one: Docker's default profile for x86_64 (its
//! `SCMP_ACT_ALLOW` entries, `support/seccompiler_rules.rs`), measured in one run:
//!
//! - `ours`: `oci_seccomp::compile` — validation, our generator and the complete proof;
//! - `ours_validate`: its validation alone;
//! - `seccompiler`: seccompiler 0.5's `BpfProgram::try_from(SeccompFilter)` of the same
//!   rules (the filter is built outside the timed part: seccompiler's compile consumes it).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use oci_seccomp::{compile, CompileOptions, Profile};
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
    // Validation alone, on the same input. (Generation and the proof share the rules'
    // per-architecture order, worked out by whichever asks first, so they are not timed
    // apart: BENCHMARKS.md gives their split from a profile of `ours`.)
    g.bench_function("ours_validate", |b| {
        b.iter(|| Profile::from_oci(&t.oci, false).expect("validates"))
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
