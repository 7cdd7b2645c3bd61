//! Automerge documents: the directory sections, the brochure catalog and the visit logs, with
//! the modelling rules that let concurrent offline edits merge without loss (maps keyed by id,
//! sets as maps, status instead of deletion, the device as the actor of every change).

mod accept;
mod access;
mod actor;
mod audit;
mod catalog;
mod directory;
mod edit_text;
mod inspect;
mod layout;
#[cfg(test)]
mod proptests;
mod rebase;
mod suggestions;
mod tree;
mod visits;
pub mod wire;

use std::fmt;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT};
use chrono::{DateTime, Utc};

use crate::model::{DeviceId, DocId, Month, Region};

pub use accept::{ancestors, check_authors};
pub use actor::DeviceActor;
pub use audit::{Author, ConflictValue, FieldChange, FieldConflict};
pub use directory::{LocationEdit, PartnerEdit, ReadPartner, ServiceEdit};
pub use inspect::{partner_contacts, tagged, Contact, Findings, Rules};

pub(crate) use access::malformed;

/// Version of the document layout this code writes. A document with a higher version comes from
/// a newer app and is refused rather than misread ("upgrade needed"), that document alone.
///
/// The compatibility rule: within one version the layout is closed (see `layout.rs`: an unknown
/// key is refused, since nothing can check what it holds). A newer app that adds fields raises
/// the version of the documents it writes them to, by a put on the root `schema` key in a later
/// change (the genesis always says 1, so that copies created apart still merge). An older hub or
/// device leaves such a document alone, keeps what it had, and syncs every other document.
pub const SCHEMA_VERSION: u64 = 2;

/// The layout version every genesis change says, whatever the app that makes it: copies of a
/// document created apart must be the same change.
pub(crate) const GENESIS_SCHEMA: u64 = 1;

/// Actor of the deterministic first change of every document. Every device creates the same
/// genesis change for the same document, so independently created copies merge as one.
pub const GENESIS_ACTOR: [u8; 16] = [0; 16];

/// What a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    /// The partners of one region.
    DirectorySection,
    /// Every brochure.
    BrochureCatalog,
    /// One device's visits of one month.
    VisitLog,
    /// One device's suggestions from the field about directory entries, with the
    /// coordinators' answers.
    Suggestions,
}

impl DocKind {
    /// Stable code, as stored in the document and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::DirectorySection => "directory_section",
            DocKind::BrochureCatalog => "brochure_catalog",
            DocKind::VisitLog => "visit_log",
            DocKind::Suggestions => "suggestions",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "directory_section" => Some(DocKind::DirectorySection),
            "brochure_catalog" => Some(DocKind::BrochureCatalog),
            "visit_log" => Some(DocKind::VisitLog),
            "suggestions" => Some(DocKind::Suggestions),
            _ => None,
        }
    }

    /// Key of the root map holding the entities.
    pub(crate) fn collection(self) -> &'static str {
        match self {
            DocKind::DirectorySection => "partners",
            DocKind::BrochureCatalog => "brochures",
            DocKind::VisitLog => "visits",
            DocKind::Suggestions => "suggestions",
        }
    }
}

/// An entity of a document by its typed id: what a change touched, what the read model
/// indexes and what observers are told about. A document holds entities of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKey {
    /// A partner of a directory section.
    Partner(crate::model::PartnerId),
    /// A brochure of the catalog.
    Brochure(crate::model::BrochureId),
    /// A visit of a visit log.
    Visit(crate::model::VisitId),
    /// A suggestion of a device's suggestions.
    Suggestion(crate::model::SuggestionId),
}

