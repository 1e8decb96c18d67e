//! Shared helpers: reading profiles, architectures, errno, capability and signal names.

use std::io::Read;
use std::path::Path;

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::moby::{self, RenderOptions};
use oci_seccomp::{CompileError, LinuxSeccomp, ParseError};

use crate::{CliError, CliResult};

/// The name of errno `n` (`EPERM`), if known.
pub fn errno_name(n: i32) -> Option<&'static str> {
    u32::try_from(n)
        .ok()
        .and_then(oci_seccomp::arch::errno::errno_name)
}

/// Parses an errno: a name (`EPERM`, case-insensitive) or a number 1..=4095.
pub fn parse_errno(text: &str) -> Option<i32> {
    if let Ok(n) = text.parse::<i32>() {
        return (1..=4095).contains(&n).then_some(n);
    }
    oci_seccomp::arch::errno::errno_number(&text.to_ascii_uppercase())
        .and_then(|n| i32::try_from(n).ok())
}

/// Parses a number: decimal, or hex with `0x`; a leading `-` gives the two's complement,
/// down to `i64::MIN`. `Err` says why not: not a number at all ([`NOT_A_NUMBER`]), or out
/// of range (never wrapped).
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    let (radix, body) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (16, h),
        None => (10, t),
    };
    let body = body.replace('_', "");
    if body.is_empty()
        || !digits(&body)
        || (radix == 10 && !body.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(NOT_A_NUMBER.into());
    }
    let Ok(v) = u64::from_str_radix(&body, radix) else {
        return Err(if neg {
            format!(
                "below {}, the smallest negative number (i64::MIN)",
                i64::MIN
            )
        } else {
            format!("above {}, the largest 64-bit number", u64::MAX)
        });
    };
    if !neg {
        return Ok(v);
    }
    if v > i64::MIN.unsigned_abs() {
        return Err(format!(
            "below {}, the smallest negative number (i64::MIN)",
            i64::MIN
        ));
    }
    Ok(v.wrapping_neg())
}

/// [`parse_u64`]'s reason for text that is not a number at all.
pub const NOT_A_NUMBER: &str = "not a number";

