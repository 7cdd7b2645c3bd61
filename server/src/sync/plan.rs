//! The first phase of a sync: every pushed document is authorised and validated against the
//! stored state, without writing anything. The result is a decision per document and the
//! writes to make. A refused document is one decision among the others: it is reported to the
//! device, and every other document is handled as usual.
//!
//! The work done for a document is bounded before it starts. Whether the device may write the
//! document is decided from its id alone: the stored row's kind and owner, or for a document
//! new to the hub the description the push gives of it (which must derive to the same id).
//! Only then are its bytes handed to a validator process (see `validate/`), within what is left
//! of the request's inflate and operation budgets; this process never parses them.

use std::collections::{HashMap, HashSet};

use automerge::ChangeHash;
use outreach_core::doc::{Contact, DocKind, DocMeta, Document};
use outreach_core::model::{DocId, Region};
use outreach_core::sync::protocol::{from_wire, to_wire, DocPush, DocRefusal, ErrorCode, Role};

use super::access;
use super::Ctx;
use crate::db::docs::{self, Chunk, Compaction, DocRow};
use crate::db::stewards;
use crate::error::Error;
use crate::hub::Counters;
use crate::validate::{Accepted, Job, Spent, Verdict};

/// What the answer says about a pushed document.
#[derive(Debug)]
pub(crate) enum Decision {
    /// The device may not read it: it deletes its copy.
    Drop,
    /// The device holds history the hub lacks: it sends the whole document next round.
    Resend,
    /// The device may read it: answer with the hub's heads and what the device lacks.
    Answer {
        /// The device's heads, sorted.
        device_heads: Vec<ChangeHash>,
        /// The hub's copy.
        known: Known,
    },
    /// The hub does not take the document's changes.
    Refused(DocRefusal),
}

/// The hub's copy of a document the device may read.
#[derive(Debug)]
pub(crate) enum Known {
    /// Stored and not loaded: the answer loads it only if the device lacks changes.
    Stored(DocRow),
    /// As it will be stored once the writes are made, with its heads: bytes a validator
    /// produced and loaded back, loaded here only if the device lacks changes.
    Validated {
        /// The stored form (chunks, or a snapshot).
        bytes: Vec<u8>,
        /// Its heads, sorted.
        heads: Vec<ChangeHash>,
    },
}

/// A write to make once every document is validated.
#[derive(Debug)]
pub(crate) enum Write {
    /// A document new to the hub.
    Create {
        meta: DocMeta,
        owner_org: Option<String>,
        heads: Vec<ChangeHash>,
        snapshot: Vec<u8>,
        /// The changes accepted.
        changes: u64,
    },
    /// New changes of a stored document, loaded at `row.version`.
    Update {
        row: DocRow,
        heads: Vec<ChangeHash>,
        chunk: Chunk,
        /// The changes accepted.
        changes: u64,
    },
}

impl Write {
    /// How many changes the write stores.
    pub(crate) fn changes(&self) -> u64 {
        match self {
            Write::Create { changes, .. } | Write::Update { changes, .. } => *changes,
        }
    }
}

/// The outcome of the first phase.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// A decision per pushed document, in request order.
    pub decisions: Vec<(DocId, Decision)>,
    /// The writes, all made in one transaction.
    pub writes: Vec<Write>,
}

/// What one document's planning can end with besides a decision.
enum Failure {
    /// The document is refused.
    Refused(DocRefusal),
    /// The hub failed: the whole request fails.
    Hub(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Hub(e)
    }
}

/// A refusal of `doc` with `code` and `reason`.
pub(crate) fn refusal(doc: DocId, code: ErrorCode, reason: impl Into<String>) -> DocRefusal {
    DocRefusal {
        id: doc,
        code,
        reason: reason.into(),
        document: Vec::new(),
        heads: Vec::new(),
        attestation: Vec::new(),
    }
}

/// What the documents of one request may still cost together.
struct Budget {
    inflate_left: usize,
    ops_left: usize,
}

impl Budget {
    fn spend(&mut self, spent: Spent) {
        self.inflate_left = self.inflate_left.saturating_sub(spent.inflated);
        self.ops_left = self.ops_left.saturating_sub(spent.ops);
    }
}

