//! What the fuzz targets share: the mutator's repair of Automerge chunk checksums (without it
//! almost every mutation is refused at the checksum and coverage stalls), and the hubs the push
//! targets push to (see `outreach_hub::fuzzing` for the scenarios and the stored documents).

use std::path::PathBuf;
use std::sync::OnceLock;

use outreach_hub::fuzzing::Fixture;
use outreach_hub::Isolation;
use outreach_core::doc::wire::{read_uleb, MAGIC};
use sha2::{Digest, Sha256};

pub use outreach_hub::fuzzing::{
    at, month, push_and_check, stored_log_doc, stored_section_doc, visit, COORDINATOR, WORKER,
};

/// Declares a target's mutator: libFuzzer's own mutation, then the checksums of the chunks after
/// the input's first `skip` bytes (those choosing the scenario) repaired.
#[macro_export]
macro_rules! checksum_repairing_mutator {
    ($skip:expr) => {
        libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, _seed: u32| {
            let size = libfuzzer_sys::fuzzer_mutate(data, size, max_size);
            if size > $skip {
                $crate::repair_checksums(&mut data[$skip..size]);
            }
            size
        });
    };
}

/// Recomputes the checksum of every complete chunk in `data` (the first four bytes of the
/// SHA-256 of its type, length and content), as Automerge writes them; compressed change
/// chunks, whose checksum is that of the content before compression, are left as they are.
pub fn repair_checksums(data: &mut [u8]) {
    let mut offset = 0;
    while offset + 10 <= data.len() {
        if data[offset..offset + 4] != MAGIC {
            // Resynchronise on the next magic, if any.
            match data[offset + 1..].windows(4).position(|w| w == MAGIC) {
                Some(p) => {
                    offset += 1 + p;
                    continue;
                }
                None => return,
            }
        }
        let Some((len, n)) = read_uleb(&data[offset + 9..]) else {
            return;
        };
        let start = offset + 9 + n;
        let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
            return;
        };
        if end > data.len() {
            return;
        }
        if data[offset + 8] != 2 {
            let sum = Sha256::digest(&data[offset + 8..end]);
            data[offset + 4..offset + 8].copy_from_slice(&sum[..4]);
        }
        offset = end;
    }
}

/// The validator program of the hub under fuzzing: `OUTREACH_HUB_VALIDATOR`, else the
/// workspace's release `outreach-hub`.
fn validator_program() -> PathBuf {
    std::env::var_os("OUTREACH_HUB_VALIDATOR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/release/outreach-hub"
            ))
        },
        PathBuf::from,
    )
}

/// The fixture, made once per process: validating in processes of their own (`isolated`), or
/// in this one.
pub fn fixture(isolated: bool) -> &'static Fixture {
    static ISOLATED: OnceLock<Fixture> = OnceLock::new();
    static IN_PROCESS: OnceLock<Fixture> = OnceLock::new();
    if isolated {
        ISOLATED.get_or_init(|| Fixture::new(Isolation::Program(validator_program())))
    } else {
        IN_PROCESS.get_or_init(|| Fixture::new(Isolation::InProcess))
    }
}

/// Whether Automerge, with no check of the project's own, applies `bytes` (as pushed) to
/// `stored` and then cannot load back what it saves: `Some(why)` then, `None` when the bytes
/// do not apply or the result loads back to the same heads ("poisoned" change sets; the hub
/// refuses them at its round trip).
pub fn poisoned(stored: &automerge::AutoCommit, bytes: &[u8]) -> Option<String> {
    use outreach_core::doc::wire::{parse_pushed, InflateBudget};
    let changes = parse_pushed(bytes, &mut InflateBudget::new(16 << 20)).ok()?;
    if changes.is_empty() {
        return None;
    }
    let mut doc = stored.clone();
    doc.apply_changes(changes).ok()?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return None;
    }
    let mut heads = doc.get_heads();
    heads.sort();
    match automerge::AutoCommit::load(&doc.save()) {
        Err(e) => Some(format!("load: {e}")),
        Ok(mut d) => {
            let mut h = d.get_heads();
            h.sort();
            (h != heads).then(|| "mismatching heads".to_string())
        }
    }
}

/// The stored document a scenario pushes to, as Automerge holds it (`None` for a document new
/// to the hub).
pub fn stored_automerge(s: outreach_hub::fuzzing::Scenario) -> Option<&'static automerge::AutoCommit> {
    use outreach_hub::fuzzing::Scenario;
    static STORED: OnceLock<(automerge::AutoCommit, automerge::AutoCommit)> = OnceLock::new();
    let (log, section) = STORED.get_or_init(|| {
        (
            stored_log_doc().automerge().clone(),
            stored_section_doc().automerge().clone(),
        )
    });
    match s {
        Scenario::StoredLog => Some(log),
        Scenario::StoredSection | Scenario::WorkerSection => Some(section),
        _ => None,
    }
}
