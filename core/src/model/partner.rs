//! Partner organisations, their services and locations, aligned with Open Referral HSDS 3.0
//! (organization, service, location, phone, schedule, language, taxonomy_term; our
//! `verified_on` is HSDS's `assured_date`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{Lang, OrgKind, PartnerStatus, Region, Theme};
use super::hours::{HoursException, Opening, WeeklyHours, EXCEPTIONS_MAX};
use super::ids::{LocationId, PartnerId, ServiceId};
use super::validate::{in_range, max_chars, non_empty, optional_text, Problem, Validation, ValidationError};

/// Text in several languages, keyed by language code. Callers pick a language with
/// [`best_text`] and their own fallback chain.
pub type MultiText = BTreeMap<Lang, String>;

/// Longest short text field (names, fees, labels), in characters.
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest long text field (descriptions, eligibility, notes for workers), in characters.
pub const LONG_TEXT_MAX: usize = 4000;

/// Picks the text in the first language of `chain` that has one, else any text (the lowest
/// language code, so that every replica shows the same one).
pub fn best_text<'a>(text: &'a MultiText, chain: &[Lang]) -> Option<(&'a Lang, &'a str)> {
    chain
        .iter()
        .find_map(|l| text.get_key_value(l))
        .or_else(|| text.iter().next())
        .map(|(l, t)| (l, t.as_str()))
}

/// A partner organisation of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    /// Stable id.
    pub id: PartnerId,
    /// Directory section the partner lives in (its home region).
    pub region: Region,
    /// Official name.
    pub name: String,
    /// Other name or acronym people use.
    pub alternate_name: Option<String>,
    /// Description per language.
    pub description: MultiText,
    /// Kind of organisation.
    pub kind: OrgKind,
    /// Active, inactive, defunct or temporarily closed.
    pub status: PartnerStatus,
    /// Themes the organisation works on (its services may add more).
    pub themes: BTreeSet<Theme>,
    /// Languages staff can speak with visitors.
    pub languages: BTreeSet<Lang>,
    /// Regions it serves.
    pub regions_served: BTreeSet<Region>,
    /// Services, by id.
    pub services: BTreeMap<ServiceId, Service>,
    /// Offices, by id.
    pub locations: BTreeMap<LocationId, Location>,
    /// Public organisational phone numbers.
    pub phones: Vec<Phone>,
    /// Public organisational e-mail address.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Day the entry was last checked with the organisation.
    pub verified_on: Option<NaiveDate>,
    /// Who checked it (a coordinator's role or team, not a private person's details).
    pub verified_by: Option<String>,
    /// Practical notes for outreach workers.
    pub worker_notes: Option<String>,
}

/// A service a partner offers (HSDS `service`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Stable id.
    pub id: ServiceId,
    /// Name of the service.
    pub name: String,
    /// Description per language.
    pub description: MultiText,
    /// Themes of this service.
    pub themes: BTreeSet<Theme>,
    /// Languages the service is offered in.
    pub languages: BTreeSet<Lang>,
    /// Who can use it.
    pub eligibility: Option<String>,
    /// What it costs ("free" most of the time).
    pub fees: Option<String>,
    /// How to get it: walk in, appointment, referral.
    pub how_to_apply: Option<String>,
    /// When it is offered; empty means during the opening hours of the locations.
    pub schedule: WeeklyHours,
    /// Dated exceptions to the schedule (closures, special hours), by first day.
    #[serde(default)]
    pub exceptions: Vec<HoursException>,
    /// Whether it is still offered.
    pub status: PartnerStatus,
    /// Day the service was last checked with the organisation.
    #[serde(default)]
    pub verified_on: Option<NaiveDate>,
    /// Who checked it (a role or team).
    #[serde(default)]
    pub verified_by: Option<String>,
}

