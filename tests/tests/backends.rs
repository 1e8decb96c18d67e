//! Our generator and libseccomp's decide alike on every possible input,
//! compared by the complete checker (`proof::compare_programs`, nothing sampled), except
//! where libseccomp's program is wrong (the proof refuses it) or where the profile allows
//! either answer (overlapping entries, multiplexed calls). Every difference is classified;
//! docs/conformance.md lists the classes with witnesses.
#![cfg(target_arch = "x86_64")]

use std::collections::BTreeMap;

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::moby::{render, KernelVersion, RenderOptions, DOCKER_DEFAULT_CAPS};
use oci_seccomp::proof::compare_programs;
use oci_seccomp::{compile, parse_profile, Backend, CompileOptions, LinuxSeccomp, Profile};
use oci_seccomp::{Semantics, Stub};
use oci_seccomp_tests::upstream_docker_profile;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// How the two programs differ on one profile.
#[derive(Debug, Default)]
struct Outcome {
    /// Inputs where libseccomp's program is wrong (and the proof refuses it).
    libseccomp_wrong: usize,
    /// Inputs where both answers are the profile's (overlapping entries of different
    /// actions, or a stricter answer to a multiplexed call).
    either: usize,
    /// libseccomp's backend refused the profile (complexity limits, or an error).
    libseccomp_refused: bool,
    /// Inputs where libseccomp's answer is as strict as the profile's but another one:
    /// a tie decided otherwise than `profile::tie_ranks` says (none expected).
    tie_disagreements: Vec<String>,
}

/// Compiles `spec` for `target` with both backends and classifies every difference.
fn compare(what: &str, spec: &LinuxSeccomp, target: &'static ArchInfo) -> Outcome {
    let opts = CompileOptions::default().with_target(Some(target));
    let ours = compile(spec, &opts).unwrap_or_else(|e| panic!("{what}: ours refused: {e}"));
    let mut out = Outcome::default();
    if target.big_endian != arch::native().big_endian {
        return out;
    }
    let theirs = match oci_seccomp::libseccomp::compile_unproven(
        spec,
        &opts.clone().with_backend(Backend::Libseccomp),
    ) {
        Ok(p) => p,
        Err(_) => {
            out.libseccomp_refused = true;
            return out;
        }
    };
    let profile = Profile::from_oci_for(spec, false, target).unwrap();
    let semantics = Semantics::new(&profile, Stub::Enosys);
    let theirs_proven =
        oci_seccomp::proof::prove_instructions(&semantics, theirs.instructions()).is_ok();
    let diffs = compare_programs(ours.instructions(), theirs.instructions(), 256)
        .unwrap_or_else(|e| panic!("{what}: comparison failed: {e:?}"));
    for d in diffs {
        let (a, nr) = (d.point.arch, d.point.nr as u32);
        let args: [u64; 6] = d.point.args;
        let verdict = semantics.decide(a, nr, args);
        let theirs_action = d.want.outcomes[0].0;
        let call = oci_seccomp::proof::describe_call(&d.point);
        assert!(
            verdict.accepts(d.got),
            "{what}: ours returns {} for {call}, the profile says {verdict:?}",
            d.got
        );
        if verdict.accepts(theirs_action) {
            assert!(
                verdict.outcomes.len() > 1 || verdict.at_least,
                "{what}: both programs right but different for {call}: {verdict:?}"
            );
            out.either += 1;
        } else {
            assert!(
                !theirs_proven,
                "{what}: libseccomp wrong for {call} and yet proven"
            );
            // A tie: libseccomp answers with another matching rule's action of the same
            // strictness (not the default, which is libseccomp being wrong otherwise).
            let tie = !verdict.at_least
                && matches!(verdict.outcomes[0].1, oci_seccomp::Cause::Entry(_))
                && theirs_action != profile.default_action()
                && oci_seccomp::strictness(theirs_action)
                    == oci_seccomp::strictness(verdict.outcomes[0].0);
            if tie {
                out.tie_disagreements
                    .push(format!("{call}: libseccomp {theirs_action}, {verdict:?}"));
            }
            out.libseccomp_wrong += 1;
        }
    }
    out
}

fn parse(json: &str) -> LinuxSeccomp {
    parse_profile(json).unwrap()
}

/// Our program and libseccomp's (proven too), for this host.
fn both(json: &str) -> (oci_seccomp::Program, oci_seccomp::Program) {
    let spec = parse(json);
    let ours = compile(&spec, &CompileOptions::default()).unwrap();
    let theirs = compile(
        &spec,
        &CompileOptions::default().with_backend(Backend::Libseccomp),
    )
    .unwrap();
    (ours, theirs)
}

