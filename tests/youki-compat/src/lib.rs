//! youki's use of its seccomp module, with the module body replaced by one `pub use`.
//!
//! youki's `libcontainer::seccomp` exports `initialize_seccomp`, `is_notify` and
//! `SeccompError`, and its init process wraps the error with `#[from]`. This crate has the
//! same shape, so that the swap is shown to compile and to behave (its tests are youki's
//! seccomp tests, ported).

use std::os::fd::RawFd;

use oci_spec::runtime::LinuxSeccomp;

/// youki's `libcontainer::seccomp`, as one line.
pub mod seccomp {
    pub use oci_seccomp_load::{initialize_seccomp, is_notify, SeccompError};
}

/// The shape of youki's init-process error: the seccomp error flows in through `#[from]`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitProcessError {
    /// Seccomp could not be set up.
    #[error("failed to initialize seccomp")]
    Seccomp(#[from] seccomp::SeccompError),
    /// The profile has NOTIFY rules but no listener path.
    #[error("seccomp listener path is not set")]
    NoListenerPath,
}

/// What youki's init does with `linux.seccomp`: install it, and when it has NOTIFY rules,
/// expect an fd to hand to the agent at `listener_path`.
///
/// # Errors
///
/// [`InitProcessError::Seccomp`] from [`seccomp::initialize_seccomp`];
/// [`InitProcessError::NoListenerPath`] when the profile needs an agent and names none.
pub fn init_seccomp(seccomp: &LinuxSeccomp) -> Result<Option<RawFd>, InitProcessError> {
    if seccomp::is_notify(seccomp) && seccomp.listener_path().is_none() {
        return Err(InitProcessError::NoListenerPath);
    }
    Ok(seccomp::initialize_seccomp(seccomp)?)
}
