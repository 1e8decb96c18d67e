//! Check of a compiled program against the profile's semantics.
//!
//! This used to try argument values around the profile's constants; it now runs the
//! complete check of the [`prove`](crate::prove) module, which covers every input rather
//! than a sample. Kept so that callers of [`verify`] need not change.

use crate::error::CompileError;
use crate::profile::Profile;
use crate::program::Program;

/// Proves `program` against `profile`, the ENOSYS stub included (see
/// [`prove::prove`](crate::prove::prove)).
///
/// # Errors
///
/// [`CompileError::Miscompiled`] naming the entry and a witness call when the program
/// decides some call otherwise than the profile says.
pub fn verify(profile: &Profile, program: &Program) -> Result<(), CompileError> {
    crate::prove::prove(profile, program, true)
}
