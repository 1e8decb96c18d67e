#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Comparing and merging profiles by meaning, on Docker 20.10's default (the Debian file)
//! and the current upstream default, both rendered for Docker's default capabilities on
//! this host (three ABIs), measured in one run:
//!
//! - `diff`: [`oci_seccomp::diff`] of the two meanings, every region (the `--no-looser`
//!   gate is this plus a filter);
//! - `semantics_and_diff`: the same from the validated profiles, building both meanings;
//! - `merge_union`, `merge_intersection`: [`oci_seccomp::merge::merge`], walk, write and
//!   proof;
//! - `normalize`: [`oci_seccomp::normalize::normalize`] of the upstream default;
//! - `lift_libseccomp_program`: [`oci_seccomp::lift::lift`] of the program libseccomp
//!   builds for the upstream default with runc's stub (what runc installs), table and
//!   proven profile;
//! - `libseccomp_build_export_one`, `libseccomp_build_export_both` (the baselines):
//!   libseccomp building and exporting one or the two filters.

use criterion::{criterion_group, criterion_main, Criterion};
use oci_seccomp::libseccomp::{build_profile_context, export_instructions};
use oci_seccomp::merge::{merge, Combine};
use oci_seccomp::moby::{render, RenderOptions};
use oci_seccomp::{arch, diff, Backend, CompileOptions, Profile, Semantics, Stub};
use oci_seccomp_tests::docker::{current_docker_profile, upstream_docker_profile};

fn bench(c: &mut Criterion) {
    let opts = RenderOptions::host();
    let old = render(&upstream_docker_profile(), &opts).expect("render");
    let new = render(&current_docker_profile(), &opts).expect("render");
    let profiles = [
        Profile::from_oci(&old, false).expect("valid"),
        Profile::from_oci(&new, false).expect("valid"),
    ];
    let meanings = profiles
        .iter()
        .map(|p| Semantics::new(p, Stub::Enosys))
        .collect::<Vec<_>>();
    let mut g = c.benchmark_group("compare_docker_defaults");
    g.sample_size(20);
    g.bench_function("diff", |b| {
        b.iter(|| diff(&meanings[0], &meanings[1]).expect("diff"))
    });
    g.bench_function("semantics_and_diff", |b| {
        b.iter(|| {
            let a = Semantics::new(&profiles[0], Stub::Enosys);
            let b2 = Semantics::new(&profiles[1], Stub::Enosys);
            diff(&a, &b2).expect("diff")
        })
    });
    let pair = [old.clone(), new.clone()];
    g.bench_function("merge_union", |b| {
        b.iter(|| merge(&pair, Combine::Union, arch::native()).expect("merge"))
    });
    g.bench_function("merge_intersection", |b| {
        b.iter(|| merge(&pair, Combine::Intersection, arch::native()).expect("merge"))
    });
    g.bench_function("normalize", |b| {
        b.iter(|| oci_seccomp::normalize::normalize(&new, arch::native()).expect("normalize"))
    });
    let libseccomp = CompileOptions::default().with_backend(Backend::Libseccomp);
    // What runc installs for the upstream default: libseccomp's program with the stub.
    let runc_like = oci_seccomp::compile(&new, &libseccomp).expect("compile");
    g.bench_function("lift_libseccomp_program", |b| {
        b.iter(|| {
            oci_seccomp::lift::lift(
                oci_seccomp::Decider::Program(runc_like.instructions()),
                arch::native(),
            )
            .expect("lift")
        })
    });
    g.bench_function("libseccomp_build_export_one", |b| {
        b.iter(|| {
            let ctx = build_profile_context(&profiles[1], &libseccomp).expect("build");
            export_instructions(&ctx).expect("export")
        })
    });
    g.bench_function("libseccomp_build_export_both", |b| {
        b.iter(|| {
            for p in &profiles {
                let ctx = build_profile_context(p, &libseccomp).expect("build");
                export_instructions(&ctx).expect("export");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
