//! The records the apps see where their shape differs from the core's, with conversions both
//! ways. Every other record and enum is the core's own (the `uniffi` feature of
//! `outreach-core`, Kotlin package `org.outreach.core.model`): one definition, nothing to drift.
//!
//! The copies here exist because the core keys its maps and sets by validated newtypes in
//! `BTreeMap`/`BTreeSet`, which UniFFI cannot carry, and because app input is better checked
//! here, field by field: ids are UUID text, languages ISO 639 codes, countries ISO 3166 codes,
//! and a bad one is an [`OutreachError::InvalidInput`] naming the field.
//!
//! Drift: every conversion from a core type destructures it without `..`, so a field added to
//! the core fails this crate's build until the copy has it too (see the `round_trips` tests).

/// Converts a record into another with the same fields, or fields computed from its own (named
/// alike): `convert!(value, m::Service => Service { id: id.to_string(), name, .. })` destructures
/// `value` naming every field listed, with no `..`, and builds the other record from exactly
/// those. Either record gaining a field fails the build until the conversion has it.
macro_rules! convert {
    ($value:expr, $from:path => $to:path { $($field:ident $(: $conv:expr)?),* $(,)? }) => {{
        let $from { $($field),* } = $value;
        $to { $($field $(: $conv)?),* }
    }};
}

mod catalog;
mod directory;
mod visit;

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use outreach_core as oc;
use outreach_core::model as m;

pub use catalog::{Brochure, BrochureFile, BrochureView};
pub use directory::{
    DayHours, GeoPoint, Location, Partner, PartnerEdit, PartnerQuery, PartnerSummary, Service,
};
pub use oc::doc::{ConflictValue, FieldChange, FieldConflict};
pub use oc::model::{
    Activity, AgeBand, Audience, Gender, Month, OrgKind, PartOfDay, PartnerStatus, Phone, Region, Setting,
    Theme, TimeRange, Weekday,
};
pub use oc::privacy::PersonalDataKind;
pub use oc::store::{MonthlyCount, VisitQuery};
pub use oc::sync::protocol::Role;
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

type Res<T> = Result<T, OutreachError>;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> OutreachError {
    let field = field.into();
    OutreachError::InvalidInput {
        reason: format!("{field} {}", reason.into()),
        field,
    }
}

/// Parses an id given by the app, naming `field` if it is not one.
pub(crate) fn parse_id<T: FromStr>(field: &str, text: &str) -> Res<T> {
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

fn strings<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|i| i.to_string()).collect()
}

fn multi_text(field: &str, text: HashMap<String, String>) -> Res<m::MultiText> {
    text.into_iter().map(|(l, t)| Ok((lang(field, &l)?, t))).collect()
}

fn multi_text_out(text: m::MultiText) -> HashMap<String, String> {
    text.into_iter().map(|(l, t)| (l.to_string(), t)).collect()
}

/// Converts a list into a set, or a set into a list.
fn set_of<A, C: FromIterator<A>>(items: impl IntoIterator<Item = A>) -> C {
    items.into_iter().collect()
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
        let oc::privacy::PersonalDataSpan {
            start,
            end,
            start_utf16,
            end_utf16,
            kind,
        } = *s;
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        PersonalDataSpan {
            kind,
            start_utf16: n(start_utf16),
            end_utf16: n(end_utf16),
            start_utf8: n(start),
            end_utf8: n(end),
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
        // The documents written are sync bookkeeping, not something an app shows.
        let oc::StoreChanges {
            partners,
            brochures,
            visits,
            documents: _,
        } = c;
        StoreChanges {
            partners: strings(partners),
            brochures: strings(brochures),
            visits: strings(visits),
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
        let request_timeout = Duration::from_secs(self.request_timeout_seconds.into());
        Ok(oc::SyncOptions {
            languages: langs("languages", &self.languages)?,
            retention_days: self.retention_days,
            storage_budget_bytes: self.storage_budget_bytes,
            fetch_files: self.fetch_files,
            request_timeout,
            connect_timeout: defaults.connect_timeout.min(request_timeout),
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
