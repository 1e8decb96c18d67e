//! Hop 1 on its own: errors and outcomes of the fork-time channel.

mod common;

use common::*;
use oci_seccomp_load::handoff;
use oci_seccomp_load::{HandoffError, LoadError};
use serial_test::serial;
use std::time::Duration;

#[test]
#[serial]
fn program_without_notify_hands_over_nothing() {
    let program = program(&spec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ));
    let (parent_end, child_end) = handoff::channel().unwrap();
    let pid = fork_child(|| {
        set_nnp();
        match child_end.install_and_send(&program) {
            Ok(_) => 0,
            Err(_) => 1,
        }
    });
    drop(child_end);
    assert!(parent_end.receive_timeout(DEADLINE).unwrap().is_none());
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn install_error_reaches_the_parent() {
    let program = program(&spec(&notify_profile(&["getppid"])));
    let (parent_end, child_end) = handoff::channel().unwrap();
    let pid = fork_child(|| {
        // Neither NNP nor CAP_SYS_ADMIN: drop the capability from the bounding-free sets.
        let mut h = [0x2008_0522u32, 0];
        let mut d = [0u32; 6];
        // SAFETY: capget/capset v3 with a header and two data structs.
        unsafe {
            libc::syscall(libc::SYS_capget, h.as_mut_ptr(), d.as_mut_ptr());
            d[0] &= !(1 << 21);
            d[1] &= !(1 << 21);
            libc::syscall(libc::SYS_capset, h.as_mut_ptr(), d.as_ptr());
        }
        match child_end.install_and_send(&program) {
            Err(HandoffError::Install(LoadError::NoPrivilege)) => 0,
            _ => 1,
        }
    });
    drop(child_end);
    let e = parent_end.receive_timeout(DEADLINE).unwrap_err();
    assert!(
        matches!(e, HandoffError::Install(LoadError::NoPrivilege)),
        "{e:?}"
    );
    assert!(e.to_string().contains("set process.noNewPrivileges"), "{e}");
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn parent_that_gives_up_makes_the_child_install_nothing() {
    let program = program(&spec(&notify_profile(&["getppid"])));
    let (parent_end, child_end) = handoff::channel().unwrap();
    drop(parent_end); // the runtime gave up before the child started
    let pid = fork_child(|| {
        set_nnp();
        match child_end.install_and_send(&program) {
            Err(HandoffError::Abandoned) => {}
            _ => return 1,
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if status.contains("Seccomp:\t0") {
            0
        } else {
            2
        }
    });
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn child_that_never_starts_is_a_timeout() {
    let (parent_end, child_end) = handoff::channel().unwrap();
    let pid = fork_child(|| 0);
    drop(child_end);
    let e = parent_end
        .receive_timeout(Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(e, HandoffError::Timeout { .. }), "{e:?}");
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn the_parent_gets_a_working_cloexec_notify_fd() {
    let program = program(&spec(&notify_profile(&["getppid"])));
    let (parent_end, child_end) = handoff::channel().unwrap();
    let pid = fork_child(|| {
        set_nnp();
        if child_end.install_and_send(&program).is_err() {
            return 1;
        }
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::syscall(libc::SYS_getppid) } == 99 {
            0
        } else {
            2
        }
    });
    drop(child_end);
    let fd = parent_end.receive_timeout(DEADLINE).unwrap().unwrap();
    // SAFETY: F_GETFD takes no pointer.
    let flags = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETFD) };
    assert_ne!(flags & libc::FD_CLOEXEC, 0);
    let notify = oci_seccomp_load::NotifyFd::new(fd);
    let n = notify
        .receive_timeout(DEADLINE)
        .unwrap()
        .expect("a notification");
    assert_eq!(n.nr, libc::SYS_getppid as i32);
    assert_eq!(n.pid as i32, pid.as_raw());
    assert!(notify.id_valid(n.id));
    notify.respond_value(n.id, 99).unwrap();
    assert_exit_ok(wait_deadline(pid));
    assert!(matches!(
        notify.receive_timeout(DEADLINE),
        Err(oci_seccomp_load::NotifyError::AllTargetsGone)
    ));
}

/// A container's init in a new pid namespace publishes pid 1. With the pid `fork` gave
/// ([`handoff::ParentEnd::for_child`]) the handoff works; without it the parent refuses
/// (pid 1 in its own namespace is not its child) instead of copying another process's fd.
#[test]
#[serial]
fn child_in_a_new_pid_namespace() {
    let program = program(&spec(&notify_profile(&["getppid"])));
    for give_pid in [true, false] {
        let runtime = fork_child(|| {
            // The runtime: its next child becomes pid 1 of a new pid namespace.
            // SAFETY: unshare takes flags only.
            if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
                return 10;
            }
            let (parent_end, child_end) = handoff::channel().unwrap();
            let init = fork_child(|| {
                if std::process::id() != 1 {
                    return 20;
                }
                set_nnp();
                // Without the pid the parent gives up: the fd stays with us; exit anyway.
                match child_end.install_and_send(&program) {
                    Ok(_) | Err(HandoffError::Abandoned) => 0,
                    Err(_) => 21,
                }
            });
            drop(child_end);
            let end = if give_pid {
                parent_end.for_child(init.as_raw())
            } else {
                parent_end
            };
            let r = end.receive_timeout(DEADLINE);
            let code = match (give_pid, r) {
                (true, Ok(Some(fd))) => {
                    let link = std::fs::read_link(format!(
                        "/proc/self/fd/{}",
                        std::os::fd::AsRawFd::as_raw_fd(&fd)
                    ));
                    if link.is_ok_and(|l| l.as_os_str() == "anon_inode:seccomp notify") {
                        0
                    } else {
                        11
                    }
                }
                (false, Err(e)) if e.to_string().contains("for_child") => 0,
                _ => 12,
            };
            let _ = nix::sys::signal::kill(init, nix::sys::signal::Signal::SIGKILL);
            let _ = wait_deadline(init);
            code
        });
        assert_exit_ok(wait_deadline(runtime));
    }
}
