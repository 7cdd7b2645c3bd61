//! Disclosure control for published tables of person counts: primary suppression of small
//! counts, then complementary suppression chosen so that no suppressed cell can be narrowed,
//! from what the table publishes, to an interval narrower than the protection level.
//!
//! A table is a set of cells tied by additive relations, each a list of parts and the total
//! they add up to: a one-way table is its cells and their total; a two-way table its cells, its
//! row margins, its column margins and the grand total. A reader who knows every published cell
//! and every relation (and that no count is negative) can bound a suppressed cell by two linear
//! programmes, its minimum and its maximum; [`System::range`] solves them, and [`protect`]
//! suppresses more cells until the width of every suppressed cell's range (`max - min`) is at
//! least the protection level. Suppressing every cell always succeeds (each range is then
//! unbounded above), so [`protect`] ends.
//!
//! The same [`System`] holds several releases of a table side by side (their cells distinct,
//! their relations their own), so that a later release can be checked against an earlier one:
//! what a reader learns by combining them is bounded by the same programmes, over the cells of
//! both and any difference between them.

use microlp::{ComparisonOp, OptimizationDirection, Problem};
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Cells with a count below this are never published as such (the threshold `k`); a network
/// may raise it, never lower it.
pub const MIN_THRESHOLD: u64 = 5;

/// The rules a publication follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    /// Person counts from 1 to `threshold - 1` are suppressed (primary suppression).
    pub threshold: u64,
    /// The narrowest interval a reader may infer for a suppressed cell, in persons.
    pub level: u64,
}

impl Default for Protection {
    fn default() -> Self {
        Protection {
            threshold: MIN_THRESHOLD,
            level: MIN_THRESHOLD,
        }
    }
}

impl Protection {
    /// Rules with threshold `k` (at least [`MIN_THRESHOLD`]) and a protection level of `k`.
    pub fn with_threshold(k: u64) -> Option<Protection> {
        (k >= MIN_THRESHOLD).then_some(Protection {
            threshold: k,
            level: k,
        })
    }

    /// Whether a count must be suppressed for its own sake.
    pub fn is_sensitive(&self, count: u64) -> bool {
        count > 0 && count < self.threshold
    }
}

/// How the parts of a relation make its total (indexes of cells).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// The parts.
    pub parts: Vec<usize>,
    /// The total.
    pub total: usize,
    /// Whether the parts add up to the total, or only cover it.
    pub kind: Kind,
}

/// How parts make a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The parts add up to the total: people counted once each (by organisation, by month).
    Sum,
    /// The parts overlap: a person may count in several (a visit about two themes), so each
    /// part is at most the total and the total at most their sum.
    Cover,
}

impl Relation {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts.iter().copied().chain([self.total])
    }
}

/// Cells, their true counts, which are published, and the relations between them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    /// The true count of each cell.
    pub values: Vec<u64>,
    /// Whether each cell is published (else suppressed).
    pub published: Vec<bool>,
    /// The additive relations a reader knows.
    pub relations: Vec<Relation>,
    /// Pairs `(a, b)` a reader knows to satisfy `a <= b` (a count of an earlier release and the
    /// same count later, when counts only grew).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ordered: Vec<(usize, usize)>,
    /// Cells whose publication another table decides (the margins of a two-way table are the
    /// cells of the one-way tables of its dimensions, its grand total theirs): never hidden to
    /// protect another cell, so that the same count is published, or hidden, everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<bool>,
}

/// What a reader can infer of a suppressed quantity: it lies in `low..=high` (`high` `None`
/// when unbounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The smallest value consistent with the publication.
    pub low: f64,
    /// The largest, or `None` when there is none.
    pub high: Option<f64>,
}

impl Range {
    /// `high - low`, infinite when unbounded.
    pub fn width(&self) -> f64 {
        self.high.map_or(f64::INFINITY, |h| h - self.low)
    }
}

