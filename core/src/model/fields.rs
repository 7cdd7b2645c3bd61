//! A partner's fields as the CLI and the apps name them (`notes`, `alternate-name`,
//! `services.<id>.how-to-apply`), and where each is kept in the directory document
//! (`worker_notes`, `alternate_name`, `services.<id>.how_to_apply`). History and conflicts take
//! and show these names; the document's keys never reach a user.

use super::{Problem, ValidationError};

/// One field: its name, its key in the document, and what a path may name inside it.
struct Field {
    name: &'static str,
    key: &'static str,
    inside: Inside,
}

/// What a path may name below a field.
enum Inside {
    /// Nothing: a plain value.
    Nothing,
    /// A member: a language of a text, a code of a set, a dated exception by its first day, a
    /// phone number.
    Member,
    /// An entity by its id, then one of its fields.
    Entities(&'static [Field]),
}

const fn field(name: &'static str, key: &'static str, inside: Inside) -> Field {
    Field { name, key, inside }
}

const SERVICE: &[Field] = &[
    field("name", "name", Inside::Nothing),
    field("description", "description", Inside::Member),
    field("themes", "themes", Inside::Member),
    field("languages", "languages", Inside::Member),
    field("eligibility", "eligibility", Inside::Nothing),
    field("fees", "fees", Inside::Nothing),
    field("how-to-apply", "how_to_apply", Inside::Nothing),
    field("hours", "weekly", Inside::Nothing),
    field("exceptions", "exceptions", Inside::Member),
    field("status", "status", Inside::Nothing),
    field("verified-on", "verified_on", Inside::Nothing),
    field("verified-by", "verified_by", Inside::Nothing),
];

const LOCATION: &[Field] = &[
    field("name", "name", Inside::Nothing),
    field("street", "street", Inside::Nothing),
    field("postcode", "postcode", Inside::Nothing),
    field("municipality", "municipality", Inside::Nothing),
    field("province", "province", Inside::Nothing),
    field("lat", "latitude", Inside::Nothing),
    field("lon", "longitude", Inside::Nothing),
    field("hours", "weekly", Inside::Nothing),
    field("exceptions", "exceptions", Inside::Member),
    field("accessibility", "accessibility", Inside::Nothing),
    field("status", "status", Inside::Nothing),
    field("verified-on", "verified_on", Inside::Nothing),
    field("verified-by", "verified_by", Inside::Nothing),
];

const PARTNER: &[Field] = &[
    field("name", "name", Inside::Nothing),
    field("alternate-name", "alternate_name", Inside::Nothing),
    field("kind", "kind", Inside::Nothing),
    field("status", "status", Inside::Nothing),
    field("description", "description", Inside::Member),
    field("themes", "themes", Inside::Member),
    field("languages", "languages", Inside::Member),
    field("regions", "regions", Inside::Member),
    field("phones", "phones", Inside::Member),
    field("email", "email", Inside::Nothing),
    field("website", "website", Inside::Nothing),
    field("notes", "worker_notes", Inside::Nothing),
    field("verified-on", "verified_on", Inside::Nothing),
    field("verified-by", "verified_by", Inside::Nothing),
    field("services", "services", Inside::Entities(SERVICE)),
    field("locations", "locations", Inside::Entities(LOCATION)),
];

fn names(fields: &[Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}

/// The names of a partner's fields, in the order the CLI lists them.
pub fn partner_field_names() -> Vec<&'static str> {
    names(PARTNER)
}

/// Translates a partner field as the CLI names it (`notes`, `description.fr`,
/// `services.<id>.how-to-apply`; `_` for `-` is accepted) to its path in the document. An
/// unknown name is [`Problem::UnknownField`], listing the names valid where it stands.
pub fn partner_doc_path(path: &str) -> Result<String, ValidationError> {
    let segments: Vec<&str> = path.trim().split('.').collect();
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    let mut fields = PARTNER;
    let mut i = 0;
    // Each pass starts at a segment: the first, or the one after an entity's id.
    loop {
        let seg = segments[i];
        let wanted = seg.replace('_', "-");
        let Some(f) = fields.iter().find(|f| f.name == wanted) else {
            let at = if i == 0 {
                "field".to_string()
            } else {
                segments[..=i].join(".")
            };
            return Err(ValidationError::new(at, Problem::UnknownField(names(fields))));
        };
        out.push(f.key.to_string());
        i += 1;
        match &f.inside {
            Inside::Nothing if i < segments.len() => {
                return Err(ValidationError::new(
                    segments[..=i].join("."),
                    Problem::Malformed("a field with nothing inside it"),
                ));
            }
            Inside::Nothing | Inside::Member => {
                out.extend(segments[i..].iter().map(|s| s.to_string()));
                if segments[i..].iter().any(|s| s.is_empty()) || segments.len() > i + 1 {
                    return Err(ValidationError::new(
                        path,
                        Problem::Malformed("FIELD or FIELD.MEMBER"),
                    ));
                }
                return Ok(out.join("."));
            }
            Inside::Entities(inner) => {
                let Some(id) = segments.get(i).filter(|s| !s.is_empty()) else {
                    // The whole collection: its entities added and removed.
                    return Ok(out.join("."));
                };
                out.push((*id).to_string());
                i += 1;
                if i == segments.len() {
                    return Ok(out.join("."));
                }
                fields = inner;
            }
        }
    }
}

/// Walks a path in the document through the vocabulary: the path as the CLI and the apps name
/// it (a key this app does not know, and all after it, as it is), and whether it ends at a field
/// whose members are written one by one (a set, a text's languages, dated exceptions).
fn from_doc(doc_path: &str) -> (String, bool) {
    let mut out: Vec<&str> = Vec::new();
    let mut fields = Some(PARTNER);
    let mut members = false;
    let mut segments = doc_path.split('.');
    while let Some(seg) = segments.next() {
        members = false;
        let Some(f) = fields.and_then(|fs| fs.iter().find(|f| f.key == seg)) else {
            out.push(seg);
            out.extend(segments);
            break;
        };
        out.push(f.name);
        fields = None;
        match &f.inside {
            Inside::Nothing => {}
            Inside::Member => members = true,
            Inside::Entities(inner) => {
                if let Some(id) = segments.next() {
                    out.push(id);
                    fields = Some(inner);
                }
            }
        }
    }
    (out.join("."), members)
}

/// Translates a path in the document (`worker_notes`, `services.<id>.how_to_apply`) to the
/// name the CLI and the apps use; a key this app does not know is shown as it is.
pub fn partner_cli_path(doc_path: &str) -> String {
    from_doc(doc_path).0
}

/// How a write is shown: the field and the key, as the CLI and the apps name them, for a write
/// of `key` in the object at `obj_path` (empty for the partner itself). A member keeps its
/// name (`themes`, `legal`); a field's own key is the field's name (`notes`, `notes`).
pub fn partner_change_names(obj_path: &str, key: &str) -> (String, String) {
    if let (field, true) = from_doc(obj_path) {
        return (field, key.to_string());
    }
    let full = if obj_path.is_empty() {
        key.to_string()
    } else {
        format!("{obj_path}.{key}")
    };
    let field = partner_cli_path(&full);
    let key = field.rsplit('.').next().unwrap_or(key).to_string();
    (field, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_names_map_to_the_document_and_back() {
        for (cli, doc) in [
            ("notes", "worker_notes"),
            ("alternate-name", "alternate_name"),
            ("alternate_name", "alternate_name"),
            ("description.fr", "description.fr"),
            ("themes", "themes"),
            ("services", "services"),
            ("services.s1", "services.s1"),
            ("services.s1.how-to-apply", "services.s1.how_to_apply"),
            ("services.s1.hours", "services.s1.weekly"),
            (
                "locations.l1.exceptions.2026-12-24",
                "locations.l1.exceptions.2026-12-24",
            ),
            ("locations.l1.status", "locations.l1.status"),
            ("locations.l1.lat", "locations.l1.latitude"),
            ("locations.l1.postcode", "locations.l1.postcode"),
        ] {
            assert_eq!(partner_doc_path(cli).unwrap(), doc, "{cli}");
            assert_eq!(partner_cli_path(doc), cli.replace('_', "-"), "{doc}");
        }
        let names = partner_change_names;
        assert_eq!(names("", "worker_notes"), ("notes".into(), "notes".into()));
        assert_eq!(names("themes", "legal"), ("themes".into(), "legal".into()));
        assert_eq!(names("description", "fr"), ("description".into(), "fr".into()));
        assert_eq!(
            names("services.s1", "how_to_apply"),
            ("services.s1.how-to-apply".into(), "how-to-apply".into())
        );
        assert_eq!(
            names("locations.l1.exceptions", "2026-12-24"),
            ("locations.l1.exceptions".into(), "2026-12-24".into())
        );
        assert_eq!(
            names("locations.l1", "weekly"),
            ("locations.l1.hours".into(), "hours".into())
        );
        // Layout 1 kept hours day by day: shown under their own keys.
        assert_eq!(
            partner_cli_path("locations.l1.hours.mon"),
            "locations.l1.hours.mon"
        );
        assert_eq!(names("services", "s1"), ("services.s1".into(), "s1".into()));
        assert_eq!(partner_cli_path("future_field.x"), "future_field.x");
    }

    #[test]
    fn an_unknown_field_is_an_error_that_lists_the_valid_names() {
        let e = partner_doc_path("worker_notes").unwrap_err();
        assert_eq!(e.field, "field");
        assert_eq!(e.problem, Problem::UnknownField(partner_field_names()));
        let text = e.to_string();
        assert!(text.contains("notes, verified-on"), "{text}");

        let e = partner_doc_path("services.s1.price").unwrap_err();
        assert_eq!(e.field, "services.s1.price");
        assert!(e.to_string().contains("how-to-apply"), "{e}");

        for bad in [
            "",
            "name.x",
            "description.fr.x",
            "notes.",
            "locations.l1.hours.mon",
        ] {
            assert!(partner_doc_path(bad).is_err(), "{bad:?}");
        }
    }
}
