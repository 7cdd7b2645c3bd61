//! The hub's boundary: a document pushed by an enrolled device (a field worker or a
//! coordinator; a document the hub holds or one new to it), through authentication, the
//! access rules and the validator processes, to storage. Every input must be answered with a
//! typed refusal or stored as a document that loads back; the hub process itself never fails.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    outreach_fuzz::push_and_check(outreach_fuzz::fixture(true), data);
});

outreach_fuzz::checksum_repairing_mutator!(2);
