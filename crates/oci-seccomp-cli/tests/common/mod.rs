//! Helpers shared by the tests of the `oci-seccomp` binary: the binary run (as root or as
//! another uid, from a copy that uid can reach), temporary directories, the profiles
//! several commands' tests use, and the root and busybox requirements.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

pub fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oci-seccomp")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temporary directory for one test (`tempfile`, removed on drop), mode 0755 as a
/// plain `mkdir` would make it: some tests run parts as another uid that must traverse it.
pub struct TempDir(pub PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl TempDir {
    pub fn new(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::Builder::new()
            .prefix(&format!("oci-seccomp-cli-{name}-"))
            .tempdir()
            .unwrap();
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(t.path().to_path_buf(), t)
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Fails the test, naming what to run, unless it runs as root.
pub fn need_root() {
    if !is_root() {
        panic!(
            "this test needs root (namespaces, CAP_SYS_ADMIN): run the tests as root \
             (./scripts/setup && just test)"
        );
    }
}

pub const DENY: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["getppid", "mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
}"#;

pub const ERRNO_DEFAULT: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
  ]
}"#;

/// A Docker profile: chmod always, syslog with CAP_SYSLOG, ptrace unless CAP_SYS_ADMIN.
pub const MOBY: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": [
    {"names": ["chmod"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["syslog"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSLOG"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
  ]
}"#;

pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run oci-seccomp")
}

pub struct Agent {
    pub child: std::process::Child,
}

impl Agent {
    pub fn start(socket: &str, policy: Option<&str>, extra: &[&str]) -> Self {
        let mut c = Command::new(BIN);
        c.args(["supervise", "--socket", socket]);
        if let Some(p) = policy {
            c.args(["--policy", p]);
        }
        let child = c
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !Path::new(socket).exists() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Agent { child }
    }

    /// Waits (at most 20 s, then SIGTERM) and returns the output.
    pub fn finish(mut self) -> Output {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::SIGTERM,
        );
        self.child.wait_with_output().unwrap()
    }
}

pub fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Fails (never skips) when busybox is missing: these tests prove the launcher's
/// containment and must not pass without running.
pub fn require_busybox() {
    assert!(
        busybox().is_some(),
        "busybox is required for this test: install it with ./scripts/setup (as root), or: \
         apt-get install -y busybox-static"
    );
}
