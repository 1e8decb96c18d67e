//! `oci-seccomp explain`: what a profile does with one syscall, and why.

use oci_seccomp::arch;
use oci_seccomp::explain::{self, DecidedBy, Entry, ExplainError, KernelRead};
use oci_seccomp::Action;
use serde_json::json;

use crate::util::{self, shown};
use crate::{CliError, CliResult};

/// Arguments of `explain`.
#[derive(Debug)]
pub struct ExplainArgs {
    /// The profile; `None` for the embedded default.
    pub profile: Option<String>,
    pub syscall: String,
    pub args: Vec<String>,
    pub arch: Option<String>,
    pub json: bool,
    pub arg_reading: oci_seccomp::ArgReading,
}

/// Describes an action with the errno name: `SCMP_ACT_ERRNO (EPERM, 1)`.
pub fn describe_action(a: Action) -> String {
    match a {
        Action::Errno(e) => format!(
            "SCMP_ACT_ERRNO ({}, {e})",
            util::errno_name(i32::from(e)).unwrap_or("unknown errno")
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
pub fn run(a: ExplainArgs) -> CliResult<u8> {
    let (spec, name) = match &a.profile {
        // A Docker (moby) profile is rendered for this host, as `check` and `run` do.
        Some(p) => (util::load_any(p)?, shown(p).to_string()),
        None => (util::default_for_host()?, "<embedded default>".to_string()),
    };
    let arch = match &a.arch {
        Some(n) => util::parse_arch(n)?,
        None => arch::native(),
    };
    if a.args.len() > 6 {
        return Err(CliError::usage(format!(
            "{} arguments given; a syscall has at most six",
            a.args.len()
        )));
    }
    let mut args = [0u64; 6];
    for (i, t) in a.args.iter().enumerate() {
        args[i] = util::parse_u64(t).map_err(|why| {
            CliError::problem(format!("argument {i} {t:?}: {why}")).hint(
                "give decimal or 0x hex, e.g. 0x10000000; a negative number (down to \
                 -9223372036854775808) is its 64-bit two's complement",
            )
        })?;
    }
    // Any 32-bit value the kernel can put in `seccomp_data.nr`: 0..=0xffffffff, or a
    // negative number such as -1 (a tracer skipping the call).
    let number = match util::parse_u64(&a.syscall) {
        Err(why) if why != util::NOT_A_NUMBER => {
            return Err(CliError::problem(format!(
                "syscall number {:?}: {why}",
                a.syscall
            )))
        }
        n => n.ok(),
    };
    let nr: i32 = if let Some(n) = number {
        explain::number_for(arch, n).ok_or_else(|| {
            CliError::problem(format!(
                "syscall number {:?} does not fit the 32-bit seccomp_data.nr",
                a.syscall
            ))
        })?
    } else {
        arch::resolve(&a.syscall, arch).ok_or_else(|| {
            CliError::problem(format!(
                "syscall {:?}: unknown on {} to libseccomp {}",
                a.syscall,
                arch.name,
                oci_seccomp::arch::libseccomp_version_string()
            ))
            .hint("check the spelling, or give the number")
        })?
    };

    let d = explain::explain_reading(&spec, arch, nr, &args[..a.args.len()], a.arg_reading)
        .map_err(|e| match e {
            ExplainError::Compile(e) => util::compile_error(&name, &e),
            ExplainError::Simulate(e) => {
                CliError::problem(format!("{name}: simulation failed: {e}"))
            }
            other => CliError::problem(format!("{name}: {other}")),
        })?;
    let sys_name = &d.syscall;
    let (why_text, why_json) = match &d.decided_by {
        DecidedBy::Entry(entry) => {
            let (t, v) = describe_entry(entry, sys_name);
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
    };
    let errno = match d.action {
        Action::Errno(e) => Some(i32::from(e)),
        _ => None,
    };
    let reads: Vec<(String, serde_json::Value)> = d
        .kernel_reads
        .iter()
        .map(|r| kernel_read(r, d.arg_reading, arch.narrow_args()))
        .collect();
    if a.json {
        let v = json!({
            "profile": name,
            "syscall": sys_name,
            "nr": nr,
            "arch": arch.name,
            "args": args.iter().map(|x| format!("{x:#x}")).collect::<Vec<_>>(),
            "action": d.action.to_string(),
            "errno": errno,
            "errno_name": errno.and_then(util::errno_name),
            "decided_by": why_json,
            "executed": d.executed,
            "ret_index": d.ret_index,
            "program_length": d.program_length,
            "kernel_reads": reads.iter().map(|r| &r.1).collect::<Vec<_>>(),
            "arg_reading": d.arg_reading.name(),
        });
        let mut s =
            serde_json::to_string_pretty(&v).map_err(|e| CliError::problem(e.to_string()))?;
        s.push('\n');
        util::write_output(None, s.as_bytes())?;
    } else {
        let shown_args: Vec<String> = args[..a.args.len()]
            .iter()
            .map(|x| format!("{x:#x}"))
            .collect();
        let s = format!(
            "syscall:    {sys_name}({}) = nr {nr} on {}\naction:     {}\ndecided by: {why_text}\ncost:       {} instructions executed (returned at #{}), program length {}\n",
            shown_args.join(", "),
            arch.name,
            describe_action(d.action),
            d.executed,
            d.ret_index,
            d.program_length
        );
        let mut s = s;
        for (line, _) in &reads {
            s.push_str(line);
            s.push('\n');
        }
        util::write_output(None, s.as_bytes())?;
    }
    Ok(0)
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
