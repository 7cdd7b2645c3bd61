//! `OutreachStore`, the object the apps hold, and its callbacks, cancellation and subscription
//! handles. Thin wrappers over [`outreach_core::Store`]: convert, call, convert back.
//!
//! Threads: main-safe by construction. Every call that touches the disk or the network is `async`
//! at the FFI (Kotlin `suspend`, Swift `async`) and runs on the library's own threads, never on
//! the caller's: disk work on a small blocking pool, network work on a two-worker Tokio runtime.
//! A coroutine on the main dispatcher (or a SwiftUI `.task`) can await any of them. Only the
//! memory-only getters (`device_id`, `config`) and `subscribe` stay synchronous.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use outreach_core as oc;
use outreach_core::model as m;

use crate::error::{guard, panic_reason, OutreachError};
use crate::log::TARGET;
use crate::types::{
    arg, Brochure, BrochureView, DeviceName, EditRight, Enrollment, EntryPair, EntryRef, FetchReport,
    FieldChange, FieldConflict, FromFfi, IntoFfi, IsoDate, LocalBrochureFile, MonthlyCount, OrgReport,
    Partner, PartnerEdit, PartnerQuery, PartnerStatus, PartnerSummary, Region, Res, StaleEntry, StoreChanges,
    StoreConfig, SyncProgress, SyncReport, Visit, VisitDetails, VisitQuery,
};

/// The runtime the library's work runs on: two workers are plenty for one sync at a time, and
/// its blocking pool runs the disk calls. The store serialises its writes itself, so a few
/// threads suffice; more calls than threads wait their turn in the pool's queue.
fn runtime() -> Res<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(4)
                .thread_name("outreach")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| OutreachError::Internal {
            reason: format!("could not start the library's runtime: {e}"),
        })
}

/// Runs a disk call on the runtime's blocking pool and waits for it from whatever executor
/// polls the returned future, without blocking that executor's thread. A panic becomes
/// `Internal`. Dropping the future (a cancelled coroutine) lets the call finish on its own: a
/// local call is short, and each one is a transaction either way.
async fn off_thread<T: Send + 'static>(
    call: &'static str,
    work: impl FnOnce() -> Res<T> + Send + 'static,
) -> Res<T> {
    let handle = runtime()?.spawn_blocking(move || {
        let started = Instant::now();
        let result = guard(work);
        traced(call, started, result.is_ok());
        result
    });
    match handle.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(OutreachError::Internal {
            reason: panic_reason(&*e.into_panic()),
        }),
        Err(_) => Err(OutreachError::Cancelled {
            reason: "cancelled: the library's runtime stopped".into(),
        }),
    }
}

/// Runs `work` on the runtime and waits for it from whatever executor polls the returned
/// future (Kotlin coroutines, Swift tasks). A panic in `work` becomes `Internal`.
async fn on_runtime<T: Send + 'static>(work: impl Future<Output = oc::Result<T>> + Send + 'static) -> Res<T> {
    let handle = runtime()?.spawn(work);
    match handle.await {
        Ok(result) => Ok(result?),
        Err(e) if e.is_panic() => Err(OutreachError::Internal {
            reason: panic_reason(&*e.into_panic()),
        }),
        Err(_) => Err(OutreachError::Cancelled {
            reason: "cancelled: the network runtime stopped".into(),
        }),
    }
}

/// Tells the log sink, at `Trace`, that a call's work is done, on the thread that did it and
/// before the caller is woken: the call's name, how long it took and whether it succeeded.
fn traced(call: &'static str, started: Instant, ok: bool) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::trace!(target: TARGET, call, micros, ok, "call done");
}

/// Cancels the token when dropped before the work finished: when the app cancels the coroutine
/// or task awaiting a network call, UniFFI drops its future, and the work stops at its next
/// step. Once the work finished it holds none, so that the app's handle stays uncancelled.
struct CancelOnDrop(Option<oc::CancelToken>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            token.cancel();
        }
    }
}

/// Why an app callback failed. Thrown by a callback, it is logged and ignored: the store and
/// the sync go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    /// The callback failed.
    #[error("{reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: e.reason }
    }
}

/// Told after every commit, local or from a sync, what changed. Called on the thread that made
/// the change, after the store's locks are released: keep it quick, and hop to the UI thread
/// yourself. A callback that throws does not affect the store.
#[uniffi::export(with_foreign)]
pub trait StoreObserver: Send + Sync {
    /// Called once per commit.
    fn on_change(&self, changes: StoreChanges) -> Result<(), CallbackError>;
}

