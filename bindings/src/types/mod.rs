//! The records and enums the apps see, mirroring the core's model, with conversions both ways.
//!
//! They mirror rather than re-export the core's types: the core keys its maps and sets by
//! validated newtypes in `BTreeMap`/`BTreeSet`, which UniFFI cannot carry, and the apps are
//! better served by lists and plain strings (ids are UUID text, languages ISO 639 codes,
//! countries ISO 3166 codes, calendar days `LocalDate` in Kotlin). Every conversion from an app
//! value is checked, and a bad one is an [`OutreachError::InvalidInput`] naming the field.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use outreach_core as oc;
use outreach_core::model as m;

use crate::error::OutreachError;

/// A calendar day. `java.time.LocalDate` in Kotlin; `YYYY-MM-DD` text in Swift.
pub type IsoDate = NaiveDate;

uniffi::custom_type!(IsoDate, String, {
    remote,
    lower: |day| day.format("%Y-%m-%d").to_string(),
    try_lift: |text| Ok(NaiveDate::parse_from_str(&text, "%Y-%m-%d")?),
});

/// A local date and time, without a time zone. `java.time.LocalDateTime` in Kotlin;
/// `YYYY-MM-DDTHH:MM[:SS]` text in Swift.
pub type IsoDateTime = NaiveDateTime;

uniffi::custom_type!(IsoDateTime, String, {
    remote,
    lower: |at| at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    try_lift: |text| {
        let parsed = NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M"))?;
        Ok(parsed)
    },
});

type Res<T> = Result<T, OutreachError>;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> OutreachError {
    let field = field.into();
    OutreachError::InvalidInput {
        reason: format!("{field} {}", reason.into()),
        field,
    }
}

/// Parses an id given by the app, naming `field` if it is not one.
pub(crate) fn id<T: FromStr>(field: &str, text: &str) -> Res<T> {
    text.parse()
        .map_err(|_| invalid(field, "is not a valid id (a UUID)"))
}

pub(crate) fn lang(field: &str, code: &str) -> Res<m::Lang> {
    code.parse()
        .map_err(|_| invalid(field, "is not a known language code"))
}

pub(crate) fn langs(field: &str, codes: &[String]) -> Res<Vec<m::Lang>> {
    codes.iter().map(|c| lang(field, c)).collect()
}

fn lang_set(field: &str, codes: Vec<String>) -> Res<BTreeSet<m::Lang>> {
    codes.iter().map(|c| lang(field, c)).collect()
}

fn country(field: &str, code: &str) -> Res<m::Country> {
    code.parse()
        .map_err(|_| invalid(field, "is not a known country code"))
}

fn strings<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|i| i.to_string()).collect()
}

fn multi_text(field: &str, text: HashMap<String, String>) -> Res<m::MultiText> {
    text.into_iter().map(|(l, t)| Ok((lang(field, &l)?, t))).collect()
}

fn multi_text_out(text: m::MultiText) -> HashMap<String, String> {
    text.into_iter().map(|(l, t)| (l.to_string(), t)).collect()
}

fn set_of<A, B: From<A>, C: FromIterator<B>>(items: impl IntoIterator<Item = A>) -> C {
    items.into_iter().map(B::from).collect()
}

fn time(t: DateTime<Utc>) -> SystemTime {
    SystemTime::from(t)
}

/// Declares an FFI enum mirroring a core enum variant for variant, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident => $core:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, uniffi::Enum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $core {
            fn from(value: $name) -> $core {
                use $core as Core;
                match value {
                    $($name::$variant => Core::$variant),+
                }
            }
        }

        impl From<$core> for $name {
            fn from(value: $core) -> $name {
                use $core as Core;
                match value {
                    $(Core::$variant => $name::$variant),+
                }
            }
        }
    };
}

mirror_enum! {
    /// What a partner, service, brochure or visit is about (CONEX themes).
    Theme => m::Theme {
        /// Psychosocial support.
        Psychosocial,
        /// Administrative help (documents, registrations).
        Administrative,
        /// Legal advice.
        Legal,
        /// Work and training.
        Employment,
        /// Material help: food, clothes, hygiene.
        Material,
        /// Medical care, including urgent medical aid.
        Medical,
        /// Cultural and community activities.
        Cultural,
        /// Voluntary return.
        VoluntaryReturn,
        /// Reintegration support after return.
        Reintegration,
        /// Residence procedures (regularisation, family reunification...).
        ResidenceProcedures,
        /// Social rights (income support, insurance).
        SocialRights,
        /// International protection (asylum).
        InternationalProtection,
        /// Shelter and housing.
        Shelter,
        /// Education and language courses.
        Education,
    }
}

mirror_enum! {
    /// A Belgian province, or the Brussels-Capital Region.
    Region => m::Region {
        /// Brussels-Capital Region.
        Brussels,
        /// Antwerp.
        Antwerp,
        /// Limburg.
        Limburg,
        /// East Flanders.
        EastFlanders,
        /// West Flanders.
        WestFlanders,
        /// Flemish Brabant.
        FlemishBrabant,
        /// Walloon Brabant.
        WalloonBrabant,
        /// Hainaut.
        Hainaut,
        /// Liège.
        Liege,
        /// Luxembourg.
        Luxembourg,
        /// Namur.
        Namur,
    }
}

mirror_enum! {
    /// The kind of organisation a partner is.
    OrgKind => m::OrgKind {
        /// A public agency (Fedasil, a federal or regional service).
        PublicAgency,
        /// A service of a city or municipality (including a CPAS/OCMW).
        CityService,
        /// A welfare centre (CAW).
        WelfareCentre,
        /// An international organisation (IOM...).
        InternationalOrganisation,
        /// A non-governmental organisation.
        Ngo,
        /// A health service.
        HealthService,
        /// A legal service.
        LegalService,
        /// A diaspora association.
        DiasporaAssociation,
        /// Anything else.
        Other,
    }
}

