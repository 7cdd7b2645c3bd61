//! The demo, run by `cargo run --release -p outreach-demo`: a hub on a loopback port with a temporary data
//! directory, two coordinators and two field workers enrolled through its HTTP API, offline work
//! on every device (with a same-field conflict), syncs, convergence, a lost phone revoked and
//! wiped, and the hub's visit counts. Sample data only: the CONEX partners' public,
//! organisational contact points.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{Datelike, Days};
use outreach_core::doc::PartnerEdit;
use outreach_core::model::{Activity, Lang, PartOfDay, Referral, Setting, Theme, VisitDetails};
use outreach_core::sample::{conex_directory, sample_brochure_pdf, voluntary_return_brochure};
use outreach_core::store::PartnerQuery;
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_core::{CancelToken, Error, Store, StoreKey, StoreOptions, SyncOptions, SyncReport};

use outreach_hub::{Hub, HubConfig};

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Prints a line; a closed standard output (`| head`) ends the demo with an I/O error instead
/// of a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

/// A device of the demo.
struct Device {
    name: &'static str,
    store: Store,
    path: PathBuf,
}

fn lang(code: &str) -> DemoResult<Lang> {
    Lang::code(code).ok_or_else(|| format!("unknown language {code}").into())
}

fn options() -> DemoResult<SyncOptions> {
    Ok(SyncOptions {
        languages: vec![lang("fr")?, lang("nl")?],
        ..SyncOptions::default()
    })
}

fn summary(r: &SyncReport) -> String {
    let trips = if r.round_trips == 1 {
        "round trip"
    } else {
        "round trips"
    };
    let mut s = format!(
        "{} {trips}, {} B up, {} B down",
        r.round_trips, r.bytes_up, r.bytes_down
    );
    if r.changes_pushed + r.changes_pulled > 0 {
        let changes = if r.changes_pushed == 1 {
            "change"
        } else {
            "changes"
        };
        s.push_str(&format!(
            "; {} {changes} pushed, {} pulled",
            r.changes_pushed, r.changes_pulled
        ));
    }
    if r.files.fetched > 0 {
        s.push_str(&format!("; {} brochure file fetched", r.files.fetched));
    }
    s
}

impl Device {
    async fn sync(&self) -> DemoResult<SyncReport> {
        let report = self.store.sync(&options()?, None, &CancelToken::new()).await?;
        say!("   {:<20} {}", self.name, summary(&report));
        Ok(report)
    }
}

/// The visits a field worker logged this month: varied, non-identifying.
fn visits(
    postcode: u16,
    municipality: &str,
    referral: outreach_core::model::PartnerId,
) -> DemoResult<Vec<VisitDetails>> {
    // Last month's visits: the hub publishes figures for closed periods only.
    let today = today_utc();
    let last_day = today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today);
    let settings = [
        Setting::Street,
        Setting::Shelter,
        Setting::SoupKitchen,
        Setting::DayCentre,
    ];
    let themes = [
        Theme::VoluntaryReturn,
        Theme::Shelter,
        Theme::Medical,
        Theme::Legal,
    ];
    let mut out = Vec::new();
    for i in 0..12u32 {
        let date = last_day
            .checked_sub_days(Days::new(u64::from(i % last_day.day())))
            .unwrap_or(last_day);
        let mut v = VisitDetails::new(
            date,
            PartOfDay::ALL[i as usize % 4],
            postcode,
            municipality,
            settings[i as usize % 4],
            if i % 5 == 0 {
                Activity::GroupSession
            } else {
                Activity::IndividualContact
            },
            if i % 5 == 0 { 8 } else { 1 + i % 3 },
        );
        v.themes.insert(themes[i as usize % 4]);
        v.themes.insert(Theme::VoluntaryReturn);
        v.languages
            .insert(lang(["ar", "fr", "nl", "ti"][i as usize % 4])?);
        if i % 3 == 0 {
            v.referrals.insert(Referral {
                partner: referral,
                theme: Theme::VoluntaryReturn,
            });
        }
        out.push(v);
    }
    Ok(out)
}

