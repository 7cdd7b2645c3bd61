//! The wire protocol between devices and the hub: CBOR bodies over HTTP, under `/v1/`.
//!
//! - `POST /v1/enroll`: [`EnrollRequest`] -> [`EnrollResponse`].
//! - `POST /v1/sync` (bearer token): [`SyncRequest`] -> [`SyncResponse`]. One round trip in the
//!   common case: the device sends, for every document it holds, its heads and the changes the
//!   hub has not acknowledged; the hub answers with what the device lacks.
//! - `GET /v1/blobs/{sha256}` (bearer token, honours `Range`) and `PUT /v1/blobs/{sha256}`
//!   (coordinators): brochure files, content-addressed.
//! - `GET /v1/health`: `200 ok`.
//!
//! Errors are an [`ErrorBody`] with a stable [`ErrorCode`] and a readable reason.
//!
//! Whole documents travel as Automerge `save()` output; increments as Automerge bundles, a
//! compact encoding of a set of changes. Bundles are marked experimental in Automerge 0.12, so
//! the request names the data format ([`AUTOMERGE_FORMAT`]) and the hub refuses another one.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::doc::DocMeta;
use crate::model::{DeviceId, DocId};

/// Version of this protocol.
pub const PROTOCOL_VERSION: u32 = 1;

/// The Automerge data format carried in documents and bundles.
pub const AUTOMERGE_FORMAT: &str = "automerge-0.12";

/// Media type of request and response bodies.
pub const CONTENT_TYPE: &str = "application/cbor";

/// A device's role in its organisation, set when it is enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Logs visits; reads the directory and brochures.
    Fieldworker,
    /// Also edits the directory and publishes brochures (visit logs stay on the device that
    /// logged them: an organisation's figures are published as reports).
    Coordinator,
    /// A coordinator who also manages the organisation's devices.
    Admin,
}

impl Role {
    /// Stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Fieldworker => "fieldworker",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role edits the directory and the brochure catalog.
    pub fn edits_directory(self) -> bool {
        matches!(self, Role::Coordinator | Role::Admin)
    }
}

impl std::str::FromStr for Role {
    type Err = crate::model::UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fieldworker" => Ok(Role::Fieldworker),
            "coordinator" => Ok(Role::Coordinator),
            "admin" => Ok(Role::Admin),
            _ => Err(crate::model::UnknownCode { vocabulary: "role" }),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Automerge change hash, sent as 32 raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| serde::de::Error::custom("a change hash has 32 bytes"))?;
        Ok(Hash(array))
    }
}

impl From<automerge::ChangeHash> for Hash {
    fn from(h: automerge::ChangeHash) -> Self {
        Hash(h.0)
    }
}

impl From<Hash> for automerge::ChangeHash {
    fn from(h: Hash) -> Self {
        automerge::ChangeHash(h.0)
    }
}

/// Converts heads for the wire.
pub fn to_wire(heads: &[automerge::ChangeHash]) -> Vec<Hash> {
    heads.iter().map(|h| Hash(h.0)).collect()
}

/// Converts heads from the wire.
pub fn from_wire(heads: &[Hash]) -> Vec<automerge::ChangeHash> {
    heads.iter().map(|h| automerge::ChangeHash(h.0)).collect()
}

/// `POST /v1/enroll`: a device exchanges a one-time code for its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The one-time enrollment code.
    pub code: String,
    /// The device's id, chosen by the device when its store was created: the actor of all its
    /// changes.
    pub device_id: DeviceId,
    /// A name for the device, for coordinators ("Liège outreach phone 2").
    pub device_name: String,
}

/// The credentials a hub gives a newly enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The device's id, as registered.
    pub device_id: DeviceId,
    /// The device's secret token (64 hex characters), sent as `Authorization: Bearer`.
    pub token: String,
    /// The organisation's id.
    pub org_id: String,
    /// The organisation's name.
    pub org_name: String,
    /// The device's role.
    pub role: Role,
}