/// The audit did not find a publication that protects every hidden count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A linear programme could not be solved: a bug or a publication inconsistent with its
    /// own relations, never a reason to publish.
    #[error("the disclosure audit could not be solved: {0}")]
    Solver(String),
    /// Nothing more may be hidden and a hidden count is still exposed: its margins are
    /// published by other tables, or, for a later release, by the earlier ones.
    #[error(
        "this table cannot be published without revealing a small count (its margins are published \
         by other tables): ask for a coarser one, with fewer values or a longer period"
    )]
    Unprotectable,
}

/// Tolerance on the solver's floating-point answers, far below one person.
const EPSILON: f64 = 1e-6;

impl System {
    /// A one-way table whose cells add up to their total: `cells`, then the total (index
    /// `cells.len()`).
    pub fn one_way(cells: &[u64]) -> System {
        System::one_way_with(cells, cells.iter().sum(), Kind::Sum)
    }

    /// A one-way table: `cells`, then `total` (index `cells.len()`), made as `kind` says.
    pub fn one_way_with(cells: &[u64], total: u64, kind: Kind) -> System {
        let n = cells.len();
        let mut values = cells.to_vec();
        values.push(total);
        System {
            published: vec![true; n + 1],
            values,
            relations: vec![Relation {
                parts: (0..n).collect(),
                total: n,
                kind,
            }],
            ordered: Vec::new(),
            locked: vec![false; n + 1],
        }
    }

    /// A two-way table of `rows` (each of the same length) whose cells add up to their
    /// margins: its cells row by row, then the row margins, the column margins and the grand
    /// total; see [`TwoWay`] for the indexes.
    pub fn two_way(rows: &[Vec<u64>]) -> (System, TwoWay) {
        let c = rows.first().map_or(0, Vec::len);
        let row_margins: Vec<u64> = rows.iter().map(|row| row.iter().sum()).collect();
        let col_margins: Vec<u64> = (0..c).map(|j| rows.iter().map(|row| row[j]).sum()).collect();
        let total = row_margins.iter().sum();
        let margins = Margins {
            rows: row_margins,
            cols: col_margins,
            total,
        };
        System::two_way_with(rows, &margins, Kind::Sum, Kind::Sum)
    }

    /// A two-way table of `rows` with its `margins`; `across` says how the cells of a row
    /// make its margin (and the column margins the total), `down` how the cells of a column
    /// make its margin (and the row margins the total).
    pub fn two_way_with(rows: &[Vec<u64>], margins: &Margins, across: Kind, down: Kind) -> (System, TwoWay) {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        let shape = TwoWay { rows: r, cols: c };
        let mut values: Vec<u64> = rows.iter().flat_map(|row| row.iter().copied()).collect();
        values.extend(&margins.rows);
        values.extend(&margins.cols);
        values.push(margins.total);
        let mut relations = Vec::with_capacity(r + c + 2);
        for i in 0..r {
            relations.push(Relation {
                parts: (0..c).map(|j| shape.cell(i, j)).collect(),
                total: shape.row_margin(i),
                kind: across,
            });
        }
        for j in 0..c {
            relations.push(Relation {
                parts: (0..r).map(|i| shape.cell(i, j)).collect(),
                total: shape.col_margin(j),
                kind: down,
            });
        }
        relations.push(Relation {
            parts: (0..r).map(|i| shape.row_margin(i)).collect(),
            total: shape.total(),
            kind: down,
        });
        relations.push(Relation {
            parts: (0..c).map(|j| shape.col_margin(j)).collect(),
            total: shape.total(),
            kind: across,
        });
        let system = System {
            published: vec![true; values.len()],
            locked: vec![false; values.len()],
            values,
            relations,
            ordered: Vec::new(),
        };
        (system, shape)
    }

    /// Appends `other`'s cells and relations, renumbered after this system's; returns the
    /// offset of its cells.
    pub fn append(&mut self, other: &System) -> usize {
        let offset = self.values.len();
        self.values.extend(&other.values);
        self.published.extend(&other.published);
        self.relations.extend(other.relations.iter().map(|r| Relation {
            parts: r.parts.iter().map(|p| p + offset).collect(),
            total: r.total + offset,
            kind: r.kind,
        }));
        self.ordered
            .extend(other.ordered.iter().map(|(a, b)| (a + offset, b + offset)));
        self.locked.resize(offset, false);
        self.locked
            .extend((0..other.values.len()).map(|i| other.is_locked(i)));
        offset
    }

