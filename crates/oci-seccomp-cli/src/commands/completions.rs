//! `oci-seccomp completions SHELL`: a completion script generated from the command's own
//! argument definitions (clap_complete), so it always knows every subcommand and option.

use clap::ValueEnum;

use crate::{output, CliResult};

/// The shells `completions` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (bash-completion).
    Bash,
    /// Zsh (a `_oci-seccomp` file in `$fpath`).
    Zsh,
    /// Fish (`~/.config/fish/completions/oci-seccomp.fish`).
    Fish,
}

impl From<Shell> for clap_complete::Shell {
    fn from(s: Shell) -> Self {
        match s {
            Shell::Bash => Self::Bash,
            Shell::Zsh => Self::Zsh,
            Shell::Fish => Self::Fish,
        }
    }
}

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script of `cmd` (the whole command line's definition) for the
/// shell to standard output.
pub fn run(args: CompletionsArgs, mut cmd: clap::Command) -> CliResult<u8> {
    let shell = args.shell;
    let mut out = Vec::new();
    let name = cmd.get_name().to_string();
    clap_complete::generate(clap_complete::Shell::from(shell), &mut cmd, name, &mut out);
    output::write_output(None, &out)?;
    Ok(0)
}
