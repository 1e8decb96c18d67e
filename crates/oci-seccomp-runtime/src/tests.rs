//! The launch plan without root: a good bundle, and each refusal with its field.

use serde_json::{json, Value};

use crate::{LaunchOptions, LaunchPlan, PlanError};

fn good() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                    "env": ["PATH=/bin"]},
        "root": {"path": "rootfs"},
        "hostname": "box",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}],
                  "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}
    })
}

fn plan(config: &Value) -> Result<LaunchPlan, PlanError> {
    plan_with(config, &LaunchOptions::default())
}

fn plan_with(config: &Value, opts: &LaunchOptions) -> Result<LaunchPlan, PlanError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    LaunchPlan::from_bundle(dir.path(), opts)
}

/// `edit` applied to the good config is refused with `field` and a message with `words`.
fn refused(edit: impl FnOnce(&mut Value), field: Option<&str>, words: &str) {
    let mut v = good();
    edit(&mut v);
    let e = plan(&v).expect_err("accepted");
    assert_eq!(e.field().as_deref(), field, "{e}");
    assert!(e.to_string().contains(words), "{e:?}: lacks {words:?}");
}

#[test]
fn a_good_bundle_is_planned() {
    let p = plan(&good()).unwrap();
    assert!(p.is_container());
    assert!(!p.no_new_privileges());
    assert_eq!(p.arg0(), "/bin/true");
    assert!(p.seccomp().is_some());
    let c = p.container.as_ref().unwrap();
    // /dev is added first, then the listed mounts.
    assert_eq!(c.mounts[0].destination, "/dev");
    assert_eq!(c.mounts[1].destination, "/proc");
    assert!(c.pid_ns);
    assert_eq!(c.hostname.as_deref(), Some("box"));
    assert!(p.id().starts_with("oci-seccomp-"));
}

#[test]
fn options_override_the_bundle() {
    let mut opts = LaunchOptions::command(vec!["echo".into(), "hi".into()]);
    opts.no_new_privs = true;
    opts.id = Some("ctr".into());
    let p = plan_with(&good(), &opts).unwrap();
    assert_eq!(p.arg0(), "echo");
    assert!(p.no_new_privileges());
    assert_eq!(p.id(), "ctr");
    // PATH from process.env.
    assert_eq!(p.exec_paths[0].to_str().unwrap(), "/bin/echo");
    opts.no_seccomp = true;
    assert!(plan_with(&good(), &opts).unwrap().seccomp().is_none());
}

#[test]
fn syntax_and_key_case() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{\n  \"process\": }").unwrap();
    let e = LaunchPlan::from_bundle(dir.path(), &LaunchOptions::default()).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    refused(
        |v| v["linux"]["Seccomp"] = json!({}),
        Some("linux.Seccomp"),
        "only in letter case",
    );
    refused(
        |v| {
            v["linux"]["seccomp"]["syscalls"] =
                json!([{"names": ["x"], "action": "SCMP_ACT_ALLOW", "excludes": {}}])
        },
        Some("linux.seccomp.syscalls[0].excludes"),
        "Docker (moby) profile key",
    );
}

