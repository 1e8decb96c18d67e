//! Trace, complain and record mode in the kernel: the routed filter in a forked child, the
//! [`Tracer`] answering in the parent (directly, or in [`Agent`]'s thread).

mod common;

use std::sync::mpsc;

use common::*;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use oci_seccomp::trace::route_denials;
use oci_seccomp::Cause;
use oci_seccomp::{Action, CompileOptions, Profile};
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
use oci_seccomp_load::trace::{Agent, AgentError, Event, Mode, Taken, Tracer};
use oci_seccomp_load::{process_state, ContainerState, NotifyFd};
use serial_test::serial;

const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77},
    {"names": ["getpgrp"], "action": "SCMP_ACT_TRACE"},
    {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
    {"names": ["setsid"], "action": "SCMP_ACT_KILL_PROCESS"},
    {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
     "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#;

/// Raw syscall with up to two arguments: (rc, errno).
fn sys(nr: libc::c_long, a: u64, b: u64) -> (i64, i32) {
    // SAFETY: the syscalls used here take integers only.
    let rc = unsafe { libc::syscall(nr, a, b) };
    (rc, if rc < 0 { errno() } else { 0 })
}

/// Runs `workload` in a child under the routed PROFILE with a tracer in `mode` in this
/// process; returns the child's status and the events.
fn traced(mode: Mode, workload: impl FnOnce() -> i32) -> (WaitStatus, Vec<Event>) {
    let spec = spec(PROFILE);
    let profile = Profile::from_oci(&spec, false).unwrap();
    let options = CompileOptions::default();
    let original = oci_seccomp::compile(&spec, &options).unwrap();
    let routed = route_denials(&original).unwrap();
    let tracer = Tracer::new(original, &profile, &options, mode);
    let (pid, fd) = launch_routed(routed, workload);
    let fd = NotifyFd::new(fd);
    let (tx, rx) = mpsc::channel();
    let agent = std::thread::spawn(move || tracer.serve(&fd, |e| tx.send(e).unwrap()));
    let status = wait_deadline(pid);
    agent.join().unwrap().expect("serve");
    (status, rx.try_iter().collect())
}

/// Forks `workload` under `routed` (with no-new-privileges) and takes the notify fd it
/// hands back; returns the child and the fd.
fn launch_routed(
    routed: oci_seccomp::Program,
    workload: impl FnOnce() -> i32,
) -> (nix::unistd::Pid, std::os::fd::OwnedFd) {
    let (parent, child) = LaunchSeccomp::with_agent(routed, None)
        .unwrap()
        .with_timeout(DEADLINE)
        .split();
    let pid = fork_child(move || {
        set_nnp();
        if child.install().is_err() {
            return 100;
        }
        workload()
    });
    let state = process_state(
        pid.as_raw(),
        "",
        "trace",
        ContainerState::Creating,
        "/b",
        Default::default(),
    );
    match parent.complete(pid.as_raw(), state) {
        Ok(Delivery::Fd { notify_fd, .. }) => (pid, notify_fd),
        other => panic!("{other:?}"),
    }
}

fn nr(name: &str) -> i32 {
    oci_seccomp::arch::resolve(name, oci_seccomp::arch::native()).unwrap()
}

#[test]
#[serial]
fn trace_enforces_every_action_and_names_the_entry() {
    let (status, events) = traced(Mode::Trace, || {
        let checks = [
            sys(libc::SYS_getppid, 0, 0) == (-1, 77),
            // TRACE without a tracer: ENOSYS, as the kernel.
            sys(libc::SYS_getpgrp, 0, 0) == (-1, libc::ENOSYS),
            // ERRNO(0): returns 0 without running.
            sys(libc::SYS_getuid, 0, 0) == (0, 0),
            // The condition: only `which == 2` is denied.
            sys(libc::SYS_getpriority, 2, 0) == (-1, 5),
            sys(libc::SYS_getpriority, 0, 0).0 >= 0,
            // Allowed calls never reach the agent.
            sys(libc::SYS_getpid, 0, 0).0 > 0,
        ];
        if let Some(i) = checks.iter().position(|ok| !ok) {
            return 10 + i as i32;
        }
        sys(libc::SYS_setsid, 0, 0);
        // Not reached: KILL_PROCESS.
        1
    });
    assert_eq!(
        status,
        WaitStatus::Signaled(
            nix::unistd::Pid::from_raw(events[0].pid.unwrap()),
            Signal::SIGKILL,
            false
        )
    );
    let got: Vec<(i32, Action, Cause, Taken)> = events
        .iter()
        .map(|e| (e.nr, e.action, e.decided_by.clone(), e.taken))
        .collect();
    assert_eq!(
        got,
        [
            (
                nr("getppid"),
                Action::Errno(77),
                Cause::Entry(0),
                Taken::Errno(77)
            ),
            (
                nr("getpgrp"),
                Action::Trace(1),
                Cause::Entry(1),
                Taken::Errno(libc::ENOSYS)
            ),
            (
                nr("getuid"),
                Action::Errno(0),
                Cause::Entry(2),
                Taken::Errno(0)
            ),
            (
                nr("getpriority"),
                Action::Errno(5),
                Cause::Entry(4),
                Taken::Errno(5)
            ),
            (
                nr("setsid"),
                Action::KillProcess,
                Cause::Entry(3),
                Taken::Killed
            ),
        ]
    );
    let e = &events[0];
    assert_eq!(e.syscall().as_deref(), Some("getppid"));
    assert_eq!(e.pid, Some(e.tid as i32));
    assert!(!e.comm.is_empty());
    assert_eq!(events[3].args[0], 2);
}

#[test]
#[serial]
fn complain_reports_the_same_calls_and_lets_them_run() {
    let (status, events) = traced(Mode::Complain, || {
        let ok = sys(libc::SYS_getppid, 0, 0).0 > 0
            && sys(libc::SYS_getpgrp, 0, 0).0 > 0
            && sys(libc::SYS_getpriority, 2, 0).0 >= 0;
        i32::from(!ok)
    });
    assert_exit_ok(status);
    let got: Vec<(i32, Action, Taken)> = events.iter().map(|e| (e.nr, e.action, e.taken)).collect();
    assert_eq!(
        got,
        [
            (nr("getppid"), Action::Errno(77), Taken::Continued),
            (nr("getpgrp"), Action::Trace(1), Taken::Continued),
            (nr("getpriority"), Action::Errno(5), Taken::Continued),
        ]
    );
}

#[test]
fn a_profile_that_notifies_for_its_own_agent_cannot_be_traced() {
    let p = program(&spec(&notify_profile(&["mkdir"])));
    let e = route_denials(&p).unwrap_err();
    assert!(e.to_string().contains("SCMP_ACT_NOTIFY"), "{e}");
}

/// Once the agent's listener is gone (its process killed), the
/// workload must not install a listener of its own and answer its denied calls itself.
/// The routed filter's guard fails that `seccomp(2)` with EBUSY, and a denied call fails
/// with ENOSYS (the kernel's answer without a listener): it never runs.
#[test]
#[serial]
fn without_the_agent_the_workload_cannot_take_over_its_denials() {
    let spec = spec(PROFILE);
    let original = oci_seccomp::compile(&spec, &CompileOptions::default()).unwrap();
    let routed = route_denials(&original).unwrap();
    let (parent, child) = LaunchSeccomp::with_agent(routed, None)
        .unwrap()
        .with_timeout(DEADLINE)
        .split();
    let (ready_r, ready_w) = nix::unistd::pipe().unwrap();
    let pid = fork_child(move || {
        set_nnp();
        if child.install().is_err() {
            return 100;
        }
        // Wait until the parent has dropped the listener.
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&ready_r, &mut b);
        let allow = [libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        }];
        let prog = libc::sock_fprog {
            len: 1,
            filter: allow.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: a valid one-instruction program that outlives the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &prog as *const libc::sock_fprog,
            )
        };
        if !(rc == -1 && errno() == libc::EBUSY) {
            return 10;
        }
        if sys(libc::SYS_getppid, 0, 0) != (-1, libc::ENOSYS) {
            return 11;
        }
        0
    });
    let state = process_state(
        pid.as_raw(),
        "",
        "takeover",
        ContainerState::Creating,
        "/b",
        Default::default(),
    );
    match parent.complete(pid.as_raw(), state) {
        // The agent "dies": its copy of the listener is closed at once.
        Ok(Delivery::Fd { notify_fd, .. }) => drop(notify_fd),
        other => panic!("{other:?}"),
    }
    nix::unistd::write(&ready_w, b"x").unwrap();
    assert_exit_ok(wait_deadline(pid));
}

