//! `run --trace` and `run --complain` end to end: the real binary, a busybox workload, the
//! kernel's answers, the JSON report and the summary; also as an unprivileged user.

mod common;

use std::process::Output;

use common::{python3, text, BUSYBOX};
use serde_json::Value;

fn run(args: &[&str], uid: Option<u32>) -> Output {
    common::oci_seccomp(args, None, uid)
}

fn tempdir() -> tempfile::TempDir {
    common::tempdir("oci-seccomp-trace-")
}

const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    {"names": ["rmdir"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#;

fn lines(report: &str) -> Vec<Value> {
    report
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn assert_busybox() {
    assert!(
        std::path::Path::new(BUSYBOX).exists(),
        "{BUSYBOX} is missing: run ./scripts/setup (busybox-static)"
    );
}

#[test]
fn trace_enforces_and_reports_each_denial_with_its_entry() {
    assert_busybox();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let report = t.path().join("report.jsonl");
    let dir = t.path().join("made");
    let script = format!(
        "mkdir {0}; echo mkdir=$?; test -d {0} && echo exists; true",
        dir.display()
    );
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--trace",
            "--report",
            report.to_str().unwrap(),
            "--",
            BUSYBOX,
            "sh",
            "-c",
            &script,
        ],
        None,
    );
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    // Enforced: EACCES (13) from the rule, and no directory.
    assert!(out.contains("mkdir=1"), "{out}");
    assert!(!out.contains("exists"), "{out}");
    assert!(err.contains("Permission denied"), "{err}");
    let events = lines(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["syscall"], "mkdir");
    assert_eq!(e["decidedBy"], "syscalls[0]");
    assert_eq!(e["action"], "SCMP_ACT_ERRNO");
    assert_eq!(e["errno"], 13);
    assert_eq!(e["taken"], "errno");
    assert_eq!(e["arch"], "SCMP_ARCH_X86_64");
    assert_eq!(e["comm"], "mkdir");
    assert!(e["time"].as_str().unwrap().ends_with('Z'));
    assert!(err.contains("1 call denied"), "{err}");
    assert!(err.contains("syscalls[0] denies mkdir"), "{err}");
}

#[test]
fn complain_reports_and_lets_the_call_run() {
    assert_busybox();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let dir = t.path().join("made");
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--complain",
            "--",
            BUSYBOX,
            "mkdir",
            dir.to_str().unwrap(),
        ],
        None,
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(dir.is_dir(), "complain mode let mkdir run");
    let events = lines(&err);
    assert_eq!(events.len(), 1, "{err}");
    assert_eq!(events[0]["taken"], "continued");
    assert_eq!(events[0]["decidedBy"], "syscalls[0]");
    assert!(err.contains("would have been denied"), "{err}");
}

#[test]
fn a_kill_is_reported_then_carried_out_and_without_trace_sigsys_suggests_it() {
    assert_busybox();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let victim = t.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let args = |trace: bool| {
        let mut v = vec!["run", "--profile", profile.to_str().unwrap()];
        if trace {
            v.push("--trace");
        }
        v.extend(["--", BUSYBOX, "rmdir", victim.to_str().unwrap()]);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let plain = run(
        &args(false).iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    let err = text(&plain.stderr);
    assert_eq!(plain.status.code(), Some(128 + libc::SIGSYS), "{err}");
    assert!(err.contains("run again with --trace"), "{err}");
    let traced = run(
        &args(true).iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    let err = text(&traced.stderr);
    assert_eq!(traced.status.code(), Some(128 + libc::SIGKILL), "{err}");
    let events = lines(&err);
    assert_eq!(events.len(), 1, "{err}");
    assert_eq!(events[0]["syscall"], "rmdir");
    assert_eq!(events[0]["action"], "SCMP_ACT_KILL_PROCESS");
    assert_eq!(events[0]["taken"], "killed");
    assert!(victim.is_dir(), "rmdir never ran");
}

#[test]
fn an_unprivileged_user_traces_with_no_new_privileges() {
    assert_busybox();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let dir = t.path().join("made-by-4242");
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--no-new-privs",
            "--no-cache",
            "--trace",
            "--",
            BUSYBOX,
            "mkdir",
            dir.to_str().unwrap(),
        ],
        Some(4242),
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!dir.exists());
    let events = lines(&err);
    assert_eq!(events.len(), 1, "{err}");
    assert_eq!(events[0]["syscall"], "mkdir");
    assert_eq!(events[0]["errno"], 13);
}

#[test]
fn a_profile_with_its_own_notify_rules_is_refused() {
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    )
    .unwrap();
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--trace",
            "--",
            BUSYBOX,
            "true",
        ],
        None,
    );
    let err = text(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(err.contains("SCMP_ACT_NOTIFY"), "{err}");
}

