//! Property tests of [`scan_note`].

use proptest::prelude::*;

use super::iban::iban_length;
use super::{contact_key, scan_note, scan_note_allowing, PersonalDataKind, PersonalDataSpan};

/// Clean fragments of real-looking notes, in the three languages.
const CLEAN: [&str; 12] = [
    "Straatronde Gent-Sint-Pieters om 14u30, 6 mannen aangesproken.",
    "Infosessie vrijwillige terugkeer in 3500 Hasselt, 12 deelnemers.",
    "Doorverwezen naar CAW voor opvang; volgende afspraak op 28/11/2026.",
    "Maraude gare du Midi à 21h, 25 personnes, dont 3 mineurs.",
    "Permanence juridique le 5 décembre, rdv le 03.12 à 10h.",
    "Orienté vers Médecins du Monde, tram 51, arrêt Bourse.",
    "Soup kitchen Rue Haute 298a, about 40 people, 9-12u.",
    "Return desk: 2 families asked about IOM support, next meeting 2026-12-04.",
    "Since 2019 in Belgium, about 30 years old, referred to Fedasil.",
    "",
    "مرحبا — 👋 réunion à Liège, 1000 Brussel, B-6000 Charleroi.",
    "distributed 40 brochures (v3), € 250 for bus tickets, 45%.",
];

/// A valid national register or BIS number as eleven digits, with its kind.
fn register_number() -> impl Strategy<Value = (String, PersonalDataKind)> {
    (
        0u32..100,
        0u32..13,
        prop_oneof![Just(0u32), Just(20), Just(40)],
        0u32..32,
        1u32..999,
        any::<bool>(),
    )
        .prop_filter_map(
            "plausible date",
            |(year, month, offset, day, sequence, from_2000)| {
                let max_day = match month {
                    0 => 31,
                    2 => 29,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                if day > max_day {
                    return None;
                }
                let base = u64::from(year) * 10_000_000
                    + u64::from(month + offset) * 100_000
                    + u64::from(day) * 1000
                    + u64::from(sequence);
                let checked = if from_2000 { 2_000_000_000 + base } else { base };
                let check = 97 - checked % 97;
                let kind = if offset == 0 {
                    PersonalDataKind::NationalRegisterNumber
                } else {
                    PersonalDataKind::BisNumber
                };
                Some((format!("{base:09}{check:02}"), kind))
            },
        )
}

/// Writes eleven digits in one of the usual formats.
fn format_register_number(digits: &str, format: usize) -> String {
    let (yy, mm, dd, seq, cc) = (
        &digits[0..2],
        &digits[2..4],
        &digits[4..6],
        &digits[6..9],
        &digits[9..11],
    );
    match format % 6 {
        0 => format!("{yy}.{mm}.{dd}-{seq}.{cc}"),
        1 => digits.to_string(),
        2 => format!("{yy}{mm}{dd} {seq} {cc}"),
        3 => format!("{yy}.{mm}.{dd} {seq}-{cc}"),
        4 => format!("{yy}{mm}{dd}-{seq}-{cc}"),
        _ => format!("{yy} {mm} {dd} {seq} {cc}"),
    }
}

/// A valid IBAN (compact, upper case) of a random country.
fn iban() -> impl Strategy<Value = String> {
    const COUNTRIES: [&str; 16] = [
        "BE", "NL", "FR", "DE", "LU", "ES", "IT", "GB", "PT", "MA", "TN", "TR", "PL", "RO", "CH", "NO",
    ];
    (
        0..COUNTRIES.len(),
        proptest::collection::vec(0u8..36, 30),
        any::<bool>(),
    )
        .prop_map(|(country, chars, letters)| {
            let country = COUNTRIES[country];
            let code = [country.as_bytes()[0], country.as_bytes()[1]];
            let len = iban_length(&code).unwrap_or(16);
            let bban: String = chars[..len - 4]
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    // Some BBANs hold letters (bank codes); most are digits.
                    if letters && i < 4 && c >= 10 {
                        char::from(b'A' + (c - 10) % 26)
                    } else {
                        char::from(b'0' + c % 10)
                    }
                })
                .collect();
            let unchecked = format!("{country}00{bban}");
            let remainder = super::iban::mod97(unchecked.as_bytes()).unwrap_or(0);
            format!("{country}{:02}{bban}", 98 - remainder)
        })
}

