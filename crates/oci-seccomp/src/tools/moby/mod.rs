//! Docker (moby) seccomp profile format: parse, validate and render to OCI.
//!
//! A Docker profile is an OCI `linux.seccomp` object plus a few keys that only mean
//! something to Docker's renderer (docs/design.md §2.4, `docs/moby.md`):
//!
//! - top level `archMap`: `[{"architecture": A, "subArchitectures": [..]}]`, used instead
//!   of `architectures`;
//! - per entry: the legacy single `name`, a free-text `comment`, and `includes` /
//!   `excludes` filters with `caps`, `arches` (moby's architecture names: `amd64`, `x86`,
//!   `x32`, `arm64`, `arm`, `ppc64le`, `s390x`, `s390`, `mips64`, `mipsel64`, `riscv64`...)
//!   and `minKernel` (`"major.minor"`).
//!
//! [`parse_moby`] reads and validates such a file; [`render`] turns it into the plain OCI
//! object that a runtime compiles, for one capability set, one architecture and one kernel
//! version, with moby's rules:
//!
//! - `architectures` and `archMap` together, or `name` and `names` together, are errors;
//! - the first `archMap` entry whose `architecture` is the target's gives
//!   `[architecture] + subArchitectures`; when none matches, the output has no
//!   `architectures` (the native one only);
//! - an entry is dropped if `excludes.arches` has the target's arch, if ANY of
//!   `excludes.caps` is held, if the kernel is >= `excludes.minKernel`, if `includes.arches`
//!   is non-empty and lacks the target's arch, unless ALL of `includes.caps` are held, and
//!   unless the kernel is >= `includes.minKernel` (major.minor only).
//!
//! ```
//! use oci_seccomp::moby::{parse_moby, render, KernelVersion, RenderOptions};
//!
//! let profile = parse_moby(r#"{
//!     "defaultAction": "SCMP_ACT_ERRNO",
//!     "syscalls": [
//!         { "name": "chmod", "action": "SCMP_ACT_ALLOW" },
//!         { "names": ["syslog"], "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_SYSLOG"] } }
//!     ]
//! }"#)?;
//! let opts = RenderOptions::host()
//!     .with_caps(["CAP_SYSLOG"])
//!     .with_kernel(KernelVersion { major: 6, minor: 1 });
//! let oci = render(&profile, &opts)?;
//! assert_eq!(oci.syscalls().as_ref().map(Vec::len), Some(2));
//! # Ok::<(), oci_seccomp::moby::MobyError>(())
//! ```

mod parse;
mod write;

use parse::short_json;

pub(crate) use parse::is_moby_value;
pub use parse::{is_moby, parse_moby, parse_moby_value};
pub use write::{to_docker, DockerForm, DockerFormError, KEYS_AFTER_DOCKER_20_10};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSyscall,
};
use serde_json::Value;

use crate::arch::ArchInfo;

/// Docker's default capability set (what a container gets without `--cap-add`).
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A kernel version as moby compares it: major.minor only.
///
/// Ordering is lexicographic on (major, minor), which is moby's `kernelGreaterEqualThan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
}

/// Why a Docker profile could not be parsed, validated or rendered.
///
/// Every variant that comes from the input names the JSON path of the offending field
/// (for example `syscalls[12].includes.minKernel`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MobyError {
    /// Malformed JSON.
    #[error("line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's explanation.
        message: String,
    },

    /// The text is larger than any real profile.
    #[error(
        "the profile is {len} bytes, more than the {max}-byte limit; no real profile is this large"
    )]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A field has the wrong type or a value moby would refuse.
    #[error("{path}: invalid value {value}: {reason}")]
    Invalid {
        /// JSON path, for example `syscalls[12].includes.minKernel`.
        path: String,
        /// The value found, as JSON text.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// A required field is absent.
    #[error("{path}: missing: {reason}")]
    Missing {
        /// JSON path of the missing field, for example `syscalls[3].action`.
        path: String,
        /// What it is for.
        reason: String,
    },

    /// Two keys that moby refuses to see together.
    #[error("{path}: both {first:?} and {second:?} are set; use either {first:?} or {second:?} (moby refuses both)")]
    Conflict {
        /// JSON path of the object that holds both, `<top level>` or `syscalls[N]`.
        path: String,
        /// The first key.
        first: &'static str,
        /// The second key.
        second: &'static str,
    },
}

