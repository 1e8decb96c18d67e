//! A runtime's fork/exec of a command under a profile, with `oci-seccomp-runtime`.
//!
//! ```text
//! cargo run -p oci-seccomp-runtime --example fork_exec -- PROFILE.json CMD [ARG]...
//! ```
//!
//! The profile is an OCI `linux.seccomp` object. No-new-privileges is set (so no root is
//! needed); a NOTIFY rule needs a `listenerPath` in the profile and an agent there.

use oci_seccomp_runtime::{
    compile_cached, connect_for_plan, CachePolicy, LaunchOptions, LaunchPlan, Launcher,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(profile) = args.next() else {
        eprintln!("usage: fork_exec PROFILE.json CMD [ARG]...");
        std::process::exit(2);
    };
    let spec = oci_seccomp::parse_profile(&std::fs::read_to_string(&profile)?)?;
    let mut opts = LaunchOptions::command(args.collect());
    opts.no_new_privs = true;
    // 1. The pure step: every refusal happens here.
    let plan = LaunchPlan::from_command(Some(spec), &opts)?;
    // 2. Connect to the agent early, compile in the parent.
    let listener = connect_for_plan(&plan, &Default::default())?;
    let program = plan
        .seccomp()
        .map(|s| compile_cached(s, &CachePolicy::Off))
        .transpose()?;
    // 3. Fork, run the child's steps, exec, hand the notify fd over, wait.
    let exit = Launcher::new(plan, program, listener)?.run()?;
    std::process::exit(exit.code().into());
}
