//! The seccomp agent's end (the supervisor): accept the runtime's message at
//! `listenerPath` ([`AgentListener`]; the runtime's end is [`crate::agent_client`]), then
//! receive and answer notifications ([`NotifyFd`]).
//!
//! ```no_run
//! use std::ops::ControlFlow;
//!
//! use oci_seccomp_load::notify::AgentListener;
//! # fn main() -> Result<(), oci_seccomp_load::NotifyError> {
//! let listener = AgentListener::bind("/run/seccomp-agent.sock")?;
//! let (state, fd) = listener.accept()?;
//! // Until the container's processes are gone; sync wake-up where the kernel has it.
//! fd.serve_each(|n| {
//!     // An answer to a target that went away meanwhile is dropped: not an error.
//!     let _ = fd.respond_continue(n.id);
//!     ControlFlow::Continue(())
//! })?;
//! # Ok(())
//! # }
//! ```

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::event::PollFlags;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use crate::error::NotifyError;

mod listener;
pub use listener::*;

/// `struct seccomp_data`, as the `libc` crate defines it for the target architecture.
#[deprecated(
    note = "one seccomp_data type: the typed call is oci_seccomp::SeccompData, the kernel's \
            layout libc::seccomp_data"
)]
pub type SeccompData = libc::seccomp_data;
/// `struct seccomp_notif` (80 bytes), from the `libc` crate.
pub type SeccompNotif = libc::seccomp_notif;
/// `struct seccomp_notif_resp` (24 bytes), from the `libc` crate.
pub type SeccompNotifResp = libc::seccomp_notif_resp;
/// `struct seccomp_notif_addfd` (24 bytes), from the `libc` crate.
pub type SeccompNotifAddfd = libc::seccomp_notif_addfd;

/// The type of an ioctl request on this target (`libc::Ioctl`).
pub type IoctlRequest = libc::Ioctl;

