//! `oci-seccomp fmt`: the compact, canonical form of a profile, proven to decide every call
//! as the original does.

use std::path::PathBuf;

use crate::args::ProfileOutputArgs;
use crate::profiles::{self, shown};
use crate::{names, output, CliError, CliResult};

/// Arguments of `fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// The OCI profile (JSON); `-` reads standard input.
    pub profile: String,
    /// The architecture of the host the profile is for (default: native); the proof of
    /// equality covers every ABI the profile lists with it.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// The format written (oci, docker, or spo with --name and --namespace), proven to
    /// read back to the same decisions.
    #[command(flatten)]
    pub written: ProfileOutputArgs,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `fmt`: exit 0 with the normalized profile, 1 when no form can be proven equal
/// (too complex, or entry order that matters), 2 for an unreadable or invalid profile.
pub fn run(a: FmtArgs) -> CliResult<u8> {
    let spec = profiles::load_oci(&a.profile).map_err(|mut e| {
        e.code = 2;
        e
    })?;
    let target = match &a.arch {
        Some(x) => names::parse_arch(x)?,
        None => oci_seccomp::arch::native(),
    };
    let normalized = oci_seccomp::normalize::normalize(&spec, target).map_err(|e| {
        let message = format!("{}: {e}", shown(&a.profile));
        match e {
            oci_seccomp::normalize::NormalizeError::Invalid(_) => CliError::usage(message),
            _ => CliError::problem(message),
        }
    })?;
    let text = a.written.text(&normalized, target)?;
    output::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
