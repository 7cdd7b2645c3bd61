//! The brochure catalog as the apps see it: one file per language as a list, not a map.

use std::collections::HashMap;

use outreach_core as oc;
use outreach_core::model as m;
use outreach_core::model::{Audience, Theme};

use super::{arg, join, FromFfi, IntoFfi, IsoDate, Res};

/// A file of a brochure in one language.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BrochureFile {
    /// Language code.
    pub lang: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type (`application/pdf`...).
    pub media_type: String,
    /// File name to show and share.
    pub file_name: String,
}

/// A brochure's files cross as a list, each with its language.
impl FromFfi<BrochureFile> for (m::Lang, m::BrochureFile) {
    fn from_ffi(field: &str, file: BrochureFile) -> Res<Self> {
        let BrochureFile {
            lang,
            sha256,
            size,
            media_type,
            file_name,
        } = file;
        let file = m::BrochureFile {
            sha256,
            size,
            media_type,
            file_name,
        };
        Ok((arg(&join(field, "lang"), lang)?, file))
    }
}

impl IntoFfi<BrochureFile> for (m::Lang, m::BrochureFile) {
    fn into_ffi(self) -> BrochureFile {
        let (
            lang,
            m::BrochureFile {
                sha256,
                size,
                media_type,
                file_name,
            },
        ) = self;
        BrochureFile {
            lang: lang.into_ffi(),
            sha256,
            size,
            media_type,
            file_name,
        }
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
    pub version: u32,
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

/// A brochure in force as shown to a worker, in the best of their languages.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BrochureView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Language of the title.
    pub title_lang: String,
    /// Summary.
    pub summary: Option<String>,
    /// Themes.
    pub themes: Vec<Theme>,
    /// Audience.
    pub audience: Vec<Audience>,
    /// The file in the best available language (it may not be on the device yet).
    pub file: Option<BrochureFile>,
    /// Version.
    pub version: u32,
    /// Last update.
    pub updated_on: IsoDate,
}

convert!(
    BrochureView
        <= oc::store::BrochureView {
            id,
            title,
            title_lang,
            summary,
            themes,
            audience,
            file,
            version,
            updated_on,
        }
);

impl IntoFfi<Option<BrochureFile>> for Option<(m::Lang, m::BrochureFile)> {
    fn into_ffi(self) -> Option<BrochureFile> {
        self.map(IntoFfi::into_ffi)
    }
}
