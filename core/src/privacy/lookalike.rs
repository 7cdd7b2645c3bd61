//! Look-alike characters, folded before scanning.
//!
//! A phone keyboard set to Arabic or Persian types `٠٤٧٠ ١٢ ٣٤ ٥٦`, an
//! East Asian input method types `０４７０` or `jan＠example．org`, a copy
//! from a contact card brings no-break spaces and invisible direction marks,
//! and a tamperer can do all of this on purpose. The detectors read ASCII
//! digits and punctuation, so the note is first folded to what a reader
//! sees:
//!
//! * every decimal digit of any script (Unicode category Nd) becomes its
//!   ASCII digit;
//! * the full-width forms of ASCII (U+FF01–FF5E) become ASCII, the
//!   ideographic space becomes a space;
//! * other spaces (no-break, narrow, thin, figure, …) become a space;
//! * hyphens, dashes and minus signs become `-`; small and full-width `@`,
//!   `+`, `.`, `,`, `(`, `)` and the fraction and division slashes become
//!   their ASCII form; the Arabic decimal separator becomes `.`, the Arabic
//!   comma and thousands separator `,`;
//! * invisible characters (zero-width spaces and joiners, direction marks
//!   and embeddings, soft hyphens, byte-order marks) are dropped.
//!
//! Each original character gives at most one folded character, and an offset
//! map leads every folded byte back to the original character it came from,
//! so that spans found in the folded text are reported in the original.

use std::borrow::Cow;

/// What folding does with one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    /// The character is kept as it is.
    Keep,
    /// The character is replaced.
    To(char),
    /// The character is invisible and dropped.
    Drop,
}

/// A note folded for scanning, with the way back to the original offsets.
pub(super) struct Normalized<'t> {
    /// The note as written.
    original: &'t str,
    /// The folded note (borrowed when nothing needed folding).
    folded: Cow<'t, str>,
    /// For each byte of `folded`, the byte offset in `original` of the
    /// character it came from; empty when nothing was folded.
    origin: Vec<usize>,
}

impl<'t> Normalized<'t> {
    /// Folds `original`, in time linear in its length.
    pub(super) fn new(original: &'t str) -> Self {
        let unchanged = original.is_ascii() || original.chars().all(|c| fold(c) == Fold::Keep);
        if unchanged {
            return Normalized {
                original,
                folded: Cow::Borrowed(original),
                origin: Vec::new(),
            };
        }
        let mut folded = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        for (i, c) in original.char_indices() {
            let out = match fold(c) {
                Fold::Keep => c,
                Fold::To(replacement) => replacement,
                Fold::Drop => continue,
            };
            folded.push(out);
            origin.resize(folded.len(), i);
        }
        Normalized {
            original,
            folded: Cow::Owned(folded),
            origin,
        }
    }

    /// The folded text, for the detectors.
    pub(super) fn as_str(&self) -> &str {
        &self.folded
    }

    /// The original offset of a span starting at folded offset `pos`: the
    /// start of the original character the folded one came from (always a
    /// `char` boundary of the original).
    pub(super) fn start_in_original(&self, pos: usize) -> usize {
        if self.origin.is_empty() {
            return self.floor_boundary(pos);
        }
        self.origin.get(pos).copied().unwrap_or(self.original.len())
    }

    /// The original offset of a span ending at folded offset `pos`
    /// (exclusive): the end of the original character the last folded
    /// character came from, so that dropped invisible characters after it
    /// stay outside the span.
    pub(super) fn end_in_original(&self, pos: usize) -> usize {
        if self.origin.is_empty() {
            return self.ceil_boundary(pos);
        }
        let mut last = pos.min(self.folded.len());
        if last == 0 {
            return self.start_in_original(0).min(self.original.len());
        }
        last -= 1;
        while last > 0 && !self.folded.is_char_boundary(last) {
            last -= 1;
        }
        let start = self.origin.get(last).copied().unwrap_or(self.original.len());
        let len = self
            .original
            .get(start..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        start + len
    }

    /// `pos` moved down to a `char` boundary of the original, for callers
    /// that pass an offset inside a character.
    fn floor_boundary(&self, pos: usize) -> usize {
        let mut pos = pos.min(self.original.len());
        while pos > 0 && !self.original.is_char_boundary(pos) {
            pos -= 1;
        }
        pos
    }

    /// `pos` moved up to a `char` boundary of the original.
    fn ceil_boundary(&self, pos: usize) -> usize {
        let mut pos = pos.min(self.original.len());
        while !self.original.is_char_boundary(pos) {
            pos += 1;
        }
        pos
    }
}

/// Folds `text` and returns the folded text only.
pub(super) fn fold_text(text: &str) -> Cow<'_, str> {
    Normalized::new(text).folded
}

