//! Two matching entries of equally strict but different actions (`ERRNO(5)` and
//! `ERRNO(6)`): the runtime spec leaves the choice open, runc and crun make it through
//! libseccomp, and a profile must not answer differently under us than under them. Each
//! shape runs under runc, crun and `oci-seccomp run` (no cache) with real syscalls, and
//! `check` names both entries. Where libseccomp refuses the pair (`EEXIST`), runc and crun do not start
//! the container and `check` says so. Needs root, runc, crun, busybox-static and gcc.
#![cfg(target_arch = "x86_64")]

use std::path::Path;
use std::process::Command;

use oci_seccomp_tests::bundle::{cli, missing_tools, start_bundle};
use serde_json::{json, Value};

/// An entry for `read` with `errno` and `(index, op, value)` comparisons.
fn read(errno: u32, args: &[(u32, &str, u64)]) -> Value {
    let args: Vec<Value> = args
        .iter()
        .map(|(i, op, v)| json!({"index": i, "op": format!("SCMP_CMP_{op}"), "value": v}))
        .collect();
    let mut e = json!({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno});
    if !args.is_empty() {
        e["args"] = Value::Array(args);
    }
    e
}

/// The shapes: name, entries, and whether libseccomp refuses the profile.
fn shapes() -> Vec<(&'static str, Vec<Value>, bool)> {
    vec![
        // The report's case: the narrower `>` decides where both match.
        (
            "greater-than-values",
            vec![
                read(5, &[(0, "EQ", 1000), (2, "GT", 128)]),
                read(6, &[(0, "EQ", 1000), (2, "GT", 256)]),
            ],
            false,
        ),
        (
            "greater-than-values-swapped",
            vec![
                read(6, &[(0, "EQ", 1000), (2, "GT", 256)]),
                read(5, &[(0, "EQ", 1000), (2, "GT", 128)]),
            ],
            false,
        ),
        // A comparison on a higher argument is tried first.
        (
            "higher-argument",
            vec![read(5, &[(0, "EQ", 1000)]), read(6, &[(2, "GT", 100)])],
            false,
        ),
        // Equalities before orders; `<` before `>`; smaller `<` first; masked equality.
        (
            "equality-before-order",
            vec![read(5, &[(2, "GT", 100)]), read(6, &[(2, "EQ", 300)])],
            false,
        ),
        (
            "not-equal-before-greater",
            vec![read(5, &[(2, "GT", 100)]), read(6, &[(2, "NE", 7)])],
            false,
        ),
        (
            "less-before-greater",
            vec![read(5, &[(2, "GT", 100)]), read(6, &[(2, "LT", 500)])],
            false,
        ),
        (
            "smaller-less-than",
            vec![read(5, &[(2, "LT", 500)]), read(6, &[(2, "LT", 400)])],
            false,
        ),
        (
            "greater-than-a-high-word",
            vec![
                read(5, &[(2, "GT", 0x1_0000_0000)]),
                read(6, &[(2, "GT", 100)]),
            ],
            false,
        ),
        (
            "masked-equality",
            vec![
                read(5, &[(2, "GT", 100)]),
                json!({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6,
                       "args": [{"index": 2, "op": "SCMP_CMP_MASKED_EQ", "value": 0xff, "valueTwo": 0x2c}]}),
            ],
            false,
        ),
        (
            "three-entries",
            vec![
                read(5, &[(0, "EQ", 1000), (2, "GT", 128)]),
                read(7, &[(0, "EQ", 1000), (1, "EQ", 0)]),
                read(6, &[(0, "EQ", 1000), (2, "GT", 256)]),
            ],
            false,
        ),
    ]
    .into_iter()
    .chain(shapes_libseccomp_cannot_order())
    .collect()
}

