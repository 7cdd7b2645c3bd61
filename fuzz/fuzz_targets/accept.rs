//! The hub's acceptance of a pushed document in this process (no validator processes): the same
//! path as `hub_push`, with Automerge instrumented, to find where the library fails. Panics are
//! caught and refused; an abort or an endless loop here is a finding (the hub runs this work in
//! its validator processes, where they cost a refusal).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    outreach_fuzz::push_and_check(outreach_fuzz::fixture(false), data);
});

outreach_fuzz::checksum_repairing_mutator!(2);
