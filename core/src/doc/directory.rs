//! Partners in a directory section document: how they are read, created and edited.
//!
//! Layout of `partners/<id>`: scalar fields (`name`, `kind`, `status`, `email`...), text per
//! language (`description/<lang>`), sets as maps (`themes/<code> = true`, `languages`,
//! `regions`), and collections keyed by id (`services/<id>`, `locations/<id>`, `phones/<number>`).
//! Every container is created with the partner, so that later concurrent edits write into the
//! same maps instead of racing to create them.
//!
//! Weekly hours are one value (`weekly = "mon-fri 09:00-12:00; sat 10:00-12:00"`): an edit on
//! one device and another on a second device are a conflict a coordinator settles, never a mix
//! of days that nobody entered. Dated exceptions are kept by first day (`exceptions/<from> =
//! "<to> closed"`). These (with an office's `status`) came with layout version 2: a section gets
//! version 2 with its first such write, and older apps then leave it alone rather than misread
//! it. Version 1 kept the hours day by day (`hours/<day>`, `schedule/<day>`); they are still read
//! where a location or service has no `weekly` yet.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ROOT};
use chrono::NaiveDate;

use super::access::{
    delete, ensure_map, get_map, get_uint, malformed, put, put_opt_str, put_set, set_member, Mode,
};
use super::tree::Node;
use super::{DocError, DocMeta, Document};
use crate::model::{
    parse_ranges, HoursException, Lang, Location, LocationId, OrgKind, Partner, PartnerId, PartnerStatus,
    Phone, Region, Service, ServiceId, Theme, TimeRange, Weekday, WeeklyHours,
};

/// The layout version that brought single-value weekly hours, dated exceptions and an office's
/// status.
pub(crate) const HOURS_SCHEMA: u64 = 2;

/// One edit of a partner entry by a coordinator. Each writes only its own field, so edits of
/// different fields made offline on two devices both survive the merge; an edit of a field that
/// holds a conflict settles it.
#[derive(Debug, Clone, PartialEq)]
pub enum PartnerEdit {
    /// Sets the name.
    Name(String),
    /// Sets or clears the alternate name.
    AlternateName(Option<String>),
    /// Sets or clears the description in one language.
    Description {
        /// The language.
        lang: Lang,
        /// The text, or `None` to remove this language.
        text: Option<String>,
    },
    /// Sets the kind of organisation.
    Kind(OrgKind),
    /// Sets the status (partners are never deleted).
    Status(PartnerStatus),
    /// Adds a theme.
    AddTheme(Theme),
    /// Removes a theme.
    RemoveTheme(Theme),
    /// Adds a language spoken.
    AddLanguage(Lang),
    /// Removes a language.
    RemoveLanguage(Lang),
    /// Adds a region served.
    AddRegion(Region),
    /// Removes a region served.
    RemoveRegion(Region),
    /// Adds or relabels a phone number.
    AddPhone(Phone),
    /// Removes a phone number (matched on its digits).
    RemovePhone(String),
    /// Sets or clears the e-mail address.
    Email(Option<String>),
    /// Sets or clears the website.
    Website(Option<String>),
    /// Sets or clears the notes for workers.
    WorkerNotes(Option<String>),
    /// Records that the entry was checked on `on` by `by`.
    Verified {
        /// Day of the check.
        on: NaiveDate,
        /// Who checked.
        by: String,
    },
    /// Adds a service, or updates the fields of an existing one that differ.
    PutService(Service),
    /// Adds a location, or updates the fields of an existing one that differ.
    PutLocation(Location),
    /// Edits one field of an existing service.
    Service {
        /// The service.
        id: ServiceId,
        /// The edit.
        edit: ServiceEdit,
    },
    /// Edits one field of an existing office.
    Location {
        /// The office.
        id: LocationId,
        /// The edit.
        edit: LocationEdit,
    },
}

/// One edit of a partner's office. Like a [`PartnerEdit`], each writes its own field and
/// settles a conflict there.
#[derive(Debug, Clone, PartialEq)]
pub enum LocationEdit {
    /// Sets or clears the office's name.
    Name(Option<String>),
    /// Sets or clears the street and number.
    Street(Option<String>),
    /// Sets the postcode (and the province it lies in).
    Postcode(u16),
    /// Sets the municipality.
    Municipality(String),
    /// Sets or clears the coordinates of the office, (latitude, longitude).
    Coordinates(Option<(f64, f64)>),
    /// Sets the weekly opening hours.
    Hours(WeeklyHours),
    /// Adds a dated exception, or replaces the one that starts the same day.
    PutException(HoursException),
    /// Removes the exception that starts on this day.
    RemoveException(NaiveDate),
    /// Sets or clears the accessibility notes.
    Accessibility(Option<String>),
    /// Sets the status (offices are closed, never deleted).
    Status(PartnerStatus),
    /// Records that the office was checked on `on` by `by`.
    Verified {
        /// Day of the check.
        on: NaiveDate,
        /// Who checked.
        by: String,
    },
}

