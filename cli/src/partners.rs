//! `outreach partners`: the partner directory, for coordinators (add, edit, close, verify,
//! settle conflicts) and for workers (search, show).

mod places;
mod view;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use clap::{Args, Subcommand};
use outreach_core::doc::PartnerEdit;
use outreach_core::model::{
    Lang, Location, OrgKind, Partner, PartnerId, PartnerStatus, Phone, Region, Theme, WeeklyHours,
};
use outreach_core::store::{EditRight, PartnerQuery};
use outreach_core::Store;

use crate::error::CliResult;
use crate::output::{self, Out};
use crate::parse::{self, code};

/// Commands on the partner directory.
#[derive(Debug, Subcommand)]
pub enum PartnersCommand {
    /// Add a partner organisation to the directory; prints its id
    Add(Box<AddArgs>),
    /// Change fields of a partner, all in one change
    #[command(override_usage = "outreach partners edit [OPTIONS] <ID> <EDIT>...")]
    Edit(Box<EditArgs>),
    /// Set a partner's status (partners are closed, never deleted)
    Status {
        /// The partner's id
        id: PartnerId,
        /// The new status
        #[arg(value_parser = code::<PartnerStatus>())]
        status: PartnerStatus,
    },
    /// Record that entries were checked with their organisations: partners, offices or
    /// services, by their ids (as `partners stale` lists them)
    Verify {
        /// The ids (one or more) of partners, offices or services
        #[arg(required = true, num_args = 1..)]
        ids: Vec<PartnerId>,
        /// Who checked it (a role or team, not a person's details)
        #[arg(long, default_value = "coordinator")]
        by: String,
        /// Day of the check (default: today)
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse::date)]
        on: Option<NaiveDate>,
    },
    /// List what needs checking: partners, offices and services last verified before a given
    /// age, or never; oldest first
    Stale {
        /// Age: days, weeks, months or years (90d, 8w, 6m, 1y)
        #[arg(long, value_name = "AGE", value_parser = parse::age, default_value = "6m")]
        older_than: parse::Age,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Search the directory: free text, themes, place, languages, opening hours, distance
    Search(SearchArgs),
    /// Show a partner's full entry: services, offices with opening hours, phones, freshness
    Show {
        /// The partner's id
        id: PartnerId,
        /// Print the entry as JSON
        #[arg(long)]
        json: bool,
    },
    /// List fields holding concurrent values, each with its author and time
    Conflicts {
        /// Only this partner (default: every partner with conflicts)
        id: Option<PartnerId>,
    },
    /// Add, edit or close a partner's offices: address, coordinates, hours, holiday closures
    Location {
        #[command(subcommand)]
        command: places::LocationCommand,
    },
    /// Add, edit or close a partner's services: themes, eligibility, fees, schedule
    Service {
        #[command(subcommand)]
        command: places::ServiceCommand,
    },
    /// Suggest a correction of an entry, for the coordinators (a field worker's way, and a
    /// coordinator's where a region's stewards keep the directory); works offline
    Suggest {
        /// The partner's id
        id: PartnerId,
        /// The field, as `partners history` names it: notes, email, locations.<id>.hours...;
        /// without it, a flag on the whole entry
        #[arg(long)]
        field: Option<String>,
        /// The value proposed, as `partners edit` takes it (none: clear the field)
        #[arg(long, requires = "field")]
        value: Option<String>,
        /// What the coordinators should know (never anything about a person)
        #[arg(long)]
        comment: String,
    },
    /// Show who set a field, to what, and when
    History {
        /// The partner's id
        id: PartnerId,
        /// The field: name, notes, email, themes, phones, description.fr, services.<id>.fees...;
        /// without it, every change to the partner, newest first
        field: Option<String>,
    },
}

