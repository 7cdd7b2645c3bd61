//! The sync engine: one sync of a device with its hub, from end to end. [`Store::sync`] runs
//! it; this module is the whole of what a sync does, in order.
//!
//! 1. **Files published here** go up first (`blobs.rs`), so that the catalog entries that name
//!    them never reach the hub before the files do.
//! 2. **Rounds of document exchange** (`Engine::exchange`), each one request and one answer:
//!    - the store builds the request in one pass (`Store::outgoing`): every document with
//!      its heads and the changes the hub has not acknowledged, or, when this device's
//!      acknowledged heads are exactly the state the hub last named, that state's digest and
//!      only the documents changed since;
//!    - the store is made durable before anything leaves it (a change sent, then lost in a
//!      power cut, would be numbered again, differently);
//!    - `HubClient` carries the request and the answer, and nothing else: it retries, honours
//!      the cancel token, and turns a revoked device into [`Error::RevokedAndWiped`], on which
//!      [`Store::sync`] wipes the store;
//!    - the store applies the answer's documents and acknowledges the heads the hub named, in
//!      one transaction (`Store::apply_incoming`), then what the answer says besides:
//!      documents to drop, refusals, histories to rebuild (`Store::apply_verdicts`);
//!    - the state the answer names is kept if the acknowledged heads are that state.
//!
//!    Rounds go on while the hub has more, asks for documents whole, or some changes did not
//!    fit in one request, at most [`MAX_ROUNDS`]. A round cut anywhere is harmless: changes are
//!    acknowledged only once applied, and resending them is.
//! 3. **Retention**: this device's visit-log months past the retention period, that the hub
//!    holds in full, are removed.
//! 4. **Brochure files** for the configured languages are fetched within the storage budget; a
//!    connection lost then only leaves files pending.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use super::cancel::CancelToken;
use super::http::HubClient;
use super::options::{signed, Reporter, SyncOptions, SyncPhase, SyncProgress, SyncReport};
use super::protocol::{self, SyncResponse};
use crate::error::{Error, Result};
use crate::log_targets::SYNC;
use crate::model::DocId;
use crate::store::Store;

/// Most rounds in one sync; the next sync continues where it stopped.
pub const MAX_ROUNDS: u32 = 20;

/// Bytes of changes one request carries, beyond its first document: the other documents'
/// changes wait for the next round.
const REQUEST_CHANGES_BUDGET: usize = 4 * 1024 * 1024;

/// Largest answer accepted from the hub (it bounds and paginates its answers).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// One sync in progress: the store, the connection to the hub, and what is told and counted.
pub struct Engine<'a> {
    store: &'a Store,
    client: HubClient,
    options: &'a SyncOptions,
    reporter: Reporter,
    report: SyncReport,
}

/// What the answer of one round leaves to do.
struct Next {
    /// The hub asks for these documents whole.
    resend: HashSet<DocId>,
    /// The hub did not know this device's state: the next request lists every document.
    list_all: bool,
    /// Whether another round is needed.
    more: bool,
}

impl<'a> Engine<'a> {
    /// Runs one sync of `store` (enrolled) with its hub.
    pub(crate) async fn run(
        store: &'a Store,
        options: &'a SyncOptions,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: &CancelToken,
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let _running = cancel
            .race(async { Ok(store.network_lock().lock().await) })
            .await?;
        let (hub, token) = store.credentials()?;
        let reporter = Reporter::new(progress);
        reporter.phase(SyncPhase::Connecting);
        let client = HubClient::new(hub, Some(token), options, cancel)?;
        let mut engine = Engine {
            store,
            client,
            options,
            reporter,
            report: SyncReport::default(),
        };

        engine
            .store
            .upload_files(&engine.client, &engine.reporter, &mut engine.report)
            .await?;
        engine.report.complete = engine.exchange().await?;
        cancel.check()?;
        engine.reporter.set_round(0);
        engine.report.months_removed = store.remove_expired_visit_logs(options.retention_days)?;
        if options.fetch_files {
            engine.fetch_files().await?;
        }
        engine.report.duration = started.elapsed();
        engine.reporter.phase(SyncPhase::Done);
        Ok(engine.report)
    }

