//! `run --bundle`: the container set up as config.json says, and every bundle it cannot run
//! safely refused before the workload. These need root and busybox.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{busybox, cli, need_root, require_busybox, stderr, stdout, Agent, TempDir, BIN};
use serde_json::{json, Value};

fn make_bundle(dir: &Path, args: &[&str], namespaces: &[&str], seccomp: Value) {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "tmp", "proc", "dev"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(busybox().unwrap(), rootfs.join("bin/busybox")).unwrap();
    let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh"));
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_KILL"
    ]);
    let ns: Vec<Value> = namespaces.iter().map(|n| json!({"type": n})).collect();
    let config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/",
            "noNewPrivileges": true,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "bundled",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
        ],
        "linux": {"namespaces": ns, "seccomp": seccomp}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

const ALL_NS: &[&str] = &["pid", "ipc", "uts", "mount", "network"];

#[test]
fn run_bundle_sets_up_the_container() {
    need_root();
    require_busybox();
    let t = TempDir::new("bundle");
    let bundle = t.0.join("b");
    make_bundle(
        &bundle,
        &[
            "/bin/sh", "-c",
            "busybox hostname; echo pid=$$; busybox grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; \
             busybox touch /x 2>/dev/null; echo root=$?; busybox touch /tmp/y; echo tmp=$?; \
             busybox mkdir /tmp/d; echo mkdir=$?",
        ],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
    );
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let b = bundle.display().to_string();
    let o = cli(&["run", "--bundle", &b, "--no-cache"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("bundled"), "{s}");
    assert!(s.contains("pid=1"), "{s}");
    assert!(
        s.contains("NoNewPrivs:\t1") && s.contains("Seccomp:\t2"),
        "{s}"
    );
    // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7.
    assert!(s.contains("CapEff:\t00000000000000eb"), "{s}");
    assert!(
        s.contains("root=1") && s.contains("tmp=0") && s.contains("mkdir=1"),
        "{s}"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name,
        "the host's name changed"
    );
    assert!(!bundle.join("rootfs/x").exists());

    // A command after -- replaces process.args; its status passes through.
    let o = cli(&[
        "run",
        "--bundle",
        &b,
        "--no-cache",
        "--",
        "/bin/sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn run_bundle_refuses_what_it_cannot_do() {
    need_root();
    require_busybox();
    let t = TempDir::new("bundle-bad");
    let seccomp = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let cases: &[(&[&str], &str)] = &[
        (&["pid", "mount", "uts", "user"], "user"),
        (&["pid", "uts", "cgroup", "mount"], "cgroup"),
        (&["pid", "uts"], "mount namespace"),
        (&["pid", "mount"], "UTS"),
    ];
    for (i, (ns, want)) in cases.iter().enumerate() {
        let bundle = t.0.join(format!("b{i}"));
        make_bundle(&bundle, &["/bin/sh", "-c", "echo ran"], ns, seccomp.clone());
        let o = cli(&["run", "--bundle", &bundle.display().to_string()]);
        assert_eq!(o.status.code(), Some(1), "{ns:?}: {}", stdout(&o));
        assert!(stderr(&o).contains(want), "{ns:?}: {}", stderr(&o));
        assert!(!stdout(&o).contains("ran"));
    }
    // A Docker profile in config.json is refused, not silently loosened.
    let bundle = t.0.join("docker");
    make_bundle(
        &bundle,
        &["/bin/true"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}}]}),
    );
    let o = cli(&["run", "--bundle", &bundle.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("includes"), "{}", stderr(&o));
    // Missing bundle.
    let o = cli(&["run", "--bundle", &t.path("nope")]);
    assert_eq!(o.status.code(), Some(1));
}

