//! Lifting: what a seccomp program (or a stack of them, as a process runs them) decides,
//! region by region, and an OCI profile proven to decide exactly as it does whenever one
//! exists.
//!
//! # The design
//!
//! The program is walked as the proof walks it ([`crate::proof`]): the space of
//! `seccomp_data` (architecture, number, six arguments) is split wherever the program's
//! path changes, so every region gets one action and nothing is sampled. The regions are
//! the decision table ([`Lifted::regions`]). The profile is then written as a merge of one
//! input writes it ([`crate::merge`]): the regions whose action is not the default become
//! disjoint entries, the pieces of each argument joined again. Two readings are tried, each
//! proven by walking the program and the written profile together: with the ENOSYS stub
//! (runc's, ours: syscalls above the highest one the profile names get `ENOSYS`), then
//! without it (crun's, libseccomp's). The first proven is returned with its reading; when
//! neither is, no profile is returned and the reason names a call the program decides
//! otherwise (a different action per ABI, an action for unknown architectures other than
//! `SCMP_ACT_KILL_THREAD`, a decision on a number no syscall name reaches). Instructions
//! the walk does not model are named by index.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxSeccomp;

use crate::action::Action;
use crate::arch::{self, ArchInfo};
use crate::bpf::SeccompData;
use crate::compare::{place, stack_action, Decider};
use crate::profile::semantics::budget::StepBudget;
use crate::profile::semantics::space::{Region, WordSet};
use crate::profile::semantics::{Semantics, Stub, MAX_STEPS};
use crate::profile::{ArgReading, Profile};
use crate::proof::{self, ProofError};
use crate::tools::merge::{self, Combine, Entry};

/// Most regions a lift lists.
pub const MAX_REGIONS: usize = 100_000;

/// `ENOSYS`, the errno of runc's stub (include/uapi/asm-generic/errno.h).
const ENOSYS: u16 = 38;

/// One region of calls a program decides alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiftedRegion {
    /// The ABI (`SCMP_ARCH_X86_64`, ...), `None` for an architecture no ABI has.
    pub abi: Option<&'static str>,
    /// The `AUDIT_ARCH_*` value of the witness.
    pub arch: u32,
    /// The smallest and largest syscall numbers of the region.
    pub numbers: (u32, u32),
    /// The syscall, when the region has one number that names one.
    pub syscall: Option<String>,
    /// The argument constraints, in words (`arg0 == 0x28`, `arg1 & 0x7e020000 != 0`); empty
    /// when every value gets the action.
    pub conditions: Vec<String>,
    /// What the program returns for these calls.
    pub action: Action,
    /// For a stack, which program's answer the kernel keeps (0 is the most recently
    /// installed); `None` for one program.
    pub filter: Option<usize>,
    /// One call of the region.
    pub witness: SeccompData,
}

/// The reading under which a lifted profile decides as the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reading {
    /// Compiled with the ENOSYS stub (runc, oci-seccomp): syscalls above the highest one
    /// the profile names get `ENOSYS`.
    EnosysStub,
    /// Compiled without a stub (crun, libseccomp): such syscalls get the default action.
    NoStub,
}

/// What a program decides, and a profile that decides the same when one exists.
#[derive(Debug)]
pub struct Lifted {
    /// Every region, sorted by architecture and number; neighbouring numbers with one
    /// action and no argument constraint are one region.
    pub regions: Vec<LiftedRegion>,
    /// What a call on an architecture no ABI of the program has gets.
    pub unknown_arch: Action,
    /// The ABIs on which some call gets another action than `unknown_arch`.
    pub abis: Vec<&'static str>,
    /// Where the ENOSYS stub starts, per ABI, when the profile was proven with it.
    pub stubs: Vec<(&'static str, u32)>,
    /// The profile proven to decide every call as the program, and the reading under which
    /// it does; or why no profile this lift writes does.
    pub profile: Result<LiftedProfile, String>,
}

/// A profile proven to decide as the lifted program, under a reading.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LiftedProfile {
    /// The `linux.seccomp` object.
    pub spec: LinuxSeccomp,
    /// With or without the ENOSYS stub.
    pub reading: Reading,
    /// How its comparisons on 32-bit arguments must be read: [`ArgReading::Kernel`] (as
    /// oci-seccomp compiles it) is tried first, then [`ArgReading::Literal`] (all 64 bits,
    /// as runc, crun and libseccomp compile it: their programs test the high word of a
    /// 32-bit argument, which the kernel reading cannot say).
    pub args: ArgReading,
}