/// Uid 4242 owns a directory below /tmp and plants, for root's
/// `--report` and `record -o`, a symbolic link to a directory root owns, a FIFO, its own
/// file and a hard link. Root's commands refuse each at once (no hang, nothing written
/// through the plant), before anything runs.
#[test]
fn outputs_planted_by_another_user_are_refused() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root to act as uid 4242"
    );
    let t = tempdir();
    let home = t.path().join("u4242");
    let victim = t.path().join("root-only");
    std::fs::create_dir(&victim).unwrap();
    // The attacker's work, done as uid 4242 in a child.
    let (home_c, victim_c) = (home.clone(), victim.clone());
    // SAFETY: the child only makes syscalls and file operations, then `_exit`s.
    let forked = unsafe { nix::unistd::fork() }.unwrap();
    if let nix::unistd::ForkResult::Child = forked {
        let code = (|| -> Option<()> {
            nix::unistd::setresgid(4242.into(), 4242.into(), 4242.into()).ok()?;
            nix::unistd::setresuid(4242.into(), 4242.into(), 4242.into()).ok()?;
            std::fs::create_dir(&home_c).ok()?;
            std::os::unix::fs::symlink(&victim_c, home_c.join("d")).ok()?;
            nix::unistd::mkfifo(
                &home_c.join("fifo"),
                nix::sys::stat::Mode::from_bits(0o666)?,
            )
            .ok()?;
            std::fs::write(home_c.join("theirs.json"), b"{}").ok()?;
            std::fs::write(home_c.join("a"), b"x").ok()?;
            std::fs::hard_link(home_c.join("a"), home_c.join("b")).ok()?;
            Some(())
        })()
        .map_or(1, |()| 0);
        // SAFETY: ends the forked child.
        unsafe { libc::_exit(code) };
    }
    let nix::unistd::ForkResult::Parent { child: attacker } = forked else {
        unreachable!()
    };
    let st = nix::sys::wait::waitpid(attacker, None).unwrap();
    assert_eq!(st, nix::sys::wait::WaitStatus::Exited(attacker, 0));
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    for (target, why) in [
        ("d/report.json", "symbolic link"),
        ("fifo", "FIFO"),
        ("theirs.json", "uid 4242"),
        // A hard link the user made: to their own file (protected_hardlinks stops links
        // to ours), so it is refused as theirs.
        ("b", "uid 4242"),
    ] {
        let path = home.join(target);
        let p = path.to_str().unwrap();
        for args in [
            vec![
                "run",
                "--profile",
                profile.to_str().unwrap(),
                "--trace",
                "--report",
                p,
                "--",
                BUSYBOX,
                "true",
            ],
            vec!["record", "-o", p, "--", BUSYBOX, "true"],
        ] {
            let start = std::time::Instant::now();
            let o = run(&args, None);
            let err = text(&o.stderr);
            assert_ne!(o.status.code(), Some(0), "{args:?}: {err}");
            assert!(err.contains(why), "{args:?}: {err}");
            assert!(start.elapsed() < std::time::Duration::from_secs(10));
        }
    }
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "written through the link"
    );
    assert_eq!(std::fs::read(home.join("theirs.json")).unwrap(), b"{}");
}

