//! The calls a container runtime makes itself after it installed the filter and before the
//! workload's first instruction runs.
//!
//! A profile is enforced from the runtime's install point on, not from the workload's
//! `execve`: whatever the runtime still does in between must be allowed too, or the
//! container does not start. runc 1.1.5, for one, checks that `/proc/self/fd` is on procfs
//! (`fstatfs`) after the install and stops with "ensure /proc/self/fd is on procfs:
//! operation not permitted" when the profile denies it. A profile learned from the
//! workload alone (`oci-seccomp record`) never sees these calls; the Security Profiles
//! Operator ships per-runtime base profiles for the same reason.
//!
//! The lists below were measured on Debian 12 (x86_64, Linux 6.x) with
//! `strace -f` around `runc run`, `crun run` and `oci-seccomp run --bundle`, busybox
//! bundles with and without `process.noNewPrivileges`: every call of the installing thread
//! from the install (`prctl(PR_SET_SECCOMP)` for runc, `seccomp(SECCOMP_SET_MODE_FILTER)`
//! for crun and us) up to and including the workload's `execve`, over 15 runs each. runc is
//! a Go program: its list adds the calls Go's runtime may make on any thread at any time
//! (scheduling, signals, memory), which a measurement catches only sometimes.
//! `tests/tests/runtime_start.rs` starts recorded profiles under runc and crun themselves.
//!
//! Each call is marked [`RuntimeCall::required`] when denying it alone (`ERRNO(1)`, busybox
//! bundle, both settings) stopped the start: runc 1.1.5 needs `close`, `fstatfs`,
//! `getdents64`, `openat`, `write` and, without no-new-privileges, its identity calls;
//! crun 1.8.1 survived a denied `close` and `setgroups` (no supplementary groups), runc
//! every Go runtime call tried. `record` adds every call made; `check --runtime` errs on a
//! missing required call and warns on the others.
//!
//! Without no-new-privileges, each runtime installs the filter before it sets the user,
//! groups and capabilities (the install needs CAP_SYS_ADMIN then), so many more calls
//! follow it. With no-new-privileges the install is the last step before `execve`.

use std::fmt;

/// A container runtime whose own calls after the install a profile must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Runtime {
    /// runc (measured: 1.1.5).
    Runc,
    /// crun (measured: 1.8.1).
    Crun,
    /// `oci-seccomp run` (this project's launcher).
    OciSeccomp,
}

/// `prctl` options (`include/uapi/linux/prctl.h`).
const PR_SET_KEEPCAPS: u64 = 8;
const PR_CAPBSET_READ: u64 = 23;
const PR_CAPBSET_DROP: u64 = 24;
const PR_CAP_AMBIENT: u64 = 47;

/// One call a runtime makes after its install point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct RuntimeCall {
    /// The syscall's name (libseccomp's).
    pub name: &'static str,
    /// The value of argument 0 when only that form of the call is made (`prctl`'s
    /// option); `None` when the runtime makes the call with arguments no profile should
    /// have to predict.
    pub arg0: Option<u64>,
    /// Whether denying it (`ERRNO(1)`) stopped the runtime from starting a busybox
    /// workload when measured; the others are made, but their failure was survived (Go's
    /// runtime calls, crun's `close`), or were not tried one by one.
    pub required: bool,
}

impl fmt::Display for RuntimeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name, self.arg0) {
            ("prctl", Some(op)) => write!(f, "prctl({})", prctl_option_name(op)),
            (n, Some(v)) => write!(f, "{n}({v}, ...)"),
            (n, None) => f.write_str(n),
        }
    }
}

fn prctl_option_name(op: u64) -> String {
    match op {
        PR_SET_KEEPCAPS => "PR_SET_KEEPCAPS".into(),
        PR_CAPBSET_READ => "PR_CAPBSET_READ".into(),
        PR_CAPBSET_DROP => "PR_CAPBSET_DROP".into(),
        PR_CAP_AMBIENT => "PR_CAP_AMBIENT".into(),
        other => other.to_string(),
    }
}

/// A call made with any arguments, whose denial the runtime survived.
const fn any(name: &'static str) -> RuntimeCall {
    RuntimeCall {
        name,
        arg0: None,
        required: false,
    }
}

/// A call made with any arguments, whose denial stops the runtime.
const fn needs(name: &'static str) -> RuntimeCall {
    RuntimeCall {
        name,
        arg0: None,
        required: true,
    }
}

/// `prctl` with one option, whose denial stops the runtime.
const fn prctl(op: u64) -> RuntimeCall {
    RuntimeCall {
        name: "prctl",
        arg0: Some(op),
        required: true,
    }
}