impl MobyError {
    fn invalid(path: impl Into<String>, value: &Value, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            value: short_json(value),
            reason: reason.into(),
        }
    }

    /// The JSON path of the field concerned, if the error is about one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. }
            | Self::Missing { path, .. }
            | Self::Conflict { path, .. } => Some(path),
            Self::Json { .. } | Self::TooLarge { .. } => None,
        }
    }
}

/// One `archMap` entry: an architecture and the sub-architectures that come with it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchMapEntry {
    /// `architecture`.
    pub architecture: Arch,
    /// `subArchitectures` (`null` reads as empty).
    pub sub_architectures: Vec<Arch>,
}

/// An `includes` or `excludes` filter of an entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MobyFilter {
    /// `caps`: capability names, compared exactly as written.
    pub caps: Vec<String>,
    /// `arches`: moby architecture names (`amd64`, `x86`, `arm64`...).
    pub arches: Vec<String>,
    /// `minKernel`.
    pub min_kernel: Option<KernelVersion>,
}

impl MobyFilter {
    /// Whether the filter has no condition at all.
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// One entry of `syscalls`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MobySyscall {
    /// The syscall names (`names`, or the legacy `name` as a one-element list).
    pub names: Vec<String>,
    /// Whether the names came from the legacy `name` key.
    pub legacy_name: bool,
    /// `action`.
    pub action: LinuxSeccompAction,
    /// `errnoRet` (from `errno` when only the name is given).
    pub errno_ret: Option<u32>,
    /// containers-common's `errno`: the errno's name beside (or instead of) `errnoRet`,
    /// checked against it.
    pub errno_name: Option<String>,
    /// `args` (`null` and `[]` read as none).
    pub args: Vec<LinuxSeccompArg>,
    /// `comment`.
    pub comment: Option<String>,
    /// `includes`.
    pub includes: MobyFilter,
    /// `excludes`.
    pub excludes: MobyFilter,
}

/// A parsed and validated Docker (moby) seccomp profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MobyProfile {
    /// `defaultAction`.
    pub default_action: LinuxSeccompAction,
    /// `defaultErrnoRet` (from `defaultErrno` when only the name is given).
    pub default_errno_ret: Option<u32>,
    /// containers-common's `defaultErrno`: the default errno's name, checked against
    /// `defaultErrnoRet`.
    pub default_errno_name: Option<String>,
    /// `architectures` (legacy; refused together with a non-empty `archMap`).
    pub architectures: Vec<Arch>,
    /// `archMap`.
    pub arch_map: Vec<ArchMapEntry>,
    /// `flags`, passed through (`None` when absent, which is not the same as `[]`).
    pub flags: Option<Vec<LinuxSeccompFilterFlag>>,
    /// `listenerPath`, passed through.
    pub listener_path: Option<PathBuf>,
    /// `listenerMetadata`, passed through.
    pub listener_metadata: Option<String>,
    /// `syscalls`.
    pub syscalls: Vec<MobySyscall>,
}

