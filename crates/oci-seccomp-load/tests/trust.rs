//! The agent and the listener protocol trust no one by default. Each
//! attack is made by a forked child running as uid/gid 4242.

mod common;

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::wait::WaitStatus;
use oci_seccomp_load::emulate::{mkdir_for_target, MkdirOptions};
use oci_seccomp_load::notify::{receive_message, receive_message_within, AgentListener};
use oci_seccomp_load::{
    connect_listener, connect_listener_with, AgentListenerOptions, AllowedPeers, HandoffError,
    NotifyError,
};
use oci_seccomp_load::{process_state, ContainerProcessState, ContainerState};
use serial_test::serial;

const ATTACKER: u32 = 4242;
/// A supplementary group of the attacker in the credential tests.
const GROUP: u32 = 4343;

fn need_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests run attackers as uid {ATTACKER}: run them as root"
    );
}

/// Drops the calling (forked) process to uid/gid 4242 without supplementary groups.
fn drop_to_attacker() -> bool {
    // Never outlive a failed test by more than 30 s.
    // SAFETY: alarm takes a plain number.
    unsafe { libc::alarm(30) };
    let g = nix::unistd::Gid::from_raw(ATTACKER);
    let u = nix::unistd::Uid::from_raw(ATTACKER);
    nix::unistd::setgroups(&[]).is_ok()
        && nix::unistd::setresgid(g, g, g).is_ok()
        && nix::unistd::setresuid(u, u, u).is_ok()
}

