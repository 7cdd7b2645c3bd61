//! The last phase of a sync, after the writes are committed: for every pushed document the
//! device may read, the hub's heads and what the device lacks; then every document the device
//! may read and does not hold, whole. Payloads are bounded: once the next one would pass
//! `max_response_bytes`, no more are added and `more` is set. A document left out is simply not
//! answered, so the device keeps its heads and gets it on the next round.

use std::collections::HashSet;

use automerge::ChangeHash;
use outreach_core::doc::Document;
use outreach_core::model::DocId;
use outreach_core::sync::protocol::{to_wire, DocPull, SyncResponse};

use super::plan::{Decision, Known};
use super::Ctx;
use crate::db::docs;
use crate::db::states::{self, DeviceState};
use crate::error::{ApiError, Error};
use crate::hub::Counters;

/// Room left for payloads in the answer.
struct Budget {
    used: usize,
    max: usize,
    full: bool,
}

impl Budget {
    /// Takes room for `n` bytes, or marks the answer full. The first payload always fits, so
    /// that a document larger than the bound still reaches the device, alone.
    fn take(&mut self, n: usize) -> bool {
        if self.full {
            return false;
        }
        if self.used > 0 && self.used.saturating_add(n) > self.max {
            self.full = true;
            return false;
        }
        self.used = self.used.saturating_add(n);
        true
    }
}

/// What the request told of the device's documents.
pub(crate) struct Listed<'a> {
    /// Every document the device holds, as far as the hub knows: those it sent and those the
    /// state it named implies.
    pub all: &'a HashSet<DocId>,
    /// Those the state implies: answered only when the hub has something new for them.
    pub implied: &'a HashSet<DocId>,
    /// The device named a state the hub does not know: only the documents it sent are
    /// answered, and it lists every document in its next round.
    pub unknown: bool,
}

/// Builds the answer, and with a complete one the state it leaves the device in (see
/// `SyncResponse::state`).
pub(crate) fn answer(
    ctx: &Ctx<'_>,
    decisions: Vec<(DocId, Decision)>,
    listed: &Listed<'_>,
) -> Result<(SyncResponse, Option<DeviceState>), ApiError> {
    let mut out = SyncResponse::default();
    let mut budget = Budget {
        used: 0,
        max: ctx.config.max_response_bytes,
        full: false,
    };
    if ctx.caller.retired {
        return Ok((retired_answer(ctx, decisions)?, None));
    }
    for (id, decision) in decisions {
        match decision {
            Decision::Drop => out.drop.push(id),
            Decision::Resend => out.resend.push(id),
            Decision::Refused(refusal) => {
                // A copy sent with a refusal (for a device to rebuild on) counts like a payload.
                budget.take(refusal.document.len());
                out.refused.push(refusal);
            }
            Decision::Answer { device_heads, known } => match known {
                // Nothing new for a document the device did not send: not a byte about it.
                Known::Stored(row) if row.heads == device_heads && listed.implied.contains(&id) => {}
                Known::Stored(row) if row.heads == device_heads => out.docs.push(DocPull {
                    id,
                    heads: to_wire(&row.heads),
                    changes: Vec::new(),
                    attestation: ctx.sealer.seal(id, &row.heads),
                }),
                Known::Stored(_) if budget.full => out.more = true,
                Known::Stored(row) => {
                    let doc = docs::load(ctx.conn, &row, ctx.hub)?;
                    Counters::bump(&ctx.counters.documents_loaded, 1);
                    answer_loaded(ctx, id, doc, &device_heads, &mut budget, &mut out)?;
                }
                Known::Validated { heads, .. } if heads == device_heads => out.docs.push(DocPull {
                    id,
                    heads: to_wire(&heads),
                    changes: Vec::new(),
                    attestation: ctx.sealer.seal(id, &heads),
                }),
                Known::Validated { .. } if budget.full => out.more = true,
                Known::Validated { bytes, .. } => {
                    let doc = load_validated(id, &bytes, ctx)?;
                    answer_loaded(ctx, id, doc, &device_heads, &mut budget, &mut out)?;
                }
            },
        }
    }
    if listed.unknown {
        out.list_all = true;
        return Ok((out, None));
    }
    let readable = docs::readable_rows(ctx.conn, ctx.caller)?;
    for row in &readable {
        if listed.all.contains(&row.id) {
            continue;
        }
        let size = usize::try_from(row.stored_bytes()).unwrap_or(usize::MAX);
        if !budget.take(size) {
            out.more = true;
            break;
        }
        // The stored chunks, a snapshot and increments, are a valid whole document as they are:
        // no need to load it.
        let bytes = docs::bytes(ctx.conn, row.pk)?;
        out.docs.push(DocPull {
            id: row.id,
            heads: to_wire(&row.heads),
            changes: bytes,
            attestation: ctx.sealer.seal(row.id, &row.heads),
        });
    }
    // Once the device has applied a complete answer, it holds every readable document at the
    // hub's heads; that state is named in its next request.
    let complete = !out.more && out.resend.is_empty() && out.refused.is_empty();
    if !complete {
        return Ok((out, None));
    }
    let (state, digest) = states::of_rows(readable);
    out.state = Some(digest);
    Ok((out, Some(state)))
}

