//! Dates in notes: numeric (`12/03/1990`, `12-3-90`, `12.03.1990`,
//! `1990-03-12`, `12/03`), written in Dutch, French or English
//! (`12 maart 1990`, `1er janvier 1985`, `March 12, 1990`, `12th of March
//! 1990`, `mars 1990`) and bare years (`1990`).
//!
//! A date on its own is not personal data; the birth date detector decides
//! from the words around it whether a date is someone's birth date.

use super::digits::{glued_after, glued_before};
use super::text::{
    ascii_digits_end, at_word_end, at_word_start, byte_at, char_at, char_before, days_in_month, is_one_of,
    letters_end, number_value, skip_spaces, Folded,
};

/// Which parts a date has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateForm {
    /// Day, month and year.
    Full,
    /// Day and month, no year (`12/03`, `5 décembre`).
    DayMonth,
    /// Month and year (`maart 1990`).
    MonthYear,
    /// A bare four-digit year (`1990`).
    Year,
}

/// A date found in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DateMatch {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
    /// Which parts the date has.
    pub form: DateForm,
    /// The year as written, if any.
    pub year: Option<Year>,
}

/// A year as written in a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Year {
    /// The written value (`90` for `12-3-90`).
    pub value: u32,
    /// Whether it was written with two digits only.
    pub two_digits: bool,
}

impl Year {
    /// The possible full years: one for four-digit years, two (19xx and
    /// 20xx) for two-digit years.
    pub fn candidates(self) -> impl Iterator<Item = u32> {
        let (first, second) = if self.two_digits {
            (1900 + self.value, Some(2000 + self.value))
        } else {
            (self.value, None)
        };
        std::iter::once(first).chain(second)
    }
}

/// Lowest and highest plausible year of birth.
const YEARS: std::ops::RangeInclusive<u32> = 1900..=2099;

/// Month names and abbreviations in English, Dutch and French (lower case),
/// with their number and whether they are an abbreviation (which may be
/// followed by a dot).
const MONTHS: [(&str, u32, bool); 56] = [
    ("january", 1, false),
    ("januari", 1, false),
    ("janvier", 1, false),
    ("jan", 1, true),
    ("janv", 1, true),
    ("february", 2, false),
    ("februari", 2, false),
    ("février", 2, false),
    ("fevrier", 2, false),
    ("feb", 2, true),
    ("febr", 2, true),
    ("fév", 2, true),
    ("févr", 2, true),
    ("fev", 2, true),
    ("march", 3, false),
    ("maart", 3, false),
    ("mars", 3, false),
    ("mar", 3, true),
    ("mrt", 3, true),
    ("april", 4, false),
    ("avril", 4, false),
    ("apr", 4, true),
    ("avr", 4, true),
    ("may", 5, false),
    ("mei", 5, false),
    ("mai", 5, false),
    ("june", 6, false),
    ("juni", 6, false),
    ("juin", 6, false),
    ("jun", 6, true),
    ("july", 7, false),
    ("juli", 7, false),
    ("juillet", 7, false),
    ("jul", 7, true),
    ("juil", 7, true),
    ("august", 8, false),
    ("augustus", 8, false),
    ("août", 8, false),
    ("aout", 8, false),
    ("aug", 8, true),
    ("september", 9, false),
    ("septembre", 9, false),
    ("sep", 9, true),
    ("sept", 9, true),
    ("october", 10, false),
    ("oktober", 10, false),
    ("octobre", 10, false),
    ("oct", 10, true),
    ("okt", 10, true),
    ("november", 11, false),
    ("novembre", 11, false),
    ("nov", 11, true),
    ("december", 12, false),
    ("décembre", 12, false),
    ("decembre", 12, false),
    ("dec", 12, true),
];

/// Ordinal suffixes glued to a day number (`1st`, `12th`, `1er`, `1e`,
/// `2de`, `1ste`, `3ème`).
const ORDINALS: [&str; 13] = [
    "st", "nd", "rd", "th", "er", "re", "ère", "e", "de", "ste", "me", "ème", "eme",
];

/// Finds every date in `text`, sorted by start; for each start only the
/// longest reading is kept.
pub(super) fn find_all(text: &str) -> Vec<DateMatch> {
    let mut dates = Vec::new();
    let mut pos = 0;
    while let Some(c) = char_at(text, pos) {
        let found = if c.is_ascii_digit() && !glued_before(text, pos) {
            numeric_at(text, pos)
                .or_else(|| written_day_first(text, pos))
                .or_else(|| year_at(text, pos))
        } else if c.is_alphabetic() && at_word_start(text, pos) {
            written_month_first(text, pos)
        } else {
            None
        };
        match found {
            Some(date) => {
                dates.push(date);
                // Skip to the end of the current token only: a date may
                // contain other dates (a year inside "12 maart 1990").
                pos = token_end(text, pos);
            }
            None => pos = token_end(text, pos),
        }
    }
    dates
}

