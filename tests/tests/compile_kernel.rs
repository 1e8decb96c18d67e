//! Every row of docs/design.md §2.1, proved by what the kernel does in a forked child.
#![cfg(target_arch = "x86_64")]

use std::sync::atomic::{AtomicBool, Ordering};

use oci_seccomp::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use oci_seccomp::{simulate, Action, ArgReading, CompileOptions, Program};
use oci_seccomp_tests::{int80, probe, program, program_with, raw, run_filtered, Exit, TIMEOUT};

// x86_64 syscall numbers.
const GETCWD: i64 = 79;
const GETPPID: i64 = 110;
const GETUID: i64 = 102;
const GETPID: i64 = 39;
const MKDIR: i64 = 83;
const CLONE: i64 = 56;
const CLONE3: i64 = 435;
const SOCKET: i64 = 41;
const WAIT4: i64 = 61;
const PERSONALITY: i64 = 135;
// i386 numbers.
const I386_GETPPID: u32 = 64;

const EPERM: i64 = 1;
const EAGAIN: i64 = 11;
const EACCES: i64 = 13;
const ENOSYS: i64 = 38;
const EAFNOSUPPORT: i64 = 97;
const SIGSYS: i32 = libc::SIGSYS;

/// Syscalls a child needs to report and exit, for allow-list profiles.
const BASE: &str = r#"{"names":["write","exit_group","exit","rt_sigreturn","rt_sigprocmask","futex","munmap","mmap","brk","wait4","sigaltstack","madvise","getppid"],"action":"SCMP_ACT_ALLOW"}"#;

fn a0(v: u64) -> [u64; 6] {
    [v, 0, 0, 0, 0, 0]
}

/// Checks that `simulate` gives what the kernel gave for each native probe: an ERRNO
/// decision is exactly that errno, ALLOW/LOG means the syscall ran (non-negative here).
fn assert_sim_matches(p: &Program, probes: &[(i64, [u64; 6])], got: &[i64]) {
    for ((nr, args), r) in probes.iter().zip(got) {
        let d = simulate(p, AUDIT_ARCH_X86_64, *nr as i32, *args).expect("simulate");
        match d.action {
            Action::Errno(e) => assert_eq!(
                *r,
                -i64::from(e),
                "nr {nr} args {args:?}: simulate {d:?}, kernel {r}"
            ),
            Action::Allow | Action::Log => assert!(
                *r >= 0,
                "nr {nr} args {args:?}: simulate allows, kernel {r}"
            ),
            other => panic!("probe {nr} decided {other:?}; use run_filtered for fatal actions"),
        }
    }
}

fn check(p: &Program, table: &[(i64, [u64; 6], i64)]) {
    let probes: Vec<_> = table.iter().map(|(n, a, _)| (*n, *a)).collect();
    let got = probe(p, &probes);
    for ((nr, args, want), r) in table.iter().zip(&got) {
        if *want < 0 {
            assert_eq!(r, want, "nr {nr} args {args:?}");
        } else {
            assert!(*r >= 0, "nr {nr} args {args:?}: expected success, got {r}");
        }
    }
    assert_sim_matches(p, &probes, &got);
}

fn single_rule(action: &str, extra: &str) -> Program {
    program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],"action":"{action}"{extra}}}]}}"#
    ))
}

#[test]
fn errno_defaults_to_eperm_and_errno_ret_is_kept() {
    check(
        &single_rule("SCMP_ACT_ERRNO", ""),
        &[(GETPPID, a0(0), -EPERM), (GETPID, a0(0), 1)],
    );
    check(
        &single_rule("SCMP_ACT_ERRNO", r#","errnoRet":42"#),
        &[(GETPPID, a0(0), -42)],
    );
}

#[test]
fn default_errno_ret_is_used() {
    let p = program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13,"syscalls":[{BASE}]}}"#
    ));
    check(&p, &[(GETUID, a0(0), -EACCES), (GETPPID, a0(0), 1)]);
}

