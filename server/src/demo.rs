//! `outreach-hub demo --data DIR`: a hub left in DIR with five organisations, their field
//! devices and four months of visit logs, pushed through the same sync path as a phone's (each
//! log validated and stored as a device's), for trying the reports by hand:
//! `outreach-hub report --data DIR ...`. Every visit is generated; the places are Belgian
//! municipalities with their postcodes, the organisations the network's kinds of partner.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use outreach_core::doc::{DocMeta, Document};
use outreach_core::model::{
    Activity, AgeBand, Country, DeviceId, Gender, Lang, Month, PartOfDay, Setting, Theme, VisitDetails,
    VisitId,
};
use outreach_core::sync::protocol::{
    to_wire, DocPush, EnrollRequest, Role, SyncRequest, AUTOMERGE_FORMAT, PROTOCOL_VERSION,
};

use crate::db::{devices, now};
use crate::error::{Error, Result};
use crate::hub::Hub;

/// The demo's organisations; the first is the hub's first (its admin organisation).
pub const DEMO_ORGANISATIONS: [&str; 5] = [
    "Fedasil",
    "Caritas International",
    "IOM",
    "CAW Brussel",
    "Stad Antwerpen",
];

/// Field devices per organisation.
const DEVICES_EACH: usize = 3;

/// Closed months of visits before the current one (which gets its first days too).
const MONTHS: u32 = 3;

/// Where the demo's visits happen.
const PLACES: [(u16, &str); 12] = [
    (1000, "Brussel"),
    (1030, "Schaerbeek"),
    (1080, "Molenbeek-Saint-Jean"),
    (2000, "Antwerpen"),
    (9000, "Gent"),
    (4000, "Liège"),
    (6000, "Charleroi"),
    (3500, "Hasselt"),
    (8000, "Brugge"),
    (5000, "Namur"),
    (7000, "Mons"),
    (3000, "Leuven"),
];

/// What the demo left in the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// The organisations made.
    pub organisations: Vec<String>,
    /// Field devices enrolled.
    pub devices: usize,
    /// Visits logged and synced.
    pub visits: usize,
    /// The closed months they cover (the current month's first visits aside).
    pub closed_months: Vec<Month>,
}

/// A small deterministic generator: the demo is the same every time.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.roll(items.len())]
    }
}

impl Hub {
    /// Fills a new hub with the demo's organisations, devices and visits, dated up to `today`.
    /// Refused, without a change, on a hub that has organisations already.
    pub fn seed_demo(&self, today: NaiveDate) -> Result<DemoSummary> {
        self.initialise(DEMO_ORGANISATIONS[0])?;
        for name in &DEMO_ORGANISATIONS[1..] {
            self.create_organisation(name)?;
        }
        let first_month = today
            .with_day(1)
            .and_then(|d| d.checked_sub_months(chrono::Months::new(MONTHS)))
            .ok_or_else(|| Error::invalid("date", "no months before it"))?;
        let mut dice = Dice(20261202);
        let mut visits = 0;
        let mut devices_made = 0;
        for org in DEMO_ORGANISATIONS {
            for n in 0..DEVICES_EACH {
                let (device, token) = self.enroll_demo_device(org, &format!("{org} phone {}", n + 1))?;
                devices_made += 1;
                let mut day = first_month;
                while day <= today {
                    let month = Month::of(day);
                    let mut log = Document::create(DocMeta::VisitLog { owner: device, month }, device)
                        .map_err(|e| Error::Corrupt(e.to_string()))?;
                    // A visit most working days of the month, more for the larger organisations.
                    for date in month_days(month, today) {
                        if dice.roll(7) < 5 - n {
                            log.put_visit(VisitId::random(), &demo_visit(&mut dice, date))
                                .map_err(|e| Error::Corrupt(e.to_string()))?;
                            visits += 1;
                        }
                    }
                    log.commit(Utc::now());
                    self.push_demo_log(&token, &mut log)?;
                    day = month
                        .first_day()
                        .checked_add_months(chrono::Months::new(1))
                        .unwrap_or(NaiveDate::MAX);
                }
            }
        }
        let closed_months = (0..MONTHS)
            .filter_map(|i| first_month.checked_add_months(chrono::Months::new(i)))
            .map(Month::of)
            .collect();
        Ok(DemoSummary {
            organisations: DEMO_ORGANISATIONS.iter().map(|s| s.to_string()).collect(),
            devices: devices_made,
            visits,
            closed_months,
        })
    }

