//! End-to-end: a forked child installs a NOTIFY filter, hands the fd over (hop 1), the
//! parent sends it to a supervisor thread (hop 2), the supervisor answers.

mod common;

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};

use common::*;
use nix::sys::wait::WaitStatus;
use serial_test::serial;

#[test]
#[serial]
fn mkdir_notify_supervisor_creates_suffixed_directory() {
    let base = unique_path("mkdir");
    let target = CString::new(base.to_str().unwrap()).unwrap();
    let handler: Handler = Box::new(|fd, n, state| {
        if n.nr != libc::SYS_mkdir as i32 {
            let _ = fd.respond_continue(n.id);
            return;
        }
        // runc's sample agent: create "<path>-<metadata>" and answer success.
        let path = match fd.read_string_arg(n, 0, 4096) {
            Ok(p) => p,
            Err(e) if e.is_target_gone() => return,
            Err(e) => panic!("read_string_arg: {e}"),
        };
        let made = format!(
            "{}-{}",
            path.to_str().unwrap(),
            state.metadata().as_deref().unwrap_or("")
        );
        std::fs::create_dir(&made).expect("supervisor mkdir");
        if fd.id_valid(n.id) {
            fd.respond_value(n.id, 0).expect("respond");
        }
    });
    let (status, seen) = run_with_supervisor(&notify_profile(&["mkdir"]), "meta1", handler, || {
        // SAFETY: a valid NUL-terminated path.
        let rc = unsafe { libc::syscall(libc::SYS_mkdir, target.as_ptr(), 0o755) };
        if rc == 0 {
            0
        } else {
            1
        }
    });
    assert_exit_ok(status);
    assert!(seen
        .notifications
        .iter()
        .any(|n| n.nr == libc::SYS_mkdir as i32));
    let made = format!("{}-meta1", base.display());
    assert!(std::path::Path::new(&made).is_dir(), "{made} missing");
    assert!(!base.exists(), "the real mkdir must not have run");
    std::fs::remove_dir(&made).unwrap();
    let st = seen.state.unwrap();
    assert_eq!(st.metadata().as_deref(), Some("meta1"));
    assert_eq!(st.fds(), &["seccompFd"]);
}

#[test]
#[serial]
fn chmod_notify_enomedium_and_continue() {
    let deny = unique_path("chmod-deny");
    let allow = unique_path("chmod-allow");
    for p in [&deny, &allow] {
        std::fs::write(p, b"x").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let deny_c = CString::new(deny.to_str().unwrap()).unwrap();
    let allow_c = CString::new(allow.to_str().unwrap()).unwrap();
    let handler: Handler = Box::new(|fd, n, _| {
        let r = match fd.read_string_arg(n, 0, 4096) {
            Ok(path) if path.to_string_lossy().contains("chmod-deny") => {
                fd.respond_errno(n.id, libc::ENOMEDIUM)
            }
            Ok(_) => fd.respond_continue(n.id),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            assert!(e.is_target_gone(), "{e}");
        }
    });
    let (status, seen) = run_with_supervisor(&notify_profile(&["chmod"]), "m", handler, || {
        // SAFETY: valid paths.
        let a = unsafe { libc::syscall(libc::SYS_chmod, deny_c.as_ptr(), 0o600) };
        let a_err = errno();
        // SAFETY: valid paths.
        let b = unsafe { libc::syscall(libc::SYS_chmod, allow_c.as_ptr(), 0o600) };
        match (a, a_err, b) {
            (-1, libc::ENOMEDIUM, 0) => 0,
            (-1, libc::ENOMEDIUM, _) => 2,
            _ => 1,
        }
    });
    assert_exit_ok(status);
    assert_eq!(seen.notifications.len(), 2);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&deny), 0o644, "ENOMEDIUM: the real chmod must not run");
    assert_eq!(mode(&allow), 0o600, "CONTINUE: the real chmod runs");
    std::fs::remove_file(&deny).unwrap();
    std::fs::remove_file(&allow).unwrap();
}

/// NOTIFY on `name`; the workload makes that syscall after the handoff; the handoff itself
/// must complete although its own syscalls may be notified.
fn notify_on(name: &str, nr: libc::c_long, workload: impl FnOnce() -> i32) {
    let (status, seen) =
        run_with_supervisor(&notify_profile(&[name]), "m", continue_all(), workload);
    assert_exit_ok(status);
    assert!(
        seen.notifications.iter().any(|n| n.nr == nr as i32),
        "the supervisor never saw {name}: {:?}",
        seen.notifications
    );
    let n = seen
        .notifications
        .iter()
        .find(|n| n.nr == nr as i32)
        .unwrap();
    assert_eq!(n.syscall_name().as_deref(), Some(name));
}