#[test]
fn trace_without_tracer_is_enosys() {
    // With no ptrace tracer attached the kernel fails a TRACE'd syscall with ENOSYS.
    let p = single_rule("SCMP_ACT_TRACE", "");
    assert_eq!(
        simulate(&p, AUDIT_ARCH_X86_64, GETPPID as i32, [0; 6])
            .unwrap()
            .action,
        Action::Trace(1)
    );
    assert_eq!(probe(&p, &[(GETPPID, a0(0))]), [-ENOSYS]);
}

#[test]
fn allow_and_log_let_the_call_through() {
    for action in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
        let p = program(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{BASE},{{"names":["getpid"],"action":"{action}"}}]}}"#
        ));
        // SAFETY: getpid has no preconditions.
        let me = i64::from(unsafe { libc::getpid() });
        let got = probe(&p, &[(GETPID, a0(0)), (GETUID, a0(0))]);
        assert!(
            got[0] > 0 && got[0] != me,
            "{action}: getpid gave {}",
            got[0]
        );
        assert_eq!(got[1], -EPERM, "{action}");
    }
}

static TRAPPED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigsys(_: libc::c_int) {
    TRAPPED.store(true, Ordering::SeqCst);
}

#[test]
fn trap_delivers_sigsys() {
    let p = single_rule("SCMP_ACT_TRAP", "");
    let r = run_filtered(&p, TIMEOUT, |rep| {
        // SAFETY: installing a plain handler that only stores to an atomic.
        unsafe { libc::signal(libc::SIGSYS, on_sigsys as *const () as libc::sighandler_t) };
        raw(GETPPID, [0; 6]);
        rep.report(i64::from(TRAPPED.load(Ordering::SeqCst)));
        0
    });
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.values, [1], "SIGSYS handler did not run");
}

static THREAD_SURVIVED: AtomicBool = AtomicBool::new(false);