mirror_enum! {
    /// Whether a partner (or a service) is working. Partners are closed, never deleted.
    PartnerStatus => m::PartnerStatus {
        /// Working.
        Active,
        /// Not working for now, without a date.
        Inactive,
        /// Closed for good.
        Defunct,
        /// Closed for a while (holidays, works).
        TemporarilyClosed,
    }
}

mirror_enum! {
    /// Who a brochure is written for.
    Audience => m::Audience {
        /// Migrants themselves.
        Migrants,
        /// Outreach workers and other frontline staff.
        FrontlineStaff,
    }
}

mirror_enum! {
    /// Part of the day a visit took place (never the exact time).
    PartOfDay => m::PartOfDay {
        /// Morning.
        Morning,
        /// Afternoon.
        Afternoon,
        /// Evening.
        Evening,
        /// Night.
        Night,
    }
}

mirror_enum! {
    /// The kind of place a visit took place at (never an address or coordinates).
    Setting => m::Setting {
        /// In the street.
        Street,
        /// A night or emergency shelter.
        Shelter,
        /// A day centre.
        DayCentre,
        /// A soup kitchen.
        SoupKitchen,
        /// A diaspora association.
        DiasporaAssociation,
        /// An information session.
        InformationSession,
        /// A return desk.
        ReturnDesk,
        /// By phone or online.
        PhoneOrOnline,
        /// Anywhere else.
        Other,
    }
}

mirror_enum! {
    /// What the visit was.
    Activity => m::Activity {
        /// A contact with one person or a family.
        IndividualContact,
        /// A session with a group.
        GroupSession,
        /// A briefing of a partner's staff.
        PartnerBriefing,
    }
}

mirror_enum! {
    /// Gender, for optional anonymous counts.
    Gender => m::Gender {
        /// Female.
        Female,
        /// Male.
        Male,
        /// Another gender, or not said.
        Other,
    }
}

mirror_enum! {
    /// Wide age bands, for optional anonymous counts.
    AgeBand => m::AgeBand {
        /// Under 18.
        Under18,
        /// 18 to 25.
        From18To25,
        /// 26 to 35.
        From26To35,
        /// 36 to 50.
        From36To50,
        /// Over 50.
        Over50,
    }
}

mirror_enum! {
    /// A day of the week.
    Weekday => m::Weekday {
        /// Monday.
        Mon,
        /// Tuesday.
        Tue,
        /// Wednesday.
        Wed,
        /// Thursday.
        Thu,
        /// Friday.
        Fri,
        /// Saturday.
        Sat,
        /// Sunday.
        Sun,
    }
}

mirror_enum! {
    /// What kind of personal data a note was found to contain.
    PersonalDataKind => oc::privacy::PersonalDataKind {
        /// A phone number.
        PhoneNumber,
        /// An e-mail address, possibly obfuscated.
        EmailAddress,
        /// A bank account number (IBAN).
        Iban,
        /// A Belgian national register number.
        NationalRegisterNumber,
        /// A Belgian BIS number.
        BisNumber,
        /// An explicit birth date.
        BirthDate,
    }
}

mirror_enum! {
    /// The step a sync is at.
    SyncPhase => oc::SyncPhase {
        /// Reaching the hub.
        Connecting,
        /// Sending files or changes.
        Uploading,
        /// Waiting for the hub's answer to start (told every few seconds; `bytes` holds the
        /// milliseconds waited).
        Waiting,
        /// Receiving the hub's answer.
        Downloading,
        /// Merging what was received into the store.
        Applying,
        /// Fetching brochure files.
        BrochureFiles,
        /// Finished.
        Done,
    }
}

mirror_enum! {
    /// A device's role in its organisation, given at enrollment.
    Role => oc::sync::protocol::Role {
        /// Logs visits; reads the directory and brochures.
        Fieldworker,
        /// Also edits the directory and publishes brochures.
        Coordinator,
        /// A coordinator who also manages the organisation's devices.
        Admin,
    }
}

/// Where a note holds personal data. The visit was not stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonalDataSpan {
    /// What was found.
    pub kind: PersonalDataKind,
    /// Start, in UTF-16 code units (Kotlin and Java string indices).
    pub start_utf16: u32,
    /// End, exclusive, in UTF-16 code units.
    pub end_utf16: u32,
    /// Start, in UTF-8 bytes.
    pub start_utf8: u32,
    /// End, exclusive, in UTF-8 bytes.
    pub end_utf8: u32,
}

impl From<&oc::privacy::PersonalDataSpan> for PersonalDataSpan {
    fn from(s: &oc::privacy::PersonalDataSpan) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        PersonalDataSpan {
            kind: s.kind.into(),
            start_utf16: n(s.start_utf16),
            end_utf16: n(s.end_utf16),
            start_utf8: n(s.start),
            end_utf8: n(s.end),
        }
    }
}

/// Opening hours on one day: from `open` to `close`, in minutes after midnight. A range that
/// closes before it opens runs past midnight (a night shelter: 21:00 to 08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TimeRange {
    /// Opening, minutes after midnight (0..1440).
    pub open: u16,
    /// Closing, minutes after midnight (0..=1440).
    pub close: u16,
}

/// The hours of one weekday: one or more ranges (a lunch break makes two).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DayHours {
    /// The day.
    pub day: Weekday,
    /// Its ranges, in order.
    pub ranges: Vec<TimeRange>,
}

