//! The reports, proven by attack: over visit logs of several organisations, synced to a real
//! hub, every table publishes the true counts where it publishes one, never a person count from
//! 1 to k − 1, and no suppressed cell can be narrowed below the protection level by a reader who
//! solves linear programmes over what the table publishes (written here from the published
//! table alone, not from the hub's own audit).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use microlp::{ComparisonOp, OptimizationDirection, Problem};
use outreach_core::model::{
    Activity, AgeBand, BrochureId, Gender, PartOfDay, PartnerId, Referral, Setting, Theme, VisitDetails,
};
use outreach_core::sync::protocol::Role;
use outreach_hub::{Count, Dim, Measure, Period, Protection, Table, TableSpec};

use crate::common::on_both_backends;
use crate::common::TestHub;

/// A small deterministic generator, so that every run seeds the same visits.
struct Seeds(u64);

impl Seeds {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const PLACES: [(u16, &str); 5] = [
    (1000, "Brussel"),
    (9000, "Gent"),
    (4000, "Liège"),
    (3500, "Hasselt"),
    (6700, "Arlon"),
];

/// `n` visits in November 2026 (and a few in December, outside the period), varied in every
/// dimension a report can show.
fn seeded_visits(
    seeds: &mut Seeds,
    n: usize,
    brochures: &[BrochureId],
    partners: &[PartnerId],
) -> Vec<VisitDetails> {
    let themes = [
        Theme::Shelter,
        Theme::Medical,
        Theme::Legal,
        Theme::VoluntaryReturn,
    ];
    let settings = [Setting::Street, Setting::Shelter, Setting::DayCentre];
    let languages = ["fr", "nl", "ar", "ti"];
    let origins = ["ER", "SY", "MA", "AF", "UA", "RO"];
    (0..n)
        .map(|i| {
            // Rare places, languages and ages make the small cells a report must hide.
            let (postcode, town) = match i % 29 {
                7 => (6600, "Bastogne"),
                19 if i % 2 == 1 => (8400, "Oostende"),
                _ => PLACES[seeds.next(PLACES.len() as u64) as usize],
            };
            let day = if i % 17 == 16 {
                3
            } else {
                1 + seeds.next(30) as u32
            };
            let month = if i % 17 == 16 { 12 } else { 11 };
            let people = if i % 5 == 0 {
                1 + seeds.next(9) as u32
            } else {
                1 + seeds.next(3) as u32
            };
            let mut v = VisitDetails::new(
                NaiveDate::from_ymd_opt(2026, month, day).unwrap(),
                PartOfDay::ALL[seeds.next(4) as usize],
                postcode,
                town,
                settings[seeds.next(3) as usize],
                if people > 6 {
                    Activity::GroupSession
                } else {
                    Activity::IndividualContact
                },
                people,
            );
            for _ in 0..1 + seeds.next(2) {
                v.themes.insert(themes[seeds.next(4) as usize]);
            }
            if i % 37 == 11 {
                v.languages.insert("ps".parse().unwrap());
            } else if seeds.next(5) > 0 {
                v.languages
                    .insert(languages[seeds.next(4) as usize].parse().unwrap());
            }
            if seeds.next(2) == 0 {
                let young = seeds.next(u64::from(people) + 1) as u32;
                v.by_age.insert(
                    if i % 13 == 3 {
                        AgeBand::Over50
                    } else {
                        AgeBand::From18To25
                    },
                    young,
                );
                v.by_age.retain(|_, n| *n > 0);
                let female = seeds.next(u64::from(people) + 1) as u32;
                v.by_gender.insert(Gender::Female, female);
                v.by_gender.retain(|_, n| *n > 0);
            }
            if seeds.next(3) == 0 {
                let c = origins[seeds.next(origins.len() as u64) as usize];
                v.origins
                    .insert(c.parse().unwrap(), 1 + seeds.next(u64::from(people)) as u32);
            }
            if seeds.next(2) == 0 {
                v.brochures.insert(
                    brochures[seeds.next(brochures.len() as u64) as usize],
                    1 + seeds.next(6) as u32,
                );
            }
            if seeds.next(4) == 0 {
                v.referrals.insert(Referral {
                    partner: partners[seeds.next(partners.len() as u64) as usize],
                    theme: themes[seeds.next(4) as usize],
                });
            }
            v.follow_up = seeds.next(4) == 0;
            v
        })
        .collect()
}

/// The true counts of a table, computed here from its definition: for each unit (a visit, a
/// brochure given, a referral), the values it has in each dimension and its weight.
fn truth(visits: &[(VisitDetails, &str)], dims: &[Dim], period: Period) -> Oracle {
    let mut units = Vec::new();
    for (v, org) in visits.iter().filter(|(v, _)| period.contains(v.date)) {
        let people = u64::from(v.people_reached);
        // A value of the unit; a breakdown's values carry their own weight.
        let of_visit = |d: Dim| -> Vec<(String, Option<u64>)> {
            let one = |s: &str| vec![(s.to_string(), None)];
            match d {
                Dim::Organisation => one(org),
                Dim::Municipality => one(&v.municipality),
                Dim::Setting => one(v.setting.as_str()),
                Dim::Activity => one(v.activity.as_str()),
                Dim::FollowUp => one(if v.follow_up { "yes" } else { "no" }),
                Dim::Theme => v.themes.iter().map(|t| (t.as_str().to_string(), None)).collect(),
                Dim::Language if v.languages.is_empty() => one("(not recorded)"),
                Dim::Language => v
                    .languages
                    .iter()
                    .map(|l| (l.as_str().to_string(), None))
                    .collect(),
                Dim::AgeBand => {
                    let mut out: Vec<(String, Option<u64>)> = v
                        .by_age
                        .iter()
                        .map(|(b, n)| (b.as_str().to_string(), Some(u64::from(*n))))
                        .collect();
                    let rest = people - v.by_age.values().map(|n| u64::from(*n)).sum::<u64>();
                    if rest > 0 {
                        out.push(("(not recorded)".into(), Some(rest)));
                    }
                    out
                }
                other => panic!("the oracle does not know {other}"),
            }
        };
        if dims.contains(&Dim::Brochure) {
            for (b, copies) in &v.brochures {
                let values = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Brochure => vec![(b.to_string(), None)],
                        other => of_visit(*other),
                    })
                    .collect();
                units.push((values, u64::from(*copies)));
            }
        } else {
            units.push((dims.iter().map(|d| of_visit(*d)).collect(), people));
        }
    }
    Oracle { units }
}

