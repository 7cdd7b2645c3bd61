//! The partner directory as the apps see it: partners with their services and offices (lists,
//! not maps keyed by id), search results and queries, and the edits a coordinator makes.

use std::collections::HashMap;

use outreach_core as oc;
use outreach_core::model as m;
use outreach_core::model::{OrgKind, PartnerStatus, Phone, Region, Theme};

use super::{arg, FromFfi, IntoFfi, IsoDate, IsoDateTime, Res};

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
    /// When it runs, day by day (empty: the location's hours).
    #[uniffi(default)]
    pub schedule: m::WeeklyHours,
    /// Dated exceptions to the schedule: closures and special hours, by first day.
    #[uniffi(default)]
    pub exceptions: Vec<m::HoursException>,
    /// Status.
    pub status: PartnerStatus,
    /// When the service was last checked with the organisation.
    #[uniffi(default = None)]
    pub verified_on: Option<IsoDate>,
    /// Who checked it.
    #[uniffi(default = None)]
    pub verified_by: Option<String>,
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
    pub postcode: i32,
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
    /// Opening hours, day by day.
    #[uniffi(default)]
    pub hours: m::WeeklyHours,
    /// Dated exceptions to the opening hours (a holiday closure, special hours on a day): on
    /// those days `openAt` searches follow them instead of `hours`.
    #[uniffi(default)]
    pub exceptions: Vec<m::HoursException>,
    /// Accessibility notes.
    #[uniffi(default = None)]
    pub accessibility: Option<String>,
    /// Whether the office receives visitors; offices are closed, never deleted.
    pub status: PartnerStatus,
    /// When the office was last checked with the organisation.
    #[uniffi(default = None)]
    pub verified_on: Option<IsoDate>,
    /// Who checked it.
    #[uniffi(default = None)]
    pub verified_by: Option<String>,
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

convert!("services." Service <=> m::Service {
    id, name, description, themes, languages, eligibility, fees, how_to_apply, schedule, exceptions, status,
    verified_on, verified_by,
});
convert!("locations." Location <=> m::Location {
    id, name, street, postcode, municipality, province, latitude, longitude, hours, exceptions, accessibility,
    status, verified_on, verified_by,
});
convert!(Partner <=> m::Partner {
    id, region, name, alternate_name, description, kind, status, themes, languages, regions_served,
    services, locations, phones, email, website, verified_on, verified_by, worker_notes,
});

/// Services and offices cross as lists; the core keys them by their ids.
macro_rules! by_id {
    ($($ffi:ident => $core:ty: $id:ty),*) => {$(
        impl FromFfi<$ffi> for ($id, $core) {
            fn from_ffi(field: &str, item: $ffi) -> Res<Self> {
                let item = <$core>::from_ffi(field, item)?;
                Ok((item.id, item))
            }
        }
        impl IntoFfi<$ffi> for ($id, $core) {
            fn into_ffi(self) -> $ffi {
                self.1.into_ffi()
            }
        }
    )*};
}

by_id!(Service => m::Service: m::ServiceId, Location => m::Location: m::LocationId);

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
    pub limit: Option<i32>,
}

convert!(PartnerQuery => oc::store::PartnerQuery {
    text, themes, region, place, languages, open_at, near, include_closed, limit,
});

