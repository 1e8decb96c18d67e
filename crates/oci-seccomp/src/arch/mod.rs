//! Architectures: OCI names, libseccomp tokens and kernel `AUDIT_ARCH_*` values.

pub mod argwidth;
pub mod errno;
#[rustfmt::skip]
pub mod syscall_table;

use libseccomp::ScmpArch;
use oci_spec::runtime::Arch;

/// Facts about one seccomp architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchInfo {
    /// The OCI / libseccomp name, for example `SCMP_ARCH_X86_64`.
    pub name: &'static str,
    /// The kernel's `AUDIT_ARCH_*` value (what `seccomp_data.arch` holds). x32 shares
    /// x86_64's value and is told apart by bit 30 of the syscall number.
    pub audit_arch: u32,
    /// libseccomp's token for it.
    pub scmp: ScmpArch,
    /// First libseccomp release that can build filters for it.
    pub min_libseccomp: (u32, u32, u32),
    /// Whether the architecture's syscall numbers carry `__X32_SYSCALL_BIT`.
    pub x32: bool,
    /// Whether the ABI is big-endian. One filter cannot mix byte orders (libseccomp
    /// refuses, since argument words are loaded from fixed offsets).
    pub big_endian: bool,
}

impl ArchInfo {
    /// Whether libseccomp builds this ABI's argument comparisons on 32-bit values (only the
    /// low word of each argument and constant is compared). True for every 32-bit ABI,
    /// including x32 and MIPS n32 whose registers are 64-bit.
    pub fn narrow_args(&self) -> bool {
        self.audit_arch & 0x8000_0000 == 0 || self.x32 || self.name.ends_with("N32")
    }

    /// `ENOSYS` on this architecture, which the ENOSYS stub returns: 89 on MIPS
    /// (`arch/mips/include/uapi/asm/errno.h`), 251 on PA-RISC
    /// (`arch/parisc/include/uapi/asm/errno.h`), 38 elsewhere
    /// (`include/uapi/asm-generic/errno.h`).
    pub fn enosys(&self) -> u16 {
        if self.name.starts_with("SCMP_ARCH_MIPS") {
            89
        } else if self.name.starts_with("SCMP_ARCH_PARISC") {
            251
        } else {
            38
        }
    }
}

/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const fn info(name: &'static str, audit_arch: u32, scmp: ScmpArch) -> ArchInfo {
    ArchInfo {
        name,
        audit_arch,
        scmp,
        min_libseccomp: (2, 0, 0),
        x32: false,
        big_endian: matches!(
            audit_arch,
            0x0000_0008
                | 0x8000_0008
                | 0xa000_0008
                | 0x0000_0014
                | 0x8000_0015
                | 0x0000_0016
                | 0x8000_0016
                | 0x0000_000f
                | 0x8000_000f
                | 0x0000_0004
                | 0x0000_002a
        ),
    }
}

/// Every architecture that oci-spec knows, except `SCMP_ARCH_NATIVE`.
pub const ALL: &[ArchInfo] = &[
    info("SCMP_ARCH_X86", AUDIT_ARCH_I386, ScmpArch::X86),
    info("SCMP_ARCH_X86_64", AUDIT_ARCH_X86_64, ScmpArch::X8664),
    ArchInfo {
        x32: true,
        ..info("SCMP_ARCH_X32", AUDIT_ARCH_X86_64, ScmpArch::X32)
    },
    info("SCMP_ARCH_ARM", 0x4000_0028, ScmpArch::Arm),
    info("SCMP_ARCH_AARCH64", 0xc000_00b7, ScmpArch::Aarch64),
    info("SCMP_ARCH_MIPS", 0x0000_0008, ScmpArch::Mips),
    info("SCMP_ARCH_MIPS64", 0x8000_0008, ScmpArch::Mips64),
    info("SCMP_ARCH_MIPS64N32", 0xa000_0008, ScmpArch::Mips64N32),
    info("SCMP_ARCH_MIPSEL", 0x4000_0008, ScmpArch::Mipsel),
    info("SCMP_ARCH_MIPSEL64", 0xc000_0008, ScmpArch::Mipsel64),
    info("SCMP_ARCH_MIPSEL64N32", 0xe000_0008, ScmpArch::Mipsel64N32),
    info("SCMP_ARCH_PPC", 0x0000_0014, ScmpArch::Ppc),
    info("SCMP_ARCH_PPC64", 0x8000_0015, ScmpArch::Ppc64),
    info("SCMP_ARCH_PPC64LE", 0xc000_0015, ScmpArch::Ppc64Le),
    info("SCMP_ARCH_S390", 0x0000_0016, ScmpArch::S390),
    info("SCMP_ARCH_S390X", 0x8000_0016, ScmpArch::S390X),
    ArchInfo {
        min_libseccomp: (2, 5, 0),
        ..info("SCMP_ARCH_PARISC", 0x0000_000f, ScmpArch::Parisc)
    },
    ArchInfo {
        min_libseccomp: (2, 5, 0),
        ..info("SCMP_ARCH_PARISC64", 0x8000_000f, ScmpArch::Parisc64)
    },
    ArchInfo {
        min_libseccomp: (2, 5, 0),
        ..info("SCMP_ARCH_RISCV64", 0xc000_00f3, ScmpArch::Riscv64)
    },
    ArchInfo {
        min_libseccomp: (2, 6, 0),
        ..info("SCMP_ARCH_LOONGARCH64", 0xc000_0102, ScmpArch::Loongarch64)
    },
    ArchInfo {
        min_libseccomp: (2, 6, 0),
        ..info("SCMP_ARCH_M68K", 0x0000_0004, ScmpArch::M68k)
    },
    ArchInfo {
        min_libseccomp: (2, 6, 0),
        ..info("SCMP_ARCH_SH", 0x4000_002a, ScmpArch::Sh)
    },
    ArchInfo {
        min_libseccomp: (2, 6, 0),
        ..info("SCMP_ARCH_SHEB", 0x0000_002a, ScmpArch::Sheb)
    },
];

