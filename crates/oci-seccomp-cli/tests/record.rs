//! `record` end to end: learn a profile from a real run, then run the same workload under
//! it with `--trace` (zero denials, same output and status), and a variant that makes one
//! more syscall (exactly that one reported). Workloads: a busybox shell script, a static
//! C program with sockets, threads and a 32-bit `int 0x80` call, a Python one-liner; also
//! as an unprivileged user.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{python3, text, BUSYBOX};
use serde_json::Value;

fn oci_seccomp(args: &[&str], cwd: &Path, uid: Option<u32>) -> Output {
    common::oci_seccomp(args, Some(cwd), uid)
}

fn tempdir() -> tempfile::TempDir {
    common::tempdir("oci-seccomp-record-")
}

/// Records `cmd` into `dir/p.json`; returns the run's output.
fn record(dir: &Path, cmd: &[&str], uid: Option<u32>) -> Output {
    let mut args = vec!["record", "-o", "p.json"];
    if uid.is_some() {
        args.push("--no-new-privs");
    }
    args.push("--");
    args.extend_from_slice(cmd);
    let o = oci_seccomp(&args, dir, uid);
    assert!(
        dir.join("p.json").exists(),
        "record wrote nothing: {}",
        text(&o.stderr)
    );
    o
}

/// Runs `cmd` under `dir/p.json` with `--trace`; returns the output and the report lines.
fn traced(dir: &Path, cmd: &[&str], uid: Option<u32>) -> (Output, Vec<Value>) {
    let mut args = vec!["run", "--profile", "p.json", "--no-cache", "--trace"];
    if uid.is_some() {
        args.push("--no-new-privs");
    }
    args.extend_from_slice(&["--report", "report.jsonl", "--"]);
    args.extend_from_slice(cmd);
    let o = oci_seccomp(&args, dir, uid);
    let report = std::fs::read_to_string(dir.join("report.jsonl")).unwrap_or_default();
    let events = report
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (o, events)
}

fn syscalls(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .map(|e| e["syscall"].as_str().unwrap_or("?").to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Record, check, replay under --trace with zero denials and the same result.
fn round_trip(dir: &Path, cmd: &[&str], uid: Option<u32>, reset: impl Fn()) -> Value {
    let rec = record(dir, cmd, uid);
    assert_eq!(rec.status.code(), Some(0), "record: {}", text(&rec.stderr));
    // A recorded profile passes check without errors or warnings.
    let check = oci_seccomp(&["check", "p.json"], dir, None);
    assert!(
        text(&check.stdout).contains(" 0 error(s), 0 warning(s)"),
        "check: {}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    reset();
    let (run, events) = traced(dir, cmd, uid);
    // clone3 gets ENOSYS in the recording and in the replay alike (glibc falls back to
    // clone, whose flags were recorded): the one answer the replay may report.
    let denials: Vec<&Value> = events
        .iter()
        .filter(|e| !(e["syscall"] == "clone3" && e["errno"] == libc::ENOSYS))
        .collect();
    assert!(
        denials.is_empty(),
        "denials under the recorded profile: {denials:?}"
    );
    if events.is_empty() {
        assert!(
            text(&run.stderr).contains("no call denied"),
            "{}",
            text(&run.stderr)
        );
    }
    assert_eq!(run.status.code(), rec.status.code());
    assert_eq!(text(&run.stdout), text(&rec.stdout));
    serde_json::from_str(&std::fs::read_to_string(dir.join("p.json")).unwrap()).unwrap()
}

#[test]
fn a_busybox_script_round_trips_and_one_extra_syscall_is_reported() {
    assert!(
        Path::new(BUSYBOX).exists(),
        "run ./scripts/setup (busybox-static)"
    );
    let t = tempdir();
    let dir = t.path();
    let script = "mkdir d && echo hello > d/f && cat d/f | tr a-z A-Z && ls d | wc -l \
                  && (sleep 0; echo sub) && rm -r d";
    let profile = round_trip(dir, &[BUSYBOX, "sh", "-c", script], None, || {});
    let comment = profile["$comment"].as_array().unwrap();
    assert!(comment[0]
        .as_str()
        .unwrap()
        .starts_with("Recorded by oci-seccomp"));
    assert!(comment
        .iter()
        .any(|c| c.as_str().unwrap().starts_with("kernel: Linux")));
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    // The variant: the same script, then one more syscall (sync(2)).
    let variant = format!("{script}; sync; true");
    let (run, events) = traced(dir, &[BUSYBOX, "sh", "-c", &variant], None);
    assert_eq!(syscalls(&events), ["sync"], "{}", text(&run.stderr));
    assert_eq!(events[0]["decidedBy"], "defaultAction");
    assert_eq!(events[0]["errno"], 1);
}

const C_PROGRAM: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

static void *worker(void *arg) {
    int *fds = arg;
    char buf[16] = {0};
    read(fds[1], buf, sizeof buf - 1);
    write(fds[1], "pong", 4);
    return NULL;
}

int main(void) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, worker, fds) != 0) return 3;
    write(fds[0], "ping", 4);
    char buf[16] = {0};
    read(fds[0], buf, 4);
    pthread_join(t, NULL);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0,
                             .sin_addr = { htonl(INADDR_LOOPBACK) } };
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) return 4;
    /* A 32-bit call from a 64-bit process: getpid through int 0x80 (i386 number 20). */
    long pid32;
    __asm__ volatile ("int $0x80" : "=a"(pid32) : "a"(20L) : "memory");
    printf("%s %d\n", buf, pid32 == getpid());
    return 0;
}
"#;

