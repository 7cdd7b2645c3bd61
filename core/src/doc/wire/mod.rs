//! Strict reading of Automerge bytes from elsewhere. Automerge's own incremental load skips
//! what it cannot parse and reports success; bytes from the network or a damaged disk must
//! instead be refused as a whole, with a reason. Each chunk is framed, checksummed and parsed
//! here before anything is applied.
//!
//! Bytes pushed by a device go through [`parse_pushed`], which is narrower: only the chunk kinds
//! the project's own client sends (plain changes, bundles, and whole documents with no
//! compressed column), and the DEFLATE-compressed columns of a bundle inflated here under a
//! hard byte budget before Automerge sees them. Automerge inflates what it is given in full, so
//! a few kilobytes that inflate to gigabytes would otherwise exhaust the hub before any check.

use automerge::{Automerge, Bundle, Change, LoadOptions, OnPartialLoad};
use sha2::{Digest, Sha256};

use super::DocError;

mod columns;

/// The first four bytes of every Automerge chunk.
pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
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
    /// A compressed change chunk or a document with compressed columns, which devices do not
    /// send.
    #[error("compressed Automerge data at offset {0} is not accepted from a device")]
    Compressed(usize),
    /// The data inflates to more than the request allows.
    #[error("the Automerge data inflates to more than the {limit} bytes allowed")]
    InflatesTooMuch {
        /// The budget that was exceeded.
        limit: usize,
    },
}

/// An unsigned LEB128 number at the start of `bytes` and the bytes it takes (at most ten);
/// `None` when they end first.
pub fn read_uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends `v` as an unsigned LEB128 number.
pub fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Most bytes one bundle from a hub or a disk may inflate to (a first sync's directory section
/// inflates to a few megabytes).
pub const FORWARDED_INFLATE_LIMIT: usize = 64 << 20;

/// Parses concatenated chunks (documents and changes) into changes, refusing the whole input on
/// the first problem (a panic of the library included). Empty input is no changes.
pub fn parse_changes(bytes: &[u8]) -> Result<Vec<Change>, DocError> {
    super::guarded(|| parse_changes_unguarded(bytes))
}

/// Whether `bytes` are one whole document followed by plain change chunks (what a hub stores
/// and sends a device new to the document), every chunk framed and checksummed, the document's
/// columns checked as [`parse_changes`] checks them: Automerge may then load them as they are,
/// in one pass, rather than change by change. Bundles and compressed changes answer `false`.
pub fn is_plain_document(bytes: &[u8]) -> bool {
    let mut offset = 0;
    while offset < bytes.len() {
        let Ok(f) = frame(&bytes[offset..], offset) else {
            return false;
        };
        let chunk = &bytes[offset..offset + f.len];
        let plain = match f.kind {
            DOCUMENT => offset == 0 && columns::document_is_compressed(&chunk[f.data_start..]).is_ok(),
            CHANGE => offset > 0,
            _ => false,
        };
        if !plain || Sha256::digest(&chunk[8..])[..4] != chunk[4..8] {
            return false;
        }
        offset += f.len;
    }
    offset > 0
}

fn parse_changes_unguarded(bytes: &[u8]) -> Result<Vec<Change>, DocError> {
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
        let (len, len_bytes) = read_uleb(&rest[9..]).ok_or(WireError::Truncated(offset))?;
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
                // An uncompressed document's columns are checked as a pushed one's are (a
                // compressed one, which only a hub's snapshot is, goes to Automerge as it is).
                columns::document_is_compressed(&chunk[9 + len_bytes..])
                    .map_err(|_| WireError::Malformed(offset))?;
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
                // Framed and inflated as a pushed bundle is, within a bound of its own: a hub
                // only forwards bundles it encoded itself, but a device does not take that on
                // trust (fuzzing found bundles of a few hundred bytes that Automerge inflates
                // without bound, or that it reads past their end).
                let mut budget = InflateBudget::new(FORWARDED_INFLATE_LIMIT);
                let inflated = columns::inflate_bundle(&chunk[9 + len_bytes..], &mut budget, offset)?;
                let bundle = Bundle::try_from(inflated.as_deref().unwrap_or(chunk))
                    .map_err(|_| WireError::Malformed(offset))?;
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

/// Bytes that the Automerge data of one request may occupy once inflated: shared by every
/// document of the request, so that the cost of a request is bounded by its body and this.
#[derive(Debug, Clone)]
pub struct InflateBudget {
    limit: usize,
    used: usize,
}

impl InflateBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> InflateBudget {
        InflateBudget { limit, used: 0 }
    }

    /// Bytes used so far.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Takes `n` bytes of the budget.
    fn take(&mut self, n: usize) -> Result<(), WireError> {
        match self.used.checked_add(n) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(())
            }
            _ => Err(WireError::InflatesTooMuch { limit: self.limit }),
        }
    }

    fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.used)
    }
}

