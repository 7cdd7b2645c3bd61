//! Brochures: public information material, one file per language, versioned and retired rather
//! than deleted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{Audience, Lang, Theme};
use super::ids::BrochureId;
use super::partner::{validate_multitext, MultiText, LONG_TEXT_MAX, SHORT_TEXT_MAX};
use super::validate::{in_range, max_chars, non_empty, Problem, Validation, ValidationError};

/// Media types a brochure file may have: what phones can show offline.
pub const MEDIA_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png", "image/webp"];

/// Largest brochure file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;

/// A brochure in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brochure {
    /// Stable id.
    pub id: BrochureId,
    /// Title per language.
    pub title: MultiText,
    /// Short summary per language.
    pub summary: MultiText,
    /// Themes it covers.
    pub themes: BTreeSet<Theme>,
    /// Who it is for.
    pub audience: BTreeSet<Audience>,
    /// The file for each language.
    pub files: BTreeMap<Lang, BrochureFile>,
    /// Version, raised at each new edition.
    pub version: u32,
    /// First publication.
    pub published_on: NaiveDate,
    /// Last update.
    pub updated_on: NaiveDate,
    /// Withdrawn brochures stay in the catalog, hidden from workers.
    pub retired: bool,
}

/// One file of a brochure, content-addressed by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrochureFile {
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type, one of [`MEDIA_TYPES`].
    pub media_type: String,
    /// File name to show and use when sharing.
    pub file_name: String,
}

/// An entry of [`Brochure::files`] as the apps see it (`BrochureFile` to them): the file with its
/// language, as text for the bindings to check.
#[cfg(feature = "uniffi")]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi(name = "BrochureFile")]
pub struct BrochureFileEntry {
    /// Language code.
    pub lang: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes (signed, as Kotlin and Swift count; never negative).
    pub size: i64,
    /// Media type (`application/pdf`...).
    pub media_type: String,
    /// File name to show and share.
    pub file_name: String,
}

/// What is wrong with a [`BrochureFileEntry`] given by an app.
#[cfg(feature = "uniffi")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidFileEntry {
    /// The language is not a known code.
    #[error("lang is not a known language code")]
    Lang,
    /// The size is negative.
    #[error("size must not be negative")]
    Size,
}

#[cfg(feature = "uniffi")]
impl From<(Lang, BrochureFile)> for BrochureFileEntry {
    fn from((lang, file): (Lang, BrochureFile)) -> Self {
        let BrochureFile {
            sha256,
            size,
            media_type,
            file_name,
        } = file;
        BrochureFileEntry {
            lang: lang.to_string(),
            sha256,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            media_type,
            file_name,
        }
    }
}

#[cfg(feature = "uniffi")]
impl TryFrom<BrochureFileEntry> for (Lang, BrochureFile) {
    type Error = InvalidFileEntry;

    fn try_from(entry: BrochureFileEntry) -> Result<Self, Self::Error> {
        let BrochureFileEntry {
            lang,
            sha256,
            size,
            media_type,
            file_name,
        } = entry;
        let file = BrochureFile {
            sha256,
            size: u64::try_from(size).map_err(|_| InvalidFileEntry::Size)?,
            media_type,
            file_name,
        };
        Ok((lang.parse().map_err(|_| InvalidFileEntry::Lang)?, file))
    }
}

impl Brochure {
    /// A new brochure with a random id, version 1, published and updated on `today`.
    pub fn new(today: NaiveDate) -> Brochure {
        Brochure {
            id: BrochureId::random(),
            title: MultiText::new(),
            summary: MultiText::new(),
            themes: BTreeSet::new(),
            audience: BTreeSet::from([Audience::Migrants]),
            files: BTreeMap::new(),
            version: 1,
            published_on: today,
            updated_on: today,
            retired: false,
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Validation {
        if self.title.is_empty() {
            return Err(ValidationError::new("title", Problem::Empty));
        }
        validate_multitext("title", &self.title, SHORT_TEXT_MAX)?;
        validate_multitext("summary", &self.summary, LONG_TEXT_MAX)?;
        if self.audience.is_empty() {
            return Err(ValidationError::new("audience", Problem::Empty));
        }
        in_range("version", i64::from(self.version), 1, 10_000)?;
        if self.updated_on < self.published_on {
            return Err(ValidationError::new(
                "updated_on",
                Problem::Malformed("a date on or after published_on"),
            ));
        }
        for (lang, f) in &self.files {
            f.validate(&format!("files.{lang}"))?;
        }
        Ok(())
    }
}

impl BrochureFile {
    /// Checks the hash, size, media type and file name, naming fields under `prefix`.
    pub fn validate(&self, prefix: &str) -> Validation {
        let f = |name: &str| format!("{prefix}.{name}");
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ValidationError::new(
                f("sha256"),
                Problem::Malformed("64 lower-case hex digits"),
            ));
        }
        if self.size == 0 || self.size > MAX_FILE_BYTES {
            return Err(ValidationError::new(
                f("size"),
                Problem::OutOfRange {
                    min: 1,
                    max: MAX_FILE_BYTES as i64,
                },
            ));
        }
        if !MEDIA_TYPES.contains(&self.media_type.as_str()) {
            return Err(ValidationError::new(
                f("media_type"),
                Problem::UnknownCode("media type"),
            ));
        }
        non_empty(&f("file_name"), &self.file_name)?;
        max_chars(&f("file_name"), &self.file_name, 200)?;
        if self.file_name.contains(['/', '\\', '\0']) || self.file_name.starts_with('.') {
            return Err(ValidationError::new(
                f("file_name"),
                Problem::Malformed("a plain file name"),
            ));
        }
        Ok(())
    }
}
