//! `oci-seccomp inspect PID|--container ID`: the seccomp filters a running process really
//! has, what their stack decides, and whether that is the profile meant.

use std::path::PathBuf;
use std::process::Stdio;

use oci_seccomp::lift::{lift_until, Lifted};
use oci_seccomp::{Change, Decider, Instruction, Profile, Semantics, Stub};
use oci_seccomp_load::inspect::{inspect, InspectError, ProcessSeccomp};
use serde_json::{json, Value};

use crate::args::DockerRenderArgs;
use crate::commands::diff::{difference_json, difference_lines};
use crate::commands::lift::{lifted_json, reading_text, table};
use crate::profiles::{self, shown};
use crate::{output, CliError, CliResult};

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["pid", "container"])))]
pub struct InspectArgs {
    /// The process (the thread with this id is read).
    pub pid: Option<i32>,
    /// A container's id: its init process, found with the runtime's `state` command.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// The runtime that started the process: for --container, the one whose `state` is
    /// asked (default runc); for --against, whose reading of the profile is expected (runc:
    /// the ENOSYS stub, 64-bit comparisons; crun: no stub, 64-bit comparisons). With a PID
    /// and without it, --against accepts oci-seccomp's, runc's or crun's reading and says
    /// which.
    #[arg(long, value_enum)]
    pub runtime: Option<Runtime>,
    /// The runtime's state directory, when it was started with --root.
    #[arg(long, value_name = "DIR")]
    pub runtime_root: Option<PathBuf>,
    /// Prove the running stack equal to this profile (OCI or Docker's format, rendered as
    /// --cap/--arch/--kernel say), or list the regions where it is looser or stricter; exit
    /// 1 when it differs.
    #[arg(long, value_name = "PROFILE")]
    pub against: Option<String>,
    /// Output: text (the state, each filter, the stack's decision table) or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// How a Docker profile given to --against is rendered, and the architecture.
    #[command(flatten)]
    pub render: DockerRenderArgs,
}

/// How long `inspect` works on what it read (lifting and comparing) before the rest is
/// refused as too complex: a hostile stack cannot hold it longer.
const WORK_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// The runtimes whose state `inspect` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// runc: compiles with libseccomp and adds an ENOSYS stub.
    Runc,
    /// crun: compiles with libseccomp, no stub.
    Crun,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        }
    }
}

/// `inspect`'s output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object.
    Json,
}

/// Runs `inspect`: exit 0 (with --against: the stack decides as the profile), 1 when it
/// differs, 2 when the process cannot be read or an input is invalid.
pub fn run(a: InspectArgs) -> CliResult<u8> {
    let opts = a.render.options().map_err(usage)?;
    let pid = match (a.pid, &a.container) {
        (Some(pid), _) => pid,
        (None, Some(id)) => container_pid(id, a.runtime.unwrap_or(Runtime::Runc), &a)?,
        (None, None) => return Err(CliError::usage("give a PID or --container ID")),
    };
    let against = match &a.against {
        Some(p) => {
            let text = profiles::read_profile(p).map_err(usage)?;
            let spec = profiles::oci_or_rendered(p, &text, &opts).map_err(usage)?;
            // Validated as we read it; each runtime's reading is built in `compare`.
            Profile::from_oci_for(&spec, false, opts.arch)
                .map_err(|e| usage(profiles::compile_error(p, &e)))?;
            Some(spec)
        }
        None => None,
    };
    let state = inspect(pid).map_err(inspect_error)?;
    if state.mode == 1 {
        return Err(CliError::usage(format!(
            "process {pid} runs in seccomp's strict mode (read, write, _exit and sigreturn \
             only): there is no filter to read"
        )));
    }
    let filters: Vec<Vec<Instruction>> = state
        .filters
        .iter()
        .map(|f| f.instructions.clone())
        .collect();
    // One deadline for all the work on what was read, whatever the target installed: the
    // comparison first (the answer asked for), then the stack, then each filter.
    let deadline = std::time::Instant::now() + WORK_TIME;
    // A container is compared under the reading of the runtime asked for its state.
    let reading = a.runtime.or(a.container.as_ref().map(|_| Runtime::Runc));
    let comparison = match &against {
        Some(spec) => Some(compare(spec, &filters, reading, opts.arch, deadline)?),
        None => None,
    };
    let stack =
        lift_until(Decider::Stack(&filters), opts.arch, deadline).map_err(|e| e.to_string());
    let each: Vec<Result<Lifted, String>> = filters
        .iter()
        .map(|f| lift_until(Decider::Program(f), opts.arch, deadline).map_err(|e| e.to_string()))
        .collect();
    let report = match a.format {
        Format::Text => text(
            &state,
            &each,
            &stack,
            comparison.as_ref(),
            a.against.as_deref(),
        ),
        Format::Json => format!(
            "{}\n",
            json_report(&state, &each, &stack, comparison.as_ref())
        ),
    };
    output::write_output(None, report.as_bytes())?;
    Ok(match comparison {
        Some(c) if !c.differences.is_empty() => 1,
        _ => 0,
    })
}