impl EntityKey {
    /// The key `key` of the collection of a document of `kind`.
    pub fn parse(kind: DocKind, key: &str) -> Result<EntityKey, DocError> {
        let bad = |what| malformed(format!("{}.{key}", kind.collection()), what);
        match kind {
            DocKind::DirectorySection => key
                .parse()
                .map(EntityKey::Partner)
                .map_err(|_| bad("a partner id")),
            DocKind::BrochureCatalog => key
                .parse()
                .map(EntityKey::Brochure)
                .map_err(|_| bad("a brochure id")),
            DocKind::VisitLog => key.parse().map(EntityKey::Visit).map_err(|_| bad("a visit id")),
            DocKind::Suggestions => key
                .parse()
                .map(EntityKey::Suggestion)
                .map_err(|_| bad("a suggestion id")),
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a document is, read from its root. Its id follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocMeta {
    /// The directory section of a region.
    DirectorySection {
        /// The region.
        region: Region,
    },
    /// The brochure catalog.
    BrochureCatalog,
    /// A device's visit log for a month.
    VisitLog {
        /// The device that owns and alone writes it.
        owner: DeviceId,
        /// The month.
        month: Month,
    },
    /// A device's suggestions: written by it, answered by coordinators.
    Suggestions {
        /// The device that makes them.
        owner: DeviceId,
    },
}

impl DocMeta {
    /// The kind of document.
    pub fn kind(&self) -> DocKind {
        match self {
            DocMeta::DirectorySection { .. } => DocKind::DirectorySection,
            DocMeta::BrochureCatalog => DocKind::BrochureCatalog,
            DocMeta::VisitLog { .. } => DocKind::VisitLog,
            DocMeta::Suggestions { .. } => DocKind::Suggestions,
        }
    }

    /// The document's id, derived from what it is (see [`DocId::named`]).
    pub fn id(&self) -> DocId {
        DocId::named(&self.name())
    }

    /// The name the document's id is derived from: `directory_section/<region>`,
    /// `brochure_catalog`, `visit_log/<owner>/<YYYY-MM>` or `suggestions/<owner>`.
    pub fn name(&self) -> String {
        match self {
            DocMeta::DirectorySection { region } => format!("directory_section/{region}"),
            DocMeta::BrochureCatalog => "brochure_catalog".to_string(),
            DocMeta::VisitLog { owner, month } => format!("visit_log/{owner}/{month}"),
            DocMeta::Suggestions { owner } => format!("suggestions/{owner}"),
        }
    }

    /// Reads a name written by [`DocMeta::name`].
    pub fn from_name(name: &str) -> Option<DocMeta> {
        let mut parts = name.split('/');
        let meta = match (parts.next()?, parts.next(), parts.next()) {
            ("directory_section", Some(region), None) => DocMeta::DirectorySection {
                region: region.parse().ok()?,
            },
            ("brochure_catalog", None, None) => DocMeta::BrochureCatalog,
            ("visit_log", Some(owner), Some(month)) => DocMeta::VisitLog {
                owner: owner.parse().ok()?,
                month: Month::parse(month)?,
            },
            ("suggestions", Some(owner), None) => DocMeta::Suggestions {
                owner: owner.parse().ok()?,
            },
            _ => return None,
        };
        if parts.next().is_some() || meta.name() != name {
            return None;
        }
        Some(meta)
    }

    /// The deterministic genesis document: the same bytes on every device.
    fn genesis(&self) -> Result<AutoCommit, DocError> {
        let mut am = AutoCommit::new().with_actor(ActorId::from(&GENESIS_ACTOR[..]));
        am.put(ROOT, "kind", self.kind().as_str())?;
        am.put(ROOT, "schema", GENESIS_SCHEMA)?;
        match self {
            DocMeta::DirectorySection { region } => am.put(ROOT, "region", region.as_str())?,
            DocMeta::BrochureCatalog => {}
            DocMeta::VisitLog { owner, month } => {
                am.put(ROOT, "owner", owner.to_string())?;
                am.put(ROOT, "month", month.to_string())?;
            }
            DocMeta::Suggestions { owner } => am.put(ROOT, "owner", owner.to_string())?,
        }
        am.put_object(ROOT, self.kind().collection(), ObjType::Map)?;
        am.commit_with(CommitOptions::default().with_message("create").with_time(0));
        Ok(am)
    }

    /// Hash of the genesis change, which the hub accepts although no device authored it.
    pub fn genesis_hash(&self) -> Result<ChangeHash, DocError> {
        let mut am = self.genesis()?;
        am.get_heads()
            .first()
            .copied()
            .ok_or_else(|| malformed("", "a genesis change"))
    }

    fn read(am: &AutoCommit) -> Result<DocMeta, DocError> {
        let kind = access::get_str(am, &ROOT, "kind", "kind")?.ok_or_else(|| malformed("kind", "a kind"))?;
        let schema = access::get_uint(am, &ROOT, "schema", "schema")?
            .ok_or_else(|| malformed("schema", "a version"))?;
        if schema > SCHEMA_VERSION {
            return Err(DocError::TooNew { schema });
        }
        let field = |key: &str| -> Result<String, DocError> {
            access::get_str(am, &ROOT, key, key)?.ok_or_else(|| malformed(key, "a value"))
        };
        let meta = match DocKind::parse(&kind).ok_or_else(|| malformed("kind", "a known document kind"))? {
            DocKind::DirectorySection => DocMeta::DirectorySection {
                region: field("region")?
                    .parse()
                    .map_err(|_| malformed("region", "a region code"))?,
            },
            DocKind::BrochureCatalog => DocMeta::BrochureCatalog,
            DocKind::VisitLog => DocMeta::VisitLog {
                owner: field("owner")?
                    .parse()
                    .map_err(|_| malformed("owner", "a device id"))?,
                month: Month::parse(&field("month")?).ok_or_else(|| malformed("month", "YYYY-MM"))?,
            },
            DocKind::Suggestions => DocMeta::Suggestions {
                owner: field("owner")?
                    .parse()
                    .map_err(|_| malformed("owner", "a device id"))?,
            },
        };
        if access::get_map(am, &ROOT, meta.kind().collection(), meta.kind().collection())?.is_none() {
            return Err(malformed(meta.kind().collection(), "a map"));
        }
        Ok(meta)
    }
}

impl serde::Serialize for DocMeta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> serde::Deserialize<'de> for DocMeta {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if name.len() > 200 {
            return Err(serde::de::Error::custom("a document name is short"));
        }
        DocMeta::from_name(&name).ok_or_else(|| serde::de::Error::custom("not a document name"))
    }
}

