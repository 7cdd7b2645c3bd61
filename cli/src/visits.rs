//! `outreach visits`: this device's anonymised visit log. Notes are checked for personal data
//! by the core; a refused note is reported by kind and position, never echoed.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt::Display;

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use outreach_core::model::{
    Activity, AgeBand, BrochureId, Country, Gender, Lang, PartOfDay, Referral, Setting, Theme, Visit,
    VisitDetails, VisitId,
};
use outreach_core::privacy::PersonalDataSpan;
use outreach_core::store::VisitQuery;
use outreach_core::sync::protocol::OrgReport;
use outreach_core::Store;

use crate::error::{CliError, CliResult};
use crate::output::{self, list, Out, Table};
use crate::parse::{self, code, counted, vocab};

/// Commands on this device's visits.
#[derive(Debug, Subcommand)]
pub enum VisitsCommand {
    /// Log a visit; prints its id
    Log(Box<LogArgs>),
    /// Amend one of this device's visits
    ///
    /// What is not given keeps its stored value; a repeated flag (--theme, --gender...) that is
    /// given replaces the whole stored set. The date must stay in the same month.
    Amend(Box<AmendArgs>),
    /// List this device's visits, newest first
    List {
        /// First day included
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse::date)]
        from: Option<NaiveDate>,
        /// Last day included
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse::date)]
        to: Option<NaiveDate>,
        /// Most visits to list
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Print the visits as JSON
        #[arg(long)]
        json: bool,
    },
    /// Count visits and people reached per month, overall and per theme
    Stats {
        /// Show the figures the hub published about this device's organisation instead (a
        /// coordinator's device, as of its last sync)
        #[arg(long)]
        org: bool,
        /// Print the counts as JSON
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `visits log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Day of the visit [default: today]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse::date)]
    date: Option<NaiveDate>,
    /// Part of the day
    #[arg(long, value_parser = code::<PartOfDay>())]
    part: PartOfDay,
    /// Postcode of the municipality
    #[arg(long, value_parser = parse::postcode)]
    postcode: u16,
    /// Municipality (never a more precise place)
    #[arg(long)]
    municipality: String,
    /// Kind of place
    #[arg(long, value_parser = code::<Setting>())]
    setting: Setting,
    /// Kind of outreach
    #[arg(long, value_parser = code::<Activity>())]
    activity: Activity,
    /// People reached, 1 to 500
    #[arg(long, value_name = "N")]
    people: u32,
    /// Someone should follow up
    #[arg(long)]
    follow_up: bool,
    #[command(flatten)]
    more: Optional,
}

/// Arguments of `visits amend`.
#[derive(Debug, Args)]
pub struct AmendArgs {
    /// The visit's id
    id: VisitId,
    /// New day, in the same month
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse::date)]
    date: Option<NaiveDate>,
    /// New part of the day
    #[arg(long, value_parser = code::<PartOfDay>())]
    part: Option<PartOfDay>,
    /// New postcode
    #[arg(long, value_parser = parse::postcode)]
    postcode: Option<u16>,
    /// New municipality
    #[arg(long)]
    municipality: Option<String>,
    /// New kind of place
    #[arg(long, value_parser = code::<Setting>())]
    setting: Option<Setting>,
    /// New kind of outreach
    #[arg(long, value_parser = code::<Activity>())]
    activity: Option<Activity>,
    /// New number of people reached
    #[arg(long, value_name = "N")]
    people: Option<u32>,
    /// Someone should follow up
    #[arg(long, conflicts_with = "no_follow_up")]
    follow_up: bool,
    /// No follow-up is needed
    #[arg(long)]
    no_follow_up: bool,
    /// Empty a field before the values given are applied (repeatable)
    #[arg(long, value_name = "FIELD", value_enum)]
    clear: Vec<Clearable>,
    #[command(flatten)]
    more: Optional,
}

/// Fields of a visit that `visits amend --clear` can empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Clearable {
    /// Themes discussed
    Themes,
    /// Languages used
    Languages,
    /// Counts by gender
    Gender,
    /// Counts by age band
    Age,
    /// Counts by country of origin
    Origins,
    /// Brochures given
    Brochures,
    /// Referrals made
    Referrals,
    /// The note
    Note,
}

/// The optional details of a visit. When amending, each repeated flag given replaces the whole
/// stored set.
#[derive(Debug, Args)]
#[command(next_help_heading = "Details")]
struct Optional {
    /// A theme discussed (repeatable)
    #[arg(long = "theme", value_name = "THEME", value_parser = code::<Theme>())]
    themes: Vec<Theme>,
    /// A language used (repeatable)
    #[arg(long = "language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    languages: Vec<Lang>,
    /// People by gender: female, male or other (repeatable)
    #[arg(long = "gender", value_name = "GENDER=N", value_parser = counted(vocab::<Gender>))]
    genders: Vec<(Gender, u32)>,
    /// People by age band: under_18, 18_25, 26_35, 36_50 or over_50 (repeatable)
    #[arg(long = "age", value_name = "BAND=N", value_parser = counted(vocab::<AgeBand>))]
    ages: Vec<(AgeBand, u32)>,
    /// People by country of origin, ISO code such as SY (repeatable)
    #[arg(long = "origin", value_name = "COUNTRY=N", value_parser = counted(parse::from_str::<Country>))]
    origins: Vec<(Country, u32)>,
    /// Copies of a brochure given (repeatable)
    #[arg(long = "brochure", value_name = "ID=N", value_parser = counted(parse::from_str::<BrochureId>))]
    brochures: Vec<(BrochureId, u32)>,
    /// A referral made, to a partner for a theme (repeatable)
    #[arg(long = "referral", value_name = "PARTNER_ID:THEME", value_parser = parse::referral)]
    referrals: Vec<Referral>,
    /// A short note without personal data (no names, phone numbers, e-mail addresses...)
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

impl Optional {
    /// Writes the values given into `d`; what is not given is left as it is.
    fn apply(self, d: &mut VisitDetails) -> CliResult {
        if !self.themes.is_empty() {
            d.themes = self.themes.into_iter().collect();
        }
        if !self.languages.is_empty() {
            d.languages = self.languages.into_iter().collect();
        }
        if !self.genders.is_empty() {
            d.by_gender = counts("--gender", self.genders)?;
        }
        if !self.ages.is_empty() {
            d.by_age = counts("--age", self.ages)?;
        }
        if !self.origins.is_empty() {
            d.origins = counts("--origin", self.origins)?;
        }
        if !self.brochures.is_empty() {
            d.brochures = counts("--brochure", self.brochures)?;
        }
        if !self.referrals.is_empty() {
            d.referrals = self.referrals.into_iter().collect();
        }
        if let Some(note) = self.note {
            d.note = note;
        }
        Ok(())
    }
}

/// Collects `KEY=N` counts, refusing a key given twice.
fn counts<K: Ord + Display>(flag: &str, pairs: Vec<(K, u32)>) -> CliResult<BTreeMap<K, u32>> {
    let mut map = BTreeMap::new();
    for (key, n) in pairs {
        match map.entry(key) {
            Entry::Vacant(e) => {
                e.insert(n);
            }
            Entry::Occupied(e) => return Err(CliError::msg(format!("{flag} {} is given twice", e.key()))),
        }
    }
    Ok(map)
}

/// Empties a field of `d`.
fn clear(d: &mut VisitDetails, field: Clearable) {
    match field {
        Clearable::Themes => d.themes.clear(),
        Clearable::Languages => d.languages.clear(),
        Clearable::Gender => d.by_gender.clear(),
        Clearable::Age => d.by_age.clear(),
        Clearable::Origins => d.origins.clear(),
        Clearable::Brochures => d.brochures.clear(),
        Clearable::Referrals => d.referrals.clear(),
        Clearable::Note => d.note.clear(),
    }
}

impl LogArgs {
    /// The visit described.
    fn into_details(self) -> CliResult<VisitDetails> {
        let date = self.date.unwrap_or_else(crate::today);
        let mut d = VisitDetails::new(
            date,
            self.part,
            self.postcode,
            self.municipality,
            self.setting,
            self.activity,
            self.people,
        );
        d.follow_up = self.follow_up;
        self.more.apply(&mut d)?;
        Ok(d)
    }
}

impl AmendArgs {
    /// `d` with the changes given.
    fn amend(self, d: &mut VisitDetails) -> CliResult {
        if let Some(date) = self.date {
            d.date = date;
        }
        if let Some(part) = self.part {
            d.part_of_day = part;
        }
        if let Some(postcode) = self.postcode {
            d.postcode = postcode;
        }
        if let Some(municipality) = self.municipality {
            d.municipality = municipality;
        }
        if let Some(setting) = self.setting {
            d.setting = setting;
        }
        if let Some(activity) = self.activity {
            d.activity = activity;
        }
        if let Some(people) = self.people {
            d.people_reached = people;
        }
        if self.follow_up || self.no_follow_up {
            d.follow_up = self.follow_up;
        }
        for field in self.clear {
            clear(d, field);
        }
        self.more.apply(d)
    }
}

/// Turns the core's refusal of a note into a message that says where the personal data is, in
/// characters counted from 1, without repeating it.
fn refused_note(e: outreach_core::Error, note: &str) -> CliError {
    match e {
        outreach_core::Error::PersonalData(spans) => CliError::msg(format!(
            "the note contains personal data, nothing was stored: {}",
            describe_spans(&spans, note)
        )),
        other => other.into(),
    }
}

fn describe_spans(spans: &[PersonalDataSpan], note: &str) -> String {
    let chars_before = |byte: usize| note.char_indices().take_while(|(i, _)| *i < byte).count();
    spans
        .iter()
        .map(|s| {
            let kind = s.kind.to_string().replace('_', " ");
            format!(
                "{kind} at characters {}-{}",
                chars_before(s.start) + 1,
                chars_before(s.end)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a `visits` command on `store`.
pub fn run(command: VisitsCommand, store: &Store, out: Out<'_>) -> CliResult {
    match command {
        VisitsCommand::Log(args) => {
            let details = args.into_details()?;
            let id = store
                .log_visit(&details)
                .map_err(|e| refused_note(e, &details.note))?;
            writeln!(out, "{id}")?;
        }
        VisitsCommand::Amend(args) => {
            let id = args.id;
            let mut details = store.visit(id)?.details;
            args.amend(&mut details)?;
            store
                .amend_visit(id, &details)
                .map_err(|e| refused_note(e, &details.note))?;
        }
        VisitsCommand::List {
            from,
            to,
            limit,
            json,
        } => {
            let limit = limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
            let visits = store.visits(&VisitQuery { from, to, limit })?;
            if json {
                output::json(out, serde_json::to_string_pretty(&visits))?;
            } else {
                visit_table(out, &visits)?;
            }
        }
        VisitsCommand::Stats { org: true, json } => {
            let report = store.org_report()?;
            if json {
                output::json(out, serde_json::to_string_pretty(&report))?;
            } else {
                org_report(out, report.as_ref())?;
            }
        }
        VisitsCommand::Stats { org: false, json } => {
            let counts = store.visit_counts()?;
            if json {
                output::json(out, serde_json::to_string_pretty(&counts))?;
            } else if counts.is_empty() {
                writeln!(out, "No visit logged yet.")?;
            } else {
                let mut table = Table::new(&["MONTH", "THEME", "VISITS", "PEOPLE"])
                    .align_right(2)
                    .align_right(3);
                for c in &counts {
                    let theme = c.theme.map_or_else(|| "(all)".to_owned(), |t| format!("  {t}"));
                    table.row(vec![
                        c.month.to_string(),
                        theme,
                        c.visits.to_string(),
                        c.people.to_string(),
                    ]);
                }
                table.write(out)?;
            }
        }
    }
    Ok(())
}

/// The organisation's report, table by table: a heading with the period, the dimension and
/// what is counted, then one line per value; `x` for a suppressed count.
fn org_report(out: Out<'_>, report: Option<&OrgReport>) -> CliResult {
    let Some(report) = report else {
        writeln!(
            out,
            "No report yet: the hub sends its published figures to coordinators' devices when they sync."
        )?;
        return Ok(());
    };
    if report.tables.is_empty() {
        writeln!(
            out,
            "The hub has published no figures about {} yet.",
            report.organisation
        )?;
        return Ok(());
    }
    let count = |c: Option<i64>| c.map_or_else(|| "x".to_owned(), |n| n.to_string());
    writeln!(out, "Published figures of {}", report.organisation)?;
    for t in &report.tables {
        let by = t
            .dimension
            .as_deref()
            .map(|d| format!(" by {d}"))
            .unwrap_or_default();
        writeln!(out)?;
        writeln!(out, "{} · {}{by} · release {}", t.period, t.measure, t.release)?;
        let mut table = Table::new(&[
            t.dimension.as_deref().unwrap_or("").to_uppercase().as_str(),
            "COUNT",
        ])
        .align_right(1);
        for r in &t.rows {
            table.row(vec![format!("  {}", r.value), count(r.count)]);
        }
        table.row(vec!["(all)".to_owned(), count(t.total)]);
        table.write(out)?;
        if !t.rows_add_up {
            writeln!(out, "  (the rows overlap: they do not add up to the total)")?;
        }
    }
    writeln!(
        out,
        "\nx: not published (fewer than {} people, or it would let a reader work out such a count).",
        report.tables[0].threshold
    )?;
    Ok(())
}

fn visit_table(out: Out<'_>, visits: &[Visit]) -> CliResult {
    if visits.is_empty() {
        writeln!(out, "No visit found.")?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "ID",
        "DATE",
        "PART",
        "PLACE",
        "SETTING",
        "ACTIVITY",
        "PEOPLE",
        "THEMES",
        "FOLLOW-UP",
    ])
    .align_right(6);
    for v in visits {
        let d = &v.details;
        table.row(vec![
            v.id.to_string(),
            d.date.to_string(),
            d.part_of_day.to_string(),
            format!("{} {}", d.postcode, d.municipality),
            d.setting.to_string(),
            d.activity.to_string(),
            d.people_reached.to_string(),
            output::truncate(&list(&d.themes), 40),
            if d.follow_up { "yes".into() } else { String::new() },
        ]);
    }
    table.write(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use outreach_core::privacy::scan_note;

    #[test]
    fn spans_are_reported_in_characters_from_one() {
        let note = "déjà vu, call back on 0470 12 34 56";
        let spans = scan_note(note);
        assert!(!spans.is_empty());
        let text = describe_spans(&spans, note);
        let start = note.find("0470").map(|b| note[..b].chars().count() + 1).unwrap();
        assert!(
            text.starts_with(&format!("phone number at characters {start}-")),
            "{text}"
        );
        assert!(!text.contains("0470"));
    }

    #[test]
    fn a_count_given_twice_is_refused() {
        assert!(counts("--gender", vec![(Gender::Female, 1), (Gender::Male, 2)]).is_ok());
        let err = counts("--gender", vec![(Gender::Female, 1), (Gender::Female, 2)]).unwrap_err();
        assert_eq!(err.to_string(), "--gender female is given twice");
    }
}
