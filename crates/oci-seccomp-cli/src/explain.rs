//! `oci-seccomp explain`: what a profile does with one syscall, and why.

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::profile::{Condition, Profile};
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

/// What decided the syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// `syscalls[index]`.
    Entry(usize),
    /// `defaultAction`.
    Default,
    /// The ENOSYS stub (syscall newer than the profile).
    Stub,
    /// The architecture is not in the profile: the kernel kills.
    ArchMissing,
    /// Nothing in the OCI reading explains it.
    Unexplained,
}

fn matches(c: &Condition, args: &[u64; 6], narrow: bool) -> bool {
    let arg = args[usize::from(c.index)];
    if narrow {
        let mut c = *c;
        c.value &= 0xffff_ffff;
        c.value_two &= 0xffff_ffff;
        c.matches(arg & 0xffff_ffff)
    } else {
        c.matches(arg)
    }
}

/// The OCI reading: the first rule for `nr` on `arch` whose conditions hold and whose
/// action is `action`.
pub fn deciding_entry(
    profile: &Profile,
    a: &ArchInfo,
    nr: i32,
    args: &[u64; 6],
    action: Action,
) -> Option<usize> {
    profile
        .rules
        .iter()
        .filter(|r| r.action == action)
        .filter(|r| arch::resolve(&r.name, a) == Some(nr))
        .find(|r| {
            r.conditions
                .iter()
                .all(|c| matches(c, args, a.narrow_args()))
        })
        .map(|r| r.entry)
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
    let nr: i32 = if let Some(n) = util::parse_u64(&a.syscall) {
        let mut n = i32::try_from(n).map_err(|_| {
            CliError::problem(format!("syscall number {:?} is out of range", a.syscall))
        })?;
        if arch.x32 {
            n |= arch::X32_SYSCALL_BIT as i32;
        }
        n
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
    let sys_name = arch::syscall_name(nr, arch).unwrap_or_else(|| format!("#{nr}"));

    let profile = Profile::from_oci(&spec, false).map_err(|e| util::compile_error(&name, &e))?;
    let program = oci_seccomp::compile(&spec, &CompileOptions::default())
        .map_err(|e| util::compile_error(&name, &e))?;
    let bare = oci_seccomp::compile(&spec, &CompileOptions::default().with_enosys_stub(false))
        .map_err(|e| util::compile_error(&name, &e))?;
    let sim = |p: &oci_seccomp::Program| {
        oci_seccomp::simulate(p, arch.audit_arch, nr, args)
            .map_err(|e| CliError::problem(format!("{name}: simulation failed: {e}")))
    };
    let d = sim(&program)?;
    // The stub may sit anywhere in the program (ours is on the default path): it decided
    // when the program without it answers differently.
    let from_stub = sim(&bare)?.action != d.action;

    let arch_listed = profile.architectures.iter().any(|x| x.name == arch.name);
    let decider = if from_stub {
        Decider::Stub
    } else if !arch_listed {
        Decider::ArchMissing
    } else if let Some(i) = deciding_entry(&profile, arch, nr, &args, d.action) {
        Decider::Entry(i)
    } else if d.action == profile.default_action {
        Decider::Default
    } else {
        Decider::Unexplained
    };
    let (why_text, why_json) = match &decider {
        Decider::Entry(i) => {
            let (t, v) = describe_entry(&spec, *i, &sys_name);
            (t, json!({"kind": "entry", "entry": v}))
        }
        Decider::Default => (
            format!("defaultAction {}", spec.default_action()),
            json!({"kind": "defaultAction"}),
        ),
        Decider::Stub => (
            "ENOSYS stub: syscall newer than the profile (its number is above the highest the profile names for this architecture, and it is not listed)".to_string(),
            json!({"kind": "enosys-stub"}),
        ),
        Decider::ArchMissing => (
            format!("architecture not in the profile: KILL ({} is not in architectures)", arch.name),
            json!({"kind": "architecture-missing"}),
        ),
        Decider::Unexplained => (
            "no profile entry explains this (libseccomp's program disagrees with the OCI reading)".to_string(),
            json!({"kind": "unexplained"}),
        ),
    };
    let errno = match d.action {
        Action::Errno(e) => Some(i32::from(e)),
        _ => None,
    };
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
        util::write_output(None, s.as_bytes())?;
    }
    Ok(0)
}
