//! Automerge bytes parsed as pushed by a device (`parse_pushed`, within an inflate budget) and
//! as read from a hub or a disk (`parse_changes`): refusals are fine, panics are caught and
//! refused; an abort is a finding of the library's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outreach_core::doc::wire::{parse_changes, parse_pushed, InflateBudget};

fuzz_target!(|data: &[u8]| {
    let _ = parse_pushed(data, &mut InflateBudget::new(16 << 20));
    let _ = parse_changes(data);
});

outreach_fuzz::checksum_repairing_mutator!(0);