/// `POST /v1/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// [`AUTOMERGE_FORMAT`].
    pub format: String,
    /// The documents the device sends: every document it holds, or, with `known`, only those
    /// it changed since and those the hub asked for whole.
    pub docs: Vec<DocPush>,
    /// The [`StateDigest`] of the heads the hub acknowledged to this device, when they are
    /// exactly the state of the hub's last complete answer: the device then leaves out every
    /// document it did not change, and the hub answers only what changed since that state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<StateDigest>,
    /// The version of the [`Roster`] the device holds: the hub sends its roster again only
    /// when its own differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster: Option<u64>,
    /// The version of the [`ReportDocument`] the device holds: the hub sends its
    /// organisation's report again only when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<u64>,
}

/// A device of the network as histories and conflicts name it: what the hub knows of it, never
/// more (no token, no times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeviceName {
    /// The device (the author of its changes).
    pub device: DeviceId,
    /// Its name, as enrolled or renamed ("Laptop 2").
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The name of its organisation.
    pub org: String,
    /// Revoked or retired: it syncs no more; what it wrote stays, under its name.
    #[serde(default)]
    pub gone: bool,
}

impl DeviceName {
    /// How a change's author is shown: "Laptop 2, coordinator, CAW Limburg".
    pub fn label(&self) -> String {
        let gone = if self.gone { " (no longer enrolled)" } else { "" };
        format!("{}, {}, {}{gone}", self.name, self.role, self.org)
    }
}

/// The names of the devices one device may see, from the hub: every coordinator and admin
/// device (the authors of the directory and the catalog), the device itself and, for a
/// coordinator or admin, the devices of its own organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// The hub's version of it: the device names it in its next request.
    pub version: u64,
    /// The devices, by id.
    pub devices: Vec<DeviceName>,
    /// The regions whose directory section has stewards, and whether this device may edit each
    /// (a region not listed is edited by every coordinator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stewardship: Vec<Stewardship>,
}

/// Who keeps one directory section (region), and whether the device told may edit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stewardship {
    /// The region.
    pub region: crate::model::Region,
    /// The names of its steward organisations.
    pub stewards: Vec<String>,
    /// Whether the device told may edit the section (a steward's coordinator, or an admin):
    /// else it suggests changes.
    pub may_edit: bool,
}

/// An organisation's published figures, as the hub delivers them to its coordinators with a
/// sync: the hub alone writes it (it is never pushed back, and no device's change can reach
/// it), replaced whole when a table is published again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDocument {
    /// The hub's version of it: the device names it in its next request.
    pub version: u64,
    /// The figures.
    pub report: OrgReport,
}

/// The figures the hub published about one organisation (server/REPORTS.md): for each
/// published table that breaks the network's figures down by organisation, this
/// organisation's row, as published (a suppressed count is `None`, never a number). Only counts
/// a reader of the network's tables already has: nothing here is more detailed than them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrgReport {
    /// The organisation's name.
    pub organisation: String,
    /// The tables, newest period first, then by dimension and measure.
    pub tables: Vec<PublishedTable>,
}

/// One published table of an organisation's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PublishedTable {
    /// The period: a month `2026-11`, a quarter `2026-Q4` or a year `2026`.
    pub period: String,
    /// What the rows break the total down by (`theme`, `municipality`, `age_band`...; the
    /// codes of `outreach-hub report --help`); `None` for the organisation's total alone.
    pub dimension: Option<String>,
    /// What is counted: `people`, `visits`, `copies` (brochures given) or `referrals`.
    pub measure: String,
    /// Which release of the table (1 for the first; a later one after late visits).
    pub release: i32,
    /// Counts from 1 to `threshold - 1` are never published.
    pub threshold: i32,
    /// No suppressed count can be narrowed to an interval narrower than this.
    pub protection_level: i32,
    /// The rows, by value of the dimension.
    pub rows: Vec<PublishedCount>,
    /// The organisation's total, if published.
    pub total: Option<i64>,
    /// Whether the rows add up to the total; else they overlap (a visit about two themes
    /// counts under both) and must not be summed.
    pub rows_add_up: bool,
}

