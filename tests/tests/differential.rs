//! The same bundles under runc, crun and `oci-seccomp run --bundle`.
//! Where runc and crun agree we must agree too; every case where they differ is listed in
//! `docs/conformance.md` (and in `KNOWN_PEER_DIFFERENCES` below) with its reason.
//!
//! Needs root, `runc`, `crun`, `busybox-static` and a C compiler; CI installs them (and
//! mounts the v1 hugetlb hierarchy crun 1.8.1 needs on this hybrid-cgroup machine, see
//! `scripts/setup`). A missing tool is a failure naming the install command.
#![cfg(target_arch = "x86_64")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_seccomp_tests::bundle::{build_probe, make_bundle, missing_tools, parse_probe, run_peer};
use serde_json::{json, Value};

/// What a runtime needs after installing the filter, and what busybox and the probe need.
const BASE: &[&str] = &[
    "read",
    "write",
    "writev",
    "close",
    "exit",
    "exit_group",
    "execve",
    "brk",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "prlimit64",
    "mmap",
    "munmap",
    "mprotect",
    "readlink",
    "uname",
    "getrandom",
    "fork",
    "wait4",
    "getpid",
    "getppid",
    "gettid",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "fstat",
    "newfstatat",
    "ioctl",
    "fcntl",
    "futex",
    "getdents64",
    "openat",
    "nanosleep",
    "sched_yield",
    "capget",
    "capset",
    "prctl",
    "setgroups",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "getcwd",
    "chdir",
    "fchdir",
    "dup2",
    "dup3",
    "pipe2",
    "epoll_pwait",
    "epoll_ctl",
    "epoll_create1",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "tgkill",
    "kill",
    "sigaltstack",
    "madvise",
    "access",
    "faccessat",
    "stat",
    "lstat",
    "fstatfs",
    "statfs",
    "lseek",
    "pread64",
    "umask",
    "setsid",
    "sched_getaffinity",
    "clock_gettime",
    "clock_nanosleep",
    "waitid",
    "close_range",
];

/// Why runc and crun may differ on one probe (docs/conformance.md), or `None`.
///
/// The only difference seen is runc's ENOSYS stub: a syscall newer than every syscall the
/// profile names gets ENOSYS from runc and the default action from crun (an errno, or
/// SIGSYS under a kill default). We follow runc (docs/design.md §2.2).
fn known_difference(runc: &str, crun: &str, default_outcome: &str) -> Option<&'static str> {
    (runc == "err 38" && crun == default_outcome).then_some("runc's ENOSYS stub")
}

/// Where we answer otherwise than runc and crun on purpose, with what we answer and why
/// (docs/conformance.md), or `None`.
fn intended_difference(bundle: &str, probe: &str) -> Option<(&'static str, &'static str)> {
    match (bundle, probe) {
        ("default_entry_overlap", "unshare_user_mount") => Some((
            "err 1",
            "an entry equal to the default takes part in precedence; runc and crun drop it",
        )),
        ("family_ne_allow", "socket_vsock_upper") => Some((
            "err 1",
            "the kernel reads the family as an int (40, AF_VSOCK); runc and crun compare 64 bits",
        )),
        _ => None,
    }
}

fn allow(names: &[&str]) -> Value {
    json!({"names": names, "action": "SCMP_ACT_ALLOW"})
}

/// The probe line a denied syscall produces under a profile's default action.
fn default_outcome(seccomp: &Value) -> String {
    match seccomp["defaultAction"].as_str() {
        Some("SCMP_ACT_KILL_PROCESS") | Some("SCMP_ACT_KILL") | Some("SCMP_ACT_KILL_THREAD") => {
            "signal 31".into()
        }
        _ => format!("err {}", seccomp["defaultErrnoRet"].as_u64().unwrap_or(1)),
    }
}

