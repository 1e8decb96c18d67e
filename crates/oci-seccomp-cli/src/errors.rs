//! The CLI's error: one line, an exit status, an optional hint.

use std::fmt;

/// An error that ends the command: printed as one line on stderr.
#[derive(Debug)]
pub struct CliError {
    /// Exit status: 1 for a problem in the input or a failed run, 2 for usage.
    pub code: u8,
    /// What is wrong: field path, value and reason.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

/// Result of a command: the exit status on success.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// A problem in the profile or the run (exit status 1).
    pub fn problem(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
            hint: None,
        }
    }

    /// A usage error (exit status 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prints the error as one line on stderr.
    pub fn print(&self) {
        eprintln!("{self}");
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: newlines in wrapped errors become spaces.
        let msg = self.message.replace('\n', " ");
        write!(f, "oci-seccomp: error: {msg}")?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {})", h.replace('\n', " "))?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}
