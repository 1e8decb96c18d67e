//! `oci-seccomp demo`: a short scripted tour on the embedded default profile.
//!
//! Steps: render and compile the embedded default; run `unshare --user` under it and
//! show it refused; explain why; a NOTIFY example where `supervise` emulates `mkdir`.
//!
//! Every step runs this same binary (`run`, `explain`, `supervise`), so the tour goes
//! through exactly the code paths a user gets. Exit 0 when every step behaved as
//! expected, 1 otherwise.
//!
//! It needs no privilege: without CAP_SYS_ADMIN `run` gives its workload
//! no-new-privileges (the only way to install a filter then), the supervisor is the
//! caller's own process, and the files and the socket are in a new directory of mode 0700.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::profiles;
use crate::{CliError, CliResult};

fn heading(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

fn verdict(ok: bool, what: &str) -> bool {
    println!("   [{}] {what}", if ok { " ok " } else { "FAIL" });
    ok
}

fn indent(text: &str) {
    for l in text.lines() {
        println!("   | {l}");
    }
}

fn me() -> CliResult<PathBuf> {
    std::env::current_exe()
        .map_err(|e| CliError::problem(format!("cannot find this program's path: {e}")))
}

fn run_self(args: &[&str]) -> CliResult<Output> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                (*a).to_string()
            }
        })
        .collect();
    println!("   $ oci-seccomp {}", shown.join(" "));
    Command::new(me()?)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::problem(format!("cannot run oci-seccomp {}: {e}", args[0])))
}

