//! The hub's seal over document heads. Every document in a sync answer carries a MAC, under a
//! key kept in the hub's database, over the document's id and the heads answered. A device keeps
//! the seal with the heads; if the hub is later restored from a backup and asks for the whole
//! document again, the device shows the seal back, and the hub takes back every change up to
//! those heads, other devices' too: it had validated and accepted them before. Beyond sealed
//! heads, a device may still only send its own changes, so a device cannot pass changes off as
//! another's.

use automerge::ChangeHash;
use hmac::{Hmac, Mac};
use outreach_core::model::DocId;
use rusqlite::Connection;
use sha2::Sha256;

use crate::db::schema::{get_meta, set_meta};
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Where the key is kept (hex), in the database's `meta` table: a backup of the data directory
/// holds it too, which is what lets a restored hub recognise its earlier seals.
const KEY: &str = "seal_key";

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
    /// Reads the hub's key, creating it on first use.
    pub(crate) fn load_or_create(conn: &Connection) -> Result<Sealer> {
        if let Some(hex_key) = get_meta(conn, KEY)? {
            let bytes =
                hex::decode(hex_key).map_err(|_| Error::Corrupt("the seal key is unreadable".into()))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| Error::Corrupt("the seal key has the wrong length".into()))?;
            return Ok(Sealer { key });
        }
        let key: [u8; 32] = rand::random();
        set_meta(conn, KEY, &hex::encode(key))?;
        Ok(Sealer { key })
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
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .unwrap();
        let sealer = Sealer::load_or_create(&conn).unwrap();
        let again = Sealer::load_or_create(&conn).unwrap();
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
        let other = Connection::open_in_memory().unwrap();
        other
            .execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .unwrap();
        assert!(
            !Sealer::load_or_create(&other).unwrap().verify(d1, &heads, &seal),
            "another hub's key"
        );
    }
}
