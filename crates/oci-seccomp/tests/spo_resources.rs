//! The Security Profiles Operator's own resources (its examples, and the runc and crun
//! base profiles it publishes) read, and write back to resources that read as the same
//! profile, proven by comparing what they decide.

use oci_seccomp::spo::{parse_spo, published_bases, to_spo};
use oci_seccomp::{arch, diff, LinuxSeccomp, Profile, Semantics, Stub};

fn meaning(s: &LinuxSeccomp) -> Semantics {
    Semantics::new(&Profile::from_oci(s, false).unwrap(), Stub::Enosys)
}

fn fixtures() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/spo");
    let mut out = Vec::new();
    for name in [
        "seccompprofile.yaml",
        "seccompprofile-allowed-syscalls.yaml",
    ] {
        let path = format!("{dir}/{name}");
        out.push((name.to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    out
}

#[test]
fn the_operators_resources_round_trip_to_the_same_decisions() {
    let mut resources = published_bases().unwrap();
    for (file, text) in fixtures() {
        let read = parse_spo(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!read.is_empty(), "{file}");
        resources.extend(read);
    }
    assert!(resources.len() >= 10, "{}", resources.len());
    for r in &resources {
        let text = to_spo(
            &r.spec,
            &r.name,
            r.namespace.as_deref(),
            &r.annotations,
            arch::native(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", r.name));
        let back = parse_spo(&text).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(
            (&back[0].name, &back[0].annotations),
            (&r.name, &r.annotations)
        );
        let d = diff(&meaning(&r.spec), &meaning(&back[0].spec)).unwrap();
        assert!(d.is_empty(), "{}: {d:#?}", r.name);
    }
}
