//! `oci-seccomp record`: learn the profile a workload needs, from a real run, without root.
//!
//! The recording filter is a profile's own program with its denials routed to an agent in
//! this process ([`oci_seccomp::trace`]): with no `--base`, a profile that denies every
//! syscall on the native ABI family, so every call is seen; with `--base`, only what the
//! base does not allow. It is installed where the real filter would be: the last step
//! before `execve` with no-new-privileges; without it (a bundle's
//! `process.noNewPrivileges: false`) before the launcher sets the identity, whose calls
//! are then not learned (everything before the workload's `execve` is the launcher's).
//! Every routed call runs (CONTINUE), except those the profile answers with ENOSYS
//! (`clone3` with no base): they get ENOSYS, so the workload's fallback is what is
//! recorded. The workload is not confined while it is recorded.
//! [`oci_seccomp::learn::Learner`] writes the profile; the calls the chosen runtimes make
//! after their own install point ([`oci_seccomp::runtimes`]) are added where the learned
//! profile does not already allow them, and listed in its `$comment`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use oci_seccomp::learn::{ArgSelection, LearnOptions, Learner};
use oci_seccomp::runtimes::{self, Runtime};
use oci_seccomp::Cause;
use oci_seccomp::LinuxSeccomp;
use oci_seccomp_load::trace::{Agent, Event, Mode};
use oci_seccomp_runtime::{
    compile_cached, CachePolicy, Exit, LaunchOptions, LaunchPlan, Launcher, PlanError,
};
use serde_json::{json, Value};

use crate::args::RuntimeName;
use crate::launch::{agent_error, launch_error, plan_error};
use crate::profiles::shown;
use crate::{launch, logging, output, profiles};
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
    /// A Security Profiles Operator `SeccompProfile` (YAML; --name, --namespace), the
    /// provenance as annotations, proven to read back as the OCI profile.
    Spo,
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
    /// With --format spo: the resource's name and namespace.
    #[command(flatten)]
    pub spo: crate::args::SpoNameArgs,
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
    /// Set no-new-privileges in the child. Without CAP_SYS_ADMIN it is set anyway (the
    /// only way to install a filter), with a one-line notice.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Container id (default: oci-seccomp-PID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The runtimes the profile must start the workload under (repeatable; default all
    /// three): the calls each makes after installing the filter are added, for the
    /// bundle's process.noNewPrivileges (without --bundle: for either setting).
    #[arg(long = "runtime", value_enum, value_name = "RUNTIME")]
    pub runtime: Vec<RuntimeName>,
    /// The command and its arguments (with --bundle: replaces process.args).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The profile whose denials are recorded when there is no base: deny everything on the
/// native family.
fn deny_all() -> CliResult<LinuxSeccomp> {
    // clone3 gets ENOSYS, as in the learned profile: glibc then uses clone, whose flags
    // are learned.
    let v = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EPERM,
        "architectures": oci_seccomp::arch::native_family()
            .iter()
            .map(|a| a.name)
            .collect::<Vec<_>>(),
        "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": libc::ENOSYS}],
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
    let u = rustix::system::uname();
    format!(
        "Linux {} ({})",
        u.release().to_string_lossy(),
        u.machine().to_string_lossy()
    )
}

