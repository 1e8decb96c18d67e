#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Compiling Docker's default profile (the upstream file rendered for Docker's
//! default capabilities on this host; our embedded default when the file is missing), for
//! x86_64 alone and for x86_64 + x86 + x32 (archMap), measured in one run:
//!
//! - `ours_cold`: `oci_seccomp::compile` with our generator (validate, generate, prove);
//! - `libseccomp_build_export`: libseccomp's own generator, `seccomp_rule_add` for every
//!   rule then `seccomp_export_bpf` (the baseline);
//! - `libseccomp_cold`: `compile --backend libseccomp` (validate, build, export, stub,
//!   proof);
//! - `ours_disk_cache`: `Cache::get_or_compile` with the entry present (read, checksum, decode);
//! - `ours_memory_cache`: `MemoryCache::get_or_compile` with the entry present;
//! - `libseccomp_build_load`: youki's path, `ScmpFilterContext` build + `load()` in a forked
//!   child (libseccomp's linear layout, as runc, crun and youki install it).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use oci_seccomp::libseccomp::{build_profile_context, export_instructions};
use oci_seccomp::{compile, Backend, Cache, CompileOptions, LinuxSeccomp, MemoryCache, Profile};
use oci_seccomp_tests::baseline::{linear_context, native_only};
use oci_seccomp_tests::{docker_profile, time_in_children};

fn bench(c: &mut Criterion) {
    let full = docker_profile();
    let cache_dir = std::env::temp_dir().join(format!("oci-seccomp-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let cache = Cache::open(&cache_dir).expect("cache");
    let memory = MemoryCache::new(16);
    let opts = CompileOptions::default();
    let mut g = c.benchmark_group("compile_docker_profile");
    g.sample_size(30);
    for (label, spec) in [
        ("x86_64", native_only(&full)),
        ("x86_64+x86+x32", full.clone()),
    ] {
        let spec: LinuxSeccomp = spec;
        g.bench_with_input(BenchmarkId::new("ours_cold", label), &spec, |b, s| {
            b.iter(|| compile(s, &opts).expect("compile"))
        });
        let libseccomp = opts.clone().with_backend(Backend::Libseccomp);
        let profile = Profile::from_oci(&spec, false).expect("valid");
        g.bench_with_input(
            BenchmarkId::new("libseccomp_build_export", label),
            &profile,
            |b, p| {
                b.iter(|| {
                    let ctx = build_profile_context(p, &libseccomp).expect("build");
                    export_instructions(&ctx).expect("export")
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("libseccomp_cold", label), &spec, |b, s| {
            b.iter(|| compile(s, &libseccomp).expect("compile"))
        });
        cache.get_or_compile(&spec, &opts).expect("fill cache");
        g.bench_with_input(BenchmarkId::new("ours_disk_cache", label), &spec, |b, s| {
            b.iter(|| cache.get_or_compile(s, &opts).expect("cache hit"))
        });
        memory
            .get_or_compile(&spec, &opts)
            .expect("fill memory cache");
        g.bench_with_input(
            BenchmarkId::new("ours_memory_cache", label),
            &spec,
            |b, s| b.iter(|| memory.get_or_compile(s, &opts).expect("memory hit")),
        );
        g.bench_with_input(
            BenchmarkId::new("libseccomp_build_load", label),
            &spec,
            |b, s| {
                b.iter_custom(|iters| time_in_children(iters, || linear_context(s).load().is_ok()))
            },
        );
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&cache_dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
