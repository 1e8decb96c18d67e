//! The libseccomp backend: profile -> libseccomp context -> exported BPF -> our ENOSYS
//! stub on its default path. Its output is proven by the pipeline like the native
//! backend's; the complexity limits keep libseccomp's generation within seconds.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use oci_spec::runtime::LinuxSeccomp;

use crate::action::Action;
use crate::arch::libseccomp_version_string;
use crate::arch::{self, ArchInfo};
use crate::backend::stub;
use crate::bpf::{Instruction, BPF_MAXINSNS};
use crate::error::CompileError;
use crate::options::CompileOptions;
use crate::profile::{Op, Profile};
use crate::program::Program;

fn scmp_action(a: Action) -> ScmpAction {
    match a {
        Action::KillProcess => ScmpAction::KillProcess,
        Action::KillThread => ScmpAction::KillThread,
        Action::Trap(_) => ScmpAction::Trap,
        Action::Errno(e) => ScmpAction::Errno(i32::from(e)),
        Action::Notify => ScmpAction::Notify,
        Action::Trace(d) => ScmpAction::Trace(d),
        Action::Log => ScmpAction::Log,
        Action::Allow => ScmpAction::Allow,
    }
}

fn lsc(
    path: impl Into<String>,
    op: impl Into<String>,
) -> impl FnOnce(libseccomp::error::SeccompError) -> CompileError {
    let (path, op) = (path.into(), op.into());
    move |source| CompileError::Libseccomp { path, op, source }
}

/// Builds the libseccomp context for a validated profile.
///
/// # Errors
///
/// [`CompileError::NotifyUnsupported`] when the profile notifies and libseccomp is older
/// than 2.5 (API level 5); [`CompileError::Libseccomp`] naming the entry when libseccomp
/// refuses an architecture, an attribute or a rule.
pub fn build_profile_context(
    profile: &Profile,
    opts: &CompileOptions,
) -> Result<ScmpFilterContext, CompileError> {
    if let Some(first) = profile.first_notify_rule() {
        let api = libseccomp::get_api();
        if api < 5 || crate::arch::libseccomp_version() < (2, 5, 0) {
            return Err(CompileError::NotifyUnsupported {
                path: format!("syscalls[{}].action", first.entry),
                version: libseccomp_version_string(),
                api_level: api,
            });
        }
    }
    let mut ctx = ScmpFilterContext::new(scmp_action(profile.default_action()))
        .map_err(lsc("defaultAction", "create a filter context"))?;
    // Every architecture goes in before any rule: libseccomp only translates a rule for
    // the architectures present when it is added.
    for (i, a) in profile.architectures().iter().enumerate() {
        let present = ctx.is_arch_present(a.scmp).map_err(lsc(
            format!("architectures[{i}]"),
            format!("query architecture {}", a.name),
        ))?;
        if !present {
            ctx.add_arch(a.scmp).map_err(lsc(
                format!("architectures[{i}]"),
                format!("add architecture {}", a.name),
            ))?;
        }
    }
    // A program for another host (`CompileOptions::target`) does not carry this one's
    // architecture; libseccomp put it in the new context.
    let native = arch::native();
    if !profile
        .architectures()
        .iter()
        .any(|a| a.name == native.name)
    {
        ctx.remove_arch(native.scmp).map_err(lsc(
            "architectures",
            format!("remove the build host's architecture {}", native.name),
        ))?;
    }
    if !profile.rules().is_empty() && profile.rules().len() > opts.binary_tree_threshold {
        ctx.set_ctl_optimize(2)
            .map_err(lsc("<filter>", "select the binary-tree layout"))?;
    }
    // libseccomp refuses a rule equal to the default; the profile keeps one only where it
    // overlaps a rule of another action and wins there (`Profile::rules`). Without it
    // libseccomp's program would give the other rule's action: refuse the profile.
    if let Some(r) = profile
        .rules()
        .iter()
        .find(|r| r.action == profile.default_action())
    {
        return Err(CompileError::invalid(
            format!("syscalls[{}].action", r.entry),
            r.action.to_string(),
            format!(
                "this {} entry equals the default action and overlaps an entry of another action \
                 for {:?}, where the strictest matching entry decides; libseccomp cannot \
                 express a rule equal to the default (runc and crun drop it, so the other \
                 entry decides there): use the native backend, or write the overlap out",
                r.name, r.name
            ),
        ));
    }
    for rule in &low_words_as_masks(profile)? {
        let path = format!("syscalls[{}]", rule.entry);
        let sc = ScmpSyscall::from_name(&rule.name)
            .map_err(lsc(&path, format!("resolve {:?}", rule.name)))?;
        let action = scmp_action(rule.action);
        let result = if rule.conditions.is_empty() {
            ctx.add_rule(action, sc)
        } else {
            let cmps: Vec<ScmpArgCompare> = rule
                .conditions
                .iter()
                .map(|c| {
                    let (op, datum) = match c.op {
                        Op::Ne => (ScmpCompareOp::NotEqual, c.value),
                        Op::Lt => (ScmpCompareOp::Less, c.value),
                        Op::Le => (ScmpCompareOp::LessOrEqual, c.value),
                        Op::Eq => (ScmpCompareOp::Equal, c.value),
                        Op::Ge => (ScmpCompareOp::GreaterEqual, c.value),
                        Op::Gt => (ScmpCompareOp::Greater, c.value),
                        // OCI: `value` is the mask, `valueTwo` the expected value.
                        Op::MaskedEq => (ScmpCompareOp::MaskedEqual(c.value), c.value_two),
                    };
                    ScmpArgCompare::new(u32::from(c.index), op, datum)
                })
                .collect();
            ctx.add_rule_conditional(action, sc, &cmps)
        };
        result.map_err(lsc(
            &path,
            format!("add the {} rule for {:?}", rule.action, rule.name),
        ))?;
    }
    Ok(ctx)
}

