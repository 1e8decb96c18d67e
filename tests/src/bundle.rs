//! OCI bundles for the differential tests: a busybox rootfs with the probe program, and a
//! `config.json` that runc, crun and `oci-seccomp run --bundle` all accept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// Docker's default capability set (what a container gets without `--cap-add`).
pub use oci_seccomp::moby::DOCKER_DEFAULT_CAPS as DOCKER_CAPS;

/// Why the differential tests cannot run here, or `None` when they can.
pub fn missing_tools() -> Option<String> {
    let missing: Vec<&str> = ["runc", "crun", "busybox", "cc"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "missing {}: install them with ./scripts/setup (as root), or: \
             apt-get install -y runc crun busybox-static gcc libc6-dev",
            missing.join(", ")
        )
    })
}

/// Finds a program on PATH (and in /usr/sbin, where Debian puts runc).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

/// Builds the probe (statically linked) into `dir` and returns its path.
pub fn build_probe(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/probe/probe.c");
    let out = dir.join("probe");
    let st = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(st.success(), "building the probe failed");
    out
}

/// Creates a bundle at `dir` running `/probe` under `seccomp` (an OCI `linux.seccomp`).
pub fn make_bundle(dir: &Path, probe: &Path, seccomp: &Value) {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "tmp", "proc", "dev"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    let busybox = which("busybox").expect("busybox");
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh"));
    std::fs::copy(probe, rootfs.join("probe")).unwrap();
    let caps = json!(DOCKER_CAPS);
    let config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/probe"],
            "env": ["PATH=/bin", "PROBE_IN_CONTAINER=1"],
            "cwd": "/",
            "noNewPrivileges": true,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "probe",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
            "seccomp": seccomp
        }
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
}

/// Runs a bundle with `runtime` (`runc` or `crun`) and returns its stdout and stderr.
pub fn run_peer(runtime: &str, bundle: &Path, state: &Path, id: &str) -> (String, String) {
    let out = start_bundle(runtime, bundle, state, id);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `oci-seccomp` binary built beside the running test (`cargo build -p
/// oci-seccomp-cli` first; a missing binary is a failure naming that command).
pub fn cli() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let p = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("oci-seccomp");
    assert!(
        p.is_file(),
        "build the CLI first: cargo build -p oci-seccomp-cli"
    );
    p
}

/// Starts `bundle` with `runtime` (`runc`, `crun`, or `oci-seccomp` for [`cli`]'s
/// `run --no-cache --bundle`) and waits; a runc or crun container `id` (state under
/// `state`) is deleted afterwards.
pub fn start_bundle(runtime: &str, bundle: &Path, state: &Path, id: &str) -> Output {
    if runtime == "oci-seccomp" {
        return Command::new(cli())
            .args(["run", "--no-cache", "--bundle"])
            .arg(bundle)
            .output()
            .expect("run oci-seccomp");
    }
    let bin = which(runtime).expect(runtime);
    let out = Command::new(&bin)
        .arg("--root")
        .arg(state)
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(id)
        .output()
        .expect("run runtime");
    let _ = Command::new(&bin)
        .arg("--root")
        .arg(state)
        .args(["delete", "-f", id])
        .output();
    out
}

/// Parses probe output into `(name, outcome)` pairs.
pub fn parse_probe(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(' ')?;
            Some((name.to_string(), rest.to_string()))
        })
        .collect()
}
