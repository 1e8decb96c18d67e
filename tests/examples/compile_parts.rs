//! Where a cold compile of Docker's profile spends its time (run with --release).
use std::time::Instant;

use oci_seccomp::{build_profile_context, export_instructions, CompileOptions, Profile};

fn main() {
    let spec = oci_seccomp_tests::docker_profile();
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        Profile::from_oci(&spec, false).unwrap();
    }
    println!("validate      {:?}", t.elapsed() / n);
    let profile = Profile::from_oci(&spec, false).unwrap();
    for (label, thr) in [("tree", 8usize), ("linear", usize::MAX)] {
        let opts = CompileOptions::default().with_binary_tree_threshold(thr);
        let t = Instant::now();
        for _ in 0..n {
            build_profile_context(&profile, &opts).unwrap();
        }
        println!("build {label:7} {:?}", t.elapsed() / n);
        let ctx = build_profile_context(&profile, &opts).unwrap();
        let t = Instant::now();
        for _ in 0..n {
            export_instructions(&ctx).unwrap();
        }
        println!("export {label:6} {:?}", t.elapsed() / n);
    }
    let program =
        oci_seccomp::compile(&spec, &CompileOptions::default().with_verify(false)).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        oci_seccomp::prove::prove(&profile, &program, true).unwrap();
    }
    println!("prove         {:?}", t.elapsed() / n);
    for verify in [false, true] {
        let opts = CompileOptions::default().with_verify(verify);
        let t = Instant::now();
        for _ in 0..n {
            oci_seccomp::compile(&spec, &opts).unwrap();
        }
        println!("compile verify={verify} {:?}", t.elapsed() / n);
    }
}