/// How one character is folded.
fn fold(c: char) -> Fold {
    if c.is_ascii() {
        return Fold::Keep;
    }
    let to = match c {
        // Full-width ASCII: "０", "＠", "．", "Ａ", …
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0),
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => Some(' '),
        '\u{2010}'..='\u{2015}' | '\u{2043}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => Some('-'),
        '\u{FE6B}' => Some('@'),
        '\u{FE62}' => Some('+'),
        '\u{FE52}' | '\u{2024}' | '\u{3002}' | '\u{FF61}' | '\u{066B}' => Some('.'),
        '\u{FE50}' | '\u{060C}' | '\u{066C}' => Some(','),
        '\u{2044}' | '\u{2215}' => Some('/'),
        '\u{FE59}' => Some('('),
        '\u{FE5A}' => Some(')'),
        '\u{00AD}'
        | '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' => return Fold::Drop,
        _ => decimal_digit(c).map(|d| char::from(b'0' + d)),
    };
    to.map_or(Fold::Keep, Fold::To)
}

/// The value of a decimal digit of any script (Unicode category Nd), or
/// `None` for any other character.
fn decimal_digit(c: char) -> Option<u8> {
    let cp = u32::from(c);
    let next = DIGIT_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = DIGIT_ZEROS.get(next.checked_sub(1)?)?;
    u8::try_from(cp - zero).ok().filter(|d| *d < 10)
}

/// The code point of the digit zero of every run of decimal digits (Unicode
/// category Nd, up to Unicode 17), sorted: each run holds the ten digits 0–9
/// in order, so a digit's value is its distance from its run's zero.
const DIGIT_ZEROS: [u32; 77] = [
    0x0030,  // ASCII
    0x0660,  // Arabic-Indic
    0x06F0,  // Extended Arabic-Indic (Persian, Urdu)
    0x07C0,  // NKo
    0x0966,  // Devanagari
    0x09E6,  // Bengali
    0x0A66,  // Gurmukhi
    0x0AE6,  // Gujarati
    0x0B66,  // Oriya
    0x0BE6,  // Tamil
    0x0C66,  // Telugu
    0x0CE6,  // Kannada
    0x0D66,  // Malayalam
    0x0DE6,  // Sinhala Lith
    0x0E50,  // Thai
    0x0ED0,  // Lao
    0x0F20,  // Tibetan
    0x1040,  // Myanmar
    0x1090,  // Myanmar Shan
    0x17E0,  // Khmer
    0x1810,  // Mongolian
    0x1946,  // Limbu
    0x19D0,  // New Tai Lue
    0x1A80,  // Tai Tham Hora
    0x1A90,  // Tai Tham Tham
    0x1B50,  // Balinese
    0x1BB0,  // Sundanese
    0x1C40,  // Lepcha
    0x1C50,  // Ol Chiki
    0xA620,  // Vai
    0xA8D0,  // Saurashtra
    0xA900,  // Kayah Li
    0xA9D0,  // Javanese
    0xA9F0,  // Myanmar Tai Laing
    0xAA50,  // Cham
    0xABF0,  // Meetei Mayek
    0xFF10,  // Full-width
    0x104A0, // Osmanya
    0x10D30, // Hanifi Rohingya
    0x10D40, // Garay
    0x11066, // Brahmi
    0x110F0, // Sora Sompeng
    0x11136, // Chakma
    0x111D0, // Sharada
    0x112F0, // Khudawadi
    0x11450, // Newa
    0x114D0, // Tirhuta
    0x11650, // Modi
    0x116C0, // Takri
    0x116D0, // Myanmar Pao
    0x116DA, // Myanmar Eastern Pwo Karen
    0x11730, // Ahom
    0x118E0, // Warang Citi
    0x11950, // Dives Akuru
    0x11BF0, // Sunuwar
    0x11C50, // Bhaiksuki
    0x11D50, // Masaram Gondi
    0x11DA0, // Gunjala Gondi
    0x11DE0, // Tolong Siki
    0x11F50, // Kawi
    0x16130, // Gurung Khema
    0x16A60, // Mro
    0x16AC0, // Tangsa
    0x16B50, // Pahawh Hmong
    0x16D70, // Kirat Rai
    0x1CCF0, // Outlined digits
    0x1D7CE, // Mathematical bold
    0x1D7D8, // Mathematical double-struck
    0x1D7E2, // Mathematical sans-serif
    0x1D7EC, // Mathematical sans-serif bold
    0x1D7F6, // Mathematical monospace
    0x1E140, // Nyiakeng Puachue Hmong
    0x1E2F0, // Wancho
    0x1E4F0, // Nag Mundari
    0x1E5F1, // Ol Onal
    0x1E950, // Adlam
    0x1FBF0, // Segmented digits
];