/// Calls getppid from a second thread; the main thread then reports whether that thread
/// got past the call (never joining it: a killed thread leaves no result to join).
fn two_thread_child(p: &Program) -> oci_seccomp_tests::ChildReport {
    run_filtered(p, TIMEOUT, |rep| {
        std::thread::spawn(|| {
            raw(GETPPID, [0; 6]);
            THREAD_SURVIVED.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        rep.report(i64::from(THREAD_SURVIVED.load(Ordering::SeqCst)));
        0
    })
}

#[test]
fn kill_thread_and_kill_process_are_told_apart() {
    for action in ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"] {
        let r = two_thread_child(&single_rule(action, ""));
        assert_eq!(
            r.exit,
            Exit::Code(0),
            "{action}: the main thread must survive"
        );
        assert_eq!(r.values, [0], "{action}: the calling thread must be dead");
    }
    let r = two_thread_child(&single_rule("SCMP_ACT_KILL_PROCESS", ""));
    assert_eq!(
        r.exit,
        Exit::Signal(SIGSYS),
        "KILL_PROCESS must kill the whole process"
    );
    assert!(r.values.is_empty());
}

/// (operator, value, valueTwo, [(argument, whether the rule matches)])
type OpCase<'a> = (&'a str, u64, u64, &'a [(u64, bool)]);

#[test]
fn every_operator_at_its_boundaries() {
    // (op, value, valueTwo, [(arg, matches)])
    let big: u64 = 0x1_0000_0005; // high word matters: 64-bit comparisons
    let cases: &[OpCase] = &[
        (
            "SCMP_CMP_EQ",
            big,
            0,
            &[(big - 1, false), (big, true), (big + 1, false), (5, false)],
        ),
        (
            "SCMP_CMP_NE",
            big,
            0,
            &[(big - 1, true), (big, false), (5, true)],
        ),
        (
            "SCMP_CMP_LT",
            big,
            0,
            &[
                (big - 1, true),
                (big, false),
                (big + 1, false),
                (0xffff_ffff, true),
            ],
        ),
        (
            "SCMP_CMP_LE",
            big,
            0,
            &[(big - 1, true), (big, true), (big + 1, false)],
        ),
        (
            "SCMP_CMP_GT",
            big,
            0,
            &[
                (big - 1, false),
                (big, false),
                (big + 1, true),
                (u64::MAX, true),
            ],
        ),
        (
            "SCMP_CMP_GE",
            big,
            0,
            &[(big - 1, false), (big, true), (big + 1, true), (6, false)],
        ),
        (
            "SCMP_CMP_MASKED_EQ",
            0xff00_0000_0000_00f0,
            0x1200_0000_0000_0020,
            &[
                (0x1200_0000_0000_0025, true),
                (0x1200_0000_0000_0125, true),
                (0x1200_0000_0000_0035, false),
                (0x1300_0000_0000_0020, false),
                (0x0000_0000_0000_0020, false),
            ],
        ),
    ];
    for (op, value, value_two, probes) in cases {
        let p = single_rule(
            "SCMP_ACT_ERRNO",
            &format!(
                r#","errnoRet":100,"args":[{{"index":1,"value":{value},"valueTwo":{value_two},"op":"{op}"}}]"#
            ),
        );
        let table: Vec<_> = probes
            .iter()
            .map(|(arg, m)| (GETPPID, [0, *arg, 0, 0, 0, 0], if *m { -100 } else { 1 }))
            .collect();
        check(&p, &table);
    }
}

#[test]
fn masked_eq_is_value_mask_value_two_expected() {
    // Docker's rule: allow clone only when (flags & 0x7E020000) == 0.
    let p = program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{BASE},
        {{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}}]}}]}}"#
    ));
    let r = run_filtered(&p, TIMEOUT, |rep| {
        let pid = raw(CLONE, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]);
        if pid == 0 {
            // SAFETY: the new process leaves at once.
            unsafe { libc::_exit(7) };
        }
        rep.report(pid);
        if pid > 0 {
            let mut status = 0i32;
            raw(
                WAIT4,
                [pid as u64, &mut status as *mut i32 as u64, 0, 0, 0, 0],
            );
            rep.report(i64::from(status));
        }
        rep.report(raw(
            CLONE,
            [(libc::CLONE_NEWUSER | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0],
        ));
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert!(
        r.values[0] > 0,
        "plain clone(SIGCHLD) must be allowed: {r:?}"
    );
    assert_eq!(r.values[1], 7 << 8, "the clone child ran and exited 7");
    assert_eq!(r.values[2], -EPERM, "clone(CLONE_NEWUSER) must be denied");
}

#[test]
fn repeated_index_is_or_distinct_indices_are_and() {
    let or = single_rule(
        "SCMP_ACT_ERRNO",
        r#","errnoRet":101,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]"#,
    );
    check(
        &or,
        &[
            (GETPPID, a0(1), -101),
            (GETPPID, a0(2), -101),
            (GETPPID, a0(3), 1),
        ],
    );
    let and = single_rule(
        "SCMP_ACT_ERRNO",
        r#","errnoRet":102,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]"#,
    );
    check(
        &and,
        &[
            (GETPPID, [1, 2, 0, 0, 0, 0], -102),
            (GETPPID, [1, 3, 0, 0, 0, 0], 1),
            (GETPPID, [0, 2, 0, 0, 0, 0], 1),
        ],
    );
}

#[test]
fn two_socket_entries_with_conditions_crio_style() {
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"value":16,"op":"SCMP_CMP_EQ"},{"index":2,"value":9,"op":"SCMP_CMP_EQ"}]},
        {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":97,"args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    check(
        &p,
        &[
            (SOCKET, [16, 3, 9, 0, 0, 0], -EACCES), // AF_NETLINK, SOCK_RAW, NETLINK_AUDIT
            (SOCKET, [16, 3, 0, 0, 0, 0], 1),       // NETLINK_ROUTE
            (SOCKET, [40, 1, 0, 0, 0, 0], -EAFNOSUPPORT), // AF_VSOCK
            (SOCKET, [1, 1, 0, 0, 0, 0], 1),        // AF_UNIX
        ],
    );
}

