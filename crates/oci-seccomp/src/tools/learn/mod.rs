//! Learning a profile from the calls a workload made ([`Learner`]): what `oci-seccomp
//! record` writes.
//!
//! The recorder sees each call the filter routed to it (`seccomp_data`: the ABI, the
//! number, the six argument registers) and [`Learner::observe`]s it. [`Learner::profile`]
//! then writes a profile that allows exactly the syscalls seen, per architecture, with a
//! default that denies (`SCMP_ACT_ERRNO`, `EPERM`; the ENOSYS stub answers syscalls newer
//! than any the profile names). Without a base it also allows the calls every process
//! needs at its end or after a signal (`exit`, `exit_group`, `rt_sigreturn`,
//! `restart_syscall`) and `futex` (libc locks call it only under contention), which one
//! run may not have made, and gives `clone3` `ENOSYS` when it
//! was not seen (glibc then falls back to `clone`). For a configurable set of non-pointer arguments
//! ([`ArgSelection`]: socket family/type/protocol, clone flags, ...) it writes one entry per
//! distinct combination of values seen, when there are few ([`MAX_COMBINATIONS`]), and an
//! unconditional entry otherwise, which [`Learner::notes`] reports with its reason. A
//! 32-bit argument is compared with `SCMP_CMP_MASKED_EQ` and mask `0xffffffff` (the kernel
//! reads only the low word, so the high word must not matter); a 64-bit one with
//! `SCMP_CMP_EQ`.
//!
//! **One ABI never loosens another.** An OCI entry names a syscall for every listed ABI,
//! so the learner keeps each direct call's argument conditions whatever it saw on other
//! ABIs. On an ABI that multiplexes socket and IPC calls (x86's `socketcall` and `ipc`),
//! a call through the multiplexer is learned as the multiplexer itself, with the sub-call
//! numbers seen as conditions on its first argument (`ipc`'s through the kernel's mask
//! `0xffff`); numbers the kernel does not know as sub-calls fail with `EINVAL` and are not
//! learned. The filter cannot read the arguments behind the multiplexer, and the compiler
//! gives such a sub-call the strictest outcome of its syscall's conditional entries
//! (docs/security.md): when the direct syscall has learned conditions, its sub-call is not
//! learned either, and [`LearnNote::MultiplexedNotLearned`] says so.
//!
//! **Failed calls count.** The recorder lets every call run and never sees its result, so
//! a call that failed (`EAFNOSUPPORT`, `EINVAL`, ...) is evidence like any other. A
//! workload can therefore push a syscall past the cap with calls that fail; every syscall
//! that went unconditional is reported ([`LearnNote::Unconditional`]) and named in the
//! profile's `$comment`, and the cap is a parameter ([`Learner::with_max_combinations`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::arch;
use crate::arch::argwidth;

/// More distinct argument combinations than this for one syscall (by default): allow it
/// unconditionally rather than list them, and say so ([`LearnNote::Unconditional`]).
pub const MAX_COMBINATIONS: usize = 16;

/// The largest cap [`Learner::with_max_combinations`] takes: the compiled program of a
/// syscall with this many equality entries still fits the kernel's 4096 instructions.
pub const MAX_COMBINATIONS_LIMIT: usize = 1024;