/// NOTIFY in a container with its own pid namespace: the init is pid 1 there, so the
/// runtime takes the notify fd by the pid fork gave it, and the agent emulates mkdir
/// inside the container's root and mounts.
#[test]
fn run_bundle_notify_with_pid_namespace() {
    need_root();
    require_busybox();
    let t = TempDir::new("bundle-notify");
    let sock = t.path("agent.sock");
    let policy = t.write(
        "policy.json",
        r#"{"syscalls": {"mkdir": "emulate-mkdir", "mkdirat": "emulate-mkdir"}}"#,
    );
    let bundle = t.0.join("b");
    make_bundle(
        &bundle,
        &[
            "/bin/sh",
            "-c",
            "echo pid=$$; busybox mkdir /tmp/made; echo mkdir=$?; busybox ls /tmp",
        ],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let agent = Agent::start(&sock, Some(&policy), &["--max-containers", "1"]);
    let o = cli(&[
        "run",
        "--bundle",
        &bundle.display().to_string(),
        "--no-cache",
    ]);
    let log = agent.finish();
    assert!(o.status.success(), "{}\n{}", stderr(&o), stderr(&log));
    let s = stdout(&o);
    assert!(
        s.contains("pid=1") && s.contains("mkdir=0") && s.contains("made-meta"),
        "{s}"
    );
    assert!(
        !bundle.join("rootfs/tmp/made-meta").exists(),
        "created outside the container's /tmp"
    );
    assert!(stdout(&log).contains("syscall=mkdir"), "{}", stdout(&log));
}

/// The container init gets a new session (as runc and crun), so its
/// `kill(0, sig)` cannot reach the shell that started the runtime.
#[test]
fn run_gives_the_container_a_new_session() {
    need_root();
    require_busybox();
    let t = TempDir::new("session");
    let bundle = t.0.join("b");
    let script = "read -r l < /proc/self/stat; set -- $l; echo pid=$1 sid=$6";
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", script],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("pid=1 sid=1"), "{}", stdout(&o));
    // Without a bundle: the command leads its own session.
    let o = cli(&[
        "run",
        "--no-seccomp",
        "--",
        "/bin/sh",
        "-c",
        "read -r l < /proc/self/stat; set -- $l; [ \"$1\" = \"$6\" ] && echo own-session",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("own-session"), "{}", stdout(&o));
    // The workload signalling its process group kills only itself: the runtime (started
    // in a process group of its own, so that the old behaviour cannot hit this test)
    // survives and reports it.
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let o = Command::new(BIN)
        .args([
            "run",
            "--no-seccomp",
            "--",
            "/bin/sh",
            "-c",
            "kill -USR1 0; echo survived",
        ])
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(
        o.status.signal(),
        None,
        "the runtime was killed by its workload"
    );
    assert_eq!(o.status.code(), Some(138), "{}", stderr(&o));
    assert!(stderr(&o).contains("killed by SIGUSR1"), "{}", stderr(&o));
}

/// A profile that fakes (`ERRNO(0)`) or refuses the calls that change
/// identity never leaves the workload more privileged than process.user and
/// process.capabilities say: the filter is installed before the identity changes here (no
/// noNewPrivileges), and the launcher reads everything back before exec.
#[test]
fn run_bundle_identity_check_never_needs_calls_the_profile_denies() {
    need_root();
    require_busybox();
    let t = TempDir::new("creds-readers");
    let bundle = t.0.join("b");
    // With no-new-privileges the identity is read back before the filter is installed:
    // a profile that refuses the reading calls still runs.
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", "echo ran"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getresuid", "getresgid", "getgroups", "capget"],
                             "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
    );
    let b = bundle.display().to_string();
    let o = cli(&["run", "--no-cache", "--bundle", &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ran"));
    // Without it the filter comes first; when it can fake setresuid and refuses
    // getresuid, the identity cannot be checked: refused before anything runs.
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", "echo ran"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["setresuid", "getresuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}),
    );
    let cfg = bundle.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    v["process"]["noNewPrivileges"] = json!(false);
    v["process"]["user"] = json!({"uid": 4242, "gid": 4242});
    std::fs::write(&cfg, v.to_string()).unwrap();
    let o = cli(&["run", "--no-cache", "--bundle", &b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stdout(&o).contains("ran"));
    let e = stderr(&o);
    assert!(
        e.contains("noNewPrivileges") && e.contains("getresuid"),
        "{e}"
    );
}