/// runc with no-new-privileges: the `/proc/self/fd` check, closing inherited fds, the exec
/// fifo, and `execve`.
const RUNC: &[RuntimeCall] = &[
    needs("close"),
    any("epoll_ctl"),
    needs("execve"),
    needs("fstatfs"),
    needs("getdents64"),
    needs("openat"),
    needs("write"),
    // Go's runtime, on any thread: locks, signals (preemption), memory, exit.
    any("futex"),
    any("nanosleep"),
    any("sched_yield"),
    any("rt_sigreturn"),
    any("rt_sigprocmask"),
    any("sigaltstack"),
    any("mmap"),
    any("munmap"),
    any("madvise"),
    any("getpid"),
    any("gettid"),
    any("tgkill"),
    any("epoll_pwait"),
    any("exit_group"),
];

/// runc without no-new-privileges, in addition: groups, user, capabilities (bounding set,
/// ambient set, keep-caps across the uid change), the working directory, the lookup of
/// `process.args[0]`.
const RUNC_PRIVILEGED: &[RuntimeCall] = &[
    needs("capget"),
    needs("capset"),
    needs("chdir"),
    any("faccessat2"),
    any("fcntl"),
    needs("fstat"),
    needs("getcwd"),
    needs("getppid"),
    needs("newfstatat"),
    needs("read"),
    needs("setgid"),
    needs("setgroups"),
    needs("setuid"),
    prctl(PR_SET_KEEPCAPS),
    prctl(PR_CAPBSET_DROP),
    prctl(PR_CAP_AMBIENT),
];

/// crun with no-new-privileges: it closes the sync fd and execs.
const CRUN: &[RuntimeCall] = &[any("close"), needs("execve")];

/// crun without no-new-privileges, in addition: capabilities, user and groups, signal
/// dispositions and mask reset, the sync message.
const CRUN_PRIVILEGED: &[RuntimeCall] = &[
    needs("capset"),
    needs("rt_sigaction"),
    needs("rt_sigprocmask"),
    any("setgroups"),
    needs("setresgid"),
    needs("setresuid"),
    needs("write"),
    prctl(PR_SET_KEEPCAPS),
    prctl(PR_CAPBSET_DROP),
    prctl(PR_CAP_AMBIENT),
];

/// `oci-seccomp run` with no-new-privileges: the install is the last step before exec;
/// with a listener (NOTIFY rules) the handoff then waits for the parent (`futex`) and
/// closes the child's copy of the notify fd.
const OCI_SECCOMP: &[RuntimeCall] = &[needs("execve"), any("futex"), any("close")];

/// `oci-seccomp run` without no-new-privileges, in addition: the working directory,
/// rlimits, user, capabilities, and the read-back of all of them that the launcher makes
/// when the profile does not simply allow the calls that set them.
const OCI_SECCOMP_PRIVILEGED: &[RuntimeCall] = &[
    needs("chdir"),
    needs("prlimit64"),
    needs("setresgid"),
    needs("setresuid"),
    needs("capset"),
    needs("capget"),
    needs("getresuid"),
    needs("getresgid"),
    needs("getgroups"),
    needs("getrlimit"),
    prctl(PR_SET_KEEPCAPS),
    prctl(PR_CAPBSET_READ),
    prctl(PR_CAP_AMBIENT),
];

impl Runtime {
    /// Every runtime, in a fixed order.
    pub const ALL: [Runtime; 3] = [Runtime::Runc, Runtime::Crun, Runtime::OciSeccomp];

