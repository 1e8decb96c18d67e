//! What the lint tests share: a profile's findings, and what its compiled program decides.
#![allow(dead_code)] // Each test file uses some of them.

use oci_seccomp::lint::{lint, Finding};
use oci_seccomp::{compile, parse_profile, simulate, Action, CompileOptions};

pub fn findings(json: &str) -> Vec<Finding> {
    lint(&parse_profile(json).expect("test profile parses"))
}

pub fn codes(json: &str) -> Vec<(&'static str, String)> {
    findings(json)
        .into_iter()
        .map(|f| (f.code, f.path))
        .collect()
}

pub fn has(json: &str, code: &str, path: &str) -> bool {
    codes(json).iter().any(|(c, p)| *c == code && p == path)
}

pub fn decide(json: &str, arch: u32, nr: u32, args: [u64; 6]) -> Action {
    decide_with(json, arch, nr, args, &CompileOptions::default())
}

/// [`decide`] with runc's literal 64-bit reading of narrow arguments.
pub fn decide_literal(json: &str, arch: u32, nr: u32, args: [u64; 6]) -> Action {
    let opts = CompileOptions::default().with_arg_reading(oci_seccomp::ArgReading::Literal);
    decide_with(json, arch, nr, args, &opts)
}

pub fn decide_with(
    json: &str,
    arch: u32,
    nr: u32,
    args: [u64; 6],
    opts: &CompileOptions,
) -> Action {
    let p = compile(&parse_profile(json).unwrap(), opts).unwrap();
    simulate(&p, arch, nr as i32, args).unwrap().action
}
