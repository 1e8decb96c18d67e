//! The `arg-width` lint: a comparison on an argument the kernel reads as 32 bits (or 16)
//! can be dodged with the upper bits; `check` says so on every such comparison, with the
//! fix, and the claim holds in the compiled program (the kernel's side is pinned in
//! tests/tests/compile_kernel.rs, `upper_bits_dodge_a_32_bit_argument`).

use oci_seccomp::arch::AUDIT_ARCH_X86_64;
use oci_seccomp::lint::Severity;
use oci_seccomp::Action;

mod support;
use support::*;

const PERSONALITY: u32 = 135;
const IOCTL: u32 = 16;

/// The upper bits of ioctl's 32-bit `cmd` step around an EQ deny under runc's reading,
/// not under ours; the warning names the fix, and the fix silences it.
#[cfg(target_arch = "x86_64")]
#[test]
fn arg_width_warns_when_the_upper_bits_dodge_a_deny() {
    let p = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":21531,"op":"SCMP_CMP_EQ"}]}]}"#;
    let f = findings(p);
    let w = f
        .iter()
        .find(|x| x.code == "arg-width")
        .unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(
        (w.severity, w.path.as_str()),
        (Severity::Warning, "syscalls[0].args[0]")
    );
    for part in [
        "unsigned int cmd",
        "32 bits",
        "0x10000541b",
        "SCMP_CMP_MASKED_EQ",
        "0xffffffff",
        "0x541b",
    ] {
        assert!(w.message.contains(part), "{part}: {}", w.message);
    }
    // The claim, in the compiled program: under runc's literal reading the upper bits step
    // around the rule; under the kernel's (ours, the default) they do not.
    assert_eq!(
        decide_literal(p, AUDIT_ARCH_X86_64, IOCTL, [3, 0x541b, 0, 0, 0, 0]),
        Action::Errno(1)
    );
    assert_eq!(
        decide_literal(p, AUDIT_ARCH_X86_64, IOCTL, [3, 0x1_0000_541b, 0, 0, 0, 0]),
        Action::Allow
    );
    for cmd in [0x541b, 0x1_0000_541b, 0xffff_ffff_0000_541b] {
        assert_eq!(
            decide(p, AUDIT_ARCH_X86_64, IOCTL, [3, cmd, 0, 0, 0, 0]),
            Action::Errno(1),
            "{cmd:#x}"
        );
    }
    assert!(w.message.contains("the kernel's reading"), "{}", w.message);
    // The fix: MASKED_EQ with mask 0xffffffff catches both, and the warning goes away.
    let fixed = p.replace(
        r#"{"index":1,"value":21531,"op":"SCMP_CMP_EQ"}"#,
        r#"{"index":1,"value":4294967295,"valueTwo":21531,"op":"SCMP_CMP_MASKED_EQ"}"#,
    );
    assert!(
        codes(&fixed).iter().all(|(c, _)| *c != "arg-width"),
        "{:?}",
        findings(&fixed)
    );
    assert_eq!(
        decide(
            &fixed,
            AUDIT_ARCH_X86_64,
            IOCTL,
            [3, 0x1_0000_541b, 0, 0, 0, 0]
        ),
        Action::Errno(1)
    );
}

/// The kind, not one syscall: every 32-bit (or 16-bit) argument, every operator.
#[cfg(target_arch = "x86_64")]
#[test]
fn arg_width_warns_for_every_narrow_argument_and_operator() {
    for (name, index, op, value, bits) in [
        ("socket", 0, "SCMP_CMP_EQ", 16, "32 bits"),
        ("socket", 1, "SCMP_CMP_NE", 3, "32 bits"),
        ("socket", 2, "SCMP_CMP_GT", 0, "32 bits"),
        ("fcntl", 1, "SCMP_CMP_EQ", 4, "32 bits"),
        ("prctl", 0, "SCMP_CMP_LT", 22, "32 bits"),
        ("personality", 0, "SCMP_CMP_NE", 0, "32 bits"),
        ("setns", 1, "SCMP_CMP_EQ", 0x4000_0000, "32 bits"),
        ("kill", 1, "SCMP_CMP_EQ", 9, "32 bits"),
        ("chmod", 1, "SCMP_CMP_EQ", 0o4755, "16 bits"),
        ("bpf", 0, "SCMP_CMP_LE", 5, "32 bits"),
    ] {
        let p = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","args":[{{"index":{index},"value":{value},"op":"{op}"}}]}}]}}"#
        );
        let f = findings(&p);
        let w = f
            .iter()
            .find(|x| x.code == "arg-width")
            .unwrap_or_else(|| panic!("{name} {op}: {f:?}"));
        assert!(w.message.contains(bits), "{name}: {}", w.message);
        assert!(
            w.message.contains("SCMP_CMP_MASKED_EQ"),
            "{name}: {}",
            w.message
        );
        // The message's two values are decided differently under runc's literal reading,
        // alike under the kernel's (ours, the default).
        let hex: Vec<u64> = w
            .message
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|t| t.strip_prefix("0x"))
            .filter_map(|t| u64::from_str_radix(t, 16).ok())
            .collect();
        let (dodged, plain) = (hex[0], hex[1]);
        let nr = libseccomp::ScmpSyscall::from_name(name)
            .unwrap()
            .as_raw_syscall() as u32;
        let mut a = [0u64; 6];
        a[index] = dodged;
        let got_dodged = decide_literal(&p, AUDIT_ARCH_X86_64, nr, a);
        let ours_dodged = decide(&p, AUDIT_ARCH_X86_64, nr, a);
        a[index] = plain;
        let got_plain = decide_literal(&p, AUDIT_ARCH_X86_64, nr, a);
        let ours_plain = decide(&p, AUDIT_ARCH_X86_64, nr, a);
        assert_ne!(got_dodged, got_plain, "{name} {op}: {}", w.message);
        assert_eq!(ours_dodged, ours_plain, "{name} {op}: {}", w.message);
        assert_eq!(ours_plain, got_plain, "{name} {op}: {}", w.message);
    }
}

