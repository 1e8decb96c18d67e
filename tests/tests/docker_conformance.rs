//! Conformance with Docker's default seccomp profile, by what the kernel
//! does in forked children, and agreement of our embedded default with the upstream files
//! (by simulation of the compiled programs): Docker 20.10's (Debian's package) and
//! Docker's current one (the copy in `fixtures/moby/upstream/`). Intended differences from
//! each: the two tables of docs/moby.md.
#![cfg(target_arch = "x86_64")]

use std::collections::BTreeMap;

use oci_seccomp::arch::{self, ArchInfo, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use oci_seccomp::moby::{
    default_profile, render, KernelVersion, MobyProfile, RenderOptions, DOCKER_DEFAULT_CAPS,
};
use oci_seccomp::{compile, simulate, Action, CompileOptions, LinuxSeccomp, Program};
use oci_seccomp_tests::{
    current_docker_profile, int80, raw, run_filtered, upstream_docker_profile,
    upstream_docker_profile_path, Exit, Reporter, CURRENT_DOCKER_PROFILE_VERSION, TIMEOUT,
};

// x86_64 syscall numbers.
const SOCKET: i64 = 41;
const CLONE: i64 = 56;
const SETRLIMIT: i64 = 160;
const GETRLIMIT: i64 = 97;
const PERSONALITY: i64 = 135;
const ACCT: i64 = 163;
const MOUNT: i64 = 165;
const UMOUNT2: i64 = 166;
const SWAPON: i64 = 167;
const REBOOT: i64 = 169;
const KEXEC_LOAD: i64 = 246;
const ADD_KEY: i64 = 248;
const KEYCTL: i64 = 250;
const UNSHARE: i64 = 272;
const PERF_EVENT_OPEN: i64 = 298;
const BPF: i64 = 321;
const IO_URING_SETUP: i64 = 425;
const IO_URING_ENTER: i64 = 426;
const IO_URING_REGISTER: i64 = 427;
const CLONE3: i64 = 435;
// i386 numbers.
const I386_GETPPID: u32 = 64;
const I386_SOCKETCALL: u32 = 102;
const SYS_SOCKET: u32 = 1;

const EPERM: i64 = 1;
const ENOENT: i64 = 2;
const EFAULT: i64 = 14;
const ENOSYS: i64 = 38;

const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWPID: u64 = 0x2000_0000;
const SIGCHLD: u64 = 17;

const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_NETLINK: u64 = 16;
const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_RAW: u64 = 3;
const SOCK_SEQPACKET: u64 = 5;

const PERSONAS: [u64; 5] = [0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

fn x86_64() -> &'static ArchInfo {
    arch::by_name("SCMP_ARCH_X86_64").expect("x86_64")
}

fn caps_plus(extra: &[&str]) -> Vec<String> {
    DOCKER_DEFAULT_CAPS
        .iter()
        .chain(extra)
        .map(|c| c.to_string())
        .collect()
}

fn opts(extra_caps: &[&str]) -> RenderOptions {
    RenderOptions::host()
        .with_caps(caps_plus(extra_caps))
        .with_arch(x86_64())
        .with_kernel(KernelVersion::running().expect("uname"))
}

fn rendered(profile: &MobyProfile, extra_caps: &[&str]) -> LinuxSeccomp {
    render(profile, &opts(extra_caps)).expect("render")
}

fn compiled(profile: &MobyProfile, extra_caps: &[&str]) -> Program {
    compile(&rendered(profile, extra_caps), &CompileOptions::default()).expect("compile")
}

fn a(args: &[u64]) -> [u64; 6] {
    let mut out = [0; 6];
    out[..args.len()].copy_from_slice(args);
    out
}

/// A raw `clone` that never runs test code in the new process: a child `_exit`s at once
/// and the parent reaps it. Returns the raw result (pid or `-errno`).
fn clone_and_reap(flags: u64) -> i64 {
    let r = raw(CLONE, a(&[flags | SIGCHLD]));
    if r == 0 {
        // SAFETY: we are the new child of a fork-like clone; end it without running
        // anything else.
        unsafe { libc::_exit(0) };
    }
    if r > 0 {
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(r as i32, &mut status, 0) };
    }
    r
}

