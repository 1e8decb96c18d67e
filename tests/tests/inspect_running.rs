//! `inspect` reads what a running process really has, and `lift` says what it decides:
//!
//! - a child under Docker's default, installed by us: one filter, equal to the profile,
//!   lifted to a proven profile with the ENOSYS stub; the child is left running, not
//!   stopped or traced;
//! - the same child after it installed a second, stricter filter itself: two filters, the
//!   most recent first, and the stack differs from the profile exactly where the second
//!   filter is stricter;
//! - containers started by runc 1.1.5 and crun 1.8.1 from Docker's profile, and from a
//!   NOTIFY profile whose listener is our `supervise`: equal to it
//!   under each runtime's reading;
//! - filters no one here wrote (firejail's own generator, OpenSSH's hand-written sandbox):
//!   every denial the lift lists on the native ABI is decided that way by the kernel, in a
//!   forked child that installs the filters read;
//! - libseccomp's programs for random profiles: lifted and compiled again, equal.
//!
//! Needs root, runc, crun, busybox, firejail and sshd (./scripts/setup installs them).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_seccomp::lift::{lift, Reading};
use oci_seccomp::{
    arch, compile, diff_deciders, Action, ArgReading, Backend, Change, CompileOptions, Decider,
    FilterFlags, Instruction, LinuxSeccomp, Profile, Program, Semantics, StepBudget, Stub,
    MAX_STEPS,
};
use oci_seccomp_load::inspect::inspect;
use oci_seccomp_tests::bundle::{cli, make_bundle, which};
use oci_seccomp_tests::docker_profile;
use serial_test::serial;

