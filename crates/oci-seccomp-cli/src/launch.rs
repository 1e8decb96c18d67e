//! What `run` and `record` share to launch a workload: a plan with no-new-privileges when
//! that is the only way to install its filter, and the runtime's and the trace agent's
//! errors as the CLI's.

use oci_seccomp_load::trace::AgentError;
use oci_seccomp_runtime::{LaunchError, LaunchOptions, LaunchPlan, PlanError};

use crate::CliError;

/// Builds the launch plan with `build`, setting no-new-privileges first when it is the
/// only way this process can install the plan's filter (or a recorder's, `recorder`): without CAP_SYS_ADMIN in its
/// effective set the kernel refuses a filter unless no-new-privileges is set (seccomp(2),
/// EACCES). Says so in one line on stderr; `--no-new-privs` makes it explicit and silent.
/// Returns the plan and whether no-new-privileges was set here.
pub fn plan_with_no_new_privs_if_needed(
    opts: &mut LaunchOptions,
    recorder: bool,
    build: impl Fn(&LaunchOptions) -> Result<LaunchPlan, PlanError>,
) -> Result<(LaunchPlan, bool), PlanError> {
    let plan = build(opts)?;
    let filtered = recorder || plan.seccomp().is_some();
    if !filtered || plan.no_new_privileges() || has_cap_sys_admin() {
        return Ok((plan, false));
    }
    opts.no_new_privs = true;
    let plan = build(opts)?;
    eprintln!(
        "oci-seccomp: setting no-new-privileges for the workload: without CAP_SYS_ADMIN it is \
         the only way to install a filter (--no-new-privs says so explicitly)"
    );
    Ok((plan, true))
}

/// Whether CAP_SYS_ADMIN is in this thread's effective set (capget(2)); `false` when it
/// cannot be read.
pub fn has_cap_sys_admin() -> bool {
    rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
    })
}

/// A launch plan's error as the CLI's: a missing command is a usage error.
pub fn plan_error(e: PlanError) -> CliError {
    let usage = matches!(e, PlanError::NoCommand);
    let hint = e.hint();
    let err = if usage {
        CliError::usage(e.to_string())
    } else {
        CliError::problem(e.to_string())
    };
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// A launch's error as the CLI's, with the runtime's hint.
pub fn launch_error(e: LaunchError) -> CliError {
    match e {
        LaunchError::Plan(p) => plan_error(p),
        e => {
            let hint = e.hint();
            let err = CliError::problem(e.to_string());
            match hint {
                Some(h) => err.hint(h),
                None => err,
            }
        }
    }
}

/// A trace agent's error as the CLI's: a profile that does not validate is named `profile`.
pub fn agent_error(e: AgentError) -> CliError {
    match e {
        AgentError::Profile(e) => crate::profiles::compile_error("profile", &e),
        e => CliError::problem(e.to_string()),
    }
}
