//! Helpers for the workspace's end-to-end tests: run code under a seccomp filter in a
//! forked child and report what the kernel did.
//!
//! Filters are never installed in the test runner's own process. The child sets
//! no-new-privileges itself (as a runtime would when `process.noNewPrivileges` is true),
//! installs the program, runs the body and reports 64-bit values through a pipe; the
//! parent waits with a deadline and kills the child on timeout, so a deadlock fails the
//! test instead of hanging CI.

pub mod baseline;
pub mod bundle;
pub mod docker;
pub mod witnesses;

pub use docker::{
    current_docker_profile, docker_profile, upstream_docker_profile, upstream_docker_profile_path,
    CURRENT_DOCKER_PROFILE_VERSION,
};

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;

use oci_seccomp::{compile, parse_profile, CompileOptions, Program};

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Still running at the deadline (and then killed).
    Timeout,
}

/// What a forked child reported and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildReport {
    /// Values the child reported, in order.
    pub values: Vec<i64>,
    /// How it ended.
    pub exit: Exit,
}

/// Handle the child body uses to report values to the parent.
pub struct Reporter {
    fd: i32,
}

impl Reporter {
    /// Sends one value to the parent (one `write`, no allocation).
    pub fn report(&self, v: i64) {
        let b = v.to_ne_bytes();
        // SAFETY: `b` is a valid 8-byte buffer; `fd` is the pipe's write end, open in the child.
        unsafe { libc::write(self.fd, b.as_ptr().cast(), 8) };
    }
}

/// Exit code of a child whose `install` failed.
pub const EXIT_INSTALL_FAILED: i32 = 121;

/// Exit code of a child whose body panicked.
pub use oci_seccomp_test_support::EXIT_PANICKED;

/// Result of a raw syscall: the return value, or `-errno`.
pub fn raw(nr: i64, args: [u64; 6]) -> i64 {
    // SAFETY: the tests only issue syscalls whose arguments are plain integers or valid
    // pointers; the kernel validates everything else.
    let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if r == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    }
}

/// An i386 syscall through `int 0x80` with three arguments (returns the raw kernel
/// result, `-errno` on error).
#[cfg(target_arch = "x86_64")]
pub fn int80(nr: u32, a1: u32, a2: u32, a3: u32) -> i64 {
    int80_5(nr, [a1, a2, a3, 0, 0])
}

/// An i386 syscall through `int 0x80` with five arguments (ebx, ecx, edx, esi, edi).
/// Pointer arguments must point below 4 GiB (for example into a `MAP_32BIT` mapping).
#[cfg(target_arch = "x86_64")]
pub fn int80_5(nr: u32, a: [u32; 5]) -> i64 {
    let ret: i32;
    // SAFETY: `int 0x80` enters the kernel's i386 syscall path; rbx is saved and restored
    // around it because LLVM reserves it. The tests pass integers and pointers into their
    // own low mappings only.
    unsafe {
        std::arch::asm!(
            "xchg {b}, rbx",
            "int 0x80",
            "xchg {b}, rbx",
            b = inout(reg) u64::from(a[0]) => _,
            inlateout("eax") nr as i32 => ret,
            in("ecx") a[1],
            in("edx") a[2],
            in("esi") a[3],
            in("edi") a[4],
        );
    }
    i64::from(ret)
}

/// Compiles a JSON OCI profile with default options, panicking on error (tests only).
pub fn program(json: &str) -> Program {
    program_with(json, &CompileOptions::default())
}

/// Compiles a JSON OCI profile with `opts`, panicking on error (tests only).
pub fn program_with(json: &str, opts: &CompileOptions) -> Program {
    let spec = parse_profile(json).unwrap_or_else(|e| panic!("profile does not parse: {e}"));
    compile(&spec, opts).unwrap_or_else(|e| panic!("profile does not compile: {e}"))
}

