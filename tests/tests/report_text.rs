//! The hub's report as a coordinator reads it: for one month of the bench's 200-device workload
//! (50 visits each, 10,000 in all, five organisations), the text output of each standard
//! two-way table of organisations, provinces, settings and themes fits in 40 lines, and says
//! what it hides.

use chrono::NaiveDate;
use outreach_core::model::{BrochureId, DeviceId, PartnerId, Visit, VisitId};
use outreach_hub::{tabulate, Dim, Measure, Period, Protection, TableSpec};
use outreach_tests::gen::Gen;

const ORGANISATIONS: [&str; 5] = [
    "Fedasil",
    "Caritas International",
    "IOM",
    "CAW Brussel",
    "Stad Antwerpen",
];

#[test]
fn a_month_of_the_bench_workload_reads_in_40_lines_per_table() {
    let mut gen = Gen::new(200);
    let partners: Vec<PartnerId> = (0..20).map(|_| PartnerId::random()).collect();
    let brochures: Vec<BrochureId> = (0..4).map(|_| BrochureId::random()).collect();
    let last_day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let mut visits = Vec::new();
    for device in 0..200 {
        let id = DeviceId::random();
        for _ in 0..50 {
            let day = gen.date_before(last_day, 30);
            let details = gen.visit(day, &partners, &brochures);
            visits.push((
                Visit {
                    id: VisitId::random(),
                    device: id,
                    details,
                },
                ORGANISATIONS[device % ORGANISATIONS.len()],
            ));
        }
    }
    for dims in [
        [Dim::Organisation, Dim::Theme],
        [Dim::Province, Dim::Theme],
        [Dim::Organisation, Dim::Setting],
        [Dim::Setting, Dim::Activity],
    ] {
        let spec = TableSpec {
            dims: dims.to_vec(),
            period: "2026-11".parse::<Period>().unwrap(),
            measure: Measure::People,
            protection: Protection::default(),
        };
        let table = tabulate(&spec, visits.iter().map(|(v, o)| (v, *o))).unwrap();
        let text = table.to_string();
        println!("{text}");
        let lines = text.lines().count();
        assert!(lines <= 40, "{dims:?}: {lines} lines\n{text}");
        assert!(
            lines >= table.rows.len() + 3,
            "a header, a line per row, the totals and the legend"
        );
        assert!(text.contains("x: not published"), "the legend says what x means");
        // Every row and column is labelled in full, the grid's columns lined up.
        for row in &table.rows {
            assert!(text.contains(row.as_str()), "{row}");
        }
        let widths: std::collections::BTreeSet<usize> = text
            .lines()
            .skip(1)
            .take(table.rows.len() + 2)
            .map(|l| l.chars().count())
            .collect();
        assert_eq!(widths.len(), 1, "the grid's lines have one width:\n{text}");
    }
}
