//! `oci-seccomp render`: a Docker (moby) profile to OCI `linux.seccomp` JSON.

use std::path::PathBuf;

use oci_seccomp::moby::{self, KernelVersion, RenderOptions, DOCKER_DEFAULT_CAPS};

use crate::util::{self, shown};
use crate::{CliError, CliResult};

/// Arguments of `render`.
#[derive(Debug)]
pub struct RenderArgs {
    /// The Docker profile; `None` for the embedded default.
    pub profile: Option<String>,
    pub cap: Vec<String>,
    pub no_default_caps: bool,
    pub arch: Option<String>,
    pub kernel: Option<String>,
    pub output: Option<PathBuf>,
}

/// Builds the render options from the command line.
pub fn options(
    caps: &[String],
    no_default_caps: bool,
    arch: Option<&str>,
    kernel: Option<&str>,
) -> CliResult<RenderOptions> {
    let mut capabilities: Vec<String> = if no_default_caps {
        Vec::new()
    } else {
        DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
    };
    for c in caps {
        let n = util::normalize_cap(c).ok_or_else(|| {
            CliError::problem(format!("--cap {c:?}: unknown capability"))
                .hint("use a name like SYS_ADMIN or CAP_SYS_ADMIN")
        })?;
        if !capabilities.contains(&n) {
            capabilities.push(n);
        }
    }
    let arch = match arch {
        Some(a) => util::parse_arch(a)?,
        None => oci_seccomp::arch::native(),
    };
    let kernel = match kernel {
        Some(k) => KernelVersion::parse(k).map_err(|e| {
            CliError::problem(format!("--kernel {k:?}: {e}")).hint("give MAJOR.MINOR, e.g. 6.1")
        })?,
        None => KernelVersion::running().ok_or_else(|| {
            CliError::problem("cannot read the running kernel's version")
                .hint("give it with --kernel X.Y")
        })?,
    };
    Ok(RenderOptions {
        capabilities,
        arch,
        kernel,
    })
}

/// Runs `render`.
pub fn run(a: RenderArgs) -> CliResult<u8> {
    let opts = options(
        &a.cap,
        a.no_default_caps,
        a.arch.as_deref(),
        a.kernel.as_deref(),
    )?;
    let (profile, name) = match &a.profile {
        Some(path) => {
            let text = util::read_input(path)?;
            let p = moby::parse_moby(&text)
                .map_err(|e| CliError::problem(format!("{}: {e}", shown(path))))?;
            (p, shown(path).to_string())
        }
        None => (moby::default_profile(), "<embedded default>".to_string()),
    };
    let spec = moby::render(&profile, &opts)
        .map_err(|e| CliError::problem(format!("{name}: cannot render: {e}")))?;
    let mut text =
        serde_json::to_string_pretty(&spec).map_err(|e| CliError::problem(e.to_string()))?;
    text.push('\n');
    util::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
