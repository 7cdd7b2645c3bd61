//! Administration: organisations, enrollment codes, devices, and a look at stored documents.
//! The `outreach-hub` commands call these; tests and benchmarks call them in-process.

use std::time::Duration;

use chrono::{DateTime, Utc};
use outreach_core::doc::DocKind;
use outreach_core::model::{DeviceId, DocId, Region};
use outreach_core::sync::protocol::{Hash, Role};

use crate::db::audit::{self, Action, Record};
use crate::db::{devices, docs, now, stewards, time_of};
use crate::error::{Error, Result};
use crate::hub::Hub;

/// Longest validity of an enrollment code.
pub const MAX_CODE_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

/// Default validity of an enrollment code.
pub const DEFAULT_CODE_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// One entry of the audit log: what was done to the hub's organisations, codes and devices,
/// by whom and from where (see `outreach-hub audit`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What: `organisation_added`, `code_issued`, `code_cancelled`, `device_enrolled`,
    /// `device_revoked`, `device_retired`, `device_renamed`, `backup_taken`, `hub_migrated`.
    pub action: String,
    /// Who: `operator NAME` (their account on the hub's host) or `device ID`.
    pub actor: String,
    /// From where: `host NAME` for a command, the client address for a request.
    pub origin: String,
    /// What it is about: a device id, a code id, an organisation id.
    pub subject: Option<String>,
    /// The organisation concerned, by name.
    pub organisation: Option<String>,
    /// More about it (a role, a label, a backup's file), never a code, token or key.
    pub detail: Option<String>,
}

/// An organisation of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Stable id (a UUID), given to its devices at enrollment.
    pub id: String,
    /// Name, unique ignoring case ("Fedasil", "CAW Limburg").
    pub name: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A one-time enrollment code, as created. Only its hash is stored: this is the one moment the
/// code itself exists on the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentCode {
    /// The code, `K7QM-2XHD-9FPA-W3RT`.
    pub code: String,
    /// Its id, for commands that list or cancel codes (the start of its hash, not the code).
    pub id: String,
    /// The device it is meant for, if given.
    pub label: Option<String>,
    /// The organisation the device will join.
    pub org: Organisation,
    /// The role the device will have.
    pub role: Role,
    /// After this instant the code is refused.
    pub expires_at: DateTime<Utc>,
}

/// An enrolled device, as coordinators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device's id, the actor of its changes.
    pub id: DeviceId,
    /// Its organisation's id.
    pub org_id: String,
    /// Its organisation's name.
    pub org_name: String,
    /// Its role.
    pub role: Role,
    /// The name it was enrolled with.
    pub name: String,
    /// When it was enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// When it was revoked (lost or stolen: it is refused), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was retired (handed in: it may still push, then deletes its store), if it was.
    pub retired_at: Option<DateTime<Utc>>,
    /// When it last made a request (to the minute).
    pub last_seen: Option<DateTime<Utc>>,
}

/// An enrollment code as the hub remembers it: never the code itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeInfo {
    /// Its id (the start of its hash).
    pub id: String,
    /// The organisation it enrolls into.
    pub org_name: String,
    /// The role it gives.
    pub role: Role,
    /// The device it is meant for, if given.
    pub label: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used, if it was.
    pub used_at: Option<DateTime<Utc>>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A stored document, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// The document.
    pub id: DocId,
    /// What it holds.
    pub kind: DocKind,
    /// The region of a directory section.
    pub region: Option<String>,
    /// The owner device of a visit log.
    pub owner_device: Option<DeviceId>,
    /// The organisation of that device.
    pub owner_org: Option<String>,
    /// The month of a visit log.
    pub month: Option<String>,
    /// The hub's current heads, sorted.
    pub heads: Vec<Hash>,
    /// Size of its stored bytes.
    pub stored_bytes: u64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Meta key of the hub's public address.
const HUB_URL: &str = "hub_url";

fn expiry(now: i64, valid_for: Duration) -> Result<i64> {
    if valid_for > MAX_CODE_VALIDITY {
        return Err(Error::invalid(
            "validity",
            format!(
                "a code is valid for at most {} days",
                MAX_CODE_VALIDITY.as_secs() / 86_400
            ),
        ));
    }
    let secs = i64::try_from(valid_for.as_secs()).unwrap_or(i64::MAX);
    Ok(now.saturating_add(secs))
}

