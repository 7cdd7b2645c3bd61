//! The PostgreSQL backend (`--database postgres://...`), for a network that outgrows one
//! machine: several hub processes may serve one database, any of them any request.
//!
//! The driver is tokio-postgres (rust-postgres), waited for synchronously: the hub's storage
//! work already runs on blocking threads (every request's database work is one closure on
//! `spawn_blocking`), so the queries of [`super::sql`] run unchanged on both backends, without
//! an async rewrite of the sync path or a second copy of its SQL. The connections' socket work
//! runs on a small runtime of the backend's own, so that a query may also be waited for from
//! an async context (the administration API in tests, a command): rust-postgres's blocking
//! client refuses that. No compile-time query checking (sqlx's) is wanted here: the SQL is
//! shared with SQLite and checked by the tests on both.
//!
//! Concurrency, across instances as within one:
//! - The sync's writes (documents, their chunks, what the hub last answered a device, when a
//!   device was last seen) run READ COMMITTED and rest on rows: every document update checks
//!   the version it was validated at (`docs::update`), a new document's insert finds one
//!   inserted meanwhile (`ON CONFLICT DO NOTHING`), and a sync that lost such a race runs again
//!   with the documents' rows locked (`SELECT ... FOR UPDATE`, in id order). Writers to
//!   different documents neither wait for nor abort each other, which SERIALIZABLE's page-level
//!   predicate locks made them do (more than one retry per push under 200 devices at once).
//! - Every other write (enrollment, codes, organisations, devices, the audit log, brochure
//!   files) is SERIALIZABLE: the outcome is that of the transactions one after the other, as
//!   with SQLite's single writer, or PostgreSQL refuses one (SQLSTATE 40001) and it runs again
//!   from the start, up to [`WRITE_ATTEMPTS`] times with a short random pause; so is a
//!   deadlock (40P01) in either kind.
//! - Reads are REPEATABLE READ, READ ONLY: one consistent snapshot; their BEGIN travels with
//!   their first statement.
//!
//! Transport: TLS with rustls when the server offers it (libpq's `sslmode=prefer`, the default)
//! or always (`sslmode=require`; `verify-ca` and `verify-full` mean the same here): the server's
//! certificate is always verified, chain and name, against the public roots or the PEM file
//! named by `sslrootcert=` in the URL, as libpq names it. `sslmode=disable` for none.
//!
//! Schema: the same versions as the embedded backend (`sql/pg/vN.sql` beside `sql/vN.sql`),
//! recorded in `hub_schema`; the migration takes a transaction-level advisory lock, so that
//! instances starting together migrate once.

use std::cell::RefCell;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use outreach_core::model::DeviceId;

use super::sql::{params, PgConn, Tx};
use crate::error::{Error, Result};

/// Connections one instance opens at most: PostgreSQL's default `max_connections` (100) leaves
/// room for several instances and the operator's own sessions.
pub(crate) const MAX_CONNECTIONS: usize = 16;

/// How long a request waits for a free connection before the hub answers that it is busy.
const CONNECTION_WAIT: Duration = Duration::from_secs(10);

/// How many times a write transaction is tried when PostgreSQL refuses to serialise it.
pub(crate) const WRITE_ATTEMPTS: u32 = 12;

/// The schema steps, version by version, as for the embedded backend (`schema::STEPS`).
pub(crate) const STEPS: &[&str] = &[
    include_str!("sql/pg/v1.sql"),
    include_str!("sql/pg/v2.sql"),
    include_str!("sql/pg/v3.sql"),
    include_str!("sql/pg/v4.sql"),
    include_str!("sql/pg/v5.sql"),
    include_str!("sql/pg/v6.sql"),
    include_str!("sql/pg/v7.sql"),
    include_str!("sql/pg/v8.sql"),
    include_str!("sql/pg/v9.sql"),
];

/// The key of the advisory lock the migration holds.
const MIGRATION_LOCK: i64 = 0x6f75_7472_6561_6368;

