//! How much 100 slow peers delay a legitimate container's first answered notification.
//! Run as root:
//!
//! `cargo run --release -p oci-seccomp-tests --example slow_peers -- PATH/TO/oci-seccomp`
//!
//! Starts `oci-seccomp supervise` (every syscall answered `value:4242`), then, with 0 and
//! with 100 connected peers that each sent one byte of a message and stalled, runs 30
//! "containers": a forked child installs a NOTIFY filter on getppid, hands its notify fd
//! over (hop 1, then hop 2 to the agent), and times its first getppid — from the call to
//! the agent's answer, the agent's accept and handshake included. Prints the medians.
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_seccomp::{compile, parse_profile, CompileOptions};
use oci_seccomp_load::handoff;
use oci_seccomp_load::{process_state, ContainerState};

fn one_container(sock: &str, program: &oci_seccomp::Program) -> Duration {
    let conn = oci_seccomp_load::connect_listener(sock).expect("connect to the agent");
    let (parent_end, child_end) = handoff::channel().expect("channel");
    let (rd, wr) = nix::unistd::pipe().expect("pipe");
    // SAFETY: the child only installs, makes one syscall, writes to a pipe and _exits.
    let pid = match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes no pointers.
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            if child_end.install_and_send(program).is_err() {
                // SAFETY: ends the child.
                unsafe { libc::_exit(1) }
            }
            let t = Instant::now();
            // SAFETY: getppid has no preconditions.
            let v = unsafe { libc::getppid() };
            let ns = t.elapsed().as_nanos() as u64;
            let code = i32::from(v != 4242 || nix::unistd::write(&wr, &ns.to_le_bytes()).is_err());
            // SAFETY: ends the child.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(child_end);
    drop(wr);
    let fd = parent_end
        .for_child(pid.as_raw())
        .receive_timeout(Duration::from_secs(10))
        .expect("handoff")
        .expect("a notify fd");
    let state = process_state(
        pid.as_raw(),
        "",
        "bench",
        ContainerState::Creating,
        "/",
        Default::default(),
    );
    oci_seccomp_load::send_state(&conn, &state, fd.as_fd()).expect("send");
    drop(conn);
    drop(fd);
    let mut b = [0u8; 8];
    let n = nix::unistd::read(&rd, &mut b).expect("read");
    assert_eq!(n, 8, "the container's getppid was not answered 4242");
    let _ = nix::sys::wait::waitpid(pid, None);
    Duration::from_nanos(u64::from_le_bytes(b))
}

fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: slow_peers PATH/TO/oci-seccomp");
    let dir = std::env::temp_dir().join(format!("oci-seccomp-slow-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("agent.sock").display().to_string();
    let policy = dir.join("policy.json");
    std::fs::write(&policy, r#"{"default": "value:4242"}"#).unwrap();
    let mut agent = Command::new(&bin)
        .args(["supervise", "--socket", &sock, "--policy"])
        .arg(&policy)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the agent");
    let t = Instant::now();
    while !std::path::Path::new(&sock).exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let program = compile(
        &parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap(),
        &CompileOptions::default(),
    )
    .unwrap();
    let mut medians = Vec::new();
    for peers in [0usize, 100] {
        let slow: Vec<UnixStream> = (0..peers)
            .map(|_| {
                let mut s = UnixStream::connect(&sock).expect("slow peer connects");
                s.write_all(b"{").unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let mut v: Vec<Duration> = (0..30).map(|_| one_container(&sock, &program)).collect();
        v.sort();
        println!(
            "{peers:3} slow peers: first answered notification median {:?}, max {:?}",
            v[v.len() / 2],
            v[v.len() - 1]
        );
        medians.push(v[v.len() / 2]);
        drop(slow);
    }
    println!(
        "delay added by 100 slow peers (median): {:?}",
        medians[1].saturating_sub(medians[0])
    );
    let _ = agent.kill();
    let _ = agent.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
