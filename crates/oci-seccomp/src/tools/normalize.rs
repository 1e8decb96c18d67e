//! Normalizing a profile: the compact, canonical `linux.seccomp` that decides exactly as the
//! original does, so that a review of two versions shows what changed in meaning, not in
//! formatting. Every result is proven equal to its input with [`crate::diff`] before it is
//! returned.
//!
//! # The design
//!
//! Entries are grouped by what they ask (action, errno and comparisons, a full-mask
//! `SCMP_CMP_MASKED_EQ` written as the `SCMP_CMP_EQ` it is), each group's names sorted and
//! listed once, and the groups sorted. Grouping and sorting can change which of two equally
//! strict entries of one syscall decides a call both match (libseccomp's tie order follows
//! the profile's order, docs/conformance.md "Ties"), so three forms are tried, each proven:
//! grouped and sorted; grouped in the order of first appearance; each entry alone with its
//! names sorted. The first form proven equal is returned, and only if libseccomp (runc,
//! crun) still accepts it where it accepted the original: libseccomp refuses some orders
//! of overlapping entries (EEXIST) that decide alike.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{Map, Value};

use crate::arch::ArchInfo;
use crate::compare::DiffError;
use crate::error::{CompileError, ParseError};
use crate::profile::semantics::{Semantics, Stub};
use crate::profile::Profile;

/// Why a profile could not be normalized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The profile is not valid (as `compile` would say).
    #[error(transparent)]
    Invalid(#[from] CompileError),
    /// A rewritten form could not be read back.
    #[error("the normalized profile does not parse: {0}")]
    Reparse(#[from] ParseError),
    /// The proof that a form decides as the original could not be completed.
    #[error("cannot prove the normalized profile equal to the original: {0}")]
    Compare(#[from] DiffError),
    /// No form decides exactly as the original: nothing is written.
    #[error(
        "no normalized form decides every call as the original does (entry order matters \
         here in a way this rewrite does not keep); the original is left as it is"
    )]
    Changed,
}

/// The normalized form of `spec`, for programs of host `target`, proven to decide every
/// call as `spec` does.
///
/// # Errors
///
/// [`NormalizeError`]: `spec` is invalid, or no form could be proven equal.
pub fn normalize(
    spec: &LinuxSeccomp,
    target: &'static ArchInfo,
) -> Result<LinuxSeccomp, NormalizeError> {
    let original_profile = Profile::from_oci_for(spec, false, target)?;
    let original = Semantics::new(&original_profile, Stub::Enosys);
    // A form libseccomp refuses (it orders some overlapping entries and returns EEXIST for
    // the others, docs/conformance.md "Ties") must not replace a profile runc and crun start.
    let accepted_by_libseccomp = |p: &Profile| {
        let opts = crate::CompileOptions::default()
            .with_backend(crate::Backend::Libseccomp)
            .with_target(Some(target));
        crate::libseccomp::build_profile_context(p, &opts).is_ok()
    };
    let must_stay_accepted = accepted_by_libseccomp(&original_profile);
    let value = serde_json::to_value(spec).map_err(|e| CompileError::InvalidField {
        path: String::new(),
        value: String::new(),
        reason: e.to_string(),
    })?;
    let mut budget = crate::compare::bounded_budget();
    for form in [Form::Sorted, Form::FirstSeen, Form::EachEntry] {
        let candidate = crate::parse_profile(&rewrite(&value, form).to_string())?;
        let profile = Profile::from_oci_for(&candidate, false, target)?;
        let same = crate::compare::diff_within(
            &original,
            &Semantics::new(&profile, Stub::Enosys),
            &mut budget,
        )?
        .is_empty();
        if same && (!must_stay_accepted || accepted_by_libseccomp(&profile)) {
            return Ok(candidate);
        }
    }
    Err(NormalizeError::Changed)
}

/// The forms [`normalize`] tries, most canonical first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Sorted,
    FirstSeen,
    EachEntry,
}

/// `value` (a serialized `linux.seccomp`) with its entries rewritten as `form` says, and no
/// `null` fields.
fn rewrite(value: &Value, form: Form) -> Value {
    let mut out = value.clone();
    strip_nulls(&mut out);
    let Some(entries) = out.get("syscalls").and_then(Value::as_array) else {
        return out;
    };
    // (what an entry asks, its names), in order of first appearance.
    let mut groups: Vec<(Value, Vec<String>)> = Vec::new();
    for e in entries {
        let key = entry_key(e);
        let names = e["names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string);
        match groups
            .iter_mut()
            .find(|(k, _)| *k == key && form != Form::EachEntry)
        {
            Some((_, n)) => n.extend(names),
            None => groups.push((key, names.collect())),
        }
    }
    for (_, names) in &mut groups {
        names.sort();
        names.dedup();
    }
    if form == Form::Sorted {
        groups.sort_by(|a, b| (a.0.to_string(), &a.1).cmp(&(b.0.to_string(), &b.1)));
    }
    let rewritten: Vec<Value> = groups
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(mut key, names)| {
            key["names"] = Value::from(names);
            key
        })
        .collect();
    out["syscalls"] = Value::from(rewritten);
    out
}

/// An entry without its names and comments: its action, errno and comparisons, a full-mask
/// `SCMP_CMP_MASKED_EQ` written as `SCMP_CMP_EQ`.
fn entry_key(e: &Value) -> Value {
    let mut key = Map::new();
    for field in ["action", "errnoRet"] {
        if let Some(v) = e.get(field).filter(|v| !v.is_null()) {
            key.insert(field.to_string(), v.clone());
        }
    }
    let args: Vec<Value> = e
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(canonical_arg)
        .collect();
    if !args.is_empty() {
        key.insert("args".to_string(), Value::from(args));
    }
    Value::Object(key)
}

/// A comparison as written, except that a full-mask `SCMP_CMP_MASKED_EQ` becomes the
/// `SCMP_CMP_EQ` it is, and an unused `valueTwo` of 0 goes.
fn canonical_arg(a: &Value) -> Value {
    let mut a = a.clone();
    strip_nulls(&mut a);
    let full_mask = a["op"] == "SCMP_CMP_MASKED_EQ" && a["value"].as_u64() == Some(u64::MAX);
    if full_mask {
        a["op"] = Value::from("SCMP_CMP_EQ");
        a["value"] = a.get("valueTwo").cloned().unwrap_or(Value::from(0u64));
    }
    let unused_two = a["op"] != "SCMP_CMP_MASKED_EQ" && a.get("valueTwo").is_some_and(|v| v == 0);
    if unused_two || full_mask {
        if let Some(o) = a.as_object_mut() {
            o.remove("valueTwo");
        }
    }
    a
}

/// Removes the `null` fields oci-spec writes for absent optional ones.
pub(crate) fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|_, x| !x.is_null());
            o.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
