//! config.json checks that oci-spec does not make (it reads keys case-sensitively and
//! drops unknown ones), on the JSON text itself.

use serde_json::{Map, Value};

use crate::error::PlanError;

/// How config.json's reader (oci-spec, and Go runtimes) reads a JSON value at one place.
#[derive(Debug)]
enum Shape {
    /// An object with these keys.
    Obj(&'static [(&'static str, Shape)]),
    /// An array of these.
    Arr(&'static Shape),
    /// A free-form map (annotations, sysctl): any key, each value of this shape.
    Map(&'static Shape),
    /// A string, number or boolean.
    Leaf,
}

use Shape::{Arr, Leaf, Map as FreeMap, Obj};

const STRINGS: Shape = Arr(&Leaf);
const ID_MAPPINGS: Shape = Arr(&Obj(&[
    ("containerID", Leaf),
    ("hostID", Leaf),
    ("size", Leaf),
]));
const HOOKS: Shape = Arr(&Obj(&[
    ("path", Leaf),
    ("args", STRINGS),
    ("env", STRINGS),
    ("timeout", Leaf),
]));
const THROTTLE: Shape = Arr(&Obj(&[("major", Leaf), ("minor", Leaf), ("rate", Leaf)]));

const PROCESS: Shape = Obj(&[
    ("terminal", Leaf),
    ("consoleSize", Obj(&[("height", Leaf), ("width", Leaf)])),
    (
        "user",
        Obj(&[
            ("uid", Leaf),
            ("gid", Leaf),
            ("umask", Leaf),
            ("additionalGids", STRINGS),
            ("username", Leaf),
        ]),
    ),
    ("args", STRINGS),
    ("commandLine", Leaf),
    ("env", STRINGS),
    ("cwd", Leaf),
    (
        "capabilities",
        Obj(&[
            ("bounding", STRINGS),
            ("effective", STRINGS),
            ("inheritable", STRINGS),
            ("permitted", STRINGS),
            ("ambient", STRINGS),
        ]),
    ),
    (
        "rlimits",
        Arr(&Obj(&[("type", Leaf), ("soft", Leaf), ("hard", Leaf)])),
    ),
    ("noNewPrivileges", Leaf),
    ("apparmorProfile", Leaf),
    ("oomScoreAdj", Leaf),
    ("selinuxLabel", Leaf),
    ("ioPriority", Obj(&[("class", Leaf), ("priority", Leaf)])),
    (
        "scheduler",
        Obj(&[
            ("policy", Leaf),
            ("nice", Leaf),
            ("priority", Leaf),
            ("flags", STRINGS),
            ("runtime", Leaf),
            ("deadline", Leaf),
            ("period", Leaf),
        ]),
    ),
    (
        "execCPUAffinity",
        Obj(&[("initial", Leaf), ("final", Leaf)]),
    ),
]);

const RESOURCES: Shape = Obj(&[
    (
        "devices",
        Arr(&Obj(&[
            ("allow", Leaf),
            ("type", Leaf),
            ("major", Leaf),
            ("minor", Leaf),
            ("access", Leaf),
        ])),
    ),
    (
        "memory",
        Obj(&[
            ("limit", Leaf),
            ("reservation", Leaf),
            ("swap", Leaf),
            ("kernel", Leaf),
            ("kernelTCP", Leaf),
            ("swappiness", Leaf),
            ("disableOOMKiller", Leaf),
            ("useHierarchy", Leaf),
            ("checkBeforeUpdate", Leaf),
        ]),
    ),
    (
        "cpu",
        Obj(&[
            ("shares", Leaf),
            ("quota", Leaf),
            ("idle", Leaf),
            ("burst", Leaf),
            ("period", Leaf),
            ("realtimeRuntime", Leaf),
            ("realtimePeriod", Leaf),
            ("cpus", Leaf),
            ("mems", Leaf),
        ]),
    ),
    ("pids", Obj(&[("limit", Leaf)])),
    (
        "blockIO",
        Obj(&[
            ("weight", Leaf),
            ("leafWeight", Leaf),
            (
                "weightDevice",
                Arr(&Obj(&[
                    ("major", Leaf),
                    ("minor", Leaf),
                    ("weight", Leaf),
                    ("leafWeight", Leaf),
                ])),
            ),
            ("throttleReadBpsDevice", THROTTLE),
            ("throttleWriteBpsDevice", THROTTLE),
            ("throttleReadIOPSDevice", THROTTLE),
            ("throttleWriteIOPSDevice", THROTTLE),
        ]),
    ),
    (
        "hugepageLimits",
        Arr(&Obj(&[("pageSize", Leaf), ("limit", Leaf)])),
    ),
    (
        "network",
        Obj(&[
            ("classID", Leaf),
            (
                "priorities",
                Arr(&Obj(&[("name", Leaf), ("priority", Leaf)])),
            ),
        ]),
    ),
    (
        "rdma",
        FreeMap(&Obj(&[("hcaHandles", Leaf), ("hcaObjects", Leaf)])),
    ),
    ("unified", FreeMap(&Leaf)),
]);

const SECCOMP: Shape = Obj(&[
    ("defaultAction", Leaf),
    ("defaultErrnoRet", Leaf),
    ("architectures", STRINGS),
    ("flags", STRINGS),
    ("listenerPath", Leaf),
    ("listenerMetadata", Leaf),
    (
        "syscalls",
        Arr(&Obj(&[
            ("names", STRINGS),
            ("action", Leaf),
            ("errnoRet", Leaf),
            (
                "args",
                Arr(&Obj(&[
                    ("index", Leaf),
                    ("value", Leaf),
                    ("valueTwo", Leaf),
                    ("op", Leaf),
                ])),
            ),
        ])),
    ),
]);

const LINUX: Shape = Obj(&[
    ("namespaces", Arr(&Obj(&[("type", Leaf), ("path", Leaf)]))),
    ("uidMappings", ID_MAPPINGS),
    ("gidMappings", ID_MAPPINGS),
    (
        "timeOffsets",
        FreeMap(&Obj(&[("secs", Leaf), ("nanosecs", Leaf)])),
    ),
    (
        "devices",
        Arr(&Obj(&[
            ("path", Leaf),
            ("type", Leaf),
            ("major", Leaf),
            ("minor", Leaf),
            ("fileMode", Leaf),
            ("uid", Leaf),
            ("gid", Leaf),
        ])),
    ),
    ("netDevices", FreeMap(&Obj(&[("name", Leaf)]))),
    ("cgroupsPath", Leaf),
    ("rootfsPropagation", Leaf),
    ("resources", RESOURCES),
    ("seccomp", SECCOMP),
    ("sysctl", FreeMap(&Leaf)),
    ("maskedPaths", STRINGS),
    ("readonlyPaths", STRINGS),
    ("mountLabel", Leaf),
    (
        "intelRdt",
        Obj(&[
            ("closID", Leaf),
            ("schemata", STRINGS),
            ("l3CacheSchema", Leaf),
            ("memBwSchema", Leaf),
            ("enableCMT", Leaf),
            ("enableMBM", Leaf),
            ("enableMonitoring", Leaf),
        ]),
    ),
    ("personality", Obj(&[("domain", Leaf), ("flags", STRINGS)])),
    (
        "memoryPolicy",
        Obj(&[("mode", Leaf), ("nodes", Leaf), ("flags", STRINGS)]),
    ),
]);

/// config.json as oci-spec reads it. Other platforms' sections (`solaris`, `windows`,
/// `vm`, `zos`) are only checked at their own key.
const CONFIG: Shape = Obj(&[
    ("ociVersion", Leaf),
    ("process", PROCESS),
    ("root", Obj(&[("path", Leaf), ("readonly", Leaf)])),
    ("hostname", Leaf),
    ("domainname", Leaf),
    (
        "mounts",
        Arr(&Obj(&[
            ("destination", Leaf),
            ("type", Leaf),
            ("source", Leaf),
            ("options", STRINGS),
            ("uidMappings", ID_MAPPINGS),
            ("gidMappings", ID_MAPPINGS),
        ])),
    ),
    (
        "hooks",
        Obj(&[
            ("prestart", HOOKS),
            ("createRuntime", HOOKS),
            ("createContainer", HOOKS),
            ("startContainer", HOOKS),
            ("poststart", HOOKS),
            ("poststop", HOOKS),
        ]),
    ),
    ("annotations", FreeMap(&Leaf)),
    ("linux", LINUX),
    ("solaris", Leaf),
    ("windows", Leaf),
    ("vm", Leaf),
    ("zos", Leaf),
]);

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A key, at any depth, that differs from the key oci-spec reads there only in letter case
/// (`"Options"` in a mount, `"Memory"` in `linux.resources`): oci-spec would drop it
/// silently (a read-only bind becomes writable, a limit disappears), runc would read it.
/// The keys of free-form maps (annotations, sysctl) are the config's own, not checked.
fn check_key_case(v: &Value, shape: &Shape, path: &str, file: &str) -> Result<(), PlanError> {
    match (shape, v) {
        (Obj(fields), Value::Object(obj)) => {
            for (k, val) in obj {
                if let Some((_, sub)) = fields.iter().find(|(n, _)| n == k) {
                    check_key_case(val, sub, &join(path, k), file)?;
                } else if let Some((want, _)) = fields
                    .iter()
                    .find(|(n, _)| oci_seccomp::profile::go_key_eq(k, n))
                {
                    return Err(PlanError::KeyCase {
                        file: file.to_string(),
                        field: join(path, k),
                        key: k.clone(),
                        want,
                    });
                }
            }
        }
        (Arr(sub), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_key_case(item, sub, &format!("{path}[{i}]"), file)?;
            }
        }
        (FreeMap(sub), Value::Object(obj)) => {
            for (k, val) in obj {
                check_key_case(val, sub, &join(path, k), file)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a value asks for nothing: null, `""`, `[]`, or an object of such values.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Fields this launcher does not apply, with why: each is refused unless empty (a
/// configuration never runs with less confinement or another behaviour than it says).
const NOT_APPLIED: &[(&[&str], &str)] = &[
    (&["hooks"], "oci-seccomp run runs no hooks"),
    (
        &["domainname"],
        "oci-seccomp run does not set the NIS domain name",
    ),
    (&["vm"], "oci-seccomp run does not start virtual machines"),
    (
        &["process", "apparmorProfile"],
        "oci-seccomp run applies no AppArmor profile",
    ),
    (
        &["process", "selinuxLabel"],
        "oci-seccomp run applies no SELinux label",
    ),
    (
        &["process", "oomScoreAdj"],
        "oci-seccomp run does not set the OOM score adjustment",
    ),
    (
        &["process", "ioPriority"],
        "oci-seccomp run does not set the I/O priority",
    ),
    (
        &["process", "scheduler"],
        "oci-seccomp run does not set the scheduling policy",
    ),
    (
        &["process", "execCPUAffinity"],
        "oci-seccomp run does not set the CPU affinity",
    ),
    (
        &["process", "user", "umask"],
        "oci-seccomp run does not set the umask (the command inherits its own)",
    ),
    (
        &["linux", "uidMappings"],
        "oci-seccomp run makes no user namespace, so maps no ids",
    ),
    (
        &["linux", "gidMappings"],
        "oci-seccomp run makes no user namespace, so maps no ids",
    ),
    (
        &["linux", "timeOffsets"],
        "oci-seccomp run makes no time namespace",
    ),
    (
        &["linux", "netDevices"],
        "oci-seccomp run moves no network device into the container",
    ),
    (&["linux", "sysctl"], "oci-seccomp run writes no sysctl"),
    (
        &["linux", "mountLabel"],
        "oci-seccomp run applies no SELinux mount label",
    ),
    (
        &["linux", "intelRdt"],
        "oci-seccomp run configures no Intel RDT",
    ),
    (
        &["linux", "personality"],
        "oci-seccomp run does not set the execution domain (personality)",
    ),
    (
        &["linux", "memoryPolicy"],
        "oci-seccomp run does not set the NUMA memory policy",
    ),
];

/// Sections for other platforms, and Windows-only fields: ignored on Linux as runc does.
const OTHER_PLATFORMS: &[&[&str]] = &[
    &["solaris"],
    &["windows"],
    &["zos"],
    &["process", "commandLine"],
    &["process", "user", "username"],
];

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// Refuses every field that asks for something this launcher does not do.
fn check_not_applied(v: &Value) -> Result<(), PlanError> {
    for (path, why) in NOT_APPLIED {
        // A free-form map's keys are requests themselves (`"eth1": {}` moves eth1).
        let map = matches!(path, [.., "sysctl" | "netDevices" | "timeOffsets"]);
        let empty = |x: &Value| match x {
            Value::Object(o) if map => o.is_empty(),
            x => is_empty(x),
        };
        if get(v, path).is_some_and(|x| !empty(x)) {
            return Err(PlanError::NotApplied {
                field: path.join("."),
                why,
            });
        }
    }
    if let Some(p) = get(v, &["linux", "rootfsPropagation"]) {
        if !is_empty(p) && p != "private" && p != "rprivate" {
            return Err(PlanError::NotApplied {
                field: "linux.rootfsPropagation".into(),
                why: "oci-seccomp run makes the rootfs and every mount private (rprivate); only \"private\" and \"rprivate\" hold",
            });
        }
    }
    for (i, m) in get(v, &["mounts"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for key in ["uidMappings", "gidMappings"] {
            if m.get(key).is_some_and(|x| !is_empty(x)) {
                return Err(PlanError::NotApplied {
                    field: format!("mounts[{i}].{key}"),
                    why: "oci-seccomp run makes no id-mapped mounts",
                });
            }
        }
    }
    for path in OTHER_PLATFORMS {
        if get(v, path).is_some_and(|x| !is_empty(x)) {
            tracing::warn!(
                "{} is ignored: it is for another platform than Linux (as runc ignores it)",
                path.join(".")
            );
        }
    }
    Ok(())
}

/// `linux.resources`: without cgroups nothing there is enforced, so a limit is refused, not
/// ignored, whatever its key's spelling (only `devices`, checked with the plan, holds:
/// devices are denied already).
fn check_resources(res: &Map<String, Value>) -> Result<(), PlanError> {
    match res.iter().find(|(k, v)| *k != "devices" && !is_empty(v)) {
        Some((k, _)) => Err(PlanError::Resource(k.clone())),
        None => Ok(()),
    }
}

/// The checks on config.json's text that oci-spec cannot make, before it reads it: JSON
/// syntax with line and column, keys in another letter case at any depth, fields this
/// launcher does not apply, resource limits under any spelling, Docker keys in `linux.seccomp` and the profile's own checks (shape,
/// limits). `file` names config.json.
pub(crate) fn check_text(file: &str, config_text: &str) -> Result<(), PlanError> {
    let v: Value = serde_json::from_str(config_text).map_err(|e| syntax(file, &e))?;
    check_key_case(&v, &CONFIG, "", file)?;
    check_not_applied(&v)?;
    let linux = v.get("linux");
    if let Some(res) = linux
        .and_then(|l| l.get("resources"))
        .and_then(Value::as_object)
    {
        check_resources(res)?;
    }
    if let Some(sc) = linux.and_then(|l| l.get("seccomp")) {
        if let Some((path, key)) = oci_seccomp::profile::find_docker_key(sc) {
            return Err(PlanError::DockerKey {
                file: file.to_string(),
                field: format!("linux.seccomp.{path}"),
                key: key.to_string(),
            });
        }
        oci_seccomp::parse_profile(&sc.to_string()).map_err(|source| PlanError::Seccomp {
            file: file.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// A JSON error of config.json with its position once.
pub(crate) fn syntax(file: &str, e: &serde_json::Error) -> PlanError {
    let full = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    PlanError::Syntax {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: full.strip_suffix(&at).unwrap_or(&full).to_string(),
    }
}
