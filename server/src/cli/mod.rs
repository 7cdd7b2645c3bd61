//! The commands of `outreach-hub`: set up a hub, manage organisations and devices, print the
//! visit report, and serve.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use outreach_core::sync::protocol::{EnrollLink, Role};
use outreach_hub::{DbKey, EnrollmentCode, Hub, HubConfig, HubKeys, SealKey, SealKeySource, TlsConfig};

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

/// The hub's data directory and the keys that protect it.
#[derive(Debug, Args)]
struct DataArg {
    /// The hub's data directory (hub.db, blobs/ and seal.key)
    #[arg(long, value_name = "DIR", env = "OUTREACH_HUB_DATA")]
    data: PathBuf,
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

    /// Opens the hub: an initialised one unless `create`.
    fn open(&self, config: HubConfig, create: bool) -> CliResult<Hub> {
        let keys = self.keys()?;
        let hub = if create {
            Hub::open_with(&self.data, config, keys)?
        } else {
            Hub::open_existing_with(&self.data, config, keys)?
        };
        let narrowed = hub.tightened();
        if !narrowed.is_empty() {
            eprintln!(
                "outreach-hub: {} files and directories in {} were open to group or others; now only their owner may read them",
                narrowed.len(),
                self.data.display()
            );
        }
        Ok(hub)
    }
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
    /// Visit counts per organisation, month and theme (counts under 5 shown as "<5")
    Report {
        #[command(flatten)]
        data: DataArg,
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
    /// Run the hub demo
    Demo,
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

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// Address to listen on (port 0 picks a free port; the first line printed says which)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM); serves HTTPS with --tls-key
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest sync request body, in bytes [default: 16 MiB]
    #[arg(long, value_name = "N")]
    max_body_bytes: Option<usize>,
    /// Most documents in one sync request [default: 10000]
    #[arg(long, value_name = "N")]
    max_docs: Option<usize>,
    /// Most changes for one document in one sync request [default: 50000]
    #[arg(long, value_name = "N")]
    max_changes: Option<usize>,
    /// Size of document payloads in a sync answer before it is cut [default: 8 MiB]
    #[arg(long, value_name = "N")]
    max_response_bytes: Option<usize>,
    /// Bytes the Automerge data of one sync request may inflate to [default: 16 MiB]
    #[arg(long, value_name = "N")]
    max_inflated_bytes: Option<usize>,
    /// Most operations in one pushed change [default: 100000]
    #[arg(long, value_name = "N")]
    max_ops_per_change: Option<usize>,
    /// Most operations in all the changes of one sync request [default: 1000000]
    #[arg(long, value_name = "N")]
    max_ops_per_request: Option<usize>,
    /// Validator processes at most, and so documents validated at once [default: one per core, at most 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    validators: Option<u16>,
    /// Address space of each validator process, in MiB [default: 1024]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(64..=65536))]
    validator_memory_mib: Option<u64>,
    /// CPU seconds one document's validation may use [default: 10]
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    validator_cpu_seconds: Option<u64>,
    #[command(flatten)]
    connections: ConnectionArgs,
}

/// The connection and request limits of `serve` (see the "Limits" section of the README).
#[derive(Debug, Args)]
#[command(next_help_heading = "Connections and requests")]
struct ConnectionArgs {
    /// Longest TLS handshake [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    tls_handshake_timeout: Option<Duration>,
    /// Longest wait for a request's headers: on a new connection, or once they began [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    header_timeout: Option<Duration>,
    /// Longest a connection stays open between requests [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    idle_timeout: Option<Duration>,
    /// Time a request body is given, plus 1s per --min-transfer-rate bytes [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    body_timeout: Option<Duration>,
    /// Time a request is given to be answered, plus 1s per --min-transfer-rate bytes [default: 120s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    request_timeout: Option<Duration>,
    /// Slowest transfer, in bytes per second, that earns a request more time [default: 16384]
    #[arg(long, value_name = "N")]
    min_transfer_rate: Option<u64>,
    /// Most connections open at once; beyond it the hub stops accepting [default: 512]
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Most requests served at once; beyond it 503 with Retry-After [default: 256]
    #[arg(long, value_name = "N")]
    max_in_flight: Option<usize>,
    /// Most requests at once on one HTTP/2 connection [default: 32]
    #[arg(long, value_name = "N")]
    max_http2_streams: Option<u32>,
    /// Largest enroll request body, in bytes [default: 4096]
    #[arg(long, value_name = "N")]
    max_enroll_body_bytes: Option<usize>,
    /// Refused enrollment attempts allowed per client address and minute [default: 10]
    #[arg(long, value_name = "N")]
    enroll_attempts_per_minute: Option<u32>,
    /// Client addresses the enrollment rate limit remembers [default: 4096]
    #[arg(long, value_name = "N")]
    enroll_limiter_addresses: Option<usize>,
}

impl ConnectionArgs {
    /// `config` with the limits given on the command line.
    fn apply(&self, config: HubConfig) -> HubConfig {
        HubConfig {
            tls_handshake_timeout: self.tls_handshake_timeout.unwrap_or(config.tls_handshake_timeout),
            header_timeout: self.header_timeout.unwrap_or(config.header_timeout),
            idle_timeout: self.idle_timeout.unwrap_or(config.idle_timeout),
            body_timeout: self.body_timeout.unwrap_or(config.body_timeout),
            request_timeout: self.request_timeout.unwrap_or(config.request_timeout),
            min_transfer_rate: self.min_transfer_rate.unwrap_or(config.min_transfer_rate),
            max_connections: self.max_connections.unwrap_or(config.max_connections),
            max_in_flight: self.max_in_flight.unwrap_or(config.max_in_flight),
            max_http2_streams: self.max_http2_streams.unwrap_or(config.max_http2_streams),
            max_enroll_body_bytes: self.max_enroll_body_bytes.unwrap_or(config.max_enroll_body_bytes),
            enroll_attempts_per_minute: self
                .enroll_attempts_per_minute
                .unwrap_or(config.enroll_attempts_per_minute),
            enroll_limiter_addresses: self
                .enroll_limiter_addresses
                .unwrap_or(config.enroll_limiter_addresses),
            ..config
        }
    }
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
        Command::Report { data } => {
            print!("{}", open(&data)?.visit_report()?);
            Ok(())
        }
        Command::Serve(args) => serve(*args),
        Command::Backup { data, to } => backup(&data, &to),
        Command::Encrypt { data } => encrypt(&data),
        Command::Demo => match runtime()?.block_on(outreach_hub::demo::run()) {
            // The reader of the demo's output went away (`| head`): nothing more to say.
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
            {
                Ok(())
            }
            other => other,
        },
    }
}

