//! Lints that find a way around a deny: io_uring, another syscall of the same family,
//! socketcall, the upper bits of an argument the kernel reads narrower, KILL_THREAD.

use super::tables::{FAMILIES, VITAL};
use super::{action_text, is_deny, Context, Finding, Findings, Severity, Work};
use crate::action::Action;
use crate::arch;
use crate::arch::errno::ENOSYS;
use crate::profile::{action_from_oci, ArgReading, Condition};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompArg, LinuxSeccompOperator};
/// Calls an io_uring ring carries out without a syscall of their own (`IORING_OP_*`).
pub(super) const IO_URING_OPS: &[&str] = &[
    "openat",
    "openat2",
    "connect",
    "accept",
    "accept4",
    "socket",
    "read",
    "write",
    "readv",
    "writev",
    "sendmsg",
    "recvmsg",
    "sendto",
    "recvfrom",
    "unlinkat",
    "renameat",
    "renameat2",
    "mkdirat",
    "symlinkat",
    "linkat",
    "statx",
    "fsync",
    "fallocate",
    "fadvise64",
    "madvise",
    "splice",
    "tee",
    "shutdown",
    "setxattr",
    "getxattr",
    "fsetxattr",
    "fgetxattr",
    "close",
];

/// `io-uring-bypass` (warning): the profile denies a call an io_uring ring can make on
/// the caller's behalf (`openat`, `connect`, ...) while `io_uring_setup` is allowed: the
/// ring's operations never pass seccomp, so the deny can be stepped around.
pub(super) fn io_uring_bypass(cx: &Context<'_>, out: &mut Findings) {
    // Only a deny whatever the arguments closes the rings: a conditional entry leaves
    // some io_uring_setup calls through.
    let (setup, at) = cx.unconditional_action("io_uring_setup");
    if setup.is_some_and(|a| !a.lets_through()) {
        return;
    }
    let denied: Vec<&str> = IO_URING_OPS
        .iter()
        .copied()
        .filter(|n| cx.mentions.contains_key(n))
        .filter(|n| {
            !cx.unconditional_action(n)
                .0
                .is_some_and(|a| a.lets_through())
        })
        .collect();
    if denied.is_empty() {
        return;
    }
    out.push(Finding::new(
        Severity::Warning,
        "io-uring-bypass",
        at.map_or_else(|| "defaultAction".to_string(), |i| format!("syscalls[{i}]")),
        format!(
            "io_uring_setup is allowed (for some arguments at least) while {} {} denied (or \
             conditional): an io_uring ring \
             performs those operations without a syscall seccomp sees, so the denial can be \
             stepped around; deny io_uring_setup, io_uring_enter and io_uring_register (Docker \
             does since 25.0)",
            denied.join(", "),
            if denied.len() == 1 { "is" } else { "are" }
        ),
    ));
}

/// `kill-thread` (note): `SCMP_ACT_KILL` (= `SCMP_ACT_KILL_THREAD`) ends only the thread
/// that made the call; the process runs on without it. Go programs hung that way
/// (golang/go#30753: the runtime waits for a thread that is gone), and so did systemd
/// services (systemd/systemd#11967); `SCMP_ACT_KILL_PROCESS` (Linux 4.14) ends the whole
/// process.
pub(super) fn kill_thread(path: &str, action: Action, out: &mut Findings) {
    if action != Action::KillThread {
        return;
    }
    out.push(Finding::new(
        Severity::Note,
        "kill-thread",
        path.to_string(),
        "SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD kill only the calling thread: the process \
         runs on without it, and a multi-threaded one (a Go program, a service) may hang \
         waiting for it (golang/go#30753, systemd/systemd#11967); SCMP_ACT_KILL_PROCESS \
         ends the whole process"
            .to_string(),
    ));
}

/// `vital-denied` (warning): a syscall every process needs ([`VITAL`]) is refused
/// whatever its arguments, so processes die or hang.
pub(super) fn vital_denied(cx: &Context<'_>, out: &mut Findings) {
    for (name, why) in VITAL {
        let (decided, entry) = cx.unconditional_action(name);
        if let Some(a) = decided {
            if is_deny(a) {
                let path = entry
                    .map(|k| format!("syscalls[{k}]"))
                    .unwrap_or_else(|| "defaultAction".into());
                out.push(Finding::new(
                    Severity::Warning,
                    "vital-denied",
                    path,
                    format!("{name} gets {}: {why}", action_text(a)),
                ));
            }
        }
    }
}

