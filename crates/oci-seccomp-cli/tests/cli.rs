//! End-to-end tests of the `oci-seccomp` binary: output, exit status and bad input for
//! every command. `run`, `supervise` and `demo` install filters in child processes (never
//! in the test runner); the tests that make namespaces or act as another uid need root.
//! Without root, or without busybox, they fail naming what to run (never pass without
//! running).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp");

fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oci-seccomp")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temporary directory for one test (`tempfile`, removed on drop), mode 0755 as a
/// plain `mkdir` would make it: some tests run parts as another uid that must traverse it.
struct TempDir(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl TempDir {
    fn new(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::Builder::new()
            .prefix(&format!("oci-seccomp-cli-{name}-"))
            .tempdir()
            .unwrap();
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(t.path().to_path_buf(), t)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

macro_rules! need_root {
    () => {
        if !is_root() {
            panic!(
                "this test needs root (namespaces, CAP_SYS_ADMIN): run the tests as root \
                 (./scripts/setup && just test)"
            );
        }
    };
}

const DENY: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["getppid", "mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
}"#;

const ERRNO_DEFAULT: &str = r#"{
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
const MOBY: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": [
    {"names": ["chmod"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["syslog"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSLOG"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
  ]
}"#;

// ---------------------------------------------------------------- general

#[test]
fn every_command_has_help() {
    for cmd in [
        "check",
        "compile",
        "explain",
        "render",
        "run",
        "supervise",
        "features",
        "demo",
    ] {
        let o = cli(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd} --help: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage"), "{cmd}: {}", stdout(&o));
    }
    assert!(stdout(&cli(&["run", "--help"])).contains("--bundle"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        cli(&["compile", "--no-such-flag", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(cli(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(cli(&["compile"]).status.code(), Some(2));
    assert_eq!(cli(&["run"]).status.code(), Some(2));
}

// ---------------------------------------------------------------- compile

#[test]
fn compile_hex_json_raw_program_pfc() {
    let t = TempDir::new("compile");
    let p = t.write("deny.json", DENY);
    let hex = cli(&["compile", &p, "--format", "hex"]);
    assert!(hex.status.success(), "{}", stderr(&hex));
    let lines: Vec<String> = stdout(&hex).lines().map(str::to_string).collect();
    assert!(lines[0].trim_start().starts_with("0:"), "{lines:?}");

    let j = cli(&["compile", &p, "--format", "json"]);
    assert!(j.status.success());
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    let len = v["length"].as_u64().unwrap() as usize;
    assert_eq!(v["instructions"].as_array().unwrap().len(), len);
    assert_eq!(lines.len(), len);
    assert_eq!(v["needs_listener"], json!(false));
    assert!(v["flags"].is_array());

    let raw = t.path("f.bpf");
    let o = cli(&["compile", &p, "--format", "raw", "-o", &raw]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&raw).unwrap().len() as usize, len * 8);

    let prog = t.path("f.prog");
    assert!(cli(&["compile", &p, "--format", "program", "-o", &prog])
        .status
        .success());
    let bytes = std::fs::read(&prog).unwrap();
    assert_eq!(&bytes[..8], b"OCISECCP");
    assert!(oci_seccomp::Program::from_bytes(&bytes).is_ok());

    let pfc = cli(&["compile", &p, "--format", "pfc"]);
    assert!(pfc.status.success());
    assert!(
        stdout(&pfc).contains("pseudo filter code"),
        "{}",
        stdout(&pfc)
    );
    assert!(stdout(&pfc).contains("getppid"));

    let nostub = cli(&["compile", &p, "--format", "json", "--no-stub"]);
    let v2: Value = serde_json::from_slice(&nostub.stdout).unwrap();
    assert!(v2["length"].as_u64().unwrap() <= len as u64);
}

#[test]
fn compile_arch_replaces_the_profiles() {
    let t = TempDir::new("arch");
    let p = t.write("deny.json", DENY);
    let one = cli(&["compile", &p, "--format", "json", "--arch", "x86_64"]);
    let three = cli(&[
        "compile",
        &p,
        "--format",
        "json",
        "--arch",
        "amd64",
        "--arch",
        "SCMP_ARCH_X86",
        "--arch",
        "x32",
    ]);
    assert!(
        one.status.success() && three.status.success(),
        "{}",
        stderr(&three)
    );
    let l = |o: &Output| {
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["length"]
            .as_u64()
            .unwrap()
    };
    assert!(l(&three) > l(&one));

    let bad = cli(&["compile", &p, "--arch", "vax"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("vax"), "{}", stderr(&bad));
}

#[test]
fn compile_bad_inputs() {
    let t = TempDir::new("compile-bad");
    let missing = cli(&["compile", &t.path("nope.json")]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nope.json"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(stderr(&missing).lines().count(), 1);

    let p = t.write(
        "bad.json",
        "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [}\n",
    );
    let o = cli(&["compile", &p]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("line 3") && e.contains("column"), "{e}");

    let p = t.write("unknown.json", r#"{"defaultAction": "SCMP_ACT_NOPE"}"#);
    let o = cli(&["compile", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("SCMP_ACT_NOPE"), "{}", stderr(&o));

    let p = t.write(
        "errno.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}"#,
    );
    let o = cli(&["compile", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("defaultErrnoRet"), "{}", stderr(&o));

    // A Docker file given as OCI: refused with a hint to render it.
    let p = t.write("moby.json", MOBY);
    let o = cli(&["compile", &p]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("archMap") && e.contains("render"), "{e}");
}

#[test]
fn compile_reads_stdin() {
    let mut child = Command::new(BIN)
        .args(["compile", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(DENY.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert!(serde_json::from_slice::<Value>(&o.stdout).is_ok());
}

// ---------------------------------------------------------------- explain

#[cfg(target_arch = "x86_64")]
#[test]
fn explain_names_the_deciding_entry() {
    let t = TempDir::new("explain");
    let p = t.write("deny.json", DENY);
    let o = cli(&["explain", &p, "getppid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("EPERM") && s.contains("syscalls[0]"), "{s}");
    assert!(
        s.contains("instructions executed") && s.contains("program length"),
        "{s}"
    );

    let o = cli(&["explain", &p, "getpid"]);
    assert!(stdout(&o).contains("defaultAction"), "{}", stdout(&o));

    let p2 = t.write("errno.json", ERRNO_DEFAULT);
    // Argument conditions: personality(8) allowed by entry 1, personality(5) by default.
    let s = stdout(&cli(&["explain", &p2, "personality", "8"]));
    assert!(
        s.contains("SCMP_ACT_ALLOW") && s.contains("syscalls[1]"),
        "{s}"
    );
    let s = stdout(&cli(&["explain", &p2, "personality", "0x5"]));
    assert!(s.contains("EPERM") && s.contains("defaultAction"), "{s}");
    // MASKED_EQ: clone without namespace flags allowed, with CLONE_NEWUSER denied.
    let s = stdout(&cli(&["explain", &p2, "clone", "0x11"]));
    assert!(s.contains("syscalls[2]"), "{s}");
    let s = stdout(&cli(&["explain", &p2, "clone", "0x10000000"]));
    assert!(s.contains("defaultAction"), "{s}");
    // Newer than the profile: the ENOSYS stub.
    let s = stdout(&cli(&["explain", &p2, "1000"]));
    assert!(s.contains("ENOSYS") && s.contains("stub"), "{s}");
    // An architecture the profile does not list.
    let s = stdout(&cli(&["explain", &p2, "read", "--arch", "x86"]));
    assert!(s.contains("architecture not in the profile"), "{s}");
    // Options after the syscall's arguments are options, not arguments.
    let o = cli(&["explain", &p2, "personality", "8", "--arch", "x86_64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("syscalls[1]"), "{}", stdout(&o));

    let j = cli(&["explain", &p, "getppid", "--json"]);
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["errno_name"], json!("EPERM"));
    assert_eq!(v["decided_by"]["kind"], json!("entry"));
    assert_eq!(v["decided_by"]["entry"]["index"], json!(0));
    assert_eq!(v["nr"], json!(110));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn explain_any_number_the_kernel_can_see_and_the_right_abi() {
    let t = TempDir::new("explain-nr");
    let both = t.write(
        "x32.json",
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
            "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":7}]}"#,
    );
    // -1 (a tracer skipping the call) and its unsigned spelling: the stub answers.
    for nr in ["-1", "4294967295"] {
        let o = cli(&["explain", &both, "--", nr]);
        assert!(o.status.success(), "{nr}: {}", stderr(&o));
        assert!(stdout(&o).contains("stub"), "{nr}: {}", stdout(&o));
    }
    // An x32 number given on x86_64 is decided by the entry, named as the x32 call.
    let o = cli(&["explain", &both, &format!("{}", 0x4000_006e_u32)]);
    let s = stdout(&o);
    assert!(s.contains("syscalls[0]") && s.contains("getppid"), "{s}");
    // Without x32 in the profile it is a foreign ABI, never "unexplained".
    let plain = t.write(
        "plain.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let s = stdout(&cli(&["explain", &plain, "0x4000006e"]));
    assert!(
        s.contains("ABI of this number is not in the profile"),
        "{s}"
    );
    assert!(s.contains("SCMP_ACT_KILL"), "{s}");
    let o = cli(&["explain", &plain, "0x100000000"]);
    assert!(!o.status.success());
}

/// A number that does not fit is refused, never wrapped: arguments are u64, negative
/// numbers go down to i64::MIN (their two's complement).
#[test]
fn explain_refuses_numbers_that_do_not_fit() {
    let t = TempDir::new("explain-range");
    let p = t.write("allow.json", r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#);
    for (arg, words) in [
        ("-9223372036854775809", "below -9223372036854775808"),
        ("18446744073709551616", "above 18446744073709551615"),
    ] {
        let o = cli(&["explain", &p, "socket", arg]);
        assert_eq!(o.status.code(), Some(1), "{arg}: {}", stdout(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("argument 0 \"{arg}\": {words}")), "{e}");
    }
    let o = cli(&[
        "explain",
        &p,
        "socket",
        "-9223372036854775808",
        "18446744073709551615",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cli(&["explain", &p, "--", "-9223372036854775809"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("syscall number \"-9223372036854775809\": below"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn libseccomp_miscompiles_this_profile_and_ours_explains_and_runs_it() {
    let t = TempDir::new("miscompiled");
    // Getppid(0x391095bc0380ebab, 0, 0, 0x300000000) matches entry 0
    // only, and libseccomp 2.5.4's program allows it.
    let p = t.write(
        "three.json",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/miscompiled/three-getppid.json"
        ))
        .unwrap(),
    );
    // libseccomp's generator: refused, naming the entry.
    let o = cli(&["compile", &p, "--backend", "libseccomp"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("syscalls[0]") && stderr(&o).contains("miscompiled"),
        "{}",
        stderr(&o)
    );
    // Ours (the default): `check` finds no compile error, `explain` says entry 0 and
    // ERRNO(100), and `run` installs the program.
    let o = cli(&["check", &p]);
    assert!(stdout(&o).contains(": 0 error(s)"), "{}", stdout(&o));
    let o = cli(&[
        "explain",
        &p,
        "getppid",
        "0x391095bc0380ebab",
        "0",
        "0",
        "0x300000000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("syscalls[0]") && stdout(&o).contains("100"),
        "{}",
        stdout(&o)
    );
    let o = cli(&["run", "--profile", &p, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `explain` says how the kernel reads each argument (the argument-width
/// table): `ioctl`'s request is an `unsigned int`, so 0x1_0000_541b runs as FIONREAD while
/// the filter's `EQ 0x541b` does not match it.
#[test]
fn explain_says_how_the_kernel_reads_each_argument() {
    let t = TempDir::new("explain-width");
    let p = t.write(
        "ioctl.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 21531, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let o = cli(&[
        "explain",
        &p,
        "ioctl",
        "3",
        "0x10000541b",
        "--arch",
        "x86_64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Ours (the kernel's reading, the default): the filter compares what the kernel reads.
    let s = stdout(&o);
    assert!(s.contains("SCMP_ACT_ERRNO"), "{s}");
    assert!(
        s.contains("`unsigned int cmd` (32 bits): 0x541b")
            && s.contains("the kernel's reading; runc and crun compare 0x10000541b"),
        "{s}"
    );
    assert!(s.contains("`unsigned int fd` (32 bits): 0x3"), "{s}");
    // runc's literal reading: the upper half steps around the entry.
    let o = cli(&[
        "explain",
        &p,
        "ioctl",
        "3",
        "0x10000541b",
        "--arch",
        "x86_64",
        "--arg-reading",
        "literal",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("SCMP_ACT_ALLOW"), "{s}");
    assert!(
        s.contains("`unsigned int cmd` (32 bits): 0x541b") && s.contains("SCMP_CMP_MASKED_EQ"),
        "{s}"
    );
    let o = cli(&[
        "explain",
        &p,
        "ioctl",
        "3",
        "0x10000541b",
        "--arch",
        "x86_64",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kernel_reads"][1]["bits"], json!(32), "{v}");
    assert_eq!(v["kernel_reads"][1]["value"], json!("0x541b"), "{v}");
    assert_eq!(v["kernel_reads"][1]["compared"], json!("0x541b"), "{v}");
    assert_eq!(v["arg_reading"], json!("kernel"), "{v}");
    // On i386 the register is 32 bits: the filter sees what the kernel reads.
    let o = cli(&["explain", &p, "ioctl", "3", "0x541b", "--arch", "x86"]);
    assert!(stdout(&o).contains("(32 bits): 0x541b"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("MASKED_EQ"), "{}", stdout(&o));
}

#[test]
fn explain_bad_inputs() {
    let t = TempDir::new("explain-bad");
    let p = t.write("deny.json", DENY);
    let o = cli(&["explain", &p, "no_such_syscall"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no_such_syscall"), "{}", stderr(&o));
    let o = cli(&["explain", &p, "getppid", "zz"]);
    assert_eq!(o.status.code(), Some(1));
    let o = cli(&["explain", &p, "getppid", "--arch", "pdp11"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("pdp11"));
    let o = cli(&["explain", &t.path("missing.json"), "getppid"]);
    assert_eq!(o.status.code(), Some(1));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn explain_default_profile() {
    let o = cli(&["explain", "--default", "unshare", "0x10000000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("EPERM"), "{}", stdout(&o));
    let o = cli(&["explain", "--default", "clone3"]);
    assert!(stdout(&o).contains("ENOSYS"), "{}", stdout(&o));
    // io_uring is refused, as Docker has since 25.0: the default action decides.
    for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        let o = cli(&["explain", "--default", name]);
        assert!(o.status.success(), "{}", stderr(&o));
        let s = stdout(&o);
        assert!(
            s.contains(name) && s.contains("SCMP_ACT_ERRNO (EPERM, 1)"),
            "{s}"
        );
        assert!(s.contains("decided by: defaultAction"), "{s}");
    }
}

// ---------------------------------------------------------------- render

fn rendered_names(o: &Output) -> Vec<String> {
    assert!(o.status.success(), "{}", stderr(o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut names: Vec<String> = v["syscalls"]
        .as_array()
        .map(|a| {
            a.iter()
                .flat_map(|e| e["names"].as_array().cloned().unwrap_or_default())
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn render_follows_caps() {
    let t = TempDir::new("render");
    let p = t.write("moby.json", MOBY);
    let base = ["render", p.as_str(), "--arch", "x86_64", "--kernel", "6.1"];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        cli(&a)
    };
    assert_eq!(
        rendered_names(&run(&["--no-default-caps"])),
        ["chmod", "ptrace"]
    );
    assert_eq!(
        rendered_names(&run(&["--no-default-caps", "--cap", "SYSLOG"])),
        ["chmod", "ptrace", "syslog"]
    );
    assert_eq!(rendered_names(&run(&["--cap", "CAP_SYS_ADMIN"])), ["chmod"]);
    let v: Value = serde_json::from_slice(&run(&[]).stdout).unwrap();
    assert!(
        v["architectures"]
            .as_array()
            .unwrap()
            .contains(&json!("SCMP_ARCH_X86")),
        "{v}"
    );

    let o = cli(&["render", &p, "--cap", "CAP_FLY"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("CAP_FLY"));
    let o = cli(&["render", &p, "--kernel", "4.15abc"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("4.15abc"));
    let o = cli(&["render", &p, "--arch", "vax"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn render_default_and_errors() {
    let o = cli(&["render", "--default"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["defaultAction"], json!("SCMP_ACT_ERRNO"));
    // The rendered default compiles.
    let t = TempDir::new("render-default");
    let p = t.write("oci.json", &stdout(&o));
    assert!(cli(&["compile", &p]).status.success());
    let out = t.path("out.json");
    assert!(cli(&["render", "--default", "-o", &out]).status.success());
    assert!(std::fs::metadata(&out).unwrap().len() > 100);

    let p = t.write(
        "bad.json",
        "{\n \"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [\n",
    );
    let o = cli(&["render", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line"), "{}", stderr(&o));
    let p = t.write(
        "both.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(cli(&["render", &p]).status.code(), Some(1));
    assert_eq!(
        cli(&["render", &t.path("missing.json")]).status.code(),
        Some(1)
    );
}

// ---------------------------------------------------------------- check

#[test]
fn check_reports_and_exits() {
    let t = TempDir::new("check");
    let good = t.write("good.json", ERRNO_DEFAULT);
    let o = cli(&["check", &good]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("error(s)"), "{}", stdout(&o));

    let j = cli(&["check", &good, "--json"]);
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert!(v["findings"].is_array());
    assert_eq!(v["errors"], json!(0));

    assert_eq!(
        cli(&["check", &t.path("missing.json")]).status.code(),
        Some(1)
    );
}

/// `check` on a profile whose analyses would take seconds (16 syscalls × 50 entries × 2
/// one-bit `SCMP_CMP_MASKED_EQ`): it stops at its step budget and says, in one finding,
/// which analysis it did not finish and for which syscalls; the output stays small.
#[test]
fn check_stops_at_its_budget_and_says_what_it_did_not_finish() {
    let names = [
        "read", "write", "openat", "close", "fstat", "lseek", "mmap", "mprotect", "munmap", "brk",
        "ioctl", "pread64", "pwrite64", "readv", "writev", "access",
    ];
    let mut seed: u64 = 7;
    let mut bit = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % 16
    };
    let mut entries = Vec::new();
    for name in names {
        for _ in 0..50 {
            let args: Vec<Value> = (0..2)
                .map(|i| {
                    let mask = 1u64 << bit();
                    let value = if bit() % 2 == 0 { 0 } else { mask };
                    json!({"index": i, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"})
                })
                .collect();
            entries.push(json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": args}));
        }
    }
    let t = TempDir::new("check-budget");
    let p = t.write(
        "costly.json",
        &json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": entries})
        .to_string(),
    );
    let o = cli(&["check", &p]);
    let out = stdout(&o);
    // The program is refused (too many comparisons for the kernel's limit): an error.
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let unfinished: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with("[unfinished]"))
        .collect();
    assert_eq!(unfinished.len(), 1, "{out}");
    // Steps or time, whichever ran out first on this machine.
    assert!(
        unfinished[0].contains("budget of 50000000 steps")
            || unfinished[0].contains("deadline of 800 ms"),
        "{}",
        unfinished[0]
    );
    for part in [
        "conditions-cover-all not finished (not decided for access (SCMP_ACT_ALLOW)",
        "and 8 more",
    ] {
        assert!(
            unfinished[0].contains(part),
            "{} lacks {part:?}",
            unfinished[0]
        );
    }
    assert!(out.len() < 64 * 1024, "{} bytes of output", out.len());
}

/// Needs the lint module's check_text (parse errors with line and column).
#[test]
fn check_invalid_json_gives_line_and_column() {
    let t = TempDir::new("check-bad");
    let p = t.write(
        "bad.json",
        "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [}\n",
    );
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let s = stdout(&o);
    assert!(
        s.contains("error:") && s.contains("line 3") && s.contains("column"),
        "{s}"
    );
}

/// Needs the lint module: Docker keys in an OCI file, and a risky allow.
#[test]
fn check_finds_docker_keys_and_errors() {
    let t = TempDir::new("check-docker");
    let p = t.write("moby.json", MOBY);
    let o = cli(&["check", &p, "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v["findings"].as_array().unwrap().is_empty(), "{v}");
    let p = t.write(
        "errno.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}"#,
    );
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("defaultErrnoRet"), "{}", stdout(&o));
}

/// `check` reports what `run` refuses. WAIT_KILLABLE_RECV without a
/// NOTIFY rule (the kernel's EINVAL), and Docker keys in any letter case (moby reads
/// `"Includes"` as `includes`; as plain OCI the capability condition would be dropped).
#[test]
fn check_reports_what_run_refuses() {
    let t = TempDir::new("check-run");
    let wk = t.write(
        "wk.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    );
    let o = cli(&["check", &wk]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("flags[0]") && stdout(&o).contains("SCMP_ACT_NOTIFY"),
        "{}",
        stdout(&o)
    );
    let o = cli(&[
        "run",
        "--no-cache",
        "--profile",
        &wk,
        "--",
        "/bin/echo",
        "ran",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stdout(&o).contains("ran"));
    assert!(stderr(&o).contains("flags[0]"), "{}", stderr(&o));

    let inc = t.write(
        "includes.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
             {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "Includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    );
    // `check` reads it as moby does: valid, rendered, and the
    // capability-gated unshare is not allowed without CAP_SYS_ADMIN.
    let o = cli(&["check", &inc]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("docker-rendered"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("unshare"), "{}", stdout(&o));
    let o = cli(&["check", &inc, "--cap", "SYS_ADMIN"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("unshare is allowed"), "{}", stdout(&o));
    // `render` reads it as moby does: without CAP_SYS_ADMIN the entry is not there.
    let o = cli(&["render", &inc]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("unshare"), "{}", stdout(&o));
}

/// `check` takes Docker profiles, as `--help` says: our embedded default,
/// Docker's own `default.json` (20.10 and current) and containers-common's `seccomp.json`
/// exit 0; a bad `minKernel` is an error naming its path; `--arch/--kernel/--cap` work as
/// in `render`. Docker 20.10's file allows io_uring: a risky allow for each call.
#[test]
fn check_accepts_docker_profiles() {
    let t = TempDir::new("check-moby");
    let embedded = t.write("default.json", oci_seccomp_default_json());
    let current = t.write("docker-current.json", docker_current_json());
    for p in [
        embedded.as_str(),
        current.as_str(),
        DOCKER_DEFAULT,
        CONTAINERS_SECCOMP,
    ] {
        assert!(
            Path::new(p).is_file(),
            "{p} is missing: install it with ./scripts/setup (as root), or: apt-get install -y \
             golang-github-docker-docker-dev golang-github-containers-common"
        );
        let o = cli(&["check", p]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{p}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stdout(&o).contains("docker-rendered"),
            "{p}: {}",
            stdout(&o)
        );
        assert!(!stderr(&o).contains("unknown key"), "{p}: {}", stderr(&o));
        for args in [
            &["--arch", "arm64", "--kernel", "5.10"][..],
            &["--cap", "SYS_ADMIN", "--no-default-caps"][..],
        ] {
            let mut a = vec!["check", p];
            a.extend_from_slice(args);
            let o = cli(&a);
            assert_eq!(o.status.code(), Some(0), "{p} {args:?}: {}", stdout(&o));
        }
        let risky_io_uring = stdout(&o)
            .lines()
            .filter(|l| l.contains("io_uring") && l.ends_with("[risky-allow]"))
            .count();
        let want = if p == DOCKER_DEFAULT { 3 } else { 0 };
        assert_eq!(risky_io_uring, want, "{p}: {}", stdout(&o));
    }
    let bad = t.write(
        "minkernel.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
             {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
             {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.0"}}]}"#,
    );
    let o = cli(&["check", &bad]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("syscalls[1].includes.minKernel") && stdout(&o).contains("4.8.0"),
        "{}",
        stdout(&o)
    );
}

/// Containers-common's dialect (Podman, CRI-O): `defaultErrno` and
/// per-entry `errno` names are recognised without "unknown key" warnings, checked against
/// their numbers, and the real file renders, checks and runs.
#[test]
fn containers_common_profile_renders_checks_and_runs() {
    need_root!();
    assert!(
        Path::new(CONTAINERS_SECCOMP).is_file(),
        "{CONTAINERS_SECCOMP} is missing: install it with ./scripts/setup (as root), or: \
         apt-get install -y golang-github-containers-common"
    );
    let o = cli(&["render", CONTAINERS_SECCOMP]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("unknown key"), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["defaultErrnoRet"], json!(38), "{v}");
    let o = cli(&[
        "run",
        "--no-cache",
        "--profile",
        CONTAINERS_SECCOMP,
        "--",
        "/bin/sh",
        "-c",
        "echo ran",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ran"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("unknown key"), "{}", stderr(&o));

    // A name that disagrees with its number is an error naming the entry.
    let t = TempDir::new("containers-common");
    let p = t.write(
        "mismatch.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM", "errnoRet": 22, "comment": ""}]}"#,
    );
    for cmd in ["check", "render"] {
        let o = cli(&[cmd, &p]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let text = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            text.contains("syscalls[0].errno") && text.contains("EPERM") && text.contains("22"),
            "{cmd}: {text}"
        );
    }
    let p = t.write(
        "default-mismatch.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EPERM", "defaultErrnoRet": 38, "archMap": []}"#,
    );
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("defaultErrno"), "{}", stdout(&o));
    // The name alone gives the number.
    let p = t.write(
        "name-only.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"}]}"#,
    );
    let o = cli(&["render", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["syscalls"][0]["errnoRet"], json!(13), "{v}");
}

/// Docker's own default profile (Debian `golang-github-docker-docker-dev`).
const DOCKER_DEFAULT: &str =
    "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";
/// Podman's and CRI-O's profile (Debian `golang-github-containers-common`).
const CONTAINERS_SECCOMP: &str = "/usr/share/containers/seccomp.json";

fn oci_seccomp_default_json() -> &'static str {
    include_str!("../../oci-seccomp/profiles/default.json")
}

/// Docker's current default profile (moby/profiles seccomp/v0.2.3), as kept in fixtures.
fn docker_current_json() -> &'static str {
    include_str!("../../../fixtures/moby/upstream/default-seccomp-v0.2.3.json")
}

/// `"Includes"` is moby's `includes` (Go reads keys in any case). The
/// rendered default profile plus an `unshare` ALLOW entry that only holders of
/// CAP_SYS_ADMIN get: read as plain OCI the condition would vanish and `unshare` would be
/// allowed; read as moby with Docker's default capabilities it is not. (`unshare -u`:
/// busybox's `-m` also calls mount, which the default profile refuses anyway.)
#[test]
fn run_reads_docker_keys_in_any_case() {
    need_root!();
    require_busybox();
    let t = TempDir::new("run-includes");
    let o = cli(&["render", "--default"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["syscalls"].as_array_mut().unwrap().push(json!(
        {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "Includes": {"caps": ["CAP_SYS_ADMIN"]}}));
    let p = t.write("includes.json", &v.to_string());
    let bb = busybox().unwrap().display().to_string();
    let o = cli(&[
        "run",
        "--no-cache",
        "--profile",
        &p,
        "--",
        &bb,
        "unshare",
        "-u",
        &bb,
        "echo",
        "unshared",
    ]);
    assert!(
        !stdout(&o).contains("unshared"),
        "unshare(CLONE_NEWUTS) was allowed: {}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("unshare"), "{}", stderr(&o));
}

// ---------------------------------------------------------------- features

#[test]
fn features_reports_the_host() {
    let o = cli(&["features", "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sc = &v["linux"]["seccomp"];
    assert!(sc["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("SCMP_ACT_NOTIFY")));
    assert!(sc["archs"]
        .as_array()
        .unwrap()
        .contains(&json!("SCMP_ARCH_X86_64")));
    let o = cli(&["features"]);
    assert!(stdout(&o).contains("supported actions"));
}

// ---------------------------------------------------------------- run

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run oci-seccomp")
}

#[test]
fn run_denies_with_errno() {
    need_root!();
    let t = TempDir::new("run-deny");
    let p = t.write("deny.json", DENY);
    let target = t.path("made");
    let script = format!("mkdir {target}; echo mkdir=$?");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("mkdir=1"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new(&target).exists());
    // The exit status passes through; the cache directory is used.
    let cache = t.path("cache");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--cache-dir",
        &cache,
        "--",
        "/bin/sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(std::fs::read_dir(&cache).unwrap().count() >= 1);
    // Without seccomp mkdir works.
    let o = cli(&["run", "--no-seccomp", "--", "/bin/mkdir", &target]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(Path::new(&target).is_dir());
}

#[test]
fn run_killed_by_kill_rule() {
    need_root!();
    require_busybox();
    let t = TempDir::new("run-kill");
    let p = t.write(
        "kill.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
    );
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "echo $PPID",
    ]);
    assert_eq!(o.status.code(), Some(128 + 31), "{}", stderr(&o));
    assert!(stderr(&o).contains("killed by SIGSYS"), "{}", stderr(&o));
}

#[test]
fn run_embedded_default_refuses_user_namespaces() {
    need_root!();
    let o = cli(&[
        "run",
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        "unshare --user true",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn run_renders_a_docker_profile() {
    need_root!();
    let t = TempDir::new("run-moby");
    let p = t.write(
        "moby.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    );
    let target = t.path("m");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--no-cache",
        "--",
        "/bin/mkdir",
        &target,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!Path::new(&target).exists());
}

#[test]
fn run_bad_inputs() {
    let t = TempDir::new("run-bad");
    let o = cli(&["run", "--no-seccomp", "--", "/nonexistent/cmd"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot execute"), "{}", stderr(&o));
    let o = cli(&["run", "--profile", &t.path("missing.json"), "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    let p = t.write("bad.json", "{\"defaultAction\": ");
    let o = cli(&["run", "--profile", &p, "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
    // NOTIFY without a listener path is refused (as runc does).
    let p = t.write(
        "notify.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    let o = cli(&["run", "--profile", &p, "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("listenerPath"), "{}", stderr(&o));
}

/// `errnoRet` on ALLOW (and `defaultErrnoRet` on a KILL default) is an
/// error naming the field, and nothing runs (runc ignores the field; crun and the runtime
/// spec fail).
#[test]
fn run_refuses_errno_ret_on_allow() {
    let t = TempDir::new("run-errno-allow");
    let marker = t.path("ran");
    let script = format!("touch {marker}");
    for (name, json, field) in [
        (
            "allow.json",
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 38}]}"#,
            "syscalls[0].errnoRet",
        ),
        (
            "kill.json",
            r#"{"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}"#,
            "defaultErrnoRet",
        ),
    ] {
        let p = t.write(name, json);
        let o = cli(&[
            "run",
            "--profile",
            &p,
            "--no-cache",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(field), "{name}: {}", stderr(&o));
        assert!(!Path::new(&marker).exists(), "{name}: the command ran");
        let o = cli(&["check", &p]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(stdout(&o).contains(field), "{name}: {}", stdout(&o));
    }
}

#[test]
fn run_listener_nobody_listens_fails_before_the_command() {
    let t = TempDir::new("run-nolistener");
    let p = t.write(
        "notify.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    let witness = t.path("ran");
    let sock = t.path("nobody.sock");
    let o = cli(&[
        "run",
        "--profile",
        &p,
        "--listener",
        &sock,
        "--",
        "/bin/touch",
        &witness,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("nobody.sock"), "{}", stderr(&o));
    assert!(!Path::new(&witness).exists(), "the command ran");
}

struct Agent {
    child: std::process::Child,
}

impl Agent {
    fn start(socket: &str, policy: Option<&str>, extra: &[&str]) -> Self {
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
    fn finish(mut self) -> Output {
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

#[test]
fn notify_and_supervise_emulate_mkdir() {
    need_root!();
    let t = TempDir::new("notify");
    let sock = t.path("agent.sock");
    let policy = t.write(
        "policy.json",
        r#"{"default": "continue", "syscalls": {"mkdir": "emulate-mkdir", "mkdirat": "emulate-mkdir", "rmdir": "errno:ENOMEDIUM"}}"#,
    );
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta",
                "syscalls": [{"names": ["mkdir", "mkdirat", "rmdir", "getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    // The target runs in the host's root: the agent acts for it only when told to.
    let agent = Agent::start(
        &sock,
        Some(&policy),
        &["--max-containers", "1", "--allow-host-root"],
    );
    // Relative path: created in the target's cwd. rmdir is refused by the policy;
    // getppid gets "continue" (the default).
    let o = run_in(
        &t.0,
        &[
            "run",
            "--profile",
            &p,
            "--no-cache",
            "--id",
            "ctr-1",
            "--",
            "/bin/sh",
            "-c",
            "mkdir made; echo mkdir=$?; rmdir made-meta; echo rmdir=$?",
        ],
    );
    let log = agent.finish();
    assert!(o.status.success(), "{}\n{}", stderr(&o), stderr(&log));
    let s = stdout(&o);
    assert!(s.contains("mkdir=0") && s.contains("rmdir=1"), "{s}");
    assert!(stderr(&o).contains("No medium found"), "{}", stderr(&o));
    assert!(t.0.join("made-meta").is_dir());
    assert!(!t.0.join("made").exists());
    let l = stdout(&log);
    assert!(
        l.contains("container=ctr-1") && l.contains("syscall=mkdir"),
        "{l}"
    );
    assert!(l.contains("errno ENOMEDIUM"), "{l}");
    assert!(log.status.success(), "agent: {}", stderr(&log));
}

#[test]
fn supervise_json_and_many_containers() {
    require_busybox();
    need_root!();
    let t = TempDir::new("notify-many");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let policy = t.write("policy.json", r#"{"default": "value:4242"}"#);
    let n = 8;
    let agent = Agent::start(
        &sock,
        Some(&policy),
        &["--json", "--max-containers", &n.to_string()],
    );
    let runs: Vec<_> = (0..n)
        .map(|_| {
            Command::new(BIN)
                .args([
                    "run",
                    "--profile",
                    &p,
                    "--no-cache",
                    "--",
                    "/bin/busybox",
                    "sh",
                    "-c",
                    "echo $PPID",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "4242");
    }
    let log = agent.finish();
    assert!(log.status.success(), "{}", stderr(&log));
    let lines: Vec<Value> = stdout(&log)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|v| v["syscall"] == json!("getppid"))
            .count(),
        n
    );
    assert_eq!(
        lines
            .iter()
            .filter(|v| v["event"] == json!("finished"))
            .count(),
        n
    );
}

#[test]
fn supervise_bad_inputs() {
    let t = TempDir::new("supervise-bad");
    let p = t.write("policy.json", r#"{"default": "allow-everything"}"#);
    let o = cli(&["supervise", "--socket", &t.path("s.sock"), "--policy", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("allow-everything"), "{}", stderr(&o));
    let o = cli(&["supervise", "--socket", "relative.sock"]);
    assert_eq!(o.status.code(), Some(1));
    let o = cli(&[
        "supervise",
        "--socket",
        &t.path("s.sock"),
        "--policy",
        &t.path("none.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn supervise_exits_cleanly_on_sigterm() {
    let t = TempDir::new("supervise-term");
    let sock = t.path("s.sock");
    let agent = Agent::start(&sock, None, &[]);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.child.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let o = agent.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!Path::new(&sock).exists(), "socket file left behind");
}

// ---------------------------------------------------------------- run --bundle

fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn make_bundle(dir: &Path, args: &[&str], namespaces: &[&str], seccomp: Value) {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "tmp", "proc", "dev"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(busybox().unwrap(), rootfs.join("bin/busybox")).unwrap();
    let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh"));
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_KILL"
    ]);
    let ns: Vec<Value> = namespaces.iter().map(|n| json!({"type": n})).collect();
    let config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/",
            "noNewPrivileges": true,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "bundled",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
        ],
        "linux": {"namespaces": ns, "seccomp": seccomp}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

const ALL_NS: &[&str] = &["pid", "ipc", "uts", "mount", "network"];

#[test]
fn run_bundle_sets_up_the_container() {
    need_root!();
    require_busybox();
    let t = TempDir::new("bundle");
    let bundle = t.0.join("b");
    make_bundle(
        &bundle,
        &[
            "/bin/sh", "-c",
            "busybox hostname; echo pid=$$; busybox grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; \
             busybox touch /x 2>/dev/null; echo root=$?; busybox touch /tmp/y; echo tmp=$?; \
             busybox mkdir /tmp/d; echo mkdir=$?",
        ],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
    );
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let b = bundle.display().to_string();
    let o = cli(&["run", "--bundle", &b, "--no-cache"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("bundled"), "{s}");
    assert!(s.contains("pid=1"), "{s}");
    assert!(
        s.contains("NoNewPrivs:\t1") && s.contains("Seccomp:\t2"),
        "{s}"
    );
    // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7.
    assert!(s.contains("CapEff:\t00000000000000eb"), "{s}");
    assert!(
        s.contains("root=1") && s.contains("tmp=0") && s.contains("mkdir=1"),
        "{s}"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name,
        "the host's name changed"
    );
    assert!(!bundle.join("rootfs/x").exists());

    // A command after -- replaces process.args; its status passes through.
    let o = cli(&[
        "run",
        "--bundle",
        &b,
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn run_bundle_refuses_what_it_cannot_do() {
    need_root!();
    require_busybox();
    let t = TempDir::new("bundle-bad");
    let seccomp = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let cases: &[(&[&str], &str)] = &[
        (&["pid", "mount", "uts", "user"], "user"),
        (&["pid", "uts", "cgroup", "mount"], "cgroup"),
        (&["pid", "uts"], "mount namespace"),
        (&["pid", "mount"], "UTS"),
    ];
    for (i, (ns, want)) in cases.iter().enumerate() {
        let bundle = t.0.join(format!("b{i}"));
        make_bundle(&bundle, &["/bin/sh", "-c", "echo ran"], ns, seccomp.clone());
        let o = cli(&["run", "--bundle", &bundle.display().to_string()]);
        assert_eq!(o.status.code(), Some(1), "{ns:?}: {}", stdout(&o));
        assert!(stderr(&o).contains(want), "{ns:?}: {}", stderr(&o));
        assert!(!stdout(&o).contains("ran"));
    }
    // A Docker profile in config.json is refused, not silently loosened.
    let bundle = t.0.join("docker");
    make_bundle(
        &bundle,
        &["/bin/true"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}}]}),
    );
    let o = cli(&["run", "--bundle", &bundle.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("includes"), "{}", stderr(&o));
    // Missing bundle.
    let o = cli(&["run", "--bundle", &t.path("nope")]);
    assert_eq!(o.status.code(), Some(1));
}

/// NOTIFY in a container with its own pid namespace: the init is pid 1 there, so the
/// runtime takes the notify fd by the pid fork gave it, and the agent emulates mkdir
/// inside the container's root and mounts.
#[test]
fn run_bundle_notify_with_pid_namespace() {
    need_root!();
    require_busybox();
    let t = TempDir::new("bundle-notify");
    let sock = t.path("agent.sock");
    let policy = t.write(
        "policy.json",
        r#"{"syscalls": {"mkdir": "emulate-mkdir", "mkdirat": "emulate-mkdir"}}"#,
    );
    let bundle = t.0.join("b");
    make_bundle(
        &bundle,
        &[
            "/bin/sh",
            "-c",
            "echo pid=$$; busybox mkdir /tmp/made; echo mkdir=$?; busybox ls /tmp",
        ],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let agent = Agent::start(&sock, Some(&policy), &["--max-containers", "1"]);
    let o = cli(&[
        "run",
        "--bundle",
        &bundle.display().to_string(),
        "--no-cache",
    ]);
    let log = agent.finish();
    assert!(o.status.success(), "{}\n{}", stderr(&o), stderr(&log));
    let s = stdout(&o);
    assert!(
        s.contains("pid=1") && s.contains("mkdir=0") && s.contains("made-meta"),
        "{s}"
    );
    assert!(
        !bundle.join("rootfs/tmp/made-meta").exists(),
        "created outside the container's /tmp"
    );
    assert!(stdout(&log).contains("syscall=mkdir"), "{}", stdout(&log));
}

/// Fails (never skips) when busybox is missing: these tests prove the launcher's
/// containment and must not pass without running.
fn require_busybox() {
    assert!(
        busybox().is_some(),
        "busybox is required for this test: install it with ./scripts/setup (as root), or: \
         apt-get install -y busybox-static"
    );
}

/// The container init gets a new session (as runc and crun), so its
/// `kill(0, sig)` cannot reach the shell that started the runtime.
#[test]
fn run_gives_the_container_a_new_session() {
    need_root!();
    require_busybox();
    let t = TempDir::new("session");
    let bundle = t.0.join("b");
    let script = "read -r l < /proc/self/stat; set -- $l; echo pid=$1 sid=$6";
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", script],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("pid=1 sid=1"), "{}", stdout(&o));
    // Without a bundle: the command leads its own session.
    let o = cli(&[
        "run",
        "--no-seccomp",
        "--",
        "/bin/sh",
        "-c",
        "read -r l < /proc/self/stat; set -- $l; [ \"$1\" = \"$6\" ] && echo own-session",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("own-session"), "{}", stdout(&o));
    // The workload signalling its process group kills only itself: the runtime (started
    // in a process group of its own, so that the old behaviour cannot hit this test)
    // survives and reports it.
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let o = Command::new(BIN)
        .args([
            "run",
            "--no-seccomp",
            "--",
            "/bin/sh",
            "-c",
            "kill -USR1 0; echo survived",
        ])
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(
        o.status.signal(),
        None,
        "the runtime was killed by its workload"
    );
    assert_eq!(o.status.code(), Some(138), "{}", stderr(&o));
    assert!(stderr(&o).contains("killed by SIGUSR1"), "{}", stderr(&o));
}

/// A profile that fakes (`ERRNO(0)`) or refuses the calls that change
/// identity never leaves the workload more privileged than process.user and
/// process.capabilities say: the filter is installed before the identity changes here (no
/// noNewPrivileges), and the launcher reads everything back before exec.
#[test]
fn run_bundle_identity_check_never_needs_calls_the_profile_denies() {
    need_root!();
    require_busybox();
    let t = TempDir::new("creds-readers");
    let bundle = t.0.join("b");
    // With no-new-privileges the identity is read back before the filter is installed:
    // a profile that refuses the reading calls still runs.
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", "echo ran"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getresuid", "getresgid", "getgroups", "capget"],
                             "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
    );
    let b = bundle.display().to_string();
    let o = cli(&["run", "--no-cache", "--bundle", &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ran"));
    // Without it the filter comes first; when it can fake setresuid and refuses
    // getresuid, the identity cannot be checked: refused before anything runs.
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", "echo ran"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["setresuid", "getresuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}),
    );
    let cfg = bundle.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    v["process"]["noNewPrivileges"] = json!(false);
    v["process"]["user"] = json!({"uid": 4242, "gid": 4242});
    std::fs::write(&cfg, v.to_string()).unwrap();
    let o = cli(&["run", "--no-cache", "--bundle", &b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stdout(&o).contains("ran"));
    let e = stderr(&o);
    assert!(
        e.contains("noNewPrivileges") && e.contains("getresuid"),
        "{e}"
    );
}

#[test]
fn run_bundle_verifies_credentials_before_exec() {
    need_root!();
    require_busybox();
    let t = TempDir::new("creds");
    let bundle = t.0.join("b");
    let script = "busybox grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status; echo nofile=$(ulimit -n); echo ran";
    let cases: &[(&[&str], u32)] = &[
        (&["setresuid"], 0),
        (&["setresuid"], 22),
        (&["setresuid", "getresuid"], 0),
        (&["setresgid"], 0),
        (&["setgroups"], 0),
        (&["capset"], 0),
        (&["capset", "capget"], 0),
        (&["prctl"], 0),
        (&["prctl"], 22),
        (&["setrlimit", "prlimit64"], 0),
    ];
    // Each case with and without ambient capabilities (without them, a faked capset is
    // only caught by reading the sets back).
    let cases = cases.iter().flat_map(|c| [(c, true), (c, false)]);
    for ((names, errno), ambient) in cases {
        make_bundle(
            &bundle,
            &["/bin/sh", "-c", script],
            ALL_NS,
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]}),
        );
        let cfg = bundle.join("config.json");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
        v["process"]["noNewPrivileges"] = json!(false);
        v["process"]["user"] = json!({"uid": 4242, "gid": 4242, "additionalGids": [4243]});
        let amb = if ambient {
            json!(["CAP_KILL"])
        } else {
            json!([])
        };
        v["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_KILL"],
            "ambient": amb
        });
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 64, "hard": 64}]);
        std::fs::write(&cfg, v.to_string()).unwrap();
        let o = cli(&[
            "run",
            "--no-cache",
            "--bundle",
            &bundle.display().to_string(),
        ]);
        let (out, err) = (stdout(&o), stderr(&o));
        eprintln!(
            "{names:?} errno {errno} ambient {ambient}: exit {:?} {}",
            o.status.code(),
            err.trim()
        );
        if o.status.success() {
            // Ran: then exactly as planned (after exec only the ambient CAP_KILL remains).
            let after_exec = if ambient { "20" } else { "00" };
            for want in [
                "Uid:\t4242\t4242\t4242\t4242".to_string(),
                "Gid:\t4242\t4242\t4242\t4242".to_string(),
                "Groups:\t4243".to_string(),
                "CapInh:\t0000000000000020".to_string(),
                format!("CapPrm:\t00000000000000{after_exec}"),
                format!("CapEff:\t00000000000000{after_exec}"),
                "CapBnd:\t0000000000000021".to_string(),
                format!("CapAmb:\t00000000000000{after_exec}"),
                "nofile=64".to_string(),
            ] {
                assert!(
                    out.contains(want.as_str()),
                    "{names:?} errno {errno} ambient {ambient}: lacks {want:?}:\n{out}"
                );
            }
        } else {
            assert_eq!(o.status.code(), Some(1), "{names:?}: {err}");
            assert!(
                !out.contains("ran"),
                "{names:?} errno {errno}: the workload ran:\n{out}"
            );
            // Refused with the step that failed (or the mismatch found before exec).
            assert!(
                err.starts_with("oci-seccomp: error: "),
                "{names:?} errno {errno}: {err}"
            );
        }
    }
}

fn edit_config(bundle: &Path, f: impl FnOnce(&mut Value)) {
    let cfg = bundle.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&cfg, v.to_string()).unwrap();
}

/// A block device of this host, "MAJOR:MINOR" (any one: the container must not be able to
/// open it at all).
fn host_block_device() -> String {
    let mut all: Vec<String> = std::fs::read_dir("/sys/dev/block")
        .expect("/sys/dev/block")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    // Prefer a real disk over loop devices (major 7).
    all.iter()
        .find(|d| !d.starts_with("7:"))
        .or(all.first())
        .cloned()
        .expect("this host has no block device to test with")
}

/// A container with CAP_MKNOD (a default capability) makes a node for a
/// host block device and cannot open it (everything but the default devices is nodev);
/// the default devices work; linux.devices is refused, not ignored.
#[test]
fn run_bundle_device_nodes_are_unusable() {
    need_root!();
    require_busybox();
    let t = TempDir::new("devices");
    let bundle = t.0.join("b");
    let dev = host_block_device();
    let (maj, min) = dev.split_once(':').unwrap();
    let script = format!(
        "busybox mknod /blk b {maj} {min}; echo mknod=$?; \
         busybox dd if=/blk of=/dev/null bs=512 count=1 2>/dev/null; echo rootfs=$?; \
         busybox mknod /dev/blk b {maj} {min}; busybox dd if=/dev/blk of=/dev/null bs=512 count=1 2>/dev/null; echo dev=$?; \
         busybox mknod /tmp/blk b {maj} {min}; busybox dd if=/tmp/blk of=/dev/null bs=512 count=1 2>/dev/null; echo tmp=$?; \
         echo x > /dev/null; echo null=$?; echo zero=$(busybox head -c 4 /dev/zero | busybox wc -c); \
         echo urandom=$(busybox head -c 4 /dev/urandom | busybox wc -c)"
    );
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", &script],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    edit_config(&bundle, |v| {
        v["root"]["readonly"] = json!(false);
        let caps = json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE", "CAP_CHOWN"]);
        v["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
        // No nodev asked for on /tmp: the launcher adds it.
        v["mounts"][1]["options"] = json!(["nosuid"]);
    });
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}\n{out}", stderr(&o));
    assert!(
        out.contains("mknod=0"),
        "the test needs mknod to work: {out}"
    );
    for place in ["rootfs", "dev", "tmp"] {
        assert!(
            !out.contains(&format!("{place}=0")),
            "a host block device was readable through a node in {place}: {out}"
        );
    }
    for want in ["null=0", "zero=4", "urandom=4"] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(
        !bundle.join("rootfs/dev/null").exists(),
        "created in the rootfs's /dev"
    );

    edit_config(&bundle, |v| {
        v["linux"]["devices"] = json!([{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}]);
    });
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("linux.devices[0] (/dev/sda)"),
        "{}",
        stderr(&o)
    );
}

/// MaskedPaths and readonlyPaths are applied as runc does, not ignored:
/// the container's root cannot write the host's kernel.core_pattern through /proc/sys.
#[test]
fn run_bundle_masks_and_protects_paths() {
    need_root!();
    require_busybox();
    let t = TempDir::new("masked");
    let bundle = t.0.join("b");
    let script = "cat /proc/sys/kernel/core_pattern > /tmp/cp; \
        (cat /tmp/cp > /proc/sys/kernel/core_pattern) 2>/dev/null; echo core_pattern=$?; \
        echo secretdir=$(busybox ls /secret | busybox wc -l); \
        echo secretfile=$(busybox wc -c < /etc/secret); \
        (echo x > /etc/secret) 2>/dev/null; echo write_secret=$?; \
        (echo x > /data/f) 2>/dev/null; echo write_ro=$?";
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", script],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(rootfs.join("secret")).unwrap();
    std::fs::write(rootfs.join("secret/key"), "k").unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/secret"), "top secret").unwrap();
    std::fs::create_dir_all(rootfs.join("data")).unwrap();
    edit_config(&bundle, |v| {
        v["root"]["readonly"] = json!(false);
        v["linux"]["maskedPaths"] = json!(["/secret", "/etc/secret", "/does/not/exist"]);
        v["linux"]["readonlyPaths"] = json!(["/proc/sys", "/data", "/nope"]);
    });
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    let out = stdout(&o);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before
    );
    assert!(o.status.success(), "{}\n{out}", stderr(&o));
    for want in [
        "secretdir=0",
        "secretfile=0",
        "write_secret=0",
        "write_ro=1",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(
        !out.contains("core_pattern=0"),
        "the container wrote the host's kernel.core_pattern: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/secret")).unwrap(),
        "top secret"
    );
    assert!(!rootfs.join("data/f").exists());

    edit_config(&bundle, |v| {
        v["linux"]["maskedPaths"] = json!(["relative/path"])
    });
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("linux.maskedPaths[0] \"relative/path\": must be an absolute path"),
        "{}",
        stderr(&o)
    );
}

/// Runs `oci-seccomp ARGS`, killing it after `limit`.
fn cli_with_timeout(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("oci-seccomp {args:?} hung: {}", stderr(&o));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The CVE-2021-30465 class: uid 4242 owns the rootfs and keeps swapping
/// a mount destination's directory for a symlink to a host directory while root runs
/// `run --bundle` with a file bind mount there. The root-owned host file is never
/// changed (created, truncated or mounted over), and every run ends.
#[test]
fn run_bundle_mount_destination_race_never_reaches_the_host() {
    need_root!();
    require_busybox();
    let t = TempDir::new("mountrace");
    let bundle = t.0.join("b");
    make_bundle(
        &bundle,
        &["/bin/busybox", "true"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    let host = t.0.join("host");
    std::fs::create_dir_all(&host).unwrap();
    let victim = host.join("target");
    std::fs::write(&victim, "precious").unwrap();
    let source = t.0.join("source");
    std::fs::write(&source, "from the bundle").unwrap();
    edit_config(&bundle, |v| {
        v["root"]["readonly"] = json!(false);
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/etc/target", "type": "bind", "source": source, "options": ["bind", "ro"]}));
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/var/target", "type": "tmpfs", "source": "tmpfs"}));
    });
    let rootfs = bundle.join("rootfs");
    for d in ["etc", "var"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
        std::os::unix::fs::symlink(&host, rootfs.join(format!("{d}.link"))).unwrap();
    }
    // The attacker owns the rootfs (and nothing else).
    let chown = |p: &Path| std::os::unix::fs::lchown(p, Some(4242), Some(4242)).unwrap();
    chown(&rootfs);
    for d in ["etc", "var", "etc.link", "var.link"] {
        chown(&rootfs.join(d));
    }
    let stop = t.0.join("stop");
    let c = |p: PathBuf| std::ffi::CString::new(p.into_os_string().into_encoded_bytes()).unwrap();
    let (etc, etc_link, var, var_link) = (
        c(rootfs.join("etc")),
        c(rootfs.join("etc.link")),
        c(rootfs.join("var")),
        c(rootfs.join("var.link")),
    );
    let (etc_file, var_dir) = (c(rootfs.join("etc/target")), c(rootfs.join("var/target")));
    let stop_c = c(stop.clone());
    // SAFETY: the test process may be multi-threaded; the child only makes raw,
    // async-signal-safe syscalls (no allocation: every path is prepared before the fork)
    // and leaves with _exit.
    let attacker = match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            // SAFETY: raw syscalls with valid C strings; _exit never returns.
            unsafe {
                // Dies with the test thread that forked it, even if it panics.
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::setresgid(4242, 4242, 4242) != 0
                    || libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresuid(4242, 4242, 4242) != 0
                {
                    libc::_exit(3);
                }
                loop {
                    if libc::access(stop_c.as_ptr(), libc::F_OK) == 0 {
                        libc::_exit(0);
                    }
                    for _ in 0..200 {
                        libc::unlink(etc_file.as_ptr());
                        libc::rmdir(var_dir.as_ptr());
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            etc.as_ptr(),
                            libc::AT_FDCWD,
                            etc_link.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        );
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            var.as_ptr(),
                            libc::AT_FDCWD,
                            var_link.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        );
                    }
                }
            }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    /// Kills the attacker if an assertion below fails.
    struct Reap(nix::unistd::Pid);
    impl Drop for Reap {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = nix::sys::signal::kill(self.0, nix::sys::signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(self.0, None);
            }
        }
    }
    let _reap = Reap(attacker);
    let b = bundle.display().to_string();
    let mut results = Vec::new();
    for _ in 0..20 {
        let o = cli_with_timeout(
            &["run", "--no-cache", "--bundle", &b],
            Duration::from_secs(20),
        );
        results.push((o.status.code(), stderr(&o)));
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious",
            "the host file was changed: {results:?}"
        );
        assert_eq!(
            std::fs::read_dir(&host).unwrap().count(),
            1,
            "something was created in the host directory: {results:?}"
        );
    }
    std::fs::write(&stop, "").unwrap();
    let st = nix::sys::wait::waitpid(attacker, None).unwrap();
    assert_eq!(
        st,
        nix::sys::wait::WaitStatus::Exited(attacker, 0),
        "the attacker could not run as uid 4242"
    );
    eprintln!("{results:?}");
    for (code, err) in &results {
        assert!(matches!(code, Some(0) | Some(1)), "{code:?}: {err}");
        if *code == Some(1) {
            // A refusal names the destination it was setting up.
            assert!(
                err.contains("/etc/target") || err.contains("/var/target"),
                "{err}"
            );
        }
    }
}

// ---------------------------------------------------------------- demo

#[test]
fn demo_runs() {
    need_root!();
    let o = cli(&["demo"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let s = stdout(&o);
    for h in ["== 1.", "== 2.", "== 3.", "== 4."] {
        assert!(s.contains(h), "{s}");
    }
    assert!(!s.contains("FAIL"), "{s}");
}

/// The demo needs no privilege: run as uid 4242 (no capabilities; from a copy of the
/// binary that uid can reach), every step behaves. `run` sets no-new-privileges itself,
/// and the supervisor is the user's own, its socket in a directory of the user's own.
#[test]
fn the_demo_runs_as_an_unprivileged_user() {
    assert!(
        is_root(),
        "this test becomes uid 4242: run the tests as root"
    );
    let o = common::oci_seccomp(&["demo"], None, Some(4242));
    let s = stdout(&o);
    assert!(o.status.success(), "{s}\n{}", stderr(&o));
    for h in ["== 1.", "== 2.", "== 3.", "== 4."] {
        assert!(s.contains(h), "{s}");
    }
    assert!(!s.contains("FAIL"), "{s}");
    assert!(s.contains("setting no-new-privileges"), "{s}");
}

/// Every config in `fixtures/bad/bundle/` fails `run --bundle`
/// with exit 1 and its expected text, before the workload runs.
#[test]
fn every_bad_bundle_is_refused_before_the_workload() {
    need_root!();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bad/bundle");
    let t = TempDir::new("bad-bundles");
    let mut n = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let bundle = t.0.join(&name);
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        std::fs::copy(&f, bundle.join("config.json")).unwrap();
        let o = cli(&[
            "run",
            "--no-cache",
            "--bundle",
            &bundle.display().to_string(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(!stdout(&o).contains("ran"), "{name}: the workload ran");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{name}: not one line: {err}");
        let expect = std::fs::read_to_string(f.with_extension("expect")).unwrap();
        for line in expect.lines().filter(|l| !l.is_empty()) {
            assert!(err.contains(line), "{name}: {err:?} lacks {line:?}");
        }
        n += 1;
    }
    assert!(n >= 8, "only {n} bad bundles");
}

/// The workload started by `run` holds no notify fd, no handoff or listener socket and no
/// cache file: only what it inherited on purpose (stdio).
#[test]
fn run_leaks_no_fd_into_the_workload() {
    need_root!();
    let t = TempDir::new("fdleak");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let agent = Agent::start(&sock, None, &["--max-containers", "1"]);
    let cache = t.path("cache");
    let o = run_in(
        &t.0,
        &[
            "run",
            "--profile",
            &p,
            "--cache-dir",
            &cache,
            "--",
            "/bin/ls",
            "-l",
            "/proc/self/fd",
        ],
    );
    let _ = agent.finish();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    let fds: Vec<&str> = s.lines().filter(|l| l.contains(" -> ")).collect();
    for l in &fds {
        assert!(
            !l.contains("seccomp") && !l.contains("socket:") && !l.contains("cache"),
            "leaked: {l}\n{s}"
        );
    }
    // 0, 1, 2 and the directory ls itself opened.
    assert!(fds.len() <= 4, "{s}");
}

// ---------------------------------------------------------------- trust

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

/// Waits until an abstract socket `@name` is listening (as /proc/net/unix shows).
fn wait_abstract(name: &str) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let table = std::fs::read_to_string("/proc/net/unix").unwrap();
        if table.lines().any(|l| l.ends_with(&format!(" {name}"))) {
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

/// A filter for an s390x host, built here; syscall 0 is the stub's.
#[test]
fn compile_and_explain_for_a_big_endian_target() {
    let t = TempDir::new("s390x");
    let p = t.write(
        "s390x.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_S390X"],"syscalls":[
            {"names":["getppid","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["compile", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--arch s390x"), "{}", stderr(&o));
    let o = cli(&["compile", &p, "--arch", "s390x", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ks: Vec<u64> = v["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["k"].as_u64().unwrap())
        .collect();
    // AUDIT_ARCH_S390X is checked, this host's AUDIT_ARCH_X86_64 is not.
    assert!(ks.contains(&0x8000_0016), "{ks:x?}");
    assert!(!ks.contains(&0xc000_003e), "{ks:x?}");
    let o = cli(&["explain", &p, "0", "--arch", "s390x"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ENOSYS") && stdout(&o).contains("stub"),
        "{}",
        stdout(&o)
    );
    // Raw bytes in the target's byte order: `ld [4]` is 00 20 .. 00 00 00 04 on s390x.
    let raw = t.path("s390x.raw");
    let o = cli(&[
        "compile", &p, "--arch", "s390x", "--format", "raw", "-o", &raw,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bytes = std::fs::read(&raw).unwrap();
    assert_eq!(&bytes[..8], &[0x00, 0x20, 0, 0, 0, 0, 0, 4], "{bytes:x?}");
    let o = cli(&["compile", &p, "--arch", "s390x", "--backend", "libseccomp"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("byte order"), "{}", stderr(&o));
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
    assert_eq!(wait_code(attacker), 0, "the attacker could not connect");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let _ = agent.wait();
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

/// The report options say what they need rather than being ignored.
#[test]
fn report_options_without_trace_are_usage_errors() {
    for extra in [
        &["--report", "r.jsonl"][..],
        &["--report-max-bytes", "5000"][..],
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "/bin/true"]);
        let o = cli(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("needs --trace or --complain"),
            "{}",
            stderr(&o)
        );
    }
}

/// A workload that loops on a notified call cannot make the agent write a line per call:
/// identical events are counted after the first few, and the counts reach the log.
#[test]
fn supervise_counts_a_workload_looping_on_a_notified_call() {
    require_busybox();
    need_root!();
    let t = TempDir::new("notify-loop");
    let sock = t.path("agent.sock");
    let p = t.write(
        "notify.json",
        &json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        .to_string(),
    );
    let policy = t.write("policy.json", r#"{"default": "value:7"}"#);
    for json_mode in [false, true] {
        let mut extra = vec!["--max-containers", "1"];
        if json_mode {
            extra.push("--json");
        }
        let agent = Agent::start(&sock, Some(&policy), &extra);
        // 3000 getppid calls: busybox's shell reads $PPID once, so loop on a fresh shell.
        let o = run_in(
            &t.0,
            &[
                "run",
                "--profile",
                &p,
                "--no-cache",
                "--",
                "/bin/busybox",
                "sh",
                "-c",
                "i=0; while [ $i -lt 3000 ]; do /bin/busybox sh -c 'echo $PPID' >/dev/null; i=$((i+1)); done; echo done",
            ],
        );
        let log = agent.finish();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(log.status.success(), "{}", stderr(&log));
        let l = stdout(&log);
        let lines = l.lines().count();
        // 8 lines, a count at 16, 32, ..., 2048, the final count, not-written, finished.
        assert!(lines < 40, "{lines} lines:\n{l}");
        if json_mode {
            let v: Vec<Value> = l
                .lines()
                .map(|x| serde_json::from_str(x).unwrap())
                .collect();
            // Every call counted (the outer shell reads $PPID once too).
            let counted = v.iter().filter_map(|x| x["repeated"].as_u64()).max();
            assert!(counted.is_some_and(|c| c >= 3000), "{l}");
            assert!(v.iter().any(|x| x["event"] == json!("not-written")), "{l}");
        } else {
            let counted = l
                .lines()
                .filter_map(|x| {
                    x.split(" times so far")
                        .next()?
                        .rsplit(' ')
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .max();
            assert!(counted.is_some_and(|c| c >= 3000), "{l}");
            assert!(l.contains("event line(s) not written"), "{l}");
        }
    }
}

/// An input that never ends is refused after the most a profile may take.
#[test]
fn an_endless_input_is_refused_after_the_size_limit() {
    for cmd in ["check", "compile", "render"] {
        let o = cli(&[cmd, "/dev/zero"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("larger than"), "{cmd}: {}", stderr(&o));
    }
}

/// Output to a character device (`/dev/null`) is written as asked; what another user could
/// plant (a FIFO, a symbolic link) is still refused.
#[test]
fn output_to_dev_null_works_and_planted_files_are_still_refused() {
    let o = cli(&["compile", "--default", "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&["compile", "--default", "--format", "raw", "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = TempDir::new("output-kinds");
    let fifo = t.path("fifo");
    nix::unistd::mkfifo(
        fifo.as_str(),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let o = cli(&["compile", "--default", "-o", &fifo]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("FIFO"), "{}", stderr(&o));
    let link = t.path("link");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let o = cli(&["compile", "--default", "-o", &link]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
}

/// An OCI profile whose entries carry `comment` is what runc and crun run (they ignore
/// the key): compile, explain and check read it as OCI. Docker's keys that change what an
/// entry means (`includes`, `name`) stay refused where an OCI profile is required.
#[test]
fn an_entry_comment_is_accepted_and_dockers_meaningful_keys_are_not() {
    let t = TempDir::new("entry-comment");
    let p = t.write(
        "commented.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
             {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
              "comment": "why getppid is refused"}]}"#,
    );
    let o = cli(&["compile", &p, "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&["explain", &p, "getppid"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("EIO, 5"), "{}", stdout(&o));
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        !stdout(&o).contains("unknown-key") && !stdout(&o).contains("docker-rendered"),
        "{}",
        stdout(&o)
    );
    for key in [
        r#""includes": {"caps": ["CAP_SYS_ADMIN"]}"#,
        r#""name": "getppid""#,
    ] {
        let q = t.write(
            "docker-key.json",
            &format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                     {{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", {key}}}]}}"#
            ),
        );
        let o = cli(&["compile", &q, "-o", "/dev/null"]);
        assert_eq!(o.status.code(), Some(1), "{key}: {}", stderr(&o));
    }
}

/// `explain` reads a Docker profile as `check` and `run` do: rendered for this host.
#[cfg(target_arch = "x86_64")]
#[test]
fn explain_renders_a_docker_profile_for_this_host() {
    let t = TempDir::new("explain-docker");
    let p = t.write(
        "moby.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "syscalls": [
              {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    );
    let o = cli(&["explain", &p, "getppid"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("SCMP_ACT_ALLOW"), "{}", stdout(&o));
    // Docker's default capabilities have no CAP_SYS_ADMIN: the entry is not rendered.
    let o = cli(&["explain", &p, "unshare"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("SCMP_ACT_ERRNO"), "{}", stdout(&o));
}

/// `check` prints each finding once: not also as a log line from the compile that
/// `--runtime` makes.
#[test]
fn check_prints_each_finding_once() {
    let t = TempDir::new("check-once");
    let p = t.write(
        "p.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
             {"names": ["nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    for extra in [&[][..], &["--runtime", "crun"][..]] {
        let mut args = vec!["check", p.as_str()];
        args.extend_from_slice(extra);
        let o = cli(&args);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(all.matches("nosuchcall").count(), 1, "{extra:?}: {all}");
    }
}

/// `-o -` is standard output for every command that writes a file, not a file named `-`.
#[test]
fn a_dash_output_is_standard_output() {
    let t = TempDir::new("dash-output");
    let p = t.write("p.json", r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oci-seccomp"))
        .args(["compile", &p, "-o", "-", "--format", "hex"])
        .current_dir(t.path(""))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!o.stdout.is_empty());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oci-seccomp"))
        .args(["render", "--default", "-o", "-"])
        .current_dir(t.path(""))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("defaultAction"));
    assert!(
        !std::path::Path::new(&t.path("-")).exists(),
        "a file named - was written"
    );
}