/// Inputs of [`render`]: capability set, architecture, kernel version.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Capabilities in the container's bounding set (`CAP_*` names).
    pub capabilities: Vec<String>,
    /// The architecture the container runs on.
    pub arch: &'static ArchInfo,
    /// The kernel version compared with `minKernel`.
    pub kernel: KernelVersion,
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Parses `minKernel` text; `Err` is the reason.
///
/// moby (`profiles/seccomp`, `KernelVersion.UnmarshalJSON`): exactly two dot-separated
/// parts, each a base-10 unsigned integer that fits 8 bits (`strconv.ParseUint(s, 10, 8)`:
/// digits only, no sign, no spaces, 0..=255), and not `0.0`. moby reads `""` as "no
/// version" (in effect 0.0, always satisfied); we refuse it, like `0.0`.
fn parse_kernel(text: &str) -> Result<KernelVersion, String> {
    const HINT: &str = "expected \"<major>.<minor>\" with two decimal numbers of 0..=255 \
                        (for example \"4.8\")";
    if text.is_empty() {
        return Err(format!("empty version; {HINT}"));
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 2 {
        return Err(format!(
            "{} dot-separated part(s); {HINT}; only major.minor is compared",
            parts.len()
        ));
    }
    let mut nums = [0u32; 2];
    for (slot, (part, what)) in nums.iter_mut().zip(parts.iter().zip(["major", "minor"])) {
        if part.is_empty() {
            return Err(format!("the {what} number is empty; {HINT}"));
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "the {what} number {part:?} is not decimal digits; {HINT}"
            ));
        }
        match part.parse::<u32>() {
            Ok(n) if n <= 255 => *slot = n,
            _ => {
                return Err(format!(
                    "the {what} number {part} is larger than 255; {HINT}"
                ))
            }
        }
    }
    if nums == [0, 0] {
        return Err("version cannot be 0.0".into());
    }
    Ok(KernelVersion {
        major: nums[0],
        minor: nums[1],
    })
}

