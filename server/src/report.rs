//! The network's figures, computed on the hub from the stored visit logs: tables of one or two
//! dimensions with their margins, for one closed period, with the disclosure control of
//! [`crate::disclosure`]: counts from 1 to k − 1 suppressed, and as many others as it takes so
//! that no suppressed cell can be narrowed, from the table, below the protection level.
//!
//! What is counted depends on the dimensions: people reached (or visits) for the dimensions of a
//! visit, copies for brochures, referrals for referrals. A visit about two themes counts under
//! both, so the cells of a theme table overlap and its total is the people reached, once each;
//! the tables say so (their relations are covers, not sums) and the audit reads them as such.
//! Age bands, genders and origins are the breakdowns a worker may record: the people not broken
//! down are a value of their own ("not recorded"), so those cells add up to the people reached.
//! Countries of origin are never published: they are grouped by world region (see
//! [`OriginGroup`]), and never crossed with a municipality.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use outreach_core::model::{Month, Region, Visit};
use serde::Serialize;

use crate::db::docs;
use crate::disclosure::{protect, protect_release, Key, Kind, Margins, Protection, Release, System, TwoWay};
use crate::error::{Error, Result};
use crate::hub::{Counters, Hub};

/// Smallest count that is published as is (the default threshold k).
pub const SUPPRESSION_THRESHOLD: u64 = crate::disclosure::MIN_THRESHOLD;

/// A dimension a table can be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// The month of the visit.
    Month,
    /// The quarter of the visit.
    Quarter,
    /// The organisation of the device that logged it.
    Organisation,
    /// The province (or Brussels-Capital) of its postcode.
    Province,
    /// Its municipality.
    Municipality,
    /// Its setting.
    Setting,
    /// Its activity.
    Activity,
    /// The themes discussed (a visit may have several).
    Theme,
    /// The languages used (a visit may have several).
    Language,
    /// The age bands of the people reached, as recorded.
    AgeBand,
    /// Their genders, as recorded.
    Gender,
    /// Their countries of origin, grouped by world region.
    Origin,
    /// Whether a follow-up is needed.
    FollowUp,
    /// The brochure given (the table counts copies).
    Brochure,
    /// The partner referred to (the table counts referrals).
    ReferralPartner,
    /// The theme of a referral (the table counts referrals).
    ReferralTheme,
}

impl Dim {
    /// Every dimension, in the order the help lists them.
    pub const ALL: [Dim; 16] = [
        Dim::Month,
        Dim::Quarter,
        Dim::Organisation,
        Dim::Province,
        Dim::Municipality,
        Dim::Setting,
        Dim::Activity,
        Dim::Theme,
        Dim::Language,
        Dim::AgeBand,
        Dim::Gender,
        Dim::Origin,
        Dim::FollowUp,
        Dim::Brochure,
        Dim::ReferralPartner,
        Dim::ReferralTheme,
    ];

    /// The name on the command line and in the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Month => "month",
            Dim::Quarter => "quarter",
            Dim::Organisation => "organisation",
            Dim::Province => "province",
            Dim::Municipality => "municipality",
            Dim::Setting => "setting",
            Dim::Activity => "activity",
            Dim::Theme => "theme",
            Dim::Language => "language",
            Dim::AgeBand => "age_band",
            Dim::Gender => "gender",
            Dim::Origin => "origin",
            Dim::FollowUp => "follow_up",
            Dim::Brochure => "brochure",
            Dim::ReferralPartner => "referral_partner",
            Dim::ReferralTheme => "referral_theme",
        }
    }

    /// What a table with this dimension counts, if it decides it.
    fn subject(self) -> Option<Subject> {
        match self {
            Dim::Brochure => Some(Subject::Copies),
            Dim::ReferralPartner | Dim::ReferralTheme => Some(Subject::Referrals),
            _ => None,
        }
    }

    /// Whether this dimension breaks the people of a visit down (age, gender, origin).
    fn is_breakdown(self) -> bool {
        matches!(self, Dim::AgeBand | Dim::Gender | Dim::Origin)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dim {
    type Err = Error;

    fn from_str(s: &str) -> Result<Dim> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        let wanted = match wanted.as_str() {
            "org" => "organisation",
            "organization" => "organisation",
            "region" => "province",
            "age" => "age_band",
            other => other,
        }
        .to_string();
        Dim::ALL
            .into_iter()
            .find(|d| d.as_str() == wanted)
            .ok_or_else(|| {
                let known: Vec<&str> = Dim::ALL.iter().map(|d| d.as_str()).collect();
                Error::invalid(
                    "dimension",
                    format!("no dimension {s:?}; known: {}", known.join(", ")),
                )
            })
    }
}

/// What a table counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// People reached (the default).
    People,
    /// Visits.
    Visits,
    /// Copies of brochures given.
    Copies,
    /// Referrals made.
    Referrals,
}

impl Measure {
    /// The name in the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::People => "people",
            Measure::Visits => "visits",
            Measure::Copies => "copies",
            Measure::Referrals => "referrals",
        }
    }
}

impl FromStr for Measure {
    type Err = Error;

    fn from_str(s: &str) -> Result<Measure> {
        match s.trim() {
            "people" => Ok(Measure::People),
            "visits" => Ok(Measure::Visits),
            other => Err(Error::invalid(
                "measure",
                format!(
                "no measure {other:?}: people or visits (brochure and referral tables count copies and referrals)"
            ),
            )),
        }
    }
}

/// What a table's units are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    Visits,
    Copies,
    Referrals,
}

/// A closed period: a month, a quarter or a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// `2026-11`.
    Month(Month),
    /// `2026-Q4`.
    Quarter {
        /// Year.
        year: i32,
        /// 1 to 4.
        quarter: u32,
    },
    /// `2026`.
    Year(i32),
}

