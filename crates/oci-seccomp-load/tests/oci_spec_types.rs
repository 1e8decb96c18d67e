//! What this crate takes, re-exports and returns is oci-spec's own types, so that a runtime
//! on the same oci-spec minor passes its `linux.seccomp` and its container state unchanged
//! (youki's seccomp module becomes one `pub use` of ours). This file fails to compile
//! otherwise. docs/design.md §8 says which oci-spec version we follow.

use std::os::fd::RawFd;

use oci_seccomp_load::SeccompError;
use oci_spec::runtime as spec;

/// `identity::<T>` coerces to `fn(A) -> B` only when `A`, `B` and `T` are one type.
fn identity<T>(value: T) -> T {
    value
}

#[test]
fn reexported_types_are_oci_spec_types() {
    let _: fn(spec::LinuxSeccomp) -> oci_seccomp_load::LinuxSeccomp = identity;
    let _: fn(oci_seccomp_load::LinuxSeccomp) -> spec::LinuxSeccomp = identity;
    let _: fn(spec::ContainerProcessState) -> oci_seccomp_load::protocol::ContainerProcessState =
        identity;
    let _: fn(oci_seccomp_load::protocol::ContainerProcessState) -> spec::ContainerProcessState =
        identity;
    let _: fn(spec::State) -> oci_seccomp_load::protocol::State = identity;
    let _: fn(oci_seccomp_load::protocol::State) -> spec::State = identity;
    let _: fn(spec::ContainerState) -> oci_seccomp_load::ContainerState = identity;
    let _: fn(oci_seccomp_load::ContainerState) -> spec::ContainerState = identity;
}

#[test]
fn youki_signatures_take_oci_spec_types() {
    // youki's `libcontainer::seccomp` signatures, with oci-spec's type named directly.
    let _: fn(&spec::LinuxSeccomp) -> Result<Option<RawFd>, SeccompError> =
        oci_seccomp_load::initialize_seccomp;
    let _: fn(&spec::LinuxSeccomp) -> bool = oci_seccomp_load::is_notify;
    // The features object is oci-spec's `features.json` `linux.seccomp`.
    let _: fn() -> spec::Seccomp = oci_seccomp_load::features;
}
