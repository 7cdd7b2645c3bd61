//! Small text helpers shared by the detectors.
//!
//! All positions are byte offsets into the scanned text. Every helper accepts
//! any offset up to `text.len()` and returns offsets that lie on `char`
//! boundaries whenever its input does; none of them panics.

/// The character starting at byte `pos`, if `pos` is a boundary inside `text`.
pub(super) fn char_at(text: &str, pos: usize) -> Option<char> {
    text.get(pos..)?.chars().next()
}

/// The character ending at byte `pos`, if `pos` is a boundary inside `text`.
pub(super) fn char_before(text: &str, pos: usize) -> Option<char> {
    text.get(..pos)?.chars().next_back()
}

/// The ASCII byte at `pos`, if any.
pub(super) fn byte_at(text: &str, pos: usize) -> Option<u8> {
    text.as_bytes().get(pos).copied()
}

/// Whether `pos` starts a word: the previous character (if any) is not a
/// letter or digit.
pub(super) fn at_word_start(text: &str, pos: usize) -> bool {
    !char_before(text, pos).is_some_and(char::is_alphanumeric)
}

/// Whether `pos` ends a word: the next character (if any) is not a letter or
/// digit.
pub(super) fn at_word_end(text: &str, pos: usize) -> bool {
    !char_at(text, pos).is_some_and(char::is_alphanumeric)
}

/// Skips whitespace (including no-break spaces) from `pos`.
pub(super) fn skip_spaces(text: &str, pos: usize) -> usize {
    let Some(rest) = text.get(pos..) else {
        return pos;
    };
    let trimmed = rest.trim_start();
    pos + (rest.len() - trimmed.len())
}

/// Skips whitespace backwards from `pos`.
pub(super) fn skip_spaces_back(text: &str, pos: usize) -> usize {
    text.get(..pos).map_or(pos, |head| head.trim_end().len())
}

/// The end of the run of letters starting at `pos` (equal to `pos` when there
/// is no letter there).
pub(super) fn letters_end(text: &str, pos: usize) -> usize {
    let Some(rest) = text.get(pos..) else {
        return pos;
    };
    let len = rest
        .char_indices()
        .find(|&(_, c)| !c.is_alphabetic())
        .map_or(rest.len(), |(i, _)| i);
    pos + len
}

/// The start of the run of letters ending at `pos`.
pub(super) fn letters_start(text: &str, pos: usize) -> usize {
    let Some(head) = text.get(..pos) else {
        return pos;
    };
    let kept = head.trim_end_matches(char::is_alphabetic);
    kept.len()
}

/// The end of the run of ASCII digits starting at `pos`.
pub(super) fn ascii_digits_end(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = pos.min(bytes.len());
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    end
}

/// The value of the ASCII digits in `text[start..end]` (saturating; 0 when
/// empty). Callers pass short runs only.
pub(super) fn number_value(text: &str, start: usize, end: usize) -> u32 {
    text.as_bytes()
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0u32, |acc, b| {
            acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
        })
}

/// Longest word, in UTF-8 bytes once folded to lower case, that
/// [`Folded`] holds. Every word the detectors compare with is shorter.
const MAX_FOLDED: usize = 24;

/// A word folded to lower case in a small stack buffer, so that it can be
/// compared with many lower-case candidates without allocating or folding
/// it again.
pub(super) struct Folded {
    buf: [u8; MAX_FOLDED],
    len: usize,
}

impl Folded {
    /// Folds `word`; `None` when it is too long to equal any candidate.
    pub(super) fn new(word: &str) -> Option<Self> {
        let mut folded = Folded {
            buf: [0; MAX_FOLDED],
            len: 0,
        };
        for c in word.chars().flat_map(char::to_lowercase) {
            let end = folded.len + c.len_utf8();
            let slot = folded.buf.get_mut(folded.len..end)?;
            c.encode_utf8(slot);
            folded.len = end;
        }
        Some(folded)
    }

    /// The folded word.
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    /// Whether the folded word equals one of the lower-case `candidates`.
    pub(super) fn is_one_of(&self, candidates: &[&str]) -> bool {
        let word = self.as_str();
        candidates.contains(&word)
    }
}

/// Whether `word` equals any of the lower-case `candidates`, ignoring case
/// (also for accented letters: `"NÉE"` matches `"née"`).
pub(super) fn is_one_of(word: &str, candidates: &[&str]) -> bool {
    Folded::new(word).is_some_and(|folded| folded.is_one_of(candidates))
}

/// Whether the text at `pos` starts with the lower-case ASCII `pattern`,
/// ignoring ASCII case.
pub(super) fn starts_with_ascii_ci(text: &str, pos: usize, pattern: &str) -> bool {
    text.as_bytes()
        .get(pos..pos.saturating_add(pattern.len()))
        .is_some_and(|b| b.eq_ignore_ascii_case(pattern.as_bytes()))
}

/// Number of days in `month` (1–12), allowing 29 February since the century
/// of a two-digit year is unknown. Returns 0 for an invalid month.
pub(super) fn days_in_month(month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_safe_on_any_offset() {
        let text = "né à Liège";
        assert_eq!(char_at(text, 1), Some('é'));
        assert_eq!(char_at(text, 2), None); // inside "é"
        assert_eq!(char_before(text, 3), Some('é'));
        assert_eq!(char_before(text, 100), None);
        assert_eq!(skip_spaces(text, 100), 100);
        assert_eq!(letters_end(text, 0), 3);
        assert_eq!(letters_start(text, 3), 0);
        assert_eq!(letters_end(text, 2), 2);
    }

    #[test]
    fn case_insensitive_matching() {
        assert!(is_one_of("NÉE", &["née"]));
        assert!(is_one_of("Geboren", &["geboren"]));
        assert!(!is_one_of("geboren", &["geboortedatum"]));
        assert!(is_one_of("Maart", &["march", "maart"]));
        assert!(!is_one_of("x".repeat(100).as_str(), &["x"]));
        assert_eq!(
            Folded::new("ÀÉÎ").map(|f| f.as_str().to_string()),
            Some("àéî".to_string())
        );
        assert!(starts_with_ascii_ci("D.O.B. 1990", 0, "d.o.b"));
        assert!(!starts_with_ascii_ci("D.O", 0, "d.o.b"));
    }

    #[test]
    fn numbers_and_months() {
        assert_eq!(number_value("a12b", 1, 3), 12);
        assert_eq!(number_value("99999999999999", 0, 14), u32::MAX);
        assert_eq!(ascii_digits_end("2026-", 0), 4);
        assert_eq!(days_in_month(2), 29);
        assert_eq!(days_in_month(13), 0);
    }
}
