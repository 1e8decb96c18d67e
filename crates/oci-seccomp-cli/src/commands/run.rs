//! `oci-seccomp run`: the arguments of the command mapped onto `oci_seccomp_runtime`.
//!
//! The launcher itself (the validated plan, the child's steps, the notify-fd handoff, the
//! signal forwarding and exit status) is the `oci-seccomp-runtime` crate; see its docs and
//! docs/security.md ("Launcher").

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use oci_seccomp::Program;
use oci_seccomp_load::trace::{Agent, Mode, Report, ReportLimits};
use oci_seccomp_load::AllowedPeers;
use oci_seccomp_runtime::{
    compile_cached, connect_for_plan, CachePolicy, Exit, LaunchOptions, LaunchPlan, Launcher,
    PlanError,
};

use crate::launch::{agent_error, launch_error, plan_error};
use crate::profiles::shown;
use crate::{launch, profiles};
use crate::{CliError, CliResult};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Profile (OCI, or Docker which is rendered for this host). Default: the embedded
    /// default profile rendered for this host with Docker's default capabilities.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bundle", "no_seccomp"])]
    pub profile: Option<String>,
    /// Run an OCI bundle: DIR/config.json (process, root, mounts, namespaces, linux.seccomp).
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Set no-new-privileges in the child (also set by process.noNewPrivileges).
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Seccomp agent socket (absolute path or @abstract); overrides listenerPath.
    #[arg(long, value_name = "PATH")]
    pub listener: Option<String>,
    /// Also trust a seccomp agent whose socket belongs to this uid (repeatable). By default
    /// the notify fd is sent only to a listener owned by root or by our own uid; another
    /// owner (who may have bound the name first) fails the start before anything is sent.
    #[arg(long = "listener-uid", value_name = "UID")]
    pub listener_uid: Vec<u32>,
    /// Metadata sent to the agent; overrides listenerMetadata.
    #[arg(long = "listener-metadata", value_name = "TEXT")]
    pub listener_metadata: Option<String>,
    /// Install no seccomp filter at all.
    #[arg(long = "no-seccomp")]
    pub no_seccomp: bool,
    /// Compile the profile without the on-disk cache.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Cache directory (default: $XDG_CACHE_HOME/oci-seccomp, /var/cache/oci-seccomp for
    /// root, else ~/.cache/oci-seccomp).
    #[arg(long = "cache-dir", value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Container id sent to the agent (default: oci-seccomp-PID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Enforce the profile and report every call it does not allow, with the entry that
    /// decided (denials go to an agent in this process; allowed calls never leave the
    /// kernel). TRAP stays in the kernel; KILL kills the process (SIGKILL).
    #[arg(long, conflicts_with_all = ["complain", "no_seccomp", "listener"])]
    pub trace: bool,
    /// Report like --trace, but let every call run: the workload is NOT confined by the
    /// profile in this mode (as with a SCMP_ACT_LOG default).
    #[arg(long, conflicts_with_all = ["no_seccomp", "listener"])]
    pub complain: bool,
    /// With --trace or --complain: write the JSON lines to FILE (created 0600, truncated;
    /// a symlink is refused) instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// With --trace or --complain: the most bytes the JSON lines may take (default 16 MiB,
    /// from 4096 to 1 GiB). Identical calls after the first 8 are counted in "repeated" lines
    /// instead of a line each (a line's "repeated" is the total of such calls so far, the
    /// first 8 included; the last one is the count); past the limit a "truncated" line ends the report, and the
    /// summary still counts every call.
    #[arg(
        long = "report-max-bytes",
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(4096..=1 << 30)
    )]
    pub report_max_bytes: Option<u64>,
    /// The command and its arguments (with --bundle: replaces process.args).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs `run`: the arguments become a [`LaunchPlan`], the rest is the runtime crate's.