/// One edit of a partner's service. Like a [`PartnerEdit`], each writes its own field and
/// settles a conflict there.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceEdit {
    /// Sets the name.
    Name(String),
    /// Sets or clears the description in one language.
    Description {
        /// The language.
        lang: Lang,
        /// The text, or `None` to remove this language.
        text: Option<String>,
    },
    /// Adds a theme.
    AddTheme(Theme),
    /// Removes a theme.
    RemoveTheme(Theme),
    /// Adds a language the service is offered in.
    AddLanguage(Lang),
    /// Removes a language.
    RemoveLanguage(Lang),
    /// Sets or clears who can use it.
    Eligibility(Option<String>),
    /// Sets or clears what it costs.
    Fees(Option<String>),
    /// Sets or clears how to get it.
    HowToApply(Option<String>),
    /// Sets the weekly schedule (empty: the offices' hours).
    Hours(WeeklyHours),
    /// Adds a dated exception, or replaces the one that starts the same day.
    PutException(HoursException),
    /// Removes the exception that starts on this day.
    RemoveException(NaiveDate),
    /// Sets the status (services are closed, never deleted).
    Status(PartnerStatus),
    /// Records that the service was checked on `on` by `by`.
    Verified {
        /// Day of the check.
        on: NaiveDate,
        /// Who checked.
        by: String,
    },
}

impl PartnerEdit {
    /// Short description for the change message (no values: messages are kept in history).
    pub fn describe(&self) -> &'static str {
        match self {
            PartnerEdit::Name(_) => "set name",
            PartnerEdit::AlternateName(_) => "set alternate name",
            PartnerEdit::Description { .. } => "set description",
            PartnerEdit::Kind(_) => "set kind",
            PartnerEdit::Status(_) => "set status",
            PartnerEdit::AddTheme(_) | PartnerEdit::RemoveTheme(_) => "edit themes",
            PartnerEdit::AddLanguage(_) | PartnerEdit::RemoveLanguage(_) => "edit languages",
            PartnerEdit::AddRegion(_) | PartnerEdit::RemoveRegion(_) => "edit regions",
            PartnerEdit::AddPhone(_) | PartnerEdit::RemovePhone(_) => "edit phones",
            PartnerEdit::Email(_) => "set e-mail",
            PartnerEdit::Website(_) => "set website",
            PartnerEdit::WorkerNotes(_) => "set notes",
            PartnerEdit::Verified { .. } => "mark verified",
            PartnerEdit::PutService(_) | PartnerEdit::Service { .. } => "edit service",
            PartnerEdit::PutLocation(_) | PartnerEdit::Location { .. } => "edit location",
        }
    }
}

