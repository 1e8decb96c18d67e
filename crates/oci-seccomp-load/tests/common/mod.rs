//! Helpers shared by the integration tests: forked children with deadlines, and a
//! supervisor thread.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_seccomp::{compile, parse_profile, CompileOptions, LinuxSeccomp, Program};
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
use oci_seccomp_load::notify::{AgentListener, Notification, NotifyFd};
use oci_seccomp_load::AllowedPeers;
use oci_seccomp_load::{process_state, ContainerProcessState, ContainerState};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, unique path under /tmp.
pub fn unique_path(what: &str) -> std::path::PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::path::PathBuf::from(format!(
        "/tmp/oci-seccomp-load-{}-{}-{n}",
        std::process::id(),
        what
    ))
}

pub fn spec(json: &str) -> LinuxSeccomp {
    parse_profile(json).expect("test profile parses")
}

pub fn program(spec: &LinuxSeccomp) -> Program {
    compile(spec, &CompileOptions::default()).expect("test profile compiles")
}

pub use oci_seccomp_test_support::{fork_child, DEADLINE};

/// Sets no-new-privileges in the calling (child) process. Tests only: the library never does.
pub fn set_nnp() {
    assert!(oci_seccomp_test_support::set_no_new_privs());
}

/// Waits for `pid` until `DEADLINE`; SIGKILLs it and panics when it is late.
pub fn wait_deadline(pid: Pid) -> WaitStatus {
    wait_for(pid, DEADLINE)
}

/// Waits for `pid` at most `limit`; SIGKILLs it and panics when it is late.
pub fn wait_for(pid: Pid, limit: Duration) -> WaitStatus {
    oci_seccomp_test_support::wait_within(pid, limit)
        .unwrap_or_else(|| panic!("child {pid} did not finish within {limit:?}: deadlock?"))
}

/// Asserts that the child exited with code 0.
pub fn assert_exit_ok(status: WaitStatus) {
    assert_eq!(
        status,
        WaitStatus::Exited(
            match status {
                WaitStatus::Exited(p, _) => p,
                WaitStatus::Signaled(p, _, _) => p,
                _ => Pid::from_raw(0),
            },
            0
        ),
        "child failed: {status:?}"
    );
}

/// What the supervisor thread saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub state: Option<ContainerProcessState>,
    pub notifications: Vec<Notification>,
    pub errors: Vec<String>,
}

pub type Handler = Box<dyn FnMut(&NotifyFd, &Notification, &ContainerProcessState) + Send>;

/// A supervisor thread on `listener`: accepts one runtime message, opts into sync
/// wake-up, and handles notifications with `handler` until every target is gone.
pub fn spawn_supervisor(listener: AgentListener, mut handler: Handler) -> JoinHandle<Seen> {
    std::thread::spawn(move || {
        let mut seen = Seen::default();
        let (state, fd) = match listener.accept_timeout(DEADLINE) {
            Ok(Some(x)) => x,
            Ok(None) => {
                seen.errors.push("no runtime connected".into());
                return seen;
            }
            Err(e) => {
                seen.errors.push(format!("accept: {e}"));
                return seen;
            }
        };
        if let Err(e) = fd.set_sync_wakeup() {
            seen.errors.push(format!("set_sync_wakeup: {e}"));
        }
        let start = Instant::now();
        loop {
            if start.elapsed() > DEADLINE {
                seen.errors.push("supervisor deadline".into());
                break;
            }
            match fd.receive_timeout(Duration::from_millis(200)) {
                Ok(Some(n)) => {
                    seen.notifications.push(n);
                    handler(&fd, &n, &state);
                }
                Ok(None) => {}
                Err(e) if e.is_target_gone() => {}
                Err(oci_seccomp_load::NotifyError::AllTargetsGone) => break,
                Err(e) => {
                    seen.errors.push(format!("receive: {e}"));
                    break;
                }
            }
        }
        seen.state = Some(state);
        seen
    })
}

/// A handler that answers CONTINUE to everything.
pub fn continue_all() -> Handler {
    Box::new(|fd, n, _| {
        let _ = fd.respond_continue(n.id);
    })
}

/// The whole flow of a runtime: listener + supervisor thread, connect early, fork, the
/// child installs and hands over (hop 1), the parent sends to the supervisor (hop 2), the
/// child runs `workload`. Returns the child's exit status and what the supervisor saw.
pub fn run_with_supervisor(
    profile_json_without_listener: &str,
    metadata: &str,
    handler: Handler,
    workload: impl FnOnce() -> i32,
) -> (WaitStatus, Seen) {
    run_with_supervisor_setup(
        profile_json_without_listener,
        metadata,
        handler,
        || true,
        workload,
    )
}

/// [`run_with_supervisor`] with `setup` run in the child before it installs its filter
/// (chroot, chdir, dropping credentials); the child exits 99 when `setup` says false.
pub fn run_with_supervisor_setup(
    profile_json_without_listener: &str,
    metadata: &str,
    handler: Handler,
    setup: impl FnOnce() -> bool,
    workload: impl FnOnce() -> i32,
) -> (WaitStatus, Seen) {
    let sock = unique_path("agent.sock");
    let mut value: serde_json::Value = serde_json::from_str(profile_json_without_listener).unwrap();
    value["listenerPath"] = sock.display().to_string().into();
    value["listenerMetadata"] = metadata.into();
    let spec = spec(&value.to_string());
    let program = program(&spec);
    assert!(program.needs_listener());

    let listener = AgentListener::bind(&sock).expect("bind");
    let supervisor = spawn_supervisor(listener, handler);
    // The composed API: connect early, channel, fork, install, take, send, close.
    let launch = LaunchSeccomp::new(program, &spec, &AllowedPeers::default())
        .expect("connect")
        .with_timeout(DEADLINE);
    assert!(launch.has_agent(), "a NOTIFY rule, so a connection");
    let (parent, child) = launch.split();
    // The child's copy of the agent connection is close-on-exec; the closure cannot take
    // `parent`, which the parent still needs after the fork.
    let pid = fork_child(move || {
        if !setup() {
            return 99;
        }
        set_nnp();
        if child.install().is_err() {
            return 100;
        }
        workload()
    });
    let state = process_state(
        pid.as_raw(),
        metadata,
        "test-container",
        ContainerState::Creating,
        "/tmp/bundle",
        Default::default(),
    );
    match parent.complete(pid.as_raw(), state) {
        Ok(Delivery::SentToAgent { .. }) => {}
        other => {
            let _ = waitpid(pid, None);
            panic!("handoff failed: {other:?}");
        }
    }
    let status = wait_deadline(pid);
    let seen = supervisor.join().expect("supervisor thread");
    assert!(
        seen.errors.is_empty(),
        "supervisor errors: {:?}",
        seen.errors
    );
    (status, seen)
}

/// Shared storage for a handler's findings.
pub type Shared<T> = Arc<Mutex<T>>;

/// errno of the last failed libc call.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A profile that allows everything but sends `names` to the supervisor.
pub fn notify_profile(names: &[&str]) -> String {
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{ "names": names, "action": "SCMP_ACT_NOTIFY" }]
    })
    .to_string()
}

/// Drops CAP_SYS_ADMIN from every set of the calling (child) process, so `seccomp(2)`
/// without no-new-privileges fails with EACCES. True when done.
pub fn drop_cap_sys_admin() -> bool {
    use caps::{CapSet, Capability};
    [CapSet::Effective, CapSet::Permitted, CapSet::Inheritable]
        .into_iter()
        .all(|set| caps::drop(None, set, Capability::CAP_SYS_ADMIN).is_ok())
}
