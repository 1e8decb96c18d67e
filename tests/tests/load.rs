//! One `oci-seccomp supervise` process receives handoffs from 200
//! short-lived children at once, answers every notification, and ends with as many open
//! fds as it started with; no notification is lost and no child hangs.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use oci_seccomp::{compile, parse_profile, CompileOptions};
use oci_seccomp_load::{connect_for_spec, install, send_state};
use oci_seccomp_load::{process_state, ContainerState};

const CHILDREN: usize = 200;
const CALLS: usize = 5;

fn cli() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("oci-seccomp");
    p.is_file().then_some(p)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn wait_for(what: &str, deadline: Instant, mut ok: impl FnMut() -> bool) {
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn events(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The child: connect early, install (NOTIFY on getppid), hand the fd over, close every
/// copy, then make `CALLS` notified calls and check each was answered with CONTINUE.
fn child(spec: &oci_seccomp::LinuxSeccomp, program: &oci_seccomp::Program, i: usize) -> i32 {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    // Read before the install: std's parent_id() is itself a getppid call.
    let parent = std::os::unix::process::parent_id() as i64;
    let Ok(Some(stream)) = connect_for_spec(spec) else {
        return 10;
    };
    let Ok(Some(fd)) = install(program).map(|i| i.notify_fd) else {
        return 11;
    };
    let state = process_state(
        std::process::id() as i32,
        format!("load-{i}"),
        format!("load-{i}"),
        ContainerState::Creating,
        "/nonexistent-bundle",
        BTreeMap::new(),
    );
    if send_state(&stream, &state, fd.as_fd()).is_err() {
        return 12;
    }
    drop(fd);
    drop(stream);
    for _ in 0..CALLS {
        // SAFETY: getppid takes no arguments.
        if unsafe { libc::syscall(libc::SYS_getppid) } != parent {
            return 13;
        }
    }
    0
}

#[test]
fn one_supervisor_two_hundred_children() {
    let Some(exe) = cli() else {
        panic!("the oci-seccomp binary was not built next to the tests");
    };
    let dir = std::env::temp_dir().join(format!("oci-seccomp-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("agent.sock");
    let log = dir.join("log.jsonl");
    let mut sup = Command::new(exe)
        .args(["supervise", "--json", "--socket"])
        .arg(&sock)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    wait_for("the supervisor's socket", deadline, || sock.exists());
    std::thread::sleep(Duration::from_millis(100));
    let fds_before = open_fds(sup.id());

    let spec = parse_profile(
        &serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
        })
        .to_string(),
    )
    .unwrap();
    let program = compile(&spec, &CompileOptions::default()).unwrap();
    let mut pids = Vec::new();
    for i in 0..CHILDREN {
        // SAFETY: the test process has no other threads that hold locks across the fork
        // (the supervisor is another process); the child _exits.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                let code = child(&spec, &program, i);
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(code) };
            }
            ForkResult::Parent { child } => pids.push(child),
        }
    }
    let mut bad = Vec::new();
    let mut left: Vec<Pid> = pids.clone();
    while !left.is_empty() {
        if Instant::now() > deadline {
            for p in &left {
                let _ = kill(*p, Signal::SIGKILL);
            }
            let _ = sup.kill();
            panic!("{} children hung", left.len());
        }
        left.retain(|p| match waitpid(*p, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => true,
            Ok(WaitStatus::Exited(_, 0)) => false,
            Ok(other) => {
                bad.push(format!("{other:?}"));
                false
            }
            Err(_) => false,
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(bad.is_empty(), "children failed: {bad:?}");

    wait_for("every container to finish", deadline, || {
        events(&log)
            .iter()
            .filter(|e| e["event"] == "finished")
            .count()
            == CHILDREN
    });
    let ev = events(&log);
    let answered = ev
        .iter()
        .filter(|e| e["syscall"] == "getppid" && e["outcome"] == "answered")
        .count();
    assert_eq!(answered, CHILDREN * CALLS, "notifications answered");
    let connected = ev.iter().filter(|e| e["event"] == "connected").count();
    assert_eq!(connected, CHILDREN);
    // Threads end after logging "finished"; give them a moment to drop their fds.
    wait_for("the supervisor's fds to return", deadline, || {
        open_fds(sup.id()) == fds_before
    });
    kill(Pid::from_raw(sup.id() as i32), Signal::SIGTERM).unwrap();
    let status = sup.wait().unwrap();
    assert!(status.success(), "supervise exited with {status}");
    let _ = std::fs::remove_dir_all(&dir);
}
