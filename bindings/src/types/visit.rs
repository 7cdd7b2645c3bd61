//! Visits as the apps see them: the breakdowns of a visit as lists of counts, not maps.

use std::collections::BTreeMap;

use outreach_core::model as m;
use outreach_core::model::{Activity, AgeBand, Gender, PartOfDay, Setting, Theme};

use super::{invalid, lang_set, parse_id, set_of, strings, IsoDate, Res};
use crate::error::OutreachError;

/// People of one gender reached by a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GenderCount {
    /// The gender.
    pub gender: Gender,
    /// People.
    pub count: u32,
}

/// People of one age band reached by a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgeCount {
    /// The band.
    pub band: AgeBand,
    /// People.
    pub count: u32,
}

/// People from one country of origin reached by a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OriginCount {
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// People.
    pub count: u32,
}

/// Copies of one brochure given.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BrochureCount {
    /// The brochure's id.
    pub brochure_id: String,
    /// Copies given (or shown).
    pub count: u32,
}

/// A referral to a partner for a theme.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Referral {
    /// The partner's id.
    pub partner_id: String,
    /// What for.
    pub theme: Theme,
}

/// An anonymised contact or session, as logged by an outreach worker. It holds no name, no
/// address, no coordinates and no exact time; the note is refused if it holds personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitDetails {
    /// Day of the visit (at most one day ahead).
    pub date: IsoDate,
    /// Part of the day.
    pub part_of_day: PartOfDay,
    /// Postcode of the municipality.
    pub postcode: u16,
    /// Municipality name.
    pub municipality: String,
    /// Kind of place.
    pub setting: Setting,
    /// What the visit was.
    pub activity: Activity,
    /// People reached (1..=500).
    pub people_reached: u32,
    /// Optional counts by gender (adding up to at most `people_reached`).
    #[uniffi(default)]
    pub by_gender: Vec<GenderCount>,
    /// Optional counts by age band.
    #[uniffi(default)]
    pub by_age: Vec<AgeCount>,
    /// Languages used (language codes).
    #[uniffi(default)]
    pub languages: Vec<String>,
    /// Optional counts by country of origin.
    #[uniffi(default)]
    pub origins: Vec<OriginCount>,
    /// Themes discussed.
    #[uniffi(default)]
    pub themes: Vec<Theme>,
    /// Brochures given.
    #[uniffi(default)]
    pub brochures: Vec<BrochureCount>,
    /// Referrals made.
    #[uniffi(default)]
    pub referrals: Vec<Referral>,
    /// Whether a follow-up is needed.
    #[uniffi(default = false)]
    pub follow_up: bool,
    /// A short note (at most 500 characters), without personal data.
    #[uniffi(default = "")]
    pub note: String,
}

/// A map from counts listed by the app, refusing a value listed twice.
fn counts<K: Ord>(field: &str, items: impl IntoIterator<Item = Res<(K, u32)>>) -> Res<BTreeMap<K, u32>> {
    let mut map = BTreeMap::new();
    for item in items {
        let (k, n) = item?;
        if map.insert(k, n).is_some() {
            return Err(invalid(field, "lists the same value twice"));
        }
    }
    Ok(map)
}

impl TryFrom<VisitDetails> for m::VisitDetails {
    type Error = OutreachError;

    fn try_from(v: VisitDetails) -> Res<Self> {
        let country = |code: &str| {
            code.parse()
                .map_err(|_| invalid("origins", "is not a known country code"))
        };
        let referral = |r: Referral| {
            let partner = parse_id("referrals", &r.partner_id)?;
            Ok(m::Referral {
                partner,
                theme: r.theme,
            })
        };
        Ok(convert!(v, VisitDetails => m::VisitDetails {
            date, part_of_day, postcode, municipality, setting, activity, people_reached,
            by_gender: counts("by_gender", by_gender.into_iter().map(|c| Ok((c.gender, c.count))))?,
            by_age: counts("by_age", by_age.into_iter().map(|c| Ok((c.band, c.count))))?,
            languages: lang_set("languages", languages)?,
            origins: counts("origins", origins.into_iter().map(|c| Ok((country(&c.country)?, c.count))))?,
            themes: set_of(themes),
            brochures: counts("brochures", brochures.into_iter().map(|c| Ok((parse_id("brochures", &c.brochure_id)?, c.count))))?,
            referrals: referrals.into_iter().map(referral).collect::<Res<_>>()?,
            follow_up, note,
        }))
    }
}

impl From<m::VisitDetails> for VisitDetails {
    fn from(v: m::VisitDetails) -> Self {
        let origin = |(c, count): (m::Country, u32)| OriginCount {
            country: c.to_string(),
            count,
        };
        let brochure = |(b, count): (m::BrochureId, u32)| BrochureCount {
            brochure_id: b.to_string(),
            count,
        };
        let referral = |m::Referral { partner, theme }| Referral {
            partner_id: partner.to_string(),
            theme,
        };
        convert!(v, m::VisitDetails => VisitDetails {
            date, part_of_day, postcode, municipality, setting, activity, people_reached,
            by_gender: by_gender.into_iter().map(|(gender, count)| GenderCount { gender, count }).collect(),
            by_age: by_age.into_iter().map(|(band, count)| AgeCount { band, count }).collect(),
            languages: strings(languages), origins: origins.into_iter().map(origin).collect(), themes: set_of(themes),
            brochures: brochures.into_iter().map(brochure).collect(),
            referrals: referrals.into_iter().map(referral).collect(), follow_up, note,
        })
    }
}

/// A logged visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Visit {
    /// Id.
    pub id: String,
    /// The device that logged it.
    pub device_id: String,
    /// What was logged.
    pub details: VisitDetails,
}

impl From<m::Visit> for Visit {
    fn from(v: m::Visit) -> Self {
        let m::Visit { id, device, details } = v;
        let (id, device_id, details) = (id.to_string(), device.to_string(), details.into());
        Visit {
            id,
            device_id,
            details,
        }
    }
}
