//! International Bank Account Numbers (ISO 13616).
//!
//! An IBAN is a two-letter country code, two check digits and a
//! country-specific BBAN, written compact (`BE71096123456769`) or in groups of
//! four (`BE71 0961 2345 6769`), in upper or lower case. A candidate must have
//! exactly the length registered for its country and pass the mod-97 check.
//! Separators (a space, a no-break space or a dash) are accepted only between
//! groups of four, and after the country code (`BE 71 …`).

use super::text::{at_word_end, at_word_start};
use super::{Hit, PersonalDataKind};

/// Finds IBANs in `text`.
pub(super) fn find(text: &str, out: &mut Vec<Hit>) {
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos + 4 <= bytes.len() {
        if bytes[pos].is_ascii_alphabetic() && at_word_start(text, pos) {
            if let Some(end) = iban_at(text, pos) {
                out.push(Hit {
                    start: pos,
                    end,
                    kind: PersonalDataKind::Iban,
                });
                pos = end;
                continue;
            }
        }
        pos += 1;
    }
}

/// Reads a valid IBAN starting at byte `start`, returning its end.
fn iban_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let country = [
        bytes.get(start)?.to_ascii_uppercase(),
        bytes.get(start + 1)?.to_ascii_uppercase(),
    ];
    let len = iban_length(&country)?;
    let mut iban = [0u8; 34];
    iban[..2].copy_from_slice(&country);
    let mut count = 2;
    let mut pos = start + 2;
    while count < len {
        let byte = *bytes.get(pos)?;
        if byte.is_ascii_alphanumeric() {
            iban[count] = byte.to_ascii_uppercase();
            count += 1;
            pos += 1;
            continue;
        }
        // A separator, only between groups and before an alphanumeric.
        if count % 4 != 0 && count != 2 {
            return None;
        }
        let sep_len = separator_len(&bytes[pos..])?;
        if !bytes.get(pos + sep_len)?.is_ascii_alphanumeric() {
            return None;
        }
        pos += sep_len;
    }
    let iban = &iban[..len];
    let valid = iban[2..4].iter().all(u8::is_ascii_digit)
        && iban[4..].iter().any(u8::is_ascii_digit)
        && at_word_end(text, pos)
        && mod97(iban) == Some(1);
    valid.then_some(pos)
}

/// Byte length of a separator at the start of `bytes`: a space, a dash, a
/// no-break space (U+00A0) or a narrow no-break space (U+202F).
fn separator_len(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b' ' | b'-', ..] => Some(1),
        [0xC2, 0xA0, ..] => Some(2),
        [0xE2, 0x80, 0xAF, ..] => Some(3),
        _ => None,
    }
}

/// The ISO 13616 remainder: the IBAN with its first four characters moved to
/// the end, letters replaced by 10–35, taken modulo 97. A valid IBAN gives 1.
/// `None` when a character is not an upper-case letter or a digit.
pub(super) fn mod97(iban: &[u8]) -> Option<u32> {
    let (head, tail) = iban.split_at(iban.len().min(4));
    tail.iter().chain(head).try_fold(0u32, |acc, &c| match c {
        b'0'..=b'9' => Some((acc * 10 + u32::from(c - b'0')) % 97),
        b'A'..=b'Z' => Some((acc * 100 + u32::from(c - b'A') + 10) % 97),
        _ => None,
    })
}

/// The IBAN length of a country (SWIFT IBAN registry, plus countries using
/// IBANs outside the registry such as Morocco and Algeria), or `None` for
/// codes that have no IBAN.
pub(super) fn iban_length(country: &[u8; 2]) -> Option<usize> {
    let len = match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" | b"SD" | b"FK" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" | b"MN" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"OM" | b"SO" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"LY" | b"PT" | b"ST" | b"AO" | b"CV" | b"GW" => 25,
        b"IS" | b"TR" | b"DZ" | b"IR" => 26,
        b"BI" | b"DJ" | b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" | b"CM" | b"CF" | b"CG" | b"GA"
        | b"GQ" | b"KM" | b"MG" | b"TD" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"NI" | b"PL" | b"SV" | b"MA"
        | b"BJ" | b"BF" | b"CI" | b"ML" | b"NE" | b"SN" | b"TG" | b"HN" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" | b"YE" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        b"RU" => 33,
        _ => return None,
    };
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibans(text: &str) -> Vec<&str> {
        let mut hits = Vec::new();
        find(text, &mut hits);
        hits.iter().map(|h| &text[h.start..h.end]).collect()
    }

    const VALID: [&str; 12] = [
        "BE71096123456769",
        "NL91ABNA0417164300",
        "FR1420041010050500013M02606",
        "DE89370400440532013000",
        "GB29NWBK60161331926819",
        "LU280019400644750000",
        "ES9121000418450200051332",
        "IT60X0542811101000000123456",
        "TR330006100519786457841326",
        "TN5910006035183598478831",
        "MA64011519000001205000534921",
        "NO9386011117947",
    ];

    #[test]
    fn mod97_of_known_ibans() {
        for iban in VALID {
            assert_eq!(mod97(iban.as_bytes()), Some(1), "{iban}");
            let country = [iban.as_bytes()[0], iban.as_bytes()[1]];
            assert_eq!(iban_length(&country), Some(iban.len()), "{iban}");
        }
        assert_eq!(mod97(b"BE71 0961"), None);
    }

    #[test]
    fn a_wrong_digit_is_rejected() {
        for iban in VALID {
            for i in 2..iban.len() {
                let mut bytes = iban.as_bytes().to_vec();
                if !bytes[i].is_ascii_digit() {
                    continue;
                }
                bytes[i] = if bytes[i] == b'9' { b'0' } else { bytes[i] + 1 };
                let wrong = String::from_utf8(bytes).unwrap();
                assert!(ibans(&format!("IBAN {wrong} ok")).is_empty(), "{wrong}");
            }
        }
    }

    #[test]
    fn compact_grouped_and_lower_case() {
        for iban in VALID {
            let grouped: Vec<String> = iban
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            for written in [
                iban.to_string(),
                grouped.join(" "),
                grouped.join(" ").to_lowercase(),
                grouped.join("\u{a0}"),
                grouped.join("-"),
                format!("{} {}", &iban[..2], &iban[2..]),
            ] {
                let note = format!("Rekening {written}, huur.");
                assert_eq!(ibans(&note), [written.as_str()], "{note}");
            }
        }
    }

    #[test]
    fn not_ibans() {
        for note in [
            "BE71 0961 2345 676",   // too short
            "BE71 0961 2345 67690", // too long
            "BE71096123456769x",    // glued
            "xBE71096123456769",    // glued
            "BE71 09 6123456769",   // separator inside a group
            "QQ71096123456769",     // no such country
            "BE7A096123456769",     // check digits must be digits
            "E40 richting Gent, A12, R0, tram 51, v3",
            "at10h30 in de stad met 12 mensen en nog eens",
        ] {
            assert!(ibans(note).is_empty(), "{note}");
        }
    }
}
