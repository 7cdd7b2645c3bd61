//! Explicit birth dates.
//!
//! A date is someone's birth date when
//!
//! * a birth label introduces it: `born`, `geboren`, `né`, `née`, `né(e)`,
//!   `geb.`, `°` followed, within a few words, by a date (`born on 12/03/1990`,
//!   `geboren te Antwerpen op 3 mei 1988`, `née le 5 juin 1992`,
//!   `born in 1990`), or `date of birth`, `DOB`, `d.o.b.`, `birth date`,
//!   `geboortedatum`, `date de naissance`, `geboortejaar`, … followed by a
//!   date or year;
//! * in Dutch, `geboren` closes the sentence part (`die op 12 maart 1990 in
//!   Kabul geboren is`, `in 1992 geboren`);
//! * an age stands right next to a full date (`34 years old, 12/03/1990`,
//!   `34 jaar (12.03.1990)`, `âgé de 34 ans, 12 mars 1990`, `age 34 -
//!   1990-03-12`) and the two agree.
//!
//! Between a label and its date only linking words (`on`, `op`, `le`, `in`,
//! `en`, `te`, `à`, …) and capitalised words (place names) may appear; a bare
//! year must directly follow the label or a word such as `in`, `en`,
//! `around`. A date on its own, an age on its own, or a date after other
//! words is not a birth date. The span covers the label or age and the date.

use super::age::{find_ages, Age};
use super::date::{self, DateForm, DateMatch};
use super::text::{
    at_word_end, at_word_start, char_at, char_before, is_one_of, letters_end, letters_start, skip_spaces,
    skip_spaces_back, starts_with_ascii_ci, Folded,
};
use super::{Hit, PersonalDataKind};

/// Labels made of words (lower case), longest first where they share a start.
/// The flag tells whether the label is a verb ("born"), after which place
/// names may come before the date.
const LABELS: [(&[&str], bool); 25] = [
    (&["date", "of", "birth"], false),
    (&["year", "of", "birth"], false),
    (&["place", "and", "date", "of", "birth"], false),
    (&["birth", "date"], false),
    (&["birth", "year"], false),
    (&["birthdate"], false),
    (&["birthday"], false),
    (&["dob"], false),
    (&["geboortedatum"], false),
    (&["geboortejaar"], false),
    (&["geboorte", "datum"], false),
    (&["geb", "datum"], false),
    (&["geb", "dat"], false),
    (&["datum", "van", "geboorte"], false),
    (&["date", "de", "naissance"], false),
    (&["date", "de", "naiss"], false),
    (&["date", "naissance"], false),
    (&["année", "de", "naissance"], false),
    (&["annee", "de", "naissance"], false),
    (&["ddn"], false),
    (&["born"], true),
    (&["geboren"], true),
    (&["geb"], true),
    (&["né"], true),
    (&["née"], true),
];

/// Marks of the feminine form after `né`.
const FEMININE_MARKS: [&str; 3] = ["(e)", "·e", ".e"];

/// Abbreviated label words, which may be followed by a dot (`geb.`,
/// `date de naiss.`, `geb. dat.`).
const ABBREVIATIONS: [&str; 3] = ["geb", "naiss", "dat"];

/// Words that may link a label to its date.
const LINKS: [&str; 43] = [
    "on",
    "op",
    "le",
    "la",
    "l",
    "in",
    "en",
    "te",
    "à",
    "a",
    "au",
    "aux",
    "the",
    "of",
    "at",
    "de",
    "du",
    "des",
    "d",
    "van",
    "het",
    "jaar",
    "year",
    "an",
    "année",
    "annee",
    "around",
    "about",
    "approx",
    "approximately",
    "circa",
    "ca",
    "rond",
    "omstreeks",
    "ongeveer",
    "environ",
    "vers",
    "is",
    "was",
    "est",
    "den",
    "zijn",
    "her",
];

/// Linking words after which a bare year may stand (`born in 1990`).
const YEAR_LINKS: [&str; 18] = [
    "in",
    "en",
    "around",
    "about",
    "approx",
    "approximately",
    "circa",
    "ca",
    "rond",
    "omstreeks",
    "ongeveer",
    "environ",
    "vers",
    "jaar",
    "year",
    "an",
    "année",
    "annee",
];

/// Most words between a label and its date.
const MAX_LINK_WORDS: usize = 5;

/// A plausible age together with a plausible birth year gives a year in
/// which a note may have been written.
const NOTE_YEARS: std::ops::RangeInclusive<u32> = 1990..=2040;

