//! The records the apps see where their shape differs from the core's, with conversions both
//! ways. Every other record and enum is the core's own (the `uniffi` feature of
//! `outreach-core`, Kotlin package `org.outreach.core.model`): one definition, nothing to drift.
//!
//! The copies here exist because the core keys its maps and sets by validated newtypes in
//! `BTreeMap`/`BTreeSet`, which UniFFI cannot carry, and because app input is better checked
//! here, field by field: ids are UUID text, languages ISO 639 codes, countries ISO 3166 codes,
//! and a bad one is an [`OutreachError::InvalidInput`] naming the field.
//!
//! Conversions go field by field, through [`FromFfi`] (what the app gives, checked) and
//! [`IntoFfi`] (what it gets), implemented once per kind of value. Drift: `convert!` destructures
//! each record without `..`, so a field added to the core fails this crate's build until the copy
//! has it too (`records_round_trip_through_their_ffi_copies` checks what it does with each).

/// Implements the conversions of a record and its FFI copy from one list of their fields:
/// `convert!(Service <=> m::Service { id, name, .. })` both ways, `=>` only from the app's
/// record, `<=` only to it; `device_id = device` pairs fields named differently, and fields
/// after a `;` are the core's, not shown to the apps. Each record is destructured naming every
/// field listed, with no `..`, and the other built from exactly those, so either gaining a
/// field fails the build until the list has it. A field checked from the app's record is named
/// in errors by its name, after the prefix given first for a record nested in others
/// (`convert!("services." Service ..)`: `services.languages`).
macro_rules! convert {
    ($ffi:ident $($rest:tt)*) => {
        convert!("" $ffi $($rest)*);
    };
    ($at:literal $ffi:ident <=> $core:path { $($f:ident $(= $cf:ident)?),* $(,)? }) => {
        convert!($at $ffi => $core { $($f $(= $cf)?),* });
        convert!($at $ffi <= $core { $($f $(= $cf)?),* });
    };
    ($at:literal $ffi:ident => $core:path { $($f:ident $(= $cf:ident)?),* $(,)? }) => {
        impl $crate::types::FromFfi<$ffi> for $core {
            fn from_ffi(_: &str, value: $ffi) -> $crate::types::Res<Self> {
                let $ffi { $($f),* } = value;
                $(let $f = $crate::types::arg(concat!($at, stringify!($f)), $f)?;)*
                Ok(Self { $($($cf:)? $f),* })
            }
        }
    };
    ($at:literal $ffi:ident <= $core:path { $($f:ident $(= $cf:ident)?),* $(,)? $(; $($hidden:ident),*)? }) => {
        impl $crate::types::IntoFfi<$ffi> for $core {
            fn into_ffi(self) -> $ffi {
                let Self { $($($cf:)? $f,)* $($($hidden: _,)*)? } = self;
                $ffi { $($f: $crate::types::IntoFfi::into_ffi($f)),* }
            }
        }
        impl $crate::types::IntoFfi<Vec<$ffi>> for Vec<$core> {
            fn into_ffi(self) -> Vec<$ffi> {
                self.into_iter().map($crate::types::IntoFfi::into_ffi).collect()
            }
        }
    };
}

mod catalog;
mod directory;
mod visit;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use outreach_core as oc;
use outreach_core::model as m;

pub use catalog::Brochure;
pub(crate) use directory::EntryPair;
pub use directory::{
    EntryRef, GeoPoint, Location, LocationEdit, Partner, PartnerEdit, PartnerQuery, Service, ServiceEdit,
};
pub use oc::doc::{ConflictValue, FieldChange, FieldConflict};
pub use oc::model::BrochureFileEntry as BrochureFile;
pub use oc::model::{
    Activity, AgeBand, Answer, Audience, DayHours, Gender, HoursException, Month, OrgKind, Outcome,
    PartOfDay, PartnerStatus, Phone, Region, Setting, Suggestion, Theme, TimeRange, Weekday,
};
pub use oc::privacy::PersonalDataKind;
pub use oc::store::{BrochureView, EditRight, Entry, MonthlyCount, PartnerSummary, StaleEntry, VisitQuery};
pub use oc::sync::protocol::{DeviceName, OrgReport, PublishedCount, PublishedTable, Role};
pub use oc::{
    DocumentRefusal, Enrollment, FetchReport, LocalBrochureFile, SyncPhase,
    SyncProgressUpdate as SyncProgress, SyncReport,
};
pub use visit::{AgeCount, BrochureCount, GenderCount, OriginCount, Referral, Visit, VisitDetails};

use crate::error::OutreachError;

// The core's calendar types, as the core declares them for the FFI.
uniffi::use_remote_type!(outreach_core::NaiveDate);
uniffi::use_remote_type!(outreach_core::NaiveDateTime);

/// A calendar day: `java.time.LocalDate` in Kotlin, `YYYY-MM-DD` text in Swift.
pub type IsoDate = NaiveDate;
/// A local date and time: `java.time.LocalDateTime` in Kotlin, ISO-8601 text in Swift.
pub type IsoDateTime = NaiveDateTime;

