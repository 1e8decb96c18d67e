//! Every file in `fixtures/bad/listener/` is sent over
//! a real unix socket with the number of fds its name says, and the supervisor's receive
//! path must refuse it with the expected text and close every fd it received.

use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use oci_seccomp_load::notify::receive_message;
use serial_test::serial;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Sends `data` with `fds` copies of /dev/null and returns the receiver's error text.
fn refuse(data: &[u8], fds: usize) -> String {
    let (a, b) = UnixStream::pair().unwrap();
    let devnull = std::fs::File::open("/dev/null").unwrap();
    let raw = vec![devnull.as_raw_fd(); fds];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if fds == 0 { &[] } else { &cmsg };
    // Large messages go in pieces from a thread, as a stream socket may deliver them.
    let data = data.to_vec();
    let first = data.len().min(32 * 1024);
    sendmsg::<()>(
        a.as_raw_fd(),
        &[IoSlice::new(&data[..first])],
        cmsgs,
        MsgFlags::empty(),
        None,
    )
    .unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut a = a;
        let _ = a.write_all(&data[first..]);
    });
    let err = match receive_message(&b) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    drop(b);
    writer.join().unwrap();
    err
}

#[test]
#[serial]
fn every_bad_listener_message_is_refused_and_its_fds_closed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bad/listener");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for p in entries {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        let fds: usize = stem
            .rsplit_once(".fds")
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: name must end in .fdsN.json", p.display()));
        let expect = std::fs::read_to_string(p.with_extension("expect")).unwrap();
        let data = std::fs::read(&p).unwrap();
        let before = open_fds();
        let err = refuse(&data, fds);
        assert_eq!(open_fds(), before, "{}: an fd stayed open", p.display());
        for line in expect.lines().filter(|l| !l.is_empty()) {
            assert!(
                err.contains(line),
                "{}: {err:?} lacks {line:?}",
                p.display()
            );
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} fixtures");
}

#[test]
#[serial]
fn oversized_message_is_refused_and_its_fd_closed() {
    let mut big = br#"{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1,"metadata":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 70 * 1024));
    big.extend(br#"","state":{}}"#);
    let before = open_fds();
    let err = refuse(&big, 1);
    assert_eq!(open_fds(), before);
    assert!(err.contains("larger than 65536 bytes"), "{err}");
}
