//! `supervise`: the reference agent answers per policy, for many containers, and stops
//! cleanly.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{cli, need_root, require_busybox, run_in, stderr, stdout, Agent, TempDir, BIN};
use serde_json::{json, Value};

#[test]
fn notify_and_supervise_emulate_mkdir() {
    need_root();
    let t = TempDir::new("notify");
    let sock = t.path("agent.sock");
    let policy = t.write(
        "policy.json",
        r#"{"default": "continue", "syscalls": {"mkdir": "emulate-mkdir", "mkdirat": "emulate-mkdir", "rmdir": "errno:ENOMEDIUM"}}"#,
    );
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta",
                "syscalls": [{"names": ["mkdir", "mkdirat", "rmdir", "getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    // The target runs in the host's root: the agent acts for it only when told to.
    let agent = Agent::start(
        &sock,
        Some(&policy),
        &["--max-containers", "1", "--allow-host-root"],
    );
    // Relative path: created in the target's cwd. rmdir is refused by the policy;
    // getppid gets "continue" (the default).
    let o = run_in(
        &t.0,
        &[
            "run",
            "--profile",
            &p,
            "--no-cache",
            "--id",
            "ctr-1",
            "--",
            "/bin/sh",
            "-c",
            "mkdir made; echo mkdir=$?; rmdir made-meta; echo rmdir=$?",
        ],
    );
    let log = agent.finish();
    assert!(o.status.success(), "{}\n{}", stderr(&o), stderr(&log));
    let s = stdout(&o);
    assert!(s.contains("mkdir=0") && s.contains("rmdir=1"), "{s}");
    assert!(stderr(&o).contains("No medium found"), "{}", stderr(&o));
    assert!(t.0.join("made-meta").is_dir());
    assert!(!t.0.join("made").exists());
    let l = stdout(&log);
    assert!(
        l.contains("container=ctr-1") && l.contains("syscall=mkdir"),
        "{l}"
    );
    assert!(l.contains("errno ENOMEDIUM"), "{l}");
    assert!(log.status.success(), "agent: {}", stderr(&log));
}

#[test]
fn supervise_json_and_many_containers() {
    require_busybox();
    need_root();
    let t = TempDir::new("notify-many");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let policy = t.write("policy.json", r#"{"default": "value:4242"}"#);
    let n = 8;
    let agent = Agent::start(
        &sock,
        Some(&policy),
        &["--json", "--max-containers", &n.to_string()],
    );
    let runs: Vec<_> = (0..n)
        .map(|_| {
            Command::new(BIN)
                .args([
                    "run",
                    "--profile",
                    &p,
                    "--no-cache",
                    "--",
                    "/bin/busybox",
                    "sh",
                    "-c",
                    "echo $PPID",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "4242");
    }
    let log = agent.finish();
    assert!(log.status.success(), "{}", stderr(&log));
    let lines: Vec<Value> = stdout(&log)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|v| v["syscall"] == json!("getppid"))
            .count(),
        n
    );
    assert_eq!(
        lines
            .iter()
            .filter(|v| v["event"] == json!("finished"))
            .count(),
        n
    );
}

#[test]
fn supervise_refuses_bad_inputs() {
    let t = TempDir::new("supervise-bad");
    let p = t.write("policy.json", r#"{"default": "allow-everything"}"#);
    let o = cli(&["supervise", "--socket", &t.path("s.sock"), "--policy", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("allow-everything"), "{}", stderr(&o));
    let o = cli(&["supervise", "--socket", "relative.sock"]);
    assert_eq!(o.status.code(), Some(1));
    let o = cli(&[
        "supervise",
        "--socket",
        &t.path("s.sock"),
        "--policy",
        &t.path("none.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn supervise_exits_cleanly_on_sigterm() {
    let t = TempDir::new("supervise-term");
    let sock = t.path("s.sock");
    let agent = Agent::start(&sock, None, &[]);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.child.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let o = agent.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!Path::new(&sock).exists(), "socket file left behind");
}

/// A workload that loops on a notified call cannot make the agent write a line per call:
/// identical events are counted after the first few, and the counts reach the log.
#[test]
fn supervise_counts_a_workload_looping_on_a_notified_call() {
    require_busybox();
    need_root();
    let t = TempDir::new("notify-loop");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let policy = t.write("policy.json", r#"{"default": "value:7"}"#);
    for json_mode in [false, true] {
        let mut extra = vec!["--max-containers", "1"];
        if json_mode {
            extra.push("--json");
        }
        let agent = Agent::start(&sock, Some(&policy), &extra);
        // 3000 getppid calls: busybox's shell reads $PPID once, so loop on a fresh shell.
        let o = run_in(
            &t.0,
            &[
                "run",
                "--profile",
                &p,
                "--no-cache",
                "--",
                "/bin/busybox",
                "sh",
                "-c",
                "i=0; while [ $i -lt 3000 ]; do /bin/busybox sh -c 'echo $PPID' >/dev/null; i=$((i+1)); done; echo done",
            ],
        );
        let log = agent.finish();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(log.status.success(), "{}", stderr(&log));
        let l = stdout(&log);
        let lines = l.lines().count();
        // 8 lines, a count at 16, 32, ..., 2048, the final count, not-written, finished.
        assert!(lines < 40, "{lines} lines:\n{l}");
        if json_mode {
            let v: Vec<Value> = l
                .lines()
                .map(|x| serde_json::from_str(x).unwrap())
                .collect();
            // Every call counted (the outer shell reads $PPID once too).
            let counted = v.iter().filter_map(|x| x["repeated"].as_u64()).max();
            assert!(counted.is_some_and(|c| c >= 3000), "{l}");
            assert!(v.iter().any(|x| x["event"] == json!("not-written")), "{l}");
        } else {
            let counted = l
                .lines()
                .filter_map(|x| {
                    x.split(" times so far")
                        .next()?
                        .rsplit(' ')
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .max();
            assert!(counted.is_some_and(|c| c >= 3000), "{l}");
            assert!(l.contains("event line(s) not written"), "{l}");
        }
    }
}
