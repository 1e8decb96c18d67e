//! Hop 1: the notify fd from the container's init (the child) to the runtime (the parent).
//!
//! # The problem
//!
//! Once the filter is installed, any syscall the child makes may be a NOTIFY syscall; it
//! then blocks until a supervisor answers — but the supervisor can only answer once it
//! holds the notify fd, which the child is still trying to hand over. runc deadlocked this
//! way with `fcntl` (runc#4328), crun with `sendmsg` (crun#1002).
//!
//! # The design: `pidfd_getfd` and a shared page
//!
//! 1. [`channel`], called before `fork`, maps one `MAP_SHARED` anonymous page that both
//!    processes see after the fork. No fd is created, so nothing can leak into the workload.
//! 2. The child ([`ChildEnd::install_and_send`]) publishes its pid (before installing:
//!    syscalls are still safe), installs the filter, then writes the notify fd *number*
//!    into the page with plain atomic stores — **no syscall at all** between install and
//!    publication.
//! 3. The parent ([`ParentEnd::receive`]) polls the page (it is unfiltered, it may sleep),
//!    opens a pidfd for the child (by the pid `fork` returned, given with
//!    [`ParentEnd::for_child`]: a container's init in a new pid namespace publishes 1) and
//!    copies the fd out of the child's fd table with `pidfd_getfd(2)` — the child does
//!    nothing for this. It then marks the page `TAKEN`
//!    and wakes the child.
//! 4. The child waits for `TAKEN` before closing its copy of the fd (closing earlier would
//!    let the parent copy a closed or reused fd number). It waits with `FUTEX_WAIT` on the
//!    shared word, and that is safe even when `futex` itself is a NOTIFY syscall: the
//!    parent takes the fd without the child's help, so the pending `futex` reaches the
//!    supervisor, and whatever it answers the child re-checks the word, which is `TAKEN`
//!    by then (nobody can answer before the parent took the fd). The same reasoning covers
//!    the `close` that follows and every later syscall.
//!
//! `pidfd_getfd` needs `PTRACE_MODE_ATTACH_REALCREDS` over the child: a root runtime has
//! it (CAP_SYS_PTRACE), and a parent of its own child has it under Yama scope 1.
//!
//! If the handoff fails after the filter was installed (the parent timed out or was
//! dropped) the child's [`ChildEnd::install_and_send`] returns [`HandoffError::Abandoned`]
//! and keeps the fd open: it makes no further syscall, because with nobody else holding the
//! listener a NOTIFY syscall would wait forever. The runtime should then kill the child
//! (SIGKILL always works, also with `WAIT_KILLABLE_RECV`); `PR_SET_PDEATHSIG` covers the
//! runtime dying.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let program: oci_seccomp::Program = unimplemented!();
//! let (parent_end, child_end) = oci_seccomp_load::handoff::channel()?;
//! // SAFETY: the child only calls async-signal-safe code before it exits.
//! match unsafe { nix::unistd::fork()? } {
//!     nix::unistd::ForkResult::Child => {
//!         // (dropping parent_end here is harmless: only its creator abandons on drop)
//!         if child_end.install_and_send(&program).is_err() {
//!             // SAFETY: _exit is async-signal-safe.
//!             unsafe { libc::_exit(1) };
//!         }
//!         // ... exec the workload ...
//! #       unsafe { libc::_exit(0) };
//!     }
//!     nix::unistd::ForkResult::Parent { child } => {
//!         drop(child_end);
//!         // fork's pid: the only one that is right when the child is in a new pid namespace.
//!         let notify_fd = parent_end.for_child(child.as_raw()).receive()?; // Some(fd) with NOTIFY
//!         // ... oci_seccomp_load::agent_client::send_state(...) ...
//!     }
//! }
//! # Ok(()) }
//! ```

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_seccomp::{FilterFlags, Program};
use rustix::thread::futex;

use crate::error::{HandoffError, LoadError};
use crate::install::{install, InstallStatus};

