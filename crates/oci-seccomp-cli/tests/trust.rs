//! Trust between users: another user cannot hand us a notify fd, bind our agent's name
//! first, plant a cache, or flood the agent's log; slow peers cannot hold the agent up.
//! These need root (they act as another uid).

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{is_root, stderr, stdout, Agent, TempDir, BIN, DENY};
use serde_json::json;

const ATTACKER: u32 = 4242;

fn must_be_root() {
    assert!(
        is_root(),
        "this test runs an attacker as uid {ATTACKER}: run the tests as root"
    );
}

/// Forks a child that drops to uid/gid 4242 and runs `f`, which returns its exit code.
fn fork_attacker(f: impl FnOnce() -> i32) -> nix::unistd::Pid {
    // SAFETY: the child drops its credentials, runs `f` (plain syscalls) and `_exit`s.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let g = nix::unistd::Gid::from_raw(ATTACKER);
            let u = nix::unistd::Uid::from_raw(ATTACKER);
            let code = if nix::unistd::setgroups(&[]).is_ok()
                && nix::unistd::setresgid(g, g, g).is_ok()
                && nix::unistd::setresuid(u, u, u).is_ok()
            {
                // Never outlive a failed test by more than 30 s.
                // SAFETY: alarm takes a plain number.
                unsafe { libc::alarm(30) };
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101)
            } else {
                100
            };
            // SAFETY: ends the child without the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    }
}

