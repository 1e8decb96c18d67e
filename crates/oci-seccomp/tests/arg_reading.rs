//! The kernel's reading of narrow arguments: each comparison on an argument the kernel
//! reads as 16 or 32 bits becomes masked equalities that match exactly the calls whose
//! kernel-visible value satisfies it, whatever the register's upper bits hold.

use oci_seccomp::profile::{kernel_reading, Condition, Op};
use oci_seccomp::{compile, parse_profile, ArgReading, CompileError, CompileOptions, Profile};

/// An independent reading of a comparison (not `Condition::matches`).
fn holds(c: &Condition, x: u64) -> bool {
    let x = if c.low_word { x & 0xffff_ffff } else { x };
    match c.op {
        Op::Eq => x == c.value,
        Op::Ne => x != c.value,
        Op::Lt => x < c.value,
        Op::Le => x <= c.value,
        Op::Gt => x > c.value,
        Op::Ge => x >= c.value,
        Op::MaskedEq => x & c.value == c.value_two & c.value,
    }
}

fn cond(op: Op, value: u64, value_two: u64) -> Condition {
    Condition {
        index: 0,
        op,
        value,
        value_two,
        low_word: false,
    }
}

/// Upper halves a caller may put in the register.
const UPPER: [u64; 4] = [
    0,
    0xffff_ffff_0000_0000,
    0x1_0000_0000,
    0xdead_beef_0000_0000,
];

#[test]
fn every_operator_matches_exactly_the_kernel_visible_values_of_a_16_bit_argument() {
    let m = 0xffffu64;
    for op in [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge] {
        for k in [0u64, 1, 2, 0x7fff, 0x8000, 0xa5a5, 0xfffe, 0xffff] {
            let c = cond(op, k, 0);
            let alts = kernel_reading(&c, 16).unwrap();
            assert!(alts.len() <= 17, "{op:?} {k:#x}: {}", alts.len());
            // Every low value, each under several upper halves (16-bit: the upper 48).
            for low in 0..=m {
                let want = holds(&c, low);
                for up in [0u64, 0xffff_ffff_ffff_0000, 0x1_0000, 0x1234_5678_0000] {
                    let x = up | low;
                    let got = alts.iter().any(|a| holds(a, x));
                    assert_eq!(got, want, "{op:?} {k:#x} on {x:#x}");
                }
            }
        }
    }
}

