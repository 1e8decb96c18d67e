//! Reading, selecting, writing and composing resources; the YAML guards.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use super::guards::tag_line;
use super::*;
use crate::compare::diff;
use crate::profile::semantics::{Semantics, Stub};
use crate::profile::Profile;

const ONE: &str = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: a
  annotations:
    recorded-by: oci-seccomp
spec:
  defaultAction: SCMP_ACT_ERRNO
  syscalls:
  - action: SCMP_ACT_ERRNO
    errnoRet: 38
    names: [io_uring_setup]
  - action: SCMP_ACT_ALLOW
    names: [read]
";

fn err(text: &str) -> String {
    parse_spo(text).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn a_resource_reads_as_its_spec_with_its_metadata() {
    let p = parse_spo(ONE).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].name, "a");
    assert_eq!(p[0].annotations["recorded-by"], "oci-seccomp");
    let e = &p[0].spec.syscalls().as_ref().unwrap()[0];
    assert_eq!(e.errno_ret(), Some(38));
}

#[test]
fn several_resources_need_a_selection_that_names_one() {
    let two = format!("{ONE}---\n{}", ONE.replace("name: a", "name: b"));
    let all = parse_spo(&two).unwrap();
    let e = select(all.clone(), None).unwrap_err().to_string();
    assert!(e.contains("--select") && e.contains("a, b"), "{e}");
    assert_eq!(select(all.clone(), Some("b")).unwrap().name, "b");
    let e = select(all, Some("c")).unwrap_err().to_string();
    assert!(e.contains("\"c\"") && e.contains("a, b"), "{e}");
    // A List, as kubectl writes it, in JSON.
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            serde_saphyr::from_str::<Value>(ONE).unwrap()]});
    assert_eq!(parse_spo(&list.to_string()).unwrap()[0].name, "a");
}

#[test]
fn wrong_or_unknown_fields_are_errors_with_their_path() {
    let e = err(&ONE.replace("names: [read]", "names: [read]\n    arg: []"));
    assert!(
        e.contains("spec.syscalls[1].arg") && e.contains("unknown"),
        "{e}"
    );
    let e = err(&ONE.replace("v1beta1", "v9"));
    assert!(e.contains("apiVersion") && e.contains("v9"), "{e}");
    let e = err(&ONE.replace("kind: SeccompProfile", "kind: AppArmorProfile"));
    assert!(e.contains("kind") && e.contains("AppArmorProfile"), "{e}");
    let e = err(&ONE.replace("errnoRet: 38", "errnoRet: ENOSYS"));
    assert!(e.contains("spec.syscalls[0].errnoRet"), "{e}");
    let e = err(&ONE.replace(
        "  defaultAction: SCMP_ACT_ERRNO\n",
        "  defaultAction: SCMP_ACT_ERRNO\n  defaultErrnoRet: 38\n",
    ));
    assert!(
        e.contains("spec.defaultErrnoRet") && e.contains("EPERM"),
        "{e}"
    );
    let e = err(&ONE.replace(
        "  defaultAction: SCMP_ACT_ERRNO\n",
        "  defaultAction: SCMP_ACT_ERRNO\n  defaultAction: SCMP_ACT_ALLOW\n",
    ));
    assert!(e.to_lowercase().contains("duplicate"), "{e}");
    let e = err(&ONE.replace("SCMP_ACT_ALLOW", "SCMP_ACT_ALOW"));
    assert!(e.contains("spec") && e.contains("SCMP_ACT_ALOW"), "{e}");
}