impl Period {
    /// First day.
    pub fn first_day(self) -> NaiveDate {
        match self {
            Period::Month(m) => m.first_day(),
            Period::Quarter { year, quarter } => {
                NaiveDate::from_ymd_opt(year, 3 * (quarter - 1) + 1, 1).unwrap_or_default()
            }
            Period::Year(y) => NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default(),
        }
    }

    /// The first day after it.
    pub fn end(self) -> NaiveDate {
        let first = self.first_day();
        let months = match self {
            Period::Month(_) => 1,
            Period::Quarter { .. } => 3,
            Period::Year(_) => 12,
        };
        first
            .checked_add_months(chrono::Months::new(months))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Whether `day` falls in it.
    pub fn contains(self, day: NaiveDate) -> bool {
        self.first_day() <= day && day < self.end()
    }

    /// Whether it has ended by `today` (only closed periods are published).
    pub fn is_closed(self, today: NaiveDate) -> bool {
        self.end() <= today
    }

    /// The last closed month before `today`.
    pub fn last_month(today: NaiveDate) -> Period {
        let last = today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today);
        Period::Month(Month::of(last))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(m) => write!(f, "{m}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Year(y) => write!(f, "{y:04}"),
        }
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Period> {
        let s = s.trim();
        let bad = || {
            Error::invalid(
                "period",
                format!("no period {s:?}: a month (2026-11), a quarter (2026-Q4) or a year (2026)"),
            )
        };
        if s.len() == 4 {
            let year: i32 = s.parse().map_err(|_| bad())?;
            return Ok(Period::Year(year));
        }
        if let Some((y, q)) = s
            .split_once(['-', ' '])
            .filter(|(_, q)| q.starts_with(['Q', 'q']))
        {
            let year: i32 = y.parse().map_err(|_| bad())?;
            let quarter: u32 = q[1..].parse().map_err(|_| bad())?;
            if !(1..=4).contains(&quarter) || y.len() != 4 {
                return Err(bad());
            }
            return Ok(Period::Quarter { year, quarter });
        }
        Month::parse(s).map(Period::Month).ok_or_else(bad)
    }
}

/// Which table, for which period, under which rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// One or two dimensions: rows, then columns.
    pub dims: Vec<Dim>,
    /// The period.
    pub period: Period,
    /// People or visits (brochure and referral tables count copies and referrals).
    pub measure: Measure,
    /// Threshold and protection level.
    pub protection: Protection,
}

impl TableSpec {
    /// Checks the dimensions: one or two, distinct, of one kind of unit, at most one breakdown,
    /// and no origin by municipality. Returns what the table counts.
    fn check(&self) -> Result<(Subject, Measure)> {
        let bad = |why: String| Err(Error::invalid("table", why));
        match self.dims.as_slice() {
            [] => return bad("a table needs one or two dimensions".into()),
            [a, b] if a == b => return bad(format!("the dimension {a} is given twice")),
            [_] | [_, _] => {}
            _ => return bad("a table has at most two dimensions".into()),
        }
        let subjects: BTreeSet<_> = self.dims.iter().filter_map(|d| d.subject()).collect();
        if subjects.len() > 1 {
            return bad("brochures and referrals cannot be crossed: they count different things".into());
        }
        let subject = self
            .dims
            .iter()
            .find_map(|d| d.subject())
            .unwrap_or(Subject::Visits);
        if self.dims.iter().filter(|d| d.is_breakdown()).count() > 1 {
            return bad(
                "age bands, genders and origins are recorded separately and cannot be crossed".into(),
            );
        }
        if subject != Subject::Visits && self.dims.iter().any(|d| d.is_breakdown()) {
            return bad("age bands, genders and origins describe people, not brochures or referrals".into());
        }
        if self.dims.contains(&Dim::Origin) && self.dims.contains(&Dim::Municipality) {
            return bad("origins are not published by municipality: use the province".into());
        }
        let measure = match subject {
            Subject::Visits => self.measure,
            Subject::Copies => Measure::Copies,
            Subject::Referrals => Measure::Referrals,
        };
        Ok((subject, measure))
    }
}

/// A published count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Published as is (0 or at least the threshold, or a complementary cell left published).
    Exact(u64),
    /// Not published.
    Suppressed,
}

impl Count {
    /// The count, if published.
    pub fn value(self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(n),
            Count::Suppressed => None,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Suppressed => f.write_str("x"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => s.serialize_u64(*n),
            Count::Suppressed => s.serialize_none(),
        }
    }
}

/// A published table: its labels, its cells and margins, suppressed where they must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// The period.
    #[serde(serialize_with = "display")]
    pub period: Period,
    /// Its dimensions: rows, then columns.
    pub dims: Vec<Dim>,
    /// What it counts.
    pub measure: Measure,
    /// Counts from 1 to `threshold - 1` are never published.
    pub threshold: u64,
    /// No suppressed cell can be narrowed to an interval narrower than this.
    pub protection_level: u64,
    /// Which release of this table for this period (1 for the first; a later one only when
    /// late visits changed the counts, protected against every earlier one).
    pub release: u32,
    /// The values of the first dimension.
    pub rows: Vec<String>,
    /// The values of the second (empty for a one-way table).
    pub cols: Vec<String>,
    /// `cells[row][col]` (one column for a one-way table).
    pub cells: Vec<Vec<Count>>,
    /// One per row (a two-way table's; for a one-way table the cells themselves).
    pub row_margins: Vec<Count>,
    /// One per column (two-way tables).
    pub col_margins: Vec<Count>,
    /// The grand total.
    pub total: Count,
    /// Whether the cells of a row add up to its margin (else they overlap: a visit about two
    /// themes counts under both).
    pub rows_add_up: bool,
    /// Whether the cells of a column add up to its margin.
    pub cols_add_up: bool,
}