/// Random filler words and punctuation (no digits), as found around
/// identifiers in notes.
fn filler() -> impl Strategy<Value = String> {
    "[a-zA-Zéèàçëïô ,;:!?()']{0,30}"
}

/// Context around an embedded value: two clean fragments (by index) and two
/// fillers.
type Context = (usize, String, String, usize);

fn context() -> impl Strategy<Value = Context> {
    (0..CLEAN.len(), filler(), filler(), 0..CLEAN.len())
}

/// Embeds `value` in clean text; returns the note and the value's byte range.
fn embed((prefix, left, right, suffix): &Context, value: &str) -> (String, usize, usize) {
    let head = format!("{} {left} ", CLEAN[*prefix]);
    let note = format!("{head}{value} {right} {}", CLEAN[*suffix]);
    (note, head.len(), head.len() + value.len())
}

/// A Belgian mobile number (ten digits starting with 04) in one of the usual
/// formats.
fn mobile_number() -> impl Strategy<Value = String> {
    (70u32..100, 0u32..1_000_000, 0usize..5).prop_map(|(prefix, rest, format)| {
        let d = format!("04{prefix:02}{rest:06}");
        let (a, b, c, e) = (&d[0..4], &d[4..6], &d[6..8], &d[8..10]);
        match format {
            0 => format!("{a} {b} {c} {e}"),
            1 => format!("{a}/{b}.{c}.{e}"),
            2 => d.clone(),
            3 => format!("{} {} {b} {c} {e}", &d[0..2], &d[2..4]),
            _ => format!("+32 {} {b} {c} {e}", &d[1..4]),
        }
    })
}

/// Zeros of some digit scripts a phone keyboard or a tamperer may use:
/// ASCII, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali,
/// full-width, mathematical bold.
const DIGIT_ZEROS: [u32; 7] = [0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xFF10, 0x1D7CE];

/// Spaces that fold to a plain space.
const SPACES: [char; 6] = [' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}', '\u{3000}'];

/// Rewrites an ASCII phone number with look-alikes: the digits of the
/// script of `DIGIT_ZEROS[script]`, odd spaces, full-width or small
/// punctuation, and optionally an invisible character after each group.
fn disguise(number: &str, script: usize, space: usize, full_width: bool, invisible: bool) -> String {
    let zero = DIGIT_ZEROS[script % DIGIT_ZEROS.len()];
    let mut out = String::new();
    let mut chars = number.chars().peekable();
    while let Some(c) = chars.next() {
        let disguised = match c {
            '0'..='9' => char::from_u32(zero + u32::from(c) - u32::from('0')).unwrap_or(c),
            ' ' => SPACES[space % SPACES.len()],
            '.' if full_width => '．',
            '/' if full_width => '／',
            '+' if full_width => '＋',
            '-' if full_width => '‑',
            _ => c,
        };
        out.push(disguised);
        let group_ends = c.is_ascii_digit() && chars.peek().is_some_and(|n| !n.is_ascii_digit());
        if invisible && group_ends {
            out.push('\u{200b}');
        }
    }
    out
}

/// A phone number, as ASCII text, in the form a directory holds it.
fn partner_number() -> impl Strategy<Value = String> {
    (1u32..10, 1_000_000u32..10_000_000, 0usize..4).prop_map(|(zone, rest, format)| {
        let rest = format!("{rest:07}");
        let (a, b, c) = (&rest[0..3], &rest[3..5], &rest[5..7]);
        match format {
            0 => format!("0{zone} {a} {b} {c}"),
            1 => format!("0{zone}/{a}.{b}.{c}"),
            2 => format!("+32 {zone} {a} {b} {c}"),
            _ => format!("0032 (0){zone} {a}{b}{c}"),
        }
    })
}

/// The spans of `text` as character (not byte) offsets, with their kinds.
fn char_spans(text: &str, spans: &[PersonalDataSpan]) -> Vec<(usize, usize, PersonalDataKind)> {
    spans
        .iter()
        .map(|s| {
            (
                text[..s.start].chars().count(),
                text[..s.end].chars().count(),
                s.kind,
            )
        })
        .collect()
}

/// Whether some span, of any kind, covers `start..end`: the text there is refused.
fn refused(spans: &[PersonalDataSpan], start: usize, end: usize) -> bool {
    spans.iter().any(|s| s.start <= start && end <= s.end)
}