/// The workload (uid 4242, rootless `run --trace`) cannot reach into
/// `run`, its unfiltered parent that holds the notify fd: `pidfd_getfd` of the parent's
/// fds, `ptrace` attach and writing `/proc/PPID/mem` all fail (the launcher is not
/// dumpable).
#[test]
fn the_workload_cannot_reach_into_the_launcher() {
    let python = python3();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let script = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ppid = os.getppid()
pfd = libc.syscall(434, ppid, 0)
stolen = [fd for fd in range(64) if pfd >= 0 and libc.syscall(438, pfd, fd, 0) >= 0]
attach = libc.ptrace(16, ppid, None, None)
try:
    open(f"/proc/{ppid}/mem", "r+b"); mem = "opened"
except OSError:
    mem = "refused"
print(f"pidfd={pfd >= 0} stolen={len(stolen)} ptrace={attach} mem={mem}")
"#;
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--no-new-privs",
            "--no-cache",
            "--trace",
            "--",
            python,
            "-S",
            "-c",
            script,
        ],
        Some(4242),
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("stolen=0 ptrace=-1 mem=refused"), "{out}");
}

/// A profile that refuses `getppid` (and, for the calls with varying arguments,
/// `getpgid`) with EPERM and allows the rest.
const LOOP_PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["getppid", "getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#;

/// Runs `script` (python3) under `run --trace --report` with `extra` options; returns the
/// report's text, the summary (stderr) and the exit status.
fn traced_python(script: &str, extra: &[&str]) -> (String, String, Option<i32>) {
    let python = python3();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, LOOP_PROFILE).unwrap();
    let report = t.path().join("report.jsonl");
    let mut args = vec![
        "run",
        "--profile",
        profile.to_str().unwrap(),
        "--no-cache",
        "--trace",
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", python, "-S", "-c", script]);
    let o = run(&args, None);
    let text = std::fs::read_to_string(&report).unwrap();
    (text, common::text(&o.stderr), o.status.code())
}

/// The count of `name` calls in the summary's table (`  20000  getppid  ...`).
fn summary_count(summary: &str, name: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let n = w.next()?.parse::<u64>().ok()?;
            (w.next() == Some(name)).then_some(n)
        })
        .unwrap_or_else(|| panic!("no {name} in the summary: {summary}"))
}

/// A workload that loops on a denied call: identical events after the first 8 are counted
/// in "repeated" lines (at each doubling and at the end) instead of a line each, and the
/// summary still counts every call.
#[test]
fn a_denied_call_in_a_loop_is_counted_not_written_line_by_line() {
    const CALLS: u64 = 20_000;
    // Every argument register set, so that the calls are identical.
    let script = format!(
        "import ctypes\nlibc = ctypes.CDLL(None)\nfor _ in range({CALLS}): libc.syscall(110, 0, 0, 0, 0, 0, 0)\n"
    );
    let (report, summary, code) = traced_python(&script, &[]);
    assert_eq!(code, Some(0), "{summary}");
    let events: Vec<Value> = lines(&report)
        .into_iter()
        .filter(|e| e["syscall"] == "getppid")
        .collect();
    let single = events
        .iter()
        .filter(|e| e.get("repeated").is_none())
        .count();
    assert_eq!(single, 8, "{report}");
    let counts: Vec<u64> = events
        .iter()
        .filter_map(|e| e["repeated"].as_u64())
        .collect();
    // 16, 32, ... 16384, then the total at the end.
    assert_eq!(counts.len(), 12, "{counts:?}");
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    let total = *counts.last().unwrap();
    assert!(total >= CALLS, "{counts:?}");
    assert!(report.len() < 16 * 1024, "{} bytes", report.len());
    assert_eq!(summary_count(&summary, "getppid"), total, "{summary}");
    assert!(
        summary.contains(&format!("{} repeated calls counted", total - 8)),
        "{summary}"
    );
}