/// One count of a published table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PublishedCount {
    /// The value of the dimension (a theme code, a municipality, `(not recorded)`...).
    pub value: String,
    /// The count, or `None` where it is suppressed.
    pub count: Option<i64>,
}

/// Most tables a report may hold, most rows a table may have and longest a label may be: what
/// a device takes from a hub is bounded too.
pub const MAX_REPORT_TABLES: usize = 2_000;
/// See [`MAX_REPORT_TABLES`].
pub const MAX_REPORT_ROWS: usize = 5_000;
/// See [`MAX_REPORT_TABLES`].
pub const MAX_REPORT_LABEL: usize = 200;

impl OrgReport {
    /// Whether the report is within the bounds a device accepts: so many tables, rows and
    /// characters at most, and no negative count.
    pub fn within_bounds(&self) -> bool {
        let label = |s: &str| s.chars().count() <= MAX_REPORT_LABEL;
        label(&self.organisation)
            && self.tables.len() <= MAX_REPORT_TABLES
            && self.tables.iter().all(|t| {
                t.rows.len() <= MAX_REPORT_ROWS
                    && label(&t.period)
                    && label(&t.measure)
                    && t.dimension.as_deref().is_none_or(label)
                    && t.total.is_none_or(|n| n >= 0)
                    && t.rows
                        .iter()
                        .all(|r| label(&r.value) && r.count.is_none_or(|n| n >= 0))
            })
    }
}

/// Most devices a roster may list: what a device takes from a hub is bounded too.
pub const MAX_ROSTER: usize = 20_000;

/// One document, as the device sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    /// The document.
    pub id: DocId,
    /// The device's heads.
    pub heads: Vec<Hash>,
    /// Changes the hub may lack: a bundle of the changes since the heads the hub last
    /// acknowledged, or the whole document (a save) when the hub asked for it. Empty when the
    /// hub has everything.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<u8>,
    /// With a whole document sent again: heads the hub once answered with, and its
    /// [`DocPull::attestation`] of them. The hub then takes back, from other devices too, the
    /// changes it had accepted up to those heads before it lost them (it was restored from a
    /// backup).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attested_heads: Vec<Hash>,
    /// The hub's seal over `attested_heads`.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub attestation: Vec<u8>,
    /// What the document is (its kind, region, owner or month), sent while the hub may not
    /// hold it: the hub checks that it names `id` and decides from it whether the device may
    /// write the document before it reads any of the changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<DocMeta>,
}

impl DocPush {
    /// A push of `id` with these heads and changes, and nothing else.
    pub fn new(id: DocId, heads: Vec<Hash>, changes: Vec<u8>) -> DocPush {
        DocPush {
            id,
            heads,
            changes,
            attested_heads: Vec::new(),
            attestation: Vec::new(),
            meta: None,
        }
    }
}

/// A pushed document the hub did not take; every other document of the request was handled
/// as usual. The device keeps its copy and reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRefusal {
    /// The document.
    pub id: DocId,
    /// Why, for programs: [`ErrorCode::UpgradeNeeded`] when the document comes from a newer
    /// app than the hub, [`ErrorCode::HistoryRegressed`] when the device reused change numbers.
    pub code: ErrorCode,
    /// Why, for people; never personal data.
    pub reason: String,
    /// With [`ErrorCode::HistoryRegressed`]: the hub's whole document, on which the device
    /// writes again what it did since the state both held.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub document: Vec<u8>,
    /// The heads of `document`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heads: Vec<Hash>,
    /// The hub's seal over `heads`.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub attestation: Vec<u8>,
}

