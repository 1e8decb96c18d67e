//! Security properties, checked against the kernel in forked children.
#![cfg(target_arch = "x86_64")]

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use oci_seccomp::arch::X32_SYSCALL_BIT;
use oci_seccomp_tests::{int80, program, raw, run_filtered, Exit, TIMEOUT};

const GETPPID: i64 = 110;
const GETUID: i64 = 102;
const SECCOMP: i64 = 317;
const PRCTL: i64 = 157;
const I386_GETPPID: u32 = 64;
const I386_GETUID32: u32 = 199;

#[test]
fn i386_and_x32_calls_follow_the_listed_arches() {
    // x86 listed, x32 not: i386 calls are filtered by the rules (never by the x86_64
    // numbers), x32 calls are killed.
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":77,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["write","exit_group","getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(int80(I386_GETPPID, 0, 0, 0)); // allowed: the real ppid
        rep.report(int80(I386_GETUID32, 0, 0, 0)); // not listed: default errno
        rep.report(int80(110, 0, 0, 0)); // x86_64's getppid number on i386 is another syscall
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert!(r.values[0] > 0, "{r:?}");
    assert_eq!(r.values[1], -77);
    assert_ne!(
        r.values[2], r.values[0],
        "i386 nr 110 must not be treated as x86_64 getppid"
    );
    let r = run_filtered(&p, TIMEOUT, |rep| {
        rep.report(raw(i64::from(X32_SYSCALL_BIT) | GETPPID, [0; 6]));
        0
    });
    assert_eq!(
        r.exit,
        Exit::Signal(libc::SIGSYS),
        "x32 call with x32 unlisted: {r:?}"
    );
}

static READY: AtomicBool = AtomicBool::new(false);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static THREAD_RESULT: AtomicI64 = AtomicI64::new(0);

fn thread_before_install(flags: &str) -> i64 {
    let p = program(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","flags":[{flags}],"syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":55}}]}}"#
    ));
    // The thread exists before the filter is installed; install happens in run_filtered.
    let r = oci_seccomp_tests::fork_child(TIMEOUT, |rep| {
        let t = std::thread::spawn(|| {
            READY.store(true, Ordering::SeqCst);
            while !INSTALLED.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            THREAD_RESULT.store(raw(GETPPID, [0; 6]), Ordering::SeqCst);
        });
        while !READY.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        if oci_seccomp_load::install(&p).is_err() {
            return 3;
        }
        INSTALLED.store(true, Ordering::SeqCst);
        let _ = t.join();
        rep.report(THREAD_RESULT.load(Ordering::SeqCst));
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    r.values[0]
}

#[test]
fn tsync_covers_threads_that_existed_before_the_install() {
    assert_eq!(thread_before_install(r#""SECCOMP_FILTER_FLAG_TSYNC""#), -55);
    // Without TSYNC the older thread keeps running unfiltered: why runtimes need it when
    // they install from a multi-threaded process.
    assert!(thread_before_install("") > 0);
}

#[test]
fn a_second_permissive_filter_does_not_loosen_the_first() {
    let strict = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":66}]}"#,
    );
    let permissive = program(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":[]}"#);
    let lenient_errno = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_LOG"}]}"#,
    );
    let r = run_filtered(&strict, TIMEOUT, |rep| {
        rep.report(i64::from(oci_seccomp_load::install(&permissive).is_ok()));
        rep.report(i64::from(oci_seccomp_load::install(&lenient_errno).is_ok()));
        rep.report(raw(GETPPID, [0; 6]));
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "{r:?}");
    assert_eq!(
        r.values,
        [1, 1, -66],
        "the strictest filter's answer must win"
    );
}

#[test]
fn seccomp_and_prctl_can_be_denied_to_the_workload() {
    let p = program(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["seccomp","prctl"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    );
    let r = run_filtered(&p, TIMEOUT, |rep| {
        // Any attempt to add (or probe) a filter fails before reaching the kernel.
        rep.report(raw(SECCOMP, [1, 0, 0, 0, 0, 0]));
        rep.report(raw(PRCTL, [libc::PR_SET_SECCOMP as u64, 2, 0, 0, 0, 0]));
        rep.report(raw(GETUID, [0; 6]));
        0
    });
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.values[..2], [-1, -1]);
    assert!(r.values[2] >= 0);
}

#[test]
fn a_filtered_child_cannot_outlive_the_deadline_unnoticed() {
    // The harness itself: a child blocked forever is killed and reported as a timeout.
    let p = program(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
    let r = run_filtered(&p, Duration::from_millis(300), |_| {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
        0
    });
    assert_eq!(r.exit, Exit::Timeout);
}