fn display<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The label of a value not recorded (a breakdown that does not cover every person, a visit with
/// no theme or language).
pub const NOT_RECORDED: &str = "(not recorded)";
/// The label of a margin in the text and CSV outputs.
pub const ALL: &str = "(all)";

/// One value of a dimension for a unit, with the weight it carries when it is a breakdown.
type Values = Vec<(String, Option<u64>)>;

/// A counted unit (a visit, a brochure given, a referral) with the values of each dimension.
struct Unit {
    weight: u64,
    values: [Values; 2],
}

/// The true counts of a table before disclosure control.
#[derive(Debug, Default)]
struct Counts {
    cells: BTreeMap<(String, String), u64>,
    rows: BTreeMap<String, u64>,
    cols: BTreeMap<String, u64>,
    total: u64,
}

impl Counts {
    fn add(&mut self, unit: &Unit) {
        let single = [(String::new(), None)];
        let cols: &[(String, Option<u64>)] = if unit.values[1].is_empty() {
            &single
        } else {
            &unit.values[1]
        };
        let weight = |w: Option<u64>| w.unwrap_or(unit.weight);
        for (a, wa) in &unit.values[0] {
            *self.rows.entry(a.clone()).or_default() += weight(*wa);
            for (b, wb) in cols {
                *self.cells.entry((a.clone(), b.clone())).or_default() += weight(wa.or(*wb));
            }
        }
        for (b, wb) in &unit.values[1] {
            *self.cols.entry(b.clone()).or_default() += weight(*wb);
        }
        self.total += unit.weight;
    }
}

/// The values of `dim` for a visit, with the breakdown weights for `measure`.
fn visit_values(dim: Dim, visit: &Visit, organisation: &str, measure: Measure) -> Values {
    let d = &visit.details;
    let one = |s: String| vec![(s, None)];
    let set = |values: Vec<String>| -> Values {
        if values.is_empty() {
            one(NOT_RECORDED.into())
        } else {
            values.into_iter().map(|v| (v, None)).collect()
        }
    };
    // A breakdown: the recorded counts, and the rest of the people as not recorded. For visits,
    // each value recorded counts the visit once.
    let breakdown = |counts: Vec<(String, u64)>| -> Values {
        let people = u64::from(d.people_reached);
        let mut merged: BTreeMap<String, u64> = BTreeMap::new();
        for (k, v) in counts {
            *merged.entry(k).or_default() += v;
        }
        let recorded: u64 = merged.values().sum();
        if recorded < people {
            *merged.entry(NOT_RECORDED.into()).or_default() += people - recorded;
        }
        merged
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k, (measure == Measure::People).then_some(n)))
            .collect()
    };
    match dim {
        Dim::Month => one(Month::of(d.date).to_string()),
        Dim::Quarter => one(format!("{:04}-Q{}", d.date.year(), d.date.month0() / 3 + 1)),
        Dim::Organisation => one(organisation.to_string()),
        Dim::Province => {
            one(Region::of_postcode(d.postcode).map_or(NOT_RECORDED.into(), |r| r.as_str().to_string()))
        }
        Dim::Municipality => one(d.municipality.trim().to_string()),
        Dim::Setting => one(d.setting.as_str().to_string()),
        Dim::Activity => one(d.activity.as_str().to_string()),
        Dim::FollowUp => one(if d.follow_up { "yes" } else { "no" }.to_string()),
        Dim::Theme => set(d.themes.iter().map(|t| t.as_str().to_string()).collect()),
        Dim::Language => set(d.languages.iter().map(|l| l.as_str().to_string()).collect()),
        Dim::AgeBand => breakdown(
            d.by_age
                .iter()
                .map(|(b, n)| (b.as_str().to_string(), u64::from(*n)))
                .collect(),
        ),
        Dim::Gender => breakdown(
            d.by_gender
                .iter()
                .map(|(g, n)| (g.as_str().to_string(), u64::from(*n)))
                .collect(),
        ),
        Dim::Origin => breakdown(
            d.origins
                .iter()
                .map(|(c, n)| (OriginGroup::of(c.as_str()).as_str().to_string(), u64::from(*n)))
                .collect(),
        ),
        Dim::Brochure | Dim::ReferralPartner | Dim::ReferralTheme => Vec::new(),
    }
}

/// The units a visit gives a table of `spec`.
fn units(spec: &[Dim], subject: Subject, measure: Measure, visit: &Visit, organisation: &str) -> Vec<Unit> {
    let values = |dim: Dim| visit_values(dim, visit, organisation, measure);
    let pair = |f: &dyn Fn(Dim) -> Values| -> [Values; 2] {
        [f(spec[0]), spec.get(1).map_or_else(Vec::new, |d| f(*d))]
    };
    match subject {
        Subject::Visits => {
            let weight = match measure {
                Measure::Visits => 1,
                _ => u64::from(visit.details.people_reached),
            };
            vec![Unit {
                weight,
                values: pair(&values),
            }]
        }
        Subject::Copies => visit
            .details
            .brochures
            .iter()
            .map(|(brochure, copies)| Unit {
                weight: u64::from(*copies),
                values: pair(&|d| match d {
                    Dim::Brochure => vec![(brochure.to_string(), None)],
                    other => values(other),
                }),
            })
            .collect(),
        Subject::Referrals => visit
            .details
            .referrals
            .iter()
            .map(|r| Unit {
                weight: 1,
                values: pair(&|d| match d {
                    Dim::ReferralPartner => vec![(r.partner.to_string(), None)],
                    Dim::ReferralTheme => vec![(r.theme.as_str().to_string(), None)],
                    other => values(other),
                }),
            })
            .collect(),
    }
}

/// Whether the values of `dim` partition the units of a table (else they overlap).
/// Whether the cells along `dim` of a table counting `measure` add up to their margin.
pub(crate) fn cells_add_up(dim: Dim, measure: Measure) -> bool {
    let subject = match measure {
        Measure::Copies => Subject::Copies,
        Measure::Referrals => Subject::Referrals,
        Measure::People | Measure::Visits => Subject::Visits,
    };
    adds_up(dim, subject, measure)
}