/// `clone3-default` (note): `clone3` is not listed, `clone` is allowed, and the default
/// refuses with an errno other than ENOSYS: the stub answers ENOSYS only for syscalls
/// newer than every listed one, so glibc may not fall back to `clone`.
pub(super) fn clone3_default(cx: &Context<'_>, out: &mut Findings) {
    if let (Some(Action::Errno(err)), None) = cx.unconditional_action("clone3") {
        let clone_allowed = cx.entries.iter().any(|e| {
            e.names().iter().any(|n| n == "clone")
                && action_from_oci(e.action(), e.errno_ret()).lets_through()
        });
        if clone_allowed && err != ENOSYS {
            out.push(Finding::new(
                Severity::Note,
                "clone3-default",
                "defaultAction",
                format!(
                    "clone3 is not listed and the default gives errno {err}; our ENOSYS stub (and \
                     runc's) answers ENOSYS only for syscalls newer than every listed one, and crun \
                     gives the default: list clone3 with \"errnoRet\": {ENOSYS} so glibc falls back to clone"
                ),
            ));
        }
    }
}

/// `family-bypass` (warning): one member of a family of syscalls that do the same job
/// ([`FAMILIES`]) is refused while another is allowed outright, so the refusal can be
/// stepped around.
pub(super) fn family_bypass(cx: &Context<'_>, out: &mut Findings) {
    for family in FAMILIES {
        let decided: Vec<(&str, Option<Action>, Option<usize>)> = family
            .iter()
            .filter(|n| arch::resolve(n, arch::native()).is_some() || **n == "socketcall")
            .map(|n| {
                let (a, e) = cx.unconditional_action(n);
                (*n, a, e)
            })
            .collect();
        for (n, a, e) in &decided {
            let (Some(a), Some(k)) = (a, e) else { continue };
            // ENOSYS is not a refusal but "use the older call" (Docker's clone3 rule):
            // the family member that answers is then the one to filter.
            if !is_deny(*a) || *a == Action::Errno(ENOSYS) {
                continue;
            }
            let open: Vec<&str> = decided
                .iter()
                .filter(|(m, b, _)| {
                    m != n && b.is_some_and(|b| b == Action::Allow || b == Action::Log)
                })
                .map(|(m, _, _)| *m)
                .collect();
            // Refusing the multiplexer while the direct call is allowed is the safe
            // direction (Docker does it), not a bypass.
            if !open.is_empty() && *n != "socketcall" {
                out.push(Finding::new(
                    Severity::Warning,
                    "family-bypass",
                    format!("syscalls[{k}]"),
                    format!(
                        "{n} is refused but {} doing the same job {} allowed: filter the family together",
                        open.join(", "),
                        if open.len() == 1 { "is" } else { "are" }
                    ),
                ));
            }
        }
    }
}

/// `socketcall-bypass` (warning): with the x86 ABI in the filter, a conditional ALLOW
/// for `socket` cannot be checked on `socketcall(SYS_SOCKET)`, whose arguments the filter
/// cannot see: our generator gives it the strictest outcome (usually the default, so
/// i386 programs cannot make sockets that way), libseccomp's would allow it unchecked
/// (the complete check refuses that program). Refusing `socketcall` says what is meant.
pub(super) fn socketcall_bypass(cx: &Context<'_>, out: &mut Findings) {
    let has_x86 = cx
        .spec
        .architectures()
        .iter()
        .flatten()
        .any(|a| arch::from_oci(*a).name == "SCMP_ARCH_X86")
        || arch::native().name == "SCMP_ARCH_X86";
    if !has_x86 {
        return;
    }
    let filtered_socket = cx.entries.iter().position(|e| {
        e.names().iter().any(|n| n == "socket")
            && e.args().as_ref().is_some_and(|a| !a.is_empty())
            && action_from_oci(e.action(), e.errno_ret()).lets_through()
    });
    let socketcall_denied = cx.entries.iter().any(|e| {
        e.names().iter().any(|n| n == "socketcall")
            && is_deny(action_from_oci(e.action(), e.errno_ret()))
    });
    // An unconditional rule for socketcall itself decides every call through it.
    let socketcall_outright = cx
        .mentions
        .get("socketcall")
        .and_then(|m| m.first_unconditional)
        .filter(|(_, a)| a.lets_through());
    if let (Some(k), Some((j, a))) = (filtered_socket, socketcall_outright) {
        out.push(Finding::new(
            Severity::Warning,
            "socketcall-bypass",
            format!("syscalls[{k}]"),
            format!(
                "socket is allowed with argument conditions and the x86 ABI is in the filter, \
                 but syscalls[{j}] gives socketcall {} outright: i386 socket calls made \
                 through socketcall are not checked against these conditions at all (any \
                 family); refuse socketcall (our default answers it with ENOSYS; 32-bit programs \
                 whose C library calls only socketcall, as glibc built for kernels before \
                 4.3 does, then cannot use sockets) or leave x86 out",
                action_text(a)
            ),
        ));
        return;
    }
    if let Some(k) = filtered_socket {
        if !socketcall_denied {
            out.push(Finding::new(
                Severity::Warning,
                "socketcall-bypass",
                format!("syscalls[{k}]"),
                "socket is allowed with argument conditions and the x86 ABI is in the filter: \
                 the filter cannot see the arguments of i386 socketcall(SYS_SOCKET), so it gets \
                 the strictest outcome of this entry and the default (libseccomp's generator \
                 would allow it with no check, and that program is refused); deny socketcall \
                 (our default answers it with ENOSYS; 32-bit programs whose C library calls \
                 only socketcall, as glibc built for kernels before 4.3 does, then cannot use \
                 sockets)"
                    .into(),
            ));
        }
    }
}

