//! How the core's own types cross the FFI (the `uniffi` feature, for the bindings crate): ids as
//! UUID text, language and country codes as text, calendar days and local times as ISO-8601
//! text (`LocalDate`/`LocalDateTime` in Kotlin, see `core/uniffi.toml`), instants as timestamps.
//! Sets and a week's hours cross as lists. The records and enums themselves derive
//! `uniffi::Record`/`uniffi::Enum` where they are defined (or are declared here); the bindings
//! crate hand-copies only the records the apps give whose shape changes (maps and sets keyed by
//! ids and codes, which it checks naming the field).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::model::{
    Audience, BrochureFile, BrochureFileEntry, BrochureId, Country, DayHours, DeviceId, DocId, Lang,
    LocationId, PartnerId, ServiceId, SuggestionId, Theme, VisitId, WeeklyHours,
};
use crate::sync::protocol::{ErrorCode, Role};

macro_rules! text_custom_type {
    ($($ty:ident),+ $(,)?) => {$(
        uniffi::custom_type!($ty, String, {
            lower: |value| value.to_string(),
            try_lift: |text| Ok(text.parse()?),
        });
    )+};
}

text_custom_type!(
    PartnerId,
    ServiceId,
    LocationId,
    BrochureId,
    VisitId,
    SuggestionId,
    DeviceId,
    DocId,
    Lang,
    Country
);

/// Sets cross as lists, in order.
macro_rules! set_custom_type {
    ($($set:ident of $item:ty),+ $(,)?) => {$(
        #[doc = concat!("A set of [`", stringify!($item), "`], as a list in order.")]
        pub type $set = BTreeSet<$item>;

        uniffi::custom_type!($set, Vec<$item>, {
            remote,
            lower: |set| set.into_iter().collect(),
            try_lift: |list| Ok(list.into_iter().collect()),
        });
    )+};
}

set_custom_type!(ThemeSet of Theme, AudienceSet of Audience, LangSet of Lang);

/// The file of a [`BrochureView`](crate::store::BrochureView), with its language.
pub type BrochureViewFile = (Lang, BrochureFile);

uniffi::custom_type!(BrochureViewFile, BrochureFileEntry, {
    remote,
    lower: |file| file.into(),
    try_lift: |entry| Ok(entry.try_into()?),
});

// Weekly hours cross as a list of days (a day listed twice gets the ranges of both), checked
// where the core validates the entry that holds them.
uniffi::custom_type!(WeeklyHours, Vec<DayHours>, {
    lower: |hours| hours.0.into_iter().map(|(day, ranges)| DayHours { day, ranges }).collect(),
    try_lift: |days| {
        let mut hours = WeeklyHours::default();
        for DayHours { day, ranges } in days {
            hours.0.entry(day).or_default().extend(ranges);
        }
        Ok(hours)
    },
});

/// A calendar day: `java.time.LocalDate` in Kotlin; `YYYY-MM-DD` text in Swift.
pub type IsoDate = NaiveDate;

uniffi::custom_type!(IsoDate, String, {
    remote,
    lower: |day| day.format("%Y-%m-%d").to_string(),
    try_lift: |text| Ok(NaiveDate::parse_from_str(&text, "%Y-%m-%d")?),
});

/// A local date and time, without a time zone: `java.time.LocalDateTime` in Kotlin;
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

/// An instant: `java.time.Instant` in Kotlin, `Date` in Swift.
pub type UtcDateTime = DateTime<Utc>;

uniffi::custom_type!(UtcDateTime, SystemTime, {
    remote,
    lower: |time| SystemTime::from(time),
    try_lift: |time| Ok(time.into()),
});

/// A path on the device, as text.
pub type FilePath = PathBuf;

uniffi::custom_type!(FilePath, String, {
    remote,
    lower: |path| path.to_string_lossy().into_owned(),
    try_lift: |text| Ok(PathBuf::from(text)),
});

// The hub's stable error code, as the text it travels as (`unknown_field`, `personal_data`...).
uniffi::custom_type!(ErrorCode, String, {
    lower: |code| code.as_str().to_string(),
    try_lift: |text| Ok(serde_json::from_value(serde_json::Value::String(text))?),
});

/// A device's role in its organisation, given at enrollment. Declared here rather than beside
/// the wire protocol, which stays free of FFI concerns; a new variant fails this build.
#[uniffi::remote(Enum)]
pub enum Role {
    /// Logs visits; reads the directory and brochures.
    Fieldworker,
    /// Also edits the directory and publishes brochures (visit logs stay on the device that
    /// logged them: an organisation's figures are published as reports).
    Coordinator,
    /// A coordinator who also manages the organisation's devices.
    Admin,
}
