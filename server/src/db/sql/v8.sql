-- Hub schema version 8. Frozen: never edit; later versions change it in their own files.

-- Documents of a fourth kind: a device's suggestions from the field. SQLite cannot change a
-- CHECK constraint in place: the table is rebuilt, as SQLite's procedure for schema changes
-- says (the migration runs with references checked at its end, not at each statement).
CREATE TABLE documents_v8 (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('directory_section', 'brochure_catalog', 'visit_log', 'suggestions')),
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
INSERT INTO documents_v8 (pk, id, kind, region, owner_device, owner_org, month, heads, version,
        snapshot_bytes, incremental_bytes, incremental_count, created_at, updated_at)
    SELECT pk, id, kind, region, owner_device, owner_org, month, heads, version, snapshot_bytes,
        incremental_bytes, incremental_count, created_at, updated_at
    FROM documents;
DROP TABLE documents;
ALTER TABLE documents_v8 RENAME TO documents;
CREATE INDEX documents_by_owner_org ON documents (owner_org) WHERE owner_org IS NOT NULL;
CREATE INDEX documents_by_owner_device ON documents (owner_device) WHERE owner_device IS NOT NULL;
