//! `outreach suggestions`: the suggestions from the field, for their authors (the outcome) and
//! for coordinators (accept: the edit is made; dismiss: with a reason). Suggestions are made
//! with `outreach partners suggest`.

use clap::Subcommand;
use outreach_core::model::{Outcome, Suggestion, SuggestionId};
use outreach_core::Store;

use crate::error::CliResult;
use crate::output::{self, truncate, Out, Table};

/// Commands on suggestions.
#[derive(Debug, Subcommand)]
pub enum SuggestionsCommand {
    /// List the suggestions this device holds, newest first: its own with their outcome, and
    /// for a coordinator those of every device
    List {
        /// Only those not answered yet
        #[arg(long)]
        open: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Accept a suggestion: its edit is made by this device, and its author sees it accepted
    Accept {
        /// The suggestion's id
        id: SuggestionId,
        /// A word for the author
        #[arg(long)]
        reason: Option<String>,
    },
    /// Dismiss a suggestion, saying why
    Dismiss {
        /// The suggestion's id
        id: SuggestionId,
        /// Why (the author reads it)
        #[arg(long)]
        reason: String,
    },
}

fn outcome(s: &Suggestion) -> String {
    match &s.answer {
        None => "open".into(),
        Some(a) => {
            let word = match a.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Dismissed => "dismissed",
            };
            match &a.reason {
                Some(r) => format!("{word} on {}: {r}", a.on),
                None => format!("{word} on {}", a.on),
            }
        }
    }
}

/// Runs a `suggestions` command on `store`.
pub fn run(command: SuggestionsCommand, store: &Store, out: Out<'_>) -> CliResult {
    match command {
        SuggestionsCommand::List { open, json } => {
            let list: Vec<Suggestion> = store
                .suggestions()?
                .into_iter()
                .filter(|s| !open || s.answer.is_none())
                .collect();
            if json {
                output::json(out, serde_json::to_string_pretty(&list))?;
            } else if list.is_empty() {
                writeln!(out, "No suggestion.")?;
            } else {
                let mut table =
                    Table::new(&["ID", "MADE", "PARTNER", "FIELD", "VALUE", "COMMENT", "OUTCOME"]);
                for s in &list {
                    table.row(vec![
                        s.id.to_string(),
                        s.made_on.to_string(),
                        s.partner.to_string(),
                        s.field.clone().unwrap_or_else(|| "-".into()),
                        truncate(s.value.as_deref().unwrap_or("-"), 30),
                        truncate(&s.comment, 40),
                        outcome(s),
                    ]);
                }
                table.write(out)?;
            }
        }
        SuggestionsCommand::Accept { id, reason } => {
            store.accept_suggestion(id, reason.as_deref())?;
            writeln!(out, "accepted")?;
        }
        SuggestionsCommand::Dismiss { id, reason } => {
            store.dismiss_suggestion(id, &reason)?;
            writeln!(out, "dismissed")?;
        }
    }
    Ok(())
}
