//! Trace, complain and record: the profile's own program, with every denial sent to an
//! agent instead of being carried out by the kernel.
//!
//! [`route_denials`] takes a proven [`Program`] and replaces each `RET` whose action denies
//! the call — `ERRNO`, `TRACE`, `KILL_THREAD`, `KILL_PROCESS` — by `RET USER_NOTIF`. Nothing
//! else changes: the same instructions in the same places, so
//!
//! - every call the profile allows (`ALLOW`, `LOG`) runs exactly the instructions it ran
//!   before and never reaches the agent (the traced filter costs allowed calls nothing);
//! - every other input reaches the `RET` it reached before, and the agent can learn what
//!   the kernel would have done by running the **original** program on the notification's
//!   `seccomp_data` ([`crate::bpf::run`]), and why from [`crate::Profile::decide`].
//!
//! That is the whole proof: the original program is proven against the profile, and
//! [`check_routed`] confirms, instruction by instruction, that the routed one differs
//! only in the `RET K` values the mapping allows — after a short **guard** in front
//! ([`listener_guard`]): `seccomp(SECCOMP_SET_MODE_FILTER)` with
//! `SECCOMP_FILTER_FLAG_NEW_LISTENER`, on any ABI of this host, fails with `EBUSY`. While
//! the agent holds its listener the kernel answers that anyway (one listener per filter
//! chain); once the agent is gone (its process killed, or it stopped waiting for processes
//! the workload left behind) the guard keeps the workload from installing a listener of
//! its own — whose USER_NOTIF would tie with ours, the newest filter would win, and the
//! workload could let its denied calls run. Without an agent, the kernel fails routed
//! calls with `ENOSYS`: they never run. `TRAP` stays in the kernel (user space
//! cannot reproduce the kernel's `SIGSYS` and its `siginfo`), as do `USER_NOTIF` returns
//! of the profile's own NOTIFY rules — which is why a program that already notifies is
//! refused ([`TraceError::AlreadyNotifies`]): its agent and ours would share one fd.

use crate::action::Action;
use crate::bpf::Instruction;
use crate::bpf::{
    ret, BPF_ABS, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_MISC, BPF_RET, BPF_RET_K,
    BPF_W, BPF_X,
};
use crate::flags::FilterFlags;
use crate::program::Program;

/// `SECCOMP_SET_MODE_FILTER`, the first argument of `seccomp(2)`.
const SET_MODE_FILTER: u32 = 1;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
const NEW_LISTENER: u32 = 8;

/// The guard in front of every routed program (see the module docs): on each ABI of
/// [`crate::arch::native_family`], `seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)` with the
/// `NEW_LISTENER` bit in the low word of `flags` returns `ERRNO(EBUSY)`; every other call
/// falls through to the first instruction after the guard, having only loaded `arch`,
/// `nr` and (for `seccomp` itself) the two low argument words into A. Calls other than
/// `seccomp` never load an argument here, so the kernel's constant-action cache still
/// applies to them.
pub fn listener_guard() -> Vec<Instruction> {
    // (audit arch, seccomp numbers on it): x32 shares x86_64's audit arch.
    let mut abis: Vec<(u32, Vec<u32>)> = Vec::new();
    for a in crate::arch::native_family() {
        let Some(nr) = crate::arch::resolve("seccomp", a) else {
            continue;
        };
        match abis.iter_mut().find(|(arch, _)| *arch == a.audit_arch) {
            Some((_, nrs)) => nrs.push(nr as u32),
            None => abis.push((a.audit_arch, vec![nr as u32])),
        }
    }
    let ld = |off: u32| Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, off);
    // The shared check: SET_MODE_FILTER with NEW_LISTENER returns EBUSY; anything else
    // goes to END, the instruction after the guard.
    let check = [
        ld(16), // args[0], low word
        Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, SET_MODE_FILTER, 0, 3),
        ld(24), // args[1], low word
        Instruction::jump(BPF_JMP | BPF_JSET | BPF_K, NEW_LISTENER, 0, 1),
        Instruction::stmt(BPF_RET | BPF_K, ret::ERRNO | libc::EBUSY as u32),
    ];
    // One block per ABI: "jeq arch (else next block); ld nr; jeq nr... (else END)". A
    // block is entered only from the previous block's arch test, so A still holds arch.
    let blocks_len: usize = abis.iter().map(|(_, nrs)| 2 + nrs.len()).sum();
    let start_check = 1 + blocks_len;
    let end = start_check + check.len();
    let mut out = vec![ld(4)];
    let n = abis.len();
    for (bi, (arch, nrs)) in abis.iter().enumerate() {
        let here = out.len();
        let next_block = here + 2 + nrs.len();
        let else_target = if bi + 1 == n { end } else { next_block };
        out.push(Instruction::jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            *arch,
            0,
            (else_target - here - 1) as u8,
        ));
        out.push(ld(0));
        for (i, nr) in nrs.iter().enumerate() {
            let at = out.len();
            let last = i + 1 == nrs.len();
            out.push(Instruction::jump(
                BPF_JMP | BPF_JEQ | BPF_K,
                *nr,
                (start_check - at - 1) as u8,
                if last { (end - at - 1) as u8 } else { 0 },
            ));
        }
    }
    out.extend(check);
    out
}

