-- Hub schema version 2 on PostgreSQL. Frozen: never edit.

-- The seal key leaves the database it vouches for (see ../v2.sql). A PostgreSQL hub never held
-- it there: this only keeps the versions of both backends in step.
DELETE FROM meta WHERE key = 'seal_key';
