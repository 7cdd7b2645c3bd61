//! Belgian national register numbers and BIS numbers.
//!
//! Both have eleven digits, `YYMMDD SSS CC`: the birth date, a sequence
//! number (odd for men, even for women) and two check digits. They are
//! written compact (`85073003328`) or grouped (`85.07.30-033.28`,
//! `850730 033 28`, `85.07.30 033-28`).
//!
//! * Check digits: `CC = 97 - (YYMMDDSSS mod 97)`; for people born in 2000
//!   or later the number `2YYMMDDSSS` is used instead. The century is not
//!   written, so a number is accepted when either rule matches.
//! * BIS numbers add 20 (gender unknown) or 40 (gender known) to the month.
//!   When the birth date is unknown the month is `00` (`20`, `40` for BIS
//!   numbers) and the day may be `00`.

use super::digits::{glued_after, glued_before, DigitGroup};
use super::text::days_in_month;
use super::{Hit, PersonalDataKind};

/// Number of digits of a register number.
const LEN: usize = 11;

/// Finds register numbers among the digit groups of `text`.
pub(super) fn find(text: &str, groups: &[DigitGroup], out: &mut Vec<Hit>) {
    for (i, first) in groups.iter().enumerate() {
        if glued_before(text, first.start) {
            continue;
        }
        let mut digits = [0u8; LEN];
        let mut len = 0;
        for (j, group) in groups[i..].iter().enumerate() {
            if j > 0 && group.joint.is_none_or(|joint| joint.paren) {
                break;
            }
            let group_digits = group.digits(text);
            if len + group_digits.len() > LEN {
                break;
            }
            digits[len..len + group_digits.len()].copy_from_slice(group_digits);
            len += group_digits.len();
            if len == LEN {
                if !glued_after(text, group.end) {
                    if let Some(kind) = classify(&digits) {
                        out.push(Hit {
                            start: first.start,
                            end: group.end,
                            kind,
                        });
                    }
                }
                break;
            }
            // Groups may only split the number between its fields.
            if ![2, 4, 6, 9].contains(&len) {
                break;
            }
        }
    }
}

/// Classifies eleven ASCII digits as a national register number or a BIS
/// number, or `None` when the check digits or the date part are wrong.
pub(super) fn classify(digits: &[u8; LEN]) -> Option<PersonalDataKind> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = |range: std::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
    };
    let month = value(2..4);
    let day = value(4..6);
    let sequence = value(6..9);
    let base = value(0..9);
    let check = value(9..11);

    let (kind, birth_month) = match month {
        0..=12 => (PersonalDataKind::NationalRegisterNumber, month),
        20..=32 => (PersonalDataKind::BisNumber, month - 20),
        40..=52 => (PersonalDataKind::BisNumber, month - 40),
        _ => return None,
    };
    // Month 00: birth date (partly) unknown, the day may be anything up to 31.
    let max_day = match u32::try_from(birth_month) {
        Ok(0) | Err(_) => 31,
        Ok(month) => u64::from(days_in_month(month)),
    };
    if day > max_day || !(1..=998).contains(&sequence) {
        return None;
    }
    let before_2000 = 97 - base % 97;
    let from_2000 = 97 - (2_000_000_000 + base) % 97;
    (check == before_2000 || check == from_2000).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::super::digits::digit_groups;
    use super::*;

    fn digits(s: &str) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out.copy_from_slice(s.as_bytes());
        out
    }

    fn found(text: &str) -> Vec<(&str, PersonalDataKind)> {
        let mut hits = Vec::new();
        find(text, &digit_groups(text), &mut hits);
        hits.iter().map(|h| (&text[h.start..h.end], h.kind)).collect()
    }

    /// Builds a valid number from its first nine digits.
    fn with_check(base: &str, born_2000_or_later: bool) -> String {
        let n: u64 = base.parse().unwrap();
        let n = if born_2000_or_later { 2_000_000_000 + n } else { n };
        format!("{base}{:02}", 97 - n % 97)
    }

    #[test]
    fn check_digits_before_2000() {
        // 850730033: 850730033 mod 97 = 69, 97 - 69 = 28.
        assert_eq!(
            classify(&digits("85073003328")),
            Some(PersonalDataKind::NationalRegisterNumber)
        );
        assert_eq!(classify(&digits("85073003329")), None);
        assert_eq!(classify(&digits("85073003428")), None);
    }

    #[test]
    fn check_digits_from_2000() {
        let number = with_check("050314123", true);
        assert_eq!(
            classify(&digits(&number)),
            Some(PersonalDataKind::NationalRegisterNumber)
        );
        // The same base with the pre-2000 rule gives other check digits.
        let old_rule = with_check("050314123", false);
        assert_ne!(number, old_rule);
        assert_eq!(
            classify(&digits(&old_rule)),
            Some(PersonalDataKind::NationalRegisterNumber)
        );
        let mut wrong = digits(&number);
        wrong[10] = if wrong[10] == b'9' { b'0' } else { wrong[10] + 1 };
        if wrong != digits(&old_rule) {
            assert_eq!(classify(&wrong), None);
        }
    }

    #[test]
    fn bis_month_offsets() {
        for (base, kind) in [
            ("852730033", PersonalDataKind::BisNumber),
            ("854730033", PersonalDataKind::BisNumber),
            ("852000001", PersonalDataKind::BisNumber),
            ("854000002", PersonalDataKind::BisNumber),
            ("850000003", PersonalDataKind::NationalRegisterNumber),
            ("850700003", PersonalDataKind::NationalRegisterNumber),
        ] {
            assert_eq!(classify(&digits(&with_check(base, false))), Some(kind), "{base}");
            assert_eq!(classify(&digits(&with_check(base, true))), Some(kind), "{base}");
        }
    }

    #[test]
    fn implausible_dates_are_rejected() {
        for base in [
            "851330033",
            "853330033",
            "855330033",
            "856030033",
            "850732033",
            "850230033",
            "850730000",
            "850730999",
        ] {
            assert_eq!(classify(&digits(&with_check(base, false))), None, "{base}");
        }
        assert_eq!(
            classify(&digits(&with_check("850229033", false))),
            Some(PersonalDataKind::NationalRegisterNumber)
        );
    }

    #[test]
    fn written_formats() {
        for number in [
            "85.07.30-033.28",
            "85073003328",
            "850730 033 28",
            "85.07.30 033-28",
            "850730-033-28",
            "85 07 30 033 28",
        ] {
            let note = format!("RRN {number}.");
            assert_eq!(
                found(&note),
                [(number, PersonalDataKind::NationalRegisterNumber)],
                "{note}"
            );
        }
        let bis = with_check("902512345", false);
        let note = format!(
            "BIS-nummer: {}.{}.{}-{}.{}",
            &bis[0..2],
            &bis[2..4],
            &bis[4..6],
            &bis[6..9],
            &bis[9..]
        );
        assert_eq!(found(&note).len(), 1);
        assert_eq!(found(&note)[0].1, PersonalDataKind::BisNumber);
    }

    #[test]
    fn not_register_numbers() {
        for note in [
            "850730033285",
            "8507300332",
            "a85073003328",
            "850 730 033 28",
            "1.85073003328",
            "85073003328b",
            "(85) 07 30 033 28",
            "12345678901",
        ] {
            assert!(found(note).is_empty(), "{note}");
        }
    }
}