#[test]
fn run_bundle_verifies_credentials_before_exec() {
    need_root();
    require_busybox();
    let t = TempDir::new("creds");
    let bundle = t.0.join("b");
    let script = "busybox grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status; echo nofile=$(ulimit -n); echo ran";
    let cases: &[(&[&str], u32)] = &[
        (&["setresuid"], 0),
        (&["setresuid"], 22),
        (&["setresuid", "getresuid"], 0),
        (&["setresgid"], 0),
        (&["setgroups"], 0),
        (&["capset"], 0),
        (&["capset", "capget"], 0),
        (&["prctl"], 0),
        (&["prctl"], 22),
        (&["setrlimit", "prlimit64"], 0),
    ];
    // Each case with and without ambient capabilities (without them, a faked capset is
    // only caught by reading the sets back).
    let cases = cases.iter().flat_map(|c| [(c, true), (c, false)]);
    for ((names, errno), ambient) in cases {
        make_bundle(
            &bundle,
            &["/bin/sh", "-c", script],
            ALL_NS,
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]}),
        );
        let cfg = bundle.join("config.json");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
        v["process"]["noNewPrivileges"] = json!(false);
        v["process"]["user"] = json!({"uid": 4242, "gid": 4242, "additionalGids": [4243]});
        let amb = if ambient {
            json!(["CAP_KILL"])
        } else {
            json!([])
        };
        v["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_KILL"],
            "ambient": amb
        });
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 64, "hard": 64}]);
        std::fs::write(&cfg, v.to_string()).unwrap();
        let o = cli(&[
            "run",
            "--no-cache",
            "--bundle",
            &bundle.display().to_string(),
        ]);
        let (out, err) = (stdout(&o), stderr(&o));
        eprintln!(
            "{names:?} errno {errno} ambient {ambient}: exit {:?} {}",
            o.status.code(),
            err.trim()
        );
        if o.status.success() {
            // Ran: then exactly as planned (after exec only the ambient CAP_KILL remains).
            let after_exec = if ambient { "20" } else { "00" };
            for want in [
                "Uid:\t4242\t4242\t4242\t4242".to_string(),
                "Gid:\t4242\t4242\t4242\t4242".to_string(),
                "Groups:\t4243".to_string(),
                "CapInh:\t0000000000000020".to_string(),
                format!("CapPrm:\t00000000000000{after_exec}"),
                format!("CapEff:\t00000000000000{after_exec}"),
                "CapBnd:\t0000000000000021".to_string(),
                format!("CapAmb:\t00000000000000{after_exec}"),
                "nofile=64".to_string(),
            ] {
                assert!(
                    out.contains(want.as_str()),
                    "{names:?} errno {errno} ambient {ambient}: lacks {want:?}:\n{out}"
                );
            }
        } else {
            assert_eq!(o.status.code(), Some(1), "{names:?}: {err}");
            assert!(
                !out.contains("ran"),
                "{names:?} errno {errno}: the workload ran:\n{out}"
            );
            // Refused with the step that failed (or the mismatch found before exec).
            assert!(
                err.starts_with("oci-seccomp: error: "),
                "{names:?} errno {errno}: {err}"
            );
        }
    }
}

fn edit_config(bundle: &Path, f: impl FnOnce(&mut Value)) {
    let cfg = bundle.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&cfg, v.to_string()).unwrap();
}

/// A block device of this host, "MAJOR:MINOR" (any one: the container must not be able to
/// open it at all).
fn host_block_device() -> String {
    let mut all: Vec<String> = std::fs::read_dir("/sys/dev/block")
        .expect("/sys/dev/block")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    // Prefer a real disk over loop devices (major 7).
    all.iter()
        .find(|d| !d.starts_with("7:"))
        .or(all.first())
        .cloned()
        .expect("this host has no block device to test with")
}

/// A container with CAP_MKNOD (a default capability) makes a node for a
/// host block device and cannot open it (everything but the default devices is nodev);
/// the default devices work; linux.devices is refused, not ignored.
#[test]
fn run_bundle_device_nodes_are_unusable() {
    need_root();
    require_busybox();
    let t = TempDir::new("devices");
    let bundle = t.0.join("b");
    let dev = host_block_device();
    let (maj, min) = dev.split_once(':').unwrap();
    let script = format!(
        "busybox mknod /blk b {maj} {min}; echo mknod=$?; \
         busybox dd if=/blk of=/dev/null bs=512 count=1 2>/dev/null; echo rootfs=$?; \
         busybox mknod /dev/blk b {maj} {min}; busybox dd if=/dev/blk of=/dev/null bs=512 count=1 2>/dev/null; echo dev=$?; \
         busybox mknod /tmp/blk b {maj} {min}; busybox dd if=/tmp/blk of=/dev/null bs=512 count=1 2>/dev/null; echo tmp=$?; \
         echo x > /dev/null; echo null=$?; echo zero=$(busybox head -c 4 /dev/zero | busybox wc -c); \
         echo urandom=$(busybox head -c 4 /dev/urandom | busybox wc -c)"
    );
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", &script],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    edit_config(&bundle, |v| {
        v["root"]["readonly"] = json!(false);
        let caps = json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE", "CAP_CHOWN"]);
        v["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
        // No nodev asked for on /tmp: the launcher adds it.
        v["mounts"][1]["options"] = json!(["nosuid"]);
    });
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}\n{out}", stderr(&o));
    assert!(
        out.contains("mknod=0"),
        "the test needs mknod to work: {out}"
    );
    for place in ["rootfs", "dev", "tmp"] {
        assert!(
            !out.contains(&format!("{place}=0")),
            "a host block device was readable through a node in {place}: {out}"
        );
    }
    for want in ["null=0", "zero=4", "urandom=4"] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(
        !bundle.join("rootfs/dev/null").exists(),
        "created in the rootfs's /dev"
    );

    edit_config(&bundle, |v| {
        v["linux"]["devices"] = json!([{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}]);
    });
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("linux.devices[0] (/dev/sda)"),
        "{}",
        stderr(&o)
    );
}