#[test]
fn clone3_gets_enosys_from_its_errno_ret_while_default_is_eperm() {
    let p = program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{BASE},{{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}}]}}"#
    ));
    check(
        &p,
        &[
            (CLONE3, [0, 88, 0, 0, 0, 0], -ENOSYS),
            (GETUID, a0(0), -EPERM),
        ],
    );
}

#[test]
fn enosys_stub_for_syscalls_newer_than_the_profile() {
    let json = format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{BASE}]}}"#);
    let with = program(&json);
    check(
        &with,
        &[
            (1000, a0(0), -ENOSYS),
            (GETUID, a0(0), -EPERM),
            (GETPPID, a0(0), 1),
        ],
    );
    let without = program_with(&json, &CompileOptions::default().with_enosys_stub(false));
    check(&without, &[(1000, a0(0), -EPERM), (GETUID, a0(0), -EPERM)]);
    assert!(with.len() > without.len());
}

#[test]
fn enosys_stub_applies_with_a_kill_default_like_runc() {
    let p = program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[{BASE}]}}"#
    ));
    assert_eq!(probe(&p, &[(1000, a0(0))]), [-ENOSYS]);
    let r = run_filtered(&p, TIMEOUT, |_| {
        raw(GETUID, [0; 6]);
        0
    });
    assert_eq!(r.exit, Exit::Signal(SIGSYS));
}

#[test]
fn enosys_stub_handles_x32_numbers() {
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],"syscalls":[{BASE}]}}"#
    );
    let bit = i64::from(X32_SYSCALL_BIT);
    let with = program(&json);
    // Above x32's highest listed number: ENOSYS from the stub. A listed-below, unlisted
    // x32 syscall: the default errno.
    assert_eq!(
        probe(&with, &[(bit | 1000, a0(0)), (bit | GETUID, a0(0))]),
        [-ENOSYS, -EPERM]
    );
    let without = program_with(&json, &CompileOptions::default().with_enosys_stub(false));
    assert_eq!(
        probe(&without, &[(bit | 1000, a0(0)), (bit | GETUID, a0(0))]),
        [-EPERM, -EPERM]
    );
    for (p, want) in [(&with, Action::Errno(38)), (&without, Action::Errno(1))] {
        assert_eq!(
            simulate(p, AUDIT_ARCH_X86_64, (bit | 1000) as i32, [0; 6])
                .unwrap()
                .action,
            want
        );
    }
}

#[test]
fn no_abi_bypass_with_only_x86_64_listed() {
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"] {
        let p = program(&format!(
            r#"{{"defaultAction":"{default}","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{BASE},{{"names":["getuid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}}]}}"#
        ));
        let r = run_filtered(&p, TIMEOUT, |rep| {
            rep.report(int80(I386_GETPPID, 0, 0, 0));
            0
        });
        assert_eq!(
            r.exit,
            Exit::Signal(SIGSYS),
            "{default}: i386 int 0x80 must be killed: {r:?}"
        );
        let r = run_filtered(&p, TIMEOUT, |rep| {
            rep.report(raw(i64::from(X32_SYSCALL_BIT) | GETPPID, [0; 6]));
            0
        });
        assert_eq!(
            r.exit,
            Exit::Signal(SIGSYS),
            "{default}: x32 call must be killed: {r:?}"
        );
        assert_eq!(
            simulate(&p, AUDIT_ARCH_I386, I386_GETPPID as i32, [0; 6])
                .unwrap()
                .action,
            Action::KillThread
        );
    }
}

