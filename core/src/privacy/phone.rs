//! Phone numbers, Belgian and international.
//!
//! A candidate is a window of joined digit groups (see [`super::digits`])
//! that starts either with `+` or `00` (international) or with `0`
//! (national). Its digits must then fit a numbering plan:
//!
//! * national: Belgian landlines, toll-free and premium numbers have nine
//!   digits (`02 123 45 67`, `011 23 45 67`, `0800 12 345`); Belgian mobiles
//!   have ten and start with `04` (`0470 12 34 56`); French and Dutch mobiles
//!   (`06 12 34 56 78`) have ten and start with `06` or `07`; other ten-digit
//!   numbers count only when written the French way, in five pairs
//!   (`01 23 45 67 89`);
//! * international: a country calling code followed by a national
//!   significant number whose length fits that country (known for common
//!   countries, 6–12 digits otherwise), at most 15 digits in all; a trunk
//!   `0` after the country code (`+32 (0)470 …`) is allowed.
//!
//! Candidates that start like a date (`04/12/2026 …`) or are glued to other
//! letters or digits are not phone numbers, unless the run of digit groups
//! goes on after the year with the date's own separator (`07.11.85.42.19`):
//! then the date is only a prefix of the number.
//!
//! [`canonical`] gives the key of a number as written, for the allowlist of
//! partners' public numbers.

use super::digits::{glued_after, glued_before, DigitGroup};
use super::text::byte_at;
use super::{Hit, PersonalDataKind};

/// Most digits a candidate may gather (E.164 allows 15 after the `+`, plus
/// room for a `00` prefix and a trunk `0`).
const MAX_DIGITS: usize = 18;

/// Finds phone numbers among the digit groups of `text`.
pub(super) fn find(text: &str, groups: &[DigitGroup], out: &mut Vec<Hit>) {
    for (i, first) in groups.iter().enumerate() {
        let digits = first.digits(text);
        let plus = first.start > 0 && byte_at(text, first.start - 1) == Some(b'+');
        let international = plus || digits.starts_with(b"00");
        if !plus && digits.first() != Some(&b'0') {
            continue;
        }
        let start = if plus { first.start - 1 } else { first.start };
        if glued_before(text, start) || (!international && starts_like_date(text, &groups[i..])) {
            continue;
        }
        if let Some(end) = longest_valid(text, &groups[i..], international) {
            out.push(Hit {
                start,
                end,
                kind: PersonalDataKind::PhoneNumber,
            });
        }
    }
}

/// The end of the longest window of joined groups, starting with the first
/// of `groups`, that forms a valid number.
fn longest_valid(text: &str, groups: &[DigitGroup], international: bool) -> Option<usize> {
    let mut buf = [0u8; MAX_DIGITS];
    let mut len = 0;
    let mut best = None;
    let mut all_pairs = true;
    for (j, group) in groups.iter().enumerate() {
        if j > 0 && group.joint.is_none() {
            break;
        }
        let digits = group.digits(text);
        if len + digits.len() > MAX_DIGITS {
            break;
        }
        buf[len..len + digits.len()].copy_from_slice(digits);
        len += digits.len();
        all_pairs &= digits.len() == 2;
        if glued_after(text, group.end) {
            continue;
        }
        let number = &buf[..len];
        let valid = if international {
            let without_prefix = number.strip_prefix(b"00").unwrap_or(number);
            valid_international(without_prefix)
        } else {
            valid_national(number, all_pairs && j == 4)
        };
        if valid {
            best = Some(group.end);
        }
    }
    best
}

/// Whether the window starts like a numeric date that ends there:
/// `dd.mm.yyyy`, `dd/mm/yy`, `dd-mm` followed by the same separator and a
/// year, …
///
/// A run that goes on right after the year with the date's own separator
/// (`07.11.85.42.19`, a French mobile number written with dots) is not a
/// date: dates never continue that way, so the date is only a prefix of a
/// longer number and the phone reading of the whole run wins.
fn starts_like_date(text: &str, groups: &[DigitGroup]) -> bool {
    let [day, month, rest @ ..] = groups else {
        return false;
    };
    let Some(sep) = month.joint.and_then(|j| j.punct) else {
        return false;
    };
    let small = |g: &DigitGroup, max: u32| {
        g.len() <= 2 && (1..=max).contains(&super::text::number_value(text, g.start, g.end))
    };
    if !small(day, 31) || !small(month, 12) {
        return false;
    }
    let [year, after_year @ ..] = rest else {
        return false;
    };
    let is_year = year.joint.and_then(|j| j.punct) == Some(sep) && matches!(year.len(), 2 | 4);
    let goes_on = after_year
        .first()
        .is_some_and(|next| next.start == year.end + 1 && byte_at(text, year.end) == Some(sep));
    is_year && !goes_on
}

/// Whether `digits` (starting with a single `0`) is a valid national
/// number; `five_pairs` tells whether it was written as five groups of two
/// digits, the French way (`01 23 45 67 89`).
fn valid_national(digits: &[u8], five_pairs: bool) -> bool {
    match digits {
        [b'0', b'0', ..] => false,
        [b'0', _, ..] if digits.len() == 9 => true,
        [b'0', b'4' | b'6' | b'7', ..] => digits.len() == 10,
        [b'0', ..] => digits.len() == 10 && five_pairs,
        _ => false,
    }
}

