//! `check`: findings, exit status, Docker and containers-common profiles, `--runtime`.

mod common;

use std::path::Path;

use common::{cli, need_root, stderr, stdout, TempDir, ERRNO_DEFAULT, MOBY};
use serde_json::{json, Value};

#[test]
fn check_reports_and_exits() {
    let t = TempDir::new("check");
    let good = t.write("good.json", ERRNO_DEFAULT);
    let o = cli(&["check", &good]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("error(s)"), "{}", stdout(&o));

    let j = cli(&["check", &good, "--json"]);
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert!(v["findings"].is_array());
    assert_eq!(v["errors"], json!(0));

    assert_eq!(
        cli(&["check", &t.path("missing.json")]).status.code(),
        Some(1)
    );
}

/// `check` on a profile whose analyses would take seconds (16 syscalls × 50 entries × 2
/// one-bit `SCMP_CMP_MASKED_EQ`): it stops at its step budget and says, in one finding,
/// which analysis it did not finish and for which syscalls; the output stays small.
#[test]
fn check_stops_at_its_budget_and_says_what_it_did_not_finish() {
    let names = [
        "read", "write", "openat", "close", "fstat", "lseek", "mmap", "mprotect", "munmap", "brk",
        "ioctl", "pread64", "pwrite64", "readv", "writev", "access",
    ];
    let mut seed: u64 = 7;
    let mut bit = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % 16
    };
    let mut entries = Vec::new();
    for name in names {
        for _ in 0..50 {
            let args: Vec<Value> = (0..2)
                .map(|i| {
                    let mask = 1u64 << bit();
                    let value = if bit() % 2 == 0 { 0 } else { mask };
                    json!({"index": i, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"})
                })
                .collect();
            entries.push(json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": args}));
        }
    }
    let t = TempDir::new("check-budget");
    let p = t.write(
        "costly.json",
        &json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": entries})
        .to_string(),
    );
    let o = cli(&["check", &p]);
    let out = stdout(&o);
    // The program is refused (too many comparisons for the kernel's limit): an error.
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let unfinished: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with("[unfinished]"))
        .collect();
    assert_eq!(unfinished.len(), 1, "{out}");
    // Steps or time, whichever ran out first on this machine.
    assert!(
        unfinished[0].contains("budget of 50000000 steps")
            || unfinished[0].contains("deadline of 800 ms"),
        "{}",
        unfinished[0]
    );
    for part in [
        "conditions-cover-all not finished (not decided for access (SCMP_ACT_ALLOW)",
        "and 8 more",
    ] {
        assert!(
            unfinished[0].contains(part),
            "{} lacks {part:?}",
            unfinished[0]
        );
    }
    assert!(out.len() < 64 * 1024, "{} bytes of output", out.len());
}

/// Needs the lint module's check_text (parse errors with line and column).
#[test]
fn check_invalid_json_gives_line_and_column() {
    let t = TempDir::new("check-bad");
    let p = t.write(
        "bad.json",
        "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [}\n",
    );
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let s = stdout(&o);
    assert!(
        s.contains("error:") && s.contains("line 3") && s.contains("column"),
        "{s}"
    );
}

/// Needs the lint module: Docker keys in an OCI file, and a risky allow.
#[test]
fn check_finds_docker_keys_and_errors() {
    let t = TempDir::new("check-docker");
    let p = t.write("moby.json", MOBY);
    let o = cli(&["check", &p, "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v["findings"].as_array().unwrap().is_empty(), "{v}");
    let p = t.write(
        "errno.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}"#,
    );
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("defaultErrnoRet"), "{}", stdout(&o));
}

/// `check` reports what `run` refuses. WAIT_KILLABLE_RECV without a
/// NOTIFY rule (the kernel's EINVAL), and Docker keys in any letter case (moby reads
/// `"Includes"` as `includes`; as plain OCI the capability condition would be dropped).
#[test]
fn check_reports_what_run_refuses() {
    let t = TempDir::new("check-run");
    let wk = t.write(
        "wk.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    );
    let o = cli(&["check", &wk]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("flags[0]") && stdout(&o).contains("SCMP_ACT_NOTIFY"),
        "{}",
        stdout(&o)
    );
    let o = cli(&[
        "run",
        "--no-cache",
        "--profile",
        &wk,
        "--",
        "/bin/echo",
        "ran",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stdout(&o).contains("ran"));
    assert!(stderr(&o).contains("flags[0]"), "{}", stderr(&o));

    let inc = t.write(
        "includes.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
             {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "Includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    );
    // `check` reads it as moby does: valid, rendered, and the
    // capability-gated unshare is not allowed without CAP_SYS_ADMIN.
    let o = cli(&["check", &inc]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("docker-rendered"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("unshare"), "{}", stdout(&o));
    let o = cli(&["check", &inc, "--cap", "SYS_ADMIN"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("unshare is allowed"), "{}", stdout(&o));
    // `render` reads it as moby does: without CAP_SYS_ADMIN the entry is not there.
    let o = cli(&["render", &inc]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("unshare"), "{}", stdout(&o));
}

/// `check` takes Docker profiles, as `--help` says: our embedded default,
/// Docker's own `default.json` (20.10 and current) and containers-common's `seccomp.json`
/// exit 0; a bad `minKernel` is an error naming its path; `--arch/--kernel/--cap` work as
/// in `render`. Docker 20.10's file allows io_uring: a risky allow for each call.
#[test]
fn check_accepts_docker_profiles() {
    let t = TempDir::new("check-moby");
    let embedded = t.write("default.json", oci_seccomp_default_json());
    let current = t.write("docker-current.json", docker_current_json());
    for p in [
        embedded.as_str(),
        current.as_str(),
        DOCKER_DEFAULT,
        CONTAINERS_SECCOMP,
    ] {
        assert!(
            Path::new(p).is_file(),
            "{p} is missing: install it with ./scripts/setup (as root), or: apt-get install -y \
             golang-github-docker-docker-dev golang-github-containers-common"
        );
        let o = cli(&["check", p]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{p}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stdout(&o).contains("docker-rendered"),
            "{p}: {}",
            stdout(&o)
        );
        assert!(!stderr(&o).contains("unknown key"), "{p}: {}", stderr(&o));
        for args in [
            &["--arch", "arm64", "--kernel", "5.10"][..],
            &["--cap", "SYS_ADMIN", "--no-default-caps"][..],
        ] {
            let mut a = vec!["check", p];
            a.extend_from_slice(args);
            let o = cli(&a);
            assert_eq!(o.status.code(), Some(0), "{p} {args:?}: {}", stdout(&o));
        }
        let risky_io_uring = stdout(&o)
            .lines()
            .filter(|l| l.contains("io_uring") && l.ends_with("[risky-allow]"))
            .count();
        let want = if p == DOCKER_DEFAULT { 3 } else { 0 };
        assert_eq!(risky_io_uring, want, "{p}: {}", stdout(&o));
    }
    let bad = t.write(
        "minkernel.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
             {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
             {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.0"}}]}"#,
    );
    let o = cli(&["check", &bad]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("syscalls[1].includes.minKernel") && stdout(&o).contains("4.8.0"),
        "{}",
        stdout(&o)
    );
}

/// Containers-common's dialect (Podman, CRI-O): `defaultErrno` and
/// per-entry `errno` names are recognised without "unknown key" warnings, checked against
/// their numbers, and the real file renders, checks and runs.
#[test]
fn containers_common_profile_renders_checks_and_runs() {
    need_root();
    assert!(
        Path::new(CONTAINERS_SECCOMP).is_file(),
        "{CONTAINERS_SECCOMP} is missing: install it with ./scripts/setup (as root), or: \
         apt-get install -y golang-github-containers-common"
    );
    let o = cli(&["render", CONTAINERS_SECCOMP]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("unknown key"), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["defaultErrnoRet"], json!(38), "{v}");
    let o = cli(&[
        "run",
        "--no-cache",
        "--profile",
        CONTAINERS_SECCOMP,
        "--",
        "/bin/sh",
        "-c",
        "echo ran",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ran"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("unknown key"), "{}", stderr(&o));

    // A name that disagrees with its number is an error naming the entry.
    let t = TempDir::new("containers-common");
    let p = t.write(
        "mismatch.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM", "errnoRet": 22, "comment": ""}]}"#,
    );
    for cmd in ["check", "render"] {
        let o = cli(&[cmd, &p]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let text = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            text.contains("syscalls[0].errno") && text.contains("EPERM") && text.contains("22"),
            "{cmd}: {text}"
        );
    }
    let p = t.write(
        "default-mismatch.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EPERM", "defaultErrnoRet": 38, "archMap": []}"#,
    );
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("defaultErrno"), "{}", stdout(&o));
    // The name alone gives the number.
    let p = t.write(
        "name-only.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"}]}"#,
    );
    let o = cli(&["render", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["syscalls"][0]["errnoRet"], json!(13), "{v}");
}

/// Docker's own default profile (Debian `golang-github-docker-docker-dev`).
const DOCKER_DEFAULT: &str =
    "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";

/// Podman's and CRI-O's profile (Debian `golang-github-containers-common`).
const CONTAINERS_SECCOMP: &str = "/usr/share/containers/seccomp.json";

fn oci_seccomp_default_json() -> &'static str {
    include_str!("../../oci-seccomp/profiles/default.json")
}

/// Docker's current default profile (moby/profiles seccomp/v0.2.3), as kept in fixtures.
fn docker_current_json() -> &'static str {
    include_str!("../../../fixtures/moby/upstream/default-seccomp-v0.2.3.json")
}

/// An OCI profile whose entries carry `comment` is what runc and crun run (they ignore
/// the key): compile, explain and check read it as OCI. Docker's keys that change what an
/// entry means (`includes`, `name`) stay refused where an OCI profile is required.
#[test]
fn an_entry_comment_is_accepted_and_dockers_meaningful_keys_are_not() {
    let t = TempDir::new("entry-comment");
    let p = t.write(
        "commented.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
             {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
              "comment": "why getppid is refused"}]}"#,
    );
    let o = cli(&["compile", &p, "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&["explain", &p, "getppid"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("EIO, 5"), "{}", stdout(&o));
    let o = cli(&["check", &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        !stdout(&o).contains("unknown-key") && !stdout(&o).contains("docker-rendered"),
        "{}",
        stdout(&o)
    );
    for key in [
        r#""includes": {"caps": ["CAP_SYS_ADMIN"]}"#,
        r#""name": "getppid""#,
    ] {
        let q = t.write(
            "docker-key.json",
            &format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                     {{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", {key}}}]}}"#
            ),
        );
        let o = cli(&["compile", &q, "-o", "/dev/null"]);
        assert_eq!(o.status.code(), Some(1), "{key}: {}", stderr(&o));
    }
}

/// `check` prints each finding once: not also as a log line from the compile that
/// `--runtime` makes.
#[test]
fn check_prints_each_finding_once() {
    let t = TempDir::new("check-once");
    let p = t.write(
        "p.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
             {"names": ["nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    for extra in [&[][..], &["--runtime", "crun"][..]] {
        let mut args = vec!["check", p.as_str()];
        args.extend_from_slice(extra);
        let o = cli(&args);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(all.matches("nosuchcall").count(), 1, "{extra:?}: {all}");
    }
}