impl PartnerEdit {
    /// Checks what an edit carries that can be checked on its own (an office or service given
    /// whole, hours, a dated exception), before anything is written: the entry as edited is
    /// checked whole afterwards, but a value the document cannot hold must never reach it.
    pub fn check(&self) -> crate::model::Validation {
        use crate::model::{Problem, ValidationError};
        let hours = |field: String, h: &WeeklyHours| {
            h.check().map_err(|_| {
                ValidationError::new(field, Problem::Malformed("non-overlapping HH:MM-HH:MM ranges"))
            })
        };
        let exception = |field: String, e: &HoursException| {
            e.check().map_err(|_| {
                ValidationError::new(
                    format!("{field}.exceptions.{}", e.from),
                    Problem::Malformed(
                        "at most a year of days, in order, with non-overlapping HH:MM-HH:MM ranges",
                    ),
                )
            })
        };
        match self {
            PartnerEdit::PutService(s) => s.validate(&format!("services.{}", s.id)),
            PartnerEdit::PutLocation(l) => l.validate(&format!("locations.{}", l.id)),
            PartnerEdit::Location { id, edit } => {
                let at = format!("locations.{id}");
                match edit {
                    LocationEdit::Hours(h) => hours(format!("{at}.hours"), h),
                    LocationEdit::PutException(e) => exception(at, e),
                    _ => Ok(()),
                }
            }
            PartnerEdit::Service { id, edit } => {
                let at = format!("services.{id}");
                match edit {
                    ServiceEdit::Hours(h) => hours(format!("{at}.schedule"), h),
                    ServiceEdit::PutException(e) => exception(at, e),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// A partner as read, with whether any of its fields holds concurrent values.
pub type ReadPartner = (Partner, bool);

impl Document {
    fn section_region(&self) -> Result<Region, DocError> {
        match self.meta {
            DocMeta::DirectorySection { region } => Ok(region),
            _ => Err(malformed("kind", "a directory section")),
        }
    }

    fn partner_obj(&self, id: PartnerId) -> Result<Option<ObjId>, DocError> {
        let coll = self.collection()?;
        get_map(&self.am, &coll, &id.to_string(), &format!("partners.{id}"))
    }

    /// The partner's map object, for audits.
    pub(crate) fn partner_object(&self, id: PartnerId) -> Result<Option<ObjId>, DocError> {
        self.partner_obj(id)
    }

    /// Ids of every partner in the section.
    pub fn partner_ids(&self) -> Result<Vec<PartnerId>, DocError> {
        let coll = self.collection()?;
        self.am
            .keys(&coll)
            .map(|k| {
                k.parse()
                    .map_err(|_| malformed(format!("partners.{k}"), "a partner id"))
            })
            .collect()
    }

    /// Reads one partner; `None` if the section has no such partner.
    pub fn partner(&self, id: PartnerId) -> Result<Option<Partner>, DocError> {
        Ok(self.partner_and_conflict_flag(id)?.map(|(p, _)| p))
    }

    /// Reads one partner in one pass over its operations, with whether any of its fields holds
    /// concurrent values.
    pub fn partner_and_conflict_flag(&self, id: PartnerId) -> Result<Option<(Partner, bool)>, DocError> {
        let region = self.section_region()?;
        let Some(obj) = self.partner_obj(id)? else {
            return Ok(None);
        };
        let tree = self.am.hydrate(&obj, None)?;
        let node = Node::new(&tree, format!("partners.{id}"))?;
        Ok(Some((read_partner(&node, id, region)?, node.has_conflicts())))
    }

    /// Reads several partners, as [`Document::partner_and_conflict_flag`] does each: many at
    /// once in one pass over the whole section (a section new to this device), a few one by
    /// one.
    pub fn partners_and_conflict_flags(
        &self,
        ids: &[PartnerId],
    ) -> Result<Vec<(PartnerId, Option<ReadPartner>)>, DocError> {
        /// From this many partners, one pass over the section costs less than a seek each.
        const ONE_PASS: usize = 16;
        if ids.len() < ONE_PASS {
            return ids
                .iter()
                .map(|&id| Ok((id, self.partner_and_conflict_flag(id)?)))
                .collect();
        }
        let region = self.section_region()?;
        let tree = self.am.hydrate(&self.collection()?, None)?;
        let section = Node::new(&tree, "partners")?;
        ids.iter()
            .map(|&id| {
                let key = id.to_string();
                let read = match section.map(&key)? {
                    Some(node) => Some((read_partner(&node, id, region)?, node.has_conflicts())),
                    None => None,
                };
                Ok((id, read))
            })
            .collect()
    }

    /// Every partner of the section.
    pub fn partners(&self) -> Result<Vec<Partner>, DocError> {
        self.partner_ids()?
            .into_iter()
            .filter_map(|id| self.partner(id).transpose())
            .collect()
    }

    /// Writes a new partner with all its containers. Refuses an id that is already there.
    pub fn insert_partner(&mut self, partner: &Partner) -> Result<(), DocError> {
        if self.section_region()? != partner.region {
            return Err(malformed("region", "the section's region"));
        }
        if self.partner_obj(partner.id)?.is_some() {
            return Err(malformed(format!("partners.{}", partner.id), "a new partner id"));
        }
        let coll = self.collection()?;
        let am = &mut self.am;
        let obj = am.put_object(&coll, partner.id.to_string(), ObjType::Map)?;
        for key in [
            "description",
            "themes",
            "languages",
            "regions",
            "services",
            "locations",
            "phones",
        ] {
            am.put_object(&obj, key, ObjType::Map)?;
        }
        write_partner_fields(am, &obj, partner)
    }

    /// Applies edits to a partner (uncommitted). Fails if the partner is not in this section.
    pub fn edit_partner(&mut self, id: PartnerId, edits: &[PartnerEdit]) -> Result<(), DocError> {
        let obj = self
            .partner_obj(id)?
            .ok_or_else(|| malformed(format!("partners.{id}"), "an existing partner"))?;
        for edit in edits {
            apply_edit(&mut self.am, &obj, edit)?;
        }
        Ok(())
    }
}

fn write_partner_fields(am: &mut AutoCommit, obj: &ObjId, p: &Partner) -> Result<(), DocError> {
    let m = Mode::Reconcile;
    put(am, obj, "name", p.name.as_str(), m)?;
    put_opt_str(am, obj, "alternate_name", p.alternate_name.as_deref(), m)?;
    let desc = ensure_map(am, obj, "description")?;
    for (lang, text) in &p.description {
        put(am, &desc, lang.as_str(), text.as_str(), m)?;
    }
    put(am, obj, "kind", p.kind.as_str(), m)?;
    put(am, obj, "status", p.status.as_str(), m)?;
    put_set(am, obj, "themes", p.themes.iter().map(|t| t.as_str()))?;
    put_set(am, obj, "languages", p.languages.iter().map(|l| l.as_str()))?;
    put_set(am, obj, "regions", p.regions_served.iter().map(|r| r.as_str()))?;
    for phone in &p.phones {
        put_phone(am, obj, phone)?;
    }
    put_opt_str(am, obj, "email", p.email.as_deref(), m)?;
    put_opt_str(am, obj, "website", p.website.as_deref(), m)?;
    put_opt_str(
        am,
        obj,
        "verified_on",
        p.verified_on.map(|d| d.to_string()).as_deref(),
        m,
    )?;
    put_opt_str(am, obj, "verified_by", p.verified_by.as_deref(), m)?;
    put_opt_str(am, obj, "worker_notes", p.worker_notes.as_deref(), m)?;
    for s in p.services.values() {
        put_service(am, obj, s)?;
    }
    for l in p.locations.values() {
        put_location(am, obj, l)?;
    }
    Ok(())
}

fn apply_edit(am: &mut AutoCommit, obj: &ObjId, edit: &PartnerEdit) -> Result<(), DocError> {
    let r = Mode::Resolve;
    match edit {
        PartnerEdit::Name(n) => put(am, obj, "name", n.as_str(), r),
        PartnerEdit::AlternateName(n) => put_opt_str(am, obj, "alternate_name", n.as_deref(), r),
        PartnerEdit::Description { lang, text } => {
            let desc = ensure_map(am, obj, "description")?;
            put_opt_str(am, &desc, lang.as_str(), text.as_deref(), r)
        }
        PartnerEdit::Kind(k) => put(am, obj, "kind", k.as_str(), r),
        PartnerEdit::Status(s) => put(am, obj, "status", s.as_str(), r),
        PartnerEdit::AddTheme(t) => set_member(am, obj, "themes", t.as_str(), true),
        PartnerEdit::RemoveTheme(t) => set_member(am, obj, "themes", t.as_str(), false),
        PartnerEdit::AddLanguage(l) => set_member(am, obj, "languages", l.as_str(), true),
        PartnerEdit::RemoveLanguage(l) => set_member(am, obj, "languages", l.as_str(), false),
        PartnerEdit::AddRegion(g) => set_member(am, obj, "regions", g.as_str(), true),
        PartnerEdit::RemoveRegion(g) => set_member(am, obj, "regions", g.as_str(), false),
        PartnerEdit::AddPhone(p) => put_phone(am, obj, p),
        PartnerEdit::RemovePhone(n) => {
            let phones = ensure_map(am, obj, "phones")?;
            delete(am, &phones, &crate::model::normalise_phone(n))
        }
        PartnerEdit::Email(e) => put_opt_str(am, obj, "email", e.as_deref(), r),
        PartnerEdit::Website(w) => put_opt_str(am, obj, "website", w.as_deref(), r),
        PartnerEdit::WorkerNotes(n) => put_opt_str(am, obj, "worker_notes", n.as_deref(), r),
        PartnerEdit::Verified { on, by } => {
            put(am, obj, "verified_on", on.to_string(), r)?;
            put(am, obj, "verified_by", by.as_str(), r)
        }
        PartnerEdit::PutService(s) => put_service(am, obj, s),
        PartnerEdit::PutLocation(l) => put_location(am, obj, l),
        PartnerEdit::Service { id, edit } => {
            let s = entity(am, obj, "services", &id.to_string())?;
            raise_schema(am)?;
            apply_service_edit(am, &s, edit)
        }
        PartnerEdit::Location { id, edit } => {
            let l = entity(am, obj, "locations", &id.to_string())?;
            raise_schema(am)?;
            apply_location_edit(am, &l, edit)
        }
    }
}

/// The map of an existing service or location.
fn entity(am: &AutoCommit, partner: &ObjId, collection: &str, key: &str) -> Result<ObjId, DocError> {
    let path = format!("{collection}.{key}");
    let coll =
        get_map(am, partner, collection, collection)?.ok_or_else(|| malformed(path.clone(), "a map"))?;
    get_map(am, &coll, key, &path)?.ok_or_else(|| malformed(path, "an existing entry"))
}

fn apply_location_edit(am: &mut AutoCommit, obj: &ObjId, edit: &LocationEdit) -> Result<(), DocError> {
    let r = Mode::Resolve;
    match edit {
        LocationEdit::Name(n) => put_opt_str(am, obj, "name", n.as_deref(), r),
        LocationEdit::Street(n) => put_opt_str(am, obj, "street", n.as_deref(), r),
        LocationEdit::Postcode(p) => {
            put(am, obj, "postcode", u64::from(*p), r)?;
            match Region::of_postcode(*p) {
                Some(province) => put(am, obj, "province", province.as_str(), r),
                None => Ok(()),
            }
        }
        LocationEdit::Municipality(m) => put(am, obj, "municipality", m.as_str(), r),
        LocationEdit::Coordinates(c) => put_coordinates(am, obj, *c, r),
        LocationEdit::Hours(h) => put_weekly(am, obj, h, r),
        LocationEdit::PutException(e) => put_exception(am, obj, e, r),
        LocationEdit::RemoveException(from) => remove_exception(am, obj, *from),
        LocationEdit::Accessibility(a) => put_opt_str(am, obj, "accessibility", a.as_deref(), r),
        LocationEdit::Status(s) => put(am, obj, "status", s.as_str(), r),
        LocationEdit::Verified { on, by } => put_verified(am, obj, *on, by),
    }
}

fn apply_service_edit(am: &mut AutoCommit, obj: &ObjId, edit: &ServiceEdit) -> Result<(), DocError> {
    let r = Mode::Resolve;
    match edit {
        ServiceEdit::Name(n) => put(am, obj, "name", n.as_str(), r),
        ServiceEdit::Description { lang, text } => {
            let desc = ensure_map(am, obj, "description")?;
            put_opt_str(am, &desc, lang.as_str(), text.as_deref(), r)
        }
        ServiceEdit::AddTheme(t) => set_member(am, obj, "themes", t.as_str(), true),
        ServiceEdit::RemoveTheme(t) => set_member(am, obj, "themes", t.as_str(), false),
        ServiceEdit::AddLanguage(l) => set_member(am, obj, "languages", l.as_str(), true),
        ServiceEdit::RemoveLanguage(l) => set_member(am, obj, "languages", l.as_str(), false),
        ServiceEdit::Eligibility(e) => put_opt_str(am, obj, "eligibility", e.as_deref(), r),
        ServiceEdit::Fees(f) => put_opt_str(am, obj, "fees", f.as_deref(), r),
        ServiceEdit::HowToApply(h) => put_opt_str(am, obj, "how_to_apply", h.as_deref(), r),
        ServiceEdit::Hours(h) => put_weekly(am, obj, h, r),
        ServiceEdit::PutException(e) => put_exception(am, obj, e, r),
        ServiceEdit::RemoveException(from) => remove_exception(am, obj, *from),
        ServiceEdit::Status(s) => put(am, obj, "status", s.as_str(), r),
        ServiceEdit::Verified { on, by } => put_verified(am, obj, *on, by),
    }
}

fn put_verified(am: &mut AutoCommit, obj: &ObjId, on: NaiveDate, by: &str) -> Result<(), DocError> {
    put(am, obj, "verified_on", on.to_string(), Mode::Resolve)?;
    put(am, obj, "verified_by", by, Mode::Resolve)
}

/// Raises the document to [`HOURS_SCHEMA`] before its first write of that layout.
fn raise_schema(am: &mut AutoCommit) -> Result<(), DocError> {
    if get_uint(am, &ROOT, "schema", "schema")?.unwrap_or(0) < HOURS_SCHEMA {
        am.put(ROOT, "schema", HOURS_SCHEMA)?;
    }
    Ok(())
}

fn put_coordinates(
    am: &mut AutoCommit,
    obj: &ObjId,
    at: Option<(f64, f64)>,
    m: Mode,
) -> Result<(), DocError> {
    match at {
        Some((lat, lon)) => {
            put(am, obj, "latitude", lat, m)?;
            put(am, obj, "longitude", lon, m)
        }
        None => {
            delete(am, obj, "latitude")?;
            delete(am, obj, "longitude")
        }
    }
}

fn put_phone(am: &mut AutoCommit, partner: &ObjId, phone: &Phone) -> Result<(), DocError> {
    let phones = ensure_map(am, partner, "phones")?;
    let entry = ensure_map(am, &phones, &phone.key())?;
    put(am, &entry, "number", phone.number.as_str(), Mode::Resolve)?;
    put_opt_str(am, &entry, "label", phone.label.as_deref(), Mode::Resolve)
}

/// Writes the weekly hours as one value (`closed` when there are none).
fn put_weekly(am: &mut AutoCommit, obj: &ObjId, hours: &WeeklyHours, m: Mode) -> Result<(), DocError> {
    put(am, obj, "weekly", hours.to_string(), m)
}

/// Makes the exceptions of `obj` exactly `exceptions`.
fn put_exceptions(am: &mut AutoCommit, obj: &ObjId, exceptions: &[HoursException]) -> Result<(), DocError> {
    let map = ensure_map(am, obj, "exceptions")?;
    let wanted: Vec<String> = exceptions.iter().map(|e| e.from.to_string()).collect();
    for k in am.keys(&map).collect::<Vec<_>>() {
        if !wanted.contains(&k) {
            am.delete(&map, k.as_str())?;
        }
    }
    for e in exceptions {
        put_exception(am, obj, e, Mode::Reconcile)?;
    }
    Ok(())
}

fn put_exception(am: &mut AutoCommit, obj: &ObjId, e: &HoursException, m: Mode) -> Result<(), DocError> {
    let map = ensure_map(am, obj, "exceptions")?;
    put(am, &map, &e.from.to_string(), e.stored_value(), m)
}

fn remove_exception(am: &mut AutoCommit, obj: &ObjId, from: NaiveDate) -> Result<(), DocError> {
    let map = ensure_map(am, obj, "exceptions")?;
    delete(am, &map, &from.to_string())
}

/// Reads the weekly hours: the single value, else (layout 1) the days under `legacy_key`.
fn read_weekly(node: &Node<'_>, legacy_key: &str) -> Result<WeeklyHours, DocError> {
    if let Some(text) = node.str("weekly")? {
        return text
            .parse()
            .map_err(|_| malformed(format!("{}.weekly", node.path()), "weekly hours"));
    }
    let mut hours = WeeklyHours::default();
    if let Some(days) = node.map(legacy_key)? {
        for (k, _) in days.children_keys() {
            let day: Weekday = k
                .parse()
                .map_err(|_| malformed(days.path().to_string(), "a weekday"))?;
            let text = days.str(k)?.unwrap_or_default();
            let ranges: Vec<TimeRange> = parse_ranges(&text)
                .map_err(|_| malformed(days.path().to_string(), "opening ranges HH:MM-HH:MM"))?;
            if !ranges.is_empty() {
                hours.0.insert(day, ranges);
            }
        }
    }
    Ok(hours)
}

fn read_exceptions(node: &Node<'_>) -> Result<Vec<HoursException>, DocError> {
    let mut out = Vec::new();
    if let Some(map) = node.map("exceptions")? {
        for (k, _) in map.children_keys() {
            let bad = || malformed(format!("{}.{k}", map.path()), "a dated exception");
            let from: NaiveDate = k.parse().map_err(|_| bad())?;
            let value = map.str(k)?.unwrap_or_default();
            out.push(HoursException::from_stored(from, &value).map_err(|_| bad())?);
        }
    }
    out.sort();
    Ok(out)
}

/// Writes a service: creates it with its containers if new, else writes the fields that differ.
fn put_service(am: &mut AutoCommit, partner: &ObjId, s: &Service) -> Result<(), DocError> {
    let services = ensure_map(am, partner, "services")?;
    let key = s.id.to_string();
    let obj = match get_map(am, &services, &key, "services")? {
        Some(o) => o,
        None => {
            let o = am.put_object(&services, key.as_str(), ObjType::Map)?;
            for c in ["description", "themes", "languages", "exceptions"] {
                am.put_object(&o, c, ObjType::Map)?;
            }
            o
        }
    };
    raise_schema(am)?;
    let m = Mode::Reconcile;
    put(am, &obj, "name", s.name.as_str(), m)?;
    let desc = ensure_map(am, &obj, "description")?;
    let existing: Vec<String> = am.keys(&desc).collect();
    for lang in existing {
        if !s.description.keys().any(|l| l.as_str() == lang) {
            delete(am, &desc, &lang)?;
        }
    }
    for (lang, text) in &s.description {
        put(am, &desc, lang.as_str(), text.as_str(), m)?;
    }
    put_set(am, &obj, "themes", s.themes.iter().map(|t| t.as_str()))?;
    put_set(am, &obj, "languages", s.languages.iter().map(|l| l.as_str()))?;
    put_opt_str(am, &obj, "eligibility", s.eligibility.as_deref(), m)?;
    put_opt_str(am, &obj, "fees", s.fees.as_deref(), m)?;
    put_opt_str(am, &obj, "how_to_apply", s.how_to_apply.as_deref(), m)?;
    put_weekly(am, &obj, &s.schedule, m)?;
    put_exceptions(am, &obj, &s.exceptions)?;
    put_opt_date(am, &obj, s.verified_on, s.verified_by.as_deref())?;
    put(am, &obj, "status", s.status.as_str(), m)
}

/// Writes when and by whom an office or a service was checked, as a record written back whole.
fn put_opt_date(
    am: &mut AutoCommit,
    obj: &ObjId,
    on: Option<NaiveDate>,
    by: Option<&str>,
) -> Result<(), DocError> {
    let m = Mode::Reconcile;
    put_opt_str(am, obj, "verified_on", on.map(|d| d.to_string()).as_deref(), m)?;
    put_opt_str(am, obj, "verified_by", by, m)
}

/// Writes a location: creates it if new, else writes the fields that differ.
fn put_location(am: &mut AutoCommit, partner: &ObjId, l: &Location) -> Result<(), DocError> {
    let locations = ensure_map(am, partner, "locations")?;
    let key = l.id.to_string();
    let obj = match get_map(am, &locations, &key, "locations")? {
        Some(o) => o,
        None => {
            let o = am.put_object(&locations, key.as_str(), ObjType::Map)?;
            am.put_object(&o, "exceptions", ObjType::Map)?;
            o
        }
    };
    raise_schema(am)?;
    let m = Mode::Reconcile;
    put_opt_str(am, &obj, "name", l.name.as_deref(), m)?;
    put_opt_str(am, &obj, "street", l.street.as_deref(), m)?;
    put(am, &obj, "postcode", u64::from(l.postcode), m)?;
    put(am, &obj, "municipality", l.municipality.as_str(), m)?;
    put(am, &obj, "province", l.province.as_str(), m)?;
    put_coordinates(am, &obj, l.latitude.zip(l.longitude), m)?;
    put_weekly(am, &obj, &l.hours, m)?;
    put_exceptions(am, &obj, &l.exceptions)?;
    put_opt_str(am, &obj, "accessibility", l.accessibility.as_deref(), m)?;
    put_opt_date(am, &obj, l.verified_on, l.verified_by.as_deref())?;
    put(am, &obj, "status", l.status.as_str(), m)
}

fn read_partner(node: &Node<'_>, id: PartnerId, region: Region) -> Result<Partner, DocError> {
    let mut services = BTreeMap::new();
    if let Some(map) = node.map("services")? {
        for (k, child) in map.children()? {
            let sid: ServiceId = k
                .parse()
                .map_err(|_| malformed(format!("partners.{id}.services"), "a service id"))?;
            services.insert(sid, read_service(&child, sid)?);
        }
    }
    let mut locations = BTreeMap::new();
    if let Some(map) = node.map("locations")? {
        for (k, child) in map.children()? {
            let lid: LocationId = k
                .parse()
                .map_err(|_| malformed(format!("partners.{id}.locations"), "a location id"))?;
            locations.insert(lid, read_location(&child, lid)?);
        }
    }
    let mut phones = Vec::new();
    if let Some(map) = node.map("phones")? {
        for (_, child) in map.children()? {
            phones.push(Phone {
                number: child.req_str("number")?,
                label: child.str("label")?,
            });
        }
    }
    Ok(Partner {
        id,
        region,
        name: node.req_str("name")?,
        alternate_name: node.str("alternate_name")?,
        description: node.texts("description")?,
        kind: node.code("kind")?,
        status: node.code("status")?,
        themes: node.set("themes")?,
        languages: node.set("languages")?,
        regions_served: node.set("regions")?,
        services,
        locations,
        phones,
        email: node.str("email")?,
        website: node.str("website")?,
        verified_on: node.date("verified_on")?,
        verified_by: node.str("verified_by")?,
        worker_notes: node.str("worker_notes")?,
    })
}

fn read_service(node: &Node<'_>, id: ServiceId) -> Result<Service, DocError> {
    Ok(Service {
        id,
        name: node.req_str("name")?,
        description: node.texts("description")?,
        themes: node.set("themes")?,
        languages: node.set("languages")?,
        eligibility: node.str("eligibility")?,
        fees: node.str("fees")?,
        how_to_apply: node.str("how_to_apply")?,
        schedule: read_weekly(node, "schedule")?,
        exceptions: read_exceptions(node)?,
        status: node.code("status")?,
        verified_on: node.date("verified_on")?,
        verified_by: node.str("verified_by")?,
    })
}

fn read_location(node: &Node<'_>, id: LocationId) -> Result<Location, DocError> {
    let postcode = node
        .uint("postcode")?
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| malformed(format!("locations.{id}.postcode"), "a postcode"))?;
    Ok(Location {
        id,
        name: node.str("name")?,
        street: node.str("street")?,
        postcode,
        municipality: node.req_str("municipality")?,
        province: node.code("province")?,
        latitude: node.f64("latitude")?,
        longitude: node.f64("longitude")?,
        hours: read_weekly(node, "hours")?,
        exceptions: read_exceptions(node)?,
        accessibility: node.str("accessibility")?,
        status: match node.str("status")? {
            // Layout 1 had no status for an office: it was open.
            None => PartnerStatus::Active,
            Some(s) => s
                .parse()
                .map_err(|_| malformed(format!("locations.{id}.status"), "a status"))?,
        },
        verified_on: node.date("verified_on")?,
        verified_by: node.str("verified_by")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceId;
    use chrono::Utc;

    fn section(dev: DeviceId) -> Document {
        Document::create(
            DocMeta::DirectorySection {
                region: Region::Limburg,
            },
            dev,
        )
        .unwrap()
    }

    fn caw() -> Partner {
        let mut p = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
        p.themes.insert(Theme::VoluntaryReturn);
        p.languages.insert(Lang::code("nl").unwrap());
        p.description
            .insert(Lang::code("nl").unwrap(), "Centrum algemeen welzijnswerk".into());
        let mut s = Service::new("Vrijwillige terugkeer");
        s.themes.insert(Theme::Reintegration);
        s.schedule = "mon-fri 09:00-12:00".parse().unwrap();
        p.services.insert(s.id, s);
        let mut l = Location::new(3500, "Hasselt");
        l.hours = "mon-fri 09:00-12:00,13:00-16:00".parse().unwrap();
        l.latitude = Some(50.93);
        l.longitude = Some(5.34);
        p.locations.insert(l.id, l);
        p.phones.push(Phone {
            number: "0800 327 45".into(),
            label: Some("free number".into()),
        });
        p
    }

    #[test]
    fn a_partner_round_trips_through_the_document() {
        let mut d = section(DeviceId::random());
        let p = caw();
        d.insert_partner(&p).unwrap();
        d.commit(Utc::now());
        assert_eq!(d.partner(p.id).unwrap().unwrap(), p);
        let bytes = d.automerge_mut().save();
        let loaded = Document::load(d.id(), &bytes, DeviceId::random()).unwrap();
        assert_eq!(loaded.partners().unwrap(), vec![p]);
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive() {
        let (a, b) = (DeviceId::random(), DeviceId::random());
        let mut da = section(a);
        let p = caw();
        da.insert_partner(&p).unwrap();
        da.commit(Utc::now());
        let mut db = Document::load(da.id(), &da.automerge_mut().save(), b).unwrap();
        da.edit_partner(
            p.id,
            &[
                PartnerEdit::AddTheme(Theme::Legal),
                PartnerEdit::Name("CAW Limburg vzw".into()),
            ],
        )
        .unwrap();
        da.commit(Utc::now());
        db.edit_partner(
            p.id,
            &[
                PartnerEdit::AddTheme(Theme::Shelter),
                PartnerEdit::Email(Some("info@example.org".into())),
            ],
        )
        .unwrap();
        db.commit(Utc::now());
        let bytes_b = db.automerge_mut().save();
        da.merge_bytes(&bytes_b).unwrap();
        let merged = da.partner(p.id).unwrap().unwrap();
        assert_eq!(merged.name, "CAW Limburg vzw");
        assert_eq!(merged.email.as_deref(), Some("info@example.org"));
        assert!(merged.themes.contains(&Theme::Legal) && merged.themes.contains(&Theme::Shelter));
    }

    #[test]
    fn a_wrongly_typed_field_is_reported_with_its_path() {
        let mut d = section(DeviceId::random());
        let p = caw();
        d.insert_partner(&p).unwrap();
        let obj = d.partner_obj(p.id).unwrap().unwrap();
        d.automerge_mut().put(&obj, "status", 7).unwrap();
        let err = d.partner(p.id).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("partners.{}.status: expected text", p.id)
        );
        let themes = get_map(d.automerge(), &obj, "themes", "").unwrap().unwrap();
        d.automerge_mut().put(&obj, "status", "active").unwrap();
        d.automerge_mut().put(&themes, "astrology", true).unwrap();
        assert!(d.partner(p.id).is_err());
    }
}