/// The hub's answer to a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Documents the device lacks changes of, or new to it, and the hub's heads of every
    /// document the device sent.
    pub docs: Vec<DocPull>,
    /// Documents the device holds but may no longer read: it deletes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<DocId>,
    /// Documents whose changes build on history the hub does not have (it was restored from a
    /// backup): the device sends them whole in the next round.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resend: Vec<DocId>,
    /// The answer was cut to bound its size: sync again for the rest.
    #[serde(default)]
    pub more: bool,
    /// Pushed documents the hub refused, each with its reason; the others were handled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<DocRefusal>,
    /// The device was retired: the hub holds everything it pushed in this answer's
    /// acknowledgements, and the device deletes its store once it has recorded them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wipe: bool,
    /// With a complete answer (nothing cut, resent or refused): the [`StateDigest`] of every
    /// document the device may read, at the heads the hub holds once the device has applied
    /// this answer. A device whose acknowledged heads then digest to it names it in its next
    /// request's `known`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateDigest>,
    /// The hub does not know the state the request's `known` named (it was restored from a
    /// backup, or the device's last answer was overtaken): it answered only the documents sent,
    /// and the device sends the heads of every document in the next round.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub list_all: bool,
    /// The names of the devices this device may see, when its roster is not the hub's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster: Option<Roster>,
    /// The device's organisation's published figures, when the version it holds is not the
    /// hub's (coordinators and admins; the empty report for a field worker's device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportDocument>,
}

/// A digest of a set of documents at given heads (16 bytes of SHA-256): what a device and the
/// hub compare instead of every document's heads, when neither has anything new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateDigest(pub [u8; 16]);

impl StateDigest {
    /// The digest of `docs`, each with its heads, in any order; documents without heads (not
    /// held by the hub) are left out. Two sides holding the same documents at the same heads
    /// get the same digest.
    pub fn of<'a>(docs: impl IntoIterator<Item = (DocId, &'a [automerge::ChangeHash])>) -> StateDigest {
        use sha2::{Digest, Sha256};
        let mut entries: Vec<(DocId, Vec<automerge::ChangeHash>)> = docs
            .into_iter()
            .filter(|(_, heads)| !heads.is_empty())
            .map(|(id, heads)| {
                let mut heads = heads.to_vec();
                heads.sort();
                heads.dedup();
                (id, heads)
            })
            .collect();
        entries.sort_by_key(|e| e.0);
        let mut hash = Sha256::new();
        hash.update(b"outreach state v1");
        for (id, heads) in &entries {
            hash.update(id.as_bytes());
            hash.update((heads.len() as u32).to_be_bytes());
            for h in heads {
                hash.update(h.0);
            }
        }
        let full = hash.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        StateDigest(out)
    }
}

impl Serialize for StateDigest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for StateDigest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        let array: [u8; 16] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| serde::de::Error::custom("a state digest has 16 bytes"))?;
        Ok(StateDigest(array))
    }
}

/// One document, as the hub answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPull {
    /// The document.
    pub id: DocId,
    /// The hub's heads after applying what the device sent: the device records them as
    /// acknowledged once it has applied `changes`.
    pub heads: Vec<Hash>,
    /// What the device lacks: a bundle, or the whole document (a save) when it is new to the
    /// device. Empty when the device has everything.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<u8>,
    /// The hub's seal (a MAC under a key only the hub holds) over this document's id and
    /// `heads`: the device keeps it with the heads it acknowledges, to show it back if the hub
    /// ever asks for the whole document again.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub attestation: Vec<u8>,
}

