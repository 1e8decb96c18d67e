//! Reading profiles (and policies): from a file or standard input, bounded in size, OCI or
//! Docker (rendered for this host), and their errors named by the input's path.

use std::io::Read;

use oci_seccomp::moby::{self, RenderOptions};
use oci_seccomp::{CompileError, LinuxSeccomp, ParseError};

use crate::{CliError, CliResult};

/// Reads a profile's (or policy's) bytes: a file, or standard input for `-`; at most
/// [`oci_seccomp::MAX_PROFILE_BYTES`], so that no input (`/dev/zero`, a FIFO that never
/// ends) makes us read or hold more. The file is opened without blocking (a FIFO nobody
/// writes to reads as empty instead of holding the command at `open`).
pub fn read_input_bytes(path: &str) -> CliResult<Vec<u8>> {
    let limit = oci_seccomp::MAX_PROFILE_BYTES as u64;
    let read = |r: &mut dyn std::io::Read| -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        r.take(limit + 1).read_to_end(&mut buf)?;
        Ok(buf)
    };
    let bytes = if path == "-" {
        read(&mut std::io::stdin().lock())
            .map_err(|e| CliError::problem(format!("<stdin>: cannot read: {e}")))?
    } else {
        open_without_blocking(path)
            .and_then(|mut f| read(&mut f))
            .map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::NotFound {
                    "check the path"
                } else {
                    "the file must be readable UTF-8 JSON"
                };
                CliError::problem(format!("{path}: cannot read: {e}")).hint(hint)
            })?
    };
    if bytes.len() as u64 > limit {
        return Err(CliError::problem(format!(
            "{}: larger than {limit} bytes, the most a profile may take",
            shown(path)
        )));
    }
    Ok(bytes)
}

/// Opens `path` for reading with `O_NONBLOCK` (so that opening a FIFO does not wait for a
/// writer), then reads in blocking mode again.
fn open_without_blocking(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let flags = rustix::fs::fcntl_getfl(&f)?;
    rustix::fs::fcntl_setfl(&f, flags - rustix::fs::OFlags::NONBLOCK)?;
    Ok(f)
}

/// [`read_input_bytes`] as UTF-8 text.
pub fn read_input(path: &str) -> CliResult<String> {
    let bytes = read_input_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::problem(format!("{}: cannot read: not UTF-8 ({e})", shown(path)))
            .hint("the file must be readable UTF-8 JSON")
    })
}

/// The display name of an input (`<stdin>` for `-`).
pub fn shown(path: &str) -> &str {
    if path == "-" {
        "<stdin>"
    } else {
        path
    }
}

/// Maps a parse error of `path` to a CLI error (the message has line and column).
pub fn parse_error(path: &str, e: &ParseError) -> CliError {
    let err = CliError::problem(format!("{}: {e}", shown(path)));
    match e {
        ParseError::DockerKey { .. } => err.hint(format!(
            "this is a Docker profile: oci-seccomp render {} > oci.json",
            shown(path)
        )),
        ParseError::Json { .. } => err.hint("fix the JSON at that line and column"),
        _ => err,
    }
}

/// Maps a compile error of `path` to a CLI error.
pub fn compile_error(path: &str, e: &CompileError) -> CliError {
    // A bundle's config.json is not a profile: name the field it sits in, and do not
    // suggest `check`, which takes a profile.
    if path.ends_with("config.json") {
        return CliError::problem(format!("{}: linux.seccomp.{e}", shown(path)));
    }
    CliError::problem(format!("{}: {e}", shown(path))).hint(format!(
        "oci-seccomp check {} lists every problem",
        shown(path)
    ))
}

/// The `--select NAME` given (the top-level option), which chooses one `SeccompProfile`
/// of a file that holds several.
static SELECT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// The `--base-dir DIR` given (the top-level option): where `baseProfileName`s are found.
static BASE_DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

/// Most files read from `--base-dir`.
const MAX_BASE_FILES: usize = 256;

/// Records `--select` and `--base-dir` (once, at start).
pub fn set_spo_options(select: Option<String>, base_dir: Option<std::path::PathBuf>) {
    let _ = SELECT.set(select);
    let _ = BASE_DIR.set(base_dir);
}

/// The base profiles: the operator's published ones, and every `SeccompProfile` of the
/// `.yaml`, `.yml` and `.json` regular files of `--base-dir` (symbolic links are not
/// followed). Errors exit 2.
fn base_profiles() -> CliResult<Vec<oci_seccomp::spo::SpoProfile>> {
    use oci_seccomp::spo;
    let mut out = spo::published_bases().map_err(|e| CliError::problem(e.to_string()))?;
    let Some(dir) = BASE_DIR.get().and_then(|d| d.as_ref()) else {
        return Ok(out);
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::usage(format!("--base-dir {}: {e}", dir.display())))?;
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let wanted = path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| ["yaml", "yml", "json"].contains(&x));
        let link = e.file_type().is_ok_and(|t| t.is_symlink());
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        if wanted && link {
            eprintln!(
                "oci-seccomp: warning: --base-dir: {} is a symbolic link, not followed: its \
                 base profiles are not read",
                path.display()
            );
        }
        if wanted && regular {
            files.push(path);
        }
        if files.len() > MAX_BASE_FILES {
            return Err(CliError::usage(format!(
                "--base-dir {}: more than {MAX_BASE_FILES} profile files",
                dir.display()
            )));
        }
    }
    files.sort();
    for f in files {
        let name = f.display().to_string();
        let text = read_input(&name)?;
        out.extend(
            spo::parse_spo(&text)
                .map_err(|e| CliError::usage(format!("--base-dir: {name}: {e}")))?,
        );
    }
    Ok(out)
}