#[test]
fn i386_rules_apply_when_x86_is_listed() {
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":77}]}"#,
    );
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(int80(I386_GETPPID, 0, 0, 0));
        rep.report(raw(GETPPID, [0; 6]));
        0
    });
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.values, [-77, -77]);
    assert_eq!(
        simulate(&p, AUDIT_ARCH_I386, I386_GETPPID as i32, [0; 6])
            .unwrap()
            .action,
        Action::Errno(77)
    );
}

#[test]
fn rule_equal_to_default_is_skipped() {
    // libseccomp would refuse such a rule with EACCES; we skip it.
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["write","exit_group","getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getuid"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
        {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":2}]}"#,
    );
    check(&p, &[(GETUID, a0(0), -EPERM), (GETPID, a0(0), -2)]);
}

#[test]
fn unknown_names_are_skipped_or_refused_when_strict() {
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid","no_such_syscall_xyz"],"action":"SCMP_ACT_ERRNO","errnoRet":9}]}"#;
    check(&program(json), &[(GETPPID, a0(0), -9)]);
    let spec = oci_seccomp::parse_profile(json).unwrap();
    let e = oci_seccomp::compile(&spec, &CompileOptions::strict()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("syscalls[0].names[1]") && msg.contains("no_such_syscall_xyz"),
        "{msg}"
    );
}

#[test]
fn conflicting_unconditional_entries_first_wins_or_strict_error() {
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":5},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":6}]}"#;
    check(&program(json), &[(GETPPID, a0(0), -5)]);
    let spec = oci_seccomp::parse_profile(json).unwrap();
    let msg = oci_seccomp::compile(&spec, &CompileOptions::strict())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("syscalls[1].names[0]") && msg.contains("syscalls[0].names[0]"),
        "{msg}"
    );
}

#[test]
fn empty_profile_has_no_rules_and_still_works() {
    // Zero rules: the linear layout is used (libseccomp bug #370 hits the tree with none).
    let p = program(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":3}"#);
    assert_eq!(
        simulate(&p, AUDIT_ARCH_X86_64, GETPPID as i32, [0; 6])
            .unwrap()
            .action,
        Action::Errno(3)
    );
    let r = run_filtered(&p, TIMEOUT, |_| 0);
    // Every syscall fails with ESRCH, exit_group and exit included, so glibc's _exit
    // falls through to `hlt`, which faults in user mode: the filter was in force.
    assert_eq!(r.exit, Exit::Signal(libc::SIGSEGV), "{r:?}");
}

#[test]
fn errno_zero_skips_the_call_and_returns_zero() {
    // mkdir(2) denied with errno 0: the caller sees success, and nothing is made (what
    // `explain` says of errno 0).
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = std::ffi::CString::new(
        dir.path()
            .join("made")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("no NUL");
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":0}]}"#,
    );
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(raw(MKDIR, [path.as_ptr() as u64, 0o755, 0, 0, 0, 0]));
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert_eq!(r.values, [0], "{r:?}");
    assert!(!dir.path().join("made").exists(), "the call was made");
    // Without the filter the same call makes the directory: the test can tell.
    assert_eq!(raw(MKDIR, [path.as_ptr() as u64, 0o755, 0, 0, 0, 0]), 0);
    assert!(dir.path().join("made").is_dir());
}

// Ports of youki's seccomp module tests.

#[test]
fn youki_getcwd_answered_with_eagain() {
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":11}]}"#,
    );
    let r = run_filtered(&p, TIMEOUT, |rep| {
        let mut buf = [0u8; 256];
        rep.report(raw(GETCWD, [buf.as_mut_ptr() as u64, 256, 0, 0, 0, 0]));
        0
    });
    assert_eq!(r.values, [-EAGAIN]);
}

