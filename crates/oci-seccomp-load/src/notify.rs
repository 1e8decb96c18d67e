//! The supervisor (seccomp agent) side: accept the runtime's message, then receive and
//! answer notifications.
//!
//! ```no_run
//! use oci_seccomp_load::notify::Listener;
//! # fn main() -> Result<(), oci_seccomp_load::NotifyError> {
//! let listener = Listener::bind("/run/seccomp-agent.sock")?;
//! let (state, fd) = listener.accept()?;
//! let _ = fd.set_sync_wakeup(); // Linux >= 6.6: faster synchronous round trips
//! loop {
//!     let n = match fd.receive() {
//!         Ok(n) => n,
//!         Err(e) if e.is_target_gone() => continue,
//!         Err(e) => return Err(e),
//!     };
//!     match fd.respond_continue(n.id) {
//!         Err(e) if e.is_target_gone() => continue,
//!         other => other?,
//!     }
//! }
//! # }
//! ```

use std::ffi::CString;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::NotifyError;
use crate::listener::{ContainerProcessState, ListenerAddress, MAX_STATE_LEN, SECCOMP_FD_NAME};

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: i32,
    /// `AUDIT_ARCH_*`.
    pub arch: u32,
    /// Instruction pointer.
    pub instruction_pointer: u64,
    /// Arguments.
    pub args: [u64; 6],
}

/// `struct seccomp_notif` (80 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SeccompNotif {
    /// Cookie.
    pub id: u64,
    /// Target pid (in the supervisor's pid namespace).
    pub pid: u32,
    /// Unused, zero.
    pub flags: u32,
    /// The syscall.
    pub data: SeccompData,
}

/// `struct seccomp_notif_resp` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SeccompNotifResp {
    /// Cookie.
    pub id: u64,
    /// Return value.
    pub val: i64,
    /// Negative errno, or 0.
    pub error: i32,
    /// `SECCOMP_USER_NOTIF_FLAG_CONTINUE` or 0.
    pub flags: u32,
}

/// `struct seccomp_notif_addfd` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SeccompNotifAddfd {
    /// Cookie.
    pub id: u64,
    /// `SECCOMP_ADDFD_FLAG_*`.
    pub flags: u32,
    /// The supervisor's fd.
    pub srcfd: u32,
    /// The fd number in the target with `SECCOMP_ADDFD_FLAG_SETFD`.
    pub newfd: u32,
    /// `O_CLOEXEC` or 0.
    pub newfd_flags: u32,
}

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    // _IOC(dir, type, nr, size) on the generic ioctl layout (x86, arm, riscv, s390).
    (dir << 30) | ((size as u32) << 16) | ((b'!' as u32) << 8) | nr
}
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `SECCOMP_IOCTL_NOTIF_RECV` = `_IOWR('!', 0, struct seccomp_notif)`.
pub const SECCOMP_IOCTL_NOTIF_RECV: u32 =
    ioc(IOC_READ | IOC_WRITE, 0, std::mem::size_of::<SeccompNotif>());
/// `SECCOMP_IOCTL_NOTIF_SEND` = `_IOWR('!', 1, struct seccomp_notif_resp)`.
pub const SECCOMP_IOCTL_NOTIF_SEND: u32 = ioc(
    IOC_READ | IOC_WRITE,
    1,
    std::mem::size_of::<SeccompNotifResp>(),
);
/// `SECCOMP_IOCTL_NOTIF_ID_VALID` = `_IOW('!', 2, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: u32 = ioc(IOC_WRITE, 2, 8);
/// `SECCOMP_IOCTL_NOTIF_ADDFD` = `_IOW('!', 3, struct seccomp_notif_addfd)`.
pub const SECCOMP_IOCTL_NOTIF_ADDFD: u32 =
    ioc(IOC_WRITE, 3, std::mem::size_of::<SeccompNotifAddfd>());