/// Reads `major.minor` from the start of a kernel release string, as moby's
/// `fmt.Sscanf(release, "%d.%d")` does (`6.1.0-18-amd64` -> 6.1, `3.12-1-amd64` -> 3.12).
fn parse_release(release: &str) -> Option<KernelVersion> {
    let (major, rest) = release.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(KernelVersion {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

impl KernelVersion {
    /// Parses `minKernel` text as moby does ("4.8").
    ///
    /// The rule (moby's `KernelVersion.UnmarshalJSON`): exactly `major.minor`, both
    /// decimal digits only, each 0..=255, not `0.0`. So `"4.8"`, `"0.5"`, `"50.0"` are
    /// valid; `"0.0"`, `"3"`, `"3."`, `".3"`, `"4.15abc"`, `"4.8.1"`, `"+4.8"` and `""` are
    /// not (moby accepts `""` as "unset"; we refuse it).
    ///
    /// # Errors
    ///
    /// [`MobyError::Invalid`] at `minKernel` when `text` breaks the rule above.
    pub fn parse(text: &str) -> Result<Self, MobyError> {
        parse_kernel(text).map_err(|reason| MobyError::Invalid {
            path: "minKernel".into(),
            value: format!("{text:?}"),
            reason,
        })
    }

    /// The running kernel's version (uname), major.minor.
    pub fn running() -> Option<Self> {
        let uts = nix::sys::utsname::uname().ok()?;
        parse_release(&uts.release().to_string_lossy())
    }
}

impl FromStr for KernelVersion {
    type Err = MobyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Normalises a capability name: upper case, `CAP_` prefix added when missing.
fn normalise_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

impl RenderOptions {
    /// Docker's default capabilities, the host's architecture, the running kernel
    /// (0.0 if `uname` cannot be read, so that no `includes.minKernel` is satisfied).
    pub fn host() -> Self {
        RenderOptions {
            capabilities: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            arch: crate::arch::native(),
            kernel: KernelVersion::running().unwrap_or(KernelVersion { major: 0, minor: 0 }),
        }
    }

    /// Replaces the capability set. Names are normalised (`sys_admin` -> `CAP_SYS_ADMIN`).
    #[must_use]
    pub fn with_caps<I, S>(mut self, caps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.capabilities = caps
            .into_iter()
            .map(|c| normalise_cap(c.as_ref()))
            .collect();
        self
    }

    /// Adds capabilities to the set (normalised as in [`RenderOptions::with_caps`]).
    #[must_use]
    pub fn add_caps<I, S>(mut self, caps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for c in caps {
            let c = normalise_cap(c.as_ref());
            if !self.capabilities.contains(&c) {
                self.capabilities.push(c);
            }
        }
        self
    }

    /// Sets the architecture.
    #[must_use]
    pub fn with_arch(mut self, arch: &'static ArchInfo) -> Self {
        self.arch = arch;
        self
    }

    /// Sets the kernel version.
    #[must_use]
    pub fn with_kernel(mut self, kernel: KernelVersion) -> Self {
        self.kernel = kernel;
        self
    }

    fn has_cap(&self, cap: &str) -> bool {
        self.capabilities.iter().any(|c| c == cap)
    }
}

/// The names by which moby's `includes.arches` / `excludes.arches` refer to `arch`.
///
/// The first is the name moby itself compares with (its `goToNative` value: `amd64`,
/// `x86`, `arm64`, `mipsel64`, `mips3l64n32`...); Go `GOARCH` spellings that differ
/// (`386`, `mips64le`, ...) are accepted too.
pub fn moby_arch_names(arch: &ArchInfo) -> &'static [&'static str] {
    match arch.name {
        "SCMP_ARCH_X86" => &["x86", "386"],
        "SCMP_ARCH_X86_64" => &["amd64"],
        "SCMP_ARCH_X32" => &["x32"],
        "SCMP_ARCH_ARM" => &["arm"],
        "SCMP_ARCH_AARCH64" => &["arm64"],
        "SCMP_ARCH_MIPS" => &["mips"],
        "SCMP_ARCH_MIPS64" => &["mips64"],
        "SCMP_ARCH_MIPS64N32" => &["mips64n32", "mips64p32"],
        "SCMP_ARCH_MIPSEL" => &["mipsel", "mipsle"],
        "SCMP_ARCH_MIPSEL64" => &["mipsel64", "mips64le"],
        "SCMP_ARCH_MIPSEL64N32" => &["mips3l64n32", "mipsel64n32", "mips64p32le"],
        "SCMP_ARCH_PPC" => &["ppc"],
        "SCMP_ARCH_PPC64" => &["ppc64"],
        "SCMP_ARCH_PPC64LE" => &["ppc64le"],
        "SCMP_ARCH_S390" => &["s390"],
        "SCMP_ARCH_S390X" => &["s390x"],
        "SCMP_ARCH_PARISC" => &["parisc"],
        "SCMP_ARCH_PARISC64" => &["parisc64"],
        "SCMP_ARCH_RISCV64" => &["riscv64"],
        "SCMP_ARCH_LOONGARCH64" => &["loong64", "loongarch64"],
        "SCMP_ARCH_M68K" => &["m68k"],
        "SCMP_ARCH_SH" => &["sh"],
        "SCMP_ARCH_SHEB" => &["sheb"],
        _ => &[],
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

fn same_arch(a: Arch, info: &ArchInfo) -> bool {
    a != Arch::ScmpArchNative && crate::arch::from_oci(a).name == info.name
}

impl MobySyscall {
    /// Whether moby keeps this entry for `opts` (the include/exclude rules, in moby's order).
    pub fn applies(&self, opts: &RenderOptions) -> bool {
        let host = moby_arch_names(opts.arch);
        let names_host = |list: &[String]| list.iter().any(|a| host.contains(&a.as_str()));
        let ex = &self.excludes;
        if names_host(&ex.arches) {
            return false;
        }
        if ex.caps.iter().any(|c| opts.has_cap(c)) {
            return false;
        }
        if ex.min_kernel.is_some_and(|k| opts.kernel >= k) {
            return false;
        }
        let inc = &self.includes;
        if !inc.arches.is_empty() && !names_host(&inc.arches) {
            return false;
        }
        if !inc.caps.iter().all(|c| opts.has_cap(c)) {
            return false;
        }
        if inc.min_kernel.is_some_and(|k| opts.kernel < k) {
            return false;
        }
        true
    }
}

/// The `architectures` of the rendered profile: the legacy list as given, or the first
/// `archMap` entry for the target (`None` when nothing applies: the native arch only).
fn rendered_arches(profile: &MobyProfile, opts: &RenderOptions) -> Option<Vec<Arch>> {
    if !profile.architectures.is_empty() {
        return Some(profile.architectures.clone());
    }
    let entry = profile
        .arch_map
        .iter()
        .find(|e| same_arch(e.architecture, opts.arch))?;
    let mut out = vec![entry.architecture];
    out.extend(entry.sub_architectures.iter().copied());
    Some(out)
}

/// Renders a Docker profile to OCI `linux.seccomp` for `opts`.
///
/// Pure and infallible on a parsed profile today (the `Result` leaves room for checks
/// that need the target, such as an architecture the profile cannot serve).
///
/// # Errors
///
/// None today; a [`MobyError`] naming its path is reserved for a profile that cannot
/// serve `opts`.
pub fn render(profile: &MobyProfile, opts: &RenderOptions) -> Result<LinuxSeccomp, MobyError> {
    let mut out = LinuxSeccomp::default();
    out.set_default_action(profile.default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    out.set_architectures(rendered_arches(profile, opts));
    out.set_flags(profile.flags.clone());
    out.set_listener_path(profile.listener_path.clone());
    out.set_listener_metadata(profile.listener_metadata.clone());
    let syscalls: Vec<LinuxSyscall> = profile
        .syscalls
        .iter()
        .filter(|e| e.applies(opts))
        .map(|e| {
            let mut s = LinuxSyscall::default();
            s.set_names(e.names.clone());
            s.set_action(e.action);
            s.set_errno_ret(e.errno_ret);
            s.set_args((!e.args.is_empty()).then(|| e.args.clone()));
            s
        })
        .collect();
    out.set_syscalls(Some(syscalls));
    Ok(out)
}

/// [`parse_moby`] then [`render`].
///
/// # Errors
///
/// As [`parse_moby`] and [`render`].
pub fn render_json(json: &str, opts: &RenderOptions) -> Result<LinuxSeccomp, MobyError> {
    render(&parse_moby(json)?, opts)
}

/// The embedded default profile (moby format) as JSON text: our own file with the policy
/// of Docker's current default (see `docs/moby.md`).
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../../../profiles/default.json");

/// The embedded default profile, parsed.
pub fn default_profile() -> MobyProfile {
    static PROFILE: OnceLock<MobyProfile> = OnceLock::new();
    PROFILE
        .get_or_init(|| {
            // A test (`embedded_default_parses`) keeps the embedded file valid.
            parse_moby(DEFAULT_PROFILE_JSON)
                .unwrap_or_else(|e| panic!("the embedded default profile is invalid: {e}"))
        })
        .clone()
}

/// The embedded default profile rendered for `opts`.
///
/// # Errors
///
/// [`MobyError`] from [`render`] (none today: the embedded profile is valid).
pub fn render_default(opts: &RenderOptions) -> Result<LinuxSeccomp, MobyError> {
    render(&default_profile(), opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_parsing() {
        assert_eq!(
            parse_release("6.1.0-18-amd64"),
            Some(KernelVersion { major: 6, minor: 1 })
        );
        assert_eq!(
            parse_release("3.12-1-amd64"),
            Some(KernelVersion {
                major: 3,
                minor: 12
            })
        );
        assert_eq!(parse_release("garbage"), None);
        assert!(KernelVersion::running().is_some());
    }

    #[test]
    fn kernel_rule() {
        for ok in [
            "4.8", "0.5", "0.50", "5.0", "50.0", "4.15", "255.255", "08.1",
        ] {
            assert!(parse_kernel(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "0.0", "3", "3.", ".3", "4.15abc", "4.8.1", "+4.8", "4.-8", " 4.8", "256.1", "true",
        ] {
            assert!(parse_kernel(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caps_are_normalised() {
        let o = RenderOptions::host().with_caps(["sys_admin", "CAP_KILL"]);
        assert_eq!(o.capabilities, ["CAP_SYS_ADMIN", "CAP_KILL"]);
    }
}
