//! `run` of a command: the filter installed, denials, kills, the listener, the report
//! options.

mod common;

use std::path::Path;

use common::{
    busybox, cli, need_root, require_busybox, run_in, stderr, stdout, Agent, TempDir, DENY,
};
use serde_json::{json, Value};

/// `"Includes"` is moby's `includes` (Go reads keys in any case). The
/// rendered default profile plus an `unshare` ALLOW entry that only holders of
/// CAP_SYS_ADMIN get: read as plain OCI the condition would vanish and `unshare` would be
/// allowed; read as moby with Docker's default capabilities it is not. (`unshare -u`:
/// busybox's `-m` also calls mount, which the default profile refuses anyway.)
#[test]
fn run_reads_docker_keys_in_any_case() {
    need_root();
    require_busybox();
    let t = TempDir::new("run-includes");
    let o = cli(&["render", "--default"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["syscalls"].as_array_mut().unwrap().push(json!(
        {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "Includes": {"caps": ["CAP_SYS_ADMIN"]}}));
    let p = t.write("includes.json", &v.to_string());
    let bb = busybox().unwrap().display().to_string();
    let o = cli(&[
        "run",
        "--no-cache",
        "--profile",
        &p,
        "--",
        &bb,
        "unshare",
        "-u",
        &bb,
        "echo",
        "unshared",
    ]);
    assert!(
        !stdout(&o).contains("unshared"),
        "unshare(CLONE_NEWUTS) was allowed: {}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("unshare"), "{}", stderr(&o));
}

#[test]
fn run_denies_with_errno() {
    need_root();
    let t = TempDir::new("run-deny");
    let p = t.write("deny.json", DENY);
    let target = t.path("made");
    let script = format!("mkdir {target}; echo mkdir=$?");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("mkdir=1"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new(&target).exists());
    // The exit status passes through; the cache directory is used.
    let cache = t.path("cache");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--cache-dir",
        &cache,
        "--",
        "/bin/sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(std::fs::read_dir(&cache).unwrap().count() >= 1);
    // Without seccomp mkdir works.
    let o = cli(&["run", "--no-seccomp", "--", "/bin/mkdir", &target]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(Path::new(&target).is_dir());
}

#[test]
fn run_killed_by_kill_rule() {
    need_root();
    require_busybox();
    let t = TempDir::new("run-kill");
    let p = t.write(
        "kill.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
    );
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "echo $PPID",
    ]);
    assert_eq!(o.status.code(), Some(128 + 31), "{}", stderr(&o));
    assert!(stderr(&o).contains("killed by SIGSYS"), "{}", stderr(&o));
}

#[test]
fn run_embedded_default_refuses_user_namespaces() {
    need_root();
    let o = cli(&[
        "run",
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        "unshare --user true",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn run_renders_a_docker_profile() {
    need_root();
    let t = TempDir::new("run-moby");
    let p = t.write(
        "moby.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    );
    let target = t.path("m");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/mkdir",
        &target,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!Path::new(&target).exists());
}

#[test]
fn run_refuses_bad_inputs() {
    let t = TempDir::new("run-bad");
    let o = cli(&["run", "--no-seccomp", "--", "/nonexistent/cmd"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot execute"), "{}", stderr(&o));
    let o = cli(&["run", "--profile", &t.path("missing.json"), "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    let p = t.write("bad.json", "{\"defaultAction\": ");
    let o = cli(&["run", "--profile", &p, "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
    // NOTIFY without a listener path is refused (as runc does).
    let p = t.write(
        "notify.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    let o = cli(&["run", "--profile", &p, "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("listenerPath"), "{}", stderr(&o));
}

/// `errnoRet` on ALLOW (and `defaultErrnoRet` on a KILL default) is an
/// error naming the field, and nothing runs (runc ignores the field; crun and the runtime
/// spec fail).
#[test]
fn run_refuses_errno_ret_on_allow() {
    let t = TempDir::new("run-errno-allow");
    let marker = t.path("ran");
    let script = format!("touch {marker}");
    for (name, json, field) in [
        (
            "allow.json",
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 38}]}"#,
            "syscalls[0].errnoRet",
        ),
        (
            "kill.json",
            r#"{"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}"#,
            "defaultErrnoRet",
        ),
    ] {
        let p = t.write(name, json);
        let o = cli(&[
            "run",
            "--profile",
            &p,
            "--no-cache",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(field), "{name}: {}", stderr(&o));
        assert!(!Path::new(&marker).exists(), "{name}: the command ran");
        let o = cli(&["check", &p]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(stdout(&o).contains(field), "{name}: {}", stdout(&o));
    }
}

#[test]
fn run_listener_nobody_listens_fails_before_the_command() {
    let t = TempDir::new("run-nolistener");
    let p = t.write(
        "notify.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    let witness = t.path("ran");
    let sock = t.path("nobody.sock");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--listener",
        &sock,
        "--",
        "/bin/touch",
        &witness,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("nobody.sock"), "{}", stderr(&o));
    assert!(!Path::new(&witness).exists(), "the command ran");
}

/// The workload started by `run` holds no notify fd, no handoff or listener socket and no
/// cache file: only what it inherited on purpose (stdio).
#[test]
fn run_leaks_no_fd_into_the_workload() {
    need_root();
    let t = TempDir::new("fdleak");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let agent = Agent::start(&sock, None, &["--max-containers", "1"]);
    let cache = t.path("cache");
    let o = run_in(
        &t.0,
        &[
            "run",
            "--profile",
            &p,
            "--cache-dir",
            &cache,
            "--",
            "/bin/ls",
            "-l",
            "/proc/self/fd",
        ],
    );
    let _ = agent.finish();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    let fds: Vec<&str> = s.lines().filter(|l| l.contains(" -> ")).collect();
    for l in &fds {
        assert!(
            !l.contains("seccomp") && !l.contains("socket:") && !l.contains("cache"),
            "leaked: {l}\n{s}"
        );
    }
    // 0, 1, 2 and the directory ls itself opened.
    assert!(fds.len() <= 4, "{s}");
}

/// The report options say what they need rather than being ignored.
#[test]
fn report_options_without_trace_are_usage_errors() {
    for extra in [
        &["--report", "r.jsonl"][..],
        &["--report-max-bytes", "5000"][..],
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "/bin/true"]);
        let o = cli(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("needs --trace or --complain"),
            "{}",
            stderr(&o)
        );
    }
}
