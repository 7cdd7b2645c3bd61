//! Privacy guard for free-text visit notes.
//!
//! Outreach workers may add a short note (at most 500 characters, in Dutch,
//! French or English) to an anonymised visit. Before a visit is stored, its
//! note is scanned for personal data; any hit refuses the visit, and the app
//! highlights the returned spans so that the worker can rephrase the note.
//!
//! [`scan_note`] looks for:
//!
//! * phone numbers, Belgian (`0470 12 34 56`, `02/123.45.67`, `+32 (0)470 …`)
//!   and international (`+33 6 12 34 56 78`, `00 224 62 12 34 56`, …);
//! * e-mail addresses, including simple obfuscations (`jan (at) example dot org`);
//! * IBANs of any country, validated with the ISO 13616 mod-97 check and the
//!   country's IBAN length;
//! * Belgian national register numbers and BIS numbers, validated with their
//!   check digits (including the rule for people born in 2000 or later) and a
//!   plausible date part;
//! * explicit birth dates: a date introduced by a birth label (`born`,
//!   `geboren`, `né(e)`, `°`, `date of birth`, `geboortedatum`, …) or given
//!   right next to an age (`34 jaar (12.03.1990)`).
//!
//! Everything else that notes are full of — meeting times, postcodes, counts,
//! meeting dates, ages on their own, years, house numbers, amounts — is left
//! alone. The detectors are hand-written linear scanners (no regular
//! expressions, no backtracking), so a 500-character note is scanned in a few
//! microseconds.
//!
//! The matched text is personal data: no type of this module ever prints it.
//! Spans carry offsets and a kind only.
//!
//! Before scanning, look-alike characters are folded to what a reader sees
//! (module `lookalike`): digits of any script (`٠٤٧٠ ١٢ ٣٤ ٥٦`, `۰۴۷۰`,
//! `०४७०`), full-width forms (`０４７０`, `jan＠example．org`), unusual
//! spaces and dashes, and invisible characters. The detectors run on the
//! folded text and every span is mapped back to the note as written, so
//! offsets always refer to the original text.
//!
//! Public contact details of partner organisations (the number of Fedasil's
//! front desk, a CAW's general address) are not personal data:
//! [`scan_note_allowing`] skips phone numbers and e-mail addresses whose
//! [`contact_key`] a predicate accepts, typically the keys of the directory's
//! partners. A key is the number or address itself in canonical form: unless
//! it is a partner's, it is personal data like the note it came from, and it
//! is never logged.
//!
//! Known limits: a date next to a young child's age can be taken for a birth
//! date (`kind van 5 jaar, 12/12/2026`), place names written in lower case
//! between `geboren` and the date are not skipped, and foreign numbers in
//! national format (without `+` or `00`) are only recognised for the formats
//! listed above.

mod age;
mod birth_date;
mod date;
mod digits;
mod email;
mod iban;
mod lookalike;
mod national_number;
mod phone;
mod text;

#[cfg(test)]
mod proptests;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Kind of personal data found in a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum PersonalDataKind {
    /// A Belgian or international phone number.
    PhoneNumber,
    /// An e-mail address, possibly obfuscated (`name (at) domain dot be`).
    EmailAddress,
    /// An International Bank Account Number with a valid mod-97 check.
    Iban,
    /// A Belgian national register number (rijksregisternummer / numéro de
    /// registre national).
    NationalRegisterNumber,
    /// A Belgian BIS number (register number for people not in the national
    /// register; month offset by 20 or 40).
    BisNumber,
    /// An explicit birth date (a date with a birth label, or next to an age).
    BirthDate,
}

impl PersonalDataKind {
    /// Every kind, in declaration order.
    pub const ALL: [PersonalDataKind; 6] = [
        PersonalDataKind::PhoneNumber,
        PersonalDataKind::EmailAddress,
        PersonalDataKind::Iban,
        PersonalDataKind::NationalRegisterNumber,
        PersonalDataKind::BisNumber,
        PersonalDataKind::BirthDate,
    ];