/// Finds explicit birth dates in `text`.
pub(super) fn find(text: &str, out: &mut Vec<Hit>) {
    let dates = Dates::new(text);
    if dates.by_start.is_empty() {
        return;
    }
    find_labelled(text, &dates, out);
    find_ages_with_dates(text, &dates, out);
}

/// The dates of a note, indexed by start and by end.
struct Dates {
    /// Sorted by start; one date (the longest) per start.
    by_start: Vec<DateMatch>,
    /// Sorted by end, then start.
    by_end: Vec<DateMatch>,
}

impl Dates {
    fn new(text: &str) -> Self {
        let by_start = date::find_all(text);
        let mut by_end = by_start.clone();
        by_end.sort_by_key(|d| (d.end, d.start));
        Dates { by_start, by_end }
    }

    /// The longest date starting at `pos`.
    fn starting_at(&self, pos: usize) -> Option<&DateMatch> {
        let index = self.by_start.binary_search_by_key(&pos, |d| d.start).ok()?;
        self.by_start.get(index)
    }

    /// The longest date ending at `pos`.
    fn ending_at(&self, pos: usize) -> Option<&DateMatch> {
        let index = self.by_end.partition_point(|d| d.end < pos);
        self.by_end.get(index).filter(|d| d.end == pos)
    }
}

/// Scans for labels and the dates they introduce.
fn find_labelled(text: &str, dates: &Dates, out: &mut Vec<Hit>) {
    for (pos, c) in text.char_indices() {
        let label = if c == '°' {
            // "°12/03/1990", "° 1990"; not "n° 12" or "18°C".
            (!char_before(text, pos).is_some_and(char::is_alphanumeric)).then_some((pos + c.len_utf8(), 0))
        } else if c.is_alphabetic() && at_word_start(text, pos) {
            label_at(text, pos).map(|(end, verb)| (end, if verb { MAX_LINK_WORDS } else { 2 }))
        } else {
            None
        };
        if let Some((label_end, max_words)) = label {
            if let Some(end) = date_after(text, dates, label_end, max_words) {
                out.push(Hit {
                    start: pos,
                    end,
                    kind: PersonalDataKind::BirthDate,
                });
            }
            if is_one_of(text.get(pos..label_end).unwrap_or(""), &["geboren"]) {
                if let Some(start) = date_before(text, dates, pos) {
                    out.push(Hit {
                        start,
                        end: label_end,
                        kind: PersonalDataKind::BirthDate,
                    });
                }
            }
        }
    }
}

/// Reads a birth label at the word starting at `pos`: its end and whether it
/// is a verb.
fn label_at(text: &str, pos: usize) -> Option<(usize, bool)> {
    if starts_with_ascii_ci(text, pos, "d.o.b") {
        let end = pos + "d.o.b".len();
        let end = if char_at(text, end) == Some('.') {
            end + 1
        } else {
            end
        };
        return at_word_end(text, end).then_some((end, false));
    }
    let first_end = letters_end(text, pos);
    let first = text.get(pos..first_end)?;
    let folded = Folded::new(first)?;
    let first = folded.as_str();
    LABELS
        .iter()
        .filter(|(words, _)| words.first() == Some(&first))
        .find_map(|&(words, verb)| {
            let mut end = first_end;
            for word in &words[1..] {
                // "geb. datum", "geb.datum", "date of birth".
                let gap = if char_at(text, end) == Some('.') {
                    end + 1
                } else {
                    end
                };
                let next = skip_spaces(text, gap);
                let next_end = letters_end(text, next);
                if next == end || !is_one_of(text.get(next..next_end)?, &[word]) {
                    return None;
                }
                end = next_end;
            }
            let rest = text.get(end..).unwrap_or_default();
            let last = words.last().copied().unwrap_or_default();
            if rest.starts_with('.') && ABBREVIATIONS.contains(&last) {
                end += 1; // "geb.", "date de naiss."
            } else if let Some(mark) = FEMININE_MARKS.iter().find(|m| rest.starts_with(**m)) {
                // "né(e)", "né·e", "né.e"
                if verb && at_word_end(text, end + mark.len()) {
                    end += mark.len();
                }
            }
            Some((end, verb))
        })
}