/// The shapes libseccomp's level order does not tell apart, or refuses.
fn shapes_libseccomp_cannot_order() -> Vec<(&'static str, Vec<Value>, bool)> {
    vec![
        // Where libseccomp's level order sees no difference (`>` and `>=` with one
        // value, `<=` and `<`, a masked equality and an equality on the same high word),
        // the node added first decides: the first entry, in either order.
        (
            "greater-and-greater-or-equal-one-value",
            vec![read(5, &[(2, "GT", 256)]), read(6, &[(2, "GE", 256)])],
            false,
        ),
        (
            "greater-or-equal-and-greater-one-value",
            vec![read(5, &[(2, "GE", 256)]), read(6, &[(2, "GT", 256)])],
            false,
        ),
        (
            "greater-or-equal-and-greater-high-word",
            vec![
                read(5, &[(2, "GE", 0x1_0000_0000)]),
                read(6, &[(2, "GT", 0x1_0000_0000)]),
            ],
            false,
        ),
        (
            "less-or-equal-and-less-high-word",
            vec![
                read(5, &[(2, "LE", 0x1_0000_0001)]),
                read(6, &[(2, "LT", 0x1_0000_0001)]),
            ],
            false,
        ),
        (
            "masked-then-equal",
            vec![
                json!({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                       "args": [{"index": 2, "op": "SCMP_CMP_MASKED_EQ", "value": 0xff, "valueTwo": 0x2c}]}),
                read(6, &[(2, "EQ", 300)]),
            ],
            false,
        ),
        (
            "equal-then-masked",
            vec![
                read(5, &[(2, "EQ", 300)]),
                json!({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6,
                       "args": [{"index": 2, "op": "SCMP_CMP_MASKED_EQ", "value": 0xff, "valueTwo": 0x2c}]}),
            ],
            false,
        ),
        // An unconditional entry beats a conditional one, in either order.
        (
            "unconditional-second",
            vec![read(5, &[(0, "EQ", 1000)]), read(6, &[])],
            false,
        ),
        (
            "unconditional-first",
            vec![read(6, &[]), read(5, &[(0, "EQ", 1000)])],
            false,
        ),
        // The shorter entry first: it decides; second: libseccomp refuses the profile.
        (
            "shorter-first",
            vec![
                read(5, &[(0, "EQ", 1000)]),
                read(6, &[(0, "EQ", 1000), (2, "GT", 100)]),
            ],
            false,
        ),
        (
            "shorter-second",
            vec![
                read(6, &[(0, "EQ", 1000), (2, "GT", 100)]),
                read(5, &[(0, "EQ", 1000)]),
            ],
            true,
        ),
        // An order comparison ending one entry on the high word's `>` node that the
        // other entry goes on from (the other first): libseccomp refuses too.
        (
            "order-ends-where-the-other-goes-on",
            vec![
                read(5, &[(1, "GE", 5), (3, "EQ", 0)]),
                read(6, &[(1, "GT", 256)]),
            ],
            true,
        ),
        (
            "identical-comparisons",
            vec![read(5, &[(2, "GT", 100)]), read(6, &[(2, "GT", 100)])],
            true,
        ),
    ]
}

/// The calls made: read(fd, NULL, count) for several fds and counts (0 is read's number).
const CALLS: &[&str] = &[
    "0",
    "1000",
    "300", //
    "0",
    "1000",
    "200", //
    "0",
    "1000",
    "0x12c", //
    "0",
    "1000",
    "0x100000500", //
    "0",
    "7",
    "300", //
    "0",
    "7",
    "50", //
];

fn bundle(dir: &Path, calls: &Path, seccomp: &Value) {
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("proc")).unwrap();
    std::fs::copy(calls, rootfs.join("calls")).unwrap();
    let mut args = vec!["/calls"];
    args.extend_from_slice(CALLS);
    let config = json!({
        "ociVersion": "1.0.2",
        "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": args,
                    "env": ["PATH=/"], "cwd": "/", "noNewPrivileges": true},
        "root": {"path": "rootfs", "readonly": true},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}], "seccomp": seccomp}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

/// Runs the bundle; `None` when the runtime did not start it.
fn start(runtime: &str, dir: &Path, state: &Path, id: &str) -> Option<String> {
    let out = start_bundle(runtime, dir, state, id);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && stdout.lines().count() == CALLS.len() / 3).then_some(stdout)
}

#[test]
fn every_tie_is_decided_as_runc_and_crun_decide_it_and_check_names_both_entries() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "runc and crun need root: run the tests as root (./scripts/setup && just test)"
    );
    if let Some(m) = missing_tools() {
        panic!("{m}");
    }
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    let calls = work.join("calls");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/probe/calls.c");
    let st = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&calls)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "building fixtures/probe/calls.c failed");
    let state = work.join("state");
    for (name, entries, refused) in shapes() {
        let seccomp = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": entries});
        let dir = work.join(name);
        bundle(&dir, &calls, &seccomp);
        let runc = start("runc", &dir, &state, &format!("tie-{name}-runc"));
        let crun = start("crun", &dir, &state, &format!("tie-{name}-crun"));
        let ours = start("oci-seccomp", &dir, &state, "");
        if refused {
            assert!(
                runc.is_none() && crun.is_none(),
                "{name}: libseccomp was expected to refuse: runc {runc:?} crun {crun:?}"
            );
        } else {
            assert!(runc.is_some(), "{name}: runc did not start it");
            assert_eq!(runc, crun, "{name}: runc and crun disagree");
            assert_eq!(ours, runc, "{name}: ours differs from runc and crun");
        }
        // Both entries named, and a refusal said.
        let profile = work.join(format!("{name}.json"));
        std::fs::write(&profile, seccomp.to_string()).unwrap();
        let check = Command::new(cli())
            .arg("check")
            .arg(&profile)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&check.stdout);
        let conditional = entries.iter().filter(|e| e.get("args").is_some()).count();
        if conditional >= 2 {
            assert!(
                text.contains("[tie]")
                    && text.contains("syscalls[0]")
                    && text.contains("syscalls[1]"),
                "{name}: {text}"
            );
            assert_eq!(
                text.contains(oci_seccomp::lint::LIBSECCOMP_REFUSES),
                refused,
                "{name}: {text}"
            );
        }
    }
}