/// Builds `source` into the static, non-PIE executable `dir/name` (int 0x80 takes 32-bit
/// pointers: the static data of such a binary lies below 4 GiB).
fn build_c_named(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let exe = dir.join(name);
    let out = Command::new("gcc")
        .args(["-static", "-no-pie", "-O1", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("gcc (./scripts/setup installs gcc and libc6-dev)");
    assert!(out.status.success(), "gcc: {}", text(&out.stderr));
    exe
}

fn build_c(dir: &Path) -> PathBuf {
    build_c_named(dir, "w", C_PROGRAM)
}

#[test]
fn a_static_c_program_with_sockets_threads_and_a_32_bit_call_round_trips() {
    let t = tempdir();
    let dir = t.path();
    let exe = build_c(dir);
    let exe = exe.to_str().unwrap();
    let profile = round_trip(dir, &[exe], None, || {});
    let arches: Vec<&str> = profile["architectures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        arches.contains(&"SCMP_ARCH_X86"),
        "the int 0x80 call's ABI: {arches:?}"
    );
    // The 32-bit call does not loosen the 64-bit calls: socket keeps its conditions.
    let entries = profile["syscalls"].as_array().unwrap();
    let socket: Vec<&Value> = entries
        .iter()
        .filter(|e| e["names"].as_array().unwrap().iter().any(|n| n == "socket"))
        .collect();
    assert!(!socket.is_empty(), "{profile}");
    assert!(socket.iter().all(|e| e.get("args").is_some()), "{socket:?}");
}

/// A workload (`work`) that makes one AF_UNIX socket and one setsockopt on x86_64, a
/// `getpid` and a `socketpair` through i386 `socketcall` (int 0x80), and a probe (`probe`)
/// that tries what the profile must still deny, printing one `name=result` per call.
const MUX_PROGRAM: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/net.h>
#include <unistd.h>

/* int 0x80 takes 32-bit pointers: static data of a non-PIE static binary is below 4 GiB. */
static unsigned int args32[4];
static int pair[2];

static long int80(long nr, long a, long b) {
    long r;
    __asm__ volatile ("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
    return r;
}
/* i386 socketcall (102) with up to four 32-bit arguments. */
static long socketcall32(int call, unsigned a, unsigned b, unsigned c, unsigned d) {
    args32[0] = a; args32[1] = b; args32[2] = c; args32[3] = d;
    return int80(102, call, (long)(unsigned long)args32);
}
static void show(const char *what, long r) {
    printf("%s=%s\n", what, r >= 0 ? "ok" : strerror(-r));
}
static long sys(long r) { return r < 0 ? -errno : r; }

int main(int argc, char **argv) {
    int probe = argc > 1 && strcmp(argv[1], "probe") == 0;
    int one = 1;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    show("unix", sys(s));
    show("reuseaddr", sys(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)));
    show("getpid32", int80(20, 0, 0) > 0 ? 0 : -1);
    show("socketpair32", socketcall32(SYS_SOCKETPAIR, AF_UNIX, SOCK_STREAM, 0,
                                      (unsigned)(unsigned long)pair));
    if (probe) {
        show("netlink", sys(socket(AF_NETLINK, SOCK_RAW, 0)));
        show("packet", sys(socket(AF_PACKET, SOCK_RAW, 0)));
        show("vsock", sys(socket(AF_VSOCK, SOCK_STREAM, 0)));
        show("inet", sys(socket(AF_INET, SOCK_STREAM, 0)));
        show("keepalive", sys(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one)));
        show("vsock32", socketcall32(SYS_SOCKET, AF_VSOCK, SOCK_STREAM, 0, 0));
        show("unix32", socketcall32(SYS_SOCKET, AF_UNIX, SOCK_STREAM, 0, 0));
    }
    return 0;
}
"#;

#[test]
fn a_32_bit_call_never_widens_what_the_profile_allows_on_x86_64() {
    let t = tempdir();
    let dir = t.path();
    let exe = build_c_named(dir, "mux", MUX_PROGRAM);
    let exe = exe.to_str().unwrap();
    let rec = record(dir, &[exe, "work"], None);
    let err = text(&rec.stderr);
    assert_eq!(rec.status.code(), Some(0), "record: {err}");
    for line in ["unix=ok", "reuseaddr=ok", "getpid32=ok", "socketpair32=ok"] {
        assert!(text(&rec.stdout).contains(line), "{}", text(&rec.stdout));
    }
    let profile: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("p.json")).unwrap()).unwrap();
    // The complete check accepts the learned profile, and check finds no error.
    let compiled = oci_seccomp(&["compile", "p.json", "-o", "p.bpf"], dir, None);
    assert_eq!(
        compiled.status.code(),
        Some(0),
        "{}",
        text(&compiled.stderr)
    );
    let check = oci_seccomp(&["check", "p.json"], dir, None);
    let said = format!("{}{}", text(&check.stdout), text(&check.stderr));
    assert!(said.contains(" 0 error(s)"), "{said}");
    // socketpair through socketcall is learned as socketcall(SYS_SOCKETPAIR).
    let sc: Vec<&Value> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["names"] == serde_json::json!(["socketcall"]))
        .collect();
    assert_eq!(sc.len(), 1, "{profile}");
    assert_eq!(sc[0]["args"][0]["valueTwo"], 8, "{profile}");

    // In the kernel: what was recorded runs, the rest of socket and setsockopt is denied on
    // x86_64 and through i386 socketcall.
    let run = oci_seccomp(
        &[
            "run",
            "--profile",
            "p.json",
            "--no-cache",
            "--",
            exe,
            "probe",
        ],
        dir,
        None,
    );
    let got = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{got}{}", text(&run.stderr));
    for line in [
        "unix=ok",
        "reuseaddr=ok",
        "getpid32=ok",
        "socketpair32=ok",
        "netlink=Operation not permitted",
        "packet=Operation not permitted",
        "vsock=Operation not permitted",
        "inet=Operation not permitted",
        "keepalive=Operation not permitted",
        "vsock32=Operation not permitted",
        "unix32=Operation not permitted",
    ] {
        assert!(got.lines().any(|l| l == line), "want {line}:\n{got}");
    }
}

