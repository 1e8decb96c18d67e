//! Random argument-heavy profiles, compiled by libseccomp without the proof, then proven:
//! a counterexample must be real (the kernel, running the program in a forked child, does
//! what the proof says the program does, which the profile does not accept), and a proven
//! program must agree with the oracle on sample calls, checked in the kernel too.
//! `compile --backend libseccomp` must return exactly the unproven program when the proof
//! passes and an error when it fails. Our own generator (the default) must compile every
//! such profile, and its program must agree with the oracle and the kernel the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_seccomp::proof::{prove_instructions, ProofError};
use oci_seccomp::{Semantics, Stub};
use oci_seccomp::{compile, Action, Backend, CompileOptions, Profile, Program};

/// Calls that are harmless to run in the child whatever the arguments.
const CALLS: &[(&str, i64)] = &[("getppid", 110), ("getpid", 39), ("getuid", 102)];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *b
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| (acc << 8) | u64::from(self.u8()))
    }
}

/// Values that make comparisons collide: small numbers, word boundaries, and a few
/// random constants reused across rules.
fn value(b: &mut Bytes, pool: &[u64]) -> u64 {
    match b.u8() % 8 {
        0 => u64::from(b.u8() % 16),
        1 => 0xffff_ffff,
        2 => 0x1_0000_0000 | u64::from(b.u8() % 4),
        3 => u64::MAX - u64::from(b.u8() % 2),
        _ => pool[usize::from(b.u8()) % pool.len()].wrapping_add(u64::from(b.u8() % 3)),
    }
}

fn profile(b: &mut Bytes) -> serde_json::Value {
    let pool: Vec<u64> = (0..4).map(|_| b.u64()).collect();
    let actions = [
        serde_json::json!({"action": "SCMP_ACT_ALLOW"}),
        serde_json::json!({"action": "SCMP_ACT_ERRNO", "errnoRet": 100}),
        serde_json::json!({"action": "SCMP_ACT_ERRNO", "errnoRet": 101}),
        serde_json::json!({"action": "SCMP_ACT_ERRNO", "errnoRet": 102}),
        serde_json::json!({"action": "SCMP_ACT_TRAP"}),
        serde_json::json!({"action": "SCMP_ACT_LOG"}),
    ];
    let ops = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
    // The child must be able to report and exit whatever the default action is.
    let mut entries = vec![serde_json::json!({
        "names": ["write", "exit_group", "exit", "rt_sigreturn"],
        "action": "SCMP_ACT_ALLOW"
    })];
    for _ in 0..1 + b.u8() % 5 {
        let mut e = actions[usize::from(b.u8()) % actions.len()].clone();
        e["names"] = serde_json::json!([CALLS[usize::from(b.u8()) % CALLS.len()].0]);
        let args: Vec<serde_json::Value> = (0..b.u8() % 4)
            .map(|_| {
                serde_json::json!({
                    "index": b.u8() % 4,
                    "op": ops[usize::from(b.u8()) % ops.len()],
                    "value": value(b, &pool),
                    "valueTwo": value(b, &pool),
                })
            })
            .collect();
        e["args"] = serde_json::Value::Array(args);
        entries.push(e);
    }
    let default = if b.u8() % 2 == 0 {
        serde_json::json!("SCMP_ACT_ALLOW")
    } else {
        serde_json::json!("SCMP_ACT_ERRNO")
    };
    let mut arches = vec!["SCMP_ARCH_X86_64"];
    if b.u8() % 3 == 0 {
        arches.push("SCMP_ARCH_X86");
    }
    serde_json::json!({"defaultAction": default, "architectures": arches, "syscalls": entries,
                       "flags": []})
}

/// What the kernel did with one call in a child under `program`.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ran,
    Errno(i64),
    Signal(i32),
}

fn expected(a: Action) -> Outcome {
    match a {
        Action::Allow | Action::Log => Outcome::Ran,
        Action::Errno(e) => Outcome::Errno(i64::from(e)),
        Action::Trace(_) => Outcome::Errno(38),
        _ => Outcome::Signal(libc::SIGSYS),
    }
}

/// Ends the calling process with `code` by a raw `exit_group`: no sanitizer code runs on
/// the way out. `libc::_exit` would not do: the compiler precedes every call of a function
/// that never returns with `__asan_handle_no_return`, whose `sigaltstack` a filter may deny,
/// and the sanitizer's failed CHECK then reports a crash (and the fuzzer writes, or tries
/// to write, a test unit) from a child that did nothing wrong.
fn exit_raw(code: i32) {
    // SAFETY: exit_group takes a plain number and does not return.
    unsafe { libc::syscall(libc::SYS_exit_group, libc::c_long::from(code)) };
}

/// Gives every signal its default action in the calling (forked) process, by raw
/// `rt_sigaction` calls: the sanitizer's and the fuzzer's handlers would otherwise run in
/// the child, under its filter, when a call is trapped or the child faults (which the
/// parent sees as the signal that ended it).
fn default_signal_actions() {
    // The kernel's `struct sigaction` on x86_64: handler, flags, restorer, mask.
    let dfl = [0u64; 4];
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `dfl` is a valid kernel sigaction (SIG_DFL, no flags, empty mask) and
        // the size of the mask is 8 bytes; a refused signal number changes nothing.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                libc::c_long::from(sig),
                dfl.as_ptr(),
                std::ptr::null::<u64>(),
                8 as libc::c_long,
            )
        };
    }
}