/// Why a program could not be lifted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiftError {
    /// An instruction the walk does not model (scratch memory, the X register, arithmetic
    /// other than `AND`, `RET A`): the program can still be run on one call (`explain`).
    #[error("{filter}instruction {pc}: {what}: lift cannot follow it, so the program's regions cannot be listed (either the kernel's checker would refuse the program, or it uses scratch memory, the X register, arithmetic other than AND or RET A, which the walk does not model; `lift --call` still decides single calls)")]
    Unsupported {
        /// `filter N: ` for a program of a stack, else empty.
        filter: String,
        /// The instruction's index.
        pc: usize,
        /// What it is.
        what: String,
    },
    /// The walk needed more steps than it has.
    #[error("the program is too complex to lift: the walk needed more than {MAX_STEPS} steps or {} s", crate::compare::WALK_TIME.as_secs())]
    TooComplex,
    /// More regions than [`MAX_REGIONS`].
    #[error("the program decides more than {MAX_REGIONS} regions differently; not listed")]
    TooManyRegions,
}

/// Lifts `decider` (a program, a stack of programs or a profile) for host `target`.
///
/// # Errors
///
/// [`LiftError`]: an instruction the walk does not model, too many steps or regions.
pub fn lift(decider: Decider<'_>, target: &'static ArchInfo) -> Result<Lifted, LiftError> {
    lift_until(
        decider,
        target,
        std::time::Instant::now() + crate::compare::WALK_TIME,
    )
}

/// [`lift`], refused as too complex once `deadline` has passed.
///
/// # Errors
///
/// As [`lift`].
pub fn lift_until(
    decider: Decider<'_>,
    target: &'static ArchInfo,
    deadline: std::time::Instant,
) -> Result<Lifted, LiftError> {
    if decider.depth_hint() <= crate::compare::SHALLOW {
        return lift_here(decider, target, deadline);
    }
    crate::compare::on_deep_stack(|| lift_here(decider, target, deadline))
}

/// [`lift`] on the current thread.
fn lift_here(
    decider: Decider<'_>,
    target: &'static ArchInfo,
    deadline: std::time::Instant,
) -> Result<Lifted, LiftError> {
    let budget = StepBudget::new(MAX_STEPS).with_deadline(deadline);
    let stacked = matches!(decider, Decider::Stack(_));
    for (i, insns) in decider.programs().into_iter().enumerate() {
        match proof::check_walkable(insns, &budget) {
            Err(ProofError::Unsupported { pc, what }) => {
                return Err(LiftError::Unsupported {
                    filter: if stacked {
                        format!("filter {i}: ")
                    } else {
                        String::new()
                    },
                    pc,
                    what,
                })
            }
            Err(ProofError::TooComplex) => return Err(LiftError::TooComplex),
            _ => {}
        }
    }
    let mut leaves: Vec<([WordSet; 16], Vec<Action>, SeccompData)> = Vec::new();
    let mut full = false;
    let mut region = Region::for_budget(&budget);
    merge::walk(&[decider], &mut region, &mut |r, actions| {
        if leaves.len() >= MAX_REGIONS {
            full = true;
            return Err(());
        }
        let mut q = r.clone();
        let witness = match crate::compare::filtered_witness(&mut q).map_err(|_| ())? {
            Some(w) => w,
            None => q.sample().map_err(|_| ())?.data(),
        };
        leaves.push((r.words.clone(), actions.to_vec(), witness));
        Ok(())
    })
    .map_err(|()| {
        if full {
            LiftError::TooManyRegions
        } else {
            LiftError::TooComplex
        }
    })?;
    let unknown_arch = decide(decider, &SeccompData::default());
    let regions = table(&leaves, decider);
    // The ABIs a profile lists: those whose calls (by the witness's number) get another
    // action than unknown architectures do; failing that, also every ABI a region of the
    // x86_64 architecture word reaches (a program that never tests bit 30 decides x32's
    // numbers too).
    let mut abis: Vec<&'static ArchInfo> = Vec::new();
    let mut reached: Vec<&'static ArchInfo> = Vec::new();
    for r in regions.iter().filter(|r| r.action != unknown_arch) {
        if let Some(info) = r.abi.and_then(arch::by_name) {
            if !abis.iter().any(|a| a.name == info.name) {
                abis.push(info);
            }
        }
        for a in arch::ALL.iter().filter(|a| a.audit_arch == r.arch) {
            if reaches(a, r.numbers) && !reached.iter().any(|b| b.name == a.name) {
                reached.push(a);
            }
        }
    }
    // The target first, as a profile lists it.
    abis.sort_by_key(|a| {
        (
            a.name != target.name,
            arch::ALL.iter().position(|b| b.name == a.name),
        )
    });
    reached.sort_by_key(|a| {
        (
            a.name != target.name,
            arch::ALL.iter().position(|b| b.name == a.name),
        )
    });
    let mut failures = Vec::new();
    let mut profile = Err(String::new());
    let mut stubs = Vec::new();
    let mut sets = vec![abis.clone()];
    if reached.len() > abis.len() {
        sets.push(reached);
    }
    'readings: for (set, args) in sets
        .iter()
        .flat_map(|set| [ArgReading::Kernel, ArgReading::Literal].map(|a| (set, a)))
    {
        for reading in [Reading::EnosysStub, Reading::NoStub] {
            let how = (reading, args);
            match write_and_prove(decider, &leaves, &regions, set, how, target, &budget) {
                Ok((spec, s)) => {
                    profile = Ok(LiftedProfile {
                        spec,
                        reading,
                        args,
                    });
                    stubs = s;
                    abis = set.clone();
                    break 'readings;
                }
                Err(why) => failures.push(format!(
                    "{} {} reading: {why}",
                    match reading {
                        Reading::EnosysStub => "with the stub,",
                        Reading::NoStub => "without the stub,",
                    },
                    args.name()
                )),
            }
        }
    }
    if profile.is_err() {
        // One reason said once when every reading failed for it.
        let reasons: Vec<&str> = failures
            .iter()
            .filter_map(|f| f.split_once(" reading: ").map(|(_, r)| r))
            .collect();
        profile = Err(match reasons.first() {
            Some(first) if reasons.iter().all(|r| r == first) => {
                format!("under every reading: {first}")
            }
            _ => failures.join("; "),
        });
    }
    Ok(Lifted {
        regions,
        unknown_arch,
        abis: abis.iter().map(|a| a.name).collect(),
        stubs,
        profile,
    })
}

