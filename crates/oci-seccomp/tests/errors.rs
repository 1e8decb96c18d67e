//! Every compile error names the JSON path, the value and the reason,
//! and nothing panics.

use oci_seccomp::{compile, parse_profile, Backend, CompileError, CompileOptions, FilterFlags};

fn err(json: &str) -> String {
    let spec = parse_profile(json).unwrap_or_else(|e| panic!("parse: {e}"));
    match compile(&spec, &CompileOptions::default()) {
        Ok(_) => panic!("compiled: {json}"),
        Err(e) => e.to_string(),
    }
}

/// The error of libseccomp's backend, whose complexity limits refuse what it cannot build
/// in time; our generator (the default) must compile the same profile, proven.
fn libseccomp_err_native_ok(json: &str) -> String {
    let spec = parse_profile(json).unwrap_or_else(|e| panic!("parse: {e}"));
    if let Err(e) = compile(&spec, &CompileOptions::default()) {
        panic!("the native backend refused it: {e}");
    }
    match compile(
        &spec,
        &CompileOptions::default().with_backend(Backend::Libseccomp),
    ) {
        Ok(_) => panic!("libseccomp's backend compiled: {json}"),
        Err(e) => e.to_string(),
    }
}

fn has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "{msg:?} lacks {p:?}");
    }
}

#[test]
fn empty_names() {
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":[],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    has(&m, &["syscalls[1].names", "[]", "at least one"]);
}

#[test]
fn empty_or_nul_name() {
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read",""],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    has(&m, &["syscalls[0].names[1]", "non-empty"]);
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["re\u0000ad"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    has(&m, &["syscalls[0].names[0]", "NUL"]);
}

#[test]
fn errno_above_4095() {
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":4096}]}"#,
    );
    has(&m, &["syscalls[0].errnoRet", "4096", "4095"]);
    let m = err(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4294967295}"#);
    has(&m, &["defaultErrnoRet", "4294967295", "4095"]);
    // 4095 is the kernel's MAX_ERRNO, but libseccomp 2.5.4 refuses it: a clear error too.
    let m = err(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4095}"#);
    has(&m, &["defaultErrnoRet", "4095", "libseccomp"]);
    // 4094 is accepted.
    let spec =
        parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4094}"#).unwrap();
    assert!(compile(&spec, &CompileOptions::default()).is_ok());
}

/// The runtime spec says a runtime MUST fail on an errno given to an
/// action that has none (crun does; runc ignores the field, docs/conformance.md).
#[test]
fn errno_ret_on_an_action_without_an_errno() {
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW","errnoRet":38}]}"#,
    );
    has(
        &m,
        &[
            "syscalls[0].errnoRet",
            "38",
            "SCMP_ACT_ALLOW",
            "does not return an errno",
        ],
    );
    for default in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_LOG",
    ] {
        let m = err(&format!(
            r#"{{"defaultAction":"{default}","defaultErrnoRet":1}}"#
        ));
        has(
            &m,
            &["defaultErrnoRet", "1", default, "does not return an errno"],
        );
    }
    // ERRNO and TRACE carry one.
    for action in ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"] {
        let json = format!(
            r#"{{"defaultAction":"{action}","defaultErrnoRet":1,"syscalls":[{{"names":["getppid"],"action":"{action}","errnoRet":38}}]}}"#
        );
        let spec = parse_profile(&json).unwrap();
        assert!(compile(&spec, &CompileOptions::default()).is_ok(), "{json}");
    }
}

