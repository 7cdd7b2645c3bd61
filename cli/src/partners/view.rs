//! How partners are shown: the search table, the full entry, conflicts and field history.

use std::io;

use chrono::NaiveDate;
use outreach_core::doc::{FieldChange, FieldConflict};
use outreach_core::model::{
    DeviceId, HoursException, Location, Partner, PartnerId, PartnerStatus, Service, WeeklyHours,
};
use outreach_core::store::{Entry, PartnerSummary, StaleEntry};

use crate::output::{list, or_dash, time, truncate, Out, Table};

/// Writes search results as a table, with a distance column when a point was given.
pub fn search_results(out: Out<'_>, found: &[PartnerSummary], with_distance: bool) -> io::Result<()> {
    if found.is_empty() {
        return writeln!(out, "No partner found.");
    }
    let mut headers = vec!["ID", "NAME", "MUNICIPALITIES", "THEMES", "PHONE", "VERIFIED", "!"];
    if with_distance {
        headers.push("KM");
    }
    let mut table = Table::new(&headers);
    if with_distance {
        table = table.align_right(headers.len() - 1);
    }
    for p in found {
        let mut name = p.name.clone();
        if p.status != PartnerStatus::Active {
            name.push_str(&format!(" ({})", p.status));
        }
        let mut row = vec![
            p.id.to_string(),
            truncate(&name, 40),
            truncate(&list(&p.municipalities), 30),
            truncate(&list(&p.themes), 40),
            p.phone.clone().unwrap_or_else(|| "-".into()),
            p.verified_on.map_or_else(|| "never".into(), |d| d.to_string()),
            String::from(if p.has_conflicts { "!" } else { "" }),
        ];
        if with_distance {
            row.push(p.distance_km.map_or_else(|| "-".into(), |km| format!("{km:.1}")));
        }
        table.row(row);
    }
    table.write(out)?;
    if found.iter().any(|p| p.has_conflicts) {
        writeln!(
            out,
            "! some fields hold concurrent values: see `outreach partners conflicts ID`"
        )?;
    }
    Ok(())
}

/// Writes `label: value` with labels aligned.
fn field(out: Out<'_>, indent: usize, label: &str, value: impl std::fmt::Display) -> io::Result<()> {
    writeln!(out, "{:indent$}{:<13}{value}", "", format!("{label}:"))
}

/// Writes a partner's full entry; `conflicts` is the number of fields holding concurrent values.
pub fn partner(out: Out<'_>, p: &Partner, conflicts: usize, today: NaiveDate) -> io::Result<()> {
    match &p.alternate_name {
        Some(alt) => writeln!(out, "{} ({alt})", p.name)?,
        None => writeln!(out, "{}", p.name)?,
    }
    field(out, 0, "id", p.id)?;
    field(out, 0, "kind", p.kind)?;
    field(out, 0, "status", p.status)?;
    field(out, 0, "region", p.region)?;
    field(out, 0, "serves", list(&p.regions_served))?;
    field(out, 0, "themes", list(p.all_themes()))?;
    field(out, 0, "languages", list(p.all_languages()))?;
    let phones = p.phones.iter().map(|ph| match &ph.label {
        Some(label) => format!("{} ({label})", ph.number),
        None => ph.number.clone(),
    });
    field(out, 0, "phones", list(phones))?;
    field(out, 0, "email", p.email.as_deref().unwrap_or("-"))?;
    field(out, 0, "website", p.website.as_deref().unwrap_or("-"))?;
    field(out, 0, "verified", freshness(p, today))?;
    if let Some(notes) = &p.worker_notes {
        field(out, 0, "notes", notes)?;
    }
    if conflicts > 0 {
        let s = if conflicts == 1 { "" } else { "s" };
        field(
            out,
            0,
            "conflicts",
            format!(
                "{conflicts} field{s} with concurrent values: see `outreach partners conflicts {}`",
                p.id
            ),
        )?;
    }
    if !p.description.is_empty() {
        writeln!(out, "description:")?;
        for (lang, text) in &p.description {
            writeln!(out, "  [{lang}] {text}")?;
        }
    }
    if !p.services.is_empty() {
        writeln!(out, "services:")?;
        for s in p.services.values() {
            service(out, s)?;
        }
    }
    if !p.locations.is_empty() {
        writeln!(out, "offices:")?;
        for l in p.locations.values() {
            location(out, l)?;
        }
    }
    Ok(())
}

/// Entries that need checking, oldest first, each with the id `partners verify` takes.
pub fn stale(out: Out<'_>, entries: &[StaleEntry]) -> io::Result<()> {
    let mut table = Table::new(&["ID", "WHAT", "PARTNER", "ENTRY", "VERIFIED", "DAYS AGO"]).align_right(5);
    for e in entries {
        let (id, what) = match e.entry {
            Entry::Partner => (e.partner.to_string(), "partner"),
            Entry::Location { id } => (id.to_string(), "office"),
            Entry::Service { id } => (id.to_string(), "service"),
        };
        table.row(vec![
            id,
            what.to_string(),
            truncate(&e.partner_name, 30),
            truncate(&e.label, 40),
            e.verified_on.map_or_else(|| "never".into(), |d| d.to_string()),
            e.verified_days_ago.map_or_else(|| "-".into(), |d| d.to_string()),
        ]);
    }
    table.write(out)
}

/// When the entry was last checked, and how long ago.
fn freshness(p: &Partner, today: NaiveDate) -> String {
    let Some(on) = p.verified_on else {
        return "never".into();
    };
    let by = p
        .verified_by
        .as_deref()
        .map(|b| format!(" by {b}"))
        .unwrap_or_default();
    let age = match (today - on).num_days() {
        d if d < 0 => "in the future".to_owned(),
        0 => "today".to_owned(),
        1 => "1 day ago".to_owned(),
        d => format!("{d} days ago"),
    };
    format!("{on}{by} ({age})")
}

