//! Comparing two profiles (or programs) by what they decide: the regions of calls on which
//! their [`Semantics`] (or instructions) differ, over the whole input space (architectures,
//! syscall numbers, the stub's range, all six arguments), each with both actions, both
//! deciding entries and a witness call.
//!
//! # The design
//!
//! Both decision procedures are asked of one region at a time, starting from every
//! `seccomp_data`. A question whose answer differs inside the region (for either profile)
//! splits it, exactly as in the proof; when both verdicts are constant on a region, they
//! are compared. Nothing is sampled, so a difference that only one argument value shows
//! (`arg0 < 5` against `arg0 <= 5`) is found, as the region `arg0 == 5`. Regions that
//! differ alike on adjacent syscall numbers of one ABI, with no argument constraint, are
//! merged, so that a profile that allows one more syscall differs by one region per ABI.

use crate::action::{strictness, Action};
use crate::arch::{self, ArchInfo, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::bpf::{Instruction, SeccompData};
use crate::profile::semantics::budget::StepBudget;
use crate::profile::semantics::decide::arg_words;
use crate::profile::semantics::space::{Region, Stop, WordSet, ARCH, NR};
use crate::profile::semantics::{Cause, Semantics, Verdict, MAX_STEPS};
use crate::proof::{self, ProofError};

/// One side of a comparison: a profile's meaning, or a program's instructions (any
/// program the proof can walk: loads of `seccomp_data`, `AND` masks, jumps on constants,
/// `RET` constants).
#[derive(Clone, Copy, Debug)]
pub enum Decider<'a> {
    /// What a profile decides, and which entry decides it.
    Profile(&'a Semantics),
    /// What a compiled program returns (no deciding entry).
    Program(&'a [Instruction]),
    /// What a stack of programs returns together, most recently installed first, as the
    /// kernel decides it (`seccomp_run_filters` in kernel/seccomp.c): every program runs,
    /// the strictest action wins, and of equally strict ones the most recent program's
    /// (its data, such as the errno) is kept.
    Stack(&'a [Vec<Instruction>]),
}

impl Decider<'_> {
    pub(crate) fn verdict(&self, region: &mut Region) -> Result<Verdict, Stop> {
        match self {
            Self::Profile(s) => s.verdict(region),
            Self::Program(insns) => {
                proof::walk::run_asking(insns, region).map(|a| Verdict::one(a, Cause::Default))
            }
            Self::Stack(programs) => {
                stack_action(programs, region).map(|(a, _)| Verdict::one(a, Cause::Default))
            }
        }
    }

    /// A bound on how deep a walk of this side may recurse, in questions along one path:
    /// its conditional rules, or its instructions.
    pub(crate) fn depth_hint(&self) -> usize {
        match self {
            Self::Profile(s) => s.conditional_rules(),
            Self::Program(insns) => insns.len(),
            Self::Stack(programs) => programs.iter().map(Vec::len).sum(),
        }
    }

    fn is_program(&self) -> bool {
        matches!(self, Self::Program(_) | Self::Stack(_))
    }

    /// The programs to check before a walk.
    pub(crate) fn programs(&self) -> Vec<&[Instruction]> {
        match self {
            Self::Profile(_) => Vec::new(),
            Self::Program(insns) => vec![insns],
            Self::Stack(programs) => programs.iter().map(Vec::as_slice).collect(),
        }
    }
}

/// What one side decides for the calls of a [`Difference`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    /// The action (the first of the verdict's when several are accepted).
    pub action: Action,
    /// Other actions the profile accepts for these calls, as strict as `action`: entries
    /// of one class whose order libseccomp decides, or sub-calls through a multiplexer.
    pub also: Vec<Action>,
    /// Whether any stricter action is accepted too (a socket or IPC call through
    /// `socketcall`/`ipc`, whose arguments the filter cannot read: a backend may answer
    /// it more strictly).
    pub at_least: bool,
    /// Why, for a profile: the deciding entry, `defaultAction`, the stub, or an ABI not in
    /// the profile; `None` for a program.
    pub cause: Option<Cause>,
}

/// How the second profile's action compares with the first's, by the kernel's precedence
/// of actions ([`strictness`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The second lets through what the first stopped, or stops less hard (a less strict
    /// action: ERRNO to ALLOW, KILL to TRAP, ...).
    Looser,
    /// The second is stricter.
    Stricter,
    /// As strict, but different: another errno, another TRAP or TRACE value.
    Other,
}