/// What the learned profile allows differently from the calls seen: every way it is wider
/// than the evidence, and every call it will not allow although it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LearnNote {
    /// The syscall is allowed without conditions although arguments were selected: more
    /// distinct combinations were seen than the cap.
    Unconditional {
        /// The syscall name.
        syscall: String,
        /// The selected argument indices.
        indices: Vec<usize>,
        /// The cap that was passed.
        cap: usize,
    },
    /// A socket or IPC call made through its multiplexer that the profile does not allow
    /// that way: the direct syscall has argument conditions, which the filter cannot read
    /// behind the multiplexer, so the compiler gives the sub-call the strictest outcome
    /// (here the default).
    MultiplexedNotLearned {
        /// The ABI (libseccomp name).
        abi: String,
        /// `socketcall` or `ipc`.
        multiplexer: &'static str,
        /// The sub-call number (`SYS_SOCKET` = 1, ...).
        call: u32,
        /// The syscall it carries.
        syscall: &'static str,
    },
    /// Not learned: the base has conditional entries for this syscall, and the
    /// unconditional ALLOW the learner would append beats every conditional entry (a
    /// conditional deny of the base would be lost).
    BaseConditional {
        /// The syscall name.
        syscall: String,
    },
    /// Allowed, but its arguments sit behind a pointer that no filter can read, so what
    /// the profile conditions elsewhere is open through it (`clone3`'s flags, the
    /// operations `io_uring` rings carry).
    Opaque {
        /// The syscall name.
        syscall: String,
        /// What it opens.
        opens: &'static str,
    },
    /// The multiplexer is allowed without conditions while a call it carries has
    /// conditions: on that ABI those calls go through it unchecked.
    MultiplexerUnconditional {
        /// `socketcall` or `ipc`.
        multiplexer: String,
        /// The carried syscalls whose conditions it bypasses.
        bypassed: Vec<String>,
    },
    /// Syscalls seen on this ABI only: an OCI entry names a syscall for every listed ABI,
    /// so they are allowed on the others too.
    OneAbiOnly {
        /// The ABI they were seen on (libseccomp name).
        abi: String,
        /// The syscalls.
        syscalls: Vec<String>,
    },
    /// Argument combinations of a syscall seen on this ABI only: the conditions name them
    /// for every listed ABI, so they are allowed on the others too.
    OneAbiOnlyArguments {
        /// The ABI they were seen on (libseccomp name).
        abi: String,
        /// The syscall name.
        syscall: String,
        /// The combinations (values of the selected arguments, in index order).
        combinations: Vec<Vec<u64>>,
    },
    /// Calls through a multiplexer with a number the kernel does not know as a sub-call
    /// (they fail with `EINVAL`): not learned.
    UnknownSubcall {
        /// The ABI (libseccomp name).
        abi: String,
        /// `socketcall` or `ipc`.
        multiplexer: &'static str,
        /// How many such calls were seen.
        calls: u64,
    },
}

impl std::fmt::Display for LearnNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unconditional {
                syscall,
                indices,
                cap,
            } => {
                let args: Vec<String> = indices.iter().map(|i| format!("arg{i}")).collect();
                let fix = if *cap < MAX_COMBINATIONS_LIMIT {
                    format!("raise --max-combinations (up to {MAX_COMBINATIONS_LIMIT}) or drop {syscall} from --args")
                } else {
                    format!("write its conditions by hand, or drop {syscall} from --args")
                };
                write!(
                    f,
                    "{syscall}: allowed without conditions: more than {cap} distinct ({}) \
                     combinations were seen (failed calls count: the recorder never sees \
                     results); {fix}",
                    args.join(", ")
                )
            }
            Self::MultiplexedNotLearned {
                abi,
                multiplexer,
                call,
                syscall,
            } => write!(
                f,
                "{abi}: {multiplexer}({call}) ({syscall} through {multiplexer}) not learned: \
                 {syscall} has argument conditions, which a filter cannot read through \
                 {multiplexer}, so it gets the default; a program that needs it must call \
                 {syscall} directly, or record with --args that leave {syscall} out"
            ),
            Self::BaseConditional { syscall } => write!(
                f,
                "{syscall}: not learned: the base has conditional entries for it, which an \
                 unconditional ALLOW would override (the first unconditional entry decides); \
                 select its arguments with --args, or add the rule to the base by hand"
            ),
            Self::Opaque { syscall, opens } => write!(
                f,
                "{syscall}: allowed, and no filter can read what it carries: {opens}"
            ),
            Self::MultiplexerUnconditional {
                multiplexer,
                bypassed,
            } => write!(
                f,
                "{multiplexer}: allowed without conditions, so on x86 {} through it skip \
                 their argument conditions; add {multiplexer}:0 to --args (the default \
                 selection has it)",
                bypassed.join(", ")
            ),
            Self::OneAbiOnly { abi, syscalls } => write!(
                f,
                "{abi}: {} seen on this ABI only; an OCI entry names a syscall for every \
                 listed ABI, so the profile allows them on the others too",
                syscalls.join(", ")
            ),
            Self::OneAbiOnlyArguments {
                abi,
                syscall,
                combinations,
            } => {
                let shown: Vec<String> = combinations
                    .iter()
                    .take(4)
                    .map(|c| {
                        let v: Vec<String> = c.iter().map(|x| format!("{x:#x}")).collect();
                        format!("({})", v.join(", "))
                    })
                    .collect();
                write!(
                    f,
                    "{abi}: {syscall} with {} argument combination(s) seen on this ABI only \
                     ({}{}); the profile allows them on every listed ABI",
                    combinations.len(),
                    shown.join(", "),
                    if combinations.len() > 4 { ", ..." } else { "" }
                )
            }
            Self::UnknownSubcall {
                abi,
                multiplexer,
                calls,
            } => write!(
                f,
                "{abi}: {calls} {multiplexer} call(s) with a number the kernel does not know \
                 (EINVAL): not learned"
            ),
        }
    }
}

