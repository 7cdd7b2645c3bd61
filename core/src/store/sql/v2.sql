-- Schema version 2: sync bookkeeping and brochure files.

-- Heads of each document that the hub last acknowledged holding.
CREATE TABLE hub_acks (
    doc_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    heads BLOB NOT NULL
) WITHOUT ROWID;

-- Brochure files on this device, content-addressed and verified before use.
CREATE TABLE brochure_files (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    stored_at TEXT NOT NULL
) WITHOUT ROWID;