    /// The stable snake_case code of this kind, as used in serialised form
    /// (for example `"phone_number"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            PersonalDataKind::PhoneNumber => "phone_number",
            PersonalDataKind::EmailAddress => "email_address",
            PersonalDataKind::Iban => "iban",
            PersonalDataKind::NationalRegisterNumber => "national_register_number",
            PersonalDataKind::BisNumber => "bis_number",
            PersonalDataKind::BirthDate => "birth_date",
        }
    }

    /// A short English label for people, for example `"phone number"`.
    const fn label(self) -> &'static str {
        match self {
            PersonalDataKind::PhoneNumber => "phone number",
            PersonalDataKind::EmailAddress => "e-mail address",
            PersonalDataKind::Iban => "IBAN",
            PersonalDataKind::NationalRegisterNumber => "national register number",
            PersonalDataKind::BisNumber => "BIS number",
            PersonalDataKind::BirthDate => "birth date",
        }
    }

    /// How specific a detection of this kind is. When two detections overlap,
    /// the merged span takes the kind with the highest specificity:
    /// national register/BIS number > IBAN > e-mail address > birth date >
    /// phone number.
    const fn specificity(self) -> u8 {
        match self {
            PersonalDataKind::NationalRegisterNumber | PersonalDataKind::BisNumber => 5,
            PersonalDataKind::Iban => 4,
            PersonalDataKind::EmailAddress => 3,
            PersonalDataKind::BirthDate => 2,
            PersonalDataKind::PhoneNumber => 1,
        }
    }
}

impl fmt::Display for PersonalDataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One hit: offsets into the scanned text, in UTF-8 bytes (Rust) and UTF-16
/// code units (Kotlin/Swift `NSRange`), end exclusive.
///
/// A span never contains the matched text itself, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDataSpan {
    /// Start offset in UTF-8 bytes (always on a `char` boundary).
    pub start: usize,
    /// End offset in UTF-8 bytes, exclusive (always on a `char` boundary).
    pub end: usize,
    /// Start offset in UTF-16 code units.
    pub start_utf16: usize,
    /// End offset in UTF-16 code units, exclusive.
    pub end_utf16: usize,
    /// What was found.
    pub kind: PersonalDataKind,
}

/// A raw detection: byte offsets into the note, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    start: usize,
    end: usize,
    kind: PersonalDataKind,
}

/// Scans a note; returns the hits sorted by start, non-overlapping (when two
/// detectors overlap, keep one span covering both, with the more specific
/// kind: national register/BIS > IBAN > e-mail address > birth date > phone).
///
/// Works on any input, including text far longer than a note; it never
/// panics and runs in time linear in the length of the text.
pub fn scan_note(text: &str) -> Vec<PersonalDataSpan> {
    scan_note_allowing(text, &|_, _| false)
}

/// Scans a note like [`scan_note`], but does not report a phone number or an
/// e-mail address whose [`contact_key`] `allowed` accepts: the public contact
/// details of a partner organisation from the directory.
///
/// `allowed` receives the kind and the key of each phone number and e-mail
/// address found, before overlapping hits are merged; it must not log the
/// key, which is personal data unless it is a partner's.
pub fn scan_note_allowing(
    text: &str,
    allowed: &dyn Fn(PersonalDataKind, &str) -> bool,
) -> Vec<PersonalDataSpan> {
    let normalized = lookalike::Normalized::new(text);
    let folded = normalized.as_str();
    let mut hits = detect(folded);
    hits.retain(|hit| !is_allowed(folded, hit, allowed));
    let in_original: Vec<Hit> = merge(hits)
        .into_iter()
        .map(|hit| Hit {
            start: normalized.start_in_original(hit.start),
            end: normalized.end_in_original(hit.end),
            kind: hit.kind,
        })
        .collect();
    with_utf16_offsets(text, &in_original)
}