/// Told how a sync progresses, from the thread running it. Keep it quick. A callback that
/// throws does not affect the sync.
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    /// Called at each step.
    fn on_progress(&self, progress: SyncProgress) -> Result<(), CallbackError>;
}

struct ObserverBridge(Arc<dyn StoreObserver>);

impl oc::StoreObserver for ObserverBridge {
    fn on_change(&self, changes: &oc::StoreChanges) {
        // Document-only commits (sync bookkeeping) say nothing an app shows.
        if changes.only_documents() {
            return;
        }
        // An error thrown by the app is its own business; a panic is contained by the core.
        if let Err(CallbackError::Failed { reason }) = self.0.on_change(changes.clone().into_ffi()) {
            tracing::warn!(target: TARGET, reason, "a store observer failed; ignored");
        }
    }
}

struct ProgressBridge(Arc<dyn SyncProgressListener>);

impl oc::SyncProgress for ProgressBridge {
    fn on_progress(&self, update: &oc::SyncProgressUpdate) {
        if let Err(CallbackError::Failed { reason }) = self.0.on_progress(*update) {
            tracing::warn!(target: TARGET, reason, "a sync progress listener failed; ignored");
        }
    }
}

/// An observer registration. Stops the calls when `cancel` is called or the handle is closed
/// (Kotlin `close()`/`use {}`, Swift deinit), and when the store is closed or wiped.
#[derive(uniffi::Object)]
pub struct StoreSubscription {
    inner: Mutex<Option<oc::Subscription>>,
}

#[uniffi::export]
impl StoreSubscription {
    /// Stops the calls now. Calling it again does nothing.
    pub fn cancel(&self) {
        let taken = self.inner.lock().map(|mut s| s.take());
        drop(taken);
    }

    /// Whether the observer is still called.
    pub fn is_active(&self) -> bool {
        self.inner.lock().map(|s| s.is_some()).unwrap_or(false)
    }
}

/// Cancels a network call (`enroll`, `sync`, `fetch_brochure_files`) from any thread: the call
/// ends with `Cancelled` at its next step or while waiting for the network. Once cancelled,
/// stays so.
///
/// Kotlin: cancelling the coroutine that awaits the call does the same (UniFFI's Kotlin drops
/// the call's future, which cancels it). Swift: cancelling the `Task` does *not*: UniFFI's
/// generated `async` keeps polling the call until it completes, so a Swift caller passes a
/// `SyncCancellation` and calls `cancel()` from `withTaskCancellationHandler`'s `onCancel` (see
/// ios/README.md).
#[derive(uniffi::Object, Default)]
pub struct SyncCancellation {
    token: oc::CancelToken,
}

#[uniffi::export]
impl SyncCancellation {
    /// A handle that is not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Cancels the calls given this handle.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// The device's encrypted store: the partner directory, the brochures and this device's
/// anonymised visit logs, synced with the organisation's hub.
///
/// Open one per database file (`OutreachStore.open`) and share it; every method is safe from
/// any thread, and every one that touches the disk or the network is `suspend`/`async`.
#[derive(uniffi::Object)]
pub struct OutreachStore {
    store: Arc<oc::Store>,
    config: StoreConfig,
    sync_options: oc::SyncOptions,
}

impl OutreachStore {
    /// Runs a store call off the caller's thread.
    async fn run<T: Send + 'static>(
        &self,
        name: &'static str,
        call: impl FnOnce(&oc::Store) -> Res<T> + Send + 'static,
    ) -> Res<T> {
        let store = self.store.clone();
        off_thread(name, move || call(&store)).await
    }

    /// Calls the store off the caller's thread with an argument checked as `field` (an id, a
    /// record; `""` for a record whose fields are named alone), and returns its result as the
    /// app gets it. The argument is checked first, on the caller's thread: it is memory only.
    async fn call<F, A, T, U, E>(
        &self,
        name: &'static str,
        field: &str,
        value: F,
        call: impl FnOnce(&oc::Store, A) -> Result<T, E> + Send + 'static,
    ) -> Res<U>
    where
        A: FromFfi<F> + Send + 'static,
        T: IntoFfi<U>,
        U: Send + 'static,
        OutreachError: From<E>,
    {
        let value = guard(|| arg(field, value))?;
        self.run(name, move |store| Ok(call(store, value)?.into_ffi()))
            .await
    }

