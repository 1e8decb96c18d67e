//! Install a compiled seccomp program in the calling process, return the
//! user-notification fd, and hand it to a supervisor.

mod error;
mod install;

pub use error::LoadError;
pub use install::{action_supported, effective_flags, flag_supported, install};