fn hours_in(field: &str, days: Vec<DayHours>) -> Res<m::WeeklyHours> {
    let mut map: BTreeMap<m::Weekday, Vec<m::TimeRange>> = BTreeMap::new();
    for d in days {
        for r in d.ranges {
            let open = (r.open / 60, r.open % 60);
            let close = (r.close / 60, r.close % 60);
            let range = m::TimeRange::new(open, close)
                .ok_or_else(|| invalid(field, "holds a time outside 00:00..24:00"))?;
            map.entry(d.day.into()).or_default().push(range);
        }
    }
    let hours = m::WeeklyHours(map);
    hours
        .check()
        .map_err(|_| invalid(field, "holds overlapping or empty ranges"))?;
    Ok(hours)
}

fn hours_out(hours: m::WeeklyHours) -> Vec<DayHours> {
    hours
        .0
        .into_iter()
        .map(|(day, ranges)| DayHours {
            day: day.into(),
            ranges: ranges
                .into_iter()
                .map(|r| TimeRange {
                    open: r.open,
                    close: r.close,
                })
                .collect(),
        })
        .collect()
}

/// A phone number of a partner.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Phone {
    /// The number as written (`+32 2 213 44 00`).
    pub number: String,
    /// What it is for (`reception`, `helpline`...).
    #[uniffi(default = None)]
    pub label: Option<String>,
}

/// A service a partner offers (HSDS `service`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Service {
    /// Id (UUID text); use [`new_id`](crate::new_id) for a new service.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description by language code.
    #[uniffi(default)]
    pub description: HashMap<String, String>,
    /// Themes.
    #[uniffi(default)]
    pub themes: Vec<Theme>,
    /// Languages spoken (language codes).
    #[uniffi(default)]
    pub languages: Vec<String>,
    /// Who can use it.
    #[uniffi(default = None)]
    pub eligibility: Option<String>,
    /// What it costs.
    #[uniffi(default = None)]
    pub fees: Option<String>,
    /// How to apply.
    #[uniffi(default = None)]
    pub how_to_apply: Option<String>,
    /// When it runs (empty: the location's hours).
    #[uniffi(default)]
    pub schedule: Vec<DayHours>,
    /// Status.
    pub status: PartnerStatus,
}

/// An office of a partner (HSDS `location`). Its coordinates are the office's, never a person's.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Location {
    /// Id (UUID text); use [`new_id`](crate::new_id) for a new location.
    pub id: String,
    /// Name, if the partner has several offices.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// Street and number.
    #[uniffi(default = None)]
    pub street: Option<String>,
    /// Belgian postcode (1000..=9999).
    pub postcode: u16,
    /// Municipality.
    pub municipality: String,
    /// Province of the office.
    pub province: Region,
    /// Latitude of the office (WGS 84).
    #[uniffi(default = None)]
    pub latitude: Option<f64>,
    /// Longitude of the office (WGS 84).
    #[uniffi(default = None)]
    pub longitude: Option<f64>,
    /// Opening hours.
    #[uniffi(default)]
    pub hours: Vec<DayHours>,
    /// Accessibility notes.
    #[uniffi(default = None)]
    pub accessibility: Option<String>,
}

/// A partner organisation of the directory (HSDS `organization`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Partner {
    /// Id (UUID text); use [`new_id`](crate::new_id) for a new partner.
    pub id: String,
    /// Home region: the directory section the entry lives in.
    pub region: Region,
    /// Name.
    pub name: String,
    /// Other name or acronym.
    #[uniffi(default = None)]
    pub alternate_name: Option<String>,
    /// Description by language code.
    #[uniffi(default)]
    pub description: HashMap<String, String>,
    /// Kind of organisation.
    pub kind: OrgKind,
    /// Status.
    pub status: PartnerStatus,
    /// Themes.
    #[uniffi(default)]
    pub themes: Vec<Theme>,
    /// Languages spoken (language codes).
    #[uniffi(default)]
    pub languages: Vec<String>,
    /// Regions served besides the home region.
    #[uniffi(default)]
    pub regions_served: Vec<Region>,
    /// Services.
    #[uniffi(default)]
    pub services: Vec<Service>,
    /// Offices.
    #[uniffi(default)]
    pub locations: Vec<Location>,
    /// Public phone numbers.
    #[uniffi(default)]
    pub phones: Vec<Phone>,
    /// Public e-mail address.
    #[uniffi(default = None)]
    pub email: Option<String>,
    /// Website.
    #[uniffi(default = None)]
    pub website: Option<String>,
    /// When the entry was last checked with the organisation.
    #[uniffi(default = None)]
    pub verified_on: Option<IsoDate>,
    /// Who checked it.
    #[uniffi(default = None)]
    pub verified_by: Option<String>,
    /// Notes for outreach workers.
    #[uniffi(default = None)]
    pub worker_notes: Option<String>,
}

impl TryFrom<Service> for m::Service {
    type Error = OutreachError;

    fn try_from(s: Service) -> Res<m::Service> {
        Ok(m::Service {
            id: id("services.id", &s.id)?,
            name: s.name,
            description: multi_text("services.description", s.description)?,
            themes: set_of(s.themes),
            languages: lang_set("services.languages", s.languages)?,
            eligibility: s.eligibility,
            fees: s.fees,
            how_to_apply: s.how_to_apply,
            schedule: hours_in("services.schedule", s.schedule)?,
            status: s.status.into(),
        })
    }
}

impl From<m::Service> for Service {
    fn from(s: m::Service) -> Self {
        Service {
            id: s.id.to_string(),
            name: s.name,
            description: multi_text_out(s.description),
            themes: set_of(s.themes),
            languages: strings(s.languages),
            eligibility: s.eligibility,
            fees: s.fees,
            how_to_apply: s.how_to_apply,
            schedule: hours_out(s.schedule),
            status: s.status.into(),
        }
    }
}

