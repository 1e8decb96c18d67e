//! Names and numbers given on the command line: errno names, capability names,
//! architecture names, and 64-bit numbers (decimal, hex, negative).

use oci_seccomp::arch::{self, ArchInfo};

use crate::{CliError, CliResult};

/// The name of errno `n` (`EPERM`), if known.
pub fn errno_name(n: i32) -> Option<&'static str> {
    u32::try_from(n)
        .ok()
        .and_then(oci_seccomp::arch::errno::errno_name)
}

/// Parses an errno: a name (`EPERM`, case-insensitive) or a number 1..=4095.
pub fn parse_errno(text: &str) -> Option<i32> {
    if let Ok(n) = text.parse::<i32>() {
        return (1..=4095).contains(&n).then_some(n);
    }
    oci_seccomp::arch::errno::errno_number(&text.to_ascii_uppercase())
        .and_then(|n| i32::try_from(n).ok())
}

/// Parses a number: decimal, or hex with `0x`; a leading `-` gives the two's complement,
/// down to `i64::MIN`. `Err` says why not: not a number at all ([`NOT_A_NUMBER`]), or out
/// of range (never wrapped).
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    let (radix, body) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (16, h),
        None => (10, t),
    };
    let body = body.replace('_', "");
    if body.is_empty()
        || !digits(&body)
        || (radix == 10 && !body.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(NOT_A_NUMBER.into());
    }
    let Ok(v) = u64::from_str_radix(&body, radix) else {
        return Err(if neg {
            format!(
                "below {}, the smallest negative number (i64::MIN)",
                i64::MIN
            )
        } else {
            format!("above {}, the largest 64-bit number", u64::MAX)
        });
    };
    if !neg {
        return Ok(v);
    }
    if v > i64::MIN.unsigned_abs() {
        return Err(format!(
            "below {}, the smallest negative number (i64::MIN)",
            i64::MIN
        ));
    }
    Ok(v.wrapping_neg())
}

/// [`parse_u64`]'s reason for text that is not a number at all.
pub const NOT_A_NUMBER: &str = "not a number";

/// Looks an architecture up (SCMP_ARCH_X86_64, x86_64, amd64, ...); exit 1 if unknown.
pub fn parse_arch(name: &str) -> CliResult<&'static ArchInfo> {
    arch::by_name(name).ok_or_else(|| {
        CliError::problem(format!("--arch {name:?}: unknown architecture")).hint(format!(
            "repeat --arch for several; use one of {}",
            arch::ALL
                .iter()
                .map(|a| a.name.trim_start_matches("SCMP_ARCH_").to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Normalises a capability name (`sys_admin`, `CAP_SYS_ADMIN`) to `CAP_SYS_ADMIN`; `None`
/// for a name that is not one of [`caps::all`] (the 41 of Linux 5.9, `CAP_CHOWN` to
/// `CAP_CHECKPOINT_RESTORE`).
pub fn normalize_cap(name: &str) -> Option<String> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    format!("CAP_{bare}")
        .parse::<caps::Capability>()
        .ok()
        .map(|c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_name(38), Some("ENOSYS"));
        assert_eq!(parse_errno("enomedium"), Some(123));
        assert_eq!(parse_errno("38"), Some(38));
        assert_eq!(parse_errno("5000"), None);
        assert_eq!(parse_errno("EWHAT"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0x10000000"), Ok(0x1000_0000));
        assert_eq!(parse_u64("42"), Ok(42));
        assert_eq!(parse_u64("-1"), Ok(u64::MAX));
        assert_eq!(parse_u64("zz").unwrap_err(), NOT_A_NUMBER);
        assert_eq!(parse_u64("--1").unwrap_err(), NOT_A_NUMBER);
        assert_eq!(parse_u64("0x").unwrap_err(), NOT_A_NUMBER);
        assert_eq!(parse_u64("1a").unwrap_err(), NOT_A_NUMBER);
        // The extremes, and one past them: refused, never wrapped.
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("-9223372036854775808"), Ok(1 << 63));
        assert_eq!(parse_u64("-0x8000000000000000"), Ok(1 << 63));
        let e = parse_u64("-9223372036854775809").unwrap_err();
        assert!(e.contains("below -9223372036854775808"), "{e}");
        let e = parse_u64("18446744073709551616").unwrap_err();
        assert!(e.contains("above 18446744073709551615"), "{e}");
        let e = parse_u64("-99999999999999999999").unwrap_err();
        assert!(e.contains("i64::MIN"), "{e}");
        assert!(parse_u64("0x1_0000_0000_0000_0000").is_err());
    }

    #[test]
    fn caps() {
        assert_eq!(normalize_cap("sys_admin").as_deref(), Some("CAP_SYS_ADMIN"));
        assert_eq!(
            normalize_cap("CAP_SYS_ADMIN").as_deref(),
            Some("CAP_SYS_ADMIN")
        );
        assert_eq!(normalize_cap("CAP_NOPE"), None);
        assert_eq!(normalize_cap("CAP_CAP_CHOWN"), None);
        assert_eq!(
            normalize_cap(" checkpoint_restore ").as_deref(),
            Some("CAP_CHECKPOINT_RESTORE")
        );
        // The names the CLI takes are the caps crate's: the 41 of Linux 5.9, as the
        // hand-written table had them. A newer crate with more is a change to say.
        assert_eq!(caps::all().len(), 41);
    }
}