#[test]
fn what_kubectl_and_the_operator_read_is_what_is_read_here() {
    // `<<` merge keys: kubectl lets a later one override earlier keys, the spec not.
    let merged = ONE.replace(
            "  - action: SCMP_ACT_ALLOW\n    names: [read]\n",
            "  - &allow {action: SCMP_ACT_ALLOW, names: [read]}\n  - action: SCMP_ACT_ERRNO\n    <<: *allow\n    names: [close]\n",
        );
    assert!(
        err(&merged).to_lowercase().contains("merge"),
        "{}",
        err(&merged)
    );
    // operator v1.0's stored version.
    let v1 = ONE.replace("v1beta1", "v1");
    assert_eq!(parse_spo(&v1).unwrap()[0].name, "a");
    // errnoRet 0 is left out by the operator: EPERM, as without it.
    let zero = ONE.replace("errnoRet: 38", "errnoRet: 0");
    let p = parse_spo(&zero).unwrap();
    assert_eq!(p[0].spec.syscalls().as_ref().unwrap()[0].errno_ret(), None);
    // A quoted "38" (operator v0.8.0) reads as 38.
    let quoted = ONE.replace("errnoRet: 38", "errnoRet: \"38\"");
    assert_eq!(
        parse_spo(&quoted).unwrap()[0]
            .spec
            .syscalls()
            .as_ref()
            .unwrap()[0]
            .errno_ret(),
        Some(38)
    );
    // Two resources of one name: refused, named; NAMESPACE/NAME chooses.
    let two = format!(
        "{}---\n{}",
        ONE.replace("  name: a\n", "  name: a\n  namespace: prod\n"),
        ONE.replace("  name: a\n", "  name: a\n  namespace: dev\n")
    );
    let all = parse_spo(&two).unwrap();
    let e = select(all.clone(), Some("a")).unwrap_err().to_string();
    assert!(
        e.contains("2 SeccompProfiles") && e.contains("prod/a, dev/a"),
        "{e}"
    );
    assert_eq!(
        select(all, Some("dev/a")).unwrap().namespace.as_deref(),
        Some("dev")
    );
}