fn adds_up(dim: Dim, subject: Subject, measure: Measure) -> bool {
    match dim {
        Dim::Theme | Dim::Language => false,
        Dim::AgeBand | Dim::Gender | Dim::Origin => measure == Measure::People,
        Dim::Brochure => subject == Subject::Copies,
        Dim::ReferralPartner | Dim::ReferralTheme => subject == Subject::Referrals,
        _ => true,
    }
}

fn kind(adds: bool) -> Kind {
    if adds {
        Kind::Sum
    } else {
        Kind::Cover
    }
}

/// A table before publication: its true counts as a [`System`] of cells tied by its
/// relations, each cell with its [`Key`] (its labels).
#[derive(Debug, Clone)]
struct Draft {
    spec: TableSpec,
    measure: Measure,
    rows_add_up: bool,
    cols_add_up: bool,
    release: Release,
}

impl Draft {
    /// The table of `spec` over `visits` (each with its organisation's name), unprotected.
    fn new<'a>(spec: &TableSpec, visits: impl IntoIterator<Item = (&'a Visit, &'a str)>) -> Result<Draft> {
        // One order of the dimensions for a pair, whichever was asked: theme by organisation is
        // organisation by theme, the same counts, and must be the same table.
        let mut spec = spec.clone();
        spec.dims.sort_by_key(|d| Dim::ALL.iter().position(|x| x == d));
        let spec = &spec;
        let (subject, measure) = spec.check()?;
        let mut counts = Counts::default();
        for (visit, organisation) in visits {
            if !spec.period.contains(visit.details.date) {
                continue;
            }
            for unit in units(&spec.dims, subject, measure, visit, organisation) {
                counts.add(&unit);
            }
        }
        let rows_add_up = spec.dims.get(1).is_none_or(|d| adds_up(*d, subject, measure));
        let cols_add_up = adds_up(spec.dims[0], subject, measure);
        let rows: Vec<String> = counts.rows.keys().cloned().collect();
        let cols: Vec<String> = counts.cols.keys().cloned().collect();
        let (system, keys) = if spec.dims.len() == 1 {
            let values: Vec<u64> = rows.iter().map(|r| counts.rows[r]).collect();
            let system = System::one_way_with(&values, counts.total, kind(cols_add_up));
            let keys = rows
                .iter()
                .map(|r| (Some(r.clone()), None))
                .chain([(None, None)])
                .collect();
            (system, keys)
        } else {
            let cell =
                |a: &String, b: &String| counts.cells.get(&(a.clone(), b.clone())).copied().unwrap_or(0);
            let grid: Vec<Vec<u64>> = rows
                .iter()
                .map(|a| cols.iter().map(|b| cell(a, b)).collect())
                .collect();
            let margins = Margins {
                rows: rows.iter().map(|r| counts.rows[r]).collect(),
                cols: cols.iter().map(|c| counts.cols[c]).collect(),
                total: counts.total,
            };
            let (system, shape) = System::two_way_with(&grid, &margins, kind(rows_add_up), kind(cols_add_up));
            let mut keys: Vec<Key> = vec![(None, None); system.values.len()];
            for (i, r) in rows.iter().enumerate() {
                for (j, c) in cols.iter().enumerate() {
                    keys[shape.cell(i, j)] = (Some(r.clone()), Some(c.clone()));
                }
                keys[shape.row_margin(i)] = (Some(r.clone()), None);
            }
            for (j, c) in cols.iter().enumerate() {
                keys[shape.col_margin(j)] = (None, Some(c.clone()));
            }
            (system, keys)
        };
        Ok(Draft {
            spec: spec.clone(),
            measure,
            rows_add_up,
            cols_add_up,
            release: Release {
                keys,
                system,
                threshold: spec.protection.threshold,
                level: spec.protection.level,
            },
        })
    }

    /// The table as its system publishes it.
    fn table(&self, release: u32) -> Table {
        let system = &self.release.system;
        let count = |i: usize| {
            if system.published[i] {
                Count::Exact(system.values[i])
            } else {
                Count::Suppressed
            }
        };
        // The labels as the release has them (an earlier release may lack a later value).
        let label = |want_row: bool| -> Vec<String> {
            self.release
                .keys
                .iter()
                .filter_map(|key| match key {
                    (Some(r), None) if want_row => Some(r.clone()),
                    (None, Some(c)) if !want_row => Some(c.clone()),
                    _ => None,
                })
                .collect()
        };
        let (rows, cols) = (label(true), label(false));
        let (r, c) = (rows.len(), cols.len());
        let mut table = Table {
            period: self.spec.period,
            dims: self.spec.dims.clone(),
            measure: self.measure,
            threshold: self.spec.protection.threshold,
            protection_level: self.spec.protection.level,
            release,
            rows,
            cols,
            cells: Vec::new(),
            row_margins: Vec::new(),
            col_margins: Vec::new(),
            total: count(system.values.len() - 1),
            rows_add_up: self.rows_add_up,
            cols_add_up: self.cols_add_up,
        };
        if self.spec.dims.len() == 1 {
            table.cells = (0..r).map(|i| vec![count(i)]).collect();
            table.row_margins = (0..r).map(count).collect();
        } else {
            let shape = TwoWay { rows: r, cols: c };
            table.cells = (0..r)
                .map(|i| (0..c).map(|j| count(shape.cell(i, j))).collect())
                .collect();
            table.row_margins = (0..r).map(|i| count(shape.row_margin(i))).collect();
            table.col_margins = (0..c).map(|j| count(shape.col_margin(j))).collect();
        }
        table
    }

    /// Fixes the publication of the cells another table publishes: the grand total always, and
    /// the margins of a two-way table as `linked` (the one-way tables of its dimensions that
    /// count the same, with the position of their dimension) published them.
    fn link(&mut self, linked: &[(usize, &Table)]) {
        let system = &mut self.release.system;
        let total = system.values.len() - 1;
        system.locked[total] = true;
        for &(pos, one_way) in linked {
            if one_way.total == Count::Suppressed {
                system.published[total] = false;
            }
            for (label, cell) in one_way.rows.iter().zip(&one_way.cells) {
                let key = if pos == 0 {
                    (Some(label.clone()), None)
                } else {
                    (None, Some(label.clone()))
                };
                if let Some(i) = self.release.keys.iter().position(|k| *k == key) {
                    system.locked[i] = true;
                    if cell[0] == Count::Suppressed {
                        system.published[i] = false;
                    }
                }
            }
        }
    }

    /// What identifies the table in the release ledger: period, dimensions, measure.
    fn ledger_key(&self) -> String {
        // Not the threshold: a table published again under another is a release of the same
        // counts, audited against the earlier ones like any other.
        table_key(self.spec.period, &self.spec.dims, self.measure)
    }
}