/// Validates every pushed document: those sent, then those the device's named state implies
/// (with their heads and no changes).
pub(crate) fn plan(ctx: &Ctx<'_>, sent: &[DocPush], implied: &[DocPush]) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut budget = Budget {
        inflate_left: ctx.config.max_inflated_bytes,
        ops_left: ctx.config.max_ops_per_request,
    };
    // Many documents: their rows in one query (those the caller may read, in the same
    // snapshot), instead of one query each; a document the caller may not read, or new to the
    // hub, is looked up by itself.
    let rows: Option<HashMap<DocId, DocRow>> = (sent.len() + implied.len() >= ROWS_IN_ONE_QUERY)
        .then(|| docs::readable_rows(ctx.conn, ctx.caller))
        .transpose()?
        .map(|rows| rows.into_iter().map(|row| (row.id, row)).collect());
    for push in sent.iter().chain(implied) {
        match plan_one(ctx, push, rows.as_ref(), &mut budget) {
            Ok((decision, write)) => {
                plan.decisions.push((push.id, decision));
                plan.writes.extend(write);
            }
            Err(Failure::Refused(r)) => {
                Counters::bump(&ctx.counters.documents_refused, 1);
                *ctx.counters
                    .refused_by_code
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .entry(r.code.as_str())
                    .or_default() += 1;
                plan.decisions.push((push.id, Decision::Refused(r)));
            }
            Err(Failure::Hub(e)) => return Err(e),
        }
    }
    Ok(plan)
}

/// From this many pushed documents, the caller's readable rows are read at once.
const ROWS_IN_ONE_QUERY: usize = 4;

fn plan_one(
    ctx: &Ctx<'_>,
    push: &DocPush,
    rows: Option<&HashMap<DocId, DocRow>>,
    budget: &mut Budget,
) -> Result<(Decision, Option<Write>), Failure> {
    if push.heads.len() > ctx.config.max_changes {
        return Err(Failure::Refused(refusal(
            push.id,
            ErrorCode::TooLarge,
            format!("more than {} heads for one document", ctx.config.max_changes),
        )));
    }
    let device_heads = docs::sorted(from_wire(&push.heads));
    let row = match rows.and_then(|rows| rows.get(&push.id)) {
        Some(row) => Some(row.clone()),
        None => docs::row(ctx.conn, push.id)?,
    };
    match row {
        Some(row) => plan_existing(ctx, push, row, device_heads, budget),
        None => plan_new(ctx, push, device_heads, budget),
    }
}

/// The heads of a whole document sent again that the hub's seal vouches for: the changes up
/// to them are taken back from any device (the hub accepted them before it was restored from a
/// backup). A seal that does not check out vouches for nothing.
fn attested(ctx: &Ctx<'_>, push: &DocPush) -> Vec<ChangeHash> {
    let heads = from_wire(&push.attested_heads);
    if push.attestation.is_empty() || !ctx.sealer.verify(push.id, &heads, &push.attestation) {
        return Vec::new();
    }
    heads
}

/// The region of a directory section, from its id (every section's id derives from its region).
fn section_region(id: DocId) -> Option<Region> {
    Region::ALL
        .iter()
        .copied()
        .find(|&region| DocMeta::DirectorySection { region }.id() == id)
}

/// Refuses changes to a directory section from a coordinator whose organisation is not one of
/// the region's stewards; the hub's admins edit everywhere, and a region without a steward is
/// edited by every coordinator. Decided before a byte of the changes is read.
fn check_stewardship(ctx: &Ctx<'_>, doc: DocId, region: Option<Region>) -> Result<(), Failure> {
    let Some(region) = region else {
        return Ok(());
    };
    if ctx.caller.role == Role::Admin {
        return Ok(());
    }
    let stewards = stewards::of_region(ctx.conn, region)?;
    if stewards.is_empty() || stewards.contains(&ctx.caller.org) {
        return Ok(());
    }
    Err(Failure::Refused(refusal(
        doc,
        ErrorCode::Forbidden,
        format!(
            "the {region} section of the directory is kept by its steward organisations: suggest the change instead"
        ),
    )))
}