/// What the kernel did, or `None` when the child hung (killed after 10 s: not a verdict
/// on the filter).
///
/// The child makes raw syscalls only once its filter is in place: no sanitizer code
/// (interceptors, `__asan_handle_no_return`, signal handlers) runs under the filter.
fn run(program: &Program, nr: i64, args: [u64; 6]) -> Option<Outcome> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only makes raw syscalls and ends with `exit_group`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: raw syscalls only, then `exit_group`.
        unsafe {
            // Die with the fuzzer rather than outlive it.
            // (Every argument is passed as a long, the width the kernel reads.)
            let (zero, one): (libc::c_long, libc::c_long) = (0, 1);
            let (deathsig, kill) = (
                libc::c_long::from(libc::PR_SET_PDEATHSIG),
                libc::c_long::from(libc::SIGKILL),
            );
            libc::syscall(libc::SYS_prctl, deathsig, kill, zero, zero, zero);
            libc::syscall(
                libc::SYS_prctl,
                libc::c_long::from(libc::PR_SET_NO_NEW_PRIVS),
                one,
                zero,
                zero,
                zero,
            );
            default_signal_actions();
            if oci_seccomp_load::install(program).is_err() {
                exit_raw(3);
            }
            let r = libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
            let v: i64 = if r < 0 {
                -i64::from(*libc::__errno_location())
            } else {
                0
            };
            libc::syscall(
                libc::SYS_write,
                libc::c_long::from(fds[1]),
                (&v as *const i64).cast::<u8>(),
                8 as libc::c_long,
            );
            exit_raw(0);
        }
        // exit_group does not return.
        #[allow(clippy::empty_loop)]
        loop {}
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // SAFETY: closing our copy of the write end; waiting for (and if need be killing) our
    // own child; then reading what it wrote, which the pipe holds after it exited.
    let (v, n) = unsafe {
        libc::close(fds[1]);
        while libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 {
            if std::time::Instant::now() > deadline {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
                libc::close(fds[0]);
                return None;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        let mut v: i64 = 1;
        let n = libc::read(fds[0], (&mut v as *mut i64).cast(), 8);
        libc::close(fds[0]);
        (v, n)
    };
    if n == 8 {
        // The call's result reached us, and the child then only ended.
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child reported, then ended with status {status:#x}"
        );
        return Some(if v < 0 {
            Outcome::Errno(-v)
        } else {
            Outcome::Ran
        });
    }
    // The call killed the child before it could report.
    if libc::WIFSIGNALED(status) {
        return Some(Outcome::Signal(libc::WTERMSIG(status)));
    }
    assert_ne!(libc::WEXITSTATUS(status), 3, "install failed in the child");
    // The child could not report (the filter denies `write`): not a verdict on the filter.
    None
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let json = profile(&mut b);
    let Ok(spec) = oci_seccomp::parse_profile(&json.to_string()) else {
        return;
    };
    let Ok(prof) = Profile::from_oci(&spec, false) else {
        return;
    };
    let libseccomp = CompileOptions::default().with_backend(Backend::Libseccomp);
    let Ok(unproven) = oci_seccomp::libseccomp::compile_unproven(&spec, &libseccomp.clone()) else {
        return;
    };
    let semantics = Semantics::new(&prof, Stub::Enosys);
    let native = oci_seccomp::arch::native().audit_arch;
    let ours = compile(&spec, &CompileOptions::default()).expect("our generator compiles it");
    check_samples(&ours, &semantics, native, &mut b);
    match prove_instructions(&semantics, unproven.instructions()) {
        Err(ProofError::Differs(cx)) => {
            assert!(!cx.want.accepts(cx.got));
            assert!(compile(&spec, &libseccomp).is_err());
            if cx.point.arch == native {
                let nr = i64::from(cx.point.nr);
                if CALLS.iter().any(|(_, n)| *n == nr) {
                    let args: [u64; 6] = cx.point.args;
                    if let Some(got) = run(&unproven, nr, args) {
                        assert_eq!(got, expected(cx.got), "witness {args:x?} of {spec:?}");
                    }
                }
            }
        }
        Err(e) => panic!("the proof failed without a counterexample: {e:?}"),
        Ok(()) => {
            let proven = compile(&spec, &libseccomp).expect("proven");
            assert_eq!(proven, unproven);
            check_samples(&proven, &semantics, native, &mut b);
        }
    }
});

/// A proven program agrees with the oracle on sample calls, and the kernel with it.
fn check_samples(proven: &Program, semantics: &Semantics, native: u32, b: &mut Bytes) {
    let pool: Vec<u64> = (0..6).map(|_| value(b, &[0, 1, u64::MAX])).collect();
    for (k, (_, nr)) in CALLS.iter().enumerate() {
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = pool[(i + k) % pool.len()];
        }
        let d = oci_seccomp::simulate(proven, native, *nr as i32, args).unwrap();
        let v = semantics.decide(native, *nr as u32, args);
        assert!(
            v.accepts(d.action),
            "{nr} {args:x?}: {v:?} vs {:?}",
            d.action
        );
        if k == 0 {
            if let Some(got) = run(proven, *nr, args) {
                assert_eq!(got, expected(d.action));
            }
        }
    }
}
