-- Hub schema version 4. Frozen: never edit; later versions change it in their own files.

-- What the hub last answered each device, when the answer was complete: the digest a device
-- names in its next request instead of listing every document, and the documents and heads it
-- stands for (`docs`: for each document its 16-byte id, a 2-byte count and that many 32-byte
-- heads). A cache: a device whose state is unknown lists every document again.
CREATE TABLE device_states (
    device_id TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    digest BLOB NOT NULL,
    docs BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
