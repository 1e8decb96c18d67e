//! What a profile does with one syscall, and why: the logic of `oci-seccomp explain`.
//!
//! [`explain`] validates and compiles the profile, runs the compiled program on the call
//! ([`simulate`](crate::simulate())) and asks the profile's own decision procedure
//! ([`Profile::decide`], the oracle of the complete check in [`prove`](crate::proof)) which
//! entry decided. Compilation proves the program against that same procedure, so the
//! action the program returns and the entry named always agree. The result is structured
//! data; formatting it is the caller's job.
//!
//! ```
//! use oci_seccomp::explain::{explain, DecidedBy};
//! use oci_seccomp::{arch, parse_profile, Action};
//!
//! let spec = parse_profile(r#"{
//!     "defaultAction": "SCMP_ACT_ERRNO",
//!     "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ALLOW" }]
//! }"#)?;
//! let native = arch::native();
//! let nr = arch::resolve("getppid", native).expect("every ABI has getppid");
//! let e = explain(&spec, native, nr, &[])?;
//! assert_eq!(e.action, Action::Allow);
//! assert!(matches!(&e.decided_by, DecidedBy::Entry(entry) if entry.index == 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSyscall};

use crate::action::Action;
use crate::arch::argwidth;
use crate::arch::{self, ArchInfo};
use crate::error::{CompileError, SimulateError};
use crate::profile::{ArgReading, Profile};
use crate::Cause;
use crate::CompileOptions;

/// Why [`explain`] could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// More than six arguments were given.
    #[error("{0} arguments given; a syscall has at most six")]
    TooManyArguments(usize),
    /// The profile does not validate or compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The compiled program could not be run (never expected of a compiled program).
    #[error("simulation failed: {0}")]
    Simulate(#[from] SimulateError),
}

/// An entry of the profile's `syscalls`, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its index in `syscalls`.
    pub index: usize,
    /// The entry as written; `None` only if the index is outside the profile.
    pub syscall: Option<LinuxSyscall>,
}

impl Entry {
    fn new(spec: &LinuxSeccomp, index: usize) -> Self {
        Self {
            index,
            syscall: spec.syscalls().as_ref().and_then(|s| s.get(index)).cloned(),
        }
    }

    /// Whether the entry's comparisons are ORed rather than ANDed: an argument index
    /// appears twice, so every comparison becomes its own rule (as runc, crun and youki
    /// read it).
    pub fn conditions_ored(&self) -> bool {
        let Some(e) = &self.syscall else {
            return false;
        };
        let args = e.args().as_deref().unwrap_or_default();
        args.iter()
            .enumerate()
            .any(|(k, a)| args[..k].iter().any(|b| b.index() == a.index()))
    }
}

/// What decided the call ([`Cause`], with the entries as written).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecidedBy {
    /// An entry matched.
    Entry(Entry),
    /// A socket or IPC call reached through its multiplexer, whose arguments the filter
    /// cannot read: the strictest outcome of the entry and the default applies.
    Multiplexed {
        /// The conditional entry.
        entry: Entry,
        /// The call reached through the multiplexer, for example `setsockopt`.
        syscall: String,
    },
    /// No entry matched: the profile's `defaultAction`, as written.
    Default(LinuxSeccompAction),
    /// The ENOSYS stub: the number is above the highest the profile names for the ABI.
    Stub,
    /// The ABI of the call is not in the filter.
    BadArch {
        /// Whether the architecture is listed (then the number belongs to another ABI of
        /// the same audit architecture: an x32 number on x86_64).
        listed: bool,
    },
}

/// How the kernel reads one given argument ([`argwidth`], from the syscall's
/// `SYSCALL_DEFINE` types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelRead {
    /// The argument's index.
    pub index: usize,
    /// Its C type, for example `unsigned int`.
    pub ty: &'static str,
    /// Its name in the kernel source.
    pub name: &'static str,
    /// Bits the kernel reads (a 32-bit ABI's register holds 32 whatever the type).
    pub bits: u8,
    /// `(1 << bits) - 1`.
    pub mask: u64,
    /// The value given, as the filter compares it.
    pub given: u64,
    /// The value the syscall runs with.
    pub read: u64,
}

/// Everything [`explain`] found out about one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The syscall's name on its ABI, or `#nr` when libseccomp has none.
    pub syscall: String,
    /// `seccomp_data.nr`.
    pub nr: i32,
    /// The architecture asked about.
    pub arch: &'static ArchInfo,
    /// The six arguments (those not given are 0).
    pub args: [u64; 6],
    /// How many arguments were given.
    pub given: usize,
    /// What the compiled program returns, decoded.
    pub action: Action,
    /// The entry (or default, stub, missing ABI) behind the action.
    pub decided_by: DecidedBy,
    /// Instructions the program executed, the `RET` included.
    pub executed: usize,
    /// Index of the `RET` that decided.
    pub ret_index: usize,
    /// Length of the compiled program.
    pub program_length: usize,
    /// How the kernel reads each given argument it has a type for.
    pub kernel_reads: Vec<KernelRead>,
    /// How the program compared the narrow ones: on what the kernel reads, or on all 64
    /// bits (runc's literal reading).
    pub arg_reading: ArgReading,
}

