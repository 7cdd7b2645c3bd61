//! What an inspection finds in free text: the privacy guard refuses identifiers at once, except
//! phone numbers and e-mail addresses, which are left to the caller as [`Contact`]s to accept
//! only when they are a partner's public contact.

use std::collections::BTreeSet;

use crate::doc::{DocError, DocMeta};
use crate::model::{Partner, VisitDetails};
use crate::privacy::{self, PersonalDataKind};

/// A phone number or e-mail address found in free text: refused unless it is the public contact
/// of a partner of the directory. The key ([`privacy::contact_key`]) is personal data unless it
/// is a partner's: it is never logged or shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// Phone number or e-mail address.
    pub kind: PersonalDataKind,
    /// Its canonical form.
    pub key: String,
    /// The field it was found in, for the refusal.
    pub path: String,
}

impl Contact {
    /// The contact as stored beside the partners' public contacts: `p:` and the digits of a
    /// phone number, `e:` and an e-mail address.
    pub fn tagged(&self) -> String {
        tagged(self.kind, &self.key)
    }
}

/// A canonical contact with its kind's tag (see [`Contact::tagged`]).
pub fn tagged(kind: PersonalDataKind, key: &str) -> String {
    match kind {
        PersonalDataKind::EmailAddress => format!("e:{key}"),
        _ => format!("p:{key}"),
    }
}

/// The public contacts of a partner, tagged: its phone numbers and its e-mail address, which
/// free text may name.
pub fn partner_contacts(p: &Partner) -> BTreeSet<String> {
    let phones = p
        .phones
        .iter()
        .filter_map(|ph| privacy::contact_key(PersonalDataKind::PhoneNumber, &ph.number))
        .map(|k| tagged(PersonalDataKind::PhoneNumber, &k));
    let email = p
        .email
        .iter()
        .filter_map(|e| privacy::contact_key(PersonalDataKind::EmailAddress, e))
        .map(|k| tagged(PersonalDataKind::EmailAddress, &k));
    phones.chain(email).collect()
}

/// What an inspection leaves to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Contacts found in free text, to be accepted only if they are partners' public contacts.
    pub contacts: Vec<Contact>,
}

impl Findings {
    /// Refuses the first contact that `is_public` does not accept.
    pub fn check_contacts(&self, is_public: impl Fn(&Contact) -> bool) -> Result<(), DocError> {
        match self.contacts.iter().find(|c| !is_public(c)) {
            Some(c) => Err(DocError::PersonalData { path: c.path.clone() }),
            None => Ok(()),
        }
    }
}

/// Runs the privacy guard on free text: an identifier other than a phone number or an e-mail
/// address refuses at once; those two are left to [`Findings::check_contacts`].
pub(super) fn scan(text: &str, path: &str, findings: &mut Findings) -> Result<(), DocError> {
    for span in privacy::scan_note(text) {
        let found = text.get(span.start..span.end).unwrap_or_default();
        match span.kind {
            PersonalDataKind::PhoneNumber | PersonalDataKind::EmailAddress => {
                let key = privacy::contact_key(span.kind, found).ok_or_else(|| DocError::PersonalData {
                    path: path.to_string(),
                })?;
                findings.contacts.push(Contact {
                    kind: span.kind,
                    key,
                    path: path.to_string(),
                });
            }
            _ => {
                return Err(DocError::PersonalData {
                    path: path.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// A visit written into a log: strict JSON of the model, its invariants, the log's month, and
/// a clean note.
pub(super) fn check_visit_json(
    meta: &DocMeta,
    json: &str,
    path: &str,
    findings: &mut Findings,
) -> Result<(), DocError> {
    let DocMeta::VisitLog { month, .. } = meta else {
        return Err(crate::doc::malformed(path, "a visit log"));
    };
    let details: VisitDetails = serde_json::from_str(json).map_err(|_| DocError::UnknownField {
        path: path.to_string(),
    })?;
    details
        .check_invariants()
        .map_err(|_| crate::doc::malformed(path, "a valid visit"))?;
    if details.month() != *month {
        return Err(crate::doc::malformed(
            format!("{path}.date"),
            "a date in the log's month",
        ));
    }
    scan(&details.note, &format!("{path}.note"), findings)
}
