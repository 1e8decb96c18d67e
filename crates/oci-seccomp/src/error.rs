//! Error types of the compile crate.

use std::io;

use crate::action::Action;

/// The witness of a failed proof: one call, what the program returns for it, and what the
/// profile accepts ([`CompileError::Miscompiled`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Miscompiled {
    /// `seccomp_data.arch`, an `AUDIT_ARCH_*` value.
    pub arch: u32,
    /// `seccomp_data.nr` (x32 numbers with bit 30).
    pub nr: u32,
    /// The six arguments, in the ABI's byte order already read as 64-bit values.
    pub args: [u64; 6],
    /// What the program returns.
    pub got: Action,
    /// The actions the profile accepts for the call (never empty).
    pub want: Vec<Action>,
    /// Whether a stricter action than `want[0]` is acceptable too (a call through a
    /// multiplexer).
    pub at_least: bool,
}

/// Why a `linux.seccomp` object could not be compiled.
///
/// Every variant that comes from the input names the JSON path of the offending field
/// (for example `syscalls[3].args[1].index`), the value found there and the reason.
/// Nothing is ever installed when compilation fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// A field holds a value that the OCI semantics or the kernel cannot accept.
    #[error("{path}: invalid value {value}: {reason}")]
    InvalidField {
        /// JSON path of the field, for example `syscalls[2].errnoRet`.
        path: String,
        /// The value found, as text.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// `defaultAction` is `SCMP_ACT_NOTIFY`, which would send every syscall, including
    /// those of the supervisor handoff itself, to a supervisor.
    #[error(
        "defaultAction: SCMP_ACT_NOTIFY cannot be the default action: every syscall would wait \
         for a supervisor, including those needed to hand the notify fd over; use NOTIFY on \
         named syscalls"
    )]
    NotifyDefaultAction,

    /// A rule uses `SCMP_ACT_NOTIFY` but the linked libseccomp cannot emit it.
    #[error(
        "{path}: SCMP_ACT_NOTIFY needs libseccomp >= 2.5.0 with API level >= 5 and kernel \
         support; found libseccomp {version}, API level {api_level}"
    )]
    NotifyUnsupported {
        /// JSON path of the first NOTIFY rule.
        path: String,
        /// Runtime libseccomp version.
        version: String,
        /// libseccomp API level.
        api_level: u32,
    },

    /// An architecture that the linked libseccomp cannot build filters for.
    #[error("{path}: architecture {arch} needs libseccomp >= {needed}; this process has libseccomp {found}")]
    UnsupportedArchitecture {
        /// JSON path, for example `architectures[2]`.
        path: String,
        /// OCI name of the architecture.
        arch: String,
        /// First libseccomp version that supports it.
        needed: &'static str,
        /// Runtime libseccomp version.
        found: String,
    },

    /// A syscall name that libseccomp does not know, refused because of `strict`.
    #[error("{path}: unknown syscall {name:?} (libseccomp {version} does not know it on any listed architecture)")]
    UnknownSyscall {
        /// JSON path, for example `syscalls[4].names[0]`.
        path: String,
        /// The name.
        name: String,
        /// Runtime libseccomp version.
        version: String,
    },

    /// Two unconditional entries give one syscall different actions; libseccomp keeps the
    /// first and silently drops the second. Refused because of `strict`.
    #[error(
        "{path}: {name:?} already has an unconditional rule at {first} with action {first_action}; \
         libseccomp would keep that one and silently drop this {action}"
    )]
    ConflictingRule {
        /// JSON path of the later entry.
        path: String,
        /// The syscall name.
        name: String,
        /// JSON path of the earlier entry.
        first: String,
        /// Action of the earlier entry.
        first_action: String,
        /// Action of this entry.
        action: String,
    },

    /// The finished program is longer than the kernel accepts.
    #[error(
        "the compiled program has {len} instructions, more than the kernel's limit of {max}: \
         merge rules, drop architectures, or split conditions"
    )]
    ProgramTooLong {
        /// Instructions produced.
        len: usize,
        /// The kernel limit (`BPF_MAXINSNS`).
        max: usize,
    },

    /// The argument comparisons need a decision diagram larger than any program the kernel
    /// accepts; our generator stopped building it (see [`crate::backend::native`]).
    #[error(
        "the argument comparisons need more than the kernel's limit of {max} instructions \
         ({detail}): use fewer comparisons per entry, masks, or fewer architectures"
    )]
    ComparisonsTooComplex {
        /// What ran over: the diagram's nodes or the generator's work budget.
        detail: String,
        /// The kernel limit (`BPF_MAXINSNS`).
        max: usize,
    },

    /// libseccomp refused an operation.
    #[error("{path}: libseccomp failed to {op}: {source}")]
    Libseccomp {
        /// JSON path of the input that caused it, or `<filter>` for whole-filter steps.
        path: String,
        /// The operation, for example `add rule for "socket"`.
        op: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// A backend produced a program that decides otherwise than the profile says, found
    /// by the proof ([`crate::proof`]). Refused, so that no filter fails open.
    #[error("{entry}: refusing a miscompiled filter: {detail}")]
    Miscompiled {
        /// The entries for the syscall concerned.
        entry: String,
        /// What was checked, what the program did and what it should have done.
        detail: String,
        /// The call on which they differ, as data; `None` when the program could not be
        /// proven at all (an instruction the proof does not model).
        witness: Option<Box<Miscompiled>>,
    },

    /// The complete check ran out of its step budget before it could show that the
    /// program decides every call as the profile says. Nothing shows that the program is
    /// wrong; it is refused because only proven programs are returned. The remedy is a
    /// simpler profile, not another generator.
    #[error(
        "the profile is too complex to prove: the check that the program decides every call \
         as the profile says stopped after {steps} steps{} without finding any call decided \
         wrongly, and an unproven program is never returned; simplify the argument \
         conditions{}: fewer entries or comparisons for one syscall, masks that cover whole \
         values (SCMP_CMP_EQ, or SCMP_CMP_MASKED_EQ with few distinct masks) rather than \
         many masks of scattered bits, and ranges (SCMP_CMP_LT, SCMP_CMP_GE) instead of long \
         lists of values",
        syscall.as_ref().map(|s| format!(" (at {s})")).unwrap_or_default(),
        entry_list(entries)
    )]
    TooComplexToProve {
        /// The steps the proof was given.
        steps: u64,
        /// The syscall and ABI it was on when it stopped (`read on SCMP_ARCH_X86_64`),
        /// when that was one syscall.
        syscall: Option<String>,
        /// The `syscalls[]` entries of that syscall.
        entries: Vec<usize>,
    },

    /// Exporting the BPF program from libseccomp failed.
    #[error("exporting the BPF program failed: {0}")]
    Export(#[source] io::Error),
}

