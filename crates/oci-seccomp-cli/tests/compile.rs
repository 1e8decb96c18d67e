//! `compile`: every output format, --arch and the target host, bad inputs.

mod common;

use std::process::{Command, Output, Stdio};

use common::{cli, stderr, stdout, TempDir, BIN, DENY, MOBY};
use serde_json::{json, Value};

#[test]
fn compile_writes_hex_json_raw_program_and_pfc() {
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
fn compile_refuses_bad_inputs() {
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
