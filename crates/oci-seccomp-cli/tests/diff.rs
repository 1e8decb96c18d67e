//! `diff`: two profiles compared by what they decide; exit 0 equal, 1 different (with
//! `--no-looser`: looser), 2 for usage or an invalid profile; the JSON says enough to
//! explain a failed gate.

mod common;

use common::{cli, stderr, stdout};
use serde_json::Value;

/// Writes `json` to a file in `dir` and returns its path.
fn profile(dir: &tempfile::TempDir, name: &str, json: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, json).unwrap();
    p.to_string_lossy().into_owned()
}

const BASE: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
    {"names":["read","write","getppid"],"action":"SCMP_ACT_ALLOW"}]}"#;

#[test]
fn equal_profiles_exit_0_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let a = profile(&dir, "a.json", BASE);
    let b = profile(
        &dir,
        "b.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["write","read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["diff", &a, &b]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("decide every call alike"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_looser_profile_fails_the_gate_with_its_regions_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let old = profile(&dir, "old.json", BASE);
    let new = profile(
        &dir,
        "new.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","write","getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["read"],"action":"SCMP_ACT_ALLOW"},
        {"names":["dup"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["diff", "--no-looser", "--format", "json", &old, &new]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["equal"], false);
    assert_eq!(v["looser"], true);
    let d = &v["differences"][0];
    assert_eq!(d["syscall"], "dup");
    assert_eq!(d["change"], "looser");
    assert_eq!(d["a"]["action"], "SCMP_ACT_ERRNO(1)");
    assert_eq!(d["a"]["decidedBy"], "defaultAction");
    assert_eq!(d["b"]["action"], "SCMP_ACT_ALLOW");
    assert_eq!(d["b"]["decidedBy"], "syscalls[3]");
    assert!(
        d["witness"]["call"].as_str().unwrap().starts_with("dup("),
        "{d}"
    );
    // The other way round: stricter, which the gate lets through, but a plain diff does not.
    assert_eq!(
        cli(&["diff", "--no-looser", &new, &old]).status.code(),
        Some(0)
    );
    assert_eq!(cli(&["diff", &new, &old]).status.code(), Some(1));
}

#[test]
fn another_errno_is_listed_but_is_not_looser() {
    let dir = tempfile::tempdir().unwrap();
    let old = profile(&dir, "old.json", BASE);
    let new = profile(
        &dir,
        "new.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13,"syscalls":[
        {"names":["read","write","getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["diff", "--no-looser", &old, &new]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "SCMP_ACT_ERRNO(1) (defaultAction) -> SCMP_ACT_ERRNO(13) (defaultAction), changed"
        ),
        "{out}"
    );
    assert!(out.contains("0 looser"), "{out}");
}

#[test]
fn invalid_input_exits_2_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = profile(&dir, "good.json", BASE);
    let bad = profile(
        &dir,
        "bad.json",
        r#"{"defaultAction":"SCMP_ACT_NOTIFY","syscalls":[]}"#,
    );
    let o = cli(&["diff", &good, &bad]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("defaultAction"), "{}", stderr(&o));
    let o = cli(&["diff", &good, "/nonexistent/profile.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(cli(&["diff", &good]).status.code(), Some(2));
}

#[test]
fn docker_profiles_are_rendered_before_they_are_compared() {
    let old = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";
    assert!(
        std::path::Path::new(old).is_file(),
        "{old} is missing: ./scripts/setup installs golang-github-docker-docker-dev"
    );
    let new = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/moby/upstream/default-seccomp-v0.2.3.json"
    );
    let o = cli(&["diff", "--format", "json", old, new]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let io_uring = v["differences"].as_array().unwrap().iter().any(|d| {
        d["change"] == "stricter"
            && d["witness"]["call"]
                .as_str()
                .unwrap()
                .starts_with("io_uring_setup(")
    });
    assert!(io_uring, "{v}");
}

#[test]
fn compiled_programs_compare_with_their_profiles_and_with_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(&dir, "p.json", BASE);
    for format in ["raw", "hex", "program"] {
        let out = dir.path().join(format!("p.{format}"));
        let o = cli(&[
            "compile",
            &p,
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = cli(&["diff", &p, out.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{format}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
    // A program against another profile: the program side has no deciding entry.
    let more = profile(
        &dir,
        "more.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","write","getppid","dup"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let raw = dir.path().join("p.raw");
    let o = cli(&["diff", "--format", "json", raw.to_str().unwrap(), &more]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["differences"][0];
    assert_eq!(d["syscall"], "dup");
    assert_eq!(d["a"]["decidedBy"], Value::Null);
    assert_eq!(d["b"]["decidedBy"], "syscalls[0]");
}

#[test]
fn a_program_the_walk_cannot_model_or_not_a_program_at_all_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(&dir, "p.json", BASE);
    // LDX IMM 0; TXA; RET A: valid for the kernel, but not a program of seccomp_data loads,
    // masks and constant jumps.
    let hex = profile(
        &dir,
        "x.hex",
        "0: 0001 00 00 00000000\n1: 0087 00 00 00000000\n2: 0016 00 00 00000000\n",
    );
    let o = cli(&["diff", &p, &hex]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be compared"), "{}", stderr(&o));
    let junk = profile(&dir, "junk.bin", "not a profile, not a program");
    let o = cli(&["diff", &p, &junk]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("neither a JSON profile nor a program"),
        "{}",
        stderr(&o)
    );
}

/// Runs `fmt` on `path`; returns the normalized text.
fn fmt(path: &str) -> String {
    let o = cli(&["fmt", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn fmt_gives_one_text_for_profiles_that_differ_only_in_writing() {
    let dir = tempfile::tempdir().unwrap();
    let a = profile(
        &dir,
        "a.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["write","read"],"action":"SCMP_ACT_ALLOW"},
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["getppid","read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let b = profile(
        &dir,
        "b.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":18446744073709551615,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}]},
        {"names":["read"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getppid","write"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let (fa, fb) = (fmt(&a), fmt(&b));
    assert_eq!(fa, fb);
    let v: Value = serde_json::from_str(&fa).unwrap();
    assert_eq!(v["syscalls"].as_array().unwrap().len(), 2, "{fa}");
    // And the normalized text decides as its original.
    let f = profile(&dir, "f.json", &fa);
    assert_eq!(cli(&["diff", &a, &f]).status.code(), Some(0));
}

/// Entry order decides ties of equally strict entries (libseccomp's order); `fmt` keeps the
/// order where sorting would change what a call gets, and the result is proven equal.
#[test]
fn fmt_keeps_the_order_that_decides_a_tie() {
    let dir = tempfile::tempdir().unwrap();
    let tie = profile(
        &dir,
        "tie.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":6,"args":[{"index":2,"value":100,"op":"SCMP_CMP_GT"}]},
        {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":2,"value":100,"op":"SCMP_CMP_GE"}]}]}"#,
    );
    let f = profile(&dir, "f.json", &fmt(&tie));
    let o = cli(&["diff", &tie, &f]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// Every OCI fixture, normalized, decides every call as before (the proof inside `fmt` and
/// `diff` from outside agree).
#[test]
fn fmt_never_changes_what_a_fixture_decides() {
    let dir = tempfile::tempdir().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let mut done = 0;
    for sub in ["moby/expected", "miscompiled"] {
        for e in std::fs::read_dir(format!("{root}/{sub}"))
            .unwrap()
            .flatten()
        {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let p = path.to_str().unwrap();
            let arch = if p.contains("aarch64") {
                "aarch64"
            } else {
                "x86_64"
            };
            let o = cli(&["fmt", "--arch", arch, p]);
            assert_eq!(o.status.code(), Some(0), "{p}: {}", stderr(&o));
            let f = profile(&dir, "f.json", &stdout(&o));
            let o = cli(&["diff", "--arch", arch, p, &f]);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{p}: {}{}",
                stdout(&o),
                stderr(&o)
            );
            done += 1;
        }
    }
    assert!(done >= 5, "{done} fixtures");
}

/// libseccomp (runc, crun) refuses some orders of overlapping entries of one syscall
/// (EEXIST) that decide alike; `fmt` never turns a profile it accepts into one it refuses.
#[test]
fn fmt_keeps_an_order_libseccomp_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        &dir,
        "p.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"op":"SCMP_CMP_EQ","value":1}]},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[
            {"index":0,"op":"SCMP_CMP_EQ","value":1},{"index":1,"op":"SCMP_CMP_EQ","value":1}]}]}"#,
    );
    let o = cli(&["compile", "--backend", "libseccomp", &p, "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = profile(&dir, "f.json", &fmt(&p));
    let o = cli(&["compile", "--backend", "libseccomp", &f, "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A FIFO nobody writes to, given as a profile, is read as empty and refused at once:
/// opening it does not wait for a writer.
#[test]
fn a_fifo_without_a_writer_does_not_hold_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let f = fifo.to_str().unwrap();
    for args in [vec!["check", f], vec!["diff", f, f]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oci-seccomp"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > std::time::Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{args:?} waited on the FIFO");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(!status.success(), "{args:?}");
    }
}

/// A change from a masked to a plain equality on socket's 32-bit family is equal as we
/// install it and looser as runc and crun do (they compare all 64 bits, and
/// `socket(0x100000028, ...)` is AF_VSOCK to the kernel): the gate for them is
/// `--arg-reading literal`.
#[test]
fn the_gate_reads_arguments_as_the_installing_runtime_does() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |arg: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["socket"],
            "action":"SCMP_ACT_ERRNO","args":[{arg}]}}]}}"#
        )
    };
    let old = profile(
        &dir,
        "old.json",
        &entry(r#"{"index":0,"value":4294967295,"valueTwo":40,"op":"SCMP_CMP_MASKED_EQ"}"#),
    );
    let new = profile(
        &dir,
        "new.json",
        &entry(r#"{"index":0,"value":40,"op":"SCMP_CMP_EQ"}"#),
    );
    let o = cli(&["diff", "--no-looser", &old, &new]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = cli(&[
        "diff",
        "--no-looser",
        "--arg-reading",
        "literal",
        &old,
        &new,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("socket (41) if arg0"), "{}", stdout(&o));
    assert!(stdout(&o).contains("looser"), "{}", stdout(&o));
}

/// Names no table here knows are skipped on both sides and said to be, in text and JSON.
#[test]
fn names_the_table_does_not_know_are_listed_as_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let a = profile(&dir, "a.json", BASE);
    let b = profile(
        &dir,
        "b.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["not_a_syscall_2099"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = cli(&["diff", &a, &b, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["notCompared"],
        serde_json::json!(["not_a_syscall_2099"]),
        "{v}"
    );
    let o = cli(&["diff", &a, &b]);
    assert!(
        stdout(&o).contains("not compared: not_a_syscall_2099"),
        "{}",
        stdout(&o)
    );
}

/// Thousands of conditional entries on one syscall, on three ABIs: answered or refused
/// with an error, never a crash of the walk's stack.
#[test]
fn thousands_of_entries_on_one_syscall_are_answered_or_refused_not_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let entries = |rev: bool| {
        let mut e: Vec<String> = (0..2500)
            .map(|i| {
                format!(
                    r#"{{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{{"index":1,"value":{},"op":"SCMP_CMP_EQ"}}]}}"#,
                    i % 50 + 1,
                    3 * i
                )
            })
            .collect();
        if rev {
            e.reverse();
        }
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[{}]}}"#,
            e.join(",")
        )
    };
    let a = profile(&dir, "a.json", &entries(false));
    let b = profile(&dir, "b.json", &entries(true));
    let o = cli(&["diff", &a, &b]);
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "{:?} {}",
        o.status,
        stderr(&o)
    );
    if o.status.code() == Some(2) {
        assert!(stderr(&o).contains("too complex"), "{}", stderr(&o));
    }
    let o = cli(&["diff", "/dev/null", &a]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
}

/// A program the walk cannot follow (scratch memory, the X register) is refused by `lift`
/// naming the instruction, and `lift --call` still decides one call by running it.
#[test]
fn lift_names_what_it_cannot_follow_and_still_decides_single_calls() {
    let dir = tempfile::tempdir().unwrap();
    // ld nr; st M[0]; ldx M[0]; txa; jeq 39 (getpid) -> ERRNO(5) else ALLOW
    let insns: [(u16, u8, u8, u32); 7] = [
        (0x20, 0, 0, 0),
        (0x02, 0, 0, 0),
        (0x61, 0, 0, 0),
        (0x87, 0, 0, 0),
        (0x15, 0, 1, 39),
        (0x06, 0, 0, 0x0005_0005),
        (0x06, 0, 0, 0x7fff_0000),
    ];
    let mut bytes = Vec::new();
    for (code, jt, jf, k) in insns {
        bytes.extend(code.to_le_bytes());
        bytes.extend([jt, jf]);
        bytes.extend(k.to_le_bytes());
    }
    let p = dir.path().join("mem.raw");
    std::fs::write(&p, bytes).unwrap();
    let p = p.to_str().unwrap();
    let o = cli(&["lift", p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("instruction 1"), "{}", stderr(&o));
    let o = cli(&["lift", p, "--call", "getpid"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("SCMP_ACT_ERRNO(5)"), "{}", stdout(&o));
    let o = cli(&["lift", p, "--call", "40", "1", "0x2"]);
    assert!(stdout(&o).contains("SCMP_ACT_ALLOW"), "{}", stdout(&o));
}
