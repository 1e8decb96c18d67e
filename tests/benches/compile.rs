#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Compile and install cost of a 400-name profile with x86_64 + x86 + x32, against
//! libseccomp's own path (`ScmpFilterContext` build + `load()`, what youki does),
//! measured in the same run.
//!
//! Installing is measured in forked children (a filter cannot be removed, and stacking
//! hundreds in the bench process would hit the kernel's limit): each child times only the
//! work under test and reports nanoseconds through a pipe.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use oci_seccomp::libseccomp::build_context;
use oci_seccomp::{compile, parse_profile, CompileOptions, LinuxSeccomp};
use oci_seccomp_tests::{allowlist_json, time_in_children};

const THREE: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

fn spec(arches: &[&str]) -> LinuxSeccomp {
    parse_profile(&allowlist_json(400, arches)).expect("profile")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile_400_names");
    g.sample_size(30);
    for (label, arches) in [
        ("x86_64", &["SCMP_ARCH_X86_64"][..]),
        ("x86_64+x86+x32", THREE),
    ] {
        let s = spec(arches);
        let opts = CompileOptions::default();
        g.bench_with_input(BenchmarkId::new("ours_compile", label), &s, |b, s| {
            b.iter(|| compile(s, &opts).expect("compile"))
        });
        g.bench_with_input(
            BenchmarkId::new("libseccomp_build_export", label),
            &s,
            |b, s| {
                b.iter(|| {
                    let ctx = build_context(s).expect("ctx");
                    oci_seccomp::libseccomp::export_instructions(&ctx).expect("export")
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("ours_compile_install", label),
            &s,
            |b, s| {
                b.iter_custom(|iters| {
                    time_in_children(iters, || {
                        compile(s, &opts)
                            .ok()
                            .and_then(|p| oci_seccomp_load::install(&p).ok())
                            .is_some()
                    })
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("ours_install_precompiled", label),
            &s,
            |b, s| {
                let p = compile(s, &opts).expect("compile");
                b.iter_custom(|iters| {
                    time_in_children(iters, || oci_seccomp_load::install(&p).is_ok())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("libseccomp_build_load", label),
            &s,
            |b, s| {
                b.iter_custom(|iters| {
                    time_in_children(iters, || {
                        build_context(s)
                            .map(|ctx| ctx.load().is_ok())
                            .unwrap_or(false)
                    })
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
