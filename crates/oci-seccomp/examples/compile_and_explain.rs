//! Parse a profile, validate and compile it (the compiled program is proven against the
//! profile on the way), and explain a few calls: the action, the entry that decides it,
//! and what the program executed.
//!
//! ```text
//! cargo run -p oci-seccomp --example compile_and_explain [PROFILE.json]
//! ```

use oci_seccomp::explain::{self, DecidedBy};
use oci_seccomp::{arch, compile_profile, parse_profile, CompileOptions, Profile};

const PROFILE: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        { "names": ["read", "write", "exit_group", "getppid"], "action": "SCMP_ACT_ALLOW" },
        { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
          "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_EQ" }] },
        { "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 }
    ]
}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => PROFILE.to_string(),
    };
    let spec = parse_profile(&text)?;
    let profile = Profile::from_oci(&spec, false)?;
    let program = compile_profile(&profile, &CompileOptions::default())?;
    println!(
        "{} rules on {} architecture(s): {} instructions, listener needed: {}",
        profile.rules().len(),
        profile.architectures().len(),
        program.len(),
        program.needs_listener()
    );

    let native = arch::native();
    for (name, args) in [
        ("getppid", &[][..]),
        ("personality", &[8][..]),
        ("personality", &[0xffff_ffff][..]),
        ("clone3", &[][..]),
        ("mount", &[][..]),
    ] {
        let Some(nr) = arch::resolve(name, native) else {
            println!("{name}: not a syscall on {}", native.name);
            continue;
        };
        let e = explain::explain(&spec, native, nr, args)?;
        let why = match &e.decided_by {
            DecidedBy::Entry(entry) => format!("syscalls[{}]", entry.index),
            DecidedBy::Multiplexed { entry, syscall } => {
                format!(
                    "syscalls[{}] through the multiplexer of {syscall}",
                    entry.index
                )
            }
            DecidedBy::Default(action) => format!("defaultAction {action}"),
            DecidedBy::Stub => "the ENOSYS stub".to_string(),
            DecidedBy::BadArch { .. } => "an ABI not in the filter".to_string(),
            other => format!("{other:?}"),
        };
        println!(
            "{name}{args:x?}: {} decided by {why}; {} instructions executed",
            e.action, e.executed
        );
        // The same decision, straight from the profile's oracle.
        let mut all = [0u64; 6];
        all[..args.len()].copy_from_slice(args);
        let verdict = profile.decide(native.audit_arch, nr as u32, all);
        assert!(verdict.accepts(e.action));
    }
    Ok(())
}
