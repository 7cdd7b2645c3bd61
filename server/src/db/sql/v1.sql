-- Hub schema version 1. Frozen: never edit; later versions change it in their own files.

-- Hub identity and settings.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Organisations of the network (Fedasil, IOM, Caritas International, a CAW...).
CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

-- Enrolled devices. `id` is the device's own id, the actor of all its changes. The token is
-- kept only as its SHA-256. Times are Unix seconds.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('fieldworker', 'coordinator', 'admin')),
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_seen INTEGER
);

-- One-time enrollment codes, kept only as the SHA-256 of their normalised form.
CREATE TABLE enrollment_codes (
    code_hash BLOB PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('fieldworker', 'coordinator', 'admin')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by TEXT
) WITHOUT ROWID;

-- Automerge documents. `heads` are the concatenated 32-byte hashes of the current heads, sorted,
-- so that a device holding the same heads is answered without loading the document. `version`
-- grows with every write: a writer that loaded an older version retries (several hub instances
-- may share the database). The sizes describe the chunks, to decide compaction without reading
-- them. Visit logs name their owner device and its organisation, for the access rules.
CREATE TABLE documents (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('directory_section', 'brochure_catalog', 'visit_log')),
    region TEXT,
    owner_device TEXT,
    owner_org TEXT,
    month TEXT,
    heads BLOB NOT NULL,
    version INTEGER NOT NULL,
    snapshot_bytes INTEGER NOT NULL,
    incremental_bytes INTEGER NOT NULL,
    incremental_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX documents_by_owner_org ON documents (owner_org) WHERE owner_org IS NOT NULL;
CREATE INDEX documents_by_owner_device ON documents (owner_device) WHERE owner_device IS NOT NULL;

-- A document's bytes: a snapshot (seq 0 after compaction) then incremental change chunks, in
-- `seq` order. Their concatenation is a valid Automerge document.
CREATE TABLE chunks (
    doc_pk INTEGER NOT NULL REFERENCES documents (pk),
    seq INTEGER NOT NULL,
    snapshot INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (doc_pk, seq)
);
