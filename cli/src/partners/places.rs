//! `outreach partners location` and `outreach partners service`: a partner's offices and
//! services, added, edited field by field and closed (never deleted), with their weekly hours and
//! dated exceptions (a holiday closure, special hours on a day).

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use outreach_core::doc::{LocationEdit, PartnerEdit, ServiceEdit};
use outreach_core::model::{
    HoursException, Lang, Location, LocationId, PartnerId, PartnerStatus, Service, ServiceId, Theme,
    WeeklyHours,
};
use outreach_core::Store;

use super::set_or_clear;
use crate::error::CliResult;
use crate::output::Out;
use crate::parse::{self, code};

/// Commands on a partner's offices.
#[derive(Debug, Subcommand)]
pub enum LocationCommand {
    /// Add an office to a partner; prints its id
    Add {
        /// The partner's id
        partner: PartnerId,
        /// Postcode of the office
        #[arg(long, value_parser = parse::postcode)]
        postcode: u16,
        /// Municipality of the office
        #[arg(long)]
        municipality: String,
        #[command(flatten)]
        fields: Box<LocationFields>,
    },
    /// Change fields of an office, all in one change
    Edit {
        /// The partner's id
        partner: PartnerId,
        /// The office's id (as `partners show` lists it)
        location: LocationId,
        #[command(flatten)]
        edits: Box<LocationEdits>,
    },
    /// Close an office: it stays in the entry's history, and leaves searches and `open at`
    Close {
        /// The partner's id
        partner: PartnerId,
        /// The office's id
        location: LocationId,
        /// Its new status: defunct, inactive, or temporarily_closed
        #[arg(long, value_parser = code::<PartnerStatus>(), default_value = "defunct")]
        status: PartnerStatus,
    },
}

/// The optional fields of a new office.
#[derive(Debug, Args)]
pub struct LocationFields {
    /// Name of the office, if the partner has several
    #[arg(long)]
    name: Option<String>,
    /// Street and number
    #[arg(long)]
    street: Option<String>,
    /// Latitude of the office (with --lon)
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude of the office (with --lat)
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    /// Weekly opening hours, such as "mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00"
    #[arg(long, value_parser = parse::hours)]
    hours: Option<WeeklyHours>,
    #[command(flatten)]
    exceptions: Exceptions,
    /// Accessibility notes (wheelchair access, no registration needed...)
    #[arg(long)]
    accessibility: Option<String>,
}

/// Dated exceptions to weekly hours.
#[derive(Debug, Args)]
pub struct Exceptions {
    /// Closed from a day to a day, both included: 2026-12-24..2027-01-01, or one day (repeatable)
    #[arg(long = "closed", value_name = "FROM[..TO]", value_parser = parse::closure)]
    closed: Vec<HoursException>,
    /// Special hours on a day or days, instead of the weekly ones: 2026-12-31=09:00-12:00
    /// (repeatable)
    #[arg(long = "special", value_name = "FROM[..TO]=HOURS", value_parser = parse::special)]
    special: Vec<HoursException>,
}

impl Exceptions {
    fn into_vec(self) -> Vec<HoursException> {
        self.closed.into_iter().chain(self.special).collect()
    }
}

/// The edits of an office; at least one must be given.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct LocationEdits {
    /// New name of the office
    #[arg(long)]
    name: Option<String>,
    /// Remove the office's name
    #[arg(long, conflicts_with = "name")]
    clear_name: bool,
    /// New street and number
    #[arg(long)]
    street: Option<String>,
    /// Remove the street
    #[arg(long, conflicts_with = "street")]
    clear_street: bool,
    /// New postcode (the province follows)
    #[arg(long, value_parser = parse::postcode)]
    postcode: Option<u16>,
    /// New municipality
    #[arg(long)]
    municipality: Option<String>,
    /// New latitude (with --lon)
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// New longitude (with --lat)
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    /// Remove the coordinates
    #[arg(long, conflicts_with_all = ["lat", "lon"])]
    clear_coordinates: bool,
    /// New weekly opening hours ("closed" for none)
    #[arg(long, value_parser = parse::hours)]
    hours: Option<WeeklyHours>,
    /// Closed from a day to a day, both included: 2026-12-24..2027-01-01, or one day (repeatable)
    #[arg(long = "closed", value_name = "FROM[..TO]", value_parser = parse::closure)]
    closed: Vec<HoursException>,
    /// Special hours on a day or days, instead of the weekly ones: 2026-12-31=09:00-12:00
    /// (repeatable)
    #[arg(long = "special", value_name = "FROM[..TO]=HOURS", value_parser = parse::special)]
    special: Vec<HoursException>,
    /// Remove the exception that starts on this day (repeatable)
    #[arg(long = "remove-exception", value_name = "FROM", value_parser = parse::date)]
    remove_exceptions: Vec<NaiveDate>,
    /// New accessibility notes
    #[arg(long)]
    accessibility: Option<String>,
    /// Remove the accessibility notes
    #[arg(long, conflicts_with = "accessibility")]
    clear_accessibility: bool,
    /// New status: active, inactive, temporarily_closed or defunct
    #[arg(long, value_parser = code::<PartnerStatus>())]
    status: Option<PartnerStatus>,
}

