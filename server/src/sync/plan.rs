//! The first phase of a sync: every pushed document is authorised and validated against the
//! stored state, without writing anything. The result is a decision per document and the
//! writes to make. A refused document is one decision among the others: it is reported to the
//! device, and every other document is handled as usual.
//!
//! The work done for a document is bounded before it starts. Whether the device may write the
//! document is decided from its id alone: the stored row's kind and owner, or for a document
//! new to the hub the description the push gives of it (which must derive to the same id);
//! only then are its changes parsed, within the request's inflate and operation budgets (see
//! `outreach_core::doc::wire::parse_pushed` and `Document::inspect`).

use std::collections::HashSet;

use automerge::{Change, ChangeHash};
use outreach_core::doc::{wire, Contact, DocError, DocKind, DocMeta, Document, Rules};
use outreach_core::model::DocId;
use outreach_core::sync::protocol::{from_wire, to_wire, DocPush, DocRefusal, ErrorCode};

use super::access;
use super::Ctx;
use crate::db::docs::{self, Chunk, DocRow};
use crate::error::Error;
use crate::hub::Counters;

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
    /// Loaded (and changed, if the device sent new changes).
    Loaded(Box<Document>),
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
    },
    /// New changes of a stored document, loaded at `row.version`.
    Update {
        row: DocRow,
        heads: Vec<ChangeHash>,
        chunk: Chunk,
    },
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

/// The stable code for why a document's changes are refused.
pub(crate) fn code_of(e: &DocError) -> ErrorCode {
    match e {
        DocError::ForeignActor => ErrorCode::Forbidden,
        DocError::PersonalData { .. } => ErrorCode::PersonalData,
        DocError::TooNew { .. } => ErrorCode::UpgradeNeeded,
        DocError::UnknownField { .. } => ErrorCode::UnknownField,
        DocError::ChangeMetadata(_) => ErrorCode::ChangeMetadata,
        DocError::HistoryRegressed => ErrorCode::HistoryRegressed,
        DocError::TooLarge(_) | DocError::Wire(wire::WireError::InflatesTooMuch { .. }) => {
            ErrorCode::TooLarge
        }
        _ => ErrorCode::InvalidDocument,
    }
}

fn refused(doc: DocId, e: &DocError) -> Failure {
    Failure::Refused(refusal_of(doc, e))
}

/// The refusal of `doc` for `e`.
fn refusal_of(doc: DocId, e: &DocError) -> DocRefusal {
    refusal(doc, code_of(e), e.to_string())
}

/// What the documents of one request may cost together.
struct Budget {
    inflate: wire::InflateBudget,
    rules: Rules,
}

/// Validates every pushed document.
pub(crate) fn plan(ctx: &Ctx<'_>, pushes: &[DocPush]) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut budget = Budget {
        inflate: wire::InflateBudget::new(ctx.config.max_inflated_bytes),
        rules: Rules {
            max_ops_per_change: ctx.config.max_ops_per_change,
            ops_left: ctx.config.max_ops_per_request,
        },
    };
    for push in pushes {
        match plan_one(ctx, push, &mut budget) {
            Ok((decision, write)) => {
                plan.decisions.push((push.id, decision));
                plan.writes.extend(write);
            }
            Err(Failure::Refused(r)) => {
                Counters::bump(&ctx.counters.documents_refused, 1);
                plan.decisions.push((push.id, Decision::Refused(r)));
            }
            Err(Failure::Hub(e)) => return Err(e),
        }
    }
    Ok(plan)
}

fn plan_one(
    ctx: &Ctx<'_>,
    push: &DocPush,
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
    match docs::row(ctx.conn, push.id)? {
        Some(row) => plan_existing(ctx, push, row, device_heads, budget),
        None => plan_new(ctx, push, device_heads, budget),
    }
}

/// Parses pushed changes strictly, within the request's budget and the bound on changes per
/// document.
fn parse(ctx: &Ctx<'_>, push: &DocPush, budget: &mut Budget) -> Result<Vec<Change>, Failure> {
    let changes = wire::parse_pushed(&push.changes, &mut budget.inflate).map_err(|e| refused(push.id, &e))?;
    if changes.len() > ctx.config.max_changes {
        return Err(Failure::Refused(refusal(
            push.id,
            ErrorCode::TooLarge,
            format!(
                "{} changes for one document, more than the {} allowed in one sync",
                changes.len(),
                ctx.config.max_changes
            ),
        )));
    }
    Ok(changes)
}

/// The changes the hub's copy does not hold yet: resending a change is harmless.
fn new_changes(doc: &mut Document, changes: Vec<Change>) -> Vec<Change> {
    let am = doc.automerge_mut();
    changes
        .into_iter()
        .filter(|c| am.get_change_by_hash(&c.hash()).is_none())
        .collect()
}

