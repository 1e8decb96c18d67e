//! An entry whose action equals the default still takes part in precedence: where it
//! overlaps an entry of another action, the strictest matching entry decides, so an
//! overlap never weakens a deny. Checked in the kernel (forked children), in the model
//! (`Profile::decide`), and for `--backend libseccomp`, which cannot express such a rule
//! and must refuse the profile rather than install the weaker program.
#![cfg(target_arch = "x86_64")]

use oci_seccomp::arch::AUDIT_ARCH_X86_64;
use oci_seccomp::Cause;
use oci_seccomp::{compile, parse_profile, Action, Backend, CompileOptions, Profile};
use oci_seccomp_tests::{program, raw, run_filtered, Exit, TIMEOUT};

const UNSHARE: i64 = 272;
const GETPPID: i64 = 110;
const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWUSER: u64 = 0x1000_0000;

/// Default ERRNO(1); `unshare` ERRNO(`errno`) when `flags & CLONE_NEWUSER`; `unshare`
/// ALLOW when `flags & CLONE_NEWNS`.
fn unshare_profile(errno: u32) -> String {
    format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[
        {{"names":["exit_group","exit","write","read","close"],"action":"SCMP_ACT_ALLOW"}},
        {{"names":["unshare"],"action":"SCMP_ACT_ERRNO","errnoRet":{errno},"args":[{{"index":0,"value":{CLONE_NEWUSER},"valueTwo":{CLONE_NEWUSER},"op":"SCMP_CMP_MASKED_EQ"}}]}},
        {{"names":["unshare"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{CLONE_NEWNS},"valueTwo":{CLONE_NEWNS},"op":"SCMP_CMP_MASKED_EQ"}}]}}]}}"#
    )
}

fn unshare_in_kernel(json: &str, flags: u64) -> i64 {
    let p = program(json);
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(raw(UNSHARE, [flags, 0, 0, 0, 0, 0]));
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    r.values[0]
}

#[test]
fn a_conditional_entry_equal_to_the_default_wins_over_an_overlapping_allow() {
    // The entry equal to the default denies as the one with errno 2 does.
    let both = CLONE_NEWUSER | CLONE_NEWNS;
    assert_eq!(unshare_in_kernel(&unshare_profile(2), both), -2);
    assert_eq!(unshare_in_kernel(&unshare_profile(1), both), -1);
    // Where it does not overlap, the ALLOW entry still allows.
    assert_eq!(unshare_in_kernel(&unshare_profile(1), CLONE_NEWNS), 0);
    // The model says the same, naming the entry.
    let profile = Profile::from_oci(&parse_profile(&unshare_profile(1)).unwrap(), true).unwrap();
    let v = profile.decide(AUDIT_ARCH_X86_64, UNSHARE as u32, [both, 0, 0, 0, 0, 0]);
    assert_eq!(v.outcomes, [(Action::Errno(1), Cause::Entry(1))], "{v:?}");
    assert!(!v.accepts(Action::Allow), "{v:?}");
}

#[test]
fn libseccomp_refuses_a_profile_whose_default_entry_takes_part_in_precedence() {
    let spec = parse_profile(&unshare_profile(1)).unwrap();
    let e = compile(
        &spec,
        &CompileOptions::default().with_backend(Backend::Libseccomp),
    )
    .expect_err("libseccomp cannot express the rule and must not drop it");
    let msg = e.to_string();
    assert!(msg.contains("syscalls[1]"), "{msg}");
    assert!(msg.contains("equals the default"), "{msg}");
    // With errno 2 libseccomp can express it, and its program is proven.
    compile(
        &parse_profile(&unshare_profile(2)).unwrap(),
        &CompileOptions::default().with_backend(Backend::Libseccomp),
    )
    .unwrap();
}

