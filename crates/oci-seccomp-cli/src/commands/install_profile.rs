//! `oci-seccomp install-profile P`: a Localhost profile written into the kubelet's seccomp
//! directory, atomically, in the format the node's runtime reads, and the
//! `securityContext` that uses it.

use std::path::PathBuf;

use crate::args::{DockerRenderArgs, ProfileFormat, SpoNameArgs};
use crate::commands::check::Consumer;
use crate::profiles::{self, shown};
use crate::{output, CliError, CliResult};

/// The kubelet's default seccomp directory (`--seccomp-profile-root`'s default,
/// `<root-dir>/seccomp` with the root dir `/var/lib/kubelet`).
const KUBELET_SECCOMP_DIR: &str = "/var/lib/kubelet/seccomp";

/// Arguments of `install-profile`.
#[derive(Debug, clap::Args)]
pub struct InstallProfileArgs {
    /// The profile: OCI, Docker's format (rendered as --cap/--arch/--kernel say) or a
    /// `SeccompProfile` resource (--select, --base-dir).
    pub profile: String,
    /// The kubelet's seccomp directory.
    #[arg(long = "kubelet-dir", value_name = "DIR", default_value = KUBELET_SECCOMP_DIR)]
    pub kubelet_dir: PathBuf,
    /// The node's runtime: containerd, runc and crun get the OCI object; cri-o, docker and
    /// podman Docker's format. Either way the file decides as our reading of the profile.
    #[arg(
        long = "for",
        value_enum,
        value_name = "RUNTIME",
        default_value = "containerd"
    )]
    pub consumer: Consumer,
    /// The file's path below the directory (`localhostProfile`), for example
    /// `shop/web.json`; default: the resource's name or the input's file name, `.json`.
    #[arg(long = "as", value_name = "RELATIVE")]
    pub relative: Option<String>,
    /// How a Docker profile is rendered.
    #[command(flatten)]
    pub render: DockerRenderArgs,
}

/// Runs `install-profile`: exit 0 with the file written and the snippet printed; 2 for an
/// invalid input or a directory that is unsafe to write in.
pub fn run(a: InstallProfileArgs) -> CliResult<u8> {
    let opts = a.render.options()?;
    let raw = profiles::read_input(&a.profile)?;
    let resource = profiles::spo_name(&raw);
    let text = profiles::spo_as_oci(&a.profile, raw)?;
    let spec = profiles::oci_or_rendered(&a.profile, &text, &opts)?;
    let relative = match (&a.relative, resource) {
        (Some(r), _) => r.clone(),
        // A resource's name: two resources of one file never share a default path.
        (None, Some(name)) => format!("{name}.json"),
        (None, None) => {
            let stem = std::path::Path::new(&a.profile)
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|s| *s != "-")
                .unwrap_or("profile")
                .to_string();
            format!("{stem}.json")
        }
    };
    let rel = std::path::Path::new(&relative);
    if relative.is_empty()
        || relative.ends_with('/')
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(CliError::usage(format!(
            "--as {relative:?}: a file's path below the kubelet directory, without `..`"
        )));
    }
    let format = if matches!(
        a.consumer,
        Consumer::CriO | Consumer::Docker | Consumer::Podman
    ) {
        ProfileFormat::Docker
    } else {
        ProfileFormat::Oci
    };
    let body = format.text(&spec, opts.arch, &SpoNameArgs::default())?;
    let path = a.kubelet_dir.join(rel);
    output::write_atomically(&path, body.as_bytes(), 0o644)
        .map_err(|e| CliError::usage(format!("{}: cannot install: {e}", path.display())))?;
    println!(
        "installed {} as {}, in {}, which {} reads\nsecurityContext:\n  seccompProfile:\n    type: Localhost\n    localhostProfile: {}",
        shown(&a.profile),
        path.display(),
        match format {
            ProfileFormat::Docker => "Docker's format",
            _ => "the OCI format",
        },
        a.consumer.name(),
        relative
    );
    Ok(0)
}