/// Which arguments of which syscalls are learned as conditions: syscall name → argument
/// indices (0..=5). Only non-pointer arguments make sense: a pointer's value says nothing
/// about what it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgSelection(BTreeMap<String, Vec<usize>>);

impl Default for ArgSelection {
    /// Socket family/type/protocol, clone flags, personality, prctl option, ioctl request,
    /// fcntl command, setsockopt level and name, and the sub-call of the `socketcall` and
    /// `ipc` multiplexers.
    fn default() -> Self {
        let mut m = BTreeMap::new();
        for (name, idx) in [
            ("socket", &[0usize, 1, 2][..]),
            ("clone", &[0]),
            ("personality", &[0]),
            ("prctl", &[0]),
            ("ioctl", &[1]),
            ("fcntl", &[1]),
            ("setsockopt", &[1, 2]),
            ("socketcall", &[0]),
            ("ipc", &[0]),
        ] {
            m.insert(name.to_string(), idx.to_vec());
        }
        Self(m)
    }
}

impl ArgSelection {
    /// No argument is learned: every syscall is allowed unconditionally.
    pub fn none() -> Self {
        Self(BTreeMap::new())
    }

    /// Parses `NAME:I[,I...]` items (`socket:0,1,2`), replacing any earlier item for NAME.
    ///
    /// # Errors
    ///
    /// A message naming the item when it has no `:`, an index that is not 0..=5, or a
    /// syscall name libseccomp does not know on the native architecture.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut m = BTreeMap::new();
        for item in items {
            let (name, list) = item
                .split_once(':')
                .ok_or_else(|| format!("{item:?}: expected NAME:INDEX[,INDEX...]"))?;
            if arch::resolve(name, arch::native()).is_none() {
                return Err(format!(
                    "{item:?}: {name:?} is not a syscall libseccomp knows"
                ));
            }
            let mut idx = Vec::new();
            for i in list.split(',') {
                match i.trim().parse::<usize>() {
                    Ok(n) if n <= 5 => {
                        // A pointer's value is an address, different on every run.
                        if let Some(a) = argwidth::arg_info(name, n).filter(|a| a.ty.contains('*'))
                        {
                            return Err(format!(
                                "{item:?}: argument {n} of {name} ({} {}) is a pointer: its \
                                 value is an address, not what it points at",
                                a.ty, a.name
                            ));
                        }
                        idx.push(n)
                    }
                    _ => return Err(format!("{item:?}: {i:?} is not an argument index 0..5")),
                }
            }
            idx.sort_unstable();
            idx.dedup();
            m.insert(name.to_string(), idx);
        }
        Ok(Self(m))
    }

    fn indices(&self, name: &str) -> &[usize] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }
}

