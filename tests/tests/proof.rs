//! Every installed program is proven, and multiplexed calls
//! cannot bypass argument conditions. Each test shows first that libseccomp's unproven
//! program really misbehaves in the kernel (so the test can fail), then that `compile`
//! with libseccomp's backend refuses it with the entry, the architecture and a witness
//! Call, and that our own generator compiles the same profile into a
//! program the kernel runs as the profile says.
#![cfg(target_arch = "x86_64")]

use oci_seccomp::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use oci_seccomp::proof::{prove_instructions, ProofError};
use oci_seccomp::{
    compile, parse_profile, simulate, Action, Backend, CompileError, CompileOptions, Profile,
};
use oci_seccomp::{Semantics, Stub};
use oci_seccomp_tests::{int80_5, program, raw, run_filtered, Exit, TIMEOUT};

const GETPPID: i64 = 110;

/// libseccomp's generator, with the literal 64-bit reading of arguments that runc and crun
/// give it (it cannot compare a low word alone on a 64-bit ABI).
fn libseccomp() -> CompileOptions {
    CompileOptions::default()
        .with_backend(Backend::Libseccomp)
        .with_arg_reading(oci_seccomp::ArgReading::Literal)
}

/// libseccomp's program, not checked.
fn unproven(json: &str) -> oci_seccomp::Program {
    oci_seccomp::libseccomp::compile_unproven(&parse_profile(json).unwrap(), &libseccomp()).unwrap()
}

