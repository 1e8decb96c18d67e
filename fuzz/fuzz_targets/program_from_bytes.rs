//! `Program::from_bytes` on arbitrary bytes: an error or a program that round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_seccomp::Program;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Program::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
    }
});
