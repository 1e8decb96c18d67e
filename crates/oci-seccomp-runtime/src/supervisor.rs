//! Signal forwarding and exit-status mapping, in one place.
//!
//! While the workload runs, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the runtime are
//! passed on to it (the workload is in its own session and does not get the terminal's
//! signals otherwise). When it ends, its wait status becomes an [`Exit`]: its exit code, or
//! the signal that killed it (a shell's `128 + n`).

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SigHandler, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

/// How the workload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// It exited with this status.
    Code(u8),
    /// A signal killed it.
    Signaled(Signal),
    /// Its status could not be read.
    Unknown,
}

impl Exit {
    /// The runtime's own exit status: the code, `128 + n` for signal `n`, 1 if unknown.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Code(c) => c,
            Self::Signaled(s) => (128 + s as i32) as u8,
            Self::Unknown => 1,
        }
    }

    fn from_status(st: WaitStatus) -> Self {
        match st {
            WaitStatus::Exited(_, code) => Self::Code(code as u8),
            WaitStatus::Signaled(_, sig, _) => Self::Signaled(sig),
            _ => Self::Unknown,
        }
    }
}

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::Relaxed);
    if pid > 0 {
        if let Ok(sig) = Signal::try_from(sig) {
            // kill is async-signal-safe.
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
        }
    }
}

/// The parent's watch over one child: forwards signals to it and waits for it.
#[derive(Debug)]
pub struct Supervisor {
    child: Pid,
}

impl Supervisor {
    /// Starts forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT to `child`.
    #[must_use]
    pub fn new(child: Pid) -> Self {
        CHILD.store(child.as_raw(), Ordering::Relaxed);
        for sig in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            // SAFETY: the handler only reads an atomic and calls kill, which are
            // async-signal-safe.
            let _ = unsafe { nix::sys::signal::signal(sig, SigHandler::Handler(forward_signal)) };
        }
        Self { child }
    }

    /// The child's pid.
    #[must_use]
    pub fn child(&self) -> Pid {
        self.child
    }

    /// Waits for the child to end (retrying on EINTR).
    #[must_use]
    pub fn wait(self) -> Exit {
        loop {
            match nix::sys::wait::waitpid(self.child, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(s) => return Exit::from_status(s),
                Err(_) => return Exit::Code(1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Exit::Code(3).code(), 3);
        assert_eq!(Exit::Signaled(Signal::SIGSYS).code(), 159);
        assert_eq!(Exit::Signaled(Signal::SIGKILL).code(), 137);
        assert_eq!(Exit::Unknown.code(), 1);
        let pid = Pid::from_raw(1);
        assert_eq!(Exit::from_status(WaitStatus::Exited(pid, 7)), Exit::Code(7));
        assert_eq!(
            Exit::from_status(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            Exit::Signaled(Signal::SIGTERM)
        );
    }
}
