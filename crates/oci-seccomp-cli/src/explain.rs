//! `oci-seccomp explain`: what a profile does with one syscall, and why.

use oci_seccomp::arch;
use oci_seccomp::profile::Profile;
use oci_seccomp::prove::{self, Cause, Model};
use oci_seccomp::{Action, CompileOptions, LinuxSeccomp};
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

fn describe_entry(spec: &LinuxSeccomp, i: usize, syscall: &str) -> (String, serde_json::Value) {
    let Some(e) = spec.syscalls().as_ref().and_then(|s| s.get(i)) else {
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
    // A repeated argument index splits the entry into one rule per comparison (OR).
    let repeated = e.args().iter().flatten().enumerate().any(|(k, a)| {
        e.args()
            .iter()
            .flatten()
            .take(k)
            .any(|b| b.index() == a.index())
    });
    let text = format!(
        "syscalls[{i}]: {names}, action {}{}",
        e.action(),
        if conds.is_empty() {
            String::new()
        } else {
            format!(
                ", when {}",
                conds.join(if repeated { " or " } else { " and " })
            )
        }
    );
    let v = json!({"index": i, "names": e.names(), "action": e.action().to_string(), "conditions": conds});
    (text, v)
}

/// Runs `explain`.
pub fn run(a: ExplainArgs) -> CliResult<u8> {
    let (spec, name) = match &a.profile {
        Some(p) => (util::load_oci(p)?, shown(p).to_string()),
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
        args[i] = util::parse_u64(t).ok_or_else(|| {
            CliError::problem(format!("argument {i} {t:?}: not a number"))
                .hint("give decimal or 0x hex, e.g. 0x10000000")
        })?;
    }
    // Any 32-bit value the kernel can put in `seccomp_data.nr`: 0..=0xffffffff, or a
    // negative number such as -1 (a tracer skipping the call).
    let nr: i32 = if let Some(n) = util::parse_u64(&a.syscall) {
        let n = if let Ok(n) = u32::try_from(n) {
            n
        } else if n >= 0xffff_ffff_8000_0000 {
            n as u32
        } else {
            return Err(CliError::problem(format!(
                "syscall number {:?} does not fit the 32-bit seccomp_data.nr",
                a.syscall
            )));
        };
        // An x32 call carries bit 30; give it for the plain number too.
        let n = if arch.x32 && n < arch::X32_SYSCALL_BIT {
            n | arch::X32_SYSCALL_BIT
        } else {
            n
        };
        n as i32
    } else {
        arch::resolve(&a.syscall, arch).ok_or_else(|| {
            CliError::problem(format!(
                "syscall {:?}: unknown on {} to libseccomp {}",
                a.syscall,
                arch.name,
                oci_seccomp::profile::libseccomp_version_string()
            ))
            .hint("check the spelling, or give the number")
        })?
    };
    // On x86_64, numbers with bit 30 set are x32 calls (same audit arch).
    let name_arch = if !arch.x32
        && arch.audit_arch == arch::AUDIT_ARCH_X86_64
        && (nr as u32) & arch::X32_SYSCALL_BIT != 0
    {
        arch::by_name("SCMP_ARCH_X32").unwrap_or(arch)
    } else {
        arch
    };
    let sys_name = arch::syscall_name(nr, name_arch).unwrap_or_else(|| format!("#{nr}"));

    let profile = Profile::from_oci(&spec, false).map_err(|e| util::compile_error(&name, &e))?;
    // `compile` proves the program against the profile, so the oracle below explains
    // exactly what the program does.
    let program = oci_seccomp::compile_profile(&profile, &CompileOptions::default())
        .map_err(|e| util::compile_error(&name, &e))?;
    let d = oci_seccomp::simulate(&program, arch.audit_arch, nr, args)
        .map_err(|e| CliError::problem(format!("{name}: simulation failed: {e}")))?;
    let model = Model::new(&profile, CompileOptions::default().enosys_stub);
    let verdict = prove::decide(&model, arch.audit_arch, nr as u32, args);
    let cause = verdict.cause_of(d.action).clone();
    let listed = profile.architectures().iter().any(|x| x.name == arch.name);
    let (why_text, why_json) = match &cause {
        Cause::Entry(i) => {
            let (t, v) = describe_entry(&spec, *i, &sys_name);
            (t, json!({"kind": "entry", "entry": v}))
        }
        Cause::Multiplexed { entry, syscall } => {
            let (t, v) = describe_entry(&spec, *entry, syscall);
            (
                format!(
                    "{t}; reached through its multiplexer, whose arguments the filter cannot \
                     read, so the strictest outcome of the entry and the default applies"
                ),
                json!({"kind": "multiplexed", "entry": v, "syscall": syscall}),
            )
        }
        Cause::Default => (
            format!("defaultAction {}", spec.default_action()),
            json!({"kind": "defaultAction"}),
        ),
        Cause::Stub => (
            "ENOSYS stub: syscall newer than the profile (its number is above the highest the profile names for this ABI, and it is not listed)".to_string(),
            json!({"kind": "enosys-stub"}),
        ),
        Cause::BadArch => (
            if listed {
                format!(
                    "the ABI of this number is not in the profile: KILL (on {}, numbers from 0x40000000 are x32 calls)",
                    arch.name
                )
            } else {
                format!("architecture not in the profile: KILL ({} is not in architectures)", arch.name)
            },
            json!({"kind": "architecture-missing"}),
        ),
    };
    let errno = match d.action {
        Action::Errno(e) => Some(i32::from(e)),
        _ => None,
    };
    let reads = kernel_reads(&sys_name, arch, &args[..a.args.len()]);
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
            "program_length": program.len(),
            "kernel_reads": reads.iter().map(|r| &r.1).collect::<Vec<_>>(),
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
            program.len()
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

/// How the kernel reads each given argument ([`oci_seccomp::argwidth`], from the
/// syscall's `SYSCALL_DEFINE` types): one text line and one JSON object per argument the
/// table knows.
fn kernel_reads(
    syscall: &str,
    arch: &'static arch::ArchInfo,
    args: &[u64],
) -> Vec<(String, serde_json::Value)> {
    use oci_seccomp::argwidth;
    let mut out = Vec::new();
    for (i, &v) in args.iter().enumerate() {
        let Some(info) = argwidth::arg_info(syscall, i) else {
            continue;
        };
        // A 32-bit ABI's register holds 32 bits whatever the type.
        let bits = if arch.narrow_args() {
            info.bits.min(32)
        } else {
            info.bits
        };
        let read = v & argwidth::read_mask(bits);
        let note = if read != v {
            format!(
                "; the filter compares {v:#x} but the syscall runs with {read:#x} (compare with \
                 SCMP_CMP_MASKED_EQ, mask {:#x}, to match what the kernel reads)",
                argwidth::read_mask(bits)
            )
        } else {
            String::new()
        };
        out.push((
            format!(
                "arg{i}:       the kernel reads `{} {}` ({bits} bits): {read:#x}{note}",
                info.ty, info.name
            ),
            json!({"index": i, "type": info.ty, "name": info.name, "bits": bits, "value": format!("{read:#x}")}),
        ));
    }
    out
}