#[test]
fn youki_notify_filter_yields_an_fd() {
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(p.needs_listener());
    let r = oci_seccomp_tests::fork_child(TIMEOUT, |rep| {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        match oci_seccomp_load::install(&p).map(|i| i.notify_fd) {
            Ok(Some(fd)) => {
                use std::os::fd::AsRawFd;
                rep.report(i64::from(fd.as_raw_fd()));
                0
            }
            Ok(None) => 2,
            Err(_) => 3,
        }
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert!(r.values[0] >= 0);
}

#[test]
fn youki_several_entries_for_one_name() {
    let p = program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{BASE},
        {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":0,"op":"SCMP_CMP_EQ"}}]}},
        {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":8,"op":"SCMP_CMP_EQ"}}]}},
        {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"}}]}}]}}"#
    ));
    check(
        &p,
        &[
            (PERSONALITY, a0(0xffff_ffff), 0),
            (PERSONALITY, a0(0), 0),
            (PERSONALITY, a0(8), 0),
            (PERSONALITY, a0(5), -EPERM),
        ],
    );
}

#[test]
fn libseccomp_miscompile_is_refused_not_installed() {
    // Two LT comparisons on one argument (an OR): arg0 == 2 matches the second one.
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":1,
        "args":[{"index":0,"value":0,"op":"SCMP_CMP_LT"},{"index":0,"value":4294967301,"op":"SCMP_CMP_LT"}]}]}"#;
    let spec = oci_seccomp::parse_profile(json).unwrap();
    let libseccomp = CompileOptions::default().with_backend(oci_seccomp::Backend::Libseccomp);
    let e = oci_seccomp::compile(&spec, &libseccomp).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("syscalls[0]") && msg.contains("getpid") && msg.contains("miscompiled"),
        "{msg}"
    );
    // What runc and crun would install: libseccomp's program lets the call through.
    let raw = oci_seccomp::libseccomp::compile_unproven(
        &oci_seccomp::parse_profile(json).unwrap(),
        &libseccomp,
    )
    .unwrap();
    assert!(
        probe(&raw, &[(GETPID, a0(2))])[0] > 0,
        "libseccomp fixed this bug: drop the workaround note"
    );
    // Our generator's program refuses it, and allows arg0 = 2^32 + 5.
    let ours = program_with(json, &CompileOptions::default());
    let got = probe(&ours, &[(GETPID, a0(2)), (GETPID, a0(0x1_0000_0005))]);
    assert_eq!(got[0], -1, "{got:?}");
    assert!(got[1] > 0, "{got:?}");
}

