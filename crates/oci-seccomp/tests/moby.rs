//! Without a kernel: Docker (moby) profile parsing, validation and the
//! rendering rules, the hand-written expected renderings in `fixtures/moby/expected/`, and
//! the embedded default profile.

use std::path::PathBuf;

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::moby::{
    default_profile, parse_moby, render, render_default, render_json, KernelVersion, MobyError,
    RenderOptions, DEFAULT_PROFILE_JSON, DOCKER_DEFAULT_CAPS,
};
use oci_seccomp::{compile, CompileError, CompileOptions, LinuxSeccomp};
use serde_json::Value;

fn x86_64() -> &'static ArchInfo {
    arch::by_name("SCMP_ARCH_X86_64").unwrap()
}

fn aarch64() -> &'static ArchInfo {
    arch::by_name("SCMP_ARCH_AARCH64").unwrap()
}

const K61: KernelVersion = KernelVersion { major: 6, minor: 1 };

fn opts(caps: &[&str], arch: &'static ArchInfo, kernel: KernelVersion) -> RenderOptions {
    RenderOptions::host()
        .with_caps(caps)
        .with_arch(arch)
        .with_kernel(kernel)
}

/// The syscall names of a rendered profile, entry by entry, flattened.
fn names(s: &LinuxSeccomp) -> Vec<String> {
    s.syscalls()
        .iter()
        .flatten()
        .flat_map(|e| e.names().clone())
        .collect()
}

fn err(json: &str) -> MobyError {
    match parse_moby(json) {
        Ok(p) => panic!("parsed: {json}\n{p:?}"),
        Err(e) => e,
    }
}

fn has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "{msg:?} lacks {p:?}");
    }
}

const THREE: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {"names": ["chmod"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["syslog"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSLOG"]}},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
    ]
}"#;

#[test]
fn caps_include_and_exclude() {
    let p = parse_moby(THREE).unwrap();
    let r = |caps: &[&str]| names(&render(&p, &opts(caps, x86_64(), K61)).unwrap());
    assert_eq!(r(&[]), ["chmod", "ptrace"]);
    assert_eq!(r(&["CAP_SYSLOG"]), ["chmod", "syslog", "ptrace"]);
    assert_eq!(r(&["CAP_SYS_ADMIN"]), ["chmod"]);
    assert_eq!(r(&["CAP_SYSLOG", "CAP_SYS_ADMIN"]), ["chmod", "syslog"]);
    // Capability names given to the options are normalised; those in the profile are not.
    assert_eq!(r(&["syslog"]), ["chmod", "syslog", "ptrace"]);
}

#[test]
fn includes_caps_need_all_excludes_caps_need_any() {
    let p = parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_X","CAP_Y"]}},
        {"names":["b"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_X","CAP_Y"]}}]}"#,
    )
    .unwrap();
    let r = |caps: &[&str]| names(&render(&p, &opts(caps, x86_64(), K61)).unwrap());
    assert_eq!(r(&[]), ["b"]);
    assert_eq!(r(&["CAP_X"]), Vec::<String>::new());
    assert_eq!(r(&["CAP_Y"]), Vec::<String>::new());
    assert_eq!(r(&["CAP_X", "CAP_Y"]), ["a"]);
}

#[test]
fn arches_include_and_exclude() {
    let p = parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64","x32"]}},
        {"names":["modify_ldt"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["x86"]}},
        {"names":["set_tls"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm","arm64"]}},
        {"names":["clone"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["s390","s390x"]}},
        {"names":["getpid"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["amd64"]}}]}"#,
    )
    .unwrap();
    let r = |a: &str| names(&render(&p, &opts(&[], arch::by_name(a).unwrap(), K61)).unwrap());
    assert_eq!(r("SCMP_ARCH_X86_64"), ["arch_prctl", "clone"]);
    assert_eq!(r("SCMP_ARCH_X32"), ["arch_prctl", "clone", "getpid"]);
    assert_eq!(r("SCMP_ARCH_X86"), ["modify_ldt", "clone", "getpid"]);
    assert_eq!(r("SCMP_ARCH_AARCH64"), ["set_tls", "clone", "getpid"]);
    assert_eq!(r("SCMP_ARCH_S390X"), ["getpid"]);
}

#[test]
fn min_kernel_compares_major_minor_only() {
    let p = parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}},
        {"names":["old"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":"4.8"}}]}"#,
    )
    .unwrap();
    let r = |major, minor| {
        names(&render(&p, &opts(&[], x86_64(), KernelVersion { major, minor })).unwrap())
    };
    // A running 4.8.0 kernel is 4.8 for moby: included, and the excluded entry is dropped.
    assert_eq!(r(4, 8), ["ptrace"]);
    assert_eq!(r(4, 7), ["old"]);
    assert_eq!(r(3, 99), ["old"]);
    assert_eq!(r(4, 9), ["ptrace"]);
    assert_eq!(r(5, 0), ["ptrace"]);
    assert_eq!(r(6, 18), ["ptrace"]);
    // The running kernel is read as major.minor.
    let running = KernelVersion::running().expect("uname");
    assert!(running.major >= 3, "{running}");
}

