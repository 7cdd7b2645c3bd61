//! The hub's two error layers: [`Error`], rich and internal (storage, files, documents read back
//! from disk, configuration), and [`ApiError`], what a device is told: a stable
//! [`ErrorCode`], an HTTP status and a readable reason that never holds personal data, tokens or
//! codes. Internal errors become `ApiError`s in one place, [`ApiError::internal`], which logs
//! them and answers a generic reason.

use axum::http::StatusCode;
use outreach_core::model::{DeviceId, DocId};
use outreach_core::sync::protocol::{ErrorBody, ErrorCode};

/// Everything that can go wrong inside the hub or in its administration commands.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The PostgreSQL database failed or could not be reached.
    #[error("PostgreSQL error: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database is too busy to serve now; the request may be tried again.
    #[error("the database is busy: {0}")]
    Busy(&'static str),
    /// A file operation failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// The hub database was written by a newer version of the hub.
    #[error("the hub database has schema version {found}, newer than the {supported} this hub supports")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this code knows.
        supported: u32,
    },
    /// Stored data that this code cannot read back (a damaged file or one changed by another
    /// program). The reason names what, never values.
    #[error("the hub's data is damaged: {0}")]
    Corrupt(String),
    /// No hub has been initialised in this data directory.
    #[error("no hub in {0}: run `outreach-hub init` first")]
    NotInitialised(String),
    /// `init` on a data directory that already holds organisations.
    #[error("the hub in {0} is already initialised")]
    AlreadyInitialised(String),
    /// No organisation with this name or id.
    #[error("no organisation named {0:?}")]
    UnknownOrganisation(String),
    /// An organisation with this name exists already.
    #[error("an organisation named {0:?} exists already")]
    OrganisationExists(String),
    /// No enrolled device with this id.
    #[error("no enrolled device {0}")]
    UnknownDevice(DeviceId),
    /// An argument is invalid.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was given.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The TLS certificate or key could not be used.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The server could not be started or failed.
    #[error("server error: {0}")]
    Server(String),
    /// A key file (the database key, the seal key) could not be read or does not hold a key.
    #[error("the {what} file {path} cannot be used: {reason}")]
    KeyFile {
        /// Which key.
        what: &'static str,
        /// The file.
        path: String,
        /// Why: the file error, or what a key must look like.
        reason: String,
    },
    /// A key file that group or others may read: the key is no longer the owner's only.
    #[error("the {what} file {path} is open to group or others (mode {mode:03o}): run `chmod 600 {path}`")]
    KeyFilePermissions {
        /// Which key.
        what: &'static str,
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The database key given does not open the encrypted `hub.db`.
    #[error("the database key does not open {0}: it is another key (or the file is not a hub database)")]
    WrongDatabaseKey(String),
    /// `hub.db` is encrypted and no database key was given.
    #[error("{0} is encrypted: give its key with --db-key-file (or OUTREACH_HUB_DB_KEY_FILE)")]
    DatabaseKeyMissing(String),
    /// A database key was given for a `hub.db` that is not encrypted.
    #[error("{0} is not encrypted, but a database key was given: open it without --db-key-file, or encrypt it first (see `outreach-hub encrypt`)")]
    DatabaseNotEncrypted(String),
    /// The database still holds a seal key (an older hub, or a restored old backup) and it
    /// differs from the seal key given: seals made by one would not verify under the other.
    #[error("hub.db holds a seal key that differs from {0}: give the key this hub was using, or move that file away to adopt the database's key")]
    SealKeyConflict(String),
}

impl Error {
    /// An [`Error::Invalid`].
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Result with the hub's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as a device sees it: an HTTP status and an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// The CBOR body of the answer.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with the status that goes with `code`.
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> ApiError {
        ApiError {
            status: status_of(code),
            body: ErrorBody {
                code,
                reason: reason.into(),
                doc: None,
                wipe: code == ErrorCode::Revoked,
            },
        }
    }

    /// Names the document concerned.
    pub fn with_doc(mut self, doc: DocId) -> ApiError {
        self.body.doc = Some(doc);
        self
    }

    /// Overrides the status (416 for an unsatisfiable range, 503 when busy...).
    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// A malformed request.
    pub fn bad_request(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, reason)
    }

    /// A bound exceeded.
    pub fn too_large(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::TooLarge, reason)
    }

    /// A role or ownership rule refuses the request.
    pub fn forbidden(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, reason)
    }

    /// The hub failed: the cause is logged here, the device gets a generic reason.
    pub fn internal(error: &Error) -> ApiError {
        tracing::error!(target: crate::log_targets::HUB, error = %error, "request failed inside the hub");
        ApiError::new(ErrorCode::Internal, "the hub failed; try again later")
    }
}

/// What PostgreSQL said: its message and SQLSTATE (never the error's detail, which may quote
/// stored values), or the driver's own error.
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            let said = match std::error::Error::source(e) {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            };
            if said.contains("TLS") && said.contains("certificate") {
                format!(
                    "{said} (the hub verifies the server's certificate whenever it speaks TLS: name \
                     the CA that signed it with sslrootcert=FILE in the URL, or turn TLS off with \
                     sslmode=disable)"
                )
            } else {
                said
            }
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Busy(_) => {
                tracing::warn!(target: crate::log_targets::HUB, error = %e, "request refused: busy");
                ApiError::new(ErrorCode::Busy, "the hub is busy; try again later")
            }
            e => ApiError::internal(&e),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::internal(&Error::Database(e))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.body.reason, self.status)
    }
}

impl std::error::Error for ApiError {}

/// The HTTP status that goes with an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest | ErrorCode::Unsupported => StatusCode::BAD_REQUEST,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unauthorized | ErrorCode::Revoked => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::InvalidCode => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::AlreadyEnrolled => StatusCode::CONFLICT,
        ErrorCode::InvalidDocument
        | ErrorCode::PersonalData
        | ErrorCode::HashMismatch
        | ErrorCode::UnknownField
        | ErrorCode::ChangeMetadata
        | ErrorCode::UpgradeNeeded
        | ErrorCode::HistoryRegressed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Timeout => StatusCode::REQUEST_TIMEOUT,
    }
}
