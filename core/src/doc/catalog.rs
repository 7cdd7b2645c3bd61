//! Brochures in the catalog document: `brochures/<id>` with titles and summaries per language,
//! themes and audience as sets, `files/<lang>` describing one file each, a version and a
//! `retired` flag instead of deletion.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc};

use super::access::{delete, ensure_map, get_map, malformed, put, put_set, Mode};
use super::tree::Node;
use super::{DocError, DocMeta, Document};
use crate::model::{Brochure, BrochureFile, BrochureId, Lang};

impl Document {
    fn ensure_catalog(&self) -> Result<ObjId, DocError> {
        match self.meta {
            DocMeta::BrochureCatalog => self.collection(),
            _ => Err(malformed("kind", "the brochure catalog")),
        }
    }

    /// The brochure's map object, for audits.
    pub(crate) fn brochure_object(&self, id: BrochureId) -> Result<Option<ObjId>, DocError> {
        let coll = self.ensure_catalog()?;
        get_map(&self.am, &coll, &id.to_string(), "brochures")
    }

    /// Every brochure, retired ones included.
    pub fn brochures(&self) -> Result<Vec<Brochure>, DocError> {
        let coll = self.ensure_catalog()?;
        let mut out = Vec::new();
        for k in self.am.keys(&coll) {
            let id: BrochureId = k
                .parse()
                .map_err(|_| malformed(format!("brochures.{k}"), "a brochure id"))?;
            if let Some(b) = self.brochure(id)? {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// One brochure.
    pub fn brochure(&self, id: BrochureId) -> Result<Option<Brochure>, DocError> {
        match self.brochure_object(id)? {
            Some(obj) => {
                let tree = self.am.hydrate(&obj, None)?;
                read_brochure(&Node::new(&tree, format!("brochures.{id}"))?, id).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Adds a brochure or writes the fields of an existing one that differ (uncommitted).
    pub fn put_brochure(&mut self, b: &Brochure) -> Result<(), DocError> {
        let coll = self.ensure_catalog()?;
        let am = &mut self.am;
        let key = b.id.to_string();
        let obj = match get_map(am, &coll, &key, "brochures")? {
            Some(o) => o,
            None => {
                let o = am.put_object(&coll, key.as_str(), ObjType::Map)?;
                for c in ["title", "summary", "themes", "audience", "files"] {
                    am.put_object(&o, c, ObjType::Map)?;
                }
                o
            }
        };
        write_texts(am, &obj, "title", b.title.iter())?;
        write_texts(am, &obj, "summary", b.summary.iter())?;
        put_set(am, &obj, "themes", b.themes.iter().map(|t| t.as_str()))?;
        put_set(am, &obj, "audience", b.audience.iter().map(|a| a.as_str()))?;
        let files = ensure_map(am, &obj, "files")?;
        for k in am.keys(&files).collect::<Vec<_>>() {
            if !b.files.keys().any(|l| l.as_str() == k) {
                am.delete(&files, k.as_str())?;
            }
        }
        for (lang, f) in &b.files {
            put_file(am, &files, lang, f)?;
        }
        put(am, &obj, "version", u64::from(b.version), Mode::Reconcile)?;
        put(
            am,
            &obj,
            "published_on",
            b.published_on.to_string(),
            Mode::Reconcile,
        )?;
        put(am, &obj, "updated_on", b.updated_on.to_string(), Mode::Reconcile)?;
        put(am, &obj, "retired", b.retired, Mode::Reconcile)
    }
}

fn write_texts<'a>(
    am: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    texts: impl Iterator<Item = (&'a Lang, &'a String)> + Clone,
) -> Result<(), DocError> {
    let map = ensure_map(am, obj, key)?;
    for k in am.keys(&map).collect::<Vec<_>>() {
        if !texts.clone().any(|(l, _)| l.as_str() == k) {
            delete(am, &map, &k)?;
        }
    }
    for (lang, text) in texts {
        put(am, &map, lang.as_str(), text.as_str(), Mode::Reconcile)?;
    }
    Ok(())
}

/// Writes the file of one language: a fresh map when the file changed, so that two coordinators
/// publishing different files concurrently leave a visible conflict rather than a mix of both.
fn put_file(am: &mut AutoCommit, files: &ObjId, lang: &Lang, f: &BrochureFile) -> Result<(), DocError> {
    if let Some(existing) = get_map(am, files, lang.as_str(), "files")? {
        if am.get_all(files, lang.as_str())?.len() == 1 {
            let tree = am.hydrate(&existing, None)?;
            if Node::new(&tree, "files")
                .and_then(|n| read_file(&n))
                .ok()
                .as_ref()
                == Some(f)
            {
                return Ok(());
            }
        }
    }
    let obj = am.put_object(files, lang.as_str(), ObjType::Map)?;
    am.put(&obj, "sha256", f.sha256.as_str())?;
    am.put(&obj, "size", f.size)?;
    am.put(&obj, "media_type", f.media_type.as_str())?;
    am.put(&obj, "file_name", f.file_name.as_str())?;
    Ok(())
}

fn read_file(node: &Node<'_>) -> Result<BrochureFile, DocError> {
    Ok(BrochureFile {
        sha256: node.req_str("sha256")?,
        size: node
            .uint("size")?
            .ok_or_else(|| malformed(node.path().to_string(), "a size"))?,
        media_type: node.req_str("media_type")?,
        file_name: node.req_str("file_name")?,
    })
}

fn read_brochure(node: &Node<'_>, id: BrochureId) -> Result<Brochure, DocError> {
    let mut files = std::collections::BTreeMap::new();
    if let Some(map) = node.map("files")? {
        for (k, child) in map.children()? {
            let lang: Lang = k
                .parse()
                .map_err(|_| malformed(child.path().to_string(), "a language code"))?;
            files.insert(lang, read_file(&child)?);
        }
    }
    let version = node
        .uint("version")?
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| malformed(format!("brochures.{id}.version"), "a version"))?;
    let date = |key: &str| -> Result<chrono::NaiveDate, DocError> {
        node.date(key)?
            .ok_or_else(|| malformed(format!("brochures.{id}.{key}"), "a date"))
    };
    Ok(Brochure {
        id,
        title: node.texts("title")?,
        summary: node.texts("summary")?,
        themes: node.set("themes")?,
        audience: node.set("audience")?,
        files,
        version,
        published_on: date("published_on")?,
        updated_on: date("updated_on")?,
        retired: node.bool("retired")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceId, Theme};
    use chrono::Utc;

    #[test]
    fn a_brochure_round_trips_and_concurrent_files_conflict_visibly() {
        let (a, b) = (DeviceId::random(), DeviceId::random());
        let mut da = Document::create(DocMeta::BrochureCatalog, a).unwrap();
        let mut br = Brochure::new("2026-11-01".parse().unwrap());
        br.title
            .insert(Lang::code("fr").unwrap(), "Le retour volontaire".into());
        br.themes.insert(Theme::VoluntaryReturn);
        let file = |c: char| BrochureFile {
            sha256: c.to_string().repeat(64),
            size: 1000,
            media_type: "application/pdf".into(),
            file_name: "retour.pdf".into(),
        };
        br.files.insert(Lang::code("fr").unwrap(), file('a'));
        da.put_brochure(&br).unwrap();
        da.commit(Utc::now());
        assert_eq!(da.brochure(br.id).unwrap().unwrap(), br);

        let mut db = Document::load(da.id(), &da.automerge_mut().save(), b).unwrap();
        let mut br_a = br.clone();
        br_a.files.insert(Lang::code("fr").unwrap(), file('b'));
        da.put_brochure(&br_a).unwrap();
        da.commit(Utc::now());
        let mut br_b = br.clone();
        br_b.files.insert(Lang::code("fr").unwrap(), file('c'));
        db.put_brochure(&br_b).unwrap();
        db.commit(Utc::now());
        da.merge_bytes(&db.automerge_mut().save()).unwrap();
        let obj = da.brochure_object(br.id).unwrap().unwrap();
        let files = get_map(da.automerge(), &obj, "files", "").unwrap().unwrap();
        assert_eq!(da.automerge().get_all(&files, "fr").unwrap().len(), 2);
    }
}
