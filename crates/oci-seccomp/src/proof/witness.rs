//! A failed proof's witness, in words: the call, what the program returns, what the
//! profile says, and the entry to look at.

use crate::arch::{self, multiplexes, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::bpf::SeccompData;
use crate::error::{CompileError, Miscompiled};
use crate::profile::semantics::Cause;
use crate::profile::Profile;

use super::Counterexample;

/// Text for a call: `getppid(0x1, 0x0, ...) on SCMP_ARCH_X86_64`.
pub fn describe_call(point: &SeccompData) -> String {
    let nr = point.nr as u32;
    let arch = arch::ALL.iter().find(|a| {
        a.audit_arch == point.arch
            && (a.x32 == (nr & X32_SYSCALL_BIT != 0) || a.audit_arch != AUDIT_ARCH_X86_64)
    });
    let Some(a) = arch else {
        return format!("syscall {nr:#x} on audit arch {:#x}", point.arch);
    };
    let name = arch::syscall_name(point.nr, a).unwrap_or_else(|| format!("syscall {}", point.nr));
    let args: Vec<String> = point.args.iter().map(|v| format!("{v:#x}")).collect();
    format!("{name}({}) on {}", args.join(", "), a.name)
}

pub(crate) fn describe(profile: &Profile, cx: &Counterexample) -> CompileError {
    let want: Vec<String> = cx
        .want
        .outcomes
        .iter()
        .map(|(a, c)| format!("{a} ({c})"))
        .collect();
    let entry = match &cx.want.outcomes[0].1 {
        Cause::Entry(e) | Cause::Multiplexed { entry: e, .. } => format!("syscalls[{e}]"),
        Cause::Default => {
            // The program took an entry's action where none matches: name the entries
            // of that syscall.
            let entries: Vec<String> = profile
                .rules()
                .iter()
                .filter(|r| {
                    profile.architectures().iter().any(|a| {
                        arch::resolve(&r.name, a).map(|n| n as u32) == Some(cx.point.nr as u32)
                    })
                })
                .map(|r| format!("syscalls[{}]", r.entry))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if entries.is_empty() {
                "defaultAction".into()
            } else {
                entries.join(", ")
            }
        }
        Cause::Stub | Cause::BadArch => "<filter>".into(),
    };
    // The witness is a call through `socketcall` or `ipc` on an architecture that has them.
    let through_multiplexer = profile.architectures().iter().any(|a| {
        a.audit_arch == cx.point.arch
            && multiplexes(a)
            && ["socketcall", "ipc"]
                .iter()
                .any(|m| arch::resolve(m, a).map(|n| n as u32) == Some(cx.point.nr as u32))
    });
    let mux = through_multiplexer || matches!(cx.want.outcomes[0].1, Cause::Multiplexed { .. });
    let hint = if mux {
        "the filter cannot read a socket or IPC call's arguments through socketcall/ipc; \
         libseccomp applies the entry's conditions to the multiplexer's own registers, and \
         tests ipc's whole first register although the kernel reads the call from its low 16 \
         bits. Add an \
         unconditional rule for the multiplexer (socketcall or ipc), or leave the architecture out"
    } else {
        "libseccomp 2.5 builds wrong programs for some profiles (conditional rules on one \
         argument merged wrongly, a missing load of the syscall number in a later \
         architecture's block); rewrite the conditions, for example with one entry per range, \
         or list fewer architectures"
    };
    let (arch, nr, args) = (cx.point.arch, cx.point.nr as u32, cx.point.args);
    CompileError::Miscompiled {
        witness: Some(Box::new(Miscompiled {
            arch,
            nr,
            args,
            got: cx.got,
            want: cx.want.outcomes.iter().map(|(a, _)| *a).collect(),
            at_least: cx.want.at_least,
        })),
        entry,
        detail: format!(
            "for {} the program libseccomp {} built returns {} instead of {}; {hint}",
            describe_call(&cx.point),
            arch::libseccomp_version_string(),
            cx.got,
            want.join(" or "),
        ),
    }
}
