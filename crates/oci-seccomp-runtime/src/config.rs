//! config.json checks that oci-spec does not make (it reads keys case-sensitively and
//! drops unknown ones).

use crate::error::PlanError;

/// Keys of config.json's objects that oci-spec reads (case-sensitively); Go runtimes read
/// them in any letter case. (path, keys).
const CONFIG_KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "ociVersion",
            "process",
            "root",
            "hostname",
            "domainname",
            "mounts",
            "hooks",
            "annotations",
            "linux",
        ],
    ),
    (
        "process",
        &[
            "terminal",
            "consoleSize",
            "user",
            "args",
            "commandLine",
            "env",
            "cwd",
            "capabilities",
            "rlimits",
            "noNewPrivileges",
            "apparmorProfile",
            "oomScoreAdj",
            "selinuxLabel",
            "ioPriority",
            "scheduler",
            "execCPUAffinity",
        ],
    ),
    (
        "process.user",
        &["uid", "gid", "umask", "additionalGids", "username"],
    ),
    (
        "process.capabilities",
        &[
            "bounding",
            "effective",
            "inheritable",
            "permitted",
            "ambient",
        ],
    ),
    ("root", &["path", "readonly"]),
    (
        "linux",
        &[
            "namespaces",
            "uidMappings",
            "gidMappings",
            "timeOffsets",
            "devices",
            "netDevices",
            "cgroupsPath",
            "rootfsPropagation",
            "resources",
            "seccomp",
            "sysctl",
            "maskedPaths",
            "readonlyPaths",
            "mountLabel",
            "intelRdt",
            "personality",
            "memoryPolicy",
        ],
    ),
];

/// A config.json key that differs from an OCI key only in letter case (`"Seccomp"`):
/// oci-spec would drop it silently (no filter at all), runc would read it. Refused.
fn check_key_case(v: &serde_json::Value) -> Result<(), PlanError> {
    for (path, keys) in CONFIG_KEYS {
        let mut obj = Some(v);
        for part in path.split('.').filter(|p| !p.is_empty()) {
            obj = obj.and_then(|o| o.get(part));
        }
        let Some(obj) = obj.and_then(serde_json::Value::as_object) else {
            continue;
        };
        for k in obj.keys() {
            if let Some(want) = keys
                .iter()
                .find(|n| oci_seccomp::go_key_eq(k, n) && **n != k.as_str())
            {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                return Err(PlanError::KeyCase {
                    field: at,
                    key: k.clone(),
                    want,
                });
            }
        }
    }
    Ok(())
}

/// The checks on config.json's text that oci-spec cannot make: JSON syntax with line and
/// column, keys in another letter case, Docker keys in `linux.seccomp`, and the profile's
/// own checks (shape, limits).
pub(crate) fn check_text(config_text: &str) -> Result<(), PlanError> {
    let v: serde_json::Value =
        serde_json::from_str(config_text).map_err(|e| PlanError::Syntax {
            file: "config.json".into(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    check_key_case(&v)?;
    if let Some(sc) = v.get("linux").and_then(|l| l.get("seccomp")) {
        if let Some((path, key)) = oci_seccomp::find_docker_key(sc) {
            return Err(PlanError::DockerKey {
                field: format!("linux.seccomp.{path}"),
                key: key.to_string(),
            });
        }
        oci_seccomp::parse_profile(&sc.to_string()).map_err(PlanError::Seccomp)?;
    }
    Ok(())
}
