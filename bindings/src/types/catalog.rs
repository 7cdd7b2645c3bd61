//! The brochure catalog as the apps see it: one file per language as a list, not a map.

use std::collections::HashMap;

use outreach_core as oc;
use outreach_core::model as m;
use outreach_core::model::{Audience, Theme};

use super::{lang, multi_text, multi_text_out, parse_id, set_of, IsoDate, Res};
use crate::error::OutreachError;

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

fn file_out(lang: &m::Lang, f: m::BrochureFile) -> BrochureFile {
    let m::BrochureFile {
        sha256,
        size,
        media_type,
        file_name,
    } = f;
    BrochureFile {
        lang: lang.to_string(),
        sha256,
        size,
        media_type,
        file_name,
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

impl TryFrom<Brochure> for m::Brochure {
    type Error = OutreachError;

    fn try_from(b: Brochure) -> Res<Self> {
        let file = |f: BrochureFile| {
            let BrochureFile {
                lang: code,
                sha256,
                size,
                media_type,
                file_name,
            } = f;
            Ok((
                lang("files.lang", &code)?,
                m::BrochureFile {
                    sha256,
                    size,
                    media_type,
                    file_name,
                },
            ))
        };
        Ok(convert!(b, Brochure => m::Brochure {
            id: parse_id("id", &id)?, title: multi_text("title", title)?, summary: multi_text("summary", summary)?,
            themes: set_of(themes), audience: set_of(audience), files: files.into_iter().map(file).collect::<Res<_>>()?,
            version, published_on, updated_on, retired,
        }))
    }
}

impl From<m::Brochure> for Brochure {
    fn from(b: m::Brochure) -> Self {
        convert!(b, m::Brochure => Brochure {
            id: id.to_string(), title: multi_text_out(title), summary: multi_text_out(summary), themes: set_of(themes),
            audience: set_of(audience), files: files.into_iter().map(|(l, f)| file_out(&l, f)).collect(),
            version, published_on, updated_on, retired,
        })
    }
}

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

impl From<oc::store::BrochureView> for BrochureView {
    fn from(b: oc::store::BrochureView) -> Self {
        convert!(b, oc::store::BrochureView => BrochureView {
            id: id.to_string(), title, title_lang: title_lang.to_string(), summary, themes: set_of(themes),
            audience: set_of(audience), file: file.map(|(l, f)| file_out(&l, f)), version, updated_on,
        })
    }
}
