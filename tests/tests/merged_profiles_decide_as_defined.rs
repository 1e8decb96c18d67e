//! A merged profile decides every call as its definition says, in the kernel: the union
//! gives each call the least strict of the inputs' actions, the intersection the strictest.
//! Checked on Docker 20.10's default and the current upstream default (both rendered for
//! Docker's default capabilities on this host): every region where the merge and an input
//! differ goes the way the definition allows, and its witness call, run in a forked child
//! under both compiled programs, gets the actions claimed. The merged profile is compact
//! (pieces of one argument joined) and its Docker form renders back to the same decisions.

use oci_seccomp::merge::{merge, Combine};
use oci_seccomp::moby::{parse_moby, render, to_docker, RenderOptions};
use oci_seccomp::{arch, diff, Change, LinuxSeccomp};
use oci_seccomp_tests::docker::{current_docker_profile, upstream_docker_profile};
use oci_seccomp_tests::witnesses::{check_in_kernel, semantics};

fn docker_defaults() -> (LinuxSeccomp, LinuxSeccomp) {
    let opts = RenderOptions::host();
    (
        render(&upstream_docker_profile(), &opts).unwrap(),
        render(&current_docker_profile(), &opts).unwrap(),
    )
}

/// `merged` against each input: the regions where they differ all change as `allowed`
/// says (the input stricter for a union, looser for an intersection, or as strict), there
/// is at least one, and the native witnesses are decided in the kernel as claimed.
fn differs_from_inputs_only_as(merged: &LinuxSeccomp, inputs: &[&LinuxSeccomp], allowed: Change) {
    for input in inputs {
        let d = diff(&semantics(merged), &semantics(input)).unwrap();
        for x in &d {
            assert!(
                x.change() == allowed || x.change() == Change::Other,
                "{x:?}"
            );
        }
        let native = d
            .iter()
            .filter(|x| x.abi == Some(arch::native().name) && x.change() == allowed)
            .count();
        assert!(
            native > 0,
            "the inputs differ, so the merge differs from each"
        );
        assert!(check_in_kernel(merged, input, &d) >= native);
    }
}

#[test]
fn the_union_of_two_docker_defaults_gives_each_call_the_least_strict_action() {
    let (old, new) = docker_defaults();
    let merged = merge(&[old.clone(), new.clone()], Combine::Union, arch::native()).unwrap();
    differs_from_inputs_only_as(&merged.spec, &[&old, &new], Change::Stricter);
    // 20.10 allows socket() outright, the upstream default all but AF_ALG and AF_VSOCK:
    // their union is socket() outright, one entry without conditions, not the pieces.
    let socket: Vec<_> = merged
        .spec
        .syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|e| e.names().iter().any(|n| n == "socket"))
        .collect();
    assert_eq!(socket.len(), 1, "{socket:#?}");
    assert!(
        socket[0].args().as_ref().is_none_or(Vec::is_empty),
        "{socket:#?}"
    );
}

#[test]
fn the_intersection_of_two_docker_defaults_gives_each_call_the_strictest_action() {
    let (old, new) = docker_defaults();
    let merged = merge(
        &[old.clone(), new.clone()],
        Combine::Intersection,
        arch::native(),
    )
    .unwrap();
    differs_from_inputs_only_as(&merged.spec, &[&old, &new], Change::Looser);
}

#[test]
fn the_docker_form_of_a_merge_renders_back_to_the_same_decisions() {
    let (old, new) = docker_defaults();
    let merged = merge(&[old, new], Combine::Union, arch::native()).unwrap();
    let text = to_docker(&merged.spec, arch::native()).unwrap().text;
    // Docker's reader, with other capabilities and an old kernel: the same profile.
    let opts = RenderOptions::host()
        .with_caps(["CAP_SYS_ADMIN"])
        .with_kernel(oci_seccomp::moby::KernelVersion {
            major: 3,
            minor: 10,
        });
    let rendered = render(&parse_moby(&text).unwrap(), &opts).unwrap();
    let d = diff(&semantics(&merged.spec), &semantics(&rendered)).unwrap();
    assert!(d.is_empty(), "{d:#?}");
}