#[test]
fn min_kernel_matrix() {
    let entry = |mk: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}},
            {{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{{"minKernel":{mk}}}}}]}}"#
        )
    };
    let p = parse_moby(&entry("\"4.8\"")).unwrap();
    assert_eq!(
        p.syscalls[1].includes.min_kernel,
        Some(KernelVersion { major: 4, minor: 8 })
    );
    for ok in ["\"0.5\"", "\"5.0\"", "\"50.0\"", "\"4.15\""] {
        parse_moby(&entry(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // moby reads an empty string and null as no minimum.
    for none in ["\"\"", "null"] {
        let p = parse_moby(&entry(none)).unwrap_or_else(|e| panic!("{none}: {e}"));
        assert!(p.syscalls[1].includes.min_kernel.is_none());
    }
    for bad in [
        "\"0.0\"",
        "\"3\"",
        "\"3.\"",
        "\".3\"",
        "\"4.15abc\"",
        "\"4.8.1\"",
        "\"true\"",
        "4.8",
        "3",
        "true",
        "[4,8]",
    ] {
        let e = err(&entry(bad));
        let m = e.to_string();
        assert_eq!(
            e.path(),
            Some("syscalls[1].includes.minKernel"),
            "{bad}: {m}"
        );
        has(&m, &["syscalls[1].includes.minKernel", bad]);
        assert!(matches!(e, MobyError::Invalid { .. }), "{bad}: {e:?}");
    }
    // The same rule through the public parser.
    assert_eq!(
        "4.8".parse::<KernelVersion>().unwrap(),
        KernelVersion { major: 4, minor: 8 }
    );
    for bad in ["0.0", "3", "3.", ".3", "4.15abc"] {
        assert!(KernelVersion::parse(bad).is_err(), "{bad}");
    }
    // The excludes side uses the same rule.
    let e = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":"3"}}]}"#,
    );
    assert_eq!(e.path(), Some("syscalls[0].excludes.minKernel"));
}

#[test]
fn name_and_names_together_is_an_error() {
    let e = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},
        {"name":"chmod","names":["chown"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    assert!(matches!(e, MobyError::Conflict { .. }), "{e:?}");
    has(&e.to_string(), &["syscalls[1]", "\"name\"", "\"names\""]);
    // The legacy name alone becomes names: [name]; an empty name is no name (Go).
    let p = parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"chmod","action":"SCMP_ACT_ALLOW"},
        {"name":"","names":["chown"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    assert!(p.syscalls[0].legacy_name);
    let r = render(&p, &opts(&[], x86_64(), K61)).unwrap();
    assert_eq!(names(&r), ["chmod", "chown"]);
}

#[test]
fn architectures_and_arch_map_together_is_an_error() {
    let e = err(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
        "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],"syscalls":[]}"#,
    );
    assert!(matches!(e, MobyError::Conflict { .. }), "{e:?}");
    has(&e.to_string(), &["architectures", "archMap"]);
    // Empty lists do not count (moby checks the lengths).
    parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":[],
        "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}"#,
    )
    .unwrap();
}

#[test]
fn arch_map_first_match_or_nothing() {
    let p = parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[
        {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]},
        {"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},
        {"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}]}"#,
    )
    .unwrap();
    let arches = |a: &'static ArchInfo| {
        let r = render(&p, &opts(&[], a, K61)).unwrap();
        serde_json::to_value(r.architectures()).unwrap()
    };
    assert_eq!(
        arches(x86_64()),
        serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    assert_eq!(
        arches(aarch64()),
        serde_json::json!(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
    );
    // No entry for s390x: no architectures at all (moby leaves the list unset).
    assert_eq!(
        arches(arch::by_name("SCMP_ARCH_S390X").unwrap()),
        Value::Null
    );
    // The legacy list is passed through as given.
    let r = render_json(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"]}"#,
        &opts(&[], x86_64(), K61),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(r.architectures()).unwrap(),
        serde_json::json!(["SCMP_ARCH_X86"])
    );
}

#[test]
fn oci_fields_pass_through() {
    let r = render_json(
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","defaultErrnoRet":38,
        "flags":["SECCOMP_FILTER_FLAG_LOG"],"listenerPath":"/run/agent.sock","listenerMetadata":"m",
        "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY","comment":"ask"},
        {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#,
        &opts(&[], x86_64(), K61),
    )
    .unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "defaultErrnoRet": 38,
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "listenerPath": "/run/agent.sock",
            "listenerMetadata": "m",
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}
            ]
        })
    );
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = err("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [,]\n}");
    let MobyError::Json { line, column, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(line, 3);
    assert_eq!(column, 16);
    assert!(e_string(line, column).starts_with("line 3, column 16"));
}