impl TryFrom<Location> for m::Location {
    type Error = OutreachError;

    fn try_from(l: Location) -> Res<m::Location> {
        Ok(m::Location {
            id: id("locations.id", &l.id)?,
            name: l.name,
            street: l.street,
            postcode: l.postcode,
            municipality: l.municipality,
            province: l.province.into(),
            latitude: l.latitude,
            longitude: l.longitude,
            hours: hours_in("locations.hours", l.hours)?,
            accessibility: l.accessibility,
        })
    }
}

impl From<m::Location> for Location {
    fn from(l: m::Location) -> Self {
        Location {
            id: l.id.to_string(),
            name: l.name,
            street: l.street,
            postcode: l.postcode,
            municipality: l.municipality,
            province: l.province.into(),
            latitude: l.latitude,
            longitude: l.longitude,
            hours: hours_out(l.hours),
            accessibility: l.accessibility,
        }
    }
}

impl From<Phone> for m::Phone {
    fn from(p: Phone) -> Self {
        m::Phone {
            number: p.number,
            label: p.label,
        }
    }
}

impl From<m::Phone> for Phone {
    fn from(p: m::Phone) -> Self {
        Phone {
            number: p.number,
            label: p.label,
        }
    }
}

impl TryFrom<Partner> for m::Partner {
    type Error = OutreachError;

    fn try_from(p: Partner) -> Res<m::Partner> {
        let services = p
            .services
            .into_iter()
            .map(|s| m::Service::try_from(s).map(|s| (s.id, s)))
            .collect::<Res<_>>()?;
        let locations = p
            .locations
            .into_iter()
            .map(|l| m::Location::try_from(l).map(|l| (l.id, l)))
            .collect::<Res<_>>()?;
        Ok(m::Partner {
            id: id("id", &p.id)?,
            region: p.region.into(),
            name: p.name,
            alternate_name: p.alternate_name,
            description: multi_text("description", p.description)?,
            kind: p.kind.into(),
            status: p.status.into(),
            themes: set_of(p.themes),
            languages: lang_set("languages", p.languages)?,
            regions_served: set_of(p.regions_served),
            services,
            locations,
            phones: p.phones.into_iter().map(Into::into).collect(),
            email: p.email,
            website: p.website,
            verified_on: p.verified_on,
            verified_by: p.verified_by,
            worker_notes: p.worker_notes,
        })
    }
}

impl From<m::Partner> for Partner {
    fn from(p: m::Partner) -> Self {
        Partner {
            id: p.id.to_string(),
            region: p.region.into(),
            name: p.name,
            alternate_name: p.alternate_name,
            description: multi_text_out(p.description),
            kind: p.kind.into(),
            status: p.status.into(),
            themes: set_of(p.themes),
            languages: strings(p.languages),
            regions_served: set_of(p.regions_served),
            services: p.services.into_values().map(Into::into).collect(),
            locations: p.locations.into_values().map(Into::into).collect(),
            phones: p.phones.into_iter().map(Into::into).collect(),
            email: p.email,
            website: p.website,
            verified_on: p.verified_on,
            verified_by: p.verified_by,
            worker_notes: p.worker_notes,
        }
    }
}

/// A partner as search results show it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PartnerSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Other name or acronym.
    pub alternate_name: Option<String>,
    /// Home region.
    pub region: Region,
    /// Kind of organisation.
    pub kind: OrgKind,
    /// Status.
    pub status: PartnerStatus,
    /// Themes of the partner and its active services.
    pub themes: Vec<Theme>,
    /// Languages of the partner and its active services.
    pub languages: Vec<String>,
    /// Municipalities of its offices.
    pub municipalities: Vec<String>,
    /// First public phone number.
    pub phone: Option<String>,
    /// When the entry was last verified.
    pub verified_on: Option<IsoDate>,
    /// Whether some field holds concurrent values waiting for a coordinator.
    pub has_conflicts: bool,
    /// Distance in km from the query's `near` point, when given and the partner has an office
    /// with coordinates.
    pub distance_km: Option<f64>,
}

impl From<oc::store::PartnerSummary> for PartnerSummary {
    fn from(s: oc::store::PartnerSummary) -> Self {
        PartnerSummary {
            id: s.id.to_string(),
            name: s.name,
            alternate_name: s.alternate_name,
            region: s.region.into(),
            kind: s.kind.into(),
            status: s.status.into(),
            themes: set_of(s.themes),
            languages: strings(s.languages),
            municipalities: s.municipalities,
            phone: s.phone,
            verified_on: s.verified_on,
            has_conflicts: s.has_conflicts,
            distance_km: s.distance_km,
        }
    }
}

/// A point to sort results by distance from; used for one query, never stored.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    /// Latitude (WGS 84).
    pub latitude: f64,
    /// Longitude (WGS 84).
    pub longitude: f64,
}

/// A directory search. Every filter set must match; within `themes` and `languages` one listed
/// value is enough.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct PartnerQuery {
    /// Free text in any language; accents ignored, each word matched as a prefix.
    #[uniffi(default = None)]
    pub text: Option<String>,
    /// Themes (of the partner or of one of its active services).
    #[uniffi(default)]
    pub themes: Vec<Theme>,
    /// Region served, or where an office is.
    #[uniffi(default = None)]
    pub region: Option<Region>,
    /// A municipality name or a four-digit postcode of an office.
    #[uniffi(default = None)]
    pub place: Option<String>,
    /// Languages spoken (language codes).
    #[uniffi(default)]
    pub languages: Vec<String>,
    /// Only active partners with an office open at this local (Belgian) date and time.
    #[uniffi(default = None)]
    pub open_at: Option<IsoDateTime>,
    /// Sort by distance from this point first.
    #[uniffi(default = None)]
    pub near: Option<GeoPoint>,
    /// Also list inactive and defunct partners (hidden by default).
    #[uniffi(default = false)]
    pub include_closed: bool,
    /// Most results (default 50).
    #[uniffi(default = None)]
    pub limit: Option<u32>,
}