/// What one syscall was seen with.
#[derive(Clone, Debug, Default)]
struct Seen {
    calls: u64,
    /// Distinct combinations of the selected arguments (empty when none are selected).
    combinations: BTreeSet<Vec<u64>>,
    /// More than [`MAX_COMBINATIONS`] combinations: allowed unconditionally.
    too_many: bool,
}

/// Collects the calls a workload made and writes the profile that allows them.
#[derive(Clone, Debug)]
pub struct Learner {
    args: ArgSelection,
    /// The cap on distinct argument combinations per syscall.
    cap: usize,
    /// (libseccomp name of the ABI, syscall name) → what was seen.
    seen: BTreeMap<String, BTreeMap<String, Seen>>,
    /// Numbers libseccomp has no name for, per ABI (reported, not allowed).
    unnamed: BTreeMap<String, BTreeSet<i32>>,
    /// Multiplexer calls with a number that is no sub-call, per (ABI, multiplexer).
    unknown_subcalls: BTreeMap<(String, &'static str), u64>,
    total: u64,
}

impl Default for Learner {
    fn default() -> Self {
        Self::new(ArgSelection::default())
    }
}

/// What the learned profile is built on: an existing profile whose default action denied
/// the learned calls (`--base`), or nothing.
#[derive(Clone, Debug, Default)]
pub struct LearnOptions {
    /// Lines of provenance for the profile's `$comment` (tool version, kernel, date,
    /// command, ...).
    pub provenance: Vec<String>,
    /// The base profile (a JSON object in OCI form): its entries, default and
    /// architectures are kept, and the learned entries appended.
    pub base: Option<Value>,
    /// Write Docker's (moby's) format: `comment` on each learned entry.
    pub docker: bool,
}

impl Learner {
    /// A learner that turns the arguments in `args` into conditions.
    pub fn new(args: ArgSelection) -> Self {
        Self {
            args,
            cap: MAX_COMBINATIONS,
            seen: BTreeMap::new(),
            unnamed: BTreeMap::new(),
            unknown_subcalls: BTreeMap::new(),
            total: 0,
        }
    }

    /// The same learner with another cap on distinct argument combinations per syscall
    /// (clamped to 1..=[`MAX_COMBINATIONS_LIMIT`]; default [`MAX_COMBINATIONS`]).
    pub fn with_max_combinations(mut self, cap: usize) -> Self {
        self.cap = cap.clamp(1, MAX_COMBINATIONS_LIMIT);
        self
    }

    /// Records one call: `arch` is `seccomp_data.arch` (`AUDIT_ARCH_*`), `nr` its number
    /// (x32 numbers with bit 30), `args` the registers.
    pub fn observe(&mut self, arch_value: u32, nr: i32, args: [u64; 6]) {
        self.total += 1;
        let x32 = nr >= 0 && nr & 0x4000_0000 != 0;
        let Some(abi) = arch::ALL
            .iter()
            .find(|a| a.audit_arch == arch_value && a.x32 == x32)
        else {
            return;
        };
        let Some(name) = arch::syscall_name(nr, abi) else {
            self.unnamed
                .entry(abi.name.to_string())
                .or_default()
                .insert(nr);
            return;
        };
        if let Some(mux) = multiplexer_name(&name).filter(|_| !self.args.indices(&name).is_empty())
        {
            // Only the kernel's sub-calls are evidence: any other number fails (EINVAL).
            let call = (args[0] & argwidth::kernel_mask(&name, 0)) as u32;
            if subcall_name(mux, call).is_none() {
                *self
                    .unknown_subcalls
                    .entry((abi.name.to_string(), mux))
                    .or_default() += 1;
                self.seen
                    .entry(abi.name.to_string())
                    .or_default()
                    .entry(name)
                    .or_default()
                    .calls += 1;
                return;
            }
        }
        let selected: Vec<u64> = self
            .args
            .indices(&name)
            .iter()
            .map(|&i| {
                // What the kernel reads of a narrow argument is what the rule compares.
                let mask = if abi.narrow_args() {
                    argwidth::kernel_mask(&name, i) & 0xffff_ffff
                } else {
                    argwidth::kernel_mask(&name, i)
                };
                args[i] & mask
            })
            .collect();
        let s = self
            .seen
            .entry(abi.name.to_string())
            .or_default()
            .entry(name)
            .or_default();
        s.calls += 1;
        if !s.too_many && !selected.is_empty() {
            s.combinations.insert(selected);
            if s.combinations.len() > self.cap {
                s.too_many = true;
                s.combinations.clear();
            }
        }
    }