/// How a transaction begins.
#[derive(Debug, Clone, Copy)]
enum Begin {
    /// At once (writes: their statements must never run outside the transaction).
    Now(&'static str),
    /// With the first statement, in the same round trip (reads).
    WithFirstStatement(&'static str),
}

/// A pool of connections to one PostgreSQL database.
pub(crate) struct PgDb {
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// The `sslrootcert=` of the URL.
    root_cert: Option<std::path::PathBuf>,
    /// Write transactions run again after a serialization failure, since the pool opened.
    retries: std::sync::atomic::AtomicU64,
    pool: Mutex<Pool>,
    freed: Condvar,
    /// Runs the connections' socket work; shut down (without waiting) when the pool goes.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Default)]
struct Pool {
    idle: Vec<PgConn>,
    open: usize,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PgDb").finish_non_exhaustive()
    }
}

impl PgDb {
    /// Write transactions run again after a serialization failure.
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// libpq's environment for the same connection (`pg_dump`'s): host, port, user, database,
    /// password and TLS, with the server's certificate verified as the hub verifies it.
    pub(crate) fn libpq_env(&self) -> Vec<(&'static str, String)> {
        use tokio_postgres::config::{Host, SslMode};
        let config = &self.config;
        let mut env = Vec::new();
        if let Some(host) = config.get_hosts().first() {
            match host {
                Host::Tcp(name) => env.push(("PGHOST", name.clone())),
                Host::Unix(dir) => env.push(("PGHOST", dir.display().to_string())),
            }
        }
        if let Some(port) = config.get_ports().first() {
            env.push(("PGPORT", port.to_string()));
        }
        if let Some(user) = config.get_user() {
            env.push(("PGUSER", user.to_string()));
        }
        if let Some(db) = config.get_dbname() {
            env.push(("PGDATABASE", db.to_string()));
        }
        if let Some(password) = config.get_password() {
            env.push(("PGPASSWORD", String::from_utf8_lossy(password).into_owned()));
        }
        let mode = match (config.get_ssl_mode(), &self.root_cert) {
            (SslMode::Disable, _) => "disable",
            (_, Some(root)) => {
                env.push(("PGSSLROOTCERT", root.display().to_string()));
                "verify-full"
            }
            // Without a root file libpq verifies against ~/.postgresql/root.crt if there is one
            // (its "system" roots need libpq 16).
            (SslMode::Require, None) => "require",
            _ => "prefer",
        };
        env.push(("PGSSLMODE", mode.into()));
        env
    }

    /// Connects to `url` and brings its schema to the newest version; returns the hub's id.
    pub(crate) fn open(url: &str) -> Result<(PgDb, DeviceId)> {
        let (url, root_cert) = tls_options(url);
        let tls = tls_connector(root_cert.as_deref())?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
            Error::invalid("database", "it is not a PostgreSQL URL (postgres://user@host/db)")
        })?;
        config.application_name("outreach-hub");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("outreach-hub-postgres")
            .enable_io()
            .enable_time()
            .build()?;
        let db = PgDb {
            config,
            tls,
            root_cert,
            retries: std::sync::atomic::AtomicU64::new(0),
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            runtime: Some(runtime),
        };
        let conn = db.take()?;
        let (conn, hub_id) = PgDb::once(conn, Begin::Now("BEGIN"), migrate);
        db.give_back(conn);
        Ok((db, hub_id?))
    }

