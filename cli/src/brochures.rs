//! `outreach brochures`: the brochure catalog as a worker sees it, in their languages, and the
//! brochure files: published by coordinators, fetched from the hub, opened from this device.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use outreach_core::model::{Audience, Brochure, BrochureId, Lang, MultiText, Theme, MAX_FILE_BYTES};
use outreach_core::Store;

use crate::error::{CliError, CliResult};
use crate::net::{self, NetArgs};
use crate::output::{self, Out, Table};
use crate::parse::{self, code};

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
    /// Add a brochure to the catalog (coordinators) and print its id; its files are published
    /// with `brochures publish`
    Add(Box<Entry>),
    /// Change a brochure's catalog entry (coordinators)
    Edit {
        /// The brochure
        #[arg(value_name = "ID", value_parser = parse::from_str::<BrochureId>)]
        id: BrochureId,
        #[command(flatten)]
        entry: Box<Entry>,
        /// A new edition: the version is raised by one
        #[arg(long)]
        new_version: bool,
    },
    /// Retire a brochure (coordinators): it stays in the catalog, hidden from workers, and
    /// devices drop its files
    Retire {
        /// The brochure
        #[arg(value_name = "ID", value_parser = parse::from_str::<BrochureId>)]
        id: BrochureId,
    },
    /// Publish the file of one language of a brochure (coordinators); it is uploaded to the hub
    /// at the next sync, before the catalog. Publishing again replaces the language's file
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

/// The fields of a catalog entry that `add` and `edit` set.
#[derive(Debug, Args)]
pub struct Entry {
    /// The title in one language; an empty TEXT removes it (repeatable)
    #[arg(long = "title", value_name = "LANG=TEXT", value_parser = parse::lang_text)]
    titles: Vec<(Lang, String)>,
    /// The summary in one language; an empty TEXT removes it (repeatable)
    #[arg(long = "summary", value_name = "LANG=TEXT", value_parser = parse::lang_text)]
    summaries: Vec<(Lang, String)>,
    /// Add a theme (repeatable)
    #[arg(long = "theme", value_name = "THEME", value_parser = code::<Theme>())]
    themes: Vec<Theme>,
    /// Remove a theme (repeatable)
    #[arg(long = "remove-theme", value_name = "THEME", value_parser = code::<Theme>())]
    remove_themes: Vec<Theme>,
    /// Add an audience (repeatable) [default for a new brochure: migrants]
    #[arg(long = "audience", value_name = "AUDIENCE", value_parser = code::<Audience>())]
    audience: Vec<Audience>,
    /// Remove an audience (repeatable)
    #[arg(long = "remove-audience", value_name = "AUDIENCE", value_parser = code::<Audience>())]
    remove_audience: Vec<Audience>,
    /// Day of first publication [default for a new brochure: today]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse::date)]
    published_on: Option<NaiveDate>,
}

impl Entry {
    fn is_empty(&self) -> bool {
        self.titles.is_empty()
            && self.summaries.is_empty()
            && self.themes.is_empty()
            && self.remove_themes.is_empty()
            && self.audience.is_empty()
            && self.remove_audience.is_empty()
            && self.published_on.is_none()
    }

    /// Sets these fields on `b`.
    fn apply(&self, b: &mut Brochure) {
        fn texts(into: &mut MultiText, from: &[(Lang, String)]) {
            for (lang, text) in from {
                if text.is_empty() {
                    into.remove(lang);
                } else {
                    into.insert(lang.clone(), text.clone());
                }
            }
        }
        texts(&mut b.title, &self.titles);
        texts(&mut b.summary, &self.summaries);
        b.themes.extend(self.themes.iter().copied());
        for t in &self.remove_themes {
            b.themes.remove(t);
        }
        b.audience.extend(self.audience.iter().copied());
        for a in &self.remove_audience {
            b.audience.remove(a);
        }
        if let Some(on) = self.published_on {
            b.published_on = on;
            b.updated_on = b.updated_on.max(on);
        }
    }
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
        BrochuresCommand::Add(entry) => {
            let mut b = Brochure::new(crate::today());
            if !entry.audience.is_empty() {
                b.audience.clear();
            }
            entry.apply(&mut b);
            store.put_brochure(&b)?;
            writeln!(out, "{}", b.id)?;
        }
        BrochuresCommand::Edit {
            id,
            entry,
            new_version,
        } => {
            if entry.is_empty() && !new_version {
                return Err(CliError::msg(
                    "nothing to change: give at least one field or --new-version",
                ));
            }
            let mut b = store.brochure(id)?;
            entry.apply(&mut b);
            if new_version {
                b.version = b.version.saturating_add(1);
            }
            b.updated_on = b.updated_on.max(crate::today());
            store.put_brochure(&b)?;
        }
        BrochuresCommand::Retire { id } => {
            let mut b = store.brochure(id)?;
            b.retired = true;
            b.updated_on = b.updated_on.max(crate::today());
            store.put_brochure(&b)?;
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