/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` = `_IOW('!', 4, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_SET_FLAGS: u32 = ioc(IOC_WRITE, 4, 8);

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
pub fn kernel_notif_sizes() -> std::io::Result<(u16, u16, u16)> {
    let mut sizes = [0u16; 3];
    // SAFETY: SECCOMP_GET_NOTIF_SIZES (3) writes a struct of three u16 into `sizes`.
    let rc = unsafe { libc::syscall(libc::SYS_seccomp, 3, 0, sizes.as_mut_ptr()) };
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

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl NotifyFd {
    /// Wraps a notify fd (from [`crate::install`] or from [`Listener::accept`]).
    pub fn new(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// # Safety
    /// `arg` must be what `request` expects.
    unsafe fn ioctl(&self, request: u32, arg: *mut libc::c_void) -> Result<i32, i32> {
        loop {
            // SAFETY: the fd is ours; the caller guarantees `arg` matches `request`.
            let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, arg) };
            if rc >= 0 {
                return Ok(rc);
            }
            match last_errno() {
                libc::EINTR => continue,
                e => return Err(e),
            }
        }
    }

    /// Blocks until a notification arrives. ENOENT (the target died before we read it) is
    /// [`NotifyError::TargetGone`]: not fatal, call again.
    pub fn receive(&self) -> Result<Notification, NotifyError> {
        let mut n = SeccompNotif::default(); // the kernel requires it zeroed
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

    /// Waits up to `timeout` for a notification: `Ok(None)` on timeout,
    /// [`NotifyError::AllTargetsGone`] once every process using the filter has exited.
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Option<Notification>, NotifyError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut p = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            let rc = unsafe { libc::poll(&mut p, 1, ms) };
            if rc < 0 {
                if last_errno() == libc::EINTR {
                    continue;
                }
                return Err(NotifyError::io(
                    "poll on the notify fd",
                    std::io::Error::last_os_error(),
                ));
            }
            if rc == 0 {
                return Ok(None);
            }
            if p.revents & libc::POLLIN != 0 {
                return self.receive().map(Some);
            }
            if p.revents & libc::POLLHUP != 0 {
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
    pub fn set_sync_wakeup(&self) -> Result<(), NotifyError> {
        // SAFETY: SET_FLAGS takes the flags as the ioctl argument value, not a pointer;
        // the kernel does not dereference it.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                SECCOMP_IOCTL_NOTIF_SET_FLAGS as _,
                SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP as libc::c_ulong,
            )
        };
        if rc < 0 {
            return Err(NotifyError::io(
                "ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes (or fewer, at an unmapped page) at `addr` in the target's
    /// memory through `/proc/PID/mem`, checking [`NotifyFd::id_valid`] after opening the
    /// file (the pid may have been reused) and after reading.
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

/// The agent's listening socket at `listenerPath`.
#[derive(Debug)]
pub struct Listener {
    inner: UnixListener,
    address: ListenerAddress,
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl Listener {
    /// Binds and listens at `path` (an absolute path, or `@name` in the abstract
    /// namespace). The socket is close-on-exec; a socket file is removed on drop.
    pub fn bind(path: impl AsRef<Path>) -> Result<Self, NotifyError> {
        let path = path.as_ref();
        let address = ListenerAddress::parse(path).ok_or_else(|| NotifyError::BadListenerPath {
            path: path.display().to_string(),
        })?;
        let sa = address
            .to_socket_addr()
            .map_err(|e| NotifyError::io("listener address", e))?;
        let inner =
            UnixListener::bind_addr(&sa).map_err(|e| NotifyError::io("bind of the listener", e))?;
        Ok(Self { inner, address })
    }

    /// The address it listens at.
    pub fn address(&self) -> &ListenerAddress {
        &self.address
    }

    /// Accepts one runtime connection and reads its message: the container process state
    /// and the notify fd. A bad message is an error (and every fd that came with it is
    /// closed); the listener can accept again.
    pub fn accept(&self) -> Result<(ContainerProcessState, NotifyFd), NotifyError> {
        let (stream, _) = self
            .inner
            .accept()
            .map_err(|e| NotifyError::io("accept on the listener", e))?;
        receive_message(&stream)
    }

    /// [`Listener::accept`] waiting at most `timeout` for a connection: `Ok(None)` when
    /// none came.
    pub fn accept_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<(ContainerProcessState, NotifyFd)>, NotifyError> {
        let mut p = libc::pollfd {
            fd: self.inner.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut p, 1, ms) };
        if rc < 0 {
            return Err(NotifyError::io(
                "poll on the listener",
                std::io::Error::last_os_error(),
            ));
        }
        if rc == 0 {
            return Ok(None);
        }
        self.accept().map(Some)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let ListenerAddress::Path(p) = &self.address {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Checks and decodes the bytes of a runtime's message, given how many fds came with it:
/// a JSON `ContainerProcessState` whose `fds` is `["seccompFd"]`, and exactly one fd.
/// [`receive_message`] calls it; it is public so the decoding can be tested and fuzzed on
/// its own. It never panics, whatever the bytes.
pub fn decode_message(data: &[u8], fd_count: usize) -> Result<ContainerProcessState, NotifyError> {
    if data.is_empty() {
        return Err(NotifyError::bad("empty message (connection closed)"));
    }
    if data.len() > MAX_STATE_LEN {
        return Err(NotifyError::bad(format!(
            "the message is larger than {MAX_STATE_LEN} bytes"
        )));
    }
    if fd_count != 1 {
        return Err(NotifyError::bad(format!(
            "{fd_count} fds received; exactly one (the seccomp notify fd) is expected"
        )));
    }
    let state: ContainerProcessState = serde_json::from_slice(data)
        .map_err(|e| NotifyError::bad(format!("invalid container process state JSON: {e}")))?;
    if state.fds != [SECCOMP_FD_NAME] {
        return Err(NotifyError::bad(format!(
            "fds is {:?}; [\"{SECCOMP_FD_NAME}\"] is expected",
            state.fds
        )));
    }
    Ok(state)
}

/// How long [`receive_message`] waits for the rest of a message.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the runtime's message from an accepted connection: JSON container process state
/// plus exactly one fd, which must be a seccomp notify fd. On any error every received fd
/// is closed.
pub fn receive_message(
    stream: &UnixStream,
) -> Result<(ContainerProcessState, NotifyFd), NotifyError> {
    stream
        .set_read_timeout(Some(MESSAGE_TIMEOUT))
        .map_err(|e| NotifyError::io("SO_RCVTIMEO on the runtime connection", e))?;
    let mut data = vec![0u8; MAX_STATE_LEN + 1];
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut len = 0usize;
    let mut truncated_fds = false;
    loop {
        let mut cmsg = nix::cmsg_space!([RawFd; 16]);
        let (n, more_fds) = {
            let mut iov = [IoSliceMut::new(&mut data[len..])];
            let msg = match nix::sys::socket::recvmsg::<()>(
                stream.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => m,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    return Err(NotifyError::io(
                        "recvmsg of the runtime's message",
                        e.into(),
                    ))
                }
            };
            let mut got = Vec::new();
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    if let nix::sys::socket::ControlMessageOwned::ScmRights(v) = c {
                        got.extend(v);
                    }
                }
            }
            if msg.flags.contains(nix::sys::socket::MsgFlags::MSG_CTRUNC) {
                truncated_fds = true;
            }
            (msg.bytes, got)
        };
        for raw in more_fds {
            // SAFETY: SCM_RIGHTS gave us these new fds; nobody else owns them.
            fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
        }
        len += n;
        if len > MAX_STATE_LEN {
            return Err(NotifyError::bad(format!(
                "the message is larger than {MAX_STATE_LEN} bytes"
            )));
        }
        if n == 0 {
            break;
        }
        match serde_json::from_slice::<serde_json::Value>(&data[..len]) {
            Ok(_) => break,
            Err(e) if e.is_eof() => continue,
            Err(_) => break,
        }
    }
    if truncated_fds {
        return Err(NotifyError::bad(
            "too many fds (control data truncated); exactly one is expected",
        ));
    }
    let state = decode_message(&data[..len], fds.len())?;
    let Some(fd) = fds.pop() else {
        return Err(NotifyError::bad("no fd received"));
    };
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| NotifyError::io("readlink of the received fd", e))?;
    if link.as_os_str() != "anon_inode:seccomp notify" {
        return Err(NotifyError::bad(format!(
            "the fd received is {}, not a seccomp notify fd",
            link.display()
        )));
    }
    Ok((state, NotifyFd::new(fd)))
}