/// A dodge towards a stricter action (an ALLOW on EQ under an ERRNO default, as the
/// default profiles' personality rules) is a note, not a warning.
#[cfg(target_arch = "x86_64")]
#[test]
fn arg_width_dodge_to_a_stricter_action_is_a_note() {
    let strict = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#;
    let f = findings(strict);
    let n = f
        .iter()
        .find(|x| x.code == "arg-width")
        .unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(n.severity, Severity::Note, "{}", n.message);
    assert_eq!(
        decide(strict, AUDIT_ARCH_X86_64, PERSONALITY, [8, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    // Refused under runc's literal reading; ours reads the 8 the kernel reads.
    assert_eq!(
        decide_literal(
            strict,
            AUDIT_ARCH_X86_64,
            PERSONALITY,
            [8 | 1 << 32, 0, 0, 0, 0, 0]
        ),
        Action::Errno(1)
    );
    assert_eq!(
        decide(
            strict,
            AUDIT_ARCH_X86_64,
            PERSONALITY,
            [8 | 1 << 32, 0, 0, 0, 0, 0]
        ),
        Action::Allow
    );
}

/// Full-width arguments and comparisons the upper bits cannot change: quiet.
#[cfg(target_arch = "x86_64")]
#[test]
fn arg_width_is_quiet_where_the_upper_bits_change_nothing() {
    for (name, index, op, value, two) in [
        ("unshare", 0, "SCMP_CMP_EQ", 0x1000_0000u64, 0u64),
        ("clone", 0, "SCMP_CMP_MASKED_EQ", 0x7e02_0000, 0),
        ("ioctl", 1, "SCMP_CMP_MASKED_EQ", 0xffff_ffff, 0x5401),
        ("socket", 0, "SCMP_CMP_GE", 0, 0),
    ] {
        let p = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","args":[{{"index":{index},"value":{value},"valueTwo":{two},"op":"{op}"}}]}}]}}"#
        );
        assert!(
            codes(&p).iter().all(|(c, _)| *c != "arg-width"),
            "{name}: {:?}",
            findings(&p)
        );
    }
}

/// A sign-extended negative `int` named by a deny entry: the zero-extended spelling, which
/// the kernel reads as the same -1, gets the default: an escape, so a warning. Checked by
/// simulation.
#[test]
fn arg_width_escape_through_the_other_extension_is_a_warning() {
    let p = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}"#;
    assert!(findings(p)
        .iter()
        .any(|f| f.code == "arg-width" && f.severity == Severity::Warning));
    // umask is 95 on x86_64. Read literally (runc): -1 is refused, 0xffffffff (the same
    // value to the kernel) is not. Read as the kernel reads it: both are refused.
    assert_eq!(
        decide_literal(p, AUDIT_ARCH_X86_64, 95, [u64::MAX, 0, 0, 0, 0, 0]),
        Action::Errno(5)
    );
    assert_eq!(
        decide_literal(p, AUDIT_ARCH_X86_64, 95, [0xffff_ffff, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    for v in [u64::MAX, 0xffff_ffff, 0x1234_5678_ffff_ffff] {
        assert_eq!(
            decide(p, AUDIT_ARCH_X86_64, 95, [v, 0, 0, 0, 0, 0]),
            Action::Errno(5),
            "{v:#x}"
        );
    }
    assert_eq!(
        decide(p, AUDIT_ARCH_X86_64, 95, [0xffff, 0, 0, 0, 0, 0]),
        Action::Allow
    );
}