fn forbidden_write(doc: DocId) -> Failure {
    Failure::Refused(refusal(
        doc,
        ErrorCode::Forbidden,
        "this device may not change this document",
    ))
}

/// The job of validating `push` against `stored`.
fn job(
    ctx: &Ctx<'_>,
    push: &DocPush,
    meta: Option<DocMeta>,
    stored: Vec<u8>,
    compaction: Compaction,
    budget: &Budget,
) -> Job {
    Job {
        doc: push.id,
        meta,
        stored,
        compaction,
        pushed: push.changes.clone(),
        device: ctx.caller.device,
        attested: to_wire(&attested(ctx, push)),
        hub: ctx.hub,
        max_changes: ctx.config.max_changes,
        inflate_left: budget.inflate_left,
        max_ops_per_change: ctx.config.max_ops_per_change,
        ops_left: budget.ops_left,
    }
}

/// What a validator's acceptance leaves to the hub: the contacts found in free text must be
/// partners' public contacts.
fn check_contacts(
    ctx: &Ctx<'_>,
    push: &DocPush,
    accepted: &Accepted,
    stored_form: &[u8],
) -> Result<(), Failure> {
    if accepted.contacts.is_empty() {
        return Ok(());
    }
    let public = directory_contacts(ctx, push.id, stored_form)?;
    match accepted
        .contacts
        .iter()
        .find(|c: &&Contact| !public.contains(&c.tagged()))
    {
        Some(c) => Err(Failure::Refused(refusal(
            push.id,
            ErrorCode::PersonalData,
            format!("{} contains personal data", c.path),
        ))),
        None => Ok(()),
    }
}

/// The public contacts of every partner of the directory (see `Contact::tagged`): the stored
/// sections, and the section being written (`doc`, as validated) when it is one. Read only when
/// a push holds a phone number or an e-mail address.
fn directory_contacts(ctx: &Ctx<'_>, doc: DocId, validated: &[u8]) -> Result<HashSet<String>, Error> {
    let mut out = HashSet::new();
    let mut add = |d: &Document| -> Result<(), Error> {
        let partners = d
            .partners()
            .map_err(|e| Error::Corrupt(format!("stored document {} does not read: {e}", d.id())))?;
        for p in &partners {
            out.extend(outreach_core::doc::partner_contacts(p));
        }
        Ok(())
    };
    for row in docs::rows_of_kind(ctx.conn, DocKind::DirectorySection)? {
        if row.id != doc {
            add(&docs::load(ctx.conn, &row, ctx.hub)?)?;
        }
    }
    if let Ok(d) = Document::load_stored(doc, validated, ctx.hub) {
        if d.meta().kind() == DocKind::DirectorySection {
            add(&d)?;
        }
    }
    Ok(out)
}

fn plan_existing(
    ctx: &Ctx<'_>,
    push: &DocPush,
    row: DocRow,
    device_heads: Vec<ChangeHash>,
    budget: &mut Budget,
) -> Result<(Decision, Option<Write>), Failure> {
    let access = access::of_row(ctx.caller, &row);
    if push.changes.is_empty() {
        let decision = if access.read {
            Decision::Answer {
                device_heads,
                known: Known::Stored(row),
            }
        } else {
            Decision::Drop
        };
        return Ok((decision, None));
    }
    // Decided from the stored row, before a byte of the changes is read.
    if !access.write {
        if !access.read {
            return Ok((Decision::Drop, None));
        }
        return Err(forbidden_write(push.id));
    }
    if row.kind == DocKind::DirectorySection {
        check_stewardship(ctx, push.id, section_region(push.id))?;
    }
    let stored = docs::bytes(ctx.conn, row.pk)?;
    let job = job(ctx, push, None, stored, Compaction::of(&row), budget);
    Counters::bump(&ctx.counters.documents_validated, 1);
    let accepted = match ctx.validator.validate(&job)? {
        Verdict::Accepted(a) => a,
        Verdict::Unchanged(spent) => {
            budget.spend(spent);
            let decision = Decision::Answer {
                device_heads,
                known: Known::Stored(row),
            };
            return Ok((decision, None));
        }
        Verdict::MissingDependencies => return Ok((Decision::Resend, None)),
        Verdict::Refused { code, reason } if code == ErrorCode::HistoryRegressed => {
            return Err(Failure::Refused(with_hub_copy(
                ctx,
                &row,
                job.stored,
                refusal(push.id, code, reason),
            )));
        }
        Verdict::Refused { code, reason } => return Err(Failure::Refused(refusal(push.id, code, reason))),
        Verdict::Corrupt(e) => return Err(Failure::Hub(Error::Corrupt(e))),
    };
    budget.spend(accepted.spent);
    let heads = from_wire(&accepted.heads);
    let (chunk, bytes) = match accepted.snapshot.clone() {
        Some(s) => (Chunk::Snapshot(s.clone()), s),
        None => {
            let bytes = [job.stored.as_slice(), accepted.increment.as_slice()].concat();
            (Chunk::Increment(accepted.increment.clone()), bytes)
        }
    };
    check_contacts(ctx, push, &accepted, &bytes)?;
    let decision = Decision::Answer {
        device_heads,
        known: Known::Validated {
            bytes,
            heads: heads.clone(),
        },
    };
    let changes = accepted.changes;
    Ok((
        decision,
        Some(Write::Update {
            row,
            heads,
            chunk,
            changes,
        }),
    ))
}

