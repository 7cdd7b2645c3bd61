//! Searches for poisoned change sets (see `poison`) that pass every check of the hub's own
//! before its round trip: the layout, the access rules and the bounds. The hub refuses them at
//! the round trip (`does not load back`); such an input aborts here, so libFuzzer keeps it
//! for the regression corpus.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outreach_hub::fuzzing::Scenario;

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let [selector, arg, bytes @ ..] = data else {
            return;
        };
        let fixture = outreach_fuzz::fixture(false);
        let (meta, token) = fixture.target(Scenario::of(*selector, *arg));
        if let Ok(Ok(resp)) = std::panic::catch_unwind(|| fixture.push(token, meta, bytes.to_vec())) {
            if resp.refused.iter().any(|r| r.reason.contains("does not load back")) {
                std::process::abort();
            }
        }
    }
);

outreach_fuzz::checksum_repairing_mutator!(2);
