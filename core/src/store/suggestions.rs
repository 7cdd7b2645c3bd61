//! Suggestions from the field, on the device: made offline into this device's suggestions
//! document, synced to the coordinators of every organisation, answered by one of them (an
//! accepted suggestion's edit is made by the coordinator who accepts it), and read back by
//! their author with the outcome.

use super::index::Entities;
use super::Store;
use crate::doc::{DocKind, DocMeta, PartnerEdit};
use crate::error::{Error, Result};
use crate::model::fields::{partner_cli_path, partner_doc_path};
use crate::model::{Answer, Outcome, PartnerId, Suggestion, SuggestionId};
use crate::privacy::{scan_note_allowing, PersonalDataKind};

/// What a suggestion proposes: the partner, the field and value (as `partners edit` takes
/// them) and a comment for the coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The partner.
    pub partner: PartnerId,
    /// The field, as the CLI and the apps name it; none to flag the whole entry.
    pub field: Option<String>,
    /// The proposed value; none to clear the field (or with no field).
    pub value: Option<String>,
    /// Why, for the coordinator: never anything about a person.
    pub comment: String,
}

impl Store {
    /// Makes a suggestion, offline: stored in this device's suggestions document, which syncs
    /// to the coordinators. The field must be a field of the partner, the proposed value one it
    /// can take, and neither the comment nor the value may hold personal data (a partner's own
    /// public contact is allowed).
    pub fn suggest(&self, proposal: &Proposal) -> Result<SuggestionId> {
        let partner = self.partner(proposal.partner)?;
        let field = match &proposal.field {
            Some(f) => Some(partner_cli_path(&partner_doc_path(f)?)),
            None => None,
        };
        let suggestion = Suggestion {
            id: SuggestionId::random(),
            author: self.device_id(),
            partner: partner.id,
            region: partner.region,
            field,
            value: proposal.value.clone().filter(|v| !v.trim().is_empty()),
            comment: proposal.comment.trim().to_string(),
            made_on: self.today(),
            answer: None,
        };
        suggestion.validate()?;
        if let Some(field) = &suggestion.field {
            // The value must make an edit a coordinator can accept as it stands.
            let edit = PartnerEdit::from_text(field, suggestion.value.as_deref())?;
            edit.check()?;
        }
        for text in [Some(suggestion.comment.as_str()), suggestion.value.as_deref()]
            .into_iter()
            .flatten()
        {
            self.check_free_text(text)?;
        }
        let id = suggestion.id;
        let meta = DocMeta::Suggestions {
            owner: self.device_id(),
        };
        self.commit_edit(meta, true, |_, doc| {
            doc.put_suggestion(&suggestion)?;
            Ok((id, Entities::Suggestions(vec![id])))
        })
    }

    /// Every suggestion this device holds: its own, and for a coordinator those of every
    /// device, newest first.
    pub fn suggestions(&self) -> Result<Vec<Suggestion>> {
        let mut out = Vec::new();
        for (id, kind) in self.documents()? {
            if kind == DocKind::Suggestions {
                out.extend(self.with_document(id, |doc| Ok(doc.suggestions()?))?);
            }
        }
        out.sort_by(|a, b| b.made_on.cmp(&a.made_on).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// One suggestion, by its id.
    pub fn suggestion(&self, id: SuggestionId) -> Result<Suggestion> {
        for (doc, kind) in self.documents()? {
            if kind == DocKind::Suggestions {
                if let Some(s) = self.with_document(doc, |d| Ok(d.suggestion(id)?))? {
                    return Ok(s);
                }
            }
        }
        Err(Error::NotFound { what: "suggestion" })
    }

    /// Accepts a suggestion: its edit is made (by this device, so by the coordinator who
    /// accepts it), then the answer is recorded for its author. A coordinator of an
    /// organisation that is no steward of the partner's region may not: [`Error::KeptByStewards`].
    pub fn accept_suggestion(&self, id: SuggestionId, reason: Option<&str>) -> Result<()> {
        let s = self.open_suggestion(id)?;
        if let Some(field) = &s.field {
            self.edit_partner(s.partner, &[PartnerEdit::from_text(field, s.value.as_deref())?])?;
        }
        self.answer(&s, Outcome::Accepted, reason)
    }

    /// Dismisses a suggestion, saying why.
    pub fn dismiss_suggestion(&self, id: SuggestionId, reason: &str) -> Result<()> {
        let s = self.open_suggestion(id)?;
        self.answer(&s, Outcome::Dismissed, Some(reason))
    }

    /// A suggestion this device may answer: a coordinator's device, of a steward of its
    /// region if it has any, and not yet answered.
    fn open_suggestion(&self, id: SuggestionId) -> Result<Suggestion> {
        self.check_edits_directory()?;
        let s = self.suggestion(id)?;
        self.check_region_right(s.region)?;
        if s.answer.is_some() {
            return Err(Error::NotAllowed("this suggestion was answered already"));
        }
        Ok(s)
    }

    fn answer(&self, s: &Suggestion, outcome: Outcome, reason: Option<&str>) -> Result<()> {
        let answer = Answer {
            outcome,
            reason: reason
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            on: self.today(),
            by: self.device_id(),
        };
        answer.validate()?;
        if let Some(r) = &answer.reason {
            self.check_free_text(r)?;
        }
        let id = s.id;
        self.commit_edit(DocMeta::Suggestions { owner: s.author }, false, |_, doc| {
            doc.answer_suggestion(id, &answer)?;
            Ok(((), Entities::Suggestions(vec![id])))
        })
    }

    /// Refuses free text holding personal data; a partner's own public contact is allowed.
    pub(crate) fn check_free_text(&self, text: &str) -> Result<()> {
        let spans = self.read(|c| {
            let public = |kind: PersonalDataKind, key: &str| {
                super::index::is_partner_contact(c, kind, key).unwrap_or(false)
            };
            Ok(scan_note_allowing(text, &public))
        })?;
        if spans.is_empty() {
            Ok(())
        } else {
            Err(Error::PersonalData(spans))
        }
    }
}
