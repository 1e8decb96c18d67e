//! A program for any architecture from any host, big-endian targets
//! included, without the build host's architecture in it; the simulator reads
//! `seccomp_data` in the target's byte order.

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::moby::{render_default, KernelVersion, RenderOptions};
use oci_seccomp::Cause;
use oci_seccomp::{compile, parse_profile, simulate, Action, CompileOptions, Profile, SeccompData};

fn target(name: &str) -> &'static ArchInfo {
    arch::by_name(name).unwrap_or_else(|| panic!("{name}"))
}

fn for_target(t: &'static ArchInfo) -> CompileOptions {
    CompileOptions::default().with_target(Some(t))
}

/// On s390, syscall 0 is not a real call (the number then comes from a register), and a
/// filter sees 0: the stub answers ENOSYS. The arguments are read big-endian.
#[test]
fn s390x_syscall_zero_gets_enosys_from_the_stub() {
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_S390X"],"syscalls":[
        {"names":["getppid","exit_group"],"action":"SCMP_ACT_ALLOW"},
        {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#;
    let spec = parse_profile(json).unwrap();
    let s390x = target("SCMP_ARCH_S390X");
    // For this host it cannot be built: the byte orders differ.
    if !arch::native().big_endian {
        let e = compile(&spec, &CompileOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--arch s390x"), "{e}");
    }
    let p = compile(&spec, &for_target(s390x)).unwrap();
    let profile = Profile::from_oci_for(&spec, false, s390x).unwrap();
    let a = s390x.audit_arch;
    let run = |nr: i32, args: [u64; 6]| simulate(&p, a, nr, args).unwrap().action;
    assert_eq!(run(0, [0; 6]), Action::Errno(38));
    assert_eq!(profile.decide(a, 0, [0; 6]).outcomes[0].1, Cause::Stub);
    let personality = arch::resolve("personality", s390x).unwrap();
    assert_eq!(run(personality, [8, 0, 0, 0, 0, 0]), Action::Allow);
    // `personality` reads an `unsigned int`: the kernel's reading compares the low word,
    // which is the second word in memory on a big-endian host.
    assert_eq!(
        run(personality, [0x8_0000_0008, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(
        run(personality, [0x8_0000_0000, 0, 0, 0, 0, 0]),
        Action::Errno(1)
    );
    // Read literally (runc), the 64-bit ABI's high word counts, and it is the first word.
    let literal = compile(
        &spec,
        &for_target(s390x).with_arg_reading(oci_seccomp::ArgReading::Literal),
    )
    .unwrap();
    let run_literal = |nr: i32, args: [u64; 6]| simulate(&literal, a, nr, args).unwrap().action;
    assert_eq!(
        run_literal(personality, [0x8_0000_0008, 0, 0, 0, 0, 0]),
        Action::Errno(1)
    );
    assert_eq!(
        run_literal(personality, [0x8_0000_0000, 0, 0, 0, 0, 0]),
        Action::Errno(1)
    );
    assert_eq!(run_literal(personality, [8, 0, 0, 0, 0, 0]), Action::Allow);
    let data = SeccompData {
        nr: personality,
        arch: a,
        instruction_pointer: 0,
        args: [8, 0, 0, 0, 0, 0],
    };
    assert!(data.big_endian());
    // No x86_64 in the program: a native call is a foreign ABI.
    assert_eq!(
        simulate(&p, arch::AUDIT_ARCH_X86_64, 110, [0; 6])
            .unwrap()
            .action,
        Action::KillThread
    );
    // Above the highest number the profile names: the stub too.
    assert_eq!(run(400, [0; 6]), Action::Errno(38));
}

/// Docker's default profile for every architecture this libseccomp knows, from this host:
/// every program is proven (by `compile`), carries the target's ABIs and not this host's,
/// and decides like the profile on a few calls per ABI.
#[test]
fn docker_default_for_every_architecture_from_this_host() {
    let mut built = 0;
    for t in arch::ALL {
        if oci_seccomp::arch::libseccomp_version() < t.min_libseccomp {
            continue;
        }
        let opts = RenderOptions::host()
            .with_arch(t)
            .with_kernel(KernelVersion { major: 6, minor: 1 });
        let spec = render_default(&opts).unwrap();
        let p = compile(&spec, &for_target(t)).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let profile = Profile::from_oci_for(&spec, false, t).unwrap();
        assert_eq!(profile.architectures()[0].name, t.name);
        let listed: Vec<&str> = profile.architectures().iter().map(|a| a.name).collect();
        let host_listed = listed.contains(&arch::native().name);
        for nr in [0u32, 1, 5, 64, 110, 135, 300, 1000] {
            for args in [[0u64; 6], [8, 0, 0, 0, 0, 0], [u64::MAX; 6]] {
                for a in profile.architectures() {
                    let nr = if a.x32 {
                        nr | arch::X32_SYSCALL_BIT
                    } else {
                        nr
                    };
                    let got = simulate(&p, a.audit_arch, nr as i32, args).unwrap().action;
                    let want = profile.decide(a.audit_arch, nr, args);
                    assert!(want.accepts(got), "{} on {}: {got} vs {want:?}", nr, a.name);
                }
            }
        }
        if !host_listed && t.audit_arch != arch::native().audit_arch {
            assert_eq!(
                simulate(&p, arch::native().audit_arch, 110, [0; 6])
                    .unwrap()
                    .action,
                Action::KillThread,
                "{}: the build host's ABI must not be in the program",
                t.name
            );
        }
        built += 1;
    }
    assert!(built >= 17, "{built}");
}

#[test]
fn the_stub_answers_with_the_targets_enosys() {
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let spec = parse_profile(json).unwrap();
    for (name, enosys) in [
        ("SCMP_ARCH_MIPSEL64", 89),
        ("SCMP_ARCH_MIPS", 89),
        ("SCMP_ARCH_PARISC64", 251),
        ("SCMP_ARCH_AARCH64", 38),
    ] {
        let t = target(name);
        let p = compile(&spec, &for_target(t)).unwrap();
        assert_eq!(
            simulate(&p, t.audit_arch, 9999, [0; 6]).unwrap().action,
            Action::Errno(enosys),
            "{name}"
        );
    }
}

/// A target this libseccomp cannot build is refused, even when the profile does not list
/// it: its syscall names would resolve to nothing, and every call would get the default.
#[test]
fn a_target_this_libseccomp_cannot_build_is_refused() {
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let spec = parse_profile(json).unwrap();
    let mut refused = 0;
    for t in arch::ALL {
        if oci_seccomp::arch::libseccomp_version() >= t.min_libseccomp {
            continue;
        }
        let e = compile(&spec, &for_target(t)).unwrap_err().to_string();
        assert!(e.contains("<target>") && e.contains(t.name), "{e}");
        refused += 1;
    }
    // Debian 12's libseccomp 2.5.4 lacks LoongArch, M68K and SuperH.
    if oci_seccomp::arch::libseccomp_version() < (2, 6, 0) {
        assert_eq!(refused, 4);
    }
}
