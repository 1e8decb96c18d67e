//! Lints: what the real compilers do to a profile, beyond what the JSON says.
