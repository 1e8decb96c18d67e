//! Benchmarks of docs/design.md §3:
//! - the notify round trip (a notified `getppid` answered with CONTINUE or a value), with
//!   and without `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`;
//! - `install` of a Docker-size program versus libseccomp's `ScmpFilterContext::load()`
//!   for the same profile, in the same run.
//!
//! Every filter is installed in a forked child, never in the benchmark process.
//! Run with `cargo bench -p oci-seccomp-load --bench load` (as root or with NNP allowed).
#![allow(missing_docs)]

use std::io::Read;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_seccomp::{compile, parse_profile, CompileOptions, LinuxSeccomp};
use oci_seccomp_load::{handoff, install, NotifyFd};
use oci_seccomp_test_support::{fork_child, set_no_new_privs};

/// A child whose every `getppid` is notified, calling it in a loop; returns its notify fd.
fn notify_child(sync: bool) -> (Pid, NotifyFd) {
    let spec = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    )
    .unwrap();
    let program = compile(&spec, &CompileOptions::default()).unwrap();
    let (p, c) = handoff::channel().unwrap();
    let pid = fork_child(|| {
        set_no_new_privs();
        if c.install_and_send(&program).is_err() {
            return 1;
        }
        loop {
            // SAFETY: getppid has no preconditions.
            if unsafe { libc::syscall(libc::SYS_getppid) } < 0 {
                return 0;
            }
        }
    });
    let fd = NotifyFd::new(p.receive().unwrap().unwrap());
    if sync {
        fd.set_sync_wakeup()
            .expect("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux >= 6.6)");
    }
    (pid, fd)
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("notify_round_trip");
    for (name, sync, cont) in [
        ("continue", false, true),
        ("value", false, false),
        ("continue_sync_wakeup", true, true),
        ("value_sync_wakeup", true, false),
    ] {
        let (pid, fd) = notify_child(sync);
        g.bench_function(name, |b| {
            b.iter(|| {
                let n = fd.receive().unwrap();
                if cont {
                    fd.respond_continue(n.id).unwrap();
                } else {
                    fd.respond_value(n.id, 1).unwrap();
                }
            })
        });
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
    }
    g.finish();
}

/// A Docker-size profile: default ERRNO, ~every syscall of the native arch allowed by
/// name except a deny list, plus argument-filtered rules like Docker's.
fn docker_size_profile() -> LinuxSeccomp {
    let deny = [
        "add_key",
        "bpf",
        "clock_adjtime",
        "clock_settime",
        "create_module",
        "delete_module",
        "finit_module",
        "init_module",
        "kexec_load",
        "kexec_file_load",
        "keyctl",
        "mount",
        "move_mount",
        "open_tree",
        "perf_event_open",
        "pivot_root",
        "ptrace",
        "reboot",
        "request_key",
        "setns",
        "swapon",
        "swapoff",
        "umount2",
        "unshare",
        "userfaultfd",
        "personality",
        "clone",
        "clone3",
        "socket",
    ];
    let arch = oci_seccomp::arch::native();
    let mut names = Vec::new();
    for nr in 0..470 {
        if let Some(n) = oci_seccomp::arch::syscall_name(nr, arch) {
            if !deny.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let json = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "syscalls": [
            { "names": names, "action": "SCMP_ACT_ALLOW" },
            { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }] },
            { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_EQ" }] },
            { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ" }] },
            { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 2114060288u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }] },
            { "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 },
            { "names": ["socket"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 40, "op": "SCMP_CMP_NE" }] }
        ]
    });
    parse_profile(&json.to_string()).unwrap()
}

/// Runs `timed` in a fresh forked child `iters` times and sums the durations it reports.
fn in_children(iters: u64, timed: &dyn Fn() -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (r, w) = nix::unistd::pipe().unwrap();
        let pid = fork_child(|| {
            set_no_new_privs();
            let d = timed();
            let nanos = d.as_nanos() as u64;
            let _ = nix::unistd::write(&w, &nanos.to_ne_bytes());
            0
        });
        drop(w);
        let mut b = [0u8; 8];
        std::fs::File::from(r)
            .read_exact(&mut b)
            .expect("child timing");
        let _ = waitpid(pid, None);
        total += Duration::from_nanos(u64::from_ne_bytes(b));
    }
    total
}

fn install_vs_libseccomp(c: &mut Criterion) {
    let spec = docker_size_profile();
    let program = compile(&spec, &CompileOptions::default()).unwrap();
    let mut g = c.benchmark_group("install_docker_size");
    g.sample_size(20);
    g.bench_function(
        format!("oci_seccomp_load::install ({} insns)", program.len()),
        |b| {
            b.iter_custom(|iters| {
                in_children(iters, &|| {
                    let t = Instant::now();
                    let r = install(&program);
                    let d = t.elapsed();
                    assert!(r.is_ok());
                    d
                })
            })
        },
    );
    let ctx = oci_seccomp::libseccomp::build_context(&spec).unwrap();
    g.bench_function("libseccomp ScmpFilterContext::load", |b| {
        b.iter_custom(|iters| {
            in_children(iters, &|| {
                let t = Instant::now();
                let r = ctx.load();
                let d = t.elapsed();
                assert!(r.is_ok());
                d
            })
        })
    });
    g.finish();
}

criterion_group!(benches, round_trip, install_vs_libseccomp);
criterion_main!(benches);