impl TryFrom<PartnerQuery> for oc::store::PartnerQuery {
    type Error = OutreachError;

    fn try_from(q: PartnerQuery) -> Res<Self> {
        Ok(oc::store::PartnerQuery {
            text: q.text,
            themes: set_of(q.themes),
            region: q.region.map(Into::into),
            place: q.place,
            languages: langs("languages", &q.languages)?,
            open_at: q.open_at,
            near: q.near.map(|p| (p.latitude, p.longitude)),
            include_closed: q.include_closed,
            limit: q.limit,
        })
    }
}

/// One of several values written concurrently to a field.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictValue {
    /// The value, as text.
    pub value: String,
    /// The device that wrote it.
    pub author: String,
    /// When that device committed it.
    pub time: SystemTime,
}

/// A field holding concurrent values, the one shown by default first, until a coordinator
/// writes the field again.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldConflict {
    /// Path of the field, e.g. `name` or `services.<id>.fees`.
    pub path: String,
    /// The values.
    pub values: Vec<ConflictValue>,
}

impl From<oc::doc::FieldConflict> for FieldConflict {
    fn from(c: oc::doc::FieldConflict) -> Self {
        FieldConflict {
            path: c.path,
            values: c
                .values
                .into_iter()
                .map(|v| ConflictValue {
                    value: v.value,
                    author: v.author.to_string(),
                    time: time(v.time),
                })
                .collect(),
        }
    }
}

/// One write to a field: who set what, when.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldChange {
    /// When the change was committed.
    pub time: SystemTime,
    /// The device that made it.
    pub author: String,
    /// The key written (the field, or a member of a set or map field).
    pub key: String,
    /// The value written; `null` when the key was removed.
    pub value: Option<String>,
}

impl From<oc::doc::FieldChange> for FieldChange {
    fn from(c: oc::doc::FieldChange) -> Self {
        FieldChange {
            time: time(c.time),
            author: c.author.to_string(),
            key: c.key,
            value: c.value,
        }
    }
}

/// One edit of a partner entry; several are applied as one change.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PartnerEdit {
    /// Sets the name.
    Name {
        /// The new name.
        name: String,
    },
    /// Sets or clears the alternate name.
    AlternateName {
        /// The new alternate name, or `null`.
        name: Option<String>,
    },
    /// Sets or clears the description in one language.
    Description {
        /// Language code.
        lang: String,
        /// The text, or `null` to remove this language.
        text: Option<String>,
    },
    /// Sets the kind of organisation.
    Kind {
        /// The kind.
        kind: OrgKind,
    },
    /// Sets the status (partners are never deleted).
    Status {
        /// The status.
        status: PartnerStatus,
    },
    /// Adds a theme.
    AddTheme {
        /// The theme.
        theme: Theme,
    },
    /// Removes a theme.
    RemoveTheme {
        /// The theme.
        theme: Theme,
    },
    /// Adds a language spoken.
    AddLanguage {
        /// Language code.
        lang: String,
    },
    /// Removes a language.
    RemoveLanguage {
        /// Language code.
        lang: String,
    },
    /// Adds a region served.
    AddRegion {
        /// The region.
        region: Region,
    },
    /// Removes a region served.
    RemoveRegion {
        /// The region.
        region: Region,
    },
    /// Adds or relabels a phone number.
    AddPhone {
        /// The phone.
        phone: Phone,
    },
    /// Removes a phone number (matched on its digits).
    RemovePhone {
        /// The number.
        number: String,
    },
    /// Sets or clears the e-mail address.
    Email {
        /// The address, or `null`.
        email: Option<String>,
    },
    /// Sets or clears the website.
    Website {
        /// The address, or `null`.
        website: Option<String>,
    },
    /// Sets or clears the notes for workers.
    WorkerNotes {
        /// The notes, or `null`.
        notes: Option<String>,
    },
    /// Records that the entry was checked with the organisation.
    Verified {
        /// Day of the check.
        on: IsoDate,
        /// Who checked.
        by: String,
    },
    /// Adds a service, or updates the fields of an existing one that differ.
    PutService {
        /// The service.
        service: Service,
    },
    /// Adds an office, or updates the fields of an existing one that differ.
    PutLocation {
        /// The office.
        location: Location,
    },
}

impl TryFrom<PartnerEdit> for oc::doc::PartnerEdit {
    type Error = OutreachError;