pub fn run(args: RunArgs) -> CliResult<u8> {
    let (plan, name) = plan(&args)?;
    if (args.trace || args.complain)
        && plan
            .seccomp()
            .is_some_and(oci_seccomp_load::agent_client::has_notify_rule)
    {
        return Err(CliError::problem(
            "cannot trace this profile: it has SCMP_ACT_NOTIFY rules for its own agent, and \
             trace and complain mode need the notify fd for themselves",
        )
        .hint("remove the NOTIFY rules to trace the rest, or log in the agent"));
    }
    let allowed = AllowedPeers::with_extra(args.listener_uid.iter().copied());
    let listener = connect_for_plan(&plan, &allowed).map_err(launch_error)?;
    let cache = match (&args.cache_dir, args.no_cache) {
        (_, true) => CachePolicy::Off,
        (Some(d), false) => CachePolicy::Dir(d.clone()),
        (None, false) => CachePolicy::Default,
    };
    let program = plan
        .seccomp()
        .map(|s| compile_cached(s, &cache))
        .transpose()
        .map_err(|e| profiles::compile_error(&name, &e))?;
    let arg0 = plan.arg0();
    let mode = trace_mode(&args)?;
    let (exit, traced) = match (mode, program) {
        (Some(mode), Some(original)) => {
            let limits = ReportLimits::default().with_max_bytes(
                args.report_max_bytes
                    .unwrap_or(oci_seccomp_load::trace::DEFAULT_REPORT_MAX_BYTES),
            );
            let (exit, text) = run_traced(
                plan,
                original,
                listener,
                mode,
                args.report.as_deref(),
                limits,
            )?;
            (exit, Some(text))
        }
        (Some(_), None) => return Err(nothing_to_trace(args.bundle.is_some())),
        (None, program) => (
            Launcher::new(plan, program, listener)
                .map_err(plan_error)?
                .run()
                .map_err(launch_error)?,
            None,
        ),
    };
    if let Some(text) = traced {
        eprint!("{text}");
    }
    if let Exit::Signaled(sig) = exit {
        say_killed(&arg0, sig as i32, sig.as_str(), mode.is_some());
    }
    Ok(exit.code())
}

/// The launch plan (of the bundle, or of the command under the profile) and the name its
/// profile's errors are given.
fn plan(args: &RunArgs) -> CliResult<(LaunchPlan, String)> {
    let mut opts = LaunchOptions::command(args.command.clone());
    opts.no_new_privs = args.no_new_privs;
    opts.no_seccomp = args.no_seccomp;
    opts.listener_path = args.listener.clone();
    opts.listener_metadata = args.listener_metadata.clone();
    opts.id = args.id.clone();
    if let Some(b) = &args.bundle {
        let plan = launch::plan_with_no_new_privs_if_needed(&mut opts, false, |o| {
            LaunchPlan::from_bundle(b, o)
        })
        .map_err(plan_error)?
        .0;
        return Ok((plan, "config.json".to_string()));
    }
    if args.command.is_empty() {
        return Err(plan_error(PlanError::NoCommand));
    }
    let (seccomp, name) = if args.no_seccomp {
        (None, String::new())
    } else if let Some(p) = &args.profile {
        (Some(profiles::load_any(p)?), shown(p).to_string())
    } else {
        (
            Some(profiles::default_for_host()?),
            "<embedded default>".to_string(),
        )
    };
    let plan = launch::plan_with_no_new_privs_if_needed(&mut opts, false, |o| {
        LaunchPlan::from_command(seccomp.clone(), o)
    })
    .map_err(plan_error)?
    .0;
    Ok((plan, name))
}

/// `--trace` or `--complain`, if either; the report options need one of them.
fn trace_mode(args: &RunArgs) -> CliResult<Option<Mode>> {
    let mode = match (args.trace, args.complain) {
        (true, _) => Some(Mode::Trace),
        (false, true) => Some(Mode::Complain),
        (false, false) => None,
    };
    if args.report.is_some() && mode.is_none() {
        return Err(CliError::usage("--report needs --trace or --complain"));
    }
    if args.report_max_bytes.is_some() && mode.is_none() {
        return Err(CliError::usage(
            "--report-max-bytes needs --trace or --complain",
        ));
    }
    Ok(mode)
}