/// `text` read from `path`: a Security Profiles Operator `SeccompProfile` (YAML or JSON,
/// one of several chosen with `--select`) becomes the OCI object its `spec` is, composed
/// with its `baseProfileName` chain by proven union, as JSON text; anything else is
/// returned as it is. Errors exit 2.
pub fn spo_as_oci(path: &str, text: String) -> CliResult<String> {
    use oci_seccomp::spo;
    if !spo::is_spo_text(&text) {
        return Ok(text);
    }
    let all =
        spo::parse_spo(&text).map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
    let selected = SELECT.get().and_then(|s| s.as_deref());
    let one =
        spo::select(all, selected).map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
    let spec = if one.base_profile_name.is_some() {
        spo::compose(&one, &base_profiles()?, oci_seccomp::arch::native()).map_err(|e| {
            CliError::usage(format!("{}: SeccompProfile {}: {e}", shown(path), one.name))
        })?
    } else {
        one.spec
    };
    serde_json::to_string_pretty(&spec).map_err(|e| CliError::problem(e.to_string()))
}

/// The name of the `SeccompProfile` that [`spo_as_oci`] reads of `text` (the one
/// `--select` chooses), or `None` when `text` is no such resource.
pub fn spo_name(text: &str) -> Option<String> {
    use oci_seccomp::spo;
    if !spo::is_spo_text(text) {
        return None;
    }
    let all = spo::parse_spo(text).ok()?;
    spo::select(all, SELECT.get().and_then(|s| s.as_deref()))
        .ok()
        .map(|p| p.name)
}

/// [`read_input`] of a profile: a `SeccompProfile` resource is read as its `spec`
/// ([`spo_as_oci`]).
pub fn read_profile(path: &str) -> CliResult<String> {
    spo_as_oci(path, read_input(path)?)
}

/// Reads and parses an OCI profile (a Docker profile is refused with a hint).
pub fn load_oci(path: &str) -> CliResult<LinuxSeccomp> {
    let text = read_input(path)?;
    if let Some(parsed) = plain_oci(&text) {
        return parsed.map_err(|e| parse_error(path, &e));
    }
    let text = spo_as_oci(path, text)?;
    oci_seccomp::parse_profile(&text).map_err(|e| parse_error(path, &e))
}

/// `text` parsed as an OCI profile when one reading of its keys shows a JSON object that is
/// neither a `SeccompProfile` resource nor a Docker profile (what nearly every start reads:
/// its format is then decided and its keys checked in one pass); `None` for anything
/// else, which takes the general path.
fn plain_oci(text: &str) -> Option<Result<LinuxSeccomp, oci_seccomp::ParseError>> {
    use oci_seccomp::profile::JsonKeys;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let keys = JsonKeys::parse(text).ok()?;
    if oci_seccomp::spo::is_spo_keys(&keys) || keys.docker_key().is_some() {
        return None;
    }
    Some(keys.parse_profile())
}

/// Whether JSON text looks like a Docker (moby) profile.
pub fn is_docker_text(text: &str) -> bool {
    oci_seccomp::profile::JsonKeys::parse(text)
        .ok()
        .and_then(|k| k.docker_key())
        .is_some()
}

/// The embedded default profile rendered for this host (Docker's default capabilities).
pub fn default_for_host() -> CliResult<LinuxSeccomp> {
    moby::render_default(&host_render_options()).map_err(|e| {
        CliError::problem(format!(
            "the embedded default profile cannot be rendered: {e}"
        ))
    })
}

/// Docker's default capabilities, the native architecture, the running kernel.
pub fn host_render_options() -> RenderOptions {
    let mut opts = RenderOptions::host();
    if let Some(k) = moby::KernelVersion::running() {
        opts.kernel = k;
    }
    opts
}

/// Reads a profile that may be OCI or Docker: a Docker profile is rendered for this host.
pub fn load_any(path: &str) -> CliResult<LinuxSeccomp> {
    let text = read_input(path)?;
    if let Some(parsed) = plain_oci(&text) {
        return parsed.map_err(|e| parse_error(path, &e));
    }
    let text = spo_as_oci(path, text)?;
    if is_docker_text(&text) {
        tracing::info!(
            profile = shown(path),
            "Docker profile: rendered for this host"
        );
        let p = moby::parse_moby(&text)
            .map_err(|e| CliError::problem(format!("{}: {e}", shown(path))))?;
        return moby::render(&p, &host_render_options())
            .map_err(|e| CliError::problem(format!("{}: cannot render: {e}", shown(path))));
    }
    oci_seccomp::parse_profile(&text).map_err(|e| parse_error(path, &e))
}

/// The profile in `text` read from `path`: OCI, or Docker's format rendered as `opts` says.
/// Errors exit 2 (an invalid input of `diff` and `merge`).
pub fn oci_or_rendered(path: &str, text: &str, opts: &RenderOptions) -> CliResult<LinuxSeccomp> {
    let as_usage = |mut e: CliError| {
        e.code = 2;
        e
    };
    if is_docker_text(text) {
        let p =
            moby::parse_moby(text).map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
        return moby::render(&p, opts)
            .map_err(|e| CliError::usage(format!("{}: cannot render: {e}", shown(path))));
    }
    oci_seccomp::parse_profile(text).map_err(|e| as_usage(parse_error(path, &e)))
}