/// End of the digit run or letter run at `pos`, or of the single character.
fn token_end(text: &str, pos: usize) -> usize {
    match char_at(text, pos) {
        Some(c) if c.is_ascii_digit() => ascii_digits_end(text, pos),
        Some(c) if c.is_alphabetic() => letters_end(text, pos),
        Some(c) => pos + c.len_utf8(),
        None => pos + 1,
    }
}

/// Reads a run of one to `max` ASCII digits at `pos`: its end and value.
fn number_at(text: &str, pos: usize, max: usize) -> Option<(usize, u32)> {
    let end = ascii_digits_end(text, pos);
    let len = end - pos;
    (1..=max)
        .contains(&len)
        .then(|| (end, number_value(text, pos, end)))
}

/// Whether `day`/`month` form a valid day of the year.
fn valid_day(day: u32, month: u32) -> bool {
    day >= 1 && day <= days_in_month(month)
}

/// Numeric dates: `dd/mm/yyyy`, `d-m-yy`, `dd.mm.yyyy`, `yyyy-mm-dd`,
/// `dd/mm`.
fn numeric_at(text: &str, pos: usize) -> Option<DateMatch> {
    let (first_end, first) = number_at(text, pos, 4)?;
    let sep = byte_at(text, first_end).filter(|b| matches!(b, b'/' | b'.' | b'-'))?;
    let (second_end, second) = number_at(text, first_end + 1, 2)?;
    let third = (byte_at(text, second_end) == Some(sep))
        .then(|| number_at(text, second_end + 1, 4))
        .flatten();
    let full = |end: usize, year: u32, year_len: usize| {
        let two_digits = year_len == 2;
        let year_ok = two_digits || (year_len == 4 && YEARS.contains(&year));
        (year_ok && !glued_after(text, end)).then_some(DateMatch {
            start: pos,
            end,
            form: DateForm::Full,
            year: Some(Year {
                value: year,
                two_digits,
            }),
        })
    };
    if first_end - pos == 4 {
        // yyyy-mm-dd
        let (end, day) = third?;
        let day_len = end - (second_end + 1);
        return if day_len <= 2 && valid_day(day, second) {
            full(end, first, 4)
        } else {
            None
        };
    }
    if first_end - pos > 2 || !valid_day(first, second) {
        return None;
    }
    match third {
        Some((end, year)) => full(end, year, end - (second_end + 1)),
        None if !glued_after(text, second_end) => Some(DateMatch {
            start: pos,
            end: second_end,
            form: DateForm::DayMonth,
            year: None,
        }),
        None => None,
    }
}

/// A month name or abbreviation at `pos`: its end (after an abbreviation's
/// dot) and number.
fn month_at(text: &str, pos: usize) -> Option<(usize, u32)> {
    let end = letters_end(text, pos);
    let word = text.get(pos..end)?;
    if !(3..=10).contains(&word.len()) {
        return None;
    }
    let folded = Folded::new(word)?;
    let &(_, month, abbreviation) = MONTHS.iter().find(|(name, _, _)| *name == folded.as_str())?;
    let end = if abbreviation && char_at(text, end) == Some('.') {
        end + 1
    } else {
        end
    };
    Some((end, month))
}

/// A four-digit year at `pos` that stands alone.
fn year_at(text: &str, pos: usize) -> Option<DateMatch> {
    let (end, value) = number_at(text, pos, 4)?;
    let inside_date = matches!(char_before(text, pos), Some('/' | '.' | '-'))
        && pos >= 2
        && byte_at(text, pos - 2).is_some_and(|b| b.is_ascii_digit());
    let alone = !inside_date && !glued_before(text, pos) && !glued_after(text, end);
    (end - pos == 4 && YEARS.contains(&value) && alone).then_some(DateMatch {
        start: pos,
        end,
        form: DateForm::Year,
        year: Some(Year {
            value,
            two_digits: false,
        }),
    })
}

/// A year after a written month, optionally after a comma: `…, 1990`.
fn year_after(text: &str, pos: usize) -> Option<DateMatch> {
    let mut next = skip_spaces(text, pos);
    if char_at(text, next) == Some(',') {
        next = skip_spaces(text, next + 1);
    }
    year_at(text, next).filter(|_| next > pos)
}