#[test]
fn a_python_one_liner_round_trips() {
    let python = python3();
    let t = tempdir();
    round_trip(
        t.path(),
        &[
            python,
            "-S",
            "-c",
            "import os; print(sum(range(10)), os.getpid() > 0)",
        ],
        None,
        || {},
    );
}

#[test]
fn an_unprivileged_user_records_and_replays() {
    let t = tempdir();
    let dir = t.path();
    round_trip(
        dir,
        &[BUSYBOX, "sh", "-c", "echo hi | wc -c"],
        Some(4242),
        || {
            let _ = std::fs::remove_file(dir.join("report.jsonl"));
        },
    );
}

#[test]
fn a_base_is_kept_and_only_what_it_denies_is_learned() {
    let t = tempdir();
    let dir = t.path();
    std::fs::write(
        dir.join("base.json"),
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let o = oci_seccomp(
        &[
            "record",
            "-o",
            "p.json",
            "--base",
            "base.json",
            "--",
            BUSYBOX,
            "mkdir",
            "x",
        ],
        dir,
        None,
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("syscalls[0] of the base denies mkdir"),
        "{err}"
    );
    let p: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("p.json")).unwrap()).unwrap();
    assert_eq!(p["defaultAction"], "SCMP_ACT_ALLOW");
    assert_eq!(p["syscalls"].as_array().unwrap().len(), 1, "{p}");
}

#[test]
fn a_failed_run_keeps_an_existing_profile() {
    let t = tempdir();
    let dir = t.path();
    std::fs::write(dir.join("p.json"), b"{\"kept\": true}").unwrap();
    let o = oci_seccomp(
        &["record", "-o", "p.json", "--", "/nonexistent/cmd"],
        dir,
        None,
    );
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.join("p.json")).unwrap(),
        b"{\"kept\": true}"
    );
}

