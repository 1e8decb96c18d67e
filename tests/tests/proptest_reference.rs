//! For random profiles, `simulate(compile(p))` decides every random
//! (arch, nr, args) exactly as an independent reference evaluator written from the OCI
//! semantics in docs/design.md §2.1 and §2.2 — and a sample is checked against the kernel.
//!
//! The reference below does not use the compiler's code: it reads the `LinuxSeccomp` JSON
//! values directly and only asks libseccomp's name tables for syscall numbers (facts).
//! Generated profiles name each syscall in at most one entry, because libseccomp's
//! ordering of overlapping conditional rules with different actions is not part of the
//! OCI semantics.
#![cfg(target_arch = "x86_64")]

use oci_seccomp::arch::{self, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use oci_seccomp::{compile, parse_profile, simulate, Action, CompileOptions};
use oci_seccomp_tests::probe;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A deterministic runner: the same cases in every run, so CI cannot flake.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// The reference reads every argument as 64 bits, as written (runc's reading); the
/// kernel's reading is checked by `oci-seccomp`'s own `arg_reading` tests and the kernel
/// tests of `compile_kernel.rs`.
fn literal() -> CompileOptions {
    CompileOptions::default().with_arg_reading(oci_seccomp::ArgReading::Literal)
}

/// Compiles, or returns `None` when our self-check refused a program that libseccomp
/// miscompiled — after confirming, with the check off, that the program really
/// disagrees with the reference somewhere.
fn compile_or_refused(
    spec: &Spec,
    json: &str,
    refused: &AtomicUsize,
) -> Option<oci_seccomp::Program> {
    let parsed = parse_profile(json).unwrap();
    match oci_seccomp::libseccomp::compile_unproven(&parsed, &literal()) {
        Ok(p) => Some(p),
        Err(oci_seccomp::CompileError::Miscompiled { detail, .. }) => {
            let raw = compile(&parsed, &literal()).unwrap();
            // The proof's witness: the unproven program and the independent reference
            // must disagree there.
            let profile = oci_seccomp::Profile::from_oci_reading(
                &parsed,
                false,
                arch::native(),
                oci_seccomp::ArgReading::Literal,
            )
            .unwrap();
            let semantics = oci_seccomp::Semantics::new(&profile, oci_seccomp::Stub::Enosys);
            let wrong = match oci_seccomp::proof::prove_instructions(&semantics, raw.instructions())
            {
                Err(oci_seccomp::proof::ProofError::Differs(cx)) => {
                    let (arch, nr) = (cx.point.arch, cx.point.nr as u32);
                    let args: [u64; 6] = cx.point.args;
                    let got = simulate(&raw, arch, nr as i32, args).unwrap().action;
                    got == cx.got
                        && (arch != AUDIT_ARCH_X86_64 || got != reference(spec, arch, nr, &args))
                }
                other => panic!("refused, but the proof of the same program says {other:?}"),
            };
            assert!(
                wrong,
                "refused a program that agrees with the reference: {detail}\n{json}"
            );
            refused.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(e) => panic!("{e}\n{json}"),
    }
}

/// Plain syscalls present on x86_64, x86 and x32 (no multiplexers such as socketcall).
const POOL: &[&str] = &[
    "read",
    "write",
    "close",
    "getpid",
    "getppid",
    "getuid",
    "getgid",
    "geteuid",
    "getegid",
    "dup",
    "dup2",
    "kill",
    "umask",
    "chdir",
    "fchdir",
    "setuid",
    "setgid",
    "personality",
    "getpriority",
    "setpriority",
    "sched_yield",
    "sync",
    "fsync",
    "fdatasync",
    "flock",
    "fchmod",
    "getpgid",
    "setpgid",
    "getsid",
    "setsid",
    "unshare",
    "setns",
    "mkdirat",
    "unlinkat",
    "tgkill",
    "syncfs",
    "memfd_create",
    "getrandom",
    "membarrier",
    "clone3",
    "close_range",
    "faccessat2",
];
/// Syscalls that ignore their arguments: safe to run with random values in a child.
const SAFE: &[&str] = &[
    "getppid",
    "getpid",
    "getuid",
    "getgid",
    "geteuid",
    "getegid",
    "sched_yield",
    "gettid",
];
const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

#[derive(Clone, Debug)]
struct Cond {
    index: usize,
    op: &'static str,
    value: u64,
    value_two: u64,
}

#[derive(Clone, Debug)]
struct Entry {
    names: Vec<&'static str>,
    action: (&'static str, Option<u32>),
    args: Vec<Cond>,
}

#[derive(Clone, Debug)]
struct Spec {
    default: (&'static str, Option<u32>),
    arches: Vec<&'static str>,
    entries: Vec<Entry>,
}

impl Spec {
    fn json(&self) -> String {
        let act = |(a, e): (&str, Option<u32>)| match e {
            Some(e) => format!(r#""{a}","errnoRet":{e}"#),
            None => format!(r#""{a}""#),
        };
        let entries: Vec<String> = self
            .entries
            .iter()
            .map(|e| {
                let names: Vec<String> = e.names.iter().map(|n| format!("{n:?}")).collect();
                let args: Vec<String> = e
                    .args
                    .iter()
                    .map(|c| {
                        format!(
                            r#"{{"index":{},"value":{},"valueTwo":{},"op":"{}"}}"#,
                            c.index, c.value, c.value_two, c.op
                        )
                    })
                    .collect();
                format!(
                    r#"{{"names":[{}],"action":{},"args":[{}]}}"#,
                    names.join(","),
                    act(e.action),
                    args.join(",")
                )
            })
            .collect();
        let (d, de) = self.default;
        let de = de
            .map(|e| format!(r#","defaultErrnoRet":{e}"#))
            .unwrap_or_default();
        let arches: Vec<String> = self.arches.iter().map(|a| format!("{a:?}")).collect();
        format!(
            r#"{{"defaultAction":"{d}"{de},"architectures":[{}],"syscalls":[{}]}}"#,
            arches.join(","),
            entries.join(",")
        )
    }
}

fn action_strategy(allow_fatal: bool) -> BoxedStrategy<(&'static str, Option<u32>)> {
    let mut v: Vec<BoxedStrategy<(&'static str, Option<u32>)>> = vec![
        (1u32..200)
            .prop_map(|e| ("SCMP_ACT_ERRNO", Some(e)))
            .boxed(),
        Just(("SCMP_ACT_ERRNO", None)).boxed(),
        Just(("SCMP_ACT_ALLOW", None)).boxed(),
        Just(("SCMP_ACT_LOG", None)).boxed(),
        Just(("SCMP_ACT_ERRNO", Some(38))).boxed(),
    ];
    if allow_fatal {
        v.push(Just(("SCMP_ACT_KILL_PROCESS", None)).boxed());
        v.push(Just(("SCMP_ACT_KILL_THREAD", None)).boxed());
        v.push(Just(("SCMP_ACT_TRAP", None)).boxed());
        v.push((0u32..50).prop_map(|e| ("SCMP_ACT_TRACE", Some(e))).boxed());
        v.push(Just(("SCMP_ACT_NOTIFY", None)).boxed());
    }
    proptest::strategy::Union::new(v).boxed()
}

fn value_strategy(wide: bool) -> BoxedStrategy<u64> {
    if wide {
        prop_oneof![
            0u64..8,
            any::<u64>(),
            Just(u64::MAX),
            (0u64..4).prop_map(|x| (x << 32) | 5)
        ]
        .boxed()
    } else {
        prop_oneof![
            0u64..8,
            any::<u32>().prop_map(u64::from),
            Just(u64::from(u32::MAX))
        ]
        .boxed()
    }
}

fn cond_strategy(wide: bool) -> impl Strategy<Value = Cond> {
    (
        0usize..3,
        proptest::sample::select(OPS),
        value_strategy(wide),
        value_strategy(wide),
    )
        .prop_map(|(index, op, value, value_two)| Cond {
            index,
            op,
            value,
            value_two,
        })
}

fn spec_strategy(pool: &'static [&'static str], kernel_safe: bool) -> impl Strategy<Value = Spec> {
    let arches = if kernel_safe {
        Just(vec!["SCMP_ARCH_X86_64"]).boxed()
    } else {
        proptest::sample::subsequence(vec!["SCMP_ARCH_X86", "SCMP_ARCH_X32"], 0..=2)
            .prop_map(|mut v| {
                v.insert(0, "SCMP_ARCH_X86_64");
                v
            })
            .boxed()
    };
    let default = if kernel_safe {
        prop_oneof![
            (1u32..200).prop_map(|e| ("SCMP_ACT_ERRNO", Some(e))),
            Just(("SCMP_ACT_ALLOW", None)),
            Just(("SCMP_ACT_ERRNO", None)),
        ]
        .boxed()
    } else {
        prop_oneof![
            (1u32..200).prop_map(|e| ("SCMP_ACT_ERRNO", Some(e))),
            Just(("SCMP_ACT_ALLOW", None)),
            Just(("SCMP_ACT_KILL_PROCESS", None)),
            Just(("SCMP_ACT_TRAP", None)),
            Just(("SCMP_ACT_LOG", None)),
        ]
        .boxed()
    };
    (
        default,
        arches,
        proptest::sample::subsequence(pool.to_vec(), 0..pool.len().min(12)),
    )
        .prop_flat_map(move |(default, arches, names)| {
            let wide = !arches.contains(&"SCMP_ARCH_X86");
            // Split the chosen names into entries of one to three names each.
            let n = names.len();
            let entries = proptest::collection::vec(
                (
                    action_strategy(!kernel_safe),
                    proptest::collection::vec(cond_strategy(wide), 0..3),
                    1usize..4,
                ),
                n,
            );
            (Just(default), Just(arches), Just(names), entries)
        })
        .prop_map(|(default, arches, names, raw)| {
            let mut entries = Vec::new();
            let mut i = 0;
            for (action, args, take) in raw {
                if i >= names.len() {
                    break;
                }
                let end = (i + take).min(names.len());
                entries.push(Entry {
                    names: names[i..end].to_vec(),
                    action,
                    args,
                });
                i = end;
            }
            Spec {
                default,
                arches,
                entries,
            }
        })
}

// ---- the reference evaluator (docs/design.md §2.1, §2.2) ----

fn ref_action((a, e): (&str, Option<u32>)) -> Action {
    let errno = e.unwrap_or(1) as u16;
    match a {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap(0),
        "SCMP_ACT_ERRNO" => Action::Errno(errno),
        "SCMP_ACT_TRACE" => Action::Trace(errno),
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => Action::Notify,
        _ => Action::Allow,
    }
}

/// `narrow`: libseccomp builds x86 and x32 filters as 32-bit ABIs and compares only the
/// low 32 bits of arguments and constants there (a fact of libseccomp 2.5, and so of runc
/// and crun; x32 registers are really 64-bit, which `oci-seccomp check` warns about).
fn cond_holds(c: &Cond, args: &[u64; 6], narrow: bool) -> bool {
    let m = if narrow { 0xffff_ffff } else { u64::MAX };
    let a = args[c.index] & m;
    let (value, value_two) = (c.value & m, c.value_two & m);
    match c.op {
        "SCMP_CMP_NE" => a != value,
        "SCMP_CMP_LT" => a < value,
        "SCMP_CMP_LE" => a <= value,
        "SCMP_CMP_EQ" => a == value,
        "SCMP_CMP_GE" => a >= value,
        "SCMP_CMP_GT" => a > value,
        // libseccomp (so runc and crun) masks valueTwo as well: bits outside the mask
        // never take part (a fact checked against the kernel by the sample below).
        _ => a & value == value_two & value,
    }
}

/// The OCI arch name for a (audit arch, nr) pair, as the kernel presents it.
fn abi_of(audit: u32, nr: u32) -> &'static str {
    match audit {
        AUDIT_ARCH_I386 => "SCMP_ARCH_X86",
        AUDIT_ARCH_X86_64 if nr & X32_SYSCALL_BIT != 0 => "SCMP_ARCH_X32",
        _ => "SCMP_ARCH_X86_64",
    }
}

fn reference(spec: &Spec, audit: u32, nr: u32, args: &[u64; 6]) -> Action {
    let abi = abi_of(audit, nr);
    if !spec.arches.contains(&abi) {
        return Action::KillThread; // libseccomp's bad-arch action
    }
    let info = arch::by_name(abi).unwrap();
    let default = ref_action(spec.default);
    // ENOSYS for numbers above the highest the profile names on this ABI.
    let stub = !matches!(
        default,
        Action::Allow | Action::Log | Action::Trace(_) | Action::Errno(38)
    );
    if stub {
        let max = spec
            .entries
            .iter()
            .flat_map(|e| e.names.iter())
            .filter_map(|n| arch::resolve(n, info))
            .map(|n| n as u32)
            .max();
        if let Some(max) = max {
            if nr > max {
                return Action::Errno(38);
            }
        }
    }
    for e in &spec.entries {
        if !e
            .names
            .iter()
            .any(|n| arch::resolve(n, info) == Some(nr as i32))
        {
            continue;
        }
        let repeated = e
            .args
            .iter()
            .enumerate()
            .any(|(i, c)| e.args[..i].iter().any(|d| d.index == c.index));
        let hit = if e.args.is_empty() {
            true
        } else if repeated {
            e.args
                .iter()
                .any(|c| cond_holds(c, args, abi != "SCMP_ARCH_X86_64"))
        } else {
            e.args
                .iter()
                .all(|c| cond_holds(c, args, abi != "SCMP_ARCH_X86_64"))
        };
        return if hit { ref_action(e.action) } else { default };
    }
    default
}

fn args_for(spec: &Spec, seed: u64) -> [u64; 6] {
    // Argument values near the rule constants, so boundaries are exercised.
    let consts: Vec<u64> = spec
        .entries
        .iter()
        .flat_map(|e| {
            e.args
                .iter()
                .flat_map(|c| [c.value, c.value_two, c.value | c.value_two])
        })
        .collect();
    let mut out = [0u64; 6];
    let mut s = seed;
    for o in &mut out {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let pick = (s >> 33) as usize;
        *o = if consts.is_empty() || pick % 4 == 0 {
            s >> 7
        } else {
            let c = consts[pick % consts.len()];
            match pick % 3 {
                0 => c,
                1 => c.wrapping_add(1),
                _ => c.wrapping_sub(1),
            }
        };
    }
    if spec.arches.contains(&"SCMP_ARCH_X86") {
        for o in &mut out {
            *o &= 0xffff_ffff;
        }
    }
    out
}

#[test]
fn simulate_matches_the_reference_on_random_profiles() {
    let refused = AtomicUsize::new(0);
    runner(300)
        .run(
            &(spec_strategy(POOL, false), any::<u64>()),
            |(spec, seed)| {
                let json = spec.json();
                let Some(p) = compile_or_refused(&spec, &json, &refused) else {
                    return Ok(());
                };
                let mut s = seed;
                for i in 0..200u64 {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let (audit, base) = match (s >> 60) % 4 {
                        0 => (AUDIT_ARCH_I386, 0),
                        1 => (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT),
                        _ => (AUDIT_ARCH_X86_64, 0),
                    };
                    let nr = base | ((s >> 20) as u32 % 480);
                    let args = args_for(&spec, s ^ i);
                    let want = reference(&spec, audit, nr, &args);
                    let got = simulate(&p, audit, nr as i32, args).unwrap().action;
                    prop_assert_eq!(
                        got,
                        want,
                        "audit {:#x} nr {:#x} args {:x?}\n{}",
                        audit,
                        nr,
                        args,
                        json
                    );
                }
                Ok(())
            },
        )
        .unwrap();
    let refused = refused.into_inner();
    eprintln!("{refused} of 300 random profiles refused as miscompiled by libseccomp");
    assert!(refused < 30, "{refused} of 300 random profiles refused");
}

#[test]
fn kernel_matches_the_reference_on_a_sample() {
    let refused = AtomicUsize::new(0);
    runner(40)
        .run(
            &(spec_strategy(SAFE, true), any::<u64>()),
            |(mut spec, seed)| {
                // The child must be able to report and exit.
                spec.entries.insert(
                    0,
                    Entry {
                        names: vec!["write", "exit_group"],
                        action: ("SCMP_ACT_ALLOW", None),
                        args: vec![],
                    },
                );
                let json = spec.json();
                let Some(p) = compile_or_refused(&spec, &json, &refused) else {
                    return Ok(());
                };
                let probes: Vec<(i64, [u64; 6])> = (0..16u64)
                    .map(|i| {
                        let name = SAFE[((seed >> (i * 3)) as usize + i as usize) % SAFE.len()];
                        let nr = arch::resolve(name, arch::native()).unwrap();
                        (i64::from(nr), args_for(&spec, seed.wrapping_add(i)))
                    })
                    .collect();
                let got = probe(&p, &probes);
                for ((nr, args), r) in probes.iter().zip(&got) {
                    match reference(&spec, AUDIT_ARCH_X86_64, *nr as u32, args) {
                        Action::Errno(e) => {
                            prop_assert_eq!(*r, -i64::from(e), "nr {} {:x?}\n{}", nr, args, json)
                        }
                        Action::Allow | Action::Log => {
                            prop_assert!(*r >= 0, "nr {} {:x?} -> {}\n{}", nr, args, r, json)
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}
