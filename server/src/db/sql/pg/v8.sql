-- Hub schema version 8 on PostgreSQL: documents of a fourth kind, a device's suggestions from
-- the field (see ../v8.sql). Frozen: never edit.

ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('directory_section', 'brochure_catalog', 'visit_log', 'suggestions'));
