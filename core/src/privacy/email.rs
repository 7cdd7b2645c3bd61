//! E-mail addresses.
//!
//! Plain addresses (`jan.peeters+opvang@mail.example.org`) are found around
//! each `@`: an ASCII local part, then a domain of at least two labels ending
//! in an alphabetic top-level domain. Common obfuscations are found too when
//! they end in a well-known top-level domain: `jan (at) example (dot) be`,
//! `jan[at]example.org`, `jan at example dot be`, `jan arobase example point
//! fr`, `jan apenstaartje example punt be`.
//!
//! [`canonical`] gives the key of an address as written, for the allowlist
//! of partners' public addresses.

use super::text::{at_word_start, char_at, char_before, is_one_of, letters_end, skip_spaces};
use super::{Hit, PersonalDataKind};

/// Finds e-mail addresses in `text`.
pub(super) fn find(text: &str, out: &mut Vec<Hit>) {
    find_plain(text, out);
    find_obfuscated(text, out);
}

/// Characters allowed in the local part (a conservative subset of RFC 5322).
fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'')
}

/// Characters allowed in a domain label.
fn is_label_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

/// Finds `local@domain` addresses.
fn find_plain(text: &str, out: &mut Vec<Hit>) {
    let bytes = text.as_bytes();
    let mut searched = 0;
    while let Some(offset) = text.get(searched..).and_then(|rest| rest.find('@')) {
        let at = searched + offset;
        searched = at + 1;
        let mut start = at;
        while start > 0 && is_local_char(bytes[start - 1]) {
            start -= 1;
        }
        // The local part neither starts with a dot nor is glued to a letter.
        while start < at && matches!(bytes[start], b'.' | b'\'') {
            start += 1;
        }
        if start == at || at - start > 64 || !at_word_start(text, start) {
            continue;
        }
        if let Some(end) = plain_domain_end(text, at + 1) {
            out.push(Hit {
                start,
                end,
                kind: PersonalDataKind::EmailAddress,
            });
            searched = end;
        }
    }
}

/// Reads a dotted domain starting at `pos` and returns its end, or `None`
/// when there is no domain with a top-level domain there.
fn plain_domain_end(text: &str, pos: usize) -> Option<usize> {
    let mut end = pos;
    let mut labels = 0;
    let mut last_label = (pos, pos);
    loop {
        let label_end = label_end(text, end);
        let label = text.get(end..label_end)?;
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            break;
        }
        labels += 1;
        last_label = (end, label_end);
        end = label_end;
        let after_dot = end + 1;
        if char_at(text, end) == Some('.') && char_at(text, after_dot).is_some_and(is_label_char) {
            end = after_dot;
        } else {
            break;
        }
    }
    // A dangling "." before the last accepted label is not part of the domain.
    let end = last_label.1;
    let tld = text.get(last_label.0..last_label.1)?;
    let tld_ok = tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic);
    (labels >= 2 && tld_ok && !char_at(text, end).is_some_and(is_label_char)).then_some(end)
}

/// End of the domain label starting at `pos`.
fn label_end(text: &str, pos: usize) -> usize {
    let Some(rest) = text.get(pos..) else {
        return pos;
    };
    pos + rest
        .char_indices()
        .find(|&(_, c)| !is_label_char(c))
        .map_or(rest.len(), |(i, _)| i)
}

/// Words and bracketed forms standing for `@`.
const AT_WORDS: [&str; 4] = ["at", "arobase", "apenstaartje", "a"];
/// Words and bracketed forms standing for `.`.
const DOT_WORDS: [&str; 4] = ["dot", "punt", "point", "pt"];
/// Top-level domains accepted after an obfuscated address.
const KNOWN_TLDS: [&str; 24] = [
    "be", "com", "org", "net", "eu", "fr", "nl", "de", "lu", "uk", "info", "io", "ma", "tn", "dz", "it",
    "es", "ch", "int", "edu", "gov", "me", "biz", "co",
];

/// An obfuscated `@` or `.` read by [`marker_end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// The plain character (`@` surrounded by spaces, or `.`).
    Plain,
    /// A bracketed word: `(at)`, `[dot]`, `{at}`, `<punt>`.
    Bracketed,
    /// A bare word between spaces: ` at `, ` dot `.
    Word,
}

/// Reads an obfuscated `@` or `.` at `pos` and the spaces around it; returns
/// where the next part starts and which form was used.
fn marker_end(text: &str, pos: usize, words: &[&str], plain: char) -> Option<(usize, Marker)> {
    let inner = skip_spaces(text, pos);
    let open = char_at(text, inner)?;
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        _ if open == plain && plain == '.' => {
            // A real dot must be followed directly by the next label.
            let next = char_at(text, inner + 1).is_some_and(is_label_char);
            return (inner == pos && next).then_some((pos + 1, Marker::Plain));
        }
        _ if open == plain => return Some((skip_spaces(text, inner + 1), Marker::Plain)),
        _ => {
            // A bare word needs spaces on both sides.
            let word_end = letters_end(text, inner);
            let word = text.get(inner..word_end)?;
            let spaced = inner > pos && char_at(text, word_end).is_some_and(char::is_whitespace);
            return (spaced && word.len() > 1 && is_one_of(word, words))
                .then(|| (skip_spaces(text, word_end), Marker::Word));
        }
    };
    let word_start = skip_spaces(text, inner + 1);
    let word_end = letters_end(text, word_start);
    let word = text.get(word_start..word_end)?;
    let close_pos = skip_spaces(text, word_end);
    (is_one_of(word, words) && char_at(text, close_pos) == Some(close))
        .then(|| (skip_spaces(text, close_pos + 1), Marker::Bracketed))
}