#[test]
fn argument_index_above_5() {
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    has(&m, &["syscalls[0].args[1].index", "6", "0 to 5"]);
    let m = err(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":9223372036854775808,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    has(&m, &["syscalls[0].args[0].index", "9223372036854775808"]);
}

#[test]
fn notify_as_default_action() {
    let m = err(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
    has(&m, &["defaultAction", "SCMP_ACT_NOTIFY"]);
}

#[test]
fn notify_with_old_libseccomp_message() {
    // The linked libseccomp (2.5.4) supports NOTIFY, so the error cannot be provoked here;
    // check what it would say.
    let e = CompileError::NotifyUnsupported {
        path: "syscalls[3].action".into(),
        version: "2.4.1".into(),
        api_level: 3,
    };
    has(
        &e.to_string(),
        &["syscalls[3].action", "2.4.1", "API level 3", ">= 2.5.0"],
    );
}

/// 800 masked 64-bit comparisons (about 4,800 instructions) kept libseccomp busy for 5 s:
/// refused by the instruction estimate before it runs. (With the complexity limits, no
/// profile can make libseccomp emit more than the kernel's 4,096 instructions of
/// comparisons; `ProgramTooLong` stays as a last check.)
#[test]
fn too_many_comparison_instructions_are_refused_first() {
    let native = oci_seccomp::arch::native();
    let names: Vec<String> = (0..1000)
        .filter_map(|nr| oci_seccomp::arch::syscall_name(nr, native))
        .take(160)
        .collect();
    let mut entries = Vec::new();
    for (k, name) in names.iter().enumerate() {
        for i in 0..5u64 {
            let mask = ((k as u64 * 5 + i + 1) << 33) | (k as u64 * 5 + i + 1);
            entries.push(format!(
                r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{{"index":0,"value":{mask},"valueTwo":{mask},"op":"SCMP_CMP_MASKED_EQ"}}]}}"#,
                1 + (k as u64 + i) % 100
            ));
        }
    }
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#,
        entries.join(",")
    );
    // Our generator needs 4,800 instructions for them too (an `and` and a `jeq` per
    // word) and says so at once. The masks reach above 32 bits: compared literally, as
    // runc does (the kernel's reading refuses them for 32-bit arguments).
    let spec = parse_profile(&json).unwrap();
    let literal = CompileOptions::default().with_arg_reading(oci_seccomp::ArgReading::Literal);
    assert!(matches!(
        compile(&spec, &literal),
        Err(CompileError::ProgramTooLong { .. })
    ));
    let m = compile(&spec, &literal.clone().with_backend(Backend::Libseccomp))
        .unwrap_err()
        .to_string();
    has(&m, &["syscalls[333]", "more than 2000"]);
}

/// Conditional rules spread over many syscalls are limited too (2,030 of them kept
/// libseccomp busy for 6 s).
#[test]
fn many_conditional_rules_in_all_are_refused_first() {
    let native = oci_seccomp::arch::native();
    let entries: Vec<String> = (0..1000)
        .filter_map(|nr| oci_seccomp::arch::syscall_name(nr, native))
        .take(290)
        .enumerate()
        .flat_map(|(k, name)| {
            (0..7u64).map(move |i| {
                format!(
                    r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":{},"op":"SCMP_CMP_EQ"}}]}}"#,
                    k as u64 * 100 + i
                )
            })
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#,
        entries.join(",")
    );
    let m = libseccomp_err_native_ok(&json);
    has(&m, &["more than"]);
}

#[test]
fn architecture_this_libseccomp_cannot_build() {
    for arch in ["SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH"] {
        let m = err(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86","{arch}"]}}"#
        ));
        has(&m, &["architectures[1]", arch, "2.6.0", "2.5."]);
    }
}

#[test]
fn every_buildable_architecture_compiles() {
    for arch in [
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_NATIVE",
    ] {
        let info = oci_seccomp::arch::by_name(arch).unwrap();
        if info.big_endian != oci_seccomp::arch::native().big_endian {
            let m = err(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["{arch}"]}}"#
            ));
            has(&m, &["architectures[0]", arch, "endian"]);
            continue;
        }
        let spec = parse_profile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["{arch}"],"syscalls":[{{"names":["read","write","getppid"],"action":"SCMP_ACT_ALLOW"}}]}}"#
        ))
        .unwrap();
        let p =
            compile(&spec, &CompileOptions::default()).unwrap_or_else(|e| panic!("{arch}: {e}"));
        // The native arch is always present.
        let d = oci_seccomp::simulate(&p, oci_seccomp::arch::native().audit_arch, 1000, [0; 6])
            .unwrap();
        assert_eq!(d.action, oci_seccomp::Action::Errno(38), "{arch}");
    }
}

