//! The `oci-seccomp` command: check, compile, explain, render and run seccomp profiles,
//! supervise notifications, and report what the host supports.
//!
//! Exit status: 0 when everything is fine, 1 for a problem in the profile or a denied or
//! failed run, 2 for a usage error. Every error is one line on stderr that names the
//! field path, the value and the reason, with a hint where one helps.

mod check;
mod compile;
mod completions;
mod demo;
mod errors;
mod explain;
mod features;
mod logging;
mod man;
mod record;
mod render;
mod report;
mod run;
mod sarif;
mod supervise;
mod util;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

pub use errors::{CliError, CliResult};

/// Check, compile, explain, render and run OCI seccomp profiles.
#[derive(Debug, Parser)]
#[command(name = "oci-seccomp", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 ok, 1 a problem in the profile or a denied/failed run, 2 usage.\n\
                  Set OCI_SECCOMP_LOG=debug|info|warn|error to change how much is logged (warn)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Code generators of `compile --backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Ours: binary search over number ranges, any target from any host.
    Native,
    /// libseccomp's `seccomp_export_bpf`, with our ENOSYS stub.
    Libseccomp,
}

impl From<BackendArg> for oci_seccomp::Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Native => Self::Native,
            BackendArg::Libseccomp => Self::Libseccomp,
        }
    }
}

/// How comparisons on arguments the kernel reads as 32 (or 16) bits are decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArgReadingArg {
    /// On the bits the kernel reads: upper bits set by the caller change nothing.
    Kernel,
    /// On all 64 bits of the register, as written: runc's and crun's reading.
    Literal,
}

impl From<ArgReadingArg> for oci_seccomp::ArgReading {
    fn from(r: ArgReadingArg) -> Self {
        match r {
            ArgReadingArg::Kernel => Self::Kernel,
            ArgReadingArg::Literal => Self::Literal,
        }
    }
}

/// Output formats of `compile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The kernel's `struct sock_filter` array, as bytes (the target host's byte order).
    Raw,
    /// One instruction per line: index, code, jt, jf, k in hex.
    Hex,
    /// libseccomp's pseudo filter code (PFC) text; no ENOSYS stub.
    Pfc,
    /// JSON: instructions, length, flags, needs_listener.
    Json,
    /// The versioned, checksummed `Program::to_bytes()` format (for a runtime's child).
    Program,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate and lint a profile (OCI or Docker); exit 1 if any error is found.
    ///
    /// A Docker (moby) profile is validated as moby reads it, rendered (for this host, or
    /// --cap/--arch/--kernel as in `render`) and the result is linted.
    Check {
        /// The profile (JSON); `-` reads standard input.
        profile: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = check::CheckFormat::Text)]
        format: check::CheckFormat,
        /// The same as --format json (kept for existing scripts).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Docker profiles: add a capability to Docker's default set; repeatable.
        #[arg(long = "cap", value_name = "CAP")]
        cap: Vec<String>,
        /// Docker profiles: start from an empty capability set.
        #[arg(long = "no-default-caps")]
        no_default_caps: bool,
        /// Docker profiles: the target architecture (default: native).
        #[arg(long, value_name = "ARCH")]
        arch: Option<String>,
        /// Docker profiles: the kernel version compared with minKernel, X.Y (default: running).
        #[arg(long, value_name = "X.Y")]
        kernel: Option<String>,
        /// How comparisons on arguments the kernel reads as 32 (or 16) bits (a socket
        /// family, an ioctl request, ...) are decided: on the bits the kernel reads
        /// (kernel), or on all 64 bits as runc and crun do (literal).
        #[arg(long = "arg-reading", value_enum, default_value_t = ArgReadingArg::Kernel)]
        arg_reading: ArgReadingArg,
        /// Also check that this runtime can start a workload under the profile: the calls
        /// it makes itself after installing the filter must be allowed (repeatable).
        #[arg(long = "runtime", value_enum, value_name = "RUNTIME")]
        runtime: Vec<record::RuntimeName>,
        /// With --runtime: the containers set no-new-privileges (the runtimes then make
        /// fewer calls after the install; default: they do not, as Kubernetes gives a root
        /// container).
        #[arg(long = "no-new-privs", requires = "runtime")]
        no_new_privs: bool,
    },
    /// Compile an OCI profile to a BPF program.
    Compile {
        /// The OCI `linux.seccomp` profile (JSON); `-` reads standard input.
        #[arg(required_unless_present = "default", conflicts_with = "default")]
        profile: Option<String>,
        /// Compile the embedded default profile, rendered for this host.
        #[arg(long)]
        default: bool,
        /// Architectures (replace the profile's; repeat the option for several), e.g.
        /// x86_64, SCMP_ARCH_X86, amd64. The first one this host cannot run (s390x,
        /// aarch64, ...) is the target: the filter is for a host of that architecture.
        #[arg(long = "arch", value_name = "ARCH")]
        arch: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Hex)]
        format: Format,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Make unknown syscall names and conflicting entries errors.
        #[arg(long)]
        strict: bool,
        /// Leave out the ENOSYS stub for syscalls newer than the profile.
        #[arg(long = "no-stub")]
        no_stub: bool,
        /// The code generator: ours (native) or libseccomp's; both are proven.
        #[arg(long, value_enum, default_value_t = BackendArg::Native)]
        backend: BackendArg,
        /// How comparisons on arguments the kernel reads as 32 (or 16) bits (a socket
        /// family, an ioctl request, ...) are decided: on the bits the kernel reads
        /// (kernel), or on all 64 bits as runc and crun do (literal).
        #[arg(long = "arg-reading", value_enum, default_value_t = ArgReadingArg::Kernel)]
        arg_reading: ArgReadingArg,
    },
    /// Explain what a profile does with one syscall: action, deciding entry, cost.
    Explain {
        /// The OCI profile (JSON); `-` reads standard input. Leave out with --default.
        #[arg(required_unless_present = "default")]
        profile: Option<String>,
        /// The syscall: a name (`unshare`) or a number (`272`).
        #[arg(value_name = "SYSCALL")]
        syscall: Option<String>,
        /// Up to six arguments, decimal (negative too, as two's complement) or 0x hex.
        #[arg(value_name = "ARG", allow_negative_numbers = true)]
        args: Vec<String>,
        /// Explain the embedded default profile, rendered for this host.
        #[arg(long)]
        default: bool,
        /// The architecture of the call (default: native).
        #[arg(long, value_name = "ARCH")]
        arch: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How comparisons on arguments the kernel reads as 32 (or 16) bits (a socket
        /// family, an ioctl request, ...) are decided: on the bits the kernel reads
        /// (kernel), or on all 64 bits as runc and crun do (literal).
        #[arg(long = "arg-reading", value_enum, default_value_t = ArgReadingArg::Kernel)]
        arg_reading: ArgReadingArg,
    },
    /// Render a Docker (moby) profile to OCI `linux.seccomp` JSON.
    Render {
        /// The Docker profile (JSON); `-` reads standard input.
        #[arg(required_unless_present = "default", conflicts_with = "default")]
        profile: Option<String>,
        /// Render the embedded default profile.
        #[arg(long)]
        default: bool,
        /// Add a capability to the set (SYS_ADMIN or CAP_SYS_ADMIN); repeatable.
        #[arg(long = "cap", value_name = "CAP")]
        cap: Vec<String>,
        /// Start from an empty capability set instead of Docker's default one.
        #[arg(long = "no-default-caps")]
        no_default_caps: bool,
        /// The target architecture (default: native).
        #[arg(long, value_name = "ARCH")]
        arch: Option<String>,
        /// The kernel version compared with minKernel, X.Y (default: running kernel).
        #[arg(long, value_name = "X.Y")]
        kernel: Option<String>,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run a command (or an OCI bundle) under a seccomp profile; --trace or --complain
    /// report every call the profile does not allow, with the rule that decided.
    Run(run::RunArgs),
    /// Learn the profile a command (or bundle) needs from a real run, without root.
    Record(record::RecordArgs),
    /// The reference seccomp agent: accept notify fds on a socket and answer per policy.
    Supervise(supervise::SuperviseArgs),
    /// What this kernel and libseccomp support (OCI features.json, linux.seccomp).
    Features {
        /// Print JSON (the OCI features.json shape).
        #[arg(long)]
        json: bool,
    },
    /// A short scripted tour on the embedded default profile.
    Demo,
    /// Print a shell completion script (bash, zsh or fish) to standard output.
    ///
    /// bash: `oci-seccomp completions bash > /etc/bash_completion.d/oci-seccomp` (or
    /// `source <(oci-seccomp completions bash)` in ~/.bashrc); zsh: write it as
    /// `_oci-seccomp` in a directory of $fpath; fish: write it to
    /// ~/.config/fish/completions/oci-seccomp.fish.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: completions::Shell,
    },
    /// Print the manual page (roff) to standard output, or write one page per command.
    ///
    /// `oci-seccomp man | man -l -` shows it; `oci-seccomp man --dir DIR` writes
    /// oci-seccomp.1, oci-seccomp-check.1, ... into DIR (created if missing).
    Man {
        /// Write every page into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

fn dispatch(cli: Cli) -> CliResult<u8> {
    match cli.command {
        Command::Check {
            profile,
            format,
            json,
            cap,
            no_default_caps,
            arch,
            kernel,
            arg_reading,
            runtime,
            no_new_privs,
        } => {
            let opts = render::options(&cap, no_default_caps, arch.as_deref(), kernel.as_deref())?;
            let runtimes: Vec<oci_seccomp::runtimes::Runtime> =
                runtime.into_iter().map(Into::into).collect();
            let format = if json {
                check::CheckFormat::Json
            } else {
                format
            };
            check::run(
                &profile,
                format,
                &opts,
                arg_reading.into(),
                &check::RuntimeCheck {
                    runtimes,
                    no_new_privileges: no_new_privs,
                },
            )
        }
        Command::Compile {
            profile,
            default,
            arch,
            format,
            output,
            strict,
            no_stub,
            backend,
            arg_reading,
        } => compile::run(compile::CompileArgs {
            profile,
            default,
            arch,
            format,
            output,
            strict,
            no_stub,
            backend: backend.into(),
            arg_reading: arg_reading.into(),
        }),
        Command::Explain {
            profile,
            syscall,
            args,
            default,
            arch,
            json,
            arg_reading,
        } => {
            // With --default the first positional is the syscall.
            let (profile, syscall, args) = if default {
                let mut rest: Vec<String> = profile.into_iter().collect();
                rest.extend(syscall);
                rest.extend(args);
                if rest.is_empty() {
                    return Err(CliError::usage("explain: missing SYSCALL")
                        .hint("oci-seccomp explain --default unshare 0x10000000"));
                }
                let sys = rest.remove(0);
                (None, sys, rest)
            } else {
                let Some(sys) = syscall else {
                    return Err(CliError::usage("explain: missing SYSCALL")
                        .hint("oci-seccomp explain PROFILE SYSCALL [ARG]..."));
                };
                (profile, sys, args)
            };
            explain::run(explain::ExplainArgs {
                profile,
                syscall,
                args,
                arch,
                json,
                arg_reading: arg_reading.into(),
            })
        }
        Command::Render {
            profile,
            default: _,
            cap,
            no_default_caps,
            arch,
            kernel,
            output,
        } => render::run(render::RenderArgs {
            profile,
            cap,
            no_default_caps,
            arch,
            kernel,
            output,
        }),
        Command::Run(args) => run::run(args),
        Command::Record(args) => record::run(args),
        Command::Supervise(args) => supervise::run(args),
        Command::Features { json } => features::run(json),
        Command::Demo => demo::run(),
        Command::Completions { shell } => completions::run(shell, Cli::command()),
        Command::Man { dir } => man::run(Cli::command(), dir.as_deref()),
    }
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.print();
            ExitCode::from(e.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
