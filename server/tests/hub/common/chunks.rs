//! Automerge chunks taken apart and put back together, to craft what a tampered device or a
//! fuzzer sends: the same framing and checksums as Automerge's, other content.

use outreach_core::doc::wire::{read_uleb, write_uleb, MAGIC};
use sha2::{Digest, Sha256};

/// Chunk type of a compressed change.
pub const COMPRESSED_CHANGE: u8 = 2;

/// Chunk type of a bundle.
pub const BUNDLE: u8 = 3;

/// Bit of a column specification saying its data is DEFLATE-compressed.
pub const DEFLATE: u64 = 0b1000;

/// An unsigned LEB128 number at `*pos`.
pub fn uleb(bytes: &[u8], pos: &mut usize) -> u64 {
    let (v, n) = read_uleb(&bytes[*pos..]).expect("a LEB128 number");
    *pos += n;
    v
}

/// Appends a signed LEB128 number.
pub fn write_sleb(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0);
        out.push(if done { b } else { b | 0x80 });
        if done {
            return;
        }
    }
}

/// A chunk of `kind` around `body`, with its checksum.
pub fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut tail = vec![kind];
    write_uleb(&mut tail, body.len() as u64);
    let mut h = Sha256::new();
    h.update(&tail);
    h.update(body);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&h.finalize()[..4]);
    out.extend_from_slice(&tail);
    out.extend_from_slice(body);
    out
}

/// The bundle `bundle` with one op column replaced: the first whose specification `pick`
/// accepts gets `data` and the specification `pick` returns. Framed with a good checksum.
pub fn rewrite_op_column(bundle: &[u8], pick: impl Fn(u64) -> Option<u64>, data: &[u8]) -> Vec<u8> {
    let mut pos = 9;
    let len = uleb(bundle, &mut pos) as usize;
    let body = &bundle[pos..pos + len];
    let mut p = 0;
    for _ in 0..uleb(body, &mut p) {
        p += 32; // deps
    }
    for _ in 0..uleb(body, &mut p) {
        let n = uleb(body, &mut p) as usize; // actors
        p += n;
    }
    let mut out = body[..p].to_vec();
    // The change columns as they are.
    let start = p;
    let mut total = 0;
    for _ in 0..uleb(body, &mut p) {
        uleb(body, &mut p);
        total += uleb(body, &mut p) as usize;
    }
    p += total;
    out.extend_from_slice(&body[start..p]);
    let count = uleb(body, &mut p);
    let mut cols = Vec::new();
    for _ in 0..count {
        cols.push((uleb(body, &mut p), uleb(body, &mut p) as usize));
    }
    write_uleb(&mut out, count);
    let mut payload = Vec::new();
    let mut done = false;
    for (spec, len) in cols {
        let col = &body[p..p + len];
        p += len;
        match pick(spec).filter(|_| !done) {
            Some(new_spec) => {
                done = true;
                write_uleb(&mut out, new_spec);
                write_uleb(&mut out, data.len() as u64);
                payload.extend_from_slice(data);
            }
            None => {
                write_uleb(&mut out, spec);
                write_uleb(&mut out, len as u64);
                payload.extend_from_slice(col);
            }
        }
    }
    assert!(done, "no column was picked");
    out.extend_from_slice(&payload);
    frame(BUNDLE, &out)
}

/// Column type of delta-encoded integers, and the id of the op counters' column in a bundle.
pub const DELTA_INTEGER: u64 = 3;
/// The id of a bundle's `ID_CTR_INVERSE` op column.
pub const ID_CTR_INVERSE: u64 = 11;

/// A bundle whose op counters column declares one run of `run` repeated values: a few bytes
/// that make Automerge 0.12 collect `run` integers before any check.
pub fn huge_run_bundle(bundle: &[u8], run: i64) -> Vec<u8> {
    let mut data = Vec::new();
    write_sleb(&mut data, run);
    write_sleb(&mut data, 1);
    rewrite_op_column(
        bundle,
        |spec| (spec >> 4 == ID_CTR_INVERSE && spec & 0b111 == DELTA_INTEGER).then_some(spec & !DEFLATE),
        &data,
    )
}