/// Arguments of `partners add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Home region: the directory section the partner belongs to
    #[arg(long, value_parser = code::<Region>())]
    region: Region,
    /// Official name
    #[arg(long)]
    name: String,
    /// Kind of organisation
    #[arg(long, value_parser = code::<OrgKind>(), default_value = "other")]
    kind: OrgKind,
    /// Other name or acronym people use
    #[arg(long)]
    alternate_name: Option<String>,
    /// A theme the organisation works on (repeatable)
    #[arg(long = "theme", value_name = "THEME", value_parser = code::<Theme>())]
    themes: Vec<Theme>,
    /// A language staff speak with visitors, such as fr, nl, ar or prs (repeatable)
    #[arg(long = "language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    languages: Vec<Lang>,
    /// The description in one language (repeatable)
    #[arg(long = "description", value_name = "LANG=TEXT", value_parser = parse::lang_text)]
    descriptions: Vec<(Lang, String)>,
    /// A public phone number of the organisation (repeatable)
    #[arg(long = "phone", value_name = "NUMBER")]
    phones: Vec<String>,
    /// Public e-mail address of the organisation
    #[arg(long)]
    email: Option<String>,
    /// Website, starting with https://
    #[arg(long)]
    website: Option<String>,
    /// Practical notes for outreach workers
    #[arg(long)]
    notes: Option<String>,
    #[command(flatten, next_help_heading = "Office")]
    office: OfficeArgs,
}

/// The partner's first office, all optional.
#[derive(Debug, Args)]
struct OfficeArgs {
    /// Postcode of the office (with --municipality)
    #[arg(long, value_parser = parse::postcode, requires = "municipality")]
    postcode: Option<u16>,
    /// Municipality of the office (with --postcode)
    #[arg(long, requires = "postcode")]
    municipality: Option<String>,
    /// Street and number
    #[arg(long, requires = "postcode")]
    street: Option<String>,
    /// Opening hours, such as "mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00"
    #[arg(long, requires = "postcode", value_parser = parse::hours)]
    hours: Option<WeeklyHours>,
    /// Latitude of the office (with --lon)
    #[arg(long, requires_all = ["postcode", "lon"])]
    lat: Option<f64>,
    /// Longitude of the office (with --lat)
    #[arg(long, requires = "lat")]
    lon: Option<f64>,
}

impl OfficeArgs {
    /// The office described, if a postcode and municipality were given.
    fn location(self) -> Option<Location> {
        let (postcode, municipality) = self.postcode.zip(self.municipality)?;
        let mut location = Location::new(postcode, municipality);
        location.street = self.street;
        location.hours = self.hours.unwrap_or_default();
        location.latitude = self.lat;
        location.longitude = self.lon;
        Some(location)
    }
}

impl AddArgs {
    /// The new partner entry.
    fn into_partner(self) -> Partner {
        let mut p = Partner::new(self.region, self.name, self.kind);
        p.alternate_name = self.alternate_name;
        p.themes.extend(self.themes);
        p.languages.extend(self.languages);
        p.description.extend(self.descriptions);
        p.phones = self.phones.into_iter().map(phone).collect();
        p.email = self.email;
        p.website = self.website;
        p.worker_notes = self.notes;
        if let Some(location) = self.office.location() {
            p.locations.insert(location.id, location);
        }
        p
    }
}

/// Arguments of `partners edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The partner's id
    id: PartnerId,
    #[command(flatten, next_help_heading = "Edits (at least one)")]
    edits: Edits,
}

/// The edits; at least one must be given.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
struct Edits {
    /// New official name
    #[arg(long)]
    name: Option<String>,
    /// New other name or acronym
    #[arg(long, value_name = "TEXT")]
    alternate_name: Option<String>,
    /// Remove the other name
    #[arg(long, conflicts_with = "alternate_name")]
    clear_alternate_name: bool,
    /// New kind of organisation
    #[arg(long, value_parser = code::<OrgKind>())]
    kind: Option<OrgKind>,
    /// Add a theme (repeatable)
    #[arg(long = "add-theme", value_name = "THEME", value_parser = code::<Theme>())]
    add_themes: Vec<Theme>,
    /// Remove a theme (repeatable)
    #[arg(long = "remove-theme", value_name = "THEME", value_parser = code::<Theme>())]
    remove_themes: Vec<Theme>,
    /// Add a language spoken (repeatable)
    #[arg(long = "add-language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    add_languages: Vec<Lang>,
    /// Remove a language (repeatable)
    #[arg(long = "remove-language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    remove_languages: Vec<Lang>,
    /// Add a region served (repeatable)
    #[arg(long = "add-region", value_name = "REGION", value_parser = code::<Region>())]
    add_regions: Vec<Region>,
    /// Remove a region served (repeatable)
    #[arg(long = "remove-region", value_name = "REGION", value_parser = code::<Region>())]
    remove_regions: Vec<Region>,
    /// Set the description in one language; an empty TEXT removes it (repeatable)
    #[arg(long = "description", value_name = "LANG=TEXT", value_parser = parse::lang_text)]
    descriptions: Vec<(Lang, String)>,
    /// Add a phone number (repeatable)
    #[arg(long = "add-phone", value_name = "NUMBER")]
    add_phones: Vec<String>,
    /// Remove a phone number, matched on its digits (repeatable)
    #[arg(long = "remove-phone", value_name = "NUMBER")]
    remove_phones: Vec<String>,
    /// New e-mail address
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// Remove the e-mail address
    #[arg(long, conflicts_with = "email")]
    clear_email: bool,
    /// New website
    #[arg(long, value_name = "URL")]
    website: Option<String>,
    /// Remove the website
    #[arg(long, conflicts_with = "website")]
    clear_website: bool,
    /// New notes for outreach workers
    #[arg(long, value_name = "TEXT")]
    notes: Option<String>,
    /// Remove the notes for workers
    #[arg(long, conflicts_with = "notes")]
    clear_notes: bool,
}

