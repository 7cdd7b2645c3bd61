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

/// A field the core names (`locations.<id>.postcode`, `by_age`, `worker_notes`) as the
/// command line gives it: the option, with the office, service or language it is about
/// (`--postcode (office <id>)`, `--age`, `--notes`).
pub fn cli_field(field: &str) -> String {
    fn option(name: &str) -> &str {
        match name {
            "alternate_name" => "alternate-name",
            "worker_notes" => "notes",
            "verified_by" => "by",
            "phones" => "phone",
            "latitude" => "lat",
            "longitude" => "lon",
            "schedule" => "hours",
            "how_to_apply" => "how-to-apply",
            "people_reached" => "people",
            "by_gender" => "gender",
            "by_age" => "age",
            "origins" => "origin",
            "themes" => "theme",
            "languages" => "language",
            other => other,
        }
    }
    let segments: Vec<&str> = field.split('.').collect();
    match segments.as_slice() {
        ["locations", id, rest @ ..] if !rest.is_empty() => {
            format!("{} (office {id})", cli_field(&rest.join(".")))
        }
        ["services", id, rest @ ..] if !rest.is_empty() => {
            format!("{} (service {id})", cli_field(&rest.join(".")))
        }
        ["exceptions", day, ..] => format!("--closed/--special {day}"),
        ["brochures", id] => format!("--brochure {id}"),
        [name, lang] if matches!(*name, "description" | "title" | "summary") => {
            format!("--{name} {lang}=...")
        }
        [name] => format!("--{}", option(name).replace('_', "-")),
        _ => field.to_string(),
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Core(outreach_core::Error::Invalid(v)) => {
                write!(f, "{} {}", cli_field(&v.field), v.problem)
            }
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

#[cfg(test)]
mod tests {
    use super::cli_field;

    #[test]
    fn core_fields_are_named_by_their_options() {
        for (core, cli) in [
            ("postcode", "--postcode"),
            ("by_age", "--age"),
            ("people_reached", "--people"),
            ("worker_notes", "--notes"),
            ("alternate_name", "--alternate-name"),
            ("locations.l1.postcode", "--postcode (office l1)"),
            ("locations.l1.latitude", "--lat (office l1)"),
            (
                "locations.l1.exceptions.2026-12-24",
                "--closed/--special 2026-12-24 (office l1)",
            ),
            ("services.s1.how_to_apply", "--how-to-apply (service s1)"),
            ("services.s1.schedule", "--hours (service s1)"),
            ("description.fr", "--description fr=..."),
            ("brochures.b1", "--brochure b1"),
        ] {
            assert_eq!(cli_field(core), cli, "{core}");
        }
    }
}