/// How long [`ParentEnd::receive`] waits for the child.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many 10 ms futex waits the child makes for `TAKEN` before giving up (60 s).
const CHILD_WAITS: u32 = 6000;

const INIT: u32 = 0;
const STARTED: u32 = 1;
const READY_FD: u32 = 2;
const READY_NONE: u32 = 3;
const FAILED: u32 = 4;
const TAKEN: u32 = 5;
const ABANDONED: u32 = 6;

/// The page both processes share. Only plain data: the same binary runs on both sides of
/// the fork, so the layout is the same.
#[repr(C)]
struct Shared {
    state: AtomicU32,
    pid: AtomicI32,
    fd: AtomicI32,
    /// [`InstallStatus::flags`] bits, written before READY_FD / READY_NONE.
    flags: AtomicU32,
    /// [`InstallStatus::missing_optional`] bits, written with `flags`.
    missing: AtomicU32,
    error: UnsafeCell<MaybeUninit<LoadError>>,
}

struct Mapping {
    ptr: NonNull<Shared>,
    len: NonZeroUsize,
}

// SAFETY: the mapping is only accessed through atomics, and `error` only written before a
// Release store of FAILED and read after an Acquire load of FAILED.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn shared(&self) -> &Shared {
        // SAFETY: `ptr` points at a live, zero-initialised mapping large enough for
        // `Shared` (all-zero is a valid `Shared`) until `Drop` unmaps it.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; no reference into it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len.get()) };
    }
}

/// The runtime's end of the hop-1 channel. Keep it in the parent after `fork`.
pub struct ParentEnd {
    map: Arc<Mapping>,
    taken: bool,
    /// The process that made the channel: dropping the end in the forked child must not
    /// abandon the handoff.
    owner: libc::pid_t,
    /// The child's pid in the parent's pid namespace, when the caller told us
    /// ([`ParentEnd::for_child`]); otherwise the pid the child published is used.
    child: Option<libc::pid_t>,
}

/// The container init's end of the hop-1 channel. Use it in the child after `fork`.
pub struct ChildEnd {
    map: Arc<Mapping>,
}

impl std::fmt::Debug for ParentEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentEnd")
            .field("state", &self.map.shared().state.load(Ordering::Relaxed))
            .finish()
    }
}

impl std::fmt::Debug for ChildEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildEnd")
            .field("state", &self.map.shared().state.load(Ordering::Relaxed))
            .finish()
    }
}

/// Creates the channel. Call it before `fork`; keep the [`ParentEnd`] in the parent and
/// the [`ChildEnd`] in the child. It creates no file descriptor.
///
/// # Errors
///
/// [`HandoffError::Io`] when the shared page cannot be mapped (`mmap`).
pub fn channel() -> Result<(ParentEnd, ChildEnd), HandoffError> {
    let len = NonZeroUsize::new(4096.max(std::mem::size_of::<Shared>())).expect("non-zero");
    // SAFETY: a fresh anonymous mapping aliases nothing; the kernel zero-fills it.
    let ptr = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            len.get(),
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
    }
    .map_err(|e| HandoffError::io("mmap(MAP_SHARED) for the handoff page", e.into()))?;
    let map = Arc::new(Mapping {
        ptr: NonNull::new(ptr.cast()).expect("mmap returned a null mapping"),
        len,
    });
    Ok((
        ParentEnd {
            map: Arc::clone(&map),
            taken: false,
            owner: getpid(),
            child: None,
        },
        ChildEnd { map },
    ))
}

/// This process's pid (rustix: a raw syscall, async-signal-safe, no allocation).
fn getpid() -> libc::pid_t {
    rustix::process::getpid().as_raw_nonzero().get()
}

/// Wakes every waiter on the shared word. The page is `MAP_SHARED` between two processes,
/// so the futex is not `FUTEX_PRIVATE`.
fn wake_all(word: &AtomicU32) {
    let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
}