    /// The range of `sum(coefficient * cell)` over every assignment of the suppressed cells
    /// (non-negative, the published ones at their values) that satisfies the relations.
    pub fn range(&self, objective: &[(usize, f64)]) -> Result<Range, AuditError> {
        let low = self.optimise(objective, OptimizationDirection::Minimize)?;
        let high = self.optimise(objective, OptimizationDirection::Maximize)?;
        Ok(Range {
            low: low.unwrap_or(f64::NEG_INFINITY),
            high,
        })
    }

    /// The range of one cell.
    pub fn cell_range(&self, cell: usize) -> Result<Range, AuditError> {
        self.range(&[(cell, 1.0)])
    }

    /// Minimum or maximum of the objective; `None` when unbounded.
    fn optimise(
        &self,
        objective: &[(usize, f64)],
        direction: OptimizationDirection,
    ) -> Result<Option<f64>, AuditError> {
        let mut constant = 0.0;
        let mut coefficient = vec![0.0; self.values.len()];
        for &(cell, c) in objective {
            if self.published[cell] {
                constant += c * self.values[cell] as f64;
            } else {
                coefficient[cell] += c;
            }
        }
        let mut problem = Problem::new(direction);
        // One variable per suppressed cell; the published ones are constants.
        let vars: Vec<Option<microlp::Variable>> = (0..self.values.len())
            .map(|i| (!self.published[i]).then(|| problem.add_var(coefficient[i], (0.0, f64::INFINITY))))
            .collect();
        // `sum(coefficient * cell) (op) 0` with the published cells moved to the right.
        let mut constrain = |cells: &[(usize, f64)], op: ComparisonOp| {
            let mut terms = Vec::new();
            let mut rhs = 0.0;
            for &(cell, c) in cells {
                match vars[cell] {
                    Some(v) => terms.push((v, c)),
                    None => rhs -= c * self.values[cell] as f64,
                }
            }
            if !terms.is_empty() {
                problem.add_constraint(terms.as_slice(), op, rhs);
            }
        };
        for &(a, b) in &self.ordered {
            constrain(&[(a, 1.0), (b, -1.0)], ComparisonOp::Le);
        }
        for relation in &self.relations {
            let mut sum: Vec<(usize, f64)> = relation.parts.iter().map(|&p| (p, 1.0)).collect();
            sum.push((relation.total, -1.0));
            match relation.kind {
                Kind::Sum => constrain(&sum, ComparisonOp::Eq),
                Kind::Cover => {
                    constrain(&sum, ComparisonOp::Ge);
                    for &p in &relation.parts {
                        constrain(&[(p, 1.0), (relation.total, -1.0)], ComparisonOp::Le);
                    }
                }
            }
        }
        match problem.solve() {
            Ok(microlp::SolveOutcome::Solution(solution)) => Ok(Some(solution.objective() + constant)),
            Ok(microlp::SolveOutcome::Interrupted(_)) => Err(AuditError::Solver("interrupted".into())),
            Err(microlp::Error::Unbounded) => Ok(None),
            Err(e) => Err(AuditError::Solver(e.to_string())),
        }
    }

    /// Whether another table decides the publication of `cell`.
    pub fn is_locked(&self, cell: usize) -> bool {
        self.locked.get(cell).copied().unwrap_or(false)
    }

    /// Whether `cell` is known to be 0 whatever is hidden: a part of a published total of 0.
    fn structurally_zero(&self, cell: usize) -> bool {
        self.relations
            .iter()
            .any(|r| r.parts.contains(&cell) && self.published[r.total] && self.values[r.total] == 0)
    }

    /// Whether `cell` may be hidden to protect another: published, not locked, and not a
    /// count everyone knows to be 0.
    fn may_hide(&self, cell: usize) -> bool {
        self.published[cell] && !self.is_locked(cell) && !self.structurally_zero(cell)
    }

