//! `oci-seccomp explain`: what a profile does with one syscall, and why.

use oci_seccomp::arch;
use oci_seccomp::explain::{self, DecidedBy, Entry, ExplainError, Explanation, KernelRead};
use oci_seccomp::Action;
use serde_json::json;

use crate::args::ArgReadingArgs;
use crate::profiles::shown;
use crate::{names, output, profiles};
use crate::{CliError, CliResult};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The OCI profile (JSON); `-` reads standard input. Leave out with --default.
    #[arg(required_unless_present = "default")]
    pub profile: Option<String>,
    /// The syscall: a name (`unshare`) or a number (`272`).
    #[arg(value_name = "SYSCALL")]
    pub syscall: Option<String>,
    /// Up to six arguments, decimal (negative too, as two's complement) or 0x hex.
    #[arg(value_name = "ARG", allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// Explain the embedded default profile, rendered for this host.
    #[arg(long)]
    pub default: bool,
    /// The architecture of the call (default: native).
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// How arguments narrower than 64 bits are compared.
    #[command(flatten)]
    pub arg_reading: ArgReadingArgs,
}

/// The call to explain: the positionals sorted out (with `--default` the first one is the
/// syscall).
struct Call {
    /// The profile; `None` for the embedded default.
    profile: Option<String>,
    syscall: String,
    args: Vec<String>,
}

impl ExplainArgs {
    /// The profile, the syscall and its arguments; a missing syscall is a usage error.
    fn call(&self) -> CliResult<Call> {
        if self.default {
            let mut rest: Vec<String> = self.profile.iter().cloned().collect();
            rest.extend(self.syscall.iter().cloned());
            rest.extend(self.args.iter().cloned());
            if rest.is_empty() {
                return Err(CliError::usage("explain: missing SYSCALL")
                    .hint("oci-seccomp explain --default unshare 0x10000000"));
            }
            let syscall = rest.remove(0);
            return Ok(Call {
                profile: None,
                syscall,
                args: rest,
            });
        }
        let Some(syscall) = self.syscall.clone() else {
            return Err(CliError::usage("explain: missing SYSCALL")
                .hint("oci-seccomp explain PROFILE SYSCALL [ARG]..."));
        };
        Ok(Call {
            profile: self.profile.clone(),
            syscall,
            args: self.args.clone(),
        })
    }
}

/// Describes an action with the errno name: `SCMP_ACT_ERRNO (EPERM, 1)`; errno 0 says
/// what it does (the call is not made and returns 0, seccomp(2)).
pub fn describe_action(a: Action) -> String {
    match a {
        Action::Errno(0) => "SCMP_ACT_ERRNO (0: not made, returns 0 as if it succeeded)".into(),
        Action::Errno(e) => format!(
            "SCMP_ACT_ERRNO ({}, {e})",
            names::errno_name(i32::from(e)).unwrap_or("unknown errno")
        ),
        Action::Trace(d) => format!("SCMP_ACT_TRACE ({d})"),
        other => other.to_string(),
    }
}

/// At most this many names of an entry are printed; a longer list is summarised around
/// the syscall being explained.
const SHOWN_NAMES: usize = 8;

fn describe_entry(entry: &Entry, syscall: &str) -> (String, serde_json::Value) {
    let i = entry.index;
    let Some(e) = &entry.syscall else {
        return (format!("syscalls[{i}]"), json!({"index": i}));
    };
    let conds: Vec<String> = e
        .args()
        .iter()
        .flatten()
        .map(|a| match a.value_two() {
            Some(v2) if a.op() == oci_seccomp::LinuxSeccompOperator::ScmpCmpMaskedEq => {
                format!("(arg{} & {:#x}) == {:#x}", a.index(), a.value(), v2)
            }
            _ => format!("arg{} {} {:#x}", a.index(), a.op(), a.value()),
        })
        .collect();
    let names = if e.names().len() <= SHOWN_NAMES {
        format!("names [{}]", e.names().join(", "))
    } else {
        format!("{syscall} among {} names", e.names().len())
    };
    let text = format!(
        "syscalls[{i}]: {names}, action {}{}",
        e.action(),
        if conds.is_empty() {
            String::new()
        } else {
            format!(
                ", when {}",
                conds.join(if entry.conditions_ored() {
                    " or "
                } else {
                    " and "
                })
            )
        }
    );
    let v = json!({"index": i, "names": e.names(), "action": e.action().to_string(), "conditions": conds});
    (text, v)
}