/// Walks forward from the end of a label over linking words, place names and
/// light punctuation to a date; returns the end of the date.
fn date_after(text: &str, dates: &Dates, mut pos: usize, max_words: usize) -> Option<usize> {
    let mut year_ok = true;
    let mut words = 0;
    let mut marks = 0;
    loop {
        pos = skip_spaces(text, pos);
        if let Some(date) = dates.starting_at(pos) {
            return (date.form != DateForm::Year || year_ok).then_some(date.end);
        }
        let c = char_at(text, pos)?;
        if c.is_alphabetic() {
            let end = letters_end(text, pos);
            let word = text.get(pos..end)?;
            words += 1;
            if words > max_words {
                return None;
            }
            if is_one_of(word, &LINKS) {
                year_ok = is_one_of(word, &YEAR_LINKS);
                // "ca. 1990", "approx. 1990"
                pos = if char_at(text, end) == Some('.') && is_one_of(word, &["ca", "approx"]) {
                    end + 1
                } else {
                    end
                };
            } else if c.is_uppercase() && max_words > 2 {
                year_ok = false;
                pos = end;
            } else {
                return None;
            }
            continue;
        }
        marks += 1;
        if marks > 3 {
            return None;
        }
        match c {
            ':' | '=' | '(' | ')' | '-' | '–' | '—' | '\'' | '’' => pos += c.len_utf8(),
            ',' => {
                // Only "…, le 5 juin 1992" or "…, 12/03/1990": a comma before
                // another clause ends the search.
                let next = skip_spaces(text, pos + 1);
                let next_word = text.get(next..letters_end(text, next)).unwrap_or("");
                if dates.starting_at(next).is_none() && !is_one_of(next_word, &LINKS) {
                    return None;
                }
                pos += 1;
            }
            _ => return None,
        }
    }
}

/// Walks back from a Dutch `geboren` that ends a clause (`die in 1992 in
/// Kabul geboren is`) to a date; returns the start of the date.
fn date_before(text: &str, dates: &Dates, label_start: usize) -> Option<usize> {
    let mut pos = skip_spaces_back(text, label_start);
    for _ in 0..=3 {
        if let Some(date) = dates.ending_at(pos) {
            if date.form != DateForm::Year {
                return Some(date.start);
            }
            let before = skip_spaces_back(text, date.start);
            let word = text.get(letters_start(text, before)..before).unwrap_or("");
            return is_one_of(word, &YEAR_LINKS).then_some(date.start);
        }
        let word_start = letters_start(text, pos);
        let word = text.get(word_start..pos)?;
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        if word.is_empty() || !(capitalised || is_one_of(word, &LINKS)) {
            return None;
        }
        pos = skip_spaces_back(text, word_start);
    }
    None
}

/// Whether `age` and the year of `date` fit together.
fn age_fits(age: &Age, date: &DateMatch) -> bool {
    matches!(date.form, DateForm::Full | DateForm::MonthYear)
        && date
            .year
            .is_some_and(|year| year.candidates().any(|y| NOTE_YEARS.contains(&(y + age.years))))
}

/// Reads the short gap between an age and a date (`, `, ` (`, ` - `, ` / `):
/// returns where the gap ends and whether it opened a parenthesis.
fn gap_end(text: &str, pos: usize) -> (usize, bool) {
    let mut pos = skip_spaces(text, pos);
    let mut paren = false;
    for _ in 0..2 {
        match char_at(text, pos) {
            Some(c @ (',' | ';' | ':' | '(' | '-' | '–' | '—' | '/' | '°')) => {
                paren |= c == '(';
                pos = skip_spaces(text, pos + c.len_utf8());
            }
            _ => break,
        }
    }
    (pos, paren)
}

/// Includes the closing parenthesis of `(12.03.1990)` or `(34 jaar)`.
fn close_paren(text: &str, end: usize, paren: bool) -> usize {
    if paren && char_at(text, end) == Some(')') {
        end + 1
    } else {
        end
    }
}

