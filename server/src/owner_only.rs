//! Files and directories that only their owner may read: the data directory and `blobs/` are
//! 0700, `hub.db` (with its -wal and -shm), brochure files and key files 0600. Opening a hub
//! narrows what an older version left wider, and reports each path it changed. Everything here is
//! Unix permission bits; elsewhere it does nothing.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Mode of the hub's directories.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Mode of the hub's files.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Paths whose permissions an open narrowed to the owner only.
#[derive(Debug, Default)]
pub(crate) struct Tightened(pub Vec<PathBuf>);

impl Tightened {
    /// Narrows `path`, a directory, to 0700 if group or others have any access.
    pub fn dir(&mut self, path: &Path) -> Result<()> {
        self.narrow(path, true)
    }

    /// Narrows `path`, a file, to 0600 if group or others have any access; a missing file is
    /// left alone.
    pub fn file(&mut self, path: &Path) -> Result<()> {
        self.narrow(path, false)
    }

    #[cfg(unix)]
    fn narrow(&mut self, path: &Path, dir: bool) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        // A symbolic link is the operator's choice (a database on another disk, say); what it
        // points to keeps its own mode.
        if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
            return Ok(());
        }
        let mode = if dir { DIR_MODE } else { FILE_MODE };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        tracing::warn!(target: crate::log_targets::STORAGE, path = %path.display(), mode = format!("{mode:o}"), "narrowed permissions to the owner only");
        self.0.push(path.to_path_buf());
        Ok(())
    }

    #[cfg(not(unix))]
    fn narrow(&mut self, _path: &Path, _dir: bool) -> Result<()> {
        Ok(())
    }
}

/// Creates `path` and missing parents as directories only the owner may enter.
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path)
}

/// Options that create a new file only the owner may read.
pub(crate) fn new_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Creates `path` empty and owner-only if it does not exist; an existing file is left as it is.
/// A new, empty 0600 file beside `target` (`.NAME.RANDOM.partial` in its directory), for a
/// copy that is renamed over `target` once complete: the directory, the file's path and the
/// file. `what` names the target in errors.
pub(crate) fn partial_beside(target: &Path, what: &'static str) -> Result<(PathBuf, PathBuf, std::fs::File)> {
    let name = target
        .file_name()
        .ok_or_else(|| Error::invalid(what, "it names no file"))?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        hex::encode(rand::random::<[u8; 8]>())
    ));
    let file = new_file_options()
        .open(&temp)
        .map_err(|e| Error::invalid(what, format!("cannot write in {}: {e}", dir.display())))?;
    Ok((dir, temp, file))
}

pub(crate) fn create_file_if_missing(path: &Path) -> io::Result<()> {
    match new_file_options().open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reads a key file: 64 hex characters (32 bytes), surrounding white space allowed. The file
/// must be the owner's only. `what` names the key in errors ("database key", "seal key").
pub(crate) fn read_key_file(path: &Path, what: &'static str) -> Result<[u8; 32]> {
    let key_file = |reason: String| Error::KeyFile {
        what,
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read(path).map_err(|e| key_file(e.to_string()))?;
    check_owner_only(path, what)?;
    let text = std::str::from_utf8(&text).map_err(|_| key_file(NOT_A_KEY.into()))?;
    parse_key(text).ok_or_else(|| key_file(NOT_A_KEY.into()))
}

/// What a key must look like.
pub(crate) const NOT_A_KEY: &str =
    "it must hold 64 hexadecimal characters (32 random bytes; make one with `openssl rand -hex 32`)";

/// Parses 64 hex characters, surrounding white space allowed.
pub(crate) fn parse_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}

/// Refuses a key file that group or others may read or write.
#[cfg(unix)]
fn check_owner_only(path: &Path, what: &'static str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::KeyFilePermissions {
            what,
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path, _what: &'static str) -> Result<()> {
    Ok(())
}

/// Writes a new key file at `path` (64 hex characters and a newline, 0600), durably, without
/// ever replacing an existing file: the key is written to a temporary file which is then linked
/// into place. Returns `false` if `path` already existed (another process made it first).
pub(crate) fn write_new_key_file(path: &Path, key: &[u8; 32]) -> Result<bool> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or_else(|| "key".into(), |n| n.to_string_lossy()),
        hex::encode(rand::random::<[u8; 8]>())
    ));
    let written = (|| -> io::Result<bool> {
        let mut file = new_file_options().open(&temp)?;
        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
        file.sync_all()?;
        drop(file);
        match std::fs::hard_link(&temp, path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(e),
        }
        sync_dir(&dir)?;
        Ok(true)
    })();
    let _ = std::fs::remove_file(&temp);
    written.map_err(|e| Error::KeyFile {
        what: "seal key",
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Makes a rename or link in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn wide_paths_are_narrowed_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        create_dir_all(&dir.join("e")).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut tightened = Tightened::default();
        tightened.file(&file).unwrap();
        tightened.file(&dir.join("missing")).unwrap();
        tightened.dir(&dir).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(tightened.0, vec![file.clone()]);
    }

    #[test]
    fn key_files_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k");
        assert!(write_new_key_file(&path, &[7; 32]).unwrap());
        assert!(!write_new_key_file(&path, &[8; 32]).unwrap(), "never replaced");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_key_file(&path, "seal key").unwrap(), [7; 32]);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            read_key_file(&path, "seal key"),
            Err(Error::KeyFilePermissions { mode: 0o640, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(33)] {
            std::fs::write(&path, bad).unwrap();
            assert!(
                matches!(read_key_file(&path, "seal key"), Err(Error::KeyFile { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            read_key_file(&tmp.path().join("missing"), "database key"),
            Err(Error::KeyFile {
                what: "database key",
                ..
            })
        ));
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
