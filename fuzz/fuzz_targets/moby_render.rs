//! `parse_moby` + `render` (+ `compile` when it renders) on arbitrary text: errors are
//! fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_seccomp::moby::{parse_moby, render, KernelVersion, RenderOptions, DOCKER_DEFAULT_CAPS};
use oci_seccomp::{compile, simulate, CompileOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = parse_moby(text) else {
        return;
    };
    // Bound the work per input: huge rule counts are refused by the kernel limit anyway.
    if profile.syscalls.len() > 256 {
        return;
    }
    let native = oci_seccomp::arch::native();
    let option_sets = [
        RenderOptions::host()
            .with_caps(Vec::<String>::new())
            .with_kernel(KernelVersion { major: 4, minor: 7 }),
        RenderOptions::host().with_kernel(KernelVersion { major: 6, minor: 1 }),
        RenderOptions::host()
            .with_caps(DOCKER_DEFAULT_CAPS.iter().chain(&["CAP_SYS_ADMIN"]))
            .with_arch(oci_seccomp::arch::by_name("SCMP_ARCH_AARCH64").unwrap_or(native)),
    ];
    for opts in &option_sets {
        let Ok(spec) = render(&profile, opts) else {
            continue;
        };
        // Rendering only removes entries.
        assert!(spec.syscalls().as_ref().map_or(0, Vec::len) <= profile.syscalls.len());
        if let Ok(p) = compile(&spec, &CompileOptions::default()) {
            for nr in [0, 1, 59, 435, 1000, -1] {
                simulate(&p, native.audit_arch, nr, [0; 6])
                    .expect("a compiled program always simulates");
            }
        }
    }
});
