//! Hop 2 on the wire: runc's protocol, bad messages, listener addresses.

mod common;

use std::io::{IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::*;
use oci_seccomp_load::{
    connect_for_spec, connect_listener, send_state, AgentListener, HandoffError,
};
use oci_seccomp_load::{process_state, ContainerProcessState, ContainerState};

fn sample_state() -> ContainerProcessState {
    let mut ann = std::collections::BTreeMap::new();
    ann.insert("io.example/key".to_string(), "value".to_string());
    process_state(
        4321,
        "meta-data",
        "ctr-1",
        ContainerState::Creating,
        "/run/bundle",
        ann,
    )
}

/// A receiver written the way runc's sample agent reads: one recvmsg, a 4096-byte
/// buffer, control space for exactly one fd.
fn runc_style_receive(sock: &UnixStream) -> (Vec<u8>, Vec<OwnedFd>, i32) {
    let mut buf = vec![0u8; 4096];
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: `msg` points at live buffers.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    let mut fds = Vec::new();
    // SAFETY: walking the control buffer the kernel filled, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                let data = libc::CMSG_DATA(c) as *const libc::c_int;
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(*data.add(i)));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    buf.truncate(n as usize);
    (buf, fds, msg.msg_flags)
}

#[test]
fn payload_has_exactly_the_fields_and_a_runc_receiver_accepts_it() {
    let (a, b) = UnixStream::pair().unwrap();
    let devnull = std::fs::File::open("/dev/null").unwrap();
    send_state(&a, &sample_state(), devnull.as_fd()).unwrap();
    drop(a);
    let (data, fds, flags) = runc_style_receive(&b);
    assert_eq!(flags & libc::MSG_CTRUNC, 0);
    assert_eq!(flags & libc::MSG_TRUNC, 0);
    assert_eq!(fds.len(), 1, "exactly one fd");
    let v: serde_json::Value =
        serde_json::from_slice(&data).expect("one recvmsg holds the whole JSON");
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["fds", "metadata", "ociVersion", "pid", "state"]);
    assert_eq!(
        keys(&v["state"]),
        ["annotations", "bundle", "id", "ociVersion", "pid", "status"]
    );
    assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(v["pid"], 4321);
    assert_eq!(v["metadata"], "meta-data");
    assert_eq!(v["ociVersion"], "1.2.0");
    assert_eq!(v["state"]["id"], "ctr-1");
    assert_eq!(v["state"]["status"], "creating");
    assert_eq!(v["state"]["pid"], 4321);
    assert_eq!(v["state"]["bundle"], "/run/bundle");
    assert_eq!(v["state"]["annotations"]["io.example/key"], "value");
    // The fd is the one we sent, close-on-exec on the receiving side.
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fds[0].as_raw_fd())).unwrap();
    assert_eq!(link, std::path::Path::new("/dev/null"));
    let running = process_state(
        1,
        "",
        "x",
        ContainerState::Running,
        "/b",
        Default::default(),
    );
    assert_eq!(
        serde_json::to_value(&running).unwrap()["state"]["status"],
        "running"
    );
}

#[test]
fn state_with_other_fds_is_refused_before_sending() {
    let (a, _b) = UnixStream::pair().unwrap();
    let devnull = std::fs::File::open("/dev/null").unwrap();
    let mut st = sample_state();
    st.set_fds(vec!["seccompFd".into(), "other".into()]);
    let e = send_state(&a, &st, devnull.as_fd()).unwrap_err();
    assert!(e.to_string().contains("seccompFd"), "{e}");
}