/// The architecture this crate was built for.
pub fn native() -> &'static ArchInfo {
    let name = if cfg!(target_arch = "x86_64") {
        if cfg!(target_pointer_width = "32") {
            "SCMP_ARCH_X32"
        } else {
            "SCMP_ARCH_X86_64"
        }
    } else if cfg!(target_arch = "x86") {
        "SCMP_ARCH_X86"
    } else if cfg!(target_arch = "aarch64") {
        "SCMP_ARCH_AARCH64"
    } else if cfg!(target_arch = "arm") {
        "SCMP_ARCH_ARM"
    } else if cfg!(target_arch = "riscv64") {
        "SCMP_ARCH_RISCV64"
    } else if cfg!(target_arch = "s390x") {
        "SCMP_ARCH_S390X"
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        "SCMP_ARCH_PPC64LE"
    } else if cfg!(target_arch = "powerpc64") {
        "SCMP_ARCH_PPC64"
    } else if cfg!(target_arch = "loongarch64") {
        "SCMP_ARCH_LOONGARCH64"
    } else {
        "SCMP_ARCH_X86_64"
    };
    by_name(name).unwrap_or(&ALL[1])
}

/// Looks an architecture up by its OCI name (`SCMP_ARCH_*`, case-insensitive; the prefix
/// may be left out, so `x86_64` works too). `SCMP_ARCH_NATIVE` gives the native one.
pub fn by_name(name: &str) -> Option<&'static ArchInfo> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SCMP_ARCH_") {
        upper
    } else {
        format!("SCMP_ARCH_{upper}")
    };
    if full == "SCMP_ARCH_NATIVE" {
        return Some(native());
    }
    let full = match full.as_str() {
        "SCMP_ARCH_AMD64" => "SCMP_ARCH_X86_64".to_string(),
        "SCMP_ARCH_I386" | "SCMP_ARCH_I686" => "SCMP_ARCH_X86".to_string(),
        "SCMP_ARCH_ARM64" => "SCMP_ARCH_AARCH64".to_string(),
        _ => full,
    };
    ALL.iter().find(|a| a.name == full)
}

/// The facts for an oci-spec [`Arch`].
pub fn from_oci(arch: Arch) -> &'static ArchInfo {
    by_name(&arch.to_string()).unwrap_or_else(native)
}

fn raw_number(name: &str, arch: &ArchInfo) -> Option<i32> {
    libseccomp::ScmpSyscall::from_name_by_arch(name, arch.scmp)
        .ok()
        .map(|n| n.as_raw_syscall())
}

/// Resolves `name` to its syscall number on `arch`, as libseccomp knows it; `None` when
/// the arch has no such syscall.
///
/// On architectures with multiplexers libseccomp resolves socket and IPC names to
/// negative pseudo-numbers, but its programs test the direct syscall (for example
/// `setsockopt` is 366 on x86, since Linux 4.3) as well as the multiplexer; this returns
/// the direct number, found with libseccomp's own reverse resolver.
///
/// The answer comes from [`syscall_table`], generated from libseccomp's resolver
/// ([`resolve_with_libseccomp`]) and checked against it by a test; names or
/// architectures the table lacks (a newer libseccomp) are asked of libseccomp.
pub fn resolve(name: &str, arch: &ArchInfo) -> Option<i32> {
    match table_lookup(name, arch) {
        Some(found) => found,
        None => resolve_with_libseccomp(name, arch),
    }
}

