//! Docker's profile for seccompiler 0.5 (rust-vmm's generator, no proof), the baseline of
//! the compile benchmark, and the same subset as an OCI profile for ours.
//!
//! seccompiler has one match action per filter, so only the profile's `SCMP_ACT_ALLOW`
//! entries go in; the entries with another action (Docker's `clone3` → `ENOSYS` and the
//! like) are left out of both sides and named by [`translate`]. A comparison on an argument
//! the kernel reads as 32 bits (or fewer) is a `Dword` comparison in seccompiler, as our
//! default kernel reading compares only those bits; every other one is a `Qword`.

use std::collections::BTreeMap;

use oci_seccomp::{arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

/// The translation: seccompiler's rules, the OCI profile of the same entries (native ABI
/// only), and the names of the entries left out.
pub struct Translated {
    pub rules: BTreeMap<i64, Vec<SeccompRule>>,
    pub mismatch: SeccompAction,
    pub oci: LinuxSeccomp,
    pub left_out: Vec<String>,
}

impl Translated {
    /// seccompiler's filter, ready for `BpfProgram::try_from` (the benchmarked step builds
    /// this too: seccompiler's compile consumes it).
    pub fn filter(&self) -> SeccompFilter {
        SeccompFilter::new(
            self.rules.clone(),
            self.mismatch.clone(),
            SeccompAction::Allow,
            TargetArch::x86_64,
        )
        .expect("seccompiler accepts the translation")
    }
}

/// Translates `spec` (Docker's default profile rendered for x86_64): the `ALLOW` entries
/// whose names x86_64 has, the default as seccompiler's mismatch action.
pub fn translate(spec: &LinuxSeccomp) -> Translated {
    assert_eq!(spec.default_action(), LinuxSeccompAction::ScmpActErrno);
    let mismatch = SeccompAction::Errno(spec.default_errno_ret().unwrap_or(1));
    let native = arch::native();
    let mut chains: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    let mut kept = Vec::new();
    let mut left_out = Vec::new();
    for entry in spec.syscalls().iter().flatten() {
        if entry.action() != LinuxSeccompAction::ScmpActAllow {
            left_out.extend(entry.names().iter().cloned());
            continue;
        }
        kept.push(entry.clone());
        for name in entry.names() {
            let Some(nr) = arch::resolve(name, native) else {
                continue;
            };
            let conditions: Vec<SeccompCondition> = entry
                .args()
                .iter()
                .flatten()
                .map(|a| {
                    let narrow = oci_seccomp::profile::narrow_bits(name, a.index() as u8).is_some();
                    let (op, value) = match a.op() {
                        LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, a.value()),
                        LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, a.value()),
                        LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, a.value()),
                        LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, a.value()),
                        LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, a.value()),
                        LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, a.value()),
                        LinuxSeccompOperator::ScmpCmpMaskedEq => (
                            SeccompCmpOp::MaskedEq(a.value()),
                            a.value_two().unwrap_or(0),
                        ),
                    };
                    let (len, value, op) = match (narrow, op) {
                        (false, op) => (SeccompCmpArgLen::Qword, value, op),
                        (true, SeccompCmpOp::MaskedEq(m)) => (
                            SeccompCmpArgLen::Dword,
                            value & 0xffff_ffff,
                            SeccompCmpOp::MaskedEq(m & 0xffff_ffff),
                        ),
                        (true, op) => (SeccompCmpArgLen::Dword, value & 0xffff_ffff, op),
                    };
                    SeccompCondition::new(a.index() as u8, len, op, value)
                        .expect("seccompiler accepts the comparison")
                })
                .collect();
            // `None`: matched on the number alone (seccompiler's empty chain).
            let chain = chains
                .entry(i64::from(nr))
                .or_insert_with(|| Some(Vec::new()));
            match (conditions.is_empty(), chain.as_mut()) {
                (true, _) => *chain = None,
                (false, Some(c)) => {
                    c.push(SeccompRule::new(conditions).expect("seccompiler accepts the rule"))
                }
                (false, None) => {}
            }
        }
    }
    let rules = chains
        .into_iter()
        .map(|(nr, chain)| (nr, chain.unwrap_or_default()))
        .collect();
    let mut oci = spec.clone();
    oci.set_architectures(None);
    oci.set_syscalls(Some(kept));
    Translated {
        rules,
        mismatch,
        oci,
        left_out,
    }
}
