//! The one error type of the bindings (`OutreachException` in Kotlin, `OutreachError` in Swift),
//! and the guard that turns a panic into its `Internal` variant instead of aborting the app.
//!
//! Variants are stable: apps branch on them. Every variant has a `reason` for people (logs,
//! support); no reason ever holds a note, a key or another value the user typed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use outreach_core::sync::protocol::ErrorCode;
use outreach_core::Error as CoreError;

use crate::types::{IntoFfi, PersonalDataSpan};

/// Everything an Outreach call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum OutreachError {
    /// A value given by the app is invalid; `field` names it as the app's language spells the
    /// property (`peopleReached`, `note`, `services.<id>.name`, `key`...), so that the app can
    /// show the message beside the input.
    #[error("{reason}")]
    InvalidInput {
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The note holds personal data (phone number, e-mail, IBAN, national register number,
    /// birth date); nothing was stored. `spans` say where, to highlight them.
    #[error("{reason}")]
    PersonalData {
        /// Where the note holds personal data.
        spans: Vec<PersonalDataSpan>,
        /// A description naming the kinds found, never the text.
        reason: String,
    },
    /// No such partner, brochure or visit on this device.
    #[error("{reason}")]
    NotFound {
        /// What was not found.
        reason: String,
    },
    /// The key does not open this store (or the file is not an encrypted Outreach store). The
    /// file was not touched.
    #[error("{reason}")]
    WrongKey {
        /// Details.
        reason: String,
    },
    /// The database or the file system failed, or the store is damaged or closed.
    #[error("{reason}")]
    Storage {
        /// Details.
        reason: String,
    },
    /// The hub could not be reached or answered wrongly, after retries. Nothing is lost: the
    /// next sync resumes.
    #[error("{reason}")]
    Network {
        /// Details.
        reason: String,
    },
    /// The hub does not accept this device's credentials, or the device's role does not allow
    /// the operation, or the device is not enrolled yet.
    #[error("{reason}")]
    Unauthorized {
        /// Details.
        reason: String,
    },
    /// The organisation revoked this device (lost), or retired it (handed in, once the hub held
    /// everything it had); its store has been deleted as the hub ordered. The reason says
    /// which. The app should forget the store and its key, and return to enrollment.
    #[error("{reason}")]
    RevokedAndWiped {
        /// Details.
        reason: String,
    },
    /// The operation was cancelled; the store is consistent and the next sync resumes.
    #[error("{reason}")]
    Cancelled {
        /// Details.
        reason: String,
    },
    /// A bug in Outreach (a panic was caught). The store is still usable; please report it.
    #[error("{reason}")]
    Internal {
        /// Details.
        reason: String,
    },
}

impl OutreachError {
    /// An invalid input at `field`.
    pub(crate) fn input(field: impl Into<String>, reason: String) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason,
        }
    }
}

/// A field as the apps name it: each word of the core's `snake_case` names in `lowerCamelCase`,
/// as the generated Kotlin and Swift properties are (`people_reached` is `peopleReached`,
/// `services.<id>.how_to_apply` is `services.<id>.howToApply`); ids, codes and days as they are.
pub(crate) fn app_field(field: &str) -> String {
    field
        .split('.')
        .map(|segment| {
            let snake = segment.contains('_')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !snake {
                return segment.to_string();
            }
            let mut out = String::with_capacity(segment.len());
            let mut upper = false;
            for c in segment.chars() {
                match c {
                    '_' => upper = true,
                    c if upper => {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    }
                    c => out.push(c),
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl From<CoreError> for OutreachError {
    fn from(e: CoreError) -> Self {
        let reason = e.to_string();
        match e {
            CoreError::Invalid(v) => {
                let field = app_field(&v.field);
                let reason = format!("invalid input: {field} {}", v.problem);
                Self::input(field, reason)
            }
            CoreError::KeyMissing | CoreError::KeyInvalid(_) => Self::input("key", reason),
            CoreError::PersonalData(spans) => Self::PersonalData {
                spans: spans.into_ffi(),
                reason,
            },
            CoreError::NotFound { .. } => Self::NotFound { reason },
            CoreError::WrongKey | CoreError::NotEncrypted => Self::WrongKey { reason },
            CoreError::SchemaTooNew { .. }
            | CoreError::Document(_)
            | CoreError::Storage(_)
            | CoreError::Corrupt(_)
            | CoreError::Io(_)
            | CoreError::Closed => Self::Storage { reason },
            CoreError::NotAllowed(_)
            | CoreError::KeptByStewards { .. }
            | CoreError::NotEnrolled
            | CoreError::Unauthorized => Self::Unauthorized { reason },
            CoreError::Network(_) | CoreError::Protocol(_) => Self::Network { reason },
            CoreError::Hub { code, .. } => match code {
                ErrorCode::Unauthorized | ErrorCode::Forbidden => Self::Unauthorized { reason },
                ErrorCode::Revoked => Self::RevokedAndWiped { reason },
                ErrorCode::InvalidCode | ErrorCode::AlreadyEnrolled => Self::input("code", reason),
                ErrorCode::PersonalData => Self::PersonalData {
                    spans: Vec::new(),
                    reason,
                },
                _ => Self::Network { reason },
            },
            // Retired or revoked, the store is gone: the app forgets it and its key.
            CoreError::RevokedAndWiped | CoreError::RetiredAndWiped => Self::RevokedAndWiped { reason },
            CoreError::Cancelled => Self::Cancelled { reason },
        }
    }
}

/// The reason given for a caught panic: its message when it is a string (core panics carry no
/// user data), else a generic one.
pub(crate) fn panic_reason(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error in Outreach (please report it): {message}")
}

/// Runs a call into the core, turning a panic into [`OutreachError::Internal`]. The core's
/// state stays consistent across a panic: its locks recover and every write is a transaction.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, OutreachError>) -> Result<T, OutreachError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(OutreachError::Internal {
            reason: panic_reason(&*payload),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal() {
        let caught: Result<(), OutreachError> = guard(|| panic!("broken invariant"));
        match caught {
            Err(OutreachError::Internal { reason }) => assert!(reason.contains("broken invariant")),
            other => panic!("expected Internal, got {other:?}"),
        }
        let formatted: Result<(), OutreachError> = guard(|| panic!("{} {}", "with", 2));
        assert!(matches!(formatted, Err(OutreachError::Internal { reason }) if reason.contains("with 2")));
        assert_eq!(guard(|| Ok(3)), Ok(3));
    }
}
