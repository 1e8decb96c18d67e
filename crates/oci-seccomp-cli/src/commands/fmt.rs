//! `oci-seccomp fmt`: the compact, canonical form of a profile, proven to decide every call
//! as the original does.

use std::path::PathBuf;

use crate::args::ProfileFormat;
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
    /// The format written.
    #[arg(long, value_enum, default_value_t = ProfileFormat::Oci)]
    pub format: ProfileFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `fmt`: the normalized profile, or an error when it cannot be proven equal.
pub fn run(a: FmtArgs) -> CliResult<u8> {
    let spec = profiles::load_oci(&a.profile)?;
    let target = match &a.arch {
        Some(x) => names::parse_arch(x)?,
        None => oci_seccomp::arch::native(),
    };
    let normalized = oci_seccomp::normalize::normalize(&spec, target)
        .map_err(|e| CliError::problem(format!("{}: {e}", shown(&a.profile))))?;
    let text = a.format.text(&normalized, target)?;
    output::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