/// An office of a partner (HSDS `location` + `address`). Coordinates are of the office, never of
/// a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Stable id.
    pub id: LocationId,
    /// Name of the office, if it has one.
    pub name: Option<String>,
    /// Street and number.
    pub street: Option<String>,
    /// Belgian postcode.
    pub postcode: u16,
    /// Municipality.
    pub municipality: String,
    /// Province (or Brussels).
    pub province: Region,
    /// Latitude of the office, WGS84.
    pub latitude: Option<f64>,
    /// Longitude of the office, WGS84.
    pub longitude: Option<f64>,
    /// Weekly opening hours.
    pub hours: WeeklyHours,
    /// Dated exceptions to the opening hours (a holiday closure, special hours on a day), by
    /// first day.
    #[serde(default)]
    pub exceptions: Vec<HoursException>,
    /// Accessibility notes (wheelchair access, no registration needed...).
    pub accessibility: Option<String>,
    /// Whether the office is open to visitors (offices are closed, never deleted).
    #[serde(default = "active")]
    pub status: PartnerStatus,
    /// Day the office (address, hours) was last checked with the organisation.
    #[serde(default)]
    pub verified_on: Option<NaiveDate>,
    /// Who checked it (a role or team).
    #[serde(default)]
    pub verified_by: Option<String>,
}

fn active() -> PartnerStatus {
    PartnerStatus::Active
}

/// A public organisational phone number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Phone {
    /// The number as it should be dialled or shown.
    pub number: String,
    /// What the number is for ("general", "free number"...).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub label: Option<String>,
}

impl Phone {
    /// The digits of the number with a leading `+` for international form: the key phones are
    /// stored under, so that `011 23 45 67` and `011/23.45.67` are one phone.
    pub fn key(&self) -> String {
        normalise_phone(&self.number)
    }
}

/// Keeps digits and a leading `+` (`00` becomes `+`).
pub fn normalise_phone(number: &str) -> String {
    let t = number.trim().replace("(0)", "");
    let t = t.trim();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if t.starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else {
        digits
    }
}

impl Partner {
    /// A new active partner with a random id and nothing but a name, a home region and a kind.
    pub fn new(region: Region, name: impl Into<String>, kind: OrgKind) -> Partner {
        Partner {
            id: PartnerId::random(),
            region,
            name: name.into(),
            alternate_name: None,
            description: MultiText::new(),
            kind,
            status: PartnerStatus::Active,
            themes: BTreeSet::new(),
            languages: BTreeSet::new(),
            regions_served: BTreeSet::from([region]),
            services: BTreeMap::new(),
            locations: BTreeMap::new(),
            phones: Vec::new(),
            email: None,
            website: None,
            verified_on: None,
            verified_by: None,
            worker_notes: None,
        }
    }

    /// Themes of the partner and of its active services.
    pub fn all_themes(&self) -> BTreeSet<Theme> {
        let mut t = self.themes.clone();
        for s in self
            .services
            .values()
            .filter(|s| s.status == PartnerStatus::Active)
        {
            t.extend(s.themes.iter().copied());
        }
        t
    }

    /// Languages of the partner and of its active services.
    pub fn all_languages(&self) -> BTreeSet<Lang> {
        let mut l = self.languages.clone();
        for s in self
            .services
            .values()
            .filter(|s| s.status == PartnerStatus::Active)
        {
            l.extend(s.languages.iter().cloned());
        }
        l
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Validation {
        non_empty("name", &self.name)?;
        max_chars("name", &self.name, SHORT_TEXT_MAX)?;
        optional_text("alternate_name", self.alternate_name.as_deref(), SHORT_TEXT_MAX)?;
        validate_multitext("description", &self.description, LONG_TEXT_MAX)?;
        for p in &self.phones {
            validate_phone("phones", p)?;
        }
        if let Some(e) = &self.email {
            validate_email("email", e)?;
        }
        if let Some(w) = &self.website {
            validate_website("website", w)?;
        }
        optional_text("verified_by", self.verified_by.as_deref(), SHORT_TEXT_MAX)?;
        optional_text("worker_notes", self.worker_notes.as_deref(), LONG_TEXT_MAX)?;
        for (id, s) in &self.services {
            if *id != s.id {
                return Err(ValidationError::new(
                    format!("services.{id}.id"),
                    Problem::Malformed("the key's id"),
                ));
            }
            s.validate(&format!("services.{id}"))?;
        }
        for (id, l) in &self.locations {
            if *id != l.id {
                return Err(ValidationError::new(
                    format!("locations.{id}.id"),
                    Problem::Malformed("the key's id"),
                ));
            }
            l.validate(&format!("locations.{id}"))?;
        }
        Ok(())
    }
}

impl Service {
    /// A new active service with a random id.
    pub fn new(name: impl Into<String>) -> Service {
        Service {
            id: ServiceId::random(),
            name: name.into(),
            description: MultiText::new(),
            themes: BTreeSet::new(),
            languages: BTreeSet::new(),
            eligibility: None,
            fees: None,
            how_to_apply: None,
            schedule: WeeklyHours::closed(),
            exceptions: Vec::new(),
            status: PartnerStatus::Active,
            verified_on: None,
            verified_by: None,
        }
    }