    /// The languages the app gave, or (none given) the configured ones.
    fn languages_or(&self, languages: Vec<String>) -> Res<Vec<m::Lang>> {
        if languages.is_empty() {
            Ok(self.sync_options.languages.clone())
        } else {
            arg("languages", languages)
        }
    }

    fn network<T, F, W>(
        &self,
        name: &'static str,
        cancel: Option<Arc<SyncCancellation>>,
        work: F,
    ) -> impl Future<Output = Res<T>>
    where
        T: Send + 'static,
        F: FnOnce(Arc<oc::Store>, oc::SyncOptions, oc::CancelToken) -> W,
        W: Future<Output = oc::Result<T>> + Send + 'static,
    {
        let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
        let mut abandoned = CancelOnDrop(Some(token.clone()));
        let fut = work(self.store.clone(), self.sync_options.clone(), token);
        let traced_fut = async move {
            let started = Instant::now();
            let result = fut.await;
            traced(name, started, result.is_ok());
            result
        };
        async move {
            let result = on_runtime(traced_fut).await;
            abandoned.0.take();
            result
        }
    }
}

#[uniffi::export]
impl OutreachStore {
    /// Opens (or creates) the store at `path` with its 32-byte `key` (keep it in the Android
    /// Keystore or the iOS Keychain), off the caller's thread (opening may migrate the file
    /// and rebuild its read model). A wrong key is `WrongKey`, a key of another length
    /// `InvalidInput { field = "key" }`; a failed open never changes the file.
    #[uniffi::constructor]
    pub async fn open(path: String, key: Vec<u8>, config: StoreConfig) -> Res<Arc<Self>> {
        let sync_options = guard(|| config.sync_options())?;
        off_thread("open", move || {
            let options = oc::StoreOptions {
                plaintext_header: config.plaintext_header,
                brochure_dir: config.brochure_dir.as_ref().map(Into::into),
            };
            let store = oc::Store::open(&path, &key, options)?;
            Ok(Arc::new(OutreachStore {
                store: Arc::new(store),
                config,
                sync_options,
            }))
        })
        .await
    }

    /// This device's id (UUID text), as the hub knows it. Memory only.
    pub fn device_id(&self) -> String {
        self.store.device_id().to_string()
    }

    /// The options the store was opened with. Memory only.
    pub fn config(&self) -> StoreConfig {
        self.config.clone()
    }

    // ---- directory ----

    /// Searches the directory: by distance when `near` is set, then relevance, then freshness.
    pub async fn search_partners(&self, query: PartnerQuery) -> Res<Vec<PartnerSummary>> {
        self.call("search_partners", "", query, |store, query| {
            store.search_partners(&query)
        })
        .await
    }

    /// A partner's full entry.
    pub async fn partner(&self, partner_id: String) -> Res<Partner> {
        self.call("partner", "partner_id", partner_id, |store, id| store.partner(id))
            .await
    }

    /// How many partners the directory holds on this device.
    pub async fn partner_count(&self) -> Res<i64> {
        self.run("partner_count", |store| {
            Ok(i64::try_from(store.partner_count()?).unwrap_or(i64::MAX))
        })
        .await
    }

    /// Partners with fields holding concurrent values, for a coordinator to resolve.
    pub async fn partners_with_conflicts(&self) -> Res<Vec<PartnerSummary>> {
        self.run("partners_with_conflicts", |store| {
            Ok(store.partners_with_conflicts()?.into_ffi())
        })
        .await
    }

    /// The fields of a partner holding concurrent values, each with its author and time.
    /// Writing the field again (any edit of it) resolves the conflict.
    pub async fn partner_conflicts(&self, partner_id: String) -> Res<Vec<FieldConflict>> {
        self.call("partner_conflicts", "partner_id", partner_id, |store, id| {
            store.partner_conflicts(id)
        })
        .await
    }

    /// Who set a field of a partner (`name`, `notes`, `themes`, `services.<id>.fees`...: the
    /// names the apps use), to what and when, oldest first. A name that is no field is
    /// `InvalidInput { field = "field" }`, whose reason lists the valid names.
    pub async fn partner_history(&self, partner_id: String, field: String) -> Res<Vec<FieldChange>> {
        self.call("partner_history", "partner_id", partner_id, move |store, id| {
            store.partner_history(id, &field)
        })
        .await
    }

