//! Text folding for search: lower case, accents and other combining marks removed, a few
//! letters spelled out, Arabic letter variants unified, so that "Liege" finds "Liège", "oeuvre"
//! finds "Œuvre" and a query typed without vowel marks finds vocalised Arabic.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Folds text for indexing and querying.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'ß' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'đ' | 'Đ' => out.push('d'),
            'ł' | 'Ł' => out.push('l'),
            'ı' => out.push('i'),
            // Arabic: hamza carriers and alef variants to bare alef, teh marbuta to heh, alef
            // maksura to yeh, tatweel dropped.
            'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
            'ة' => out.push('ه'),
            'ى' => out.push('ي'),
            'ـ' => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Splits folded text into search tokens (letters and digits).
pub fn tokens(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// An FTS5 query that matches every token of `input` as a prefix (typing "lie" finds "Liège").
/// `None` when the input has no token.
pub fn prefix_query(input: &str) -> Option<String> {
    let folded = fold(input);
    let parts: Vec<String> = tokens(&folded).take(12).map(|t| format!("\"{t}\"*")).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_ligatures_and_case() {
        assert_eq!(fold("Liège"), "liege");
        assert_eq!(fold("ŒUVRE Straße"), "oeuvre strasse");
        assert_eq!(fold("Sint-Jans-Molenbeek"), "sint-jans-molenbeek");
        assert_eq!(fold("مُسَاعَدَة"), "مساعده");
        assert_eq!(fold("إستشارة قانونية"), "استشاره قانونيه");
    }

    #[test]
    fn builds_prefix_queries() {
        assert_eq!(prefix_query("  Liè ").unwrap(), "\"lie\"*");
        assert_eq!(prefix_query("aide juri").unwrap(), "\"aide\"* \"juri\"*");
        assert!(prefix_query(" - ").is_none());
        assert_eq!(prefix_query("a\"b").unwrap(), "\"a\"* \"b\"*");
    }
}