/// Calls that all differ (an argument counts up) cannot be counted together: the report
/// stops at --report-max-bytes with a "truncated" line, and the summary counts every call.
#[test]
fn the_report_stops_at_its_size_limit_and_the_summary_counts_every_call() {
    const CALLS: u64 = 5_000;
    const LIMIT: u64 = 64 * 1024;
    let script = format!(
        "import ctypes\nlibc = ctypes.CDLL(None)\nfor i in range({CALLS}): libc.syscall(121, i + 100000, 0, 0, 0, 0, 0)\n"
    );
    let limit = LIMIT.to_string();
    let (report, summary, code) = traced_python(&script, &["--report-max-bytes", &limit]);
    assert_eq!(code, Some(0), "{summary}");
    assert!(report.len() as u64 <= LIMIT, "{} bytes", report.len());
    let all = lines(&report);
    let last = all.last().unwrap();
    assert_eq!(last["truncated"], true, "{last}");
    assert_eq!(last["maxBytes"], LIMIT, "{last}");
    let written = all.iter().filter(|e| e["syscall"] == "getpgid").count() as u64;
    assert!(written > 100 && written < CALLS, "{written}");
    assert_eq!(summary_count(&summary, "getpgid"), CALLS, "{summary}");
    assert!(
        summary.contains(&format!(
            "the report reached its limit of {LIMIT} bytes (--report-max-bytes): {} later calls",
            CALLS - written
        )),
        "{summary}"
    );
}

/// SCMP_ACT_KILL_THREAD ends only the calling thread: enforced, a multi-threaded process
/// goes on without it; traced, the agent can only end the whole process, and the summary
/// says what enforcement would have done. `check` notes the action. (The thread calls
/// `fsync`, which Python makes without holding its interpreter lock: a thread killed while
/// holding it leaves the process hung instead, the hazard the note warns of.)
#[test]
fn kill_thread_lets_the_process_go_on_and_the_trace_summary_says_so() {
    let py = python3();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["fsync"],"action":"SCMP_ACT_KILL_THREAD"}]}"#,
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    let script = "import os, threading, time\n\
                  fd = os.open('/dev/null', os.O_RDONLY)\n\
                  threading.Thread(target=os.fsync, args=(fd,), daemon=True).start()\n\
                  time.sleep(0.5)\n\
                  print('alive', flush=True)\n\
                  os._exit(0)\n";
    let enforced = run(&["run", "--profile", p, "--", py, "-c", script], None);
    assert_eq!(
        (
            enforced.status.code(),
            text(&enforced.stdout).trim().to_string()
        ),
        (Some(0), "alive".to_string()),
        "{}",
        text(&enforced.stderr)
    );
    let traced = run(
        &["run", "--profile", p, "--trace", "--", py, "-c", script],
        None,
    );
    let err = text(&traced.stderr);
    assert_eq!(traced.status.code(), Some(128 + libc::SIGKILL), "{err}");
    assert!(
        err.contains("SCMP_ACT_KILL_THREAD") && err.contains("would have gone on without it"),
        "{err}"
    );
    let check = run(&["check", p], None);
    assert!(
        text(&check.stdout).contains("[kill-thread]"),
        "{}",
        text(&check.stdout)
    );
}

#[test]
fn processes_left_behind_past_the_agent_s_grace_are_named_in_a_warning() {
    assert_busybox();
    let t = tempdir();
    let profile = t.path().join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    // The shell exits at once; its background child outlives the agent's 2 s grace.
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--trace",
            "--",
            BUSYBOX,
            "sh",
            "-c",
            &format!("{BUSYBOX} sleep 4 & exit 0"),
        ],
        None,
    );
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("left processes that still use the filter")
            && err.contains("the agent stopped 2 s after the command ended")
            && err.contains("not reported"),
        "{err}"
    );
    // A command whose processes all end in time gets no such warning.
    let o = run(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--trace",
            "--",
            BUSYBOX,
            "true",
        ],
        None,
    );
    assert!(
        !text(&o.stderr).contains("left processes"),
        "{}",
        text(&o.stderr)
    );
}