/// Runs the demo.
/// Runs the demo; a reader of its output that goes away (`| head`) ends it quietly.
fn main() -> std::process::ExitCode {
    // Internal: a validator of the demo's hub, which starts them from this program.
    if std::env::args().nth(1).as_deref() == Some(outreach_hub::VALIDATOR_ARG) {
        return outreach_hub::validator_main();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: no async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> DemoResult<()> {
    let dir = tempfile::tempdir()?;
    // Pushed documents are validated in processes of their own, started from this program.
    let config = HubConfig {
        isolation: outreach_hub::Isolation::Program(std::env::current_exe()?),
        ..HubConfig::default()
    };
    let hub = Hub::open(dir.path().join("hub"), config)?;
    let fedasil = hub.create_organisation("Fedasil")?.id;
    let caw = hub.create_organisation("CAW Limburg")?.id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = hub.serve(listener, None)?;
    let url = server.url();
    say!("Outreach hub demo: a hub on {url}, four devices with encrypted stores, sample data.");

    say!("1. Devices enroll through the hub's API with one-time codes (outreach://enroll links):");
    let mut devices = Vec::new();
    for (name, org, role) in [
        ("coordinator Brussels", &fedasil, Role::Coordinator),
        ("coordinator Hasselt", &caw, Role::Coordinator),
        ("worker Gent", &fedasil, Role::Fieldworker),
        ("worker Hasselt", &caw, Role::Fieldworker),
    ] {
        let code = hub
            .create_enrollment_code(org, role, Duration::from_secs(3600))?
            .code;
        let link = EnrollLink {
            hub: url.clone(),
            code,
        };
        let path = dir.path().join(format!("{}.db", name.replace(' ', "-")));
        let store = Store::open(&path, StoreKey::random().as_bytes(), StoreOptions::default())?;
        let e = store.enroll(&link.to_string(), None, name, &options()?).await?;
        say!(
            "   {name:<20} {:<11} of {:<11}  with code {}",
            e.role,
            e.org_name,
            link.code
        );
        devices.push(Device { name, store, path });
    }
    let [brussels, hasselt, gent, limburg_worker] = &devices[..] else {
        return Err("four devices".into());
    };

    let directory = conex_directory();
    let (liege, caw_limburg, caritas) = (directory[3].id, directory[5].id, directory[7].id);
    for p in &directory {
        brussels.store.add_partner(p)?;
    }
    let brochure = voluntary_return_brochure();
    let mut catalog_entry = brochure.clone();
    catalog_entry.files.clear();
    brussels.store.put_brochure(&catalog_entry)?;
    brussels.store.publish_brochure_file(
        brochure.id,
        lang("fr")?,
        &sample_brochure_pdf(),
        "application/pdf",
        "retour-volontaire.pdf",
    )?;
    say!(
        "2. Brussels enters {} partners and publishes a brochure (French PDF); everyone syncs:",
        directory.len()
    );
    for d in &devices {
        d.sync().await?;
    }

    say!("3. Offline: both coordinators change the Liège desk's e-mail; each worker logs 12 visits.");
    brussels.store.edit_partner(
        liege,
        &[PartnerEdit::Email(Some("retour.liege@example.org".into()))],
    )?;
    hasselt
        .store
        .edit_partner(liege, &[PartnerEdit::Email(Some("liege@example.org".into()))])?;
    hasselt
        .store
        .edit_partner(caw_limburg, &[PartnerEdit::AddLanguage(lang("ar")?)])?;
    for (d, postcode, town) in [(gent, 9000, "Gent"), (limburg_worker, 3500, "Hasselt")] {
        for v in visits(postcode, town, caritas)? {
            d.store.log_visit(&v)?;
        }
    }
    let mut risky = visits(9000, "Gent", caritas)?.remove(0);
    risky.note = "Call him back on +32 470 12 34 56.".into();
    match gent.store.log_visit(&risky) {
        Err(Error::PersonalData(spans)) => say!(
            "   A note with a phone number is refused on the Gent phone ({}); nothing is stored.",
            spans
                .iter()
                .map(|s| s.kind.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => return Err(format!("the privacy guard let a note through: {other:?}").into()),
    }

    say!("4. Back online, in turn, twice:");
    for _ in 0..2 {
        for d in &devices {
            d.sync().await?;
        }
    }
    let everything = PartnerQuery {
        include_closed: true,
        ..PartnerQuery::default()
    };
    let first = brussels.store.search_partners(&everything)?;
    let mut same = true;
    for d in &devices[1..] {
        same &= d.store.search_partners(&everything)? == first;
    }
    say!("   Directory identical on all four devices: {same}.");
    for c in hasselt.store.partner_conflicts(liege)? {
        let who = |a| {
            devices
                .iter()
                .find(|d| d.store.device_id() == a)
                .map_or("?", |d| d.name)
        };
        let values: Vec<String> = c
            .values
            .iter()
            .map(|v| format!("{} ({})", v.value, who(v.author)))
            .collect();
        say!(
            "   Kept for review, Liège desk {}: {}",
            c.path,
            values.join(" / ")
        );
    }
    let file = limburg_worker.store.brochure_file(brochure.id, &[lang("fr")?])?;
    say!(
        "   The Hasselt worker's phone holds the brochure file, verified: {}.",
        file.map_or("no".to_string(), |f| format!(
            "{} ({} bytes)",
            f.file_name, f.size
        ))
    );

    say!("5. The Gent phone is lost: the hub revokes it; at its next sync it is told to wipe itself.");
    hub.revoke_device(gent.store.device_id())?;
    match gent.store.sync(&options()?, None, &CancelToken::new()).await {
        Err(Error::RevokedAndWiped) => say!("   Sync refused; store wiped: {}.", !gent.path.exists()),
        other => return Err(format!("the revoked device was not wiped: {other:?}").into()),
    }

    say!(
        "6. Last month's figures on the hub (no count below 5 is shown, nor any cell that would reveal one):"
    );
    let spec = outreach_hub::TableSpec {
        dims: vec![outreach_hub::Dim::Organisation, outreach_hub::Dim::Theme],
        period: outreach_hub::Period::last_month(today_utc()),
        measure: outreach_hub::Measure::People,
        protection: outreach_hub::Protection::default(),
    };
    for line in hub.report(&spec)?.to_string().lines() {
        say!("   {line}");
    }
    server.shutdown().await?;
    Ok(())
}

/// Today by the hub's clock, which decides which periods are closed.
fn today_utc() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