    /// Every write to a partner, its services and locations, newest first, each naming its
    /// field; `settlesConflict` marks the writes that settled a conflict.
    pub async fn partner_changes(&self, partner_id: String) -> Res<Vec<FieldChange>> {
        self.call("partner_changes", "partner_id", partner_id, |store, id| {
            store.partner_changes(id)
        })
        .await
    }

    /// The names of the devices this device may see (every coordinator and admin, itself, and
    /// for a coordinator its organisation's devices), as the hub last sent them with a sync:
    /// what `FieldChange.by` and `ConflictValue.by` come from.
    pub async fn device_names(&self) -> Res<Vec<DeviceName>> {
        self.run("device_names", |store| Ok(store.device_names()?)).await
    }

    /// What this device may do with a region's section of the directory, as the hub last said:
    /// `Edit`, or `Suggest` (named stewards keep it; none named: a field worker's device). An
    /// edit of a section this device may not edit is `Unauthorized`.
    pub async fn edit_right(&self, region: Region) -> Res<EditRight> {
        self.run("edit_right", move |store| Ok(store.edit_right(region)?))
            .await
    }

    /// Suggests a correction of a partner's entry, offline, with a comment for the
    /// coordinators (never personal data: `PersonalData` otherwise): `field` as the apps name
    /// it (`notes`, `locations.<id>.hours`; none to flag the whole entry) and the `value`
    /// proposed. Syncs to the coordinators of every organisation. Returns its id.
    #[uniffi::method(default(field = None, value = None))]
    pub async fn suggest(
        &self,
        partner_id: String,
        comment: String,
        field: Option<String>,
        value: Option<String>,
    ) -> Res<String> {
        self.call("suggest", "partner_id", partner_id, move |store, partner| {
            store.suggest(&oc::store::Proposal {
                partner,
                field,
                value,
                comment,
            })
        })
        .await
    }

    /// Every suggestion this device holds, newest first: its own with their answers, and for a
    /// coordinator those of every device.
    pub async fn suggestions(&self) -> Res<Vec<m::Suggestion>> {
        self.run("suggestions", |store| Ok(store.suggestions()?)).await
    }

    /// Accepts a suggestion (coordinators): its edit is made by this device, and its author
    /// sees it accepted after the next syncs.
    #[uniffi::method(default(reason = None))]
    pub async fn accept_suggestion(&self, suggestion_id: String, reason: Option<String>) -> Res<()> {
        self.call(
            "accept_suggestion",
            "suggestion_id",
            suggestion_id,
            move |store, id| store.accept_suggestion(id, reason.as_deref()),
        )
        .await
    }

    /// Dismisses a suggestion (coordinators), saying why.
    pub async fn dismiss_suggestion(&self, suggestion_id: String, reason: String) -> Res<()> {
        self.call(
            "dismiss_suggestion",
            "suggestion_id",
            suggestion_id,
            move |store, id| store.dismiss_suggestion(id, &reason),
        )
        .await
    }

    /// Adds a partner (coordinators). Returns its id.
    pub async fn add_partner(&self, partner: Partner) -> Res<String> {
        self.call("add_partner", "", partner, |store, partner| {
            store.add_partner(&partner)
        })
        .await
    }

    /// Applies edits to a partner as one change (coordinators); the entry must stay valid.
    pub async fn edit_partner(&self, partner_id: String, edits: Vec<PartnerEdit>) -> Res<()> {
        let edits = guard(|| edits.into_iter().map(|e| arg("", e)).collect::<Res<Vec<_>>>())?;
        self.call("edit_partner", "partner_id", partner_id, move |store, id| {
            store.edit_partner(id, &edits)
        })
        .await
    }

    /// Sets a partner's status (partners are closed, never deleted).
    pub async fn set_partner_status(&self, partner_id: String, status: PartnerStatus) -> Res<()> {
        self.call(
            "set_partner_status",
            "partner_id",
            partner_id,
            move |store, id| store.set_partner_status(id, status),
        )
        .await
    }

    /// Records that a partner's entry was checked with the organisation on `on` by `by`.
    pub async fn mark_verified(&self, partner_id: String, on: IsoDate, by: String) -> Res<()> {
        self.call("mark_verified", "partner_id", partner_id, move |store, id| {
            store.mark_verified(id, on, &by)
        })
        .await
    }

