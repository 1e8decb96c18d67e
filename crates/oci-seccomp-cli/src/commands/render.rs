//! `oci-seccomp render`: a Docker (moby) profile to OCI `linux.seccomp` JSON.

use std::path::PathBuf;

use oci_seccomp::moby;

use crate::args::{DockerRenderArgs, ProfileOutputArgs};
use crate::profiles::shown;
use crate::{output, profiles};
use crate::{CliError, CliResult};

/// Arguments of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The Docker profile (JSON); `-` reads standard input.
    #[arg(required_unless_present = "default", conflicts_with = "default")]
    pub profile: Option<String>,
    /// Render the embedded default profile.
    #[arg(long)]
    pub default: bool,
    /// The capabilities, architecture and kernel to render for.
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

/// Runs `render`: the profile (`None`: the embedded default) rendered as the flags say.
pub fn run(a: RenderArgs) -> CliResult<u8> {
    let opts = a.render.options()?;
    let (profile, name) = match &a.profile {
        Some(path) => {
            let text = profiles::read_input(path)?;
            let p = moby::parse_moby(&text)
                .map_err(|e| CliError::problem(format!("{}: {e}", shown(path))))?;
            (p, shown(path).to_string())
        }
        None => (moby::default_profile(), "<embedded default>".to_string()),
    };
    let spec = moby::render(&profile, &opts)
        .map_err(|e| CliError::problem(format!("{name}: cannot render: {e}")))?;
    let text = a.written.text(&spec, opts.arch)?;
    output::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