#[test]
fn a_failed_run_leaves_no_file_where_there_was_none() {
    let t = tempdir();
    let dir = t.path();
    let o = oci_seccomp(
        &["record", "-o", "p.json", "--", "/nonexistent/cmd"],
        dir,
        None,
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(!dir.join("p.json").exists(), "{}", text(&o.stderr));
}

/// With a base, calls numbered above every name the base has (the ENOSYS stub's range)
/// are recorded, not answered ENOSYS; an entry's ENOSYS (`clone3` with no base) is.
/// `-o -` writes the profile to standard output.
#[test]
fn calls_past_the_bases_names_are_learned_and_dash_is_standard_output() {
    let t = tempdir();
    let dir = t.path();
    std::fs::write(
        dir.join("base.json"),
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let o = oci_seccomp(
        &[
            "record",
            "--base",
            "base.json",
            "-o",
            "-",
            "--",
            BUSYBOX,
            "sh",
            "-c",
            "echo hi; cat /proc/self/status | head -1",
        ],
        dir,
        None,
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(out.starts_with("hi\nName:"), "{out}");
    assert!(!dir.join("-").exists(), "a file named - was written");
    let json = &out[out.find('{').expect("the profile follows the output")..];
    let v: Value = serde_json::from_str(json).unwrap();
    let names: Vec<&str> = v["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["names"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for needed in ["execve", "exit_group", "arch_prctl", "read"] {
        assert!(names.contains(&needed), "{needed} not learned: {names:?}");
    }
}

/// Without CAP_SYS_ADMIN, no-new-privileges is the only way to install a filter: `record`
/// and `run` set it themselves and say so in one line, without `--no-new-privs`.
#[test]
fn an_unprivileged_user_needs_no_flag_to_record_or_run() {
    let t = tempdir();
    let dir = t.path();
    let o = oci_seccomp(
        &[
            "record", "-o", "p.json", "--", BUSYBOX, "sh", "-c", "echo hi",
        ],
        dir,
        Some(4242),
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("setting no-new-privileges").count(), 1, "{err}");
    let o = oci_seccomp(
        &[
            "run",
            "--profile",
            "p.json",
            "--",
            BUSYBOX,
            "sh",
            "-c",
            "echo hi",
        ],
        dir,
        Some(4242),
    );
    let err = text(&o.stderr);
    assert_eq!(
        (o.status.code(), text(&o.stdout)),
        (Some(0), "hi\n".to_string()),
        "{err}"
    );
    assert_eq!(err.matches("setting no-new-privileges").count(), 1, "{err}");
}

/// A recorded profile against the embedded default: `diff --no-looser` names every call the
/// recording lets through that the default does not, each decided by a recorded entry, and
/// the reverse direction (the default against the recording) is not looser where the
/// recording is stricter.
#[test]
fn diff_says_what_a_recording_allows_beyond_the_embedded_default() {
    let dir = tempdir();
    record(dir.path(), &[BUSYBOX, "sh", "-c", "echo hi"], None);
    let o = oci_seccomp(
        &["render", "--default", "-o", "default.json"],
        dir.path(),
        None,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = oci_seccomp(
        &[
            "diff",
            "--no-looser",
            "--format",
            "json",
            "default.json",
            "p.json",
        ],
        dir.path(),
        None,
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
    assert_eq!(v["equal"], false, "{v}");
    for d in v["differences"].as_array().unwrap() {
        if d["change"] == "looser" {
            let by = d["b"]["decidedBy"].as_str().unwrap_or_default();
            assert!(by.starts_with("syscalls["), "{d}");
        }
    }
    let looser = v["looser"].as_bool().unwrap();
    assert_eq!(o.status.code(), Some(u8::from(looser).into()), "{v}");
    // The recording denies most of what the default allows: stricter there.
    let stricter = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["change"] == "stricter")
        .count();
    assert!(stricter > 10, "{v}");
}

/// `record --format spo`: a `SeccompProfile` whose provenance is an annotation, that the
/// other commands read back as the profile the recording learned and that runs the
/// workload again.
#[test]
fn a_recording_written_as_a_seccomp_profile_resource_runs_its_workload() {
    let t = tempdir();
    let dir = t.path();
    let cmd = [BUSYBOX, "sh", "-c", "echo hi | wc -c"];
    let mut args = vec![
        "record",
        "-o",
        "p.yaml",
        "--format",
        "spo",
        "--name",
        "hi",
        "--namespace",
        "demo",
        "--",
    ];
    args.extend_from_slice(&cmd);
    let o = oci_seccomp(&args, dir, None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let yaml = std::fs::read_to_string(dir.join("p.yaml")).unwrap();
    assert!(yaml.contains("kind: SeccompProfile"), "{yaml}");
    assert!(yaml.contains("oci-seccomp.io/provenance"), "{yaml}");
    assert!(
        yaml.contains("name: hi") && yaml.contains("namespace: demo"),
        "{yaml}"
    );
    let mut run = vec!["run", "--profile", "p.yaml", "--"];
    run.extend_from_slice(&cmd);
    let o = oci_seccomp(&run, dir, None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "3");
}