/// The key of a table in the release ledger: `period/dims/measure` (`2026-11/organisation,theme/people`).
pub(crate) fn table_key(period: Period, dims: &[Dim], measure: Measure) -> String {
    let dims: Vec<&str> = dims.iter().map(|d| d.as_str()).collect();
    format!("{period}/{}/{}", dims.join(","), measure.as_str())
}

/// The table of `spec` over `visits` (each with its organisation's name), protected on its own,
/// as a first release: what [`Hub::report`] publishes when the ledger holds no earlier release.
pub fn tabulate<'a>(
    spec: &TableSpec,
    visits: impl IntoIterator<Item = (&'a Visit, &'a str)>,
) -> Result<Table> {
    let mut draft = Draft::new(spec, visits)?;
    protect(&mut draft.release.system, spec.protection).map_err(audit_failed)?;
    Ok(draft.table(1))
}

fn audit_failed(e: crate::disclosure::AuditError) -> Error {
    match e {
        crate::disclosure::AuditError::Unprotectable => Error::invalid("table", e.to_string()),
        crate::disclosure::AuditError::Solver(_) => Error::Server(e.to_string()),
    }
}

impl Table {
    /// The table as CSV: one line per cell and margin (`(all)` for a margin), the count empty
    /// and `suppressed` true where it is not published.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let dims: Vec<&str> = self.dims.iter().map(|d| d.as_str()).collect();
        out.push_str(&format!(
            "period,{},{},suppressed\n",
            dims.join(","),
            self.measure.as_str()
        ));
        let mut line = |labels: &[&str], count: Count| {
            let labels: Vec<String> = labels.iter().map(|l| field(l)).collect();
            let value = count.value().map_or(String::new(), |n| n.to_string());
            out.push_str(&format!(
                "{},{},{value},{}\n",
                self.period,
                labels.join(","),
                count.value().is_none()
            ));
        };
        if self.dims.len() == 1 {
            for (r, c) in self.rows.iter().zip(&self.cells) {
                line(&[r], c[0]);
            }
            line(&[ALL], self.total);
        } else {
            for (i, r) in self.rows.iter().enumerate() {
                for (j, c) in self.cols.iter().enumerate() {
                    line(&[r, c], self.cells[i][j]);
                }
                line(&[r, ALL], self.row_margins[i]);
            }
            for (j, c) in self.cols.iter().enumerate() {
                line(&[ALL, c], self.col_margins[j]);
            }
            line(&[ALL, ALL], self.total);
        }
        out
    }

    /// The table as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// A two-way table as the text output lays it out: a column per value, each as wide as its
/// label (up to [`LABEL_WIDTH`] characters) or its widest count.
struct Grid<'a> {
    corner: &'a str,
    rows: &'a [String],
    cols: &'a [String],
    cells: &'a [Vec<Count>],
    row_margins: &'a [Count],
    col_margins: &'a [Count],
    total: Count,
}

/// The widest a column label is shown; longer ones are cut.
const LABEL_WIDTH: usize = 22;

