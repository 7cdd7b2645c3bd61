//! Opening the SQLCipher database with a raw key, telling apart a wrong key, a missing key and
//! a plain SQLite file, and never creating, replacing or truncating an existing file on the way.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// SQLCipher settings that differ from SQLCipher 4's defaults; a tool opening a store file (the
/// `sqlcipher` shell, say) runs them right after `PRAGMA key`. HMAC-SHA256 authenticates pages
/// instead of SHA512: just as sound, and hardware-accelerated on ARMv8 phones, where SHA512
/// mostly is not.
pub const CIPHER_SETTINGS: &str = "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;";

/// A raw 32-byte SQLCipher key. The core never derives keys from passphrases: apps keep this key
/// in Android Keystore or the iOS Keychain.
#[derive(Clone)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// Checks the length: empty is [`Error::KeyMissing`], any length but 32 is
    /// [`Error::KeyInvalid`].
    pub fn from_bytes(bytes: &[u8]) -> Result<StoreKey> {
        match bytes.len() {
            0 => Err(Error::KeyMissing),
            32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(bytes);
                Ok(StoreKey(k))
            }
            n => Err(Error::KeyInvalid(n)),
        }
    }

    /// Parses 64 hex characters (the CLI's `OUTREACH_KEY`).
    pub fn from_hex(hex_key: &str) -> Result<StoreKey> {
        let t = hex_key.trim();
        if t.is_empty() {
            return Err(Error::KeyMissing);
        }
        let bytes = hex::decode(t).map_err(|_| Error::KeyInvalid(t.len() / 2))?;
        Self::from_bytes(&bytes)
    }

    /// A new random key.
    pub fn random() -> StoreKey {
        StoreKey(rand::random())
    }

    /// The key bytes, for the app to keep in its key store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The salt used with a plaintext header, derived from the key so the app keeps one secret.
    fn salt(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(b"outreach sqlcipher salt v1");
        h.update(self.0);
        let d = h.finalize();
        let mut s = [0u8; 16];
        s.copy_from_slice(&d[..16]);
        s
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
    }
}

/// How the key is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cipher {
    /// SQLCipher with the given key.
    Key { plaintext_header: bool },
    /// No encryption: only for measuring SQLCipher's overhead in the benchmark.
    #[cfg(feature = "bench-plaintext")]
    None,
}

fn apply_key(conn: &Connection, key: &StoreKey, cipher: Cipher) -> Result<()> {
    // SQLCipher logs failed decryptions to stderr or logcat by default; the store reports them
    // to its caller as typed errors instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    match cipher {
        Cipher::Key { plaintext_header } => {
            // The key goes in as a blob literal: SQLCipher then skips its passphrase KDF.
            let mut sql = format!("PRAGMA key = \"x'{}'\"; {CIPHER_SETTINGS}", hex::encode(key.0));
            if plaintext_header {
                sql.push_str(&format!(
                    "PRAGMA cipher_plaintext_header_size = 32; PRAGMA cipher_salt = \"x'{}'\";",
                    hex::encode(key.salt())
                ));
            }
            conn.execute_batch(&sql)?;
        }
        #[cfg(feature = "bench-plaintext")]
        Cipher::None => {}
    }
    Ok(())
}

/// Reading the schema decrypts page 1: this is where a wrong key shows.
fn read_schema(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
}

/// How SQLCipher reports that page 1 does not decrypt: "not a database", or "malformed" when a
/// plaintext header made the start of the file look right.
fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::NotADatabase || f.code == ErrorCode::DatabaseCorrupt)
}

/// Checks that `key` opens the existing database at `path`, through an immutable read-only
/// connection: a failed check writes nothing, not even by checkpointing a leftover -wal file.
pub(crate) fn verify_key(path: &Path, key: &StoreKey, cipher: Cipher) -> Result<()> {
    let conn = Connection::open_with_flags(immutable_uri(path), read_only_flags())?;
    apply_key(&conn, key, cipher)?;
    match read_schema(&conn) {
        Ok(_) => Ok(()),
        Err(e) if is_not_a_database(&e) => {
            drop(conn);
            if is_plain_sqlite(path) {
                Err(Error::NotEncrypted)
            } else {
                Err(Error::WrongKey)
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens a connection with the key. `create` allows making a new file.
pub(crate) fn connect(
    path: &Path,
    key: &StoreKey,
    cipher: Cipher,
    create: bool,
    read_only: bool,
) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    flags |= if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    apply_key(&conn, key, cipher)?;
    match read_schema(&conn) {
        Ok(_) => Ok(conn),
        Err(e) if is_not_a_database(&e) => Err(Error::WrongKey),
        Err(e) => Err(e.into()),
    }
}

fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

fn immutable_uri(path: &Path) -> String {
    format!("file:{}?immutable=1", uri_escape(&path.to_string_lossy()))
}

/// Whether `path` is a readable unencrypted SQLite database. Opened immutable and read-only, so
/// nothing is written, not even a -wal or -shm file.
fn is_plain_sqlite(path: &Path) -> bool {
    let mut header = [0u8; 16];
    let starts_right = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok()
        && &header == b"SQLite format 3\0";
    starts_right
        && Connection::open_with_flags(immutable_uri(path), read_only_flags())
            .and_then(|c| read_schema(&c))
            .is_ok()
}

fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Connection settings for the writer and reader: WAL, `synchronous = NORMAL`, a busy timeout.
/// The writer's page cache, in KiB.
pub(crate) const WRITER_CACHE_KIB: u32 = 8_000;

/// The writer's page cache while it stores documents new to this device (a first sync's
/// directory writes some 20 MB of pages in one transaction): with less, SQLite spills dirty
/// pages to the log, encrypting them, before the commit writes them again.
pub(crate) const BULK_CACHE_KIB: u32 = 32_000;

/// Sets the writer's page cache to `kib` KiB.
pub(crate) fn set_writer_cache(conn: &Connection, kib: u32) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA cache_size = -{kib};"))?;
    Ok(())
}

pub(crate) fn configure(conn: &Connection, writer: bool) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if writer {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt("the database cannot use write-ahead logging"));
        }
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")?;
    if writer {
        // Checkpoints run on the checkpoint thread (see `checkpoint.rs`), not inside commits;
        // after one, the WAL file is cut back to 4 MB. An 8 MB page cache spares most reads (and
        // their decryption) on the write path.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 4194304;")?;
        set_writer_cache(conn, WRITER_CACHE_KIB)?;
    }
    if !writer {
        // Decrypted pages stay cached between queries (16 MB): a search then decrypts only what
        // changed since the last one.
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -16000;")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(matches!(StoreKey::from_bytes(&[]), Err(Error::KeyMissing)));
        assert!(matches!(
            StoreKey::from_bytes(&[1; 31]),
            Err(Error::KeyInvalid(31))
        ));
        assert!(matches!(StoreKey::from_hex(""), Err(Error::KeyMissing)));
        assert!(matches!(StoreKey::from_hex("zz"), Err(Error::KeyInvalid(1))));
        let k = StoreKey::random();
        assert_eq!(
            StoreKey::from_hex(&hex::encode(k.as_bytes())).unwrap().as_bytes(),
            k.as_bytes()
        );
        assert_eq!(format!("{k:?}"), "StoreKey(..)");
    }
}
