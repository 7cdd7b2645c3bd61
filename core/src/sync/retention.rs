//! Data minimisation on the device (DESIGN, "Privacy rules"): a visit-log month of this device
//! that the hub holds in full, and that ended more than the retention period ago, is removed.

use chrono::{Days, NaiveDate};

use crate::doc::DocMeta;
use crate::error::{Error, Result};
use crate::model::Month;
use crate::store::Store;

/// Whether `month` ended more than `retention_days` days before `today`. A month ends when the
/// next one starts: November 2026 with 30 days of retention goes from 1 January 2027.
pub(crate) fn expired(month: Month, today: NaiveDate, retention_days: u32) -> bool {
    let next = if month.month == 12 {
        Month {
            year: month.year + 1,
            month: 1,
        }
    } else {
        Month {
            year: month.year,
            month: month.month + 1,
        }
    };
    match next
        .first_day()
        .checked_add_days(Days::new(u64::from(retention_days)))
    {
        Some(last_kept) => today > last_kept,
        None => false,
    }
}

/// Whether two sets of heads are the same set.
pub(crate) fn same_heads(a: &[automerge::ChangeHash], b: &[automerge::ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

impl Store {
    /// Removes this device's visit-log months that ended more than `retention_days` ago and
    /// that the hub acknowledged in full (its acknowledged heads are the document's heads);
    /// returns the months removed. A month with changes the hub has not seen always stays.
    pub(crate) fn remove_expired_visit_logs(&self, retention_days: u32) -> Result<Vec<Month>> {
        let today = self.today();
        let mut removed = Vec::new();
        for month in self.visit_log_months()? {
            if !expired(month, today, retention_days) {
                continue;
            }
            let id = DocMeta::VisitLog {
                owner: self.device_id(),
                month,
            }
            .id();
            let heads = match self.document_heads(id) {
                Ok(h) => h,
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if same_heads(&heads, &self.acked_heads(id)?) && self.retire_document(id, &heads)? {
                removed.push(month);
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DocId;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_month_expires_retention_days_after_it_ended() {
        let nov = Month::parse("2026-11").unwrap();
        assert!(!expired(nov, day("2026-11-30"), 30));
        assert!(
            !expired(nov, day("2026-12-31"), 30),
            "the 30th day after it ended"
        );
        assert!(expired(nov, day("2027-01-01"), 30));
        assert!(expired(nov, day("2026-12-02"), 0));
        assert!(!expired(nov, day("2026-12-01"), 0));
        let dec = Month::parse("2026-12").unwrap();
        assert!(!expired(dec, day("2027-01-31"), 30));
        assert!(expired(dec, day("2027-02-01"), 30));
        assert!(!expired(dec, day("2027-02-01"), 365));
        assert!(
            !expired(dec, day("2027-02-01"), u32::MAX),
            "an endless retention never expires"
        );
    }

    #[test]
    fn only_old_months_the_hub_holds_in_full_are_removed() {
        use crate::model::{Activity, PartOfDay, Setting, VisitDetails};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(
            dir.path().join("s.db"),
            crate::StoreKey::random().as_bytes(),
            Default::default(),
        )
        .unwrap();
        store.set_clock(crate::store::Clock::fixed(
            "2026-11-20T10:00:00Z".parse().unwrap(),
        ));
        let log = |date: &str| {
            let v = VisitDetails::new(
                day(date),
                PartOfDay::Morning,
                1000,
                "Brussel",
                Setting::Street,
                Activity::IndividualContact,
                1,
            );
            store.log_visit(&v).unwrap();
            DocMeta::VisitLog {
                owner: store.device_id(),
                month: Month::of(day(date)),
            }
            .id()
        };
        let (aug, sep, oct, nov) = (
            log("2026-08-03"),
            log("2026-09-10"),
            log("2026-10-15"),
            log("2026-11-19"),
        );
        for id in [sep, oct, nov] {
            store
                .set_acked_heads(id, &store.document_heads(id).unwrap())
                .unwrap();
        }
        let removed = store.remove_expired_visit_logs(30).unwrap();
        // August is old but the hub has not seen it; October ended only 19 days ago.
        assert_eq!(removed, vec![Month::parse("2026-09").unwrap()]);
        let months: Vec<String> = store
            .visit_log_months()
            .unwrap()
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(months, ["2026-08", "2026-10", "2026-11"]);
        assert!(store.document_heads(aug).is_ok() && store.document_heads(sep).is_err());
        assert_eq!(
            store.remove_expired_visit_logs(0).unwrap(),
            vec![Month::parse("2026-10").unwrap()]
        );
        let retired: Vec<DocId> = store
            .retired_documents()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut expected = vec![sep, oct];
        expected.sort();
        assert_eq!(retired, expected);
    }

    #[test]
    fn heads_compare_as_sets() {
        let (a, b) = (automerge::ChangeHash([1; 32]), automerge::ChangeHash([2; 32]));
        assert!(same_heads(&[a, b], &[b, a]));
        assert!(!same_heads(&[a, b], &[a]));
        assert!(same_heads(&[], &[]));
    }
}
