//! Searches for change sets that Automerge applies to a stored document and that then do not
//! save and load back to the same heads ("poisoned", as issue 15 found), with no check of the
//! project's own in between: such an input aborts, so libFuzzer keeps it. The hub refuses them
//! (its validators check the round trip); the inputs found go to the regression corpus.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outreach_hub::fuzzing::Scenario;

fuzz_target!(
    init: {
        // Automerge's own panics are caught below; only a poisoned set is a finding.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let [selector, arg, bytes @ ..] = data else {
            return;
        };
        let Some(stored) = outreach_fuzz::stored_automerge(Scenario::of(*selector, *arg)) else {
            return;
        };
        if matches!(std::panic::catch_unwind(|| outreach_fuzz::poisoned(stored, bytes)), Ok(Some(_))) {
            std::process::abort();
        }
    }
);

outreach_fuzz::checksum_repairing_mutator!(2);