/// The `arg-width` lint's case: the kernel reads `ioctl`'s request as `unsigned
/// int` (fs/ioctl.c, `SYSCALL_DEFINE3(ioctl, unsigned int, fd, unsigned int, cmd,
/// unsigned long, arg)`), the filter compares 64 bits. On a pipe with 3 bytes queued,
/// `ioctl(fd, 0x1_0000_541b, &n)` steps around `arg1 EQ 0x541b` (FIONREAD) and still
/// reports 3; MASKED_EQ with mask 0xffffffff catches it.
#[test]
fn upper_bits_dodge_a_32_bit_argument() {
    const IOCTL: i64 = 16;
    const FIONREAD: u64 = 0x541b;
    let eq = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":21531,"op":"SCMP_CMP_EQ"}]}]}"#;
    let masked = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":4294967295,"valueTwo":21531,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#;
    let probe = |json: &str, reading: ArgReading| {
        let p = program_with(json, &CompileOptions::default().with_arg_reading(reading));
        let r = run_filtered(&p, TIMEOUT, |rep| {
            let mut fds = [0i32; 2];
            // SAFETY: `fds` is a valid array of two ints.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: a 3-byte buffer written to the pipe's write end.
            assert_eq!(unsafe { libc::write(fds[1], b"abc".as_ptr().cast(), 3) }, 3);
            for cmd in [FIONREAD, FIONREAD | 1 << 32] {
                let mut n: libc::c_int = -1;
                let ret = raw(
                    IOCTL,
                    [
                        fds[0] as u64,
                        cmd,
                        &mut n as *mut libc::c_int as u64,
                        0,
                        0,
                        0,
                    ],
                );
                rep.report(ret);
                rep.report(i64::from(n));
            }
            0
        });
        assert_eq!(r.exit, Exit::Code(0), "{json}");
        r.values
    };
    // runc's literal reading, EQ: FIONREAD refused, the same request with bit 32 set runs
    // and reports 3 bytes.
    assert_eq!(probe(eq, ArgReading::Literal), [-EPERM, -1, 0, 3]);
    // The kernel's reading (ours, the default): both refused.
    assert_eq!(probe(eq, ArgReading::Kernel), [-EPERM, -1, -EPERM, -1]);
    // MASKED_EQ 0xffffffff: both refused under either reading.
    for reading in [ArgReading::Literal, ArgReading::Kernel] {
        assert_eq!(probe(masked, reading), [-EPERM, -1, -EPERM, -1]);
    }
    // An order on the request (deny every request >= FIONREAD): the kernel's reading
    // compares the low word, so garbage above it changes nothing.
    let ge = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":21531,"op":"SCMP_CMP_GE"}]}]}"#;
    assert_eq!(probe(ge, ArgReading::Kernel), [-EPERM, -1, -EPERM, -1]);
    // Read literally both are >= 0x541b: refused too (the dodge goes the other way, below).
    let lt = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":21532,"op":"SCMP_CMP_LT"}]}]}"#;
    assert_eq!(probe(lt, ArgReading::Literal), [-EPERM, -1, 0, 3]);
    assert_eq!(probe(lt, ArgReading::Kernel), [-EPERM, -1, -EPERM, -1]);
}

/// A profile that denies `socket` when `arg0 == 40` (AF_VSOCK).
/// The kernel reads the family as an `int`, so `socket(0x1_0000_0028, ...)` is an AF_VSOCK
/// socket: created under runc's literal reading, refused under the kernel's (ours).
#[test]
fn a_vsock_socket_cannot_step_around_a_family_deny() {
    const SOCKET: i64 = 41;
    let deny = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"}]}]}"#;
    let allow_but = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"},{"index":1,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#;
    let probe = |json: &str, reading: ArgReading, family: u64| {
        let p = program_with(json, &CompileOptions::default().with_arg_reading(reading));
        let r = run_filtered(&p, TIMEOUT, |rep| {
            rep.report(raw(SOCKET, [family, 1 /* SOCK_STREAM */, 0, 0, 0, 0]));
            0
        });
        assert_eq!(r.exit, Exit::Code(0), "{json}");
        r.values[0]
    };
    let vsock = 40u64;
    let dodged = 1u64 << 32 | vsock;
    // Without a filter the kernel makes the socket either way (the same family to it).
    let plain = probe(
        r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#,
        ArgReading::Kernel,
        dodged,
    );
    assert!(
        plain >= 0,
        "vsock sockets must be available for this test: {plain}"
    );
    assert!(probe(deny, ArgReading::Literal, dodged) >= 0);
    assert_eq!(probe(deny, ArgReading::Literal, vsock), -EPERM);
    assert_eq!(probe(deny, ArgReading::Kernel, vsock), -EPERM);
    assert_eq!(probe(deny, ArgReading::Kernel, dodged), -EPERM);
    // `!=` on the family ANDed with the type: a 32-bit comparison of the low word, in one
    // rule (no expansion), and the dodge changes nothing.
    assert_eq!(probe(allow_but, ArgReading::Kernel, 1), -EPERM);
    assert!(probe(allow_but, ArgReading::Kernel, vsock) >= 0);
    assert!(probe(allow_but, ArgReading::Kernel, dodged) >= 0);
    assert_eq!(probe(allow_but, ArgReading::Kernel, 1 << 32 | 1), -EPERM);
    assert_eq!(probe(allow_but, ArgReading::Literal, 1 << 32 | 1), -EPERM);
    // Read literally, the same vsock socket is refused: stricter than the profile means.
    assert_eq!(probe(allow_but, ArgReading::Literal, 1 << 32 | 40), -EPERM);
}

