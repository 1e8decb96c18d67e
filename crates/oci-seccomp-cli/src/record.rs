//! `oci-seccomp record`: learn the profile a workload needs, from a real run, without root.
//!
//! The recording filter is a profile's own program with its denials routed to an agent in
//! this process ([`oci_seccomp::trace`]): with no `--base`, a profile that denies every
//! syscall on the native ABI family, so every call is seen; with `--base`, only what the
//! base does not allow. It is installed where the real filter would be (the last step
//! before `execve`), so the launcher's own set-up is never recorded and the workload's
//! first call is. Every routed call runs (CONTINUE): the workload is not confined while
//! it is recorded. [`oci_seccomp::learn::Learner`] writes the profile.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use oci_seccomp::learn::{ArgSelection, LearnOptions, Learner};
use oci_seccomp::prove::Cause;
use oci_seccomp::LinuxSeccomp;
use oci_seccomp_load::trace::Mode;
use oci_seccomp_runtime::{
    compile, CachePolicy, Exit, LaunchOptions, LaunchPlan, Launcher, PlanError,
};
use serde_json::{json, Value};

use crate::agent::Agent;
use crate::run::{launch_error, plan_error};
use crate::util::{self, shown};
use crate::{CliError, CliResult};

/// Entries of the base that denied recorded calls, with the syscalls they denied.
type NotLearned = std::collections::BTreeMap<usize, std::collections::BTreeSet<String>>;

/// Output format of `record`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The OCI `linux.seccomp` object.
    Oci,
    /// Docker's (moby's) profile format: the same, with a `comment` on each entry.
    Docker,
}

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Where to write the learned profile.
    #[arg(short = 'o', long = "output", value_name = "PROFILE")]
    pub output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "oci")]
    pub format: Format,
    /// Start from this profile (OCI or Docker): only what it does not allow is recorded,
    /// and the output is this profile plus the learned entries. With --bundle and no
    /// --base, the bundle's own linux.seccomp is the base.
    #[arg(long, value_name = "PROFILE")]
    pub base: Option<String>,
    /// Arguments learned as conditions, NAME:INDEX[,INDEX...] (repeatable; replaces the
    /// default set: socket:0,1,2 clone:0 personality:0 prctl:0 ioctl:1 fcntl:1
    /// setsockopt:1,2 socketcall:0 ipc:0). `--args none`: no conditions.
    #[arg(long = "args", value_name = "NAME:I,J")]
    pub args: Vec<String>,
    /// Most distinct combinations of the selected arguments kept as conditions per syscall;
    /// past it the syscall is allowed without conditions, and the summary and the
    /// profile's `$comment` say so. Failed calls count: the recorder never sees results.
    #[arg(long = "max-combinations", value_name = "N", default_value_t = oci_seccomp::learn::MAX_COMBINATIONS as u64,
          value_parser = clap::value_parser!(u64).range(1..=oci_seccomp::learn::MAX_COMBINATIONS_LIMIT as u64))]
    pub max_combinations: u64,
    /// Run an OCI bundle instead of a plain command.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Set no-new-privileges in the child (needed without root).
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Container id (default: oci-seccomp-PID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The command and its arguments (with --bundle: replaces process.args).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The profile whose denials are recorded when there is no base: deny everything on the
/// native family.
fn deny_all() -> CliResult<LinuxSeccomp> {
    let v = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EPERM,
        "architectures": oci_seccomp::arch::native_family()
            .iter()
            .map(|a| a.name)
            .collect::<Vec<_>>(),
    });
    serde_json::from_value(v).map_err(|e| CliError::problem(e.to_string()))
}

/// `text`, cut to at most `max` bytes (on a character boundary) with a note of what was cut:
/// a workload's command line must not make the profile larger than a profile may be.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} more bytes)", &text[..end], text.len() - end)
}

/// `uname -r` and the machine.
fn kernel() -> String {
    match nix::sys::utsname::uname() {
        Ok(u) => format!(
            "Linux {} ({})",
            u.release().to_string_lossy(),
            u.machine().to_string_lossy()
        ),
        Err(_) => "Linux".into(),
    }
}

