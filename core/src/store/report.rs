//! The organisation's report: the figures the hub published about this device's organisation,
//! as it sends them with a sync to coordinators and admins (see [`OrgReport`]), kept so that
//! they can be read offline. Raw visit logs never reach another device than the one that logged
//! them; this is what a coordinator's phone holds of its colleagues' work.

use super::schema::{get_meta, set_meta};
use super::{Store, StoreChanges};
use crate::error::{Error, Result};
use crate::sync::protocol::{OrgReport, ReportDocument};

/// Meta key of the version of the report held.
const REPORT_VERSION: &str = "report_version";
/// Meta key of the report held, as JSON.
const REPORT: &str = "org_report";

impl Store {
    /// The version of the organisation's report this device holds, if any.
    pub(crate) fn report_version(&self) -> Result<Option<u64>> {
        self.read(|c| Ok(get_meta(c, REPORT_VERSION)?.and_then(|v| v.parse().ok())))
    }

    /// Replaces the organisation's report with the hub's, in one transaction, and tells
    /// observers. A report out of bounds ([`OrgReport::within_bounds`]) is refused and the one
    /// held is kept.
    pub(crate) fn put_report(&self, document: &ReportDocument) -> Result<()> {
        if !document.report.within_bounds() {
            return Err(Error::Protocol(
                "the hub's report of the organisation is out of bounds".into(),
            ));
        }
        let json = serde_json::to_string(&document.report)
            .map_err(|e| Error::Protocol(format!("the hub's report does not serialise: {e}")))?;
        self.write(|w, _| {
            let tx = w
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = get_meta(&tx, REPORT)?.as_deref() != Some(json.as_str());
            set_meta(&tx, REPORT, &json)?;
            set_meta(&tx, REPORT_VERSION, &document.version.to_string())?;
            tx.commit()?;
            let changes = StoreChanges {
                report: changed,
                ..StoreChanges::default()
            };
            Ok(((), changes))
        })
    }

    /// The figures the hub last published about this device's organisation, as it sent them
    /// with a sync: for a coordinator's or an admin's device, `None` until the first sync with
    /// a hub that sends them. A field worker's device receives no report (it is empty).
    ///
    /// Suppressed counts are `None`: the hub never publishes a count of people between 1 and
    /// the threshold, nor one that the published counts would let a reader narrow down.
    pub fn org_report(&self) -> Result<Option<OrgReport>> {
        let json = self.read(|c| get_meta(c, REPORT))?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|_| Error::Corrupt("the stored report of the organisation does not read"))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::sync::protocol::{sample_report as report, MAX_REPORT_LABEL};
    use crate::StoreKey;

    #[test]
    fn a_report_is_kept_across_reopening_and_one_out_of_bounds_leaves_it_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let key = StoreKey::random();
        let store = Store::open(&path, key.as_bytes(), Default::default()).unwrap();
        assert_eq!(store.org_report().unwrap(), None);
        assert_eq!(store.report_version().unwrap(), None);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        let _sub = store.subscribe(Arc::new(move |c: &StoreChanges| {
            log.lock().unwrap().push(c.report)
        }));
        let first = report(Some(12));
        store.put_report(&first).unwrap();
        assert_eq!(store.org_report().unwrap(), Some(first.report.clone()));
        assert_eq!(store.report_version().unwrap(), Some(7));
        assert_eq!(
            *heard.lock().unwrap(),
            vec![true],
            "observers hear of a new report"
        );

        let mut long = report(None);
        long.version = 8;
        long.report.tables[0].rows[0].value = "x".repeat(MAX_REPORT_LABEL + 1);
        let mut negative = report(Some(-3));
        negative.version = 9;
        for bad in [long, negative] {
            assert!(matches!(store.put_report(&bad), Err(Error::Protocol(_))));
            assert_eq!(store.org_report().unwrap(), Some(first.report.clone()));
            assert_eq!(store.report_version().unwrap(), Some(7));
        }
        drop(store);
        let store = Store::open(&path, key.as_bytes(), Default::default()).unwrap();
        assert_eq!(store.org_report().unwrap(), Some(first.report));
    }
}
