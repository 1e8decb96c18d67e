#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Per-syscall cost inside a filtered process: `getppid` (allowed without conditions, so
//! the kernel's constant-action cache can skip the filter) and `personality(0xffffffff)`
//! (allowed by an argument condition, so the filter runs), with no filter, with our program
//! for Docker's profile, and with libseccomp's own linear layout of the same profile
//! (`load()`, what youki and runc install), all measured in forked children in one run.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use oci_seccomp::{compile, CompileOptions, LinuxSeccomp};
use oci_seccomp_tests::baseline::linear_context;
use oci_seccomp_tests::{docker_profile, fork_child, Exit};

const ITERS_PER_CHILD: u64 = 1_000_000;

#[derive(Clone, Copy)]
enum Filter<'a> {
    None,
    Ours(&'a oci_seccomp::Program),
    Libseccomp(&'a LinuxSeccomp),
}

/// Runs `nr(arg)` `iters` times in a child under `filter`, returns the elapsed time.
fn measure(filter: Filter<'_>, nr: i64, arg: u64, iters: u64) -> Duration {
    let r = fork_child(Duration::from_secs(60), |rep| {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        // Every child on the same CPU: on this 2-vCPU VM, migrations between children
        // otherwise move the figures by a third.
        // SAFETY: a zeroed cpu_set_t is valid; CPU_SET and sched_setaffinity get a pointer
        // to it and its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
        let ok = match filter {
            Filter::None => true,
            Filter::Ours(p) => oci_seccomp_load::install(p).is_ok(),
            Filter::Libseccomp(s) => linear_context(s).load().is_ok(),
        };
        if !ok {
            return 3;
        }
        let t = std::time::Instant::now();
        for _ in 0..iters {
            // SAFETY: getppid and personality(0xffffffff) only read process state.
            unsafe { libc::syscall(nr, arg) };
        }
        rep.report(t.elapsed().as_nanos() as i64);
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "child failed: {r:?}");
    Duration::from_nanos(r.values[0] as u64)
}

fn run_custom(filter: Filter<'_>, nr: i64, arg: u64, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(ITERS_PER_CHILD);
        total += measure(filter, nr, arg, n);
        left -= n;
    }
    total
}

fn bench(c: &mut Criterion) {
    let spec = docker_profile();
    let ours = compile(&spec, &CompileOptions::default()).expect("compile");
    // The kernel's floor: the smallest filter (ALLOW default, one rule), whose every
    // syscall but one is constant-allow. Any filter costs at least this much.
    let trivial = compile(
        &oci_seccomp::parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kexec_load"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .expect("trivial profile"),
        &CompileOptions::default(),
    )
    .expect("compile");
    let mut g = c.benchmark_group("syscall_cost_docker_profile");
    g.sample_size(20);
    for (label, nr, arg) in [
        ("getppid", libc::SYS_getppid, 0u64),
        ("personality_query", libc::SYS_personality, 0xffff_ffff),
    ] {
        g.bench_function(format!("{label}/no_filter"), |b| {
            b.iter_custom(|n| run_custom(Filter::None, nr, arg, n))
        });
        g.bench_function(format!("{label}/trivial_filter"), |b| {
            b.iter_custom(|n| run_custom(Filter::Ours(&trivial), nr, arg, n))
        });
        g.bench_function(format!("{label}/ours"), |b| {
            b.iter_custom(|n| run_custom(Filter::Ours(&ours), nr, arg, n))
        });
        g.bench_function(format!("{label}/libseccomp_load"), |b| {
            b.iter_custom(|n| run_custom(Filter::Libseccomp(&spec), nr, arg, n))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
