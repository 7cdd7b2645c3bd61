//! One document's validation: what a validator process is given and what it answers. The work
//! is the whole of what touches a device's bytes: parsing them (within the request's inflate
//! budget), merging them into the hub's copy with every operation checked (within the
//! request's operation budget), and checking that what would be stored loads back to the same
//! heads. The serving process never parses a device's Automerge bytes itself: it stores and
//! loads only what a validator produced and loaded back.

use std::collections::HashSet;

use automerge::{Change, ChangeHash};
use outreach_core::doc::{wire, Contact, DocError, DocMeta, Document, Rules};
use outreach_core::model::{DeviceId, DocId};
use outreach_core::sync::protocol::{from_wire, to_wire, ErrorCode, Hash};
use serde::{Deserialize, Serialize};

use crate::db::docs::{self, Compaction};

/// What a validator is asked to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Job {
    /// The document.
    pub doc: DocId,
    /// What it is, for a document new to the hub (the push's checked description); a stored
    /// document says it itself.
    pub meta: Option<DocMeta>,
    /// The hub's stored bytes of it; empty when it is new to the hub.
    #[serde(with = "serde_bytes")]
    pub stored: Vec<u8>,
    /// How the stored bytes are laid out, to decide whether the result is stored as an
    /// increment or as a new snapshot.
    pub compaction: Compaction,
    /// The pushed bytes, untrusted.
    #[serde(with = "serde_bytes")]
    pub pushed: Vec<u8>,
    /// The device that pushed them.
    pub device: DeviceId,
    /// Heads the hub's seal vouches for (checked by the hub), whose changes any device may
    /// bring back; empty when none.
    pub attested: Vec<Hash>,
    /// The actor the hub loads documents with.
    pub hub: DeviceId,
    /// Most changes for the document.
    pub max_changes: usize,
    /// Bytes the pushed data may still inflate to, in this request.
    pub inflate_left: usize,
    /// Most operations in a change.
    pub max_ops_per_change: usize,
    /// Operations left for this request.
    pub ops_left: usize,
}

/// A validator's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Verdict {
    /// The pushed changes are accepted: what to store, and what to check further.
    Accepted(Accepted),
    /// The hub holds every pushed change already.
    Unchanged(Spent),
    /// The changes build on history the hub lacks: the device sends the whole document.
    MissingDependencies,
    /// The document is refused.
    Refused {
        /// Why, for programs.
        code: ErrorCode,
        /// Why, for people (never a value).
        reason: String,
    },
    /// The hub's own stored bytes do not load: the hub failed, not the device.
    Corrupt(String),
}

/// What a request's budgets gave to one document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Spent {
    /// Bytes inflated.
    pub inflated: usize,
    /// Operations checked.
    pub ops: usize,
}

/// Accepted changes, as the hub stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Accepted {
    /// The document's heads after the changes, sorted.
    pub heads: Vec<Hash>,
    /// The new changes, to append to the stored chunks.
    #[serde(with = "serde_bytes")]
    pub increment: Vec<u8>,
    /// The whole document, when it is new or its increments are due for compaction: stored
    /// instead of the chunks.
    #[serde(with = "serde_bytes", default)]
    pub snapshot: Option<Vec<u8>>,
    /// Phone numbers and e-mail addresses found in free text, for the hub to accept only if
    /// they are partners' public contacts.
    pub contacts: Vec<Contact>,
    /// What the budgets gave.
    pub spent: Spent,
    /// How many changes were new to the hub.
    #[serde(default)]
    pub changes: u64,
}

fn refused(e: &DocError) -> Verdict {
    Verdict::Refused {
        code: crate::sync::code_of(e),
        reason: e.to_string(),
    }
}

/// Runs a job. Never panics on purpose, but callers run it where a panic (or worse, an abort
/// in Automerge) cannot touch the serving process.
pub(crate) fn run(job: &Job) -> Verdict {
    let mut budget = wire::InflateBudget::new(job.inflate_left);
    let changes = match wire::parse_pushed(&job.pushed, &mut budget) {
        Ok(c) => c,
        Err(e) => return refused(&e),
    };
    if changes.len() > job.max_changes {
        return Verdict::Refused {
            code: ErrorCode::TooLarge,
            reason: format!(
                "{} changes for one document, more than the {} allowed in one sync",
                changes.len(),
                job.max_changes
            ),
        };
    }
    let attested = outreach_core::doc::ancestors(&changes, &from_wire(&job.attested));
    let new_doc = job.stored.is_empty();
    let mut doc = if new_doc {
        let Some(meta) = job.meta else {
            return Verdict::Corrupt("a new document without its description".into());
        };
        match Document::create(meta, job.hub) {
            Ok(d) => d,
            Err(e) => return Verdict::Corrupt(format!("genesis: {e}")),
        }
    } else {
        match Document::load_stored(job.doc, &job.stored, job.hub) {
            Ok(mut d) => {
                d.mark_saved();
                d
            }
            Err(e) => return Verdict::Corrupt(format!("stored document {} does not load: {e}", job.doc)),
        }
    };
    let stored_heads = doc.heads();
    let new = new_changes(&mut doc, changes);
    let mut rules = Rules {
        max_ops_per_change: job.max_ops_per_change,
        ops_left: job.ops_left,
    };
    let mut spent = Spent {
        inflated: budget.used(),
        ops: 0,
    };
    if new.is_empty() && !new_doc {
        return Verdict::Unchanged(spent);
    }
    let changes = new.len() as u64;
    let findings = match doc.accept(new, job.device, &attested, &mut rules) {
        Ok((_, findings)) => findings,
        Err(DocError::MissingDependencies(_)) => return Verdict::MissingDependencies,
        Err(e) => return refused(&e),
    };
    spent.ops = job.ops_left - rules.ops_left;
    let heads = docs::sorted(doc.heads());
    let increment = doc.automerge_mut().save_after(&stored_heads);
    let snapshot = (new_doc || job.compaction.due(increment.len())).then(|| snapshot_of(&mut doc));
    // Stored only if what would be stored loads back to the same heads.
    let stored_form = match &snapshot {
        Some(s) => s.clone(),
        None => [job.stored.as_slice(), increment.as_slice()].concat(),
    };
    if !doc.loads_back(&stored_form) {
        return refused(&DocError::NotReloadable);
    }
    Verdict::Accepted(Accepted {
        heads: to_wire(&heads),
        increment,
        snapshot,
        contacts: findings.contacts,
        spent,
        changes,
    })
}

