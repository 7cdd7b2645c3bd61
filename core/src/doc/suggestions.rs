//! A device's suggestions document: `suggestions/<id>` with the author's fields (`partner`,
//! `region`, `field`, `value`, `comment`, `made_on`) and, once answered, a coordinator's
//! `answer`, one value (`accepted|2026-12-02|Thanks`: two coordinators answering at once leave
//! one whole answer). The author writes the first, others the second: the
//! hub tells them apart by the actor of each change (see `inspect`), so that neither can speak
//! for the other.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc};

use super::access::{get_map, malformed, put, put_opt_str, Mode};
use super::tree::Node;
use super::{DocError, DocMeta, Document};
use crate::model::{Answer, Suggestion, SuggestionId};

/// The keys of a suggestion that only its author writes; the other one (`answer`) only another
/// device writes.
pub(crate) const AUTHOR_KEYS: &[&str] = &["partner", "region", "field", "value", "comment", "made_on"];

impl Document {
    fn suggestions_collection(&self) -> Result<ObjId, DocError> {
        match self.meta {
            DocMeta::Suggestions { .. } => self.collection(),
            _ => Err(malformed("kind", "a suggestions document")),
        }
    }

    /// Every suggestion of the document, in id order.
    pub fn suggestions(&self) -> Result<Vec<Suggestion>, DocError> {
        let coll = self.suggestions_collection()?;
        let mut out = Vec::new();
        for k in self.am.keys(&coll) {
            let id: SuggestionId = k
                .parse()
                .map_err(|_| malformed(format!("suggestions.{k}"), "a suggestion id"))?;
            if let Some(s) = self.suggestion(id)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// One suggestion.
    pub fn suggestion(&self, id: SuggestionId) -> Result<Option<Suggestion>, DocError> {
        let DocMeta::Suggestions { owner } = self.meta else {
            return Err(malformed("kind", "a suggestions document"));
        };
        let coll = self.suggestions_collection()?;
        let Some(obj) = get_map(&self.am, &coll, &id.to_string(), "suggestions")? else {
            return Ok(None);
        };
        let tree = self.am.hydrate(&obj, None)?;
        let node = Node::new(&tree, format!("suggestions.{id}"))?;
        let answer = match node.str("answer")? {
            None => None,
            Some(text) => {
                let by = self.author_of_key(&obj, "answer").unwrap_or(owner);
                Some(
                    Answer::from_stored(&text, by)
                        .ok_or_else(|| malformed(format!("suggestions.{id}.answer"), "an answer"))?,
                )
            }
        };
        Ok(Some(Suggestion {
            id,
            author: owner,
            partner: node
                .req_str("partner")?
                .parse()
                .map_err(|_| malformed(format!("suggestions.{id}.partner"), "a partner id"))?,
            region: node.code("region")?,
            field: node.str("field")?,
            value: node.str("value")?,
            comment: node.req_str("comment")?,
            made_on: node
                .date("made_on")?
                .ok_or_else(|| malformed(format!("suggestions.{id}.made_on"), "a date"))?,
            answer,
        }))
    }

    /// The device whose change wrote the winning value of `key` in `obj`.
    fn author_of_key(&self, obj: &ObjId, key: &str) -> Option<crate::model::DeviceId> {
        let (_, op) = self.am.get(obj, key).ok()??;
        let hash = self.am.hash_for_opid(&op)?;
        let change = ReadDoc::get_change_by_hash(&self.am, &hash)?;
        super::DeviceActor::parse(change.actor_id()).map(|a| a.device)
    }

    /// Writes a new suggestion (its author's fields), uncommitted. Refuses an id already there.
    pub fn put_suggestion(&mut self, s: &Suggestion) -> Result<(), DocError> {
        let coll = self.suggestions_collection()?;
        let key = s.id.to_string();
        if get_map(&self.am, &coll, &key, "suggestions")?.is_some() {
            return Err(malformed(format!("suggestions.{key}"), "a new suggestion id"));
        }
        let am = &mut self.am;
        let obj = am.put_object(&coll, key.as_str(), ObjType::Map)?;
        let m = Mode::Resolve;
        put(am, &obj, "partner", s.partner.to_string(), m)?;
        put(am, &obj, "region", s.region.as_str(), m)?;
        put_opt_str(am, &obj, "field", s.field.as_deref(), m)?;
        put_opt_str(am, &obj, "value", s.value.as_deref(), m)?;
        put(am, &obj, "comment", s.comment.as_str(), m)?;
        put(am, &obj, "made_on", s.made_on.to_string(), m)
    }

    /// Writes a coordinator's answer to a suggestion, uncommitted.
    pub fn answer_suggestion(&mut self, id: SuggestionId, answer: &Answer) -> Result<(), DocError> {
        let coll = self.suggestions_collection()?;
        let obj = get_map(&self.am, &coll, &id.to_string(), "suggestions")?
            .ok_or_else(|| malformed(format!("suggestions.{id}"), "an existing suggestion"))?;
        put(&mut self.am, &obj, "answer", answer.stored_value(), Mode::Resolve)
    }
}
