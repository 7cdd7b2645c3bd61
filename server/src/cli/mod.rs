//! The commands of `outreach-hub`: set up a hub, manage organisations and devices, print the
//! visit report, and serve.
//!
//! This file holds the command line and runs each command; what the administration commands
//! print is in `manage.rs`, the serving in `serve.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use outreach_core::model::Region;
use outreach_core::sync::protocol::Role;
use outreach_hub::{DbKey, Hub, HubConfig, HubKeys, SealKey, SealKeySource, Storage};

mod manage;
mod serve;

use manage::{backup, encrypt, init, list_codes, list_devices, list_orgs, print_code};
use serve::{serve, ServeArgs};

/// Where a hub's devices reach it, for enrollment links, when no `--hub-url` is given.
const DEFAULT_HUB_URL: &str = "http://127.0.0.1:8787";

/// The environment variable that may hold the seal key itself (64 hex characters).
const SEAL_KEY_VAR: &str = "OUTREACH_HUB_SEAL_KEY";

/// What a command can fail with: one line for the person at the terminal.
type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The Outreach sync hub: enrolls the phones of outreach workers, syncs their partner
/// directory, brochures and anonymised visit logs, and reports visit counts.
#[derive(Debug, Parser)]
#[command(name = "outreach-hub", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the hub's data is (a data directory or a PostgreSQL database) and the keys that
/// protect it.
#[derive(Debug, Args)]
struct DataArg {
    /// The hub's data directory (hub.db, blobs/ and seal.key): the embedded default
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTREACH_HUB_DATA",
        required_unless_present = "database",
        conflicts_with = "database"
    )]
    data: Option<PathBuf>,
    /// A PostgreSQL database instead of a data directory, postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// (several hub instances may share it; each needs the same seal key, given with
    /// --seal-key-file or OUTREACH_HUB_SEAL_KEY)
    #[arg(
        long,
        value_name = "URL",
        env = "OUTREACH_HUB_DATABASE",
        hide_env_values = true
    )]
    database: Option<String>,
    /// File holding hub.db's SQLCipher key, 64 hex characters (`openssl rand -hex 32`), mode 600
    #[arg(long, value_name = "PATH", env = "OUTREACH_HUB_DB_KEY_FILE")]
    db_key_file: Option<PathBuf>,
    /// File holding the key of the hub's seals [default: DIR/seal.key, made on first use;
    /// OUTREACH_HUB_SEAL_KEY may hold the key itself instead]
    #[arg(long, value_name = "PATH", env = "OUTREACH_HUB_SEAL_KEY_FILE")]
    seal_key_file: Option<PathBuf>,
}

impl DataArg {
    /// The keys given by options and the environment.
    fn keys(&self) -> CliResult<HubKeys> {
        let db_key = match &self.db_key_file {
            Some(path) => Some(DbKey::from_file(path)?),
            None => None,
        };
        let seal_key = match (std::env::var_os(SEAL_KEY_VAR), &self.seal_key_file) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "give the seal key either in {SEAL_KEY_VAR} or with --seal-key-file, not both"
                )
                .into())
            }
            (Some(value), None) => {
                let key = value.to_str().and_then(SealKey::from_hex).ok_or_else(|| {
                    format!("{SEAL_KEY_VAR} must hold 64 hexadecimal characters (`openssl rand -hex 32`)")
                })?;
                SealKeySource::Key(key)
            }
            (None, Some(path)) => SealKeySource::File(path.clone()),
            (None, None) => SealKeySource::DataDir,
        };
        Ok(HubKeys { db_key, seal_key })
    }

    /// Where the data is.
    fn storage(&self) -> CliResult<Storage> {
        match (&self.data, &self.database) {
            (Some(dir), None) => Ok(Storage::Embedded(dir.clone())),
            (None, Some(url)) => Ok(Storage::Postgres(url.clone())),
            _ => Err("give either --data DIR or --database URL".into()),
        }
    }

    /// The data directory, for the commands that only an embedded hub has.
    fn dir(&self, command: &str) -> CliResult<&Path> {
        self.data.as_deref().ok_or_else(|| {
            format!("`{command}` is for an embedded hub (--data DIR), not for one on PostgreSQL").into()
        })
    }

    /// Opens the hub: an initialised one unless `create`.
    fn open(&self, config: HubConfig, create: bool) -> CliResult<Hub> {
        let keys = self.keys()?;
        let hub = match (self.storage()?, create) {
            (Storage::Embedded(dir), true) => Hub::open_with(&dir, config, keys)?,
            (Storage::Embedded(dir), false) => Hub::open_existing_with(&dir, config, keys)?,
            (storage, create) => {
                let hub = Hub::open_storage(&storage, config, keys)?;
                if !create && hub.organisations()?.is_empty() {
                    return Err(outreach_hub::Error::NotInitialised(hub.location()).into());
                }
                hub
            }
        };
        let narrowed = hub.tightened();
        if !narrowed.is_empty() {
            eprintln!(
                "outreach-hub: {} files and directories in {} were open to group or others; now only their owner may read them",
                narrowed.len(),
                hub.location()
            );
        }
        Ok(hub)
    }
}