/// What `decider` returns for `data`.
fn decide(decider: Decider<'_>, data: &SeccompData) -> Action {
    let mut region = Region::for_budget(&StepBudget::new(MAX_STEPS));
    if region.pin(data).is_err() {
        return Action::KillProcess;
    }
    decider
        .verdict(&mut region)
        .map_or(Action::KillProcess, |v| v.outcomes[0].0)
}

/// The leaves as a table, neighbouring unconstrained numbers with one action joined.
fn table(
    leaves: &[([WordSet; 16], Vec<Action>, SeccompData)],
    decider: Decider<'_>,
) -> Vec<LiftedRegion> {
    let mut rows: Vec<LiftedRegion> = leaves
        .iter()
        .map(|(words, actions, witness)| {
            let p = place(words, witness);
            let filter = match decider {
                Decider::Stack(programs) => {
                    let mut q = Region::for_budget(&StepBudget::new(MAX_STEPS));
                    q.pin(witness)
                        .ok()
                        .and_then(|()| stack_action(programs, &mut q).ok())
                        .map(|(_, i)| i)
                }
                _ => None,
            };
            LiftedRegion {
                abi: p.info.map(|i| i.name),
                arch: witness.arch,
                numbers: p.numbers,
                syscall: p.syscall,
                conditions: p.conditions,
                action: actions[0],
                filter,
                witness: *witness,
            }
        })
        .collect();
    rows.sort_by(|x, y| {
        (x.arch, x.numbers, &x.conditions).cmp(&(y.arch, y.numbers, &y.conditions))
    });
    let mut out: Vec<LiftedRegion> = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(last) = out.last_mut() {
            if last.arch == r.arch
                && last.abi == r.abi
                && last.conditions.is_empty()
                && r.conditions.is_empty()
                && last.numbers.1.checked_add(1) == Some(r.numbers.0)
                && last.action == r.action
                && last.filter == r.filter
            {
                last.numbers.1 = r.numbers.1;
                last.syscall = None;
                continue;
            }
        }
        out.push(r);
    }
    out
}

