//! Which brochure files a device keeps: for each brochure in force, its file in the reader's
//! best language, while they fit the storage budget (most recently updated brochures first);
//! other files that brochures in force use, while they still fit; files waiting for upload,
//! always. Everything else in the brochure folder is removed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;

use super::brochure_files::{file_path, is_sha256_hex, remove_if_exists};
use super::Store;
use crate::error::Result;
use crate::model::{BrochureFile, Lang};

/// What to fetch and keep under a storage budget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilePlan {
    /// Files to download, most wanted first.
    pub download: Vec<BrochureFile>,
    /// Hashes of the files to keep on the device (those present and those to download).
    pub keep: HashSet<String>,
    /// Wanted files that do not fit the budget.
    pub skipped: u32,
}

/// Chooses the files to keep: the wanted ones (most wanted first) while they fit the budget,
/// then other present files that brochures in force use, while they still fit. Files already
/// present count against the budget like the ones to download.
pub(crate) fn plan(
    wanted: &[BrochureFile],
    in_use: &[BrochureFile],
    present: &HashMap<String, u64>,
    budget: u64,
) -> FilePlan {
    let mut plan = FilePlan::default();
    let mut used = 0u64;
    for f in wanted {
        if plan.keep.contains(&f.sha256) {
            continue;
        }
        let size = present.get(&f.sha256).copied().unwrap_or(f.size);
        if used.saturating_add(size) > budget {
            plan.skipped += 1;
            continue;
        }
        used += size;
        plan.keep.insert(f.sha256.clone());
        if !present.contains_key(&f.sha256) {
            plan.download.push(f.clone());
        }
    }
    for f in in_use {
        if let Some(&size) = present.get(&f.sha256) {
            if !plan.keep.contains(&f.sha256) && used.saturating_add(size) <= budget {
                used += size;
                plan.keep.insert(f.sha256.clone());
            }
        }
    }
    plan
}

impl Store {
    /// Decides which files to fetch and keep for `languages` within `budget` bytes.
    pub(crate) fn plan_files(&self, languages: &[Lang], budget: u64) -> Result<FilePlan> {
        let wanted: Vec<BrochureFile> = self
            .brochures(languages)?
            .into_iter()
            .filter_map(|v| v.file.map(|(_, f)| f))
            .filter(|f| is_sha256_hex(&f.sha256))
            .collect();
        let in_use: Vec<BrochureFile> = self
            .brochures_in_force()?
            .into_iter()
            .flat_map(|b| b.files.into_values())
            .collect();
        let mut present: HashMap<String, u64> = HashMap::new();
        for f in self.stored_files()? {
            // A recorded file gone or cut short on disk is fetched again.
            let path = file_path(&self.brochure_dir, &f.sha256, &f.media_type);
            if fs::metadata(&path).is_ok_and(|m| m.len() == f.size) {
                present.insert(f.sha256, f.size);
            } else {
                self.forget_file(&f.sha256)?;
            }
        }
        let mut plan = plan(&wanted, &in_use, &present, budget);
        for f in self.pending_uploads()? {
            plan.keep.insert(f.sha256);
        }
        Ok(plan)
    }

    /// Removes every file, record and partial download not in `keep` (and stray temporary
    /// files); returns how many files went.
    pub(crate) fn prune_files(&self, keep: &HashSet<String>) -> Result<u32> {
        let mut removed = 0;
        for f in self.stored_files()? {
            if !keep.contains(&f.sha256) {
                self.forget_file(&f.sha256)?;
                removed += 1;
            }
        }
        let entries = match fs::read_dir(&self.brochure_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(e.into()),
        };
        let recorded: HashSet<String> = self.stored_files()?.into_iter().map(|f| f.sha256).collect();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let sha = name.split('.').next().unwrap_or_default();
            let wanted = is_sha256_hex(sha) && keep.contains(sha);
            let is_part = name.ends_with(".part");
            // A kept file is recorded; a kept partial download resumes later.
            if wanted && (is_part || recorded.contains(sha)) {
                continue;
            }
            if entry.file_type()?.is_file() {
                remove_if_exists(&entry.path())?;
                if !is_part && !name.starts_with(".tmp-") {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Brochure;
    use crate::store::brochure_files::sha256_hex;
    use crate::StoreKey;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.db"),
            StoreKey::random().as_bytes(),
            Default::default(),
        )
        .unwrap();
        (dir, store)
    }

    fn lang(code: &str) -> Lang {
        Lang::code(code).unwrap()
    }

    fn file(c: char, size: u64) -> BrochureFile {
        BrochureFile {
            sha256: c.to_string().repeat(64),
            size,
            media_type: "application/pdf".into(),
            file_name: "f.pdf".into(),
        }
    }

    #[test]
    fn the_plan_keeps_the_most_wanted_files_within_the_budget() {
        let wanted = [file('a', 60), file('b', 50), file('c', 30), file('a', 60)];
        let in_use = [file('a', 60), file('d', 10), file('e', 100)];
        let present = HashMap::from([("a".repeat(64), 60), ("d".repeat(64), 10), ("e".repeat(64), 100)]);
        let p = plan(&wanted, &in_use, &present, 100);
        // a (present) and c fit; b does not; d still fits beside them, e does not.
        assert_eq!(p.download, vec![file('c', 30)]);
        assert_eq!(p.skipped, 1);
        let mut keep: Vec<_> = p.keep.into_iter().collect();
        keep.sort();
        assert_eq!(keep, vec!["a".repeat(64), "c".repeat(64), "d".repeat(64)]);
        assert_eq!(plan(&wanted, &in_use, &present, 0).keep.len(), 0);
    }

    #[test]
    fn pruning_keeps_what_is_planned_or_queued() {
        let (_dir, store) = store();
        let mut b = Brochure::new("2026-01-05".parse().unwrap());
        b.title.insert(lang("fr"), "Le retour volontaire".into());
        store.put_brochure(&b).unwrap();
        store
            .publish_brochure_file(b.id, lang("fr"), b"%PDF one", "application/pdf", "a.pdf")
            .unwrap();
        let dir = store.brochure_dir().to_path_buf();
        fs::write(dir.join(format!("{}.part", "e".repeat(64))), b"partial").unwrap();
        fs::write(dir.join("stray.txt"), b"x").unwrap();
        let plan = store.plan_files(&[lang("fr")], 0).unwrap();
        assert_eq!(plan.keep.len(), 1, "the queued upload stays whatever the budget");
        assert_eq!(store.prune_files(&plan.keep).unwrap(), 1);
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1);
        store.upload_done(&sha256_hex(b"%PDF one")).unwrap();
        assert_eq!(store.prune_files(&HashSet::new()).unwrap(), 1);
        assert!(store.brochure_file(b.id, &[]).unwrap().is_none());
    }
}
