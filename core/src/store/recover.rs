//! Durable before sent, and recoverable when the disk lost what was sent.
//!
//! Local writes commit with `synchronous = NORMAL`: fast, and a power cut can lose the last
//! commits but never corrupt the store. What is sent to the hub must not be lost that way, or
//! the device would later number a new change like one the hub already holds. So before each
//! request the writer forces the write-ahead log to disk ([`Store::make_durable`]).
//!
//! A store can still lose history that the hub holds: a phone restored from a backup. Its next
//! change to such a document reuses a change number, the hub refuses that document with
//! `history_regressed` and sends its own copy; the device then starts a new actor epoch and
//! writes, on the hub's copy, what it did since the last state both held
//! ([`Store::recover_regressed`]). The next round sends that one change: nothing acknowledged
//! and nothing the worker did since is lost.

use automerge::ChangeHash;
use rusqlite::TransactionBehavior;

use super::schema::{set_meta, ACTOR_EPOCH};
use super::{docs, index, lock, Store, Writer};
use crate::doc::{DeviceActor, Document};
use crate::error::{Error, Result};
use crate::model::DocId;

impl Store {
    /// Forces every commit made so far onto the disk: one write with `synchronous = FULL`
    /// syncs the write-ahead log, and with it every earlier commit.
    pub(crate) fn make_durable(&self) -> Result<()> {
        let mut guard = lock(&self.writer);
        let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let synced = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            set_meta(&tx, "durable_at", &self.clock.now().to_rfc3339())?;
            tx.commit()?;
            Ok::<_, Error>(())
        })();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        synced
    }

    /// Rebuilds document `id` on the hub's copy (`hub_bytes`, at `hub_heads`, sealed with
    /// `seal`) with what this device did since the heads the hub last acknowledged, under a new
    /// actor epoch, in one transaction; the hub's heads become the acknowledged ones, so that
    /// the next round sends just the rebuilt work.
    pub(crate) fn recover_regressed(
        &self,
        id: DocId,
        hub_bytes: &[u8],
        hub_heads: &[ChangeHash],
        seal: &[u8],
    ) -> Result<()> {
        let now = self.clock.now();
        self.write(|w, actor| {
            let Writer {
                conn,
                docs,
                actor: current,
            } = w;
            let acked = docs::acked_heads(conn, id)?;
            let mut hub = Document::load(id, hub_bytes, actor)?;
            // The new epoch is above every epoch of this device that either copy has seen: a
            // store restored from an older backup may also have lost an earlier epoch.
            let seen = hub
                .automerge_mut()
                .get_changes_meta(&[])
                .iter()
                .filter_map(|c| DeviceActor::parse(&c.actor))
                .filter(|a| a.device == actor.device)
                .map(|a| a.epoch)
                .max()
                .unwrap_or(0);
            let next = DeviceActor::new(actor.device, actor.epoch.max(seen) + 1);
            let cached = docs
                .get(conn, id, actor, None)?
                .ok_or(Error::NotFound { what: "document" })?;
            if hub.meta() != cached.doc.meta() {
                return Err(Error::Protocol("the hub sent another document".into()));
            }
            let rebuilt = cached.doc.replay_onto(hub, &acked, next, now)?;
            let stats = cached.stats.clone();
            let mut replaced = docs::Cached { doc: rebuilt, stats };
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            set_meta(&tx, ACTOR_EPOCH, &next.epoch.to_string())?;
            if !docs::compact(&tx, &mut replaced)? {
                // The hub's copy with this device's work on it would not load back: nothing
                // is replaced (the transaction rolls back), and the next sync tries again.
                return Err(Error::Document(crate::doc::DocError::NotReloadable));
            }
            let keys = index::all_keys(&replaced.doc)?;
            let changes = index::index_entities(&tx, &mut replaced.doc, &keys)?;
            docs::set_acked_heads(&tx, id, hub_heads)?;
            if !seal.is_empty() {
                docs::set_attestation(&tx, id, hub_heads, seal)?;
            }
            tx.commit()?;
            replaced.doc.mark_saved();
            *current = next;
            docs.evict(id);
            docs.set_actor(next);
            docs.insert_cached(replaced);
            Ok(((), changes))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn making_durable_leaves_the_store_working() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.db"),
            crate::StoreKey::random().as_bytes(),
            Default::default(),
        )
        .unwrap();
        store.make_durable().unwrap();
        let sync: i64 = {
            let guard = lock(&store.writer);
            let w = guard.as_ref().unwrap();
            w.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(sync, 1, "back to NORMAL for local writes");
    }
}
