//! The CLI's error: what the core refused, a failed write to the terminal, or a message of the
//! CLI's own. Shown to the user as one line; never holds the key or a note's text.

use std::fmt;
use std::io;

/// Everything a command can fail with.
#[derive(Debug)]
pub enum CliError {
    /// The core refused the operation or failed.
    Core(outreach_core::Error),
    /// Writing the output failed (for example a closed pipe).
    Output(io::Error),
    /// A failure explained by the CLI itself.
    Message(String),
}

impl CliError {
    /// An error with a message of the CLI's own.
    pub fn msg(message: impl Into<String>) -> CliError {
        CliError::Message(message.into())
    }

    /// Whether the reader of the output went away (`outreach ... | head`): not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Core(e) => e.fmt(f),
            CliError::Output(e) => write!(f, "cannot write the output: {e}"),
            CliError::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Core(e) => Some(e),
            CliError::Output(e) => Some(e),
            CliError::Message(_) => None,
        }
    }
}

impl From<outreach_core::Error> for CliError {
    fn from(e: outreach_core::Error) -> Self {
        CliError::Core(e)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Output(e)
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            CliError::Output(e.into())
        } else {
            CliError::msg(format!("cannot encode the output as JSON: {e}"))
        }
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
