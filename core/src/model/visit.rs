//! Anonymised visits: one contact or session, described by when (date and part of day), where
//! (municipality and kind of setting, never coordinates), how many people, and what was
//! discussed. Nothing that identifies a person.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{Activity, AgeBand, Country, Gender, Lang, PartOfDay, Setting, Theme};
use super::ids::{BrochureId, DeviceId, PartnerId, VisitId};
use super::partner::validate_postcode;
use super::validate::{in_range, max_chars, non_empty, Problem, Validation, ValidationError};

/// Most people one visit may count (a large information session).
pub const MAX_PEOPLE: u32 = 500;
/// Longest note, in characters.
pub const NOTE_MAX: usize = 500;
/// Most brochures of one kind given in one visit.
pub const MAX_BROCHURES: u32 = 1000;

/// A referral made during a visit: to which partner, for which theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Referral {
    /// The partner the person was referred to.
    pub partner: PartnerId,
    /// What for.
    pub theme: Theme,
}

/// What a worker records about a visit. Every field is non-identifying by construction; the
/// note is checked for personal data before it is stored. Nothing else can ride along: unknown
/// fields are refused when a visit is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitDetails {
    /// Day of the visit.
    pub date: NaiveDate,
    /// Part of the day.
    pub part_of_day: PartOfDay,
    /// Postcode of the municipality.
    pub postcode: u16,
    /// Municipality name.
    pub municipality: String,
    /// Kind of place.
    pub setting: Setting,
    /// Kind of outreach.
    pub activity: Activity,
    /// People reached, 1 to 500.
    pub people_reached: u32,
    /// Optional counts by gender; they add up to at most `people_reached`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_gender: BTreeMap<Gender, u32>,
    /// Optional counts by age band; they add up to at most `people_reached`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_age: BTreeMap<AgeBand, u32>,
    /// Languages used.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub languages: BTreeSet<Lang>,
    /// Optional counts by country of origin; they add up to at most `people_reached`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub origins: BTreeMap<Country, u32>,
    /// Themes discussed.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub themes: BTreeSet<Theme>,
    /// Brochures given, with how many of each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub brochures: BTreeMap<BrochureId, u32>,
    /// Referrals made.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub referrals: BTreeSet<Referral>,
    /// Whether someone should follow up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_up: bool,
    /// A short note, at most 500 characters, without personal data.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A logged visit as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// Stable id.
    pub id: VisitId,
    /// The device that logged it.
    pub device: DeviceId,
    /// What was recorded.
    pub details: VisitDetails,
}

/// A calendar month, the unit of visit logs (`2026-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: i32,
}

impl Month {
    /// The month of a date.
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            // 1 to 12: always fits.
            month: date.month() as i32,
        }
    }

    /// First day of the month.
    pub fn first_day(self) -> NaiveDate {
        u32::try_from(self.month)
            .ok()
            .and_then(|m| NaiveDate::from_ymd_opt(self.year, m, 1))
            .unwrap_or_default()
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        NaiveDate::from_ymd_opt(year, month, 1).map(Month::of)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).ok_or_else(|| serde::de::Error::custom("expected YYYY-MM"))
    }
}

impl VisitDetails {
    /// A visit with the required fields and nothing optional.
    pub fn new(
        date: NaiveDate,
        part_of_day: PartOfDay,
        postcode: u16,
        municipality: impl Into<String>,
        setting: Setting,
        activity: Activity,
        people_reached: u32,
    ) -> VisitDetails {
        VisitDetails {
            date,
            part_of_day,
            postcode,
            municipality: municipality.into(),
            setting,
            activity,
            people_reached,
            by_gender: BTreeMap::new(),
            by_age: BTreeMap::new(),
            languages: BTreeSet::new(),
            origins: BTreeMap::new(),
            themes: BTreeSet::new(),
            brochures: BTreeMap::new(),
            referrals: BTreeSet::new(),
            follow_up: false,
            note: String::new(),
        }
    }

    /// The month the visit belongs to.
    pub fn month(&self) -> Month {
        Month::of(self.date)
    }

