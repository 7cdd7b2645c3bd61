//! The Rust side of the FFI's contracts that need no hub: the conversions between the core's
//! records and their FFI copies lose nothing, core errors map to stable variants, and the log
//! sink (a callback trait implemented in Rust) gets the events up to its level.

use std::sync::{Arc, Mutex};

use outreach_core::model::{self as m, Problem, ValidationError};
use outreach_core::sync::protocol::ErrorCode;
use outreach_core::{sample, Error as CoreError};
use outreach_ffi::{set_log_sink, Brochure, LogLevel, LogSink, OutreachError, Partner, Visit, VisitDetails};

/// Every field of the core's records survives the trip through the FFI copies and back. A field
/// added to a core record fails the build instead (the conversions destructure without `..`);
/// this checks that what they do with each field is right.
#[test]
fn records_round_trip_through_their_ffi_copies() {
    for partner in sample::conex_directory() {
        let back = m::Partner::try_from(Partner::from(partner.clone())).expect("a valid copy");
        assert_eq!(back, partner);
    }
    let brochure = sample::voluntary_return_brochure();
    assert_eq!(
        m::Brochure::try_from(Brochure::from(brochure.clone())),
        Ok(brochure)
    );

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
    assert_eq!(
        m::VisitDetails::try_from(VisitDetails::from(details.clone())),
        Ok(details.clone())
    );
    let visit = Visit::from(m::Visit {
        id: m::VisitId::random(),
        device: m::DeviceId::random(),
        details,
    });
    assert_eq!(visit.details.by_gender.len(), 2);
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
            field: "people_reached".into(),
            reason: "invalid input: people_reached must be between 1 and 500".into(),
        }
    );
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