/// The pushed changes the hub vouches for: those up to heads it sealed before, shown back with a
/// whole document after the hub was restored from a backup. A seal that does not check out
/// vouches for nothing.
fn attested(ctx: &Ctx<'_>, push: &DocPush, changes: &[Change]) -> HashSet<ChangeHash> {
    let heads = from_wire(&push.attested_heads);
    if push.attestation.is_empty() || !ctx.sealer.verify(push.id, &heads, &push.attestation) {
        return HashSet::new();
    }
    outreach_core::doc::ancestors(changes, &heads)
}

fn forbidden_write(doc: DocId) -> Failure {
    Failure::Refused(refusal(
        doc,
        ErrorCode::Forbidden,
        "this device may not change this document",
    ))
}

/// Accepts new changes into the hub's copy, then checks the contacts found in free text
/// against the public contacts of the directory. On refusal the copy must be discarded.
fn accept(
    ctx: &Ctx<'_>,
    doc: &mut Document,
    new: Vec<Change>,
    attested: &HashSet<ChangeHash>,
    budget: &mut Budget,
) -> Result<Result<(), DocError>, Error> {
    let findings = match doc.accept(new, ctx.caller.device, attested, &mut budget.rules) {
        Ok((_, findings)) => findings,
        Err(e) => return Ok(Err(e)),
    };
    if findings.contacts.is_empty() {
        return Ok(Ok(()));
    }
    // The sections are read only when a push holds a phone number or an e-mail address.
    let public = directory_contacts(ctx, doc)?;
    Ok(findings.check_contacts(|c: &Contact| public.contains(&c.tagged())))
}

/// The public contacts of every partner of the directory (see `Contact::tagged`): a phone
/// number or an e-mail address in free text is accepted only when it is one of them. The stored
/// sections are read, and the section being written as it stands after the changes.
fn directory_contacts(ctx: &Ctx<'_>, doc: &Document) -> Result<HashSet<String>, Error> {
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
    if doc.meta().kind() == DocKind::DirectorySection {
        add(doc)?;
    }
    for row in docs::rows_of_kind(ctx.conn, DocKind::DirectorySection)? {
        if row.id != doc.id() {
            add(&docs::load(ctx.conn, &row, ctx.hub)?)?;
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
    let changes = parse(ctx, push, budget)?;
    let attested = attested(ctx, push, &changes);
    let mut doc = docs::load(ctx.conn, &row, ctx.hub)?;
    Counters::bump(&ctx.counters.documents_loaded, 1);
    let new = new_changes(&mut doc, changes);
    let answer = |doc: Document| Decision::Answer {
        device_heads,
        known: Known::Loaded(Box::new(doc)),
    };
    if new.is_empty() {
        return Ok((answer(doc), None));
    }
    match accept(ctx, &mut doc, new, &attested, budget)? {
        Ok(()) => {}
        Err(DocError::MissingDependencies(_)) => return Ok((Decision::Resend, None)),
        Err(e @ DocError::HistoryRegressed) => {
            return Err(Failure::Refused(with_hub_copy(
                ctx,
                &row,
                refusal_of(push.id, &e),
            )?));
        }
        Err(e) => return Err(refused(push.id, &e)),
    }
    let increment = doc.unsaved_changes();
    let heads = docs::sorted(doc.heads());
    let chunk = Chunk::for_update(&row, &mut doc, increment);
    Ok((answer(doc), Some(Write::Update { row, heads, chunk })))
}

/// A regression refusal with the hub's whole copy, on which the device writes its work again.
fn with_hub_copy(ctx: &Ctx<'_>, row: &DocRow, mut r: DocRefusal) -> Result<DocRefusal, Failure> {
    r.document = docs::bytes(ctx.conn, row.pk)?;
    r.heads = to_wire(&row.heads);
    r.attestation = ctx.sealer.seal(row.id, &row.heads);
    Ok(r)
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
    let changes = parse(ctx, push, budget)?;
    let attested = attested(ctx, push, &changes);
    // Accepted onto the deterministic genesis, as any later changes would be.
    let mut doc = Document::create(meta, ctx.hub).map_err(|e| Error::Corrupt(format!("genesis: {e}")))?;
    let new = new_changes(&mut doc, changes);
    match accept(ctx, &mut doc, new, &attested, budget)? {
        Ok(()) => {}
        // Only the changes since an acknowledgement the hub no longer remembers.
        Err(DocError::MissingDependencies(_)) => return Ok((Decision::Resend, None)),
        Err(e) => return Err(refused(push.id, &e)),
    }
    let heads = docs::sorted(doc.heads());
    let snapshot = doc.automerge_mut().save();
    let owner_org = matches!(meta, DocMeta::VisitLog { .. }).then(|| ctx.caller.org.clone());
    let write = Write::Create {
        meta,
        owner_org,
        heads,
        snapshot,
    };
    let decision = Decision::Answer {
        device_heads,
        known: Known::Loaded(Box::new(doc)),
    };
    Ok((decision, Some(write)))
}
