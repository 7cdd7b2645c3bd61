-- Hub schema version 2. Frozen: never edit; later versions change it in their own files.

-- The seal key leaves the database it vouches for. Before this runs, the hub has written the key
-- to its key file (or checked it against the key it was given): see `seal.rs`.
DELETE FROM meta WHERE key = 'seal_key';