    /// Enrolls a field device of `org` as a phone would, with a code made for it.
    fn enroll_demo_device(&self, org: &str, name: &str) -> Result<(DeviceId, String)> {
        let code =
            self.create_labelled_code(org, Role::Fieldworker, Duration::from_secs(3600), Some(name))?;
        let device = DeviceId::random();
        let req = EnrollRequest {
            protocol: PROTOCOL_VERSION,
            code: code.code,
            device_id: device,
            device_name: name.to_string(),
        };
        let enrolled = self
            .inner
            .db
            .write(|tx| devices::enroll(tx, &req, name, now()))
            .map_err(|e| Error::Server(format!("the demo device was not enrolled: {}", e.body.reason)))?;
        Ok((device, enrolled.token))
    }

    /// Pushes a device's visit log as its sync would, and checks that the hub took it.
    fn push_demo_log(&self, token: &str, log: &mut Document) -> Result<()> {
        let caller = self
            .authenticate(token)
            .map_err(|e| Error::Server(format!("the demo device was refused: {}", e.body.reason)))?;
        let heads = log.heads();
        let changes = log
            .changes_since(&[])
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            known: None,
            roster: None,
            report: None,
            format: AUTOMERGE_FORMAT.into(),
            docs: vec![DocPush {
                meta: Some(*log.meta()),
                ..DocPush::new(log.id(), to_wire(&heads), changes)
            }],
        };
        let answer = crate::sync::sync(&self.inner, &caller, &req)
            .map_err(|e| Error::Server(format!("the demo's visits were refused: {}", e.body.reason)))?;
        if let Some(refused) = answer.refused.first() {
            return Err(Error::Server(format!(
                "the demo's visits were refused: {}",
                refused.reason
            )));
        }
        Ok(())
    }
}

/// The days of `month` up to `today`.
fn month_days(month: Month, today: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = month.first_day();
    first
        .iter_days()
        .take_while(move |d| d.month() == first.month() && *d <= today)
}

/// A visit as the network logs them: mostly individual contacts of one to four people, some
/// group sessions, themes, languages and, now and then, the breakdowns a worker records.
fn demo_visit(dice: &mut Dice, date: NaiveDate) -> VisitDetails {
    let (postcode, municipality) = dice.pick(&PLACES);
    let group = dice.roll(6) == 0;
    let people = if group {
        6 + dice.roll(20)
    } else {
        1 + dice.roll(4)
    } as u32;
    let mut v = VisitDetails::new(
        date,
        dice.pick(PartOfDay::ALL),
        postcode,
        municipality,
        dice.pick(&[
            Setting::Street,
            Setting::Shelter,
            Setting::SoupKitchen,
            Setting::DayCentre,
            Setting::ReturnDesk,
        ]),
        if group {
            Activity::GroupSession
        } else {
            Activity::IndividualContact
        },
        people,
    );
    let themes = [
        Theme::VoluntaryReturn,
        Theme::Shelter,
        Theme::Medical,
        Theme::Legal,
        Theme::InternationalProtection,
        Theme::Employment,
    ];
    for _ in 0..1 + dice.roll(2) {
        v.themes.insert(dice.pick(&themes));
    }
    for _ in 0..1 + dice.roll(2) {
        if let Some(lang) = Lang::code(dice.pick(&["fr", "nl", "en", "ar", "ti", "ps", "uk", "ro"])) {
            v.languages.insert(lang);
        }
    }
    if dice.roll(3) == 0 {
        let women = dice.roll(people as usize + 1) as u32;
        if women > 0 {
            v.by_gender.insert(Gender::Female, women);
        }
        if people > women {
            v.by_gender.insert(Gender::Male, people - women);
        }
        v.by_age.insert(
            dice.pick(&[AgeBand::From18To25, AgeBand::From26To35, AgeBand::From36To50]),
            people,
        );
    }
    if dice.roll(4) == 0 {
        let country: Option<Country> = dice
            .pick(&["ER", "SY", "AF", "MA", "GN", "UA", "RO", "DZ"])
            .parse()
            .ok();
        if let Some(c) = country {
            v.origins.insert(c, 1 + dice.roll(people as usize) as u32);
        }
    }
    v.follow_up = dice.roll(5) == 0;
    v
}