#[test]
fn flags_absent_empty_and_listed() {
    let p =
        |json: &str| compile(&parse_profile(json).unwrap(), &CompileOptions::default()).unwrap();
    let absent = p(r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#);
    assert_eq!(absent.flags(), FilterFlags::EMPTY);
    assert_eq!(absent.optional_flags(), FilterFlags::SPEC_ALLOW);
    let empty = p(r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":[]}"#);
    assert_eq!(empty.flags(), FilterFlags::EMPTY);
    assert_eq!(empty.optional_flags(), FilterFlags::EMPTY);
    let listed = p(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    assert_eq!(
        listed.flags(),
        FilterFlags::LOG
            | FilterFlags::SPEC_ALLOW
            | FilterFlags::TSYNC
            | FilterFlags::WAIT_KILLABLE_RECV
    );
    assert!(listed.needs_listener());
}

/// The profile's and the program's listener need are both derived (from the rules and
/// from the instructions) and agree, also for a NOTIFY rule that no architecture of the
/// filter has, which installs nothing.
#[test]
fn listener_need_agrees_between_profile_and_program() {
    let cases = [
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            true,
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}]}"#,
            false,
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"syscalls":[{"names":["socketcall"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            true,
        ),
        #[cfg(target_arch = "x86_64")]
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socketcall"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            false,
        ),
        #[cfg(target_arch = "x86_64")]
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ipc"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            false,
        ),
    ];
    for (json, want) in cases {
        let spec = parse_profile(json).unwrap();
        let profile = oci_seccomp::Profile::from_oci(&spec, false).unwrap();
        let program = oci_seccomp::compile_profile(&profile, &CompileOptions::default()).unwrap();
        assert_eq!(profile.needs_listener(), want, "{json}");
        assert_eq!(program.needs_listener(), want, "{json}");
    }
}