impl Hub {
    /// Sets up a new hub: its first organisation and an admin enrollment code for its first
    /// device, valid for [`DEFAULT_CODE_VALIDITY`]. Refused if the hub has organisations already.
    pub fn initialise(&self, org_name: &str) -> Result<EnrollmentCode> {
        let place = self.location();
        self.inner.db.write(|tx| {
            if !devices::list_orgs(tx)?.is_empty() {
                return Err(Error::AlreadyInitialised(place.clone()));
            }
            let now = now();
            let org = devices::insert_org(tx, org_name, now)?;
            self.audit(
                tx,
                Action::OrganisationAdded,
                Some(&org.id),
                Some(&org.id),
                None,
                now,
            )?;
            let expires_at = expiry(now, DEFAULT_CODE_VALIDITY)?;
            let (code, id) = devices::insert_code(tx, &org.id, Role::Admin, now, expires_at, None)?;
            self.audit(
                tx,
                Action::CodeIssued,
                Some(&id),
                Some(&org.id),
                Some("role admin"),
                now,
            )?;
            Ok(EnrollmentCode {
                code,
                id,
                label: None,
                org,
                role: Role::Admin,
                expires_at: time_of(expires_at),
            })
        })
    }

    /// Adds an organisation; its name must be new (ignoring case).
    pub fn create_organisation(&self, name: &str) -> Result<Organisation> {
        self.inner.db.write(|tx| {
            let now = now();
            let org = devices::insert_org(tx, name, now)?;
            self.audit(
                tx,
                Action::OrganisationAdded,
                Some(&org.id),
                Some(&org.id),
                None,
                now,
            )?;
            Ok(org)
        })
    }

    /// Records an act of this process's operator in the audit log, in the act's transaction.
    fn audit(
        &self,
        tx: &crate::db::Tx<'_>,
        action: Action,
        subject: Option<&str>,
        org: Option<&str>,
        detail: Option<&str>,
        now: i64,
    ) -> Result<()> {
        audit::record(
            tx,
            &self.inner.actor,
            action,
            Record { subject, org, detail },
            now,
        )
    }

    /// The audit log since `since`, oldest first.
    pub fn audit_log(&self, since: DateTime<Utc>) -> Result<Vec<AuditEntry>> {
        self.inner.db.read(|tx| audit::since(tx, since.timestamp()))
    }

    /// Every organisation, by name.
    pub fn organisations(&self) -> Result<Vec<Organisation>> {
        self.inner.db.read(devices::list_orgs)
    }

    /// Creates a one-time code that enrolls a device into `org` (a name or an id) with `role`,
    /// valid for `valid_for` (at most [`MAX_CODE_VALIDITY`]).
    pub fn create_enrollment_code(
        &self,
        org: &str,
        role: Role,
        valid_for: Duration,
    ) -> Result<EnrollmentCode> {
        self.create_labelled_code(org, role, valid_for, None)
    }

    /// [`create_enrollment_code`](Hub::create_enrollment_code), with a label naming the device
    /// the code is meant for (so that it can be found and cancelled by it).
    pub fn create_labelled_code(
        &self,
        org: &str,
        role: Role,
        valid_for: Duration,
        label: Option<&str>,
    ) -> Result<EnrollmentCode> {
        self.inner.db.write(|tx| {
            let org = devices::find_org(tx, org)?;
            let now = now();
            let expires_at = expiry(now, valid_for)?;
            let (code, id) = devices::insert_code(tx, &org.id, role, now, expires_at, label)?;
            let detail = match label {
                Some(label) => format!("role {}, for {}", role.as_str(), label.trim()),
                None => format!("role {}", role.as_str()),
            };
            self.audit(
                tx,
                Action::CodeIssued,
                Some(&id),
                Some(&org.id),
                Some(&detail),
                now,
            )?;
            Ok(EnrollmentCode {
                code,
                id,
                label: label.map(|l| l.trim().to_string()),
                org,
                role,
                expires_at: time_of(expires_at),
            })
        })
    }

    /// Every enrollment code, newest first (ids and labels, never the codes).
    pub fn enrollment_codes(&self) -> Result<Vec<CodeInfo>> {
        self.inner.db.read(devices::list_codes)
    }

    /// Cancels an open code named by its id or label; returns its id.
    pub fn cancel_code(&self, id_or_label: &str) -> Result<String> {
        self.inner.db.write(|tx| {
            let now = now();
            let id = devices::cancel_code(tx, id_or_label, now)?;
            self.audit(tx, Action::CodeCancelled, Some(&id), None, None, now)?;
            Ok(id)
        })
    }

    /// The device named by its id or its name.
    pub fn find_device(&self, id_or_name: &str) -> Result<DeviceInfo> {
        self.inner.db.read(|tx| devices::find_device(tx, id_or_name))
    }

    /// Retires a device handed in by a worker who leaves: at its next sync the hub takes what
    /// it holds and orders it to delete its store, which it does once the hub acknowledged all
    /// of its work. It receives nothing new meanwhile; after 30 days it is refused like a lost
    /// one.
    pub fn retire_device(&self, id: DeviceId) -> Result<()> {
        self.inner.db.write(|tx| {
            let now = now();
            devices::retire(tx, id, now)?;
            self.audit(tx, Action::DeviceRetired, Some(&id.to_string()), None, None, now)
        })
    }