/// Finds obfuscated addresses such as `jan (at) example (dot) be`.
fn find_obfuscated(text: &str, out: &mut Vec<Hit>) {
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let starts_local = is_local_char(bytes[pos]) && bytes[pos] != b'.' && at_word_start(text, pos);
        if !starts_local || (pos > 0 && is_local_char(bytes[pos - 1])) || char_before(text, pos) == Some('@')
        {
            pos += 1;
            continue;
        }
        let mut local_end = pos;
        while local_end < bytes.len() && is_local_char(bytes[local_end]) {
            local_end += 1;
        }
        match obfuscated_domain_end(text, local_end) {
            Some(end) => {
                out.push(Hit {
                    start: pos,
                    end,
                    kind: PersonalDataKind::EmailAddress,
                });
                pos = end;
            }
            None => pos = local_end,
        }
    }
}

/// After a local part ending at `pos`, reads an obfuscated `@` and a domain
/// ending in a well-known top-level domain; returns the end of the domain.
///
/// With a bare ` at ` the domain must use an obfuscated dot too, so that
/// "information at fedasil.be" is not taken for an address.
fn obfuscated_domain_end(text: &str, pos: usize) -> Option<usize> {
    if char_at(text, pos) == Some('@') {
        return None; // a plain address, found by `find_plain`
    }
    let (mut cursor, at_marker) = marker_end(text, pos, &AT_WORDS, '@')?;
    let mut obfuscated_dot = false;
    let mut best = None;
    for labels in 1..=6 {
        let end = label_end(text, cursor);
        let label = text.get(cursor..end)?;
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            break;
        }
        let dots_ok = at_marker != Marker::Word || obfuscated_dot;
        if labels >= 2
            && dots_ok
            && is_one_of(label, &KNOWN_TLDS)
            && !char_at(text, end).is_some_and(is_label_char)
        {
            best = Some(end);
        }
        let Some((next, dot_marker)) = marker_end(text, end, &DOT_WORDS, '.') else {
            break;
        };
        obfuscated_dot |= dot_marker != Marker::Plain;
        cursor = next;
    }
    best
}

/// The canonical key of a (folded) e-mail address as written, plain or
/// obfuscated the ways [`find`] understands: `local@domain.tld` in lower
/// case; `None` when `text` is not one address from end to end.
pub(super) fn canonical(text: &str) -> Option<String> {
    let text = text.trim();
    let local_end = text.bytes().position(|b| !is_local_char(b)).unwrap_or(text.len());
    let local = text.get(..local_end)?;
    if local.is_empty() || local.starts_with('.') || local.len() > 64 {
        return None;
    }
    let (mut cursor, _) = marker_end(text, local_end, &AT_WORDS, '@')?;
    let mut key = format!("{local}@");
    for labels in 1.. {
        let end = label_end(text, cursor);
        let label = text.get(cursor..end)?;
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            return None;
        }
        key.push_str(label);
        if end == text.len() {
            return (labels >= 2).then(|| key.to_lowercase());
        }
        let (next, _) = marker_end(text, end, &DOT_WORDS, '.')?;
        key.push('.');
        cursor = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<&str> {
        let mut hits = Vec::new();
        find(text, &mut hits);
        hits.sort_by_key(|h| h.start);
        hits.iter().map(|h| &text[h.start..h.end]).collect()
    }

    #[test]
    fn plain_addresses() {
        for address in [
            "jan.peeters@example.org",
            "Fatima.B+opvang@mail.example.be",
            "MOHAMED_77@EXAMPLE.COM",
            "a-b'c@sub.domain.example.net",
            "x@example.fr",
        ] {
            for note in [
                format!("mail: {address}."),
                format!("({address})"),
                format!("{address}, zie later"),
            ] {
                assert_eq!(emails(&note), [address], "{note}");
            }
        }
    }

    #[test]
    fn obfuscated_addresses() {
        for address in [
            "jan (at) example (dot) be",
            "jan[at]example.org",
            "jan at example dot be",
            "marie.dupont arobase example point fr",
            "piet apenstaartje example punt be",
            "amina(at)mail(dot)example(dot)org",
            "amina {at} example [dot] com",
        ] {
            let note = format!("Contact: {address} voor de afspraak");
            assert_eq!(emails(&note), [address], "{note}");
        }
    }

    #[test]
    fn canonical_keys() {
        for written in [
            "info@fedasil.be",
            "INFO@Fedasil.BE",
            "info (at) fedasil dot be",
            "info [at] fedasil (dot) be",
            "info at fedasil punt be",
            "info arobase fedasil point be",
            "info @ fedasil.be",
            "  info@fedasil.be ",
        ] {
            assert_eq!(
                canonical(written).as_deref(),
                Some("info@fedasil.be"),
                "{written}"
            );
        }
        assert_eq!(
            canonical("Onthaal.CAW+gent@mail.example.org").as_deref(),
            Some("onthaal.caw+gent@mail.example.org")
        );
        for not_an_address in [
            "",
            "info",
            "@fedasil.be",
            "info@fedasil",
            "info@fedasil.be.",
            "info@fedasil.be x",
            "mail info@fedasil.be",
            "info@-fedasil.be",
            ".info@fedasil.be",
        ] {
            assert_eq!(canonical(not_an_address), None, "{not_an_address}");
        }
    }

    #[test]
    fn not_addresses() {
        for note in [
            "Meeting at day centre dot 3",
            "met at Fedasil office, at 10.00",
            "@fedasil on twitter, @ 14u",
            "a@b, x@y.1, z@-example.org, @example.org",
            "we meet at the station at 10 at the latest",
            "meeting at 10.00 at the station",
            "a at b",
        ] {
            assert!(emails(note).is_empty(), "{note}: {:?}", emails(note));
        }
    }
}
