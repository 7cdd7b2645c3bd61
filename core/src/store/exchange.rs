//! The store's side of a sync round, for the engine ([`crate::sync::engine`]): what to send
//! ([`Store::outgoing`]), the hub's documents applied and acknowledged
//! ([`Store::apply_incoming`]), and what the answer says besides ([`Store::apply_verdicts`]).
//! The first two are each one pass under the writer lock, and `apply_incoming` one transaction,
//! with a savepoint per document so that one the app cannot take is left out alone.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, Receiver};

use automerge::ChangeHash;
use rusqlite::TransactionBehavior;

use super::docs::{self, DocCache};
use super::incoming::{self, Prepared};
use super::sync_state::{write_acks, Ack};
use super::{lock, open, Store, StoreChanges, Writer};
use crate::doc::{DeviceActor, DocError, DocMeta};
use crate::error::{Error, Result};
use crate::log_targets::SYNC;
use crate::model::{DeviceId, DocId};
use crate::sync::protocol::{
    self, from_wire, to_wire, DocPull, DocPush, ErrorCode, Role, StateDigest, SyncRequest, SyncResponse,
    AUTOMERGE_FORMAT,
};
use crate::sync::retention::same_heads;
use crate::sync::{DocumentRefusal, SyncReport};

/// A request ready to send, and what it carries.
pub(crate) struct Outgoing {
    pub request: SyncRequest,
    pub documents_with_changes: u32,
    pub changes: u64,
    pub resent: u32,
    /// Some documents' changes did not fit and wait for another round.
    pub deferred: bool,
}

/// One document's part of a request.
struct Push {
    meta: DocMeta,
    heads: Vec<ChangeHash>,
    changes: Vec<u8>,
    count: u64,
}

impl Store {
    /// A round's request: every document held, with its heads and what the hub lacks; beyond
    /// the first document with changes, changes over `budget` bytes wait. With `known` (the
    /// hub's state this device holds, see [`SyncRequest::known`]), only the documents this
    /// device changed since and those the hub asked for whole (`resend`).
    pub(crate) fn outgoing(
        &self,
        known: Option<StateDigest>,
        resend: &HashSet<DocId>,
        budget: usize,
    ) -> Result<Outgoing> {
        let role = self.role()?;
        // Months removed after the retention period, named with the heads the hub holds, so
        // that it does not send them back (the hub's state names them too).
        let retired = if known.is_some() {
            Vec::new()
        } else {
            self.retired_documents()?
        };
        let device = self.device_id();
        let mut out = Outgoing {
            request: SyncRequest {
                protocol: protocol::PROTOCOL_VERSION,
                format: AUTOMERGE_FORMAT.to_string(),
                docs: Vec::new(),
                known,
                roster: self.roster_version()?,
                report: self.report_version()?,
            },
            documents_with_changes: 0,
            changes: 0,
            resent: 0,
            deferred: false,
        };
        let mut carried = 0usize;
        let mut guard = lock(&self.writer);
        let Writer { conn, docs, actor } = guard.as_mut().ok_or(Error::Closed)?;
        // Suggestions go only to a hub that sent a roster: one that knows their documents (an
        // older hub would refuse the whole request for a document kind it cannot name).
        let hub_takes_suggestions = super::schema::get_meta(conn, "roster_version")?.is_some();
        for (id, kind) in docs::list(conn)? {
            if kind == crate::doc::DocKind::Suggestions && !hub_takes_suggestions {
                continue;
            }
            let acked = docs::acked_heads(conn, id)?;
            let whole = resend.contains(&id);
            let cached = docs
                .get(conn, id, *actor, None)?
                .ok_or(Error::NotFound { what: "document" })?;
            let writable = may_write(cached.doc.meta(), role, device);
            let push = push_of(&mut cached.doc, &acked, whole, writable)?;
            if known.is_some() && push.changes.is_empty() {
                // The hub's state names this document at its acknowledged heads.
                continue;
            }
            if !push.changes.is_empty() && carried > 0 && carried + push.changes.len() > budget {
                // Told only what the hub acknowledged, the hub answers as if this device had
                // nothing newer; the changes go in a later round.
                out.deferred = true;
                if known.is_none() {
                    out.request
                        .docs
                        .push(DocPush::new(id, to_wire(&acked), Vec::new()));
                }
                continue;
            }
            carried += push.changes.len();
            if !push.changes.is_empty() {
                out.documents_with_changes += 1;
                out.changes += push.count;
                out.resent += u32::from(whole);
            }
            // A whole document comes with the hub's last seal, so that a hub restored from a
            // backup can take back what it had accepted from other devices.
            let (attested_heads, attestation) = match (whole, docs::attestation(conn, id)?) {
                (true, Some((heads, seal))) => (to_wire(&heads), seal),
                _ => (Vec::new(), Vec::new()),
            };
            // While the hub may not hold the document, the push says what it is, so that the hub
            // can decide whether this device may write it before reading the changes.
            let meta = (acked.is_empty() || whole).then_some(push.meta);
            out.request.docs.push(DocPush {
                id,
                heads: to_wire(&push.heads),
                changes: push.changes,
                attested_heads,
                attestation,
                meta,
            });
        }
        for (id, heads) in retired {
            out.request
                .docs
                .push(DocPush::new(id, to_wire(&heads), Vec::new()));
        }
        Ok(out)
    }

