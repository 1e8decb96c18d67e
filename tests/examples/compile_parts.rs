//! Where a cold compile of Docker's profile spends its time, per backend (run with
//! --release): medians of 101 interleaved rounds, x86_64 alone and x86_64 + x86 + x32.
use std::time::{Duration, Instant};

use oci_seccomp::libseccomp::{build_profile_context, export_instructions};
use oci_seccomp::{native, Backend, CompileOptions, Profile, Program, Stub};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let full = oci_seccomp_tests::docker_profile();
    for (label, spec) in [
        ("x86_64", oci_seccomp_tests::baseline::native_only(&full)),
        ("x86_64+x86+x32", full.clone()),
    ] {
        let libseccomp = CompileOptions::default().with_backend(Backend::Libseccomp);
        let mut t: [Vec<Duration>; 7] = Default::default();
        for _ in 0..101 {
            let s = Instant::now();
            let profile = Profile::from_oci(&spec, false).unwrap();
            t[0].push(s.elapsed());
            let s = Instant::now();
            let insns = native::generate(&profile, Stub::Enosys).unwrap();
            t[1].push(s.elapsed());
            let program = Program::new(insns, profile.flags(), profile.optional_flags());
            let s = Instant::now();
            oci_seccomp::proof::prove(&profile, &program, oci_seccomp::Stub::Enosys).unwrap();
            t[2].push(s.elapsed());
            let s = Instant::now();
            oci_seccomp::compile(&spec, &CompileOptions::default()).unwrap();
            t[3].push(s.elapsed());
            let s = Instant::now();
            let ctx = build_profile_context(&profile, &libseccomp).unwrap();
            t[4].push(s.elapsed());
            let s = Instant::now();
            export_instructions(&ctx).unwrap();
            t[5].push(s.elapsed());
            let s = Instant::now();
            oci_seccomp::compile(&spec, &libseccomp).unwrap();
            t[6].push(s.elapsed());
        }
        let [validate, generate, prove, ours, build, export, theirs] = t.map(median);
        println!(
            "{label:15} validate {validate:?}, generate {generate:?}, prove {prove:?}; \
             compile {ours:?} | libseccomp build {build:?} + export {export:?} = {:?}; \
             compile --backend libseccomp {theirs:?}; build+export / ours = {:.1}x",
            build + export,
            (build + export).as_secs_f64() / ours.as_secs_f64()
        );
    }
}