/// Runs `explain`.
pub fn run(args: ExplainArgs) -> CliResult<u8> {
    let call = args.call()?;
    let (spec, name) = match &call.profile {
        // A Docker (moby) profile is rendered for this host, as `check` and `run` do.
        Some(p) => (profiles::load_any(p)?, shown(p).to_string()),
        None => (
            profiles::default_for_host()?,
            "<embedded default>".to_string(),
        ),
    };
    let arch = match &args.arch {
        Some(n) => names::parse_arch(n)?,
        None => arch::native(),
    };
    let values = argument_values(&call.args)?;
    let given = &values[..call.args.len()];
    let nr = syscall_number(&call.syscall, arch)?;
    let d = explain::explain_reading(&spec, arch, nr, given, args.arg_reading.reading()).map_err(
        |e| match e {
            ExplainError::Compile(e) => profiles::compile_error(&name, &e),
            ExplainError::Simulate(e) => {
                CliError::problem(format!("{name}: simulation failed: {e}"))
            }
            other => CliError::problem(format!("{name}: {other}")),
        },
    )?;
    let why = decided_by(&d, arch);
    let reads: Vec<(String, serde_json::Value)> = d
        .kernel_reads
        .iter()
        .map(|r| kernel_read(r, d.arg_reading, arch.narrow_args()))
        .collect();
    let text = if args.json {
        let mut s =
            serde_json::to_string_pretty(&json_report(&name, &d, arch, nr, &values, &why, &reads))
                .map_err(|e| CliError::problem(e.to_string()))?;
        s.push('\n');
        s
    } else {
        text_report(&d, arch, nr, given, &why, &reads)
    };
    output::write_output(None, text.as_bytes())?;
    Ok(0)
}

/// The arguments as the registers hold them (unset ones 0); at most six.
fn argument_values(texts: &[String]) -> CliResult<[u64; 6]> {
    if texts.len() > 6 {
        return Err(CliError::usage(format!(
            "{} arguments given; a syscall has at most six",
            texts.len()
        )));
    }
    let mut args = [0u64; 6];
    for (i, t) in texts.iter().enumerate() {
        args[i] = names::parse_u64(t).map_err(|why| {
            CliError::problem(format!("argument {i} {t:?}: {why}")).hint(
                "give decimal or 0x hex, e.g. 0x10000000; a negative number (down to \
                 -9223372036854775808) is its 64-bit two's complement",
            )
        })?;
    }
    Ok(args)
}

/// `seccomp_data.nr` for `syscall` on `arch`: a name, or any 32-bit value the kernel can
/// put there (0..=0xffffffff, or a negative number such as -1, a tracer skipping the
/// call).
fn syscall_number(syscall: &str, arch: &'static arch::ArchInfo) -> CliResult<i32> {
    let number = match names::parse_u64(syscall) {
        Err(why) if why != names::NOT_A_NUMBER => {
            return Err(CliError::problem(format!(
                "syscall number {syscall:?}: {why}"
            )))
        }
        n => n.ok(),
    };
    if let Some(n) = number {
        return explain::number_for(arch, n).ok_or_else(|| {
            CliError::problem(format!(
                "syscall number {syscall:?} does not fit the 32-bit seccomp_data.nr"
            ))
        });
    }
    arch::resolve(syscall, arch).ok_or_else(|| {
        CliError::problem(format!(
            "syscall {syscall:?}: unknown on {} to libseccomp {}",
            arch.name,
            oci_seccomp::arch::libseccomp_version_string()
        ))
        .hint("check the spelling, or give the number")
    })
}

