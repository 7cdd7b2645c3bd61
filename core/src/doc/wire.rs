//! Strict reading of Automerge bytes from elsewhere. Automerge's own incremental load skips
//! what it cannot parse and reports success; bytes from the network or a damaged disk must
//! instead be refused as a whole, with a reason. Each chunk is framed, checksummed and parsed
//! here before anything is applied.

use automerge::{Automerge, Bundle, Change, LoadOptions, OnPartialLoad};
use sha2::{Digest, Sha256};

use super::DocError;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;

/// Why bytes could not be read as Automerge data. Never includes the bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A chunk does not start with Automerge's magic bytes.
    #[error("not Automerge data (bad magic bytes at offset {0})")]
    BadMagic(usize),
    /// The bytes end in the middle of a chunk.
    #[error("truncated Automerge data (chunk at offset {0} is incomplete)")]
    Truncated(usize),
    /// A chunk's checksum does not match its content.
    #[error("corrupted Automerge data (checksum mismatch in chunk at offset {0})")]
    BadChecksum(usize),
    /// A chunk type this code does not accept.
    #[error("unsupported Automerge chunk type {kind} at offset {offset}")]
    UnsupportedChunk {
        /// The chunk type byte.
        kind: u8,
        /// Where the chunk starts.
        offset: usize,
    },
    /// A chunk's content does not parse.
    #[error("malformed Automerge chunk at offset {0}")]
    Malformed(usize),
}

fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Parses concatenated chunks (documents and changes) into changes, refusing the whole input on
/// the first problem. Empty input is no changes.
pub fn parse_changes(bytes: &[u8]) -> Result<Vec<Change>, DocError> {
    let mut changes = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < 10 {
            return Err(WireError::Truncated(offset).into());
        }
        if rest[..4] != MAGIC {
            return Err(WireError::BadMagic(offset).into());
        }
        let kind = rest[8];
        let (len, len_bytes) = leb128(&rest[9..]).ok_or(WireError::Truncated(offset))?;
        let end = 9usize
            .checked_add(len_bytes)
            .and_then(|h| usize::try_from(len).ok().and_then(|l| h.checked_add(l)))
            .ok_or(WireError::Truncated(offset))?;
        if end > rest.len() {
            return Err(WireError::Truncated(offset).into());
        }
        let chunk = &rest[..end];
        // A chunk's checksum is the start of the SHA-256 of its type, length and data; for a
        // compressed change it is that of the change before compression, checked below.
        if kind != COMPRESSED_CHANGE && Sha256::digest(&chunk[8..])[..4] != chunk[4..8] {
            return Err(WireError::BadChecksum(offset).into());
        }
        match kind {
            DOCUMENT => {
                let doc = Automerge::load_with_options(
                    chunk,
                    LoadOptions::new().on_partial_load(OnPartialLoad::Error),
                )
                .map_err(|_| WireError::Malformed(offset))?;
                changes.extend(doc.get_changes(&[]));
            }
            CHANGE | COMPRESSED_CHANGE => {
                let change = Change::try_from(chunk).map_err(|_| WireError::Malformed(offset))?;
                if change.hash().0[..4] != chunk[4..8] {
                    return Err(WireError::BadChecksum(offset).into());
                }
                changes.push(change);
            }
            BUNDLE => {
                let bundle = Bundle::try_from(chunk).map_err(|_| WireError::Malformed(offset))?;
                changes.extend(bundle.to_changes().map_err(|_| WireError::Malformed(offset))?);
            }
            other => {
                return Err(WireError::UnsupportedChunk { kind: other, offset }.into());
            }
        }
        offset += end;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn sample() -> (Vec<u8>, Vec<u8>) {
        let mut d = AutoCommit::new();
        d.put(ROOT, "a", "some text long enough to matter").unwrap();
        d.commit();
        d.put(ROOT, "b", 2).unwrap();
        d.commit();
        (d.save_after(&[]), d.save())
    }

    #[test]
    fn reads_changes_and_documents() {
        let (changes, doc) = sample();
        assert_eq!(parse_changes(&changes).unwrap().len(), 2);
        assert_eq!(parse_changes(&doc).unwrap().len(), 2);
        let mut both = doc.clone();
        both.extend_from_slice(&changes);
        assert_eq!(parse_changes(&both).unwrap().len(), 4);
        assert!(parse_changes(&[]).unwrap().is_empty());
    }

    fn bundle_of(changes: &[u8]) -> Vec<u8> {
        let mut d = AutoCommit::new();
        d.apply_changes(parse_changes(changes).unwrap()).unwrap();
        let hashes: Vec<_> = d.get_changes(&[]).iter().map(|c| c.hash()).collect();
        d.bundle(hashes).unwrap().bytes().to_vec()
    }

    #[test]
    fn reads_bundles() {
        let (changes, _) = sample();
        let bundle = bundle_of(&changes);
        let mut from_bundle: Vec<_> = parse_changes(&bundle).unwrap().iter().map(|c| c.hash()).collect();
        let mut direct: Vec<_> = parse_changes(&changes)
            .unwrap()
            .iter()
            .map(|c| c.hash())
            .collect();
        from_bundle.sort();
        direct.sort();
        assert_eq!(from_bundle, direct);
    }

    #[test]
    fn refuses_garbage_truncation_and_any_flipped_bit() {
        let (changes, doc) = sample();
        let bundle = bundle_of(&changes);
        assert!(matches!(
            parse_changes(b"not automerge at all"),
            Err(DocError::Wire(WireError::BadMagic(0)))
        ));
        for input in [&changes, &doc, &bundle] {
            let all = parse_changes(input).unwrap();
            for cut in 1..input.len() {
                // A cut is refused, unless it falls between two chunks: then it reads as the
                // earlier changes only, which a later sync completes.
                if let Ok(some) = parse_changes(&input[..cut]) {
                    assert!(some.len() < all.len() && all.starts_with(&some), "cut at {cut}");
                }
            }
            for i in 0..input.len() {
                for bit in 0..8 {
                    let mut c = input.clone();
                    c[i] ^= 1 << bit;
                    assert!(parse_changes(&c).is_err(), "flip bit {bit} of byte {i}");
                }
            }
        }
    }
}
