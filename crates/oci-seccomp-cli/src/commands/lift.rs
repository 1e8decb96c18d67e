//! `oci-seccomp lift PROGRAM`: what a seccomp program decides, as a decision table and as an
//! OCI profile proven to decide exactly as the program does.

use std::path::PathBuf;

use oci_seccomp::lift::{lift, Lifted, LiftedProfile, LiftedRegion, Reading};
use serde_json::{json, Value};

use crate::args::{DockerRenderArgs, ProfileFormat, SpoNameArgs};
use crate::commands::diff::side;
use crate::profiles::shown;
use crate::{output, CliError, CliResult};

/// Arguments of `lift`.
#[derive(Debug, clap::Args)]
pub struct LiftArgs {
    /// The program: `compile --format raw` bytes (the kernel's `struct sock_filter` array in
    /// --arch's byte order), `compile --format hex` text or `--format program`; a profile is
    /// accepted too (its lift is its canonical form). `-` reads standard input.
    pub program: String,
    /// Output: the proven profile (`oci`, `docker`), a decision table (`table`), or `json`
    /// (the table, the stub, the profile and its reading).
    #[arg(long, value_enum, default_value_t = LiftFormat::Oci)]
    pub format: LiftFormat,
    /// The architecture of the host the program is for (its byte order, and the ABIs a
    /// profile may list).
    #[command(flatten)]
    pub render: DockerRenderArgs,
    /// Instead of lifting: decide one call, `SYSCALL [ARG]...` (a name or number on the
    /// --arch ABI, arguments in decimal or 0x hex), by running the program as the kernel
    /// does. Works for every valid program, those the walk cannot follow included.
    #[arg(long = "call", num_args = 1..=7, value_name = "SYSCALL [ARG]")]
    pub call: Vec<String>,
    /// The resource's name and namespace, with --format spo.
    #[command(flatten)]
    pub spo: SpoNameArgs,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `lift`'s output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LiftFormat {
    /// The OCI `linux.seccomp` object proven to decide as the program.
    Oci,
    /// The same in Docker's format.
    Docker,
    /// The same as a Security Profiles Operator `SeccompProfile` (--name, --namespace).
    Spo,
    /// One line per region: the ABI, the syscall, the argument constraints, the action.
    Table,
    /// Everything as one JSON object.
    Json,
}

/// Runs `lift`: exit 0 with the output; 1 when no OCI profile decides as the program (the
/// reason on standard error; `--format table|json` still list its regions); 2 for an
/// input that is not a program, or an instruction the walk does not model.
pub fn run(a: LiftArgs) -> CliResult<u8> {
    let opts = a.render.options().map_err(|mut e| {
        e.code = 2;
        e
    })?;
    let input = side(&a.program, &opts)?;
    if !a.call.is_empty() {
        return call(&a, &input, opts.arch);
    }
    let lifted = lift(input.decider(), opts.arch)
        .map_err(|e| CliError::usage(format!("{}: {e}", shown(&a.program))))?;
    let (text, code) = report(&lifted, a.format, opts.arch, &a.program, &a.spo)?;
    output::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(code)
}

/// `lift --call`: one call decided by running the program (exit 0), as the kernel would.
fn call(
    a: &LiftArgs,
    input: &crate::commands::diff::Side,
    abi: &'static oci_seccomp::arch::ArchInfo,
) -> CliResult<u8> {
    let oci_seccomp::Decider::Program(insns) = input.decider() else {
        return Err(CliError::usage(
            "--call decides calls of a program; for a profile, use explain",
        ));
    };
    let name = &a.call[0];
    let nr = match crate::names::parse_u64(name) {
        Ok(n) => u32::try_from(n)
            .map_err(|_| CliError::usage(format!("--call {name}: not a syscall number")))?,
        Err(_) => oci_seccomp::arch::resolve(name, abi)
            .map(|n| n as u32)
            .ok_or_else(|| {
                CliError::usage(format!("--call {name}: no such syscall on {}", abi.name))
            })?,
    };
    let mut args = [0u64; 6];
    for (i, v) in a.call[1..].iter().enumerate() {
        args[i] = crate::names::parse_u64(v)
            .map_err(|e| CliError::usage(format!("--call argument {i} {v:?}: {e}")))?;
    }
    let data = oci_seccomp::SeccompData {
        nr: nr as i32,
        arch: abi.audit_arch,
        instruction_pointer: 0,
        args,
    };
    let d = oci_seccomp::bpf::run(insns, &data)
        .map_err(|e| CliError::usage(format!("{}: {e}", shown(&a.program))))?;
    let text = format!(
        "{}: {} (returned by instruction {}, {} executed)\n",
        oci_seccomp::proof::describe_call(&data),
        d.action,
        d.ret_index,
        d.executed
    );
    output::write_output(a.output.as_deref(), text.as_bytes())?;
    Ok(0)
}