    /// How many calls were observed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Syscall numbers without a name, per ABI: they cannot be written into a profile.
    pub fn unnamed(&self) -> &BTreeMap<String, BTreeSet<i32>> {
        &self.unnamed
    }

    /// The ABIs calls were seen on, libseccomp names.
    pub fn architectures(&self) -> impl Iterator<Item = &str> {
        self.seen.keys().map(String::as_str)
    }

    /// What the learned profile allows differently from the calls seen (see
    /// [`LearnNote`]): syscalls allowed unconditionally past the cap, sub-calls through a
    /// multiplexer not learned, unknown sub-call numbers, what the base's conditions keep
    /// out, what no filter can check. `base` as [`LearnOptions::base`].
    pub fn notes(&self, base: Option<&Value>) -> Vec<LearnNote> {
        self.learned(base).notes
    }

    /// The decisions behind [`Learner::profile`] and [`Learner::notes`], in steps.
    fn learned(&self, base: Option<&Value>) -> Learned<'_> {
        let merged = self.merged(base.is_none());
        let mut notes = Vec::new();
        for ((abi, mux), calls) in &self.unknown_subcalls {
            notes.push(LearnNote::UnknownSubcall {
                abi: abi.clone(),
                multiplexer: mux,
                calls: *calls,
            });
        }
        let dropped = self.dropped_subcalls(&merged, &mut notes);
        let (mut unconditional, conditional) = self.split(&merged, &dropped, &mut notes);
        // The base's conditional entries: an unconditional ALLOW appended for the same
        // name would beat them.
        let base_conditional = base_conditional_names(base);
        unconditional.retain(|name| {
            if base_conditional.contains(name) {
                notes.push(LearnNote::BaseConditional {
                    syscall: name.to_string(),
                });
                false
            } else {
                true
            }
        });
        opaque_notes(&unconditional, &mut notes);
        let conditioned_names: BTreeSet<&str> = conditional.iter().map(|(n, _)| *n).collect();
        multiplexer_notes(&unconditional, &conditioned_names, &mut notes);
        self.one_abi_notes(&conditioned_names, &mut notes);
        Learned {
            merged,
            unconditional,
            conditional,
            notes,
        }
    }

    /// Step 1: every name across ABIs (an OCI entry names syscalls for all listed ABIs, so
    /// the conditions learned on one ABI hold on all of them); without a base, the calls
    /// every process needs too.
    fn merged(&self, add_vital: bool) -> BTreeMap<&str, Seen> {
        let mut merged: BTreeMap<&str, Seen> = BTreeMap::new();
        for per_abi in self.seen.values() {
            for (name, s) in per_abi {
                let m = merged.entry(name.as_str()).or_default();
                m.calls += s.calls;
                m.too_many |= s.too_many;
                m.combinations.extend(s.combinations.iter().cloned());
                if m.combinations.len() > self.cap {
                    m.too_many = true;
                    m.combinations.clear();
                }
            }
        }
        if add_vital {
            // Calls every process needs at its end or after a signal, whether or not this
            // run happened to make them (a single-threaded run never calls `exit`); and
            // `futex`, which libc's locks call only when two threads or processes happen
            // to contend, so one run may miss it (seen with busybox pipelines).
            for name in crate::lint::tables::VITAL
                .iter()
                .map(|(n, _)| *n)
                .chain(["restart_syscall", "futex"])
            {
                merged.entry(name).or_default();
            }
        }
        merged
    }