/// Forks; in the child sets no-new-privileges, installs `program`, runs `body`, and exits
/// with its return value. The parent collects reported values and waits at most `timeout`.
pub fn run_filtered<F: FnOnce(&Reporter) -> i32>(
    program: &Program,
    timeout: Duration,
    body: F,
) -> ChildReport {
    fork_child(timeout, |rep| {
        if !oci_seccomp_test_support::set_no_new_privs() {
            return EXIT_INSTALL_FAILED;
        }
        match oci_seccomp_load::install(program) {
            Ok(_fd) => body(rep),
            Err(_) => EXIT_INSTALL_FAILED,
        }
    })
}

/// Forks and runs `body` in the child (no filter installed by this helper); the parent
/// collects the reported values and waits at most `timeout` (then kills the child).
pub fn fork_child<F: FnOnce(&Reporter) -> i32>(timeout: Duration, body: F) -> ChildReport {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
    // The child's copy of the read end stays open: it never reads, and the parent's read
    // ends when every write end is closed.
    let pid = oci_seccomp_test_support::fork_child(|| body(&Reporter { fd: wr.as_raw_fd() }));
    drop(wr);
    let exit = match oci_seccomp_test_support::wait_within(pid, timeout) {
        Some(WaitStatus::Exited(_, code)) => Exit::Code(code),
        Some(WaitStatus::Signaled(_, signal, _)) => Exit::Signal(signal as i32),
        Some(other) => panic!("unexpected wait status {other:?}"),
        None => Exit::Timeout,
    };
    let mut buf = Vec::new();
    let mut f = std::fs::File::from(rd);
    let _ = f.read_to_end(&mut buf);
    let values = buf
        .chunks_exact(8)
        .map(|c| i64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    ChildReport { values, exit }
}

/// A default timeout for children.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs each `(nr, args)` probe as a raw syscall in a filtered child and returns the
/// results (`-errno` on failure). Panics if the child does not exit normally.
pub fn probe(program: &Program, probes: &[(i64, [u64; 6])]) -> Vec<i64> {
    let r = run_filtered(program, TIMEOUT, |rep| {
        for (nr, args) in probes {
            rep.report(raw(*nr, *args));
        }
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "probe child ended badly: {r:?}");
    assert_eq!(r.values.len(), probes.len());
    r.values
}

/// An allow-list profile of the first `n` syscall names of the native architecture (by
/// number), with an ERRNO default, the given architectures, a few argument-filtered
/// entries (Docker-style `clone` and `personality`) and a `clone3` → ENOSYS entry.
pub fn allowlist_json(n: usize, arches: &[&str]) -> String {
    let native = oci_seccomp::arch::native();
    let mut names = Vec::new();
    for nr in 0..1024 {
        if names.len() == n {
            break;
        }
        if let Some(name) = oci_seccomp::arch::syscall_name(nr, native) {
            if !matches!(name.as_str(), "clone" | "clone3" | "personality") {
                names.push(format!("{name:?}"));
            }
        }
    }
    let arches: Vec<String> = arches.iter().map(|a| format!("{a:?}")).collect();
    format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":[{}],"syscalls":[
        {{"names":[{}],"action":"SCMP_ACT_ALLOW"}},
        {{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}}]}},
        {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":0,"op":"SCMP_CMP_EQ"}}]}},
        {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":8,"op":"SCMP_CMP_EQ"}}]}},
        {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"}}]}},
        {{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}}]}}"#,
        arches.join(","),
        names.join(",")
    )
}

/// Runs `work` in `iters` forked children (each with no-new-privileges set), sums the time
/// each child measured around `work` alone, and fails if any child's `work` returned false.
/// Benchmarks use it for anything that installs a filter.
pub fn time_in_children(iters: u64, work: impl Fn() -> bool + Copy) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let r = fork_child(Duration::from_secs(20), |rep| {
            oci_seccomp_test_support::set_no_new_privs();
            let t = Instant::now();
            let ok = work();
            let ns = t.elapsed().as_nanos() as i64;
            rep.report(if ok { ns } else { -1 });
            0
        });
        assert_eq!(r.exit, Exit::Code(0));
        assert!(r.values[0] >= 0, "work failed in child");
        total += Duration::from_nanos(r.values[0] as u64);
    }
    total
}

/// README's Rust examples, compiled as doc tests so that they stay correct (here, in the
/// unpublished test crate, because a published crate cannot read the repository's README).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
