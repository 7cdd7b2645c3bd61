//! Labelled corpus for the privacy guard.
//!
//! `tests/privacy_corpus/labelled.jsonl` holds realistic outreach notes that
//! contain synthetic identifiers, each labelled with its kind and its exact
//! text; `tests/privacy_corpus/clean.jsonl` holds realistic notes without
//! personal data. One JSON object per line:
//!
//! ```json
//! {"lang":"nl","text":"… gsm 0470 12 34 56 …","spans":[{"kind":"phone_number","text":"0470 12 34 56"}]}
//! ```
//!
//! `tests/privacy_corpus/allowlist.jsonl` holds notes that name partners'
//! public phone numbers and addresses from [`DIRECTORY`] (`"partners"`, as
//! written in the note), and possibly personal data too (`"spans"`).
//!
//! The tests print their figures; run them with
//! `cargo test --test privacy_corpus -- --nocapture` to see them.

use std::collections::BTreeMap;
use std::time::Instant;

use outreach_core::privacy::{
    contact_key, scan_note, scan_note_allowing, PersonalDataKind, PersonalDataSpan,
};
use serde::Deserialize;

/// Languages of the notes.
const LANGS: [&str; 3] = ["nl", "fr", "en"];
/// Longest note the app accepts, in characters.
const MAX_NOTE_CHARS: usize = 500;
/// Highest accepted share of clean notes that are refused.
const MAX_FALSE_POSITIVE_RATE: f64 = 0.02;

/// One note of the corpus.
#[derive(Debug, Deserialize)]
struct Note {
    lang: String,
    text: String,
    #[serde(default)]
    spans: Vec<Label>,
}

/// One labelled identifier: its kind and its exact text in the note.
#[derive(Debug, Deserialize)]
struct Label {
    kind: PersonalDataKind,
    text: String,
}

/// A note naming partners' public contact details.
#[derive(Debug, Deserialize)]
struct AllowlistNote {
    lang: String,
    text: String,
    /// The partners' numbers and addresses, as written in the note.
    partners: Vec<String>,
    /// Personal data that must still be found.
    #[serde(default)]
    spans: Vec<Label>,
}

/// Public contact details of partner organisations, as the directory holds
/// them (made up, like every number and address of the corpus).
const DIRECTORY: [(PersonalDataKind, &str); 12] = [
    (PersonalDataKind::PhoneNumber, "+32 2 213 44 00"),
    (PersonalDataKind::EmailAddress, "info@fedasil.example.be"),
    (PersonalDataKind::PhoneNumber, "02/227.02.00"),
    (PersonalDataKind::EmailAddress, "onthaal@caw.example.be"),
    (PersonalDataKind::PhoneNumber, "+32 2 287 70 00"),
    (PersonalDataKind::EmailAddress, "returns@iom.example.int"),
    (PersonalDataKind::PhoneNumber, "02 274 00 20"),
    (
        PersonalDataKind::EmailAddress,
        "info@vluchtelingenwerk.example.be",
    ),
    (PersonalDataKind::PhoneNumber, "+32 (0)2 225 43 00"),
    (PersonalDataKind::EmailAddress, "permanence@mdm.example.org"),
    (PersonalDataKind::PhoneNumber, "+32 4 349 62 00"),
    (
        PersonalDataKind::EmailAddress,
        "accueil.liege@croix-rouge.example.be",
    ),
];

/// A note with its line number in its file.
struct Entry {
    line: usize,
    note: Note,
}

fn load(name: &str) -> Vec<Entry> {
    let path = format!("{}/tests/privacy_corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let content = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let note = serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            Entry { line: i + 1, note }
        })
        .collect()
}

fn labelled() -> Vec<Entry> {
    load("labelled.jsonl")
}

fn clean() -> Vec<Entry> {
    load("clean.jsonl")
}

/// The byte range of a label in its note; the label must occur exactly once.
fn locate(entry: &Entry, label: &Label) -> (usize, usize) {
    let text = &entry.note.text;
    let mut found = text.match_indices(label.text.as_str());
    let (start, _) = found.next().unwrap_or_else(|| {
        panic!(
            "labelled.jsonl:{}: label {:?} not in the note",
            entry.line, label.text
        )
    });
    assert!(
        found.next().is_none(),
        "labelled.jsonl:{}: label {:?} occurs more than once",
        entry.line,
        label.text
    );
    (start, start + label.text.len())
}

fn covers(span: &PersonalDataSpan, start: usize, end: usize) -> bool {
    span.start <= start && end <= span.end
}