pub(crate) type Res<T> = Result<T, OutreachError>;

/// A value the app gave at `field` that `is` not what it should be.
pub(crate) fn invalid(field: impl Into<String>, is: &str) -> OutreachError {
    let field = crate::error::app_field(&field.into());
    OutreachError::input(&field, format!("{field} {is}"))
}

/// A core value from what the app gives for it, checked: a bad one is `InvalidInput` naming
/// `field` (`partner_id`, `services.languages`; records name their own fields).
pub trait FromFfi<F>: Sized {
    /// Checks `value`, given by the app at `field`.
    fn from_ffi(field: &str, value: F) -> Result<Self, OutreachError>;
}

/// A core value as the app gets it.
pub trait IntoFfi<F> {
    /// The value as the app gets it.
    fn into_ffi(self) -> F;
}

/// Checks a value the app gave, at `field`.
pub(crate) fn arg<T: FromFfi<F>, F>(field: &str, value: F) -> Res<T> {
    T::from_ffi(field, value)
}

/// Everything else crosses as it is.
impl<T> FromFfi<T> for T {
    fn from_ffi(_: &str, value: T) -> Res<T> {
        Ok(value)
    }
}

impl<T> IntoFfi<T> for T {
    fn into_ffi(self) -> T {
        self
    }
}

/// The core's checked text: ids (UUIDs) and codes.
macro_rules! text {
    ($($($t:ty),+: $what:literal;)*) => {$($(
        impl FromFfi<String> for $t {
            fn from_ffi(field: &str, text: String) -> Res<$t> {
                text.parse().map_err(|_| invalid(field, $what))
            }
        }
        impl IntoFfi<String> for $t {
            fn into_ffi(self) -> String {
                self.to_string()
            }
        }
        impl FromFfi<Vec<String>> for Vec<$t> {
            fn from_ffi(field: &str, texts: Vec<String>) -> Res<Self> {
                texts.into_iter().map(|t| arg(field, t)).collect()
            }
        }
        impl IntoFfi<Vec<String>> for Vec<$t> {
            fn into_ffi(self) -> Vec<String> {
                self.into_iter().map(IntoFfi::into_ffi).collect()
            }
        }
    )+)*};
}

text! {
    m::PartnerId, m::ServiceId, m::LocationId, m::BrochureId, m::VisitId, m::DeviceId, m::SuggestionId: "is not a valid id (a UUID)";
    m::Lang: "is not a known language code";
    m::Country: "is not a known country code";
}

/// Sets cross as lists (a value listed twice counts once).
impl<F, T: FromFfi<F> + Ord> FromFfi<Vec<F>> for BTreeSet<T> {
    fn from_ffi(field: &str, items: Vec<F>) -> Res<Self> {
        items.into_iter().map(|i| T::from_ffi(field, i)).collect()
    }
}

impl<F, T: IntoFfi<F>> IntoFfi<Vec<F>> for BTreeSet<T> {
    fn into_ffi(self) -> Vec<F> {
        self.into_iter().map(T::into_ffi).collect()
    }
}

/// Texts by language cross as maps keyed by the code.
impl<KF, VF, K: FromFfi<KF> + Ord, V: FromFfi<VF>> FromFfi<HashMap<KF, VF>> for BTreeMap<K, V> {
    fn from_ffi(field: &str, map: HashMap<KF, VF>) -> Res<Self> {
        map.into_iter()
            .map(|(k, v)| Ok((arg(field, k)?, arg(field, v)?)))
            .collect()
    }
}

impl<KF: Hash + Eq, VF, K: IntoFfi<KF>, V: IntoFfi<VF>> IntoFfi<HashMap<KF, VF>> for BTreeMap<K, V> {
    fn into_ffi(self) -> HashMap<KF, VF> {
        self.into_iter()
            .map(|(k, v)| (k.into_ffi(), v.into_ffi()))
            .collect()
    }
}

/// Other maps cross as lists of records, one an entry (a count, a service with its id); an
/// entry listed twice is refused.
impl<F, K: Ord, V> FromFfi<Vec<F>> for BTreeMap<K, V>
where
    (K, V): FromFfi<F>,
{
    fn from_ffi(field: &str, items: Vec<F>) -> Res<Self> {
        let mut map = BTreeMap::new();
        for item in items {
            let (k, v) = <(K, V)>::from_ffi(field, item)?;
            if map.insert(k, v).is_some() {
                return Err(invalid(field, "lists the same value twice"));
            }
        }
        Ok(map)
    }
}

impl<F, K, V> IntoFfi<Vec<F>> for BTreeMap<K, V>
where
    (K, V): IntoFfi<F>,
{
    fn into_ffi(self) -> Vec<F> {
        self.into_iter().map(IntoFfi::into_ffi).collect()
    }
}

