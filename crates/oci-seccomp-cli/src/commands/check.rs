//! `oci-seccomp check`: validate and lint a profile.

use clap::ValueEnum;
use oci_seccomp::lint::{self, Severity};
use oci_seccomp::moby::RenderOptions;
use oci_seccomp::runtimes::Runtime;
use serde_json::json;

use crate::args::{ArgReadingArgs, DockerRenderArgs, RuntimeName};

use crate::profiles::shown;
use crate::{logging, output, profiles};
use crate::{CliError, CliResult};

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line per finding (severity, JSON path, message, code), then the counts.
    Text,
    /// One JSON object: the findings and the counts.
    Json,
    /// A SARIF 2.1.0 log for CI (GitHub code scanning...): each finding on the line and
    /// column of the file its JSON path names.
    Sarif,
}

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
#[command(mut_args(for_docker_profiles))]
pub struct CheckArgs {
    /// The profile (JSON); `-` reads standard input.
    pub profile: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// The same as --format json (kept for existing scripts).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How a Docker profile is rendered before it is linted.
    #[command(flatten)]
    pub render: DockerRenderArgs,
    /// How arguments narrower than 64 bits are compared.
    #[command(flatten)]
    pub arg_reading: ArgReadingArgs,
    /// Also check that this runtime can start a workload under the profile: the calls
    /// it makes itself after installing the filter must be allowed (repeatable).
    #[arg(long = "runtime", value_enum, value_name = "RUNTIME")]
    pub runtime: Vec<RuntimeName>,
    /// With --runtime: the containers set no-new-privileges (the runtimes then make
    /// fewer calls after the install; default: they do not, as Kubernetes gives a root
    /// container).
    #[arg(long = "no-new-privs", requires = "runtime")]
    pub no_new_privs: bool,
    /// Instead of linting: say what this consumer installs from the file and every place
    /// where that differs from our reading, as a semantic diff (repeatable). docker, podman
    /// and cri-o read Docker's format (containers/common's for the latter two) with the
    /// container's capabilities; containerd, runc and crun read it as OCI with Go's
    /// encoding/json, which drops Docker's keys silently. Exit 1 when a consumer would be
    /// looser than our reading, or refuses the file.
    #[arg(long = "for", value_enum, value_name = "CONSUMER")]
    pub consumers: Vec<Consumer>,
}

/// A consumer of a profile file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Consumer {
    /// Docker (moby): its own format, rendered with the container's capabilities.
    Docker,
    /// Podman: containers/common's reading of Docker's format.
    Podman,
    /// CRI-O: containers/common's reading of Docker's format (a Localhost profile).
    CriO,
    /// containerd (CRI): the file as the runtime spec's `linux.seccomp` (Go's
    /// encoding/json: Docker's keys dropped).
    Containerd,
    /// runc: `linux.seccomp` as Go reads it.
    Runc,
    /// crun: `linux.seccomp` (its Go callers read the file as runc's do).
    Crun,
}

impl Consumer {
    /// The consumer's name.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Docker => "docker",
            Consumer::Podman => "podman",
            Consumer::CriO => "cri-o",
            Consumer::Containerd => "containerd",
            Consumer::Runc => "runc",
            Consumer::Crun => "crun",
        }
    }

    /// Whether it reads Docker's format (else the OCI object, as Go decodes it).
    fn reads_docker_format(self) -> bool {
        matches!(self, Consumer::Docker | Consumer::Podman | Consumer::CriO)
    }
}