#[cfg(test)]
mod tests {
    use super::super::{scan_note, PersonalDataKind};
    use super::*;

    fn folded(text: &str) -> String {
        Normalized::new(text).as_str().to_string()
    }

    #[test]
    fn digit_table_is_sorted_and_every_run_is_numeric() {
        for pair in DIGIT_ZEROS.windows(2) {
            assert!(pair[0] + 10 <= pair[1], "{:X} {:X}", pair[0], pair[1]);
        }
        for zero in DIGIT_ZEROS {
            for value in 0..10u8 {
                let c = char::from_u32(zero + u32::from(value)).unwrap();
                assert!(c.is_numeric(), "U+{:X}", u32::from(c));
                assert_eq!(decimal_digit(c), Some(value), "U+{:X}", u32::from(c));
            }
        }
    }

    #[test]
    fn digits_of_every_script() {
        for (text, expected) in [
            ("٠٤٧٠ ١٢ ٣٤ ٥٦", "0470 12 34 56"),
            ("۰۴۷۰ ۱۲ ۳۴ ۵۶", "0470 12 34 56"),
            ("०४७० १२ ३४ ५६", "0470 12 34 56"),
            ("０４７０ １２ ３４ ５６", "0470 12 34 56"),
            ("𝟎𝟒𝟕𝟎 ১২ ๓๔ ߅߆", "0470 12 34 56"),
        ] {
            assert_eq!(folded(text), expected, "{text}");
        }
        // Superscripts, circled numbers, fractions and letters are not digits.
        for c in ['²', '①', '½', 'Ⅻ', 'a', 'é', '〇'] {
            assert_eq!(decimal_digit(c), None, "{c}");
        }
    }

    #[test]
    fn punctuation_spaces_and_invisible_characters() {
        assert_eq!(folded("jan＠example．org"), "jan@example.org");
        assert_eq!(folded("jan﹫example。org"), "jan@example.org");
        assert_eq!(folded("＋３２ (0)470"), "+32 (0)470");
        assert_eq!(
            folded("0470\u{a0}12\u{202f}34\u{2009}56\u{2007}7"),
            "0470 12 34 56 7"
        );
        assert_eq!(folded("0470‐12‑34–56—7−8﹣9－0"), "0470-12-34-56-7-8-9-0");
        assert_eq!(
            folded("0470\u{200b}12\u{200e}34\u{2066}56\u{feff}\u{ad}"),
            "0470123456"
        );
        assert_eq!(folded("٢٥٫٥٠ €، ١٬٠٠٠"), "25.50 €, 1,000");
        assert_eq!(folded("0470⁄12∕34"), "0470/12/34");
        // Letters, accents and other punctuation stay as they are.
        assert_eq!(folded("né·e à Liège, «oui» ‘x’"), "né·e à Liège, «oui» ‘x’");
        assert_eq!(folded("مرحبا 👋"), "مرحبا 👋");
    }

