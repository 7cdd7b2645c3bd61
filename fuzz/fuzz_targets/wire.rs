//! Automerge bytes parsed as pushed by a device (`parse_pushed`, within an inflate budget), as
//! read from a hub or a disk (`parse_changes`), and recompressed as the hub stores a snapshot
//! (`recompress_document`): refusals are fine, panics are caught and refused (the
//! recompression reads the layout with checked reads only, and must not panic at all); an abort
//! is a finding of the library's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outreach_core::doc::wire::{parse_changes, parse_pushed, recompress_document, InflateBudget};

fuzz_target!(|data: &[u8]| {
    let _ = parse_pushed(data, &mut InflateBudget::new(16 << 20));
    let _ = parse_changes(data);
    let _ = recompress_document(data, &mut |plain: &[u8]| Some(plain.to_vec()));
});

outreach_fuzz::checksum_repairing_mutator!(0);
