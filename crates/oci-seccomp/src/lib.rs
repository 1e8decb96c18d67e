//! Translate the OCI `linux.seccomp` object into a validated, proven, loadable seccomp
//! program.
//!
//! # Terminology
//!
//! A **profile** (the runtime spec's `linux.seccomp`) has a default action and
//! **entries** (`syscalls[i]`). Each entry names syscalls; each name with the entry's
//! action and argument comparisons is a **rule**, and each comparison a **condition**
//! (`arg1 & 0x7e020000 == 0`). A profile is validated into a [`Profile`]; its meaning,
//! what it decides for any call and which entry decides it, is its [`Semantics`]. A
//! **backend** turns it into instructions (classic BPF, [`Instruction`]); the **proof**
//! checks them against the semantics over every input; only then are they a
//! [`Program`], which the `oci-seccomp-load` crate installs.
//!
//! # The pipeline
//!
//! The folders under `src/` are its stages, drawn once here and in docs/design.md §1.1:
//!
#![doc = include_str!("pipeline.md")]
//!
//! Where a change goes: a new validation rule, into the step of `profile/validate.rs` that
//! reads the field (with its own error naming the path); a new lint, into the file of
//! `tools/lint/` of its kind (one function per lint code, called from `Linter` in
//! `tools/lint/mod.rs`, its code described in `tools/lint/codes.rs`); a new backend, beside
//! `backend/native/` as a [`Backend`] variant whose output the pipeline proves like the
//! others; a new output format of a program, in [`Program`] (bytes) or the CLI (text);
//! a new question about what a profile decides, in [`Semantics`].
//!
//! Two profiles (or programs) are compared by what they decide with [`diff`] (regions,
//! both actions and deciding entries, a witness call; [`Change::Looser`] is the gate), and
//! rewritten by meaning with [`normalize`] (`fmt`) and [`merge`] (union, intersection),
//! each result proven equal to its definition before it is returned.
//!
//! ```
//! use oci_seccomp::merge::{merge, Combine};
//! use oci_seccomp::{diff, parse_profile, Change, Profile, Semantics, Stub};
//!
//! let old = parse_profile(r#"{"defaultAction": "SCMP_ACT_ERRNO",
//!     "syscalls": [{ "names": ["read"], "action": "SCMP_ACT_ALLOW",
//!                    "args": [{ "index": 0, "value": 5, "op": "SCMP_CMP_LT" }] }]}"#)?;
//! let new = parse_profile(r#"{"defaultAction": "SCMP_ACT_ERRNO",
//!     "syscalls": [{ "names": ["read"], "action": "SCMP_ACT_ALLOW",
//!                    "args": [{ "index": 0, "value": 5, "op": "SCMP_CMP_LE" }] }]}"#)?;
//! let meaning = |s| Semantics::new(&Profile::from_oci(s, false).unwrap(), Stub::Enosys);
//! // One region per ABI the profiles list: read(5, ...), denied before, allowed now.
//! let d = diff(&meaning(&old), &meaning(&new))?;
//! assert!(!d.is_empty());
//! assert!(d.iter().all(|x| x.change() == Change::Looser && x.witness.args[0] == 5));
//! // The union allows what either allows, proven before it is returned.
//! let union = merge(&[old.clone(), new.clone()], Combine::Union, oci_seccomp::arch::native())?;
//! assert!(diff(&meaning(&union.spec), &meaning(&new))?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate never touches the calling process's seccomp state.
//!
//! ```
//! use oci_seccomp::{compile, parse_profile, simulate, Action, CompileOptions};
//!
//! let spec = parse_profile(r#"{
//!     "defaultAction": "SCMP_ACT_ERRNO",
//!     "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ALLOW" }]
//! }"#)?;
//! let program = compile(&spec, &CompileOptions::default())?;
//! let x86_64 = oci_seccomp::arch::AUDIT_ARCH_X86_64;
//! # if cfg!(target_arch = "x86_64") {
//! assert_eq!(simulate(&program, x86_64, 110, [0; 6])?.action, Action::Allow); // getppid
//! assert_eq!(simulate(&program, x86_64, 39, [0; 6])?.action, Action::Errno(1)); // getpid
//! assert_eq!(simulate(&program, x86_64, 1000, [0; 6])?.action, Action::Errno(38)); // newer
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod action;
mod backend;
mod compare;
mod error;
mod flags;
mod options;
mod pipeline;
mod program;
mod sys;
mod tools;

pub mod arch;
pub mod bpf;
pub mod profile;
pub mod proof;

// The pipeline.
pub use options::{Backend, CompileOptions};
pub use pipeline::{compile, compile_profile, compile_profile_within};
pub use profile::semantics::Stub;

// The profile and its meaning.
pub use compare::{
    diff, diff_deciders, diff_within, Change, Decided, Decider, DiffError, Difference,
    MAX_DIFFERENCES,
};
pub use profile::parse::{parse_profile, MAX_PROFILE_BYTES};
pub use profile::semantics::{Cause, Semantics, StepBudget, Verdict, MAX_STEPS};
pub use profile::{ArgReading, Condition, Op, Profile, Rule};