/// Named results reported by a filtered child.
struct Results(BTreeMap<&'static str, i64>);

impl Results {
    fn get(&self, k: &str) -> i64 {
        *self.0.get(k).unwrap_or_else(|| panic!("no result for {k}"))
    }
    fn errno(&self, k: &str, want: i64) {
        assert_eq!(self.get(k), -want, "{k}: expected -{want}");
    }
    fn ok(&self, k: &str) {
        assert!(
            self.get(k) >= 0,
            "{k}: expected success, got {}",
            self.get(k)
        );
    }
}

/// Runs `checks` in a child under `program`; each check is (name, closure).
fn run(program: &Program, checks: &[(&'static str, &dyn Fn() -> i64)]) -> Results {
    let r = run_filtered(program, TIMEOUT, |rep: &Reporter| {
        for (_, f) in checks {
            rep.report(f());
        }
        0
    });
    assert_eq!(r.exit, Exit::Code(0), "child ended badly: {r:?}");
    assert_eq!(r.values.len(), checks.len());
    Results(
        checks
            .iter()
            .map(|(n, _)| *n)
            .zip(r.values.iter().copied())
            .collect(),
    )
}

fn spawn_thread() -> i64 {
    match std::thread::Builder::new().spawn(|| 7) {
        Ok(h) => h.join().map_or(-1000, |v| v),
        Err(e) => -i64::from(e.raw_os_error().unwrap_or(1000)),
    }
}

fn setrlimit_same() -> i64 {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let p = std::ptr::addr_of_mut!(rl) as u64;
    let g = raw(GETRLIMIT, a(&[libc::RLIMIT_NOFILE as u64, p]));
    if g < 0 {
        return g - 10_000;
    }
    raw(SETRLIMIT, a(&[libc::RLIMIT_NOFILE as u64, p]))
}

const NO_SUCH_FILE: &[u8] = b"/nonexistent/oci-seccomp-acct\0";

fn acct_nonexistent() -> i64 {
    raw(ACCT, a(&[NO_SUCH_FILE.as_ptr() as u64]))
}

/// The three io_uring calls, with arguments the kernel refuses harmlessly if the filter
/// lets them through: `io_uring_setup(1, NULL)` fails with EFAULT, the other two with
/// EBADF on fd -1.
fn io_uring_checks() -> Vec<(&'static str, &'static dyn Fn() -> i64)> {
    vec![
        ("io_uring_setup", &|| raw(IO_URING_SETUP, a(&[1, 0]))),
        ("io_uring_enter", &|| {
            raw(IO_URING_ENTER, a(&[u64::from(u32::MAX), 1, 0, 0, 0, 0]))
        }),
        ("io_uring_register", &|| {
            raw(IO_URING_REGISTER, a(&[u64::from(u32::MAX), 0, 0, 0]))
        }),
    ]
}

/// Whether this kernel lets every process set up io_uring (`kernel.io_uring_disabled` is
/// 0, or the sysctl predates Linux 6.6).
fn kernel_offers_io_uring() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").map_or(true, |s| s.trim() == "0")
}

/// The checks that hold for both Docker's file and ours, with Docker's default caps.
/// Every refused call has arguments that would fail harmlessly (EFAULT, EINVAL) if the
/// filter let it through.
fn common_checks() -> Vec<(&'static str, &'static dyn Fn() -> i64)> {
    vec![
        ("unshare(CLONE_NEWUSER)", &|| {
            raw(UNSHARE, a(&[CLONE_NEWUSER]))
        }),
        ("clone(CLONE_NEWUSER)", &|| clone_and_reap(CLONE_NEWUSER)),
        ("thread", &spawn_thread),
        ("clone(0)", &|| clone_and_reap(0)),
        ("clone3", &|| raw(CLONE3, a(&[0, 0]))),
        ("mount", &|| raw(MOUNT, a(&[]))),
        ("umount2", &|| raw(UMOUNT2, a(&[]))),
        ("keyctl", &|| raw(KEYCTL, a(&[0x7fff]))),
        ("add_key", &|| raw(ADD_KEY, a(&[]))),
        ("bpf", &|| raw(BPF, a(&[0xffff]))),
        ("perf_event_open", &|| {
            raw(PERF_EVENT_OPEN, a(&[0, 0, u64::MAX, u64::MAX, 0]))
        }),
        ("reboot", &|| raw(REBOOT, a(&[]))),
        ("swapon", &|| raw(SWAPON, a(&[]))),
        ("kexec_load", &|| {
            raw(KEXEC_LOAD, a(&[0, 0, 0, 0xffff_ffff]))
        }),
        ("acct", &acct_nonexistent),
        ("personality(0)", &|| raw(PERSONALITY, a(&[PERSONAS[0]]))),
        ("personality(0x8)", &|| raw(PERSONALITY, a(&[PERSONAS[1]]))),
        ("personality(0x20000)", &|| {
            raw(PERSONALITY, a(&[PERSONAS[2]]))
        }),
        ("personality(0x20008)", &|| {
            raw(PERSONALITY, a(&[PERSONAS[3]]))
        }),
        ("personality(0xffffffff)", &|| {
            raw(PERSONALITY, a(&[PERSONAS[4]]))
        }),
        ("personality(5)", &|| raw(PERSONALITY, a(&[5]))),
        ("socket(AF_INET)", &|| {
            raw(SOCKET, a(&[AF_INET, SOCK_STREAM]))
        }),
        ("setrlimit", &setrlimit_same),
        ("i386 getppid", &|| int80(I386_GETPPID, 0, 0, 0)),
    ]
}

fn assert_common(r: &Results) {
    r.errno("unshare(CLONE_NEWUSER)", EPERM);
    r.errno("clone(CLONE_NEWUSER)", EPERM);
    assert_eq!(
        r.get("thread"),
        7,
        "thread creation (clone3 -> ENOSYS -> clone)"
    );
    r.ok("clone(0)");
    r.errno("clone3", ENOSYS);
    for k in [
        "mount",
        "umount2",
        "keyctl",
        "add_key",
        "bpf",
        "perf_event_open",
        "reboot",
        "swapon",
        "kexec_load",
        "acct",
    ] {
        r.errno(k, EPERM);
    }
    for k in [
        "personality(0)",
        "personality(0x8)",
        "personality(0x20000)",
        "personality(0x20008)",
        "personality(0xffffffff)",
    ] {
        r.ok(k);
    }
    r.errno("personality(5)", EPERM);
    r.ok("socket(AF_INET)");
    assert_eq!(r.get("setrlimit"), 0);
    // SAFETY: getpid has no preconditions; the child's parent is this process.
    let me = i64::from(unsafe { libc::getpid() });
    assert_eq!(r.get("i386 getppid"), me, "int 0x80 getppid (x86 sub-arch)");
}

fn admin_checks() -> Vec<(&'static str, &'static dyn Fn() -> i64)> {
    vec![
        ("clone(NEWNS|NEWPID)", &|| {
            clone_and_reap(CLONE_NEWNS | CLONE_NEWPID)
        }),
        ("clone3", &|| raw(CLONE3, a(&[0, 0]))),
    ]
}

fn pacct_checks() -> Vec<(&'static str, &'static dyn Fn() -> i64)> {
    vec![("acct", &acct_nonexistent)]
}

fn conformance(profile: &MobyProfile, label: &str) {
    eprintln!("checking {label}");
    let r = run(&compiled(profile, &[]), &common_checks());
    assert_common(&r);
    // With CAP_SYS_ADMIN: namespaces through clone; clone3 gets to the kernel (EINVAL
    // for the NULL argument block, not ENOSYS).
    let r = run(&compiled(profile, &["CAP_SYS_ADMIN"]), &admin_checks());
    r.ok("clone(NEWNS|NEWPID)");
    assert_ne!(r.get("clone3"), -ENOSYS);
    assert_ne!(r.get("clone3"), -EPERM);
    // With CAP_SYS_PACCT: acct gets past the filter.
    let r = run(&compiled(profile, &["CAP_SYS_PACCT"]), &pacct_checks());
    assert_eq!(r.get("acct"), -ENOENT, "acct with CAP_SYS_PACCT");
}

#[test]
fn upstream_docker_profile_conforms() {
    let profile = upstream_docker_profile();
    let path = upstream_docker_profile_path().expect("path");
    eprintln!(
        "upstream file: {} (the Debian package carries Docker 20.10's profile, which allows \
         every socket family; newer Docker refuses AF_ALG and AF_VSOCK)",
        path.display()
    );
    conformance(&profile, "Docker's upstream default.json");
    // Docker 20.10 allowed io_uring: the calls reach the kernel.
    let r = run(&compiled(&profile, &[]), &io_uring_checks());
    if kernel_offers_io_uring() {
        r.errno("io_uring_setup", EFAULT);
    } else {
        eprintln!("kernel.io_uring_disabled is set: io_uring_setup is refused by the kernel");
    }
}

/// Docker's current file conforms too, and refuses what Docker has refused since 20.10:
/// io_uring (25.0), AF_VSOCK (24.0) and AF_ALG (29.4.2). socketcall stays allowed there
/// (the block was reverted upstream), unlike ours.
#[test]
fn current_upstream_docker_profile_conforms() {
    let profile = current_docker_profile();
    conformance(&profile, CURRENT_DOCKER_PROFILE_VERSION);
    let mut checks = io_uring_checks();
    checks.push(("AF_ALG", &|| raw(SOCKET, a(&[AF_ALG, SOCK_SEQPACKET]))));
    checks.push(("AF_VSOCK", &|| raw(SOCKET, a(&[AF_VSOCK, SOCK_STREAM]))));
    checks.push(("AF_INET", &|| raw(SOCKET, a(&[AF_INET, SOCK_DGRAM]))));
    checks.push(("i386 socketcall(SYS_SOCKET)", &|| {
        int80(I386_SOCKETCALL, SYS_SOCKET, 0, 0)
    }));
    let r = run(&compiled(&profile, &[]), &checks);
    for k in [
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "AF_ALG",
        "AF_VSOCK",
    ] {
        r.errno(k, EPERM);
    }
    r.ok("AF_INET");
    // The kernel reads the NULL argument block: EFAULT, past the filter.
    r.errno("i386 socketcall(SYS_SOCKET)", EFAULT);
}

#[test]
fn embedded_default_conforms() {
    conformance(&default_profile(), "the embedded default profile");
    let checks: Vec<(&'static str, &dyn Fn() -> i64)> = vec![
        ("AF_ALG", &|| raw(SOCKET, a(&[AF_ALG, SOCK_SEQPACKET]))),
        ("AF_VSOCK", &|| raw(SOCKET, a(&[AF_VSOCK, SOCK_STREAM]))),
        ("AF_ALG with upper bits", &|| {
            raw(SOCKET, a(&[(1 << 32) | AF_ALG, SOCK_SEQPACKET]))
        }),
        ("AF_VSOCK with upper bits", &|| {
            raw(SOCKET, a(&[(1 << 32) | AF_VSOCK, SOCK_STREAM]))
        }),
        ("AF_INET", &|| raw(SOCKET, a(&[AF_INET, SOCK_DGRAM]))),
        ("AF_UNIX", &|| raw(SOCKET, a(&[AF_UNIX, SOCK_STREAM]))),
        ("AF_NETLINK", &|| raw(SOCKET, a(&[AF_NETLINK, SOCK_RAW]))),
        ("i386 socketcall(SYS_SOCKET)", &|| {
            int80(I386_SOCKETCALL, SYS_SOCKET, 0, 0)
        }),
    ];
    let r = run(&compiled(&default_profile(), &[]), &checks);
    for k in [
        "AF_ALG",
        "AF_VSOCK",
        "AF_ALG with upper bits",
        "AF_VSOCK with upper bits",
    ] {
        r.errno(k, EPERM);
    }
    for k in ["AF_INET", "AF_UNIX", "AF_NETLINK"] {
        r.ok(k);
    }
    r.errno("i386 socketcall(SYS_SOCKET)", ENOSYS);
}

/// io_uring is refused under the embedded default: a ring would carry operations the
/// filter never sees. With Docker's capabilities, and with CAP_SYS_ADMIN, CAP_SYS_PTRACE
/// and CAP_SYS_NICE added, the three calls get the default's EPERM in a forked child.
#[test]
fn embedded_default_refuses_io_uring() {
    for extra in [
        &[][..],
        &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_NICE"][..],
    ] {
        let r = run(&compiled(&default_profile(), extra), &io_uring_checks());
        for k in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
            r.errno(k, EPERM);
        }
    }
    // The EPERM is the filter's: with the calls allowed, the same child gets the
    // kernel's answer.
    if kernel_offers_io_uring() {
        let open = oci_seccomp_tests::program(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
        run(&open, &io_uring_checks()).errno("io_uring_setup", EFAULT);
    }
}

// ---------------------------------------------------------------------------------------
// Agreement of the embedded default with the upstream file, by simulation.
// ---------------------------------------------------------------------------------------

/// Syscalls our default allows, as newer Docker does, that Docker 20.10's file does not
/// name (newer kernels): 20.10 answers ENOSYS (its stub: above its highest syscall) or
/// EPERM.
const NEWER_ALLOWED: &[&str] = &[
    "cachestat",
    "fchmodat2",
    "futex_requeue",
    "futex_wait",
    "futex_wake",
    "map_shadow_stack",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
];

/// Allowed from kernel 4.8 in newer Docker (with ptrace), only with CAP_SYS_PTRACE in 20.10.
const PTRACE_FAMILY: &[&str] = &["process_vm_readv", "process_vm_writev"];

/// Allowed by Docker 20.10, refused by Docker since 25.0 and by us.
const IO_URING: &[&str] = &["io_uring_setup", "io_uring_enter", "io_uring_register"];

fn arg_vectors() -> Vec<[u64; 6]> {
    let mut v = vec![[0; 6], [u64::MAX; 6], [0xffff_ffff; 6]];
    for p in PERSONAS.iter().chain(&[5]) {
        v.push(a(&[*p]));
    }
    for f in [
        CLONE_NEWUSER | SIGCHLD,
        CLONE_NEWNS | CLONE_NEWPID | SIGCHLD,
        SIGCHLD,
    ] {
        v.push(a(&[f]));
        v.push(a(&[0, f])); // s390-style order and socketcall-style (call, args)
    }
    for fam in [AF_UNIX, AF_INET, AF_NETLINK, AF_ALG, AF_VSOCK, 41, 45, 300] {
        v.push(a(&[fam, SOCK_STREAM]));
    }
    v.push(a(&[1, 0])); // socketcall(SYS_SOCKET, ...)
    v
}

/// The highest syscall number `spec` names on `arch` (what the ENOSYS stub uses).
fn max_named(spec: &LinuxSeccomp, arch: &ArchInfo) -> i32 {
    spec.syscalls()
        .iter()
        .flatten()
        .flat_map(|e| e.names().iter())
        .filter_map(|n| arch::resolve(n, arch))
        .map(|nr| nr & !(X32_SYSCALL_BIT as i32))
        .max()
        .unwrap_or(0)
}

#[derive(Debug)]
struct Diff {
    abi: &'static str,
    nr: i32,
    name: String,
    args: [u64; 6],
    upstream: Action,
    ours: Action,
}

/// Which upstream file a comparison is against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Upstream {
    /// Docker 20.10.24 (Debian's package).
    Docker2010,
    /// Docker's current file (`fixtures/moby/upstream/`).
    Current,
}

/// Why a difference from Docker 20.10's file is intended (docs/moby.md, first table), or
/// `None`.
fn explain_2010(d: &Diff, upstream_max: i32, ours_max: i32) -> Option<&'static str> {
    let name = d.name.as_str();
    if NEWER_ALLOWED.contains(&name) && d.ours == Action::Allow {
        return Some("newer syscall allowed by us");
    }
    if name == "name_to_handle_at" && d.ours == Action::Allow && d.upstream == Action::Errno(1) {
        return Some("name_to_handle_at allowed without CAP_SYS_ADMIN as in Docker 25.0");
    }
    if PTRACE_FAMILY.contains(&name) && d.ours == Action::Allow && d.upstream == Action::Errno(1) {
        return Some("process_vm_readv/writev allowed from 4.8 as in newer Docker");
    }
    if IO_URING.contains(&name) && d.ours == Action::Errno(1) && d.upstream == Action::Allow {
        return Some("io_uring refused as in Docker 25.0");
    }
    if name == "socket"
        && d.ours == Action::Errno(1)
        && d.upstream == Action::Allow
        && (d.args[0] == AF_ALG || d.args[0] == AF_VSOCK || d.args[0] > 255)
    {
        return Some("socket family refused by us");
    }
    if name == "socketcall" && d.ours == Action::Errno(38) && d.upstream == Action::Allow {
        return Some("socketcall refused with ENOSYS by us");
    }
    let bare = d.nr & !(X32_SYSCALL_BIT as i32);
    if bare > upstream_max
        && bare <= ours_max
        && d.upstream == Action::Errno(38)
        && d.ours == Action::Errno(1)
    {
        return Some("between the two ENOSYS-stub limits: upstream ENOSYS, ours EPERM");
    }
    None
}

