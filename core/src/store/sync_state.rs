//! What the store keeps for sync: the enrollment (hub address, device token, organisation and
//! role) in the encrypted meta table, the heads the hub acknowledged, the role checks of an
//! enrolled device, and removing a whole document with its read-model rows.

use automerge::ChangeHash;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::schema::{get_meta, set_meta};
use super::{docs, index, lock, Store, StoreChanges, Writer};
use crate::error::{Error, Result};
use crate::model::{BrochureId, DocId, PartnerId, VisitId};
use crate::sync::http::{HubUrl, Token};
use crate::sync::protocol::{EnrollResponse, Role, StateDigest};
use crate::sync::Enrollment;

/// What the hub acknowledged of one document.
pub(crate) struct Ack {
    /// The document.
    pub id: DocId,
    /// The hub's heads this device holds.
    pub heads: Vec<ChangeHash>,
    /// All the heads the hub answered with and its seal over them, when this device holds them
    /// all.
    pub sealed: Option<(Vec<ChangeHash>, Vec<u8>)>,
}

const HUB_URL: &str = "hub_url";
const HUB_TOKEN: &str = "hub_token";
const HUB_ORG_ID: &str = "hub_org_id";
const HUB_ORG_NAME: &str = "hub_org_name";
const HUB_ROLE: &str = "hub_role";
const DEVICE_NAME: &str = "device_name";
const ENROLLED_AT: &str = "hub_enrolled_at";
/// The hub's state this device holds (see `SyncResponse::state`), as hex.
const HUB_STATE: &str = "hub_state";

/// The digest of the heads the hub acknowledged: of every document held, and of the months
/// retired after the retention period (which the hub still holds).
fn acked_state(conn: &Connection) -> Result<StateDigest> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.doc_id, a.heads FROM hub_acks a JOIN documents d ON d.id = a.doc_id
         UNION ALL
         SELECT r.doc_id, r.heads FROM retired_docs r WHERE r.doc_id NOT IN (SELECT id FROM documents)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let mut docs = Vec::new();
    for row in rows {
        let (id, heads) = row?;
        let id: DocId = id
            .parse()
            .map_err(|_| Error::Corrupt("an acknowledged document has an unreadable id"))?;
        docs.push((id, docs::decode_heads(&heads)?));
    }
    Ok(StateDigest::of(docs.iter().map(|(id, h)| (*id, h.as_slice()))))
}

/// Records the heads the hub acknowledged for several documents, with its seals, in the
/// caller's transaction. Documents this device does not hold are skipped.
pub(crate) fn write_acks(conn: &Connection, acks: &[Ack]) -> Result<()> {
    for ack in acks {
        let held = conn
            .prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?
            .exists([ack.id.to_string()])?;
        if held {
            docs::set_acked_heads(conn, ack.id, &ack.heads)?;
            if let Some((heads, seal)) = &ack.sealed {
                docs::set_attestation(conn, ack.id, heads, seal)?;
            }
        }
    }
    Ok(())
}

fn unreadable() -> Error {
    Error::Corrupt("the stored enrollment is unreadable")
}

fn read_enrollment(conn: &Connection) -> Result<Option<(Enrollment, Token)>> {
    let Some(hub_url) = get_meta(conn, HUB_URL)? else {
        return Ok(None);
    };
    let get = |key: &str| get_meta(conn, key)?.ok_or_else(unreadable);
    let token = Token::new(get(HUB_TOKEN)?).ok_or_else(unreadable)?;
    let enrollment = Enrollment {
        hub_url,
        org_id: get(HUB_ORG_ID)?,
        org_name: get(HUB_ORG_NAME)?,
        role: get(HUB_ROLE)?.parse().map_err(|_| unreadable())?,
        device_name: get(DEVICE_NAME)?,
        enrolled_at: get(ENROLLED_AT)?.parse().map_err(|_| unreadable())?,
    };
    Ok(Some((enrollment, token)))
}