fn exit_code(s: WaitStatus) -> i32 {
    match s {
        WaitStatus::Exited(_, c) => c,
        other => panic!("child ended with {other:?}"),
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn state(pid: i32, metadata: &str) -> ContainerProcessState {
    process_state(
        pid,
        metadata,
        "attacker",
        ContainerState::Creating,
        "/",
        Default::default(),
    )
}

fn abstract_name(what: &str) -> String {
    format!(
        "@{}",
        unique_path(what).file_name().unwrap().to_string_lossy()
    )
}

#[test]
#[serial]
fn messages_with_thirty_fds_leak_none() {
    let devnull = std::fs::File::open("/dev/null").unwrap();
    let before = open_fds();
    for _ in 0..20 {
        let (a, b) = UnixStream::pair().unwrap();
        let raw = vec![devnull.as_raw_fd(); 30];
        let json = serde_json::to_vec(&state(1, "")).unwrap();
        nix::sys::socket::sendmsg::<()>(
            a.as_raw_fd(),
            &[std::io::IoSlice::new(&json)],
            &[nix::sys::socket::ControlMessage::ScmRights(&raw)],
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        let e = receive_message(&b).unwrap_err();
        assert!(e.to_string().contains("too many fds"), "{e}");
    }
    assert_eq!(open_fds(), before, "fds from refused messages stayed open");
}

#[test]
#[serial]
fn the_handshake_deadline_covers_the_whole_message() {
    let (a, b) = UnixStream::pair().unwrap();
    // One byte every 50 ms: each read is quick, the message never ends.
    let writer = std::thread::spawn(move || {
        let mut a = a;
        for _ in 0..40 {
            if a.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let t = Instant::now();
    let e = receive_message_within(&b, Duration::from_millis(300)).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, NotifyError::HandshakeTimeout { .. }), "{e}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    drop(b);
    writer.join().unwrap();
}

/// The attacker's half: installs a NOTIFY filter on mkdir in itself, connects to the
/// agent at `socket`, sends its own notify fd with empty metadata, closes its copies and
/// calls mkdir(`path`). Exits 0 when mkdir succeeded, 1 when it failed, >= 10 on setup
/// failures.
fn attacker_sends_own_notify_fd(socket: &str, path: &Path) -> i32 {
    let prog = program(&spec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    ));
    let target = CString::new(path.to_str().unwrap()).unwrap();
    let socket = socket.to_string();
    let pid = fork_child(move || {
        if !drop_to_attacker() {
            return 10;
        }
        set_nnp();
        let Ok(Some(fd)) = oci_seccomp_load::install(&prog).map(|i| i.notify_fd) else {
            return 11;
        };
        let Ok(conn) = connect_listener(&socket) else {
            return 12;
        };
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        // The agent may already have closed the connection: try anyway.
        let _ = oci_seccomp_load::send_state(&conn, &state(me, ""), fd.as_fd());
        drop(conn);
        drop(fd);
        // SAFETY: a valid NUL-terminated path.
        let rc = unsafe { libc::syscall(libc::SYS_mkdir, target.as_ptr(), 0o755) };
        i32::from(rc != 0)
    });
    exit_code(wait_deadline(pid))
}

#[test]
#[serial]
fn the_agent_refuses_an_unprivileged_peer_before_reading_it() {
    need_root();
    let name = abstract_name("peer");
    let listener = AgentListener::bind(&name).unwrap();
    // A root-owned directory the attacker cannot write to.
    let dir = unique_path("peer-dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let x = dir.join("x");
    let agent = std::thread::spawn(move || {
        let before = open_fds();
        let r = listener.accept_connection().map(|c| c.peer());
        // Nothing of the attacker's stays open.
        (r, open_fds() == before)
    });
    let code = attacker_sends_own_notify_fd(&name, &x);
    let (r, no_leak) = agent.join().unwrap();
    match r {
        Err(NotifyError::PeerRefused { peer, .. }) => {
            assert_eq!(peer.uid, ATTACKER);
            let text = NotifyError::PeerRefused {
                peer,
                allowed: vec![0],
            }
            .to_string();
            assert!(text.contains("uid 4242"), "{text}");
        }
        other => panic!("the attacker's connection was accepted: {other:?}"),
    }
    assert!(no_leak);
    // Nobody answers the attacker's notification: its mkdir fails (ENOSYS), nothing made.
    assert_eq!(code, 1);
    assert!(!x.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[serial]
fn a_socket_file_is_private_whatever_the_umask() {
    let path = unique_path("mode.sock");
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let l = AgentListener::bind(&path);
    nix::sys::stat::umask(old);
    let l = l.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    drop(l);
    let opts = AgentListenerOptions {
        mode: 0o660,
        group: Some(ATTACKER),
        ..AgentListenerOptions::default()
    };
    let l = AgentListener::bind_with(&path, opts).unwrap();
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!((m.mode() & 0o777, m.gid()), (0o660, ATTACKER));
    drop(l);
}

#[test]
#[serial]
fn the_runtime_refuses_a_listener_another_user_bound_first() {
    need_root();
    let name = abstract_name("squat");
    let (ready_r, ready_w) = nix::unistd::pipe().unwrap();
    let squat_name = name.clone();
    // The attacker binds the agent's name first and waits for the notify fd.
    let squatter = fork_child(move || {
        if !drop_to_attacker() {
            return 10;
        }
        let sa = std::os::unix::net::SocketAddr::from_abstract_name(&squat_name.as_bytes()[1..]);
        let Ok(l) = sa.and_then(|sa| UnixListener::bind_addr(&sa)) else {
            return 11;
        };
        let _ = nix::unistd::write(&ready_w, b"r");
        // Two connections come (refused, then allowed but unused): the exit code counts
        // the notify fds received (the attack working).
        let mut got = 0;
        for _ in 0..2 {
            let Ok((s, _)) = l.accept() else {
                return 12;
            };
            if receive_message(&s).is_ok() {
                got += 1;
            }
        }
        got
    });
    let mut b = [0u8; 1];
    assert_eq!(nix::unistd::read(&ready_r, &mut b).unwrap(), 1);
    let e = connect_listener(&name).unwrap_err();
    assert!(matches!(e, HandoffError::UntrustedListener { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("uid 4242") && text.contains(&name), "{text}");
    // Told to trust uid 4242, the runtime connects.
    let c = connect_listener_with(&name, &AllowedPeers::with_extra([ATTACKER])).unwrap();
    drop(c);
    assert_eq!(
        exit_code(wait_deadline(squatter)),
        0,
        "the squatter got a notify fd"
    );
}

// ------------------------------------------------------------- acting for the target

/// Who the child is when it makes its calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Root with every capability.
    Root,
    /// Root without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER in its effective set.
    RootWithoutDac,
    /// uid/gid 4242 with the supplementary group 4343.
    Attacker,
}

/// Clears capability bits `drop` from the calling thread's effective set.
fn drop_effective_caps(drop: u64) -> bool {
    let mut header = [0x2008_0522u32, 0];
    let mut data = [0u32; 6];
    // SAFETY: capget reads the 8-byte header and writes two 12-byte data structs.
    if unsafe { libc::syscall(libc::SYS_capget, header.as_mut_ptr(), data.as_mut_ptr()) } != 0 {
        return false;
    }
    data[0] &= !(drop as u32);
    data[3] &= !((drop >> 32) as u32);
    // SAFETY: capset reads the header and the two data structs.
    unsafe { libc::syscall(libc::SYS_capset, header.as_mut_ptr(), data.as_ptr()) == 0 }
}

/// Runs `calls` in a forked child with cwd `cwd` (chrooted to `root` first when given),
/// either under a NOTIFY filter answered by `mkdir_for_target` or without a filter (the
/// kernel itself). Returns each call's result (0 or errno).
fn mkdirs(
    root: Option<&Path>,
    cwd: &Path,
    calls: &[(Option<&str>, &str)],
    emulate: bool,
    who: Who,
) -> Vec<i32> {
    let calls: Vec<(Option<CString>, CString)> = calls
        .iter()
        .map(|(d, p)| {
            (
                d.map(|d| CString::new(d).unwrap()),
                CString::new(*p).unwrap(),
            )
        })
        .collect();
    let n = calls.len();
    let (rd, wr) = nix::unistd::pipe().unwrap();
    let root = root.map(Path::to_path_buf);
    let cwd = cwd.to_path_buf();
    let workload = move || {
        let mut out = Vec::new();
        for (dir, path) in &calls {
            let dirfd = match dir {
                // SAFETY: a valid NUL-terminated path.
                Some(d) => unsafe {
                    libc::open(
                        d.as_ptr(),
                        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    )
                },
                None => libc::AT_FDCWD,
            };
            // SAFETY: a valid dirfd (or AT_FDCWD) and NUL-terminated path.
            let rc = unsafe {
                if dir.is_some() {
                    libc::syscall(libc::SYS_mkdirat, dirfd, path.as_ptr(), 0o777)
                } else {
                    libc::syscall(libc::SYS_mkdir, path.as_ptr(), 0o777)
                }
            };
            let e = if rc == 0 {
                0
            } else {
                std::io::Error::last_os_error().raw_os_error().unwrap()
            };
            out.push(e);
            if dirfd >= 0 {
                // SAFETY: our own fd.
                unsafe { libc::close(dirfd) };
            }
        }
        let bytes: Vec<u8> = out.iter().flat_map(|e| e.to_le_bytes()).collect();
        i32::from(nix::unistd::write(&wr, &bytes).is_err())
    };
    let setup = move || -> bool {
        if let Some(r) = &root {
            if nix::unistd::chroot(r).is_err() {
                return false;
            }
        }
        if std::env::set_current_dir(&cwd).is_err() {
            return false;
        }
        // SAFETY: umask takes a plain mask.
        unsafe { libc::umask(0o027) };
        match who {
            Who::Root => true,
            Who::RootWithoutDac => drop_effective_caps(
                // CAP_DAC_OVERRIDE (1), CAP_DAC_READ_SEARCH (2), CAP_FOWNER (3).
                (1 << 1) | (1 << 2) | (1 << 3),
            ),
            Who::Attacker => {
                let id = nix::unistd::Uid::from_raw(ATTACKER);
                let g = nix::unistd::Gid::from_raw(ATTACKER);
                nix::unistd::setgroups(&[nix::unistd::Gid::from_raw(GROUP)]).is_ok()
                    && nix::unistd::setresgid(g, g, g).is_ok()
                    && nix::unistd::setresuid(id, id, id).is_ok()
            }
        }
    };
    let status = if emulate {
        let handler: Handler = Box::new(|fd, n, _| {
            let opts = MkdirOptions::default().with_allow_host_root(true);
            let _ = match mkdir_for_target(fd, n, &opts) {
                Ok(_) => fd.respond_value(n.id, 0),
                Err(e) => fd.respond_errno(n.id, e as i32),
            };
        });
        let profile = notify_profile(&["mkdir", "mkdirat"]);
        let (status, seen) = run_with_supervisor_setup(&profile, "", handler, setup, workload);
        assert!(seen.errors.is_empty(), "{:?}", seen.errors);
        status
    } else {
        wait_deadline(fork_child(move || if setup() { workload() } else { 100 }))
    };
    assert_eq!(exit_code(status), 0);
    let mut buf = vec![0u8; n * 4];
    let got = nix::unistd::read(&rd, &mut buf).unwrap();
    assert_eq!(got, n * 4);
    buf.chunks(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Every path below `dir` (relative, sorted), with a marker for directories.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let ft = e.file_type().unwrap();
            let md = std::fs::symlink_metadata(&p).unwrap();
            out.push(format!("{rel} {:o} {}", md.mode() & 0o7777, md.uid()));
            if ft.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// Two identical trees: base/a/b, base/a/b/up -> .., base/a/b/top -> /, base/own
/// (owned by 4242), base/locked (root, 0755), base/grp (root:4343, 0775).
fn make_tree(base: &Path) {
    std::fs::create_dir_all(base.join("a/b")).unwrap();
    std::os::unix::fs::symlink("..", base.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink("/", base.join("a/b/top")).unwrap();
    std::fs::create_dir(base.join("own")).unwrap();
    std::os::unix::fs::chown(base.join("own"), Some(ATTACKER), Some(ATTACKER)).unwrap();
    std::fs::create_dir(base.join("locked")).unwrap();
    std::fs::create_dir(base.join("grp")).unwrap();
    std::os::unix::fs::chown(base.join("grp"), Some(0), Some(GROUP)).unwrap();
    std::fs::set_permissions(base.join("grp"), std::fs::Permissions::from_mode(0o775)).unwrap();
    for d in ["", "a", "a/b", "own", "locked"] {
        std::fs::set_permissions(base.join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
#[serial]
fn emulated_mkdir_resolves_like_the_kernel_inside_the_targets_root() {
    need_root();
    // The target is chrooted to its base: "/" is the base, and nothing may leave it.
    let calls: &[(Option<&str>, &str)] = &[
        (None, "../sibling"),
        (None, "../../top-level"),
        (None, "../../../../../above-root"),
        (None, "up/via-link"),
        (None, "top/via-abs-link"),
        (None, "/a/absolute"),
        (None, "new/deeper"),
        (None, "exists-check"),
        (None, "exists-check"),
        (Some("/a"), "from-dirfd"),
        (Some("/a"), "../dirfd-up"),
        (Some("/a/b"), "up/dirfd-link"),
        (None, "."),
        (None, ""),
    ];
    let mut results = Vec::new();
    let mut trees = Vec::new();
    for emulate in [false, true] {
        let base = unique_path(if emulate { "emulated" } else { "kernel" });
        make_tree(&base);
        results.push(mkdirs(
            Some(&base),
            Path::new("/a/b"),
            calls,
            emulate,
            Who::Root,
        ));
        trees.push(tree(&base));
        std::fs::remove_dir_all(&base).unwrap();
    }
    assert_eq!(results[1], results[0], "errno per call: emulated vs kernel");
    assert_eq!(trees[1], trees[0], "created: emulated vs kernel");
    assert!(
        trees[0].iter().any(|l| l.starts_with("a/sibling ")),
        "{:?}",
        trees[0]
    );
    assert!(
        trees[0].iter().any(|l| l.starts_with("above-root ")),
        "{:?}",
        trees[0]
    );
}

#[test]
#[serial]
fn emulated_mkdir_uses_the_targets_credentials() {
    need_root();
    // Unchrooted, as uid 4242 with group 4343 and umask 027, from cwd base/a/b.
    let calls: &[(Option<&str>, &str)] = &[
        (None, "../../locked/x"),
        (None, "../../own/made"),
        (None, "../../grp/by-group"),
        (None, "/etc/oci-seccomp-trust-test"),
    ];
    let (results, trees) = kernel_and_agent(calls, Who::Attacker);
    assert_eq!(
        results[1],
        vec![libc::EACCES, 0, 0, libc::EACCES],
        "the agent acted as root or without the target's groups"
    );
    assert_eq!(results[1], results[0]);
    assert_eq!(trees[1], trees[0]);
    // Owner and umask are the target's: 0777 & ~027.
    assert!(
        trees[1]
            .iter()
            .any(|l| l == &format!("own/made 750 {ATTACKER}")),
        "{:?}",
        trees[1]
    );
    assert!(!PathBuf::from("/etc/oci-seccomp-trust-test").exists());
}

/// Runs `calls` from base/a/b (unchrooted) as `who`, under the kernel and under the
/// agent, each in a fresh tree; returns the errnos and the trees.
fn kernel_and_agent(calls: &[(Option<&str>, &str)], who: Who) -> (Vec<Vec<i32>>, Vec<Vec<String>>) {
    let mut results = Vec::new();
    let mut trees = Vec::new();
    for emulate in [false, true] {
        let base = unique_path(if emulate {
            "cred-emulated"
        } else {
            "cred-kernel"
        });
        make_tree(&base);
        results.push(mkdirs(None, &base.join("a/b"), calls, emulate, who));
        trees.push(tree(&base));
        std::fs::remove_dir_all(&base).unwrap();
    }
    (results, trees)
}

#[test]
#[serial]
fn emulated_mkdir_keeps_only_the_targets_capabilities() {
    need_root();
    // Root without CAP_DAC_OVERRIDE may not write to a directory uid 4242 owns (0755).
    let calls: &[(Option<&str>, &str)] = &[(None, "../../own/x"), (None, "../../locked/y")];
    let (results, trees) = kernel_and_agent(calls, Who::RootWithoutDac);
    assert_eq!(
        results[1],
        vec![libc::EACCES, 0],
        "the agent used capabilities the target lacks"
    );
    assert_eq!(results[1], results[0]);
    assert_eq!(trees[1], trees[0]);
}

#[test]
#[serial]
fn a_target_in_the_agents_own_root_is_refused_by_default() {
    need_root();
    let base = unique_path("hostroot");
    std::fs::create_dir(&base).unwrap();
    let target = CString::new(base.join("x").to_str().unwrap()).unwrap();
    let handler: Handler = Box::new(|fd, n, _| {
        let _ = match mkdir_for_target(fd, n, &MkdirOptions::default()) {
            Ok(_) => fd.respond_value(n.id, 0),
            Err(e) => fd.respond_errno(n.id, e as i32),
        };
    });
    let (status, _) = run_with_supervisor(&notify_profile(&["mkdir"]), "", handler, move || {
        // SAFETY: a valid NUL-terminated path.
        let rc = unsafe { libc::syscall(libc::SYS_mkdir, target.as_ptr(), 0o755) };
        if rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
            0
        } else {
            1
        }
    });
    assert_exit_ok(status);
    assert!(!base.join("x").exists());
    std::fs::remove_dir_all(&base).unwrap();
}