/// A regression refusal with the hub's whole copy, on which the device writes its work again.
fn with_hub_copy(ctx: &Ctx<'_>, row: &DocRow, stored: Vec<u8>, mut r: DocRefusal) -> DocRefusal {
    r.document = stored;
    r.heads = to_wire(&row.heads);
    r.attestation = ctx.sealer.seal(row.id, &row.heads);
    r
}

fn plan_new(
    ctx: &Ctx<'_>,
    push: &DocPush,
    device_heads: Vec<ChangeHash>,
    budget: &mut Budget,
) -> Result<(Decision, Option<Write>), Failure> {
    if push.changes.is_empty() {
        // The device holds a document the hub does not (it was restored from a backup).
        return Ok((Decision::Resend, None));
    }
    // What the document is comes from the push's description, checked against its id: the
    // access rule applies before any change is read.
    let meta = match push.meta {
        Some(meta) if meta.id() == push.id => meta,
        Some(_) => {
            return Err(Failure::Refused(refusal(
                push.id,
                ErrorCode::BadRequest,
                "the description of the document does not match its id",
            )))
        }
        None => {
            return Err(Failure::Refused(refusal(
                push.id,
                ErrorCode::BadRequest,
                "a document new to the hub must say what it is",
            )))
        }
    };
    if !access::of_new(ctx.caller, &meta).write {
        return Err(forbidden_write(push.id));
    }
    if let DocMeta::DirectorySection { region } = meta {
        check_stewardship(ctx, push.id, Some(region))?;
    }
    let job = job(ctx, push, Some(meta), Vec::new(), Compaction::default(), budget);
    Counters::bump(&ctx.counters.documents_validated, 1);
    let accepted = match ctx.validator.validate(&job)? {
        Verdict::Accepted(a) => a,
        // Only the changes since an acknowledgement the hub no longer remembers.
        Verdict::MissingDependencies | Verdict::Unchanged(_) => return Ok((Decision::Resend, None)),
        Verdict::Refused { code, reason } => return Err(Failure::Refused(refusal(push.id, code, reason))),
        Verdict::Corrupt(e) => return Err(Failure::Hub(Error::Corrupt(e))),
    };
    budget.spend(accepted.spent);
    let snapshot = accepted
        .snapshot
        .clone()
        .ok_or_else(|| Error::Corrupt("a validator gave a new document without its snapshot".into()))?;
    check_contacts(ctx, push, &accepted, &snapshot)?;
    let heads = from_wire(&accepted.heads);
    let owner_org = matches!(meta, DocMeta::VisitLog { .. } | DocMeta::Suggestions { .. })
        .then(|| ctx.caller.org.clone());
    let decision = Decision::Answer {
        device_heads,
        known: Known::Validated {
            bytes: snapshot.clone(),
            heads: heads.clone(),
        },
    };
    let write = Write::Create {
        meta,
        owner_org,
        heads,
        snapshot,
        changes: accepted.changes,
    };
    Ok((decision, Some(write)))
}