    #[test]
    fn offsets_lead_back_to_the_original() {
        let text = "tel ٠٤٧٠\u{200b} ١٢ x";
        let normalized = Normalized::new(text);
        let folded = normalized.as_str();
        assert_eq!(folded, "tel 0470 12 x");
        let start = folded.find('0').unwrap();
        let end = folded.find(" x").unwrap();
        let (o_start, o_end) = (
            normalized.start_in_original(start),
            normalized.end_in_original(end),
        );
        assert_eq!(&text[o_start..o_end], "٠٤٧٠\u{200b} ١٢");
        // A span ending right before a dropped character leaves it out.
        let end_0470 = start + 4;
        assert_eq!(&text[o_start..normalized.end_in_original(end_0470)], "٠٤٧٠");
        // Offsets past the end or inside a character stay on boundaries.
        assert_eq!(normalized.start_in_original(folded.len()), text.len());
        assert_eq!(normalized.end_in_original(folded.len() + 5), text.len());
        assert_eq!(normalized.end_in_original(0), 0);
        let plain = Normalized::new("é");
        assert_eq!(plain.start_in_original(1), 0);
        assert_eq!(plain.end_in_original(1), 2);
        assert_eq!(plain.end_in_original(2), 2);
    }

    #[test]
    fn notes_are_scanned_folded_and_spans_point_into_the_original() {
        for (note, written, kind) in [
            (
                "gsm ٠٤٧٠ ١٢ ٣٤ ٥٦, rappeler",
                "٠٤٧٠ ١٢ ٣٤ ٥٦",
                PersonalDataKind::PhoneNumber,
            ),
            (
                "gsm ۰۴۷۰ ۱۲ ۳۴ ۵۶, rappeler",
                "۰۴۷۰ ۱۲ ۳۴ ۵۶",
                PersonalDataKind::PhoneNumber,
            ),
            (
                "gsm ०४७० १२ ३४ ५६, rappeler",
                "०४७० १२ ३४ ५६",
                PersonalDataKind::PhoneNumber,
            ),
            (
                "gsm ０４７０ １２ ３４ ５６, rappeler",
                "０４７０ １２ ３４ ５６",
                PersonalDataKind::PhoneNumber,
            ),
            (
                "tel ＋３２ ４７０ １２ ３４ ５６.",
                "＋３２ ４７０ １２ ３４ ５６",
                PersonalDataKind::PhoneNumber,
            ),
            (
                "mail jan＠example．org voor info",
                "jan＠example．org",
                PersonalDataKind::EmailAddress,
            ),
            (
                "IBAN ＢＥ７１ ０９６１ ２３４５ ６７６９ ok",
                "ＢＥ７１ ０９６１ ２３４５ ６７６９",
                PersonalDataKind::Iban,
            ),
            (
                "né le ٥ juin ١٩٩٢ à Liège",
                "né le ٥ juin ١٩٩٢",
                PersonalDataKind::BirthDate,
            ),
            (
                "gsm \u{2066}0470\u{a0}12\u{200b}34 56\u{2069}.",
                "0470\u{a0}12\u{200b}34 56",
                PersonalDataKind::PhoneNumber,
            ),
        ] {
            let spans = scan_note(note);
            assert_eq!(spans.len(), 1, "{note}: {spans:?}");
            let span = &spans[0];
            assert_eq!(span.kind, kind, "{note}");
            assert_eq!(&note[span.start..span.end], written, "{note}");
            assert_eq!(span.start_utf16, note[..span.start].encode_utf16().count());
            assert_eq!(span.end_utf16, note[..span.end].encode_utf16().count());
        }
        // Non-ASCII digits in clean notes stay clean.
        for note in [
            "٢٥ شخصا، الموعد القادم ٢٨/١١/٢٠٢٦ الساعة ١٤:٣٠",
            "۱۲ نفر، ساعت ۱۰:۳۰، کد پستی ۱۰۰۰",
            "２０ personnes, salle ３, le ０７.１１.２０２６ à １４.３０",
        ] {
            let spans = scan_note(note);
            assert!(spans.is_empty(), "{note}: {spans:?}");
        }
    }

    #[test]
    fn ascii_text_is_borrowed() {
        assert!(matches!(
            Normalized::new("0470 12 34 56").folded,
            Cow::Borrowed(_)
        ));
        assert!(matches!(Normalized::new("né à Liège").folded, Cow::Borrowed(_)));
        assert!(matches!(Normalized::new("０").folded, Cow::Owned(_)));
        assert_eq!(fold_text("１"), "1");
    }
}
