//! Checks that what [`oci_seccomp::diff`] claims about two profiles holds: each witness
//! call, simulated on and run in the kernel under both compiled programs, gets the action
//! the difference says.

use oci_seccomp::{
    arch, compile, simulate, Action, CompileOptions, Difference, LinuxSeccomp, Profile, Semantics,
    Stub,
};

use crate::{probe, program};

/// The meaning of `spec` for the host, with the ENOSYS stub.
pub fn semantics(spec: &LinuxSeccomp) -> Semantics {
    Semantics::new(&Profile::from_oci(spec, false).unwrap(), Stub::Enosys)
}

/// Every witness of `diffs`, on every ABI, simulated on `a`'s and `b`'s compiled programs
/// (the simulator is checked against the kernel in compile_kernel.rs): each gets the action
/// the difference claims.
pub fn check_by_simulation(a: &LinuxSeccomp, b: &LinuxSeccomp, diffs: &[Difference]) {
    let opts = CompileOptions::default();
    let (pa, pb) = (compile(a, &opts).unwrap(), compile(b, &opts).unwrap());
    for d in diffs {
        let w = &d.witness;
        let got_a = simulate(&pa, w.arch, w.nr, w.args).unwrap().action;
        let got_b = simulate(&pb, w.arch, w.nr, w.args).unwrap().action;
        assert!(
            d.a.accepts(got_a) && d.b.accepts(got_b),
            "{got_a} {got_b}: {d:?}"
        );
    }
}

/// Runs every witness of `diffs` on the native ABI whose syscall `safe` accepts under
/// `a`'s and `b`'s programs and checks the actions; returns how many were run.
pub fn check_in_kernel_if(
    a: &LinuxSeccomp,
    b: &LinuxSeccomp,
    diffs: &[Difference],
    safe: impl Fn(&Difference) -> bool,
) -> usize {
    let native = arch::native();
    let native_diffs: Vec<&Difference> = diffs
        .iter()
        .filter(|d| d.abi == Some(native.name) && safe(d))
        .collect();
    let calls: Vec<(i64, [u64; 6])> = native_diffs
        .iter()
        .map(|d| (i64::from(d.witness.nr), d.witness.args))
        .collect();
    if calls.is_empty() {
        return 0;
    }
    let opts = CompileOptions::default();
    let got_a = probe(&compile(a, &opts).unwrap(), &calls);
    let got_b = probe(&compile(b, &opts).unwrap(), &calls);
    let open = probe(&program(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#), &calls);
    for (i, d) in native_diffs.iter().enumerate() {
        for (action, got, side) in [(d.a.action, got_a[i], "a"), (d.b.action, got_b[i], "b")] {
            let want = match action {
                Action::Errno(e) => -i64::from(e),
                Action::Allow | Action::Log => open[i],
                other => panic!("{d:?}: the test runs only errno and allow witnesses, not {other}"),
            };
            assert_eq!(got, want, "{side} for {d:?}");
        }
    }
    calls.len()
}

/// [`check_in_kernel_if`] for every native witness (the callers' profiles differ only on
/// calls that are harmless to make with these arguments).
pub fn check_in_kernel(a: &LinuxSeccomp, b: &LinuxSeccomp, diffs: &[Difference]) -> usize {
    check_by_simulation(a, b, diffs);
    check_in_kernel_if(a, b, diffs, |_| true)
}
