-- Hub schema version 3. Frozen: never edit; later versions change it in their own files.

-- A retired device (handed in by a worker who leaves) may still push what it holds; every
-- answer then orders it to delete its store. A revoked device (lost or stolen) is refused.
ALTER TABLE devices ADD COLUMN retired_at INTEGER;

-- Enrollment codes get a label (the device they are meant for) and can be cancelled. `id` is
-- the start of the code's hash, enough to name it in commands without the code itself.
ALTER TABLE enrollment_codes ADD COLUMN label TEXT;
ALTER TABLE enrollment_codes ADD COLUMN cancelled_at INTEGER;
