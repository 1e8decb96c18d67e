//! The entry points that read a profile's text (OCI or Docker's format) and run every
//! lint on it, with the runtime's own calls (`check --runtime`).

use super::{
    validate_quietly, Finding, Findings, Linter, Severity, CHECK_DEADLINE, CHECK_STEPS,
    READ_STEPS_PER_BYTE,
};
use crate::profile::ArgReading;
use crate::{CompileOptions, StepBudget};
use oci_spec::runtime::LinuxSeccomp;
/// Everything `oci-seccomp check` reports for a profile's JSON text: [`check_text_with`]
/// with Docker profiles rendered for this host (Docker's default capabilities, the native
/// architecture, the running kernel).
pub fn check_text(json: &str) -> Vec<Finding> {
    check_text_with(json, &crate::moby::RenderOptions::host())
}

/// Everything `oci-seccomp check` reports for a profile's JSON text.
///
/// An OCI `linux.seccomp` object is validated, compiled and linted ([`super::lint`]); parse
/// errors carry line and column. A Docker (moby) profile — `archMap`, `includes`,
/// `excludes`, a legacy `name` or a `comment`, in any letter case, and containers-common's
/// `defaultErrno`/`errno` names — is validated as moby reads it (every error names its
/// JSON path, for example `syscalls[3].includes.minKernel`), rendered for `opts`, and the
/// result is checked as an OCI profile, with each finding's `syscalls[N]` pointing back
/// at the entry of the Docker file.
///
/// An `Error` finding means the profile cannot be installed as written; the others are
/// advice. The findings come sorted by severity, errors first.
pub fn check_text_with(json: &str, opts: &crate::moby::RenderOptions) -> Vec<Finding> {
    check_text_reading(json, opts, ArgReading::Kernel)
}

/// Findings for the calls `runtimes` make after installing the filter
/// ([`crate::runtimes`]) that `program` (compiled for the native architecture) does not
/// allow: per runtime, a `runtime-start` error for the calls whose denial stops it
/// ([`crate::runtimes::RuntimeCall::required`]) and a warning for the others it makes.
/// `no_new_privileges`:
/// whether the containers set it (`false` checks the longer list runtimes need without
/// it).
pub fn runtime_findings(
    program: &crate::Program,
    runtimes: &[crate::runtimes::Runtime],
    no_new_privileges: bool,
) -> Vec<Finding> {
    let arch = crate::arch::native();
    let setting = if no_new_privileges {
        "with no-new-privileges"
    } else {
        "without no-new-privileges"
    };
    let mut out = Vec::new();
    for &r in runtimes {
        let missing = crate::runtimes::missing(program, arch, &r.calls(no_new_privileges));
        let list = |required: bool| -> Vec<String> {
            missing
                .iter()
                .filter(|c| c.required == required)
                .map(ToString::to_string)
                .collect()
        };
        let (needed, made) = (list(true), list(false));
        if !needed.is_empty() {
            out.push(Finding::new(
                Severity::Error,
                "runtime-start",
                "",
                format!(
                    "{r} cannot start a workload under this profile: after installing the \
                     filter it calls {} ({setting}), which the profile denies on {}, and a \
                     denied one stops it; allow {} (or record with --runtime {r})",
                    needed.join(", "),
                    arch.name,
                    if needed.len() == 1 { "it" } else { "them" },
                ),
            ));
        }
        if !made.is_empty() {
            out.push(Finding::new(
                Severity::Warning,
                "runtime-start",
                "",
                format!(
                    "{r} also calls {} after installing the filter ({setting}), which the \
                     profile denies on {}: a denial did not stop it when measured (Go's \
                     runtime calls, a failed close), but its own code then runs on errors \
                     it does not expect; allow {}",
                    made.join(", "),
                    arch.name,
                    if made.len() == 1 { "it" } else { "them" },
                ),
            ));
        }
    }
    out
}

/// [`check_text_with`] for a profile compiled with `reading` ([`ArgReading`]; `check
/// --arg-reading`).
pub fn check_text_reading(
    json: &str,
    opts: &crate::moby::RenderOptions,
    reading: ArgReading,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if json.len() > crate::MAX_PROFILE_BYTES {
        out.push(Finding::new(
            Severity::Error,
            "too-large",
            "",
            format!(
                "the profile is {} bytes; the limit is {} bytes",
                json.len(),
                crate::MAX_PROFILE_BYTES
            ),
        ));
        return out;
    }
    let mut budget =
        StepBudget::new(CHECK_STEPS).with_deadline(std::time::Instant::now() + CHECK_DEADLINE);
    // Reading the text (parsing, validating, rendering) is charged up front.
    budget.charge(READ_STEPS_PER_BYTE.saturating_mul(json.len() as u64));
    // Parsed once here for every look at the JSON itself.
    let value = serde_json::from_str::<serde_json::Value>(json).ok();
    let docker = value.as_ref().is_some_and(crate::moby::is_moby_value);
    let unknown: Findings = value
        .as_ref()
        .map(|v| crate::profile::parse::unknown_keys(v, docker))
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            Finding::new(
                Severity::Warning,
                "unknown-key",
                path.clone(),
                "not a key of this format: it is ignored (as oci-spec and moby do), so a \
                 misspelt key such as `args` silently drops what it holds"
                    .to_string(),
            )
        })
        .collect();
    let mut found = if docker {
        check_moby(json, opts, &mut budget, reading)
    } else {
        let parsed = match &value {
            Some(v) => crate::profile::parse::parse_parsed(json, v),
            None => crate::parse_profile(json),
        };
        match parsed {
            Ok(s) => check_spec(&s, &mut budget, reading),
            Err(crate::ParseError::DockerKey { .. }) => {
                check_moby(json, opts, &mut budget, reading)
            }
            Err(e) => {
                out.push(Finding::new(Severity::Error, "parse", "", e.to_string()));
                return out;
            }
        }
    };
    found.extend(unknown.into_vec());
    found.sort_by_key(|f| std::cmp::Reverse(f.severity));
    found
}

