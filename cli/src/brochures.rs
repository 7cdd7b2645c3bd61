//! `outreach brochures`: the brochure catalog as a worker sees it, in their languages, and the
//! brochure files: published by coordinators, fetched from the hub, opened from this device.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use outreach_core::model::{BrochureId, Lang, MAX_FILE_BYTES};
use outreach_core::Store;

use crate::error::{CliError, CliResult};
use crate::net::{self, NetArgs};
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
    /// Publish the file of one language of a brochure (coordinators); it is uploaded to the hub
    /// at the next sync, before the catalog
    Publish {
        /// The brochure
        #[arg(value_name = "ID", value_parser = parse::from_str::<BrochureId>)]
        id: BrochureId,
        /// The file's language
        #[arg(long, value_name = "LANG", value_parser = parse::from_str::<Lang>)]
        lang: Lang,
        /// The file (PDF, JPEG, PNG or WebP)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The file's media type [default: from its extension]
        #[arg(long, value_name = "TYPE")]
        media_type: Option<String>,
    },
    /// Fetch the brochure files missing on this device from the hub
    Fetch {
        /// Languages of the files to keep here, in order of preference
        #[arg(long, value_name = "LANG,...", value_delimiter = ',', value_parser = parse::from_str::<Lang>)]
        languages: Vec<Lang>,
        /// Room for brochure files, in MB
        #[arg(long, value_name = "MB", default_value_t = 200)]
        budget_mb: u64,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Print the path of a brochure's file on this device, in the best language available here
    Open {
        /// The brochure
        #[arg(value_name = "ID", value_parser = parse::from_str::<BrochureId>)]
        id: BrochureId,
        /// A language to read in, in order of preference (repeatable)
        #[arg(long = "lang", value_name = "LANG", value_parser = parse::from_str::<Lang>)]
        languages: Vec<Lang>,
    },
}

/// The media type of a brochure file, from its extension.
fn media_type_of(file: &Path) -> Option<&'static str> {
    let ext = file.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        _ => return None,
    })
}

fn publish(
    store: &Store,
    id: BrochureId,
    lang: Lang,
    file: &Path,
    media_type: Option<String>,
    out: Out<'_>,
) -> CliResult {
    let shown = file.display();
    let media_type = match media_type {
        Some(t) => t,
        None => media_type_of(file)
            .ok_or_else(|| {
                CliError::msg(format!(
                    "cannot tell the media type of {shown}: give --media-type"
                ))
            })?
            .to_owned(),
    };
    let size = std::fs::metadata(file)
        .map_err(|e| CliError::msg(format!("cannot read {shown}: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(CliError::msg(format!(
            "{shown} is larger than the {} a brochure file may have",
            output::size(MAX_FILE_BYTES)
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| CliError::msg(format!("cannot read {shown}: {e}")))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| CliError::msg(format!("{shown} has no usable file name")))?;
    store.publish_brochure_file(id, lang.clone(), &bytes, &media_type, name)?;
    writeln!(
        out,
        "Published {name} ({lang}, {}) for brochure {id}; it is uploaded at the next sync.",
        output::size(size)
    )?;
    Ok(())
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
        BrochuresCommand::Publish {
            id,
            lang,
            file,
            media_type,
        } => publish(store, id, lang, &file, media_type, out)?,
        BrochuresCommand::Fetch {
            languages,
            budget_mb,
            net,
        } => {
            let options = outreach_core::SyncOptions {
                languages,
                storage_budget_bytes: budget_mb
                    .checked_mul(1024 * 1024)
                    .ok_or_else(|| CliError::msg("--budget-mb is too large"))?,
                ..net.options()?
            };
            let report =
                net::run(|cancel| async move { store.fetch_brochure_files(&options, &cancel).await })?;
            crate::hub::write_fetch_report(&report, out)?;
        }
        BrochuresCommand::Open { id, languages } => match store.brochure_file(id, &languages)? {
            // Absolute, so that the path works from anywhere.
            Some(file) => writeln!(
                out,
                "{}",
                std::path::absolute(&file.path).unwrap_or(file.path).display()
            )?,
            None => {
                return Err(CliError::msg(format!(
                    "no file of brochure {id} is on this device: fetch it with `outreach brochures fetch`"
                )))
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_extensions() {
        assert_eq!(media_type_of(Path::new("a/Retour.PDF")), Some("application/pdf"));
        assert_eq!(media_type_of(Path::new("x.jpeg")), Some("image/jpeg"));
        assert_eq!(media_type_of(Path::new("x.webp")), Some("image/webp"));
        assert_eq!(media_type_of(Path::new("x.docx")), None);
        assert_eq!(media_type_of(Path::new("noext")), None);
    }
}
