//! `parse_profile` + `compile` on arbitrary text: an error or a program whose simulation
//! never fails, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_seccomp::{compile, parse_profile, simulate, CompileOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = parse_profile(text) else {
        return;
    };
    // Bound the work per input: huge rule counts are refused by the kernel limit anyway.
    if spec.syscalls().as_ref().map_or(0, |s| s.len()) > 256 {
        return;
    }
    if let Ok(p) = compile(&spec, &CompileOptions::default()) {
        let native = oci_seccomp::arch::native().audit_arch;
        for nr in [0, 1, 59, 435, 1000, -1] {
            simulate(&p, native, nr, [0; 6]).expect("a compiled program always simulates");
        }
        let back = oci_seccomp::Program::from_bytes(&p.to_bytes()).expect("round trip");
        assert_eq!(back, p);
    }
});