/// Runs `record`.
pub fn run(args: RecordArgs) -> CliResult<u8> {
    let selection = match args.args.as_slice() {
        [] => ArgSelection::default(),
        [one] if one == "none" => ArgSelection::none(),
        items => ArgSelection::parse(items.iter().map(String::as_str))
            .map_err(|e| CliError::usage(format!("--args {e}")))?,
    };
    let RecordTarget {
        plan,
        bundle_base,
        future_nnp,
    } = plan(&args)?;
    let runtimes: Vec<Runtime> = if args.runtime.is_empty() {
        Runtime::ALL.to_vec()
    } else {
        let mut r: Vec<Runtime> = args.runtime.iter().map(|&r| r.into()).collect();
        r.sort();
        r.dedup();
        r
    };
    let base: Option<LinuxSeccomp> = match &args.base {
        Some(p) => Some(profiles::load_any(p)?),
        None => bundle_base,
    };
    if base
        .as_ref()
        .is_some_and(oci_seccomp_load::agent_client::has_notify_rule)
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
    // `-o -`: the profile goes to standard output once the run is over.
    let opened = if output::is_stdout(&args.output) {
        None
    } else {
        Some(
            output::open_output_created(&args.output, 0o644).map_err(|e| {
                CliError::problem(format!("{}: cannot write: {e}", args.output.display()))
            })?,
        )
    };
    let recording = match &base {
        Some(b) => b.clone(),
        None => deny_all()?,
    };
    let name = args
        .base
        .as_deref()
        .map_or("the base profile", shown)
        .to_string();
    let original = compile_cached(&recording, &CachePolicy::Off)
        .map_err(|e| profiles::compile_error(&name, &e))?;
    let recorder = Recorder::new(
        Learner::new(selection).with_max_combinations(args.max_combinations as usize),
        base.is_some(),
        routes_execve(&original),
    );
    let agent = Agent::start(&recording, original, Mode::Record, recorder.on_event())
        .map_err(agent_error)?;
    let arg0 = plan.arg0();
    let command = if args.command.is_empty() {
        arg0.clone()
    } else {
        args.command.join(" ")
    };
    let exit = Launcher::new_recording(plan, Some(agent.routed().clone()), None)
        .with_notify_handler(agent.fd_handler())
        .run()
        .map_err(launch_error)?;
    if !agent.finish(Agent::FINISH_TIMEOUT) {
        tracing::warn!(
            "the command left processes that still use the filter; the agent stopped {} s \
             after the command ended, so their later calls are not recorded and fail with \
             ENOSYS",
            Agent::FINISH_TIMEOUT.as_secs()
        );
    }

    let learner = recorder
        .learner
        .lock()
        .map_err(|_| CliError::problem("recorder poisoned"))?;
    let learned = learned_profile(
        &args,
        &learner,
        base.as_ref(),
        &command,
        &runtimes,
        future_nnp,
    )?;
    let text = match args.format {
        Format::Spo => spo_text(&learned.profile, &args.spo)?,
        _ => {
            let mut text = serde_json::to_string_pretty(&learned.profile)
                .map_err(|e| CliError::problem(e.to_string()))?;
            text.push('\n');
            text
        }
    };
    write_profile(opened, &args.output, &text)?;
    learned.report(&args.output, &learner, &recorder);
    if let Exit::Signaled(sig) = exit {
        eprintln!("oci-seccomp: {arg0}: killed by {}", sig.as_str());
    }
    Ok(exit.code())
}

/// The recording's launch plan, with what it tells of the profile's future use.
struct RecordTarget {
    plan: LaunchPlan,
    /// The bundle's linux.seccomp: the base when `--base` does not give one.
    bundle_base: Option<LinuxSeccomp>,
    /// The no-new-privileges setting the profile will be used with: the bundle's, or not
    /// known for a plain command.
    future_nnp: Option<bool>,
}

/// The plan of the bundle or of the command, with no-new-privileges where it is the only
/// way to install the recording filter.
fn plan(args: &RecordArgs) -> CliResult<RecordTarget> {
    let mut opts = LaunchOptions::command(args.command.clone());
    opts.no_new_privs = args.no_new_privs;
    opts.id = args.id.clone();
    if let Some(b) = &args.bundle {
        let (plan, forced) = launch::plan_with_no_new_privs_if_needed(&mut opts, true, |o| {
            LaunchPlan::from_bundle(b, o)
        })
        .map_err(plan_error)?;
        let bundle_base = plan.seccomp().cloned();
        let nnp = plan.no_new_privileges() && !forced;
        return Ok(RecordTarget {
            plan,
            bundle_base,
            future_nnp: Some(nnp),
        });
    }
    if args.command.is_empty() {
        return Err(plan_error(PlanError::NoCommand));
    }
    opts.no_seccomp = true;
    let (plan, _) = launch::plan_with_no_new_privs_if_needed(&mut opts, true, |o| {
        LaunchPlan::from_command(None, o)
    })
    .map_err(plan_error)?;
    Ok(RecordTarget {
        plan,
        bundle_base: None,
        future_nnp: None,
    })
}