/// Whether `insns` could depend on the registers the guard leaves: a program after the
/// guard must start with an absolute load (which sets A) and never read X.
fn needs_fresh_registers(insns: &[Instruction]) -> bool {
    let first_is_load = insns
        .first()
        .is_some_and(|i| i.code == BPF_LD | BPF_W | BPF_ABS);
    let uses_x = insns.iter().any(|i| {
        let class = i.code & 0x07;
        let reads_x_operand =
            class != BPF_LDX && class != BPF_MISC && class != BPF_RET && i.code & BPF_X != 0;
        // BPF_MISC|BPF_TXA copies X into A.
        reads_x_operand || i.code == (BPF_MISC | 0x80)
    });
    !first_is_load || uses_x
}

/// Why a program cannot be routed to a tracing agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The program already returns `USER_NOTIF` (the profile has NOTIFY rules for its own
    /// agent): one filter has one notify fd, so its notifications cannot go to two agents.
    #[error(
        "instruction {index}: the profile already has SCMP_ACT_NOTIFY rules for its own agent; \
         trace, complain and record need the notify fd for themselves (remove the NOTIFY \
         rules, or trace with the agent's own logging)"
    )]
    AlreadyNotifies {
        /// Index of the first `RET USER_NOTIF`.
        index: usize,
    },
    /// The program does not start with an absolute load, or reads X: it could not run
    /// after the guard as it runs alone. libseccomp never emits one.
    #[error("the program does not start with a load or reads the X register: it cannot be routed")]
    Registers,
    /// A `RET` of the accumulator (a computed action): which action it returns is not
    /// known before the call, so it cannot be routed. libseccomp never emits one.
    #[error("instruction {index}: RET A returns a computed action, which cannot be routed")]
    ComputedReturn {
        /// Index of the instruction.
        index: usize,
    },
    /// The routed program differs from the original other than in routed `RET`s.
    #[error("instruction {index}: the routed program differs from the original ({reason})")]
    Mismatch {
        /// Index of the first difference.
        index: usize,
        /// What differs.
        reason: &'static str,
    },
}

/// Whether the kernel would carry out `action` by denying the call: the actions a tracing
/// agent takes over (`ERRNO`, `TRACE`, `KILL_THREAD`, `KILL_PROCESS`). `ALLOW` and `LOG` let
/// the call through; `TRAP` and `USER_NOTIF` stay in the kernel.
pub fn is_routed(action: Action) -> bool {
    matches!(
        action,
        Action::Errno(_) | Action::Trace(_) | Action::KillThread | Action::KillProcess
    )
}

/// The return value that replaces `k` in the routed program.
fn routed_ret(k: u32) -> u32 {
    if is_routed(Action::from_ret(k)) {
        ret::USER_NOTIF
    } else {
        k
    }
}

