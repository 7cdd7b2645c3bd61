//! Device tokens and enrollment codes: how they are made, normalised and hashed. The database
//! holds only SHA-256 hashes of both, so a copy of it does not let anyone enroll or sync.

use outreach_core::model::DeviceId;
use outreach_core::sync::protocol::Role;
use sha2::{Digest, Sha256};

/// Symbols of enrollment codes: Crockford's base 32, without I, L, O and U, so that a code read
/// aloud or typed from paper is hard to get wrong.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in a code: 16 symbols of 5 bits, 80 random bits.
const CODE_SYMBOLS: usize = 16;

/// An enrolled device making a request, as its token identified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The device, the actor of all its changes.
    pub device: DeviceId,
    /// Its organisation's id.
    pub org: String,
    /// Its role.
    pub role: Role,
    /// Retired: it hands in what it holds, receives nothing new, and is told to delete its
    /// store.
    pub retired: bool,
}

/// A new device token: 256 random bits as 64 lower-case hex characters.
pub(crate) fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The stored form of a token; `None` if the text is not a token at all.
pub(crate) fn token_hash(token: &str) -> Option<[u8; 32]> {
    if token.len() != 64 {
        return None;
    }
    let bytes = hex::decode(token).ok()?;
    Some(Sha256::digest(bytes).into())
}

/// A new enrollment code, `K7QM-2XHD-9FPA-W3RT`: 80 random bits in four groups of four symbols.
pub(crate) fn new_code() -> String {
    let random: [u8; 10] = rand::random();
    let mut bits: u128 = 0;
    for b in random {
        bits = (bits << 8) | u128::from(b);
    }
    let mut out = String::with_capacity(CODE_SYMBOLS + 3);
    for i in 0..CODE_SYMBOLS {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let shift = 5 * (CODE_SYMBOLS - 1 - i);
        let index = ((bits >> shift) & 0x1f) as usize;
        out.push(char::from(CODE_ALPHABET[index]));
    }
    out
}

/// A code as typed, reduced to its 16 symbols: case, dashes and spaces do not matter, and the
/// letters O, I and L read as the digits they look like. `None` if it cannot be a code.
pub(crate) fn normalise_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_SYMBOLS);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_SYMBOLS).then_some(out)
}

/// The stored form of a code; `None` if the text cannot be a code.
pub(crate) fn code_hash(typed: &str) -> Option<[u8; 32]> {
    normalise_code(typed).map(|c| Sha256::digest(c.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typable_and_forgiving() {
        let code = new_code();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        let hash = code_hash(&code).unwrap();
        let sloppy = code
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(code_hash(&sloppy), Some(hash));
        assert_ne!(new_code(), code);
        assert_eq!(normalise_code("K7QM-2XHD-9FPA"), None, "too short");
        assert_eq!(normalise_code("K7QM-2XHD-9FPA-W3RU"), None, "U is not a symbol");
        assert_eq!(normalise_code("K7QM-2XHD-9FPA-W3RÉ"), None);
    }

    #[test]
    fn tokens_are_64_hex_characters() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        assert!(token_hash(&token).is_some());
        assert_ne!(new_token(), token);
        assert!(token_hash("short").is_none());
        assert!(token_hash(&"z".repeat(64)).is_none());
    }
}
