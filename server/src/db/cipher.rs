//! SQLCipher for `hub.db`: a raw 32-byte key applied to every connection, and a check, made
//! before anything opens the file for writing, that tells a wrong key, a missing key and a key
//! for a plaintext database apart without changing a byte of the file.
//!
//! The hub keeps SQLCipher 4's default settings (HMAC-SHA512, 4096-byte pages), so the
//! `sqlcipher` shell opens a hub database after nothing more than `PRAGMA key = "x'...'"`.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};
use crate::owner_only;

/// The SQLCipher key of `hub.db`: 32 random bytes, applied raw (no passphrase KDF). Kept in a
/// file of its own outside the database, as 64 hexadecimal characters (`openssl rand -hex 32`).
#[derive(Clone)]
pub struct DbKey([u8; 32]);

impl DbKey {
    /// Reads a key file: 64 hex characters, the file readable by its owner only.
    pub fn from_file(path: impl AsRef<Path>) -> Result<DbKey> {
        owner_only::read_key_file(path.as_ref(), "database key").map(DbKey)
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> DbKey {
        DbKey(bytes)
    }

    /// A new random key.
    pub fn random() -> DbKey {
        DbKey(rand::random())
    }

    /// The key as 64 hex characters, as a key file holds it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(..)")
    }
}

impl Drop for DbKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
    }
}

/// Applies `key` (if any) to a connection just opened, before anything reads the file. SQLCipher
/// would log a failed decryption to stderr; the hub reports it as a typed error instead.
pub(crate) fn apply_key(conn: &Connection, key: Option<&DbKey>) -> Result<()> {
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    if let Some(key) = key {
        // A blob literal: SQLCipher takes the bytes as the key itself and skips its KDF.
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))?;
    }
    Ok(())
}

/// Reading the schema decrypts page 1: this is where a wrong or missing key shows.
fn read_schema(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::NotADatabase || f.code == ErrorCode::DatabaseCorrupt)
}

/// Checks that `key` (or no key) opens the existing, non-empty database at `path`. The check
/// reads through an immutable read-only connection, so a refusal writes nothing: no -wal or
/// -shm file is made, none is checkpointed.
pub(crate) fn check_key(path: &Path, key: Option<&DbKey>) -> Result<()> {
    // An immutable read takes no lock: beside a serving hub (a -wal file exists) a checkpoint
    // may rewrite page 1 while it is read. A refusal is only believed if it holds a moment later.
    let live = super::side_file(path, "-wal").exists();
    for _ in 0..2 {
        match probe(path, key) {
            Err(Error::WrongDatabaseKey(_) | Error::DatabaseKeyMissing(_)) if live => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
    probe(path, key)
}

fn probe(path: &Path, key: Option<&DbKey>) -> Result<()> {
    let shown = || path.display().to_string();
    let plain = is_plain_sqlite(path)?;
    match (key, plain) {
        (Some(_), true) => return Err(Error::DatabaseNotEncrypted(shown())),
        (None, false) => return Err(Error::DatabaseKeyMissing(shown())),
        (None, true) => return Ok(()),
        (Some(_), false) => {}
    }
    let conn = Connection::open_with_flags(immutable_uri(path), read_only_flags())?;
    apply_key(&conn, key)?;
    match read_schema(&conn) {
        Ok(_) => Ok(()),
        Err(e) if is_not_a_database(&e) => Err(Error::WrongDatabaseKey(shown())),
        Err(e) => Err(e.into()),
    }
}

/// Whether `path` is a readable unencrypted SQLite database: its plaintext header, and its
/// schema readable without a key.
fn is_plain_sqlite(path: &Path) -> Result<bool> {
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path)?;
    if std::io::Read::read_exact(&mut file, &mut header).is_err() || &header != b"SQLite format 3\0" {
        return Ok(false);
    }
    let conn = Connection::open_with_flags(immutable_uri(path), read_only_flags())?;
    apply_key(&conn, None)?;
    Ok(read_schema(&conn).is_ok())
}

/// Encrypts the plaintext database at `path` with `key`, in place, for a hub that is stopped:
/// `sqlcipher_export` into a new 0600 file beside it, synced, then renamed over it; the old
/// -wal and -shm files go. Refused, with nothing changed, while another connection has the
/// database open, or if it is encrypted already.
pub(crate) fn encrypt_in_place(path: &Path, key: &DbKey) -> Result<()> {
    match check_key(path, Some(key)) {
        Err(Error::DatabaseNotEncrypted(_)) => {}
        Ok(()) => {
            return Err(Error::invalid(
                "database",
                format!("{} is encrypted already", path.display()),
            ))
        }
        Err(e) => return Err(e),
    }
    let temp = super::side_file(path, ".encrypting");
    match std::fs::remove_file(&temp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    owner_only::new_file_options().open(&temp)?;
    let exported = export(path, &temp, key).and_then(|()| {
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, path)?;
        for suffix in super::SIDE_FILES {
            match std::fs::remove_file(super::side_file(path, suffix)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        owner_only::sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        Ok(())
    });
    if exported.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    exported
}

/// Copies the plaintext database at `path` into the empty file `temp`, encrypted with `key`.
fn export(path: &Path, temp: &Path, key: &DbKey) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    apply_key(&conn, None)?;
    // An exclusive lock, which no other connection (a serving hub) may hold the file open
    // beside, and which keeps any from opening it until this connection closes.
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE;")?;
    let locked = conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;");
    if let Err(rusqlite::Error::SqliteFailure(f, _)) = &locked {
        if f.code == ErrorCode::DatabaseBusy || f.code == ErrorCode::DatabaseLocked {
            return Err(Error::invalid(
                "database",
                format!("{} is in use: stop the hub first", path.display()),
            ));
        }
    }
    locked?;
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let target = temp.to_string_lossy();
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS encrypted KEY \"x'{}'\"", key.to_hex()),
        [target.as_ref()],
    )?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    conn.execute_batch(&format!(
        "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
    ))?;
    Ok(())
}

fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// A `file:` URI that opens `path` as immutable: SQLite then takes no lock and never looks at,
/// makes or replays a -wal file.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(path: &Path, key: Option<&DbKey>) {
        let conn = Connection::open(path).unwrap();
        apply_key(&conn, key).unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('Caritas');")
            .unwrap();
    }

    #[test]
    fn keys_are_told_apart_without_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let (plain, secret) = (tmp.path().join("plain db"), tmp.path().join("secret.db"));
        let key = DbKey::random();
        make(&plain, None);
        make(&secret, Some(&key));
        let before = (std::fs::read(&plain).unwrap(), std::fs::read(&secret).unwrap());

        check_key(&plain, None).unwrap();
        check_key(&secret, Some(&key)).unwrap();
        assert!(matches!(
            check_key(&plain, Some(&key)),
            Err(Error::DatabaseNotEncrypted(_))
        ));
        assert!(matches!(
            check_key(&secret, None),
            Err(Error::DatabaseKeyMissing(_))
        ));
        assert!(matches!(
            check_key(&secret, Some(&DbKey::random())),
            Err(Error::WrongDatabaseKey(_))
        ));

        let after = (std::fs::read(&plain).unwrap(), std::fs::read(&secret).unwrap());
        assert!(before == after, "the checks wrote nothing");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            2,
            "no -wal or -shm made"
        );
        assert!(!String::from_utf8_lossy(&after.1).contains("Caritas"));
        assert!(String::from_utf8_lossy(&after.0).contains("Caritas"));
        assert_eq!(format!("{key:?}"), "DbKey(..)");
    }
}