fn init(data: &DataArg, org: &str, url: &str) -> CliResult {
    let url = hub_url(url)?;
    let hub = data.open(HubConfig::default(), true)?;
    let code = hub.initialise(org)?;
    hub.set_hub_url(&url)?;
    println!(
        "created a hub in {} with organisation {}{}",
        data.data.display(),
        code.org.name,
        if data.db_key_file.is_some() {
            ", its database encrypted"
        } else {
            ""
        }
    );
    print_code(&code, &url)
}

fn encrypt(data: &DataArg) -> CliResult {
    let Some(path) = &data.db_key_file else {
        return Err(
            "give the new key with --db-key-file (make one with `openssl rand -hex 32 > KEY; chmod 600 KEY`)"
                .into(),
        );
    };
    Hub::encrypt(&data.data, &DbKey::from_file(path)?)?;
    // Opening it once checks the key and narrows the files.
    data.open(HubConfig::default(), false)?;
    println!(
        "encrypted {}: give --db-key-file {} to every command from now on; backups made before are still plaintext",
        data.data.join(outreach_hub::DATABASE_FILE).display(),
        path.display()
    );
    Ok(())
}

fn backup(data: &DataArg, to: &Path) -> CliResult {
    let hub = open(data)?;
    let size = hub.backup_to(to)?;
    let seal_key = match (&data.seal_key_file, std::env::var_os(SEAL_KEY_VAR)) {
        (_, Some(_)) => format!("the key in {SEAL_KEY_VAR}"),
        (Some(path), None) => path.display().to_string(),
        (None, None) => data.data.join(outreach_hub::SEAL_KEY_FILE).display().to_string(),
    };
    println!(
        "backed up {} to {} ({size} bytes{})",
        data.data.join(outreach_hub::DATABASE_FILE).display(),
        to.display(),
        if data.db_key_file.is_some() {
            ", encrypted with the database key"
        } else {
            ""
        }
    );
    println!(
        "not in it: the brochure files, {}/ (copy them with rsync), and the seal key, {seal_key} (keep a copy apart: a restored hub needs it)",
        data.data.join(outreach_hub::BLOBS_DIR).display()
    );
    Ok(())
}

