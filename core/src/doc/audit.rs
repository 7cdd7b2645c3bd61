//! Conflicts and history: the audit trail that comes with every Automerge change. A conflict is
//! a field that two devices set concurrently; both values are kept until a coordinator writes
//! the field again. History lists who set a field, to what, and when.

use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::access::{get_map, malformed};
use super::{DeviceActor, DocError, Document};
use crate::model::{BrochureId, DeviceId, PartnerId};
use crate::sync::protocol::DeviceName;

/// Who made a change: the device whose actor it carries. The nil id stands for the genesis
/// change that every device creates identically.
pub type Author = DeviceId;

/// One of the concurrent values of a conflicting field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ConflictValue {
    /// The value, rendered as text (maps as `{key: value, ...}`).
    pub value: String,
    /// The device that wrote it.
    pub author: Author,
    /// Its name, role and organisation, where this device knows them (the hub's roster).
    pub by: Option<DeviceName>,
    /// When that device committed it.
    pub time: DateTime<Utc>,
}

/// A field that holds several concurrent values, winner first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldConflict {
    /// Path of the field inside the entity, e.g. `name` or `services.<id>.fees`.
    pub path: String,
    /// The values: the one shown by default first, then the others.
    pub values: Vec<ConflictValue>,
}

/// One write to a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldChange {
    /// When the change was committed.
    pub time: DateTime<Utc>,
    /// The device that made it.
    pub author: Author,
    /// Its name, role and organisation, where this device knows them (the hub's roster).
    pub by: Option<DeviceName>,
    /// The field written (`name`, `themes`, `services.<id>.fees`), as the CLI and the apps name
    /// it.
    pub field: String,
    /// The key written: the field itself, or a member of a set or map field (a theme, a
    /// language of a text, a day of the hours).
    pub key: String,
    /// The value written, `None` when the key was removed.
    pub value: Option<String>,
    /// Whether this write replaced several concurrent values: it settled a conflict.
    pub settles_conflict: bool,
}

/// The device behind an actor, whatever its epoch (a device that started anew after its history
/// regressed writes as `device ++ epoch`); the nil id for the genesis actor or anything else.
fn author_of(actor: &ActorId) -> Author {
    DeviceActor::parse(actor)
        .map(|a| a.device)
        .unwrap_or_else(|| DeviceId::from_uuid(uuid::Uuid::nil()))
}

