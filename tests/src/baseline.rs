//! The baselines benchmarks compare against: libseccomp's own layouts of the same profile.

use libseccomp::ScmpFilterContext;
use oci_seccomp::libseccomp::{build_profile_context, export_instructions};
use oci_seccomp::{CompileOptions, Instruction, LinuxSeccomp, Profile};

/// libseccomp's default layout (linear, priority-sorted): what runc, crun and youki
/// install. No ENOSYS stub, no binary tree.
pub fn linear_context(spec: &LinuxSeccomp) -> ScmpFilterContext {
    let profile = Profile::from_oci(spec, false).expect("valid profile");
    let opts = CompileOptions::default().with_binary_tree_threshold(usize::MAX);
    build_profile_context(&profile, &opts).expect("libseccomp builds the profile")
}

/// The instructions of [`linear_context`].
pub fn linear_instructions(spec: &LinuxSeccomp) -> Vec<Instruction> {
    export_instructions(&linear_context(spec)).expect("export")
}

/// libseccomp's binary-tree layout (`SCMP_FLTATR_CTL_OPTIMIZE` = 2) without our stub.
pub fn tree_instructions(spec: &LinuxSeccomp) -> Vec<Instruction> {
    let profile = Profile::from_oci(spec, false).expect("valid profile");
    let opts = CompileOptions::default().with_binary_tree_threshold(0);
    export_instructions(&build_profile_context(&profile, &opts).expect("build")).expect("export")
}

/// `spec` restricted to the native architecture alone.
pub fn native_only(spec: &LinuxSeccomp) -> LinuxSeccomp {
    let mut s = spec.clone();
    s.set_architectures(None);
    s
}