/// Why a document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Automerge refused the bytes or the operation.
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// The document does not hydrate into the model: a field has the wrong type or an unknown
    /// code. The path names the field; the value is never included.
    #[error("{path}: expected {expected}")]
    Malformed {
        /// Path of the field in the document.
        path: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// The document was written by a newer version of the app.
    #[error("document layout version {schema} is newer than this app supports")]
    TooNew {
        /// The version found.
        schema: u64,
    },
    /// The bytes belong to another document than the one named.
    #[error("the document's content does not match its id")]
    IdMismatch,
    /// The bytes are not well-formed Automerge data.
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    /// The changes build on history this copy of the document does not have.
    #[error("the changes depend on {0} earlier changes this copy does not have")]
    MissingDependencies(usize),
    /// A change was made by another device than the one sending it.
    #[error("a change was made by another device than the sender")]
    ForeignActor,
    /// A change deletes a partner, brochure or visit: they are closed, retired or amended instead.
    #[error("a change deletes an entry; entries are closed or retired, never deleted")]
    Deleted,
    /// A visit's note, or another field that must hold no personal data, holds some.
    #[error("{path} contains personal data")]
    PersonalData {
        /// Path of the field.
        path: String,
    },
    /// A change writes a key the document's layout does not have (an extra root key, an
    /// unknown field, a field unknown to a visit).
    #[error("{path} is not a field of this document's layout")]
    UnknownField {
        /// Path of the key.
        path: String,
    },
    /// A change carries what changes never carry: a message, extra bytes, an exact time in a
    /// visit log.
    #[error("a change carries {0}")]
    ChangeMetadata(&'static str),
    /// A bound on the size of changes is exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// A change is numbered like one the other side already holds with other content: the
    /// sender lost commits it had sent (a power cut, a restored backup).
    #[error("the sender's history of this document regressed: it reuses a change number")]
    HistoryRegressed,
    /// The CRDT library panicked on these bytes (fuzzing found such inputs): they are refused.
    #[error("the CRDT library failed on these bytes")]
    LibraryFailed,
    /// Automerge took the changes, but the document they make does not save and load back to
    /// the same heads (fuzzing found such change sets): they are refused, nothing is stored.
    #[error("the document with these changes does not load back")]
    NotReloadable,
}

/// Runs Automerge on bytes from elsewhere: a panic in the library is a refusal of the bytes, not
/// a crash of the caller (whose copy of the document is then discarded, as after any error).
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, DocError>) -> Result<T, DocError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(DocError::LibraryFailed))
}

/// A loaded document with its identity. The device's actor is the author of every change made
/// here.
#[derive(Debug, Clone)]
pub struct Document {
    id: DocId,
    meta: DocMeta,
    am: AutoCommit,
    /// Heads already written to storage; what comes after them is unsaved.
    saved: Vec<ChangeHash>,
    /// What each object is in the layout, once an inspection needed it.
    registry: Option<inspect::Registry>,
}

