//! `baseProfileName`: the operator's published bases, and composition by proven union.

use oci_spec::runtime::LinuxSeccomp;

use super::{parse_spo, SpoError, SpoProfile};
use crate::arch::ArchInfo;

/// The base profiles the operator publishes (`examples/baseprofile-runc.yaml`,
/// `runc-v1.2.3`, and `examples/baseprofile-crun.yaml`, `crun-v1.21`; their source is in
/// fixtures/spo/SOURCE.md), embedded.
pub const PUBLISHED_BASES: [&str; 2] = [
    include_str!("../../../profiles/spo/baseprofile-runc.yaml"),
    include_str!("../../../profiles/spo/baseprofile-crun.yaml"),
];

/// The base profiles of [`PUBLISHED_BASES`], read.
///
/// # Errors
///
/// Never for the embedded files (a test reads them); [`SpoError`] if one did not read.
pub fn published_bases() -> Result<Vec<SpoProfile>, SpoError> {
    let mut out = Vec::new();
    for text in PUBLISHED_BASES {
        out.extend(parse_spo(text)?);
    }
    Ok(out)
}

/// Most links of a `baseProfileName` chain.
pub const MAX_BASE_CHAIN: usize = 16;

/// `profile` composed with its `baseProfileName` chain, found among `bases` by name. As the
/// operator composes, the profile keeps its own `defaultAction`, architectures, flags and
/// listener, and the bases add their entries; the entries are joined by the proven union
/// ([`crate::merge`]): a call any entry allows is allowed, and none that none allows (the
/// operator concatenates name lists instead, which overlapping argument conditions make
/// unsound). Without a base, its own spec.
///
/// # Errors
///
/// [`SpoError::Base`] for a base that is missing (the names known are listed), a circle,
/// or a chain longer than [`MAX_BASE_CHAIN`]; [`SpoError::Compose`] when the union cannot
/// be written as one profile.
pub fn compose(
    profile: &SpoProfile,
    bases: &[SpoProfile],
    target: &'static ArchInfo,
) -> Result<LinuxSeccomp, SpoError> {
    let mut chain: Vec<&SpoProfile> = vec![profile];
    while let Some(base) = &chain[chain.len() - 1].base_profile_name {
        if chain.iter().any(|p| &p.name == base) {
            let names: Vec<&str> = chain.iter().map(|p| p.name.as_str()).collect();
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!("a circle: {} -> {base}", names.join(" -> ")),
            });
        }
        if chain.len() > MAX_BASE_CHAIN {
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!("a chain of more than {MAX_BASE_CHAIN} base profiles"),
            });
        }
        let same: Vec<&SpoProfile> = bases.iter().filter(|b| &b.name == base).collect();
        if same.len() > 1 {
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!(
                    "{} base profiles have this name (the published ones and --base-dir's \
                     files); keep one",
                    same.len()
                ),
            });
        }
        let Some(found) = same.first().copied() else {
            let mut known: Vec<&str> = bases.iter().map(|b| b.name.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!(
                    "not found (base profiles known: {}; give their files with --base-dir)",
                    known.join(", ")
                ),
            });
        };
        chain.push(found);
    }
    if chain.len() == 1 {
        return Ok(profile.spec.clone());
    }
    // As the operator composes: the profile's own default, architectures, flags and
    // listener; only the bases' entries are added (their defaults never decide).
    let own = &profile.spec;
    let specs: Vec<LinuxSeccomp> = chain
        .iter()
        .map(|p| {
            let mut s = p.spec.clone();
            s.set_default_action(own.default_action());
            s.set_default_errno_ret(own.default_errno_ret());
            s.set_architectures(own.architectures().clone());
            s.set_flags(own.flags().clone());
            s.set_listener_path(own.listener_path().clone());
            s.set_listener_metadata(own.listener_metadata().clone());
            s
        })
        .collect();
    crate::merge::merge(&specs, crate::merge::Combine::Union, target)
        .map(|m| m.spec)
        .map_err(|e| SpoError::Compose(Box::new(e)))
}
