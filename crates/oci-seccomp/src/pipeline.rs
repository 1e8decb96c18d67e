//! The pipeline: a `linux.seccomp` object is validated into a [`Profile`], a backend
//! generates instructions for it, the proof checks them against the profile's meaning over
//! every input, and only then do they become a [`Program`].

use oci_spec::runtime::LinuxSeccomp;

use crate::backend::{libseccomp, native};
use crate::error::CompileError;
use crate::options::{Backend, CompileOptions};
use crate::profile::Profile;
use crate::program::Program;
use crate::proof::{self, StepBudget};

/// Compiles an OCI `linux.seccomp` object into a loadable, proven program.
///
/// See docs/design.md §2.1 for the exact semantics; in short they are runc's, with the OCI
/// meaning of `SCMP_CMP_MASKED_EQ`, errors for what libseccomp would silently wrap, and a
/// deterministic ENOSYS stub on the default path.
///
/// # Errors
///
/// As [`Profile::from_oci`] and [`compile_profile`].
pub fn compile(spec: &LinuxSeccomp, opts: &CompileOptions) -> Result<Program, CompileError> {
    let profile =
        Profile::from_oci_reading(spec, opts.strict, opts.target_arch(), opts.arg_reading)?;
    compile_profile(&profile, opts)
}

/// Compiles an already validated [`Profile`] with `opts.backend` (its target is the one it
/// was validated for; `opts.target` is not read).
///
/// # Errors
///
/// A [`CompileError`]: the program is longer than the kernel accepts, or the proof finds a
/// call the program decides otherwise than the profile ([`CompileError::Miscompiled`]), or
/// the proof needs more than [`proof::MAX_STEPS`] steps
/// ([`CompileError::TooComplexToProve`]). With [`Backend::Libseccomp`] also: the profile
/// exceeds a complexity limit (naming the entry), is for another byte order, or
/// libseccomp refuses or cannot export it.
pub fn compile_profile(profile: &Profile, opts: &CompileOptions) -> Result<Program, CompileError> {
    compile_profile_within(profile, opts, &mut StepBudget::new(proof::MAX_STEPS))
}

/// [`compile_profile`] whose proof runs within what is left of `budget` (and is charged to
/// it), for a caller that shares one budget among several analyses, as
/// `oci-seccomp check` does.
///
/// # Errors
///
/// As [`compile_profile`]; [`CompileError::TooComplexToProve`] when the proof needs more
/// than what was left of `budget`.
pub fn compile_profile_within(
    profile: &Profile,
    opts: &CompileOptions,
    budget: &mut StepBudget,
) -> Result<Program, CompileError> {
    let program = match opts.backend {
        Backend::Native => {
            let insns = native::generate(profile, opts.stub)?;
            Program::new(insns, profile.flags(), profile.optional_flags())
        }
        Backend::Libseccomp => {
            let program = libseccomp::unproven_program(profile, opts)?;
            #[allow(deprecated)] // The old opt-out keeps working for libseccomp's programs.
            if !opts.verify {
                return Ok(program);
            }
            program
        }
    };
    proof::prove_within(profile, &program, opts.stub, budget)?;
    Ok(program)
}
