//! The steward organisations of directory sections (schema v7, `stewards`).

use outreach_core::model::Region;

use super::{params, time_of, Tx};
use crate::admin::Organisation;
use crate::error::{Error, Result};

/// Makes `org_id` a steward of `region`; already one, nothing changes. Returns whether it was new.
pub(crate) fn add(tx: &Tx<'_>, region: Region, org_id: &str) -> Result<bool> {
    let exists = tx
        .query_opt(
            "SELECT 1 FROM stewards WHERE region = ?1 AND org_id = ?2",
            params![region.as_str(), org_id],
        )?
        .is_some();
    if !exists {
        tx.execute(
            "INSERT INTO stewards (region, org_id) VALUES (?1, ?2)",
            params![region.as_str(), org_id],
        )?;
    }
    Ok(!exists)
}

/// Ends `org_id`'s stewardship of `region`; returns whether it was one.
pub(crate) fn remove(tx: &Tx<'_>, region: Region, org_id: &str) -> Result<bool> {
    let n = tx.execute(
        "DELETE FROM stewards WHERE region = ?1 AND org_id = ?2",
        params![region.as_str(), org_id],
    )?;
    Ok(n > 0)
}

/// The steward organisations of `region` (their ids), none when it has no steward.
pub(crate) fn of_region(tx: &Tx<'_>, region: Region) -> Result<Vec<String>> {
    let rows = tx.query(
        "SELECT org_id FROM stewards WHERE region = ?1 ORDER BY org_id",
        params![region.as_str()],
    )?;
    rows.iter().map(|r| r.get::<String>(0)).collect()
}

/// Every region with stewards, in the order of [`Region::ALL`], with its organisations by name.
pub(crate) fn all(tx: &Tx<'_>) -> Result<Vec<(Region, Vec<Organisation>)>> {
    let rows = tx.query(
        "SELECT s.region, o.id, o.name, o.created_at FROM stewards s
         JOIN organisations o ON o.id = s.org_id ORDER BY lower(o.name), o.name",
        params![],
    )?;
    let mut out: Vec<(Region, Vec<Organisation>)> = Vec::new();
    for &region in Region::ALL {
        let mut orgs = Vec::new();
        for r in &rows {
            let code: String = r.get(0)?;
            let parsed: Region = code
                .parse()
                .map_err(|_| Error::Corrupt("a steward's region is unknown".into()))?;
            if parsed == region {
                orgs.push(Organisation {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    created_at: time_of(r.get(3)?),
                });
            }
        }
        if !orgs.is_empty() {
            out.push((region, orgs));
        }
    }
    Ok(out)
}
