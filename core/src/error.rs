//! The core's error type: one enum with a variant per thing a caller can act on. Messages name
//! fields and kinds, never values: no note text, no key, no personal data.

use crate::doc::DocError;
use crate::migrate::MigrationError;
use crate::model::ValidationError;
use crate::privacy::PersonalDataSpan;
use crate::sync::protocol::ErrorCode;

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
    /// The region's section of the directory is kept by steward organisations this device's is
    /// not one of: it suggests the change instead.
    #[error("not allowed: the {region} section of the directory is kept by {}: suggest the change instead", stewards.join(", "))]
    KeptByStewards {
        /// The region.
        region: crate::model::Region,
        /// The names of its steward organisations.
        stewards: Vec<String>,
    },
    /// The device is not enrolled with a hub: enroll it first.
    #[error("this device is not enrolled with a hub: enroll it first")]
    NotEnrolled,
    /// The hub could not be reached, or the connection failed or timed out, after retries.
    /// Nothing is lost: syncing again later resumes.
    #[error("network error: {0}")]
    Network(String),
    /// The hub refused the request; `code` says why for programs, `reason` for people.
    #[error("the hub refused the request: {reason} ({})", error_code_name(*.code))]
    Hub {
        /// The hub's stable error code.
        code: ErrorCode,
        /// The hub's explanation (never personal data).
        reason: String,
    },
    /// The hub does not recognise this device's credentials.
    #[error("the hub does not recognise this device's credentials")]
    Unauthorized,
    /// The hub revoked this device, and its store was deleted as the hub ordered.
    #[error("this device was revoked by its organisation; its store has been deleted")]
    RevokedAndWiped,
    /// The hub retired this device (handed in by a worker who leaves): everything it held is on
    /// the hub, and its store was deleted as the hub ordered.
    #[error("this device was retired by its organisation: everything it held is on the hub, and its store has been deleted")]
    RetiredAndWiped,
    /// The caller cancelled the operation; the store is consistent and a later sync resumes.
    #[error("cancelled")]
    Cancelled,
    /// The hub's answer does not follow the protocol (or is not from an Outreach hub).
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
}

impl From<MigrationError> for Error {
    /// A step's SQL failing is a storage error, as it was before the steps were shared.
    fn from(e: MigrationError) -> Error {
        match e {
            MigrationError::SchemaTooNew { found, supported } => Error::SchemaTooNew { found, supported },
            MigrationError::Step { source, .. } | MigrationError::Sql(source) => Error::Storage(source),
        }
    }
}

/// The wire name of a hub error code, for messages.
pub(crate) fn error_code_name(code: ErrorCode) -> &'static str {
    code.as_str()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_names_are_the_wire_names() {
        use ErrorCode::*;
        for code in [
            BadRequest,
            TooLarge,
            Unsupported,
            Unauthorized,
            Revoked,
            Forbidden,
            NotFound,
            InvalidCode,
            AlreadyEnrolled,
            InvalidDocument,
            PersonalData,
            HashMismatch,
            Internal,
            Busy,
            RateLimited,
            Timeout,
        ] {
            let wire = serde_json::to_string(&code).unwrap();
            assert_eq!(wire, format!("\"{}\"", error_code_name(code)));
        }
        let e = Error::Hub {
            code: InvalidCode,
            reason: "this enrollment code has expired".into(),
        };
        assert_eq!(
            e.to_string(),
            "the hub refused the request: this enrollment code has expired (invalid_code)"
        );
    }
}