impl ChildEnd {
    /// In the child: installs `program` and hands the notify fd (if any) to the parent.
    ///
    /// Returns once the parent holds the fd; the child's own copy is closed by then, so
    /// nothing leaks into the workload. Between the install and the handoff the child makes
    /// no syscall; afterwards it makes `futex` and `close`, which may be NOTIFY syscalls
    /// (see the module docs for why this cannot deadlock).
    ///
    /// Makes no heap allocation. Never sets no-new-privileges.
    ///
    /// # Errors
    ///
    /// - [`HandoffError::Install`]: [`install`] failed; nothing is installed and the
    ///   parent receives the same error.
    /// - [`HandoffError::Abandoned`]: the parent gave up (timeout, dropped end). If the
    ///   filter was installed the child still holds the fd and must exit at once without
    ///   another syscall that could be a NOTIFY one (`_exit`), or wait to be killed.
    pub fn install_and_send(&self, program: &Program) -> Result<InstallStatus, HandoffError> {
        let sh = self.map.shared();
        // The filter is not installed yet: getpid is safe.
        sh.pid.store(getpid(), Ordering::Relaxed);
        if sh
            .state
            .compare_exchange(INIT, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // The parent already gave up (or the channel was used twice): install nothing.
            return Err(HandoffError::Abandoned);
        }
        let installed = match install(program) {
            Err(e) => {
                // SAFETY: only the child writes `error`, once, before publishing FAILED; the
                // parent reads it only after observing FAILED with Acquire.
                unsafe { (*sh.error.get()).write(e) };
                sh.state.store(FAILED, Ordering::Release);
                return Err(HandoffError::Install(e));
            }
            Ok(installed) => installed,
        };
        let status = installed.status;
        sh.flags.store(status.flags.bits(), Ordering::Relaxed);
        sh.missing
            .store(status.missing_optional.bits(), Ordering::Relaxed);
        let Some(fd) = installed.notify_fd else {
            sh.state.store(READY_NONE, Ordering::Release);
            return Ok(status);
        };
        // No syscall from here until the parent holds the fd: plain stores only.
        sh.fd.store(fd.as_raw_fd(), Ordering::Relaxed);
        if sh
            .state
            .compare_exchange(STARTED, READY_FD, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Abandoned while we installed: keep the fd (see below).
            let _ = fd.into_raw_fd();
            return Err(HandoffError::Abandoned);
        }
        for _ in 0..20_000 {
            if sh.state.load(Ordering::Acquire) != READY_FD {
                break;
            }
            std::hint::spin_loop();
        }
        let ts = futex::Timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        let mut waits = 0;
        loop {
            match sh.state.load(Ordering::Acquire) {
                TAKEN => break,
                READY_FD if waits < CHILD_WAITS => {
                    // May be a NOTIFY syscall: see the module docs.
                    let _ = futex::wait(&sh.state, futex::Flags::empty(), READY_FD, Some(&ts));
                    waits += 1;
                }
                _ => {
                    // Abandoned or timed out: keep the fd (closing it could be a NOTIFY
                    // syscall that nobody will ever answer).
                    let _ = fd.into_raw_fd();
                    return Err(HandoffError::Abandoned);
                }
            }
        }
        // Closed by hand, not dropped: `OwnedFd`'s drop makes an extra `fcntl(F_GETFD)` in
        // debug builds, and the calls made here must be the documented two in every build.
        crate::sys::close(fd);
        Ok(status)
    }
}

impl ParentEnd {
    /// Tells this end the child's pid as `fork` (or `clone`) returned it in the parent.
    ///
    /// Required when the child runs in a new pid namespace: a container's init is pid 1
    /// there, and the pid it publishes names another process in the parent's namespace.
    /// Without it the published pid is used, and only after checking that the process
    /// behind it is a child of this process.
    pub fn for_child(mut self, pid: libc::pid_t) -> Self {
        self.child = Some(pid);
        self
    }

