-- Hub schema version 5 on PostgreSQL: brochure files in the database (see db/blobs.rs), so that
-- every instance serves every file without a shared disk. Frozen: never edit.

-- A file, visible once its chunks are all written and its hash checked.
CREATE TABLE blobs (
    name TEXT PRIMARY KEY CHECK (name ~ '^[0-9a-f]{64}$'),
    upload TEXT NOT NULL UNIQUE,
    len BIGINT NOT NULL CHECK (len >= 0),
    created_at BIGINT NOT NULL
);

-- The chunks of an upload, in `seq` order. PDFs and images are compressed already: they are
-- stored out of line without compressing again.
CREATE TABLE blob_chunks (
    upload TEXT NOT NULL,
    seq BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (upload, seq)
);
ALTER TABLE blob_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;