    fn connect(&self) -> Result<PgConn> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| Error::Server("the database pool is closed".into()))?;
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let connecting = runtime.spawn(async move {
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(target: crate::log_targets::STORAGE, error = %e, "a PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = super::sql::wait(connecting)
            .map_err(|e| Error::Server(format!("connecting to PostgreSQL failed: {e}")))??;
        Ok(PgConn::new(client))
    }

    fn take(&self) -> Result<PgConn> {
        let deadline = Instant::now() + CONNECTION_WAIT;
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = pool.idle.pop() {
                if !conn.is_closed() {
                    return Ok(conn);
                }
                pool.open -= 1;
                continue;
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                return self.connect().inspect_err(|_| {
                    self.pool.lock().unwrap_or_else(PoisonError::into_inner).open -= 1;
                    self.freed.notify_one();
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy("every database connection stayed in use"));
            }
            pool = self
                .freed
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Returns a connection to the pool; one that failed (or is in a transaction still) is
    /// closed instead.
    fn give_back(&self, conn: PgConn) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if conn.is_closed() || conn.broken {
            pool.open -= 1;
        } else {
            pool.idle.push(conn);
        }
        drop(pool);
        self.freed.notify_one();
    }

    /// Runs `f` in one transaction begun with `begin`, committed if `f` succeeds.
    /// A read transaction's BEGIN is deferred (`Begin::WithFirstStatement`): sent with its
    /// first statement, or never.
    fn once<T, E>(
        conn: PgConn,
        begin: Begin,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> (PgConn, Result<T, E>)
    where
        E: From<Error>,
    {
        let cell = RefCell::new(conn);
        let result = (|| {
            match begin {
                Begin::WithFirstStatement(sql) => cell.borrow_mut().deferred_begin = Some(sql),
                Begin::Now(sql) => cell.borrow_mut().batch_execute(sql)?,
            }
            cell.borrow_mut().broken = true;
            let value = f(&Tx::postgres(&cell));
            let mut conn = cell.borrow_mut();
            let ended = if conn.deferred_begin.take().is_some() {
                // Nothing ran: there is no transaction to end.
                Ok(())
            } else {
                conn.batch_execute(if value.is_ok() { "COMMIT" } else { "ROLLBACK" })
            };
            conn.broken = ended.is_err();
            drop(conn);
            let value = value?;
            ended?;
            Ok(value)
        })();
        (cell.into_inner(), result)
    }

    pub(crate) fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let conn = self.take()?;
        let (conn, result) = PgDb::once(
            conn,
            Begin::WithFirstStatement("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            f,
        );
        self.give_back(conn);
        result
    }

    pub(crate) fn write<T, E>(&self, f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        self.write_as("BEGIN ISOLATION LEVEL SERIALIZABLE", f)
    }

    /// See `Db::write_rows`: READ COMMITTED, run again only after a deadlock between row locks.
    pub(crate) fn write_rows<T, E>(&self, f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        self.write_as("BEGIN ISOLATION LEVEL READ COMMITTED", f)
    }

    fn write_as<T, E>(&self, begin: &'static str, mut f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let mut conn = self.take()?;
        let mut attempt = 1;
        let result = loop {
            conn.serialization_failed = false;
            let (back, result) = PgDb::once(conn, Begin::Now(begin), &mut f);
            conn = back;
            let retry = result.is_err() && attempt < WRITE_ATTEMPTS && conn.serialization_failed;
            if !retry {
                break result;
            }
            attempt += 1;
            self.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Back off a little, at random, so that the same transactions do not meet again.
            let pause = rand::random_range(1..=(2u64 << attempt.min(6)));
            std::thread::sleep(Duration::from_millis(pause));
        };
        self.give_back(conn);
        result
    }
}

/// `url` without the options tokio-postgres does not know (`sslrootcert=`, and `sslmode=verify-ca`
/// or `verify-full`, which become `require`: the certificate is verified in every mode), and the
/// root certificate file named.
fn tls_options(url: &str) -> (String, Option<std::path::PathBuf>) {
    let mut root = None;
    let keep = |key: &str, value: &str, root: &mut Option<std::path::PathBuf>| -> Option<String> {
        match key {
            "sslrootcert" => {
                *root = Some(std::path::PathBuf::from(value));
                None
            }
            "sslmode" if matches!(value, "verify-ca" | "verify-full") => Some(format!("{key}=require")),
            _ => Some(format!("{key}={value}")),
        }
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None);
        };
        let kept: Vec<String> = query
            .split('&')
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                keep(key, value, &mut root)
            })
            .collect();
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (url, root)
    } else {
        let kept: Vec<String> = url
            .split_whitespace()
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                keep(key, value, &mut root)
            })
            .collect();
        (kept.join(" "), root)
    }
}

/// The TLS connector: rustls with the public roots, or with the certificates of `root_cert`.
fn tls_connector(root_cert: Option<&std::path::Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let bad =
                |e: String| Error::invalid("database root certificate", format!("{}: {e}", path.display()));
            for cert in
                rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?
            {
                roots
                    .add(cert.map_err(|e| bad(e.to_string()))?)
                    .map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("it holds no certificate".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Brings the schema to the last version of [`STEPS`] in one transaction under an advisory lock
/// and returns the hub's id, made for a new database.
fn migrate(tx: &Tx<'_>) -> Result<DeviceId> {
    tx.query_one("SELECT pg_advisory_xact_lock(?1)::text", params![MIGRATION_LOCK])?;
    tx.batch("CREATE TABLE IF NOT EXISTS hub_schema (version BIGINT NOT NULL)")?;
    let found: Option<i64> = tx
        .query_opt("SELECT version FROM hub_schema", params![])?
        .map(|r| r.get(0))
        .transpose()?;
    let found = found.unwrap_or(0);
    let supported = STEPS.len() as i64;
    if found > supported {
        return Err(Error::SchemaTooNew {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: supported as u32,
        });
    }
    for step in &STEPS[found as usize..] {
        tx.batch(step)?;
    }
    if found == 0 {
        tx.execute("INSERT INTO hub_schema (version) VALUES (?1)", params![supported])?;
    } else if found < supported {
        tx.execute("UPDATE hub_schema SET version = ?1", params![supported])?;
    }
    super::schema::hub_id(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_both_forms_of_url() {
        assert_eq!(
            tls_options(
                "postgres://hub@db/outreach?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5"
            ),
            (
                "postgres://hub@db/outreach?sslmode=require&connect_timeout=5".to_string(),
                Some("/etc/ca.pem".into())
            )
        );
        assert_eq!(
            tls_options("postgres://hub@db/outreach?sslrootcert=/ca.pem"),
            ("postgres://hub@db/outreach".to_string(), Some("/ca.pem".into()))
        );
        assert_eq!(
            tls_options("postgres://hub@db/outreach"),
            ("postgres://hub@db/outreach".to_string(), None)
        );
        assert_eq!(
            tls_options("host=db user=hub sslmode=verify-ca sslrootcert=/ca.pem"),
            (
                "host=db user=hub sslmode=require".to_string(),
                Some("/ca.pem".into())
            )
        );
    }
}
