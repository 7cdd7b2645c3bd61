//! The hub's seal over document heads. Every document in a sync answer carries a MAC over the
//! document's id and the heads answered. A device keeps the seal with the heads; if the hub is
//! later restored from a backup and asks for the whole document again, the device shows the seal
//! back, and the hub takes back every change up to those heads, other devices' too: it had
//! validated and accepted them before. Beyond sealed heads, a device may still only send its own
//! changes, so a device cannot pass changes off as another's.
//!
//! The key never lives in the database it vouches for: whoever reads `hub.db` or a backup of it
//! must not be able to forge seals. It is kept in a key file, `DIR/seal.key` by default (0600,
//! made on first open), or given by the operator. Hubs before schema version 2 kept it in the
//! `meta` table; the upgrade to version 2 moves it out (see [`take_key_out_of_database`]).

use std::path::{Path, PathBuf};

use automerge::ChangeHash;
use hmac::{Hmac, Mac};
use outreach_core::model::DocId;
use rusqlite::Connection;
use sha2::Sha256;

use crate::db::schema::get_meta;
use crate::error::{Error, Result};
use crate::owner_only;

type HmacSha256 = Hmac<Sha256>;

/// Name of the seal key file in the data directory, when no other place is given.
pub const SEAL_KEY_FILE: &str = "seal.key";

/// Where hubs before schema version 2 kept the key (hex), in the `meta` table.
pub(crate) const LEGACY_META_KEY: &str = "seal_key";