/// A document as the hub stores it whole: Automerge's save, and for the documents every device
/// downloads (the directory's sections and the brochure catalog) its columns compressed again
/// at libdeflate's best level. Such a snapshot is written once and sent to every device that
/// lacks it, so the extra milliseconds here save 5 % of the bytes of each first sync. A visit
/// log goes to its own device and the coordinators only, and is written at every push of a new
/// month: it keeps Automerge's bytes (recompressing those doubled the hub's latency under 200
/// devices at once). What is stored is loaded back and checked like any other form, and
/// Automerge's own bytes are kept if the recompression fails.
fn snapshot_of(doc: &mut Document) -> Vec<u8> {
    let saved = doc.automerge_mut().save();
    if matches!(doc.meta(), DocMeta::VisitLog { .. }) {
        return saved;
    }
    let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::best());
    let mut deflate = |plain: &[u8]| {
        let mut out = vec![0; compressor.deflate_compress_bound(plain.len())];
        let n = compressor.deflate_compress(plain, &mut out).ok()?;
        out.truncate(n);
        Some(out)
    };
    wire::recompress_document(&saved, &mut deflate).unwrap_or(saved)
}

/// The changes the hub's copy does not hold yet: resending a change is harmless.
fn new_changes(doc: &mut Document, changes: Vec<Change>) -> Vec<Change> {
    let am = doc.automerge_mut();
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    changes
        .into_iter()
        .filter(|c| seen.insert(c.hash()) && am.get_change_by_hash(&c.hash()).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use outreach_core::model::Region;

    use super::*;

    fn job(meta: DocMeta, device: DeviceId, pushed: Vec<u8>) -> Job {
        Job {
            doc: meta.id(),
            meta: Some(meta),
            stored: Vec::new(),
            compaction: Compaction::default(),
            pushed,
            device,
            attested: Vec::new(),
            hub: DeviceId::random(),
            max_changes: 1000,
            inflate_left: 64 << 20,
            max_ops_per_change: 100_000,
            ops_left: 1_000_000,
        }
    }

    #[test]
    fn a_visit_log_is_stored_as_automerge_saves_it() {
        use outreach_core::model::{Activity, Month, PartOfDay, Setting, VisitDetails, VisitId};
        let device = DeviceId::random();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let meta = DocMeta::VisitLog {
            owner: device,
            month: Month::of(day),
        };
        let mut doc = Document::create(meta, device).unwrap();
        for _ in 0..40 {
            let v = VisitDetails::new(
                day,
                PartOfDay::Evening,
                1000,
                "Brussel",
                Setting::Shelter,
                Activity::GroupSession,
                9,
            );
            doc.put_visit(VisitId::random(), &v).unwrap();
        }
        doc.commit(Utc::now());
        let Verdict::Accepted(accepted) = run(&job(meta, device, doc.save_for_push())) else {
            panic!("refused");
        };
        let snapshot = accepted.snapshot.expect("a new document is stored whole");
        let mut stored = Document::load_stored(meta.id(), &snapshot, DeviceId::random()).unwrap();
        assert_eq!(stored.automerge_mut().save(), snapshot, "not recompressed");
    }

    #[test]
    fn a_new_section_is_stored_smaller_than_automerge_saves_it_and_loads_back() {
        let device = DeviceId::random();
        let meta = DocMeta::DirectorySection {
            region: Region::Brussels,
        };
        let mut doc = Document::create(meta, device).unwrap();
        for p in outreach_core::sample::conex_directory() {
            let p = outreach_core::model::Partner {
                region: Region::Brussels,
                ..p
            };
            doc.insert_partner(&p).unwrap();
        }
        doc.commit(Utc::now());
        let job = job(meta, device, doc.save_for_push());
        let Verdict::Accepted(accepted) = run(&job) else {
            panic!("refused: {:?}", run(&job));
        };
        let snapshot = accepted.snapshot.expect("a new document is stored whole");
        let mut stored = Document::load_stored(meta.id(), &snapshot, DeviceId::random()).unwrap();
        assert_eq!(to_wire(&docs::sorted(stored.heads())), accepted.heads);
        assert_eq!(stored.partners().unwrap(), doc.partners().unwrap());
        let automerge_own = stored.automerge_mut().save();
        assert!(
            snapshot.len() < automerge_own.len(),
            "{} bytes stored, {} as Automerge saves it",
            snapshot.len(),
            automerge_own.len()
        );
    }
}