fn print_code(code: &EnrollmentCode, hub_url: &str) -> CliResult {
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

fn list_orgs(hub: &Hub) -> CliResult {
    let orgs = hub.organisations()?;
    if orgs.is_empty() {
        println!("no organisations");
    }
    for org in orgs {
        println!("{}  {}", org.id, org.name);
    }
    Ok(())
}

fn list_codes(hub: &Hub) -> CliResult {
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

fn list_devices(hub: &Hub) -> CliResult {
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

fn runtime() -> CliResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The configuration `serve`'s flags give (defaults for those not given).
fn config_of(args: &ServeArgs) -> HubConfig {
    let defaults = HubConfig::default();
    args.connections.apply(HubConfig {
        max_body_bytes: args.max_body_bytes.unwrap_or(defaults.max_body_bytes),
        max_docs: args.max_docs.unwrap_or(defaults.max_docs),
        max_changes: args.max_changes.unwrap_or(defaults.max_changes),
        max_response_bytes: args.max_response_bytes.unwrap_or(defaults.max_response_bytes),
        max_inflated_bytes: args.max_inflated_bytes.unwrap_or(defaults.max_inflated_bytes),
        max_ops_per_change: args.max_ops_per_change.unwrap_or(defaults.max_ops_per_change),
        max_ops_per_request: args.max_ops_per_request.unwrap_or(defaults.max_ops_per_request),
        validator: outreach_hub::ValidatorLimits {
            processes: args.validators.map_or(defaults.validator.processes, usize::from),
            memory_bytes: args
                .validator_memory_mib
                .map_or(defaults.validator.memory_bytes, |m| m << 20),
            cpu_seconds: args
                .validator_cpu_seconds
                .unwrap_or(defaults.validator.cpu_seconds),
            ..defaults.validator
        },
        ..defaults
    })
}

fn serve(args: ServeArgs) -> CliResult {
    let config = config_of(&args);
    let hub = args.data.open(config, false)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    init_logging();
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let server = hub.serve(listener, tls)?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", server.local_addr())?;
            out.flush()?;
        }
        tracing::info!(url = %server.url(), data = %hub.data_dir().display(), "hub serving");
        let trigger = server.shutdown_trigger();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            trigger.trigger();
        });
        server.stopped().await?;
        tracing::info!("hub stopped");
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
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

    #[test]
    fn connection_limits_come_from_the_command_line() {
        let cli = Cli::try_parse_from([
            "outreach-hub",
            "serve",
            "--data",
            "d",
            "--header-timeout",
            "5s",
            "--idle-timeout",
            "2m",
            "--max-connections",
            "64",
            "--max-enroll-body-bytes",
            "2048",
            "--enroll-attempts-per-minute",
            "3",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        let config = args.connections.apply(HubConfig::default());
        assert_eq!(config.header_timeout, Duration::from_secs(5));
        assert_eq!(config.idle_timeout, Duration::from_secs(120));
        assert_eq!(config.max_connections, 64);
        assert_eq!(config.max_enroll_body_bytes, 2048);
        assert_eq!(config.enroll_attempts_per_minute, 3);
        let defaults = HubConfig::default();
        assert_eq!(config.request_timeout, defaults.request_timeout);
        assert_eq!(config.max_in_flight, defaults.max_in_flight);
    }

    #[test]
    fn validator_limits_come_from_the_command_line() {
        let parse = |extra: &[&str]| {
            let cli = Cli::try_parse_from([&["outreach-hub", "serve", "--data", "d"], extra].concat());
            cli.map(|cli| match cli.command {
                Command::Serve(args) => config_of(&args),
                _ => panic!("not serve"),
            })
        };
        let config = parse(&[
            "--validators",
            "3",
            "--validator-memory-mib",
            "512",
            "--validator-cpu-seconds",
            "4",
        ])
        .unwrap();
        assert_eq!(config.validator.processes, 3);
        assert_eq!(config.validator.memory_bytes, 512 << 20);
        assert_eq!(config.validator.cpu_seconds, 4);
        assert_eq!(config.validator.deadline, HubConfig::default().validator.deadline);
        assert_eq!(parse(&[]).unwrap().validator, HubConfig::default().validator);
        assert!(parse(&["--validators", "0"]).is_err());
        assert!(parse(&["--validator-memory-mib", "1"]).is_err());
    }
}
