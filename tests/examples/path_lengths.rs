//! Program length and instructions executed per syscall on Docker's profile, for our
//! generator, libseccomp's binary tree (`--backend libseccomp`) and libseccomp's linear
//! layout (what runc, crun and youki install). Counted by `simulate`, so the figures are
//! exact and repeatable. `cargo run --release -p oci-seccomp-tests --example path_lengths`.
use oci_seccomp::arch::{self, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use oci_seccomp::{compile, simulate, Action, Backend, CompileOptions, Instruction, Program};
use oci_seccomp_tests::baseline::{linear_instructions, native_only};

fn stats(v: &mut [usize]) -> String {
    v.sort_unstable();
    if v.is_empty() {
        return "-".into();
    }
    format!("{}/{}/{}", v[0], v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    let full = oci_seccomp_tests::docker_profile();
    println!("| profile | program | length | allowed min/median/max | denied min/median/max | getppid | read | personality(0xffffffff) | clone(SIGCHLD) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, spec) in [
        ("x86_64", native_only(&full)),
        ("x86_64+x86+x32", full.clone()),
    ] {
        let ours = compile(&spec, &CompileOptions::default()).unwrap();
        let tree = compile(
            &spec,
            &CompileOptions::default().with_backend(Backend::Libseccomp),
        )
        .unwrap();
        let linear: Vec<Instruction> = linear_instructions(&spec);
        let linear = Program::new(linear, ours.flags(), ours.optional_flags());
        let mut abis = vec![(AUDIT_ARCH_X86_64, 0u32, "x86_64")];
        if label != "x86_64" {
            abis.push((AUDIT_ARCH_I386, 0, "x86"));
            abis.push((AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, "x32"));
        }
        for (name, p) in [
            ("ours", &ours),
            ("libseccomp tree", &tree),
            ("libseccomp linear (runc)", &linear),
        ] {
            let (mut allowed, mut denied) = (Vec::new(), Vec::new());
            for &(audit, bit, _) in &abis {
                for nr in 0..600u32 {
                    let d = simulate(p, audit, (nr | bit) as i32, [0; 6]).unwrap();
                    if d.action == Action::Allow {
                        allowed.push(d.executed);
                    } else {
                        denied.push(d.executed);
                    }
                }
            }
            let x = arch::native();
            let one = |n: &str, args: [u64; 6]| {
                simulate(p, AUDIT_ARCH_X86_64, arch::resolve(n, x).unwrap(), args)
                    .unwrap()
                    .executed
            };
            println!(
                "| {label} | {name} | {} | {} | {} | {} | {} | {} | {} |",
                p.len(),
                stats(&mut allowed),
                stats(&mut denied),
                one("getppid", [0; 6]),
                one("read", [0; 6]),
                one("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
                one("clone", [17, 0, 0, 0, 0, 0]),
            );
        }
    }
}
