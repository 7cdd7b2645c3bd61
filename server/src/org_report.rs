//! Each organisation's report, as its coordinators receive it with a sync: for every table in
//! the release ledger that breaks the network's figures down by organisation, the
//! organisation's row as it was published (its latest release). Nothing is computed here that
//! the network's published tables do not already show, so the disclosure control of those
//! tables (REPORTS.md) is the report's too: a suppressed count stays suppressed.
//!
//! The reports are built from the ledger once per change of it (the ledger only grows) and
//! kept in memory, so that a coordinator's sync costs a count of the ledger's rows.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use outreach_core::sync::protocol::{
    OrgReport, PublishedCount, PublishedTable, ReportDocument, MAX_REPORT_TABLES,
};
use sha2::{Digest, Sha256};

use crate::db::{params, Tx};
use crate::disclosure::Release;
use crate::error::{Error, Result};
use crate::report::{cells_add_up, Dim, Measure, Period};

/// Every organisation's tables, by organisation name.
type Sliced = Arc<BTreeMap<String, Vec<PublishedTable>>>;

/// The reports of every organisation, for a ledger of so many rows.
#[derive(Debug, Default)]
pub(crate) struct ReportCache(Mutex<Option<(i64, Sliced)>>);

impl ReportCache {
    /// The report of the organisation `org_name`, with its version.
    pub(crate) fn report_of(&self, tx: &Tx<'_>, org_name: &str) -> Result<ReportDocument> {
        let rows: i64 = tx
            .query_one("SELECT COUNT(*) FROM report_releases", params![])?
            .get(0)?;
        let cached = {
            let guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            guard.as_ref().filter(|(n, _)| *n == rows).map(|(_, r)| r.clone())
        };
        let all = match cached {
            Some(all) => all,
            None => {
                let all = Arc::new(slice_ledger(tx)?);
                let mut guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *guard = Some((rows, all.clone()));
                all
            }
        };
        let report = OrgReport {
            organisation: org_name.to_string(),
            tables: all.get(org_name).cloned().unwrap_or_default(),
        };
        Ok(ReportDocument {
            version: version_of(&report)?,
            report,
        })
    }
}

/// The version of a report: 8 bytes of the SHA-256 of its JSON, so that the same figures give
/// the same version on any hub and any process.
fn version_of(report: &OrgReport) -> Result<u64> {
    let json = serde_json::to_vec(report).map_err(|e| Error::Corrupt(e.to_string()))?;
    let digest = Sha256::digest(json);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    Ok(u64::from_be_bytes(bytes))
}

/// A ledger key ([`table_key`](crate::report::table_key)) read back.
fn parse_key(key: &str) -> Option<(Period, Vec<Dim>, Measure)> {
    let mut parts = key.split('/');
    let period: Period = parts.next()?.parse().ok()?;
    let dims: Vec<Dim> = parts
        .next()?
        .split(',')
        .map(|d| d.parse().ok())
        .collect::<Option<_>>()?;
    let measure = match parts.next()? {
        "people" => Measure::People,
        "visits" => Measure::Visits,
        "copies" => Measure::Copies,
        "referrals" => Measure::Referrals,
        _ => return None,
    };
    parts.next().is_none().then_some((period, dims, measure))
}

/// Every organisation's tables, from the latest release of every table of the ledger that has
/// the organisation as a dimension, newest period first (a month before its quarter and year),
/// then by dimension and measure; at most [`MAX_REPORT_TABLES`] per organisation (the oldest
/// periods left out).
fn slice_ledger(tx: &Tx<'_>) -> Result<BTreeMap<String, Vec<PublishedTable>>> {
    let rows = tx.query(
        "SELECT r.table_key, r.release, r.body FROM report_releases r
         WHERE r.table_key LIKE '%organisation%'
           AND r.release = (SELECT MAX(x.release) FROM report_releases x WHERE x.table_key = r.table_key)",
        params![],
    )?;
    let mut out: BTreeMap<String, Vec<(Period, PublishedTable)>> = BTreeMap::new();
    for row in rows {
        let key: String = row.get(0)?;
        let release: i64 = row.get(1)?;
        let Some((period, dims, measure)) = parse_key(&key) else {
            continue;
        };
        let Some(pos) = dims.iter().position(|d| *d == Dim::Organisation) else {
            continue;
        };
        let body: String = row.get(2)?;
        let release_body: Release = serde_json::from_str(&body)
            .map_err(|_| Error::Corrupt("a report release does not read".into()))?;
        let other = dims.iter().copied().find(|d| *d != Dim::Organisation);
        let small = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let blank = || PublishedTable {
            period: period.to_string(),
            dimension: other.map(|d| d.as_str().to_string()),
            measure: measure.as_str().to_string(),
            release: i32::try_from(release).unwrap_or(i32::MAX),
            threshold: small(release_body.threshold),
            protection_level: small(release_body.level),
            rows: Vec::new(),
            total: None,
            rows_add_up: other.is_none_or(|d| cells_add_up(d, measure)),
        };
        let mut tables: BTreeMap<String, PublishedTable> = BTreeMap::new();
        let system = &release_body.system;
        for (i, cell) in release_body.keys.iter().enumerate() {
            let count = system
                .published
                .get(i)
                .copied()
                .unwrap_or(false)
                .then(|| {
                    system
                        .values
                        .get(i)
                        .map(|v| i64::try_from(*v).unwrap_or(i64::MAX))
                })
                .flatten();
            // The organisation's label and, for a row of its table, the other dimension's.
            let (org, value) = match (pos, cell) {
                (0, (Some(org), other)) => (org, other.as_ref()),
                (1, (other, Some(org))) => (org, other.as_ref()),
                _ => continue,
            };
            let table = tables.entry(org.clone()).or_insert_with(blank);
            match value {
                None => table.total = count,
                Some(v) => table.rows.push(PublishedCount {
                    value: v.clone(),
                    count,
                }),
            }
        }
        for (org, table) in tables {
            out.entry(org).or_default().push((period, table));
        }
    }
    Ok(out
        .into_iter()
        .map(|(org, mut tables)| {
            tables.sort_by(|(pa, a), (pb, b)| {
                (
                    Reverse(pa.end()),
                    Reverse(pa.first_day()),
                    &a.dimension,
                    &a.measure,
                )
                    .cmp(&(
                        Reverse(pb.end()),
                        Reverse(pb.first_day()),
                        &b.dimension,
                        &b.measure,
                    ))
            });
            tables.truncate(MAX_REPORT_TABLES);
            (org, tables.into_iter().map(|(_, t)| t).collect())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_keys_read_back() {
        let (period, dims, measure) = parse_key("2026-11/organisation,theme/people").unwrap();
        assert_eq!(period.to_string(), "2026-11");
        assert_eq!(dims, vec![Dim::Organisation, Dim::Theme]);
        assert_eq!(measure, Measure::People);
        assert_eq!(parse_key("2026-Q4/brochure/copies").unwrap().2, Measure::Copies);
        for bad in [
            "",
            "2026-11",
            "2026-11/organisation",
            "2026-11/nothing/people",
            "2026-11/theme/people/x",
        ] {
            assert!(parse_key(bad).is_none(), "{bad}");
        }
    }
}