#[test]
fn resources_are_recognised_however_they_are_laid_out() {
    let late = format!("{}{ONE}", "# comment\n".repeat(100));
    assert!(is_spo_text(&late));
    assert_eq!(parse_spo(&late).unwrap()[0].name, "a");
    let flow = "{apiVersion: security-profiles-operator.x-k8s.io/v1beta1, kind: SeccompProfile, metadata: {name: f}, spec: {defaultAction: SCMP_ACT_ERRNO}}";
    assert!(is_spo_text(flow));
    assert_eq!(parse_spo(flow).unwrap()[0].name, "f");
    assert!(!is_spo_text(r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#));
}

#[test]
fn layouts_kubectl_reads_otherwise_are_refused() {
    for text in [
        format!("{ONE}...\n---\n{ONE}"),
        format!("--- {{apiVersion: x}}\n{ONE}"),
        ONE.replace('\n', "\r"),
    ] {
        assert!(parse_spo(&text).is_err(), "{text}");
    }
    assert!(parse_spo(&ONE.replace('\n', "\r\n")).is_ok());
    assert!(parse_spo(&format!("--- # first\n{ONE}")).is_ok());
    // errnoRet strings: digits only.
    for bad in ["\"+38\"", "\" 38\"", "\"038\""] {
        assert!(
            parse_spo(&ONE.replace("errnoRet: 38", &format!("errnoRet: {bad}"))).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn tags_are_found_where_a_node_starts_only() {
    assert_eq!(tag_line("a: !!binary YQ=="), Some(1));
    assert_eq!(tag_line("- !foo 7"), Some(1));
    assert_eq!(tag_line("a: [1, !x 2]"), Some(1));
    // Inside a plain or quoted scalar, `!` is a character.
    assert_eq!(tag_line("note: Wow !x"), None);
    assert_eq!(tag_line("note: \"hi! !there\""), None);
    // After an anchor, and after a CR alone.
    assert_eq!(tag_line("a: &d !!binary U0M="), Some(1));
    assert_eq!(tag_line("&k !!binary ZA==: x"), Some(1));
    assert_eq!(tag_line("a: 1\rb: !!binary ZA=="), Some(2));
    assert_eq!(tag_line("a: &anchor plain"), None);
    // A double-quoted scalar continued on the next line hides no tag.
    assert_eq!(tag_line("a: \"x\\\n  y\"\nb: !t z"), Some(3));
}

#[test]
fn hostile_yaml_is_refused() {
    // Aliases that expand exponentially ("billion laughs").
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge = format!("kind: \"{}\"", "x".repeat(MAX_PROFILE_BYTES + 1));
    let docs = "---\na: 1\n".repeat(5000);
    for text in [bomb.as_str(), deep.as_str(), huge.as_str(), docs.as_str()] {
        assert!(parse_spo(text).is_err());
    }
    // A tag could make a value read as something else: refused, with its line.
    let e = err(&ONE.replace("name: a", "name: !!binary YQ=="));
    assert!(e.contains("line 4") && e.contains("tag"), "{e}");
    // A `!` inside a quoted value is no tag.
    assert!(parse_spo(&ONE.replace("recorded-by: oci-seccomp", "note: \"hi! there\"")).is_ok());
}

#[test]
fn the_published_bases_read_and_compose_by_proven_union() {
    let bases = published_bases().unwrap();
    let names: Vec<&str> = bases.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["runc-v1.2.3", "crun-v1.21"]);
    let app = &parse_spo(&ONE.replace(
        "  defaultAction: SCMP_ACT_ERRNO\n",
        "  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: runc-v1.2.3\n",
    ))
    .unwrap()[0];
    let composed = compose(app, &bases, crate::arch::native()).unwrap();
    // The profile keeps its own default: a base's default never decides.
    let mut loose = bases[0].clone();
    loose
        .spec
        .set_default_action(oci_spec::runtime::LinuxSeccompAction::ScmpActAllow);
    let with_loose = compose(app, &[loose], crate::arch::native()).unwrap();
    assert_eq!(with_loose.default_action(), app.spec.default_action());
    let m = |s: &LinuxSeccomp| Semantics::new(&Profile::from_oci(s, false).unwrap(), Stub::Enosys);
    // Never stricter than either part: each part is nowhere looser than the union.
    for part in [&app.spec, &bases[0].spec] {
        let d = diff(&m(&composed), &m(part)).unwrap();
        assert!(
            d.iter().all(|x| x.change() != crate::Change::Looser),
            "{d:#?}"
        );
    }
    // Missing and circular bases.
    let e = compose(app, &[], crate::arch::native())
        .unwrap_err()
        .to_string();
    assert!(e.contains("runc-v1.2.3") && e.contains("not found"), "{e}");
    let mut a = app.clone();
    a.name = "x".into();
    a.base_profile_name = Some("y".into());
    let mut b = app.clone();
    b.name = "y".into();
    b.base_profile_name = Some("x".into());
    let e = compose(&a, &[b], crate::arch::native())
        .unwrap_err()
        .to_string();
    assert!(e.contains("circle") && e.contains("x -> y -> x"), "{e}");
}

#[test]
fn written_resources_read_back_to_the_same_decisions_or_are_refused() {
    let spec = crate::parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
            {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
             "args":[{"index":0,"value":0,"op":"SCMP_CMP_NE"}]}]}"#,
    )
    .unwrap();
    let mut notes = BTreeMap::new();
    notes.insert("oci-seccomp/recorded".to_string(), "yes".to_string());
    let text = to_spo(&spec, "w", Some("ns"), &notes, crate::arch::native()).unwrap();
    let back = select(parse_spo(&text).unwrap(), Some("w")).unwrap();
    assert_eq!(back.namespace.as_deref(), Some("ns"));
    assert_eq!(back.annotations, notes);
    // `value: 0` is written (the operator's Go type omits a zero value, and reads it
    // back as 0: the same).
    assert_eq!(
        serde_json::to_value(&back.spec).unwrap()["syscalls"],
        serde_json::to_value(&spec).unwrap()["syscalls"]
    );
    let other_default =
        crate::parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38}"#).unwrap();
    let e = to_spo(
        &other_default,
        "w",
        None,
        &BTreeMap::new(),
        crate::arch::native(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("defaultErrnoRet") && e.contains("EPERM"), "{e}");
}
