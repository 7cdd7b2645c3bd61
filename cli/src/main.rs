//! `outreach`: the command-line client of Outreach, for coordinators keeping the partner
//! directory and for trying out the offline core on a laptop.

mod brochures;
mod demo;
mod error;
mod hub;
mod key;
mod net;
mod output;
mod parse;
mod partners;
mod suggestions;
mod visits;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use outreach_core::{Store, StoreKey, StoreOptions};

use crate::brochures::BrochuresCommand;
use crate::error::{CliError, CliResult};
use crate::partners::PartnersCommand;
use crate::visits::VisitsCommand;

/// Outreach: the partner directory, brochures and anonymised visit log of CONEX outreach
/// workers, kept offline in an encrypted store.
#[derive(Debug, Parser)]
#[command(name = "outreach", version)]
#[command(after_help = "\
The store is encrypted with a 32-byte key, given as 64 hex characters in OUTREACH_KEY or in a
key file (--key-file, or OUTREACH_KEY_FILE) that only its owner can read. Create a store and a
key with:
    outreach init --generate-key outreach.key
then run other commands with --key-file outreach.key, or export OUTREACH_KEY_FILE=outreach.key.")]
struct Cli {
    #[command(flatten, next_help_heading = "Store options")]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the store is and how to unlock it.
#[derive(Debug, Args)]
struct StoreArgs {
    /// The store's database file
    #[arg(
        long = "store",
        value_name = "PATH",
        env = "OUTREACH_STORE",
        default_value = "outreach.db",
        global = true
    )]
    path: PathBuf,
    /// File holding the key as 64 hex characters, readable by its owner only [default: the key in
    /// OUTREACH_KEY]
    #[arg(long, value_name = "PATH", env = "OUTREACH_KEY_FILE", global = true)]
    key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new store and print this device's id
    Init {
        /// Write a new random key to FILE (created readable by its owner only) and use it
        #[arg(long, value_name = "FILE", conflicts_with = "key_file")]
        generate_key: Option<PathBuf>,
    },
    /// Search, show and edit the partner directory
    #[command(subcommand)]
    Partners(PartnersCommand),
    /// List the brochures in force; publish, fetch and open their files
    #[command(subcommand)]
    Brochures(BrochuresCommand),
    /// Log, amend, list and count this device's visits
    #[command(subcommand)]
    Visits(VisitsCommand),
    /// Suggestions from the field: list them; accept or dismiss one (coordinators)
    #[command(subcommand)]
    Suggestions(suggestions::SuggestionsCommand),
    /// Enroll this device with a hub, from an enrollment link or a hub address and code
    Enroll(hub::EnrollArgs),
    /// Show the hub this device is enrolled with
    Enrollment {
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Sync with the hub: send this device's changes, receive the others', fetch brochure files
    Sync(hub::SyncArgs),
    /// Run the demonstration
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.to_string();
            eprintln!("error: {}", message.lines().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; the error is for the user.
fn run(cli: Cli) -> CliResult {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Init { generate_key } => init(&cli.store, generate_key.as_deref(), &mut out)?,
        Command::Partners(command) => partners::run(command, &cli.store.open()?, &mut out)?,
        Command::Brochures(command) => brochures::run(command, &cli.store.open()?, &mut out)?,
        Command::Visits(command) => visits::run(command, &cli.store.open()?, &mut out)?,
        Command::Suggestions(command) => suggestions::run(command, &cli.store.open()?, &mut out)?,
        Command::Enroll(args) => hub::enroll(args, &cli.store.open()?, &mut out)?,
        Command::Enrollment { json } => hub::show_enrollment(&cli.store.open()?, json, &mut out)?,
        Command::Sync(args) => hub::sync(args, &cli.store.open()?, &mut out)?,
        Command::Demo => demo::run()?,
    }
    out.flush()?;
    Ok(())
}

impl StoreArgs {
    /// Opens the existing store; never creates one.
    fn open(&self) -> CliResult<Store> {
        if !self.path.exists() {
            return Err(CliError::msg(format!(
                "no store at {}: create one with `outreach init`, or name another with --store",
                self.path.display()
            )));
        }
        let key = key::load(self.key_file.as_deref())?;
        self.open_with(&key)
    }

    fn open_with(&self, key: &StoreKey) -> CliResult<Store> {
        Ok(Store::open(&self.path, key.as_bytes(), StoreOptions::default())?)
    }
}

/// Creates the store, with a new key file if asked, and prints the device id.
fn init(store: &StoreArgs, generate_key: Option<&Path>, out: &mut dyn Write) -> CliResult {
    if store.path.exists() {
        return Err(CliError::msg(format!(
            "a store already exists at {}; refusing to create another",
            store.path.display()
        )));
    }
    let created = match generate_key {
        Some(file) => {
            let key = key::generate(file)?;
            store.open_with(&key).inspect_err(|_| {
                // The key of a store that was not created is of no use.
                let _ = std::fs::remove_file(file);
            })?
        }
        None => store.open_with(&key::load(store.key_file.as_deref())?)?,
    };
    writeln!(out, "{}", created.device_id())?;
    if let Some(file) = generate_key {
        eprintln!(
            "The key is in {}: keep it safe, the store cannot be opened without it.",
            file.display()
        );
    }
    Ok(())
}

/// Today's date where the device is.
fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