    /// The pid to take the fd from: the one given to [`ParentEnd::for_child`], or the
    /// published one if it is our own child.
    fn child_pid(&self, published: libc::pid_t) -> Result<libc::pid_t, HandoffError> {
        if let Some(pid) = self.child {
            return Ok(pid);
        }
        let status = std::fs::read_to_string(format!("/proc/{published}/status"))
            .map_err(|_| HandoffError::ChildExited { pid: published })?;
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse::<libc::pid_t>().ok());
        let me = getpid();
        if ppid != Some(me) {
            return Err(HandoffError::io(
                "identify the child",
                std::io::Error::other(format!(
                    "the child published pid {published}, which is not a child of this process \
                     (parent {ppid:?}); when the child runs in a new pid namespace, pass the pid \
                     fork returned with ParentEnd::for_child"
                )),
            ));
        }
        Ok(published)
    }

    /// In the parent: waits (up to [`DEFAULT_TIMEOUT`]) for the child's
    /// [`ChildEnd::install_and_send`] and returns its notify fd (`None` when the program
    /// has no NOTIFY rule). The fd is close-on-exec.
    ///
    /// # Errors
    ///
    /// As [`ParentEnd::receive_timeout`].
    pub fn receive(self) -> Result<Option<OwnedFd>, HandoffError> {
        self.receive_timeout(DEFAULT_TIMEOUT)
    }

    /// [`ParentEnd::receive`] with a chosen timeout. On any error after the child
    /// installed its filter, kill the child: it waits with a NOTIFY filter and nobody else
    /// can ever answer it. [`crate::launch::LaunchSeccomp`] does all of this for a launcher.
    ///
    /// # Errors
    ///
    /// - [`HandoffError::Install`]: the child's [`install`] failed (nothing installed).
    /// - [`HandoffError::ChildExited`]: the child exited before it handed the fd over
    ///   (also before it started installing, when the pid is known from
    ///   [`ParentEnd::for_child`]).
    /// - [`HandoffError::Timeout`]: nothing within `timeout`.
    /// - [`HandoffError::Io`]: `pidfd_open`/`pidfd_getfd` failed, the published pid is not
    ///   our child, or the copied fd is not a seccomp notify fd.
    pub fn receive_timeout(self, timeout: Duration) -> Result<Option<OwnedFd>, HandoffError> {
        self.receive_with_status(timeout).map(|(fd, _)| fd)
    }

    /// [`ParentEnd::receive_timeout`], with what the child's [`install`] applied.
    pub(crate) fn receive_with_status(
        mut self,
        timeout: Duration,
    ) -> Result<(Option<OwnedFd>, InstallStatus), HandoffError> {
        let start = Instant::now();
        let sh = self.map.shared();
        let status = || InstallStatus {
            flags: FilterFlags::from_bits_retain(sh.flags.load(Ordering::Relaxed)),
            missing_optional: FilterFlags::from_bits_retain(sh.missing.load(Ordering::Relaxed)),
        };
        // With the pid from fork, watch the child from the start: a child that dies in its
        // set-up, before it reaches the install, is reported at once, not at the timeout.
        let mut pidfd: Option<OwnedFd> = match self.child {
            Some(pid) => Some(pidfd_open(pid)?),
            None => None,
        };
        let mut nap = Duration::from_micros(20);
        // Whether the given pid was checked against the published one.
        let mut checked = self.child.is_none();
        loop {
            let state = sh.state.load(Ordering::Acquire);
            match state {
                READY_NONE => {
                    self.taken = true;
                    return Ok((None, status()));
                }
                FAILED => {
                    self.taken = true;
                    // SAFETY: FAILED was published with Release after `error` was written.
                    let e = unsafe { (*sh.error.get()).assume_init() };
                    return Err(HandoffError::Install(e));
                }
                READY_FD => break,
                _ => {}
            }
            if state == STARTED && !checked {
                // The child published its pid: the given pid must name the same process.
                if let Some(pid) = self.child {
                    check_same_process(pid, sh.pid.load(Ordering::Relaxed))?;
                }
                checked = true;
            }
            if state == STARTED && pidfd.is_none() {
                let pid = self.child_pid(sh.pid.load(Ordering::Relaxed))?;
                pidfd = Some(pidfd_open(pid)?);
                self.child = Some(pid);
            }
            if let (Some(p), Some(pid)) = (&pidfd, self.child) {
                if exited(p) && matches!(sh.state.load(Ordering::Acquire), INIT | STARTED) {
                    return Err(HandoffError::ChildExited { pid });
                }
            }
            if start.elapsed() >= timeout {
                return Err(HandoffError::Timeout {
                    waited_ms: start.elapsed().as_millis(),
                });
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(2));
        }
        let pid = self.child_pid(sh.pid.load(Ordering::Relaxed))?;
        if !checked {
            check_same_process(pid, sh.pid.load(Ordering::Relaxed))?;
        }
        let pidfd = match pidfd {
            Some(p) => p,
            None => pidfd_open(pid)?,
        };
        // A number in the child's fd table, not ours: only pidfd_getfd may use it.
        let child_fd = RemoteFd(sh.fd.load(Ordering::Relaxed));
        let fd = match rustix::process::pidfd_getfd(
            &pidfd,
            child_fd.0,
            rustix::process::PidfdGetfdFlags::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::SRCH) => return Err(HandoffError::ChildExited { pid }),
            Err(e) => {
                return Err(HandoffError::io(
                    "pidfd_getfd of the child's notify fd",
                    e.into(),
                ))
            }
        };
        // Never hand on an fd that is not a notify fd (a wrong pid, a reused fd number).
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| HandoffError::io("readlink of the copied notify fd", e))?;
        if link.as_os_str() != "anon_inode:seccomp notify" {
            return Err(HandoffError::io(
                "check the copied notify fd",
                std::io::Error::other(format!(
                    "fd {} of pid {pid} is {}, not a seccomp notify fd",
                    child_fd.0,
                    link.display()
                )),
            ));
        }
        sh.state.store(TAKEN, Ordering::Release);
        self.taken = true;
        wake_all(&sh.state);
        Ok((Some(fd), status()))
    }
}

