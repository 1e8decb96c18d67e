//! `explain`: the action, the deciding entry, the cost, and how the kernel reads each
//! argument.

mod common;

use common::{cli, stderr, stdout, TempDir, DENY, ERRNO_DEFAULT};
use serde_json::{json, Value};

#[cfg(target_arch = "x86_64")]
#[test]
fn explain_names_the_deciding_entry() {
    let t = TempDir::new("explain");
    let p = t.write("deny.json", DENY);
    let o = cli(&["explain", &p, "getppid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("EPERM") && s.contains("syscalls[0]"), "{s}");
    assert!(
        s.contains("instructions executed") && s.contains("program length"),
        "{s}"
    );

    let o = cli(&["explain", &p, "getpid"]);
    assert!(stdout(&o).contains("defaultAction"), "{}", stdout(&o));

    let p2 = t.write("errno.json", ERRNO_DEFAULT);
    // Argument conditions: personality(8) allowed by entry 1, personality(5) by default.
    let s = stdout(&cli(&["explain", &p2, "personality", "8"]));
    assert!(
        s.contains("SCMP_ACT_ALLOW") && s.contains("syscalls[1]"),
        "{s}"
    );
    let s = stdout(&cli(&["explain", &p2, "personality", "0x5"]));
    assert!(s.contains("EPERM") && s.contains("defaultAction"), "{s}");
    // MASKED_EQ: clone without namespace flags allowed, with CLONE_NEWUSER denied.
    let s = stdout(&cli(&["explain", &p2, "clone", "0x11"]));
    assert!(s.contains("syscalls[2]"), "{s}");
    let s = stdout(&cli(&["explain", &p2, "clone", "0x10000000"]));
    assert!(s.contains("defaultAction"), "{s}");
    // Newer than the profile: the ENOSYS stub.
    let s = stdout(&cli(&["explain", &p2, "1000"]));
    assert!(s.contains("ENOSYS") && s.contains("stub"), "{s}");
    // An architecture the profile does not list.
    let s = stdout(&cli(&["explain", &p2, "read", "--arch", "x86"]));
    assert!(s.contains("architecture not in the profile"), "{s}");
    // Options after the syscall's arguments are options, not arguments.
    let o = cli(&["explain", &p2, "personality", "8", "--arch", "x86_64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("syscalls[1]"), "{}", stdout(&o));

    let j = cli(&["explain", &p, "getppid", "--json"]);
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["errno_name"], json!("EPERM"));
    assert_eq!(v["decided_by"]["kind"], json!("entry"));
    assert_eq!(v["decided_by"]["entry"]["index"], json!(0));
    assert_eq!(v["nr"], json!(110));
}

#[test]
fn errno_zero_is_said_to_skip_the_call_and_return_zero() {
    let t = TempDir::new("explain-errno0");
    let p = t.write(
        "errno0.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":0}]}"#,
    );
    let o = cli(&["explain", &p, "getppid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.contains("not made, returns 0") && !s.contains("unknown errno"),
        "{s}"
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn explain_any_number_the_kernel_can_see_and_the_right_abi() {
    let t = TempDir::new("explain-nr");
    let both = t.write(
        "x32.json",
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
            "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":7}]}"#,
    );
    // -1 (a tracer skipping the call) and its unsigned spelling: the stub answers.
    for nr in ["-1", "4294967295"] {
        let o = cli(&["explain", &both, "--", nr]);
        assert!(o.status.success(), "{nr}: {}", stderr(&o));
        assert!(stdout(&o).contains("stub"), "{nr}: {}", stdout(&o));
    }
    // An x32 number given on x86_64 is decided by the entry, named as the x32 call.
    let o = cli(&["explain", &both, &format!("{}", 0x4000_006e_u32)]);
    let s = stdout(&o);
    assert!(s.contains("syscalls[0]") && s.contains("getppid"), "{s}");
    // Without x32 in the profile it is a foreign ABI, never "unexplained".
    let plain = t.write(
        "plain.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let s = stdout(&cli(&["explain", &plain, "0x4000006e"]));
    assert!(
        s.contains("ABI of this number is not in the profile"),
        "{s}"
    );
    assert!(s.contains("SCMP_ACT_KILL"), "{s}");
    let o = cli(&["explain", &plain, "0x100000000"]);
    assert!(!o.status.success());
}

/// A number that does not fit is refused, never wrapped: arguments are u64, negative
/// numbers go down to i64::MIN (their two's complement).
#[test]
fn explain_refuses_numbers_that_do_not_fit() {
    let t = TempDir::new("explain-range");
    let p = t.write("allow.json", r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
    for (arg, words) in [
        ("-9223372036854775809", "below -9223372036854775808"),
        ("18446744073709551616", "above 18446744073709551615"),
    ] {
        let o = cli(&["explain", &p, "socket", arg]);
        assert_eq!(o.status.code(), Some(1), "{arg}: {}", stdout(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("argument 0 \"{arg}\": {words}")), "{e}");
    }
    let o = cli(&[
        "explain",
        &p,
        "socket",
        "-9223372036854775808",
        "18446744073709551615",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cli(&["explain", &p, "--", "-9223372036854775809"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("syscall number \"-9223372036854775809\": below"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn libseccomp_miscompiles_this_profile_and_ours_explains_and_runs_it() {
    let t = TempDir::new("miscompiled");
    // Getppid(0x391095bc0380ebab, 0, 0, 0x300000000) matches entry 0
    // only, and libseccomp 2.5.4's program allows it.
    let p = t.write(
        "three.json",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/miscompiled/three-getppid.json"
        ))
        .unwrap(),
    );
    // libseccomp's generator: refused, naming the entry.
    let o = cli(&["compile", &p, "--backend", "libseccomp"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("syscalls[0]") && stderr(&o).contains("miscompiled"),
        "{}",
        stderr(&o)
    );
    // Ours (the default): `check` finds no compile error, `explain` says entry 0 and
    // ERRNO(100), and `run` installs the program.
    let o = cli(&["check", &p]);
    assert!(stdout(&o).contains(": 0 error(s)"), "{}", stdout(&o));
    let o = cli(&[
        "explain",
        &p,
        "getppid",
        "0x391095bc0380ebab",
        "0",
        "0",
        "0x300000000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("syscalls[0]") && stdout(&o).contains("100"),
        "{}",
        stdout(&o)
    );
    let o = cli(&["run", "--profile", &p, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `explain` says how the kernel reads each argument (the argument-width
/// table): `ioctl`'s request is an `unsigned int`, so 0x1_0000_541b runs as FIONREAD while
/// the filter's `EQ 0x541b` does not match it.
#[test]
fn explain_says_how_the_kernel_reads_each_argument() {
    let t = TempDir::new("explain-width");
    let p = t.write(
        "ioctl.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 21531, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let o = cli(&[
        "explain",
        &p,
        "ioctl",
        "3",
        "0x10000541b",
        "--arch",
        "x86_64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Ours (the kernel's reading, the default): the filter compares what the kernel reads.
    let s = stdout(&o);
    assert!(s.contains("SCMP_ACT_ERRNO"), "{s}");
    assert!(
        s.contains("`unsigned int cmd` (32 bits): 0x541b")
            && s.contains("the kernel's reading; runc and crun compare 0x10000541b"),
        "{s}"
    );
    assert!(s.contains("`unsigned int fd` (32 bits): 0x3"), "{s}");
    // runc's literal reading: the upper half steps around the entry.
    let o = cli(&[
        "explain",
        &p,
        "ioctl",
        "3",
        "0x10000541b",
        "--arch",
        "x86_64",
        "--arg-reading",
        "literal",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("SCMP_ACT_ALLOW"), "{s}");
    assert!(
        s.contains("`unsigned int cmd` (32 bits): 0x541b") && s.contains("SCMP_CMP_MASKED_EQ"),
        "{s}"
    );
    let o = cli(&[
        "explain",
        &p,
        "ioctl",
        "3",
        "0x10000541b",
        "--arch",
        "x86_64",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kernel_reads"][1]["bits"], json!(32), "{v}");
    assert_eq!(v["kernel_reads"][1]["value"], json!("0x541b"), "{v}");
    assert_eq!(v["kernel_reads"][1]["compared"], json!("0x541b"), "{v}");
    assert_eq!(v["arg_reading"], json!("kernel"), "{v}");
    // On i386 the register is 32 bits: the filter sees what the kernel reads.
    let o = cli(&["explain", &p, "ioctl", "3", "0x541b", "--arch", "x86"]);
    assert!(stdout(&o).contains("(32 bits): 0x541b"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("MASKED_EQ"), "{}", stdout(&o));
}

#[test]
fn explain_refuses_bad_inputs() {
    let t = TempDir::new("explain-bad");
    let p = t.write("deny.json", DENY);
    let o = cli(&["explain", &p, "no_such_syscall"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no_such_syscall"), "{}", stderr(&o));
    let o = cli(&["explain", &p, "getppid", "zz"]);
    assert_eq!(o.status.code(), Some(1));
    let o = cli(&["explain", &p, "getppid", "--arch", "pdp11"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("pdp11"));
    let o = cli(&["explain", &t.path("missing.json"), "getppid"]);
    assert_eq!(o.status.code(), Some(1));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn explain_default_profile() {
    let o = cli(&["explain", "--default", "unshare", "0x10000000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("EPERM"), "{}", stdout(&o));
    let o = cli(&["explain", "--default", "clone3"]);
    assert!(stdout(&o).contains("ENOSYS"), "{}", stdout(&o));
    // io_uring is refused, as Docker has since 25.0: the default action decides.
    for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        let o = cli(&["explain", "--default", name]);
        assert!(o.status.success(), "{}", stderr(&o));
        let s = stdout(&o);
        assert!(
            s.contains(name) && s.contains("SCMP_ACT_ERRNO (EPERM, 1)"),
            "{s}"
        );
        assert!(s.contains("decided by: defaultAction"), "{s}");
    }
}

/// `explain` reads a Docker profile as `check` and `run` do: rendered for this host.
#[cfg(target_arch = "x86_64")]
#[test]
fn explain_renders_a_docker_profile_for_this_host() {
    let t = TempDir::new("explain-docker");
    let p = t.write(
        "moby.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "syscalls": [
              {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    );
    let o = cli(&["explain", &p, "getppid"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("SCMP_ACT_ALLOW"), "{}", stdout(&o));
    // Docker's default capabilities have no CAP_SYS_ADMIN: the entry is not rendered.
    let o = cli(&["explain", &p, "unshare"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("SCMP_ACT_ERRNO"), "{}", stdout(&o));
}