/// Validation, compilation and [`lint`] of a parsed OCI profile, errors first, within what
/// is left of `budget`: the lints that only read the profile first (they take little:
/// Docker's profile costs a few thousand steps), then the compile's complete check with
/// what is left, at most the [`MAX_STEPS`](crate::MAX_STEPS) that `compile` gives
/// it, then the lints that search, with the rest. When the proof runs out of steps with
/// less than `compile` would give it, the `unfinished` finding says so.
pub(super) fn check_spec(
    spec: &LinuxSeccomp,
    budget: &mut StepBudget,
    reading: ArgReading,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let profile = validate_quietly(spec, reading);
    let mut linter = Linter::new(spec, budget, reading);
    linter.cheap();
    match &profile {
        Err(e) => out.push(Finding::new(Severity::Error, "invalid", "", e.to_string())),
        Ok(profile) => {
            let budget = &mut *linter.work.budget;
            let given = budget.left().min(crate::MAX_STEPS);
            let mut proof = budget.part(given);
            let compiled = crate::compile_profile_within(
                profile,
                &CompileOptions::default().with_arg_reading(reading),
                &mut proof,
            );
            budget.absorb(&proof);
            match compiled {
                // Out of time, not of steps: `compile` may still prove it. Say what was
                // not finished; that is no finding about the profile.
                Err(crate::CompileError::TooComplexToProve { .. }) if proof.timed_out() => {
                    linter.work.partial.push((
                        "the complete check of the compiled program",
                        format!(
                            "it stopped at check's deadline of {} ms; `oci-seccomp compile` \
                             allows {} steps and decides whether the profile compiles",
                            CHECK_DEADLINE.as_millis(),
                            crate::MAX_STEPS
                        ),
                    ));
                }
                // Out of the steps the lints left it, fewer than `compile` gives: not a
                // finding about the profile either.
                Err(crate::CompileError::TooComplexToProve { .. }) if given < crate::MAX_STEPS => {
                    linter.work.partial.push((
                        "the complete check of the compiled program",
                        format!(
                            "it stopped after the {given} steps left, where `oci-seccomp \
                             compile` allows {} and decides whether the profile compiles",
                            crate::MAX_STEPS
                        ),
                    ));
                }
                Err(e) => out.push(Finding::new(Severity::Error, "compile", "", e.to_string())),
                Ok(_) => {}
            }
        }
    }
    linter.searching(profile.as_ref().ok());
    out.extend(linter.finish());
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// A Docker profile: moby's validation, then the rendered profile's checks with entry
/// indices mapped back to the Docker file.
pub(super) fn check_moby(
    json: &str,
    opts: &crate::moby::RenderOptions,
    budget: &mut StepBudget,
    reading: ArgReading,
) -> Vec<Finding> {
    let profile = match crate::moby::parse_moby(json) {
        Ok(p) => p,
        Err(e) => {
            let path = e.path().unwrap_or("").to_string();
            // The error's text starts with its path; the finding shows the path once.
            let text = e.to_string();
            let message = text
                .strip_prefix(&format!("{path}: "))
                .map_or(text.clone(), str::to_string);
            return vec![Finding::new(
                Severity::Error,
                "docker-invalid",
                path,
                message,
            )];
        }
    };
    let spec = match crate::moby::render(&profile, opts) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().unwrap_or("").to_string();
            return vec![Finding::new(
                Severity::Error,
                "docker-render",
                path,
                e.to_string(),
            )];
        }
    };
    // Rendered entry k is the Docker file's entry kept[k].
    let kept: Vec<usize> = profile
        .syscalls
        .iter()
        .enumerate()
        .filter(|(_, e)| e.applies(opts))
        .map(|(i, _)| i)
        .collect();
    let mut out: Vec<Finding> = check_spec(&spec, budget, reading)
        .into_iter()
        .map(|mut f| {
            f.path = map_entry_indices(&f.path, &kept);
            f.message = map_entry_indices(&f.message, &kept);
            f
        })
        .collect();
    out.push(Finding::new(
        Severity::Note,
        "docker-rendered",
        "",
        format!(
            "a Docker (moby) profile, checked as rendered for architecture {}, kernel {} and \
             capabilities {} ({} of its {} entries apply); use --arch, --kernel and --cap for \
             another target",
            opts.arch.name,
            opts.kernel,
            if opts.capabilities.is_empty() {
                "none".to_string()
            } else {
                opts.capabilities.join(",")
            },
            kept.len(),
            profile.syscalls.len()
        ),
    ));
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Rewrites every `syscalls[k]` in `text` to `syscalls[kept[k]]`.
pub(super) fn map_entry_indices(text: &str, kept: &[usize]) -> String {
    const KEY: &str = "syscalls[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        out.push_str(head);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<usize>().ok().and_then(|k| kept.get(k)) {
            Some(i) if tail[digits.len()..].starts_with(']') => out.push_str(&i.to_string()),
            _ => out.push_str(&digits),
        }
        rest = &tail[digits.len()..];
    }
    out.push_str(rest);
    out
}
