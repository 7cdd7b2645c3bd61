//! Ages: `34 jaar`, `34 years old`, `34-year-old`, `34 y/o`, `age 34`,
//! `leeftijd: 34`, `âgée de 34 ans`.
//!
//! An age alone is not personal data; next to a date it gives a birth date
//! away (see [`super::birth_date`]).

use super::text::{
    ascii_digits_end, at_word_end, at_word_start, char_at, char_before, is_one_of, letters_end,
    letters_start, number_value, skip_spaces_back,
};

/// Words that introduce an age before its number (`age 34`, `âgée de 34 ans`).
const AGE_PREFIXES: [&str; 9] = [
    "age", "aged", "âge", "âgé", "âgée", "agé", "agée", "leeftijd", "ages",
];

/// Units after an age (`34 years`, `34 jaar`, `34 ans`, `34-jarige`).
const AGE_UNITS: [&str; 13] = [
    "years", "year", "yrs", "yr", "yo", "y", "jaar", "jr", "j", "ans", "an", "jarige", "jarig",
];

/// An age: `34 jaar`, `34 years old`, `34-year-old`, `age 34`, `âgé de 34 ans`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Age {
    /// Byte offset of the age's first character (its prefix, if any).
    pub start: usize,
    /// Byte offset after the age's last character.
    pub end: usize,
    /// The age in years.
    pub years: u32,
}

/// Finds ages in `text`, sorted by start.
pub(super) fn find_ages(text: &str) -> Vec<Age> {
    let bytes = text.as_bytes();
    let mut ages = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        if !bytes[pos].is_ascii_digit() {
            pos += 1;
            continue;
        }
        let end = ascii_digits_end(text, pos);
        if end - pos <= 3 && at_word_start(text, pos) {
            if let Some(age) = age_at(text, pos, end) {
                ages.push(age);
            }
        }
        pos = end;
    }
    ages.sort_by_key(|a| a.start);
    ages
}

/// Reads an age around the number `text[start..end]`.
fn age_at(text: &str, start: usize, end: usize) -> Option<Age> {
    let years = number_value(text, start, end);
    if years > 120 {
        return None;
    }
    let prefix_start = age_prefix_start(text, start);
    let unit_end = age_unit_end(text, end);
    if prefix_start.is_none() && unit_end.is_none() {
        return None;
    }
    let end = unit_end.unwrap_or(end);
    if !at_word_end(text, end) {
        return None;
    }
    Some(Age {
        start: prefix_start.unwrap_or(start),
        end,
        years,
    })
}

/// The start of an age prefix (`age`, `aged:`, `âgée de`, `leeftijd`)
/// before the number at `number_start`.
fn age_prefix_start(text: &str, number_start: usize) -> Option<usize> {
    let mut pos = skip_spaces_back(text, number_start);
    if char_before(text, pos) == Some(':') {
        pos = skip_spaces_back(text, pos - 1);
    }
    let mut word_start = letters_start(text, pos);
    if is_one_of(text.get(word_start..pos)?, &["de"]) {
        pos = skip_spaces_back(text, word_start);
        word_start = letters_start(text, pos);
    }
    let word = text.get(word_start..pos)?;
    (pos < number_start && is_one_of(word, &AGE_PREFIXES)).then_some(word_start)
}

/// The end of an age unit after the number ending at `number_end`:
/// `34 years old`, `34-year-old`, `34 jaar oud`, `34 ans`, `34 y/o`, `34j`.
fn age_unit_end(text: &str, number_end: usize) -> Option<usize> {
    let mut pos = number_end;
    if matches!(char_at(text, pos), Some('-' | ' ' | '\u{a0}')) {
        pos += char_at(text, pos)?.len_utf8();
    }
    let unit_end = letters_end(text, pos);
    let unit = text.get(pos..unit_end)?;
    if !is_one_of(unit, &AGE_UNITS) {
        return None;
    }
    let mut end = unit_end;
    // "34 y/o", "34 y.o."
    if let Some(rest) = text.get(end..) {
        end += ["/o", ".o."]
            .iter()
            .find(|mark| rest.starts_with(**mark))
            .map_or(0, |mark| mark.len());
    }
    // "years old", "year-old", "jaar oud"
    if matches!(char_at(text, end), Some('-' | ' ')) {
        let old_start = end + 1;
        let old_end = letters_end(text, old_start);
        if is_one_of(text.get(old_start..old_end)?, &["old", "oud"]) {
            end = old_end;
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ages(text: &str) -> Vec<(&str, u32)> {
        find_ages(text)
            .iter()
            .map(|a| (&text[a.start..a.end], a.years))
            .collect()
    }

    #[test]
    fn ages_with_units_and_prefixes() {
        assert_eq!(ages("man, 34 jaar"), [("34 jaar", 34)]);
        assert_eq!(ages("34 years old."), [("34 years old", 34)]);
        assert_eq!(ages("a 34-year-old man"), [("34-year-old", 34)]);
        assert_eq!(ages("34 y/o"), [("34 y/o", 34)]);
        assert_eq!(ages("âgée de 29 ans"), [("âgée de 29 ans", 29)]);
        assert_eq!(ages("Leeftijd: 41"), [("Leeftijd: 41", 41)]);
        assert_eq!(ages("age 34 - 1990"), [("age 34", 34)]);
        assert_eq!(ages("een 34-jarige"), [("34-jarige", 34)]);
        assert_eq!(ages("2 kinderen van 4 en 7 jaar"), [("7 jaar", 7)]);
    }

    #[test]
    fn not_ages() {
        assert!(ages("12 people, 3 mannen, 25 personnes, tram 51, 200 jaar? 1990").is_empty());
        assert!(ages("34jaarlijks, 121 years, 1234 years").is_empty());
    }
}
