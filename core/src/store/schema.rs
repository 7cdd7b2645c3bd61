//! Schema migrations by `PRAGMA user_version`, in one IMMEDIATE transaction: a new database is
//! built by running every step from version 1, an older one is upgraded step by step, a newer
//! one is refused. The read model has its own version: when it changes, it is rebuilt from the
//! documents, which are the source of truth.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::model::DeviceId;

/// Newest schema version this code knows.
pub const END_VERSION: u32 = 4;

/// Version of the read model's content (how documents are indexed). Bumping it makes every
/// store rebuild its read model on open.
pub const READ_MODEL_VERSION: u32 = 2;

/// The frozen SQL of each schema step, in order.
pub const STEPS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
];

/// Meta key of the epoch of this device's actor.
pub(crate) const ACTOR_EPOCH: &str = "actor_epoch";

/// What [`migrate`] found and did.
pub(crate) struct Migrated {
    /// This device's id.
    pub device: DeviceId,
    /// The epoch of its actor (see `doc/actor.rs`).
    pub epoch: u32,
    /// Whether the read model must be rebuilt (new read model version).
    pub rebuild: bool,
}

/// Brings the database to [`END_VERSION`] and returns the device id, creating one for a new
/// store. Nothing is written when the database is newer than this code.
pub(crate) fn migrate(conn: &mut Connection) -> Result<Migrated> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > END_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: END_VERSION,
        });
    }
    upgrade_from(&tx, version)?;
    let device = match get_meta(&tx, "device_id")? {
        Some(d) => d
            .parse()
            .map_err(|_| Error::Corrupt("the device id is unreadable"))?,
        None => {
            let d = DeviceId::random();
            set_meta(&tx, "device_id", &d.to_string())?;
            set_meta(&tx, "created_at", &chrono::Utc::now().to_rfc3339())?;
            d
        }
    };
    let epoch = match get_meta(&tx, ACTOR_EPOCH)? {
        Some(e) => e
            .parse()
            .map_err(|_| Error::Corrupt("the actor epoch is unreadable"))?,
        None => 0,
    };
    let rm: Option<u32> = get_meta(&tx, "read_model_version")?.and_then(|v| v.parse().ok());
    let rebuild = rm != Some(READ_MODEL_VERSION);
    if rebuild {
        set_meta(&tx, "read_model_version", &READ_MODEL_VERSION.to_string())?;
    }
    tx.commit()?;
    Ok(Migrated {
        device,
        epoch,
        rebuild,
    })
}

/// Runs the steps after `version`.
fn upgrade_from(tx: &Transaction<'_>, version: u32) -> Result<()> {
    for (i, sql) in STEPS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
    }
    Ok(())
}

/// Reads a setting.
pub(crate) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a setting.
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}