    /// Applies the changes of every document of the hub's answer, then acknowledges the heads
    /// the answer names that this device now holds (with the hub's seals), all in one
    /// transaction: a savepoint per document, so that bytes this app cannot take (damaged, or
    /// from a newer app) leave that document unchanged and unacknowledged, and the next sync
    /// asks again. Documents new to this device (a first sync's directory, mostly) are loaded
    /// and read on helper threads, in turn, while the writer stores the ones before them.
    /// Observers are told once, after the commit.
    pub(crate) fn apply_incoming(&self, response: &SyncResponse, report: &mut SyncReport) -> Result<()> {
        let retired: HashSet<DocId> = self.retired_documents()?.into_iter().map(|(id, _)| id).collect();
        let held: HashSet<DocId> = self.documents()?.into_iter().map(|(id, _)| id).collect();
        let new: Vec<usize> = (0..response.docs.len())
            .filter(|&i| {
                let pull = &response.docs[i];
                !pull.changes.is_empty() && !held.contains(&pull.id) && !retired.contains(&pull.id)
            })
            .collect();
        let actor = self.actor()?;
        std::thread::scope(|scope| {
            // Helper `h` reads the new documents `h`, `h + helpers`, ..., each at most one
            // ahead of the writer: in the answer's order, with bounded memory, on every core.
            let helpers = if new.len() > 1 {
                helper_threads().min(new.len())
            } else {
                0
            };
            let mut prepared = Vec::with_capacity(helpers);
            for h in 0..helpers {
                let (ahead, got) = sync_channel(1);
                prepared.push(got);
                let new = &new;
                scope.spawn(move || {
                    for &i in new.iter().skip(h).step_by(helpers) {
                        let pull = &response.docs[i];
                        let read = incoming::prepare(pull.id, &pull.changes, actor);
                        if ahead.send((i, read)).is_err() {
                            return;
                        }
                    }
                });
            }
            let incoming = Incoming {
                response,
                retired: &retired,
                held: &held,
                prepared: &prepared,
                taken: Cell::new(0),
            };
            let bulk = helpers > 0;
            self.write(|w, device| {
                let mut touched = Vec::new();
                if bulk {
                    open::set_writer_cache(&w.conn, open::BULK_CACHE_KIB)?;
                }
                let applied = incoming.apply(w, device, &mut touched, report);
                if bulk {
                    if let Err(e) = open::set_writer_cache(&w.conn, open::WRITER_CACHE_KIB) {
                        tracing::warn!(target: SYNC, error = %e, "the page cache was not set back");
                    }
                }
                if applied.is_err() {
                    // What the cache holds of them was not committed.
                    for id in touched {
                        w.docs.evict(id);
                    }
                }
                applied.map(|changes| ((), changes))
            })
        })
    }

