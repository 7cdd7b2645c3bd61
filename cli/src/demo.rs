//! The demonstration: two offline replicas of a small CONEX directory (a coordinator's laptop in
//! Brussels and a coordinator's phone in Liège, out on a night round) edit concurrently, log
//! visits, meet again and converge.

use std::io::Write;

use chrono::Local;
use outreach_core::doc::PartnerEdit;
use outreach_core::model::{
    Activity, Lang, PartOfDay, PartnerStatus, Referral, Setting, Theme, VisitDetails,
};
use outreach_core::sample::{conex_directory, voluntary_return_brochure};
use outreach_core::store::PartnerQuery;
use outreach_core::{Error, Store, StoreKey, StoreOptions};

use crate::error::CliError;

type DemoResult<T> = Result<T, CliError>;

/// Prints a line; a closed standard output (`| head`) ends the demo quietly, not with a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(CliError::Output)?
    };
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::msg(e.to_string())
}

/// Sends every change `from` has and `to` lacks; returns the bytes sent.
fn sync(from: &Store, to: &Store) -> DemoResult<usize> {
    let mut sent = 0;
    for (doc, _) in from.documents().map_err(err)? {
        let have = match to.document_heads(doc) {
            Ok(heads) => heads,
            Err(Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(err(e)),
        };
        let bytes = from.document_changes_since(doc, &have).map_err(err)?;
        if !bytes.is_empty() {
            sent += bytes.len();
            to.apply_remote(doc, &bytes).map_err(err)?;
        }
    }
    Ok(sent)
}

fn lang(code: &str) -> DemoResult<Lang> {
    Lang::code(code).ok_or_else(|| CliError::msg(format!("unknown language {code}")))
}

/// Runs the demo in a temporary folder that is deleted afterwards.
pub fn run() -> DemoResult<()> {
    let dir = tempfile::tempdir().map_err(err)?;
    let open = |name: &str| {
        Store::open(
            dir.path().join(name),
            StoreKey::random().as_bytes(),
            StoreOptions::default(),
        )
    };
    let coordinator = open("brussels.db").map_err(err)?;
    let worker = open("liege.db").map_err(err)?;
    let who = |id| {
        if id == coordinator.device_id() {
            "Brussels laptop"
        } else {
            "Liège phone"
        }
    };
    let directory = conex_directory();
    let (liege, charleroi, caw) = (directory[3].id, directory[4].id, directory[5].id);

    say!("Outreach demo: two encrypted replicas of a sample CONEX directory (public contact points only)");
    for p in &directory {
        coordinator.add_partner(p).map_err(err)?;
    }
    coordinator
        .put_brochure(&voluntary_return_brochure())
        .map_err(err)?;
    let bytes = sync(&coordinator, &worker)?;
    say!(
        "1. The Brussels laptop enters {} partners and a brochure; the Liège phone copies them ({bytes} bytes).",
        directory.len()
    );

    say!("2. Both go offline, and their coordinators edit the same entries:");
    coordinator
        .edit_partner(
            liege,
            &[PartnerEdit::Email(Some("retour.liege@example.org".into()))],
        )
        .map_err(err)?;
    coordinator
        .mark_verified(caw, Local::now().date_naive(), "CONEX Limburg")
        .map_err(err)?;
    say!("   Brussels: Liège desk e-mail -> retour.liege@example.org; CAW Limburg marked verified today");
    worker
        .edit_partner(liege, &[PartnerEdit::Email(Some("liege@example.org".into()))])
        .map_err(err)?;
    worker
        .edit_partner(caw, &[PartnerEdit::AddLanguage(lang("ar")?)])
        .map_err(err)?;
    worker
        .set_partner_status(charleroi, PartnerStatus::TemporarilyClosed)
        .map_err(err)?;
    say!("   Liège:    Liège desk e-mail -> liege@example.org; CAW Limburg speaks Arabic; Charleroi desk closed");

    let today = Local::now().date_naive();
    let brochure = voluntary_return_brochure().id;
    let mut shelter = VisitDetails::new(
        today,
        PartOfDay::Night,
        1000,
        "Brussel",
        Setting::Shelter,
        Activity::GroupSession,
        9,
    );
    shelter.themes.extend([Theme::Shelter, Theme::VoluntaryReturn]);
    shelter.languages.extend([lang("ar")?, lang("fr")?]);
    shelter.brochures.insert(brochure, 4);
    shelter.note = "Info session 21:00-22:15, questions on the return programme.".into();
    let mut kitchen = VisitDetails::new(
        today,
        PartOfDay::Evening,
        9000,
        "Gent",
        Setting::SoupKitchen,
        Activity::IndividualContact,
        2,
    );
    kitchen.themes.extend([Theme::Medical, Theme::Legal]);
    kitchen.referrals.insert(Referral {
        partner: directory[7].id,
        theme: Theme::Legal,
    });
    let mut street = VisitDetails::new(
        today,
        PartOfDay::Afternoon,
        3500,
        "Hasselt",
        Setting::Street,
        Activity::IndividualContact,
        1,
    );
    street.themes.insert(Theme::VoluntaryReturn);
    street.follow_up = true;
    for v in [&shelter, &kitchen, &street] {
        worker.log_visit(v).map_err(err)?;
    }
    say!("3. On the night round the Liège phone logs 3 anonymous visits (12 people).");
    let mut risky = street.clone();
    risky.note = "Wants a call back on 0470 12 34 56 about the journey.".into();
    match worker.log_visit(&risky) {
        Err(Error::PersonalData(spans)) => {
            let found: Vec<String> = spans
                .iter()
                .map(|s| {
                    let start = risky.note[..s.start].chars().count();
                    let end = risky.note[..s.end].chars().count();
                    format!("{} at characters {}-{}", s.kind, start + 1, end)
                })
                .collect();
            say!(
                "   A note with a phone number is refused ({}); nothing is stored.",
                found.join(", ")
            );
        }
        Ok(_) => return Err(CliError::msg("the privacy guard let a phone number through")),
        Err(e) => return Err(err(e)),
    }

    let up = sync(&worker, &coordinator)?;
    let down = sync(&coordinator, &worker)?;
    let everything = PartnerQuery {
        include_closed: true,
        ..PartnerQuery::default()
    };
    let a = coordinator.search_partners(&everything).map_err(err)?;
    if a != worker.search_partners(&everything).map_err(err)? {
        return Err(CliError::msg("the replicas did not converge"));
    }
    say!("4. Back online they exchange {up} + {down} bytes and converge. The directory, identical on both:");
    let mut rows = a;
    rows.sort_by(|x, y| x.name.cmp(&y.name));
    let width =
        |f: &dyn Fn(&outreach_core::store::PartnerSummary) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let (wn, wm) = (
        width(&|s| s.name.chars().count()),
        width(&|s| s.municipalities.join(", ").chars().count()),
    );
    say!(
        "   {:<wn$}  {:<wm$}  {:<18}  {:<17}  verified",
        "partner",
        "office",
        "status",
        "languages"
    );
    for s in &rows {
        let langs: Vec<&str> = s.languages.iter().map(|l| l.as_str()).collect();
        say!(
            "   {:<wn$}  {:<wm$}  {:<18}  {:<17}  {}{}",
            s.name,
            s.municipalities.join(", "),
            s.status.as_str(),
            langs.join(" "),
            s.verified_on.map_or("-".to_string(), |d| d.to_string()),
            if s.has_conflicts { "  ! conflict" } else { "" },
        );
    }
    let conflicts = coordinator.partner_conflicts(liege).map_err(err)?;
    for c in &conflicts {
        say!(
            "5. Conflict kept for review on \"Fedasil return desk Liège\", field {}:",
            c.path
        );
        for v in &c.values {
            let at = v.time.with_timezone(&Local).format("%H:%M:%S");
            say!("   {:<26} set on the {} at {at}", v.value, who(v.author));
        }
    }
    coordinator
        .edit_partner(
            liege,
            &[PartnerEdit::Email(Some("retour.liege@example.org".into()))],
        )
        .map_err(err)?;
    sync(&coordinator, &worker)?;
    let left = worker.partner_conflicts(liege).map_err(err)?.len();
    say!("   The Brussels coordinator settles it by writing the field again; conflicts left on the phone: {left}.");

    let legal_ar = PartnerQuery {
        themes: vec![Theme::Legal],
        languages: vec![lang("ar")?],
        ..PartnerQuery::default()
    };
    let found: Vec<String> = worker
        .search_partners(&legal_ar)
        .map_err(err)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    say!(
        "6. Offline search on the phone, legal help in Arabic: {}",
        found.join(", ")
    );
    say!("7. The phone's own figures this month (people reached, per theme; no one identifiable):");
    let month = outreach_core::model::Month::of(today);
    for c in worker
        .visit_counts()
        .map_err(err)?
        .into_iter()
        .filter(|c| c.month == month)
    {
        let label = c
            .theme
            .map_or("all visits".to_string(), |t| t.as_str().replace('_', " "));
        let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        say!(
            "   {:<18} {}, {}",
            label,
            plural(c.visits, "visit", "visits"),
            plural(c.people, "person", "people")
        );
    }
    Ok(())
}