/// Runs `record`.
pub fn run(args: RecordArgs) -> CliResult<u8> {
    let selection = match args.args.as_slice() {
        [] => ArgSelection::default(),
        [one] if one == "none" => ArgSelection::none(),
        items => ArgSelection::parse(items.iter().map(String::as_str))
            .map_err(|e| CliError::usage(format!("--args {e}")))?,
    };
    let mut opts = LaunchOptions::command(args.command.clone());
    opts.no_new_privs = args.no_new_privs;
    opts.id = args.id.clone();
    let (plan, bundle_base) = match &args.bundle {
        Some(b) => {
            let plan = LaunchPlan::from_bundle(b, &opts).map_err(plan_error)?;
            let base = plan.seccomp().cloned();
            (plan, base)
        }
        None => {
            if args.command.is_empty() {
                return Err(plan_error(PlanError::NoCommand));
            }
            opts.no_seccomp = true;
            (
                LaunchPlan::from_command(None, &opts).map_err(plan_error)?,
                None,
            )
        }
    };
    let base: Option<LinuxSeccomp> = match &args.base {
        Some(p) => Some(util::load_any(p)?),
        None => bundle_base,
    };
    if base
        .as_ref()
        .is_some_and(oci_seccomp_load::listener::has_notify_rule)
    {
        return Err(CliError::problem(
            "cannot record on this base: it has SCMP_ACT_NOTIFY rules for its own agent, and \
             record mode needs the notify fd for itself",
        ));
    }
    // Opened before the run: a path that cannot be written fails before anything runs.
    // Not truncated yet: a run that fails leaves an existing profile as it was.
    // A file created here is removed again if the recording fails (the guard's drop):
    // a failed `record` leaves nothing where nothing was.
    let (mut output, created) = util::open_output_created(&args.output, 0o644)
        .map_err(|e| CliError::problem(format!("{}: cannot write: {e}", args.output.display())))?;
    let recording = match &base {
        Some(b) => b.clone(),
        None => deny_all()?,
    };
    let name = args
        .base
        .as_deref()
        .map_or("the base profile", shown)
        .to_string();
    let original =
        compile(&recording, &CachePolicy::Off).map_err(|e| util::compile_error(&name, &e))?;

    let learner = Arc::new(Mutex::new(
        Learner::new(selection).with_max_combinations(args.max_combinations as usize),
    ));
    let not_learned: Arc<Mutex<NotLearned>> = Arc::default();
    let (l, skipped) = (Arc::clone(&learner), Arc::clone(&not_learned));
    let has_base = base.is_some();
    let agent = Agent::start(&recording, original, Mode::Record, move |e| {
        // An entry of the base denies this call on purpose: appending an ALLOW for it
        // would contradict the base. Report it instead.
        if let (true, Cause::Entry(i)) = (has_base, &e.decided_by) {
            if let Ok(mut s) = skipped.lock() {
                s.entry(*i)
                    .or_default()
                    .insert(e.syscall().unwrap_or_else(|| format!("#{}", e.nr)));
            }
            return;
        }
        if let Ok(mut l) = l.lock() {
            l.observe(e.arch, e.nr, e.args);
        }
    })?;
    let arg0 = plan.arg0();
    let command = if args.command.is_empty() {
        arg0.clone()
    } else {
        args.command.join(" ")
    };
    let exit = Launcher::new(plan, Some(agent.routed().clone()), None)
        .map_err(plan_error)?
        .with_notify_handler(agent.handler())
        .run()
        .map_err(launch_error)?;
    agent.finish();

    let learner = learner
        .lock()
        .map_err(|_| CliError::problem("recorder poisoned"))?;
    let seen: Vec<&str> = learner.architectures().collect();
    let provenance = vec![
        format!("Recorded by oci-seccomp {}", env!("CARGO_PKG_VERSION")),
        format!("kernel: {}", kernel()),
        format!(
            "date: {}",
            oci_seccomp_load::trace::rfc3339(std::time::SystemTime::now())
        ),
        format!("command: {}", bounded(&command, 4096)),
        format!("architectures seen: {}", seen.join(" ")),
        match &args.base {
            Some(b) => format!("base: {}", shown(b)),
            None if has_base => "base: the bundle's linux.seccomp".into(),
            None => "default: SCMP_ACT_ERRNO (EPERM); oci-seccomp answers syscalls newer than \
                     any named here with ENOSYS"
                .into(),
        },
    ];
    let base_json: Option<Value> = match &base {
        Some(b) => Some(serde_json::to_value(b).map_err(|e| CliError::problem(e.to_string()))?),
        None => None,
    };
    let notes = learner.notes(base_json.as_ref());
    let profile = learner.profile(&LearnOptions {
        provenance,
        base: base_json,
        docker: args.format == Format::Docker,
    });
    let mut text =
        serde_json::to_string_pretty(&profile).map_err(|e| CliError::problem(e.to_string()))?;
    text.push('\n');
    {
        use std::io::Write;
        output
            .metadata()
            .and_then(|m| {
                if m.is_file() {
                    output.set_len(0)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| output.write_all(text.as_bytes()))
            .map_err(|e| {
                CliError::problem(format!("{}: cannot write: {e}", args.output.display()))
            })?;
    }
    if let Some(c) = created {
        c.keep();
    }

    let syscalls = profile["syscalls"].as_array().map_or(0, Vec::len);
    eprintln!(
        "oci-seccomp: recorded {} call{} on {}; wrote {} ({} entr{})",
        learner.total(),
        if learner.total() == 1 { "" } else { "s" },
        if seen.is_empty() {
            "no ABI".to_string()
        } else {
            seen.join(", ")
        },
        args.output.display(),
        syscalls,
        if syscalls == 1 { "y" } else { "ies" }
    );
    for note in notes {
        eprintln!("oci-seccomp: warning: {note}");
    }
    for (abi, numbers) in learner.unnamed() {
        eprintln!(
            "oci-seccomp: warning: {abi}: syscall numbers without a name, not in the profile: {numbers:?}"
        );
    }
    if let Ok(s) = not_learned.lock() {
        for (i, names) in s.iter() {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            eprintln!(
                "oci-seccomp: warning: syscalls[{i}] of the base denies {}: not learned (edit the base to allow it)",
                names.join(", ")
            );
        }
    }
    if let Exit::Signaled(sig) = exit {
        eprintln!(
            "oci-seccomp: {arg0}: killed by {}",
            util::signal_name(sig as i32)
        );
    }
    Ok(exit.code())
}
