//! A recording written as a Security Profiles Operator `SeccompProfile`, given the
//! operator's published runc base (`baseProfileName: runc-v1.2.3`) and composed by proven
//! union, starts its workload under runc 1.1.5.
//!
//! Needs root, runc and busybox-static (./scripts/setup installs them).

use std::process::{Command, Stdio};

use oci_seccomp_tests::bundle::{cli, make_bundle, which};

#[test]
fn a_recorded_resource_composed_with_the_runc_base_runs_its_workload_under_runc() {
    let dir = tempfile::tempdir().unwrap();
    let busybox = which("busybox").expect("busybox is missing: ./scripts/setup");
    let script = "echo composed";
    let yaml = dir.path().join("web.yaml");
    let o = Command::new(cli())
        .args(["record", "--format", "spo", "--name", "web", "-o"])
        .arg(&yaml)
        .arg("--")
        .arg(&busybox)
        .args(["sh", "-c", script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("\nspec:\n"), "{text}");
    std::fs::write(
        &yaml,
        text.replacen("\nspec:\n", "\nspec:\n  baseProfileName: runc-v1.2.3\n", 1),
    )
    .unwrap();
    // The composed profile, as OCI JSON.
    let composed = dir.path().join("composed.json");
    let o = Command::new(cli())
        .arg("fmt")
        .arg(&yaml)
        .arg("-o")
        .arg(&composed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seccomp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&composed).unwrap()).unwrap();
    // The workload runs under runc with it.
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let probe = dir.path().join("unused");
    std::fs::write(&probe, b"").unwrap();
    make_bundle(&bundle, &probe, &seccomp);
    let config = bundle.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    v["process"]["args"] = serde_json::json!(["/bin/busybox", "sh", "-c", script]);
    std::fs::write(&config, v.to_string()).unwrap();
    let runc = which("runc").expect("runc is missing: ./scripts/setup");
    let state = dir.path().join("state");
    let id = format!("oci-seccomp-spo-{}", std::process::id());
    let o = Command::new(&runc)
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new(&runc)
        .arg("--root")
        .arg(&state)
        .args(["delete", "-f", &id])
        .output();
    assert!(
        o.status.success(),
        "runc: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "composed");
}
