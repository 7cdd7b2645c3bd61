//! The core's error type: one enum with a variant per thing a caller can act on. Messages name
//! fields and kinds, never values: no note text, no key, no personal data.

use crate::doc::DocError;
use crate::model::ValidationError;
use crate::privacy::PersonalDataSpan;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the input is invalid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// The note contains personal data; nothing was stored. The spans say where.
    #[error("the note contains personal data ({})", describe_spans(.0))]
    PersonalData(Vec<PersonalDataSpan>),
    /// No such entity on this device.
    #[error("no {what} with this id on this device")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// No key was given for the store.
    #[error("no key given: the store is encrypted and needs its 32-byte key")]
    KeyMissing,
    /// The key does not have 32 bytes.
    #[error("the key must be exactly 32 bytes, got {0}")]
    KeyInvalid(usize),
    /// The key does not open this database.
    #[error("wrong key: this key does not open the store (or the store uses other encryption options)")]
    WrongKey,
    /// The file is a plain, unencrypted SQLite database.
    #[error("the file is an unencrypted SQLite database, not an Outreach store")]
    NotEncrypted,
    /// The database was written by a newer version of the app.
    #[error("the store has schema version {found}, newer than the {supported} this app supports")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this code knows.
        supported: u32,
    },
    /// A document could not be read or merged (bad bytes from disk or the network).
    #[error("document refused: {0}")]
    Document(#[from] DocError),
    /// The database failed.
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The database holds something this code cannot read back (a damaged file, or one changed
    /// by another program). The reason says what, never which values.
    #[error("the store is damaged: {0}")]
    Corrupt(&'static str),
    /// A file operation failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// The store was wiped or closed.
    #[error("the store is closed (it was wiped)")]
    Closed,
    /// This device's role does not allow the operation.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
}

fn describe_spans(spans: &[PersonalDataSpan]) -> String {
    spans
        .iter()
        .map(|s| format!("{} at {}..{}", s.kind, s.start, s.end))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