/// libseccomp's program, refused by the check.
fn refusal(json: &str) -> String {
    match compile(&parse_profile(json).unwrap(), &libseccomp()) {
        Err(e @ CompileError::Miscompiled { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The issue's example: three `getppid` entries on x86_64 that libseccomp 2.5 merges into
/// a program that allows a call matching entry 0 only (also used by the CLI's tests).
const THREE_GETPPID: &str = include_str!("../../fixtures/miscompiled/three-getppid.json");

#[test]
fn fail_open_miscompile_is_refused_with_a_witness_the_kernel_confirms() {
    assert_eq!(3978633079640342432u64, 0x3736_f1b4_cb94_bfa0);
    assert_eq!(16282137733583660316u64, 0xe1f5_c600_923c_e51c);
    assert_eq!(4111951094534433705u64, 0x3910_95bc_0380_eba9);
    // The issue's call matches entry 0 only; libseccomp's program lets it through.
    let call = [0x3910_95bc_0380_ebab, 0, 0, 0x3_0000_0000, 0, 0];
    let bad = unproven(THREE_GETPPID);
    let r = run_filtered(&bad, TIMEOUT, |rep| {
        rep.report(raw(GETPPID, call));
        0
    });
    assert_eq!(r.exit, Exit::Code(0));
    assert!(r.values[0] > 0, "libseccomp's program allowed it: {r:?}");

    let err = refusal(THREE_GETPPID);
    assert!(err.contains("syscalls[0]"), "{err}");
    assert!(
        err.contains("getppid(") && err.contains("SCMP_ACT_ERRNO(100)"),
        "{err}"
    );

    // The witness of the proof is real: the kernel does what the proof says the program
    // does, which is not what the profile says.
    let profile = Profile::from_oci(&parse_profile(THREE_GETPPID).unwrap(), false).unwrap();
    let semantics = Semantics::new(&profile, Stub::Enosys);
    let Err(ProofError::Differs(cx)) = prove_instructions(&semantics, bad.instructions()) else {
        panic!("the proof must find the difference");
    };
    let args: [u64; 6] = cx.point.args;
    assert_eq!(cx.point.nr as u32, GETPPID as u32);
    let r = run_filtered(&bad, TIMEOUT, |rep| {
        rep.report(raw(GETPPID, args));
        0
    });
    assert_eq!(cx.got, Action::Allow);
    assert!(r.values[0] > 0, "witness {args:x?} must be allowed: {r:?}");
    assert!(!cx.want.accepts(Action::Allow));

    // Our generator's program (proven, `program` uses the default backend) refuses both
    // calls in the kernel with the errno the profile says.
    let ours = program(THREE_GETPPID);
    let r = run_filtered(&ours, TIMEOUT, |rep| {
        rep.report(raw(GETPPID, call));
        rep.report(raw(GETPPID, args));
        0
    });
    assert_eq!(r.exit, Exit::Code(0));
    for (i, a) in [call, args].iter().enumerate() {
        let want = cx.want.outcomes[0].0;
        let verdict = profile.decide(oci_seccomp::arch::AUDIT_ARCH_X86_64, GETPPID as u32, *a);
        let Action::Errno(e) = verdict.outcomes[0].0 else {
            panic!("the profile denies {a:x?} with an errno: {verdict:?} ({want:?})");
        };
        assert_eq!(r.values[i], -i64::from(e), "{a:x?}: {r:?}");
    }
}

#[test]
fn the_lt_or_profile_libseccomp_miscompiles_runs_as_written() {
    let json = include_str!("../../fixtures/miscompiled/lt-or.json");
    let err = refusal(json);
    for want in include_str!("../../fixtures/miscompiled/lt-or.expect").lines() {
        assert!(err.contains(want), "{err}");
    }
    let profile = Profile::from_oci(&parse_profile(json).unwrap(), false).unwrap();
    let semantics = Semantics::new(&profile, Stub::Enosys);
    let bad = unproven(json);
    let Err(ProofError::Differs(cx)) = prove_instructions(&semantics, bad.instructions()) else {
        panic!("the proof must find libseccomp's difference");
    };
    let nr = cx.point.nr as u32;
    let args: [u64; 6] = cx.point.args;
    // In the kernel: libseccomp's program does what the proof says, ours what the
    // profile says.
    let ours = program(json);
    for (p, want) in [(&bad, cx.got), (&ours, cx.want.outcomes[0].0)] {
        let r = run_filtered(p, TIMEOUT, |rep| {
            rep.report(raw(i64::from(nr), args));
            0
        });
        match want {
            Action::Errno(e) => assert_eq!(r.values, vec![-i64::from(e)], "{want:?}: {r:?}"),
            // getpid: a pid when it runs.
            Action::Allow => assert!(r.values[0] > 0, "{r:?}"),
            other => panic!("unexpected action in the witness: {other:?}"),
        }
    }
}

#[test]
fn libseccomp_missing_load_on_the_second_arch_is_refused() {
    // libseccomp 2.5.4 forgets to load `nr` for the x86 block of this profile, so every
    // i386 call is compared by its arch value and gets the default action: the refused
    // i386 ipc(SEMOP) runs.
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
      {"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"}]},
      {"names":["shmget"],"action":"SCMP_ACT_ERRNO","args":[{"index":2,"value":7,"op":"SCMP_CMP_NE"}]},
      {"names":["semop"],"action":"SCMP_ACT_ERRNO","errnoRet":9}]}"#;
    let bad = unproven(json);
    assert_eq!(
        simulate(&bad, AUDIT_ARCH_I386, I386_IPC as i32, [1, 0, 0, 0, 0, 0])
            .unwrap()
            .action,
        Action::Allow
    );
    // semop with a NULL array: EFAULT (14) from the kernel when the filter lets it
    // through, EBADF (9) from the filter.
    let r = run_filtered(&bad, TIMEOUT, |rep| {
        rep.report(oci_seccomp_tests::int80(I386_IPC, 1, u32::MAX, 1));
        0
    });
    assert_eq!(
        r.values,
        vec![-14],
        "ipc(SEMOP) ran under libseccomp's program: {r:?}"
    );
    let err = refusal(json);
    assert!(
        err.contains("on SCMP_ARCH_X86 ") && err.contains("returns SCMP_ACT_ALLOW"),
        "{err}"
    );
    // Ours: i386 ipc(SEMOP) gets the filter's EBADF.
    let r = run_filtered(&program(json), TIMEOUT, |rep| {
        rep.report(oci_seccomp_tests::int80(I386_IPC, 1, u32::MAX, 1));
        0
    });
    assert_eq!(r.values, vec![-9], "{r:?}");
}

/// A page below 4 GiB, so that i386 calls can take pointers into it.
fn low_page() -> *mut u32 {
    // SAFETY: an anonymous private mapping; the result is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p.cast()
}

const SOL_SOCKET: u32 = 1;
const SO_PRIORITY: u32 = 12;
const SO_KEEPALIVE: u32 = 9;
const SYS_SETSOCKOPT: u32 = 14;
const I386_SOCKETCALL: u32 = 102;
const I386_SETSOCKOPT: u32 = 366;
const I386_IPC: u32 = 117;
const MSGGET: u32 = 13;

