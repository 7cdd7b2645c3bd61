-- Schema version 1. Frozen: never edit; later versions change it in their own files.

-- Device identity and settings.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Automerge documents: one row each, and their bytes as a chain of chunks: a snapshot, then the
-- incremental changes written since, each chunk naming the next. Appending a chunk writes its
-- own row and its predecessor's link, usually on the same page, and no index.
CREATE TABLE documents (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    region TEXT,
    owner TEXT,
    month TEXT,
    first_chunk INTEGER
);

-- A rowid table: a change of a few kilobytes stays on its leaf page.
CREATE TABLE chunks (
    pk INTEGER PRIMARY KEY,
    next INTEGER,
    snapshot INTEGER NOT NULL,
    bytes BLOB NOT NULL
);

-- Read model: derived from the documents in the same transaction, rebuildable at any time.
CREATE TABLE partners (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    verified_on TEXT,
    conflicted INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL
);

-- Full entries apart, so that scans and sorts of `partners` read small rows.
CREATE TABLE partner_details (
    partner INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE partner_facets (
    facet TEXT NOT NULL,
    partner INTEGER NOT NULL,
    PRIMARY KEY (facet, partner)
) WITHOUT ROWID;
CREATE INDEX partner_facets_by_partner ON partner_facets(partner);

CREATE TABLE services (
    partner INTEGER NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (partner, id)
);

CREATE TABLE locations (
    partner INTEGER NOT NULL,
    id TEXT NOT NULL,
    postcode INTEGER NOT NULL,
    municipality TEXT NOT NULL,
    province TEXT NOT NULL,
    latitude REAL,
    longitude REAL,
    PRIMARY KEY (partner, id)
);
-- Distance ordering reads only this index.
CREATE INDEX locations_points ON locations(partner, latitude, longitude);

CREATE TABLE opening_hours (
    partner INTEGER NOT NULL,
    day INTEGER NOT NULL,
    open_min INTEGER NOT NULL,
    close_min INTEGER NOT NULL
);
CREATE INDEX opening_hours_by_day ON opening_hours(day, partner);
CREATE INDEX opening_hours_by_partner ON opening_hours(partner);

CREATE VIRTUAL TABLE partner_fts USING fts5(
    name, body,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);

CREATE TABLE brochures (
    id TEXT PRIMARY KEY,
    retired INTEGER NOT NULL,
    updated_on TEXT NOT NULL,
    data TEXT NOT NULL
);

-- What queries need of a visit, in small rows (one b-tree write per visit logged); the visit
-- itself is read from its document.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    device TEXT NOT NULL,
    month TEXT NOT NULL,
    date TEXT NOT NULL,
    part_of_day INTEGER NOT NULL,
    people INTEGER NOT NULL,
    themes TEXT NOT NULL
) WITHOUT ROWID;