/// An invalid input: exit 2.
fn usage(mut e: CliError) -> CliError {
    e.code = 2;
    e
}

/// The process could not be read: exit 2, with what to do.
fn inspect_error(e: InspectError) -> CliError {
    CliError::usage(e.to_string())
}

/// The init process of container `id`, from `runtime state`.
fn container_pid(id: &str, runtime: Runtime, a: &InspectArgs) -> CliResult<i32> {
    let mut cmd = std::process::Command::new(runtime.name());
    if let Some(root) = &a.runtime_root {
        cmd.arg("--root").arg(root);
    }
    let out = cmd
        .arg("state")
        .arg(id)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::usage(format!("{}: cannot run it: {e}", runtime.name())))?;
    if !out.status.success() {
        return Err(CliError::usage(format!(
            "{} state {id}: {}",
            runtime.name(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| CliError::usage(format!("{} state {id}: not JSON: {e}", runtime.name())))?;
    let status = v["status"].as_str().unwrap_or_default();
    let pid = v["pid"].as_i64().unwrap_or(0);
    if pid <= 0 || status == "stopped" {
        return Err(CliError::usage(format!(
            "{} state {id}: the container is {status:?}, with no running init process",
            runtime.name()
        )));
    }
    i32::try_from(pid).map_err(|_| CliError::usage(format!("pid {pid} out of range")))
}

/// The running stack compared with the profile, under the runtime's reading.
struct Comparison {
    /// The reading under which it was compared.
    reading: &'static str,
    /// Where the stack (second side) differs from the profile (first side).
    differences: Vec<oci_seccomp::Difference>,
}

/// Compares `spec` (with `runtime`'s reading, or the first reading that is equal) with the
/// stack.
fn compare(
    spec: &oci_seccomp::LinuxSeccomp,
    filters: &[Vec<Instruction>],
    runtime: Option<Runtime>,
    target: &'static oci_seccomp::arch::ArchInfo,
    deadline: std::time::Instant,
) -> CliResult<Comparison> {
    use oci_seccomp::ArgReading::{Kernel, Literal};
    const RUNC: (Stub, oci_seccomp::ArgReading, &str) = (
        Stub::Enosys,
        Literal,
        "runc's (the ENOSYS stub; all 64 bits of each argument compared)",
    );
    const CRUN: (Stub, oci_seccomp::ArgReading, &str) = (
        Stub::Off,
        Literal,
        "crun's (no stub; all 64 bits of each argument compared)",
    );
    const OURS: (Stub, oci_seccomp::ArgReading, &str) = (
        Stub::Enosys,
        Kernel,
        "oci-seccomp's (the ENOSYS stub; 32-bit arguments as the kernel reads them)",
    );
    let readings: Vec<(Stub, oci_seccomp::ArgReading, &str)> = match runtime {
        Some(Runtime::Runc) => vec![RUNC],
        Some(Runtime::Crun) => vec![CRUN],
        None => vec![OURS, RUNC, CRUN],
    };
    let mut first: Option<Comparison> = None;
    for (stub, args, name) in readings {
        let profile = Profile::from_oci_reading(spec, false, target, args)
            .map_err(|e| CliError::usage(format!("--against: {e}")))?;
        let semantics = Semantics::new(&profile, stub);
        let mut budget =
            oci_seccomp::StepBudget::new(oci_seccomp::MAX_STEPS).with_deadline(deadline);
        let differences = oci_seccomp::diff_deciders(
            Decider::Profile(&semantics),
            Decider::Stack(filters),
            &mut budget,
        )
        .map_err(|e| CliError::usage(format!("comparing with the profile: {e}")))?;
        let c = Comparison {
            reading: name,
            differences,
        };
        if c.differences.is_empty() {
            return Ok(c);
        }
        first.get_or_insert(c);
    }
    Ok(first.unwrap_or(Comparison {
        reading: "",
        differences: Vec::new(),
    }))
}

/// The report for people.
fn text(
    state: &ProcessSeccomp,
    each: &[Result<Lifted, String>],
    stack: &Result<Lifted, String>,
    comparison: Option<&Comparison>,
    against: Option<&str>,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mode = match state.mode {
        0 => "disabled",
        1 => "strict",
        _ => "filter",
    };
    let _ = writeln!(
        out,
        "process {}: seccomp {mode}, no_new_privs {}, {} filter(s){}",
        state.pid,
        u8::from(state.no_new_privs),
        state.filters.len(),
        state
            .filter_count
            .map_or(String::new(), |n| format!(" (Seccomp_filters: {n})"))
    );
    for t in &state.other_threads {
        let _ = writeln!(
            out,
            "warning: thread {} has seccomp mode {} with {} filter(s): only thread {} was read, \
             and this report says nothing of that thread",
            t.tid,
            t.mode,
            t.filter_count
                .map_or("an unknown number of".into(), |n| n.to_string()),
            state.pid
        );
    }
    for (i, (f, l)) in state.filters.iter().zip(each).enumerate() {
        let log = match f.log {
            Some(true) => ", installed with SECCOMP_FILTER_FLAG_LOG",
            Some(false) => "",
            None => ", flags unknown",
        };
        let what = match l {
            Ok(l) => match &l.profile {
                Ok(p) => format!("lifted to a proven OCI profile; {}", reading_text(l, p)),
                Err(why) => format!(
                    "{} regions; no OCI profile decides as it: {why}",
                    l.regions.len()
                ),
            },
            Err(e) => format!("not lifted: {e}"),
        };
        let recent = if i == 0 { " (the most recent)" } else { "" };
        let _ = writeln!(
            out,
            "filter {i}{recent}: {} instructions{log}; {what}",
            f.instructions.len()
        );
    }
    if !state.filters.is_empty() {
        match stack {
            Ok(l) => {
                let _ = writeln!(out, "what the stack decides (the kernel runs every filter; the strictest action wins):");
                out.push_str(&table(l));
            }
            Err(e) => {
                let _ = writeln!(out, "the stack could not be lifted: {e}");
            }
        }
    }
    if let (Some(c), Some(p)) = (comparison, against) {
        if c.differences.is_empty() {
            let _ = writeln!(
                out,
                "equal: the process decides every call as {} does under {} reading",
                shown(p),
                c.reading
            );
        } else {
            out.push_str(&difference_lines(&c.differences));
            let looser = c
                .differences
                .iter()
                .filter(|d| d.change() == Change::Looser)
                .count();
            let _ = writeln!(
                out,
                "different: {} region(s) where the process differs from {} under {} reading, {looser} looser",
                c.differences.len(),
                shown(p),
                c.reading
            );
        }
    }
    out
}

/// The report as JSON.
fn json_report(
    state: &ProcessSeccomp,
    each: &[Result<Lifted, String>],
    stack: &Result<Lifted, String>,
    comparison: Option<&Comparison>,
) -> Value {
    let filters: Vec<Value> = state
        .filters
        .iter()
        .zip(each)
        .map(|(f, l)| {
            json!({
                "instructions": f.instructions.len(),
                "log": f.log,
                "lift": match l { Ok(l) => lifted_json(l), Err(e) => json!({"error": e}) },
            })
        })
        .collect();
    json!({
        "pid": state.pid,
        "mode": state.mode,
        "noNewPrivs": state.no_new_privs,
        "filterCount": state.filter_count,
        "filters": filters,
        "otherThreads": state.other_threads.iter().map(|t| json!({
            "tid": t.tid, "mode": t.mode, "filterCount": t.filter_count,
        })).collect::<Vec<_>>(),
        "stack": match stack { Ok(l) => lifted_json(l), Err(e) => json!({"error": e}) },
        "against": comparison.map(|c| json!({
            "equal": c.differences.is_empty(),
            "reading": c.reading,
            "looser": c.differences.iter().any(|d| d.change() == Change::Looser),
            "differences": c.differences.iter().map(difference_json).collect::<Vec<_>>(),
        })),
    })
}
