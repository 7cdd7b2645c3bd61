//! An online copy of `hub.db` while the hub serves: SQLite's backup API reads one snapshot (a
//! read transaction held from start to end, which in WAL mode never blocks writers) and copies
//! it in steps into a new file beside the target, encrypted with the hub's key when the hub has
//! one. The file is made 0600, synced, and only then renamed into place.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{cipher, connect, side_file, SqliteDb};
use crate::error::{Error, Result};
use crate::owner_only;

/// Pages copied per step (4 MiB at SQLCipher's and SQLite's 4096-byte pages).
const PAGES_PER_STEP: i32 = 1024;

/// How long a backup waits, in all, for a lock it cannot take at once.
const BUSY_LIMIT: Duration = Duration::from_secs(60);

impl SqliteDb {
    /// Copies the database as it is now to `target`, replacing a file there; returns the size
    /// of the copy in bytes. Writers go on while it runs; what they commit after it started is
    /// not in the copy.
    pub(crate) fn backup_to(&self, target: &Path) -> Result<u64> {
        self.backup_in_steps(target, PAGES_PER_STEP)
    }

    /// [`Db::backup_to`], `pages` pages per step.
    fn backup_in_steps(&self, target: &Path, pages: i32) -> Result<u64> {
        self.refuse_live_files(target)?;
        let (dir, temp, _) = owner_only::partial_beside(target, "backup file")?;
        let copied = self.copy_into(&temp, pages).and_then(|size| {
            std::fs::File::open(&temp)?.sync_all()?;
            std::fs::rename(&temp, target)?;
            owner_only::sync_dir(&dir)?;
            Ok(size)
        });
        if copied.is_err() {
            let _ = std::fs::remove_file(&temp);
            let _ = std::fs::remove_file(side_file(&temp, "-journal"));
        }
        copied
    }

    /// A backup over the live database (or its side files) would destroy it.
    fn refuse_live_files(&self, target: &Path) -> Result<()> {
        let canonical = |p: &Path| -> Option<PathBuf> {
            let parent = match p.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            Some(parent.canonicalize().ok()?.join(p.file_name()?))
        };
        let (Some(target), Some(live)) = (canonical(target), canonical(&self.path)) else {
            return Ok(());
        };
        let live_files = ["", "-wal", "-shm", "-journal"].map(|suffix| side_file(&live, suffix));
        if live_files.contains(&target) {
            return Err(Error::invalid(
                "backup file",
                format!(
                    "{} is the live database: write the backup elsewhere",
                    target.display()
                ),
            ));
        }
        Ok(())
    }

    /// Copies one snapshot of the database into the empty file `temp`.
    fn copy_into(&self, temp: &Path, pages: i32) -> Result<u64> {
        let source = connect(&self.path, self.key.as_ref(), false)?;
        // The snapshot: every commit before this read is in the copy, none after it.
        source.execute_batch("BEGIN DEFERRED")?;
        source.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut copy = Connection::open_with_flags(temp, flags)?;
        cipher::apply_key(&copy, self.key.as_ref())?;
        // The copy is renamed into place only when complete: a rollback journal would be waste.
        let _: String = copy.query_row("PRAGMA journal_mode = OFF", [], |r| r.get(0))?;
        {
            let backup = Backup::new(&source, &mut copy)?;
            let started = Instant::now();
            loop {
                match backup.step(pages)? {
                    StepResult::Done => break,
                    StepResult::More => std::thread::yield_now(),
                    StepResult::Busy | StepResult::Locked if started.elapsed() < BUSY_LIMIT => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => {
                        return Err(Error::Server(
                            "the backup could not lock the database in time".into(),
                        ))
                    }
                }
            }
        }
        source.execute_batch("COMMIT")?;
        // The copy opens with the same key and holds the same schema.
        copy.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
        drop(copy);
        Ok(std::fs::metadata(temp)?.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::owner_only::Tightened;
    use crate::seal::{KeyPlace, SealKeySource};

    fn rows(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM meta WHERE key LIKE 'row %'", [], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn a_backup_in_one_page_steps_completes_whole_while_another_connection_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("hub.db");
        let key = cipher::DbKey::random();
        let seal_key = KeyPlace::resolve(&SealKeySource::DataDir, tmp.path());
        let db = crate::db::Db::open(&path, Some(key.clone()), &seal_key, &mut Tightened::default()).unwrap();
        let value = "x".repeat(2000);
        db.write(|tx| {
            for i in 0..500 {
                tx.execute(
                    "INSERT INTO meta VALUES (?1, ?2)",
                    crate::db::params![format!("row {i}"), value],
                )?;
            }
            Ok::<_, Error>(())
        })
        .unwrap();

        // A writer on its own connection commits row after row during the whole backup.
        let (stop, committed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(500)));
        let writer = {
            let (stop, committed, path, key, value) = (
                stop.clone(),
                committed.clone(),
                path.clone(),
                key.clone(),
                value.clone(),
            );
            std::thread::spawn(move || {
                let conn = connect(&path, Some(&key), false).unwrap();
                while !stop.load(Ordering::SeqCst) {
                    let i = committed.load(Ordering::SeqCst);
                    conn.execute(
                        "INSERT INTO meta VALUES (?1, ?2)",
                        [format!("row {i}"), value.clone()],
                    )
                    .unwrap();
                    committed.store(i + 1, Ordering::SeqCst);
                }
            })
        };
        while committed.load(Ordering::SeqCst) < 520 {
            std::thread::yield_now();
        }
        let before = committed.load(Ordering::SeqCst);
        let copy = tmp.path().join("copy.db");
        db.sqlite().unwrap().backup_in_steps(&copy, 1).unwrap();
        let after = committed.load(Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        eprintln!("rows committed during the backup: {}", after - before);

        let conn = Connection::open(&copy).unwrap();
        cipher::apply_key(&conn, Some(&key)).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let copied = rows(&conn) as usize;
        assert!(
            copied >= before && copied <= after,
            "{before} <= {copied} <= {after}"
        );
    }
}