/// [`syscall_table`], indexed: name -> row, and per entry of [`ALL`] its column.
struct Table {
    rows: rustc_hash::FxHashMap<&'static str, usize>,
    columns: Vec<Option<&'static [i32]>>,
}

fn table() -> &'static Table {
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| Table {
        rows: syscall_table::NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i))
            .collect(),
        columns: ALL
            .iter()
            .map(|a| {
                syscall_table::NUMBERS
                    .iter()
                    .find(|(n, _)| *n == a.name)
                    .map(|(_, c)| *c)
            })
            .collect(),
    })
}

/// The row of `name` in [`syscall_table`], if it has one.
pub(crate) fn table_row(name: &str) -> Option<usize> {
    table().rows.get(name).copied()
}

/// The number of rows of the syscall table (every [`table_row`] is below it).
pub(crate) fn table_len() -> usize {
    syscall_table::NAMES.len()
}

/// The name in row `row` of the syscall table ([`table_row`]).
pub(crate) fn table_name(row: usize) -> Option<&'static str> {
    syscall_table::NAMES.get(row).copied()
}

/// The table's column for `arch` (`None`: the table lacks it, ask libseccomp).
pub(crate) fn table_column(arch: &ArchInfo) -> Option<&'static [i32]> {
    // `audit_arch` and the x32 flag tell every entry of `ALL` apart.
    let col = ALL
        .iter()
        .position(|a| a.audit_arch == arch.audit_arch && a.x32 == arch.x32)?;
    table().columns[col]
}

/// [`resolve`] for a name whose table row ([`table_row`]) and the architecture's column
/// ([`table_column`]) are known.
pub(crate) fn resolve_at(
    row: Option<usize>,
    column: Option<&'static [i32]>,
    name: &str,
    arch: &ArchInfo,
) -> Option<i32> {
    match (row, column) {
        (Some(r), Some(c)) => c.get(r).copied().filter(|nr| *nr >= 0),
        _ => resolve_with_libseccomp(name, arch),
    }
}

/// The table's answer: `None` when it lacks the architecture or the name.
fn table_lookup(name: &str, arch: &ArchInfo) -> Option<Option<i32>> {
    // `audit_arch` and the x32 flag tell every entry of `ALL` apart.
    let col = ALL
        .iter()
        .position(|a| a.audit_arch == arch.audit_arch && a.x32 == arch.x32)?;
    let t = table();
    let column = t.columns[col]?;
    let nr = *column.get(*t.rows.get(name)?)?;
    Some((nr >= 0).then_some(nr))
}

/// Whether libseccomp knows `name` on any architecture (the table first, as [`resolve`]).
pub fn is_known(name: &str) -> bool {
    table_row(name).is_some() || libseccomp::ScmpSyscall::from_name(name).is_ok()
}

/// [`resolve`] asked of libseccomp (`seccomp_syscall_resolve_name_arch`, and its reverse
/// resolver for the direct numbers of socket and IPC calls): the source of
/// [`syscall_table`].
pub fn resolve_with_libseccomp(name: &str, arch: &ArchInfo) -> Option<i32> {
    let nr = raw_number(name, arch)?;
    if nr >= 0 {
        return Some(nr);
    }
    multiplexer_of(name)?;
    direct_numbers(arch)
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, nr)| *nr)
}

