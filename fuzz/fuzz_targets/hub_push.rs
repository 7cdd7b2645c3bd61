//! The hub's boundary: a document pushed by an enrolled device (a field worker or a
//! coordinator; a document the hub holds or one new to it), through authentication, the
//! access rules and the validator processes, to storage. Every input must be answered with a
//! typed refusal or stored as a document that loads back; the hub process itself never fails.

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    outreach_fuzz::push_and_check(outreach_fuzz::fixture(true), data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, _seed: u32| {
    let size = libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    if size > 2 {
        outreach_fuzz::repair_checksums(&mut data[2..size]);
    }
    size
});