/// The canonical key of a phone number or an e-mail address as written, so
/// that a note's `02/213.44.00` and the directory's `+32 2 213 44 00` match;
/// `None` for other kinds and for text that is not a number or an address.
///
/// * Phone numbers: the digits in international form, without `+`:
///   separators, `(0)`, the `+` or `00` prefix and a trunk `0` after the
///   country code are dropped, and a national number (a single leading `0`)
///   is taken as Belgian, so `02/213.44.00`, `+32 2 213 44 00` and
///   `0032 (0)2 213 44 00` all give `3222134400`.
/// * E-mail addresses: lower case, with the obfuscations the scanner
///   understands resolved (`info (at) fedasil dot be` gives
///   `info@fedasil.be`).
///
/// Look-alike characters (`＋３２ ２…`, `info＠fedasil．be`) are folded
/// first. The key is personal data unless it is a partner's: never log it.
pub fn contact_key(kind: PersonalDataKind, text: &str) -> Option<String> {
    key_of_folded(kind, &lookalike::fold_text(text))
}

/// [`contact_key`] of text that is already folded.
fn key_of_folded(kind: PersonalDataKind, folded: &str) -> Option<String> {
    match kind {
        PersonalDataKind::PhoneNumber => phone::canonical(folded),
        PersonalDataKind::EmailAddress => email::canonical(folded),
        _ => None,
    }
}

/// Whether `allowed` accepts the key of a phone or e-mail hit in `folded`.
fn is_allowed(folded: &str, hit: &Hit, allowed: &dyn Fn(PersonalDataKind, &str) -> bool) -> bool {
    matches!(
        hit.kind,
        PersonalDataKind::PhoneNumber | PersonalDataKind::EmailAddress
    ) && folded
        .get(hit.start..hit.end)
        .and_then(|written| key_of_folded(hit.kind, written))
        .is_some_and(|key| allowed(hit.kind, &key))
}

/// Runs every detector on (folded) text; the raw, unmerged hits.
fn detect(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let groups = digits::digit_groups(text);
    phone::find(text, &groups, &mut hits);
    national_number::find(text, &groups, &mut hits);
    iban::find(text, &mut hits);
    email::find(text, &mut hits);
    birth_date::find(text, &mut hits);
    hits
}

/// Sorts hits and merges overlapping ones into a single hit covering all of
/// them, with the most specific kind among them.
fn merge(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.retain(|h| h.start < h.end);
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut merged: Vec<Hit> = Vec::with_capacity(hits.len());
    for hit in hits {
        match merged.last_mut() {
            Some(last) if hit.start < last.end => {
                last.end = last.end.max(hit.end);
                if hit.kind.specificity() > last.kind.specificity() {
                    last.kind = hit.kind;
                }
            }
            _ => merged.push(hit),
        }
    }
    merged
}

