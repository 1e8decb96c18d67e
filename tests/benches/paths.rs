//! Instructions the kernel executes per syscall under Docker's default profile
//! (upstream file rendered for Docker's default capabilities; the embedded default when the
//! file is missing), counted with `oci_seccomp::simulate`, for our program and for
//! libseccomp's two layouts of the same profile (linear, as runc, crun and youki install
//! it; binary tree). `cargo bench -p oci-seccomp-tests --bench paths` prints the table.

use oci_seccomp::arch::{self, ArchInfo};
use oci_seccomp::bpf::{run, SeccompData};
use oci_seccomp::{compile, Action, CompileOptions, Instruction, Profile};
use oci_seccomp_tests::baseline::{linear_instructions, tree_instructions};
use oci_seccomp_tests::docker_profile;

fn executed(insns: &[Instruction], arch: &ArchInfo, nr: i32, args: [u64; 6]) -> (Action, usize) {
    let d = run(
        insns,
        &SeccompData {
            nr,
            arch: arch.audit_arch,
            instruction_pointer: 0,
            args,
        },
    )
    .expect("simulate");
    (d.action, d.executed)
}

fn median(v: &mut [usize]) -> usize {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need.
    let spec = docker_profile();
    let profile = Profile::from_oci(&spec, false).expect("profile");
    let native = arch::native();
    let layouts: Vec<(&str, Vec<Instruction>)> = vec![
        (
            "ours (tree + stub)",
            compile(&spec, &CompileOptions::default())
                .expect("compile")
                .instructions()
                .to_vec(),
        ),
        (
            "libseccomp linear (runc/crun/youki)",
            linear_instructions(&spec),
        ),
        ("libseccomp tree", tree_instructions(&spec)),
    ];
    println!(
        "Docker profile, {} on {} ({} architectures in the filter)",
        if oci_seccomp_tests::docker::upstream_docker_profile_path().is_some() {
            "upstream file"
        } else {
            "embedded default"
        },
        native.name,
        profile.architectures().len()
    );
    let resolve = |n: &str| arch::resolve(n, native).expect("known syscall");
    let cases: Vec<(&str, i32, [u64; 6])> = vec![
        ("clone(SIGCHLD)", resolve("clone"), [17, 0, 0, 0, 0, 0]),
        ("socket(AF_INET)", resolve("socket"), [2, 1, 0, 0, 0, 0]),
        (
            "personality(0xffffffff)",
            resolve("personality"),
            [0xffff_ffff, 0, 0, 0, 0, 0],
        ),
        ("clone3", resolve("clone3"), [0; 6]),
        ("getppid", resolve("getppid"), [0; 6]),
        ("kexec_load (denied)", resolve("kexec_load"), [0; 6]),
    ];
    println!(
        "| layout | instructions | allowed: median | allowed: max | {} |",
        cases.iter().map(|c| c.0).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|---|---|---|{}", "---|".repeat(cases.len()));
    for (name, insns) in &layouts {
        let mut allowed = Vec::new();
        for nr in 0..1024 {
            if arch::syscall_name(nr, native).is_none() {
                continue;
            }
            let (a, n) = executed(insns, native, nr, [0; 6]);
            if a == Action::Allow {
                allowed.push(n);
            }
        }
        let max = allowed.iter().copied().max().unwrap_or(0);
        let cells: Vec<String> = cases
            .iter()
            .map(|(_, nr, args)| {
                let (a, n) = executed(insns, native, *nr, *args);
                format!("{n} ({a})")
            })
            .collect();
        println!(
            "| {name} | {} | {} | {max} | {} |",
            insns.len(),
            median(&mut allowed),
            cells.join(" | ")
        );
    }
}