/// Whether the recording filter routes execve. Then every call before the first execve is
/// the launcher's (it sets the identity after the install without no-new-privileges):
/// not the workload's, not learned. The runtimes' own calls are added instead.
fn routes_execve(original: &oci_seccomp::Program) -> bool {
    let native = oci_seccomp::arch::native();
    oci_seccomp::arch::resolve("execve", native).is_some_and(|nr| {
        !oci_seccomp::bpf::is_constant_allow(original.instructions(), native.audit_arch, nr as u32)
    })
}

/// What the agent's events are sorted into while the workload runs.
struct Recorder {
    /// The calls learned.
    learner: Arc<Mutex<Learner>>,
    /// Calls an entry of the base denies on purpose, per entry.
    not_learned: Arc<Mutex<NotLearned>>,
    /// Whether the workload's first execve is still to come.
    before_exec: Arc<AtomicBool>,
    /// The launcher's calls before that execve.
    launcher_calls: Arc<Mutex<BTreeSet<String>>>,
    /// Calls answered ENOSYS, as the profile will.
    enosys: Arc<Mutex<BTreeSet<String>>>,
    has_base: bool,
}

impl Recorder {
    fn new(learner: Learner, has_base: bool, routes_execve: bool) -> Self {
        Self {
            learner: Arc::new(Mutex::new(learner)),
            not_learned: Arc::default(),
            before_exec: Arc::new(AtomicBool::new(routes_execve)),
            launcher_calls: Arc::default(),
            enosys: Arc::default(),
            has_base,
        }
    }

    /// The agent's event handler: each call learned, or set aside with the reason.
    fn on_event(&self) -> impl FnMut(&Event) + Send + 'static {
        let (l, skipped, pre, own, nosys) = (
            Arc::clone(&self.learner),
            Arc::clone(&self.not_learned),
            Arc::clone(&self.before_exec),
            Arc::clone(&self.launcher_calls),
            Arc::clone(&self.enosys),
        );
        let has_base = self.has_base;
        move |e| {
            let name = e.syscall().unwrap_or_else(|| format!("#{}", e.nr));
            if pre.load(AtomicOrdering::Relaxed) {
                if name == "execve" || name == "execveat" {
                    pre.store(false, AtomicOrdering::Relaxed);
                } else {
                    if let Ok(mut s) = own.lock() {
                        s.insert(name);
                    }
                    return;
                }
            }
            // Answered ENOSYS as the profile says: the workload fell back, nothing to learn.
            if e.taken == oci_seccomp_load::trace::Taken::Errno(libc::ENOSYS) {
                if let Ok(mut s) = nosys.lock() {
                    s.insert(name);
                }
                return;
            }
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
        }
    }
}

/// The learned profile, and what the summary says of it.
struct Learned {
    profile: Value,
    /// The learner's notes (warnings).
    notes: Vec<oci_seccomp::learn::LearnNote>,
    /// The runtimes' calls added to the profile.
    added: Vec<runtimes::RuntimeCall>,
    /// The runtimes' calls the base still denies.
    still: Vec<runtimes::RuntimeCall>,
    /// The runtimes' names.
    names: Vec<&'static str>,
    /// The no-new-privileges setting the runtimes' calls are for, in words.
    mode: &'static str,
}

