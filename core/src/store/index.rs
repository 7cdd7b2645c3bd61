//! The read model: rows derived from the documents, written in the same transaction as their
//! chunks, so that a query never sees a state the documents do not hold.

use std::collections::BTreeSet;

use chrono::Datelike;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::doc::partner_contacts;
use crate::doc::{DocKind, Document, EntityKey};
use crate::error::{Error, Result};
use crate::model::{
    Brochure, BrochureId, Lang, Location, OrgKind, Partner, PartnerId, PartnerStatus, Region, Theme, Visit,
    VisitId,
};
use crate::privacy::PersonalDataKind;
use crate::text::fold;

use super::StoreChanges;

/// What search results show of a partner, stored ready-made beside the full entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PartnerSummary {
    /// Id.
    pub id: PartnerId,
    /// Name.
    pub name: String,
    /// Other name or acronym.
    pub alternate_name: Option<String>,
    /// Home region.
    pub region: Region,
    /// Kind of organisation.
    pub kind: OrgKind,
    /// Status.
    pub status: PartnerStatus,
    /// Themes of the partner and its active services.
    pub themes: BTreeSet<Theme>,
    /// Languages of the partner and its active services.
    pub languages: BTreeSet<Lang>,
    /// Municipalities of its offices.
    pub municipalities: Vec<String>,
    /// First public phone number.
    pub phone: Option<String>,
    /// When the entry was last verified.
    pub verified_on: Option<chrono::NaiveDate>,
    /// How many days ago, by this device's calendar when the query ran: the age of the
    /// information, for the app to show.
    #[serde(default)]
    pub verified_days_ago: Option<i32>,
    /// Whether some field holds concurrent values waiting for a coordinator.
    pub has_conflicts: bool,
    /// Distance in km from the query's `near` point, when given and the partner has an office
    /// with coordinates.
    pub distance_km: Option<f64>,
}