#[test]
fn corpus_is_well_formed_and_large_enough() {
    let labelled = labelled();
    let clean = clean();
    for (file, entries) in [("labelled.jsonl", &labelled), ("clean.jsonl", &clean)] {
        for entry in entries.iter() {
            let chars = entry.note.text.chars().count();
            assert!(
                chars <= MAX_NOTE_CHARS,
                "{file}:{}: note has {chars} characters",
                entry.line
            );
            assert!(
                LANGS.contains(&entry.note.lang.as_str()),
                "{file}:{}: unknown language",
                entry.line
            );
        }
    }
    for entry in &clean {
        assert!(
            entry.note.spans.is_empty(),
            "clean.jsonl:{}: clean notes carry no labels",
            entry.line
        );
    }

    let mut per_kind: BTreeMap<PersonalDataKind, BTreeMap<&str, usize>> = BTreeMap::new();
    for entry in &labelled {
        assert!(
            !entry.note.spans.is_empty(),
            "labelled.jsonl:{}: note without labels",
            entry.line
        );
        for label in &entry.note.spans {
            locate(entry, label);
            *per_kind
                .entry(label.kind)
                .or_default()
                .entry(entry.note.lang.as_str())
                .or_default() += 1;
        }
    }
    let identifiers: usize = per_kind.values().flat_map(|langs| langs.values()).sum();
    println!("labelled identifiers: {identifiers} in {} notes", labelled.len());
    println!(
        "  {:<26} {:>4} {:>4} {:>4} {:>6}",
        "kind", "nl", "fr", "en", "total"
    );
    for kind in PersonalDataKind::ALL {
        let langs = per_kind.get(&kind).cloned().unwrap_or_default();
        let count = |lang: &str| langs.get(lang).copied().unwrap_or(0);
        println!(
            "  {:<26} {:>4} {:>4} {:>4} {:>6}",
            kind.as_str(),
            count("nl"),
            count("fr"),
            count("en"),
            langs.values().sum::<usize>()
        );
        assert!(langs.values().sum::<usize>() >= 20, "too few labelled {kind}s");
    }
    let clean_per_lang = |lang: &str| clean.iter().filter(|e| e.note.lang == lang).count();
    println!(
        "clean notes: {} (nl {}, fr {}, en {})",
        clean.len(),
        clean_per_lang("nl"),
        clean_per_lang("fr"),
        clean_per_lang("en")
    );

    assert!(identifiers >= 200, "only {identifiers} labelled identifiers");
    assert!(clean.len() >= 200, "only {} clean notes", clean.len());
    for lang in LANGS {
        assert!(
            clean_per_lang(lang) >= 60,
            "only {} clean notes in {lang}",
            clean_per_lang(lang)
        );
    }
}