impl Drop for ParentEnd {
    fn drop(&mut self) {
        if !self.taken && getpid() == self.owner {
            let sh = self.map.shared();
            let mut cur = sh.state.load(Ordering::Acquire);
            while matches!(cur, INIT | STARTED | READY_FD) {
                match sh
                    .state
                    .compare_exchange(cur, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => break,
                    Err(now) => cur = now,
                }
            }
            wake_all(&sh.state);
        }
    }
}

/// Checks that `pid` (in our pid namespace) is the process that published `published`
/// (its pid in its own, innermost, pid namespace): the last `NSpid` field of
/// `/proc/PID/status` (Linux 4.1) is that number.
fn check_same_process(pid: libc::pid_t, published: libc::pid_t) -> Result<(), HandoffError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|_| HandoffError::ChildExited { pid })?;
    let innermost = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|v| v.split_whitespace().last())
        .and_then(|v| v.parse::<libc::pid_t>().ok());
    if innermost == Some(published) {
        Ok(())
    } else {
        Err(HandoffError::WrongChild { pid, published })
    }
}

/// An fd number in another process's fd table. It names nothing in ours, so it is never
/// an `OwnedFd`/`BorrowedFd` here; only `pidfd_getfd` turns it into one of ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteFd(pub RawFd);

fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, HandoffError> {
    // rustix asserts a non-negative raw pid: check first.
    let Some(p) = (pid > 0)
        .then(|| rustix::process::Pid::from_raw(pid))
        .flatten()
    else {
        return Err(HandoffError::ChildExited { pid });
    };
    match rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) {
        // pidfds are always close-on-exec.
        Ok(fd) => Ok(fd),
        Err(rustix::io::Errno::SRCH) => Err(HandoffError::ChildExited { pid }),
        Err(e) => Err(HandoffError::io(
            "pidfd_open of the container process",
            e.into(),
        )),
    }
}

/// Whether the process behind `pidfd` has exited (the pidfd polls readable).
fn exited(pidfd: &OwnedFd) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&rustix::event::Timespec::default())), Ok(n) if n > 0)
        && fds[0].revents().contains(PollFlags::IN)
}
