//! `oci-seccomp diff A B`: two profiles compared by what they decide, over every call.

use oci_seccomp::{
    moby, Change, Decided, Decider, Difference, Instruction, Profile, Program, Semantics, Stub,
};
use serde_json::{json, Value};

use crate::args::{ArgReadingArgs, DockerRenderArgs};
use crate::profiles::{self, shown};
use crate::{CliError, CliResult};

/// How long the comparison may take before `diff` refuses the profiles as too complex.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first (old) profile: OCI, or Docker's format (rendered as --cap/--arch/--kernel
    /// say), or a compiled program (`compile --format raw|hex|program` output, for --arch);
    /// `-` reads standard input.
    pub a: String,
    /// The second (new) profile or program, as the first.
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
    /// How comparisons on 32-bit arguments are read: `kernel` (what oci-seccomp installs)
    /// or `literal` (all 64 bits, what runc and crun install). A gate for profiles that
    /// runc or crun will install takes `--arg-reading literal`.
    #[command(flatten)]
    pub reading: ArgReadingArgs,
    /// Decide as a program without the ENOSYS stub does (crun's, libseccomp's): syscalls
    /// newer than a profile get its default action.
    #[arg(long = "no-stub")]
    pub no_stub: bool,
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
    let how = Reading {
        args: a.reading.reading(),
        stub: Stub::enosys_if(!a.no_stub),
    };
    let first = side_read(&a.a, &opts, how)?;
    let second = side_read(&a.b, &opts, how)?;
    // Any two profiles are answered or refused within about a second.
    let mut budget = oci_seccomp::StepBudget::new(oci_seccomp::MAX_STEPS)
        .with_deadline(std::time::Instant::now() + DEADLINE);
    let diffs = oci_seccomp::diff_deciders(first.decider(), second.decider(), &mut budget)
        .map_err(|e| CliError::usage(format!("{} and {}: {e}", shown(&a.a), shown(&a.b))))?;
    let looser = diffs
        .iter()
        .filter(|d| d.change() == Change::Looser)
        .count();
    // Names no table here knows were skipped on both sides: the comparison cannot see
    // them, and says so (a libseccomp that knows them would give them the entry's action).
    let mut unknown: Vec<String> = first
        .unknown()
        .iter()
        .chain(second.unknown())
        .cloned()
        .collect();
    unknown.sort();
    unknown.dedup();
    let report = match a.format {
        Format::Text => {
            let mut t = text_report(&a, &diffs, looser);
            if !unknown.is_empty() {
                t.push_str(&format!(
                    "not compared: {} (names this build's syscall table does not know; both \
                     sides skip them, as libseccomp 2.5 does, so an entry for them is invisible \
                     here)\n",
                    unknown.join(", ")
                ));
            }
            t
        }
        Format::Json => {
            let v = json!({
                "equal": diffs.is_empty(),
                "looser": looser > 0,
                "differences": diffs.iter().map(difference_json).collect::<Vec<_>>(),
                "notCompared": unknown,
            });
            format!("{v}\n")
        }
    };
    crate::output::write_output(None, report.as_bytes())?;
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

/// One side: a profile's meaning, or a program's instructions.
pub(crate) enum Side {
    /// A profile's meaning, and the names in it no syscall table here knows (skipped).
    Profile(Box<Semantics>, Vec<String>),
    Program(Program),
}

impl Side {
    /// The side as a [`Decider`].
    pub(crate) fn decider(&self) -> Decider<'_> {
        match self {
            Self::Profile(s, _) => Decider::Profile(s),
            Self::Program(p) => Decider::Program(p.instructions()),
        }
    }
}

/// The input at `path`: a program (`compile --format program`, `raw` in `opts.arch`'s byte
/// order, or `hex`) or a profile.
pub(crate) fn side(path: &str, opts: &moby::RenderOptions) -> CliResult<Side> {
    side_read(path, opts, Reading::default())
}