/// The profile learned (on `base`, when given), with the calls `runtimes` make after
/// their install point added and the provenance in its `$comment`.
fn learned_profile(
    args: &RecordArgs,
    learner: &Learner,
    base: Option<&LinuxSeccomp>,
    command: &str,
    runtimes: &[Runtime],
    future_nnp: Option<bool>,
) -> CliResult<Learned> {
    let seen: Vec<&str> = learner.architectures().collect();
    let provenance = vec![
        format!("Recorded by oci-seccomp {}", env!("CARGO_PKG_VERSION")),
        format!("kernel: {}", kernel()),
        format!(
            "date: {}",
            oci_seccomp_load::trace::rfc3339(std::time::SystemTime::now())
        ),
        format!("command: {}", bounded(command, 4096)),
        format!("architectures seen: {}", seen.join(" ")),
        match &args.base {
            Some(b) => format!("base: {}", shown(b)),
            None if base.is_some() => "base: the bundle's linux.seccomp".into(),
            None => "default: SCMP_ACT_ERRNO (EPERM); oci-seccomp answers syscalls newer than \
                     any named here with ENOSYS"
                .into(),
        },
    ];
    let base_json: Option<Value> = match base {
        Some(b) => Some(serde_json::to_value(b).map_err(|e| CliError::problem(e.to_string()))?),
        None => None,
    };
    let notes = learner.notes(base_json.as_ref());
    let mut options = LearnOptions {
        provenance,
        base: base_json,
        docker: false,
    };
    let added = runtime_calls_missing(&learner.profile(&options), runtimes, future_nnp)?;
    let mode = match future_nnp {
        Some(true) => "with no-new-privileges",
        Some(false) => "without no-new-privileges",
        None => "with or without no-new-privileges",
    };
    let names: Vec<&'static str> = runtimes.iter().map(|r| r.name()).collect();
    options.provenance.push(format!(
        "runtimes: allowed for {} to start the workload {mode} (their own calls after the \
         install): {}",
        names.join(", "),
        if added.is_empty() {
            "nothing the workload did not already need".to_string()
        } else {
            joined(&added)
        }
    ));
    options.docker = args.format == Format::Docker;
    let mut profile = learner.profile(&options);
    if let Some(list) = profile["syscalls"].as_array_mut() {
        for mut entry in runtimes::allow_entries(&added) {
            if options.docker {
                entry["comment"] = json!(format!(
                    "not recorded: what {} {} after installing the filter",
                    names.join(", "),
                    if names.len() == 1 { "calls" } else { "call" }
                ));
            }
            list.push(entry);
        }
    }
    // What the runtimes still lack: an entry of the base that denies one of their calls
    // wins over the allow added for it (the strictest matching entry decides).
    let mut final_oci = profile.clone();
    if let Some(list) = final_oci["syscalls"].as_array_mut() {
        for e in list.iter_mut() {
            if let Some(o) = e.as_object_mut() {
                o.remove("comment");
            }
        }
    }
    let still = runtime_calls_missing(&final_oci, runtimes, future_nnp)?;
    Ok(Learned {
        profile,
        notes,
        added,
        still,
        names,
        mode,
    })
}

/// The learned profile as a `SeccompProfile`: its `$comment` (the provenance) becomes the
/// annotation `oci-seccomp.io/provenance`, one line per fact.
fn spo_text(profile: &Value, names: &crate::args::SpoNameArgs) -> CliResult<String> {
    let name = names
        .name
        .as_deref()
        .ok_or_else(|| CliError::usage("--format spo needs --name NAME (metadata.name)"))?;
    let mut oci = profile.clone();
    let provenance = oci
        .as_object_mut()
        .and_then(|o| o.remove("$comment"))
        .map(|c| match c {
            Value::Array(lines) => lines
                .iter()
                .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("\n"),
            other => other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string),
        });
    let spec = oci_seccomp::parse_profile(&oci.to_string())
        .map_err(|e| CliError::problem(format!("the learned profile: {e}")))?;
    let mut annotations = std::collections::BTreeMap::new();
    if let Some(p) = provenance {
        annotations.insert("oci-seccomp.io/provenance".to_string(), p);
    }
    oci_seccomp::spo::to_spo(
        &spec,
        name,
        names.namespace.as_deref(),
        &annotations,
        oci_seccomp::arch::native(),
    )
    .map_err(|e| CliError::problem(format!("--format spo: {e}")))
}

