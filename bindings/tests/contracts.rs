//! The Rust side of the FFI's contracts that need no hub: the conversions between the core's
//! records and their FFI copies lose nothing, core errors map to stable variants, and the log
//! sink (a callback trait implemented in Rust) gets the events up to its level.

use std::sync::{Arc, Mutex};

use outreach_core::model::{self as m, Problem, ValidationError};
use outreach_core::sync::protocol::ErrorCode;
use outreach_core::{sample, Error as CoreError};
use outreach_ffi::{
    set_log_sink, Brochure, FromFfi, IntoFfi, LogLevel, LogSink, OutreachError, Partner, Visit, VisitDetails,
};

/// The core's record from its FFI copy, checked as the store's calls check it.
fn back<T: FromFfi<F>, F>(copy: F) -> Result<T, OutreachError> {
    T::from_ffi("", copy)
}

/// Every field of the core's records survives the trip through the FFI copies and back. A field
/// added to a core record fails the build instead (the conversions destructure without `..`);
/// this checks that what they do with each field is right.
#[test]
fn records_round_trip_through_their_ffi_copies() {
    for partner in sample::conex_directory() {
        let copy: Partner = partner.clone().into_ffi();
        assert_eq!(back(copy), Ok(partner));
    }
    let brochure = sample::voluntary_return_brochure();
    let copy: Brochure = brochure.clone().into_ffi();
    assert_eq!(back(copy), Ok(brochure));

    let partner = sample::conex_directory().remove(0);
    let details = m::VisitDetails {
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date"),
        part_of_day: m::PartOfDay::Evening,
        postcode: 1000,
        municipality: "Brussel".into(),
        setting: m::Setting::Shelter,
        activity: m::Activity::GroupSession,
        people_reached: 9,
        by_gender: [(m::Gender::Female, 4), (m::Gender::Male, 5)].into(),
        by_age: [(m::AgeBand::From26To35, 3)].into(),
        languages: ["ar", "fr"].iter().map(|c| c.parse().expect("a code")).collect(),
        origins: [("SY".parse().expect("a code"), 2)].into(),
        themes: [m::Theme::Shelter, m::Theme::Legal].into(),
        brochures: [(m::BrochureId::random(), 3)].into(),
        referrals: [m::Referral {
            partner: partner.id,
            theme: m::Theme::Legal,
        }]
        .into(),
        follow_up: true,
        note: "Séance au centre".into(),
    };
    let copy: VisitDetails = details.clone().into_ffi();
    assert_eq!(back(copy), Ok(details.clone()));
    let (id, device) = (m::VisitId::random(), m::DeviceId::random());
    let visit: Visit = m::Visit { id, device, details }.into_ffi();
    assert_eq!((visit.id, visit.device_id), (id.to_string(), device.to_string()));
    assert_eq!(visit.details.by_gender.len(), 2);
}