    /// Step 2: the sub-calls left out. A sub-call whose direct syscall has conditions gets
    /// the strictest outcome of those entries and the default: allowing it through the
    /// multiplexer would be overruled, and would read as if it were allowed. Leave it out
    /// and say so.
    fn dropped_subcalls(
        &self,
        merged: &BTreeMap<&str, Seen>,
        notes: &mut Vec<LearnNote>,
    ) -> BTreeSet<(&'static str, u64)> {
        let conditioned = |name: &str| {
            merged.get(name).is_some_and(|s| {
                !self.args.indices(name).is_empty() && !s.too_many && !s.combinations.is_empty()
            })
        };
        let mut dropped = BTreeSet::new();
        for (abi, per_abi) in &self.seen {
            for (name, s) in per_abi {
                let Some(mux) = multiplexer_name(name) else {
                    continue;
                };
                for combo in &s.combinations {
                    let call = combo[0] as u32;
                    let Some(sub) = subcall_name(mux, call) else {
                        continue;
                    };
                    if conditioned(sub) {
                        dropped.insert((mux, combo[0]));
                        notes.push(LearnNote::MultiplexedNotLearned {
                            abi: abi.clone(),
                            multiplexer: mux,
                            call,
                            syscall: sub,
                        });
                    }
                }
            }
        }
        dropped
    }

