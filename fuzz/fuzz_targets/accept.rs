//! The hub's acceptance of a pushed document in this process (no validator processes): the same
//! path as `hub_push`, with Automerge instrumented, to find where the library fails. Panics are
//! caught and refused; an abort or an endless loop here is a finding (the hub runs this work in
//! its validator processes, where they cost a refusal).

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    outreach_fuzz::push_and_check(outreach_fuzz::fixture(false), data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, _seed: u32| {
    let size = libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    if size > 2 {
        outreach_fuzz::repair_checksums(&mut data[2..size]);
    }
    size
});
