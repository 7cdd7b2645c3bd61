//! One migration helper for every Outreach SQLite database (the device store, the hub): the
//! schema version lives in `PRAGMA user_version`, each version is a frozen SQL step, and
//! [`migrate`] runs the missing steps in order inside one IMMEDIATE transaction. A database
//! newer than the code is refused before anything is written; a step that fails leaves the
//! database as it was.
//!
//! This module needs only rusqlite, so that the hub uses it without the device store.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

/// Why a migration failed. The caller's own error converts from it (`From<MigrationError>`).
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database was written by newer code; nothing was written to it.
    #[error("schema version {found} is newer than the {supported} this code supports")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this code knows.
        supported: u32,
    },
    /// The frozen SQL of the step to `version` failed; every step of this migration was rolled
    /// back.
    #[error("the schema step to version {version} failed: {source}")]
    Step {
        /// The version the step leads to.
        version: u32,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading the version, or the transaction around the steps, failed.
    #[error("{0}")]
    Sql(#[from] rusqlite::Error),
}

/// A database's schema: its frozen steps and the work that goes with them.
///
/// Step `i` of [`Migrations::STEPS`] brings the database from version `i` to `i + 1`, so adding
/// a version is adding its SQL file at the end of the list.
pub trait Migrations {
    /// The frozen SQL of each step, in order. Never edit a step once released.
    const STEPS: &'static [&'static str];
    /// The caller's error, which hooks return and [`MigrationError`] converts into.
    type Error: From<MigrationError>;
    /// What [`Migrations::finish`] returns from [`migrate`].
    type Output;

    /// Runs inside the transaction before the SQL of the step to version `to`: work a step
    /// needs outside SQL (moving a key out of the database into a file, say).
    fn before_step(&mut self, _tx: &Transaction<'_>, _to: u32) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Runs inside the transaction after the steps (also when none was missing), before the
    /// commit: reading or creating the database's identity, say.
    fn finish(self, tx: &Transaction<'_>, outcome: Outcome) -> Result<Self::Output, Self::Error>;
}

/// The versions a migration went between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The version the database had (0 for a new database).
    pub from: u32,
    /// The version it has now: the newest this code knows.
    pub to: u32,
}

impl Outcome {
    /// Whether the database was new (version 0) and built from the first step.
    pub fn created(&self) -> bool {
        self.from == 0
    }
}

/// The newest version a list of steps leads to.
pub const fn end_version(steps: &[&str]) -> u32 {
    steps.len() as u32
}

/// Brings the database to the newest version of `M`, in one IMMEDIATE transaction that commits
/// only if every step and hook succeeded. A newer database is refused with
/// [`MigrationError::SchemaTooNew`] before anything is written.
///
/// Foreign keys are not enforced while the steps run, so that a step may rebuild a table that
/// others reference (as SQLite's documented procedure for schema changes does); every reference
/// is checked before the commit, and enforcement is restored after.
pub fn migrate<M: Migrations>(conn: &mut Connection, migrations: M) -> Result<M::Output, M::Error> {
    let enforced: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .map_err(MigrationError::from)?;
    if enforced {
        conn.pragma_update(None, "foreign_keys", false)
            .map_err(MigrationError::from)?;
    }
    let done = run_steps(conn, migrations);
    if enforced {
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(MigrationError::from)?;
    }
    done
}

fn run_steps<M: Migrations>(conn: &mut Connection, migrations: M) -> Result<M::Output, M::Error> {
    let mut migrations = migrations;
    let end = end_version(M::STEPS);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(MigrationError::from)?;
    let from = user_version(&tx).map_err(MigrationError::from)?;
    if from > end {
        // Dropping the transaction rolls it back; it wrote nothing.
        return Err(MigrationError::SchemaTooNew {
            found: from,
            supported: end,
        }
        .into());
    }
    for (i, sql) in M::STEPS.iter().enumerate().skip(from as usize) {
        let to = i as u32 + 1;
        migrations.before_step(&tx, to)?;
        tx.execute_batch(sql)
            .map_err(|source| MigrationError::Step { version: to, source })?;
    }
    if from < end {
        tx.pragma_update(None, "user_version", end)
            .map_err(MigrationError::from)?;
    }
    let output = migrations.finish(&tx, Outcome { from, to: end })?;
    // What the steps did must leave every reference whole.
    let broken = tx
        .prepare("PRAGMA foreign_key_check")
        .and_then(|mut stmt| stmt.exists([]))
        .map_err(MigrationError::from)?;
    if broken {
        return Err(MigrationError::Sql(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
            Some("a schema step left a broken reference".into()),
        ))
        .into());
    }
    tx.commit().map_err(MigrationError::from)?;
    Ok(output)
}

/// The schema version of the database (`PRAGMA user_version`).
pub fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Builds a database at exactly `version` from the first `version` frozen steps, as code of
/// that version left it: for upgrade tests.
pub fn build_at_version(conn: &Connection, steps: &[&str], version: u32) -> rusqlite::Result<()> {
    for sql in &steps[..version as usize] {
        conn.execute_batch(sql)?;
    }
    conn.pragma_update(None, "user_version", version)
}