    /// Applies what the answer says besides documents: the ones to drop, then the refusals (a
    /// document whose history regressed is rebuilt on the hub's copy). Returns how many
    /// documents were rebuilt.
    pub(crate) fn apply_verdicts(&self, response: &SyncResponse, report: &mut SyncReport) -> Result<u32> {
        let retired: HashSet<DocId> = self.retired_documents()?.into_iter().map(|(id, _)| id).collect();
        for &id in response.drop.iter().chain(&response.resend) {
            if retired.contains(&id) {
                // The hub no longer lets this device read it, or lost what it had of it.
                self.forget_retired(id)?;
            }
        }
        for &id in &response.drop {
            if self.holds_unacknowledged_own_log(id)? {
                // Never lose this device's visits on the hub's word.
                continue;
            }
            if self.remove_document(id)? {
                report.documents_dropped += 1;
            }
        }
        let mut recovered = 0;
        for refusal in &response.refused {
            if refusal.code == ErrorCode::HistoryRegressed && !refusal.document.is_empty() {
                self.recover_regressed(
                    refusal.id,
                    &refusal.document,
                    &from_wire(&refusal.heads),
                    &refusal.attestation,
                )?;
                report.histories_recovered += 1;
                recovered += 1;
                continue;
            }
            tracing::warn!(target: SYNC, doc = %refusal.id, code = refusal.code.as_str(), "the hub refused a document");
            if refusal.code == ErrorCode::UpgradeNeeded {
                report.upgrade_needed.push(refusal.id);
            }
            report.refused_by_hub.push(DocumentRefusal {
                doc: refusal.id,
                code: refusal.code,
                reason: refusal.reason.clone(),
            });
        }
        Ok(recovered)
    }