/// A region of calls that two profiles decide differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The ABI (`SCMP_ARCH_X86_64`, ...), `None` for an `arch` value no ABI has.
    pub abi: Option<&'static str>,
    /// `seccomp_data.arch` (an `AUDIT_ARCH_*` value).
    pub arch: u32,
    /// The syscall numbers of the region, `(first, last)`, inclusive (x32 numbers with
    /// their bit 30).
    pub numbers: (u32, u32),
    /// The syscall's name when the region is one number the ABI names.
    pub syscall: Option<String>,
    /// The region's constraints on the arguments, in a profile's terms (`arg0 == 0x28`,
    /// `arg1 & 0x7e020000 != 0`, `arg0 in [0x5, 0x5]`); empty: every argument value.
    pub conditions: Vec<String>,
    /// What the first profile decides there.
    pub a: Decided,
    /// What the second profile decides there.
    pub b: Decided,
    /// A call in the region (the smallest), which the two compiled programs decide as
    /// `a` and `b` say.
    pub witness: SeccompData,
}

impl Decided {
    /// The least and the most strict action accepted ([`strictness`] values).
    fn strictness_range(&self) -> (u8, u8) {
        let s = strictness(self.action);
        let most = if self.at_least {
            strictness(Action::KillProcess)
        } else {
            s
        };
        (s, most)
    }

    /// Whether a program that returns `action` decides as this side says.
    pub fn accepts(&self, action: Action) -> bool {
        action == self.action
            || self.also.contains(&action)
            || (self.at_least && strictness(action) > strictness(self.action))
    }
}

impl std::fmt::Display for Decided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.action)?;
        for a in &self.also {
            write!(f, " or {a}")?;
        }
        if self.at_least {
            f.write_str(" or stricter")?;
        }
        Ok(())
    }
}

impl Difference {
    /// How `b` compares with `a`, counting every action each accepts: looser when `b` may
    /// answer some call less strictly than `a` may (so a gate on it fails closed), else
    /// stricter when `b` may answer more strictly, else another action of one class.
    pub fn change(&self) -> Change {
        let (a_least, a_most) = self.a.strictness_range();
        let (b_least, b_most) = self.b.strictness_range();
        if b_least < a_most {
            Change::Looser
        } else if b_most > a_least {
            Change::Stricter
        } else {
            Change::Other
        }
    }
}

/// Why two profiles could not be compared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// The comparison needed more steps than its budget ([`MAX_STEPS`] for
    /// [`diff`]); the profiles are too complex to compare exactly.
    #[error(
        "the profiles are too complex to compare: the comparison needed more than {steps} \
         steps (split the profiles, or simplify syscalls with many overlapping conditional entries)"
    )]
    TooComplex {
        /// The budget it had.
        steps: u64,
    },

    /// A program side has an instruction the walk does not model, so what it decides
    /// cannot be known for every call.
    #[error(
        "{side} program: instruction {pc} ({what}) cannot be compared; only programs of \
             seccomp_data loads, AND masks, jumps on constants and RET constants can"
    )]
    Unsupported {
        /// `a` or `b`.
        side: &'static str,
        /// Instruction index.
        pc: usize,
        /// What it is.
        what: String,
    },

    /// The comparison ran past its deadline (a budget with one, as `oci-seccomp diff`
    /// gives: 1 s).
    #[error(
        "the profiles are too complex to compare within the time allowed (simplify the \
         conditions of the syscalls where they differ, or compare fewer architectures)"
    )]
    TimedOut,

    /// More regions differ than [`MAX_DIFFERENCES`]; comparing further would hold them
    /// all in memory.
    #[error(
        "more than {MAX_DIFFERENCES} regions differ: the profiles are not versions of one \
         profile; compare them syscall by syscall, or check what each allows"
    )]
    TooManyDifferences,
}

/// Most regions [`diff`] reports before it stops with [`DiffError::TooManyDifferences`]:
/// its memory stays bounded whatever the profiles.
pub const MAX_DIFFERENCES: usize = 10_000;