    /// Step 3: the names allowed whatever their arguments, and the argument combinations
    /// of the others.
    #[allow(clippy::type_complexity)]
    fn split<'m>(
        &self,
        merged: &BTreeMap<&'m str, Seen>,
        dropped: &BTreeSet<(&'static str, u64)>,
        notes: &mut Vec<LearnNote>,
    ) -> (Vec<&'m str>, Vec<(&'m str, Vec<u64>)>) {
        let mut unconditional: Vec<&str> = Vec::new();
        let mut conditional: Vec<(&str, Vec<u64>)> = Vec::new();
        for (name, s) in merged {
            let idx = self.args.indices(name);
            if s.too_many && !idx.is_empty() {
                notes.push(LearnNote::Unconditional {
                    syscall: name.to_string(),
                    indices: idx.to_vec(),
                    cap: self.cap,
                });
            }
            if idx.is_empty() || s.too_many || s.combinations.is_empty() {
                // A multiplexer seen only with numbers that are no sub-call allows nothing.
                let only_unknown =
                    !idx.is_empty() && !s.too_many && multiplexer_name(name).is_some();
                if !only_unknown {
                    unconditional.push(name);
                }
                continue;
            }
            for combo in &s.combinations {
                if multiplexer_name(name).is_some_and(|m| dropped.contains(&(m, combo[0]))) {
                    continue;
                }
                conditional.push((name, combo.clone()));
            }
        }
        (unconditional, conditional)
    }

    /// Step 6: what was seen on one ABI only (names, and argument combinations of names
    /// with conditions).
    fn one_abi_notes(&self, conditioned_names: &BTreeSet<&str>, notes: &mut Vec<LearnNote>) {
        let native = arch::native().name;
        let native_names: BTreeSet<&str> = self
            .seen
            .get(native)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for (abi, per_abi) in &self.seen {
            if abi == native {
                continue;
            }
            let only: Vec<String> = per_abi
                .keys()
                .filter(|n| !native_names.contains(n.as_str()))
                .filter(|n| multiplexer_name(n).is_none())
                .filter(|n| arch::resolve(n, arch::native()).is_some())
                .cloned()
                .collect();
            if !only.is_empty() {
                notes.push(LearnNote::OneAbiOnly {
                    abi: abi.clone(),
                    syscalls: only,
                });
            }
            // Combinations of arguments seen here only, for syscalls also seen natively.
            let native_seen = self.seen.get(native);
            for (name, s) in per_abi {
                let Some(mine) = native_seen.and_then(|m| m.get(name)) else {
                    continue;
                };
                if !conditioned_names.contains(name.as_str()) {
                    continue;
                }
                let extra: Vec<Vec<u64>> = s
                    .combinations
                    .iter()
                    .filter(|c| !mine.combinations.contains(*c))
                    .cloned()
                    .collect();
                if !extra.is_empty() {
                    notes.push(LearnNote::OneAbiOnlyArguments {
                        abi: abi.clone(),
                        syscall: name.clone(),
                        combinations: extra,
                    });
                }
            }
        }
    }

    /// The learned profile (OCI `linux.seccomp` form, or Docker's with `options.docker`).
    /// Every [`LearnNote::Unconditional`] is also named in its `$comment`.
    pub fn profile(&self, options: &LearnOptions) -> Value {
        let mut arches: BTreeSet<String> = self.seen.keys().cloned().collect();
        arches.insert(arch::native().name.to_string());
        let Learned {
            merged,
            unconditional,
            conditional: combos,
            notes,
        } = self.learned(options.base.as_ref());
        let mut conditional: Vec<Value> = Vec::new();
        for (name, combo) in combos {
            let idx = self.args.indices(name);
            let args: Vec<Value> = idx
                .iter()
                .zip(&combo)
                .map(|(&i, &v)| {
                    let mask = argwidth::kernel_mask(name, i);
                    if mask == u64::MAX {
                        json!({"index": i, "value": v, "op": "SCMP_CMP_EQ"})
                    } else {
                        json!({"index": i, "value": mask, "valueTwo": v,
                               "op": "SCMP_CMP_MASKED_EQ"})
                    }
                })
                .collect();
            let mut entry = json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": args});
            if options.docker {
                entry["comment"] = json!(format!("recorded: {name} with these arguments"));
            }
            conditional.push(entry);
        }
        let mut learned: Vec<Value> = Vec::new();
        if !unconditional.is_empty() {
            let mut entry = json!({"names": unconditional, "action": "SCMP_ACT_ALLOW"});
            if options.docker {
                entry["comment"] = json!("recorded: every syscall the workload made");
            }
            learned.push(entry);
        }
        learned.extend(conditional);
        if options.base.is_none() && !merged.contains_key("clone3") {
            // glibc tries clone3 first and falls back to clone only on ENOSYS: a later run
            // that uses it must not get the default's EPERM.
            let mut entry = json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
                                   "errnoRet": crate::arch::errno::ENOSYS});
            if options.docker {
                entry["comment"] = json!("not recorded: ENOSYS so that glibc falls back to clone");
            }
            learned.push(entry);
        }
        if options.base.is_none()
            && !merged.contains_key("socketcall")
            && arches.contains("SCMP_ARCH_X86")
        {
            // The workload never used socketcall: deny it explicitly, as the default
            // does. The filter cannot see into it, so with conditional socket rules it
            // would get their strictest outcome (check's socketcall-bypass warning); a
            // workload that does use it (i386 glibc built for kernels before 4.3 has no
            // other way to reach sockets) is recorded with it and gets no such entry.
            let mut entry = json!({"names": ["socketcall"], "action": "SCMP_ACT_ERRNO",
                                   "errnoRet": crate::arch::errno::ENOSYS});
            if options.docker {
                entry["comment"] = json!(
                    "not recorded: ENOSYS so that i386 libc calls socket and the rest directly"
                );
            }
            learned.push(entry);
        }
        let mut provenance = options.provenance.clone();
        for n in &notes {
            if matches!(n, LearnNote::Unconditional { .. }) {
                provenance.push(format!("widened: {n}"));
            }
        }

        let mut profile = match &options.base {
            Some(base) => base.clone(),
            None => json!({
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": libc::EPERM,
            }),
        };
        if let Some(obj) = profile.as_object_mut() {
            let mut listed: BTreeSet<String> = obj
                .get("architectures")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            listed.extend(arches);
            obj.insert(
                "architectures".into(),
                json!(arch_order(listed.into_iter().collect())),
            );
            let entries = obj
                .entry("syscalls")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = entries.as_array_mut() {
                list.extend(learned);
            }
            if !provenance.is_empty() {
                obj.insert("$comment".into(), json!(provenance));
            }
        }
        profile
    }
}