/// A unit's values in each dimension (a breakdown's with their weight), and its weight.
type OracleUnit = (Vec<Vec<(String, Option<u64>)>>, u64);

struct Oracle {
    units: Vec<OracleUnit>,
}

impl Oracle {
    /// The count where the first dimension is `a` (or any, `None`) and the second `b`.
    fn count(&self, a: Option<&str>, b: Option<&str>) -> u64 {
        let mut total = 0;
        for (values, weight) in &self.units {
            // `None`: the unit lacks the value; `Some(w)`: it has it, with a breakdown weight.
            let pick = |dim: usize, want: Option<&str>| -> Option<Option<u64>> {
                match (want, values.get(dim)) {
                    (None, _) | (_, None) => Some(None),
                    (Some(w), Some(vals)) => vals.iter().find(|(k, _)| k == w).map(|(_, n)| *n),
                }
            };
            let (Some(wa), Some(wb)) = (pick(0, a), pick(1, b)) else {
                continue;
            };
            total += wa.or(wb).unwrap_or(*weight);
        }
        total
    }
}

/// Every published count of a table with its labels (`None` for a margin).
fn published(t: &Table) -> Vec<(Option<&str>, Option<&str>, Count)> {
    let mut out = Vec::new();
    if t.dims.len() == 1 {
        for (r, c) in t.rows.iter().zip(&t.cells) {
            out.push((Some(r.as_str()), None, c[0]));
        }
    } else {
        for (i, r) in t.rows.iter().enumerate() {
            for (j, c) in t.cols.iter().enumerate() {
                out.push((Some(r.as_str()), Some(c.as_str()), t.cells[i][j]));
            }
            out.push((Some(r.as_str()), None, t.row_margins[i]));
        }
        for (j, c) in t.cols.iter().enumerate() {
            out.push((None, Some(c.as_str()), t.col_margins[j]));
        }
    }
    out.push((None, None, t.total));
    out
}

/// A count's labels in its table (`None` for a margin).
type Key = (Option<String>, Option<String>);