/// `program` with every denying `RET` replaced by `RET USER_NOTIF` (see the module docs).
/// The flags are kept; the result needs a listener whenever anything was routed.
///
/// # Errors
///
/// [`TraceError::AlreadyNotifies`] when the program already returns `USER_NOTIF`,
/// [`TraceError::ComputedReturn`] for a `RET A`. [`TraceError::Mismatch`] cannot happen
/// (the result is checked with [`check_routed`] before it is returned).
pub fn route_denials(program: &Program) -> Result<Program, TraceError> {
    if needs_fresh_registers(program.instructions()) {
        return Err(TraceError::Registers);
    }
    let guard = listener_guard();
    let mut out: Vec<Instruction> = Vec::with_capacity(guard.len() + program.len());
    out.extend(guard);
    for (index, insn) in program.instructions().iter().enumerate() {
        let mut insn = *insn;
        if insn.code & 0x07 == BPF_RET {
            if insn.code != BPF_RET_K {
                return Err(TraceError::ComputedReturn { index });
            }
            if Action::from_ret(insn.k) == Action::Notify {
                return Err(TraceError::AlreadyNotifies { index });
            }
            insn.k = routed_ret(insn.k);
        }
        out.push(insn);
    }
    // A notified thread waits killably once the agent read its notification (Linux
    // 5.19), so an ordinary signal cannot turn a routed denial into EINTR after that.
    let routed = Program::new(
        out,
        program.flags(),
        program.optional_flags() | FilterFlags::WAIT_KILLABLE_RECV,
    );
    check_routed(program, &routed)?;
    Ok(routed)
}