/// `--since`: a date, an RFC 3339 time or a duration back from now.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let back = parse_duration(s)
        .map_err(|_| format!("{s:?} is neither a date (2026-11-01), a time nor a duration (24h, 7d)"))?;
    let back = chrono::Duration::from_std(back).map_err(|e| e.to_string())?;
    Ok(chrono::Utc::now() - back)
}

/// Where devices reach the hub.
#[derive(Debug, Args)]
struct HubUrlArg {
    /// The hub's base URL as devices reach it, for enrollment links [default: the one given to
    /// `init`, else http://127.0.0.1:8787]; `init` remembers it
    #[arg(long, value_name = "URL", env = "OUTREACH_HUB_URL")]
    hub_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a hub: its data directory, its first organisation, and an admin enrollment code
    Init {
        #[command(flatten)]
        data: DataArg,
        /// Name of the first organisation
        #[arg(long, value_name = "NAME")]
        org: String,
        #[command(flatten)]
        url: HubUrlArg,
    },
    /// Organisations of the network
    Orgs {
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// Create a one-time enrollment code (printed, as a link and as a QR code)
    Enroll {
        #[command(flatten)]
        data: DataArg,
        /// The organisation the device joins (name or id)
        #[arg(long, value_name = "ORG")]
        org: String,
        /// The device's role: fieldworker, coordinator or admin
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// How long the code is valid: 30m, 24h, 7d...
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
        expires: Duration,
        /// The device the code is meant for ("Phone 12"), to find or cancel it by
        #[arg(long, value_name = "NAME")]
        label: Option<String>,
        #[command(flatten)]
        url: HubUrlArg,
    },
    /// Enrollment codes: list them, cancel one
    Codes {
        #[command(subcommand)]
        command: CodesCommand,
    },
    /// Enrolled devices
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Directory sections (regions) and their steward organisations
    Regions {
        #[command(subcommand)]
        command: RegionsCommand,
    },
    /// A table of the network's figures for a closed period, with small counts suppressed
    /// (see server/REPORTS.md)
    Report {
        #[command(flatten)]
        data: DataArg,
        /// One or two dimensions, rows then columns: month, quarter, organisation, province,
        /// municipality, setting, activity, theme, language, age_band, gender, origin,
        /// follow_up, brochure, referral_partner, referral_theme
        #[arg(
            long,
            value_name = "DIM[,DIM]",
            value_delimiter = ',',
            default_value = "organisation,theme"
        )]
        table: Vec<String>,
        /// A closed month (2026-11), quarter (2026-Q4) or year (2026); default the last month
        #[arg(long, value_name = "PERIOD")]
        period: Option<String>,
        /// What the cells count: people or visits (brochure and referral tables count copies
        /// and referrals)
        #[arg(long, default_value = "people")]
        measure: String,
        /// Counts below K are never published (at least 5)
        #[arg(long, value_name = "K", default_value_t = outreach_hub::SUPPRESSION_THRESHOLD)]
        threshold: u64,
        /// text, csv or json
        #[arg(long, default_value = "text", value_parser = ["text", "csv", "json"])]
        format: String,
    },
    /// Leave a demo hub in DIR: five organisations, their field devices and four months of
    /// generated visits, synced as phones sync them, to try the reports on
    Demo {
        /// A new directory (or an empty one) for the demo hub
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Serve the hub until SIGINT or SIGTERM
    Serve(Box<ServeArgs>),
    /// Copy hub.db to FILE while the hub serves (neither blobs/ nor the seal key: see the README)
    Backup {
        #[command(flatten)]
        data: DataArg,
        /// Where to write the copy, mode 600 (a file there is replaced once the copy is complete)
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Encrypt the plaintext hub.db of a stopped hub with the key in --db-key-file
    Encrypt {
        #[command(flatten)]
        data: DataArg,
    },
    /// The audit log: organisations added, codes issued and cancelled, devices enrolled,
    /// revoked and retired, backups taken; who did it, when and from where
    Audit {
        #[command(flatten)]
        data: DataArg,
        /// Only entries since: a date (2026-11-01), a time (2026-11-01T08:00:00Z) or a duration
        /// back from now (24h, 7d)
        #[arg(long, value_name = "WHEN", value_parser = parse_since)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// One JSON object per line instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Move a stopped embedded hub to a new, empty PostgreSQL database, with every document,
    /// device and brochure file, and check that both hold the same
    Migrate {
        /// The embedded hub's data directory
        #[arg(long, value_name = "DIR")]
        from_sqlite: PathBuf,
        /// File holding its hub.db's SQLCipher key, if it is encrypted
        #[arg(long, value_name = "PATH")]
        db_key_file: Option<PathBuf>,
        /// Its seal key file [default: DIR/seal.key]
        #[arg(long, value_name = "PATH")]
        from_seal_key_file: Option<PathBuf>,
        /// The PostgreSQL database, postgres://USER[:PASSWORD]@HOST[:PORT]/DB
        #[arg(
            long,
            value_name = "URL",
            env = "OUTREACH_HUB_DATABASE",
            hide_env_values = true
        )]
        database: String,
        /// The seal key file every instance on PostgreSQL will be given: made from the embedded
        /// hub's key if it does not exist, else checked against it
        #[arg(long, value_name = "PATH", env = "OUTREACH_HUB_SEAL_KEY_FILE")]
        seal_key_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum OrgsCommand {
    /// Add an organisation
    Add {
        #[command(flatten)]
        data: DataArg,
        /// Its name
        name: String,
    },
    /// List the organisations
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// List the enrolled devices
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a lost or stolen device: it is refused and told to wipe its data, and nothing it
    /// holds is taken (the phone may be in other hands). A phone handed in: `devices retire`.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// The device: its id or its name
        device: String,
        /// Confirms that the device is lost or stolen (its unsynced visits are given up)
        #[arg(long)]
        lost: bool,
    },
    /// Rename a device (the name it is listed and named by)
    Rename {
        #[command(flatten)]
        data: DataArg,
        /// The device: its id or its name
        device: String,
        /// Its new name
        name: String,
    },
    /// Retire a device handed in by a worker who leaves: at its next sync the hub takes what it
    /// holds, then the device deletes its store
    Retire {
        #[command(flatten)]
        data: DataArg,
        /// The device: its id or its name
        device: String,
    },
}

#[derive(Debug, Subcommand)]
enum RegionsCommand {
    /// Make an organisation a steward of a region: its coordinators (and the hub's admins) edit
    /// that section of the directory; other coordinators suggest changes
    Steward {
        #[command(flatten)]
        data: DataArg,
        /// The region: brussels, antwerp, limburg, east_flanders...
        #[arg(value_parser = parse_region)]
        region: Region,
        /// The organisation (name or id)
        org: String,
    },
    /// End an organisation's stewardship of a region (a region left without steward is
    /// edited by every coordinator)
    Unsteward {
        #[command(flatten)]
        data: DataArg,
        /// The region
        #[arg(value_parser = parse_region)]
        region: Region,
        /// The organisation (name or id)
        org: String,
    },
    /// List every region with its stewards
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Debug, Subcommand)]
enum CodesCommand {
    /// List the enrollment codes (their ids and labels; the codes themselves are not kept)
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Cancel an open code, named by its id or its label
    Cancel {
        #[command(flatten)]
        data: DataArg,
        /// The code's id (from `codes list`) or label
        code: String,
    },
}