impl LocationEdits {
    fn into_edits(self) -> Vec<LocationEdit> {
        use LocationEdit as E;
        let mut edits = Vec::new();
        edits.extend(set_or_clear(self.name, self.clear_name).map(E::Name));
        edits.extend(set_or_clear(self.street, self.clear_street).map(E::Street));
        edits.extend(self.postcode.map(E::Postcode));
        edits.extend(self.municipality.map(E::Municipality));
        if self.clear_coordinates {
            edits.push(E::Coordinates(None));
        } else if let Some(point) = self.lat.zip(self.lon) {
            edits.push(E::Coordinates(Some(point)));
        }
        edits.extend(self.hours.map(E::Hours));
        edits.extend(self.remove_exceptions.into_iter().map(E::RemoveException));
        edits.extend(self.closed.into_iter().chain(self.special).map(E::PutException));
        edits.extend(set_or_clear(self.accessibility, self.clear_accessibility).map(E::Accessibility));
        edits.extend(self.status.map(E::Status));
        edits
    }
}

/// Commands on a partner's services.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Add a service to a partner; prints its id
    Add {
        /// The partner's id
        partner: PartnerId,
        /// Name of the service
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: Box<ServiceFields>,
    },
    /// Change fields of a service, all in one change
    Edit {
        /// The partner's id
        partner: PartnerId,
        /// The service's id (as `partners show` lists it)
        service: ServiceId,
        #[command(flatten)]
        edits: Box<ServiceEdits>,
    },
    /// Close a service: it stays in the entry's history, and its themes and languages leave
    /// searches
    Close {
        /// The partner's id
        partner: PartnerId,
        /// The service's id
        service: ServiceId,
        /// Its new status: defunct, inactive, or temporarily_closed
        #[arg(long, value_parser = code::<PartnerStatus>(), default_value = "defunct")]
        status: PartnerStatus,
    },
}

/// The optional fields of a new service.
#[derive(Debug, Args)]
pub struct ServiceFields {
    /// The description in one language (repeatable)
    #[arg(long = "description", value_name = "LANG=TEXT", value_parser = parse::lang_text)]
    descriptions: Vec<(Lang, String)>,
    /// A theme of the service (repeatable)
    #[arg(long = "theme", value_name = "THEME", value_parser = code::<Theme>())]
    themes: Vec<Theme>,
    /// A language it is offered in (repeatable)
    #[arg(long = "language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    languages: Vec<Lang>,
    /// Who can use it
    #[arg(long)]
    eligibility: Option<String>,
    /// What it costs
    #[arg(long)]
    fees: Option<String>,
    /// How to get it: walk in, appointment, referral
    #[arg(long)]
    how_to_apply: Option<String>,
    /// When it runs, if not during the offices' hours: "tue,thu 13:00-16:00"
    #[arg(long, value_parser = parse::hours)]
    hours: Option<WeeklyHours>,
    #[command(flatten)]
    exceptions: Exceptions,
}

/// The edits of a service; at least one must be given.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct ServiceEdits {
    /// New name
    #[arg(long)]
    name: Option<String>,
    /// Set the description in one language; an empty TEXT removes it (repeatable)
    #[arg(long = "description", value_name = "LANG=TEXT", value_parser = parse::lang_text)]
    descriptions: Vec<(Lang, String)>,
    /// Add a theme (repeatable)
    #[arg(long = "add-theme", value_name = "THEME", value_parser = code::<Theme>())]
    add_themes: Vec<Theme>,
    /// Remove a theme (repeatable)
    #[arg(long = "remove-theme", value_name = "THEME", value_parser = code::<Theme>())]
    remove_themes: Vec<Theme>,
    /// Add a language (repeatable)
    #[arg(long = "add-language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    add_languages: Vec<Lang>,
    /// Remove a language (repeatable)
    #[arg(long = "remove-language", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
    remove_languages: Vec<Lang>,
    /// New eligibility
    #[arg(long)]
    eligibility: Option<String>,
    /// Remove the eligibility
    #[arg(long, conflicts_with = "eligibility")]
    clear_eligibility: bool,
    /// New fees
    #[arg(long)]
    fees: Option<String>,
    /// Remove the fees
    #[arg(long, conflicts_with = "fees")]
    clear_fees: bool,
    /// New way to apply
    #[arg(long)]
    how_to_apply: Option<String>,
    /// Remove the way to apply
    #[arg(long, conflicts_with = "how_to_apply")]
    clear_how_to_apply: bool,
    /// New weekly schedule ("closed": during the offices' hours)
    #[arg(long, value_parser = parse::hours)]
    hours: Option<WeeklyHours>,
    /// Closed from a day to a day, both included: 2026-12-24..2027-01-01, or one day (repeatable)
    #[arg(long = "closed", value_name = "FROM[..TO]", value_parser = parse::closure)]
    closed: Vec<HoursException>,
    /// Special hours on a day or days, instead of the weekly ones: 2026-12-31=09:00-12:00
    /// (repeatable)
    #[arg(long = "special", value_name = "FROM[..TO]=HOURS", value_parser = parse::special)]
    special: Vec<HoursException>,
    /// Remove the exception that starts on this day (repeatable)
    #[arg(long = "remove-exception", value_name = "FROM", value_parser = parse::date)]
    remove_exceptions: Vec<NaiveDate>,
    /// New status: active, inactive, temporarily_closed or defunct
    #[arg(long, value_parser = code::<PartnerStatus>())]
    status: Option<PartnerStatus>,
}

