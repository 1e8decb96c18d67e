//! `oci-seccomp diff A B`: two profiles compared by what they decide, over every call.

use oci_seccomp::{moby, Change, Difference, LinuxSeccomp, Profile, Semantics, Stub};
use serde_json::{json, Value};

use crate::args::DockerRenderArgs;
use crate::profiles::{self, shown};
use crate::{CliError, CliResult};

/// How long the comparison may take before `diff` refuses the profiles as too complex.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first (old) profile: OCI, or Docker's format (rendered as --cap/--arch/--kernel
    /// say); `-` reads standard input.
    pub a: String,
    /// The second (new) profile, as the first.
    pub b: String,
    /// The gate: exit 1 only when the second profile is looser than the first anywhere (a
    /// call it answers with a less strict action: lets run what the first denied, traps
    /// what it killed, ...); other differences (another errno) are listed, and exit 0.
    #[arg(long = "no-looser")]
    pub no_looser: bool,
    /// Output: text, grouped by ABI and syscall, or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// How a Docker profile is rendered, and the architecture both are read for.
    #[command(flatten)]
    pub render: DockerRenderArgs,
}

/// `diff`'s output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per region, grouped by ABI and syscall.
    Text,
    /// One JSON object: `equal`, `looser` and the `differences`.
    Json,
}

/// Runs `diff`: exit 0 when the profiles decide every call alike (with `--no-looser`:
/// when the second is nowhere looser), 1 otherwise, 2 for usage or an invalid profile.
pub fn run(a: DiffArgs) -> CliResult<u8> {
    let opts = a.render.options().map_err(invalid)?;
    let first = semantics(&a.a, &opts)?;
    let second = semantics(&a.b, &opts)?;
    // Any two profiles are answered or refused within about a second.
    let mut budget = oci_seccomp::StepBudget::new(oci_seccomp::MAX_STEPS)
        .with_deadline(std::time::Instant::now() + DEADLINE);
    let diffs = oci_seccomp::diff_within(&first, &second, &mut budget)
        .map_err(|e| CliError::usage(format!("{} and {}: {e}", shown(&a.a), shown(&a.b))))?;
    let looser = diffs
        .iter()
        .filter(|d| d.change() == Change::Looser)
        .count();
    match a.format {
        Format::Text => print_text(&a, &diffs, looser),
        Format::Json => {
            let v = json!({
                "equal": diffs.is_empty(),
                "looser": looser > 0,
                "differences": diffs.iter().map(difference_json).collect::<Vec<_>>(),
            });
            println!("{v}");
        }
    }
    let failed = if a.no_looser {
        looser > 0
    } else {
        !diffs.is_empty()
    };
    Ok(u8::from(failed))
}

/// An invalid input: exit 2, as usage.
fn invalid(mut e: CliError) -> CliError {
    e.code = 2;
    e
}

/// The profile at `path` (OCI, or Docker's rendered as `opts` say), validated for
/// `opts.arch`, and its meaning with the ENOSYS stub, as `compile` builds it.
fn semantics(path: &str, opts: &moby::RenderOptions) -> CliResult<Semantics> {
    let text = profiles::read_input(path).map_err(invalid)?;
    let spec: LinuxSeccomp = if profiles::is_docker_text(&text) {
        let p = moby::parse_moby(&text)
            .map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
        moby::render(&p, opts)
            .map_err(|e| CliError::usage(format!("{}: cannot render: {e}", shown(path))))?
    } else {
        oci_seccomp::parse_profile(&text).map_err(|e| invalid(profiles::parse_error(path, &e)))?
    };
    let profile = Profile::from_oci_for(&spec, false, opts.arch)
        .map_err(|e| invalid(profiles::compile_error(path, &e)))?;
    Ok(Semantics::new(&profile, Stub::Enosys))
}

/// The syscall of a difference: `name (nr)`, or the range of numbers.
fn syscall_text(d: &Difference) -> String {
    match (&d.syscall, d.numbers) {
        (Some(n), (x, _)) => format!("{n} ({x})"),
        (None, (x, y)) if x == y => format!("syscall {x}"),
        (None, (x, y)) => format!("syscalls {x}..={y}"),
    }
}

fn change_text(c: Change) -> &'static str {
    match c {
        Change::Looser => "looser",
        Change::Stricter => "stricter",
        _ => "changed",
    }
}

/// The text report: one line per region, in the order of ABI, syscall and region.
fn print_text(a: &DiffArgs, diffs: &[Difference], looser: usize) {
    if diffs.is_empty() {
        println!(
            "{} and {} decide every call alike",
            shown(&a.a),
            shown(&a.b)
        );
        return;
    }
    for d in diffs {
        let abi = d
            .abi
            .map_or_else(|| format!("arch {:#x}", d.arch), str::to_string);
        let when = if d.conditions.is_empty() {
            String::new()
        } else {
            format!(" if {}", d.conditions.join(" && "))
        };
        println!(
            "{abi} {}{when}: {} ({}) -> {} ({}), {}; e.g. {}",
            syscall_text(d),
            d.a.action,
            d.a.cause,
            d.b.action,
            d.b.cause,
            change_text(d.change()),
            oci_seccomp::proof::describe_call(&d.witness),
        );
    }
    println!(
        "{} region(s) differ, {looser} looser in {}",
        diffs.len(),
        shown(&a.b)
    );
}

/// One difference as JSON.
fn difference_json(d: &Difference) -> Value {
    json!({
        "abi": d.abi,
        "arch": d.arch,
        "numbers": [d.numbers.0, d.numbers.1],
        "syscall": d.syscall,
        "conditions": d.conditions,
        "a": { "action": d.a.action.to_string(), "decidedBy": d.a.cause.to_string() },
        "b": { "action": d.b.action.to_string(), "decidedBy": d.b.cause.to_string() },
        "change": change_text(d.change()),
        "witness": {
            "arch": d.witness.arch,
            "nr": d.witness.nr,
            "args": d.witness.args,
            "call": oci_seccomp::proof::describe_call(&d.witness),
        },
    })
}
