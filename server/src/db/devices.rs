//! Organisations, enrollment codes and devices in the database.

use super::sql::Row;
use super::{params, time_of, Tx};
use crate::admin::{CodeInfo, DeviceInfo, Organisation};
use crate::auth::{self, Caller};
use crate::error::{ApiError, Error, Result};
use outreach_core::model::DeviceId;
use outreach_core::sync::protocol::{EnrollRequest, EnrollResponse, ErrorCode, Role};

/// Longest organisation or device name, in characters.
pub(crate) const NAME_MAX: usize = 100;

/// Checks a name given by a person: trimmed, not empty, not too long, no control characters.
pub(crate) fn clean_name(what: &'static str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(what, "it is empty"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(Error::invalid(
            what,
            format!("it is longer than {NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(what, "it contains control characters"));
    }
    Ok(name.to_string())
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse()
        .map_err(|_| Error::Corrupt("a stored role is unknown".into()))
}

fn parse_device(s: &str) -> Result<DeviceId> {
    s.parse()
        .map_err(|_| Error::Corrupt("a stored device id is unreadable".into()))
}

fn org_of_row(r: &Row) -> Result<Organisation> {
    Ok(Organisation {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: time_of(r.get(2)?),
    })
}

/// Adds an organisation; its name must be new (ignoring case).
pub(crate) fn insert_org(conn: &Tx<'_>, name: &str, now: i64) -> Result<Organisation> {
    let name = clean_name("organisation name", name)?;
    let exists = conn
        .query_opt(
            "SELECT id FROM organisations WHERE lower(name) = lower(?1)",
            params![name],
        )?
        .is_some();
    if exists {
        return Err(Error::OrganisationExists(name));
    }
    let org = Organisation {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        created_at: time_of(now),
    };
    conn.execute(
        "INSERT INTO organisations (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![org.id, org.name, now],
    )?;
    Ok(org)
}

/// Every organisation, by name.
pub(crate) fn list_orgs(conn: &Tx<'_>) -> Result<Vec<Organisation>> {
    conn.query(
        "SELECT id, name, created_at FROM organisations ORDER BY lower(name), name",
        params![],
    )?
    .iter()
    .map(org_of_row)
    .collect()
}

/// The organisation with this name (ignoring case) or id.
pub(crate) fn find_org(conn: &Tx<'_>, name_or_id: &str) -> Result<Organisation> {
    let key = name_or_id.trim();
    conn.query_opt(
        "SELECT id, name, created_at FROM organisations WHERE lower(name) = lower(?1) OR id = ?1",
        params![key],
    )?
    .as_ref()
    .map(org_of_row)
    .transpose()?
    .ok_or_else(|| Error::UnknownOrganisation(key.to_string()))
}

/// Stores a new one-time code for `org` and `role`, valid until `expires_at`, with an optional
/// label (the device it is meant for); returns the code and its id.
pub(crate) fn insert_code(
    conn: &Tx<'_>,
    org: &str,
    role: Role,
    now: i64,
    expires_at: i64,
    label: Option<&str>,
) -> Result<(String, String)> {
    let label = label.map(|l| clean_name("code label", l)).transpose()?;
    let code = auth::new_code();
    let hash = auth::code_hash(&code).ok_or_else(|| Error::Corrupt("a new code does not parse".into()))?;
    conn.execute(
        "INSERT INTO enrollment_codes (code_hash, org_id, role, created_at, expires_at, label)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![&hash[..], org, role.as_str(), now, expires_at, label],
    )?;
    Ok((code, code_id(&hash)))
}

/// The id of a code, shown and typed in commands: the start of its hash, never the code.
fn code_id(hash: &[u8]) -> String {
    hex::encode(&hash[..CODE_ID_BYTES.min(hash.len())])
}

/// Bytes of a code's hash that make its id.
const CODE_ID_BYTES: usize = 5;

/// Every enrollment code, newest first.
pub(crate) fn list_codes(conn: &Tx<'_>) -> Result<Vec<CodeInfo>> {
    Ok(codes(conn)?.into_iter().map(|(_, info)| info).collect())
}

/// Every enrollment code with its hash, newest first.
fn codes(conn: &Tx<'_>) -> Result<Vec<(Vec<u8>, CodeInfo)>> {
    let rows = conn.query(
        "SELECT c.code_hash, o.name, c.role, c.label, c.created_at, c.expires_at, c.used_at, c.cancelled_at
         FROM enrollment_codes c JOIN organisations o ON o.id = c.org_id
         ORDER BY c.created_at DESC, c.code_hash",
        params![],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let hash: Vec<u8> = r.get(0)?;
        let info = CodeInfo {
            id: code_id(&hash),
            org_name: r.get(1)?,
            role: parse_role(&r.get::<String>(2)?)?,
            label: r.get(3)?,
            created_at: time_of(r.get(4)?),
            expires_at: time_of(r.get(5)?),
            used_at: r.get::<Option<i64>>(6)?.map(time_of),
            cancelled_at: r.get::<Option<i64>>(7)?.map(time_of),
        };
        out.push((hash, info));
    }
    Ok(out)
}