impl Store {
    /// The hub this device is enrolled with, its organisation and role; `None` before
    /// enrollment. The device token stays in the store and is never returned.
    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        Ok(self.read(read_enrollment)?.map(|(e, _)| e))
    }

    /// The device token, for tests that check it never reaches a log line.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn device_token_for_tests(&self) -> Result<String> {
        Ok(self.credentials()?.1.expose().to_string())
    }

    /// The hub's address and the device token, for requests.
    pub(crate) fn credentials(&self) -> Result<(HubUrl, Token)> {
        let (enrollment, token) = self.read(read_enrollment)?.ok_or(Error::NotEnrolled)?;
        let hub = HubUrl::parse(&enrollment.hub_url).map_err(|_| unreadable())?;
        Ok((hub, token))
    }

    /// Keeps the credentials a hub gave this device, in one transaction.
    pub(crate) fn save_enrollment(
        &self,
        hub: &HubUrl,
        response: &EnrollResponse,
        token: &Token,
        device_name: &str,
    ) -> Result<Enrollment> {
        let enrollment = Enrollment {
            hub_url: hub.as_str().to_string(),
            org_id: response.org_id.clone(),
            org_name: response.org_name.clone(),
            role: response.role,
            device_name: device_name.to_string(),
            enrolled_at: self.clock.now(),
        };
        let mut guard = lock(&self.writer);
        let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        set_meta(&tx, HUB_URL, &enrollment.hub_url)?;
        set_meta(&tx, HUB_TOKEN, token.expose())?;
        set_meta(&tx, HUB_ORG_ID, &enrollment.org_id)?;
        set_meta(&tx, HUB_ORG_NAME, &enrollment.org_name)?;
        set_meta(&tx, HUB_ROLE, enrollment.role.as_str())?;
        set_meta(&tx, DEVICE_NAME, device_name)?;
        set_meta(&tx, ENROLLED_AT, &enrollment.enrolled_at.to_rfc3339())?;
        tx.commit()?;
        Ok(enrollment)
    }

    /// This device's role, once enrolled.
    pub(crate) fn role(&self) -> Result<Option<Role>> {
        let role = self.read(|c| get_meta(c, HUB_ROLE))?;
        role.map(|r| r.parse().map_err(|_| unreadable())).transpose()
    }

    /// Refuses directory and catalog edits on an enrolled field worker's device (the hub would
    /// refuse them anyway). A device not enrolled edits its own copy freely.
    pub(crate) fn check_edits_directory(&self) -> Result<()> {
        match self.role()? {
            Some(role) if !role.edits_directory() => Err(Error::NotAllowed(
                "a field worker's device does not edit the directory or the brochure catalog",
            )),
            _ => Ok(()),
        }
    }

    /// Today, by the store's clock.
    pub(crate) fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// The hub's state, as its last complete answer left it, if this device's acknowledged
    /// heads are still exactly that state: the next request may then name it instead of
    /// listing every document.
    pub(crate) fn known_hub_state(&self) -> Result<Option<StateDigest>> {
        self.read(|c| {
            let Some(stored) = get_meta(c, HUB_STATE)? else {
                return Ok(None);
            };
            let now = acked_state(c)?;
            Ok((hex::encode(now.0) == stored).then_some(now))
        })
    }

    /// Keeps the state a hub's answer left (`None` when the answer gave none), if this device's
    /// acknowledged heads are exactly that state; forgets any state kept otherwise.
    pub(crate) fn record_hub_state(&self, state: Option<StateDigest>) -> Result<()> {
        let mut guard = lock(&self.writer);
        let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match state {
            Some(state) if acked_state(&tx)? == state => set_meta(&tx, HUB_STATE, &hex::encode(state.0))?,
            _ => {
                tx.execute("DELETE FROM meta WHERE key = ?1", [HUB_STATE])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes a document from this device: its bytes, what the hub acknowledged of it and its
    /// rows in the read model, in one transaction; observers are told what went. Returns
    /// whether the device held it.
    pub fn remove_document(&self, doc_id: DocId) -> Result<bool> {
        self.remove_document_keeping(doc_id, None)
    }

    /// Removes a document after the retention period, remembering the heads the hub holds so
    /// that later syncs name it (see [`retired_documents`](Store::retired_documents)).
    pub(crate) fn retire_document(&self, doc_id: DocId, heads: &[ChangeHash]) -> Result<bool> {
        self.remove_document_keeping(doc_id, Some(heads))
    }

    /// Documents removed after the retention period and not held again, with the heads the hub
    /// held when they were removed.
    pub(crate) fn retired_documents(&self) -> Result<Vec<(DocId, Vec<ChangeHash>)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, heads FROM retired_docs
                 WHERE doc_id NOT IN (SELECT id FROM documents) ORDER BY doc_id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, heads) = row?;
                let id = id
                    .parse()
                    .map_err(|_| Error::Corrupt("a retired document has an unreadable id"))?;
                out.push((id, docs::decode_heads(&heads)?));
            }
            Ok(out)
        })
    }

    /// Forgets that a document was retired (the hub no longer lets this device read it, or
    /// lost it).
    pub(crate) fn forget_retired(&self, doc_id: DocId) -> Result<()> {
        let mut guard = lock(&self.writer);
        let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
        conn.execute("DELETE FROM retired_docs WHERE doc_id = ?1", [doc_id.to_string()])?;
        Ok(())
    }

    fn remove_document_keeping(&self, doc_id: DocId, retired_heads: Option<&[ChangeHash]>) -> Result<bool> {
        let now = self.clock.now().to_rfc3339();
        self.write(|w, _| {
            let Writer { conn, docs, .. } = w;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let kind: Option<String> = tx
                .query_row(
                    "SELECT kind FROM documents WHERE id = ?1",
                    [doc_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(kind) = kind else {
                return Ok((false, StoreChanges::default()));
            };
            let mut changes = remove_read_model_rows(&tx, doc_id, &kind)?;
            tx.execute(
                "WITH RECURSIVE chain(pk) AS (
                     SELECT first_chunk FROM documents WHERE id = ?1 AND first_chunk IS NOT NULL
                     UNION SELECT c.next FROM chunks c JOIN chain ON c.pk = chain.pk WHERE c.next IS NOT NULL)
                 DELETE FROM chunks WHERE pk IN (SELECT pk FROM chain)",
                [doc_id.to_string()],
            )?;
            tx.execute("DELETE FROM hub_acks WHERE doc_id = ?1", [doc_id.to_string()])?;
            tx.execute("DELETE FROM documents WHERE id = ?1", [doc_id.to_string()])?;
            if let Some(heads) = retired_heads {
                tx.execute(
                    "INSERT INTO retired_docs (doc_id, heads, retired_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(doc_id) DO UPDATE SET heads = excluded.heads, retired_at = excluded.retired_at",
                    params![doc_id.to_string(), docs::encode_heads(heads), now],
                )?;
            }
            tx.commit()?;
            docs.evict(doc_id);
            changes.documents.push(doc_id);
            Ok((true, changes))
        })
    }
}