/// MaskedPaths and readonlyPaths are applied as runc does, not ignored:
/// the container's root cannot write the host's kernel.core_pattern through /proc/sys.
#[test]
fn run_bundle_masks_and_protects_paths() {
    need_root();
    require_busybox();
    let t = TempDir::new("masked");
    let bundle = t.0.join("b");
    let script = "cat /proc/sys/kernel/core_pattern > /tmp/cp; \
        (cat /tmp/cp > /proc/sys/kernel/core_pattern) 2>/dev/null; echo core_pattern=$?; \
        echo secretdir=$(busybox ls /secret | busybox wc -l); \
        echo secretfile=$(busybox wc -c < /etc/secret); \
        (echo x > /etc/secret) 2>/dev/null; echo write_secret=$?; \
        (echo x > /data/f) 2>/dev/null; echo write_ro=$?";
    make_bundle(
        &bundle,
        &["/bin/sh", "-c", script],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(rootfs.join("secret")).unwrap();
    std::fs::write(rootfs.join("secret/key"), "k").unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/secret"), "top secret").unwrap();
    std::fs::create_dir_all(rootfs.join("data")).unwrap();
    edit_config(&bundle, |v| {
        v["root"]["readonly"] = json!(false);
        v["linux"]["maskedPaths"] = json!(["/secret", "/etc/secret", "/does/not/exist"]);
        v["linux"]["readonlyPaths"] = json!(["/proc/sys", "/data", "/nope"]);
    });
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    let out = stdout(&o);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before
    );
    assert!(o.status.success(), "{}\n{out}", stderr(&o));
    for want in [
        "secretdir=0",
        "secretfile=0",
        "write_secret=0",
        "write_ro=1",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(
        !out.contains("core_pattern=0"),
        "the container wrote the host's kernel.core_pattern: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/secret")).unwrap(),
        "top secret"
    );
    assert!(!rootfs.join("data/f").exists());

    edit_config(&bundle, |v| {
        v["linux"]["maskedPaths"] = json!(["relative/path"])
    });
    let o = cli(&[
        "run",
        "--no-cache",
        "--bundle",
        &bundle.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("linux.maskedPaths[0] \"relative/path\": must be an absolute path"),
        "{}",
        stderr(&o)
    );
}

/// Runs `oci-seccomp ARGS`, killing it after `limit`.
fn cli_with_timeout(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("oci-seccomp {args:?} hung: {}", stderr(&o));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The CVE-2021-30465 class: uid 4242 owns the rootfs and keeps swapping
/// a mount destination's directory for a symlink to a host directory while root runs
/// `run --bundle` with a file bind mount there. The root-owned host file is never
/// changed (created, truncated or mounted over), and every run ends.
#[test]
fn run_bundle_mount_destination_race_never_reaches_the_host() {
    need_root();
    require_busybox();
    let t = TempDir::new("mountrace");
    let (bundle, host, victim) = mount_race_bundle(&t);
    let stop = t.0.join("stop");
    let attacker = fork_mount_swapper(&bundle.join("rootfs"), &stop);
    /// Kills the attacker if an assertion below fails.
    struct Reap(nix::unistd::Pid);
    impl Drop for Reap {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = nix::sys::signal::kill(self.0, nix::sys::signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(self.0, None);
            }
        }
    }
    let _reap = Reap(attacker);
    let b = bundle.display().to_string();
    let mut results = Vec::new();
    for _ in 0..20 {
        let o = cli_with_timeout(
            &["run", "--no-cache", "--bundle", &b],
            Duration::from_secs(20),
        );
        results.push((o.status.code(), stderr(&o)));
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious",
            "the host file was changed: {results:?}"
        );
        assert_eq!(
            std::fs::read_dir(&host).unwrap().count(),
            1,
            "something was created in the host directory: {results:?}"
        );
    }
    std::fs::write(&stop, "").unwrap();
    let st = nix::sys::wait::waitpid(attacker, None).unwrap();
    assert_eq!(
        st,
        nix::sys::wait::WaitStatus::Exited(attacker, 0),
        "the attacker could not run as uid 4242"
    );
    eprintln!("{results:?}");
    for (code, err) in &results {
        assert!(matches!(code, Some(0) | Some(1)), "{code:?}: {err}");
        if *code == Some(1) {
            // A refusal names the destination it was setting up.
            assert!(
                err.contains("/etc/target") || err.contains("/var/target"),
                "{err}"
            );
        }
    }
}