/// The answer to a retired device: refusals, and for each document whose every head the hub
/// holds, those very heads as acknowledged (so that the device knows the hub holds all of its
/// work); nothing new, and the order to delete its store once the hub holds all of its work.
fn retired_answer(ctx: &Ctx<'_>, decisions: Vec<(DocId, Decision)>) -> Result<SyncResponse, ApiError> {
    let mut out = SyncResponse {
        wipe: true,
        ..SyncResponse::default()
    };
    for (id, decision) in decisions {
        let (device_heads, holds) = match decision {
            Decision::Answer {
                device_heads,
                known: Known::Stored(row),
            } => {
                let holds = row.heads == device_heads || {
                    let mut doc = docs::load(ctx.conn, &row, ctx.hub)?;
                    let am = doc.automerge_mut();
                    device_heads.iter().all(|h| am.get_change_by_hash(h).is_some())
                };
                (device_heads, holds)
            }
            Decision::Answer {
                device_heads,
                known: Known::Validated { bytes, heads },
            } => {
                let holds = heads == device_heads || {
                    let mut doc = load_validated(id, &bytes, ctx)?;
                    let am = doc.automerge_mut();
                    device_heads.iter().all(|h| am.get_change_by_hash(h).is_some())
                };
                (device_heads, holds)
            }
            Decision::Refused(r) => {
                out.refused.push(r);
                continue;
            }
            Decision::Resend => {
                out.resend.push(id);
                continue;
            }
            Decision::Drop => continue,
        };
        if holds {
            out.docs.push(DocPull {
                id,
                attestation: ctx.sealer.seal(id, &device_heads),
                heads: to_wire(&device_heads),
                changes: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// Loads bytes a validator produced and loaded back.
fn load_validated(id: DocId, bytes: &[u8], ctx: &Ctx<'_>) -> Result<Document, ApiError> {
    Counters::bump(&ctx.counters.documents_loaded, 1);
    let mut doc = Document::load_stored(id, bytes, ctx.hub)
        .map_err(|e| Error::Corrupt(format!("document {id}, as validated, does not load: {e}")))?;
    doc.mark_saved();
    Ok(doc)
}

/// Answers a pushed document from the hub's loaded copy.
fn answer_loaded(
    ctx: &Ctx<'_>,
    id: DocId,
    mut doc: Document,
    device_heads: &[ChangeHash],
    budget: &mut Budget,
    out: &mut SyncResponse,
) -> Result<(), ApiError> {
    let heads = docs::sorted(doc.heads());
    if heads == device_heads {
        out.docs.push(DocPull {
            id,
            heads: to_wire(&heads),
            changes: Vec::new(),
            attestation: ctx.sealer.seal(id, &heads),
        });
        return Ok(());
    }
    let am = doc.automerge_mut();
    if device_heads.iter().any(|h| am.get_change_by_hash(h).is_none()) {
        // The device holds changes the hub lacks (the hub was restored from a backup, or the
        // device's acknowledged heads are stale): it sends the whole document next round.
        out.resend.push(id);
        return Ok(());
    }
    if budget.full {
        out.more = true;
        return Ok(());
    }
    let changes = doc
        .changes_since(device_heads)
        .map_err(|e| Error::Corrupt(format!("document {id}: {e}")))?;
    if !budget.take(changes.len()) {
        out.more = true;
        return Ok(());
    }
    out.docs.push(DocPull {
        id,
        heads: to_wire(&heads),
        changes,
        attestation: ctx.sealer.seal(id, &heads),
    });
    Ok(())
}
