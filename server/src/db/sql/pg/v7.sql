-- Hub schema version 7 on PostgreSQL: the stewards of directory sections (see ../v7.sql).
-- Frozen: never edit.

CREATE TABLE stewards (
    region TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (region, org_id)
);
