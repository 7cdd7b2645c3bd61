//! Suggestions from the field: a worker (or a coordinator outside a region's stewards) flags a
//! directory entry and proposes a correction; a coordinator accepts it (the edit is made) or
//! dismisses it with a reason, and the author sees the outcome. A suggestion is about a
//! partner's entry, never about a person: its comment is checked by the privacy guard.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::Region;
use super::ids::{DeviceId, PartnerId, SuggestionId};
use super::validate::{max_chars, non_empty, optional_text, Problem, Validation, ValidationError};
use super::LONG_TEXT_MAX;

/// Longest comment of a suggestion or reason of an answer, in characters.
pub const COMMENT_MAX: usize = 500;

/// A proposed correction of a directory entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Suggestion {
    /// Stable id.
    pub id: SuggestionId,
    /// The device that made it.
    pub author: DeviceId,
    /// The partner it is about.
    pub partner: PartnerId,
    /// The partner's region (the section whose stewards answer it).
    pub region: Region,
    /// The field, as the CLI and the apps name it (`notes`, `locations.<id>.hours`); none for
    /// a flag on the whole entry ("this office moved").
    pub field: Option<String>,
    /// The value proposed for the field, as `partners edit` would take it; none to clear it or
    /// for a flag.
    pub value: Option<String>,
    /// What the author says, for the coordinator (no personal data).
    pub comment: String,
    /// When it was made.
    pub made_on: NaiveDate,
    /// The coordinator's answer, once there is one.
    pub answer: Option<Answer>,
}

/// A coordinator's answer to a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Answer {
    /// Accepted (the edit was made) or dismissed.
    pub outcome: Outcome,
    /// Why, for a dismissal (required) or an acceptance (optional).
    pub reason: Option<String>,
    /// When.
    pub on: NaiveDate,
    /// The device that answered.
    pub by: DeviceId,
}

/// What became of a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Outcome {
    /// The edit was made.
    Accepted,
    /// It was not taken, for the reason given.
    Dismissed,
}

impl Outcome {
    /// Stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Dismissed => "dismissed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = super::UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accepted" => Ok(Outcome::Accepted),
            "dismissed" => Ok(Outcome::Dismissed),
            _ => Err(super::UnknownCode {
                vocabulary: "outcome",
            }),
        }
    }
}

impl Suggestion {
    /// Checks the author's fields: a comment, a field the vocabulary knows, text within bounds.
    /// The privacy guard is run by the store, which knows the partners' public contacts.
    pub fn validate(&self) -> Validation {
        non_empty("comment", &self.comment)?;
        max_chars("comment", &self.comment, COMMENT_MAX)?;
        if let Some(field) = &self.field {
            super::fields::partner_doc_path(field)?;
        }
        if self.field.is_none() && self.value.is_some() {
            return Err(ValidationError::new(
                "value",
                Problem::Malformed("a value proposed for a field"),
            ));
        }
        optional_text("value", self.value.as_deref(), LONG_TEXT_MAX)
    }
}

impl Answer {
    /// The answer as its document keeps it, one value (`accepted|2026-12-02|Thanks`), so that
    /// two coordinators answering at once leave one whole answer, never parts of both.
    pub fn stored_value(&self) -> String {
        format!(
            "{}|{}|{}",
            self.outcome,
            self.on,
            self.reason.as_deref().unwrap_or("")
        )
    }

    /// Reads what [`stored_value`](Self::stored_value) wrote, given by `by`.
    pub fn from_stored(value: &str, by: DeviceId) -> Option<Answer> {
        let mut parts = value.splitn(3, '|');
        let outcome = parts.next()?.parse().ok()?;
        let on = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
        let reason = parts.next()?;
        let answer = Answer {
            outcome,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            on,
            by,
        };
        answer.validate().ok()?;
        Some(answer)
    }

    /// Checks the answer: a dismissal says why.
    pub fn validate(&self) -> Validation {
        if self.outcome == Outcome::Dismissed && self.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(ValidationError::new("reason", Problem::Empty));
        }
        optional_text("reason", self.reason.as_deref(), COMMENT_MAX)
    }
}