/// The regions where `a` and `b` decide differently, ordered by ABI (as `arch` values),
/// syscall number and region; empty when they decide every call alike.
///
/// ```
/// use oci_seccomp::{parse_profile, Profile, Semantics, Stub};
///
/// let old = Profile::from_oci(&parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO",
///     "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW",
///     "args":[{"index":0,"value":5,"op":"SCMP_CMP_LT"}]}]}"#)?, false)?;
/// let new = Profile::from_oci(&parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO",
///     "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW",
///     "args":[{"index":0,"value":5,"op":"SCMP_CMP_LE"}]}]}"#)?, false)?;
/// let d = oci_seccomp::diff(&Semantics::new(&old, Stub::Enosys), &Semantics::new(&new, Stub::Enosys))?;
/// assert_eq!(d.len(), 1); // personality(5), on the native ABI
/// assert_eq!(d[0].witness.args[0], 5);
/// assert_eq!(d[0].change(), oci_seccomp::Change::Looser);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`DiffError::TooComplex`] when the comparison needs more than [`MAX_STEPS`]
/// steps.
pub fn diff(a: &Semantics, b: &Semantics) -> Result<Vec<Difference>, DiffError> {
    diff_within(a, b, &mut StepBudget::new(MAX_STEPS))
}

/// [`diff`] within what is left of `budget`, which is charged the steps it took.
///
/// # Errors
///
/// [`DiffError::TooComplex`] when the comparison needs more than what was left.
pub fn diff_within(
    a: &Semantics,
    b: &Semantics,
    budget: &mut StepBudget,
) -> Result<Vec<Difference>, DiffError> {
    diff_deciders(Decider::Profile(a), Decider::Profile(b), budget)
}

/// [`diff_within`] for any two sides, profiles or programs (`compile --format raw|hex`
/// output, or a program read from a running process): a program side has no deciding
/// entries (`cause` is `None`).
///
/// # Errors
///
/// As [`diff_within`]; [`DiffError::Unsupported`] when a program has an instruction the
/// walk does not model.
pub fn diff_deciders(
    a: Decider<'_>,
    b: Decider<'_>,
    budget: &mut StepBudget,
) -> Result<Vec<Difference>, DiffError> {
    if a.depth_hint() + b.depth_hint() <= SHALLOW {
        return diff_deciders_here(a, b, budget);
    }
    on_deep_stack(|| diff_deciders_here(a, b, budget))
}

/// Walks of sides whose [`Decider::depth_hint`]s add up to at most this run on the
/// caller's thread (a path of that many questions, about 1 KiB each, fits in a 2 MiB thread
/// stack several times over); deeper ones on a thread of their own with [`WALK_STACK`].
pub(crate) const SHALLOW: usize = 512;

/// How long a merge, a normalization or a lift may walk before it is refused as too
/// complex: any input is answered or refused within about this.
pub const WALK_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// A step budget of [`MAX_STEPS`] that also ends [`WALK_TIME`] from now.
pub(crate) fn bounded_budget() -> StepBudget {
    StepBudget::new(MAX_STEPS).with_deadline(std::time::Instant::now() + WALK_TIME)
}

/// Stack for the walks: they recurse once per question asked along a path, which for
/// thousands of conditional entries on one syscall is deeper than a main thread's 8 MiB.
pub(crate) const WALK_STACK: usize = 512 << 20;

/// Runs `f` on a thread with [`WALK_STACK`] bytes of stack (reserved, touched only as
/// deep as the walk goes), and returns its result.
pub(crate) fn on_deep_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("oci-seccomp-walk".into())
            .stack_size(WALK_STACK)
            .spawn_scoped(s, f)
        {
            Ok(h) => match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(e) => panic!("cannot start the walk's thread: {e}"),
        }
    })
}

/// [`diff_deciders`] on the current thread.
fn diff_deciders_here(
    a: Decider<'_>,
    b: Decider<'_>,
    budget: &mut StepBudget,
) -> Result<Vec<Difference>, DiffError> {
    for (side, d) in [("a", a), ("b", b)] {
        for insns in d.programs() {
            match proof::check_walkable(insns, budget) {
                Err(ProofError::Unsupported { pc, what }) => {
                    return Err(DiffError::Unsupported { side, pc, what })
                }
                Err(ProofError::TooComplex) => {
                    return Err(DiffError::TooComplex { steps: MAX_STEPS })
                }
                _ => {}
            }
        }
    }
    let given = budget.left();
    let mut region = Region::for_budget(budget);
    let mut out = Vec::new();
    let r = walk(a, b, &mut region, &mut out);
    let programs = (a.is_program(), b.is_program());
    region.steps.settle(budget);
    match r {
        Ok(()) => Ok(merge_adjacent(out, programs)),
        Err(Full) => Err(DiffError::TooManyDifferences),
        Err(_) if budget.timed_out() => Err(DiffError::TimedOut),
        Err(_) => Err(DiffError::TooComplex { steps: given }),
    }
}