fn bundles() -> Vec<(&'static str, Value)> {
    let arches = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    let mut out = vec![
        (
            "allowlist_errno",
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13, "architectures": arches,
                   "syscalls": [allow(BASE), allow(&["socket", "personality", "clone", "keyctl"])]}),
        ),
        (
            "kill_process",
            json!({"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": arches,
                   "syscalls": [allow(BASE), allow(&["clone", "personality"])]}),
        ),
        (
            "args",
            json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": arches,
            "syscalls": [allow(BASE), allow(&["clone"]),
             {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
             {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
             {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]},
             // Repeated index: OR, so this allows every family but 38 or 40... and both.
             {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
             // Distinct indices: AND.
             {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]},
             {"names": ["add_key"], "action": "SCMP_ACT_ERRNO", "errnoRet": 23, "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 4, "value": 0, "op": "SCMP_CMP_EQ"}]},
             // Without this, i386 socketcall(SYS_SOCKET) would bypass the family condition
             // above under runc and crun; we refuse such a profile (docs/conformance.md).
             {"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]}),
        ),
    ];
    // An entry equal to the default overlapping an ALLOW: runc and crun drop it (they allow
    // unshare(CLONE_NEWUSER|CLONE_NEWNS)), we keep it in precedence and deny
    // (`intended_difference`).
    out.push((
        "default_entry_overlap",
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": arches,
               "syscalls": [allow(BASE), allow(&["clone", "personality"]),
                {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                 "args": [{"index": 0, "value": 0x1000_0000u64, "valueTwo": 0x1000_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0x2_0000u64, "valueTwo": 0x2_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]}]}),
    ));
    // Newer Docker's family rule: runc and crun compare 64 bits, so a family with upper
    // bits set passes `!=` and the kernel makes an AF_VSOCK socket; we compare the bits
    // the kernel reads (`intended_difference`).
    out.push((
        "family_ne_allow",
        json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": arches,
               "syscalls": [allow(BASE), allow(&["clone", "personality"]),
                {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
                {"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}),
    ));
    out.push(("docker", docker_rendered()));
    // The LOG flag and the LOG action. runc 1.1.5 refuses every `flags` value, so this
    // bundle is compared with crun only (docs/conformance.md).
    out.push((
        "log_flag",
        json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": arches,
               "flags": ["SECCOMP_FILTER_FLAG_LOG"],
               "syscalls": [allow(BASE), allow(&["clone", "personality"]),
                            {"names": ["chroot", "acct"], "action": "SCMP_ACT_LOG"}]}),
    ));
    out
}

/// NOTIFY with a listener: `chroot` answered ENOMEDIUM (123) and `acct` answered 0 by our
/// `supervise`, which serves runc, crun and us in turn; everything else allowed.
fn notify_bundle(socket: &Path) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socket, "listenerMetadata": "diff",
           "syscalls": [{"names": ["chroot", "acct"], "action": "SCMP_ACT_NOTIFY"}]})
}

/// A child process killed and reaped when dropped, so that a failed assertion never
/// leaves an agent running.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `oci-seccomp supervise` on `socket`; it ends when the guard is dropped.
fn start_agent(work: &Path, socket: &Path) -> Reaped {
    let exe = cli().expect("the oci-seccomp binary");
    let policy = work.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default": "continue", "syscalls": {"chroot": "errno:ENOMEDIUM", "acct": "value:0"}}"#,
    )
    .unwrap();
    let child = Command::new(exe)
        .args(["supervise", "--socket"])
        .arg(socket)
        .arg("--policy")
        .arg(&policy)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !socket.exists() && t.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Reaped(child)
}

/// Docker's upstream default profile rendered for Docker's default capabilities on this
/// host, by our renderer (every runtime gets the same OCI JSON).
/// Docker's own profile rendered for the host; a missing file or a failed render is a
/// test failure that says what to install, never a silently smaller comparison.
fn docker_rendered() -> Value {
    let path =
        Path::new("/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; install it with `apt-get install golang-github-docker-docker-dev` (or run scripts/setup)",
            path.display()
        )
    });
    let exe =
        cli().expect("the oci-seccomp binary beside the tests (cargo build -p oci-seccomp-cli)");
    // Unique per call: the tests of this file may run in parallel in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "oci-seccomp-diff-docker-{}-{}.json",
        std::process::id(),
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&dir, text).unwrap();
    let out = Command::new(exe).arg("render").arg(&dir).output().unwrap();
    let _ = std::fs::remove_file(&dir);
    assert!(
        out.status.success(),
        "render of Docker's profile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("render printed JSON")
}

/// The `oci-seccomp` binary built by this workspace (cargo builds it for `cargo test`).
fn cli() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let p = dir.join("oci-seccomp");
    p.is_file().then_some(p)
}

