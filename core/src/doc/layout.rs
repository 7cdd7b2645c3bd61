//! The layout of each document kind: which keys every map may hold, and what each key's value
//! must be. The writers in `directory.rs`, `catalog.rs` and `visits.rs` produce exactly this
//! layout; [`inspect`](super::inspect) checks every operation of a pushed change against it, so
//! that nothing outside the model (an extra root key, an unknown field, a value of the wrong
//! type) is stored on the hub and forwarded to other devices, even when a later change hides it.

use std::str::FromStr;

use automerge::ScalarValue;

use super::DocKind;
use crate::model::{
    parse_ranges, Audience, BrochureId, Lang, LocationId, OrgKind, PartnerId, PartnerStatus, Region,
    ServiceId, SuggestionId, Theme, VisitId, Weekday, COMMENT_MAX, LONG_TEXT_MAX, MAX_FILE_BYTES,
    MEDIA_TYPES, SHORT_TEXT_MAX,
};

/// What a map in a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    /// The document's root.
    Root(DocKind),
    /// `partners`: partners by id.
    Partners,
    /// `partners/<id>`.
    Partner,
    /// `partners/<id>/services`.
    Services,
    /// `partners/<id>/services/<id>`.
    Service,
    /// `partners/<id>/locations`.
    Locations,
    /// `partners/<id>/locations/<id>`.
    Location,
    /// `partners/<id>/phones`: phones by their normalised number.
    Phones,
    /// `partners/<id>/phones/<number>`.
    Phone,
    /// Weekly hours day by day, weekday -> ranges (layout 1; layout 2 keeps them as one value).
    Hours,
    /// Dated exceptions to weekly hours, by first day.
    Exceptions,
    /// Text per language, of at most this many characters.
    Texts(usize),
    /// A set stored as a map `code -> true`.
    Set(SetOf),
    /// `brochures`: brochures by id.
    Brochures,
    /// `brochures/<id>`.
    Brochure,
    /// `brochures/<id>/files`: files by language.
    Files,
    /// `brochures/<id>/files/<lang>`.
    File,
    /// `visits`: visits by id, each one JSON value.
    Visits,
    /// `suggestions`: suggestions by id.
    Suggestions,
    /// `suggestions/<id>`: the author's fields and a coordinator's answer.
    Suggestion,
}

/// The members of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SetOf {
    /// Theme codes.
    Themes,
    /// Language codes.
    Langs,
    /// Region codes.
    Regions,
    /// Audience codes.
    Audiences,
}

/// What a key of a map may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A map of the given kind.
    Map(Node),
    /// A scalar value.
    Value(Value),
    /// The document's schema version: only ever raised, by a newer app.
    SchemaVersion,
    /// Written once, by the document's genesis change.
    Fixed,
}

/// The scalar values of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// Text of at most this many characters.
    Text(usize),
    /// Free text of at most this many characters that must not hold personal data (checked by
    /// the privacy guard; a partner's own public number or address is allowed).
    FreeText(usize),
    /// A code of a vocabulary.
    Code(Vocabulary),
    /// A calendar day, `YYYY-MM-DD`.
    Date,
    /// A non-negative integer in a range.
    Uint { min: u64, max: u64 },
    /// A coordinate in degrees, within a range.
    Degrees { min: i32, max: i32 },
    /// Opening ranges, `HH:MM-HH:MM,...`.
    Ranges,
    /// A week's hours, `mon-fri 09:00-12:00; sat 10:00-12:00` or `closed`.
    Weekly,
    /// A dated exception under its first day: `<last day> closed` or `<last day> <ranges>`.
    Exception,
    /// `true` or `false`.
    Bool,
    /// `true`: a member of a set.
    True,
    /// 64 lower-case hexadecimal characters.
    Sha256,
    /// A visit, as one strict JSON value (see `visits.rs`).
    VisitJson,
    /// A partner's id, in its canonical form.
    PartnerRef,
    /// A field of a partner as the CLI and the apps name it (see `model::fields`).
    FieldName,
    /// A coordinator's answer to a suggestion, `outcome|day|reason`; its reason is free text.
    Answer,
}

/// The vocabularies of code fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vocabulary {
    /// Kinds of organisation.
    OrgKind,
    /// Statuses of partners and services.
    Status,
    /// Regions (a location's province).
    Region,
    /// Media types of brochure files.
    MediaType,
}

/// What a key that the layout defines may hold, and whether it may be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// Its content.
    pub slot: Slot,
    /// Whether a delete of the key is allowed (optional fields, set members, replaced files).
    pub removable: bool,
}

const fn value(v: Value, removable: bool) -> Field {
    Field {
        slot: Slot::Value(v),
        removable,
    }
}