/// A leaf of the walk: a region both decide constantly and differently.
struct Leaf {
    words: [WordSet; 16],
    witness: SeccompData,
    a: Verdict,
    b: Verdict,
}

/// Why a walk stopped early.
#[derive(Debug, PartialEq, Eq)]
enum Stopped {
    /// Out of steps (or past the deadline).
    Steps,
    /// [`MAX_DIFFERENCES`] regions held.
    Full,
}
use Stopped::{Full, Steps};

/// Splits `region` until both verdicts are constant on each piece; keeps the pieces on
/// which they differ.
fn walk(
    a: Decider<'_>,
    b: Decider<'_>,
    region: &mut Region,
    out: &mut Vec<Leaf>,
) -> Result<(), Stopped> {
    let split = match (a.verdict(region), b.verdict(region)) {
        (Ok(va), Ok(vb)) => {
            if !alike(&va, &vb) {
                if out.len() >= MAX_DIFFERENCES {
                    return Err(Full);
                }
                let Some(witness) = filtered_witness(region).map_err(|_| Steps)? else {
                    // Only calls the kernel runs without asking seccomp: no difference.
                    return Ok(());
                };
                out.push(Leaf {
                    words: region.words.clone(),
                    witness,
                    a: va,
                    b: vb,
                });
            }
            return Ok(());
        }
        (Err(Stop::Split(atom)), _) | (_, Err(Stop::Split(atom))) => atom,
        _ => return Err(Steps),
    };
    for yes in [false, true] {
        let sat = region.push(split, yes).map_err(|_| Steps)?;
        let r = if sat { walk(a, b, region, out) } else { Ok(()) };
        region.pop();
        r?;
    }
    Ok(())
}

/// System calls the kernel runs without asking seccomp, so that no filter decides them:
/// `uretprobe` (335) and `uprobe` (336) on x86_64 (`__secure_computing` in
/// kernel/seccomp.c passes them through since Linux 6.13 and 6.16; their only callers are
/// the kernel's own uprobe trampolines).
pub(crate) const PASSTHROUGH_X86_64: [u32; 2] = [335, 336];

/// A call of `region` that a filter decides (not one of [`PASSTHROUGH_X86_64`]), or
/// `None` when every call of the region is one of them.
pub(crate) fn filtered_witness(
    region: &mut Region,
) -> Result<Option<SeccompData>, crate::profile::semantics::budget::Exhausted> {
    use crate::profile::semantics::space::Atom;
    let mut pushed = 0;
    let mut found = None;
    for _ in 0..4 {
        let w = region.sample()?.data();
        let nr = w.nr as u32;
        if w.arch != AUDIT_ARCH_X86_64 || !PASSTHROUGH_X86_64.contains(&nr) {
            found = Some(w);
            break;
        }
        // Leave that number out; if nothing is left, leave x86_64 out instead.
        pushed += 1;
        if !region.push(Atom::eq(NR, nr), false)? {
            region.pop();
            if !region.push(Atom::eq(ARCH, AUDIT_ARCH_X86_64), false)? {
                break;
            }
        }
    }
    for _ in 0..pushed {
        region.pop();
    }
    Ok(found)
}

/// What a stack of programs (most recent first) returns on the region `q` describes, and
/// the index of the program whose answer the kernel keeps.
pub(crate) fn stack_action(
    programs: &[Vec<Instruction>],
    q: &mut dyn crate::profile::semantics::space::Ask,
) -> Result<(Action, usize), Stop> {
    // The kernel keeps the smallest `ACTION_ONLY(ret)` as a signed value (kernel/seccomp.c,
    // seccomp_run_filters), on the raw value: an action it does not know ranks where its
    // bits put it, and kills only when it is the one kept.
    let rank = |ret: u32| (ret & crate::action::ret::ACTION_FULL) as i32;
    let mut best: Option<(u32, usize)> = None;
    for (i, insns) in programs.iter().enumerate() {
        let ret = proof::walk::run_asking_raw(insns, q)?;
        // Replaced only by a strictly smaller one: of equal ones the most recent stays.
        if best.is_none_or(|(b, _)| rank(ret) < rank(b)) {
            best = Some((ret, i));
        }
    }
    Ok(best.map_or((Action::Allow, 0), |(ret, i)| (Action::from_ret(ret), i)))
}

