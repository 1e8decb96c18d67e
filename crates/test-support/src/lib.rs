//! Test helpers shared by the workspace's tests and benchmarks: run code in a forked child,
//! wait for it with a deadline, and set no-new-privileges in it.
//!
//! Filters are never installed in the test runner's own process: a test forks, the child
//! installs and runs its body, and the parent waits at most a deadline, so that a deadlock
//! fails the test instead of hanging CI. This crate depends on no crate of the workspace,
//! so every crate can take it as a dev-dependency.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

/// The default deadline for a child: 20 seconds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The exit code of a child whose body panicked.
pub const EXIT_PANICKED: i32 = 122;

/// How often [`wait_within`] looks at the child.
const POLL: Duration = Duration::from_millis(2);

/// Forks; the child runs `body` and `_exit`s with its return value, or with
/// [`EXIT_PANICKED`] when it panics (a panic never unwinds into the forked copy of the
/// test harness). Returns the child's pid, in the parent.
///
/// The caller keeps `body` to work that is sound after `fork` in its process (a test
/// runner may have other threads; glibc's `malloc` is fork-safe).
///
/// # Panics
///
/// When `fork` fails.
pub fn fork_child(body: impl FnOnce() -> i32) -> Pid {
    // SAFETY: the child only runs `body` (which the caller keeps fork-safe) and then
    // `_exit`s; it never returns into the test harness.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
                .unwrap_or(EXIT_PANICKED);
            // SAFETY: `_exit` ends the child without running the parent's atexit handlers
            // or destructors, which must not run in a forked copy.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits for child `pid` at most `limit`: its status, or `None` when it was still running
/// then (it is then killed with SIGKILL and reaped).
///
/// # Panics
///
/// When `waitpid` fails (`pid` is not a child of this process).
pub fn wait_within(pid: Pid, limit: Duration) -> Option<WaitStatus> {
    let start = Instant::now();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)).expect("waitpid") {
            WaitStatus::StillAlive => {}
            status => return Some(status),
        }
        if start.elapsed() > limit {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Sets no-new-privileges in the calling process (a child: the libraries never set it);
/// true when the kernel took it.
pub fn set_no_new_privs() -> bool {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) takes integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_exits_with_its_body_s_code_or_the_panic_code() {
        let pid = fork_child(|| 7);
        assert_eq!(wait_within(pid, DEADLINE), Some(WaitStatus::Exited(pid, 7)));
        let pid = fork_child(|| panic!("in the child"));
        assert_eq!(
            wait_within(pid, DEADLINE),
            Some(WaitStatus::Exited(pid, EXIT_PANICKED))
        );
    }

    #[test]
    fn a_late_child_is_killed() {
        let pid = fork_child(|| {
            std::thread::sleep(Duration::from_secs(30));
            0
        });
        assert_eq!(wait_within(pid, Duration::from_millis(50)), None);
    }
}