const fn map(node: Node, removable: bool) -> Field {
    Field {
        slot: Slot::Map(node),
        removable,
    }
}

/// Whether `key` is exactly the canonical form of a `T` (`NL` is not the key `nl`).
fn canonical<T: FromStr + ToString>(key: &str) -> bool {
    key.parse::<T>().is_ok_and(|v| v.to_string() == key)
}

/// A phone key as `normalise_phone` writes it: digits with an optional leading `+`.
fn phone_key(key: &str) -> bool {
    let digits = key.strip_prefix('+').unwrap_or(key);
    (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

impl Node {
    /// The field `key` of this map, or `None` when the layout has no such key here.
    pub fn field(self, key: &str) -> Option<Field> {
        use Value::*;
        let f = match self {
            Node::Root(kind) => match key {
                "schema" => Field {
                    slot: Slot::SchemaVersion,
                    removable: false,
                },
                "kind" => fixed(),
                k if k == kind.collection() => fixed(),
                "region" if kind == DocKind::DirectorySection => fixed(),
                "owner" | "month" if kind == DocKind::VisitLog => fixed(),
                "owner" if kind == DocKind::Suggestions => fixed(),
                _ => return None,
            },
            Node::Partners => match canonical::<PartnerId>(key) {
                true => map(Node::Partner, false),
                false => return None,
            },
            Node::Partner => match key {
                "name" => value(Text(SHORT_TEXT_MAX), false),
                "alternate_name" => value(Text(SHORT_TEXT_MAX), true),
                "kind" => value(Code(Vocabulary::OrgKind), false),
                "status" => value(Code(Vocabulary::Status), false),
                "email" | "website" => value(Text(500), true),
                "verified_on" => value(Date, true),
                "verified_by" => value(FreeText(SHORT_TEXT_MAX), true),
                "worker_notes" => value(FreeText(LONG_TEXT_MAX), true),
                "description" => map(Node::Texts(LONG_TEXT_MAX), false),
                "themes" => map(Node::Set(SetOf::Themes), false),
                "languages" => map(Node::Set(SetOf::Langs), false),
                "regions" => map(Node::Set(SetOf::Regions), false),
                "services" => map(Node::Services, false),
                "locations" => map(Node::Locations, false),
                "phones" => map(Node::Phones, false),
                _ => return None,
            },
            Node::Services => match canonical::<ServiceId>(key) {
                true => map(Node::Service, false),
                false => return None,
            },
            Node::Service => match key {
                "name" => value(Text(SHORT_TEXT_MAX), false),
                "fees" => value(Text(SHORT_TEXT_MAX), true),
                "eligibility" | "how_to_apply" => value(Text(LONG_TEXT_MAX), true),
                "status" => value(Code(Vocabulary::Status), false),
                "description" => map(Node::Texts(LONG_TEXT_MAX), false),
                "themes" => map(Node::Set(SetOf::Themes), false),
                "languages" => map(Node::Set(SetOf::Langs), false),
                "schedule" => map(Node::Hours, false),
                "weekly" => value(Weekly, false),
                "exceptions" => map(Node::Exceptions, false),
                "verified_on" => value(Date, true),
                "verified_by" => value(FreeText(SHORT_TEXT_MAX), true),
                _ => return None,
            },
            Node::Locations => match canonical::<LocationId>(key) {
                true => map(Node::Location, false),
                false => return None,
            },
            Node::Location => match key {
                "name" | "street" => value(Text(SHORT_TEXT_MAX), true),
                "postcode" => value(Uint { min: 1000, max: 9999 }, false),
                "municipality" => value(Text(100), false),
                "province" => value(Code(Vocabulary::Region), false),
                "latitude" => value(Degrees { min: 49, max: 52 }, true),
                "longitude" => value(Degrees { min: 2, max: 7 }, true),
                "accessibility" => value(Text(LONG_TEXT_MAX), true),
                "hours" => map(Node::Hours, false),
                "weekly" => value(Weekly, false),
                "exceptions" => map(Node::Exceptions, false),
                "status" => value(Code(Vocabulary::Status), false),
                "verified_on" => value(Date, true),
                "verified_by" => value(FreeText(SHORT_TEXT_MAX), true),
                _ => return None,
            },
            Node::Phones => match phone_key(key) {
                true => map(Node::Phone, true),
                false => return None,
            },
            Node::Phone => match key {
                "number" => value(Text(SHORT_TEXT_MAX), false),
                "label" => value(Text(SHORT_TEXT_MAX), true),
                _ => return None,
            },
            Node::Hours => match canonical::<Weekday>(key) {
                true => value(Ranges, true),
                false => return None,
            },
            Node::Exceptions => match canonical::<chrono::NaiveDate>(key) {
                true => value(Exception, true),
                false => return None,
            },
            Node::Texts(max) => match canonical::<Lang>(key) {
                true => value(Text(max), true),
                false => return None,
            },
            Node::Set(of) => {
                let member = match of {
                    SetOf::Themes => canonical::<Theme>(key),
                    SetOf::Langs => canonical::<Lang>(key),
                    SetOf::Regions => canonical::<Region>(key),
                    SetOf::Audiences => canonical::<Audience>(key),
                };
                match member {
                    true => value(True, true),
                    false => return None,
                }
            }
            Node::Brochures => match canonical::<BrochureId>(key) {
                true => map(Node::Brochure, false),
                false => return None,
            },
            Node::Brochure => match key {
                "title" => map(Node::Texts(SHORT_TEXT_MAX), false),
                "summary" => map(Node::Texts(LONG_TEXT_MAX), false),
                "themes" => map(Node::Set(SetOf::Themes), false),
                "audience" => map(Node::Set(SetOf::Audiences), false),
                "files" => map(Node::Files, false),
                "version" => value(
                    Uint {
                        min: 0,
                        max: u32::MAX as u64,
                    },
                    false,
                ),
                "published_on" | "updated_on" => value(Date, false),
                "retired" => value(Bool, false),
                _ => return None,
            },
            Node::Files => match canonical::<Lang>(key) {
                // A new file is a new map (see `catalog.rs`); a language dropped is removed.
                true => map(Node::File, true),
                false => return None,
            },
            Node::File => match key {
                "sha256" => value(Sha256, false),
                "size" => value(
                    Uint {
                        min: 0,
                        max: MAX_FILE_BYTES,
                    },
                    false,
                ),
                "media_type" => value(Code(Vocabulary::MediaType), false),
                "file_name" => value(Text(SHORT_TEXT_MAX), false),
                _ => return None,
            },
            Node::Visits => match canonical::<VisitId>(key) {
                true => value(VisitJson, false),
                false => return None,
            },
            Node::Suggestions => match canonical::<SuggestionId>(key) {
                true => map(Node::Suggestion, false),
                false => return None,
            },
            Node::Suggestion => match key {
                "partner" => value(PartnerRef, false),
                "region" => value(Code(Vocabulary::Region), false),
                "field" => value(FieldName, false),
                "value" => value(FreeText(LONG_TEXT_MAX), false),
                "comment" => value(FreeText(COMMENT_MAX), false),
                "made_on" => value(Date, false),
                "answer" => value(Answer, false),
                _ => return None,
            },
        };
        Some(f)
    }

    /// The collection map of a document kind, created by its genesis change.
    pub fn collection(kind: DocKind) -> Node {
        match kind {
            DocKind::DirectorySection => Node::Partners,
            DocKind::BrochureCatalog => Node::Brochures,
            DocKind::VisitLog => Node::Visits,
            DocKind::Suggestions => Node::Suggestions,
        }
    }
}

const fn fixed() -> Field {
    Field {
        slot: Slot::Fixed,
        removable: false,
    }
}

/// Why a scalar does not fit its slot (the value itself is never part of it).
pub(crate) type Misfit = &'static str;

impl Value {
    /// Checks a scalar's type and content. Text is returned for the checks that need it (the
    /// privacy guard, the visit's JSON).
    pub fn check<'a>(self, v: &'a ScalarValue) -> Result<Option<&'a str>, Misfit> {
        let text = |max: usize| -> Result<Option<&'a str>, Misfit> {
            match v {
                ScalarValue::Str(s) if s.chars().count() <= max => Ok(Some(s.as_str())),
                ScalarValue::Str(_) => Err("text within the field's length"),
                _ => Err("text"),
            }
        };
        match self {
            Value::Text(max) | Value::FreeText(max) => text(max),
            Value::VisitJson => text(4 * LONG_TEXT_MAX),
            Value::Code(vocabulary) => {
                let s = text(100)?.unwrap_or_default();
                let known = match vocabulary {
                    Vocabulary::OrgKind => canonical::<OrgKind>(s),
                    Vocabulary::Status => canonical::<PartnerStatus>(s),
                    Vocabulary::Region => canonical::<Region>(s),
                    Vocabulary::MediaType => MEDIA_TYPES.contains(&s),
                };
                if known {
                    Ok(None)
                } else {
                    Err("a known code")
                }
            }
            Value::Date => {
                let s = text(10)?.unwrap_or_default();
                match s.parse::<chrono::NaiveDate>() {
                    Ok(d) if d.to_string() == s => Ok(None),
                    _ => Err("a date YYYY-MM-DD"),
                }
            }
            Value::Uint { min, max } => {
                let n = match v {
                    ScalarValue::Uint(n) => *n,
                    ScalarValue::Int(n) if *n >= 0 => *n as u64,
                    _ => return Err("a non-negative integer"),
                };
                if (min..=max).contains(&n) {
                    Ok(None)
                } else {
                    Err("an integer in range")
                }
            }
            Value::Degrees { min, max } => {
                let f = match v {
                    ScalarValue::F64(f) => *f,
                    ScalarValue::Int(n) => *n as f64,
                    ScalarValue::Uint(n) => *n as f64,
                    _ => return Err("a number"),
                };
                if f.is_finite() && f >= f64::from(min) && f <= f64::from(max) {
                    Ok(None)
                } else {
                    Err("a coordinate in Belgium")
                }
            }
            Value::Ranges => {
                let s = text(200)?.unwrap_or_default();
                match parse_ranges(s) {
                    Ok(_) => Ok(None),
                    Err(_) => Err("opening ranges HH:MM-HH:MM"),
                }
            }
            Value::Weekly => {
                let s = text(500)?.unwrap_or_default();
                match s.parse::<crate::model::WeeklyHours>() {
                    Ok(_) => Ok(None),
                    Err(_) => Err("weekly hours such as mon-fri 09:00-12:00"),
                }
            }
            // The first day is the key: the whole exception is checked with it, where the
            // operation's key is known (`inspect`).
            Value::Exception => text(100),
            Value::PartnerRef => {
                let s = text(36)?.unwrap_or_default();
                match canonical::<PartnerId>(s) {
                    true => Ok(None),
                    false => Err("a partner id"),
                }
            }
            Value::FieldName => {
                let s = text(200)?.unwrap_or_default();
                match crate::model::fields::partner_doc_path(s) {
                    Ok(_) => Ok(None),
                    Err(_) => Err("a field of a partner"),
                }
            }
            Value::Answer => {
                let s = text(20 + COMMENT_MAX)?.unwrap_or_default();
                match crate::model::Answer::from_stored(
                    s,
                    crate::model::DeviceId::from_uuid(uuid::Uuid::nil()),
                ) {
                    Some(_) => Ok(Some(s)),
                    None => Err("an answer: accepted or dismissed, its day, and why"),
                }
            }
            Value::Bool => match v {
                ScalarValue::Boolean(_) => Ok(None),
                _ => Err("true or false"),
            },
            Value::True => match v {
                ScalarValue::Boolean(true) => Ok(None),
                _ => Err("true"),
            },
            Value::Sha256 => {
                let s = text(64)?.unwrap_or_default();
                if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok(None)
                } else {
                    Err("a SHA-256 in lower-case hex")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_canonical_codes_and_ids() {
        assert!(Node::Set(SetOf::Langs).field("nl").is_some());
        assert!(Node::Set(SetOf::Langs).field("NL").is_none());
        assert!(Node::Set(SetOf::Themes).field("astrology").is_none());
        let id = PartnerId::random().to_string();
        assert!(Node::Partners.field(&id).is_some());
        assert!(Node::Partners.field(&id.to_uppercase()).is_none());
        assert!(Node::Partners.field("Jan Peeters").is_none());
        assert!(Node::Phones.field("+3222134400").is_some());
        assert!(Node::Phones.field("call me").is_none());
        assert!(Node::Root(DocKind::VisitLog).field("notes").is_none());
        assert_eq!(
            Node::Root(DocKind::VisitLog).field("schema").map(|f| f.slot),
            Some(Slot::SchemaVersion)
        );
        assert!(Node::Partner.field("iban").is_none());
    }

    #[test]
    fn values_are_checked_by_type_and_content() {
        let s = |t: &str| ScalarValue::Str(t.into());
        assert!(Value::Code(Vocabulary::Status).check(&s("active")).is_ok());
        assert!(Value::Code(Vocabulary::Status).check(&s("Active")).is_err());
        assert!(Value::Date.check(&s("2026-11-02")).is_ok());
        assert!(Value::Date.check(&s("2026-11-2")).is_err());
        assert!(Value::Uint { min: 1000, max: 9999 }
            .check(&ScalarValue::Uint(99999))
            .is_err());
        assert!(Value::Degrees { min: 49, max: 52 }
            .check(&ScalarValue::F64(50.8))
            .is_ok());
        assert!(Value::Degrees { min: 49, max: 52 }
            .check(&ScalarValue::F64(f64::NAN))
            .is_err());
        assert!(Value::Text(3).check(&s("abcd")).is_err());
        assert!(Value::Text(3).check(&ScalarValue::Bytes(vec![1])).is_err());
        assert!(Value::True.check(&ScalarValue::Boolean(false)).is_err());
        assert!(Value::Ranges.check(&s("09:00-12:00,13:00-17:00")).is_ok());
        assert!(Value::Sha256.check(&s(&"A".repeat(64))).is_err());
    }
}