fn service(out: Out<'_>, s: &Service) -> io::Result<()> {
    if s.status == PartnerStatus::Active {
        writeln!(out, "  - {}", s.name)?;
    } else {
        writeln!(out, "  - {} ({})", s.name, s.status)?;
    }
    field(out, 4, "id", s.id)?;
    field(out, 4, "themes", list(&s.themes))?;
    field(out, 4, "languages", list(&s.languages))?;
    for (label, value) in [
        ("eligibility", &s.eligibility),
        ("fees", &s.fees),
        ("how to apply", &s.how_to_apply),
    ] {
        if let Some(v) = value {
            field(out, 4, label, v)?;
        }
    }
    if !s.schedule.is_empty() {
        field(out, 4, "schedule", hours_text(&s.schedule))?;
    }
    exceptions(out, &s.exceptions)?;
    for (lang, text) in &s.description {
        writeln!(out, "    [{lang}] {text}")?;
    }
    Ok(())
}

fn location(out: Out<'_>, l: &Location) -> io::Result<()> {
    let street = l.street.as_deref().map(|s| format!("{s}, ")).unwrap_or_default();
    let name = l.name.as_deref().map(|n| format!("{n}: ")).unwrap_or_default();
    let status = match l.status {
        PartnerStatus::Active => String::new(),
        other => format!(" [{other}]"),
    };
    writeln!(
        out,
        "  - {name}{street}{} {} ({}){status}",
        l.postcode, l.municipality, l.province
    )?;
    field(out, 4, "id", l.id)?;
    field(out, 4, "hours", hours_text(&l.hours))?;
    exceptions(out, &l.exceptions)?;
    if let (Some(lat), Some(lon)) = (l.latitude, l.longitude) {
        field(out, 4, "coordinates", format!("{lat:.5}, {lon:.5}"))?;
    }
    if let Some(a) = &l.accessibility {
        field(out, 4, "access", a)?;
    }
    Ok(())
}

/// Opening hours with runs of days sharing their ranges grouped (`mon-fri 09:00-12:00`), in
/// the form `--hours` reads.
fn hours_text(hours: &WeeklyHours) -> String {
    hours.to_string()
}

/// A place's dated exceptions, as `--closed` and `--special` read them.
fn exceptions(out: Out<'_>, list: &[HoursException]) -> io::Result<()> {
    for e in list {
        field(out, 4, "exception", e)?;
    }
    Ok(())
}

/// A partner and its fields holding concurrent values.
#[derive(Debug)]
pub struct Conflicted {
    /// The partner's name.
    pub name: String,
    /// The partner's id.
    pub id: PartnerId,
    /// Its conflicting fields.
    pub fields: Vec<FieldConflict>,
}

/// Writes each partner's conflicting fields, the value shown by default marked with `>`.
pub fn conflicts(out: Out<'_>, partners: &[Conflicted], this: DeviceId) -> io::Result<()> {
    let partners: Vec<&Conflicted> = partners.iter().filter(|p| !p.fields.is_empty()).collect();
    if partners.is_empty() {
        return writeln!(out, "No conflicting values.");
    }
    for p in partners {
        writeln!(out, "{} ({})", p.name, p.id)?;
        for field in &p.fields {
            writeln!(out, "  {}", field.path)?;
            let mut table = Table::new(&["", "VALUE", "DEVICE", "TIME"]).indented(4);
            for (i, v) in field.values.iter().enumerate() {
                let mark = if i == 0 { ">" } else { "" };
                table.row(vec![
                    mark.into(),
                    v.value.clone(),
                    crate::output::device(v.author, v.by.as_ref(), this),
                    time(v.time),
                ]);
            }
            table.write(out)?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "> is the value shown; setting the field again settles the conflict"
    )
}

/// The value a change wrote, as shown: a write that replaced concurrent values says so.
fn written(c: &FieldChange) -> String {
    let value = c.value.clone().map_or_else(|| "(removed)".to_owned(), or_dash);
    if c.settles_conflict {
        format!("{value} (settles a conflict)")
    } else {
        value
    }
}

/// Writes the history of one field, oldest first.
pub fn history(out: Out<'_>, field: &str, changes: &[FieldChange], this: DeviceId) -> io::Result<()> {
    if changes.is_empty() {
        return writeln!(out, "No change recorded for {field}.");
    }
    let mut table = Table::new(&["TIME", "DEVICE", "KEY", "VALUE"]);
    for c in changes {
        table.row(vec![
            time(c.time),
            crate::output::device(c.author, c.by.as_ref(), this),
            c.key.clone(),
            written(c),
        ]);
    }
    table.write(out)
}

/// Writes every change to a partner, newest first.
pub fn changes(out: Out<'_>, changes: &[FieldChange], this: DeviceId) -> io::Result<()> {
    let mut table = Table::new(&["TIME", "DEVICE", "FIELD", "KEY", "VALUE"]);
    for c in changes {
        let own = c.field.rsplit('.').next() == Some(c.key.as_str());
        let key = if own { String::new() } else { c.key.clone() };
        table.row(vec![
            time(c.time),
            crate::output::device(c.author, c.by.as_ref(), this),
            c.field.clone(),
            or_dash(key),
            written(c),
        ]);
    }
    table.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_group_runs_of_equal_days() {
        let text = "mon-wed 09:00-12:00,13:00-16:00; fri 09:00-12:00,13:00-16:00; sat-sun 20:00-08:00";
        let hours: WeeklyHours = text.parse().unwrap();
        assert_eq!(hours_text(&hours), text);
        assert_eq!(hours_text(&WeeklyHours::closed()), "closed");
    }
}