/// A child that sets no_new_privs, installs `programs` in order, reports `getppid()`'s
/// result through a pipe, then sleeps until killed. Returns its pid and the report.
fn sleeper(programs: Vec<Program>) -> (nix::unistd::Pid, i64) {
    let (rd, wr) = nix::unistd::pipe().expect("pipe");
    let pid = oci_seccomp_test_support::fork_child(move || {
        if !oci_seccomp_test_support::set_no_new_privs() {
            return 3;
        }
        for p in &programs {
            // Raw, with no flags: the loader refuses actions the kernel does not know,
            // which one test installs on purpose.
            let insns = p.instructions();
            let prog = libc::sock_fprog {
                len: insns.len() as u16,
                filter: insns.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: `prog` points at `insns` (the layout of `struct sock_filter`), alive
            // for the call; the kernel copies it. A raw syscall is async-signal-safe.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    1, // SECCOMP_SET_MODE_FILTER
                    0,
                    &prog as *const libc::sock_fprog,
                )
            };
            if rc != 0 {
                return 4;
            }
        }
        let r = oci_seccomp_tests::raw(libc::SYS_getppid, [0; 6]);
        let _ = nix::unistd::write(&wr, &r.to_ne_bytes());
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let mut buf = [0u8; 8];
    let n = nix::unistd::read(&rd, &mut buf).expect("read the child's report");
    if n != 8 {
        let status = oci_seccomp_test_support::wait_within(pid, Duration::from_secs(5));
        panic!("the child did not report: {status:?}");
    }
    (pid, i64::from_ne_bytes(buf))
}

fn stop(pid: nix::unistd::Pid) {
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = oci_seccomp_test_support::wait_within(pid, Duration::from_secs(5));
}

/// Whether `pid` is stopped or traced (`/proc/PID/status`).
fn stopped_or_traced(pid: i32) -> bool {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().any(|l| {
        l.starts_with("State:") && (l.contains("(stopped)") || l.contains("(tracing stop)"))
    }) || s
        .lines()
        .any(|l| l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0"))
}

fn meaning(spec: &LinuxSeccomp, stub: Stub) -> Semantics {
    Semantics::new(&Profile::from_oci(spec, false).unwrap(), stub)
}

fn stack_diff(
    spec: &LinuxSeccomp,
    stub: Stub,
    filters: &[Vec<Instruction>],
) -> Vec<oci_seccomp::Difference> {
    let s = meaning(spec, stub);
    diff_deciders(
        Decider::Profile(&s),
        Decider::Stack(filters),
        &mut StepBudget::new(MAX_STEPS),
    )
    .unwrap()
}

#[test]
#[serial]
fn a_process_under_our_filter_is_read_back_equal_and_left_running() {
    let spec = docker_profile();
    let program = compile(&spec, &CompileOptions::default()).unwrap();
    let (pid, _) = sleeper(vec![program.clone()]);
    let state = inspect(pid.as_raw());
    assert!(
        !stopped_or_traced(pid.as_raw()),
        "the target was left stopped or traced"
    );
    let state = state.unwrap();
    stop(pid);
    assert_eq!((state.mode, state.no_new_privs), (2, true));
    assert_eq!(state.filter_count, Some(1));
    assert_eq!(state.filters.len(), 1);
    assert_eq!(state.filters[0].instructions, program.instructions());
    assert_eq!(state.filters[0].log, Some(false));
    let filters = vec![state.filters[0].instructions.clone()];
    assert!(stack_diff(&spec, Stub::Enosys, &filters).is_empty());
    let lifted = lift(Decider::Program(&filters[0]), arch::native()).unwrap();
    let p = lifted.profile.expect("a proven profile");
    assert_eq!(
        (p.reading, p.args),
        (Reading::EnosysStub, ArgReading::Kernel)
    );
    assert!(stack_diff(&p.spec, Stub::Enosys, &filters).is_empty());
}

#[test]
#[serial]
fn a_second_stricter_filter_shows_as_the_most_recent_and_decides_where_stricter() {
    let spec = docker_profile();
    let opts = CompileOptions::default();
    let first = compile(&spec, &opts).unwrap();
    let second_spec = oci_seccomp::parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":99}]}"#,
    )
    .unwrap();
    let second = compile(&second_spec, &opts).unwrap();
    let (pid, getppid) = sleeper(vec![first.clone(), second.clone()]);
    let state = inspect(pid.as_raw());
    assert!(!stopped_or_traced(pid.as_raw()));
    let state = state.unwrap();
    stop(pid);
    // What the process itself got from the kernel.
    assert_eq!(getppid, -99);
    assert_eq!(state.filters.len(), 2);
    assert_eq!(state.filters[0].instructions, second.instructions());
    assert_eq!(state.filters[1].instructions, first.instructions());
    let filters: Vec<Vec<Instruction>> = state
        .filters
        .iter()
        .map(|f| f.instructions.clone())
        .collect();
    let d = stack_diff(&spec, Stub::Enosys, &filters);
    assert!(!d.is_empty());
    for x in &d {
        assert_eq!(x.syscall.as_deref(), Some("getppid"), "{x:?}");
        assert_eq!(
            (x.change(), x.b.action),
            (Change::Stricter, Action::Errno(99))
        );
    }
    let lifted = lift(Decider::Stack(&filters), arch::native()).unwrap();
    let row = lifted
        .regions
        .iter()
        .find(|r| r.abi == Some(arch::native().name) && r.syscall.as_deref() == Some("getppid"))
        .unwrap();
    assert_eq!((row.action, row.filter), (Action::Errno(99), Some(0)));
}

/// Starts `runtime` detached on a bundle that sleeps under `seccomp`; returns the state
/// directory's guard.
fn start_detached(runtime: &str, dir: &Path, id: &str, seccomp: &serde_json::Value) {
    let probe = dir.join("probe-unused");
    std::fs::write(&probe, b"").unwrap();
    make_bundle(dir, &probe, seccomp);
    let config = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    v["process"]["args"] = serde_json::json!(["/bin/busybox", "sleep", "60"]);
    std::fs::write(&config, v.to_string()).unwrap();
    let bin = which(runtime).unwrap_or_else(|| panic!("{runtime} is missing: ./scripts/setup"));
    // The detached container inherits the runtime's stdio: a file, not a pipe that
    // would stay open as long as the container runs.
    let err = dir.join("runtime.err");
    let st = Command::new(bin)
        .arg("--root")
        .arg(dir.join("state"))
        .args(["run", "-d", "--bundle"])
        .arg(dir)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{runtime} run -d: {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
}

fn delete(runtime: &str, dir: &Path, id: &str) {
    let _ = Command::new(which(runtime).unwrap())
        .arg("--root")
        .arg(dir.join("state"))
        .args(["delete", "-f", id])
        .output();
}

/// Starts a container of `seccomp` under runc and under crun, and runs `inspect
/// --container --runtime --against` on each: the failures (not exit 0 and "equal" under
/// that runtime's reading), one line each.
fn containers_not_equal(seccomp: &serde_json::Value, tag: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for (runtime, reading) in [
        ("runc", "runc's (the ENOSYS stub"),
        ("crun", "crun's (no stub"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let id = format!("oci-seccomp-inspect-{tag}-{runtime}-{}", std::process::id());
        start_detached(runtime, dir.path(), &id, seccomp);
        let profile = dir.path().join("profile.json");
        std::fs::write(&profile, seccomp.to_string()).unwrap();
        let o = Command::new(cli())
            .args(["inspect", "--container", &id, "--runtime", runtime])
            .arg("--runtime-root")
            .arg(dir.path().join("state"))
            .arg("--against")
            .arg(&profile)
            .output()
            .unwrap();
        delete(runtime, dir.path(), &id);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        if o.status.code() != Some(0) || !out.contains("equal") || !out.contains(reading) {
            failures.push(format!(
                "{runtime}: {out}{}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    failures
}

#[test]
#[serial]
fn containers_of_runc_and_crun_are_equal_to_their_profile_under_each_reading() {
    let seccomp = serde_json::to_value(docker_profile()).unwrap();
    let failures = containers_not_equal(&seccomp, "docker");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A NOTIFY profile (its listener our `supervise`): runc and crun hand the notify fd over
/// and install the filter; `inspect --against` finds it equal under each one's reading.
#[test]
#[serial]
fn notify_containers_of_runc_and_crun_are_equal_to_their_profile() {
    let work = tempfile::tempdir().unwrap();
    let socket = work.path().join("agent.sock");
    let mut agent = Command::new(cli())
        .args(["supervise", "--socket"])
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !socket.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let seccomp = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socket, "listenerMetadata": "inspect",
        "syscalls": [{"names": ["chroot", "acct"], "action": "SCMP_ACT_NOTIFY"}]});
    let failures = containers_not_equal(&seccomp, "notify");
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Runs `nr(args)` in a forked child that installs `filters` (oldest first) and returns
/// the result, or the signal that ended the child.
fn in_kernel(filters: &[Vec<Instruction>], nr: i64, args: [u64; 6]) -> Result<i64, i32> {
    let programs: Vec<Program> = filters
        .iter()
        .rev()
        .map(|f| Program::new(f.clone(), FilterFlags::EMPTY, FilterFlags::EMPTY))
        .collect();
    let report = oci_seccomp_tests::fork_child(Duration::from_secs(10), move |rep| {
        if !oci_seccomp_test_support::set_no_new_privs() {
            return 3;
        }
        for p in &programs {
            if oci_seccomp_load::install(p).is_err() {
                return 4;
            }
        }
        rep.report(oci_seccomp_tests::raw(nr, args));
        0
    });
    match report.exit {
        oci_seccomp_tests::Exit::Code(0) => Ok(report.values[0]),
        oci_seccomp_tests::Exit::Signal(s) => Err(s),
        other => panic!("child: {other:?}"),
    }
}

/// Every native region that `pid`'s stack denies (an errno, a kill, a trap), its witness
/// run under the filters read: the kernel decides as the lift says. Returns how many.
fn denials_hold_in_the_kernel(pid: i32) -> usize {
    let state = inspect(pid).unwrap();
    assert!(!stopped_or_traced(pid));
    assert!(!state.filters.is_empty());
    let filters: Vec<Vec<Instruction>> = state
        .filters
        .iter()
        .map(|f| f.instructions.clone())
        .collect();
    let lifted = lift(Decider::Stack(&filters), arch::native()).unwrap();
    let mut checked = 0;
    for r in lifted
        .regions
        .iter()
        .filter(|r| r.abi == Some(arch::native().name))
    {
        let w = r.witness;
        // Only denials: an allowed witness would run the call itself.
        let want = match r.action {
            Action::Errno(e) => Ok(-i64::from(e)),
            Action::KillThread | Action::KillProcess | Action::Trap(_) => Err(libc::SIGSYS),
            _ => continue,
        };
        assert_eq!(in_kernel(&filters, i64::from(w.nr), w.args), want, "{r:?}");
        checked += 1;
    }
    checked
}

#[test]
#[serial]
fn firejails_filters_deny_what_their_lift_says() {
    let bin = which("firejail").expect("firejail is missing: ./scripts/setup installs it");
    let mut child = Command::new(bin)
        .args(["--quiet", "--noprofile", "--seccomp", "sleep", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The sandboxed sleep: a descendant of firejail with filters.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let found = descendants(child.id() as i32)
            .into_iter()
            .find(|p| filter_count(*p) > 0 && comm(*p) == "sleep");
        if let Some(p) = found {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "firejail's sandbox did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let checked = denials_hold_in_the_kernel(pid);
    let _ = child.kill();
    let _ = child.wait();
    assert!(checked >= 5, "only {checked} denials checked");
}

#[test]
#[serial]
fn openssh_sandbox_filter_denies_what_its_lift_says() {
    let sshd = which("sshd").expect("sshd is missing: ./scripts/setup installs openssh-server");
    std::fs::create_dir_all("/run/sshd").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("host_key");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let port = 20000 + (std::process::id() % 20000) as u16;
    let mut server = Command::new(sshd)
        .args(["-D", "-e", "-f", "/dev/null", "-p", &port.to_string(), "-h"])
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = loop {
        if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break c;
        }
        assert!(Instant::now() < deadline, "sshd did not listen");
        std::thread::sleep(Duration::from_millis(50));
    };
    use std::io::Write;
    conn.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").unwrap();
    // The pre-authentication child, which runs under OpenSSH's sandbox.
    let pid = loop {
        let found = descendants(server.id() as i32)
            .into_iter()
            .find(|p| filter_count(*p) > 0);
        if let Some(p) = found {
            break p;
        }
        assert!(Instant::now() < deadline, "no sandboxed sshd child");
        std::thread::sleep(Duration::from_millis(50));
    };
    let checked = denials_hold_in_the_kernel(pid);
    drop(conn);
    let _ = server.kill();
    let _ = server.wait();
    assert!(checked >= 3, "only {checked} denials checked");
}

/// Every process below `pid`.
fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let children = std::fs::read_dir(format!("/proc/{p}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|t| std::fs::read_to_string(t.path().join("children")).unwrap_or_default())
            .collect::<Vec<String>>()
            .join(" ");
        for c in children
            .split_whitespace()
            .filter_map(|c| c.parse::<i32>().ok())
        {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

fn filter_count(pid: i32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A small deterministic generator (xorshift) of profiles with conditions.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn profile(&mut self) -> String {
        const NAMES: [&str; 8] = [
            "read",
            "write",
            "getppid",
            "personality",
            "ioctl",
            "socket",
            "fcntl",
            "lseek",
        ];
        const OPS: [&str; 6] = [
            "SCMP_CMP_EQ",
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_GT",
            "SCMP_CMP_GE",
        ];
        let entries: Vec<String> = (0..1 + self.below(6))
            .map(|_| {
                let name = NAMES[self.below(NAMES.len() as u64) as usize];
                let action = match self.below(3) {
                    0 => "\"action\":\"SCMP_ACT_ALLOW\"".to_string(),
                    1 => format!(
                        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":{}",
                        1 + self.below(30)
                    ),
                    _ => "\"action\":\"SCMP_ACT_KILL_PROCESS\"".to_string(),
                };
                let args = if self.below(2) == 0 {
                    String::new()
                } else {
                    let op = OPS[self.below(OPS.len() as u64) as usize];
                    format!(
                        ",\"args\":[{{\"index\":{},\"value\":{},\"op\":\"{op}\"}}]",
                        self.below(3),
                        self.below(64)
                    )
                };
                format!("{{\"names\":[\"{name}\"],{action}{args}}}")
            })
            .collect();
        format!(
            "{{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],\"syscalls\":[{}]}}",
            entries.join(",")
        )
    }
}

#[test]
fn libseccomp_programs_of_random_profiles_lift_to_profiles_that_compile_equal() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let libseccomp = CompileOptions::default().with_backend(Backend::Libseccomp);
    let mut lifted_count = 0;
    for _ in 0..40 {
        let text = g.profile();
        let Ok(spec) = oci_seccomp::parse_profile(&text) else {
            continue;
        };
        // Profiles libseccomp refuses (EEXIST orders) or we refuse are skipped.
        let Ok(original) = compile(&spec, &libseccomp) else {
            continue;
        };
        let lifted = lift(Decider::Program(original.instructions()), arch::native()).unwrap();
        let p = lifted
            .profile
            .unwrap_or_else(|why| panic!("{text}: not lifted: {why}"));
        let again = compile(
            &p.spec,
            &CompileOptions::default()
                .with_enosys_stub(p.reading == Reading::EnosysStub)
                .with_arg_reading(p.args),
        )
        .unwrap();
        let d = diff_deciders(
            Decider::Program(original.instructions()),
            Decider::Program(again.instructions()),
            &mut StepBudget::new(MAX_STEPS),
        )
        .unwrap();
        assert!(d.is_empty(), "{text}: {d:#?}");
        lifted_count += 1;
    }
    assert!(lifted_count >= 20, "only {lifted_count} profiles compiled");
}

/// A filter returning an action value the kernel does not know (0x7ffe0000) under one
/// returning LOG: the kernel keeps the smaller value, LOG, and the call runs. The stack is
/// lifted as the kernel decides it, not as "unknown means kill".
#[test]
#[serial]
fn an_action_the_kernel_does_not_know_ranks_where_its_bits_put_it() {
    let ret = |k: u32| {
        Program::new(
            vec![Instruction::jump(0x06, k, 0, 0)],
            FilterFlags::EMPTY,
            FilterFlags::EMPTY,
        )
    };
    let (pid, getppid) = sleeper(vec![ret(0x7ffc_0000), ret(0x7ffe_0000)]);
    let state = inspect(pid.as_raw()).unwrap();
    stop(pid);
    assert!(
        getppid > 0,
        "the kernel ran getppid under the stack: {getppid}"
    );
    let filters: Vec<Vec<Instruction>> = state
        .filters
        .iter()
        .map(|f| f.instructions.clone())
        .collect();
    assert_eq!(filters[0], vec![Instruction::jump(0x06, 0x7ffe_0000, 0, 0)]);
    let lifted = lift(Decider::Stack(&filters), arch::native()).unwrap();
    assert!(!lifted.regions.is_empty());
    for r in &lifted.regions {
        assert_eq!((r.action, r.filter), (Action::Log, Some(1)), "{r:?}");
    }
}