/// Whether two verdicts accept the same actions.
fn alike(a: &Verdict, b: &Verdict) -> bool {
    let actions = |v: &Verdict| {
        let mut x: Vec<Action> = v.outcomes.iter().map(|(a, _)| *a).collect();
        x.sort_by_key(|a| a.to_ret());
        x.dedup();
        x
    };
    actions(a) == actions(b) && a.at_least == b.at_least
}

/// The ABI of a call on `arch` with number `nr` (x32 by bit 30 on x86_64; `-1`, a tracer's
/// skipped call, is x86_64's).
fn abi_of(arch: u32, nr: u32) -> Option<&'static ArchInfo> {
    let x32 = nr & X32_SYSCALL_BIT != 0 && nr != u32::MAX;
    arch::ALL
        .iter()
        .find(|a| a.audit_arch == arch && (a.audit_arch != AUDIT_ARCH_X86_64 || a.x32 == x32))
}

/// The leaves as differences, adjacent syscall numbers of one ABI with the same outcomes and
/// no argument constraint merged.
fn merge_adjacent(leaves: Vec<Leaf>, programs: (bool, bool)) -> Vec<Difference> {
    let mut diffs: Vec<Difference> = leaves
        .into_iter()
        .map(|l| difference(l, programs))
        .collect();
    diffs.sort_by(|x, y| {
        (x.arch, x.numbers, &x.conditions).cmp(&(y.arch, y.numbers, &y.conditions))
    });
    let mut out: Vec<Difference> = Vec::with_capacity(diffs.len());
    for d in diffs {
        if let Some(last) = out.last_mut() {
            let adjacent = last.arch == d.arch
                && last.abi == d.abi
                && last.conditions.is_empty()
                && d.conditions.is_empty()
                && last.numbers.1.checked_add(1) == Some(d.numbers.0)
                && last.a == d.a
                && last.b == d.b;
            if adjacent {
                last.numbers.1 = d.numbers.1;
                last.syscall = None;
                continue;
            }
        }
        out.push(d);
    }
    out
}

/// Where a region of the walk lies, in a profile's terms.
pub(crate) struct Place {
    /// The ABI, when the architecture and number name one.
    pub(crate) info: Option<&'static ArchInfo>,
    /// The smallest and largest syscall numbers of the region.
    pub(crate) numbers: (u32, u32),
    /// The syscall's name, when the region has one number that names one.
    pub(crate) syscall: Option<String>,
    /// The argument constraints (and numbers left out of the range), in words.
    pub(crate) conditions: Vec<String>,
}

/// Where the region `words`, of which `witness` is a call, lies.
pub(crate) fn place(words: &[WordSet; 16], witness: &SeccompData) -> Place {
    let arch_word = &words[ARCH];
    let nr = witness.nr as u32;
    // The smallest and largest numbers in the region (its interval narrowed by its bit
    // pattern: x32's numbers are those with bit 30).
    let numbers = words[NR].extent().unwrap_or((nr, nr));
    let info = abi_of(witness.arch, nr);
    let single_arch =
        arch_word.bounds().0 == arch_word.bounds().1 || arch_word.pattern().0 == u32::MAX;
    let syscall = match info {
        Some(i) if numbers.0 == numbers.1 => arch::syscall_name(numbers.0 as i32, i),
        _ => None,
    };
    let mut conditions: Vec<String> = match info {
        Some(i) if single_arch => (0..6).flat_map(|k| arg_conditions(words, k, i)).collect(),
        _ => Vec::new(),
    };
    // A program may test the instruction pointer (a profile never does): said too.
    if let Some(i) = info {
        let (lo_i, hi_i) = if i.big_endian { (3, 2) } else { (2, 3) };
        for (w, shift) in [(lo_i, 0), (hi_i, 32)] {
            if !words[w].is_free() {
                word_conditions(&words[w], "ip", shift, &mut conditions);
            }
        }
    }
    // Numbers the region leaves out of its range: said, so that a range is never read as
    // covering them.
    if numbers.0 != numbers.1 {
        let mut excluded = Vec::new();
        word_conditions(&words[NR], "nr", 0, &mut excluded);
        conditions.extend(excluded.into_iter().filter(|c| {
            c.contains("!=") || (c.starts_with("nr & ") && !c.starts_with("nr & 0xffffffff"))
        }));
    }
    Place {
        info,
        numbers,
        syscall,
        conditions,
    }
}