fn parse_region(s: &str) -> Result<Region, String> {
    s.parse().map_err(|_| {
        let all: Vec<&str> = Region::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown region {s:?} ({})", all.join(", "))
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|_| format!("unknown role {s:?} (fieldworker, coordinator or admin)"))
}

/// Parses `90s`, `30m`, `24h` or `7d`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not a duration like 30m, 24h or 7d");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err("the duration must be positive".into());
    }
    n.checked_mul(unit_secs).map(Duration::from_secs).ok_or_else(bad)
}

/// Checks a hub URL for enrollment links.
fn hub_url(url: &str) -> CliResult<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < "http://x".len() {
        return Err(format!("the hub URL must start with https:// or http://, got {url:?}").into());
    }
    Ok(url.to_string())
}

fn open(data: &DataArg) -> CliResult<Hub> {
    data.open(HubConfig::default(), false)
}

/// Runs a command.
pub(crate) fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Init { data, org, url } => {
            init(&data, &org, url.hub_url.as_deref().unwrap_or(DEFAULT_HUB_URL))
        }
        Command::Orgs {
            command: OrgsCommand::Add { data, name },
        } => {
            let org = open(&data)?.create_organisation(&name)?;
            println!("added organisation {} ({})", org.name, org.id);
            Ok(())
        }
        Command::Orgs {
            command: OrgsCommand::List { data },
        } => list_orgs(&open(&data)?),
        Command::Enroll {
            data,
            org,
            role,
            expires,
            label,
            url,
        } => {
            let hub = open(&data)?;
            let url = match url.hub_url {
                Some(u) => hub_url(&u)?,
                None => hub.hub_url()?.unwrap_or_else(|| DEFAULT_HUB_URL.to_string()),
            };
            let code = hub.create_labelled_code(&org, role, expires, label.as_deref())?;
            print_code(&code, &url)
        }
        Command::Codes {
            command: CodesCommand::List { data },
        } => list_codes(&open(&data)?),
        Command::Codes {
            command: CodesCommand::Cancel { data, code },
        } => {
            let id = open(&data)?.cancel_code(&code)?;
            println!("cancelled enrollment code {id}");
            Ok(())
        }
        Command::Devices {
            command: DevicesCommand::List { data },
        } => list_devices(&open(&data)?),
        Command::Devices {
            command: DevicesCommand::Revoke { data, device, lost },
        } => {
            if !lost {
                return Err(
                    "say --lost to revoke a lost or stolen device (its unsynced visits are given up); \
                     for a phone handed in, use `devices retire`, which keeps its visits"
                        .into(),
                );
            }
            let hub = open(&data)?;
            let d = hub.find_device(&device)?;
            hub.revoke_device(d.id)?;
            println!(
                "revoked {} ({}): it is refused from now on and told to wipe its data",
                d.name, d.id
            );
            Ok(())
        }
        Command::Devices {
            command: DevicesCommand::Rename { data, device, name },
        } => {
            let hub = open(&data)?;
            let d = hub.find_device(&device)?;
            hub.rename_device(d.id, &name)?;
            println!("renamed {} ({}) to {}", d.name, d.id, name.trim());
            Ok(())
        }
        Command::Devices {
            command: DevicesCommand::Retire { data, device },
        } => {
            let hub = open(&data)?;
            let d = hub.find_device(&device)?;
            hub.retire_device(d.id)?;
            println!(
                "retired {} ({}): at its next sync the hub takes what it holds, then it deletes its store",
                d.name, d.id
            );
            Ok(())
        }
        Command::Regions {
            command: RegionsCommand::Steward { data, region, org },
        } => {
            let org = open(&data)?.set_steward(region, &org)?;
            println!(
                "{} is a steward of {region}: its coordinators and the hub's admins edit it",
                org.name
            );
            Ok(())
        }
        Command::Regions {
            command: RegionsCommand::Unsteward { data, region, org },
        } => {
            let org = open(&data)?.remove_steward(region, &org)?;
            println!("{} is no longer a steward of {region}", org.name);
            Ok(())
        }
        Command::Regions {
            command: RegionsCommand::List { data },
        } => {
            let stewards = open(&data)?.stewards()?;
            println!("{:<16} STEWARDS", "REGION");
            for &region in Region::ALL {
                let names = stewards
                    .iter()
                    .find(|(r, _)| *r == region)
                    .map(|(_, orgs)| {
                        orgs.iter()
                            .map(|o| o.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_else(|| "- (every coordinator edits it)".into());
                println!("{:<16} {names}", region.as_str());
            }
            Ok(())
        }
        Command::Report {
            data,
            table,
            period,
            measure,
            threshold,
            format,
        } => {
            let protection = outreach_hub::Protection::with_threshold(threshold).ok_or_else(|| {
                outreach_hub::Error::Invalid {
                    what: "threshold",
                    reason: format!(
                        "{threshold} is below {}: the threshold can only be raised",
                        outreach_hub::SUPPRESSION_THRESHOLD
                    ),
                }
            })?;
            let period = match period {
                Some(p) => p.parse()?,
                None => outreach_hub::Period::last_month(chrono::Utc::now().date_naive()),
            };
            let spec = outreach_hub::TableSpec {
                dims: table.iter().map(|d| d.parse()).collect::<Result<_, _>>()?,
                period,
                measure: measure.parse()?,
                protection,
            };
            let table = open(&data)?.report(&spec)?;
            match format.as_str() {
                "csv" => print!("{}", table.to_csv()),
                "json" => println!("{}", table.to_json()),
                _ => print!("{table}"),
            }
            Ok(())
        }
        Command::Demo { data } => {
            let hub = Hub::open(&data, HubConfig::default())?;
            let summary = hub.seed_demo(chrono::Utc::now().date_naive())?;
            println!(
                "demo hub in {}: {} organisations ({}), {} field devices, {} visits synced",
                data.display(),
                summary.organisations.len(),
                summary.organisations.join(", "),
                summary.devices,
                summary.visits
            );
            let months: Vec<String> = summary.closed_months.iter().map(|m| m.to_string()).collect();
            println!("closed months with visits: {}", months.join(", "));
            if let Some(last) = months.last() {
                println!(
                    "try: outreach-hub report --data {} --table organisation,theme --period {last}",
                    data.display()
                );
                println!("     outreach-hub report --data {} --table province,age_band --period {last} --format csv", data.display());
            }
            Ok(())
        }
        Command::Serve(args) => serve(*args),
        Command::Backup { data, to } => backup(&data, &to),
        Command::Encrypt { data } => encrypt(&data),
        Command::Audit { data, since, json } => {
            let entries = open(&data)?.audit_log(since.unwrap_or(chrono::DateTime::UNIX_EPOCH))?;
            manage::print_audit(&entries, json)
        }
        Command::Migrate {
            from_sqlite,
            db_key_file,
            from_seal_key_file,
            database,
            seal_key_file,
        } => {
            let source_keys = HubKeys {
                db_key: db_key_file.as_deref().map(DbKey::from_file).transpose()?,
                seal_key: from_seal_key_file.map_or(SealKeySource::DataDir, SealKeySource::File),
            };
            let migrated = Hub::migrate_to_postgres(
                &from_sqlite,
                source_keys,
                &database,
                SealKeySource::File(seal_key_file.clone()),
            )?;
            for (table, rows) in &migrated.rows {
                println!("{table}: {rows} rows");
            }
            println!(
                "brochure files: {} ({} bytes)\nthe PostgreSQL hub holds the same as {}: serve it with --database and --seal-key-file {}",
                migrated.files,
                migrated.file_bytes,
                from_sqlite.display(),
                seal_key_file.display()
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn hub_urls() {
        assert_eq!(
            hub_url("https://hub.example.org/").unwrap(),
            "https://hub.example.org"
        );
        assert!(hub_url("hub.example.org").is_err());
        assert!(hub_url("ftp://x").is_err());
    }

    #[test]
    fn the_command_line_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "outreach-hub",
            "enroll",
            "--data",
            "d",
            "--org",
            "Fedasil",
            "--role",
            "coordinator",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Command::Enroll { role: Role::Coordinator, expires, .. } if expires == outreach_hub::DEFAULT_CODE_VALIDITY)
        );
    }
}