fn time_of(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn render_scalar(s: &ScalarValue) -> String {
    match s {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::F64(f) => f.to_string(),
        other => other.to_string(),
    }
}

/// Renders a value as short text; maps are rendered recursively with sorted keys.
fn render(am: &AutoCommit, value: &Value<'_>, id: &ObjId) -> String {
    match value {
        Value::Scalar(s) => render_scalar(s),
        Value::Object(ObjType::Map) => {
            let parts: Vec<String> = am
                .keys(id)
                .filter_map(|k| {
                    let (v, vid) = am.get(id, k.as_str()).ok()??;
                    Some(format!("{k}: {}", render(am, &v, &vid)))
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Object(_) => "(list)".into(),
    }
}

fn conflicts_in(
    am: &mut AutoCommit,
    obj: &ObjId,
    prefix: &str,
    out: &mut Vec<FieldConflict>,
) -> Result<(), DocError> {
    let keys: Vec<String> = am.keys(obj).collect();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let mut all: Vec<(Value<'static>, ObjId)> = am
            .get_all(obj, key.as_str())?
            .into_iter()
            .map(|(v, id)| (v.into_owned(), id))
            .collect();
        if all.len() > 1 {
            // get_all lists values in op order; the winner (what `get` returns) is the last.
            all.reverse();
            let mut values = Vec::with_capacity(all.len());
            for (v, id) in &all {
                let meta = am.hash_for_opid(id).and_then(|h| {
                    am.get_change_meta_by_hash(&h)
                        .map(|m| (author_of(&m.actor), m.timestamp))
                });
                let (author, time) = meta.unwrap_or((DeviceId::from_uuid(uuid::Uuid::nil()), 0));
                values.push(ConflictValue {
                    value: render(am, v, id),
                    author,
                    by: None,
                    time: time_of(time),
                });
            }
            out.push(FieldConflict {
                path: path.clone(),
                values,
            });
        }
        if let Some((Value::Object(ObjType::Map), child)) = am.get(obj, key.as_str())? {
            conflicts_in(am, &child, &path, out)?;
        }
    }
    Ok(())
}

/// Resolves a field path inside an entity to the object to audit and, for a scalar field, the
/// key inside it.
fn resolve(am: &AutoCommit, base: &ObjId, path: &str) -> Result<(ObjId, Option<String>), DocError> {
    let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let Some((last, parents)) = segments.split_last() else {
        return Ok((base.clone(), None));
    };
    let mut cur = base.clone();
    for seg in parents {
        cur =
            get_map(am, &cur, seg, path)?.ok_or_else(|| malformed(path.to_string(), "an existing field"))?;
    }
    match get_map(am, &cur, last, path) {
        Ok(Some(map)) => Ok((map, None)),
        _ => Ok((cur, Some((*last).to_string()))),
    }
}

/// The objects whose writes a history lists, each with its path in the document (empty for
/// the entity itself).
type Audited = Vec<(String, String)>;

/// Every map object of the entity at `obj`, with its path below it.
fn maps_below(am: &AutoCommit, obj: &ObjId, path: &str, out: &mut Audited) {
    out.push((obj.to_string(), path.to_string()));
    for key in am.keys(obj).collect::<Vec<_>>() {
        if let Ok(Some((Value::Object(ObjType::Map), child))) = am.get(obj, key.as_str()) {
            let below = if path.is_empty() {
                key
            } else {
                format!("{path}.{key}")
            };
            maps_below(am, &child, &below, out);
        }
    }
}

/// Writes to the audited objects (to `key` of them only, if given), oldest first. A change's
/// `field` is its path in the document (the caller names it as users do).
fn history_of(am: &mut AutoCommit, audited: &Audited, key: Option<&str>) -> Vec<FieldChange> {
    let paths: std::collections::HashMap<&str, &str> =
        audited.iter().map(|(o, p)| (o.as_str(), p.as_str())).collect();
    let mut out = Vec::new();
    for change in am.get_changes(&[]) {
        let expanded = change.decode();
        for op in &expanded.operations {
            let Some(path) = paths.get(op.obj.to_string().as_str()) else {
                continue;
            };
            let automerge::legacy::Key::Map(k) = &op.key else {
                continue;
            };
            if key.is_some_and(|want| want != k.as_str()) {
                continue;
            }
            let value = match &op.action {
                automerge::legacy::OpType::Put(v) => Some(render_scalar(v)),
                automerge::legacy::OpType::Make(_) => Some("(new entry)".to_string()),
                automerge::legacy::OpType::Delete => None,
                _ => continue,
            };
            out.push(FieldChange {
                time: time_of(expanded.time),
                author: author_of(&expanded.actor_id),
                by: None,
                field: (*path).to_string(),
                key: k.to_string(),
                value,
                settles_conflict: op.pred.len() > 1,
            });
        }
    }
    out
}

impl Document {
    /// Conflicting fields of a partner, with every value, its author and time.
    pub fn partner_conflicts(&mut self, id: PartnerId) -> Result<Vec<FieldConflict>, DocError> {
        let obj = self
            .partner_object(id)?
            .ok_or_else(|| malformed(format!("partners.{id}"), "an existing partner"))?;
        let mut out = Vec::new();
        conflicts_in(&mut self.am, &obj, "", &mut out)?;
        Ok(out)
    }

    /// Conflicting fields of a brochure.
    pub fn brochure_conflicts(&mut self, id: BrochureId) -> Result<Vec<FieldConflict>, DocError> {
        let obj = self
            .brochure_object(id)?
            .ok_or_else(|| malformed(format!("brochures.{id}"), "an existing brochure"))?;
        let mut out = Vec::new();
        conflicts_in(&mut self.am, &obj, "", &mut out)?;
        Ok(out)
    }

    /// Who set a partner field, to what, and when, oldest first. `path` is a field (`name`,
    /// `description.fr`, `services.<id>.fees`) or a set or map field (`themes`, `phones`), whose
    /// history lists the members added and removed.
    pub fn partner_field_history(&mut self, id: PartnerId, path: &str) -> Result<Vec<FieldChange>, DocError> {
        let base = self
            .partner_object(id)?
            .ok_or_else(|| malformed(format!("partners.{id}"), "an existing partner"))?;
        let (obj, key) = resolve(&self.am, &base, path)?;
        let field = match &key {
            Some(_) => path.rsplit_once('.').map_or("", |(parent, _)| parent),
            None => path,
        };
        let audited = vec![(obj.to_string(), field.to_string())];
        Ok(history_of(&mut self.am, &audited, key.as_deref()))
    }

    /// Every write to any field of a partner, its services and locations, oldest first; each
    /// change's `field` is the path in the document of the object written (empty for the
    /// partner itself).
    pub fn partner_changes(&mut self, id: PartnerId) -> Result<Vec<FieldChange>, DocError> {
        let base = self
            .partner_object(id)?
            .ok_or_else(|| malformed(format!("partners.{id}"), "an existing partner"))?;
        let mut audited = Vec::new();
        maps_below(&self.am, &base, "", &mut audited);
        Ok(history_of(&mut self.am, &audited, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{DocMeta, PartnerEdit};
    use crate::model::{OrgKind, Partner, Region, Theme};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn concurrent_writes_are_kept_as_a_conflict_until_written_again() {
        let (a, b) = (DeviceId::random(), DeviceId::random());
        let meta = DocMeta::DirectorySection {
            region: Region::Liege,
        };
        let mut da = Document::create(meta, a).unwrap();
        let p = Partner::new(Region::Liege, "Fedasil Liège", OrgKind::PublicAgency);
        da.insert_partner(&p).unwrap();
        da.commit(at("2026-11-01T09:00:00Z"));
        let mut db = Document::load(da.id(), &da.automerge_mut().save(), b).unwrap();

        da.edit_partner(p.id, &[PartnerEdit::Email(Some("liege@example.org".into()))])
            .unwrap();
        da.commit(at("2026-11-02T10:00:00Z"));
        db.edit_partner(
            p.id,
            &[
                PartnerEdit::Email(Some("retour.liege@example.org".into())),
                PartnerEdit::AddTheme(Theme::Legal),
            ],
        )
        .unwrap();
        db.commit(at("2026-11-02T11:00:00Z"));
        da.merge_bytes(&db.automerge_mut().save()).unwrap();

        let conflicts = da.partner_conflicts(p.id).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let c = &conflicts[0];
        assert_eq!(c.path, "email");
        let mut seen: Vec<_> = c.values.iter().map(|v| (v.value.as_str(), v.author)).collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![("liege@example.org", a), ("retour.liege@example.org", b)]
        );
        let shown = da.partner(p.id).unwrap().unwrap().email.unwrap();
        assert_eq!(c.values[0].value, shown, "the winner is listed first");

        // Writing the field again, even with the value already shown, settles the conflict.
        da.edit_partner(p.id, &[PartnerEdit::Email(Some(shown))]).unwrap();
        da.commit(at("2026-11-03T09:00:00Z"));
        assert!(da.partner_conflicts(p.id).unwrap().is_empty());

        let history = da.partner_field_history(p.id, "email").unwrap();
        assert_eq!(history.len(), 3, "{history:?}");
        assert!(history
            .iter()
            .any(|h| h.author == b && h.time == at("2026-11-02T11:00:00Z")));
        let themes = da.partner_field_history(p.id, "themes").unwrap();
        assert_eq!(themes.len(), 1);
        assert_eq!((themes[0].key.as_str(), themes[0].author), ("legal", b));
        assert!(da.partner_field_history(p.id, "services.nope.name").is_err());
    }

    #[test]
    fn a_device_that_started_anew_is_still_named_as_the_author() {
        let a = DeviceId::random();
        let meta = DocMeta::DirectorySection {
            region: Region::Namur,
        };
        let mut doc = Document::create(meta, DeviceActor::new(a, 3)).unwrap();
        let p = Partner::new(Region::Namur, "CAW Namur", OrgKind::Ngo);
        doc.insert_partner(&p).unwrap();
        doc.commit(at("2026-11-01T09:00:00Z"));
        doc.edit_partner(p.id, &[PartnerEdit::Email(Some("namur@example.org".into()))])
            .unwrap();
        doc.commit(at("2026-11-02T09:00:00Z"));
        let history = doc.partner_field_history(p.id, "email").unwrap();
        assert!(!history.is_empty());
        assert!(history.iter().all(|h| h.author == a), "{history:?}");
    }
}
