//! What this kernel and libseccomp support, as the `linux.seccomp` object of an OCI
//! `features.json`.

use oci_seccomp::simulate::ret;
use oci_seccomp::FilterFlags;
use serde::Serialize;

use crate::install::{action_supported, flag_supported};

/// The `linux.seccomp` part of OCI `features.json`, plus what the kernel supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SeccompFeatures {
    /// Whether seccomp filters can be installed here (the kernel has `CONFIG_SECCOMP_FILTER`).
    pub enabled: bool,
    /// The actions this runtime knows (OCI names).
    pub actions: Vec<String>,
    /// The known actions that the kernel supports (`SECCOMP_GET_ACTION_AVAIL`), and for
    /// `SCMP_ACT_NOTIFY` also libseccomp (API level >= 5).
    pub supported_actions: Vec<String>,
    /// The argument comparison operators.
    pub operators: Vec<String>,
    /// The architectures the linked libseccomp can build filters for.
    pub archs: Vec<String>,
    /// The filter flags a profile may set (`linux.seccomp.flags`).
    pub known_flags: Vec<String>,
    /// The known flags that this kernel supports (probed).
    pub supported_flags: Vec<String>,
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

/// Probes this kernel and libseccomp. Installs nothing.
pub fn features() -> SeccompFeatures {
    let api_level = libseccomp::get_api();
    let version = oci_seccomp::profile::libseccomp_version();
    let supported_actions = KNOWN_ACTIONS
        .iter()
        .filter(|(name, r)| action_supported(*r) && (*name != "SCMP_ACT_NOTIFY" || api_level >= 5))
        .map(|(n, _)| n.to_string())
        .collect();
    SeccompFeatures {
        enabled: action_supported(ret::ALLOW),
        actions: KNOWN_ACTIONS.iter().map(|(n, _)| n.to_string()).collect(),
        supported_actions,
        operators: KNOWN_OPERATORS.iter().map(|s| s.to_string()).collect(),
        archs: oci_seccomp::arch::ALL
            .iter()
            .filter(|a| a.min_libseccomp <= version)
            .map(|a| a.name.to_string())
            .collect(),
        known_flags: KNOWN_FLAGS.iter().map(|(n, _)| n.to_string()).collect(),
        supported_flags: KNOWN_FLAGS
            .iter()
            .filter(|(_, f)| flag_supported(*f))
            .map(|(n, _)| n.to_string())
            .collect(),
        libseccomp: LibseccompFeatures {
            version: oci_seccomp::profile::libseccomp_version_string(),
            api_level,
        },
    }
}