/// The direct syscall numbers of the socket and IPC calls on a multiplexing architecture.
fn direct_numbers(arch: &ArchInfo) -> &'static [(&'static str, i32)] {
    use std::sync::{Mutex, OnceLock};
    type Table = Vec<(&'static str, &'static [(&'static str, i32)])>;
    static CACHE: OnceLock<Mutex<Table>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = guard.iter().find(|(n, _)| *n == arch.name) {
        return t;
    }
    let mut found = Vec::new();
    if let Some(mux) = raw_number("socketcall", arch).filter(|n| *n >= 0) {
        // Syscall tables start at 0, or at 4000 for MIPS o32; the socket and IPC calls
        // were all added below 500 past that.
        let base = mux - mux % 1000;
        for nr in base..base + 500 {
            if let Some(name) = syscall_name(nr, arch) {
                if let Some((n, _)) = SOCKETCALLS.iter().chain(IPCCALLS).find(|(n, _)| *n == name) {
                    found.push((*n, nr));
                }
            }
        }
    }
    let table: &'static [(&'static str, i32)] = Box::leak(found.into_boxed_slice());
    guard.push((arch.name, table));
    table
}

/// A socket or IPC syscall reachable through a multiplexer, and its call number.
const SOCKETCALLS: &[(&str, u32)] = &[
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];
/// `ipc(2)` call numbers (`include/uapi/linux/ipc.h`).
const IPCCALLS: &[(&str, u32)] = &[
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// Whether `a` has the `socketcall` and `ipc` multiplexers, through which libseccomp
/// also routes socket and IPC rules (x86, s390, s390x, PowerPC, 32-bit MIPS).
pub fn multiplexes(a: &ArchInfo) -> bool {
    raw_number("socketcall", a).is_some_and(|n| n >= 0)
}

/// Every sub-call of the multiplexers: `(multiplexer, call number, syscall name)`.
pub fn subcalls() -> impl Iterator<Item = (&'static str, u32, &'static str)> {
    SOCKETCALLS
        .iter()
        .map(|(n, c)| ("socketcall", *c, *n))
        .chain(IPCCALLS.iter().map(|(n, c)| ("ipc", *c, *n)))
}

/// Which multiplexer carries `name` on a multiplexing architecture, and its call number:
/// `(multiplexer name, call, mask applied to arg0 by the kernel)`.
pub fn multiplexer_of(name: &str) -> Option<(&'static str, u32, u32)> {
    if let Some((_, c)) = SOCKETCALLS.iter().find(|(n, _)| *n == name) {
        // socketcall(int call, ...): the low 32 bits.
        return Some(("socketcall", *c, u32::MAX));
    }
    // ipc(unsigned int call, ...): the version sits in the upper 16 bits.
    IPCCALLS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| ("ipc", *c, 0xffff))
}

/// The host a program for `arches` is meant for: the first of them this host cannot run
/// (see [`native_family`]), so that `--arch s390x` builds a filter for an s390x host,
/// or this host's native architecture when it runs them all.
pub fn target_of(arches: &[&'static ArchInfo]) -> &'static ArchInfo {
    let family = native_family();
    arches
        .iter()
        .find(|a| !family.iter().any(|f| f.name == a.name))
        .copied()
        .unwrap_or_else(native)
}

/// The ABIs a process of this host can call the kernel with: the native one and its
/// compat ABIs (x86_64 also runs x86 and x32 code; aarch64 runs arm; ppc64 ppc; s390x
/// s390).
pub fn native_family() -> Vec<&'static ArchInfo> {
    let names: &[&str] = match native().name {
        "SCMP_ARCH_X86_64" => &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "SCMP_ARCH_AARCH64" => &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "SCMP_ARCH_PPC64" => &["SCMP_ARCH_PPC64", "SCMP_ARCH_PPC"],
        "SCMP_ARCH_S390X" => &["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
        _ => &[],
    };
    let mut out: Vec<&'static ArchInfo> = names.iter().filter_map(|n| by_name(n)).collect();
    if out.is_empty() {
        out.push(native());
    }
    out
}

/// Every syscall name libseccomp knows for `arch`, sorted: its table scanned from the
/// ABI's first number (0; 4000, 5000 or 6000 on MIPS; bit 30 on x32) over 1100 numbers,
/// past the highest syscall of any ABI today.
pub fn all_syscall_names(arch: &ArchInfo) -> Vec<String> {
    let base = if arch.x32 {
        X32_SYSCALL_BIT as i32
    } else {
        raw_number("read", arch).map_or(0, |n| n - n.rem_euclid(1000))
    };
    let mut names: Vec<String> = (base..base + 1100)
        .filter_map(|nr| syscall_name(nr, arch))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The name of syscall `nr` on `arch`, as libseccomp knows it.
pub fn syscall_name(nr: i32, arch: &ArchInfo) -> Option<String> {
    libseccomp::ScmpSyscall::from_raw_syscall(nr)
        .get_name_by_arch(arch.scmp)
        .ok()
}

/// The text of `src/arch/syscall_table.rs` as this libseccomp answers: every name any
/// architecture it can build has, and per architecture its number or `None`.
#[doc(hidden)]
pub fn render_syscall_table() -> String {
    use std::fmt::Write;
    let version = libseccomp_version();
    let arches: Vec<&ArchInfo> = ALL.iter().filter(|a| version >= a.min_libseccomp).collect();
    let mut names = std::collections::BTreeSet::new();
    for a in &arches {
        names.extend(all_syscall_names(a));
    }
    for (n, _) in SOCKETCALLS.iter().chain(IPCCALLS) {
        names.insert((*n).to_string());
    }
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| {
            arches
                .iter()
                .any(|a| resolve_with_libseccomp(n, a).is_some())
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Syscall numbers per architecture, generated from libseccomp {} by\n\
         //! `cargo run -p oci-seccomp --example syscall_table > crates/oci-seccomp/src/arch/syscall_table.rs`\n\
         //! and checked against libseccomp by `arch::tests::syscall_table_is_libseccomps`.\n\
         //! Do not edit.\n",
        libseccomp_version_string()
    );
    let _ = writeln!(out, "/// Every name, sorted.");
    let _ = writeln!(out, "pub static NAMES: &[&str] = &[");
    for n in &names {
        let _ = writeln!(out, "    {n:?},");
    }
    let _ = writeln!(out, "];\n");
    let _ = writeln!(
        out,
        "/// Per architecture, the number of each of [`NAMES`] (`-1`: not on it).\n\
         pub static NUMBERS: &[(&str, &[i32])] = &["
    );
    for a in &arches {
        let _ = write!(out, "    ({:?}, &[", a.name);
        for (i, n) in names.iter().enumerate() {
            if i % 16 == 0 {
                out.push_str("\n        ");
            } else {
                out.push(' ');
            }
            let _ = write!(out, "{},", resolve_with_libseccomp(n, a).unwrap_or(-1));
        }
        out.push_str("\n    ]),\n");
    }
    out.push_str("];\n");
    out
}

/// Runtime libseccomp version as `(major, minor, micro)`: which architectures and syscall
/// names the linked libseccomp knows, and so what runc and crun on this host can build.
pub fn libseccomp_version() -> (u32, u32, u32) {
    libseccomp::ScmpVersion::current()
        .map(|v| (v.major, v.minor, v.micro))
        .unwrap_or((0, 0, 0))
}

/// Runtime libseccomp version as text (`2.5.4`).
pub fn libseccomp_version_string() -> String {
    let (a, b, c) = libseccomp_version();
    format!("{a}.{b}.{c}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_table_is_libseccomps() {
        let version = libseccomp_version();
        if version != (2, 5, 4) {
            // Another libseccomp: every entry must still agree (numbers are ABI), and it
            // may know more names than the table (asked of it directly).
            for (arch, numbers) in syscall_table::NUMBERS {
                let a = by_name(arch).expect("a known architecture");
                for (n, nr) in syscall_table::NAMES.iter().zip(*numbers) {
                    assert_eq!(
                        resolve_with_libseccomp(n, a).unwrap_or(-1),
                        *nr,
                        "{n} on {arch}"
                    );
                }
            }
            return;
        }
        assert!(
            render_syscall_table() == include_str!("syscall_table.rs"),
            "src/arch/syscall_table.rs is not what libseccomp answers; regenerate it (see its header)"
        );
    }

    #[test]
    fn every_oci_arch_is_known() {
        for name in [
            "SCMP_ARCH_NATIVE",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X32",
            "SCMP_ARCH_ARM",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_MIPS",
            "SCMP_ARCH_MIPS64",
            "SCMP_ARCH_MIPS64N32",
            "SCMP_ARCH_MIPSEL",
            "SCMP_ARCH_MIPSEL64",
            "SCMP_ARCH_MIPSEL64N32",
            "SCMP_ARCH_PPC",
            "SCMP_ARCH_PPC64",
            "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_S390",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_PARISC",
            "SCMP_ARCH_PARISC64",
            "SCMP_ARCH_RISCV64",
            "SCMP_ARCH_LOONGARCH64",
            "SCMP_ARCH_M68K",
            "SCMP_ARCH_SH",
            "SCMP_ARCH_SHEB",
        ] {
            let oci: Arch = name.parse().unwrap();
            let info = from_oci(oci);
            if name != "SCMP_ARCH_NATIVE" {
                assert_eq!(info.name, name);
            }
        }
    }

    #[test]
    fn resolves_numbers() {
        let x86_64 = by_name("x86_64").unwrap();
        let x86 = by_name("SCMP_ARCH_X86").unwrap();
        let x32 = by_name("SCMP_ARCH_X32").unwrap();
        assert_eq!(resolve("getppid", x86_64), Some(110));
        assert_eq!(resolve("getppid", x86), Some(64));
        assert_eq!(resolve("getppid", x32), Some(110 | X32_SYSCALL_BIT as i32));
        assert_eq!(resolve("no_such_syscall", x86_64), None);
    }
}
