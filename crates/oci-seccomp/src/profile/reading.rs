//! How comparisons on arguments the kernel reads as fewer than 64 bits are decided
//! ([`ArgReading`]), and their rewriting into comparisons of the value the kernel uses.

use super::rule::{Condition, Op};
use crate::error::CompileError;

/// How a comparison on an argument the kernel reads as fewer than 64 bits (an `int`,
/// `unsigned int` or `umode_t`: our [`argwidth`](crate::arch::argwidth) table, from
/// include/linux/syscalls.h) is decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgReading {
    /// On the value the kernel will use: the argument's low 16 or 32 bits. The upper bits
    /// reach the filter but not the syscall, so a caller could otherwise set them to step
    /// around a deny (`socket(0x1_0000_0028, ...)` is an AF_VSOCK socket). Each comparison
    /// is rewritten at validation: an equality into a masked one, an order or `!=` into
    /// the same comparison of the low word ([`Condition::low_word`]; on a 16-bit argument,
    /// masked equalities on bit prefixes), and the complete check proves the program
    /// against them. libseccomp cannot compare a low word alone on a 64-bit ABI:
    /// `--backend libseccomp` is given masked equalities on bit prefixes instead. A
    /// constant the argument cannot
    /// hold (not a zero- or sign-extended value of its width) is refused. The default.
    #[default]
    Kernel,
    /// All 64 bits of the register, as written: what runc, crun and libseccomp do.
    Literal,
}

impl ArgReading {
    /// The name used by the CLI's `--arg-reading`: `kernel` or `literal`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kernel => "kernel",
            Self::Literal => "literal",
        }
    }
}

/// Most rules validation looks at in one profile, duplicates included (each name of an
/// entry times each of its comparison groups): bounds its work on any input.
pub const MAX_RULES_VISITED: usize = 1 << 18;

/// Most rules one entry's comparisons may become for one syscall under
/// [`ArgReading::Kernel`] (the product of each comparison's alternatives).
pub const MAX_KERNEL_READING_RULES: usize = 1024;

/// The bits the kernel reads of argument `index` of `name` when fewer than 64.
pub fn narrow_bits(name: &str, index: u8) -> Option<u8> {
    crate::arch::argwidth::arg_info(name, usize::from(index))
        .map(|a| a.bits)
        .filter(|b| *b < 64)
}

/// `c` (on an argument the kernel reads as `bits` bits) as comparisons of those bits,
/// ORed: the calls whose kernel-visible value satisfies `c`. An equality becomes a masked
/// equality; on a 32-bit argument `!=`, `<`, `<=`, `>`, `>=` become the same comparison of
/// the low word ([`Condition::low_word`]); on a 16-bit one, masked equalities on bit
/// prefixes (at most one per bit). Empty when no value satisfies it (`< 0`).
///
/// # Errors
///
/// Why the constant cannot be read that way: it does not fit the argument (neither a zero-
/// nor a sign-extended value of `bits` bits), or a mask covers only bits the kernel does
/// not read.
pub fn kernel_reading(c: &Condition, bits: u8) -> Result<Vec<Condition>, String> {
    let m = crate::arch::argwidth::read_mask(bits);
    let sign = 1u64 << (bits - 1);
    // The constant as the kernel sees a value of this width.
    let fit = |v: u64| -> Option<u64> {
        if v & !m == 0 {
            Some(v)
        } else if v | m == u64::MAX && v & sign != 0 {
            Some(v & m)
        } else {
            None
        }
    };
    let masked = |mask: u64, v: u64| Condition {
        index: c.index,
        op: Op::MaskedEq,
        value: mask,
        value_two: v & mask,
        low_word: false,
    };
    // A 32-bit argument: the same comparison on the low word, which every engine makes
    // (as for a 32-bit ABI). A 16-bit one: masked equalities on its bits, below.
    let low = |k: u64| {
        vec![Condition {
            index: c.index,
            op: c.op,
            value: k,
            value_two: 0,
            low_word: true,
        }]
    };
    let too_wide = |v: u64| {
        format!(
            "{v:#x} does not fit this {bits}-bit argument (the kernel reads only its low \
             {bits} bits, so no call has this value there); compare the low bits \
             ({:#x}), or use the literal 64-bit reading (--arg-reading literal) as runc does",
            v & m
        )
    };
    Ok(match c.op {
        Op::Eq => vec![masked(m, fit(c.value).ok_or_else(|| too_wide(c.value))?)],
        Op::MaskedEq => {
            let low = c.value & m;
            if low == 0 {
                return Err(format!(
                    "the mask {:#x} covers only bits the kernel does not read of this \
                     {bits}-bit argument, so every call would match; use the literal 64-bit \
                     reading (--arg-reading literal) as runc does, or a mask within {m:#x}",
                    c.value
                ));
            }
            let v = c.value_two & c.value;
            let upper = v & !m;
            let sign_extended = upper == c.value & !m && v & sign != 0 && low & sign != 0;
            if upper != 0 && !sign_extended {
                return Err(too_wide(c.value_two));
            }
            vec![masked(low, v)]
        }
        Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge if bits == 32 => {
            low(fit(c.value).ok_or_else(|| too_wide(c.value))?)
        }
        Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let k = fit(c.value).ok_or_else(|| too_wide(c.value))?;
            masked_alternatives(c.index, c.op, k, bits)
        }
    })
}

