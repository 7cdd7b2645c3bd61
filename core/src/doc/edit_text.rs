//! An edit from a field's name and a value as text: what a suggestion proposes, made into the
//! edit a coordinator accepts. Fields go by the names the CLI and the apps use (see
//! `model::fields`); values are read as `partners edit` reads them.

use super::directory::{LocationEdit, PartnerEdit, ServiceEdit};
use crate::model::fields::partner_doc_path;
use crate::model::{Problem, ValidationError, WeeklyHours};

fn bad(hint: &'static str) -> ValidationError {
    ValidationError::new("value", Problem::Malformed(hint))
}

fn required(value: Option<&str>) -> Result<String, ValidationError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ValidationError::new("value", Problem::Empty))
}

fn optional(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

fn code<T: std::str::FromStr>(value: Option<&str>) -> Result<T, ValidationError> {
    required(value)?.parse().map_err(|_| bad("a known code"))
}

fn hours(value: Option<&str>) -> Result<WeeklyHours, ValidationError> {
    optional(value)
        .unwrap_or_else(|| "closed".into())
        .parse()
        .map_err(|_| bad("hours such as mon-fri 09:00-12:00"))
}

impl PartnerEdit {
    /// The edit that sets `field` (as the CLI names it) to `value` (`None` or empty clears an
    /// optional field). A field that is not set from one value (a set such as `themes`, an
    /// exception, the verification) is refused, naming it.
    pub fn from_text(field: &str, value: Option<&str>) -> Result<PartnerEdit, ValidationError> {
        let path = partner_doc_path(field)?;
        let segments: Vec<&str> = path.split('.').collect();
        let not_here = || {
            ValidationError::new(
                field.to_string(),
                Problem::NotAllowed("it is not set from one value: edit it by hand"),
            )
        };
        Ok(match segments.as_slice() {
            ["name"] => PartnerEdit::Name(required(value)?),
            ["alternate_name"] => PartnerEdit::AlternateName(optional(value)),
            ["kind"] => PartnerEdit::Kind(code(value)?),
            ["status"] => PartnerEdit::Status(code(value)?),
            ["email"] => PartnerEdit::Email(optional(value)),
            ["website"] => PartnerEdit::Website(optional(value)),
            ["worker_notes"] => PartnerEdit::WorkerNotes(optional(value)),
            ["description", lang] => PartnerEdit::Description {
                lang: lang.parse().map_err(|_| bad("a language code"))?,
                text: optional(value),
            },
            ["locations", id, key] => {
                let edit = match *key {
                    "name" => LocationEdit::Name(optional(value)),
                    "street" => LocationEdit::Street(optional(value)),
                    "postcode" => LocationEdit::Postcode(
                        required(value)?
                            .parse()
                            .map_err(|_| bad("a Belgian postcode, 1000 to 9999"))?,
                    ),
                    "municipality" => LocationEdit::Municipality(required(value)?),
                    "weekly" => LocationEdit::Hours(hours(value)?),
                    "accessibility" => LocationEdit::Accessibility(optional(value)),
                    "status" => LocationEdit::Status(code(value)?),
                    _ => return Err(not_here()),
                };
                PartnerEdit::Location {
                    id: id.parse().map_err(|_| bad("an office id"))?,
                    edit,
                }
            }
            ["services", id, key] => {
                let edit = match *key {
                    "name" => ServiceEdit::Name(required(value)?),
                    "eligibility" => ServiceEdit::Eligibility(optional(value)),
                    "fees" => ServiceEdit::Fees(optional(value)),
                    "how_to_apply" => ServiceEdit::HowToApply(optional(value)),
                    "weekly" => ServiceEdit::Hours(hours(value)?),
                    "status" => ServiceEdit::Status(code(value)?),
                    _ => return Err(not_here()),
                };
                PartnerEdit::Service {
                    id: id.parse().map_err(|_| bad("a service id"))?,
                    edit,
                }
            }
            _ => return Err(not_here()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LocationId, PartnerStatus};

    #[test]
    fn fields_and_values_as_text_become_edits() {
        let l = LocationId::random();
        assert_eq!(
            PartnerEdit::from_text("notes", Some("Ring twice")).unwrap(),
            PartnerEdit::WorkerNotes(Some("Ring twice".into()))
        );
        assert_eq!(
            PartnerEdit::from_text("email", None).unwrap(),
            PartnerEdit::Email(None)
        );
        assert_eq!(
            PartnerEdit::from_text(&format!("locations.{l}.hours"), Some("mon-fri 13:00-17:00")).unwrap(),
            PartnerEdit::Location {
                id: l,
                edit: LocationEdit::Hours("mon-fri 13:00-17:00".parse().unwrap())
            }
        );
        assert_eq!(
            PartnerEdit::from_text(&format!("locations.{l}.status"), Some("defunct")).unwrap(),
            PartnerEdit::Location {
                id: l,
                edit: LocationEdit::Status(PartnerStatus::Defunct)
            }
        );
        assert_eq!(
            PartnerEdit::from_text("name", Some(" ")).unwrap_err().field,
            "value"
        );
        assert_eq!(
            PartnerEdit::from_text(&format!("locations.{l}.hours"), Some("monday"))
                .unwrap_err()
                .field,
            "value"
        );
        assert_eq!(
            PartnerEdit::from_text("themes", Some("legal")).unwrap_err().field,
            "themes"
        );
        assert!(
            PartnerEdit::from_text("worker_notes", Some("x")).is_err(),
            "the CLI's names only"
        );
    }
}