fn covered(spans: &[PersonalDataSpan], start: usize, end: usize, kind: PersonalDataKind) -> bool {
    spans
        .iter()
        .any(|s| s.start <= start && end <= s.end && s.kind == kind)
}

fn check_invariants(text: &str, spans: &[PersonalDataSpan]) -> Result<(), TestCaseError> {
    let mut previous_end = 0;
    for span in spans {
        prop_assert!(span.start < span.end);
        prop_assert!(previous_end <= span.start, "spans overlap or are out of order");
        prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        prop_assert!(span.end <= text.len());
        prop_assert_eq!(span.start_utf16, text[..span.start].encode_utf16().count());
        prop_assert_eq!(span.end_utf16, text[..span.end].encode_utf16().count());
        previous_end = span.end;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn clean_fragments_are_clean(a in 0usize..12, b in 0usize..12) {
        let note = format!("{} {}", CLEAN[a], CLEAN[b]);
        prop_assert!(scan_note(&note).is_empty(), "{:?}", scan_note(&note));
    }

    #[test]
    fn valid_register_numbers_are_found(
        (digits, kind) in register_number(),
        format in 0usize..6,
        context in context(),
    ) {
        let written = format_register_number(&digits, format);
        let (note, start, end) = embed(&context, &written);
        let spans = scan_note(&note);
        prop_assert!(covered(&spans, start, end, kind), "{note}: {spans:?}");
    }

    #[test]
    fn valid_ibans_are_found(
        iban in iban(),
        grouped in any::<bool>(),
        lower in any::<bool>(),
        context in context(),
    ) {
        let mut written = if grouped {
            iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
        } else {
            iban.clone()
        };
        if lower {
            written = written.to_lowercase();
        }
        let (note, start, end) = embed(&context, &written);
        let spans = scan_note(&note);
        prop_assert!(covered(&spans, start, end, PersonalDataKind::Iban), "{note}: {spans:?}");
    }

    #[test]
    fn mobile_numbers_are_found(number in mobile_number(), context in context()) {
        let (note, start, end) = embed(&context, &number);
        let spans = scan_note(&note);
        prop_assert!(covered(&spans, start, end, PersonalDataKind::PhoneNumber), "{note}: {spans:?}");
    }

    #[test]
    fn clean_text_with_fillers_is_clean(context in context()) {
        let (note, _, _) = embed(&context, "");
        prop_assert!(scan_note(&note).is_empty(), "{note}: {:?}", scan_note(&note));
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        let spans = scan_note(&text);
        check_invariants(&text, &spans)?;
    }

    #[test]
    fn number_soup_never_panics(text in "[0-9 +./()@:°a-zA-Zéè,–-]{0,300}") {
        let spans = scan_note(&text);
        check_invariants(&text, &spans)?;
    }

    #[test]
    fn disguised_mobile_numbers_are_found(
        number in mobile_number(),
        script in 0usize..DIGIT_ZEROS.len(),
        space in 0usize..SPACES.len(),
        full_width in any::<bool>(),
        invisible in any::<bool>(),
        context in context(),
    ) {
        let written = disguise(&number, script, space, full_width, invisible);
        let (note, start, end) = embed(&context, &written);
        let spans = scan_note(&note);
        check_invariants(&note, &spans)?;
        prop_assert!(covered(&spans, start, end, PersonalDataKind::PhoneNumber), "{note:?}: {spans:?}");
        // The span ends on the number's last digit, not on what follows it.
        prop_assert!(spans.iter().any(|s| s.end == end), "{note:?}: {spans:?}");
    }

    #[test]
    fn other_scripts_give_the_same_spans_as_ascii(
        text in "[0-9 +./()@:a-zA-Zé°,-]{0,200}",
        script in 1usize..DIGIT_ZEROS.len(),
    ) {
        // Every character of `text` keeps its place once disguised, so the
        // spans must sit on the same characters.
        let disguised = disguise(&text, script, 0, false, false);
        let spans = scan_note(&disguised);
        check_invariants(&disguised, &spans)?;
        prop_assert_eq!(
            char_spans(&disguised, &spans),
            char_spans(&text, &scan_note(&text)),
            "{:?}", disguised
        );
    }

    #[test]
    fn lookalike_soup_never_panics(
        text in "[0-9٠-٩۰-۹०-९０-９𝟎-𝟗 ＋＠．／（）﹫\u{a0}\u{202f}\u{200b}\u{200e}\u{2066}\u{feff}\u{ad}‐-―−+./()@:a-zé°,-]{0,300}",
    ) {
        let spans = scan_note(&text);
        check_invariants(&text, &spans)?;
        prop_assert_eq!(&spans, &scan_note_allowing(&text, &|_, _| false));
        let allowing_all = scan_note_allowing(&text, &|_, _| true);
        check_invariants(&text, &allowing_all)?;
        for span in &allowing_all {
            prop_assert!(
                !matches!(span.kind, PersonalDataKind::PhoneNumber | PersonalDataKind::EmailAddress),
                "{text:?}: {allowing_all:?}"
            );
        }
    }

    #[test]
    fn partner_numbers_are_allowed_in_any_writing(
        number in partner_number(),
        other_format in partner_number(),
        script in 0usize..DIGIT_ZEROS.len(),
        full_width in any::<bool>(),
        context in context(),
    ) {
        let key = contact_key(PersonalDataKind::PhoneNumber, &number);
        prop_assert!(key.is_some(), "{number}");
        let key = key.unwrap_or_default();
        // The key is canonical: it is its own key.
        prop_assert_eq!(contact_key(PersonalDataKind::PhoneNumber, &key), Some(key.clone()));
        let written = disguise(&number, script, 0, full_width, false);
        prop_assert_eq!(contact_key(PersonalDataKind::PhoneNumber, &written), Some(key.clone()));
        let (note, start, end) = embed(&context, &written);
        prop_assert!(refused(&scan_note(&note), start, end), "{note:?}");
        let allowed = |kind: PersonalDataKind, k: &str| kind == PersonalDataKind::PhoneNumber && k == key;
        // The partner's number is never refused as a phone number. Digits around it may still
        // read, with it, as something else (after a date, "2026. 02 405 69 00" can pass as a
        // register number's eleven digits and checksum): that refusal reaches past the number.
        let spans = scan_note_allowing(&note, &allowed);
        prop_assert!(
            spans.iter().all(|s| s.kind != PersonalDataKind::PhoneNumber && (s.start < start || s.end > end)),
            "{note:?}: {spans:?}"
        );
        // Another number stays refused, as a phone number or as what it forms with its
        // neighbours.
        let other = contact_key(PersonalDataKind::PhoneNumber, &other_format);
        if other.as_deref() != Some(key.as_str()) {
            let (note, start, end) = embed(&context, &other_format);
            let spans = scan_note_allowing(&note, &allowed);
            prop_assert!(refused(&spans, start, end), "{note:?}");
        }
    }

    #[test]
    fn spans_survive_surrounding_unicode(
        (digits, kind) in register_number(),
        left in "\\PC{0,20}",
        right in "\\PC{0,20}",
    ) {
        let text = format!("{left} {digits} {right}");
        let spans = scan_note(&text);
        check_invariants(&text, &spans)?;
        let start = left.len() + 1;
        prop_assert!(covered(&spans, start, start + digits.len(), kind), "{text:?}: {spans:?}");
    }
}

/// Found by `partner_numbers_are_allowed_in_any_writing`: a landline written after a date reads,
/// with the year, as a register number. It is refused all the same, and the partner's own
/// number written there is not refused as a phone number.
#[test]
fn a_number_after_a_date_is_refused_even_when_it_reads_as_a_register_number() {
    let note = "Doorverwezen naar CAW; volgende afspraak op 28/11/2026.  02 405 69 00  Straatronde";
    let start = note.find("02 405").unwrap_or_default();
    let end = start + "02 405 69 00".len();
    assert!(refused(&scan_note(note), start, end), "{:?}", scan_note(note));
    let key = contact_key(PersonalDataKind::PhoneNumber, "02 405 69 00").unwrap_or_default();
    let allowed = |kind: PersonalDataKind, k: &str| kind == PersonalDataKind::PhoneNumber && k == key;
    let spans = scan_note_allowing(note, &allowed);
    assert!(
        spans.iter().all(|s| s.kind != PersonalDataKind::PhoneNumber),
        "{spans:?}"
    );
}
