//! `outreach-hub serve`: its flags (limits of requests, connections and validators), the
//! configuration they give, and serving until SIGINT or SIGTERM.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use outreach_hub::{HubConfig, TlsConfig};

use super::{parse_duration, CliResult, DataArg};

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// Address to listen on (port 0 picks a free port; the first line printed says which)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Address for the operator's GET /metrics (Prometheus text) and GET /v1/ready, plain HTTP:
    /// a loopback or private address, never the devices' one [default: not served]
    #[arg(long, value_name = "ADDR", env = "OUTREACH_HUB_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
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
    /// Days after a month ends before the hub publishes its standard tables
    /// by itself (what coordinators' devices receive as their organisation's report); devices
    /// offline at the end of the month have this long to sync
    #[arg(long, value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=365))]
    publish_after_days: u32,
    /// Never publish reports by itself: only `outreach-hub report` publishes
    #[arg(long)]
    no_auto_publish: bool,
    #[command(flatten)]
    connections: ConnectionArgs,
}

/// How often `serve` looks for periods due to be published.
const PUBLISH_CHECK: Duration = Duration::from_secs(3600);

/// Publishes the periods due, every [`PUBLISH_CHECK`], off the async workers; a failure is
/// logged and tried again at the next check.
async fn publish_when_due(hub: outreach_hub::Hub, delay_days: u32) {
    let mut tick = tokio::time::interval(PUBLISH_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let hub = hub.clone();
        let today = chrono::Utc::now().date_naive();
        match tokio::task::spawn_blocking(move || hub.publish_due(today, delay_days)).await {
            Ok(Ok(periods)) => {
                for period in periods {
                    tracing::info!(target: outreach_hub::log_targets::HUB, %period, "reports published");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(target: outreach_hub::log_targets::HUB, error = %e, "reports not published")
            }
            Err(_) => tracing::warn!(target: outreach_hub::log_targets::HUB, "report publication failed"),
        }
    }
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

pub(super) fn runtime() -> CliResult<tokio::runtime::Runtime> {
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

pub(super) fn serve(args: ServeArgs) -> CliResult {
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
        let (stop_operator, operator_stopped) = tokio::sync::oneshot::channel::<()>();
        let operator = match args.metrics_listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                let addr = listener.local_addr()?;
                let stop = async {
                    let _ = operator_stopped.await;
                };
                Some((addr, hub.serve_operator(listener, stop)))
            }
            None => None,
        };
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", server.local_addr())?;
            if let Some((addr, _)) = &operator {
                writeln!(out, "metrics on http://{addr}/metrics")?;
            }
            out.flush()?;
        }
        tracing::info!(target: outreach_hub::log_targets::HUB, url = %server.url(), data = %hub.location(), "hub serving");
        let publisher = (!args.no_auto_publish).then(|| tokio::spawn(publish_when_due(hub.clone(), args.publish_after_days)));
        let trigger = server.shutdown_trigger();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!(target: outreach_hub::log_targets::HUB, "shutting down: finishing requests in flight");
            trigger.trigger();
        });
        server.stopped().await?;
        if let Some(publisher) = publisher {
            publisher.abort();
        }
        if let Some((_, task)) = operator {
            let _ = stop_operator.send(());
            let _ = task.await;
        }
        tracing::info!(target: outreach_hub::log_targets::HUB, "hub stopped");
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
    use clap::Parser;

    use super::super::{Cli, Command};
    use super::*;

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
