//! Security Profiles Operator `SeccompProfile` resources are read (YAML or JSON, one of
//! several chosen with the global `--select`) and written (`--format spo`) by the commands
//! that take and give profiles; what the format cannot say is an error.

mod common;

use common::{cli, stderr, stdout};

const TWO: &str = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: web
  namespace: shop
spec:
  defaultAction: SCMP_ACT_ERRNO
  syscalls:
  - action: SCMP_ACT_ALLOW
    names: [read, write, exit_group]
  - action: SCMP_ACT_ERRNO
    errnoRet: 38
    names: [io_uring_setup]
---
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: audit
spec:
  defaultAction: SCMP_ACT_LOG
";

const WEB_OCI: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
  {"names":["exit_group","write","read"],"action":"SCMP_ACT_ALLOW"},
  {"names":["io_uring_setup"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#;

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn a_resource_among_several_is_chosen_with_select_and_reads_as_its_spec() {
    let dir = tempfile::tempdir().unwrap();
    let two = file(&dir, "two.yaml", TWO);
    let oci = file(&dir, "web.json", WEB_OCI);
    let o = cli(&["check", &two]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--select") && stderr(&o).contains("web, audit"),
        "{}",
        stderr(&o)
    );
    let o = cli(&["check", "--select", "web", &two]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = cli(&["diff", "--select", "web", &two, &oci]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = cli(&["diff", "--select", "nope", &two, &oci]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"nope\""), "{}", stderr(&o));
}

#[test]
fn merge_and_fmt_write_a_resource_that_reads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let oci = file(&dir, "web.json", WEB_OCI);
    let out = dir.path().join("out.yaml");
    let o = cli(&[
        "fmt",
        &oci,
        "--format",
        "spo",
        "--name",
        "web",
        "--namespace",
        "shop",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("kind: SeccompProfile") && text.contains("errnoRet: 38"),
        "{text}"
    );
    let o = cli(&["diff", out.to_str().unwrap(), &oci]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = cli(&["fmt", &oci, "--format", "spo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--name"), "{}", stderr(&o));
    // What the format cannot say: the default's errno.
    let enosys = file(
        &dir,
        "enosys.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38}"#,
    );
    let o = cli(&["fmt", &enosys, "--format", "spo", "--name", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("defaultErrnoRet"), "{}", stderr(&o));
}

#[test]
fn a_base_profile_or_a_hostile_file_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let based = file(
        &dir,
        "based.yaml",
        &TWO.replace(
            "  defaultAction: SCMP_ACT_LOG\n",
            "  defaultAction: SCMP_ACT_LOG\n  baseProfileName: runc-v1.2.3\n",
        ),
    );
    // The published runc base is known: composed by proven union.
    let o = cli(&["check", "--select", "audit", &based]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A base no file holds is named with the ones known.
    let missing = file(
        &dir,
        "missing.yaml",
        &std::fs::read_to_string(&based)
            .unwrap()
            .replace("runc-v1.2.3", "nowhere"),
    );
    let o = cli(&["check", "--select", "audit", &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"nowhere\"") && stderr(&o).contains("runc-v1.2.3"),
        "{}",
        stderr(&o)
    );
    let mut bomb = String::from("apiVersion: &a0 [x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "k{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str("kind: SeccompProfile\n");
    let bomb = file(&dir, "bomb.yaml", &bomb);
    let o = cli(&["check", &bomb]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Docker's default as a Localhost profile: Docker (and CRI-O, Podman) render it with the
/// container's capabilities, as we do; containerd reads it as OCI and drops `includes`
/// and `excludes`, so every capability-gated syscall becomes allowed: an error, with the
/// regions.
#[test]
fn what_containerd_makes_of_dockers_default_is_reported_as_looser() {
    let docker = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";
    assert!(
        std::path::Path::new(docker).exists(),
        "{docker} is missing: ./scripts/setup installs golang-github-docker-docker-dev"
    );
    let o = cli(&["check", "--for", "docker", "--for", "cri-o", docker]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the same as our reading"),
        "{}",
        stdout(&o)
    );
    let o = cli(&["check", "--for", "containerd", docker]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("dropping archMap") && out.contains("includes ("),
        "{out}"
    );
    // On the native ABI, each capability-gated call goes from the default's EPERM to ALLOW.
    for gated in ["mount(", "bpf(", "reboot("] {
        let line = out
            .lines()
            .find(|l| {
                l.trim_start().starts_with("SCMP_ARCH_X86_64 ")
                    && l.contains(&format!("e.g. {gated}"))
            })
            .unwrap_or_else(|| panic!("{gated}: {out}"));
        assert!(
            line.contains("-> SCMP_ACT_ALLOW") && line.contains("looser"),
            "{line}"
        );
    }
    assert!(out.contains("error: containerd would be looser"), "{out}");
}

/// `install-profile` writes atomically below the kubelet directory, replacing a symbolic
/// link planted at the name instead of following it, refuses a directory another user owns
/// or a link on the way, and prints the securityContext that uses the file.
#[test]
fn install_profile_writes_where_the_kubelet_reads_and_follows_no_link() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let kubelet = dir.path().join("seccomp");
    std::fs::create_dir_all(kubelet.join("shop")).unwrap();
    let two = file(&dir, "two.yaml", TWO);
    // A link another user planted at the name, pointing at a file of ours.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    symlink(&victim, kubelet.join("shop/web.json")).unwrap();
    let k = kubelet.to_str().unwrap();
    let o = cli(&[
        "install-profile",
        "--select",
        "web",
        &two,
        "--kubelet-dir",
        k,
        "--as",
        "shop/web.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("localhostProfile: shop/web.json"),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    let installed = kubelet.join("shop/web.json");
    assert!(!installed
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    let o = cli(&["diff", installed.to_str().unwrap(), "--select", "web", &two]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // A directory of another user, and a link on the way.
    let other = kubelet.join("other");
    std::fs::create_dir(&other).unwrap();
    std::os::unix::fs::chown(&other, Some(4242), None).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = cli(&[
        "install-profile",
        "--select",
        "web",
        &two,
        "--kubelet-dir",
        k,
        "--as",
        "other/web.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("uid 4242"), "{}", stderr(&o));
    symlink(dir.path(), kubelet.join("hop")).unwrap();
    let o = cli(&[
        "install-profile",
        "--select",
        "web",
        &two,
        "--kubelet-dir",
        k,
        "--as",
        "hop/web.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.path().join("web.json").exists());
    let o = cli(&[
        "install-profile",
        "--select",
        "web",
        &two,
        "--kubelet-dir",
        k,
        "--as",
        "../web.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Every directory on the way matters: another user's directory higher up could swap the
/// one written in, and so could anyone through a root-owned directory writable by all
/// without the sticky bit; missing directories are made; a path that names no file is
/// refused.
#[test]
fn install_profile_refuses_unsafe_ancestors_and_makes_missing_directories() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let two = file(&dir, "two.yaml", TWO);
    let install = |kubelet: &std::path::Path, rel: &str| {
        cli(&[
            "install-profile",
            "--select",
            "web",
            &two,
            "--kubelet-dir",
            kubelet.to_str().unwrap(),
            "--as",
            rel,
        ])
    };
    let fresh = dir.path().join("var/lib/kubelet/seccomp");
    for bad in ["", "x/"] {
        let o = install(&fresh, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    let o = install(&fresh, "operator/web.json");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fresh.join("operator/web.json").is_file());
    let theirs = dir.path().join("theirs");
    std::fs::create_dir_all(theirs.join("seccomp")).unwrap();
    std::os::unix::fs::chown(&theirs, Some(4242), None).unwrap();
    let o = install(&theirs.join("seccomp"), "web.json");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("uid 4242"), "{}", stderr(&o));
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = install(&open, "web.json");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("writable by others"), "{}", stderr(&o));
}

/// What a consumer or format cannot take is an error, never a silent change: NOTIFY
/// without a listener under runc, more comparisons in one entry than the operator's CRD
/// accepts.
#[test]
fn what_a_consumer_or_format_cannot_take_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let notify = file(
        &dir,
        "n.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chroot"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    let o = cli(&["check", "--for", "runc", &notify]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("runc refuses SCMP_ACT_NOTIFY without listenerPath"),
        "{}",
        stdout(&o)
    );
    let args: Vec<String> = (0..7)
        .map(|i| format!(r#"{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}}"#))
        .collect();
    let seven = file(
        &dir,
        "seven.json",
        &format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{}]}}]}}"#,
            args.join(",")
        ),
    );
    let o = cli(&["fmt", &seven, "--format", "spo", "--name", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 6"), "{}", stderr(&o));
}

/// A resource file is no profile to a runtime: `check --for` says so (a runtime given it
/// installs no filter), and `install-profile` names the file after the resource it installs.
#[test]
fn a_resource_is_no_profile_to_a_runtime_and_installs_under_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let two = file(&dir, "two.yaml", TWO);
    let o = cli(&["check", "--select", "web", "--for", "containerd", &two]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("installs no filter"), "{}", stdout(&o));
    let kubelet = dir.path().join("seccomp");
    for name in ["web", "audit"] {
        let o = cli(&[
            "install-profile",
            "--select",
            name,
            &two,
            "--kubelet-dir",
            kubelet.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains(&format!("localhostProfile: {name}.json")));
    }
    assert!(kubelet.join("web.json").is_file() && kubelet.join("audit.json").is_file());
}
