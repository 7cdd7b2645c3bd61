//! `OutreachStore`, the object the apps hold, and its callbacks, cancellation and subscription
//! handles. Thin wrappers over [`outreach_core::Store`]: convert, call, convert back.
//!
//! Threads: every method may be called from any thread. Local calls are synchronous and fast
//! (well under a millisecond to a few milliseconds) but do touch the disk, so apps call them off
//! the UI thread (Kotlin: `Dispatchers.IO`); network calls (`enroll`, `sync`,
//! `fetch_brochure_files`) are `suspend` in Kotlin and `async` in Swift, and run on the
//! bindings' own small Tokio runtime, never on the caller's thread.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use outreach_core as oc;
use outreach_core::model as m;

use crate::error::{guard, panic_reason, OutreachError};
use crate::log::TARGET;
use crate::types::{
    arg, Brochure, BrochureView, DeviceName, EditRight, Enrollment, EntryPair, EntryRef, FetchReport,
    FieldChange, FieldConflict, FromFfi, IntoFfi, IsoDate, LocalBrochureFile, MonthlyCount, Partner,
    PartnerEdit, PartnerQuery, PartnerStatus, PartnerSummary, Region, Res, StaleEntry, StoreChanges,
    StoreConfig, SyncProgress, SyncReport, Visit, VisitDetails, VisitQuery,
};

