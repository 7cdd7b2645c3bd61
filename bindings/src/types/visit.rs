//! Visits as the apps see them: the breakdowns of a visit as lists of counts, not maps.

use outreach_core::model as m;
use outreach_core::model::{Activity, AgeBand, Gender, PartOfDay, Setting, Theme};

use super::{arg, FromFfi, IntoFfi, IsoDate, Res};

/// People of one gender reached by a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GenderCount {
    /// The gender.
    pub gender: Gender,
    /// People (at least 1).
    pub count: i32,
}

/// People of one age band reached by a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgeCount {
    /// The band.
    pub band: AgeBand,
    /// People (at least 1).
    pub count: i32,
}

/// People from one country of origin reached by a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OriginCount {
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// People (at least 1).
    pub count: i32,
}

/// Copies of one brochure given.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BrochureCount {
    /// The brochure's id.
    pub brochure_id: String,
    /// Copies given (or shown), at least 1.
    pub count: i32,
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
    pub postcode: i32,
    /// Municipality name.
    pub municipality: String,
    /// Kind of place.
    pub setting: Setting,
    /// What the visit was.
    pub activity: Activity,
    /// People reached (1..=500).
    pub people_reached: i32,
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

convert!(VisitDetails <=> m::VisitDetails {
    date, part_of_day, postcode, municipality, setting, activity, people_reached, by_gender, by_age, languages,
    origins, themes, brochures, referrals, follow_up, note,
});
convert!("referrals." Referral <=> m::Referral { partner_id = partner, theme });

/// The counts of a visit cross as lists of records, each a key and its count.
macro_rules! counts {
    ($($ffi:ident { $key:ident: $ty:ty }),*) => {$(
        impl FromFfi<$ffi> for ($ty, u32) {
            fn from_ffi(field: &str, $ffi { $key, count }: $ffi) -> Res<Self> {
                Ok((arg(field, $key)?, arg(&format!("{field}.count"), count)?))
            }
        }
        impl IntoFfi<$ffi> for ($ty, u32) {
            fn into_ffi(self) -> $ffi {
                let ($key, count) = self;
                $ffi { $key: $key.into_ffi(), count: count.into_ffi() }
            }
        }
    )*};
}

counts! {
    GenderCount { gender: Gender }, AgeCount { band: AgeBand }, OriginCount { country: m::Country },
    BrochureCount { brochure_id: m::BrochureId }
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

convert!(Visit <= m::Visit { id, device_id = device, details });
