//! Logging for the apps: the `tracing` events of the core and of these bindings, forwarded to a
//! [`LogSink`] the app gives (Logcat, `os_log`, its crash reporter).
//!
//! Events never carry a note, a token, a key or another value the user typed: emitters log
//! counts, ids and error kinds only. Targets are `outreach::sync` and `outreach::store` for the
//! core's (see `outreach_core::log_targets`) and `outreach::ffi` for the bindings' own; events
//! of the libraries underneath (HTTP, TLS) are not forwarded.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The target of the bindings' own events.
pub(crate) const TARGET: &str = "outreach::ffi";

/// How much a log line matters, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that Outreach recovered from.
    Warn,
    /// A step worth knowing of (a sync started or ended).
    Info,
    /// Detail for debugging.
    Debug,
    /// Even more detail.
    Trace,
}

impl From<&Level> for LogLevel {
    fn from(level: &Level) -> Self {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }
}

/// Receives Outreach's log lines. Called on the thread that logs, possibly while a sync runs:
/// keep it quick and do not call back into Outreach from it.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One line: its level, where it comes from (`outreach::ffi`, `outreach_core::sync`...) and
    /// the message with its fields (`key=value`).
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// The sink and the most detailed level it gets.
static SINK: RwLock<Option<(Arc<dyn LogSink>, LogLevel)>> = RwLock::new(None);

/// Sends Outreach's log lines up to `max_level` (e.g. `Info`: errors, warnings and infos) to
/// `sink`, from now on, replacing any sink set before. Call it once at start-up.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) {
    if let Ok(mut slot) = SINK.write() {
        *slot = Some((sink, max_level));
    }
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if the process installed a subscriber of its own, which then gets the events.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(SinkLayer));
    });
    // Callsites cache whether they are enabled: a new level must be asked again.
    tracing::callsite::rebuild_interest_cache();
}

/// The `tracing` layer that forwards events to the sink.
struct SinkLayer;

/// The sink, if it wants events like this one: from Outreach (`outreach::...`,
/// `outreach_core...`; the libraries underneath, HTTP and TLS, are not held to what ours are,
/// and their events stay out), up to its level.
fn wanted(metadata: &Metadata<'_>) -> Option<Arc<dyn LogSink>> {
    let slot = SINK.read().ok()?;
    let (sink, max) = slot.as_ref()?;
    let ours = metadata.target().starts_with("outreach");
    (ours && LogLevel::from(metadata.level()) <= *max).then(|| sink.clone())
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        wanted(metadata).is_some()
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        let Some(sink) = wanted(metadata) else {
            return;
        };
        let mut line = Line::default();
        event.record(&mut line);
        let (level, target) = (metadata.level().into(), metadata.target().to_string());
        // A sink that panics (or throws) loses its line, nothing else.
        let _ = catch_unwind(AssertUnwindSafe(|| sink.log(level, target, line.0)));
    }
}

/// The message of an event, then its other fields as `key=value`.
#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{fields}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