/// Finds ages standing right next to a date that fits them.
fn find_ages_with_dates(text: &str, dates: &Dates, out: &mut Vec<Hit>) {
    let ages = find_ages(text);
    for age in &ages {
        let (after, paren) = gap_end(text, age.end);
        if let Some(date) = dates.starting_at(after).filter(|d| age_fits(age, d)) {
            let end = close_paren(text, date.end, paren);
            out.push(Hit {
                start: age.start,
                end,
                kind: PersonalDataKind::BirthDate,
            });
        }
    }
    for date in dates
        .by_start
        .iter()
        .filter(|d| matches!(d.form, DateForm::Full | DateForm::MonthYear))
    {
        let (after, paren) = gap_end(text, date.end);
        let first = ages.partition_point(|a| a.start < after);
        let mut candidates = ages[first..].iter().take_while(|a| a.start == after);
        if let Some(age) = candidates.find(|a| age_fits(a, date)) {
            let end = close_paren(text, age.end, paren);
            out.push(Hit {
                start: date.start,
                end,
                kind: PersonalDataKind::BirthDate,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn births(text: &str) -> Vec<&str> {
        let mut hits = Vec::new();
        find(text, &mut hits);
        super::super::merge(hits)
            .iter()
            .map(|h| &text[h.start..h.end])
            .collect()
    }

    #[test]
    fn labelled_dates() {
        for (note, expected) in [
            ("Man, born on 12/03/1990, from Guinea.", "born on 12/03/1990"),
            ("born 12th of March 1990", "born 12th of March 1990"),
            ("Born on March 12, 1990 in Conakry", "Born on March 12, 1990"),
            (
                "born in Conakry (Guinea) on 3 May 1988",
                "born in Conakry (Guinea) on 3 May 1988",
            ),
            ("born in 1990, arrived in 2021", "born in 1990"),
            ("born in Kabul in 1990", "born in Kabul in 1990"),
            ("geboren op 12 maart 1990", "geboren op 12 maart 1990"),
            (
                "geboren te Antwerpen op 03.05.1988",
                "geboren te Antwerpen op 03.05.1988",
            ),
            ("geb. 12-3-90", "geb. 12-3-90"),
            ("geboren in 1990", "geboren in 1990"),
            (
                "Zij is op 12 maart 1990 in Kabul geboren.",
                "12 maart 1990 in Kabul geboren",
            ),
            ("die in 1992 geboren is", "1992 geboren"),
            ("née le 5 juin 1992 à Liège", "née le 5 juin 1992"),
            ("né(e) le 1er janvier 1985", "né(e) le 1er janvier 1985"),
            (
                "né au Maroc le 1er janvier 1985",
                "né au Maroc le 1er janvier 1985",
            ),
            ("née à Liège, le 5 juin 1992", "née à Liège, le 5 juin 1992"),
            ("né en 1990", "né en 1990"),
            ("né le 5 décembre", "né le 5 décembre"),
            ("°12/03/1990", "°12/03/1990"),
            ("° 1990", "° 1990"),
            ("DOB: 12.03.1990", "DOB: 12.03.1990"),
            ("d.o.b. 1990-03-12", "d.o.b. 1990-03-12"),
            ("date of birth 12/03/1990", "date of birth 12/03/1990"),
            ("Birth date: 12 Mar 1990", "Birth date: 12 Mar 1990"),
            ("geboortedatum: 12/03/1990", "geboortedatum: 12/03/1990"),
            ("geb. datum 12/03/1990", "geb. datum 12/03/1990"),
            ("geb.dat. 12/03/1990", "geb.dat. 12/03/1990"),
            ("date de naiss. 12/03/1990", "date de naiss. 12/03/1990"),
            ("né·e le 3 mai 1988", "né·e le 3 mai 1988"),
            ("date de naissance : 12.03.1990", "date de naissance : 12.03.1990"),
            ("geboortejaar 1990", "geboortejaar 1990"),
            ("year of birth: 1990", "year of birth: 1990"),
        ] {
            assert_eq!(births(note), [expected], "{note}");
        }
    }

    #[test]
    fn ages_with_dates() {
        for (note, expected) in [
            ("Man, 34 years old, 12/03/1990.", "34 years old, 12/03/1990"),
            ("Vrouw 34 jaar (12.03.1990), Syrië", "34 jaar (12.03.1990)"),
            ("âgé de 34 ans, 12 mars 1990", "âgé de 34 ans, 12 mars 1990"),
            ("age 34 - 1990-03-12", "age 34 - 1990-03-12"),
            ("12/03/1990 (34 jaar)", "12/03/1990 (34 jaar)"),
            ("34-year-old, 12-3-90", "34-year-old, 12-3-90"),
            ("Leeftijd: 34, 12/03/1990", "Leeftijd: 34, 12/03/1990"),
        ] {
            assert_eq!(births(note), [expected], "{note}");
        }
    }

    #[test]
    fn not_birth_dates() {
        for note in [
            "about 30 years old, seen on 12/03/2026",
            "30 jaar, volgende afspraak 12/03/2026",
            "tussen 20 en 30 jaar, 12 mensen",
            "next meeting 2026-12-04, rdv le 03.12 à 10h, op 28/11/2026",
            "born in Guinea, arrived in 2021",
            "born in Guinea and arrived in 2021",
            "né en Guinée et arrivé en 2021",
            "geboren in Syrië, sinds 2019 in België",
            "Baby geboren vorige week, afspraak op 12/03/2026.",
            "sinds 2019 in Kabul geboren",
            "chambre n° 12, 18°C, 1° étage",
            "le 5 décembre, 25 personnes",
            "geb. B, lokaal 2",
            "30 ans, 2019",
        ] {
            assert!(births(note).is_empty(), "{note}: {:?}", births(note));
        }
    }
}
