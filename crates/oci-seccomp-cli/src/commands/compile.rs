//! `oci-seccomp compile`: an OCI profile to BPF (raw, hex, PFC, JSON or program bytes).

use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::PathBuf;

use clap::ValueEnum;
use oci_seccomp::{CompileOptions, LinuxSeccomp, Program};
use serde_json::json;

use crate::args::ArgReadingArgs;
use crate::profiles::shown;
use crate::{names, output, profiles};
use crate::{CliError, CliResult};

/// Arguments of `compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The OCI `linux.seccomp` profile (JSON); `-` reads standard input.
    #[arg(required_unless_present = "default", conflicts_with = "default")]
    pub profile: Option<String>,
    /// Compile the embedded default profile, rendered for this host.
    #[arg(long)]
    pub default: bool,
    /// Architectures (replace the profile's; repeat the option for several), e.g.
    /// x86_64, SCMP_ARCH_X86, amd64. The first one this host cannot run (s390x,
    /// aarch64, ...) is the target: the filter is for a host of that architecture.
    #[arg(long = "arch", value_name = "ARCH")]
    pub arch: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Hex)]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Make unknown syscall names and conflicting entries errors.
    #[arg(long)]
    pub strict: bool,
    /// Leave out the ENOSYS stub for syscalls newer than the profile.
    #[arg(long = "no-stub")]
    pub no_stub: bool,
    /// The code generator: ours (native) or libseccomp's; both are proven.
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    pub backend: Backend,
    /// How arguments narrower than 64 bits are compared.
    #[command(flatten)]
    pub arg_reading: ArgReadingArgs,
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

/// Code generators of `compile --backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Ours: binary search over number ranges, any target from any host.
    Native,
    /// libseccomp's `seccomp_export_bpf`, with our ENOSYS stub.
    Libseccomp,
}

impl From<Backend> for oci_seccomp::Backend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Native => Self::Native,
            Backend::Libseccomp => Self::Libseccomp,
        }
    }
}

/// Replaces the profile's architectures with `names` (none: leave them) and returns the
/// host the program is for ([`oci_seccomp::arch::target_of`]: the first architecture
/// this host cannot run, else this host).
pub fn set_arches(
    spec: &mut LinuxSeccomp,
    names: &[String],
) -> CliResult<&'static oci_seccomp::arch::ArchInfo> {
    if names.is_empty() {
        return Ok(oci_seccomp::arch::native());
    }
    let mut list = Vec::new();
    let mut infos = Vec::new();
    for n in names {
        let info = names::parse_arch(n)?;
        infos.push(info);
        let oci = info.name.parse().map_err(|_| {
            CliError::problem(format!(
                "--arch {n:?}: {} is not an OCI architecture",
                info.name
            ))
        })?;
        list.push(oci);
    }
    spec.set_architectures(Some(list));
    Ok(oci_seccomp::arch::target_of(&infos))
}

/// Loads the profile named by `profile` or the embedded default.
pub fn load(profile: Option<&str>, default: bool) -> CliResult<(LinuxSeccomp, String)> {
    if default {
        return Ok((profiles::default_for_host()?, "<embedded default>".into()));
    }
    let path = profile.unwrap_or("-");
    Ok((profiles::load_oci(path)?, shown(path).to_string()))
}

/// The kernel's `struct sock_filter` array in the byte order of the host it is for
/// (`big_endian`: an s390x or ppc64 target).
fn raw_bytes(p: &Program, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len() * 8);
    for i in p.instructions() {
        if big_endian {
            out.extend_from_slice(&i.code.to_be_bytes());
        } else {
            out.extend_from_slice(&i.code.to_le_bytes());
        }
        out.push(i.jt);
        out.push(i.jf);
        if big_endian {
            out.extend_from_slice(&i.k.to_be_bytes());
        } else {
            out.extend_from_slice(&i.k.to_le_bytes());
        }
    }
    out
}