/// Deletes the read-model rows derived from a document, and says which entities went.
fn remove_read_model_rows(conn: &Connection, doc_id: DocId, kind: &str) -> Result<StoreChanges> {
    let mut changes = StoreChanges::default();
    let ids = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([doc_id.to_string()], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let bad = || Error::Corrupt("a read-model row has an unreadable id");
    match kind {
        "directory_section" => {
            for id in ids("SELECT id FROM partners WHERE doc_id = ?1")? {
                let id: PartnerId = id.parse().map_err(|_| bad())?;
                index::remove_partner(conn, id)?;
                changes.partners.push(id);
            }
        }
        "brochure_catalog" => {
            // There is one catalog: every brochure row comes from it.
            let mut stmt = conn.prepare("SELECT id FROM brochures")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for id in rows {
                let id: BrochureId = id?.parse().map_err(|_| bad())?;
                changes.brochures.push(id);
            }
            conn.execute("DELETE FROM brochures", [])?;
        }
        "visit_log" => {
            for id in ids("SELECT id FROM visits WHERE doc_id = ?1")? {
                changes.visits.push(id.parse::<VisitId>().map_err(|_| bad())?);
            }
            conn.execute(
                "DELETE FROM visits WHERE doc_id = ?1",
                params![doc_id.to_string()],
            )?;
        }
        _ => return Err(Error::Corrupt("a document row has an unknown kind")),
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Brochure, Lang, Month, OrgKind, Partner, Region};
    use crate::sync::protocol::EnrollResponse;
    use crate::{StoreChanges, StoreKey};
    use std::sync::{Arc, Mutex};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.db"),
            StoreKey::random().as_bytes(),
            Default::default(),
        )
        .unwrap();
        (dir, store)
    }

    fn enroll_as(store: &Store, role: Role) {
        let response = EnrollResponse {
            device_id: store.device_id(),
            token: "f".repeat(64),
            org_id: "caw-limburg".into(),
            org_name: "CAW Limburg".into(),
            role,
        };
        let hub = HubUrl::parse("https://hub.example.org").unwrap();
        let token = Token::new(response.token.clone()).unwrap();
        store.save_enrollment(&hub, &response, &token, "phone 2").unwrap();
    }

    #[test]
    fn the_enrollment_is_kept_without_showing_the_token() {
        let (_dir, store) = store();
        assert!(store.enrollment().unwrap().is_none());
        assert!(matches!(store.credentials(), Err(Error::NotEnrolled)));
        enroll_as(&store, Role::Coordinator);
        let e = store.enrollment().unwrap().unwrap();
        assert_eq!(e.hub_url, "https://hub.example.org");
        assert_eq!(
            (e.org_id.as_str(), e.org_name.as_str()),
            ("caw-limburg", "CAW Limburg")
        );
        assert_eq!((e.role, e.device_name.as_str()), (Role::Coordinator, "phone 2"));
        assert!(!format!("{e:?}").contains("ffff"));
        let (hub, token) = store.credentials().unwrap();
        assert_eq!(hub.as_str(), "https://hub.example.org");
        assert_eq!(token.expose(), "f".repeat(64));
    }

    #[test]
    fn a_field_worker_device_refuses_directory_and_catalog_edits() {
        let (_dir, store) = store();
        let partner = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
        store.add_partner(&partner).unwrap();
        enroll_as(&store, Role::Fieldworker);
        let other = Partner::new(Region::Limburg, "Vluchtelingenwerk", OrgKind::Ngo);
        assert!(matches!(store.add_partner(&other), Err(Error::NotAllowed(_))));
        assert!(matches!(
            store.set_partner_status(partner.id, crate::model::PartnerStatus::Inactive),
            Err(Error::NotAllowed(_))
        ));
        let mut b = Brochure::new("2026-11-01".parse().unwrap());
        b.title.insert(Lang::code("nl").unwrap(), "Terugkeer".into());
        assert!(matches!(store.put_brochure(&b), Err(Error::NotAllowed(_))));
    }

    #[test]
    fn removing_a_document_removes_its_rows_and_tells_observers() {
        let (_dir, store) = store();
        let p = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
        store.add_partner(&p).unwrap();
        let mut b = Brochure::new("2026-11-01".parse().unwrap());
        b.title.insert(Lang::code("nl").unwrap(), "Terugkeer".into());
        store.put_brochure(&b).unwrap();
        let date = store.today();
        let v = crate::model::VisitDetails::new(
            date,
            crate::model::PartOfDay::Morning,
            3500,
            "Hasselt",
            crate::model::Setting::Street,
            crate::model::Activity::IndividualContact,
            1,
        );
        let visit = store.log_visit(&v).unwrap();
        let seen: Arc<Mutex<Vec<StoreChanges>>> = Arc::default();
        let sink = seen.clone();
        let _sub = store.subscribe(Arc::new(move |c: &StoreChanges| {
            sink.lock().unwrap().push(c.clone())
        }));

        let section = crate::doc::DocMeta::DirectorySection {
            region: Region::Limburg,
        }
        .id();
        store
            .set_acked_heads(section, &store.document_heads(section).unwrap())
            .unwrap();
        assert!(store.remove_document(section).unwrap());
        assert!(!store.remove_document(section).unwrap(), "already gone");
        assert_eq!(store.partner_count().unwrap(), 0);
        assert!(store.acked_heads(section).unwrap().is_empty());
        assert!(matches!(
            store.document_heads(section),
            Err(Error::NotFound { .. })
        ));

        let log = crate::doc::DocMeta::VisitLog {
            owner: store.device_id(),
            month: Month::of(date),
        }
        .id();
        assert!(store.remove_document(log).unwrap());
        assert!(store.visit(visit).is_err());
        assert!(store.visit_log_months().unwrap().is_empty());
        assert!(store
            .remove_document(crate::doc::DocMeta::BrochureCatalog.id())
            .unwrap());
        assert!(store.brochures(&[]).unwrap().is_empty());
        let remaining: Vec<_> = store.documents().unwrap();
        assert!(remaining.is_empty());
        let chunks: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(chunks, 0, "every chunk of the removed documents is gone");

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].partners, vec![p.id]);
        assert_eq!(seen[0].documents, vec![section]);
        assert_eq!(seen[1].visits, vec![visit]);
        assert_eq!(seen[2].brochures, vec![b.id]);
    }
}

/// What tests and demos need to set up a store beyond the app's API. Not for apps.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Records an enrollment as if a hub at `hub_url` had given it (a made-up token), so that a
    /// test can point a store at a hub that never answers.
    pub fn save_enrollment(store: &Store, hub_url: &str, role: Role) -> Result<Enrollment> {
        let hub = HubUrl::parse(hub_url)?;
        let response = EnrollResponse {
            device_id: store.device_id(),
            token: "0".repeat(64),
            org_id: "test".into(),
            org_name: "Test".into(),
            role,
        };
        let token = Token::new(response.token.clone()).ok_or(Error::Protocol("a test token".into()))?;
        store.save_enrollment(&hub, &response, &token, "test device")
    }
}