/// Whether `arg` satisfies `a` as libseccomp compares on a 64-bit ABI: the profile's
/// own comparison ([`Condition::matches`]).
pub(super) fn arg_matches(a: &LinuxSeccompArg, arg: u64) -> bool {
    Condition::from_oci(a).matches(arg)
}

/// Two register values that the kernel reads alike (same low `bits`) on which the
/// comparison disagrees: `(plain, dodged)`, `plain` with its upper bits clear. `None` when
/// the upper bits cannot change the comparison's result.
pub(crate) fn dodge(a: &LinuxSeccompArg, bits: u8) -> Option<(u64, u64)> {
    let mask = crate::arch::argwidth::read_mask(bits);
    let (v, v2) = (a.value() & mask, a.value_two().unwrap_or(0) & mask);
    let lows = [
        v,
        v2,
        v.wrapping_add(1) & mask,
        v.wrapping_sub(1) & mask,
        0,
        mask,
    ];
    let highs = [
        1u64 << bits,
        !mask,
        !mask & (1u64 << 63),
        !mask & 0xffff_ffff_0000_0000,
    ];
    for low in lows {
        for high in highs {
            let dodged = low | high;
            if arg_matches(a, low) != arg_matches(a, dodged) {
                return Some((low, dodged));
            }
        }
    }
    None
}

/// Every ABI in the filter (the native one included).
pub(super) fn filter_abis(spec: &LinuxSeccomp) -> Vec<&'static crate::arch::ArchInfo> {
    let mut abis = vec![arch::native()];
    for a in spec.architectures().iter().flatten() {
        let info = arch::from_oci(*a);
        if !abis.iter().any(|b| b.name == info.name) {
            abis.push(info);
        }
    }
    abis
}

