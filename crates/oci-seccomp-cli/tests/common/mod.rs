//! Helpers shared by the trace and record tests: the binary run as root or as another
//! uid (from a copy that uid can reach), and a temporary directory every uid may use.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `oci-seccomp` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp");
/// busybox-static, installed by ./scripts/setup.
pub const BUSYBOX: &str = "/bin/busybox";

/// Runs `oci-seccomp ARGS` in `cwd` (the current directory when `None`), as `uid` (and its
/// gid) when given: then from a copy another user can reach (see [`reachable_copy`]), in
/// the copy's directory when `cwd` is `None`.
pub fn oci_seccomp(args: &[&str], cwd: Option<&Path>, uid: Option<u32>) -> Output {
    let staged = uid.map(|_| reachable_copy(Path::new(BIN)));
    let program = staged.as_ref().map_or(Path::new(BIN), |(_, p)| p.as_path());
    let mut c = Command::new(program);
    c.args(args).stdin(Stdio::null());
    if let Some(d) = cwd.or(staged.as_ref().map(|(t, _)| t.path())) {
        c.current_dir(d);
    }
    if let Some(u) = uid {
        c.uid(u).gid(u);
    }
    // A thread of the test that forked while the copy was open for writing holds it
    // until that child ends: exec then fails with ETXTBSY for a moment.
    for _ in 0..50 {
        match c.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            o => return o.expect("run oci-seccomp"),
        }
    }
    panic!("oci-seccomp stayed busy (ETXTBSY)")
}

/// A copy of `program` that any user can run, in a fresh root-owned directory of mode
/// 0755 below the temporary directory (removed on drop). A process of another uid cannot
/// run `program` where cargo built it when an ancestor is closed to it: a checkout in
/// /root (mode 0700 on Debian) or in a `mktemp -d` directory.
pub fn reachable_copy(program: &Path) -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::Builder::new()
        .prefix("oci-seccomp-bin-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = t.path().join(program.file_name().unwrap());
    std::fs::copy(program, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    (t, copy)
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A directory anyone may enter and write (sticky, as /tmp), removed on drop.
pub fn tempdir(prefix: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    t
}

/// The first python3 of the usual places; fails (never skips) when there is none.
pub fn python3() -> &'static str {
    ["/usr/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("python3 (./scripts/setup installs python3-minimal)")
}