    /// Records that each of these partners' entries was checked on `on` by `by`; an unknown id
    /// is `NotFound` before anything is recorded.
    pub async fn mark_all_verified(&self, partner_ids: Vec<String>, on: IsoDate, by: String) -> Res<()> {
        self.call(
            "mark_all_verified",
            "partner_ids",
            partner_ids,
            move |store, ids: Vec<m::PartnerId>| store.mark_all_verified(&ids, on, &by),
        )
        .await
    }

    /// The entries that need checking: last verified before `verified_before`, or never;
    /// oldest first (never verified first). Defunct partners are left out.
    pub async fn stale_partners(&self, verified_before: IsoDate) -> Res<Vec<PartnerSummary>> {
        self.run("stale_partners", move |store| {
            Ok(store.stale_partners(verified_before)?.into_ffi())
        })
        .await
    }

    /// Everything whose information needs checking: partners, their offices and services last
    /// verified before `verified_before`, or never; never verified first, then the oldest.
    pub async fn stale_entries(&self, verified_before: IsoDate) -> Res<Vec<StaleEntry>> {
        self.run("stale_entries", move |store| {
            Ok(store.stale_entries(verified_before)?)
        })
        .await
    }

    /// Records that each of these entries (partners, offices, services) was checked on `on` by
    /// `by`; an entry this device does not know is `NotFound` before anything is recorded.
    pub async fn mark_entries_verified(&self, entries: Vec<EntryRef>, on: IsoDate, by: String) -> Res<()> {
        let pairs = guard(|| {
            entries
                .into_iter()
                .map(|e| arg::<EntryPair, _>("entries", e).map(|e| (e.partner, e.entry)))
                .collect::<Res<Vec<_>>>()
        })?;
        self.run("mark_entries_verified", move |store| {
            Ok(store.mark_entries_verified(&pairs, on, &by)?)
        })
        .await
    }

    // ---- brochures ----

    /// Brochures in force, each in the first of `languages` it has (then any), newest first.
    /// No languages given: the store's configured languages.
    #[uniffi::method(default(languages))]
    pub async fn brochures(&self, languages: Vec<String>) -> Res<Vec<BrochureView>> {
        let languages = self.languages_or(languages)?;
        self.run("brochures", move |store| {
            Ok(store.brochures(&languages)?.into_ffi())
        })
        .await
    }

    /// A brochure's full record.
    pub async fn brochure(&self, brochure_id: String) -> Res<Brochure> {
        self.call("brochure", "brochure_id", brochure_id, |store, id| {
            store.brochure(id)
        })
        .await
    }

    /// Adds a brochure, or updates the fields of an existing one (coordinators).
    pub async fn put_brochure(&self, brochure: Brochure) -> Res<()> {
        self.call("put_brochure", "", brochure, |store, brochure| {
            store.put_brochure(&brochure)
        })
        .await
    }

    /// Publishes the file of a brochure in one language (coordinators): kept here, named in the
    /// catalog, uploaded at the next sync.
    pub async fn publish_brochure_file(
        &self,
        brochure_id: String,
        lang_code: String,
        bytes: Vec<u8>,
        media_type: String,
        file_name: String,
    ) -> Res<()> {
        let lang = arg("lang", lang_code)?;
        self.call(
            "publish_brochure_file",
            "brochure_id",
            brochure_id,
            move |store, id| store.publish_brochure_file(id, lang, &bytes, &media_type, &file_name),
        )
        .await
    }

    /// The brochure's file on this device, verified, in the first of `languages` available
    /// here (none given: the configured languages), else any; `null` when none is here yet.
    #[uniffi::method(default(languages))]
    pub async fn brochure_file(
        &self,
        brochure_id: String,
        languages: Vec<String>,
    ) -> Res<Option<LocalBrochureFile>> {
        let languages = self.languages_or(languages)?;
        self.call("brochure_file", "brochure_id", brochure_id, move |store, id| {
            store.brochure_file(id, &languages)
        })
        .await
    }

    // ---- visits ----

    /// Logs a visit. Returns its id. The note is checked for personal data: if it holds some,
    /// nothing is stored and `PersonalData` says where.
    pub async fn log_visit(&self, details: VisitDetails) -> Res<String> {
        self.call("log_visit", "", details, |store, details| {
            store.log_visit(&details)
        })
        .await
    }

    /// Corrects a visit this device logged (same month); checked like `log_visit`.
    pub async fn amend_visit(&self, visit_id: String, details: VisitDetails) -> Res<()> {
        let details = arg("", details)?;
        self.call("amend_visit", "visit_id", visit_id, move |store, id| {
            store.amend_visit(id, &details)
        })
        .await
    }