/// Waits at most 30 s for `pid`; kills it and panics when late.
fn wait_code(pid: nix::unistd::Pid) -> i32 {
    let t = Instant::now();
    loop {
        match nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)).unwrap() {
            nix::sys::wait::WaitStatus::Exited(_, c) => return c,
            nix::sys::wait::WaitStatus::StillAlive => {}
            other => panic!("child ended with {other:?}"),
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            panic!("child {pid} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until an abstract socket `@name` is listening (as /proc/net/unix shows: its
/// Flags column has `__SO_ACCEPTCON`, set by listen(2); a name that is only bound refuses
/// connections).
fn wait_abstract(name: &str) {
    const SO_ACCEPTCON: u32 = 1 << 16;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let table = std::fs::read_to_string("/proc/net/unix").unwrap();
        let listening = table.lines().any(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.last() == Some(&name)
                && fields
                    .get(3)
                    .and_then(|f| u32::from_str_radix(f, 16).ok())
                    .is_some_and(|flags| flags & SO_ACCEPTCON != 0)
        });
        if listening {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("nobody listens at {name}");
}

/// Runs the CLI, killing it after 30 s (a hang fails the test instead of stalling it).
fn cli_deadline(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("oci-seccomp {args:?} hung: {}", stderr(&o));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn supervise_refuses_an_unprivileged_process_sending_its_own_notify_fd() {
    must_be_root();
    let t = TempDir::new("trust-peer");
    // A root-owned directory uid 4242 may not write to (as /etc).
    let locked = t.0.join("locked");
    std::fs::create_dir(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for d in [&t.0, &locked] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let name = format!("@oci-seccomp-trust-{}", std::process::id());
    let policy = t.write(
        "policy.json",
        r#"{"syscalls": {"mkdir": "emulate-mkdir", "mkdirat": "emulate-mkdir"}}"#,
    );
    let mut agent = Command::new(BIN)
        .args(["supervise", "--socket", &name, "--policy", &policy])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_abstract(&name);
    let prog = oci_seccomp::compile(
        &oci_seccomp::parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap(),
        &oci_seccomp::CompileOptions::default(),
    )
    .unwrap();
    let x = std::ffi::CString::new(locked.join("x").to_str().unwrap()).unwrap();
    let sock = name.clone();
    let attacker = fork_attacker(move || {
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes no pointers.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        let Ok(Some(fd)) = oci_seccomp_load::install(&prog).map(|i| i.notify_fd) else {
            return 10;
        };
        // The agent's listener is root's, which the attacker's own runtime code trusts.
        let Ok(conn) = oci_seccomp_load::connect_listener(&sock) else {
            return 11;
        };
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let state = oci_seccomp_load::process_state(
            me,
            "",
            "attack",
            oci_seccomp_load::ContainerState::Creating,
            "/",
            Default::default(),
        );
        use std::os::fd::AsFd;
        let _ = oci_seccomp_load::send_state(&conn, &state, fd.as_fd());
        drop(conn);
        drop(fd);
        // SAFETY: a valid NUL-terminated path.
        let rc = unsafe { libc::syscall(libc::SYS_mkdir, x.as_ptr(), 0o755) };
        i32::from(rc != 0)
    });
    let code = wait_code(attacker);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let _ = agent.wait();
    let mut err = String::new();
    use std::io::Read;
    agent
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let made: Vec<_> = std::fs::read_dir(&locked).unwrap().flatten().collect();
    assert!(
        made.is_empty(),
        "the agent created {made:?} for uid {ATTACKER}"
    );
    assert_eq!(code, 1, "the attacker's mkdir succeeded");
    assert!(
        err.contains("uid 4242"),
        "the refusal does not name the peer: {err}"
    );
    assert!(
        err.contains("abstract"),
        "no warning about the abstract name: {err}"
    );
}

#[test]
fn supervise_answers_a_container_while_100_slow_peers_hang() {
    must_be_root();
    let t = TempDir::new("trust-slow");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let policy = t.write("policy.json", r#"{"default": "value:4242"}"#);
    let agent = Agent::start(&sock, Some(&policy), &["--max-containers", "1"]);
    // 100 peers (allowed: root) start a message and never finish it.
    let slow: Vec<std::os::unix::net::UnixStream> = (0..100)
        .map(|_| {
            use std::io::Write;
            let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
            s.write_all(b"{").unwrap();
            s
        })
        .collect();
    let o = cli_deadline(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        "echo $PPID",
    ]);
    drop(slow);
    let log = agent.finish();
    assert!(o.status.success(), "{}\n{}", stderr(&o), stderr(&log));
    assert_eq!(stdout(&o).trim(), "4242");
}

#[test]
fn run_refuses_a_listener_another_user_bound_first() {
    must_be_root();
    let t = TempDir::new("trust-squat");
    let name = format!("@oci-seccomp-squat-{}", std::process::id());
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let squat = name.clone();
    // The attacker binds the agent's name first and counts the notify fds it receives.
    let squatter = fork_attacker(move || {
        use std::os::linux::net::SocketAddrExt;
        let Ok(sa) = std::os::unix::net::SocketAddr::from_abstract_name(&squat.as_bytes()[1..])
        else {
            return 10;
        };
        let Ok(l) = std::os::unix::net::UnixListener::bind_addr(&sa) else {
            return 11;
        };
        let mut got = 0;
        for _ in 0..2 {
            let Ok((s, _)) = l.accept() else {
                return 12;
            };
            if oci_seccomp_load::notify::receive_message(&s).is_ok() {
                got += 1;
            }
        }
        got
    });
    wait_abstract(&name);
    let witness = t.0.join("witness");
    let touch = format!("touch {}", witness.display());
    let o = cli_deadline(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--listener",
        &name,
        "--",
        "/bin/sh",
        "-c",
        &touch,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("uid 4242") && stderr(&o).contains(&name),
        "{}",
        stderr(&o)
    );
    assert!(!witness.exists(), "the command ran");
    // Told to trust uid 4242, run hands the fd over.
    let o = cli_deadline(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--listener",
        &name,
        "--listener-uid",
        "4242",
        "--",
        "/bin/true",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        wait_code(squatter),
        1,
        "the squatter got the fd of the refused run"
    );
}

#[test]
fn run_with_a_cache_below_another_users_directory_warns_and_installs_the_real_filter() {
    must_be_root();
    let t = TempDir::new("trust-cache");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&t.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = t.write("deny.json", DENY);
    // The attacker owns /tmp/…/ (made in the sticky /tmp), root's cache is below it
    // (made by root, mode 0700).
    let base = std::env::temp_dir().join(format!("oci-seccomp-cli-trust-u-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let b2 = base.clone();
    assert_eq!(
        wait_code(fork_attacker(move || i32::from(
            std::fs::create_dir(&b2).is_err()
        ))),
        0
    );
    let cache = base.join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Its own cache holds an allow-all program under root's cache key; it swaps the two
    // directories in a loop.
    let spec = oci_seccomp::parse_profile(DENY).unwrap();
    let allow = oci_seccomp::compile(
        &oci_seccomp::parse_profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap(),
        &oci_seccomp::CompileOptions::default(),
    )
    .unwrap();
    let (forged, rc, stop) = (base.join("forged"), cache.clone(), base.join("stop"));
    let swapper = fork_attacker(move || {
        let Ok(c) = oci_seccomp::Cache::open(&forged) else {
            return 10;
        };
        if c.insert(&spec, &oci_seccomp::CompileOptions::default(), &allow)
            .is_err()
        {
            return 11;
        }
        let t = Instant::now();
        while !stop.exists() && t.elapsed() < Duration::from_secs(25) {
            let _ = nix::fcntl::renameat2(
                nix::fcntl::AT_FDCWD,
                &rc,
                nix::fcntl::AT_FDCWD,
                &forged,
                nix::fcntl::RenameFlags::RENAME_EXCHANGE,
            );
        }
        0
    });
    let target = t.path("made");
    let script = format!("mkdir {target}; echo mkdir=$?");
    let cache_s = cache.display().to_string();
    let mut allowed = 0;
    let mut unwarned = Vec::new();
    for _ in 0..40 {
        let o = cli_deadline(&[
            "run",
            "--profile",
            &p,
            "--cache-dir",
            &cache_s,
            "--",
            "/bin/sh",
            "-c",
            &script,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        if stdout(&o).contains("mkdir=0") {
            allowed += 1;
            let _ = std::fs::remove_dir(&target);
        }
        if !(stderr(&o).contains("cache unusable") && stderr(&o).contains("uid 4242")) {
            unwarned.push(stderr(&o));
        }
    }
    std::fs::write(base.join("stop"), b"").unwrap();
    assert_eq!(wait_code(swapper), 0);
    let _ = std::fs::remove_dir_all(&base);
    assert_eq!(allowed, 0, "root ran the attacker's allow-all filter");
    assert!(
        unwarned.is_empty(),
        "no warning naming the owner: {unwarned:?}"
    );
}

/// An unprivileged user connecting to `supervise`'s abstract socket in a loop is refused
/// every time, but the log stays bounded: each refusal is one line, at most 10 per 10 s,
/// and the others are counted in a line that says how many were not logged.
#[test]
fn supervise_logs_refusals_at_a_bounded_rate_and_counts_the_rest() {
    const CONNECTIONS: u64 = 3_000;
    must_be_root();
    let name = format!("@oci-seccomp-refusals-{}", std::process::id());
    let start = Instant::now();
    let mut agent = Command::new(BIN)
        .args(["supervise", "--socket", &name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log as it comes, so that a flood cannot fill the pipe and stall the agent.
    let mut pipe = agent.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        use std::io::Read;
        let _ = pipe.read_to_string(&mut text);
        text
    });
    wait_abstract(&name);
    let sock = name.clone();
    let attacker = fork_attacker(move || {
        use std::io::Read;
        use std::os::linux::net::SocketAddrExt;
        let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(&sock.as_bytes()[1..])
        else {
            return 10;
        };
        for _ in 0..CONNECTIONS {
            let Ok(mut s) = std::os::unix::net::UnixStream::connect_addr(&addr) else {
                return 11;
            };
            // The agent closes a refused connection: wait for that, one at a time.
            let mut byte = [0u8; 1];
            if !matches!(s.read(&mut byte), Ok(0)) {
                return 12;
            }
        }
        0
    });
    let attacker_exit = wait_code(attacker);
    // The agent is stopped before anything is asserted, so that a failure leaves no agent.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let _ = agent.wait();
    assert_eq!(attacker_exit, 0, "the attacker could not connect");
    let elapsed = start.elapsed().as_secs();
    let err = log.join().unwrap();
    let one_by_one = err.lines().filter(|l| l.contains("uid 4242")).count() as u64;
    let counted: u64 = err
        .lines()
        .filter_map(|l| {
            let rest = l.split("warn: ").nth(1)?;
            let (n, tail) = rest.split_once(' ')?;
            tail.starts_with("more connection")
                .then(|| n.parse::<u64>().ok())
                .flatten()
        })
        .sum();
    // Every refusal is either a line of its own or counted, once.
    assert_eq!(one_by_one + counted, CONNECTIONS, "{err}");
    // At most 10 lines and one count per 10 s window, whatever the attacker does.
    let windows = elapsed / 10 + 2;
    assert!(
        one_by_one <= 10 * windows,
        "{one_by_one} lines in {elapsed} s:\n{err}"
    );
    assert!(
        err.len() < 4096 * windows as usize,
        "{} bytes in {elapsed} s",
        err.len()
    );
    assert!(
        err.contains("not logged one by one"),
        "no count of the refusals not logged: {err}"
    );
}
