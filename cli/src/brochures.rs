//! `outreach brochures`: the brochure catalog as a worker sees it, in their languages.

use clap::Subcommand;
use outreach_core::model::Lang;
use outreach_core::Store;

use crate::error::CliResult;
use crate::output::{self, Out, Table};
use crate::parse;

/// Commands on the brochure catalog.
#[derive(Debug, Subcommand)]
pub enum BrochuresCommand {
    /// List the brochures in force, each in the first of the given languages it has
    List {
        /// A language to read in, in order of preference (repeatable); a brochure missing all
        /// of them is shown in another language it has
        #[arg(long = "lang", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
        languages: Vec<Lang>,
        /// Print the brochures as JSON
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `brochures` command on `store`.
pub fn run(command: BrochuresCommand, store: &Store, out: Out<'_>) -> CliResult {
    match command {
        BrochuresCommand::List { languages, json } => {
            let brochures = store.brochures(&languages)?;
            if json {
                return output::json(out, serde_json::to_string_pretty(&brochures));
            }
            if brochures.is_empty() {
                writeln!(out, "No brochure in the catalog.")?;
                return Ok(());
            }
            let mut table = Table::new(&["ID", "TITLE", "THEMES", "VERSION", "UPDATED", "FILE", "SIZE"])
                .align_right(3)
                .align_right(6);
            for b in &brochures {
                let (file, size) = match &b.file {
                    Some((lang, f)) => (format!("{} ({lang})", f.file_name), output::size(f.size)),
                    None => ("-".to_owned(), "-".to_owned()),
                };
                table.row(vec![
                    b.id.to_string(),
                    output::truncate(&format!("{} [{}]", b.title, b.title_lang), 50),
                    output::truncate(&output::list(&b.themes), 30),
                    b.version.to_string(),
                    b.updated_on.to_string(),
                    file,
                    size,
                ]);
            }
            table.write(out)?;
        }
    }
    Ok(())
}