/// Dropped keys by name: `archMap`, `includes (28 entries)`, ...
fn summarize_keys(paths: &[String]) -> String {
    let mut by_key: Vec<(String, usize, String)> = Vec::new();
    for p in paths {
        let key = p.rsplit('.').next().unwrap_or(p).to_string();
        match by_key.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, n, _)) => *n += 1,
            None => by_key.push((key, 1, p.clone())),
        }
    }
    by_key
        .into_iter()
        .map(|(k, n, first)| {
            if n == 1 {
                first
            } else {
                format!("{k} ({n} entries)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `check --for`: what each consumer installs from `path`, against our reading.
/// CRI-O's default capabilities (`default_capabilities` of crio.conf), which a pod gets
/// unless its securityContext adds some: Docker's default set without MKNOD, NET_RAW,
/// SETFCAP, SYS_CHROOT and AUDIT_WRITE.
const CRIO_DEFAULT_CAPS: [&str; 9] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_KILL",
];

fn consumers(
    path: &str,
    consumers: &[Consumer],
    opts: &RenderOptions,
    explicit_caps: bool,
) -> CliResult<u8> {
    use std::fmt::Write;
    let raw = profiles::read_input(path)?;
    let resource = oci_seccomp::spo::is_spo_text(&raw);
    let text = profiles::spo_as_oci(path, raw)?;
    let ours = profiles::oci_or_rendered(path, &text, opts)?;
    let meaning = |spec: &oci_seccomp::LinuxSeccomp| -> CliResult<oci_seccomp::Semantics> {
        let p = oci_seccomp::Profile::from_oci_for(spec, false, opts.arch)
            .map_err(|e| profiles::compile_error(path, &e))?;
        Ok(oci_seccomp::Semantics::new(&p, oci_seccomp::Stub::Enosys))
    };
    let our_meaning = meaning(&ours)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
    let mut out = String::new();
    let mut errors = 0;
    let notify_default = ours.default_action() == oci_seccomp::LinuxSeccompAction::ScmpActNotify;
    let notify = notify_default
        || ours.syscalls().as_ref().is_some_and(|l| {
            l.iter()
                .any(|e| e.action() == oci_seccomp::LinuxSeccompAction::ScmpActNotify)
        });
    if resource {
        // A runtime given this file reads no profile of it: Go drops apiVersion, kind,
        // metadata and spec (JSON), or cannot decode it (YAML); with no defaultAction runc
        // and containers/common install no filter at all.
        errors += consumers.len();
        for c in consumers {
            let _ = writeln!(
                out,
                "error: {}: this file is a SeccompProfile resource, not a profile: a runtime \
                 given it installs no filter (JSON: only unknown keys, so no defaultAction) or \
                 cannot read it (YAML); install its spec with `install-profile`, or let the \
                 operator write it. What follows is what `install-profile` would write:",
                c.name()
            );
        }
    }
    for c in consumers {
        // NOTIFY, which some consumers refuse or mishandle (docs/conformance.md).
        if notify {
            let refusal = match c {
                Consumer::Runc | Consumer::Containerd if ours.listener_path().is_none() => {
                    Some("runc refuses SCMP_ACT_NOTIFY without listenerPath")
                }
                Consumer::Runc | Consumer::Containerd if notify_default => {
                    Some("runc refuses defaultAction SCMP_ACT_NOTIFY")
                }
                Consumer::Crun if notify_default => {
                    Some("crun 1.8 crashes (SIGSEGV) on defaultAction SCMP_ACT_NOTIFY")
                }
                Consumer::Docker | Consumer::Podman | Consumer::CriO
                    if ours.listener_path().is_none() =>
                {
                    Some("SCMP_ACT_NOTIFY without listenerPath: no agent would get the notifications")
                }
                _ => None,
            };
            if let Some(why) = refusal {
                errors += 1;
                let _ = writeln!(out, "error: {}: {why}", c.name());
            }
        }
        let theirs = if c.reads_docker_format() {
            // CRI-O's pods get its own default set, unless --cap says what they get.
            let their_opts = if *c == Consumer::CriO && !explicit_caps {
                opts.clone().with_caps(CRIO_DEFAULT_CAPS)
            } else {
                opts.clone()
            };
            let _ = writeln!(
                out,
                "{}: reads Docker's format{} with the container's capabilities ({}{})",
                c.name(),
                if *c == Consumer::Docker {
                    ""
                } else {
                    " through containers/common"
                },
                their_opts.capabilities.join(", "),
                if *c == Consumer::CriO && !explicit_caps {
                    "; CRI-O's default set, --cap for others"
                } else {
                    ""
                }
            );
            profiles::oci_or_rendered(path, &text, &their_opts)?
        } else {
            let dropped = oci_seccomp::profile::unknown_keys(&value, false);
            let _ = writeln!(
                out,
                "{}: reads the file as the runtime spec's linux.seccomp (Go's encoding/json){}",
                c.name(),
                if dropped.is_empty() {
                    String::new()
                } else {
                    format!(", dropping {}", summarize_keys(&dropped))
                }
            );
            let go = oci_seccomp::profile::go_oci_reading(&value);
            match oci_seccomp::parse_profile(&go.to_string()) {
                Ok(spec) => spec,
                Err(e) => {
                    errors += 1;
                    let _ = writeln!(out, "error: {} refuses what it reads: {e}", c.name());
                    continue;
                }
            }
        };
        let their_meaning = match meaning(&theirs) {
            Ok(m) => m,
            Err(e) => {
                errors += 1;
                let _ = writeln!(
                    out,
                    "error: {} refuses what it reads: {}",
                    c.name(),
                    e.message
                );
                continue;
            }
        };
        let d = oci_seccomp::diff(&our_meaning, &their_meaning)
            .map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
        if d.is_empty() {
            let _ = writeln!(out, "  the same as our reading, over every call");
            continue;
        }
        let looser = d
            .iter()
            .filter(|x| x.change() == oci_seccomp::Change::Looser)
            .count();
        for line in crate::commands::diff::difference_lines(&d).lines() {
            let _ = writeln!(out, "  {line}");
        }
        if looser > 0 {
            errors += 1;
            let _ = writeln!(
                out,
                "error: {} would be looser than the profile means in {looser} region(s) (ours -> {})",
                c.name(),
                c.name()
            );
        } else {
            let _ = writeln!(
                out,
                "warning: {} decides {} region(s) otherwise, none looser",
                c.name(),
                d.len()
            );
        }
    }
    let _ = writeln!(
        out,
        "(both sides read with the ENOSYS stub and 32-bit arguments as the kernel reads them; \
         `diff --arg-reading literal` and `--no-stub` show what runc's and crun's compilers add)"
    );
    crate::output::write_output(None, out.as_bytes())?;
    Ok(u8::from(errors > 0))
}

/// `render`'s flags as `check` describes them: said of the Docker profiles they apply to.
/// (In place: the order of the arguments, which completions follow, stays.)
fn for_docker_profiles(arg: clap::Arg) -> clap::Arg {
    let help = match arg.get_id().as_str() {
        "cap" => "Docker profiles: add a capability to Docker's default set; repeatable",
        "no_default_caps" => "Docker profiles: start from an empty capability set",
        "arch" => "Docker profiles: the target architecture (default: native)",
        "kernel" => {
            "Docker profiles: the kernel version compared with minKernel, X.Y (default: running)"
        }
        _ => return arg,
    };
    arg.help(help)
}

/// `check --runtime`: the runtimes that must start a workload under the profile.
#[derive(Debug, Default)]
struct RuntimeCheck {
    /// The runtimes (none: no check).
    runtimes: Vec<Runtime>,
    /// Whether the containers set no-new-privileges.
    no_new_privileges: bool,
}

/// Runs `check`: prints every finding in the chosen format, exit 1 when any is an error.
/// Docker profiles are rendered as the render flags say first.
pub fn run(args: CheckArgs) -> CliResult<u8> {
    let opts = args.render.options()?;
    let format = if args.json {
        CheckFormat::Json
    } else {
        args.format
    };
    if !args.consumers.is_empty() {
        let explicit_caps = !args.render.cap.is_empty() || args.render.no_default_caps;
        return consumers(&args.profile, &args.consumers, &opts, explicit_caps);
    }
    let runtime = RuntimeCheck {
        runtimes: args.runtime.into_iter().map(Into::into).collect(),
        no_new_privileges: args.no_new_privs,
    };
    check(
        &args.profile,
        format,
        &opts,
        args.arg_reading.reading(),
        &runtime,
    )
}

/// Checks the profile at `path` and prints the findings in `format`.
fn check(
    path: &str,
    format: CheckFormat,
    opts: &RenderOptions,
    reading: oci_seccomp::ArgReading,
    runtime: &RuntimeCheck,
) -> CliResult<u8> {
    let text = match profiles::read_profile(path) {
        Ok(t) => t,
        Err(e) if format == CheckFormat::Sarif => {
            // CI still gets a SARIF document, saying the check did not run.
            let mut s =
                serde_json::to_string_pretty(&crate::sarif::failed_log(path, &e.to_string()))
                    .map_err(|e| CliError::problem(e.to_string()))?;
            s.push('\n');
            output::write_output(None, s.as_bytes())?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let mut findings = lint::check_text_reading(&text, opts, reading);
    if !runtime.runtimes.is_empty() && !findings.iter().any(|f| f.severity == Severity::Error) {
        // The profile is valid: compile it for this host as a runtime would.
        let spec = if profiles::is_docker_text(&text) {
            let p = oci_seccomp::moby::parse_moby(&text)
                .map_err(|e| CliError::problem(format!("{}: {e}", shown(path))))?;
            oci_seccomp::moby::render(&p, opts)
                .map_err(|e| CliError::problem(format!("{}: {e}", shown(path))))?
        } else {
            oci_seccomp::parse_profile(&text).map_err(|e| profiles::parse_error(path, &e))?
        };
        let options = oci_seccomp::CompileOptions::default().with_arg_reading(reading);
        // Quietly: what validation would log is in the findings already, once.
        let program = logging::quietly(|| oci_seccomp::compile(&spec, &options))
            .map_err(|e| profiles::compile_error(path, &e))?;
        findings.extend(lint::runtime_findings(
            &program,
            &runtime.runtimes,
            runtime.no_new_privileges,
        ));
        // A pair libseccomp refuses stops runc and crun before anything else.
        let refused: Vec<String> = findings
            .iter()
            .filter(|f| f.code == "tie" && f.message.contains(lint::LIBSECCOMP_REFUSES))
            .map(|f| f.path.clone())
            .collect();
        if !refused.is_empty() {
            for r in runtime.runtimes.iter().filter(|r| {
                matches!(
                    r,
                    oci_seccomp::runtimes::Runtime::Runc | oci_seccomp::runtimes::Runtime::Crun
                )
            }) {
                findings.push(lint::Finding::error(
                    "runtime-start",
                    "",
                    format!(
                        "{r} cannot start a workload under this profile: libseccomp refuses \
                         the entries at {} (EEXIST, see the tie warnings)",
                        refused.join(", ")
                    ),
                ));
            }
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, notes) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Note),
    );
    match format {
        CheckFormat::Json => {
            let v = json!({
                "profile": shown(path),
                "findings": findings,
                "errors": errors,
                "warnings": warnings,
                "notes": notes,
            });
            write_json(&v)?;
        }
        CheckFormat::Sarif => write_json(&crate::sarif::log(path, &text, &findings))?,
        CheckFormat::Text => {
            let mut s = String::new();
            for f in &findings {
                let sev = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    _ => "note",
                };
                let p = if f.path.is_empty() {
                    shown(path)
                } else {
                    f.path.as_str()
                };
                s.push_str(&format!("{sev}: {p}: {} [{}]\n", f.message, f.code));
            }
            s.push_str(&format!(
                "{}: {errors} error(s), {warnings} warning(s), {notes} note(s)\n",
                shown(path)
            ));
            output::write_output(None, s.as_bytes())?;
        }
    }
    Ok(if errors > 0 { 1 } else { 0 })
}

/// Prints `v` as pretty JSON and a newline.
fn write_json(v: &serde_json::Value) -> CliResult<()> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| CliError::problem(e.to_string()))?;
    s.push('\n');
    output::write_output(None, s.as_bytes())
}