impl Grid<'_> {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self
            .rows
            .iter()
            .map(|r| r.chars().count())
            .chain([ALL.len(), self.corner.len()])
            .max()
            .unwrap_or(8);
        let label = |c: &str| -> String { c.chars().take(LABEL_WIDTH).collect() };
        let width = |j: Option<usize>| {
            let (name, counts): (String, Vec<Count>) = match j {
                Some(j) => (
                    label(&self.cols[j]),
                    self.cells
                        .iter()
                        .map(|r| r[j])
                        .chain([self.col_margins[j]])
                        .collect(),
                ),
                None => (
                    ALL.to_string(),
                    self.row_margins.iter().copied().chain([self.total]).collect(),
                ),
            };
            counts
                .iter()
                .map(|c| c.to_string().len())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(1)
        };
        let widths: Vec<usize> = (0..self.cols.len()).map(|j| width(Some(j))).collect();
        let all_width = width(None);
        write!(f, "  {:<first$}", self.corner)?;
        for (c, w) in self.cols.iter().zip(&widths) {
            write!(f, "  {:>w$}", label(c))?;
        }
        writeln!(f, "  {ALL:>all_width$}")?;
        for (i, r) in self.rows.iter().enumerate() {
            write!(f, "  {r:<first$}")?;
            for (c, w) in self.cells[i].iter().zip(&widths) {
                write!(f, "  {:>w$}", c.to_string())?;
            }
            writeln!(f, "  {:>all_width$}", self.row_margins[i].to_string())?;
        }
        write!(f, "  {ALL:<first$}")?;
        for (c, w) in self.col_margins.iter().zip(&widths) {
            write!(f, "  {:>w$}", c.to_string())?;
        }
        writeln!(f, "  {:>all_width$}", self.total.to_string())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title: Vec<&str> = self.dims.iter().map(|d| d.as_str()).collect();
        if self.rows.is_empty() {
            return writeln!(
                f,
                "no visits logged in {} to count {} by {}",
                self.period,
                self.measure.as_str(),
                title.join(" and ")
            );
        }
        let release = if self.release > 1 {
            format!(" (release {})", self.release)
        } else {
            String::new()
        };
        writeln!(
            f,
            "{} by {}, {}{release}",
            self.measure.as_str(),
            title.join(" and "),
            self.period
        )?;
        if self.dims.len() == 1 {
            let first = self
                .rows
                .iter()
                .map(|r| r.chars().count())
                .chain([ALL.len()])
                .max()
                .unwrap_or(8);
            for (r, c) in self.rows.iter().zip(&self.cells) {
                writeln!(f, "  {r:<first$}  {:>7}", c[0].to_string())?;
            }
            writeln!(f, "  {ALL:<first$}  {:>7}", self.total.to_string())?;
        } else if self.cols.len() > self.rows.len() {
            // The dimension with more values down the page, so that the grid stays narrow.
            let cells: Vec<Vec<Count>> = (0..self.cols.len())
                .map(|j| self.cells.iter().map(|row| row[j]).collect())
                .collect();
            let grid = Grid {
                corner: title[1],
                rows: &self.cols,
                cols: &self.rows,
                cells: &cells,
                row_margins: &self.col_margins,
                col_margins: &self.row_margins,
                total: self.total,
            };
            grid.write(f)?;
        } else {
            let grid = Grid {
                corner: title[0],
                rows: &self.rows,
                cols: &self.cols,
                cells: &self.cells,
                row_margins: &self.row_margins,
                col_margins: &self.col_margins,
                total: self.total,
            };
            grid.write(f)?;
        }
        if !self.rows_add_up || !self.cols_add_up {
            writeln!(
                f,
                "a visit may count under several values: the cells overlap, and (all) counts each once"
            )?;
        }
        writeln!(
            f,
            "x: not published (counts from 1 to {} and the cells that would reveal them; no cell shown as x can be narrowed below {})",
            self.threshold - 1,
            self.protection_level
        )
    }
}

/// The world region of a country of origin, the finest origin a report publishes (United
/// Nations M49 regions, merged where Belgium's figures would be small, and the European Union
/// with its neighbours as one group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OriginGroup {
    /// Algeria to Western Sahara.
    NorthernAfrica,
    /// West Africa.
    WesternAfrica,
    /// Central Africa.
    MiddleAfrica,
    /// East Africa and the Indian Ocean.
    EasternAfrica,
    /// Southern Africa.
    SouthernAfrica,
    /// The Middle East and the Caucasus.
    WesternAsia,
    /// Central and South Asia, Iran and Afghanistan.
    CentralSouthernAsia,
    /// East and South-East Asia.
    EasternAsia,
    /// The European Union, the EEA and Switzerland.
    EuropeanUnion,
    /// The rest of Europe (the Balkans, Ukraine, the United Kingdom...).
    OtherEurope,
    /// Latin America and the Caribbean.
    LatinAmerica,
    /// North America, Oceania and the rest.
    NorthAmericaOceania,
}

impl OriginGroup {
    /// The label in the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            OriginGroup::NorthernAfrica => "northern_africa",
            OriginGroup::WesternAfrica => "western_africa",
            OriginGroup::MiddleAfrica => "middle_africa",
            OriginGroup::EasternAfrica => "eastern_africa",
            OriginGroup::SouthernAfrica => "southern_africa",
            OriginGroup::WesternAsia => "western_asia",
            OriginGroup::CentralSouthernAsia => "central_southern_asia",
            OriginGroup::EasternAsia => "eastern_asia",
            OriginGroup::EuropeanUnion => "european_union",
            OriginGroup::OtherEurope => "other_europe",
            OriginGroup::LatinAmerica => "latin_america",
            OriginGroup::NorthAmericaOceania => "north_america_oceania",
        }
    }

    /// The group of an ISO 3166-1 alpha-2 code (every code the core knows has one).
    pub fn of(country: &str) -> OriginGroup {
        ORIGIN_GROUPS
            .iter()
            .find(|(_, codes)| codes.split(' ').any(|c| c == country))
            .map_or(OriginGroup::NorthAmericaOceania, |(g, _)| *g)
    }
}

/// The countries of each group (M49, from the United Nations Statistics Division's standard
/// country or area codes, with the merges described on [`OriginGroup`]).
const ORIGIN_GROUPS: &[(OriginGroup, &str)] = &[
    (OriginGroup::NorthernAfrica, "DZ EG EH LY MA SD TN"),
    (OriginGroup::WesternAfrica, "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG"),
    (OriginGroup::MiddleAfrica, "AO CD CF CG CM GA GQ ST TD"),
    (OriginGroup::EasternAfrica, "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW"),
    (OriginGroup::SouthernAfrica, "BW LS NA SZ ZA"),
    (OriginGroup::WesternAsia, "AE AM AZ BH GE IL IQ JO KW LB OM PS QA SA SY TR YE"),
    (OriginGroup::CentralSouthernAsia, "AF BD BT IN IR KG KZ LK MV NP PK TJ TM UZ"),
    (OriginGroup::EasternAsia, "BN CN HK ID JP KH KP KR LA MM MN MO MY PH SG TH TL TW VN"),
    (
        OriginGroup::EuropeanUnion,
        "AD AT AX BE BG CH CY CZ DE DK EE ES FI FO FR GI GR HR HU IE IS IT LI LT LU LV MC MT NL NO PL PT RO SE SI SJ SK SM VA",
    ),
    (OriginGroup::OtherEurope, "AL BA BY GB GG IM JE MD ME MK RS RU UA XK"),
    (
        OriginGroup::LatinAmerica,
        "AG AI AR AW BB BL BO BQ BR BS BV BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT JM KN KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI",
    ),
    (
        OriginGroup::NorthAmericaOceania,
        "AQ AS AU BM CA CC CK CX FJ FM GL GU HM KI MH MP NC NF NR NU NZ PF PG PM PN PW SB TK TO TV UM US VU WF WS",
    ),
];

