//! The domain model: partners, services, locations, brochures and anonymised visits, with
//! their vocabularies and validation rules. Plain data, independent of storage and sync.

mod brochure;
mod codes;
pub mod fields;
mod hours;
mod ids;
mod partner;
mod suggestion;
pub(crate) mod validate;
mod visit;

pub use brochure::{Brochure, BrochureFile, MAX_FILE_BYTES, MEDIA_TYPES};
#[cfg(feature = "uniffi")]
pub use brochure::{BrochureFileEntry, InvalidFileEntry};
pub use codes::{
    Activity, AgeBand, Audience, Country, Gender, Lang, OrgKind, PartOfDay, PartnerStatus, Region, Setting,
    Theme, UnknownCode, Weekday,
};
#[cfg(feature = "uniffi")]
pub use hours::DayHours;
pub use hours::{
    format_ranges, parse_ranges, HoursException, InvalidException, InvalidHours, Opening, TimeRange,
    WeeklyHours, EXCEPTIONS_MAX, EXCEPTION_MAX_DAYS,
};
pub use ids::{
    BrochureId, DeviceId, DocId, InvalidId, LocationId, PartnerId, ServiceId, SuggestionId, VisitId,
};
pub use partner::{
    best_text, normalise_phone, Location, MultiText, Partner, Phone, Service, LONG_TEXT_MAX, SHORT_TEXT_MAX,
};
pub use suggestion::{Answer, Outcome, Suggestion, COMMENT_MAX};
pub use validate::{Problem, Validation, ValidationError};
pub use visit::{Month, Referral, Visit, VisitDetails, MAX_BROCHURES, MAX_PEOPLE, NOTE_MAX};
