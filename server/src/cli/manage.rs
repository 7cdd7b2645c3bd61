//! The administration commands that print more than a line: creating a hub, encrypting and
//! backing up its database, enrollment codes (as a link and a QR code), and the lists of
//! organisations, codes and devices.

use std::io::Write;
use std::path::Path;

use outreach_core::sync::protocol::EnrollLink;
use outreach_hub::{DbKey, EnrollmentCode, Hub, HubConfig};

use super::{hub_url, open, CliResult, DataArg, SEAL_KEY_VAR};

pub(super) fn init(data: &DataArg, org: &str, url: &str) -> CliResult {
    let url = hub_url(url)?;
    let hub = data.open(HubConfig::default(), true)?;
    let code = hub.initialise(org)?;
    hub.set_hub_url(&url)?;
    println!(
        "created a hub in {} with organisation {}{}",
        hub.location(),
        code.org.name,
        if data.db_key_file.is_some() {
            ", its database encrypted"
        } else {
            ""
        }
    );
    print_code(&code, &url)
}

pub(super) fn encrypt(data: &DataArg) -> CliResult {
    let Some(path) = &data.db_key_file else {
        return Err(
            "give the new key with --db-key-file (make one with `openssl rand -hex 32 > KEY; chmod 600 KEY`)"
                .into(),
        );
    };
    let dir = data.dir("encrypt")?;
    Hub::encrypt(dir, &DbKey::from_file(path)?)?;
    // Opening it once checks the key and narrows the files.
    data.open(HubConfig::default(), false)?;
    println!(
        "encrypted {}: give --db-key-file {} to every command from now on; backups made before are still plaintext",
        dir.join(outreach_hub::DATABASE_FILE).display(),
        path.display()
    );
    Ok(())
}

pub(super) fn backup(data: &DataArg, to: &Path) -> CliResult {
    let hub = open(data)?;
    let size = hub.backup_to(to)?;
    let seal_key = match (&data.seal_key_file, std::env::var_os(SEAL_KEY_VAR), &data.data) {
        (_, Some(_), _) => format!("the key in {SEAL_KEY_VAR}"),
        (Some(path), None, _) => path.display().to_string(),
        (None, None, Some(dir)) => dir.join(outreach_hub::SEAL_KEY_FILE).display().to_string(),
        (None, None, None) => "the seal key".into(),
    };
    let Some(dir) = &data.data else {
        println!(
            "backed up the PostgreSQL database to {} ({size} bytes, pg_dump's custom format, brochure files included)",
            to.display()
        );
        println!(
            "not in it: the seal key, {seal_key} (keep a copy apart: a restored hub needs it); restore with pg_restore into a new database (see the README)"
        );
        return Ok(());
    };
    println!(
        "backed up {} to {} ({size} bytes{})",
        dir.join(outreach_hub::DATABASE_FILE).display(),
        to.display(),
        if data.db_key_file.is_some() {
            ", encrypted with the database key"
        } else {
            ""
        }
    );
    println!(
        "not in it: the brochure files, {}/ (copy them with rsync), and the seal key, {seal_key} (keep a copy apart: a restored hub needs it)",
        dir.join(outreach_hub::BLOBS_DIR).display()
    );
    Ok(())
}

/// Prints the audit log, as a table or as JSON lines.
pub(super) fn print_audit(entries: &[outreach_hub::AuditEntry], json: bool) -> CliResult {
    let mut out = std::io::stdout().lock();
    for e in entries {
        if json {
            writeln!(out, "{}", serde_json::to_string(e)?)?;
        } else {
            let at = e.at.format("%Y-%m-%d %H:%M:%S UTC");
            let what = [
                e.subject.as_deref(),
                e.organisation.as_deref(),
                e.detail.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("  ");
            writeln!(out, "{at}  {:<19} {}  ({})  {what}", e.action, e.actor, e.origin)?;
        }
    }
    if entries.is_empty() && !json {
        writeln!(out, "no entries")?;
    }
    Ok(())
}

pub(super) fn print_code(code: &EnrollmentCode, hub_url: &str) -> CliResult {
    let link = EnrollLink {
        hub: hub_url.to_string(),
        code: code.code.clone(),
    }
    .to_string();
    let qr = qrcode::QrCode::new(link.as_bytes()).map_err(|e| format!("cannot draw the QR code: {e}"))?;
    let image = qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "enrollment code for {} (role: {}), valid once until {}:",
        code.org.name,
        code.role,
        code.expires_at.format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(out, "\n    {}\n", code.code)?;
    writeln!(out, "link: {link}\n")?;
    writeln!(out, "{image}")?;
    Ok(())
}

pub(super) fn list_orgs(hub: &Hub) -> CliResult {
    let orgs = hub.organisations()?;
    if orgs.is_empty() {
        println!("no organisations");
    }
    for org in orgs {
        println!("{}  {}", org.id, org.name);
    }
    Ok(())
}

pub(super) fn list_codes(hub: &Hub) -> CliResult {
    let codes = hub.enrollment_codes()?;
    if codes.is_empty() {
        println!("no enrollment codes");
        return Ok(());
    }
    let now = chrono::Utc::now();
    println!(
        "{:<10}  {:<20}  {:<11}  {:<16}  {:<9}  label",
        "id", "organisation", "role", "expires", "state"
    );
    for c in codes {
        let state = if c.cancelled_at.is_some() {
            "cancelled"
        } else if c.used_at.is_some() {
            "used"
        } else if c.expires_at <= now {
            "expired"
        } else {
            "open"
        };
        println!(
            "{:<10}  {:<20}  {:<11}  {:<16}  {:<9}  {}",
            c.id,
            c.org_name,
            c.role,
            c.expires_at.format("%Y-%m-%d %H:%M"),
            state,
            c.label.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

pub(super) fn list_devices(hub: &Hub) -> CliResult {
    let devices = hub.devices()?;
    if devices.is_empty() {
        println!("no devices enrolled");
        return Ok(());
    }
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    println!(
        "{:<36}  {:<20}  {:<11}  {:<16}  {:<16}  {:<24}  name",
        "id", "organisation", "role", "enrolled", "last seen", "state"
    );
    for d in devices {
        let state = match (d.revoked_at, d.retired_at) {
            (Some(t), _) => format!("revoked {}", time(Some(t))),
            (None, Some(t)) => format!("retired {}", time(Some(t))),
            (None, None) => "active".to_string(),
        };
        println!(
            "{:<36}  {:<20}  {:<11}  {:<16}  {:<16}  {:<24}  {}",
            d.id,
            d.org_name,
            d.role,
            time(Some(d.enrolled_at)),
            time(d.last_seen),
            state,
            d.name
        );
    }
    Ok(())
}