fn run_ours(bundle: &Path) -> (String, String) {
    let exe = cli().unwrap_or_else(|| {
        panic!(
            "the oci-seccomp binary is not built beside this test: \
             cargo build -p oci-seccomp-cli (just test builds it)"
        )
    });
    let out = Command::new(exe)
        .args(["run", "--bundle"])
        .arg(bundle)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn runc_crun_and_ours_agree() {
    if let Some(why) = missing_tools() {
        panic!("differential conformance cannot run: {why}");
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "differential conformance needs root (runc and crun create namespaces and cgroups): \
         run the tests as root (./scripts/setup && just test)"
    );
    let work = std::env::temp_dir().join(format!("oci-seccomp-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let probe = build_probe(&work);
    let mut report = String::new();
    let socket = work.join("agent.sock");
    let agent = start_agent(&work, &socket);
    let mut all = bundles();
    all.push(("notify", notify_bundle(&socket)));
    for (name, seccomp) in all {
        let bundle = work.join(name);
        make_bundle(&bundle, &probe, &seccomp);
        let (runc_out, runc_err) = run_peer(
            "runc",
            &bundle,
            &work.join("runc-state"),
            &format!("diff-{name}"),
        );
        let (crun_out, crun_err) = run_peer(
            "crun",
            &bundle,
            &work.join("crun-state"),
            &format!("diff-{name}"),
        );
        let mut runc: BTreeMap<_, _> = parse_probe(&runc_out).into_iter().collect();
        let crun: BTreeMap<_, _> = parse_probe(&crun_out).into_iter().collect();
        let crun_only = seccomp.get("flags").is_some();
        if crun_only {
            // runc 1.1.5 refuses any flags: compare with crun alone.
            assert!(
                runc.is_empty() && runc_err.contains("flags"),
                "{name}: runc 1.1.5 was expected to refuse seccomp flags\n{runc_out}\n{runc_err}"
            );
            runc = crun.clone();
        }
        if name == "notify" {
            // The agent answered every runtime's notifications.
            for (rt, out) in [("runc", &runc), ("crun", &crun)] {
                assert_eq!(
                    out.get("chroot").map(String::as_str),
                    Some("err 123"),
                    "{rt}"
                );
                assert_eq!(out.get("acct").map(String::as_str), Some("ok 0"), "{rt}");
            }
        }
        assert!(
            runc.len() > 40,
            "{name}: runc gave {} lines\n{runc_out}\n{runc_err}",
            runc.len()
        );
        assert!(
            crun.len() > 40,
            "{name}: crun gave {} lines\n{crun_out}\n{crun_err}",
            crun.len()
        );
        let (ours_out, ours_err) = run_ours(&bundle);
        let ours: BTreeMap<_, _> = parse_probe(&ours_out).into_iter().collect();
        for (probe_name, r) in &runc {
            let c = crun
                .get(probe_name)
                .unwrap_or_else(|| panic!("{name}: crun lacks {probe_name}"));
            let o = ours
                .get(probe_name)
                .cloned()
                .unwrap_or_else(|| "missing".into());
            report.push_str(&format!(
                "{name:16} {probe_name:22} runc={r:12} crun={c:12} ours={o}\n"
            ));
            if r != c {
                let why = known_difference(r, c, &default_outcome(&seccomp));
                assert!(
                    why.is_some(),
                    "{name}/{probe_name}: runc {r} vs crun {c} is not a documented difference"
                );
                assert_eq!(
                    &o, r,
                    "{name}/{probe_name}: where the peers differ we follow runc"
                );
            } else if let Some((want, why)) = intended_difference(name, probe_name) {
                assert_ne!(
                    r, want,
                    "{name}/{probe_name}: the peers no longer differ from us"
                );
                assert_eq!(&o, want, "{name}/{probe_name}: {why}");
            } else {
                // Compared with crun alone, our (runc's) ENOSYS stub is the known difference.
                let stub =
                    crun_only && known_difference(&o, r, &default_outcome(&seccomp)).is_some();
                if !stub {
                    assert_eq!(
                        &o, r,
                        "{name}/{probe_name}: runc and crun agree on {r}, we said {o}\n{ours_err}"
                    );
                }
            }
        }
    }
    drop(agent);
    println!("{report}");
    let _ = std::fs::remove_dir_all(&work);
}

/// Starts `oci-seccomp supervise --trace` for `original` under `runtime`, its JSON events
/// into `events_path`; returns it (reaped on drop) and the rewritten profile it wrote.
fn start_trace_agent(
    exe: &std::path::Path,
    work: &std::path::Path,
    name: &str,
    runtime: &str,
    original: &std::path::Path,
    events_path: &std::path::Path,
) -> (Reaped, Value) {
    let socket = work.join(format!("{name}-{runtime}.sock"));
    let routed_path = work.join(format!("{name}-{runtime}-routed.json"));
    let agent = Command::new(exe)
        .args(["supervise", "--json", "--trace", "--socket"])
        .arg(&socket)
        .arg("--profile")
        .arg(original)
        .arg("--write-runtime-profile")
        .arg(&routed_path)
        .args(["--runtime", runtime])
        .stdout(std::fs::File::create(events_path).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let agent = Reaped(agent);
    let t = std::time::Instant::now();
    while !socket.exists() && t.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let routed: Value =
        serde_json::from_str(&std::fs::read_to_string(&routed_path).unwrap()).unwrap();
    (agent, routed)
}

/// `supervise --trace` for runc and crun. Each runtime installs the profile
/// rewritten by `--write-runtime-profile` (denials notify the agent); the agent answers as
/// the original profile would. Every probe must end as it does under the original profile
/// in the same runtime — a KILL becomes SIGKILL (user space cannot die of SIGSYS for
/// another process) — and every denial the original profile made through the routed
/// entries is reported with the entry that decided it.
#[test]
fn runc_and_crun_trace_through_supervise() {
    if let Some(why) = missing_tools() {
        panic!("differential trace cannot run: {why}");
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "the differential trace test needs root (runc and crun): run ./scripts/setup && just test"
    );
    let exe = cli().expect("the oci-seccomp binary beside the tests");
    let work = std::env::temp_dir().join(format!("oci-seccomp-difftrace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let probe = build_probe(&work);
    let cases: Vec<(&str, Value)> = bundles()
        .into_iter()
        // Docker's profile allows seccomp: its rewrite carries the listener guard as
        // entries, which runc and crun must accept.
        .filter(|(n, _)| matches!(*n, "allowlist_errno" | "args" | "kill_process" | "docker"))
        .collect();
    assert_eq!(cases.len(), 4);
    for (name, seccomp) in cases {
        let original = work.join(format!("{name}.json"));
        std::fs::write(&original, seccomp.to_string()).unwrap();
        for runtime in ["runc", "crun"] {
            // The original profile, installed by the runtime itself.
            let plain = work.join(format!("{name}-{runtime}-plain"));
            make_bundle(&plain, &probe, &seccomp);
            let state = work.join(format!("{runtime}-state"));
            let (out, err) = run_peer(runtime, &plain, &state, &format!("t-{name}-p"));
            let direct: BTreeMap<_, _> = parse_probe(&out).into_iter().collect();
            assert!(direct.len() > 40, "{name}/{runtime}: {out}\n{err}");

            // The rewritten profile, with the trace agent.
            let events_path = work.join(format!("{name}-{runtime}-events.jsonl"));
            let (agent, routed) =
                start_trace_agent(&exe, &work, name, runtime, &original, &events_path);
            let traced_bundle = work.join(format!("{name}-{runtime}-traced"));
            make_bundle(&traced_bundle, &probe, &routed);
            let (out, err) = run_peer(runtime, &traced_bundle, &state, &format!("t-{name}-t"));
            drop(agent);
            let traced: BTreeMap<_, _> = parse_probe(&out).into_iter().collect();
            assert_eq!(
                traced.len(),
                direct.len(),
                "{name}/{runtime} traced: {out}\n{err}"
            );
            for (probe_name, d) in &direct {
                // A number libseccomp has no name for cannot be listed in the rewritten
                // profile: it stays with the runtime's filter (the untraced list says so).
                let untraced = probe_name.starts_with("unknown_");
                let want = if d == "signal 31" && !untraced {
                    "signal 9"
                } else {
                    d.as_str()
                };
                assert_eq!(
                    traced.get(probe_name).map(String::as_str),
                    Some(want),
                    "{name}/{runtime}/{probe_name}: under the original profile {d}"
                );
            }
            let lines: Vec<Value> = std::fs::read_to_string(&events_path)
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect();
            let events: Vec<Value> = lines
                .iter()
                .filter(|v| v.get("decidedBy").is_some())
                .cloned()
                .collect();
            // The JSON log ends each container with a summary that counts every call.
            let counted: u64 = lines
                .iter()
                .filter(|v| v["event"] == "summary")
                .filter_map(|v| v["calls"].as_u64())
                .sum();
            assert!(
                counted >= events.len() as u64,
                "{name}/{runtime}: summary counts {counted}, {} event lines",
                events.len()
            );
            let denied = direct
                .values()
                .filter(|d| d.starts_with("err") || d.starts_with("signal"))
                .count();
            assert!(
                !events.is_empty() && events.len() <= 10 * denied.max(1),
                "{name}/{runtime}: {} events for {denied} denied probes",
                events.len()
            );
            for e in &events {
                let by = e["decidedBy"].as_str().unwrap();
                assert!(
                    by == "defaultAction"
                        || by.starts_with("syscalls[")
                        || by.starts_with("the ENOSYS stub"),
                    "{name}/{runtime}: {e}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}