/// [`Agent`]: the routed filter in a child, the notify fd given to the agent's handler, a
/// thread of this process answering as the profile would; `finish` sees it end.
#[test]
#[serial]
fn the_in_process_agent_answers_from_its_own_thread_and_finishes() {
    let spec = spec(PROFILE);
    let original = oci_seccomp::compile(&spec, &CompileOptions::default()).unwrap();
    let (tx, rx) = mpsc::channel();
    let agent = Agent::start(&spec, original, Mode::Trace, move |e| {
        tx.send((e.nr, e.taken)).unwrap();
    })
    .unwrap();
    let (pid, fd) = launch_routed(agent.routed().clone(), || {
        i32::from(sys(libc::SYS_getppid, 0, 0) != (-1, 77))
    });
    agent.fd_handler()(fd);
    assert_exit_ok(wait_deadline(pid));
    assert!(agent.finish(DEADLINE), "the serving thread did not end");
    let got: Vec<(i32, Taken)> = rx.try_iter().collect();
    assert_eq!(got, [(nr("getppid"), Taken::Errno(77))]);
}

#[test]
fn an_agent_is_not_started_for_a_program_that_notifies_already() {
    let spec = spec(&notify_profile(&["mkdir"]));
    let e = Agent::start(&spec, program(&spec), Mode::Trace, |_| {}).unwrap_err();
    assert!(matches!(e, AgentError::Route(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot route this profile's denials: "),
        "{e}"
    );
}

#[test]
#[serial]
fn events_name_the_calling_thread_its_process_and_its_current_comm() {
    let (status, events) = traced(Mode::Trace, || {
        let name = |n: &[u8]| {
            // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
            unsafe { libc::prctl(libc::PR_SET_NAME, n.as_ptr(), 0, 0, 0) };
        };
        name(b"before\0");
        let first = sys(libc::SYS_getppid, 0, 0);
        // The same thread, known to the agent by now, renamed.
        name(b"after\0");
        let second = sys(libc::SYS_getppid, 0, 0);
        // Another thread of the process, seen for the first time.
        let other = std::thread::spawn(move || {
            name(b"worker\0");
            sys(libc::SYS_getppid, 0, 0)
        })
        .join()
        .unwrap_or((0, 0));
        i32::from(!(first == (-1, 77) && second == (-1, 77) && other == (-1, 77)))
    });
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    let denied: Vec<&Event> = events.iter().filter(|e| e.nr == nr("getppid")).collect();
    assert_eq!(denied.len(), 3, "{events:#?}");
    let comms: Vec<&str> = denied.iter().map(|e| e.comm.as_str()).collect();
    assert_eq!(comms, ["before", "after", "worker"]);
    let child = denied[0].tid as i32;
    assert!(denied.iter().all(|e| e.pid == Some(child)), "{denied:#?}");
    assert_eq!(denied[1].tid, denied[0].tid);
    assert_ne!(denied[2].tid, denied[0].tid, "the worker is another thread");
}