    /// The schedule with its dated exceptions.
    pub fn opening(&self) -> Opening<'_> {
        Opening {
            weekly: &self.schedule,
            exceptions: &self.exceptions,
        }
    }

    /// Checks every field, naming fields under `prefix`.
    pub fn validate(&self, prefix: &str) -> Validation {
        let f = |name: &str| format!("{prefix}.{name}");
        non_empty(&f("name"), &self.name)?;
        max_chars(&f("name"), &self.name, SHORT_TEXT_MAX)?;
        validate_multitext(&f("description"), &self.description, LONG_TEXT_MAX)?;
        optional_text(&f("eligibility"), self.eligibility.as_deref(), LONG_TEXT_MAX)?;
        optional_text(&f("fees"), self.fees.as_deref(), SHORT_TEXT_MAX)?;
        optional_text(&f("how_to_apply"), self.how_to_apply.as_deref(), LONG_TEXT_MAX)?;
        optional_text(&f("verified_by"), self.verified_by.as_deref(), SHORT_TEXT_MAX)?;
        self.schedule.check().map_err(|_| {
            ValidationError::new(
                f("schedule"),
                Problem::Malformed("non-overlapping HH:MM-HH:MM ranges"),
            )
        })?;
        validate_exceptions(&f("exceptions"), &self.exceptions)
    }
}

impl Location {
    /// A new location with a random id; the province follows from the postcode.
    pub fn new(postcode: u16, municipality: impl Into<String>) -> Location {
        Location {
            id: LocationId::random(),
            name: None,
            street: None,
            postcode,
            municipality: municipality.into(),
            province: Region::of_postcode(postcode).unwrap_or(Region::Brussels),
            latitude: None,
            longitude: None,
            hours: WeeklyHours::closed(),
            exceptions: Vec::new(),
            accessibility: None,
            status: PartnerStatus::Active,
            verified_on: None,
            verified_by: None,
        }
    }

    /// The opening hours with their dated exceptions.
    pub fn opening(&self) -> Opening<'_> {
        Opening {
            weekly: &self.hours,
            exceptions: &self.exceptions,
        }
    }

    /// Whether visitors can find the office (active or closed for a while), as search lists it.
    pub fn is_listed(&self) -> bool {
        matches!(
            self.status,
            PartnerStatus::Active | PartnerStatus::TemporarilyClosed
        )
    }

    /// Checks every field, naming fields under `prefix`.
    pub fn validate(&self, prefix: &str) -> Validation {
        let f = |name: &str| format!("{prefix}.{name}");
        optional_text(&f("name"), self.name.as_deref(), SHORT_TEXT_MAX)?;
        optional_text(&f("street"), self.street.as_deref(), SHORT_TEXT_MAX)?;
        validate_postcode(&f("postcode"), self.postcode)?;
        non_empty(&f("municipality"), &self.municipality)?;
        max_chars(&f("municipality"), &self.municipality, 100)?;
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon)) => {
                // Belgium's bounding box, with a margin: an office elsewhere is a typo.
                if !(49.0..=52.0).contains(&lat) || lat.is_nan() {
                    return Err(ValidationError::new(
                        f("latitude"),
                        Problem::OutOfRange { min: 49, max: 52 },
                    ));
                }
                if !(2.0..=7.0).contains(&lon) || lon.is_nan() {
                    return Err(ValidationError::new(
                        f("longitude"),
                        Problem::OutOfRange { min: 2, max: 7 },
                    ));
                }
            }
            (None, None) => {}
            _ => {
                return Err(ValidationError::new(
                    f("latitude"),
                    Problem::Malformed("both latitude and longitude, or neither"),
                ))
            }
        }
        optional_text(&f("accessibility"), self.accessibility.as_deref(), LONG_TEXT_MAX)?;
        optional_text(&f("verified_by"), self.verified_by.as_deref(), SHORT_TEXT_MAX)?;
        self.hours.check().map_err(|_| {
            ValidationError::new(
                f("hours"),
                Problem::Malformed("non-overlapping HH:MM-HH:MM ranges"),
            )
        })?;
        validate_exceptions(&f("exceptions"), &self.exceptions)
    }
}

