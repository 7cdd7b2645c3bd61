//! `outreach enroll`, `outreach enrollment` and `outreach sync`: this device and its hub.

use clap::Args;
use outreach_core::model::Lang;
use outreach_core::{Enrollment, FetchReport, Store, SyncReport};

use crate::error::{CliError, CliResult};
use crate::net::{self, NetArgs};
use crate::output::{self, Out};
use crate::parse;

/// `outreach enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The enrollment link, as printed or in the QR code: outreach://enroll?hub=...&code=...
    #[arg(value_name = "LINK", conflicts_with = "hub", required_unless_present = "hub")]
    link: Option<String>,
    /// The hub's address, when enrolling with a code instead of a link
    #[arg(long, value_name = "URL", requires = "code")]
    hub: Option<String>,
    /// The one-time enrollment code
    #[arg(long, value_name = "CODE")]
    code: Option<String>,
    /// A name for this device, shown to coordinators
    #[arg(long, value_name = "NAME", default_value = "outreach CLI")]
    name: String,
    #[command(flatten)]
    net: NetArgs,
}

/// `outreach sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Languages of the brochure files to keep here, in order of preference
    #[arg(long, value_name = "LANG,...", value_delimiter = ',', value_parser = parse::from_str::<Lang>)]
    languages: Vec<Lang>,
    /// Days a visit-log month stays here after it ended, once the hub holds all of it
    #[arg(long, value_name = "N", default_value_t = outreach_core::sync::DEFAULT_RETENTION_DAYS)]
    retention_days: u32,
    /// Room for brochure files, in MB
    #[arg(long, value_name = "MB", default_value_t = 200)]
    budget_mb: u64,
    /// Do not fetch brochure files
    #[arg(long)]
    no_files: bool,
    /// Tell each step on stderr
    #[arg(long, short)]
    verbose: bool,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
}

/// Enrolls the store's device and prints what the hub registered.
pub fn enroll(args: EnrollArgs, store: &Store, out: Out<'_>) -> CliResult {
    let options = args.net.options()?;
    let target = args.link.or(args.hub).unwrap_or_default();
    let enrollment = net::run(|_| store.enroll(&target, args.code.as_deref(), &args.name, &options))?;
    writeln!(
        out,
        "Enrolled {} with {} as {} of {} ({}).",
        store.device_id(),
        enrollment.hub_url,
        enrollment.role,
        enrollment.org_name,
        enrollment.org_id
    )?;
    Ok(())
}

/// Prints the hub this device is enrolled with.
pub fn show_enrollment(store: &Store, json: bool, out: Out<'_>) -> CliResult {
    let enrollment = store.enrollment()?;
    if json {
        return output::json(out, serde_json::to_string_pretty(&enrollment));
    }
    let Some(Enrollment {
        hub_url,
        org_id,
        org_name,
        role,
        device_name,
        enrolled_at,
    }) = enrollment
    else {
        writeln!(out, "Not enrolled: run `outreach enroll LINK`.")?;
        return Ok(());
    };
    for (name, value) in [
        ("hub", hub_url),
        ("organisation", format!("{org_name} ({org_id})")),
        ("role", role.to_string()),
        ("device", format!("{} ({device_name})", store.device_id())),
        ("enrolled", output::time(enrolled_at)),
    ] {
        writeln!(out, "{name:<14}{value}")?;
    }
    Ok(())
}

/// Syncs and prints the report.
pub fn sync(args: SyncArgs, store: &Store, out: Out<'_>) -> CliResult {
    let options = outreach_core::SyncOptions {
        languages: args.languages,
        retention_days: args.retention_days,
        storage_budget_bytes: args
            .budget_mb
            .checked_mul(1024 * 1024)
            .ok_or_else(|| CliError::msg("--budget-mb is too large"))?,
        fetch_files: !args.no_files,
        ..args.net.options()?
    };
    let progress = args.verbose.then(net::progress_on_stderr);
    let report = net::run(|cancel| async move { store.sync(&options, progress, &cancel).await }).map_err(
        |e| match e {
            // What was logged here is safe: say so, since the sync did not finish.
            CliError::Core(
                e @ (outreach_core::Error::Network(_)
                | outreach_core::Error::Cancelled
                | outreach_core::Error::Hub { .. }),
            ) => CliError::msg(format!(
                "{e}; everything logged stays on this device and goes at the next sync"
            )),
            other => other,
        },
    )?;
    if args.json {
        return output::json(out, serde_json::to_string_pretty(&report));
    }
    write_sync_report(&report, out)
}

fn write_sync_report(r: &SyncReport, out: Out<'_>) -> CliResult {
    let months: Vec<String> = r.months_removed.iter().map(|m| m.to_string()).collect();
    let lines = [
        ("round trips", r.round_trips.to_string()),
        ("sent", output::size(r.bytes_up)),
        ("received", output::size(r.bytes_down)),
        (
            "pushed",
            format!("{} documents, {} changes", r.documents_pushed, r.changes_pushed),
        ),
        (
            "pulled",
            format!("{} documents, {} changes", r.documents_pulled, r.changes_pulled),
        ),
        ("not readable", r.documents_refused.to_string()),
        ("refused by hub", r.refused_by_hub.len().to_string()),
        ("recovered", r.histories_recovered.to_string()),
        ("dropped", r.documents_dropped.to_string()),
        ("resent whole", r.documents_resent.to_string()),
        ("files uploaded", r.files_uploaded.to_string()),
        ("months removed", output::list(&months)),
        (
            "complete",
            if r.complete { "yes" } else { "no, sync again" }.to_string(),
        ),
        ("duration", format!("{:.1} s", r.duration.as_secs_f64())),
    ];
    for (name, value) in lines {
        writeln!(out, "{name:<16}{value}")?;
    }
    for refusal in &r.refused_by_hub {
        writeln!(
            out,
            "{:<16}document {} ({}): {}; it stays on this device",
            "refused",
            refusal.doc,
            refusal.code.as_str(),
            refusal.reason
        )?;
    }
    if !r.upgrade_needed.is_empty() {
        writeln!(
            out,
            "{:<16}{} documents come from a newer app: update this one to read them",
            "upgrade needed",
            r.upgrade_needed.len()
        )?;
    }
    write_fetch_report(&r.files, out)
}

/// Prints what fetching brochure files did.
pub fn write_fetch_report(f: &FetchReport, out: Out<'_>) -> CliResult {
    let mut line = format!(
        "{} fetched ({}), {} failed",
        f.fetched,
        output::size(f.bytes),
        f.failed
    );
    if f.hash_mismatches > 0 {
        line.push_str(&format!(" ({} did not match their hash)", f.hash_mismatches));
    }
    line.push_str(&format!(
        ", {} over budget, {} removed, {} pending",
        f.skipped, f.removed, f.pending
    ));
    writeln!(out, "{:<16}{line}", "files")?;
    Ok(())
}
