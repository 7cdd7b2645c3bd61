//! The store key: 64 hex characters from `OUTREACH_KEY` or from a key file that only its owner
//! can read. The key is never printed, not even in part.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use outreach_core::StoreKey;

use crate::error::{CliError, CliResult};

/// Environment variable holding the key as 64 hex characters.
pub const KEY_ENV: &str = "OUTREACH_KEY";

/// Loads the key from `key_file` if one is given, else from [`KEY_ENV`].
pub fn load(key_file: Option<&Path>) -> CliResult<StoreKey> {
    if let Some(path) = key_file {
        return read_file(path);
    }
    match std::env::var_os(KEY_ENV) {
        Some(value) if !value.is_empty() => {
            let text = value
                .into_string()
                .map_err(|_| CliError::msg(format!("{KEY_ENV} must hold 64 hex characters")))?;
            parse_hex(&text, KEY_ENV)
        }
        _ => Err(CliError::msg(format!(
            "no key given: set {KEY_ENV} to the store's 64-hex-character key or pass --key-file PATH"
        ))),
    }
}

/// Reads a key file, refusing one that group or others may read.
pub fn read_file(path: &Path) -> CliResult<StoreKey> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| CliError::msg(format!("cannot open key file {shown}: {e}")))?;
    check_private(&file, path)?;
    let text = std::io::read_to_string(file)
        .map_err(|e| CliError::msg(format!("cannot read key file {shown}: {e}")))?;
    parse_hex(&text, &format!("key file {shown}"))
}

/// Fails unless only the owner can read or write the file.
#[cfg(unix)]
fn check_private(file: &File, path: &Path) -> CliResult<()> {
    use std::os::unix::fs::PermissionsExt;

    let mode = file
        .metadata()
        .map_err(|e| CliError::msg(format!("cannot read key file {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CliError::msg(format!(
            "key file {0} is accessible by group or others (mode {1:04o}); run `chmod 600 {0}`",
            path.display(),
            mode & 0o7777
        )));
    }
    Ok(())
}

/// Other systems have no mode bits to check.
#[cfg(not(unix))]
fn check_private(_file: &File, _path: &Path) -> CliResult<()> {
    Ok(())
}

/// Parses 64 hex characters, surrounding whitespace allowed; `source` names where they came
/// from in the error, which never repeats the text.
fn parse_hex(text: &str, source: &str) -> CliResult<StoreKey> {
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CliError::msg(format!(
            "{source} must hold exactly 64 hex characters"
        )));
    }
    Ok(StoreKey::from_hex(hex)?)
}

/// Writes a new random key to `path`, created with mode 0600; refuses an existing file.
pub fn generate(path: &Path) -> CliResult<StoreKey> {
    let shown = path.display();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CliError::msg(format!(
            "key file {shown} already exists; refusing to overwrite it"
        )),
        _ => CliError::msg(format!("cannot create key file {shown}: {e}")),
    })?;
    let key = StoreKey::random();
    let written = file
        .write_all(format!("{}\n", to_hex(&key)).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(CliError::msg(format!("cannot write key file {shown}: {e}")));
    }
    Ok(key)
}

/// The key as 64 lower-case hex characters.
fn to_hex(key: &StoreKey) -> String {
    key.as_bytes().iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_bad_text_is_refused_without_echo() {
        let key = StoreKey::random();
        let hex = to_hex(&key);
        assert_eq!(hex.len(), 64);
        let parsed = parse_hex(&format!("  {hex}\n"), "test").unwrap();
        assert_eq!(parsed.as_bytes(), key.as_bytes());
        let err = parse_hex(&hex[..62], "test").unwrap_err().to_string();
        assert_eq!(err, "test must hold exactly 64 hex characters");
        let err = parse_hex(&format!("{}zz", &hex[..62]), "test")
            .unwrap_err()
            .to_string();
        assert!(!err.contains(&hex[..62]));
    }
}
