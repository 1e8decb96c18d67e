//! Flags that several subcommands take, declared once and flattened into each.

use clap::ValueEnum;
use oci_seccomp::moby::{KernelVersion, RenderOptions, DOCKER_DEFAULT_CAPS};

use crate::{names, CliError, CliResult};

/// How a Docker (moby) profile is rendered: `render`'s options, which `check` applies to
/// a Docker profile too (with its own help text, see `check`).
#[derive(Debug, clap::Args)]
pub struct DockerRenderArgs {
    /// Add a capability to the set (SYS_ADMIN or CAP_SYS_ADMIN); repeatable.
    #[arg(long = "cap", value_name = "CAP")]
    pub cap: Vec<String>,
    /// Start from an empty capability set instead of Docker's default one.
    #[arg(long = "no-default-caps")]
    pub no_default_caps: bool,
    /// The target architecture (default: native).
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// The kernel version compared with minKernel, X.Y (default: running kernel).
    #[arg(long, value_name = "X.Y")]
    pub kernel: Option<String>,
}

impl DockerRenderArgs {
    /// The render options the flags give: Docker's default capabilities (unless
    /// `--no-default-caps`) plus each `--cap`, the architecture (default: native) and
    /// the kernel version (default: the running kernel's).
    pub fn options(&self) -> CliResult<RenderOptions> {
        let mut capabilities: Vec<String> = if self.no_default_caps {
            Vec::new()
        } else {
            DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
        };
        for c in &self.cap {
            let n = names::normalize_cap(c).ok_or_else(|| {
                CliError::problem(format!("--cap {c:?}: unknown capability"))
                    .hint("use a name like SYS_ADMIN or CAP_SYS_ADMIN")
            })?;
            if !capabilities.contains(&n) {
                capabilities.push(n);
            }
        }
        let arch = match &self.arch {
            Some(a) => names::parse_arch(a)?,
            None => oci_seccomp::arch::native(),
        };
        let kernel = match &self.kernel {
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
}

/// `--arg-reading`, of `check`, `compile` and `explain`.
#[derive(Debug, clap::Args)]
pub struct ArgReadingArgs {
    /// How comparisons on arguments the kernel reads as 32 (or 16) bits (a socket
    /// family, an ioctl request, ...) are decided: on the bits the kernel reads
    /// (kernel), or on all 64 bits as runc and crun do (literal).
    #[arg(long = "arg-reading", value_enum, default_value_t = ArgReading::Kernel)]
    pub arg_reading: ArgReading,
}

impl ArgReadingArgs {
    /// The reading the library takes.
    pub fn reading(&self) -> oci_seccomp::ArgReading {
        self.arg_reading.into()
    }
}

/// How comparisons on arguments the kernel reads as 32 (or 16) bits are decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArgReading {
    /// On the bits the kernel reads: upper bits set by the caller change nothing.
    Kernel,
    /// On all 64 bits of the register, as written: runc's and crun's reading.
    Literal,
}

impl From<ArgReading> for oci_seccomp::ArgReading {
    fn from(r: ArgReading) -> Self {
        match r {
            ArgReading::Kernel => Self::Kernel,
            ArgReading::Literal => Self::Literal,
        }
    }
}

/// A runtime a profile must start a workload under (`check --runtime`, `record
/// --runtime`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuntimeName {
    /// runc (1.1.x).
    Runc,
    /// crun (1.8.x).
    Crun,
    /// `oci-seccomp run`.
    #[value(name = "oci-seccomp")]
    OciSeccomp,
}

impl From<RuntimeName> for oci_seccomp::runtimes::Runtime {
    fn from(r: RuntimeName) -> Self {
        match r {
            RuntimeName::Runc => Self::Runc,
            RuntimeName::Crun => Self::Crun,
            RuntimeName::OciSeccomp => Self::OciSeccomp,
        }
    }
}

/// The format `merge` and `fmt` write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileFormat {
    /// The OCI `linux.seccomp` object.
    #[default]
    Oci,
    /// Docker's (moby's) profile format, proven to render back to the same decisions.
    Docker,
    /// A Security Profiles Operator `SeccompProfile` resource (YAML, --name and
    /// --namespace), proven to read back to the same decisions.
    Spo,
}

/// `--format` and, for `--format spo`, the resource's name and namespace: what `merge`,
/// `fmt` and `render` write.
#[derive(Debug, clap::Args)]
pub struct ProfileOutputArgs {
    /// The format written.
    #[arg(long, value_enum, default_value_t = ProfileFormat::Oci)]
    pub format: ProfileFormat,
    /// The resource's name and namespace, with --format spo.
    #[command(flatten)]
    pub spo: SpoNameArgs,
}

impl ProfileOutputArgs {
    /// `spec` as text in the chosen format ([`ProfileFormat::text`]).
    ///
    /// # Errors
    ///
    /// As [`ProfileFormat::text`].
    pub fn text(
        &self,
        spec: &oci_seccomp::LinuxSeccomp,
        target: &'static oci_seccomp::arch::ArchInfo,
    ) -> CliResult<String> {
        self.format.text(spec, target, &self.spo)
    }
}

/// The name and namespace of a `SeccompProfile` written with `--format spo`.
#[derive(Debug, Default, clap::Args)]
pub struct SpoNameArgs {
    /// With --format spo: the resource's `metadata.name`.
    #[arg(long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// With --format spo: the resource's `metadata.namespace`.
    #[arg(long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,
}

impl ProfileFormat {
    /// `spec` as text in this format (pretty JSON, a final newline), for host `target`.
    ///
    /// # Errors
    ///
    /// The Docker or `SeccompProfile` form cannot be proven to read back to the same
    /// decisions, or `--format spo` has no `--name`.
    pub fn text(
        self,
        spec: &oci_seccomp::LinuxSeccomp,
        target: &'static oci_seccomp::arch::ArchInfo,
        spo: &SpoNameArgs,
    ) -> CliResult<String> {
        match self {
            ProfileFormat::Spo => {
                let name = spo.name.as_deref().ok_or_else(|| {
                    crate::CliError::usage("--format spo needs --name NAME (metadata.name)")
                })?;
                oci_seccomp::spo::to_spo(
                    spec,
                    name,
                    spo.namespace.as_deref(),
                    &Default::default(),
                    target,
                )
                .map_err(|e| crate::CliError::problem(format!("--format spo: {e}")))
            }
            ProfileFormat::Oci => {
                let mut text = serde_json::to_string_pretty(spec)
                    .map_err(|e| crate::CliError::problem(e.to_string()))?;
                text.push('\n');
                Ok(text)
            }
            ProfileFormat::Docker => {
                let form = oci_seccomp::moby::to_docker(spec, target)
                    .map_err(|e| crate::CliError::problem(format!("--format docker: {e}")))?;
                if !form.newer_keys.is_empty() {
                    eprintln!(
                        "oci-seccomp: warning: --format docker uses {}, which Docker 20.10 does \
                         not read (it would drop them and decide otherwise); later Docker \
                         releases read them",
                        form.newer_keys.join(", ")
                    );
                }
                Ok(form.text)
            }
        }
    }
}