/// Seconds since the Unix epoch for a change time.
fn unix_time(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

impl Document {
    /// A new document (its deterministic genesis), to be written by `actor` (a device, in
    /// its current epoch).
    pub fn create(meta: DocMeta, actor: impl Into<DeviceActor>) -> Result<Document, DocError> {
        let mut am = meta.genesis()?;
        am.set_actor(actor.into().actor_id());
        Ok(Document {
            id: meta.id(),
            meta,
            am,
            saved: Vec::new(),
            registry: None,
        })
    }

    /// Reads document `id` from bytes received from elsewhere (a save, or its changes from the
    /// start): every chunk is checked, and the whole history must be there.
    pub fn load(id: DocId, bytes: &[u8], device: impl Into<DeviceActor>) -> Result<Document, DocError> {
        let device = device.into();
        guarded(|| {
            let changes = wire::parse_changes(bytes)?;
            let mut am = AutoCommit::new();
            am.apply_changes(changes)?;
            let missing = am.get_missing_deps(&[]);
            if !missing.is_empty() {
                return Err(DocError::MissingDependencies(missing.len()));
            }
            Self::from_automerge(id, am, device)
        })
    }

    /// Reads a whole document from a hub in one pass, when it is one whole document followed
    /// by plain changes ([`wire::is_plain_document`]): `Ok(None)` otherwise, for
    /// [`Document::load`]. Loaded so, the bytes are also a stored form that loads back to the
    /// same document (the store keeps them as its snapshot).
    pub fn load_plain(
        id: DocId,
        bytes: &[u8],
        device: impl Into<DeviceActor>,
    ) -> Result<Option<Document>, DocError> {
        if !wire::is_plain_document(bytes) {
            return Ok(None);
        }
        let device = device.into();
        guarded(|| {
            let mut doc = Self::load_stored(id, bytes, device)?;
            let missing = doc.am.get_missing_deps(&[]);
            if !missing.is_empty() {
                return Err(DocError::MissingDependencies(missing.len()));
            }
            Ok(Some(doc))
        })
    }

    /// Reads document `id` from this device's storage (a snapshot and incremental chunks),
    /// failing rather than skipping anything that does not parse.
    pub fn load_stored(
        id: DocId,
        bytes: &[u8],
        device: impl Into<DeviceActor>,
    ) -> Result<Document, DocError> {
        let am = AutoCommit::load_with_options(
            bytes,
            automerge::LoadOptions::new().on_partial_load(automerge::OnPartialLoad::Error),
        )?;
        Self::from_automerge(id, am, device)
    }

    /// Wraps a loaded Automerge document, checking that it is the document `id`.
    pub fn from_automerge(
        id: DocId,
        mut am: AutoCommit,
        device: impl Into<DeviceActor>,
    ) -> Result<Document, DocError> {
        let meta = DocMeta::read(&am)?;
        if meta.id() != id {
            return Err(DocError::IdMismatch);
        }
        am.set_actor(device.into().actor_id());
        Ok(Document {
            id,
            meta,
            am,
            saved: Vec::new(),
            registry: None,
        })
    }

    /// Makes `actor` the author of this copy's later changes (a device that started a new
    /// epoch).
    pub fn set_actor(&mut self, actor: DeviceActor) {
        self.am.set_actor(actor.actor_id());
    }

    /// The document's id.
    pub fn id(&self) -> DocId {
        self.id
    }

    /// What the document is.
    pub fn meta(&self) -> &DocMeta {
        &self.meta
    }

    /// The Automerge document, for reading.
    pub fn automerge(&self) -> &AutoCommit {
        &self.am
    }

    /// The Automerge document, for sync and storage.
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.am
    }

    /// Current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.am.get_heads()
    }

    /// Commits pending operations as one change by this device. Changes carry no message
    /// (history is read from the operations; a message would travel with it to every reader),
    /// and visit-log changes carry only the day, not the time, so that the history does not
    /// record when a contact happened more precisely than the visit itself does.
    pub fn commit(&mut self, now: DateTime<Utc>) -> Option<ChangeHash> {
        let time = match self.meta.kind() {
            DocKind::VisitLog => unix_time(now) - unix_time(now).rem_euclid(86_400),
            _ => unix_time(now),
        };
        self.am.commit_with(CommitOptions::default().with_time(time))
    }

    /// The whole document as a device sends it to the hub: a save without compressed columns,
    /// which the hub accepts without inflating anything.
    pub fn save_for_push(&mut self) -> Vec<u8> {
        self.am.save_nocompress()
    }

    /// The changes not yet written to storage, as change chunks (empty when all is saved).
    pub fn unsaved_changes(&mut self) -> Vec<u8> {
        self.am.save_after(&self.saved)
    }

    /// Records that everything up to the current heads is in storage.
    pub fn mark_saved(&mut self) {
        self.saved = self.am.get_heads();
    }

    /// Drops operations made since the last commit.
    pub fn rollback(&mut self) {
        self.am.rollback();
    }

    /// Merges changes or a saved document from elsewhere; returns the heads before the merge.
    /// On error part of the bytes may have been applied: callers that must not keep a partial
    /// merge throw this copy away and reload the document from storage.
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<Vec<ChangeHash>, DocError> {
        self.registry = None;
        guarded(|| {
            let before = self.am.get_heads();
            let changes = wire::parse_changes(bytes)?;
            self.am.apply_changes(changes).map_err(accept::apply_error)?;
            let missing = self.am.get_missing_deps(&[]);
            if !missing.is_empty() {
                return Err(DocError::MissingDependencies(missing.len()));
            }
            Ok(before)
        })
    }

    /// Fails unless the document still says it is `expected` (a merge must not change what a
    /// document is).
    pub fn check_meta(&self, expected: &DocMeta) -> Result<(), DocError> {
        use automerge::ReadDoc;
        for key in self.am.keys(ROOT) {
            let values = self.am.get_all(ROOT, key.as_str())?;
            if key == "schema" {
                // Two devices may raise the layout version at once: each value must be one
                // this code reads.
                for (value, _) in &values {
                    match value {
                        automerge::Value::Scalar(v) => match v.as_ref() {
                            automerge::ScalarValue::Uint(n) if *n > SCHEMA_VERSION => {
                                return Err(DocError::TooNew { schema: *n })
                            }
                            automerge::ScalarValue::Uint(_) => {}
                            _ => return Err(malformed(key, "a version")),
                        },
                        _ => return Err(malformed(key, "a version")),
                    }
                }
            } else if values.len() > 1 {
                return Err(malformed(key, "a single value"));
            }
        }
        if &DocMeta::read(&self.am)? == expected {
            Ok(())
        } else {
            Err(DocError::IdMismatch)
        }
    }

    /// The map holding the entities (partners, brochures or visits).
    pub(crate) fn collection(&self) -> Result<automerge::ObjId, DocError> {
        let key = self.meta.kind().collection();
        access::get_map(&self.am, &ROOT, key, key)?.ok_or_else(|| malformed(key, "a map"))
    }

    /// The entities changed between `before` and the current heads (all of them for a document
    /// new here), each by its typed id, in id order. A key of the collection that is not an id
    /// of its kind is an error.
    pub fn changed_entities(&mut self, before: &[ChangeHash]) -> Result<Vec<EntityKey>, DocError> {
        let after = self.am.get_heads();
        if before == after.as_slice() {
            return Ok(Vec::new());
        }
        let collection = self.meta.kind().collection();
        let mut keys: Vec<String> = if before.is_empty() {
            // Everything is new: the entities are the keys of the collection, no diff needed.
            use automerge::ReadDoc;
            match self.am.get(automerge::ROOT, collection) {
                Ok(Some((automerge::Value::Object(automerge::ObjType::Map), obj))) => {
                    self.am.keys(&obj).collect()
                }
                _ => Vec::new(),
            }
        } else {
            self.am
                .diff(before, &after)
                .iter()
                .filter_map(|p| match p.path.as_slice() {
                    [] => None,
                    [(_, automerge::Prop::Map(c))] if c == collection => match &p.action {
                        automerge::PatchAction::PutMap { key, .. }
                        | automerge::PatchAction::DeleteMap { key } => Some(key.clone()),
                        _ => None,
                    },
                    [(_, automerge::Prop::Map(c)), (_, automerge::Prop::Map(id)), ..] if c == collection => {
                        Some(id.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        self.am.reset_diff_cursor();
        keys.sort();
        keys.dedup();
        let kind = self.meta.kind();
        keys.iter().map(|k| EntityKey::parse(kind, k)).collect()
    }

    /// Every entity of the document.
    pub fn entities(&self) -> Result<Vec<EntityKey>, DocError> {
        use automerge::ReadDoc;
        let kind = self.meta.kind();
        let coll = self.collection()?;
        self.am.keys(&coll).map(|k| EntityKey::parse(kind, &k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_keys_are_typed_by_the_kind_of_their_document() {
        let p = crate::model::PartnerId::random();
        assert_eq!(
            EntityKey::parse(DocKind::DirectorySection, &p.to_string()).unwrap(),
            EntityKey::Partner(p)
        );
        let v = crate::model::VisitId::random();
        assert_eq!(
            EntityKey::parse(DocKind::VisitLog, &v.to_string()).unwrap(),
            EntityKey::Visit(v)
        );
        let err = EntityKey::parse(DocKind::BrochureCatalog, "not-an-id").unwrap_err();
        assert!(err.to_string().contains("brochures.not-an-id"), "{err}");
    }

    #[test]
    fn genesis_is_identical_everywhere() {
        let a = DeviceId::random();
        let b = DeviceId::random();
        let meta = DocMeta::DirectorySection {
            region: Region::Limburg,
        };
        let mut da = Document::create(meta, a).unwrap();
        let mut db = Document::create(meta, b).unwrap();
        assert_eq!(da.heads(), db.heads());
        assert_eq!(da.heads()[0], meta.genesis_hash().unwrap());
        assert_eq!(da.id(), DocId::named("directory_section/limburg"));
    }

    #[test]
    fn names_round_trip_and_give_the_ids() {
        let metas = [
            DocMeta::DirectorySection {
                region: Region::Limburg,
            },
            DocMeta::BrochureCatalog,
            DocMeta::VisitLog {
                owner: DeviceId::random(),
                month: Month::parse("2026-11").unwrap(),
            },
        ];
        for meta in metas {
            assert_eq!(DocMeta::from_name(&meta.name()), Some(meta));
            let json = serde_json::to_string(&meta).unwrap();
            assert_eq!(serde_json::from_str::<DocMeta>(&json).unwrap(), meta);
        }
        assert_eq!(
            DocMeta::BrochureCatalog.id(),
            DocId::named("brochure_catalog"),
            "ids never change"
        );
        for bad in [
            "",
            "brochure_catalog/x",
            "directory_section/atlantis",
            "visit_log/x/2026-11",
            "directory_section/limburg/extra",
        ] {
            assert_eq!(DocMeta::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn load_checks_the_id() {
        let dev = DeviceId::random();
        let meta = DocMeta::BrochureCatalog;
        let mut d = Document::create(meta, dev).unwrap();
        let bytes = d.automerge_mut().save();
        assert!(Document::load(meta.id(), &bytes, dev).is_ok());
        let other = DocMeta::DirectorySection {
            region: Region::Namur,
        }
        .id();
        assert!(matches!(
            Document::load(other, &bytes, dev),
            Err(DocError::IdMismatch)
        ));
        assert!(Document::load(meta.id(), b"garbage", dev).is_err());
    }

    #[test]
    fn visit_log_changes_keep_only_the_day() {
        let dev = DeviceId::random();
        let month = Month::parse("2026-11").unwrap();
        let mut d = Document::create(DocMeta::VisitLog { owner: dev, month }, dev).unwrap();
        let coll = d.collection().unwrap();
        d.automerge_mut().put(&coll, "x", 1).unwrap();
        let now: DateTime<Utc> = "2026-11-20T21:47:13Z".parse().unwrap();
        let hash = d.commit(now).unwrap();
        let meta = d.automerge_mut().get_change_meta_by_hash(&hash).unwrap();
        assert_eq!(
            meta.timestamp,
            "2026-11-20T00:00:00Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
                .timestamp()
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dev = DeviceId::random();
        let meta = DocMeta::BrochureCatalog;
        let mut d = Document::create(meta, dev).unwrap();
        d.automerge_mut().put(ROOT, "schema", SCHEMA_VERSION + 1).unwrap();
        d.commit(Utc::now());
        let bytes = d.automerge_mut().save();
        assert!(matches!(
            Document::load(meta.id(), &bytes, dev),
            Err(DocError::TooNew { .. })
        ));
    }
}
