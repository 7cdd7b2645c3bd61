//! What the hub last answered each device (schema v4, `device_states`): the state digest a
//! device names instead of listing every document it holds, and the documents and heads behind
//! it. Only a cache: a state the hub does not know makes the device list everything again.

use super::{params, Tx};
use automerge::ChangeHash;
use outreach_core::model::DocId;
use outreach_core::sync::protocol::StateDigest;

use super::docs::DocRow;
use crate::error::{Error, Result};

/// Documents with their heads, as a device holds them.
pub(crate) type DeviceState = Vec<(DocId, Vec<ChangeHash>)>;

/// The state of documents as the hub holds them, and its digest.
pub(crate) fn of_rows(rows: Vec<DocRow>) -> (DeviceState, StateDigest) {
    let state: DeviceState = rows.into_iter().map(|row| (row.id, row.heads)).collect();
    let digest = StateDigest::of(state.iter().map(|(id, h)| (*id, h.as_slice())));
    (state, digest)
}

/// Encodes a state: for each document its 16-byte id, a 2-byte count and that many heads.
fn encode(state: &DeviceState) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, heads) in state {
        out.extend_from_slice(id.as_bytes());
        // A document has at most `max_changes` heads, far below 65,536.
        out.extend_from_slice(&(heads.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        for h in heads.iter().take(usize::from(u16::MAX)) {
            out.extend_from_slice(&h.0);
        }
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<DeviceState> {
    let corrupt = || Error::Corrupt("a stored device state is unreadable".into());
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (id, rest) = bytes.split_first_chunk::<16>().ok_or_else(corrupt)?;
        let (count, rest) = rest.split_first_chunk::<2>().ok_or_else(corrupt)?;
        let count = usize::from(u16::from_be_bytes(*count));
        if rest.len() < count * 32 {
            return Err(corrupt());
        }
        let (hashes, rest) = rest.split_at(count * 32);
        let heads = hashes
            .chunks_exact(32)
            .map(|h| ChangeHash(h.try_into().unwrap_or([0; 32])))
            .collect();
        out.push((DocId::from_uuid(uuid::Uuid::from_bytes(*id)), heads));
        bytes = rest;
    }
    Ok(out)
}

/// The documents and heads behind `digest`, if it is the state last answered to `device`.
pub(crate) fn recall(conn: &Tx<'_>, device: &str, digest: StateDigest) -> Result<Option<DeviceState>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .query_opt(
            "SELECT digest, docs FROM device_states WHERE device_id = ?1",
            params![device],
        )?
        .map(|r| Ok::<_, Error>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    match row {
        Some((stored, docs)) if stored == digest.0 => Ok(Some(decode(&docs)?)),
        _ => Ok(None),
    }
}

/// Keeps `state`, whose digest is `digest`, as the state last answered to `device`.
pub(crate) fn remember(
    conn: &Tx<'_>,
    device: &str,
    digest: StateDigest,
    state: &DeviceState,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO device_states (device_id, digest, docs, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_id) DO UPDATE SET digest = excluded.digest, docs = excluded.docs,
             updated_at = excluded.updated_at",
        params![device, digest.0.as_slice(), encode(state), now],
    )?;
    Ok(())
}

/// Whether `digest` is the state last kept for `device`.
pub(crate) fn is_current(conn: &Tx<'_>, device: &str, digest: StateDigest) -> Result<bool> {
    let stored: Option<Vec<u8>> = conn
        .query_opt(
            "SELECT digest FROM device_states WHERE device_id = ?1",
            params![device],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(stored.is_some_and(|s| s == digest.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reads_back_and_damage_is_an_error() {
        let state = vec![
            (DocId::named("a"), vec![ChangeHash([1; 32]), ChangeHash([2; 32])]),
            (DocId::named("b"), vec![]),
            (DocId::named("c"), vec![ChangeHash([3; 32])]),
        ];
        let bytes = encode(&state);
        assert_eq!(decode(&bytes).unwrap(), state);
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&bytes[..10]).is_err());
    }
}