/// Integers cross signed, as Kotlin and Swift count (`Int`, `Long`): a value the app gives
/// is checked into the core's unsigned type (a negative or too large one is `InvalidInput`
/// naming its field); a value the app gets saturates at the signed maximum, which no count,
/// size or postcode of the store comes near.
macro_rules! signed {
    ($($core:ty => $ffi:ty),* $(,)?) => {$(
        impl FromFfi<$ffi> for $core {
            fn from_ffi(field: &str, value: $ffi) -> Res<Self> {
                <$core>::try_from(value).map_err(|_| {
                    invalid(field, if value < 0 { "must not be negative" } else { "is too large" })
                })
            }
        }
        impl FromFfi<Option<$ffi>> for Option<$core> {
            fn from_ffi(field: &str, value: Option<$ffi>) -> Res<Self> {
                value.map(|v| arg(field, v)).transpose()
            }
        }
        impl IntoFfi<$ffi> for $core {
            fn into_ffi(self) -> $ffi {
                <$ffi>::try_from(self).unwrap_or(<$ffi>::MAX)
            }
        }
        impl IntoFfi<Option<$ffi>> for Option<$core> {
            fn into_ffi(self) -> Option<$ffi> {
                self.map(IntoFfi::into_ffi)
            }
        }
    )*};
}

signed! { u16 => i32, u32 => i32, usize => i32, u64 => i64 }

/// Where a note holds personal data. The visit was not stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonalDataSpan {
    /// What was found.
    pub kind: PersonalDataKind,
    /// Start, in UTF-16 code units (Kotlin and Java string indices).
    pub start_utf16: i32,
    /// End, exclusive, in UTF-16 code units.
    pub end_utf16: i32,
    /// Start, in UTF-8 bytes.
    pub start_utf8: i32,
    /// End, exclusive, in UTF-8 bytes.
    pub end_utf8: i32,
}

convert!(PersonalDataSpan <= oc::privacy::PersonalDataSpan {
    kind, start_utf16, end_utf16, start_utf8 = start, end_utf8 = end,
});

/// What the store tells observers after each commit, local or from a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct StoreChanges {
    /// Partners added or changed.
    pub partners: Vec<String>,
    /// Brochures added or changed.
    pub brochures: Vec<String>,
    /// Visits logged or amended.
    pub visits: Vec<String>,
    /// Suggestions made or answered.
    pub suggestions: Vec<String>,
    /// The organisation's report was replaced by a new one from the hub (`orgReport()`).
    pub report: bool,
}

// The documents written are sync bookkeeping, not something an app shows.
convert!(StoreChanges <= oc::StoreChanges { partners, brochures, visits, suggestions, report; documents });

/// How a store is opened and synced.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoreConfig {
    /// Languages the worker reads, in order of preference (language codes): the brochure files
    /// kept on the device are chosen by them.
    #[uniffi(default)]
    pub languages: Vec<String>,
    /// Days a finished visit-log month the hub holds in full stays on the device (default 30).
    #[uniffi(default = 30)]
    pub retention_days: i32,
    /// Most bytes of brochure files kept on the device (default 200 MiB).
    #[uniffi(default = 209715200)]
    pub storage_budget_bytes: i64,
    /// An extra certificate authority (PEM) to trust for the hub, besides the public roots.
    #[uniffi(default = None)]
    pub extra_ca_pem: Option<String>,
    /// Whether a sync also fetches missing brochure files (default yes).
    #[uniffi(default = true)]
    pub fetch_files: bool,
    /// Longest wait, in seconds, for the hub to answer or for the next piece of an answer.
    #[uniffi(default = 60)]
    pub request_timeout_seconds: i32,
    /// Attempts of each request on transient failures, with backoff (at least 1).
    #[uniffi(default = 4)]
    pub max_attempts: i32,
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
        let max_attempts: u32 = arg("max_attempts", self.max_attempts)?;
        let timeout_seconds: u32 = arg("request_timeout_seconds", self.request_timeout_seconds)?;
        if max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if timeout_seconds == 0 {
            return Err(invalid("request_timeout_seconds", "must be at least 1"));
        }
        let request_timeout = Duration::from_secs(timeout_seconds.into());
        // Every option named (no `..defaults`): a new one fails the build until it is either
        // given to the apps or taken from the defaults here.
        Ok(oc::SyncOptions {
            languages: arg("languages", self.languages.clone())?,
            retention_days: arg("retention_days", self.retention_days)?,
            storage_budget_bytes: arg("storage_budget_bytes", self.storage_budget_bytes)?,
            fetch_files: self.fetch_files,
            request_timeout,
            connect_timeout: defaults.connect_timeout.min(request_timeout),
            deadline: defaults.deadline,
            max_attempts,
            retry_base_delay: defaults.retry_base_delay,
            retry_max_delay: defaults.retry_max_delay,
            extra_ca_pem: self.extra_ca_pem.clone(),
        })
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
    // A panic (a bug) finds nothing rather than unwinding into the app.
    let found = catch_unwind(AssertUnwindSafe(|| oc::privacy::scan_note(&note)));
    found.unwrap_or_default().into_ffi()
}
