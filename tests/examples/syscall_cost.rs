//! Per-syscall cost under a filter, interleaved and repeated (min and median of 15 runs of
//! 1M calls each, every run in a fresh child pinned to CPU 0): a cross-check of the
//! criterion `syscall` bench on a noisy VM. `cargo run --release -p oci-seccomp-tests
//! --example syscall_cost`.
use std::time::{Duration, Instant};

use oci_seccomp::{compile, parse_profile, CompileOptions, Program};
use oci_seccomp_tests::baseline::linear_context;
use oci_seccomp_tests::{docker_profile, fork_child, Exit};

const N: u64 = 1_000_000;

/// A named way to install a filter in the child.
type Installer<'a> = (&'a str, Box<dyn Fn() -> bool + 'a>);

fn run(install: &dyn Fn() -> bool, nr: i64, arg: u64) -> f64 {
    let r = fork_child(Duration::from_secs(60), |rep| {
        // SAFETY: prctl with integer arguments; a zeroed cpu_set_t is valid.
        unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
        if !install() {
            return 3;
        }
        let t = Instant::now();
        for _ in 0..N {
            // SAFETY: getppid / personality(0xffffffff) only read process state.
            unsafe { libc::syscall(nr, arg) };
        }
        rep.report(t.elapsed().as_nanos() as i64);
        0
    });
    assert_eq!(r.exit, Exit::Code(0));
    r.values[0] as f64 / N as f64
}

fn main() {
    let spec = docker_profile();
    let ours = compile(&spec, &CompileOptions::default()).unwrap();
    let tree = compile(
        &spec,
        &CompileOptions::default().with_backend(oci_seccomp::Backend::Libseccomp),
    )
    .unwrap();
    // The one-rule floor: personality's only rule, one 64-bit comparison.
    let one_rule: Program = compile(
        &parse_profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":4294967295,"op":"SCMP_CMP_NE"}]}]}"#).unwrap(),
        &CompileOptions::default(),
    )
    .unwrap();
    let trivial: Program = compile(
        &parse_profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kexec_load"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap(),
        &CompileOptions::default(),
    )
    .unwrap();
    // Trace mode's filter: the same program with its denials sent to an agent. Both
    // calls below are allowed, so they never reach the agent: the cost must not change.
    let traced = oci_seccomp::trace::route_denials(&ours).unwrap();
    let filters: Vec<Installer> = vec![
        ("no filter", Box::new(|| true)),
        (
            "trivial filter",
            Box::new(|| oci_seccomp_load::install(&trivial).is_ok()),
        ),
        (
            "ours (Docker)",
            Box::new(|| oci_seccomp_load::install(&ours).is_ok()),
        ),
        (
            "one-rule floor",
            Box::new(|| oci_seccomp_load::install(&one_rule).is_ok()),
        ),
        (
            "libseccomp tree (Docker)",
            Box::new(|| oci_seccomp_load::install(&tree).is_ok()),
        ),
        (
            "ours traced (Docker, --trace)",
            Box::new(|| oci_seccomp_load::install(&traced).is_ok()),
        ),
        (
            "libseccomp load (Docker)",
            Box::new(|| linear_context(&spec).load().is_ok()),
        ),
    ];
    for (label, nr, arg) in [
        ("getppid", libc::SYS_getppid, 0u64),
        (
            "personality(0xffffffff)",
            libc::SYS_personality,
            0xffff_ffff,
        ),
    ] {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); filters.len()];
        for _ in 0..15 {
            for (i, (_, f)) in filters.iter().enumerate() {
                samples[i].push(run(f.as_ref(), nr, arg));
            }
        }
        println!("{label}:");
        for (i, (name, _)) in filters.iter().enumerate() {
            let s = &mut samples[i];
            s.sort_by(f64::total_cmp);
            println!(
                "  {name:26} min {:6.1} ns  median {:6.1} ns",
                s[0],
                s[s.len() / 2]
            );
        }
    }
}