/// Everything allowed except `setsockopt`, which is allowed only with optname 9.
const SETSOCKOPT_ONLY_9: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
  {"names":["setsockopt"],"action":"SCMP_ACT_ERRNO","args":[{"index":2,"value":9,"op":"SCMP_CMP_NE"}]}SOCKETCALL]}"#;

/// In a child: a socket, then SO_PRIORITY = 5 through i386 socketcall, the i386 direct
/// call and the x86_64 call; reports each result and the priority after each.
fn setsockopt_attempts(rep: &oci_seccomp_tests::Reporter) -> i32 {
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0) };
    let page = low_page();
    let prio = || {
        let mut v: i32 = -1;
        let mut len: libc::socklen_t = 4;
        // SAFETY: valid out-pointers.
        unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PRIORITY,
                (&mut v as *mut i32).cast(),
                &mut len,
            )
        };
        i64::from(v)
    };
    // SAFETY: `page` is a fresh 4096-byte mapping; the writes stay in it.
    let (val, args) = unsafe {
        *page = 5;
        let args = page.add(16);
        for (i, v) in [fd as u32, SOL_SOCKET, SO_PRIORITY, page as u32, 4]
            .iter()
            .enumerate()
        {
            *args.add(i) = *v;
        }
        (page as u32, args as u32)
    };
    // edx = 9: libseccomp compares setsockopt's optname condition with socketcall's
    // third register.
    rep.report(int80_5(I386_SOCKETCALL, [SYS_SETSOCKOPT, args, 9, 0, 0]));
    rep.report(prio());
    rep.report(int80_5(
        I386_SETSOCKOPT,
        [fd as u32, SOL_SOCKET, SO_PRIORITY, val, 4],
    ));
    rep.report(raw(
        libc::SYS_setsockopt,
        [fd as u64, 1, u64::from(SO_PRIORITY), page as u64, 4, 0],
    ));
    rep.report(raw(
        libc::SYS_setsockopt,
        [fd as u64, 1, u64::from(SO_KEEPALIVE), page as u64, 4, 0],
    ));
    0
}

#[test]
fn socketcall_cannot_bypass_a_setsockopt_condition() {
    let json = SETSOCKOPT_ONLY_9.replace("SOCKETCALL", "");
    // libseccomp's program: i386 socketcall(SYS_SETSOCKOPT) sets SO_PRIORITY.
    let r = run_filtered(&unproven(&json), TIMEOUT, setsockopt_attempts);
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(
        r.values[0], 0,
        "socketcall ran under libseccomp's program: {r:?}"
    );
    assert_eq!(r.values[1], 5, "and set the priority: {r:?}");
    // Ours: refused, naming the entry and the architecture.
    let err = refusal(&json);
    assert!(
        err.contains("syscalls[0]") && err.contains("SCMP_ARCH_X86"),
        "{err}"
    );
    assert!(err.contains("socketcall"), "{err}");
    // With the remedy the error suggests (the multiplexer refused), it compiles, and the
    // kernel refuses the sub-call and every direct call with another optname.
    let fixed = SETSOCKOPT_ONLY_9.replace(
        "SOCKETCALL",
        r#",{"names":["socketcall"],"action":"SCMP_ACT_ERRNO","errnoRet":38}"#,
    );
    let r = run_filtered(&program(&fixed), TIMEOUT, setsockopt_attempts);
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.values, vec![-38, 0, -1, -1, 0], "{r:?}");
    // Our generator needs no remedy: the sub-call gets the strictest outcome of the
    // conditional entry and the default (EPERM), the direct calls their conditions.
    let r = run_filtered(&program(&json), TIMEOUT, setsockopt_attempts);
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.values, vec![-1, 0, -1, -1, 0], "{r:?}");
}

fn msgget_attempts(call: u32) -> impl FnOnce(&oci_seccomp_tests::Reporter) -> i32 {
    move |rep| {
        let flags = (libc::IPC_CREAT | 0o600) as u32;
        let id = oci_seccomp_tests::int80(I386_IPC, call, 0, flags);
        rep.report(id);
        if id >= 0 {
            // SAFETY: removes the queue the call made (plain integers).
            unsafe { libc::msgctl(id as i32, libc::IPC_RMID, std::ptr::null_mut()) };
        }
        0
    }
}