/// The usage error of `--trace` or `--complain` without a profile.
fn nothing_to_trace(bundle: bool) -> CliError {
    let err = CliError::usage("--trace and --complain need a seccomp profile");
    if bundle {
        err.hint(
            "the bundle's config.json has no linux.seccomp: add one (for example \
             `oci-seccomp render --default`, or a profile from `oci-seccomp record \
             --bundle DIR -o PROFILE`), or trace the embedded default without \
             --bundle: oci-seccomp run --trace -- CMD",
        )
    } else {
        err.hint("drop --no-seccomp, or give --profile FILE (default: the embedded profile)")
    }
}

/// Says on stderr that the workload was killed by signal `sig` (named `name`), and why
/// when the filter did it.
fn say_killed(arg0: &str, sig: i32, name: &str, traced: bool) {
    let why = if sig == libc::SIGSYS {
        if traced {
            " (the seccomp filter's TRAP action)"
        } else {
            " (the seccomp filter's KILL or TRAP action; run again with --trace to see \
             which call and which rule)"
        }
    } else {
        ""
    };
    eprintln!("oci-seccomp: {arg0}: killed by {name}{why}");
}

/// `run --trace` / `--complain`: launches `plan` under the routed form of `original`,
/// writes each event as a JSON line (to `report`, else stderr) within `limits` (identical
/// events counted after the first few, the size capped), and returns the exit and the
/// summary, which counts every call.
fn run_traced(
    plan: oci_seccomp_runtime::LaunchPlan,
    original: Program,
    listener: Option<std::os::unix::net::UnixStream>,
    mode: Mode,
    report: Option<&std::path::Path>,
    limits: ReportLimits,
) -> CliResult<(oci_seccomp_runtime::Exit, String)> {
    let spec = plan
        .seccomp()
        .cloned()
        .ok_or_else(|| CliError::usage("--trace and --complain need a seccomp profile"))?;
    let shown = || report.map(|p| p.display().to_string()).unwrap_or_default();
    let sink = crate::report::Sink::open(report)
        .map_err(|e| CliError::problem(format!("--report {}: {e}", shown())))?;
    let summary = Arc::new(Mutex::new(crate::report::Summary::default()));
    let lines = Arc::new(Mutex::new(Some(Report::new(sink, plan.id(), limits))));
    let (seen, written) = (Arc::clone(&summary), Arc::clone(&lines));
    let agent = Agent::start(&spec, original, mode, move |e| {
        if let Ok(mut r) = written.lock() {
            if let Some(r) = r.as_mut() {
                // A failed write (a full disk) loses lines, never the summary's counts.
                let _ = r.record(e);
            }
        }
        if let Ok(mut s) = seen.lock() {
            s.add(e);
        }
    })
    .map_err(agent_error)?;
    let launcher = oci_seccomp_runtime::Launcher::new(plan, Some(agent.routed().clone()), listener)
        .map_err(plan_error)?
        .with_notify_handler(agent.fd_handler());
    let exit = launcher.run().map_err(launch_error)?;
    if !agent.finish(Agent::FINISH_TIMEOUT) {
        let what = match mode {
            Mode::Complain => "fail with ENOSYS instead of running",
            _ => "fail with ENOSYS and are not reported",
        };
        tracing::warn!(
            "the command left processes that still use the filter; the agent stopped {} s \
             after the command ended, so their later routed calls {what}",
            Agent::FINISH_TIMEOUT.as_secs()
        );
    }
    let stats = lines
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .map(|r| r.finish())
        .transpose()
        .map_err(|e| CliError::problem(format!("--report {}: {e}", shown())))?
        .unwrap_or_default();
    let mut text = summary.lock().map(|s| s.render(mode)).unwrap_or_default();
    text.push_str(&crate::report::left_out(&stats, limits.max_bytes));
    Ok((exit, text))
}