/// The `seccomp_data.nr` of a number given for `arch`: any 32-bit value
/// (`0..=0xffffffff`) or a sign-extended negative one such as `-1` (a tracer skipping
/// the call); on x32 the x32 bit is added to a plain number. `None` when `n` fits
/// neither.
pub fn number_for(arch: &ArchInfo, n: u64) -> Option<i32> {
    let n = if let Ok(n) = u32::try_from(n) {
        n
    } else if n >= 0xffff_ffff_8000_0000 {
        // The low 32 bits of a sign-extended negative number.
        n as u32
    } else {
        return None;
    };
    // An x32 call carries bit 30; give it for the plain number too.
    let n = if arch.x32 && n < arch::X32_SYSCALL_BIT {
        n | arch::X32_SYSCALL_BIT
    } else {
        n
    };
    // `nr` is an `int` in `seccomp_data`: the same 32 bits.
    Some(n as i32)
}

/// The name of syscall `nr` on `arch`, or `#nr`. On x86_64 a number with the x32 bit
/// set is named as an x32 call (same audit architecture).
pub fn syscall_name(arch: &'static ArchInfo, nr: i32) -> String {
    let name_arch = if !arch.x32
        && arch.audit_arch == arch::AUDIT_ARCH_X86_64
        && (nr as u32) & arch::X32_SYSCALL_BIT != 0
    {
        arch::by_name("SCMP_ARCH_X32").unwrap_or(arch)
    } else {
        arch
    };
    arch::syscall_name(nr, name_arch).unwrap_or_else(|| format!("#{nr}"))
}

/// How the kernel reads each of `args` for `syscall` on `arch`: one [`KernelRead`] per
/// argument whose type the table in [`argwidth`] knows.
pub fn kernel_reads(syscall: &str, arch: &ArchInfo, args: &[u64]) -> Vec<KernelRead> {
    args.iter()
        .enumerate()
        .filter_map(|(index, &given)| {
            let info = argwidth::arg_info(syscall, index)?;
            // A 32-bit ABI's register holds 32 bits whatever the type.
            let bits = if arch.narrow_args() {
                info.bits.min(32)
            } else {
                info.bits
            };
            let mask = argwidth::read_mask(bits);
            Some(KernelRead {
                index,
                ty: info.ty,
                name: info.name,
                bits,
                mask,
                given,
                read: given & mask,
            })
        })
        .collect()
}

/// Explains what `spec` does with syscall `nr` of `arch` called with `args` (at most
/// six; the others are 0): validates and compiles the profile (default options, ENOSYS
/// stub included) for the host that runs `arch` ([`arch::target_of`]: this host when it
/// runs `arch`, else a host of `arch`, so `s390x` is explained as an s390x host's
/// filter, big-endian), runs the program on the call and names what decided it.
///
/// # Errors
///
/// [`ExplainError::TooManyArguments`] for more than six arguments,
/// [`ExplainError::Compile`] when the profile does not validate or compile (the error
/// names the JSON path), [`ExplainError::Simulate`] if the compiled program cannot be run.
pub fn explain(
    spec: &LinuxSeccomp,
    arch: &'static ArchInfo,
    nr: i32,
    args: &[u64],
) -> Result<Explanation, ExplainError> {
    explain_reading(spec, arch, nr, args, ArgReading::Kernel)
}

/// [`explain`] for the program compiled with `reading` ([`ArgReading`]): how comparisons
/// on arguments the kernel reads as 32 (or 16) bits are decided.
///
/// # Errors
///
/// As [`explain`].
pub fn explain_reading(
    spec: &LinuxSeccomp,
    arch: &'static ArchInfo,
    nr: i32,
    args: &[u64],
    reading: ArgReading,
) -> Result<Explanation, ExplainError> {
    if args.len() > 6 {
        return Err(ExplainError::TooManyArguments(args.len()));
    }
    let mut all = [0u64; 6];
    all[..args.len()].copy_from_slice(args);
    let syscall = syscall_name(arch, nr);

    let opts = CompileOptions::default().with_arg_reading(reading);
    let profile = Profile::from_oci_reading(spec, false, arch::target_of(&[arch]), reading)?;
    // `compile` proves the program against the profile, so the oracle below explains
    // exactly what the program does.
    let program = crate::compile_profile(&profile, &opts)?;
    let run = crate::simulate(&program, arch.audit_arch, nr, all)?;
    let verdict = profile.decide_with(opts.stub, arch.audit_arch, nr as u32, all);
    let decided_by = match verdict.cause_of(run.action).clone() {
        Cause::Entry(i) => DecidedBy::Entry(Entry::new(spec, i)),
        Cause::Multiplexed { entry, syscall } => DecidedBy::Multiplexed {
            entry: Entry::new(spec, entry),
            syscall,
        },
        Cause::Default => DecidedBy::Default(spec.default_action()),
        Cause::Stub => DecidedBy::Stub,
        Cause::BadArch => DecidedBy::BadArch {
            listed: profile.architectures().iter().any(|x| x.name == arch.name),
        },
    };
    let kernel_reads = kernel_reads(&syscall, arch, args);
    Ok(Explanation {
        syscall,
        nr,
        arch,
        args: all,
        given: args.len(),
        action: run.action,
        decided_by,
        executed: run.executed,
        ret_index: run.ret_index,
        program_length: program.len(),
        kernel_reads,
        arg_reading: reading,
    })
}