fn send_raw(path: &std::path::Path, data: &[u8], fds: &[i32]) {
    let s = UnixStream::connect(path).unwrap();
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(fds)];
    let cm: &[nix::sys::socket::ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    let n = nix::sys::socket::sendmsg::<()>(
        s.as_raw_fd(),
        &[IoSlice::new(data)],
        cm,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .unwrap();
    (&s).write_all(&data[n..]).unwrap();
}

/// Sends `data` with the read end of fresh pipes (`nfds` of them) from a thread, expects
/// `accept` to fail with `want`, and checks that every received fd was closed (the write
/// ends see EPIPE).
fn bad_message(data: Vec<u8>, nfds: usize, want: &str) {
    let sock = unique_path("bad.sock");
    let listener = AgentListener::bind(&sock).unwrap();
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..nfds {
        let (r, w) = nix::unistd::pipe().unwrap();
        readers.push(r);
        writers.push(w);
    }
    let raw: Vec<i32> = readers.iter().map(|r| r.as_raw_fd()).collect();
    let path = sock.clone();
    let sender = std::thread::spawn(move || send_raw(&path, &data, &raw));
    let err = listener
        .accept_timeout(DEADLINE)
        .expect_err("a bad message must be refused");
    sender.join().unwrap();
    drop(readers);
    let msg = err.to_string();
    assert!(msg.contains(want), "error {msg:?} should mention {want:?}");
    for w in &writers {
        // SAFETY: writes one byte from a valid buffer; SIGPIPE is ignored in test binaries.
        let rc = unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!(
            (rc, errno()),
            (-1, libc::EPIPE),
            "a received fd was not closed"
        );
    }
}

fn good_json() -> Vec<u8> {
    serde_json::to_vec(&sample_state()).unwrap()
}

#[test]
fn no_fd_is_refused() {
    bad_message(good_json(), 0, "0 fds received");
}

#[test]
fn two_fds_are_refused_and_closed() {
    bad_message(good_json(), 2, "2 fds received");
}

#[test]
fn invalid_json_is_refused_and_fd_closed() {
    bad_message(
        b"{not json".to_vec(),
        1,
        "invalid container process state JSON",
    );
}

#[test]
fn oversized_message_is_refused_and_fd_closed() {
    let mut big = b"{\"pad\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 70 * 1024));
    big.extend_from_slice(b"\"}");
    bad_message(big, 1, "larger than");
}

#[test]
fn fd_that_is_not_seccomp_notify_is_refused() {
    bad_message(good_json(), 1, "not a seccomp notify fd");
}

#[test]
fn missing_listener_path_fails_before_the_workload() {
    let e = connect_listener("/nonexistent-dir/agent.sock").unwrap_err();
    assert!(matches!(e, HandoffError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent-dir/agent.sock"), "{e}");
    let name = format!("@oci-seccomp-load-nobody-{}", std::process::id());
    let e = connect_listener(&name).unwrap_err();
    assert!(e.to_string().contains(&name), "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
    let e = connect_listener("relative/agent.sock").unwrap_err();
    assert!(matches!(e, HandoffError::BadListenerPath { .. }), "{e:?}");
    // Through the spec: the launcher gets the error before forking anything.
    let s = spec(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{name}",
            "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}}]}}"#
    ));
    assert!(connect_for_spec(&s).is_err());
}

#[test]
fn abstract_listener_works() {
    let name = format!("@oci-seccomp-load-abstract-{}", std::process::id());
    let listener = AgentListener::bind(&name).unwrap();
    let conn = connect_listener(&name).unwrap();
    let devnull = std::fs::File::open("/dev/null").unwrap();
    send_state(&conn, &sample_state(), devnull.as_fd()).unwrap();
    // /dev/null is refused by the agent (not a notify fd), but the message arrived.
    let e = listener.accept_timeout(DEADLINE).unwrap_err();
    assert!(e.to_string().contains("not a seccomp notify fd"), "{e}");
}

#[test]
fn listener_path_without_notify_rule_makes_no_connection() {
    let sock = unique_path("unused.sock");
    let listener = AgentListener::bind(&sock).unwrap();
    let s = spec(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}",
            "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}}]}}"#,
        sock.display()
    ));
    assert!(connect_for_spec(&s).unwrap().is_none());
    let mut p = libc::pollfd {
        fd: listener.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, 200) };
    assert_eq!(rc, 0, "a connection was made");
    assert!(listener
        .accept_timeout(Duration::from_millis(10))
        .unwrap()
        .is_none());
}