/// Stable error codes; clients branch on these, people read the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not well-formed (bad CBOR, missing fields, bad hash).
    BadRequest,
    /// The body or a bound is exceeded (size, documents, changes).
    TooLarge,
    /// Another protocol version or Automerge format.
    Unsupported,
    /// No or unknown credentials.
    Unauthorized,
    /// The device was revoked: it must wipe its store.
    Revoked,
    /// The device's role does not allow this.
    Forbidden,
    /// No such thing.
    NotFound,
    /// The enrollment code is unknown, used or expired.
    InvalidCode,
    /// The device is already enrolled.
    AlreadyEnrolled,
    /// Automerge data that does not parse, or changes that break the model.
    InvalidDocument,
    /// A visit note with personal data.
    PersonalData,
    /// A blob whose content does not match its hash.
    HashMismatch,
    /// The hub failed.
    Internal,
    /// A change writes a key that the document's layout does not have.
    UnknownField,
    /// A change carries a message, extra bytes, or an exact time in a visit log.
    ChangeMetadata,
    /// The document comes from a newer app than this side knows: it is left alone, and every
    /// other document syncs.
    UpgradeNeeded,
    /// The device reused change numbers the hub holds with other content (it lost commits it
    /// had sent): it writes its changes again on the hub's copy, under a new actor epoch.
    HistoryRegressed,
    /// The hub is serving as many requests as it can, or could not answer in time: try again
    /// after `Retry-After`.
    Busy,
    /// Too many attempts from this address (enrollment): try again after `Retry-After`.
    RateLimited,
    /// The request did not arrive in time (its body was too slow).
    Timeout,
}

impl ErrorCode {
    /// The stable code, as it travels (`unknown_field`, `upgrade_needed`...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Revoked => "revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::AlreadyEnrolled => "already_enrolled",
            ErrorCode::InvalidDocument => "invalid_document",
            ErrorCode::PersonalData => "personal_data",
            ErrorCode::HashMismatch => "hash_mismatch",
            ErrorCode::Internal => "internal",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::ChangeMetadata => "change_metadata",
            ErrorCode::UpgradeNeeded => "upgrade_needed",
            ErrorCode::HistoryRegressed => "history_regressed",
            ErrorCode::Busy => "busy",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Timeout => "timeout",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people; never personal data.
    pub reason: String,
    /// The document concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<DocId>,
    /// Set with [`ErrorCode::Revoked`]: the device must delete its store.
    #[serde(default)]
    pub wipe: bool,
}

/// Why a body could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed CBOR body: {0}")]
pub struct CodecError(String);

/// Encodes a body as CBOR.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and every type here serialises.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

/// Decodes a CBOR body.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    ciborium::from_reader(bytes).map_err(|e| CodecError(e.to_string()))
}

/// An enrollment link as printed and shown as a QR code: `outreach://enroll?hub=URL&code=CODE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollLink {
    /// Base URL of the hub (`https://hub.example.org`).
    pub hub: String,
    /// The one-time code.
    pub code: String,
}

impl EnrollLink {
    /// Parses a link; `None` if it is not one.
    pub fn parse(link: &str) -> Option<EnrollLink> {
        let query = link.trim().strip_prefix("outreach://enroll?")?;
        let (mut hub, mut code) = (None, None);
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=')?;
            let v = percent_decode(v)?;
            match k {
                "hub" => hub = Some(v),
                "code" => code = Some(v),
                _ => {}
            }
        }
        let hub = hub.filter(|h| h.starts_with("https://") || h.starts_with("http://"))?;
        Some(EnrollLink {
            hub: hub.trim_end_matches('/').to_string(),
            code: code.filter(|c| !c.is_empty())?,
        })
    }
}

impl std::fmt::Display for EnrollLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "outreach://enroll?hub={}&code={}",
            percent_encode(&self.hub),
            percent_encode(&self.code)
        )
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hi = (it.next()? as char).to_digit(16)?;
            let lo = (it.next()? as char).to_digit(16)?;
            bytes.push((hi * 16 + lo) as u8);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// A report of one table of two rows, the second suppressed and the first `count`, for tests.
