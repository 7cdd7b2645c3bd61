//! The audit log (schema v6, `audit_log`): one row per administrative act, written in the
//! transaction of the act itself, so that the log and what it records never disagree.

use super::{params, time_of, Tx};
use crate::admin::AuditEntry;
use crate::error::Result;

/// What is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    OrganisationAdded,
    CodeIssued,
    CodeCancelled,
    DeviceEnrolled,
    DeviceRevoked,
    DeviceRetired,
    DeviceRenamed,
    StewardSet,
    StewardRemoved,
    BackupTaken,
    HubMigrated,
}

impl Action {
    /// The stable name stored and shown.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::OrganisationAdded => "organisation_added",
            Action::CodeIssued => "code_issued",
            Action::CodeCancelled => "code_cancelled",
            Action::DeviceEnrolled => "device_enrolled",
            Action::DeviceRevoked => "device_revoked",
            Action::DeviceRetired => "device_retired",
            Action::DeviceRenamed => "device_renamed",
            Action::StewardSet => "steward_set",
            Action::StewardRemoved => "steward_removed",
            Action::BackupTaken => "backup_taken",
            Action::HubMigrated => "hub_migrated",
        }
    }
}

/// Who acts, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    pub who: String,
    pub from: String,
}

impl Actor {
    /// The operator running this process: their account on this host.
    pub(crate) fn operator() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| format!("uid {}", rustix::process::getuid().as_raw()));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "this host".into());
        Actor {
            who: format!("operator {user}"),
            from: format!("host {host}"),
        }
    }
}

/// One act to record: about `subject` (an id, never a secret), of organisation `org`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record<'a> {
    pub subject: Option<&'a str>,
    pub org: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// Records `action` by `actor` in the caller's transaction.
pub(crate) fn record(tx: &Tx<'_>, actor: &Actor, action: Action, what: Record<'_>, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, action, actor, origin, subject, org_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            now,
            action.as_str(),
            actor.who,
            actor.from,
            what.subject,
            what.org,
            what.detail
        ],
    )?;
    Ok(())
}

/// The entries since `since` (Unix seconds), oldest first, with their organisations' names.
pub(crate) fn since(tx: &Tx<'_>, since: i64) -> Result<Vec<AuditEntry>> {
    tx.query(
        "SELECT a.at, a.action, a.actor, a.origin, a.subject, o.name, a.detail
         FROM audit_log a LEFT JOIN organisations o ON o.id = a.org_id
         WHERE a.at >= ?1 ORDER BY a.at, a.id",
        params![since],
    )?
    .iter()
    .map(|r| {
        Ok(AuditEntry {
            at: time_of(r.get(0)?),
            action: r.get(1)?,
            actor: r.get(2)?,
            origin: r.get(3)?,
            subject: r.get(4)?,
            organisation: r.get(5)?,
            detail: r.get(6)?,
        })
    })
    .collect()
}