/// What [`Learner::learned`] decided.
struct Learned<'a> {
    merged: BTreeMap<&'a str, Seen>,
    unconditional: Vec<&'a str>,
    conditional: Vec<(&'a str, Vec<u64>)>,
    notes: Vec<LearnNote>,
}

/// Step 4: the names the base gives conditional entries (an unconditional ALLOW appended
/// for one of them would beat its conditions).
fn base_conditional_names(base: Option<&Value>) -> BTreeSet<&str> {
    base.and_then(|b| b.get("syscalls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.get("args")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
        .flat_map(|e| {
            e.get("names")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .collect()
}

/// Step 5a: names allowed whatever their arguments whose arguments hide more (clone3's
/// struct, io_uring's rings).
fn opaque_notes(unconditional: &[&str], notes: &mut Vec<LearnNote>) {
    for name in unconditional {
        let opens = match *name {
            "clone3" => Some(
                "its flags sit in struct clone_args, so every clone flag (new user, \
                     network, mount namespaces, ...) is open through it whatever clone's \
                     conditions say",
            ),
            "io_uring_setup" | "io_uring_enter" | "io_uring_register" => Some(
                "io_uring rings carry operations (socket, openat, connect, ...) that \
                     seccomp never sees, whatever the profile says of those syscalls",
            ),
            _ => None,
        };
        if let Some(opens) = opens {
            notes.push(LearnNote::Opaque {
                syscall: name.to_string(),
                opens,
            });
        }
    }
}

/// Step 5b: a multiplexer allowed whatever its arguments opens the sub-calls whose direct
/// syscalls have conditions.
fn multiplexer_notes(
    unconditional: &[&str],
    conditioned_names: &BTreeSet<&str>,
    notes: &mut Vec<LearnNote>,
) {
    for mux in ["socketcall", "ipc"] {
        if unconditional.contains(&mux) {
            let bypassed: Vec<String> = arch::subcalls()
                .filter(|(m, _, sub)| *m == mux && conditioned_names.contains(sub))
                .map(|(_, _, sub)| sub.to_string())
                .collect();
            if !bypassed.is_empty() {
                notes.push(LearnNote::MultiplexerUnconditional {
                    multiplexer: mux.to_string(),
                    bypassed,
                });
            }
        }
    }
}

/// `socketcall` or `ipc` when `name` is one of them.
fn multiplexer_name(name: &str) -> Option<&'static str> {
    ["socketcall", "ipc"].into_iter().find(|m| *m == name)
}

/// The syscall that sub-call `call` of multiplexer `mux` carries (`include/uapi/linux/net.h`,
/// `include/uapi/linux/ipc.h`).
fn subcall_name(mux: &str, call: u32) -> Option<&'static str> {
    arch::subcalls()
        .find(|(m, c, _)| *m == mux && *c == call)
        .map(|(_, _, n)| n)
}

/// Architectures with the native one first (the order `Profile` keeps).
fn arch_order(mut names: Vec<String>) -> Vec<String> {
    let native = arch::native().name;
    names.sort_by_key(|n| (n != native, n.clone()));
    names
}

#[cfg(test)]
mod tests;
