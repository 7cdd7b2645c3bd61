//! Digit groups: the runs of ASCII digits of a note and how they are joined.
//!
//! Phone numbers and national register numbers are written as digit groups
//! separated by a space, a dot, a slash, a dash or parentheses
//! (`0470/12.34.56`, `+32 (0)470 12 34 56`, `85.07.30-033.28`). The text is
//! split once into maximal runs of ASCII digits; each run records whether a
//! short separator joins it to the previous run. The phone and register
//! number detectors then look at windows of joined groups.

use super::text::{byte_at, char_at, char_before};

/// A maximal run of ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DigitGroup {
    /// Byte offset of the first digit.
    pub start: usize,
    /// Byte offset just after the last digit.
    pub end: usize,
    /// How this group is joined to the previous group, if it is.
    pub joint: Option<Joint>,
}

impl DigitGroup {
    /// Number of digits in the group.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// The digits of the group, as ASCII bytes.
    pub fn digits<'t>(&self, text: &'t str) -> &'t [u8] {
        text.as_bytes().get(self.start..self.end).unwrap_or_default()
    }
}

/// The separator between two joined digit groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Joint {
    /// The punctuation used (`.`, `/` or `-`), if any.
    pub punct: Option<u8>,
    /// Whether the separator contains a parenthesis.
    pub paren: bool,
}

/// Longest separator, in characters, that still joins two groups.
const MAX_SEPARATOR_CHARS: usize = 3;

/// Splits `text` into its digit groups, in order.
pub(super) fn digit_groups(text: &str) -> Vec<DigitGroup> {
    let bytes = text.as_bytes();
    let mut groups: Vec<DigitGroup> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let joint = groups
            .last()
            .and_then(|prev| text.get(prev.end..start))
            .and_then(joint_of);
        groups.push(DigitGroup { start, end: i, joint });
    }
    groups
}

/// Classifies the text between two digit runs; `None` when it does not join
/// them into one number.
fn joint_of(between: &str) -> Option<Joint> {
    let mut punct = None;
    let mut paren = false;
    let mut count = 0;
    for c in between.chars() {
        count += 1;
        if count > MAX_SEPARATOR_CHARS {
            return None;
        }
        match c {
            ' ' | '\u{a0}' | '\u{202f}' => {}
            '(' | ')' => paren = true,
            '.' | '/' | '-' => {
                if punct.is_some() {
                    return None;
                }
                punct = Some(c as u8);
            }
            _ => return None,
        }
    }
    (count > 0).then_some(Joint { punct, paren })
}

/// Whether a number starting at `pos` is glued to something before it: a
/// letter or digit, or a short digit group followed by `.` or `-` (as in the
/// middle of `12.05.1990` or `85.07.30-033.28`).
pub(super) fn glued_before(text: &str, pos: usize) -> bool {
    match char_before(text, pos) {
        None => false,
        Some(c) if c.is_alphanumeric() => true,
        Some('.' | '-') => {
            let digits_end = pos - 1;
            let mut digits_start = digits_end;
            while digits_start > 0 && byte_at(text, digits_start - 1).is_some_and(|b| b.is_ascii_digit()) {
                digits_start -= 1;
            }
            (1..=4).contains(&(digits_end - digits_start))
        }
        Some(_) => false,
    }
}

/// Whether a number ending at `pos` is glued to something after it: a letter
/// or digit, or `.`/`-` followed by a short digit group.
pub(super) fn glued_after(text: &str, pos: usize) -> bool {
    match char_at(text, pos) {
        None => false,
        Some(c) if c.is_alphanumeric() => true,
        Some('.' | '-') => {
            let digits = super::text::ascii_digits_end(text, pos + 1) - (pos + 1);
            (1..=4).contains(&digits)
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(&str, bool)> {
        digit_groups(text)
            .iter()
            .map(|g| (&text[g.start..g.end], g.joint.is_some()))
            .collect()
    }

    #[test]
    fn groups_and_joints() {
        assert_eq!(
            spans("+32 (0)470 12.34/56, 3500 Hasselt 14u30"),
            [
                ("32", false),
                ("0", true),
                ("470", true),
                ("12", true),
                ("34", true),
                ("56", true),
                ("3500", false),
                ("14", false),
                ("30", false),
            ]
        );
        // Two punctuation marks or a long gap do not join.
        assert_eq!(
            spans("12./34 56    78"),
            [("12", false), ("34", false), ("56", true), ("78", false)]
        );
        let groups = digit_groups("0470/12");
        assert_eq!(
            groups[1].joint,
            Some(Joint {
                punct: Some(b'/'),
                paren: false
            })
        );
        assert_eq!(groups[0].digits("0470/12"), b"0470");
        assert_eq!(groups[0].len(), 4);
    }

    #[test]
    fn glue() {
        assert!(glued_before("12.05", 3));
        assert!(glued_before("a05", 1));
        assert!(!glued_before("tel. 05", 5));
        assert!(!glued_before("Tel.0470", 4));
        assert!(!glued_before("0470123456-0498", 11));
        assert!(glued_after("05.12", 2));
        assert!(glued_after("05u", 2));
        assert!(!glued_after("05. Next", 2));
        assert!(!glued_after("0470123456/0498765432", 10));
        assert!(!glued_after("05", 2));
    }
}