/// Adds UTF-16 offsets to sorted, non-overlapping hits in one pass over the
/// text.
fn with_utf16_offsets(text: &str, hits: &[Hit]) -> Vec<PersonalDataSpan> {
    let mut spans = Vec::with_capacity(hits.len());
    let mut chars = text.char_indices().peekable();
    let mut utf16 = 0;
    let mut utf16_at = |target: usize| {
        while let Some(&(i, c)) = chars.peek() {
            if i >= target {
                break;
            }
            utf16 += c.len_utf16();
            chars.next();
        }
        utf16
    };
    for hit in hits {
        let start_utf16 = utf16_at(hit.start);
        let end_utf16 = utf16_at(hit.end);
        spans.push(PersonalDataSpan {
            start: hit.start,
            end: hit.end,
            start_utf16,
            end_utf16,
            kind: hit.kind,
        });
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<PersonalDataKind> {
        scan_note(text).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn codes_and_labels() {
        for kind in PersonalDataKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: PersonalDataKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
            assert!(!kind.to_string().is_empty());
        }
        assert_eq!(PersonalDataKind::PhoneNumber.to_string(), "phone number");
        assert_eq!(PersonalDataKind::Iban.as_str(), "iban");
        assert_eq!(PersonalDataKind::BisNumber.as_str(), "bis_number");
    }

    #[test]
    fn clean_note_is_accepted() {
        let note = "Soepbedeling Hasselt 14u30, 12 mensen, 3 minderjarigen. \
                    Doorverwezen naar CAW voor opvang, volgende ronde op 28/11/2026.";
        assert!(scan_note(note).is_empty());
    }

    #[test]
    fn merge_keeps_one_span_with_most_specific_kind() {
        let hits = vec![
            Hit {
                start: 5,
                end: 15,
                kind: PersonalDataKind::PhoneNumber,
            },
            Hit {
                start: 0,
                end: 10,
                kind: PersonalDataKind::BirthDate,
            },
            Hit {
                start: 12,
                end: 20,
                kind: PersonalDataKind::Iban,
            },
            Hit {
                start: 20,
                end: 25,
                kind: PersonalDataKind::PhoneNumber,
            },
            Hit {
                start: 30,
                end: 35,
                kind: PersonalDataKind::NationalRegisterNumber,
            },
            Hit {
                start: 30,
                end: 33,
                kind: PersonalDataKind::PhoneNumber,
            },
        ];
        assert_eq!(
            merge(hits),
            vec![
                Hit {
                    start: 0,
                    end: 20,
                    kind: PersonalDataKind::Iban
                },
                Hit {
                    start: 20,
                    end: 25,
                    kind: PersonalDataKind::PhoneNumber
                },
                Hit {
                    start: 30,
                    end: 35,
                    kind: PersonalDataKind::NationalRegisterNumber
                },
            ]
        );
    }

    #[test]
    fn utf16_offsets_after_accents_and_dashes() {
        let note = "Femme née le 5 juin 1992 – à Liège, tél. 0470 12 34 56.";
        let spans = scan_note(note);
        assert_eq!(
            kinds(note),
            [PersonalDataKind::BirthDate, PersonalDataKind::PhoneNumber]
        );
        for span in &spans {
            assert_eq!(span.start_utf16, note[..span.start].encode_utf16().count());
            assert_eq!(span.end_utf16, note[..span.end].encode_utf16().count());
        }
        assert_eq!(&note[spans[0].start..spans[0].end], "née le 5 juin 1992");
        // "é" is two bytes but one UTF-16 unit; "–" three bytes, one unit.
        assert_eq!(spans[0].start, 6);
        assert_eq!(spans[0].start_utf16, 6);
        assert_eq!(spans[0].end - spans[0].end_utf16, 1);
        // Before the phone number: "é" (née), "–", "à", "è" (Liège), "é" (tél.).
        assert_eq!(spans[1].start - spans[1].start_utf16, 1 + 2 + 1 + 1 + 1);
    }

    #[test]
    fn utf16_offsets_with_arabic_and_astral_text() {
        let note = "مرحبا 👋 سلام: born on 12/03/1990, رقم 0470/12.34.56";
        let spans = scan_note(note);
        assert_eq!(
            kinds(note),
            [PersonalDataKind::BirthDate, PersonalDataKind::PhoneNumber]
        );
        for span in &spans {
            assert_eq!(span.start_utf16, note[..span.start].encode_utf16().count());
            assert_eq!(span.end_utf16, note[..span.end].encode_utf16().count());
            assert!(note.is_char_boundary(span.start) && note.is_char_boundary(span.end));
        }
        assert_eq!(&note[spans[1].start..spans[1].end], "0470/12.34.56");
    }

    #[test]
    fn spans_never_contain_the_matched_text() {
        let note = "Tel 0470 12 34 56, mail jan.peeters@example.org, IBAN BE71 0961 2345 6769";
        let spans = scan_note(note);
        assert_eq!(spans.len(), 3);
        for rendered in [format!("{spans:?}"), serde_json::to_string(&spans).unwrap()] {
            assert!(!rendered.contains("0470"), "{rendered}");
            assert!(!rendered.contains("peeters"), "{rendered}");
            assert!(!rendered.contains("0961"), "{rendered}");
        }
        let kinds: Vec<String> = spans.iter().map(|s| s.kind.to_string()).collect();
        assert_eq!(kinds, ["phone number", "e-mail address", "IBAN"]);
    }

    #[test]
    fn dotted_french_mobiles_win_over_a_date_prefix() {
        for note in [
            "Sœur à Lyon : 07.11.85.42.19, le soir.",
            "broer 06.12.90.33.21 (Parijs)",
            "cousin ۰۷.۱۱.۸۵.۴۲.۱۹",
        ] {
            assert_eq!(kinds(note), [PersonalDataKind::PhoneNumber], "{note}");
        }
        for note in [
            "rdv le 07.11.2026 à 14.30",
            "volgende ronde 28/11/2026 om 10u",
            "afspraak 07.11.26 14.30 bij het OCMW",
            "le 06.12.90",
        ] {
            assert!(scan_note(note).is_empty(), "{note}: {:?}", scan_note(note));
        }
        assert_eq!(kinds("née le 07.11.85"), [PersonalDataKind::BirthDate]);
    }

    #[test]
    fn contact_keys_are_canonical() {
        let phone = |text| contact_key(PersonalDataKind::PhoneNumber, text);
        for written in [
            "02/213.44.00",
            "+32 2 213 44 00",
            "0032 (0)2 213 44 00",
            "＋３２ ２ ２１３ ４４ ００",
            "٠٢ ٢١٣ ٤٤ ٠٠",
            "02\u{a0}213\u{a0}44\u{a0}00",
        ] {
            assert_eq!(phone(written).as_deref(), Some("3222134400"), "{written}");
        }
        let email = |text| contact_key(PersonalDataKind::EmailAddress, text);
        for written in [
            "info@fedasil.be",
            "Info@Fedasil.be",
            "info (at) fedasil dot be",
            "info＠fedasil．be",
        ] {
            assert_eq!(email(written).as_deref(), Some("info@fedasil.be"), "{written}");
        }
        assert_eq!(phone("tel. 02 213 44 00"), None);
        assert_eq!(email("info at fedasil"), None);
        assert_eq!(contact_key(PersonalDataKind::Iban, "BE71 0961 2345 6769"), None);
        assert_eq!(contact_key(PersonalDataKind::BirthDate, "12/03/1990"), None);
    }

    #[test]
    fn partner_contacts_are_allowed_and_nothing_else() {
        let partners = [
            (PersonalDataKind::PhoneNumber, "3222134400"),
            (PersonalDataKind::EmailAddress, "info@fedasil.be"),
        ];
        let allowed =
            |kind: PersonalDataKind, key: &str| partners.iter().any(|&(k, v)| k == kind && v == key);
        let note = "Referred to Fedasil +32 2 213 44 00 (info (at) fedasil dot be).";
        assert_eq!(
            kinds(note),
            [PersonalDataKind::PhoneNumber, PersonalDataKind::EmailAddress]
        );
        assert!(scan_note_allowing(note, &allowed).is_empty());
        assert!(scan_note_allowing("Fedasil ０２ ２１３ ４４ ００", &allowed).is_empty());

        let note =
            "Fedasil 02 213 44 00, zijn gsm 0470 12 34 56, mail jan@fedasil.be, IBAN BE71 0961 2345 6769";
        let spans = scan_note_allowing(note, &allowed);
        let found: Vec<_> = spans.iter().map(|s| (&note[s.start..s.end], s.kind)).collect();
        assert_eq!(
            found,
            [
                ("0470 12 34 56", PersonalDataKind::PhoneNumber),
                ("jan@fedasil.be", PersonalDataKind::EmailAddress),
                ("BE71 0961 2345 6769", PersonalDataKind::Iban),
            ]
        );
        // A predicate only ever sees phone numbers and addresses.
        let seen = std::cell::RefCell::new(Vec::new());
        let spy = |kind: PersonalDataKind, _: &str| {
            seen.borrow_mut().push(kind);
            false
        };
        assert_eq!(scan_note_allowing(note, &spy), scan_note(note));
        assert!(seen
            .borrow()
            .iter()
            .all(|k| matches!(k, PersonalDataKind::PhoneNumber | PersonalDataKind::EmailAddress)));
        assert!(!seen.borrow().is_empty());
    }

    #[test]
    fn empty_and_whitespace_notes() {
        assert!(scan_note("").is_empty());
        assert!(scan_note("   \n\t ").is_empty());
    }
}
