//! The first phase of a sync: every pushed document is authorised and validated against the
//! stored state, without writing anything. The result is a decision per document and the
//! writes to make; any refusal refuses the whole request before anything is stored.

use std::collections::HashSet;

use automerge::{AutoCommit, Change, ChangeHash};
use outreach_core::doc::{wire, DocError, DocMeta, Document};
use outreach_core::model::DocId;
use outreach_core::sync::protocol::{from_wire, DocPush, ErrorCode};

use super::access;
use super::Ctx;
use crate::db::docs::{self, Chunk, DocRow};
use crate::error::{ApiError, Error};
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

/// Validates every pushed document.
pub(crate) fn plan(ctx: &Ctx<'_>, pushes: &[DocPush]) -> Result<Plan, ApiError> {
    let mut plan = Plan::default();
    for push in pushes {
        if push.heads.len() > ctx.config.max_changes {
            return Err(ApiError::too_large(format!(
                "more than {} heads for one document",
                ctx.config.max_changes
            ))
            .with_doc(push.id));
        }
        let device_heads = docs::sorted(from_wire(&push.heads));
        let (decision, write) = match docs::row(ctx.conn, push.id)? {
            Some(row) => plan_existing(ctx, push, row, device_heads)?,
            None => plan_new(ctx, push, device_heads)?,
        };
        plan.decisions.push((push.id, decision));
        plan.writes.extend(write);
    }
    Ok(plan)
}

/// Why a document's changes are refused, for the device.
pub(crate) fn refusal(doc: DocId, e: &DocError) -> ApiError {
    let error = match e {
        DocError::ForeignActor => ApiError::forbidden(e.to_string()),
        DocError::PersonalData { .. } => ApiError::new(ErrorCode::PersonalData, e.to_string()),
        DocError::TooNew { .. } => ApiError::new(ErrorCode::Unsupported, e.to_string()),
        _ => ApiError::new(ErrorCode::InvalidDocument, e.to_string()),
    };
    error.with_doc(doc)
}

/// Parses pushed changes strictly, within the bound on changes per document.
fn parse(ctx: &Ctx<'_>, push: &DocPush) -> Result<Vec<Change>, ApiError> {
    let changes = wire::parse_changes(&push.changes).map_err(|e| refusal(push.id, &e))?;
    if changes.len() > ctx.config.max_changes {
        return Err(ApiError::too_large(format!(
            "{} changes for one document, more than the {} allowed in one sync",
            changes.len(),
            ctx.config.max_changes
        ))
        .with_doc(push.id));
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

fn forbidden_write(doc: DocId) -> ApiError {
    ApiError::forbidden("this device may not change this document").with_doc(doc)
}

fn plan_existing(
    ctx: &Ctx<'_>,
    push: &DocPush,
    row: DocRow,
    device_heads: Vec<ChangeHash>,
) -> Result<(Decision, Option<Write>), ApiError> {
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
    // Changes are checked even when the device's heads equal the hub's: bad bytes are never
    // silently ignored.
    let changes = parse(ctx, push)?;
    let attested = attested(ctx, push, &changes);
    let mut doc = docs::load(ctx.conn, &row, ctx.hub)?;
    Counters::bump(&ctx.counters.documents_loaded, 1);
    let new = new_changes(&mut doc, changes);
    let answer = |doc: Document| {
        if access.read {
            Decision::Answer {
                device_heads,
                known: Known::Loaded(Box::new(doc)),
            }
        } else {
            Decision::Drop
        }
    };
    if new.is_empty() {
        return Ok((answer(doc), None));
    }
    if !access.write {
        return Err(forbidden_write(push.id));
    }
    match doc.accept(new, ctx.caller.device, &attested) {
        Ok(_) => {}
        Err(DocError::MissingDependencies(_)) => return Ok((Decision::Resend, None)),
        Err(e) => return Err(refusal(push.id, &e)),
    }
    let increment = doc.unsaved_changes();
    let heads = docs::sorted(doc.heads());
    let chunk = Chunk::for_update(&row, &mut doc, increment);
    Ok((answer(doc), Some(Write::Update { row, heads, chunk })))
}

fn plan_new(
    ctx: &Ctx<'_>,
    push: &DocPush,
    device_heads: Vec<ChangeHash>,
) -> Result<(Decision, Option<Write>), ApiError> {
    if push.changes.is_empty() {
        // The device holds a document the hub does not (it was restored from a backup).
        return Ok((Decision::Resend, None));
    }
    let changes = parse(ctx, push)?;
    let attested = attested(ctx, push, &changes);
    // First learn what the document is from the changes themselves...
    let mut probe = AutoCommit::new();
    probe
        .apply_changes(changes.iter().cloned())
        .map_err(|e| refusal(push.id, &DocError::from(e)))?;
    if !probe.get_missing_deps(&[]).is_empty() {
        // Only the changes since an acknowledgement the hub no longer remembers.
        return Ok((Decision::Resend, None));
    }
    let meta = *Document::from_automerge(push.id, probe, ctx.hub)
        .map_err(|e| refusal(push.id, &e))?
        .meta();
    if !access::of_new(ctx.caller, &meta).write {
        return Err(forbidden_write(push.id));
    }
    // ...then accept them onto the deterministic genesis, as any later changes would be.
    let mut doc = Document::create(meta, ctx.hub).map_err(|e| Error::Corrupt(format!("genesis: {e}")))?;
    let new = new_changes(&mut doc, changes);
    match doc.accept(new, ctx.caller.device, &attested) {
        Ok(_) => {}
        Err(DocError::MissingDependencies(_)) => return Ok((Decision::Resend, None)),
        Err(e) => return Err(refusal(push.id, &e)),
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
