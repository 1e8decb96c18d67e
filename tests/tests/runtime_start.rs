//! A profile recorded by `oci-seccomp record` starts its workload under runc and crun
//! themselves, and under our launcher, with and without no-new-privileges: each runtime
//! makes calls of its own after installing the filter (runc 1.1.5 checks
//! `/proc/self/fd` with `fstatfs`), which the recorder never sees and adds for the
//! runtimes asked for. A profile recorded for our launcher alone does not start under
//! runc, and `check --runtime runc` says why. Needs root, runc, crun and busybox-static.
#![cfg(target_arch = "x86_64")]

use std::path::Path;
use std::process::{Command, Output};

use oci_seccomp_tests::bundle::{cli, make_bundle, missing_tools, start_bundle, which};
use serde_json::{json, Value};

fn require() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "runc, crun and record --bundle need root: run the tests as root (./scripts/setup && just test)"
    );
    if let Some(m) = missing_tools() {
        panic!("{m}");
    }
}

const WORKLOAD: &[&str] = &["/bin/busybox", "sh", "-c", "echo hi; ls / | wc -l; id"];

/// A busybox bundle at `dir` running [`WORKLOAD`] as `user` with `nnp`, under `seccomp`
/// (`Value::Null`: no `linux.seccomp`).
fn bundle(dir: &Path, nnp: bool, user: &Value, seccomp: &Value) {
    // make_bundle wants a probe binary to copy: the workload is busybox, so any file.
    std::fs::create_dir_all(dir).unwrap();
    let dummy = dir.join("dummy");
    std::fs::write(&dummy, b"").unwrap();
    make_bundle(dir, &dummy, &Value::Null);
    let config = dir.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    v["process"]["args"] = json!(WORKLOAD);
    v["process"]["noNewPrivileges"] = json!(nnp);
    v["process"]["user"] = user.clone();
    let linux = v["linux"].as_object_mut().unwrap();
    if seccomp.is_null() {
        linux.remove("seccomp");
    } else {
        linux.insert("seccomp".into(), seccomp.clone());
    }
    std::fs::write(&config, v.to_string()).unwrap();
}

fn record(work: &Path, bundle_dir: &Path, extra: &[&str]) -> (Value, Output) {
    let out_path = work.join(format!(
        "learned-{}.json",
        bundle_dir.file_name().unwrap().to_string_lossy()
    ));
    let out = Command::new(cli())
        .args(["record", "--bundle"])
        .arg(bundle_dir)
        .arg("-o")
        .arg(&out_path)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "record: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut learned: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    // `$comment` is ours; runc and crun ignore unknown keys, but keep the bundle plain.
    learned.as_object_mut().unwrap().remove("$comment");
    (learned, out)
}

/// Runs `dir` with `runtime` ("runc", "crun" or "oci-seccomp").
fn start(runtime: &str, dir: &Path, state: &Path, id: &str) -> Output {
    start_bundle(runtime, dir, state, id)
}