    /// The suppressed cells whose range is narrower than `level`.
    pub fn exposed(&self, level: u64) -> Result<Vec<usize>, AuditError> {
        let mut out = Vec::new();
        for cell in (0..self.values.len()).filter(|&c| !self.published[c]) {
            if self.cell_range(cell)?.width() + EPSILON < level as f64 {
                out.push(cell);
            }
        }
        Ok(out)
    }

    /// The first suppressed cell, not in `safe`, whose range is narrower than `level`; the
    /// cells found wide enough on the way join `safe`. Suppressing more cells only widens
    /// ranges (a published constant becomes one more unknown), so a cell once safe stays so.
    fn first_exposed(&self, level: u64, safe: &mut BTreeSet<usize>) -> Result<Option<usize>, AuditError> {
        for cell in (0..self.values.len()).filter(|&c| !self.published[c]) {
            if safe.contains(&cell) {
                continue;
            }
            if self.cell_range(cell)?.width() + EPSILON < level as f64 {
                return Ok(Some(cell));
            }
            safe.insert(cell);
        }
        Ok(None)
    }
}

/// The margins of a two-way table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Margins {
    /// One per row.
    pub rows: Vec<u64>,
    /// One per column.
    pub cols: Vec<u64>,
    /// The grand total.
    pub total: u64,
}

/// Where the cells of a two-way table are in its [`System`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoWay {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
}

impl TwoWay {
    /// The cell of row `i`, column `j`.
    pub fn cell(&self, i: usize, j: usize) -> usize {
        i * self.cols + j
    }

    /// The margin of row `i`.
    pub fn row_margin(&self, i: usize) -> usize {
        self.rows * self.cols + i
    }

    /// The margin of column `j`.
    pub fn col_margin(&self, j: usize) -> usize {
        self.rows * self.cols + self.rows + j
    }

    /// The grand total.
    pub fn total(&self) -> usize {
        self.rows * self.cols + self.rows + self.cols
    }
}

/// Suppresses the sensitive cells of `system` (those of `cells`, or every cell) and then as
/// few others as it can, until no suppressed cell is exposed; cells already suppressed stay so.
///
/// The complementary cells are chosen in two passes. First, every relation that has exactly one
/// suppressed member gets a second, as otherwise the one is its total minus the others; then,
/// while the audit finds an exposed cell, a cell of one of its relations is suppressed. Each
/// choice is a part rather than a total when one is left, and the smallest count that is at
/// least the protection level (else the largest): enough to hide the cell, and as little as
/// that of what the table says.
pub fn protect(system: &mut System, protection: Protection) -> Result<(), AuditError> {
    for i in 0..system.values.len() {
        if protection.is_sensitive(system.values[i]) {
            system.published[i] = false;
        }
    }
    let mut safe = BTreeSet::new();
    loop {
        pair_alone_cells(system, protection);
        let Some(cell) = system.first_exposed(protection.level, &mut safe)? else {
            return Ok(());
        };
        let candidates: Vec<usize> = system
            .relations
            .iter()
            .filter(|r| r.members().any(|m| m == cell))
            .flat_map(|r| candidates(system, r))
            .collect();
        let choice = best(system, &candidates, protection)
            .or_else(|| (0..system.values.len()).find(|&c| system.may_hide(c)));
        match choice {
            Some(c) => system.published[c] = false,
            None => return Err(AuditError::Unprotectable),
        }
    }
}

/// A cell's place in a table, by its labels, the same in every release of the table (`None`
/// for a margin): what ties a count of one release to the same count in another.
pub type Key = (Option<String>, Option<String>);

/// An earlier release of a table: its cells' keys and its system as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The key of each cell of `system`.
    pub keys: Vec<Key>,
    /// The true counts, what was published, and the relations.
    pub system: System,
    /// The threshold it was published under.
    #[serde(default)]
    pub threshold: u64,
    /// The protection level it was published under.
    #[serde(default)]
    pub level: u64,
}