/// A bundle for the mount race, below `t`: a file bind mount at /etc/target and a tmpfs at
/// /var/target, a rootfs owned by uid 4242 with `etc.link` and `var.link` symlinks to a
/// host directory; returns the bundle, that host directory and the host file in it
/// (`precious`).
fn mount_race_bundle(t: &TempDir) -> (PathBuf, PathBuf, PathBuf) {
    let bundle = t.0.join("b");
    make_bundle(
        &bundle,
        &["/bin/busybox", "true"],
        ALL_NS,
        json!({"defaultAction": "SCMP_ACT_ALLOW"}),
    );
    let host = t.0.join("host");
    std::fs::create_dir_all(&host).unwrap();
    let victim = host.join("target");
    std::fs::write(&victim, "precious").unwrap();
    let source = t.0.join("source");
    std::fs::write(&source, "from the bundle").unwrap();
    edit_config(&bundle, |v| {
        v["root"]["readonly"] = json!(false);
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/etc/target", "type": "bind", "source": source, "options": ["bind", "ro"]}));
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/var/target", "type": "tmpfs", "source": "tmpfs"}));
    });
    let rootfs = bundle.join("rootfs");
    for d in ["etc", "var"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
        std::os::unix::fs::symlink(&host, rootfs.join(format!("{d}.link"))).unwrap();
    }
    // The attacker owns the rootfs (and nothing else).
    let chown = |p: &Path| std::os::unix::fs::lchown(p, Some(4242), Some(4242)).unwrap();
    chown(&rootfs);
    for d in ["etc", "var", "etc.link", "var.link"] {
        chown(&rootfs.join(d));
    }
    (bundle, host, victim)
}

/// Forks the attacker of the mount race: as uid 4242, it keeps swapping `rootfs`'s `etc`
/// and `var` with their symlinks to the host directory (and removing the mount destinations) until
/// `stop` exists, then exits 0 (3 when it cannot become uid 4242).
fn fork_mount_swapper(rootfs: &Path, stop: &Path) -> nix::unistd::Pid {
    let c = |p: PathBuf| std::ffi::CString::new(p.into_os_string().into_encoded_bytes()).unwrap();
    let (etc, etc_link, var, var_link) = (
        c(rootfs.join("etc")),
        c(rootfs.join("etc.link")),
        c(rootfs.join("var")),
        c(rootfs.join("var.link")),
    );
    let (etc_file, var_dir) = (c(rootfs.join("etc/target")), c(rootfs.join("var/target")));
    let stop_c = c(stop.to_path_buf());
    // SAFETY: the test process may be multi-threaded; the child only makes raw,
    // async-signal-safe syscalls (no allocation: every path is prepared before the fork)
    // and leaves with _exit.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            // SAFETY: raw syscalls with valid C strings; _exit never returns.
            unsafe {
                // Dies with the test thread that forked it, even if it panics.
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::setresgid(4242, 4242, 4242) != 0
                    || libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresuid(4242, 4242, 4242) != 0
                {
                    libc::_exit(3);
                }
                loop {
                    if libc::access(stop_c.as_ptr(), libc::F_OK) == 0 {
                        libc::_exit(0);
                    }
                    for _ in 0..200 {
                        libc::unlink(etc_file.as_ptr());
                        libc::rmdir(var_dir.as_ptr());
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            etc.as_ptr(),
                            libc::AT_FDCWD,
                            etc_link.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        );
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            var.as_ptr(),
                            libc::AT_FDCWD,
                            var_link.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        );
                    }
                }
            }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    }
}

/// Every config in `fixtures/bad/bundle/` fails `run --bundle`
/// with exit 1 and its expected text, before the workload runs.
#[test]
fn every_bad_bundle_is_refused_before_the_workload() {
    need_root();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bad/bundle");
    let t = TempDir::new("bad-bundles");
    let mut n = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let bundle = t.0.join(&name);
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        std::fs::copy(&f, bundle.join("config.json")).unwrap();
        let o = cli(&[
            "run",
            "--no-cache",
            "--bundle",
            &bundle.display().to_string(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(!stdout(&o).contains("ran"), "{name}: the workload ran");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{name}: not one line: {err}");
        let expect = std::fs::read_to_string(f.with_extension("expect")).unwrap();
        for line in expect.lines().filter(|l| !l.is_empty()) {
            assert!(err.contains(line), "{name}: {err:?} lacks {line:?}");
        }
        n += 1;
    }
    assert!(n >= 8, "only {n} bad bundles");
}
