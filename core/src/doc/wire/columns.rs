//! The column layout of document and bundle chunks, read without Automerge: enough to tell
//! compressed columns and to inflate them under a budget.

use std::io::Read;

use sha2::{Digest, Sha256};

use super::{read_uleb, write_uleb, InflateBudget, WireError, BUNDLE, DOCUMENT, MAGIC};

/// Bit of a column specification saying its data is DEFLATE-compressed.
const DEFLATE_BIT: u64 = 0b1000;

/// Most columns in one column set (Automerge writes about twenty).
const MAX_COLUMNS: u64 = 256;

/// Most actors or hashes in a prefix: far beyond any document's, small enough to bound the
/// work of skipping them.
const MAX_ITEMS: u64 = 1 << 20;

/// A cursor over a chunk's data.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

#[derive(Debug)]
pub(super) struct Bad;

impl<'a> Reader<'a> {
    fn uleb(&mut self) -> Result<u64, Bad> {
        let (v, n) = read_uleb(self.bytes.get(self.pos..).ok_or(Bad)?).ok_or(Bad)?;
        self.pos += n;
        Ok(v)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Bad> {
        let n = usize::try_from(n).map_err(|_| Bad)?;
        let end = self.pos.checked_add(n).ok_or(Bad)?;
        let out = self.bytes.get(self.pos..end).ok_or(Bad)?;
        self.pos = end;
        Ok(out)
    }

    /// Skips a count-prefixed list of items of `size` bytes each (`None`: each item is
    /// itself length-prefixed).
    fn skip_list(&mut self, size: Option<u64>) -> Result<(), Bad> {
        let count = self.uleb()?;
        if count > MAX_ITEMS {
            return Err(Bad);
        }
        for _ in 0..count {
            let n = match size {
                Some(n) => n,
                None => self.uleb()?,
            };
            self.take(n)?;
        }
        Ok(())
    }

    fn columns(&mut self) -> Result<Vec<(u64, u64)>, Bad> {
        let count = self.uleb()?;
        if count > MAX_COLUMNS {
            return Err(Bad);
        }
        (0..count).map(|_| Ok((self.uleb()?, self.uleb()?))).collect()
    }
}

fn total(columns: &[(u64, u64)]) -> Result<u64, Bad> {
    columns
        .iter()
        .try_fold(0u64, |acc, (_, len)| acc.checked_add(*len).ok_or(Bad))
}

/// Whether a document chunk's data (after the header) has a compressed column; when it has
/// none, every column's declared rows are checked too.
pub(super) fn document_is_compressed(data: &[u8]) -> Result<bool, Bad> {
    let mut r = Reader { bytes: data, pos: 0 };
    r.skip_list(None)?; // actors
    r.skip_list(Some(32))?; // heads
    let changes = r.columns()?;
    let ops = r.columns()?;
    if changes
        .iter()
        .chain(&ops)
        .any(|(spec, _)| spec & DEFLATE_BIT != 0)
    {
        return Ok(true);
    }
    for (spec, len) in changes.iter().chain(&ops) {
        declared_rows(*spec, r.take(*len)?)?;
    }
    Ok(false)
}

/// Inflates one column under the budget.
fn inflate(data: &[u8], budget: &mut InflateBudget) -> Result<Vec<u8>, WireError> {
    let room = budget.remaining();
    let mut out = Vec::new();
    let read = flate2::read::DeflateDecoder::new(data)
        .take(room as u64 + 1)
        .read_to_end(&mut out);
    match read {
        Ok(n) if n > room => Err(WireError::InflatesTooMuch { limit: budget.limit }),
        Ok(n) => {
            budget.take(n)?;
            Ok(out)
        }
        Err(_) => Err(WireError::Malformed(0)),
    }
}

/// Rows one column may declare: four times the operations a request may hold. Automerge
/// materialises a column's declared runs before any other check (fuzzing found a 400-byte
/// bundle declaring 2^32 values: an allocation of 32 GB, or a loop of minutes).
pub(super) const MAX_COLUMN_ROWS: u64 = 1 << 22;

/// Column types of Automerge's columnar format (the low three bits of a specification).
const BOOLEAN: u64 = 4;
const DELTA: u64 = 3;
const STRING: u64 = 5;
const RAW_VALUE: u64 = 7;

impl Reader<'_> {
    fn sleb(&mut self) -> Result<i64, Bad> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.pos).ok_or(Bad)?;
            self.pos += 1;
            if shift >= 64 {
                return Err(Bad);
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    /// Skips one value of a run-length encoded column of type `kind`.
    fn value(&mut self, kind: u64) -> Result<(), Bad> {
        match kind {
            DELTA => self.sleb().map(drop),
            STRING => {
                let n = self.uleb()?;
                self.take(n).map(drop)
            }
            _ => self.uleb().map(drop),
        }
    }
}