    /// Checks every field against `today` (the device's local date); the error names the first
    /// bad field. Personal data in the note is checked separately by the privacy guard.
    pub fn validate(&self, today: NaiveDate) -> Validation {
        if self.date > today + chrono::Days::new(1) {
            return Err(ValidationError::new("date", Problem::InFuture));
        }
        self.check_invariants()
    }

    /// The rules that do not depend on the day of checking, applied to visits read from
    /// documents as well.
    pub fn check_invariants(&self) -> Validation {
        if self.date.year() < 2000 {
            return Err(ValidationError::new(
                "date",
                Problem::OutOfRange { min: 2000, max: 9999 },
            ));
        }
        validate_postcode("postcode", self.postcode)?;
        non_empty("municipality", &self.municipality)?;
        max_chars("municipality", &self.municipality, 100)?;
        // A place name: letters, spaces and punctuation only, so nothing else can hide there.
        if self.municipality.chars().any(|c| c.is_ascii_digit() || c == '@') {
            return Err(ValidationError::new(
                "municipality",
                Problem::Malformed("a municipality name"),
            ));
        }
        in_range(
            "people_reached",
            i64::from(self.people_reached),
            1,
            i64::from(MAX_PEOPLE),
        )?;
        breakdown("by_gender", self.by_gender.values(), self.people_reached)?;
        breakdown("by_age", self.by_age.values(), self.people_reached)?;
        breakdown("origins", self.origins.values(), self.people_reached)?;
        for (id, n) in &self.brochures {
            in_range(
                &format!("brochures.{id}"),
                i64::from(*n),
                1,
                i64::from(MAX_BROCHURES),
            )?;
        }
        max_chars("note", &self.note, NOTE_MAX)
    }
}

fn breakdown<'a>(field: &str, counts: impl Iterator<Item = &'a u32>, total: u32) -> Validation {
    let mut sum: u64 = 0;
    for n in counts {
        in_range(field, i64::from(*n), 1, i64::from(total))?;
        sum += u64::from(*n);
    }
    if sum > u64::from(total) {
        return Err(ValidationError::new(field, Problem::ExceedsTotal { total }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sample() -> VisitDetails {
        VisitDetails::new(
            day("2026-11-20"),
            PartOfDay::Evening,
            3500,
            "Hasselt",
            Setting::Shelter,
            Activity::IndividualContact,
            3,
        )
    }

    #[test]
    fn a_plain_visit_is_valid() {
        assert!(sample().validate(day("2026-11-20")).is_ok());
    }

    #[test]
    fn each_rule_names_its_field() {
        let today = day("2026-11-20");
        let mut v = sample();
        v.date = day("2026-11-22");
        assert_eq!(v.validate(today).unwrap_err().field, "date");
        v.date = day("2026-11-21");
        assert!(v.validate(today).is_ok(), "one day ahead is allowed (time zones)");

        let mut v = sample();
        v.people_reached = 0;
        let e = v.validate(today).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.problem.clone()),
            ("people_reached", Problem::OutOfRange { min: 1, max: 500 })
        );
        v.people_reached = 501;
        assert_eq!(v.validate(today).unwrap_err().field, "people_reached");

        let mut v = sample();
        v.by_gender.insert(Gender::Female, 2);
        v.by_gender.insert(Gender::Male, 2);
        let e = v.validate(today).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.problem),
            ("by_gender", Problem::ExceedsTotal { total: 3 })
        );

        let mut v = sample();
        v.by_age.insert(AgeBand::Under18, 0);
        assert_eq!(v.validate(today).unwrap_err().field, "by_age");

        let mut v = sample();
        v.municipality = " ".into();
        assert_eq!(v.validate(today).unwrap_err().problem, Problem::Empty);

        let mut v = sample();
        v.note = "x".repeat(501);
        assert_eq!(v.validate(today).unwrap_err().field, "note");
        v.note = "é".repeat(500);
        assert!(
            v.validate(today).is_ok(),
            "the limit counts characters, not bytes"
        );
    }

    #[test]
    fn months_parse_and_print() {
        assert_eq!(Month::parse("2026-11").unwrap().to_string(), "2026-11");
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("26-1").is_none());
        assert_eq!(sample().month().first_day(), day("2026-11-01"));
    }
}