impl Hub {
    /// Publishes the table of `spec` over every stored visit log, for a closed period only, and
    /// records it in the release ledger. The same counts as an earlier release give that release
    /// again, identical; changed counts (late visits) give a new release whose suppression keeps
    /// every earlier release's suppressed cells, and every small change, protected against
    /// differencing.
    pub fn report(&self, spec: &TableSpec) -> Result<Table> {
        let mut tables = self.reports(std::slice::from_ref(spec))?;
        tables.pop().ok_or_else(|| Error::Corrupt("no table".into()))
    }

    /// Publishes several tables as [`Hub::report`] does, reading the visit logs of each period
    /// once.
    pub fn reports(&self, specs: &[TableSpec]) -> Result<Vec<Table>> {
        let today = chrono::Utc::now().date_naive();
        if let Some(open) = specs.iter().find(|s| !s.period.is_closed(today)) {
            return Err(Error::invalid(
                "period",
                format!(
                    "{} has not ended: only whole closed periods are published",
                    open.period
                ),
            ));
        }
        let periods: BTreeSet<Period> = specs.iter().map(|s| s.period).collect();
        let mut visits: BTreeMap<Period, Vec<(Visit, String)>> = BTreeMap::new();
        for period in periods {
            visits.insert(period, self.visits_of(period)?);
        }
        let mut out = Vec::with_capacity(specs.len());
        // The one-way tables published in this call, by period, dimension and measure: a
        // two-way table's margins are theirs.
        let mut one_way: BTreeMap<(Period, Dim, Measure), Table> = BTreeMap::new();
        for spec in specs {
            let of_period = visits.get(&spec.period).map(Vec::as_slice).unwrap_or_default();
            let of_period = || of_period.iter().map(|(v, o)| (v, o.as_str()));
            let mut draft = Draft::new(spec, of_period())?;
            // A two-way table's margins are the one-way tables of its dimensions (those that
            // count what it counts): published with them, and as they publish them.
            let mut linked = Vec::new();
            if draft.spec.dims.len() == 2 {
                for (pos, dim) in draft.spec.dims.clone().into_iter().enumerate() {
                    let key = (spec.period, dim, draft.measure);
                    if let std::collections::btree_map::Entry::Vacant(slot) = one_way.entry(key) {
                        let one = TableSpec {
                            dims: vec![dim],
                            ..draft.spec.clone()
                        };
                        let mut one = Draft::new(&one, of_period())?;
                        if one.measure != draft.measure {
                            continue;
                        }
                        one.link(&[]);
                        slot.insert(self.publish(one)?);
                    }
                    linked.push((pos, one_way[&key].clone()));
                }
            }
            draft.link(&linked.iter().map(|(pos, t)| (*pos, t)).collect::<Vec<_>>());
            let table = self.publish(draft)?;
            if let [dim] = table.dims[..] {
                one_way.insert((spec.period, dim, table.measure), table.clone());
            }
            out.push(table);
        }
        Ok(out)
    }

    /// Publishes, by itself, the standard tables ([`standard_tables`], under the default
    /// rules) of each of the last three months closed for `delay_days` days that it has not
    /// published yet and that have visits. What `serve` does every hour, so that every
    /// organisation's coordinators receive last month's figures without anyone asking for them;
    /// a device that was offline at the end of the month has `delay_days` to sync its visits in.
    /// Later visits give a new release only when the month is published again by hand
    /// (`report`), audited against this one. Months only: a quarter published beside its months
    /// would let a reader subtract them (nested periods are not audited together yet, see
    /// REPORTS.md), so quarters and years are published by hand. Returns the months published.
    pub fn publish_due(&self, today: NaiveDate, delay_days: u32) -> Result<Vec<Period>> {
        let cutoff = today
            .checked_sub_days(chrono::Days::new(u64::from(delay_days)))
            .unwrap_or(today);
        let mut due = Vec::new();
        let mut month = Period::last_month(cutoff);
        for _ in 0..3 {
            due.push(month);
            month = Period::last_month(month.first_day());
        }
        let mut published = Vec::new();
        for period in due {
            let key = table_key(period, &[Dim::Organisation], Measure::People);
            let first = Month::of(period.first_day()).to_string();
            let last = Month::of(period.end().pred_opt().unwrap_or_default()).to_string();
            let (done, logs) = self.inner.db.read(|tx| {
                Ok::<_, Error>((
                    !ledger::releases(tx, &key)?.is_empty(),
                    docs::has_visit_logs_between(tx, &first, &last)?,
                ))
            })?;
            if done || !logs {
                continue;
            }
            self.reports(&standard_tables(period, Protection::default()))?;
            published.push(period);
        }
        Ok(published)
    }

    /// Every stored visit of `period`, with its organisation's name.
    fn visits_of(&self, period: Period) -> Result<Vec<(Visit, String)>> {
        let hub_id = self.inner.db.hub_id();
        let counters = &self.inner.counters;
        self.inner.db.read(|tx| {
            let mut out = Vec::new();
            let first = Month::of(period.first_day()).to_string();
            let last = Month::of(period.end().pred_opt().unwrap_or_default()).to_string();
            for (row, org) in docs::visit_log_rows_between(tx, &first, &last)? {
                let doc = docs::load(tx, &row, hub_id)?;
                Counters::bump(&counters.documents_loaded, 1);
                let visits = doc
                    .visits()
                    .map_err(|e| Error::Corrupt(format!("stored visit log {} does not read: {e}", row.id)))?;
                out.extend(visits.into_iter().map(|v| (v, org.clone())));
            }
            Ok::<_, Error>(out)
        })
    }