fn users() -> [(&'static str, Value); 2] {
    [
        ("root", json!({"uid": 0, "gid": 0})),
        (
            "user",
            json!({"uid": 1000, "gid": 1000, "additionalGids": [1001, 1002]}),
        ),
    ]
}

#[test]
fn a_recorded_profile_starts_under_runc_crun_and_ours() {
    require();
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    let state = work.join("state");
    for nnp in [true, false] {
        for (who, user) in users() {
            let name = format!("{who}-nnp-{nnp}");
            let plain = work.join(format!("plain-{name}"));
            bundle(&plain, nnp, &user, &Value::Null);
            let (learned, rec) = record(work, &plain, &[]);
            let expected = String::from_utf8_lossy(&rec.stdout).into_owned();
            assert!(expected.starts_with("hi\n"), "{name}: {expected}");
            let confined = work.join(format!("confined-{name}"));
            bundle(&confined, nnp, &user, &learned);
            for runtime in ["runc", "crun", "oci-seccomp"] {
                let out = start(runtime, &confined, &state, &format!("rs-{name}-{runtime}"));
                assert_eq!(
                    (out.status.code(), String::from_utf8_lossy(&out.stdout)),
                    (Some(0), expected.clone().into()),
                    "{runtime}, {name}: {}\nprofile: {learned}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
fn a_profile_recorded_for_our_launcher_alone_does_not_start_under_runc_and_check_says_why() {
    require();
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    let state = work.join("state");
    let root = json!({"uid": 0, "gid": 0});
    let plain = work.join("plain");
    bundle(&plain, true, &root, &Value::Null);
    let (learned, _) = record(work, &plain, &["--runtime", "oci-seccomp"]);
    let confined = work.join("confined");
    bundle(&confined, true, &root, &learned);
    // Ours starts it; runc does not: its own calls after the install are denied.
    let ours = start("oci-seccomp", &confined, &state, "rs-ours");
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let runc = start("runc", &confined, &state, "rs-runc-alone");
    assert_ne!(
        runc.status.code(),
        Some(0),
        "runc started a workload under a profile without its own calls: the runtime list is \
         not needed any more?\n{}",
        String::from_utf8_lossy(&runc.stderr)
    );
    let profile = work.join("ours-only.json");
    std::fs::write(&profile, learned.to_string()).unwrap();
    let check = Command::new(cli())
        .arg("check")
        .arg(&profile)
        .args(["--runtime", "runc", "--no-new-privs"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{text}");
    assert!(
        text.contains("runc cannot start")
            && text.contains("fstatfs")
            && text.contains("[runtime-start]"),
        "{text}"
    );
    // The full recording passes the same check for every runtime, in both settings.
    let (full, _) = record(work, &plain, &[]);
    let full_path = work.join("full.json");
    std::fs::write(&full_path, full.to_string()).unwrap();
    for nnp in [&["--no-new-privs"][..], &[]] {
        let check = Command::new(cli())
            .arg("check")
            .arg(&full_path)
            .args([
                "--runtime",
                "runc",
                "--runtime",
                "crun",
                "--runtime",
                "oci-seccomp",
            ])
            .args(nnp)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&check.stdout);
        // Recorded with no-new-privileges: the runtimes' calls without it were not added.
        if nnp.is_empty() {
            assert_eq!(check.status.code(), Some(1), "{text}");
        } else {
            assert_eq!(check.status.code(), Some(0), "{text}");
            assert!(text.contains("0 error(s), 0 warning(s)"), "{text}");
        }
    }
}

#[test]
fn a_profile_recorded_from_a_plain_command_starts_a_bundle_under_runc_and_crun() {
    require();
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    let state = work.join("state");
    let learned_path = work.join("plain.json");
    let rec = Command::new(cli())
        .arg("record")
        .arg("-o")
        .arg(&learned_path)
        .arg("--")
        .args(WORKLOAD)
        .output()
        .unwrap();
    assert_eq!(
        rec.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    let mut learned: Value =
        serde_json::from_str(&std::fs::read_to_string(&learned_path).unwrap()).unwrap();
    learned.as_object_mut().unwrap().remove("$comment");
    // Without a bundle the setting is not known: the profile serves both.
    for nnp in [false, true] {
        let dir = work.join(format!("b-{nnp}"));
        bundle(&dir, nnp, &json!({"uid": 0, "gid": 0}), &learned);
        for runtime in ["runc", "crun", "oci-seccomp"] {
            let out = start(runtime, &dir, &state, &format!("rs-plain-{nnp}-{runtime}"));
            assert_eq!(
                out.status.code(),
                Some(0),
                "{runtime}, nnp {nnp}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stdout).starts_with("hi\n"));
        }
    }
}

/// `runc spec`'s own template lists ambient capabilities without inheritable ones: the
/// kernel cannot raise them, runc and crun leave them out, and so do we (with a warning),
/// instead of failing the start. Mounts our launcher does not make (devpts, mqueue, sysfs,
/// cgroup) are taken out of the template first.
#[test]
fn the_stock_runc_spec_capabilities_start_as_under_runc_and_crun() {
    require();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("stock");
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "dev", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(which("busybox").unwrap(), rootfs.join("bin/busybox")).unwrap();
    let spec = Command::new(which("runc").unwrap())
        .arg("spec")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        spec.status.success(),
        "{}",
        String::from_utf8_lossy(&spec.stderr)
    );
    let config = dir.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert!(
        v["process"]["capabilities"]["ambient"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            && v["process"]["capabilities"].get("inheritable").is_none(),
        "runc spec's template changed: {}",
        v["process"]["capabilities"]
    );
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["/bin/busybox", "grep", "^Cap", "/proc/self/status"]);
    v["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| ["proc", "tmpfs", "bind"].contains(&m["type"].as_str().unwrap_or("")));
    std::fs::write(&config, v.to_string()).unwrap();
    let state = t.path().join("state");
    let runc = start("runc", &dir, &state, "stock-runc");
    let crun = start("crun", &dir, &state, "stock-crun");
    let ours = start("oci-seccomp", &dir, &state, "");
    for (name, out) in [("runc", &runc), ("crun", &crun), ("oci-seccomp", &ours)] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(runc.stdout, crun.stdout);
    assert_eq!(ours.stdout, runc.stdout);
    assert!(String::from_utf8_lossy(&ours.stderr).contains("process.capabilities.ambient"));
}
