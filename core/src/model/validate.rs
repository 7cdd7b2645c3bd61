//! Typed validation errors that name the offending field, so that an app can put the message
//! next to the right input.

use std::fmt;

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The field must not be empty.
    Empty,
    /// The value is not a known code of its vocabulary.
    UnknownCode(&'static str),
    /// A number outside its allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Text longer than allowed, in characters.
    TooLong {
        /// Maximum number of characters.
        max: usize,
    },
    /// A date too far in the future.
    InFuture,
    /// A breakdown whose counts add up to more than the total.
    ExceedsTotal {
        /// The total the breakdown must stay within.
        total: u32,
    },
    /// The value does not have the expected shape (with a short hint, never the value itself).
    Malformed(&'static str),
    /// The id does not refer to anything this device knows.
    UnknownReference,
    /// The change is not allowed (for example moving a visit to another month).
    NotAllowed(&'static str),
    /// No field has this name; the names valid where it stands, as the CLI and the apps name
    /// them.
    UnknownField(Vec<&'static str>),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("must not be empty"),
            Problem::UnknownCode(vocabulary) => write!(f, "unknown {vocabulary} code"),
            Problem::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Problem::TooLong { max } => write!(f, "must be at most {max} characters"),
            Problem::InFuture => f.write_str("must not be more than one day in the future"),
            Problem::ExceedsTotal { total } => {
                write!(f, "counts add up to more than the {total} people reached")
            }
            Problem::Malformed(hint) => write!(f, "is malformed: expected {hint}"),
            Problem::UnknownReference => f.write_str("refers to something unknown on this device"),
            Problem::NotAllowed(why) => write!(f, "cannot be changed: {why}"),
            Problem::UnknownField(valid) => write!(f, "is not a field; the fields are: {}", valid.join(", ")),
        }
    }
}

/// A field failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct ValidationError {
    /// Path of the field, e.g. `name`, `people_reached`, `services.<id>.name`.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl ValidationError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }
}

/// Result of a validation.
pub type Validation = Result<(), ValidationError>;

/// Fails with [`Problem::Empty`] when `value` is blank.
pub(crate) fn non_empty(field: &str, value: &str) -> Validation {
    if value.trim().is_empty() {
        Err(ValidationError::new(field, Problem::Empty))
    } else {
        Ok(())
    }
}

/// Fails with [`Problem::TooLong`] when `value` has more than `max` characters.
pub(crate) fn max_chars(field: &str, value: &str, max: usize) -> Validation {
    if value.chars().count() > max {
        Err(ValidationError::new(field, Problem::TooLong { max }))
    } else {
        Ok(())
    }
}

/// Fails with [`Problem::OutOfRange`] unless `min <= value <= max`.
pub(crate) fn in_range(field: &str, value: i64, min: i64, max: i64) -> Validation {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(field, Problem::OutOfRange { min, max }))
    }
}

/// A short optional text: blank is refused (use `None`), and at most `max` characters.
pub(crate) fn optional_text(field: &str, value: Option<&str>, max: usize) -> Validation {
    match value {
        Some(v) => {
            non_empty(field, v)?;
            max_chars(field, v, max)
        }
        None => Ok(()),
    }
}
