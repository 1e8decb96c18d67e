//! Unconditionally allowed syscalls stay "constant-allow" for the kernel's
//! action cache with the ENOSYS stub in front, on every listed architecture.

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::bpf::is_constant_allow;
use oci_seccomp::{simulate, Action, CompileOptions, Profile, Program};
use oci_seccomp_tests::{allowlist_json, program_with};

/// For every arch of the profile and every syscall number 0..1024 (x32: with bit 30):
/// constant-allow exactly when the profile allows the name unconditionally.
fn check_constant(json: &str) -> (usize, usize) {
    let spec = oci_seccomp::parse_profile(json).unwrap();
    let profile = Profile::from_oci(&spec, false).unwrap();
    let p: Program = program_with(json, &CompileOptions::default());
    let (mut constant, mut conditional) = (0, 0);
    for a in profile.architectures() {
        let a: &ArchInfo = a;
        let uncond: Vec<u32> = profile
            .rules()
            .iter()
            .filter(|r| r.action == Action::Allow && r.conditions.is_empty())
            .filter_map(|r| arch::resolve(&r.name, a))
            .map(|n| n as u32)
            .collect();
        let cond: Vec<u32> = profile
            .rules()
            .iter()
            .filter(|r| !r.conditions.is_empty())
            .filter_map(|r| arch::resolve(&r.name, a))
            .map(|n| n as u32)
            .collect();
        let base = if a.x32 { arch::X32_SYSCALL_BIT } else { 0 };
        for n in 0..1024u32 {
            let nr = base | n;
            let c = is_constant_allow(p.instructions(), a.audit_arch, nr);
            if uncond.contains(&nr) && !cond.contains(&nr) {
                assert!(
                    c,
                    "{} nr {nr:#x} is allowed unconditionally but not constant",
                    a.name
                );
                constant += 1;
            } else if c {
                // Constant-allow must really be ALLOW for every argument vector.
                let d = simulate(&p, a.audit_arch, nr as i32, [u64::MAX; 6]).unwrap();
                assert_eq!(d.action, Action::Allow, "{} nr {nr:#x}", a.name);
            }
            if cond.contains(&nr) {
                assert!(
                    !c,
                    "{} nr {nr:#x} has argument conditions but is constant",
                    a.name
                );
                conditional += 1;
            }
        }
    }
    (constant, conditional)
}

#[test]
fn allowlist_three_arches_constant_allow() {
    let (c, cond) = check_constant(&allowlist_json(
        400,
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    ));
    assert!(c > 900, "{c}");
    assert!(cond >= 4, "{cond}");
}

/// Docker's default profile (the upstream file rendered for Docker's default capabilities
/// on this host; CI requires the file): every unconditionally allowed syscall of every
/// architecture in the filter (x86_64, x86, x32 from archMap) is constant-allow with the
/// ENOSYS stub on.
#[test]
fn docker_profile_constant_allow() {
    // Fails, naming the package, when the file is not installed.
    let _ = oci_seccomp_tests::docker::upstream_docker_profile();
    let spec = oci_seccomp_tests::docker_profile();
    let json = serde_json::to_string(&spec).unwrap();
    let (c, cond) = check_constant(&json);
    eprintln!(
        "Docker profile: {c} constant-allow syscall numbers, {cond} with argument conditions"
    );
    assert!(c > 700, "{c}");
    assert!(cond >= 3, "{cond}");
}

/// `personality(0xffffffff)` runs at most as many instructions in our
/// program as in libseccomp's own tree layout of the same profile (and far fewer than in
/// its linear layout, which runc, crun and youki install); allowed argument-free syscalls
/// are no longer than in the linear layout either.
#[test]
fn docker_profile_path_lengths() {
    use oci_seccomp::bpf::{run, SeccompData};
    use oci_seccomp_tests::baseline::{linear_instructions, tree_instructions};
    let spec = oci_seccomp_tests::docker_profile();
    let ours = oci_seccomp::compile(&spec, &CompileOptions::default()).unwrap();
    let native = arch::native();
    let count = |insns: &[oci_seccomp::Instruction], name: &str, a0: u64| {
        let nr = arch::resolve(name, native).unwrap();
        let d = run(
            insns,
            &SeccompData {
                nr,
                arch: native.audit_arch,
                instruction_pointer: 0,
                args: [a0, 0, 0, 0, 0, 0],
            },
        )
        .unwrap();
        (d.action, d.executed)
    };
    let linear = linear_instructions(&spec);
    let tree = tree_instructions(&spec);
    let (a, o) = count(ours.instructions(), "personality", 0xffff_ffff);
    let (b, t) = count(&tree, "personality", 0xffff_ffff);
    let (c, l) = count(&linear, "personality", 0xffff_ffff);
    assert_eq!((a, b, c), (Action::Allow, Action::Allow, Action::Allow));
    eprintln!("personality(0xffffffff): ours {o}, libseccomp tree {t}, linear {l}");
    assert!(o <= t, "ours {o} > libseccomp tree {t}");
    assert!(o < l, "ours {o} >= linear {l}");
    let (_, o) = count(ours.instructions(), "getppid", 0);
    let (_, l) = count(&linear, "getppid", 0);
    eprintln!("getppid: ours {o}, linear {l}");
    assert!(o <= l, "getppid: ours {o} > linear {l}");
}
