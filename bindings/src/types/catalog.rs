//! The brochure catalog as the apps see it: one file per language as a list, not a map.

use std::collections::HashMap;

use outreach_core::model as m;
use outreach_core::model::{Audience, BrochureFileEntry as BrochureFile, Theme};

use super::{invalid, FromFfi, IntoFfi, IsoDate, Res};

/// A brochure's files cross as a list of the core's entries, each with its language.
impl FromFfi<BrochureFile> for (m::Lang, m::BrochureFile) {
    fn from_ffi(field: &str, file: BrochureFile) -> Res<Self> {
        file.try_into().map_err(|e| match e {
            m::InvalidFileEntry::Lang => invalid(format!("{field}.lang"), "is not a known language code"),
            m::InvalidFileEntry::Size => invalid(format!("{field}.size"), "must not be negative"),
        })
    }
}

impl IntoFfi<BrochureFile> for (m::Lang, m::BrochureFile) {
    fn into_ffi(self) -> BrochureFile {
        self.into()
    }
}

/// A brochure of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Brochure {
    /// Id (UUID text); use [`new_id`](crate::new_id) for a new brochure.
    pub id: String,
    /// Title by language code.
    pub title: HashMap<String, String>,
    /// Summary by language code.
    #[uniffi(default)]
    pub summary: HashMap<String, String>,
    /// Themes.
    #[uniffi(default)]
    pub themes: Vec<Theme>,
    /// Who it is for.
    #[uniffi(default)]
    pub audience: Vec<Audience>,
    /// One file per language (published with `publishBrochureFile`).
    #[uniffi(default)]
    pub files: Vec<BrochureFile>,
    /// Version, raised at each new edition.
    #[uniffi(default = 1)]
    pub version: i32,
    /// First publication.
    pub published_on: IsoDate,
    /// Last update.
    pub updated_on: IsoDate,
    /// Withdrawn from use (brochures are retired, never deleted).
    #[uniffi(default = false)]
    pub retired: bool,
}

convert!(Brochure <=> m::Brochure {
    id, title, summary, themes, audience, files, version, published_on, updated_on, retired,
});
