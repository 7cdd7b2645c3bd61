//! Queries on the read model: partner search with filters, partner detail, brochures in the
//! reader's languages, the device's visits and their monthly counts.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rusqlite::types::Value as SqlValue;
use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::index::PartnerSummary;
use super::Store;
use crate::error::{Error, Result};
use crate::model::{
    best_text, Audience, Brochure, BrochureFile, BrochureId, Lang, Month, Partner, PartnerId, Region, Theme,
    Visit, Weekday,
};
use crate::text::{fold, prefix_query};

/// Results returned when the query sets no limit.
pub const DEFAULT_LIMIT: u32 = 50;

/// A partner search. Every filter that is set must match; within `themes` and `languages` any
/// one listed value is enough.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartnerQuery {
    /// Free text in any language; accents ignored, each word matched as a prefix.
    pub text: Option<String>,
    /// Themes (of the partner or of one of its active services).
    pub themes: Vec<Theme>,
    /// Region served or where an office is.
    pub region: Option<Region>,
    /// A municipality name or a four-digit postcode of an office.
    pub place: Option<String>,
    /// Languages spoken.
    pub languages: Vec<Lang>,
    /// Open at this local date and time (active partners with an office open then).
    pub open_at: Option<NaiveDateTime>,
    /// Sort by distance from this point (latitude, longitude) first. Used for this query only:
    /// never stored.
    pub near: Option<(f64, f64)>,
    /// Also list inactive and defunct partners (hidden by default).
    pub include_closed: bool,
    /// Most results to return (default 50).
    pub limit: Option<u32>,
}

/// A brochure as shown to a worker in their languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BrochureView {
    /// Id.
    pub id: BrochureId,
    /// Title in the best available language.
    pub title: String,
    /// Language of the title.
    pub title_lang: Lang,
    /// Summary in the best available language.
    pub summary: Option<String>,
    /// Themes.
    pub themes: BTreeSet<Theme>,
    /// Audience.
    pub audience: BTreeSet<Audience>,
    /// The file in the best available language.
    pub file: Option<(Lang, BrochureFile)>,
    /// Version.
    pub version: i32,
    /// Last update.
    pub updated_on: NaiveDate,
}

/// What part of a partner's entry a [`StaleEntry`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The partner itself (its name, contacts, description).
    Partner,
    /// One of its offices.
    Location {
        /// The office.
        id: crate::model::LocationId,
    },
    /// One of its services.
    Service {
        /// The service.
        id: crate::model::ServiceId,
    },
}

/// Information that needs checking: a partner, an office or a service last verified long ago,
/// or never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StaleEntry {
    /// The partner.
    pub partner: PartnerId,
    /// Its name.
    pub partner_name: String,
    /// Which part of it.
    pub entry: Entry,
    /// That part as a person reads it: the partner's name, an office's address, a service's name.
    pub label: String,
    /// When it was last verified.
    pub verified_on: Option<NaiveDate>,
    /// By whom.
    pub verified_by: Option<String>,
    /// How many days ago, by this device's calendar.
    pub verified_days_ago: Option<i32>,
}

/// Days from `on` to `today`, none for a day in the future or never.
pub(crate) fn days_ago(on: Option<NaiveDate>, today: NaiveDate) -> Option<i32> {
    on.and_then(|d| {
        i32::try_from((today - d).num_days())
            .ok()
            .filter(|days| *days >= 0)
    })
}

/// A device's visits and people reached in a month, for one theme or (`theme: None`) in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MonthlyCount {
    /// The month.
    pub month: Month,
    /// The theme, or `None` for every visit of the month.
    pub theme: Option<Theme>,
    /// Visits.
    pub visits: i64,
    /// People reached.
    pub people: i64,
}

/// A filter on the device's own visits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitQuery {
    /// First day included.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub from: Option<NaiveDate>,
    /// Last day included.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub to: Option<NaiveDate>,
    /// Most results (newest first); default all.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub limit: Option<i32>,
}

/// Deserialises a read-model JSON column.
pub(crate) fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| {
        Error::Storage(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(e),
        ))
    })
}

/// Kilometres per degree of latitude.
const KM_PER_DEGREE: f64 = 111.195;