/// The rows a column's encoding declares (the sum of its run lengths), refused beyond
/// [`MAX_COLUMN_ROWS`] before counting further. Reading is bounded by the column's bytes:
/// every run and every value takes at least one.
pub(super) fn declared_rows(spec: u64, data: &[u8]) -> Result<u64, Bad> {
    let kind = spec & 0b111;
    let mut r = Reader { bytes: data, pos: 0 };
    let mut rows = 0u64;
    let mut add = |n: u64| {
        rows = rows.checked_add(n).filter(|t| *t <= MAX_COLUMN_ROWS).ok_or(Bad)?;
        Ok::<(), Bad>(())
    };
    match kind {
        RAW_VALUE => {}
        BOOLEAN => {
            while r.pos < data.len() {
                add(r.uleb()?)?;
            }
        }
        _ => {
            while r.pos < data.len() {
                let count = r.sleb()?;
                if count > 0 {
                    add(count.unsigned_abs())?;
                    r.value(kind)?;
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    add(n)?;
                    for _ in 0..n {
                        r.value(kind)?;
                    }
                } else {
                    add(r.uleb()?)?;
                }
            }
        }
    }
    Ok(rows)
}

/// A column set's columns: specification and data (inflated when it was compressed).
type ColumnSet<'a> = Vec<(u64, std::borrow::Cow<'a, [u8]>)>;

/// Reads a column set: every column inflated (under the budget) if compressed, and its
/// declared rows checked. Uncompressed columns count against the budget too.
fn column_set<'a>(
    r: &mut Reader<'a>,
    budget: &mut InflateBudget,
    offset: usize,
) -> Result<ColumnSet<'a>, WireError> {
    let bad = |_| WireError::Malformed(offset);
    let columns = r.columns().map_err(bad)?;
    let data = r.take(total(&columns).map_err(bad)?).map_err(bad)?;
    let mut pieces = Vec::with_capacity(columns.len());
    let mut at = 0usize;
    for (spec, len) in &columns {
        let len = usize::try_from(*len).map_err(|_| WireError::Malformed(offset))?;
        let raw = &data[at..at + len];
        at += len;
        let piece = if spec & DEFLATE_BIT != 0 {
            std::borrow::Cow::Owned(inflate(raw, budget).map_err(|e| match e {
                WireError::Malformed(_) => WireError::Malformed(offset),
                other => other,
            })?)
        } else {
            budget.take(raw.len())?;
            std::borrow::Cow::Borrowed(raw)
        };
        declared_rows(*spec, &piece).map_err(bad)?;
        pieces.push((*spec, piece));
    }
    Ok(pieces)
}

fn write_set(out: &mut Vec<u8>, pieces: &ColumnSet<'_>) {
    write_uleb(out, pieces.len() as u64);
    for (spec, piece) in pieces {
        write_uleb(out, spec & !DEFLATE_BIT);
        write_uleb(out, piece.len() as u64);
    }
    for (_, piece) in pieces {
        out.extend_from_slice(piece);
    }
}

