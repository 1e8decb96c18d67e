//! Helpers shared by the trace and record tests: the binary run as root or as another
//! uid, and a temporary directory every uid may use.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `oci-seccomp` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp");
/// busybox-static, installed by ./scripts/setup.
pub const BUSYBOX: &str = "/bin/busybox";

/// Runs `oci-seccomp ARGS` in `cwd` (the current directory when `None`), as `uid` (and its
/// gid) when given.
pub fn oci_seccomp(args: &[&str], cwd: Option<&Path>, uid: Option<u32>) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    if let Some(u) = uid {
        c.uid(u).gid(u);
    }
    c.output().expect("run oci-seccomp")
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