/// Reads a setting from the `meta` table (`key TEXT PRIMARY KEY, value TEXT NOT NULL`) that
/// every Outreach schema starts with.
pub fn get_meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// Writes a setting to the `meta` table, replacing its value.
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A three-step schema whose hooks record what ran; `fail_before` makes the hook of that
    /// step fail.
    #[derive(Default)]
    struct Test {
        calls: Vec<u32>,
        fail_before: Option<u32>,
    }

    #[derive(Debug)]
    enum TestError {
        Migration(MigrationError),
        Hook(u32),
    }

    impl From<MigrationError> for TestError {
        fn from(e: MigrationError) -> TestError {
            TestError::Migration(e)
        }
    }

    impl Migrations for Test {
        const STEPS: &'static [&'static str] = &[
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
            "ALTER TABLE notes ADD COLUMN month TEXT;",
        ];
        type Error = TestError;
        type Output = (Vec<u32>, Outcome);

        fn before_step(&mut self, tx: &Transaction<'_>, to: u32) -> Result<(), TestError> {
            self.calls.push(to);
            if self.fail_before == Some(to) {
                return Err(TestError::Hook(to));
            }
            if to == 3 {
                // Work a step does before its SQL sees the earlier steps.
                set_meta(tx, "before_3", "ran").map_err(MigrationError::from)?;
            }
            Ok(())
        }

        fn finish(self, _tx: &Transaction<'_>, outcome: Outcome) -> Result<Self::Output, TestError> {
            Ok((self.calls, outcome))
        }
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn a_new_database_runs_every_step_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        let (calls, outcome) = migrate(&mut conn, Test::default()).unwrap();
        assert_eq!(calls, [1, 2, 3]);
        assert_eq!(outcome, Outcome { from: 0, to: 3 });
        assert!(outcome.created());
        assert_eq!(user_version(&conn).unwrap(), 3);
        assert_eq!(get_meta(&conn, "before_3").unwrap().as_deref(), Some("ran"));
        conn.execute("INSERT INTO notes (body, month) VALUES ('x', '2026-01')", [])
            .unwrap();
    }

    #[test]
    fn an_older_database_runs_only_the_missing_steps_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        build_at_version(&conn, Test::STEPS, 2).unwrap();
        conn.execute("INSERT INTO notes (body) VALUES ('kept')", [])
            .unwrap();
        let (calls, outcome) = migrate(&mut conn, Test::default()).unwrap();
        assert_eq!(calls, [3]);
        assert_eq!(outcome, Outcome { from: 2, to: 3 });
        let body: String = conn
            .query_row("SELECT body FROM notes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(body, "kept");
        assert_eq!(user_version(&conn).unwrap(), 3);
    }

    #[test]
    fn a_current_database_runs_no_step() {
        let mut conn = Connection::open_in_memory().unwrap();
        build_at_version(&conn, Test::STEPS, 3).unwrap();
        let (calls, outcome) = migrate(&mut conn, Test::default()).unwrap();
        assert!(calls.is_empty());
        assert_eq!(outcome, Outcome { from: 3, to: 3 });
    }

    #[test]
    fn a_newer_database_is_refused_and_left_byte_for_byte_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        {
            let conn = Connection::open(&path).unwrap();
            build_at_version(&conn, Test::STEPS, 3).unwrap();
            conn.execute("INSERT INTO notes (body) VALUES ('from the future')", [])
                .unwrap();
            conn.pragma_update(None, "user_version", 7).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let mut conn = Connection::open(&path).unwrap();
        let e = migrate(&mut conn, Test::default()).unwrap_err();
        assert!(
            matches!(
                e,
                TestError::Migration(MigrationError::SchemaTooNew {
                    found: 7,
                    supported: 3
                })
            ),
            "{e:?}"
        );
        drop(conn);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_failing_step_rolls_every_step_back() {
        let mut conn = Connection::open_in_memory().unwrap();
        build_at_version(&conn, Test::STEPS, 1).unwrap();
        // Step 3 adds a column that step 2 already made: its SQL fails after step 2 ran.
        struct Clash;
        impl Migrations for Clash {
            const STEPS: &'static [&'static str] = &[
                Test::STEPS[0],
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, month TEXT);",
                "ALTER TABLE notes ADD COLUMN month TEXT;",
            ];
            type Error = MigrationError;
            type Output = ();
            fn finish(self, _: &Transaction<'_>, _: Outcome) -> Result<(), MigrationError> {
                Ok(())
            }
        }
        let e = migrate(&mut conn, Clash).unwrap_err();
        assert!(matches!(e, MigrationError::Step { version: 3, .. }), "{e:?}");
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(tables(&conn), ["meta"]);
    }

    #[test]
    fn a_failing_hook_rolls_every_step_back() {
        let mut conn = Connection::open_in_memory().unwrap();
        build_at_version(&conn, Test::STEPS, 1).unwrap();
        set_meta(&conn, "kept", "yes").unwrap();
        let failing = Test {
            fail_before: Some(3),
            ..Test::default()
        };
        let e = migrate(&mut conn, failing).unwrap_err();
        assert!(matches!(e, TestError::Hook(3)), "{e:?}");
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(tables(&conn), ["meta"]);
        assert_eq!(get_meta(&conn, "kept").unwrap().as_deref(), Some("yes"));
    }

    #[test]
    fn meta_values_are_replaced() {
        let conn = Connection::open_in_memory().unwrap();
        build_at_version(&conn, Test::STEPS, 1).unwrap();
        assert_eq!(get_meta(&conn, "k").unwrap(), None);
        set_meta(&conn, "k", "1").unwrap();
        set_meta(&conn, "k", "2").unwrap();
        assert_eq!(get_meta(&conn, "k").unwrap().as_deref(), Some("2"));
    }
}
