//! Backends: a validated profile in, instructions out. Neither proves its output; the
//! pipeline does ([`crate::proof`]).
//!
//! - [`native`]: our generator, the default: a binary search over syscall numbers,
//!   argument decision diagrams, a compact layout; any target from any host.
//! - [`libseccomp`]: libseccomp's generator with our stub on its default path and the
//!   complexity limits that keep it within seconds.
//! - [`stub`]: the ENOSYS stub both place on the default path.

pub mod libseccomp;
pub mod native;
pub(crate) mod stub;