// The program.
pub use action::{strictness, Action};
pub use bpf::{Decision, Instruction, SeccompData};
pub use flags::FilterFlags;
pub use program::{simulate, Program};

// The program cache a runtime keeps between starts.
pub use tools::cache::{Cache, CacheError, CacheKey, CacheOutcome, MemoryCache};

// Errors, one per operation.
pub use error::{CompileError, Miscompiled, ParseError, ProgramFormatError, SimulateError};

// Namespaces: the profile's details, the backends, the proof, and the tools built on top.
pub use backend::{libseccomp, native};
pub use tools::{cache, explain, learn, lift, lint, merge, moby, normalize, runtimes, spo, trace};

// The paths of the flat layout before 0.1's pipeline folders, kept one release for code
// outside the workspace: hidden from the documentation, deprecated (using them warns).
// Nothing in the workspace uses them.
#[doc(hidden)]
#[deprecated(since = "0.1.0", note = "moved to `oci_seccomp::arch::errno`")]
pub mod errno {
    pub use crate::arch::errno::*;
}
#[doc(hidden)]
#[deprecated(since = "0.1.0", note = "moved to `oci_seccomp::arch::argwidth`")]
pub mod argwidth {
    pub use crate::arch::argwidth::*;
}
/// Moved to [`libseccomp::build_context`].
///
/// # Errors
///
/// As [`libseccomp::build_context`].
#[doc(hidden)]
#[deprecated(
    since = "0.1.0",
    note = "moved to `oci_seccomp::libseccomp::build_context`"
)]
pub fn build_context(spec: &LinuxSeccomp) -> Result<::libseccomp::ScmpFilterContext, CompileError> {
    libseccomp::build_context(spec)
}
/// Moved to [`libseccomp::build_profile_context`].
///
/// # Errors
///
/// As [`libseccomp::build_profile_context`].
#[doc(hidden)]
#[deprecated(
    since = "0.1.0",
    note = "moved to `oci_seccomp::libseccomp::build_profile_context`"
)]
pub fn build_profile_context(
    profile: &Profile,
    opts: &CompileOptions,
) -> Result<::libseccomp::ScmpFilterContext, CompileError> {
    libseccomp::build_profile_context(profile, opts)
}
/// Moved to [`libseccomp::export_instructions`].
///
/// # Errors
///
/// As [`libseccomp::export_instructions`].
#[doc(hidden)]
#[deprecated(
    since = "0.1.0",
    note = "moved to `oci_seccomp::libseccomp::export_instructions`"
)]
pub fn export_instructions(
    ctx: &::libseccomp::ScmpFilterContext,
) -> Result<Vec<Instruction>, CompileError> {
    libseccomp::export_instructions(ctx)
}

/// Moved to [`profile::go_key_eq`].
#[doc(hidden)]
#[deprecated(since = "0.1.0", note = "moved to `oci_seccomp::profile::go_key_eq`")]
pub fn go_key_eq(key: &str, name: &str) -> bool {
    profile::go_key_eq(key, name)
}
/// Moved to [`profile::unknown_keys`].
#[doc(hidden)]
#[deprecated(
    since = "0.1.0",
    note = "moved to `oci_seccomp::profile::unknown_keys`"
)]
pub fn unknown_keys(v: &serde_json::Value, docker: bool) -> Vec<String> {
    profile::unknown_keys(v, docker)
}
/// Moved to [`profile::find_docker_key`].
#[doc(hidden)]
#[deprecated(
    since = "0.1.0",
    note = "moved to `oci_seccomp::profile::find_docker_key`"
)]
pub fn find_docker_key(v: &serde_json::Value) -> Option<(String, String)> {
    profile::find_docker_key(v)
}
/// Moved to [`bpf::is_constant_allow`].
#[doc(hidden)]
#[deprecated(
    since = "0.1.0",
    note = "moved to `oci_seccomp::bpf::is_constant_allow`"
)]
pub fn is_constant_allow(insns: &[Instruction], arch: u32, nr: u32) -> bool {
    bpf::is_constant_allow(insns, arch, nr)
}
/// Moved to [`bpf::is_allow_given`].
#[doc(hidden)]
#[deprecated(since = "0.1.0", note = "moved to `oci_seccomp::bpf::is_allow_given`")]
pub fn is_allow_given(
    insns: &[Instruction],
    arch: u32,
    nr: u32,
    fixed: &[(usize, u64)],
    big_endian: bool,
) -> bool {
    bpf::is_allow_given(insns, arch, nr, fixed, big_endian)
}

/// Re-export of the oci-spec types this crate takes.
pub use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall,
};

/// A small deterministic generator (xorshift64) for the unit tests that draw random
/// inputs: the same sequence on every run, so a failure names a reproducible round.
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed | 1;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n.max(1)
    }
}