/// How a profile side is read: its 32-bit arguments and its stub.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Reading {
    /// The reading of comparisons on narrow arguments.
    pub(crate) args: oci_seccomp::ArgReading,
    /// Whether the program has the ENOSYS stub.
    pub(crate) stub: Stub,
}

/// [`side`], a profile read as `how` says.
pub(crate) fn side_read(path: &str, opts: &moby::RenderOptions, how: Reading) -> CliResult<Side> {
    let bytes = profiles::read_input_bytes(path).map_err(invalid)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CliError::usage(format!(
            "{}: empty: neither a JSON profile nor a program",
            shown(path)
        )));
    }
    if bytes.starts_with(&Program::MAGIC) {
        let p = Program::from_bytes(&bytes)
            .map_err(|e| CliError::usage(format!("{}: {e}", shown(path))))?;
        return Ok(Side::Program(p));
    }
    let text = std::str::from_utf8(&bytes).ok();
    if let Some(t) = text.filter(|t| oci_seccomp::spo::is_spo_text(t)) {
        let oci = profiles::spo_as_oci(path, t.to_string())?;
        return semantics(path, &oci, opts, how)
            .map(|(s, unknown)| Side::Profile(Box::new(s), unknown));
    }
    let looks_json = text.is_some_and(|t| t.trim_start().starts_with('{'));
    if looks_json {
        return semantics(path, text.unwrap_or_default(), opts, how)
            .map(|(s, unknown)| Side::Profile(Box::new(s), unknown));
    }
    let insns = match text.and_then(hex_program) {
        Some(insns) => insns,
        None => raw_program(&bytes, opts.arch.big_endian).ok_or_else(|| {
            CliError::usage(format!(
                "{}: neither a JSON profile nor a program (compile --format program, raw: \
                 8-byte struct sock_filter entries, or hex)",
                shown(path)
            ))
        })?,
    };
    if insns.is_empty() || insns.len() > 4096 {
        return Err(CliError::usage(format!(
            "{}: a program of {} instructions (1 to 4096)",
            shown(path),
            insns.len()
        )));
    }
    Ok(Side::Program(Program::new(
        insns,
        oci_seccomp::FilterFlags::EMPTY,
        oci_seccomp::FilterFlags::EMPTY,
    )))
}

/// `compile --format hex` text: one instruction a line, `N: code jt jf k` in hex.
fn hex_program(text: &str) -> Option<Vec<Instruction>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let body = line.split_once(':').map_or(line, |(_, b)| b);
        let f: Vec<&str> = body.split_whitespace().collect();
        let [code, jt, jf, k] = f.as_slice() else {
            return None;
        };
        out.push(Instruction::jump(
            u16::from_str_radix(code, 16).ok()?,
            u32::from_str_radix(k, 16).ok()?,
            u8::from_str_radix(jt, 16).ok()?,
            u8::from_str_radix(jf, 16).ok()?,
        ));
    }
    Some(out)
}

/// `compile --format raw` bytes: the kernel's `struct sock_filter` array, 8 bytes each, in
/// the target's byte order.
fn raw_program(bytes: &[u8], big_endian: bool) -> Option<Vec<Instruction>> {
    if bytes.is_empty() || bytes.len() % 8 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| {
                let (code, k) = if big_endian {
                    (
                        u16::from_be_bytes([c[0], c[1]]),
                        u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                    )
                } else {
                    (
                        u16::from_le_bytes([c[0], c[1]]),
                        u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                    )
                };
                Instruction::jump(code, k, c[2], c[3])
            })
            .collect(),
    )
}

