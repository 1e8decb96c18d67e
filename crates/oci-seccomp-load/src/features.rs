//! What this kernel and libseccomp support, as the `linux.seccomp` object of an OCI
//! `features.json`.

use oci_seccomp::bpf::ret;
use oci_seccomp::FilterFlags;
use oci_spec::runtime::{Arch, LinuxSeccompAction, Seccomp};
use serde::Serialize;

use crate::install::{action_supported, flag_supported};

/// [`features()`] with what the OCI object has no field for: the known actions this kernel
/// supports and the linked libseccomp. Serialises as the OCI object with two more keys
/// (`supportedActions`, `libseccomp`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SeccompFeatures {
    /// The OCI `features.json` `linux.seccomp` object ([`features()`]).
    #[serde(flatten)]
    pub oci: Seccomp,
    /// The known actions that the kernel supports (`SECCOMP_GET_ACTION_AVAIL`), and for
    /// `SCMP_ACT_NOTIFY` also libseccomp (API level >= 5).
    pub supported_actions: Vec<LinuxSeccompAction>,
    /// The linked libseccomp.
    pub libseccomp: LibseccompFeatures,
}

/// Version and API level of the linked libseccomp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LibseccompFeatures {
    /// Runtime version, for example `2.5.4`.
    pub version: String,
    /// `seccomp_api_get()`.
    pub api_level: u32,
}

/// The actions we know, with the kernel return value that stands for each.
pub const KNOWN_ACTIONS: &[(&str, u32)] = &[
    ("SCMP_ACT_KILL", ret::KILL_THREAD),
    ("SCMP_ACT_KILL_PROCESS", ret::KILL_PROCESS),
    ("SCMP_ACT_KILL_THREAD", ret::KILL_THREAD),
    ("SCMP_ACT_TRAP", ret::TRAP),
    ("SCMP_ACT_ERRNO", ret::ERRNO),
    ("SCMP_ACT_TRACE", ret::TRACE),
    ("SCMP_ACT_ALLOW", ret::ALLOW),
    ("SCMP_ACT_LOG", ret::LOG),
    ("SCMP_ACT_NOTIFY", ret::USER_NOTIF),
];

/// The operators of `linux.seccomp.syscalls[].args[].op`.
pub const KNOWN_OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// The flags a profile may set, with their bits.
pub const KNOWN_FLAGS: &[(&str, FilterFlags)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", FilterFlags::TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", FilterFlags::LOG),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", FilterFlags::SPEC_ALLOW),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        FilterFlags::WAIT_KILLABLE_RECV,
    ),
];

/// An OCI name (`SCMP_ACT_…`, `SCMP_ARCH_…`) as oci-spec's typed value; `None` for a
/// name oci-spec does not know.
fn typed<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// The OCI `features.json` `linux.seccomp` object for this host (oci-spec's type):
/// `enabled` (the kernel has `CONFIG_SECCOMP_FILTER`), the actions and operators this
/// crate knows, the architectures the linked libseccomp can build filters for, the
/// filter flags a profile may set and those this kernel supports (probed). Installs
/// nothing.
pub fn features() -> Seccomp {
    let version = oci_seccomp::arch::libseccomp_version();
    let archs: Vec<Arch> = oci_seccomp::arch::ALL
        .iter()
        .filter(|a| a.min_libseccomp <= version)
        .filter_map(|a| typed(a.name))
        .collect();
    let mut oci = Seccomp::default();
    oci.set_enabled(Some(action_supported(ret::ALLOW)))
        .set_actions(Some(
            KNOWN_ACTIONS.iter().filter_map(|(n, _)| typed(n)).collect(),
        ))
        .set_operators(Some(
            KNOWN_OPERATORS.iter().map(|s| s.to_string()).collect(),
        ))
        .set_archs(Some(archs))
        .set_known_flags(Some(
            KNOWN_FLAGS.iter().map(|(n, _)| n.to_string()).collect(),
        ))
        .set_supported_flags(Some(
            KNOWN_FLAGS
                .iter()
                .filter(|(_, f)| flag_supported(*f))
                .map(|(n, _)| n.to_string())
                .collect(),
        ));
    oci
}

/// [`features()`], the supported actions and the linked libseccomp. Installs nothing.
pub fn features_report() -> SeccompFeatures {
    let api_level = libseccomp::get_api();
    let supported_actions = KNOWN_ACTIONS
        .iter()
        .filter(|(name, r)| action_supported(*r) && (*name != "SCMP_ACT_NOTIFY" || api_level >= 5))
        .filter_map(|(n, _)| typed(n))
        .collect();
    SeccompFeatures {
        oci: features(),
        supported_actions,
        libseccomp: LibseccompFeatures {
            version: oci_seccomp::arch::libseccomp_version_string(),
            api_level,
        },
    }
}