/// At most [`EXCEPTIONS_MAX`], each valid, no two starting on the same day.
fn validate_exceptions(field: &str, exceptions: &[HoursException]) -> Validation {
    if exceptions.len() > EXCEPTIONS_MAX {
        return Err(ValidationError::new(
            field,
            Problem::OutOfRange {
                min: 0,
                max: EXCEPTIONS_MAX as i64,
            },
        ));
    }
    let mut starts = std::collections::BTreeSet::new();
    for e in exceptions {
        let f = format!("{field}.{}", e.from);
        e.check().map_err(|_| {
            ValidationError::new(
                f.clone(),
                Problem::Malformed(
                    "at most a year of days, in order, with non-overlapping HH:MM-HH:MM ranges",
                ),
            )
        })?;
        if !starts.insert(e.from) {
            return Err(ValidationError::new(
                f,
                Problem::Malformed("one exception a first day"),
            ));
        }
    }
    Ok(())
}

/// A Belgian postcode is four digits, 1000 to 9999.
pub(crate) fn validate_postcode(field: &str, postcode: u16) -> Validation {
    in_range(field, i64::from(postcode), 1000, 9999)
}

pub(crate) fn validate_multitext(field: &str, text: &MultiText, max: usize) -> Validation {
    for (lang, t) in text {
        let f = format!("{field}.{lang}");
        non_empty(&f, t)?;
        max_chars(&f, t, max)?;
    }
    Ok(())
}

fn validate_phone(field: &str, phone: &Phone) -> Validation {
    let ok_chars = phone
        .number
        .chars()
        .all(|c| c.is_ascii_digit() || " +/.-()".contains(c));
    let digits = phone.number.chars().filter(char::is_ascii_digit).count();
    if !ok_chars || !(6..=16).contains(&digits) {
        return Err(ValidationError::new(
            field,
            Problem::Malformed("a phone number such as +32 2 213 44 00"),
        ));
    }
    optional_text(field, phone.label.as_deref(), SHORT_TEXT_MAX)
}

fn validate_email(field: &str, email: &str) -> Validation {
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if valid && email.len() <= 254 {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            Problem::Malformed("an e-mail address"),
        ))
    }
}

fn validate_website(field: &str, url: &str) -> Validation {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if r.contains('.') && !r.chars().any(char::is_whitespace) && url.len() <= 500 => Ok(()),
        _ => Err(ValidationError::new(
            field,
            Problem::Malformed("a web address starting with https://"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let mut p = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
        assert!(p.validate().is_ok());
        p.name = "  ".into();
        assert_eq!(p.validate().unwrap_err().field, "name");
        p.name = "CAW Limburg".into();
        let mut l = Location::new(35, "Hasselt");
        let lid = l.id;
        p.locations.insert(lid, l.clone());
        let e = p.validate().unwrap_err();
        assert_eq!(e.field, format!("locations.{lid}.postcode"));
        assert_eq!(
            e.to_string(),
            format!("locations.{lid}.postcode must be between 1000 and 9999")
        );
        l.postcode = 3500;
        l.latitude = Some(50.93);
        p.locations.insert(lid, l);
        assert_eq!(
            p.validate().unwrap_err().field,
            format!("locations.{lid}.latitude")
        );
        p.locations.clear();
        p.email = Some("info.example.org".into());
        assert_eq!(p.validate().unwrap_err().field, "email");
        p.email = Some("info@example.org".into());
        p.website = Some("example.org".into());
        assert_eq!(p.validate().unwrap_err().field, "website");
    }

    #[test]
    fn phones_normalise() {
        assert_eq!(normalise_phone("011/23.45.67"), "011234567");
        assert_eq!(normalise_phone("0032 2 213 44 00"), "+3222134400");
        assert_eq!(normalise_phone("+32 (0)2 213 44 00"), "+3222134400");
    }

    #[test]
    fn best_text_follows_the_chain() {
        let mut t = MultiText::new();
        t.insert(Lang::code("nl").unwrap(), "Hallo".into());
        t.insert(Lang::code("fr").unwrap(), "Bonjour".into());
        let chain = [Lang::code("ar").unwrap(), Lang::code("fr").unwrap()];
        assert_eq!(best_text(&t, &chain).unwrap().1, "Bonjour");
        assert_eq!(best_text(&t, &[]).unwrap().1, "Bonjour");
        assert!(best_text(&MultiText::new(), &chain).is_none());
    }
}
