//! Unit tests of the learner.

use super::*;

fn nr(name: &str) -> i32 {
    arch::resolve(name, arch::native()).unwrap()
}

#[test]
fn conditions_for_few_values_and_none_for_many() {
    let native = arch::native().audit_arch;
    let mut l = Learner::new(ArgSelection::default());
    l.observe(native, nr("getpid"), [0; 6]);
    l.observe(native, nr("socket"), [1, 0x80001, 0, 0, 0, 0]);
    l.observe(native, nr("socket"), [1, 0x80001, 0, 0, 0, 0]);
    l.observe(native, nr("socket"), [2, 1, 6, 0, 0, 0]);
    // The high word of a 32-bit argument is not what the kernel reads.
    l.observe(native, nr("fcntl"), [3, 0xdead_beef_0000_0002, 0, 0, 0, 0]);
    for req in 0..20u64 {
        l.observe(native, nr("ioctl"), [1, 0x5400 + req, 0, 0, 0, 0]);
    }
    let p = l.profile(&LearnOptions::default());
    let entries = p["syscalls"].as_array().unwrap();
    assert_eq!(
        entries[0]["names"],
        json!([
            "exit",
            "exit_group",
            "futex",
            "getpid",
            "ioctl",
            "restart_syscall",
            "rt_sigreturn"
        ])
    );
    assert!(entries
        .iter()
        .any(|e| e["names"] == json!(["clone3"]) && e["errnoRet"] == 38));
    let socket: Vec<&Value> = entries
        .iter()
        .filter(|e| e["names"] == json!(["socket"]))
        .collect();
    assert_eq!(socket.len(), 2);
    assert_eq!(
        socket[0]["args"][0],
        json!({"index": 0, "value": 0xffff_ffffu64, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"})
    );
    let fcntl = entries
        .iter()
        .find(|e| e["names"] == json!(["fcntl"]))
        .unwrap();
    assert_eq!(fcntl["args"][0]["valueTwo"], 2);
    assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(p["architectures"][0], arch::native().name);
    // And it is a valid profile.
    let spec: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(p).unwrap();
    crate::compile(&spec, &crate::CompileOptions::default()).unwrap();
}

fn x86() -> &'static arch::ArchInfo {
    arch::ALL
        .iter()
        .find(|a| a.name == "SCMP_ARCH_X86")
        .unwrap()
}

fn entries_for<'v>(p: &'v Value, name: &str) -> Vec<&'v Value> {
    p["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["names"].as_array().unwrap().iter().any(|n| n == name))
        .collect()
}

#[test]
fn a_call_on_another_abi_never_drops_the_conditions_of_a_direct_call() {
    let native = arch::native().audit_arch;
    let i386 = x86();
    let mut l = Learner::new(ArgSelection::default());
    l.observe(native, nr("socket"), [1, 1, 0, 0, 0, 0]);
    l.observe(native, nr("setsockopt"), [3, 1, 2, 0, 4, 0]);
    l.observe(
        i386.audit_arch,
        arch::resolve("getpid", i386).unwrap(),
        [0; 6],
    );
    let p = l.profile(&LearnOptions::default());
    assert!(p["architectures"]
        .as_array()
        .unwrap()
        .contains(&json!("SCMP_ARCH_X86")));
    let socket = entries_for(&p, "socket");
    assert_eq!(socket.len(), 1, "{socket:?}");
    assert_eq!(socket[0]["args"].as_array().unwrap().len(), 3, "{socket:?}");
    let setsockopt = entries_for(&p, "setsockopt");
    assert_eq!(setsockopt.len(), 1, "{setsockopt:?}");
    assert_eq!(setsockopt[0]["args"][0]["valueTwo"], 1);
    assert_eq!(setsockopt[0]["args"][1]["valueTwo"], 2);
    // A socket family seen on i386 only is allowed on x86_64 too: said.
    let mut m = l.clone();
    m.observe(
        i386.audit_arch,
        arch::resolve("socket", i386).unwrap(),
        [16, 3, 0, 0, 0, 0],
    );
    assert!(m.notes(None).iter().any(|n| matches!(n,
        LearnNote::OneAbiOnlyArguments { syscall, combinations, .. }
            if syscall == "socket" && combinations == &[vec![16, 3, 0]])));
    // The 32-bit getpid is named for every ABI, and the summary says so.
    assert_eq!(
        l.notes(None),
        [LearnNote::OneAbiOnly {
            abi: "SCMP_ARCH_X86".into(),
            syscalls: vec!["getpid".into()]
        }]
    );
    let spec: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(p).unwrap();
    crate::compile(&spec, &crate::CompileOptions::default()).unwrap();
}