impl Edits {
    /// The edits, in a fixed order, for one `edit_partner` call.
    fn into_edits(self) -> Vec<PartnerEdit> {
        use PartnerEdit as E;

        let mut edits: Vec<PartnerEdit> = Vec::new();
        edits.extend(self.name.map(E::Name));
        edits.extend(set_or_clear(self.alternate_name, self.clear_alternate_name).map(E::AlternateName));
        edits.extend(self.kind.map(E::Kind));
        edits.extend(self.add_themes.into_iter().map(E::AddTheme));
        edits.extend(self.remove_themes.into_iter().map(E::RemoveTheme));
        edits.extend(self.add_languages.into_iter().map(E::AddLanguage));
        edits.extend(self.remove_languages.into_iter().map(E::RemoveLanguage));
        edits.extend(self.add_regions.into_iter().map(E::AddRegion));
        edits.extend(self.remove_regions.into_iter().map(E::RemoveRegion));
        // One edit per language: the last text given for a language wins.
        let descriptions: BTreeMap<Lang, String> = self.descriptions.into_iter().collect();
        edits.extend(descriptions.into_iter().map(|(lang, text)| E::Description {
            lang,
            text: (!text.is_empty()).then_some(text),
        }));
        edits.extend(self.add_phones.into_iter().map(|n| E::AddPhone(phone(n))));
        edits.extend(self.remove_phones.into_iter().map(E::RemovePhone));
        edits.extend(set_or_clear(self.email, self.clear_email).map(E::Email));
        edits.extend(set_or_clear(self.website, self.clear_website).map(E::Website));
        edits.extend(set_or_clear(self.notes, self.clear_notes).map(E::WorkerNotes));
        edits
    }
}

/// `Some(None)` to clear a field, `Some(Some(v))` to set it, `None` to leave it.
pub(crate) fn set_or_clear(value: Option<String>, clear: bool) -> Option<Option<String>> {
    if clear {
        Some(None)
    } else {
        value.map(Some)
    }
}

/// A phone number without a label.
fn phone(number: String) -> Phone {
    Phone { number, label: None }
}

/// Arguments of `partners search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for in names, descriptions, services and places (accents ignored, each
    /// word matched as a prefix)
    #[arg(value_name = "TEXT")]
    text: Vec<String>,
    /// Only partners working on this theme (repeatable: any of them)
    #[arg(long = "theme", value_name = "THEME", value_parser = code::<Theme>())]
    themes: Vec<Theme>,
    /// Only partners serving this region or with an office there
    #[arg(long, value_parser = code::<Region>())]
    region: Option<Region>,
    /// Only partners with an office in this municipality or postcode
    #[arg(long, value_name = "NAME_OR_POSTCODE")]
    place: Option<String>,
    /// Only partners speaking this language (repeatable: any of them)
    #[arg(long = "language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    languages: Vec<Lang>,
    /// Only active partners with an office open at this local time
    #[arg(long, value_name = "YYYY-MM-DD HH:MM", value_parser = parse::date_time)]
    open_at: Option<NaiveDateTime>,
    /// Only active partners with an office open now
    #[arg(long, conflicts_with = "open_at")]
    open_now: bool,
    /// Sort by distance from this point and show the distance; the point is not stored
    #[arg(long, value_name = "LAT,LON", value_parser = parse::point, allow_hyphen_values = true)]
    near: Option<(f64, f64)>,
    /// Include inactive and defunct partners
    #[arg(long)]
    all: bool,
    /// Most results to show [default: 50]
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Print the results as JSON
    #[arg(long)]
    json: bool,
}

