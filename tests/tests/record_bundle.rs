//! `record --bundle` learns inside the container (namespaces,
//! read-only root, mounts), starting where the real filter goes, so the launcher's own
//! set-up is not in the profile; the bundle then runs under the learned profile with
//! `--trace` and zero denials. Needs root (namespaces) and busybox-static.
#![cfg(target_arch = "x86_64")]

use std::process::Command;

use oci_seccomp_tests::bundle::{cli, make_bundle};
use serde_json::Value;

#[test]
fn record_a_bundle_then_trace_it_with_zero_denials() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "record --bundle makes namespaces: run the tests as root (./scripts/setup && just test)"
    );
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    // The probe binary is not used here: the command replaces process.args.
    let dummy = work.join("dummy");
    std::fs::write(&dummy, b"").unwrap();
    let plain = work.join("plain");
    make_bundle(&plain, &dummy, &Value::Null);
    // No linux.seccomp at all: record learns from nothing.
    let config = plain.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    v["linux"].as_object_mut().unwrap().remove("seccomp");
    std::fs::write(&config, v.to_string()).unwrap();
    let cmd = [
        "/bin/busybox",
        "sh",
        "-c",
        "echo hi; ls / | wc -l; cat /proc/self/status | head -1",
    ];
    let profile = work.join("learned.json");
    let rec = Command::new(cli())
        .args(["record", "--bundle"])
        .arg(&plain)
        .arg("-o")
        .arg(&profile)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    let rec_err = String::from_utf8_lossy(&rec.stderr);
    assert_eq!(rec.status.code(), Some(0), "{rec_err}");
    let learned: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    // The launcher's steps before the filter (mount, pivot_root, setresuid...) are not in it.
    let names: Vec<&str> = learned["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["names"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for setup in [
        "mount",
        "pivot_root",
        "sethostname",
        "unshare",
        "setresuid",
        "capset",
    ] {
        assert!(
            !names.contains(&setup),
            "{setup} is the launcher's, not the workload's"
        );
    }
    let traced = work.join("traced");
    make_bundle(&traced, &dummy, &learned);
    let report = work.join("report.jsonl");
    let run = Command::new(cli())
        .args(["run", "--no-cache", "--trace", "--bundle"])
        .arg(&traced)
        .arg("--report")
        .arg(&report)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    let events = std::fs::read_to_string(&report).unwrap_or_default();
    assert_eq!(events, "", "denials under the learned profile");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.stdout, rec.stdout);
}