impl FromFfi<Option<GeoPoint>> for Option<(f64, f64)> {
    fn from_ffi(_: &str, point: Option<GeoPoint>) -> Res<Self> {
        Ok(point.map(|p| (p.latitude, p.longitude)))
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
    /// Edits one field of an existing service (settling a conflict there).
    Service {
        /// The service's id.
        service_id: String,
        /// The edit.
        edit: ServiceEdit,
    },
    /// Edits one field of an existing office (settling a conflict there).
    Location {
        /// The office's id.
        location_id: String,
        /// The edit.
        edit: LocationEdit,
    },
}

/// One edit of a partner's office.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum LocationEdit {
    /// Sets or clears the office's name.
    Name {
        /// The name, or `null`.
        name: Option<String>,
    },
    /// Sets or clears the street and number.
    Street {
        /// The street, or `null`.
        street: Option<String>,
    },
    /// Sets the postcode; the province follows it.
    Postcode {
        /// A Belgian postcode, 1000..=9999.
        postcode: i32,
    },
    /// Sets the municipality.
    Municipality {
        /// The municipality.
        municipality: String,
    },
    /// Sets or clears the office's coordinates.
    Coordinates {
        /// The point, or `null`.
        point: Option<GeoPoint>,
    },
    /// Sets the weekly opening hours (one value: edits on two devices at once are a conflict).
    Hours {
        /// The hours, day by day.
        hours: m::WeeklyHours,
    },
    /// Adds a dated exception, or replaces the one starting the same day.
    PutException {
        /// The exception.
        exception: m::HoursException,
    },
    /// Removes the exception starting on a day.
    RemoveException {
        /// Its first day.
        from: IsoDate,
    },
    /// Sets or clears the accessibility notes.
    Accessibility {
        /// The notes, or `null`.
        accessibility: Option<String>,
    },
    /// Sets the status (close an office with `DEFUNCT`, or `TEMPORARILY_CLOSED`).
    Status {
        /// The status.
        status: PartnerStatus,
    },
    /// Records that the office was checked with the organisation.
    Verified {
        /// Day of the check.
        on: IsoDate,
        /// Who checked (a role or team).
        by: String,
    },
}

/// One edit of a partner's service.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ServiceEdit {
    /// Sets the name.
    Name {
        /// The name.
        name: String,
    },
    /// Sets or clears the description in one language.
    Description {
        /// Language code.
        lang: String,
        /// The text, or `null` to remove this language.
        text: Option<String>,
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
    /// Adds a language it is offered in.
    AddLanguage {
        /// Language code.
        lang: String,
    },
    /// Removes a language.
    RemoveLanguage {
        /// Language code.
        lang: String,
    },
    /// Sets or clears who can use it.
    Eligibility {
        /// The text, or `null`.
        eligibility: Option<String>,
    },
    /// Sets or clears what it costs.
    Fees {
        /// The text, or `null`.
        fees: Option<String>,
    },
    /// Sets or clears how to get it.
    HowToApply {
        /// The text, or `null`.
        how_to_apply: Option<String>,
    },
    /// Sets the weekly schedule (empty: during the offices' hours).
    Hours {
        /// The hours, day by day.
        hours: m::WeeklyHours,
    },
    /// Adds a dated exception, or replaces the one starting the same day.
    PutException {
        /// The exception.
        exception: m::HoursException,
    },
    /// Removes the exception starting on a day.
    RemoveException {
        /// Its first day.
        from: IsoDate,
    },
    /// Sets the status (close a service with `DEFUNCT`).
    Status {
        /// The status.
        status: PartnerStatus,
    },
    /// Records that the service was checked with the organisation.
    Verified {
        /// Day of the check.
        on: IsoDate,
        /// Who checked (a role or team).
        by: String,
    },
}

impl FromFfi<LocationEdit> for oc::doc::LocationEdit {
    fn from_ffi(_: &str, edit: LocationEdit) -> Res<Self> {
        use oc::doc::LocationEdit as E;
        Ok(match edit {
            LocationEdit::Name { name } => E::Name(name),
            LocationEdit::Street { street } => E::Street(street),
            LocationEdit::Postcode { postcode } => E::Postcode(arg("postcode", postcode)?),
            LocationEdit::Municipality { municipality } => E::Municipality(municipality),
            LocationEdit::Coordinates { point } => E::Coordinates(arg("point", point)?),
            LocationEdit::Hours { hours } => E::Hours(hours),
            LocationEdit::PutException { exception } => E::PutException(exception),
            LocationEdit::RemoveException { from } => E::RemoveException(from),
            LocationEdit::Accessibility { accessibility } => E::Accessibility(accessibility),
            LocationEdit::Status { status } => E::Status(status),
            LocationEdit::Verified { on, by } => E::Verified { on, by },
        })
    }
}