    /// A visit this device logged (raw visit logs never leave the device that logged them but
    /// for the hub).
    pub async fn visit(&self, visit_id: String) -> Res<Visit> {
        self.call("visit", "visit_id", visit_id, |store, id| store.visit(id))
            .await
    }

    /// This device's visits, newest first.
    pub async fn visits(&self, query: VisitQuery) -> Res<Vec<Visit>> {
        self.call("visits", "", query, |store, query| store.visits(&query))
            .await
    }

    /// This device's visits and people reached per month, overall and per theme.
    pub async fn visit_counts(&self) -> Res<Vec<MonthlyCount>> {
        self.run("visit_counts", |store| Ok(store.visit_counts()?)).await
    }

    /// The figures the hub published about this device's organisation, as it last sent them
    /// with a sync: for each published table that breaks the network's figures down by
    /// organisation, this organisation's row (a suppressed count is `null`). Only coordinators'
    /// and admins' devices receive it (`null` until their first sync); no device receives its
    /// colleagues' raw visit logs. Observers hear of a new one (`StoreChanges.report`).
    pub async fn org_report(&self) -> Res<Option<OrgReport>> {
        self.run("org_report", |store| Ok(store.org_report()?)).await
    }

    // ---- observing ----

    /// Calls `observer` after every commit that changes partners, brochures or visits, until
    /// the returned handle is cancelled or closed. Memory only.
    pub fn subscribe(&self, observer: Arc<dyn StoreObserver>) -> Arc<StoreSubscription> {
        let subscription = self.store.subscribe(Arc::new(ObserverBridge(observer)));
        Arc::new(StoreSubscription {
            inner: Mutex::new(Some(subscription)),
        })
    }

    // ---- hub ----

    /// This device's enrollment, or `null` if it is not enrolled.
    pub async fn enrollment(&self) -> Res<Option<Enrollment>> {
        self.run("enrollment", |store| Ok(store.enrollment()?)).await
    }

    /// Enrolls this device with a hub, from an enrollment link (`outreach://enroll?...`, as
    /// scanned from the QR code; no `code` then) or a hub address and a one-time `code`.
    #[uniffi::method(default(code = None, cancel = None))]
    pub async fn enroll(
        &self,
        link_or_hub_url: String,
        device_name: String,
        code: Option<String>,
        cancel: Option<Arc<SyncCancellation>>,
    ) -> Res<Enrollment> {
        self.network("enroll", cancel, move |store, options, token| async move {
            let code = code.as_deref();
            store
                .enroll_cancellable(&link_or_hub_url, code, &device_name, &options, &token)
                .await
        })
        .await
    }

    /// Syncs with the hub: sends this device's changes, receives everyone else's, removes
    /// expired visit-log months, fetches brochure files. `progress` is told each step;
    /// `cancel` stops it with `Cancelled` (so does cancelling the Kotlin coroutine; a Swift
    /// caller cancels through `cancel`, see `SyncCancellation`). A revoked device is wiped and
    /// gets `RevokedAndWiped`.
    #[uniffi::method(default(progress = None, cancel = None))]
    pub async fn sync(
        &self,
        progress: Option<Arc<dyn SyncProgressListener>>,
        cancel: Option<Arc<SyncCancellation>>,
    ) -> Res<SyncReport> {
        self.network("sync", cancel, move |store, options, token| async move {
            let progress = progress.map(|p| Arc::new(ProgressBridge(p)) as Arc<dyn oc::SyncProgress>);
            store.sync(&options, progress, &token).await
        })
        .await
    }

    /// Fetches the missing brochure files for the configured languages, within the storage
    /// budget (a sync does this too, unless `fetch_files` is off).
    #[uniffi::method(default(cancel = None))]
    pub async fn fetch_brochure_files(&self, cancel: Option<Arc<SyncCancellation>>) -> Res<FetchReport> {
        self.network(
            "fetch_brochure_files",
            cancel,
            move |store, options, token| async move { store.fetch_brochure_files(&options, &token).await },
        )
        .await
    }

    // ---- end of life ----

    /// Deletes the store: the database, its journal and the brochure files. The object is
    /// closed afterwards (every call fails with `Storage`); the app forgets the key.
    pub async fn wipe(&self) -> Res<()> {
        self.run("wipe", |store| Ok(store.wipe()?)).await
    }
}
