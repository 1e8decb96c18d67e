//! The composed API ([`LaunchSeccomp`]) in forked children: each outcome of a container start,
//! and that the child is stopped exactly when nobody could answer it.

mod common;

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
use oci_seccomp_load::{process_state, ContainerState, FilterFlags, HandoffError};
use serial_test::serial;

fn state(pid: nix::unistd::Pid) -> oci_seccomp_load::ContainerProcessState {
    process_state(
        pid.as_raw(),
        "",
        "launch-test",
        ContainerState::Creating,
        "/tmp/bundle",
        Default::default(),
    )
}

/// `getppid` via the raw syscall, returning (rc, errno).
fn getppid_raw() -> (i64, i32) {
    // SAFETY: getppid takes no arguments.
    let rc = unsafe { libc::syscall(libc::SYS_getppid) };
    (rc, if rc < 0 { errno() } else { 0 })
}

#[test]
#[serial]
fn no_notify_rule_gives_no_fd_and_reports_the_flags() {
    let spec = spec(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]}"#,
    );
    let (parent, child) = LaunchSeccomp::with_agent(program(&spec), None)
        .unwrap()
        .split();
    let pid = fork_child(move || {
        set_nnp();
        if child.install().is_err() {
            return 2;
        }
        i32::from(getppid_raw() != (-1, 77))
    });
    match parent.complete(pid.as_raw(), state(pid)) {
        Ok(Delivery::NoListener { status }) => {
            assert!(!status.flags.contains(FilterFlags::NEW_LISTENER));
        }
        other => panic!("{other:?}"),
    }
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn notify_on_write_without_agent_returns_the_fd_and_the_caller_answers() {
    // NOTIFY on write: the child's own handoff must not need write.
    let spec = spec(&notify_profile(&["write"]));
    let (parent, child) = LaunchSeccomp::with_agent(program(&spec), None)
        .unwrap()
        .split();
    let pid = fork_child(move || {
        set_nnp();
        if child.install().is_err() {
            return 2;
        }
        // SAFETY: a one-byte static buffer; the supervisor answers ERRNO(EROFS), so
        // nothing reaches stdout.
        let rc = unsafe { libc::write(1, b"x".as_ptr().cast(), 1) };
        i32::from(!(rc == -1 && errno() == libc::EROFS))
    });
    let (fd, status) = match parent.complete(pid.as_raw(), state(pid)) {
        Ok(Delivery::Fd { notify_fd, status }) => (notify_fd, status),
        other => panic!("{other:?}"),
    };
    assert!(status.flags.contains(FilterFlags::NEW_LISTENER));
    let fd = oci_seccomp_load::NotifyFd::new(fd);
    let n = fd
        .receive_timeout(DEADLINE)
        .expect("receive")
        .expect("a notification");
    assert_eq!(n.nr, libc::SYS_write as i32);
    fd.respond_errno(n.id, libc::EROFS).expect("respond");
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn a_child_that_dies_in_its_setup_is_reported_at_once_not_at_the_timeout() {
    let spec = spec(&notify_profile(&["mkdir"]));
    let launch = LaunchSeccomp::with_agent(program(&spec), None)
        .unwrap()
        .with_timeout(Duration::from_secs(20));
    let (parent, _child) = launch.split();
    let start = Instant::now();
    // The set-up (mounts, credentials...) fails before the install.
    let pid = fork_child(|| 42);
    let err = parent.complete(pid.as_raw(), state(pid)).unwrap_err();
    assert!(matches!(err, HandoffError::ChildExited { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // Not killed: it exited with its own status, which the runtime reports.
    assert_eq!(wait_deadline(pid), WaitStatus::Exited(pid, 42));
}

#[test]
#[serial]
fn a_failed_install_is_returned_and_the_child_is_not_killed() {
    let spec = spec(&notify_profile(&["mkdir"]));
    let (parent, child) = LaunchSeccomp::with_agent(program(&spec), None)
        .unwrap()
        .split();
    let pid = fork_child(move || {
        // No no-new-privileges and no CAP_SYS_ADMIN: the kernel refuses the filter.
        if !drop_cap_sys_admin() {
            return 3;
        }
        match child.install() {
            Err(HandoffError::Install(oci_seccomp_load::LoadError::NoPrivilege)) => 7,
            _ => 8,
        }
    });
    let err = parent.complete(pid.as_raw(), state(pid)).unwrap_err();
    assert!(
        matches!(
            err,
            HandoffError::Install(oci_seccomp_load::LoadError::NoPrivilege)
        ),
        "{err:?}"
    );
    assert_eq!(wait_deadline(pid), WaitStatus::Exited(pid, 7));
}

#[test]
#[serial]
fn an_agent_that_hung_up_gets_the_child_killed() {
    // The agent accepted and closed: the send fails, and the child, blocked in a NOTIFY
    // syscall nobody can answer, must be killed rather than left hanging.
    let (ours, theirs) = UnixStream::pair().unwrap();
    drop(theirs);
    let spec = spec(&notify_profile(&["getppid"]));
    let (parent, child) = LaunchSeccomp::with_agent(program(&spec), Some(ours))
        .unwrap()
        .split();
    let pid = fork_child(move || {
        set_nnp();
        if child.install().is_err() {
            return 2;
        }
        getppid_raw();
        0
    });
    let err = parent.complete(pid.as_raw(), state(pid)).unwrap_err();
    assert!(err.to_string().contains("seccomp agent"), "{err}");
    assert_eq!(
        wait_deadline(pid),
        WaitStatus::Signaled(pid, Signal::SIGKILL, false)
    );
}

/// A child that installs under a NOTIFY profile and then makes the notified call.
fn notify_child(child: oci_seccomp_load::LaunchSeccompChild) -> nix::unistd::Pid {
    fork_child(move || {
        set_nnp();
        if child.install().is_err() {
            return 2;
        }
        getppid_raw();
        0
    })
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[test]
#[serial]
fn a_pid_that_is_not_a_child_is_refused_and_never_signalled() {
    // A process that is not ours: a background sleep whose shell has exited.
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"])
        .output()
        .unwrap();
    let stranger: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let spec = spec(&notify_profile(&["getppid"]));
    for wrong in [stranger, 0, -1] {
        let (parent, child) = LaunchSeccomp::with_agent(program(&spec), None)
            .unwrap()
            .split();
        let pid = notify_child(child);
        let err = parent.complete(wrong, state(pid)).unwrap_err();
        assert!(err.to_string().contains("fork returned"), "{wrong}: {err}");
        // The real child waits on the abandoned handoff and gives up without a syscall;
        // kill it here.
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        let _ = wait_deadline(pid);
    }
    assert!(alive(stranger), "the stranger must not be signalled");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(stranger), Signal::SIGKILL);
}

#[test]
#[serial]
fn another_child_of_ours_is_refused_and_never_signalled() {
    let mut other = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let spec = spec(&notify_profile(&["getppid"]));
    let (parent, child) = LaunchSeccomp::with_agent(program(&spec), None)
        .unwrap()
        .split();
    let pid = notify_child(child);
    let err = parent.complete(other.id() as i32, state(pid)).unwrap_err();
    assert!(matches!(err, HandoffError::WrongChild { .. }), "{err:?}");
    assert!(
        alive(other.id() as i32),
        "the other child must not be signalled"
    );
    other.kill().unwrap();
    other.wait().unwrap();
    let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    let _ = wait_deadline(pid);
}