    /// Whether some document this device may write holds changes the hub has not acknowledged.
    pub(crate) fn holds_unacknowledged_work(&self) -> Result<bool> {
        let role = self.role()?;
        for (id, _) in self.documents()? {
            let meta = self.with_document(id, |d| Ok(*d.meta()))?;
            if may_write(&meta, role, self.device_id())
                && !same_heads(&self.document_heads(id)?, &self.acked_heads(id)?)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether this device holds `id` and may send its changes.
    pub(crate) fn may_push(&self, id: DocId) -> Result<bool> {
        let role = self.role()?;
        match self.with_document(id, |d| Ok(*d.meta())) {
            Ok(meta) => Ok(may_write(&meta, role, self.device_id())),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `id` is one of this device's visit logs with changes the hub has not
    /// acknowledged.
    fn holds_unacknowledged_own_log(&self, id: DocId) -> Result<bool> {
        let own = match self.with_document(id, |d| Ok(*d.meta())) {
            Ok(DocMeta::VisitLog { owner, .. }) => owner == self.device_id(),
            Ok(_) | Err(Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(own && !same_heads(&self.document_heads(id)?, &self.acked_heads(id)?))
    }
}

/// Whether the hub accepts changes to a document from this device: the directory and the
/// catalog from coordinators and admins (or before enrollment), a visit log from its owner,
/// suggestions from their author and from coordinators and admins (who answer them).
fn may_write(meta: &DocMeta, role: Option<Role>, device: DeviceId) -> bool {
    match meta {
        DocMeta::DirectorySection { .. } | DocMeta::BrochureCatalog => role.is_none_or(Role::edits_directory),
        DocMeta::VisitLog { owner, .. } => *owner == device,
        DocMeta::Suggestions { owner } => *owner == device || role.is_some_and(Role::edits_directory),
    }
}

/// One document's part of a request: its heads and the changes the hub has not acknowledged
/// (everything, when the hub asked for it `whole`); none when this device may not write it.
fn push_of(
    doc: &mut crate::doc::Document,
    acked: &[ChangeHash],
    whole: bool,
    writable: bool,
) -> Result<Push> {
    let meta = *doc.meta();
    if !writable {
        // Changes the hub would refuse (made before this device was enrolled as a field
        // worker) stay here; the hub's answer still keeps the copy current.
        return Ok(Push {
            meta,
            heads: acked.to_vec(),
            changes: Vec::new(),
            count: 0,
        });
    }
    let heads = doc.heads();
    if whole {
        let count = doc.automerge_mut().get_changes_meta(&[]).len() as u64;
        return Ok(Push {
            meta,
            heads,
            changes: doc.save_for_push(),
            count,
        });
    }
    if same_heads(&heads, acked) {
        return Ok(Push {
            meta,
            heads,
            changes: Vec::new(),
            count: 0,
        });
    }
    // Only acknowledged heads this copy knows can bound what to send.
    let missing = doc.automerge_mut().get_missing_deps(acked);
    let known: Vec<ChangeHash> = acked.iter().filter(|h| !missing.contains(h)).copied().collect();
    let count = doc.automerge_mut().get_changes_meta(&known).len() as u64;
    Ok(Push {
        meta,
        heads,
        changes: doc.changes_since(&known)?,
        count,
    })
}

/// Threads that read a first sync's documents while the writer stores them: as many as the
/// cores, at most four (a directory has a dozen sections).
fn helper_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// What a helper read of the answer's document at an index.
type ReadAhead = (usize, Result<Option<Prepared>>);

/// A hub's answer being applied, under the writer lock.
struct Incoming<'a> {
    response: &'a SyncResponse,
    retired: &'a HashSet<DocId>,
    held: &'a HashSet<DocId>,
    /// Documents new to this device, read ahead by helpers in turn, in the answer's order.
    prepared: &'a [Receiver<ReadAhead>],
    /// How many of them the writer took.
    taken: Cell<usize>,
}

impl Incoming<'_> {
    /// Applies the answer in one transaction; `touched` gets the documents written, whose
    /// cached copies the caller drops if the transaction does not commit.
    fn apply(
        &self,
        w: &mut Writer,
        device: DeviceActor,
        touched: &mut Vec<DocId>,
        report: &mut SyncReport,
    ) -> Result<StoreChanges> {
        let Writer { conn, docs, .. } = w;
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changes = StoreChanges::default();
        let mut applied: Vec<&DocPull> = Vec::with_capacity(self.response.docs.len());
        for (i, pull) in self.response.docs.iter().enumerate() {
            if self.retired.contains(&pull.id) {
                // Removed for data minimisation: it does not come back.
                continue;
            }
            if !pull.changes.is_empty() {
                let before = match docs.get(&tx, pull.id, device, None)? {
                    Some(cached) => cached.doc.heads(),
                    None => Vec::new(),
                };
                let prepared = match self.ahead(i, pull.id) {
                    Ok(p) => p,
                    Err(e) => {
                        refused(report, pull.id, e)?;
                        continue;
                    }
                };
                touched.push(pull.id);
                let sp = tx.savepoint()?;
                match incoming::merge_in(&sp, docs, device, pull.id, &pull.changes, prepared) {
                    Ok(c) => {
                        sp.commit()?;
                        changes.extend(c);
                    }
                    Err(e) => {
                        drop(sp);
                        refused(report, pull.id, e)?;
                        continue;
                    }
                }
                let cached = docs
                    .get(&tx, pull.id, device, None)?
                    .ok_or(Error::NotFound { what: "document" })?;
                let new = cached.doc.automerge_mut().get_changes_meta(&before).len();
                if new > 0 {
                    report.documents_pulled += 1;
                    report.changes_pulled += crate::sync::signed::<_, i64>(new);
                }
            }
            applied.push(pull);
        }
        let acks = acks(&tx, docs, device, &applied)?;
        write_acks(&tx, &acks)?;
        tx.commit()?;
        Ok(changes)
    }

    /// What the helper thread read of the answer's document `i`, new to this device: `None`
    /// for a document held here, or when the helper did not run or could not read it whole.
    fn ahead(&self, i: usize, id: DocId) -> Result<Option<Prepared>> {
        if self.held.contains(&id) {
            return Ok(None);
        }
        // The helpers send in the answer's order, in turn; nothing when they did not run.
        let n = self.taken.get();
        self.taken.set(n + 1);
        let Some(helper) = self.prepared.get(n % self.prepared.len().max(1)) else {
            return Ok(None);
        };
        match helper.recv() {
            Ok((j, read)) if j == i => read,
            _ => Ok(None),
        }
    }
}

/// Counts a document of the answer that this app cannot take; any other error ends the round.
fn refused(report: &mut SyncReport, id: DocId, e: Error) -> Result<()> {
    let Error::Document(e) = e else {
        return Err(e);
    };
    tracing::warn!(target: SYNC, doc = %id, error = %e, "a document from the hub was refused");
    report.documents_refused += 1;
    if matches!(e, DocError::TooNew { .. }) {
        report.upgrade_needed.push(id);
    }
    Ok(())
}

/// The acknowledgements of the answer's documents: only the heads this device holds (a cut
/// answer may name heads it lacks), and the hub's seal only with all of them.
fn acks(
    conn: &rusqlite::Connection,
    docs: &mut DocCache,
    device: DeviceActor,
    applied: &[&DocPull],
) -> Result<Vec<Ack>> {
    let mut acks = Vec::with_capacity(applied.len());
    for pull in applied {
        let Some(cached) = docs.get(conn, pull.id, device, None)? else {
            continue;
        };
        let heads = from_wire(&pull.heads);
        let missing = cached.doc.automerge_mut().get_missing_deps(&heads);
        let sealed = (missing.is_empty() && !pull.attestation.is_empty())
            .then(|| (heads.clone(), pull.attestation.clone()));
        let known: Vec<ChangeHash> = heads.into_iter().filter(|h| !missing.contains(h)).collect();
        if !known.is_empty() {
            acks.push(Ack {
                id: pull.id,
                heads: known,
                sealed,
            });
        }
    }
    Ok(acks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::wire::parse_changes;
    use crate::model::{Activity, OrgKind, PartOfDay, Partner, Region, Setting, VisitDetails};
    use crate::sync::protocol::DocPull;
    use crate::StoreKey;
    use std::sync::{Arc, Mutex};

    /// What the engine does with an answer, the hub's state aside.
    fn apply_response(store: &Store, response: &SyncResponse, report: &mut SyncReport) -> Result<u32> {
        store.apply_incoming(response, report)?;
        store.apply_verdicts(response, report)
    }

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

    fn section(region: Region) -> DocId {
        DocMeta::DirectorySection { region }.id()
    }

    fn visit(store: &Store) -> VisitDetails {
        VisitDetails::new(
            store.today(),
            PartOfDay::Evening,
            1000,
            "Brussel",
            Setting::Shelter,
            Activity::GroupSession,
            9,
        )
    }

    #[test]
    fn a_request_carries_what_the_hub_has_not_acknowledged() {
        let (_dir, store) = store();
        let p = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
        store.add_partner(&p).unwrap();
        store.log_visit(&visit(&store)).unwrap();

        let out = store.outgoing(None, &HashSet::new(), usize::MAX).unwrap();
        assert_eq!(out.request.protocol, protocol::PROTOCOL_VERSION);
        assert_eq!(out.request.format, AUTOMERGE_FORMAT);
        assert_eq!(out.request.docs.len(), 2);
        assert_eq!(
            (out.documents_with_changes, out.changes),
            (2, 4),
            "genesis and one change each"
        );
        assert!(!out.deferred);
        for push in &out.request.docs {
            assert_eq!(from_wire(&push.heads), store.document_heads(push.id).unwrap());
            assert_eq!(parse_changes(&push.changes).unwrap().len(), 2);
        }

        // Once acknowledged, only heads travel; a new edit sends only itself.
        let id = section(Region::Limburg);
        for (doc, _) in store.documents().unwrap() {
            store
                .set_acked_heads(doc, &store.document_heads(doc).unwrap())
                .unwrap();
        }
        let out = store.outgoing(None, &HashSet::new(), usize::MAX).unwrap();
        assert!(out.request.docs.iter().all(|d| d.changes.is_empty()));
        assert_eq!((out.documents_with_changes, out.changes), (0, 0));
        store.mark_verified(p.id, store.today(), "phone call").unwrap();
        let out = store.outgoing(None, &HashSet::new(), usize::MAX).unwrap();
        let push = out.request.docs.iter().find(|d| d.id == id).unwrap();
        assert_eq!(parse_changes(&push.changes).unwrap().len(), 1);
        assert_eq!((out.documents_with_changes, out.changes), (1, 1));

        // A document the hub asked for is sent whole.
        let out = store.outgoing(None, &HashSet::from([id]), usize::MAX).unwrap();
        let push = out.request.docs.iter().find(|d| d.id == id).unwrap();
        let whole = crate::doc::Document::load(id, &push.changes, store.device_id()).unwrap();
        assert_eq!(whole.partner(p.id).unwrap().unwrap().name, "CAW Limburg");
        assert_eq!((out.resent, out.changes), (1, 3));
    }

    #[test]
    fn a_device_names_the_hubs_state_only_while_its_acknowledged_heads_are_that_state() {
        let (_dir, store) = store();
        let p = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
        store.add_partner(&p).unwrap();
        store
            .add_partner(&Partner::new(Region::Namur, "Espace social", OrgKind::Ngo))
            .unwrap();
        let docs: Vec<(DocId, Vec<ChangeHash>)> = store
            .documents()
            .unwrap()
            .into_iter()
            .map(|(id, _)| (id, store.document_heads(id).unwrap()))
            .collect();
        let state = StateDigest::of(docs.iter().map(|(id, h)| (*id, h.as_slice())));
        store.record_hub_state(Some(state)).unwrap();
        assert_eq!(store.known_hub_state().unwrap(), None, "nothing acknowledged yet");
        for (id, heads) in &docs {
            store.set_acked_heads(*id, heads).unwrap();
        }
        store.record_hub_state(Some(StateDigest([0; 16]))).unwrap();
        assert_eq!(store.known_hub_state().unwrap(), None, "not this device's state");
        store.record_hub_state(Some(state)).unwrap();
        assert_eq!(store.known_hub_state().unwrap(), Some(state));

        // Naming the state, the request carries only what changed.
        let out = store.outgoing(Some(state), &HashSet::new(), usize::MAX).unwrap();
        assert!(out.request.docs.is_empty());
        assert_eq!(out.request.known, Some(state));
        store.mark_verified(p.id, store.today(), "phone call").unwrap();
        let out = store.outgoing(Some(state), &HashSet::new(), usize::MAX).unwrap();
        assert_eq!(out.request.docs.len(), 1);
        assert_eq!(out.request.docs[0].id, section(Region::Limburg));
        let whole = HashSet::from([section(Region::Namur)]);
        let out = store.outgoing(Some(state), &whole, usize::MAX).unwrap();
        assert_eq!(out.request.docs.len(), 2, "and what the hub asked for whole");

        // A document gone from the device changes its state: it lists everything again.
        store.remove_document(section(Region::Namur)).unwrap();
        assert_eq!(store.known_hub_state().unwrap(), None);
        store.record_hub_state(None).unwrap();
        assert_eq!(store.known_hub_state().unwrap(), None);
    }

    #[test]
    fn changes_over_the_budget_wait_for_the_next_round() {
        let (_dir, store) = store();
        store
            .add_partner(&Partner::new(
                Region::Limburg,
                "CAW Limburg",
                OrgKind::WelfareCentre,
            ))
            .unwrap();
        store
            .add_partner(&Partner::new(Region::Namur, "Espace social", OrgKind::Ngo))
            .unwrap();
        let out = store.outgoing(None, &HashSet::new(), 1).unwrap();
        assert!(out.deferred);
        assert_eq!(out.documents_with_changes, 1, "the first document always goes");
        let waiting: Vec<_> = out.request.docs.iter().filter(|d| d.changes.is_empty()).collect();
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].heads.is_empty(), "only what the hub acknowledged");
    }

    #[test]
    fn an_answer_is_applied_in_one_commit_that_observers_hear_of_once() {
        let (_dir_a, a) = store();
        let (_dir_b, b) = store();
        let mut docs = Vec::new();
        let mut partners = Vec::new();
        for (region, name) in [(Region::Namur, "CPAS de Namur"), (Region::Liege, "Point d'appui")] {
            let p = Partner::new(region, name, OrgKind::CityService);
            b.add_partner(&p).unwrap();
            let id = section(region);
            docs.push(DocPull {
                id,
                heads: to_wire(&b.document_heads(id).unwrap()),
                changes: b.document_bytes(id).unwrap(),
                attestation: Vec::new(),
            });
            partners.push(p);
        }
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        let _sub = a.subscribe(Arc::new(move |c: &StoreChanges| {
            log.lock().unwrap().push(c.clone())
        }));
        let response = SyncResponse {
            docs,
            ..SyncResponse::default()
        };
        let mut report = SyncReport::default();
        a.apply_incoming(&response, &mut report).unwrap();
        assert_eq!(report.documents_pulled, 2);
        let heard = heard.lock().unwrap();
        assert_eq!(heard.len(), 1, "one commit: {heard:?}");
        let mut told = heard[0].partners.clone();
        told.sort();
        let mut ids: Vec<_> = partners.iter().map(|p| p.id).collect();
        ids.sort();
        assert_eq!(told, ids);
        for p in &partners {
            assert_eq!(&a.partner(p.id).unwrap(), p);
            let id = section(p.region);
            assert_eq!(a.acked_heads(id).unwrap(), b.document_heads(id).unwrap());
        }
    }

    #[test]
    fn an_answer_is_applied_then_acknowledged_and_drops_are_honoured() {
        let (_dir_a, a) = store();
        let (_dir_b, b) = store();
        let p = Partner::new(Region::Namur, "Maison de l'emploi", OrgKind::CityService);
        b.add_partner(&p).unwrap();
        let id = section(Region::Namur);
        let heads = b.document_heads(id).unwrap();
        let changes = b.with_document(id, |d| Ok(d.changes_since(&[])?)).unwrap();
        let stranger = automerge::ChangeHash([9; 32]);
        let mut hub_heads = to_wire(&heads);
        hub_heads.push(stranger.into());
        let response = SyncResponse {
            docs: vec![
                DocPull {
                    id,
                    heads: hub_heads,
                    changes,
                    attestation: Vec::new(),
                },
                DocPull {
                    id: section(Region::Liege),
                    heads: vec![],
                    changes: b"not automerge".to_vec(),
                    attestation: Vec::new(),
                },
            ],
            ..SyncResponse::default()
        };
        let mut report = SyncReport::default();
        apply_response(&a, &response, &mut report).unwrap();
        assert_eq!(a.partner(p.id).unwrap(), p);
        assert_eq!((report.documents_pulled, report.changes_pulled), (1, 2));
        assert_eq!(report.documents_refused, 1);
        assert_eq!(
            a.acked_heads(id).unwrap(),
            heads,
            "heads it lacks are not acknowledged"
        );

        // Applying the same answer again changes nothing.
        let mut again = SyncReport::default();
        apply_response(&a, &response, &mut again).unwrap();
        assert_eq!((again.documents_pulled, again.changes_pulled), (0, 0));

        let drop = SyncResponse {
            drop: vec![id],
            ..SyncResponse::default()
        };
        apply_response(&a, &drop, &mut report).unwrap();
        assert_eq!(report.documents_dropped, 1);
        assert_eq!(a.partner_count().unwrap(), 0);
    }

    #[test]
    fn this_devices_unacknowledged_visits_are_never_dropped() {
        let (_dir, store) = store();
        store.log_visit(&visit(&store)).unwrap();
        let (log, _) = store.documents().unwrap()[0];
        let drop = SyncResponse {
            drop: vec![log],
            ..SyncResponse::default()
        };
        let mut report = SyncReport::default();
        apply_response(&store, &drop, &mut report).unwrap();
        assert_eq!(report.documents_dropped, 0);
        assert_eq!(store.visit_log_months().unwrap().len(), 1);
        store
            .set_acked_heads(log, &store.document_heads(log).unwrap())
            .unwrap();
        apply_response(&store, &drop, &mut report).unwrap();
        assert_eq!(report.documents_dropped, 1);
    }

    #[test]
    fn a_retired_month_is_named_with_its_heads_and_never_comes_back() {
        let (_dir, store) = store();
        store.log_visit(&visit(&store)).unwrap();
        let (log, _) = store.documents().unwrap()[0];
        let heads = store.document_heads(log).unwrap();
        let whole = store.document_bytes(log).unwrap();
        store.set_acked_heads(log, &heads).unwrap();
        assert!(store.retire_document(log, &heads).unwrap());

        let out = store.outgoing(None, &HashSet::new(), usize::MAX).unwrap();
        assert_eq!(out.request.docs.len(), 1);
        assert_eq!(from_wire(&out.request.docs[0].heads), heads);
        assert!(out.request.docs[0].changes.is_empty());

        let back = SyncResponse {
            docs: vec![DocPull {
                id: log,
                heads: to_wire(&heads),
                changes: whole,
                attestation: Vec::new(),
            }],
            ..SyncResponse::default()
        };
        let mut report = SyncReport::default();
        apply_response(&store, &back, &mut report).unwrap();
        assert!(store.documents().unwrap().is_empty(), "not taken back");
        let drop = SyncResponse {
            drop: vec![log],
            ..SyncResponse::default()
        };
        apply_response(&store, &drop, &mut report).unwrap();
        assert!(store.retired_documents().unwrap().is_empty());
    }
}
