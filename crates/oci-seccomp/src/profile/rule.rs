//! The profile's vocabulary: an entry's comparisons become [`Condition`]s, and each
//! (syscall name, action, conditions) triple a [`Rule`].

use oci_spec::runtime::{LinuxSeccompArg, LinuxSeccompOperator};

use crate::action::Action;

/// A comparison operator on a syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `SCMP_CMP_NE`: `arg != value`.
    Ne,
    /// `SCMP_CMP_LT`: `arg < value` (unsigned, 64-bit).
    Lt,
    /// `SCMP_CMP_LE`: `arg <= value`.
    Le,
    /// `SCMP_CMP_EQ`: `arg == value`.
    Eq,
    /// `SCMP_CMP_GE`: `arg >= value`.
    Ge,
    /// `SCMP_CMP_GT`: `arg > value`.
    Gt,
    /// `SCMP_CMP_MASKED_EQ`: `(arg & value) == valueTwo` — `value` is the mask. libseccomp
    /// (and so runc and crun) masks `valueTwo` too, so bits of `valueTwo` outside the mask
    /// are ignored: the comparison really is `(arg & value) == (valueTwo & value)`.
    MaskedEq,
}

impl Op {
    pub(crate) fn from_oci(op: LinuxSeccompOperator) -> Self {
        match op {
            LinuxSeccompOperator::ScmpCmpNe => Self::Ne,
            LinuxSeccompOperator::ScmpCmpLt => Self::Lt,
            LinuxSeccompOperator::ScmpCmpLe => Self::Le,
            LinuxSeccompOperator::ScmpCmpEq => Self::Eq,
            LinuxSeccompOperator::ScmpCmpGe => Self::Ge,
            LinuxSeccompOperator::ScmpCmpGt => Self::Gt,
            LinuxSeccompOperator::ScmpCmpMaskedEq => Self::MaskedEq,
        }
    }

    /// The OCI name, for example `SCMP_CMP_MASKED_EQ`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ne => "SCMP_CMP_NE",
            Self::Lt => "SCMP_CMP_LT",
            Self::Le => "SCMP_CMP_LE",
            Self::Eq => "SCMP_CMP_EQ",
            Self::Ge => "SCMP_CMP_GE",
            Self::Gt => "SCMP_CMP_GT",
            Self::MaskedEq => "SCMP_CMP_MASKED_EQ",
        }
    }
}

/// One argument comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Condition {
    /// Argument index, 0 to 5.
    pub index: u8,
    /// The operator.
    pub op: Op,
    /// The operand; for `MaskedEq`, the mask.
    pub value: u64,
    /// For `MaskedEq`, the expected value of `arg & value` (0 when absent); unused otherwise.
    pub value_two: u64,
    /// Compare the argument's low 32 bits only, with `value`'s (which then fits 32 bits):
    /// how the kernel reads a 32-bit argument ([`ArgReading::Kernel`](super::ArgReading::Kernel)), and how every
    /// comparison is made on a 32-bit ABI anyway. Set at validation for `!=`, `<`, `<=`,
    /// `>`, `>=` on such an argument; equalities become masked ones instead.
    pub low_word: bool,
}

impl Condition {
    /// The comparison `arg` states, unvalidated (an index above 5 is kept modulo 256:
    /// callers that need a valid index check it first, as [`Profile::from_oci`] does).
    pub(crate) fn from_oci(arg: &LinuxSeccompArg) -> Self {
        Self {
            index: arg.index() as u8,
            op: Op::from_oci(arg.op()),
            value: arg.value(),
            value_two: arg.value_two().unwrap_or(0),
            low_word: false,
        }
    }

    /// Whether an argument value satisfies the comparison (64-bit, unsigned, as libseccomp;
    /// the low 32 bits when [`Condition::low_word`]).
    pub fn matches(&self, arg: u64) -> bool {
        let arg = if self.low_word {
            arg & 0xffff_ffff
        } else {
            arg
        };
        match self.op {
            Op::Ne => arg != self.value,
            Op::Lt => arg < self.value,
            Op::Le => arg <= self.value,
            Op::Eq => arg == self.value,
            Op::Ge => arg >= self.value,
            Op::Gt => arg > self.value,
            Op::MaskedEq => arg & self.value == self.value_two & self.value,
        }
    }
}

/// One libseccomp rule: a syscall, an action, and conditions that must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Index of the `syscalls[]` entry it came from.
    pub entry: usize,
    /// The syscall name: borrowed from the syscall table for a name it knows (no copy per
    /// rule), owned otherwise.
    pub name: std::borrow::Cow<'static, str>,
    /// The action.
    pub action: Action,
    /// Conditions, ANDed; empty for an unconditional rule.
    pub conditions: Vec<Condition>,
}