#[test]
fn calls_through_a_multiplexer_are_learned_as_the_multiplexer_with_their_sub_call() {
    let i386 = x86();
    let socketcall = arch::resolve("socketcall", i386).unwrap();
    let ipc = arch::resolve("ipc", i386).unwrap();
    let native = arch::native().audit_arch;
    let mut l = Learner::new(ArgSelection::default());
    // socketpair (8) and connect (3) only through socketcall; socket (1) both ways.
    l.observe(i386.audit_arch, socketcall, [8, 0x1000, 0, 0, 0, 0]);
    l.observe(i386.audit_arch, socketcall, [3, 0x1000, 0, 0, 0, 0]);
    l.observe(i386.audit_arch, socketcall, [1, 0x1000, 0, 0, 0, 0]);
    l.observe(native, nr("socket"), [1, 1, 0, 0, 0, 0]);
    // msgget (13), version 1 in the upper half: the kernel reads the low 16 bits.
    l.observe(i386.audit_arch, ipc, [0x1_000d, 0, 0, 0, 0, 0]);
    // Numbers that are no sub-call fail in the kernel: not learned.
    for bad in [0u64, 21, 0xffff_ffff] {
        l.observe(i386.audit_arch, socketcall, [bad, 0, 0, 0, 0, 0]);
    }
    let p = l.profile(&LearnOptions::default());
    let sc = entries_for(&p, "socketcall");
    let calls: BTreeSet<u64> = sc
        .iter()
        .map(|e| e["args"][0]["valueTwo"].as_u64().unwrap())
        .collect();
    assert_eq!(calls, BTreeSet::from([3, 8]), "{sc:?}");
    assert!(sc.iter().all(
        |e| e["args"][0]["value"] == 0xffff_ffffu64 && e["args"].as_array().unwrap().len() == 1
    ));
    let ipc_entries = entries_for(&p, "ipc");
    assert_eq!(ipc_entries.len(), 1);
    assert_eq!(ipc_entries[0]["args"][0]["value"], 0xffff);
    assert_eq!(ipc_entries[0]["args"][0]["valueTwo"], 13);
    let notes = l.notes(None);
    assert!(
        notes.contains(&LearnNote::MultiplexedNotLearned {
            abi: "SCMP_ARCH_X86".into(),
            multiplexer: "socketcall",
            call: 1,
            syscall: "socket",
        }),
        "{notes:?}"
    );
    assert!(
        notes.contains(&LearnNote::UnknownSubcall {
            abi: "SCMP_ARCH_X86".into(),
            multiplexer: "socketcall",
            calls: 3,
        }),
        "{notes:?}"
    );
    let spec: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(p).unwrap();
    crate::compile(&spec, &crate::CompileOptions::default()).unwrap();
}

#[test]
fn a_syscall_past_the_cap_is_reported_and_named_in_the_comment() {
    let native = arch::native().audit_arch;
    let mut l = Learner::new(ArgSelection::default()).with_max_combinations(4);
    // Five families, each of them failing or not: all count.
    for family in [1u64, 2, 10, 16, 40] {
        l.observe(native, nr("socket"), [family, 1, 0, 0, 0, 0]);
    }
    let p = l.profile(&LearnOptions::default());
    let socket = entries_for(&p, "socket");
    assert_eq!(socket.len(), 1);
    assert!(socket[0].get("args").is_none());
    let notes = l.notes(None);
    assert_eq!(
        notes,
        [LearnNote::Unconditional {
            syscall: "socket".into(),
            indices: vec![0, 1, 2],
            cap: 4
        }]
    );
    let comment = p["$comment"].as_array().unwrap();
    assert!(comment.iter().any(|c| c
        .as_str()
        .unwrap()
        .starts_with("widened: socket: allowed without conditions")));
}

#[test]
fn what_a_profile_cannot_keep_is_not_learned_or_is_said() {
    let native = arch::native().audit_arch;
    let x86 = x86();
    // A base that kills unshare(CLONE_NEWUSER): an unconditional ALLOW for unshare
    // would beat it, so it is not learned.
    let base = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["unshare"], "action": "SCMP_ACT_KILL_PROCESS",
         "args": [{"index": 0, "value": 0x1000_0000u64, "valueTwo": 0x1000_0000u64,
                   "op": "SCMP_CMP_MASKED_EQ"}]}]});
    let mut l = Learner::new(ArgSelection::parse(["socket:0"]).unwrap());
    l.observe(native, nr("unshare"), [0x0400_0000, 0, 0, 0, 0, 0]);
    l.observe(native, nr("clone3"), [0x1000, 88, 0, 0, 0, 0]);
    l.observe(native, nr("io_uring_setup"), [8, 0x1000, 0, 0, 0, 0]);
    l.observe(native, nr("socket"), [1, 1, 0, 0, 0, 0]);
    // socketcall is not selected here: it goes unconditional past socket's conditions.
    let socketcall = arch::resolve("socketcall", x86).unwrap();
    l.observe(x86.audit_arch, socketcall, [8, 0x1000, 0, 0, 0, 0]);
    let opts = LearnOptions {
        base: Some(base.clone()),
        ..LearnOptions::default()
    };
    let p = l.profile(&opts);
    assert!(
        !entries_for(&p, "unshare")
            .iter()
            .any(|e| e["action"] == "SCMP_ACT_ALLOW"),
        "{p}"
    );
    let notes = l.notes(Some(&base));
    assert!(notes.contains(&LearnNote::BaseConditional {
        syscall: "unshare".into()
    }));
    for name in ["clone3", "io_uring_setup"] {
        assert!(
            notes
                .iter()
                .any(|n| matches!(n, LearnNote::Opaque { syscall, .. } if syscall == name)),
            "{name}: {notes:?}"
        );
    }
    assert!(notes.contains(&LearnNote::MultiplexerUnconditional {
        multiplexer: "socketcall".into(),
        bypassed: vec!["socket".into()],
    }));
}

#[test]
fn selection_parses_and_refuses() {
    let s = ArgSelection::parse(["socket:0,1", "ioctl:1"]).unwrap();
    assert_eq!(s.indices("socket"), &[0, 1]);
    assert!(ArgSelection::parse(["socket"]).is_err());
    assert!(ArgSelection::parse(["socket:6"]).is_err());
    assert!(ArgSelection::parse(["nosuchcall:0"]).is_err());
    let e = ArgSelection::parse(["openat:1"]).unwrap_err();
    assert!(e.contains("pointer"), "{e}");
}