    /// Renames a device: the name people know it by in lists and commands.
    pub fn rename_device(&self, id: DeviceId, name: &str) -> Result<()> {
        self.inner.db.write(|tx| {
            let now = now();
            let old = devices::rename(tx, id, name)?;
            let detail = format!("from {old:?} to {:?}", name.trim());
            self.audit(
                tx,
                Action::DeviceRenamed,
                Some(&id.to_string()),
                None,
                Some(&detail),
                now,
            )
        })
    }

    /// Makes an organisation (by name or id) a steward of a directory section: from then on its
    /// coordinators, and the hub's admins, edit the section; every other coordinator suggests
    /// changes, and the hub refuses their edits. A region may have several stewards.
    pub fn set_steward(&self, region: Region, org: &str) -> Result<Organisation> {
        self.inner.db.write(|tx| {
            let now = now();
            let org = devices::find_org(tx, org)?;
            if stewards::add(tx, region, &org.id)? {
                self.audit(
                    tx,
                    Action::StewardSet,
                    Some(region.as_str()),
                    Some(&org.id),
                    None,
                    now,
                )?;
            }
            Ok(org)
        })
    }

    /// Ends an organisation's stewardship of a directory section; a region left without
    /// steward is edited by every coordinator again.
    pub fn remove_steward(&self, region: Region, org: &str) -> Result<Organisation> {
        self.inner.db.write(|tx| {
            let now = now();
            let org = devices::find_org(tx, org)?;
            if !stewards::remove(tx, region, &org.id)? {
                return Err(Error::invalid(
                    "organisation",
                    format!("{} is no steward of {region}", org.name),
                ));
            }
            self.audit(
                tx,
                Action::StewardRemoved,
                Some(region.as_str()),
                Some(&org.id),
                None,
                now,
            )?;
            Ok(org)
        })
    }

    /// Every region with stewards, with its steward organisations by name.
    pub fn stewards(&self) -> Result<Vec<(Region, Vec<Organisation>)>> {
        self.inner.db.read(stewards::all)
    }

    /// The hub's public address as devices reach it, if one was set ([`Hub::set_hub_url`]).
    pub fn hub_url(&self) -> Result<Option<String>> {
        self.inner.db.read(|tx| crate::db::schema::get_meta(tx, HUB_URL))
    }

    /// Remembers the hub's public address, for the links of enrollment codes.
    pub fn set_hub_url(&self, url: &str) -> Result<()> {
        self.inner
            .db
            .write(|tx| crate::db::schema::set_meta(tx, HUB_URL, url.trim().trim_end_matches('/')))
    }

    /// Every enrolled device, revoked ones included, by organisation and name.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        self.inner.db.read(devices::list_devices)
    }

    /// Revokes a lost or stolen device: its next request is refused with an order to wipe its
    /// data, and nothing it holds is taken (the phone may be in other hands). Revoking a revoked
    /// device changes nothing.
    pub fn revoke_device(&self, id: DeviceId) -> Result<()> {
        self.inner.db.write(|tx| {
            let now = now();
            devices::revoke(tx, id, now)?;
            self.audit(tx, Action::DeviceRevoked, Some(&id.to_string()), None, None, now)
        })
    }

    /// Every stored document, in the order they were created.
    pub fn documents(&self) -> Result<Vec<DocumentInfo>> {
        self.inner.db.read(docs::list)
    }

    /// Every brochure file the hub holds, by name (its SHA-256 in hex), with its bytes read
    /// whole: for administration and tests.
    pub fn brochure_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        match &self.inner.blobs {
            crate::blobs::BlobStore::Files(dir) => dir.list(),
            crate::blobs::BlobStore::Database => self.inner.db.read(|tx| {
                let mut out = Vec::new();
                for (name, len) in crate::db::blobs::list(tx)? {
                    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                    for seq in 0..len.div_ceil(crate::db::blobs::CHUNK_BYTES as u64) {
                        let chunk = crate::db::blobs::chunk(tx, &name, seq)?
                            .ok_or_else(|| Error::Corrupt("a stored brochure file lacks a chunk".into()))?;
                        bytes.extend_from_slice(&chunk);
                    }
                    out.push((name, bytes));
                }
                Ok(out)
            }),
        }
    }

    /// The stored bytes of a document (its snapshot and increments, concatenated: a valid
    /// Automerge document), if the hub holds it.
    pub fn document_bytes(&self, id: DocId) -> Result<Option<Vec<u8>>> {
        self.inner.db.read(|tx| match docs::row(tx, id)? {
            Some(row) => Ok(Some(docs::bytes(tx, row.pk)?)),
            None => Ok(None),
        })
    }
}
