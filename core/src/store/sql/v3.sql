-- Schema version 3: brochure files waiting for upload, and what was last verified of each file.

-- Files published on this device that the hub may not have yet, uploaded before the next push
-- of documents so that no device sees a catalog entry whose file the hub lacks.
CREATE TABLE blob_uploads (
    sha256 TEXT PRIMARY KEY REFERENCES brochure_files(sha256),
    queued_at TEXT NOT NULL
) WITHOUT ROWID;

-- Size and modification time (nanoseconds since the epoch) of a file when its hash was last
-- checked: while both are unchanged, the file is not hashed again before each use.
ALTER TABLE brochure_files ADD COLUMN verified_mtime_ns INTEGER;

-- This device's visit-log months removed after the retention period, with the heads the hub
-- had acknowledged: syncs keep naming them with those heads, so that the hub, which sends a
-- device every document it may read and does not hold, does not send them back.
CREATE TABLE retired_docs (
    doc_id TEXT PRIMARY KEY,
    heads BLOB NOT NULL,
    retired_at TEXT NOT NULL
) WITHOUT ROWID;

-- The hub's seal over heads it answered with, kept when this device holds all of them: shown
-- back with a whole document sent again, it lets a hub restored from a backup take back the
-- changes it had accepted from other devices (see the sync protocol).
ALTER TABLE hub_acks ADD COLUMN attested_heads BLOB;
ALTER TABLE hub_acks ADD COLUMN attestation BLOB;
