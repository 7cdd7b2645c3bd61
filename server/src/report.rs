//! The visit report for the network's funders: how many visits each organisation logged, per
//! month and theme, read from the stored visit logs. Small cells are suppressed: a count from 1
//! to [`SUPPRESSION_THRESHOLD`] − 1 is published as "<5", so that no figure points at a handful
//! of people. No totals are published, so a suppressed cell cannot be recomputed from them.

use std::collections::BTreeMap;
use std::fmt;

use outreach_core::model::{Month, Theme};

use crate::db::docs;
use crate::error::{Error, Result};
use crate::hub::{Counters, Hub};

/// Smallest count that is published as is.
pub const SUPPRESSION_THRESHOLD: u64 = 5;

/// A published count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A count of at least [`SUPPRESSION_THRESHOLD`].
    Exact(u64),
    /// A count from 1 to [`SUPPRESSION_THRESHOLD`] − 1, not published.
    Suppressed,
}

impl Count {
    /// The published form of a count (never called with zero: empty cells are not listed).
    pub fn of(n: u64) -> Count {
        if n < SUPPRESSION_THRESHOLD {
            Count::Suppressed
        } else {
            Count::Exact(n)
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Suppressed => write!(f, "<{SUPPRESSION_THRESHOLD}"),
        }
    }
}

/// One cell of the report. A visit about several themes counts once under each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The organisation of the device that logged the visits.
    pub organisation: String,
    /// The month of the visits.
    pub month: Month,
    /// The theme discussed; `None` for visits that recorded no theme.
    pub theme: Option<Theme>,
    /// How many visits.
    pub visits: Count,
}

/// Visit counts per organisation, month and theme, with small cells suppressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitReport {
    /// The non-empty cells, by organisation, month and theme.
    pub rows: Vec<ReportRow>,
}

impl fmt::Display for VisitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return writeln!(f, "no visits logged");
        }
        let org_width = self
            .rows
            .iter()
            .map(|r| r.organisation.chars().count())
            .chain([12])
            .max()
            .unwrap_or(12);
        writeln!(
            f,
            "{:<org_width$}  {:<7}  {:<24}  visits",
            "organisation", "month", "theme"
        )?;
        for r in &self.rows {
            let theme = r.theme.map_or("(no theme)", |t| t.as_str());
            writeln!(
                f,
                "{:<org_width$}  {:<7}  {:<24}  {:>6}",
                r.organisation, r.month, theme, r.visits
            )?;
        }
        writeln!(
            f,
            "counts from 1 to {} are shown as \"{}\"",
            SUPPRESSION_THRESHOLD - 1,
            Count::Suppressed
        )
    }
}

impl Hub {
    /// Counts the visits of every stored visit log per organisation, month and theme.
    pub fn visit_report(&self) -> Result<VisitReport> {
        let hub_id = self.inner.db.hub_id();
        let counters = &self.inner.counters;
        let counts = self.inner.db.read(|tx| {
            let mut counts: BTreeMap<(String, Month, Option<Theme>), u64> = BTreeMap::new();
            for (row, org) in docs::visit_log_rows(tx)? {
                let doc = docs::load(tx, &row, hub_id)?;
                Counters::bump(&counters.documents_loaded, 1);
                let visits = doc
                    .visits()
                    .map_err(|e| Error::Corrupt(format!("stored visit log {} does not read: {e}", row.id)))?;
                for visit in visits {
                    let month = visit.details.month();
                    if visit.details.themes.is_empty() {
                        *counts.entry((org.clone(), month, None)).or_default() += 1;
                    }
                    for theme in &visit.details.themes {
                        *counts.entry((org.clone(), month, Some(*theme))).or_default() += 1;
                    }
                }
            }
            Ok::<_, Error>(counts)
        })?;
        let rows = counts
            .into_iter()
            .map(|((organisation, month, theme), n)| ReportRow {
                organisation,
                month,
                theme,
                visits: Count::of(n),
            })
            .collect();
        Ok(VisitReport { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_suppressed() {
        assert_eq!(Count::of(1).to_string(), "<5");
        assert_eq!(Count::of(4).to_string(), "<5");
        assert_eq!(Count::of(5).to_string(), "5");
        assert_eq!(Count::of(120).to_string(), "120");
    }
}