/// Cancels an open code named by its id or its label; returns its id. A used, expired or
/// cancelled code, an unknown name and a label on several open codes are errors.
pub(crate) fn cancel_code(conn: &Tx<'_>, id_or_label: &str, now: i64) -> Result<String> {
    let key = id_or_label.trim();
    let open: Vec<(Vec<u8>, CodeInfo)> = codes(conn)?
        .into_iter()
        .filter(|(_, c)| c.used_at.is_none() && c.cancelled_at.is_none() && c.expires_at > time_of(now))
        .filter(|(_, c)| {
            c.id == key.to_ascii_lowercase()
                || c.label.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(key))
        })
        .collect();
    let (hash, code) = match open.as_slice() {
        [(hash, one)] => (hash, one),
        [] => return Err(Error::invalid("code", format!("no open enrollment code {key:?}"))),
        many => {
            let ids: Vec<&str> = many.iter().map(|(_, c)| c.id.as_str()).collect();
            return Err(Error::invalid(
                "code",
                format!("{key:?} names several open codes: {}", ids.join(", ")),
            ));
        }
    };
    conn.execute(
        "UPDATE enrollment_codes SET cancelled_at = ?1 WHERE code_hash = ?2",
        params![now, hash],
    )?;
    Ok(code.id.clone())
}

fn refuse_code(reason: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidCode, reason)
}

