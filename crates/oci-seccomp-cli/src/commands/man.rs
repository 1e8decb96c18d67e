//! `oci-seccomp man`: manual pages (roff) generated from the command's own argument
//! definitions (clap_mangen): the main page on standard output, or with `--dir` one page
//! per command, `oci-seccomp.1`, `oci-seccomp-check.1`, ...

use std::path::{Path, PathBuf};

use crate::{output, CliError, CliResult};

/// The command as the pages show it: built (each subcommand then knows its full name,
/// `oci-seccomp-check`) and without clap's `help` subcommand, which has no page.
fn built(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The roff text of `cmd`'s page.
fn render(cmd: &clap::Command) -> CliResult<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| CliError::problem(format!("cannot render the manual page: {e}")))?;
    Ok(out)
}

/// Writes the page of `cmd` and of each of its (visible) subcommands into `dir`.
fn write_pages(cmd: &clap::Command, dir: &Path) -> CliResult<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    output::write_output(Some(&dir.join(format!("{name}.1"))), &render(cmd)?)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    Ok(())
}

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write every page into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the main page of `cmd` (the whole command line's definition), or with `--dir`
/// writes every page there (the directory is created if missing).
pub fn run(args: ManArgs, cmd: clap::Command) -> CliResult<u8> {
    let dir = args.dir.as_deref();
    let cmd = built(cmd);
    match dir {
        None => output::write_output(None, &render(&cmd)?)?,
        Some(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| CliError::problem(format!("{}: cannot create: {e}", d.display())))?;
            write_pages(&cmd, d)?;
        }
    }
    Ok(0)
}