#[test]
fn fixtures_decide_alike_except_where_libseccomp_is_wrong() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
    let mut seen = 0;
    for sub in ["miscompiled", "moby/expected"] {
        for e in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let spec = parse(&text);
            let target = if p.to_string_lossy().contains("aarch64") {
                arch::by_name("SCMP_ARCH_AARCH64").unwrap()
            } else {
                arch::native()
            };
            let o = compare(&p.display().to_string(), &spec, target);
            if sub == "miscompiled" {
                assert!(o.libseccomp_wrong > 0, "{}: {o:?}", p.display());
            } else {
                assert_eq!(o.libseccomp_wrong, 0, "{}: {o:?}", p.display());
                assert!(!o.libseccomp_refused, "{}", p.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 8, "{seen} fixtures");
}

/// Every capability named by Docker's profile, from its `includes`/`excludes`.
fn docker_caps() -> Vec<String> {
    let path = oci_seccomp_tests::upstream_docker_profile_path().expect("upstream profile");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut caps = std::collections::BTreeSet::new();
    for e in v["syscalls"].as_array().unwrap() {
        for k in ["includes", "excludes"] {
            for c in e[k]["caps"].as_array().into_iter().flatten() {
                caps.insert(c.as_str().unwrap().to_string());
            }
        }
    }
    caps.into_iter().collect()
}

#[test]
fn docker_profile_for_every_capability_set_and_architecture() {
    let upstream = upstream_docker_profile();
    let mentioned = docker_caps();
    assert!(mentioned.len() >= 10, "{mentioned:?}");
    let default: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    // Capability sets: none, Docker's, all it mentions, and Docker's with each mentioned
    // capability added or removed: each entry's includes/excludes flips in one of them.
    let mut sets: Vec<(String, Vec<String>)> = vec![
        ("none".into(), Vec::new()),
        ("docker".into(), default.clone()),
        ("all".into(), mentioned.clone()),
    ];
    for c in &mentioned {
        let mut s = default.clone();
        if let Some(i) = s.iter().position(|x| x == c) {
            s.remove(i);
            sets.push((format!("docker-{c}"), s));
        } else {
            s.push(c.clone());
            sets.push((format!("docker+{c}"), s));
        }
    }
    let arches = [
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PPC64",
    ];
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for a in arches {
        let target = arch::by_name(a).unwrap();
        for (name, caps) in &sets {
            let opts = RenderOptions::host()
                .with_caps(caps)
                .with_arch(target)
                .with_kernel(KernelVersion { major: 6, minor: 1 });
            let spec = render(&upstream, &opts).unwrap();
            let o = compare(&format!("docker {name} on {a}"), &spec, target);
            assert_eq!(o.libseccomp_wrong, 0, "docker {name} on {a}: {o:?}");
            assert!(!o.libseccomp_refused, "docker {name} on {a}");
            *totals.entry(a).or_default() += o.either;
        }
    }
    eprintln!("inputs decided differently but both right, per arch: {totals:?}");
}

/// Random profiles over a few syscalls (overlapping entries allowed), with both
/// backends, for x86_64 and the x86_64 + x86 + x32 family.
#[test]
fn random_profiles_decide_alike_except_where_libseccomp_is_wrong() {
    let names = [
        "getppid",
        "personality",
        "socket",
        "setsockopt",
        "msgget",
        "ipc",
        "socketcall",
        "clone",
        "getpid",
    ];
    let ops = [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    let actions = [
        r#""SCMP_ACT_ALLOW""#,
        r#""SCMP_ACT_ERRNO","errnoRet":5"#,
        r#""SCMP_ACT_ERRNO","errnoRet":9"#,
        r#""SCMP_ACT_KILL_PROCESS""#,
        r#""SCMP_ACT_TRAP""#,
        r#""SCMP_ACT_LOG""#,
    ];
    let values = [
        0u64,
        1,
        2,
        9,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0005,
        u64::MAX,
        0x8000_0000_0000_0000,
    ];
    let arg = (0u8..3, 0..ops.len(), 0..values.len(), 0..values.len());
    let entry = (
        proptest::collection::vec(0..names.len(), 1..3),
        0..actions.len(),
        proptest::collection::vec(arg, 0..3),
    );
    let strategy = (
        0..actions.len(),
        any::<bool>(),
        proptest::collection::vec(entry, 1..6),
    );
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let wrong = std::cell::Cell::new(0);
    let either = std::cell::Cell::new(0);
    runner
        .run(&strategy, |(default, three, entries)| {
            let entries: Vec<String> = entries
                .iter()
                .map(|(ns, a, args)| {
                    let ns: Vec<String> = ns.iter().map(|n| format!("{:?}", names[*n])).collect();
                    let args: Vec<String> = args
                        .iter()
                        .map(|(i, o, v, v2)| {
                            format!(
                                r#"{{"index":{i},"op":"{}","value":{},"valueTwo":{}}}"#,
                                ops[*o], values[*v], values[*v2]
                            )
                        })
                        .collect();
                    format!(
                        r#"{{"names":[{}],"action":{},"args":[{}]}}"#,
                        ns.join(","),
                        actions[*a],
                        args.join(",")
                    )
                })
                .collect();
            let arches = if three {
                r#""SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32""#
            } else {
                r#""SCMP_ARCH_X86_64""#
            };
            let default = if actions[default].contains("ALLOW") {
                r#""SCMP_ACT_ALLOW""#
            } else {
                actions[default]
            };
            let json = format!(
                r#"{{"defaultAction":{default},"architectures":[{arches}],"syscalls":[{}]}}"#,
                entries.join(",")
            );
            let spec = parse(&json);
            if Profile::from_oci(&spec, false).is_err() {
                return Ok(());
            }
            let o = compare(&json, &spec, arch::native());
            assert!(
                o.tie_disagreements.is_empty(),
                "{json}: libseccomp decides ties otherwise: {:?}",
                o.tie_disagreements
            );
            wrong.set(wrong.get() + o.libseccomp_wrong);
            either.set(either.get() + o.either);
            Ok(())
        })
        .unwrap();
    eprintln!(
        "libseccomp wrong on {} regions, both right on {}",
        wrong.get(),
        either.get()
    );
}

/// Overlapping entries of different actions: the strictest matching entry decides (the
/// kernel's precedence between filters), so an overlap never weakens a deny. libseccomp's
/// program gives the one its tree reaches first: the kernel shows it, and the complete
/// check refuses it, so `--backend libseccomp` installs nothing (docs/conformance.md).
#[test]
fn overlapping_entries_get_the_strictest_action_and_libseccomps_weaker_program_is_refused() {
    use oci_seccomp_tests::{raw, run_filtered, Exit, TIMEOUT};
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":1,"value":7,"op":"SCMP_CMP_EQ"}]},
        {"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":1,"op":"SCMP_CMP_GE"}]}]}"#;
    let spec = parse(json);
    let ours = compile(&spec, &CompileOptions::default()).unwrap();
    let lsc = CompileOptions::default().with_backend(Backend::Libseccomp);
    let e = compile(&spec, &lsc).expect_err("libseccomp's weaker program must be refused");
    assert!(e.to_string().contains("syscalls[1]"), "{e}");
    let theirs = oci_seccomp::libseccomp::compile_unproven(&spec, &lsc.clone()).unwrap();
    let call = [1u64, 7, 0, 0, 0, 0];
    let under = |p: &oci_seccomp::Program| {
        run_filtered(p, TIMEOUT, |rep| {
            rep.report(raw(110, call));
            0
        })
    };
    let r = under(&ours);
    assert_eq!(r.exit, Exit::Signal(libc::SIGSYS), "ours: {r:?}");
    let r = under(&theirs);
    assert_eq!(r.exit, Exit::Code(0), "libseccomp's: {r:?}");
    assert_eq!(r.values, vec![-5], "libseccomp's: {r:?}");
    // Elsewhere they agree: only where both entries match.
    let diffs = compare_programs(ours.instructions(), theirs.instructions(), 16).unwrap();
    assert!(!diffs.is_empty());
    for d in &diffs {
        assert_eq!(d.got, oci_seccomp::Action::KillProcess);
        assert!(d.point.args[0] >= 1 && d.point.args[1] == 7, "{d:?}");
    }
}

/// `ipc`'s first argument carries the call in its low 16 bits and a version above; ours
/// compares the call through that mask and gives `semop` through `ipc` the rule's action.
/// libseccomp 2.5.4's program gives the default to `semop` through `ipc` in any encoding
/// (stricter, so the check accepts it too).
#[test]
fn a_versioned_ipc_call_gets_its_rule_from_ours() {
    use oci_seccomp::arch::AUDIT_ARCH_I386;
    use oci_seccomp::{simulate, Action};
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
        {"names":["semop"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let (ours, theirs) = both(json);
    const IPC: i32 = 117;
    let run = |p: &oci_seccomp::Program, call: u64| {
        simulate(p, AUDIT_ARCH_I386, IPC, [call, 0, 0, 0, 0, 0])
            .unwrap()
            .action
    };
    assert_eq!(run(&ours, 1), Action::Allow);
    assert_eq!(run(&theirs, 1), Action::Errno(1));
    assert_eq!(run(&ours, 0x1_0001), Action::Allow);
    assert_eq!(run(&theirs, 0x1_0001), Action::Errno(1));
    // Another call stays refused by both.
    assert_eq!(run(&ours, 2), Action::Errno(1));
    assert_eq!(run(&theirs, 2), Action::Errno(1));
}