/// Where the ENOSYS stub starts, per ABI.
type StubStarts = Vec<(&'static str, u32)>;

/// Writes the profile for `reading` and proves it; the stub starts on success.
fn write_and_prove(
    decider: Decider<'_>,
    leaves: &[([WordSet; 16], Vec<Action>, SeccompData)],
    regions: &[LiftedRegion],
    abis: &[&'static ArchInfo],
    (reading, args): (Reading, ArgReading),
    target: &'static ArchInfo,
    budget: &StepBudget,
) -> Result<(LinuxSeccomp, StubStarts), String> {
    if abis.is_empty() {
        return Err(
            "the program decides calls of every architecture alike, those of no ABI \
                    here included, while an OCI profile kills calls of architectures it does \
                    not list"
                .into(),
        );
    };
    // The default: the action of a number no syscall name reaches below the highest named
    // one (no entry can name it, so only the default decides it), else the action of most
    // named syscalls of the first ABI without conditions.
    // Over every ABI, in order.
    let gap = abis.iter().find_map(|abi| {
        let named_max = (0..4096u32)
            .rev()
            .find(|n| arch::syscall_name(*n as i32, abi).is_some())
            .unwrap_or(0);
        regions.iter().find_map(|r| {
            let unnamed = (r.numbers.0..=r.numbers.1.min(named_max))
                .take(4096)
                .any(|n| arch::syscall_name(n as i32, abi).is_none());
            let stub = reading == Reading::EnosysStub && r.action == Action::Errno(ENOSYS);
            (r.abi == Some(abi.name) && r.conditions.is_empty() && unnamed && !stub)
                .then_some(r.action)
        })
    });
    let mut count: BTreeMap<u32, (Action, usize)> = BTreeMap::new();
    for abi in abis {
        for r in regions
            .iter()
            .filter(|r| r.abi == Some(abi.name) && r.conditions.is_empty())
        {
            let named = (r.numbers.0..=r.numbers.1.min(r.numbers.0.saturating_add(4096)))
                .filter(|n| arch::syscall_name(*n as i32, abi).is_some())
                .count();
            count.entry(r.action.to_ret()).or_insert((r.action, 0)).1 += named;
        }
    }
    let default = gap.unwrap_or_else(|| {
        count
            .values()
            .filter(|(a, _)| reading == Reading::NoStub || *a != Action::Errno(ENOSYS))
            .max_by_key(|(_, n)| *n)
            .map_or(Action::Errno(1), |(a, _)| *a)
    });
    // Per ABI, the highest number the profile names: with the stub, the highest named
    // syscall that does not get ENOSYS unconditionally (every number above it must);
    // without, the highest named one with another action than the default.
    let mut max_by_abi: BTreeMap<&str, u32> = BTreeMap::new();
    let mut stubs = Vec::new();
    let mut mentioned = Vec::new();
    for abi in abis {
        let mut max = 0u32;
        for r in regions.iter().filter(|r| r.abi == Some(abi.name)) {
            // Only the numbers' own exclusions: no argument constraint.
            let plain = r.conditions.iter().all(|c| c.starts_with("nr "));
            let skip = match reading {
                Reading::EnosysStub => plain && r.action == Action::Errno(ENOSYS),
                Reading::NoStub => plain && r.action == default,
            };
            if skip {
                continue;
            }
            // The highest named number of the region.
            let hi = (r.numbers.0..=r.numbers.1)
                .rev()
                .take(4096)
                .find(|n| arch::syscall_name(*n as i32, abi).is_some());
            if let Some(hi) = hi {
                max = max.max(hi);
            }
        }
        max_by_abi.insert(abi.name, max);
        if let Some(name) = arch::syscall_name(max as i32, abi) {
            mentioned.push(name);
        }
        if reading == Reading::EnosysStub {
            stubs.push((abi.name, max + 1));
        }
    }
    let one: Vec<([WordSet; 16], Vec<Action>)> = leaves
        .iter()
        .map(|(w, a, _)| (w.clone(), a.clone()))
        .collect();
    let (mut entries, _) = merge::entries_of(&one, abis, &max_by_abi, default, Combine::Union)
        .map_err(|e| e.to_string())?;
    for (name, list) in &mut entries {
        merge::coalesce(name, list);
    }
    let entries: BTreeMap<String, Vec<Entry>> = entries;
    let text = merge::json_profile(default, abis, &entries, &mentioned, None);
    let spec = crate::parse_profile(&text.to_string()).map_err(|e| e.to_string())?;
    let profile =
        Profile::from_oci_reading(&spec, false, target, args).map_err(|e| e.to_string())?;
    let stub = match reading {
        Reading::EnosysStub => Stub::Enosys,
        Reading::NoStub => Stub::Off,
    };
    if reading == Reading::EnosysStub && !stub.applies_to(default) {
        return Err(format!(
            "a profile with default {default} has no ENOSYS stub"
        ));
    }
    let semantics = Semantics::new(&profile, stub);
    let mut region = Region::for_budget(budget);
    let mut wrong = None;
    merge::walk(
        &[decider, Decider::Profile(&semantics)],
        &mut region,
        &mut |r, actions| {
            if actions[0] == actions[1] {
                return Ok(());
            }
            let call = r.clone().sample().map_err(|_| ())?.data();
            wrong = Some(format!(
                "the program gives {} {} but no OCI profile this lift writes does (it would give {})",
                proof::describe_call(&call),
                actions[0],
                actions[1]
            ));
            Err(())
        },
    )
    .map_err(|()| wrong.take().unwrap_or_else(|| "too complex to prove".to_string()))?;
    Ok((spec, stubs))
}

/// Whether a region of syscall numbers `lo..=hi` of `a`'s architecture word holds a call
/// of `a`: on x86_64, numbers with bit 30 are x32's and the others x86_64's, except -1
/// (`u32::MAX`), which a tracer sets to skip a call and libseccomp leaves to the default on
/// either ABI: a region of -1 alone is neither's.
fn reaches(a: &ArchInfo, (lo, hi): (u32, u32)) -> bool {
    if a.audit_arch != arch::AUDIT_ARCH_X86_64 {
        return true;
    }
    if a.x32 {
        hi >= arch::X32_SYSCALL_BIT && lo < u32::MAX
    } else {
        lo < arch::X32_SYSCALL_BIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::Instruction;

    /// A region of -1 alone (a skipped call) reaches neither x86_64 ABI, so lifting does
    /// not try a profile that lists x32 because of it; any other x32 number does.
    #[test]
    fn a_skipped_call_is_no_x32_call() {
        let x32 = arch::by_name("SCMP_ARCH_X32").expect("x32");
        let x86_64 = arch::by_name("SCMP_ARCH_X86_64").expect("x86_64");
        let bit = arch::X32_SYSCALL_BIT;
        assert!(!reaches(x32, (u32::MAX, u32::MAX)));
        assert!(!reaches(x86_64, (u32::MAX, u32::MAX)));
        assert!(reaches(x32, (bit, bit + 10)));
        assert!(reaches(x32, (bit + 5, u32::MAX)));
        assert!(!reaches(x32, (0, bit - 1)));
        assert!(reaches(x86_64, (0, bit - 1)));
        assert!(!reaches(x86_64, (bit, u32::MAX)));
        let x86 = arch::by_name("SCMP_ARCH_X86").expect("x86");
        assert!(reaches(x86, (u32::MAX, u32::MAX)));
    }

    /// Tests whose two ways lead to the same instruction ask nothing: thirty of them in
    /// front of a one-syscall filter do not double the walk thirty times.
    #[test]
    fn tests_that_lead_one_way_do_not_split_the_walk() {
        let x86_64 = arch::AUDIT_ARCH_X86_64;
        let mut p = vec![
            Instruction::jump(0x20, 4, 0, 0),      // ld arch
            Instruction::jump(0x15, x86_64, 1, 0), // jeq x86_64
            Instruction::jump(0x06, 0, 0, 0),      // ret KILL_THREAD
        ];
        for i in 0..30 {
            p.push(Instruction::jump(0x20, 16 + 4 * (i % 12), 0, 0)); // ld an argument word
            p.push(Instruction::jump(0x45, 1 << (i % 32), 0, 0)); // jset, both ways next
        }
        p.push(Instruction::jump(0x20, 0, 0, 0)); // ld nr
        p.push(Instruction::jump(0x15, 39, 0, 1)); // jeq getpid
        p.push(Instruction::jump(0x06, 0x0005_0001, 0, 0)); // ret ERRNO(1)
        p.push(Instruction::jump(0x06, 0x7fff_0000, 0, 0)); // ret ALLOW
        let started = std::time::Instant::now();
        let lifted = lift(Decider::Program(&p), arch::native()).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let getpid: Vec<_> = lifted
            .regions
            .iter()
            .filter(|r| r.abi == Some("SCMP_ARCH_X86_64") && r.numbers.0 <= 39 && 39 <= r.numbers.1)
            .collect();
        assert_eq!(getpid.len(), 1, "{getpid:#?}");
        assert_eq!(getpid[0].action, Action::Errno(1));
        assert!(getpid[0].conditions.is_empty());
    }
}
