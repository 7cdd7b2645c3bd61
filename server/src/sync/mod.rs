//! `POST /v1/sync`, without HTTP: every pushed document is validated on its own (a refused one
//! is reported and the others are handled), the accepted documents are written in one
//! transaction, then the answer is built from what is stored.
//!
//! Documents are loaded from the database for each request, never cached. A writer that finds a
//! document changed since it loaded it (another request, maybe another hub process, wrote it;
//! the version column of each document tells) validates again under the write lock.

mod access;
mod answer;
mod plan;

use std::collections::HashSet;

use crate::db::Tx;
use outreach_core::model::{DeviceId, DocId};
use outreach_core::sync::protocol::{
    to_wire, DocPush, ErrorCode, Role, Roster, StateDigest, Stewardship, SyncRequest, SyncResponse,
    AUTOMERGE_FORMAT, PROTOCOL_VERSION,
};

use self::plan::Write;
use crate::auth::Caller;
use crate::config::HubConfig;
use crate::db::devices;
use crate::db::states::{self, DeviceState};
use crate::db::{docs, now, params};
use crate::error::{ApiError, Error};
use crate::hub::{Counters, Inner};
use crate::seal::Sealer;

/// The stable code for why a document's changes are refused.
pub(crate) fn code_of(e: &outreach_core::doc::DocError) -> ErrorCode {
    use outreach_core::doc::{wire::WireError, DocError};
    match e {
        DocError::ForeignActor => ErrorCode::Forbidden,
        DocError::PersonalData { .. } => ErrorCode::PersonalData,
        DocError::TooNew { .. } => ErrorCode::UpgradeNeeded,
        DocError::UnknownField { .. } => ErrorCode::UnknownField,
        DocError::ChangeMetadata(_) => ErrorCode::ChangeMetadata,
        DocError::HistoryRegressed => ErrorCode::HistoryRegressed,
        DocError::TooLarge(_) | DocError::Wire(WireError::InflatesTooMuch { .. }) => ErrorCode::TooLarge,
        _ => ErrorCode::InvalidDocument,
    }
}

/// What the phases of a sync share.
pub(crate) struct Ctx<'a> {
    pub conn: &'a Tx<'a>,
    /// The actor the hub loads documents with.
    pub hub: DeviceId,
    pub caller: &'a Caller,
    pub config: &'a HubConfig,
    pub counters: &'a Counters,
    /// Seals the heads answered, checks seals shown back.
    pub sealer: &'a Sealer,
    /// Validates pushed documents (in processes of their own).
    pub validator: &'a crate::validate::Validator,
}

/// How many times the write phase runs when other requests keep creating the same documents
/// first (PostgreSQL only: SQLite's write lock lets nothing overtake the second run).
const CONFLICT_ATTEMPTS: u32 = 5;

/// Why the write phase did not commit.
enum WriteError {
    /// Another request wrote one of the documents since they were loaded.
    Conflict,
    Failed(Error),
    /// Validating again under the lock failed.
    Refused(ApiError),
}

impl From<Error> for WriteError {
    fn from(e: Error) -> Self {
        WriteError::Failed(e)
    }
}

/// Checks what can be checked before reading anything.
fn check_request(
    req: &SyncRequest,
    config: &HubConfig,
) -> Result<HashSet<outreach_core::model::DocId>, ApiError> {
    if req.protocol != PROTOCOL_VERSION {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!(
                "protocol version {} is not supported; this hub speaks version {PROTOCOL_VERSION}",
                req.protocol
            ),
        ));
    }
    if req.format != AUTOMERGE_FORMAT {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!(
                "Automerge data format {:?} is not supported; this hub reads {AUTOMERGE_FORMAT:?}",
                req.format
            ),
        ));
    }
    if req.docs.len() > config.max_docs {
        return Err(ApiError::too_large(format!(
            "{} documents in one sync, more than the {} allowed",
            req.docs.len(),
            config.max_docs
        )));
    }
    let mut ids = HashSet::with_capacity(req.docs.len());
    for push in &req.docs {
        if !ids.insert(push.id) {
            return Err(ApiError::bad_request("a document appears twice in the request").with_doc(push.id));
        }
    }
    Ok(ids)
}