/// Whether `digits` (after `+` or `00`) is a country code followed by a
/// national significant number of a plausible length.
fn valid_international(digits: &[u8]) -> bool {
    let cc_len = country_code_len(digits);
    if cc_len == 0 || digits.len() > 15 + 1 {
        return false;
    }
    let (cc, nsn) = digits.split_at(cc_len.min(digits.len()));
    let cc = cc.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let (min, max) = nsn_length(cc);
    let fits = |n: &[u8]| (min..=max).contains(&n.len()) && cc_len + n.len() <= 15;
    fits(nsn) && (cc == 39 || nsn.first() != Some(&b'0')) || nsn.strip_prefix(b"0").is_some_and(fits)
}

/// Length of the ITU-T E.164 country calling code at the start of `digits`
/// (country codes are prefix-free), or 0 when it cannot start a number.
fn country_code_len(digits: &[u8]) -> usize {
    match digits {
        [b'1' | b'7', ..] => 1,
        [b'0', ..] | [] => 0,
        [a, b, ..] => {
            let two = u32::from(a - b'0') * 10 + u32::from(b - b'0');
            if TWO_DIGIT_CODES.contains(&two) {
                2
            } else {
                3
            }
        }
        [_] => 0,
    }
}

/// The two-digit country calling codes; every other code not starting with
/// `1` or `7` has three digits.
const TWO_DIGIT_CODES: [u32; 44] = [
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
    60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// Range of lengths of the national significant number for a country code;
/// a generous default for countries not listed.
fn nsn_length(cc: u32) -> (usize, usize) {
    match cc {
        1 | 7 | 30 | 90 | 92 | 98 => (10, 10),
        27 | 31 | 33 | 34 | 40 | 41 | 48 | 93 | 212 | 221 | 237 | 243 | 249 | 250 | 251 | 380 | 995 => (9, 9),
        32 | 36 | 213 | 224 | 355 | 963 | 970 => (8, 9),
        45 | 47 | 216 | 229 => (8, 8),
        44 => (9, 10),
        20 | 225 | 234 | 964 => (8, 10),
        39 => (6, 11),
        43 | 49 => (6, 13),
        _ => (6, 12),
    }
}

/// The canonical key of a (folded) phone number as written: its digits in
/// international form, without `+`; `None` when `text` holds anything but
/// digits, spaces, `+` and the separators `.`, `/`, `-`, `(`, `)`, or no
/// digits, or more than E.164's fifteen once canonical.
///
/// Separators and `(0)` are dropped, then the `+` or `00` prefix; a number
/// starting with a single `0` is national and taken as Belgian (`32` and the
/// rest); a trunk `0` after the country code (`+32 0470 …`) is dropped except
/// for Italy, where it belongs to the number. Digits without a prefix are
/// taken as a key already.
pub(super) fn canonical(text: &str) -> Option<String> {
    let mut compact = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '0'..='9' | '+' | '(' | ')' => compact.push(c),
            '.' | '/' | '-' => {}
            _ if c.is_whitespace() => {}
            _ => return None,
        }
    }
    // A leading "(0)" is the trunk 0 of a national number: "(0)2 213 44 00".
    let compact = match compact.strip_prefix("(0)") {
        Some(rest) => format!("0{rest}"),
        None => compact,
    };
    let compact = compact.replace("(0)", "").replace(['(', ')'], "");
    let (international, digits) = match compact.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => match compact.strip_prefix("00") {
            Some(rest) => (true, rest),
            None => (false, compact.as_str()),
        },
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = match digits.strip_prefix('0') {
        Some(national) if !international => format!("32{national}"),
        _ => {
            let cc_len = country_code_len(digits.as_bytes());
            let (cc, nsn) = digits.split_at(cc_len.min(digits.len()));
            match nsn.strip_prefix('0') {
                Some(without_trunk) if cc_len > 0 && cc != "39" => format!("{cc}{without_trunk}"),
                _ => digits.to_string(),
            }
        }
    };
    (key.len() <= 15 && key.len() > 2).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::super::digits::digit_groups;
    use super::*;

    fn phones(text: &str) -> Vec<&str> {
        let mut hits = Vec::new();
        find(text, &digit_groups(text), &mut hits);
        super::super::merge(hits)
            .iter()
            .map(|h| &text[h.start..h.end])
            .collect()
    }

    #[test]
    fn belgian_formats() {
        for number in [
            "0470 12 34 56",
            "0470/12.34.56",
            "0470123456",
            "04 70 12 34 56",
            "0470-12-34-56",
            "02 123 45 67",
            "02/123.45.67",
            "011 23 45 67",
            "09-123 45 67",
            "04 223 45 67",
            "0800 12 345",
            "070 22 33 44",
            "+32 470 12 34 56",
            "+32470123456",
            "0032 470 12 34 56",
            "+32 (0)470 12 34 56",
            "+32 2 123 45 67",
            "(+32) 9 123 45 67",
        ] {
            let note = format!("Bel hem op {number}, na 14u.");
            assert_eq!(phones(&note), [number.trim_start_matches('(')], "{note}");
        }
    }

    #[test]
    fn foreign_formats() {
        for number in [
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+44 20 7946 0958",
            "+212 6 12 34 56 78",
            "+1 (555) 123-4567",
            "00 224 62 12 34 56",
            "+49 30 1234567",
            "+49 151 23456789",
            "+31 6 12345678",
            "+216 20 123 456",
            "+243 81 234 5678",
            "0033612345678",
            "06 12 34 56 78",
            "01 23 45 67 89",
            "01.23.45.67.89",
        ] {
            let note = format!("numéro {number} (soeur)");
            assert_eq!(phones(&note), [number], "{note}");
        }
    }

    #[test]
    fn trailing_counts_are_not_swallowed() {
        assert_eq!(phones("0470 12 34 56 3 mannen"), ["0470 12 34 56"]);
        assert_eq!(phones("+32 470 12 34 56 2 kids"), ["+32 470 12 34 56"]);
        assert_eq!(phones("gsm 0470123456/0498765432"), ["0470123456", "0498765432"]);
    }

    #[test]
    fn not_phone_numbers() {
        for note in [
            "Meeting at 14:30, 14u30 or 14h30, open 9-12u and 10h-12h.",
            "3500 Hasselt, 1000 Brussel, B-6000 Charleroi, 3500, 3600 and 3800.",
            "12 people, 3 mannen, 25 personnes, distributed 40 brochures.",
            "op 28/11/2026 en 04/12/2026 10 mensen, le 03.12 à 10h, 2026-12-04.",
            "op 04/12/2026 9 mensen; 02.12.2026 12 personen; 02-12-26 5 pers.",
            "tram 51, bus 95, Rue Haute 298a, € 250, 45%, room 0.12, v3.",
            "+/- 30 people, +3 new, 100+ brochures, 12+ ans.",
            "dossier 12345678901, ref 2024/0012/34, 0,50 per koffie.",
            "tussen 20 en 30 jaar, since 2019, arrived in 2021, 10.00-12.00.",
            "05 06 07 (nummers van de lokalen)",
        ] {
            assert!(phones(note).is_empty(), "{note}: {:?}", phones(note));
        }
    }

    #[test]
    fn dotted_mobiles_that_start_like_dates() {
        for number in [
            "07.11.85.42.19",
            "06.12.90.33.21",
            "04.12.34.56.78",
            "01.02.03.04.05",
            "06/12/90/33/21",
        ] {
            for note in [
                format!("tél. {number}, rappeler"),
                number.to_string(),
                format!("gsm: {number}."),
            ] {
                assert_eq!(phones(&note), [number], "{note}");
            }
        }
        // Dates, with or without a number after them, stay dates.
        for note in [
            "le 07.11.2026 à 10h",
            "rdv le 07.11.26 10 personnes",
            "op 04/12/2026 10 mensen",
            "28/11/2026 om 10u",
            "04.12.2026. 10 personnes",
            "op 04/12/2026 / 10 mensen",
            "van 04.12.26-10.12.26",
        ] {
            assert!(phones(note).is_empty(), "{note}: {:?}", phones(note));
        }
    }

    #[test]
    fn canonical_keys() {
        for written in [
            "02/213.44.00",
            "+32 2 213 44 00",
            "0032 (0)2 213 44 00",
            "+32 (0)2 213 44 00",
            "(+32) 2 213 44 00",
            "+32 02 213 44 00",
            " 02 213 44 00 ",
            "(0)2 213 44 00",
            "(02) 213 44 00",
            "3222134400",
        ] {
            assert_eq!(canonical(written).as_deref(), Some("3222134400"), "{written}");
        }
        assert_eq!(canonical("0470 12 34 56").as_deref(), Some("32470123456"));
        assert_eq!(canonical("+33 6 12 34 56 78").as_deref(), Some("33612345678"));
        assert_eq!(canonical("+39 06 1234 5678").as_deref(), Some("390612345678"));
        assert_eq!(canonical("+1 (555) 123-4567").as_deref(), Some("15551234567"));
        for not_a_number in [
            "",
            "+",
            "tel 0470",
            "0470 12 34 56 x",
            "+32+470",
            "1234567890123456",
            "٠٤٧٠",
        ] {
            assert_eq!(canonical(not_a_number), None, "{not_a_number}");
        }
    }

    #[test]
    fn country_codes() {
        assert_eq!(country_code_len(b"32470"), 2);
        assert_eq!(country_code_len(b"15551234"), 1);
        assert_eq!(country_code_len(b"224621234"), 3);
        assert_eq!(country_code_len(b"0"), 0);
        assert!(valid_international(b"32470123456"));
        assert!(valid_international(b"320470123456"));
        assert!(!valid_international(b"3247012345678"));
        assert!(!valid_international(b"3"));
    }
}