/// Checks that `routed` is [`listener_guard`] followed by `original` with only denying
/// `RET K` values replaced by `USER_NOTIF`: same length, the same flags plus the optional
/// `WAIT_KILLABLE_RECV`, every other instruction identical, and an original that starts
/// with a load and never reads X (so the guard's registers do not matter). With the
/// original proven against its profile, this makes the routed program's decision on every
/// input the original's, routed.
///
/// # Errors
///
/// [`TraceError::Mismatch`] at the first difference.
pub fn check_routed(original: &Program, routed: &Program) -> Result<(), TraceError> {
    let guard = listener_guard();
    let a = original.instructions();
    let Some(b) = routed.instructions().get(guard.len()..) else {
        return Err(TraceError::Mismatch {
            index: 0,
            reason: "length",
        });
    };
    if routed.instructions()[..guard.len()] != guard[..] {
        return Err(TraceError::Mismatch {
            index: 0,
            reason: "the listener guard",
        });
    }
    if needs_fresh_registers(a) {
        return Err(TraceError::Registers);
    }
    if a.len() != b.len() {
        return Err(TraceError::Mismatch {
            index: guard.len() + a.len().min(b.len()),
            reason: "length",
        });
    }
    if original.flags() != routed.flags()
        || original.optional_flags() | FilterFlags::WAIT_KILLABLE_RECV != routed.optional_flags()
    {
        return Err(TraceError::Mismatch {
            index: 0,
            reason: "filter flags",
        });
    }
    for (index, (x, y)) in a.iter().zip(b).enumerate() {
        if x.code != y.code || x.jt != y.jt || x.jf != y.jf {
            return Err(TraceError::Mismatch {
                index: guard.len() + index,
                reason: "opcode or jump",
            });
        }
        let want = if x.code == BPF_RET_K {
            routed_ret(x.k)
        } else {
            x.k
        };
        if y.k != want {
            return Err(TraceError::Mismatch {
                index: guard.len() + index,
                reason: "constant",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile, parse_profile, simulate, CompileOptions};

    fn program(json: &str) -> Program {
        compile(&parse_profile(json).unwrap(), &CompileOptions::default()).unwrap()
    }

    #[test]
    fn denials_go_to_the_agent_and_everything_else_is_unchanged() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13, "syscalls": [
                {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
                {"names": ["getuid"], "action": "SCMP_ACT_TRAP"},
                {"names": ["getgid"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["geteuid"], "action": "SCMP_ACT_TRACE"}]}"#,
        );
        let r = route_denials(&p).unwrap();
        assert!(r.needs_listener());
        assert!(r.optional_flags().contains(FilterFlags::WAIT_KILLABLE_RECV));
        let native = crate::arch::native();
        let nr = |n: &str| crate::arch::resolve(n, native).unwrap();
        for (name, want) in [
            ("getppid", Action::Allow),
            ("getpid", Action::Log),
            ("getuid", Action::Trap(0)),
            ("getgid", Action::Notify),
            ("geteuid", Action::Notify),
            ("getegid", Action::Notify),
        ] {
            let before = simulate(&p, native.audit_arch, nr(name), [0; 6]).unwrap();
            let after = simulate(&r, native.audit_arch, nr(name), [0; 6]).unwrap();
            assert_eq!(after.action, want, "{name}");
            // The same path after the guard: the same RET, after the guard's loads and
            // tests of arch and number (5 on x86_64: no argument is loaded).
            let guard = listener_guard().len();
            assert_eq!(after.ret_index, before.ret_index + guard, "{name}");
            assert!(after.executed <= before.executed + 6, "{name}");
        }
    }

    #[test]
    fn the_guard_refuses_a_second_listener_on_every_abi_and_nothing_else() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}"#,
        );
        let r = route_denials(&p).unwrap();
        let ebusy = Action::Errno(libc::EBUSY as u16);
        for a in crate::arch::native_family() {
            let nr = crate::arch::resolve("seccomp", a).unwrap();
            let run = |args: [u64; 6]| simulate(&r, a.audit_arch, nr, args).unwrap().action;
            // SET_MODE_FILTER with NEW_LISTENER (alone, with TSYNC, high bits set).
            assert_eq!(run([1, 8, 0, 0, 0, 0]), ebusy, "{}", a.name);
            assert_eq!(run([1, 9, 0, 0, 0, 0]), ebusy, "{}", a.name);
            assert_eq!(
                run([0xffff_ffff_0000_0001, 0xffff_ffff_0000_0008, 0, 0, 0, 0]),
                ebusy
            );
            // Other operations and flags keep the profile's decision, routed.
            let plain = |args: [u64; 6]| {
                let d = simulate(&p, a.audit_arch, nr, args).unwrap().action;
                if is_routed(d) {
                    Action::Notify
                } else {
                    d
                }
            };
            for args in [[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [3, 8, 0, 0, 0, 0]] {
                assert_eq!(run(args), plain(args), "{} {args:?}", a.name);
            }
        }
    }

    #[test]
    fn the_runtime_profile_carries_the_guard_as_entries() {
        // seccomp allowed without conditions, as in Docker's default.
        let spec = parse_profile(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["read", "seccomp", "getppid"], "action": "SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        let routed = route_profile(&spec, Runtime::Runc, "/run/agent.sock").unwrap();
        let rspec: oci_spec::runtime::LinuxSeccomp =
            serde_json::from_value(routed.profile.clone()).unwrap();
        let p = compile(&rspec, &CompileOptions::default()).unwrap();
        let native = crate::arch::native();
        let nr = crate::arch::resolve("seccomp", native).unwrap();
        let run = |a0: u64, a1: u64| {
            simulate(&p, native.audit_arch, nr, [a0, a1, 0, 0, 0, 0])
                .unwrap()
                .action
        };
        let ebusy = Action::Errno(libc::EBUSY as u16);
        assert_eq!(run(1, 8), ebusy);
        assert_eq!(run(1, 9), ebusy);
        assert_eq!(run(0x1_0000_0001, 0x1_0000_0008), ebusy);
        assert_eq!(run(1, 0), Action::Allow);
        assert_eq!(run(1, 1), Action::Allow);
        assert_eq!(run(2, 0), Action::Allow);
        assert_eq!(run(3, 0), Action::Allow);
        assert_eq!(run(0, 0), Action::Allow);
        let getppid = crate::arch::resolve("getppid", native).unwrap();
        let mkdir = crate::arch::resolve("mkdir", native).unwrap();
        let one = |nr| simulate(&p, native.audit_arch, nr, [0; 6]).unwrap().action;
        assert_eq!(one(getppid), Action::Allow);
        assert_eq!(one(mkdir), Action::Notify);
    }

    #[test]
    fn a_profile_with_its_own_notify_rules_is_refused() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(matches!(
            route_denials(&p),
            Err(TraceError::AlreadyNotifies { .. })
        ));
    }

    #[test]
    fn the_check_catches_any_other_change() {
        let p = program(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"}]}"#,
        );
        let r = route_denials(&p).unwrap();
        let mut insns = r.instructions().to_vec();
        // Turn one routed RET into ALLOW: weaker than the profile, must be caught.
        let i = insns
            .iter()
            .position(|x| x.code == BPF_RET_K && x.k == ret::USER_NOTIF)
            .unwrap();
        insns[i].k = ret::ALLOW;
        let forged = Program::new(insns, r.flags(), r.optional_flags());
        assert!(matches!(
            check_routed(&p, &forged),
            Err(TraceError::Mismatch { index, .. }) if index == i
        ));
    }
}