#[test]
fn ipc_cannot_bypass_a_msgget_condition_or_rule() {
    // msgget refused when msgflg (arg1) is not 0; libseccomp tests ipc's register a1 (the
    // key) instead, so ipc(MSGGET, IPC_PRIVATE, IPC_CREAT) makes a queue.
    let conditional = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
      {"names":["msgget"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":0,"op":"SCMP_CMP_NE"}]}]}"#;
    let r = run_filtered(&unproven(conditional), TIMEOUT, msgget_attempts(MSGGET));
    assert!(
        r.values[0] >= 0,
        "ipc(MSGGET) ran under libseccomp's program: {r:?}"
    );
    let err = refusal(conditional);
    assert!(
        err.contains("syscalls[0]") && err.contains("SCMP_ARCH_X86") && err.contains("ipc"),
        "{err}"
    );

    // msgget refused outright: libseccomp tests `ipc`'s whole first register, but the
    // kernel reads the call from its low 16 bits (the version sits above), so
    // ipc(0x1000d) is msgget and runs.
    let unconditional = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
      {"names":["msgget"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let bad = unproven(unconditional);
    let r = run_filtered(&bad, TIMEOUT, msgget_attempts(MSGGET));
    assert_eq!(r.values[0], -1, "plain ipc(MSGGET) is refused: {r:?}");
    let r = run_filtered(&bad, TIMEOUT, msgget_attempts(0x1_0000 | MSGGET));
    assert!(
        r.values[0] >= 0,
        "ipc(0x1000d) ran under libseccomp's program: {r:?}"
    );
    let err = refusal(unconditional);
    assert!(err.contains("ipc(0x1000d"), "{err}");
    // Ours compares the call through the kernel's mask: both encodings are refused, and
    // the conditional profile refuses the sub-call (its strictest outcome).
    for (json, call) in [
        (unconditional, MSGGET),
        (unconditional, 0x1_0000 | MSGGET),
        (conditional, MSGGET),
        (conditional, 0x1_0000 | MSGGET),
    ] {
        let r = run_filtered(&program(json), TIMEOUT, msgget_attempts(call));
        assert_eq!(r.values[0], -1, "ipc({call:#x}): {r:?}");
    }

    // The remedy: refuse the multiplexer too.
    let fixed = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
      {"names":["msgget"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":0,"op":"SCMP_CMP_NE"}]},
      {"names":["ipc"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#;
    for call in [MSGGET, 0x1_0000 | MSGGET] {
        let r = run_filtered(&program(fixed), TIMEOUT, msgget_attempts(call));
        assert_eq!(r.values[0], -38, "{r:?}");
    }
}

#[test]
fn docker_style_profiles_with_an_explicit_multiplexer_rule_compile() {
    // Docker's profile allows socketcall outright, so its socket family condition has
    // nothing to bypass that the profile did not already allow.
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[
      {"names":["socketcall","ipc","semop","getppid"],"action":"SCMP_ACT_ALLOW"},
      {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]}]}"#;
    let p = program(json);
    assert_eq!(
        simulate(&p, AUDIT_ARCH_X86_64, 41, [40, 0, 0, 0, 0, 0])
            .unwrap()
            .action,
        Action::Errno(1)
    );
}

/// Many conditional entries on one syscall. The complete
/// check once took 29 s for 4000 of these; it now finds the rules that may hold through
/// an index of their equality constants and splits a region between them. The program
/// is proven, and the kernel does what the profile says.
#[test]
fn thousands_of_equalities_on_one_syscall_are_proven_and_run() {
    let entries: Vec<String> = (0..2000)
        .map(|i| {
            format!(
                r#"{{"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}},{{"index":1,"value":7,"op":"SCMP_CMP_EQ"}}]}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5,"architectures":["SCMP_ARCH_X86_64"],"syscalls":[{},
            {{"names":["write","exit_group","exit","rt_sigreturn","futex","munmap","sigaltstack"],"action":"SCMP_ACT_ALLOW"}}]}}"#,
        entries.join(",")
    );
    let p = program(&json);
    let r = run_filtered(&p, TIMEOUT, |rep| {
        for args in [
            [1234, 7],
            [1234, 8],
            [2000, 7],
            [0, 7],
            [1999, 7],
            [0x1_0000_0000, 7],
        ] {
            rep.report(raw(GETPPID, [args[0], args[1], 0, 0, 0, 0]));
        }
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    let ran: Vec<bool> = r.values.iter().map(|v| *v > 0).collect();
    assert_eq!(ran, [true, false, false, true, true, false], "{r:?}");
    assert!(r.values.iter().all(|v| *v > 0 || *v == -5), "{r:?}");
}