/// libseccomp compares all 64 bits of an argument on a 64-bit ABI: a comparison of the low
/// word alone (the kernel's reading of a 32-bit argument) is given to it as masked
/// equalities on bit prefixes, ORed (`masked_alternatives`), which it can express.
fn low_words_as_masks(profile: &Profile) -> Result<Vec<crate::profile::Rule>, CompileError> {
    let mut expanded: Vec<crate::profile::Rule> = Vec::new();
    for rule in profile.rules() {
        if !rule.conditions.iter().any(|c| c.low_word) {
            expanded.push(rule.clone());
            continue;
        }
        let mut groups: Vec<Vec<crate::profile::Condition>> = vec![Vec::new()];
        for c in &rule.conditions {
            let alts = if c.low_word {
                crate::profile::masked_alternatives(c.index, c.op, c.value & 0xffff_ffff, 32)
            } else {
                vec![*c]
            };
            if groups.len() * alts.len() > crate::profile::MAX_KERNEL_READING_RULES {
                return Err(CompileError::invalid(
                    format!("syscalls[{}].args", rule.entry),
                    format!("{:?}", rule.name),
                    "read as the kernel reads these 32-bit arguments, the comparisons of this \
                     entry need more masked rules than libseccomp takes: use the native \
                     backend, or the literal 64-bit reading (--arg-reading literal) as runc does",
                ));
            }
            groups = groups
                .iter()
                .flat_map(|g| {
                    alts.iter().map(move |a| {
                        let mut h = g.clone();
                        h.push(*a);
                        h
                    })
                })
                .collect();
        }
        for conditions in groups {
            expanded.push(crate::profile::Rule {
                conditions,
                ..rule.clone()
            });
        }
    }
    Ok(expanded)
}

/// Builds the libseccomp filter context for `spec`, for callers who want libseccomp's
/// own object (to export PFC text, merge, or load it themselves).
///
/// The context has every architecture and rule of the profile; it does not include the
/// ENOSYS stub, which exists only in [`crate::compile`]'s output.
///
/// # Errors
///
/// As [`Profile::from_oci`] and [`build_profile_context`].
pub fn build_context(spec: &LinuxSeccomp) -> Result<ScmpFilterContext, CompileError> {
    let opts = CompileOptions::default();
    let profile = Profile::from_oci(spec, opts.strict)?;
    build_profile_context(&profile, &opts)
}