/// Why a difference from Docker's current file is intended (docs/moby.md, second
/// table), or `None`. Only two are reachable on x86: our bound on socket families and our
/// refusal of socketcall.
fn explain_current(d: &Diff) -> Option<&'static str> {
    let name = d.name.as_str();
    if name == "socket"
        && d.ours == Action::Errno(1)
        && d.upstream == Action::Allow
        && d.args[0] > 255
    {
        return Some("socket family above 255 refused by us");
    }
    if name == "socketcall" && d.ours == Action::Errno(38) && d.upstream == Action::Allow {
        return Some("socketcall refused with ENOSYS by us");
    }
    None
}

fn agreement(which: Upstream, extra_caps: &[&str]) {
    let up_profile = match which {
        Upstream::Docker2010 => upstream_docker_profile(),
        Upstream::Current => current_docker_profile(),
    };
    let up_spec = rendered(&up_profile, extra_caps);
    let our_spec = rendered(&default_profile(), extra_caps);
    let up = compile(&up_spec, &CompileOptions::default()).expect("compile upstream");
    let ours = compile(&our_spec, &CompileOptions::default()).expect("compile ours");
    let x86 = arch::by_name("SCMP_ARCH_X86").expect("x86");
    let x32 = arch::by_name("SCMP_ARCH_X32").expect("x32");
    let abis: [(&'static str, &ArchInfo, u32, i32); 3] = [
        ("x86_64", x86_64(), AUDIT_ARCH_X86_64, 0),
        ("x86", x86, AUDIT_ARCH_I386, 0),
        ("x32", x32, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT as i32),
    ];
    let vectors = arg_vectors();
    let mut unexplained = Vec::new();
    let mut explained: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut compared = 0usize;
    for (abi, info, audit, bit) in abis {
        let upstream_max = max_named(&up_spec, info);
        let ours_max = max_named(&our_spec, info);
        // Every number libseccomp knows on this ABI, and a margin of unassigned ones
        // above, so that both ENOSYS stubs are crossed.
        for bare in 0..=(ours_max.max(upstream_max) + 64) {
            let nr = bare | bit;
            let name = arch::syscall_name(nr, info).unwrap_or_else(|| format!("#{bare}"));
            for args in &vectors {
                let u = simulate(&up, audit, nr, *args).expect("simulate upstream");
                let o = simulate(&ours, audit, nr, *args).expect("simulate ours");
                compared += 1;
                if u.action == o.action {
                    continue;
                }
                let d = Diff {
                    abi,
                    nr,
                    name: name.clone(),
                    args: *args,
                    upstream: u.action,
                    ours: o.action,
                };
                let why = match which {
                    Upstream::Docker2010 => explain_2010(&d, upstream_max, ours_max),
                    Upstream::Current => explain_current(&d),
                };
                match why {
                    Some(why) => *explained.entry(why).or_default() += 1,
                    None => unexplained.push(d),
                }
            }
        }
    }
    eprintln!(
        "{which:?}, caps +{extra_caps:?}: {compared} decisions compared; intended \
         differences: {explained:?}"
    );
    let listed: Vec<String> = unexplained
        .iter()
        .take(20)
        .map(|d| {
            format!(
                "{} {} ({}) args {:x?}: upstream {}, ours {}",
                d.abi, d.nr, d.name, d.args, d.upstream, d.ours
            )
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences, first ones:\n{}",
        unexplained.len(),
        listed.join("\n")
    );
}

#[test]
fn embedded_default_agrees_with_upstream_for_docker_caps() {
    agreement(Upstream::Docker2010, &[]);
}

#[test]
fn embedded_default_agrees_with_upstream_with_sys_admin() {
    agreement(Upstream::Docker2010, &["CAP_SYS_ADMIN"]);
}

#[test]
fn embedded_default_agrees_with_current_upstream_for_docker_caps() {
    agreement(Upstream::Current, &[]);
}

#[test]
fn embedded_default_agrees_with_current_upstream_with_sys_admin() {
    agreement(Upstream::Current, &["CAP_SYS_ADMIN"]);
}

/// Docker's current file names syscalls this libseccomp (2.5.4) does not know; they are
/// skipped when it is compiled here, so the comparison above cannot see them. Each is
/// listed here and in docs/moby.md with why our default does not name it; a new one
/// fails this test until it is looked at.
#[test]
fn current_upstream_names_we_leave_out_are_the_documented_ones() {
    const UNKNOWN_TO_LIBSECCOMP: &[&str] = &[
        "getxattrat",
        "listmount",
        "listxattrat",
        "lsm_get_self_attr",
        "lsm_list_modules",
        "lsm_set_self_attr",
        "mseal",
        "removexattrat",
        "riscv_hwprobe",
        "setxattrat",
        "statmount",
        "uretprobe",
    ];
    let ours: std::collections::BTreeSet<String> = default_profile()
        .syscalls
        .iter()
        .flat_map(|e| e.names.iter().cloned())
        .collect();
    let mut missing: Vec<String> = current_docker_profile()
        .syscalls
        .iter()
        .flat_map(|e| e.names.iter().cloned())
        .filter(|n| !ours.contains(n))
        .collect();
    missing.sort();
    missing.dedup();
    assert_eq!(missing, UNKNOWN_TO_LIBSECCOMP);
    for n in UNKNOWN_TO_LIBSECCOMP {
        assert!(
            arch::ALL.iter().all(|a| arch::resolve(n, a).is_none()),
            "{n} is known to the syscall table now: name it in the default"
        );
    }
    let docs = include_str!("../../docs/moby.md");
    for n in UNKNOWN_TO_LIBSECCOMP {
        assert!(
            docs.contains(&format!("`{n}`")),
            "docs/moby.md does not name {n}"
        );
    }
}

/// Newer Docker's `socket` rule `arg0 != 40`: libseccomp (runc, crun; our literal
/// reading) compares all 64 bits of the argument while the kernel reads an `int`, so a
/// family with upper bits set slips past the `!=`. Our default (the kernel's reading)
/// compares the low word: the same rule holds.
#[test]
fn not_equal_family_rule_holds_only_under_the_kernels_reading() {
    let spec = oci_seccomp::parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["write","exit_group","exit","rt_sigreturn","rt_sigprocmask","futex","munmap","mmap","brk","sigaltstack","madvise"],"action":"SCMP_ACT_ALLOW"},
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]}]}"#,
    )
    .expect("parse");
    let checks: Vec<(&'static str, &dyn Fn() -> i64)> = vec![
        ("AF_VSOCK", &|| raw(SOCKET, a(&[AF_VSOCK, SOCK_STREAM]))),
        ("AF_VSOCK with upper bits", &|| {
            raw(SOCKET, a(&[(1 << 32) | AF_VSOCK, SOCK_STREAM]))
        }),
    ];
    let literal = CompileOptions::default().with_arg_reading(oci_seccomp::ArgReading::Literal);
    let r = run(&compile(&spec, &literal).expect("compile"), &checks);
    r.errno("AF_VSOCK", EPERM);
    // The kernel sees family 40: a vsock socket, or EAFNOSUPPORT without the module;
    // either way not the filter's EPERM.
    assert_ne!(r.get("AF_VSOCK with upper bits"), -EPERM);
    let r = run(
        &compile(&spec, &CompileOptions::default()).expect("compile"),
        &checks,
    );
    r.errno("AF_VSOCK", EPERM);
    r.errno("AF_VSOCK with upper bits", EPERM);
}
