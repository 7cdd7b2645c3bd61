//! What the network commands share: their options (extra CA, attempts, timeouts), the tokio
//! runtime they run on (made for them only), Ctrl-C as cancellation, and progress on stderr.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use outreach_core::{CancelToken, SyncOptions, SyncPhase, SyncProgress, SyncProgressUpdate};

use crate::error::{CliError, CliResult};

/// Options of every command that talks to a hub.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// An extra certificate authority to trust (PEM file), for a hub with a private CA
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Attempts per request on transient failures (connection lost, timeout, 5xx, 429)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    attempts: u32,
    /// Longest wait for the hub, in seconds: for an answer to start, and between two pieces
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Longest wait for each answer to start, retries included, in seconds (a hub that never
    /// answers ends the sync after this; the data stays on this device)
    #[arg(long, value_name = "SECONDS", default_value_t = 45, value_parser = clap::value_parser!(u64).range(1..=3600))]
    deadline: u64,
}

impl NetArgs {
    /// Sync options with these network settings and the core's defaults for the rest.
    pub fn options(&self) -> CliResult<SyncOptions> {
        let extra_ca_pem =
            match &self.ca_cert {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    CliError::msg(format!("cannot read CA certificate {}: {e}", path.display()))
                })?),
                None => None,
            };
        Ok(SyncOptions {
            extra_ca_pem,
            max_attempts: self.attempts,
            request_timeout: Duration::from_secs(self.timeout),
            deadline: Duration::from_secs(self.deadline),
            ..SyncOptions::default()
        })
    }
}

/// Runs network work on a runtime made for it; the first Ctrl-C cancels the work, which then
/// ends cleanly with the core's "cancelled" error.
pub fn run<T, F, W>(work: W) -> CliResult<T>
where
    W: FnOnce(CancelToken) -> F,
    F: Future<Output = outreach_core::Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::msg(format!("cannot start the network runtime: {e}")))?;
    let cancel = CancelToken::new();
    let result = runtime.block_on(async {
        let work = work(cancel.clone());
        tokio::pin!(work);
        tokio::select! {
            result = &mut work => result,
            Ok(()) = tokio::signal::ctrl_c() => {
                cancel.cancel();
                work.await
            }
        }
    });
    Ok(result?)
}

/// Prints each phase change on stderr.
pub fn progress_on_stderr() -> Arc<dyn SyncProgress> {
    let last = std::sync::Mutex::new(None::<(SyncPhase, i32)>);
    Arc::new(move |u: &SyncProgressUpdate| {
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if *last != Some((u.phase, u.round)) {
            *last = Some((u.phase, u.round));
            let name = match u.phase {
                SyncPhase::Connecting => "connecting",
                SyncPhase::Uploading => "uploading",
                SyncPhase::Waiting => "waiting for the hub",
                SyncPhase::Downloading => "downloading",
                SyncPhase::Applying => "applying",
                SyncPhase::BrochureFiles => "brochure files",
                SyncPhase::Done => "done",
            };
            let round = if u.round > 0 {
                format!(" (round {})", u.round)
            } else {
                String::new()
            };
            let _ = writeln!(std::io::stderr(), "{name}{round}");
        }
    })
}
