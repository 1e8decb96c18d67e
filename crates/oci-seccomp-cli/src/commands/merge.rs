//! `oci-seccomp merge`: a profile that decides every call as the union (least strict) or the
//! intersection (strictest) of the inputs' decisions, proven to before it is written.

use std::path::PathBuf;

use oci_seccomp::merge::{merge, Combine, MergeError};

use crate::args::{DockerRenderArgs, ProfileOutputArgs};
use crate::profiles::{self, shown};
use crate::{output, CliError, CliResult};

/// Arguments of `merge`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["union", "intersect"])))]
pub struct MergeArgs {
    /// The profiles (OCI, or Docker's format rendered as --cap/--arch/--kernel say); two
    /// or more.
    #[arg(required = true, num_args = 2..)]
    pub profiles: Vec<String>,
    /// Every call gets the least strict of the inputs' actions: what any input allows.
    #[arg(long)]
    pub union: bool,
    /// Every call gets the strictest of the inputs' actions: what all inputs allow.
    #[arg(long)]
    pub intersect: bool,
    /// How a Docker profile is rendered, and the architecture the merge is for.
    #[command(flatten)]
    pub render: DockerRenderArgs,
    /// The format written (oci, docker, or spo with --name and --namespace), proven to
    /// read back to the same decisions.
    #[command(flatten)]
    pub written: ProfileOutputArgs,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `merge`: exit 0 with the merged profile, 1 when no profile this merge writes
/// decides as the definition says (nothing is written), 2 for an invalid input.
pub fn run(a: MergeArgs) -> CliResult<u8> {
    let opts = a.render.options().map_err(|mut e| {
        e.code = 2;
        e
    })?;
    let mut specs = Vec::with_capacity(a.profiles.len());
    for p in &a.profiles {
        let text = profiles::read_profile(p).map_err(|mut e| {
            e.code = 2;
            e
        })?;
        specs.push(profiles::oci_or_rendered(p, &text, &opts)?);
    }
    let combine = if a.union {
        Combine::Union
    } else {
        Combine::Intersection
    };
    let merged = merge(&specs, combine, opts.arch).map_err(|e| {
        let names: Vec<&str> = a.profiles.iter().map(|p| shown(p)).collect();
        let message = format!("{}: {e}", names.join(", "));
        match e {
            MergeError::Invalid { .. } | MergeError::TooFew => CliError::usage(message),
            _ => CliError::problem(message),
        }
    })?;
    for c in &merged.choices {
        eprintln!("oci-seccomp: note: {c}");
    }
    let text = a.written.text(&merged.spec, opts.arch)?;
    output::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