    /// Runs rounds until the hub has nothing more and asks for nothing; returns whether it got
    /// there within [`MAX_ROUNDS`].
    async fn exchange(&mut self) -> Result<bool> {
        let mut resend: HashSet<DocId> = HashSet::new();
        let mut list_all = false;
        for round in 1..=MAX_ROUNDS {
            self.client.cancel().check()?;
            self.reporter.set_round(round);
            let next = self.round(round, list_all, &resend).await?;
            if !next.more {
                return Ok(true);
            }
            resend = next.resend;
            list_all = next.list_all;
        }
        Ok(false)
    }

    /// One round: the request built, sent, and its answer applied.
    async fn round(&mut self, round: u32, list_all: bool, resend: &HashSet<DocId>) -> Result<Next> {
        let store = self.store;
        let known = if list_all { None } else { store.known_hub_state()? };
        let outgoing = store.outgoing(known, resend, REQUEST_CHANGES_BUDGET)?;
        // Nothing leaves the device before its disk holds it.
        store.make_durable()?;
        let body = protocol::encode(&outgoing.request);
        let sent = body.len() as u64;
        let docs = outgoing.request.docs.len() as u64;
        self.reporter.tell(SyncPhase::Uploading, 0, docs, 0, sent);
        let answer = {
            let reporter = &self.reporter;
            let mut on_bytes = |got: u64, total: u64| reporter.tell(SyncPhase::Downloading, 0, 0, got, total);
            let waiting = |waited: std::time::Duration| {
                reporter.tell(SyncPhase::Waiting, 0, 0, waited.as_millis() as u64, 0)
            };
            self.client
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
        let report = &mut self.report;
        report.round_trips += 1;
        report.bytes_up += signed::<_, i64>(sent);
        report.bytes_down += signed::<_, i64>(answer.len());
        report.documents_pushed += signed::<_, i32>(outgoing.documents_with_changes);
        report.changes_pushed += signed::<_, i64>(outgoing.changes);
        report.documents_resent += signed::<_, i32>(outgoing.resent);
        let response: SyncResponse = protocol::decode(&answer).map_err(|e| Error::Protocol(e.to_string()))?;
        self.client.cancel().check()?;
        let recovered = self.apply(&response)?;
        if response.list_all {
            tracing::info!(target: SYNC, "the hub did not know this device's state: listing every document");
        }
        if response.wipe {
            // Retired: the store goes once the hub holds all of this device's work, and never
            // while the hub refuses some of it.
            if !self.report.refused_by_hub.is_empty() {
                return Ok(Next {
                    resend: HashSet::new(),
                    list_all: false,
                    more: false,
                });
            }
            if !store.holds_unacknowledged_work()? {
                return Err(match store.wipe() {
                    Ok(()) | Err(Error::Closed) => Error::RetiredAndWiped,
                    Err(e) => e,
                });
            }
        }
        // Only documents held here, that this device may write, can be sent whole.
        let mut whole = HashSet::new();
        for &id in &response.resend {
            if store.may_push(id)? {
                whole.insert(id);
            }
        }
        let more =
            response.more || response.list_all || !whole.is_empty() || outgoing.deferred || recovered > 0;
        Ok(Next {
            resend: whole,
            list_all: response.list_all,
            more,
        })
    }

    /// Applies an answer: its documents and their acknowledgements, then the rest, then the
    /// state it names (kept only if the acknowledged heads are exactly that state). Returns how
    /// many documents were rebuilt on the hub's copy, whose changes go in the next round.
    fn apply(&mut self, response: &SyncResponse) -> Result<u32> {
        let total = response.docs.len() as u64;
        self.reporter.tell(SyncPhase::Applying, 0, total, 0, 0);
        self.store.apply_incoming(response, &mut self.report)?;
        self.reporter.tell(SyncPhase::Applying, total, total, 0, 0);
        let recovered = self.store.apply_verdicts(response, &mut self.report)?;
        if let Some(roster) = &response.roster {
            self.store.put_roster(roster)?;
        }
        if let Some(report) = &response.report {
            self.store.put_report(report)?;
        }
        self.store.record_hub_state(response.state)?;
        Ok(recovered)
    }

    /// Fetches the brochure files; the documents are synced by now, so a connection lost only
    /// leaves files pending for the next fetch.
    async fn fetch_files(&mut self) -> Result<()> {
        let fetched = self
            .store
            .fetch_files_with(&self.client, self.options, &self.reporter, &mut self.report.files)
            .await;
        match fetched {
            Ok(()) | Err(Error::Network(_)) => {}
            Err(e) => return Err(e),
        }
        self.report.bytes_down += self.report.files.bytes;
        Ok(())
    }
}
