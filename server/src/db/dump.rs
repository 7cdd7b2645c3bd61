//! The backup of a hub on PostgreSQL: `pg_dump --format=custom` of the hub's database, one
//! consistent snapshot (pg_dump reads everything in one REPEATABLE READ transaction, and
//! writers go on meanwhile), brochure files included since they are in the database. The dump
//! is written to a 0600 file beside the target, synced, and renamed into place once complete.
//! The connection settings reach pg_dump through its environment, never its command line,
//! where other users of the host could read a password.
//!
//! Restore (see the README): `pg_restore --exit-on-error --single-transaction --no-owner
//! --dbname NEW` into a new, empty database, then serve it with the same seal key.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::owner_only;

/// The program run, found on `PATH` unless `OUTREACH_HUB_PG_DUMP` names it.
fn pg_dump() -> PathBuf {
    std::env::var_os("OUTREACH_HUB_PG_DUMP").map_or_else(|| PathBuf::from("pg_dump"), PathBuf::from)
}

/// Dumps the database of `db` to `target`; returns the dump's size in bytes.
pub(crate) fn dump(db: &super::postgres::PgDb, target: &Path) -> Result<u64> {
    let (dir, temp, file) = owner_only::partial_beside(target, "backup file")?;
    let dumped = (|| {
        let out = Command::new(pg_dump())
            .args(["--format=custom", "--compress=6", "--no-owner", "--no-privileges"])
            .env_clear()
            .envs(db.libpq_env())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| {
                Error::Server(format!(
                    "cannot run pg_dump (install PostgreSQL's client tools): {e}"
                ))
            })?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Server(format!("pg_dump failed: {}", said.trim())));
        }
        file.sync_all()?;
        std::fs::rename(&temp, target)?;
        owner_only::sync_dir(&dir)?;
        Ok(std::fs::metadata(target)?.len())
    })();
    if dumped.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    dumped
}