/// The profile `text` read from `path` (OCI, or Docker's rendered as `opts` say), validated
/// for `opts.arch`, and its meaning with the ENOSYS stub, as `compile` builds it.
fn semantics(
    path: &str,
    text: &str,
    opts: &moby::RenderOptions,
    how: Reading,
) -> CliResult<(Semantics, Vec<String>)> {
    let spec = profiles::oci_or_rendered(path, text, opts)?;
    let profile = Profile::from_oci_reading(&spec, false, opts.arch, how.args)
        .map_err(|e| invalid(profiles::compile_error(path, &e)))?;
    let mut unknown: Vec<String> = profile
        .names()
        .iter()
        .map(|(_, n)| n.to_string())
        .filter(|n| {
            oci_seccomp::arch::ALL
                .iter()
                .all(|a| oci_seccomp::arch::resolve(n, a).is_none())
        })
        .collect();
    unknown.sort();
    unknown.dedup();
    Ok((Semantics::new(&profile, how.stub), unknown))
}

impl Side {
    /// The names of a profile side no syscall table here knows.
    fn unknown(&self) -> &[String] {
        match self {
            Self::Profile(_, u) => u,
            Self::Program(_) => &[],
        }
    }
}

/// The syscall of a difference: `name (nr)`, or the range of numbers.
fn syscall_text(d: &Difference) -> String {
    match (&d.syscall, d.numbers) {
        (Some(n), (x, _)) => format!("{n} ({x})"),
        (None, (x, y)) if x == y => format!("syscall {x}"),
        (None, (x, y)) => format!("syscalls {x}..={y}"),
    }
}

/// What decided: the entry (a profile), or `the program`.
fn by(d: &Decided) -> String {
    d.cause
        .as_ref()
        .map_or_else(|| "the program".to_string(), ToString::to_string)
}

fn change_text(c: Change) -> &'static str {
    match c {
        Change::Looser => "looser",
        Change::Stricter => "stricter",
        _ => "changed",
    }
}

/// The text report: one line per region, in the order of ABI, syscall and region.
fn text_report(a: &DiffArgs, diffs: &[Difference], looser: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if diffs.is_empty() {
        let _ = writeln!(
            out,
            "{} and {} decide every call alike",
            shown(&a.a),
            shown(&a.b)
        );
        return out;
    }
    out.push_str(&difference_lines(diffs));
    let _ = writeln!(
        out,
        "{} region(s) differ, {looser} looser in {}",
        diffs.len(),
        shown(&a.b)
    );
    out
}

/// One line per difference: the ABI, the syscall, the conditions, both sides with their
/// deciding entries, the change and a witness call.
pub(crate) fn difference_lines(diffs: &[Difference]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for d in diffs {
        let abi = d
            .abi
            .map_or_else(|| format!("arch {:#x}", d.arch), str::to_string);
        let when = if d.conditions.is_empty() {
            String::new()
        } else {
            format!(" if {}", d.conditions.join(" && "))
        };
        let _ = writeln!(
            out,
            "{abi} {}{when}: {} ({}) -> {} ({}), {}; e.g. {}",
            syscall_text(d),
            d.a,
            by(&d.a),
            d.b,
            by(&d.b),
            change_text(d.change()),
            oci_seccomp::proof::describe_call(&d.witness),
        );
    }
    out
}

/// One side's decision as JSON: the action, the others it accepts, and the entry.
fn decided_json(d: &Decided) -> Value {
    json!({
        "action": d.action.to_string(),
        "also": d.also.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "orStricter": d.at_least,
        "decidedBy": d.cause.as_ref().map(ToString::to_string),
    })
}

/// One difference as JSON.
pub(crate) fn difference_json(d: &Difference) -> Value {
    json!({
        "abi": d.abi,
        "arch": d.arch,
        "numbers": [d.numbers.0, d.numbers.1],
        "syscall": d.syscall,
        "conditions": d.conditions,
        "a": decided_json(&d.a),
        "b": decided_json(&d.b),
        "change": change_text(d.change()),
        "witness": {
            "arch": d.witness.arch,
            "nr": d.witness.nr,
            "args": d.witness.args,
            "call": oci_seccomp::proof::describe_call(&d.witness),
        },
    })
}