/// A bundle chunk's layout checked (every column's declared rows bounded, nothing after
/// the columns), and the chunk rebuilt with its compressed columns inflated under the
/// budget, or `None` when it has no compressed column (then it is parsed as it is). A
/// bundle's checksum only frames it: the changes inside carry their own hashes, so the
/// rebuilt chunk holds exactly the same changes.
pub(super) fn inflate_bundle(
    data: &[u8],
    budget: &mut InflateBudget,
    offset: usize,
) -> Result<Option<Vec<u8>>, WireError> {
    let bad = |_| WireError::Malformed(offset);
    let mut r = Reader { bytes: data, pos: 0 };
    r.skip_list(Some(32)).map_err(bad)?; // deps
    r.skip_list(None).map_err(bad)?; // actors
    let prefix_end = r.pos;
    let changes = column_set(&mut r, budget, offset)?;
    let ops = column_set(&mut r, budget, offset)?;
    if r.pos != data.len() {
        return Err(WireError::Malformed(offset));
    }
    let compressed = |set: &ColumnSet<'_>| set.iter().any(|(_, p)| matches!(p, std::borrow::Cow::Owned(_)));
    if !compressed(&changes) && !compressed(&ops) {
        return Ok(None);
    }
    let mut body = data[..prefix_end].to_vec();
    write_set(&mut body, &changes);
    write_set(&mut body, &ops);
    Ok(Some(framed(BUNDLE, &body)))
}

/// A chunk of `kind` holding `body`, with its header and checksum.
fn framed(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut header_tail = vec![kind];
    write_uleb(&mut header_tail, body.len() as u64);
    let mut hasher = Sha256::new();
    hasher.update(&header_tail);
    hasher.update(body);
    let checksum = hasher.finalize();
    let mut chunk = Vec::with_capacity(8 + header_tail.len() + body.len());
    chunk.extend_from_slice(&MAGIC);
    chunk.extend_from_slice(&checksum[..4]);
    chunk.extend_from_slice(&header_tail);
    chunk.extend_from_slice(body);
    chunk
}

/// Columns of at most this many bytes are stored plain, as Automerge does.
const COMPRESS_ABOVE: usize = 256;

/// A document chunk's data (after the header) rebuilt with each column over
/// [`COMPRESS_ABOVE`] bytes compressed by `deflate` when that makes it smaller, and stored
/// plain otherwise; framed as a document chunk. The actors, heads and the suffix are copied as
/// they are, so the document holds exactly the same changes. `None` if the data does not parse
/// or a column does not inflate within `budget`.
pub(super) fn recompress_document(
    data: &[u8],
    budget: &mut InflateBudget,
    deflate: &mut dyn FnMut(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let mut r = Reader { bytes: data, pos: 0 };
    r.skip_list(None).ok()?; // actors
    r.skip_list(Some(32)).ok()?; // heads
    let prefix_end = r.pos;
    let change_meta = r.columns().ok()?;
    let op_meta = r.columns().ok()?;
    let mut recompressed = |meta: &[(u64, u64)], r: &mut Reader<'_>| -> Option<Vec<(u64, Vec<u8>)>> {
        meta.iter()
            .map(|&(spec, len)| {
                let raw = r.take(len).ok()?;
                let plain = if spec & DEFLATE_BIT != 0 {
                    inflate(raw, budget).ok()?
                } else {
                    raw.to_vec()
                };
                let spec = spec & !DEFLATE_BIT;
                if plain.len() > COMPRESS_ABOVE {
                    if let Some(packed) = deflate(&plain).filter(|p| p.len() < plain.len()) {
                        return Some((spec | DEFLATE_BIT, packed));
                    }
                }
                Some((spec, plain))
            })
            .collect()
    };
    let changes = recompressed(&change_meta, &mut r)?;
    let ops = recompressed(&op_meta, &mut r)?;
    let suffix = &data[r.pos..];
    let mut body = data[..prefix_end].to_vec();
    for set in [&changes, &ops] {
        write_uleb(&mut body, set.len() as u64);
        for (spec, piece) in set {
            write_uleb(&mut body, *spec);
            write_uleb(&mut body, piece.len() as u64);
        }
    }
    for (_, piece) in changes.iter().chain(&ops) {
        body.extend_from_slice(piece);
    }
    body.extend_from_slice(suffix);
    Some(framed(DOCUMENT, &body))
}