/// What the app gives is checked field by field, each error naming the field by its path.
#[test]
fn bad_input_names_its_field_and_an_entry_listed_twice_is_refused() {
    let field = |result: Result<m::Partner, OutreachError>| match result {
        Err(OutreachError::InvalidInput { field, .. }) => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let partner: Partner = sample::conex_directory().remove(0).into_ffi();
    let mut copy = partner.clone();
    copy.id = "not-an-id".into();
    assert_eq!(field(back(copy)), "id");
    let mut copy = partner.clone();
    copy.description.insert("xx".into(), "?".into());
    assert_eq!(field(back(copy)), "description");
    let mut copy = partner.clone();
    copy.services[0].languages.push("not a language".into());
    assert_eq!(field(back(copy)), "services.languages");
    let mut copy = partner.clone();
    copy.locations.push(copy.locations[0].clone());
    assert_eq!(field(back(copy)), "locations");

    let mut brochure: Brochure = sample::voluntary_return_brochure().into_ffi();
    brochure.files[0].lang = "xx".into();
    assert!(matches!(
        back::<m::Brochure, _>(brochure),
        Err(OutreachError::InvalidInput { field, .. }) if field == "files.lang"
    ));
}

/// Integers cross signed, as Kotlin and Swift count: a negative or too large one is refused
/// naming its field, never wrapped into a plausible unsigned value.
#[test]
fn signed_integers_out_of_the_cores_range_are_refused_by_field() {
    let reason = |result: Result<m::VisitDetails, OutreachError>| match result {
        Err(OutreachError::InvalidInput { field, reason }) => (field, reason),
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let details: VisitDetails = m::VisitDetails {
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date"),
        part_of_day: m::PartOfDay::Morning,
        postcode: 9000,
        municipality: "Gent".into(),
        setting: m::Setting::Street,
        activity: m::Activity::IndividualContact,
        people_reached: 3,
        by_gender: [(m::Gender::Female, 2)].into(),
        by_age: Default::default(),
        languages: Default::default(),
        origins: Default::default(),
        themes: Default::default(),
        brochures: Default::default(),
        referrals: Default::default(),
        follow_up: false,
        note: String::new(),
    }
    .into_ffi();
    assert_eq!(details.postcode, 9000_i32);

    let mut copy = details.clone();
    copy.people_reached = -3;
    assert_eq!(
        reason(back(copy)),
        (
            "peopleReached".into(),
            "peopleReached must not be negative".into()
        )
    );
    let mut copy = details.clone();
    copy.postcode = 70_000;
    assert_eq!(
        reason(back(copy)),
        ("postcode".into(), "postcode is too large".into())
    );
    let mut copy = details.clone();
    copy.by_gender[0].count = -1;
    assert_eq!(reason(back(copy)).0, "byGender.count");
    // In range, the value is the core's, unchanged.
    let mut copy = details;
    copy.people_reached = 500;
    assert_eq!(
        back::<m::VisitDetails, _>(copy).map(|d| d.people_reached),
        Ok(500)
    );
}

#[test]
fn core_errors_map_to_stable_variants_with_their_field() {
    let invalid = CoreError::Invalid(ValidationError::new(
        "people_reached",
        Problem::OutOfRange { min: 1, max: 500 },
    ));
    assert_eq!(
        OutreachError::from(invalid),
        OutreachError::InvalidInput {
            field: "peopleReached".into(),
            reason: "invalid input: peopleReached must be between 1 and 500".into(),
        }
    );
    // Every field by the name of the records' properties in Kotlin and Swift; ids, language
    // codes and days as they are.
    for (core, app) in [
        ("by_age", "byAge"),
        (
            "locations.5d0c8a4e-8f2b-4c9e-9d57-1f0a2b3c4d5e.postcode",
            "locations.5d0c8a4e-8f2b-4c9e-9d57-1f0a2b3c4d5e.postcode",
        ),
        ("services.s1.how_to_apply", "services.s1.howToApply"),
        (
            "locations.l1.exceptions.2026-12-24",
            "locations.l1.exceptions.2026-12-24",
        ),
        ("description.fr", "description.fr"),
        ("worker_notes", "workerNotes"),
    ] {
        let e = CoreError::Invalid(ValidationError::new(core, Problem::OutOfRange { min: 1, max: 3 }));
        assert_eq!(
            OutreachError::from(e),
            OutreachError::InvalidInput {
                field: app.into(),
                reason: format!("invalid input: {app} must be between 1 and 3"),
            },
            "{core}"
        );
    }
    assert!(matches!(
        OutreachError::from(CoreError::KeyInvalid(31)),
        OutreachError::InvalidInput { field, .. } if field == "key"
    ));
    assert!(matches!(
        OutreachError::from(CoreError::WrongKey),
        OutreachError::WrongKey { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::NotEncrypted),
        OutreachError::WrongKey { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::Cancelled),
        OutreachError::Cancelled { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::RevokedAndWiped),
        OutreachError::RevokedAndWiped { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::NotEnrolled),
        OutreachError::Unauthorized { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::Hub {
            code: ErrorCode::Revoked,
            reason: "revoked".into()
        }),
        OutreachError::RevokedAndWiped { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::Network("timed out".into())),
        OutreachError::Network { .. }
    ));
    assert!(matches!(
        OutreachError::from(CoreError::Closed),
        OutreachError::Storage { .. }
    ));
}

#[derive(Default)]
struct Collect(Mutex<Vec<(LogLevel, String, String)>>);

impl LogSink for Collect {
    fn log(&self, level: LogLevel, target: String, message: String) {
        self.0.lock().unwrap().push((level, target, message));
    }
}

#[test]
fn events_up_to_the_level_reach_the_sink_with_their_fields() {
    let sink = Arc::new(Collect::default());
    set_log_sink(sink.clone(), LogLevel::Info);
    tracing::info!(target: "outreach::ffi", rounds = 2, "sync finished");
    tracing::debug!(target: "outreach::ffi", "too detailed");
    tracing::warn!(target: "outreach_core::sync", reason = "timed out", "retrying");
    let lines = sink.0.lock().unwrap().clone();
    assert_eq!(
        lines,
        vec![
            (
                LogLevel::Info,
                "outreach::ffi".into(),
                "sync finished rounds=2".into()
            ),
            (
                LogLevel::Warn,
                "outreach_core::sync".into(),
                "retrying reason=timed out".into()
            ),
        ]
    );
}