/// The runtime that will install a profile rewritten by [`route_profile`]: what it
/// refuses decides what cannot be routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Runtime {
    /// runc (1.1): refuses `SCMP_ACT_NOTIFY` as the default action and on `write`.
    Runc,
    /// crun (1.8): `SCMP_ACT_NOTIFY` as the default action is refused (crashes in 1.8).
    Crun,
}

/// A profile rewritten for a runtime that cannot route denials itself (runc, crun): what to
/// put in its `config.json`, and what stays in its kernel filter without a report.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RoutedProfile {
    /// The `linux.seccomp` object: every denying entry's action is `SCMP_ACT_NOTIFY`, and
    /// every syscall the default would deny (and no entry names) is listed with
    /// `SCMP_ACT_NOTIFY`; `listenerPath` is set.
    pub profile: serde_json::Value,
    /// What cannot be traced under this runtime, one sentence each.
    pub untraced: Vec<String>,
}

/// Rewrites `spec` so that `runtime` sends every call it denies to the agent at
/// `listener` (`oci-seccomp supervise --trace --profile` with the original profile, which
/// answers as the original would). The default action stays (no runtime accepts NOTIFY
/// there), so the syscalls it would deny are named one by one — every name libseccomp
/// knows for the profile's architectures that no entry names. Not routed, and listed in
/// [`RoutedProfile::untraced`]: calls of a syscall with conditional entries that match no
/// condition (they reach the default); syscalls libseccomp does not know; `write` under
/// runc; and `TRAP`.
///
/// # Errors
///
/// The [`crate::CompileError`] of validating `spec`, and
/// [`crate::CompileError::InvalidField`] when the profile already has NOTIFY rules (its
/// own agent would get our notifications).
pub fn route_profile(
    spec: &oci_spec::runtime::LinuxSeccomp,
    runtime: Runtime,
    listener: &str,
) -> Result<RoutedProfile, crate::CompileError> {
    use serde_json::{json, Value};
    let profile = crate::Profile::from_oci(spec, false)?;
    if let Some(i) = crate::profile::notify_entry(spec) {
        return Err(crate::CompileError::InvalidField {
            path: format!("syscalls[{i}].action"),
            value: "SCMP_ACT_NOTIFY".into(),
            reason: "the profile already notifies its own agent; tracing needs the notify fd"
                .into(),
        });
    }
    let mut out = serde_json::to_value(spec).map_err(|e| crate::CompileError::InvalidField {
        path: String::new(),
        value: String::new(),
        reason: e.to_string(),
    })?;
    let mut untraced = Vec::new();
    let refuses_write = runtime == Runtime::Runc;
    let mut named: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut conditional: std::collections::BTreeMap<String, usize> = Default::default();
    let mut extra: Vec<Value> = Vec::new();
    if let Some(entries) = out.get_mut("syscalls").and_then(Value::as_array_mut) {
        for (i, entry) in entries.iter_mut().enumerate() {
            let names: Vec<String> = entry["names"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let has_args = entry
                .get("args")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            for n in &names {
                named.insert(n.clone());
                if has_args {
                    conditional.entry(n.clone()).or_insert(i);
                }
            }
            let action = spec
                .syscalls()
                .as_ref()
                .and_then(|s| s.get(i))
                .map(|e| crate::profile::action_from_oci(e.action(), e.errno_ret()));
            if !action.is_some_and(is_routed) {
                if action.is_some_and(|a| matches!(a, Action::Trap(_))) {
                    untraced.push(format!(
                        "syscalls[{i}] (SCMP_ACT_TRAP): stays in the kernel, not reported"
                    ));
                }
                continue;
            }
            let keep: Vec<&String> = names
                .iter()
                .filter(|n| refuses_write && n.as_str() == "write")
                .collect();
            if !keep.is_empty() {
                // runc refuses NOTIFY on write: that name keeps its action, unreported.
                let mut kept = entry.clone();
                kept["names"] = json!(keep);
                extra.push(kept);
                untraced.push(format!(
                    "syscalls[{i}]: write keeps its action (runc refuses SCMP_ACT_NOTIFY on write), not reported"
                ));
                let rest: Vec<&String> = names.iter().filter(|n| n.as_str() != "write").collect();
                entry["names"] = json!(rest);
            }
            if let Some(obj) = entry.as_object_mut() {
                obj.insert("action".into(), json!("SCMP_ACT_NOTIFY"));
                obj.remove("errnoRet");
            }
        }
        entries.retain(|e| e["names"].as_array().is_none_or(|a| !a.is_empty()));
        entries.extend(extra);
    }
    if is_routed(profile.default_action()) {
        route_default(
            &profile,
            &mut out,
            &named,
            &conditional,
            refuses_write,
            &mut untraced,
        );
    }
    guard_entries(&mut out, spec, &mut untraced);
    for a in crate::arch::native_family() {
        if !profile.architectures().iter().any(|p| p.name == a.name) {
            untraced.push(format!(
                "calls on {} (not in architectures) get the runtime's bad-architecture action \
                 (SIGSYS), unreported",
                a.name
            ));
        }
    }
    if let Some(o) = out.as_object_mut() {
        o.insert("listenerPath".into(), json!(listener));
        // Drop nulls that oci-spec writes for absent optional fields.
        o.retain(|_, v| !v.is_null());
    }
    Ok(RoutedProfile {
        profile: out,
        untraced,
    })
}

/// For a profile whose default action is routed: every syscall the profile does not name
/// gets one NOTIFY entry (not `write` under runc), and what stays unreported is said.
fn route_default(
    profile: &crate::Profile,
    out: &mut serde_json::Value,
    named: &std::collections::BTreeSet<String>,
    conditional: &std::collections::BTreeMap<String, usize>,
    refuses_write: bool,
    untraced: &mut Vec<String>,
) {
    use serde_json::{json, Value};
    let mut listed: std::collections::BTreeSet<String> = Default::default();
    for a in profile.architectures() {
        listed.extend(crate::arch::all_syscall_names(a));
    }
    let mut routed: Vec<String> = listed
        .into_iter()
        .filter(|n| !named.contains(n))
        .filter(|n| !(refuses_write && n == "write"))
        .collect();
    routed.sort();
    if refuses_write && !named.contains("write") {
        untraced.push(
            "write: gets the default action unreported (runc refuses SCMP_ACT_NOTIFY on write)"
                .into(),
        );
    }
    for (name, i) in conditional {
        untraced.push(format!(
            "{name}: calls that match no condition of syscalls[{i}] get the default action, unreported"
        ));
    }
    untraced.push(
        "syscalls newer than libseccomp's table get the default action (or the ENOSYS stub), unreported"
            .into(),
    );

    if !routed.is_empty() {
        if let Some(entries) = out
            .as_object_mut()
            .map(|o| o.entry("syscalls").or_insert_with(|| json!([])))
            .and_then(Value::as_array_mut)
        {
            entries.push(json!({"names": routed, "action": "SCMP_ACT_NOTIFY"}));
        }
    }
}

/// The listener guard as profile entries, for a runtime's own filter (see
/// [`listener_guard`]): `seccomp(SECCOMP_SET_MODE_FILTER, flags)` with `NEW_LISTENER` in the
/// low word of `flags` gets `ERRNO(EBUSY)`. Where the profile allows `seccomp` without
/// conditions, that entry loses the name and `seccomp` is allowed again for every other
/// operation by disjoint entries (operations 0, 2, 3, and 1 without the flag; `op` and
/// `flags` are `unsigned int`, so only their low words are compared). Where the profile
/// denies `seccomp`, its denial is already routed and nothing is added. Conditional
/// entries on `seccomp` are left as they are, with a note.
fn guard_entries(
    out: &mut serde_json::Value,
    spec: &oci_spec::runtime::LinuxSeccomp,
    untraced: &mut Vec<String>,
) {
    use serde_json::{json, Value};
    let low = |index: u32, value: u64| json!({"index": index, "value": 0xffff_ffffu64, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"});
    let busy = json!({"names": ["seccomp"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EBUSY,
        "args": [low(0, u64::from(SET_MODE_FILTER)),
                 {"index": 1, "value": NEW_LISTENER, "valueTwo": NEW_LISTENER, "op": "SCMP_CMP_MASKED_EQ"}]});
    let entries = spec.syscalls().as_deref().unwrap_or_default();
    let names_seccomp =
        |e: &oci_spec::runtime::LinuxSyscall| e.names().iter().any(|n| n == "seccomp");
    let conditional = entries
        .iter()
        .any(|e| names_seccomp(e) && e.args().as_ref().is_some_and(|a| !a.is_empty()));
    let unconditional = entries
        .iter()
        .enumerate()
        .find(|(_, e)| names_seccomp(e) && e.args().as_ref().is_none_or(|a| a.is_empty()));
    let default_lets_through =
        crate::profile::action_from_oci(spec.default_action(), spec.default_errno_ret())
            .lets_through();
    let Some(list) = out.get_mut("syscalls").and_then(Value::as_array_mut) else {
        if default_lets_through {
            if let Some(o) = out.as_object_mut() {
                o.insert("syscalls".into(), json!([busy]));
            }
        }
        return;
    };
    if conditional {
        untraced.push(
            "seccomp has conditional entries: the listener guard entry is added after them; \
             check that a container cannot install a notify listener of its own"
                .into(),
        );
        list.push(busy);
        return;
    }
    match unconditional {
        Some((i, e)) => {
            let action = crate::profile::action_from_oci(e.action(), e.errno_ret());
            if !action.lets_through() {
                return; // denied, so routed: no listener can be installed
            }
            if let Some(names) = list.get_mut(i).and_then(|x| x["names"].as_array_mut()) {
                names.retain(|n| n != "seccomp");
            }
            let act = serde_json::to_value(e.action()).unwrap_or(json!("SCMP_ACT_ALLOW"));
            for op in [0u64, 2, 3] {
                list.push(json!({"names": ["seccomp"], "action": act, "args": [low(0, op)]}));
            }
            list.push(json!({"names": ["seccomp"], "action": act,
                "args": [low(0, u64::from(SET_MODE_FILTER)),
                         {"index": 1, "value": NEW_LISTENER, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}));
            list.push(busy);
            list.retain(|x| x["names"].as_array().is_none_or(|a| !a.is_empty()));
        }
        None if default_lets_through => list.push(busy),
        None => {} // the default denies seccomp: routed
    }
}