/// One framed chunk: its type, and where its data starts and ends in the input.
struct Frame {
    kind: u8,
    /// Offset of the chunk's data (after the header) within the chunk.
    data_start: usize,
    /// Length of the whole chunk.
    len: usize,
}

fn frame(rest: &[u8], offset: usize) -> Result<Frame, WireError> {
    if rest.len() < 10 {
        return Err(WireError::Truncated(offset));
    }
    if rest[..4] != MAGIC {
        return Err(WireError::BadMagic(offset));
    }
    let kind = rest[8];
    let (len, len_bytes) = read_uleb(&rest[9..]).ok_or(WireError::Truncated(offset))?;
    let data_start = 9 + len_bytes;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| data_start.checked_add(l))
        .ok_or(WireError::Truncated(offset))?;
    if end > rest.len() {
        return Err(WireError::Truncated(offset));
    }
    Ok(Frame {
        kind,
        data_start,
        len: end,
    })
}

/// A saved document (one document chunk, as [`Automerge::save`] writes it) with its columns
/// compressed again by `deflate` (raw DEFLATE in, raw DEFLATE out, `None` to keep a column
/// plain): the same changes in fewer bytes, for a hub that stores a snapshot once and sends it
/// to every device. A column is kept plain when `deflate` does not make it smaller. `None` when
/// `bytes` is not exactly one intact document chunk.
pub fn recompress_document(
    bytes: &[u8],
    deflate: &mut dyn FnMut(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let f = frame(bytes, 0).ok()?;
    if f.kind != DOCUMENT || f.len != bytes.len() || Sha256::digest(&bytes[8..])[..4] != bytes[4..8] {
        return None;
    }
    let mut budget = InflateBudget::new(FORWARDED_INFLATE_LIMIT);
    columns::recompress_document(&bytes[f.data_start..], &mut budget, deflate)
}

/// Parses the bytes of one pushed document: plain change chunks, bundles and whole documents
/// without compressed columns, each checksummed; compressed change chunks are refused before
/// any Automerge code runs, and the compressed columns of a bundle are inflated under `budget`
/// (which also counts the bytes of uncompressed chunks).
pub fn parse_pushed(bytes: &[u8], budget: &mut InflateBudget) -> Result<Vec<Change>, DocError> {
    super::guarded(|| parse_pushed_unguarded(bytes, budget))
}

fn parse_pushed_unguarded(bytes: &[u8], budget: &mut InflateBudget) -> Result<Vec<Change>, DocError> {
    let mut changes = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let f = frame(rest, offset)?;
        let chunk = &rest[..f.len];
        if f.kind == COMPRESSED_CHANGE {
            return Err(WireError::Compressed(offset).into());
        }
        if !matches!(f.kind, DOCUMENT | CHANGE | BUNDLE) {
            return Err(WireError::UnsupportedChunk { kind: f.kind, offset }.into());
        }
        if Sha256::digest(&chunk[8..])[..4] != chunk[4..8] {
            return Err(WireError::BadChecksum(offset).into());
        }
        let data = &chunk[f.data_start..];
        match f.kind {
            DOCUMENT => {
                if columns::document_is_compressed(data).map_err(|_| WireError::Malformed(offset))? {
                    return Err(WireError::Compressed(offset).into());
                }
                budget.take(chunk.len())?;
                let doc = Automerge::load_with_options(
                    chunk,
                    LoadOptions::new().on_partial_load(OnPartialLoad::Error),
                )
                .map_err(|_| WireError::Malformed(offset))?;
                changes.extend(doc.get_changes(&[]));
            }
            CHANGE => {
                budget.take(chunk.len())?;
                let change = Change::try_from(chunk).map_err(|_| WireError::Malformed(offset))?;
                if change.hash().0[..4] != chunk[4..8] {
                    return Err(WireError::BadChecksum(offset).into());
                }
                changes.push(change);
            }
            _ => {
                let inflated = columns::inflate_bundle(data, budget, offset)?;
                let bundle = match &inflated {
                    Some(whole) => Bundle::try_from(whole.as_slice()),
                    None => Bundle::try_from(chunk),
                }
                .map_err(|_| WireError::Malformed(offset))?;
                changes.extend(bundle.to_changes().map_err(|_| WireError::Malformed(offset))?);
            }
        }
        offset += f.len;
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

    fn big_doc() -> AutoCommit {
        let mut d = AutoCommit::new();
        for i in 0..200 {
            d.put(
                ROOT,
                format!("key {i}"),
                format!("a value long enough to be compressed {i}"),
            )
            .unwrap();
            d.commit();
        }
        d
    }

    #[test]
    fn pushed_bytes_take_only_the_clients_chunk_kinds() {
        let mut d = big_doc();
        let changes = d.save_after(&[]);
        let hashes: Vec<_> = d.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let bundle = d.bundle(hashes).unwrap().bytes().to_vec();
        let mut budget = InflateBudget::new(1 << 24);
        // Plain changes and a bundle whose columns Automerge compressed: the same changes.
        let plain = parse_pushed(&changes, &mut budget).unwrap();
        let mut budget = InflateBudget::new(1 << 24);
        let from_bundle = parse_pushed(&bundle, &mut budget).unwrap();
        let mut a: Vec<_> = plain.iter().map(|c| c.hash()).collect();
        let mut b: Vec<_> = from_bundle.iter().map(|c| c.hash()).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(
            budget.used() > bundle.len(),
            "the bundle's columns were inflated here"
        );
        // A whole document without compression, yes; with compressed columns, no.
        let mut budget = InflateBudget::new(1 << 24);
        assert_eq!(
            parse_pushed(&d.save_nocompress(), &mut budget).unwrap().len(),
            200
        );
        assert!(matches!(
            parse_pushed(&d.save(), &mut InflateBudget::new(1 << 24)),
            Err(DocError::Wire(WireError::Compressed(0)))
        ));
        // A compressed change chunk, never.
        let mut compressed = d.get_last_local_change().unwrap();
        let raw = compressed.bytes().to_vec();
        if raw[8] == COMPRESSED_CHANGE {
            assert!(matches!(
                parse_pushed(&raw, &mut InflateBudget::new(1 << 24)),
                Err(DocError::Wire(WireError::Compressed(0)))
            ));
        }
        let mut fake = raw.clone();
        fake[8] = COMPRESSED_CHANGE;
        assert!(matches!(
            parse_pushed(&fake, &mut InflateBudget::new(1 << 24)),
            Err(DocError::Wire(WireError::Compressed(0)))
        ));
    }

    #[test]
    fn declared_rows_are_bounded_before_automerge_reads_them() {
        use columns::{declared_rows, MAX_COLUMN_ROWS};
        let uleb = |v: u64| {
            let mut out = Vec::new();
            write_uleb(&mut out, v);
            out
        };
        // Boolean columns are alternating counts; run-length columns are (count, value)
        // runs, literals (-count, values) and null runs (0, count).
        assert_eq!(declared_rows(4, &[3, 2, 1]).unwrap(), 6);
        assert_eq!(declared_rows(2, &[3, 9, 0x7e, 1, 2, 0, 4]).unwrap(), 9);
        assert_eq!(declared_rows(5, &[2, 2, b'o', b'k']).unwrap(), 2);
        assert_eq!(declared_rows(7, &[0xff; 9]).unwrap(), 0);
        assert!(declared_rows(4, &uleb(MAX_COLUMN_ROWS + 1)).is_err());
        assert!(declared_rows(4, &[uleb(MAX_COLUMN_ROWS), vec![1]].concat()).is_err());
        assert!(declared_rows(2, &[uleb(1 << 32), vec![1]].concat()).is_err());
        assert!(declared_rows(2, &[0, 0x80, 0x80, 0x80, 0x80, 0x10]).is_err());
        // A literal longer than the bytes that follow it.
        assert!(declared_rows(2, &[0x7d, 1]).is_err());
        // Found by fuzzing: 373 bytes that Automerge 0.12 took gigabytes and minutes over, read
        // as from a hub and as from a device.
        let found = include_bytes!("../testdata/bundle-declaring-endless-runs.bin");
        assert!(parse_changes(found).is_err());
        assert!(parse_pushed(found, &mut InflateBudget::new(1 << 24)).is_err());
        // And a 374-byte uncompressed document: 2 GB and 12 s in a device's `apply_remote`.
        let found = include_bytes!("../testdata/document-declaring-endless-runs.bin");
        assert!(parse_changes(found).is_err());
        assert!(parse_pushed(found, &mut InflateBudget::new(1 << 24)).is_err());
        // Every honest column passes.
        let mut d = big_doc();
        let hashes: Vec<_> = d.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let bundle = d.bundle(hashes).unwrap().bytes().to_vec();
        assert_eq!(parse_changes(&bundle).unwrap().len(), 200);
        assert_eq!(parse_changes(&d.save()).unwrap().len(), 200);
    }

    #[test]
    fn inflating_stops_at_the_budget() {
        let mut d = big_doc();
        let hashes: Vec<_> = d.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let bundle = d.bundle(hashes).unwrap().bytes().to_vec();
        let mut small = InflateBudget::new(bundle.len());
        assert!(matches!(
            parse_pushed(&bundle, &mut small),
            Err(DocError::Wire(WireError::InflatesTooMuch { .. }))
        ));
        // The budget is shared: two documents of one request count together.
        let mut shared = InflateBudget::new(1 << 24);
        parse_pushed(&bundle, &mut shared).unwrap();
        let used = shared.used();
        let mut tight = InflateBudget::new(used + used / 2);
        parse_pushed(&bundle, &mut tight).unwrap();
        assert!(parse_pushed(&bundle, &mut tight).is_err());
    }

    fn deflate_at(level: u32) -> impl FnMut(&[u8]) -> Option<Vec<u8>> {
        move |plain: &[u8]| {
            use std::io::Write;
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(plain).ok()?;
            e.finish().ok()
        }
    }

    #[test]
    fn a_recompressed_document_holds_the_same_changes() {
        let mut d = big_doc();
        let saved = d.save();
        let plain = d.save_nocompress();
        let heads = d.get_heads();
        for (name, input) in [("compressed", &saved), ("plain", &plain)] {
            let out = recompress_document(input, &mut deflate_at(9)).unwrap();
            assert!(out.len() < plain.len(), "{name}: {} bytes", out.len());
            // Strictly read: framed, checksummed, every column where it belongs.
            let changes = parse_changes(&out).unwrap();
            assert_eq!(changes.len(), 200, "{name}");
            let mut back = AutoCommit::load(&out).unwrap();
            assert_eq!(back.get_heads(), heads, "{name}");
            assert_eq!(back.save_nocompress(), plain, "{name}");
        }
        // A compressor that never helps leaves every column plain, and the document whole.
        let kept = recompress_document(&saved, &mut |p: &[u8]| Some(vec![0; p.len() + 1])).unwrap();
        assert_eq!(kept, plain, "byte for byte what Automerge writes uncompressed");
        let none = recompress_document(&saved, &mut |_: &[u8]| None).unwrap();
        assert_eq!(AutoCommit::load(&none).unwrap().get_heads(), heads);
    }

    #[test]
    fn only_one_intact_document_chunk_is_recompressed() {
        let mut d = big_doc();
        let saved = d.save();
        let mut deflate = deflate_at(9);
        assert!(
            recompress_document(&d.save_after(&[]), &mut deflate).is_none(),
            "changes"
        );
        assert!(recompress_document(&[saved.clone(), d.save_after(&[])].concat(), &mut deflate).is_none());
        assert!(recompress_document(&saved[..saved.len() - 1], &mut deflate).is_none());
        let mut flipped = saved.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(recompress_document(&flipped, &mut deflate).is_none());
        assert!(recompress_document(b"not automerge", &mut deflate).is_none());
        // Damage anywhere (with the checksum repaired, so that the layout itself is read) is
        // refused or rebuilt, never a panic.
        let mut small = AutoCommit::new();
        small
            .put(ROOT, "k", "a value long enough to be compressed ".repeat(20))
            .unwrap();
        small.commit();
        let saved = small.save();
        for at in 9..saved.len() {
            for bit in [0x01, 0x80] {
                let mut damaged = saved.clone();
                damaged[at] ^= bit;
                let sum = Sha256::digest(&damaged[8..]);
                damaged[4..8].copy_from_slice(&sum[..4]);
                let _ = recompress_document(&damaged, &mut deflate);
            }
        }
    }
}