/// ` of syscalls[0], syscalls[3] and 5 more` for the first entries of a list, or nothing.
fn entry_list(entries: &[usize]) -> String {
    const SHOWN: usize = 4;
    if entries.is_empty() {
        return String::new();
    }
    let names: Vec<String> = entries
        .iter()
        .take(SHOWN)
        .map(|e| format!("syscalls[{e}]"))
        .collect();
    let more = entries.len().saturating_sub(SHOWN);
    if more > 0 {
        format!(" of {} and {more} more", names.join(", "))
    } else {
        format!(" of {}", names.join(", "))
    }
}

impl CompileError {
    pub(crate) fn invalid(
        path: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidField {
            path: path.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Why a profile file could not be parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Malformed JSON, or a field of the wrong type or with an unknown value.
    #[error("line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's explanation.
        message: String,
    },

    /// An object was expected (serde would otherwise read an array positionally).
    #[error("{path}: expected a JSON object, found {found}")]
    Shape {
        /// JSON path.
        path: String,
        /// What was found.
        found: &'static str,
    },

    /// The text is larger than any real profile.
    #[error(
        "the profile is {len} bytes, more than the {max}-byte limit; no real profile is this large"
    )]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The file is a Docker/moby profile, not an OCI `linux.seccomp` object.
    #[error(
        "{path}: Docker (moby) profile key {key:?} in an OCI profile: oci-spec drops it silently, \
         which would allow every capability-gated syscall; render the file first \
         (`oci-seccomp render FILE`) or load it with the moby module"
    )]
    DockerKey {
        /// JSON path of the key, for example `syscalls[12].includes`.
        path: String,
        /// The key.
        key: String,
    },

    /// A key is an OCI key in another letter case (`"Syscalls"`): oci-spec would drop it,
    /// runc (Go's `encoding/json`) would read it.
    #[error(
        "{path}: key {key:?} differs from the OCI key {expected:?} only in letter case: this \
         parser would ignore it while Go runtimes read it; write it as {expected:?}"
    )]
    KeyCase {
        /// JSON path of the key as written.
        path: String,
        /// The key as written.
        key: String,
        /// The OCI spelling.
        expected: &'static str,
    },
}

/// Why bytes could not be read back as a [`crate::Program`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgramFormatError {
    /// Shorter or longer than the header says.
    #[error("program bytes have length {len}, expected {needed}: truncated or padded")]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes the header implies.
        needed: usize,
    },
    /// Not produced by `Program::to_bytes`.
    #[error("program bytes do not start with the oci-seccomp magic")]
    BadMagic,
    /// Produced by another version of this crate.
    #[error(
        "program format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// Version in the bytes.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// Zero instructions or more than the kernel accepts.
    #[error("program claims {count} instructions; a program has 1 to 4096")]
    BadLength {
        /// Count in the header.
        count: usize,
    },
    /// The content does not match its checksum.
    #[error("program checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the bytes were altered")]
    ChecksumMismatch {
        /// Stored checksum.
        stored: u64,
        /// Checksum of the content.
        computed: u64,
    },
    /// Header bits this version does not define.
    #[error("program header has unknown bits {bits:#06x}")]
    UnknownBits {
        /// The bits.
        bits: u16,
    },
}

/// Why a program could not be simulated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimulateError {
    /// A jump or fall-through past the last instruction.
    #[error("instruction {pc}: control leaves the program (target {target}, length {len})")]
    OutOfRange {
        /// Index of the instruction.
        pc: usize,
        /// Target index.
        target: usize,
        /// Program length.
        len: usize,
    },
    /// A load outside `struct seccomp_data` or misaligned.
    #[error(
        "instruction {pc}: load at offset {offset} is outside struct seccomp_data or misaligned"
    )]
    BadLoad {
        /// Index of the instruction.
        pc: usize,
        /// Offset.
        offset: u32,
    },
    /// An opcode the seccomp verifier would refuse.
    #[error("instruction {pc}: opcode {code:#06x} is not allowed in a seccomp filter")]
    BadOpcode {
        /// Index of the instruction.
        pc: usize,
        /// Opcode.
        code: u16,
    },
    /// Division or modulo by zero in a constant operation.
    #[error("instruction {pc}: division by zero")]
    DivisionByZero {
        /// Index of the instruction.
        pc: usize,
    },
    /// Scratch memory index out of range.
    #[error("instruction {pc}: scratch memory index {index} out of range")]
    BadScratch {
        /// Index of the instruction.
        pc: usize,
        /// Scratch index.
        index: u32,
    },
    /// More steps than a forward-only program can take.
    #[error("program ran more than {0} instructions")]
    TooManySteps(usize),
}
