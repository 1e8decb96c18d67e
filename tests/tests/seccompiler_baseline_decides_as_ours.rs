//! The compile benchmark's baseline is a fair one: seccompiler's program for the
//! translated rules decides every call of x86_64 as our proven program for the same
//! entries does (compared over the whole input space by `diff_deciders`), so both sides
//! of `benches/compile_vs_seccompiler.rs` compile the same meaning.

use oci_seccomp::{
    compile, diff_deciders, Action, CompileOptions, Decider, Instruction, StepBudget,
};
use oci_seccomp_tests::docker_profile;
use seccompiler::BpfProgram;

#[path = "../benches/support/seccompiler_rules.rs"]
mod seccompiler_rules;

#[test]
fn seccompiler_program_decides_every_x86_64_call_as_ours() {
    let t = seccompiler_rules::translate(&docker_profile());
    assert!(
        t.rules.len() > 250,
        "most of Docker's profile is kept: {} numbers, left out {:?}",
        t.rules.len(),
        t.left_out
    );
    t.left_out.iter().for_each(|n| eprintln!("left out: {n}"));
    let ours = compile(&t.oci, &CompileOptions::default()).expect("ours compiles");
    let theirs: Vec<Instruction> = BpfProgram::try_from(t.filter())
        .expect("seccompiler compiles")
        .iter()
        .map(|f| Instruction {
            code: f.code,
            jt: f.jt,
            jf: f.jf,
            k: f.k,
        })
        .collect();
    let differences = diff_deciders(
        Decider::Program(ours.instructions()),
        Decider::Program(&theirs),
        &mut StepBudget::new(oci_seccomp::MAX_STEPS),
    )
    .expect("compared");
    // Only two kinds of call may differ: those x86_64 does not run as its own calls (x32's
    // numbers, bit 30 set, which seccompiler matches as plain numbers no rule names; the
    // ABIs neither side lists), and the numbers our ENOSYS stub answers (above the newest
    // syscall the table names), where seccompiler's default answers. Every kept entry
    // allows, so an ENOSYS of ours comes from the stub alone.
    let stub = |d: &&oci_seccomp::Difference| {
        d.a.action == Action::Errno(libc::ENOSYS as u16)
            && d.b.action == Action::Errno(1)
            && d.conditions.is_empty()
    };
    assert!(
        differences.iter().any(|d| stub(&d)),
        "the stub's region is compared too"
    );
    let native_differences: Vec<_> = differences
        .iter()
        .filter(|d| d.abi == Some("SCMP_ARCH_X86_64"))
        .filter(|d| !stub(d))
        .collect();
    assert!(
        native_differences.is_empty(),
        "seccompiler's program decides otherwise: {native_differences:#?}"
    );
}