/// One leaf in a profile's terms.
fn difference(leaf: Leaf, (a_program, b_program): (bool, bool)) -> Difference {
    let arch = leaf.witness.arch;
    let Place {
        info,
        numbers,
        syscall,
        conditions,
    } = place(&leaf.words, &leaf.witness);
    let first = |v: &Verdict, program: bool| {
        let mut also: Vec<Action> = v.outcomes[1..]
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| *a != v.outcomes[0].0)
            .collect();
        also.dedup();
        Decided {
            action: v.outcomes[0].0,
            also,
            at_least: v.at_least,
            cause: (!program).then(|| v.outcomes[0].1.clone()),
        }
    };
    Difference {
        abi: info.map(|i| i.name),
        arch,
        numbers,
        syscall,
        conditions,
        a: first(&leaf.a, a_program),
        b: first(&leaf.b, b_program),
        witness: leaf.witness,
    }
}

/// The region's constraints on argument `k`, as 64-bit comparisons where the words allow.
fn arg_conditions(words: &[WordSet; 16], k: usize, abi: &ArchInfo) -> Vec<String> {
    let (lo_i, hi_i) = arg_words(k, abi.big_endian);
    let (lo, hi) = (&words[lo_i], &words[hi_i]);
    let narrow = abi.narrow_args();
    let mut out = Vec::new();
    if narrow || hi.is_free() {
        // The low word alone.
        word_conditions(lo, &format!("arg{k}"), 0, &mut out);
        return out;
    }
    let (hl, hh) = hi.bounds();
    let (ll, lh) = lo.bounds();
    if hl == hh && lo.pattern().0 == 0 && lo.excluded().is_empty() && hi.pattern().0 == 0 {
        let base = u64::from(hl) << 32;
        let (x, y) = (base | u64::from(ll), base | u64::from(lh));
        out.push(if x == y {
            format!("arg{k} == {x:#x}")
        } else {
            format!("arg{k} in [{x:#x}, {y:#x}]")
        });
        return out;
    }
    word_conditions(lo, &format!("arg{k}"), 0, &mut out);
    word_conditions(hi, &format!("arg{k}"), 32, &mut out);
    out
}

/// Conditions on one 32-bit word of `name`, `shift` bits up in the 64-bit value.
fn word_conditions(w: &WordSet, name: &str, shift: u32, out: &mut Vec<String>) {
    let (lo, hi) = w.bounds();
    let (mask, bits) = w.pattern();
    let up = |v: u32| u64::from(v) << shift;
    if mask == u32::MAX {
        out.push(format!("{name} & {:#x} == {:#x}", up(mask), up(bits)));
    } else {
        if (lo, hi) != (0, u32::MAX) {
            let part = if shift == 0 {
                format!("{name} & 0xffffffff")
            } else {
                format!("{name} >> 32")
            };
            out.push(if lo == hi {
                format!("{part} == {lo:#x}")
            } else {
                format!("{part} in [{lo:#x}, {hi:#x}]")
            });
        }
        if mask != 0 {
            out.push(format!("{name} & {:#x} == {:#x}", up(mask), up(bits)));
        }
    }
    for (m, v) in w.excluded() {
        out.push(format!("{name} & {:#x} != {:#x}", up(*m), up(*v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::semantics::space::Atom;

    /// A region of x86_64 numbers `lo..=hi`.
    fn numbers(lo: u32, hi: u32) -> Region {
        let mut r = Region::for_budget(&StepBudget::new(MAX_STEPS));
        assert!(r.push(Atom::eq(ARCH, AUDIT_ARCH_X86_64), true).unwrap());
        assert!(r.push(Atom::ge(NR, lo), true).unwrap());
        assert!(r.push(Atom::gt(NR, hi), false).unwrap());
        r
    }

    #[test]
    fn no_witness_is_a_call_the_kernel_does_not_show_to_seccomp() {
        let w = filtered_witness(&mut numbers(335, 340)).unwrap().unwrap();
        assert_eq!((w.arch, w.nr), (AUDIT_ARCH_X86_64, 337));
        assert!(filtered_witness(&mut numbers(335, 336)).unwrap().is_none());
        let w = filtered_witness(&mut numbers(0, 400)).unwrap().unwrap();
        assert_eq!(w.nr, 0);
        // The region is left as it was.
        let mut r = numbers(335, 340);
        let _ = filtered_witness(&mut r).unwrap();
        assert_eq!(r.range(NR), (335, 340));
    }
}