fn e_string(line: usize, column: usize) -> String {
    MobyError::Json {
        line,
        column,
        message: String::new(),
    }
    .to_string()
}

#[test]
fn wrong_types_name_the_path() {
    let cases = [
        (r#"[]"#, "<top level>"),
        (r#"{"syscalls":[]}"#, "defaultAction"),
        (r#"{"defaultAction":"SCMP_ACT_NOPE"}"#, "defaultAction"),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1}"#,
            "defaultErrnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":{}}"#,
            "archMap",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_VAX"}]}"#,
            "archMap[0].architecture",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"subArchitectures":[]}]}"#,
            "archMap[0].architecture",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[1]}]}"#,
            "archMap[0].subArchitectures[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":{}}"#,
            "syscalls",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[[]]}"#,
            "syscalls[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":"read","action":"SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0].names",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[1],"action":"SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0].names[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0].name",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]}"#,
            "syscalls[0].action",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":"1"}]}"#,
            "syscalls[0].errnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_NOPE"}]}]}"#,
            "syscalls[0].args[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[[0,1]]}]}"#,
            "syscalls[0].args[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","comment":7}]}"#,
            "syscalls[0].comment",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":[]}]}"#,
            "syscalls[0].includes",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"caps":"CAP_X"}}]}"#,
            "syscalls[0].includes.caps",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":[true]}}]}"#,
            "syscalls[0].excludes.arches[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["NOPE"]}"#,
            "flags[0]",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","listenerPath":1}"#,
            "listenerPath",
        ),
    ];
    for (json, path) in cases {
        let e = err(json);
        assert_eq!(e.path(), Some(path), "{json}: {e}");
        assert!(e.to_string().starts_with(path), "{json}: {e}");
    }
}

#[test]
fn lenient_like_moby() {
    // Comments anywhere, unknown keys ignored, keys case-insensitive, nulls for lists.
    let p = parse_moby(
        r#"{"comment":"top","DefaultAction":"SCMP_ACT_ERRNO","x-extra":1,"archMap":null,
        "syscalls":[{"comment":"c","Names":["read"],"action":"SCMP_ACT_ALLOW","args":null,
        "includes":null,"excludes":{},"unknown":{"deep":[1]}}]}"#,
    )
    .unwrap();
    assert_eq!(p.syscalls[0].names, ["read"]);
    assert_eq!(p.syscalls[0].comment.as_deref(), Some("c"));
    // The same key twice under two spellings is refused.
    let e = err(r#"{"defaultAction":"SCMP_ACT_ERRNO","DEFAULTACTION":"SCMP_ACT_ALLOW"}"#);
    assert!(e.to_string().contains("twice"), "{e}");
}