/// The runtime the network calls run on: two workers are plenty for one sync at a time.
fn runtime() -> Res<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("outreach-net")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| OutreachError::Internal {
            reason: format!("could not start the network runtime: {e}"),
        })
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
        if changes.partners.is_empty() && changes.brochures.is_empty() && changes.visits.is_empty() {
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
/// ends with `Cancelled` at its next step or while waiting for the network. Cancelling the
/// Kotlin coroutine or Swift task awaiting the call does the same. Once cancelled, stays so.
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
/// Open one per database file and share it; every method is safe from any thread. Local
/// methods are quick but touch the disk: call them off the UI thread.
#[derive(uniffi::Object)]
pub struct OutreachStore {
    store: Arc<oc::Store>,
    config: StoreConfig,
    sync_options: oc::SyncOptions,
}

impl OutreachStore {
    /// Calls the store, guarded, with an argument checked as `field` (an id, a record; `""` for
    /// a record whose fields are named alone), and returns its result as the app gets it.
    fn call<F, A: FromFfi<F>, T: IntoFfi<U>, U, E>(
        &self,
        field: &str,
        value: F,
        call: impl FnOnce(&oc::Store, A) -> Result<T, E>,
    ) -> Res<U>
    where
        OutreachError: From<E>,
    {
        guard(|| Ok(call(&self.store, arg(field, value)?)?.into_ffi()))
    }

    /// The languages the app gave, or (none given) the configured ones.
    fn languages_or(&self, languages: Vec<String>) -> Res<Vec<m::Lang>> {
        if languages.is_empty() {
            Ok(self.sync_options.languages.clone())
        } else {
            arg("languages", languages)
        }
    }

    fn network<T, F, W>(&self, cancel: Option<Arc<SyncCancellation>>, work: F) -> impl Future<Output = Res<T>>
    where
        T: Send + 'static,
        F: FnOnce(Arc<oc::Store>, oc::SyncOptions, oc::CancelToken) -> W,
        W: Future<Output = oc::Result<T>> + Send + 'static,
    {
        let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
        let mut abandoned = CancelOnDrop(Some(token.clone()));
        let fut = work(self.store.clone(), self.sync_options.clone(), token);
        async move {
            let result = on_runtime(fut).await;
            abandoned.0.take();
            result
        }
    }
}

#[uniffi::export]
impl OutreachStore {
    /// Opens (or creates) the store at `path` with its 32-byte `key` (keep it in the Android
    /// Keystore or the iOS Keychain). A wrong key is `WrongKey`, a key of another length
    /// `InvalidInput { field = "key" }`; a failed open never changes the file.
    #[uniffi::constructor]
    pub fn new(path: String, key: Vec<u8>, config: StoreConfig) -> Res<Arc<Self>> {
        guard(|| {
            let sync_options = config.sync_options()?;
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
    }

    /// This device's id (UUID text), as the hub knows it.
    pub fn device_id(&self) -> String {
        self.store.device_id().to_string()
    }

    /// The options the store was opened with.
    pub fn config(&self) -> StoreConfig {
        self.config.clone()
    }

    // ---- directory ----

    /// Searches the directory: by distance when `near` is set, then relevance, then freshness.
    pub fn search_partners(&self, query: PartnerQuery) -> Res<Vec<PartnerSummary>> {
        self.call("", query, |store, query| store.search_partners(&query))
    }

    /// A partner's full entry.
    pub fn partner(&self, partner_id: String) -> Res<Partner> {
        self.call("partner_id", partner_id, |store, id| store.partner(id))
    }

    /// How many partners the directory holds on this device.
    pub fn partner_count(&self) -> Res<u64> {
        guard(|| Ok(self.store.partner_count()?))
    }

    /// Partners with fields holding concurrent values, for a coordinator to resolve.
    pub fn partners_with_conflicts(&self) -> Res<Vec<PartnerSummary>> {
        guard(|| Ok(self.store.partners_with_conflicts()?.into_ffi()))
    }

    /// The fields of a partner holding concurrent values, each with its author and time.
    /// Writing the field again (any edit of it) resolves the conflict.
    pub fn partner_conflicts(&self, partner_id: String) -> Res<Vec<FieldConflict>> {
        self.call("partner_id", partner_id, |store, id| store.partner_conflicts(id))
    }

    /// Who set a field of a partner (`name`, `notes`, `themes`, `services.<id>.fees`...: the
    /// names the apps use), to what and when, oldest first. A name that is no field is
    /// `InvalidInput { field = "field" }`, whose reason lists the valid names.
    pub fn partner_history(&self, partner_id: String, field: String) -> Res<Vec<FieldChange>> {
        self.call("partner_id", partner_id, |store, id| {
            store.partner_history(id, &field)
        })
    }

    /// Every write to a partner, its services and locations, newest first, each naming its
    /// field; `settlesConflict` marks the writes that settled a conflict.
    pub fn partner_changes(&self, partner_id: String) -> Res<Vec<FieldChange>> {
        self.call("partner_id", partner_id, |store, id| store.partner_changes(id))
    }

    /// The names of the devices this device may see (every coordinator and admin, itself, and
    /// for a coordinator its organisation's devices), as the hub last sent them with a sync:
    /// what `FieldChange.by` and `ConflictValue.by` come from.
    pub fn device_names(&self) -> Res<Vec<DeviceName>> {
        guard(|| Ok(self.store.device_names()?))
    }

    /// What this device may do with a region's section of the directory, as the hub last said:
    /// `Edit`, or `Suggest` (named stewards keep it; none named: a field worker's device). An
    /// edit of a section this device may not edit is `Unauthorized`.
    pub fn edit_right(&self, region: Region) -> Res<EditRight> {
        guard(|| Ok(self.store.edit_right(region)?))
    }

    /// Suggests a correction of a partner's entry, offline: `field` as the apps name it
    /// (`notes`, `locations.<id>.hours`; none to flag the whole entry) and the value proposed,
    /// with a comment for the coordinators (never personal data: `PersonalData` otherwise).
    /// Syncs to the coordinators of every organisation. Returns its id.
    pub fn suggest(
        &self,
        partner_id: String,
        field: Option<String>,
        value: Option<String>,
        comment: String,
    ) -> Res<String> {
        self.call("partner_id", partner_id, |store, partner| {
            store.suggest(&oc::store::Proposal {
                partner,
                field,
                value,
                comment,
            })
        })
    }

    /// Every suggestion this device holds, newest first: its own with their answers, and for a
    /// coordinator those of every device.
    pub fn suggestions(&self) -> Res<Vec<m::Suggestion>> {
        guard(|| Ok(self.store.suggestions()?))
    }

    /// Accepts a suggestion (coordinators): its edit is made by this device, and its author
    /// sees it accepted after the next syncs.
    pub fn accept_suggestion(&self, suggestion_id: String, reason: Option<String>) -> Res<()> {
        self.call("suggestion_id", suggestion_id, |store, id| {
            store.accept_suggestion(id, reason.as_deref())
        })
    }

    /// Dismisses a suggestion (coordinators), saying why.
    pub fn dismiss_suggestion(&self, suggestion_id: String, reason: String) -> Res<()> {
        self.call("suggestion_id", suggestion_id, |store, id| {
            store.dismiss_suggestion(id, &reason)
        })
    }

    /// Adds a partner (coordinators). Returns its id.
    pub fn add_partner(&self, partner: Partner) -> Res<String> {
        self.call("", partner, |store, partner| store.add_partner(&partner))
    }

    /// Applies edits to a partner as one change (coordinators); the entry must stay valid.
    pub fn edit_partner(&self, partner_id: String, edits: Vec<PartnerEdit>) -> Res<()> {
        guard(|| {
            let edits = edits.into_iter().map(|e| arg("", e)).collect::<Res<Vec<_>>>()?;
            self.call("partner_id", partner_id, |store, id| {
                store.edit_partner(id, &edits)
            })
        })
    }

    /// Sets a partner's status (partners are closed, never deleted).
    pub fn set_partner_status(&self, partner_id: String, status: PartnerStatus) -> Res<()> {
        self.call("partner_id", partner_id, |store, id| {
            store.set_partner_status(id, status)
        })
    }

    /// Records that a partner's entry was checked with the organisation on `on` by `by`.
    pub fn mark_verified(&self, partner_id: String, on: IsoDate, by: String) -> Res<()> {
        self.call("partner_id", partner_id, |store, id| {
            store.mark_verified(id, on, &by)
        })
    }

    /// Records that each of these partners' entries was checked on `on` by `by`; an unknown id
    /// is `NotFound` before anything is recorded.
    pub fn mark_all_verified(&self, partner_ids: Vec<String>, on: IsoDate, by: String) -> Res<()> {
        self.call("partner_ids", partner_ids, |store, ids: Vec<m::PartnerId>| {
            store.mark_all_verified(&ids, on, &by)
        })
    }

    /// The entries that need checking: last verified before `verified_before`, or never;
    /// oldest first (never verified first). Defunct partners are left out.
    pub fn stale_partners(&self, verified_before: IsoDate) -> Res<Vec<PartnerSummary>> {
        guard(|| Ok(self.store.stale_partners(verified_before)?.into_ffi()))
    }

    /// Everything whose information needs checking: partners, their offices and services last
    /// verified before `verified_before`, or never; never verified first, then the oldest.
    pub fn stale_entries(&self, verified_before: IsoDate) -> Res<Vec<StaleEntry>> {
        guard(|| Ok(self.store.stale_entries(verified_before)?))
    }

    /// Records that each of these entries (partners, offices, services) was checked on `on` by
    /// `by`; an entry this device does not know is `NotFound` before anything is recorded.
    pub fn mark_entries_verified(&self, entries: Vec<EntryRef>, on: IsoDate, by: String) -> Res<()> {
        guard(|| {
            let pairs = entries
                .into_iter()
                .map(|e| arg::<EntryPair, _>("entries", e).map(|e| (e.partner, e.entry)))
                .collect::<Res<Vec<_>>>()?;
            Ok(self.store.mark_entries_verified(&pairs, on, &by)?)
        })
    }

    // ---- brochures ----

    /// Brochures in force, each in the first of `languages` it has (then any), newest first.
    /// An empty list uses the store's configured languages.
    pub fn brochures(&self, languages: Vec<String>) -> Res<Vec<BrochureView>> {
        guard(|| Ok(self.store.brochures(&self.languages_or(languages)?)?.into_ffi()))
    }

    /// A brochure's full record.
    pub fn brochure(&self, brochure_id: String) -> Res<Brochure> {
        self.call("brochure_id", brochure_id, |store, id| store.brochure(id))
    }

    /// Adds a brochure, or updates the fields of an existing one (coordinators).
    pub fn put_brochure(&self, brochure: Brochure) -> Res<()> {
        self.call("", brochure, |store, brochure| store.put_brochure(&brochure))
    }

    /// Publishes the file of a brochure in one language (coordinators): kept here, named in the
    /// catalog, uploaded at the next sync.
    pub fn publish_brochure_file(
        &self,
        brochure_id: String,
        lang_code: String,
        bytes: Vec<u8>,
        media_type: String,
        file_name: String,
    ) -> Res<()> {
        guard(|| {
            let lang = arg("lang", lang_code)?;
            self.call("brochure_id", brochure_id, |store, id| {
                store.publish_brochure_file(id, lang, &bytes, &media_type, &file_name)
            })
        })
    }

    /// The brochure's file on this device, verified, in the first of `languages` available
    /// here (empty: the configured languages), else any; `null` when none is here yet.
    pub fn brochure_file(
        &self,
        brochure_id: String,
        languages: Vec<String>,
    ) -> Res<Option<LocalBrochureFile>> {
        guard(|| {
            let languages = self.languages_or(languages)?;
            self.call("brochure_id", brochure_id, |store, id| {
                store.brochure_file(id, &languages)
            })
        })
    }

    // ---- visits ----

    /// Logs a visit. Returns its id. The note is checked for personal data: if it holds some,
    /// nothing is stored and `PersonalData` says where.
    pub fn log_visit(&self, details: VisitDetails) -> Res<String> {
        self.call("", details, |store, details| store.log_visit(&details))
    }

    /// Corrects a visit this device logged (same month); checked like `log_visit`.
    pub fn amend_visit(&self, visit_id: String, details: VisitDetails) -> Res<()> {
        guard(|| {
            let details = arg("", details)?;
            self.call("visit_id", visit_id, |store, id| store.amend_visit(id, &details))
        })
    }

    /// A visit held on this device: its own, or on a coordinator's device one of the
    /// organisation's (synced for reports).
    pub fn visit(&self, visit_id: String) -> Res<Visit> {
        self.call("visit_id", visit_id, |store, id| store.visit(id))
    }

    /// This device's visits, newest first.
    pub fn visits(&self, query: VisitQuery) -> Res<Vec<Visit>> {
        self.call("", query, |store, query| store.visits(&query))
    }

    /// This device's visits and people reached per month, overall and per theme.
    pub fn visit_counts(&self) -> Res<Vec<MonthlyCount>> {
        guard(|| Ok(self.store.visit_counts()?))
    }

    // ---- observing ----

    /// Calls `observer` after every commit that changes partners, brochures or visits, until
    /// the returned handle is cancelled or closed.
    pub fn subscribe(&self, observer: Arc<dyn StoreObserver>) -> Arc<StoreSubscription> {
        let subscription = self.store.subscribe(Arc::new(ObserverBridge(observer)));
        Arc::new(StoreSubscription {
            inner: Mutex::new(Some(subscription)),
        })
    }

    // ---- hub ----

    /// This device's enrollment, or `null` if it is not enrolled.
    pub fn enrollment(&self) -> Res<Option<Enrollment>> {
        guard(|| Ok(self.store.enrollment()?))
    }

    /// Enrolls this device with a hub, from an enrollment link (`outreach://enroll?...`, as
    /// scanned from the QR code; `code` then `null`) or a hub address and a one-time `code`.
    pub async fn enroll(
        &self,
        link_or_hub_url: String,
        code: Option<String>,
        device_name: String,
        cancel: Option<Arc<SyncCancellation>>,
    ) -> Res<Enrollment> {
        self.network(cancel, move |store, options, token| async move {
            let code = code.as_deref();
            store
                .enroll_cancellable(&link_or_hub_url, code, &device_name, &options, &token)
                .await
        })
        .await
    }

    /// Syncs with the hub: sends this device's changes, receives everyone else's, removes
    /// expired visit-log months, fetches brochure files. `progress` is told each step;
    /// `cancel` (or cancelling the coroutine/task) stops it with `Cancelled`. A revoked device
    /// is wiped and gets `RevokedAndWiped`.
    pub async fn sync(
        &self,
        progress: Option<Arc<dyn SyncProgressListener>>,
        cancel: Option<Arc<SyncCancellation>>,
    ) -> Res<SyncReport> {
        self.network(cancel, move |store, options, token| async move {
            let progress = progress.map(|p| Arc::new(ProgressBridge(p)) as Arc<dyn oc::SyncProgress>);
            store.sync(&options, progress, &token).await
        })
        .await
    }

    /// Fetches the missing brochure files for the configured languages, within the storage
    /// budget (a sync does this too, unless `fetch_files` is off).
    pub async fn fetch_brochure_files(&self, cancel: Option<Arc<SyncCancellation>>) -> Res<FetchReport> {
        self.network(cancel, move |store, options, token| async move {
            store.fetch_brochure_files(&options, &token).await
        })
        .await
    }

    // ---- end of life ----

    /// Deletes the store: the database, its journal and the brochure files. The object is
    /// closed afterwards (every call fails with `Storage`); the app forgets the key.
    pub fn wipe(&self) -> Res<()> {
        guard(|| Ok(self.store.wipe()?))
    }
}