#[test]
fn recall_is_perfect() {
    let mut found = 0;
    let mut total = 0;
    let mut missed = Vec::new();
    for entry in labelled() {
        let spans = scan_note(&entry.note.text);
        for label in &entry.note.spans {
            total += 1;
            let (start, end) = locate(&entry, label);
            if spans
                .iter()
                .any(|s| s.kind == label.kind && covers(s, start, end))
            {
                found += 1;
            } else {
                let got: Vec<_> = spans
                    .iter()
                    .filter(|s| s.start < end && start < s.end)
                    .map(|s| s.kind)
                    .collect();
                missed.push(format!(
                    "  {} [{}] labelled.jsonl:{}: {:?} (overlapping spans: {got:?})",
                    label.kind.as_str(),
                    entry.note.lang,
                    entry.line,
                    label.text
                ));
            }
        }
    }
    let recall = found as f64 / total as f64;
    println!("recall: {found}/{total} = {recall:.4}");
    missed.sort();
    assert!(
        missed.is_empty(),
        "missed {} identifiers:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

#[test]
fn labelled_notes_have_no_unlabelled_hits() {
    let mut extra = Vec::new();
    for entry in labelled() {
        let ranges: Vec<_> = entry
            .note
            .spans
            .iter()
            .map(|label| locate(&entry, label))
            .collect();
        for span in scan_note(&entry.note.text) {
            if !ranges
                .iter()
                .any(|&(start, end)| span.start < end && start < span.end)
            {
                extra.push(format!(
                    "  labelled.jsonl:{}: {} at {}..{}",
                    entry.line, span.kind, span.start, span.end
                ));
            }
        }
    }
    println!("unlabelled hits in labelled notes: {}", extra.len());
    assert!(
        extra.is_empty(),
        "hits that match no label:\n{}",
        extra.join("\n")
    );
}

#[test]
fn false_positive_rate_is_low() {
    let clean = clean();
    let mut refused = Vec::new();
    for entry in &clean {
        let spans = scan_note(&entry.note.text);
        if !spans.is_empty() {
            let kinds: Vec<_> = spans.iter().map(|s| s.kind.as_str()).collect();
            println!(
                "  refused clean note [{}] clean.jsonl:{}: {kinds:?}",
                entry.note.lang, entry.line
            );
            refused.push(entry.line);
        }
    }
    let rate = refused.len() as f64 / clean.len() as f64;
    println!(
        "false positives: {}/{} clean notes = {:.2}%",
        refused.len(),
        clean.len(),
        rate * 100.0
    );
    for lang in LANGS {
        let notes: Vec<_> = clean.iter().filter(|e| e.note.lang == lang).collect();
        let bad = notes.iter().filter(|e| refused.contains(&e.line)).count();
        println!("  {lang}: {bad}/{}", notes.len());
    }
    assert!(
        rate <= MAX_FALSE_POSITIVE_RATE,
        "false-positive rate {rate:.4} above {MAX_FALSE_POSITIVE_RATE}"
    );
}

#[test]
fn scanning_is_fast() {
    let notes: Vec<String> = labelled()
        .into_iter()
        .chain(clean())
        .map(|e| e.note.text)
        .collect();
    let long_note: String = notes
        .iter()
        .flat_map(|n| n.chars())
        .take(MAX_NOTE_CHARS)
        .collect();
    let rounds = 20;
    let started = Instant::now();
    let mut hits = 0;
    for _ in 0..rounds {
        for note in &notes {
            hits += scan_note(note).len();
        }
    }
    let per_note = started.elapsed() / (rounds * notes.len()) as u32;
    let started = Instant::now();
    for _ in 0..rounds * 10 {
        hits += scan_note(&long_note).len();
    }
    let per_long_note = started.elapsed() / (rounds * 10) as u32;
    println!(
        "scan time: {per_note:?} per corpus note, {per_long_note:?} per {MAX_NOTE_CHARS}-character note \
         ({} build; {hits} hits)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}

#[test]
fn partners_public_contacts_are_allowed() {
    let path = format!(
        "{}/tests/privacy_corpus/allowlist.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let content = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let notes: Vec<(usize, AllowlistNote)> = content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let note =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("allowlist.jsonl:{}: {e}", i + 1));
            (i + 1, note)
        })
        .collect();
    let keys: Vec<(PersonalDataKind, String)> = DIRECTORY
        .iter()
        .map(|&(kind, written)| {
            let key = contact_key(kind, written).unwrap_or_else(|| panic!("no key for {written:?}"));
            (kind, key)
        })
        .collect();
    let in_directory = |kind: PersonalDataKind, key: &str| keys.iter().any(|(k, v)| *k == kind && v == key);

    let find = |line: usize, text: &str, needle: &str| {
        let start = text
            .find(needle)
            .unwrap_or_else(|| panic!("allowlist.jsonl:{line}: {needle:?} not in the note"));
        (start, start + needle.len())
    };
    let overlaps =
        |span: &PersonalDataSpan, (start, end): (usize, usize)| span.start < end && start < span.end;
    let mut refused_without = 0;
    let mut partner_contacts = 0;
    let mut accepted_with = 0;
    let mut partner_only = 0;
    let mut remaining_found = 0;
    let mut remaining = 0;
    let mut per_lang: BTreeMap<&str, usize> = BTreeMap::new();
    for (line, note) in &notes {
        assert!(
            LANGS.contains(&note.lang.as_str()),
            "allowlist.jsonl:{line}: unknown language"
        );
        assert!(
            !note.partners.is_empty(),
            "allowlist.jsonl:{line}: no partner contact"
        );
        *per_lang.entry(note.lang.as_str()).or_default() += 1;
        let text = &note.text;
        let partners: Vec<_> = note.partners.iter().map(|p| find(*line, text, p)).collect();
        let labels: Vec<_> = note
            .spans
            .iter()
            .map(|l| (l.kind, find(*line, text, &l.text)))
            .collect();

        // Without the directory, every partner contact is refused.
        let plain = scan_note(text);
        for (written, &range) in note.partners.iter().zip(&partners) {
            partner_contacts += 1;
            assert!(
                plain.iter().any(|s| covers(s, range.0, range.1)
                    && matches!(
                        s.kind,
                        PersonalDataKind::PhoneNumber | PersonalDataKind::EmailAddress
                    )),
                "allowlist.jsonl:{line}: partner contact {written:?} not detected: {plain:?}"
            );
        }
        refused_without += usize::from(!plain.is_empty());

        // With it, only the personal data is left.
        let spans = scan_note_allowing(text, &in_directory);
        for span in &spans {
            assert!(
                !partners.iter().any(|&range| overlaps(span, range)),
                "allowlist.jsonl:{line}: a partner contact is still refused: {span:?}"
            );
            assert!(
                labels.iter().any(|&(_, range)| overlaps(span, range)),
                "allowlist.jsonl:{line}: unlabelled hit {span:?}"
            );
        }
        for &(kind, (start, end)) in &labels {
            remaining += 1;
            let found = spans.iter().any(|s| s.kind == kind && covers(s, start, end));
            assert!(
                found,
                "allowlist.jsonl:{line}: personal {kind} not found: {spans:?}"
            );
            remaining_found += usize::from(found);
        }
        if labels.is_empty() {
            partner_only += 1;
            accepted_with += usize::from(spans.is_empty());
        }
    }
    println!(
        "allowlist: {} notes ({}) naming {partner_contacts} partner contacts",
        notes.len(),
        per_lang
            .iter()
            .map(|(lang, n)| format!("{lang} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  refused without the directory: {refused_without}/{}",
        notes.len()
    );
    println!("  accepted with it: {accepted_with}/{partner_only} notes naming only partners");
    println!("  personal data still found next to partners: {remaining_found}/{remaining}");
    assert_eq!(refused_without, notes.len());
    assert_eq!(accepted_with, partner_only);
    for lang in LANGS {
        assert!(
            per_lang.get(lang).copied().unwrap_or(0) >= 3,
            "too few allowlist notes in {lang}"
        );
    }
}