/// A reader of published tables: every published count is a constant, every suppressed one a
/// variable (not negative), tied by what each table says of its rows and columns (they add up
/// to their margins or, where values overlap, each cell is at most its margin and the margin at
/// most their sum), and, across releases of a table whose counts only grew, each count at
/// least its earlier value.
struct Reader {
    /// Each count read: its table, its key (labels, `None` a margin) and what was published.
    slots: Vec<(usize, Key, Count)>,
    /// (parts, total, parts add up exactly)
    relations: Vec<(Vec<usize>, usize, bool)>,
    /// (earlier, later): the same count in two releases, the later at least the earlier.
    grew: Vec<(usize, usize)>,
}

impl Reader {
    fn new(tables: &[&Table], counts_only_grew: bool) -> Reader {
        let mut reader = Reader {
            slots: Vec::new(),
            relations: Vec::new(),
            grew: Vec::new(),
        };
        for (n, t) in tables.iter().enumerate() {
            let base = reader.slots.len();
            for (a, b, count) in published(t) {
                reader
                    .slots
                    .push((n, (a.map(str::to_string), b.map(str::to_string)), count));
            }
            let find = |key: (Option<&str>, Option<&str>)| {
                base + published(t).iter().position(|(a, b, _)| (*a, *b) == key).unwrap()
            };
            let total = find((None, None));
            if t.dims.len() == 1 {
                let cells = t.rows.iter().map(|r| find((Some(r), None))).collect();
                reader.relations.push((cells, total, t.cols_add_up));
            } else {
                for r in &t.rows {
                    let cells = t.cols.iter().map(|c| find((Some(r), Some(c)))).collect();
                    reader
                        .relations
                        .push((cells, find((Some(r), None)), t.rows_add_up));
                }
                for c in &t.cols {
                    let cells = t.rows.iter().map(|r| find((Some(r), Some(c)))).collect();
                    reader
                        .relations
                        .push((cells, find((None, Some(c))), t.cols_add_up));
                }
                let rows = t.rows.iter().map(|r| find((Some(r), None))).collect();
                reader.relations.push((rows, total, t.cols_add_up));
                let cols = t.cols.iter().map(|c| find((None, Some(c)))).collect();
                reader.relations.push((cols, total, t.rows_add_up));
            }
        }
        if counts_only_grew {
            for (i, (ti, key, _)) in reader.slots.iter().enumerate() {
                for (j, (tj, other, _)) in reader.slots.iter().enumerate() {
                    if tj == &(ti + 1) && key == other {
                        reader.grew.push((i, j));
                    }
                }
            }
        }
        reader
    }

    /// The width of the interval of `sum(coefficient * count)` (infinite when unbounded).
    fn width(&self, objective: &[(usize, f64)]) -> f64 {
        let solve = |direction: OptimizationDirection| -> Option<f64> {
            let mut p = Problem::new(direction);
            let coefficient = |i: usize| {
                objective
                    .iter()
                    .filter(|(k, _)| *k == i)
                    .map(|(_, c)| c)
                    .sum::<f64>()
            };
            let vars: Vec<_> = self
                .slots
                .iter()
                .enumerate()
                .map(|(i, (_, _, count))| match count {
                    Count::Exact(n) => p.add_var(coefficient(i), (*n as f64, *n as f64)),
                    Count::Suppressed => p.add_var(coefficient(i), (0.0, f64::INFINITY)),
                })
                .collect();
            for (parts, sum, exact) in &self.relations {
                let mut terms: Vec<_> = parts.iter().map(|&k| (vars[k], 1.0)).collect();
                terms.push((vars[*sum], -1.0));
                if *exact {
                    p.add_constraint(terms.as_slice(), ComparisonOp::Eq, 0.0);
                } else {
                    p.add_constraint(terms.as_slice(), ComparisonOp::Ge, 0.0);
                    for &k in parts {
                        p.add_constraint(
                            [(vars[k], 1.0), (vars[*sum], -1.0)].as_slice(),
                            ComparisonOp::Le,
                            0.0,
                        );
                    }
                }
            }
            for &(before, after) in &self.grew {
                p.add_constraint(
                    [(vars[before], 1.0), (vars[after], -1.0)].as_slice(),
                    ComparisonOp::Le,
                    0.0,
                );
            }
            match p.solve() {
                Ok(microlp::SolveOutcome::Solution(s)) => Some(s.objective()),
                Ok(microlp::SolveOutcome::Interrupted(_)) => panic!("the attack's programme was interrupted"),
                Err(microlp::Error::Unbounded) => None,
                Err(e) => panic!("the attack's programme failed: {e}"),
            }
        };
        let low = solve(OptimizationDirection::Minimize).expect("counts are bounded below");
        solve(OptimizationDirection::Maximize).map_or(f64::INFINITY, |high| high - low)
    }

