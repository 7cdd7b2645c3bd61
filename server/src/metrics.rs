//! What this hub instance did, for the operator's monitoring, in Prometheus' text exposition
//! format (version 0.0.4): `GET /metrics` on a listener of its own (`serve --metrics-listen`),
//! never on the devices' one, with `GET /v1/ready` beside it.
//!
//! The figures describe the deployment: requests by route and status, bytes in and out, sync
//! durations, documents written and refused by code, devices enrolled. None names an
//! organisation, a device, a token or a note, and no organisation's visit figures are among
//! them. Labels never take a value from a request beyond the route's template (`/v1/blobs/
//! {sha256}`, not the hash) and the status code, so a caller cannot grow them without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::hub::{Hub, Metrics};

/// Upper bounds of the sync duration histogram's buckets, in seconds.
const SYNC_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
];

/// The route of `/v1/sync`, whose durations go in the histogram.
const SYNC_ROUTE: &str = "/v1/sync";

/// Counters of the HTTP requests this instance answered.
#[derive(Debug, Default)]
pub(crate) struct HttpCounters {
    /// Requests by route template and status.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Request and response body bytes by route template.
    bytes: Mutex<BTreeMap<String, (u64, u64)>>,
    /// Sync durations: a count per bucket (not cumulative), then the count and the sum.
    sync_buckets: [AtomicU64; SYNC_BUCKETS.len()],
    sync_count: AtomicU64,
    sync_micros: AtomicU64,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HttpCounters {
    /// Counts one answered request.
    pub(crate) fn record(&self, route: &str, status: u16, bytes_in: u64, bytes_out: u64, took: Duration) {
        *locked(&self.requests)
            .entry((route.to_string(), status))
            .or_default() += 1;
        let mut bytes = locked(&self.bytes);
        let entry = bytes.entry(route.to_string()).or_default();
        entry.0 += bytes_in;
        entry.1 += bytes_out;
        drop(bytes);
        if route == SYNC_ROUTE {
            let seconds = took.as_secs_f64();
            if let Some(i) = SYNC_BUCKETS.iter().position(|&le| seconds <= le) {
                self.sync_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
            self.sync_count.fetch_add(1, Ordering::Relaxed);
            self.sync_micros.fetch_add(
                took.as_micros().min(u128::from(u64::MAX)) as u64,
                Ordering::Relaxed,
            );
        }
    }
}

/// A label value, escaped as the text format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes a metric's `HELP` and `TYPE` lines.
fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Writes one unlabelled sample with its `HELP` and `TYPE` lines.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    head(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// The text of `GET /metrics`: this instance's counters, and `active_devices` (enrolled,
/// neither revoked nor retired) as the database holds it now.
pub(crate) fn render(hub: &Hub, active_devices: u64) -> String {
    let http = &hub.inner.counters.http;
    let mut out = String::new();

    head(
        &mut out,
        "outreach_hub_http_requests_total",
        "counter",
        "HTTP requests answered, by route template and status.",
    );
    for ((route, status), n) in locked(&http.requests).iter() {
        let _ = writeln!(
            out,
            "outreach_hub_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
            label(route)
        );
    }
    let bytes = locked(&http.bytes).clone();
    for (name, help, pick) in [
        (
            "outreach_hub_http_request_bytes_total",
            "Request body bytes received (as declared by Content-Length), by route template.",
            0,
        ),
        (
            "outreach_hub_http_response_bytes_total",
            "Response body bytes sent, by route template.",
            1,
        ),
    ] {
        head(&mut out, name, "counter", help);
        for (route, (bytes_in, bytes_out)) in &bytes {
            let value = if pick == 0 { bytes_in } else { bytes_out };
            let _ = writeln!(out, "{name}{{route=\"{}\"}} {value}", label(route));
        }
    }

    let name = "outreach_hub_sync_duration_seconds";
    head(
        &mut out,
        name,
        "histogram",
        "Time to answer POST /v1/sync, whatever the answer.",
    );
    let mut cumulative = 0;
    for (le, n) in SYNC_BUCKETS.iter().zip(&http.sync_buckets) {
        cumulative += n.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let count = http.sync_count.load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let micros = http.sync_micros.load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_sum {}", micros as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {count}");

    let Metrics {
        syncs,
        documents_loaded,
        documents_written,
        changes_accepted,
        documents_refused: _,
        documents_validated,
        write_conflicts,
        states_unknown,
    } = hub.metrics();
    for (name, help, value) in [
        (
            "outreach_hub_syncs_total",
            "Sync requests answered successfully.",
            syncs,
        ),
        (
            "outreach_hub_documents_loaded_total",
            "Documents loaded from the database into Automerge (the fast path loads none).",
            documents_loaded,
        ),
        (
            "outreach_hub_documents_written_total",
            "Documents created or changed by devices' pushes.",
            documents_written,
        ),
        (
            "outreach_hub_changes_accepted_total",
            "Automerge changes stored from devices' pushes.",
            changes_accepted,
        ),
        (
            "outreach_hub_documents_validated_total",
            "Pushed documents handed to a validator process.",
            documents_validated,
        ),
        (
            "outreach_hub_write_conflicts_total",
            "Pushes validated again because another request wrote the document meanwhile.",
            write_conflicts,
        ),
        (
            "outreach_hub_device_states_unknown_total",
            "Syncs whose device named a state this hub did not know (the device then lists everything).",
            states_unknown,
        ),
    ] {
        single(&mut out, name, "counter", help, value);
    }
    head(
        &mut out,
        "outreach_hub_documents_refused_total",
        "counter",
        "Pushed documents refused, by the code of the refusal.",
    );
    for (code, n) in locked(&hub.inner.counters.refused_by_code).iter() {
        let _ = writeln!(
            out,
            "outreach_hub_documents_refused_total{{code=\"{}\"}} {n}",
            label(code)
        );
    }
    single(
        &mut out,
        "outreach_hub_transaction_retries_total",
        "counter",
        "Write transactions run again after PostgreSQL found a concurrent one overtook them.",
        hub.inner.db.retries(),
    );
    single(
        &mut out,
        "outreach_hub_devices_active",
        "gauge",
        "Devices enrolled and neither revoked nor retired, in the whole hub.",
        active_devices,
    );
    out
}

impl Hub {
    /// Devices enrolled and neither revoked nor retired, in the whole hub.
    pub fn active_devices(&self) -> crate::error::Result<u64> {
        self.inner.db.read(|tx| {
            let n: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL AND retired_at IS NULL",
                    crate::db::params![],
                )?
                .get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Whether this instance can serve: its database answers a read.
    pub fn check_ready(&self) -> crate::error::Result<()> {
        self.inner.db.read(|tx| {
            tx.query_one("SELECT COUNT(*) FROM organisations", crate::db::params![])?;
            Ok(())
        })
    }
}