/// Suppresses cells of `new` (already [`protect`]ed alone) until combining it with every
/// `earlier` release of the same table narrows nothing below the protection level: neither a
/// cell suppressed in any release nor the difference between two releases of a cell that
/// changed by 1 to k − 1 (a late visit of a few people). A reader is assumed to know which
/// cells are the same (their keys) and, when every count only grew, that too.
pub fn protect_release(
    new: &mut Release,
    earlier: &[Release],
    protection: Protection,
) -> Result<(), AuditError> {
    loop {
        protect(&mut new.system, protection)?;
        let Some(cell) = first_exposed_across(new, earlier, protection)? else {
            return Ok(());
        };
        // Hide the new count itself if it is published (even a margin another table decides:
        // that table sees the same change, and hides it too), else a published cell beside it.
        let choice = if new.system.published[cell] && !new.system.structurally_zero(cell) {
            Some(cell)
        } else {
            let near: Vec<usize> = new
                .system
                .relations
                .iter()
                .filter(|r| r.members().any(|m| m == cell))
                .flat_map(|r| candidates(&new.system, r))
                .collect();
            best(&new.system, &near, protection)
                .or_else(|| (0..new.system.values.len()).find(|&c| new.system.may_hide(c)))
        };
        match choice {
            Some(c) => new.system.published[c] = false,
            None => return Err(AuditError::Unprotectable),
        }
    }
}

/// The first cell of `new` (by index) behind an exposure when it is combined with `earlier`.
fn first_exposed_across(
    new: &Release,
    earlier: &[Release],
    protection: Protection,
) -> Result<Option<usize>, AuditError> {
    let mut all = System::default();
    let mut offsets = Vec::new();
    for release in earlier {
        offsets.push(all.append(&release.system));
    }
    let base = all.append(&new.system);
    let new_index: BTreeMap<&Key, usize> = new.keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    // The same count in an earlier release and in the new one.
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new(); // (earlier cell in `all`, new cell in `new`, new cell in `all`)
    for (release, offset) in earlier.iter().zip(&offsets) {
        for (i, key) in release.keys.iter().enumerate() {
            if let Some(&j) = new_index.get(key) {
                pairs.push((offset + i, j, base + j));
            }
        }
    }
    if pairs
        .iter()
        .all(|&(old, _, new)| all.values[old] <= all.values[new])
    {
        all.ordered = pairs.iter().map(|&(old, _, new)| (old, new)).collect();
    }
    let level = protection.level as f64 - EPSILON;
    for &(old, j, new_cell) in &pairs {
        let (a, b) = (all.values[old], all.values[new_cell]);
        if !all.published[old] && all.cell_range(old)?.width() < level {
            return Ok(Some(j));
        }
        if protection.is_sensitive(a.abs_diff(b))
            && all.range(&[(new_cell, 1.0), (old, -1.0)])?.width() < level
        {
            return Ok(Some(j));
        }
    }
    for j in (0..new.system.values.len()).filter(|&j| !new.system.published[j]) {
        if all.cell_range(base + j)?.width() < level {
            return Ok(Some(j));
        }
    }
    // Earlier cells without a counterpart in the new release.
    for (release, offset) in earlier.iter().zip(&offsets) {
        for i in (0..release.keys.len()).filter(|&i| !release.system.published[i]) {
            if !new_index.contains_key(&release.keys[i]) && all.cell_range(offset + i)?.width() < level {
                // No counterpart: hide the new total, which bounds it.
                return Ok(new_index.get(&(None, None)).copied());
            }
        }
    }
    Ok(None)
}

/// Gives every relation with a single suppressed member a second one.
fn pair_alone_cells(system: &mut System, protection: Protection) {
    let mut changed = true;
    while changed {
        changed = false;
        for r in 0..system.relations.len() {
            let relation = &system.relations[r];
            // A part alone in a cover is not its total minus the others: the audit decides.
            let alone = relation.members().filter(|&m| !system.published[m]).count() == 1;
            if relation.kind != Kind::Sum || !alone {
                continue;
            }
            let found = candidates(system, relation);
            if let Some(c) = best(system, &found, protection) {
                system.published[c] = false;
                changed = true;
            }
        }
    }
}