/// The kernel refuses WAIT_KILLABLE_RECV on a filter without a NOTIFY
/// rule, so validation (and with it `check`, `compile` and `run`) refuses it first.
#[test]
fn wait_killable_recv_needs_a_notify_rule() {
    let spec = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let e = compile(&spec, &CompileOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("flags[1]")
            && msg.contains("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
            && msg.contains("SCMP_ACT_NOTIFY"),
        "{msg}"
    );
}

#[test]
fn malformed_input_never_panics() {
    for json in [
        "",
        "{",
        "[]",
        "null",
        r#"{"defaultAction":5}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NOPE"]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_NOPE"}]}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":-1,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    ] {
        let e = parse_profile(json).expect_err(json);
        let m = e.to_string();
        assert!(
            m.contains("line ") || m.starts_with("<top level>"),
            "{json}: {m}"
        );
    }
    let deep = "[".repeat(100_000);
    assert!(parse_profile(&deep).is_err());
}

/// Profiles that kept libseccomp busy for minutes are refused before
/// libseccomp runs, naming the entry (how long the refusal takes is measured in
/// BENCHMARKS.md, not here).
#[test]
fn profiles_too_complex_for_libseccomp_are_refused_first() {
    let ops = ["SCMP_CMP_LE", "SCMP_CMP_GT"];
    // k getppid entries, each with an LE or GT comparison on all six arguments.
    let entries = |k: usize| -> String {
        (0..k)
            .map(|i| {
                let args: Vec<String> = (0..6)
                    .map(|j| {
                        format!(
                            r#"{{"index":{j},"value":{},"op":"{}"}}"#,
                            0x1234_5678u64 * (i as u64 + 1) + j as u64,
                            ops[i % 2]
                        )
                    })
                    .collect();
                format!(
                    r#"{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{}]}}"#,
                    100 + i,
                    args.join(",")
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    for k in [4, 5] {
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
            entries(k)
        );
        let m = libseccomp_err_native_ok(&json);
        has(
            &m,
            &[
                "syscalls[3]",
                "getppid",
                "24 argument comparisons",
                "more than 20",
            ],
        );
    }
    // Three entries stay within the limit and reach libseccomp (and the proof).
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        entries(3)
    );
    let m = compile(&parse_profile(&json).unwrap(), &CompileOptions::default());
    assert!(
        !matches!(m, Err(CompileError::InvalidField { ref reason, .. }) if reason.contains("comparisons")),
        "{m:?}"
    );
}

/// Rules for a syscall that no listed architecture has still count against the rule limit
/// (30,000 of them took 6.9 s and 75 MB inside libseccomp).
#[test]
fn rules_for_absent_syscalls_count_against_the_limit() {
    let entries: Vec<String> = (0..5000u64)
        .map(|i| {
            format!(
                r#"{{"names":["arm_fadvise64_64"],"action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#,
        entries.join(",")
    );
    let m = err(&json);
    has(&m, &["syscalls[4096]", "more than 4096 distinct rules"]);
}

/// Entries of `names` × `per_name` entries, each with six `SCMP_CMP_MASKED_EQ`
/// comparisons (one per argument) whose masks are a byte of bits plus a few low bits: a
/// shape whose complete check needs more than its step budget.
fn masked_eq_profile(names: &[&str], per_name: u64) -> String {
    let mut entries = Vec::new();
    for name in names {
        for e in 0..per_name {
            let args: Vec<String> = (0..6u64)
                .map(|i| {
                    let mask = (0xff << (i * 4)) | (e + 1);
                    let value = ((e * 7 + i) << (i * 4)) & mask;
                    format!(
                        r#"{{"index":{i},"value":{mask},"valueTwo":{value},"op":"SCMP_CMP_MASKED_EQ"}}"#
                    )
                })
                .collect();
            entries.push(format!(
                r#"{{"names":["{name}"],"action":"SCMP_ACT_ALLOW","args":[{}]}}"#,
                args.join(",")
            ));
        }
    }
    format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#,
        entries.join(",")
    )
}

/// A proof that runs out of its steps has found nothing wrong with the program: the error
/// says that the profile is too complex to prove, names the syscall and its entries and
/// how to simplify them, and never calls the program miscompiled.
#[test]
fn a_profile_too_complex_to_prove_is_not_called_miscompiled() {
    let spec = parse_profile(&masked_eq_profile(&["read"], 200)).unwrap();
    let e = compile(&spec, &CompileOptions::default()).expect_err("proven within the budget");
    let m = e.to_string();
    assert!(matches!(e, CompileError::TooComplexToProve { .. }), "{e:?}");
    assert!(!m.contains("miscompiled"), "{m}");
    has(
        &m,
        &[
            "too complex to prove",
            "50000000 steps",
            "read on SCMP_ARCH_X86_64",
            "syscalls[0]",
            "without finding any call decided wrongly",
            "simplify the argument conditions",
        ],
    );
}

/// A second unconditional entry of another action for one syscall is refused when strict,
/// naming both mentions (entry and place among its names), whichever entry comes between.
#[test]
fn conflicting_unconditional_entries_name_both_mentions_when_strict() {
    let strict = CompileOptions::default().with_strict(true);
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ALLOW"},
        {"names":["write","getppid","close"],"action":"SCMP_ACT_ALLOW"},
        {"names":["dup"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["openat","getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#;
    let spec = parse_profile(json).expect("parses");
    let m = compile(&spec, &strict)
        .expect_err("conflicting entries")
        .to_string();
    has(
        &m,
        &["syscalls[3].names[1]", "syscalls[1].names[1]", "getppid"],
    );
    // The same action again is only a repeat: dropped, without an error.
    let same = json.replace(
        r#""action":"SCMP_ACT_ERRNO","errnoRet":1"#,
        r#""action":"SCMP_ACT_ALLOW""#,
    );
    compile(&parse_profile(&same).expect("parses"), &strict).expect("a repeated rule");
    // Not strict: the first is kept.
    compile(&spec, &CompileOptions::default()).expect("the first entry is kept");
}