#[cfg(test)]
pub(crate) fn sample_report(count: Option<i64>) -> ReportDocument {
    ReportDocument {
        version: 7,
        report: OrgReport {
            organisation: "CAW Limburg".into(),
            tables: vec![PublishedTable {
                period: "2026-11".into(),
                dimension: Some("theme".into()),
                measure: "people".into(),
                release: 1,
                threshold: 5,
                protection_level: 5,
                rows: vec![
                    PublishedCount {
                        value: "medical".into(),
                        count,
                    },
                    PublishedCount {
                        value: "housing".into(),
                        count: None,
                    },
                ],
                total: Some(40),
                rows_add_up: false,
            }],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_cbor() {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            format: AUTOMERGE_FORMAT.into(),
            docs: vec![
                DocPush::new(DocId::named("x"), vec![Hash([7; 32])], vec![1, 2, 3]),
                DocPush {
                    meta: Some(DocMeta::BrochureCatalog),
                    ..DocPush::new(DocMeta::BrochureCatalog.id(), Vec::new(), vec![4])
                },
            ],
            known: Some(StateDigest([3; 16])),
            roster: Some(12),
            report: Some(3),
        };
        assert_eq!(decode::<SyncRequest>(&encode(&req)).unwrap(), req);
        let err = ErrorBody {
            code: ErrorCode::Revoked,
            reason: "revoked".into(),
            doc: None,
            wipe: true,
        };
        assert_eq!(decode::<ErrorBody>(&encode(&err)).unwrap(), err);
        for code in [
            ErrorCode::UnknownField,
            ErrorCode::UpgradeNeeded,
            ErrorCode::Revoked,
        ] {
            let text = serde_json::to_string(&code).unwrap();
            assert_eq!(text, format!("\"{}\"", code.as_str()));
        }
        assert!(decode::<SyncRequest>(b"\xff\x00garbage").is_err());
        let answer = SyncResponse {
            state: Some(StateDigest([5; 16])),
            list_all: true,
            report: Some(sample_report(Some(12))),
            ..SyncResponse::default()
        };
        assert_eq!(decode::<SyncResponse>(&encode(&answer)).unwrap(), answer);
        assert!(answer.report.as_ref().unwrap().report.within_bounds());
        let mut negative = answer.report.unwrap().report;
        negative.tables[0].rows[1].count = Some(-1);
        assert!(!negative.within_bounds(), "a negative count is out of bounds");
    }

    #[test]
    fn a_state_digest_is_that_of_the_set_of_documents_at_their_heads() {
        let (a, b) = (DocId::named("a"), DocId::named("b"));
        let (h1, h2) = (automerge::ChangeHash([1; 32]), automerge::ChangeHash([2; 32]));
        let one = StateDigest::of([(a, &[h1, h2][..]), (b, &[h2][..])]);
        assert_eq!(
            one,
            StateDigest::of([(b, &[h2][..]), (a, &[h2, h1][..])]),
            "order does not count"
        );
        assert_eq!(
            one,
            StateDigest::of([(a, &[h1, h2][..]), (b, &[h2][..]), (DocId::named("c"), &[][..])])
        );
        assert_ne!(one, StateDigest::of([(a, &[h1][..]), (b, &[h2][..])]));
        assert_ne!(one, StateDigest::of([(a, &[h1, h2][..])]));
        assert_ne!(
            one,
            StateDigest::of([(b, &[h1, h2][..]), (a, &[h2][..])]),
            "heads belong to their document"
        );
    }

    #[test]
    fn enrollment_links_round_trip() {
        let link = EnrollLink {
            hub: "https://hub.example.org:8787".into(),
            code: "K7QM-2XHD-9FPA".into(),
        };
        let text = link.to_string();
        assert_eq!(
            text,
            "outreach://enroll?hub=https%3A%2F%2Fhub.example.org%3A8787&code=K7QM-2XHD-9FPA"
        );
        assert_eq!(EnrollLink::parse(&text).unwrap(), link);
        assert!(EnrollLink::parse("https://example.org").is_none());
        assert!(EnrollLink::parse("outreach://enroll?hub=ftp%3A%2F%2Fx&code=a").is_none());
        assert!(EnrollLink::parse("outreach://enroll?hub=http%3A%2F%2Fx").is_none());
    }
}
