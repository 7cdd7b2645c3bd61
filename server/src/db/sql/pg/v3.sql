-- Hub schema version 3 on PostgreSQL: see ../v3.sql. Frozen: never edit.

ALTER TABLE devices ADD COLUMN retired_at BIGINT;

ALTER TABLE enrollment_codes ADD COLUMN label TEXT;
ALTER TABLE enrollment_codes ADD COLUMN cancelled_at BIGINT;