impl Store {
    /// Searches the directory. Results are ordered by distance when `near` is set, then by
    /// relevance to the text, then by freshness (most recently verified first), then by name.
    pub fn search_partners(&self, q: &PartnerQuery) -> Result<Vec<PartnerSummary>> {
        // Candidates are filtered and ordered on small columns, each distance computed once
        // (MATERIALIZED); the summaries of the page of results are read afterwards.
        let mut sql = String::from("WITH c AS MATERIALIZED (SELECT p.pk AS pk");
        let mut params: Vec<SqlValue> = Vec::new();
        let text = q.text.as_deref().and_then(prefix_query);
        if let Some((lat, lon)) = q.near {
            let cos = lat.to_radians().cos();
            sql.push_str(
                ", (SELECT min(((l.longitude - ?1) * ?2) * ((l.longitude - ?1) * ?2) + (l.latitude - ?3) * (l.latitude - ?3))
                   FROM locations l WHERE l.partner = p.pk AND l.latitude IS NOT NULL) AS d2",
            );
            params.extend([SqlValue::Real(lon), SqlValue::Real(cos), SqlValue::Real(lat)]);
        } else {
            sql.push_str(", NULL AS d2");
        }
        if let Some(t) = text {
            // Partners whose name matches come first; then bm25, which weighs names ten times
            // more than descriptions (and alone cannot rank terms that most entries contain).
            sql.push_str(
                ", p.pk IN (SELECT rowid FROM partner_fts WHERE partner_fts MATCH ?) AS name_hit,
                 round(bm25(partner_fts, 10.0, 1.0), 2) AS rank, p.verified_on AS v, p.name AS name, p.id AS id
                 FROM partner_fts JOIN partners p ON p.pk = partner_fts.rowid WHERE partner_fts MATCH ?",
            );
            params.push(SqlValue::Text(format!("name : ({t})")));
            params.push(SqlValue::Text(t));
        } else {
            sql.push_str(
                ", 0 AS name_hit, 0 AS rank, p.verified_on AS v, p.name AS name, p.id AS id FROM partners p WHERE 1",
            );
        }
        let facet_any = |sql: &mut String, params: &mut Vec<SqlValue>, facets: Vec<String>| {
            sql.push_str(" AND p.pk IN (SELECT partner FROM partner_facets WHERE facet IN (");
            for (i, f) in facets.into_iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                params.push(SqlValue::Text(f));
            }
            sql.push_str("))");
        };
        if !q.themes.is_empty() {
            facet_any(
                &mut sql,
                &mut params,
                q.themes.iter().map(|t| format!("t:{t}")).collect(),
            );
        }
        if !q.languages.is_empty() {
            facet_any(
                &mut sql,
                &mut params,
                q.languages.iter().map(|l| format!("l:{l}")).collect(),
            );
        }
        if let Some(r) = q.region {
            facet_any(&mut sql, &mut params, vec![format!("r:{r}")]);
        }
        if let Some(place) = q.place.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            let facet = if place.len() == 4 && place.bytes().all(|b| b.is_ascii_digit()) {
                format!("p:{place}")
            } else {
                format!("m:{}", fold(place))
            };
            facet_any(&mut sql, &mut params, vec![facet]);
        }
        if let Some(at) = q.open_at {
            // Open: a weekly range of an active office on that weekday, unless an exception
            // decides the day the range began; or a range of a day an exception decides.
            let day = Weekday::from_chrono(at.weekday()).index();
            let date = at.date().num_days_from_ce();
            let minute = at.hour() * 60 + at.minute();
            sql.push_str(
                " AND p.status = 'active' AND (EXISTS (SELECT 1 FROM opening_hours h WHERE h.partner = p.pk
                  AND h.day = ? AND h.open_min <= ? AND ? < h.close_min
                  AND NOT EXISTS (SELECT 1 FROM excepted_days e WHERE e.partner = h.partner
                    AND e.location = h.location AND e.date = ? - h.spill))
                  OR EXISTS (SELECT 1 FROM dated_hours x WHERE x.partner = p.pk AND x.date = ?
                  AND x.open_min <= ? AND ? < x.close_min))",
            );
            params.extend([
                SqlValue::Integer(day.into()),
                SqlValue::Integer(minute.into()),
                SqlValue::Integer(minute.into()),
                SqlValue::Integer(date.into()),
                SqlValue::Integer(date.into()),
                SqlValue::Integer(minute.into()),
                SqlValue::Integer(minute.into()),
            ]);
        } else if !q.include_closed {
            sql.push_str(" AND p.status IN ('active', 'temporarily_closed')");
        }
        sql.push_str(
            ") SELECT pk, d2 FROM c ORDER BY coalesce(d2, 1e300), name_hit DESC, rank, v IS NULL, v DESC, name, id LIMIT ?",
        );
        params.push(SqlValue::Integer(q.limit.unwrap_or(DEFAULT_LIMIT).into()));
        let today = self.clock.today();
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let hits = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<f64>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut summary = c.prepare_cached("SELECT summary FROM partners WHERE pk = ?1")?;
            let mut out = Vec::with_capacity(hits.len());
            for (pk, d2) in hits {
                let json: String = summary.query_row([pk], |r| r.get(0))?;
                let mut s: PartnerSummary = from_json(&json)?;
                s.distance_km = d2.map(|d| d.sqrt() * KM_PER_DEGREE);
                s.verified_days_ago = days_ago(s.verified_on, today);
                out.push(s);
            }
            Ok(out)
        })
    }

    /// A partner's full entry.
    pub fn partner(&self, id: PartnerId) -> Result<Partner> {
        self.read(|c| {
            let data: Option<String> = c
                .prepare_cached(
                    "SELECT d.data FROM partners p JOIN partner_details d ON d.partner = p.pk WHERE p.id = ?1",
                )?
                .query_row([id.to_string()], |r| r.get(0))
                .optional()?;
            from_json(&data.ok_or(Error::NotFound { what: "partner" })?)
        })
    }

    /// Partners with fields holding concurrent values, waiting for a coordinator.
    pub fn partners_with_conflicts(&self) -> Result<Vec<PartnerSummary>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT summary FROM partners WHERE conflicted = 1 ORDER BY name, id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| self.aged(&r?)).collect()
        })
    }

    /// A stored summary, with the age of its information.
    fn aged(&self, json: &str) -> Result<PartnerSummary> {
        let mut s: PartnerSummary = from_json(json)?;
        s.verified_days_ago = days_ago(s.verified_on, self.clock.today());
        Ok(s)
    }

    /// Partners whose entry was last verified before `verified_before`, or never: what needs
    /// checking, oldest first (never verified first), then by name. Defunct partners are left
    /// out: nothing is left to check.
    pub fn stale_partners(&self, verified_before: NaiveDate) -> Result<Vec<PartnerSummary>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT summary FROM partners
                 WHERE status != 'defunct' AND (verified_on IS NULL OR verified_on < ?1)
                 ORDER BY verified_on IS NOT NULL, verified_on, name, id",
            )?;
            let rows = stmt.query_map([verified_before.to_string()], |r| r.get::<_, String>(0))?;
            rows.map(|r| self.aged(&r?)).collect()
        })
    }

    /// Every entry whose information was last verified before `verified_before`, or never:
    /// partners, their listed offices and their services still offered. Never verified first,
    /// then the oldest, then by partner name. Defunct partners are left out, and so are the
    /// offices and services of partners closed for good.
    pub fn stale_entries(&self, verified_before: NaiveDate) -> Result<Vec<StaleEntry>> {
        let details: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.data FROM partners p JOIN partner_details d ON d.partner = p.pk
                 WHERE p.status != 'defunct' ORDER BY p.name, p.id",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Error::from)
        })?;
        let today = self.clock.today();
        let stale = |on: Option<NaiveDate>| on.is_none_or(|d| d < verified_before);
        let mut out = Vec::new();
        for json in details {
            let p: Partner = from_json(&json)?;
            let mut entry = |part: Entry, label: String, on: Option<NaiveDate>, by: &Option<String>| {
                if stale(on) {
                    out.push(StaleEntry {
                        partner: p.id,
                        partner_name: p.name.clone(),
                        entry: part,
                        label,
                        verified_on: on,
                        verified_by: by.clone(),
                        verified_days_ago: days_ago(on, today),
                    });
                }
            };
            entry(Entry::Partner, p.name.clone(), p.verified_on, &p.verified_by);
            for l in p.locations.values().filter(|l| l.is_listed()) {
                let label = match &l.name {
                    Some(n) => format!("{n}, {} {}", l.postcode, l.municipality),
                    None => format!("{} {}", l.postcode, l.municipality),
                };
                entry(Entry::Location { id: l.id }, label, l.verified_on, &l.verified_by);
            }
            for s in p
                .services
                .values()
                .filter(|s| s.status != crate::model::PartnerStatus::Defunct)
            {
                entry(
                    Entry::Service { id: s.id },
                    s.name.clone(),
                    s.verified_on,
                    &s.verified_by,
                );
            }
        }
        // Stable: partners keep their name order within a day.
        out.sort_by_key(|e| (e.verified_on.is_some(), e.verified_on));
        Ok(out)
    }

    /// Number of partners in the directory, all statuses.
    pub fn partner_count(&self) -> Result<u64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM partners", [], |r| r.get::<_, i64>(0))? as u64))
    }

    /// A brochure's full record.
    pub fn brochure(&self, id: BrochureId) -> Result<Brochure> {
        self.read(|c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM brochures WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            from_json(&data.ok_or(Error::NotFound { what: "brochure" })?)
        })
    }

    /// Brochures in force, each shown in the first language of `languages` it has (then any),
    /// most recently updated first.
    pub fn brochures(&self, languages: &[Lang]) -> Result<Vec<BrochureView>> {
        let all: Vec<Brochure> = self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT data FROM brochures WHERE retired = 0")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| from_json(&r?)).collect()
        })?;
        let mut out: Vec<BrochureView> = all
            .into_iter()
            .filter_map(|b| {
                let (title_lang, title) = best_text(&b.title, languages)?;
                let file = languages
                    .iter()
                    .find_map(|l| b.files.get_key_value(l))
                    .or_else(|| b.files.iter().next())
                    .map(|(l, f)| (l.clone(), f.clone()));
                Some(BrochureView {
                    id: b.id,
                    title: title.to_string(),
                    title_lang: title_lang.clone(),
                    summary: best_text(&b.summary, languages).map(|(_, s)| s.to_string()),
                    themes: b.themes.clone(),
                    audience: b.audience.clone(),
                    file,
                    version: crate::sync::signed(b.version),
                    updated_on: b.updated_on,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.updated_on
                .cmp(&a.updated_on)
                .then_with(|| a.title.cmp(&b.title))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// This device's visits, newest first.
    pub fn visits(&self, q: &VisitQuery) -> Result<Vec<Visit>> {
        if let Some(limit) = q.limit {
            // SQLite reads a negative LIMIT as none: refuse it rather than return everything.
            crate::model::validate::in_range("limit", limit.into(), 0, i32::MAX.into())?;
        }
        let rows: Vec<(String, String)> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, doc_id FROM visits WHERE device = ?1 AND date >= ?2 AND date <= ?3
                 ORDER BY date DESC, part_of_day DESC, id LIMIT ?4",
            )?;
            let from = q.from.map_or_else(|| "0000-00-00".to_string(), |d| d.to_string());
            let to = q.to.map_or_else(|| "9999-99-99".to_string(), |d| d.to_string());
            let limit = q.limit.map_or(-1, i64::from);
            let rows = stmt.query_map(rusqlite::params![self.device.to_string(), from, to, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        self.visits_from_documents(&rows)
    }

    /// This device's visits and people reached per month, overall (`theme: None`) and per theme.
    pub fn visit_counts(&self) -> Result<Vec<MonthlyCount>> {
        self.read(|c| {
            let mut out = Vec::new();
            let mut stmt = c.prepare_cached(
                "SELECT month, NULL, count(*), sum(people) FROM visits WHERE device = ?1 GROUP BY month
                 UNION ALL
                 SELECT v.month, t.value, count(*), sum(v.people) FROM visits v, json_each(v.themes) t
                 WHERE v.device = ?1 GROUP BY v.month, t.value
                 ORDER BY 1, 2",
            )?;
            let rows = stmt.query_map([self.device.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            for row in rows {
                let (month, theme, visits, people) = row?;
                let bad = || Error::Corrupt("a visit count row is unreadable");
                out.push(MonthlyCount {
                    month: Month::parse(&month).ok_or_else(bad)?,
                    theme: theme.map(|t| t.parse().map_err(|_| bad())).transpose()?,
                    visits,
                    people,
                });
            }
            Ok(out)
        })
    }
}
