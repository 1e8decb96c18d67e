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
    // The proof's share of a cold compile, interleaved so that both see the same machine:
    // medians of 41 rounds, each an unproven compile then a proof of its program.
    for (label, spec) in [
        ("x86_64", oci_seccomp_tests::baseline::native_only(&spec)),
        ("x86_64+x86+x32", spec.clone()),
    ] {
        let profile = Profile::from_oci(&spec, false).unwrap();
        let unproven = CompileOptions::default().with_verify(false);
        let (mut cold, mut proof) = (Vec::new(), Vec::new());
        for _ in 0..41 {
            let t = Instant::now();
            let program = oci_seccomp::compile(&spec, &unproven).unwrap();
            cold.push(t.elapsed());
            let t = Instant::now();
            oci_seccomp::prove::prove(&profile, &program, true).unwrap();
            proof.push(t.elapsed());
        }
        cold.sort();
        proof.sort();
        let (c, p) = (cold[20], proof[20]);
        println!(
            "{label:15} unproven compile {c:?}, proof {p:?}: the proof adds {:.1}%",
            100.0 * p.as_secs_f64() / c.as_secs_f64()
        );
    }
    for verify in [false, true] {
        let opts = CompileOptions::default().with_verify(verify);
        let t = Instant::now();
        for _ in 0..n {
            oci_seccomp::compile(&spec, &opts).unwrap();
        }
        println!("compile verify={verify} {:?}", t.elapsed() / n);
    }
}
