//! `merge --union|--intersect`: a profile that decides every call as the least strict (or
//! strictest) of the inputs' actions, proven before it is written; a merge no profile can
//! express is refused with the call, and nothing is written.

mod common;

use common::{cli, stderr, stdout};

fn profile(dir: &tempfile::TempDir, name: &str, json: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, json).unwrap();
    p.to_string_lossy().into_owned()
}

const M1: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
    {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
    {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#;
const M2: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
    {"names":["read","getppid"],"action":"SCMP_ACT_ALLOW"},
    {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":5,"op":"SCMP_CMP_LT"}]}]}"#;

/// What `profile` decides for `personality(arg)`.
fn personality(profile: &str, arg: &str) -> String {
    let o = cli(&["explain", profile, "personality", arg]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .find(|l| l.starts_with("action:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_union_allows_what_any_input_allows_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (profile(&dir, "a.json", M1), profile(&dir, "b.json", M2));
    let out = dir.path().join("u.json");
    let o = cli(&["merge", "--union", &a, &b, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let u = out.to_str().unwrap();
    // Never stricter than an input: neither input is looser than the union.
    for input in [&a, &b] {
        let o = cli(&["diff", "--no-looser", u, input]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
    for (arg, want) in [
        ("0", "ALLOW"),
        ("4", "ALLOW"),
        ("8", "ALLOW"),
        ("5", "ERRNO"),
        ("9", "ERRNO"),
    ] {
        assert!(
            personality(u, arg).contains(want),
            "personality({arg}): {}",
            personality(u, arg)
        );
    }
}

#[test]
fn an_intersection_allows_only_what_every_input_allows() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (profile(&dir, "a.json", M1), profile(&dir, "b.json", M2));
    let out = dir.path().join("i.json");
    let o = cli(&["merge", "--intersect", &a, &b, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let i = out.to_str().unwrap();
    for input in [&a, &b] {
        let o = cli(&["diff", "--no-looser", input, i]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
    for arg in ["0", "4", "8"] {
        assert!(personality(i, arg).contains("ERRNO"), "personality({arg})");
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(i).unwrap()).unwrap();
    let allowed: Vec<&str> = v["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|e| {
            e["names"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n.as_str())
        })
        .collect();
    assert_eq!(allowed, ["read"]);
}

/// Docker 20.10's default and the current upstream one, both rendered for three ABIs: the
/// union is written and is never stricter than either; the intersection cannot be written
/// (the ENOSYS stub starts at another number on x86_64 than on x32), and is refused naming
/// the call, with nothing written.
#[test]
fn docker_defaults_merge_or_are_refused_with_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let old = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";
    let new = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/moby/upstream/default-seccomp-v0.2.3.json"
    );
    let u = dir.path().join("u.json");
    let o = cli(&["merge", "--union", old, new, "-o", u.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for input in [old, new] {
        let o = cli(&["diff", "--no-looser", u.to_str().unwrap(), input]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
    let i = dir.path().join("i.json");
    let o = cli(&["merge", "--intersect", old, new, "-o", i.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no OCI profile this merge can write decides"),
        "{}",
        stderr(&o)
    );
    assert!(!i.exists());
}

#[test]
fn merge_needs_two_profiles_and_a_way_to_combine_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = profile(&dir, "a.json", M1);
    assert_eq!(cli(&["merge", "--union", &a]).status.code(), Some(2));
    assert_eq!(cli(&["merge", &a, &a]).status.code(), Some(2));
    let bad = profile(&dir, "bad.json", r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
    let o = cli(&["merge", "--union", &a, &bad]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Which agent answers NOTIFY, and the filter flags, are no action: inputs that differ in
/// them are refused, not silently given the first input's.
#[test]
fn inputs_with_different_listeners_or_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = profile(
        &dir,
        "a.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","listenerPath":"/run/a.sock","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["mount"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    let b = profile(
        &dir,
        "b.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","listenerPath":"/run/b.sock","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["umount2"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    let o = cli(&["merge", "--union", &a, &b]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("listenerPath"), "{}", stderr(&o));
    let c = profile(
        &dir,
        "c.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let d = profile(
        &dir,
        "d.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["merge", "--intersect", &c, &d]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("flags"), "{}", stderr(&o));
}