/// Exchanges a one-time code for a device's credentials: the code is marked used and the device
/// stored with the hash of a new token, all in the caller's transaction.
pub(crate) fn enroll(
    conn: &Tx<'_>,
    req: &EnrollRequest,
    name: &str,
    now: i64,
) -> Result<EnrollResponse, ApiError> {
    let hash = auth::code_hash(&req.code).ok_or_else(|| refuse_code("this is not an enrollment code"))?;
    /// Organisation, role, expiry, when and by whom the code was used, when it was cancelled.
    type CodeRow = (String, String, i64, Option<i64>, Option<String>, Option<i64>);
    let code: Option<CodeRow> = conn
        .query_opt(
            "SELECT org_id, role, expires_at, used_at, used_by, cancelled_at FROM enrollment_codes
             WHERE code_hash = ?1",
            params![hash],
        )?
        .map(|r| Ok::<_, Error>((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .transpose()?;
    let (org_id, role, expires_at, used_at, used_by, cancelled_at) =
        code.ok_or_else(|| refuse_code("unknown enrollment code"))?;
    if cancelled_at.is_some() {
        return Err(refuse_code("this enrollment code was cancelled"));
    }
    if let Some(used_at) = used_at {
        if used_by.as_deref() == Some(req.device_id.to_string().as_str())
            && now - used_at < ENROLL_RETRY_SECONDS
        {
            return reissue(conn, req, &org_id, now);
        }
        return Err(refuse_code("this enrollment code was already used"));
    }
    if now >= expires_at {
        return Err(refuse_code("this enrollment code has expired"));
    }
    let role = parse_role(&role)?;
    let device = req.device_id.to_string();
    let enrolled = conn
        .query_opt("SELECT id FROM devices WHERE id = ?1", params![device])?
        .is_some();
    if enrolled {
        return Err(ApiError::new(
            ErrorCode::AlreadyEnrolled,
            "a device with this id is already enrolled",
        ));
    }
    let token = auth::new_token();
    let token_hash =
        auth::token_hash(&token).ok_or_else(|| Error::Corrupt("a new token does not parse".into()))?;
    conn.execute(
        "INSERT INTO devices (id, org_id, role, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![device, org_id, role.as_str(), name, token_hash, now],
    )?;
    conn.execute(
        "UPDATE enrollment_codes SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3",
        params![now, device, hash],
    )?;
    let org_name: String = conn
        .query_one("SELECT name FROM organisations WHERE id = ?1", params![org_id])?
        .get(0)?;
    Ok(EnrollResponse {
        device_id: req.device_id,
        token,
        org_id,
        org_name,
        role,
    })
}

/// How long after its enrollment a device may enroll again with the same code and id, when the
/// answer was lost on the way (a cut connection): the retry gets a new token.
const ENROLL_RETRY_SECONDS: i64 = 15 * 60;

/// Answers a retried enrollment: only for a device that never synced and is not revoked, with a
/// new token (the lost one stops working).
fn reissue(conn: &Tx<'_>, req: &EnrollRequest, org_id: &str, now: i64) -> Result<EnrollResponse, ApiError> {
    let device = req.device_id.to_string();
    type DeviceRow = (String, String, Option<i64>, Option<i64>);
    let row: Option<DeviceRow> = conn
        .query_opt(
            "SELECT d.role, o.name, d.last_seen, d.revoked_at FROM devices d JOIN organisations o ON o.id = d.org_id
             WHERE d.id = ?1 AND d.org_id = ?2",
            params![device, org_id],
        )?
        .map(|r| Ok::<_, Error>((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .transpose()?;
    match row {
        Some((role, org_name, None, None)) => {
            let role = parse_role(&role)?;
            let token = auth::new_token();
            let token_hash = auth::token_hash(&token)
                .ok_or_else(|| Error::Corrupt("a new token does not parse".into()))?;
            conn.execute(
                "UPDATE devices SET token_hash = ?1, enrolled_at = ?2 WHERE id = ?3",
                params![token_hash, now, device],
            )?;
            Ok(EnrollResponse {
                device_id: req.device_id,
                token,
                org_id: org_id.to_string(),
                org_name,
                role,
            })
        }
        _ => Err(refuse_code("this enrollment code was already used")),
    }
}

/// How long a retired device may still hand in what it holds; after that it is refused like a
/// lost one (a phone handed in is synced within days, not months).
pub(crate) const RETIRE_GRACE_SECONDS: i64 = 30 * 86_400;

/// The device a token belongs to, with the time it was last seen; refuses unknown tokens and
/// revoked devices (the latter with a wipe order). A retired device is let in, marked so.
pub(crate) fn authenticate(conn: &Tx<'_>, token: &str, now: i64) -> Result<(Caller, Option<i64>), ApiError> {
    let unknown = || ApiError::new(ErrorCode::Unauthorized, "unknown device token");
    let hash = auth::token_hash(token).ok_or_else(unknown)?;
    /// Who the token is, when it was last seen, and whether it was revoked or retired.
    type TokenRow = ((String, String, String), Option<i64>, Option<i64>, Option<i64>);
    let row: Option<TokenRow> = conn
        .query_opt(
            "SELECT id, org_id, role, revoked_at, last_seen, retired_at FROM devices WHERE token_hash = ?1",
            params![hash],
        )?
        .map(|r| Ok::<_, Error>(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?, r.get(4)?, r.get(5)?)))
        .transpose()?;
    let ((device, org, role), revoked_at, last_seen, retired_at) = row.ok_or_else(unknown)?;
    let expired = retired_at.is_some_and(|t| now - t > RETIRE_GRACE_SECONDS);
    if revoked_at.is_some() || expired {
        return Err(ApiError::new(
            ErrorCode::Revoked,
            "this device was revoked by its organisation: delete its data",
        ));
    }
    let caller = Caller {
        device: parse_device(&device)?,
        org,
        role: parse_role(&role)?,
        retired: retired_at.is_some(),
    };
    Ok((caller, last_seen))
}

/// Records that a device was seen now.
pub(crate) fn touch(conn: &Tx<'_>, device: DeviceId, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE devices SET last_seen = ?1 WHERE id = ?2",
        params![now, device.to_string()],
    )?;
    Ok(())
}

/// Every device, by organisation and name.
pub(crate) fn list_devices(conn: &Tx<'_>) -> Result<Vec<DeviceInfo>> {
    let rows = conn.query(
        "SELECT d.id, d.org_id, o.name, d.role, d.name, d.enrolled_at, d.revoked_at, d.last_seen,
             d.retired_at
         FROM devices d JOIN organisations o ON o.id = d.org_id
         ORDER BY lower(o.name), o.name, d.name, d.id",
        params![],
    )?;
    let mut out = Vec::new();
    for r in rows {
        out.push(DeviceInfo {
            id: parse_device(&r.get::<String>(0)?)?,
            org_id: r.get(1)?,
            org_name: r.get(2)?,
            role: parse_role(&r.get::<String>(3)?)?,
            name: r.get(4)?,
            enrolled_at: time_of(r.get(5)?),
            revoked_at: r.get::<Option<i64>>(6)?.map(time_of),
            last_seen: r.get::<Option<i64>>(7)?.map(time_of),
            retired_at: r.get::<Option<i64>>(8)?.map(time_of),
        });
    }
    Ok(out)
}

/// The device named by its id or its name (ignoring case). A name several devices share is an
/// error listing them, so that the right one can be named by id.
pub(crate) fn find_device(conn: &Tx<'_>, id_or_name: &str) -> Result<DeviceInfo> {
    let key = id_or_name.trim();
    let all = list_devices(conn)?;
    if let Ok(id) = key.parse::<DeviceId>() {
        return all
            .into_iter()
            .find(|d| d.id == id)
            .ok_or(Error::UnknownDevice(id));
    }
    let mut named: Vec<DeviceInfo> = all
        .into_iter()
        .filter(|d| d.name.to_lowercase() == key.to_lowercase())
        .collect();
    match named.len() {
        1 => Ok(named.remove(0)),
        0 => Err(Error::invalid(
            "device",
            format!("no enrolled device named {key:?}"),
        )),
        _ => {
            let ids: Vec<String> = named
                .iter()
                .map(|d| format!("{} ({})", d.id, d.org_name))
                .collect();
            Err(Error::invalid(
                "device",
                format!(
                    "{key:?} names several devices: {}; name one by its id",
                    ids.join(", ")
                ),
            ))
        }
    }
}

/// Retires a device: it may still push what it holds, and every answer orders it to delete its
/// store. A revoked device cannot be retired; retiring twice changes nothing.
pub(crate) fn retire(conn: &Tx<'_>, device: DeviceId, now: i64) -> Result<()> {
    let id = device.to_string();
    let state: Option<(Option<i64>, Option<i64>)> = conn
        .query_opt(
            "SELECT revoked_at, retired_at FROM devices WHERE id = ?1",
            params![id],
        )?
        .map(|r| Ok::<_, Error>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    match state {
        None => Err(Error::UnknownDevice(device)),
        Some((Some(_), _)) => Err(Error::invalid(
            "device",
            "it was revoked as lost: it hands in nothing",
        )),
        Some((None, Some(_))) => Ok(()),
        Some((None, None)) => {
            conn.execute(
                "UPDATE devices SET retired_at = ?1 WHERE id = ?2",
                params![now, id],
            )?;
            Ok(())
        }
    }
}

/// Renames a device (the name people know it by: "Liège phone 2"); returns its old name.
pub(crate) fn rename(conn: &Tx<'_>, device: DeviceId, name: &str) -> Result<String> {
    let name = clean_name("device name", name)?;
    let id = device.to_string();
    let old: String = conn
        .query_opt("SELECT name FROM devices WHERE id = ?1", params![id])?
        .ok_or(Error::UnknownDevice(device))?
        .get(0)?;
    conn.execute("UPDATE devices SET name = ?1 WHERE id = ?2", params![name, id])?;
    Ok(old)
}

/// Revokes a device: its next request is answered with a wipe order. Revoking a revoked device
/// changes nothing.
pub(crate) fn revoke(conn: &Tx<'_>, device: DeviceId, now: i64) -> Result<()> {
    let id = device.to_string();
    let changed = conn.execute(
        "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now, id],
    )?;
    if changed == 0 {
        let exists = conn
            .query_opt("SELECT id FROM devices WHERE id = ?1", params![id])?
            .is_some();
        if !exists {
            return Err(Error::UnknownDevice(device));
        }
    }
    Ok(())
}

/// The version of the hub's roster: the last entry of the audit log, which every enrollment,
/// renaming, revocation and retirement writes in its own transaction (other acts raise it too,
/// and only cost a roster sent again).
pub(crate) fn roster_version(conn: &Tx<'_>) -> Result<u64> {
    let last: Option<i64> = conn
        .query_opt("SELECT max(id) FROM audit_log", params![])?
        .map(|r| r.get::<Option<i64>>(0))
        .transpose()?
        .flatten();
    Ok(last.unwrap_or(0).max(0) as u64)
}

/// The names of the devices `caller` may see: every coordinator and admin (the authors of the
/// directory and the catalog), itself, and for a coordinator or admin, the devices of its own
/// organisation (the authors of the visit logs it reads). Revoked and retired devices are
/// listed, marked, since what they wrote stays.
pub(crate) fn roster(
    conn: &Tx<'_>,
    caller: &Caller,
) -> Result<Vec<outreach_core::sync::protocol::DeviceName>> {
    let colleagues = if caller.role.edits_directory() {
        caller.org.as_str()
    } else {
        ""
    };
    let rows = conn.query(
        "SELECT d.id, d.name, d.role, o.name, d.revoked_at, d.retired_at
         FROM devices d JOIN organisations o ON o.id = d.org_id
         WHERE d.role IN ('coordinator', 'admin') OR d.id = ?1 OR d.org_id = ?2
         ORDER BY d.id",
        params![caller.device.to_string(), colleagues],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(outreach_core::sync::protocol::DeviceName {
            device: parse_device(&r.get::<String>(0)?)?,
            name: r.get(1)?,
            role: parse_role(&r.get::<String>(2)?)?,
            org: r.get(3)?,
            gone: r.get::<Option<i64>>(4)?.is_some() || r.get::<Option<i64>>(5)?.is_some(),
        });
    }
    Ok(out)
}
