//! `check --format sarif`: a SARIF 2.1.0 log whose results carry the finding's code,
//! level and JSON path, placed on the line and column of the file where that path is;
//! the exit status is the text format's. `--json` stays the same as `--format json`.

mod common;

use std::path::Path;

use common::{oci_seccomp, text};
use serde_json::Value;

/// Line 5: an entry that allows ptrace (risky-allow); line 6: `read` again (duplicate-entry);
/// line 7: a misspelt key (unknown-key) in an argument, its value at column 91.
const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read", "write", "exit", "exit_group", "rt_sigreturn"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "vlaue": 8, "value": 8, "op": "SCMP_CMP_EQ"}]}
  ]
}
"#;

/// `oci-seccomp check --format sarif ARGS...` in `dir`: the exit status and the log.
fn sarif(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["check", "--format", "sarif"];
    all.extend_from_slice(args);
    let o = oci_seccomp(&all, Some(dir), None);
    let log: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", text(&o.stdout), text(&o.stderr)));
    (o.status.code(), log)
}

/// The log's shape: schema, version, one run, the tool, a rule for each code used.
fn results(log: &Value) -> &Vec<Value> {
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "oci-seccomp");
    assert!(driver["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(driver["informationUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://")));
    let rules = driver["rules"].as_array().expect("rules");
    let results = runs[0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let id = r["ruleId"].as_str().expect("ruleId");
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], id);
        assert!(rules[index]["shortDescription"]["text"].is_string());
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(r["message"]["text"].is_string());
    }
    results
}

/// The result of `code` whose logical location is `path`.
fn find<'a>(results: &'a [Value], code: &str, path: &str) -> &'a Value {
    results
        .iter()
        .find(|r| {
            r["ruleId"] == code
                && r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == path
        })
        .unwrap_or_else(|| panic!("no {code} at {path}: {results:#?}"))
}

fn region(r: &Value) -> (u64, u64) {
    let g = &r["locations"][0]["physicalLocation"]["region"];
    (
        g["startLine"].as_u64().expect("startLine"),
        g["startColumn"].as_u64().expect("startColumn"),
    )
}

#[test]
fn findings_are_placed_on_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.json"), PROFILE).unwrap();
    let (code, log) = sarif(dir.path(), &["app.json"]);
    assert_eq!(code, Some(0), "warnings only: exit 0 as in text");
    let results = results(&log);
    let risky = find(results, "risky-allow", "syscalls[1]");
    assert_eq!(risky["level"], "warning");
    assert_eq!(region(risky), (5, 5));
    // Relative as given.
    assert_eq!(
        risky["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app.json"
    );
    let dup = find(results, "duplicate-entry", "syscalls[2]");
    assert_eq!(dup["level"], "note");
    assert_eq!(region(dup), (6, 5));
    let key = find(results, "unknown-key", "syscalls[3].args[0].vlaue");
    assert_eq!(region(key), (7, 91));
    assert_eq!(log["runs"][0]["columnKind"], "unicodeCodePoints");
}

#[test]
fn errors_exit_1_and_parse_errors_keep_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\",\n     \"errnoRet\": 4096}\n  ]\n}\n";
    std::fs::write(dir.path().join("invalid.json"), invalid).unwrap();
    let (code, log) = sarif(dir.path(), &["invalid.json"]);
    assert_eq!(code, Some(1));
    let r = find(results(&log), "invalid", "syscalls[0].errnoRet");
    assert_eq!(r["level"], "error");
    assert_eq!(region(r), (5, 18));

    let broken = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {\"names\": [\"read\"] \"action\": \"SCMP_ACT_ALLOW\"}\n  ]\n}\n";
    std::fs::write(dir.path().join("broken.json"), broken).unwrap();
    let (code, log) = sarif(dir.path(), &["broken.json"]);
    assert_eq!(code, Some(1));
    let results = results(&log);
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "parse")
        .expect("parse");
    assert_eq!(r["level"], "error");
    assert_eq!(region(r).0, 4, "{r:#}");
}

#[test]
fn docker_profiles_are_placed_where_the_path_is_in_the_file() {
    // Entry 0 needs CAP_SYS_ADMIN and is not rendered: the rendered profile's entry 0 is
    // the file's entry 1 (line 6), and the finding names the file's.
    let docker = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
  "syscalls": [
    {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["read", "write", "exit", "exit_group", "rt_sigreturn", "ptrace"], "action": "SCMP_ACT_ALLOW"}
  ]
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker.json");
    std::fs::write(&file, docker).unwrap();
    // An absolute path is a file:// URI.
    let (code, log) = sarif(dir.path(), &[file.to_str().unwrap(), "--arch", "x86_64"]);
    assert_eq!(code, Some(0));
    let results = results(&log);
    let risky = find(results, "risky-allow", "syscalls[1]");
    assert_eq!(region(risky), (6, 5));
    let uri = risky["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/docker.json"),
        "{uri}"
    );
    // A finding on the whole file: the file, no region, no logical location.
    let rendered = results
        .iter()
        .find(|r| r["ruleId"] == "docker-rendered")
        .expect("docker-rendered");
    let loc = &rendered["locations"][0];
    assert!(loc["physicalLocation"]["artifactLocation"]["uri"].is_string());
    assert!(loc["physicalLocation"].get("region").is_none());
    assert!(loc.get("logicalLocations").is_none());
}

#[test]
fn standard_input_has_no_artifact_but_keeps_the_path() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::BIN)
        .args(["check", "--format", "sarif", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PROFILE.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let log: Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = find(results(&log), "risky-allow", "syscalls[1]");
    assert!(r["locations"][0].get("physicalLocation").is_none());
}

#[test]
fn json_flag_is_format_json_and_formats_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.json"), PROFILE).unwrap();
    let a = oci_seccomp(&["check", "--json", "app.json"], Some(dir.path()), None);
    let b = oci_seccomp(
        &["check", "--format", "json", "app.json"],
        Some(dir.path()),
        None,
    );
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert!(v["findings"].as_array().is_some_and(|f| !f.is_empty()));
    let text_out = oci_seccomp(&["check", "app.json"], Some(dir.path()), None);
    assert_eq!(
        text_out.stdout,
        oci_seccomp(
            &["check", "--format", "text", "app.json"],
            Some(dir.path()),
            None
        )
        .stdout
    );
    for args in [
        &["check", "--json", "--format", "sarif", "app.json"][..],
        &["check", "--format", "xml", "app.json"][..],
    ] {
        let o = oci_seccomp(args, Some(dir.path()), None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}

/// A profile that cannot be read still gives CI a SARIF document: no results, the reason
/// as a tool execution notification, exit status 1.
#[test]
fn an_unreadable_profile_still_gives_a_sarif_log() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oci-seccomp"))
        .args(["check", "/nonexistent/profile.json", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a SARIF document");
    assert_eq!(v["version"], "2.1.0");
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(inv["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("cannot read"));
}