#[test]
fn key_case_at_every_depth() {
    // A mount's "Options" would be dropped by oci-spec (a read-only bind becomes
    // writable) and read by runc.
    refused(
        |v| {
            v["mounts"][0] = json!({"destination": "/mnt", "type": "bind", "source": "/",
                                    "Options": ["rbind", "ro"]})
        },
        Some("mounts[0].Options"),
        "\"options\"",
    );
    refused(
        |v| v["linux"]["resources"] = json!({"Memory": {"limit": 1000000}}),
        Some("linux.resources.Memory"),
        "only in letter case",
    );
    refused(
        |v| v["linux"]["resources"] = json!({"memory": {"Limit": 1000000}}),
        Some("linux.resources.memory.Limit"),
        "only in letter case",
    );
    refused(
        |v| v["process"]["rlimits"] = json!([{"Type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}]),
        Some("process.rlimits[0].Type"),
        "\"type\"",
    );
    refused(
        |v| v["mounts"][0]["\u{17f}ource"] = json!("/etc"),
        Some("mounts[0].\u{17f}ource"),
        "\"source\"",
    );
    refused(
        |v| v["process"]["User"] = json!({"uid": 0, "gid": 0}),
        Some("process.User"),
        "\"user\"",
    );
    refused(
        |v| v["linux"]["namespaces"][0]["Path"] = json!("/proc/1/ns/pid"),
        Some("linux.namespaces[0].Path"),
        "only in letter case",
    );
    refused(
        |v| {
            v["linux"]["seccomp"]["syscalls"] = json!([{"names": ["x"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 1, "OP": "SCMP_CMP_EQ"}]}])
        },
        Some("linux.seccomp.syscalls[0].args[0].OP"),
        "only in letter case",
    );
    refused(
        |v| v["hooks"] = json!({"Prestart": [{"path": "/bin/true"}]}),
        Some("hooks.Prestart"),
        "only in letter case",
    );
    // The keys of free-form maps are the config's own.
    let mut v = good();
    v["annotations"] = json!({"Process": "x", "ROOT": "y"});
    plan(&v).unwrap();
}

#[test]
fn fields_not_applied_are_refused_unless_empty() {
    let cases: &[(&str, Value, &str)] = &[
        (
            "hooks",
            json!({"prestart": [{"path": "/bin/true"}]}),
            "hooks",
        ),
        ("domainname", json!("example"), ""),
        ("vm", json!({"hypervisor": {"path": "/x"}}), ""),
        (
            "process.apparmorProfile",
            json!("docker-default"),
            "AppArmor",
        ),
        (
            "process.selinuxLabel",
            json!("system_u:system_r:container_t:s0"),
            "SELinux",
        ),
        ("process.oomScoreAdj", json!(0), "OOM"),
        (
            "process.ioPriority",
            json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
            "",
        ),
        ("process.scheduler", json!({"policy": "SCHED_IDLE"}), ""),
        ("process.execCPUAffinity", json!({"initial": "0"}), ""),
        ("process.user.umask", json!(63), "umask"),
        (
            "linux.uidMappings",
            json!([{"containerID": 0, "hostID": 1000, "size": 1}]),
            "",
        ),
        (
            "linux.gidMappings",
            json!([{"containerID": 0, "hostID": 1000, "size": 1}]),
            "",
        ),
        ("linux.timeOffsets", json!({"monotonic": {"secs": 1}}), ""),
        ("linux.netDevices", json!({"eth1": {}}), ""),
        (
            "linux.sysctl",
            json!({"net.ipv4.ip_forward": "1"}),
            "sysctl",
        ),
        (
            "linux.mountLabel",
            json!("system_u:object_r:container_file_t:s0"),
            "",
        ),
        ("linux.intelRdt", json!({"closID": "x"}), ""),
        ("linux.personality", json!({"domain": "LINUX32"}), ""),
        (
            "linux.memoryPolicy",
            json!({"mode": "MPOL_BIND", "nodes": "0"}),
            "",
        ),
        ("linux.rootfsPropagation", json!("shared"), "rprivate"),
    ];
    let set = |v: &mut Value, path: &str, x: Value| {
        let mut at = v;
        for k in path.split('.') {
            at = &mut at[k];
        }
        *at = x;
    };
    for (path, value, words) in cases {
        refused(
            |v| set(v, path, value.clone()),
            Some(path),
            &format!("{path}: oci-seccomp run"),
        );
        refused(|v| set(v, path, value.clone()), Some(path), words);
    }
    refused(
        |v| v["mounts"][0]["uidMappings"] = json!([{"containerID": 0, "hostID": 1, "size": 1}]),
        Some("mounts[0].uidMappings"),
        "id-mapped",
    );
    // Empty ones, and the propagation this launcher makes, are fine.
    let mut v = good();
    for (path, value) in [
        ("hooks", json!({"prestart": [], "poststop": null})),
        ("domainname", json!("")),
        ("process.apparmorProfile", json!("")),
        ("linux.sysctl", json!({})),
        ("linux.uidMappings", json!([])),
        ("linux.rootfsPropagation", json!("rprivate")),
        ("windows", json!({"layerFolders": ["c:\\x"]})),
    ] {
        set(&mut v, path, value);
    }
    plan(&v).unwrap();
}

#[test]
fn config_json_must_be_a_small_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    let from = |d: &std::path::Path| LaunchPlan::from_bundle(d, &LaunchOptions::default());
    // A FIFO: opening it for reading would wait for a writer forever.
    nix::unistd::mkfifo(&cfg, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let e = from(dir.path()).unwrap_err();
    assert!(matches!(e, PlanError::ConfigNotFile { .. }), "{e}");
    assert!(e.to_string().contains("config.json: is a FIFO"), "{e}");
    std::fs::remove_file(&cfg).unwrap();
    std::fs::create_dir(&cfg).unwrap();
    let e = from(dir.path()).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    std::fs::remove_dir(&cfg).unwrap();
    std::fs::write(dir.path().join("real.json"), good().to_string()).unwrap();
    std::os::unix::fs::symlink("real.json", &cfg).unwrap();
    let e = from(dir.path()).unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
    std::fs::remove_file(&cfg).unwrap();
    let f = std::fs::File::create(&cfg).unwrap();
    f.set_len(crate::plan::MAX_CONFIG_BYTES as u64 + 1).unwrap();
    let e = from(dir.path()).unwrap_err();
    assert!(matches!(e, PlanError::ConfigTooLarge { .. }), "{e}");
}

#[test]
fn missing_bundle_and_root() {
    let e =
        LaunchPlan::from_bundle("/nonexistent/b".as_ref(), &LaunchOptions::default()).unwrap_err();
    assert!(matches!(e, PlanError::Bundle { .. }), "{e}");
    assert!(e.hint().is_some());
    refused(|v| v["root"] = Value::Null, Some("root"), "missing");
    refused(
        |v| v["root"]["path"] = json!("nope"),
        Some("root.path"),
        "nope",
    );
    refused(
        |v| v["root"]["path"] = json!("/"),
        Some("root.path"),
        "host's",
    );
}

#[test]
fn namespaces() {
    refused(
        |v| v["linux"]["namespaces"][2] = json!({"type": "user"}),
        Some("linux.namespaces[2].type"),
        "not supported",
    );
    refused(
        |v| v["linux"]["namespaces"][0] = json!({"type": "pid", "path": "/proc/1/ns/pid"}),
        Some("linux.namespaces[0].path"),
        "joining",
    );
    refused(
        |v| v["linux"]["namespaces"] = json!([{"type": "uts"}]),
        Some("linux.namespaces"),
        "no mount namespace",
    );
    refused(
        |v| v["linux"]["namespaces"] = json!([{"type": "mount"}]),
        Some("hostname"),
        "without a UTS namespace",
    );
}

#[test]
fn resources_and_devices() {
    refused(
        |v| v["linux"]["resources"] = json!({"memory": {"limit": 1000000}}),
        Some("linux.resources.memory"),
        "not enforced",
    );
    // Whatever the spelling: a key oci-spec does not know at all is refused too.
    refused(
        |v| v["linux"]["resources"] = json!({"memoryx": {"limit": 1}}),
        Some("linux.resources.memoryx"),
        "not enforced",
    );
    refused(
        |v| v["linux"]["resources"] = json!({"pids": {"limit": 0}}),
        Some("linux.resources.pids"),
        "not enforced",
    );
    let mut v = good();
    v["linux"]["resources"] = json!({"memory": {}, "cpu": {"cpus": ""}, "hugepageLimits": []});
    plan(&v).unwrap();
    refused(
        |v| {
            v["linux"]["resources"] = json!({"devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}]})
        },
        Some("linux.resources.devices[1]"),
        "allows type b 8:0",
    );
    let mut v = good();
    v["linux"]["resources"] =
        json!({"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3}]});
    plan(&v).unwrap();
    refused(
        |v| {
            v["linux"]["devices"] =
                json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}])
        },
        Some("linux.devices[0]"),
        "(/dev/fuse)",
    );
}

#[test]
fn mounts() {
    refused(
        |v| v["mounts"][0]["destination"] = json!("proc"),
        Some("mounts[0].destination"),
        "must be an absolute path",
    );
    refused(
        |v| v["mounts"][0]["destination"] = json!("/a/../b"),
        Some("mounts[0].destination"),
        "\"..\"",
    );
    refused(
        |v| v["mounts"][0]["destination"] = json!("/"),
        Some("mounts[0].destination"),
        "over the root",
    );
    refused(
        |v| v["mounts"][0]["type"] = json!("overlay"),
        Some("mounts[0].type"),
        "not supported",
    );
    refused(
        |v| v["mounts"][0]["type"] = Value::Null,
        Some("mounts[0].type"),
        "no type",
    );
    refused(
        |v| {
            v["mounts"][0] =
                json!({"destination": "/x", "type": "bind", "source": "/nonexistent/src"})
        },
        Some("mounts[0].source"),
        "/nonexistent/src",
    );
    refused(
        |v| v["mounts"][0]["destination"] = json!("/tmp/a\u{0}b"),
        Some("mounts[0].destination"),
        "mounts[0].destination: contains a NUL byte",
    );
    refused(
        |v| v["mounts"][0]["options"] = json!(["size=1\u{0}"]),
        Some("mounts[0].options"),
        "NUL byte",
    );
}

#[test]
fn paths() {
    refused(
        |v| v["linux"]["maskedPaths"] = json!(["relative/path"]),
        Some("linux.maskedPaths[0]"),
        "linux.maskedPaths[0] \"relative/path\": must be an absolute path",
    );
    refused(
        |v| v["linux"]["readonlyPaths"] = json!(["/ok", "proc/sys"]),
        Some("linux.readonlyPaths[1]"),
        "must be an absolute path",
    );
    refused(
        |v| v["process"]["cwd"] = json!("here"),
        Some("process.cwd"),
        "must be an absolute path",
    );
}

#[test]
fn identity() {
    refused(
        |v| v["process"]["user"]["uid"] = json!(4294967295u32),
        Some("process.user.uid"),
        "outside 0..=2147483647",
    );
    refused(
        |v| v["process"]["user"]["gid"] = json!(2147483648u32),
        Some("process.user.gid"),
        "outside",
    );
    refused(
        |v| v["process"]["user"]["additionalGids"] = json!([1, 2147483648u32]),
        Some("process.user.additionalGids[1]"),
        "2147483648",
    );
    let mut v = good();
    v["process"]["capabilities"] = json!({"bounding": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]});
    let p = plan(&v).unwrap();
    let caps = p.container.as_ref().unwrap().caps;
    assert_eq!(caps.bounding, (1 << 0) | (1 << 5));
    assert_eq!(caps.ambient, 1 << 5);
    // `runc spec`'s template: ambient without inheritable. The kernel cannot raise them;
    // left out, as runc and crun do.
    v["process"]["capabilities"] = json!({"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]});
    let p = plan(&v).unwrap();
    assert_eq!(p.container.as_ref().unwrap().caps.ambient, 0);
}

#[test]
fn rlimits() {
    refused(
        |v| v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 64}]),
        Some("process.rlimits[0]"),
        "soft 1024 is above hard 64",
    );
    refused(
        |v| {
            v["process"]["rlimits"] = json!([
                {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
                {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}])
        },
        Some("process.rlimits[1]"),
        "given twice",
    );
    refused(
        |v| v["process"]["rlimits"] = json!([{"type": "RLIMIT_SPEED", "soft": 1, "hard": 1}]),
        None,
        "RLIMIT_SPEED",
    );
}

#[test]
fn process_and_seccomp() {
    refused(|v| v["process"] = Value::Null, Some("process"), "missing");
    refused(
        |v| v["process"]["args"] = json!([]),
        Some("process.args"),
        "empty",
    );
    refused(
        |v| v["process"]["args"] = json!(["a\u{0}b"]),
        Some("process.args"),
        "NUL byte",
    );
    refused(
        |v| {
            v["linux"]["seccomp"]["syscalls"] =
                json!([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}])
        },
        Some("linux.seccomp"),
        "no listenerPath",
    );
    refused(
        |v| v["linux"]["seccomp"]["defaultAction"] = json!("SCMP_ACT_NOPE"),
        Some("linux.seccomp"),
        "SCMP_ACT_NOPE",
    );
    // A listener given by the caller satisfies a NOTIFY rule.
    let mut v = good();
    v["linux"]["seccomp"]["syscalls"] = json!([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]);
    let opts = LaunchOptions {
        listener_path: Some("/run/agent.sock".into()),
        ..LaunchOptions::default()
    };
    plan_with(&v, &opts).unwrap();
}

#[test]
fn messages_name_the_file_and_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = good();
    v["linux"]["seccomp"]["defaultAction"] = json!("SCMP_ACT_NOPE");
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, v.to_string()).unwrap();
    let e = LaunchPlan::from_bundle(dir.path(), &LaunchOptions::default()).unwrap_err();
    let shown = format!(
        "{}: linux.seccomp: unknown variant",
        cfg.canonicalize().unwrap().display()
    );
    assert!(e.to_string().starts_with(&shown), "{e}");
    // A JSON error gives its position once.
    std::fs::write(&cfg, "{\n  \"process\": }").unwrap();
    let e = LaunchPlan::from_bundle(dir.path(), &LaunchOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("config.json: line 2, column 14: expected value"),
        "{e}"
    );
    assert!(!e.to_string().contains("at line"), "{e}");

    // The child reports only the mount's index; the parent names the symlink.
    v = good();
    v["mounts"][0]["destination"] = json!("/tmp/x");
    std::os::unix::fs::symlink("/etc", dir.path().join("rootfs/tmp")).unwrap();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let p = LaunchPlan::from_bundle(dir.path(), &LaunchOptions::default()).unwrap();
    let f = crate::child_message::StepFailure::new(
        crate::MountError {
            op: crate::child_message::MountOp::Symlink,
            detail: 1,
        },
        libc::ELOOP,
    );
    let m = crate::launch::describe(&p, &f);
    assert_eq!(
        m,
        "mount destination /tmp/x: /tmp is a symlink in the rootfs; not supported"
    );
}

#[test]
fn commands() {
    let e = LaunchPlan::from_command(None, &LaunchOptions::default()).unwrap_err();
    assert!(matches!(e, PlanError::NoCommand));
    let p =
        LaunchPlan::from_command(None, &LaunchOptions::command(vec!["/bin/true".into()])).unwrap();
    assert!(!p.is_container());
    assert_eq!(p.exec_paths.len(), 1);
}

#[test]
fn identity_read_back_needs_the_reading_calls() {
    let v = good();
    let p = plan(&v).unwrap();
    let compile = |s: Value| {
        let spec = oci_seccomp::parse_profile(&s.to_string()).unwrap();
        oci_seccomp::compile(&spec, &Default::default()).unwrap()
    };
    let allow = compile(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert!(!p.check_program(&allow).unwrap());
    let fakes = compile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["setresuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}));
    assert!(p.check_program(&fakes).unwrap());
    let blind = compile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["setresuid", "getresuid"], "action": "SCMP_ACT_ERRNO"}]}));
    let e = p.check_program(&blind).unwrap_err();
    assert_eq!(e.field().as_deref(), Some("process.noNewPrivileges"));
    assert!(e.to_string().contains("getresuid"), "{e}");
}
