//! Determinism, layout and the simulator against the kernel on a large profile.
#![cfg(target_arch = "x86_64")]

use oci_seccomp::arch::AUDIT_ARCH_X86_64;
use oci_seccomp::{parse_profile, simulate, Action, CompileOptions, Program};
use oci_seccomp_tests::{allowlist_json, fork_child, probe, program_with, Exit, TIMEOUT};

const THREE: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

fn fnv(b: &[u8]) -> i64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3)
    }) as i64
}

#[test]
fn two_compiles_in_two_processes_give_identical_bytes() {
    let json = allowlist_json(400, THREE);
    let here = program_with(&json, &CompileOptions::default()).to_bytes();
    for _ in 0..2 {
        let r = fork_child(TIMEOUT, |rep| {
            let spec = parse_profile(&json).unwrap();
            let p = oci_seccomp::compile(&spec, &CompileOptions::default()).unwrap();
            let b = p.to_bytes();
            rep.report(b.len() as i64);
            rep.report(fnv(&b));
            0
        });
        assert_eq!(r.exit, Exit::Code(0));
        assert_eq!(r.values, [here.len() as i64, fnv(&here)]);
    }
    // And the bytes read back.
    assert_eq!(Program::from_bytes(&here).unwrap().to_bytes(), here);
}

#[test]
fn binary_tree_shortens_paths_and_agrees_with_linear() {
    // libseccomp's two layouts.
    let json = allowlist_json(300, &["SCMP_ARCH_X86_64"]);
    let libseccomp = CompileOptions::default().with_backend(oci_seccomp::Backend::Libseccomp);
    let tree = program_with(&json, &libseccomp);
    let linear = program_with(&json, &libseccomp.with_binary_tree_threshold(usize::MAX));
    let mut tree_total = 0;
    let mut linear_total = 0;
    for nr in 0..500 {
        for args in [
            [0u64; 6],
            [0x10000000, 0, 0, 0, 0, 0],
            [0xffff_ffff, 0, 0, 0, 0, 0],
            [5, 0, 0, 0, 0, 0],
        ] {
            let t = simulate(&tree, AUDIT_ARCH_X86_64, nr, args).unwrap();
            let l = simulate(&linear, AUDIT_ARCH_X86_64, nr, args).unwrap();
            assert_eq!(t.action, l.action, "nr {nr} args {args:?}");
            tree_total += t.executed;
            linear_total += l.executed;
        }
    }
    assert!(
        tree_total * 3 < linear_total,
        "tree {tree_total} vs linear {linear_total}"
    );
}

#[test]
fn simulate_agrees_with_the_kernel_on_a_large_profile() {
    let json = allowlist_json(400, THREE);
    let p = program_with(&json, &CompileOptions::default());
    // Syscalls that are safe to run with these arguments, plus denied and unknown ones.
    let probes: Vec<(i64, [u64; 6])> = vec![
        (110, [0; 6]),                           // getppid
        (39, [0; 6]),                            // getpid
        (102, [0; 6]),                           // getuid
        (135, [0xffff_ffff, 0, 0, 0, 0, 0]),     // personality query
        (135, [5, 0, 0, 0, 0, 0]),               // personality(5): denied
        (56, [0x1000_0000 | 17, 0, 0, 0, 0, 0]), // clone(CLONE_NEWUSER|SIGCHLD): denied
        (435, [0, 88, 0, 0, 0, 0]),              // clone3: ENOSYS
        (1000, [0; 6]),                          // unknown: ENOSYS
        (460, [0; 6]),
    ];
    let got = probe(&p, &probes);
    for ((nr, args), r) in probes.iter().zip(&got) {
        let d = simulate(&p, AUDIT_ARCH_X86_64, *nr as i32, *args).unwrap();
        match d.action {
            Action::Errno(e) => assert_eq!(*r, -i64::from(e), "nr {nr}"),
            Action::Allow => assert!(*r >= 0, "nr {nr}: {r}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got[4], -1);
    assert_eq!(got[5], -1);
    assert_eq!(got[6], -38);
    assert_eq!(got[7], -38);
}

/// On Docker's profile our program is no longer than libseccomp's
/// binary tree, and no syscall runs more instructions under it; the argument-checked
/// ones run fewer.
#[test]
fn our_programs_are_shorter_and_no_path_is_longer_than_libseccomps_tree() {
    use oci_seccomp::arch::{AUDIT_ARCH_I386, X32_SYSCALL_BIT};
    use oci_seccomp::Backend;
    let full = oci_seccomp_tests::docker_profile();
    for (label, spec) in [
        ("x86_64", oci_seccomp_tests::baseline::native_only(&full)),
        ("x86_64+x86+x32", full.clone()),
    ] {
        let ours = oci_seccomp::compile(&spec, &CompileOptions::default()).unwrap();
        let tree = oci_seccomp::compile(
            &spec,
            &CompileOptions::default().with_backend(Backend::Libseccomp),
        )
        .unwrap();
        assert!(
            ours.len() <= tree.len(),
            "{label}: {} vs {}",
            ours.len(),
            tree.len()
        );
        let mut abis = vec![(AUDIT_ARCH_X86_64, 0u32)];
        if label != "x86_64" {
            abis.push((AUDIT_ARCH_I386, 0));
            abis.push((AUDIT_ARCH_X86_64, X32_SYSCALL_BIT));
        }
        let mut fewer = 0;
        for (audit, bit) in abis {
            for nr in 0..600u32 {
                let nr = (nr | bit) as i32;
                for args in [
                    [0u64; 6],
                    [0xffff_ffff, 0, 0, 0, 0, 0],
                    [8, 0, 0, 0, 0, 0],
                    [0x7e02_0000, 0, 0, 0, 0, 0],
                    [40, 1, 0, 0, 0, 0],
                ] {
                    let a = simulate(&ours, audit, nr, args).unwrap();
                    let b = simulate(&tree, audit, nr, args).unwrap();
                    assert_eq!(a.action, b.action, "{label}: {nr} {args:x?}");
                    assert!(
                        a.executed <= b.executed,
                        "{label}: nr {nr:#x} on {audit:#x} {args:x?}: ours {} vs {}",
                        a.executed,
                        b.executed
                    );
                    if a.executed < b.executed {
                        fewer += 1;
                    }
                }
            }
        }
        assert!(fewer > 0, "{label}");
    }
}