/// `clone`'s flags are declared `unsigned long`, but kernel/fork.c takes
/// `lower_32_bits(clone_flags)`: with `clone` refused for flags == SIGCHLD (17),
/// `clone(0x1_0000_0011)` still forks. The width table says so (lint `arg-width`), and
/// MASKED_EQ with 0xffffffff closes it.
#[test]
fn clone_flags_are_read_as_32_bits() {
    let eq = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":0,"value":17,"op":"SCMP_CMP_EQ"}]}]}"#;
    let masked = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":0,"value":4294967295,"valueTwo":17,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#;
    let probe_with = |json: &str, reading: ArgReading| {
        let opts = CompileOptions::default().with_arg_reading(reading);
        let r = run_filtered(&program_with(json, &opts), TIMEOUT, |rep| {
            for flags in [17u64, 17 | 1 << 32] {
                let ret = raw(CLONE, [flags, 0, 0, 0, 0, 0]);
                if ret == 0 {
                    // The forked copy: leave at once.
                    // SAFETY: `_exit` ends the copy without running anything of the parent's.
                    unsafe { libc::_exit(0) };
                }
                if ret > 0 {
                    let mut status = 0;
                    // SAFETY: reaping the copy we just made.
                    unsafe { libc::waitpid(ret as i32, &mut status, 0) };
                }
                rep.report(ret.min(1));
            }
            0
        });
        assert_eq!(r.exit, Exit::Code(0), "{json}");
        r.values
    };
    let probe = |json: &str| probe_with(json, ArgReading::Literal);
    // EQ, compared as runc compares it: SIGCHLD alone refused; with bit 32 set the kernel
    // forks (1 stands for a pid).
    assert_eq!(probe(eq), [-5, 1]);
    assert_eq!(probe(masked), [-5, -5]);
    // The kernel's reading (ours, the default): the table's 32 bits are compared.
    assert_eq!(probe_with(eq, ArgReading::Kernel), [-5, -5]);
    let lint = oci_seccomp::lint::lint(&oci_seccomp::parse_profile(eq).unwrap());
    assert!(lint.iter().any(|f| f.code == "arg-width"), "{lint:?}");
}

/// i386 `ipc` takes the sub-call from the low 16 bits of its first argument (the upper 16
/// are a version): "`ipc` refused when `arg0 == 13` (msgget)" is stepped around by
/// `ipc(0x1_000d)` under runc's literal reading and holds under the kernel's.
#[test]
fn an_ipc_version_cannot_step_around_a_sub_call_deny() {
    const IPC: u32 = 117;
    let deny = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["ipc"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":0,"value":13,"op":"SCMP_CMP_EQ"}]}]}"#;
    let probe = |reading: ArgReading| {
        let p = program_with(deny, &CompileOptions::default().with_arg_reading(reading));
        let r = run_filtered(&p, TIMEOUT, |rep| {
            for call in [13u32, 0x1_000d] {
                // msgget(IPC_PRIVATE, 0600)
                let q = int80(IPC, call, 0, 0o600);
                if q >= 0 {
                    // Remove the queue again: msgctl(q, IPC_RMID) through ipc(MSGCTL).
                    int80(IPC, 14, q as u32, 0);
                }
                rep.report(q.min(0) - i64::from(q >= 0));
            }
            0
        });
        assert_eq!(r.exit, Exit::Code(0), "{r:?}");
        r.values
    };
    // -1 stands for "a queue was made".
    assert_eq!(probe(ArgReading::Literal), [-99, -1]);
    assert_eq!(probe(ArgReading::Kernel), [-99, -99]);
}
