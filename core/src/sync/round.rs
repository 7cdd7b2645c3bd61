//! Rounds of document exchange. Each round sends every document's heads with the changes the
//! hub has not acknowledged (or the whole document, when the hub asked for it), applies what the
//! hub answers, and only then records the hub's heads as acknowledged: a round cut anywhere is
//! harmless, since resending changes is.

use std::collections::HashSet;

use automerge::ChangeHash;

use super::http::HubClient;
use super::options::DocumentRefusal;
use super::options::{Reporter, SyncPhase, SyncReport};
use super::protocol::{
    self, from_wire, to_wire, DocPush, ErrorCode, Role, StateDigest, SyncRequest, SyncResponse,
    AUTOMERGE_FORMAT,
};
use super::retention::same_heads;
use crate::doc::DocMeta;
use crate::error::{Error, Result};
use crate::log_targets::SYNC;
use crate::model::{DeviceId, DocId};
use crate::store::incoming;
use crate::store::sync_state::Ack;
use crate::store::Store;

/// Most rounds in one sync; the next sync continues where it stopped.
pub(crate) const MAX_ROUNDS: u32 = 20;

/// Bytes of changes one request carries, beyond its first document: the other documents'
/// changes wait for the next round.
const REQUEST_CHANGES_BUDGET: usize = 4 * 1024 * 1024;

/// Largest answer accepted from the hub (it bounds and paginates its answers).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// A request ready to send, and what it carries.
struct Outgoing {
    request: SyncRequest,
    documents_with_changes: u32,
    changes: u64,
    resent: u32,
    /// Some documents' changes did not fit and wait for another round.
    deferred: bool,
}

/// One document's part of a request.
struct Push {
    meta: DocMeta,
    heads: Vec<ChangeHash>,
    changes: Vec<u8>,
    count: u64,
}

