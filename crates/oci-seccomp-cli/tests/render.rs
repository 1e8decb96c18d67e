//! `render`: Docker (moby) profiles to OCI, for the capabilities, architecture and kernel
//! given.

mod common;

use std::process::Output;

use common::{cli, stderr, stdout, TempDir, MOBY};
use serde_json::{json, Value};

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