#[test]
fn thirty_two_bit_comparisons_ignore_the_upper_half() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for op in [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge] {
        for _ in 0..40 {
            let k = next() & 0xffff_ffff;
            let c = cond(op, k, 0);
            let alts = kernel_reading(&c, 32).unwrap();
            for _ in 0..200 {
                let low = match next() % 4 {
                    0 => k,
                    1 => k.wrapping_add(1) & 0xffff_ffff,
                    2 => k.wrapping_sub(1) & 0xffff_ffff,
                    _ => next() & 0xffff_ffff,
                };
                let want = holds(&c, low);
                for up in UPPER {
                    let x = up | low;
                    assert_eq!(
                        alts.iter().any(|a| holds(a, x)),
                        want,
                        "{op:?} {k:#x} {x:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn sign_extended_constants_are_read_as_the_kernel_reads_them() {
    // -1 written as 64 bits is 0xffffffff to an `int`.
    let alts = kernel_reading(&cond(Op::Eq, u64::MAX, 0), 32).unwrap();
    assert_eq!(alts, [cond(Op::MaskedEq, 0xffff_ffff, 0xffff_ffff)]);
    // A masked comparison keeps the bits the kernel reads.
    let alts = kernel_reading(&cond(Op::MaskedEq, u64::MAX, 0x28), 32).unwrap();
    assert_eq!(alts, [cond(Op::MaskedEq, 0xffff_ffff, 0x28)]);
}

#[test]
fn constants_a_narrow_argument_cannot_hold_are_refused() {
    for c in [
        cond(Op::Eq, 0x1_0000_0028, 0),
        cond(Op::Ne, 0x1_0000_0000, 0),
        cond(Op::Gt, 0x7fff_ffff_ffff_ffff, 0),
        cond(Op::MaskedEq, 0xffff_ffff_0000_0000, 0x1_0000_0000),
        cond(Op::MaskedEq, u64::MAX, 0x1_0000_0028),
    ] {
        let e = kernel_reading(&c, 32).unwrap_err();
        assert!(e.contains("--arg-reading literal"), "{c:?}: {e}");
    }
    // Through validation: the error names the field, the value and why.
    let spec = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":0,"value":4294967336,"op":"SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let e = compile(&spec, &CompileOptions::default()).unwrap_err();
    assert!(matches!(e, CompileError::InvalidField { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("syscalls[0].args[0]"), "{text}");
    assert!(text.contains("does not fit this 32-bit argument"), "{text}");
    // The literal reading takes it, as runc does.
    compile(
        &spec,
        &CompileOptions::default().with_arg_reading(ArgReading::Literal),
    )
    .unwrap();
}

#[test]
fn a_64_bit_argument_is_compared_as_written() {
    // clone's flags are `unsigned long`: nothing is rewritten.
    let spec = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":0,"value":268435456,"valueTwo":268435456,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    )
    .unwrap();
    let p = Profile::from_oci(&spec, true).unwrap();
    assert_eq!(p.rules().len(), 1);
    assert_eq!(p.rules()[0].conditions[0].value, 0x1000_0000);
}

/// One comparison of the reference: index, operator, the constant's (or mask's) low bits,
/// valueTwo's low bits, the bits the kernel reads.
type Compared = (u8, Op, u64, u64, u32);

/// Random profiles over narrow arguments, compiled with the kernel's reading and run by
/// `simulate` on calls with random upper halves, against an independent reference that
/// masks each argument to the bits the kernel reads and compares the constant's low bits.
#[test]
fn compiled_programs_decide_on_the_bits_the_kernel_reads() {
    use oci_seccomp::{arch, simulate, Action};
    // (syscall, argument index, bits the kernel reads)
    const ARGS: &[(&str, u8, u32)] = &[
        ("socket", 0, 32),
        ("socket", 1, 32),
        ("ioctl", 1, 32),
        ("fcntl", 1, 32),
        ("personality", 0, 32),
        ("chmod", 1, 16),
    ];
    const OPS: &[(&str, Op)] = &[
        ("SCMP_CMP_EQ", Op::Eq),
        ("SCMP_CMP_NE", Op::Ne),
        ("SCMP_CMP_LT", Op::Lt),
        ("SCMP_CMP_LE", Op::Le),
        ("SCMP_CMP_GT", Op::Gt),
        ("SCMP_CMP_GE", Op::Ge),
        ("SCMP_CMP_MASKED_EQ", Op::MaskedEq),
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let native = arch::native();
    for round in 0..60 {
        // One entry per syscall (no overlap question), one or two comparisons each.
        let mut entries = Vec::new();
        let mut model: Vec<(&str, Vec<Compared>)> = Vec::new();
        for name in ["socket", "ioctl", "fcntl", "personality", "chmod"] {
            if next() % 3 == 0 {
                continue;
            }
            let mine: Vec<&(&str, u8, u32)> = ARGS.iter().filter(|a| a.0 == name).collect();
            let mut conds = Vec::new();
            let mut json = Vec::new();
            for a in mine.iter().take(1 + (next() % 2) as usize) {
                let (op_name, op) = OPS[(next() % OPS.len() as u64) as usize];
                let m = (1u64 << a.2) - 1;
                let k = next() & m;
                let mask = if next() % 2 == 0 { m } else { next() & m | 1 };
                let (value, two) = if op == Op::MaskedEq {
                    (mask, k)
                } else {
                    (k, 0)
                };
                // Half the constants sign-extended when their top bit is set.
                let value = if op != Op::MaskedEq && value >> (a.2 - 1) & 1 == 1 && next() % 2 == 0
                {
                    value | !m
                } else {
                    value
                };
                json.push(format!(
                    r#"{{"index":{},"value":{value},"valueTwo":{two},"op":"{op_name}"}}"#,
                    a.1
                ));
                conds.push((a.1, op, value & m, two & m, a.2));
            }
            entries.push(format!(
                r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{}]}}"#,
                10 + entries.len(),
                json.join(",")
            ));
            model.push((name, conds));
        }
        let json = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
            entries.join(",")
        );
        let program = compile(&parse_profile(&json).unwrap(), &CompileOptions::default())
            .unwrap_or_else(|e| panic!("{e}\n{json}"));
        for (i, (name, conds)) in model.iter().enumerate() {
            let nr = arch::resolve(name, native).unwrap();
            for _ in 0..200 {
                let mut args = [0u64; 6];
                for (idx, _, value, _, bits) in conds {
                    let m = (1u64 << bits) - 1;
                    let low = match next() % 3 {
                        0 => *value,
                        1 => value.wrapping_add(next() % 3).wrapping_sub(1) & m,
                        _ => next() & m,
                    };
                    args[usize::from(*idx)] = low | (next() & !m);
                }
                let all = conds.iter().all(|(idx, op, value, two, bits)| {
                    let x = args[usize::from(*idx)] & ((1u64 << bits) - 1);
                    match op {
                        Op::Eq => x == *value,
                        Op::Ne => x != *value,
                        Op::Lt => x < *value,
                        Op::Le => x <= *value,
                        Op::Gt => x > *value,
                        Op::Ge => x >= *value,
                        Op::MaskedEq => x & *value == *two & *value,
                    }
                });
                let want = if all {
                    Action::Errno(10 + i as u16)
                } else {
                    Action::Allow
                };
                let got = simulate(&program, native.audit_arch, nr, args)
                    .unwrap()
                    .action;
                assert_eq!(got, want, "round {round}: {name}{args:x?}\n{json}");
            }
        }
    }
}

#[test]
fn comparisons_a_filter_cannot_make_as_meant_on_a_listed_abi_are_refused() {
    let refused = |json: &str, opts: &CompileOptions, want: &[&str]| {
        let e = compile(&parse_profile(json).unwrap(), opts)
            .expect_err("must be refused")
            .to_string();
        for w in want {
            assert!(e.contains(w), "{w}: {e}");
        }
    };
    let kernel = CompileOptions::default();
    let literal = CompileOptions::default().with_arg_reading(ArgReading::Literal);
    // i386's setuid reads a 16-bit uid, x86_64's a 32-bit one.
    let uid = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["setuid"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":4242,"op":"SCMP_CMP_EQ"}]}]}"#;
    refused(
        uid,
        &kernel,
        &["syscalls[0].args[0]", "16-bit ids", "setuid32"],
    );
    compile(&parse_profile(uid).unwrap(), &literal).unwrap();
    // Without x86 the same entry compiles.
    let uid64 = uid.replace(r#","SCMP_ARCH_X86""#, "");
    compile(&parse_profile(&uid64).unwrap(), &kernel).unwrap();
    // i386's mmap takes its arguments from memory, under either reading.
    let mmap = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["mmap","mmap2"],"action":"SCMP_ACT_ERRNO","args":[{"index":2,"value":4,"valueTwo":4,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#;
    for opts in [&kernel, &literal] {
        refused(
            mmap,
            opts,
            &["syscalls[0].args", "struct in memory", "mmap2"],
        );
    }
}

#[test]
fn the_kernel_reads_ptraces_pid_as_32_bits_and_ipcs_call_as_16() {
    use oci_seccomp::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
    use oci_seccomp::{simulate, Action};
    let ptrace = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO","errnoRet":99,
        "args":[{"index":1,"value":1234,"op":"SCMP_CMP_EQ"}]}]}"#;
    let p = compile(&parse_profile(ptrace).unwrap(), &CompileOptions::default()).unwrap();
    for pid in [1234u64, 1 << 32 | 1234] {
        let d = simulate(&p, AUDIT_ARCH_X86_64, 101, [16, pid, 0, 0, 0, 0]).unwrap();
        assert_eq!(d.action, Action::Errno(99), "{pid:#x}");
    }
    // ipc's sub-call: msgget (13) in any version.
    let ipc = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["ipc"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":0,"value":13,"op":"SCMP_CMP_EQ"}]}]}"#;
    let p = compile(&parse_profile(ipc).unwrap(), &CompileOptions::default()).unwrap();
    for call in [13u64, 0x1_000d, 0xffff_000d] {
        let d = simulate(&p, AUDIT_ARCH_I386, 117, [call, 0, 0x1b6, 0, 0, 0]).unwrap();
        assert_eq!(d.action, Action::Errno(99), "{call:#x}");
    }
    let d = simulate(&p, AUDIT_ARCH_I386, 117, [14, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(d.action, Action::Allow);
}

#[test]
fn libseccomp_is_given_low_word_orders_as_masked_prefixes() {
    use oci_seccomp::{simulate, Action, Backend};
    // The kernel's reading of `socket` family < 38 and `!= 40`, through libseccomp: its
    // program is proven against the low-word comparisons, and decides on the low word.
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":38,"op":"SCMP_CMP_LT"}]},
        {"names":["socketpair"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]}]}"#;
    let lsc = CompileOptions::default().with_backend(Backend::Libseccomp);
    let p = compile(&parse_profile(json).unwrap(), &lsc).unwrap();
    let native = oci_seccomp::arch::native();
    let socket = oci_seccomp::arch::resolve("socket", native).unwrap();
    let pair = oci_seccomp::arch::resolve("socketpair", native).unwrap();
    for (nr, a0, want) in [
        (socket, 2u64, Action::Allow),
        (socket, 1 << 32 | 2, Action::Allow),
        (socket, 40, Action::Errno(1)),
        (socket, 1 << 32 | 40, Action::Errno(1)),
        (pair, 1, Action::Allow),
        (pair, 1 << 32 | 40, Action::Errno(1)),
    ] {
        let got = simulate(&p, native.audit_arch, nr, [a0, 1, 0, 0, 0, 0]).unwrap();
        assert_eq!(got.action, want, "{nr} {a0:#x}");
    }
}

#[test]
fn validation_work_is_bounded_whatever_the_names_and_comparisons() {
    // A thousand copies of one ORed comparison are one rule.
    let ne = r#"{"index":2,"value":21845,"op":"SCMP_CMP_NE"}"#;
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["open","openat"],"action":"SCMP_ACT_ALLOW","args":[{}]}}]}}"#,
        vec![ne; 1000].join(",")
    );
    let p = Profile::from_oci(&parse_profile(&json).unwrap(), true).unwrap();
    assert!(p.rules().len() <= 2 * 16, "{}", p.rules().len());
    // More names times comparisons than validation looks at: refused, naming the entry.
    let names = vec![r#""open""#; 300_000].join(",");
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":[{names}],"action":"SCMP_ACT_ALLOW","args":[{ne}]}}]}}"#
    );
    let e = compile(&parse_profile(&json).unwrap(), &CompileOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("syscalls[0]") && e.contains("rules to sort out"),
        "{e}"
    );
}