fn step_compile() -> CliResult<bool> {
    heading(1, "Render and compile the embedded default profile");
    let t = Instant::now();
    let spec = profiles::default_for_host()?;
    let program = oci_seccomp::compile(&spec, &oci_seccomp::CompileOptions::default())
        .map_err(|e| profiles::compile_error("<embedded default>", &e))?;
    let rules = spec.syscalls().as_ref().map_or(0, Vec::len);
    println!(
        "   {} entries for {:?}, default {} -> {} BPF instructions in {:.1} ms",
        rules,
        spec.architectures()
            .as_ref()
            .map(|a| a.iter().map(|x| x.to_string()).collect::<Vec<_>>())
            .unwrap_or_default(),
        spec.default_action(),
        program.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(verdict(
        program.len() > 10 && program.len() <= 4096,
        "the program fits the kernel's 4096-instruction limit",
    ))
}

fn step_unshare() -> CliResult<bool> {
    heading(2, "Run `unshare --user true` under the embedded default");
    let out = run_self(&["run", "--", "/bin/sh", "-c", "unshare --user true"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    indent(&String::from_utf8_lossy(&out.stdout));
    indent(&stderr);
    println!("   {}", out.status);
    Ok(verdict(
        !out.status.success() && stderr.contains("Operation not permitted"),
        "creating a user namespace was refused with EPERM",
    ))
}

fn step_explain() -> CliResult<bool> {
    heading(3, "Explain: unshare(CLONE_NEWUSER)");
    let out = run_self(&["explain", "--default", "unshare", "0x10000000"])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    indent(&stdout);
    indent(&String::from_utf8_lossy(&out.stderr));
    Ok(verdict(
        out.status.success() && stdout.contains("EPERM") && stdout.contains("decided by"),
        "explain names the action and what decided it",
    ))
}

/// The embedded default with `mkdir`/`mkdirat` moved to a NOTIFY rule.
fn notify_profile(socket: &Path) -> CliResult<Value> {
    let spec = profiles::default_for_host()?;
    let mut v = serde_json::to_value(&spec).map_err(|e| CliError::problem(e.to_string()))?;
    let names = ["mkdir", "mkdirat"];
    let mut entries: Vec<Value> = Vec::new();
    entries.push(json!({"names": names, "action": "SCMP_ACT_NOTIFY"}));
    if let Some(list) = v.get("syscalls").and_then(Value::as_array) {
        for e in list {
            let mut e = e.clone();
            if let Some(n) = e.get_mut("names").and_then(Value::as_array_mut) {
                n.retain(|x| !x.as_str().is_some_and(|s| names.contains(&s)));
                if n.is_empty() {
                    continue;
                }
            }
            entries.push(e);
        }
    }
    v["syscalls"] = Value::Array(entries);
    v["listenerPath"] = json!(socket);
    v["listenerMetadata"] = json!("demo");
    Ok(v)
}

fn step_notify() -> CliResult<bool> {
    heading(
        4,
        "NOTIFY: `supervise` answers mkdir for the container (runc's sample agent)",
    );
    let dir = private_dir()?;
    let result = notify_in(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A new directory of mode 0700 below the temporary directory, for the profile, the
/// policy and the supervisor's socket: the caller's own, whoever runs the demo (never a
/// name another user made first).
fn private_dir() -> CliResult<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for n in 0..100u32 {
        let dir = base.join(format!(
            "oci-seccomp-demo-{}-{:x}",
            std::process::id(),
            nanos.wrapping_add(n.wrapping_mul(0x9e37_79b9))
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(dir),
            Err(e) => return Err(CliError::problem(format!("{}: {e}", dir.display()))),
        }
    }
    Err(CliError::problem(format!(
        "{}: no free name for the demo's directory",
        last.unwrap_or(base).display()
    )))
}

fn notify_in(dir: &Path) -> CliResult<bool> {
    let socket = dir.join("agent.sock");
    let profile = dir.join("notify.json");
    let policy = dir.join("policy.json");
    let write = |p: &Path, v: &Value| {
        std::fs::write(p, serde_json::to_string_pretty(v).unwrap_or_default())
            .map_err(|e| CliError::problem(format!("{}: {e}", p.display())))
    };
    write(&profile, &notify_profile(&socket)?)?;
    write(
        &policy,
        &json!({"default": "continue", "syscalls": {"mkdir": "emulate-mkdir", "mkdirat": "emulate-mkdir"}}),
    )?;
    println!(
        "   profile: the embedded default with {{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}}, listenerMetadata \"demo\""
    );
    println!(
        "   $ oci-seccomp supervise --socket {} --policy {} --max-containers 1 --allow-host-root &",
        socket.display(),
        policy.display()
    );
    let mut agent = Command::new(me()?)
        .arg("supervise")
        .arg("--socket")
        .arg(&socket)
        .arg("--policy")
        .arg(&policy)
        // The demo's "container" shares the host's root: the agent acts for it only when
        // told to.
        .args(["--max-containers", "1", "--allow-host-root"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::problem(format!("cannot start the supervisor: {e}")))?;
    let t = Instant::now();
    while !socket.exists() && t.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = agent.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let target = dir.join("made");
    let target_s = target.display().to_string();
    let profile_s = profile.display().to_string();
    let out = run_self(&[
        "run",
        "--profile",
        &profile_s,
        "--",
        "/bin/mkdir",
        &target_s,
    ]);
    // Whatever happened, the supervisor must end: it exits after one container, and is
    // stopped if it does not.
    let t = Instant::now();
    loop {
        match agent.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = rustix::process::kill_process(
                    rustix::process::Pid::from_child(&agent),
                    rustix::process::Signal::TERM,
                );
                break;
            }
        }
    }
    let log = agent
        .wait_with_output()
        .map_err(|e| CliError::problem(format!("supervisor: {e}")))?;
    let out = out?;
    indent(&String::from_utf8_lossy(&out.stdout));
    indent(&String::from_utf8_lossy(&out.stderr));
    println!("   {}", out.status);
    println!("   supervisor log:");
    let agent_log = String::from_utf8_lossy(&log.stdout);
    indent(&agent_log);
    indent(&String::from_utf8_lossy(&log.stderr));
    let made = dir.join("made-demo");
    println!(
        "   {} exists: {}; {} exists: {}",
        made.display(),
        made.is_dir(),
        target.display(),
        target.exists()
    );
    let ok = out.status.success()
        && agent_log.contains("emulate-mkdir")
        && made.is_dir()
        && !target.exists();
    Ok(verdict(
        ok,
        "mkdir was answered by the supervisor, which created <path>-<metadata>",
    ))
}

/// Runs the demo.
pub fn run() -> CliResult<u8> {
    println!("oci-seccomp demo: the embedded default profile (Docker's policy), step by step");
    let mut all = true;
    for step in [step_compile, step_unshare, step_explain, step_notify] {
        match step() {
            Ok(ok) => all &= ok,
            Err(e) => {
                println!("   [FAIL] {}", e);
                all = false;
            }
        }
    }
    println!(
        "\n{}",
        if all {
            "demo: every step behaved as expected"
        } else {
            "demo: some steps did not behave as expected"
        }
    );
    Ok(if all { 0 } else { 1 })
}