/// The published members of a relation, parts first, then its total.
fn candidates(system: &System, relation: &Relation) -> Vec<usize> {
    relation.members().filter(|&m| system.may_hide(m)).collect()
}

/// The cell to suppress among `candidates`: parts before totals, then the smallest count at
/// least the protection level, else the largest (an empty cell protects nothing).
fn best(system: &System, candidates: &[usize], protection: Protection) -> Option<usize> {
    let is_total = |c: usize| system.relations.iter().any(|r| r.total == c);
    let key = |&c: &usize| {
        let v = system.values[c];
        let enough = v >= protection.level;
        // Order: parts first, then cells that are enough (smallest first), then the largest.
        (is_total(c), !enough, if enough { v } else { u64::MAX - v })
    };
    candidates.iter().copied().min_by_key(|c| key(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(system: &System) -> Vec<Option<u64>> {
        (0..system.values.len())
            .map(|i| system.published[i].then_some(system.values[i]))
            .collect()
    }

    #[test]
    fn a_lone_small_cell_gets_a_partner_and_its_range_is_wide_enough() {
        let mut t = System::one_way(&[2, 40, 17]);
        protect(&mut t, Protection::default()).unwrap();
        assert_eq!(published(&t), vec![None, Some(40), None, Some(59)]);
        let r = t.cell_range(0).unwrap();
        assert_eq!((r.low, r.high), (0.0, Some(19.0)));
    }

    #[test]
    fn a_two_way_table_hides_every_small_cell_from_its_margins() {
        let (mut t, shape) = System::two_way(&[vec![1, 12, 30], vec![8, 2, 25], vec![14, 9, 3]]);
        protect(&mut t, Protection::default()).unwrap();
        for (i, row) in [[1, 12, 30], [8, 2, 25], [14, 9, 3]].iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if *v < 5 {
                    assert!(!t.published[shape.cell(i, j)], "cell {i},{j} is suppressed");
                }
            }
        }
        assert!(t.exposed(5).unwrap().is_empty());
        assert!(t.published[shape.total()], "the grand total stays published");
    }

    #[test]
    fn a_cell_next_to_an_empty_one_is_not_protected_by_it() {
        // Suppressing the 0 would leave the 3 exactly 3 (0 + 3 = 3).
        let mut t = System::one_way(&[3, 0, 50, 6]);
        protect(&mut t, Protection::default()).unwrap();
        assert!(t.exposed(5).unwrap().is_empty());
        assert!(!t.published[0]);
        assert!(t.cell_range(0).unwrap().width() >= 5.0);
    }

    #[test]
    fn a_small_part_of_a_cover_is_bounded_by_the_cover_only() {
        // Themes of visits overlap: 50 people, 40 about one theme, 17 about another.
        let mut t = System::one_way_with(&[2, 40, 17], 50, Kind::Cover);
        protect(&mut t, Protection::default()).unwrap();
        assert_eq!(published(&t), vec![None, Some(40), Some(17), Some(50)]);
        let r = t.cell_range(0).unwrap();
        assert_eq!((r.low, r.high), (0.0, Some(50.0)));
    }

    #[test]
    fn the_threshold_can_only_be_raised() {
        assert_eq!(Protection::with_threshold(4), None);
        assert_eq!(Protection::with_threshold(10).map(|p| p.level), Some(10));
    }

    #[test]
    fn two_releases_are_audited_together() {
        // The same one-way table before and after a single late person in the first cell: each
        // release alone looks protected, but their published totals differ by exactly one.
        let mut before = System::one_way(&[6, 40, 3]);
        protect(&mut before, Protection::default()).unwrap();
        let mut after = System::one_way(&[7, 40, 3]);
        protect(&mut after, Protection::default()).unwrap();
        let mut both = before.clone();
        let offset = both.append(&after);
        let total = 3;
        let late = both.range(&[(offset + total, 1.0), (total, -1.0)]).unwrap();
        assert_eq!((late.low, late.high), (1.0, Some(1.0)), "the difference is exact");
    }
}
