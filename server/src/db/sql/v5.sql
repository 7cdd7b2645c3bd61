-- Hub schema version 5. Frozen: never edit; later versions change it in their own files.

-- Version 5 stores brochure files in the database on PostgreSQL (see pg/v5.sql). An embedded
-- hub keeps them in DIR/blobs/, as before: nothing changes here, and the version number stays
-- the same on both backends.
SELECT 1;