#[test]
fn an_unconditional_entry_equal_to_the_default_overrides_a_weaker_conditional_one() {
    // Default ERRNO(1); getppid ERRNO(1) for every call; getppid ALLOW when arg0 == 1.
    // runc and crun drop the first entry and allow getppid(1); we deny it, and the
    // stricter outcome is what both entries together can mean.
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[
        {"names":["exit_group","exit","write","read","close"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#;
    let p = program(json);
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(raw(GETPPID, [1, 0, 0, 0, 0, 0]));
        rep.report(raw(GETPPID, [0, 0, 0, 0, 0, 0]));
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert_eq!(r.values, [-1, -1], "{r:?}");
    // A stricter conditional entry still applies: it is not shadowed.
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(raw(GETPPID, [2, 0, 0, 0, 0, 0]));
        0
    });
    assert_eq!(r.exit, Exit::Signal(libc::SIGSYS), "{r:?}");
    // The default ALLOW variant: an explicit ALLOW for unshare never lifts a deny.
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {{"names":["unshare"],"action":"SCMP_ACT_ALLOW"}},
        {{"names":["unshare"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{{"index":0,"value":{CLONE_NEWUSER},"valueTwo":{CLONE_NEWUSER},"op":"SCMP_CMP_MASKED_EQ"}}]}}]}}"#
    );
    assert_eq!(unshare_in_kernel(&json, CLONE_NEWUSER), -1);
}

#[test]
fn an_entry_equal_to_the_default_that_overlaps_nothing_is_not_compiled() {
    // Same program with and without them: they cannot change any outcome.
    let plain = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let with_default_entries = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getpid"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["getpid"],"action":"SCMP_ACT_ERRNO"}]}"#;
    assert_eq!(
        program(plain).instructions(),
        program(with_default_entries).instructions()
    );
}

#[test]
fn an_entry_equal_to_the_default_behind_an_unconditional_decision_changes_nothing() {
    use oci_seccomp::lint::check_text;
    let lsc = CompileOptions::default().with_backend(Backend::Libseccomp);
    // An unconditional ERRNO(2) decides getppid: the conditional ERRNO(1) equal to the
    // default changes nothing, so it is dropped and libseccomp compiles the profile.
    let beaten = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":2},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#;
    compile(&parse_profile(beaten).unwrap(), &lsc).unwrap();
    // A second unconditional entry is dropped (the first decides): check says it changes
    // nothing rather than that it takes part.
    let second = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#;
    let f = check_text(second);
    let finding = f
        .iter()
        .find(|x| x.code == "rule-equals-default")
        .unwrap_or_else(|| panic!("{f:?}"));
    assert!(finding.message.contains("changes nothing"), "{finding:?}");
    // socketcall allowed outright decides every call through it: a socket entry equal to
    // the default changes nothing there.
    let outright = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
        {"names":["socketcall"],"action":"SCMP_ACT_ALLOW"},
        {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#;
    compile(&parse_profile(outright).unwrap(), &lsc).unwrap();
}

/// An unconditional entry equal to the default never decides a call through x86's `ipc` or
/// `socketcall` by itself: the sub-call gets the strictest outcome of its syscall's entries
/// (here the conditional deny), as the direct call does.
#[test]
fn an_unconditional_default_entry_does_not_weaken_a_multiplexed_call() {
    use oci_seccomp_tests::int80;
    const IPC: u32 = 117;
    const MSGGET: u32 = 13;
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
        {"names":["msgget"],"action":"SCMP_ACT_ERRNO","errnoRet":99,"args":[{"index":1,"value":512,"valueTwo":512,"op":"SCMP_CMP_MASKED_EQ"}]},
        {"names":["msgget"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let p = program(json);
    let r = run_filtered(&p, TIMEOUT, |rep| {
        // msgget(IPC_PRIVATE, IPC_CREAT | 0600) through ipc: the filter cannot read msgflg.
        let q = int80(IPC, MSGGET, 0, 0o1000 | 0o600);
        if q >= 0 {
            int80(IPC, 14, q as u32, 0); // IPC_RMID through ipc(MSGCTL)
        }
        rep.report(q);
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert_eq!(r.values, [-99], "{r:?}");
}