/// The output of `lifted` in `format`, and the exit code.
pub(crate) fn report(
    lifted: &Lifted,
    format: LiftFormat,
    target: &'static oci_seccomp::arch::ArchInfo,
    name: &str,
    spo: &SpoNameArgs,
) -> CliResult<(String, u8)> {
    let code = u8::from(lifted.profile.is_err());
    Ok(match format {
        LiftFormat::Table => (table(lifted), code),
        LiftFormat::Json => (format!("{}\n", lifted_json(lifted)), code),
        LiftFormat::Oci | LiftFormat::Docker | LiftFormat::Spo => {
            let p = lifted.profile.as_ref().map_err(|why| {
                CliError::problem(format!(
                    "{}: no OCI profile decides as this program: {why} (--format table lists \
                     what it decides)",
                    shown(name)
                ))
            })?;
            eprintln!("oci-seccomp: note: {}", reading_text(lifted, p));
            let fmt = match format {
                LiftFormat::Oci => ProfileFormat::Oci,
                LiftFormat::Docker => ProfileFormat::Docker,
                _ => ProfileFormat::Spo,
            };
            (fmt.text(&p.spec, target, spo)?, 0)
        }
    })
}

/// Under which reading the profile decides as the program, in words.
pub(crate) fn reading_text(lifted: &Lifted, p: &LiftedProfile) -> String {
    let args = match p.args {
        oci_seccomp::ArgReading::Literal => {
            "; its comparisons on 32-bit arguments compare all 64 bits, as runc and crun \
             compile them (oci-seccomp: --arg-reading literal)"
        }
        _ => "",
    };
    let stub = match p.reading {
        Reading::EnosysStub => {
            let starts: Vec<String> = lifted
                .stubs
                .iter()
                .map(|(abi, n)| format!("{abi} from {n}"))
                .collect();
            format!(
                "the program has an ENOSYS stub ({}): the profile decides as it when compiled \
                 with the stub, as oci-seccomp and runc do (crun and plain libseccomp would give \
                 those syscalls the default action)",
                starts.join(", ")
            )
        }
        Reading::NoStub => "the program has no ENOSYS stub: the profile decides as it when \
                            compiled without one, as crun and plain libseccomp do \
                            (oci-seccomp compile --no-stub; runc would answer syscalls above \
                            the highest named one with ENOSYS)"
            .to_string(),
        _ => String::new(),
    };
    format!("{stub}{args}")
}

/// The region's syscall, in words.
fn syscall_text(r: &LiftedRegion) -> String {
    match (&r.syscall, r.numbers) {
        (Some(n), (x, _)) => format!("{n} ({x})"),
        (None, (x, y)) if x == y => format!("syscall {x}"),
        (None, (x, y)) => format!("syscalls {x}..={y}"),
    }
}

/// One line per region.
pub(crate) fn table(lifted: &Lifted) -> String {
    let mut out = String::new();
    for r in &lifted.regions {
        let abi = r.abi.map_or_else(
            || format!("architectures of no ABI here (e.g. {:#x})", r.arch),
            str::to_string,
        );
        let cond = if r.conditions.is_empty() {
            String::new()
        } else {
            format!(" if {}", r.conditions.join(" && "))
        };
        let filter = r.filter.map_or(String::new(), |i| format!(" [filter {i}]"));
        out.push_str(&format!(
            "{abi} {}{cond}: {}{filter}\n",
            syscall_text(r),
            r.action
        ));
    }
    out.push_str(&format!(
        "{} region(s); unknown architectures: {}; ABIs: {}\n",
        lifted.regions.len(),
        lifted.unknown_arch,
        lifted.abis.join(", ")
    ));
    match &lifted.profile {
        Ok(p) => out.push_str(&format!(
            "a proven OCI profile exists (--format oci): {}\n",
            reading_text(lifted, p)
        )),
        Err(why) => out.push_str(&format!("no OCI profile decides as it: {why}\n")),
    }
    out
}

/// Everything as JSON.
pub(crate) fn lifted_json(lifted: &Lifted) -> Value {
    let (profile, reading, why) = match &lifted.profile {
        Ok(p) => (
            serde_json::to_value(&p.spec).unwrap_or(Value::Null),
            json!({
                "stub": matches!(p.reading, Reading::EnosysStub),
                "argReading": p.args.name(),
            }),
            Value::Null,
        ),
        Err(why) => (Value::Null, Value::Null, Value::from(why.as_str())),
    };
    json!({
        "abis": lifted.abis,
        "unknownArchitecture": lifted.unknown_arch.to_string(),
        "stub": lifted.stubs.iter().map(|(abi, n)| json!({"abi": abi, "from": n})).collect::<Vec<_>>(),
        "regions": lifted.regions.iter().map(|r| json!({
            "abi": r.abi,
            "arch": r.arch,
            "numbers": [r.numbers.0, r.numbers.1],
            "syscall": r.syscall,
            "conditions": r.conditions,
            "action": r.action.to_string(),
            "filter": r.filter,
            "witness": {
                "arch": r.witness.arch,
                "nr": r.witness.nr,
                "args": r.witness.args,
                "call": oci_seccomp::proof::describe_call(&r.witness),
            },
        })).collect::<Vec<_>>(),
        "profile": profile,
        "reading": reading,
        "notExpressible": why,
    })
}