#[test]
#[serial]
fn notify_on_write() {
    notify_on("write", libc::SYS_write, || {
        // SAFETY: writes zero bytes from a valid buffer.
        let rc = unsafe { libc::write(2, b"".as_ptr().cast(), 0) };
        if rc == 0 {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_sendmsg() {
    notify_on("sendmsg", libc::SYS_sendmsg, || {
        let mut sv = [0; 2];
        // SAFETY: `sv` has room for two fds.
        if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) } != 0 {
            return 2;
        }
        let byte = [7u8];
        let mut iov = libc::iovec {
            iov_base: byte.as_ptr() as *mut _,
            iov_len: 1,
        };
        // SAFETY: an all-zero msghdr is valid; we set one iovec.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        // SAFETY: `msg` points at live buffers.
        let rc = unsafe { libc::sendmsg(sv[0], &msg, 0) };
        if rc == 1 {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_fcntl() {
    notify_on("fcntl", libc::SYS_fcntl, || {
        // SAFETY: F_GETFD on fd 0 takes no pointer.
        let rc = unsafe { libc::fcntl(0, libc::F_GETFD) };
        if rc >= 0 {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_futex() {
    notify_on("futex", libc::SYS_futex, || {
        let word = 0u32;
        // SAFETY: FUTEX_WAKE on a valid word.
        let rc =
            unsafe { libc::syscall(libc::SYS_futex, &word as *const u32, libc::FUTEX_WAKE, 1, 0) };
        if rc == 0 {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_wait4() {
    notify_on("wait4", libc::SYS_wait4, || {
        let mut st = 0;
        // SAFETY: valid status pointer; WNOHANG.
        let rc = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if rc == -1 && errno() == libc::ECHILD {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_close() {
    notify_on("close", libc::SYS_close, || {
        // SAFETY: valid path; the fd is closed right after.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
        // SAFETY: closes the fd we just opened.
        if fd >= 0 && unsafe { libc::close(fd) } == 0 {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_read() {
    notify_on("read", libc::SYS_read, || {
        // SAFETY: valid path.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
        let mut b = [0u8; 4];
        // SAFETY: valid buffer.
        if unsafe { libc::read(fd, b.as_mut_ptr().cast(), 4) } == 0 {
            0
        } else {
            1
        }
    });
}

#[test]
#[serial]
fn notify_on_exit_group() {
    // The workload just returns: the child's _exit is exit_group, notified.
    notify_on("exit_group", libc::SYS_exit_group, || 0);
}

#[test]
#[serial]
fn notify_on_many_handoff_syscalls_at_once() {
    let (status, seen) = run_with_supervisor(
        &notify_profile(&[
            "write", "sendmsg", "fcntl", "futex", "wait4", "close", "read", "getppid",
        ]),
        "m",
        continue_all(),
        || {
            // SAFETY: getppid has no preconditions.
            if unsafe { libc::getppid() } > 0 {
                0
            } else {
                1
            }
        },
    );
    assert_exit_ok(status);
    assert!(seen
        .notifications
        .iter()
        .any(|n| n.nr == libc::SYS_getppid as i32));
}

#[test]
#[serial]
fn wait_killable_recv_with_notify_installs() {
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_NOTIFY" }]
    })
    .to_string();
    let p = program(&spec(&profile));
    assert!(p
        .flags()
        .contains(oci_seccomp::FilterFlags::WAIT_KILLABLE_RECV));
    let handler: Handler = Box::new(|fd, n, _| {
        let _ = fd.respond_value(n.id, 4242);
    });
    let (status, seen) = run_with_supervisor(&profile, "m", handler, || {
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } == 4242 {
            0
        } else {
            1
        }
    });
    assert_exit_ok(status);
    assert_eq!(seen.notifications.len(), 1);
}

#[test]
#[serial]
fn add_fd_with_and_without_send() {
    let (r, w) = nix::unistd::pipe().unwrap();
    let w = Arc::new(w);
    let w2 = Arc::clone(&w);
    let calls = Arc::new(Mutex::new(0));
    let calls2 = Arc::clone(&calls);
    let handler: Handler = Box::new(move |fd, n, _| {
        let mut c = calls2.lock().unwrap();
        *c += 1;
        if *c == 1 {
            let got = fd
                .add_fd_and_respond(n.id, w2.as_fd(), true)
                .expect("ADDFD|SEND");
            assert!(got >= 0);
        } else {
            let got = fd
                .add_fd(n.id, w2.as_fd(), Some(100), false)
                .expect("ADDFD SETFD");
            assert_eq!(got, 100);
            fd.respond_value(n.id, i64::from(got)).unwrap();
        }
    });
    let (status, _) = run_with_supervisor(&notify_profile(&["getppid"]), "m", handler, || {
        // SAFETY: getppid has no preconditions; the fds come from the supervisor.
        let a = unsafe { libc::getppid() };
        // SAFETY: as above.
        let b = unsafe { libc::getppid() };
        if b != 100 {
            return 3;
        }
        // SAFETY: writes from valid buffers.
        let ok = unsafe {
            libc::write(a, b"a".as_ptr().cast(), 1) == 1
                && libc::write(b, b"b".as_ptr().cast(), 1) == 1
        };
        // SAFETY: F_GETFD takes no pointer.
        let a_cloexec = unsafe { libc::fcntl(a, libc::F_GETFD) } & libc::FD_CLOEXEC != 0;
        if ok && a_cloexec {
            0
        } else {
            1
        }
    });
    assert_exit_ok(status);
    drop(w);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut out).unwrap();
    assert_eq!(out, "ab");
}

#[test]
#[serial]
fn target_killed_is_enoent_not_fatal() {
    let outcome: Shared<Vec<String>> = Arc::new(Mutex::new(Vec::new()));
    let out2 = Arc::clone(&outcome);
    let handler: Handler = Box::new(move |fd, n, _| {
        // SAFETY: kill takes no pointers; the target is our test's child.
        unsafe { libc::kill(n.pid as i32, libc::SIGKILL) };
        let start = std::time::Instant::now();
        while fd.id_valid(n.id) && start.elapsed() < DEADLINE {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let r = fd.respond_continue(n.id);
        out2.lock().unwrap().push(match r {
            Err(e) if e.is_target_gone() => "gone".to_string(),
            other => format!("{other:?}"),
        });
    });
    let (status, seen) = run_with_supervisor(&notify_profile(&["getppid"]), "m", handler, || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
        0
    });
    assert!(
        matches!(
            status,
            WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGKILL, _)
        ),
        "{status:?}"
    );
    assert_eq!(seen.notifications.len(), 1);
    assert_eq!(*outcome.lock().unwrap(), ["gone"]);
}

/// Once the target is gone (`id_valid` false), the memory helpers refuse
/// to read for the notification instead of returning what they find at that address.
#[test]
#[serial]
fn memory_reads_refused_once_id_is_invalid() {
    let outcome: Shared<Vec<String>> = Arc::new(Mutex::new(Vec::new()));
    let out2 = Arc::clone(&outcome);
    let handler: Handler = Box::new(move |fd, n, _| {
        // While the target waits, the path can be read.
        let before = fd.read_string_arg(n, 0, 4096);
        // SAFETY: kill takes no pointers; the target is our test's child.
        unsafe { libc::kill(n.pid as i32, libc::SIGKILL) };
        let start = std::time::Instant::now();
        while fd.id_valid(n.id) && start.elapsed() < DEADLINE {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let after = fd.read_string_arg(n, 0, 4096);
        let mut out = out2.lock().unwrap();
        out.push(format!(
            "{:?}",
            before.map(|c| c.into_string().unwrap_or_default())
        ));
        out.push(match after {
            Ok(s) => format!("read {s:?}"),
            Err(e) => format!("refused: target gone={}", e.is_target_gone()),
        });
    });
    let dir = unique_path("idvalid");
    let path = CString::new(dir.to_string_lossy().as_bytes()).unwrap();
    let (status, _) = run_with_supervisor(&notify_profile(&["mkdir"]), "m", handler, move || {
        // SAFETY: a valid C string.
        unsafe { libc::mkdir(path.as_ptr(), 0o700) };
        0
    });
    assert!(
        matches!(
            status,
            WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGKILL, _)
        ),
        "{status:?}"
    );
    let out = outcome.lock().unwrap().clone();
    assert_eq!(out[0], format!("Ok({:?})", dir.to_string_lossy()));
    assert!(out[1].starts_with("refused"), "{out:?}");
    assert!(!dir.exists());
}

#[test]
#[serial]
fn workload_has_no_notify_fd_and_no_handoff_socket() {
    let (r, w) = nix::unistd::pipe().unwrap();
    let w_raw = w.as_raw_fd();
    let (status, _) =
        run_with_supervisor(&notify_profile(&["getppid"]), "m", continue_all(), || {
            // In-process check first: no seccomp notify fd left in our table.
            for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
                if let Ok(l) = std::fs::read_link(e.path()) {
                    if l.to_string_lossy().contains("seccomp") {
                        return 5;
                    }
                }
            }
            // Then the workload proper: exec ls on its own fd table.
            // SAFETY: dup2 onto stdout of the child.
            unsafe { libc::dup2(w_raw, 1) };
            let argv = [
                c"/bin/ls".as_ptr(),
                c"-l".as_ptr(),
                c"/proc/self/fd/".as_ptr(),
                std::ptr::null(),
            ];
            // SAFETY: argv is NULL-terminated and its strings are static.
            unsafe { libc::execv(argv[0], argv.as_ptr()) };
            6
        });
    drop(w);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut out).unwrap();
    assert_exit_ok(status);
    assert!(out.contains("/proc/"), "ls output: {out}");
    assert!(
        !out.contains("seccomp"),
        "a notify fd leaked into the workload:\n{out}"
    );
    assert!(
        !out.contains("socket:"),
        "a socket leaked into the workload:\n{out}"
    );
}

#[test]
#[serial]
fn supervisor_killed_pending_syscall_gets_enosys() {
    use nix::sys::signal::{kill, Signal};
    let sock = unique_path("killed.sock");
    let mut value: serde_json::Value = serde_json::from_str(&notify_profile(&["getppid"])).unwrap();
    value["listenerPath"] = sock.display().to_string().into();
    let spec = spec(&value.to_string());
    let program = program(&spec);
    let listener = oci_seccomp_load::AgentListener::bind(&sock).unwrap();
    let conn = oci_seccomp_load::connect_for_spec(&spec).unwrap().unwrap();
    let (sr, sw) = nix::unistd::pipe().unwrap();
    // The supervisor is a process: it takes one notification, reports it, and hangs.
    let supervisor = fork_child(|| {
        let (_, fd) = match listener.accept() {
            Ok(x) => x,
            Err(_) => return 2,
        };
        match fd.receive() {
            Ok(_) => {
                let _ = nix::unistd::write(&sw, b"n");
            }
            Err(_) => return 3,
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    drop(listener);
    drop(sw);
    let (parent_end, child_end) = oci_seccomp_load::handoff::channel().unwrap();
    let pid = fork_child(|| {
        set_nnp();
        if child_end.install_and_send(&program).is_err() {
            return 100;
        }
        // SAFETY: getppid has no preconditions. (glibc's getppid() returns the raw
        // -ENOSYS since getppid "cannot fail"; syscall() sets errno.)
        let rc = unsafe { libc::syscall(libc::SYS_getppid) };
        match (rc, errno()) {
            (-1, libc::ENOSYS) => 0,
            (-1, e) => 10 + e.min(100),
            _ => 1,
        }
    });
    drop(child_end);
    let fd = parent_end.receive_timeout(DEADLINE).unwrap().unwrap();
    let state = oci_seccomp_load::process_state(
        pid.as_raw(),
        "",
        "c",
        oci_seccomp_load::ContainerState::Creating,
        "/b",
        Default::default(),
    );
    oci_seccomp_load::send_state(&conn, &state, fd.as_fd()).unwrap();
    drop(conn);
    drop(fd);
    // Wait until the supervisor holds the notification, then kill it.
    let mut p = libc::pollfd {
        fd: sr.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, DEADLINE.as_millis() as i32) };
    assert_eq!(rc, 1, "the supervisor never received the notification");
    kill(supervisor, Signal::SIGKILL).unwrap();
    let st = wait_deadline(supervisor);
    assert!(
        matches!(st, WaitStatus::Signaled(_, Signal::SIGKILL, _)),
        "{st:?}"
    );
    assert_exit_ok(wait_deadline(pid));
    drop(unsafe_owned_none());
}

/// Keeps the imports honest across cfgs.
fn unsafe_owned_none() -> Option<OwnedFd> {
    let _ = OwnedFd::from_raw_fd;
    None
}