/// The key of the hub's seals: 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl SealKey {
    /// Parses 64 hexadecimal characters (surrounding white space allowed); `None` otherwise.
    pub fn from_hex(text: &str) -> Option<SealKey> {
        owner_only::parse_key(text).map(SealKey)
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// Where a hub finds its seal key.
#[derive(Debug, Clone, Default)]
pub enum SealKeySource {
    /// `DIR/seal.key` in the data directory, made on first open.
    #[default]
    DataDir,
    /// A key file elsewhere (`--seal-key-file`), made on first open if it does not exist.
    File(PathBuf),
    /// The key itself (the `OUTREACH_HUB_SEAL_KEY` environment variable): never written.
    Key(SealKey),
}

/// A [`SealKeySource`] resolved for one data directory.
#[derive(Debug)]
pub(crate) enum KeyPlace {
    /// A key file, made when missing.
    File(PathBuf),
    /// A key given.
    Given(SealKey),
}

impl KeyPlace {
    /// Where `source` puts the key of the hub in `dir`.
    pub fn resolve(source: &SealKeySource, dir: &Path) -> KeyPlace {
        match source {
            SealKeySource::DataDir => KeyPlace::File(dir.join(SEAL_KEY_FILE)),
            SealKeySource::File(path) => KeyPlace::File(path.clone()),
            SealKeySource::Key(key) => KeyPlace::Given(key.clone()),
        }
    }

    fn shown(&self) -> String {
        match self {
            KeyPlace::File(path) => format!("the key file {}", path.display()),
            KeyPlace::Given(_) => "the seal key given".into(),
        }
    }

    /// The key, if there is one yet.
    fn read(&self) -> Result<Option<[u8; 32]>> {
        match self {
            KeyPlace::Given(key) => Ok(Some(key.0)),
            KeyPlace::File(path) => {
                if !path.try_exists()? {
                    return Ok(None);
                }
                owner_only::read_key_file(path, "seal key").map(Some)
            }
        }
    }

    /// Makes `key` this place's key: writes the key file if there is none, and accepts a key
    /// already there only if it is the same.
    pub(crate) fn adopt(&self, key: [u8; 32]) -> Result<()> {
        for _ in 0..2 {
            match self.read()? {
                Some(found) if found == key => return Ok(()),
                Some(_) => return Err(Error::SealKeyConflict(self.shown())),
                None => {
                    if let KeyPlace::File(path) = self {
                        if owner_only::write_new_key_file(path, &key)? {
                            return Ok(());
                        }
                        // Another process made the file first: read it again.
                    }
                }
            }
        }
        Err(Error::SealKeyConflict(self.shown()))
    }

    /// The hub's sealer: the key from its place, made (random) on first use.
    pub fn load_or_create(&self) -> Result<Sealer> {
        if let Some(key) = self.read()? {
            return Ok(Sealer { key });
        }
        let key: [u8; 32] = rand::random();
        self.adopt(key)?;
        // Whichever process made the file first, its key is the hub's.
        match self.read()? {
            Some(key) => Ok(Sealer { key }),
            None => Err(Error::SealKeyConflict(self.shown())),
        }
    }
}

/// The schema step to version 2, before its SQL deletes the `meta` row: a key still in the
/// database moves to `place` (or must equal the key given there). Runs inside the migration's
/// transaction; the key file is durable before the row is deleted, so a crash in between only
/// means the move runs again. Returns whether a key was found.
pub(crate) fn take_key_out_of_database(conn: &Connection, place: &KeyPlace) -> Result<bool> {
    let Some(hex_key) = get_meta(&crate::db::Tx::sqlite(conn), LEGACY_META_KEY)? else {
        return Ok(false);
    };
    let key = owner_only::parse_key(&hex_key)
        .ok_or_else(|| Error::Corrupt("the seal key in the database is unreadable".into()))?;
    place.adopt(key)?;
    Ok(true)
}

/// Seals and checks heads.
#[derive(Clone)]
pub(crate) struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The key, to give a hub moved to another backend the same seals.
    pub(crate) fn key(&self) -> [u8; 32] {
        self.key
    }

    fn mac(&self, doc: DocId, heads: &[ChangeHash]) -> HmacSha256 {
        let mut sorted = heads.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"outreach heads seal v1");
        mac.update(doc.as_bytes());
        for h in &sorted {
            mac.update(&h.0);
        }
        mac
    }

    /// The seal over `heads` of `doc`.
    pub(crate) fn seal(&self, doc: DocId, heads: &[ChangeHash]) -> Vec<u8> {
        self.mac(doc, heads).finalize().into_bytes().to_vec()
    }

    /// Whether `seal` is this hub's seal over `heads` of `doc` (compared in constant time).
    pub(crate) fn verify(&self, doc: DocId, heads: &[ChangeHash], seal: &[u8]) -> bool {
        !heads.is_empty() && self.mac(doc, heads).verify_slice(seal).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_bind_the_document_and_the_heads() {
        let tmp = tempfile::tempdir().unwrap();
        let place = KeyPlace::resolve(&SealKeySource::DataDir, tmp.path());
        let sealer = place.load_or_create().unwrap();
        let again = place.load_or_create().unwrap();
        let (d1, d2) = (DocId::named("a"), DocId::named("b"));
        let heads = vec![ChangeHash([1; 32]), ChangeHash([2; 32])];
        let seal = sealer.seal(d1, &heads);
        assert!(
            again.verify(d1, &[heads[1], heads[0]], &seal),
            "the same key, any order of heads"
        );
        assert!(!sealer.verify(d2, &heads, &seal));
        assert!(!sealer.verify(d1, &heads[..1], &seal));
        assert!(!sealer.verify(d1, &heads, &seal[..31]));
        assert!(!sealer.verify(d1, &[], &sealer.seal(d1, &[])));
        let other = tempfile::tempdir().unwrap();
        let other = KeyPlace::resolve(&SealKeySource::DataDir, other.path());
        assert!(
            !other.load_or_create().unwrap().verify(d1, &heads, &seal),
            "another hub's key"
        );
    }

    #[test]
    fn a_given_key_is_used_and_never_written() {
        let tmp = tempfile::tempdir().unwrap();
        let key = SealKey::from_hex(&"ab".repeat(32)).unwrap();
        let place = KeyPlace::resolve(&SealKeySource::Key(key), tmp.path());
        let sealer = place.load_or_create().unwrap();
        assert_eq!(sealer.key, [0xab; 32]);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        assert!(place.adopt([0xab; 32]).is_ok());
        assert!(matches!(place.adopt([1; 32]), Err(Error::SealKeyConflict(_))));
        assert!(SealKey::from_hex("abc").is_none());
    }
}
