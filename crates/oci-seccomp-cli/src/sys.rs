//! The system calls the CLI makes without rustix, its syscall-wrapper crate. Each
//! function names its man page and why it is raw.

use std::io;

/// Makes `handler` the handler of signal `sig` (signal(2), glibc's BSD semantics: the
/// handler stays installed and interrupted calls restart). `Err` with the errno when the
/// kernel refuses (`EINVAL`: no such signal, or SIGKILL or SIGSTOP).
///
/// Raw because rustix does not install signal handlers: its `runtime::kernel_sigaction`
/// is for programs that are their own libc and would bypass the C library's signal
/// trampoline.
///
/// # Safety
///
/// `handler` runs on whichever thread the signal interrupts, between any two
/// instructions: it must be async-signal-safe (signal-safety(7)), as storing to an
/// atomic is.
pub(crate) unsafe fn set_signal_handler(
    sig: libc::c_int,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<()> {
    // SAFETY: the caller promises `handler` is async-signal-safe; signal(2) only records
    // the function pointer, which lives for the whole program.
    let old = unsafe { libc::signal(sig, handler as libc::sighandler_t) };
    if old == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