// The request numbers come from the `libc` crate, which encodes `_IOWR`/`_IOW` with each
// architecture's own direction bits and size field (PowerPC and MIPS differ from the
// generic layout).
/// `SECCOMP_IOCTL_NOTIF_RECV` = `_IOWR('!', 0, struct seccomp_notif)`.
pub const SECCOMP_IOCTL_NOTIF_RECV: IoctlRequest = libc::SECCOMP_IOCTL_NOTIF_RECV;
/// `SECCOMP_IOCTL_NOTIF_SEND` = `_IOWR('!', 1, struct seccomp_notif_resp)`.
pub const SECCOMP_IOCTL_NOTIF_SEND: IoctlRequest = libc::SECCOMP_IOCTL_NOTIF_SEND;
/// `SECCOMP_IOCTL_NOTIF_ID_VALID` = `_IOW('!', 2, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: IoctlRequest = libc::SECCOMP_IOCTL_NOTIF_ID_VALID;
/// `SECCOMP_IOCTL_NOTIF_ADDFD` = `_IOW('!', 3, struct seccomp_notif_addfd)`.
pub const SECCOMP_IOCTL_NOTIF_ADDFD: IoctlRequest = libc::SECCOMP_IOCTL_NOTIF_ADDFD;
/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` = `_IOW('!', 4, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_SET_FLAGS: IoctlRequest = libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS;

/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`.
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
/// `SECCOMP_ADDFD_FLAG_SETFD`.
pub const SECCOMP_ADDFD_FLAG_SETFD: u32 = 1;
/// `SECCOMP_ADDFD_FLAG_SEND`.
pub const SECCOMP_ADDFD_FLAG_SEND: u32 = 2;
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`.
pub const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

/// `seccomp(SECCOMP_GET_NOTIF_SIZES)`: the kernel's sizes of `seccomp_notif`,
/// `seccomp_notif_resp` and `seccomp_data`.
///
/// # Errors
///
/// The errno of `seccomp(2)` (EINVAL before Linux 5.0).
pub fn kernel_notif_sizes() -> std::io::Result<(u16, u16, u16)> {
    let mut sizes = [0u16; 3];
    // SAFETY: SECCOMP_GET_NOTIF_SIZES (3) writes a struct of three u16 into `sizes`.
    let rc = unsafe { crate::sys::seccomp(3, 0, sizes.as_mut_ptr().cast()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((sizes[0], sizes[1], sizes[2]))
}

/// One notification: a syscall the target is blocked in, waiting for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The cookie to answer with.
    pub id: u64,
    /// The target thread, in the supervisor's pid namespace (0 if not visible).
    pub pid: u32,
    /// `AUDIT_ARCH_*` of the syscall.
    pub arch: u32,
    /// Syscall number (for `arch`).
    pub nr: i32,
    /// The six arguments.
    pub args: [u64; 6],
    /// The instruction pointer at the syscall.
    pub instruction_pointer: u64,
}

impl Notification {
    /// The syscall's name, when libseccomp knows it for this arch.
    pub fn syscall_name(&self) -> Option<String> {
        let arch = oci_seccomp::arch::ALL
            .iter()
            .find(|a| a.audit_arch == self.arch && a.x32 == (self.nr & 0x4000_0000 != 0))?;
        oci_seccomp::arch::syscall_name(self.nr, arch)
    }
}

/// A seccomp user-notification fd, on the supervisor side.
#[derive(Debug)]
pub struct NotifyFd {
    fd: OwnedFd,
}

impl From<OwnedFd> for NotifyFd {
    fn from(fd: OwnedFd) -> Self {
        Self { fd }
    }
}

impl From<NotifyFd> for OwnedFd {
    fn from(n: NotifyFd) -> Self {
        n.fd
    }
}

impl AsFd for NotifyFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl NotifyFd {
    /// Wraps a notify fd (from [`crate::install`] or from [`AgentListener::accept`]).
    pub fn new(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// # Safety
    /// `arg` must be what `request` expects.
    unsafe fn ioctl(&self, request: IoctlRequest, arg: *mut libc::c_void) -> Result<i32, i32> {
        loop {
            // SAFETY: the caller guarantees `arg` matches `request`.
            match unsafe { crate::sys::ioctl(self.fd.as_fd(), request, arg) } {
                Err(libc::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// Blocks until a notification arrives. ENOENT (the target died before we read it) is
    /// [`NotifyError::TargetGone`]: not fatal, call again. This call alone does not see the
    /// end: once no process uses the filter, Linux 6.11 and later return ENOENT at once on
    /// every call, and earlier kernels block for ever. An agent's loop is
    /// [`NotifyFd::serve_each`] (or [`NotifyFd::receive_while_used`] /
    /// [`NotifyFd::receive_timeout`]).
    ///
    /// # Errors
    ///
    /// [`NotifyError::TargetGone`] (call again), [`NotifyError::Io`] for another ioctl
    /// error.
    pub fn receive(&self) -> Result<Notification, NotifyError> {
        // SAFETY: `seccomp_notif` is plain old data (integers only), for which all zero
        // bytes is a valid value; the kernel requires it zeroed.
        let mut n: SeccompNotif = unsafe { std::mem::zeroed() };
        // SAFETY: RECV writes one `struct seccomp_notif`, which `n` is.
        match unsafe {
            self.ioctl(
                SECCOMP_IOCTL_NOTIF_RECV,
                (&mut n as *mut SeccompNotif).cast(),
            )
        } {
            Ok(_) => Ok(Notification {
                id: n.id,
                pid: n.pid,
                arch: n.data.arch,
                nr: n.data.nr,
                args: n.data.args,
                instruction_pointer: n.data.instruction_pointer,
            }),
            Err(libc::ENOENT) => Err(NotifyError::TargetGone { id: 0 }),
            Err(e) => Err(NotifyError::io(
                "ioctl(SECCOMP_IOCTL_NOTIF_RECV)",
                std::io::Error::from_raw_os_error(e),
            )),
        }
    }

    /// [`NotifyFd::receive`] that ends once no process uses the filter: a receive that
    /// finds nothing (`ENOENT`) asks `poll` whether the fd has hung up. No `poll` before
    /// each receive, which saves a system call and a wake-up per notification.
    ///
    /// Only on Linux 6.11 or later, whose blocked receive also returns when the filter's
    /// last user exits (`recv_wait_event` in kernel/seccomp.c, "seccomp: interrupt
    /// SECCOMP_IOCTL_NOTIF_RECV when all users have exited"); an older kernel's receive
    /// would block on forever, and [`NotifyFd::receive_timeout`] is the loop for it.
    ///
    /// # Errors
    ///
    /// [`NotifyError::AllTargetsGone`] once no process uses the filter,
    /// [`NotifyError::TargetGone`] (call again) when the target of a notification went
    /// away before it was read, [`NotifyError::Io`] for another ioctl or `poll` error.
    pub fn receive_while_used(&self) -> Result<Notification, NotifyError> {
        match self.receive() {
            Err(e) if e.is_target_gone() => {
                let revents = poll_in(self.fd.as_fd(), Duration::ZERO)
                    .map_err(|e| NotifyError::io("poll on the notify fd", e))?;
                if revents.is_some_and(|r| r.contains(PollFlags::HUP)) {
                    Err(NotifyError::AllTargetsGone)
                } else {
                    Err(e)
                }
            }
            r => r,
        }
    }

    /// Waits up to `timeout` for a notification: `Ok(None)` on timeout,
    /// [`NotifyError::AllTargetsGone`] once every process using the filter has exited.
    ///
    /// # Errors
    ///
    /// As [`NotifyFd::receive`], and [`NotifyError::Io`] for a failed `poll`.
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Option<Notification>, NotifyError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(revents) = poll_in(self.fd.as_fd(), left)
                .map_err(|e| NotifyError::io("poll on the notify fd", e))?
            else {
                return Ok(None);
            };
            if revents.contains(PollFlags::IN) {
                return self.receive().map(Some);
            }
            if revents.contains(PollFlags::HUP) {
                return Err(NotifyError::AllTargetsGone);
            }
        }
    }

    fn send(&self, resp: SeccompNotifResp) -> Result<(), NotifyError> {
        let mut resp = resp;
        // SAFETY: SEND reads (and may write) one `struct seccomp_notif_resp`.
        match unsafe {
            self.ioctl(
                SECCOMP_IOCTL_NOTIF_SEND,
                (&mut resp as *mut SeccompNotifResp).cast(),
            )
        } {
            Ok(_) => Ok(()),
            Err(libc::ENOENT) => Err(NotifyError::TargetGone { id: resp.id }),
            Err(e) => Err(NotifyError::io(
                "ioctl(SECCOMP_IOCTL_NOTIF_SEND)",
                std::io::Error::from_raw_os_error(e),
            )),
        }
    }

    /// Answers notification `id`: the syscall returns `val` without running.
    ///
    /// # Errors
    ///
    /// [`NotifyError::TargetGone`] when the target died or the syscall was interrupted
    /// (the answer is dropped; not fatal), [`NotifyError::Io`] for another ioctl error.
    pub fn respond_value(&self, id: u64, val: i64) -> Result<(), NotifyError> {
        self.send(SeccompNotifResp {
            id,
            val,
            error: 0,
            flags: 0,
        })
    }

    /// Answers notification `id`: the syscall fails with `errno` (positive, e.g.
    /// `libc::EPERM`) without running.
    ///
    /// # Errors
    ///
    /// As [`NotifyFd::respond_value`].
    pub fn respond_errno(&self, id: u64, errno: i32) -> Result<(), NotifyError> {
        self.send(SeccompNotifResp {
            id,
            val: 0,
            error: -errno.abs(),
            flags: 0,
        })
    }

    /// Answers notification `id`: the kernel runs the syscall as the target asked.
    ///
    /// Never use CONTINUE to *allow* a syscall after inspecting its pointer arguments: the
    /// target (another thread of it) can change the memory after the check.
    ///
    /// # Errors
    ///
    /// As [`NotifyFd::respond_value`].
    pub fn respond_continue(&self, id: u64) -> Result<(), NotifyError> {
        self.send(SeccompNotifResp {
            id,
            val: 0,
            error: 0,
            flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE,
        })
    }

    /// Whether notification `id` is still pending (its target still waits). Check it after
    /// reading anything from the target's memory or `/proc`, before acting on it.
    pub fn id_valid(&self, id: u64) -> bool {
        let mut id = id;
        // SAFETY: ID_VALID reads one u64.
        unsafe { self.ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID, (&mut id as *mut u64).cast()) }.is_ok()
    }

    fn addfd(&self, mut a: SeccompNotifAddfd) -> Result<RawFd, NotifyError> {
        // SAFETY: ADDFD reads one `struct seccomp_notif_addfd`.
        match unsafe {
            self.ioctl(
                SECCOMP_IOCTL_NOTIF_ADDFD,
                (&mut a as *mut SeccompNotifAddfd).cast(),
            )
        } {
            Ok(fd) => Ok(fd),
            Err(libc::ENOENT) => Err(NotifyError::TargetGone { id: a.id }),
            Err(e) => Err(NotifyError::io(
                "ioctl(SECCOMP_IOCTL_NOTIF_ADDFD)",
                std::io::Error::from_raw_os_error(e),
            )),
        }
    }

    /// Installs a copy of `fd` in the target of notification `id` and returns its number
    /// there. `target_fd` picks the number (`SECCOMP_ADDFD_FLAG_SETFD`, replacing what is
    /// there); `cloexec` sets `O_CLOEXEC` on the new fd. The notification stays pending:
    /// answer it afterwards (usually with the returned number).
    ///
    /// # Errors
    ///
    /// [`NotifyError::TargetGone`] when the notification is no longer pending,
    /// [`NotifyError::Io`] for another ioctl error (EBADF for a bad `fd`, EMFILE in the
    /// target, ...).
    pub fn add_fd(
        &self,
        id: u64,
        fd: BorrowedFd<'_>,
        target_fd: Option<RawFd>,
        cloexec: bool,
    ) -> Result<RawFd, NotifyError> {
        self.addfd(SeccompNotifAddfd {
            id,
            flags: if target_fd.is_some() {
                SECCOMP_ADDFD_FLAG_SETFD
            } else {
                0
            },
            srcfd: fd.as_raw_fd() as u32,
            newfd: target_fd.unwrap_or(0) as u32,
            newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
        })
    }

    /// Installs a copy of `fd` in the target and, atomically, answers notification `id`
    /// with the new fd number (`SECCOMP_ADDFD_FLAG_SEND`, Linux 5.14). Returns the number.
    ///
    /// # Errors
    ///
    /// As [`NotifyFd::add_fd`].
    pub fn add_fd_and_respond(
        &self,
        id: u64,
        fd: BorrowedFd<'_>,
        cloexec: bool,
    ) -> Result<RawFd, NotifyError> {
        self.addfd(SeccompNotifAddfd {
            id,
            flags: SECCOMP_ADDFD_FLAG_SEND,
            srcfd: fd.as_raw_fd() as u32,
            newfd: 0,
            newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
        })
    }

    /// Opts into `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6): the kernel wakes the
    /// supervisor and the target on the same CPU, which makes a synchronous
    /// receive/respond loop several times faster.
    ///
    /// # Errors
    ///
    /// [`NotifyError::Io`]: the kernel lacks the flag (EINVAL before Linux 6.6).
    pub fn set_sync_wakeup(&self) -> Result<(), NotifyError> {
        // SET_FLAGS takes the flags as the ioctl argument value, not a pointer.
        crate::sys::ioctl_value(
            self.fd.as_fd(),
            SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP as libc::c_ulong,
        )
        .map_err(|e| {
            NotifyError::io(
                "ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)",
                e,
            )
        })
    }

    /// Receives notifications until no process uses the filter any more, handing each to
    /// `handle` (which answers it) until it returns
    /// [`ControlFlow::Break`](std::ops::ControlFlow::Break): the synchronous loop of an
    /// agent. It opts into sync wake-up where the kernel has it
    /// ([`NotifyFd::set_sync_wakeup`], Linux 6.6). From Linux 6.11 on ("seccomp: interrupt
    /// SECCOMP_IOCTL_NOTIF_RECV when all users have exited") it receives without polling
    /// first, as a blocked receive there returns once no process uses the filter; before,
    /// it polls first ([`NotifyFd::receive_timeout`]) and ends when `poll` reports the
    /// hang-up, which the kernel gives from Linux 5.8 on (before, this loop ends only when
    /// `handle` breaks).
    ///
    /// Skipped: notifications whose target went away before they were read, and calls the
    /// kernel withdrew before they were read (a target interrupted by a signal while it
    /// waits, unless the filter was installed with `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`:
    /// such a call fails with EINTR or is restarted, and `handle` never sees it).
    ///
    /// # Errors
    ///
    /// A [`NotifyError`] other than "all targets gone" (the normal end: `Ok`) and "target
    /// gone" from [`NotifyFd::receive_while_used`] or [`NotifyFd::receive_timeout`].
    pub fn serve_each(
        &self,
        handle: impl FnMut(&Notification) -> std::ops::ControlFlow<()>,
    ) -> Result<(), NotifyError> {
        if let Err(e) = self.set_sync_wakeup() {
            tracing::debug!(error = %e, "sync wake-up not available");
        }
        let blocking = receive_ends_with_last_user(oci_seccomp::moby::KernelVersion::running());
        self.serve_loop(blocking, handle)
    }

    /// [`NotifyFd::serve_each`]'s loop: with `blocking`, a receive without polling first
    /// (Linux 6.11 and later only); without, a poll before each receive (any kernel).
    fn serve_loop(
        &self,
        blocking: bool,
        mut handle: impl FnMut(&Notification) -> std::ops::ControlFlow<()>,
    ) -> Result<(), NotifyError> {
        loop {
            let next = if blocking {
                self.receive_while_used().map(Some)
            } else {
                self.receive_timeout(Duration::from_secs(3600))
            };
            match next {
                Ok(Some(n)) => {
                    if handle(&n).is_break() {
                        return Ok(());
                    }
                }
                Ok(None) => continue,
                Err(NotifyError::AllTargetsGone) => return Ok(()),
                Err(e) if e.is_target_gone() => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads `buf.len()` bytes (or fewer, at an unmapped page) at `addr` in the target's
    /// memory through `/proc/PID/mem`, checking [`NotifyFd::id_valid`] after opening the
    /// file (the pid may have been reused) and after reading.
    ///
    /// # Errors
    ///
    /// [`NotifyError::TargetGone`] when the notification is no longer valid (before or
    /// after the read), [`NotifyError::Io`] when `/proc/PID/mem` cannot be opened or read.
    pub fn read_memory(
        &self,
        n: &Notification,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<usize, NotifyError> {
        let mem = self.open_mem(n)?;
        let got = read_mem(&mem, addr, buf)?;
        if !self.id_valid(n.id) {
            return Err(NotifyError::TargetGone { id: n.id });
        }
        Ok(got)
    }

    fn open_mem(&self, n: &Notification) -> Result<std::fs::File, NotifyError> {
        let mem = std::fs::File::open(format!("/proc/{}/mem", n.pid))
            .map_err(|e| NotifyError::io("open /proc/PID/mem of the notification's target", e))?;
        if !self.id_valid(n.id) {
            return Err(NotifyError::TargetGone { id: n.id });
        }
        Ok(mem)
    }

    /// Reads the NUL-terminated string that argument `index` of `n` points at (a path,
    /// usually), at most `max` bytes without the NUL. `id_valid` is checked after opening
    /// the target's memory and after reading; still, the target may change the string at
    /// any time, so never answer CONTINUE on the strength of what this returns.
    ///
    /// # Errors
    ///
    /// As [`NotifyFd::read_memory`], and [`NotifyError::BadMessage`] when `index` is not
    /// below 6 or no NUL comes within `max` bytes.
    pub fn read_string_arg(
        &self,
        n: &Notification,
        index: usize,
        max: usize,
    ) -> Result<CString, NotifyError> {
        if index > 5 {
            return Err(NotifyError::BadArgIndex { index });
        }
        let mem = self.open_mem(n)?;
        let mut addr = n.args[index];
        let mut out = Vec::new();
        let mut chunk = [0u8; 256];
        loop {
            // Never read across a page boundary in one go: the next page may be unmapped.
            let to_page_end = 4096 - (addr % 4096) as usize;
            let want = chunk.len().min(to_page_end);
            let got = read_mem(&mem, addr, &mut chunk[..want])?;
            if got == 0 {
                return Err(NotifyError::io(
                    "read of a string argument from the target",
                    std::io::Error::from_raw_os_error(libc::EFAULT),
                ));
            }
            if let Some(end) = chunk[..got].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..end]);
                break;
            }
            out.extend_from_slice(&chunk[..got]);
            if out.len() > max {
                return Err(NotifyError::StringTooLong {
                    id: n.id,
                    index,
                    max,
                });
            }
            addr += got as u64;
        }
        if out.len() > max {
            return Err(NotifyError::StringTooLong {
                id: n.id,
                index,
                max,
            });
        }
        if !self.id_valid(n.id) {
            return Err(NotifyError::TargetGone { id: n.id });
        }
        Ok(CString::new(out).expect("no NUL before the end"))
    }
}

fn read_mem(mem: &std::fs::File, addr: u64, buf: &mut [u8]) -> Result<usize, NotifyError> {
    loop {
        match mem.read_at(buf, addr) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                return Err(NotifyError::io(
                    "read of the target's memory (bad address)",
                    std::io::Error::from_raw_os_error(libc::EFAULT),
                ))
            }
            Err(e) => return Err(NotifyError::io("read of the target's memory", e)),
        }
    }
}

/// Whether a blocked `SECCOMP_IOCTL_NOTIF_RECV` returns once no process uses the filter:
/// Linux 6.11 and later ("seccomp: interrupt SECCOMP_IOCTL_NOTIF_RECV when all users have
/// exited"). An unknown kernel version counts as older (the loop then polls first, which
/// is right on every kernel).
fn receive_ends_with_last_user(kernel: Option<oci_seccomp::moby::KernelVersion>) -> bool {
    kernel.is_some_and(|k| (k.major, k.minor) >= (6, 11))
}

/// Waits at most `timeout` (nanosecond precision: `ppoll`) for `fd` to be readable (or
/// hung up); retries on EINTR with the time left. `None` on timeout, else the events.
fn poll_in(fd: BorrowedFd<'_>, timeout: Duration) -> std::io::Result<Option<PollFlags>> {
    use rustix::event::{poll, PollFd, Timespec};
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(fds[0].revents())),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_seccomp::moby::KernelVersion;

    #[test]
    fn only_linux_6_11_and_later_receive_without_polling_first() {
        let k = |major, minor| Some(KernelVersion { major, minor });
        for (kernel, blocking) in [
            (None, false),
            (k(5, 8), false),
            (k(6, 6), false),
            (k(6, 10), false),
            (k(6, 11), true),
            (k(6, 18), true),
            (k(7, 0), true),
        ] {
            assert_eq!(receive_ends_with_last_user(kernel), blocking, "{kernel:?}");
        }
    }

    /// A child whose `getppid` calls (`calls` of them) are notified and must each fail
    /// with EXDEV; returns it and the notify fd.
    fn notified_child(calls: usize) -> (nix::unistd::Pid, NotifyFd) {
        let spec: oci_seccomp::LinuxSeccomp = oci_seccomp::parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap();
        let program = oci_seccomp::compile(&spec, &oci_seccomp::CompileOptions::default()).unwrap();
        let (parent_end, child_end) = crate::handoff::channel().unwrap();
        let pid = oci_seccomp_test_support::fork_child(|| {
            oci_seccomp_test_support::set_no_new_privs();
            if child_end.install_and_send(&program).is_err() {
                return 3;
            }
            for _ in 0..calls {
                // SAFETY: getppid takes no arguments.
                let rc = unsafe { libc::syscall(libc::SYS_getppid) };
                if rc != -1 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EXDEV) {
                    return 4;
                }
            }
            0
        });
        (pid, NotifyFd::new(parent_end.receive().unwrap().unwrap()))
    }

    /// Both ways of waiting (the one this kernel gets and the polling one every kernel
    /// before 6.11 gets) answer every call and end by themselves once the target exits.
    #[test]
    fn both_loops_answer_every_call_and_end_when_the_target_exits() {
        const CALLS: usize = 100;
        for blocking in [false, true] {
            if blocking && !receive_ends_with_last_user(oci_seccomp::moby::KernelVersion::running())
            {
                // A blocked receive would never return on this kernel: nothing to test.
                continue;
            }
            let (pid, fd) = notified_child(CALLS);
            let agent = std::thread::spawn(move || {
                let mut answered = 0usize;
                fd.serve_loop(blocking, |n| {
                    assert_eq!(n.nr, libc::SYS_getppid as i32);
                    fd.respond_errno(n.id, libc::EXDEV).unwrap();
                    answered += 1;
                    std::ops::ControlFlow::Continue(())
                })
                .map(|()| answered)
            });
            let status = nix::sys::wait::waitpid(pid, None).unwrap();
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(pid, 0),
                "blocking {blocking}"
            );
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !agent.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(
                agent.is_finished(),
                "blocking {blocking}: still running after the target exited"
            );
            assert_eq!(agent.join().unwrap().unwrap(), CALLS, "blocking {blocking}");
        }
    }

    #[test]
    fn a_break_from_the_handler_ends_the_loop() {
        let (pid, fd) = notified_child(1);
        let mut seen = 0;
        fd.serve_loop(false, |n| {
            seen += 1;
            fd.respond_errno(n.id, libc::EXDEV).unwrap();
            std::ops::ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(seen, 1);
        let status = nix::sys::wait::waitpid(pid, None).unwrap();
        assert_eq!(status, nix::sys::wait::WaitStatus::Exited(pid, 0));
    }
}