    /// Protects a draft against the table's earlier releases and records it.
    fn publish(&self, draft: Draft) -> Result<Table> {
        let key = draft.ledger_key();
        let protection = draft.spec.protection;
        let now = chrono::Utc::now().timestamp();
        self.inner.db.write(|tx| {
            let earlier = ledger::releases(tx, &key)?;
            let mut draft = draft.clone();
            if let Some((n, same)) = earlier
                .iter()
                .enumerate()
                .rev()
                .find(|(_, r)| same_release(r, &draft.release))
            {
                // The same counts: that release again, as it was published.
                draft.release = same.clone();
                return Ok(draft.table(n as u32 + 1));
            }
            if earlier.is_empty() {
                protect(&mut draft.release.system, protection).map_err(audit_failed)?;
            } else {
                match protect_release(&mut draft.release, &earlier, protection) {
                    Ok(()) => {}
                    // No new pattern protects both the late counts and every earlier release
                    // (with the margins other tables publish): the last release stands, as it
                    // was published, and adds nothing a reader did not have.
                    Err(crate::disclosure::AuditError::Unprotectable) => {
                        let n = earlier.len();
                        draft.release = earlier[n - 1].clone();
                        return Ok(draft.table(n as u32));
                    }
                    Err(e) => return Err(audit_failed(e)),
                }
            }
            let n = earlier.len() as u32 + 1;
            ledger::record(tx, &key, n, now, &draft.release)?;
            Ok(draft.table(n))
        })
    }
}

/// Every table of one dimension, and every table of two that can be made: what a network's
/// full set of figures for a period is (and what `bench sync` times as `report_ms`).
pub fn standard_tables(period: Period, protection: Protection) -> Vec<TableSpec> {
    let spec = |dims: Vec<Dim>| TableSpec {
        dims,
        period,
        measure: Measure::People,
        protection,
    };
    let mut out: Vec<TableSpec> = Dim::ALL.iter().map(|d| spec(vec![*d])).collect();
    for (i, a) in Dim::ALL.iter().enumerate() {
        for b in &Dim::ALL[i + 1..] {
            let pair = spec(vec![*a, *b]);
            if pair.check().is_ok() {
                out.push(pair);
            }
        }
    }
    out
}

/// Whether `earlier` can be published again for `new`: the same counts, under the same rules,
/// with the cells another table decides published as they were.
fn same_release(earlier: &Release, new: &Release) -> bool {
    let decided = |r: &Release| -> Vec<bool> {
        (0..r.system.values.len())
            .filter(|&i| new.system.is_locked(i))
            .map(|i| r.system.published[i])
            .collect()
    };
    earlier.keys == new.keys
        && earlier.system.values == new.system.values
        && (earlier.threshold, earlier.level) == (new.threshold, new.level)
        && decided(earlier) == decided(new)
}

/// The release ledger (schema v9, `report_releases`): every table published, with the true
/// counts it was made from and what was published, by table and release.
mod ledger {
    use super::{Error, Release, Result};
    use crate::db::{params, Tx};

    /// The releases of the table `key`, in order.
    pub(super) fn releases(tx: &Tx<'_>, key: &str) -> Result<Vec<Release>> {
        let rows = tx.query(
            "SELECT body FROM report_releases WHERE table_key = ?1 ORDER BY release",
            params![key],
        )?;
        rows.iter()
            .map(|r| {
                let body: String = r.get(0)?;
                serde_json::from_str(&body)
                    .map_err(|_| Error::Corrupt("a report release does not read".into()))
            })
            .collect()
    }

    /// Records release `n` of the table `key`.
    pub(super) fn record(tx: &Tx<'_>, key: &str, n: u32, at: i64, release: &Release) -> Result<()> {
        let body = serde_json::to_string(release).map_err(|e| Error::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO report_releases (table_key, release, released_at, body) VALUES (?1, ?2, ?3, ?4)",
            params![key, i64::from(n), at, body],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_close() {
        let q: Period = "2026-Q4".parse().unwrap();
        assert_eq!(q.first_day(), NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(q.end(), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        assert!(!q.is_closed(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
        assert!(q.is_closed(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
        assert_eq!("2026-11".parse::<Period>().unwrap().to_string(), "2026-11");
        assert_eq!(
            "2026".parse::<Period>().unwrap().end(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert!("2026-Q5".parse::<Period>().is_err());
        assert!("26-11".parse::<Period>().is_err());
        assert_eq!(
            Period::last_month(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()).to_string(),
            "2026-11"
        );
    }

    #[test]
    fn every_known_country_has_exactly_one_origin_group() {
        for country in outreach_core::model::Country::all() {
            let groups = ORIGIN_GROUPS
                .iter()
                .filter(|(_, codes)| codes.split(' ').any(|c| c == country.as_str()))
                .count();
            assert_eq!(groups, 1, "{country} is in {groups} groups");
        }
        assert_eq!(OriginGroup::of("ER"), OriginGroup::EasternAfrica);
        assert_eq!(OriginGroup::of("BE"), OriginGroup::EuropeanUnion);
    }

    #[test]
    fn dimensions_are_checked() {
        let spec = |dims: &[&str]| TableSpec {
            dims: dims.iter().map(|d| d.parse().unwrap()).collect(),
            period: "2026-11".parse().unwrap(),
            measure: Measure::People,
            protection: Protection::default(),
        };
        assert!(spec(&["theme"]).check().is_ok());
        assert!(spec(&["org", "theme"]).check().is_ok());
        assert!(spec(&["age", "gender"]).check().is_err());
        assert!(spec(&["origin", "municipality"]).check().is_err());
        assert!(spec(&["brochure", "referral_partner"]).check().is_err());
        assert!(spec(&["theme", "theme"]).check().is_err());
        assert_eq!(
            spec(&["brochure", "language"]).check().unwrap().1,
            Measure::Copies
        );
        assert!("nothing".parse::<Dim>().is_err());
    }
}
