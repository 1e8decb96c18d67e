//! Errno names, for profiles that name an errno beside its number (containers-common's
//! `defaultErrno` and per-entry `errno`) and for `explain`.
//!
//! The names and numbers are `nix::errno::Errno`'s, which follow the `libc` crate for the
//! architecture this crate is **built for**: they are the numbers the kernel uses for
//! native processes of the build host (x86, arm, arm64, riscv, s390 and powerpc share the
//! asm-generic numbers; alpha, mips, parisc and sparc number some differently: ENOSYS is
//! 89 on MIPS). A profile is compiled for the host it runs on, so the host's numbers are
//! the right ones; a profile that targets a foreign ABI of another numbering (none can be
//! mixed into one filter with the native one except x32 and i386, which share x86_64's
//! numbers) would need that ABI's table, which nothing here provides.

use std::sync::OnceLock;

use nix::errno::Errno;

/// `ENOSYS` of the build host's ABI (38 on x86_64, arm64 and most others; 89 on MIPS).
// libc's errno values are small positive numbers: the cast cannot truncate.
pub const ENOSYS: u16 = libc::ENOSYS as u16;

/// `EPERM`, the errno of an ERRNO or TRACE action without `errnoRet`.
pub const EPERM: u16 = libc::EPERM as u16;

/// Largest errno the kernel passes through (`MAX_ERRNO`, include/linux/err.h).
pub const MAX_ERRNO: u32 = 4095;

/// Every errno name `nix` knows for this target with its number, primary names in
/// numeric order, then the aliases (`EWOULDBLOCK`, `EDEADLOCK`, `ENOTSUP`) where the
/// target defines them as aliases.
///
/// `nix` offers no iteration over its errno values and no name lookup, only
/// `Errno::from_raw` and the variant names through `Debug`; the list is built once from
/// those, so the names are exactly `nix`'s.
pub fn errnos() -> &'static [(String, i32)] {
    static TABLE: OnceLock<Vec<(String, i32)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // MAX_ERRNO (4095) fits an i32.
        let mut table: Vec<(String, i32)> = (1..=MAX_ERRNO as i32)
            .filter_map(|n| {
                let e = Errno::from_raw(n);
                (e != Errno::UnknownErrno).then(|| (format!("{e:?}"), n))
            })
            .collect();
        // Aliases are associated constants, invisible to `from_raw`; add those whose
        // name is not already a variant of this target.
        for (name, e) in [
            ("EWOULDBLOCK", Errno::EWOULDBLOCK),
            ("EDEADLOCK", Errno::EDEADLOCK),
            ("ENOTSUP", Errno::ENOTSUP),
        ] {
            if !table.iter().any(|(k, _)| k == name) {
                table.push((name.to_string(), e as i32));
            }
        }
        table
    })
}

/// The number of errno `name` (`"EPERM"` -> 1), exact spelling, if known.
pub fn errno_number(name: &str) -> Option<u32> {
    errnos()
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| u32::try_from(*v).ok())
}

/// The primary name of errno `n` (`1` -> `"EPERM"`), if known.
pub fn errno_name(n: u32) -> Option<&'static str> {
    let n = i32::try_from(n).ok()?;
    errnos()
        .iter()
        .find(|(_, v)| *v == n)
        .map(|(k, _)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_number("EPERM"), Some(1));
        assert_eq!(errno_name(u32::from(ENOSYS)), Some("ENOSYS"));
        assert_eq!(errno_number("ENOTSUP"), errno_number("EOPNOTSUPP"));
        assert_eq!(
            errno_name(errno_number("EWOULDBLOCK").unwrap()),
            Some("EAGAIN")
        );
        assert_eq!(errno_number("eperm"), None);
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(4096), None);
    }

    /// The asm-generic numbering the hand table of earlier versions held: 131 primary
    /// names (1 to 133 without 41 and 58) and three aliases.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn asm_generic_table() {
        assert_eq!(ENOSYS, 38);
        assert_eq!(errnos().len(), 134);
        for n in (1..=133).filter(|n| ![41, 58].contains(n)) {
            assert!(errno_name(n).is_some(), "errno {n}");
        }
        assert_eq!(errno_name(133), Some("EHWPOISON"));
        assert_eq!(errno_number("EDEADLOCK"), Some(35));
    }
}