/// `op k` on the low `bits` bits of argument `index` (`k` within them) as masked
/// equalities on bit prefixes, ORed: at most one per bit, plus one for `<=` and `>=`. A
/// value below `k` agrees with it above some bit `i` where `k` has a 1 and it a 0; one
/// above, where `k` has a 0 and it a 1.
pub(crate) fn masked_alternatives(index: u8, op: Op, k: u64, bits: u8) -> Vec<Condition> {
    let m = crate::arch::argwidth::read_mask(bits);
    let masked = |mask: u64, v: u64| Condition {
        index,
        op: Op::MaskedEq,
        value: mask,
        value_two: v & mask,
        low_word: false,
    };
    // Bits `bits-1` down to `i`.
    let prefix = |i: u32| m & !((1u64 << i) - 1);
    let below = || {
        (0..u32::from(bits))
            .filter(|i| k & (1 << i) != 0)
            .map(|i| masked(prefix(i), (k & prefix(i)) & !(1u64 << i)))
            .collect::<Vec<_>>()
    };
    let above = || {
        (0..u32::from(bits))
            .filter(|i| k & (1 << i) == 0)
            .map(|i| masked(prefix(i), (k & prefix(i)) | (1u64 << i)))
            .collect::<Vec<_>>()
    };
    let mut alts = match op {
        Op::Ne => {
            let mut a = below();
            a.extend(above());
            a
        }
        Op::Lt | Op::Le => below(),
        Op::Gt | Op::Ge => above(),
        Op::Eq | Op::MaskedEq => Vec::new(),
    };
    if matches!(op, Op::Le | Op::Ge | Op::Eq) {
        alts.push(masked(m, k));
    }
    alts
}

/// The rule groups (ORed; comparisons within a group ANDed) of one entry's comparisons for
/// syscall `name` under [`ArgReading::Kernel`]; `repeated` as the entry repeats an index.
pub(crate) fn kernel_groups(
    path: &str,
    name: &str,
    conditions: &[Condition],
    repeated: bool,
) -> Result<Vec<Vec<Condition>>, CompileError> {
    let mut alts: Vec<Vec<Condition>> = Vec::with_capacity(conditions.len());
    for (j, c) in conditions.iter().enumerate() {
        alts.push(match narrow_bits(name, c.index) {
            Some(bits) => kernel_reading(c, bits).map_err(|why| {
                CompileError::invalid(
                    format!("{path}.args[{j}]"),
                    format!("{} {:#x} for {name}", c.op.name(), c.value),
                    why,
                )
            })?,
            None => vec![*c],
        });
    }
    if repeated {
        let mut once = rustc_hash::FxHashSet::default();
        let flat: Vec<Vec<Condition>> = alts
            .into_iter()
            .flatten()
            .filter(|c| once.insert(*c))
            .map(|c| vec![c])
            .collect();
        if flat.len() > MAX_KERNEL_READING_RULES {
            return Err(CompileError::invalid(
                format!("{path}.args"),
                format!("{} comparisons for {name}", conditions.len()),
                format!(
                    "read as the kernel reads these arguments, the comparisons become more than \
                     {MAX_KERNEL_READING_RULES} rules; use fewer, or the literal 64-bit reading \
                     (--arg-reading literal)"
                ),
            ));
        }
        return Ok(flat);
    }
    let count = alts.iter().try_fold(1usize, |n, a| {
        n.checked_mul(a.len())
            .filter(|n| *n <= MAX_KERNEL_READING_RULES)
    });
    let Some(_) = count else {
        return Err(CompileError::invalid(
            format!("{path}.args"),
            format!("{} comparisons for {name}", conditions.len()),
            format!(
                "read as the kernel reads these arguments, the comparisons become more than \
                 {MAX_KERNEL_READING_RULES} rules (each `!=`, `<`, `<=`, `>`, `>=` on a 16-bit \
                 argument is one masked equality per bit); use SCMP_CMP_EQ or \
                 SCMP_CMP_MASKED_EQ, split the entry, or use the literal 64-bit reading \
                 (--arg-reading literal)"
            ),
        ));
    };
    let mut groups: Vec<Vec<Condition>> = vec![Vec::new()];
    for a in alts {
        let mut next = Vec::with_capacity(groups.len() * a.len());
        for g in &groups {
            for c in &a {
                let mut h = g.clone();
                h.push(*c);
                next.push(h);
            }
        }
        groups = next;
    }
    Ok(groups)
}