impl ServiceEdits {
    fn into_edits(self) -> Vec<ServiceEdit> {
        use ServiceEdit as E;
        let mut edits = Vec::new();
        edits.extend(self.name.map(E::Name));
        let descriptions: std::collections::BTreeMap<Lang, String> = self.descriptions.into_iter().collect();
        edits.extend(descriptions.into_iter().map(|(lang, text)| E::Description {
            lang,
            text: (!text.is_empty()).then_some(text),
        }));
        edits.extend(self.add_themes.into_iter().map(E::AddTheme));
        edits.extend(self.remove_themes.into_iter().map(E::RemoveTheme));
        edits.extend(self.add_languages.into_iter().map(E::AddLanguage));
        edits.extend(self.remove_languages.into_iter().map(E::RemoveLanguage));
        edits.extend(set_or_clear(self.eligibility, self.clear_eligibility).map(E::Eligibility));
        edits.extend(set_or_clear(self.fees, self.clear_fees).map(E::Fees));
        edits.extend(set_or_clear(self.how_to_apply, self.clear_how_to_apply).map(E::HowToApply));
        edits.extend(self.hours.map(E::Hours));
        edits.extend(self.remove_exceptions.into_iter().map(E::RemoveException));
        edits.extend(self.closed.into_iter().chain(self.special).map(E::PutException));
        edits.extend(self.status.map(E::Status));
        edits
    }
}

/// Runs a `partners location` command.
pub fn run_location(command: LocationCommand, store: &Store, out: Out<'_>) -> CliResult {
    match command {
        LocationCommand::Add {
            partner,
            postcode,
            municipality,
            fields,
        } => {
            let f = *fields;
            let mut l = Location::new(postcode, municipality);
            l.name = f.name;
            l.street = f.street;
            l.latitude = f.lat;
            l.longitude = f.lon;
            l.hours = f.hours.unwrap_or_default();
            l.exceptions = f.exceptions.into_vec();
            l.exceptions.sort();
            l.accessibility = f.accessibility;
            let id = l.id;
            store.edit_partner(partner, &[PartnerEdit::PutLocation(l)])?;
            writeln!(out, "{id}")?;
        }
        LocationCommand::Edit {
            partner,
            location,
            edits,
        } => {
            let edits: Vec<PartnerEdit> = edits
                .into_edits()
                .into_iter()
                .map(|edit| PartnerEdit::Location { id: location, edit })
                .collect();
            store.edit_partner(partner, &edits)?;
        }
        LocationCommand::Close {
            partner,
            location,
            status,
        } => store.edit_partner(
            partner,
            &[PartnerEdit::Location {
                id: location,
                edit: LocationEdit::Status(status),
            }],
        )?,
    }
    Ok(())
}

/// Runs a `partners service` command.
pub fn run_service(command: ServiceCommand, store: &Store, out: Out<'_>) -> CliResult {
    match command {
        ServiceCommand::Add {
            partner,
            name,
            fields,
        } => {
            let f = *fields;
            let mut s = Service::new(name);
            s.description.extend(f.descriptions);
            s.themes.extend(f.themes);
            s.languages.extend(f.languages);
            s.eligibility = f.eligibility;
            s.fees = f.fees;
            s.how_to_apply = f.how_to_apply;
            s.schedule = f.hours.unwrap_or_default();
            s.exceptions = f.exceptions.into_vec();
            s.exceptions.sort();
            let id = s.id;
            store.edit_partner(partner, &[PartnerEdit::PutService(s)])?;
            writeln!(out, "{id}")?;
        }
        ServiceCommand::Edit {
            partner,
            service,
            edits,
        } => {
            let edits: Vec<PartnerEdit> = edits
                .into_edits()
                .into_iter()
                .map(|edit| PartnerEdit::Service { id: service, edit })
                .collect();
            store.edit_partner(partner, &edits)?;
        }
        ServiceCommand::Close {
            partner,
            service,
            status,
        } => store.edit_partner(
            partner,
            &[PartnerEdit::Service {
                id: service,
                edit: ServiceEdit::Status(status),
            }],
        )?,
    }
    Ok(())
}