/// Reads a profile's (or policy's) text: a file, or standard input for `-`; at most
/// [`oci_seccomp::MAX_PROFILE_BYTES`], so that no input (`/dev/zero`, a FIFO that never
/// ends) makes us read or hold more.
pub fn read_input(path: &str) -> CliResult<String> {
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
        std::fs::File::open(path)
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

/// Reads and parses an OCI profile (a Docker profile is refused with a hint).
pub fn load_oci(path: &str) -> CliResult<LinuxSeccomp> {
    let text = read_input(path)?;
    oci_seccomp::parse_profile(&text).map_err(|e| parse_error(path, &e))
}

/// Whether JSON text looks like a Docker (moby) profile.
pub fn is_docker_text(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| oci_seccomp::find_docker_key(&v))
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

/// Looks an architecture up (SCMP_ARCH_X86_64, x86_64, amd64, ...); exit 1 if unknown.
pub fn parse_arch(name: &str) -> CliResult<&'static ArchInfo> {
    arch::by_name(name).ok_or_else(|| {
        CliError::problem(format!("--arch {name:?}: unknown architecture")).hint(format!(
            "repeat --arch for several; use one of {}",
            arch::ALL
                .iter()
                .map(|a| a.name.trim_start_matches("SCMP_ARCH_").to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Linux capability names (without `CAP_`) by number.
pub const CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Normalises a capability name (`sys_admin`, `CAP_SYS_ADMIN`) to `CAP_SYS_ADMIN`.
pub fn normalize_cap(name: &str) -> Option<String> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPS.contains(&bare).then(|| format!("CAP_{bare}"))
}

/// The name of signal `sig` (`SIGSYS`).
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// Builds the launch plan with `build`, setting no-new-privileges first when it is the
/// only way this process can install the plan's filter (or a recorder's, `recorder`): without CAP_SYS_ADMIN in its
/// effective set the kernel refuses a filter unless no-new-privileges is set (seccomp(2),
/// EACCES). Says so in one line on stderr; `--no-new-privs` makes it explicit and silent.
/// Returns the plan and whether no-new-privileges was set here.
pub fn plan_with_no_new_privs_if_needed(
    opts: &mut oci_seccomp_runtime::LaunchOptions,
    recorder: bool,
    build: impl Fn(
        &oci_seccomp_runtime::LaunchOptions,
    ) -> Result<oci_seccomp_runtime::LaunchPlan, oci_seccomp_runtime::PlanError>,
) -> Result<(oci_seccomp_runtime::LaunchPlan, bool), oci_seccomp_runtime::PlanError> {
    let plan = build(opts)?;
    let filtered = recorder || plan.seccomp().is_some();
    if !filtered || plan.no_new_privileges() || has_cap_sys_admin() {
        return Ok((plan, false));
    }
    opts.no_new_privs = true;
    let plan = build(opts)?;
    eprintln!(
        "oci-seccomp: setting no-new-privileges for the workload: without CAP_SYS_ADMIN it is \
         the only way to install a filter (--no-new-privs says so explicitly)"
    );
    Ok((plan, true))
}

/// Whether CAP_SYS_ADMIN is in this thread's effective set (capget(2)); `false` when it
/// cannot be read.
pub fn has_cap_sys_admin() -> bool {
    rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
    })
}

/// Writes `bytes` to `path` (or standard output when `None`).
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> CliResult<()> {
    use std::io::Write;
    match path.filter(|p| !is_stdout(p)) {
        Some(p) => create_output(p, 0o644)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| CliError::problem(format!("{}: cannot write: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::problem(format!("<stdout>: cannot write: {e}")))
        }
    }
}

/// Runs `f` with no log output: for a second validation of a profile whose warnings were
/// logged (or reported as findings) once already.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), f)
}

/// Whether an output path is `-`: standard output, as the CLI's users expect.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Creates (mode `mode`) or truncates the file at `path` for writing, without acting on
/// another user's behalf: every directory on the way is opened with `O_NOFOLLOW` (a
/// symbolic link anywhere in the path is refused, so another user cannot redirect the
/// write by swapping one in), the file is opened `O_NONBLOCK` (a FIFO cannot block us)
/// and must then be a regular file with one link, owned by us, or a character device
/// (`/dev/null`; only root can make one, so no other user can plant it).
///
/// # Errors
///
/// The `open` error, or `InvalidInput` naming what is wrong with the existing file.
pub fn create_output(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let f = open_output(path, mode)?;
    if f.metadata()?.is_file() {
        f.set_len(0)?;
    }
    Ok(f)
}

/// [`create_output`] without the truncation: the file is created if missing, and an
/// existing one keeps its content until the caller writes (`record` checks its output
/// before the run and replaces the content only after a successful one).
///
/// # Errors
///
/// As [`create_output`].
pub fn open_output(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let (f, created) = open_output_created(path, mode)?;
    if let Some(c) = created {
        c.keep();
    }
    Ok(f)
}

/// The directory that holds the last component of `path` (opened `O_PATH`, every
/// directory on the way without following a symbolic link) and that component.
fn parent_of(path: &Path) -> std::io::Result<(rustix::fd::OwnedFd, std::ffi::OsString)> {
    use rustix::fs::{Mode, OFlags};
    let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(
        if path.is_absolute() { "/" } else { "." },
        dir_flags,
        Mode::empty(),
    )?;
    let parts: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::RootDir | std::path::Component::CurDir => None,
            c => Some(c.as_os_str()),
        })
        .collect();
    let Some((name, dirs)) = parts.split_last() else {
        return Err(bad(format!("{}: not a file name", path.display())));
    };
    for d in dirs {
        dir = rustix::fs::openat(&dir, *d, dir_flags, Mode::empty()).map_err(|e| {
            if e == rustix::io::Errno::NOTDIR || e == rustix::io::Errno::LOOP {
                bad(format!(
                    "{} is not a directory (a symbolic link is not followed here)",
                    std::path::Path::new(d).display()
                ))
            } else {
                e.into()
            }
        })?;
    }
    Ok((dir, name.to_os_string()))
}

/// A file [`open_output_created`] created: removed when dropped, unless
/// [`CreatedOutput::keep`] was called, so that a command that fails leaves nothing where
/// nothing was. Only the file it created is removed: the name must still lead to it.
#[derive(Debug)]
pub struct CreatedOutput {
    dir: rustix::fd::OwnedFd,
    name: std::ffi::OsString,
    id: (u64, u64),
    armed: bool,
}

impl CreatedOutput {
    /// Keeps the file: the command succeeded.
    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for CreatedOutput {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        use std::os::unix::ffi::OsStrExt;
        let same = rustix::fs::statat(
            &self.dir,
            self.name.as_bytes(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .is_ok_and(|st| (st.st_dev, st.st_ino) == self.id);
        if same {
            let _ = rustix::fs::unlinkat(
                &self.dir,
                self.name.as_bytes(),
                rustix::fs::AtFlags::empty(),
            );
        }
    }
}

/// [`open_output`], and the file as [`CreatedOutput`] when this call created it.
///
/// # Errors
///
/// As [`create_output`].
pub fn open_output_created(
    path: &Path,
    mode: u32,
) -> std::io::Result<(std::fs::File, Option<CreatedOutput>)> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::ffi::OsStrExt;
    let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let (dir, name) = parent_of(path)?;
    let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(mode);
    let explain = |e: rustix::io::Errno| -> std::io::Error {
        if e == rustix::io::Errno::LOOP {
            bad("a symbolic link, which is not followed here".into())
        } else if e == rustix::io::Errno::NXIO {
            bad(
                "a FIFO or socket (not a regular file), or a device with nothing behind it \
                 (/dev/tty without a terminal)"
                    .into(),
            )
        } else {
            e.into()
        }
    };
    // Created here, or there before: only a file this call created is ever removed.
    let (fd, created) = match rustix::fs::openat(
        &dir,
        name.as_bytes(),
        flags | OFlags::CREATE | OFlags::EXCL,
        mode,
    ) {
        Ok(fd) => (fd, true),
        Err(rustix::io::Errno::EXIST) => (
            rustix::fs::openat(&dir, name.as_bytes(), flags, mode).map_err(explain)?,
            false,
        ),
        Err(e) => return Err(explain(e)),
    };
    let st = rustix::fs::fstat(&fd)?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    // A character device (`/dev/null`, a terminal) cannot be planted by another user:
    // making one needs CAP_MKNOD. Written to as it is.
    if kind == rustix::fs::FileType::CharacterDevice && !created {
        return Ok((std::fs::File::from(fd), None));
    }
    if kind != rustix::fs::FileType::RegularFile {
        return Err(bad("not a regular file".into()));
    }
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(bad(format!(
            "belongs to uid {}, not to us: not overwritten",
            st.st_uid
        )));
    }
    if st.st_nlink != 1 {
        return Err(bad(format!(
            "has {} hard links: not overwritten",
            st.st_nlink
        )));
    }
    let guard = created.then(|| CreatedOutput {
        dir,
        name,
        id: (st.st_dev, st.st_ino),
        armed: true,
    });
    Ok((std::fs::File::from(fd), guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_name(38), Some("ENOSYS"));
        assert_eq!(parse_errno("enomedium"), Some(123));
        assert_eq!(parse_errno("38"), Some(38));
        assert_eq!(parse_errno("5000"), None);
        assert_eq!(parse_errno("EWHAT"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0x10000000"), Ok(0x1000_0000));
        assert_eq!(parse_u64("42"), Ok(42));
        assert_eq!(parse_u64("-1"), Ok(u64::MAX));
        assert_eq!(parse_u64("zz").unwrap_err(), NOT_A_NUMBER);
        assert_eq!(parse_u64("--1").unwrap_err(), NOT_A_NUMBER);
        assert_eq!(parse_u64("0x").unwrap_err(), NOT_A_NUMBER);
        assert_eq!(parse_u64("1a").unwrap_err(), NOT_A_NUMBER);
        // The extremes, and one past them: refused, never wrapped.
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("-9223372036854775808"), Ok(1 << 63));
        assert_eq!(parse_u64("-0x8000000000000000"), Ok(1 << 63));
        let e = parse_u64("-9223372036854775809").unwrap_err();
        assert!(e.contains("below -9223372036854775808"), "{e}");
        let e = parse_u64("18446744073709551616").unwrap_err();
        assert!(e.contains("above 18446744073709551615"), "{e}");
        let e = parse_u64("-99999999999999999999").unwrap_err();
        assert!(e.contains("i64::MIN"), "{e}");
        assert!(parse_u64("0x1_0000_0000_0000_0000").is_err());
    }

    #[test]
    fn caps() {
        assert_eq!(normalize_cap("sys_admin").as_deref(), Some("CAP_SYS_ADMIN"));
        assert_eq!(
            normalize_cap("CAP_SYS_ADMIN").as_deref(),
            Some("CAP_SYS_ADMIN")
        );
        assert_eq!(normalize_cap("CAP_NOPE"), None);
    }
}
