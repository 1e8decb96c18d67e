//! The oci-spec types this crate re-exports and takes are oci-spec's own, not look-alikes:
//! a runtime that builds its `linux.seccomp` with oci-spec passes it to us unchanged, and
//! gets back values it can use as oci-spec's. This file fails to compile otherwise (for
//! example when the workspace's oci-spec requirement and the one a runtime resolves are two
//! semver-incompatible versions: Cargo then builds two distinct `LinuxSeccomp` types).
//! docs/design.md §8 says which oci-spec version we follow.

use oci_seccomp::{compile, parse_profile, CompileOptions, Profile};
use oci_spec::runtime as spec;

/// `identity::<T>` coerces to `fn(A) -> B` only when `A`, `B` and `T` are one type.
fn identity<T>(value: T) -> T {
    value
}

#[test]
fn reexported_types_are_oci_spec_types() {
    let _: fn(spec::LinuxSeccomp) -> oci_seccomp::LinuxSeccomp = identity;
    let _: fn(oci_seccomp::LinuxSeccomp) -> spec::LinuxSeccomp = identity;
    let _: fn(spec::LinuxSeccompAction) -> oci_seccomp::LinuxSeccompAction = identity;
    let _: fn(oci_seccomp::LinuxSeccompAction) -> spec::LinuxSeccompAction = identity;
    let _: fn(spec::LinuxSeccompArg) -> oci_seccomp::LinuxSeccompArg = identity;
    let _: fn(oci_seccomp::LinuxSeccompArg) -> spec::LinuxSeccompArg = identity;
    let _: fn(spec::LinuxSeccompOperator) -> oci_seccomp::LinuxSeccompOperator = identity;
    let _: fn(oci_seccomp::LinuxSeccompOperator) -> spec::LinuxSeccompOperator = identity;
    let _: fn(spec::LinuxSyscall) -> oci_seccomp::LinuxSyscall = identity;
    let _: fn(oci_seccomp::LinuxSyscall) -> spec::LinuxSyscall = identity;
}

#[test]
fn an_oci_spec_profile_goes_in_and_comes_out_unchanged() {
    // Built with oci-spec's builders, as a runtime does, and passed where we take our type.
    let built: spec::LinuxSeccomp = spec::LinuxSeccompBuilder::default()
        .default_action(spec::LinuxSeccompAction::ScmpActErrno)
        .architectures(vec![spec::Arch::ScmpArchX86_64])
        .syscalls(vec![spec::LinuxSyscallBuilder::default()
            .names(vec!["getppid".to_string()])
            .action(spec::LinuxSeccompAction::ScmpActAllow)
            .build()
            .unwrap()])
        .build()
        .unwrap();
    Profile::from_oci(&built, false).unwrap();
    compile(&built, &CompileOptions::default()).unwrap();
    // What we parse is oci-spec's type: the runtime can store it in its own `Spec`.
    let parsed: spec::LinuxSeccomp = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let mut linux = spec::Linux::default();
    linux.set_seccomp(Some(parsed));
    assert_eq!(linux.seccomp().as_ref(), Some(&built));
}
