-- Hub schema version 1 on PostgreSQL: the tables of ../v1.sql, in PostgreSQL's types (every
-- integer BIGINT, every byte string BYTEA). Frozen: never edit; later versions change it in
-- their own files, as on SQLite.

-- Hub identity and settings.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Organisations of the network. Names are unique ignoring case, as SQLite's NOCASE makes them.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX organisations_by_name ON organisations (lower(name));

-- Enrolled devices; the token is kept only as its SHA-256. Times are Unix seconds.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('fieldworker', 'coordinator', 'admin')),
    name TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_seen BIGINT
);

-- One-time enrollment codes, kept only as the SHA-256 of their normalised form.
CREATE TABLE enrollment_codes (
    code_hash BYTEA PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('fieldworker', 'coordinator', 'admin')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT
);

-- Automerge documents: see ../v1.sql.
CREATE TABLE documents (
    pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('directory_section', 'brochure_catalog', 'visit_log')),
    region TEXT,
    owner_device TEXT,
    owner_org TEXT,
    month TEXT,
    heads BYTEA NOT NULL,
    version BIGINT NOT NULL,
    snapshot_bytes BIGINT NOT NULL,
    incremental_bytes BIGINT NOT NULL,
    incremental_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX documents_by_owner_org ON documents (owner_org) WHERE owner_org IS NOT NULL;
CREATE INDEX documents_by_owner_device ON documents (owner_device) WHERE owner_device IS NOT NULL;

-- A document's bytes: a snapshot then incremental change chunks, in `seq` order. Automerge
-- compresses its own columns: PostgreSQL stores them out of line without compressing again.
CREATE TABLE chunks (
    doc_pk BIGINT NOT NULL REFERENCES documents (pk),
    seq BIGINT NOT NULL,
    snapshot BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (doc_pk, seq)
);
ALTER TABLE chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;