/// `arg-width` (warning when the dodge reaches a weaker action, note otherwise): a 32-bit
/// (or 16-bit) argument compared as 64 bits. The upper bits reach the filter but not the
/// syscall, so a caller can set them to step around the comparison ([`crate::arch::argwidth`]).
/// Under [`ArgReading::Kernel`] (the default) our program decides on the bits the kernel
/// reads and the finding says so; it stays, because runc and crun (the literal reading)
/// install the same profile with the dodge.
pub(super) fn arg_width(cx: &Context<'_>, work: &mut Work<'_>, out: &mut Findings) {
    let (entries, default) = (cx.entries, cx.default);
    let abis = filter_abis(cx.spec);
    let Some(wide) = abis.iter().find(|a| !a.narrow_args()) else {
        return;
    };
    for (i, e) in entries.iter().enumerate() {
        // Every comparison is looked at for every name of its entry.
        // A pair costs about ten steps' time (a look-up in the width table).
        let pairs = e.args().as_ref().map_or(0, Vec::len) * e.names().len();
        if !work.budget.charge(1 + 10 * pairs as u64) {
            work.partial.push((
                "arg-width",
                format!("entries from syscalls[{i}] on not checked"),
            ));
            return;
        }
        for (j, a) in e.args().iter().flatten().enumerate() {
            let index = a.index();
            for n in e.names() {
                let Some(bits) = crate::arch::argwidth::dodgeable_bits(n, index, wide) else {
                    continue;
                };
                let Some((plain, dodged)) = dodge(a, bits) else {
                    continue;
                };
                let info =
                    crate::arch::argwidth::arg_info(n, index).expect("dodgeable_bits knows it");
                let mask = crate::arch::argwidth::read_mask(bits);
                let verb = |m: bool| if m { "matches" } else { "does not match" };
                // Which way the dodge goes: to a weaker action (an escape: warning) or to a
                // stricter one (calls refused that the author meant to let through: note).
                let action = action_from_oci(e.action(), e.errno_ret());
                let outcome = |m: bool| if m { action } else { default };
                let (mut got_plain, mut got_dodged) = (
                    outcome(arg_matches(a, plain)),
                    outcome(arg_matches(a, dodged)),
                );
                let mut escapes =
                    crate::action::strictness(got_dodged) < crate::action::strictness(got_plain);
                // The value the entry names is what its author meant: if a call the kernel
                // reads as that same value (zero- or sign-extended, or with other upper
                // bits) gets a weaker action than the value itself, that call escapes the
                // entry, whichever of the two the search above happened to pick.
                let named = if a.op() == LinuxSeccompOperator::ScmpCmpMaskedEq {
                    a.value_two().unwrap_or(0) & a.value()
                } else {
                    a.value()
                };
                let low = named & mask;
                let sign = 1u64 << (bits - 1);
                let signed = if low & sign != 0 { low | !mask } else { low };
                let meant = outcome(arg_matches(a, named));
                for m in [low, signed, low | !mask, low | (1u64 << bits)] {
                    let got = outcome(arg_matches(a, m));
                    if !escapes && crate::action::strictness(got) < crate::action::strictness(meant)
                    {
                        escapes = true;
                        (got_plain, got_dodged) = (meant, got);
                    }
                }
                let (severity, effect) = arg_width_effect(escapes, got_plain, got_dodged);
                if out.full("arg-width", severity) {
                    continue;
                }
                let fix = arg_width_fix(a, mask);
                let message = match cx.reading {
                    ArgReading::Literal => format!(
                        "{n} reads argument {index} as `{} {}` ({bits} bits; \
                         include/linux/syscalls.h), but on {} the filter compares all 64 bits \
                         (--arg-reading literal, as runc): {dodged:#x} {} this comparison while \
                         {plain:#x} {}, and the kernel runs both as {plain:#x}: {effect}; {fix}",
                        info.ty,
                        info.name,
                        wide.name,
                        verb(arg_matches(a, dodged)),
                        verb(arg_matches(a, plain)),
                    ),
                    _ => format!(
                        "{n} reads argument {index} as `{} {}` ({bits} bits; \
                         include/linux/syscalls.h): oci-seccomp decides this comparison on \
                         those {bits} bits (the kernel's reading, the default), so {dodged:#x} \
                         gets what {plain:#x} gets. runc and crun compare all 64 bits on {}: \
                         there {dodged:#x} {} this comparison while {plain:#x} {}, and the \
                         kernel runs both as {plain:#x}: {effect}; for a profile that holds \
                         under them too, {fix}",
                        info.ty,
                        info.name,
                        wide.name,
                        verb(arg_matches(a, dodged)),
                        verb(arg_matches(a, plain)),
                    ),
                };
                out.push(Finding::new(
                    severity,
                    "arg-width",
                    format!("{}.args[{j}]", format_args!("syscalls[{i}]")),
                    message,
                ));
            }
        }
    }
}

/// How `arg-width` says to compare only the bits the kernel reads (`mask`) in comparison `a`.
fn arg_width_fix(a: &LinuxSeccompArg, mask: u64) -> String {
    match a.op() {
        LinuxSeccompOperator::ScmpCmpEq | LinuxSeccompOperator::ScmpCmpMaskedEq => {
            format!(
                "use SCMP_CMP_MASKED_EQ with value (the mask) {mask:#x} and valueTwo \
                 {:#x}, which compares only the bits the kernel reads",
                if a.op() == LinuxSeccompOperator::ScmpCmpEq {
                    a.value() & mask
                } else {
                    a.value_two().unwrap_or(0) & a.value() & mask
                }
            )
        }
        _ => format!(
            "compare only the bits the kernel reads: SCMP_CMP_MASKED_EQ with value \
             (the mask) {mask:#x} for each value, or another entry for the calls \
             whose bits above {mask:#x} are set (SCMP_CMP_GT {mask:#x})"
        ),
    }
}

/// The severity and the words of an `arg-width` finding: a warning when a call escapes to
/// a weaker action, a note when it only gets a stricter one.
fn arg_width_effect(escapes: bool, got_plain: Action, got_dodged: Action) -> (Severity, String) {
    if escapes {
        (
            Severity::Warning,
            format!(
                "a call gets {} instead of {}",
                action_text(got_dodged),
                action_text(got_plain)
            ),
        )
    } else {
        (
            Severity::Note,
            format!(
                "such a call gets {} instead of {} (stricter, so no escape, but \
                 not what the entry says)",
                action_text(got_dodged),
                action_text(got_plain)
            ),
        )
    }
}
