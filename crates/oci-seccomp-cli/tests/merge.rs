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
/// union is written and is never stricter than either; the intersection is written and is
/// never looser than either, and says where it answers with another errno than the
/// definition (the ENOSYS stub starts at another number on x86_64 than on x32).
#[test]
fn docker_defaults_merge_both_ways() {
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
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cachestat(0x0, 0x0, 0x0, 0x0, 0x0, 0x0) on SCMP_ARCH_X32: SCMP_ACT_ERRNO(38) where the intersection is SCMP_ACT_ERRNO(1) (as strict)"),
        "{}",
        stderr(&o)
    );
    for input in [old, new] {
        let o = cli(&["diff", "--no-looser", input, i.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
}

/// An intersection that needs other conditions per ABI (`munmap`'s 64-bit length compared
/// on x86_64 and, by its low word, on x86) has no OCI profile: refused naming the call, and
/// nothing is written.
#[test]
fn a_merge_no_profile_can_express_is_refused_with_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |op: &str, v: u64| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
            "syscalls":[{{"names":["munmap"],"action":"SCMP_ACT_ALLOW","args":[{{"index":1,"value":{v},"op":"{op}"}}]}}]}}"#
        )
    };
    let a = profile(&dir, "a.json", &entry("SCMP_CMP_LT", 8));
    let b = profile(&dir, "b.json", &entry("SCMP_CMP_GT", 1 << 32));
    let i = dir.path().join("i.json");
    let o = cli(&["merge", "--intersect", &a, &b, "-o", i.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no OCI profile this merge can write decides munmap(0x0, 0x1, 0x0, 0x0, 0x0, 0x0) on SCMP_ARCH_X86"),
        "{}",
        stderr(&o)
    );
    assert!(!i.exists());
    // The union exists, compact: two comparisons, not blocks.
    let o = cli(&["merge", "--union", &a, &b]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("SCMP_CMP_GE") && out.contains("SCMP_CMP_LE"),
        "{out}"
    );
    assert!(!out.contains("MASKED_EQ"), "{out}");
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

#[test]
fn the_docker_form_renders_to_a_profile_equal_to_the_oci_form() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (profile(&dir, "a.json", M1), profile(&dir, "b.json", M2));
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (oci, docker, rendered) = (path("oci.json"), path("docker.json"), path("r.json"));
    let o = cli(&["merge", "--union", &a, &b, "-o", &oci]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&[
        "merge", "--union", &a, &b, "--format", "docker", "-o", &docker,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Read as Docker reads it (render), then compared by meaning.
    let o = cli(&["render", &docker, "-o", &rendered]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&["diff", &rendered, &oci]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // fmt writes the same form.
    let o = cli(&["fmt", "--format", "docker", &oci]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"SCMP_ACT_ALLOW\""), "{}", stdout(&o));
}

/// Pieces of one argument that together admit every value are no condition: `clone`
/// allowed when its flags have none of 0x7e020000, united with `clone` allowed outright,
/// is `clone` allowed outright, one entry.
#[test]
fn pieces_that_cover_an_argument_are_no_condition() {
    let dir = tempfile::tempdir().unwrap();
    let a = profile(
        &dir,
        "a.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
        {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    let b = profile(
        &dir,
        "b.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
        {"names":["clone"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["merge", "--union", &a, &b]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["syscalls"],
        serde_json::json!([{"names": ["clone"], "action": "SCMP_ACT_ALLOW"}]),
        "{v}"
    );
}
