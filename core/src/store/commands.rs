//! Commands: directory edits by coordinators, brochures, visits logged and amended by workers,
//! and changes merged from elsewhere. Each validates first and stores nothing on error.

use chrono::{DateTime, Local, NaiveDate, Utc};
use rusqlite::OptionalExtension;

use super::index::Entities;
use super::query::Entry;
use super::{docs, lock, Store, Writer};
use crate::doc::{DocMeta, Document, FieldChange, FieldConflict, PartnerEdit};
use crate::error::{Error, Result};
use crate::model::{
    fields, Brochure, DocId, Month, Partner, PartnerId, PartnerStatus, Region, Visit, VisitDetails, VisitId,
};
use crate::privacy::{scan_note_allowing, PersonalDataKind};

/// Where the store gets the time: the system clock, or a fixed instant for tests and demos.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Option<DateTime<Utc>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// Always `at`.
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock(Some(at))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.unwrap_or_else(Utc::now)
    }

    /// Today's date where the device is (a visit may not be dated after tomorrow).
    pub fn today(&self) -> NaiveDate {
        match self.0 {
            Some(t) => t.date_naive(),
            None => Local::now().date_naive(),
        }
    }
}

impl Store {
    fn partner_region(&self, id: PartnerId) -> Result<Region> {
        let region: Option<String> = self.read(|c| {
            Ok(c.query_row(
                "SELECT region FROM partners WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        region
            .and_then(|r| r.parse().ok())
            .ok_or(Error::NotFound { what: "partner" })
    }

    /// Adds a partner to the directory section of its region (created if this device has none).
    /// An enrolled field worker's device refuses it ([`Error::NotAllowed`]), as the hub would.
    pub fn add_partner(&self, partner: &Partner) -> Result<PartnerId> {
        self.check_edits_directory()?;
        self.check_region_right(partner.region)?;
        partner.validate()?;
        if self.partner_region(partner.id).is_ok() {
            return Err(Error::Invalid(crate::model::ValidationError::new(
                "id",
                crate::model::Problem::NotAllowed("a partner with this id exists"),
            )));
        }
        let meta = DocMeta::DirectorySection {
            region: partner.region,
        };
        self.commit_edit(meta, true, |_, doc| {
            doc.insert_partner(partner)?;
            // Read back: the document keys phones by number, so it holds them in its order.
            let written = doc
                .partner(partner.id)?
                .ok_or(Error::NotFound { what: "partner" })?;
            Ok((partner.id, Entities::partner(written, false)?))
        })
    }

    /// Applies edits to a partner as one change; the edited entry must still be valid. An
    /// edit of an office or a service the partner does not have is [`Error::NotFound`]. An
    /// enrolled field worker's device refuses it ([`Error::NotAllowed`]).
    pub fn edit_partner(&self, id: PartnerId, edits: &[PartnerEdit]) -> Result<()> {
        self.check_edits_directory()?;
        if edits.is_empty() {
            return Ok(());
        }
        for edit in edits {
            edit.check()?;
        }
        let region = self.partner_region(id)?;
        self.check_region_right(region)?;
        let entities = edits
            .iter()
            .filter(|e| matches!(e, PartnerEdit::Location { .. } | PartnerEdit::Service { .. }));
        if entities.clone().next().is_some() {
            let partner = self.partner(id)?;
            for edit in entities {
                match edit {
                    PartnerEdit::Location { id, .. } if !partner.locations.contains_key(id) => {
                        return Err(Error::NotFound { what: "location" })
                    }
                    PartnerEdit::Service { id, .. } if !partner.services.contains_key(id) => {
                        return Err(Error::NotFound { what: "service" })
                    }
                    _ => {}
                }
            }
        }
        self.commit_edit(DocMeta::DirectorySection { region }, false, |_, doc| {
            doc.edit_partner(id, edits)?;
            let (partner, conflicted) = doc
                .partner_and_conflict_flag(id)?
                .ok_or(Error::NotFound { what: "partner" })?;
            partner.validate()?;
            Ok(((), Entities::partner(partner, conflicted)?))
        })
    }

    /// Sets a partner's status: partners are closed, never deleted.
    pub fn set_partner_status(&self, id: PartnerId, status: PartnerStatus) -> Result<()> {
        self.edit_partner(id, &[PartnerEdit::Status(status)])
    }

    /// Records that a partner's entry was checked with the organisation.
    pub fn mark_verified(&self, id: PartnerId, on: NaiveDate, by: &str) -> Result<()> {
        self.edit_partner(
            id,
            &[PartnerEdit::Verified {
                on,
                by: by.to_string(),
            }],
        )
    }

    /// Records that each of these partners' entries was checked on `on`, by `by`. An id this
    /// device does not know is [`Error::NotFound`] before anything is recorded.
    pub fn mark_all_verified(&self, ids: &[PartnerId], on: NaiveDate, by: &str) -> Result<()> {
        for &id in ids {
            self.partner_region(id)?;
        }
        for &id in ids {
            self.mark_verified(id, on, by)?;
        }
        Ok(())
    }

    /// Records that each of these entries (a partner, one of its offices or services) was
    /// checked on `on`, by `by`: one change per partner. An entry this device does not know is
    /// [`Error::NotFound`] before anything is recorded.
    pub fn mark_entries_verified(
        &self,
        entries: &[(PartnerId, Entry)],
        on: NaiveDate,
        by: &str,
    ) -> Result<()> {
        let mut by_partner: std::collections::BTreeMap<PartnerId, Vec<PartnerEdit>> = Default::default();
        for &(partner, entry) in entries {
            let p = self.partner(partner)?;
            let by = by.to_string();
            let edit = match entry {
                Entry::Partner => PartnerEdit::Verified { on, by },
                Entry::Location { id } if p.locations.contains_key(&id) => PartnerEdit::Location {
                    id,
                    edit: crate::doc::LocationEdit::Verified { on, by },
                },
                Entry::Service { id } if p.services.contains_key(&id) => PartnerEdit::Service {
                    id,
                    edit: crate::doc::ServiceEdit::Verified { on, by },
                },
                Entry::Location { .. } => return Err(Error::NotFound { what: "location" }),
                Entry::Service { .. } => return Err(Error::NotFound { what: "service" }),
            };
            by_partner.entry(partner).or_default().push(edit);
        }
        for (partner, edits) in by_partner {
            self.edit_partner(partner, &edits)?;
        }
        Ok(())
    }

    /// The entry an id names: a partner, or an office or a service of one (ids are UUIDs, never
    /// shared between them). An id this device does not know is [`Error::NotFound`].
    pub fn find_entry(&self, id: uuid::Uuid) -> Result<(PartnerId, Entry)> {
        let text = id.to_string();
        self.read(|c| {
            let partner = |sql: &str| -> Result<Option<String>> {
                Ok(c.prepare_cached(sql)?
                    .query_row([&text], |r| r.get(0))
                    .optional()?)
            };
            let parse = |p: String| -> Result<PartnerId> {
                p.parse()
                    .map_err(|_| Error::Corrupt("a partner id is unreadable"))
            };
            if let Some(p) = partner("SELECT id FROM partners WHERE id = ?1")? {
                return Ok((parse(p)?, Entry::Partner));
            }
            if let Some(p) =
                partner("SELECT p.id FROM locations l JOIN partners p ON p.pk = l.partner WHERE l.id = ?1")?
            {
                return Ok((
                    parse(p)?,
                    Entry::Location {
                        id: crate::model::LocationId::from_uuid(id),
                    },
                ));
            }
            if let Some(p) =
                partner("SELECT p.id FROM services s JOIN partners p ON p.pk = s.partner WHERE s.id = ?1")?
            {
                return Ok((
                    parse(p)?,
                    Entry::Service {
                        id: crate::model::ServiceId::from_uuid(id),
                    },
                ));
            }
            Err(Error::NotFound {
                what: "partner, office or service",
            })
        })
    }

    /// Runs `f` on the loaded document holding partner `id`.
    fn with_partner_doc<T>(&self, id: PartnerId, f: impl FnOnce(&mut Document) -> Result<T>) -> Result<T> {
        let region = self.partner_region(id)?;
        let mut guard = lock(&self.writer);
        let Writer { conn, docs, actor } = guard.as_mut().ok_or(Error::Closed)?;
        let meta = DocMeta::DirectorySection { region };
        let cached = docs
            .get(conn, meta.id(), *actor, None)?
            .ok_or(Error::NotFound { what: "partner" })?;
        f(&mut cached.doc)
    }

    /// Fields of a partner holding concurrent values, each with its author and time. Paths
    /// name fields as the CLI and the apps do (see [`fields`](crate::model::fields)).
    pub fn partner_conflicts(&self, id: PartnerId) -> Result<Vec<FieldConflict>> {
        let mut conflicts = self.with_partner_doc(id, |doc| Ok(doc.partner_conflicts(id)?))?;
        for c in &mut conflicts {
            c.path = fields::partner_cli_path(&c.path);
        }
        self.name_conflicts(conflicts)
    }

    /// Who set a partner field, to what, and when, oldest first (see
    /// [`Document::partner_field_history`]). `field` is named as the CLI and the apps name it
    /// (`notes`, `description.fr`, `services.<id>.fees`; see [`fields`](crate::model::fields)),
    /// and so is each change's key; a name that is no field is [`Error::Invalid`], listing the
    /// valid names.
    pub fn partner_history(&self, id: PartnerId, field: &str) -> Result<Vec<FieldChange>> {
        let path = fields::partner_doc_path(field)?;
        let changes = self.with_partner_doc(id, |doc| Ok(doc.partner_field_history(id, &path)?))?;
        self.name_changes(named(changes))
    }

    /// Every write to a partner, its services and locations, newest first: its whole history,
    /// fields named as in [`partner_history`](Store::partner_history).
    pub fn partner_changes(&self, id: PartnerId) -> Result<Vec<FieldChange>> {
        let mut changes = named(self.with_partner_doc(id, |doc| Ok(doc.partner_changes(id)?))?);
        // Newest first; a change's own writes too (the sort is stable).
        changes.reverse();
        changes.sort_by_key(|c| std::cmp::Reverse(c.time));
        self.name_changes(changes)
    }

    /// Adds a brochure or updates the fields of an existing one that differ. An enrolled field
    /// worker's device refuses it ([`Error::NotAllowed`]).
    pub fn put_brochure(&self, brochure: &Brochure) -> Result<()> {
        self.check_edits_directory()?;
        brochure.validate()?;
        self.commit_edit(DocMeta::BrochureCatalog, true, |_, doc| {
            doc.put_brochure(brochure)?;
            let written = doc.brochure(brochure.id)?;
            Ok(((), Entities::Brochures(vec![(brochure.id, written)])))
        })
    }

    /// Checks a visit's fields and note before it is stored. A phone number or e-mail address
    /// in the note is allowed when it is a partner's public contact ("referred to Fedasil, 02
    /// 213 44 00").
    fn check_visit(&self, details: &VisitDetails) -> Result<()> {
        details.validate(self.clock.today())?;
        let spans = self.read(|c| {
            let public = |kind: PersonalDataKind, key: &str| {
                super::index::is_partner_contact(c, kind, key).unwrap_or(false)
            };
            Ok(scan_note_allowing(&details.note, &public))
        })?;
        if !spans.is_empty() {
            return Err(Error::PersonalData(spans));
        }
        Ok(())
    }

    /// Logs a visit in this device's log for its month. Refused, and nothing stored, when a
    /// field is invalid or the note contains personal data.
    pub fn log_visit(&self, details: &VisitDetails) -> Result<VisitId> {
        self.check_visit(details)?;
        let id = VisitId::random();
        let meta = DocMeta::VisitLog {
            owner: self.device,
            month: details.month(),
        };
        self.commit_edit(meta, true, |conn, doc| {
            check_references(conn, details)?;
            doc.put_visit(id, details)?;
            Ok((id, written_visit(id, meta, details)))
        })
    }

    /// Amends one of this device's visits; the date must stay in the same month.
    pub fn amend_visit(&self, id: VisitId, details: &VisitDetails) -> Result<()> {
        let current = self.visit(id)?;
        if current.device != self.device {
            return Err(Error::NotAllowed(
                "only the device that logged a visit can amend it",
            ));
        }
        if current.details.month() != details.month() {
            return Err(Error::Invalid(crate::model::ValidationError::new(
                "date",
                crate::model::Problem::NotAllowed("a visit stays in the month it was logged in"),
            )));
        }
        self.check_visit(details)?;
        let meta = DocMeta::VisitLog {
            owner: self.device,
            month: details.month(),
        };
        self.commit_edit(meta, false, |conn, doc| {
            check_references(conn, details)?;
            doc.put_visit(id, details)?;
            Ok(((), written_visit(id, meta, details)))
        })
    }

    /// Bytes of a whole document (a compact save), for sending it elsewhere.
    pub fn document_bytes(&self, doc_id: DocId) -> Result<Vec<u8>> {
        self.with_document(doc_id, |doc| Ok(doc.automerge_mut().save()))
    }

    /// Changes of a document that are not (transitively) in `heads`.
    pub fn document_changes_since(&self, doc_id: DocId, heads: &[automerge::ChangeHash]) -> Result<Vec<u8>> {
        self.with_document(doc_id, |doc| Ok(doc.automerge_mut().save_after(heads)))
    }

    /// Current heads of a document.
    pub fn document_heads(&self, doc_id: DocId) -> Result<Vec<automerge::ChangeHash>> {
        self.with_document(doc_id, |doc| Ok(doc.heads()))
    }

    /// Every document this device holds, with what it is.
    pub fn documents(&self) -> Result<Vec<(DocId, crate::doc::DocKind)>> {
        self.read(docs::list)
    }

    /// Heads of a document that the hub last acknowledged (empty if never).
    pub(crate) fn acked_heads(&self, doc_id: DocId) -> Result<Vec<automerge::ChangeHash>> {
        self.read(|c| docs::acked_heads(c, doc_id))
    }

    /// Records the heads of a document that the hub acknowledged, for unit tests (a sync
    /// records them in one transaction with the hub's seals, see `Store::apply_incoming`).
    #[cfg(test)]
    pub(crate) fn set_acked_heads(&self, doc_id: DocId, heads: &[automerge::ChangeHash]) -> Result<()> {
        let guard = lock(&self.writer);
        let w = guard.as_ref().ok_or(Error::Closed)?;
        docs::set_acked_heads(&w.conn, doc_id, heads)
    }

    /// Runs `f` on a loaded document.
    pub(crate) fn with_document<T>(
        &self,
        doc_id: DocId,
        f: impl FnOnce(&mut Document) -> Result<T>,
    ) -> Result<T> {
        let mut guard = lock(&self.writer);
        let Writer { conn, docs, actor } = guard.as_mut().ok_or(Error::Closed)?;
        let cached = docs
            .get(conn, doc_id, *actor, None)?
            .ok_or(Error::NotFound { what: "document" })?;
        f(&mut cached.doc)
    }

    /// One visit (of any device whose log this device holds).
    pub fn visit(&self, id: VisitId) -> Result<Visit> {
        let doc_id: Option<String> = self.read(|c| {
            Ok(c.prepare_cached("SELECT doc_id FROM visits WHERE id = ?1")?
                .query_row([id.to_string()], |r| r.get(0))
                .optional()?)
        })?;
        let doc_id = doc_id.ok_or(Error::NotFound { what: "visit" })?;
        self.visits_from_documents(&[(id.to_string(), doc_id)])?
            .pop()
            .ok_or(Error::NotFound { what: "visit" })
    }

    /// Reads visits, given as (visit id, document id), from their documents, in the order given.
    pub(crate) fn visits_from_documents(&self, rows: &[(String, String)]) -> Result<Vec<Visit>> {
        let mut guard = lock(&self.writer);
        let Writer { conn, docs, actor } = guard.as_mut().ok_or(Error::Closed)?;
        let actor = *actor;
        let mut out = Vec::with_capacity(rows.len());
        for (id, doc_id) in rows {
            let bad = || Error::Corrupt("a visit row has an unreadable id");
            let id: VisitId = id.parse().map_err(|_| bad())?;
            let doc_id: DocId = doc_id.parse().map_err(|_| bad())?;
            let cached = docs
                .get(conn, doc_id, actor, None)?
                .ok_or(Error::NotFound { what: "visit" })?;
            out.push(cached.doc.visit(id)?.ok_or(Error::NotFound { what: "visit" })?);
        }
        Ok(out)
    }

    /// Months of this device's visit logs.
    pub fn visit_log_months(&self) -> Result<Vec<Month>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT month FROM documents WHERE kind = 'visit_log' AND owner = ?1 ORDER BY month",
            )?;
            let rows = stmt.query_map([self.device.to_string()], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for m in rows {
                if let Some(m) = Month::parse(&m?) {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }
}

/// The partners referred to and the brochures given must be known on this device.
fn check_references(conn: &rusqlite::Connection, details: &VisitDetails) -> Result<()> {
    let mut partner = conn.prepare_cached("SELECT 1 FROM partners WHERE id = ?1")?;
    for r in &details.referrals {
        if !partner.exists([r.partner.to_string()])? {
            return Err(unknown(format!("referrals.{}", r.partner)));
        }
    }
    let mut brochure = conn.prepare_cached("SELECT 1 FROM brochures WHERE id = ?1")?;
    for b in details.brochures.keys() {
        if !brochure.exists([b.to_string()])? {
            return Err(unknown(format!("brochures.{b}")));
        }
    }
    Ok(())
}

fn unknown(field: String) -> Error {
    Error::Invalid(crate::model::ValidationError::new(
        field,
        crate::model::Problem::UnknownReference,
    ))
}

/// A visit as `put_visit` wrote it, for the read model: its details go in whole, as JSON that
/// reads back to the same, so they are not read back.
fn written_visit(id: VisitId, log: DocMeta, details: &VisitDetails) -> Entities {
    let DocMeta::VisitLog { owner, .. } = log else {
        return Entities::Visits(Vec::new());
    };
    let visit = crate::model::Visit {
        id,
        device: owner,
        details: details.clone(),
    };
    Entities::Visits(vec![(id, Some(visit))])
}

/// Changes as the document lists them (the object written, the key), named as users name them.
fn named(mut changes: Vec<FieldChange>) -> Vec<FieldChange> {
    for c in &mut changes {
        let (field, key) = fields::partner_change_names(&c.field, &c.key);
        c.field = field;
        c.key = key;
    }
    changes
}