impl Store {
    /// Runs rounds until the hub has nothing more and asks for nothing; returns whether it got
    /// there within [`MAX_ROUNDS`].
    pub(crate) async fn exchange(
        &self,
        client: &HubClient,
        reporter: &mut Reporter,
        report: &mut SyncReport,
    ) -> Result<bool> {
        let mut resend: HashSet<DocId> = HashSet::new();
        let mut list_all = false;
        for round in 1..=MAX_ROUNDS {
            client.cancel().check()?;
            reporter.set_round(round);
            let known = if list_all { None } else { self.known_hub_state()? };
            let outgoing = self.build_request(known, &resend, REQUEST_CHANGES_BUDGET)?;
            // Nothing leaves the device before its disk holds it: a change sent and then lost
            // in a power cut would be numbered again, differently.
            self.make_durable()?;
            let body = protocol::encode(&outgoing.request);
            let sent = body.len() as u64;
            let docs = outgoing.request.docs.len() as u64;
            reporter.tell(SyncPhase::Uploading, 0, docs, 0, sent);
            let answer = {
                let reporter = &*reporter;
                let mut on_bytes =
                    |got: u64, total: u64| reporter.tell(SyncPhase::Downloading, 0, 0, got, total);
                let waiting = |waited: std::time::Duration| {
                    reporter.tell(SyncPhase::Waiting, 0, 0, waited.as_millis() as u64, 0)
                };
                client
                    .post_cbor("/v1/sync", body, MAX_ANSWER, &mut on_bytes, &waiting)
                    .await?
            };
            tracing::debug!(
                target: SYNC,
                round,
                documents = docs,
                bytes_up = sent,
                bytes_down = answer.len(),
                names_state = outgoing.request.known.is_some(),
                "round trip"
            );
            report.round_trips += 1;
            report.bytes_up += sent;
            report.bytes_down += answer.len() as u64;
            report.documents_pushed += outgoing.documents_with_changes;
            report.changes_pushed += outgoing.changes;
            report.documents_resent += outgoing.resent;
            let response: SyncResponse =
                protocol::decode(&answer).map_err(|e| Error::Protocol(e.to_string()))?;
            client.cancel().check()?;
            let recovered = self.apply_response(&response, reporter, report)?;
            // The state this answer leaves is named in the next request only if this device's
            // acknowledged heads are exactly that state.
            self.record_hub_state(response.state)?;
            list_all = response.list_all;
            if list_all {
                tracing::info!(target: SYNC, "the hub did not know this device's state: listing every document");
            }
            if response.wipe {
                // Retired: the store goes once the hub holds all of this device's work, and
                // never while the hub refuses some of it.
                if !report.refused_by_hub.is_empty() {
                    return Ok(true);
                }
                if !self.holds_unacknowledged_work()? {
                    return Err(match self.wipe() {
                        Ok(()) | Err(Error::Closed) => Error::RetiredAndWiped,
                        Err(e) => e,
                    });
                }
            }
            // Only documents held here, that this device may write, can be sent whole.
            resend = HashSet::new();
            for &id in &response.resend {
                if self.may_push(id)? {
                    resend.insert(id);
                }
            }
            if !response.more && !list_all && resend.is_empty() && !outgoing.deferred && recovered == 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Builds a round's request: every document held, with its heads and what the hub lacks;
    /// beyond the first document with changes, changes over `budget` bytes wait. With `known`
    /// (the hub's state this device holds, see [`SyncRequest::known`]), only the documents this
    /// device changed since and those the hub asked for whole.
    fn build_request(
        &self,
        known: Option<StateDigest>,
        resend: &HashSet<DocId>,
        budget: usize,
    ) -> Result<Outgoing> {
        let mut out = Outgoing {
            request: SyncRequest {
                protocol: protocol::PROTOCOL_VERSION,
                format: AUTOMERGE_FORMAT.to_string(),
                docs: Vec::new(),
                known,
            },
            documents_with_changes: 0,
            changes: 0,
            resent: 0,
            deferred: false,
        };
        let mut carried = 0usize;
        let role = self.role()?;
        for (id, _) in self.documents()? {
            let acked = self.acked_heads(id)?;
            let whole = resend.contains(&id);
            let push = self.with_document(id, |doc| {
                let meta = *doc.meta();
                if !may_write(&meta, role, self.device_id()) {
                    // Changes the hub would refuse (made before this device was enrolled as a
                    // field worker) stay here; the hub's answer still keeps the copy current.
                    return Ok(Push {
                        meta,
                        heads: acked.clone(),
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
                if same_heads(&heads, &acked) {
                    return Ok(Push {
                        meta,
                        heads,
                        changes: Vec::new(),
                        count: 0,
                    });
                }
                // Only acknowledged heads this copy knows can bound what to send.
                let missing = doc.automerge_mut().get_missing_deps(&acked);
                let known: Vec<ChangeHash> = acked.iter().filter(|h| !missing.contains(h)).copied().collect();
                let count = doc.automerge_mut().get_changes_meta(&known).len() as u64;
                Ok(Push {
                    meta,
                    heads,
                    changes: doc.changes_since(&known)?,
                    count,
                })
            })?;
            if known.is_some() && push.changes.is_empty() {
                // The hub's state names this document at its acknowledged heads.
                continue;
            }
            if !push.changes.is_empty() && carried > 0 && carried + push.changes.len() > budget {
                // Told only what the hub acknowledged, the hub answers as if this device had
                // nothing newer; the changes go in a later round.
                out.deferred = true;
                if known.is_some() {
                    continue;
                }
                out.request
                    .docs
                    .push(DocPush::new(id, to_wire(&acked), Vec::new()));
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
            let (attested_heads, attestation) = match (whole, self.attestation(id)?) {
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
        // Months removed after the retention period, named with the heads the hub holds, so
        // that it does not send them back (the hub's state names them too).
        let retired = if known.is_some() {
            Vec::new()
        } else {
            self.retired_documents()?
        };
        for (id, heads) in retired {
            out.request
                .docs
                .push(DocPush::new(id, to_wire(&heads), Vec::new()));
        }
        Ok(out)
    }

    /// Applies the hub's answer: every document's changes first, then the acknowledgements,
    /// then the documents to drop, then the refusals (a document whose history regressed is
    /// rebuilt on the hub's copy). Returns how many documents were rebuilt, whose changes go in
    /// the next round.
    fn apply_response(
        &self,
        response: &SyncResponse,
        reporter: &Reporter,
        report: &mut SyncReport,
    ) -> Result<u32> {
        let retired: HashSet<DocId> = self.retired_documents()?.into_iter().map(|(id, _)| id).collect();
        let held: HashSet<DocId> = self.documents()?.into_iter().map(|(id, _)| id).collect();
        // Documents new to this device are loaded and read on a helper thread, one ahead of
        // the writer that stores them (a first sync's directory, mostly).
        let new: Vec<usize> = (0..response.docs.len())
            .filter(|&i| {
                let pull = &response.docs[i];
                !pull.changes.is_empty() && !held.contains(&pull.id) && !retired.contains(&pull.id)
            })
            .collect();
        let actor = self.actor()?;
        std::thread::scope(|scope| {
            let (ahead, prepared) = std::sync::mpsc::sync_channel(1);
            if new.len() > 1 {
                let new = &new;
                scope.spawn(move || {
                    for &i in new {
                        let pull = &response.docs[i];
                        let read = incoming::prepare(pull.id, &pull.changes, actor);
                        if ahead.send((i, read)).is_err() {
                            return;
                        }
                    }
                });
            } else {
                drop(ahead);
            }
            self.apply_pulls(response, &retired, &held, &prepared, reporter, report)
        })?;
        self.apply_verdicts(response, &retired, report)
    }

    /// Applies the changes of every document of the answer, then records the acknowledgements.
    /// A document new to this device comes from `prepared` when a helper thread read it ahead.
    fn apply_pulls(
        &self,
        response: &SyncResponse,
        retired: &HashSet<DocId>,
        held: &HashSet<DocId>,
        prepared: &std::sync::mpsc::Receiver<(usize, Result<Option<incoming::Prepared>>)>,
        reporter: &Reporter,
        report: &mut SyncReport,
    ) -> Result<()> {
        let total = response.docs.len() as u64;
        let mut applied: Vec<(DocId, Vec<ChangeHash>, &[u8])> = Vec::with_capacity(response.docs.len());
        for (i, pull) in response.docs.iter().enumerate() {
            reporter.tell(SyncPhase::Applying, i as u64, total, 0, 0);
            if retired.contains(&pull.id) {
                // Removed for data minimisation: it does not come back.
                continue;
            }
            if !pull.changes.is_empty() {
                let before = match self.document_heads(pull.id) {
                    Ok(h) => h,
                    Err(Error::NotFound { .. }) => Vec::new(),
                    Err(e) => return Err(e),
                };
                let ahead = if held.contains(&pull.id) {
                    None
                } else {
                    // The helper sends in the answer's order; none when it did not run.
                    prepared.recv().ok()
                };
                let result = match ahead {
                    Some((j, Ok(Some(p)))) if j == i => self.apply_prepared(pull.id, &pull.changes, p),
                    Some((j, Err(e))) if j == i => Err(e),
                    _ => self.apply_remote(pull.id, &pull.changes),
                };
                match result {
                    Ok(_) => {}
                    // Bytes this app cannot take (damaged, or from a newer app): the store is
                    // unchanged, nothing is acknowledged, and the next sync asks again.
                    Err(Error::Document(e)) => {
                        tracing::warn!(target: SYNC, doc = %pull.id, error = %e, "a document from the hub was refused");
                        report.documents_refused += 1;
                        if matches!(e, crate::doc::DocError::TooNew { .. }) {
                            report.upgrade_needed.push(pull.id);
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                let new =
                    self.with_document(pull.id, |d| Ok(d.automerge_mut().get_changes_meta(&before).len()))?;
                if new > 0 {
                    report.documents_pulled += 1;
                    report.changes_pulled += new as u64;
                }
            }
            applied.push((pull.id, from_wire(&pull.heads), &pull.attestation));
        }
        reporter.tell(SyncPhase::Applying, total, total, 0, 0);
        let mut acks = Vec::with_capacity(applied.len());
        for (id, heads, seal) in applied {
            // Acknowledge only what this device holds: a cut answer may name heads it lacks.
            let missing = match self.with_document(id, |d| Ok(d.automerge_mut().get_missing_deps(&heads))) {
                Ok(missing) => missing,
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let sealed = (missing.is_empty() && !seal.is_empty()).then(|| (heads.clone(), seal.to_vec()));
            let known: Vec<ChangeHash> = heads.into_iter().filter(|h| !missing.contains(h)).collect();
            if !known.is_empty() {
                acks.push(Ack {
                    id,
                    heads: known,
                    sealed,
                });
            }
        }
        self.record_acked_heads(&acks)
    }

    /// Applies what the answer says besides documents: the ones to drop, then the refusals (a
    /// document whose history regressed is rebuilt on the hub's copy). Returns how many
    /// documents were rebuilt.
    fn apply_verdicts(
        &self,
        response: &SyncResponse,
        retired: &HashSet<DocId>,
        report: &mut SyncReport,
    ) -> Result<u32> {
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
    fn holds_unacknowledged_work(&self) -> Result<bool> {
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
    fn may_push(&self, id: DocId) -> Result<bool> {
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
/// catalog from coordinators and admins (or before enrollment), a visit log from its owner.
fn may_write(meta: &DocMeta, role: Option<Role>, device: DeviceId) -> bool {
    match meta {
        DocMeta::DirectorySection { .. } | DocMeta::BrochureCatalog => role.is_none_or(Role::edits_directory),
        DocMeta::VisitLog { owner, .. } => *owner == device,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::wire::parse_changes;
    use crate::model::{Activity, OrgKind, PartOfDay, Partner, Region, Setting, VisitDetails};
    use crate::sync::protocol::DocPull;
    use crate::StoreKey;

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

        let out = store.build_request(None, &HashSet::new(), usize::MAX).unwrap();
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
        let out = store.build_request(None, &HashSet::new(), usize::MAX).unwrap();
        assert!(out.request.docs.iter().all(|d| d.changes.is_empty()));
        assert_eq!((out.documents_with_changes, out.changes), (0, 0));
        store.mark_verified(p.id, store.today(), "phone call").unwrap();
        let out = store.build_request(None, &HashSet::new(), usize::MAX).unwrap();
        let push = out.request.docs.iter().find(|d| d.id == id).unwrap();
        assert_eq!(parse_changes(&push.changes).unwrap().len(), 1);
        assert_eq!((out.documents_with_changes, out.changes), (1, 1));

        // A document the hub asked for is sent whole.
        let out = store
            .build_request(None, &HashSet::from([id]), usize::MAX)
            .unwrap();
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
        let out = store
            .build_request(Some(state), &HashSet::new(), usize::MAX)
            .unwrap();
        assert!(out.request.docs.is_empty());
        assert_eq!(out.request.known, Some(state));
        store.mark_verified(p.id, store.today(), "phone call").unwrap();
        let out = store
            .build_request(Some(state), &HashSet::new(), usize::MAX)
            .unwrap();
        assert_eq!(out.request.docs.len(), 1);
        assert_eq!(out.request.docs[0].id, section(Region::Limburg));
        let whole = HashSet::from([section(Region::Namur)]);
        let out = store.build_request(Some(state), &whole, usize::MAX).unwrap();
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
        let out = store.build_request(None, &HashSet::new(), 1).unwrap();
        assert!(out.deferred);
        assert_eq!(out.documents_with_changes, 1, "the first document always goes");
        let waiting: Vec<_> = out.request.docs.iter().filter(|d| d.changes.is_empty()).collect();
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].heads.is_empty(), "only what the hub acknowledged");
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
        a.apply_response(&response, &Reporter::default(), &mut report)
            .unwrap();
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
        a.apply_response(&response, &Reporter::default(), &mut again)
            .unwrap();
        assert_eq!((again.documents_pulled, again.changes_pulled), (0, 0));

        let drop = SyncResponse {
            drop: vec![id],
            ..SyncResponse::default()
        };
        a.apply_response(&drop, &Reporter::default(), &mut report)
            .unwrap();
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
        store
            .apply_response(&drop, &Reporter::default(), &mut report)
            .unwrap();
        assert_eq!(report.documents_dropped, 0);
        assert_eq!(store.visit_log_months().unwrap().len(), 1);
        store
            .set_acked_heads(log, &store.document_heads(log).unwrap())
            .unwrap();
        store
            .apply_response(&drop, &Reporter::default(), &mut report)
            .unwrap();
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

        let out = store.build_request(None, &HashSet::new(), usize::MAX).unwrap();
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
        store
            .apply_response(&back, &Reporter::default(), &mut report)
            .unwrap();
        assert!(store.documents().unwrap().is_empty(), "not taken back");
        let drop = SyncResponse {
            drop: vec![log],
            ..SyncResponse::default()
        };
        store
            .apply_response(&drop, &Reporter::default(), &mut report)
            .unwrap();
        assert!(store.retired_documents().unwrap().is_empty());
    }
}