impl SearchArgs {
    /// The core's query.
    fn query(&self) -> PartnerQuery {
        let text = self.text.join(" ");
        PartnerQuery {
            text: (!text.trim().is_empty()).then_some(text),
            themes: self.themes.clone(),
            region: self.region,
            place: self.place.clone(),
            languages: self.languages.clone(),
            open_at: self
                .open_at
                .or_else(|| self.open_now.then(|| chrono::Local::now().naive_local())),
            near: self.near,
            include_closed: self.all,
            limit: self.limit,
        }
    }
}

/// Runs a `partners` command on `store`.
pub fn run(command: PartnersCommand, store: &Store, out: Out<'_>) -> CliResult {
    match command {
        PartnersCommand::Add(args) => {
            let id = store.add_partner(&args.into_partner())?;
            writeln!(out, "{id}")?;
        }
        PartnersCommand::Edit(args) => {
            let EditArgs { id, edits } = *args;
            store.edit_partner(id, &edits.into_edits())?;
        }
        PartnersCommand::Status { id, status } => store.set_partner_status(id, status)?,
        PartnersCommand::Verify { ids, by, on } => {
            let entries = ids
                .iter()
                .map(|id| store.find_entry(id.uuid()))
                .collect::<Result<Vec<_>, _>>()?;
            store.mark_entries_verified(&entries, on.unwrap_or_else(crate::today), &by)?
        }
        PartnersCommand::Stale { older_than, json } => {
            let stale = store.stale_entries(older_than.before(crate::today()))?;
            if json {
                output::json(out, serde_json::to_string_pretty(&stale))?;
            } else if stale.is_empty() {
                writeln!(out, "Every entry was verified within {older_than}.")?;
            } else {
                view::stale(out, &stale)?;
            }
        }
        PartnersCommand::Search(args) => {
            let found = store.search_partners(&args.query())?;
            if args.json {
                output::json(out, serde_json::to_string_pretty(&found))?;
            } else {
                view::search_results(out, &found, args.near.is_some())?;
            }
        }
        PartnersCommand::Show { id, json } => {
            let partner = store.partner(id)?;
            if json {
                output::json(out, serde_json::to_string_pretty(&partner))?;
            } else {
                let conflicts = store.partner_conflicts(id)?;
                view::partner(out, &partner, conflicts.len(), crate::today())?;
                if let EditRight::Suggest { stewards } = store.edit_right(partner.region)? {
                    if !stewards.is_empty() {
                        writeln!(
                            out,
                            "The {} section is kept by {}: this device suggests changes, it does not edit.",
                            partner.region,
                            stewards.join(", ")
                        )?;
                    }
                }
            }
        }
        PartnersCommand::Conflicts { id } => {
            let partners = match id {
                Some(id) => vec![(store.partner(id)?.name, id)],
                None => store
                    .partners_with_conflicts()?
                    .into_iter()
                    .map(|p| (p.name, p.id))
                    .collect(),
            };
            let mut conflicted = Vec::with_capacity(partners.len());
            for (name, id) in partners {
                let fields = store.partner_conflicts(id)?;
                conflicted.push(view::Conflicted { name, id, fields });
            }
            view::conflicts(out, &conflicted, store.device_id())?;
        }
        PartnersCommand::Suggest {
            id,
            field,
            value,
            comment,
        } => {
            let proposal = outreach_core::store::Proposal {
                partner: id,
                field,
                value,
                comment,
            };
            writeln!(out, "{}", store.suggest(&proposal)?)?;
        }
        PartnersCommand::Location { command } => places::run_location(command, store, out)?,
        PartnersCommand::Service { command } => places::run_service(command, store, out)?,
        PartnersCommand::History {
            id,
            field: Some(field),
        } => {
            let changes = store.partner_history(id, &field)?;
            view::history(out, &field, &changes, store.device_id())?;
        }
        PartnersCommand::History { id, field: None } => {
            let changes = store.partner_changes(id)?;
            view::changes(out, &changes, store.device_id())?;
        }
    }
    Ok(())
}