fn summary(p: &Partner, conflicted: bool) -> PartnerSummary {
    let mut municipalities: Vec<String> = listed(p).map(|l| l.municipality.clone()).collect();
    municipalities.sort();
    municipalities.dedup();
    PartnerSummary {
        id: p.id,
        name: p.name.clone(),
        alternate_name: p.alternate_name.clone(),
        region: p.region,
        kind: p.kind,
        status: p.status,
        themes: p.all_themes(),
        languages: p.all_languages(),
        municipalities,
        phone: p.phones.first().map(|ph| ph.number.clone()),
        verified_on: p.verified_on,
        verified_days_ago: None,
        has_conflicts: conflicted,
        distance_km: None,
    }
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Storage(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

/// The offices visitors can find (not those closed for good).
fn listed(p: &Partner) -> impl Iterator<Item = &Location> {
    p.locations.values().filter(|l| l.is_listed())
}

/// Facets a partner can be filtered on: themes, languages, regions, postcodes, municipalities.
fn facets(p: &Partner) -> BTreeSet<String> {
    let mut f = BTreeSet::new();
    for t in p.all_themes() {
        f.insert(format!("t:{t}"));
    }
    for l in p.all_languages() {
        f.insert(format!("l:{l}"));
    }
    f.insert(format!("r:{}", p.region));
    for r in &p.regions_served {
        f.insert(format!("r:{r}"));
    }
    for l in listed(p) {
        f.insert(format!("r:{}", l.province));
        f.insert(format!("p:{}", l.postcode));
        f.insert(format!("m:{}", fold(l.municipality.trim())));
    }
    f
}

/// Whether a contact found in free text is the public contact of a partner on this device.
pub(crate) fn is_partner_contact(conn: &Connection, kind: PersonalDataKind, key: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM partner_contacts WHERE contact = ?1")?
        .exists([crate::doc::tagged(kind, key)])?)
}

/// The searchable text: names in one column, everything else in another.
fn fts_text(p: &Partner) -> (String, String) {
    let name = fold(&format!(
        "{} {}",
        p.name,
        p.alternate_name.as_deref().unwrap_or("")
    ));
    let mut body = String::new();
    for d in p.description.values() {
        body.push_str(d);
        body.push(' ');
    }
    for s in p.services.values() {
        body.push_str(&s.name);
        body.push(' ');
        for d in s.description.values() {
            body.push_str(d);
            body.push(' ');
        }
    }
    for l in p.locations.values() {
        body.push_str(&l.municipality);
        body.push(' ');
        body.push_str(&l.postcode.to_string());
        body.push(' ');
        if let Some(n) = &l.name {
            body.push_str(n);
            body.push(' ');
        }
    }
    for t in p.all_themes() {
        body.push_str(&t.as_str().replace('_', " "));
        body.push(' ');
    }
    (name, fold(&body))
}

/// What a partner's read-model rows hold that is computed from the entry alone (its summary and
/// details as JSON, its facets, public contacts and search text): for a document read ahead,
/// this is computed on the helper thread, and the writer only binds and steps.
pub(crate) struct PartnerRows {
    conflicted: bool,
    summary: String,
    details: String,
    facets: BTreeSet<String>,
    contacts: BTreeSet<String>,
    fts: (String, String),
}

impl Entities {
    /// One partner as it was written, whose fields hold concurrent values if `conflicted`.
    pub(crate) fn partner(p: Partner, conflicted: bool) -> Result<Entities> {
        let rows = PartnerRows::of(&p, conflicted)?;
        Ok(Entities::Partners(vec![(p.id, Some((p, rows)))]))
    }
}

impl PartnerRows {
    /// The rows of `p`, whose fields hold concurrent values if `conflicted`.
    pub(crate) fn of(p: &Partner, conflicted: bool) -> Result<PartnerRows> {
        Ok(PartnerRows {
            conflicted,
            summary: json(&summary(p, conflicted))?,
            details: json(p)?,
            facets: facets(p),
            contacts: partner_contacts(p),
            fts: fts_text(p),
        })
    }
}

/// A partner's search text to write, once every other row of the document is written.
///
/// FTS5 writes what it holds in memory to its index at each savepoint, and SQLite opens one
/// for every statement that may fail halfway (an upsert, an insert under a constraint): search
/// rows written between a document's other rows are flushed a partner at a time, in thousands
/// of tiny segments that FTS5 then merges. Written last, a document's are flushed once.
pub(crate) struct SearchRow {
    pk: i64,
    /// Whether the partner may have a search row already.
    replace: bool,
    text: (String, String),
}

/// Writes the search rows of a document's partners, after all their other rows.
pub(crate) fn put_search_rows(conn: &Connection, rows: Vec<SearchRow>) -> Result<()> {
    for row in rows {
        if row.replace {
            conn.prepare_cached("DELETE FROM partner_fts WHERE rowid = ?1")?
                .execute([row.pk])?;
        }
        conn.prepare_cached("INSERT INTO partner_fts (rowid, name, body) VALUES (?1, ?2, ?3)")?
            .execute(params![row.pk, row.text.0, row.text.1])?;
    }
    Ok(())
}

/// Writes (or rewrites) the rows of one partner, but for its search text, which it returns when
/// that changed, for [`put_search_rows`]. Derived rows (facets, services, locations and hours,
/// search text) are rewritten only when they differ from the stored entry's: an edit of a
/// partner's notes then costs two row updates, not a rewrite of its search index.
pub(crate) fn put_partner(
    conn: &Connection,
    doc: &Document,
    p: &Partner,
    rows: PartnerRows,
) -> Result<Option<SearchRow>> {
    let stored: Option<(i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT p.pk, d.data FROM partners p LEFT JOIN partner_details d ON d.partner = p.pk WHERE p.id = ?1",
        )?
        .query_row([p.id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    // A partner new to the read model has no rows to delete (a first sync brings thousands),
    // and its rows are plain inserts: an upsert costs SQLite a statement journal each.
    let new = stored.is_none();
    let columns = params![
        p.id.to_string(),
        doc.id().to_string(),
        p.region.as_str(),
        p.name,
        p.status.as_str(),
        p.verified_on.map(|d| d.to_string()),
        rows.conflicted,
        rows.summary,
    ];
    let (pk, old) = match stored {
        None => {
            conn.prepare_cached(
                "INSERT INTO partners (id, doc_id, region, name, status, verified_on, conflicted, summary)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(columns)?;
            let pk = conn.last_insert_rowid();
            conn.prepare_cached("INSERT INTO partner_details (partner, data) VALUES (?1, ?2)")?
                .execute(params![pk, rows.details])?;
            (pk, None)
        }
        Some((pk, data)) => {
            conn.prepare_cached(
                "UPDATE partners SET doc_id = ?2, region = ?3, name = ?4, status = ?5, verified_on = ?6,
                   conflicted = ?7, summary = ?8 WHERE id = ?1",
            )?
            .execute(columns)?;
            conn.prepare_cached(
                "INSERT INTO partner_details (partner, data) VALUES (?1, ?2)
                 ON CONFLICT(partner) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![pk, rows.details])?;
            let old: Option<Partner> = data.and_then(|data| serde_json::from_str(&data).ok());
            (pk, old)
        }
    };

    let changed = |f: &dyn Fn(&Partner) -> bool| old.as_ref().is_none_or(f);
    if changed(&|o| facets(o) != rows.facets) {
        if !new {
            conn.prepare_cached("DELETE FROM partner_facets WHERE partner = ?1")?
                .execute([pk])?;
        }
        let mut stmt = conn.prepare_cached("INSERT INTO partner_facets (facet, partner) VALUES (?1, ?2)")?;
        for f in &rows.facets {
            stmt.execute(params![f, pk])?;
        }
    }
    let service_rows = |x: &Partner| -> Vec<(String, String, &'static str)> {
        x.services
            .values()
            .map(|s| (s.id.to_string(), s.name.clone(), s.status.as_str()))
            .collect()
    };
    if changed(&|o| service_rows(o) != service_rows(p)) {
        if !new {
            conn.prepare_cached("DELETE FROM services WHERE partner = ?1")?
                .execute([pk])?;
        }
        let mut stmt =
            conn.prepare_cached("INSERT INTO services (id, partner, name, status) VALUES (?1, ?2, ?3, ?4)")?;
        for (id, name, status) in service_rows(p) {
            stmt.execute(params![id, pk, name, status])?;
        }
    }
    if changed(&|o| o.locations != p.locations) {
        if !new {
            for table in ["locations", "opening_hours", "excepted_days", "dated_hours"] {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE partner = ?1"))?
                    .execute([pk])?;
            }
        }
        put_location_rows(conn, pk, p)?;
    }
    if changed(&|o| partner_contacts(o) != rows.contacts) {
        if !new {
            conn.prepare_cached("DELETE FROM partner_contacts WHERE partner = ?1")?
                .execute([pk])?;
        }
        let mut stmt =
            conn.prepare_cached("INSERT INTO partner_contacts (contact, partner) VALUES (?1, ?2)")?;
        for c in &rows.contacts {
            stmt.execute(params![c, pk])?;
        }
    }
    let text = rows.fts;
    Ok(changed(&|o| fts_text(o) != text).then_some(SearchRow {
        pk,
        replace: !new,
        text,
    }))
}

/// The rows of a partner's listed offices: their places, weekly hours (only an active office's)
/// and the days their exceptions decide, with those days' hours.
fn put_location_rows(conn: &Connection, pk: i64, p: &Partner) -> Result<()> {
    let mut loc = conn.prepare_cached(
        "INSERT INTO locations (id, partner, postcode, municipality, province, latitude, longitude)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut hours = conn.prepare_cached(
        "INSERT INTO opening_hours (partner, location, day, open_min, close_min, spill)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut excepted = conn.prepare_cached(
        "INSERT OR IGNORE INTO excepted_days (partner, location, date) VALUES (?1, ?2, ?3)",
    )?;
    let mut dated = conn.prepare_cached(
        "INSERT INTO dated_hours (partner, date, open_min, close_min) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for l in listed(p) {
        let id = l.id.to_string();
        loc.execute(params![
            id,
            pk,
            l.postcode,
            l.municipality,
            l.province.as_str(),
            l.latitude,
            l.longitude
        ])?;
        if l.status != PartnerStatus::Active {
            continue;
        }
        for (day, r, spill) in l.hours.day_ranges() {
            hours.execute(params![pk, id, day.index(), r.open, r.close, spill])?;
        }
        for (day, parts) in l.opening().dated_ranges() {
            excepted.execute(params![pk, id, day.num_days_from_ce()])?;
            for (on, r) in parts {
                dated.execute(params![pk, on.num_days_from_ce(), r.open, r.close])?;
            }
        }
    }
    Ok(())
}

fn clear_partner_rows(conn: &Connection, pk: i64) -> Result<()> {
    for sql in [
        "DELETE FROM partner_facets WHERE partner = ?1",
        "DELETE FROM services WHERE partner = ?1",
        "DELETE FROM locations WHERE partner = ?1",
        "DELETE FROM opening_hours WHERE partner = ?1",
        "DELETE FROM excepted_days WHERE partner = ?1",
        "DELETE FROM dated_hours WHERE partner = ?1",
        "DELETE FROM partner_fts WHERE rowid = ?1",
        "DELETE FROM partner_contacts WHERE partner = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([pk])?;
    }
    Ok(())
}

/// Removes a partner that a merge took out of its document.
pub(crate) fn remove_partner(conn: &Connection, id: PartnerId) -> Result<()> {
    let pk: Option<i64> = conn
        .query_row("SELECT pk FROM partners WHERE id = ?1", [id.to_string()], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(pk) = pk {
        clear_partner_rows(conn, pk)?;
        conn.execute("DELETE FROM partner_details WHERE partner = ?1", [pk])?;
        conn.execute("DELETE FROM partners WHERE pk = ?1", [pk])?;
    }
    Ok(())
}

/// Writes one visit's row.
pub(crate) fn put_visit(conn: &Connection, doc_id: &str, v: &Visit) -> Result<()> {
    let themes: Vec<&str> = v.details.themes.iter().map(|t| t.as_str()).collect();
    conn.prepare_cached(
        "INSERT INTO visits (id, doc_id, device, month, date, part_of_day, people, themes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET doc_id = excluded.doc_id, device = excluded.device,
           month = excluded.month, date = excluded.date, part_of_day = excluded.part_of_day,
           people = excluded.people, themes = excluded.themes",
    )?
    .execute(params![
        v.id.to_string(),
        doc_id,
        v.device.to_string(),
        v.details.month().to_string(),
        v.details.date.to_string(),
        crate::model::PartOfDay::ALL
            .iter()
            .position(|p| *p == v.details.part_of_day)
            .unwrap_or(0) as i64,
        v.details.people_reached,
        json(&themes)?,
    ])?;
    Ok(())
}

fn remove_visit(conn: &Connection, id: VisitId) -> Result<()> {
    conn.execute("DELETE FROM visits WHERE id = ?1", [id.to_string()])?;
    Ok(())
}

/// Entities of one document as read from it: the half of indexing that needs no database, and
/// may run on another thread (see `incoming::prepare`). `None` for an entity the document
/// no longer holds.
pub(crate) enum Entities {
    Partners(Vec<(PartnerId, Option<(Partner, PartnerRows)>)>),
    Brochures(Vec<(BrochureId, Option<Brochure>)>),
    Visits(Vec<(VisitId, Option<Visit>)>),
    /// Suggestions are read from their documents: only observers are told.
    Suggestions(Vec<crate::model::SuggestionId>),
}

/// Reads the given entities of `doc`. Fails when one does not hydrate into the model.
pub(crate) fn read_entities(doc: &Document, keys: &[EntityKey]) -> Result<Entities> {
    Ok(match doc.meta().kind() {
        DocKind::DirectorySection => {
            let ids: Vec<PartnerId> = keys
                .iter()
                .filter_map(|k| match k {
                    EntityKey::Partner(id) => Some(*id),
                    _ => None,
                })
                .collect();
            let read = doc
                .partners_and_conflict_flags(&ids)?
                .into_iter()
                .map(|(id, read)| {
                    let indexed =
                        read.map(|(p, conflicted)| PartnerRows::of(&p, conflicted).map(|rows| (p, rows)));
                    Ok((id, indexed.transpose()?))
                });
            Entities::Partners(read.collect::<Result<_>>()?)
        }
        DocKind::BrochureCatalog => {
            let read = keys.iter().filter_map(|k| match *k {
                EntityKey::Brochure(id) => Some(doc.brochure(id).map(|b| (id, b))),
                _ => None,
            });
            Entities::Brochures(read.collect::<std::result::Result<_, _>>()?)
        }
        DocKind::VisitLog => {
            let read = keys.iter().filter_map(|k| match *k {
                EntityKey::Visit(id) => Some(doc.visit(id).map(|v| (id, v))),
                _ => None,
            });
            Entities::Visits(read.collect::<std::result::Result<_, _>>()?)
        }
        DocKind::Suggestions => Entities::Suggestions(
            keys.iter()
                .filter_map(|k| match *k {
                    EntityKey::Suggestion(id) => Some(id),
                    _ => None,
                })
                .collect(),
        ),
    })
}

/// Brings the rows of `entities`, read from `doc`, in line with them; returns what changed.
pub(crate) fn write_entities(conn: &Connection, doc: &Document, entities: Entities) -> Result<StoreChanges> {
    let mut changes = StoreChanges::default();
    match entities {
        Entities::Partners(read) => {
            let mut search = Vec::new();
            for (id, read) in read {
                match read {
                    Some((p, rows)) => search.extend(put_partner(conn, doc, &p, rows)?),
                    None => remove_partner(conn, id)?,
                }
                changes.partners.push(id);
            }
            put_search_rows(conn, search)?;
        }
        Entities::Brochures(read) => {
            for (id, read) in read {
                let key = id.to_string();
                match read {
                    Some(b) => {
                        conn.prepare_cached(
                            "INSERT INTO brochures (id, retired, updated_on, data) VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT(id) DO UPDATE SET retired = excluded.retired,
                               updated_on = excluded.updated_on, data = excluded.data",
                        )?
                        .execute(params![
                            key,
                            b.retired,
                            b.updated_on.to_string(),
                            json(&b)?
                        ])?;
                    }
                    None => {
                        conn.execute("DELETE FROM brochures WHERE id = ?1", [key])?;
                    }
                }
                changes.brochures.push(id);
            }
        }
        Entities::Visits(read) => {
            let doc_id = doc.id().to_string();
            for (id, read) in read {
                match read {
                    Some(v) => put_visit(conn, &doc_id, &v)?,
                    None => remove_visit(conn, id)?,
                }
                changes.visits.push(id);
            }
        }
        Entities::Suggestions(ids) => changes.suggestions.extend(ids),
    }
    changes.documents.push(doc.id());
    Ok(changes)
}

/// Brings the rows of the given entities of `doc` in line with it; returns what changed.
/// Fails, writing nothing it has not already written in the caller's transaction, when an
/// entity does not hydrate into the model.
pub(crate) fn index_entities(
    conn: &Connection,
    doc: &mut Document,
    keys: &[EntityKey],
) -> Result<StoreChanges> {
    let entities = read_entities(doc, keys)?;
    write_entities(conn, doc, entities)
}

/// Every entity of a document.
pub(crate) fn all_keys(doc: &Document) -> Result<Vec<EntityKey>> {
    Ok(doc.entities()?)
}

/// Empties the read model (before a rebuild).
pub(crate) fn clear_all(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM partner_facets; DELETE FROM services; DELETE FROM locations; DELETE FROM opening_hours;
         DELETE FROM excepted_days; DELETE FROM dated_hours;
         DELETE FROM partner_fts; DELETE FROM partner_contacts; DELETE FROM partner_details; DELETE FROM partners; DELETE FROM brochures; DELETE FROM visits;",
    )?;
    Ok(())
}
