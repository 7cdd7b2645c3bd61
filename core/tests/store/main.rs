//! Integration tests of the encrypted store, on real SQLCipher files in temporary folders.

mod convergence;
mod directory;
mod security;
mod visits;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use outreach_core::store::Clock;
use outreach_core::{Store, StoreKey, StoreOptions};

/// A store in a fresh temporary folder, with its key and a clock fixed on 2026-11-20.
pub struct TestStore {
    pub store: Store,
    pub key: StoreKey,
    pub path: PathBuf,
    pub dir: tempfile::TempDir,
}

pub fn now() -> DateTime<Utc> {
    "2026-11-20T18:30:00Z".parse().unwrap()
}

pub fn open_new() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outreach.db");
    let key = StoreKey::random();
    let store = open_at(&path, &key);
    TestStore {
        store,
        key,
        path,
        dir,
    }
}

pub fn open_at(path: &Path, key: &StoreKey) -> Store {
    let mut store = Store::open(path, key.as_bytes(), StoreOptions::default()).unwrap();
    store.set_clock(Clock::fixed(now()));
    store
}