    fn try_from(e: PartnerEdit) -> Res<Self> {
        use oc::doc::PartnerEdit as E;
        Ok(match e {
            PartnerEdit::Name { name } => E::Name(name),
            PartnerEdit::AlternateName { name } => E::AlternateName(name),
            PartnerEdit::Description { lang: l, text } => E::Description {
                lang: lang("description.lang", &l)?,
                text,
            },
            PartnerEdit::Kind { kind } => E::Kind(kind.into()),
            PartnerEdit::Status { status } => E::Status(status.into()),
            PartnerEdit::AddTheme { theme } => E::AddTheme(theme.into()),
            PartnerEdit::RemoveTheme { theme } => E::RemoveTheme(theme.into()),
            PartnerEdit::AddLanguage { lang: l } => E::AddLanguage(lang("languages", &l)?),
            PartnerEdit::RemoveLanguage { lang: l } => E::RemoveLanguage(lang("languages", &l)?),
            PartnerEdit::AddRegion { region } => E::AddRegion(region.into()),
            PartnerEdit::RemoveRegion { region } => E::RemoveRegion(region.into()),
            PartnerEdit::AddPhone { phone } => E::AddPhone(phone.into()),
            PartnerEdit::RemovePhone { number } => E::RemovePhone(number),
            PartnerEdit::Email { email } => E::Email(email),
            PartnerEdit::Website { website } => E::Website(website),
            PartnerEdit::WorkerNotes { notes } => E::WorkerNotes(notes),
            PartnerEdit::Verified { on, by } => E::Verified { on, by },
            PartnerEdit::PutService { service } => E::PutService(service.try_into()?),
            PartnerEdit::PutLocation { location } => E::PutLocation(location.try_into()?),
        })
    }
}

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
    BrochureFile {
        lang: lang.to_string(),
        sha256: f.sha256,
        size: f.size,
        media_type: f.media_type,
        file_name: f.file_name,
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
        let files = b
            .files
            .into_iter()
            .map(|f| {
                Ok((
                    lang("files.lang", &f.lang)?,
                    m::BrochureFile {
                        sha256: f.sha256,
                        size: f.size,
                        media_type: f.media_type,
                        file_name: f.file_name,
                    },
                ))
            })
            .collect::<Res<_>>()?;
        Ok(m::Brochure {
            id: id("id", &b.id)?,
            title: multi_text("title", b.title)?,
            summary: multi_text("summary", b.summary)?,
            themes: set_of(b.themes),
            audience: set_of(b.audience),
            files,
            version: b.version,
            published_on: b.published_on,
            updated_on: b.updated_on,
            retired: b.retired,
        })
    }
}

impl From<m::Brochure> for Brochure {
    fn from(b: m::Brochure) -> Self {
        Brochure {
            id: b.id.to_string(),
            title: multi_text_out(b.title),
            summary: multi_text_out(b.summary),
            themes: set_of(b.themes),
            audience: set_of(b.audience),
            files: b.files.into_iter().map(|(l, f)| file_out(&l, f)).collect(),
            version: b.version,
            published_on: b.published_on,
            updated_on: b.updated_on,
            retired: b.retired,
        }
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
        BrochureView {
            id: b.id.to_string(),
            title: b.title,
            title_lang: b.title_lang.to_string(),
            summary: b.summary,
            themes: set_of(b.themes),
            audience: set_of(b.audience),
            file: b.file.map(|(l, f)| file_out(&l, f)),
            version: b.version,
            updated_on: b.updated_on,
        }
    }
}

/// A brochure file that is on the device and matches its hash: ready to open or share.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LocalBrochureFile {
    /// Absolute path of the file.
    pub path: String,
    /// Its language code.
    pub lang: String,
    /// Its media type.
    pub media_type: String,
    /// The name to show and to share it under.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

impl From<oc::LocalBrochureFile> for LocalBrochureFile {
    fn from(f: oc::LocalBrochureFile) -> Self {
        LocalBrochureFile {
            path: f.path.to_string_lossy().into_owned(),
            lang: f.lang.to_string(),
            media_type: f.media_type,
            file_name: f.file_name,
            size: f.size,
            sha256: f.sha256,
        }
    }
}

/// A count for one value of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GenderCount {
    /// The gender.
    pub gender: Gender,
    /// People.
    pub count: u32,
}

/// A count for one age band.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgeCount {
    /// The band.
    pub band: AgeBand,
    /// People.
    pub count: u32,
}

/// A count for one country of origin.
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
        Ok(m::VisitDetails {
            date: v.date,
            part_of_day: v.part_of_day.into(),
            postcode: v.postcode,
            municipality: v.municipality,
            setting: v.setting.into(),
            activity: v.activity.into(),
            people_reached: v.people_reached,
            by_gender: counts(
                "by_gender",
                v.by_gender.into_iter().map(|c| Ok((c.gender.into(), c.count))),
            )?,
            by_age: counts(
                "by_age",
                v.by_age.into_iter().map(|c| Ok((c.band.into(), c.count))),
            )?,
            languages: lang_set("languages", v.languages)?,
            origins: counts(
                "origins",
                v.origins
                    .into_iter()
                    .map(|c| Ok((country("origins", &c.country)?, c.count))),
            )?,
            themes: set_of(v.themes),
            brochures: counts(
                "brochures",
                v.brochures
                    .into_iter()
                    .map(|c| Ok((id("brochures", &c.brochure_id)?, c.count))),
            )?,
            referrals: v
                .referrals
                .into_iter()
                .map(|r| {
                    Ok(m::Referral {
                        partner: id("referrals", &r.partner_id)?,
                        theme: r.theme.into(),
                    })
                })
                .collect::<Res<_>>()?,
            follow_up: v.follow_up,
            note: v.note,
        })
    }
}

