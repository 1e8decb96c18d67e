//! The supervisor's decoding of a runtime's handoff message: arbitrary bytes with 0, 1 or
//! 2 fds must give a state or a clear error, never a panic. Half the inputs go through a
//! real unix socket with real fds attached, so the receive path (partial reads, size
//! limit, fd accounting) is exercised too, and no fd may stay open afterwards.
#![no_main]

use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use libfuzzer_sys::fuzz_target;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else {
        return;
    };
    let fd_count = usize::from(control % 3);
    let _ = oci_seccomp_load::decode_message(data, fd_count);
    if control & 0x80 == 0 || data.is_empty() {
        return;
    }
    let before = open_fds();
    {
        let (a, b) = UnixStream::pair().expect("socketpair");
        let devnull = std::fs::File::open("/dev/null").expect("/dev/null");
        let fds = vec![devnull.as_raw_fd(); fd_count];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage] = if fd_count == 0 { &[] } else { &cmsg };
        // The socket buffer holds far more than the 64 KiB limit plus a byte.
        let chunk = &data[..data.len().min(70 * 1024)];
        if sendmsg::<()>(a.as_raw_fd(), &[IoSlice::new(chunk)], cmsgs, MsgFlags::empty(), None)
            .is_err()
        {
            return;
        }
        drop(a);
        // Only /dev/null fds are sent: never a seccomp notify fd, so this always fails.
        assert!(oci_seccomp_load::notify::receive_message(&b).is_err());
    }
    assert_eq!(open_fds(), before, "an fd leaked");
});
