//! The `oci-seccomp` command: check, compile, explain, render and run seccomp profiles,
//! supervise notifications, and report what the host supports.
//!
//! Exit status: 0 when everything is fine, 1 for a problem in the profile or a denied or
//! failed run, 2 for a usage error. Every error is one line on stderr that names the
//! field path, the value and the reason, with a hint where one helps.
//!
//! This file parses the command line and hands it to the subcommand's module in
//! `commands/`, which owns its arguments and its action.

mod args;
mod commands;
mod errors;
mod launch;
mod logging;
mod names;
mod output;
mod profiles;
mod report;
mod sarif;
mod sys;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use commands::{
    check, compile, completions, demo, diff, explain, features, fmt, inspect, install_profile,
    lift, man, merge, record, render, run, supervise,
};
pub use errors::{CliError, CliResult};

/// Check, compile, explain, render and run OCI seccomp profiles.
#[derive(Debug, Parser)]
#[command(name = "oci-seccomp", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 ok, 1 a problem in the profile or a denied/failed run, 2 usage.\n\
                  Set OCI_SECCOMP_LOG=debug|info|warn|error to change how much is logged (warn)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Of a file holding several Security Profiles Operator `SeccompProfile` resources
    /// (a multi-document YAML file, a List), the one named NAME.
    #[arg(long, global = true, value_name = "NAME")]
    select: Option<String>,
    /// Where a `SeccompProfile`'s `baseProfileName` is looked for (its `.yaml`, `.yml` and
    /// `.json` files), besides the operator's published runc and crun base profiles.
    #[arg(long = "base-dir", global = true, value_name = "DIR")]
    base_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate and lint a profile (OCI or Docker); exit 1 if any error is found.
    ///
    /// A Docker (moby) profile is validated as moby reads it, rendered (for this host, or
    /// --cap/--arch/--kernel as in `render`) and the result is linted.
    Check(check::CheckArgs),
    /// Compile an OCI profile to a BPF program.
    Compile(compile::CompileArgs),
    /// Explain what a profile does with one syscall: action, deciding entry, cost.
    Explain(explain::ExplainArgs),
    /// Render a Docker (moby) profile to OCI `linux.seccomp` JSON.
    Render(render::RenderArgs),
    /// Compare two profiles by what they decide, over every call: the regions that differ,
    /// with both actions, both deciding entries and a witness; exit 1 when they differ.
    ///
    /// With --no-looser, the gate for a profile change: exit 1 only when the second
    /// profile answers some call with a less strict action than the first.
    Diff(diff::DiffArgs),
    /// Normalize an OCI profile: entries grouped by action and comparisons, names sorted
    /// and listed once; proven to decide every call as the original before it is written.
    Fmt(fmt::FmtArgs),
    /// Merge profiles by what they decide: --union (the least strict action of the inputs
    /// for every call) or --intersect (the strictest); proven before it is written.
    Merge(merge::MergeArgs),
    /// Lift a seccomp program (compile --format raw|hex output, or one read from a process)
    /// back into what it decides: a decision table, or an OCI profile proven to decide
    /// exactly as the program does.
    Lift(lift::LiftArgs),
    /// Read the seccomp filters a running process (or a runc or crun container) really has,
    /// what their stack decides, and with --against whether that is the profile meant.
    Inspect(inspect::InspectArgs),
    /// Install a profile as a Kubernetes Localhost profile: written atomically into the
    /// kubelet's seccomp directory, in the format the node's runtime reads, and the
    /// securityContext that uses it printed.
    InstallProfile(install_profile::InstallProfileArgs),
    /// Run a command (or an OCI bundle) under a seccomp profile; --trace or --complain
    /// report every call the profile does not allow, with the rule that decided.
    Run(run::RunArgs),
    /// Learn the profile a command (or bundle) needs from a real run, without root.
    Record(record::RecordArgs),
    /// The reference seccomp agent: accept notify fds on a socket and answer per policy.
    Supervise(supervise::SuperviseArgs),
    /// What this kernel and libseccomp support (OCI features.json, linux.seccomp).
    Features(features::FeaturesArgs),
    /// A short scripted tour on the embedded default profile.
    Demo,
    /// Print a shell completion script (bash, zsh or fish) to standard output.
    ///
    /// bash: `oci-seccomp completions bash > /etc/bash_completion.d/oci-seccomp` (or
    /// `source <(oci-seccomp completions bash)` in ~/.bashrc); zsh: write it as
    /// `_oci-seccomp` in a directory of $fpath; fish: write it to
    /// ~/.config/fish/completions/oci-seccomp.fish.
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff) to standard output, or write one page per command.
    ///
    /// `oci-seccomp man | man -l -` shows it; `oci-seccomp man --dir DIR` writes
    /// oci-seccomp.1, oci-seccomp-check.1, ... into DIR (created if missing).
    Man(man::ManArgs),
}

/// Runs the subcommand; completions and the manual page are generated from [`Cli`]'s own
/// definition.
fn dispatch(cli: Cli) -> CliResult<u8> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Render(args) => render::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Lift(args) => lift::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::InstallProfile(args) => install_profile::run(args),
        Command::Run(args) => run::run(args),
        Command::Record(args) => record::run(args),
        Command::Supervise(args) => supervise::run(args),
        Command::Features(args) => features::run(args),
        Command::Demo => demo::run(),
        Command::Completions(args) => completions::run(args, Cli::command()),
        Command::Man(args) => man::run(args, Cli::command()),
    }
}

/// `oci-seccomp --version` (or `-V`) alone: the line clap prints for it, without building
/// the definition of every subcommand first (clap's `Cli::command()` is half of the
/// instructions of such a start; BENCHMARKS.md). Not taken when a log filter is set
/// (`log_filter_set`: `OCI_SECCOMP_LOG` is), so that a bad filter is still reported, as on
/// every other start.
fn version_only(args: &[std::ffi::OsString], log_filter_set: bool) -> Option<String> {
    if log_filter_set {
        return None;
    }
    match args {
        [_, flag] if flag == "--version" || flag == "-V" => {
            Some(format!("oci-seccomp {}\n", env!("CARGO_PKG_VERSION")))
        }
        _ => None,
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(line) = version_only(&args, std::env::var_os(logging::ENV).is_some()) {
        use std::io::Write;
        // As clap's own `--version`: a closed stdout is not an error worth a message.
        let _ = std::io::stdout().write_all(line.as_bytes());
        return ExitCode::SUCCESS;
    }
    logging::init();
    let cli = Cli::parse_from(args);
    profiles::set_spo_options(cli.select.clone(), cli.base_dir.clone());
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.print();
            ExitCode::from(e.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_alone_prints_what_clap_prints() {
        // clap prints the long version for `--version`, the short one for `-V`.
        let cli = Cli::command();
        for (flag, clap_line) in [
            ("--version", cli.render_long_version()),
            ("-V", cli.render_version()),
        ] {
            let args = ["oci-seccomp".into(), flag.into()];
            assert_eq!(
                version_only(&args, false).as_deref(),
                Some(clap_line.as_str())
            );
            // With a log filter set, clap's path (which reports a bad filter first).
            assert_eq!(version_only(&args, true), None);
        }
        // Anything else goes to clap.
        for args in [
            &["oci-seccomp", "--version", "x"][..],
            &["oci-seccomp", "check", "--version"],
            &["oci-seccomp", "--versio"],
            &["oci-seccomp"],
        ] {
            let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            assert_eq!(version_only(&args, false), None, "{args:?}");
        }
    }
}