impl From<m::VisitDetails> for VisitDetails {
    fn from(v: m::VisitDetails) -> Self {
        VisitDetails {
            date: v.date,
            part_of_day: v.part_of_day.into(),
            postcode: v.postcode,
            municipality: v.municipality,
            setting: v.setting.into(),
            activity: v.activity.into(),
            people_reached: v.people_reached,
            by_gender: v
                .by_gender
                .into_iter()
                .map(|(g, count)| GenderCount {
                    gender: g.into(),
                    count,
                })
                .collect(),
            by_age: v
                .by_age
                .into_iter()
                .map(|(b, count)| AgeCount {
                    band: b.into(),
                    count,
                })
                .collect(),
            languages: strings(v.languages),
            origins: v
                .origins
                .into_iter()
                .map(|(c, count)| OriginCount {
                    country: c.to_string(),
                    count,
                })
                .collect(),
            themes: set_of(v.themes),
            brochures: v
                .brochures
                .into_iter()
                .map(|(b, count)| BrochureCount {
                    brochure_id: b.to_string(),
                    count,
                })
                .collect(),
            referrals: v
                .referrals
                .into_iter()
                .map(|r| Referral {
                    partner_id: r.partner.to_string(),
                    theme: r.theme.into(),
                })
                .collect(),
            follow_up: v.follow_up,
            note: v.note,
        }
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
        Visit {
            id: v.id.to_string(),
            device_id: v.device.to_string(),
            details: v.details.into(),
        }
    }
}

/// A filter on this device's visits.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct VisitQuery {
    /// First day included.
    #[uniffi(default = None)]
    pub from: Option<IsoDate>,
    /// Last day included.
    #[uniffi(default = None)]
    pub to: Option<IsoDate>,
    /// Most results, newest first (default: all).
    #[uniffi(default = None)]
    pub limit: Option<u32>,
}

impl From<VisitQuery> for oc::store::VisitQuery {
    fn from(q: VisitQuery) -> Self {
        oc::store::VisitQuery {
            from: q.from,
            to: q.to,
            limit: q.limit,
        }
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
}

impl From<m::Month> for Month {
    fn from(m: m::Month) -> Self {
        Month {
            year: m.year,
            month: m.month,
        }
    }
}

/// This device's visits and people reached in a month, overall (`theme == null`) or for a theme.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MonthlyCount {
    /// The month.
    pub month: Month,
    /// The theme, or `null` for every visit of the month.
    pub theme: Option<Theme>,
    /// Visits.
    pub visits: u32,
    /// People reached.
    pub people: u32,
}

impl From<oc::store::MonthlyCount> for MonthlyCount {
    fn from(c: oc::store::MonthlyCount) -> Self {
        MonthlyCount {
            month: c.month.into(),
            theme: c.theme.map(Into::into),
            visits: c.visits,
            people: c.people,
        }
    }
}

/// What the store tells observers after each commit, local or from a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct StoreChanges {
    /// Partners added or changed.
    pub partners: Vec<String>,
    /// Brochures added or changed.
    pub brochures: Vec<String>,
    /// Visits logged or amended.
    pub visits: Vec<String>,
}

impl From<&oc::StoreChanges> for StoreChanges {
    fn from(c: &oc::StoreChanges) -> Self {
        StoreChanges {
            partners: strings(&c.partners),
            brochures: strings(&c.brochures),
            visits: strings(&c.visits),
        }
    }
}

/// This device's enrollment with a hub.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrollment {
    /// The hub's base address.
    pub hub_url: String,
    /// The organisation's id.
    pub org_id: String,
    /// The organisation's name.
    pub org_name: String,
    /// The device's role.
    pub role: Role,
    /// The name the device was enrolled under.
    pub device_name: String,
    /// When it was enrolled.
    pub enrolled_at: SystemTime,
}

impl From<oc::Enrollment> for Enrollment {
    fn from(e: oc::Enrollment) -> Self {
        Enrollment {
            hub_url: e.hub_url,
            org_id: e.org_id,
            org_name: e.org_name,
            role: e.role.into(),
            device_name: e.device_name,
            enrolled_at: time(e.enrolled_at),
        }
    }
}

/// One progress update of a sync. Counts are for the current phase; a total of 0 is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// The step.
    pub phase: SyncPhase,
    /// Sync round (1 for the first request), 0 outside rounds.
    pub round: u32,
    /// Items (documents or files) done in this phase.
    pub done: u64,
    /// Items in this phase, 0 if unknown.
    pub total: u64,
    /// Bytes moved in this phase.
    pub bytes: u64,
    /// Bytes expected in this phase, 0 if unknown.
    pub bytes_total: u64,
}

impl From<&oc::SyncProgressUpdate> for SyncProgress {
    fn from(u: &oc::SyncProgressUpdate) -> Self {
        SyncProgress {
            phase: u.phase.into(),
            round: u.round,
            done: u.done,
            total: u.total,
            bytes: u.bytes,
            bytes_total: u.bytes_total,
        }
    }
}

/// What fetching brochure files did.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct FetchReport {
    /// Files downloaded and verified.
    pub fetched: u32,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Files that could not be fetched.
    pub failed: u32,
    /// Of those, files whose content did not match their hash (discarded, never shown).
    pub hash_mismatches: u32,
    /// Files left out because they did not fit the storage budget.
    pub skipped: u32,
    /// Files removed because no brochure in force uses them, or they no longer fit.
    pub removed: u32,
    /// Files left for a later fetch because the connection failed.
    pub pending: u32,
}

