//! The hostile-input corpus in `fixtures/bad/`. Every input gets a clear
//! error containing the expected text; nothing panics; nothing is installed (this crate
//! cannot install anything: refusing here means no program exists to install).

use std::fs;
use std::path::{Path, PathBuf};

use oci_seccomp::{compile, parse_profile, CompileOptions, Program};

fn fixtures(kind: &str) -> Vec<(PathBuf, Vec<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/bad")
        .join(kind);
    let mut out = Vec::new();
    for e in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "expect") {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "README.md") {
            continue;
        }
        let expect = fs::read_to_string(p.with_extension("expect"))
            .unwrap_or_else(|_| panic!("{} has no .expect file", p.display()));
        out.push((
            p,
            expect
                .lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect(),
        ));
    }
    out.sort();
    out
}

fn profile_error(text: &str) -> String {
    match parse_profile(text) {
        Err(e) => e.to_string(),
        Ok(spec) => match compile(&spec, &CompileOptions::default()) {
            Err(e) => e.to_string(),
            Ok(p) => panic!("accepted, {} instructions", p.len()),
        },
    }
}

fn assert_contains(what: &Path, msg: &str, expect: &[String]) {
    for line in expect {
        assert!(
            msg.contains(line.as_str()),
            "{}: error {msg:?} lacks {line:?}",
            what.display()
        );
    }
}

#[test]
fn every_bad_profile_is_refused_with_its_message() {
    let cases = fixtures("profile");
    assert!(cases.len() >= 35, "{}", cases.len());
    for (path, expect) in cases {
        let text = String::from_utf8(fs::read(&path).unwrap()).unwrap();
        let msg = profile_error(&text);
        assert_contains(&path, &msg, &expect);
    }
}

#[test]
fn every_bad_program_is_refused_with_its_message() {
    let cases = fixtures("program");
    assert!(cases.len() >= 10);
    for (path, expect) in cases {
        let bytes = fs::read(&path).unwrap();
        let msg = Program::from_bytes(&bytes)
            .expect_err(&path.display().to_string())
            .to_string();
        assert_contains(&path, &msg, &expect);
    }
}

#[test]
fn generated_giants_are_refused() {
    // 5,000 distinct rules: refused before libseccomp spends time on them.
    let rules: Vec<String> = (0..5000)
        .map(|i| format!(r#"{{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{{"index":1,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#))
        .collect();
    let m = profile_error(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        rules.join(",")
    ));
    assert!(
        m.contains("syscalls[4096].names[0]") && m.contains("more than 4096 distinct rules"),
        "{m}"
    );
    // 5,000 copies of one rule are one rule.
    let same: Vec<&str> = (0..5000)
        .map(|_| r#"{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":7,"op":"SCMP_CMP_EQ"}]}"#)
        .collect();
    let spec = parse_profile(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        same.join(",")
    ))
    .unwrap();
    assert!(compile(&spec, &CompileOptions::default()).is_ok());
    // A 10 MB string.
    let big = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"{}"}}"#,
        "a".repeat(10 << 20)
    );
    let m = profile_error(&big);
    assert!(m.contains("more than the 4194304-byte limit"), "{m}");
    // A long name under the size limit.
    let m = profile_error(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["{}"],"action":"SCMP_ACT_ALLOW"}}]}}"#,
        "n".repeat(1 << 20)
    ));
    assert!(
        m.contains("syscalls[0].names[0]") && m.contains("1048576 bytes"),
        "{m}"
    );
    // Deeply nested JSON.
    let m = profile_error(&"[".repeat(100_000));
    assert!(m.contains("recursion limit"), "{m}");
    let m = profile_error(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","x":{}}}"#,
        "[".repeat(10_000)
    ));
    assert!(m.contains("line 1"), "{m}");
}

#[test]
fn every_bad_moby_profile_is_refused_with_its_message() {
    use oci_seccomp::moby::{parse_moby, render, KernelVersion, RenderOptions};
    let cases = fixtures("moby");
    assert!(cases.len() >= 10, "{} moby fixtures", cases.len());
    let opts = RenderOptions::host()
        .with_arch(oci_seccomp::arch::by_name("SCMP_ARCH_X86_64").unwrap())
        .with_kernel(KernelVersion { major: 6, minor: 1 });
    for (path, expect) in cases {
        let text = fs::read_to_string(&path).unwrap();
        let msg = match parse_moby(&text).and_then(|p| render(&p, &opts)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{}: accepted", path.display()),
        };
        assert_contains(&path, &msg, &expect);
    }
}