/// The program as hex text, one instruction per line.
pub fn hex_text(p: &Program) -> String {
    let mut s = String::new();
    for (n, i) in p.instructions().iter().enumerate() {
        s.push_str(&format!(
            "{n:4}: {:04x} {:02x} {:02x} {:08x}\n",
            i.code, i.jt, i.jf, i.k
        ));
    }
    s
}

/// The program as JSON.
pub fn json_value(p: &Program) -> serde_json::Value {
    json!({
        "instructions": p.instructions().iter().map(|i| json!({"code": i.code, "jt": i.jt, "jf": i.jf, "k": i.k})).collect::<Vec<_>>(),
        "length": p.len(),
        "flags": p.flags().names(),
        "optional_flags": p.optional_flags().names(),
        "needs_listener": p.needs_listener(),
    })
}

fn pfc_text(
    spec: &LinuxSeccomp,
    name: &str,
    reading: oci_seccomp::ArgReading,
) -> CliResult<String> {
    let opts = CompileOptions::default().with_arg_reading(reading);
    let ctx = oci_seccomp::Profile::from_oci_reading(
        spec,
        opts.strict,
        oci_seccomp::arch::native(),
        reading,
    )
    .and_then(|p| oci_seccomp::libseccomp::build_profile_context(&p, &opts))
    .map_err(|e| profiles::compile_error(name, &e))?;
    let fd = rustix::fs::memfd_create(c"oci-seccomp-pfc", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| CliError::problem(format!("memfd_create for the PFC export: {e}")))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_pfc(&file)
        .map_err(|e| CliError::problem(format!("{name}: libseccomp cannot export PFC: {e}")))?;
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .map_err(|e| CliError::problem(format!("reading the PFC export: {e}")))?;
    Ok(text)
}

/// Runs `compile`.
pub fn run(a: CompileArgs) -> CliResult<u8> {
    let reading = a.arg_reading.reading();
    let (mut spec, name) = load(a.profile.as_deref(), a.default)?;
    let target = set_arches(&mut spec, &a.arch)?;
    let binary = matches!(a.format, Format::Raw | Format::Program);
    if binary && a.output.is_none() && std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            format!(
                "--format {:?} writes binary data, refusing to print it on a terminal",
                a.format
            )
            .to_ascii_lowercase(),
        )
        .hint("add -o FILE, pipe the output, or use --format hex"));
    }
    let bytes = if a.format == Format::Pfc {
        if target.name != oci_seccomp::arch::native().name {
            return Err(CliError::usage(format!(
                "--format pfc: libseccomp exports PFC for this host only, not for {}",
                target.name
            )));
        }
        // PFC is libseccomp's text of its own program: build that program first, within
        // libseccomp's complexity limits and proven, so that a profile libseccomp takes
        // too long over or miscompiles is refused here too.
        let proven = CompileOptions::default()
            .with_strict(a.strict)
            .with_backend(oci_seccomp::Backend::Libseccomp)
            .with_arg_reading(reading);
        oci_seccomp::compile(&spec, &proven).map_err(|e| profiles::compile_error(&name, &e))?;
        pfc_text(&spec, &name, reading)?.into_bytes()
    } else {
        let opts = CompileOptions::default()
            .with_strict(a.strict)
            .with_enosys_stub(!a.no_stub)
            .with_backend(a.backend.into())
            .with_target(Some(target))
            .with_arg_reading(reading);
        let program =
            oci_seccomp::compile(&spec, &opts).map_err(|e| profiles::compile_error(&name, &e))?;
        match a.format {
            Format::Raw => raw_bytes(&program, target.big_endian),
            Format::Program => program.to_bytes(),
            Format::Hex => hex_text(&program).into_bytes(),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&json_value(&program))
                    .map_err(|e| CliError::problem(e.to_string()))?;
                s.push('\n');
                s.into_bytes()
            }
            Format::Pfc => unreachable!("handled above"),
        }
    };
    output::write_output(a.output.as_deref(), &bytes)?;
    Ok(0)
}