    /// The widths of the suppressed counts' intervals.
    fn suppressed_widths(&self) -> Vec<(String, f64)> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].2 == Count::Suppressed)
            .map(|i| (format!("{:?}", self.slots[i]), self.width(&[(i, 1.0)])))
            .collect()
    }

    /// Tells the reader that count `a` of table `ta` is count `b` of table `tb` (a one-way
    /// table's cell and a two-way table's margin).
    fn same(&mut self, (ta, a): (usize, Key), (tb, b): (usize, Key)) {
        let (a, b) = (self.slot(ta, &a).unwrap(), self.slot(tb, &b).unwrap());
        self.relations.push((vec![a], b, true));
    }

    /// The slot of a key in table `n`.
    fn slot(&self, n: usize, key: &Key) -> Option<usize> {
        self.slots.iter().position(|(t, k, _)| *t == n && k == key)
    }
}

/// The widths of a table's suppressed counts, as a reader of that table alone can narrow them.
fn attack(t: &Table) -> Vec<f64> {
    Reader::new(&[t], false)
        .suppressed_widths()
        .into_iter()
        .map(|(_, w)| w)
        .collect()
}

/// The tables checked: every dimension alone that the oracle knows, and pairs of each kind
/// (additive by additive, by overlapping, by a breakdown, brochures by a visit dimension).
const TABLES: &[&[Dim]] = &[
    &[Dim::Organisation],
    &[Dim::Municipality],
    &[Dim::Setting],
    &[Dim::Theme],
    &[Dim::Language],
    &[Dim::AgeBand],
    &[Dim::FollowUp],
    &[Dim::Brochure],
    &[Dim::Organisation, Dim::Municipality],
    &[Dim::Organisation, Dim::Theme],
    &[Dim::Theme, Dim::Language],
    &[Dim::Municipality, Dim::AgeBand],
    &[Dim::AgeBand, Dim::Theme],
    &[Dim::Setting, Dim::Activity],
    &[Dim::Brochure, Dim::Organisation],
];

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn every_table_publishes_true_counts_and_no_suppressed_cell_can_be_narrowed() {
        let hub = TestHub::start().await;
        let brochures: Vec<BrochureId> = (0..3).map(|_| BrochureId::random()).collect();
        let partners: Vec<PartnerId> = (0..4).map(|_| PartnerId::random()).collect();
        let mut seeds = Seeds(20261130);
        let mut logged: Vec<(VisitDetails, &str)> = Vec::new();
        for (org, name, devices, visits) in [
            (&hub.org_a, "Fedasil", 3, 60),
            (&hub.org_b, "Caritas International", 2, 25),
        ] {
            for _ in 0..devices {
                let mut device = hub.device(org, Role::Fieldworker).await;
                for v in seeded_visits(&mut seeds, visits, &brochures, &partners) {
                    device.log_details(&v);
                    logged.push((v, name));
                }
                device.sync(&hub).await;
            }
        }
        let period: Period = "2026-11".parse().unwrap();
        let protection = Protection::default();
        let mut suppressed = 0;
        for dims in TABLES {
            let spec = TableSpec { dims: dims.to_vec(), period, measure: Measure::People, protection };
            let table = hub.hub.report(&spec).unwrap();
            println!("{table}");
            // The table's dimensions come in one order, whichever was asked.
            let oracle = truth(&logged, &table.dims, period);
            let what = dims.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(" by ");
            for (a, b, count) in published(&table) {
                let true_count = oracle.count(a, b);
                match count {
                    Count::Exact(n) => {
                        assert_eq!(n, true_count, "{what}: {a:?} {b:?}");
                        assert!(n == 0 || n >= protection.threshold, "{what}: {a:?} {b:?} published {n}");
                    }
                    Count::Suppressed => suppressed += 1,
                }
            }
            for width in attack(&table) {
                assert!(width + 1e-6 >= protection.level as f64, "{what}: a suppressed count narrows to {width}:\n{table}");
            }
            // The rows are exactly the values the units have (the oracle's), nothing invented.
            let values: BTreeSet<&str> = table.rows.iter().map(String::as_str).collect();
            assert!(values.iter().all(|v| oracle.count(Some(v), None) > 0), "{what}: {values:?}");
        }
        println!("{suppressed} counts suppressed");
        assert!(suppressed > 20, "the seeds make small cells to suppress ({suppressed})");

        // An open period is refused; a threshold below 5 cannot be asked for.
        let open = TableSpec {
            dims: vec![Dim::Theme],
            period: Period::last_month(chrono::Utc::now().date_naive() + chrono::Months::new(2)),
            measure: Measure::People,
            protection,
        };
        assert!(hub.hub.report(&open).is_err());
        assert_eq!(Protection::with_threshold(3), None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_json_carry_the_same_table() {
    let hub = TestHub::start().await;
    let brochures = [BrochureId::random()];
    let partners = [PartnerId::random()];
    let mut device = hub.device(&hub.org_a, Role::Fieldworker).await;
    for v in seeded_visits(&mut Seeds(7), 40, &brochures, &partners) {
        device.log_details(&v);
    }
    device.sync(&hub).await;
    let spec = TableSpec {
        dims: vec![Dim::Municipality, Dim::Theme],
        period: "2026-11".parse().unwrap(),
        measure: Measure::People,
        protection: Protection::default(),
    };
    let table = hub.hub.report(&spec).unwrap();
    let expected = published(&table);

    let csv = table.to_csv();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("period,municipality,theme,people,suppressed"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), expected.len());
    for (row, (a, b, count)) in rows.iter().zip(&expected) {
        assert_eq!(row[0], "2026-11");
        assert_eq!((row[1], row[2]), (a.unwrap_or("(all)"), b.unwrap_or("(all)")));
        assert_eq!(row[3].parse::<u64>().ok(), count.value(), "{row:?}");
        assert_eq!(row[4], if count.value().is_some() { "false" } else { "true" });
    }

    let json: serde_json::Value = serde_json::from_str(&table.to_json()).unwrap();
    assert_eq!(json["period"], "2026-11");
    assert_eq!(json["dims"], serde_json::json!(["municipality", "theme"]));
    assert_eq!(json["threshold"], 5);
    let cells = json["cells"].as_array().unwrap();
    for (i, row) in cells.iter().enumerate() {
        for (j, c) in row.as_array().unwrap().iter().enumerate() {
            assert_eq!(c.as_u64(), table.cells[i][j].value());
        }
    }
    assert_eq!(json["total"].as_u64(), table.total.value());
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_period_published_again_after_late_visits_cannot_be_differenced() {
        let hub = TestHub::start().await;
        let brochures = [BrochureId::random()];
        let partners = [PartnerId::random()];
        let mut seeds = Seeds(4242);
        let mut logged: Vec<(VisitDetails, &str)> = Vec::new();
        let mut late_device = hub.device(&hub.org_b, Role::Fieldworker).await;
        for (org, name) in [(&hub.org_a, "Fedasil"), (&hub.org_b, "Caritas International")] {
            let mut device = hub.device(org, Role::Fieldworker).await;
            for v in seeded_visits(&mut seeds, 50, &brochures, &partners) {
                device.log_details(&v);
                logged.push((v, name));
            }
            device.sync(&hub).await;
        }
        let period: Period = "2026-11".parse().unwrap();
        let protection = Protection::default();
        let tables: &[&[Dim]] = &[
            &[Dim::Municipality],
            &[Dim::Organisation, Dim::Municipality],
            &[Dim::Theme],
            &[Dim::Municipality, Dim::AgeBand],
        ];
        let spec = |dims: &[Dim]| TableSpec { dims: dims.to_vec(), period, measure: Measure::People, protection };
        let first: Vec<Table> = tables.iter().map(|d| hub.hub.report(&spec(d)).unwrap()).collect();
        for (dims, table) in tables.iter().zip(&first) {
            assert_eq!(table.release, 1);
            assert_eq!(&hub.hub.report(&spec(dims)).unwrap(), table, "published again, identical");
        }
        let before = logged.clone();

        // Late visits of November: a single one of one person in Gent, then three more.
        let mut single = seeded_visits(&mut Seeds(1), 1, &brochures, &partners).remove(0);
        single.people_reached = 1;
        single.by_age.clear();
        single.by_gender.clear();
        single.origins.clear();
        single.date = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        (single.postcode, single.municipality) = (9000, "Gent".into());
        late_device.log_details(&single);
        logged.push((single, "Caritas International"));
        for v in seeded_visits(&mut Seeds(2), 3, &brochures, &partners).into_iter().filter(|v| period.contains(v.date)) {
            late_device.log_details(&v);
            logged.push((v, "Caritas International"));
        }
        late_device.sync(&hub).await;

        let mut second_releases = 0;
        for (dims, old) in tables.iter().zip(&first) {
            let what = dims.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(" by ");
            let new = hub.hub.report(&spec(dims)).unwrap_or_else(|e| panic!("{what}: {e}\n{old}"));
            assert_eq!(hub.hub.report(&spec(dims)).unwrap(), new, "{what}: the same release again, identical");
            if new.release == 1 {
                // No new pattern could protect the change: the first release stands, unchanged.
                assert_eq!(&new, old, "{what}");
                continue;
            }
            assert_eq!(new.release, 2, "{what}");
            second_releases += 1;
            let reader = Reader::new(&[old, &new], true);
            for (slot, width) in reader.suppressed_widths() {
                assert!(width + 1e-6 >= protection.level as f64, "{what}: {slot} narrows to {width}\n{old}\n{new}");
            }
            // Every count that changed by 1 to 4 people: its change cannot be read either.
            let (was, is) = (truth(&before, &new.dims, period), truth(&logged, &new.dims, period));
            let mut small_changes = 0;
            for (a, b, _) in published(&new) {
                let key = (a.map(str::to_string), b.map(str::to_string));
                let change = is.count(a, b).abs_diff(was.count(a, b));
                if change == 0 || change >= protection.threshold {
                    continue;
                }
                small_changes += 1;
                let later = reader.slot(1, &key).unwrap();
                let width = match reader.slot(0, &key) {
                    Some(earlier) => reader.width(&[(later, 1.0), (earlier, -1.0)]),
                    None => reader.width(&[(later, 1.0)]),
                };
                assert!(width + 1e-6 >= protection.level as f64, "{what}: the change of {key:?} narrows to {width}\n{old}\n{new}");
            }
            assert!(small_changes > 0, "{what}: the late visits make small changes");
        }
        assert!(second_releases >= 2, "the late visits are published ({second_releases} tables)");
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn linked_tables_read_together_narrow_nothing() {
        let hub = TestHub::start().await;
        let brochures = [BrochureId::random()];
        let partners = [PartnerId::random()];
        let mut seeds = Seeds(777);
        for org in [&hub.org_a, &hub.org_b] {
            let mut device = hub.device(org, Role::Fieldworker).await;
            for v in seeded_visits(&mut seeds, 45, &brochures, &partners) {
                device.log_details(&v);
            }
            device.sync(&hub).await;
        }
        let period: Period = "2026-11".parse().unwrap();
        let spec = |dims: &[Dim]| TableSpec {
            dims: dims.to_vec(),
            period,
            measure: Measure::People,
            protection: Protection::default(),
        };
        // The pair first: its one-way tables are published with it, and the same when asked.
        let two = hub.hub.report(&spec(&[Dim::Municipality, Dim::Organisation])).unwrap();
        assert_eq!(two.dims, [Dim::Organisation, Dim::Municipality], "one order for a pair");
        let orgs = hub.hub.report(&spec(&[Dim::Organisation])).unwrap();
        let places = hub.hub.report(&spec(&[Dim::Municipality])).unwrap();
        let mut reader = Reader::new(&[&orgs, &places, &two], false);
        for r in &two.rows {
            reader.same((0, (Some(r.clone()), None)), (2, (Some(r.clone()), None)));
        }
        for c in &two.cols {
            reader.same((1, (Some(c.clone()), None)), (2, (None, Some(c.clone()))));
        }
        reader.same((0, (None, None)), (2, (None, None)));
        reader.same((1, (None, None)), (2, (None, None)));
        let widths = reader.suppressed_widths();
        assert!(!widths.is_empty(), "the seeds make small cells");
        for (slot, width) in widths {
            assert!(width + 1e-6 >= 5.0, "{slot} narrows to {width} across the tables\n{orgs}\n{places}\n{two}");
        }
        // The margins are published exactly as the one-way tables publish them.
        for (r, m) in two.rows.iter().zip(&two.row_margins) {
            let i = orgs.rows.iter().position(|x| x == r).unwrap();
            assert_eq!(orgs.cells[i][0], *m, "{r}");
        }
        for (c, m) in two.cols.iter().zip(&two.col_margins) {
            let i = places.rows.iter().position(|x| x == c).unwrap();
            assert_eq!(places.cells[i][0], *m, "{c}");
        }
    }
}

/// The row of `org` in a published table broken down by organisation, as the organisation's
/// report must carry it: `(value, count)` per value of the other dimension, and the total.
fn row_of(t: &Table, org: &str) -> (Vec<(String, Option<u64>)>, Option<u64>) {
    let pos = t.dims.iter().position(|d| *d == Dim::Organisation).unwrap();
    match (pos, t.dims.len()) {
        (0, 1) => {
            let i = t.rows.iter().position(|r| r == org).unwrap();
            (Vec::new(), t.cells[i][0].value())
        }
        (0, _) => {
            let i = t.rows.iter().position(|r| r == org).unwrap();
            let cells = t
                .cols
                .iter()
                .zip(&t.cells[i])
                .map(|(c, n)| (c.clone(), n.value()))
                .collect();
            (cells, t.row_margins[i].value())
        }
        _ => {
            let j = t.cols.iter().position(|c| c == org).unwrap();
            let cells = t
                .rows
                .iter()
                .zip(&t.cells)
                .map(|(r, row)| (r.clone(), row[j].value()))
                .collect();
            (cells, t.col_margins[j].value())
        }
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn coordinators_receive_their_organisations_published_rows_and_nothing_else() {
        use outreach_core::sync::protocol::OrgReport;
        let hub = TestHub::start().await;
        let brochures = [BrochureId::random(), BrochureId::random()];
        let partners = [PartnerId::random()];
        let mut seeds = Seeds(1202);
        for (org, n) in [(&hub.org_a, 50), (&hub.org_b, 30)] {
            let mut device = hub.device(org, Role::Fieldworker).await;
            for v in seeded_visits(&mut seeds, n, &brochures, &partners) {
                device.log_details(&v);
            }
            device.sync(&hub).await;
        }
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let mut field = hub.device(&hub.org_a, Role::Fieldworker).await;
        let mut other = hub.device(&hub.org_b, Role::Admin).await;

        // Nothing published yet: an empty report, which a second sync does not send again.
        let first = coordinator.sync(&hub).await.report.expect("a coordinator receives a report");
        assert_eq!(first.report.organisation, "Fedasil");
        assert!(first.report.tables.is_empty(), "{:?}", first.report);
        let mut req = coordinator.request();
        req.report = Some(first.version);
        assert_eq!(coordinator.send(&hub, &req).await.unwrap().report, None, "the same version is not sent again");

        let period: Period = "2026-11".parse().unwrap();
        let spec = |dims: &[Dim], measure| TableSpec { dims: dims.to_vec(), period, measure, protection: Protection::default() };
        let specs = [
            spec(&[Dim::Organisation], Measure::People),
            // Also published as the margins of the visits by municipality.
            spec(&[Dim::Organisation], Measure::Visits),
            spec(&[Dim::Organisation, Dim::Theme], Measure::People),
            spec(&[Dim::Organisation, Dim::Municipality], Measure::Visits),
            spec(&[Dim::Month, Dim::Organisation], Measure::People),
            spec(&[Dim::Brochure, Dim::Organisation], Measure::People),
            // Not broken down by organisation: in no organisation's report.
            spec(&[Dim::Theme], Measure::People),
            spec(&[Dim::Setting, Dim::Activity], Measure::People),
        ];
        let tables = hub.hub.reports(&specs).unwrap();

        let check = |report: &OrgReport, org: &str| {
            assert_eq!(report.organisation, org);
            let by_org: Vec<&Table> = tables.iter().filter(|t| t.dims.contains(&Dim::Organisation)).collect();
            assert_eq!(report.tables.len(), by_org.len(), "{report:?}");
            let mut suppressed = 0;
            for t in by_org {
                let other_dim = t.dims.iter().find(|d| **d != Dim::Organisation).map(|d| d.as_str().to_string());
                let got = report
                    .tables
                    .iter()
                    .find(|r| r.dimension == other_dim && r.measure == t.measure.as_str())
                    .unwrap_or_else(|| panic!("no {other_dim:?} {} table in {report:?}", t.measure.as_str()));
                assert_eq!(got.period, "2026-11");
                assert_eq!((got.release, got.threshold, got.protection_level), (1, 5, t.protection_level as i32));
                let (cells, total) = row_of(t, org);
                let rows: Vec<(String, Option<u64>)> =
                    got.rows.iter().map(|r| (r.value.clone(), r.count.map(|n| n as u64))).collect();
                assert_eq!(rows, cells, "{org}: {t}");
                assert_eq!(got.total.map(|n| n as u64), total);
                assert_eq!(got.rows_add_up, got.dimension.as_deref() != Some("theme"), "{got:?}");
                suppressed += rows.iter().filter(|(_, n)| n.is_none()).count();
                // Published counts only: none from 1 to k - 1.
                assert!(rows.iter().all(|(_, n)| n.is_none_or(|n| n == 0 || n >= 5)), "{rows:?}");
            }
            suppressed
        };
        let report = coordinator.sync(&hub).await.report.expect("a new report after a publication");
        assert_ne!(report.version, first.version);
        let suppressed = check(&report.report, "Fedasil");
        assert!(suppressed > 0, "the seeds leave small cells, suppressed in the report too");
        let json = serde_json::to_string(&report.report).unwrap();
        assert!(!json.contains("Caritas"), "another organisation's row is not sent: {json}");

        // Another organisation's admin gets its own rows; a field worker's device none.
        let theirs = other.sync(&hub).await.report.unwrap();
        check(&theirs.report, "Caritas International");
        assert!(field.sync(&hub).await.report.is_none(), "a field worker's device receives no report");

        // Publishing the same counts again changes nothing: the version stays.
        hub.hub.reports(&specs).unwrap();
        let mut req = coordinator.request();
        req.report = Some(report.version);
        assert_eq!(coordinator.send(&hub, &req).await.unwrap().report, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hub_publishes_a_closed_month_by_itself_once_its_devices_had_time_to_sync() {
    let hub = TestHub::start().await;
    let brochures = [BrochureId::random()];
    let partners = [PartnerId::random()];
    let mut device = hub.device(&hub.org_a, Role::Fieldworker).await;
    for v in seeded_visits(&mut Seeds(99), 30, &brochures, &partners) {
        device.log_details(&v);
    }
    device.sync(&hub).await;
    let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    // November's devices have a week to sync: not published on the 7th.
    assert_eq!(hub.hub.publish_due(day(7), 7).unwrap(), Vec::<Period>::new());
    assert!(coordinator
        .sync(&hub)
        .await
        .report
        .unwrap()
        .report
        .tables
        .is_empty());
    // On the 8th, November's standard tables (the months before had no visits: not published).
    assert_eq!(
        hub.hub.publish_due(day(8), 7).unwrap(),
        vec!["2026-11".parse::<Period>().unwrap()]
    );
    let report = coordinator
        .sync(&hub)
        .await
        .report
        .expect("the published figures")
        .report;
    let standard = outreach_hub::standard_tables("2026-11".parse().unwrap(), Protection::default());
    let by_org = standard
        .iter()
        .filter(|s| s.dims.contains(&Dim::Organisation))
        .count();
    // Each table by organisation, and the one-way tables of visits and copies that margins of
    // two-way ones published too.
    assert!(
        report.tables.len() >= by_org,
        "{} tables of {by_org}",
        report.tables.len()
    );
    let people = report
        .tables
        .iter()
        .find(|t| t.dimension.is_none() && t.measure == "people")
        .expect("the organisation's total");
    assert!(people.total.unwrap() >= 30, "{people:?}");
    // Once published, not again by itself.
    assert_eq!(hub.hub.publish_due(day(9), 7).unwrap(), Vec::<Period>::new());
}