/// What decided, as a line of text and a JSON object.
fn decided_by(d: &Explanation, arch: &arch::ArchInfo) -> (String, serde_json::Value) {
    match &d.decided_by {
        DecidedBy::Entry(entry) => {
            let (t, v) = describe_entry(entry, &d.syscall);
            (t, json!({"kind": "entry", "entry": v}))
        }
        DecidedBy::Multiplexed { entry, syscall } => {
            let (t, v) = describe_entry(entry, syscall);
            (
                format!(
                    "{t}; reached through its multiplexer, whose arguments the filter cannot \
                     read, so the strictest outcome of the entry and the default applies"
                ),
                json!({"kind": "multiplexed", "entry": v, "syscall": syscall}),
            )
        }
        DecidedBy::Default(default) => (
            format!("defaultAction {default}"),
            json!({"kind": "defaultAction"}),
        ),
        DecidedBy::Stub => (
            "ENOSYS stub: syscall newer than the profile (its number is above the highest the profile names for this ABI, and it is not listed)".to_string(),
            json!({"kind": "enosys-stub"}),
        ),
        DecidedBy::BadArch { listed } => (
            if *listed {
                format!(
                    "the ABI of this number is not in the profile: KILL (on {}, numbers from 0x40000000 are x32 calls)",
                    arch.name
                )
            } else {
                format!("architecture not in the profile: KILL ({} is not in architectures)", arch.name)
            },
            json!({"kind": "architecture-missing"}),
        ),
        other => (format!("{other:?}"), json!({"kind": "other"})),
    }
}

/// `explain --json`'s object.
fn json_report(
    name: &str,
    d: &Explanation,
    arch: &arch::ArchInfo,
    nr: i32,
    args: &[u64; 6],
    why: &(String, serde_json::Value),
    reads: &[(String, serde_json::Value)],
) -> serde_json::Value {
    let errno = match d.action {
        Action::Errno(e) => Some(i32::from(e)),
        _ => None,
    };
    json!({
        "profile": name,
        "syscall": d.syscall,
        "nr": nr,
        "arch": arch.name,
        "args": args.iter().map(|x| format!("{x:#x}")).collect::<Vec<_>>(),
        "action": d.action.to_string(),
        "errno": errno,
        "errno_name": errno.and_then(names::errno_name),
        "decided_by": why.1,
        "executed": d.executed,
        "ret_index": d.ret_index,
        "program_length": d.program_length,
        "kernel_reads": reads.iter().map(|r| &r.1).collect::<Vec<_>>(),
        "arg_reading": d.arg_reading.name(),
    })
}

/// `explain`'s text: the call, the action, what decided, the cost, the kernel's reads.
fn text_report(
    d: &Explanation,
    arch: &arch::ArchInfo,
    nr: i32,
    given: &[u64],
    why: &(String, serde_json::Value),
    reads: &[(String, serde_json::Value)],
) -> String {
    let shown_args: Vec<String> = given.iter().map(|x| format!("{x:#x}")).collect();
    let mut s = format!(
        "syscall:    {}({}) = nr {nr} on {}\naction:     {}\ndecided by: {}\ncost:       {} instructions executed (returned at #{}), program length {}\n",
        d.syscall,
        shown_args.join(", "),
        arch.name,
        describe_action(d.action),
        why.0,
        d.executed,
        d.ret_index,
        d.program_length
    );
    for (line, _) in reads {
        s.push_str(line);
        s.push('\n');
    }
    s
}

/// One line of text and one JSON object for how the kernel reads an argument, and what
/// the program compared under `reading`.
fn kernel_read(
    r: &KernelRead,
    reading: oci_seccomp::ArgReading,
    narrow_abi: bool,
) -> (String, serde_json::Value) {
    let (i, read, bits) = (r.index, r.read, r.bits);
    // A 32-bit ABI's register holds the low word only: that is all any filter sees.
    let v = if narrow_abi {
        r.given & 0xffff_ffff
    } else {
        r.given
    };
    let literal = reading == oci_seccomp::ArgReading::Literal;
    let note = match (read != v, literal) {
        (true, true) => format!(
            "; the filter compares {v:#x} (--arg-reading literal, as runc) but the syscall \
             runs with {read:#x} (compare with SCMP_CMP_MASKED_EQ, mask {:#x}, to match what \
             the kernel reads)",
            r.mask
        ),
        (true, false) => format!(
            "; the filter compares {read:#x} too (the kernel's reading; runc and crun \
             compare {v:#x})"
        ),
        _ => String::new(),
    };
    let compared = if literal && bits < 64 { v } else { read };
    (
        format!(
            "arg{i}:       the kernel reads `{} {}` ({bits} bits): {read:#x}{note}",
            r.ty, r.name
        ),
        json!({"index": i, "type": r.ty, "name": r.name, "bits": bits, "value": format!("{read:#x}"),
               "compared": format!("{compared:#x}")}),
    )
}