impl FromFfi<ServiceEdit> for oc::doc::ServiceEdit {
    fn from_ffi(_: &str, edit: ServiceEdit) -> Res<Self> {
        use oc::doc::ServiceEdit as E;
        Ok(match edit {
            ServiceEdit::Name { name } => E::Name(name),
            ServiceEdit::Description { lang, text } => E::Description {
                lang: arg("description.lang", lang)?,
                text,
            },
            ServiceEdit::AddTheme { theme } => E::AddTheme(theme),
            ServiceEdit::RemoveTheme { theme } => E::RemoveTheme(theme),
            ServiceEdit::AddLanguage { lang } => E::AddLanguage(arg("languages", lang)?),
            ServiceEdit::RemoveLanguage { lang } => E::RemoveLanguage(arg("languages", lang)?),
            ServiceEdit::Eligibility { eligibility } => E::Eligibility(eligibility),
            ServiceEdit::Fees { fees } => E::Fees(fees),
            ServiceEdit::HowToApply { how_to_apply } => E::HowToApply(how_to_apply),
            ServiceEdit::Hours { hours } => E::Hours(hours),
            ServiceEdit::PutException { exception } => E::PutException(exception),
            ServiceEdit::RemoveException { from } => E::RemoveException(from),
            ServiceEdit::Status { status } => E::Status(status),
            ServiceEdit::Verified { on, by } => E::Verified { on, by },
        })
    }
}

impl FromFfi<PartnerEdit> for oc::doc::PartnerEdit {
    fn from_ffi(_: &str, edit: PartnerEdit) -> Res<Self> {
        use oc::doc::PartnerEdit as E;
        Ok(match edit {
            PartnerEdit::Name { name } => E::Name(name),
            PartnerEdit::AlternateName { name } => E::AlternateName(name),
            PartnerEdit::Description { lang, text } => E::Description {
                lang: arg("description.lang", lang)?,
                text,
            },
            PartnerEdit::Kind { kind } => E::Kind(kind),
            PartnerEdit::Status { status } => E::Status(status),
            PartnerEdit::AddTheme { theme } => E::AddTheme(theme),
            PartnerEdit::RemoveTheme { theme } => E::RemoveTheme(theme),
            PartnerEdit::AddLanguage { lang } => E::AddLanguage(arg("languages", lang)?),
            PartnerEdit::RemoveLanguage { lang } => E::RemoveLanguage(arg("languages", lang)?),
            PartnerEdit::AddRegion { region } => E::AddRegion(region),
            PartnerEdit::RemoveRegion { region } => E::RemoveRegion(region),
            PartnerEdit::AddPhone { phone } => E::AddPhone(phone),
            PartnerEdit::RemovePhone { number } => E::RemovePhone(number),
            PartnerEdit::Email { email } => E::Email(email),
            PartnerEdit::Website { website } => E::Website(website),
            PartnerEdit::WorkerNotes { notes } => E::WorkerNotes(notes),
            PartnerEdit::Verified { on, by } => E::Verified { on, by },
            PartnerEdit::PutService { service } => E::PutService(arg("", service)?),
            PartnerEdit::PutLocation { location } => E::PutLocation(arg("", location)?),
            PartnerEdit::Service { service_id, edit } => E::Service {
                id: arg("service_id", service_id)?,
                edit: arg("", edit)?,
            },
            PartnerEdit::Location { location_id, edit } => E::Location {
                id: arg("location_id", location_id)?,
                edit: arg("", edit)?,
            },
        })
    }
}

/// A part of a partner's entry: the partner, or one of its offices or services.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EntryRef {
    /// The partner's id.
    pub partner_id: String,
    /// Which part.
    pub entry: oc::store::Entry,
}

convert!(EntryRef => EntryPair { partner_id = partner, entry });

/// What an [`EntryRef`] checks into.
pub(crate) struct EntryPair {
    pub partner: m::PartnerId,
    pub entry: oc::store::Entry,
}
