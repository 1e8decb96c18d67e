//! Issue 5 item 2: unconditionally allowed syscalls stay "constant-allow" for the kernel's
//! action cache with the ENOSYS stub in front, on every listed architecture.

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::{is_constant_allow, simulate, Action, CompileOptions, Profile, Program};
use oci_seccomp_tests::{allowlist_json, program_with};

/// For every arch of the profile and every syscall number 0..1024 (x32: with bit 30):
/// constant-allow exactly when the profile allows the name unconditionally.
fn check_constant(json: &str) -> (usize, usize) {
    let spec = oci_seccomp::parse_profile(json).unwrap();
    let profile = Profile::from_oci(&spec, false).unwrap();
    let p: Program = program_with(json, &CompileOptions::default());
    let (mut constant, mut conditional) = (0, 0);
    for a in &profile.architectures {
        let a: &ArchInfo = a;
        let uncond: Vec<u32> = profile
            .rules
            .iter()
            .filter(|r| r.action == Action::Allow && r.conditions.is_empty())
            .filter_map(|r| arch::resolve(&r.name, a))
            .map(|n| n as u32)
            .collect();
        let cond: Vec<u32> = profile
            .rules
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
