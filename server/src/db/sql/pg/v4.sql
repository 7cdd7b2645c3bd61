-- Hub schema version 4 on PostgreSQL: what the hub last answered each device (see ../v4.sql).
-- Frozen: never edit.

CREATE TABLE device_states (
    device_id TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    digest BYTEA NOT NULL,
    docs BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