/// Makes every write, or none.
fn write_all(conn: &Tx<'_>, writes: &[Write], now: i64) -> Result<(), WriteError> {
    for write in writes {
        let done = match write {
            Write::Create {
                meta,
                owner_org,
                heads,
                snapshot,
                ..
            } => docs::insert(conn, meta, owner_org.as_deref(), heads, snapshot, now)?,
            Write::Update {
                row, heads, chunk, ..
            } => docs::update(conn, row, heads, chunk, now)?,
        };
        if !done {
            return Err(WriteError::Conflict);
        }
    }
    Ok(())
}

/// The documents and heads behind the state a device names: the state last answered to it,
/// or the hub's present state if that is it. `None` when the hub knows neither.
fn recall(conn: &Tx<'_>, caller: &Caller, digest: StateDigest) -> Result<Option<DeviceState>, Error> {
    if let Some(state) = states::recall(conn, &caller.device.to_string(), digest)? {
        return Ok(Some(state));
    }
    let (present, now) = present(conn, caller)?;
    Ok((now == digest).then_some(present))
}

/// Every document `caller` may read at the heads the hub holds, and its digest.
fn present(conn: &Tx<'_>, caller: &Caller) -> Result<(DeviceState, StateDigest), Error> {
    Ok(states::of_rows(docs::readable_rows(conn, caller)?))
}

/// Keeps the state of every document `caller` may read, as it stands in this transaction, as
/// the state last answered to it; returns its digest. Kept with the writes of a sync, that
/// state is the answer's in all but a race with another writer, and a state kept but not
/// answered is harmless: a device names a state only when its own heads digest to it.
fn remember_present(conn: &Tx<'_>, caller: &Caller) -> Result<StateDigest, Error> {
    let (present, digest) = present(conn, caller)?;
    states::remember(conn, &caller.device.to_string(), digest, &present, now())?;
    Ok(digest)
}