impl From<oc::FetchReport> for FetchReport {
    fn from(f: oc::FetchReport) -> Self {
        FetchReport {
            fetched: f.fetched,
            bytes: f.bytes,
            failed: f.failed,
            hash_mismatches: f.hash_mismatches,
            skipped: f.skipped,
            removed: f.removed,
            pending: f.pending,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Sync requests answered by the hub (one in the steady state).
    pub round_trips: u32,
    /// Bytes sent.
    pub bytes_up: u64,
    /// Bytes received.
    pub bytes_down: u64,
    /// Documents whose changes were sent.
    pub documents_pushed: u32,
    /// Changes sent.
    pub changes_pushed: u64,
    /// Documents that received changes.
    pub documents_pulled: u32,
    /// Changes received.
    pub changes_pulled: u64,
    /// Documents from the hub this device refused (asked for again next time).
    pub documents_refused: u32,
    /// Documents removed because this device may no longer read them.
    pub documents_dropped: u32,
    /// Documents sent whole because the hub lacked their history.
    pub documents_resent: u32,
    /// Documents whose changes the hub refused: they stay on this device, every other
    /// document synced.
    pub refused_by_hub: Vec<DocumentRefusal>,
    /// Documents (ids) from a newer app than this one, left as they were until it is updated.
    pub upgrade_needed: Vec<String>,
    /// Documents whose history here had regressed (commits lost after they were sent) and that
    /// were rebuilt on the hub's copy with this device's later work.
    pub histories_recovered: u32,
    /// Brochure files published here and uploaded.
    pub files_uploaded: u32,
    /// Brochure files fetched.
    pub files: FetchReport,
    /// Visit-log months of this device removed after the retention period.
    pub months_removed: Vec<Month>,
    /// Whether everything was exchanged (`false`: the next sync continues).
    pub complete: bool,
    /// How long the sync took.
    pub duration: Duration,
}

impl From<oc::SyncReport> for SyncReport {
    fn from(r: oc::SyncReport) -> Self {
        SyncReport {
            round_trips: r.round_trips,
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            documents_pushed: r.documents_pushed,
            changes_pushed: r.changes_pushed,
            documents_pulled: r.documents_pulled,
            changes_pulled: r.changes_pulled,
            documents_refused: r.documents_refused,
            documents_dropped: r.documents_dropped,
            documents_resent: r.documents_resent,
            refused_by_hub: r.refused_by_hub.into_iter().map(Into::into).collect(),
            upgrade_needed: r.upgrade_needed.iter().map(ToString::to_string).collect(),
            histories_recovered: r.histories_recovered,
            files_uploaded: r.files_uploaded,
            files: r.files.into(),
            months_removed: r.months_removed.into_iter().map(Into::into).collect(),
            complete: r.complete,
            duration: r.duration,
        }
    }
}

/// A document the hub refused to take from this device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocumentRefusal {
    /// The document's id.
    pub doc: String,
    /// The hub's stable code: `unknown_field`, `personal_data`, `change_metadata`,
    /// `upgrade_needed`, `forbidden`, `too_large`, `invalid_document`...
    pub code: String,
    /// The hub's reason, for people.
    pub reason: String,
}

impl From<oc::DocumentRefusal> for DocumentRefusal {
    fn from(r: oc::DocumentRefusal) -> Self {
        DocumentRefusal {
            doc: r.doc.to_string(),
            code: r.code.as_str().to_string(),
            reason: r.reason,
        }
    }
}

/// How a store is opened and synced.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoreConfig {
    /// Languages the worker reads, in order of preference (language codes): the brochure files
    /// kept on the device are chosen by them.
    #[uniffi(default)]
    pub languages: Vec<String>,
    /// Days a finished visit-log month the hub holds in full stays on the device (default 30).
    #[uniffi(default = 30)]
    pub retention_days: u32,
    /// Most bytes of brochure files kept on the device (default 200 MiB).
    #[uniffi(default = 209715200)]
    pub storage_budget_bytes: u64,
    /// An extra certificate authority (PEM) to trust for the hub, besides the public roots.
    #[uniffi(default = None)]
    pub extra_ca_pem: Option<String>,
    /// Whether a sync also fetches missing brochure files (default yes).
    #[uniffi(default = true)]
    pub fetch_files: bool,
    /// Longest wait, in seconds, for the hub to answer or for the next piece of an answer.
    #[uniffi(default = 60)]
    pub request_timeout_seconds: u32,
    /// Attempts of each request on transient failures, with backoff (at least 1).
    #[uniffi(default = 4)]
    pub max_attempts: u32,
    /// Where brochure files are kept; default: a folder beside the database.
    #[uniffi(default = None)]
    pub brochure_dir: Option<String>,
    /// Leave the first 32 bytes of the database unencrypted, as iOS needs for a database in a
    /// shared container that must stay open in the background. Must not change once created.
    #[uniffi(default = false)]
    pub plaintext_header: bool,
}

impl StoreConfig {
    pub(crate) fn sync_options(&self) -> Res<oc::SyncOptions> {
        let defaults = oc::SyncOptions::default();
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if self.request_timeout_seconds == 0 {
            return Err(invalid("request_timeout_seconds", "must be at least 1"));
        }
        Ok(oc::SyncOptions {
            languages: langs("languages", &self.languages)?,
            retention_days: self.retention_days,
            storage_budget_bytes: self.storage_budget_bytes,
            fetch_files: self.fetch_files,
            request_timeout: Duration::from_secs(self.request_timeout_seconds.into()),
            connect_timeout: defaults
                .connect_timeout
                .min(Duration::from_secs(self.request_timeout_seconds.into())),
            max_attempts: self.max_attempts,
            extra_ca_pem: self.extra_ca_pem.clone(),
            ..defaults
        })
    }

    pub(crate) fn store_options(&self) -> oc::StoreOptions {
        oc::StoreOptions {
            plaintext_header: self.plaintext_header,
            brochure_dir: self.brochure_dir.as_ref().map(Into::into),
        }
    }
}

/// A new random id (UUID text) for a partner, service, location or brochure.
#[uniffi::export]
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Finds personal data in a note as the worker types it, so the app can highlight it before
/// saving (logging a visit runs the same check and refuses the note). Fast: tens of
/// microseconds for a full note.
#[uniffi::export]
pub fn find_personal_data(note: String) -> Vec<PersonalDataSpan> {
    crate::error::guard_value(Vec::new(), || {
        oc::privacy::scan_note(&note).iter().map(Into::into).collect()
    })
}