/// Written dates starting with the day: `12 maart 1990`, `1er janvier 1985`,
/// `12th of March 1990`, `5 juin` (no year).
fn written_day_first(text: &str, pos: usize) -> Option<DateMatch> {
    let (day_end, day) = number_at(text, pos, 2)?;
    let mut cursor = day_end;
    let suffix_end = letters_end(text, cursor);
    if suffix_end > cursor {
        if !is_one_of(text.get(cursor..suffix_end)?, &ORDINALS) {
            return None;
        }
        cursor = suffix_end;
    }
    let mut month_start = skip_spaces(text, cursor);
    if month_start == cursor {
        return None;
    }
    let word_end = letters_end(text, month_start);
    if is_one_of(text.get(month_start..word_end)?, &["of", "de", "van"]) {
        month_start = skip_spaces(text, word_end);
    }
    let (month_end, month) = month_at(text, month_start)?;
    if !valid_day(day, month) || !at_word_end(text, month_end) {
        return None;
    }
    let date = match year_after(text, month_end) {
        Some(year) => DateMatch {
            start: pos,
            end: year.end,
            form: DateForm::Full,
            year: year.year,
        },
        None => DateMatch {
            start: pos,
            end: month_end,
            form: DateForm::DayMonth,
            year: None,
        },
    };
    Some(date)
}

/// Written dates starting with the month: `March 12, 1990`, `March 12th
/// 1990`, `maart 1990`, `March 12` (no year).
fn written_month_first(text: &str, pos: usize) -> Option<DateMatch> {
    let (month_end, month) = month_at(text, pos)?;
    if !at_word_end(text, month_end) {
        return None;
    }
    if let Some(year) = year_after(text, month_end).filter(|y| !text[month_end..y.start].contains(',')) {
        return Some(DateMatch {
            start: pos,
            end: year.end,
            form: DateForm::MonthYear,
            year: year.year,
        });
    }
    let day_start = skip_spaces(text, month_end);
    if day_start == month_end {
        return None;
    }
    let (day_end, day) = number_at(text, day_start, 2)?;
    let suffix_end = letters_end(text, day_end);
    let day_end = if suffix_end > day_end && is_one_of(text.get(day_end..suffix_end)?, &ORDINALS) {
        suffix_end
    } else {
        day_end
    };
    if !valid_day(day, month) || glued_after(text, day_end) {
        return None;
    }
    let date = match year_after(text, day_end) {
        Some(year) => DateMatch {
            start: pos,
            end: year.end,
            form: DateForm::Full,
            year: year.year,
        },
        None => DateMatch {
            start: pos,
            end: day_end,
            form: DateForm::DayMonth,
            year: None,
        },
    };
    Some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(text: &str) -> Vec<(&str, DateForm)> {
        find_all(text)
            .iter()
            .map(|d| (&text[d.start..d.end], d.form))
            .collect()
    }

    #[test]
    fn numeric_dates() {
        use DateForm::*;
        assert_eq!(dates("op 12/03/1990."), [("12/03/1990", Full)]);
        assert_eq!(dates("12-3-90"), [("12-3-90", Full)]);
        assert_eq!(
            dates("12.03.1990 en 1990-03-12"),
            [("12.03.1990", Full), ("1990-03-12", Full)]
        );
        assert_eq!(dates("le 03.12 à 10h"), [("03.12", DayMonth)]);
        assert_eq!(dates("since 2019"), [("2019", Year)]);
        assert!(dates("31/02/1990 13/13/1990 12/03/199 85.07.30-033.28 14:30 3500").is_empty());
        assert!(dates("1.12.03.1990 12/03/1990b").is_empty());
    }

    #[test]
    fn written_dates() {
        use DateForm::*;
        assert_eq!(
            dates("12 maart 1990"),
            [("12 maart 1990", Full), ("maart 1990", MonthYear), ("1990", Year)]
        );
        assert_eq!(dates("1er janvier 1985")[0], ("1er janvier 1985", Full));
        assert_eq!(dates("March 12, 1990")[0], ("March 12, 1990", Full));
        assert_eq!(dates("the 12th of March 1990")[0], ("12th of March 1990", Full));
        assert_eq!(dates("3 mei 1988")[0], ("3 mei 1988", Full));
        assert_eq!(dates("le 5 décembre."), [("5 décembre", DayMonth)]);
        assert_eq!(dates("en août 1992")[0], ("août 1992", MonthYear));
        assert_eq!(dates("12 sept. 1990")[0], ("12 sept. 1990", Full));
        assert!(dates("12 people, 3 mannen, 12 marsupials, maya 12").is_empty());
        assert!(dates("31 juin 1990").iter().all(|d| d.1 != Full));
    }

    #[test]
    fn two_digit_years_have_two_centuries() {
        let year = Year {
            value: 90,
            two_digits: true,
        };
        assert_eq!(year.candidates().collect::<Vec<_>>(), [1990, 2090]);
        let year = Year {
            value: 1990,
            two_digits: false,
        };
        assert_eq!(year.candidates().collect::<Vec<_>>(), [1990]);
    }
}
