//! Translate the OCI `linux.seccomp` object into a validated, loadable seccomp program.
//!
//! The data flows one way:
//!
//! ```text
//! LinuxSeccomp (oci-spec) -> Profile (validated) -> libseccomp context -> exported BPF
//!   -> ENOSYS stub on the default path -> complete check -> Program (instructions + flags)
//! ```
//!
//! Installing the program is the job of the `oci-seccomp-load` crate; this crate never
//! touches the calling process's seccomp state.
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
pub mod arch;
pub mod argwidth;
pub mod bpf;
pub mod cache;
pub mod codegen;
mod compile;
pub mod errno;
pub mod error;
pub mod explain;
pub mod learn;
pub mod lint;
pub mod moby;
mod parse;
pub mod profile;
pub mod program;
pub mod prove;
pub mod runtimes;
pub mod simulate;
pub mod stub;
#[rustfmt::skip]
pub mod syscall_table;
pub mod trace;
pub mod verify;

pub use action::Action;
pub use cache::{Cache, CacheError, CacheKey, CacheOutcome, MemoryCache};
pub use compile::{
    build_context, build_profile_context, compile, compile_profile, compile_profile_within,
    export_instructions, Backend, CompileOptions,
};
pub use error::{CompileError, ParseError, ProgramFormatError, SimulateError};
pub use parse::{find_docker_key, go_key_eq, parse_profile, unknown_keys, MAX_PROFILE_BYTES};
pub use profile::{ArgReading, Profile};
pub use program::{FilterFlags, Instruction, Program};
pub use simulate::{is_allow_given, is_constant_allow, simulate, Decision, SeccompData};

/// Re-export of the oci-spec types this crate takes.
pub use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall,
};
