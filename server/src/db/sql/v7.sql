-- Hub schema version 7. Frozen: never edit; later versions change it in their own files.

-- The steward organisations of each directory section (region): their coordinators edit it,
-- every other coordinator suggests changes. A region without a row has no steward: every
-- coordinator edits it, as before this version.
CREATE TABLE stewards (
    region TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (region, org_id)
);