/// Exports the context's BPF through a memfd (never a pipe, which a large program would
/// fill and deadlock on) and decodes it.
///
/// # Errors
///
/// [`CompileError::Libseccomp`] when libseccomp cannot export; [`CompileError::Export`]
/// when the memfd cannot be made or read, or the exported bytes are not whole
/// instructions.
pub fn export_instructions(ctx: &ScmpFilterContext) -> Result<Vec<Instruction>, CompileError> {
    let fd =
        nix::sys::memfd::memfd_create(c"oci-seccomp-bpf", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| CompileError::Export(e.into()))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file)
        .map_err(lsc("<filter>", "export the BPF program"))?;
    file.seek(SeekFrom::Start(0))
        .map_err(CompileError::Export)?;
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).map_err(CompileError::Export)?;
    if raw.len() % 8 != 0 || raw.is_empty() {
        return Err(CompileError::Export(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "libseccomp exported {} bytes, not a whole number of instructions",
                raw.len()
            ),
        )));
    }
    Ok(raw
        .chunks_exact(8)
        .map(|c| Instruction {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// The highest syscall number the profile names, per architecture present.
fn highest_numbers(profile: &Profile) -> BTreeMap<&'static str, (&'static ArchInfo, u32)> {
    let mut out = BTreeMap::new();
    for a in profile.architectures() {
        let max = profile
            .names()
            .iter()
            .filter_map(|(_, n)| arch::resolve(n, a))
            .map(|n| n as u32)
            .max();
        if let Some(max) = max {
            out.insert(a.name, (*a, max));
        }
    }
    out
}

/// Places the ENOSYS stub on the default path only: every `RET default` of libseccomp's
/// program becomes a `JA` to the stub, appended after the program and followed by
/// `RET default`. A syscall newer than the profile is listed nowhere, so libseccomp's
/// program always gives it the default action and it reaches the stub; every other path
/// (allowed syscalls above all) runs exactly libseccomp's instructions and nothing more.
/// Replacing one instruction by one `JA` (whose offset is 32 bits wide) moves no other
/// instruction, so no jump of libseccomp's program changes.
fn route_default_through_stub(
    mut filter: Vec<Instruction>,
    stub: Vec<Instruction>,
    default_ret: u32,
) -> Vec<Instruction> {
    use crate::bpf::{BPF_JA, BPF_JMP, BPF_K, BPF_RET};
    let tail = filter.len();
    for (i, insn) in filter.iter_mut().enumerate() {
        if insn.code == BPF_RET | BPF_K && insn.k == default_ret {
            // `tail > i`, and a program is at most a few thousand instructions.
            *insn = Instruction::stmt(BPF_JMP | BPF_JA, (tail - i - 1) as u32);
        }
    }
    // The stub's exits jump to the instruction right after it: the default action.
    filter.extend(stub);
    filter.push(Instruction::stmt(BPF_RET | BPF_K, default_ret));
    filter
}

/// Most argument comparisons in multi-comparison rules for one syscall (see
/// [`check_complexity`]).
pub const MAX_SYSCALL_COMPARISONS: usize = 20;
/// Most argument comparisons in multi-comparison rules over all syscalls and
/// architectures (see [`check_complexity`]).
pub const MAX_TOTAL_COMPARISONS: usize = 60;
/// Most conditional rules for one syscall on one architecture (see [`check_complexity`]).
pub const MAX_SYSCALL_CONDITIONAL_RULES: usize = 100;
/// Budget for the sum, over syscalls and architectures, of the cube of each one's number
/// of conditional rules (see [`check_complexity`]).
pub const MAX_RULE_CUBES: u64 = 1_500_000;
/// Most conditional rules in all, counted once per architecture (see [`check_complexity`]).
pub const MAX_CONDITIONAL_RULES: usize = 800;
/// Most instructions that the argument comparisons of conditional rules may need, by the
/// estimate of [`check_complexity`].
pub const MAX_COMPARISON_INSTRUCTIONS: usize = 2000;

/// Instructions libseccomp emits for one comparison: on 64-bit ABIs both words are
/// loaded and compared (an ordered comparison tests the high word twice), masks add an
/// `AND` per word; 32-bit ABIs compare the low word only.
fn comparison_instructions(op: crate::profile::Op, narrow: bool) -> usize {
    use crate::profile::Op;
    match (op, narrow) {
        (Op::MaskedEq, false) => 6,
        (Op::MaskedEq, true) => 3,
        (Op::Eq | Op::Ne, false) => 4,
        (_, false) => 5,
        (_, true) => 2,
    }
}

/// Refuses, before libseccomp runs, a profile whose program libseccomp 2.5 would take
/// too long to generate.
///
/// libseccomp's BPF generation grows much faster than linearly in the comparisons of
/// rules that have several of them (one syscall with five rules of six 64-bit `LE`/`GT`
/// comparisons takes 6 s and more than 4096 instructions; six such syscalls with four
/// rules of five comparisons take 1.5 s), while rules with one comparison each stay
/// cheap (100 of them: 0.5 ms). So the comparisons of rules with two or more are counted:
/// at most [`MAX_SYSCALL_COMPARISONS`] per syscall and architecture, and at most
/// [`MAX_TOTAL_COMPARISONS`] in all. Measured on the machine in BENCHMARKS.md, the worst
/// shape within both limits (three syscalls with three rules of six comparisons) takes
/// 0.36 s. libseccomp miscompiles most such profiles anyway (see the `prove` module).
///
/// Adding the rules themselves costs libseccomp about the cube of their number per
/// syscall (it compares each new rule with the ones it has: one entry with 150 `GT`/`LE`
/// comparisons on one argument, which become 150 rules, takes 0.75 s; 200 take 2.7 s),
/// so a syscall may have at most [`MAX_SYSCALL_CONDITIONAL_RULES`] conditional rules per
/// architecture, and the cubes of those numbers may add up to at most
/// [`MAX_RULE_CUBES`] (about 0.25 s of libseccomp's time). Spread over many syscalls,
/// conditional rules still cost about the cube of their total (1,008 rules over 72
/// syscalls: 0.62 s; 2,030: 6 s), so there may be at most [`MAX_CONDITIONAL_RULES`] in
/// all, counted once per architecture. And the time libseccomp takes to generate the
/// program grows much faster than its length (800 masked comparisons, about 4,800
/// instructions: 5.3 s), so the instructions the comparisons need, estimated per
/// architecture, may add up to at most [`MAX_COMPARISON_INSTRUCTIONS`].
///
/// # Errors
///
/// [`CompileError::InvalidField`] naming the entry that went over a limit.
pub fn check_complexity(profile: &Profile) -> Result<(), CompileError> {
    let mut cubes = 0u64;
    let mut conditional = 0usize;
    let mut instructions = 0usize;
    for a in profile.architectures() {
        let mut rules: BTreeMap<i32, (u64, usize)> = BTreeMap::new();
        for rule in profile.rules().iter().filter(|r| !r.conditions.is_empty()) {
            let Some(nr) = arch::resolve(&rule.name, a) else {
                continue;
            };
            // A low-word comparison reaches libseccomp as masked equalities on bit
            // prefixes, ORed (`build_profile_context`): count the rules it becomes.
            let weight: usize = rule
                .conditions
                .iter()
                .filter(|c| c.low_word)
                .map(|c| {
                    crate::profile::masked_alternatives(c.index, c.op, c.value & 0xffff_ffff, 32)
                        .len()
                        .max(1)
                })
                .fold(1usize, |w, k| w.saturating_mul(k));
            let n = rules.entry(nr).or_default();
            n.0 += weight as u64;
            n.1 = rule.entry;
            conditional = conditional.saturating_add(weight);
            instructions = instructions.saturating_add(
                weight.saturating_mul(
                    rule.conditions
                        .iter()
                        .map(|c| comparison_instructions(c.op, a.narrow_args() || c.low_word))
                        .sum::<usize>(),
                ),
            );
            if instructions > MAX_COMPARISON_INSTRUCTIONS {
                return Err(CompileError::invalid(
                    format!("syscalls[{}]", rule.entry),
                    format!("{:?}", rule.name),
                    format!(
                        "the argument comparisons need about {instructions} instructions \
                         (counted per architecture), more than {MAX_COMPARISON_INSTRUCTIONS}: \
                         libseccomp's time to generate the program grows much faster than its \
                         length; use fewer comparisons or fewer architectures"
                    ),
                ));
            }
            if conditional > MAX_CONDITIONAL_RULES {
                return Err(CompileError::invalid(
                    format!("syscalls[{}]", rule.entry),
                    format!("{:?}", rule.name),
                    format!(
                        "more than {MAX_CONDITIONAL_RULES} conditional rules (counted once per \
                         architecture; a repeated argument index makes one rule per \
                         comparison): libseccomp's time grows with the cube of their number; \
                         use fewer comparisons or fewer architectures"
                    ),
                ));
            }
            if n.0 > MAX_SYSCALL_CONDITIONAL_RULES as u64 {
                return Err(CompileError::invalid(
                    format!("syscalls[{}]", rule.entry),
                    format!("{:?}", rule.name),
                    format!(
                        "{} has more than {MAX_SYSCALL_CONDITIONAL_RULES} conditional rules on {} \
                         (a repeated argument index makes one rule per comparison): libseccomp \
                         takes time that grows with the cube of their number; use ranges \
                         (fewer comparisons) or SCMP_CMP_MASKED_EQ",
                        rule.name, a.name
                    ),
                ));
            }
        }
        for (n, entry) in rules.values() {
            cubes += n * n * n;
            if cubes > MAX_RULE_CUBES {
                return Err(CompileError::invalid(
                    format!("syscalls[{entry}]"),
                    "conditional rules",
                    format!(
                        "the profile has too many conditional rules for libseccomp to build \
                         its program in time (the cubes of each syscall's count of \
                         conditional rules, per architecture, add up to more than \
                         {MAX_RULE_CUBES}); use fewer comparisons or fewer architectures"
                    ),
                ));
            }
        }
    }
    check_multi_comparison_rules(profile)
}

/// The part of [`check_complexity`] about rules with several comparisons: per syscall
/// ([`MAX_SYSCALL_COMPARISONS`]) and in all ([`MAX_TOTAL_COMPARISONS`]).
fn check_multi_comparison_rules(profile: &Profile) -> Result<(), CompileError> {
    let mut total = 0usize;
    for a in profile.architectures() {
        let mut per: BTreeMap<i32, usize> = BTreeMap::new();
        for rule in profile.rules().iter().filter(|r| r.conditions.len() >= 2) {
            let Some(nr) = arch::resolve(&rule.name, a) else {
                continue;
            };
            let n = per.entry(nr).or_default();
            *n += rule.conditions.len();
            total += rule.conditions.len();
            let path = format!("syscalls[{}]", rule.entry);
            if *n > MAX_SYSCALL_COMPARISONS {
                return Err(CompileError::invalid(
                    path,
                    format!("{:?}", rule.name),
                    format!(
                        "{} has {n} argument comparisons in rules with several of them on {}, \
                         more than {MAX_SYSCALL_COMPARISONS}: libseccomp's program generation \
                         grows exponentially with them; merge the entries or use fewer comparisons",
                        rule.name, a.name
                    ),
                ));
            }
            if total > MAX_TOTAL_COMPARISONS {
                return Err(CompileError::invalid(
                    path,
                    format!("{:?}", rule.name),
                    format!(
                        "the profile has {total} argument comparisons in rules with several of \
                         them (counted per architecture), more than {MAX_TOTAL_COMPARISONS}: \
                         libseccomp's program generation grows much faster than linearly with \
                         them; use fewer comparisons or fewer architectures"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// [`unproven_program`] for an OCI `linux.seccomp` object, validated as
/// [`crate::compile`] validates it: libseccomp's own output, **not proven**, for
/// differential tests and benchmarks. Never install what it returns.
///
/// # Errors
///
/// As [`crate::Profile::from_oci`] and [`unproven_program`].
pub fn compile_unproven(
    spec: &LinuxSeccomp,
    opts: &CompileOptions,
) -> Result<Program, CompileError> {
    let profile =
        Profile::from_oci_reading(spec, opts.strict, opts.target_arch(), opts.arg_reading)?;
    unproven_program(&profile, opts)
}

/// libseccomp's program for `profile`, with our stub on its default path, **not proven**:
/// [`crate::compile_profile`] proves it before it returns it. Public for differential
/// tests and benchmarks that study libseccomp's own output; never install what it returns.
///
/// # Errors
///
/// A [`CompileError`]: the profile exceeds a complexity limit (naming the entry), is for
/// another byte order than the build host's, libseccomp refuses or cannot export it, or the
/// program is longer than the kernel accepts.
pub fn unproven_program(profile: &Profile, opts: &CompileOptions) -> Result<Program, CompileError> {
    if profile.architectures()[0].big_endian != arch::native().big_endian {
        return Err(CompileError::invalid(
            "architectures",
            profile.architectures()[0].name,
            "libseccomp builds filters only for the build host's byte order; use the native \
             backend for this target",
        ));
    }
    check_complexity(profile)?;
    let ctx = build_profile_context(profile, opts)?;
    let filter = export_instructions(&ctx)?;
    let stub = if opts.stub.applies_to(profile.default_action()) {
        stub::build(&highest_numbers(profile))
    } else {
        Vec::new()
    };
    let insns = if stub.is_empty() {
        filter
    } else {
        route_default_through_stub(filter, stub, profile.default_action().to_ret())
    };
    let len = insns.len();
    if len > BPF_MAXINSNS {
        return Err(CompileError::ProgramTooLong {
            len,
            max: BPF_MAXINSNS,
        });
    }
    Ok(Program::new(
        insns,
        profile.flags(),
        profile.optional_flags(),
    ))
}
