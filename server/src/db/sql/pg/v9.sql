-- Hub schema version 9 on PostgreSQL: the release ledger of the reports (see ../v9.sql).
-- Frozen: never edit.

CREATE TABLE report_releases (
    table_key TEXT NOT NULL,
    release BIGINT NOT NULL,
    released_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (table_key, release)
);