/// Serves one sync request of `caller`.
pub(crate) fn sync(hub: &Inner, caller: &Caller, req: &SyncRequest) -> Result<SyncResponse, ApiError> {
    let sent = check_request(req, &hub.config)?;
    // The documents the device left out, at the heads of the state it names.
    let implied_of = |conn: &Tx<'_>| -> Result<(Vec<DocPush>, bool), ApiError> {
        let Some(digest) = req.known else {
            return Ok((Vec::new(), false));
        };
        match recall(conn, caller, digest)? {
            Some(state) => {
                let implied: Vec<DocPush> = state
                    .into_iter()
                    .filter(|(id, _)| !sent.contains(id))
                    .map(|(id, heads)| DocPush::new(id, to_wire(&heads), Vec::new()))
                    .collect();
                Ok((implied, false))
            }
            None => {
                Counters::bump(&hub.counters.states_unknown, 1);
                Ok((Vec::new(), true))
            }
        }
    };
    let plan_of = |conn: &Tx<'_>, implied: &[DocPush]| {
        plan::plan(&ctx(hub, conn, caller), &req.docs, implied).map_err(|e| ApiError::internal(&e))
    };
    // Validation runs outside the write lock, so that syncs validate in parallel, in the read
    // that recalls the device's state (one transaction where nothing is written)...
    let (implied, unknown, mut plan) = hub.db.read(|conn| {
        let (implied, unknown) = implied_of(conn)?;
        let plan = plan_of(conn, &implied)?;
        Ok::<_, ApiError>((implied, unknown, plan))
    })?;
    let implied_ids: HashSet<DocId> = implied.iter().map(|p| p.id).collect();
    let all: HashSet<DocId> = sent.union(&implied_ids).copied().collect();
    let plan_all = |conn: &Tx<'_>| plan_of(conn, &implied);
    // The state the device will hold is kept with the writes, in their transaction (see
    // `remember_present`).
    let mut remembered = None;
    if !plan.writes.is_empty() {
        let write = |conn: &Tx<'_>| {
            write_all(conn, &plan.writes, now())?;
            Ok(remember_present(conn, caller)?)
        };
        match hub.db.write_rows(write) {
            Ok(digest) => remembered = Some(digest),
            Err(WriteError::Conflict) => {
                // ...and when another request wrote one of these documents in between, it runs
                // again in the write transaction, the documents' rows locked first (on SQLite,
                // the database: nothing can overtake it). On PostgreSQL a document new to the
                // hub has no row to lock: another request may still create it first, and the
                // whole runs again.
                Counters::bump(&hub.counters.write_conflicts, 1);
                let ids: Vec<DocId> = req
                    .docs
                    .iter()
                    .map(|p| p.id)
                    .chain(implied.iter().map(|p| p.id))
                    .collect();
                let mut attempts = 0;
                plan = loop {
                    attempts += 1;
                    let again = hub.db.write_rows(|conn| {
                        docs::lock(conn, &ids)?;
                        let plan = plan_all(conn).map_err(WriteError::Refused)?;
                        write_all(conn, &plan.writes, now())?;
                        remembered = Some(remember_present(conn, caller)?);
                        Ok::<_, WriteError>(plan)
                    });
                    match again {
                        Ok(plan) => break plan,
                        Err(WriteError::Conflict) if attempts < CONFLICT_ATTEMPTS => {
                            Counters::bump(&hub.counters.write_conflicts, 1);
                        }
                        Err(WriteError::Conflict) => {
                            return Err(ApiError::internal(&Error::Corrupt(
                                "a document kept changing under the write lock".into(),
                            )))
                        }
                        Err(WriteError::Failed(e)) => return Err(ApiError::internal(&e)),
                        Err(WriteError::Refused(e)) => return Err(e),
                    }
                };
            }
            Err(WriteError::Failed(e)) => return Err(e.into()),
            Err(WriteError::Refused(e)) => return Err(e),
        }
        Counters::bump(&hub.counters.documents_written, plan.writes.len() as u64);
        Counters::bump(
            &hub.counters.changes_accepted,
            plan.writes.iter().map(plan::Write::changes).sum(),
        );
    }
    let listed = answer::Listed {
        all: &all,
        implied: &implied_ids,
        unknown,
    };
    // The answer, and whether the state it gives the device is the one kept for it already.
    let device = caller.device.to_string();
    let (response, state, current) = hub.db.read(|conn| {
        let (mut response, state) = answer::answer(&ctx(hub, conn, caller), plan.decisions, &listed)?;
        let version = devices::roster_version(conn)?;
        if req.roster != Some(version) {
            let stewardship = crate::db::stewards::all(conn)?
                .into_iter()
                .map(|(region, orgs)| Stewardship {
                    region,
                    may_edit: caller.role == Role::Admin || orgs.iter().any(|o| o.id == caller.org),
                    stewards: orgs.into_iter().map(|o| o.name).collect(),
                })
                .collect();
            response.roster = Some(Roster {
                version,
                devices: devices::roster(conn, caller)?,
                stewardship,
            });
        }
        // An organisation's figures reach its coordinators as published tables, never as
        // its devices' raw visit logs.
        if caller.role.edits_directory() && !caller.retired {
            let org_name: String = conn
                .query_one(
                    "SELECT name FROM organisations WHERE id = ?1",
                    params![caller.org],
                )?
                .get(0)?;
            let report = hub.reports.report_of(conn, &org_name)?;
            if req.report != Some(report.version) {
                response.report = Some(report);
            }
        }
        let current = match response.state {
            Some(digest) if state.is_some() && remembered != Some(digest) => {
                states::is_current(conn, &device, digest)?
            }
            _ => true,
        };
        Ok::<_, ApiError>((response, state, current))
    })?;
    if let (Some(digest), Some(state), false) = (response.state, state, current) {
        // Kept only when it changed: a device with nothing new costs the hub no write.
        hub.db
            .write_rows(|conn| states::remember(conn, &device, digest, &state, now()))?;
    }
    Counters::bump(&hub.counters.syncs, 1);
    Ok(response)
}

fn ctx<'a>(hub: &'a Inner, conn: &'a Tx<'a>, caller: &'a Caller) -> Ctx<'a> {
    Ctx {
        conn,
        hub: hub.db.hub_id(),
        caller,
        config: &hub.config,
        counters: &hub.counters,
        sealer: hub.db.sealer(),
        validator: &hub.validator,
    }
}