    /// The name used on command lines and in profiles: `runc`, `crun`, `oci-seccomp`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Runc => "runc",
            Self::Crun => "crun",
            Self::OciSeccomp => "oci-seccomp",
        }
    }

    /// The runtime called `name` ([`Runtime::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The calls this runtime makes after installing the filter, for a container with
    /// (`no_new_privileges`) or without no-new-privileges. Sorted, without repeats.
    #[must_use]
    pub fn calls(self, no_new_privileges: bool) -> Vec<RuntimeCall> {
        let (always, privileged) = match self {
            Self::Runc => (RUNC, RUNC_PRIVILEGED),
            Self::Crun => (CRUN, CRUN_PRIVILEGED),
            Self::OciSeccomp => (OCI_SECCOMP, OCI_SECCOMP_PRIVILEGED),
        };
        let mut calls: Vec<RuntimeCall> = always.to_vec();
        if !no_new_privileges {
            calls.extend_from_slice(privileged);
        }
        merged(calls)
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The calls any of `runtimes` makes after the install (see [`Runtime::calls`]), sorted,
/// without repeats; `no_new_privileges: None` when it is not known (both cases: the calls
/// made without it include those made with it).
#[must_use]
pub fn calls_of(runtimes: &[Runtime], no_new_privileges: Option<bool>) -> Vec<RuntimeCall> {
    let nnp = no_new_privileges.unwrap_or(false);
    merged(runtimes.iter().flat_map(|r| r.calls(nnp)).collect())
}

/// `calls` sorted by name and argument, one of each: required when any of them is.
fn merged(mut calls: Vec<RuntimeCall>) -> Vec<RuntimeCall> {
    calls.sort_by_key(|c| (c.name, c.arg0));
    let mut out: Vec<RuntimeCall> = Vec::with_capacity(calls.len());
    for c in calls {
        match out.last_mut() {
            Some(last) if (last.name, last.arg0) == (c.name, c.arg0) => {
                last.required |= c.required;
            }
            _ => out.push(c),
        }
    }
    out
}

/// Those of `calls` that `program` does not allow for the native architecture of a
/// target `arch` (an `AUDIT_ARCH_*` value) whatever their other arguments hold
/// ([`crate::bpf::is_allow_given`]). Names the architecture does not have are never
/// missing.
#[must_use]
pub fn missing(
    program: &crate::Program,
    arch: &crate::arch::ArchInfo,
    calls: &[RuntimeCall],
) -> Vec<RuntimeCall> {
    calls
        .iter()
        .copied()
        .filter(|c| match crate::arch::resolve(c.name, arch) {
            None => false,
            Some(nr) => {
                let fixed: Vec<(usize, u64)> = c.arg0.map(|v| (0, v)).into_iter().collect();
                !crate::bpf::is_allow_given(
                    program.instructions(),
                    arch.audit_arch,
                    nr as u32,
                    &fixed,
                    arch.big_endian,
                )
            }
        })
        .collect()
}

/// OCI `linux.seccomp.syscalls` entries (JSON) that allow `calls`: one entry with every
/// call made with any arguments, and one `prctl` entry per option (separate entries: a
/// repeated argument index inside one entry would be read as AND by some runtimes and OR
/// by others), compared with `SCMP_CMP_MASKED_EQ` on the 32 bits the kernel reads.
#[must_use]
pub fn allow_entries(calls: &[RuntimeCall]) -> Vec<serde_json::Value> {
    let names: Vec<&str> = calls
        .iter()
        .filter(|c| c.arg0.is_none())
        .map(|c| c.name)
        .collect();
    let mut out = Vec::new();
    if !names.is_empty() {
        out.push(serde_json::json!({"names": names, "action": "SCMP_ACT_ALLOW"}));
    }
    for c in calls {
        if let Some(v) = c.arg0 {
            // Compared on the bits the kernel reads (prctl's option is an int), as the
            // recorder writes its own conditions: the same under runc's 64-bit reading.
            let mask = crate::arch::argwidth::kernel_mask(c.name, 0);
            let arg = if mask == u64::MAX {
                serde_json::json!({"index": 0, "value": v, "op": "SCMP_CMP_EQ"})
            } else {
                serde_json::json!({"index": 0, "value": mask, "valueTwo": v,
                                   "op": "SCMP_CMP_MASKED_EQ"})
            };
            out.push(serde_json::json!({
                "names": [c.name],
                "action": "SCMP_ACT_ALLOW",
                "args": [arg]
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileged_calls_include_the_no_new_privileges_ones() {
        for r in Runtime::ALL {
            let nnp = r.calls(true);
            let without = r.calls(false);
            assert!(nnp.iter().all(|c| without.contains(c)), "{r}");
            assert!(nnp.iter().any(|c| c.name == "execve"), "{r} execs");
        }
        assert_eq!(
            calls_of(&Runtime::ALL, None),
            calls_of(&Runtime::ALL, Some(false))
        );
    }

    #[test]
    fn names_round_trip() {
        for r in Runtime::ALL {
            assert_eq!(Runtime::from_name(r.name()), Some(r));
        }
        assert_eq!(Runtime::from_name("youki"), None);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_entries_allow_every_call_and_missing_finds_what_a_profile_lacks() {
        let arch = crate::arch::native();
        for nnp in [true, false] {
            let calls = calls_of(&Runtime::ALL, Some(nnp));
            let profile = serde_json::json!({
                "defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": allow_entries(&calls),
            });
            let spec = crate::parse_profile(&profile.to_string()).unwrap();
            let program = crate::compile(&spec, &crate::CompileOptions::default()).unwrap();
            assert_eq!(missing(&program, arch, &calls), vec![], "nnp {nnp}");
            let empty = crate::parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#).unwrap();
            let program = crate::compile(&empty, &crate::CompileOptions::default()).unwrap();
            assert_eq!(missing(&program, arch, &calls), calls, "nnp {nnp}");
        }
    }
}