/// The runtime calls, comma-separated.
fn joined(calls: &[runtimes::RuntimeCall]) -> String {
    calls
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the profile's `text` to the output opened before the run (replacing what it
/// held, and keeping a file created for it), or to standard output.
fn write_profile(
    opened: Option<(std::fs::File, Option<output::CreatedOutput>)>,
    path: &Path,
    text: &str,
) -> CliResult<()> {
    let Some((mut file, created)) = opened else {
        return output::write_output(None, text.as_bytes());
    };
    use std::io::Write;
    file.metadata()
        .and_then(|m| if m.is_file() { file.set_len(0) } else { Ok(()) })
        .and_then(|()| file.write_all(text.as_bytes()))
        .map_err(|e| CliError::problem(format!("{}: cannot write: {e}", path.display())))?;
    if let Some(c) = created {
        c.keep();
    }
    Ok(())
}

impl Learned {
    /// The summary on stderr: what was recorded and written, and every call that was not
    /// learned, with why.
    fn report(&self, path: &Path, learner: &Learner, recorder: &Recorder) {
        let seen: Vec<&str> = learner.architectures().collect();
        let syscalls = self.profile["syscalls"].as_array().map_or(0, Vec::len);
        eprintln!(
            "oci-seccomp: recorded {} call{} on {}; wrote {} ({} entr{})",
            learner.total(),
            if learner.total() == 1 { "" } else { "s" },
            if seen.is_empty() {
                "no ABI".to_string()
            } else {
                seen.join(", ")
            },
            path.display(),
            syscalls,
            if syscalls == 1 { "y" } else { "ies" }
        );
        for note in &self.notes {
            eprintln!("oci-seccomp: warning: {note}");
        }
        recorder.report_set_aside();
        let names = self.names.join(", ");
        if !self.still.is_empty() {
            eprintln!(
                "oci-seccomp: warning: the base denies what {names} {} after installing the \
                 filter: {}; a runtime that makes such a call cannot start a workload under \
                 this profile until the base allows it (oci-seccomp check {} --runtime NAME \
                 says which)",
                if self.names.len() == 1 {
                    "calls"
                } else {
                    "call"
                },
                joined(&self.still),
                path.display()
            );
        }
        if !self.added.is_empty() {
            eprintln!(
                "oci-seccomp: added for {names} ({}): {}",
                self.mode,
                joined(&self.added)
            );
        }
        for (abi, numbers) in learner.unnamed() {
            eprintln!(
                "oci-seccomp: warning: {abi}: syscall numbers without a name, not in the profile: {numbers:?}"
            );
        }
        recorder.report_denied_by_base();
    }
}

impl Recorder {
    /// The launcher's calls and the calls answered ENOSYS: seen, not learned.
    fn report_set_aside(&self) {
        if let Ok(s) = self.launcher_calls.lock() {
            if !s.is_empty() {
                let v: Vec<&str> = s.iter().map(String::as_str).collect();
                eprintln!(
                    "oci-seccomp: not learned (the launcher's, before the workload's execve): {}",
                    v.join(", ")
                );
            }
        }
        if let Ok(s) = self.enosys.lock() {
            if !s.is_empty() {
                let v: Vec<&str> = s.iter().map(String::as_str).collect();
                eprintln!(
                    "oci-seccomp: answered ENOSYS as the profile will, and not learned: {} (the \
                     workload's fallback was recorded instead)",
                    v.join(", ")
                );
            }
        }
    }

    /// The calls entries of the base denied: not learned.
    fn report_denied_by_base(&self) {
        if let Ok(s) = self.not_learned.lock() {
            for (i, names) in s.iter() {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                eprintln!(
                    "oci-seccomp: warning: syscalls[{i}] of the base denies {}: not learned (edit the base to allow it)",
                    names.join(", ")
                );
            }
        }
    }
}

/// The calls `runtimes` make after their install point ([`runtimes::calls_of`]) that
/// `learned` (an OCI profile) does not already allow on the native architecture.
fn runtime_calls_missing(
    learned: &Value,
    runtimes: &[Runtime],
    nnp: Option<bool>,
) -> CliResult<Vec<runtimes::RuntimeCall>> {
    let spec: LinuxSeccomp = serde_json::from_value(learned.clone())
        .map_err(|e| CliError::problem(format!("the learned profile: {e}")))?;
    // Quietly: the base's warnings were logged when it was compiled for the recording.
    let program = logging::quietly(|| compile_cached(&spec, &CachePolicy::Off))
        .map_err(|e| profiles::compile_error("the learned profile", &e))?;
    let calls = runtimes::calls_of(runtimes, nnp);
    Ok(runtimes::missing(
        &program,
        oci_seccomp::arch::native(),
        &calls,
    ))
}
