-- Hub schema version 9. Frozen: never edit; later versions change it in their own files.

-- The release ledger of the reports: every table published, by table (its period, dimensions,
-- measure and rules) and release, with the true counts it was made from and which of them were
-- published, so that a later release of the same table is audited against every earlier one
-- (server/REPORTS.md). Counts of visits, never visits: nothing here names a device or a person.
CREATE TABLE report_releases (
    table_key TEXT NOT NULL,
    release INTEGER NOT NULL,
    released_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (table_key, release)
);