#[test]
fn size_is_limited() {
    let big = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","comment":"{}"}}"#,
        "x".repeat(oci_seccomp::MAX_PROFILE_BYTES)
    );
    assert!(matches!(err(&big), MobyError::TooLarge { .. }));
}

#[test]
fn is_moby_tells_the_formats_apart() {
    assert!(oci_seccomp::moby::is_moby(THREE));
    assert!(oci_seccomp::moby::is_moby(DEFAULT_PROFILE_JSON));
    assert!(!oci_seccomp::moby::is_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#
    ));
    assert!(!oci_seccomp::moby::is_moby("not json"));
}

// ---------------------------------------------------------------------------------------
// The hand-written fixture and its hand-written renderings.
// ---------------------------------------------------------------------------------------

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/moby")
}

/// Drops `null`s and empty `args` so that equivalent spellings compare equal.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, v)| {
                    let empty_args = k == "args" && v.as_array().is_some_and(Vec::is_empty);
                    !(v.is_null() || empty_args)
                })
                .map(|(k, v)| (k, normalise(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        other => other,
    }
}

#[test]
fn fixture_renders_as_written_by_hand() {
    let text = std::fs::read_to_string(fixtures().join("small.json")).unwrap();
    let profile = parse_moby(&text).unwrap();
    let default_plus_admin: Vec<&str> = DOCKER_DEFAULT_CAPS
        .iter()
        .copied()
        .chain(["CAP_SYS_ADMIN"])
        .collect();
    let cap_sets: [(&str, &[&str]); 3] = [
        ("none", &[]),
        ("docker", DOCKER_DEFAULT_CAPS),
        ("docker+sys_admin", &default_plus_admin),
    ];
    let mut checked = 0;
    for (arch_file, arch) in [("x86_64", x86_64()), ("aarch64", aarch64())] {
        for (caps_file, caps) in &cap_sets {
            let file = fixtures().join(format!("expected/{caps_file}.{arch_file}.json"));
            let want: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let got = render(&profile, &opts(caps, arch, K61)).unwrap();
            let got = serde_json::to_value(&got).unwrap();
            assert_eq!(
                normalise(got.clone()),
                normalise(want),
                "{}: got\n{}",
                file.display(),
                serde_json::to_string_pretty(&got).unwrap()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}

// ---------------------------------------------------------------------------------------
// The embedded default profile.
// ---------------------------------------------------------------------------------------

fn all_caps() -> Vec<&'static str> {
    vec![
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_CHROOT",
        "CAP_SYS_MODULE",
        "CAP_SYS_PACCT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_SYS_NICE",
        "CAP_SYSLOG",
        "CAP_BPF",
        "CAP_PERFMON",
        "CAP_DAC_READ_SEARCH",
    ]
}

#[test]
fn embedded_default_parses_and_renders() {
    let p = default_profile();
    assert_eq!(p, parse_moby(DEFAULT_PROFILE_JSON).unwrap());
    let every: Vec<&str> = DOCKER_DEFAULT_CAPS
        .iter()
        .copied()
        .chain(all_caps())
        .collect();
    for a in [
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_MIPSEL64",
    ] {
        let arch = arch::by_name(a).unwrap();
        for caps in [&[][..], DOCKER_DEFAULT_CAPS, &every] {
            let r = render_default(&opts(caps, arch, K61)).unwrap();
            let n = names(&r);
            assert!(n.iter().any(|s| s == "read"), "{a}");
            assert_eq!(
                serde_json::to_value(r.architectures()).unwrap()[0],
                Value::String(a.to_string())
            );
        }
    }
}

#[test]
fn embedded_default_policy() {
    let r = |caps: &[&str], kernel| {
        let s = render_default(&opts(caps, x86_64(), kernel)).unwrap();
        serde_json::to_value(&s).unwrap()
    };
    let entries_for = |v: &Value, name: &str| -> Vec<Value> {
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["names"].as_array().unwrap().iter().any(|n| n == name))
            .cloned()
            .collect()
    };
    let docker = r(DOCKER_DEFAULT_CAPS, K61);
    assert_eq!(docker["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(docker["defaultErrnoRet"], 1);
    // clone: only without namespace flags; clone3: ENOSYS.
    let clone = entries_for(&docker, "clone");
    assert_eq!(clone.len(), 1);
    assert_eq!(
        clone[0]["args"],
        serde_json::json!([{"index":0,"value":0x7E02_0000u64,"op":"SCMP_CMP_MASKED_EQ"}])
    );
    let clone3 = entries_for(&docker, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0]["action"], "SCMP_ACT_ERRNO");
    assert_eq!(clone3[0]["errnoRet"], 38);
    // socketcall: ENOSYS. personality: five values.
    let sc = entries_for(&docker, "socketcall");
    assert_eq!(sc.len(), 1);
    assert_eq!(sc[0]["errnoRet"], 38);
    let pers: Vec<u64> = entries_for(&docker, "personality")
        .iter()
        .map(|e| e["args"][0]["value"].as_u64().unwrap())
        .collect();
    assert_eq!(pers, [0, 8, 0x20000, 0x20008, 0xffff_ffff]);
    for gated in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "bpf",
        "reboot",
        "acct",
        "kexec_load",
        // Refused as by Docker since 25.0 (with CAP_SYS_ADMIN too, below).
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
    ] {
        assert!(entries_for(&docker, gated).is_empty(), "{gated}");
    }
    // ptrace only from 4.8.
    assert_eq!(entries_for(&docker, "ptrace").len(), 1);
    assert!(entries_for(
        &r(DOCKER_DEFAULT_CAPS, KernelVersion { major: 4, minor: 7 }),
        "ptrace"
    )
    .is_empty());
    // With CAP_SYS_ADMIN: clone and clone3 unconditional, mount allowed.
    let mut admin = DOCKER_DEFAULT_CAPS.to_vec();
    admin.push("CAP_SYS_ADMIN");
    let admin = r(&admin, K61);
    let clone = entries_for(&admin, "clone");
    assert_eq!(clone.len(), 1);
    assert!(clone[0].get("args").is_none());
    assert_eq!(entries_for(&admin, "clone3")[0]["action"], "SCMP_ACT_ALLOW");
    assert_eq!(entries_for(&admin, "mount").len(), 1);
    for n in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        assert!(entries_for(&admin, n).is_empty(), "{n} with CAP_SYS_ADMIN");
    }
}

#[test]
fn embedded_default_compiles() {
    let mut admin = DOCKER_DEFAULT_CAPS.to_vec();
    admin.extend(all_caps());
    for caps in [&[][..], DOCKER_DEFAULT_CAPS, &admin] {
        for a in [
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_PPC64LE",
        ] {
            let arch = arch::by_name(a).unwrap();
            if arch.big_endian != arch::native().big_endian {
                // One filter cannot mix byte orders with the native arch (always present).
                continue;
            }
            let spec = render_default(&opts(caps, arch, K61)).unwrap();
            // Strict mode: every name must be known to this libseccomp on some listed arch,
            // and no two unconditional entries may disagree.
            match compile(&spec, &CompileOptions::strict()) {
                Ok(p) => assert!(p.len() > 10),
                Err(CompileError::UnsupportedArchitecture { .. }) => {}
                Err(e) => panic!("{a} with {} caps: {e}", caps.len()),
            }
        }
    }
}

/// Moby reads an argument's keys in any case too.
#[test]
fn argument_keys_in_any_case() {
    let p = parse_moby(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"INDEX":1,"VALUE":8,"Op":"SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let a = &p.syscalls[0].args[0];
    assert_eq!((a.index(), a.value()), (1, 8));
}
