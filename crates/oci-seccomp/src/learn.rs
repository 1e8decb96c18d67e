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
//! unconditional entry otherwise. A 32-bit argument is compared with `SCMP_CMP_MASKED_EQ`
//! and mask `0xffffffff` (the kernel reads only the low word, so the high word must not
//! matter); a 64-bit one with `SCMP_CMP_EQ`. On an ABI that multiplexes socket and IPC
//! calls (x86's `socketcall`/`ipc`) those calls are allowed without conditions: a
//! condition the multiplexed path cannot see would be refused at compile time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::arch;
use crate::argwidth;

/// More distinct argument combinations than this for one syscall: allow it
/// unconditionally rather than list them.
pub const MAX_COMBINATIONS: usize = 16;

/// Which arguments of which syscalls are learned as conditions: syscall name → argument
/// indices (0..=5). Only non-pointer arguments make sense: a pointer's value says nothing
/// about what it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgSelection(BTreeMap<String, Vec<usize>>);

impl Default for ArgSelection {
    /// Socket family/type/protocol, clone flags, personality, prctl option, ioctl request,
    /// fcntl command, setsockopt level and name.
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
#[derive(Clone, Debug, Default)]
pub struct Learner {
    args: ArgSelection,
    /// (libseccomp name of the ABI, syscall name) → what was seen.
    seen: BTreeMap<String, BTreeMap<String, Seen>>,
    /// Numbers libseccomp has no name for, per ABI (reported, not allowed).
    unnamed: BTreeMap<String, BTreeSet<i32>>,
    total: u64,
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
            ..Self::default()
        }
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
        let selected: Vec<u64> = self
            .args
            .indices(&name)
            .iter()
            .map(|&i| {
                let v = args[i];
                // What the kernel reads of a narrow argument is what the rule compares.
                match argwidth::arg_info(&name, i) {
                    Some(info) if info.bits < 64 || abi.narrow_args() => v & 0xffff_ffff,
                    _ => v,
                }
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
            if s.combinations.len() > MAX_COMBINATIONS {
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

    /// The learned profile (OCI `linux.seccomp` form, or Docker's with `options.docker`).
    pub fn profile(&self, options: &LearnOptions) -> Value {
        let mut arches: BTreeSet<String> = self.seen.keys().cloned().collect();
        arches.insert(arch::native().name.to_string());
        let multiplexing = arches.iter().any(|n| {
            arch::ALL
                .iter()
                .find(|a| a.name == n)
                .is_some_and(arch::multiplexes)
        });
        // Every name, across ABIs: an OCI entry names syscalls for all listed ABIs.
        let mut merged: BTreeMap<&str, Seen> = BTreeMap::new();
        for per_abi in self.seen.values() {
            for (name, s) in per_abi {
                let m = merged.entry(name.as_str()).or_default();
                m.calls += s.calls;
                m.too_many |= s.too_many;
                m.combinations.extend(s.combinations.iter().cloned());
                if m.combinations.len() > MAX_COMBINATIONS {
                    m.too_many = true;
                }
            }
        }
        let mut unconditional: Vec<&str> = Vec::new();
        if options.base.is_none() {
            // Calls every process needs at its end or after a signal, whether or not this
            // run happened to make them (a single-threaded run never calls `exit`); and
            // `futex`, which libc's locks call only when two threads or processes happen
            // to contend, so one run may miss it (seen with busybox pipelines).
            for name in crate::lint::VITAL
                .iter()
                .map(|(n, _)| *n)
                .chain(["restart_syscall", "futex"])
            {
                merged.entry(name).or_default();
            }
        }
        let mut conditional: Vec<Value> = Vec::new();
        for (name, s) in &merged {
            let idx = self.args.indices(name);
            let muxed = multiplexing && arch::multiplexer_of(name).is_some();
            if idx.is_empty() || s.too_many || s.combinations.is_empty() || muxed {
                unconditional.push(name);
                continue;
            }
            for combo in &s.combinations {
                let args: Vec<Value> = idx
                    .iter()
                    .zip(combo)
                    .map(|(&i, &v)| {
                        let narrow = argwidth::arg_info(name, i).is_some_and(|a| a.bits < 64);
                        if narrow {
                            json!({"index": i, "value": 0xffff_ffffu64, "valueTwo": v,
                                   "op": "SCMP_CMP_MASKED_EQ"})
                        } else {
                            json!({"index": i, "value": v, "op": "SCMP_CMP_EQ"})
                        }
                    })
                    .collect();
                let mut entry = json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": args});
                if options.docker {
                    entry["comment"] = json!(format!("recorded: {name} with these arguments"));
                }
                conditional.push(entry);
            }
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
                                   "errnoRet": crate::errno::ENOSYS});
            if options.docker {
                entry["comment"] = json!("not recorded: ENOSYS so that glibc falls back to clone");
            }
            learned.push(entry);
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
            if !options.provenance.is_empty() {
                obj.insert("$comment".into(), json!(options.provenance));
            }
        }
        profile
    }
}

/// Architectures with the native one first (the order `Profile` keeps).
fn arch_order(mut names: Vec<String>) -> Vec<String> {
    let native = arch::native().name;
    names.sort_by_key(|n| (n != native, n.clone()));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nr(name: &str) -> i32 {
        arch::resolve(name, arch::native()).unwrap()
    }

    #[test]
    fn conditions_for_few_values_and_none_for_many() {
        let native = arch::native().audit_arch;
        let mut l = Learner::new(ArgSelection::default());
        l.observe(native, nr("getpid"), [0; 6]);
        l.observe(native, nr("socket"), [1, 0x80001, 0, 0, 0, 0]);
        l.observe(native, nr("socket"), [1, 0x80001, 0, 0, 0, 0]);
        l.observe(native, nr("socket"), [2, 1, 6, 0, 0, 0]);
        // The high word of a 32-bit argument is not what the kernel reads.
        l.observe(native, nr("fcntl"), [3, 0xdead_beef_0000_0002, 0, 0, 0, 0]);
        for req in 0..20u64 {
            l.observe(native, nr("ioctl"), [1, 0x5400 + req, 0, 0, 0, 0]);
        }
        let p = l.profile(&LearnOptions::default());
        let entries = p["syscalls"].as_array().unwrap();
        assert_eq!(
            entries[0]["names"],
            json!([
                "exit",
                "exit_group",
                "futex",
                "getpid",
                "ioctl",
                "restart_syscall",
                "rt_sigreturn"
            ])
        );
        assert!(entries
            .iter()
            .any(|e| e["names"] == json!(["clone3"]) && e["errnoRet"] == 38));
        let socket: Vec<&Value> = entries
            .iter()
            .filter(|e| e["names"] == json!(["socket"]))
            .collect();
        assert_eq!(socket.len(), 2);
        assert_eq!(
            socket[0]["args"][0],
            json!({"index": 0, "value": 0xffff_ffffu64, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"})
        );
        let fcntl = entries
            .iter()
            .find(|e| e["names"] == json!(["fcntl"]))
            .unwrap();
        assert_eq!(fcntl["args"][0]["valueTwo"], 2);
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["architectures"][0], arch::native().name);
        // And it is a valid profile.
        let spec: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(p).unwrap();
        crate::compile(&spec, &crate::CompileOptions::default()).unwrap();
    }

    #[test]
    fn selection_parses_and_refuses() {
        let s = ArgSelection::parse(["socket:0,1", "ioctl:1"]).unwrap();
        assert_eq!(s.indices("socket"), &[0, 1]);
        assert!(ArgSelection::parse(["socket"]).is_err());
        assert!(ArgSelection::parse(["socket:6"]).is_err());
        assert!(ArgSelection::parse(["nosuchcall:0"]).is_err());
        let e = ArgSelection::parse(["openat:1"]).unwrap_err();
        assert!(e.contains("pointer"), "{e}");
    }
}