#[test]
fn a_budget_with_a_deadline_runs_out_when_the_deadline_passes() {
    use oci_seccomp::StepBudget;
    let past = std::time::Instant::now() - std::time::Duration::from_secs(1);
    let mut b = StepBudget::new(1 << 30).with_deadline(past);
    // The clock is read every 2^14 steps: small charges before that pass.
    assert!(b.charge(100));
    assert!(!b.charge(1 << 15));
    assert!(b.timed_out() && b.exhausted());
    // A part carries the deadline, and its timing out reaches the whole.
    let mut whole = StepBudget::new(1 << 30).with_deadline(past);
    let mut part = whole.part(1 << 20);
    assert!(!part.charge(1 << 15));
    whole.absorb(&part);
    assert!(whole.timed_out() && whole.exhausted());
    // Without a deadline only steps count.
    let mut b = StepBudget::new(1 << 30);
    assert!(b.charge(1 << 20) && !b.timed_out());
}

#[test]
fn arguments_the_kernel_truncates_or_ignores_above_32_bits_are_read_as_32() {
    use oci_seccomp::{arch, simulate, Action};
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["writev"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
        {"names":["mlockall"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["mmap"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":2,"value":7,"op":"SCMP_CMP_EQ"}]}]}"#;
    let p = compile(&parse_profile(json).unwrap(), &CompileOptions::default()).unwrap();
    let native = arch::native();
    for (name, index) in [("writev", 0usize), ("mlockall", 0), ("mmap", 2)] {
        let nr = arch::resolve(name, native).unwrap();
        let value = match name {
            "writev" => 2u64,
            "mlockall" => 1,
            _ => 7,
        };
        for v in [value, 1 << 32 | value] {
            let mut args = [0u64; 6];
            args[index] = v;
            let got = simulate(&p, native.audit_arch, nr, args).unwrap().action;
            assert_eq!(got, Action::Errno(99), "{name} {v:#x}");
        }
    }
}

#[test]
fn a_comparison_past_a_split_64_bit_argument_is_refused_with_a_32_bit_abi() {
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
        {"names":["fadvise64"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":3,"value":4,"op":"SCMP_CMP_EQ"}]}]}"#;
    let e = compile(&parse_profile(json).unwrap(), &CompileOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("syscalls[0].args[0]") && e.contains("two registers"),
        "{e}"
    );
    // x86_64 alone, or only the file descriptor compared: fine.
    let alone = json.replace(r#","SCMP_ARCH_X86""#, "");
    compile(&parse_profile(&alone).unwrap(), &CompileOptions::default()).unwrap();
    let fd = json.replace(r#""index":3"#, r#""index":0"#);
    compile(&parse_profile(&fd).unwrap(), &CompileOptions::default()).unwrap();
}

#[test]
fn libseccomps_limits_count_the_rules_low_word_comparisons_become() {
    use oci_seccomp::Backend;
    // 30 entries of two `!=` on socket's 32-bit arguments: each becomes 32 x 32 masked
    // rules for libseccomp, which its limits must see before it starts.
    let entries: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{{"index":0,"value":{i},"op":"SCMP_CMP_NE"}},{{"index":1,"value":{},"op":"SCMP_CMP_NE"}}]}}"#,
                i + 1,
                i + 100
            )
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        entries.join(",")
    );
    let spec = parse_profile(&json).unwrap();
    let e = compile(
        &spec,
        &CompileOptions::default().with_backend(Backend::Libseccomp),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("syscalls[0]"), "{e}");
    // Ours compiles it.
    compile(&spec, &CompileOptions::default()).unwrap();
}
